/* dnsd/snap_traffic.c — compiling traffic management into a snapshot: regions, pools
 * and their endpoints (sorted for the decisions), the managed names' nodes with their
 * policies, endpoint states, and the classifier (reused while its inputs are the same).
 * Loader thread or gtmctl; allocates from the snapshot's arena. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dname.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "dnsd/internal.h"

/* What the store gave, gathered until everything is read. */
struct snap__traffic {
    struct pol_region *regions;
    int64_t *region_ids; /* store id of regions[i] */
    size_t nregions;
    struct {
        int64_t id;
        const char *name;
    } * pools;
    size_t npools;
    struct tep {
        int64_t id, pool_id, region_id;
        struct pol_endpoint ep;
    } * eps;
    size_t neps;
    struct store_policy *policies; /* strings in the arena */
    size_t npolicies;
    struct geo_map_in *map;
    size_t nmap;
    struct geo_latency_in *latency;
    int64_t *latency_region_ids;
    size_t nlatency;
    uint64_t fingerprint; /* of regions, geo map and latency, as read */
};

#define GROW(arr, n) ((arr) = xreallocarray((arr), (n) + 1, sizeof *(arr)))

static const char *astr(struct build *b, const char *s)
{
    return arena_dup(&b->s->arena, s, strlen(s) + 1);
}

/* FNV-1a over the classifier's inputs, so a snapshot can tell they did not change. */
static void fp_add(uint64_t *h, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ p[i]) * 1099511628211ULL;
}

static void fp_str(uint64_t *h, const char *s)
{
    fp_add(h, s, strlen(s) + 1);
}

static struct snap__traffic *traffic(struct build *b)
{
    if (!b->traffic) {
        b->traffic = xcalloc(1, sizeof *b->traffic);
        b->traffic->fingerprint = 14695981039346656037ULL;
    }
    return b->traffic;
}

/* ---- store callbacks ---------------------------------------------------------------- */

static int on_region(void *arg, const struct store_region *r)
{
    struct build *b = arg;
    struct snap__traffic *t = traffic(b);
    GROW(t->regions, t->nregions);
    GROW(t->region_ids, t->nregions);
    t->regions[t->nregions] = (struct pol_region){astr(b, r->name), r->has_coords, r->lat, r->lon};
    t->region_ids[t->nregions++] = r->id;
    fp_str(&t->fingerprint, r->name);
    fp_add(&t->fingerprint, &r->has_coords, sizeof r->has_coords);
    fp_add(&t->fingerprint, &r->lat, sizeof r->lat);
    fp_add(&t->fingerprint, &r->lon, sizeof r->lon);
    return 0;
}

static int on_pool(void *arg, const struct store_pool *p)
{
    struct build *b = arg;
    struct snap__traffic *t = traffic(b);
    GROW(t->pools, t->npools);
    t->pools[t->npools].id = p->id;
    t->pools[t->npools++].name = astr(b, p->name);
    return 0;
}

static int on_endpoint(void *arg, const struct store_endpoint *e)
{
    struct build *b = arg;
    struct snap__traffic *t = traffic(b);
    GROW(t->eps, t->neps);
    struct tep *te = &t->eps[t->neps++];
    te->id = e->id;
    te->pool_id = e->pool_id;
    te->region_id = e->region_id;
    te->ep = (struct pol_endpoint){
        .kind = (uint8_t)e->kind,
        .enabled = e->enabled,
        .weight = e->weight,
        .priority = e->priority,
        .addr = arena_dup(&b->s->arena, e->address, e->address_len),
        .addr_len = (uint8_t)e->address_len,
        .target = astr(b, e->target),
    };
    /* the sticky hash's endpoint half: stable across reloads and servers */
    uint64_t key = 14695981039346656037ULL;
    fp_str(&key, e->pool);
    fp_str(&key, e->target);
    te->ep.key = key;
    return 0;
}

static int on_policy(void *arg, const struct store_policy *p)
{
    struct build *b = arg;
    struct snap__traffic *t = traffic(b);
    GROW(t->policies, t->npolicies);
    struct store_policy *c = &t->policies[t->npolicies++];
    *c = *p;
    c->name = astr(b, p->name);
    c->mode = astr(b, p->mode);
    c->fallback = astr(b, p->fallback);
    c->pool = c->fallback_pool = NULL;
    return 0;
}

