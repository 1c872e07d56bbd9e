/* dnsd/snap_compile.c — compiles the store into a snapshot (see snap.h): nodes in a
 * hash table, empty non-terminals, zone cuts, wildcards, and the additional-section
 * targets of NS/MX/SRV records, all resolved once here so a query only looks up.
 * Runs on the loader thread (or in gtmctl); blocking; allocates from the snapshot's
 * arena. Cost: linear in the records; each name is hashed and probed about twice, in
 * bulk passes that prefetch the table ahead of their probes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dname.h"
#include "common/err.h"
#include "common/random.h"
#include "common/xalloc.h"
#include "db/store.h"
#include "dnsd/internal.h"

#define TYPE_A 1
#define TYPE_NS 2
#define TYPE_CNAME 5
#define TYPE_SOA 6
#define TYPE_MX 15
#define TYPE_AAAA 28
#define TYPE_SRV 33
#define TYPE_SVCB 64
#define TYPE_HTTPS 65
#define TYPE_DNAME 39
/* Table sizes are powers of two at least twice the node count: probes stay short. */
#define SNAP_MIN_SLOTS 64
/* How many nodes ahead the bulk loops prefetch the hash slot they will probe: a big
 * zone's table is far larger than the caches, and that miss is most of a probe's cost. */
#define PREFETCH_AHEAD 16

/* ---- the node table ------------------------------------------------------------ */

static void table_put(struct snap *s, struct snap_node *n, uint32_t hash)
{
    uint32_t i = hash & s->mask;
    while (s->slots[i].node)
        i = (i + 1) & s->mask;
    s->slots[i].hash = hash;
    s->slots[i].node = n;
}

/* Rehashes the table into nslots slots (a power of two). */
static void table_resize(struct snap *s, uint32_t nslots)
{
    struct snap_slot *old = s->slots;
    uint32_t old_n = old ? s->mask + 1 : 0;
    s->slots = xcalloc(nslots, sizeof *s->slots);
    s->mask = nslots - 1;
    for (uint32_t i = 0; i < old_n; i++)
        if (old[i].node)
            table_put(s, (struct snap_node *)old[i].node, old[i].hash);
    free(old);
}

/* Makes room in the table and in b->nodes for n more nodes. */
static void nodes_reserve(struct build *b, size_t n)
{
    struct snap *s = b->s;
    size_t want = s->nnodes + n;
    uint32_t slots = s->mask + 1;
    while (want * 2 > slots)
        slots *= 2;
    if (slots != s->mask + 1)
        table_resize(s, slots);
    b->nodes = xgrow(b->nodes, &b->nodes_cap, want, sizeof *b->nodes);
}

/* A new node named name in zone z, in the arena only. */
static struct snap_node *node_new(struct snap *s, const uint8_t *name, size_t len,
                                  const struct snap_zone *z)
{
    struct snap_node *n = arena_zalloc(&s->arena, sizeof *n);
    n->name = arena_dup(&s->arena, name, len);
    n->name_len = (uint8_t)len;
    n->zone = z;
    return n;
}

static void node_add(struct build *b, struct snap_node *n, uint32_t hash)
{
    table_put(b->s, n, hash);
    b->nodes[b->s->nnodes++] = n;
}

/* The node named name (hash: its snap_name_hashes() hash), added to zone z if new. */
static struct snap_node *node_get_hashed(struct build *b, const uint8_t *name, size_t len,
                                         uint32_t hash, const struct snap_zone *z)
{
    struct snap_node *n = (struct snap_node *)snap_find_hashed(b->s, name, len, hash);
    if (n)
        return n;
    nodes_reserve(b, 1);
    n = node_new(b->s, name, len, z);
    node_add(b, n, hash);
    return n;
}

struct snap_node *snap__node_get(struct build *b, const uint8_t *name, size_t len,
                                 const struct snap_zone *z)
{
    uint32_t hashes[SNAP_MAX_LABELS + 1];
    uint8_t offs[SNAP_MAX_LABELS + 1];
    snap_name_hashes(b->s->seed, name, len, hashes, offs);
    return node_get_hashed(b, name, len, hashes[0], z);
}

/* The nodes of the records, made while reading (each owner comes once), go into the
 * table in one go: sized once, and each slot prefetched a few nodes ahead. */
