/* db/store_health.c — checks, what vantage points see, state-change events, RTT
 * samples, drills and drains. Written by gtm-healthd (states, samples) and gtmctl
 * (checks, drills, drains); read by gtm-dnsd between snapshots, and by gtmctl. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "db/internal.h"

/* A callback and its argument, for the row functions. */
struct each {
    void *fn;
    void *arg;
};

static void bind_text_or_null(sqlite3_stmt *stmt, int col, const char *s)
{
    if (s)
        sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, col);
}

static const char *text_or_null(sqlite3_stmt *stmt, int col)
{
    return sqlite3_column_type(stmt, col) == SQLITE_NULL ? NULL : store__text(stmt, col);
}

/* ---- checks ----------------------------------------------------------------------------- */

int store_check_set(struct store *st, const struct store_check *c)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "INSERT OR REPLACE INTO checks(endpoint_id, type, url, port, host, "
                            "query, probe_address, interval_ms, timeout_ms, rise, fall, "
                            "status_min, status_max, expect_body, insecure) VALUES "
                            "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, c->endpoint_id);
    sqlite3_bind_text(stmt, 2, c->type, -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 3, c->url);
    if (c->port)
        sqlite3_bind_int(stmt, 4, (int)c->port);
    bind_text_or_null(stmt, 5, c->host);
    bind_text_or_null(stmt, 6, c->query);
    bind_text_or_null(stmt, 7, c->probe_address);
    sqlite3_bind_int64(stmt, 8, c->interval_ms);
    sqlite3_bind_int64(stmt, 9, c->timeout_ms);
    sqlite3_bind_int64(stmt, 10, c->rise);
    sqlite3_bind_int64(stmt, 11, c->fall);
    sqlite3_bind_int64(stmt, 12, c->status_min);
    sqlite3_bind_int64(stmt, 13, c->status_max);
    bind_text_or_null(stmt, 14, c->expect_body);
    sqlite3_bind_int(stmt, 15, c->insecure);
    return store__step_done(st, stmt, "setting a check");
}

int store_check_rm(struct store *st, int64_t endpoint_id)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "DELETE FROM checks WHERE endpoint_id = ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, endpoint_id);
    if ((rc = store__step_done(st, stmt, "removing a check")))
        return rc;
    return sqlite3_changes(st->db) ? 0
                                   : store__failf(st, GTM_ENOTFOUND, "the endpoint has no check");
}

static int check_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_check c = {
        .endpoint_id = sqlite3_column_int64(stmt, 0),
        .pool = store__text(stmt, 1),
        .target = store__text(stmt, 2),
        .kind = (enum store_ep_kind)sqlite3_column_int(stmt, 3),
        .address = store__blob(stmt, 4),
        .address_len = (size_t)sqlite3_column_bytes(stmt, 4),
        .enabled = sqlite3_column_int(stmt, 5) != 0,
        .type = store__text(stmt, 6),
        .url = text_or_null(stmt, 7),
        .port = (uint32_t)sqlite3_column_int(stmt, 8),
        .host = text_or_null(stmt, 9),
        .query = text_or_null(stmt, 10),
        .probe_address = text_or_null(stmt, 11),
        .interval_ms = (uint32_t)sqlite3_column_int64(stmt, 12),
        .timeout_ms = (uint32_t)sqlite3_column_int64(stmt, 13),
        .rise = (uint32_t)sqlite3_column_int64(stmt, 14),
        .fall = (uint32_t)sqlite3_column_int64(stmt, 15),
        .status_min = (uint32_t)sqlite3_column_int64(stmt, 16),
        .status_max = (uint32_t)sqlite3_column_int64(stmt, 17),
        .expect_body = text_or_null(stmt, 18),
        .insecure = sqlite3_column_int(stmt, 19) != 0,
    };
    return ((store_check_fn)e->fn)(e->arg, &c);
}

