/* dnsd/pol_geo.c — mode "geo": the client's place (CIDR override, subdivision, country,
 * continent, '*') gives an ordered list of regions; the first one up answers.
 * The order is precompiled per network (geo/classify.c); per query one trie walk. */
#include "config.h"

#include "dnsd/policy.h"

static void select_geo(struct pol_run *r)
{
    pol__select_region(r, GEO_MODE_GEO);
}

const struct pol_mode_ops pol_geo_ops = {"geo", select_geo, true};
