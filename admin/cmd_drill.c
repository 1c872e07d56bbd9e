/* admin/cmd_drill.c — gtmctl drill fail|restore|list and drain [rm]: rehearsing a
 * failure by forcing a region or one endpoint down whatever the probes say, and taking
 * a region's weights to zero in steps. gtm-dnsd applies both in place within a poll.
 * A change is one transaction with one audit row for no zone, and an event row for
 * every endpoint whose state or weight it changes (vantage "drill" or "drain").
 * gtmctl only, single-threaded. */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "admin/commands.h"
#include "admin/health_view.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/xalloc.h"

/* A drill's reason is read on one line of drill list and events. */
#define DRILL_REASON_MAX 200
/* The longest drill (--for) and drain (--over): more than a year is no rehearsal. */
#define CHANGE_MAX_S (366u * 86400)
/* Issue 5: a drain without --over takes five minutes, long enough for caches holding
 * the region's answers (a policy's TTL is 30 s by default) to move on gradually. */
#define DRAIN_OVER_S 300

/* ---- what a change touches, and the events it writes ---------------------------- */

/* How an endpoint reads in an event: its state, or its weight ("weight 100 (drain)"),
 * written into buf when it is not a constant. */
#define LABEL_MAX 64
typedef const char *(*label_fn)(const struct hview *v, const struct hview_ep *e, char *buf);

static const char *state_label(const struct hview *v, const struct hview_ep *e, char *buf)
{
    (void)buf;
    return hview_state_text(v, e);
}

static const char *weight_label(const struct hview *v, const struct hview_ep *e, char *buf)
{
    if (hview_drain_of(v, e->region_id))
        snprintf(buf, LABEL_MAX, "weight %u (drain)", hview_weight(v, e));
    else
        snprintf(buf, LABEL_MAX, "weight %u", e->weight);
    return buf;
}

/* A change to drills or drains: what it is on (a region, one endpoint, or everything
 * when both ids are 0) and, read inside its transaction before it, the view it changes. */
struct change {
    int64_t region_id, endpoint_id;
    char *what; /* "region eu-west", "web/192.0.2.1" */
    int64_t now_ms;
    struct hview before;
};

static bool touches(const struct change *ch, const struct hview_ep *e)
{
    return ch->region_id ? e->region_id == ch->region_id
                         : !ch->endpoint_id || e->id == ch->endpoint_id;
}

/* Parses REGION or POOL/TARGET (the region when there is no '/') into ch->what. */
static int parse_on(const struct cli *c, const char *s, struct change *ch)
{
    struct cli_target t;
    const char *slash = strchr(s, '/');
    char *pool = slash ? xstrndup(s, (size_t)(slash - s)) : NULL;
    int rc = slash ? cli_parse_ident(c, "POOL", pool) : cli_parse_ident(c, "REGION", s);
    if (rc == 0 && slash)
        rc = cli_parse_target(c, slash + 1, &t);
    if (rc == 0)
        ch->what = slash ? xasprintf("%s/%s", pool, t.text) : xasprintf("region %s", s);
    free(pool);
    return rc;
}

/* Starts the change: the transaction, the ids of what ch->what names (nothing: every
 * endpoint), the view before. */
