"""gtm-dnsd: qtype ANY answered minimally (RFC 8482 §4.1): one RRset of the node,
never the whole node, over UDP and over TCP alike; ANY at names that do not exist, at
empty non-terminals, at a CNAME, at a wildcard and below a zone cut.
"""
import dns.rcode
import dns.rdatatype
import pytest

from dnsd_util import SOA, ask, check, make, mixcase
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

MULTI = {
    "A": ["multi.dnsd.test. 3600 IN A 192.0.2.31"],
    "AAAA": ["multi.dnsd.test. 3600 IN AAAA 2001:db8::31"],
    "TXT": ['multi.dnsd.test. 3600 IN TXT "multi"'],
    "MX": ["multi.dnsd.test. 3600 IN MX 5 mail.dnsd.test."],
}
APEX = {
    "A": ["dnsd.test. 3600 IN A 192.0.2.1"],
    "TXT": ['dnsd.test. 3600 IN TXT "apex"'],
    "NS": ["dnsd.test. 3600 IN NS ns1.dnsd.test.", "dnsd.test. 3600 IN NS ns2.dnsd.test."],
    "SOA": ["dnsd.test. 3600 IN SOA ns1.dnsd.test. hostmaster.dnsd.test. 2024010101 7200 "
            "900 1209600 300"],
    "MX": ["dnsd.test. 3600 IN MX 10 mail.dnsd.test.",
           "dnsd.test. 3600 IN MX 20 mx.elsewhere.example."],
}
ADDITIONAL = {  # what each RRset brings into additional (RFC 1035 §3.3.9, §3.3.11)
    "MX": ["mail.dnsd.test. 300 IN A 192.0.2.25"],
    "NS": ["ns1.dnsd.test. 3600 IN A 192.0.2.53", "ns1.dnsd.test. 3600 IN AAAA 2001:db8::53",
           "ns2.dnsd.test. 3600 IN A 192.0.2.54"],
}


@pytest.mark.parametrize("qname,rrsets", [("multi.dnsd.test", MULTI), ("dnsd.test", APEX)],
                         ids=["multi", "apex"])
def test_any_returns_exactly_one_whole_rrset(server, transport, qname, rrsets):
    q = make(mixcase(qname), "ANY", edns=0)
    r, wire = ask(server, q, transport)
    assert len(r.answer) == 1, f"ANY answered {len(r.answer)} RRsets:\n{r}"
    rtype = dns.rdatatype.to_text(r.answer[0].rdtype)
    assert rtype in rrsets, f"ANY answered with a {rtype} RRset the node does not have"
    check(q, wire, answer=rrsets[rtype], additional=ADDITIONAL.get(rtype, []))


def test_any_at_a_missing_name_is_nxdomain(server, transport):
    q = make("nothere.dnsd.test", "ANY")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[SOA])


def test_any_at_an_empty_non_terminal_is_nodata(server, transport):
    q = make("b.ent.dnsd.test", "ANY")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_any_at_a_cname_is_the_cname(server, transport):
    """The CNAME is the node's only RRset; it is not chased for ANY."""
    q = make("alias.dnsd.test", "ANY")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["alias.dnsd.test. 120 IN CNAME www.dnsd.test."])


def test_any_at_a_wildcard_name(server, transport):
    q = make("foo.wild.dnsd.test", "ANY")
    r, wire = ask(server, q, transport)
    assert len(r.answer) == 1, f"ANY answered {len(r.answer)} RRsets:\n{r}"
    choices = {"A": ["foo.wild.dnsd.test. 500 IN A 192.0.2.77"],
               "TXT": ['foo.wild.dnsd.test. 500 IN TXT "wildcard"']}
    rtype = dns.rdatatype.to_text(r.answer[0].rdtype)
    assert rtype in choices
    check(q, wire, answer=choices[rtype])


def test_any_below_a_cut_is_a_referral(server, transport):
    q = make("host.sub.dnsd.test", "ANY")
    r, wire = ask(server, q, transport)
    check(q, wire, aa=False,
          authority=["sub.dnsd.test. 900 IN NS ns1.sub.dnsd.test.",
                     "sub.dnsd.test. 900 IN NS ns.elsewhere.example."],
          additional=["ns1.sub.dnsd.test. 900 IN A 192.0.2.100",
                      "ns1.sub.dnsd.test. 900 IN AAAA 2001:db8::100"])
