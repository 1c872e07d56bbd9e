/* tests/unit/test_hysteresis.c — rise/fall hysteresis (healthd/hysteresis.c): every
 * transition from a run of probe results, fed by hand, without sockets or clocks. */
#include "config.h"

#include "healthd/hysteresis.h"
#include "unit.h"

/* Feeds the results of pattern ('+' success, '-' failure) into h and returns the state
 * after each probe as a string of 'U' (up), 'D' (down) and '?' (unknown), so a test
 * reads as a timeline. Counts the changes in *changes. */
static const char *timeline(struct hyst *h, const char *pattern, uint32_t rise, uint32_t fall,
                            int *changes)
{
    static char out[256];
    size_t i = 0;
    *changes = 0;
    for (; pattern[i] && i < sizeof out - 1; i++) {
        struct hyst_change ch = {0};
        enum hyst_state before = h->state;
        *h = hyst_step(*h, pattern[i] == '+', rise, fall, &ch);
        if (h->state != before) {
            (*changes)++;
            assert_int_equal(ch.old_state, before);
            assert_int_equal(ch.new_state, h->state);
            assert_int_equal(ch.probes,
                             h->state == HYST_UP ? (rise ? rise : 1) : (fall ? fall : 1));
        } else {
            assert_int_equal(ch.probes, 0); /* untouched when nothing changed */
        }
        out[i] = h->state == HYST_UP ? 'U' : h->state == HYST_DOWN ? 'D' : '?';
    }
    out[i] = '\0';
    return out;
}

static void test_unknown_to_up_after_rise(void **state)
{
    (void)state;
    struct hyst h = {0};
    int n;
    assert_string_equal(timeline(&h, "+++", 2, 3, &n), "?UU");
    assert_int_equal(n, 1);
    /* a failure in between restarts the run */
    h = (struct hyst){0};
    assert_string_equal(timeline(&h, "+-+-++", 2, 3, &n), "?????U");
    assert_int_equal(n, 1);
}

static void test_unknown_to_down_after_fall(void **state)
{
    (void)state;
    struct hyst h = {0};
    int n;
    assert_string_equal(timeline(&h, "----", 2, 3, &n), "??DD");
    assert_int_equal(n, 1);
    h = (struct hyst){0};
    assert_string_equal(timeline(&h, "--+---", 2, 3, &n), "?????D");
}

static void test_up_needs_fall_failures(void **state)
{
    (void)state;
    struct hyst h = {.state = HYST_UP};
    int n;
    /* fall 3: one or two failures do not flip it; a success resets the run */
    assert_string_equal(timeline(&h, "-+--+-+", 2, 3, &n), "UUUUUUU");
    assert_int_equal(n, 0);
    assert_string_equal(timeline(&h, "---", 2, 3, &n), "UUD");
    assert_int_equal(n, 1);
    /* more failures change nothing */
    assert_string_equal(timeline(&h, "----", 2, 3, &n), "DDDD");
    assert_int_equal(n, 0);
}

static void test_down_needs_rise_successes(void **state)
{
    (void)state;
    struct hyst h = {.state = HYST_DOWN};
    int n;
    assert_string_equal(timeline(&h, "+-+-+", 2, 3, &n), "DDDDD");
    assert_int_equal(n, 0);
    assert_string_equal(timeline(&h, "+", 2, 3, &n), "U");
    assert_int_equal(n, 1);
}

static void test_flapping(void **state)
{
    (void)state;
    struct hyst h = {.state = HYST_UP};
    int n;
    /* rise 1, fall 1: every change of result is a change of state */
    assert_string_equal(timeline(&h, "-+-+", 1, 1, &n), "DUDU");
    assert_int_equal(n, 4);
    /* rise and fall 0 behave as 1 */
    h = (struct hyst){0};
    assert_string_equal(timeline(&h, "+-", 0, 0, &n), "UD");
    assert_int_equal(n, 2);
}

static void test_restart_keeps_state(void **state)
{
    (void)state;
    /* a restarted healthd starts from the stored state with no run: one failure (fall
     * 3) keeps it up, and a success keeps a stored up without a change */
    struct hyst h = {.state = HYST_UP};
    int n;
    assert_string_equal(timeline(&h, "+-+", 2, 3, &n), "UUU");
    assert_int_equal(n, 0);
    h = (struct hyst){.state = HYST_DOWN};
    assert_string_equal(timeline(&h, "-+-", 2, 3, &n), "DDD");
    assert_int_equal(n, 0);
}

static void test_runs_saturate(void **state)
{
    (void)state;
    struct hyst h = {.state = HYST_DOWN, .failures = UINT32_MAX};
    h = hyst_step(h, false, 2, 3, NULL);
    assert_int_equal(h.failures, UINT32_MAX);
    assert_int_equal(h.state, HYST_DOWN);
    h = (struct hyst){.state = HYST_UP, .successes = UINT32_MAX - 1};
    h = hyst_step(h, true, 2, 3, NULL);
    h = hyst_step(h, true, 2, 3, NULL);
    assert_int_equal(h.successes, UINT32_MAX);
    /* NULL change is allowed on a transition too */
    h = hyst_step(h, false, 2, 1, NULL);
    assert_int_equal(h.state, HYST_DOWN);
}

static void test_describe(void **state)
{
    (void)state;
    char buf[128];
    struct hyst_change down = {HYST_UP, HYST_DOWN, 3};
    hyst_change_describe(&down, "HTTP 503", buf, sizeof buf);
    assert_string_equal(buf, "after 3 failed probes (HTTP 503)");
    struct hyst_change up = {HYST_UNKNOWN, HYST_UP, 1};
    hyst_change_describe(&up, "connected", buf, sizeof buf);
    assert_string_equal(buf, "after 1 successful probe (connected)");
    hyst_change_describe(&up, NULL, buf, sizeof buf);
    assert_string_equal(buf, "after 1 successful probe");
    assert_string_equal(hyst_state_name(HYST_UNKNOWN), "unknown");
    assert_string_equal(hyst_state_name(HYST_UP), "up");
    assert_string_equal(hyst_state_name(HYST_DOWN), "down");
    /* truncation is snprintf's */
    assert_int_equal(hyst_change_describe(&down, "HTTP 503", buf, 6), 32);
    assert_string_equal(buf, "after");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_to_up_after_rise),
        cmocka_unit_test(test_unknown_to_down_after_fall),
        cmocka_unit_test(test_up_needs_fall_failures),
        cmocka_unit_test(test_down_needs_rise_successes),
        cmocka_unit_test(test_flapping),
        cmocka_unit_test(test_restart_keeps_state),
        cmocka_unit_test(test_runs_saturate),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
