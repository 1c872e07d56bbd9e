/* healthd/internal.h — what the loop-thread files of healthd/ share (sched.c and the
 * probe kinds probe_http.c, probe_tcp.c, probe_dns.c): one running check and the
 * scheduler's verdict entry points. Loop thread only. */
#ifndef GTM_HEALTHD_INTERNAL_H
#define GTM_HEALTHD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

#include "healthd/hysteresis.h"
#include "healthd/probe.h"
#include "healthd/sched.h"

/* One running check. Its handles live inside it, so it is freed only when the last of
 * them has closed (nopen reaches 0 while is_stopping). */
struct check {
    struct probe_cfg *cfg; /* owned */
    struct sched *sched;
    uv_timer_t tick;    /* the schedule */
    uv_timer_t timeout; /* TCP, DNS: the running probe's deadline */
    union {
        uv_handle_t handle;
        uv_tcp_t tcp;
        uv_udp_t udp;
    } sock; /* TCP, DNS: the running probe's socket, one per probe */
    uv_connect_t connect_req;
    uv_udp_send_t send_req;
    unsigned nopen;      /* open handles: tick, timeout, and sock while it is open */
    uint64_t due_ns;     /* scheduled start of the next probe (uv_hrtime) */
    uint64_t started_ns; /* start of the running probe */
    bool is_probing;     /* from start until the probe's handles are closed */
    bool has_verdict;    /* the running probe gave its verdict */
    bool is_stopping;
    struct hyst hy;
    char reason[192]; /* the last probe's result in words ("HTTP 503") */
    /* HTTP(S): kept between probes */
    CURL *easy;
    struct curl_slist *connect_to;
    char *body;      /* the running probe's body (expect_body only), body_cap bytes */
    size_t body_len; /* bytes read, kept or not: at most PROBE_HTTP_BODY_MAX */
    size_t body_cap;
    bool is_body_capped; /* the body was longer: reading stopped at the cap */
    char curl_err[CURL_ERROR_SIZE];
    /* DNS */
    uint16_t dns_id;                        /* the running query's ID (host order) */
    uint8_t dns_query[PROBE_DNS_QUERY_MAX]; /* the running query: the check's, ID patched */
};

/* The running probe of c concluded: ok or not, reason in words ("HTTP 503", "timeout
 * after 2000 ms"). Exactly once per probe that was not cancelled. */
void sched__verdict(struct check *c, bool ok, const char *reason);
/* The running probe of c has closed its handles: the check may probe again (or, when
 * stopping, be freed). */
void sched__idle(struct check *c);
/* Close callback for every handle inside a struct check. */
void sched__handle_closed(uv_handle_t *h);
/* Whether a failed-probe line may be logged now (rate limit; STYLE §7). *suppressed
 * gets the number of lines dropped since the last one. */
bool sched__log_allow(struct sched *s, unsigned *suppressed);

#endif