static int change_begin(struct cli *c, struct change *ch)
{
    struct store_endpoint e;
    int64_t pool_id = 0;
    char *pool = NULL;
    int rc = cli_tx_begin(c);
    if (rc)
        goto out;
    ch->now_ms = clock_wall_ms();
    if (ch->what && strncmp(ch->what, "region ", 7) == 0) {
        rc = store_region_find(c->st, ch->what + 7, &ch->region_id);
        if (rc == GTM_ENOTFOUND) {
            /* a pool's name where the endpoint's POOL/TARGET was meant */
            char msg[256];
            snprintf(msg, sizeof msg, "%s", store_errmsg(c->st));
            rc = store_pool_find(c->st, ch->what + 7, &pool_id) == 0
                     ? cli_fail(c,
                                "no region %s, but a pool: an endpoint is named POOL/TARGET "
                                "(gtmctl endpoint list %s shows them)",
                                ch->what + 7, ch->what + 7)
                     : cli_fail(c, "%s", msg);
            goto out;
        }
    } else if (ch->what) {
        pool = xstrndup(ch->what, strcspn(ch->what, "/"));
        if ((rc = store_pool_find(c->st, pool, &pool_id)) == 0 &&
            (rc = store_endpoint_get(c->st, pool_id, ch->what + strlen(pool) + 1, &e)) == 0)
            ch->endpoint_id = e.id;
    }
    if (rc == GTM_ENOTFOUND && pool_id) {
        rc = cli_fail(c, "pool %s has no endpoint %s (gtmctl endpoint list %s shows them)", pool,
                      ch->what + strlen(pool) + 1, pool);
        goto out;
    }
    if (rc || (rc = hview_load(c->st, 0, ch->now_ms, &ch->before)))
        rc = cli_store_fail(c, rc);
out:
    free(pool);
    return rc;
}

/* Writes an event for each endpoint the change touched whose label it changed (every
 * one it touched, with every set), as vantage with reason; *touched (may be NULL) gets
 * how many it touched. */
static int change_events(struct cli *c, struct change *ch, label_fn label, bool every,
                         const char *vantage, const char *reason, size_t *touched)
{
    struct hview after;
    size_t n = 0;
    int rc = hview_load(c->st, 0, ch->now_ms, &after);
    /* drills and drains leave the endpoints as they are: same ones, same order */
    assert(rc || after.neps == ch->before.neps);
    for (size_t i = 0; rc == 0 && i < after.neps; i++) {
        const struct hview_ep *e = &after.eps[i];
        char old_buf[LABEL_MAX], new_buf[LABEL_MAX];
        if (!touches(ch, e))
            continue;
        n++;
        const char *old = label(&ch->before, &ch->before.eps[i], old_buf);
        const char *new = label(&after, e, new_buf);
        if (!every && strcmp(old, new) == 0)
            continue;
        char *target = xasprintf("%s/%s", e->pool, e->target);
        struct store_event ev = {
            .ts_ms = ch->now_ms,
            .endpoint_id = e->id,
            .target = target,
            .vantage = vantage,
            .old_state = old,
            .new_state = new,
            .reason = reason,
        };
        rc = store_event_add(c->st, &ev);
        free(target);
    }
    hview_fini(&after);
    if (rc)
        return cli_store_fail(c, rc);
    if (touched)
        *touched = n;
    return 0;
}

static void change_fini(struct change *ch)
{
    hview_fini(&ch->before);
    free(ch->what);
}

/* ---- drills --------------------------------------------------------------------- */

/* "drill region eu-west until 2025-01-02T03:04:05Z: maintenance". Caller frees. */
static char *drill_summary(const char *what, int64_t until_ms, const char *reason)
{
    char until[CLI_TIME_MAX] = "restored";
    if (until_ms)
        cli_time_text(until_ms, CLI_TIME_S, until);
    return xasprintf("drill %s until %s%s%s", what, until, *reason ? ": " : "", reason);
}

/* The drill of the change's region or endpoint (every drill, for everything), as the
 * audit shows them, one a line; "" when there is none. Caller frees. *last gets the
 * last of them, and stays as it was when there is none. */
static char *drills_text(const struct change *ch, const struct hview_drill **last)
{
    char *text = xstrdup("");
    for (size_t i = 0; i < ch->before.ndrills; i++) {
        const struct hview_drill *d = &ch->before.drills[i];
        if ((ch->region_id || ch->endpoint_id) &&
            (d->region_id != ch->region_id || d->endpoint_id != ch->endpoint_id))
            continue;
        char *one = drill_summary(d->what, d->until_ms, d->reason);
        char *both = xasprintf("%s%s%s", text, *text ? "\n" : "", one);
        free(one);
        free(text);
        text = both;
        *last = d;
    }
    return text;
}