static int on_geo(void *arg, const struct store_geo *g)
{
    struct build *b = arg;
    struct snap__traffic *t = traffic(b);
    struct geo_key key;
    if (geo_key_parse(g->key, &key) != 0) {
        log_warn("geo map key '%s' in the store is not a key; ignored", g->key);
        return 0;
    }
    uint16_t *regions = arena_alloc(&b->s->arena, (g->nregions + 1) * sizeof *regions);
    size_t n = 0;
    for (size_t i = 0; i < g->nregions; i++)
        for (size_t r = 0; r < t->nregions; r++)
            if (t->region_ids[r] == g->region_ids[i])
                regions[n++] = (uint16_t)r;
    GROW(t->map, t->nmap);
    t->map[t->nmap++] = (struct geo_map_in){key, n, regions};
    fp_str(&t->fingerprint, g->key);
    fp_add(&t->fingerprint, regions, n * sizeof *regions);
    return 0;
}

static int on_latency(void *arg, const struct store_latency *l)
{
    struct build *b = arg;
    struct snap__traffic *t = traffic(b);
    struct geo_key key;
    if (geo_key_parse(l->key, &key) != 0) {
        log_warn("latency key '%s' in the store is not a key; ignored", l->key);
        return 0;
    }
    for (size_t r = 0; r < t->nregions; r++) {
        if (t->region_ids[r] != l->region_id)
            continue;
        GROW(t->latency, t->nlatency);
        t->latency[t->nlatency++] = (struct geo_latency_in){key, (uint16_t)r, l->ms};
        fp_str(&t->fingerprint, l->key);
        fp_add(&t->fingerprint, &r, sizeof r);
        fp_add(&t->fingerprint, &l->ms, sizeof l->ms);
    }
    return 0;
}

void snap__traffic_fns(struct store_snapshot_fns *fns)
{
    fns->region = on_region;
    fns->pool = on_pool;
    fns->endpoint = on_endpoint;
    fns->policy = on_policy;
    fns->geo = on_geo;
    fns->latency = on_latency;
}

/* ---- building ------------------------------------------------------------------------- */

static int region_index(const struct snap__traffic *t, int64_t id)
{
    for (size_t r = 0; r < t->nregions; r++)
        if (t->region_ids[r] == id)
            return (int)r;
    return -1;
}

static int pool_id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int tep_cmp(const void *a, const void *b)
{
    const struct tep *x = a, *y = b;
    if (x->pool_id != y->pool_id)
        return x->pool_id < y->pool_id ? -1 : 1;
    if (x->ep.region != y->ep.region)
        return x->ep.region < y->ep.region ? -1 : 1;
    if (x->ep.priority != y->ep.priority)
        return x->ep.priority < y->ep.priority ? -1 : 1;
    return strcmp(x->ep.target, y->ep.target);
}

struct id_index {
    int64_t id;
    uint32_t index;
};

static int id_index_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct id_index *)a)->id, y = ((const struct id_index *)b)->id;
    return x < y ? -1 : x > y;
}

