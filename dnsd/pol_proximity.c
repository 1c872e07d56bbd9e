/* dnsd/pol_proximity.c — mode "proximity": regions in order of great-circle distance from the
 * client's coordinates (GeoIP City data); the first one up answers. The order is precompiled per
 * network (geo/classify.c); per query one trie walk. */
#include "config.h"

#include "dnsd/policy.h"

static void select_proximity(struct pol_run *r)
{
    pol__select_region(r, GEO_MODE_PROXIMITY);
}

const struct pol_mode_ops pol_proximity_ops = {"proximity", select_proximity, true};
