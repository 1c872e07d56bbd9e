"""Helpers for the end-to-end failover tests (tests/system/test_failover_*.py): the real
gtmctl, gtm-healthd and gtm-dnsd together, with real HTTP backends on loopback.

- The store (built with the real gtmctl, once per pytest worker, copied per test): zone
  example.com; regions eu, us, lab and dr; pool web (two endpoints in eu, one in us),
  pool solo (two endpoints, all in lab), pool backup (one in dr); and managed names of
  several policies over them (see NAMES). Each endpoint's address is a loopback
  address of its own (127.0.x.y), on which the test runs that endpoint's HTTP backend,
  so the probed address is the answered one.
- `stack` starts the backends of the endpoints a test names, sets their checks with
  `gtmctl check set` (HTTP, interval 1 s, timeout 500 ms, rise 2, fall 2 unless told),
  starts gtm-healthd and gtm-dnsd, and waits until gtm-healthd has found every
  checked endpoint up.
- Answers are read with a reused UDP socket (policy_util.Client) and compared as
  (rcode, sorted (address, TTL) pairs), so a change of address or TTL is a change;
  `Stack.first_change` queries every 10 ms and says when an answer first differs.
- Every process goes through conftest's fixtures (daemons, backends), which stop them
  by PID even when a test fails. A vantage point in a network namespace of its own
  (`unshare -n`, root only) and an HTTP backend inside that namespace (`nsenter`) are
  the only additions; both are single processes with their own PID.
"""
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time

import dns.rcode
import pytest

import backends as backends_module
from backends import HttpBackend
from conftest import BUILDDIR, Gtmctl
from policy_util import Client, Fast, copy_store, query
from dnsd_util import start as start_dnsd

ZONE = "example.com."
EU1, EU2, US1 = "127.0.1.1", "127.0.1.2", "127.0.2.1"  # pool web
LAB1, LAB2 = "127.0.3.1", "127.0.3.2"                   # pool solo (region lab only)
DR1 = "127.0.9.1"                                       # pool backup
# backends.py's servers listen on the addresses it knows; ours are loopback addresses too
backends_module.LOOPBACK.update({a: socket.AF_INET for a in (EU1, EU2, US1, LAB1, LAB2, DR1)})
REGION = {EU1: "eu", EU2: "eu", US1: "us", LAB1: "lab", LAB2: "lab", DR1: "dr"}
POOL = {EU1: "web", EU2: "web", US1: "web", LAB1: "solo", LAB2: "solo", DR1: "backup"}

# Managed names: name -> gtmctl policy set options (TTL 30 unless given).
GEO = "geo.example.com."      # web, geo ('*' -> eu, us), both eu endpoints answered
ALL = "all.example.com."      # web, every healthy endpoint
SHORT = "short.example.com."  # web, every healthy endpoint, TTL 8 (degraded: 5, the floor)
TTLD = "ttld.example.com."    # web, every healthy endpoint, --ttl-degraded 7
UNK = "unk.example.com."      # web, every healthy endpoint, --unknown down --fallback none
W = "w.example.com."          # web, weighted --sticky (eu 100 + 100, us 200: eu gets half)
OPEN = "open.example.com."    # solo, all, fail-open (the default)
FB = "fb.example.com."        # solo, all, --fallback backup
NONE = "none.example.com."    # solo, all, --fallback none
NAMES = {
    GEO: ["--pool", "web", "--mode", "geo", "--answers", "2"],
    ALL: ["--pool", "web", "--mode", "all"],
    SHORT: ["--pool", "web", "--mode", "all", "--ttl", "8"],
    TTLD: ["--pool", "web", "--mode", "all", "--ttl-degraded", "7"],
    UNK: ["--pool", "web", "--mode", "all", "--unknown", "down", "--fallback", "none"],
    W: ["--pool", "web", "--mode", "weighted", "--sticky"],
    OPEN: ["--pool", "solo", "--mode", "all"],
    FB: ["--pool", "solo", "--mode", "all", "--fallback", "backup"],
    NONE: ["--pool", "solo", "--mode", "all", "--fallback", "none"],
}
TTL, DEGRADED = 30, 15  # the policies' TTL, and the default degraded TTL (half of it)


def build(g):
    """The failover store, with gtmctl g on an initialised store."""
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    for r, lat, lon in (("eu", 50, 8), ("us", 39, -77), ("lab", 0, 0), ("dr", 10, 10)):
        g.run("region", "add", r, "--lat", lat, "--lon", lon)
    for p in ("web", "solo", "backup"):
        g.run("pool", "add", p)
    for addr in (EU1, EU2, US1, LAB1, LAB2, DR1):
        g.run("endpoint", "add", POOL[addr], addr, "--region", REGION[addr],
              *(["--weight", "200"] if addr == US1 else []))
    g.run("geo", "map", "*", "eu,us")
    for name, opts in NAMES.items():
        g.run("policy", "set", name, *opts)
    return g


