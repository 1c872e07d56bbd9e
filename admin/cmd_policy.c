/* admin/cmd_policy.c — gtmctl policy set|list|rm: which names are managed, and how
 * their answers are picked from a pool (geo, latency, proximity, weighted, failover,
 * all). A policy belongs to the deepest zone holding its name: a change is one
 * transaction that bumps that zone's serial and writes one audit row for it.
 * gtmctl only, single-threaded. */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "admin/commands.h"
#include "admin/rr.h"
#include "common/err.h"
#include "common/xalloc.h"

/* Default TTL of managed answers: short, so that a failover reaches clients within
 * about half a minute of a health flip (issue 4). */
#define POLICY_TTL_S 30
/* A region counts as failed below this share of healthy endpoints (percent). */
#define POLICY_REGION_UP_PCT 50
/* The store's CHECKs (db/migrations/0002_traffic.sql). */
#define POLICY_TTL_MAX_S 2147483647u
#define POLICY_ANSWERS_MAX 64

static const char *const modes[] = {"geo", "latency", "proximity", "weighted", "failover", "all"};
#define MODES_TEXT "geo, latency, proximity, weighted, failover or all"

/* ---- zones and policies of the store -------------------------------------------- */

/* Every zone's id and name, read once for a command. */
struct zone_entry {
    int64_t id;
    char *name;
};
struct zone_list {
    size_t n, cap;
    struct zone_entry *v;
};

static int collect_zone(void *arg, const struct store_zone *z)
{
    struct zone_list *zl = arg;
    if (zl->n == zl->cap) {
        zl->cap = zl->cap ? 2 * zl->cap : 16;
        zl->v = xreallocarray(zl->v, zl->cap, sizeof *zl->v);
    }
    zl->v[zl->n++] = (struct zone_entry){z->id, xstrdup(z->name)};
    return 0;
}

static void zone_list_fini(struct zone_list *zl)
{
    for (size_t i = 0; i < zl->n; i++)
        free(zl->v[i].name);
    free(zl->v);
}

/* The zone with this id, or NULL. */
static const struct zone_entry *zone_of_id(const struct zone_list *zl, int64_t id)
{
    for (size_t i = 0; i < zl->n; i++)
        if (zl->v[i].id == id)
            return &zl->v[i];
    return NULL;
}

/* The deepest zone holding name (a key), or NULL. Of two zones holding one name the
 * deeper has the longer key. */
static const struct zone_entry *zone_deepest(const struct zone_list *zl, const char *name)
{
    const struct zone_entry *best = NULL;
    for (size_t i = 0; i < zl->n; i++)
        if (rr_key_in_zone(name, zl->v[i].name) &&
            (!best || strlen(zl->v[i].name) > strlen(best->name)))
            best = &zl->v[i];
    return best;
}

/* How many answers a policy gives: its --answers, else its mode's default. */
static void answers_text(const struct store_policy *p, char *out, size_t outlen)
{
    if (p->answers)
        snprintf(out, outlen, "%u", p->answers);
    else
        snprintf(out, outlen, "%s", strcmp(p->mode, "all") == 0 ? "all" : "1");
}

/* The fallback as policy set takes it: fail-open, none, or the pool's name. */
static const char *fallback_text(const struct store_policy *p)
{
    return strcmp(p->fallback, "pool") == 0 ? p->fallback_pool : p->fallback;
}

/* "policy www.example.com.: pool web, mode geo, ttl 30, answers 1, fallback fail-open,
 * sticky no, region-up 50%, unknown up, ttl-degraded auto" */
static char *policy_summary(const struct store_policy *p)
{
    char answers[16];
    answers_text(p, answers, sizeof answers);
    char degraded[16] = "auto";
    if (p->ttl_degraded_s)
        snprintf(degraded, sizeof degraded, "%u", p->ttl_degraded_s);
    return xasprintf("policy %s: pool %s, mode %s, ttl %u, answers %s, fallback %s, "
                     "sticky %s, region-up %u%%, unknown %s, ttl-degraded %s",
                     p->name, p->pool, p->mode, p->ttl_s, answers, fallback_text(p),
                     p->sticky ? "yes" : "no", p->region_up_pct, p->unknown_up ? "up" : "down",
                     degraded);
}

/* The policy of one name, if any: its summary (caller frees) and zone. */
struct policy_found {
    const char *name;
    char *summary; /* NULL: the name has no policy */
    int64_t zone_id;
};

static int match_policy(void *arg, const struct store_policy *p)
{
    struct policy_found *f = arg;
    if (strcmp(p->name, f->name) == 0) {
        f->summary = policy_summary(p);
        f->zone_id = p->zone_id;
    }
    return 0;
}