/* Pools and their endpoints, sorted by region, priority and target. */
static void build_pools(struct build *b, struct pol_pool *pools)
{
    struct snap *s = b->s;
    struct snap__traffic *t = b->traffic;
    for (size_t i = 0; i < t->neps; i++) {
        int r = region_index(t, t->eps[i].region_id);
        t->eps[i].ep.region = (uint16_t)(r < 0 ? 0 : r);
    }
    if (t->neps)
        qsort(t->eps, t->neps, sizeof *t->eps, tep_cmp);
    /* the store lists pools by name; walk them by id, as the endpoints are sorted */
    if (t->npools)
        qsort(t->pools, t->npools, sizeof *t->pools, pool_id_cmp);
    struct pol_endpoint *eps = arena_zalloc(&s->arena, (t->neps + 1) * sizeof *eps);
    int64_t *ids = arena_zalloc(&s->arena, (t->neps + 1) * sizeof *ids);
    uint32_t *by_id = arena_zalloc(&s->arena, (t->neps + 1) * sizeof *by_id);
    struct id_index *order = xcalloc(t->neps + 1, sizeof *order);
    for (size_t i = 0; i < t->neps; i++) {
        eps[i] = t->eps[i].ep;
        eps[i].state = (uint32_t)i;
        ids[i] = t->eps[i].id;
        order[i] = (struct id_index){t->eps[i].id, (uint32_t)i};
    }
    /* the store's ids in order, for applying health rows (sorted by id) to endpoints */
    if (t->neps)
        qsort(order, t->neps, sizeof *order, id_index_cmp);
    for (size_t i = 0; i < t->neps; i++)
        by_id[i] = order[i].index;
    free(order);
    s->ep_ids = ids;
    s->ep_by_id = by_id;
    for (size_t p = 0, e = 0; p < t->npools; p++) {
        while (e < t->neps && t->eps[e].pool_id < t->pools[p].id)
            e++;
        size_t first = e;
        while (e < t->neps && t->eps[e].pool_id == t->pools[p].id)
            e++;
        pools[p] = (struct pol_pool){t->pools[p].name, eps + first, (uint32_t)(e - first), NULL};
        if (pools[p].neps > POL_MAX_CANDIDATES) {
            log_warn("pool %s has %u endpoints; only the first %d are answered from", pools[p].name,
                     pools[p].neps, POL_MAX_CANDIDATES);
            pools[p].neps = POL_MAX_CANDIDATES;
        }
        /* where each region's endpoints start (they are sorted by region) */
        uint32_t *rf = arena_alloc(&s->arena, (t->nregions + 1) * sizeof *rf);
        for (size_t g = 0, i = 0; g <= t->nregions; g++) {
            while (i < pools[p].neps && pools[p].eps[i].region < g)
                i++;
            rf[g] = (uint32_t)i;
        }
        pools[p].region_first = rf;
    }
    s->eps = eps;
    s->neps = t->neps;
    s->states = arena_zalloc(&s->arena, (t->neps + 1) * sizeof *s->states);
    s->flipped_ms = arena_zalloc(&s->arena, (t->neps + 1) * sizeof *s->flipped_ms);
    _Atomic uint16_t *drain = arena_zalloc(&s->arena, (t->nregions + 1) * sizeof *drain);
    for (size_t r = 0; r <= t->nregions; r++)
        atomic_init(&drain[r], 1000);
    s->drain = drain;
    s->region_ids = arena_dup(&s->arena, t->region_ids ? (const void *)t->region_ids : "",
                              t->nregions * sizeof *t->region_ids);
}

static const struct pol_pool *pool_by_id(const struct build *b, const struct pol_pool *pools,
                                         int64_t id)
{
    for (size_t p = 0; p < b->traffic->npools; p++)
        if (b->traffic->pools[p].id == id)
            return &pools[p];
    return NULL;
}

static bool pool_has_names(const struct pol_pool *pool)
{
    for (uint32_t i = 0; i < pool->neps; i++)
        if (pool->eps[i].kind == POL_EP_NAME)
            return true;
    return false;
}

/* Each policy on its managed name's node; modes[] gets the classifier tries they use. */
static int build_policies(struct build *b, const struct pol_pool *pools, bool *modes)
{
    struct snap__traffic *t = b->traffic;
    for (size_t i = 0; i < t->npolicies; i++) {
        const struct store_policy *sp = &t->policies[i];
        struct pol_policy *p = arena_zalloc(&b->s->arena, sizeof *p);
        uint8_t wire[DNAME_WIRE_MAX];
        size_t len;
        const struct snap_zone *zone = snap__zone_by_id(b, sp->zone_id);
        if (!zone || dname_wire_from_key(sp->name, wire, &len) != 0 ||
            pol_mode_parse(sp->mode, &p->mode) != 0 ||
            !(p->pool = pool_by_id(b, pools, sp->pool_id))) {
            snprintf(b->msg, b->msglen, "policy %s: inconsistent in the store", sp->name);
            return GTM_ESTORE;
        }
        p->name = sp->name;
        p->ttl_s = sp->ttl_s;
        p->answers = (uint16_t)(sp->answers          ? sp->answers
                                : p->mode == POL_ALL ? POL_MAX_ANSWERS
                                                     : 1);
        if (p->answers > POL_MAX_ANSWERS)
            p->answers = POL_MAX_ANSWERS;
        p->sticky = sp->sticky;
        p->unknown_up = sp->unknown_up;
        p->ttl_degraded_s = sp->ttl_degraded_s;
        p->region_up_pct = (uint8_t)sp->region_up_pct;
        p->fallback = strcmp(sp->fallback, "pool") == 0   ? POL_FALLBACK_POOL
                      : strcmp(sp->fallback, "none") == 0 ? POL_FALLBACK_NONE
                                                          : POL_FALLBACK_FAIL_OPEN;
        p->fallback_pool = pool_by_id(b, pools, sp->fallback_pool_id);
        if (p->fallback == POL_FALLBACK_POOL && !p->fallback_pool)
            p->fallback = POL_FALLBACK_FAIL_OPEN;
        p->has_names = pool_has_names(p->pool) ||
                       (p->fallback == POL_FALLBACK_POOL && pool_has_names(p->fallback_pool));
        dname_lower(wire);
        struct snap_node *node = snap__node_get(b, wire, len, zone);
        node->policy = p;
        if (p->mode == POL_GEO)
            modes[GEO_MODE_GEO] = true;
        else if (p->mode == POL_LATENCY)
            modes[GEO_MODE_LATENCY] = true;
        else if (p->mode == POL_PROXIMITY)
            modes[GEO_MODE_PROXIMITY] = true;
        b->s->npolicies++;
    }
    return 0;
}

