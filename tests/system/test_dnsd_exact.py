"""gtm-dnsd: exact matches (RFC 1034 §4.3.2), the header bits of an answer, the question
name's case (DNS 0x20) and name compression (RFC 1035 §4.1.4), over UDP and TCP.

Zone: tests/system/zones/dnsd.test.zone. Queries use mixed-case names; check() asserts
the question is echoed byte for byte and the whole answer, TTLs included.
"""
import dns.flags
import dns.message
import dns.rcode
import pytest

from dnsd_util import AA, CD, QR, RD, ask, check, exchange, header_flags, make, mixcase
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

EXACT = {
    ("dnsd.test.", "A"): ["dnsd.test. 3600 IN A 192.0.2.1"],
    ("dnsd.test.", "TXT"): ['dnsd.test. 3600 IN TXT "apex"'],
    ("www.dnsd.test.", "A"): ["www.dnsd.test. 600 IN A 192.0.2.80"],
    ("www.dnsd.test.", "AAAA"): ["www.dnsd.test. 600 IN AAAA 2001:db8::80"],
    ("mail.dnsd.test.", "A"): ["mail.dnsd.test. 300 IN A 192.0.2.25"],
    ("dnsd.test.", "SOA"): [
        "dnsd.test. 3600 IN SOA ns1.dnsd.test. hostmaster.dnsd.test. 2024010101 7200 900 "
        "1209600 300"],
    ("big.dnsd.test.", "A"): [f"big.dnsd.test. 3600 IN A 198.51.100.{i}" for i in range(1, 41)],
}


@pytest.mark.parametrize("qname,qtype", sorted(EXACT), ids=lambda v: str(v))
def test_exact_match(server, transport, qname, qtype):
    q = make(mixcase(qname), qtype, edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=EXACT[(qname, qtype)])


def test_mx_answer_carries_in_zone_target_addresses(server, transport):
    """RFC 1035 §3.3.9: the additional section holds the A/AAAA of in-zone exchanges;
    out-of-zone ones get none."""
    q = make("DnSd.TeSt", "MX")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["dnsd.test. 3600 IN MX 10 mail.dnsd.test.",
                           "dnsd.test. 3600 IN MX 20 mx.elsewhere.example."],
          additional=["mail.dnsd.test. 300 IN A 192.0.2.25"])


def test_apex_ns_answer_carries_glue(server, transport):
    q = make("dnsd.test", "NS", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["dnsd.test. 3600 IN NS ns1.dnsd.test.",
                           "dnsd.test. 3600 IN NS ns2.dnsd.test."],
          additional=["ns1.dnsd.test. 3600 IN A 192.0.2.53",
                      "ns1.dnsd.test. 3600 IN AAAA 2001:db8::53",
                      "ns2.dnsd.test. 3600 IN A 192.0.2.54"])


@pytest.mark.parametrize("rd,cd", [(True, False), (False, False), (True, True), (False, True)])
def test_rd_and_cd_are_copied_ra_never_set(server, transport, rd, cd):
    """RFC 1035 §4.1.1: RD is copied into the response; RFC 4035 §3.1.6: CD too; an
    authoritative-only server never sets RA (RFC 1035 §4.1.1); AD stays clear for
    unsigned data."""
    q = make("www.dnsd.test", "A", rd=rd, cd=cd)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["www.dnsd.test. 600 IN A 192.0.2.80"])
    assert header_flags(wire) == QR | AA | (RD if rd else 0) | (CD if cd else 0)


def test_z_and_ad_bits_of_the_query_are_not_echoed(server, transport):
    """RFC 1035 §4.1.1: Z must be zero in responses; RFC 6840 §5.8: AD in a query only
    asks for AD, which a server without validated data does not set."""
    q = make("www.dnsd.test", "A")
    wire = bytearray(q.to_wire())
    wire[3] |= 0x40 | 0x20  # Z and AD
    data = exchange(server, bytes(wire), transport)
    assert data is not None
    assert header_flags(data) == QR | AA | RD
    r = dns.message.from_wire(data)
    assert [str(rr) for rr in r.answer] == ["www.dnsd.test. 600 IN A 192.0.2.80"]


@pytest.mark.parametrize("qname", ["WWW.DNSD.TEST", "wWw.DnSd.tEsT", "www.dnsd.test"])
def test_query_name_case_is_preserved(server, transport, qname):
    """DNS 0x20: the question comes back exactly as asked, and the answer's owner (a
    pointer to the question) in the query's case, as Knot and NSD do."""
    q = make(qname, "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["www.dnsd.test. 600 IN A 192.0.2.80"])
    assert r.question[0].name.to_text() == qname + "."
    assert r.answer[0].name.to_text() == qname + "."


def test_names_are_compressed(server, transport):
    """RFC 1035 §4.1.4: owners and RDATA names (NS, MX, SOA) point back to earlier
    names; here every owner and target ends in dnsd.test, written once."""
    q = make("dnsd.test", "NS")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["dnsd.test. 3600 IN NS ns1.dnsd.test.",
                           "dnsd.test. 3600 IN NS ns2.dnsd.test."],
          additional=["ns1.dnsd.test. 3600 IN A 192.0.2.53",
                      "ns1.dnsd.test. 3600 IN AAAA 2001:db8::53",
                      "ns2.dnsd.test. 3600 IN A 192.0.2.54"])
    # the zone name (11 bytes on the wire) appears in full only in the question
    assert wire.count(b"\x04dnsd\x04test\x00") == 1
    # and the 40-record answer is mostly pointers: 2 bytes of owner per record
    q = make("big.dnsd.test", "A", edns=0)
    r, wire = ask(server, q, transport)
    assert len(r.answer[0]) == 40
    assert len(wire) == 12 + 19 + 40 * (2 + 10 + 4) + 11


@pytest.mark.parametrize("qname,qtype,rcode,answer,authority", [
    ("www.dnsd.test", "A", "NOERROR", EXACT[("www.dnsd.test.", "A")], []),
    ("dnsd.test", "SOA", "NOERROR", EXACT[("dnsd.test.", "SOA")], []),
    ("nothere.dnsd.test", "A", "NXDOMAIN", [], [
        "dnsd.test. 300 IN SOA ns1.dnsd.test. hostmaster.dnsd.test. 2024010101 7200 900 "
        "1209600 300"]),
], ids=["a", "soa", "nxdomain"])
def test_qclass_any_gets_the_in_data_not_authoritative(server, transport, qname, qtype, rcode,
                                                       answer, authority):
    """QCLASS * (RFC 1035 §3.2.5) asks for every class: the IN data we hold answers it,
    with AA clear, since a server of one class cannot speak for all of them (NSD does
    the same; Knot DNS sets AA)."""
    q = make(mixcase(qname), qtype, rdclass="ANY", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.from_text(rcode), aa=False, answer=answer,
          authority=authority)
