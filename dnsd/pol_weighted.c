/* dnsd/pol_weighted.c — mode "weighted": every healthy endpoint, spread by weight
 * (random, or with --sticky a weighted consistent hash of the client's subnet). The
 * answer does not depend on where the client is, so the ECS scope stays 0 (sticky: the
 * subnet). Per query: nothing beyond the shared pipeline. */
#include "config.h"

#include "dnsd/policy.h"

static void select_all_healthy(struct pol_run *r)
{
    pol__trace(r, "  weighted: %u candidates", r->n);
}

const struct pol_mode_ops pol_weighted_ops = {"weighted", select_all_healthy, true};
