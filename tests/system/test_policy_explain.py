"""gtmctl explain NAME [A|AAAA] --client IP[/PREFIX] --geoip FILE: the client's location,
the map entry or measurement that applies, each candidate and region step, the answer
with its TTL and the ECS scope — and gtmctl explain --batch against the real server:
for 10,000 random clients per mode (inside and outside the fixture's networks, random
prefixes, IPv4 and IPv6), the server, asked with the same ECS option, gives the same
addresses and the same scope.
"""
import ipaddress
import random

import pytest

from policy_util import (GEO, LAT, PROX, WEB_V4, WORLD_NETS, Client, bulk_ask, explain,
                         explain_batch, query, serve)
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)

FO, STICKY = "fo.example.com.", "sticky.example.com."


def lines(out):
    return out.splitlines()


def test_explain_geo_client(world, world_mmdb):
    out = explain(world, GEO, "A", "--client", "81.2.69.160", geoip=[world_mmdb])
    assert lines(out)[:4] == [
        "client 81.2.69.160: the server uses 81.2.69.0/24 (at most /24 of IPv4, /56 of IPv6)",
        "location: country GB-ENG, continent EU, 51.5100 -0.1300; GeoIP network 81.2.68.0/23",
        "policy geo.example.com.: mode geo, pool web, ttl 30, answers 1, fallback fail-open, "
        "region-up 50%",
        "geo map: country GB -> eu-west, eu-central"]
    assert "  preference for this client: eu-west, eu-central (same for the whole /22)" in \
        lines(out)
    assert lines(out)[-4:] == [
        "  region eu-west: chosen (2 of 2 endpoints healthy)",
        "answer (TTL 30):",
        "  geo.example.com. 30 IN A 10.1.0.1",
        "ECS scope: /22 (resolvers may reuse this answer for 81.2.68.0/22)"]


def test_explain_fail_open(world, world_mmdb):
    """Every region of the client's entry down (drills): explain says the fail-open is
    for those regions, and that the chosen region's endpoints are counted as up."""
    g = world
    for region in ("eu-west", "eu-central"):
        g.run("drill", "fail", region)
    out = lines(explain(g, GEO, "A", "--client", "81.2.69.160", geoip=[world_mmdb]))
    assert "nothing healthy in those regions: fail-open, as if every endpoint were up" in out
    assert "  region eu-west: chosen (2 endpoints, counted as up)" in out


def test_explain_cidr_override_and_skipped_family(world, world_mmdb):
    out = explain(world, GEO, "AAAA", "--client", "127.0.7.9", geoip=[world_mmdb])
    assert "geo map: cidr 127.0.7.0/24 -> lab, eu-west" in lines(out)
    assert "  region eu-west: chosen (2 of 2 endpoints healthy)" in lines(out)
    assert lines(out)[-3:] == ["answer (TTL 30):",
                               "  geo.example.com. 30 IN AAAA 2001:db8:ff:1::1",
                               "ECS scope: /24 (resolvers may reuse this answer for "
                               "127.0.7.0/24)"]
    # lab has no IPv6 endpoint: it is not even a candidate for AAAA
    assert not any("10.7.0.1" in line for line in lines(out))


def test_explain_latency_and_drained(world, world_mmdb):
    g = world
    g.run("endpoint", "set", "web", WEB_V4["us-west"], "--weight", "0")
    g.run("policy", "set", LAT, "--pool", "web", "--mode", "latency", "--ttl", "12")
    out = explain(g, LAT, "--client", "203.0.113.0/24", geoip=[world_mmdb])
    assert "latency measured from country JP: us-west 40.0 ms; ap-northeast 90.0 ms;" in \
        lines(out)
    assert "  drop 10.3.0.1 (us-west): weight 0 (drained)" in lines(out)
    assert lines(out)[-4:] == ["  region ap-northeast: chosen (1 of 1 endpoints healthy)",
                               "answer (TTL 12):",
                               "  lat.example.com. 12 IN A 10.5.0.1",
                               "ECS scope: /24 (resolvers may reuse this answer for "
                               "203.0.113.0/24)"]


def test_explain_proximity_and_unknown_location(world, world_mmdb):
    out = explain(world, PROX, "--client", "81.2.70.1/24", geoip=[world_mmdb])
    assert "location: country GB-SCT, continent EU, 55.9500 -3.1900; GeoIP network " \
           "81.2.70.0/23" in lines(out)
    assert "distance from the client: ap-northeast 9237 km; eu-central 1023 km; eu-west " \
           "533 km; sa-east 9742 km; us-east 5587 km; us-west 8124 km;" in lines(out)
    assert lines(out)[-2:] == ["  prox.example.com. 30 IN A 10.1.0.1",
                               "ECS scope: /23 (resolvers may reuse this answer for "
                               "81.2.70.0/23)"]
    out = explain(world, GEO, "--client", "10.1.2.3", geoip=[world_mmdb])
    assert "location: unknown (not in the GeoIP database)" in lines(out)
    assert "geo map: default * -> us-east" in lines(out)
    assert lines(out)[-1] == "ECS scope: /5 (resolvers may reuse this answer for 8.0.0.0/5)"
    # without --geoip the client has no location, and says so
    out = explain(world, GEO, "--client", "81.2.69.160")
    assert "location: unknown (no GeoIP database: give --geoip FILE, as gtm-dnsd has)" in \
        lines(out)
    assert "  geo.example.com. 30 IN A 10.4.0.1" in lines(out)


