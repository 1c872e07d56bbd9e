/* healthd/probe.c — from a row of the checks table to a probe configuration: where to
 * connect, what to send, what to expect. The store thread builds it when it reads the
 * checks; the loop only reads it. Costs one URL parse and, for DNS, one ldns packet per
 * check and reload, never per probe. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "db/store.h"
#include "healthd/probe.h"

/* Default ports (RFC 9110 §4.2.1-2 for http/https, RFC 1035 §4.2 for DNS); a TCP check
 * has none and must name its port. */
#define PORT_HTTP 80
#define PORT_HTTPS 443
#define PORT_DNS 53

const char *probe_type_name(enum probe_type t)
{
    switch (t) {
    case PROBE_HTTP: return "http";
    case PROBE_HTTPS: return "https";
    case PROBE_TCP: return "tcp";
    case PROBE_DNS: return "dns";
    }
    return "?";
}

static int type_parse(const char *s, enum probe_type *out)
{
    static const enum probe_type all[] = {PROBE_HTTP, PROBE_HTTPS, PROBE_TCP, PROBE_DNS};
    int rc = GTM_EINVAL;
    for (size_t i = 0; rc && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, probe_type_name(all[i])) == 0) {
            *out = all[i];
            rc = 0;
        }
    }
    return rc;
}

/* An IP literal ("192.0.2.1", "2001:db8::1" or "[2001:db8::1]") with port into *ss;
 * text gets "ADDR:PORT" for logs. 0, or GTM_EINVAL when it is not an IP literal. */
static int addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss, socklen_t *len,
                      char *text, size_t textlen)
{
    char host[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(s);
    struct sockaddr_storage a = {0};
    struct sockaddr_in *in4 = (struct sockaddr_in *)&a;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
    int rc = GTM_EINVAL;
    if (n >= sizeof host)
        goto out;
    if (n > 2 && s[0] == '[' && s[n - 1] == ']')
        snprintf(host, sizeof host, "%.*s", (int)(n - 2), s + 1);
    else
        snprintf(host, sizeof host, "%s", s);
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *len = sizeof *in4;
        snprintf(text, textlen, "%s:%u", host, port);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
        snprintf(text, textlen, "[%s]:%u", host, port);
    } else {
        goto out;
    }
    *ss = a;
    rc = 0;
out:
    return rc;
}

/* The endpoint's own address as text ("192.0.2.1", "2001:db8::1"), or its host name
 * without the root's dot; URL form puts IPv6 in brackets. */
static void endpoint_host(const struct store_check *c, bool url_form, char *out, size_t outlen)
{
    char a[INET6_ADDRSTRLEN] = "";
    if (c->kind == STORE_EP_V4 && c->address_len == 4) {
        inet_ntop(AF_INET, c->address, a, sizeof a);
        snprintf(out, outlen, "%s", a);
    } else if (c->kind == STORE_EP_V6 && c->address_len == 16) {
        inet_ntop(AF_INET6, c->address, a, sizeof a);
        snprintf(out, outlen, url_form ? "[%s]" : "%s", a);
    } else {
        size_t n = strlen(c->target);
        if (n > 1 && c->target[n - 1] == '.')
            n--;
        snprintf(out, outlen, "%.*s", (int)n, c->target);
    }
}

/* Whether s is an IPv6 literal (needs brackets in a URL or a CONNECT_TO entry). */
static bool is_v6_literal(const char *s)
{
    struct in6_addr a;
    return inet_pton(AF_INET6, s, &a) == 1;
}

/* ---- HTTP and HTTPS ------------------------------------------------------------------------- */

