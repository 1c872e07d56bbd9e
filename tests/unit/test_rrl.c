/* tests/unit/test_rrl.c — response rate limiting: client networks by prefix (whole and
 * partial bytes, IPv4 and IPv6), the kinds of response, seconds, and the slip. */
#include "config.h"

#include "dnsd/rrl.h"
#include "unit.h"

/* One response of kind rcode from match to peer in second now_s. */
static enum rrl_verdict one(struct rrl *r, struct sockaddr_storage peer, uint8_t rcode,
                            const void *match, uint32_t now_s)
{
    return rrl_check(r, (const struct sockaddr *)&peer, rcode, match, now_s);
}

static void test_networks(void **state)
{
    (void)state;
    static const int name = 0;
    struct rrl *r = rrl_new(1, 0, 20, 56);
    /* 192.0.16.0/20 */
    assert_int_equal(one(r, unit_sockaddr("192.0.16.1"), 0, &name, 7), RRL_SEND);
    assert_int_equal(one(r, unit_sockaddr("192.0.31.200"), 0, &name, 7), RRL_DROP);
    assert_int_equal(one(r, unit_sockaddr("192.0.32.1"), 0, &name, 7), RRL_SEND);
    assert_int_equal(one(r, unit_sockaddr("192.0.15.255"), 0, &name, 7), RRL_SEND);
    /* 2001:db8:0:ff00::/56 */
    assert_int_equal(one(r, unit_sockaddr("2001:db8:0:ff00::1"), 0, &name, 7), RRL_SEND);
    assert_int_equal(one(r, unit_sockaddr("2001:db8:0:ffff:1::2"), 0, &name, 7), RRL_DROP);
    assert_int_equal(one(r, unit_sockaddr("2001:db8:0:fe00::1"), 0, &name, 7), RRL_SEND);
    /* the next second starts over */
    assert_int_equal(one(r, unit_sockaddr("192.0.31.200"), 0, &name, 8), RRL_SEND);
    rrl_free(r);
}

static void test_kinds(void **state)
{
    (void)state;
    static const int a = 0, b = 0;
    struct rrl *r = rrl_new(1, 0, 24, 56);
    struct sockaddr_storage p = unit_sockaddr("198.51.100.7");
    /* answers: one limit per name (a at its limit, b not) */
    assert_int_equal(one(r, p, 0, &a, 1), RRL_SEND);
    assert_int_equal(one(r, p, 0, &a, 1), RRL_DROP);
    assert_int_equal(one(r, p, 0, &b, 1), RRL_SEND);
    /* NXDOMAIN (3): one limit per zone (a and b stand for zones here), apart from the
     * answers; errors (REFUSED 5, FORMERR 1): one limit for the network */
    assert_int_equal(one(r, p, 3, &a, 1), RRL_SEND);
    assert_int_equal(one(r, p, 3, &a, 1), RRL_DROP);
    assert_int_equal(one(r, p, 3, &b, 1), RRL_SEND);
    assert_int_equal(one(r, p, 5, NULL, 1), RRL_SEND);
    assert_int_equal(one(r, p, 1, &a, 1), RRL_DROP);
    rrl_free(r);
}

static void test_slip(void **state)
{
    (void)state;
    static const int name = 0;
    static const enum rrl_verdict want[] = {RRL_SEND, RRL_SEND, RRL_DROP, RRL_DROP,
                                            RRL_SLIP, RRL_DROP, RRL_DROP, RRL_SLIP};
    struct rrl *r = rrl_new(2, 3, 24, 56);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(one(r, unit_sockaddr("203.0.113.9"), 0, &name, 3), want[i]);
    rrl_free(r);
    r = rrl_new(1, 1, 24, 56); /* slip 1: every limited response is truncated */
    assert_int_equal(one(r, unit_sockaddr("203.0.113.9"), 0, &name, 3), RRL_SEND);
    assert_int_equal(one(r, unit_sockaddr("203.0.113.9"), 0, &name, 3), RRL_SLIP);
    assert_int_equal(one(r, unit_sockaddr("203.0.113.9"), 0, &name, 3), RRL_SLIP);
    rrl_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_slip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
