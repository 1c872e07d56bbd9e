/* healthd/probe.h — what a check probes and how: the probe configuration derived from
 * a row of the checks table (built on the store thread, immutable afterwards, handed
 * to the loop by pointer), and the three probe kinds, each a small state machine on
 * the loop thread (timer -> connect -> send -> read -> verdict) with its own timeout:
 * HTTP(S) through libcurl's multi-socket interface (probe_http.c), TCP connect
 * (probe_tcp.c) and DNS over UDP (probe_dns.c). A probe never blocks the loop: no
 * name resolution there (libcurl's threaded resolver does it for URLs), no SQL. */
#ifndef GTM_HEALTHD_PROBE_H
#define GTM_HEALTHD_PROBE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <ldns/ldns.h>
#include <uv.h>

#include "healthd/hysteresis.h"

struct store_check;
struct check; /* healthd/internal.h */

enum probe_type { PROBE_HTTP, PROBE_HTTPS, PROBE_TCP, PROBE_DNS };

/* HTTP(S): at most this much of a body is read and searched for expect_body; a health
 * page is small, and a huge one must not cost the loop more than this per probe. */
#define PROBE_HTTP_BODY_MAX (64 * 1024)
/* DNS: the largest reply we read. Our queries carry no EDNS, so an RFC 1035 server
 * answers in 512 bytes; the room above that tolerates servers that ignore it. */
#define PROBE_DNS_REPLY_MAX 4096
/* DNS: the longest query: header, a name of at most 255 bytes (RFC 1035 §2.3.4),
 * type and class. */
#define PROBE_DNS_QUERY_MAX (12 + 255 + 4)
/* DNS query of a check without one: the root's SOA, which any recursive server and
 * any root-serving authority answers with NOERROR and one answer record. */
#define PROBE_DNS_DEFAULT_QUERY "./SOA"

/* One check's probe, fully derived. Owned by whoever holds the pointer (the store
 * thread's set, then the loop's struct check); freed with probe_cfg_free(). */
struct probe_cfg {
    int64_t endpoint_id;
    char *name; /* "pool/target": the subject of log lines and the target of events */
    enum probe_type type;
    uint32_t interval_ms, timeout_ms, rise, fall;
    /* http, https */
    char *url;         /* what to fetch: its host is the Host header and the TLS name */
    char *connect_to;  /* CURLOPT_CONNECT_TO entry "::ADDR:PORT": where to connect */
    char *expect_body; /* NULL: any body */
    uint32_t status_min, status_max;
    bool is_insecure; /* no certificate verification */
    /* tcp, dns: where to probe (address and port, network order) */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char addr_text[272]; /* "192.0.2.1:80", "[2001:db8::1]:53", a host name: for logs */
    /* dns */
    uint8_t *query; /* the query in wire form, ID 0 (patched per probe) */
    size_t query_len;
    ldns_rdf *qname; /* the question, to match the reply's */
    ldns_rr_type qtype;
    /* set by the store thread: this vantage point's last stored state */
    enum hyst_state stored_state;
};

/* Derives the probe of check row c. On success *out is a new configuration the caller
 * frees with probe_cfg_free(). GTM_EINVAL with err (what is wrong, in words for the
 * operator) when the row cannot be probed: a TCP check without a port, a host-name
 * endpoint without a probe address for TCP or DNS, an unparsable URL or query. Any
 * thread; the store thread calls it. */
int probe_cfg_new(const struct store_check *c, struct probe_cfg **out, char *err, size_t errlen);
/* Frees cfg and everything it owns; accepts NULL. */
void probe_cfg_free(struct probe_cfg *cfg);
/* True when a and b probe the same way (the stored state is not compared): a change
 * of anything else restarts the check. */
bool probe_cfg_same(const struct probe_cfg *a, const struct probe_cfg *b);
/* "http", "https", "tcp", "dns". */
const char *probe_type_name(enum probe_type t);

/* ---- the probe kinds: loop thread only ------------------------------------------------------ */

/* libcurl's multi handle driven by one libuv loop: a uv_poll_t per socket libcurl
 * opens (CURLMOPT_SOCKETFUNCTION) and one uv_timer_t for its timeouts
 * (CURLMOPT_TIMERFUNCTION), both feeding curl_multi_socket_action(). */
struct probe_http {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    bool is_timer_open;
    unsigned npolls; /* uv_poll_t contexts not yet freed */
};

/* Sets up h (the caller's storage) on loop. 0, or GTM_EINVAL if libcurl cannot make a
 * multi handle. */
int probe_http_init(struct probe_http *h, uv_loop_t *loop);
/* Cleans up the multi handle and closes h's timer; every transfer must have been
 * cancelled first. The handles close asynchronously: run the loop until it is empty
 * before h's storage goes. */
void probe_http_fini(struct probe_http *h);

/* Each kind: _start begins a probe of check c (c->cfg says what); the probe ends with
 * exactly one sched__verdict() unless cancelled, then one sched__idle() once its
 * handles are closed. A probe that cannot start (no socket left, say) gives its failed
 * verdict at once and returns the negative code; 0 otherwise. _cancel aborts a running
 * probe without a verdict; sched__idle() follows, at once or when its handles have
 * closed. */
int probe_http_start(struct check *c);
void probe_http_cancel(struct check *c);
/* Frees what an HTTP check keeps between probes in c (the curl easy handle, its
 * lists, the body buffer); c is not probing. */
void probe_http_check_fini(struct check *c);
int probe_tcp_start(struct check *c);
void probe_tcp_cancel(struct check *c);
int probe_dns_start(struct check *c);
void probe_dns_cancel(struct check *c);

#endif
