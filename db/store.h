/* db/store.h — the gtm store: the only way any gtm binary reads or writes its data.
 * All SQL lives behind these calls (STYLE §1), so a second backend (PostgreSQL through
 * libpq, for fleets) can implement the same functions without touching the binaries.
 * A struct store is one connection: use it from one thread at a time. Strings and
 * blobs handed to callbacks are borrowed until the callback returns.
 * Every function returns 0 or a negative code (common/err.h); store_errmsg() then
 * says what happened in words an operator can act on. */
#ifndef GTM_DB_STORE_H
#define GTM_DB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct store;

enum store_mode {
    STORE_READ,   /* read-only; the schema must be current (else GTM_ESCHEMA) */
    STORE_WRITE,  /* read-write; pending migrations are applied */
    STORE_CREATE, /* as STORE_WRITE, creating the file if it does not exist */
};

/* Busy timeout of a new connection: long enough for another gtmctl's transaction or a
 * snapshot read to finish, short enough that an operator is not left waiting. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Opens the store at path, waiting at most busy_ms (0: STORE_BUSY_TIMEOUT_MS) for another
 * process's lock. On success *out is a connection the caller closes with store_close(). On failure
 * *out is untouched and msg (msglen bytes, may be NULL) gets the reason: GTM_ENOTFOUND (no file,
 * mode != STORE_CREATE), GTM_ESTORE (not a gtm store, corrupt, unreadable), GTM_ESCHEMA (too old
 * for STORE_READ, or newer than this binary), GTM_EBUSY (locked while migrating). */
int store_open(const char *path, enum store_mode mode, int busy_ms, struct store **out, char *msg,
               size_t msglen);
void store_close(struct store *st);

/* Detail of the last failure on this connection. Borrowed until the next call. */
const char *store_errmsg(const struct store *st);
void store_busy_timeout_set(struct store *st, int ms);
/* Schema version this binary writes (the newest migration it carries). */
int store_schema_latest(void);
/* *out = the schema version of the open store. */
int store_schema_version(struct store *st, int *out);
/* The schema version the store had when store_open() found it (0: a new file). Equal to
 * the current version when this open migrated nothing. */
int store_migrated_from(const struct store *st);

/* Transactions. store_tx_begin() takes the write lock at once (BEGIN IMMEDIATE), so a
 * concurrent writer is seen before any work: GTM_EBUSY after the busy timeout.
 * store_read_begin() opens a read transaction: one consistent view for its reads.
 * store_tx_end() commits when commit is true, otherwise rolls back; it accepts a
 * connection with no open transaction (then it does nothing). */
int store_tx_begin(struct store *st);
int store_read_begin(struct store *st);
int store_tx_end(struct store *st, bool commit);

/* A number that changes whenever another connection commits to the store (SQLite's
 * PRAGMA data_version). Cheap: no file I/O when nothing changed. */
int store_data_version(struct store *st, int64_t *out);

/* ---- zones ---------------------------------------------------------------------- */

struct store_zone {
    int64_t id;
    const char *name; /* key form */
    uint32_t serial;  /* from the zone's SOA record; 0 if it has none */
    int64_t records;  /* number of records */
};
typedef int (*store_zone_fn)(void *arg, const struct store_zone *z);

/* Creates an empty zone; *id_out gets its id. GTM_EEXIST if it exists. */
int store_zone_add(struct store *st, const char *name, int64_t *id_out);
/* *id_out = the id of the zone with this key. GTM_ENOTFOUND if none. */
int store_zone_find(struct store *st, const char *name, int64_t *id_out);
/* Removes a zone and all its records. */
int store_zone_rm(struct store *st, int64_t id);
/* Removes every record of a zone, keeping the zone. */
int store_zone_clear(struct store *st, int64_t id);
/* Calls fn for every zone in name order; a non-zero return from fn stops the walk and
 * is returned. */
int store_zone_foreach(struct store *st, store_zone_fn fn, void *arg);
/* The zone's SOA serial. GTM_ENOTFOUND if the zone has no SOA. */
int store_zone_serial_get(struct store *st, int64_t id, uint32_t *serial_out);
/* Rewrites the serial field of the zone's SOA record (wire and text). */
int store_zone_serial_set(struct store *st, int64_t id, uint32_t serial);
/* After a change to a zone whose serial was before: sets the serial to
 * serial_next(before, now), or keeps the current one if the change itself set a
 * greater serial (an imported or replaced SOA). *serial_out gets the result. */
