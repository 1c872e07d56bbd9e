/* dnsd/tcp.c — DNS over TCP (see tcp.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "dnsd/sock.h"
#include "dnsd/tcp.h"
#include "dnsd/worker.h"

/* Pending connections the kernel queues for accept(). */
#define TCP_BACKLOG 256
/* Queued responses past which we stop answering and reading a connection until it
 * drains: a client that pipelines and never reads cannot make us buffer without bound
 * (at most this plus one answer, twice, a connection). */
#define TCP_OUT_HIGH (64 * 1024)
/* Time a stopping server gives connections to take the answers they are owed. */
#define TCP_SHUTDOWN_GRACE_MS 2000

struct tcp_listener {
    uv_tcp_t handle;
    struct worker *w;
};

struct tcp_conn {
    uv_tcp_t handle;
    uv_timer_t idle;
    struct worker *w;
    struct tcp_conn *prev, *next; /* the worker's open connections */
    uint8_t in[2 + DNS_MSG_MAX];  /* length-prefixed queries as they arrive */
    size_t in_len;
    uint8_t *out[2]; /* responses: one buffer being written, one filling */
    size_t out_len[2], out_cap[2];
    int writing; /* index of the buffer being written, or -1 */
    int filling;
    uv_write_t wreq;
    bool eof, closing, reading;
    int closed_handles;
    uint64_t active_ms;           /* loop time of the last whole query or answer taken */
    struct sockaddr_storage peer; /* the resolver: the client when a query has no ECS */
};

static void conn_close(struct tcp_conn *c);

static void on_conn_closed(uv_handle_t *h)
{
    struct tcp_conn *c = h->data;
    if (++c->closed_handles < 2)
        return;
    free(c->out[0]);
    free(c->out[1]);
    free(c);
}

static void conn_close(struct tcp_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(c->w->tcp_conns, 1);
    uv_close((uv_handle_t *)&c->handle, on_conn_closed);
    uv_close((uv_handle_t *)&c->idle, on_conn_closed);
}

static void on_idle(uv_timer_t *t)
{
    conn_close(t->data); /* RFC 7766 §6.2.3: idle connections are closed by the server */
}

static void restart_idle(struct tcp_conn *c)
{
    uint64_t ms = c->w->stopping ? TCP_SHUTDOWN_GRACE_MS : c->w->cfg->tcp_idle_timeout_s * 1000u;
    c->active_ms = uv_now(&c->w->loop);
    uv_timer_start(&c->idle, on_idle, ms, 0);
}

/* At the cap: this worker's connection idle longest, if it has been idle half the idle
 * timeout (RFC 7766 §6.2.2: under load, idle connections go first), else NULL. Clients
 * that hold connections without using them cannot keep a new one out for long. */
static struct tcp_conn *idlest(struct worker *w)
{
    struct tcp_conn *best = NULL;
    uint64_t now = uv_now(&w->loop), half = w->cfg->tcp_idle_timeout_s * 500u;
    for (struct tcp_conn *c = w->conns; c; c = c->next)
        if (!c->closing && c->writing < 0 && (!best || c->active_ms < best->active_ms))
            best = c;
    return best && now - best->active_ms >= half ? best : NULL;
}

static void flush(struct tcp_conn *c);

static void on_written(uv_write_t *req, int status)
{
    struct tcp_conn *c = req->data;
    c->out_len[c->writing] = 0;
    c->writing = -1;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    restart_idle(c);
    flush(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_conn *c = h->data;
    (void)suggested;
    buf->base = (char *)c->in + c->in_len;
    buf->len = sizeof c->in - c->in_len;
}

static void process(struct tcp_conn *c);

/* Whether a whole query waits in the input buffer. */
static bool query_waiting(const struct tcp_conn *c)
{
    return c->in_len >= 2 && c->in_len - 2 >= ((size_t)c->in[0] << 8 | c->in[1]);
}

/* Writes the filled buffer when nothing is being written; once all is written, answers
 * the queries left waiting at the high mark, or reads on, or closes a connection whose
 * client is done. */
static void flush(struct tcp_conn *c)
{
    if (c->writing >= 0)
        return;
    if (c->out_len[c->filling] == 0) {
        if (query_waiting(c))
            process(c); /* queues an answer (and flushes), or drops the queries */
        else if (c->eof)
            conn_close(c);
        else if (!c->reading && !c->w->stopping) {
            c->reading = uv_read_start((uv_stream_t *)&c->handle, on_alloc, on_read) == 0;
        }
        return;
    }
    c->writing = c->filling;
    c->filling = 1 - c->filling;
    uv_buf_t b = uv_buf_init((char *)c->out[c->writing], (unsigned)c->out_len[c->writing]);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->handle, &b, 1, on_written) != 0) {
        c->writing = -1;
        conn_close(c);
    }
}

