/* dnsd/snap_compile.c — compiles the store into a snapshot (see snap.h): nodes in a
 * hash table, empty non-terminals, zone cuts, wildcards, and the additional-section
 * targets of NS/MX/SRV records, all resolved once here so a query only looks up.
 * Runs on the loader thread (or in gtmctl); blocking; allocates from the snapshot's
 * arena. Cost: linear in the records, a few hash probes per name. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/dname.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "db/store.h"
#include "dnsd/internal.h"

#define TYPE_NS 2
#define TYPE_SOA 6
#define TYPE_MX 15
#define TYPE_SRV 33
/* Table sizes are powers of two at least twice the node count: probes stay short. */
#define SNAP_MIN_SLOTS 64

/* ---- the node table ------------------------------------------------------------ */

static void table_put(struct snap *s, struct snap_node *n, uint32_t hash)
{
    uint32_t i = hash & s->mask;
    while (s->slots[i].node)
        i = (i + 1) & s->mask;
    s->slots[i].hash = hash;
    s->slots[i].node = n;
}

static void table_grow(struct snap *s)
{
    struct snap_slot *old = s->slots;
    uint32_t old_n = s->mask + 1;
    uint32_t n = old ? 2 * old_n : SNAP_MIN_SLOTS;
    s->slots = xcalloc(n, sizeof *s->slots);
    s->mask = n - 1;
    for (uint32_t i = 0; old && i < old_n; i++)
        if (old[i].node)
            table_put(s, (struct snap_node *)old[i].node, old[i].hash);
    free(old);
}

/* The node named name (hash: its snap_name_hashes() hash), added to zone z if new. */
static struct snap_node *node_get_hashed(struct snap *s, const uint8_t *name, size_t len,
                                         uint32_t hash, const struct snap_zone *z)
{
    struct snap_node *n = (struct snap_node *)snap_find_hashed(s, name, len, hash);
    if (n)
        return n;
    if ((s->nnodes + 1) * 2 > (size_t)s->mask + 1)
        table_grow(s);
    n = arena_zalloc(&s->arena, sizeof *n);
    n->name = arena_dup(&s->arena, name, len);
    n->name_len = (uint8_t)len;
    n->zone = z;
    table_put(s, n, hash);
    s->nnodes++;
    return n;
}

struct snap_node *snap__node_get(struct snap *s, const uint8_t *name, size_t len,
                                 const struct snap_zone *z)
{
    uint32_t hashes[SNAP_MAX_LABELS + 1];
    uint8_t offs[SNAP_MAX_LABELS + 1];
    snap_name_hashes(s->seed, name, len, hashes, offs);
    return node_get_hashed(s, name, len, hashes[0], z);
}

/* The zone of the deepest apex at or above name (its suffix hashes and offsets from
 * snap_name_hashes(), nlabels labels): where its records belong. */
static const struct snap_zone *deepest_zone(const struct snap *s, const uint8_t *name, size_t len,
                                            const uint32_t *hashes, const uint8_t *offs,
                                            int nlabels)
{
    for (int i = 0; i <= nlabels; i++) {
        const struct snap_node *n = snap_find_hashed(s, name + offs[i], len - offs[i], hashes[i]);
        if (n && (n->flags & SNAP_NODE_APEX))
            return n->zone;
    }
    return NULL;
}

/* ---- reading the store --------------------------------------------------------- */

static int on_zone(void *arg, const struct store_zone *z)
{
    struct build *b = arg;
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len = 0;
    if (dname_wire_from_key(z->name, wire, &len) != 0) {
        snprintf(b->msg, b->msglen, "zone %s: malformed name in the store", z->name);
        return GTM_ESTORE;
    }
    b->zones = xreallocarray(b->zones, b->nzones + 1, sizeof *b->zones);
    struct snap_zone *zone = arena_zalloc(&b->s->arena, sizeof *zone);
    struct snap_node *apex = snap__node_get(b->s, wire, len, zone);
    apex->flags |= SNAP_NODE_APEX;
    zone->apex = apex;
    b->zones[b->nzones++] = (struct bzone){z->id, zone};
    return 0;
}

/* Moves the RRset being filled into the arena, as the next RRset of b->node. */
static void finish_rrset(struct build *b)
{
    if (b->nsets == 0 || b->sets[b->nsets - 1].data)
        return;
    struct snap_rrset *rs = &b->sets[b->nsets - 1];
    rs->data = arena_dup(&b->s->arena, b->data, b->data_len);
    b->data_len = 0;
}

static void finish_node(struct build *b)
{
    finish_rrset(b);
    if (b->node && b->nsets) {
        b->node->rrsets = arena_dup(&b->s->arena, b->sets, b->nsets * sizeof *b->sets);
        b->node->nrrsets = (uint16_t)b->nsets;
    }
    b->node = NULL;
    b->nsets = 0;
}

static int bzone_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct bzone *)a)->id, y = ((const struct bzone *)b)->id;
    return x < y ? -1 : x > y;
}

