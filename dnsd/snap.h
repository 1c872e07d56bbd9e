/* dnsd/snap.h — the compiled snapshot: every zone of the store, in the form the query
 * path reads. Built off the serving threads (dnsd/snap_compile.c), then immutable:
 * workers read it without locks and it is freed only after every worker has passed a
 * quiescent point (dnsd/rcu.h). Names are lower-case wire format. One arena holds it
 * all; snap_free() releases it with one call.
 * Cost: about 150 bytes per record plus 16 bytes per hash slot (load factor <= 1/2). */
#ifndef GTM_DNSD_SNAP_H
#define GTM_DNSD_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsd/arena.h"
#include "dnsd/health.h"
#include "dnsd/policy.h"

struct store;
struct snap_node;

/* One RRset. RDATA of the count records is packed in data as [u16 rdlen, host order]
 * [rdata, uncompressed, names as stored]. */
struct snap_rrset {
    uint16_t type;
    uint16_t count;
    uint32_t ttl_s;
    const uint8_t *data;
    /* NS, MX, SRV: per record, the node of its target name in this snapshot, or NULL;
     * the additional section's A/AAAA come from there. NULL for other types. */
    const struct snap_node *const *targets;
};

enum {
    SNAP_NODE_APEX = 1 << 0,        /* the zone's apex */
    SNAP_NODE_CUT = 1 << 1,         /* a delegation point: NS below the apex */
    SNAP_NODE_PARENT_SIDE = 1 << 2, /* a parent's records at a child apex (parent_side) */
    SNAP_NODE_DNAME = 1 << 3,       /* has a DNAME: names below it are redirected */
};

struct snap_node {
    const uint8_t *name; /* lower-case wire */
    uint8_t name_len;
    uint8_t flags;
    uint16_t nrrsets;
    const struct snap_rrset *rrsets; /* sorted by type; none for an empty non-terminal */
    const struct snap_zone *zone;
    const struct snap_node *wildcard; /* the "*" child, if any */
    /* The highest delegation point or DNAME owner strictly above this node in its
     * zone, or NULL: a query at or below this node is answered with a referral from
     * there, or redirected by its DNAME (RFC 1034 §4.3.2 step 3, RFC 6672 §3.2). */
    const struct snap_node *cut;
    /* At the apex of a zone whose parent zone we also serve: the parent's records at
     * this name (its delegation NS, DS), which answer DS queries (RFC 4035 §3.1.4.1).
     * Not in the hash table. */
    const struct snap_node *parent_side;
    /* A managed name: its A/AAAA answers come from this policy. */
    const struct pol_policy *policy;
};

struct snap_zone {
    const struct snap_node *apex;
    const struct snap_rrset *soa;
    const struct snap_rrset *ns;
    /* RFC 2308 §5: TTL of the SOA in negative answers, min(SOA TTL, SOA MINIMUM). */
    uint32_t neg_ttl_s;
};

struct snap_slot {
    uint32_t hash;
    const struct snap_node *node; /* NULL: empty slot */
};

/* A classifier shared by consecutive snapshots while its inputs (regions, geo map,
 * latency table, GeoIP files) do not change; freed with the last snapshot holding it.
 * Counted and freed on the loader thread only. */
struct snap_geo {
    struct geo_classifier *classifier;
    uint64_t fingerprint; /* of its inputs */
    int refs;
};

/* Where a snapshot compile gets its GeoIP data and keeps its classifier. */
struct snap_geo_source {
    const struct geo_db *db; /* NULL: no databases (every client maps to '*') */
    uint64_t db_fingerprint; /* identity of the database files */
    struct snap_geo **cache; /* the last classifier built (a reference), or NULL */
};

struct snap {
    struct arena arena;
    struct snap_slot *slots; /* open addressing, linear probing */
    uint32_t mask;           /* slots - 1; slots is a power of two */
    uint32_t seed;           /* of the name hash, random per snapshot */
    size_t nzones, nrecords, nnodes;
    uint64_t generation; /* counts snapshots compiled by this process */
    /* traffic management */
    const struct pol_region *regions;
    size_t nregions;
    const struct pol_pool *pools;
    size_t npools;
    const struct pol_endpoint *eps;
    size_t neps;
    size_t npolicies;
    /* per endpoint (pol_endpoint.state): enum pol_state and POL_STATE_* flags, rewritten
     * in place when health changes (relaxed atomics: a decision sees each state old or
     * new, never torn) */
    _Atomic uint8_t *states;
    int64_t *flipped_ms; /* per endpoint: its last up<->down flip (loader thread only) */
    /* per region: its weights' multiplier in thousandths (a drain lowers it); likewise */
    _Atomic uint16_t *drain;
    const int64_t *ep_ids;     /* store id of eps[i] */
    const uint32_t *ep_by_id;  /* indexes of eps, by store id */
    const int64_t *region_ids; /* store id of regions[i] */
    struct snap_geo *geo;
    /* what the classifier was built from (its geo map and latency table), for
     * explanations; db is NULL here */
    struct geo_inputs geo_in;
    /* the regions of the geo map's '*' entry (n 0: none): where a client of mode geo
     * goes next when none of its own entry's regions can answer */
    struct geo_rlist geo_star;
};

