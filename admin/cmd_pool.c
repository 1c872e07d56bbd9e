/* admin/cmd_pool.c — gtmctl pool add|list and endpoint add|set|list: the pools a policy
 * answers from and their endpoints (an IPv4 or IPv6 address, or a host name answered as
 * a CNAME), each in a region with a weight, a priority tier and an on/off switch.
 * Store-wide: a change is one transaction with one audit row for no zone. gtmctl only,
 * single-threaded. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "admin/commands.h"
#include "common/err.h"
#include "common/xalloc.h"

/* The store's CHECKs on endpoints (db/migrations/0002_traffic.sql), checked first so
 * that a bad value is a usage error naming the option. */
#define EP_WEIGHT_MAX 1000000
#define EP_PRIORITY_MAX 65535

/* ---- pool add ------------------------------------------------------------------- */

static int pool_add(struct cli *c)
{
    const char *pool = c->args[0];
    char *summary = NULL;
    int64_t id = 0;
    int rc = cli_parse_ident(c, "POOL", pool);
    if (rc)
        goto out;
    /* policy set --fallback takes a pool name or one of these words */
    if (strcmp(pool, "none") == 0 || strcmp(pool, "fail-open") == 0) {
        rc = cli_usage_error(c, "POOL: '%s' is reserved (a --fallback of policy set)", pool);
        goto out;
    }
    summary = xasprintf("pool %s", pool);
    if ((rc = cli_tx_begin(c)))
        goto out;
    if ((rc = store_pool_add(c->st, pool, &id))) {
        rc = rc == GTM_EEXIST ? cli_fail(c, "pool %s already exists", pool) : cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, "", summary)) == 0)
        printf("added %s\n", summary);
out:
    free(summary);
    return rc;
}

const struct cli_cmd cmd_pool_add = {
    .name = "pool add",
    .synopsis = "POOL",
    .summary = "add an empty pool of endpoints",
    .help = "POOL is 1 to 63 characters from a-z 0-9 _ . - ('none' and 'fail-open' are\n"
            "reserved). Fill it with gtmctl endpoint add; point a name at it with gtmctl\n"
            "policy set.",
    .min_args = 1,
    .max_args = 1,
    .run = pool_add,
};

/* ---- pool list ------------------------------------------------------------------ */

static int table_pool(void *arg, const struct store_pool *p)
{
    cli_table_add(arg, "%s\t%lld", p->name, (long long)p->endpoints);
    return 0;
}

static int fill_pools(struct cli *c, struct cli_table *t)
{
    return store_pool_foreach(c->st, table_pool, t);
}

static int pool_list(struct cli *c)
{
    return cli_table_run(c, "POOL\tENDPOINTS", fill_pools);
}

const struct cli_cmd cmd_pool_list = {
    .name = "pool list",
    .synopsis = "",
    .summary = "list the pools and how many endpoints each has",
    .min_args = 0,
    .max_args = 0,
    .run = pool_list,
};

/* ---- endpoints: targets and settings -------------------------------------------- */

static const char *kind_name(enum store_ep_kind kind)
{
    return kind == STORE_EP_V4 ? "A" : kind == STORE_EP_V6 ? "AAAA" : "CNAME";
}

/* Writes the settings given (--weight, --priority, --enabled) into e and leaves the
 * others; *given (may be NULL) gets how many there were. */
static int parse_settings(const struct cli *c, struct store_endpoint *e, int *given)
{
    const char *weight = cli_opt(c, "weight"), *prio = cli_opt(c, "priority");
    const char *enabled = cli_opt(c, "enabled");
    int rc = 0;
    if ((weight && (rc = cli_parse_u32(c, "--weight", weight, 0, EP_WEIGHT_MAX, &e->weight))) ||
        (prio && (rc = cli_parse_u32(c, "--priority", prio, 0, EP_PRIORITY_MAX, &e->priority))))
        goto out;
    if (enabled && strcmp(enabled, "yes") != 0 && strcmp(enabled, "no") != 0) {
        rc = cli_usage_error(c, "--enabled: '%s' is not yes or no", enabled);
        goto out;
    }
    if (enabled)
        e->enabled = strcmp(enabled, "yes") == 0;
    if (given)
        *given = (weight != NULL) + (prio != NULL) + (enabled != NULL);
out:
    return rc;
}

