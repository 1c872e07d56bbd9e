/* db/store.c — opening the store, migrations, transactions and error mapping.
 * Called by every gtm binary; one connection per thread. SQLite does the locking:
 * WAL mode lets gtm-dnsd read while gtmctl or gtm-healthd write. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "db/internal.h"

/* What a WAL file is cut back to after a checkpoint, in bytes. */
#define STORE_WAL_KEEP "4194304"
/* PRAGMA application_id of a gtm store ("gtm" + 0), so gtm refuses other databases. */
#define STORE_APPLICATION_ID 0x67746d00
/* Pause between attempts when a lock SQLite does not wait for is taken. */
#define STORE_RETRY_MS 20

/* ---- errors --------------------------------------------------------------------- */

int store__failf(struct store *st, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
    return rc;
}

int store__fail(struct store *st, int sqlite_rc, const char *what)
{
    int rc;
    switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return store__failf(st, GTM_EBUSY,
                            "the store %s is busy: another process holds its write lock", st->path);
    case SQLITE_CONSTRAINT:
        rc = (sqlite_rc == SQLITE_CONSTRAINT_UNIQUE || sqlite_rc == SQLITE_CONSTRAINT_PRIMARYKEY)
                 ? GTM_EEXIST
                 : GTM_ECONSTRAINT;
        break;
    case SQLITE_FULL:
        return store__failf(st, GTM_ESTORE,
                            "%s%sthe file system holding the store %s is full: free space there "
                            "and try again",
                            what ? what : "", what ? ": " : "", st->path);
    case SQLITE_NOMEM: rc = -ENOMEM; break;
    case SQLITE_NOTFOUND: rc = GTM_ENOTFOUND; break;
    default: rc = GTM_ESTORE; break;
    }
    return store__failf(st, rc, "%s%s%s", what ? what : "", what ? ": " : "",
                        st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(sqlite_rc));
}

int store__prepare(struct store *st, const char *sql, sqlite3_stmt **stmt)
{
    int src = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);
    return src == SQLITE_OK ? 0 : store__fail(st, src, "preparing a query");
}

int store__step_done(struct store *st, sqlite3_stmt *stmt, const char *what)
{
    int src = sqlite3_step(stmt);
    int rc = src == SQLITE_DONE ? 0 : store__fail(st, src, what);
    sqlite3_finalize(stmt);
    return rc;
}

int store__exec_id(struct store *st, const char *sql, int64_t id, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, sql, &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    return store__step_done(st, stmt, what);
}

int store__first_text(struct store *st, const char *sql, int64_t id, char *out, size_t outlen,
                      const char *what)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, sql, &stmt);
    if (rc)
        return rc;
    sqlite3_bind_int64(stmt, 1, id);
    int src = sqlite3_step(stmt);
    out[0] = '\0';
    if (src == SQLITE_ROW)
        snprintf(out, outlen, "%s", store__text(stmt, 0));
    else if (src != SQLITE_DONE)
        rc = store__fail(st, src, what);
    sqlite3_finalize(stmt);
    return rc;
}

int store__each_row(struct store *st, sqlite3_stmt *stmt, store__row_fn row, void *ctx,
                    const char *what)
{
    int rc = 0, src;
    while (rc == 0 && (src = sqlite3_step(stmt)) == SQLITE_ROW)
        rc = row(stmt, ctx);
    if (rc == 0 && src != SQLITE_DONE)
        rc = store__fail(st, src, what);
    sqlite3_finalize(stmt);
    return rc;
}

int store__find_id(struct store *st, const char *sql, const char *name, int64_t *id_out,
                   const char *thing, const char *where)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, sql, &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW)
        *id_out = sqlite3_column_int64(stmt, 0);
    else if (src == SQLITE_DONE)
        rc = store__failf(st, GTM_ENOTFOUND, "no %s %s%s", thing, name, where);
    else
        rc = store__fail(st, src, thing);
    sqlite3_finalize(stmt);
    return rc;
}

const char *store__text(sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    return t ? (const char *)t : "";
}

const uint8_t *store__blob(sqlite3_stmt *stmt, int col)
{
    static const uint8_t empty[1];
    const void *b = sqlite3_column_blob(stmt, col);
    return b ? b : empty;
}

