/* dnsd/snap_health.c — applying health to a served snapshot in place: the quorum of
 * fresh vantage reports (dnsd/health.c), drills and drains become the endpoint state
 * bytes and region drain factors that decisions read. The loader reads the store when
 * it changed and applies at every poll, since time alone changes the result (reports
 * age out, drills expire, drains step down). Loader thread (or gtmctl); O(endpoints +
 * reports); the stores are relaxed atomics, so workers never wait. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "db/store.h"
#include "dnsd/snap.h"

#define GROW(arr, n) ((arr) = xreallocarray((arr), (n) + 1, sizeof *(arr)))

/* How far back recorded flips are read: the longest flap window (5 intervals of at
 * most a day) is far shorter; an hour keeps the read small and covers 12-minute checks. */
#define HEALTH_FLIPS_LOOKBACK_MS (3600 * 1000)

/* ---- reading ------------------------------------------------------------------------ */

static int on_health(void *arg, const struct store_health *row)
{
    struct snap_health *h = arg;
    GROW(h->votes, h->nvotes);
    h->votes[h->nvotes++] = (struct snap_health_vote){
        .endpoint_id = row->endpoint_id,
        .interval_ms = row->interval_ms,
        .vote = {strcmp(row->state, "up") == 0, row->since_ms, row->vantage_seen_ms},
    };
    return 0;
}

static int on_drill(void *arg, const struct store_drill *d)
{
    struct snap_health *h = arg;
    GROW(h->drills, h->ndrills);
    h->drills[h->ndrills++] =
        (struct snap_health_drill){d->region_id, d->endpoint_id, d->started_ms, d->until_ms};
    return 0;
}

static int on_drain(void *arg, const struct store_drain *d)
{
    struct snap_health *h = arg;
    GROW(h->drains, h->ndrains);
    h->drains[h->ndrains++] = (struct snap_health_drain){d->region_id, d->started_ms, d->until_ms};
    return 0;
}

static int on_flip(void *arg, int64_t endpoint_id, int64_t ts_ms)
{
    struct snap_health *h = arg;
    GROW(h->flips, h->nflips);
    h->flips[h->nflips++] = (struct snap_health_flip){endpoint_id, ts_ms};
    return 0;
}

void snap_health_fini(struct snap_health *h)
{
    free(h->votes);
    free(h->drills);
    free(h->drains);
    free(h->flips);
    memset(h, 0, sizeof *h);
}

int snap_health_load(struct store *st, struct snap_health *h, int64_t *generation)
{
    struct snap_health fresh = {0};
    /* flips older than any flap window are no use: a day covers every interval */
    const struct store_health_fns fns = {on_health, on_drill, on_drain, on_flip,
                                         clock_wall_ms() - HEALTH_FLIPS_LOOKBACK_MS};
    int rc = store_health_read(st, &fns, &fresh, generation);
    if (rc) {
        snap_health_fini(&fresh);
        return rc;
    }
    snap_health_fini(h);
    *h = fresh;
    return 0;
}

/* ---- applying ----------------------------------------------------------------------- */

static const char *state_name(uint8_t st)
{
    switch (st & POL_STATE_MASK) {
    case POL_STATE_UP: return "up";
    case POL_STATE_DOWN: return (st & POL_STATE_DRILL) ? "down (drill)" : "down";
    default: return "unknown";
    }
}

static bool drilled(const struct snap_health *h, int64_t endpoint_id, int64_t region_id,
                    int64_t now_ms)
{
    for (size_t i = 0; i < h->ndrills; i++) {
        const struct snap_health_drill *d = &h->drills[i];
        if ((d->endpoint_id == endpoint_id || (d->region_id && d->region_id == region_id)) &&
            health_drill_active(d->started_ms, d->until_ms, now_ms))
            return true;
    }
    return false;
}

/* Did the endpoint flip between up and down (not from or to unknown)? */
static bool flipped(uint8_t old, uint8_t st)
{
    uint8_t a = old & POL_STATE_MASK, b = st & POL_STATE_MASK;
    return a != POL_STATE_UNKNOWN && b != POL_STATE_UNKNOWN && a != b;
}

void snap_health_carry(struct snap *to, const struct snap *from)
{
    for (size_t i = 0, j = 0; i < to->neps && j < from->neps;) {
        uint32_t a = to->ep_by_id[i], b = from->ep_by_id[j];
        if (to->ep_ids[a] < from->ep_ids[b]) {
            i++;
        } else if (to->ep_ids[a] > from->ep_ids[b]) {
            j++;
        } else {
            atomic_store_explicit(&to->states[a],
                                  atomic_load_explicit(&from->states[b], memory_order_relaxed),
                                  memory_order_relaxed);
            to->flipped_ms[a] = from->flipped_ms[b];
            i++;
            j++;
        }
    }
}

