"""gtm-healthd's states over time: rise/fall hysteresis end to end, a restart after
SIGKILL (no burst of flips), two vantage points, a store locked by another writer,
checks added, changed, disabled and removed while it runs, SIGHUP, SIGTERM with probes
in flight, detaching, and its command line."""
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time

from backends import (HttpBackend, TcpListener, backends, hstore)  # noqa: F401
from conftest import BUILDDIR, check_sanitizers, free_port, stop_detached


def wait_requests(web, n, timeout=10):
    """Waits until web answered n more requests than now."""
    target = web.requests + n
    deadline = time.monotonic() + timeout
    while web.requests < target:
        assert time.monotonic() < deadline, f"backend got {web.requests} of {target} requests"
        time.sleep(0.05)


# ---- hysteresis ---------------------------------------------------------------------------

def test_hysteresis_fall_3_rise_2(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port, rise=2, fall=3)
    hd = healthd(hstore.db)
    hstore.wait_state(ep, "up")
    assert "unknown -> up after 2 successful probes (HTTP 200)" in hd.log()
    # one failed probe, then two more: no flip with fall 3
    web.set(fail_next=1)
    wait_requests(web, 3)
    assert hstore.health(ep)["state"] == "up"
    assert ("endpoint web/127.0.0.1: probe failed (HTTP 503, expected 200-399), 1 of 3 "
            "before down") in hd.log()
    # two failures in a row: still up
    web.set(fail_next=2)
    wait_requests(web, 3)
    assert hstore.health(ep)["state"] == "up"
    assert "probe failed (HTTP 503, expected 200-399), 2 of 3 before down" in hd.log()
    assert len(hstore.events(ep)) == 1
    # three: down
    web.set(status=503)
    t0 = time.monotonic()
    down = hstore.wait_state(ep, "down")
    assert time.monotonic() - t0 > 1.5  # three probes at 1 s, not one
    assert down["reason"] == "HTTP 503, expected 200-399"
    assert ("endpoint web/127.0.0.1: up -> down after 3 failed probes (HTTP 503, expected "
            "200-399)") in hd.log()
    # recovery after rise 2
    web.set(status=200, fail_next=0)
    hstore.wait_state(ep, "up")
    assert "endpoint web/127.0.0.1: down -> up after 2 successful probes (HTTP 200)" in hd.log()
    assert [e[2:] for e in hstore.events(ep)] == [
        ("unknown", "up", "HTTP 200"), ("up", "down", "HTTP 503, expected 200-399"),
        ("down", "up", "HTTP 200")]


# ---- restarts -----------------------------------------------------------------------------

def test_sigkill_and_restart_continue_states(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1")
    closed = TcpListener("127.0.0.1")  # never started: its port refuses
    up_ep = hstore.endpoint("127.0.0.1")
    down_ep = hstore.endpoint("127.0.0.2")
    never = hstore.endpoint("127.0.0.3")
    hstore.check(up_ep, "http", port=web.port, rise=1, fall=2)
    hstore.check(down_ep, "tcp", port=closed.port, rise=2, fall=1)
    hstore.check(never, "tcp", port=closed.port, fall=100)  # never concludes
    hd = healthd(hstore.db)
    up_row = hstore.wait_state(up_ep, "up")
    down_row = hstore.wait_state(down_ep, "down")
    before = hstore.events()
    assert len(before) == 2
    hd.kill()  # SIGKILL: no flush, no goodbye
    hd2 = healthd(hstore.db)
    assert "(from the store: 1 up, 1 down, 1 unknown)" in hd2.log()
    wait_requests(web, 3)
    # no burst of flips: the same events, the same since, still no row for the third
    assert hstore.events() == before
    assert hstore.health(up_ep)["since"] == up_row["since"]
    assert hstore.health(down_ep)["since"] == down_row["since"]
    assert hstore.health(never) is None
    assert "unknown ->" not in hd2.log()
    # and the stored state is where the hysteresis goes on from
    web.stop()
    hstore.wait_state(up_ep, "down")
    assert hstore.events()[-1][:4] == ("web/127.0.0.1", "test", "up", "down")


def test_down_endpoint_reason_follows_the_failure(hstore, healthd, backends):
    """An endpoint that stays down but now fails for another cause: its health row (what
    gtmctl status shows) says the cause of now, its state and since unchanged, no new
    event; the log says it once."""
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port, rise=1, fall=1)
    hd = healthd(hstore.db)
    hstore.wait_state(ep, "up")
    web.set(status=503)
    down = hstore.wait_state(ep, "down")
    assert down["reason"] == "HTTP 503, expected 200-399"
    web.stop()
    deadline = time.monotonic() + 10
    while hstore.health(ep)["reason"] != "connection refused":
        assert time.monotonic() < deadline, hstore.health(ep)
        time.sleep(0.05)
    now = hstore.health(ep)
    assert (now["state"], now["since"]) == ("down", down["since"])
    assert now["checked"] > down["checked"]
    assert [e[2:] for e in hstore.events(ep)] == [
        ("unknown", "up", "HTTP 200"), ("up", "down", "HTTP 503, expected 200-399")]
    time.sleep(1.5)  # more refused probes: the same cause, no more lines
    assert hd.log().count("endpoint web/127.0.0.1: still down, probe failed (connection "
                          "refused)") == 1