static void queue_response(struct tcp_conn *c, const uint8_t *resp, size_t len)
{
    int f = c->filling;
    if (c->out_len[f] + 2 + len > c->out_cap[f]) {
        c->out_cap[f] = 2 * (c->out_len[f] + 2 + len);
        c->out[f] = xrealloc(c->out[f], c->out_cap[f]);
    }
    c->out[f][c->out_len[f]] = (uint8_t)(len >> 8);
    c->out[f][c->out_len[f] + 1] = (uint8_t)len;
    memcpy(c->out[f] + c->out_len[f] + 2, resp, len);
    c->out_len[f] += 2 + len;
}

/* Answers the complete queries in the input buffer, in order, until the answers queued
 * reach the high mark. A whole query restarts the idle timer; bytes alone do not (a
 * client sending a byte at a time is idle). */
static void process(struct tcp_conn *c)
{
    struct worker *w = c->w;
    size_t pos = 0;
    const struct snap *s = rcu_enter(w->rcu, w->reader);
    w->q.unix_s = (uint32_t)time(NULL);
    while (c->in_len - pos >= 2 && c->out_len[c->filling] <= TCP_OUT_HIGH) {
        size_t mlen = (size_t)c->in[pos] << 8 | c->in[pos + 1];
        if (c->in_len - pos < 2 + mlen)
            break;
        size_t len =
            query_answer(&w->q, s, c->in + pos + 2, mlen, (const struct sockaddr *)&c->peer,
                         w->tcp_scratch, sizeof w->tcp_scratch, true);
        if (len)
            queue_response(c, w->tcp_scratch, len);
        pos += 2 + mlen;
    }
    rcu_leave(w->reader);
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    if (pos)
        restart_idle(c);
    if (c->out_len[c->filling] > TCP_OUT_HIGH && c->reading) {
        uv_read_stop((uv_stream_t *)&c->handle);
        c->reading = false;
    }
    flush(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_conn *c = s->data;
    (void)buf;
    if (nread > 0) {
        c->in_len += (size_t)nread;
        process(c);
    } else if (nread < 0) {
        /* EOF: the client sent all it will; answer what we have, then close */
        uv_read_stop(s);
        c->reading = false;
        c->eof = true;
        if (nread != UV_EOF)
            conn_close(c);
        else
            flush(c);
    }
}

static void on_refused_closed(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct tcp_listener *t = server->data;
    struct worker *w = t->w;
    if (status < 0)
        return;
    bool over = atomic_fetch_add(w->tcp_conns, 1) >= w->cfg->tcp_max_conns;
    struct tcp_conn *victim = over ? idlest(w) : NULL;
    if (victim) {
        conn_close(victim); /* its place goes to the new one */
    } else if (over) {
        /* over the cap, nobody idle long: accept and close the newest, keeping the others */
        atomic_fetch_sub(w->tcp_conns, 1);
        uv_tcp_t *refused = xmalloc(sizeof *refused);
        uv_tcp_init(&w->loop, refused);
        if (uv_accept(server, (uv_stream_t *)refused) == 0)
            w->q.stats.dropped++;
        uv_close((uv_handle_t *)refused, on_refused_closed);
        return;
    }
    struct tcp_conn *c = xcalloc(1, sizeof *c);
    c->w = w;
    c->writing = -1;
    uv_tcp_init(&w->loop, &c->handle);
    uv_timer_init(&w->loop, &c->idle);
    c->handle.data = c;
    c->idle.data = c;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->handle) != 0) {
        conn_close(c);
        return;
    }
    int peer_len = sizeof c->peer;
    uv_tcp_getpeername(&c->handle, (struct sockaddr *)&c->peer, &peer_len);
    uv_tcp_nodelay(&c->handle, 1);
    restart_idle(c);
    c->reading = uv_read_start((uv_stream_t *)&c->handle, on_alloc, on_read) == 0;
    if (!c->reading)
        conn_close(c);
}

int tcp_open(struct tcp_listener **out, struct worker *w, const struct dnsd_listen *l)
{
    struct tcp_listener *t = xcalloc(1, sizeof *t);
    int fd = -1, rc = sock_bind(l, SOCK_STREAM, 0, &fd, NULL);
    if (rc) {
        free(t);
        return rc;
    }
    t->w = w;
    if ((rc = uv_tcp_init(&w->loop, &t->handle)) || (rc = uv_tcp_open(&t->handle, fd))) {
        close(fd);
        free(t);
        return rc;
    }
    t->handle.data = t;
    *out = t;
    return 0;
}

int tcp_start(struct tcp_listener *t)
{
    return uv_listen((uv_stream_t *)&t->handle, TCP_BACKLOG, on_connection);
}

static void on_listener_closed(uv_handle_t *h)
{
    free(h->data);
}

void tcp_close(struct tcp_listener *t)
{
    uv_close((uv_handle_t *)&t->handle, on_listener_closed);
}

void tcp_close_all(struct worker *w)
{
    for (struct tcp_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->reading) {
            uv_read_stop((uv_stream_t *)&c->handle);
            c->reading = false;
        }
        c->eof = true;
        restart_idle(c); /* the grace period */
        flush(c);
    }
}
