"""gtm-dnsd --xdp IFACE: UDP queries taken from the interface by AF_XDP before the IP
stack. The server runs in a network namespace the test makes, behind a veth pair (the
XDP filter runs in the veth driver), listening on port 53 of that namespace's address;
the test queries it from its own namespace, so every reply crosses the veth as it would
a NIC, and the kernel on this side checks the checksums the server wrote. Root only
(CAP_BPF, CAP_NET_ADMIN).
"""
import os
import signal
import socket
import subprocess
import sys
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import BUILDDIR
from dnsd_util import free_loopback_port, run_dnsd, shared_store  # noqa: F401 (fixture)
from failover_util import netns_available

pytestmark = pytest.mark.skipif(not netns_available(),
                                reason="needs network namespaces (root)")


def ip(*args, check=True):
    return subprocess.run(["ip", *map(str, args)], capture_output=True, text=True,
                          check=check, timeout=20)


class Link:
    """A namespace joined to this one by a veth pair: here .1 (IPv4) and ::1 of the
    pair's subnets, there .2 and .3 and ::2 on the interface `inner`."""

    def __init__(self):
        n = os.getpid() % 60000
        self.ns = f"gtmxdp{n}"
        self.outer, self.inner = f"gx{n}a", f"gx{n}b"
        used = ip("-o", "addr").stdout
        third = next(i for i in range(1, 250) if f" 10.78.{i}." not in used)
        self.v4 = f"10.78.{third}"
        self.v6 = f"fd78:{third:x}::"
        ip("netns", "add", self.ns)
        ip("link", "add", self.outer, "type", "veth", "peer", "name", self.inner, "netns",
           self.ns)
        ip("addr", "add", f"{self.v4}.1/24", "dev", self.outer)
        ip("addr", "add", f"{self.v6}1/64", "dev", self.outer, "nodad")
        ip("link", "set", self.outer, "up")
        for addr in (f"{self.v4}.2/24", f"{self.v4}.3/24"):
            ip("-n", self.ns, "addr", "add", addr, "dev", self.inner)
        ip("-n", self.ns, "addr", "add", f"{self.v6}2/64", "dev", self.inner, "nodad")
        ip("-n", self.ns, "link", "set", self.inner, "up")
        ip("-n", self.ns, "link", "set", "lo", "up")

    def xdp_attached(self):
        return " xdp" in ip("-n", self.ns, "link", "show", "dev", self.inner).stdout

    def close(self):
        ip("netns", "del", self.ns, check=False)  # takes the veth pair with it
        ip("link", "del", self.outer, check=False)


@pytest.fixture
def link():
    lk = Link()
    try:
        yield lk
    finally:
        lk.close()


def start_xdp(daemons, db, lk, *extra, v6=True):
    """gtm-dnsd in lk's namespace on port 53 of .2 and ::2 (with v6), with --xdp on its
    side of the veth pair; ip netns exec execs it, so the Daemon's PID is gtm-dnsd's."""
    listen = ["--listen", f"{lk.v4}.2:53"] + (["--listen", f"[{lk.v6}2]:53"] if v6 else [])
    cmd = ["ip", "netns", "exec", lk.ns, BUILDDIR / "gtm-dnsd", "--db", db, *listen,
           "--threads", "2", "--foreground", "--log-level", "debug", "--xdp", lk.inner, *extra]
    return daemons("gtm-dnsd", cmd)


def stats(d):
    """(udp, xdp) from the line SIGUSR1 logs."""
    mark = len(d.log())
    d.signal(signal.SIGUSR1)
    m = d.wait_log(r"queries \d+ \(udp (\d+) of which xdp (\d+),", start=mark)
    return int(m.group(1)), int(m.group(2))


QUERIES = [
    ("dnsd.test.", "SOA", {}),
    ("dnsd.test.", "MX", {"use_edns": 0, "payload": 1232}),
    ("www.dnsd.test.", "A", {"use_edns": 0}),
    ("alias.dnsd.test.", "A", {}),
    ("nothing.dnsd.test.", "A", {"use_edns": 0}),  # NXDOMAIN
    ("big.dnsd.test.", "A", {}),  # 512 bytes without EDNS: truncated
    ("big.dnsd.test.", "A", {"use_edns": 0, "payload": 4096}),
    ("x.wild.dnsd.test.", "TXT", {"use_edns": 0, "options": [
        dns.edns.ECSOption("198.51.100.0", 24)]}),
    ("nowhere.example.", "A", {}),  # REFUSED
]


def test_xdp_answers_as_the_sockets(shared_store, daemons, link):
    d = start_xdp(daemons, shared_store.db, link)
    d.wait_log(r"taken from %s by AF_XDP \((driver|generic) mode" % link.inner)
    assert link.xdp_attached()
    sent = 0
    for addr in (f"{link.v4}.2", f"{link.v6}2"):
        for name, qtype, kw in QUERIES:
            q = dns.message.make_query(name, qtype, **kw)
            r = dns.query.udp(q, addr, port=53, timeout=3)
            sent += 1
            if r.flags & dns.flags.TC:
                assert name == "big.dnsd.test." and q.edns < 0
                continue
            t = dns.query.tcp(q, addr, port=53, timeout=3)  # TCP: the sockets
            assert r == t, f"{name} {qtype} to {addr}: UDP by XDP\n{r}\nTCP\n{t}"
    udp, xdp = stats(d)
    assert (udp, xdp) == (sent, sent)