int store_zone_serial_bump(struct store *st, int64_t id, uint32_t before, time_t now,
                           uint32_t *serial_out);

/* ---- records -------------------------------------------------------------------- */

struct store_rr {
    const char *owner; /* key form */
    uint16_t type;
    uint32_t ttl_s;
    const char *rdata;   /* presentation form */
    const uint8_t *wire; /* RDATA, uncompressed */
    size_t wire_len;
};
typedef int (*store_rr_fn)(void *arg, const struct store_rr *rr);

/* Adds one record to a zone. GTM_EEXIST for an identical record; GTM_ECONSTRAINT
 * (errmsg says which rule) for one the store refuses. */
int store_rr_add(struct store *st, int64_t zone_id, const struct store_rr *rr);
/* Removes the records of (owner, type) in a zone: all of them when wire is NULL, else
 * the one with this RDATA. *removed gets the count (0 is not an error). */
int store_rr_rm(struct store *st, int64_t zone_id, const char *owner, uint16_t type,
                const uint8_t *wire, size_t wire_len, int *removed);
/* Sets the TTL of every record of (owner, type) in a zone (RFC 2181 §5.2). */
int store_rrset_ttl_set(struct store *st, int64_t zone_id, const char *owner, uint16_t type,
                        uint32_t ttl_s);
/* Whether any record or managed name of a zone is at a name below owner (a key).
 * Scans the zone: for single edits, not per record of an import. */
int store_rr_below(struct store *st, int64_t zone_id, const char *owner, bool *any);
/* The owner of a DNAME of the zone strictly above owner, into above (abovelen bytes),
 * or "" if there is none. Scans the zone's DNAMEs. */
int store_dname_above(struct store *st, int64_t zone_id, const char *owner, char *above,
                      size_t abovelen);
/* Calls fn for the records of a zone, or only those at owner when it is not NULL,
 * ordered by owner, type and rdata. */
int store_rr_foreach(struct store *st, int64_t zone_id, const char *owner, store_rr_fn fn,
                     void *arg);

/* ---- traffic: regions, pools, endpoints, policies, geo map, latency ---------------- */

struct store_region {
    int64_t id;
    const char *name;
    bool has_coords;
    double lat, lon; /* degrees north, east */
};

struct store_pool {
    int64_t id;
    const char *name;
    int64_t endpoints;
};

enum store_ep_kind { STORE_EP_NAME = 0, STORE_EP_V4 = 4, STORE_EP_V6 = 6 };

struct store_endpoint {
    int64_t id;
    int64_t pool_id;
    const char *pool;   /* its name (reads only) */
    const char *target; /* canonical text: address, or host name key */
    enum store_ep_kind kind;
    const uint8_t *address; /* 4 or 16 bytes, or the host name in wire form */
    size_t address_len;
    int64_t region_id;
    const char *region; /* its name (reads only) */
    uint32_t weight;
    uint32_t priority;
    bool enabled;
};

struct store_policy {
    int64_t id;
    int64_t zone_id;
    const char *name; /* the managed name's key */
    int64_t pool_id;
    const char *pool; /* (reads only) */
    const char *mode; /* geo latency proximity weighted failover all */
    uint32_t ttl_s;
    uint32_t answers;          /* 0: the mode's default */
    const char *fallback;      /* fail-open pool none */
    int64_t fallback_pool_id;  /* 0 unless fallback is "pool" */
    const char *fallback_pool; /* (reads only) */
    bool sticky;
    uint32_t region_up_pct;
    bool unknown_up;         /* an endpoint never probed counts as up */
    uint32_t ttl_degraded_s; /* TTL while degraded; 0: half the TTL, at least 5 s */
};

/* Regions listed for one geo map key, in order of preference. */
#define STORE_GEO_MAX_REGIONS 32
struct store_geo {
    const char *key;  /* normalised (see db/migrations/0002_traffic.sql) */
    const char *kind; /* default continent country subdivision cidr */
    size_t nregions;
    int64_t region_ids[STORE_GEO_MAX_REGIONS];
    const char *regions[STORE_GEO_MAX_REGIONS];
};

