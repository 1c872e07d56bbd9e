/* dnsd/worker.h — a serving thread: its own libuv loop, its own SO_REUSEPORT UDP and
 * TCP sockets on every listen address, its own query context and counters. Workers
 * share nothing but the published snapshot (read through dnsd/rcu.h) and the TCP
 * connection count. Created, started and joined by main(). */
#ifndef GTM_DNSD_WORKER_H
#define GTM_DNSD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <uv.h>

#include "dnsd/conf.h"
#include "dnsd/query.h"
#include "dnsd/rcu.h"
#include "dnsd/tcp.h"
#include "dnsd/udp.h"
#include "dnsd/xdp.h"

/* AF_XDP sockets a worker takes at most: queues beyond pass to the kernel's sockets. */
#define WORKER_MAX_XDP 16

struct worker {
    int index;
    const struct dnsd_cfg *cfg;
    struct rcu *rcu;
    struct rcu_reader *reader;
    _Atomic unsigned *tcp_conns; /* open TCP connections of all workers */
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t stop_async;
    struct query_ctx q;
    struct udp_sock *udp[DNSD_MAX_LISTEN];
    struct tcp_listener *tcp[DNSD_MAX_LISTEN];
    size_t nsocks;
    struct xdp_sock *xdp[WORKER_MAX_XDP]; /* with --xdp */
    size_t nxdp;
    const struct snap *xdp_snap; /* during a batch of AF_XDP queries */
    struct tcp_conn *conns;      /* open connections, for shutdown */
    bool stopping;
    uint8_t tcp_scratch[DNS_MSG_MAX]; /* a TCP response before it is queued */
};

/* Creates the worker's loop and sockets, bound and listening (before privileges are
 * dropped; the loop runs once worker_start() is called), with its AF_XDP sockets when
 * xdp is not NULL. Returns 0, or an error with msg. */
int worker_init(struct worker *w, int index, const struct dnsd_cfg *cfg, struct rcu *rcu,
                _Atomic unsigned *tcp_conns, struct xdp_filter *xdp, char *msg, size_t msglen);
int worker_start(struct worker *w);
/* Asks the worker to stop (any thread); worker_join() waits for it: UDP stops, TCP
 * listeners close, open connections finish the answers they owe, then close. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);
/* Adds the worker's counters into sum (any thread; counters are read racily). */
void worker_stats_add(const struct worker *w, struct query_stats *sum);

#endif
