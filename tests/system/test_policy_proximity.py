"""Traffic policy mode "proximity" in gtm-dnsd: the nearest region by great-circle
distance from the client's GeoIP coordinates to the region's (`region add --lat
--lon`). The expected region is computed here with an independent haversine over the
regions that have an endpoint of the asked family; a region without coordinates (lab)
is never the nearest; a client without coordinates is left to the geo map.
"""
import ipaddress

import pytest

from policy_util import (PROX, REGIONS, WEB_V4, WEB_V6, WORLD_NETS, Client, addr_rr, change,
                         each, expect, nearest_regions, query, serve)
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)


@pytest.fixture
def srv(world, world_mmdb, dnsd):
    return serve(dnsd, world, world_mmdb)


def nearest(place, table, regions=REGIONS):
    return next(r for r in nearest_regions(place, regions) if r in table)


# every network of the world fixture that the server sees whole (at most /24, /56)
CLIENTS = [n for n in WORLD_NETS if "lat" in n and not n["net"].startswith("127.")
           and ipaddress.ip_network(n["net"]).prefixlen <=
           (24 if ":" not in n["net"] else 56)]


def inner(network):
    """Whether a fixture network lies strictly inside network."""
    return any(o.version == network.version and o != network and o.subnet_of(network)
               for o in (ipaddress.ip_network(n["net"]) for n in CLIENTS))


def test_nearest_region_for_every_fixture_network(srv):
    c = Client(srv)

    def one(n):
        network = ipaddress.ip_network(n["net"])
        source = min(network.prefixlen, 24 if network.version == 4 else 56)
        place = (n["lat"], n["lon"])
        for qtype, table in (("A", WEB_V4), ("AAAA", WEB_V6)):
            r, scope = expect(c, query(PROX, qtype, ecs=(str(network[0]), source)),
                              answer=[addr_rr(PROX, table[nearest(place, table)])])
            # longer than the source only where a smaller fixture network inside it
            # answers otherwise (RFC 7871 §7.2.1)
            assert 0 < scope <= (source if not inner(network) else 24 if network.version == 4
                                 else 56), (network, scope)

    each(CLIENTS, one)
    c.close()


def test_scope_is_the_block_with_one_ranking(srv):
    """Berlin's /17 and Hesse's /17 rank the regions differently: /17 each; Paris is
    alone in its /16 (its neighbours are empty, left to the map)."""
    with Client(srv) as c:
        for addr, region, scope in [("89.160.1.0", "eu-central", 17),
                                    ("89.160.200.0", "eu-central", 17),
                                    ("2.16.9.0", "eu-west", 16),
                                    ("192.0.2.0", "us-west", 24)]:
            expect(c, query(PROX, ecs=(addr, 24)), answer=[addr_rr(PROX, WEB_V4[region])],
                   scope=scope)


def test_source_address_clients(srv):
    for source, place in [("127.0.1.1", (51.51, -0.13)), ("127.0.2.1", (50.11, 8.68)),
                          ("127.0.3.1", (37.77, -122.42)), ("127.0.4.1", (35.68, 139.69)),
                          ("127.0.5.1", (-23.55, -46.63)), ("127.0.6.1", (40.71, -74.01)),
                          ("127.0.8.1", (-26.20, 28.05))]:
        with Client(srv, source=source) as c:
            expect(c, query(PROX, edns=False),
                   answer=[addr_rr(PROX, WEB_V4[nearest(place, WEB_V4)])])


def test_client_without_coordinates_follows_the_geo_map(srv):
    """Nowhere to measure from: the geo map decides ('*' -> us-east)."""
    with Client(srv) as c:
        expect(c, query(PROX, edns=False), answer=[addr_rr(PROX, WEB_V4["us-east"])])
        expect(c, query(PROX, ecs=("10.9.8.0", 24)), answer=[addr_rr(PROX, WEB_V4["us-east"])],
               scope=5)


def test_a_nearer_region_takes_over(world, world_mmdb, dnsd):
    """A region added near Edinburgh takes Scotland's clients, not London's."""
    g = world
    srv = serve(dnsd, g, world_mmdb)
    sct, eng = query(PROX, ecs=("81.2.70.0", 24)), query(PROX, ecs=("81.2.68.0", 24))
    with Client(srv) as c:
        expect(c, sct, answer=[addr_rr(PROX, WEB_V4["eu-west"])], scope=23)
        change(srv, g, "region", "add", "eu-north", "--lat", "55.86", "--lon", "-4.25")
        # a region without endpoints in the pool changes nothing
        expect(c, sct, answer=[addr_rr(PROX, WEB_V4["eu-west"])], scope=23)
        change(srv, g, "endpoint", "add", "web", "10.8.0.1", "--region", "eu-north")
        expect(c, sct, answer=[addr_rr(PROX, "10.8.0.1")], scope=23)
        expect(c, eng, answer=[addr_rr(PROX, WEB_V4["eu-west"])], scope=23)
        # AAAA: eu-north has no IPv6 endpoint, so the nearest with one answers
        expect(c, query(PROX, "AAAA", ecs=("81.2.70.0", 24)),
               answer=[addr_rr(PROX, WEB_V6["eu-west"])], scope=23)


def test_unavailable_nearest_moves_to_the_next_nearest(world, world_mmdb, dnsd):
    """From Tokyo: ap-northeast, then us-west; with every region that has coordinates
    drained, lab (no coordinates, ranked last) answers."""
    g = world
    srv = serve(dnsd, g, world_mmdb)
    jp = query(PROX, ecs=("203.0.113.0", 24))
    order = nearest_regions((35.68, 139.69))
    assert order[:2] == ["ap-northeast", "us-west"]
    with Client(srv) as c:
        expect(c, jp, answer=[addr_rr(PROX, WEB_V4["ap-northeast"])], scope=24)
        change(srv, g, "endpoint", "set", "web", WEB_V4["ap-northeast"], "--weight", "0")
        expect(c, jp, answer=[addr_rr(PROX, WEB_V4["us-west"])], scope=24)
        for region in order[1:]:
            g.run("endpoint", "set", "web", WEB_V4[region], "--enabled", "no")
        change(srv, g, "endpoint", "set", "web", WEB_V4["lab"], "--weight", "7")
        expect(c, jp, answer=[addr_rr(PROX, WEB_V4["lab"])], scope=24)
