"""Traffic policy mode "failover" in gtm-dnsd: the lowest --priority tier with an
endpoint that can answer, spread by weight within the tier; draining (weight 0) or
disabling a whole tier moves the answers to the next one, and back. Regions and the
client's place play no part: the ECS scope is 0.
"""
from collections import Counter

import pytest

from conftest import Gtmctl
from policy_util import (Client, addr_rr, bulk_ask, change, copy_store, expect, query, serve)

FO = "fo.example.com."
T1, T2A, T2B, T3, T3V6 = "10.30.1.1", "10.30.2.1", "10.30.2.2", "10.30.3.1", "2001:db8:30:3::1"


@pytest.fixture(scope="module")
def failover_template(tmp_path_factory):
    g = Gtmctl(tmp_path_factory.mktemp("failover") / "gtm.db")
    g.run("init")
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("region", "add", "eu", "--lat", "50", "--lon", "8")
    g.run("region", "add", "us", "--lat", "39", "--lon", "-77")
    g.run("pool", "add", "tiers")
    # tiers across regions: the region does not matter
    g.run("endpoint", "add", "tiers", T1, "--region", "us", "--priority", "1")
    g.run("endpoint", "add", "tiers", T2A, "--region", "eu", "--priority", "2", "--weight", "100")
    g.run("endpoint", "add", "tiers", T2B, "--region", "us", "--priority", "2", "--weight", "300")
    g.run("endpoint", "add", "tiers", T3, "--region", "eu", "--priority", "30")
    g.run("endpoint", "add", "tiers", T3V6, "--region", "eu", "--priority", "30")
    g.run("policy", "set", FO, "--pool", "tiers", "--mode", "failover")
    return g


@pytest.fixture
def store(failover_template, tmp_path):
    return copy_store(failover_template, tmp_path)


def test_first_tier_answers_with_scope_zero(store, dnsd):
    srv = serve(dnsd, store)
    with Client(srv) as c:
        expect(c, query(FO, edns=False), answer=[addr_rr(FO, T1)])
        for addr, source in (("81.2.69.0", 24), ("203.0.113.7", 32), ("2001:db8:1::", 48)):
            expect(c, query(FO, ecs=(addr, source)), answer=[addr_rr(FO, T1)], scope=0)
        answers = bulk_ask(c, [query(FO, edns=False)] * 500)
        assert {tuple(r.addrs) for r in answers} == {(T1,)}
        # AAAA: the only IPv6 endpoint is in tier 30, the lowest tier for that family
        expect(c, query(FO, "AAAA", ecs=("2001:db8:1::", 48)), answer=[addr_rr(FO, T3V6)],
               scope=0)


def test_drained_tier_moves_to_the_next_and_back(store, dnsd):
    g = store
    srv = serve(dnsd, g)
    with Client(srv) as c:
        change(srv, g, "endpoint", "set", "tiers", T1, "--weight", "0")
        # tier 2, spread 100 : 300 between its two endpoints
        answers = bulk_ask(c, [query(FO, edns=False)] * 2000)
        count = Counter(r.addrs[0] for r in answers)
        assert set(count) == {T2A, T2B}, count
        assert abs(count[T2B] / 2000 - 0.75) < 0.05, count
        # with ECS: scope 0 whichever endpoint of the tier answers
        answers = bulk_ask(c, [query(FO, ecs=("81.2.69.0", 24))] * 50)
        assert {(r.addrs[0] in (T2A, T2B), r.ecs) for r in answers} == \
            {(True, (1, 24, 0, bytes([81, 2, 69])))}
        # the whole of tier 2 unavailable: one drained, one disabled
        g.run("endpoint", "set", "tiers", T2A, "--weight", "0")
        change(srv, g, "endpoint", "set", "tiers", T2B, "--enabled", "no")
        expect(c, query(FO, edns=False), answer=[addr_rr(FO, T3)])
        # tier 1 back
        change(srv, g, "endpoint", "set", "tiers", T1, "--weight", "100")
        expect(c, query(FO, edns=False), answer=[addr_rr(FO, T1)])


def test_disabled_first_tier_and_priority_change(store, dnsd):
    g = store
    srv = serve(dnsd, g)
    with Client(srv) as c:
        change(srv, g, "endpoint", "set", "tiers", T1, "--enabled", "no")
        assert {r.addrs[0] for r in bulk_ask(c, [query(FO, edns=False)] * 300)} == {T2A, T2B}
        # a tier-30 endpoint promoted to tier 0 answers alone
        change(srv, g, "endpoint", "set", "tiers", T3, "--priority", "0")
        expect(c, query(FO, edns=False), answer=[addr_rr(FO, T3)])


def test_answers_n_within_the_tier(store, dnsd):
    """--answers 3: both endpoints of tier 2, never a third tier's."""
    g = store
    g.run("policy", "set", FO, "--pool", "tiers", "--mode", "failover", "--answers", "3")
    g.run("endpoint", "set", "tiers", T1, "--weight", "0")
    srv = serve(dnsd, g)
    with Client(srv) as c:
        expect(c, query(FO, edns=False), answer=[addr_rr(FO, T2A), addr_rr(FO, T2B)])
