"""gtm-dnsd when its store goes bad (DESIGN.md: "If the store is missing, locked,
corrupt or half-migrated, dnsd keeps answering from its last good snapshot and says
so in its log"): the store renamed away, deleted, replaced by a corrupt file, locked
by a writer, or of a schema version this gtm does not know. Each test checks that
answers go on from the last good data (over UDP and TCP), that the log says why, and
that once a good store is back, dnsd serves it again (edits included).

Moving files under a live SQLite store: a store is its file plus its -wal and -shm
files; replacing the file means replacing those too (a stale -wal would be replayed
into whatever file comes next), so the tests move and remove them together, as an
operator must.
"""
import os
import signal
import sqlite3
import threading
import time

import dns.message
import dns.rcode
import pytest

from dnsd_util import ask, check, exchange, make, start
from dnsd_util import store  # noqa: F401 (fixtures)

WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]
BEFORE = ["before.dnsd.test. 60 IN A 192.0.2.111"]
STILL = "still serving the last good snapshot"


def sidecars(db):
    return [f"{db}-wal", f"{db}-shm"]


def remove_store(db):
    for p in [str(db)] + sidecars(db):
        if os.path.exists(p):
            os.unlink(p)


def good_copy(db, dest):
    """A consistent one-file copy of the live store (SQLite backup, then out of WAL
    mode, so no -wal or -shm goes with it)."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    dst.execute("PRAGMA journal_mode=DELETE")
    dst.close()
    return dest


def put_in_place(path, db):
    """Moves the one-file store at path to db, dropping db's old -wal/-shm."""
    for p in sidecars(db):
        if os.path.exists(p):
            os.unlink(p)
    os.replace(path, db)


@pytest.fixture
def served(store, dnsd):
    """dnsd on the test's store, serving an edit made after start-up (so the last good
    snapshot is not merely the first one)."""
    srv = start(dnsd, store.db)
    store.run("record", "add", "dnsd.test", "before", "A", "60", "192.0.2.111")
    q = make("before.dnsd.test", "A")
    deadline = time.monotonic() + 2
    while not ask(srv, q, "udp")[0].answer:
        assert time.monotonic() < deadline, "edit not served"
        time.sleep(0.01)
    return srv


def still_answering(srv):
    """The last good data, over UDP and TCP."""
    for transport in ("udp", "tcp"):
        for name, want in (("www.dnsd.test", WWW), ("before.dnsd.test", BEFORE)):
            q = make(name, "A", edns=0)
            r, wire = ask(srv, q, transport)
            check(q, wire, answer=want)


def wait_trouble(srv, at, why, timeout=5):
    """Waits for the log line that says the store is unusable and why."""
    m = srv.daemon.wait_log(rf"store \S+: (.*); {STILL}", start=at, timeout=timeout)
    assert why in m.group(1), f"log says {m.group(1)!r}, expected it to say {why!r}"


def recovers(srv, store, same_data=True):
    """After a good store is back: logged, and a new edit is served within 1 s."""
    srv.daemon.wait_log(r"store \S+ is usable again", timeout=5)
    if same_data:
        still_answering(srv)
    store.run("record", "add", "dnsd.test", "after", "A", "60", "192.0.2.112")
    q = make("after.dnsd.test", "A")
    t0 = time.monotonic()
    while True:
        r, wire = ask(srv, q, "udp")
        if r.answer:
            break
        assert time.monotonic() - t0 < 1, "edit after recovery not served within 1 s"
        time.sleep(0.01)
    check(q, wire, answer=["after.dnsd.test. 60 IN A 192.0.2.112"])


def test_store_renamed_away_and_back(served, store):
    db = str(store.db)
    at = len(served.log())
    for p in [db] + sidecars(db):
        os.rename(p, p.replace("gtm.db", "moved.db"))
    wait_trouble(served, at, "the file is gone (moved or deleted?): put it back")
    still_answering(served)
    for p in [db] + sidecars(db):
        os.rename(p.replace("gtm.db", "moved.db"), p)
    recovers(served, store)


def test_store_deleted_then_restored(served, store, tmp_path):
    db = str(store.db)
    backup = good_copy(db, tmp_path / "backup.db")
    at = len(served.log())
    remove_store(db)
    wait_trouble(served, at, "the file is gone (moved or deleted?): put it back")
    still_answering(served)
    put_in_place(backup, db)
    recovers(served, store)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty"])
def test_store_replaced_by_a_corrupt_file(served, store, tmp_path, kind):
    db = str(store.db)
    backup = good_copy(db, tmp_path / "backup.db")
    bad = tmp_path / "bad.db"
    why = {"garbage": "not a database", "truncated": "malformed", "empty": "schema version 0"}
    if kind == "garbage":
        bad.write_bytes(b"this is not an SQLite database\n" * 300)
    elif kind == "truncated":  # a valid header, most pages missing
        bad.write_bytes(backup.read_bytes()[:8192])
    else:
        bad.write_bytes(b"")
    at = len(served.log())
    put_in_place(bad, db)
    wait_trouble(served, at, why[kind])
    still_answering(served)
    # still unusable after a forced reload, and still answering
    at = len(served.log())
    served.daemon.signal(signal.SIGHUP)
    served.daemon.wait_log("SIGHUP: reloading", start=at)
    still_answering(served)
    put_in_place(backup, db)
    recovers(served, store)


@pytest.mark.parametrize("version", [999, 0])
def test_store_with_an_incompatible_schema_version(served, store, tmp_path, version):
    db = str(store.db)
    backup = good_copy(db, tmp_path / "backup.db")
    odd = good_copy(db, tmp_path / "odd.db")
    c = sqlite3.connect(odd)
    c.execute(f"PRAGMA user_version = {version}")
    c.commit()
    c.close()
    at = len(served.log())
    put_in_place(odd, db)
    wait_trouble(served, at, f"schema version {version}")
    still_answering(served)
    put_in_place(backup, db)
    recovers(served, store)


