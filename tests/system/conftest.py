"""System-test fixtures: the real gtmctl and daemons of one build, run on loopback.

GTM_BUILDDIR names the build to test (gtm.sh test sets it; default build/release).
Each pytest-xdist worker gets its own port range, so `pytest -n 2` works. Daemons are
started through `Daemon`, which waits for their "ready" line (never a sleep), kills
them in a finalizer even when the test fails, and fails the test on a sanitizer report
or a non-zero exit after SIGTERM.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

SRCDIR = Path(os.environ.get("GTM_SRCDIR", Path(__file__).resolve().parents[2]))
BUILDDIR = Path(os.environ.get("GTM_BUILDDIR", SRCDIR / "build" / "release"))
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")


def check_sanitizers(text, what):
    m = SANITIZER_RE.search(text or "")
    if m:
        raise AssertionError(f"sanitizer report from {what}:\n{text}")


class Gtmctl:
    """Runs the real gtmctl against one store."""

    def __init__(self, db):
        self.db = Path(db)
        self.binary = BUILDDIR / "gtmctl"

    def run(self, *args, rc=0, env=None, input=None, timeout=120):
        """Runs gtmctl --db DB ARGS; asserts the exit status when rc is not None."""
        full_env = dict(os.environ, USER="tester")
        full_env.pop("SUDO_USER", None)
        full_env.update(env or {})
        cmd = [str(self.binary), "--db", str(self.db), *map(str, args)]
        p = subprocess.run(cmd, capture_output=True, text=True, env=full_env, input=input,
                           timeout=timeout)
        check_sanitizers(p.stderr, "gtmctl " + " ".join(map(str, args)))
        if rc is not None and p.returncode != rc:
            raise AssertionError(f"gtmctl {' '.join(map(str, args))}: exit {p.returncode}, "
                                 f"expected {rc}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def popen(self, *args, **kw):
        env = dict(os.environ, USER="tester")
        cmd = [str(self.binary), "--db", str(self.db), *map(str, args)]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, **kw)


def stop_detached(pid, what, timeout=10):
    """Stops a detached daemon by its PID (SIGTERM) and waits until it is gone."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, f"{what} did not stop on SIGTERM"
        time.sleep(0.05)


@pytest.fixture
def gtmctl(tmp_path):
    """A gtmctl bound to a new, initialised store in the test's temp directory."""
    g = Gtmctl(tmp_path / "gtm.db")
    g.run("init")
    return g


@pytest.fixture
def zones_dir():
    return SRCDIR / "zones"


# ---- ports ------------------------------------------------------------------------------

import random
import socket

# Each session starts at a random offset, so two test runs on one machine rarely meet;
# a port is probed (UDP and TCP, loopback v4 and v6) before it is handed out, since
# daemons bind with SO_REUSEPORT and would otherwise share it silently.
_port_counter = [random.randrange(1000)]


def _worker_index():
    wid = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(wid[2:]) if wid.startswith("gw") else 0


def _port_is_free(port):
    """Is nothing bound to port on 127.0.0.1 or ::1 (UDP or TCP)? gtm-dnsd binds with
    SO_REUSEPORT, so a second server on a taken port would start and silently share the
    traffic; a probe without SO_REUSEPORT fails instead."""
    for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(family, kind)
            try:
                s.bind((addr, port))
            except OSError:
                return False
            finally:
                s.close()
    return True


def free_port():
    """A free loopback port in this worker's range (20000 + 1000 x worker index)."""
    base = 20000 + _worker_index() * 1000
    for _ in range(1000):
        _port_counter[0] = (_port_counter[0] + 1) % 1000
        if _port_is_free(base + _port_counter[0]):
            return base + _port_counter[0]
    raise RuntimeError("no free port in this worker's range")


# ---- daemons ----------------------------------------------------------------------------

