/* healthd/main.c — gtm-healthd: options, the store thread (healthd/writer.h), then one
 * libuv loop that runs every check (healthd/sched.h) and owns the signals: TERM/INT
 * stop (probes cancelled, every handle closed, pending writes flushed, everything
 * freed; exit 0, or 1 when a write was lost), HUP reads the checks again now, USR1
 * logs the schedule lag.
 * Start-up failures exit non-zero with a message an operator can act on; after
 * start-up nothing is fatal (a locked store is retried, a failing probe is a verdict).
 * Main thread; it never touches SQLite after start-up (the store thread does). */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <uv.h>

#include "common/cfg.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "healthd/conf.h"
#include "healthd/probe.h"
#include "healthd/sched.h"
#include "healthd/writer.h"

struct healthd {
    struct healthd_cfg cfg;
    struct writer writer;
    struct sched sched;
    bool has_sched;
    uv_loop_t loop;
    uv_async_t checks_async; /* the store thread has a new check set */
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: gtm-healthd [--db PATH] [--vantage NAME] [--log-level LEVEL] "
               "[--foreground] [options]\n\n"
               "gtm's health checker: probes the endpoints that have a check (HTTP, HTTPS,\n"
               "TCP, DNS), decides up or down with rise/fall hysteresis, and writes each\n"
               "change and the round trips to the store, as one vantage point.\n\n"
               "Options (also as \"name value\" lines in a --config file):\n");
    cfg_usage(healthd_cfg_table, f);
}

static void on_checks(uv_async_t *a)
{
    struct healthd *h = a->data;
    struct writer_checks *set = writer_checks_take(&h->writer); /* the latest of any sends */
    if (set)
        sched_checks_apply(&h->sched, set);
}

static void on_stop_signal(uv_signal_t *sig, int signum)
{
    struct healthd *h = sig->data;
    log_info("%s: stopping", strsignal(signum));
    uv_close((uv_handle_t *)&h->sig_term, NULL);
    uv_close((uv_handle_t *)&h->sig_int, NULL);
    uv_close((uv_handle_t *)&h->sig_hup, NULL);
    uv_close((uv_handle_t *)&h->sig_usr1, NULL);
    daemon_signals_ignore(true);
    writer_async_detach(&h->writer);
    uv_close((uv_handle_t *)&h->checks_async, NULL);
    sched_stop(&h->sched);
}

static void on_hup(uv_signal_t *sig, int signum)
{
    struct healthd *h = sig->data;
    (void)signum;
    log_info("SIGHUP: reading the checks again");
    writer_reload(&h->writer);
}

static void on_usr1(uv_signal_t *sig, int signum)
{
    struct healthd *h = sig->data;
    (void)signum;
    const struct sched_lag *l = &h->sched.total;
    log_info("schedule since start: %llu probes started, lag p50 %.2f ms, p99 %.2f ms, "
             "max %.2f ms; %zu checks",
             (unsigned long long)l->count, (double)sched_lag_percentile(l, 0.50) / 1000.0,
             (double)sched_lag_percentile(l, 0.99) / 1000.0, (double)l->max_us / 1000.0,
             sched_checks_count(&h->sched));
}

static int finish(void *cfg, char *err, size_t errlen)
{
    return healthd_cfg_finish(cfg, err, errlen);
}

/* --check-config: the store and its checks as start-up reads them (read-write, as the
 * daemon opens it), and the user to run as. */
static int check_files(void *cfg, char *msg, size_t msglen)
{
    const struct healthd_cfg *c = cfg;
    struct writer w;
    struct writer_checks *first = NULL;
    int rc = writer_open(&w, c->db, c->vantage, c->poll_interval_ms, c->rtt_batch_ms, &first, msg,
                         msglen);
    if (rc == 0)
        snprintf(msg, msglen, "store %s: %zu check%s to run%s", c->db, first->n,
                 first->n == 1 ? "" : "s", w.nbad_prev ? " (and the unusable ones above)" : "");
    writer_checks_free(first);
    writer_close(&w);
    return rc || (c->user && daemon_user_check(c->user, msg, msglen));
}

static const struct cfg_program program = {
    .name = "gtm-healthd",
    .table = healthd_cfg_table,
    .usage = usage,
    .finish = finish,
    .check = check_files,
    .db_offset = offsetof(struct healthd_cfg, db),
    .log_level_offset = offsetof(struct healthd_cfg, log_level),
};

/* Counts the states the checks start from, for the ready line. */
static void count_states(const struct writer_checks *set, size_t n[3])
{
    for (size_t i = 0; i < set->n; i++)
        n[set->v[i]->stored_state]++;
}

