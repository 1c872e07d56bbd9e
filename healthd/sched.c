/* healthd/sched.c — the per-check schedule, reconciliation with the store's checks,
 * verdicts through the hysteresis, and the schedule-lag figures (see sched.h). Loop
 * thread only: nothing here blocks or touches SQL; results go to the store thread
 * through healthd/writer.h. */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "healthd/internal.h"
#include "healthd/writer.h"

#define NS_PER_MS 1000000ull

/* ---- schedule lag --------------------------------------------------------------------------- */

static unsigned lag_bucket(uint64_t us)
{
    if (us < SCHED_LAG_EXACT)
        return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us); /* >= 7 */
    if (e > 40)
        return SCHED_LAG_BUCKETS - 1;
    unsigned sub = (unsigned)(us >> (e - 6)) & (SCHED_LAG_SUB - 1);
    return SCHED_LAG_EXACT + (e - 7) * SCHED_LAG_SUB + sub;
}

/* The largest lag that falls into bucket b. */
static uint64_t lag_bucket_high(unsigned b)
{
    if (b < SCHED_LAG_EXACT)
        return b;
    unsigned e = (b - SCHED_LAG_EXACT) / SCHED_LAG_SUB + 7;
    uint64_t sub = (b - SCHED_LAG_EXACT) % SCHED_LAG_SUB;
    return ((SCHED_LAG_SUB + sub + 1) << (e - 6)) - 1;
}

static void lag_add(struct sched_lag *l, uint64_t us)
{
    l->buckets[lag_bucket(us)]++;
    l->count++;
    if (us > l->max_us)
        l->max_us = us;
}

uint64_t sched_lag_percentile(const struct sched_lag *l, double q)
{
    uint64_t rank = (uint64_t)(q * (double)l->count + 0.999999), seen = 0, us = l->max_us;
    if (rank == 0)
        rank = 1;
    for (unsigned b = 0; l->count && b < SCHED_LAG_BUCKETS; b++) {
        seen += l->buckets[b];
        if (seen >= rank) {
            us = lag_bucket_high(b);
            break;
        }
    }
    return us < l->max_us ? us : l->max_us;
}

static void lag_log(const struct sched *s, const struct sched_lag *l, const char *span)
{
    log_info("schedule %s: %llu probes started, lag p50 %.2f ms, p99 %.2f ms, max %.2f ms; "
             "%llu ticks skipped (probe still running), %llu missed (loop behind by an "
             "interval); %zu checks",
             span, (unsigned long long)l->count, (double)sched_lag_percentile(l, 0.50) / 1000.0,
             (double)sched_lag_percentile(l, 0.99) / 1000.0, (double)l->max_us / 1000.0,
             (unsigned long long)l->skipped_busy, (unsigned long long)l->skipped_late, s->nchecks);
}

static void on_stats(uv_timer_t *t)
{
    struct sched *s = t->data;
    char span[64];
    snprintf(span, sizeof span, "over the last %u s", s->stats_interval_ms / 1000);
    lag_log(s, &s->window, span);
    memset(&s->window, 0, sizeof s->window);
}

/* ---- one check ------------------------------------------------------------------------------ */

static void check_free(struct check *c)
{
    struct sched *s = c->sched;
    probe_http_check_fini(c);
    probe_cfg_free(c->cfg);
    free(c);
    s->nliving--;
}

static void maybe_free(struct check *c)
{
    if (c->is_stopping && c->nopen == 0 && !c->is_probing)
        check_free(c);
}

void sched__handle_closed(uv_handle_t *h)
{
    struct check *c = h->data;
    assert(c->nopen > 0);
    c->nopen--;
    if (h == &c->sock.handle)
        sched__idle(c); /* the probe's socket: the probe is over */
    else
        maybe_free(c);
}

void sched__idle(struct check *c)
{
    c->is_probing = false;
    maybe_free(c);
}

bool sched__log_allow(struct sched *s, unsigned *suppressed)
{
    return log_rl_allow(&s->rl_probe, uv_now(s->loop), suppressed);
}

static void on_tick(uv_timer_t *t);

/* Arms the tick timer for c->due_ns. libuv's timers count in loop milliseconds (the
 * loop's cached clock, the same monotonic clock as uv_hrtime), so round up: a tick
 * never comes before its scheduled start. */
static void arm(struct check *c)
{
    uint64_t due_ms = (c->due_ns + NS_PER_MS - 1) / NS_PER_MS, now_ms = uv_now(c->sched->loop);
    uv_timer_start(&c->tick, on_tick, due_ms > now_ms ? due_ms - now_ms : 0, 0);
}

/* Starts a probe of c by its kind (the table of the probe kinds). */
static int probe_start(struct check *c)
{
    int rc = 0;
    switch (c->cfg->type) {
    case PROBE_HTTP:
    case PROBE_HTTPS: rc = probe_http_start(c); break;
    case PROBE_TCP: rc = probe_tcp_start(c); break;
    case PROBE_DNS: rc = probe_dns_start(c); break;
    }
    return rc;
}

