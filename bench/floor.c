/* bench/floor.c — the floor for gtm-dnsd's cost per query: a responder that answers
 * every DNS query with one fixed A record through the same I/O as gtm-dnsd (SO_REUSEPORT
 * socket per thread, steered by CPU or by hash, libuv poll, recvmmsg and sendmmsg in
 * batches of 32), and does nothing else: no lookup, no EDNS, no compression table.
 * bench/run.sh runs it beside gtm-dnsd; the difference in µs per query is what
 * gtm-dnsd's own work costs. With xdp:IFACE it also takes the queries from IFACE by
 * AF_XDP (dnsd/xdp.h) as gtm-dnsd --xdp IFACE does, thread t the queues t, t+THREADS...
 *   floor ADDR PORT THREADS [cpu|hash|xdp:IFACE]   (steering as gtm-dnsd's
 *                                                   --udp-steering; cpu)
 * Runs until SIGTERM. Benchmarks only: it answers anything, never use it as a server. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "dnsd/steer.h"
#include "dnsd/xdp.h"

#define BATCH 32 /* as dnsd/udp.c */
#define ROUNDS 8
#define BUF 4096

#define XDP_MAX 16 /* AF_XDP sockets a thread takes, as a gtm-dnsd worker */

struct floor_sock {
    uv_loop_t loop;
    uv_poll_t poll;
    uv_signal_t sig;
    int fd;
    struct xdp_sock *xdp[XDP_MAX];
    size_t nxdp;
    struct mmsghdr in[BATCH], out[BATCH];
    struct iovec in_iov[BATCH], out_iov[BATCH];
    struct sockaddr_storage peers[BATCH];
    uint8_t q[BATCH][BUF], r[BATCH][BUF];
};

/* The answer: the query's header and question, QR and AA set, one A record
 * (pointer to the question name, IN, TTL 300, 192.0.2.1). Queries without a question
 * that fits are not answered. */
static size_t answer(const uint8_t *q, size_t len, uint8_t *r, size_t cap)
{
    static const uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1};
    size_t pos = 12;
    if (len < 12)
        return 0;
    while (pos < len && q[pos] && q[pos] < 64)
        pos += q[pos] + 1u;
    pos += 5; /* root label, type, class */
    if (pos > len || pos + sizeof rr > cap)
        return 0;
    memcpy(r, q, pos);
    r[2] = 0x84 | (q[2] & 0x01);
    r[3] = 0;
    r[4] = 0, r[5] = 1, r[6] = 0, r[7] = 1;
    memset(r + 8, 0, 4);
    memcpy(r + pos, rr, sizeof rr);
    return pos + sizeof rr;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct floor_sock *s = h->data;
    (void)events;
    if (status < 0)
        return;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++)
            s->in[i].msg_hdr.msg_namelen = sizeof s->peers[i];
        int n = recvmmsg(s->fd, s->in, BATCH, MSG_DONTWAIT, NULL), k = 0;
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++) {
            size_t len = answer(s->q[i], s->in[i].msg_len, s->r[i], BUF);
            if (!len)
                continue;
            s->out_iov[k].iov_base = s->r[i];
            s->out_iov[k].iov_len = len;
            s->out[k].msg_hdr.msg_name = &s->peers[i];
            s->out[k].msg_hdr.msg_namelen = s->in[i].msg_hdr.msg_namelen;
            s->out[k].msg_hdr.msg_iov = &s->out_iov[k];
            s->out[k].msg_hdr.msg_iovlen = 1;
            k++;
        }
        for (int sent = 0; sent < k;) {
            int r = sendmmsg(s->fd, s->out + sent, (unsigned)(k - sent), MSG_DONTWAIT);
            if (r <= 0)
                break;
            sent += r;
        }
        if (n < BATCH)
            return;
    }
}

static void xdp_batch(void *arg, bool begin)
{
    (void)arg, (void)begin;
}

static size_t xdp_answer(void *arg, const uint8_t *query, size_t len, const struct sockaddr *peer,
                         uint8_t *out, size_t cap)
{
    (void)arg, (void)peer;
    return answer(query, len, out, cap);
}

