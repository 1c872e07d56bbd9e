/* admin/cmd_status.c — gtmctl status and events: what answers make of every endpoint
 * now (the quorum of fresh vantage reports, drills, drains, by gtm-dnsd's own rules in
 * dnsd/health.c) with what each vantage point reports, and the state changes over
 * time. Read-only, one read transaction each. gtmctl only, single-threaded. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "admin/commands.h"
#include "admin/health_view.h"
#include "common/clock.h"
#include "common/xalloc.h"

/* events without --since: the last hour */
#define EVENTS_SINCE_S 3600

/* ---- status --------------------------------------------------------------------- */

/* "12.3 ms", or "-" without a round trip. */
static const char *rtt_text(int64_t rtt_us, char *buf, size_t len)
{
    if (rtt_us < 0)
        return "-";
    snprintf(buf, len, "%.1f ms", (double)rtt_us / 1000);
    return buf;
}

/* The newest change, the freshest round trip and the reason of the newest down report
 * among the reports that decide: the fresh ones, or when none is fresh the last ones. */
struct fresh {
    const struct hview_vote *changed, *probed, *down;
};

static struct fresh fresh_of(const struct hview *v, const struct hview_ep *e)
{
    struct fresh f = {0};
    for (size_t i = 0; i < e->nvotes; i++) {
        const struct hview_vote *vote = &e->votes[i];
        if (!hview_vote_decides(v, e, vote))
            continue;
        if (!f.changed || vote->since_ms > f.changed->since_ms)
            f.changed = vote;
        if (vote->rtt_us >= 0 && (!f.probed || vote->checked_ms > f.probed->checked_ms))
            f.probed = vote;
        if (!vote->up && (!f.down || vote->since_ms > f.down->since_ms))
            f.down = vote;
    }
    return f;
}

/* "100", or while the region drains "100 -> 40 (draining eu-west, 6/10 steps)". */
static char *weight_text(const struct hview *v, const struct hview_ep *e)
{
    const struct hview_drain *d = hview_drain_of(v, e->region_id);
    if (!d)
        return xasprintf("%u", e->weight);
    uint32_t permille = health_drain_permille(d->started_ms, d->until_ms, v->now_ms);
    if (permille == 0)
        return xasprintf("%u -> 0 (drained %s)", e->weight, d->region);
    return xasprintf("%u -> %u (draining %s, %u/%d steps)", e->weight, hview_weight(v, e),
                     d->region, (1000 - permille) * HEALTH_DRAIN_STEPS / 1000, HEALTH_DRAIN_STEPS);
}

/* An endpoint's row, then one row per vantage point under it. */
static void table_status(struct cli_table *t, const struct hview *v, const struct hview_ep *e)
{
    const struct hview_drill *drill = hview_drill_of(v, e);
    struct fresh f = fresh_of(v, e);
    char since[CLI_TIME_MAX] = "-", rtt[32], until[CLI_TIME_MAX], drill_text[48] = "-";
    const char *reason = "-";
    char *weight = weight_text(v, e);
    if (drill) {
        /* a drill decides: it is the change and the reason answers follow */
        cli_time_text(drill->started_ms, CLI_TIME_S, since);
        reason = *drill->reason ? drill->reason : "drill";
        /* the clock alone says when within the next day; a longer drill needs the date */
        enum cli_time_form form =
            drill->until_ms - v->now_ms < 86400000 ? CLI_TIME_CLOCK : CLI_TIME_S;
        snprintf(drill_text, sizeof drill_text, "drill%s%s", drill->until_ms ? " until " : "",
                 drill->until_ms ? cli_time_text(drill->until_ms, form, until) : "");
    } else if (f.changed) {
        cli_time_text(f.changed->since_ms, CLI_TIME_S, since);
        if (hview_quorum(v, e) == POL_STATE_DOWN && *f.down->reason)
            reason = f.down->reason;
    }
    cli_table_add(t, "%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", e->pool, e->target, e->region,
                  hview_state_text(v, e), since,
                  rtt_text(f.probed ? f.probed->rtt_us : -1, rtt, sizeof rtt), reason, drill_text,
                  weight, e->enabled ? "yes" : "no");
    for (size_t i = 0; i < e->nvotes; i++) {
        const struct hview_vote *vote = &e->votes[i];
        cli_table_add(t, "  %s\t\t%s%s\t%s\t%s\t%s", vote->vantage, vote->up ? "up" : "down",
                      hview_vote_is_fresh(v, e, vote) ? "" : " (stale)",
                      cli_time_text(vote->since_ms, CLI_TIME_S, since),
                      rtt_text(vote->rtt_us, rtt, sizeof rtt), *vote->reason ? vote->reason : "-");
    }
    free(weight);
}

/* One line per drained region, under the table. */
static void print_drain(const struct hview *v, const struct hview_drain *d)
{
    char start[CLI_TIME_MAX], end[CLI_TIME_MAX];
    uint32_t permille = health_drain_permille(d->started_ms, d->until_ms, v->now_ms);
    cli_time_text(d->started_ms, CLI_TIME_S, start);
    cli_time_text(d->until_ms, CLI_TIME_S, end);
    if (permille == 0)
        printf("drain %s: done at %s, weights at 0%% (gtmctl drain rm %s gives them back)\n",
               d->region, end, d->region);
    else
        printf("drain %s: %u/%d steps, weights at %u%%, started %s, reaching 0 at %s\n", d->region,
               (1000 - permille) * HEALTH_DRAIN_STEPS / 1000, HEALTH_DRAIN_STEPS, permille / 10,
               start, end);
}

/* A vantage point is silent when its heartbeat (every second) is this much older. */
#define STATUS_SILENT_MS 10000

