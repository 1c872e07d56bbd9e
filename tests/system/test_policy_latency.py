"""Traffic policy mode "latency" in gtm-dnsd: the region with the lowest measured
latency from the client's most specific measured key (CIDR, subdivision, country,
continent, '*'), measured with `gtmctl latency set` and `latency import`; regions
without a measurement come after, nearest first; a client with no measurement at all
goes to the nearest region (proximity). The world's measurements are chosen so that
latency, geo and proximity disagree: DE is measured nearer to eu-west than to
eu-central, JP nearer to us-west than to ap-northeast, US-CA nearer to us-east.
"""
import pytest

from policy_util import (LAT, WEB_V4, WEB_V6, Client, addr_rr, change, each, expect, query,
                         serve)
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)

# ECS client -> (A region, AAAA region, scope)
CASES = [
    ("89.160.1.0", 24, "eu-west", "eu-west", 17),           # DE (set): eu-west 9 ms
    ("89.160.130.0", 24, "eu-central", "eu-central", 17),   # CIDR 89.160.128.0/17: 2 ms
    ("203.0.113.0", 24, "us-west", "us-west", 24),          # JP: us-west 40 < 90 ms
    ("192.0.2.0", 24, "us-east", "us-east", 24),            # US-CA (imported): 15 ms
    ("2001:db8:1::", 48, "eu-west", "eu-west", 48),         # DE over IPv6
    ("2001:db8:3::", 48, "us-west", "us-west", 48),         # JP over IPv6
    # no measurement: nearest region (AAAA: nearest with IPv6)
    ("81.2.69.0", 24, "eu-west", "eu-west", 23),            # London
    ("2.16.5.0", 24, "eu-west", "eu-west", 16),             # Paris: London is nearer
    ("200.160.7.0", 24, "sa-east", "us-east", 16),          # Sao Paulo
    ("41.0.0.0", 24, "sa-east", "eu-central", 16),          # Johannesburg
    ("1.128.0.0", 24, "ap-northeast", "us-west", 16),       # Sydney
    ("198.51.100.0", 24, "us-east", "us-east", 24),         # New York (US-NY: no entry)
]


@pytest.fixture
def srv(world, world_mmdb, dnsd):
    return serve(dnsd, world, world_mmdb)


def test_lowest_measured_latency_else_nearest(srv):
    c = Client(srv)

    def one(case):
        addr, source, region4, region6, scope = case
        expect(c, query(LAT, ecs=(addr, source)), answer=[addr_rr(LAT, WEB_V4[region4])],
               scope=scope)
        expect(c, query(LAT, "AAAA", ecs=(addr, source)),
               answer=[addr_rr(LAT, WEB_V6[region6])], scope=scope)

    each(CASES, one)
    c.close()


def test_source_address_clients(srv):
    # 127.0.2.0/24 is DE (Hesse) outside the measured CIDR: DE's measurement applies
    for source, region in [("127.0.2.1", "eu-west"), ("127.0.4.1", "us-west"),
                           ("127.0.3.1", "us-east"), ("127.0.1.1", "eu-west"),
                           ("127.0.8.1", "sa-east"), ("127.0.0.1", "us-east")]:
        with Client(srv, source=source) as c:
            expect(c, query(LAT, edns=False), answer=[addr_rr(LAT, WEB_V4[region])])


def test_new_measurement_reaches_answers(world, world_mmdb, dnsd, tmp_path):
    g = world
    srv = serve(dnsd, g, world_mmdb)
    jp, gb = query(LAT, ecs=("203.0.113.0", 24)), query(LAT, ecs=("81.2.69.0", 24))
    with Client(srv) as c:
        expect(c, jp, answer=[addr_rr(LAT, WEB_V4["us-west"])], scope=24)
        change(srv, g, "latency", "set", "JP", "ap-northeast", "12")
        expect(c, jp, answer=[addr_rr(LAT, WEB_V4["ap-northeast"])], scope=24)
        # GB had no measurement (proximity: eu-west); an import gives it one
        expect(c, gb, answer=[addr_rr(LAT, WEB_V4["eu-west"])], scope=23)
        csv = tmp_path / "gb.csv"
        csv.write_text("# from the probes in London\nGB,us-east,70\nGB,eu-central,8\n")
        change(srv, g, "latency", "import", csv)
        # (the unmeasured regions follow by distance, which London and Edinburgh rank
        # differently: the scope stays /23)
        expect(c, gb, answer=[addr_rr(LAT, WEB_V4["eu-central"])], scope=23)
        # a continent-wide measurement does not beat the country's
        change(srv, g, "latency", "set", "EU", "lab", "1")
        expect(c, gb, answer=[addr_rr(LAT, WEB_V4["eu-central"])], scope=23)
        expect(c, query(LAT, ecs=("2.16.0.0", 16)), answer=[addr_rr(LAT, WEB_V4["lab"])],
               scope=16)


def test_unavailable_region_goes_to_the_next_lowest(world, world_mmdb, dnsd):
    """DE: eu-west 9 ms, eu-central 25 ms, then the unmeasured regions nearest first
    (us-east before ap-northeast from Berlin)."""
    g = world
    srv = serve(dnsd, g, world_mmdb)
    de = query(LAT, ecs=("89.160.1.0", 24))
    with Client(srv) as c:
        change(srv, g, "endpoint", "set", "web", WEB_V4["eu-west"], "--weight", "0")
        expect(c, de, answer=[addr_rr(LAT, WEB_V4["eu-central"])], scope=17)
        change(srv, g, "endpoint", "set", "web", WEB_V4["eu-central"], "--enabled", "no")
        expect(c, de, answer=[addr_rr(LAT, WEB_V4["us-east"])], scope=17)
