"""gtm-dnsd over TCP (RFC 7766, RFC 1035 §4.2.2): two-byte length prefixes, several
queries on one connection, pipelined queries in one segment, messages split across
segments, the idle timeout (--tcp-idle-timeout, RFC 7766 §6.2.3) and the connection cap
(--tcp-max-conns: past it a connection idle half the idle timeout gives its place, else
the newest is closed and the established ones keep working); clients that trickle
bytes or never read cost little.
"""
import re
import socket
import time

import dns.message
import dns.rcode

from conftest import BUILDDIR, Dnsd, free_port
from dnsd_util import ask, check, make, start, tcp_connect, tcp_recv, tcp_send
from dnsd_util import server, shared_store  # noqa: F401 (fixtures)

WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]
QUERIES = [  # (query, expected check() arguments)
    (("www.dnsd.test", "A"), dict(answer=WWW)),
    (("nothere.dnsd.test", "A"), dict(rcode=dns.rcode.NXDOMAIN, authority=[
        "dnsd.test. 300 IN SOA ns1.dnsd.test. hostmaster.dnsd.test. 2024010101 7200 900 "
        "1209600 300"])),
    (("mail.dnsd.test", "A"), dict(answer=["mail.dnsd.test. 300 IN A 192.0.2.25"])),
    (("www.elsewhere.example", "A"), dict(rcode=dns.rcode.REFUSED, aa=False)),
    (("big.dnsd.test", "A"), dict(answer=[f"big.dnsd.test. 3600 IN A 198.51.100.{i}"
                                          for i in range(1, 41)])),
    (("www.dnsd.test", "AAAA"), dict(answer=["www.dnsd.test. 600 IN AAAA 2001:db8::80"])),
]


def queries(n):
    out = []
    for i in range(n):
        (name, qtype), expect = QUERIES[i % len(QUERIES)]
        q = make(name, qtype)
        q.id = 1000 + i
        out.append((q, expect))
    return out


def closed_by_server(s, within):
    """Waits up to `within` seconds for the server to close s; True if it did."""
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_several_queries_one_after_another_on_one_connection(server):
    with tcp_connect(server) as s:
        for q, expect in queries(12):
            tcp_send(s, q.to_wire())
            check(q, tcp_recv(s), **expect)


def test_pipelined_queries_in_one_segment(server):
    """RFC 7766 §6.2.1.1: queries sent back to back without waiting are all answered;
    each response carries its query's ID (gtm-dnsd answers them in order)."""
    qs = queries(30)
    with tcp_connect(server) as s:
        tcp_send(s, *[q.to_wire() for q, _ in qs])
        got = [tcp_recv(s) for _ in qs]
    for (q, expect), wire in zip(qs, got):
        check(q, wire, **expect)


def test_pipelined_queries_while_not_reading(server):
    """A client that writes many queries before reading any gets every answer."""
    qs = queries(300)
    with tcp_connect(server, timeout=5) as s:
        tcp_send(s, *[q.to_wire() for q, _ in qs])
        got = {}
        for _ in qs:
            wire = tcp_recv(s)
            assert wire is not None, f"connection closed after {len(got)} answers"
            got[dns.message.from_wire(wire).id] = wire
    for q, expect in qs:
        check(q, got[q.id], **expect)


def test_message_split_across_segments(server):
    """The length prefix and the message may arrive a byte at a time."""
    q = make("www.dnsd.test", "A")
    w = q.to_wire()
    framed = len(w).to_bytes(2, "big") + w
    with tcp_connect(server) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(framed)):
            s.send(framed[i:i + 1])
            time.sleep(0.002)
        check(q, tcp_recv(s), answer=WWW)


