/* healthd/writer.c — the store thread (see writer.h). The only healthd thread that
 * touches SQLite; the loop never waits for it (queue under a mutex, uv_async_send
 * back). Costs per second at 1,000 checks: one heartbeat transaction, one mutex round
 * per probe result, and every rtt_batch_ms one transaction of at most one sample per
 * endpoint. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "db/store.h"
#include "healthd/probe.h"
#include "healthd/writer.h"

enum item_kind { ITEM_TRANSITION, ITEM_SAMPLE };

/* One message from the loop. A transition's strings live in text[]. */
struct writer_item {
    struct writer_item *next;
    enum item_kind kind;
    int64_t endpoint_id;
    int64_t ts_ms;
    int64_t rtt_us;
    enum hyst_state old_state, new_state;
    char *name, *reason;
    char text[];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void writer_checks_free(struct writer_checks *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        probe_cfg_free(set->v[i]);
    free(set->v);
    free(set);
}

static void items_free(struct writer_item *it)
{
    while (it) {
        struct writer_item *next = it->next;
        free(it);
        it = next;
    }
}

static void strings_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- reading the checks --------------------------------------------------------------------- */

struct stored {
    int64_t endpoint_id;
    enum hyst_state state;
};

struct read_ctx {
    struct writer *w;
    struct writer_checks *set;
    size_t cap;
    struct stored *states;
    size_t nstates, states_cap;
};

static int on_health(void *arg, const struct store_health *h)
{
    struct read_ctx *r = arg;
    if (r->nstates == r->states_cap) {
        r->states_cap = r->states_cap ? 2 * r->states_cap : 64;
        r->states = xreallocarray(r->states, r->states_cap, sizeof *r->states);
    }
    r->states[r->nstates++] =
        (struct stored){h->endpoint_id, strcmp(h->state, "up") == 0     ? HYST_UP
                                        : strcmp(h->state, "down") == 0 ? HYST_DOWN
                                                                        : HYST_UNKNOWN};
    return 0;
}

static int on_check(void *arg, const struct store_check *c)
{
    struct read_ctx *r = arg;
    struct writer *w = r->w;
    char err[256];
    struct probe_cfg *p = NULL;
    if (!c->enabled)
        goto out; /* a disabled endpoint is not answered, so not probed */
    if (probe_cfg_new(c, &p, err, sizeof err) != 0) {
        w->bad = xreallocarray(w->bad, w->nbad + 1, sizeof *w->bad);
        w->bad[w->nbad++] =
            xasprintf("endpoint %s/%s: %s; not probing it", c->pool, c->target, err);
        goto out;
    }
    if (r->set->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->set->v = xreallocarray(r->set->v, r->cap, sizeof *r->set->v);
    }
    r->set->v[r->set->n++] = p;
out:
    return 0; /* an unusable check stops nothing: the others run */
}

static int cmp_cfg(const void *a, const void *b)
{
    const struct probe_cfg *x = *(struct probe_cfg *const *)a, *y = *(struct probe_cfg *const *)b;
    return (x->endpoint_id > y->endpoint_id) - (x->endpoint_id < y->endpoint_id);
}

static int cmp_stored(const void *a, const void *b)
{
    const struct stored *x = a, *y = b;
    return (x->endpoint_id > y->endpoint_id) - (x->endpoint_id < y->endpoint_id);
}

/* Logs the unusable checks of this read that the previous read did not have, so an
 * operator hears about each once and not at every reload. */
static void bad_log_new(struct writer *w)
{
    for (size_t i = 0; i < w->nbad; i++) {
        bool was = false;
        for (size_t j = 0; j < w->nbad_prev && !was; j++)
            was = strcmp(w->bad[i], w->bad_prev[j]) == 0;
        if (!was)
            log_warn("%s", w->bad[i]);
    }
    strings_free(w->bad_prev, w->nbad_prev);
    w->bad_prev = w->bad;
    w->nbad_prev = w->nbad;
    w->bad = NULL;
    w->nbad = 0;
}

/* The states of set's checks as they will be stored: those of state changes in the
 * list items, not written yet (the store was locked), replace what was read. */
static void overlay_unwritten(struct writer_checks *set, const struct writer_item *items)
{
    for (const struct writer_item *it = items; it; it = it->next) {
        struct probe_cfg key = {.endpoint_id = it->endpoint_id}, *kp = &key, **found;
        if (it->kind != ITEM_TRANSITION || set->n == 0 ||
            !(found = bsearch(&kp, set->v, set->n, sizeof *set->v, cmp_cfg)))
            continue;
        (*found)->stored_state = it->new_state;
    }
}

/* Reads the checks of enabled endpoints and this vantage point's states in one read
 * transaction. *out: a new set by endpoint id; *gen_out: its generation. */
static int checks_read(struct writer *w, struct writer_checks **out, int64_t *gen_out)
{
    struct read_ctx r = {.w = w, .set = xcalloc(1, sizeof *r.set)};
    int64_t gen = 0;
    int rc = store_read_begin(w->st);
    if (rc)
        goto out;
    if ((rc = store_generation(w->st, &gen)) ||
        (rc = store_health_foreach(w->st, w->vantage, on_health, &r)) ||
        (rc = store_check_foreach(w->st, 0, on_check, &r)))
        goto out;
    if (r.set->n)
        qsort(r.set->v, r.set->n, sizeof *r.set->v, cmp_cfg);
    if (r.nstates)
        qsort(r.states, r.nstates, sizeof *r.states, cmp_stored);
    for (size_t i = 0; i < r.set->n; i++) {
        struct stored key = {r.set->v[i]->endpoint_id, HYST_UNKNOWN};
        struct stored *s =
            r.nstates ? bsearch(&key, r.states, r.nstates, sizeof key, cmp_stored) : NULL;
        r.set->v[i]->stored_state = s ? s->state : HYST_UNKNOWN;
    }
    overlay_unwritten(r.set, w->pending);
    pthread_mutex_lock(&w->mu);
    overlay_unwritten(r.set, w->queue);
    pthread_mutex_unlock(&w->mu);
out:
    store_tx_end(w->st, false);
    free(r.states);
    if (rc) {
        strings_free(w->bad, w->nbad);
        w->bad = NULL;
        w->nbad = 0;
        writer_checks_free(r.set);
    } else {
        bad_log_new(w);
        *out = r.set;
        *gen_out = gen;
    }
    return rc;
}

/* Logs a failure to read the store once until it changes or goes away. */
static void read_trouble(struct writer *w, const char *msg)
{
    if (strcmp(w->read_error, msg) == 0)
        return;
    snprintf(w->read_error, sizeof w->read_error, "%s", msg);
    log_warn("store %s: cannot read the checks: %s; probing on with the checks we have, "
             "retrying every %u ms",
             w->path, msg, w->poll_ms);
}

/* Opens the store again after a failure that may have left the connection unusable. */
/* Opens the store read-write without migrating it: a store of another schema version
 * is refused (gtmctl init migrates, as the operator decides), so healthd never changes
 * a schema under a running gtm-dnsd. Remembers the file's identity. */
static int store_connect(struct writer *w, int busy_ms, char *msg, size_t msglen)
{
    struct store *probe = NULL;
    struct stat sb;
    int rc = store_open(w->path, STORE_READ, busy_ms, &probe, msg, msglen);
    store_close(probe);
    if (rc || (rc = store_open(w->path, STORE_WRITE, busy_ms, &w->st, msg, msglen)))
        goto out;
    if (stat(w->path, &sb) == 0) {
        w->dev = sb.st_dev;
        w->ino = sb.st_ino;
    }
out:
    return rc;
}

/* Drops the connection when the store's file was deleted or replaced (the old file
 * may still be writable, but it is no longer the store), and opens the store when it
 * has no connection. */
static int ensure_open(struct writer *w, char *msg, size_t msglen)
{
    struct stat sb;
    int rc = 0;
    if (w->st && (stat(w->path, &sb) != 0 || sb.st_dev != w->dev || sb.st_ino != w->ino)) {
        store_close(w->st);
        w->st = NULL;
    }
    if (!w->st && (rc = store_connect(w, WRITER_BUSY_MS, msg, msglen)) == 0) {
        /* read the checks on the new connection: another file's generation can be the
         * same number with other checks and endpoint ids */
        w->data_version = -1;
        w->generation = -1;
        w->beat_ms = 0;
    }
    return rc;
}

static void publish(struct writer *w, struct writer_checks *set)
{
    pthread_mutex_lock(&w->mu);
    writer_checks_free(w->latest); /* the loop never took it: this one is newer */
    w->latest = set;
    if (w->async)
        uv_async_send(w->async);
    pthread_mutex_unlock(&w->mu);
}

/* Reads the checks again when the store changed (or forced, on SIGHUP). */
static void poll_checks(struct writer *w, bool forced)
{
    char msg[512];
    int64_t version = 0, gen = 0;
    struct writer_checks *set = NULL;
    int rc = ensure_open(w, msg, sizeof msg);
    if (rc)
        goto out;
    if ((rc = store_data_version(w->st, &version)) || (!forced && version == w->data_version))
        goto out;
    /* data_version moves with any commit (other vantage points write every second);
     * the generation only with configuration, checks included */
    if ((rc = store_generation(w->st, &gen)))
        goto out;
    if (!forced && gen == w->generation) {
        w->data_version = version;
        goto out;
    }
    if ((rc = checks_read(w, &set, &gen)))
        goto out;
    w->data_version = version;
    w->generation = gen;
    log_debug("store %s: generation %lld, %zu checks to run%s", w->path, (long long)gen, set->n,
              forced ? " (reload asked)" : "");
    publish(w, set);
out:
    if (rc && w->st) {
        read_trouble(w, store_errmsg(w->st));
        if (rc != GTM_EBUSY) {
            store_close(w->st); /* a fresh connection next time */
            w->st = NULL;
        }
    } else if (rc) {
        read_trouble(w, msg);
    } else if (w->read_error[0]) {
        log_info("store %s: the checks are readable again", w->path);
        w->read_error[0] = '\0';
    }
}

/* ---- writing -------------------------------------------------------------------------------- */

static void pending_add(struct writer *w, struct writer_item *it)
{
    it->next = NULL;
    *w->pending_tail = it;
    w->pending_tail = &it->next;
    if (++w->npending > WRITER_PENDING_MAX) {
        struct writer_item *old = w->pending;
        w->pending = old->next;
        if (!w->pending)
            w->pending_tail = &w->pending;
        w->npending--;
        if (w->dropped++ == 0)
            log_err("store %s: more than %d state changes waiting; dropping the oldest "
                    "(endpoint %s: %s -> %s)",
                    w->path, WRITER_PENDING_MAX, old->name, hyst_state_name(old->old_state),
                    hyst_state_name(old->new_state));
        free(old);
    }
}

static void samples_put(struct writer *w, int64_t id, int64_t rtt_us, int64_t ts_ms)
{
    if ((w->nsamples + 1) * 2 > w->samples_cap) {
        /* keep the table at most half full: short probe runs */
        struct writer_sample *old = w->samples;
        size_t old_cap = w->samples_cap;
        w->samples_cap = old_cap ? 2 * old_cap : 64;
        w->samples = xcalloc(w->samples_cap, sizeof *w->samples);
        w->nsamples = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].endpoint_id)
                samples_put(w, old[i].endpoint_id, old[i].rtt_us, old[i].ts_ms);
        free(old);
    }
    size_t mask = w->samples_cap - 1;
    size_t i = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 17) & mask; /* Fibonacci hash */
    while (w->samples[i].endpoint_id && w->samples[i].endpoint_id != id)
        i = (i + 1) & mask;
    if (!w->samples[i].endpoint_id)
        w->nsamples++;
    w->samples[i] = (struct writer_sample){id, rtt_us, ts_ms};
}

