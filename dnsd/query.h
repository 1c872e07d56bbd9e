/* dnsd/query.h — one query in, one response out: parsing the header, question and
 * EDNS (RFC 1035, 6891, 5001), choosing the response code, and finishing the header
 * and OPT record around the sections dnsd/answer.c writes. Worker threads: each owns
 * a struct query_ctx, reset per query; no allocation, no locks, no logging. */
#ifndef GTM_DNSD_QUERY_H
#define GTM_DNSD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/dname.h"
#include "dnsd/conf.h"
#include "dnsd/cookie.h"
#include "dnsd/msg.h"
#include "dnsd/policy.h"
#include "dnsd/rrl.h"
#include "dnsd/snap.h"
#include "geo/geo.h"

/* Largest DNS message (TCP); a response buffer holds this much. */
#define DNS_MSG_MAX 65535
/* RFC 1035 §4.2.1: UDP responses without EDNS. */
#define DNS_UDP_CLASSIC 512

/* Counters of one worker; summed across workers when reported. */
struct query_stats {
    uint64_t queries, udp, tcp;
    uint64_t xdp;       /* UDP datagrams taken by AF_XDP (dnsd/xdp.h) */
    uint64_t dropped;   /* too short to answer, a response (QR set), or a reply the kernel
                         * did not send (full socket buffer, port 0, no route) */
    uint64_t rcode[17]; /* by RCODE, BADVERS (16) included */
    uint64_t truncated;
    uint64_t edns, nsid, ecs;
    uint64_t rrl_dropped, rrl_slipped; /* UDP responses held back by rate limiting */
    uint64_t cookies, cookies_good;    /* queries with a DNS cookie; with a good server one */
};

struct query_ctx {
    const struct dnsd_cfg *cfg;
    struct msg msg;
    uint8_t qname[DNAME_WIRE_MAX]; /* lower-case question name */
    size_t qname_len;
    struct geo_client client; /* from ECS, else the resolver's address */
    struct pol_scratch pol;   /* decision scratch; pol.rng is seeded by the worker */
    struct query_stats stats;
    struct rrl *rrl;           /* shared by the workers; NULL: no rate limiting */
    uint32_t now_s;            /* the loop's time in seconds, for rate limiting */
    struct cookie_mac *cookie; /* this worker's; NULL: DNS cookies ignored */
    uint32_t unix_s;           /* Unix time, for server cookies */
};

/* Answers the query req (len bytes) from peer, with snapshot s, writing the response
 * into out (cap bytes, at least cfg->edns_size; DNS_MSG_MAX for TCP). Returns the
 * response's length, or 0 when nothing must be sent. */
size_t query_answer(struct query_ctx *q, const struct snap *s, const uint8_t *req, size_t len,
                    const struct sockaddr *peer, uint8_t *out, size_t cap, bool tcp);

#endif
