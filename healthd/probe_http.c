/* healthd/probe_http.c — HTTP and HTTPS probes through libcurl's multi-socket
 * interface, driven by the libuv loop: libcurl says which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> one uv_poll_t each) and when to wake it
 * (CURLMOPT_TIMERFUNCTION -> one uv_timer_t), and we report readiness back with
 * curl_multi_socket_action(). Loop thread only: libcurl never blocks it (connects and
 * TLS are non-blocking; host names go to libcurl's threaded resolver).
 * Per probe: one connection, closed when the transfer ends (a probe tests that a new
 * client can connect, so connections are never reused), and at most
 * PROBE_HTTP_BODY_MAX bytes of body kept. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "healthd/internal.h"

/* A socket libcurl asked us to watch. Freed in its close callback. */
struct curl_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct probe_http *http;
};

/* An expect_body this long is cut in the reason ("body lacks '...'"), so that an event
 * row stays one readable line. */
#define REASON_BODY_MAX 40

static void drain_done(struct probe_http *h);

/* ---- the multi handle on the loop ----------------------------------------------------------- */

static void on_poll_closed(uv_handle_t *handle)
{
    struct curl_sock *cs = handle->data;
    cs->http->npolls--;
    free(cs);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct curl_sock *cs = p->data;
    struct probe_http *h = cs->http;
    int flags = 0, running = 0;
    /* an error on the socket (a reset): curl reads or writes and reports the errno
     * itself ("Connection reset by peer"); CURL_CSELECT_ERR would say only "select/poll
     * returned error" */
    if (status < 0)
        flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, cs->fd, flags, &running);
    drain_done(h);
}

/* CURLMOPT_SOCKETFUNCTION: what libcurl wants to hear about fd. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct probe_http *h = userp;
    struct curl_sock *cs = socketp;
    int rc = 0, events = 0;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        /* libcurl is about to close fd: stop watching it now, so a new socket that
         * gets the same number is not confused with it */
        if (cs) {
            curl_multi_assign(h->multi, fd, NULL);
            uv_close((uv_handle_t *)&cs->poll, on_poll_closed);
        }
        goto out;
    }
    if (!cs) {
        cs = xcalloc(1, sizeof *cs);
        cs->fd = fd;
        cs->http = h;
        if (uv_poll_init_socket(h->loop, &cs->poll, fd) != 0) {
            free(cs);
            rc = -1; /* libcurl fails the transfer */
            goto out;
        }
        cs->poll.data = cs;
        h->npolls++;
        curl_multi_assign(h->multi, fd, cs);
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&cs->poll, events, on_poll);
out:
    return rc;
}

static void on_timer(uv_timer_t *t)
{
    struct probe_http *h = t->data;
    int running = 0;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(h);
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants curl_multi_socket_action(TIMEOUT) in
 * timeout_ms (0: as soon as possible, from the loop, never from here; -1: never). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct probe_http *h = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int probe_http_init(struct probe_http *h, uv_loop_t *loop)
{
    int rc = GTM_EINVAL;
    memset(h, 0, sizeof *h);
    h->loop = loop;
    if (!(h->multi = curl_multi_init()))
        goto out;
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    h->is_timer_open = true;
    rc = 0;
out:
    return rc;
}

void probe_http_fini(struct probe_http *h)
{
    if (h->multi)
        curl_multi_cleanup(h->multi); /* may still drop sockets: their polls close */
    h->multi = NULL;
    if (h->is_timer_open)
        uv_close((uv_handle_t *)&h->timer, NULL);
    h->is_timer_open = false;
}

/* ---- one probe ------------------------------------------------------------------------------ */

/* CURLOPT_WRITEFUNCTION: keeps the first PROBE_HTTP_BODY_MAX bytes (only when the
 * check looks for a string in them); past them, stops the transfer (libcurl reports
 * CURLE_WRITE_ERROR, which finish() forgives). The buffer grows with the body and is
 * freed after the verdict: a thousand checks of small health pages hold no 64 KiB each. */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct check *c = arg;
    size_t len = size * n, room = PROBE_HTTP_BODY_MAX - c->body_len;
    size_t take = len < room ? len : room;
    if (c->cfg->expect_body && take) {
        if (c->body_len + take > c->body_cap) {
            size_t cap = c->body_cap ? 2 * c->body_cap : 1024;
            while (cap < c->body_len + take)
                cap *= 2;
            c->body_cap = cap < PROBE_HTTP_BODY_MAX ? cap : PROBE_HTTP_BODY_MAX;
            c->body = xrealloc(c->body, c->body_cap);
        }
        memcpy(c->body + c->body_len, data, take);
    }
    c->body_len += take;
    if (take < len) {
        c->is_body_capped = true;
        return 0;
    }
    return len;
}

/* CURLOPT_SOCKOPTFUNCTION: close with a reset rather than a FIN (SO_LINGER 0, as
 * HAProxy's checks do), so a checker that opens a connection per probe leaves no
 * TIME_WAIT sockets behind: at 1,000 probes a second they would use up the ephemeral
 * ports within a minute. */
static int on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    (void)arg;
    if (purpose == CURLSOCKTYPE_IPCXN) {
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    return CURL_SOCKOPT_OK;
}

/* libcurl's error in words an operator reads in an event row (cut at 150 characters,
 * so that a reason stays one readable line). */
