/* admin/health_view.h — the health of endpoints as gtm-dnsd applies it, read from the
 * store for gtmctl status and for the events drills and drains write: every endpoint
 * with what each vantage point reports, the drills and the drains. The rules (quorum
 * of fresh reports, drill expiry, drain steps) are dnsd/health.c's own, so gtmctl
 * shows what the server does. gtmctl only; it allocates freely. */
#ifndef GTM_ADMIN_HEALTH_VIEW_H
#define GTM_ADMIN_HEALTH_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/store.h"
#include "dnsd/health.h"

/* One vantage point's report on an endpoint. */
struct hview_vote {
    char *vantage, *reason;
    bool up;
    int64_t since_ms;   /* when that vantage point saw the endpoint change */
    int64_t seen_ms;    /* when that vantage point last reported at all */
    int64_t checked_ms; /* its last probe of the endpoint, 0: never */
    int64_t rtt_us;     /* that probe's round trip, -1: none */
};

struct hview_ep {
    int64_t id, region_id;
    char *pool, *target, *region;
    uint32_t weight;
    bool enabled;
    uint32_t interval_ms;     /* of its check; 0: no check (the quorum assumes the default) */
    struct hview_vote *votes; /* by vantage point */
    size_t nvotes;
};

struct hview_drill {
    int64_t region_id, endpoint_id; /* one of them is 0 */
    char *what;                     /* "region eu-west" or "web/192.0.2.1" */
    char *reason, *user;
    int64_t started_ms, until_ms; /* until 0: until restored */
};

struct hview_drain {
    int64_t region_id;
    char *region;
    int64_t started_ms, until_ms;
};

/* Everything, as of now_ms. */
struct hview {
    int64_t now_ms;
    struct hview_ep *eps; /* by pool and target */
    size_t neps;
    struct hview_drill *drills; /* by start */
    size_t ndrills;
    struct hview_drain *drains; /* by region name */
    size_t ndrains;
};

/* Reads the endpoints of one pool (pool_id > 0) or all, their reports, every drill and
 * every drain into v, in the caller's transaction. Returns 0 or a store error; v is
 * then empty. Release with hview_fini(). */
int hview_load(struct store *st, int64_t pool_id, int64_t now_ms, struct hview *v);
void hview_fini(struct hview *v);

/* What the probes say: the quorum of e's fresh reports (health_quorum()). */
enum pol_state hview_quorum(const struct hview *v, const struct hview_ep *e);
/* Whether one report of e counts in the quorum now (health_decided_at()). */
bool hview_vote_decides(const struct hview *v, const struct hview_ep *e,
                        const struct hview_vote *vote);
/* Whether one report of e is fresh (its vantage point reported lately). */
bool hview_vote_is_fresh(const struct hview *v, const struct hview_ep *e,
                         const struct hview_vote *vote);
/* The drill that forces e down now (its own before its region's), or NULL. */
const struct hview_drill *hview_drill_of(const struct hview *v, const struct hview_ep *e);
/* The drain of a region, running or done, or NULL. */
const struct hview_drain *hview_drain_of(const struct hview *v, int64_t region_id);
/* The state answers use, as gtm-dnsd logs it: "up", "down", "unknown", "down (drill)". */
const char *hview_state_text(const struct hview *v, const struct hview_ep *e);
/* e's weight as answers use it now (lowered while its region drains). */
uint32_t hview_weight(const struct hview *v, const struct hview_ep *e);

#endif