class Daemon:
    """A gtm daemon started for one test: its log goes to a file we can read."""

    def __init__(self, name, args, log_path, env=None):
        self.name = name
        self.args = list(map(str, args))
        self.log_path = Path(log_path)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.stopped_rc = None

    def start(self, ready=r"\bready\b", timeout=30):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=self.env)
        self.wait_log(ready, timeout=timeout)
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10, start=0):
        """Waits until the log (from offset start) matches pattern; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log()[start:]
            m = rx.search(text)
            if m:
                return m
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before "
                                     f"/{pattern}/:\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no /{pattern}/ within {timeout}s:\n"
                                     f"{self.log()}")
            time.sleep(0.02)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM, wait, and return the exit status (SIGKILL after timeout)."""
        if self.proc is None or self.stopped_rc is not None:
            return self.stopped_rc
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stopped_rc = self.proc.returncode
        self.logf.close()
        return self.stopped_rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped_rc = self.proc.returncode if self.proc else None
        if self.proc:
            self.logf.close()


@pytest.fixture
def daemons(request, tmp_path):
    """Starts daemons for a test; stops them all afterwards, checking that each exits 0
    on SIGTERM with no sanitizer report, and attaches their logs when the test fails."""
    started = []

    def start(name, args, ready=r"\bready\b", env=None, timeout=30):
        d = Daemon(name, args, tmp_path / f"{name}-{len(started)}.log", env=env)
        started.append(d)
        return d.start(ready=ready, timeout=timeout)

    yield start
    problems = []
    for d in started:
        killed = d.stopped_rc is not None and d.stopped_rc < 0
        rc = d.stop()
        text = d.log()
        if SANITIZER_RE.search(text):
            problems.append(f"{d.name}: sanitizer report:\n{text}")
        elif rc != 0 and not killed and not getattr(d, "expect_failure", False):
            problems.append(f"{d.name}: exit status {rc} after SIGTERM:\n{text[-4000:]}")
        request.node.add_report_section("teardown", f"log of {d.name}", text[-20000:])
    if problems:
        pytest.fail("\n\n".join(problems))


# ---- gtm-dnsd ---------------------------------------------------------------------------

class Dnsd:
    """A running gtm-dnsd on loopback addresses (127.0.0.1 and ::1 unless told) at one
    port, with query helpers."""

    def __init__(self, daemon, port, db):
        self.daemon = daemon
        self.port = port
        self.db = db

    def query(self, qname, qtype="A", tcp=False, addr="127.0.0.1", timeout=3, **make_kw):
        """Sends a query (dnspython message or name/type) and returns the response."""
        import dns.message
        import dns.query
        q = qname if isinstance(qname, dns.message.Message) else \
            dns.message.make_query(qname, qtype, **make_kw)
        if tcp:
            return dns.query.tcp(q, addr, port=self.port, timeout=timeout)
        return dns.query.udp(q, addr, port=self.port, timeout=timeout, ignore_unexpected=True)

    def log(self):
        return self.daemon.log()


@pytest.fixture
def dnsd(daemons, tmp_path):
    """Factory: dnsd(db, *extra_args) starts gtm-dnsd on a fresh port (UDP+TCP on
    127.0.0.1 and ::1, or on addrs) serving the store db, and waits for its ready line.
    The port is one nobody holds on 127.0.0.1 and ::1."""

    def start(db, *extra, threads=2, ready=r"\bready\b", addrs=("127.0.0.1", "::1")):
        port = free_port()
        listen = [a for addr in addrs
                  for a in ("--listen", f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}")]
        args = [BUILDDIR / "gtm-dnsd", "--db", db, *listen, "--threads", str(threads),
                "--foreground", "--log-level", "debug", *extra]
        d = daemons("gtm-dnsd", args, ready=ready)
        return Dnsd(d, port, db)

    return start


# ---- gtm-healthd ------------------------------------------------------------------------

@pytest.fixture
def healthd(daemons):
    """Factory: healthd(db, *extra, vantage="test") starts gtm-healthd in the foreground
    on the store db as vantage point `vantage`, writing RTT samples every 500 ms, and
    waits for its ready line; returns its Daemon (stopped, and checked for a clean exit,
    by the `daemons` fixture)."""

    def start(db, *extra, vantage="test", ready=r"\bready\b"):
        args = [BUILDDIR / "gtm-healthd", "--db", db, "--vantage", vantage, "--foreground",
                "--log-level", "debug", "--rtt-batch-ms", "500", *extra]
        return daemons(f"gtm-healthd-{vantage}", args, ready=ready)

    return start
