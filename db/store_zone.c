/* db/store_zone.c — zones and their records in the store. Called by gtmctl (edits,
 * import, export) and by gtm-dnsd's snapshot compiler (reads). One connection per
 * thread; every statement is prepared, run and finalized inside one call. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "db/internal.h"
#include "db/serial.h"

/* RFC 1035 §3.3.13: SOA RDATA ends with SERIAL REFRESH RETRY EXPIRE MINIMUM, 32 bits
 * each, so the serial starts 20 bytes before the end. */
#define SOA_SERIAL_FROM_END 20

int store_zone_add(struct store *st, const char *name, int64_t *id_out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "INSERT INTO zones(name) VALUES (?1)", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    rc = store__step_done(st, stmt, "adding a zone");
    if (rc == GTM_EEXIST)
        return store__failf(st, rc, "zone %s already exists", name);
    if (rc == 0)
        *id_out = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_zone_find(struct store *st, const char *name, int64_t *id_out)
{
    return store__find_id(st, "SELECT id FROM zones WHERE name = ?1", name, id_out, "zone",
                          " in the store");
}

int store_zone_rm(struct store *st, int64_t id)
{
    return store__exec_id(st, "DELETE FROM zones WHERE id = ?1", id, "removing a zone");
}

int store_zone_clear(struct store *st, int64_t id)
{
    return store__exec_id(st, "DELETE FROM records WHERE zone_id = ?1", id, "clearing a zone");
}

static uint32_t soa_serial_of(const void *wire, int len)
{
    const uint8_t *p = (const uint8_t *)wire + len - SOA_SERIAL_FROM_END;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int store_zone_foreach(struct store *st, store_zone_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "SELECT z.id, z.name, "
                            " (SELECT wire FROM records WHERE zone_id = z.id AND type = 6), "
                            " (SELECT count(*) FROM records WHERE zone_id = z.id) "
                            "FROM zones z ORDER BY z.name",
                            &stmt);
    if (rc)
        return rc;
    int src;
    while (rc == 0 && (src = sqlite3_step(stmt)) == SQLITE_ROW) {
        int len = sqlite3_column_bytes(stmt, 2);
        struct store_zone z = {
            .id = sqlite3_column_int64(stmt, 0),
            .name = store__text(stmt, 1),
            .serial =
                len >= SOA_SERIAL_FROM_END ? soa_serial_of(sqlite3_column_blob(stmt, 2), len) : 0,
            .records = sqlite3_column_int64(stmt, 3),
        };
        rc = fn(arg, &z);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(st, src, "listing zones");
    sqlite3_finalize(stmt);
    return rc;
}

int store_zone_serial_get(struct store *st, int64_t id, uint32_t *serial_out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "SELECT wire FROM records WHERE zone_id = ?1 AND type = 6", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) >= SOA_SERIAL_FROM_END)
        *serial_out = soa_serial_of(sqlite3_column_blob(stmt, 0), sqlite3_column_bytes(stmt, 0));
    else if (src == SQLITE_ROW || src == SQLITE_DONE)
        rc = store__failf(st, GTM_ENOTFOUND, "the zone has no SOA record");
    else
        rc = store__fail(st, src, "reading the SOA serial");
    sqlite3_finalize(stmt);
    return rc;
}

/* Replaces the third field (the serial) of SOA presentation text "MNAME RNAME SERIAL
 * REFRESH RETRY EXPIRE MINIMUM". Names escape their spaces, so fields split on ' '. */
static int soa_text_with_serial(const char *text, uint32_t serial, char *out, size_t outlen)
{
    const char *p = text;
    for (int field = 0; field < 2; field++) {
        p = strchr(p, ' ');
        if (!p)
            return GTM_EPARSE;
        p++;
    }
    const char *rest = strchr(p, ' ');
    if (!rest)
        return GTM_EPARSE;
    int n = snprintf(out, outlen, "%.*s%u%s", (int)(p - text), text, serial, rest);
    return n > 0 && (size_t)n < outlen ? 0 : GTM_EPARSE;
}

