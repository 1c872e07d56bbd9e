"""Malformed packets by the thousand: real queries of every kind the server handles
(static and managed names, CNAME and DNAME chains, EDNS with DO, NSID, cookies, padding
and client subnets of both families, CHAOS, NOTIFY and UPDATE opcodes, zone transfers,
ANY) are mutated at random — bits flipped, bytes overwritten, inserted and deleted,
packets cut short, counts and label lengths garbled, compression pointers planted in
the question — and sent to gtm-dnsd over UDP and TCP. Whatever it receives, the server
must stay up, and every reply it sends must be a well-formed DNS message (dnspython
parses it) with QR set, the query's ID and opcode, and an rcode the server may give;
the `daemons` fixture then checks that it stops cleanly with no sanitizer report (the
ASan/UBSan build runs this too). The seed is fixed, so a failure is repeatable."""
import collections
import random
import select
import socket
import struct

import dns.edns
import dns.exception
import dns.message
import dns.rcode
import pytest

from dnsd_util import ZONES
from policy_util import GEO, LAT, PROX, ecs_bytes, serve
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)

SEED = 20261124
UDP_PACKETS = 20000
TCP_MESSAGES = 300
WINDOW = 128  # packets sent before the replies are read
QUIET = 0.02  # s without a reply that ends a window (a late reply is read with the next)
RCODES = {dns.rcode.NOERROR, dns.rcode.FORMERR, dns.rcode.NXDOMAIN, dns.rcode.NOTIMP,
          dns.rcode.REFUSED, dns.rcode.YXDOMAIN, dns.rcode.BADVERS}


def base_queries():
    """The valid queries the mutations start from, as wire bytes."""
    def q(name, qtype="A", rdclass="IN", edns=None, options=(), opcode=None, flags=None):
        m = dns.message.make_query(name, qtype, rdclass)
        if edns is not None or options:
            m.use_edns(edns=0, payload=edns or 1232, options=list(options))
        if opcode is not None:
            m.set_opcode(opcode)
        if flags is not None:
            m.flags = flags
        return m.to_wire()

    def ecs(addr, source):
        return dns.edns.GenericOption(8, ecs_bytes(addr, source))

    def opt(code, data=b""):
        return dns.edns.GenericOption(code, data)

    out = []
    for name, qtype in [("www.dnsd.test.", "A"), ("www.dnsd.test.", "AAAA"),
                        ("dnsd.test.", "ANY"), ("dnsd.test.", "MX"), ("dnsd.test.", "SOA"),
                        ("dnsd.test.", "NS"), ("chain1.dnsd.test.", "A"),
                        ("loop1.dnsd.test.", "A"), ("foo.wild.dnsd.test.", "TXT"),
                        ("x.ent.wild.dnsd.test.", "A"), ("b.ent.dnsd.test.", "A"),
                        ("host.sub.dnsd.test.", "A"), ("sub.dnsd.test.", "DS"),
                        ("child.dnsd.test.", "DS"), ("big.dnsd.test.", "A"),
                        ("huge.dnsd.test.", "TXT"), ("mxmany.dnsd.test.", "MX"),
                        ("fat.dnsd.test.", "NS"), ("nothere.dnsd.test.", "A"),
                        ("host.moved.dnsd.test.", "A"), ("a.b.away.dnsd.test.", "CNAME"),
                        ("x" * 63 + "." + "y" * 30 + ".longdname.dnsd.test.", "A"),
                        ("nowhere.invalid.", "A"), ("dnsd.test.", "AXFR"),
                        ("dnsd.test.", "IXFR"), ("static.example.com.", "A")]:
        out.append(q(name, qtype))
        out.append(q(name, qtype, edns=4096, options=[opt(3), opt(10, bytes(8))]))
    for name in (GEO, LAT, PROX):
        out.append(q(name))
        out.append(q(name, "AAAA", edns=1232))
        for addr, source in (("81.2.69.0", 24), ("89.160.0.0", 16), ("2001:db8:1::", 48),
                             ("0.0.0.0", 0), ("216.160.83.0", 32), ("2001:db8::", 128)):
            out.append(q(name, "A", edns=1232, options=[ecs(addr, source)]))
        out.append(q(name, "A", edns=1232, options=[opt(8, b"\x00\x03\x08\x00\x0a")]))
        out.append(q(name, "A", edns=1232, options=[opt(12, bytes(64)), opt(3)]))
    out.append(q("version.bind.", "TXT", "CH"))
    out.append(q("id.server.", "TXT", "CH", edns=1232))
    out.append(q("dnsd.test.", "SOA", opcode=dns.opcode.NOTIFY))
    out.append(q("dnsd.test.", "SOA", opcode=dns.opcode.UPDATE))
    dnssec = dns.message.make_query("www.dnsd.test.", "A", want_dnssec=True)
    out.append(dnssec.to_wire())
    return out