_template = {}


@pytest.fixture
def fstore(tmp_path_factory, tmp_path):
    """The test's own copy of the failover store (built once per worker)."""
    if "g" not in _template:
        g = Gtmctl(tmp_path_factory.mktemp("failover") / "gtm.db")
        g.run("init")
        _template["g"] = build(g)
    return copy_store(_template["g"], tmp_path)


# ---- answers ------------------------------------------------------------------------------

def rr(name, addr, ttl=TTL):
    return f"{name} {ttl} IN A {addr}"


class Answer(tuple):
    """(rcode, ((address, TTL), ...) sorted): what a test compares answers by."""

    @property
    def addrs(self):
        return sorted(a for a, _ in self[1])

    @property
    def ttls(self):
        return sorted({t for _, t in self[1]})


def answer_of(fast):
    return Answer((fast.rcode, tuple(sorted((text, ttl) for _, ttl, text in fast.answer))))


def ans(*addrs, ttl=TTL, rcode=dns.rcode.NOERROR):
    """The Answer of these addresses, all with TTL ttl."""
    return Answer((rcode, tuple(sorted((a, ttl) for a in addrs))))


NODATA = ans()  # NOERROR, no answer


class Stack:
    """One test's running system: the store (g), HTTP backends by endpoint address,
    gtm-healthd (hd), gtm-dnsd (srv) and a UDP client to it."""

    def __init__(self, g, backends, hd, srv):
        self.g = g
        self.db = str(g.db)
        self.web = backends
        self.hd = hd
        self.srv = srv
        self.client = Client(srv) if srv else None

    # -- queries --
    def ask(self, name, qtype="A"):
        """The Answer gtm-dnsd gives now to a plain query (no EDNS) from 127.0.0.1."""
        _, wire = self.client.ask(query(name, qtype, edns=False))
        return answer_of(Fast(wire))

    def first_change(self, name, before, t0, timeout=10.0, period=0.01):
        """Queries name every period seconds until the answer is not `before`; returns
        (seconds since t0, the new Answer)."""
        deadline = time.monotonic() + timeout
        while True:
            a = self.ask(name)
            now = time.monotonic()
            if a != before:
                return now - t0, a
            if now > deadline:
                raise AssertionError(f"{name}: answer still {a} {timeout} s after the change"
                                     f"\n--- gtm-dnsd:\n{self.srv.log()[-3000:]}")
            time.sleep(period)

    def wait_answer(self, name, want, timeout=10.0, period=0.01):
        """Queries name until the answer is want; returns the seconds it took."""
        t0 = time.monotonic()
        while True:
            a = self.ask(name)
            if a == want:
                return time.monotonic() - t0
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"{name}: answer {a}, not {want}, after {timeout} s\n"
                                     f"states: {self.states()}\n--- gtm-dnsd:\n"
                                     f"{self.srv.log()[-3000:]}")
            time.sleep(period)

    def steady(self, name, want, seconds, period=0.01):
        """Asserts that every answer to name for `seconds` is want; returns how many
        queries were asked."""
        n = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            a = self.ask(name)
            assert a == want, f"{name}: answer {a} after {n} answers {want}\n" \
                              f"events: {self.events()}"
            n += 1
            time.sleep(period)
        return n

    # -- the store --
    def sql(self, q, *params):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            rows = con.execute(q, params).fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def states(self, vantage=None):
        """{(target, vantage): state} of every stored report."""
        rows = self.sql("SELECT e.target, h.vantage, h.state FROM health h JOIN endpoints e "
                        "ON e.id = h.endpoint_id")
        return {(t, v): s for t, v, s in rows if vantage is None or v == vantage}

    def wait_states(self, want, vantage="test", timeout=10):
        """Waits until the stored states of vantage are want ({target: state})."""
        deadline = time.monotonic() + timeout
        while True:
            got = {t: s for (t, v), s in self.states(vantage).items()}
            if all(got.get(t) == s for t, s in want.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"states of {vantage}: {got}, expected {want}\n"
                                     f"events: {self.events()}")
            time.sleep(0.05)

    def events(self):
        """(target, vantage, old, new, reason) of every event, oldest first."""
        return self.sql("SELECT target, vantage, old, new, reason FROM health_events "
                        "ORDER BY ts, id")

    def check(self, addr, port, *opts):
        """gtmctl check set for the endpoint at addr: HTTP on port, with --interval 1s
        --timeout 500ms --rise 2 --fall 2 unless opts (option, value pairs) say else."""
        args = {"--interval": "1s", "--timeout": "500ms", "--rise": "2", "--fall": "2"}
        args.update(zip(opts[::2], opts[1::2]))
        self.g.run("check", "set", POOL[addr], addr, "--type", "http", "--port", port,
                   *[x for kv in args.items() for x in kv])


