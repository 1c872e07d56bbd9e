/* dnsd/pol_latency.c — mode "latency": regions in order of the latency measured from the client's
 * key (unmeasured ones after, by distance); the first one up answers; no measurement
 * for the client: as proximity.
 * The order is precompiled per network (geo/classify.c); per query one trie walk. */
#include "config.h"

#include "dnsd/policy.h"

static void select_latency(struct pol_run *r)
{
    pol__select_region(r, GEO_MODE_LATENCY);
}

const struct pol_mode_ops pol_latency_ops = {"latency", select_latency, true};
