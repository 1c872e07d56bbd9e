"""Dual stack in gtm-dnsd's traffic policies: IPv6 endpoints answer AAAA, IPv4 ones A;
a region with endpoints of only one family is skipped for the other (the next region
of the client's list answers), not answered empty; when no region of the client's list
has the family the answer is NODATA (the client's other family still comes from the
right region); a pool without any enabled endpoint of the family is NODATA, with no
fallback. IPv6 clients come from IPv6 ECS subnets.
"""
import pytest

import dnsd_util

from policy_util import (GEO, LAT, PROX, WEB_V4, WEB_V6, Client, addr_rr, check,
                         expect, negative_soa, query, serve, settle)
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)


@pytest.fixture
def srv(world, world_mmdb, dnsd):
    return serve(dnsd, world, world_mmdb)


def test_aaaa_from_the_region_of_the_a_answer(srv):
    with Client(srv) as c:
        for addr, source, region, scope in [("2001:db8:1::", 48, "eu-central", 48),
                                            ("2001:db8:4::", 52, "eu-west", 48),
                                            ("81.2.69.0", 24, "eu-west", 22),
                                            ("198.51.100.0", 24, "us-east", 24)]:
            for name in (GEO, PROX):
                expect(c, query(name, "AAAA", ecs=(addr, source)), scope=None,
                       answer=[addr_rr(name, WEB_V6[region])])
            expect(c, query(GEO, "AAAA", ecs=(addr, source)), scope=scope,
                   answer=[addr_rr(GEO, WEB_V6[region])])
            expect(c, query(GEO, "A", ecs=(addr, source)), scope=scope,
                   answer=[addr_rr(GEO, WEB_V4[region])])


def test_region_without_the_family_is_skipped(srv):
    """ap-northeast and sa-east have IPv4 endpoints only: their clients' AAAA comes
    from the next region of their list (geo), the next nearest with IPv6 (proximity)
    or the next lowest latency (latency)."""
    with Client(srv) as c:
        jp, br = ("203.0.113.0", 24), ("2001:db8:6::", 48)
        expect(c, query(GEO, "A", ecs=jp), answer=[addr_rr(GEO, WEB_V4["ap-northeast"])],
               scope=24)
        expect(c, query(GEO, "AAAA", ecs=jp), answer=[addr_rr(GEO, WEB_V6["us-west"])],
               scope=24)
        expect(c, query(GEO, "A", ecs=br), answer=[addr_rr(GEO, WEB_V4["sa-east"])],
               scope=48)
        expect(c, query(GEO, "AAAA", ecs=br), answer=[addr_rr(GEO, WEB_V6["us-east"])],
               scope=48)
        expect(c, query(PROX, "AAAA", ecs=br), answer=[addr_rr(PROX, WEB_V6["us-east"])],
               scope=48)
        expect(c, query(LAT, "AAAA", ecs=("2001:db8:3::", 48)), scope=48,
               answer=[addr_rr(LAT, WEB_V6["us-west"])])
        # source-address client in JP (IPv4 resolver asking AAAA)
        with Client(srv, source="127.0.4.1") as jc:
            expect(jc, query(GEO, "AAAA", edns=False), answer=[addr_rr(GEO, WEB_V6["us-west"])])


def test_no_region_of_the_list_has_the_family(world, world_mmdb, dnsd):
    """JP's list names only IPv4-only regions: AAAA is NODATA (SOA, AA, the scope of
    JP's block: other clients get AAAA records), A still answers from ap-northeast."""
    g = world
    g.run("geo", "map", "JP", "ap-northeast,sa-east")
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv) as c:
        expect(c, query(GEO, "AAAA", ecs=("203.0.113.0", 24)), scope=24,
               authority=[negative_soa(g)])
        expect(c, query(GEO, "A", ecs=("203.0.113.0", 24)), scope=24,
               answer=[addr_rr(GEO, WEB_V4["ap-northeast"])])
        expect(c, query(GEO, "AAAA", ecs=("2001:db8:3::", 48)), scope=48,
               authority=[negative_soa(g)])


def test_pool_without_the_family_is_nodata_without_fallback(world, world_mmdb, dnsd):
    g = world
    g.run("pool", "add", "zbackup")  # sorts after web, as it was created after it
    g.run("endpoint", "add", "zbackup", "2001:db8:99::1", "--region", "lab")
    g.run("endpoint", "add", "zbackup", "10.99.0.1", "--region", "lab")
    g.run("policy", "set", GEO, "--pool", "web", "--mode", "geo", "--fallback", "zbackup")
    srv = serve(dnsd, g, world_mmdb)
    for a in WEB_V6.values():
        g.run("endpoint", "set", "web", a, "--enabled", "no")
    settle(srv)
    with Client(srv) as c:
        expect(c, query(GEO, "AAAA", ecs=("2001:db8:1::", 48)), scope=0,
               authority=[negative_soa(g)])
        expect(c, query(GEO, "A", ecs=("2001:db8:1::", 48)), scope=48,
               answer=[addr_rr(GEO, WEB_V4["eu-central"])])


def test_ipv6_resolver_address_and_cname_query(srv, world):
    """A resolver on ::1 without ECS (not in the GeoIP data: '*'); a CNAME query at a
    name whose endpoints are addresses has no data."""
    for qtype, table in (("A", WEB_V4), ("AAAA", WEB_V6)):
        q = query(GEO, qtype, edns=False)
        r, wire = dnsd_util.ask(srv, q, "udp", addr="::1")
        check(q, wire, answer=[addr_rr(GEO, table["us-east"])])
    with Client(srv) as c:
        # (the scope is the client's block, /22: narrower than needed, never wider)
        r, scope = expect(c, query(GEO, "CNAME", ecs=("81.2.69.0", 24)),
                          authority=[negative_soa(world)], scope=None)
        assert scope in (0, 22)