@pytest.fixture
def stack(fstore, daemons, healthd, dnsd, backends):
    """Factory: stack(addrs, check_opts=(), dnsd_args=(), start_healthd=True) starts an
    HTTP backend for each endpoint address in addrs, sets its check, starts gtm-healthd
    (vantage "test") and gtm-dnsd, and waits until every checked endpoint is up."""
    made = []

    def make(addrs=(EU1, EU2, US1), check_opts=(), dnsd_args=(), start_healthd=True):
        g = fstore
        webs = {a: backends(HttpBackend, a) for a in addrs}
        s = Stack(g, webs, None, None)
        for a, web in webs.items():
            s.check(a, web.port, *check_opts)
        if start_healthd:
            s.hd = healthd(s.db)
            s.wait_states({a: "up" for a in addrs})
        s.srv = start_dnsd(dnsd, s.db, *dnsd_args)
        s.client = Client(s.srv)
        made.append(s)
        return s

    yield make
    for s in made:
        s.client.close()


def restart_dnsd(s, dnsd, *dnsd_args):
    """Stops the stack's gtm-dnsd (SIGTERM, exit 0) and starts a new one on the same
    store; returns the time the new one took to be ready."""
    assert s.srv.daemon.stop() == 0
    s.client.close()
    t0 = time.monotonic()
    s.srv = start_dnsd(dnsd, s.db, *dnsd_args)
    s.client = Client(s.srv)
    return time.monotonic() - t0


# ---- network namespaces -------------------------------------------------------------------

def netns_available():
    """Can we make network namespaces (unshare -n) and enter them (nsenter)? Root only."""
    if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip")):
        return False
    p = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"],
                       capture_output=True, timeout=10)
    return p.returncode == 0


def healthd_in_netns(daemons, db, vantage, netns_of):
    """gtm-healthd as vantage point `vantage` in the network namespace of process
    netns_of (a NetnsHttpBackend's). nsenter execs the daemon, so the Daemon's PID is
    gtm-healthd's own."""
    cmd = ["nsenter", f"--net=/proc/{netns_of}/ns/net", BUILDDIR / "gtm-healthd", "--db", db,
           "--vantage", vantage, "--foreground", "--log-level", "debug", "--rtt-batch-ms", "500"]
    return daemons(f"gtm-healthd-{vantage}", cmd)


_NETNS_HTTP = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H)
print("listening", flush=True)
s.serve_forever()
"""


class NetnsHttpBackend:
    """An HTTP server (answers 200 "ok") on addr:port in a network namespace of its own
    (with only its loopback up), in a process of its own: unshare execs sh, which
    execs python, so `pid` is the server's and the namespace lives as long as it (or a
    process that joined it with nsenter) runs."""

    def __init__(self, addr, port):
        self.addr, self.port = addr, port
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        self.proc = subprocess.Popen(["unshare", "-n", "sh", "-c",
                                      'ip link set lo up && exec "$@"', "sh", sys.executable,
                                      "-c", _NETNS_HTTP, self.addr, str(self.port)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        assert line == "listening", f"HTTP server in a namespace did not start: {line!r}"
        return self

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(10)
            self.proc.stdout.close()
            self.proc = None


# ---- gtmctl status ------------------------------------------------------------------------

STATUS_COLUMNS = ("endpoint", "region", "state", "since", "rtt", "reason", "drill", "weight",
                  "enabled")


def status_rows(g, pool=None):
    """gtmctl status [POOL]: {POOL/TARGET: {column: text}} for the endpoint lines (the
    columns are separated by two or more spaces), and the other lines (vantage points,
    drains) as a list."""
    rows, other = {}, []
    lines = g.run("status", *([pool] if pool else [])).stdout.splitlines()
    for line in lines[1:]:
        if line.startswith("  ") or "/" not in line.split()[0]:
            other.append(line)
            continue
        cols = re.split(r"\s{2,}", line.strip())
        rows[cols[0]] = dict(zip(STATUS_COLUMNS, cols))
    return rows, other
