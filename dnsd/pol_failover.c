/* dnsd/pol_failover.c — mode "failover": the lowest --priority tier with a healthy
 * endpoint answers, spread by weight within the tier. Per query: one pass over the
 * candidates. */
#include "config.h"

#include "dnsd/policy.h"

static void select_tier(struct pol_run *r)
{
    uint32_t best = UINT32_MAX, k = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (r->sc->cand[i]->priority < best)
            best = r->sc->cand[i]->priority;
    for (uint32_t i = 0; i < r->n; i++) {
        if (r->sc->cand[i]->priority == best) {
            r->sc->weight[k] = r->sc->weight[i];
            r->sc->cand[k++] = r->sc->cand[i];
        }
    }
    r->n = k;
    pol__trace(r, "  failover: priority %u is the first tier with a healthy endpoint (%u)", best,
               k);
}

const struct pol_mode_ops pol_failover_ops = {"failover", select_tier, true};