def test_explain_refuses_what_has_no_decision(world):
    for name, why in (("static.example.com", "it has static records"),
                      ("nothere.example.com", "it does not exist")):
        p = world.run("explain", name, "--client", "192.0.2.1", rc=1)
        assert p.stderr == (f"gtmctl: explain: {name}. is not a managed name ({why}); only "
                            "managed names have decisions\n")
    p = world.run("explain", GEO, "--client", "192.0.2.1/33", rc=2)
    assert p.stderr.startswith("gtmctl: explain: --client: '192.0.2.1/33' is not an "
                               "address or address/prefix\n")


# ---- explain --batch and the server agree ------------------------------------------------


def random_clients(n, seed):
    """n clients "ADDR/PREFIX": inside the fixture's networks (IPv4, IPv6, and 6to4 of
    its IPv4 networks) and anywhere, with random prefix lengths."""
    rnd = random.Random(seed)
    nets = [ipaddress.ip_network(x["net"]) for x in WORLD_NETS]
    v4 = [x for x in nets if x.version == 4]
    v6 = [x for x in nets if x.version == 6]
    out = []
    for i in range(n):
        kind = rnd.random()
        if kind < 0.4:
            network = rnd.choice(v4)
            addr = ipaddress.ip_address(int(network[0]) + rnd.randrange(network.num_addresses))
        elif kind < 0.6:
            addr = ipaddress.IPv4Address(rnd.getrandbits(32))
        elif kind < 0.8:
            network = rnd.choice(v6)
            addr = ipaddress.ip_address(int(network[0]) + rnd.getrandbits(
                128 - network.prefixlen))
        elif kind < 0.9:
            network = rnd.choice(v4)
            four = int(network[0]) + rnd.randrange(network.num_addresses)
            addr = ipaddress.IPv6Address((0x2002 << 112) | (four << 80) | rnd.getrandbits(80))
        else:
            addr = ipaddress.IPv6Address(rnd.getrandbits(128))
        bits = 32 if addr.version == 4 else 128
        r = rnd.random()
        prefix = bits if r < 0.2 else rnd.randrange(0, bits + 1) if r < 0.4 else \
            rnd.randrange(bits // 2, (24 if bits == 32 else 64) + 1)
        out.append(f"{addr}/{prefix}")
    return out


@pytest.mark.parametrize("name", [GEO, LAT, PROX, FO, STICKY],
                         ids=["geo", "latency", "proximity", "failover", "sticky"])
def test_batch_agrees_with_the_server(world, world_mmdb, dnsd, tmp_path, name):
    g = world
    # deterministic failover (one endpoint per tier) and sticky policies; the pool's
    # name sorts after "web" (pools are paired with endpoints in name order)
    g.run("pool", "add", "zfo")
    g.run("endpoint", "add", "zfo", "10.70.0.1", "--region", "eu-west", "--priority", "1")
    g.run("endpoint", "add", "zfo", "10.70.0.2", "--region", "us-east", "--priority", "2")
    g.run("endpoint", "add", "zfo", "2001:db8:70::2", "--region", "us-east", "--priority", "2")
    g.run("policy", "set", FO, "--pool", "zfo", "--mode", "failover")
    g.run("policy", "set", STICKY, "--pool", "web", "--mode", "weighted", "--sticky")
    srv = serve(dnsd, g, world_mmdb)
    clients = random_clients(10000, seed=sum(name.encode()))
    mismatches = []
    with Client(srv) as c:
        for qtype, some in (("A", clients), ("AAAA", clients[:2000])):
            want = explain_batch(g, name, some, tmp_path / f"{qtype}.txt", qtype=qtype,
                                 geoip=[world_mmdb])
            assert len(want) == len(set(some))
            ecs = [(x.split("/")[0], int(x.split("/")[1])) for x in some]
            res = bulk_ask(c, [query(name, qtype, ecs=e) for e in ecs])
            for client, r in zip(some, res):
                got = (sorted(r.addrs) if r.rcode == 0 else f"rcode {r.rcode}", r.scope)
                exp = (sorted(want[client][0]), want[client][1])
                if got != exp:
                    mismatches.append(f"{qtype} {client}: server {got}, explain {exp}")
    assert not mismatches, f"{len(mismatches)} disagreements, e.g.:\n" + \
        "\n".join(mismatches[:20])
