/* geo/classify.c — building and reading classifiers (see geo.h). The builder walks the
 * GeoIP search tree (and the CIDR overrides) once per mode and family, decides each
 * network's region list, and folds two sibling networks with the same list into their
 * parent: the leaves that remain are the widest blocks with one answer. Loader thread
 * or gtmctl. geo_classify() is the query path: no allocation; one table read for the
 * first JUMP_BITS bits of the address, then one read per bit walked. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "geo/internal.h"

/* A trie reference: a node index, or a leaf holding a region-list id. */
#define LEAF 0x80000000u
#define LEAF_NONE (LEAF | 0x7FFFFFFFu)
/* Leading address bits a lookup takes in one step (GeoIP networks are rarely wider
 * than /16, so most walks start at depth 16; 2^16 entries of 5 bytes per tree). */
#define JUMP_BITS 16
#define JUMP_SIZE (1u << JUMP_BITS)
_Static_assert(JUMP_BITS == 16, "geo_classify() indexes the table with two bytes");

struct trie {
    uint32_t *nodes; /* pairs: [2i] the 0 branch, [2i+1] the 1 branch */
    uint32_t n, cap;
    uint32_t root[2]; /* IPv4, IPv6 */
    /* Per family, by the address's first JUMP_BITS bits: where the walk from the root
     * stands after them (a node at depth JUMP_BITS, or the leaf it met first) and that
     * depth. NULL when the root is a leaf. */
    uint32_t *jump[2];
    uint8_t *jump_depth[2];
};

struct geo_classifier {
    struct trie trie[GEO_MODES];
    uint16_t *rl_regions; /* every list's regions, back to back */
    size_t rl_len, rl_cap;
    struct {
        uint32_t off;
        uint16_t n;
        uint32_t hash;
    } * rlists;
    size_t nrl, rl_slots_mask;
    uint32_t *rl_slots; /* interning table: id + 1, 0 empty */
};

/* ---- region lists ---------------------------------------------------------------- */

static uint32_t list_hash(const uint16_t *v, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 16777619u;
    return h ^ (uint32_t)n;
}

static void rl_grow(struct geo_classifier *c)
{
    size_t slots = c->rl_slots ? 2 * (c->rl_slots_mask + 1) : 256;
    free(c->rl_slots);
    c->rl_slots = xcalloc(slots, sizeof *c->rl_slots);
    c->rl_slots_mask = slots - 1;
    for (size_t id = 0; id < c->nrl; id++) {
        size_t i = c->rlists[id].hash & c->rl_slots_mask;
        while (c->rl_slots[i])
            i = (i + 1) & c->rl_slots_mask;
        c->rl_slots[i] = (uint32_t)id + 1;
    }
}

/* The id of the list v (n regions), added if new. */
static uint32_t rl_intern(struct geo_classifier *c, const uint16_t *v, size_t n)
{
    uint32_t h = list_hash(v, n);
    if (!c->rl_slots || (c->nrl + 1) * 2 > c->rl_slots_mask + 1)
        rl_grow(c);
    size_t i = h & c->rl_slots_mask;
    for (; c->rl_slots[i]; i = (i + 1) & c->rl_slots_mask) {
        uint32_t id = c->rl_slots[i] - 1;
        if (c->rlists[id].hash == h && c->rlists[id].n == n &&
            memcmp(c->rl_regions + c->rlists[id].off, v, n * sizeof *v) == 0)
            return id;
    }
    if (c->rl_len + n > c->rl_cap) {
        c->rl_cap = 2 * (c->rl_len + n) + 64;
        c->rl_regions = xreallocarray(c->rl_regions, c->rl_cap, sizeof *c->rl_regions);
    }
    memcpy(c->rl_regions + c->rl_len, v, n * sizeof *v);
    c->rlists = xreallocarray(c->rlists, c->nrl + 1, sizeof *c->rlists);
    c->rlists[c->nrl].off = (uint32_t)c->rl_len;
    c->rlists[c->nrl].n = (uint16_t)n;
    c->rlists[c->nrl].hash = h;
    c->rl_len += n;
    c->rl_slots[i] = (uint32_t)c->nrl + 1;
    return (uint32_t)c->nrl++;
}