def test_two_vantage_points(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port)
    healthd(hstore.db, vantage="eu-1")
    healthd(hstore.db, vantage="us-1")
    hstore.wait_state(ep, "up", vantage="eu-1")
    hstore.wait_state(ep, "up", vantage="us-1")
    seen = hstore.vantages()
    assert set(seen) == {"eu-1", "us-1"}
    hstore.wait(lambda: hstore.samples(ep, "eu-1") and hstore.samples(ep, "us-1"))
    # each says every second that it is alive
    time.sleep(1.5)
    later = hstore.vantages()
    assert all(later[v] > seen[v] for v in seen)
    assert sorted(e[1] for e in hstore.events(ep)) == ["eu-1", "us-1"]


def test_two_processes_under_one_vantage_name_are_told(hstore, healthd, backends):
    """Two gtm-healthd given one --vantage overwrite each other's rows: each finds the
    other's heartbeat in place of its own and says so (once), while a restart under the
    same name is no such case."""
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port)
    first = healthd(hstore.db, vantage="eu-1")
    hstore.wait_state(ep, "up", vantage="eu-1")
    time.sleep(1.5)  # heartbeats of its own
    first.stop()
    again = healthd(hstore.db, vantage="eu-1")
    time.sleep(2.5)
    twin = "vantage point 'eu-1': another process reports as it too"
    assert twin not in again.log()
    other = healthd(hstore.db, vantage="eu-1")
    hstore.wait(lambda: twin in again.log() and twin in other.log())
    time.sleep(2)
    assert again.log().count(twin) == 1 and other.log().count(twin) == 1


# ---- the store ----------------------------------------------------------------------------

