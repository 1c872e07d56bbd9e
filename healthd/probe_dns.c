/* healthd/probe_dns.c — DNS probes: the check's query (built with ldns when the check
 * was read) goes over UDP to the probe address; the endpoint is up when a reply with
 * our ID and question (RFC 5452 §4.3) says NOERROR with at least one answer for the
 * question (its name, with its type or a CNAME). Loop
 * thread only. Per probe: one connected UDP socket (so only the probed server can
 * answer, and an ICMP port unreachable comes back as "connection refused"), one
 * 4 KiB read into the scheduler's shared buffer, one ldns parse of the reply (ldns reads
 * the hostile bytes with bounds checks). A truncated reply (TC) counts by what it holds:
 * no retry over TCP, a health probe needs no complete answer. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "healthd/internal.h"

static void sock_close(struct check *c)
{
    if (!uv_is_closing(&c->sock.handle))
        uv_close(&c->sock.handle, sched__handle_closed);
}

static void conclude(struct check *c, bool ok, const char *reason)
{
    uv_timer_stop(&c->timeout);
    sched__verdict(c, ok, reason);
    uv_udp_recv_stop(&c->sock.udp);
    sock_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct check *c = h->data;
    (void)suggested;
    /* one thread, one read at a time: the scheduler's buffer serves every probe */
    *buf = uv_buf_init((char *)c->sched->dns_buf, sizeof c->sched->dns_buf);
}

/* Whether reply pkt answers our query: RFC 5452 §4.3 (ID and question); anything else
 * is not ours and is ignored (the timeout decides). */
static bool is_our_reply(const struct check *c, ldns_pkt *pkt)
{
    ldns_rr *q = ldns_pkt_qdcount(pkt) == 1 ? ldns_rr_list_rr(ldns_pkt_question(pkt), 0) : NULL;
    return ldns_pkt_id(pkt) == c->dns_id && ldns_pkt_qr(pkt) && q &&
           ldns_rr_get_type(q) == c->cfg->qtype && ldns_rr_get_class(q) == LDNS_RR_CLASS_IN &&
           ldns_dname_compare(ldns_rr_owner(q), c->cfg->qname) == 0;
}

/* The answer records of pkt for our question: its name, with its type or a CNAME. */
static uint16_t answers_for_us(const struct check *c, ldns_pkt *pkt)
{
    ldns_rr_list *an = ldns_pkt_answer(pkt);
    uint16_t n = 0;
    for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        if ((t == c->cfg->qtype || t == LDNS_RR_TYPE_CNAME) &&
            ldns_dname_compare(ldns_rr_owner(rr), c->cfg->qname) == 0)
            n++;
    }
    return n;
}

/* The verdict of a reply that is ours, in reason: NOERROR with an answer for the
 * question (records of other names alone, a wildcard's or another zone's, are none). */
static bool judge(const struct check *c, ldns_pkt *pkt, char *reason, size_t len)
{
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
    ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
    uint16_t n = ldns_pkt_ancount(pkt), ours = n ? answers_for_us(c, pkt) : 0;
    const char *tc = ldns_pkt_tc(pkt) ? " (truncated)" : "";
    if (rcode != LDNS_RCODE_NOERROR && t)
        snprintf(reason, len, "DNS %s", t->name);
    else if (rcode != LDNS_RCODE_NOERROR)
        snprintf(reason, len, "DNS rcode %d", (int)rcode);
    else if (n == 0)
        snprintf(reason, len, "DNS NOERROR without an answer%s", tc);
    else if (ours == 0)
        snprintf(reason, len, "DNS NOERROR, %u answer%s for other names or types%s", n,
                 n == 1 ? "" : "s", tc);
    else
        snprintf(reason, len, "DNS NOERROR, %u answer%s", ours, ours == 1 ? "" : "s");
    return rcode == LDNS_RCODE_NOERROR && ours > 0;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    struct check *c = u->data;
    char reason[96];
    ldns_pkt *pkt = NULL;
    unsigned dropped = 0;
    if (c->has_verdict || (nread == 0 && !from))
        goto out; /* nothing to read */
    if (nread < 0) {
        if (nread == UV_ECONNREFUSED)
            snprintf(reason, sizeof reason, "connection refused");
        else
            snprintf(reason, sizeof reason, "DNS: %s", uv_strerror((int)nread));
        conclude(c, false, reason);
    } else if (flags & UV_UDP_PARTIAL) {
        snprintf(reason, sizeof reason, "DNS reply longer than %d bytes", PROBE_DNS_REPLY_MAX);
        conclude(c, false, reason);
    } else if (ldns_wire2pkt(&pkt, (const uint8_t *)buf->base, (size_t)nread) != LDNS_STATUS_OK) {
        conclude(c, false, "DNS reply malformed");
    } else if (!is_our_reply(c, pkt)) {
        if (sched__log_allow(c->sched, &dropped))
            log_info("endpoint %s: DNS reply from %s is not for our query (ID or question); "
                     "ignored, the timeout decides (%u lines like it suppressed before)",
                     c->cfg->name, c->cfg->addr_text, dropped);
    } else {
        bool ok = judge(c, pkt, reason, sizeof reason);
        conclude(c, ok, reason);
    }
out:
    ldns_pkt_free(pkt);
}

static void on_send(uv_udp_send_t *req, int status)
{
    struct check *c = req->data;
    char reason[96];
    if (status == 0 || status == UV_ECANCELED || c->has_verdict)
        return;
    snprintf(reason, sizeof reason, status == UV_ECONNREFUSED ? "connection refused" : "DNS: %s",
             uv_strerror(status));
    conclude(c, false, reason);
}

static void on_timeout(uv_timer_t *t)
{
    struct check *c = t->data;
    char reason[64];
    snprintf(reason, sizeof reason, "timeout after %u ms", c->cfg->timeout_ms);
    conclude(c, false, reason);
}

int probe_dns_start(struct check *c)
{
    const struct probe_cfg *cfg = c->cfg;
    char reason[96];
    int rc = uv_udp_init_ex(c->sched->loop, &c->sock.udp, cfg->addr.ss_family);
    if (rc) {
        snprintf(reason, sizeof reason, "DNS: %s", uv_strerror(rc));
        sched__verdict(c, false, reason);
        sched__idle(c);
        goto out;
    }
    c->sock.udp.data = c;
    c->nopen++;
    /* RFC 5452 §9.2: an unpredictable ID; the connected socket's random source port does
     * the rest */
    c->dns_id = (uint16_t)arc4random_uniform(65536);
    memcpy(c->dns_query, cfg->query, cfg->query_len);
    c->dns_query[0] = (uint8_t)(c->dns_id >> 8);
    c->dns_query[1] = (uint8_t)c->dns_id;
    uv_buf_t buf = uv_buf_init((char *)c->dns_query, (unsigned)cfg->query_len);
    c->send_req.data = c;
    if ((rc = uv_udp_connect(&c->sock.udp, (const struct sockaddr *)&cfg->addr)) ||
        (rc = uv_udp_recv_start(&c->sock.udp, on_alloc, on_recv)) ||
        (rc = uv_udp_send(&c->send_req, &c->sock.udp, &buf, 1, NULL, on_send))) {
        snprintf(reason, sizeof reason, "DNS: %s", uv_strerror(rc));
        sched__verdict(c, false, reason);
        sock_close(c);
        goto out;
    }
    uv_timer_start(&c->timeout, on_timeout, cfg->timeout_ms, 0);
out:
    return rc;
}

void probe_dns_cancel(struct check *c)
{
    uv_timer_stop(&c->timeout);
    sock_close(c);
}