struct geo_rlist geo_classifier_rlist(const struct geo_classifier *c, uint32_t id)
{
    return (struct geo_rlist){c->rlists[id].n, c->rl_regions + c->rlists[id].off};
}

/* ---- deciding one network --------------------------------------------------------- */

struct build {
    const struct geo_inputs *in;
    struct geo_classifier *c;
    struct trie *t;
    enum geo_mode mode;
    int family;
    int bits;
    const MMDB_s *mmdb;
    uint32_t v4_start; /* node of the IPv4 subtree in an IPv6 tree, or UINT32_MAX */
    uint32_t v4_root;  /* its trie, when have_v4_root */
    bool have_v4_root; /* built, and without IPv4 CIDR keys, so IPv6 can share it */
    /* CIDR keys of this mode and family */
    const struct geo_key **ov;
    size_t nov;
    /* decided data records: offset -> leaf, when no CIDR key applies */
    struct cache_entry {
        uint32_t key, leaf; /* key 0: empty */
    } * cache;
    unsigned cache_bits; /* 2^cache_bits slots */
    size_t ncache;
    uint16_t *scratch; /* nregions */
    double *dist;      /* nregions */
    int err;
};

/* Proximity order: regions with coordinates by distance from loc, then the rest. */
static size_t by_distance(struct build *b, const struct geo_loc *loc, uint16_t *out)
{
    const struct geo_inputs *in = b->in;
    size_t n = 0;
    for (size_t r = 0; r < in->nregions; r++) {
        if (!in->regions[r].has_coords)
            continue;
        double d = geo_distance_km(loc->lat, loc->lon, in->regions[r].lat, in->regions[r].lon);
        size_t k = n++;
        /* insertion sort: a handful of regions; ties keep the region order */
        while (k > 0 && b->dist[k - 1] > d) {
            b->dist[k] = b->dist[k - 1];
            out[k] = out[k - 1];
            k--;
        }
        b->dist[k] = d;
        out[k] = (uint16_t)r;
    }
    for (size_t r = 0; r < in->nregions; r++)
        if (!in->regions[r].has_coords)
            out[n++] = (uint16_t)r;
    return n;
}

static uint32_t leaf_of_list(struct build *b, const uint16_t *v, size_t n)
{
    return LEAF | rl_intern(b->c, v, n);
}

/* The geo map's list for a client at loc, or of the CIDR key ov (a map entry's key). */
static uint32_t geo_leaf(struct build *b, const struct geo_loc *loc, const struct geo_key *ov)
{
    const struct geo_map_in *m = NULL;
    if (ov) {
        m = (const struct geo_map_in *)((const char *)ov - offsetof(struct geo_map_in, key));
    } else {
        int i = geo_map_match(b->in, loc, b->family, NULL); /* CIDR keys are the ov's */
        m = i < 0 ? NULL : &b->in->map[i];
    }
    return m ? leaf_of_list(b, m->regions, m->nregions) : LEAF_NONE;
}

static uint32_t proximity_leaf(struct build *b, const struct geo_loc *loc)
{
    if (!loc->has_coords) /* nowhere to measure from: the geo map decides */
        return geo_leaf(b, loc, NULL);
    return leaf_of_list(b, b->scratch, by_distance(b, loc, b->scratch));
}

/* Measured regions by latency, then the unmeasured ones by proximity; no measurement
 * for this client at all: proximity. ov: the CIDR key that applies, or NULL. */