int store_check_foreach(struct store *st, int64_t pool_id, store_check_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT c.endpoint_id, p.name, e.target, e.kind, e.address, e.enabled, "
                            "c.type, c.url, c.port, c.host, c.query, c.probe_address, "
                            "c.interval_ms, c.timeout_ms, c.rise, c.fall, c.status_min, "
                            "c.status_max, c.expect_body, c.insecure FROM checks c "
                            "JOIN endpoints e ON e.id = c.endpoint_id "
                            "JOIN pools p ON p.id = e.pool_id "
                            "WHERE ?1 = 0 OR e.pool_id = ?1 ORDER BY p.name, e.target",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, pool_id);
    return store__each_row(st, stmt, check_row, &e, "listing checks");
}

/* ---- vantage points and states ----------------------------------------------------------- */

static int first_int64(sqlite3_stmt *stmt, void *ctx)
{
    *(int64_t *)ctx = sqlite3_column_int64(stmt, 0);
    return 0;
}

int store_vantage_seen(struct store *st, const char *vantage, int64_t now_ms, int64_t *prev_ms)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "SELECT last_seen FROM vantages WHERE name = ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, vantage, -1, SQLITE_STATIC);
    *prev_ms = 0;
    if ((rc = store__each_row(st, stmt, first_int64, prev_ms, "reading a vantage point")))
        return rc;
    rc = store__prepare(st, "INSERT OR REPLACE INTO vantages(name, last_seen) VALUES (?1, ?2)",
                        &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, vantage, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now_ms);
    return store__step_done(st, stmt, "reporting a vantage point");
}

int store_health_set(struct store *st, const struct store_health *h)
{
    sqlite3_stmt *stmt = NULL;
    /* only while the endpoint has a check: a state probed before gtmctl check rm (and
     * written after it, the store having been locked) would stand for ever */
    int rc = store__prepare(st,
                            "INSERT INTO health(endpoint_id, vantage, state, since, reason, "
                            "rtt_us, checked) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
                            "WHERE EXISTS (SELECT 1 FROM checks WHERE endpoint_id = ?1) "
                            "ON CONFLICT(endpoint_id, vantage) DO UPDATE SET state = ?3, "
                            "since = ?4, reason = ?5, rtt_us = coalesce(?6, rtt_us), "
                            "checked = coalesce(?7, checked)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, h->endpoint_id);
    sqlite3_bind_text(stmt, 2, h->vantage, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, h->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 4, h->since_ms);
    sqlite3_bind_text(stmt, 5, h->reason ? h->reason : "", -1, SQLITE_STATIC);
    if (h->rtt_us >= 0)
        sqlite3_bind_int64(stmt, 6, h->rtt_us);
    if (h->checked_ms)
        sqlite3_bind_int64(stmt, 7, h->checked_ms);
    return store__step_done(st, stmt, "writing a health state");
}

/* Prepares an UPDATE of one health row (?1 endpoint, ?2 vantage, ?4 checked bound here;
 * the caller binds ?3). */
static int health_update(struct store *st, const char *sql, int64_t endpoint_id,
                         const char *vantage, int64_t checked_ms, sqlite3_stmt **stmt)
{
    int rc = store__prepare(st, sql, stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(*stmt, 1, endpoint_id);
    sqlite3_bind_text(*stmt, 2, vantage, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*stmt, 4, checked_ms);
    return 0;
}

int store_health_reason(struct store *st, int64_t endpoint_id, const char *vantage,
                        const char *reason, int64_t checked_ms)
{
    sqlite3_stmt *stmt = NULL;
    int rc = health_update(st,
                           "UPDATE health SET reason = ?3, checked = ?4 "
                           "WHERE endpoint_id = ?1 AND vantage = ?2",
                           endpoint_id, vantage, checked_ms, &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 3, reason, -1, SQLITE_STATIC);
    return store__step_done(st, stmt, "writing a health reason");
}

int store_health_sample(struct store *st, int64_t endpoint_id, const char *vantage, int64_t rtt_us,
                        int64_t now_ms)
{
    sqlite3_stmt *stmt = NULL;
    int rc = health_update(st,
                           "UPDATE health SET rtt_us = ?3, checked = ?4 "
                           "WHERE endpoint_id = ?1 AND vantage = ?2",
                           endpoint_id, vantage, now_ms, &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 3, rtt_us);
    if ((rc = store__step_done(st, stmt, "writing a round trip")))
        return rc;
    if ((rc = store__prepare(st,
                             "INSERT INTO rtt_samples(endpoint_id, vantage, ts, rtt_us) "
                             "VALUES (?1, ?2, ?3, ?4)",
                             &stmt)))
        return rc;
    sqlite3_bind_int64(stmt, 1, endpoint_id);
    sqlite3_bind_text(stmt, 2, vantage, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now_ms);
    sqlite3_bind_int64(stmt, 4, rtt_us);
    return store__step_done(st, stmt, "writing a round trip");
}

int store_rtt_prune(struct store *st, int64_t before_ms)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "DELETE FROM rtt_samples WHERE ts < ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, before_ms);
    return store__step_done(st, stmt, "pruning round trips");
}

int store_health_rm(struct store *st, int64_t endpoint_id)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "DELETE FROM health WHERE endpoint_id = ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, endpoint_id);
    return store__step_done(st, stmt, "forgetting health states");
}

