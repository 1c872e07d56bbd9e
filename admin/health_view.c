/* admin/health_view.c — the health of endpoints as gtm-dnsd applies it (see
 * health_view.h). Reading costs O(endpoints log endpoints + reports). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "admin/health_view.h"
#include "common/xalloc.h"

#define GROW(arr, n) ((arr) = xreallocarray((arr), (n) + 1, sizeof *(arr)))

/* ---- reading -------------------------------------------------------------------- */

/* While loading: the view, and its endpoints by id for the reports to find them. */
struct loading {
    struct hview *v;
    struct hview_ep **by_id;
};

static int on_endpoint(void *arg, const struct store_endpoint *e)
{
    struct hview *v = arg;
    GROW(v->eps, v->neps);
    v->eps[v->neps++] = (struct hview_ep){
        .id = e->id,
        .region_id = e->region_id,
        .pool = xstrdup(e->pool),
        .target = xstrdup(e->target),
        .region = xstrdup(e->region),
        .weight = e->weight,
        .enabled = e->enabled,
    };
    return 0;
}

static int ep_ptr_cmp(const void *a, const void *b)
{
    const struct hview_ep *x = *(struct hview_ep *const *)a, *y = *(struct hview_ep *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

static int on_health(void *arg, const struct store_health *h)
{
    struct loading *l = arg;
    struct hview_ep key = {.id = h->endpoint_id}, *keyp = &key;
    struct hview_ep **found =
        l->v->neps ? bsearch(&keyp, l->by_id, l->v->neps, sizeof *l->by_id, ep_ptr_cmp) : NULL;
    if (!found)
        return 0; /* an endpoint of another pool */
    struct hview_ep *e = *found;
    e->interval_ms = h->interval_ms;
    GROW(e->votes, e->nvotes);
    e->votes[e->nvotes++] = (struct hview_vote){
        .vantage = xstrdup(h->vantage),
        .reason = xstrdup(h->reason),
        .up = strcmp(h->state, "up") == 0,
        .since_ms = h->since_ms,
        .seen_ms = h->vantage_seen_ms,
        .checked_ms = h->checked_ms,
        .rtt_us = h->rtt_us,
    };
    return 0;
}

static int on_drill(void *arg, const struct store_drill *d)
{
    struct hview *v = arg;
    GROW(v->drills, v->ndrills);
    v->drills[v->ndrills++] = (struct hview_drill){
        .region_id = d->region_id,
        .endpoint_id = d->endpoint_id,
        .what = d->region_id ? xasprintf("region %s", d->region)
                             : xasprintf("%s/%s", d->pool, d->target),
        .reason = xstrdup(d->reason),
        .user = xstrdup(d->user),
        .started_ms = d->started_ms,
        .until_ms = d->until_ms,
    };
    return 0;
}

static int on_drain(void *arg, const struct store_drain *d)
{
    struct hview *v = arg;
    GROW(v->drains, v->ndrains);
    v->drains[v->ndrains++] = (struct hview_drain){
        .region_id = d->region_id,
        .region = xstrdup(d->region),
        .started_ms = d->started_ms,
        .until_ms = d->until_ms,
    };
    return 0;
}

int hview_load(struct store *st, int64_t pool_id, int64_t now_ms, struct hview *v)
{
    struct loading l = {v, NULL};
    int rc;
    *v = (struct hview){.now_ms = now_ms};
    if ((rc = store_endpoint_foreach(st, pool_id, on_endpoint, v)))
        goto out;
    l.by_id = xcalloc(v->neps + 1, sizeof *l.by_id);
    for (size_t i = 0; i < v->neps; i++)
        l.by_id[i] = &v->eps[i];
    if (v->neps) /* qsort(NULL, 0, ...) is undefined */
        qsort(l.by_id, v->neps, sizeof *l.by_id, ep_ptr_cmp);
    if ((rc = store_health_foreach(st, NULL, on_health, &l)) == 0 &&
        (rc = store_drill_foreach(st, on_drill, v)) == 0)
        rc = store_drain_foreach(st, on_drain, v);
out:
    free(l.by_id);
    if (rc)
        hview_fini(v);
    return rc;
}

void hview_fini(struct hview *v)
{
    for (size_t i = 0; i < v->neps; i++) {
        struct hview_ep *e = &v->eps[i];
        for (size_t j = 0; j < e->nvotes; j++) {
            free(e->votes[j].vantage);
            free(e->votes[j].reason);
        }
        free(e->votes);
        free(e->pool);
        free(e->target);
        free(e->region);
    }
    for (size_t i = 0; i < v->ndrills; i++) {
        free(v->drills[i].what);
        free(v->drills[i].reason);
        free(v->drills[i].user);
    }
    for (size_t i = 0; i < v->ndrains; i++)
        free(v->drains[i].region);
    free(v->eps);
    free(v->drills);
    free(v->drains);
    *v = (struct hview){0};
}

/* ---- gtm-dnsd's rules ------------------------------------------------------------ */

static struct health_vote vote_of(const struct hview_vote *vote)
{
    return (struct health_vote){vote->up, vote->since_ms, vote->seen_ms};
}

/* e's reports as gtm-dnsd's rules take them; the caller frees them. */
static struct health_vote *votes_of(const struct hview_ep *e)
{
    struct health_vote *votes = xcalloc(e->nvotes + 1, sizeof *votes);
    for (size_t i = 0; i < e->nvotes; i++)
        votes[i] = vote_of(&e->votes[i]);
    return votes;
}

enum pol_state hview_quorum(const struct hview *v, const struct hview_ep *e)
{
    struct health_vote *votes = votes_of(e);
    enum pol_state state = health_quorum(votes, e->nvotes, e->interval_ms, v->now_ms);
    free(votes);
    return state;
}

bool hview_vote_decides(const struct hview *v, const struct hview_ep *e,
                        const struct hview_vote *vote)
{
    struct health_vote *votes = votes_of(e), one = vote_of(vote);
    int64_t at = health_decided_at(votes, e->nvotes, e->interval_ms, v->now_ms);
    free(votes);
    return health_vote_fresh(&one, e->interval_ms, at);
}

bool hview_vote_is_fresh(const struct hview *v, const struct hview_ep *e,
                         const struct hview_vote *vote)
{
    struct health_vote one = vote_of(vote);
    return health_vote_fresh(&one, e->interval_ms, v->now_ms);
}

const struct hview_drill *hview_drill_of(const struct hview *v, const struct hview_ep *e)
{
    const struct hview_drill *region = NULL;
    for (size_t i = 0; i < v->ndrills; i++) {
        const struct hview_drill *d = &v->drills[i];
        if (!health_drill_active(d->started_ms, d->until_ms, v->now_ms))
            continue;
        if (d->endpoint_id == e->id)
            return d;
        if (d->region_id == e->region_id)
            region = d;
    }
    return region;
}

const struct hview_drain *hview_drain_of(const struct hview *v, int64_t region_id)
{
    for (size_t i = 0; i < v->ndrains; i++)
        if (v->drains[i].region_id == region_id)
            return &v->drains[i];
    return NULL;
}

const char *hview_state_text(const struct hview *v, const struct hview_ep *e)
{
    if (hview_drill_of(v, e))
        return "down (drill)";
    switch (hview_quorum(v, e)) {
    case POL_STATE_UP: return "up";
    case POL_STATE_DOWN: return "down";
    default: return "unknown";
    }
}

uint32_t hview_weight(const struct hview *v, const struct hview_ep *e)
{
    const struct hview_drain *d = hview_drain_of(v, e->region_id);
    uint32_t permille = d ? health_drain_permille(d->started_ms, d->until_ms, v->now_ms) : 1000;
    /* as dnsd/policy.c lowers it: rounded down */
    return (uint32_t)((uint64_t)e->weight * permille / 1000);
}