struct store_latency {
    const char *key;
    const char *kind;
    int64_t region_id;
    const char *region;
    double ms;
};

typedef int (*store_region_fn)(void *arg, const struct store_region *r);
typedef int (*store_pool_fn)(void *arg, const struct store_pool *p);
typedef int (*store_endpoint_fn)(void *arg, const struct store_endpoint *e);
typedef int (*store_policy_fn)(void *arg, const struct store_policy *p);
typedef int (*store_geo_fn)(void *arg, const struct store_geo *g);
typedef int (*store_latency_fn)(void *arg, const struct store_latency *l);

/* Adds a region. GTM_EEXIST if the name is taken. */
int store_region_add(struct store *st, const struct store_region *r, int64_t *id_out);
int store_region_find(struct store *st, const char *name, int64_t *id_out);
/* Calls fn for every region, by name. */
int store_region_foreach(struct store *st, store_region_fn fn, void *arg);
/* What keeps region id in use, as text ("endpoint web/192.0.2.1", "geo map DE",
 * "latency EU"), or "" when nothing does. */
int store_region_user(struct store *st, int64_t id, char *out, size_t outlen);
/* Removes a region nothing uses (its drills and drains go with it). */
int store_region_rm(struct store *st, int64_t id);

int store_pool_add(struct store *st, const char *name, int64_t *id_out);
int store_pool_find(struct store *st, const char *name, int64_t *id_out);
/* The managed name (into out, "" when none) that pool id answers (as the pool or the
 * fallback of its policy) and that is a host-name endpoint of the pool too: a CNAME to
 * itself. */
int store_pool_cname_loop(struct store *st, int64_t id, char *out, size_t outlen);
int store_pool_foreach(struct store *st, store_pool_fn fn, void *arg);
/* The first policy (by name) that answers from pool id or falls back to it, or "". */
int store_pool_user(struct store *st, int64_t id, char *out, size_t outlen);
/* Removes a pool no policy uses, with its endpoints and their checks and health. */
int store_pool_rm(struct store *st, int64_t id);

/* Adds e (id, names ignored) to its pool. GTM_EEXIST if the pool has that target. */
int store_endpoint_add(struct store *st, const struct store_endpoint *e, int64_t *id_out);
/* Finds the endpoint of pool_id with target; *out gets its fields (strings borrowed
 * until the next call on st). */
int store_endpoint_get(struct store *st, int64_t pool_id, const char *target,
                       struct store_endpoint *out);
/* Writes weight, priority and enabled of endpoint e->id. */
int store_endpoint_update(struct store *st, const struct store_endpoint *e);
/* Removes endpoint id with its check, health and drills (events keep its history). */
int store_endpoint_rm(struct store *st, int64_t id);
/* Calls fn for the endpoints of one pool (pool_id > 0) or all, by pool and target. */
int store_endpoint_foreach(struct store *st, int64_t pool_id, store_endpoint_fn fn, void *arg);

/* Creates or replaces the policy of p->name (names of p ignored, ids used). */
int store_policy_set(struct store *st, const struct store_policy *p);
/* Removes the policy of name; GTM_ENOTFOUND if none. */
int store_policy_rm(struct store *st, const char *name);
int store_policy_foreach(struct store *st, store_policy_fn fn, void *arg);

/* Maps key (of kind) to the regions, replacing its previous mapping. */
int store_geo_map(struct store *st, const char *key, const char *kind, const int64_t *region_ids,
                  size_t n);
/* Removes key's mapping; GTM_ENOTFOUND if none. */
int store_geo_unmap(struct store *st, const char *key);
int store_geo_foreach(struct store *st, store_geo_fn fn, void *arg);

/* Sets the latency from key's clients to a region. */
int store_latency_set(struct store *st, const struct store_latency *l);
int store_latency_foreach(struct store *st, store_latency_fn fn, void *arg);

/* ---- health: checks, vantage points, states, events, drills, drains ------------- */

