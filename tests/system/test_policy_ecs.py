"""EDNS Client Subnet (RFC 7871) in gtm-dnsd: the option is echoed with the query's
family, SOURCE PREFIX-LENGTH and address, and a SCOPE PREFIX-LENGTH that is the widest
prefix around the client with the same answer (adjacent GeoIP networks that lead to the
same decision merged), longer than the source prefix when the source did not decide, 0
when the answer does not depend on the address or the source is 0; at most /24 (IPv4)
and /56 (IPv6) of the address is used, so no scope is longer than that; a malformed
option is FORMERR.
"""
import struct

import dns.edns
import dns.message
import dns.rcode
import pytest

import dnsd_util
from policy_util import (ECS, GEO, LAT, PROX, STATIC, STATIC_A, WEB_V4, WEB_V6, Client,
                         addr_rr, bulk_ask, change, check, ecs_bytes, expect, negative_soa,
                         query, rr, serve)
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)


@pytest.fixture
def srv(world, world_mmdb, dnsd):
    return serve(dnsd, world, world_mmdb)


def test_merged_networks_give_a_shorter_scope(world, world_mmdb, dnsd):
    """GB is four /24 networks in the fixture (two subdivisions, ENG and SCT): mapped by
    country they are one /22 for the resolver to cache; DE's two /17s one /16. Once
    GB-SCT maps elsewhere, the blocks are its /23s."""
    g = world
    srv = serve(dnsd, g, world_mmdb)
    with Client(srv) as c:
        for addr in ("81.2.68.0", "81.2.69.0", "81.2.70.0", "81.2.71.0"):
            expect(c, query(GEO, ecs=(addr, 24)), answer=[addr_rr(GEO, WEB_V4["eu-west"])],
                   scope=22)
        for addr in ("89.160.0.0", "89.160.255.0"):
            expect(c, query(GEO, ecs=(addr, 24)), answer=[addr_rr(GEO, WEB_V4["eu-central"])],
                   scope=16)
        change(srv, g, "geo", "map", "GB-SCT", "eu-central")
        expect(c, query(GEO, ecs=("81.2.69.0", 24)), answer=[addr_rr(GEO, WEB_V4["eu-west"])],
               scope=23)
        expect(c, query(GEO, ecs=("81.2.70.0", 24)),
               answer=[addr_rr(GEO, WEB_V4["eu-central"])], scope=23)


def test_scope_longer_than_a_short_source(srv):
    """RFC 7871 §7.2.1: a source too short to decide gets the answer of its lowest block,
    with that block's scope, longer than the source: the resolver should send more (and
    caches the answer for its source prefix only)."""
    with Client(srv) as c:
        # DE's block is a /16: a /12 source (89.160.0.0) is answered for the /16
        expect(c, query(GEO, ecs=("89.160.0.0", 12)), answer=[addr_rr(GEO, WEB_V4["eu-central"])],
               scope=16)
        # GB's /22: a /22 source is the block exactly
        expect(c, query(GEO, ecs=("81.2.68.0", 22)), answer=[addr_rr(GEO, WEB_V4["eu-west"])],
               scope=22)
        # 2001:db8::/40 holds several /48s: its lowest, 2001:db8::/48, answers ('*')
        expect(c, query(GEO, ecs=("2001:db8:1::", 40)), answer=[addr_rr(GEO, WEB_V4["us-east"])],
               scope=48)
        # 81.0.0.0/8: its lowest address is in no network; the next one up is GB's
        # 81.2.68.0/22, so 81.0.0.0/15 is the block that answers
        for name in (GEO, LAT, PROX):
            expect(c, query(name, ecs=("81.2.69.0", 8)), scope=15,
                   answer=[addr_rr(name, WEB_V4["us-east"])])


def test_source_prefix_zero(srv):
    """SOURCE 0 (RFC 7871 §7.1.2: the client wants no address used): not the
    resolver's address either — the answer for no location ('*'), scope 0."""
    with Client(srv, source="127.0.1.1") as c:  # a resolver in GB
        expect(c, query(GEO), answer=[addr_rr(GEO, WEB_V4["eu-west"])])
        for addr in ("0.0.0.0", "::"):
            expect(c, query(GEO, ecs=(addr, 0)), answer=[addr_rr(GEO, WEB_V4["us-east"])],
                   scope=0)


def test_scope_zero_when_the_answer_does_not_depend_on_the_address(srv, world):
    soa = negative_soa(world)
    with Client(srv) as c:
        for ecs in (("81.2.69.0", 24), ("2001:db8:1::", 48), ("203.0.113.9", 32)):
            expect(c, query(STATIC, ecs=ecs), answer=[rr(STATIC, "A", STATIC_A, 300)], scope=0)
            expect(c, query("nothere.example.com", ecs=ecs), rcode=dns.rcode.NXDOMAIN,
                   authority=[soa], scope=0)
            expect(c, query(STATIC, "AAAA", ecs=ecs), authority=[soa], scope=0)
            # a managed name's other types: no data, whatever the client
            expect(c, query(GEO, "TXT", ecs=ecs), authority=[soa], scope=0)


