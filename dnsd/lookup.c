/* dnsd/lookup.c — finding a query name in the snapshot. Worker threads, per query: no
 * allocation, no locks; cost is one hash per label of the name plus one probe per
 * label until the closest existing node is found (3-4 for typical names). */
#include "config.h"

#include <string.h>

#include "dnsd/snap.h"

/* Each label (length byte included) is folded into a 64-bit state eight bytes at a
 * time, chained from the rightmost label so that every suffix's hash falls out of one
 * pass; murmur3's 64-bit finaliser then spreads the bits for the power-of-two table.
 * A label's last word is read with one load and masked when the name goes on for eight
 * more bytes, byte by byte near its end: a suffix's length decides which, so the same
 * suffix always hashes the same way, and only its label's bytes count. */
#define MIX_PRIME 0x100000001b3ull /* FNV-1a's 64-bit prime */

static inline uint32_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* Folds the label at l (avail bytes of the name from l on) into h. */
static inline uint64_t mix_label(uint64_t h, const uint8_t *l, size_t avail)
{
    size_t len = l[0] + 1u, k = 0;
    for (; k + 8 <= len; k += 8) {
        uint64_t w;
        memcpy(&w, l + k, 8);
        h = (h ^ w) * MIX_PRIME;
    }
    if (k == len)
        return h;
    uint64_t w = 0;
    if (avail >= k + 8) {
        memcpy(&w, l + k, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        w &= ~0ull >> (8 * (8 - (len - k))); /* the label's bytes come first in memory */
#else
        w &= ~0ull << (8 * (8 - (len - k)));
#endif
    } else {
        for (size_t j = k; j < len; j++)
            w = w << 8 | l[j];
    }
    return (h ^ w) * MIX_PRIME;
}

int snap_name_hashes(uint32_t seed, const uint8_t *name, size_t len, uint32_t *hashes,
                     uint8_t *offs)
{
    int n = 0;
    size_t pos = 0;
    while (pos < len && name[pos] != 0 && n < SNAP_MAX_LABELS) {
        offs[n++] = (uint8_t)pos;
        pos += name[pos] + 1u;
    }
    offs[n] = (uint8_t)pos;
    uint64_t h = seed;
    hashes[n] = fmix64(h);
    for (int i = n - 1; i >= 0; i--) {
        h = mix_label(h, name + offs[i], len - offs[i]);
        hashes[i] = fmix64(h);
    }
    return n;
}

const struct snap_node *snap_find_hashed(const struct snap *s, const uint8_t *name, size_t len,
                                         uint32_t hash)
{
    for (uint32_t i = hash & s->mask;; i = (i + 1) & s->mask) {
        const struct snap_slot *slot = &s->slots[i];
        if (!slot->node)
            return NULL;
        if (slot->hash == hash && slot->node->name_len == len &&
            memcmp(slot->node->name, name, len) == 0)
            return slot->node;
    }
}

const struct snap_node *snap_find(const struct snap *s, const uint8_t *name, size_t len)
{
    uint32_t hashes[SNAP_MAX_LABELS + 1];
    uint8_t offs[SNAP_MAX_LABELS + 1];
    snap_name_hashes(s->seed, name, len, hashes, offs);
    return snap_find_hashed(s, name, len, hashes[0]);
}

const struct snap_rrset *snap_node_rrset(const struct snap_node *n, uint16_t type)
{
    for (uint16_t i = 0; i < n->nrrsets; i++)
        if (n->rrsets[i].type == type)
            return &n->rrsets[i];
    return NULL;
}

void snap_lookup(const struct snap *s, const uint8_t *qname, size_t len, uint16_t qtype,
                 struct snap_result *out)
{
    uint32_t hashes[SNAP_MAX_LABELS + 1];
    uint8_t offs[SNAP_MAX_LABELS + 1];
    int n = snap_name_hashes(s->seed, qname, len, hashes, offs);
    snap_lookup_hashed(s, qname, len, hashes, offs, n, qtype, out);
}

void snap_lookup_hashed(const struct snap *s, const uint8_t *qname, size_t len,
                        const uint32_t *hashes, const uint8_t *offs, int n, uint16_t qtype,
                        struct snap_result *out)
{
    const struct snap_node *node = NULL;
    int i;
    /* The closest encloser: the longest suffix of qname that exists. */
    for (i = 0; i <= n && !node; i++)
        node = snap_find_hashed(s, qname + offs[i], len - offs[i], hashes[i]);
    if (!node) {
        *out = (struct snap_result){SNAP_REFUSED, NULL, NULL};
        return;
    }
    bool exact = i == 1;
    if (exact && node->parent_side && qtype == 43 /* DS */)
        node = node->parent_side; /* the parent answers for the DS of its child */
    out->zone = node->zone;
    if (node->cut) {
        /* the first delegation or DNAME on the way down from the apex */
        out->match = (node->cut->flags & SNAP_NODE_CUT) ? SNAP_DELEGATION : SNAP_DNAME;
        out->node = node->cut;
    } else if ((node->flags & SNAP_NODE_CUT) && !(exact && qtype == 43 /* DS */)) {
        out->match = SNAP_DELEGATION;
        out->node = node;
    } else if (exact) {
        out->match = SNAP_EXACT;
        out->node = node;
    } else if (node->flags & SNAP_NODE_DNAME) {
        /* RFC 6672 §3.2: the closest encloser's DNAME redirects what is below it */
        out->match = SNAP_DNAME;
        out->node = node;
    } else if (node->wildcard) {
        /* RFC 4592 §3.3.1: the wildcard at the closest encloser answers. */
        out->match = SNAP_WILDCARD;
        out->node = node->wildcard;
    } else {
        out->match = SNAP_NXDOMAIN;
        out->node = node;
    }
}
