/* dnsd/loader.h — keeps the served snapshot in step with the store. Its own thread
 * polls the store cheaply (PRAGMA data_version, and the file's identity for a replaced
 * or deleted store), compiles a new snapshot when it changed, publishes it through
 * dnsd/rcu.h and frees the old one. A missing, locked, corrupt or half-migrated store
 * changes nothing: the last good snapshot keeps serving and the log says why. */
#ifndef GTM_DNSD_LOADER_H
#define GTM_DNSD_LOADER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dnsd/rcu.h"
#include "dnsd/snap.h"
#include "geo/geo.h"

struct store;
struct geo_db;

/* What identifies a GeoIP file's version: a replaced file gets a new identity. */
struct loader_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    bool exists;
};

struct loader {
    const char *path;
    uint32_t interval_ms;
    const char *const *geoip; /* .mmdb paths (--geoip) */
    size_t ngeoip;
    struct rcu *rcu;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;   /* under mu */
    bool forced; /* under mu: SIGHUP asked for a reload */
    bool running;
    /* loader thread only */
    struct store *st;
    dev_t dev;
    ino_t ino;
    int64_t data_version;
    int64_t config_generation; /* the store's, of the served snapshot */
    struct snap_health health; /* as last read; applied at every poll */
    uint64_t generation;
    char last_error[512]; /* logged once, not every poll */
    /* the store's data (data_version) failed to compile: nothing is usable again until
     * it changes; the reason, for the polls until then */
    int compile_rc;
    char compile_msg[512];
    /* GeoIP: the open databases (NULL: none, or they failed to open), the identities of
     * their files when last looked at and when the open ones were opened, and the
     * classifier the last snapshot built */
    struct geo_db *db;
    struct loader_file_id geo_ids[GEO_MAX_DBS], db_ids[GEO_MAX_DBS];
    uint64_t db_fingerprint;
    struct snap_geo *geo_cache;
};

/* Opens the store at path and the GeoIP databases (ngeoip paths; one that is missing
 * or corrupt is logged and left out; later, one that becomes so leaves the last good
 * ones in use), and compiles the first snapshot into *first,
 * synchronously. Returns 0, or an error with msg (start-up with no usable store is
 * fatal). */
int loader_init(struct loader *l, const char *path, uint32_t interval_ms, const char *const *geoip,
                size_t ngeoip, struct snap **first, char *msg, size_t msglen);
/* Starts the loader thread, publishing through rcu. */
int loader_start(struct loader *l, struct rcu *rcu);
/* Asks for a reload now (any thread, e.g. on SIGHUP). */
void loader_reload(struct loader *l);
/* Stops and joins the thread; closes the store. */
void loader_fini(struct loader *l);

#endif
