/* tests/unit/test_cookie.c — DNS server cookies: RFC 9018's Appendix A examples, and
 * which received cookies are good, reused or renewed. */
#include "config.h"

#include "dnsd/cookie.h"

#include "unit.h"

static void from_hex(const char *hex, uint8_t *out, size_t *len)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    *len = n;
}

/* The reply to the COOKIE data query_hex from ip at now, with secret_hex: compared with
 * want_hex, or when that is NULL checked to be a new server cookie of now that is good
 * when it comes back. Returns whether the received server cookie was good. */
static bool reply(const char *secret_hex, const char *query_hex, const char *ip, uint32_t now,
                  const char *want_hex)
{
    uint8_t secret[COOKIE_SECRET_LEN], in[40], out[COOKIE_REPLY_LEN], want[COOKIE_REPLY_LEN],
        again[COOKIE_REPLY_LEN];
    size_t secret_len, in_len, want_len;
    struct cookie_mac *m = NULL;
    char msg[128];
    from_hex(secret_hex, secret, &secret_len);
    from_hex(query_hex, in, &in_len);
    assert_int_equal(secret_len, COOKIE_SECRET_LEN);
    assert_true(cookie_len_ok(in_len));
    assert_int_equal(cookie_mac_new(secret, &m, msg, sizeof msg), 0);
    struct sockaddr_storage peer = unit_sockaddr(ip);
    const struct sockaddr *sa = (const struct sockaddr *)&peer;
    bool good = cookie_reply(m, in, in_len, sa, now, out);
    if (want_hex) {
        from_hex(want_hex, want, &want_len);
        assert_int_equal(want_len, COOKIE_REPLY_LEN);
        assert_memory_equal(out, want, COOKIE_REPLY_LEN);
    } else {
        const uint8_t fresh[8] = {
            1,           0, 0, 0, (uint8_t)(now >> 24), (uint8_t)(now >> 16), (uint8_t)(now >> 8),
            (uint8_t)now};
        assert_memory_equal(out, in, COOKIE_CLIENT_LEN);
        assert_memory_equal(out + COOKIE_CLIENT_LEN, fresh, sizeof fresh);
        assert_true(cookie_reply(m, out, COOKIE_REPLY_LEN, sa, now, again));
        assert_memory_equal(again, out, COOKIE_REPLY_LEN);
    }
    cookie_mac_free(m);
    return good;
}

#define SECRET_1 "e5e973e5a6b2a43f48e7dc849e37bfcf"
#define A1_REPLY "2464c4abcf10c957010000005cf79f111f8130c3eee29480"

/* RFC 9018 Appendix A: the server cookies other implementations make and take. */
static void test_rfc9018_examples(void **state)
{
    (void)state;
    /* A.1: a client cookie alone gets a new server cookie */
    assert_false(reply(SECRET_1, "2464c4abcf10c957", "198.51.100.100", 1559731985, A1_REPLY));
    /* A.2: that cookie back 40 minutes later: good, and renewed (past half an hour) */
    assert_true(reply(SECRET_1, A1_REPLY, "198.51.100.100", 1559734385,
                      "2464c4abcf10c957010000005cf7a871d4a564a1442aca77"));
    /* A.3: a cookie another server made, too old: a new one */
    assert_false(reply(SECRET_1, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
                       "203.0.113.203", 1559734700,
                       "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e"));
    /* A.4: an IPv6 client whose cookie was made with the secret before a change */
    assert_false(reply("445536bcd2513298075a5d379663c962",
                       "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
                       "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
                       "22681ab97d52c298010000005cf7c609a6bb79d16625507a"));
    /* the same, with the secret it was made with: good and young, so kept */
    assert_true(reply("dd3bdf9344b678b185a6f5cb60fca715",
                      "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
                      "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
                      "22681ab97d52c298010000005cf7c57926556bd0934c72f8"));
}

/* Which received server cookies are good: the hash covers the client cookie, the
 * reserved bytes as sent, the time and the address; the age window is an hour back and
 * five minutes ahead. */
static void test_good_and_bad(void **state)
{
    (void)state;
    const uint32_t t = 1559731985;
    /* A.3's cookie with reserved bytes set, young: good, and sent back as it came */
    const char *a3 = "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5";
    assert_true(reply(SECRET_1, a3, "203.0.113.203", 0x5cf78f71 + 10, a3));
    /* from another address: not ours */
    assert_false(reply(SECRET_1, a3, "203.0.113.204", 0x5cf78f71 + 10, NULL));
    /* young, within the five minutes ahead, then past them */
    assert_true(reply(SECRET_1, A1_REPLY, "198.51.100.100", t - 300, A1_REPLY));
    assert_false(reply(SECRET_1, A1_REPLY, "198.51.100.100", t - 301, NULL));
    /* an hour old is still good (renewed), an hour and a second is not */
    assert_true(reply(SECRET_1, A1_REPLY, "198.51.100.100", t + 3600, NULL));
    assert_false(reply(SECRET_1, A1_REPLY, "198.51.100.100", t + 3601, NULL));
    /* another client cookie with that server cookie; a changed hash; an 8-byte server
     * cookie (some other server's): all new */
    assert_false(reply(SECRET_1, "2464c4abcf10c958010000005cf79f111f8130c3eee29480",
                       "198.51.100.100", t, NULL));
    assert_false(reply(SECRET_1, "2464c4abcf10c957010000005cf79f111f8130c3eee29481",
                       "198.51.100.100", t, A1_REPLY));
    assert_false(
        reply(SECRET_1, "2464c4abcf10c9570102030405060708", "198.51.100.100", t, A1_REPLY));
    /* an IPv4 client on an IPv6 socket is hashed as IPv4 */
    assert_false(reply(SECRET_1, "2464c4abcf10c957", "::ffff:198.51.100.100", t, A1_REPLY));
}

static void test_lengths(void **state)
{
    (void)state;
    for (size_t len = 0; len <= 48; len++)
        assert_int_equal(cookie_len_ok(len), len == 8 || (len >= 16 && len <= 40));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9018_examples),
        cmocka_unit_test(test_good_and_bad),
        cmocka_unit_test(test_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