static uint32_t latency_leaf(struct build *b, const struct geo_loc *loc, const struct geo_key *ov)
{
    const struct geo_inputs *in = b->in;
    const struct geo_key *key = ov;
    for (int i = 0, best = -1; !ov && i < (int)in->nlatency; i++) {
        int score = geo_key_score(&in->latency[i].key, loc, b->family, NULL);
        if (score > best) {
            best = score;
            key = &in->latency[i].key;
        }
    }
    if (!key)
        return proximity_leaf(b, loc);
    size_t n = 0;
    for (size_t i = 0; i < in->nlatency; i++) {
        const struct geo_latency_in *l = &in->latency[i];
        if (memcmp(&l->key, key, sizeof *key) != 0)
            continue;
        size_t k = n++;
        while (k > 0 && b->dist[k - 1] > l->ms) {
            b->dist[k] = b->dist[k - 1];
            b->scratch[k] = b->scratch[k - 1];
            k--;
        }
        b->dist[k] = l->ms;
        b->scratch[k] = l->region;
    }
    uint16_t *rest = b->scratch + n;
    size_t nrest = loc->has_coords ? by_distance(b, loc, rest) : 0;
    if (!loc->has_coords)
        for (size_t r = 0; r < in->nregions; r++)
            rest[nrest++] = (uint16_t)r;
    for (size_t i = 0; i < nrest; i++) {
        bool measured = false;
        for (size_t k = 0; k < n && !measured; k++)
            measured = b->scratch[k] == rest[i];
        if (!measured)
            b->scratch[n++] = rest[i];
    }
    return leaf_of_list(b, b->scratch, n);
}

static uint32_t decide(struct build *b, const struct geo_loc *loc, const struct geo_key *ov)
{
    switch (b->mode) {
    case GEO_MODE_GEO: return geo_leaf(b, loc, ov);
    case GEO_MODE_LATENCY: return latency_leaf(b, loc, ov);
    case GEO_MODE_PROXIMITY: return proximity_leaf(b, loc);
    default: return LEAF_NONE;
    }
}

/* Where key (a data record's offset + 1) starts probing in a table of 2^bits slots:
 * Fibonacci hashing, from the product's high bits (offsets differ in their high bits,
 * which the low bits of a product do not see). */
static size_t cache_home(uint32_t key, unsigned bits)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

/* The cache slot of a data record's offset; *found tells whether it holds a leaf. The
 * slot stays valid until the next call. */
static uint32_t *cache_slot(struct build *b, uint32_t key, bool *found)
{
    size_t mask = ((size_t)1 << b->cache_bits) - 1;
    if (!b->cache || (b->ncache + 1) * 2 > mask + 1) {
        size_t old = b->cache ? mask + 1 : 0;
        b->cache_bits = old ? b->cache_bits + 1 : 12;
        mask = ((size_t)1 << b->cache_bits) - 1;
        struct cache_entry *t = xcalloc(mask + 1, sizeof *t);
        for (size_t i = 0; i < old; i++) {
            if (!b->cache[i].key)
                continue;
            size_t j = cache_home(b->cache[i].key, b->cache_bits);
            while (t[j].key)
                j = (j + 1) & mask;
            t[j] = b->cache[i];
        }
        free(b->cache);
        b->cache = t;
    }
    size_t j = cache_home(key, b->cache_bits);
    while (b->cache[j].key && b->cache[j].key != key)
        j = (j + 1) & mask;
    *found = b->cache[j].key != 0;
    if (!*found) {
        b->cache[j].key = key;
        b->ncache++;
    }
    return &b->cache[j].leaf;
}

/* The leaf of a network whose record is rec, where the CIDR key ov (or none) applies.
 * Many networks share a record (a city): decided once per record. */
static uint32_t leaf_for(struct build *b, const struct geo__rec *rec, const struct geo_key *ov)
{
    struct geo_loc loc = {0};
    uint32_t *slot = NULL;
    if (rec->type == GEO_REC_DATA && !ov) {
        bool found;
        slot = cache_slot(b, (uint32_t)rec->entry.offset + 1, &found); /* +1: 0 is empty */
        if (found)
            return *slot;
    }
    if (rec->type == GEO_REC_DATA) {
        MMDB_entry_s e = rec->entry;
        geo__loc_of(&e, &loc);
    }
    uint32_t leaf = decide(b, &loc, ov);
    if (slot)
        *slot = leaf;
    return leaf;
}

/* ---- building the trie ------------------------------------------------------------ */

