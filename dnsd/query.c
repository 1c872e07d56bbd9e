/* dnsd/query.c — parsing a query and framing its response (see query.h). Hostile
 * bytes are read only through common/wire.h. */
#include "config.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/sockaddr.h"
#include "common/wire.h"
#include "dnsd/answer.h"
#include "dnsd/cookie.h"
#include "dnsd/query.h"

#define OPCODE_QUERY 0
#define CLASS_IN 1
#define CLASS_CH 3
#define CLASS_ANY 255
#define TYPE_TXT 16
#define TYPE_OPT 41
#define TYPE_TSIG 250
#define TYPE_IXFR 251
#define TYPE_AXFR 252
#define TYPE_MAILB 253
#define TYPE_MAILA 254
#define TYPE_ANY 255
#define EDNS_OPT_NSID 3
#define EDNS_OPT_ECS 8
#define EDNS_OPT_COOKIE 10
#define EDNS_OPT_EDE 15
/* RFC 8914 §4.21: the name is in no zone of this server */
#define EDE_NOT_AUTHORITATIVE 20
/* An ECS option in a response: code, length, family, prefixes, 16 address bytes. */
#define ECS_OPT_MAX (4 + 4 + 16)
/* RFC 8945 §5.2.1: the TSIG error of a request signed with a key we do not have */
#define TSIG_BADKEY 17
/* Fixed part of an OPT record: root owner, type, class, TTL, RDLENGTH. */
#define OPT_FIXED_LEN 11
#define OPT_DO 0x8000

/* What the EDNS OPT record of the query said. */
struct edns {
    bool present;
    bool nsid; /* NSID requested */
    bool ecs;  /* a client subnet was given (in the query context's client) */
    bool do_bit;
    uint8_t version;
    uint8_t ecs_len; /* the client subnet option's data, as long in the response */
    uint16_t udp_size;
    const uint8_t *cookie; /* the COOKIE option's data (RFC 7873), in the query */
    uint8_t cookie_len;
    bool cookie_reply;                    /* one is sent: */
    uint8_t cookie_out[COOKIE_REPLY_LEN]; /* the client's cookie and our server cookie */
};

/* The TSIG record (RFC 8945) that ends a query's additional section. gtm-dnsd holds no
 * keys, so each signed query gets NOTAUTH with a BADKEY TSIG made from these (§5.2.1,
 * unsigned: §5.3.2). */
struct tsig {
    bool present;
    uint8_t key[DNAME_WIRE_MAX], key_len; /* its owner, lower case */
    /* RDATA for the reply: algorithm name, time signed and fudge as received, MAC size
     * 0, original ID as received, error BADKEY, no other data */
    uint8_t rdata[DNAME_WIRE_MAX + 16];
    uint16_t rdlen;
};

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 6891 §6.1: one OPT record, owner root; its options in RDATA. A client subnet
 * (RFC 7871) goes to *client. Returns 0 or GTM_EPARSE (then FORMERR). */
static int parse_opt(struct wire_rd *rd, size_t owner_at, struct edns *e, struct geo_client *client)
{
    uint16_t cls, rdlen;
    uint32_t ttl;
    const uint8_t *rdata;
    bool second = e->present;
    if (wire_rd_u16(rd, &cls) || wire_rd_u32(rd, &ttl) || wire_rd_u16(rd, &rdlen) ||
        wire_rd_bytes(rd, rdlen, &rdata))
        return GTM_EPARSE; /* cut short: answered without OPT */
    /* RFC 6891 §7: a response to a query with an OPT record, a faulty one included,
     * carries one */
    if (second || rd->buf[owner_at] != 0)
        return GTM_EPARSE;
    e->present = true;
    e->udp_size = cls < DNS_UDP_CLASSIC ? DNS_UDP_CLASSIC : cls;
    e->version = (uint8_t)(ttl >> 16);
    e->do_bit = (ttl & OPT_DO) != 0;
    struct wire_rd opts;
    wire_rd_init(&opts, rdata, rdlen);
    while (wire_rd_left(&opts) > 0) {
        uint16_t code, olen;
        const uint8_t *odata;
        if (wire_rd_u16(&opts, &code) || wire_rd_u16(&opts, &olen) ||
            wire_rd_bytes(&opts, olen, &odata))
            return GTM_EPARSE;
        if (code == EDNS_OPT_NSID) {
            e->nsid = true; /* RFC 5001 §2.1: the query's payload is empty and ignored */
        } else if (code == EDNS_OPT_ECS) {
            if (e->ecs || geo_ecs_parse(odata, olen, client) != 0)
                return GTM_EPARSE; /* RFC 7871 §7.1.2: malformed, or twice: FORMERR */
            e->ecs = true;
            e->ecs_len = (uint8_t)olen; /* at most 20: checked by geo_ecs_parse() */
        } else if (code == EDNS_OPT_COOKIE) {
            if (e->cookie || !cookie_len_ok(olen))
                return GTM_EPARSE; /* RFC 7873 §5.2.2: malformed: FORMERR */
            e->cookie = odata;
            e->cookie_len = (uint8_t)olen; /* at most 40 */
        }
        /* other options are ignored (RFC 6891 §6.1.2) */
    }
    return 0;
}

