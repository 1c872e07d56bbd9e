"""Traffic policy mode "all" in gtm-dnsd: every endpoint that can answer (enabled, not
drained), up to --answers, for the family asked; the answer does not depend on the
client (ECS scope 0).
"""
import pytest

import dnsd_util

from conftest import Gtmctl
from policy_util import (Client, addr_rr, bulk_ask, change, check, copy_store, expect,
                         negative_soa, query, serve)

ALL, ALL3 = "all.example.com.", "all3.example.com."
V4 = ["10.40.0.1", "10.40.0.2", "10.40.0.3", "10.40.0.4"]
DRAINED, DISABLED = "10.40.0.5", "10.40.0.6"
V6 = ["2001:db8:40::1", "2001:db8:40::2"]
WIDE, BIG = "wide.example.com.", 24  # 24 AAAA records: 700 bytes, more than 512


@pytest.fixture(scope="module")
def all_template(tmp_path_factory):
    g = Gtmctl(tmp_path_factory.mktemp("all") / "gtm.db")
    g.run("init")
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("region", "add", "eu", "--lat", "50", "--lon", "8")
    g.run("region", "add", "us", "--lat", "39", "--lon", "-77")
    g.run("pool", "add", "multi")
    for i, a in enumerate(V4 + V6):
        g.run("endpoint", "add", "multi", a, "--region", "eu" if i % 2 else "us",
              "--priority", i % 3, "--weight", 10 * (i + 1))
    g.run("endpoint", "add", "multi", DRAINED, "--region", "eu", "--weight", "0")
    g.run("endpoint", "add", "multi", DISABLED, "--region", "us", "--enabled", "no")
    g.run("policy", "set", ALL, "--pool", "multi", "--mode", "all", "--ttl", "20")
    g.run("policy", "set", ALL3, "--pool", "multi", "--mode", "all", "--answers", "3")
    g.run("pool", "add", "wide")
    for i in range(1, BIG + 1):
        g.run("endpoint", "add", "wide", f"2001:db8:41::{i:x}", "--region", "eu")
    g.run("policy", "set", WIDE, "--pool", "wide", "--mode", "all")
    return g


@pytest.fixture
def store(all_template, tmp_path):
    return copy_store(all_template, tmp_path)


def test_every_available_endpoint(store, dnsd):
    srv = serve(dnsd, store)
    with Client(srv) as c:
        expect(c, query(ALL, edns=False), answer=[addr_rr(ALL, a, 20) for a in V4])
        expect(c, query(ALL, "AAAA", ecs=("81.2.69.0", 24)), scope=0,
               answer=[addr_rr(ALL, a, 20) for a in V6])
        expect(c, query(ALL, ecs=("2001:db8:1::", 48)), scope=0,
               answer=[addr_rr(ALL, a, 20) for a in V4])


def test_answers_caps_the_count(store, dnsd):
    srv = serve(dnsd, store)
    with Client(srv) as c:
        for r in bulk_ask(c, [query(ALL3, edns=False)] * 200):
            assert r.rcode == 0 and r.aa
            assert len(r.addrs) == 3 and len(set(r.addrs)) == 3 and set(r.addrs) <= set(V4), \
                r.answer
            assert {ttl for _, ttl, _ in r.answer} == {30}
        # fewer available than --answers: all of them
        expect(c, query(ALL3, "AAAA", edns=False), answer=[addr_rr(ALL3, a) for a in V6])


def test_changes_reach_answers(store, dnsd):
    g = store
    srv = serve(dnsd, g)
    with Client(srv) as c:
        change(srv, g, "endpoint", "set", "multi", DRAINED, "--weight", "5")
        expect(c, query(ALL, edns=False), answer=[addr_rr(ALL, a, 20) for a in V4 + [DRAINED]])
        g.run("endpoint", "set", "multi", V4[0], "--weight", "0")
        change(srv, g, "endpoint", "set", "multi", V4[1], "--enabled", "no")
        expect(c, query(ALL, edns=False),
               answer=[addr_rr(ALL, a, 20) for a in V4[2:] + [DRAINED]])
        # no IPv6 endpoint enabled: NODATA (the zone's SOA), not another family
        g.run("endpoint", "set", "multi", V6[0], "--enabled", "no")
        change(srv, g, "endpoint", "set", "multi", V6[1], "--enabled", "no")
        expect(c, query(ALL, "AAAA", edns=False), authority=[negative_soa(g)])



def test_large_answer_truncated_or_whole(store, dnsd):
    """All 24 AAAA records: too big for 512 bytes (no EDNS): TC with no partial answer;
    whole over EDNS (1232 bytes) and over TCP."""
    srv = serve(dnsd, store)
    every = [addr_rr(WIDE, f"2001:db8:41::{i:x}") for i in range(1, BIG + 1)]
    q = query(WIDE, "AAAA", edns=False)
    check(q, dnsd_util.exchange(srv, q.to_wire(), "udp"), tc=True)
    r, wire = dnsd_util.ask(srv, q, "tcp")
    check(q, wire, answer=every)
    with Client(srv) as c:
        expect(c, query(WIDE, "AAAA", ecs=("81.2.69.0", 24)), answer=every, scope=0)
