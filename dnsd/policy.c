/* dnsd/policy.c — the decision pipeline shared by every mode (see policy.h). Worker
 * threads per query (and gtmctl explain): no allocation, no locks; reads endpoint
 * states with relaxed atomic loads. */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "dnsd/health.h"
#include "dnsd/policy.h"
#include "dnsd/snap.h"

static const struct pol_mode_ops *const modes[POL_MODES] = {
    [POL_GEO] = &pol_geo_ops,
    [POL_LATENCY] = &pol_latency_ops,
    [POL_PROXIMITY] = &pol_proximity_ops,
    [POL_WEIGHTED] = &pol_weighted_ops,
    [POL_FAILOVER] = &pol_failover_ops,
    [POL_ALL] = &pol_all_ops,
};

int pol_mode_parse(const char *text, enum pol_mode *out)
{
    for (int m = 0; m < POL_MODES; m++) {
        if (strcasecmp(text, modes[m]->name) == 0) {
            *out = (enum pol_mode)m;
            return 0;
        }
    }
    return GTM_EPARSE;
}

const char *pol_mode_name(enum pol_mode mode)
{
    return modes[mode]->name;
}

void pol__trace_line(const struct pol_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->tr->line(r->tr->arg, fmt, ap);
    va_end(ap);
}

/* ---- health -------------------------------------------------------------------------- */

static uint8_t state_of(const struct pol_run *r, const struct pol_endpoint *e)
{
    return atomic_load_explicit(&r->s->states[e->state], memory_order_relaxed);
}

static bool is_up(const struct pol_run *r, const struct pol_endpoint *e)
{
    if (!r->use_health)
        return true;
    switch (state_of(r, e) & POL_STATE_MASK) {
    case POL_STATE_UP: return true;
    case POL_STATE_DOWN: return false;
    default: return r->p->unknown_up; /* never probed: the policy's --unknown */
    }
}

/* The weight answers use: the endpoint's, lowered while its region drains. */
static uint32_t weight_of(const struct pol_run *r, const struct pol_endpoint *e)
{
    uint32_t factor = atomic_load_explicit(&r->s->drain[e->region], memory_order_relaxed);
    return factor == 1000 ? e->weight : (uint32_t)((uint64_t)e->weight * factor / 1000);
}

static const char *family_name(int family)
{
    return family == 4 ? "IPv4" : "IPv6";
}

/* Steps 1-2: the pool's endpoints that can answer this family and are up. Returns
 * whether the pool has any enabled endpoint of the family at all. */
static bool candidates(struct pol_run *r)
{
    bool any = false;
    r->n = 0;
    for (uint32_t i = 0; i < r->pool->neps && r->n < POL_MAX_CANDIDATES; i++) {
        const struct pol_endpoint *e = &r->pool->eps[i];
#define region (r->s->regions[e->region].name) /* for the trace lines only */
        if (e->kind != r->family && e->kind != POL_EP_NAME)
            continue;
        if (!e->enabled) {
            pol__trace(r, "  drop %s (%s): disabled", e->target, region);
            continue;
        }
        any = true;
        uint8_t st = state_of(r, e);
        r->degraded |= (st & POL_STATE_MASK) == POL_STATE_DOWN || (st & POL_STATE_FLAPPING);
        uint32_t w = weight_of(r, e);
        if (w == 0) {
            pol__trace(r, "  drop %s (%s): weight 0 (%s)", e->target, region,
                       e->weight ? "region drained" : "drained");
            continue;
        }
        if (!is_up(r, e)) {
            pol__trace(r, "  drop %s (%s): %s", e->target, region,
                       st & POL_STATE_DRILL                      ? "down (drill)"
                       : (st & POL_STATE_MASK) == POL_STATE_DOWN ? "unhealthy"
                                                                 : "never probed (--unknown down)");
            continue;
        }
        pol__trace(r, "  keep %s (%s, weight %u%s, priority %u)", e->target, region, w,
                   w != e->weight ? " while draining" : "", e->priority);
        r->sc->weight[r->n] = w;
        r->sc->cand[r->n++] = e;
#undef region
    }
    return any;
}

/* ---- regions ------------------------------------------------------------------------- */

/* Is region up in the pool: at least region_up_pct of its enabled endpoints (any
 * family) healthy? Also counts them for the trace. */
