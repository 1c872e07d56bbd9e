/* tests/unit/test_dname.c — key text <-> wire names and the canonical order. */
#include "config.h"

#include "common/dname.h"
#include "common/err.h"
#include "unit.h"

static void key_of(const char *text, char *key)
{
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len = 0;
    assert_int_equal(dname_wire_from_key(text, wire, &len), 0);
    assert_int_equal(dname_key_from_wire(wire, len, key, DNAME_KEY_MAX), 0);
}

static void test_keys(void **state)
{
    (void)state;
    char key[DNAME_KEY_MAX];
    key_of("WWW.Example.COM.", key);
    assert_string_equal(key, "www.example.com.");
    key_of(".", key);
    assert_string_equal(key, ".");
    key_of("a\\.b.example.", key); /* a dot inside a label */
    assert_string_equal(key, "a\\046b.example.");
    key_of("*._tcp.x-y.", key);
    assert_string_equal(key, "*._tcp.x-y.");
    key_of("sp\\032ace.\\\\.", key);
    assert_string_equal(key, "sp\\032ace.\\092.");
    key_of("\\065\\066.", key); /* \DDD of upper-case letters is lower-cased */
    assert_string_equal(key, "ab.");
    /* A key reads back as itself. */
    key_of("a\\046b.example.", key);
    assert_string_equal(key, "a\\046b.example.");
}

static void test_wire_errors(void **state)
{
    (void)state;
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len;
    char label64[80], long_name[300];
    assert_int_equal(dname_wire_from_key("example.com", wire, &len), GTM_EPARSE);
    assert_int_equal(dname_wire_from_key("a..b.", wire, &len), GTM_EPARSE);
    assert_int_equal(dname_wire_from_key("\\256.", wire, &len), GTM_EPARSE);
    assert_int_equal(dname_wire_from_key("\\12.", wire, &len), GTM_EPARSE);
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".");
    assert_int_equal(dname_wire_from_key(label64, wire, &len), GTM_EPARSE);
    strcpy(label64 + 63, ".");
    assert_int_equal(dname_wire_from_key(label64, wire, &len), 0);
    assert_int_equal(len, 65);
    /* 4 x 63-byte labels = 256 bytes of wire: one too many */
    snprintf(long_name, sizeof long_name, "%.63s.%.63s.%.63s.%.63s.", label64, label64, label64,
             label64);
    assert_int_equal(dname_wire_from_key(long_name, wire, &len), GTM_EPARSE);
    /* a truncated wire name */
    const uint8_t bad[] = {3, 'a', 'b'};
    char key[DNAME_KEY_MAX];
    assert_int_equal(dname_key_from_wire(bad, sizeof bad, key, sizeof key), GTM_EPARSE);
}

/* RFC 4034 §6.1's example, which is in canonical order. */
static void test_canonical_order(void **state)
{
    (void)state;
    const char *names[] = {"example.",         "a.example.",      "yljkjljk.a.example.",
                           "Z.a.example.",     "zABC.a.EXAMPLE.", "z.example.",
                           "\\001.z.example.", "*.z.example.",    "\\200.z.example."};
    uint8_t w[9][DNAME_WIRE_MAX];
    size_t len;
    for (int i = 0; i < 9; i++)
        assert_int_equal(dname_wire_from_key(names[i], w[i], &len), 0);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(dname_canon_cmp(w[i], w[i]), 0);
        for (int j = i + 1; j < 9; j++) {
            assert_true(dname_canon_cmp(w[i], w[j]) < 0);
            assert_true(dname_canon_cmp(w[j], w[i]) > 0);
        }
    }
}

static void test_lower_and_len(void **state)
{
    (void)state;
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len;
    assert_int_equal(dname_wire_from_key("WwW.ExAmPlE.", wire, &len), 0);
    assert_int_equal(dname_wire_len(wire), len);
    dname_lower(wire);
    assert_memory_equal(wire, "\3www\7example\0", 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_wire_errors),
        cmocka_unit_test(test_canonical_order),
        cmocka_unit_test(test_lower_and_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