static void describe_error(struct check *c, CURLcode res, char *out, size_t outlen)
{
    long os_errno = 0;
    size_t n = strlen(c->curl_err);
    while (n && (c->curl_err[n - 1] == '\n' || c->curl_err[n - 1] == '.'))
        c->curl_err[--n] = '\0';
    const char *detail = n ? c->curl_err : curl_easy_strerror(res);
    curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &os_errno);
    switch (res) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out, outlen, "timeout after %u ms", c->cfg->timeout_ms);
        break;
    case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED)
            snprintf(out, outlen, "connection refused");
        else if (os_errno)
            snprintf(out, outlen, "cannot connect: %s", strerror((int)os_errno));
        else
            snprintf(out, outlen, "cannot connect: %.150s", detail);
        break;
    case CURLE_COULDNT_RESOLVE_HOST: snprintf(out, outlen, "%.150s", detail); break;
    case CURLE_GOT_NOTHING: snprintf(out, outlen, "connection closed without a reply"); break;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        if (os_errno == ECONNRESET)
            snprintf(out, outlen, "connection reset");
        else
            snprintf(out, outlen, "%.150s", detail);
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE: snprintf(out, outlen, "TLS: %.150s", detail); break;
    default: snprintf(out, outlen, "%.150s", detail); break;
    }
}

/* The verdict of a finished transfer. */
static void finish(struct check *c, CURLcode res)
{
    char reason[sizeof c->reason];
    long status = 0;
    bool ok = false;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (res == CURLE_WRITE_ERROR && c->is_body_capped)
        res = CURLE_OK; /* we stopped reading: the status and the first bytes are in */
    if (res != CURLE_OK) {
        describe_error(c, res, reason, sizeof reason);
    } else if (status < (long)c->cfg->status_min || status > (long)c->cfg->status_max) {
        if (c->cfg->status_min == c->cfg->status_max)
            snprintf(reason, sizeof reason, "HTTP %ld, expected %u", status, c->cfg->status_min);
        else
            snprintf(reason, sizeof reason, "HTTP %ld, expected %u-%u", status, c->cfg->status_min,
                     c->cfg->status_max);
    } else if (c->cfg->expect_body && !memmem(c->body ? c->body : "", c->body_len,
                                              c->cfg->expect_body, strlen(c->cfg->expect_body))) {
        int cut = strlen(c->cfg->expect_body) > REASON_BODY_MAX;
        snprintf(reason, sizeof reason, "body lacks '%.*s%s'", REASON_BODY_MAX, c->cfg->expect_body,
                 cut ? "..." : "");
    } else {
        snprintf(reason, sizeof reason, "HTTP %ld", status);
        ok = true;
    }
    free(c->body);
    c->body = NULL;
    c->body_cap = 0;
    sched__verdict(c, ok, reason);
    sched__idle(c);
}

/* Takes the finished transfers off the multi handle and gives their verdicts. */
static void drain_done(struct probe_http *h)
{
    CURLMsg *m;
    int left = 0;
    while (h->multi && (m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode res = m->data.result; /* m is invalid once the handle is removed */
        struct check *c = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
        curl_multi_remove_handle(h->multi, easy);
        finish(c, res);
    }
}

/* Sets the options that stay the same for every probe of c. */
static int easy_setup(struct check *c)
{
    const struct probe_cfg *cfg = c->cfg;
    int rc = GTM_EINVAL;
    CURL *e = curl_easy_init();
    if (!e)
        goto out;
    c->connect_to = curl_slist_append(NULL, cfg->connect_to);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)c);
    curl_easy_setopt(e, CURLOPT_URL, cfg->url);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for resolver timeouts */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    /* a host name is resolved again for every probe: libcurl's 60 s cache would keep
     * probing an address the name no longer has for up to a minute */
    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an answer: 3xx */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "gtm-healthd/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->curl_err);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->is_insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->is_insecure ? 0L : 2L);
    /* the CA bundle file alone: libcurl keeps the store it reads from it in the multi
     * handle (CURLOPT_CA_CACHE_TIMEOUT), but not with a CA directory set, as Debian's
     * build sets by default; it would then read the whole bundle again for every probe
     * (tens of ms of CPU each) */
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    c->easy = e;
    rc = 0;
out:
    return rc;
}

int probe_http_start(struct check *c)
{
    struct probe_http *h = &c->sched->http;
    int rc = 0;
    if (!c->easy && (rc = easy_setup(c)))
        goto out;
    c->body_len = 0;
    c->is_body_capped = false;
    c->curl_err[0] = '\0';
    /* libcurl asks for its timer at once and connects from there */
    if (curl_multi_add_handle(h->multi, c->easy) != CURLM_OK)
        rc = GTM_EINVAL;
out:
    if (rc) {
        sched__verdict(c, false, "cannot start an HTTP transfer (libcurl)");
        sched__idle(c);
    }
    return rc;
}

void probe_http_cancel(struct check *c)
{
    if (c->easy && c->sched->http.multi)
        curl_multi_remove_handle(c->sched->http.multi, c->easy);
    sched__idle(c);
}

void probe_http_check_fini(struct check *c)
{
    if (c->easy)
        curl_easy_cleanup(c->easy);
    c->easy = NULL;
    curl_slist_free_all(c->connect_to);
    c->connect_to = NULL;
    free(c->body);
    c->body = NULL;
    c->body_cap = 0;
}
