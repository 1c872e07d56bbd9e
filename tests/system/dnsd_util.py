"""Helpers for the gtm-dnsd system tests (tests/system/test_dnsd_*.py).

The tests query a real gtm-dnsd, started by conftest's `dnsd` fixture, serving a store
that the real gtmctl built from tests/system/zones/dnsd.test.zone and
child.dnsd.test.zone. Queries go out as raw bytes over UDP or TCP so that a test sees
exactly what the server wrote (case of the question, compression, header bits), and
`check()` asserts a whole answer: rcode, every header flag, the question echoed byte for
byte, every record of every section with its TTL, the OPT record, and that names were
compressed.
"""
import random
import socket
import struct
import subprocess
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest

import conftest
from conftest import BUILDDIR, Gtmctl, check_sanitizers

ZONES = Path(__file__).resolve().parent / "zones"
ZONE = "dnsd.test."
CHILD = "child.dnsd.test."
SOA = "dnsd.test. 300 IN SOA ns1.dnsd.test. hostmaster.dnsd.test. 2024010101 7200 900 1209600 300"
CHILD_SOA = "child.dnsd.test. 60 IN SOA ns1.child.dnsd.test. hostmaster.child.dnsd.test. 1 7200 900 1209600 600"
EDNS_SIZE = 1232  # gtm-dnsd's default --edns-size

# header bits (the second 16-bit word of the header, opcode and rcode masked out)
# The EDNS option (code, data) of the Extended DNS Error "Not Authoritative" (RFC 8914).
EDE_NOT_AUTHORITATIVE = (15, b"\x00\x14")
QR, AA, TC, RD, RA, Z, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0040, 0x0020, 0x0010
FLAG_BITS = 0x87F0

TRANSPORTS = ["udp", "tcp"]


# ---- stores -----------------------------------------------------------------------------

def import_zones(g):
    """Imports the test zones into the store of gtmctl g (the real gtmctl)."""
    g.run("zone", "import", "dnsd.test", ZONES / "dnsd.test.zone")
    g.run("zone", "import", "child.dnsd.test", ZONES / "child.dnsd.test.zone")
    return g


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory):
    """A store with the test zones, built once per worker; gtm-dnsd only reads it, so
    tests that do not change the store share it."""
    g = Gtmctl(tmp_path_factory.mktemp("store") / "gtm.db")
    g.run("init")
    return import_zones(g)


@pytest.fixture
def store(gtmctl):
    """The test's own store (in its temp directory) with the test zones: for tests that
    edit, lock, move or break it."""
    return import_zones(gtmctl)


# ---- starting gtm-dnsd ------------------------------------------------------------------

def _next_port_free(consume=False):
    """Moves conftest's port counter so that the `dnsd` fixture's next free_port() is a
    port nobody holds (other test sessions may run at the same time), and returns it;
    with consume, the port is the caller's and the fixture will not get it. Starts at a
    random offset so that concurrent sessions rarely probe the same ports."""
    if _next_port_free.first:
        _next_port_free.first = False
        conftest._port_counter[0] = random.randrange(1000)
    port = conftest.free_port()
    if not consume:
        conftest._port_counter[0] = (conftest._port_counter[0] - 1) % 1000
    return port


_next_port_free.first = True


def free_loopback_port():
    """A port of this worker's range that nobody holds, for the caller's own use."""
    return _next_port_free(consume=True)


def start(dnsd, db, *extra, **kw):
    """Starts gtm-dnsd through conftest's `dnsd` fixture on a port nobody else holds (its
    sockets listen before it logs "ready": test_dnsd_startup.py checks)."""
    _next_port_free()
    return dnsd(db, *extra, **kw)


@pytest.fixture
def server(shared_store, dnsd):
    """gtm-dnsd serving the shared test store, default options."""
    return start(dnsd, shared_store.db)


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def run_dnsd(*args, timeout=15):
    """Runs gtm-dnsd with exactly these arguments and waits for it (for options that
    make it exit); a daemon still running at the timeout is killed and reaped."""
    p = subprocess.run([str(BUILDDIR / "gtm-dnsd"), *map(str, args)], capture_output=True,
                       text=True, timeout=timeout)
    check_sanitizers(p.stderr, "gtm-dnsd " + " ".join(map(str, args)))
    return p


# ---- queries ----------------------------------------------------------------------------

def mixcase(name, seed=0x20):
    """name with its letters' case randomised (DNS 0x20), deterministically."""
    rnd = random.Random(seed)
    return "".join(c.upper() if c.isalpha() and rnd.random() < 0.5 else c.lower() for c in name)


def make(qname, qtype="A", rdclass="IN", edns=None, payload=EDNS_SIZE, do=False,
         options=None, rd=True, cd=False):
    """A query; qname keeps the case given. edns: None for no OPT, else its version."""
    q = dns.message.make_query(qname, qtype, rdclass)
    if edns is not None:
        q.use_edns(edns=edns, ednsflags=dns.flags.DO if do else 0, payload=payload,
                   options=options or [])
    if not rd:
        q.flags &= ~dns.flags.RD
    if cd:
        q.flags |= dns.flags.CD
    return q


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_connect(srv, addr="127.0.0.1", timeout=3, port=None):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port or srv.port))
    return s


def tcp_send(s, *wires):
    """Writes length-prefixed messages in one send()."""
    s.sendall(b"".join(struct.pack("!H", len(w)) + w for w in wires))


def tcp_recv(s):
    """One length-prefixed message, or None when the server closed the connection."""
    head = _recv_exact(s, 2)
    if head is None:
        return None
    return _recv_exact(s, struct.unpack("!H", head)[0])


