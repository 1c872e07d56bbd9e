/* common/wire.h — the bounds-checked reader for hostile bytes (DNS messages from the
 * network). Every read can fail, and the failure is returned: GTM_EPARSE when the
 * message ends early or a name is malformed. Header-only and allocation-free, so the
 * query path can use it; any thread. Multi-byte fields are network order on the wire
 * and host order in the out-parameters. */
#ifndef GTM_COMMON_WIRE_H
#define GTM_COMMON_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct wire_rd {
    const uint8_t *buf;
    size_t len; /* bytes in buf */
    size_t pos; /* next byte to read */
};

static inline void wire_rd_init(struct wire_rd *rd, const uint8_t *buf, size_t len)
{
    rd->buf = buf;
    rd->len = len;
    rd->pos = 0;
}

static inline size_t wire_rd_left(const struct wire_rd *rd)
{
    return rd->len - rd->pos;
}

static inline int wire_rd_u8(struct wire_rd *rd, uint8_t *out)
{
    if (wire_rd_left(rd) < 1)
        return GTM_EPARSE;
    *out = rd->buf[rd->pos++];
    return 0;
}

static inline int wire_rd_u16(struct wire_rd *rd, uint16_t *out)
{
    if (wire_rd_left(rd) < 2)
        return GTM_EPARSE;
    *out = (uint16_t)(rd->buf[rd->pos] << 8 | rd->buf[rd->pos + 1]);
    rd->pos += 2;
    return 0;
}

static inline int wire_rd_u32(struct wire_rd *rd, uint32_t *out)
{
    if (wire_rd_left(rd) < 4)
        return GTM_EPARSE;
    const uint8_t *p = rd->buf + rd->pos;
    *out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    rd->pos += 4;
    return 0;
}

/* *out points at the next n bytes, which are skipped. */
static inline int wire_rd_bytes(struct wire_rd *rd, size_t n, const uint8_t **out)
{
    if (wire_rd_left(rd) < n)
        return GTM_EPARSE;
    *out = rd->buf + rd->pos;
    rd->pos += n;
    return 0;
}

/* Reads a name into out (255 bytes) in lower case; *out_len gets its length and rd
 * moves past it. With pointers, compression pointers (RFC 1035 §4.1.4) are followed,
 * each only to an earlier offset than its own, so that no loop can be made; without,
 * a pointer is GTM_EPARSE (a question's name is never compressed). A label over 63
 * bytes, the reserved label types 0x40/0x80 or a name over 255 bytes is GTM_EPARSE. */
static inline int wire_rd_name_read(struct wire_rd *rd, uint8_t *out, size_t *out_len,
                                    bool pointers)
{
    size_t n = 0, pos = rd->pos, end = 0;
    for (;;) {
        if (pos >= rd->len)
            return GTM_EPARSE;
        uint8_t lab = rd->buf[pos];
        if (pointers && (lab & 0xC0) == 0xC0) {
            if (rd->len - pos < 2)
                return GTM_EPARSE;
            size_t to = (size_t)(lab & 0x3F) << 8 | rd->buf[pos + 1];
            if (to >= pos)
                return GTM_EPARSE;
            if (!end)
                end = pos + 2;
            pos = to;
            continue;
        }
        pos++;
        if (lab > 63 || n + 1 + lab > 255 || rd->len - pos < lab)
            return GTM_EPARSE;
        out[n++] = lab;
        if (lab == 0)
            break;
        for (uint8_t i = 0; i < lab; i++) {
            uint8_t c = rd->buf[pos++];
            out[n++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
        }
    }
    rd->pos = end ? end : pos;
    *out_len = n;
    return 0;
}

/* A question's name: uncompressed, into out (255 bytes) in lower case. */
static inline int wire_rd_name_lower(struct wire_rd *rd, uint8_t *out, size_t *out_len)
{
    return wire_rd_name_read(rd, out, out_len, false);
}

/* Skips a name that may end in a compression pointer (RRs other than the question). */
static inline int wire_rd_name_skip(struct wire_rd *rd)
{
    size_t n = 0;
    for (;;) {
        uint8_t lab;
        if (wire_rd_u8(rd, &lab))
            return GTM_EPARSE;
        if ((lab & 0xC0) == 0xC0)
            return wire_rd_u8(rd, &lab); /* the pointer's second byte ends the name */
        if (lab > 63 || (n += 1u + lab) > 255 || wire_rd_left(rd) < lab)
            return GTM_EPARSE;
        if (lab == 0)
            return 0;
        rd->pos += lab;
    }
}

#endif