struct store_check {
    int64_t endpoint_id;
    const char *pool, *target; /* (reads only) */
    enum store_ep_kind kind;   /* (reads only) the endpoint's */
    const uint8_t *address;    /* (reads only) 4/16 bytes or the wire name */
    size_t address_len;
    bool enabled;                                                 /* (reads only) the endpoint's */
    const char *type;                                             /* http https tcp dns */
    const char *url, *host, *query, *probe_address, *expect_body; /* NULL: not set */
    uint32_t port;                                                /* 0: the type's default */
    uint32_t interval_ms, timeout_ms, rise, fall, status_min, status_max;
    bool insecure;
};

struct store_health {
    int64_t endpoint_id;
    const char *pool, *target; /* (reads only) */
    const char *vantage;
    const char *state; /* up down */
    int64_t since_ms;
    const char *reason;
    int64_t rtt_us;          /* -1: none yet */
    int64_t checked_ms;      /* 0: never */
    int64_t vantage_seen_ms; /* (reads only) when the vantage point last reported */
    uint32_t interval_ms;    /* (reads only) the endpoint's check interval, 0: none */
};

struct store_event {
    int64_t id;
    int64_t ts_ms;
    int64_t endpoint_id; /* 0 once the endpoint is gone */
    const char *target;  /* pool/target */
    const char *vantage; /* a vantage point, or "drill" / "drain" */
    const char *old_state, *new_state, *reason;
};

struct store_drill {
    int64_t id;
    int64_t region_id; /* one of region_id and endpoint_id */
    int64_t endpoint_id;
    const char *region;           /* (reads only) */
    const char *pool, *target;    /* (reads only) */
    int64_t started_ms, until_ms; /* until 0: until restored */
    const char *reason, *user;
};

struct store_drain {
    int64_t region_id;
    const char *region; /* (reads only) */
    int64_t started_ms, until_ms;
};

typedef int (*store_check_fn)(void *arg, const struct store_check *c);
typedef int (*store_health_fn)(void *arg, const struct store_health *h);
typedef int (*store_event_fn)(void *arg, const struct store_event *e);
typedef int (*store_drill_fn)(void *arg, const struct store_drill *d);
typedef int (*store_drain_fn)(void *arg, const struct store_drain *d);

/* Creates or replaces the check of c->endpoint_id. */
int store_check_set(struct store *st, const struct store_check *c);
int store_check_rm(struct store *st, int64_t endpoint_id);
/* The checks of one pool (pool_id > 0) or all, with their endpoints, by pool and target. */
int store_check_foreach(struct store *st, int64_t pool_id, store_check_fn fn, void *arg);

/* ---- backups ----------------------------------------------------------------------- */

/* Writes a copy of the whole store, as one read transaction saw it, to path (a new
 * file: SQLite refuses one that exists). */
int store_backup(struct store *st, const char *path);

struct store_restore_info {
    size_t zones;         /* in the backup */
    size_t serials_moved; /* zones served before, whose serials now follow the served ones */
};
/* Replaces everything in the store with the backup at path (a gtm store of this schema
 * version), in one write transaction: the daemons see the old data or the new. The
 * backup's health states are left out (probed afresh), zones served before get serials
 * past their served ones, and the generation moves. */
int store_restore(struct store *st, const char *path, time_t now, struct store_restore_info *info);

/* A vantage point reports it is alive at now_ms; *prev_ms gets the time it replaced (0
 * when the vantage point had none). */
int store_vantage_seen(struct store *st, const char *vantage, int64_t now_ms, int64_t *prev_ms);
/* Writes a vantage point's state of an endpoint (after a change, or at start-up), while
 * the endpoint has a check (nothing otherwise). */
int store_health_set(struct store *st, const struct store_health *h);
/* Replaces the reason of a vantage point's state of an endpoint, its state and since
 * kept: an endpoint still down that now fails for another cause. No row: no error. */
int store_health_reason(struct store *st, int64_t endpoint_id, const char *vantage,
                        const char *reason, int64_t checked_ms);
/* Forgets every vantage point's state of an endpoint, as when its check is removed: it
 * is then unknown until probed again. Not finding any is no error. */
int store_health_rm(struct store *st, int64_t endpoint_id);
/* Records a probe's round trip (last RTT, time checked, and a sample row). */
int store_health_sample(struct store *st, int64_t endpoint_id, const char *vantage, int64_t rtt_us,
                        int64_t now_ms);
