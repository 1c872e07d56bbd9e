/* admin/cmd_lint.c — gtmctl geo lint: what an operator wants to know about the geo map
 * before a region fails: clients with no mapping, entries naming regions a policy's
 * pool has no endpoint in, maps with no failover target, overlapping CIDR overrides,
 * regions without coordinates where distance decides. Reads a compiled snapshot (the
 * server's own view of the store). Exit status 1 when it finds an error. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "admin/commands.h"
#include "common/xalloc.h"
#include "dnsd/snap.h"
#include "geo/geo.h"

static const char *const continents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};

struct lint {
    int errors, warnings;
};

static void report(struct lint *l, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct lint *l, bool error, const char *fmt, ...)
{
    va_list ap;
    printf("%s: ", error ? "error" : "warning");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (error)
        l->errors++;
    else
        l->warnings++;
}

/* Does any map entry of this kind have this code? */
static bool mapped(const struct geo_inputs *in, enum geo_key_kind kind, const char *code)
{
    for (size_t i = 0; i < in->nmap; i++)
        if (in->map[i].key.kind == kind && (!code || strcmp(in->map[i].key.code, code) == 0))
            return true;
    return false;
}

static void lint_coverage(struct lint *l, const struct geo_inputs *in)
{
    if (mapped(in, GEO_KEY_DEFAULT, NULL))
        return;
    for (size_t c = 0; c < sizeof continents / sizeof continents[0]; c++) {
        if (mapped(in, GEO_KEY_CONTINENT, continents[c]))
            continue;
        char countries[256] = "";
        for (size_t i = 0; i < in->nmap; i++) {
            const struct geo_key *k = &in->map[i].key;
            const char *cont = k->kind == GEO_KEY_COUNTRY ? geo_continent_of(k->code) : NULL;
            if (cont && strcmp(cont, continents[c]) == 0)
                snprintf(countries + strlen(countries), sizeof countries - strlen(countries), " %s",
                         k->code);
        }
        report(l, true,
               "continent %s has no mapping and there is no '*' entry: its clients%s%s get "
               "no region list (geo map %s REGION,... or geo map '*' REGION,...)",
               continents[c], countries[0] ? " other than those of" : "", countries, continents[c]);
    }
}

static bool pool_has_region(const struct pol_pool *pool, uint16_t region)
{
    for (uint32_t i = 0; i < pool->neps; i++)
        if (pool->eps[i].region == region && pool->eps[i].enabled && pool->eps[i].weight)
            return true;
    return false;
}

static void lint_policy_regions(struct lint *l, const struct snap *s, const struct pol_policy *p)
{
    const struct geo_inputs *in = &s->geo_in;
    for (size_t i = 0; i < in->nmap; i++) {
        char key[64];
        size_t with = 0;
        uint16_t answering = 0;
        geo_key_format(&in->map[i].key, key, sizeof key);
        for (size_t r = 0; r < in->map[i].nregions; r++) {
            uint16_t region = in->map[i].regions[r];
            if (pool_has_region(p->pool, region)) {
                with++;
                answering = region;
            } else {
                report(l, false,
                       "geo map %s lists region %s, which has no endpoint answering "
                       "in pool %s (policy %s)",
                       key, s->regions[region].name, p->pool->name, p->name);
            }
        }
        if (with == 0)
            report(l, true,
                   "policy %s: none of the regions geo map %s lists has an endpoint "
                   "in pool %s; its clients are answered as if unmapped (the '*' entry, "
                   "else any region of the pool by name)",
                   p->name, key, p->pool->name);
        else if (with == 1)
            report(l, false,
                   "policy %s: of the regions geo map %s lists, only %s has endpoints in "
                   "pool %s: when it fails, its clients get the policy's fallback, not "
                   "another region (no failover target: list a second region)",
                   p->name, key, s->regions[answering].name, p->pool->name);
    }
}

/* Is b inside a (a shorter or equal prefix covering b's network)? */
static bool cidr_contains(const struct geo_key *a, const struct geo_key *b)
{
    if (a->family != b->family || a->prefix > b->prefix)
        return false;
    for (int bit = 0; bit < a->prefix; bit++)
        if ((a->addr[bit / 8] ^ b->addr[bit / 8]) & (0x80 >> (bit % 8)))
            return false;
    return true;
}

static void lint_cidrs(struct lint *l, const struct geo_inputs *in)
{
    for (size_t i = 0; i < in->nmap; i++) {
        for (size_t j = 0; j < in->nmap; j++) {
            const struct geo_key *a = &in->map[i].key, *b = &in->map[j].key;
            if (i == j || a->kind != GEO_KEY_CIDR || b->kind != GEO_KEY_CIDR ||
                !cidr_contains(a, b))
                continue;
            char ka[64], kb[64];
            geo_key_format(a, ka, sizeof ka);
            geo_key_format(b, kb, sizeof kb);
            report(l, false, "CIDR overrides overlap: %s contains %s, which wins inside it", ka,
                   kb);
        }
    }
}

static void lint_coordinates(struct lint *l, const struct snap *s, const bool *used)
{
    for (size_t r = 0; r < s->nregions; r++)
        if (used[r] && !s->regions[r].has_coords)
            report(l, false,
                   "region %s has no coordinates, but a latency or proximity policy "
                   "uses it: distance cannot rank it (region add ... --lat --lon)",
                   s->regions[r].name);
}

static int geo_lint(struct cli *c)
{
    char msg[512];
    struct snap *s = NULL;
    struct lint l = {0};
    int rc = cli_store_open(c, STORE_READ);
    if (rc)
        return rc;
    if ((rc = snap_compile(c->st, 1, NULL, &s, msg, sizeof msg)))
        return cli_fail(c, "%s", msg);
    bool *distance_used = xcalloc(s->nregions + 1, sizeof *distance_used);
    lint_coverage(&l, &s->geo_in);
    lint_cidrs(&l, &s->geo_in);
    /* the policies, found on their nodes */
    for (uint32_t i = 0; i <= s->mask; i++) {
        const struct snap_node *n = s->slots[i].node;
        if (!n || !n->policy)
            continue;
        if (n->policy->mode == POL_GEO)
            lint_policy_regions(&l, s, n->policy);
        if (n->policy->mode == POL_LATENCY || n->policy->mode == POL_PROXIMITY)
            for (uint32_t e = 0; e < n->policy->pool->neps; e++)
                distance_used[n->policy->pool->eps[e].region] = true;
    }
    lint_coordinates(&l, s, distance_used);
    printf("%d error%s, %d warning%s\n", l.errors, l.errors == 1 ? "" : "s", l.warnings,
           l.warnings == 1 ? "" : "s");
    free(distance_used);
    snap_free(s);
    return l.errors ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

const struct cli_cmd cmd_geo_lint = {
    .name = "geo lint",
    .synopsis = "",
    .summary = "check the geo map for holes, dead entries and missing failover targets",
    .help = "Errors (exit status 1): continents with no mapping and no '*' entry; map entries\n"
            "none of whose regions has an endpoint in a geo policy's pool. Warnings: entries\n"
            "naming regions without endpoints in such a pool, entries with one region alone\n"
            "that has endpoints there (no failover target: when it fails, its clients get\n"
            "the policy's fallback), CIDR overrides inside one another, regions without\n"
            "coordinates used by latency or proximity policies.",
    .min_args = 0,
    .max_args = 0,
    .run = geo_lint,
};
