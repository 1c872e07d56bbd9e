/* dnsd/answer.h — the authoritative answer for a class IN question: exact matches,
 * CNAME chasing inside the zone, DNAME redirection (RFC 6672), wildcards (RFC 4592), referrals with
 * glue, NODATA and NXDOMAIN with the SOA (RFC 2308), minimal ANY (RFC 8482), additional A/AAAA for
 * NS, MX and SRV targets. Worker threads, per query: no allocation, no locks. */
#ifndef GTM_DNSD_ANSWER_H
#define GTM_DNSD_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

#include "dnsd/msg.h"
#include "dnsd/policy.h"
#include "dnsd/snap.h"
#include "geo/geo.h"

enum {
    RCODE_NOERROR = 0,
    RCODE_FORMERR = 1,
    RCODE_SERVFAIL = 2,
    RCODE_NXDOMAIN = 3,
    RCODE_NOTIMP = 4,
    RCODE_REFUSED = 5,
    RCODE_YXDOMAIN = 6, /* RFC 6672 §2.2: a DNAME substitution longer than a name */
    RCODE_NOTAUTH = 9,  /* RFC 8945 §5.2: a signed query we cannot verify */
    RCODE_BADVERS = 16, /* RFC 6891 §6.1.3: needs the OPT record's extended bits */
};

struct answer_result {
    int rcode;
    bool aa;        /* authoritative */
    bool truncated; /* an answer or authority RRset did not fit */
    uint8_t scope;  /* ECS scope: how much of the client address the answer depends on */
    /* the name of the zone that matched the question (a wildcard, a delegation), the
     * zone of an NXDOMAIN, or NULL: rate limiting counts the answers of one such name
     * (the NXDOMAINs of one zone) together */
    const void *match;
};

/* Who asks, for managed names: the client, and the worker's decision scratch. */
struct answer_env {
    const struct geo_client *client;
    struct pol_scratch *sc;
};

/* Writes the sections for qname (m->qname) / qtype into m. */
void answer_in(struct msg *m, const struct snap *s, uint16_t qtype, const struct answer_env *env,
               struct answer_result *out);

#endif
