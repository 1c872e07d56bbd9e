"""Health-aware TTL end to end: while an endpoint of a managed name's pool is down, and
for 5 check intervals after a flip (flapping), gtm-dnsd answers with the degraded TTL:
half the policy's TTL by default (30 -> 15), never below 5 s (8 -> 5), or the policy's
--ttl-degraded (7); then the full TTL again. A first verdict (unknown -> up) is no
flip."""
import time

from backends import backends  # noqa: F401 (fixture)
from failover_util import (ALL, EU1, EU2, SHORT, TTLD, US1, ans, fstore, rr,  # noqa: F401
                           stack)
from policy_util import expect, query

FLAP_S = 5.0  # 5 intervals of 1 s


def ttls(s):
    """The TTL of ALL, SHORT and TTLD's answers (each answer has one)."""
    out = []
    for name in (ALL, SHORT, TTLD):
        t = s.ask(name).ttls
        assert len(t) == 1, (name, t)
        out.append(t[0])
    return out


def test_degraded_ttl_while_down_and_flapping(stack):
    s = stack()
    # every endpoint up from its first verdict: full TTLs
    assert ttls(s) == [30, 8, 30]
    expect(s.client, query(SHORT, edns=False), answer=[rr(SHORT, a, 8) for a in (EU1, EU2, US1)])

    s.web[US1].stop()
    s.wait_answer(ALL, ans(EU1, EU2, ttl=15), timeout=4)
    assert ttls(s) == [15, 5, 7]
    for name, ttl in ((ALL, 15), (SHORT, 5), (TTLD, 7)):
        expect(s.client, query(name, edns=False), answer=[rr(name, EU1, ttl), rr(name, EU2, ttl)])
    # down for a while (longer than the flap window): still degraded while it is down
    time.sleep(FLAP_S + 0.5)
    assert ttls(s) == [15, 5, 7]

    s.web[US1].start()
    s.wait_answer(ALL, ans(EU1, EU2, US1, ttl=15), timeout=4)
    t_back = time.monotonic()
    # back up, but it flipped just now: degraded until 5 intervals have passed
    for name, ttl in ((ALL, 15), (SHORT, 5), (TTLD, 7)):
        expect(s.client, query(name, edns=False),
               answer=[rr(name, a, ttl) for a in (EU1, EU2, US1)])
    took, now = s.first_change(ALL, ans(EU1, EU2, US1, ttl=15), t_back, timeout=FLAP_S + 2)
    assert now == ans(EU1, EU2, US1, ttl=30)
    assert FLAP_S - 0.3 <= took < FLAP_S + 0.7, f"full TTL again after {took:.3f} s"
    assert ttls(s) == [30, 8, 30]
    for name, ttl in ((ALL, 30), (SHORT, 8), (TTLD, 30)):
        expect(s.client, query(name, edns=False),
               answer=[rr(name, a, ttl) for a in (EU1, EU2, US1)])
