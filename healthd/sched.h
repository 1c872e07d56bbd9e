/* healthd/sched.h — the checks running on gtm-healthd's one loop thread: each on its
 * own schedule (random start within its first interval, then every interval_ms after
 * the previous *scheduled* start, so nothing drifts), never overlapping itself (a tick
 * that finds the last probe still running is skipped and counted). Feeds each verdict
 * through the rise/fall hysteresis and hands state changes and RTT samples to the
 * store thread (healthd/writer.h). Measures the schedule lag (actual start - scheduled
 * start) and logs its summary. Loop thread only; no SQL, no blocking calls.
 * Cost: one uv_timer_t per check, and per probe one socket (TCP, DNS) or one libcurl
 * transfer (HTTP). */
#ifndef GTM_HEALTHD_SCHED_H
#define GTM_HEALTHD_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/log.h"
#include "healthd/probe.h"

struct writer;
struct writer_checks;

/* Schedule lag histogram, in microseconds: exact below 128 us, then 64 buckets per
 * power of two (at most 1.6 % error), up to 2^40 us; enough to tell 0.1 ms from 0.2 ms
 * and a stalled loop from a busy one, in 9 KiB. */
#define SCHED_LAG_EXACT 128
#define SCHED_LAG_SUB 64
#define SCHED_LAG_BUCKETS (SCHED_LAG_EXACT + (40 - 7 + 1) * SCHED_LAG_SUB)

struct sched_lag {
    uint32_t buckets[SCHED_LAG_BUCKETS];
    uint64_t count; /* probes started */
    uint64_t max_us;
    uint64_t skipped_busy; /* ticks skipped: the previous probe was still running */
    uint64_t skipped_late; /* ticks missed: the loop was late by a whole interval */
};

struct sched {
    uv_loop_t *loop;
    struct writer *writer;
    struct check **checks; /* running checks, by endpoint id */
    size_t nchecks;
    unsigned nliving; /* checks not freed yet, stopping ones included */
    struct probe_http http;
    uint8_t dns_buf[PROBE_DNS_REPLY_MAX]; /* every DNS reply is read here, one at a time */
    uv_timer_t stats_timer;
    uint32_t stats_interval_ms;
    struct sched_lag window; /* since the last summary */
    struct sched_lag total;  /* since start */
    struct log_rl rl_probe;  /* failed-probe lines (network errors) */
    bool is_stopping;
};

/* Sets up s on loop (libcurl's multi handle, the stats timer); checks come with
 * sched_checks_apply(). stats_interval_s 0: the lag summary is logged only by sched_stop().
 * 0 or a negative code. */
int sched_init(struct sched *s, uv_loop_t *loop, struct writer *w, uint32_t stats_interval_s);
/* Reconciles the running checks with set (the store's current checks): new ones start
 * (their state from the store), removed ones stop, changed ones restart keeping their
 * state. Takes ownership of set (and frees it). */
void sched_checks_apply(struct sched *s, struct writer_checks *set);
/* Number of running checks. */
size_t sched_checks_count(const struct sched *s);
/* Logs the lag summary since start and stops everything: cancels running probes
 * (libcurl transfers included) and closes every handle. The loop then runs until it
 * is empty; call sched_fini() after. Pending verdicts are dropped. */
void sched_stop(struct sched *s);
/* Frees what is left once the loop ran dry after sched_stop(). */
void sched_fini(struct sched *s);

/* Percentile q (0..1) of lag histogram l, in microseconds (the upper bound of its
 * bucket, so never optimistic); 0 when empty. */
uint64_t sched_lag_percentile(const struct sched_lag *l, double q);

#endif