static void add_pending(struct build *b)
{
    struct snap *s = b->s;
    nodes_reserve(b, b->npending);
    for (size_t i = 0; i < b->npending; i++) {
        if (i + PREFETCH_AHEAD < b->npending)
            __builtin_prefetch(&s->slots[b->pending[i + PREFETCH_AHEAD].hash & s->mask], 1);
        node_add(b, b->pending[i].node, b->pending[i].hash);
    }
    b->npending = 0;
}

/* The zone of the deepest apex at or above suffix 'from' of name (its suffix hashes and
 * offsets from snap_name_hashes(), nlabels labels): from 0, where its records belong. */
static const struct snap_zone *deepest_zone(const struct snap *s, const uint8_t *name, size_t len,
                                            const uint32_t *hashes, const uint8_t *offs, int from,
                                            int nlabels)
{
    for (int i = from; i <= nlabels; i++) {
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
    struct snap_node *apex = snap__node_get(b, wire, len, zone);
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
        /* NS below an apex: a delegation point */
        if (!(b->node->flags & SNAP_NODE_APEX) && snap_node_rrset(b->node, TYPE_NS))
            b->node->flags |= SNAP_NODE_CUT;
        if (snap_node_rrset(b->node, TYPE_DNAME))
            b->node->flags |= SNAP_NODE_DNAME;
    }
    b->node = NULL;
    b->nsets = 0;
}

static int bzone_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct bzone *)a)->id, y = ((const struct bzone *)b)->id;
    return x < y ? -1 : x > y;
}

/* The length of the wire name at p if it ends within avail bytes, else 0 (read within
 * those bytes only: RDATA from the store is not trusted to be well formed). */
static size_t name_within(const uint8_t *p, size_t avail)
{
    size_t k = 0;
    while (k < avail && p[k])
        k += p[k] + 1u;
    return k < avail ? k + 1 : 0;
}

/* Whether the len bytes at p are exactly one wire name. */
static bool is_one_name(const uint8_t *p, size_t len)
{
    return len > 0 && name_within(p, len) == len;
}

/* Whether a zone's apex is below another zone's: only then can a record's owner belong
 * to a deeper zone than its own. */
static bool any_nested_zone(const struct build *b)
{
    uint32_t hashes[SNAP_MAX_LABELS + 1];
    uint8_t offs[SNAP_MAX_LABELS + 1];
    for (size_t z = 0; z < b->nzones; z++) {
        const struct snap_node *apex = b->zones[z].zone->apex;
        int nlabels = snap_name_hashes(b->s->seed, apex->name, apex->name_len, hashes, offs);
        if (deepest_zone(b->s, apex->name, apex->name_len, hashes, offs, 1, nlabels))
            return true;
    }
    return false;
}

