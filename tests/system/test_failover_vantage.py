"""Several vantage points end to end. Vantage "test" runs beside the backends and finds
eu's and us's endpoints up. Vantages "far" and "far2" run in a network namespace of
their own, where only eu's endpoint has a backend (a second HTTP server on the same
address and port inside the namespace): they find eu up and us down (connection
refused), as a prober in another network would. A check has no per-vantage probe
address, so the namespace is what makes them disagree.

gtm-dnsd takes an endpoint down when a majority of the vantage points that reported
within the last 3 intervals say so: 1 of 2 is no majority, 2 of 3 is. A vantage point
killed with SIGKILL stops reporting and ages out after 3 intervals (3 s), after which
the others decide alone."""
import signal
import time

import pytest

from backends import backends  # noqa: F401 (fixture)
from failover_util import (ALL, DEGRADED, EU1, EU2, US1, NetnsHttpBackend, ans, fstore,  # noqa
                           healthd_in_netns, netns_available, stack, status_rows)

pytestmark = pytest.mark.skipif(not netns_available(),
                                reason="needs network namespaces (unshare -n, nsenter: root)")

AGE_OUT_S = 3.0  # 3 intervals of 1 s


def vantage_lines(s, target):
    """gtmctl status: {vantage: its line's state column} under POOL/TARGET."""
    lines = s.g.run("status", "web").stdout.splitlines()
    i = [n for n, l in enumerate(lines) if l.startswith(f"web/{target} ")][0] + 1
    out = {}
    while i < len(lines) and lines[i].startswith("  "):
        f = lines[i].split()
        out[f[0]] = " ".join(f[1:3]) if f[2] == "(stale)" else f[1]
        i += 1
    return out


def test_quorum_of_vantage_points(stack, daemons, backends):
    s = stack((EU1, US1))
    s.g.run("endpoint", "set", "web", EU2, "--enabled", "no")  # never answered
    both = ans(EU1, US1)
    s.wait_answer(ALL, both, timeout=2)
    nsweb = backends(NetnsHttpBackend, EU1, s.web[EU1].port)
    far = healthd_in_netns(daemons, s.db, "far", netns_of=nsweb.pid)
    s.wait_states({EU1: "up", US1: "down"}, vantage="far")
    assert (f"web/{US1}", "far", "unknown", "down", "connection refused") in s.events()
    # us: "test" says up, "far" down: 1 of 2 is no majority, the answers stay
    s.steady(ALL, both, 1.0)
    assert status_rows(s.g, "web")[0][f"web/{US1}"]["state"] == "up"
    assert vantage_lines(s, US1) == {"far": "down", "test": "up"}

    # a third vantage point in far's network: 2 of 3 say down
    far2 = healthd_in_netns(daemons, s.db, "far2", netns_of=nsweb.pid)
    t0 = time.monotonic()
    took, now = s.first_change(ALL, both, t0, timeout=5)
    assert now == ans(EU1, ttl=DEGRADED)
    s.wait_states({EU1: "up", US1: "down"}, vantage="far2")
    assert status_rows(s.g, "web")[0][f"web/{US1}"]["state"] == "down"

    # far killed: after 3 intervals it no longer counts; "test" and "far2" are 1 of 2
    far.signal(signal.SIGKILL)
    t0 = time.monotonic()
    far.kill()
    took, now = s.first_change(ALL, ans(EU1, ttl=DEGRADED), t0, timeout=6)
    assert AGE_OUT_S - 1.1 <= took < AGE_OUT_S + 1.0, f"far aged out after {took:.3f} s"
    assert now == ans(EU1, US1, ttl=DEGRADED)  # back, and flapping
    assert vantage_lines(s, US1) == {"far": "down (stale)", "far2": "down", "test": "up"}

    # "test" killed too: far2 decides alone
    s.hd.signal(signal.SIGKILL)
    t0 = time.monotonic()
    s.hd.kill()
    took, now = s.first_change(ALL, ans(EU1, US1, ttl=DEGRADED), t0, timeout=6)
    assert AGE_OUT_S - 1.1 <= took < AGE_OUT_S + 1.0, f"test aged out after {took:.3f} s"
    assert now == ans(EU1, ttl=DEGRADED)
    assert status_rows(s.g, "web")[0][f"web/{US1}"]["state"] == "down"
    assert far2.proc.poll() is None