void snap_geo_release(struct snap_geo *g)
{
    if (g && --g->refs == 0) {
        geo_classifier_free(g->classifier);
        free(g);
    }
}

/* The classifier: the cached one when its inputs are unchanged, else a new one. */
static int attach_classifier(struct build *b, const bool *modes)
{
    struct snap__traffic *t = b->traffic;
    const struct snap_geo_source *src = b->geo;
    uint64_t fp = t->fingerprint;
    fp_add(&fp, modes, GEO_MODES * sizeof *modes);
    if (src)
        fp_add(&fp, &src->db_fingerprint, sizeof src->db_fingerprint);
    if (src && src->cache && *src->cache && (*src->cache)->fingerprint == fp) {
        b->s->geo = *src->cache;
        b->s->geo->refs++;
        return 0;
    }
    struct geo_inputs in = b->s->geo_in;
    in.db = src ? src->db : NULL;
    memcpy(in.modes, modes, sizeof in.modes);
    struct geo_classifier *c = NULL;
    int rc = geo_classifier_build(&in, &c, b->msg, b->msglen);
    if (rc)
        return rc;
    struct snap_geo *g = xcalloc(1, sizeof *g);
    g->classifier = c;
    g->fingerprint = fp;
    g->refs = 1;
    b->s->geo = g;
    if (src && src->cache) {
        snap_geo_release(*src->cache);
        *src->cache = g;
        g->refs++;
    }
    return 0;
}

int snap__traffic_finish(struct build *b)
{
    struct snap__traffic *t = traffic(b);
    struct snap *s = b->s;
    bool modes[GEO_MODES] = {false};
    struct pol_region *regions = arena_zalloc(&s->arena, (t->nregions + 1) * sizeof *regions);
    if (t->nregions)
        memcpy(regions, t->regions, t->nregions * sizeof *regions);
    s->regions = regions;
    s->nregions = t->nregions;
    struct pol_pool *pools = arena_zalloc(&s->arena, (t->npools + 1) * sizeof *pools);
    s->pools = pools;
    s->npools = t->npools;
    build_pools(b, pools);
    /* the classifier's inputs, kept for explanations */
    struct geo_region_in *gregions = arena_zalloc(&s->arena, (t->nregions + 1) * sizeof *gregions);
    for (size_t r = 0; r < t->nregions; r++)
        gregions[r] =
            (struct geo_region_in){t->regions[r].has_coords, t->regions[r].lat, t->regions[r].lon};
    s->geo_in = (struct geo_inputs){
        .regions = gregions,
        .nregions = t->nregions,
        .map = arena_dup(&s->arena, t->map ? (const void *)t->map : "", t->nmap * sizeof *t->map),
        .nmap = t->nmap,
        .latency = arena_dup(&s->arena, t->latency ? (const void *)t->latency : "",
                             t->nlatency * sizeof *t->latency),
        .nlatency = t->nlatency,
    };
    for (size_t i = 0; i < t->nmap; i++)
        if (t->map[i].key.kind == GEO_KEY_DEFAULT)
            s->geo_star = (struct geo_rlist){(uint16_t)t->map[i].nregions, t->map[i].regions};
    int rc = build_policies(b, pools, modes);
    if (rc == 0 && s->npolicies)
        rc = attach_classifier(b, modes);
    return rc;
}

void snap__traffic_free(struct build *b)
{
    struct snap__traffic *t = b->traffic;
    if (!t)
        return;
    free(t->regions);
    free(t->region_ids);
    free(t->pools);
    free(t->eps);
    free(t->policies);
    free(t->map);
    free(t->latency);
    free(t->latency_region_ids);
    free(t);
    b->traffic = NULL;
}
