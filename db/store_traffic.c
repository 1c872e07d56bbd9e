/* db/store_traffic.c — regions, pools, endpoints, policies, the geo map and the latency
 * table. Called by gtmctl (edits, lists) and gtm-dnsd's snapshot compiler (reads). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "db/internal.h"

/* A callback and its argument, for the row functions below. */
struct each {
    void *fn;
    void *arg;
};

static int insert_named(struct store *st, const char *sql, const char *name, int64_t *id_out,
                        const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, sql, &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = store__step_done(st, stmt, what);
    if (rc == GTM_EEXIST)
        return store__failf(st, rc, "%s already exists", name);
    if (rc == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(st->db);
    return rc;
}

/* ---- regions -------------------------------------------------------------------- */

int store_region_add(struct store *st, const struct store_region *r, int64_t *id_out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "INSERT INTO regions(name, lat, lon) VALUES (?1, ?2, ?3)", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, r->name, -1, SQLITE_STATIC);
    if (r->has_coords) {
        sqlite3_bind_double(stmt, 2, r->lat);
        sqlite3_bind_double(stmt, 3, r->lon);
    }
    rc = store__step_done(st, stmt, "adding a region");
    if (rc == GTM_EEXIST)
        return store__failf(st, rc, "region %s already exists", r->name);
    if (rc == 0)
        *id_out = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_region_find(struct store *st, const char *name, int64_t *id_out)
{
    return store__find_id(st, "SELECT id FROM regions WHERE name = ?1", name, id_out, "region", "");
}

static int region_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_region r = {
        .id = sqlite3_column_int64(stmt, 0),
        .name = store__text(stmt, 1),
        .has_coords = sqlite3_column_type(stmt, 2) != SQLITE_NULL,
        .lat = sqlite3_column_double(stmt, 2),
        .lon = sqlite3_column_double(stmt, 3),
    };
    return ((store_region_fn)e->fn)(e->arg, &r);
}

int store_region_foreach(struct store *st, store_region_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st, "SELECT id, name, lat, lon FROM regions ORDER BY name", &stmt);
    return rc ? rc : store__each_row(st, stmt, region_row, &e, "listing regions");
}

int store_region_user(struct store *st, int64_t id, char *out, size_t outlen)
{
    return store__first_text(
        st,
        "SELECT 'endpoint ' || p.name || '/' || e.target FROM endpoints e "
        " JOIN pools p ON p.id = e.pool_id WHERE e.region_id = ?1 "
        "UNION ALL SELECT 'geo map ' || key FROM geo_map_regions WHERE region_id = ?1 "
        "UNION ALL SELECT 'latency ' || key FROM latency WHERE region_id = ?1 LIMIT 1",
        id, out, outlen, "finding what uses a region");
}

int store_region_rm(struct store *st, int64_t id)
{
    return store__exec_id(st, "DELETE FROM regions WHERE id = ?1", id, "removing a region");
}

/* ---- pools ---------------------------------------------------------------------- */

int store_pool_add(struct store *st, const char *name, int64_t *id_out)
{
    return insert_named(st, "INSERT INTO pools(name) VALUES (?1)", name, id_out, "adding a pool");
}

int store_pool_find(struct store *st, const char *name, int64_t *id_out)
{
    return store__find_id(st, "SELECT id FROM pools WHERE name = ?1", name, id_out, "pool", "");
}

int store_pool_cname_loop(struct store *st, int64_t id, char *out, size_t outlen)
{
    return store__first_text(st,
                             "SELECT p.name FROM policies p JOIN endpoints e ON e.pool_id = ?1 "
                             "AND e.kind = 0 AND e.target = p.name "
                             "WHERE ?1 IN (p.pool_id, p.fallback_pool_id) LIMIT 1",
                             id, out, outlen, "looking for a CNAME to itself");
}

int store_pool_user(struct store *st, int64_t id, char *out, size_t outlen)
{
    return store__first_text(st,
                             "SELECT name FROM policies WHERE pool_id = ?1 OR "
                             "fallback_pool_id = ?1 ORDER BY name LIMIT 1",
                             id, out, outlen, "finding what uses a pool");
}

int store_pool_rm(struct store *st, int64_t id)
{
    return store__exec_id(st, "DELETE FROM pools WHERE id = ?1", id, "removing a pool");
}

