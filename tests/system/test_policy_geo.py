"""Traffic policy mode "geo" in gtm-dnsd: the client's most specific key (CIDR override
by longest prefix, country-subdivision, country, continent, '*') gives an ordered list
of regions, and the first region that can answer does. Clients come from ECS options
(RFC 7871) and, without ECS, from the query's source address (sockets bound to
127.0.x.1, which the GeoIP fixture places in countries). Whole answers are checked:
rcode, AA, the record with its TTL, and the ECS option echoed with its scope.
"""
import dns.rcode
import pytest

from policy_util import (GEO, WEB_V4, WEB_V6, Client, addr_rr, change, each, expect,
                         negative_soa, query, serve)
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)

# ECS client -> (region, ECS scope). The scopes are the widest blocks with one region
# list: GB's four /24s (two subdivisions) are one /22, DE's two /17s one /16 (both map
# by continent EU), the empty space around ZA and AU goes to '*' with its neighbours.
ECS_CASES = [
    ("81.2.69.0", 24, "eu-west", 22),          # country GB (subdivision ENG)
    ("81.2.70.0", 24, "eu-west", 22),          # country GB (subdivision SCT)
    ("81.2.71.128", 25, "eu-west", 22),        # a /25 inside GB
    ("89.160.1.0", 24, "eu-central", 16),      # DE: continent EU
    ("2.16.5.0", 24, "eu-central", 16),        # FR: continent EU
    ("192.0.2.0", 24, "us-west", 24),          # subdivision US-CA
    ("198.51.100.0", 24, "us-east", 24),       # US-NY: continent NA
    ("203.0.113.0", 24, "ap-northeast", 24),   # JP: continent AS
    ("200.160.7.0", 24, "sa-east", 16),        # BR: continent SA
    ("41.0.0.0", 24, "us-east", 3),            # ZA: AF is not mapped: '*'
    ("1.128.0.0", 24, "us-east", 7),           # AU: OC is not mapped: '*'
    ("10.9.8.0", 24, "us-east", 5),            # in no GeoIP network: '*'
    ("2001:db8:1::", 48, "eu-central", 48),    # IPv6, DE
    ("2001:db8:2::", 56, "us-west", 48),       # IPv6, US-CA
    ("2001:db8:3:100::", 56, "ap-northeast", 48),
    ("2001:db8:4:100::", 56, "eu-west", 48),   # GB-SCT /56 inside GB-ENG /48: one /48
    ("2002:5102:4500::", 48, "eu-west", 38),   # 6to4 of 81.2.69.0: IPv4 in the IPv6 tree
]


@pytest.fixture
def srv(world, world_mmdb, dnsd):
    return serve(dnsd, world, world_mmdb)


def test_ecs_clients_get_their_region(srv):
    c = Client(srv)

    def one(case):
        addr, source, region, scope = case
        expect(c, query(GEO, "A", ecs=(addr, source)),
               answer=[addr_rr(GEO, WEB_V4[region])], scope=scope)
        # AAAA: the first region of the list with IPv6 (ap-northeast and sa-east have
        # none; AS lists us-west next, SA us-east)
        region6 = {"ap-northeast": "us-west", "sa-east": "us-east"}.get(region, region)
        expect(c, query(GEO, "AAAA", ecs=(addr, source)),
               answer=[addr_rr(GEO, WEB_V6[region6])], scope=scope)

    each(ECS_CASES, one)
    c.close()


# source address (no ECS) -> region
SOURCE_CASES = [
    ("127.0.1.1", "eu-west"),       # GB
    ("127.0.2.1", "eu-central"),    # DE -> EU
    ("127.0.3.1", "us-west"),       # US-CA
    ("127.0.4.1", "ap-northeast"),  # JP -> AS
    ("127.0.5.1", "sa-east"),       # BR -> SA
    ("127.0.6.1", "us-east"),       # US-NY -> NA
    ("127.0.7.1", "lab"),           # FR, but the CIDR override 127.0.7.0/24 wins
    ("127.0.8.1", "us-east"),       # ZA -> '*'
    ("127.0.0.1", "us-east"),       # not in the GeoIP data -> '*'
]


