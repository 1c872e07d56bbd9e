/* admin/cmd_zone.c — gtmctl zone add|list|rm|export. (zone import lives in
 * admin/zone_import.c.) */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/commands.h"
#include "admin/rr.h"
#include "common/dname.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "db/serial.h"

/* SOA timers of a new zone (RFC 1912 §2.2 ranges): secondaries check hourly, retry
 * every 15 minutes, keep serving for two weeks without the primary; negative answers
 * are cached for 5 minutes (RFC 2308). */
#define NEW_ZONE_REFRESH_S 3600
#define NEW_ZONE_RETRY_S 900
#define NEW_ZONE_EXPIRE_S 1209600
#define NEW_ZONE_MINIMUM_S 300
#define NEW_ZONE_TTL_S 3600
#define MAX_NS 16

/* ---- zone add ------------------------------------------------------------------- */

static int add_text_record(struct cli *c, int64_t zone_id, const char *zone, const char *text)
{
    struct rr_item it;
    char err[512];
    int rc = rr_item_from_text(text, zone, &it, NULL, err, sizeof err);
    if (rc)
        return cli_fail(c, "%s", err);
    rc = store_rr_add(c->st, zone_id, &it.rr);
    rr_item_fini(&it);
    return rc ? cli_store_fail(c, rc) : 0;
}

/* RFC 1035 section 8: the mailbox john.doe@example.com is the name john\.doe.example.com.
 * (a '.' of the local part escaped). A text without '@' is returned as it is. */
static char *rname_of_address(const char *text)
{
    const char *at = strchr(text, '@');
    if (!at)
        return xstrdup(text);
    size_t n = strlen(text);
    char *out = xmalloc(2 * n + 2), *p = out;
    for (const char *q = text; q < at; q++) {
        if (*q == '.' || *q == '\\')
            *p++ = '\\';
        *p++ = *q;
    }
    p += sprintf(p, ".%s%s", at + 1, n && text[n - 1] == '.' ? "" : ".");
    return out;
}

static int zone_add(struct cli *c)
{
    char zone[DNAME_KEY_MAX], rname[DNAME_KEY_MAX], ns[MAX_NS][DNAME_KEY_MAX];
    const char *ns_text[MAX_NS];
    uint32_t ttl = NEW_ZONE_TTL_S;
    int nns, rc;
    int64_t zone_id;

    if ((rc = cli_parse_name(c, "ZONE", c->args[0], zone)))
        return rc;
    if (cli_opt(c, "ttl") &&
        (rc = cli_parse_duration(c, "--ttl", cli_opt(c, "ttl"), 0, 2147483647u, &ttl)))
        return rc;
    nns = cli_opt_all(c, "ns", ns_text, MAX_NS);
    for (int i = 0; i < nns; i++) {
        unsigned char addr[16];
        if (inet_pton(AF_INET, ns_text[i], addr) == 1 || inet_pton(AF_INET6, ns_text[i], addr) == 1)
            return cli_usage_error(c,
                                   "--ns: '%s' is an address; an NS record names a host "
                                   "(ns1.example.net), whose address its own A/AAAA record gives",
                                   ns_text[i]);
        if ((rc = cli_parse_name(c, "--ns", ns_text[i], ns[i])))
            return rc;
        for (int k = 0; k < i; k++)
            if (strcmp(ns[k], ns[i]) == 0)
                return cli_usage_error(c, "--ns: %s is given twice", ns[i]);
    }
    if (nns == 0) {
        if (rr_name_key("ns1", zone, ns[0], sizeof ns[0]) != 0)
            return cli_usage_error(c, "ZONE: '%s' is too long to hold ns1; give --ns", zone);
        nns = 1;
    }
    if (cli_opt(c, "rname")) {
        char *mailbox = rname_of_address(cli_opt(c, "rname"));
        rc = cli_parse_name(c, "--rname", mailbox, rname);
        free(mailbox);
        if (rc)
            return rc;
    } else if (rr_name_key("hostmaster", zone, rname, sizeof rname) != 0) {
        return cli_usage_error(c, "ZONE: '%s' is too long to hold hostmaster; give --rname", zone);
    }

    if (nns == 1 && !cli_opt(c, "ns"))
        fprintf(stderr,
                "gtmctl: zone add: no --ns given: using %s; give it an address with\n"
                "  gtmctl record add %s ns1 A ADDRESS\n",
                ns[0], zone);
    if ((rc = cli_store_open(c, STORE_WRITE)))
        return rc;
    if ((rc = store_tx_begin(c->st)) || (rc = store_zone_add(c->st, zone, &zone_id)))
        return cli_store_fail(c, rc);
    uint32_t serial = serial_next(0, time(NULL));
    char *soa =
        xasprintf("@ %u IN SOA %s %s %u %u %u %u %u", ttl, ns[0], rname, serial, NEW_ZONE_REFRESH_S,
                  NEW_ZONE_RETRY_S, NEW_ZONE_EXPIRE_S, NEW_ZONE_MINIMUM_S);
    rc = add_text_record(c, zone_id, zone, soa);
    free(soa);
    for (int i = 0; rc == 0 && i < nns; i++) {
        char *nsrr = xasprintf("@ %u IN NS %s", ttl, ns[i]);
        rc = add_text_record(c, zone_id, zone, nsrr);
        free(nsrr);
    }
    if (rc)
        return rc;
    char *after = xasprintf("zone %s created: serial %u, %d NS", zone, serial, nns);
    rc = cli_audit(c, zone, "", after);
    free(after);
    if (rc || (rc = store_tx_end(c->st, true)))
        return cli_store_fail(c, rc);
    printf("zone %s added (serial %u)\n", zone, serial);
    return CLI_EXIT_OK;
}

