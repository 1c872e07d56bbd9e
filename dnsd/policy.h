/* dnsd/policy.h — traffic decisions for managed names: the pipeline every policy runs
 * (candidates of the pool -> drop disabled, drained and unhealthy -> the mode picks ->
 * spread by weight -> the first N), the fallback when nothing is healthy, and the table
 * of modes (dnsd/pol_*.c, one file each). Decisions read only the snapshot: per query
 * a trie walk for region modes and a pass over the pool's endpoints; no allocation, no
 * locks. gtm-dnsd and gtmctl explain link this same code, so they cannot disagree;
 * explain passes a trace that records each step, the server passes NULL. */
#ifndef GTM_DNSD_POLICY_H
#define GTM_DNSD_POLICY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/geo.h"

struct snap;

enum pol_mode {
    POL_GEO,
    POL_LATENCY,
    POL_PROXIMITY,
    POL_WEIGHTED,
    POL_FAILOVER,
    POL_ALL,
    POL_MODES
};
enum pol_fallback { POL_FALLBACK_FAIL_OPEN, POL_FALLBACK_POOL, POL_FALLBACK_NONE };
enum pol_ep_kind { POL_EP_NAME = 0, POL_EP_V4 = 4, POL_EP_V6 = 6 };

/* Endpoint health as the store reports it (gtm-healthd writes it), in the low bits of
 * a state byte; the flags above them say why or how. */
enum pol_state { POL_STATE_UNKNOWN = 0, POL_STATE_UP = 1, POL_STATE_DOWN = 2 };
#define POL_STATE_MASK 0x03
#define POL_STATE_FLAPPING 0x04 /* changed recently: answers keep the degraded TTL */
#define POL_STATE_DRILL 0x08    /* forced down by a drill */

/* Most endpoints a pool answers from; a larger pool is cut (and the log says so). */
#define POL_MAX_CANDIDATES 1024
/* Most records in one managed answer (--answers). */
#define POL_MAX_ANSWERS 64

struct pol_region {
    const char *name;
    bool has_coords;
    double lat, lon;
};

struct pol_endpoint {
    uint8_t kind; /* enum pol_ep_kind */
    bool enabled;
    uint16_t region; /* index into the snapshot's regions */
    uint32_t weight; /* 0: drained, never answered */
    uint32_t priority;
    uint32_t state;      /* index into the snapshot's endpoint states */
    uint64_t key;        /* hash of pool and target: the sticky hash's endpoint half */
    const uint8_t *addr; /* 4 or 16 bytes, or the host name in wire form */
    uint8_t addr_len;
    const char *target; /* as operators write it */
};

struct pol_pool {
    const char *name;
    const struct pol_endpoint *eps; /* sorted by region, then priority, then target */
    uint32_t neps;
    /* eps[region_first[g] .. region_first[g + 1]) are the endpoints in region g (one
     * entry per snapshot region, plus one) */
    const uint32_t *region_first;
};

struct pol_policy {
    const char *name; /* the managed name, as text */
    enum pol_mode mode;
    uint32_t ttl_s;
    uint16_t answers; /* >= 1 */
    bool sticky;
    bool unknown_up; /* an endpoint never probed counts as up */
    uint8_t region_up_pct;
    uint32_t ttl_degraded_s; /* while an endpoint of the pool is down or flapping */
    enum pol_fallback fallback;
    const struct pol_pool *pool;
    const struct pol_pool *fallback_pool; /* POL_FALLBACK_POOL only */
    bool has_names; /* a host name among the endpoints: the answer may be a CNAME */
};

/* ---- decisions -------------------------------------------------------------------- */

enum pol_answer { POL_ANSWER_ADDRS, POL_ANSWER_CNAME, POL_ANSWER_NODATA };

struct pol_decision {
    enum pol_answer answer;
    const struct pol_endpoint *eps[POL_MAX_ANSWERS];
    uint16_t n;
    uint32_t ttl_s;
    uint8_t scope; /* ECS SCOPE PREFIX-LENGTH for this answer (RFC 7871 §7.2.1) */
};

/* explain's view of the steps; NULL in the server. */
struct pol_trace {
    void (*line)(void *arg, const char *fmt, va_list ap);
    void *arg;
};

/* What one worker keeps for decisions, reused for every query. */
struct pol_scratch {
    const struct pol_endpoint *cand[POL_MAX_CANDIDATES];
    uint32_t weight[POL_MAX_CANDIDATES]; /* after any drain of the region */
    double score[POL_MAX_CANDIDATES];
    uint64_t rng; /* xorshift64* state, seeded per worker */
};

/* Decides the answer of policy p for a query of family 4 (A) or 6 (AAAA) from client.
 * Reads the snapshot s (its endpoint states included). */
void pol_decide(const struct snap *s, const struct pol_policy *p, int family,
                const struct geo_client *client, struct pol_scratch *sc, const struct pol_trace *tr,
                struct pol_decision *out);

/* Parses a mode or fallback name; 0 or GTM_EPARSE. */
int pol_mode_parse(const char *text, enum pol_mode *out);
const char *pol_mode_name(enum pol_mode mode);

/* ---- the modes (dnsd/pol_*.c) ----------------------------------------------------- */

/* The state of one run of the pipeline, handed to a mode. */
struct pol_run {
    const struct snap *s;
    const struct pol_policy *p;
    const struct pol_pool *pool;
    const struct geo_client *client;
    int family;
    bool use_health; /* false: fail-open, every endpoint counts as up */
    struct pol_scratch *sc;
    const struct pol_trace *tr;
    uint32_t n;       /* candidates in sc->cand */
    uint8_t scope;    /* what the answer depends on, in bits of the client address */
    bool family_only; /* nothing chosen only because no region had the family */
    bool degraded;    /* an endpoint of the pool is down or flapping: shorter TTL */
};

struct pol_mode_ops {
    const char *name;
    /* Narrows r->sc->cand[0..r->n) (healthy candidates of the family, in pool order) to
     * those the mode answers from, and sets r->scope. May leave none. */
    void (*select)(struct pol_run *r);
    /* How the chosen candidates are spread: by weight, or in order. */
    bool weighted;
};

extern const struct pol_mode_ops pol_geo_ops, pol_latency_ops, pol_proximity_ops, pol_weighted_ops,
    pol_failover_ops, pol_all_ops;

/* Shared by the region modes: keeps the candidates of the first region of the list that
 * is up (enough of its endpoints healthy) and has candidates; all the pool's regions in
 * order when the client matched no list. */
void pol__select_region(struct pol_run *r, enum geo_mode mode);
/* Writes a trace line when tracing. A macro, so that without a trace (the server) the
 * arguments are not even evaluated. */
void pol__trace_line(const struct pol_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define pol__trace(r, ...)                                                                         \
    do {                                                                                           \
        if ((r)->tr)                                                                               \
            pol__trace_line((r), __VA_ARGS__);                                                     \
    } while (0)

#endif
