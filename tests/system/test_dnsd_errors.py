"""gtm-dnsd: what it does with queries it cannot answer, over UDP and TCP: names outside
every zone are REFUSED with empty sections and AA clear; opcodes other than QUERY get
NOTIMP (RFC 1035 §4.1.1); a QDCOUNT other than 1, a truncated packet or garbage get
FORMERR with the header echoed; fewer than 12 bytes (no header to echo) and responses
(QR=1, RFC 1035 §7.3 / RFC 5452 §4.5) get no answer at all. A query signed with TSIG
gets NOTAUTH with a BADKEY TSIG (gtm-dnsd holds no keys).

Silence is checked without waiting out a timeout: the bad message is followed by a good
query from the same socket (the same TCP connection); the server handles both in
order, so the first thing that comes back must be the good query's answer.
"""
import base64
import os
import signal
import socket
import struct
import time

import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import pytest

from dnsd_util import (EDE_NOT_AUTHORITATIVE, FLAG_BITS, QR, RD, ask, check, exchange, make,
                       mixcase, question_end, start, tcp_connect, tcp_recv, tcp_send)
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]


def header(wire):
    return struct.unpack("!HHHHHH", wire[:12])


def expect_silence(srv, bad, transport):
    """Sends bad, then a good query; asserts the good query's answer is the first and
    only thing that comes back (within 1 s)."""
    probe = make("www.dnsd.test", "A")
    probe.id = 0xBEEF if bad[:2] != b"\xbe\xef" else 0xCAFE
    pw = probe.to_wire()
    if transport == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1)
            s.connect(("127.0.0.1", srv.port))
            s.send(bad)
            s.send(pw)
            first = s.recv(65535)
    else:
        with tcp_connect(srv, timeout=1) as s:
            tcp_send(s, bad, pw)
            first = tcp_recv(s)
    assert first is not None
    assert first[:2] == pw[:2], f"answered the bad message {bad!r}: {first!r}"
    check(probe, first, answer=WWW)


# ---- REFUSED ------------------------------------------------------------------------------

@pytest.mark.parametrize("qname", ["www.elsewhere.example", "test", ".", "xdnsd.test",
                                   "dnsd.test.example"])
@pytest.mark.parametrize("edns", [None, 0])
def test_names_outside_every_zone_are_refused(server, transport, qname, edns):
    """With EDNS, the Extended DNS Error 'Not Authoritative' says why (RFC 8914 4.21)."""
    q = make(mixcase(qname), "A", edns=edns)
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.REFUSED, aa=False,
          edns_options=[EDE_NOT_AUTHORITATIVE] if edns == 0 else None)


# ---- NOTIMP -------------------------------------------------------------------------------

@pytest.mark.parametrize("opcode", [1, 2, 4, 5, 3, 6, 15],
                         ids=["iquery", "status", "notify", "update", "op3", "dso", "op15"])
def test_other_opcodes_are_notimp(server, transport, opcode):
    q = make("www.dnsd.test", "SOA")
    w = bytearray(q.to_wire())
    w[2] = (w[2] & 0x87) | (opcode << 3)
    data = exchange(server, bytes(w), transport)
    assert data is not None, "no answer"
    qid, flags, qd, an, ns, ar = header(data)
    assert qid == q.id
    assert (flags >> 11) & 0xF == opcode, "opcode not echoed"
    assert flags & 0xF == dns.rcode.NOTIMP
    assert flags & FLAG_BITS == QR | RD  # AA clear, RD copied
    assert (an, ns, ar) == (0, 0, 0)
    if qd:  # the question, when echoed, is echoed exactly
        assert qd == 1 and data[12:] == bytes(w[12:])


# ---- FORMERR ------------------------------------------------------------------------------

def formerr_case(name):
    q = make("www.dnsd.test", "A")
    q.id = 0x1234
    w = q.to_wire()
    qlen = len(w) - 12
    return {
        "qdcount-0": w[:4] + b"\x00\x00" + w[6:12],
        "qdcount-0-with-question": w[:4] + b"\x00\x00" + w[6:],
        "qdcount-2": w[:4] + b"\x00\x02" + w[6:] + w[12:],
        "qdcount-2-one-question": w[:4] + b"\x00\x02" + w[6:],
        "cut-in-name": w[:18],
        "cut-in-type": w[:12 + qlen - 3],
        "header-only": w[:12],
        "label-past-end": w[:12] + b"\x3f" + b"abc",
        "bad-label-type": w[:12] + b"\x80abc\x00\x00\x01\x00\x01",
        "pointer-loop": w[:12] + b"\xc0\x0c\x00\x01\x00\x01",
        "garbage": w[:12] + bytes(range(200, 256)),
        "trailing-garbage": w + b"\x00\x01\x02",
        "arcount-1-missing": w[:10] + b"\x00\x01" + w[12:],
    }[name]


@pytest.mark.parametrize("case", ["qdcount-0", "qdcount-0-with-question", "qdcount-2",
                                  "qdcount-2-one-question", "cut-in-name", "cut-in-type",
                                  "header-only", "label-past-end", "bad-label-type",
                                  "pointer-loop", "garbage", "trailing-garbage",
                                  "arcount-1-missing"])
def test_malformed_query_gets_formerr_with_the_header(server, transport, case):
    w = formerr_case(case)
    data = exchange(server, w, transport)
    assert data is not None, "no FORMERR"
    qid, flags, qd, an, ns, ar = header(data)
    assert qid == 0x1234
    assert flags & 0xF == dns.rcode.FORMERR
    assert (flags >> 11) & 0xF == 0
    assert flags & FLAG_BITS == QR | RD  # AA and TC clear, RD copied
    assert (an, ns, ar) == (0, 0, 0)
    if qd == 0:
        assert len(data) == 12
    else:  # a question that could be read may be echoed, exactly
        assert qd == 1 and data[12:] == w[12:12 + len(data) - 12]


