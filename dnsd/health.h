/* dnsd/health.h — from what the vantage points report to what answers use: the quorum
 * over fresh reports, flapping, drills and drains. Pure functions shared by gtm-dnsd
 * (which applies the result in place to the served snapshot) and gtmctl status (which
 * shows it), so both say the same. Any thread; no allocation. */
#ifndef GTM_DNSD_HEALTH_H
#define GTM_DNSD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsd/policy.h"

/* A report counts while its vantage point reported within this many check intervals;
 * a gtm-healthd that stops (killed, cut off) ages out of the quorum after it, as long
 * as another vantage point still reports. */
#define HEALTH_FRESH_INTERVALS 3
/* The interval assumed for an endpoint without a check (the check default). */
#define HEALTH_DEFAULT_INTERVAL_MS 10000
/* An endpoint that flipped between up and down less than this many intervals ago is
 * flapping: its answers keep the degraded TTL so caches follow it quickly. (Its first
 * verdict, from unknown, is no flip.) */
#define HEALTH_FLAP_INTERVALS 5
/* A drain lowers weights in this many equal steps, reaching zero at its end. */
#define HEALTH_DRAIN_STEPS 10
/* Degraded TTL when the policy gives none: half the TTL, never below this. */
#define HEALTH_TTL_DEGRADED_MIN_S 5

/* One vantage point's report on an endpoint. */
struct health_vote {
    bool up;
    int64_t since_ms;        /* when that vantage point saw it change */
    int64_t vantage_seen_ms; /* when that vantage point last reported at all */
};

/* Does a report count in the quorum: did its vantage point report within
 * HEALTH_FRESH_INTERVALS check intervals of now_ms? */
bool health_vote_fresh(const struct health_vote *vote, uint32_t interval_ms, int64_t now_ms);

/* When the reports that decide are judged fresh: now_ms if one is fresh now, else when
 * the newest report came. When no report is fresh (every vantage point stopped: a
 * restarting gtm-healthd), the last reports decide rather than guesses: those that were
 * fresh then (vantage points that had stopped long before do not come back). */
int64_t health_decided_at(const struct health_vote *votes, size_t n, uint32_t interval_ms,
                          int64_t now_ms);

/* The state answers use: DOWN when a majority of the reports that decide say down, UP
 * otherwise; UNKNOWN without any report. */
enum pol_state health_quorum(const struct health_vote *votes, size_t n, uint32_t interval_ms,
                             int64_t now_ms);

/* A drain's weight multiplier at now_ms, in thousandths: 1000 before it starts, falling
 * in HEALTH_DRAIN_STEPS steps to 0 at until_ms. */
uint32_t health_drain_permille(int64_t started_ms, int64_t until_ms, int64_t now_ms);

/* A drill applies at now_ms (until_ms 0: until restored). */
bool health_drill_active(int64_t started_ms, int64_t until_ms, int64_t now_ms);

/* The TTL of a policy's answers while degraded (ttl_degraded_s 0: the default). */
uint32_t health_ttl_degraded(uint32_t ttl_s, uint32_t ttl_degraded_s);

#endif
