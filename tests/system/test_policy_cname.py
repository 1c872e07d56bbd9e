"""Host-name endpoints in gtm-dnsd: an endpoint whose target is a name (itself a load
balancer) is answered as a CNAME to it, one at a time (a CNAME stands alone, RFC 1034
§3.6.2), for queries of every type, chosen by the policy like any endpoint; the answer
follows it inside the zone (RFC 1034 §4.3.2).
"""
import pytest

from conftest import Gtmctl
from policy_util import (Client, bulk_ask, change, copy_store, expect, negative_soa, query,
                         rr, serve, TYPE_A, TYPE_CNAME)
from policy_util import world_mmdb  # noqa: F401 (fixture)

CN, CW, MIX = "cname.example.com.", "cw.example.com.", "mix.example.com."
LB_EU, LB_US = "lb-eu.cdn.example.net.", "lb-us.cdn.example.net."


@pytest.fixture(scope="module")
def cname_template(tmp_path_factory):
    g = Gtmctl(tmp_path_factory.mktemp("cname") / "gtm.db")
    g.run("init")
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("region", "add", "eu", "--lat", "50", "--lon", "8")
    g.run("region", "add", "us", "--lat", "39", "--lon", "-77")
    g.run("pool", "add", "lbs")
    g.run("pool", "add", "mixed")
    g.run("pool", "add", "names")
    g.run("endpoint", "add", "lbs", "LB-EU.cdn.example.net", "--region", "eu")
    g.run("endpoint", "add", "lbs", "lb-us.cdn.example.net.", "--region", "us")
    g.run("endpoint", "add", "names", "a.cdn.example.net", "--region", "eu", "--weight", "1")
    g.run("endpoint", "add", "names", "b.cdn.example.net", "--region", "us", "--weight", "1")
    g.run("endpoint", "add", "mixed", "lb.cdn.example.net", "--region", "eu")
    g.run("endpoint", "add", "mixed", "10.50.0.1", "--region", "eu")
    g.run("geo", "map", "EU", "eu,us")
    g.run("geo", "map", "*", "us,eu")
    g.run("policy", "set", CN, "--pool", "lbs", "--mode", "geo", "--ttl", "45")
    g.run("policy", "set", CW, "--pool", "names", "--mode", "weighted", "--answers", "2")
    g.run("policy", "set", MIX, "--pool", "mixed", "--mode", "weighted", "--answers", "2")
    return g


@pytest.fixture
def store(cname_template, tmp_path):
    return copy_store(cname_template, tmp_path)


def test_cname_by_geo_for_a_aaaa_and_cname_queries(store, world_mmdb, dnsd):
    srv = serve(dnsd, store, world_mmdb)
    with Client(srv) as c:
        for qtype in ("A", "AAAA", "CNAME"):
            expect(c, query(CN, qtype, ecs=("81.2.69.0", 24)), scope=22,
                   answer=[rr(CN, "CNAME", LB_EU, 45)])
            # JP is '*' here, as is all of 128.0.0.0/1 in the fixture
            expect(c, query(CN, qtype, ecs=("203.0.113.0", 24)), scope=1,
                   answer=[rr(CN, "CNAME", LB_US, 45)])
        with Client(srv, source="127.0.2.1") as de:  # source address in DE
            expect(de, query(CN, edns=False), answer=[rr(CN, "CNAME", LB_EU, 45)])
        # other types: the CNAME too, which stands alone at its name (RFC 1034 §3.6.2)
        for qtype in ("TXT", "MX"):
            expect(c, query(CN, qtype, ecs=("81.2.69.0", 24)), scope=22,
                   answer=[rr(CN, "CNAME", LB_EU, 45)])


def test_one_cname_at_a_time(store, dnsd):
    """--answers 2 over two host names: one CNAME per answer, both names over time."""
    srv = serve(dnsd, store)
    with Client(srv) as c:
        seen = set()
        for r in bulk_ask(c, [query(CW, edns=False)] * 300):
            assert r.rcode == 0 and len(r.answer) == 1 and r.answer[0][0] == TYPE_CNAME, \
                r.answer
            seen.add(r.answer[0][2])
        assert seen == {"a.cdn.example.net.", "b.cdn.example.net."}


def test_name_and_address_never_together(store, dnsd):
    """A pool with a host name and an address: each answer is the CNAME alone or the
    address alone, never both (a CNAME cannot have other data beside it)."""
    srv = serve(dnsd, store)
    with Client(srv) as c:
        kinds = set()
        for r in bulk_ask(c, [query(MIX, edns=False)] * 300):
            types = {t for t, _, _ in r.answer}
            assert types in ({TYPE_CNAME}, {TYPE_A}), r.answer
            if types == {TYPE_CNAME}:
                assert len(r.answer) == 1 and r.answer[0][2] == "lb.cdn.example.net."
            else:
                assert r.addrs == ["10.50.0.1"]
            kinds |= types
        assert kinds == {TYPE_CNAME, TYPE_A}
        # AAAA: only the host name can answer it
        expect(c, query(MIX, "AAAA", edns=False),
               answer=[rr(MIX, "CNAME", "lb.cdn.example.net.")])