static bool region_up(const struct pol_run *r, uint16_t region, uint32_t *healthy, uint32_t *total)
{
    *healthy = *total = 0;
    for (uint32_t i = r->pool->region_first[region]; i < r->pool->region_first[region + 1]; i++) {
        const struct pol_endpoint *e = &r->pool->eps[i];
        if (!e->enabled)
            continue;
        (*total)++;
        *healthy += is_up(r, e);
    }
    return *total > 0 && *healthy * 100u >= (uint32_t)r->p->region_up_pct * *total;
}

/* Keeps the candidates in region; returns how many. */
static uint32_t keep_region(struct pol_run *r, uint16_t region)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        if (r->sc->cand[i]->region == region) {
            r->sc->weight[k] = r->sc->weight[i];
            r->sc->cand[k++] = r->sc->cand[i];
        }
    }
    return k;
}

enum region_verdict { REGION_CHOSEN, REGION_DOWN, REGION_NO_FAMILY, REGION_EMPTY };

static enum region_verdict try_region(struct pol_run *r, uint16_t region)
{
    uint32_t healthy, total, found = 0;
    const char *name = r->s->regions[region].name;
    if (!region_up(r, region, &healthy, &total)) {
        if (!total)
            return REGION_EMPTY; /* the pool has nothing there */
        pol__trace(r, "  region %s: down (%u of %u endpoints healthy, needs %u%%)", name, healthy,
                   total, r->p->region_up_pct);
        return REGION_DOWN;
    }
    for (uint32_t i = 0; i < r->n; i++)
        found += r->sc->cand[i]->region == region;
    if (!found) {
        /* dual stack: a region with no endpoint of the family is skipped, not answered
         * empty; one whose endpoints of the family are all drained or down is down */
        bool has_family = false;
        for (uint32_t i = r->pool->region_first[region]; i < r->pool->region_first[region + 1];
             i++) {
            const struct pol_endpoint *e = &r->pool->eps[i];
            has_family |= e->enabled && (e->kind == r->family || e->kind == POL_EP_NAME);
        }
        pol__trace(r, "  region %s: %s", name,
                   has_family ? "no endpoint able to answer (drained or down)"
                              : "no endpoint of this family: skipped");
        return has_family ? REGION_DOWN : REGION_NO_FAMILY;
    }
    r->n = keep_region(r, region);
    if (r->use_health)
        pol__trace(r, "  region %s: chosen (%u of %u endpoints healthy)", name, healthy, total);
    else
        pol__trace(r, "  region %s: chosen (%u endpoints, counted as up)", name, total);
    return REGION_CHOSEN;
}

/* What the regions tried for a client said. */
struct region_tally {
    bool any_endpoints; /* one had endpoints in the pool */
    bool down;          /* one was down (not merely without the family) */
};

static bool listed(const struct geo_rlist *lists, size_t nlists, uint16_t region)
{
    for (size_t l = 0; l < nlists; l++)
        for (uint16_t i = 0; i < lists[l].n; i++)
            if (lists[l].regions[i] == region)
                return true;
    return false;
}

/* Tries the regions of list in order (NULL: every region of the pool, by name), but
 * those of the lists tried before; returns whether one was chosen. */
static bool try_regions(struct pol_run *r, const uint16_t *list, size_t n,
                        const struct geo_rlist *tried, size_t ntried, struct region_tally *t)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t region = list ? list[i] : (uint16_t)i;
        if (listed(tried, ntried, region))
            continue;
        enum region_verdict v = try_region(r, region);
        if (v == REGION_CHOSEN)
            return true;
        t->down |= v == REGION_DOWN;
        t->any_endpoints |= v != REGION_EMPTY;
    }
    return false;
}

static void trace_list(struct pol_run *r, const char *what, struct geo_rlist rl, const char *tail)
{
    char list[512] = "";
    for (uint16_t i = 0; i < rl.n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 r->s->regions[rl.regions[i]].name);
    pol__trace(r, "  %s: %s%s", what, list, tail);
}

/* The client's list of regions, in order. When none of them can answer, nothing is
 * healthy for this client (the policy's fallback decides: the list is where its
 * clients may go), or, when they lack only the query's family, there is no answer
 * (r->family_only: a dual-stack client then uses the other family from the right
 * region). When the pool has no endpoint in any of them, the client is treated as
 * unmapped: the regions of the geo map's '*' entry (mode geo), then every region of
 * the pool by name. */