static int pool_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_pool p = {
        .id = sqlite3_column_int64(stmt, 0),
        .name = store__text(stmt, 1),
        .endpoints = sqlite3_column_int64(stmt, 2),
    };
    return ((store_pool_fn)e->fn)(e->arg, &p);
}

int store_pool_foreach(struct store *st, store_pool_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT p.id, p.name, (SELECT count(*) FROM endpoints "
                            "WHERE pool_id = p.id) FROM pools p ORDER BY p.name",
                            &stmt);
    return rc ? rc : store__each_row(st, stmt, pool_row, &e, "listing pools");
}

/* ---- endpoints ------------------------------------------------------------------ */

#define ENDPOINT_COLUMNS                                                                           \
    "SELECT e.id, e.pool_id, p.name, e.target, e.kind, e.address, e.region_id, r.name, "           \
    "e.weight, e.priority, e.enabled FROM endpoints e JOIN pools p ON p.id = e.pool_id "           \
    "JOIN regions r ON r.id = e.region_id "

static void endpoint_of_row(sqlite3_stmt *stmt, struct store_endpoint *ep)
{
    *ep = (struct store_endpoint){
        .id = sqlite3_column_int64(stmt, 0),
        .pool_id = sqlite3_column_int64(stmt, 1),
        .pool = store__text(stmt, 2),
        .target = store__text(stmt, 3),
        .kind = (enum store_ep_kind)sqlite3_column_int(stmt, 4),
        .address = store__blob(stmt, 5),
        .address_len = (size_t)sqlite3_column_bytes(stmt, 5),
        .region_id = sqlite3_column_int64(stmt, 6),
        .region = store__text(stmt, 7),
        .weight = (uint32_t)sqlite3_column_int64(stmt, 8),
        .priority = (uint32_t)sqlite3_column_int64(stmt, 9),
        .enabled = sqlite3_column_int(stmt, 10) != 0,
    };
}

int store_endpoint_add(struct store *st, const struct store_endpoint *e, int64_t *id_out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "INSERT INTO endpoints(pool_id, target, kind, address, region_id, "
                            "weight, priority, enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, e->pool_id);
    sqlite3_bind_text(stmt, 2, e->target, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, (int)e->kind);
    sqlite3_bind_blob(stmt, 4, e->address, (int)e->address_len, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, e->region_id);
    sqlite3_bind_int64(stmt, 6, e->weight);
    sqlite3_bind_int64(stmt, 7, e->priority);
    sqlite3_bind_int(stmt, 8, e->enabled);
    rc = store__step_done(st, stmt, "adding an endpoint");
    if (rc == GTM_EEXIST)
        return store__failf(st, rc, "the pool already has endpoint %s", e->target);
    if (rc == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_endpoint_get(struct store *st, int64_t pool_id, const char *target,
                       struct store_endpoint *out)
{
    sqlite3_stmt *stmt = NULL;
    sqlite3_finalize(st->held);
    st->held = NULL;
    int rc = store__prepare(st, ENDPOINT_COLUMNS "WHERE e.pool_id = ?1 AND e.target = ?2", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, pool_id);
    sqlite3_bind_text(stmt, 2, target, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        endpoint_of_row(stmt, out);
        st->held = stmt; /* its strings live until the next get or store_close() */
        return 0;
    }
    rc = src == SQLITE_DONE ? store__failf(st, GTM_ENOTFOUND, "the pool has no endpoint %s", target)
                            : store__fail(st, src, "finding an endpoint");
    sqlite3_finalize(stmt);
    return rc;
}

int store_endpoint_update(struct store *st, const struct store_endpoint *e)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "UPDATE endpoints SET weight = ?2, priority = ?3, enabled = ?4 "
                            "WHERE id = ?1",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, e->id);
    sqlite3_bind_int64(stmt, 2, e->weight);
    sqlite3_bind_int64(stmt, 3, e->priority);
    sqlite3_bind_int(stmt, 4, e->enabled);
    return store__step_done(st, stmt, "updating an endpoint");
}

static int endpoint_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_endpoint ep;
    endpoint_of_row(stmt, &ep);
    return ((store_endpoint_fn)e->fn)(e->arg, &ep);
}