def udp_exchange(srv, wire, addr="127.0.0.1", timeout=2, port=None):
    """Sends one datagram; returns the response with the query's ID, or None when none
    comes within timeout."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((addr, port or srv.port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = s.recv(65535)
            except (socket.timeout, ConnectionRefusedError):
                return None
            if len(wire) < 2 or data[:2] == wire[:2]:
                return data


def exchange(srv, wire, transport, addr="127.0.0.1", timeout=2, port=None):
    """Sends the query bytes over transport (to srv's port, or port) and returns the
    response bytes, or None (no answer within timeout, or TCP closed without one)."""
    if transport == "udp":
        return udp_exchange(srv, wire, addr=addr, timeout=timeout, port=port)
    with tcp_connect(srv, addr=addr, timeout=timeout, port=port) as s:
        tcp_send(s, wire)
        try:
            return tcp_recv(s)
        except (socket.timeout, ConnectionResetError):
            return None


def ask(srv, q, transport, **kw):
    """Sends query q (a dnspython message); returns (response message, response bytes)."""
    wire = q.to_wire()
    data = exchange(srv, wire, transport, **kw)
    assert data is not None, f"no answer over {transport} to {q.question}"
    return dns.message.from_wire(data), data


# ---- checking answers ---------------------------------------------------------------------

def header_flags(wire):
    return struct.unpack("!H", wire[2:4])[0] & FLAG_BITS


def question_end(wire):
    """Offset just past the question of a message with QDCOUNT 1 (uncompressed name)."""
    pos = 12
    while wire[pos]:
        pos += wire[pos] + 1
    return pos + 1 + 4


def rr_lines(section):
    """Records of a dnspython section as 'owner ttl class type rdata' lines, lower-cased
    (names compare without case; a server may compress an RDATA name against the
    question, whose case is the client's), sorted (the order of records within a
    section carries no meaning)."""
    lines = []
    for rrset in section:
        for rd in rrset:
            lines.append(f"{rrset.name.to_text()} {rrset.ttl} "
                         f"{dns.rdataclass.to_text(rrset.rdclass)} "
                         f"{dns.rdatatype.to_text(rrset.rdtype)} {rd.to_text()}".lower())
    return sorted(lines)


def norm(lines):
    """Expected records, normalised the way rr_lines() prints them."""
    out = []
    for line in lines:
        name, ttl, cls, typ, rdata = line.split(None, 4)
        rd = dns.rdata.from_text(cls, typ, rdata)
        out.append(f"{name} {ttl} {cls} {typ} {rd.to_text()}".lower())
    return sorted(out)


def uncompressed_size(r, wire):
    """The size r would have with every name written out in full."""
    size = 12
    for q in r.question:
        size += len(q.name.to_wire()) + 4
    for section in (r.answer, r.authority, r.additional):
        for rrset in section:
            for rd in rrset:
                size += len(rrset.name.to_wire()) + 10 + len(rd.to_wire())
    if r.opt is not None:
        size += 11 + sum(len(o.to_wire()) + 4 for o in r.options)
    return size


def check(q, wire, rcode=dns.rcode.NOERROR, aa=True, tc=False, answer=(), authority=(),
          additional=(), edns_options=None):
    """Asserts a whole response to query q: ID, opcode, rcode, every header flag (QR
    set; AA and TC as given; RD and CD copied from the query; RA, Z, AD clear), the
    question echoed byte for byte (its case kept), every section's records with their
    TTLs, the OPT record (present with our payload size, version 0 and the DO bit
    echoed exactly when the query had one; NSID and other options as edns_options
    says, else none), and name compression. Returns the parsed response."""
    assert wire is not None, "no answer"
    r = dns.message.from_wire(wire)
    assert r.id == q.id, "ID not echoed"
    assert r.opcode() == q.opcode(), "opcode not echoed"
    assert dns.rcode.to_text(r.rcode()) == dns.rcode.to_text(rcode), f"rcode:\n{r}"
    qwire = q.to_wire()
    want = QR | (AA if aa else 0) | (TC if tc else 0) | (header_flags(qwire) & (RD | CD))
    got = header_flags(wire)
    assert got == want, f"header flags {dns.flags.to_text(got)!r} {got:#06x}, " \
                        f"expected {dns.flags.to_text(want)!r} {want:#06x}"
    qend = question_end(qwire)
    assert struct.unpack("!H", wire[4:6])[0] == 1, "QDCOUNT is not 1"
    assert wire[12:qend] == qwire[12:qend], "question not echoed byte for byte"
    for name, got_rrs, want_rrs in (("answer", r.answer, answer),
                                    ("authority", r.authority, authority),
                                    ("additional", r.additional, additional)):
        got_lines, want_lines = rr_lines(got_rrs), norm(want_rrs)
        assert got_lines == want_lines, \
            f"{name} section:\n  got  {got_lines}\n  want {want_lines}\nresponse:\n{r}"
    if q.edns >= 0:
        assert r.edns == 0, "OPT missing or not version 0"
        assert r.payload == EDNS_SIZE, f"OPT payload size {r.payload}, not {EDNS_SIZE}"
        assert (r.ednsflags & dns.flags.DO) == (q.ednsflags & dns.flags.DO), "DO not echoed"
        assert r.ednsflags & 0x7FFF == 0, "unknown EDNS flags set"
        opts = sorted((o.otype, o.to_wire()) for o in r.options)
        assert opts == sorted(edns_options or []), "EDNS options"
    else:
        assert r.edns == -1, "OPT in the response to a query without one"
    if r.answer or r.authority or r.additional:
        assert len(wire) < uncompressed_size(r, wire), "names are not compressed"
    return r