const char *store_errmsg(const struct store *st)
{
    return st->errmsg;
}

/* ---- open and migrate ----------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int store_schema_latest(void)
{
    return store__migrations[store__migrations_len - 1].version;
}

static int pragma_int(struct store *st, const char *pragma, int *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, pragma, &stmt);
    if (rc)
        return rc;
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        *out = sqlite3_column_int(stmt, 0);
        rc = 0;
    } else {
        rc = store__fail(st, src, "reading the store header");
    }
    sqlite3_finalize(stmt);
    return rc;
}

int store_schema_version(struct store *st, int *out)
{
    return pragma_int(st, "PRAGMA user_version", out);
}

int store_migrated_from(const struct store *st)
{
    return st->migrated_from;
}

static int exec(struct store *st, const char *sql, const char *what)
{
    int src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? 0 : store__fail(st, src, what);
}

/* 0 when this process may write path and the directory it is in, else the errno that
 * says why not (EACCES, EROFS). */
static int writable_here(const char *path)
{
    char *copy = xstrdup(path);
    int err = access(path, W_OK) == 0 && access(dirname(copy), W_OK) == 0 ? 0 : errno;
    free(copy);
    return err;
}

/* Is this an empty database, a gtm store, or something else? Sets *version. The
 * three reads share one read transaction, so a concurrent migration is seen whole. */
static int check_identity(struct store *st, int *version)
{
    int app_id = 0, tables = 0, rc;
    bool own_tx = sqlite3_get_autocommit(st->db);
    if (own_tx && (rc = exec(st, "BEGIN DEFERRED", "reading the store header")))
        return rc;
    if ((rc = pragma_int(st, "PRAGMA application_id", &app_id)) == 0 &&
        (rc = pragma_int(st, "PRAGMA user_version", version)) == 0)
        rc = pragma_int(st, "SELECT count(*) FROM sqlite_master", &tables);
    if (own_tx)
        store_tx_end(st, false);
    if (rc) {
        char detail[sizeof st->errmsg];
        snprintf(detail, sizeof detail, "%s", st->errmsg);
        int err = writable_here(st->path);
        if (err == EROFS)
            return store__failf(st, rc,
                                "%s: %s (SQLite writes beside a store even to read it, its -wal "
                                "and -shm files, and the file system is mounted read-only)",
                                st->path, detail);
        if (err)
            return store__failf(st, rc,
                                "%s: %s (SQLite writes beside a store even to read it, its -wal "
                                "and -shm files, and this user may not write the file or its "
                                "directory: run as the store's owner, or give write access)",
                                st->path, detail);
        return store__failf(st, rc, "%s: %s", st->path, detail);
    }
    if (app_id == STORE_APPLICATION_ID || (app_id == 0 && tables == 0 && *version == 0))
        return 0;
    return store__failf(st, GTM_ESTORE, "%s is an SQLite database but not a gtm store", st->path);
}

/* Applies every migration newer than the store's version in one transaction. */
static int migrate(struct store *st)
{
    int version = 0, rc;
    if ((rc = store_tx_begin(st)))
        return rc;
    /* Read again under the write lock: another process may have migrated meanwhile. */
    if ((rc = check_identity(st, &version)))
        goto out;
    st->migrated_from = version;
    for (size_t i = 0; i < store__migrations_len; i++) {
        const struct store__migration *m = &store__migrations[i];
        char what[128], pragma[96];
        if (m->version <= version)
            continue;
        snprintf(what, sizeof what, "applying migration %s", m->name);
        if ((rc = exec(st, m->sql, what)))
            goto out;
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 m->version, STORE_APPLICATION_ID);
        if ((rc = exec(st, pragma, what)))
            goto out;
    }
out:
    if (rc == 0)
        return store_tx_end(st, true);
    store_tx_end(st, false);
    return rc;
}

