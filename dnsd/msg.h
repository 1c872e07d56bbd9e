/* dnsd/msg.h — writing a DNS response into a caller's buffer: header counts, names
 * with RFC 1035 §4.1.4 compression, whole RRsets that either fit or leave no trace.
 * Worker threads, per query: no allocation; the compression table lives in struct msg,
 * which each worker preallocates inside its query context. */
#ifndef GTM_DNSD_MSG_H
#define GTM_DNSD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsd/snap.h"

#define DNS_HEADER_LEN 12

/* Names remembered for compression. A response rarely holds more than a dozen
 * distinct names; past this we still answer, just less compressed. */
#define MSG_MAX_NAMES 64

enum msg_section { MSG_ANSWER = 1, MSG_AUTHORITY = 2, MSG_ADDITIONAL = 3 };

struct msg {
    uint8_t *buf;
    size_t len;           /* bytes written */
    size_t limit;         /* sections may fill up to here; room for the OPT record is kept */
    uint16_t counts[4];   /* QD, AN, NS, AR */
    const uint8_t *qname; /* lower-case copy of the question name; at offset 12 */
    size_t qname_len;
    uint32_t seed; /* of the name hashes: the snapshot's, so the question's are shared */
    int qlabels;   /* the question name's labels, suffix hashes and offsets */
    uint32_t qhash[SNAP_MAX_LABELS + 1];
    uint8_t qoffs[SNAP_MAX_LABELS + 1];
    int nnames;
    struct {
        uint16_t off; /* where the name (or suffix) starts in buf */
        uint8_t len;  /* its uncompressed length */
        uint32_t hash;
    } names[MSG_MAX_NAMES];
};

/* Starts a response in buf (cap bytes, >= 12 + question) after a header and question
 * copied from the query (qlen bytes: header + question as received, so the name keeps
 * its case). qname is its lower-case copy; its hashes (seed: the snapshot's) serve
 * compression and the lookup. limit: where sections must stop. */
void msg_init(struct msg *m, uint8_t *buf, const uint8_t *query, size_t qlen, const uint8_t *qname,
              size_t qname_len, uint32_t seed, size_t limit);

/* Writes one RRset to a section with owner (lower-case wire; may be m->qname) and ttl.
 * Returns 0, or -1 when it does not fit: then nothing of it was written. */
int msg_rrset(struct msg *m, enum msg_section sec, const uint8_t *owner, size_t owner_len,
              const struct snap_rrset *rs, uint32_t ttl_s);

/* Writes one record with raw RDATA (no names to compress). Same return. */
int msg_rr_raw(struct msg *m, enum msg_section sec, const uint8_t *owner, size_t owner_len,
               uint16_t type, uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/* A point to return to: what was written after it is undone by msg_rollback(). */
struct msg_mark {
    size_t len;
    int nnames;
    uint16_t counts[4];
};
void msg_mark(const struct msg *m, struct msg_mark *mark);
void msg_rollback(struct msg *m, const struct msg_mark *mark);

/* Stores the section counts into the header. */
void msg_finish(struct msg *m);

#endif