int store_zone_serial_set(struct store *st, int64_t id, uint32_t serial)
{
    sqlite3_stmt *stmt = NULL;
    uint8_t wire[1024];
    char text[2048];
    int rc = store__prepare(st, "SELECT wire, rdata FROM records WHERE zone_id = ?1 AND type = 6",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    int src = sqlite3_step(stmt);
    int len = src == SQLITE_ROW ? sqlite3_column_bytes(stmt, 0) : 0;
    if (src == SQLITE_ROW && len >= SOA_SERIAL_FROM_END && (size_t)len <= sizeof wire) {
        memcpy(wire, sqlite3_column_blob(stmt, 0), (size_t)len);
        rc = soa_text_with_serial(store__text(stmt, 1), serial, text, sizeof text);
        if (rc)
            store__failf(st, rc, "the zone's SOA text is malformed");
    } else if (src == SQLITE_ROW || src == SQLITE_DONE) {
        rc = store__failf(st, GTM_ENOTFOUND, "the zone has no SOA record");
    } else {
        rc = store__fail(st, src, "reading the SOA record");
    }
    sqlite3_finalize(stmt);
    if (rc)
        return rc;
    uint8_t *p = wire + len - SOA_SERIAL_FROM_END;
    p[0] = (uint8_t)(serial >> 24);
    p[1] = (uint8_t)(serial >> 16);
    p[2] = (uint8_t)(serial >> 8);
    p[3] = (uint8_t)serial;
    if ((rc = store__prepare(st,
                             "UPDATE records SET wire = ?2, rdata = ?3 "
                             "WHERE zone_id = ?1 AND type = 6",
                             &stmt)))
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_blob(stmt, 2, wire, len, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, text, -1, SQLITE_STATIC);
    return store__step_done(st, stmt, "updating the SOA serial");
}

int store_zone_serial_bump(struct store *st, int64_t id, uint32_t before, time_t now,
                           uint32_t *serial_out)
{
    uint32_t cur = 0, next = serial_next(before, now);
    int rc = store_zone_serial_get(st, id, &cur);
    if (rc)
        return rc;
    if (serial_lt(next, cur))
        next = cur;
    if (next != cur && (rc = store_zone_serial_set(st, id, next)))
        return rc;
    *serial_out = next;
    return 0;
}

/* ---- records -------------------------------------------------------------------- */

int store_rr_add(struct store *st, int64_t zone_id, const struct store_rr *rr)
{
    int rc = 0;
    if (!st->rr_add) {
        int src = sqlite3_prepare_v3(st->db,
                                     "INSERT INTO records(zone_id, owner, type, ttl, rdata, wire) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                     -1, SQLITE_PREPARE_PERSISTENT, &st->rr_add, NULL);
        if (src != SQLITE_OK)
            return store__fail(st, src, "preparing a query");
    }
    sqlite3_stmt *stmt = st->rr_add;
    sqlite3_bind_int64(stmt, 1, zone_id);
    sqlite3_bind_text(stmt, 2, rr->owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, rr->type);
    sqlite3_bind_int64(stmt, 4, rr->ttl_s);
    sqlite3_bind_text(stmt, 5, rr->rdata, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 6, rr->wire, (int)rr->wire_len, SQLITE_STATIC);
    int src = sqlite3_step(stmt);
    if (src != SQLITE_DONE)
        rc = store__fail(st, src, "adding a record");
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc == GTM_EEXIST)
        store__failf(st, rc, "the record already exists");
    return rc;
}

int store_rr_rm(struct store *st, int64_t zone_id, const char *owner, uint16_t type,
                const uint8_t *wire, size_t wire_len, int *removed)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "DELETE FROM records WHERE zone_id = ?1 AND owner = ?2 AND type = ?3 "
                            "AND (?4 IS NULL OR wire = ?4)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, zone_id);
    sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, type);
    if (wire)
        sqlite3_bind_blob(stmt, 4, wire, (int)wire_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 4);
    rc = store__step_done(st, stmt, "removing records");
    if (rc == 0)
        *removed = sqlite3_changes(st->db);
    return rc;
}

int store_rrset_ttl_set(struct store *st, int64_t zone_id, const char *owner, uint16_t type,
                        uint32_t ttl_s)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "UPDATE records SET ttl = ?4 WHERE zone_id = ?1 AND owner = ?2 "
                            "AND type = ?3 AND ttl != ?4",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, zone_id);
    sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, type);
    sqlite3_bind_int64(stmt, 4, ttl_s);
    return store__step_done(st, stmt, "setting an RRset's TTL");
}

/* SQL: is name ?N strictly below the name in column c (keys; '.' is the root)? */
#define BELOW(n, c)                                                                                \
    "((" c " = '.' AND " n " != '.') OR substr(" n ", -length(" c ") - 1) = '.' || " c ")"
#define RECORDS_BELOW "SELECT 1 FROM records WHERE zone_id = ?1 AND " BELOW("owner", "?2")
#define POLICIES_BELOW "SELECT 1 FROM policies WHERE zone_id = ?1 AND " BELOW("name", "?2")