/* Starts a change of a policy: the transaction, then, read inside it so that they are
 * the truth the change builds on, every zone (into *zl) and the policy of found->name
 * (into *found, if it has one). */
static int policy_begin(struct cli *c, struct zone_list *zl, struct policy_found *found)
{
    int rc = cli_tx_begin(c);
    if (rc == 0 && ((rc = store_zone_foreach(c->st, collect_zone, zl)) ||
                    (rc = store_policy_foreach(c->st, match_policy, found))))
        rc = cli_store_fail(c, rc);
    return rc;
}

/* ---- policy set ----------------------------------------------------------------- */

/* Reads FQDN and the options into *p (names of pools included); every value checked. */
static int parse_policy(const struct cli *c, char name[DNAME_KEY_MAX], struct store_policy *p)
{
    const char *ttl = cli_opt(c, "ttl"), *answers = cli_opt(c, "answers");
    const char *fallback = cli_opt(c, "fallback"), *up = cli_opt(c, "region-up");
    const char *mode = cli_opt(c, "mode");
    int rc = cli_parse_name(c, "FQDN", c->args[0], name);
    if (rc)
        goto out;
    if (!mode) {
        rc = cli_usage_error(c, "--mode is required: " MODES_TEXT);
        goto out;
    }
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(mode, modes[i]) == 0)
            p->mode = modes[i];
    if (!p->mode) {
        rc = cli_usage_error(c, "--mode: '%s' is not " MODES_TEXT, mode);
        goto out;
    }
    if (!(p->pool = cli_opt(c, "pool"))) {
        rc = cli_usage_error(c, "--pool is required: the pool the answers come from");
        goto out;
    }
    if ((rc = cli_parse_ident(c, "--pool", p->pool)) ||
        (ttl && (rc = cli_parse_duration(c, "--ttl", ttl, 0, POLICY_TTL_MAX_S, &p->ttl_s))) ||
        (answers &&
         (rc = cli_parse_u32(c, "--answers", answers, 1, POLICY_ANSWERS_MAX, &p->answers))) ||
        (up && (rc = cli_parse_u32(c, "--region-up", up, 0, 100, &p->region_up_pct))))
        goto out;
    if (fallback && strcmp(fallback, "fail-open") != 0 && strcmp(fallback, "none") != 0) {
        if ((rc = cli_parse_ident(c, "--fallback", fallback)))
            goto out;
        if (strcmp(fallback, p->pool) == 0) {
            rc = cli_usage_error(c, "--fallback: must be another pool than --pool %s", p->pool);
            goto out;
        }
        p->fallback = "pool";
        p->fallback_pool = fallback;
    } else if (fallback) {
        p->fallback = fallback;
    }
    const char *unknown = cli_opt(c, "unknown"), *degraded = cli_opt(c, "ttl-degraded");
    if (unknown && strcmp(unknown, "up") != 0 && strcmp(unknown, "down") != 0) {
        rc = cli_usage_error(c, "--unknown: '%s' is not up or down", unknown);
        goto out;
    }
    p->unknown_up = !unknown || strcmp(unknown, "up") == 0;
    if (degraded && (rc = cli_parse_duration(c, "--ttl-degraded", degraded, 1, POLICY_TTL_MAX_S,
                                             &p->ttl_degraded_s)))
        goto out;
    if (p->ttl_degraded_s > p->ttl_s) {
        rc = cli_usage_error(c,
                             "--ttl-degraded: %u s is longer than the TTL (%u s); it is the "
                             "shorter TTL of the answers while the pool is degraded",
                             p->ttl_degraded_s, p->ttl_s);
        goto out;
    }
    p->sticky = cli_opt(c, "sticky") != NULL;
    if (p->sticky && strcmp(p->mode, "weighted") != 0) {
        rc = cli_usage_error(c, "--sticky applies to --mode weighted only (it makes the "
                                "weighted pick a hash of the client subnet)");
        goto out;
    }
out:
    return rc;
}

/* Counts the records at one owner: all of them (type 0), or those of one type. */
struct rr_count {
    uint16_t type;
    long n;
};

static int count_rr(void *arg, const struct store_rr *rr)
{
    struct rr_count *k = arg;
    k->n += k->type == 0 || rr->type == k->type;
    return 0;
}

/* Why name (a key) cannot be managed in zone: it has records of its own, is the apex,
 * lies at or below a zone cut (RFC 1034 §4.2.1: the child's servers answer there, so a
 * policy would never be asked), or below a DNAME (RFC 6672: the DNAME redirects every
 * name below it). Returns 0 with why[0] = '\0' when it can. */
