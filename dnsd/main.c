/* dnsd/main.c — gtm-dnsd: options, the first snapshot, sockets, privileges, the
 * worker threads and the loader thread, then the main loop, which owns the signals:
 * TERM/INT stop (workers finish what they owe, everything is freed, exit 0), HUP forces
 * a reload, USR1 logs the query counters; with UDP steered by CPU, it also watches the
 * workers' sockets and goes back to the hash when one overflows alone (dnsd/steer.h).
 * Start-up failures exit non-zero with a message an operator can act on; after
 * start-up nothing is fatal. */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <uv.h>

#include "common/cfg.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "dnsd/conf.h"
#include "dnsd/loader.h"
#include "dnsd/rcu.h"
#include "dnsd/rrl.h"
#include "dnsd/sock.h"
#include "dnsd/steer.h"
#include "dnsd/worker.h"
#include "dnsd/xdp.h"
#include "geo/geo.h"

struct dnsd {
    struct dnsd_cfg cfg;
    struct loader loader;
    struct rcu rcu;
    struct worker *workers;
    struct rrl *rrl;        /* NULL: no rate limiting */
    struct xdp_filter *xdp; /* with --xdp */
    size_t nworkers;        /* initialised */
    size_t nstarted;        /* running threads */
    _Atomic unsigned tcp_conns;
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
    struct steer_watch steer; /* while UDP is steered by CPU */
    uv_timer_t steer_timer;
};

/* How often the steering by CPU is checked for sockets that overflow alone. */
#define STEER_CHECK_MS 1000
/* Room for one number per worker thread (up to 256, 20 digits and a space each). */
#define PER_THREAD_TEXT (256 * 21 + 1)

static void usage(FILE *f)
{
    fprintf(f, "usage: gtm-dnsd [--db PATH] [--listen ADDR[:PORT]]... [--threads N] "
               "[--log-level LEVEL] [--nsid STRING] [--foreground] [options]\n\n"
               "gtm's authoritative DNS server: answers from the zones of the store, and\n"
               "reloads their changes within a second without dropping a query.\n\n"
               "Options (also as \"name value\" lines in a --config file):\n");
    cfg_usage(dnsd_cfg_table, f);
}

static void log_stats(struct dnsd *d, const char *when)
{
    struct query_stats s = {0};
    char per_thread[PER_THREAD_TEXT] = ""; /* each worker's UDP queries: the steering */
    for (size_t i = 0, len = 0; i < d->nstarted; i++) {
        worker_stats_add(&d->workers[i], &s);
        if (len < sizeof per_thread)
            len += (size_t)snprintf(per_thread + len, sizeof per_thread - len, " %llu",
                                    (unsigned long long)d->workers[i].q.stats.udp);
    }
    log_info("%squeries %llu (udp %llu of which xdp %llu, tcp %llu): noerror %llu, nxdomain %llu, "
             "refused %llu, formerr %llu, notimp %llu, badvers %llu; truncated %llu, dropped %llu, "
             "edns %llu, "
             "nsid %llu, cookies %llu (good %llu); rate-limited %llu (dropped %llu, slipped %llu); "
             "udp by thread:%s",
             when, (unsigned long long)s.queries, (unsigned long long)s.udp,
             (unsigned long long)s.xdp, (unsigned long long)s.tcp, (unsigned long long)s.rcode[0],
             (unsigned long long)s.rcode[3], (unsigned long long)s.rcode[5],
             (unsigned long long)s.rcode[1], (unsigned long long)s.rcode[4],
             (unsigned long long)s.rcode[16], (unsigned long long)s.truncated,
             (unsigned long long)s.dropped, (unsigned long long)s.edns, (unsigned long long)s.nsid,
             (unsigned long long)s.cookies, (unsigned long long)s.cookies_good,
             (unsigned long long)(s.rrl_dropped + s.rrl_slipped), (unsigned long long)s.rrl_dropped,
             (unsigned long long)s.rrl_slipped, per_thread);
}

/* Every STEER_CHECK_MS: when a worker's sockets overflowed and another's dropped
 * nothing, the CPUs that receive the traffic feed some workers more than they can
 * answer while others idle: back to the hash for good (until a restart), and say why. */