def test_half_a_message_then_waiting(shared_store, dnsd):
    """A client that sends half a query and waits neither gets an answer nor holds up
    others; the rest, when it comes, is answered; if it never comes the idle timeout
    closes the connection."""
    srv = start(dnsd, shared_store.db, "--tcp-idle-timeout", "2", threads=1)
    q = make("www.dnsd.test", "A")
    w = q.to_wire()
    framed = len(w).to_bytes(2, "big") + w
    with tcp_connect(srv) as slow:
        slow.send(framed[:len(framed) // 2])
        # meanwhile another client, on the same (single) worker, is served
        other = make("mail.dnsd.test", "A")
        r, wire = ask(srv, other, "tcp")
        check(other, wire, answer=["mail.dnsd.test. 300 IN A 192.0.2.25"])
        r, wire = ask(srv, other, "udp")
        check(other, wire, answer=["mail.dnsd.test. 300 IN A 192.0.2.25"])
        assert not closed_by_server(slow, 0.3), "half a message: connection closed early"
        slow.send(framed[len(framed) // 2:])
        slow.settimeout(2)
        check(q, tcp_recv(slow), answer=WWW)
    with tcp_connect(srv) as stuck:
        stuck.send(framed[:5])
        t0 = time.monotonic()
        assert closed_by_server(stuck, 5), "a half-sent query held the connection open"
        assert 1.5 <= time.monotonic() - t0 <= 4


def test_idle_connection_closed_after_timeout(shared_store, dnsd):
    """RFC 7766 §6.2.3: the server closes idle connections; --tcp-idle-timeout 1."""
    srv = start(dnsd, shared_store.db, "--tcp-idle-timeout", "1")
    with tcp_connect(srv) as s:
        t0 = time.monotonic()
        assert closed_by_server(s, 4), "idle connection not closed"
        assert 0.8 <= time.monotonic() - t0 <= 2.5
    # the timer restarts with each query: a connection in use stays open
    with tcp_connect(srv) as s:
        q = make("www.dnsd.test", "A")
        deadline = time.monotonic() + 2
        while True:
            tcp_send(s, q.to_wire())
            check(q, tcp_recv(s), answer=WWW)
            t0 = time.monotonic()
            if t0 > deadline:
                break
            assert not closed_by_server(s, 0.3)  # 2 s of use outlive the 1 s timeout
        assert closed_by_server(s, 4)
        assert 0.8 <= time.monotonic() - t0 <= 2.5


def test_a_byte_at_a_time_is_idle(shared_store, dnsd):
    """A client trickling bytes (slowloris) does not hold a connection past the idle
    timeout: only a whole query restarts the timer."""
    srv = start(dnsd, shared_store.db, "--tcp-idle-timeout", "2", threads=1)
    w = make("www.dnsd.test", "A").to_wire()
    framed = len(w).to_bytes(2, "big") + w
    with tcp_connect(srv) as s:
        t0 = time.monotonic()
        closed = False
        for i in range(len(framed) - 1):  # never the last byte
            try:
                s.send(framed[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_server(s, 0.4):
                closed = True
                break
        assert closed, "a connection fed a byte at a time stayed open"
        assert 1.5 <= time.monotonic() - t0 <= 4


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def test_a_client_that_never_reads_costs_little_memory(shared_store, dnsd):
    """Queries for a large RRset pipelined by clients that never read: the server stops
    answering (and reading) a connection at a high mark of queued answers, so memory
    stays bounded (it grew by megabytes a connection), and it goes on serving others."""
    srv = start(dnsd, shared_store.db, threads=1)
    pid = srv.daemon.proc.pid
    before = rss_kib(pid)
    w = make("huge.dnsd.test", "TXT", edns=0, payload=4096).to_wire()
    framed = (len(w).to_bytes(2, "big") + w) * 2000
    socks = []
    try:
        for _ in range(20):
            s = tcp_connect(srv, timeout=5)
            s.setblocking(False)
            try:
                s.send(framed)
            except BlockingIOError:
                pass
            socks.append(s)
        time.sleep(1)
        grown = rss_kib(pid) - before
        assert grown < 40 * 1024, f"{grown} KiB more for 20 connections that never read"
        q = make("www.dnsd.test", "A")
        check(q, ask(srv, q, "tcp")[1], answer=WWW)
    finally:
        for s in socks:
            s.close()


def test_open_file_limit_caps_tcp_connections(shared_store, daemons):
    """Under an open-file limit lower than --tcp-max-conns (ulimit -n 256 here), the cap
    is lowered to fit, with a warning, so accept() never fails for want of descriptors;
    connections past it are closed and the server goes on answering UDP and TCP."""
    port = free_port()
    d = daemons("gtm-dnsd", ["prlimit", "--nofile=256:256", "--", BUILDDIR / "gtm-dnsd",
                             "--db", shared_store.db, "--listen", f"127.0.0.1:{port}",
                             "--threads", "2", "--foreground"])
    m = re.search(r"TCP connections capped at (\d+), not 1024: the open-file limit is 256",
                  d.log())
    assert m, d.log()
    cap = int(m.group(1))
    srv = Dnsd(d, port, shared_store.db)
    socks = []
    try:
        for _ in range(cap + 40):
            socks.append(tcp_connect(srv, timeout=5))
        time.sleep(0.5)
        q = make("www.dnsd.test", "A")
        check(q, ask(srv, q, "udp")[1], answer=WWW)
        assert "too many open files" not in d.log().lower()
    finally:
        for s in socks:
            s.close()
    check(q, ask(srv, q, "tcp")[1], answer=WWW)


def test_default_idle_timeout_keeps_a_quiet_connection(server):
    """With the default (10 s) a connection quiet for a second is still there."""
    with tcp_connect(server) as s:
        assert not closed_by_server(s, 1.2)
        q = make("www.dnsd.test", "A")
        tcp_send(s, q.to_wire())
        check(q, tcp_recv(s), answer=WWW)


def served_connection(srv, q, deadline_s=3):
    """A new connection that the server serves: connections it still counts (their
    close not yet seen, e.g. the readiness probes of start()) may hold the cap for a
    moment, so retry until the deadline. Returns the open socket."""
    deadline = time.monotonic() + deadline_s
    while True:
        c = tcp_connect(srv)
        try:
            tcp_send(c, q.to_wire())
            wire = tcp_recv(c)
        except (BrokenPipeError, ConnectionResetError):
            wire = None
        if wire is not None:
            check(q, wire, answer=WWW)
            return c
        c.close()
        assert time.monotonic() < deadline, "no new connection is served"
        time.sleep(0.02)


def test_connection_cap_closes_the_newest(shared_store, dnsd):
    """--tcp-max-conns 2: a third connection is accepted and closed at once, while the
    first two go on working; once one of them is gone a new one is served."""
    srv = start(dnsd, shared_store.db, "--tcp-max-conns", "2")
    q = make("www.dnsd.test", "A")
    a = served_connection(srv, q)
    b = served_connection(srv, q)
    try:
        for _ in range(3):
            with tcp_connect(srv) as c:
                try:
                    tcp_send(c, q.to_wire())
                except (BrokenPipeError, ConnectionResetError):
                    pass
                assert closed_by_server(c, 2), "a third connection was served past the cap"
        for s in (a, b):
            tcp_send(s, q.to_wire())
            check(q, tcp_recv(s), answer=WWW)
        r, wire = ask(srv, q, "udp")  # UDP is not capped
        check(q, wire, answer=WWW)
    finally:
        a.close()
    # a's slot is freed once the server has seen it closed
    served_connection(srv, q).close()
    b.close()


def test_connection_cap_gives_an_idle_connection_up(shared_store, dnsd):
    """RFC 7766 §6.2.2: at the cap, a connection idle half the idle timeout or more (here
    1 s of 2) is closed for a new one, the one idle longest first; connections that hold
    a place without using it cannot keep others out."""
    srv = start(dnsd, shared_store.db, "--tcp-max-conns", "2", "--tcp-idle-timeout", "2",
                threads=1)
    q = make("www.dnsd.test", "A")
    a = served_connection(srv, q)
    time.sleep(0.2)
    b = served_connection(srv, q)
    try:
        time.sleep(1.2)
        c = served_connection(srv, q, deadline_s=0.5)  # in a's place, before its timeout
        assert closed_by_server(a, 1), "the connection idle longest was kept"
        tcp_send(b, q.to_wire())
        check(q, tcp_recv(b), answer=WWW)
        c.close()
    finally:
        a.close()
        b.close()


def test_client_closing_after_sending_gets_its_answers(server):
    """A client may send its queries and shut down its side: the answers still come
    (RFC 7766 §6.2.2: half-close is not an abort)."""
    qs = queries(5)
    with tcp_connect(server) as s:
        tcp_send(s, *[q.to_wire() for q, _ in qs])
        s.shutdown(socket.SHUT_WR)
        for q, expect in qs:
            check(q, tcp_recv(s), **expect)
        assert tcp_recv(s) is None  # then the server closes
