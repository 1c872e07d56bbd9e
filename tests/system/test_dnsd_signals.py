"""gtm-dnsd and signals: SIGTERM and SIGINT stop it cleanly — exit status 0 (the
`daemons` fixture checks it, and the absence of sanitizer reports), promptly, even with
a TCP client holding a connection, and after sending the TCP answers it owes; SIGHUP
forces a reload of the store (logged).
"""
import os
import re
import select
import signal
import socket
import subprocess
import time

import dns.message
import dns.rcode
import pytest

from conftest import BUILDDIR
from dnsd_util import (ask, check, free_loopback_port, make, start, tcp_connect, tcp_recv,
                       tcp_send)
from dnsd_util import server, shared_store, store  # noqa: F401 (fixtures)

WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]
HUGE = ['huge.dnsd.test. 3600 IN TXT "' + ("record %02d " % i) * 25 + '"' for i in range(1, 11)]


def stop_and_wait(srv, sig, within=5):
    """Sends sig and waits for the exit; returns (exit status, seconds it took)."""
    t0 = time.monotonic()
    srv.daemon.signal(sig)
    rc = srv.daemon.proc.wait(timeout=within)
    return rc, time.monotonic() - t0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_stop_signal_with_an_idle_tcp_client(server, sig):
    q = make("www.dnsd.test", "A")
    with tcp_connect(server) as s:
        tcp_send(s, q.to_wire())
        check(q, tcp_recv(s), answer=WWW)
        rc, took = stop_and_wait(server, sig)
        assert rc == 0, server.log()
        assert took < 3, f"took {took:.1f}s to stop with a client holding a connection"
        s.settimeout(2)
        try:
            assert s.recv(1) == b""  # the server closed the connection
        except ConnectionResetError:
            pass
    log = server.log()
    assert f"{signal.strsignal(sig)}: stopping" in log
    assert "stopped after queries" in log


def test_stop_sends_the_tcp_answers_still_owed(server):
    """100 answers of 2.6 kB each are queued for a client that has read only one of
    them when SIGTERM comes: it still gets all of them, then the connection closes."""
    qs = []
    for i in range(100):
        q = make("huge.dnsd.test", "TXT")
        q.id = 5000 + i
        qs.append(q)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # a small window, so that much of what is owed is still queued in the server
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(5)
        s.connect(("127.0.0.1", server.port))
        tcp_send(s, *[q.to_wire() for q in qs])
        first = tcp_recv(s)  # the server has read and answered the batch
        check(qs[0], first, answer=HUGE)
        server.daemon.signal(signal.SIGTERM)
        # reload, counters and a second stop during the stop: no handlers then, but no
        # death by their default action either
        server.daemon.wait_log(r"Terminated: stopping", timeout=5)
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGTERM):
            server.daemon.signal(sig)
        for q in qs[1:]:
            wire = tcp_recv(s)
            assert wire is not None, f"connection closed before the answer to {q.id}"
            check(q, wire, answer=HUGE)
        assert tcp_recv(s) is None
    assert server.daemon.proc.wait(timeout=5) == 0
    assert "stopped after queries" in server.log()


def test_sighup_forces_a_reload(store, dnsd):
    """With a 10 s poll interval a change is not seen on its own for 10 s; SIGHUP makes
    the loader read the store at once."""
    srv = start(dnsd, store.db, "--reload-interval-ms", "10000")
    q = make("hup.dnsd.test", "A")
    r, wire = ask(srv, q, "udp")
    assert r.rcode() == dns.rcode.NXDOMAIN
    store.run("record", "add", "dnsd.test", "hup", "A", "300", "192.0.2.123")
    r, wire = ask(srv, q, "udp")
    assert r.rcode() == dns.rcode.NXDOMAIN, "reloaded without the signal: test is void"
    at = len(srv.log())
    srv.daemon.signal(signal.SIGHUP)
    srv.daemon.wait_log(r"SIGHUP: reloading the store", start=at, timeout=5)
    srv.daemon.wait_log(r"reloaded generation 2 \(forced\)", start=at, timeout=5)
    for transport in ("udp", "tcp"):
        r, wire = ask(srv, q, transport)
        check(q, wire, answer=["hup.dnsd.test. 300 IN A 192.0.2.123"])
    # a forced reload of an unchanged store compiles it again all the same
    at = len(srv.log())
    srv.daemon.signal(signal.SIGHUP)
    srv.daemon.wait_log(r"reloaded generation 3 \(forced\)", start=at, timeout=5)
    r, wire = ask(srv, q, "udp")
    check(q, wire, answer=["hup.dnsd.test. 300 IN A 192.0.2.123"])


def test_sighup_under_load_loses_no_query(server):
    q = make("www.dnsd.test", "A")
    at = len(server.log())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.connect(("127.0.0.1", server.port))
        for i in range(400):
            if i % 40 == 0:
                server.daemon.signal(signal.SIGHUP)
            q.id = i
            s.send(q.to_wire())
            while True:
                wire = s.recv(65535)
                if wire[:2] == q.to_wire()[:2]:
                    break
            check(q, wire, answer=WWW)
    # signals sent close together may be handled as one reload; several happened
    forced = re.findall(r"reloaded generation \d+ \(forced\)", server.log()[at:])
    assert len(forced) >= 3, server.log()[at:]


@pytest.mark.parametrize("prog", ["gtm-dnsd", "gtm-healthd"])
def test_reload_signals_while_starting(store, prog, tmp_path):
    """SIGHUP and SIGUSR1 before the handlers exist (a store or GeoIP file can take
    seconds to load, and systemctl reload may come then) are ignored, not fatal: the
    daemon goes on starting. Here it waits to read its config file, a FIFO."""
    fifo = tmp_path / "conf"
    os.mkfifo(fifo)
    conf = f"db {store.db}\n"
    if prog == "gtm-dnsd":
        conf += f"listen 127.0.0.1:{free_loopback_port()}\n"
    p = subprocess.Popen([BUILDDIR / prog, "--config", fifo, "--foreground"],
                         stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        p.send_signal(signal.SIGHUP)
        p.send_signal(signal.SIGUSR1)
        time.sleep(0.2)
        assert p.poll() is None, "killed by a signal it had no handler for yet"
        fifo.write_text(conf)
        lines, deadline = [], time.monotonic() + 20
        while not any(" ready" in line for line in lines):
            assert time.monotonic() < deadline, lines
            if select.select([p.stderr], [], [], 0.5)[0]:
                line = p.stderr.readline()
                assert line, lines  # it exited
                lines.append(line)
    finally:
        p.terminate()
        p.communicate(timeout=10)
    assert p.returncode == 0, lines