def test_at_most_24_bits_of_ipv4_are_used(srv):
    """198.51.101.0/24 holds two /26 networks of the fixture (US-CA, then US-NY): the
    server uses only the /24, so every address of it gets one answer, and no scope
    claims more than /24. A /32 source is echoed as /32, its address as sent."""
    with Client(srv) as c:
        ref, _ = expect(c, query(GEO, ecs=("198.51.101.0", 24)), scope=None,
                        answer=[addr_rr(GEO, WEB_V4["us-west"])])
        problems = []
        for addr, source in [("198.51.101.77", 32), ("198.51.101.200", 32),
                             ("198.51.101.64", 26), ("198.51.101.1", 32)]:
            r, scope = expect(c, query(GEO, ecs=(addr, source)), scope=None,
                              answer=[addr_rr(GEO, WEB_V4["us-west"])])
            if scope > 24:
                problems.append(f"{addr}/{source}: scope /{scope}")
        assert not problems, "scope longer than the /24 the server uses: " + ", ".join(problems)


def test_at_most_56_bits_of_ipv6_are_used(srv):
    """2001:db8:5::/64 is a /64 network of the fixture: a /128 client in it is echoed as
    /128 with its address as sent, and the scope is no longer than /56."""
    with Client(srv) as c:
        r, scope = expect(c, query(GEO, ecs=("2001:db8:5::1", 128)), scope=None,
                          answer=[addr_rr(GEO, WEB_V4["eu-central"])])
        assert scope <= 56, f"scope /{scope} for a client of which the server uses /56"


def test_ecs_over_tcp(srv):
    q = query(GEO, ecs=("203.0.113.0", 24))
    r, wire = dnsd_util.ask(srv, q, "tcp")
    check(q, wire, answer=[addr_rr(GEO, WEB_V4["ap-northeast"])],
          edns_options=[(ECS, ecs_bytes("203.0.113.0", 24, 24))])


def _raw(payload):
    return dns.edns.GenericOption(ECS, payload)


MALFORMED = {
    "family-3": struct.pack("!HBB", 3, 24, 0) + b"\x51\x02\x45",
    "family-0": struct.pack("!HBB", 0, 0, 0),
    "ipv4-source-33": struct.pack("!HBB", 1, 33, 0) + b"\x51\x02\x45\x01\x00",
    "ipv6-source-129": struct.pack("!HBB", 2, 129, 0) + b"\x20\x01" + b"\x00" * 15,
    "address-too-long": struct.pack("!HBB", 1, 24, 0) + b"\x51\x02\x45\x00",
    "address-too-short": struct.pack("!HBB", 1, 24, 0) + b"\x51\x02",
    "ipv6-address-too-short": struct.pack("!HBB", 2, 48, 0) + b"\x20\x01\x0d\xb8",
    "bits-past-source": struct.pack("!HBB", 1, 23, 0) + b"\x51\x02\x45",
    "ipv6-bits-past-source": struct.pack("!HBB", 2, 33, 0) + b"\x20\x01\x0d\xb8\x40",
    "scope-in-query": struct.pack("!HBB", 1, 24, 24) + b"\x51\x02\x45",
    "shorter-than-header": b"\x00\x01\x18",
}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_malformed_option_is_formerr(srv, transport):
    failures = []
    for name, payload in list(MALFORMED.items()) + [("twice", None)]:
        opts = [_raw(ecs_bytes("81.2.69.0", 24))] * 2 if payload is None else [_raw(payload)]
        q = query(GEO, options=opts)
        data = dnsd_util.exchange(srv, q.to_wire(), transport)
        # FORMERR, no answer, not authoritative; an OPT (RFC 6891 §7) without ECS
        # (given twice, the first, well-formed one may be echoed with scope 0)
        allowed = [[], [(ECS, ecs_bytes("81.2.69.0", 24, 0))]] if payload is None else [[]]
        try:
            r = dns.message.from_wire(data)
            opts = [(o.otype, o.to_wire()) for o in r.options]
            check(q, data, rcode=dns.rcode.FORMERR, aa=False,
                  edns_options=opts if opts in allowed else [])
        except AssertionError as e:
            failures.append(f"{name}: {e}")
    assert not failures, "\n".join(failures)
    # and the server still answers
    with Client(srv) as c:
        expect(c, query(GEO, ecs=("81.2.69.0", 24)), answer=[addr_rr(GEO, WEB_V4["eu-west"])],
               scope=22)


def test_well_formed_edge_cases(srv):
    """Valid options at the edges: /32 and /128 sources, a /25 (last octet half used),
    an odd IPv6 length (whose lowest /48 answers)."""
    with Client(srv) as c:
        expect(c, query(GEO, ecs=("81.2.71.128", 25)), answer=[addr_rr(GEO, WEB_V4["eu-west"])],
               scope=22)
        expect(c, query(GEO, ecs=("2001:db8:2:ff80::", 57)), scope=48,
               answer=[addr_rr(GEO, WEB_V4["us-west"])])
        expect(c, query(GEO, "AAAA", ecs=("2001:db8:3::", 33)), scope=48,
               answer=[addr_rr(GEO, WEB_V6["us-east"])])


def test_bulk_scopes_are_consistent(srv):
    """Every /24 of GB's /22 and of DE's /16 (1,280 queries): the same answer and the
    block's scope, each echoed with the query's own address."""
    nets = [f"81.2.{b}.0" for b in range(68, 72)] + [f"89.160.{b}.0" for b in range(256)]
    with Client(srv) as c:
        res = bulk_ask(c, [query(GEO, ecs=(n, 24)) for n in nets])
    for n, r in zip(nets, res):
        want = ("10.1.0.1", 22) if n.startswith("81.") else ("10.2.0.1", 16)
        assert (r.rcode, r.aa, r.addrs, r.scope) == (0, True, [want[0]], want[1]), (n, r.answer,
                                                                                   r.ecs)
        assert r.ecs[3] == bytes(int(x) for x in n.split(".")[:3])