int store_endpoint_rm(struct store *st, int64_t id)
{
    return store__exec_id(st, "DELETE FROM endpoints WHERE id = ?1", id, "removing an endpoint");
}

int store_endpoint_foreach(struct store *st, int64_t pool_id, store_endpoint_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            ENDPOINT_COLUMNS "WHERE ?1 = 0 OR e.pool_id = ?1 "
                                             "ORDER BY p.name, e.target",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, pool_id);
    return store__each_row(st, stmt, endpoint_row, &e, "listing endpoints");
}

/* ---- policies ------------------------------------------------------------------- */

int store_policy_set(struct store *st, const struct store_policy *p)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "DELETE FROM policies WHERE name = ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, p->name, -1, SQLITE_STATIC);
    if ((rc = store__step_done(st, stmt, "replacing a policy")))
        return rc;
    rc = store__prepare(st,
                        "INSERT INTO policies(zone_id, name, pool_id, mode, ttl, answers, "
                        "fallback, fallback_pool_id, sticky, region_up, unknown_up, ttl_degraded) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                        &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, p->zone_id);
    sqlite3_bind_text(stmt, 2, p->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, p->pool_id);
    sqlite3_bind_text(stmt, 4, p->mode, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, p->ttl_s);
    sqlite3_bind_int64(stmt, 6, p->answers);
    sqlite3_bind_text(stmt, 7, p->fallback, -1, SQLITE_STATIC);
    if (p->fallback_pool_id)
        sqlite3_bind_int64(stmt, 8, p->fallback_pool_id);
    sqlite3_bind_int(stmt, 9, p->sticky);
    sqlite3_bind_int64(stmt, 10, p->region_up_pct);
    sqlite3_bind_int(stmt, 11, p->unknown_up);
    sqlite3_bind_int64(stmt, 12, p->ttl_degraded_s);
    return store__step_done(st, stmt, "setting a policy");
}

int store_policy_rm(struct store *st, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "DELETE FROM policies WHERE name = ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    if ((rc = store__step_done(st, stmt, "removing a policy")))
        return rc;
    return sqlite3_changes(st->db) ? 0 : store__failf(st, GTM_ENOTFOUND, "no policy for %s", name);
}

static int policy_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_policy p = {
        .id = sqlite3_column_int64(stmt, 0),
        .zone_id = sqlite3_column_int64(stmt, 1),
        .name = store__text(stmt, 2),
        .pool_id = sqlite3_column_int64(stmt, 3),
        .pool = store__text(stmt, 4),
        .mode = store__text(stmt, 5),
        .ttl_s = (uint32_t)sqlite3_column_int64(stmt, 6),
        .answers = (uint32_t)sqlite3_column_int64(stmt, 7),
        .fallback = store__text(stmt, 8),
        .fallback_pool_id = sqlite3_column_int64(stmt, 9),
        .fallback_pool = store__text(stmt, 10),
        .sticky = sqlite3_column_int(stmt, 11) != 0,
        .region_up_pct = (uint32_t)sqlite3_column_int64(stmt, 12),
        .unknown_up = sqlite3_column_int(stmt, 13) != 0,
        .ttl_degraded_s = (uint32_t)sqlite3_column_int64(stmt, 14),
    };
    return ((store_policy_fn)e->fn)(e->arg, &p);
}

int store_policy_foreach(struct store *st, store_policy_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT y.id, y.zone_id, y.name, y.pool_id, p.name, y.mode, y.ttl, "
                            "y.answers, y.fallback, y.fallback_pool_id, f.name, y.sticky, "
                            "y.region_up, y.unknown_up, y.ttl_degraded "
                            "FROM policies y JOIN pools p ON p.id = y.pool_id "
                            "LEFT JOIN pools f ON f.id = y.fallback_pool_id ORDER BY y.name",
                            &stmt);
    return rc ? rc : store__each_row(st, stmt, policy_row, &e, "listing policies");
}

/* ---- the geo map ---------------------------------------------------------------- */