/* Reads the TSIG record whose owner starts at rd->pos into t. Returns 0, or GTM_EPARSE
 * when it cannot be interpreted (RFC 8945 §5.2: FORMERR). */
static int parse_tsig(struct wire_rd *rd, struct tsig *t)
{
    uint16_t rdlen, mac_len, other_len;
    size_t key_len, alg_len;
    const uint8_t *rdata, *fixed, *p, *orig_id;
    if (wire_rd_name_read(rd, t->key, &key_len, true) || wire_rd_bytes(rd, 8, &p) ||
        wire_rd_u16(rd, &rdlen) || wire_rd_bytes(rd, rdlen, &rdata))
        return GTM_EPARSE;
    /* algorithm name (uncompressed, §4.2), time signed and fudge, MAC, original ID,
     * error, other data, and nothing after them */
    struct wire_rd r;
    wire_rd_init(&r, rdata, rdlen);
    if (wire_rd_name_lower(&r, t->rdata, &alg_len) || wire_rd_bytes(&r, 8, &fixed) ||
        wire_rd_u16(&r, &mac_len) || wire_rd_bytes(&r, mac_len, &p) ||
        wire_rd_bytes(&r, 2, &orig_id) || wire_rd_bytes(&r, 2, &p) || wire_rd_u16(&r, &other_len) ||
        wire_rd_bytes(&r, other_len, &p) || wire_rd_left(&r))
        return GTM_EPARSE;
    uint8_t *o = t->rdata + alg_len;
    memcpy(o, fixed, 8);
    put16(o + 8, 0);
    memcpy(o + 10, orig_id, 2);
    put16(o + 12, TSIG_BADKEY);
    put16(o + 14, 0);
    t->key_len = (uint8_t)key_len;
    t->rdlen = (uint16_t)(alg_len + 16);
    t->present = true;
    return 0;
}

/* The answer, authority (an IXFR query carries an SOA there, RFC 1995 §3) and
 * additional sections of a query: an OPT record only in the additional section and at
 * most once (RFC 6891 §6.1.1), a TSIG record only as the last of all (RFC 8945 §5.1),
 * other records skipped; then nothing more. Returns 0 or GTM_EPARSE (FORMERR). */
static int parse_records(struct wire_rd *rd, uint32_t an_ns, uint16_t ar, struct edns *e,
                         struct geo_client *client, struct tsig *t)
{
    uint32_t total = an_ns + ar;
    for (uint32_t i = 0; i < total; i++) {
        size_t owner_at = rd->pos;
        uint16_t type, cls, rdlen;
        uint32_t ttl;
        const uint8_t *rdata;
        if (wire_rd_name_skip(rd) || wire_rd_u16(rd, &type))
            return GTM_EPARSE;
        if (type == TYPE_OPT) {
            if (i < an_ns || parse_opt(rd, owner_at, e, client))
                return GTM_EPARSE;
            continue;
        }
        if (type == TYPE_TSIG) {
            struct wire_rd whole = *rd;
            whole.pos = owner_at;
            if (i != total - 1 || i < an_ns || parse_tsig(&whole, t))
                return GTM_EPARSE;
        }
        if (wire_rd_u16(rd, &cls) || wire_rd_u32(rd, &ttl) || wire_rd_u16(rd, &rdlen) ||
            wire_rd_bytes(rd, rdlen, &rdata))
            return GTM_EPARSE;
    }
    return wire_rd_left(rd) == 0 ? 0 : GTM_EPARSE; /* trailing garbage */
}