/* Sorts the loop's messages into the pending state changes and the sample table. */
static void absorb(struct writer *w, struct writer_item *q)
{
    while (q) {
        struct writer_item *next = q->next;
        if (q->kind == ITEM_TRANSITION) {
            pending_add(w, q);
        } else {
            samples_put(w, q->endpoint_id, q->rtt_us, q->ts_ms);
            free(q);
        }
        q = next;
    }
}

static int transition_write(struct writer *w, const struct writer_item *it)
{
    if (it->old_state == it->new_state) /* the same state, a new cause: no event */
        return store_health_reason(w->st, it->endpoint_id, w->vantage, it->reason, it->ts_ms);
    struct store_health h = {
        .endpoint_id = it->endpoint_id,
        .vantage = w->vantage,
        .state = hyst_state_name(it->new_state),
        .since_ms = it->ts_ms,
        .reason = it->reason,
        .rtt_us = it->rtt_us,
        .checked_ms = it->ts_ms,
    };
    struct store_event ev = {
        .ts_ms = it->ts_ms,
        .endpoint_id = it->endpoint_id,
        .target = it->name,
        .vantage = w->vantage,
        .old_state = hyst_state_name(it->old_state),
        .new_state = hyst_state_name(it->new_state),
        .reason = it->reason,
    };
    int rc = store_health_set(w->st, &h);
    return rc ? rc : store_event_add(w->st, &ev);
}