static const struct cli_opt zone_add_opts[] = {
    {"ns", "HOST", "a name server of the zone (first one is the SOA MNAME)", true},
    {"ttl", "SECONDS", "TTL of the SOA and NS records (default 3600)", false},
    {"rname", "MAILBOX",
     "SOA mailbox: hostmaster@example.com or as a name (default hostmaster.ZONE)", false},
    {NULL},
};

const struct cli_cmd cmd_zone_add = {
    .name = "zone add",
    .synopsis = "ZONE [--ns HOST]... [--ttl SECONDS] [--rname MAILBOX]",
    .summary = "create an empty zone with its SOA and NS records",
    .help = "The SOA's serial is today's date as YYYYMMDD00; refresh 3600, retry 900,\n"
            "expire 1209600 and minimum (negative-answer TTL) 300 seconds. Host names are\n"
            "absolute ('ns1.example.net' means ns1.example.net.). Without --ns the zone gets\n"
            "ns1.ZONE, which then needs an address record.",
    .min_args = 1,
    .max_args = 1,
    .opts = zone_add_opts,
    .run = zone_add,
};

/* ---- zone list ------------------------------------------------------------------ */

static int print_zone(void *arg, const struct store_zone *z)
{
    (void)arg;
    printf("%-40s %10u %8lld\n", z->name, z->serial, (long long)z->records);
    return 0;
}

static int zone_list(struct cli *c)
{
    int rc = cli_store_open(c, STORE_READ);
    if (rc)
        return rc;
    printf("%-40s %10s %8s\n", "ZONE", "SERIAL", "RECORDS");
    if ((rc = store_zone_foreach(c->st, print_zone, NULL)))
        return cli_store_fail(c, rc);
    return CLI_EXIT_OK;
}

const struct cli_cmd cmd_zone_list = {
    .name = "zone list",
    .synopsis = "",
    .summary = "list the zones with their serials and record counts",
    .min_args = 0,
    .max_args = 0,
    .run = zone_list,
};

/* ---- zone rm -------------------------------------------------------------------- */

static int count_rr(void *arg, const struct store_rr *rr)
{
    (void)rr;
    (*(long *)arg)++;
    return 0;
}

struct zone_policies {
    int64_t zone_id;
    long n;
    char first_buf[DNAME_KEY_MAX];
};

static int count_policy(void *arg, const struct store_policy *p)
{
    struct zone_policies *zp = arg;
    if (p->zone_id == zp->zone_id && zp->n++ == 0)
        snprintf(zp->first_buf, sizeof zp->first_buf, "%s", p->name);
    return 0;
}

static int zone_rm(struct cli *c)
{
    char zone[DNAME_KEY_MAX];
    int64_t zone_id;
    uint32_t serial = 0;
    long records = 0;
    int rc = cli_parse_name(c, "ZONE", c->args[0], zone);
    if (rc || (rc = cli_zone_begin(c, zone, &zone_id, &serial)))
        return rc;
    struct zone_policies zp = {.zone_id = zone_id};
    if ((rc = store_rr_foreach(c->st, zone_id, NULL, count_rr, &records)) ||
        (rc = store_policy_foreach(c->st, count_policy, &zp)))
        return cli_store_fail(c, rc);
    if (zp.n && !cli_opt(c, "with-policies"))
        return cli_fail(c,
                        "zone %s has %ld managed name%s (%s%s): removing the zone would remove "
                        "their policies too; remove them first (gtmctl policy rm NAME), or "
                        "pass --with-policies",
                        zone, zp.n, zp.n == 1 ? "" : "s", zp.first_buf, zp.n > 1 ? ", ..." : "");
    char *before =
        xasprintf("zone %s: serial %u, %ld records, %ld policies", zone, serial, records, zp.n);
    if ((rc = store_zone_rm(c->st, zone_id)) == 0 && (rc = cli_audit(c, zone, before, "")) == 0)
        rc = store_tx_end(c->st, true);
    free(before);
    if (rc)
        return cli_store_fail(c, rc);
    printf("zone %s removed (%ld records, %ld polic%s)\n", zone, records, zp.n,
           zp.n == 1 ? "y" : "ies");
    return CLI_EXIT_OK;
}

