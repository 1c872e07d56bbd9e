"""gtm-dnsd: DNAME redirection (RFC 6672 §2 and §3.2) over UDP and TCP — a name below a
DNAME owner is answered with the DNAME and the CNAME it synthesises (the DNAME's TTL),
followed inside the zone like any CNAME; the owner itself is not redirected; a
substitution longer than a name is YXDOMAIN. tests/system/test_differential_knot.py
compares the same cases with Knot DNS. Zone: tests/system/zones/dnsd.test.zone.
"""
import dns.rcode

from dnsd_util import SOA, ask, check, make, mixcase
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

MOVED = "moved.dnsd.test. 600 IN DNAME wild.dnsd.test."
AWAY = "away.dnsd.test. 3600 IN DNAME nowhere.elsewhere.example."
LONG_TARGET = "a" * 50 + "." + "b" * 50 + "." + "c" * 50 + ".elsewhere.example."
LONG = f"longdname.dnsd.test. 3600 IN DNAME {LONG_TARGET}"
DEEPER = "deeper.dnsd.test. 3600 IN DNAME sub.deeper.dnsd.test."
PING = "ping.dnsd.test. 3600 IN DNAME pong.dnsd.test."
PONG = "pong.dnsd.test. 3600 IN DNAME ping.dnsd.test."


def test_name_below_is_redirected_and_followed(server, transport):
    q = make(mixcase("host.moved.dnsd.test"), "A", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[MOVED, "host.moved.dnsd.test. 600 IN CNAME host.wild.dnsd.test.",
                           "host.wild.dnsd.test. 3600 IN A 192.0.2.78"])


def test_redirect_onto_a_wildcard(server, transport):
    q = make("any.thing.moved.dnsd.test", "TXT")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[MOVED,
                           "any.thing.moved.dnsd.test. 600 IN CNAME any.thing.wild.dnsd.test.",
                           'any.thing.wild.dnsd.test. 500 IN TXT "wildcard"'])


def test_redirect_to_a_name_that_does_not_exist(server, transport):
    """RFC 6604 §3: the rcode is that of the last name (x.ent.wild: the empty
    non-terminal ent.wild blocks the wildcard)."""
    q = make("x.ent.moved.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[SOA],
          answer=[MOVED, "x.ent.moved.dnsd.test. 600 IN CNAME x.ent.wild.dnsd.test."])


def test_redirect_out_of_the_zone(server, transport):
    q = make("a.b.away.dnsd.test", "AAAA", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[AWAY, "a.b.away.dnsd.test. 3600 IN CNAME "
                                 "a.b.nowhere.elsewhere.example."])


def test_cname_question_is_answered_by_the_synthesised_cname(server, transport):
    q = make("host.moved.dnsd.test", "CNAME")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[MOVED, "host.moved.dnsd.test. 600 IN CNAME host.wild.dnsd.test."])


def test_owner_itself_is_not_redirected(server, transport):
    q = make("moved.dnsd.test", "DNAME")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[MOVED])
    q = make("moved.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_substitution_longer_than_a_name_is_yxdomain(server, transport):
    """RFC 6672 §2.2: 95 bytes of prefix and a 172-byte target make 267 > 255."""
    name = "x" * 63 + "." + "y" * 30 + ".longdname.dnsd.test"
    q = make(name, "A")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.YXDOMAIN, answer=[LONG])
    q = make("short.longdname.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[LONG, f"short.longdname.dnsd.test. 3600 IN CNAME short.{LONG_TARGET}"])


def test_a_dname_is_not_repeated(server, transport):
    """A DNAME whose target is below itself would redirect the synthesised name again and
    again, and two DNAMEs may redirect to each other: the answer holds each DNAME once
    and stops there (the resolver asks on for the last CNAME's target)."""
    q = make("x.deeper.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[DEEPER, "x.deeper.dnsd.test. 3600 IN CNAME x.sub.deeper.dnsd.test."])
    q = make("x.ping.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[PING, "x.ping.dnsd.test. 3600 IN CNAME x.pong.dnsd.test.",
                           PONG, "x.pong.dnsd.test. 3600 IN CNAME x.ping.dnsd.test."])