/* CH TXT id.server, hostname.bind, version.bind, version.server (RFC 4892). */
static int answer_chaos(struct query_ctx *q, uint16_t qtype, bool *aa)
{
    static const struct {
        const char *name;
        size_t len;
        bool identity;
    } names[] = {
        {"\2id\6server", 11, true},
        {"\10hostname\4bind", 15, true},
        {"\7version\4bind", 14, false},
        {"\7version\6server", 16, false},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (q->qname_len != names[i].len || memcmp(q->qname, names[i].name, names[i].len) != 0)
            continue;
        const char *text = names[i].identity ? q->cfg->identity : q->cfg->server_version;
        if (!text)
            return RCODE_REFUSED;
        *aa = true;
        if (qtype == TYPE_TXT || qtype == TYPE_ANY) {
            uint8_t rdata[256];
            size_t n = strlen(text);
            rdata[0] = (uint8_t)n;
            memcpy(rdata + 1, text, n);
            msg_rr_raw(&q->msg, MSG_ANSWER, q->qname, q->qname_len, TYPE_TXT, CLASS_CH, 0, rdata,
                       (uint16_t)(n + 1));
        }
        return RCODE_NOERROR;
    }
    return RCODE_REFUSED;
}

/* Writes the OPT record (RFC 6891 §6.1.2): our UDP size, extended RCODE bits, the DO
 * bit echoed, NSID when asked for and configured, the client subnet with the answer's
 * scope (RFC 7871 §7.2.1), the cookies (RFC 7873 §5.2), and the Extended DNS Error ede (RFC 8914,
 * no text) unless it is -1. Fits: room was kept for it (an EDE goes only on a response with no
 * records). */
static void put_opt(struct query_ctx *q, const struct edns *e, int rcode, uint8_t scope, int ede,
                    size_t cap)
{
    uint8_t rdata[4 + DNSD_NSID_MAX + ECS_OPT_MAX + 4 + COOKIE_REPLY_LEN + 6];
    uint16_t rdlen = 0;
    if (e->nsid && q->cfg->nsid_len) {
        put16(rdata, EDNS_OPT_NSID);
        put16(rdata + 2, (uint16_t)q->cfg->nsid_len);
        memcpy(rdata + 4, q->cfg->nsid_bytes, q->cfg->nsid_len);
        rdlen = (uint16_t)(4 + q->cfg->nsid_len);
        q->stats.nsid++;
    }
    if (e->ecs) {
        size_t n = geo_ecs_write(&q->client, scope, rdata + rdlen + 4);
        put16(rdata + rdlen, EDNS_OPT_ECS);
        put16(rdata + rdlen + 2, (uint16_t)n);
        rdlen = (uint16_t)(rdlen + 4 + n);
        q->stats.ecs++;
    }
    if (e->cookie_reply) {
        put16(rdata + rdlen, EDNS_OPT_COOKIE);
        put16(rdata + rdlen + 2, COOKIE_REPLY_LEN);
        memcpy(rdata + rdlen + 4, e->cookie_out, COOKIE_REPLY_LEN);
        rdlen = (uint16_t)(rdlen + 4 + COOKIE_REPLY_LEN);
    }
    if (ede >= 0) {
        put16(rdata + rdlen, EDNS_OPT_EDE);
        put16(rdata + rdlen + 2, 2);
        put16(rdata + rdlen + 4, (uint16_t)ede);
        rdlen = (uint16_t)(rdlen + 6);
    }
    uint32_t ttl = (uint32_t)(rcode >> 4) << 24 | (e->do_bit ? OPT_DO : 0);
    q->msg.limit = cap;
    msg_rr_raw(&q->msg, MSG_ADDITIONAL, (const uint8_t *)"", 1, TYPE_OPT,
               (uint16_t)q->cfg->edns_size, ttl, rdata, rdlen);
}