# ---- silence --------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [b"", b"\x12", b"\x12\x34\x01\x00\x00\x01",
                                 b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00"],
                         ids=["0-bytes", "1-byte", "6-bytes", "11-bytes"])
def test_fewer_than_12_bytes_get_no_answer(server, transport, bad):
    expect_silence(server, bad, transport)


@pytest.mark.parametrize("what", ["answer", "garbage", "notimp-opcode"])
def test_qr_set_is_never_answered(server, transport, what):
    q = make("www.dnsd.test", "A")
    w = bytearray(q.to_wire())
    if what == "garbage":
        w = w[:12] + b"\xff\xff"
    if what == "notimp-opcode":
        w[2] |= 4 << 3
    w[2] |= 0x80
    expect_silence(server, bytes(w), transport)


def test_answers_after_bad_packets(server, transport):
    """The server goes on answering after all of the above."""
    for case in ["garbage", "pointer-loop", "qdcount-2"]:
        exchange(server, formerr_case(case), transport)
    q = make("www.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=WWW)


# ---- TSIG (RFC 8945) ----------------------------------------------------------------------

KEYRING = {dns.name.from_text("transfer-key.dnsd.test."): dns.tsig.Key(
    "transfer-key.dnsd.test.", base64.b64encode(b"0123456789abcdef" * 2), dns.tsig.HMAC_SHA256)}


@pytest.mark.parametrize("edns", [None, 0])
def test_signed_query_gets_notauth_badkey(server, transport, edns):
    """gtm-dnsd holds no keys: a signed query gets NOTAUTH, and the response carries an
    unsigned TSIG record (MAC empty) with error BADKEY (RFC 8945 §5.2.1, §5.3.2), after
    the OPT record when the query had one; the question is echoed, no data."""
    q = make("www.dnsd.test", "A", edns=edns)
    q.use_tsig(KEYRING, keyname="transfer-key.dnsd.test.")
    w = q.to_wire()
    data = exchange(server, w, transport)
    assert data is not None, "no answer"
    qid, flags, qd, an, ns, ar = header(data)
    assert qid == q.id and flags & 0xF == dns.rcode.NOTAUTH and flags & FLAG_BITS == QR | RD
    assert (qd, an, ns, ar) == (1, 0, 0, 1 if edns is None else 2)
    assert data[12:question_end(data)] == w[12:question_end(w)]
    # dnspython reads the TSIG record and raises on its error field
    with pytest.raises(dns.tsig.PeerBadKey):
        dns.message.from_wire(data, keyring=KEYRING, request_mac=q.mac)
    # the record itself: after the question and the OPT record (11 bytes, no options)
    at = question_end(data) + (0 if edns is None else 11)
    owner, used = dns.name.from_wire(data, at)
    rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", data[at + used:at + used + 10])
    assert (owner, rtype, rclass, ttl) == (dns.name.from_text("transfer-key.dnsd.test."),
                                           dns.rdatatype.TSIG, dns.rdataclass.ANY, 0)
    assert at + used + 10 + rdlen == len(data), "the TSIG record is not the last"
    rd = dns.rdata.from_wire(rclass, rtype, data, at + used + 10, rdlen)
    assert (rd.error, rd.mac, rd.original_id, rd.other) == (dns.rcode.BADKEY, b"", q.id, b"")
    assert rd.algorithm == dns.tsig.HMAC_SHA256


@pytest.mark.parametrize("where", ["before-opt", "in-answer"])
def test_tsig_not_last_is_formerr(server, transport, where):
    """RFC 8945 §5.1: the TSIG record must be the last of the additional section; one
    elsewhere makes the message FORMERR (Knot DNS and NSD agree)."""
    q = make("www.dnsd.test", "A")
    q.use_tsig(KEYRING, keyname="transfer-key.dnsd.test.")
    w = q.to_wire()
    tsig = w[question_end(w):]
    base = w[:question_end(w)]
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    if where == "before-opt":
        bad = base[:6] + struct.pack("!HHH", 0, 0, 2) + base[12:] + tsig + opt
    else:
        bad = base[:6] + struct.pack("!HHH", 1, 0, 0) + base[12:] + tsig
    data = exchange(server, bad, transport)
    assert data is not None, "no answer"
    assert header(data)[1] & 0xF == dns.rcode.FORMERR


def test_an_unsendable_reply_costs_no_other(shared_store, dnsd):
    """A reply the kernel refuses (to source port 0: EINVAL; no route, a firewall) is the
    only one lost: the other replies of its batch are sent. Queued while the server is
    stopped (SIGSTOP), so that the bad query and 30 good ones come in one batch."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a raw socket (a query from port 0)")
    srv = start(dnsd, shared_store.db, "--threads", "1")
    wire = make("www.dnsd.test", "A").to_wire()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    good = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    good.bind(("127.0.0.1", 0))
    good.settimeout(1)
    got = 0
    try:
        for _ in range(3):
            srv.daemon.signal(signal.SIGSTOP)
            try:
                time.sleep(0.05)
                raw.sendto(struct.pack("!HHHH", 0, srv.port, 8 + len(wire), 0) + wire,
                           ("127.0.0.1", 0))
                for _ in range(30):
                    good.sendto(wire, ("127.0.0.1", srv.port))
            finally:
                srv.daemon.signal(signal.SIGCONT)
            for _ in range(30):
                good.recv(4096)
                got += 1
    except socket.timeout:
        pass
    finally:
        raw.close()
        good.close()
    assert got == 90