static const struct cli_opt zone_rm_opts[] = {
    {"with-policies", NULL, "remove the policies of the zone's managed names too", false},
    {NULL, NULL, NULL, false},
};

const struct cli_cmd cmd_zone_rm = {
    .name = "zone rm",
    .synopsis = "ZONE [--with-policies]",
    .summary = "remove a zone and all its records",
    .help = "A zone with managed names is removed only with --with-policies: their\n"
            "policies go with it (gtmctl zone import replaces a zone's records and keeps\n"
            "its policies).",
    .min_args = 1,
    .max_args = 1,
    .opts = zone_rm_opts,
    .run = zone_rm,
};

/* ---- zone export ---------------------------------------------------------------- */

/* One record to print, with its owner in wire form for the canonical order. */
struct export_rr {
    uint8_t *owner_wire;
    char *line;
    uint16_t type;
    char *rdata;
};

struct export_list {
    struct export_rr *v;
    size_t n, cap;
};

static int collect(void *arg, const struct store_rr *rr)
{
    struct export_list *l = arg;
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len = 0;
    if (dname_wire_from_key(rr->owner, wire, &len) != 0)
        return GTM_EPARSE;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
    }
    struct export_rr *e = &l->v[l->n++];
    e->owner_wire = xmalloc(len);
    memcpy(e->owner_wire, wire, len);
    e->line = rr_format(rr);
    e->type = rr->type;
    e->rdata = xstrdup(rr->rdata);
    return 0;
}

/* SOA first, then RFC 4034 §6.1 canonical name order, then type, then RDATA. */
static int export_cmp(const void *a, const void *b)
{
    const struct export_rr *x = a, *y = b;
    if ((x->type == 6) != (y->type == 6))
        return x->type == 6 ? -1 : 1;
    int d = dname_canon_cmp(x->owner_wire, y->owner_wire);
    if (d)
        return d;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return strcmp(x->rdata, y->rdata);
}

/* The zone's managed names, for comments after its records. */
struct export_managed {
    int64_t zone_id;
    char *lines;
};

static int collect_managed(void *arg, const struct store_policy *p)
{
    struct export_managed *m = arg;
    if (p->zone_id != m->zone_id)
        return 0;
    char *line = xasprintf(";; %s\tmanaged: A/AAAA from pool %s, mode %s, TTL %u (gtmctl policy "
                           "list)\n",
                           p->name, p->pool, p->mode, p->ttl_s);
    char *all = xasprintf("%s%s", m->lines ? m->lines : "", line);
    free(line);
    free(m->lines);
    m->lines = all;
    return 0;
}

static int zone_export(struct cli *c)
{
    char zone[DNAME_KEY_MAX];
    int64_t zone_id;
    uint32_t serial = 0;
    struct export_list l = {0};
    struct export_managed managed = {0};
    int rc = cli_parse_name(c, "ZONE", c->args[0], zone);
    if (rc || (rc = cli_store_open(c, STORE_READ)))
        return rc;
    /* One read transaction: the export is one consistent version of the zone. */
    if ((rc = store_read_begin(c->st)) || (rc = store_zone_find(c->st, zone, &zone_id)) ||
        (rc = store_zone_serial_get(c->st, zone_id, &serial)) ||
        (rc = store_rr_foreach(c->st, zone_id, NULL, collect, &l))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    managed.zone_id = zone_id;
    if ((rc = store_policy_foreach(c->st, collect_managed, &managed))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    qsort(l.v, l.n, sizeof *l.v, export_cmp);
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    printf(";; zone %s serial %u, %zu records\n;; exported by gtmctl %s at %s\n", zone, serial, l.n,
           PACKAGE_VERSION, when);
    for (size_t i = 0; i < l.n; i++)
        printf("%s\n", l.v[i].line);
    if (managed.lines)
        printf(";; managed names: their answers come from gtm's policies, not from records\n%s",
               managed.lines);
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_fail(c, "writing the export failed");
out:
    free(managed.lines);
    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].owner_wire);
        free(l.v[i].line);
        free(l.v[i].rdata);
    }
    free(l.v);
    return rc;
}

const struct cli_cmd cmd_zone_export = {
    .name = "zone export",
    .synopsis = "ZONE",
    .summary = "print a zone in RFC 1035 presentation format on stdout",
    .help = "The output is a zone file that gtmctl zone import (and BIND, Knot, NSD) reads:\n"
            "absolute names, one record per line, the SOA first and the rest in DNSSEC\n"
            "canonical order. Owner names are printed in lower case. The zone's managed\n"
            "names follow as ';;' comments (their answers come from policies, not records).",
    .min_args = 1,
    .max_args = 1,
    .run = zone_export,
};