/* "endpoint web 192.0.2.1: A, region eu-west, weight 100, priority 1, enabled yes" */
static char *endpoint_summary(const struct store_endpoint *e)
{
    return xasprintf("endpoint %s %s: %s, region %s, weight %u, priority %u, enabled %s", e->pool,
                     e->target, kind_name(e->kind), e->region, e->weight, e->priority,
                     e->enabled ? "yes" : "no");
}

/* ---- endpoint add --------------------------------------------------------------- */

static int endpoint_add(struct cli *c)
{
    struct cli_target t;
    struct store_endpoint e = {
        .pool = c->args[0],
        .region = cli_opt(c, "region"),
        .weight = 100,
        .priority = 1,
        .enabled = true,
    };
    char *summary = NULL;
    int64_t id = 0;
    int rc = cli_parse_ident(c, "POOL", e.pool);
    if (rc || (rc = cli_parse_target(c, c->args[1], &t)) || (rc = parse_settings(c, &e, NULL)))
        goto out;
    /* ::ffff:192.0.2.1 (RFC 4291 §2.5.5.2) is an IPv4 address, which no client reaches
     * over IPv6: answered as AAAA it would be an address that does not work */
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (t.kind == STORE_EP_V6 && memcmp(t.addr, v4mapped, sizeof v4mapped) == 0) {
        char v4[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, t.addr + 12, v4, sizeof v4);
        rc = cli_usage_error(c,
                             "TARGET: '%s' is an IPv4-mapped IPv6 address: give the IPv4 "
                             "address, %s (answered as A)",
                             c->args[1], v4);
        goto out;
    }
    if (!e.region) {
        rc = cli_usage_error(c, "--region is required: the region the endpoint is in");
        goto out;
    }
    if ((rc = cli_parse_ident(c, "--region", e.region)))
        goto out;
    e.target = t.text;
    e.kind = t.kind;
    e.address = t.addr;
    e.address_len = t.addr_len;
    summary = endpoint_summary(&e);
    if ((rc = cli_tx_begin(c)))
        goto out;
    if ((rc = store_pool_find(c->st, e.pool, &e.pool_id)) ||
        (rc = store_region_find(c->st, e.region, &e.region_id)) ||
        (rc = store_endpoint_add(c->st, &e, &id))) {
        if (rc == GTM_EEXIST)
            rc = cli_fail(c, "pool %s already has endpoint %s (gtmctl endpoint set changes it)",
                          e.pool, e.target);
        else
            rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_cname_loop(c, e.pool_id, e.pool)))
        goto out;
    if ((rc = cli_tx_commit(c, NULL, "", summary)) == 0)
        printf("added %s\n", summary);
out:
    free(summary);
    return rc;
}

/* endpoint set takes the same options but --region: keep that one first */
static const struct cli_opt endpoint_opts[] = {
    {"region", "REGION", "the region it is in (required)", false},
    {"weight", "N", "its share among the endpoints picked (0 to 1000000; new: 100)", false},
    {"priority", "N", "its failover tier, lowest first (0 to 65535; new: 1)", false},
    {"enabled", "yes|no", "no: never answered, whatever its health (new: yes)", false},
    {NULL},
};

const struct cli_cmd cmd_endpoint_add = {
    .name = "endpoint add",
    .synopsis = "POOL TARGET --region REGION [--weight N] [--priority N] [--enabled yes|no]",
    .summary = "add an endpoint to a pool",
    .help = "TARGET is an IPv4 address (answered as A), an IPv6 address (AAAA) or a host\n"
            "name (answered as a CNAME to it, one at a time: an endpoint that is itself a\n"
            "load balancer). Addresses are kept in canonical form (RFC 5952 for IPv6).",
    .min_args = 2,
    .max_args = 2,
    .opts = endpoint_opts,
    .run = endpoint_add,
};

/* ---- endpoint set --------------------------------------------------------------- */

