/* dnsd/msg.c — response writer with name compression (see msg.h). */
#include "config.h"

#include <string.h>

#include "common/dname.h"
#include "dnsd/msg.h"

#define CLASS_IN 1
/* Compression pointers hold 14-bit offsets. */
#define MSG_PTR_MAX 0x3FFF

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Does the name at buf[off] (following pointers) equal name, ignoring case? */
static bool name_at_equals(const struct msg *m, size_t off, const uint8_t *name)
{
    for (int hops = 0; hops < 16;) {
        uint8_t l = m->buf[off];
        if ((l & 0xC0) == 0xC0) {
            off = (size_t)(l & 0x3F) << 8 | m->buf[off + 1];
            hops++;
            continue;
        }
        if (l != *name)
            return false;
        if (l == 0)
            return true;
        for (uint8_t i = 1; i <= l; i++)
            if (lower(m->buf[off + i]) != name[i])
                return false;
        off += l + 1u;
        name += l + 1u;
    }
    return false;
}

static void remember(struct msg *m, size_t off, uint8_t len, uint32_t hash)
{
    if (m->nnames < MSG_MAX_NAMES && off <= MSG_PTR_MAX) {
        m->names[m->nnames].off = (uint16_t)off;
        m->names[m->nnames].len = len;
        m->names[m->nnames].hash = hash;
        m->nnames++;
    }
}

/* Writes name (wire, any case; lname is its lower-case form) compressed. */
static int put_name(struct msg *m, const uint8_t *name, const uint8_t *lname, size_t len)
{
    uint32_t hashes[SNAP_MAX_LABELS + 1];
    uint8_t offs[SNAP_MAX_LABELS + 1];
    int n = snap_name_hashes(m->seed, lname, len, hashes, offs), match = -1;
    size_t plain = len; /* bytes written as labels, before a pointer */
    /* the longest suffix already in the message (the root alone is not worth it) */
    for (int i = 0; i < n && match < 0; i++) {
        uint8_t slen = (uint8_t)(len - offs[i]);
        for (int k = 0; k < m->nnames; k++) {
            if (m->names[k].hash == hashes[i] && m->names[k].len == slen &&
                name_at_equals(m, m->names[k].off, lname + offs[i])) {
                match = k;
                plain = offs[i];
                break;
            }
        }
    }
    size_t need = plain + (match >= 0 ? 2 : 0);
    if (m->len + need > m->limit)
        return -1;
    size_t at = m->len;
    memcpy(m->buf + at, name, plain);
    m->len += plain;
    if (match >= 0) {
        put16(m->buf + m->len, (uint16_t)(0xC000 | m->names[match].off));
        m->len += 2;
    }
    for (int k = 0; k < n && offs[k] < plain; k++)
        remember(m, at + offs[k], (uint8_t)(len - offs[k]), hashes[k]);
    return 0;
}

static int put_lname(struct msg *m, const uint8_t *lname, size_t len)
{
    if (lname == m->qname) { /* the question name, at offset 12 */
        if (m->len + 2 > m->limit)
            return -1;
        put16(m->buf + m->len, 0xC000 | DNS_HEADER_LEN);
        m->len += 2;
        return 0;
    }
    return put_name(m, lname, lname, len);
}

/* An RDATA name as stored (case kept): lower-case copy for hashing, then write. */
static int put_rdata_name(struct msg *m, const uint8_t *p, size_t avail, size_t *used)
{
    uint8_t lname[DNAME_WIRE_MAX];
    size_t len = 0;
    while (len < avail && p[len] != 0 && len + p[len] + 1u < avail)
        len += p[len] + 1u;
    if (len >= avail || p[len] != 0)
        return -2; /* not a name: the caller copies the RDATA raw */
    len++;
    for (size_t k = 0; k < len; k++)
        lname[k] = lower(p[k]);
    *used = len;
    return put_name(m, p, lname, len);
}

/* RDATA of the RFC 1035 types whose names may be compressed (RFC 3597 §4). Returns 0,
 * -1 when it does not fit, -2 for a type we copy raw. */