/* Whether votes[j] of eps[i] is the first vote of its vantage point in v. */
static bool first_vote_of_vantage(const struct hview *v, size_t i, size_t j)
{
    const char *name = v->eps[i].votes[j].vantage;
    for (size_t a = 0; a <= i; a++)
        for (size_t b = 0; b < (a < i ? v->eps[a].nvotes : j); b++)
            if (strcmp(v->eps[a].votes[b].vantage, name) == 0)
                return false;
    return true;
}

/* One line per vantage point whose gtm-healthd has stopped reporting (its heartbeat,
 * the same in each of its votes, is old): its reports age out of the quorum, which an
 * operator who looks only at the states would not see. */
static void print_silent(const struct hview *v)
{
    for (size_t i = 0; i < v->neps; i++) {
        for (size_t j = 0; j < v->eps[i].nvotes; j++) {
            const struct hview_vote *vote = &v->eps[i].votes[j];
            if (v->now_ms - vote->seen_ms < STATUS_SILENT_MS || !first_vote_of_vantage(v, i, j))
                continue;
            char when[CLI_TIME_MAX], ago[CLI_DURATION_MAX];
            printf("vantage point %s: silent since %s (%s ago): its gtm-healthd is not "
                   "running, or cannot write the store\n",
                   vote->vantage, cli_time_text(vote->seen_ms, CLI_TIME_S, when),
                   cli_duration_text((uint64_t)(v->now_ms - vote->seen_ms) / 1000 * 1000, ago));
        }
    }
}

static int status(struct cli *c)
{
    struct cli_table t = {0};
    struct hview v = {0};
    int64_t pool_id = 0; /* every pool */
    int rc = c->nargs > 0 ? cli_parse_ident(c, "POOL", c->args[0]) : 0;
    if (rc || (rc = cli_store_open(c, STORE_READ)))
        goto out;
    if ((rc = store_read_begin(c->st)) ||
        (c->nargs > 0 && (rc = store_pool_find(c->st, c->args[0], &pool_id))) ||
        (rc = hview_load(c->st, pool_id, clock_wall_ms(), &v))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    cli_table_add(&t, "ENDPOINT\tREGION\tSTATE\tSINCE\tRTT\tREASON\tDRILL\tWEIGHT\tENABLED");
    for (size_t i = 0; i < v.neps; i++)
        table_status(&t, &v, &v.eps[i]);
    cli_table_flush(&t);
    for (size_t i = 0; i < v.ndrains; i++)
        print_drain(&v, &v.drains[i]);
    print_silent(&v);
    rc = CLI_EXIT_OK;
out:
    hview_fini(&v);
    cli_table_fini(&t);
    return rc;
}

const struct cli_cmd cmd_status = {
    .name = "status",
    .synopsis = "[POOL]",
    .summary = "show the health of every endpoint, or of one pool's, as answers use it",
    .help = "One line per endpoint, by pool and target, decided as gtm-dnsd decides it:\n"
            "  REGION   where it is\n"
            "  STATE    down when most fresh reports say down, else up; when no vantage\n"
            "           point reported within 3 check intervals, the last reports decide;\n"
            "           unknown when never probed; 'down (drill)' while a drill forces it\n"
            "  SINCE    when that began: the newest change of a deciding report, or the drill\n"
            "  RTT      round trip of the latest probe\n"
            "  REASON   why it is down\n"
            "  DRILL    the drill on it or its region, and until when (UTC)\n"
            "  WEIGHT   its weight, and what is left of it while its region drains\n"
            "  ENABLED  no: never answered\n"
            "Under it, one line per vantage point: what that one reports; 'stale' when it\n"
            "has not reported lately and does not count. Then one line per drained region,\n"
            "and one per vantage point silent for 10 s or more (its gtm-healthd stopped).",
    .min_args = 0,
    .max_args = 1,
    .run = status,
};

/* ---- events --------------------------------------------------------------------- */

static int table_event(void *arg, const struct store_event *ev)
{
    char when[CLI_TIME_MAX];
    cli_table_add(arg, "%s\t%s\t%s\t%s -> %s\t%s", cli_time_text(ev->ts_ms, CLI_TIME_MS, when),
                  ev->target, ev->vantage, ev->old_state, ev->new_state,
                  *ev->reason ? ev->reason : "-");
    return 0;
}

static int fill_events(struct cli *c, struct cli_table *t)
{
    uint32_t since_s = EVENTS_SINCE_S;
    if (cli_opt(c, "since")) /* checked by events(): cannot fail */
        cli_parse_duration(c, "--since", cli_opt(c, "since"), 0, UINT32_MAX, &since_s);
    return store_event_foreach(c->st, clock_wall_ms() - (int64_t)since_s * 1000, table_event, t);
}

static int events(struct cli *c)
{
    uint32_t since_s = 0;
    const char *since = cli_opt(c, "since");
    int rc = since ? cli_parse_duration(c, "--since", since, 0, UINT32_MAX, &since_s) : 0;
    return rc ? rc : cli_table_run(c, "TIME\tTARGET\tVANTAGE\tCHANGE\tREASON", fill_events);
}

static const struct cli_opt events_opts[] = {
    {"since", "DURATION", "how far back (default 1h; 30m, 2d...)", false},
    {NULL},
};

const struct cli_cmd cmd_events = {
    .name = "events",
    .synopsis = "[--since DURATION]",
    .summary = "show the state changes of endpoints, oldest first",
    .help = "One line per change: its time (UTC, to the millisecond), the endpoint\n"
            "(POOL/TARGET), who saw it (a vantage point; 'drill' or 'drain' for those\n"
            "commands), old -> new state, and why.",
    .min_args = 0,
    .max_args = 0,
    .opts = events_opts,
    .run = events,
};