static int http_setup(struct probe_cfg *p, const struct store_check *c, char *err, size_t errlen)
{
    int rc = GTM_EINVAL;
    const char *scheme = p->type == PROBE_HTTPS ? "https" : "http";
    char host[300], port_text[12] = "", *url = NULL, *part = NULL;
    CURLU *u = curl_url();
    if (!u) {
        snprintf(err, errlen, "libcurl cannot parse URLs (out of memory)");
        goto out;
    }
    if (c->port)
        snprintf(port_text, sizeof port_text, "%u", c->port);
    if (c->url) {
        if (curl_url_set(u, CURLUPART_URL, c->url, 0) != CURLUE_OK) {
            snprintf(err, errlen, "url '%s' is not a URL", c->url);
            goto out;
        }
        if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK || strcmp(part, scheme)) {
            snprintf(err, errlen, "url '%s' is not an %s URL, as the check's type says", c->url,
                     scheme);
            goto out;
        }
    } else {
        /* Default: the root of the endpoint (or of the Host name, which then is the
         * TLS name too), on the check's port. */
        if (c->host)
            snprintf(host, sizeof host, "%s", c->host);
        else
            endpoint_host(c, true, host, sizeof host);
        /* the scheme's own port stays out of the URL, so Host has none (RFC 9110 §7.2) */
        bool is_default = c->port == (p->type == PROBE_HTTPS ? PORT_HTTPS : PORT_HTTP);
        bool has_port = c->port && !is_default;
        char *def =
            xasprintf("%s://%s%s%s/", scheme, host, has_port ? ":" : "", has_port ? port_text : "");
        CURLUcode uc = curl_url_set(u, CURLUPART_URL, def, 0);
        free(def);
        if (uc != CURLUE_OK) {
            snprintf(err, errlen, "cannot make a URL of host '%s'", host);
            goto out;
        }
    }
    /* RFC 9110 §7.2: Host comes from the URL's authority, and libcurl sends the URL's
     * host as TLS SNI (RFC 6066 §3) and verifies the certificate against it: so the
     * check's host replaces the URL's host rather than only the header. */
    if (c->host && c->url && curl_url_set(u, CURLUPART_HOST, c->host, 0) != CURLUE_OK) {
        snprintf(err, errlen, "host '%s' is not a host name", c->host);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
        snprintf(err, errlen, "cannot make a URL for the check");
        goto out;
    }
    p->url = xstrdup(url);
    /* Where to connect: the probe address, else the answered address, else the
     * endpoint's host name (libcurl resolves it on its resolver thread). Empty host and
     * port before it match any URL; an empty port after it keeps the URL's. */
    const char *to = c->probe_address;
    char ep[300], bracketed[INET6_ADDRSTRLEN + 2];
    if (!to) {
        endpoint_host(c, true, ep, sizeof ep);
        to = ep;
    } else if (is_v6_literal(to)) {
        snprintf(bracketed, sizeof bracketed, "[%s]", to);
        to = bracketed;
    }
    p->connect_to = xasprintf("::%s:%s", to, port_text);
    p->expect_body = c->expect_body && *c->expect_body ? xstrdup(c->expect_body) : NULL;
    p->status_min = c->status_min;
    p->status_max = c->status_max;
    p->is_insecure = c->insecure;
    snprintf(p->addr_text, sizeof p->addr_text, "%.255s%s%s", to, c->port ? ":" : "", port_text);
    rc = 0;
out:
    curl_free(part);
    curl_free(url);
    curl_url_cleanup(u);
    return rc;
}

/* ---- TCP and DNS ---------------------------------------------------------------------------- */