def test_source_address_clients_without_ecs(srv):
    def one(case):
        source, region = case
        with Client(srv, source=source) as c:
            # no EDNS at all: no OPT in the answer
            expect(c, query(GEO, edns=False), answer=[addr_rr(GEO, WEB_V4[region])])
            # EDNS without ECS: the OPT comes back without an ECS option
            expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4[region])])

    each(SOURCE_CASES, one)


def test_ecs_wins_over_the_source_address(srv):
    """A resolver in GB asking for a client in JP: the client's subnet decides."""
    with Client(srv, source="127.0.1.1") as c:
        expect(c, query(GEO, ecs=("203.0.113.0", 24)), scope=24,
               answer=[addr_rr(GEO, WEB_V4["ap-northeast"])])
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["eu-west"])])


def test_cidr_overrides_longest_prefix_wins(world, world_mmdb, dnsd):
    g = world
    g.run("geo", "map", "DE", "eu-west")  # a country entry the CIDR keys must beat
    g.run("geo", "map", "89.160.0.0/16", "us-west")
    g.run("geo", "map", "89.160.128.0/20", "lab")
    g.run("geo", "map", "127.0.2.0/24", "sa-east")
    srv = serve(dnsd, g, world_mmdb)
    cases = [("89.160.1.0", 24, "us-west", 17),     # /16 (the /20 is in the other half)
             ("89.160.130.0", 24, "lab", 20),       # the /20 inside the /16
             ("89.160.143.255", 32, "lab", 20),
             ("89.160.144.0", 24, "us-west", 20),   # just past the /20
             ("89.160.200.0", 24, "us-west", 18),
             ("2001:db8:1::", 48, "eu-west", 48)]   # DE over IPv6: the country entry
    with Client(srv) as c:
        for addr, source, region, scope in cases:
            expect(c, query(GEO, ecs=(addr, source)), answer=[addr_rr(GEO, WEB_V4[region])],
                   scope=scope)
    with Client(srv, source="127.0.2.1") as c:
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["sa-east"])])


def test_default_entry_and_unmapped_client(world, world_mmdb, dnsd):
    """'*' answers everyone the map does not name; without '*' an unmapped client gets
    every region of the pool in name order (the first that can answer: ap-northeast
    for A, eu-central for AAAA since ap-northeast has no IPv6) — still an answer."""
    g = world
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv, source="127.0.8.1") as c:  # ZA: AF is unmapped
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["us-east"])])
        change(srv, g, "geo", "map", "*", "sa-east,us-east")
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["sa-east"])])
        expect(c, query(GEO, "AAAA"), answer=[addr_rr(GEO, WEB_V6["us-east"])])
        change(srv, g, "geo", "unmap", "*")
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["ap-northeast"])])
        expect(c, query(GEO, "AAAA"), answer=[addr_rr(GEO, WEB_V6["eu-central"])])
        # mapped clients are unaffected
        expect(c, query(GEO, ecs=("81.2.69.0", 24)), answer=[addr_rr(GEO, WEB_V4["eu-west"])],
               scope=22)


def test_entry_whose_regions_have_no_endpoint_is_as_if_unmapped(world, world_mmdb, dnsd):
    """A map entry naming only regions where the pool has no endpoint (geo lint says so)
    sends its clients where an unmapped client goes: the '*' entry (us-east), not the
    pool's first region by name (ap-northeast)."""
    g = world
    g.run("region", "add", "af-south", "--lat", "-33.9", "--lon", "18.4")
    g.run("geo", "map", "AF", "af-south")
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv, source="127.0.8.1") as c:  # ZA, in AF
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["us-east"])])
        out = g.run("explain", GEO, "A", "--client", "127.0.8.1", "--geoip", world_mmdb).stdout
        assert "as if unmapped, the geo map's '*' entry: us-east" in out, out
        # without '*': every region of the pool by name, as for an unmapped client
        change(srv, g, "geo", "unmap", "*")
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["ap-northeast"])])


def test_subdivision_beats_country_beats_continent(world, world_mmdb, dnsd):
    g = world
    g.run("geo", "map", "GB-SCT", "lab")
    g.run("geo", "map", "US", "sa-east")
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv) as c:
        for addr, region, scope in [("81.2.69.0", "eu-west", 23),   # GB-ENG: country GB
                                    ("81.2.70.0", "lab", 23),       # GB-SCT
                                    ("192.0.2.0", "us-west", 24),   # US-CA
                                    ("198.51.100.0", "sa-east", 24),  # US-NY: country US
                                    ("203.0.113.0", "ap-northeast", 24)]:
            expect(c, query(GEO, ecs=(addr, 24)), answer=[addr_rr(GEO, WEB_V4[region])],
                   scope=scope)