static int on_rr(void *arg, int64_t zone_id, const struct store_rr *rr)
{
    struct build *b = arg;
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len = 0;
    if (!b->zones_sorted) {
        qsort(b->zones, b->nzones, sizeof *b->zones, bzone_cmp);
        b->zones_sorted = true;
    }
    /* records come grouped by zone, in ascending zone id */
    while (b->zone_at < b->nzones && b->zones[b->zone_at].id != zone_id)
        b->zone_at++;
    if (b->zone_at == b->nzones || dname_wire_from_key(rr->owner, wire, &len) != 0) {
        snprintf(b->msg, b->msglen, "record %s: no zone or a malformed owner", rr->owner);
        return GTM_ESTORE;
    }
    const struct snap_zone *zone = b->zones[b->zone_at].zone;
    if (!b->node || b->node->name_len != len || memcmp(b->node->name, wire, len) != 0) {
        finish_node(b);
        uint32_t hashes[SNAP_MAX_LABELS + 1];
        uint8_t offs[SNAP_MAX_LABELS + 1];
        int nlabels = snap_name_hashes(b->s->seed, wire, len, hashes, offs);
        const struct snap_zone *deepest = deepest_zone(b->s, wire, len, hashes, offs, nlabels);
        if (deepest == zone) {
            b->node = node_get_hashed(b->s, wire, len, hashes[0], zone);
        } else if (deepest->apex->name_len == len) {
            /* the parent's side of a child zone we also serve: kept for DS queries */
            struct snap_node *shadow = arena_zalloc(&b->s->arena, sizeof *shadow);
            shadow->name = deepest->apex->name;
            shadow->name_len = (uint8_t)len;
            shadow->flags = SNAP_NODE_CUT | SNAP_NODE_PARENT_SIDE;
            shadow->zone = zone;
            ((struct snap_node *)deepest->apex)->parent_side = shadow;
            b->node = shadow;
        } else {
            b->occluded++; /* below the apex of a deeper zone we also serve */
            return 0;
        }
    }
    if (b->nsets == 0 || b->sets[b->nsets - 1].type != rr->type) {
        finish_rrset(b);
        if (b->nsets == b->cap_sets) {
            b->cap_sets = b->cap_sets ? 2 * b->cap_sets : 16;
            b->sets = xreallocarray(b->sets, b->cap_sets, sizeof *b->sets);
        }
        b->sets[b->nsets++] = (struct snap_rrset){.type = rr->type, .ttl_s = rr->ttl_s};
    }
    struct snap_rrset *rs = &b->sets[b->nsets - 1];
    if (b->data_len + 2 + rr->wire_len > b->data_cap) {
        b->data_cap = 2 * (b->data_len + 2 + rr->wire_len);
        b->data = xrealloc(b->data, b->data_cap);
    }
    uint16_t rdlen = (uint16_t)rr->wire_len;
    memcpy(b->data + b->data_len, &rdlen, 2);
    if (rr->wire_len)
        memcpy(b->data + b->data_len + 2, rr->wire, rr->wire_len);
    b->data_len += 2 + rr->wire_len;
    rs->count++;
    /* RFC 2181 §5.2: one TTL per RRset; the store keeps it so, but be sure. */
    if (rr->ttl_s < rs->ttl_s)
        rs->ttl_s = rr->ttl_s;
    b->s->nrecords++;
    return 0;
}

/* ---- linking the nodes --------------------------------------------------------- */

/* Length of the name that remains after dropping its first label. */
static size_t parent_len(const uint8_t *name, size_t len, const uint8_t **parent)
{
    *parent = name + name[0] + 1;
    return len - name[0] - 1u;
}

/* Every node, listed once (the table changes while we add empty non-terminals). */
static struct snap_node **list_nodes(const struct snap *s, size_t *n)
{
    struct snap_node **v = xcalloc(s->nnodes ? s->nnodes : 1, sizeof *v);
    size_t k = 0;
    for (uint32_t i = 0; i <= s->mask; i++)
        if (s->slots[i].node)
            v[k++] = (struct snap_node *)s->slots[i].node;
    *n = k;
    return v;
}

/* RFC 4592 §2.2.2: names between a node and its apex exist as empty non-terminals. */
static void add_empty_non_terminals(struct snap *s)
{
    size_t n;
    struct snap_node **v = list_nodes(s, &n);
    for (size_t i = 0; i < n; i++) {
        const struct snap_node *apex = v[i]->zone->apex;
        const uint8_t *name = v[i]->name;
        size_t len = v[i]->name_len;
        while (len > apex->name_len) {
            len = parent_len(name, len, &name);
            if (len <= apex->name_len || snap_find(s, name, len))
                break;
            snap__node_get(s, name, len, v[i]->zone);
        }
    }
    free(v);
}