static int check_managed_name(struct cli *c, const struct zone_entry *zone, const char *name,
                              char *why, size_t whylen)
{
    struct rr_count own = {0};
    int rc = store_rr_foreach(c->st, zone->id, name, count_rr, &own);
    why[0] = '\0';
    if (rc == 0 && strcmp(name, zone->name) == 0)
        snprintf(why, whylen, "%s is the apex of zone %s: it cannot be a managed name", name,
                 zone->name);
    else if (rc == 0 && own.n > 0)
        snprintf(why, whylen, "%s has records; remove them or pick another name", name);
    /* every '.' of a key separates labels (common/dname.h) */
    for (const char *p = name; rc == 0 && !why[0] && strlen(p) > strlen(zone->name);
         p = strchr(p, '.') + 1) {
        struct rr_count ns = {.type = LDNS_RR_TYPE_NS};
        if ((rc = store_rr_foreach(c->st, zone->id, p, count_rr, &ns)) == 0 && ns.n > 0)
            snprintf(why, whylen, "%s is delegated away at %s (NS records): never asked here", name,
                     p);
    }
    char dname[DNAME_KEY_MAX];
    if (rc == 0 && !why[0] &&
        (rc = store_dname_above(c->st, zone->id, name, dname, sizeof dname)) == 0 && dname[0])
        snprintf(why, whylen,
                 "%s is below the DNAME at %s, which redirects it (RFC 6672): never answered here",
                 name, dname);
    return rc;
}

