"""Failover drills end to end: `gtmctl drill fail` on a region or on one endpoint
(POOL/TARGET) moves gtm-dnsd's answers within a second while gtm-healthd keeps finding
every backend up; `drill restore` brings them back as fast; `--for` ends a drill by
itself; and a drill of the only region of a pool leaves the answers to the policy's
fallback (fail-open, a fallback pool, or none). Times are measured from gtmctl
returning to the first changed answer, querying every 10 ms."""
import time

from backends import backends  # noqa: F401 (fixture)
from failover_util import (ALL, DEGRADED, DR1, EU1, EU2, FB, GEO, LAB1, LAB2, NODATA, NONE,
                           OPEN, US1, ans, fstore, rr, stack, status_rows)  # noqa: F401
from policy_util import expect, negative_soa, query

MOVE_S = 1.0  # the bound: drill (or restore) to changed answers


def drill(s, *args):
    """Runs gtmctl drill ARGS; returns the time it returned (time.monotonic())."""
    s.g.run("drill", *args)
    return time.monotonic()


def test_drill_region_and_restore(stack):
    s = stack()
    assert s.ask(GEO) == ans(EU1, EU2)
    assert s.ask(ALL) == ans(EU1, EU2, US1)
    before = len(s.events())

    t0 = drill(s, "fail", "eu", "--reason", "game day")
    took, now = s.first_change(GEO, ans(EU1, EU2), t0)
    assert took < MOVE_S, f"drill -> changed answer: {took:.3f} s"
    # eu's endpoints are out, us answers; with endpoints down the TTL is the degraded one
    assert now == ans(US1, ttl=DEGRADED)
    expect(s.client, query(GEO, edns=False), answer=[rr(GEO, US1, DEGRADED)])
    expect(s.client, query(ALL, edns=False), answer=[rr(ALL, US1, DEGRADED)])
    # the probes still find eu's backends up: the drill overrides them
    assert s.states() == {(EU1, "test"): "up", (EU2, "test"): "up", (US1, "test"): "up"}
    rows, _ = status_rows(s.g, "web")
    assert {t: (r["state"], r["reason"], r["drill"]) for t, r in rows.items()} == {
        f"web/{EU1}": ("down (drill)", "game day", "drill"),
        f"web/{EU2}": ("down (drill)", "game day", "drill"),
        f"web/{US1}": ("up", "-", "-")}
    assert s.events()[before:] == [(f"web/{EU1}", "drill", "up", "down (drill)", "game day"),
                                   (f"web/{EU2}", "drill", "up", "down (drill)", "game day")]

    t0 = drill(s, "restore", "eu")
    took, now = s.first_change(GEO, ans(US1, ttl=DEGRADED), t0)
    assert took < MOVE_S, f"restore -> changed answer: {took:.3f} s"
    # eu answers again; just after a flip the TTL stays degraded (flapping)
    assert now == ans(EU1, EU2, ttl=DEGRADED)
    expect(s.client, query(ALL, edns=False),
           answer=[rr(ALL, a, DEGRADED) for a in (EU1, EU2, US1)])
    assert s.events()[-2:] == [(f"web/{EU1}", "drill", "down (drill)", "up", "drill restored"),
                               (f"web/{EU2}", "drill", "down (drill)", "up", "drill restored")]


def test_drill_endpoint_and_restore(stack):
    s = stack()
    t0 = drill(s, "fail", f"web/{EU1}")
    took, now = s.first_change(ALL, ans(EU1, EU2, US1), t0)
    assert took < MOVE_S, f"drill -> changed answer: {took:.3f} s"
    assert now == ans(EU2, US1, ttl=DEGRADED)
    # eu keeps one healthy endpoint of two: still up (--region-up 50), answers with it
    expect(s.client, query(GEO, edns=False), answer=[rr(GEO, EU2, DEGRADED)])
    assert status_rows(s.g, "web")[0][f"web/{EU1}"]["state"] == "down (drill)"

    t0 = drill(s, "restore", f"web/{EU1}")
    took, now = s.first_change(ALL, ans(EU2, US1, ttl=DEGRADED), t0)
    assert took < MOVE_S, f"restore -> changed answer: {took:.3f} s"
    assert now == ans(EU1, EU2, US1, ttl=DEGRADED)
    assert s.events()[-1] == (f"web/{EU1}", "drill", "down (drill)", "up", "drill restored")


def test_explain_sees_a_drill_at_once(stack):
    """gtmctl explain applies drills as gtm-dnsd does, from the moment the drill
    command returns (it read the clock in whole seconds, so a drill started within the
    current second had not begun for it yet)."""
    s = stack()
    t0 = drill(s, "fail", "eu")
    out = s.g.run("explain", GEO, "A", "--client", "127.0.0.1").stdout
    assert f"drop {EU1} (eu): down (drill)" in out, out
    assert f"drop {EU2} (eu): down (drill)" in out, out
    assert f"answer (TTL {DEGRADED}):\n  {GEO} {DEGRADED} IN A {US1}" in out, out
    assert s.first_change(GEO, ans(EU1, EU2), t0)[1] == ans(US1, ttl=DEGRADED)