/* One transaction: the pending state changes (each a health row and an event), the
 * heartbeat, and with_samples the batch of RTT samples. A row the store refuses (its
 * endpoint was removed meanwhile) is dropped; any other failure keeps everything for
 * the next try and starts an outage (logged once) unless is_final (at exit, when the
 * caller reports what is lost). Returns 0 or the failure. */
/* The heartbeat found in the store was not the one this process stored last: another
 * process reports as this vantage point (two gtm-healthd with one --vantage, whose states
 * of the same endpoints overwrite each other, and whose quorum vote counts once). Said at
 * once, then every TWIN_WARN_MS while it lasts. */
static void twin_check(struct writer *w, int64_t found_ms)
{
    uint64_t now = mono_ms();
    if (w->beat_ms == 0 || found_ms == w->beat_ms ||
        (w->twin_warned_ms && now - w->twin_warned_ms < TWIN_WARN_MS))
        return;
    w->twin_warned_ms = now;
    log_warn("vantage point '%s': another process reports as it too (the store's heartbeat "
             "was not ours): two gtm-healthd with one --vantage overwrite each other's "
             "health states and count as one vote; give each its own --vantage",
             w->vantage);
}

static int flush(struct writer *w, bool with_samples, bool is_final)
{
    char msg[512] = "";
    size_t nwritten = w->npending, nsamples = with_samples ? w->nsamples : 0;
    uint64_t now = mono_ms();
    int rc = ensure_open(w, msg, sizeof msg);
    if (rc)
        goto out;
    if ((rc = store_tx_begin(w->st)))
        goto out;
    for (struct writer_item **p = &w->pending; *p;) {
        struct writer_item *it = *p;
        if ((rc = transition_write(w, it)) == GTM_ECONSTRAINT) {
            log_warn("endpoint %s: state change %s -> %s not stored: %s (was the endpoint "
                     "removed?); dropped",
                     it->name, hyst_state_name(it->old_state), hyst_state_name(it->new_state),
                     store_errmsg(w->st));
            *p = it->next;
            free(it);
            w->npending--;
            nwritten--;
            continue;
        }
        if (rc)
            goto out;
        p = &it->next;
    }
    w->pending_tail = &w->pending;
    while (*w->pending_tail)
        w->pending_tail = &(*w->pending_tail)->next;
    int ended = 0;
    int64_t beat = clock_wall_ms(), found = 0;
    if ((rc = store_vantage_seen(w->st, w->vantage, beat, &found)) ||
        (rc = store_drill_expire(w->st, clock_wall_ms(), w->vantage, &ended)))
        goto out;
    if (ended)
        log_info("%d drill%s ran out of time and ended", ended, ended == 1 ? "" : "s");
    for (size_t i = 0; with_samples && i < w->samples_cap; i++) {
        const struct writer_sample *s = &w->samples[i];
        if (!s->endpoint_id)
            continue;
        rc = store_health_sample(w->st, s->endpoint_id, w->vantage, s->rtt_us, s->ts_ms);
        if (rc == GTM_ECONSTRAINT) {
            nsamples--; /* its endpoint is gone */
            continue;
        }
        if (rc)
            goto out;
    }
    if ((rc = store_tx_end(w->st, true)))
        goto out;
    twin_check(w, found);
    w->beat_ms = beat;
    items_free(w->pending);
    w->pending = NULL;
    w->pending_tail = &w->pending;
    w->npending = 0;
    if (with_samples && w->nsamples) {
        memset(w->samples, 0, w->samples_cap * sizeof *w->samples);
        w->nsamples = 0;
    }
    if (w->outage_start_ms) {
        log_info("store %s: writable again after %.1f s; wrote %zu queued state change%s "
                 "and %zu RTT sample%s%s",
                 w->path, (double)(now - w->outage_start_ms) / 1000.0, nwritten,
                 nwritten == 1 ? "" : "s", nsamples, nsamples == 1 ? "" : "s",
                 w->dropped ? " (the oldest were dropped, see above)" : "");
        w->outage_start_ms = 0;
        w->dropped = 0;
    }
    w->retry_ms = 0;
out:
    if (rc && w->st) {
        snprintf(msg, sizeof msg, "%s", store_errmsg(w->st));
        store_tx_end(w->st, false);
        if (rc != GTM_EBUSY) {
            store_close(w->st); /* I/O error, replaced file: a fresh connection next time */
            w->st = NULL;
        }
    }
    if (rc) {
        snprintf(w->write_error, sizeof w->write_error, "%s", msg);
        w->retry_ms = now + WRITER_RETRY_MS;
    }
    if (rc && !w->outage_start_ms && !is_final) {
        log_warn("store %s: cannot write: %s; keeping %zu state change%s and %zu RTT "
                 "sample%s queued, retrying every %d ms",
                 w->path, msg, w->npending, w->npending == 1 ? "" : "s", w->nsamples,
                 w->nsamples == 1 ? "" : "s", WRITER_RETRY_MS);
        w->outage_start_ms = now ? now : 1;
    }
    return rc;
}

