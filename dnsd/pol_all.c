/* dnsd/pol_all.c — mode "all": up to --answers healthy endpoints, in pool order
 * (region, priority, target). Per query: nothing beyond the shared pipeline. */
#include "config.h"

#include "dnsd/policy.h"

static void select_in_order(struct pol_run *r)
{
    pol__trace(r, "  all: %u healthy endpoints", r->n);
}

const struct pol_mode_ops pol_all_ops = {"all", select_in_order, false};