def test_drill_for_ends_by_itself(stack):
    s = stack()
    t0 = drill(s, "fail", "eu", "--for", "2s")
    took, now = s.first_change(GEO, ans(EU1, EU2), t0)
    assert took < MOVE_S
    assert now == ans(US1, ttl=DEGRADED)
    # nobody restores it: eu answers again when the 2 s are over, not before
    took, now = s.first_change(GEO, now, t0)
    assert 1.8 <= took < 2.0 + MOVE_S, f"drill for 2 s: answers back after {took:.3f} s"
    assert now == ans(EU1, EU2, ttl=DEGRADED)
    # until gtm-healthd ends it (its next store pass) drill list shows it expired; then
    # it is gone from the list and the events say why each endpoint came back
    deadline = time.monotonic() + 3
    while True:
        rows = [l.split()[:3] for l in s.g.run("drill", "list").stdout.splitlines()[1:]]
        if not rows:
            break
        assert rows == [["region", "eu", "expired"]]
        assert time.monotonic() < deadline, "gtm-healthd did not end the expired drill"
        time.sleep(0.05)
    ended = [e for e in s.events() if e[1] == "drill" and e[2] == "down (drill)"]
    assert sorted(ended) == [(f"web/{EU1}", "drill", "down (drill)", "up", "drill expired"),
                             (f"web/{EU2}", "drill", "down (drill)", "up", "drill expired")]
    assert status_rows(s.g, "web")[0][f"web/{EU1}"]["state"] == "up"


def test_drill_of_the_only_region(stack):
    """Pool solo has endpoints in region lab only: drilling lab leaves nothing healthy,
    and each policy's fallback decides (OPEN: fail-open, FB: pool backup, NONE: none).
    The fallback pool drilled as well: fail-open there."""
    s = stack((LAB1, LAB2, DR1))
    solo = ans(LAB1, LAB2)
    for name in (OPEN, FB, NONE):
        assert s.ask(name) == solo
    soa = negative_soa(s.g)

    t0 = drill(s, "fail", "lab", "--reason", "only region")
    took, now = s.first_change(NONE, solo, t0)
    assert took < MOVE_S, f"drill -> changed answer: {took:.3f} s"
    assert now == NODATA
    expect(s.client, query(NONE, edns=False), authority=[soa])
    # fail-open: as if every endpoint were up, with the degraded TTL
    expect(s.client, query(OPEN, edns=False), answer=[rr(OPEN, LAB1, DEGRADED),
                                                     rr(OPEN, LAB2, DEGRADED)])
    expect(s.client, query(FB, edns=False), answer=[rr(FB, DR1, DEGRADED)])

    mark = len(s.srv.log())
    drill(s, "fail", "dr")
    s.srv.daemon.wait_log(r"endpoint backup/127\.0\.9\.1 \(dr\): up -> down \(drill\)",
                          start=mark, timeout=MOVE_S)
    # nothing healthy in the fallback pool either: fail-open there
    expect(s.client, query(FB, edns=False), answer=[rr(FB, DR1, DEGRADED)])

    t0 = drill(s, "restore", "--all")
    took, now = s.first_change(NONE, NODATA, t0)
    assert took < MOVE_S
    assert now == ans(LAB1, LAB2, ttl=DEGRADED)
    for name in (OPEN, FB):
        expect(s.client, query(name, edns=False), answer=[rr(name, LAB1, DEGRADED),
                                                         rr(name, LAB2, DEGRADED)])


def test_drill_expiry_is_an_event(stack):
    """`drill restore` writes an event per endpoint; a drill that ends by itself (--for)
    must too (gtm-healthd records it within its next heartbeat, a second), or `gtmctl
    events` would show eu going down and never coming back."""
    s = stack()
    drill(s, "fail", "eu", "--for", "1s", "--reason", "short")
    s.wait_answer(GEO, ans(US1, ttl=DEGRADED), timeout=MOVE_S)
    s.wait_answer(GEO, ans(EU1, EU2, ttl=DEGRADED), timeout=2 + MOVE_S)
    assert status_rows(s.g, "web")[0][f"web/{EU1}"]["state"] == "up"
    deadline = time.monotonic() + 3
    while True:
        ends = [e for e in s.events() if e[2] == "down (drill)"]
        if len(ends) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(e[0] for e in ends) == [f"web/{EU1}", f"web/{EU2}"], \
        f"no event for the end of the drill:\n{s.g.run('events').stdout}"