static void prune(struct writer *w)
{
    int rc = w->st ? store_rtt_prune(w->st, clock_wall_ms() - WRITER_RTT_KEEP_MS) : GTM_ESTORE;
    if (rc)
        log_debug("store %s: RTT samples not pruned now (%s); next time", w->path,
                  w->st ? store_errmsg(w->st) : "not open");
}

/* ---- the thread ----------------------------------------------------------------------------- */

/* When the thread has something to do next (monotonic ms). */
static uint64_t next_wake(const struct writer *w)
{
    uint64_t write_at = w->next_seen_ms;
    if (w->nsamples && w->next_batch_ms < write_at)
        write_at = w->next_batch_ms;
    if (w->npending)
        write_at = 0;
    if (write_at < w->retry_ms)
        write_at = w->retry_ms;
    uint64_t wake = write_at < w->next_poll_ms ? write_at : w->next_poll_ms;
    return wake < w->next_prune_ms ? wake : w->next_prune_ms;
}

static void work(struct writer *w, bool forced)
{
    uint64_t now = mono_ms();
    if (forced || now >= w->next_poll_ms) {
        poll_checks(w, forced);
        w->next_poll_ms = now + w->poll_ms;
    }
    now = mono_ms();
    bool due_seen = now >= w->next_seen_ms;
    bool due_batch = w->nsamples && now >= w->next_batch_ms;
    if (now >= w->retry_ms && (w->npending || due_seen || due_batch)) {
        if (flush(w, due_batch, false) == 0) {
            /* the heartbeat keeps its own beat (no drift past a second); one written
             * early with a state change restarts it */
            w->next_seen_ms = due_seen ? w->next_seen_ms + WRITER_SEEN_MS : now + WRITER_SEEN_MS;
            if (w->next_seen_ms <= now)
                w->next_seen_ms = now + WRITER_SEEN_MS;
            if (due_batch)
                w->next_batch_ms = now + w->rtt_batch_ms;
        }
    }
    if (now >= w->next_prune_ms) {
        prune(w);
        w->next_prune_ms = now + WRITER_PRUNE_EVERY_MS;
    }
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->is_stopping) {
        uint64_t now = mono_ms(), wake = next_wake(w);
        if (!w->is_reload_asked && !w->has_urgent && wake > now) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            uint64_t ns = (uint64_t)until.tv_nsec + (wake - now) * 1000000u;
            until.tv_sec += (time_t)(ns / 1000000000u);
            until.tv_nsec = (long)(ns % 1000000000u);
            pthread_cond_timedwait(&w->cv, &w->mu, &until);
        }
        if (w->is_stopping)
            break;
        struct writer_item *q = w->queue;
        w->queue = NULL;
        w->queue_tail = &w->queue;
        bool forced = w->is_reload_asked;
        w->is_reload_asked = w->has_urgent = false;
        pthread_mutex_unlock(&w->mu);
        absorb(w, q);
        work(w, forced);
        pthread_mutex_lock(&w->mu);
    }
    struct writer_item *q = w->queue;
    w->queue = NULL;
    w->queue_tail = &w->queue;
    pthread_mutex_unlock(&w->mu);
    absorb(w, q);
    /* the last flush: everything queued, waiting longer for a lock */
    if (w->npending || w->nsamples) {
        if (w->st)
            store_busy_timeout_set(w->st, WRITER_FINAL_BUSY_MS);
        size_t npending = w->npending, nsamples = w->nsamples;
        if (flush(w, true, true) != 0) {
            w->lost_at_exit = true;
            log_err("store %s: %zu state change%s and %zu RTT sample%s not written at exit: %s",
                    w->path, npending, npending == 1 ? "" : "s", nsamples, nsamples == 1 ? "" : "s",
                    w->write_error);
        }
    }
    return NULL;
}