def up_then_locked(hstore, healthd, backends):
    """An endpoint gtm-healthd has found up, then the store write-locked by another
    connection (BEGIN IMMEDIATE): (its backend, the endpoint, the daemon, the connection)."""
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port)
    hd = healthd(hstore.db)
    hstore.wait_state(ep, "up")
    con = sqlite3.connect(hstore.db, timeout=10, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    return web, ep, hd, con


def test_store_locked_by_another_writer(hstore, healthd, backends):
    web, ep, hd, con = up_then_locked(hstore, healthd, backends)
    locked_at = time.time()
    try:
        web.set(status=503)
        hd.wait_log(r"store .*: cannot write: .*busy: another process holds its write lock; "
                    r"keeping \d+ state changes? and \d+ RTT samples? queued", timeout=5)
        requests = web.requests
        time.sleep(2)
        assert web.requests >= requests + 1  # still probing
        assert hstore.health(ep)["state"] == "up"  # readers see the last commit
    finally:
        con.execute("ROLLBACK")
        con.close()
    released_at = time.time()
    down = hstore.wait_state(ep, "down", timeout=3)
    # the change is stored with the time it happened, not the time it was written
    assert locked_at * 1000 - 100 <= down["since"] < released_at * 1000
    hd.wait_log(r"store .*: writable again after \d+\.\d s; wrote 1 queued state change",
                timeout=3)
    assert len(re.findall(r"cannot write", hd.log())) == 1  # once per outage
    assert hstore.events(ep)[-1][2:] == ("up", "down", "HTTP 503, expected 200-399")


def test_state_of_a_check_removed_meanwhile_is_not_written(hstore, healthd, backends):
    """A state change queued while the store is locked, whose check is removed before
    the lock goes (as gtmctl check rm does: the check and its states), is not written
    afterwards: the endpoint stays unknown, as check rm says, not down for ever."""
    web, ep, hd, con = up_then_locked(hstore, healthd, backends)
    try:
        web.set(status=503)
        hd.wait_log(r"endpoint web/127\.0\.0\.1: up -> down", timeout=5)
        con.execute("DELETE FROM checks WHERE endpoint_id = ?", (ep,))
        con.execute("DELETE FROM health WHERE endpoint_id = ?", (ep,))
    finally:
        con.execute("COMMIT")
        con.close()
    hd.wait_log(r"checks: 0 started, 1 stopped, 0 restarted; 0 running", timeout=5)
    time.sleep(1)  # the queued change has been tried by now (every 250 ms)
    assert hstore.health(ep) is None


def test_state_changes_lost_at_exit_give_exit_status_1(hstore, healthd, backends):
    """SIGTERM while another writer holds the store: healthd waits up to 2 s for it, then
    says what it could not write and exits 1 (not 0, as after a clean stop)."""
    web, ep, hd, con = up_then_locked(hstore, healthd, backends)
    try:
        web.set(status=503)
        hd.wait_log(r"endpoint web/127\.0\.0\.1: up -> down", timeout=5)
        hd.expect_failure = True
        rc = hd.stop()
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert rc == 1
    assert re.search(r"1 state change and \d+ RTT samples? not written at exit", hd.log())
    assert hstore.health(ep)["state"] == "up"


def test_checks_follow_the_store(hstore, healthd, backends):
    lst = backends(TcpListener, "127.0.0.1")
    a = hstore.endpoint("127.0.0.1")
    b = hstore.endpoint("127.0.0.2")
    hstore.check(a, "tcp", port=lst.port)
    hd = healthd(hstore.db)
    assert "ready: probing 1 checks" in hd.log()
    hstore.wait_state(a, "up")
    # added while running
    mark = len(hd.log())
    hstore.check(b, "tcp", port=lst.port, probe_address="127.0.0.1")
    hd.wait_log(r"checks: 1 started, 0 stopped, 0 restarted; 2 running", start=mark, timeout=3)
    hstore.wait_state(b, "up")
    # changed: restarted, keeping its state (no event)
    mark = len(hd.log())
    hstore.check(a, "tcp", port=lst.port, timeout_ms=400)
    hd.wait_log(r"endpoint web/127\.0\.0\.1: check changed; restarting it \(state up\)",
                start=mark, timeout=3)
    # disabled with gtmctl: no longer probed
    mark = len(hd.log())
    hstore.g.run("endpoint", "set", "web", "127.0.0.2", "--enabled", "no")
    hd.wait_log(r"endpoint web/127\.0\.0\.2: check removed or endpoint disabled", start=mark,
                timeout=3)
    # removed
    mark = len(hd.log())
    hstore.sql("DELETE FROM checks WHERE endpoint_id = ?", a)
    hd.wait_log(r"checks: 0 started, 1 stopped, 0 restarted; 0 running", start=mark, timeout=3)
    accepted = lst.accepted
    time.sleep(1.5)
    assert lst.accepted == accepted  # nothing probes any more
    assert len(hstore.events()) == 2
    # SIGHUP reads them again at once
    mark = len(hd.log())
    hd.signal(signal.SIGHUP)
    hd.wait_log(r"SIGHUP: reading the checks again", start=mark, timeout=3)
    hd.wait_log(r"0 checks to run \(reload asked\)", start=mark, timeout=3)


def test_store_replaced_by_one_of_the_same_generation(hstore, healthd, backends, tmp_path):
    """A store file put in place of the running one (a restore) is read afresh: its
    checks are its own even when its generation is the same number as the old file's
    (here its one check goes to a port where nothing listens)."""
    lst = backends(TcpListener, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "tcp", port=lst.port)
    hd = healthd(hstore.db)
    hstore.wait_state(ep, "up")
    gen = hstore.sql("SELECT n FROM generation WHERE id = 1")[0][0]
    other = tmp_path / "restored.db"
    src, dst = sqlite3.connect(hstore.db), sqlite3.connect(other)
    src.backup(dst)
    src.close()
    dst.execute("PRAGMA journal_mode=DELETE")
    dst.execute("UPDATE checks SET port = ? WHERE endpoint_id = ?", (free_port(), ep))
    dst.execute("UPDATE generation SET n = ? WHERE id = 1", (gen,))
    dst.commit()
    dst.close()
    mark = len(hd.log())
    for side in ("-wal", "-shm"):
        if os.path.exists(hstore.db + side):
            os.unlink(hstore.db + side)
    os.replace(other, hstore.db)
    down = hstore.wait_state(ep, "down", timeout=5)
    assert down["reason"] == "connection refused", down
    assert "check changed; restarting it" in hd.log()[mark:]


# ---- stopping, detaching, options ----------------------------------------------------------

def test_sigterm_with_probes_in_flight(hstore, healthd, backends):
    hang = backends(TcpListener, "127.0.0.1", hang=True)
    lst = backends(TcpListener, "::1")
    for i in range(1, 6):
        ep = hstore.endpoint(f"127.0.0.{i}")
        hstore.check(ep, "http", port=hang.port, timeout_ms=900, probe_address="127.0.0.1")
    ep6 = hstore.endpoint("::1")
    hstore.check(ep6, "tcp", port=lst.port)
    hd = healthd(hstore.db)
    hstore.wait_state(ep6, "up")
    hstore.wait(lambda: hang.accepted >= 3)
    t0 = time.monotonic()
    assert hd.stop() == 0
    assert time.monotonic() - t0 < 3
    log = hd.log()
    assert "Terminated: stopping" in log
    assert re.search(r"schedule since start: \d+ probes started, lag p50 [\d.]+ ms, p99 "
                     r"[\d.]+ ms, max [\d.]+ ms", log), log
    assert log.rstrip().endswith("stopped")


def test_detaches_and_writes_pidfile(hstore, backends, tmp_path):
    lst = backends(TcpListener, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "tcp", port=lst.port)
    pidfile = tmp_path / "healthd.pid"
    p = subprocess.run([str(BUILDDIR / "gtm-healthd"), "--db", hstore.db, "--vantage", "bg",
                        "--pidfile", str(pidfile)], capture_output=True, text=True, timeout=30)
    check_sanitizers(p.stderr, "gtm-healthd")
    assert p.returncode == 0, p.stderr
    pid = int(pidfile.read_text())
    try:
        hstore.wait_state(ep, "up", vantage="bg")
    finally:
        stop_detached(pid, "gtm-healthd")
    assert not pidfile.exists(), "pid file left after a clean stop"


def test_detached_start_up_failure_says_why(tmp_path):
    """Detached (the default), a failed start-up still tells the operator's shell why,
    not only syslog: exit status 1 and the reason on stderr."""
    bad = tmp_path / "notdb.db"
    bad.write_text("not a database")
    p = run_healthd("--db", bad)
    assert p.returncode == 1
    assert "cannot start" in p.stderr and "not a database" in p.stderr, p.stderr


def run_healthd(*args, timeout=15):
    p = subprocess.run([str(BUILDDIR / "gtm-healthd"), *map(str, args)], capture_output=True,
                       text=True, timeout=timeout)
    check_sanitizers(p.stderr, "gtm-healthd")
    return p


def test_command_line(hstore, tmp_path):
    p = run_healthd("--version")
    assert (p.returncode, p.stdout) == (0, "gtm-healthd (gtm) 0.1.0\n")
    p = run_healthd("--help")
    assert p.returncode == 0
    for opt in ("--db PATH", "--vantage NAME", "--log-level LEVEL", "--foreground",
                "--poll-interval-ms MS", "--rtt-batch-ms MS", "--stats-interval SECONDS"):
        assert opt in p.stdout
    p = run_healthd("--db", hstore.db, "--vantage", "bad name", "--foreground")
    assert p.returncode == 2
    assert "--vantage 'bad name': 1 to 64 characters" in p.stderr
    p = run_healthd("--db", tmp_path / "missing.db", "--foreground", "--vantage", "x")
    assert p.returncode == 1
    assert "cannot start: no store at" in p.stderr
    conf = tmp_path / "healthd.conf"
    conf.write_text("# test\nvantage eu-1\npoll-interval-ms 10\n")
    p = run_healthd("--config", conf, "--check-config")
    assert p.returncode != 0
    assert f"{conf}:3" in p.stderr
    conf.write_text(f"db {hstore.db}\nvantage eu-1\npoll-interval-ms 200\n")
    p = run_healthd("--config", conf, "--check-config")
    assert (p.returncode, p.stdout) == (
        0, f"gtm-healthd: configuration OK in {conf}; store {hstore.db}: 0 checks to run\n")
    # the store and the user are checked as start-up would
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "tcp", port=9)
    p = run_healthd("--db", hstore.db, "--check-config")
    assert (p.returncode, p.stdout) == (
        0, f"gtm-healthd: configuration OK; store {hstore.db}: 1 check to run\n")
    p = run_healthd("--db", tmp_path / "missing.db", "--check-config")
    assert (p.returncode, p.stdout) == (1, "")
    assert p.stderr.startswith("gtm-healthd: check failed: no store at "), p.stderr
    p = run_healthd("--db", hstore.db, "--check-config", "--user", "no-such-user-x")
    assert (p.returncode, p.stderr) == (
        1, "gtm-healthd: check failed: --user no-such-user-x: no such user\n")