static void on_steer_check(uv_timer_t *t)
{
    struct dnsd *d = t->data;
    char counts[PER_THREAD_TEXT];
    if (!steer_watch_check(&d->steer, counts, sizeof counts))
        return;
    uv_timer_stop(t);
    int rc = steer_watch_to_hash(&d->steer);
    if (rc)
        log_err("UDP: cannot go back to the hash: %s", strerror(-rc));
    log_warn("UDP steered by hash from now on, not by CPU: in the last %d ms some workers' "
             "sockets overflowed and others' did not (datagrams dropped by thread:%s); the "
             "traffic arrives on fewer CPUs than there are workers (a NIC with fewer receive "
             "queues than CPUs, and no RPS?); --udp-steering hash avoids the drops",
             STEER_CHECK_MS, counts);
}

/* Steers UDP by CPU on every address (after every worker bound its sockets), or says
 * why not and leaves the hash. */
static void steer_start(struct dnsd *d)
{
    size_t na = d->cfg.naddrs;
    int *fds = xcalloc(d->nworkers * na, sizeof *fds);
    for (size_t w = 0; w < d->nworkers; w++)
        for (size_t a = 0; a < na; a++)
            fds[w * na + a] = udp_fd(d->workers[w].udp[a]);
    int rc = steer_watch_start(&d->steer, fds, d->nworkers, na);
    free(fds);
    if (rc) {
        log_warn("UDP steered by hash, not by CPU: the kernel refuses the steering program "
                 "(%s)",
                 strerror(-rc));
        d->cfg.udp_by_cpu = false;
    }
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct dnsd *d = h->data;
    log_info("%s: stopping", strsignal(signum));
    uv_close((uv_handle_t *)&d->sig_term, NULL);
    uv_close((uv_handle_t *)&d->sig_int, NULL);
    uv_close((uv_handle_t *)&d->sig_hup, NULL);
    uv_close((uv_handle_t *)&d->sig_usr1, NULL);
    daemon_signals_ignore(true);
    uv_close((uv_handle_t *)&d->steer_timer, NULL);
}

static void on_hup(uv_signal_t *h, int signum)
{
    struct dnsd *d = h->data;
    (void)signum;
    log_info("SIGHUP: reloading the store");
    loader_reload(&d->loader);
}

static void on_usr1(uv_signal_t *h, int signum)
{
    (void)signum;
    log_stats(h->data, "");
}

static int finish(void *cfg, char *err, size_t errlen)
{
    return dnsd_cfg_finish(cfg, err, errlen);
}

/* --check-config: the store and GeoIP files as start-up reads them (the first snapshot
 * compiled, then thrown away), and the user to run as; not the listen addresses, which
 * a running gtm-dnsd holds. */
static int check_files(void *cfg, char *msg, size_t msglen)
{
    const struct dnsd_cfg *c = cfg;
    const char *const *geoip = (const char *const *)c->geoip.v;
    struct geo_db *db = NULL;
    struct loader l;
    struct snap *first = NULL;
    if (c->xdp && if_nametoindex(c->xdp) == 0) {
        snprintf(msg, msglen, "--xdp %s: no such network interface", c->xdp);
        return 1;
    }
    if (c->geoip.n && geo_db_open(geoip, c->geoip.n, &db, msg, msglen)) {
        size_t len = strlen(msg);
        snprintf(msg + len, msglen - len,
                 " (gtm-dnsd would start, and map every client to "
                 "the geo map's '*' entry)");
        return 1;
    }
    geo_db_close(db);
    int rc = loader_init(&l, c->db, c->reload_interval_ms, geoip, c->geoip.n, &first, msg, msglen);
    if (rc == 0)
        snprintf(msg, msglen, "store %s: %zu zone%s, %zu record%s; %zu GeoIP database%s", c->db,
                 first->nzones, first->nzones == 1 ? "" : "s", first->nrecords,
                 first->nrecords == 1 ? "" : "s", c->geoip.n, c->geoip.n == 1 ? "" : "s");
    loader_fini(&l);
    snap_free(first);
    return rc || (c->user && daemon_user_check(c->user, msg, msglen));
}

static const struct cfg_program program = {
    .name = "gtm-dnsd",
    .table = dnsd_cfg_table,
    .usage = usage,
    .finish = finish,
    .check = check_files,
    .db_offset = offsetof(struct dnsd_cfg, db),
    .log_level_offset = offsetof(struct dnsd_cfg, log_level),
};

/* Everything after the options; returns the exit status. */
/* Descriptors beside TCP connections: sockets, loops, the store, GeoIP files, logs. */
#define FD_RESERVE_BASE 64
#define FD_RESERVE_PER_SOCKET 4

/* Raises the open-file limit to its hard limit, and lowers --tcp-max-conns to what the
 * limit leaves: past it accept() fails with EMFILE and the listening socket never stops
 * being readable (the common soft limit, 1024, is no higher than the default cap). */