/* Finds target in pool into *e (in the open transaction). 0, or an exit status,
 * reported. */
static int find_endpoint(struct cli *c, const char *pool, const char *target,
                         struct store_endpoint *e)
{
    int64_t pool_id = 0;
    int rc = store_pool_find(c->st, pool, &pool_id);
    if (rc == 0 && (rc = store_endpoint_get(c->st, pool_id, target, e)) == GTM_ENOTFOUND)
        return cli_fail(c, "pool %s has no endpoint %s (gtmctl endpoint list %s shows them)", pool,
                        target, pool);
    return rc ? cli_store_fail(c, rc) : 0;
}

/* "weight 100 -> 50, enabled yes -> no": what changed from old to e. */
static char *endpoint_changes(const struct store_endpoint *old, const struct store_endpoint *e)
{
    char weight[48] = "", prio[48] = "", enabled[32] = "";
    if (old->weight != e->weight)
        snprintf(weight, sizeof weight, ", weight %u -> %u", old->weight, e->weight);
    if (old->priority != e->priority)
        snprintf(prio, sizeof prio, ", priority %u -> %u", old->priority, e->priority);
    if (old->enabled != e->enabled)
        snprintf(enabled, sizeof enabled, ", enabled %s -> %s", old->enabled ? "yes" : "no",
                 e->enabled ? "yes" : "no");
    return xasprintf("%s%s%s", weight, prio, enabled);
}

static int endpoint_set(struct cli *c)
{
    struct cli_target t;
    struct store_endpoint e = {0}, old;
    char *before = NULL, *after = NULL, *changes = NULL;
    int given = 0;
    int rc = cli_parse_ident(c, "POOL", c->args[0]);
    /* parse into a scratch copy first: every value is checked before the store opens */
    if (rc || (rc = cli_parse_target(c, c->args[1], &t)) || (rc = parse_settings(c, &e, &given)))
        goto out;
    if (given == 0) {
        rc = cli_usage_error(c, "nothing to change: give --weight, --priority or --enabled");
        goto out;
    }
    if ((rc = cli_tx_begin(c)) || (rc = find_endpoint(c, c->args[0], t.text, &e)))
        goto out;
    old = e;
    parse_settings(c, &e, NULL); /* checked above: cannot fail */
    before = endpoint_summary(&old);
    after = endpoint_summary(&e);
    changes = endpoint_changes(&old, &e);
    if (!*changes) {
        printf("%s: unchanged\n", before);
        rc = CLI_EXIT_OK; /* nothing to write: the transaction is rolled back */
        goto out;
    }
    /* switched on again: what the probes said before it was off no longer holds */
    bool fresh_start = !old.enabled && e.enabled;
    if ((rc = store_endpoint_update(c->st, &e)) ||
        (fresh_start && (rc = store_health_rm(c->st, e.id)))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, before, after)) == 0)
        printf("endpoint %s %s: %s%s\n", c->args[0], t.text, changes + 2,
               fresh_start ? "; its health is unknown until probed again" : "");
out:
    free(changes);
    free(after);
    free(before);
    return rc;
}

const struct cli_cmd cmd_endpoint_set = {
    .name = "endpoint set",
    .synopsis = "POOL TARGET [--weight N] [--priority N] [--enabled yes|no]",
    .summary = "change an endpoint's weight, priority or switch",
    .help = "Only the settings given change; give at least one. TARGET is written as for\n"
            "gtmctl endpoint add (2001:DB8::1 finds 2001:db8::1). Setting what is already\n"
            "there writes nothing. Switched on again (--enabled yes), an endpoint's health\n"
            "is unknown until probed again (the policy's --unknown decides meanwhile).",
    .min_args = 2,
    .max_args = 2,
    .opts = endpoint_opts + 1,
    .run = endpoint_set,
};

/* ---- pool rm and endpoint rm ---------------------------------------------------- */

static int count_endpoint(void *arg, const struct store_endpoint *e)
{
    (void)e;
    (*(long *)arg)++;
    return 0;
}

