/* db/store_backup.c — the whole store copied to a file, and put back from one (see
 * store.h). A backup is a plain SQLite file written by VACUUM INTO in one read
 * transaction; a restore stages the backup in memory, makes it newer than what is
 * served (generation, SOA serials, no stale health states), and copies it over the live
 * store with SQLite's backup API: one write transaction of the live connection, so the
 * daemons, which keep the store open, see the old data or the new, never a mix (a file
 * moved over a store that daemons hold open meets their -wal file and is corrupted). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "db/internal.h"
#include "db/serial.h"

int store_backup(struct store *st, const char *path)
{
    sqlite3_stmt *stmt = NULL;
    int rc = store__prepare(st, "VACUUM INTO ?1", &stmt);
    if (rc)
        return rc;
    sqlite3_bind_text(stmt, 1, path, -1, SQLITE_STATIC);
    return store__step_done(st, stmt, "writing the backup");
}

/* Copies database from over database to, page by page, in one transaction of to.
 * Failures are recorded on st. */
static int copy_whole(struct store *st, sqlite3 *from, sqlite3 *to, const char *what)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b)
        return store__failf(st, GTM_ESTORE, "%s: %s", what, sqlite3_errmsg(to));
    int step = sqlite3_backup_step(b, -1);
    int fin = sqlite3_backup_finish(b);
    if (step != SQLITE_DONE)
        return store__fail(st, step, what);
    return fin == SQLITE_OK ? 0 : store__fail(st, fin, what);
}

/* The zones of a store, by name, with their serials. */
struct zones {
    struct store_zone *v;
    size_t n;
};

static int zone_add(void *arg, const struct store_zone *z)
{
    struct zones *zs = arg;
    zs->v = xreallocarray(zs->v, zs->n + 1, sizeof *zs->v);
    zs->v[zs->n] = *z;
    zs->v[zs->n++].name = xstrdup(z->name);
    return 0;
}

static void zones_free(struct zones *zs)
{
    for (size_t i = 0; i < zs->n; i++)
        free((char *)zs->v[i].name);
    free(zs->v);
}

/* In the staged copy: each zone that is served now gets a serial past both its served
 * one and its backup's (RFC 1982), so that the restored data is a newer version. */
static int serials_past(struct store *stage, const struct zones *live, time_t now,
                        struct store_restore_info *info)
{
    struct zones staged = {0};
    int rc = store_zone_foreach(stage, zone_add, &staged);
    for (size_t i = 0; rc == 0 && i < staged.n; i++) {
        const struct store_zone *z = &staged.v[i];
        for (size_t j = 0; j < live->n; j++) {
            if (strcmp(live->v[j].name, z->name) != 0 || z->serial == 0)
                continue;
            uint32_t newest =
                serial_lt(z->serial, live->v[j].serial) ? live->v[j].serial : z->serial;
            if ((rc = store_zone_serial_set(stage, z->id, serial_next(newest, now))) == 0)
                info->serials_moved++;
            break;
        }
    }
    info->zones = staged.n;
    zones_free(&staged);
    return rc;
}

int store_restore(struct store *st, const char *path, time_t now, struct store_restore_info *info)
{
    struct store *backup = NULL, stage = {.path = ":memory:"};
    struct zones live = {0};
    char msg[sizeof st->errmsg];
    int64_t generation = 0;
    sqlite3_stmt *stmt = NULL;
    memset(info, 0, sizeof *info);
    /* a gtm store of this schema version (an older one is migrated first: gtmctl init) */
    int rc = store_open(path, STORE_READ, 0, &backup, msg, sizeof msg);
    if (rc)
        return store__failf(st, rc, "%s", msg);
    if (sqlite3_open(":memory:", &stage.db) != SQLITE_OK) {
        rc = store__failf(st, GTM_ESTORE, "no memory to stage the backup");
        goto out;
    }
    if ((rc = copy_whole(st, backup->db, stage.db, "reading the backup")))
        goto out;
    store_close(backup);
    backup = NULL;
    /* what is served now */
    if ((rc = store_read_begin(st)) || (rc = store_generation(st, &generation)) ||
        (rc = store_zone_foreach(st, zone_add, &live)))
        goto out;
    store_tx_end(st, false);
    /* the staged copy made newer: health states probed afresh (the backup's are old),
     * serials past the served ones, and a generation the daemons have not seen */
    if (sqlite3_exec(stage.db, "PRAGMA foreign_keys = ON; DELETE FROM health", NULL, NULL, NULL) !=
        SQLITE_OK) {
        rc = store__failf(st, GTM_ESTORE, "staging the backup: %s", sqlite3_errmsg(stage.db));
        goto out;
    }
    if ((rc = serials_past(&stage, &live, now, info))) {
        rc = store__failf(st, rc, "staging the backup: %s", stage.errmsg);
        goto out;
    }
    int src =
        sqlite3_prepare_v2(stage.db, "UPDATE generation SET n = max(n, ?1) + 1", -1, &stmt, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, generation);
        src = sqlite3_step(stmt);
    }
    if (src != SQLITE_DONE) {
        rc = store__failf(st, GTM_ESTORE, "staging the backup: %s", sqlite3_errmsg(stage.db));
        goto out;
    }
    rc = copy_whole(st, stage.db, st->db, "writing the store");
out:
    sqlite3_finalize(stmt);
    store_tx_end(st, false);
    store_close(backup);
    sqlite3_close(stage.db);
    zones_free(&live);
    return rc;
}