static int drill_fail(struct cli *c)
{
    struct change ch = {0};
    const char *dur = cli_opt(c, "for"), *reason = cli_opt(c, "reason");
    const struct hview_drill *old = NULL;
    char *before = NULL, *after = NULL;
    uint32_t for_s = 0;
    size_t n = 0;
    int64_t id = 0;
    int rc = parse_on(c, c->args[0], &ch);
    if (rc || (dur && (rc = cli_parse_duration(c, "--for", dur, 1, CHANGE_MAX_S, &for_s))) ||
        (reason && (rc = cli_parse_text(c, "--reason", reason, DRILL_REASON_MAX))) ||
        (rc = change_begin(c, &ch)))
        goto out;
    before = drills_text(&ch, &old);
    if (old && health_drill_active(old->started_ms, old->until_ms, ch.now_ms)) {
        char since[CLI_TIME_MAX];
        rc = cli_fail(c, "%s already has a drill, since %s (gtmctl drill restore %s ends it)",
                      ch.what, cli_time_text(old->started_ms, CLI_TIME_S, since), c->args[0]);
        goto out;
    }
    struct store_drill d = {
        .region_id = ch.region_id,
        .endpoint_id = ch.endpoint_id,
        .started_ms = ch.now_ms,
        .until_ms = for_s ? ch.now_ms + (int64_t)for_s * 1000 : 0,
        .reason = reason ? reason : "",
        .user = c->user,
    };
    after = drill_summary(ch.what, d.until_ms, d.reason);
    /* an expired drill stays listed until gtm-healthd ends it or it is restored or
     * replaced: this replaces it */
    int removed = 0;
    if ((old && (rc = store_drill_rm(c->st, ch.region_id, ch.endpoint_id, &removed))) ||
        (rc = store_drill_add(c->st, &d, &id))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = change_events(c, &ch, state_label, false, "drill", reason ? reason : "drill", &n)) ||
        (rc = cli_tx_commit(c, NULL, before, after)))
        goto out;
    printf("%s (%zu endpoint%s forced down)\n", after, n, n == 1 ? "" : "s");
out:
    free(after);
    free(before);
    change_fini(&ch);
    return rc;
}

static const struct cli_opt drill_fail_opts[] = {
    {"for", "DURATION", "end by itself after DURATION (90s, 10m, 1h; default: when restored)",
     false},
    {"reason", "TEXT", "why, for drill list and the events", false},
    {NULL},
};

const struct cli_cmd cmd_drill_fail = {
    .name = "drill fail",
    .synopsis = "REGION|POOL/TARGET [--for DURATION] [--reason TEXT]",
    .summary = "rehearse a failure: force a region or one endpoint down",
    .help = "Answers leave every endpoint of the region (or the one endpoint: POOL/TARGET,\n"
            "the target written as for gtmctl endpoint add) as if the probes had found it\n"
            "down, whatever they say, from gtm-dnsd's next look at the store until gtmctl\n"
            "drill restore or the end of --for. One drill at a time on a region or\n"
            "endpoint. Each endpoint it takes down gets an event (gtmctl events).",
    .min_args = 1,
    .max_args = 1,
    .opts = drill_fail_opts,
    .run = drill_fail,
};