static int health_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_health h = {
        .endpoint_id = sqlite3_column_int64(stmt, 0),
        .pool = store__text(stmt, 1),
        .target = store__text(stmt, 2),
        .vantage = store__text(stmt, 3),
        .state = store__text(stmt, 4),
        .since_ms = sqlite3_column_int64(stmt, 5),
        .reason = store__text(stmt, 6),
        .rtt_us = sqlite3_column_type(stmt, 7) == SQLITE_NULL ? -1 : sqlite3_column_int64(stmt, 7),
        .checked_ms = sqlite3_column_int64(stmt, 8),
        .vantage_seen_ms = sqlite3_column_int64(stmt, 9),
        .interval_ms = (uint32_t)sqlite3_column_int64(stmt, 10),
    };
    return ((store_health_fn)e->fn)(e->arg, &h);
}

int store_health_foreach(struct store *st, const char *vantage, store_health_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT h.endpoint_id, p.name, e.target, h.vantage, h.state, h.since, "
                            "h.reason, h.rtt_us, h.checked, coalesce(v.last_seen, 0), "
                            "coalesce(c.interval_ms, 0) FROM health h "
                            "JOIN endpoints e ON e.id = h.endpoint_id "
                            "JOIN pools p ON p.id = e.pool_id "
                            "LEFT JOIN vantages v ON v.name = h.vantage "
                            "LEFT JOIN checks c ON c.endpoint_id = h.endpoint_id "
                            "WHERE ?1 IS NULL OR h.vantage = ?1 ORDER BY h.endpoint_id, h.vantage",
                            &stmt);
    if (rc)
        return rc;
    bind_text_or_null(stmt, 1, vantage);
    return store__each_row(st, stmt, health_row, &e, "reading health states");
}

/* ---- events -------------------------------------------------------------------------------- */

int store_event_add(struct store *st, const struct store_event *ev)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "INSERT INTO health_events(ts, endpoint_id, target, vantage, old, new, "
                            "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, ev->ts_ms);
    if (ev->endpoint_id)
        sqlite3_bind_int64(stmt, 2, ev->endpoint_id);
    sqlite3_bind_text(stmt, 3, ev->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, ev->vantage, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, ev->old_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, ev->new_state, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 7, ev->reason ? ev->reason : "", -1, SQLITE_STATIC);
    return store__step_done(st, stmt, "writing an event");
}

static int event_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_event ev = {
        .id = sqlite3_column_int64(stmt, 0),
        .ts_ms = sqlite3_column_int64(stmt, 1),
        .endpoint_id = sqlite3_column_int64(stmt, 2),
        .target = store__text(stmt, 3),
        .vantage = store__text(stmt, 4),
        .old_state = store__text(stmt, 5),
        .new_state = store__text(stmt, 6),
        .reason = store__text(stmt, 7),
    };
    return ((store_event_fn)e->fn)(e->arg, &ev);
}