static uint32_t new_node(struct trie *t, uint32_t zero, uint32_t one)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->nodes = xreallocarray(t->nodes, 2 * (size_t)t->cap, sizeof *t->nodes);
    }
    t->nodes[2 * t->n] = zero;
    t->nodes[2 * t->n + 1] = one;
    return t->n++;
}

static bool bit_of(const uint8_t *addr, int depth)
{
    return (addr[depth / 8] >> (7 - depth % 8)) & 1;
}

/* The trie for the network at depth whose tree record is rec; ov[0..nov) are the CIDR
 * keys inside it, best the longest one covering it. */
static uint32_t build(struct build *b, struct geo__rec rec, int depth, const struct geo_key **ov,
                      size_t nov, const struct geo_key *best)
{
    if (b->err)
        return LEAF_NONE;
    /* keys exactly this network now cover all of it */
    size_t k = 0;
    for (size_t i = 0; i < nov; i++) {
        if (ov[i]->prefix == depth)
            best = ov[i];
        else
            ov[k++] = ov[i];
    }
    nov = k;
    if ((rec.type != GEO_REC_NODE && nov == 0) || depth == b->bits)
        return leaf_for(b, &rec, best);
    if (rec.type == GEO_REC_NODE && nov == 0 && !best && rec.node == b->v4_start && b->have_v4_root)
        return b->v4_root; /* IPv4 inside IPv6 (::/96 and its aliases): built already */
    struct geo__rec child[2] = {rec, rec};
    if (rec.type == GEO_REC_NODE && geo__children(b->mmdb, rec.node, &child[0], &child[1]) != 0) {
        b->err = GTM_ESTORE;
        return LEAF_NONE;
    }
    /* the keys go left or right by their next bit */
    const struct geo_key **side[2] = {NULL, NULL};
    size_t nside[2] = {0, 0};
    if (nov) {
        side[0] = xcalloc(nov, sizeof *side[0]);
        side[1] = xcalloc(nov, sizeof *side[1]);
        for (size_t i = 0; i < nov; i++) {
            int bit = bit_of(ov[i]->addr, depth);
            side[bit][nside[bit]++] = ov[i];
        }
    }
    uint32_t zero = build(b, child[0], depth + 1, side[0], nside[0], best);
    uint32_t one = build(b, child[1], depth + 1, side[1], nside[1], best);
    free(side[0]);
    free(side[1]);
    if (zero == one && (zero & LEAF))
        return zero; /* one answer for the whole network: merged */
    return new_node(b->t, zero, one);
}

/* The jump table of a family's tree (see struct trie). */
static void build_jump(struct trie *t, int f)
{
    if (t->root[f] & LEAF)
        return;
    t->jump[f] = xcalloc(JUMP_SIZE, sizeof *t->jump[f]);
    t->jump_depth[f] = xcalloc(JUMP_SIZE, sizeof *t->jump_depth[f]);
    for (uint32_t idx = 0; idx < JUMP_SIZE; idx++) {
        uint32_t v = t->root[f];
        int depth = 0;
        for (; !(v & LEAF) && depth < JUMP_BITS; depth++)
            v = t->nodes[2 * v + ((idx >> (JUMP_BITS - 1 - depth)) & 1)];
        t->jump[f][idx] = v;
        t->jump_depth[f][idx] = (uint8_t)depth;
    }
}

