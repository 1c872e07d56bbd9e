/* dnsd/lookup.c — finding a query name in the snapshot. Worker threads, per query: no
 * allocation, no locks; cost is one hash per label of the name plus one probe per
 * label until the closest existing node is found (3-4 for typical names). */
#include "config.h"

#include <string.h>

#include "dnsd/snap.h"

/* FNV-1a over each label (length byte included), chained from the rightmost label so
 * that every suffix's hash falls out of one pass; murmur3's finaliser then spreads
 * the bits for the power-of-two table. */
#define FNV_PRIME 16777619u

static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
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
    uint32_t h = seed;
    hashes[n] = fmix32(h);
    for (int i = n - 1; i >= 0; i--) {
        const uint8_t *l = name + offs[i];
        for (unsigned k = 0; k <= l[0]; k++)
            h = (h ^ l[k]) * FNV_PRIME;
        hashes[i] = fmix32(h);
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
    if ((node->flags & SNAP_NODE_CUT) && !(exact && qtype == 43 /* DS */)) {
        out->match = SNAP_DELEGATION;
        out->node = node;
    } else if (node->cut) {
        out->match = SNAP_DELEGATION;
        out->node = node->cut;
    } else if (exact) {
        out->match = SNAP_EXACT;
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
