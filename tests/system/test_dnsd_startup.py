"""gtm-dnsd's command line and start-up: a missing or unusable store is a clear error
and a non-zero exit (the daemon is reaped either way); --help, --version and
--check-config; bad options exit 2 with a message that names the problem; a port
already taken is an error; and when "ready" is logged, it answers.

Daemons that must fail are run with subprocess and a timeout (--foreground, so the
exit status is the daemon's own); ones that must start go through the `dnsd` fixture.
"""
import re
import socket
import sqlite3
import subprocess
import time
import types

import pytest

from conftest import BUILDDIR, stop_detached
from dnsd_util import ask, check, free_loopback_port, make, run_dnsd, start
from dnsd_util import shared_store, store, transport  # noqa: F401 (fixtures)

WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]


def fails_to_start(db, *extra, port=None):
    """Runs gtm-dnsd on db; asserts it exits non-zero on its own; returns stderr."""
    port = port or free_loopback_port()
    p = run_dnsd("--db", db, "--listen", f"127.0.0.1:{port}", "--foreground", *extra)
    assert p.returncode != 0, f"started on {db}:\n{p.stderr}"
    assert p.returncode == 1, f"exit status {p.returncode}:\n{p.stderr}"
    assert " ready: " not in p.stderr
    return p.stderr


# ---- no usable store ------------------------------------------------------------------------

def test_missing_store(tmp_path):
    err = fails_to_start(tmp_path / "nothere.db")
    assert "cannot start" in err and f"no store at {tmp_path / 'nothere.db'}" in err
    assert "gtmctl init" in err  # what to do about it


def test_text_file(tmp_path):
    db = tmp_path / "text.db"
    db.write_text("zone example.com\n" * 100)
    err = fails_to_start(db)
    assert "cannot start" in err and "not a database" in err


def test_other_sqlite_database(tmp_path):
    db = tmp_path / "other.db"
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    err = fails_to_start(db)
    assert "cannot start" in err and "not a gtm store" in err


def test_empty_file(tmp_path):
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    err = fails_to_start(db)
    assert "cannot start" in err and "schema version 0" in err and "gtmctl init" in err


def test_newer_schema(store, tmp_path):
    c = sqlite3.connect(store.db)
    c.execute("PRAGMA user_version = 999")
    c.commit()
    c.close()
    err = fails_to_start(store.db)
    assert "cannot start" in err and "schema version 999" in err and "upgrade" in err


def test_directory_as_store(tmp_path):
    err = fails_to_start(tmp_path)
    assert "cannot start" in err and str(tmp_path) in err


def test_port_already_taken(shared_store):
    port = free_loopback_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))  # without SO_REUSEPORT: nobody may share it
        err = fails_to_start(shared_store.db, port=port)
    assert "cannot start" in err and f"127.0.0.1:{port}" in err


def test_port_of_a_running_gtm_dnsd(shared_store, dnsd, transport):
    """A second gtm-dnsd on the address of a running one must not start: with
    SO_REUSEPORT its sockets would join the first one's and take part of the queries
    (answered from another store). The first keeps answering them all."""
    srv = start(dnsd, shared_store.db)
    err = fails_to_start(shared_store.db, port=srv.port)
    assert f"cannot listen on 127.0.0.1:{srv.port} (UDP): another process" in err, err
    for _ in range(20):
        q = make("www.dnsd.test", "A")
        r, wire = ask(srv, q, transport)
        check(q, wire, answer=WWW)


def test_tcp_port_taken_by_a_reuseport_listener(shared_store):
    port = free_loopback_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        err = fails_to_start(shared_store.db, port=port)
    assert f"cannot listen on 127.0.0.1:{port} (TCP): another process" in err, err


def test_detached_start_up_failure_says_why(shared_store, tmp_path):
    """Detached (the default), a failed start-up still tells the operator's shell why,
    not only syslog: exit status 1 and the reason on stderr."""
    bad = tmp_path / "notdb.db"
    bad.write_text("not a database")
    p = run_dnsd("--db", bad, "--listen", f"127.0.0.1:{free_loopback_port()}")
    assert p.returncode == 1
    assert "cannot start" in p.stderr and "not a database" in p.stderr, p.stderr
    p = run_dnsd("--db", shared_store.db, "--listen", "192.0.2.1:53")
    assert p.returncode == 1
    assert "cannot listen on 192.0.2.1:53" in p.stderr, p.stderr