static int drill_restore(struct cli *c)
{
    struct change ch = {0};
    const struct hview_drill *last = NULL;
    bool all = cli_opt(c, "all") != NULL;
    char *before = NULL;
    int removed = 0;
    int rc = CLI_EXIT_USAGE;
    if (all == (c->nargs == 1)) {
        rc = cli_usage_error(c, "give a REGION or POOL/TARGET, or --all");
        goto out;
    }
    if ((!all && (rc = parse_on(c, c->args[0], &ch))) || (rc = change_begin(c, &ch)))
        goto out;
    before = drills_text(&ch, &last);
    if (!last && !all) {
        rc = cli_fail(c, "%s has no drill (gtmctl drill list shows them)", ch.what);
        goto out;
    }
    if (!last) {
        printf("no drills to end\n");
        rc = CLI_EXIT_OK; /* nothing to write: the transaction is rolled back */
        goto out;
    }
    if ((rc = store_drill_rm(c->st, ch.region_id, ch.endpoint_id, &removed))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = change_events(c, &ch, state_label, false, "drill", "drill restored", NULL)) ||
        (rc = cli_tx_commit(c, NULL, before, "")))
        goto out;
    for (char *line = before, *next = before; line; line = next) {
        strsep(&next, "\n");
        printf("ended %s\n", line);
    }
out:
    free(before);
    change_fini(&ch);
    return rc;
}

static const struct cli_opt drill_restore_opts[] = {
    {"all", NULL, "end every drill", false},
    {NULL},
};

const struct cli_cmd cmd_drill_restore = {
    .name = "drill restore",
    .synopsis = "REGION|POOL/TARGET | --all",
    .summary = "end a drill, or all of them: the probes decide again",
    .help = "Ending an expired drill only removes it from gtmctl drill list.",
    .min_args = 0,
    .max_args = 1,
    .opts = drill_restore_opts,
    .run = drill_restore,
};

static int fill_drills(struct cli *c, struct cli_table *t)
{
    struct hview v;
    int rc = hview_load(c->st, 0, clock_wall_ms(), &v);
    for (size_t i = 0; rc == 0 && i < v.ndrills; i++) {
        const struct hview_drill *d = &v.drills[i];
        char started[CLI_TIME_MAX], until[CLI_TIME_MAX] = "-";
        if (d->until_ms)
            cli_time_text(d->until_ms, CLI_TIME_S, until);
        cli_table_add(t, "%s\t%s\t%s\t%s\t%s\t%s", d->what,
                      health_drill_active(d->started_ms, d->until_ms, v.now_ms) ? "active"
                                                                                : "expired",
                      d->user, cli_time_text(d->started_ms, CLI_TIME_S, started), until,
                      *d->reason ? d->reason : "-");
    }
    hview_fini(&v);
    return rc;
}

static int drill_list(struct cli *c)
{
    return cli_table_run(c, "DRILL\tSTATE\tUSER\tSTARTED\tUNTIL\tREASON", fill_drills);
}

const struct cli_cmd cmd_drill_list = {
    .name = "drill list",
    .synopsis = "",
    .summary = "list the drills, active and expired",
    .help = "One line per drill, oldest first: what it forces down (a region, or\n"
            "POOL/TARGET), whether it is active or has expired (an expired drill no longer\n"
            "applies; gtm-healthd ends it with a 'drill expired' event within a second, or\n"
            "gtmctl drill restore removes it), who started it and when, until when ('-':\n"
            "until restored) and why.",
    .min_args = 0,
    .max_args = 0,
    .run = drill_list,
};

/* ---- drains --------------------------------------------------------------------- */

/* "drain eu-west over 5m, to weight 0 at 2025-01-02T03:09:05Z", or "" when the change's
 * region is not draining. Caller frees. */
static char *drain_text(const struct change *ch)
{
    const struct hview_drain *d = hview_drain_of(&ch->before, ch->region_id);
    char over[CLI_DURATION_MAX], until[CLI_TIME_MAX];
    if (!d)
        return xstrdup("");
    return xasprintf("drain %s over %s, to weight 0 at %s", d->region,
                     cli_duration_text((uint64_t)(d->until_ms - d->started_ms), over),
                     cli_time_text(d->until_ms, CLI_TIME_S, until));
}

