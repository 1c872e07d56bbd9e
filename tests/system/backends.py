"""Backends for the gtm-healthd system tests, and the store helpers they share.

Small real servers on loopback (127.0.0.1 or ::1) that a test starts, reconfigures
while gtm-healthd probes them, and stops: an HTTP(S) server whose status, body and
failures the test sets and which records the Host headers it saw, a TCP listener, a
listener whose accept queue is full (connects time out), a server that accepts and
never answers, a DNS responder (dnspython) with selectable answers, and an HTTP server
in its own process that a test can SIGKILL in the middle of a request. Each is a
context manager and is always stopped (the `backends` fixture stops whatever a test
left running).

The store helpers build each test's store with the real gtmctl (region, pool,
endpoints), insert checks directly into the `checks` table (see
db/migrations/0003_health.sql) and read back `health`, `health_events`, `rtt_samples`
and `vantages`.
"""
import http.server
import select
import signal
import socket
import socketserver
import sqlite3
import ssl
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from conftest import free_port

LOOPBACK = {"127.0.0.1": socket.AF_INET, "::1": socket.AF_INET6}


def _family(addr):
    return LOOPBACK[addr]


# ---- HTTP and HTTPS ---------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection, as healthd probes

    def do_GET(self):
        srv = self.server.backend
        with srv.lock:
            srv.hosts.append(self.headers.get("Host"))
            srv.requests += 1
            if srv.fail_next > 0:
                srv.fail_next -= 1
                status, body = 503, b"failing on purpose\n"
            else:
                status, body = srv.status, srv.body
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # quiet: the test reads the state instead
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a probe reset by healthd (SO_LINGER 0) is normal here


class _Backend:
    """What every backend here shares: an address and a port (a free one unless given),
    and use as a context manager (started on entry unless running, stopped on exit)."""

    def __init__(self, addr, port):
        self.addr = addr
        self.port = port or free_port()

    def running(self):
        raise NotImplementedError

    def __enter__(self):
        return self if self.running() else self.start()

    def __exit__(self, *exc):
        self.stop()


class _SocketLoop(_Backend):
    """A socket of kind (SOCK_STREAM, SOCK_DGRAM) served by a thread that calls _ready()
    whenever it is readable."""

    kind = None

    def __init__(self, addr, port):
        super().__init__(addr, port)
        self.sock = None
        self.stop_event = threading.Event()
        self.thread = None

    def running(self):
        return self.sock is not None

    def _bind(self):
        self.sock.bind((self.addr, self.port))

    def start(self):
        self.sock = socket.socket(_family(self.addr), self.kind)
        self._bind()
        self.stop_event.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop_event.is_set():
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if r:
                self._ready()

    def stop(self):
        if self.sock:
            self.stop_event.set()
            self.thread.join(5)
            self.sock.close()
            self.sock = None


class HttpBackend(_Backend):
    """An HTTP (or, with tls=(cert, key), HTTPS) server on addr:port.

    status, body: what GET answers; fail_next: that many requests answer 503 first;
    hosts: the Host headers seen; requests: how many were answered."""

    def __init__(self, addr="127.0.0.1", port=None, status=200, body=b"ok\n", tls=None):
        super().__init__(addr, port)
        self.status = status
        self.body = body
        self.tls = tls
        self.fail_next = 0
        self.hosts = []
        self.requests = 0
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    def start(self):
        cls = type("S", (_Server,), {"address_family": _family(self.addr)})
        self.server = cls((self.addr, self.port), _Handler)
        self.server.backend = self
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Closes the listener: connections are refused from now on."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    def set(self, status=None, body=None, fail_next=None):
        with self.lock:
            if status is not None:
                self.status = status
            if body is not None:
                self.body = body
            if fail_next is not None:
                self.fail_next = fail_next

    def running(self):
        return self.server is not None


def make_cert(directory, name="gtm.test"):
    """A self-signed certificate and key for name (and 127.0.0.1, ::1), made with the
    openssl command; returns (cert path, key path)."""
    directory = Path(directory)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1,IP:::1"],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


# ---- TCP ----------------------------------------------------------------------------------