static void probe_cancel(struct check *c)
{
    switch (c->cfg->type) {
    case PROBE_HTTP:
    case PROBE_HTTPS: probe_http_cancel(c); break;
    case PROBE_TCP: probe_tcp_cancel(c); break;
    case PROBE_DNS: probe_dns_cancel(c); break;
    }
}

static void on_tick(uv_timer_t *t)
{
    struct check *c = t->data;
    struct sched *s = c->sched;
    uint64_t now = uv_hrtime(), due = c->due_ns;
    uint64_t interval_ns = (uint64_t)c->cfg->interval_ms * NS_PER_MS;
    /* No drift: the next start is this one's scheduled start plus the interval, however
     * late this one runs. A loop stalled for longer than an interval skips the starts
     * it missed rather than firing them in a burst. */
    c->due_ns = due + interval_ns;
    while (c->due_ns <= now) {
        c->due_ns += interval_ns;
        s->window.skipped_late++;
        s->total.skipped_late++;
    }
    arm(c);
    if (c->is_probing) {
        /* never overlap ourselves: the last probe (or its socket's close) is still on */
        s->window.skipped_busy++;
        s->total.skipped_busy++;
        log_debug_hot("endpoint %s: previous probe still running; tick skipped", c->cfg->name);
    } else {
        uint64_t lag_us = now > due ? (now - due) / 1000 : 0;
        lag_add(&s->window, lag_us);
        lag_add(&s->total, lag_us);
        c->is_probing = true;
        c->has_verdict = false;
        c->started_ns = now;
        probe_start(c); /* a probe that cannot start gives its failed verdict itself */
    }
}

/* A new running check for cfg (owned from now on), in state hy. */
static struct check *check_new(struct sched *s, struct probe_cfg *cfg, struct hyst hy)
{
    struct check *c = xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->sched = s;
    c->hy = hy;
    uv_timer_init(s->loop, &c->tick);
    uv_timer_init(s->loop, &c->timeout);
    c->tick.data = c->timeout.data = c;
    c->nopen = 2;
    s->nliving++;
    /* Jitter: the first start falls anywhere in the first interval, so that checks
     * created together (at start-up, or a pool added at once) do not probe in bursts.
     * Starts fall on whole milliseconds, the resolution of libuv's timers: a start
     * between two of them would always run up to 1 ms late. */
    uint64_t jitter_ms = arc4random_uniform(cfg->interval_ms);
    c->due_ns = (uv_hrtime() / NS_PER_MS + 1 + jitter_ms) * NS_PER_MS;
    arm(c);
    return c;
}

/* Stops c: no more ticks, the running probe cancelled without a verdict; freed once
 * its handles have closed. */
static void check_stop(struct check *c)
{
    c->is_stopping = true;
    uv_timer_stop(&c->tick);
    if (c->is_probing)
        probe_cancel(c);
    uv_close((uv_handle_t *)&c->tick, sched__handle_closed);
    uv_close((uv_handle_t *)&c->timeout, sched__handle_closed);
}

/* ---- verdicts ------------------------------------------------------------------------------- */

void sched__verdict(struct check *c, bool ok, const char *reason)
{
    struct sched *s = c->sched;
    const struct probe_cfg *cfg = c->cfg;
    assert(!c->has_verdict); /* the probe kinds give one verdict per probe */
    c->has_verdict = true;
    int64_t rtt_us = (int64_t)((uv_hrtime() - c->started_ns) / 1000), now_ms = clock_wall_ms();
    bool is_new_reason = strncmp(c->reason, reason, sizeof c->reason - 1) != 0;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    struct hyst_change ch = {0};
    enum hyst_state before = c->hy.state;
    c->hy = hyst_step(c->hy, ok, cfg->rise, cfg->fall, &ch);
    if (ok)
        writer_sample_add(s->writer, cfg->endpoint_id, rtt_us, now_ms);
    struct writer_transition t = {
        .endpoint_id = cfg->endpoint_id,
        .name = cfg->name,
        .old_state = before,
        .new_state = c->hy.state,
        .reason = reason,
        .ts_ms = now_ms,
        .rtt_us = ok ? rtt_us : -1,
    };
    if (c->hy.state != before) {
        /* STYLE §7: the subject, old -> new, and the cause */
        char why[sizeof c->reason + 64];
        hyst_change_describe(&ch, reason, why, sizeof why);
        if (c->hy.state == HYST_DOWN)
            log_warn("endpoint %s: %s -> down %s", cfg->name, hyst_state_name(before), why);
        else
            log_info("endpoint %s: %s -> up %s", cfg->name, hyst_state_name(before), why);
        writer_transition_add(s->writer, &t);
    } else if (!ok && (c->hy.state != HYST_DOWN || is_new_reason)) {
        /* a failure that counts towards a flip, or an endpoint still down for another
         * cause (gtmctl status then shows the cause of now, not the one of the flip);
         * other failures of an endpoint already down are only debug lines */
        unsigned dropped = 0;
        char more[64] = "";
        bool is_down = c->hy.state == HYST_DOWN;
        if (is_down)
            writer_transition_add(s->writer, &t);
        if (sched__log_allow(s, &dropped)) {
            if (dropped)
                snprintf(more, sizeof more, " (%u lines like it suppressed)", dropped);
            if (is_down)
                log_info("endpoint %s: still down, probe failed (%s)%s", cfg->name, reason, more);
            else
                log_info("endpoint %s: probe failed (%s), %u of %u before down%s", cfg->name,
                         reason, c->hy.failures, cfg->fall ? cfg->fall : 1, more);
        }
    } else {
        log_debug_hot("endpoint %s: probe %s (%s) in %lld us", cfg->name, ok ? "ok" : "failed",
                      reason, (long long)rtt_us);
    }
}

