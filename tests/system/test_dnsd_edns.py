"""gtm-dnsd: EDNS(0) (RFC 6891) and NSID (RFC 5001), over UDP and TCP: the OPT record
is echoed with our payload size (1232) whatever the client offered, version > 0 gets
BADVERS (before any other error but a malformed query), the DO bit is echoed, unknown
options are ignored, an OPT anywhere but in the additional section is FORMERR, NSID is
sent when asked for and configured (--nsid) and never otherwise; a response to a query
with an OPT carries one, whatever its RCODE (RFC 6891 §7).
"""
import struct

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import pytest

from dnsd_util import EDE_NOT_AUTHORITATIVE, EDNS_SIZE, ask, check, exchange, make, mixcase, start
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

NSID = 3
WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]


@pytest.mark.parametrize("payload", [512, 1232, 4096, 65535])
def test_opt_echoed_with_our_payload_size(server, transport, payload):
    q = make(mixcase("www.dnsd.test"), "A", edns=0, payload=payload)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=WWW)  # checks r.payload == 1232, version 0, no options


def test_no_opt_without_edns(server, transport):
    """RFC 6891 §7: no OPT in the request, none in the response."""
    q = make("www.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=WWW)


@pytest.mark.parametrize("do", [True, False])
def test_do_bit_echoed(server, transport, do):
    """RFC 3225 §3: the DO bit is copied into the response."""
    q = make("www.dnsd.test", "A", edns=0, do=do)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=WWW)
    assert bool(r.ednsflags & dns.flags.DO) == do


def test_do_bit_echoed_in_negative_answer(server, transport):
    q = make("nothere.dnsd.test", "A", edns=0, do=True)
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[
        "dnsd.test. 300 IN SOA ns1.dnsd.test. hostmaster.dnsd.test. 2024010101 7200 900 "
        "1209600 300"])


@pytest.mark.parametrize("version", [1, 255])
@pytest.mark.parametrize("qname", ["www.dnsd.test", "www.elsewhere.example"])
def test_unsupported_version_gets_badvers(server, transport, version, qname):
    """RFC 6891 §6.1.3: BADVERS (extended RCODE 16), our OPT at version 0, no data."""
    q = make(qname, "A", edns=version)
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.BADVERS, aa=False)
    assert r.edns == 0 and wire[3] & 0xF == 0  # 16 = extended RCODE 1, header RCODE 0


def test_unknown_options_are_ignored(server, transport):
    """RFC 6891 §6.1.2: options we do not know are ignored, not echoed; the answer is
    as without them. (COOKIE we know: test_dnsd_cookies.py.)"""
    opts = [dns.edns.GenericOption(65001, b"xyz"), dns.edns.GenericOption(65535, b"")]
    q = make("www.dnsd.test", "A", edns=0, options=opts)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=WWW)


def test_two_opt_records_are_formerr(server, transport):
    """RFC 6891 §6.1.1: more than one OPT is FORMERR; §7: the response has an OPT."""
    q = make("www.dnsd.test", "A", edns=0)
    w = q.to_wire()
    opt = w[-11:]
    w = w[:10] + struct.pack("!H", 2) + w[12:] + opt
    data = exchange(server, w, transport)
    check(q, data, rcode=dns.rcode.FORMERR, aa=False)


@pytest.mark.parametrize("where", ["answer", "authority", "answer-and-additional"])
def test_opt_outside_the_additional_section_is_formerr(server, transport, where):
    """RFC 6891 §6.1.1: the OPT record belongs in the additional section only; one
    anywhere else (or one there and one elsewhere: two) makes the query FORMERR."""
    q = make("www.dnsd.test", "A", edns=0)
    w = q.to_wire()
    opt = w[-11:]
    an, ns, ar = {"answer": (1, 0, 0), "authority": (0, 1, 0),
                  "answer-and-additional": (1, 0, 1)}[where]
    w = w[:6] + struct.pack("!HHH", an, ns, ar) + w[12:-11] + opt + (opt if ar else b"")
    data = exchange(server, w, transport)
    assert data is not None, "no answer"
    assert struct.unpack("!HHHHHH", data[:12])[1] & 0xF == dns.rcode.FORMERR
    assert struct.unpack("!HHHH", data[4:12])[1:3] == (0, 0), "records in a FORMERR"