/* ---- the interface -------------------------------------------------------------------------- */

int writer_open(struct writer *w, const char *path, const char *vantage, uint32_t poll_ms,
                uint32_t rtt_batch_ms, struct writer_checks **first, char *msg, size_t msglen)
{
    pthread_condattr_t ca;
    int rc;
    memset(w, 0, sizeof *w);
    w->path = path;
    w->vantage = vantage;
    w->poll_ms = poll_ms;
    w->rtt_batch_ms = rtt_batch_ms;
    w->queue_tail = &w->queue;
    w->pending_tail = &w->pending;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* a wall-clock step changes no wait */
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    w->is_open = true;
    /* at start-up a lock held by another writer is waited for as gtmctl would */
    if ((rc = store_connect(w, STORE_BUSY_TIMEOUT_MS, msg, msglen)))
        goto out;
    if ((rc = store_data_version(w->st, &w->data_version)) ||
        (rc = checks_read(w, first, &w->generation))) {
        snprintf(msg, msglen, "%s", store_errmsg(w->st));
        goto out;
    }
    store_busy_timeout_set(w->st, WRITER_BUSY_MS);
    uint64_t now = mono_ms();
    w->next_poll_ms = now + poll_ms;
    w->next_seen_ms = now; /* say at once that this vantage point is alive */
    w->next_batch_ms = now + rtt_batch_ms;
    /* not at once: a healthd restarted in a loop should not prune each time */
    w->next_prune_ms = now + 60 * 1000;
out:
    return rc;
}