def mutate(rng, wire):
    """One to three random mutations of wire."""
    b = bytearray(wire)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(8)
        if not b:
            b = bytearray(rng.randbytes(rng.randint(1, 40)))
        pos = rng.randrange(len(b))
        if kind == 0:  # flip bits
            for _ in range(rng.randint(1, 4)):
                p = rng.randrange(len(b))
                b[p] ^= 1 << rng.randrange(8)
        elif kind == 1:  # overwrite bytes
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 2:  # cut short
            del b[pos:]
        elif kind == 3:  # insert bytes
            b[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif kind == 4:  # delete a range
            del b[pos:pos + rng.randint(1, 8)]
        elif kind == 5 and len(b) >= 12:  # garble a count (QD, AN, NS, AR)
            at = 4 + 2 * rng.randrange(4)
            b[at:at + 2] = struct.pack("!H", rng.choice([0, 1, 2, 3, 255, 0xFFFF,
                                                           rng.randrange(65536)]))
        elif kind == 6 and len(b) > 13:  # a label length, a pointer or an odd length
            at = 12 + rng.randrange(min(len(b) - 12, 40))
            b[at] = rng.choice([0xC0, 0xC0 | rng.randrange(64), 63, 64, 0x40, 0x80, 0xFF, 0])
            if b[at] >= 0xC0 and at + 1 < len(b):
                b[at + 1] = rng.choice([0, 12, at & 0xFF, rng.randrange(256)])
        else:  # repeat a part
            b[pos:pos] = b[rng.randrange(len(b)):][:rng.randint(1, 32)]
    return bytes(b[:65535])


def header_key(wire):
    """(ID, opcode) of a message, or None if it is too short to have them."""
    return (struct.unpack("!H", wire[:2])[0], (wire[2] >> 3) & 0xF) if len(wire) >= 3 else None


def check_reply(reply, pending):
    """Asserts that reply is a response the server may send to one of the queries not
    answered yet (pending counts their (ID, opcode) pairs, and loses this one): QR set,
    ID and opcode echoed, well formed, a known rcode."""
    assert len(reply) >= 12, reply.hex()
    key = header_key(reply)
    assert pending[key] > 0, f"reply to no query sent: {reply.hex()}"
    pending[key] -= 1
    assert reply[2] & 0x80, f"QR clear: {reply.hex()}"
    # dnspython knows only the assigned opcodes; NOTIMP echoes any
    plain = reply[:2] + bytes([reply[2] & 0x87]) + reply[3:]
    try:
        m = dns.message.from_wire(plain)
    except dns.exception.DNSException as e:
        raise AssertionError(f"malformed reply ({e!r}): {reply.hex()}") from None
    assert m.rcode() in RCODES, f"rcode {m.rcode()}: {reply.hex()}"


@pytest.fixture
def srv(world, world_mmdb, dnsd):
    world.run("zone", "import", "dnsd.test", ZONES / "dnsd.test.zone")
    world.run("zone", "import", "child.dnsd.test", ZONES / "child.dnsd.test.zone")
    return serve(dnsd, world, world_mmdb)


def still_answers(srv):
    for tcp in (False, True):
        r = srv.query("www.dnsd.test.", "A", tcp=tcp)
        assert [rd.to_text() for rrset in r.answer for rd in rrset] == ["192.0.2.80"]


def test_mutated_udp_packets(srv):
    rng = random.Random(SEED)
    bases = base_queries()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # a window's replies
    sock.setblocking(False)
    replies = 0
    pending = collections.Counter()
    try:
        for start in range(0, UDP_PACKETS, WINDOW):
            for _ in range(min(WINDOW, UDP_PACKETS - start)):
                pkt = mutate(rng, rng.choice(bases))
                pending[header_key(pkt)] += 1
                sock.sendto(pkt, ("127.0.0.1", srv.port))
            while select.select([sock], [], [], QUIET)[0]:
                check_reply(sock.recv(65535), pending)
                replies += 1
    finally:
        sock.close()
    # most mutations leave a header to answer (FORMERR at least): the test saw replies
    assert replies > UDP_PACKETS // 4, f"{replies} replies to {UDP_PACKETS} packets"
    still_answers(srv)


def recv_exact(conn, n):
    """n bytes from conn, or None if it closes or stays silent for its timeout."""
    data = b""
    while len(data) < n:
        try:
            chunk = conn.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def test_mutated_tcp_messages(srv):
    """Over TCP, also with a length prefix that disagrees with the message: the server
    answers or closes the connection, and goes on serving."""
    rng = random.Random(SEED + 1)
    bases = base_queries()
    replies = 0
    conn = None
    for _ in range(TCP_MESSAGES):
        if conn is None:
            conn = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            conn.settimeout(0.2)  # for a reply: silence is an answer too
        msg = mutate(rng, rng.choice(bases))
        honest = rng.random() < 0.8
        length = len(msg) if honest else rng.randrange(65536)
        try:
            conn.sendall(struct.pack("!H", length) + msg)
        except OSError:
            honest = False
        head = recv_exact(conn, 2) if honest else None
        reply = recv_exact(conn, struct.unpack("!H", head)[0]) if head else None
        if reply is None:
            # no answer (a dropped query, or a prefix that disagrees with the message:
            # the connection is spent either way)
            conn.close()
            conn = None
            continue
        check_reply(reply, collections.Counter([header_key(msg)]))
        replies += 1
    if conn is not None:
        conn.close()
    assert replies > TCP_MESSAGES // 4, f"{replies} replies to {TCP_MESSAGES} messages"
    still_answers(srv)
