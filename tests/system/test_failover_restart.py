"""Restarts end to end. gtm-healthd killed with SIGKILL and started again goes on from
the stored states: gtm-dnsd's answers do not change and no burst of flips appears in
`gtmctl events`. gtm-dnsd restarted answers from the stored states from its first
answer: an endpoint that is down stays out, and under a policy with `--unknown down`
an endpoint never probed is never answered (while `--unknown up`, the default,
answers it)."""
import re
import signal
import time

import dns.rcode

from backends import backends  # noqa: F401 (fixture)
from failover_util import (ALL, DEGRADED, EU1, EU2, UNK, US1, ans, fstore,  # noqa: F401
                           restart_dnsd, rr, stack)
from policy_util import expect, negative_soa, query


def test_healthd_killed_and_restarted(stack, healthd):
    s = stack()
    s.web[EU2].stop()
    s.wait_answer(ALL, ans(EU1, US1, ttl=DEGRADED), timeout=5)
    s.wait_states({EU2: "down"})
    since = dict(s.sql("SELECT endpoint_id, since FROM health"))
    events = s.g.run("events").stdout
    want = s.ask(ALL)

    s.hd.signal(signal.SIGKILL)
    s.hd.kill()
    s.steady(ALL, want, 0.5)  # nobody probes: the stored states still count
    hd2 = healthd(s.db)
    assert "(from the store: 2 up, 1 down, 0 unknown)" in hd2.log()
    # three probes of every check later, still the same answers and no new event
    web = s.web[EU1]
    target = web.requests + 3
    n = 0
    while web.requests < target:
        assert s.ask(ALL) == want, f"answers changed after {n} queries: {s.events()}"
        n += 1
        time.sleep(0.01)
    assert n > 50  # asked all along (every 10 ms, slower on a busy machine)
    assert s.g.run("events").stdout == events
    assert dict(s.sql("SELECT endpoint_id, since FROM health")) == since
    assert not re.search(r"unknown ->|up -> down|down -> up", hd2.log()), hd2.log()
    # and the hysteresis goes on from the stored states
    s.web[EU2].start()
    s.wait_answer(ALL, ans(EU1, EU2, US1, ttl=DEGRADED), timeout=3)
    assert s.events()[-1] == (f"web/{EU2}", "test", "down", "up", "HTTP 200")


def test_dnsd_restarted_starts_from_stored_states(stack, dnsd):
    s = stack()
    s.web[US1].stop()
    s.wait_answer(ALL, ans(EU1, EU2, ttl=DEGRADED), timeout=5)
    assert restart_dnsd(s, dnsd) < 5
    # the first answer already leaves the down endpoint out (no guess from "unknown")
    expect(s.client, query(ALL, edns=False), answer=[rr(ALL, EU1, DEGRADED),
                                                     rr(ALL, EU2, DEGRADED)])
    log = s.srv.log()
    assert f"endpoint web/{US1} (us): unknown -> down (1 report)" in log
    assert log.index(f"endpoint web/{US1} (us): unknown -> down") < log.index(" ready: ")
    # gtm-healthd stopped as well: its last reports still count (3 intervals)
    assert s.hd.stop() == 0
    assert restart_dnsd(s, dnsd) < 2.5
    expect(s.client, query(ALL, edns=False), answer=[rr(ALL, EU1, DEGRADED),
                                                     rr(ALL, EU2, DEGRADED)])


def test_unknown_down_never_answers_an_endpoint_never_probed(stack, healthd, dnsd):
    """EU2 has no check, so it stays unknown: UNK (--unknown down --fallback none)
    never answers it, ALL (--unknown up) does. Before any probe every endpoint is
    unknown: UNK has nothing healthy (NODATA), ALL answers all of them."""
    s = stack((EU1, US1), start_healthd=False)
    soa = negative_soa(s.g)
    expect(s.client, query(UNK, edns=False), authority=[soa])
    expect(s.client, query(ALL, edns=False), answer=[rr(ALL, a) for a in (EU1, EU2, US1)])
    s.hd = healthd(s.db)
    t0 = time.monotonic()
    took, now = s.first_change(UNK, ans(), t0, timeout=5)
    if now != ans(EU1, US1):  # the two first verdicts came in separately
        assert now in (ans(EU1), ans(US1)), now
        s.wait_answer(UNK, ans(EU1, US1), timeout=3)
    expect(s.client, query(UNK, edns=False), answer=[rr(UNK, EU1), rr(UNK, US1)])
    s.steady(UNK, ans(EU1, US1), 0.5)
    # restarted, gtm-dnsd answers the same from its first answer
    restart_dnsd(s, dnsd)
    expect(s.client, query(UNK, edns=False), answer=[rr(UNK, EU1), rr(UNK, US1)])
    expect(s.client, query(ALL, edns=False), answer=[rr(ALL, a) for a in (EU1, EU2, US1)])
    assert dns.rcode.NOERROR == s.ask(UNK)[0]


def test_dnsd_restarted_keeps_the_degraded_ttl_after_a_flip(stack, dnsd):
    """An endpoint that flipped less than 5 intervals ago is flapping and its pool's
    answers carry the degraded TTL; a gtm-dnsd restarted within that window must too (it
    reads the flip from the events), or two servers of one fleet would answer the same
    state with different TTLs."""
    s = stack()
    s.web[US1].stop()
    s.wait_answer(ALL, ans(EU1, EU2, ttl=DEGRADED), timeout=5)
    s.web[US1].start()
    s.wait_answer(ALL, ans(EU1, EU2, US1, ttl=DEGRADED), timeout=5)
    t_flip = time.monotonic()
    restart_dnsd(s, dnsd)
    assert time.monotonic() - t_flip < 3  # well inside the 5 s window
    expect(s.client, query(ALL, edns=False),
           answer=[rr(ALL, a, DEGRADED) for a in (EU1, EU2, US1)])
