/* admin/cmd_region.c — gtmctl region add|list: the places endpoints live in, with the
 * coordinates that proximity decisions measure great-circle distances from. Regions are
 * store-wide: a change is one transaction with one audit row for no zone. gtmctl only,
 * single-threaded. */
#include "config.h"

#include <stdlib.h>

#include "admin/commands.h"
#include "common/err.h"
#include "common/xalloc.h"

/* ---- region add ----------------------------------------------------------------- */

/* "region eu-west (50.11, 8.68)": what the audit row and the output say. */
static char *region_summary(const struct store_region *r)
{
    return r->has_coords ? xasprintf("region %s (%.10g, %.10g)", r->name, r->lat, r->lon)
                         : xasprintf("region %s (no coordinates)", r->name);
}

static int region_add(struct cli *c)
{
    struct store_region r = {.name = c->args[0]};
    const char *lat = cli_opt(c, "lat"), *lon = cli_opt(c, "lon");
    char *summary = NULL;
    int64_t id = 0;
    int rc = cli_parse_ident(c, "REGION", r.name);
    if (rc)
        goto out;
    if (!lat != !lon) {
        rc = cli_usage_error(c, "give both --lat and --lon, or neither");
        goto out;
    }
    if (lat && cli_real_parse(lat, -90, 90, &r.lat) != 0) {
        rc = cli_usage_error(c, "--lat: '%s' is not a latitude from -90 to 90 degrees", lat);
        goto out;
    }
    if (lon && cli_real_parse(lon, -180, 180, &r.lon) != 0) {
        rc = cli_usage_error(c, "--lon: '%s' is not a longitude from -180 to 180 degrees", lon);
        goto out;
    }
    r.has_coords = lat != NULL;
    summary = region_summary(&r);
    if ((rc = cli_tx_begin(c)))
        goto out;
    if ((rc = store_region_add(c->st, &r, &id))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, "", summary)) == 0)
        printf("added %s\n", summary);
out:
    free(summary);
    return rc;
}

static const struct cli_opt region_add_opts[] = {
    {"lat", "DEG", "latitude, degrees north (-90 to 90; south is negative)", false},
    {"lon", "DEG", "longitude, degrees east (-180 to 180; west is negative)", false},
    {NULL},
};

const struct cli_cmd cmd_region_add = {
    .name = "region add",
    .synopsis = "REGION [--lat DEG --lon DEG]",
    .summary = "add a region, where endpoints live",
    .help = "REGION is 1 to 63 characters from a-z 0-9 _ . - (eu-west, us-east-1).\n"
            "Coordinates (decimal degrees, both or neither) let proximity policies, and\n"
            "latency policies without a measurement for a client, pick the nearest region;\n"
            "a region without them is never the nearest.",
    .min_args = 1,
    .max_args = 1,
    .opts = region_add_opts,
    .run = region_add,
};

/* ---- region rm ------------------------------------------------------------------ */

static int region_rm(struct cli *c)
{
    const char *region = c->args[0];
    char user[2 * DNAME_KEY_MAX], *before = NULL;
    int64_t id = 0;
    int rc = cli_parse_ident(c, "REGION", region);
    if (rc || (rc = cli_tx_begin(c)))
        goto out;
    if ((rc = store_region_find(c->st, region, &id)) ||
        (rc = store_region_user(c->st, id, user, sizeof user))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if (user[0]) {
        rc = cli_fail(c,
                      "region %s is still in use (%s, maybe more): move or remove its "
                      "endpoints and take it out of the geo map and the latency table first",
                      region, user);
        goto out;
    }
    before = xasprintf("region %s", region);
    rc = cli_tx_commit_rm(c, store_region_rm(c->st, id), before);
out:
    free(before);
    return rc;
}

const struct cli_cmd cmd_region_rm = {
    .name = "region rm",
    .synopsis = "REGION",
    .summary = "remove a region nothing uses",
    .help = "Refused while an endpoint lives in it or the geo map or the latency table\n"
            "names it (the error says which). Its drills and drains go with it.",
    .min_args = 1,
    .max_args = 1,
    .run = region_rm,
};

/* ---- region list ---------------------------------------------------------------- */

static int table_region(void *arg, const struct store_region *r)
{
    if (r->has_coords)
        cli_table_add(arg, "%s\t%.10g\t%.10g", r->name, r->lat, r->lon);
    else
        cli_table_add(arg, "%s\t-\t-", r->name);
    return 0;
}

static int fill_regions(struct cli *c, struct cli_table *t)
{
    return store_region_foreach(c->st, table_region, t);
}

static int region_list(struct cli *c)
{
    return cli_table_run(c, "REGION\tLAT\tLON", fill_regions);
}

const struct cli_cmd cmd_region_list = {
    .name = "region list",
    .synopsis = "",
    .summary = "list the regions and their coordinates",
    .help = "One line per region, by name; '-' where a region has no coordinates.",
    .min_args = 0,
    .max_args = 0,
    .run = region_list,
};
