/* dnsd/worker.c — a serving thread and its loop (see worker.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/random.h"
#include "dnsd/worker.h"

static void on_stop(uv_async_t *a)
{
    struct worker *w = a->data;
    w->stopping = true;
    for (size_t i = 0; i < w->nsocks; i++) {
        udp_close(w->udp[i]);
        tcp_close(w->tcp[i]);
    }
    w->nsocks = 0;
    for (size_t i = 0; i < w->nxdp; i++) {
        w->q.stats.dropped += xdp_sock_dropped(w->xdp[i]);
        xdp_sock_close(w->xdp[i]);
    }
    w->nxdp = 0;
    tcp_close_all(w);
    uv_close((uv_handle_t *)&w->stop_async, NULL);
}

/* ---- AF_XDP (dnsd/xdp.h): the worker's answers, a batch inside one snapshot ---- */

static void xdp_batch(void *arg, bool begin)
{
    struct worker *w = arg;
    if (begin) {
        w->q.now_s = (uint32_t)(uv_now(&w->loop) / 1000);
        w->q.unix_s = (uint32_t)time(NULL);
        w->xdp_snap = rcu_enter(w->rcu, w->reader);
    } else {
        rcu_leave(w->reader);
        w->xdp_snap = NULL;
    }
}

static size_t xdp_answer(void *arg, const uint8_t *query, size_t len, const struct sockaddr *peer,
                         uint8_t *out, size_t cap)
{
    struct worker *w = arg;
    w->q.stats.xdp++;
    return query_answer(&w->q, w->xdp_snap, query, len, peer, out,
                        cap < w->cfg->edns_size ? cap : w->cfg->edns_size, false);
}

/* The AF_XDP sockets of the worker: queues index, index + threads, ... */
static int open_xdp(struct worker *w, struct xdp_filter *f, char *msg, size_t msglen)
{
    const struct xdp_ops ops = {xdp_batch, xdp_answer, w};
    int rc = 0;
    for (unsigned q = (unsigned)w->index; f && q < xdp_filter_queues(f); q += w->cfg->threads) {
        if (w->nxdp == WORKER_MAX_XDP)
            break; /* the queues past these pass to the kernel's sockets */
        if ((rc = xdp_sock_open(&w->xdp[w->nxdp], f, q, &ops, msg, msglen)))
            break;
        if ((rc = xdp_sock_start(w->xdp[w->nxdp++], &w->loop))) {
            snprintf(msg, msglen, "AF_XDP socket of queue %u: %s", q, uv_strerror(rc));
            break;
        }
    }
    return rc;
}

int worker_init(struct worker *w, int index, const struct dnsd_cfg *cfg, struct rcu *rcu,
                _Atomic unsigned *tcp_conns, struct xdp_filter *xdp, char *msg, size_t msglen)
{
    int rc;
    memset(w, 0, sizeof *w);
    w->index = index;
    w->cfg = cfg;
    w->rcu = rcu;
    w->reader = &rcu->readers[index];
    w->tcp_conns = tcp_conns;
    w->q.cfg = cfg;
    if ((rc = uv_loop_init(&w->loop))) {
        snprintf(msg, msglen, "worker %d: cannot create its loop: %s", index, uv_strerror(rc));
        return rc;
    }
    uv_async_init(&w->loop, &w->stop_async, on_stop);
    w->stop_async.data = w;
    for (size_t i = 0; i < cfg->naddrs; i++) {
        const struct dnsd_listen *l = &cfg->addrs[i];
        if ((rc = udp_open(&w->udp[i], w, l))) {
            snprintf(msg, msglen, "cannot listen on %s (UDP): %s", l->text, strerror(-rc));
            return rc;
        }
        if ((rc = tcp_open(&w->tcp[i], w, l))) {
            udp_close(w->udp[i]);
            snprintf(msg, msglen, "cannot listen on %s (TCP): %s", l->text, strerror(-rc));
            return rc;
        }
        w->nsocks++;
        /* listening now, before main() says "ready": the kernel queues connections
         * until the worker's loop runs */
        if ((rc = udp_start(w->udp[i])) || (rc = tcp_start(w->tcp[i]))) {
            snprintf(msg, msglen, "cannot listen on %s: %s", l->text, uv_strerror(rc));
            return rc;
        }
    }
    if ((rc = open_xdp(w, xdp, msg, msglen)))
        return rc;
    /* the decisions' random numbers: distinct per worker and per start */
    w->q.pol.rng = random_u64() | 1; /* xorshift must not start at zero */
    return cookie_mac_new(cfg->cookie_key, &w->q.cookie, msg, msglen);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

int worker_start(struct worker *w)
{
    return -pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_stop(struct worker *w)
{
    uv_async_send(&w->stop_async);
}

void worker_join(struct worker *w)
{
    pthread_join(w->thread, NULL);
    cookie_mac_free(w->q.cookie);
    w->q.cookie = NULL;
    int rc = uv_loop_close(&w->loop);
    if (rc)
        log_err("worker %d: loop closed with handles still open (%s)", w->index, uv_strerror(rc));
}

void worker_stats_add(const struct worker *w, struct query_stats *sum)
{
    const struct query_stats *s = &w->q.stats;
    sum->queries += s->queries;
    sum->udp += s->udp;
    sum->tcp += s->tcp;
    sum->xdp += s->xdp;
    sum->dropped += s->dropped;
    for (size_t i = 0; i < w->nxdp; i++)
        sum->dropped += xdp_sock_dropped(w->xdp[i]);
    sum->truncated += s->truncated;
    sum->edns += s->edns;
    sum->nsid += s->nsid;
    sum->rrl_dropped += s->rrl_dropped;
    sum->rrl_slipped += s->rrl_slipped;
    sum->cookies += s->cookies;
    sum->cookies_good += s->cookies_good;
    for (size_t i = 0; i < sizeof s->rcode / sizeof s->rcode[0]; i++)
        sum->rcode[i] += s->rcode[i];
}