static size_t opt_room(const struct query_ctx *q, const struct edns *e)
{
    if (!e->present)
        return 0;
    return OPT_FIXED_LEN + (e->nsid && q->cfg->nsid_len ? 4 + q->cfg->nsid_len : 0) +
           (e->ecs ? 4u + e->ecs_len : 0) + (e->cookie_reply ? 4u + COOKIE_REPLY_LEN : 0);
}

/* The resolver's address as the client, when the query gives no subnet. */
static void client_from_peer(struct geo_client *c, const struct sockaddr *peer)
{
    const uint8_t *a;
    int family = sockaddr_ip(peer, &a) == 4 ? 4 : 6;
    geo_client_from_addr(c, family, a);
}

/* Rate limiting (dnsd/rrl.h) of a finished UDP response: its length, 0 to drop it, or
 * for a slip the length of the header, the question and the records from opt_off to
 * the end (tail of them: the OPT record, RFC 6891 §7: a response to a query with one
 * carries it, and a TSIG) with TC=1. */
static size_t rate_limit(struct query_ctx *q, const struct sockaddr *peer,
                         const struct answer_result *r, uint8_t *out, size_t echo, size_t opt_off,
                         uint16_t tail)
{
    switch (rrl_check(q->rrl, peer, (uint8_t)r->rcode, r->match, q->now_s)) {
    case RRL_SEND: return q->msg.len;
    case RRL_DROP: q->stats.rrl_dropped++; return 0;
    case RRL_SLIP: break;
    }
    q->stats.rrl_slipped++;
    size_t opt_len = q->msg.len - opt_off;
    memmove(out + echo, out + opt_off, opt_len);
    out[2] |= 0x02;
    memset(out + 6, 0, 6); /* ANCOUNT, NSCOUNT, ARCOUNT */
    put16(out + 10, tail);
    return echo + opt_len;
}

