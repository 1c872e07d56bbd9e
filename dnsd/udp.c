/* dnsd/udp.c — batched UDP serving (see udp.h). */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "dnsd/sock.h"
#include "dnsd/udp.h"
#include "dnsd/worker.h"

/* Datagrams per recvmmsg/sendmmsg: one system call each way moves this many packets. */
#define UDP_BATCH 32
/* Batches per wake-up before going back to the loop, so one busy socket cannot starve
 * the worker's other sockets and its TCP connections. */
#define UDP_ROUNDS 8
/* Largest query we read: any datagram. Queries are small, and the kernel writes (and
 * the process touches) only the bytes each one has; the rest of a buffer is never
 * paged in. A buffer's row is 4 KiB and a cache line longer, so that the starts of
 * consecutive buffers fall in different cache sets. Responses use up to the
 * configured EDNS size. */
#define UDP_QUERY_MAX DNS_MSG_MAX
#define UDP_QUERY_ROW (65536 + 4096 + 64)
#define UDP_RESP_MAX 4096
#define UDP_CMSG_BYTES CMSG_SPACE(sizeof(struct in6_pktinfo))

struct udp_sock {
    uv_poll_t poll;
    struct worker *w;
    int fd;
    int family;
    bool wildcard; /* answer from the query's destination address (pktinfo) */
    struct mmsghdr in[UDP_BATCH], out[UDP_BATCH];
    struct iovec in_iov[UDP_BATCH], out_iov[UDP_BATCH];
    struct sockaddr_storage peers[UDP_BATCH];
    uint8_t in_cmsg[UDP_BATCH][UDP_CMSG_BYTES];
    uint8_t out_cmsg[UDP_BATCH][UDP_CMSG_BYTES];
    uint8_t queries[UDP_BATCH][UDP_QUERY_ROW];
    uint8_t responses[UDP_BATCH][UDP_RESP_MAX];
};

/* Copies the query's destination (IP_PKTINFO / IPV6_PKTINFO) into the reply's control
 * data so the reply leaves from the address the client asked. Returns its length. */
static size_t reply_cmsg(const struct msghdr *in, uint8_t *out)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)in); c;
         c = CMSG_NXTHDR((struct msghdr *)in, c)) {
        struct msghdr m = {.msg_control = out, .msg_controllen = UDP_CMSG_BYTES};
        struct cmsghdr *o = CMSG_FIRSTHDR(&m);
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            pi.ipi_spec_dst = pi.ipi_addr;
            pi.ipi_ifindex = 0;
            o->cmsg_level = IPPROTO_IP;
            o->cmsg_type = IP_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof pi);
            memcpy(CMSG_DATA(o), &pi, sizeof pi);
            return CMSG_SPACE(sizeof pi);
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            o->cmsg_level = IPPROTO_IPV6;
            o->cmsg_type = IPV6_PKTINFO;
            o->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
            memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(struct in6_pktinfo));
            return CMSG_SPACE(sizeof(struct in6_pktinfo));
        }
    }
    return 0;
}

/* Readies the first n receive headers for the next recvmmsg (the kernel wrote only the
 * headers of the datagrams it returned). */
static void in_reset(struct udp_sock *u, int n)
{
    for (int i = 0; i < n; i++) {
        u->in[i].msg_hdr.msg_namelen = sizeof u->peers[i];
        u->in[i].msg_hdr.msg_controllen = u->wildcard ? UDP_CMSG_BYTES : 0;
        u->in[i].msg_hdr.msg_flags = 0;
    }
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct udp_sock *u = h->data;
    struct worker *w = u->w;
    size_t cap = w->cfg->edns_size < UDP_RESP_MAX ? w->cfg->edns_size : UDP_RESP_MAX;
    (void)events;
    if (status < 0)
        return;
    w->q.now_s = (uint32_t)(uv_now(&w->loop) / 1000); /* the loop's cached time */
    w->q.unix_s = (uint32_t)time(NULL);               /* the vDSO's: no system call */
    for (int round = 0; round < UDP_ROUNDS; round++) {
        int n = recvmmsg(u->fd, u->in, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return; /* EAGAIN: drained; other errors (ICMP reports) are not ours */
        int k = 0;
        const struct snap *s = rcu_enter(w->rcu, w->reader);
        for (int i = 0; i < n; i++) {
            size_t len =
                query_answer(&w->q, s, u->queries[i], u->in[i].msg_len,
                             (const struct sockaddr *)&u->peers[i], u->responses[i], cap, false);
            if (len == 0)
                continue;
            struct msghdr *m = &u->out[k].msg_hdr;
            u->out_iov[k].iov_base = u->responses[i];
            u->out_iov[k].iov_len = len;
            m->msg_name = &u->peers[i];
            m->msg_namelen = u->in[i].msg_hdr.msg_namelen;
            m->msg_iov = &u->out_iov[k];
            m->msg_iovlen = 1;
            m->msg_control = u->out_cmsg[k];
            m->msg_controllen = u->wildcard ? reply_cmsg(&u->in[i].msg_hdr, u->out_cmsg[k]) : 0;
            if (m->msg_controllen == 0)
                m->msg_control = NULL;
            m->msg_flags = 0;
            k++;
        }
        rcu_leave(w->reader);
        in_reset(u, n);
        for (int sent = 0; sent < k;) {
            int r = sendmmsg(u->fd, u->out + sent, (unsigned)(k - sent), MSG_DONTWAIT);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
                /* this reply alone cannot go (port 0, no route, a firewall): the
                 * kernel says so for the first of the rest; the others go on */
                w->q.stats.dropped++;
                sent++;
                continue;
            }
            if (r <= 0) {
                w->q.stats.dropped += (uint64_t)(k - sent); /* full socket buffer */
                break;
            }
            sent += r;
        }
        if (n < UDP_BATCH)
            return;
    }
}

int udp_open(struct udp_sock **out, struct worker *w, const struct dnsd_listen *l)
{
    struct udp_sock *u = xcalloc(1, sizeof *u);
    int rc = sock_bind(l, SOCK_DGRAM, (int)w->cfg->udp_rcvbuf, &u->fd, &u->wildcard);
    if (rc) {
        free(u);
        return rc;
    }
    u->w = w;
    u->family = l->addr.ss_family;
    for (int i = 0; i < UDP_BATCH; i++) {
        u->in_iov[i].iov_base = u->queries[i];
        u->in_iov[i].iov_len = UDP_QUERY_MAX;
        u->in[i].msg_hdr.msg_name = &u->peers[i];
        u->in[i].msg_hdr.msg_iov = &u->in_iov[i];
        u->in[i].msg_hdr.msg_iovlen = 1;
        u->in[i].msg_hdr.msg_control = u->in_cmsg[i];
    }
    in_reset(u, UDP_BATCH);
    *out = u;
    return 0;
}

int udp_fd(const struct udp_sock *u)
{
    return u->fd;
}

int udp_start(struct udp_sock *u)
{
    int rc = uv_poll_init(&u->w->loop, &u->poll, u->fd);
    if (rc)
        return rc;
    u->poll.data = u;
    return uv_poll_start(&u->poll, UV_READABLE, on_readable);
}

static void on_closed(uv_handle_t *h)
{
    struct udp_sock *u = h->data;
    close(u->fd);
    free(u);
}

void udp_close(struct udp_sock *u)
{
    if (uv_is_active((uv_handle_t *)&u->poll) || u->poll.data) {
        uv_poll_stop(&u->poll);
        uv_close((uv_handle_t *)&u->poll, on_closed);
    } else {
        close(u->fd);
        free(u);
    }
}