void snap_health_apply(struct snap *s, const struct snap_health *h, int64_t now_ms, bool log)
{
    struct change {
        uint32_t ep;
        uint8_t old, st;
        size_t reports;
    } *changes = NULL;
    uint32_t *drained = NULL;
    size_t nchanges = 0, ndrained = 0;
    /* votes, recorded flips and endpoints all by store id: one merge */
    size_t v = 0, f = 0;
    for (size_t k = 0; k < s->neps; k++) {
        uint32_t i = s->ep_by_id[k];
        int64_t id = s->ep_ids[i];
        const struct pol_endpoint *e = &s->eps[i];
        while (v < h->nvotes && h->votes[v].endpoint_id < id)
            v++;
        size_t first = v;
        while (v < h->nvotes && h->votes[v].endpoint_id == id)
            v++;
        struct health_vote votes[16];
        size_t n = 0;
        for (size_t j = first; j < v && n < sizeof votes / sizeof votes[0]; j++)
            votes[n++] = h->votes[j].vote;
        uint32_t interval = first < v ? h->votes[first].interval_ms : 0;
        uint8_t st = (uint8_t)health_quorum(votes, n, interval, now_ms);
        if (drilled(h, id, s->region_ids[e->region], now_ms))
            st = POL_STATE_DOWN | POL_STATE_DRILL;
        uint8_t old = atomic_load_explicit(&s->states[i], memory_order_relaxed);
        if (flipped(old, st))
            s->flipped_ms[i] = now_ms;
        /* a flip before this process saw it (a restarted gtm-dnsd) */
        while (f < h->nflips && h->flips[f].endpoint_id < id)
            f++;
        if (f < h->nflips && h->flips[f].endpoint_id == id && h->flips[f].ts_ms > s->flipped_ms[i])
            s->flipped_ms[i] = h->flips[f].ts_ms;
        int64_t window =
            (int64_t)HEALTH_FLAP_INTERVALS * (interval ? interval : HEALTH_DEFAULT_INTERVAL_MS);
        if (s->flipped_ms[i] && now_ms - s->flipped_ms[i] < window)
            st |= POL_STATE_FLAPPING;
        if (old == st)
            continue;
        atomic_store_explicit(&s->states[i], st, memory_order_relaxed);
        if (log && (old & ~POL_STATE_FLAPPING) != (st & ~POL_STATE_FLAPPING)) {
            GROW(changes, nchanges);
            changes[nchanges++] = (struct change){i, old, st, n};
        }
    }
    for (size_t r = 0; r < s->nregions; r++) {
        uint32_t factor = 1000;
        for (size_t i = 0; i < h->ndrains; i++)
            if (h->drains[i].region_id == s->region_ids[r])
                factor =
                    health_drain_permille(h->drains[i].started_ms, h->drains[i].until_ms, now_ms);
        uint16_t old = atomic_load_explicit(&s->drain[r], memory_order_relaxed);
        if (old == factor)
            continue;
        atomic_store_explicit(&s->drain[r], (uint16_t)factor, memory_order_relaxed);
        if (log) {
            GROW(drained, ndrained);
            drained[ndrained++] = (uint32_t)r;
        }
    }
    /* logged once every state is written: a drill of a region takes its endpoints out
     * together, not one log line apart */
    for (size_t k = 0; k < nchanges; k++) {
        const struct change *c = &changes[k];
        const struct pol_endpoint *e = &s->eps[c->ep];
        const char *pool = "?";
        for (size_t p = 0; p < s->npools; p++)
            if (e >= s->pools[p].eps && e < s->pools[p].eps + s->pools[p].neps)
                pool = s->pools[p].name;
        log_info("endpoint %s/%s (%s): %s -> %s (%zu report%s)", pool, e->target,
                 s->regions[e->region].name, state_name(c->old), state_name(c->st), c->reports,
                 c->reports == 1 ? "" : "s");
    }
    for (size_t k = 0; k < ndrained; k++)
        log_info("region %s: weights at %u%% (drain)", s->regions[drained[k]].name,
                 atomic_load_explicit(&s->drain[drained[k]], memory_order_relaxed) / 10u);
    free(changes);
    free(drained);
}