static int policy_set(struct cli *c)
{
    char name[DNAME_KEY_MAX];
    struct store_policy p = {
        .name = name,
        .ttl_s = POLICY_TTL_S,
        .fallback = "fail-open",
        .region_up_pct = POLICY_REGION_UP_PCT,
        .unknown_up = true,
    };
    struct zone_list zl = {0};
    struct policy_found old = {.name = name};
    const struct zone_entry *zone = NULL;
    char why[2 * DNAME_KEY_MAX + 128], *after = NULL;
    uint32_t serial_before = 0, serial = 0;
    int rc = parse_policy(c, name, &p);
    if (rc || (rc = policy_begin(c, &zl, &old)))
        goto out;
    if (!(zone = zone_deepest(&zl, name))) {
        rc = cli_fail(c, "%s is in no zone of the store (gtmctl zone list shows them)", name);
        goto out;
    }
    p.zone_id = zone->id;
    if ((rc = store_zone_serial_get(c->st, zone->id, &serial_before)) ||
        (rc = check_managed_name(c, zone, name, why, sizeof why)) ||
        (rc = store_pool_find(c->st, p.pool, &p.pool_id)) ||
        (p.fallback_pool && (rc = store_pool_find(c->st, p.fallback_pool, &p.fallback_pool_id)))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    /* the store refuses a name with records too (trigger policies_no_records); this says
     * it in words, and sees the rest */
    if (why[0]) {
        rc = cli_fail(c, "%s", why);
        goto out;
    }
    after = policy_summary(&p);
    if ((rc = store_policy_set(c->st, &p))) {
        rc = cli_fail(c, "cannot set the policy of %s: %s", name, store_errmsg(c->st));
        goto out;
    }
    if ((rc = cli_cname_loop(c, p.pool_id, p.pool)) ||
        (p.fallback_pool && (rc = cli_cname_loop(c, p.fallback_pool_id, p.fallback_pool))))
        goto out;
    if ((rc = cli_zone_commit(c, zone->id, zone->name, serial_before,
                              old.summary ? old.summary : "", after, &serial)) == 0)
        printf("%s (zone %s serial %u%s)\n", after, zone->name, serial,
               old.summary ? ", replacing the old policy" : "");
out:
    free(after);
    free(old.summary);
    zone_list_fini(&zl);
    return rc;
}

static const struct cli_opt policy_set_opts[] = {
    {"pool", "POOL", "the pool the answers come from (required)", false},
    {"mode", "MODE", MODES_TEXT " (required)", false},
    {"ttl", "SECONDS", "TTL of the answers (default 30; units allowed: 1m)", false},
    {"answers", "N", "at most N answers, 1 to 64 (default: 1; every healthy one for all)", false},
    {"fallback", "WHAT", "when nothing is healthy: fail-open (default), none, or a POOL", false},
    {"sticky", NULL, "weighted only: the same client subnet gets the same answer", false},
    {"region-up", "PERCENT", "a region is down under PERCENT of it healthy (0-100, default 50)",
     false},
    {"unknown", "up|down", "how an endpoint never probed yet counts (default up)", false},
    {"ttl-degraded", "SECONDS",
     "TTL while an endpoint of the pool is down or flapping, at most the TTL (default: "
     "half the TTL, >= 5 s)",
     false},
    {NULL},
};

const struct cli_cmd cmd_policy_set = {
    .name = "policy set",
    .synopsis = "FQDN --pool POOL --mode MODE [--ttl SECONDS] [--answers N] "
                "[--fallback POOL|fail-open|none] [--sticky] [--region-up PERCENT] "
                "[--unknown up|down] [--ttl-degraded SECONDS]",
    .summary = "make a name managed: its answers come from a pool through a policy",
    .help = "FQDN must lie in a zone of the store, have no records of its own and be\n"
            "neither delegated away nor below a DNAME; the policy belongs to the deepest\n"
            "such zone, whose serial moves on. Setting the policy of a managed name\n"
            "replaces it. Modes:\n"
            "  geo        the client's geo map entry names regions in order of preference\n"
            "  latency    the region with the lowest measured latency from the client\n"
            "  proximity  the nearest region with coordinates\n"
            "  weighted   every healthy endpoint, picked by weight (--sticky: per subnet)\n"
            "  failover   the lowest --priority tier with a healthy endpoint\n"
            "  all        every healthy endpoint, up to --answers\n"
            "When nothing is healthy, --fallback decides: fail-open answers as if every\n"
            "endpoint were up, none answers with no data, a POOL answers from that pool.",
    .min_args = 1,
    .max_args = 1,
    .opts = policy_set_opts,
    .run = policy_set,
};

/* ---- policy list ---------------------------------------------------------------- */

struct policy_table {
    struct cli_table *t;
    const struct zone_list *zones;
};

static int table_policy(void *arg, const struct store_policy *p)
{
    struct policy_table *pt = arg;
    const struct zone_entry *zone = zone_of_id(pt->zones, p->zone_id);
    char answers[16];
    answers_text(p, answers, sizeof answers);
    cli_table_add(pt->t, "%s\t%s\t%s\t%s\t%u\t%s\t%s\t%s\t%u%%", p->name, zone ? zone->name : "?",
                  p->pool, p->mode, p->ttl_s, answers, fallback_text(p), p->sticky ? "yes" : "no",
                  p->region_up_pct);
    return 0;
}

static int fill_policies(struct cli *c, struct cli_table *t)
{
    struct zone_list zl = {0};
    struct policy_table pt = {t, &zl};
    int rc = store_zone_foreach(c->st, collect_zone, &zl);
    if (rc == 0)
        rc = store_policy_foreach(c->st, table_policy, &pt);
    zone_list_fini(&zl);
    return rc;
}

static int policy_list(struct cli *c)
{
    return cli_table_run(c, "NAME\tZONE\tPOOL\tMODE\tTTL\tANSWERS\tFALLBACK\tSTICKY\tREGION-UP",
                         fill_policies);
}

const struct cli_cmd cmd_policy_list = {
    .name = "policy list",
    .synopsis = "",
    .summary = "list the managed names and their policies",
    .help = "One line per managed name: its zone, pool, mode, TTL, how many answers (the\n"
            "mode's default when --answers was not given), fallback, whether it is sticky,\n"
            "and the share of healthy endpoints below which a region counts as down.",
    .min_args = 0,
    .max_args = 0,
    .run = policy_list,
};

/* ---- policy rm ------------------------------------------------------------------ */

static int policy_rm(struct cli *c)
{
    char name[DNAME_KEY_MAX];
    struct zone_list zl = {0};
    struct policy_found found = {.name = name};
    const struct zone_entry *zone = NULL;
    uint32_t serial_before = 0, serial = 0;
    int rc = cli_parse_name(c, "FQDN", c->args[0], name);
    if (rc || (rc = policy_begin(c, &zl, &found)))
        goto out;
    if (!found.summary) {
        rc = cli_fail(c, "%s is not a managed name: it has no policy", name);
        goto out;
    }
    /* the policy's own zone, which a zone added since may have made not the deepest */
    zone = zone_of_id(&zl, found.zone_id);
    assert(zone); /* a policy's zone_id REFERENCES zones(id) */
    if ((rc = store_zone_serial_get(c->st, zone->id, &serial_before)) ||
        (rc = store_policy_rm(c->st, name))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_zone_commit(c, zone->id, zone->name, serial_before, found.summary, "",
                              &serial)) == 0)
        printf("policy %s removed (zone %s serial %u)\n", name, zone->name, serial);
out:
    free(found.summary);
    zone_list_fini(&zl);
    return rc;
}

const struct cli_cmd cmd_policy_rm = {
    .name = "policy rm",
    .synopsis = "FQDN",
    .summary = "remove a name's policy: the name is no longer managed",
    .help = "The name then has no answers until records or a new policy are added; its\n"
            "zone's serial moves on.",
    .min_args = 1,
    .max_args = 1,
    .run = policy_rm,
};