static void on_term(uv_signal_t *h, int signum)
{
    struct floor_sock *s = h->data;
    (void)signum;
    for (size_t i = 0; i < s->nxdp; i++)
        xdp_sock_close(s->xdp[i]);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, NULL);
    uv_close((uv_handle_t *)&s->sig, NULL);
}

static void *serve(void *arg)
{
    struct floor_sock *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    return NULL;
}

int main(int argc, char **argv)
{
    struct dnsd_listen l = {.addr_len = sizeof(struct sockaddr_in)};
    struct sockaddr_in addr = {.sin_family = AF_INET};
    const char *xdp = argc == 5 && strncmp(argv[4], "xdp:", 4) == 0 ? argv[4] + 4 : NULL;
    struct xdp_filter *filter = NULL;
    char msg[512];
    if (argc < 4 || argc > 5 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 ||
        (argc == 5 && !xdp && strcmp(argv[4], "cpu") != 0 && strcmp(argv[4], "hash") != 0)) {
        fprintf(stderr, "usage: floor ADDR PORT THREADS [cpu|hash|xdp:IFACE]\n");
        return 2;
    }
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    int threads = atoi(argv[3]);
    if (threads < 1 || threads > 64)
        threads = 1;
    /* as gtm-dnsd: by CPU only when every thread has a CPU */
    bool by_cpu = (argc == 4 || xdp || strcmp(argv[4], "cpu") == 0) &&
                  threads <= sysconf(_SC_NPROCESSORS_ONLN);
    memcpy(&l.addr, &addr, sizeof addr);
    if (xdp && xdp_filter_new(&filter, xdp, &l, 1, msg, sizeof msg)) {
        fprintf(stderr, "floor: %s\n", msg);
        return 1;
    }
    struct floor_sock *socks = calloc((size_t)threads, sizeof *socks);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    for (int t = 0; t < threads; t++) {
        struct floor_sock *s = &socks[t];
        int on = 1;
        s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) ||
            bind(s->fd, (struct sockaddr *)&addr, sizeof addr)) {
            perror("floor: socket");
            return 1;
        }
        int rc = by_cpu ? steer_by_cpu(s->fd, (unsigned)threads) : 0;
        if (rc) {
            fprintf(stderr, "floor: steering by CPU: %s\n", strerror(-rc));
            return 1;
        }
        for (int i = 0; i < BATCH; i++) {
            s->in_iov[i] = (struct iovec){s->q[i], BUF};
            s->in[i].msg_hdr.msg_name = &s->peers[i];
            s->in[i].msg_hdr.msg_iov = &s->in_iov[i];
            s->in[i].msg_hdr.msg_iovlen = 1;
        }
        uv_loop_init(&s->loop);
        uv_poll_init(&s->loop, &s->poll, s->fd);
        s->poll.data = s;
        uv_poll_start(&s->poll, UV_READABLE, on_readable);
        const struct xdp_ops ops = {xdp_batch, xdp_answer, s};
        for (unsigned q = (unsigned)t; filter && q < xdp_filter_queues(filter) && s->nxdp < XDP_MAX;
             q += (unsigned)threads) {
            if (xdp_sock_open(&s->xdp[s->nxdp], filter, q, &ops, msg, sizeof msg)) {
                fprintf(stderr, "floor: %s\n", msg);
                return 1;
            }
            if ((rc = xdp_sock_start(s->xdp[s->nxdp++], &s->loop))) {
                fprintf(stderr, "floor: AF_XDP: %s\n", uv_strerror(rc));
                return 1;
            }
        }
        uv_signal_init(&s->loop, &s->sig);
        s->sig.data = s;
        uv_signal_start(&s->sig, on_term, SIGTERM);
    }
    printf("floor: ready on %s:%s, %d threads, steered by %s%s%s\n", argv[1], argv[2], threads,
           by_cpu ? "CPU" : "hash", xdp ? ", AF_XDP on " : "", xdp ? xdp : "");
    fflush(stdout);
    for (int t = 0; t < threads; t++)
        pthread_create(&tids[t], NULL, serve, &socks[t]);
    for (int t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    for (int t = 0; t < threads; t++)
        close(socks[t].fd);
    xdp_filter_free(filter);
    free(socks);
    free(tids);
    return 0;
}