def test_writer_holding_begin_exclusive_on_the_live_store(served, store):
    """A writer holding BEGIN EXCLUSIVE with an uncommitted change (python sqlite3): the
    store is in WAL mode, so dnsd can still read — a forced reload succeeds — but it
    must not serve the uncommitted change; once committed, it is served within 1 s."""
    w = sqlite3.connect(str(store.db), isolation_level=None, timeout=5)
    try:
        w.execute("BEGIN EXCLUSIVE")
        w.execute("UPDATE records SET ttl = 7 WHERE owner = 'www.dnsd.test.'")
        at = len(served.log())
        served.daemon.signal(signal.SIGHUP)
        served.daemon.wait_log(r"reloaded generation \d+ \(forced\)", start=at)
        still_answering(served)  # TTL 600: the uncommitted 7 is not served
        w.execute("COMMIT")
    finally:
        w.close()
    q = make("www.dnsd.test", "A")
    t0 = time.monotonic()
    while ask(served, q, "udp")[0].answer[0].ttl != 7:
        assert time.monotonic() - t0 < 1, "committed change not served within 1 s"
        time.sleep(0.01)
    for transport in ("udp", "tcp"):
        r, wire = ask(served, q, transport)
        check(q, wire, answer=["www.dnsd.test. 7 IN A 192.0.2.80"])


def test_store_locked_against_readers(served, store, tmp_path):
    """A store restored in rollback-journal mode while the restoring process still holds
    BEGIN EXCLUSIVE with writes pending: readers get SQLITE_BUSY. dnsd logs that the
    store is busy, goes on answering, and loads it once the writer commits."""
    db = str(store.db)
    restored = good_copy(db, tmp_path / "restored.db")
    w = sqlite3.connect(restored, isolation_level=None, timeout=5)
    try:
        w.execute("BEGIN EXCLUSIVE")
        w.execute("UPDATE records SET ttl = 9 WHERE owner = 'before.dnsd.test.'")
        at = len(served.log())
        put_in_place(restored, db)  # the writer's open file moves with it
        # opening the store waits out SQLite's busy timeout (5 s in store_open) first
        wait_trouble(served, at, "busy", timeout=8)
        still_answering(served)
        w.execute("COMMIT")
    finally:
        w.close()
    served.daemon.wait_log(r"store \S+ is usable again", timeout=5)
    q = make("before.dnsd.test", "A")
    r, wire = ask(served, q, "tcp")
    check(q, wire, answer=["before.dnsd.test. 9 IN A 192.0.2.111"])
    recovers(served, store, same_data=False)


def test_queries_keep_being_answered_through_faults(served, store, tmp_path):
    """A client querying without pause sees no lost query while the store is moved
    away, replaced by garbage and restored."""
    db = str(store.db)
    backup = good_copy(db, tmp_path / "backup.db")
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 1000)
    stop = threading.Event()
    lost, bad_answers, count = [], [], [0]

    def client():
        q = make("before.dnsd.test", "A")
        while not stop.is_set():
            data = exchange(served, q.to_wire(), "udp", timeout=1)
            if data is None:
                lost.append(1)
                continue
            r = dns.message.from_wire(data)
            if r.rcode() != dns.rcode.NOERROR or not r.answer:
                bad_answers.append(str(r))
            count[0] += 1

    t = threading.Thread(target=client)
    t.start()
    try:
        at = len(served.log())
        remove_store(db)
        wait_trouble(served, at, "the file is gone (moved or deleted?): put it back")
        at = len(served.log())
        put_in_place(bad, db)
        wait_trouble(served, at, "not a database")
        put_in_place(backup, db)
        served.daemon.wait_log(r"store \S+ is usable again", timeout=5)
    finally:
        stop.set()
        t.join(timeout=5)
    assert not lost and not bad_answers, (len(lost), bad_answers[:3])
    assert count[0] > 10


@pytest.mark.parametrize("rtype,rdata,wire", [(5, "", ""), (1, "1.2.3", "010203"),
                                              (28, "::", "0000")], ids=["cname", "a", "aaaa"])
def test_data_that_does_not_compile(served, store, rtype, rdata, wire):
    """A record the server cannot serve, written behind gtmctl's back (a CNAME without a
    target, addresses of the wrong length: gtmctl refuses them, the server would send them
    malformed): the last good data goes on being served, the log names
    the record once and does not call the store usable again while that data stands;
    an edit meanwhile is not served (the data is compiled as a whole); once the record is
    gone, the edit is served and the store is usable again."""
    w = sqlite3.connect(str(store.db), isolation_level=None, timeout=5)
    try:
        at = len(served.log())
        w.execute("INSERT INTO records (zone_id, owner, type, ttl, rdata, wire) SELECT id, "
                  f"'broken.dnsd.test.', {rtype}, 60, '{rdata}', x'{wire}' FROM zones WHERE "
                  "name = 'dnsd.test.'")
        wait_trouble(served, at, f"record broken.dnsd.test. type {rtype}: malformed RDATA")
        store.run("record", "add", "dnsd.test", "meanwhile", "A", "60", "192.0.2.113")
        time.sleep(1)  # ten polls of the store
        log = served.log()[at:]
        assert "usable again" not in log and log.count(STILL) == 1, log
        still_answering(served)
        r, _ = ask(served, make("meanwhile.dnsd.test", "A"), "udp")
        assert r.rcode() == dns.rcode.NXDOMAIN and not r.answer
        w.execute("DELETE FROM records WHERE owner = 'broken.dnsd.test.'")
    finally:
        w.close()
    recovers(served, store)