/* Drops RTT samples older than before_ms. */
int store_rtt_prune(struct store *st, int64_t before_ms);
/* The states of one vantage point (NULL: all), with when each vantage last reported and
 * the check interval, by endpoint and vantage. */
int store_health_foreach(struct store *st, const char *vantage, store_health_fn fn, void *arg);

int store_event_add(struct store *st, const struct store_event *e);
/* Events since since_ms, oldest first. */
int store_event_foreach(struct store *st, int64_t since_ms, store_event_fn fn, void *arg);

/* Adds a drill; GTM_EEXIST when its region or endpoint already has one. */
int store_drill_add(struct store *st, const struct store_drill *d, int64_t *id_out);
/* Removes the drill of a region or endpoint (the other id 0), or every drill when both
 * are 0. *removed gets the count. */
int store_drill_rm(struct store *st, int64_t region_id, int64_t endpoint_id, int *removed);
int store_drill_foreach(struct store *st, store_drill_fn fn, void *arg);

/* Ends the drills whose time ran out by now_ms (inside the caller's transaction): each
 * endpoint they forced down gets an event, from "down (drill)" to what vantage point
 * vantage sees of it, and the drills are removed. *ended gets how many. Any writer may
 * call it; gtm-healthd does, every second. */
int store_drill_expire(struct store *st, int64_t now_ms, const char *vantage, int *ended);

/* Starts (or restarts) draining a region between started_ms and until_ms. */
int store_drain_set(struct store *st, const struct store_drain *d);
int store_drain_rm(struct store *st, int64_t region_id, int *removed);
int store_drain_foreach(struct store *st, store_drain_fn fn, void *arg);

/* A number that moves whenever configuration a snapshot compiles changes (zones,
 * records, traffic, checks), and not for health, drills or drains. */
int store_generation(struct store *st, int64_t *out);

/* An endpoint's latest flip between up and down, as the events recorded it. */
typedef int (*store_flip_fn)(void *arg, int64_t endpoint_id, int64_t ts_ms);

/* What gtm-dnsd applies in place between snapshots, in one read transaction: every
 * state of every vantage point, the drills, the drains, and each endpoint's latest
 * up/down flip since flips_since_ms (by endpoint id). */
struct store_health_fns {
    store_health_fn health;
    store_drill_fn drill;
    store_drain_fn drain;
    store_flip_fn flip;
    int64_t flips_since_ms;
};
int store_health_read(struct store *st, const struct store_health_fns *fns, void *arg,
                      int64_t *generation_out);

/* ---- snapshots ------------------------------------------------------------------ */

typedef int (*store_zone_rr_fn)(void *arg, int64_t zone_id, const struct store_rr *rr);

/* What a snapshot reads; any callback may be NULL. */
struct store_snapshot_fns {
    store_zone_fn zone;
    store_zone_rr_fn rr; /* rdata is NULL: wire form only */
    store_region_fn region;
    store_pool_fn pool;
    store_endpoint_fn endpoint;
    store_policy_fn policy;
    store_geo_fn geo;
    store_latency_fn latency;
};

/* Everything gtm-dnsd compiles, in one read transaction (one consistent version), in
 * the order of struct store_snapshot_fns: every zone, then every record grouped by zone
 * and ordered by owner and type within it, then regions, pools, endpoints, policies,
 * the geo map and the latency table. A non-zero return from a callback stops the read
 * and is returned. */
int store_snapshot_read(struct store *st, const struct store_snapshot_fns *fns, void *arg);

/* ---- audit ---------------------------------------------------------------------- */

struct store_audit {
    int64_t id;
    int64_t ts; /* unix seconds */
    const char *user;
    const char *zone; /* NULL for store-wide changes */
    const char *command;
    const char *before;
    const char *after;
};
typedef int (*store_audit_fn)(void *arg, const struct store_audit *a);

/* Appends an audit row; a->id is ignored. */
int store_audit_add(struct store *st, const struct store_audit *a);
/* Calls fn for audit rows, newest first: every row, or those of one zone; at most
 * limit rows (0: no limit). */
int store_audit_foreach(struct store *st, const char *zone, int limit, store_audit_fn fn,
                        void *arg);

#endif