def test_first_region_that_can_answer(world, world_mmdb, dnsd):
    """The list is an order of preference: drained (weight 0) or disabled endpoints
    move GB's clients to the second region of their list, and back."""
    g = world
    srv = serve(dnsd, g, world_mmdb)
    gb = query(GEO, ecs=("81.2.69.0", 24))
    with Client(srv) as c:
        expect(c, gb, answer=[addr_rr(GEO, WEB_V4["eu-west"])], scope=22)
        change(srv, g, "endpoint", "set", "web", WEB_V4["eu-west"], "--weight", "0")
        expect(c, gb, answer=[addr_rr(GEO, WEB_V4["eu-central"])], scope=22)
        # AAAA still comes from eu-west, whose IPv6 endpoint is not drained
        expect(c, query(GEO, "AAAA", ecs=("81.2.69.0", 24)),
               answer=[addr_rr(GEO, WEB_V6["eu-west"])], scope=22)
        change(srv, g, "endpoint", "set", "web", WEB_V4["eu-west"], "--weight", "100",
               "--enabled", "no")
        expect(c, gb, answer=[addr_rr(GEO, WEB_V4["eu-central"])], scope=22)
        change(srv, g, "endpoint", "set", "web", WEB_V4["eu-west"], "--enabled", "yes")
        expect(c, gb, answer=[addr_rr(GEO, WEB_V4["eu-west"])], scope=22)


def test_map_change_reaches_answers(world, world_mmdb, dnsd):
    g = world
    srv = serve(dnsd, g, world_mmdb)
    jp = query(GEO, ecs=("203.0.113.0", 24))
    with Client(srv) as c:
        expect(c, jp, answer=[addr_rr(GEO, WEB_V4["ap-northeast"])], scope=24)
        change(srv, g, "geo", "map", "JP", "us-west,ap-northeast")
        expect(c, jp, answer=[addr_rr(GEO, WEB_V4["us-west"])], scope=24)
        change(srv, g, "geo", "unmap", "JP")
        expect(c, jp, answer=[addr_rr(GEO, WEB_V4["ap-northeast"])], scope=24)


def test_answers_and_ttl(world, world_mmdb, dnsd):
    """--answers 2 gives both endpoints of the chosen region (never another region's);
    --ttl sets the records' TTL."""
    g = world
    g.run("endpoint", "add", "web", "10.1.0.2", "--region", "eu-west", "--weight", "50")
    g.run("policy", "set", GEO, "--pool", "web", "--mode", "geo", "--answers", "2",
          "--ttl", "5")
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv) as c:
        expect(c, query(GEO, ecs=("81.2.69.0", 24)), scope=22,
               answer=[addr_rr(GEO, "10.1.0.1", 5), addr_rr(GEO, "10.1.0.2", 5)])
        expect(c, query(GEO, ecs=("203.0.113.0", 24)), scope=24,
               answer=[addr_rr(GEO, WEB_V4["ap-northeast"], 5)])


def test_policy_changes_reach_answers(world, world_mmdb, dnsd):
    """The mode of a managed name switched at run time (geo -> proximity: Paris goes
    from EU's first region to the nearest), its name asked in mixed case (the
    question echoed as asked), then the policy removed (the name no longer exists)."""
    g = world
    srv = serve(dnsd, g, world_mmdb)
    fr = query("GeO.ExAmPlE.CoM", ecs=("2.16.0.0", 24))
    with Client(srv) as c:
        expect(c, fr, answer=[addr_rr(GEO, WEB_V4["eu-central"])], scope=16)
        change(srv, g, "policy", "set", GEO, "--pool", "web", "--mode", "proximity")
        expect(c, fr, answer=[addr_rr(GEO, WEB_V4["eu-west"])], scope=16)
        change(srv, g, "policy", "rm", GEO)
        expect(c, fr, rcode=dns.rcode.NXDOMAIN, authority=[negative_soa(g)], scope=0)