void pol__select_region(struct pol_run *r, enum geo_mode mode)
{
    const struct geo_classifier *c = r->s->geo ? r->s->geo->classifier : NULL;
    uint32_t id = GEO_RLIST_NONE;
    int depth = 0;
    struct region_tally t = {false, false};
    struct geo_rlist tried[2];
    size_t ntried = 0;
    if (c)
        id = geo_classify(c, mode, r->client->family, r->client->addr, &depth);
    r->scope = (uint8_t)depth;
    if (id != GEO_RLIST_NONE) {
        struct geo_rlist rl = geo_classifier_rlist(c, id);
        if (r->tr) {
            char tail[48];
            snprintf(tail, sizeof tail, " (same for the whole /%d)", depth);
            trace_list(r, "preference for this client", rl, tail);
        }
        if (try_regions(r, rl.regions, rl.n, NULL, 0, &t))
            return;
        if (t.any_endpoints) {
            r->family_only = !t.down;
            r->n = 0;
            return;
        }
        tried[ntried++] = rl;
        struct geo_rlist star = r->s->geo_star;
        bool same =
            star.n == rl.n && memcmp(star.regions, rl.regions, star.n * sizeof *star.regions) == 0;
        if (mode == GEO_MODE_GEO && star.n && !same) {
            if (r->tr)
                trace_list(r,
                           "the pool has no endpoint in any of these regions: as if "
                           "unmapped, the geo map's '*' entry",
                           star, "");
            if (try_regions(r, star.regions, star.n, tried, ntried, &t))
                return;
            tried[ntried++] = star;
        }
        pol__trace(r, "  the pool has no endpoint in any of these regions: every other "
                      "region of the pool, by name");
    } else {
        pol__trace(r, "  no mapping for this client: every region of the pool, by name");
    }
    if (try_regions(r, NULL, r->s->nregions, tried, ntried, &t))
        return;
    r->family_only = t.any_endpoints && !t.down;
    r->n = 0;
}

/* ---- spreading ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64* (Vigna): fast, and plenty for spreading load */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t client_key(const struct geo_client *c)
{
    uint64_t h = (uint64_t)c->family << 56 | (uint64_t)c->bits << 48;
    for (int i = 0; i < 16; i++)
        h = mix64(h ^ c->addr[i]);
    return h;
}

static void swap(struct pol_scratch *sc, uint32_t a, uint32_t b)
{
    const struct pol_endpoint *e = sc->cand[a];
    uint32_t w = sc->weight[a];
    double d = sc->score[a];
    sc->cand[a] = sc->cand[b];
    sc->weight[a] = sc->weight[b];
    sc->score[a] = sc->score[b];
    sc->cand[b] = e;
    sc->weight[b] = w;
    sc->score[b] = d;
}

/* Weighted random choice of want candidates, without replacement. */
static void spread_random(struct pol_run *r, uint32_t want)
{
    struct pol_scratch *sc = r->sc;
    for (uint32_t k = 0; k < want; k++) {
        uint64_t total = 0;
        for (uint32_t i = k; i < r->n; i++)
            total += sc->weight[i];
        uint64_t x = rng_next(&sc->rng) % total;
        uint32_t j = k;
        while (x >= sc->weight[j])
            x -= sc->weight[j++];
        swap(sc, k, j);
    }
}

/* Weighted rendezvous hashing of the client's subnet: each client keeps its endpoint,
 * and changing one weight moves only that endpoint's share of clients. */
static void spread_sticky(struct pol_run *r, uint32_t want)
{
    struct pol_scratch *sc = r->sc;
    uint64_t ck = client_key(r->client);
    for (uint32_t i = 0; i < r->n; i++) {
        uint64_t h = mix64(ck ^ sc->cand[i]->key);
        double u = ((double)(h >> 11) + 0.5) * 0x1.0p-53; /* in (0, 1) */
        sc->score[i] = (double)sc->weight[i] / -log(u);
    }
    for (uint32_t k = 0; k < want; k++) {
        uint32_t best = k;
        for (uint32_t i = k + 1; i < r->n; i++)
            if (sc->score[i] > sc->score[best])
                best = i;
        swap(sc, k, best);
    }
    r->scope = r->client->bits; /* the answer depends on every bit of the subnet */
}

/* ---- the pipeline ---------------------------------------------------------------------- */

/* When the first candidate is an address, the answer is addresses, and a host name (a
 * CNAME, which stands alone) cannot be among them: they are dropped, so that they do not
 * take the places of addresses that --answers allows. */
static void drop_names(struct pol_run *r)
{
    struct pol_scratch *sc = r->sc;
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        if (sc->cand[i]->kind == POL_EP_NAME)
            continue;
        sc->cand[k] = sc->cand[i];
        sc->weight[k] = sc->weight[i];
        sc->score[k++] = sc->score[i];
    }
    if (k < r->n)
        pol__trace(r, "  host names left out: an answer of addresses holds no CNAME");
    r->n = k;
}