/* ---- the set of checks ---------------------------------------------------------------------- */

int sched_init(struct sched *s, uv_loop_t *loop, struct writer *w, uint32_t stats_interval_s)
{
    int rc;
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->writer = w;
    if ((rc = probe_http_init(&s->http, loop)))
        goto out;
    uv_timer_init(loop, &s->stats_timer);
    s->stats_timer.data = s;
    s->stats_interval_ms = stats_interval_s * 1000u;
    if (s->stats_interval_ms)
        uv_timer_start(&s->stats_timer, on_stats, s->stats_interval_ms, s->stats_interval_ms);
out:
    return rc;
}

size_t sched_checks_count(const struct sched *s)
{
    return s->nchecks;
}

void sched_checks_apply(struct sched *s, struct writer_checks *set)
{
    size_t i = 0, j = 0, n = 0, started = 0, stopped = 0, restarted = 0;
    struct check **next = NULL;
    if (s->is_stopping)
        goto out;
    next = xcalloc(set->n ? set->n : 1, sizeof *next);
    /* both sides are ordered by endpoint id: one merge */
    while (i < s->nchecks || j < set->n) {
        struct check *old = i < s->nchecks ? s->checks[i] : NULL;
        struct probe_cfg *cfg = j < set->n ? set->v[j] : NULL;
        if (old && (!cfg || old->cfg->endpoint_id < cfg->endpoint_id)) {
            log_info("endpoint %s: check removed or endpoint disabled; no longer probed",
                     old->cfg->name);
            check_stop(old);
            stopped++;
            i++;
        } else if (!old || cfg->endpoint_id < old->cfg->endpoint_id) {
            /* new: from this vantage point's last stored state (a restart continues
             * where it was; never probed stays unknown) */
            next[n++] = check_new(s, cfg, (struct hyst){.state = cfg->stored_state});
            log_debug("endpoint %s: %s check every %u ms (timeout %u ms, rise %u, fall %u), "
                      "starting %s",
                      cfg->name, probe_type_name(cfg->type), cfg->interval_ms, cfg->timeout_ms,
                      cfg->rise, cfg->fall, hyst_state_name(cfg->stored_state));
            set->v[j++] = NULL;
            started++;
        } else if (cfg->stored_state == HYST_UNKNOWN && old->hy.state != HYST_UNKNOWN) {
            /* the store no longer has our state (the check was removed and set again,
             * the store replaced): a new check, or the state would stay unwritten */
            log_info("endpoint %s: the store has no state of ours for it any more (check "
                     "removed and set again?); probing it afresh from unknown",
                     cfg->name);
            next[n++] = check_new(s, cfg, (struct hyst){.state = HYST_UNKNOWN});
            check_stop(old);
            set->v[j++] = NULL;
            restarted++;
            i++;
        } else if (probe_cfg_same(old->cfg, cfg)) {
            next[n++] = old;
            i++;
            j++;
        } else {
            /* changed: a new schedule and new runs, the state stays until the new
             * probes say otherwise */
            log_info("endpoint %s: check changed; restarting it (state %s)", cfg->name,
                     hyst_state_name(old->hy.state));
            next[n++] = check_new(s, cfg, (struct hyst){.state = old->hy.state});
            check_stop(old);
            set->v[j++] = NULL;
            restarted++;
            i++;
        }
    }
    free(s->checks);
    s->checks = next;
    s->nchecks = n;
    if (started || stopped || restarted)
        log_info("checks: %zu started, %zu stopped, %zu restarted; %zu running", started, stopped,
                 restarted, n);
out:
    writer_checks_free(set); /* what was not moved into a check */
}

void sched_stop(struct sched *s)
{
    if (s->is_stopping)
        return;
    s->is_stopping = true;
    lag_log(s, &s->total, "since start");
    for (size_t i = 0; i < s->nchecks; i++)
        check_stop(s->checks[i]);
    free(s->checks);
    s->checks = NULL;
    s->nchecks = 0;
    uv_close((uv_handle_t *)&s->stats_timer, NULL);
    probe_http_fini(&s->http); /* after every transfer was removed */
}

void sched_fini(struct sched *s)
{
    assert(s->nliving == 0);
    assert(s->http.npolls == 0);
    free(s->checks);
    s->checks = NULL;
}
