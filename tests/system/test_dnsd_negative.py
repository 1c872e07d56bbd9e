"""gtm-dnsd: negative answers (RFC 2308, RFC 1034 §4.3.2) and empty non-terminals
(RFC 4592 §2.2.2, RFC 8020), over UDP and TCP: NXDOMAIN and NODATA are authoritative,
carry the zone's SOA in authority with TTL min(SOA TTL, SOA MINIMUM) (RFC 2308 §3 and
§5), and nothing else.

dnsd.test's SOA has TTL 3600 and MINIMUM 300 (negative TTL 300); child.dnsd.test's has
TTL 60 and MINIMUM 600 (negative TTL 60): both sides of the min() are exercised.
"""
import dns.rcode
import pytest

from dnsd_util import CHILD_SOA, SOA, ask, check, make, mixcase
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)


@pytest.mark.parametrize("qname", ["nothere.dnsd.test", "a.b.c.nothere.dnsd.test",
                                   "x.a.b.ent.dnsd.test", "www2.dnsd.test"])
def test_nxdomain_with_soa_minimum(server, transport, qname):
    q = make(mixcase(qname), "A", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[SOA])


def test_nxdomain_with_soa_ttl_below_minimum(server, transport):
    q = make("nothere.child.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[CHILD_SOA])


@pytest.mark.parametrize("qname,qtype", [("www.dnsd.test", "MX"), ("dnsd.test", "AAAA"),
                                         ("mail.dnsd.test", "TXT"), ("ns2.dnsd.test", "AAAA"),
                                         ("www.dnsd.test", "TYPE65280")])
def test_nodata_with_soa_minimum(server, transport, qname, qtype):
    q = make(mixcase(qname), qtype)
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_nodata_with_soa_ttl_below_minimum(server, transport):
    q = make("child.dnsd.test", "MX")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[CHILD_SOA])


@pytest.mark.parametrize("qname", ["b.ent.dnsd.test", "ent.dnsd.test"])
@pytest.mark.parametrize("qtype", ["A", "TXT"])
def test_empty_non_terminal_is_nodata(server, transport, qname, qtype):
    """a.b.ent has data, so b.ent and ent exist without any: NOERROR/NODATA, never
    NXDOMAIN (RFC 8020 §2: NXDOMAIN would deny a.b.ent too)."""
    q = make(qname, qtype, edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_name_below_an_empty_non_terminal_with_data(server, transport):
    q = make("a.b.ent.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["a.b.ent.dnsd.test. 3600 IN A 192.0.2.88"])