/* Steps 1-4 on one pool. Returns whether the pool has endpoints of the family. */
static bool run(struct pol_run *r)
{
    const struct pol_mode_ops *ops = modes[r->p->mode];
    pol__trace(r, "pool %s%s:", r->pool->name, r->use_health ? "" : " (every endpoint counted up)");
    if (!candidates(r))
        return false;
    r->scope = 0;
    r->family_only = false;
    if (r->n)
        ops->select(r);
    uint32_t want = r->n < r->p->answers ? r->n : r->p->answers;
    if (ops->weighted && want) {
        if (r->p->sticky)
            spread_sticky(r, want);
        else
            spread_random(r, want);
    }
    if (r->n && r->sc->cand[0]->kind != POL_EP_NAME)
        drop_names(r);
    r->n = r->n < r->p->answers ? r->n : r->p->answers;
    return true;
}

static void answer_from(const struct pol_run *r, struct pol_decision *out)
{
    const struct pol_scratch *sc = r->sc;
    out->n = 0;
    out->answer = POL_ANSWER_ADDRS;
    if (r->n && sc->cand[0]->kind == POL_EP_NAME) {
        out->answer = POL_ANSWER_CNAME; /* a CNAME stands alone */
        out->eps[out->n++] = sc->cand[0];
        return;
    }
    for (uint32_t i = 0; i < r->n && out->n < POL_MAX_ANSWERS; i++)
        out->eps[out->n++] = sc->cand[i]; /* addresses only: run() dropped host names */
    if (out->n == 0)
        out->answer = POL_ANSWER_NODATA;
}

void pol_decide(const struct snap *s, const struct pol_policy *p, int family,
                const struct geo_client *client, struct pol_scratch *sc, const struct pol_trace *tr,
                struct pol_decision *out)
{
    struct pol_run r = {.s = s,
                        .p = p,
                        .pool = p->pool,
                        .client = client,
                        .family = family,
                        .use_health = true,
                        .sc = sc,
                        .tr = tr};
    out->ttl_s = p->ttl_s;
    out->scope = 0;
    bool has_family = run(&r);
    if (has_family && r.n == 0 && r.family_only) {
        pol__trace(&r,
                   "no region of the list has %s endpoints: no answer (NODATA), so "
                   "dual-stack clients use the other family from the right region",
                   family_name(family));
    } else if (has_family && r.n == 0) {
        if (p->mode == POL_GEO)
            pol__trace(&r, "(the regions of the client's geo map entry are where it may go: "
                           "list more there to fail over to them)");
        switch (p->fallback) {
        case POL_FALLBACK_FAIL_OPEN:
            pol__trace(&r, "nothing healthy%s: fail-open, as if every endpoint were up",
                       p->mode == POL_GEO ? " in those regions" : "");
            r.use_health = false;
            run(&r);
            break;
        case POL_FALLBACK_POOL:
            pol__trace(&r, "nothing healthy: fallback pool %s", p->fallback_pool->name);
            r.pool = p->fallback_pool;
            if (run(&r) && r.n == 0) {
                pol__trace(&r, "nothing healthy in the fallback pool either: fail-open there");
                r.use_health = false;
                run(&r);
            }
            break;
        case POL_FALLBACK_NONE:
            pol__trace(&r, "nothing healthy: fallback none, no answer (NODATA)");
            break;
        }
    } else if (!has_family) {
        pol__trace(&r, "no enabled %s endpoint in the pool: no answer (NODATA)",
                   family_name(family));
    }
    answer_from(&r, out);
    if (r.degraded) {
        out->ttl_s = health_ttl_degraded(p->ttl_s, p->ttl_degraded_s);
        if (out->ttl_s != p->ttl_s)
            pol__trace(&r, "an endpoint of the pool is down or flapping: TTL %u instead of %u",
                       out->ttl_s, p->ttl_s);
    }
    /* the scope: how much of the address the answer holds for, at most what gtm uses of
     * one (/24, /56). Longer than the source prefix when the bits sent did not decide
     * (the answer is that of the lowest block of the subnet): RFC 7871 §7.2.1, the
     * resolver should send that many, and caches the answer for its source prefix only */
    if (client->from_ecs) {
        uint8_t cap = client->family == 4 ? GEO_V4_BITS_MAX : GEO_V6_BITS_MAX;
        /* §7.1.2: a source of 0 asks that no address be used: scope 0 */
        out->scope = client->source_prefix == 0 ? 0 : r.scope < cap ? r.scope : cap;
    }
}
