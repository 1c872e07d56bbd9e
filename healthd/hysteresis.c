/* healthd/hysteresis.c — rise/fall hysteresis (see hysteresis.h). Pure: any thread,
 * no allocation, no clock; the scheduler calls it once per probe verdict. */
#include "config.h"

#include <stdio.h>

#include "healthd/hysteresis.h"

/* Adds one to a run without wrapping: a check probed every second for 136 years would
 * otherwise restart its run at 0. */
static uint32_t run_add(uint32_t n)
{
    return n == UINT32_MAX ? n : n + 1;
}

struct hyst hyst_step(struct hyst h, bool ok, uint32_t rise, uint32_t fall,
                      struct hyst_change *change)
{
    struct hyst next = h;
    if (rise == 0)
        rise = 1;
    if (fall == 0)
        fall = 1;
    if (ok) {
        next.successes = run_add(h.successes);
        next.failures = 0;
        if (h.state != HYST_UP && next.successes >= rise)
            next.state = HYST_UP;
    } else {
        next.failures = run_add(h.failures);
        next.successes = 0;
        if (h.state != HYST_DOWN && next.failures >= fall)
            next.state = HYST_DOWN;
    }
    if (next.state != h.state && change)
        *change = (struct hyst_change){h.state, next.state, ok ? next.successes : next.failures};
    return next;
}

const char *hyst_state_name(enum hyst_state s)
{
    switch (s) {
    case HYST_UP: return "up";
    case HYST_DOWN: return "down";
    case HYST_UNKNOWN: break;
    }
    return "unknown";
}

int hyst_change_describe(const struct hyst_change *c, const char *probe_reason, char *buf,
                         size_t len)
{
    bool to_up = c->new_state == HYST_UP;
    bool has_reason = probe_reason && *probe_reason;
    return snprintf(buf, len, "after %u %s probe%s%s%s%s", c->probes,
                    to_up ? "successful" : "failed", c->probes == 1 ? "" : "s",
                    has_reason ? " (" : "", has_reason ? probe_reason : "", has_reason ? ")" : "");
}
