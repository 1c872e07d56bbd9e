/* healthd/hysteresis.h — rise/fall hysteresis: from a run of probe results to the
 * up/down state a vantage point reports. One pure function (no clock, no I/O, no
 * allocation): the scheduler calls it on the loop thread after every probe, and
 * tests/unit/test_hysteresis.c drives it without sockets. */
#ifndef GTM_HEALTHD_HYSTERESIS_H
#define GTM_HEALTHD_HYSTERESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hyst_state {
    HYST_UNKNOWN, /* never concluded: no stored state and not enough probes yet */
    HYST_UP,
    HYST_DOWN,
};

/* What one check remembers between probes. Zero-initialised: unknown, no run. */
struct hyst {
    enum hyst_state state;
    uint32_t successes; /* consecutive successful probes up to the last one */
    uint32_t failures;  /* consecutive failed probes up to the last one */
};

/* Why a state changed: the run of probes that decided it. */
struct hyst_change {
    enum hyst_state old_state, new_state;
    uint32_t probes; /* length of the run: rise (to up) or fall (to down) */
};

/* Feeds one probe result (ok: the probe succeeded) into state h of a check with rise
 * and fall (a 0 counts as 1) and returns the next state. From unknown, rise
 * consecutive successes conclude up and fall consecutive failures conclude down; up
 * turns down after fall consecutive failures, down turns up after rise consecutive
 * successes; a result that breaks a run starts the opposite run at 1. When the state
 * changes, *change (may be NULL) gets old, new and the run; it is untouched otherwise.
 * The caller tells a change by comparing states (or by change->probes != 0 after
 * zeroing it). */
struct hyst hyst_step(struct hyst h, bool ok, uint32_t rise, uint32_t fall,
                      struct hyst_change *change);

/* "unknown", "up" or "down": the words of the log and of health_events rows. */
const char *hyst_state_name(enum hyst_state s);

/* Writes the cause of change c as the log says it: "after 3 failed probes (HTTP 503)",
 * "after 1 successful probe (connected)"; probe_reason is the last probe's (NULL or ""
 * leaves the parenthesis out). Truncates to len like snprintf; returns what snprintf
 * returns. */
int hyst_change_describe(const struct hyst_change *c, const char *probe_reason, char *buf,
                         size_t len);

#endif