size_t query_answer(struct query_ctx *q, const struct snap *s, const uint8_t *req, size_t len,
                    const struct sockaddr *peer, uint8_t *out, size_t cap, bool tcp)
{
    struct wire_rd rd;
    struct edns e = {0};
    struct tsig t;
    struct answer_result r = {RCODE_NOERROR, false, false, 0, NULL};
    const struct answer_env env = {&q->client, &q->pol};
    uint16_t qtype = 0, qclass = 0;
    size_t echo = DNS_HEADER_LEN; /* bytes of the query copied into the response */
    bool question = false;
    int ede = -1; /* the Extended DNS Error to send (RFC 8914), if any */

    q->stats.queries++;
    if (tcp)
        q->stats.tcp++;
    else
        q->stats.udp++;
    if (len < DNS_HEADER_LEN || (req[2] & 0x80)) {
        q->stats.dropped++; /* no header to answer, or a response: never answer those */
        return 0;
    }
    uint8_t opcode = (req[2] >> 3) & 0xF;
    uint16_t qd = get16(req + 4), an = get16(req + 6), ns = get16(req + 8), ar = get16(req + 10);
    wire_rd_init(&rd, req, len);
    rd.pos = DNS_HEADER_LEN;
    /* Every question is read (a query has one; more or none is FORMERR, but the OPT
     * record after them is still found), then the other sections: the additional one
     * gives the OPT record, which every response to a query with one carries (RFC 6891
     * §6.1.1), and a TSIG record. */
    t.present = false;
    bool readable = true;
    for (uint16_t i = 0; i < qd && readable; i++) {
        uint8_t name[DNAME_WIRE_MAX];
        size_t name_len;
        uint16_t type, cls;
        readable =
            wire_rd_name_lower(&rd, i ? name : q->qname, i ? &name_len : &q->qname_len) == 0 &&
            wire_rd_u16(&rd, &type) == 0 && wire_rd_u16(&rd, &cls) == 0;
        if (readable && i == 0) {
            qtype = type;
            qclass = cls;
            echo = rd.pos;
        }
    }
    question = readable && qd == 1;
    readable = readable && parse_records(&rd, (uint32_t)an + ns, ar, &e, &q->client, &t) == 0;
    bool cookie_good = false; /* the client's address is proven (RFC 7873 §5.4) */
    if (readable && e.cookie && q->cookie) {
        cookie_good =
            cookie_reply(q->cookie, e.cookie, e.cookie_len, peer, q->unix_s, e.cookie_out);
        e.cookie_reply = true;
        q->stats.cookies++;
        q->stats.cookies_good += cookie_good;
    }
    /* RFC 6891 §6.1.3: an EDNS version we do not speak is BADVERS, whatever was asked */
    bool badvers = readable && e.present && e.version != 0;
    if (opcode != OPCODE_QUERY)
        r.rcode = badvers ? RCODE_BADVERS : RCODE_NOTIMP;
    else if (!readable || !question)
        r.rcode = RCODE_FORMERR;
    else if (badvers)
        r.rcode = RCODE_BADVERS;
    else if (t.present)
        r.rcode = RCODE_NOTAUTH; /* signed with a key we do not have (RFC 8945 §5.2.1) */
    else if (qtype == TYPE_OPT)
        r.rcode = RCODE_FORMERR;
    if (!question)
        echo = DNS_HEADER_LEN;

    size_t limit = tcp ? cap : DNS_UDP_CLASSIC;
    if (!tcp && e.present) {
        size_t want = e.udp_size < q->cfg->edns_size ? e.udp_size : q->cfg->edns_size;
        limit = want < cap ? want : cap;
    }
    limit -= opt_room(q, &e);
    msg_init(&q->msg, out, req, echo, q->qname, q->qname_len, s->seed, limit);
    if (e.present)
        q->stats.edns++;

    if (r.rcode == RCODE_NOERROR) {
        if (qtype == TYPE_AXFR || qtype == TYPE_IXFR)
            r.rcode = RCODE_REFUSED; /* no zone transfers from gtm-dnsd */
        else if (qtype == TYPE_MAILA || qtype == TYPE_MAILB)
            r.rcode = RCODE_NOTIMP;
        else if (qclass == CLASS_IN || qclass == CLASS_ANY) {
            if (!e.ecs)
                client_from_peer(&q->client, peer);
            answer_in(&q->msg, s, qtype, &env, &r);
            if (r.rcode == RCODE_REFUSED) /* the name is in none of our zones */
                ede = EDE_NOT_AUTHORITATIVE;
            /* QCLASS * (RFC 1035 §3.2.5): the IN data, not authoritative for every class */
            if (qclass == CLASS_ANY)
                r.aa = false;
        } else if (qclass == CLASS_CH)
            r.rcode = answer_chaos(q, qtype, &r.aa);
        else
            r.rcode = RCODE_REFUSED;
    }

    /* header: QR, opcode and RD copied, AA, TC; RA, Z and AD clear; CD copied */
    out[2] = (uint8_t)(0x80 | (req[2] & 0x79) | (r.aa ? 0x04 : 0) | (r.truncated ? 0x02 : 0));
    out[3] = (uint8_t)((req[3] & 0x10) | (r.rcode & 0xF));
    size_t opt_off = q->msg.len;
    uint16_t ar_before = q->msg.counts[3];
    if (e.present)
        put_opt(q, &e, r.rcode, r.scope, ede, cap);
    if (r.rcode == RCODE_NOTAUTH) {
        q->msg.limit = limit + opt_room(q, &e); /* the client's size; left out if it does not fit */
        msg_rr_raw(&q->msg, MSG_ADDITIONAL, t.key, t.key_len, TYPE_TSIG, CLASS_ANY, 0, t.rdata,
                   t.rdlen);
    }
    msg_finish(&q->msg);
    q->stats.rcode[r.rcode <= 16 ? r.rcode : 0]++;
    q->stats.truncated += r.truncated;
    if (!tcp && q->rrl && !cookie_good)
        return rate_limit(q, peer, &r, out, echo, opt_off,
                          (uint16_t)(q->msg.counts[3] - ar_before));
    return q->msg.len;
}