static int build_family(struct build *b, int family)
{
    const struct geo_inputs *in = b->in;
    struct geo__rec root = {.type = GEO_REC_EMPTY};
    b->family = family;
    b->bits = family == 4 ? 32 : 128;
    b->mmdb = NULL;
    b->v4_start = UINT32_MAX;
    int bits = b->bits;
    if (geo__root(in->db, family, &b->mmdb, &root, &bits) == 0 && family == 6 && in->db &&
        in->db->for_family[0] == in->db->for_family[1])
        b->v4_start = in->db->ipv4_start[in->db->for_family[1]];
    /* the CIDR keys that matter here */
    b->nov = 0;
    b->ov = xcalloc(in->nmap + in->nlatency + 1, sizeof *b->ov);
    if (b->mode == GEO_MODE_GEO) {
        for (size_t i = 0; i < in->nmap; i++)
            if (in->map[i].key.kind == GEO_KEY_CIDR && in->map[i].key.family == family)
                b->ov[b->nov++] = &in->map[i].key;
    } else if (b->mode == GEO_MODE_LATENCY) {
        for (size_t i = 0; i < in->nlatency; i++)
            if (in->latency[i].key.kind == GEO_KEY_CIDR && in->latency[i].key.family == family)
                b->ov[b->nov++] = &in->latency[i].key;
    }
    /* the record cache is keyed by offset within one database file: IPv4 and IPv6 may
     * come from different files */
    free(b->cache);
    b->cache = NULL;
    b->ncache = 0;
    b->t->root[family == 4 ? 0 : 1] = build(b, root, 0, b->ov, b->nov, NULL);
    if (!b->err)
        build_jump(b->t, family == 4 ? 0 : 1);
    free(b->ov);
    b->ov = NULL;
    return b->err;
}

int geo_classifier_build(const struct geo_inputs *in, struct geo_classifier **out, char *msg,
                         size_t msglen)
{
    struct geo_classifier *c = xcalloc(1, sizeof *c);
    struct build b = {.in = in, .c = c};
    int rc = 0;
    b.scratch = xcalloc(2 * in->nregions + 1, sizeof *b.scratch);
    b.dist = xcalloc(2 * in->nregions + 1, sizeof *b.dist);
    for (int m = 0; m < GEO_MODES && rc == 0; m++) {
        struct trie *t = &c->trie[m];
        t->root[0] = t->root[1] = LEAF_NONE;
        if (!in->modes[m])
            continue;
        b.mode = (enum geo_mode)m;
        b.t = t;
        b.have_v4_root = false;
        if ((rc = build_family(&b, 4)) == 0) {
            b.v4_root = t->root[0];
            b.have_v4_root = b.nov == 0;
            rc = build_family(&b, 6);
        }
    }
    free(b.cache);
    free(b.scratch);
    free(b.dist);
    if (rc) {
        snprintf(msg, msglen, "the GeoIP database's search tree is corrupt");
        geo_classifier_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void geo_classifier_free(struct geo_classifier *c)
{
    if (!c)
        return;
    for (int m = 0; m < GEO_MODES; m++) {
        free(c->trie[m].nodes);
        for (int f = 0; f < 2; f++) {
            free(c->trie[m].jump[f]);
            free(c->trie[m].jump_depth[f]);
        }
    }
    free(c->rl_regions);
    free(c->rlists);
    free(c->rl_slots);
    free(c);
}

size_t geo_classifier_bytes(const struct geo_classifier *c)
{
    size_t n = sizeof *c + c->rl_cap * sizeof *c->rl_regions + c->nrl * sizeof *c->rlists +
               (c->rl_slots_mask + 1) * sizeof *c->rl_slots;
    for (int m = 0; m < GEO_MODES; m++) {
        n += 2 * (size_t)c->trie[m].cap * sizeof(uint32_t);
        for (int f = 0; f < 2; f++)
            n += c->trie[m].jump[f] ? JUMP_SIZE * (sizeof(uint32_t) + 1) : 0;
    }
    return n;
}

/* ---- the query path ---------------------------------------------------------------- */

uint32_t geo_classify(const struct geo_classifier *c, enum geo_mode mode, int family,
                      const uint8_t *addr, int *prefix)
{
    const struct trie *t = &c->trie[mode];
    int f = family == 4 ? 0 : 1, depth = 0;
    uint32_t v = t->root[f];
    if (t->jump[f]) {
        uint32_t idx = (uint32_t)addr[0] << 8 | addr[1];
        v = t->jump[f][idx];
        depth = t->jump_depth[f][idx];
    }
    while (!(v & LEAF)) {
        v = t->nodes[2 * v + ((addr[depth >> 3] >> (7 - (depth & 7))) & 1)];
        depth++;
    }
    *prefix = depth;
    return v == LEAF_NONE ? GEO_RLIST_NONE : v & ~LEAF;
}