/* Everything after the options; returns the exit status. */
static int run(struct healthd *h)
{
    char msg[512];
    struct writer_checks *first = NULL;
    int notify_fd = -1, rc;
    bool has_loop = false;

    if (!h->cfg.foreground) {
        if ((rc = daemon_detach(&notify_fd))) {
            log_err("cannot detach: %s", strerror(-rc));
            rc = 1;
            goto out;
        }
        if (!h->cfg.syslog)
            log_open("gtm-healthd", true); /* stderr is gone once serving */
        log_echo_stderr(true);             /* until then, errors reach the shell too */
    }
    /* libcurl: once, before any thread (curl_global_init is not thread-safe) */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_err("cannot start: libcurl failed to initialise");
        rc = 1;
        goto out;
    }
    if ((rc = writer_open(&h->writer, h->cfg.db, h->cfg.vantage, h->cfg.poll_interval_ms,
                          h->cfg.rtt_batch_ms, &first, msg, sizeof msg))) {
        log_err("cannot start: %s", msg);
        rc = 1;
        goto out;
    }
    if (h->cfg.pidfile && (rc = daemon_pidfile(h->cfg.pidfile))) {
        log_err("cannot start: pid file %s: %s", h->cfg.pidfile, strerror(-rc));
        rc = 1;
        goto out;
    }
    if (h->cfg.user && (rc = daemon_drop_privileges(h->cfg.user))) {
        log_err("cannot start: dropping privileges to %s: %s", h->cfg.user,
                rc == GTM_ENOTFOUND ? "no such user" : strerror(-rc));
        rc = 1;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN); /* a peer closing on a probe is a verdict, not a signal */
    uv_loop_init(&h->loop);
    has_loop = true;
    if ((rc = sched_init(&h->sched, &h->loop, &h->writer, h->cfg.stats_interval_s))) {
        log_err("cannot start: libcurl cannot make a multi handle");
        rc = 1;
        goto out;
    }
    h->has_sched = true;
    uv_signal_t *sigs[] = {&h->sig_term, &h->sig_int, &h->sig_hup, &h->sig_usr1};
    uv_signal_cb cbs[] = {on_stop_signal, on_stop_signal, on_hup, on_usr1};
    int signums[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (size_t i = 0; i < 4; i++) {
        uv_signal_init(&h->loop, sigs[i]);
        sigs[i]->data = h;
        uv_signal_start(sigs[i], cbs[i], signums[i]);
    }
    uv_async_init(&h->loop, &h->checks_async, on_checks);
    h->checks_async.data = h;
    size_t states[3] = {0};
    count_states(first, states);
    size_t nchecks = first->n;
    sched_checks_apply(&h->sched, first);
    first = NULL;
    if ((rc = writer_start(&h->writer, &h->checks_async))) {
        log_err("cannot start the store thread: %s", strerror(-rc));
        on_stop_signal(&h->sig_term, SIGTERM);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        rc = 1;
        goto out;
    }
    log_info("ready: probing %zu checks as vantage point %s (from the store: %zu up, %zu down, "
             "%zu unknown); store %s",
             nchecks, h->cfg.vantage, states[HYST_UP], states[HYST_DOWN], states[HYST_UNKNOWN],
             h->cfg.db);
    daemon_notify(notify_fd, 0);
    notify_fd = -1;
    log_echo_stderr(false);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    rc = 0;
out:
    writer_checks_free(first);
    /* flushes what the loop queued, joins, closes the store */
    if (writer_close(&h->writer) != 0)
        rc = rc ? rc : 1;
    if (h->has_sched)
        sched_fini(&h->sched);
    if (has_loop && uv_loop_close(&h->loop) != 0) {
        log_err("loop closed with handles open");
        rc = rc ? rc : 1;
    }
    if (rc == 0)
        log_info("stopped");
    curl_global_cleanup();
    if (h->cfg.pidfile)
        daemon_pidfile_remove(h->cfg.pidfile);
    daemon_notify(notify_fd, rc);
    return rc;
}

int main(int argc, char **argv)
{
    static struct healthd h;
    log_open("gtm-healthd", false);
    daemon_signals_ignore(false);
    int rc = cfg_program_load(&program, &h.cfg, argc, argv);
    if (rc < 0) {
        if (h.cfg.syslog)
            log_open("gtm-healthd", true);
        rc = run(&h);
    }
    cfg_free(healthd_cfg_table, &h.cfg);
    return rc;
}