def test_xdp_replies_fit_the_mtu(shared_store, daemons, link):
    """An AF_XDP reply cannot be fragmented: one that the interface's MTU cannot carry
    is truncated, and the client gets the whole answer over TCP. (IPv4: an MTU this
    small takes IPv6 off the link.)"""
    ip("link", "set", "dev", link.outer, "mtu", 600)
    ip("-n", link.ns, "link", "set", "dev", link.inner, "mtu", 600)
    d = start_xdp(daemons, shared_store.db, link, v6=False)
    q = dns.message.make_query("big.dnsd.test.", "A", use_edns=0, payload=4096)
    wire = dns.query.udp(q, f"{link.v4}.2", port=53, timeout=3).to_wire()
    assert dns.message.from_wire(wire).flags & dns.flags.TC
    assert len(wire) + 28 <= 600
    full = dns.query.tcp(q, f"{link.v4}.2", port=53, timeout=3)
    assert len(full.to_wire()) + 28 > 600 and not full.flags & dns.flags.TC
    assert stats(d) == (1, 1)


def test_xdp_long_query_goes_to_the_sockets(shared_store, daemons, link):
    """A datagram longer than an AF_XDP frame takes (a 5,000-byte query on a link with
    a 9,000-byte MTU) passes to the kernel, and the socket answers it."""
    ip("link", "set", "dev", link.outer, "mtu", 9000)
    ip("-n", link.ns, "link", "set", "dev", link.inner, "mtu", 9000)
    d = start_xdp(daemons, shared_store.db, link)
    padding = dns.edns.GenericOption(dns.edns.OptionType.PADDING, b"\0" * 5000)
    for family, addr in ((socket.AF_INET, f"{link.v4}.2"), (socket.AF_INET6, f"{link.v6}2")):
        q = dns.message.make_query("dnsd.test.", "SOA", use_edns=0, options=[padding])
        wire = q.to_wire(max_size=65535)
        assert len(wire) > 5000
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(wire, (addr, 53))
            r = dns.message.from_wire(s.recv(65535))
        assert r.id == q.id and r.rcode() == dns.rcode.NOERROR
    assert stats(d) == (2, 0)


def test_xdp_passes_other_addresses(shared_store, daemons, link):
    """A datagram to port 53 of an address gtm-dnsd does not listen on, in the same
    namespace on the same interface, reaches the socket bound there."""
    start_xdp(daemons, shared_store.db, link)
    echo = subprocess.Popen(
        ["ip", "netns", "exec", link.ns, sys.executable, "-c",
         "import socket,sys\n"
         "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
         f"s.bind(('{link.v4}.3',53))\n"
         "print('bound',flush=True)\n"
         "d,a=s.recvfrom(4096)\n"
         "s.sendto(b'echo:'+d,a)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert echo.stdout.readline().strip() == "bound"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(b"not for gtm", (f"{link.v4}.3", 53))
            assert s.recv(4096) == b"echo:not for gtm"
    finally:
        echo.kill()
        echo.wait()


def test_xdp_filter_goes_with_the_process(shared_store, daemons, link):
    """Killed (no clean-up of its own), gtm-dnsd leaves nothing on the interface: the
    filter was a link the kernel drops with the process, and the queries reach a socket
    again."""
    d = start_xdp(daemons, shared_store.db, link)
    assert dns.query.udp(dns.message.make_query("dnsd.test.", "SOA"), f"{link.v4}.2",
                         port=53, timeout=3).rcode() == dns.rcode.NOERROR
    d.kill()
    deadline = time.monotonic() + 5
    while link.xdp_attached() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not link.xdp_attached()
    plain = ["ip", "netns", "exec", link.ns, BUILDDIR / "gtm-dnsd", "--db", shared_store.db,
             "--listen", f"{link.v4}.2:53", "--threads", "1", "--foreground"]
    d2 = daemons("gtm-dnsd-plain", plain)
    r = dns.query.udp(dns.message.make_query("dnsd.test.", "SOA"), f"{link.v4}.2", port=53,
                      timeout=3)
    assert r.rcode() == dns.rcode.NOERROR
    assert stats(d2) == (1, 0)


def test_xdp_interface_taken(shared_store, daemons, link):
    """A second gtm-dnsd --xdp on the same interface (another port) is refused with a
    reason, and leaves the first one's filter in place."""
    start_xdp(daemons, shared_store.db, link)
    p = subprocess.run(["ip", "netns", "exec", link.ns, BUILDDIR / "gtm-dnsd", "--db",
                        shared_store.db, "--listen", f"{link.v4}.2:5353", "--foreground",
                        "--xdp", link.inner], capture_output=True, text=True, timeout=20)
    assert p.returncode == 1
    assert f"--xdp {link.inner}: cannot attach the filter: the interface has an XDP " \
        "program already" in p.stderr
    r = dns.query.udp(dns.message.make_query("dnsd.test.", "SOA"), f"{link.v4}.2", port=53,
                      timeout=3)
    assert r.rcode() == dns.rcode.NOERROR and link.xdp_attached()


def test_xdp_unknown_interface(shared_store):
    for extra in ("--foreground", "--check-config"):
        p = run_dnsd("--db", shared_store.db, "--listen", f"127.0.0.1:{free_loopback_port()}",
                     extra, "--xdp", "nosuchif0")
        assert p.returncode == 1, extra
        assert "--xdp nosuchif0: no such network interface" in p.stderr, extra