/* ---- compiling (dnsd/snap_compile.c) ------------------------------------------------ */

/* Compiles every zone and policy of the open store into a new snapshot, in one read
 * transaction, with a classifier from geo (built, or reused from geo->cache when its
 * inputs did not change; geo may be NULL). Returns 0 and *out (caller frees with
 * snap_free()), or the store's error code; msg (msglen bytes) says what failed.
 * Blocking: loader thread or gtmctl only. */
int snap_compile(struct store *st, uint64_t generation, const struct snap_geo_source *geo,
                 struct snap **out, char *msg, size_t msglen);
/* Drops a reference to a shared classifier; frees it with the last one. */
void snap_geo_release(struct snap_geo *g);

/* ---- health (dnsd/snap_health.c): applied in place between snapshots ---------------- */

/* What the store says about health, read once and applied as often as time requires
 * (reports age out, drills expire, drains step down). */
struct snap_health {
    struct snap_health_vote {
        int64_t endpoint_id;
        uint32_t interval_ms;
        struct health_vote vote;
    } * votes; /* by endpoint id */
    size_t nvotes;
    struct snap_health_drill {
        int64_t region_id, endpoint_id, started_ms, until_ms;
    } * drills;
    size_t ndrills;
    struct snap_health_drain {
        int64_t region_id, started_ms, until_ms;
    } * drains;
    size_t ndrains;
    struct snap_health_flip {
        int64_t endpoint_id, ts_ms;
    } * flips; /* recent up/down flips the events recorded, by endpoint id */
    size_t nflips;
};

/* Reads health, drills and drains from the store into h (replacing what it held) and
 * the configuration generation into *generation. Blocking: loader thread or gtmctl. */
int snap_health_load(struct store *st, struct snap_health *h, int64_t *generation);
void snap_health_fini(struct snap_health *h);
/* Writes the endpoint states and region drain factors of s from h at now_ms; with log
 * set, each change is logged. Any thread may run decisions on s meanwhile. */
void snap_health_apply(struct snap *s, const struct snap_health *h, int64_t now_ms, bool log);
/* Gives a new snapshot the states and flip times of the one it replaces (matched by the
 * store's endpoint ids), so its first apply logs only real changes. Loader thread, before
 * the new snapshot is published. */
void snap_health_carry(struct snap *to, const struct snap *from);
void snap_free(struct snap *s);

/* ---- reading (dnsd/lookup.c): any thread, no allocation, no locks ---------------------- */

const struct snap_rrset *snap_node_rrset(const struct snap_node *n, uint16_t type);

/* The node with exactly this lower-case wire name, or NULL. */
const struct snap_node *snap_find(const struct snap *s, const uint8_t *name, size_t len);
/* The same with the name's hash (hashes[0] of snap_name_hashes()) already computed. */
const struct snap_node *snap_find_hashed(const struct snap *s, const uint8_t *name, size_t len,
                                         uint32_t hash);

enum snap_match {
    SNAP_REFUSED,    /* in no zone of the snapshot */
    SNAP_EXACT,      /* node is the query name */
    SNAP_WILDCARD,   /* node is the wildcard that synthesises the query name */
    SNAP_NXDOMAIN,   /* the name does not exist; node is its closest encloser */
    SNAP_DELEGATION, /* at or below a zone cut; node is the delegation point */
    SNAP_DNAME,      /* below a DNAME owner (RFC 6672); node is the owner */
};

struct snap_result {
    enum snap_match match;
    const struct snap_node *node;
    const struct snap_zone *zone; /* NULL for SNAP_REFUSED */
};

/* RFC 1034 §4.3.2, RFC 4592 and RFC 6672: finds what answers qname (lower-case wire, len bytes)
 * for qtype. DS at a delegation point is answered from the parent side (RFC 4035
 * §3.1.4.1), so it is SNAP_EXACT there. */
void snap_lookup(const struct snap *s, const uint8_t *qname, size_t len, uint16_t qtype,
                 struct snap_result *out);
/* The same with qname's suffix hashes already computed by snap_name_hashes() with the
 * snapshot's seed (nlabels as it returned). */
void snap_lookup_hashed(const struct snap *s, const uint8_t *qname, size_t len,
                        const uint32_t *hashes, const uint8_t *offs, int nlabels, uint16_t qtype,
                        struct snap_result *out);

/* Hash of each suffix of a lower-case wire name: hashes[i] is the hash of the name
 * from label i on (i = 0: the whole name; i = nlabels: the root), offs[i] its offset.
 * Returns nlabels. Arrays hold SNAP_MAX_LABELS + 1 entries. */
#define SNAP_MAX_LABELS 127
int snap_name_hashes(uint32_t seed, const uint8_t *name, size_t len, uint32_t *hashes,
                     uint8_t *offs);

#endif