static int pool_rm(struct cli *c)
{
    const char *pool = c->args[0];
    char user[DNAME_KEY_MAX], *before = NULL;
    int64_t id = 0;
    int rc = cli_parse_ident(c, "POOL", pool);
    if (rc || (rc = cli_tx_begin(c)))
        goto out;
    if ((rc = store_pool_find(c->st, pool, &id)) ||
        (rc = store_pool_user(c->st, id, user, sizeof user))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if (user[0]) {
        rc = cli_fail(c,
                      "pool %s is used by the policy of %s (gtmctl policy list shows which "
                      "use it): point them at another pool or remove them first",
                      pool, user);
        goto out;
    }
    long n = 0; /* its endpoints, for the audit and the output */
    if ((rc = store_endpoint_foreach(c->st, id, count_endpoint, &n)) == 0)
        rc = store_pool_rm(c->st, id);
    before = xasprintf("pool %s, %ld endpoint%s", pool, n, n == 1 ? "" : "s");
    rc = cli_tx_commit_rm(c, rc, before);
out:
    free(before);
    return rc;
}

const struct cli_cmd cmd_pool_rm = {
    .name = "pool rm",
    .synopsis = "POOL",
    .summary = "remove a pool no policy uses, with its endpoints",
    .help = "Its endpoints go with it, with their checks and health; the events keep\n"
            "their history. A pool a policy answers from or falls back to is refused.",
    .min_args = 1,
    .max_args = 1,
    .run = pool_rm,
};

static int endpoint_rm(struct cli *c)
{
    struct cli_target t;
    struct store_endpoint e = {0};
    char *before = NULL;
    int rc = cli_parse_ident(c, "POOL", c->args[0]);
    if (rc || (rc = cli_parse_target(c, c->args[1], &t)) || (rc = cli_tx_begin(c)) ||
        (rc = find_endpoint(c, c->args[0], t.text, &e)))
        goto out;
    before = endpoint_summary(&e);
    rc = cli_tx_commit_rm(c, store_endpoint_rm(c->st, e.id), before);
out:
    free(before);
    return rc;
}

const struct cli_cmd cmd_endpoint_rm = {
    .name = "endpoint rm",
    .synopsis = "POOL TARGET",
    .summary = "remove an endpoint from a pool",
    .help = "TARGET is written as for gtmctl endpoint add. Its check, health and drills go\n"
            "with it; the events keep its history. To take it out of the answers for a\n"
            "while instead: gtmctl endpoint set POOL TARGET --enabled no.",
    .min_args = 2,
    .max_args = 2,
    .run = endpoint_rm,
};

/* ---- endpoint list -------------------------------------------------------------- */

static int table_endpoint(void *arg, const struct store_endpoint *e)
{
    cli_table_add(arg, "%s\t%s\t%s\t%s\t%u\t%u\t%s", e->pool, e->target, kind_name(e->kind),
                  e->region, e->weight, e->priority, e->enabled ? "yes" : "no");
    return 0;
}

/* The endpoints of the pool named by the argument, or of every pool. */
static int fill_endpoints(struct cli *c, struct cli_table *t)
{
    int64_t pool_id = 0; /* every pool */
    int rc = c->nargs > 0 ? store_pool_find(c->st, c->args[0], &pool_id) : 0;
    return rc ? rc : store_endpoint_foreach(c->st, pool_id, table_endpoint, t);
}

static int endpoint_list(struct cli *c)
{
    int rc = c->nargs > 0 ? cli_parse_ident(c, "POOL", c->args[0]) : 0;
    return rc ? rc
              : cli_table_run(c, "POOL\tTARGET\tTYPE\tREGION\tWEIGHT\tPRIORITY\tENABLED",
                              fill_endpoints);
}

const struct cli_cmd cmd_endpoint_list = {
    .name = "endpoint list",
    .synopsis = "[POOL]",
    .summary = "list the endpoints of every pool, or of one",
    .help = "One line per endpoint, by pool and target: its answer type (A, AAAA, CNAME),\n"
            "region, weight, priority tier and whether it is enabled.",
    .min_args = 0,
    .max_args = 1,
    .run = endpoint_list,
};