static int drain(struct cli *c)
{
    struct change ch = {0};
    const char *over_text = cli_opt(c, "over");
    char *before = NULL, *after = NULL, *reason = NULL, over[CLI_DURATION_MAX];
    char until[CLI_TIME_MAX];
    uint32_t over_s = DRAIN_OVER_S;
    size_t n = 0;
    int rc = cli_parse_ident(c, "REGION", c->args[0]);
    if (rc ||
        (over_text && (rc = cli_parse_duration(c, "--over", over_text, 0, CHANGE_MAX_S, &over_s))))
        goto out;
    ch.what = xasprintf("region %s", c->args[0]);
    if ((rc = change_begin(c, &ch)))
        goto out;
    before = drain_text(&ch);
    struct store_drain d = {
        .region_id = ch.region_id,
        .started_ms = ch.now_ms,
        .until_ms = ch.now_ms + over_s * 1000LL,
    };
    cli_duration_text(over_s * 1000ULL, over);
    reason = xasprintf("drain over %s", over);
    after = xasprintf("drain %s over %s, to weight 0 at %s", c->args[0], over,
                      cli_time_text(d.until_ms, CLI_TIME_S, until));
    if ((rc = store_drain_set(c->st, &d))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = change_events(c, &ch, weight_label, true, "drain", reason, &n)) ||
        (rc = cli_tx_commit(c, NULL, before, after)))
        goto out;
    printf("%s (%zu endpoint%s%s)\n", after, n, n == 1 ? "" : "s",
           *before ? ", replacing the running drain" : "");
out:
    free(reason);
    free(after);
    free(before);
    change_fini(&ch);
    return rc;
}

static const struct cli_opt drain_opts[] = {
    {"over", "DURATION", "reach weight 0 after DURATION, in 10 steps (default 5m; 0: now)", false},
    {NULL},
};

const struct cli_cmd cmd_drain = {
    .name = "drain",
    .synopsis = "REGION [--over DURATION]",
    .summary = "take a region's weights to zero in steps",
    .help = "The weights of the region's endpoints fall in 10 equal steps, the first at\n"
            "once, and reach 0 at the end of --over: the region then gets no new answers.\n"
            "Draining a draining region starts again from its full weights. gtmctl status\n"
            "shows the progress; gtmctl drain rm REGION gives the weights back. Each\n"
            "endpoint of the region gets an event (gtmctl events). A client whose geo map\n"
            "entry lists no region left with weight gets the policy's --fallback: a POOL,\n"
            "or no data (fail-open answers no endpoint of weight 0 either): list a second\n"
            "region, or give a fallback pool, before draining a client's only region.",
    .min_args = 1,
    .max_args = 1,
    .opts = drain_opts,
    .run = drain,
};

static int drain_rm(struct cli *c)
{
    struct change ch = {0};
    char *before = NULL;
    int removed = 0;
    int rc = cli_parse_ident(c, "REGION", c->args[0]);
    if (rc)
        goto out;
    ch.what = xasprintf("region %s", c->args[0]);
    if ((rc = change_begin(c, &ch)))
        goto out;
    before = drain_text(&ch);
    if (!*before) {
        rc = cli_fail(c, "region %s is not draining", c->args[0]);
        goto out;
    }
    if ((rc = store_drain_rm(c->st, ch.region_id, &removed))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = change_events(c, &ch, weight_label, true, "drain", "drain stopped", NULL)) ||
        (rc = cli_tx_commit(c, NULL, before, "")))
        goto out;
    printf("drain %s stopped: its endpoints have their weights back\n", c->args[0]);
out:
    free(before);
    change_fini(&ch);
    return rc;
}

const struct cli_cmd cmd_drain_rm = {
    .name = "drain rm",
    .synopsis = "REGION",
    .summary = "stop draining a region: its endpoints get their weights back",
    .min_args = 1,
    .max_args = 1,
    .run = drain_rm,
};
