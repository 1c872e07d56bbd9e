"""Traffic policy mode "weighted --sticky" in gtm-dnsd: a weighted consistent hash of the
client's subnet (the ECS subnet, at most /24 or /56 of it, else the source address's
/24): the same subnet always gets the same endpoint, on every worker thread and on
another server reading the same store, and moving weight moves only the share of
subnets it must, all of them to the endpoint whose weight grew. The answer depends on
every bit of the subnet, so the ECS scope is the subnet's length.
"""
import random
from collections import Counter

import pytest

from conftest import Gtmctl
from policy_util import (Client, addr_rr, bulk_ask, change, copy_store, expect, query, serve)

S = "s.example.com."
A, B, C = "10.20.0.1", "10.20.0.2", "10.20.0.3"
V6 = "2001:db8:20::1"


@pytest.fixture(scope="module")
def sticky_template(tmp_path_factory):
    g = Gtmctl(tmp_path_factory.mktemp("sticky") / "gtm.db")
    g.run("init")
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("region", "add", "eu", "--lat", "50", "--lon", "8")
    g.run("pool", "add", "sticky")
    for a, w in ((A, 40), (B, 30), (C, 30), (V6, 10)):
        g.run("endpoint", "add", "sticky", a, "--region", "eu", "--weight", w)
    g.run("policy", "set", S, "--pool", "sticky", "--mode", "weighted", "--sticky")
    return g


@pytest.fixture
def store(sticky_template, tmp_path):
    return copy_store(sticky_template, tmp_path)


def subnets(n, seed=4):
    """n distinct random /24s (outside 0/8, 127/8 and the multicast space)."""
    rnd = random.Random(seed)
    out = set()
    while len(out) < n:
        a = rnd.randrange(1, 224)
        if a != 127:
            out.add(f"{a}.{rnd.randrange(256)}.{rnd.randrange(256)}.0")
    return sorted(out)


def answers_for(c, nets, source=24):
    res = bulk_ask(c, [query(S, ecs=(n, source)) for n in nets])
    for n, r in zip(nets, res):
        assert r.rcode == 0 and len(r.addrs) == 1, (n, r.answer)
        assert r.scope == min(source, 24), (n, r.ecs)
    return [r.addrs[0] for r in res]


def test_same_subnet_same_answer_1000_times(store, dnsd):
    srv = serve(dnsd, store)
    with Client(srv) as c:
        for net, source in (("81.2.69.0", 24), ("203.0.113.0", 24), ("89.160.0.0", 20)):
            got = Counter(answers_for(c, [net] * 1000, source))
            assert len(got) == 1, f"{net}/{source}: {dict(got)}"
        # every address of one /24 is the same client: the server uses 24 bits
        got = Counter(answers_for(c, [f"81.2.69.{i}" for i in range(256)] * 4, 32))
        assert len(got) == 1, dict(got)
        # IPv6: the /56 decides; AAAA from the only IPv6 endpoint
        res = bulk_ask(c, [query(S, "AAAA", ecs=("2001:db8:1:100::", 56))] * 1000)
        assert {(tuple(r.addrs), r.scope) for r in res} == {((V6,), 56)}
    # without ECS: the source address's /24
    seen = set()
    for source in ("127.0.3.1", "127.0.3.200"):
        with Client(srv, source=source) as c:
            res = bulk_ask(c, [query(S, edns=False)] * 500)
            seen |= {r.addrs[0] for r in res}
    assert len(seen) == 1, seen


def test_stable_across_servers_and_reloads(store, dnsd):
    """Another gtm-dnsd on the same store, and a reload that changes nothing the hash
    uses, give every subnet the same endpoint."""
    nets = subnets(500, seed=7)
    first = serve(dnsd, store)
    with Client(first) as c:
        before = answers_for(c, nets)
        change(first, store, "endpoint", "set", "sticky", V6, "--weight", "11")
        assert answers_for(c, nets) == before
    second = serve(dnsd, store)
    with Client(second) as c:
        assert answers_for(c, nets) == before
    assert len(set(before)) == 3


def test_weight_change_moves_only_its_share(store, dnsd):
    """2,000 /24s; A's weight 40 -> 60 of 100 -> 120 moves its share from 40% to 50%:
    about 10% of the subnets move, every one of them to A, taken from B and C alike.
    Back to 40, every subnet gets its old endpoint again."""
    g = store
    nets = subnets(2000)
    srv = serve(dnsd, g)
    with Client(srv) as c:
        before = answers_for(c, nets)
        share = Counter(before)
        for ep, w in ((A, 0.4), (B, 0.3), (C, 0.3)):
            assert abs(share[ep] / len(nets) - w) < 0.05, share
        change(srv, g, "endpoint", "set", "sticky", A, "--weight", "60")
        after = answers_for(c, nets)
        moves = Counter((b, a) for b, a in zip(before, after) if b != a)
        moved = sum(moves.values()) / len(nets)
        assert 0.07 <= moved <= 0.13, f"{moved:.1%} of subnets moved: {dict(moves)}"
        assert set(moves) <= {(B, A), (C, A)}, f"moves not towards A: {dict(moves)}"
        assert moves[(B, A)] > 0.3 * sum(moves.values()) and \
            moves[(C, A)] > 0.3 * sum(moves.values()), dict(moves)
        change(srv, g, "endpoint", "set", "sticky", A, "--weight", "40")
        assert answers_for(c, nets) == before
        # draining B moves exactly B's subnets, split between A and C
        change(srv, g, "endpoint", "set", "sticky", B, "--weight", "0")
        drained = answers_for(c, nets)
        assert all((d == b) if b != B else d in (A, C) for b, d in zip(before, drained))


def test_scope_is_the_subnet(store, dnsd):
    """Scope = the bits of the subnet the hash used: SOURCE up to /24 (/56); a /32
    source is echoed as /32 with scope 24."""
    srv = serve(dnsd, store)
    with Client(srv) as c:
        for addr, source, scope in [("81.2.69.0", 24, 24), ("89.160.0.0", 20, 20),
                                    ("81.2.69.77", 32, 24), ("81.2.0.0", 16, 16),
                                    ("0.0.0.0", 0, 0), ("2001:db8:1::", 48, 48),
                                    ("2001:db8:1:2:3::", 80, 56)]:
            r, _ = c.ask(query(S, ecs=(addr, source)))
            got = [rd.address for rrset in r.answer for rd in rrset]
            assert len(got) == 1 and got[0] in (A, B, C), r
            expect(c, query(S, ecs=(addr, source)), answer=[addr_rr(S, got[0])], scope=scope)