static int on_rr(void *arg, int64_t zone_id, const struct store_rr *rr)
{
    struct build *b = arg;
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len = 0;
    if (!b->zones_sorted) {
        qsort(b->zones, b->nzones, sizeof *b->zones, bzone_cmp);
        b->zones_sorted = true;
        b->nested = any_nested_zone(b);
    }
    /* records come grouped by zone, in ascending zone id; a zone's first owner may be
     * the name the previous zone ended with (a child's apex), but not the same node */
    size_t zone_was = b->zone_at;
    while (b->zone_at < b->nzones && b->zones[b->zone_at].id != zone_id)
        b->zone_at++;
    if (b->zone_at == b->nzones || dname_wire_from_key(rr->owner, wire, &len) != 0) {
        snprintf(b->msg, b->msglen, "record %s: no zone or a malformed owner", rr->owner);
        return GTM_ESTORE;
    }
    /* the answer path follows CNAME and DNAME targets: they must be one name; an
     * address of another length would make the answer malformed */
    if (((rr->type == TYPE_CNAME || rr->type == TYPE_DNAME) &&
         (rr->wire_len > DNAME_WIRE_MAX || !is_one_name(rr->wire, rr->wire_len))) ||
        (rr->type == TYPE_A && rr->wire_len != 4) ||
        (rr->type == TYPE_AAAA && rr->wire_len != 16)) {
        snprintf(b->msg, b->msglen, "record %s type %u: malformed RDATA in the store", rr->owner,
                 rr->type);
        return GTM_ESTORE;
    }
    const struct snap_zone *zone = b->zones[b->zone_at].zone;
    if (!b->node || b->zone_at != zone_was || b->node->name_len != len ||
        memcmp(b->node->name, wire, len) != 0) {
        finish_node(b);
        uint32_t hashes[SNAP_MAX_LABELS + 1];
        uint8_t offs[SNAP_MAX_LABELS + 1];
        int nlabels = snap_name_hashes(b->s->seed, wire, len, hashes, offs);
        const struct snap_zone *deepest =
            b->nested ? deepest_zone(b->s, wire, len, hashes, offs, 0, nlabels) : zone;
        if (deepest == zone && len == zone->apex->name_len) {
            b->node = (struct snap_node *)zone->apex; /* made with its zone */
        } else if (deepest == zone) {
            /* a name not seen before: each owner's records come together */
            b->node = node_new(b->s, wire, len, zone);
            b->pending = xgrow(b->pending, &b->pending_cap, b->npending + 1, sizeof *b->pending);
            b->pending[b->npending++] = (struct pending_node){b->node, hashes[0]};
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
        b->sets = xgrow(b->sets, &b->cap_sets, b->nsets + 1, sizeof *b->sets);
        b->sets[b->nsets++] = (struct snap_rrset){.type = rr->type, .ttl_s = rr->ttl_s};
    }
    struct snap_rrset *rs = &b->sets[b->nsets - 1];
    b->data = xgrow(b->data, &b->data_cap, b->data_len + 2 + rr->wire_len, 1);
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

/* Compile-time mark of a node whose cut link is set; cleared before publishing. */
#define NODE_LINKED 0x80

/* The highest delegation point or DNAME owner at or above node n (n itself if there is
 * none above it and it is one), where n is suffix i of name (suffix hashes and offsets
 * from snap_name_hashes()). Links n first: n->cut, the highest one strictly above, is
 * its parent's answer, and a missing parent is an empty non-terminal (RFC 4592
 * §2.2.2), made here. The recursion stops at the first node already linked (usually
 * the parent) or at the zone's apex. */
static const struct snap_node *link_up(struct build *b, struct snap_node *n, const uint8_t *name,
                                       size_t len, const uint32_t *hashes, const uint8_t *offs,
                                       int i)
{
    if (!(n->flags & (NODE_LINKED | SNAP_NODE_APEX)) && len - offs[i] > n->zone->apex->name_len) {
        n->flags |= NODE_LINKED;
        struct snap_node *parent =
            node_get_hashed(b, name + offs[i + 1], len - offs[i + 1], hashes[i + 1], n->zone);
        n->cut = link_up(b, parent, name, len, hashes, offs, i + 1);
    }
    if (n->cut)
        return n->cut;
    return (n->flags & (SNAP_NODE_CUT | SNAP_NODE_DNAME)) ? n : NULL;
}

/* Additional-section targets: each NS/MX/SRV record's target name, and each SVCB/HTTPS
 * record's TargetName unless it is "." (RFC 9460 §4.1: its A and AAAA go in the
 * additional section, as Knot does), lower-cased and hashed into b->targets;
 * find_targets() then looks them all up. */
static void queue_targets(struct build *b, struct snap_rrset *rs)
{
    bool svcb = rs->type == TYPE_SVCB || rs->type == TYPE_HTTPS;
    size_t skip = rs->type == TYPE_MX || svcb ? 2 : rs->type == TYPE_SRV ? 6 : 0;
    const struct snap_node **t = arena_zalloc(&b->s->arena, rs->count * sizeof *t);
    const uint8_t *p = rs->data;
    for (uint16_t i = 0; i < rs->count; i++) {
        uint16_t rdlen;
        memcpy(&rdlen, p, 2);
        /* the target is the whole rest of the RDATA, or for SVCB a name before the
         * parameters */
        size_t len = rdlen <= skip ? 0
                     : svcb        ? name_within(p + 2 + skip, rdlen - skip)
                                   : rdlen - skip;
        if (len > (svcb ? 1u : 0u) && len <= DNAME_WIRE_MAX &&
            (svcb || is_one_name(p + 2 + skip, len))) {
            b->targets = xgrow(b->targets, &b->targets_cap, b->ntargets + 1, sizeof *b->targets);
            b->target_names =
                xgrow(b->target_names, &b->target_names_cap, b->target_names_len + len, 1);
            uint8_t *name = b->target_names + b->target_names_len;
            uint32_t hashes[SNAP_MAX_LABELS + 1];
            uint8_t offs[SNAP_MAX_LABELS + 1];
            memcpy(name, p + 2 + skip, len);
            dname_lower(name);
            snap_name_hashes(b->s->seed, name, len, hashes, offs);
            b->targets[b->ntargets++] =
                (struct target_ref){&t[i], b->target_names_len, (uint8_t)len, hashes[0]};
            b->target_names_len += len;
        }
        p += 2 + rdlen;
    }
    rs->targets = t;
}

/* The nodes of the queued targets, each slot prefetched a few lookups ahead. */
static void find_targets(struct build *b)
{
    const struct snap *s = b->s;
    for (size_t i = 0; i < b->ntargets; i++) {
        if (i + PREFETCH_AHEAD < b->ntargets)
            __builtin_prefetch(&s->slots[b->targets[i + PREFETCH_AHEAD].hash & s->mask]);
        const struct target_ref *r = &b->targets[i];
        *r->node = snap_find_hashed(s, b->target_names + r->name_off, r->len, r->hash);
    }
}

static int link_nodes(struct build *b)
{
    struct snap *s = b->s;
    int rc = 0;
    /* every node made so far (the empty non-terminals it adds are linked as they come),
     * each one's suffix hashes computed a few nodes ahead to prefetch its parent's slot */
    struct {
        uint32_t hashes[SNAP_MAX_LABELS + 1];
        uint8_t offs[SNAP_MAX_LABELS + 1];
    } ahead[PREFETCH_AHEAD];
    for (size_t i = 0, n = s->nnodes; i < n + PREFETCH_AHEAD; i++) {
        uint32_t *hashes = ahead[i % PREFETCH_AHEAD].hashes;
        uint8_t *offs = ahead[i % PREFETCH_AHEAD].offs;
        if (i >= PREFETCH_AHEAD) {
            struct snap_node *node = b->nodes[i - PREFETCH_AHEAD];
            link_up(b, node, node->name, node->name_len, hashes, offs, 0);
        }
        if (i < n) {
            const struct snap_node *next = b->nodes[i];
            if (snap_name_hashes(s->seed, next->name, next->name_len, hashes, offs) > 0)
                __builtin_prefetch(&s->slots[hashes[1] & s->mask]);
        }
    }
    /* every node now, the empty non-terminals made above too */
    for (size_t i = 0; i < s->nnodes; i++) {
        struct snap_node *n = b->nodes[i];
        n->flags &= (uint8_t)~NODE_LINKED;
        /* "*" labels make their parent's wildcard */
        if (n->name[0] == 1 && n->name[1] == '*' && !(n->flags & SNAP_NODE_APEX)) {
            struct snap_node *parent =
                (struct snap_node *)snap_find(s, n->name + 2, n->name_len - 2u);
            if (parent)
                parent->wildcard = n;
        }
        for (int side = 0; side < 2; side++) {
            const struct snap_node *node = side ? b->nodes[i]->parent_side : b->nodes[i];
            for (uint16_t k = 0; node && k < node->nrrsets; k++) {
                struct snap_rrset *rs = (struct snap_rrset *)&node->rrsets[k];
                if (rs->type == TYPE_NS || rs->type == TYPE_MX || rs->type == TYPE_SRV ||
                    rs->type == TYPE_SVCB || rs->type == TYPE_HTTPS)
                    queue_targets(b, rs);
            }
        }
    }
    find_targets(b);
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
    return rc;
}

/* ---- entry points -------------------------------------------------------------- */

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
    s->seed = (uint32_t)random_u64();
    s->generation = generation;
    table_resize(s, SNAP_MIN_SLOTS);
    msg[0] = '\0';
    struct store_snapshot_fns fns = {.zone = on_zone, .rr = on_rr};
    snap__traffic_fns(&fns);
    rc = store_snapshot_read(st, &fns, &b);
    if (rc == 0) {
        finish_node(&b);
        add_pending(&b);
        rc = snap__traffic_finish(&b); /* managed names are nodes too */
    }
    if (rc == 0)
        rc = link_nodes(&b);
    snap__traffic_free(&b);
    if (rc && !msg[0])
        snprintf(msg, msglen, "%s", store_errmsg(st));
    s->nzones = b.nzones;
    free(b.zones);
    free(b.nodes);
    free(b.pending);
    free(b.targets);
    free(b.target_names);
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
