/* dnsd/loader.c — the store watcher and snapshot publisher (see loader.h). Loader
 * thread: the only dnsd thread that touches SQLite after start-up. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "db/store.h"
#include "dnsd/loader.h"
#include "geo/geo.h"

/* A reader on a WAL store is never blocked by writers; a short timeout covers
 * checkpoints and recovery, and the next poll tries again. */
#define LOADER_BUSY_TIMEOUT_MS 200

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Logs a problem once until it changes or goes away. */
static void trouble(struct loader *l, const char *msg)
{
    if (strcmp(l->last_error, msg) == 0)
        return;
    snprintf(l->last_error, sizeof l->last_error, "%s", msg);
    struct snap *cur = l->rcu ? rcu_current(l->rcu) : NULL;
    log_warn("store %s: %s; still serving the last good snapshot (generation %llu)", l->path, msg,
             cur ? (unsigned long long)cur->generation : 0ull);
}

static int open_store(struct loader *l, char *msg, size_t msglen)
{
    struct stat sb;
    int rc = store_open(l->path, STORE_READ, LOADER_BUSY_TIMEOUT_MS, &l->st, msg, msglen);
    if (rc)
        return rc;
    store_busy_timeout_set(l->st, LOADER_BUSY_TIMEOUT_MS);
    if (stat(l->path, &sb) == 0) {
        l->dev = sb.st_dev;
        l->ino = sb.st_ino;
    }
    l->data_version = -1; /* compile at least once on a new connection */
    return 0;
}

/* ---- GeoIP files ---------------------------------------------------------------------- */

static struct loader_file_id file_id(const char *path)
{
    struct stat sb;
    struct loader_file_id id = {0};
    if (stat(path, &sb) == 0) {
        id.dev = sb.st_dev;
        id.ino = sb.st_ino;
        id.size = sb.st_size;
        id.mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        id.exists = true;
    }
    return id;
}

static bool file_id_equal(const struct loader_file_id *a, const struct loader_file_id *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns;
}

/* Did a file of the open databases change where it lies (written over in place, not
 * replaced by another file)? Their mapping then no longer holds what was opened. */
static bool geo_changed_in_place(const struct loader *l, const struct loader_file_id *ids)
{
    for (size_t i = 0; i < l->ngeoip; i++) {
        if (ids[i].exists && l->db_ids[i].exists && ids[i].dev == l->db_ids[i].dev &&
            ids[i].ino == l->db_ids[i].ino)
            return true;
    }
    return false;
}

/* (Re)opens the GeoIP databases when their files changed. Returns whether the data
 * clients are placed by changed. A missing or corrupt file is logged. If databases were
 * open, they stay in use until the files are fixed (the last good data, as for the
 * store), unless a file was written over in place (its mapping is no longer what was
 * opened); with none, every client is at an unknown place, which the geo map's '*'
 * entry answers. */
static bool geo_refresh(struct loader *l, bool first)
{
    bool changed = first;
    struct loader_file_id ids[GEO_MAX_DBS];
    for (size_t i = 0; i < l->ngeoip; i++) {
        ids[i] = file_id(l->geoip[i]);
        changed |= !file_id_equal(&ids[i], &l->geo_ids[i]);
    }
    if (!changed)
        return false;
    memcpy(l->geo_ids, ids, l->ngeoip * sizeof ids[0]); /* tried again when they change */
    if (!l->ngeoip)
        return true;
    char msg[512];
    struct geo_db *db = NULL;
    if (geo_db_open(l->geoip, l->ngeoip, &db, msg, sizeof msg) != 0) {
        if (l->db && !geo_changed_in_place(l, ids)) {
            log_err("%s; still placing clients by the GeoIP data loaded before", msg);
            return false;
        }
        log_err("%s; until it is replaced every client maps to the geo map's '*' entry%s", msg,
                l->db ? " (the file was written over in place, so the data loaded before is "
                        "gone too: replace it by renaming a new file over it)"
                      : "");
    } else {
        log_info("GeoIP: %zu database%s open (%s%s)", l->ngeoip, l->ngeoip > 1 ? "s" : "",
                 l->geoip[0], l->ngeoip > 1 ? ", ..." : "");
    }
    geo_db_close(l->db);
    l->db = db;
    memcpy(l->db_ids, ids, l->ngeoip * sizeof ids[0]);
    /* the identity of what the classifier is built from: files, and whether they opened */
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < l->ngeoip; i++) {
        const uint64_t parts[] = {ids[i].dev, ids[i].ino, (uint64_t)ids[i].size,
                                  (uint64_t)ids[i].mtime_ns, ids[i].exists};
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
            h = (h ^ parts[k]) * 1099511628211ULL;
    }
    l->db_fingerprint = h ^ (l->db != NULL);
    return true;
}

/* ---- snapshots ------------------------------------------------------------------------- */

/* Nothing new to compile: the last compile's failure stands, if it failed. */
static int still_failing(const struct loader *l, char *msg, size_t msglen)
{
    if (l->compile_rc)
        snprintf(msg, msglen, "%s", l->compile_msg);
    return l->compile_rc;
}