/* Runs sql with ?1 = zone_id, ?2 = name: *found says whether it gave a row, and out
 * (outlen bytes, may be NULL) gets that row's first column. */
static int zone_name_query(struct store *st, const char *sql, int64_t zone_id, const char *name,
                           const char *what, bool *found, char *out, size_t outlen)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, sql, &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, zone_id);
    sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
    int src = sqlite3_step(stmt);
    *found = src == SQLITE_ROW;
    if (out)
        snprintf(out, outlen, "%s", *found ? store__text(stmt, 0) : "");
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = store__fail(st, src, what);
    sqlite3_finalize(stmt);
    return rc;
}

int store_rr_below(struct store *st, int64_t zone_id, const char *owner, bool *any)
{
    static const char sql[] = RECORDS_BELOW " UNION ALL " POLICIES_BELOW " LIMIT 1";
    return zone_name_query(st, sql, zone_id, owner, "looking for names below a name", any, NULL, 0);
}

int store_dname_above(struct store *st, int64_t zone_id, const char *owner, char *above,
                      size_t abovelen)
{
    static const char sql[] =
        "SELECT owner FROM records AS d INDEXED BY records_dnames "
        "WHERE zone_id = ?1 AND type = 39 AND " BELOW("?2", "owner") " LIMIT 1";
    bool found;
    return zone_name_query(st, sql, zone_id, owner, "looking for a DNAME above a name", &found,
                           above, abovelen);
}

int store_rr_foreach(struct store *st, int64_t zone_id, const char *owner, store_rr_fn fn,
                     void *arg)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "SELECT owner, type, ttl, rdata, wire FROM records "
                            "WHERE zone_id = ?1 AND (?2 IS NULL OR owner = ?2) "
                            "ORDER BY owner, type, rdata",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, zone_id);
    if (owner)
        sqlite3_bind_text(stmt, 2, owner, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, 2);
    int src;
    while (rc == 0 && (src = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_rr rr = {
            .owner = store__text(stmt, 0),
            .type = (uint16_t)sqlite3_column_int(stmt, 1),
            .ttl_s = (uint32_t)sqlite3_column_int64(stmt, 2),
            .rdata = store__text(stmt, 3),
            .wire = store__blob(stmt, 4),
            .wire_len = (size_t)sqlite3_column_bytes(stmt, 4),
        };
        rc = fn(arg, &rr);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(st, src, "listing records");
    sqlite3_finalize(stmt);
    return rc;
}

/* ---- snapshots ------------------------------------------------------------------ */

static int snapshot_records(struct store *st, store_zone_rr_fn rr_fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "SELECT zone_id, owner, type, ttl, wire FROM records "
                            "ORDER BY zone_id, owner, type",
                            &stmt);
    if (rc)
        return rc;
    int src;
    while (rc == 0 && (src = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_rr rr = {
            .owner = store__text(stmt, 1),
            .type = (uint16_t)sqlite3_column_int(stmt, 2),
            .ttl_s = (uint32_t)sqlite3_column_int64(stmt, 3),
            .wire = store__blob(stmt, 4),
            .wire_len = (size_t)sqlite3_column_bytes(stmt, 4),
        };
        rc = rr_fn(arg, sqlite3_column_int64(stmt, 0), &rr);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(st, src, "reading records");
    sqlite3_finalize(stmt);
    return rc;
}

int store_snapshot_read(struct store *st, const struct store_snapshot_fns *fns, void *arg)
{
    int rc = store_read_begin(st);
    if (rc)
        return rc;
    if (fns->zone)
        rc = store_zone_foreach(st, fns->zone, arg);
    if (rc == 0 && fns->rr)
        rc = snapshot_records(st, fns->rr, arg);
    if (rc == 0 && fns->region)
        rc = store_region_foreach(st, fns->region, arg);
    if (rc == 0 && fns->pool)
        rc = store_pool_foreach(st, fns->pool, arg);
    if (rc == 0 && fns->endpoint)
        rc = store_endpoint_foreach(st, 0, fns->endpoint, arg);
    if (rc == 0 && fns->policy)
        rc = store_policy_foreach(st, fns->policy, arg);
    if (rc == 0 && fns->geo)
        rc = store_geo_foreach(st, fns->geo, arg);
    if (rc == 0 && fns->latency)
        rc = store_latency_foreach(st, fns->latency, arg);
    store_tx_end(st, false);
    return rc;
}