@pytest.mark.parametrize("opcode", [dns.opcode.IQUERY, dns.opcode.NOTIFY])
def test_badvers_comes_before_notimp(server, transport, opcode):
    """RFC 6891 §6.1.3: a responder that does not implement the request's EDNS version
    MUST answer BADVERS, whatever the opcode (Knot DNS does the same)."""
    q = make("www.dnsd.test", "A", edns=1)
    q.set_opcode(opcode)
    data = exchange(server, q.to_wire(), transport)
    assert data is not None
    r = dns.message.from_wire(data)
    assert r.rcode() == dns.rcode.BADVERS and r.opcode() == opcode and r.edns == 0


def test_query_larger_than_4_kib_is_answered(server, transport):
    """A query padded past 4 KiB (RFC 7830 Padding, 4,100 bytes) is read whole and
    answered, over UDP as over TCP (Knot DNS and NSD answer it too)."""
    q = make("www.dnsd.test", "A", edns=0, payload=65535,
             options=[dns.edns.GenericOption(12, bytes(4100))])
    assert len(q.to_wire()) > 4096
    r, wire = ask(server, q, transport)
    check(q, wire, answer=WWW)


def test_malformed_option_is_formerr_with_opt(server, transport):
    """RFC 6891 §7: a badly formed option is FORMERR, and the response has an OPT."""
    q = make("www.dnsd.test", "A", edns=0)
    w = q.to_wire()[:-2] + struct.pack("!H", 6) + struct.pack("!HH", 65001, 9) + b"ab"
    data = exchange(server, w, transport)
    check(q, data, rcode=dns.rcode.FORMERR, aa=False)


@pytest.mark.parametrize("opcode", [dns.opcode.NOTIFY, dns.opcode.STATUS], ids=["notify", "status"])
def test_opt_echoed_in_notimp_response(server, transport, opcode):
    """RFC 6891 §7: "If an OPT record is present in a received request, compliant
    responders MUST include an OPT record in their respective responses" — NOTIMP
    included (Knot DNS does)."""
    q = make("www.dnsd.test", "A", edns=0)
    q.set_opcode(opcode)
    data = exchange(server, q.to_wire(), transport)
    assert data is not None
    r = dns.message.from_wire(data)
    assert r.rcode() == dns.rcode.NOTIMP and r.opcode() == opcode
    assert r.edns == 0, f"no OPT in the NOTIMP response to a query with one:\n{r}"
    assert r.payload == EDNS_SIZE


def test_opt_echoed_in_formerr_for_qdcount_0(server, transport):
    """RFC 6891 §7 again: a query without a question but with an OPT gets FORMERR with
    an OPT (Knot DNS does)."""
    w = struct.pack("!HHHHHH", 0x4242, 0x0100, 0, 0, 0, 1) + \
        b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    data = exchange(server, w, transport)
    assert data is not None
    r = dns.message.from_wire(data)
    assert r.id == 0x4242 and r.rcode() == dns.rcode.FORMERR
    assert r.edns == 0, f"no OPT in the FORMERR response to a query with one:\n{r}"


# ---- NSID (RFC 5001) ----------------------------------------------------------------------

@pytest.mark.parametrize("arg,payload", [("gtm-test-1", b"gtm-test-1"),
                                         ("0x00ff6774", b"\x00\xffgt")])
def test_nsid_sent_when_asked_and_configured(shared_store, dnsd, transport, arg, payload):
    srv = start(dnsd, shared_store.db, "--nsid", arg)
    q = make("www.dnsd.test", "A", edns=0, options=[dns.edns.GenericOption(NSID, b"")])
    r, wire = ask(srv, q, transport)
    check(q, wire, answer=WWW, edns_options=[(NSID, payload)])
    # not asked for: not sent
    q = make("www.dnsd.test", "A", edns=0)
    r, wire = ask(srv, q, transport)
    check(q, wire, answer=WWW)
    # also on errors (RFC 5001 §2.2: in any response to a query that asked)
    q = make("www.elsewhere.example", "A", edns=0,
             options=[dns.edns.GenericOption(NSID, b"")])
    r, wire = ask(srv, q, transport)
    check(q, wire, rcode=dns.rcode.REFUSED, aa=False,
          edns_options=[(NSID, payload), EDE_NOT_AUTHORITATIVE])


def test_nsid_not_sent_when_not_configured(server, transport):
    q = make("www.dnsd.test", "A", edns=0, options=[dns.edns.GenericOption(NSID, b"")])
    r, wire = ask(server, q, transport)
    check(q, wire, answer=WWW, edns_options=[])


def test_nsid_without_edns_is_impossible_so_absent(shared_store, dnsd, transport):
    srv = start(dnsd, shared_store.db, "--nsid", "gtm-test-1")
    q = make("www.dnsd.test", "A")
    r, wire = ask(srv, q, transport)
    check(q, wire, answer=WWW)