/* Additional-section targets: the node of each NS/MX/SRV record's target name. */
static void link_targets(struct snap *s, struct snap_rrset *rs)
{
    size_t skip = rs->type == TYPE_MX ? 2 : rs->type == TYPE_SRV ? 6 : 0;
    const struct snap_node **t = arena_zalloc(&s->arena, rs->count * sizeof *t);
    const uint8_t *p = rs->data;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen;
        uint8_t name[DNAME_WIRE_MAX];
        memcpy(&rdlen, p, 2);
        if (rdlen > skip && rdlen - skip <= DNAME_WIRE_MAX) {
            memcpy(name, p + 2 + skip, rdlen - skip);
            if (dname_wire_len(name) == rdlen - skip) {
                dname_lower(name);
                t[i] = snap_find(s, name, rdlen - skip);
            }
        }
        p += 2 + rdlen;
    }
    rs->targets = t;
}

static int link_nodes(struct build *b)
{
    struct snap *s = b->s;
    size_t n;
    struct snap_node **v = list_nodes(s, &n);
    int rc = 0;
    /* zone cuts first: the 'cut' links below need every flag */
    for (size_t i = 0; i < n; i++)
        if (!(v[i]->flags & SNAP_NODE_APEX) && snap_node_rrset(v[i], TYPE_NS))
            v[i]->flags |= SNAP_NODE_CUT;
    for (size_t i = 0; i < n; i++) {
        struct snap_node *node = v[i];
        const struct snap_node *apex = node->zone->apex, *parent;
        const uint8_t *name = node->name;
        size_t len = node->name_len;
        if (node == apex)
            continue;
        /* the closest delegation point strictly above */
        for (size_t l = len; l > apex->name_len;) {
            l = parent_len(name, l, &name);
            parent = snap_find(s, name, l);
            if (parent && (parent->flags & SNAP_NODE_CUT)) {
                node->cut = parent;
                break;
            }
        }
        /* "*" labels make their parent's wildcard */
        if (node->name[0] == 1 && node->name[1] == '*') {
            parent = snap_find(s, node->name + 2, node->name_len - 2u);
            if (parent)
                ((struct snap_node *)parent)->wildcard = node;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (int side = 0; side < 2; side++) {
            const struct snap_node *node = side ? v[i]->parent_side : v[i];
            for (uint16_t k = 0; node && k < node->nrrsets; k++) {
                struct snap_rrset *rs = (struct snap_rrset *)&node->rrsets[k];
                if (rs->type == TYPE_NS || rs->type == TYPE_MX || rs->type == TYPE_SRV)
                    link_targets(s, rs);
            }
        }
    }
    for (size_t z = 0; z < b->nzones && rc == 0; z++) {
        struct snap_zone *zone = b->zones[z].zone;
        zone->soa = snap_node_rrset(zone->apex, TYPE_SOA);
        zone->ns = snap_node_rrset(zone->apex, TYPE_NS);
        if (!zone->soa || zone->soa->count != 1) {
            char key[DNAME_KEY_MAX] = "?";
            dname_key_from_wire(zone->apex->name, zone->apex->name_len, key, sizeof key);
            snprintf(b->msg, b->msglen, "zone %s has no SOA record", key);
            rc = GTM_ESTORE;
            break;
        }
        /* SOA MINIMUM is the last 32 bits of its RDATA */
        uint16_t rdlen;
        memcpy(&rdlen, zone->soa->data, 2);
        const uint8_t *m = zone->soa->data + 2 + rdlen - 4;
        uint32_t minimum = (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
        zone->neg_ttl_s = minimum < zone->soa->ttl_s ? minimum : zone->soa->ttl_s;
    }
    free(v);
    return rc;
}

/* ---- entry points -------------------------------------------------------------- */

static uint32_t random_seed(void)
{
    uint32_t seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
    return seed;
}

struct snap_zone *snap__zone_by_id(struct build *b, int64_t id)
{
    for (size_t i = 0; i < b->nzones; i++)
        if (b->zones[i].id == id)
            return b->zones[i].zone;
    return NULL;
}

int snap_compile(struct store *st, uint64_t generation, const struct snap_geo_source *geo,
                 struct snap **out, char *msg, size_t msglen)
{
    struct snap *s = xcalloc(1, sizeof *s);
    struct build b = {.s = s, .geo = geo, .msg = msg, .msglen = msglen};
    int rc;
    s->seed = random_seed();
    s->generation = generation;
    table_grow(s);
    msg[0] = '\0';
    struct store_snapshot_fns fns = {.zone = on_zone, .rr = on_rr};
    snap__traffic_fns(&fns);
    rc = store_snapshot_read(st, &fns, &b);
    if (rc == 0) {
        finish_node(&b);
        rc = snap__traffic_finish(&b); /* managed names are nodes too */
    }
    if (rc == 0) {
        add_empty_non_terminals(s);
        rc = link_nodes(&b);
    }
    snap__traffic_free(&b);
    if (rc && !msg[0])
        snprintf(msg, msglen, "%s", store_errmsg(st));
    s->nzones = b.nzones;
    free(b.zones);
    free(b.sets);
    free(b.data);
    if (rc) {
        snap_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void snap_free(struct snap *s)
{
    if (!s)
        return;
    snap_geo_release(s->geo);
    arena_fini(&s->arena);
    free(s->slots);
    free(s);
}
