/* healthd/writer.h — gtm-healthd's store thread: the only thread that touches SQLite.
 * It reads the checks at start and whenever the store changes (PRAGMA data_version,
 * then the configuration generation, every poll interval, or at once on SIGHUP) and
 * hands them to the loop (uv_async_send; the loop takes the latest set). The loop
 * hands it state changes and RTT samples by pointer through a mutex-protected queue;
 * it writes them in short transactions: every state change at once (health row and
 * event in one transaction), RTT samples batched (the latest per endpoint), the
 * vantage point's heartbeat every second (a heartbeat of another process found in its
 * place is logged: one vantage name in two gtm-healthd), and prunes old samples now and
 * then. A
 * locked or busy store is retried with everything kept queued, logged once per
 * outage, never fatal. */
#ifndef GTM_HEALTHD_WRITER_H
#define GTM_HEALTHD_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "healthd/hysteresis.h"

struct store;
struct probe_cfg;
struct writer_item;

/* The vantage point says it is alive this often (dnsd ages a vantage point out after
 * HEALTH_FRESH_INTERVALS check intervals, at least 3 s). */
#define WRITER_SEEN_MS 1000
/* Each write attempt waits this long for another writer's lock; a held lock is then
 * retried every WRITER_RETRY_MS, so the thread stays responsive (SIGTERM, reloads). */
#define WRITER_BUSY_MS 100
#define WRITER_RETRY_MS 250
/* At exit, the last flush waits longer for a lock: what it cannot write is lost. */
#define WRITER_FINAL_BUSY_MS 2000
/* RTT samples older than an hour are pruned every ten minutes: enough history for
 * gtmctl status and latency views, bounded table size (1,000 endpoints: 3.6 M rows). */
#define WRITER_RTT_KEEP_MS (60 * 60 * 1000)
#define WRITER_PRUNE_EVERY_MS (10 * 60 * 1000)
/* How often another process reporting under our vantage name is logged while it lasts. */
#define TWIN_WARN_MS (10 * 60 * 1000)
/* State changes kept while the store is unwritable; past this the oldest are dropped
 * (with a log line): memory stays bounded however long the outage. */
#define WRITER_PENDING_MAX 100000

/* The checks to run: enabled endpoints only, by endpoint id. Owned by whoever holds
 * the pointer; freed with writer_checks_free(). */
struct writer_checks {
    struct probe_cfg **v;
    size_t n;
};
void writer_checks_free(struct writer_checks *set);

/* A state change for the store: the health row of this vantage point and an event. With
 * old_state == new_state, the same state for another reason: the row's reason only. */
struct writer_transition {
    int64_t endpoint_id;
    const char *name;                     /* "pool/target" */
    enum hyst_state old_state, new_state; /* new_state is up or down */
    const char *reason;                   /* the deciding probe's, "HTTP 503" */
    int64_t ts_ms;                        /* unix ms */
    int64_t rtt_us;                       /* the deciding probe's round trip, -1: failed */
};

/* RTT samples awaiting their batch: the latest per endpoint (open addressing on the
 * endpoint id, which SQLite makes > 0). Store thread only. */
struct writer_sample {
    int64_t endpoint_id; /* 0: empty slot */
    int64_t rtt_us;
    int64_t ts_ms;
};

struct writer {
    /* set by writer_open, read-only afterwards */
    const char *path;
    const char *vantage;
    uint32_t poll_ms, rtt_batch_ms;
    pthread_t thread;
    bool is_open;    /* writer_open ran: mu and cv exist */
    bool is_running; /* the thread runs */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    bool is_stopping, is_reload_asked, has_urgent; /* has_urgent: a state change queued */
    bool lost_at_exit;                             /* the last flush could not write everything */
    struct writer_item *queue, **queue_tail;       /* from the loop, oldest first */
    struct writer_checks *latest;                  /* checks the loop has not taken yet */
    uv_async_t *async;                             /* NULL once the loop closed it */
    /* store thread only (and writer_open before it starts) */
    struct store *st;
    dev_t dev; /* the store file's identity when opened: a replaced file is reopened */
    ino_t ino;
    int64_t data_version, generation;
    struct writer_item *pending, **pending_tail; /* state changes not written yet */
    size_t npending;
    struct writer_sample *samples;
    size_t nsamples, samples_cap;
    uint64_t next_poll_ms, next_seen_ms, next_batch_ms, next_prune_ms, retry_ms; /* monotonic */
    uint64_t outage_start_ms; /* 0: the last write worked */
    int64_t beat_ms;          /* the last heartbeat stored (wall clock), 0: none in this file */
    uint64_t twin_warned_ms;  /* when another process under our vantage name was last logged */
    uint64_t dropped;         /* state changes dropped during this outage */
    char **bad, **bad_prev;   /* unusable checks of the last two reads, as logged */
    size_t nbad, nbad_prev;
    char read_error[512];  /* the last failure to read the checks, logged once */
    char write_error[512]; /* the last failure to write */
};

/* Opens the store at path (read-write: it writes health rows; a store of another
 * schema version is refused, not migrated) and reads the checks of
 * the enabled endpoints with this vantage point's stored states into *first (the
 * caller frees it, normally by giving it to sched_checks_apply). poll_ms: how often to look
 * for changes; rtt_batch_ms: how often samples are written. 0, or an error with msg:
 * a store that cannot be opened or read at start is fatal. vantage and path are
 * borrowed for the writer's life. Main thread, before writer_start. */
int writer_open(struct writer *w, const char *path, const char *vantage, uint32_t poll_ms,
                uint32_t rtt_batch_ms, struct writer_checks **first, char *msg, size_t msglen);
/* Starts the store thread; later check sets are announced with uv_async_send(async)
 * (async must outlive the thread or be detached first). 0 or -errno. */
int writer_start(struct writer *w, uv_async_t *async);
/* The latest check set not yet taken (NULL if none): the loop calls it from async's
 * callback and owns the result. Any thread. */
struct writer_checks *writer_checks_take(struct writer *w);
/* Forgets async (before the loop closes it): later sets are only kept. Any thread. */
void writer_async_detach(struct writer *w);
/* Asks for the checks to be read now (SIGHUP). Any thread. */
void writer_reload(struct writer *w);
/* Queues a state change (copied); written at once, in its own short transaction. */
void writer_transition_add(struct writer *w, const struct writer_transition *t);
/* Queues an RTT sample of a successful probe; written with the next batch. */
void writer_sample_add(struct writer *w, int64_t endpoint_id, int64_t rtt_us, int64_t ts_ms);
/* Stops the thread after a last flush of everything queued (waiting up to
 * WRITER_FINAL_BUSY_MS for a lock; what still cannot be written is logged as lost),
 * joins it, closes the store and frees everything. Accepts a writer that never
 * started or failed to open. Returns 0, or -1 when something queued was lost. */
int writer_close(struct writer *w);

#endif
