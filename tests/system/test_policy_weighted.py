"""Traffic policy mode "weighted" (without --sticky) in gtm-dnsd: every healthy endpoint
of the pool, picked at random in proportion to its weight; weight 0 (drained) and
disabled endpoints are never answered; --answers N gives N distinct endpoints. The
answer does not depend on the client, so an ECS option comes back with scope 0.
"""
from collections import Counter

import pytest

from conftest import Gtmctl
from policy_util import (Client, addr_rr, bulk_ask, change, copy_store, expect, query,
                         serve)

W = "w.example.com."
WEIGHTS = {"10.10.0.1": 10, "10.10.0.2": 20, "10.10.0.3": 30, "10.10.0.4": 40}
N = 20000


@pytest.fixture(scope="module")
def weighted_template(tmp_path_factory):
    g = Gtmctl(tmp_path_factory.mktemp("weighted") / "gtm.db")
    g.run("init")
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("region", "add", "eu", "--lat", "50", "--lon", "8")
    g.run("region", "add", "us", "--lat", "39", "--lon", "-77")
    g.run("pool", "add", "spread")
    for i, (a, w) in enumerate(WEIGHTS.items()):
        g.run("endpoint", "add", "spread", a, "--region", "eu" if i % 2 else "us",
              "--weight", w)
    g.run("endpoint", "add", "spread", "10.10.0.5", "--region", "eu", "--weight", "0")
    g.run("endpoint", "add", "spread", "10.10.0.6", "--region", "us", "--weight", "50",
          "--enabled", "no")
    g.run("endpoint", "add", "spread", "2001:db8:10::1", "--region", "us")
    g.run("policy", "set", W, "--pool", "spread", "--mode", "weighted")
    return g


@pytest.fixture
def store(weighted_template, tmp_path):
    return copy_store(weighted_template, tmp_path)


def shares(answers):
    count = Counter(a for r in answers for a in r.addrs)
    return {a: count[a] / len(answers) for a in count}


def test_distribution_follows_the_weights(store, dnsd):
    """20,000 queries: each endpoint's share within 3 points of its weight's share, and
    a chi-square test (3 degrees of freedom) far from rejecting the weights; the
    drained and the disabled endpoints never appear."""
    srv = serve(dnsd, store)
    with Client(srv) as c:
        answers = bulk_ask(c, [query(W, edns=False)] * N)
    assert all(r.rcode == 0 and r.aa and len(r.answer) == 1 and r.answer[0][1] == 30
               for r in answers)
    count = Counter(r.addrs[0] for r in answers)
    assert set(count) <= set(WEIGHTS), f"answered outside the weighted endpoints: {count}"
    total = sum(WEIGHTS.values())
    chi2 = 0.0
    for a, w in WEIGHTS.items():
        want = N * w / total
        assert abs(count[a] - want) <= 0.03 * N, f"{a}: {count[a]} of {N}, want {want:.0f}"
        chi2 += (count[a] - want) ** 2 / want
    assert chi2 < 30.7, f"chi-square {chi2:.1f} (p < 1e-6): {dict(count)}"


def test_scope_is_zero_and_answers_vary(store, dnsd):
    """The same ECS subnet gets different endpoints (random, not sticky), each time
    with scope 0: the answer does not depend on the address."""
    srv = serve(dnsd, store)
    with Client(srv) as c:
        qs = [query(W, ecs=("81.2.69.0", 24))] * 400
        answers = bulk_ask(c, qs)
        assert {r.ecs for r in answers} == {(1, 24, 0, bytes([81, 2, 69]))}
        assert set(a for r in answers for a in r.addrs) == set(WEIGHTS)
        r, scope = expect(c, query(W, "AAAA", ecs=("2001:db8:1::", 48)), scope=0,
                          answer=[addr_rr(W, "2001:db8:10::1")])


def test_answers_n_distinct(store, dnsd):
    g = store
    g.run("policy", "set", W, "--pool", "spread", "--mode", "weighted", "--answers", "3")
    srv = serve(dnsd, g)
    with Client(srv) as c:
        answers = bulk_ask(c, [query(W, edns=False)] * 2000)
    for r in answers:
        assert len(r.addrs) == 3 and len(set(r.addrs)) == 3 and set(r.addrs) <= set(WEIGHTS)
    # the lightest endpoint is left out most often: drawn without replacement by weight
    left_out = Counter((set(WEIGHTS) - set(r.addrs)).pop() for r in answers)
    assert left_out["10.10.0.1"] > left_out["10.10.0.2"] > left_out["10.10.0.3"] > \
        left_out["10.10.0.4"], left_out


def test_weight_changes_reach_answers(store, dnsd):
    g = store
    srv = serve(dnsd, g)
    with Client(srv) as c:
        for a in ("10.10.0.1", "10.10.0.2", "10.10.0.3"):
            g.run("endpoint", "set", "spread", a, "--weight", "0")
        change(srv, g, "endpoint", "set", "spread", "10.10.0.6", "--enabled", "yes")
        answers = bulk_ask(c, [query(W, edns=False)] * 3000)
        count = Counter(r.addrs[0] for r in answers)
        assert set(count) == {"10.10.0.4", "10.10.0.6"}, count
        # 40 : 50
        assert abs(count["10.10.0.6"] / 3000 - 5 / 9) < 0.05, count
        change(srv, g, "endpoint", "set", "spread", "10.10.0.6", "--enabled", "no")
        answers = bulk_ask(c, [query(W, edns=False)] * 200)
        assert {r.addrs[0] for r in answers} == {"10.10.0.4"}
