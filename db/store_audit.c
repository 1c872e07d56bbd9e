/* db/store_audit.c — the audit log: one row per change, written in the same
 * transaction as the change. Called by gtmctl. */
#include "config.h"

#include "common/err.h"
#include "db/internal.h"

static void bind_text_or_null(sqlite3_stmt *stmt, int col, const char *s)
{
    if (s)
        sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, col);
}

int store_audit_add(struct store *st, const struct store_audit *a)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "INSERT INTO audit(ts, user, zone, command, before, after) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, a->ts);
    sqlite3_bind_text(stmt, 2, a->user, -1, SQLITE_STATIC);
    bind_text_or_null(stmt, 3, a->zone);
    sqlite3_bind_text(stmt, 4, a->command, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, a->before ? a->before : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, a->after ? a->after : "", -1, SQLITE_STATIC);
    return store__step_done(st, stmt, "writing the audit log");
}

int store_audit_foreach(struct store *st, const char *zone, int limit, store_audit_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st,
                            "SELECT id, ts, user, zone, command, before, after FROM audit "
                            "WHERE ?1 IS NULL OR zone = ?1 ORDER BY id DESC LIMIT ?2",
                            &stmt);
    if (rc)
        return rc;
    bind_text_or_null(stmt, 1, zone);
    sqlite3_bind_int(stmt, 2, limit > 0 ? limit : -1);
    int src;
    while (rc == 0 && (src = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_audit a = {
            .id = sqlite3_column_int64(stmt, 0),
            .ts = sqlite3_column_int64(stmt, 1),
            .user = store__text(stmt, 2),
            .zone = sqlite3_column_type(stmt, 3) == SQLITE_NULL ? NULL : store__text(stmt, 3),
            .command = store__text(stmt, 4),
            .before = store__text(stmt, 5),
            .after = store__text(stmt, 6),
        };
        rc = fn(arg, &a);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(st, src, "reading the audit log");
    sqlite3_finalize(stmt);
    return rc;
}
