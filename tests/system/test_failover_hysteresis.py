"""Hysteresis as answers show it: with --fall 3, one failed probe (a backend that
answers 503 once), or two in a row, leave gtm-dnsd's answers exactly as they were;
three in a row take the endpoint out, never before the third probe; with --rise 2 one
good probe does not bring it back."""
import time

from backends import backends  # noqa: F401 (fixture)
from failover_util import ALL, DEGRADED, EU1, EU2, US1, ans, fstore, stack  # noqa: F401

FALL3 = ("--fall", "3")


def probes(s, n, timeout=10):
    """Waits until gtm-healthd has probed US1's backend n more times."""
    web = s.web[US1]
    target = web.requests + n
    deadline = time.monotonic() + timeout
    while web.requests < target:
        assert time.monotonic() < deadline, f"{web.requests} of {target} probes"
        time.sleep(0.01)


def test_one_failed_probe_does_not_move_answers(stack):
    s = stack(check_opts=FALL3)
    web = s.web[US1]
    full = ans(EU1, EU2, US1)
    assert s.ask(ALL) == full
    events = s.events()

    for failures in (1, 2):
        base = web.requests
        web.set(fail_next=failures)
        probes(s, failures)  # the failing ones
        # watch the answers until a good probe has followed (and a poll of gtm-dnsd)
        deadline = time.monotonic() + 1.5
        n = 0
        while time.monotonic() < deadline or web.requests < base + failures + 1:
            assert s.ask(ALL) == full, f"answers moved after {failures} failed probe(s)"
            n += 1
            time.sleep(0.01)
        assert n > 50  # asked all along (every 10 ms, slower on a busy machine)
        assert f"probe failed (HTTP 503, expected 200-399), {failures} of 3 before down" \
            in s.hd.log()
    assert s.events() == events  # no flip at all
    assert s.states()[(US1, "test")] == "up"

    # three in a row: out, but only after the third probe
    web.set(status=503)
    t0 = time.monotonic()
    took, now = s.first_change(ALL, full, t0)
    assert now == ans(EU1, EU2, ttl=DEGRADED)
    assert 2.0 <= took < 4.0, f"fall 3 at 1 s: out after {took:.3f} s"
    assert s.events()[-1] == (f"web/{US1}", "test", "up", "down", "HTTP 503, expected 200-399")

    # rise 2: one good probe (then failing again) does not bring it back
    web.set(status=200, fail_next=0)
    probes(s, 1)
    web.set(status=503)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert s.ask(ALL) == ans(EU1, EU2, ttl=DEGRADED)
        time.sleep(0.01)
    assert s.events()[-1][2:4] == ("up", "down")
