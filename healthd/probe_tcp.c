/* healthd/probe_tcp.c — TCP connect probes on libuv: the endpoint is up when a
 * connection to its probe address and port completes within the timeout. Loop thread
 * only. Per probe: one socket, closed with a reset once connected (SO_LINGER 0, as
 * HAProxy's checks do), so 1,000 probes a second leave no TIME_WAIT sockets to use up
 * the ephemeral ports. */
#include "config.h"

#include <stdio.h>

#include "common/log.h"
#include "healthd/internal.h"

/* A connect error in words for the event row. */
static void describe(int status, char *out, size_t outlen)
{
    switch (status) {
    case UV_ECONNREFUSED: snprintf(out, outlen, "connection refused"); break;
    case UV_ENETUNREACH: snprintf(out, outlen, "network unreachable"); break;
    case UV_EHOSTUNREACH: snprintf(out, outlen, "host unreachable"); break;
    case UV_ECONNRESET: snprintf(out, outlen, "connection reset"); break;
    default: snprintf(out, outlen, "cannot connect: %s", uv_strerror(status)); break;
    }
}

static void sock_close(struct check *c, bool is_reset)
{
    if (uv_is_closing(&c->sock.handle))
        return;
    if (!is_reset || uv_tcp_close_reset(&c->sock.tcp, sched__handle_closed) != 0)
        uv_close(&c->sock.handle, sched__handle_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct check *c = req->data;
    char reason[96];
    if (status == UV_ECANCELED || c->has_verdict)
        return; /* the timeout or a cancel closed the socket */
    uv_timer_stop(&c->timeout);
    if (status == 0)
        snprintf(reason, sizeof reason, "connected");
    else
        describe(status, reason, sizeof reason);
    sched__verdict(c, status == 0, reason);
    sock_close(c, status == 0);
}

static void on_timeout(uv_timer_t *t)
{
    struct check *c = t->data;
    char reason[64];
    snprintf(reason, sizeof reason, "timeout after %u ms", c->cfg->timeout_ms);
    sched__verdict(c, false, reason);
    sock_close(c, false); /* on_connect gets UV_ECANCELED */
}

int probe_tcp_start(struct check *c)
{
    char reason[96];
    int rc = uv_tcp_init_ex(c->sched->loop, &c->sock.tcp, c->cfg->addr.ss_family);
    if (rc) {
        describe(rc, reason, sizeof reason);
        sched__verdict(c, false, reason);
        sched__idle(c);
        goto out;
    }
    c->sock.tcp.data = c;
    c->nopen++;
    c->connect_req.data = c;
    rc = uv_tcp_connect(&c->connect_req, &c->sock.tcp, (const struct sockaddr *)&c->cfg->addr,
                        on_connect);
    if (rc) {
        /* EMFILE, or an address family this host lacks: a failed probe like any other */
        describe(rc, reason, sizeof reason);
        sched__verdict(c, false, reason);
        sock_close(c, false);
        goto out;
    }
    uv_timer_start(&c->timeout, on_timeout, c->cfg->timeout_ms, 0);
out:
    return rc;
}

void probe_tcp_cancel(struct check *c)
{
    uv_timer_stop(&c->timeout);
    sock_close(c, false);
}