int writer_start(struct writer *w, uv_async_t *async)
{
    w->async = async;
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    w->is_running = rc == 0;
    return -rc;
}

struct writer_checks *writer_checks_take(struct writer *w)
{
    pthread_mutex_lock(&w->mu);
    struct writer_checks *set = w->latest;
    w->latest = NULL;
    pthread_mutex_unlock(&w->mu);
    return set;
}

void writer_async_detach(struct writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->async = NULL;
    pthread_mutex_unlock(&w->mu);
}

void writer_reload(struct writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->is_reload_asked = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void enqueue(struct writer *w, struct writer_item *it, bool is_urgent)
{
    it->next = NULL;
    pthread_mutex_lock(&w->mu);
    *w->queue_tail = it;
    w->queue_tail = &it->next;
    if (is_urgent) {
        w->has_urgent = true;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

void writer_transition_add(struct writer *w, const struct writer_transition *t)
{
    size_t nlen = strlen(t->name) + 1, rlen = strlen(t->reason ? t->reason : "") + 1;
    struct writer_item *it = xmalloc(sizeof *it + nlen + rlen);
    *it = (struct writer_item){
        .kind = ITEM_TRANSITION,
        .endpoint_id = t->endpoint_id,
        .ts_ms = t->ts_ms,
        .rtt_us = t->rtt_us,
        .old_state = t->old_state,
        .new_state = t->new_state,
    };
    it->name = it->text;
    it->reason = it->text + nlen;
    memcpy(it->name, t->name, nlen);
    memcpy(it->reason, t->reason ? t->reason : "", rlen);
    enqueue(w, it, true); /* a failover waits for no batch */
}

void writer_sample_add(struct writer *w, int64_t endpoint_id, int64_t rtt_us, int64_t ts_ms)
{
    struct writer_item *it = xmalloc(sizeof *it);
    *it = (struct writer_item){
        .kind = ITEM_SAMPLE, .endpoint_id = endpoint_id, .ts_ms = ts_ms, .rtt_us = rtt_us};
    enqueue(w, it, false);
}

int writer_close(struct writer *w)
{
    if (!w->is_open)
        return 0; /* never opened: nothing to close */
    if (w->is_running) {
        pthread_mutex_lock(&w->mu);
        w->is_stopping = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->is_running = false;
    }
    store_close(w->st);
    w->st = NULL;
    items_free(w->queue);
    items_free(w->pending);
    w->queue = w->pending = NULL;
    free(w->samples);
    w->samples = NULL;
    writer_checks_free(w->latest);
    w->latest = NULL;
    strings_free(w->bad, w->nbad);
    strings_free(w->bad_prev, w->nbad_prev);
    w->bad = w->bad_prev = NULL;
    w->nbad = w->nbad_prev = 0;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    w->is_open = false;
    return w->lost_at_exit ? -1 : 0;
}