def test_detached_server_removes_its_pid_file(shared_store, tmp_path):
    pidfile = tmp_path / "dnsd.pid"
    port = free_loopback_port()
    p = run_dnsd("--db", shared_store.db, "--listen", f"127.0.0.1:{port}", "--pidfile", pidfile)
    assert p.returncode == 0, p.stderr
    assert " ready: " in p.stderr  # said before it let the shell go
    pid = int(pidfile.read_text())
    try:
        q = make("www.dnsd.test", "A")
        r, wire = ask(types.SimpleNamespace(port=port), q, "udp")
        check(q, wire, answer=WWW)
    finally:
        stop_detached(pid, "gtm-dnsd")
    assert not pidfile.exists(), "pid file left after a clean stop"


# ---- options that exit --------------------------------------------------------------------

def test_help():
    p = run_dnsd("--help")
    assert p.returncode == 0
    assert p.stdout.startswith("usage: gtm-dnsd")
    for opt in ("--db", "--listen", "--threads", "--log-level", "--nsid", "--foreground",
                "--identity", "--server-version", "--tcp-idle-timeout", "--tcp-max-conns",
                "--check-config"):
        assert opt in p.stdout


def test_version():
    p = run_dnsd("--version")
    assert p.returncode == 0 and p.stdout.startswith("gtm-dnsd (gtm) ")


def test_check_config_ok(shared_store, tmp_path):
    """--check-config reads the store as start-up would and says what it holds (the
    records served: not those hidden under a deeper zone of the same store)."""
    db = shared_store.db
    rows = sqlite3.connect(db).execute("SELECT count(*) FROM records").fetchone()[0]
    zones = sqlite3.connect(db).execute("SELECT count(*) FROM zones").fetchone()[0]
    p = run_dnsd("--check-config", "--db", db, "--listen", "127.0.0.1:5353",
                 "--listen", "[::1]:5353", "--nsid", "0xabcd", "--threads", "3")
    assert (p.returncode, p.stderr) == (0, "")
    m = re.fullmatch(rf"gtm-dnsd: configuration OK; (store {re.escape(str(db))}: {zones} zones, "
                     r"(\d+) records; 0 GeoIP databases)\n", p.stdout)
    assert m and rows - 5 < int(m[2]) <= rows, (p.stdout, rows)
    summary = m[1]
    conf = tmp_path / "dnsd.conf"
    conf.write_text(f"db {db}\nlisten 127.0.0.1:5353\nthreads 2\nlog-level warn\n")
    p = run_dnsd("--check-config", "--config", conf)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"gtm-dnsd: configuration OK in {conf}; {summary}\n"


def test_check_config_files_that_would_not_do(shared_store, tmp_path):
    """What the options name is checked too: a missing store, a file that is no GeoIP
    database (gtm-dnsd would start, placing every client at '*'), an unknown user."""
    p = run_dnsd("--check-config", "--db", tmp_path / "nothere.db")
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr == (f"gtm-dnsd: check failed: no store at {tmp_path / 'nothere.db'} (No "
                        "such file or directory); create one with: gtmctl init\n")
    junk = tmp_path / "city.mmdb"
    junk.write_bytes(b"not a database\n" * 100)
    p = run_dnsd("--check-config", "--db", shared_store.db, "--geoip", junk)
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr.startswith(f"gtm-dnsd: check failed: GeoIP database {junk}: "), p.stderr
    assert p.stderr.endswith(" (gtm-dnsd would start, and map every client to the geo map's "
                             "'*' entry)\n"), p.stderr
    p = run_dnsd("--check-config", "--db", shared_store.db, "--user", "no-such-user-x")
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "gtm-dnsd: check failed: --user no-such-user-x: no such user\n")


def test_check_config_bad(tmp_path):
    p = run_dnsd("--check-config", "--listen", "127.0.0.1:99999")
    assert p.returncode == 2
    assert "--listen '127.0.0.1:99999'" in p.stderr
    conf = tmp_path / "dnsd.conf"
    conf.write_text("listen 127.0.0.1:5353\nthreds 2\n")
    p = run_dnsd("--check-config", "--config", conf)
    assert p.returncode == 2
    assert "threds" in p.stderr and f"{conf}:2" in p.stderr
    # values checked after reading name their file and line too, not a flag never typed
    for text, says in (("listen 127.0.0.1:5353\n# a comment\nlisten 127.0.0.1:99999\n",
                        ":3: listen '127.0.0.1:99999': not ADDRESS[:PORT]"),
                       ("\nlog-level loud\n",
                        ":2: log-level: 'loud' is not debug, info, warn or error"),
                       ("cookie-secret abc\n", ":1: cookie-secret: 32 hex digits"),
                       ("udp-steering rr\n", ":1: udp-steering 'rr': cpu or hash"),
                       ("foreground\n", ":1: foreground needs a value (a flag is written "
                                        "'foreground yes')")):
        conf.write_text(text)
        p = run_dnsd("--check-config", "--config", conf)
        assert p.returncode == 2
        assert p.stderr.startswith(f"gtm-dnsd: {conf}{says}"), p.stderr