int store_event_foreach(struct store *st, int64_t since_ms, store_event_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT id, ts, coalesce(endpoint_id, 0), target, vantage, old, new, "
                            "reason FROM health_events WHERE ts >= ?1 ORDER BY ts, id",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, since_ms);
    return store__each_row(st, stmt, event_row, &e, "reading events");
}

/* ---- drills and drains ---------------------------------------------------------------------- */

int store_drill_add(struct store *st, const struct store_drill *d, int64_t *id_out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "INSERT INTO drills(region_id, endpoint_id, started, until, reason, "
                            "user) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            &stmt);
    if (rc)
        return rc;
    if (d->region_id)
        sqlite3_bind_int64(stmt, 1, d->region_id);
    if (d->endpoint_id)
        sqlite3_bind_int64(stmt, 2, d->endpoint_id);
    sqlite3_bind_int64(stmt, 3, d->started_ms);
    if (d->until_ms)
        sqlite3_bind_int64(stmt, 4, d->until_ms);
    sqlite3_bind_text(stmt, 5, d->reason ? d->reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, d->user, -1, SQLITE_STATIC);
    rc = store__step_done(st, stmt, "starting a drill");
    if (rc == GTM_EEXIST)
        return store__failf(st, rc, "a drill is already running there");
    if (rc == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_drill_rm(struct store *st, int64_t region_id, int64_t endpoint_id, int *removed)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "DELETE FROM drills WHERE (?1 = 0 AND ?2 = 0) OR region_id = ?1 "
                            "OR endpoint_id = ?2",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, region_id);
    sqlite3_bind_int64(stmt, 2, endpoint_id);
    if ((rc = store__step_done(st, stmt, "ending a drill")) == 0)
        *removed = sqlite3_changes(st->db);
    return rc;
}

static int drill_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_drill d = {
        .id = sqlite3_column_int64(stmt, 0),
        .region_id = sqlite3_column_int64(stmt, 1),
        .endpoint_id = sqlite3_column_int64(stmt, 2),
        .region = text_or_null(stmt, 3),
        .pool = text_or_null(stmt, 4),
        .target = text_or_null(stmt, 5),
        .started_ms = sqlite3_column_int64(stmt, 6),
        .until_ms = sqlite3_column_int64(stmt, 7),
        .reason = store__text(stmt, 8),
        .user = store__text(stmt, 9),
    };
    return ((store_drill_fn)e->fn)(e->arg, &d);
}

int store_drill_foreach(struct store *st, store_drill_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT d.id, coalesce(d.region_id, 0), coalesce(d.endpoint_id, 0), "
                            "r.name, p.name, e.target, d.started, coalesce(d.until, 0), d.reason, "
                            "d.user FROM drills d LEFT JOIN regions r ON r.id = d.region_id "
                            "LEFT JOIN endpoints e ON e.id = d.endpoint_id "
                            "LEFT JOIN pools p ON p.id = e.pool_id ORDER BY d.started, d.id",
                            &stmt);
    return rc ? rc : store__each_row(st, stmt, drill_row, &e, "listing drills");
}

int store_drill_expire(struct store *st, int64_t now_ms, const char *vantage, int *ended)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(
        st,
        "INSERT INTO health_events(ts, endpoint_id, target, vantage, old, new, reason) "
        "SELECT d.until, e.id, p.name || '/' || e.target, 'drill', 'down (drill)', "
        " coalesce((SELECT state FROM health WHERE endpoint_id = e.id AND vantage = ?2), "
        "          'unknown'), "
        " 'drill expired' || CASE WHEN d.reason != '' THEN ': ' || d.reason ELSE '' END "
        "FROM drills d JOIN endpoints e ON e.id = d.endpoint_id OR e.region_id = d.region_id "
        "JOIN pools p ON p.id = e.pool_id WHERE d.until IS NOT NULL AND d.until <= ?1",
        &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_text(stmt, 2, vantage, -1, SQLITE_STATIC);
    if ((rc = store__step_done(st, stmt, "recording expired drills")))
        return rc;
    if ((rc = store__prepare(st, "DELETE FROM drills WHERE until IS NOT NULL AND until <= ?1",
                             &stmt)))
        return rc;
    sqlite3_bind_int64(stmt, 1, now_ms);
    if ((rc = store__step_done(st, stmt, "ending expired drills")) == 0)
        *ended = sqlite3_changes(st->db);
    return rc;
}