static int sock_setup(struct probe_cfg *p, const struct store_check *c, uint16_t port, char *err,
                      size_t errlen)
{
    char ep[INET6_ADDRSTRLEN];
    const char *where = c->probe_address;
    int rc = GTM_EINVAL;
    if (!where && c->kind == STORE_EP_NAME) {
        /* No resolver on the loop thread: the operator says which address. */
        snprintf(err, errlen,
                 "%s checks of a host-name endpoint need a probe address (an IP address)",
                 probe_type_name(p->type));
        goto out;
    }
    if (!where) {
        endpoint_host(c, false, ep, sizeof ep);
        where = ep;
    }
    if (addr_parse(where, port, &p->addr, &p->addr_len, p->addr_text, sizeof p->addr_text)) {
        snprintf(err, errlen, "probe address '%s' is not an IP address", where);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/* "NAME[/TYPE]" (TYPE default SOA) into the query wire of p. */
static int dns_setup(struct probe_cfg *p, const char *query, char *err, size_t errlen)
{
    int rc = GTM_EINVAL;
    char *text = xstrdup(query ? query : PROBE_DNS_DEFAULT_QUERY);
    char *slash = strrchr(text, '/');
    ldns_pkt *pkt = NULL;
    ldns_rdf *name = NULL;
    if (slash)
        *slash = '\0';
    p->qtype = slash ? ldns_get_rr_type_by_name(slash + 1) : LDNS_RR_TYPE_SOA;
    if (!*text || !(name = ldns_dname_new_frm_str(text)) || p->qtype == 0) {
        snprintf(err, errlen, "query '%s' is not NAME/TYPE (e.g. example.com/SOA)",
                 query ? query : PROBE_DNS_DEFAULT_QUERY);
        goto out;
    }
    ldns_dname2canonical(name);
    p->qname = ldns_rdf_clone(name);
    /* RD set: a recursive server answers from its cache, an authority ignores it
     * (RFC 1035 §4.1.1). The ID is written per probe. */
    pkt = ldns_pkt_query_new(name, p->qtype, LDNS_RR_CLASS_IN, LDNS_RD);
    name = NULL; /* the packet owns it */
    if (!pkt || ldns_pkt2wire(&p->query, pkt, &p->query_len) != LDNS_STATUS_OK) {
        snprintf(err, errlen, "query '%s' cannot be encoded",
                 query ? query : PROBE_DNS_DEFAULT_QUERY);
        goto out;
    }
    if (p->query_len > PROBE_DNS_QUERY_MAX || p->query_len < 12) {
        snprintf(err, errlen, "query '%s' is too long", query ? query : PROBE_DNS_DEFAULT_QUERY);
        goto out;
    }
    p->query[0] = p->query[1] = 0;
    rc = 0;
out:
    ldns_rdf_deep_free(name);
    ldns_pkt_free(pkt);
    free(text);
    return rc;
}

/* ---- the configuration ---------------------------------------------------------------------- */

int probe_cfg_new(const struct store_check *c, struct probe_cfg **out, char *err, size_t errlen)
{
    int rc = GTM_EINVAL;
    struct probe_cfg *p = xcalloc(1, sizeof *p);
    p->endpoint_id = c->endpoint_id;
    p->name = xasprintf("%s/%s", c->pool, c->target);
    p->interval_ms = c->interval_ms;
    p->timeout_ms = c->timeout_ms;
    p->rise = c->rise;
    p->fall = c->fall;
    if (type_parse(c->type, &p->type)) {
        snprintf(err, errlen, "unknown check type '%s'", c->type);
        goto out;
    }
    /* The schema's CHECKs keep these in range; a store edited by hand is still not
     * allowed to make the loop spin or a probe outlive its interval. */
    if (p->interval_ms < 1000 || p->timeout_ms < 100 || p->timeout_ms >= p->interval_ms) {
        snprintf(err, errlen,
                 "interval %u ms and timeout %u ms: need interval >= 1000 ms and "
                 "100 ms <= timeout < interval",
                 p->interval_ms, p->timeout_ms);
        goto out;
    }
    switch (p->type) {
    case PROBE_HTTP:
    case PROBE_HTTPS: rc = http_setup(p, c, err, errlen); break;
    case PROBE_TCP:
        if (!c->port) {
            snprintf(err, errlen, "a tcp check needs a port");
            break;
        }
        rc = sock_setup(p, c, (uint16_t)c->port, err, errlen);
        break;
    case PROBE_DNS:
        rc = sock_setup(p, c, (uint16_t)(c->port ? c->port : PORT_DNS), err, errlen);
        if (rc == 0)
            rc = dns_setup(p, c->query, err, errlen);
        break;
    }
out:
    if (rc)
        probe_cfg_free(p);
    else
        *out = p;
    return rc;
}

void probe_cfg_free(struct probe_cfg *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->url);
    free(p->connect_to);
    free(p->expect_body);
    free(p->query);
    ldns_rdf_deep_free(p->qname);
    free(p);
}

static bool str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool probe_cfg_same(const struct probe_cfg *a, const struct probe_cfg *b)
{
    return a->endpoint_id == b->endpoint_id && a->type == b->type &&
           a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
           a->rise == b->rise && a->fall == b->fall && str_same(a->name, b->name) &&
           str_same(a->url, b->url) && str_same(a->connect_to, b->connect_to) &&
           str_same(a->expect_body, b->expect_body) && a->status_min == b->status_min &&
           a->status_max == b->status_max && a->is_insecure == b->is_insecure &&
           a->addr_len == b->addr_len && memcmp(&a->addr, &b->addr, a->addr_len) == 0 &&
           a->query_len == b->query_len &&
           (a->query_len == 0 || memcmp(a->query, b->query, a->query_len) == 0);
}
