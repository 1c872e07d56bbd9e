"""Real failures end to end: gtm-healthd probes real HTTP backends on loopback (check
set --type http --interval 1s --timeout 500ms --fall 2 --rise 2) and gtm-dnsd's answers
follow when a backend stops (connections refused), when it comes back, and when it
hangs (accepts, never answers: the probe times out). The issue's bound for each, from
the backend's change to the first changed answer, is 3 s; the answers are read every
10 ms."""
import time

from backends import TcpListener, backends  # noqa: F401 (fixture)
from failover_util import (ALL, DEGRADED, EU1, EU2, GEO, US1, ans, fstore, rr,  # noqa: F401
                           stack, status_rows)
from policy_util import expect, query

FAIL_S = 3.0  # interval 1 s, fall 2 (or rise 2): at most 2 s, plus gtm-dnsd's poll


def test_backend_stopped_and_restarted(stack):
    s = stack()
    assert s.ask(ALL) == ans(EU1, EU2, US1)

    s.web[US1].stop()
    t0 = time.monotonic()
    took, now = s.first_change(ALL, ans(EU1, EU2, US1), t0)
    assert took < FAIL_S, f"backend stopped -> changed answer: {took:.3f} s"
    # fall 2 at a 1 s interval: two failed probes, so never before the second one
    assert took > 1.0, f"answers moved after {took:.3f} s: before two failed probes?"
    assert now == ans(EU1, EU2, ttl=DEGRADED)
    expect(s.client, query(ALL, edns=False), answer=[rr(ALL, EU1, DEGRADED),
                                                     rr(ALL, EU2, DEGRADED)])
    assert s.events()[-1] == (f"web/{US1}", "test", "up", "down", "connection refused")
    row = status_rows(s.g, "web")[0][f"web/{US1}"]
    assert (row["state"], row["reason"]) == ("down", "connection refused")

    s.web[US1].start()
    t0 = time.monotonic()
    took, now = s.first_change(ALL, ans(EU1, EU2, ttl=DEGRADED), t0)
    assert took < FAIL_S, f"backend restarted -> answers back: {took:.3f} s"
    assert took > 1.0, f"answers back after {took:.3f} s: before two good probes?"
    # back, with the degraded TTL while it counts as flapping
    assert now == ans(EU1, EU2, US1, ttl=DEGRADED)
    assert s.events()[-1] == (f"web/{US1}", "test", "down", "up", "HTTP 200")


def test_region_fails_for_real(stack):
    """Both backends of eu stop: geo answers move to us, and back when they return."""
    s = stack()
    assert s.ask(GEO) == ans(EU1, EU2)
    s.web[EU1].stop()
    s.web[EU2].stop()
    t0 = time.monotonic()
    # one of the two down already takes eu's answers to the other (region still up)
    took, now = s.first_change(GEO, ans(EU1, EU2), t0)
    assert took < FAIL_S
    if now != ans(US1, ttl=DEGRADED):
        assert now in (ans(EU1, ttl=DEGRADED), ans(EU2, ttl=DEGRADED)), now
        took = s.wait_answer(GEO, ans(US1, ttl=DEGRADED), timeout=FAIL_S) + took
    assert took < FAIL_S, f"region's backends stopped -> answers from us: {took:.3f} s"
    for web in (s.web[EU1], s.web[EU2]):
        web.start()
    took = s.wait_answer(GEO, ans(EU1, EU2, ttl=DEGRADED), timeout=FAIL_S)
    assert took < FAIL_S


def test_backend_that_hangs(stack, backends):
    """The backend is replaced by one that accepts and never answers: its probes time
    out after 500 ms, and after two failures the endpoint is out of the answers (a probe
    in the moment between the two servers is refused instead: at least one timed out)."""
    s = stack()
    web = s.web[US1]
    web.stop()
    hang = backends(TcpListener, US1, port=web.port, hang=True)
    t0 = time.monotonic()
    took, now = s.first_change(ALL, ans(EU1, EU2, US1), t0)
    assert took < FAIL_S, f"backend hangs -> changed answer: {took:.3f} s"
    assert now == ans(EU1, EU2, ttl=DEGRADED)
    assert hang.accepted >= 1
    assert s.events()[-1] == (f"web/{US1}", "test", "up", "down", "timeout after 500 ms")
    assert "timeout after 500 ms" in s.hd.log()