class TcpListener(_SocketLoop):
    """Accepts connections and closes them at once (hang=True: keeps them open and never
    sends a byte, like a server that accepts and never answers; reset=True: closes them
    with a reset, SO_LINGER 0)."""

    kind = socket.SOCK_STREAM

    def __init__(self, addr="127.0.0.1", port=None, hang=False, reset=False):
        super().__init__(addr, port)
        self.hang = hang
        self.reset = reset
        self.held = []
        self.accepted = 0

    def _bind(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        super()._bind()
        self.sock.listen(128)

    def _ready(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.accepted += 1
        if self.hang:
            self.held.append(conn)
            return
        if self.reset:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def stop(self):
        super().stop()
        for c in self.held:
            c.close()
        self.held = []


class FullBacklog(_Backend):
    """A listener that never accepts, its accept queue filled by the test's own
    connections: Linux then drops further SYNs (tcp_conn_request), so a connect neither
    succeeds nor is refused; it times out."""

    def __init__(self, addr="127.0.0.1", port=None):
        super().__init__(addr, port)
        self.sock = None
        self.fillers = []

    def running(self):
        return self.sock is not None

    def start(self):
        self.sock = socket.socket(_family(self.addr), socket.SOCK_STREAM)
        self.sock.bind((self.addr, self.port))
        self.sock.listen(0)
        # backlog 0 admits one connection to the queue; a few more make sure it is full
        for _ in range(3):
            s = socket.socket(_family(self.addr), socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((self.addr, self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)
        time.sleep(0.1)
        return self

    def stop(self):
        for s in self.fillers:
            s.close()
        self.fillers = []
        if self.sock:
            self.sock.close()
            self.sock = None


# ---- DNS -------------------------------------------------------------------------------

class DnsResponder(_SocketLoop):
    """A UDP DNS responder. mode: "ok" (NOERROR, one record of the asked name: an SOA
    for an SOA question, else A 192.0.2.53), "other-name" (NOERROR, that record for
    another name only, as a wildcard or another zone would give), "nodata" (NOERROR, no
    answer), "servfail", "nxdomain", "refused", "silent" (reads, never answers),
    "wrong-id" (answers with another ID). queries: the questions seen."""

    kind = socket.SOCK_DGRAM

    def __init__(self, addr="127.0.0.1", port=None, mode="ok"):
        super().__init__(addr, port)
        self.mode = mode
        self.queries = []

    def _ready(self):
        try:
            data, peer = self.sock.recvfrom(4096)
            q = dns.message.from_wire(data)
        except Exception:
            return
        self.queries.append(q.question[0].to_text() if q.question else "")
        mode = self.mode
        if mode == "silent":
            return
        resp = dns.message.make_response(q)
        resp.flags |= dns.flags.AA
        if mode in ("ok", "wrong-id", "other-name"):
            name = q.question[0].name
            soa = q.question[0].rdtype == dns.rdatatype.SOA
            resp.answer.append(dns.rrset.from_text(
                dns.name.from_text("elsewhere.test.") if mode == "other-name" else name, 60,
                "IN", "SOA" if soa else "A",
                "ns.test. host.test. 1 2 3 4 5" if soa else "192.0.2.53"))
        if mode == "wrong-id":
            resp.id = (q.id + 1) % 65536
        elif mode in ("servfail", "nxdomain", "refused"):
            resp.set_rcode(dns.rcode.from_text(mode))
        self.sock.sendto(resp.to_wire(), peer)


# ---- a backend to kill in the middle of a request ----------------------------------------

_STALLING_SERVER = r"""
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    print("request", flush=True)   # the probe is now waiting for our answer
    time.sleep(3600)
"""


class StallingProcess(_Backend):
    """An HTTP server in its own process that reads a request and then stalls; the test
    kills it (SIGKILL) while healthd waits for the answer."""

    def __init__(self, addr="127.0.0.1", port=None):
        super().__init__(addr, port)
        self.proc = None

    def running(self):
        return self.proc is not None

    def start(self):
        self.proc = subprocess.Popen([sys.executable, "-c", _STALLING_SERVER, self.addr,
                                      str(self.port)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "listening"
        return self

    def wait_request(self, timeout=10):
        """Blocks until a request came in (the process printed "request")."""
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert r, "no request reached the stalling backend"
        assert self.proc.stdout.readline().strip() == "request"

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        self.kill()
        if self.proc:
            self.proc.stdout.close()
            self.proc = None


@pytest.fixture
def backends():
    """Factory: backends(Cls, *args, **kw) starts a backend and stops it after the test
    (also when it fails)."""
    started = []

    def start(cls, *args, **kw):
        b = cls(*args, **kw).start()
        started.append(b)
        return b

    yield start
    for b in reversed(started):
        b.stop()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("tls"))


# ---- the store ---------------------------------------------------------------------------

class HealthStore:
    """A test's store (built with the real gtmctl): region "lab", pool "web", and
    helpers to add endpoints and checks and to read what gtm-healthd wrote."""

    def __init__(self, gtmctl):
        self.g = gtmctl
        self.db = str(gtmctl.db)
        self.g.run("region", "add", "lab")
        self.g.run("pool", "add", "web")

    def sql(self, query, *params):
        con = sqlite3.connect(self.db, timeout=10)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            cur = con.execute(query, params)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def endpoint(self, target, pool="web"):
        """Adds an endpoint with gtmctl; returns its id."""
        self.g.run("endpoint", "add", pool, target, "--region", "lab")
        rows = self.sql("SELECT e.id FROM endpoints e JOIN pools p ON p.id = e.pool_id "
                        "WHERE p.name = ? AND e.target IN (lower(?), lower(?) || '.')",
                        pool, target, target)
        assert len(rows) == 1, rows
        return rows[0][0]

    def check(self, endpoint_id, type, **cols):
        """Inserts (or replaces) the check of an endpoint; cols are columns of the
        checks table (interval_ms 1000, timeout_ms 500, rise 1, fall 1 unless given)."""
        values = {"interval_ms": 1000, "timeout_ms": 500, "rise": 1, "fall": 1, **cols}
        names = ["endpoint_id", "type", *values]
        self.sql(f"INSERT OR REPLACE INTO checks({', '.join(names)}) "
                 f"VALUES ({', '.join('?' * len(names))})", endpoint_id, type,
                 *values.values())

    def health(self, endpoint_id, vantage="test"):
        """The health row of an endpoint as a dict, or None."""
        rows = self.sql("SELECT state, since, reason, rtt_us, checked FROM health "
                        "WHERE endpoint_id = ? AND vantage = ?", endpoint_id, vantage)
        if not rows:
            return None
        return dict(zip(("state", "since", "reason", "rtt_us", "checked"), rows[0]))

    def events(self, endpoint_id=None, vantage=None):
        """(target, vantage, old, new, reason) of every event, oldest first."""
        rows = self.sql("SELECT target, vantage, old, new, reason, endpoint_id FROM "
                        "health_events ORDER BY ts, id")
        return [r[:5] for r in rows if (endpoint_id is None or r[5] == endpoint_id)
                and (vantage is None or r[1] == vantage)]

    def samples(self, endpoint_id, vantage="test"):
        return self.sql("SELECT ts, rtt_us FROM rtt_samples WHERE endpoint_id = ? AND "
                        "vantage = ? ORDER BY ts", endpoint_id, vantage)

    def vantages(self):
        return dict(self.sql("SELECT name, last_seen FROM vantages"))

    def wait(self, what, timeout=10, interval=0.05):
        """Polls what() until it returns something true; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            v = what()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached within {timeout} s: {what.__doc__ or what}")
            time.sleep(interval)

    def wait_state(self, endpoint_id, state, vantage="test", timeout=10):
        """Waits until the endpoint's stored state (of vantage) is state; returns the
        health row."""
        def reached():
            h = self.health(endpoint_id, vantage)
            return h if h and h["state"] == state else None
        reached.__doc__ = f"endpoint {endpoint_id} {state} for {vantage}: " \
                          f"{self.health(endpoint_id, vantage)}"
        try:
            return self.wait(reached, timeout)
        except AssertionError:
            raise AssertionError(f"endpoint {endpoint_id} not {state} for {vantage} within "
                                 f"{timeout} s: {self.health(endpoint_id, vantage)}, events "
                                 f"{self.events(endpoint_id)}") from None


@pytest.fixture
def hstore(gtmctl):
    return HealthStore(gtmctl)