@pytest.mark.parametrize("value", ["127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:", "localhost:53",
                                   "::1:53", "[::1", "[::1]53", "1.2.3.4.5:53", "",
                                   "127.0.0.1:53x", "[127.0.0.1]:53x"])
def test_bad_listen(value, tmp_path):
    p = run_dnsd("--db", tmp_path / "x.db", "--listen", value, "--foreground")
    assert p.returncode == 2, f"exit {p.returncode} for --listen {value!r}:\n{p.stderr}"
    assert f"--listen '{value}'" in p.stderr and "ADDRESS[:PORT]" in p.stderr
    assert "gtm-dnsd --help" in p.stderr


@pytest.mark.parametrize("args,says", [
    (["--threads", "1000"], "threads"),
    (["--threads", "two"], "threads"),
    (["--log-level", "loud"], "log-level"),
    (["--nsid", "0xabc"], "nsid"),
    (["--nsid", "0xzz"], "nsid"),
    (["--nsid", "n" * 200], "nsid"),
    (["--edns-size", "100"], "edns-size"),
    (["--tcp-idle-timeout", "0"], "tcp-idle-timeout"),
    (["--tcp-max-conns", "0"], "tcp-max-conns"),
    (["--udp-steering", "round-robin"], "--udp-steering 'round-robin': cpu or hash"),
    (["--udp-rcvbuf", "100"], "udp-rcvbuf"),
    (["--no-such-option"], "--no-such-option"),
    (["stray"], "stray"),
    (["--listen"], "--listen"),
    (["--listen", "127.0.0.1:5353", "--listen", "127.0.0.1:5353"],
     "--listen '127.0.0.1:5353': the same address and port as '127.0.0.1:5353'"),
    (["--config", "/"], "/: Is a directory"),
])
def test_bad_options(args, says, tmp_path):
    p = run_dnsd("--db", tmp_path / "x.db", "--listen", "127.0.0.1:5353", "--foreground",
                 *args)
    assert p.returncode == 2, f"exit {p.returncode} for {args}:\n{p.stderr}"
    assert says in p.stderr and "gtm-dnsd --help" in p.stderr  # names the option


# ---- ready means ready ----------------------------------------------------------------------

def test_tcp_is_listening_when_ready_is_logged(shared_store, tmp_path):
    """The "ready" line (and the readiness notification) must come once every socket
    is listening: a client that connects as soon as it is logged must not be refused.
    Started 20 times with one worker thread, reading the log as it is written."""
    refused = 0
    for i in range(20):
        port = free_loopback_port()
        log_path = tmp_path / f"dnsd-{i}.log"
        with open(log_path, "wb") as log:
            p = subprocess.Popen([str(BUILDDIR / "gtm-dnsd"), "--db", str(shared_store.db),
                                  "--listen", f"127.0.0.1:{port}", "--threads", "1",
                                  "--foreground"], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while b" ready: " not in log_path.read_bytes():
                assert p.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "no ready line"
            with socket.socket() as s:
                try:
                    s.connect(("127.0.0.1", port))
                except ConnectionRefusedError:
                    refused += 1
        finally:
            p.terminate()
            assert p.wait(timeout=10) == 0, log_path.read_text()
    assert refused == 0, f"TCP connection refused right after 'ready' in {refused} of 20 starts"


def test_udp_answers_when_ready_is_logged(shared_store, dnsd):
    srv = start(dnsd, shared_store.db)
    q = make("www.dnsd.test", "A")
    r, wire = ask(srv, q, "udp")
    check(q, wire, answer=WWW)


@pytest.mark.parametrize("threads", [1, 3, 8])
def test_worker_thread_counts(shared_store, dnsd, threads):
    """--threads N: every count serves both transports (and, in the sanitizer build,
    without a report: the per-thread RCU reader slots are 64-byte aligned objects)."""
    srv = start(dnsd, shared_store.db, threads=threads)
    srv.daemon.wait_log(rf"ready: .*; {threads} threads on ")
    q = make("www.dnsd.test", "A")
    for transport in ("udp", "tcp"):
        r, wire = ask(srv, q, transport)
        check(q, wire, answer=WWW)