static void fit_fd_limit(struct dnsd_cfg *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t reserve =
        FD_RESERVE_BASE + (rlim_t)FD_RESERVE_PER_SOCKET * cfg->threads * (rlim_t)cfg->naddrs;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= reserve + cfg->tcp_max_conns)
        return;
    uint32_t fit = rl.rlim_cur > reserve ? (uint32_t)(rl.rlim_cur - reserve) : 1;
    log_warn("TCP connections capped at %u, not %u: the open-file limit is %llu (ulimit -n, "
             "LimitNOFILE=) and %llu descriptors are kept for the rest",
             fit, cfg->tcp_max_conns, (unsigned long long)rl.rlim_cur, (unsigned long long)reserve);
    cfg->tcp_max_conns = fit;
}

static int run(struct dnsd *d)
{
    char msg[512];
    struct snap *first = NULL;
    int notify_fd = -1, rc;

    if (!d->cfg.foreground) {
        if ((rc = daemon_detach(&notify_fd))) {
            log_err("cannot detach: %s", strerror(-rc));
            return 1;
        }
        if (!d->cfg.syslog)
            log_open("gtm-dnsd", true); /* stderr is gone once serving */
        log_echo_stderr(true);          /* until then, errors reach the shell too */
    }
    if ((rc = loader_init(&d->loader, d->cfg.db, d->cfg.reload_interval_ms,
                          (const char *const *)d->cfg.geoip.v, d->cfg.geoip.n, &first, msg,
                          sizeof msg))) {
        log_err("cannot start: %s", msg);
        goto fail;
    }
    for (size_t i = 0; i < d->cfg.naddrs; i++) {
        const struct dnsd_listen *l = &d->cfg.addrs[i];
        const char *proto = "UDP";
        if ((rc = sock_check_free(l, SOCK_DGRAM)) == 0) {
            proto = "TCP";
            rc = sock_check_free(l, SOCK_STREAM);
        }
        if (rc) {
            log_err("cannot start: cannot listen on %s (%s): %s", l->text, proto,
                    rc == -EADDRINUSE ? "another process listens there already (another "
                                        "gtm-dnsd, or another DNS server)"
                                      : strerror(-rc));
            goto fail;
        }
    }
    fit_fd_limit(&d->cfg);
    rcu_init(&d->rcu, d->cfg.threads, first);
    d->workers = xcalloc(d->cfg.threads, sizeof *d->workers);
    if (d->cfg.rrl_rate)
        d->rrl =
            rrl_new(d->cfg.rrl_rate, d->cfg.rrl_slip, d->cfg.rrl_v4_prefix, d->cfg.rrl_v6_prefix);
    if (d->cfg.xdp &&
        (rc = xdp_filter_new(&d->xdp, d->cfg.xdp, d->cfg.addrs, d->cfg.naddrs, msg, sizeof msg))) {
        log_err("cannot start: %s", msg);
        goto fail;
    }
    for (; d->nworkers < d->cfg.threads; d->nworkers++) {
        if ((rc = worker_init(&d->workers[d->nworkers], (int)d->nworkers, &d->cfg, &d->rcu,
                              &d->tcp_conns, d->xdp, msg, sizeof msg))) {
            log_err("cannot start: %s", msg);
            d->nworkers++; /* its loop exists: clean it up too */
            goto fail;
        }
        d->workers[d->nworkers].q.rrl = d->rrl;
    }
    if (d->cfg.udp_by_cpu)
        steer_start(d);
    int rcvbuf = 0;
    socklen_t len = sizeof rcvbuf;
    if (getsockopt(udp_fd(d->workers[0].udp[0]), SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) == 0 &&
        (uint32_t)rcvbuf < 2 * d->cfg.udp_rcvbuf) /* the kernel reports double */
        log_warn("UDP receive buffers hold %d bytes, not the %u asked for: net.core.rmem_max "
                 "caps them unless gtm-dnsd starts as root (CAP_NET_ADMIN)",
                 rcvbuf / 2, d->cfg.udp_rcvbuf);
    if (d->cfg.pidfile && (rc = daemon_pidfile(d->cfg.pidfile))) {
        log_err("cannot start: pid file %s: %s", d->cfg.pidfile, strerror(-rc));
        goto fail;
    }
    if (d->cfg.user && (rc = daemon_drop_privileges(d->cfg.user))) {
        log_err("cannot start: dropping privileges to %s: %s", d->cfg.user,
                rc == GTM_ENOTFOUND ? "no such user" : strerror(-rc));
        goto fail;
    }
    uv_loop_init(&d->loop);
    uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup, &d->sig_usr1};
    uv_signal_cb cbs[] = {on_stop_signal, on_stop_signal, on_hup, on_usr1};
    int signums[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
    for (size_t i = 0; i < 4; i++) {
        uv_signal_init(&d->loop, sigs[i]);
        sigs[i]->data = d;
        uv_signal_start(sigs[i], cbs[i], signums[i]);
    }
    uv_timer_init(&d->loop, &d->steer_timer);
    d->steer_timer.data = d;
    signal(SIGPIPE, SIG_IGN);
    if ((rc = loader_start(&d->loader, &d->rcu))) {
        log_err("cannot start the loader thread: %s", strerror(-rc));
        goto fail_loop;
    }
    for (; d->nstarted < d->nworkers; d->nstarted++) {
        if ((rc = worker_start(&d->workers[d->nstarted]))) {
            log_err("cannot start worker %zu: %s", d->nstarted, strerror(-rc));
            goto fail_loop;
        }
    }
    char addrs[512] = "";
    for (size_t i = 0; i < d->cfg.naddrs; i++)
        snprintf(addrs + strlen(addrs), sizeof addrs - strlen(addrs), "%s%s", i ? " " : "",
                 d->cfg.addrs[i].text);
    log_info("ready: %zu zones, %zu records; %u threads on %s (udp+tcp); UDP steered by %s",
             first->nzones, first->nrecords, d->cfg.threads, addrs,
             d->cfg.udp_by_cpu ? "CPU" : "hash");
    if (d->xdp)
        log_info("UDP to these addresses also taken from %s by AF_XDP (%s mode, receive "
                 "queues: %u)",
                 d->cfg.xdp, xdp_filter_mode(d->xdp), xdp_filter_queues(d->xdp));
    if (strcmp(d->cfg.udp_steering, "cpu") == 0 && d->cfg.threads > d->cfg.cpus)
        log_info("UDP steered by hash, not by CPU: more threads (%u) than CPUs (%u)",
                 d->cfg.threads, d->cfg.cpus);
    if (d->cfg.udp_by_cpu && d->nstarted > 1)
        uv_timer_start(&d->steer_timer, on_steer_check, STEER_CHECK_MS, STEER_CHECK_MS);
    daemon_notify(notify_fd, 0);
    notify_fd = -1;
    log_echo_stderr(false);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    rc = 0;
    goto stop;
fail_loop:
    for (size_t i = 0; i < 4; i++)
        uv_close((uv_handle_t *)sigs[i], NULL);
    uv_close((uv_handle_t *)&d->steer_timer, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    rc = 1;
stop:
    for (size_t i = 0; i < d->nstarted; i++)
        worker_stop(&d->workers[i]);
    for (size_t i = 0; i < d->nstarted; i++)
        worker_join(&d->workers[i]);
    if (rc == 0)
        log_stats(d, "stopped after ");
    if (uv_loop_close(&d->loop) != 0)
        log_err("main loop closed with handles open");
    goto cleanup;
fail:
    rc = 1;
cleanup:
    /* workers that never ran: close their handles on their own loops */
    for (size_t i = d->nstarted; i < d->nworkers; i++) {
        worker_stop(&d->workers[i]);
        uv_run(&d->workers[i].loop, UV_RUN_DEFAULT);
        uv_loop_close(&d->workers[i].loop);
        cookie_mac_free(d->workers[i].q.cookie);
    }
    loader_fini(&d->loader);
    if (d->rcu.readers) {
        snap_free(rcu_current(&d->rcu));
        rcu_fini(&d->rcu);
    } else {
        snap_free(first);
    }
    free(d->workers);
    xdp_filter_free(d->xdp);
    steer_watch_free(&d->steer);
    rrl_free(d->rrl);
    if (d->cfg.pidfile)
        daemon_pidfile_remove(d->cfg.pidfile);
    daemon_notify(notify_fd, rc);
    return rc;
}

int main(int argc, char **argv)
{
    static struct dnsd d;
    log_open("gtm-dnsd", false);
    daemon_signals_ignore(false);
    int rc = cfg_program_load(&program, &d.cfg, argc, argv);
    if (rc < 0) {
        if (d.cfg.syslog)
            log_open("gtm-dnsd", true);
        rc = run(&d);
    }
    cfg_free(dnsd_cfg_table, &d.cfg);
    return rc;
}