/* Compiles a snapshot if the store changed (or force). *out: the new one, or NULL. */
static int maybe_compile(struct loader *l, bool force, struct snap **out, char *msg, size_t msglen)
{
    struct stat sb;
    int64_t version = 0;
    int rc;
    *out = NULL;
    if (l->st && (stat(l->path, &sb) != 0 || sb.st_dev != l->dev || sb.st_ino != l->ino)) {
        /* deleted or replaced: the old file may still be readable, but it is no longer
         * the store; reopen (which fails while the path is missing) */
        store_close(l->st);
        l->st = NULL;
    }
    if (!l->st && (rc = open_store(l, msg, msglen)))
        return rc;
    if ((rc = store_data_version(l->st, &version))) {
        snprintf(msg, msglen, "%s", store_errmsg(l->st));
        store_close(l->st); /* a fresh connection next time */
        l->st = NULL;
        return rc;
    }
    if (!force && version == l->data_version)
        return still_failing(l, msg, msglen);
    /* Something was committed. Health (vantage reports, drills, drains) is re-read every
     * time and applied in place; only a change of configuration needs a new snapshot. */
    int64_t config = 0;
    if ((rc = snap_health_load(l->st, &l->health, &config))) {
        snprintf(msg, msglen, "%s", store_errmsg(l->st));
        return rc;
    }
    if (!force && config == l->config_generation && l->data_version >= 0) {
        l->data_version = version;
        return still_failing(l, msg, msglen);
    }
    struct snap_geo_source geo = {l->db, l->db_fingerprint, &l->geo_cache};
    rc = snap_compile(l->st, l->generation + 1, &geo, out, msg, msglen);
    /* after a failure too: the same data would fail again; wait for the next change */
    l->data_version = version;
    l->config_generation = config;
    l->compile_rc = rc;
    snprintf(l->compile_msg, sizeof l->compile_msg, "%s", rc ? msg : "");
    if (rc)
        return rc;
    l->generation++;
    /* a new snapshot starts from the current health, before anyone reads it */
    if (l->rcu)
        snap_health_carry(*out, rcu_current(l->rcu));
    snap_health_apply(*out, &l->health, clock_wall_ms(), true);
    return 0;
}

int loader_init(struct loader *l, const char *path, uint32_t interval_ms, const char *const *geoip,
                size_t ngeoip, struct snap **first, char *msg, size_t msglen)
{
    memset(l, 0, sizeof *l);
    l->path = path;
    l->interval_ms = interval_ms;
    l->geoip = geoip;
    l->ngeoip = ngeoip < GEO_MAX_DBS ? ngeoip : GEO_MAX_DBS;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    geo_refresh(l, true);
    uint64_t t0 = now_ms();
    int rc = maybe_compile(l, true, first, msg, msglen);
    if (rc == 0)
        log_info("loaded %zu zones, %zu records (%zu names) from %s in %llu ms", (*first)->nzones,
                 (*first)->nrecords, (*first)->nnodes, path, (unsigned long long)(now_ms() - t0));
    return rc;
}

static void *loader_main(void *arg)
{
    struct loader *l = arg;
    char msg[512];
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)l->interval_ms * 1000000u;
        until.tv_sec += (time_t)(ns / 1000000000u);
        until.tv_nsec = (long)(ns % 1000000000u);
        if (!l->forced)
            pthread_cond_timedwait(&l->cv, &l->mu, &until);
        if (l->stop)
            break;
        bool force = l->forced;
        l->forced = false;
        pthread_mutex_unlock(&l->mu);
        force |= geo_refresh(l, false); /* a replaced GeoIP file: rebuild the classifier */

        struct snap *next = NULL;
        uint64_t t0 = now_ms();
        int rc = maybe_compile(l, force, &next, msg, sizeof msg);
        if (rc == GTM_ENOTFOUND) /* not the store's advice to create one: it would be served */
            snprintf(msg, sizeof msg,
                     "the file is gone (moved or deleted?): put it back; a new "
                     "store made with gtmctl init would be served as it is, "
                     "with no zones");
        if (rc) {
            trouble(l, msg);
        } else if (next) {
            uint64_t compiled = now_ms();
            struct snap *old = rcu_publish(l->rcu, next);
            log_info("reloaded generation %llu%s: %zu zones, %zu records (%zu names); compiled "
                     "in %llu ms, swapped in %llu ms",
                     (unsigned long long)next->generation, force ? " (forced)" : "", next->nzones,
                     next->nrecords, next->nnodes, (unsigned long long)(compiled - t0),
                     (unsigned long long)(now_ms() - compiled));
            if (next->nzones == 0 && old && old->nzones)
                log_warn("the store has no zone any more (it had %zu): every query is "
                         "REFUSED now; if that is not meant, restore a backup "
                         "(gtmctl restore)",
                         old->nzones);
            snap_free(old);
            /* hand the old snapshot's pages back to the system: glibc keeps freed
             * memory of this thread's arena otherwise, and a big zone's resident size
             * would stay at two snapshots after every reload */
            malloc_trim(0);
            if (l->last_error[0]) {
                log_info("store %s is usable again", l->path);
                l->last_error[0] = '\0';
            }
        } else if (l->last_error[0]) {
            log_info("store %s is usable again", l->path);
            l->last_error[0] = '\0';
        }
        /* time alone moves health: reports age out, drills expire, drains step down */
        snap_health_apply(rcu_current(l->rcu), &l->health, clock_wall_ms(), true);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int loader_start(struct loader *l, struct rcu *rcu)
{
    l->rcu = rcu;
    int rc = pthread_create(&l->thread, NULL, loader_main, l);
    l->running = rc == 0;
    return -rc;
}

void loader_reload(struct loader *l)
{
    pthread_mutex_lock(&l->mu);
    l->forced = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void loader_fini(struct loader *l)
{
    if (l->running) {
        pthread_mutex_lock(&l->mu);
        l->stop = true;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
        l->running = false;
    }
    store_close(l->st);
    l->st = NULL;
    snap_geo_release(l->geo_cache);
    l->geo_cache = NULL;
    snap_health_fini(&l->health);
    geo_db_close(l->db);
    l->db = NULL;
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}