int store_drain_set(struct store *st, const struct store_drain *d)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "INSERT OR REPLACE INTO drains(region_id, started, until) "
                            "VALUES (?1, ?2, ?3)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, d->region_id);
    sqlite3_bind_int64(stmt, 2, d->started_ms);
    sqlite3_bind_int64(stmt, 3, d->until_ms);
    return store__step_done(st, stmt, "starting a drain");
}

int store_drain_rm(struct store *st, int64_t region_id, int *removed)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "DELETE FROM drains WHERE region_id = ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, region_id);
    if ((rc = store__step_done(st, stmt, "ending a drain")) == 0)
        *removed = sqlite3_changes(st->db);
    return rc;
}

static int drain_row(sqlite3_stmt *stmt, void *ctx)
{
    struct each *e = ctx;
    struct store_drain d = {
        .region_id = sqlite3_column_int64(stmt, 0),
        .region = store__text(stmt, 1),
        .started_ms = sqlite3_column_int64(stmt, 2),
        .until_ms = sqlite3_column_int64(stmt, 3),
    };
    return ((store_drain_fn)e->fn)(e->arg, &d);
}

int store_drain_foreach(struct store *st, store_drain_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct each e = {(void *)fn, arg};
    int rc = store__prepare(st,
                            "SELECT d.region_id, r.name, d.started, d.until FROM drains d "
                            "JOIN regions r ON r.id = d.region_id ORDER BY r.name",
                            &stmt);
    return rc ? rc : store__each_row(st, stmt, drain_row, &e, "listing drains");
}

/* ---- what gtm-dnsd reads between snapshots ------------------------------------------------ */

int store_generation(struct store *st, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "SELECT n FROM generation WHERE id = 1", &stmt);
    if (rc)
        return rc;
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(stmt, 0);
    else
        rc = store__fail(st, src == SQLITE_DONE ? SQLITE_CORRUPT : src, "reading the generation");
    sqlite3_finalize(stmt);
    return rc;
}

struct flip_each {
    store_flip_fn fn;
    void *arg;
};

static int flip_row(sqlite3_stmt *stmt, void *ctx)
{
    struct flip_each *e = ctx;
    return e->fn(e->arg, sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1));
}

/* Each endpoint's latest flip between up and down since since_ms. */
static int flips_read(struct store *st, int64_t since_ms, store_flip_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    struct flip_each e = {fn, arg};
    int rc = store__prepare(st,
                            "SELECT endpoint_id, max(ts) FROM health_events WHERE ts >= ?1 "
                            "AND endpoint_id IS NOT NULL AND old IN ('up', 'down') "
                            "AND new IN ('up', 'down') AND old != new "
                            "GROUP BY endpoint_id ORDER BY endpoint_id",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, since_ms);
    return store__each_row(st, stmt, flip_row, &e, "reading flips");
}

int store_health_read(struct store *st, const struct store_health_fns *fns, void *arg,
                      int64_t *generation_out)
{
    int rc = store_read_begin(st);
    if (rc)
        return rc;
    if ((rc = store_generation(st, generation_out)) == 0 && fns->health)
        rc = store_health_foreach(st, NULL, fns->health, arg);
    if (rc == 0 && fns->drill)
        rc = store_drill_foreach(st, fns->drill, arg);
    if (rc == 0 && fns->drain)
        rc = store_drain_foreach(st, fns->drain, arg);
    if (rc == 0 && fns->flip)
        rc = flips_read(st, fns->flips_since_ms, fns->flip, arg);
    store_tx_end(st, false);
    return rc;
}