def test_host_name_takes_no_place_of_an_address(store, dnsd):
    """Mode all, --answers 2, over 10.50.0.1 and lb.cdn.example.net (eu) and 10.50.0.2
    (us): the answer is addresses (the first endpoint is one), so the host name, which
    cannot stand beside them, leaves its place to the next address: both addresses."""
    g = store
    g.run("pool", "add", "mixall")
    g.run("endpoint", "add", "mixall", "10.50.0.1", "--region", "eu")
    g.run("endpoint", "add", "mixall", "lb.cdn.example.net", "--region", "eu")
    g.run("endpoint", "add", "mixall", "10.50.0.2", "--region", "us")
    name = "mixall.example.com."
    g.run("policy", "set", name, "--pool", "mixall", "--mode", "all", "--answers", "2")
    srv = serve(dnsd, g)
    with Client(srv) as c:
        expect(c, query(name, edns=False), answer=[rr(name, "A", "10.50.0.1"),
                                                   rr(name, "A", "10.50.0.2")])
        # AAAA: no address of that family, so the host name answers, alone
        expect(c, query(name, "AAAA", edns=False),
               answer=[rr(name, "CNAME", "lb.cdn.example.net.")])


def test_drained_name_endpoint(store, world_mmdb, dnsd):
    g = store
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv) as c:
        change(srv, g, "endpoint", "set", "lbs", "lb-eu.cdn.example.net", "--weight", "0")
        expect(c, query(CN, ecs=("81.2.69.0", 24)), scope=22,
               answer=[rr(CN, "CNAME", LB_US, 45)])


def test_cname_answer_goes_on_inside_the_zone(store, dnsd):
    """RFC 1034 §4.3.2 step 3a: the answer follows a CNAME to a name of the zone, static
    or itself managed, as it does for a static CNAME; one to the managed name itself is
    written once."""
    g = store
    g.run("record", "add", "example.com", "www", "A", "300", "192.0.2.80")
    g.run("pool", "add", "inzone")
    g.run("endpoint", "add", "inzone", "www.example.com", "--region", "eu")
    g.run("policy", "set", "alias.example.com", "--pool", "inzone", "--mode", "failover")
    g.run("pool", "add", "tomanaged")
    g.run("endpoint", "add", "tomanaged", "cw.example.com", "--region", "eu")
    g.run("policy", "set", "chain.example.com", "--pool", "tomanaged", "--mode", "failover")
    srv = serve(dnsd, g)
    alias, www = "alias.example.com.", "www.example.com."
    with Client(srv) as c:
        expect(c, query(alias, edns=False),
               answer=[rr(alias, "CNAME", www), rr(www, "A", "192.0.2.80", 300)])
        # no MX at the target: the CNAME, and the zone's SOA for the target's NODATA
        expect(c, query(alias, "MX", edns=False), answer=[rr(alias, "CNAME", www)],
               authority=[negative_soa(g)])
        # a CNAME question gets the CNAME alone
        expect(c, query(alias, "CNAME", edns=False), answer=[rr(alias, "CNAME", www)])
        # to another managed name: its policy's answer follows
        r, _ = c.ask(query("chain.example.com.", edns=False))
        got = [(str(s.name), s.rdtype, str(s[0])) for s in r.answer]
        assert got[0] == ("chain.example.com.", TYPE_CNAME, "cw.example.com."), got
        assert got[1][:2] == ("cw.example.com.", TYPE_CNAME) and len(got) == 2, got
        assert got[1][2] in ("a.cdn.example.net.", "b.cdn.example.net."), got


def test_scope_of_a_cname_to_another_policy(store, world_mmdb, dnsd):
    """A geo answer that is a CNAME to a failover managed name: the ECS scope is what the
    whole answer depends on, the geo decision's (22 for this client), not the failover
    one's (0)."""
    g = store
    g.run("pool", "add", "one")
    g.run("endpoint", "add", "one", "lb.cdn.example.net", "--region", "eu")
    single = "single.example.com."
    g.run("policy", "set", single, "--pool", "one", "--mode", "failover")
    g.run("pool", "add", "tosingle")
    g.run("endpoint", "add", "tosingle", single, "--region", "eu")
    g.run("endpoint", "add", "tosingle", "lb-us.cdn.example.net", "--region", "us")
    front = "front.example.com."
    g.run("policy", "set", front, "--pool", "tosingle", "--mode", "geo")
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv) as c:
        expect(c, query(front, ecs=("81.2.69.0", 24)), scope=22,
               answer=[rr(front, "CNAME", single), rr(single, "CNAME", "lb.cdn.example.net.")])
        # the failover name alone depends on no address
        expect(c, query(single, ecs=("81.2.69.0", 24)), scope=0,
               answer=[rr(single, "CNAME", "lb.cdn.example.net.")])