def test_check_removed_and_set_again_between_two_reads(hstore, healthd, backends):
    """gtmctl check rm forgets the endpoint's states; a check set again before gtm-healthd
    next reads the store is a new check all the same: probed afresh and its state
    stored, not left unknown (answered as up) for ever."""
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    web.set(status=503)
    opts = ("--type", "http", "--port", web.port, "--interval", "1s", "--timeout", "500ms",
            "--rise", "1", "--fall", "1")
    hstore.g.run("check", "set", "web", "127.0.0.1", *opts)
    hd = healthd(hstore.db, "--poll-interval-ms", "3000")
    hstore.wait_state(ep, "down")
    mark = len(hd.log())
    hstore.g.run("check", "rm", "web", "127.0.0.1")
    hstore.g.run("check", "set", "web", "127.0.0.1", *opts)
    assert hstore.health(ep) is None
    hd.wait_log(r"endpoint web/127\.0\.0\.1: the store has no state of ours for it any more",
                start=mark, timeout=5)
    assert hstore.wait_state(ep, "down", timeout=5)["reason"] == "HTTP 503, expected 200-399"
    assert [e[2:4] for e in hstore.events(ep)] == [("unknown", "down"), ("unknown", "down")]


def test_store_restored_under_a_running_healthd(hstore, healthd, backends, tmp_path):
    """gtmctl restore leaves the backup's health states out: gtm-healthd, which keeps
    running, probes afresh and stores what it finds (the endpoint went down since the
    backup, which had it up)."""
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port)
    hd = healthd(hstore.db)
    hstore.wait_state(ep, "up")
    hstore.g.run("backup", tmp_path / "backup.db")
    web.set(status=503)
    hstore.wait_state(ep, "down")
    web.set(status=200)
    hstore.wait_state(ep, "up")
    web.set(status=503)
    mark = len(hd.log())
    hstore.g.run("restore", tmp_path / "backup.db")
    hd.wait_log(r"endpoint web/127\.0\.0\.1: the store has no state of ours", start=mark,
                timeout=5)
    assert hstore.wait_state(ep, "down", timeout=5)["reason"] == "HTTP 503, expected 200-399"


def test_checks_set_with_gtmctl(hstore, healthd, backends):
    """The real gtmctl check set / check rm drive the daemon (the other tests insert
    rows directly, to test the daemon alone)."""
    web = backends(HttpBackend, "::1", body=b"all ok\n")
    ep = hstore.endpoint("2001:db8::7")
    hd = healthd(hstore.db)
    hstore.g.run("check", "set", "web", "2001:db8::7", "--type", "http", "--port", web.port,
                 "--probe-address", "::1", "--host", "www.example.test", "--interval", "1s",
                 "--timeout", "500ms", "--rise", "1", "--fall", "2", "--expect-body", "ok")
    hstore.wait_state(ep, "up")
    assert set(web.hosts) == {f"www.example.test:{web.port}"}
    web.set(body=b"maintenance\n")
    assert hstore.wait_state(ep, "down")["reason"] == "body lacks 'ok'"
    mark = len(hd.log())
    hstore.g.run("check", "rm", "web", "2001:db8::7")
    hd.wait_log(r"endpoint web/2001:db8::7: check removed or endpoint disabled", start=mark,
                timeout=3)
    assert hstore.health(ep) is None  # gtmctl forgets the states with the check
    requests = web.requests
    time.sleep(1.5)
    assert web.requests == requests