static int put_rdata_compressed(struct msg *m, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
    size_t used = 0, pos = 0, names = 0, fixed_before = 0;
    switch (type) {
    case 2:
    case 3:
    case 4:
    case 5:
    case 7:
    case 8:
    case 9:
    case 12: /* NS MD MF CNAME MB MG MR PTR */ names = 1; break;
    case 15: /* MX: preference, exchange */
        fixed_before = 2;
        names = 1;
        break;
    case 6:
    case 14: /* SOA, MINFO: two names, then SOA's five counters */ names = 2; break;
    default: return -2;
    }
    if (fixed_before) {
        if (rdlen < fixed_before || m->len + fixed_before > m->limit)
            return rdlen < fixed_before ? -2 : -1;
        memcpy(m->buf + m->len, rd, fixed_before);
        m->len += fixed_before;
        pos = fixed_before;
    }
    for (size_t k = 0; k < names; k++) {
        int rc = put_rdata_name(m, rd + pos, rdlen - pos, &used);
        if (rc)
            return rc;
        pos += used;
    }
    size_t rest = rdlen - pos;
    if (m->len + rest > m->limit)
        return -1;
    memcpy(m->buf + m->len, rd + pos, rest);
    m->len += rest;
    return 0;
}

void msg_init(struct msg *m, uint8_t *buf, const uint8_t *query, size_t qlen, const uint8_t *qname,
              size_t qname_len, uint32_t seed, size_t limit)
{
    m->buf = buf;
    memcpy(buf, query, qlen);
    m->len = qlen;
    m->limit = limit;
    m->counts[0] = qlen > DNS_HEADER_LEN ? 1 : 0;
    m->counts[1] = m->counts[2] = m->counts[3] = 0;
    m->qname = qname;
    m->qname_len = qname_len;
    m->seed = seed;
    m->nnames = 0;
    m->qlabels = -1;
    if (qlen > DNS_HEADER_LEN) {
        m->qlabels = snap_name_hashes(seed, qname, qname_len, m->qhash, m->qoffs);
        for (int k = 0; k < m->qlabels; k++)
            remember(m, DNS_HEADER_LEN + m->qoffs[k], (uint8_t)(qname_len - m->qoffs[k]),
                     m->qhash[k]);
    }
}

/* Writes owner, type, class, TTL and RDATA of one record. */
static int put_rr(struct msg *m, const uint8_t *owner, size_t owner_len, uint16_t type,
                  uint16_t rclass, uint32_t ttl, const uint8_t *rd, uint16_t rdlen)
{
    if (put_lname(m, owner, owner_len) || m->len + 10 > m->limit)
        return -1;
    uint8_t *fixed = m->buf + m->len;
    put16(fixed, type);
    put16(fixed + 2, rclass);
    put32(fixed + 4, ttl);
    m->len += 10;
    size_t start = m->len;
    int nnames = m->nnames;
    int rc = put_rdata_compressed(m, type, rd, rdlen);
    if (rc == -2) {
        m->len = start;
        m->nnames = nnames;
        if (m->len + rdlen > m->limit)
            return -1;
        memcpy(m->buf + m->len, rd, rdlen);
        m->len += rdlen;
    } else if (rc) {
        return -1;
    }
    put16(fixed + 8, (uint16_t)(m->len - start));
    return 0;
}

void msg_mark(const struct msg *m, struct msg_mark *mark)
{
    mark->len = m->len;
    mark->nnames = m->nnames;
    memcpy(mark->counts, m->counts, sizeof mark->counts);
}

void msg_rollback(struct msg *m, const struct msg_mark *mark)
{
    m->len = mark->len;
    m->nnames = mark->nnames;
    memcpy(m->counts, mark->counts, sizeof m->counts);
}

int msg_rrset(struct msg *m, enum msg_section sec, const uint8_t *owner, size_t owner_len,
              const struct snap_rrset *rs, uint32_t ttl_s)
{
    struct msg_mark mark;
    const uint8_t *p = rs->data;
    msg_mark(m, &mark);
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen;
        memcpy(&rdlen, p, 2);
        if (put_rr(m, owner, owner_len, rs->type, CLASS_IN, ttl_s, p + 2, rdlen)) {
            msg_rollback(m, &mark); /* whole RRsets only */
            return -1;
        }
        p += 2 + rdlen;
    }
    m->counts[sec] += rs->count;
    return 0;
}

int msg_rr_raw(struct msg *m, enum msg_section sec, const uint8_t *owner, size_t owner_len,
               uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct msg_mark mark;
    msg_mark(m, &mark);
    if (put_rr(m, owner, owner_len, type, rclass, ttl, rdata, rdlen)) {
        msg_rollback(m, &mark);
        return -1;
    }
    m->counts[sec]++;
    return 0;
}

void msg_finish(struct msg *m)
{
    for (int i = 0; i < 4; i++)
        put16(m->buf + 4 + 2 * i, m->counts[i]);
}