int store_geo_map(struct store *st, const char *key, const char *kind, const int64_t *region_ids,
                  size_t n)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "INSERT OR REPLACE INTO geo_map(key, kind) VALUES (?1, ?2)", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
    if ((rc = store__step_done(st, stmt, "mapping a geo key")))
        return rc;
    /* REPLACE deleted the old row, and its regions with it (ON DELETE CASCADE) */
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = store__prepare(st,
                                 "INSERT INTO geo_map_regions(key, position, region_id) "
                                 "VALUES (?1, ?2, ?3)",
                                 &stmt)))
            return rc;
        sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (int64_t)i);
        sqlite3_bind_int64(stmt, 3, region_ids[i]);
        rc = store__step_done(st, stmt, "mapping a geo key");
        if (rc == GTM_EEXIST)
            rc = store__failf(st, GTM_EINVAL, "a region is listed twice for %s", key);
    }
    return rc;
}

int store_geo_unmap(struct store *st, const char *key)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "DELETE FROM geo_map WHERE key = ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    if ((rc = store__step_done(st, stmt, "unmapping a geo key")))
        return rc;
    return sqlite3_changes(st->db) ? 0 : store__failf(st, GTM_ENOTFOUND, "%s is not mapped", key);
}

/* Rows come one per (key, region) in order; a key's rows are gathered, then reported. */
struct geo_gather {
    struct each e;
    struct store_geo g;
    char key[128], kind[16];
    char names[STORE_GEO_MAX_REGIONS][64];
};

static int geo_flush(struct geo_gather *gg)
{
    int rc = 0;
    if (gg->g.key)
        rc = ((store_geo_fn)gg->e.fn)(gg->e.arg, &gg->g);
    gg->g.key = NULL;
    gg->g.nregions = 0;
    return rc;
}

static int geo_row(sqlite3_stmt *stmt, void *ctx)
{
    struct geo_gather *gg = ctx;
    const char *key = store__text(stmt, 0);
    int rc = 0;
    if (gg->g.key && strcmp(gg->key, key) != 0)
        rc = geo_flush(gg);
    if (!gg->g.key) {
        snprintf(gg->key, sizeof gg->key, "%s", key);
        snprintf(gg->kind, sizeof gg->kind, "%s", store__text(stmt, 1));
        gg->g.key = gg->key;
        gg->g.kind = gg->kind;
    }
    size_t i = gg->g.nregions;
    if (sqlite3_column_type(stmt, 2) != SQLITE_NULL && i < STORE_GEO_MAX_REGIONS) {
        gg->g.region_ids[i] = sqlite3_column_int64(stmt, 2);
        snprintf(gg->names[i], sizeof gg->names[i], "%s", store__text(stmt, 3));
        gg->g.regions[i] = gg->names[i];
        gg->g.nregions++;
    }
    return rc;
}

int store_geo_foreach(struct store *st, store_geo_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct geo_gather gg = {.e = {(void *)fn, arg}};
    int rc = store__prepare(st,
                            "SELECT m.key, m.kind, g.region_id, r.name FROM geo_map m "
                            "LEFT JOIN geo_map_regions g ON g.key = m.key "
                            "LEFT JOIN regions r ON r.id = g.region_id "
                            "ORDER BY m.key, g.position",
                            &stmt);
    if (rc || (rc = store__each_row(st, stmt, geo_row, &gg, "listing the geo map")))
        return rc;
    return geo_flush(&gg);
}

/* ---- latency -------------------------------------------------------------------- */

int store_latency_set(struct store *st, const struct store_latency *l)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "INSERT OR REPLACE INTO latency(key, kind, region_id, ms) "
                            "VALUES (?1, ?2, ?3, ?4)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, l->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, l->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, l->region_id);
    sqlite3_bind_double(stmt, 4, l->ms);
    return store__step_done(st, stmt, "setting a latency");
}

static int latency_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_latency l = {
        .key = store__text(stmt, 0),
        .kind = store__text(stmt, 1),
        .region_id = sqlite3_column_int64(stmt, 2),
        .region = store__text(stmt, 3),
        .ms = sqlite3_column_double(stmt, 4),
    };
    return ((store_latency_fn)e->fn)(e->arg, &l);
}

int store_latency_foreach(struct store *st, store_latency_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT l.key, l.kind, l.region_id, r.name, l.ms FROM latency l "
                            "JOIN regions r ON r.id = l.region_id ORDER BY l.key, l.ms, r.name",
                            &stmt);
    return rc ? rc : store__each_row(st, stmt, latency_row, &e, "listing latencies");
}
