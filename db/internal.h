/* db/internal.h — what the files of db/ share and nothing outside db/ may include:
 * the connection struct and the SQLite helpers. */
#ifndef GTM_DB_INTERNAL_H
#define GTM_DB_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "db/store.h"

struct store {
    sqlite3 *db;
    char *path;
    char errmsg[512];     /* detail of the last failure */
    int migrated_from;    /* schema version found by store_open() before migrating */
    sqlite3_stmt *rr_add; /* kept prepared: imports add records by the hundred thousand */
    sqlite3_stmt *held;   /* a row a caller still reads (store_endpoint_get) */
};

/* One schema step: version 1 is db/schema.sql, N is db/migrations/NNNN_*.sql. The
 * table is generated at build time by db/embed-sql.sh, ordered by version. */
struct store__migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct store__migration store__migrations[];
extern const size_t store__migrations_len;

/* Maps an SQLite result code to a GTM_E* code and records the detail (prefixed with
 * what, when not NULL) in st->errmsg. Returns the GTM_E* code. */
int store__fail(struct store *st, int sqlite_rc, const char *what);
/* Records a formatted detail and returns rc. */
int store__failf(struct store *st, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepares sql into *stmt; on failure records the detail and returns its GTM_E* code. */
int store__prepare(struct store *st, const char *sql, sqlite3_stmt **stmt);
/* Runs a statement that returns no rows (bound already) and finalizes it. */
int store__step_done(struct store *st, sqlite3_stmt *stmt, const char *what);
/* Runs sql with ?1 = id, which returns no rows. */
int store__exec_id(struct store *st, const char *sql, int64_t id, const char *what);
/* The text of the first row's first column of sql (with ?1 = id) into out; "" when
 * there is no row. */
int store__first_text(struct store *st, const char *sql, int64_t id, char *out, size_t outlen,
                      const char *what);
/* Steps stmt (prepared and bound), calling row(stmt, ctx) for each row until it returns
 * non-zero (returned); finalizes stmt. what names the query in errors. */
typedef int (*store__row_fn)(sqlite3_stmt *stmt, void *ctx);
int store__each_row(struct store *st, sqlite3_stmt *stmt, store__row_fn row, void *ctx,
                    const char *what);
/* The id (first column) of the row sql (with ?1 = name) returns; GTM_ENOTFOUND with
 * "no THING NAME WHERE" when there is none. */
int store__find_id(struct store *st, const char *sql, const char *name, int64_t *id_out,
                   const char *thing, const char *where);
/* Column text that is never NULL ("" for SQL NULL). */
const char *store__text(sqlite3_stmt *stmt, int col);
/* Column blob that is never NULL (SQLite returns NULL for an empty blob). */
const uint8_t *store__blob(sqlite3_stmt *stmt, int col);

#endif
