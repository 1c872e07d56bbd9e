"""What gtm-dnsd answers when no endpoint of a managed name's pool can answer. Health
cannot be set yet, so "nothing can answer" is made with weight 0 (drained: never
answered): then --fallback decides — fail-open (the default: as if every endpoint were
up; drained endpoints are still never answered, so a wholly drained pool has nothing
to give), a fallback POOL, or none (NODATA). Disabled endpoints are different: a pool
with no enabled endpoint of the family answers NODATA with no fallback at all.
"""
import pytest

from conftest import Gtmctl
from policy_util import (Client, addr_rr, change, copy_store, expect,
                         negative_soa, query, serve, settle)
from policy_util import world_mmdb  # noqa: F401 (fixture)

OPEN, POOL, NONE, GEOFB = ("open.example.com.", "pool.example.com.", "none.example.com.",
                           "geofb.example.com.")
MAIN = ["10.60.0.1", "10.60.0.2"]
BACKUP, BACKUP6 = "10.61.0.1", "2001:db8:61::1"


def build(g, pools_in_name_order=True):
    g.run("init")
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("region", "add", "eu", "--lat", "50", "--lon", "8")
    g.run("region", "add", "us", "--lat", "39", "--lon", "-77")
    for p in (["backup", "main"] if pools_in_name_order else ["main", "backup"]):
        g.run("pool", "add", p)
    g.run("endpoint", "add", "main", MAIN[0], "--region", "eu")
    g.run("endpoint", "add", "main", MAIN[1], "--region", "us")
    g.run("endpoint", "add", "backup", BACKUP, "--region", "eu")
    g.run("endpoint", "add", "backup", BACKUP6, "--region", "us")
    g.run("geo", "map", "EU", "eu")
    g.run("geo", "map", "*", "us")
    g.run("policy", "set", OPEN, "--pool", "main", "--mode", "weighted")
    g.run("policy", "set", POOL, "--pool", "main", "--mode", "weighted", "--fallback", "backup")
    g.run("policy", "set", NONE, "--pool", "main", "--mode", "weighted", "--fallback", "none")
    g.run("policy", "set", GEOFB, "--pool", "main", "--mode", "geo", "--fallback", "backup")
    return g


@pytest.fixture(scope="module")
def fallback_template(tmp_path_factory):
    return build(Gtmctl(tmp_path_factory.mktemp("fallback") / "gtm.db"))


@pytest.fixture
def store(fallback_template, tmp_path):
    return copy_store(fallback_template, tmp_path)


def test_every_endpoint_drained(store, dnsd):
    g = store
    srv = serve(dnsd, g)
    with Client(srv) as c:
        for name in (OPEN, POOL, NONE):
            r, _ = c.ask(query(name, edns=False))
            assert r.answer[0][0].address in MAIN
        for a in MAIN:
            g.run("endpoint", "set", "main", a, "--weight", "0")
        settle(srv)
        soa = negative_soa(g)
        # fallback pool: its endpoint answers, with the policy's TTL
        expect(c, query(POOL, edns=False), answer=[addr_rr(POOL, BACKUP)])
        expect(c, query(POOL, ecs=("81.2.69.0", 24)), answer=[addr_rr(POOL, BACKUP)], scope=0)
        # none: NODATA
        expect(c, query(NONE, edns=False), authority=[soa])
        expect(c, query(NONE, ecs=("81.2.69.0", 24)), authority=[soa], scope=0)
        # fail-open: as if every endpoint were up, but drained ones are never answered
        expect(c, query(OPEN, edns=False), authority=[soa])
        # one endpoint back: every policy answers from the pool again
        change(srv, g, "endpoint", "set", "main", MAIN[1], "--weight", "1")
        for name in (OPEN, POOL, NONE):
            expect(c, query(name, edns=False), answer=[addr_rr(name, MAIN[1])])


def test_fallback_pool_drained_too(store, dnsd):
    """Nothing in the fallback pool either: fail-open there, and drained endpoints are
    still not answered: NODATA."""
    g = store
    for a in MAIN:
        g.run("endpoint", "set", "main", a, "--weight", "0")
    g.run("endpoint", "set", "backup", BACKUP, "--weight", "0")
    srv = serve(dnsd, g)
    with Client(srv) as c:
        expect(c, query(POOL, edns=False), authority=[negative_soa(g)])
        # the fallback pool's IPv6 endpoint still answers AAAA? No: main has no IPv6
        # endpoint at all, so AAAA is NODATA before any fallback
        expect(c, query(POOL, "AAAA", edns=False), authority=[negative_soa(g)])


def test_disabled_pool_is_nodata_without_fallback(store, dnsd):
    """No enabled endpoint of the family: NODATA, and the fallback pool is not used
    (for AAAA, main never had one)."""
    g = store
    for a in MAIN:
        g.run("endpoint", "set", "main", a, "--enabled", "no")
    srv = serve(dnsd, g)
    with Client(srv) as c:
        soa = negative_soa(g)
        for name in (OPEN, POOL, NONE, GEOFB):
            expect(c, query(name, ecs=("81.2.69.0", 24)), authority=[soa], scope=0)
            expect(c, query(name, "AAAA", edns=False), authority=[soa])


def test_geo_clients_whose_regions_are_drained_get_the_fallback(store, world_mmdb, dnsd):
    """GEOFB: EU -> eu only. With eu's endpoint drained, EU clients have no region that
    can answer: the fallback pool answers them (as it would were eu down), while '*'
    clients still get us. Today gtm-dnsd answers them NODATA, taking the drained region
    for one without IPv4 endpoints (a dual-stack skip), and never uses the fallback."""
    g = store
    g.run("endpoint", "set", "main", MAIN[0], "--weight", "0")
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv) as c:
        expect(c, query(GEOFB, ecs=("203.0.113.0", 24)), answer=[addr_rr(GEOFB, MAIN[1])],
               scope=1)
        expect(c, query(GEOFB, ecs=("81.2.69.0", 24)), answer=[addr_rr(GEOFB, BACKUP)],
               scope=22)


def test_pool_created_before_a_pool_named_earlier(tmp_path, dnsd):
    """Pools created as main, then backup (not in name order): main's endpoints must
    still be answered. Today the snapshot compiler pairs pools (read by name) with
    endpoints (sorted by pool id) as if both were in the same order, and main loses
    every endpoint: NODATA for its names."""
    g = build(Gtmctl(tmp_path / "gtm.db"), pools_in_name_order=False)
    g.run("endpoint", "set", "main", MAIN[0], "--weight", "0")
    srv = serve(dnsd, g)
    with Client(srv) as c:
        for name in (OPEN, POOL, NONE):
            expect(c, query(name, edns=False), answer=[addr_rr(name, MAIN[1])])
        change(srv, g, "endpoint", "set", "main", MAIN[1], "--weight", "0")
        expect(c, query(POOL, edns=False), answer=[addr_rr(POOL, BACKUP)])
