/* tests/unit/test_serial.c — RFC 1982 serial comparison and the next serial. */
#include "config.h"

#include "db/serial.h"
#include "unit.h"

/* 2026-11-24T12:00:00Z */
#define NOW ((time_t)1795521600)

static void test_lt(void **state)
{
    (void)state;
    assert_true(serial_lt(1, 2));
    assert_false(serial_lt(2, 1));
    assert_false(serial_lt(5, 5));
    /* RFC 1982 §3.2: wrapping around */
    assert_true(serial_lt(0xFFFFFFF0u, 5));
    assert_false(serial_lt(5, 0xFFFFFFF0u));
    assert_true(serial_lt(0, 0x7FFFFFFFu));
    /* exactly 2^31 apart: undefined, never "less" */
    assert_false(serial_lt(0, 0x80000000u));
    assert_false(serial_lt(0x80000000u, 0));
}

static void test_next_date(void **state)
{
    (void)state;
    assert_int_equal(serial_next(0, NOW), 2026112400u);
    assert_int_equal(serial_next(1, NOW), 2026112400u);
    assert_int_equal(serial_next(2024061501u, NOW), 2026112400u);
    /* already today: count up */
    assert_int_equal(serial_next(2026112400u, NOW), 2026112401u);
    assert_int_equal(serial_next(2026112417u, NOW), 2026112418u);
    /* past 99 changes a day the serial runs into tomorrow's number: still newer */
    assert_int_equal(serial_next(2026112499u, NOW), 2026112500u);
}

static void test_next_plus_one(void **state)
{
    (void)state;
    /* A serial "ahead" of today's date stays a counter. */
    assert_int_equal(serial_next(2030010100u, NOW), 2030010101u);
    assert_int_equal(serial_next(4000000000u, NOW), 4000000001u);
    /* and wraps as RFC 1982 allows */
    assert_int_equal(serial_next(0xFFFFFFFFu, NOW), 2026112400u);
    for (uint32_t s = 3900000000u; s < 3900000100u; s++)
        assert_true(serial_lt(s, serial_next(s, NOW)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lt),
        cmocka_unit_test(test_next_date),
        cmocka_unit_test(test_next_plus_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
