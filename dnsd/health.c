/* dnsd/health.c — quorum, flapping, drains and drills (see health.h). Pure. */
#include "config.h"

#include "dnsd/health.h"

bool health_vote_fresh(const struct health_vote *vote, uint32_t interval_ms, int64_t now_ms)
{
    int64_t interval = interval_ms ? interval_ms : HEALTH_DEFAULT_INTERVAL_MS;
    return now_ms - vote->vantage_seen_ms <= HEALTH_FRESH_INTERVALS * interval;
}

int64_t health_decided_at(const struct health_vote *votes, size_t n, uint32_t interval_ms,
                          int64_t now_ms)
{
    int64_t newest = n ? votes[0].vantage_seen_ms : now_ms;
    for (size_t i = 0; i < n; i++) {
        if (health_vote_fresh(&votes[i], interval_ms, now_ms))
            return now_ms;
        if (votes[i].vantage_seen_ms > newest)
            newest = votes[i].vantage_seen_ms;
    }
    return newest;
}

enum pol_state health_quorum(const struct health_vote *votes, size_t n, uint32_t interval_ms,
                             int64_t now_ms)
{
    size_t fresh = 0, down = 0;
    int64_t at = health_decided_at(votes, n, interval_ms, now_ms);
    for (size_t i = 0; i < n; i++) {
        if (health_vote_fresh(&votes[i], interval_ms, at)) {
            fresh++;
            down += !votes[i].up;
        }
    }
    if (fresh == 0)
        return POL_STATE_UNKNOWN;
    return down * 2 > fresh ? POL_STATE_DOWN : POL_STATE_UP;
}

uint32_t health_drain_permille(int64_t started_ms, int64_t until_ms, int64_t now_ms)
{
    if (now_ms < started_ms)
        return 1000;
    if (now_ms >= until_ms)
        return 0;
    int64_t step = (now_ms - started_ms) * HEALTH_DRAIN_STEPS / (until_ms - started_ms) + 1;
    return (uint32_t)(1000 - step * 1000 / HEALTH_DRAIN_STEPS);
}

bool health_drill_active(int64_t started_ms, int64_t until_ms, int64_t now_ms)
{
    return now_ms >= started_ms && (until_ms == 0 || now_ms < until_ms);
}

uint32_t health_ttl_degraded(uint32_t ttl_s, uint32_t ttl_degraded_s)
{
    if (ttl_degraded_s)
        return ttl_degraded_s < ttl_s ? ttl_degraded_s : ttl_s;
    uint32_t half = ttl_s / 2;
    if (half < HEALTH_TTL_DEGRADED_MIN_S)
        half = HEALTH_TTL_DEGRADED_MIN_S;
    return half < ttl_s ? half : ttl_s;
}