int store_open(const char *path, enum store_mode mode, int busy_ms, struct store **out, char *msg,
               size_t msglen)
{
    struct store *st = xcalloc(1, sizeof *st);
    struct stat sb;
    int version = 0, rc = 0, src;
    int flags = mode == STORE_READ ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (mode == STORE_CREATE)
        flags |= SQLITE_OPEN_CREATE;
    st->path = xstrdup(path);

    if (mode != STORE_CREATE && stat(path, &sb) != 0) {
        rc = store__failf(st, GTM_ENOTFOUND, "no store at %s (%s); create one with: gtmctl init",
                          path, strerror(errno));
        goto out;
    }
    src = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = store__fail(st, src, "opening the store");
        store__failf(st, rc, "cannot open the store %s: %s", path,
                     st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(src));
        goto out;
    }
    sqlite3_extended_result_codes(st->db, 1);
    store_busy_timeout_set(st, busy_ms ? busy_ms : STORE_BUSY_TIMEOUT_MS);
    /* journal_size_limit: the WAL shrinks back after a checkpoint (a large import
     * would leave it at its largest for as long as a daemon has the store open) */
    if ((rc = exec(st, "PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = " STORE_WAL_KEEP,
                   "setting up the connection")) ||
        (rc = check_identity(st, &version)))
        goto out;
    st->migrated_from = version;
    if (version > store_schema_latest()) {
        rc = store__failf(st, GTM_ESCHEMA,
                          "the store %s has schema version %d, newer than this gtm's %d: "
                          "upgrade gtm",
                          path, version, store_schema_latest());
        goto out;
    }
    if (mode == STORE_READ) {
        if (version < store_schema_latest())
            rc = store__failf(st, GTM_ESCHEMA,
                              "the store %s has schema version %d, older than this gtm's %d: "
                              "run gtmctl init to migrate it",
                              path, version, store_schema_latest());
        goto out;
    }
    if (version == store_schema_latest())
        goto out; /* current: no lock needed */
    if (version == 0 && mode == STORE_WRITE) {
        /* an empty file, or an SQLite file with no tables: only gtmctl init makes a store */
        rc = store__failf(st, GTM_ESCHEMA,
                          "%s is empty, no gtm store yet: create it with gtmctl init (and if "
                          "a store was there, gtmctl restore its backup then)",
                          path);
        goto out;
    }
    /* A new or older store: WAL (readers such as gtm-dnsd never block the writer, nor
     * the writer them), then the migrations. Switching the journal mode of a new file
     * takes a lock SQLite does not wait for, so another process creating the same store
     * at once can make it fail: retry until the busy timeout has passed. */
    for (uint64_t start = now_ms();;) {
        rc = exec(st, "PRAGMA journal_mode = WAL", "enabling WAL");
        if (rc == 0)
            rc = migrate(st);
        if (rc != GTM_EBUSY ||
            now_ms() - start >= (uint64_t)(busy_ms ? busy_ms : STORE_BUSY_TIMEOUT_MS))
            break;
        nanosleep(&(struct timespec){0, STORE_RETRY_MS * 1000000L}, NULL);
    }
out:
    if (rc) {
        if (msg)
            snprintf(msg, msglen, "%s", st->errmsg);
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->rr_add);
    sqlite3_finalize(st->held);
    sqlite3_close(st->db); /* every other statement is finalized where it was prepared */
    free(st->path);
    free(st);
}

void store_busy_timeout_set(struct store *st, int ms)
{
    sqlite3_busy_timeout(st->db, ms);
}

/* ---- transactions --------------------------------------------------------------- */

int store_tx_begin(struct store *st)
{
    return exec(st, "BEGIN IMMEDIATE", "starting a write transaction");
}

int store_read_begin(struct store *st)
{
    /* A deferred transaction takes its snapshot at the first read; read now so the
     * view starts here and a locked or corrupt store is reported at once. */
    int unused;
    int rc = exec(st, "BEGIN DEFERRED", "starting a read transaction");
    if (rc == 0 && (rc = pragma_int(st, "SELECT count(*) FROM zones", &unused)))
        store_tx_end(st, false);
    return rc;
}

int store_tx_end(struct store *st, bool commit)
{
    if (sqlite3_get_autocommit(st->db))
        return 0;
    if (commit)
        return exec(st, "COMMIT", "committing");
    exec(st, "ROLLBACK", "rolling back");
    return 0;
}

int store_data_version(struct store *st, int64_t *out)
{
    int v = 0;
    int rc = pragma_int(st, "PRAGMA data_version", &v);
    if (rc == 0)
        *out = v;
    return rc;
}
