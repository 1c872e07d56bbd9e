"""gtm-dnsd reloads: a change committed by gtmctl is served within 1 s (measured from
gtmctl's exit to the first answer that has it), whatever the change (a new name, a
removed one, a changed RRset, the SOA serial, a new zone, a removed zone), and queries
in flight while the store changes are all answered, each from one whole snapshot.
"""
import sqlite3
import threading
import time

import dns.message
import dns.rcode
import dns.rdatatype
import dns.serial
import pytest

from dnsd_util import ask, check, exchange, make, start
from dnsd_util import store, transport  # noqa: F401 (fixtures)

RELOAD_BUDGET_S = 1.0


def until(srv, q, transport, pred, budget=RELOAD_BUDGET_S):
    """Queries q in a loop until pred(response) holds; returns (response, wire, seconds
    since the call). Fails when it takes longer than budget (+ a little to report)."""
    t0 = time.monotonic()
    while True:
        data = exchange(srv, q.to_wire(), transport, timeout=1)
        assert data is not None, "query lost while waiting for a reload"
        r = dns.message.from_wire(data)
        took = time.monotonic() - t0
        if pred(r):
            return r, data, took
        assert took < budget + 1, f"change not served after {took:.2f}s:\n{r}\n{srv.log()}"
        time.sleep(0.005)


@pytest.fixture
def srv(store, dnsd):
    return start(dnsd, store.db)


def test_new_record_served_within_1s(srv, store, transport):
    q = make("fresh.dnsd.test", "A")
    r, wire = ask(srv, q, transport)
    assert r.rcode() == dns.rcode.NXDOMAIN
    store.run("record", "add", "dnsd.test", "fresh", "A", "120", "192.0.2.201")
    r, wire, took = until(srv, q, transport, lambda r: r.answer)
    check(q, wire, answer=["fresh.dnsd.test. 120 IN A 192.0.2.201"])
    assert took < RELOAD_BUDGET_S, f"served after {took:.2f}s"


def test_removed_record_gone_within_1s(srv, store, transport):
    q = make("mail.dnsd.test", "A")
    r, wire = ask(srv, q, transport)
    assert r.answer
    store.run("record", "rm", "dnsd.test", "mail", "A")
    r, wire, took = until(srv, q, transport, lambda r: r.rcode() == dns.rcode.NXDOMAIN)
    assert took < RELOAD_BUDGET_S, f"served after {took:.2f}s"
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[r.authority[0].to_text()])


def test_changed_rrset_and_serial_within_1s(srv, store, transport):
    q = make("www.dnsd.test", "A")
    store.run("record", "add", "dnsd.test", "www", "A", "600", "192.0.2.81")
    r, wire, took = until(srv, q, transport, lambda r: r.answer and len(r.answer[0]) == 2)
    assert took < RELOAD_BUDGET_S
    check(q, wire, answer=["www.dnsd.test. 600 IN A 192.0.2.80",
                           "www.dnsd.test. 600 IN A 192.0.2.81"])
    # the edit bumped the serial (gtmctl), and the served SOA has the new one
    soa = make("dnsd.test", "SOA")
    r, wire = ask(srv, soa, transport)
    assert r.answer[0][0].serial > 2024010101


def test_new_zone_and_removed_zone_within_1s(srv, store, tmp_path, transport):
    zone = tmp_path / "new.test.zone"
    zone.write_text("$ORIGIN new.test.\n$TTL 300\n"
                    "@ IN SOA ns hostmaster 7 3600 600 86400 60\n@ IN NS ns\n"
                    "ns IN A 192.0.2.9\nwww IN A 192.0.2.10\n")
    q = make("www.new.test", "A")
    r, wire = ask(srv, q, transport)
    assert r.rcode() == dns.rcode.REFUSED
    store.run("zone", "import", "new.test", zone)
    r, wire, took = until(srv, q, transport, lambda r: r.answer)
    assert took < RELOAD_BUDGET_S
    check(q, wire, answer=["www.new.test. 300 IN A 192.0.2.10"])
    store.run("zone", "rm", "new.test")
    r, wire, took = until(srv, q, transport, lambda r: r.rcode() == dns.rcode.REFUSED)
    assert took < RELOAD_BUDGET_S
    check(q, wire, rcode=dns.rcode.REFUSED, aa=False)


def test_zone_import_replacing_everything_within_1s(srv, store, tmp_path, transport):
    zone = tmp_path / "child.zone"
    zone.write_text("$ORIGIN child.dnsd.test.\n$TTL 600\n"
                    "@ 60 IN SOA ns1 hostmaster 1 7200 900 1209600 600\n@ IN NS ns1\n"
                    "ns1 IN A 192.0.2.150\n@ IN A 192.0.2.152\n")
    q = make("child.dnsd.test", "A")
    store.run("zone", "import", "child.dnsd.test", zone)
    r, wire, took = until(srv, q, transport,
                          lambda r: r.answer and r.answer[0][0].address == "192.0.2.152")
    assert took < RELOAD_BUDGET_S
    check(q, wire, answer=["child.dnsd.test. 600 IN A 192.0.2.152"])


def test_queries_during_reloads_are_all_answered(store, dnsd):
    """While gtmctl edits the zone 20 times (the store polled every 10 ms, so nearly
    every edit is a reload), clients query without pause over UDP and TCP: no query is
    lost (1 s timeout), every answer is NOERROR with a whole RRset from one snapshot,
    and the RRset never shrinks (snapshots only move forward)."""
    srv = start(dnsd, store.db, "--reload-interval-ms", "10")
    at = len(srv.log())
    stop = threading.Event()
    results = {"udp": [], "tcp": []}
    errors = []

    def client(transport):
        q = make("flip.dnsd.test", "A")
        last = 0
        try:
            while not stop.is_set():
                data = exchange(srv, q.to_wire(), transport, timeout=1)
                if data is None:
                    errors.append(f"{transport}: query lost")
                    continue
                r = dns.message.from_wire(data)
                if r.rcode() == dns.rcode.NXDOMAIN and last == 0:
                    continue  # before the first edit
                addrs = {rd.address for rd in r.answer[0]} if r.answer else set()
                n = len(addrs)
                if r.rcode() != dns.rcode.NOERROR or n < last or \
                        addrs != {f"10.0.0.{i}" for i in range(1, n + 1)}:
                    errors.append(f"{transport}: after {last} records: {r}")
                last = n
                results[transport].append(n)
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(f"{transport}: {e!r}")

    threads = [threading.Thread(target=client, args=(t,)) for t in ("udp", "tcp")]
    for t in threads:
        t.start()
    try:
        for i in range(1, 21):
            store.run("record", "add", "dnsd.test", "flip", "A", "60", f"10.0.0.{i}")
        deadline = time.monotonic() + RELOAD_BUDGET_S
        while time.monotonic() < deadline and not (
                results["udp"] and results["udp"][-1] == 20 and
                results["tcp"] and results["tcp"][-1] == 20):
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
    assert not errors, "\n".join(errors[:5])
    for t in ("udp", "tcp"):
        assert results[t] and results[t][-1] == 20, \
            f"{t}: last edit not served within 1 s: {results[t][-5:]}"
    reloads = srv.log()[at:].count("reloaded generation")
    assert reloads >= 5, f"only {reloads} reloads during the edits: the test proves little"


def test_restore_under_a_running_server(srv, store, tmp_path):
    """gtmctl backup while the server runs, changes, then gtmctl restore: the server
    goes back to the backup's data at once (no restart), every query meanwhile answered
    from one whole store, the zone's serial past the one served before the restore, and
    the store sound."""
    backup = tmp_path / "backup.db"
    store.run("record", "add", "dnsd.test", "kept", "A", "300", "192.0.2.10")
    store.run("backup", backup)
    store.run("record", "rm", "dnsd.test", "kept", "A")
    store.run("record", "add", "dnsd.test", "later", "A", "300", "192.0.2.11")
    q_kept, q_later = make("kept.dnsd.test", "A"), make("later.dnsd.test", "A")
    until(srv, q_later, "udp", lambda r: r.answer)
    served = ask(srv, make("dnsd.test", "SOA"), "udp")[0].answer[0][0].serial
    stop, seen = threading.Event(), []

    def load():  # both names at once: never both there, never both gone
        while not stop.is_set():
            kept = ask(srv, q_kept, "udp")[0].rcode() == dns.rcode.NOERROR
            later = ask(srv, q_later, "udp")[0].rcode() == dns.rcode.NOERROR
            seen.append((kept, later))

    t = threading.Thread(target=load)
    t.start()
    try:
        p = store.run("restore", backup)
        assert p.stdout.startswith(f"store restored from {backup}: 2 zones (serials of 2 moved")
        until(srv, q_kept, "udp", lambda r: r.answer)
        until(srv, q_later, "udp", lambda r: r.rcode() == dns.rcode.NXDOMAIN)
    finally:
        stop.set()
        t.join()
    # from the one store to the other once, never back
    assert (True, False) in seen and (False, True) in seen
    assert seen.index((True, False)) > len(seen) - 1 - seen[::-1].index((False, True))
    after = ask(srv, make("dnsd.test", "SOA"), "udp")[0].answer[0][0].serial
    assert dns.serial.Serial(after) > dns.serial.Serial(served)
    audit = store.run("audit").stdout.splitlines()
    assert audit[0].endswith(f"restore {backup}")
    assert audit[1] == f"    + store restored from {backup}: 2 zones"
    con = sqlite3.connect(store.db)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    con.close()


def test_last_zone_gone_is_warned(srv, store):
    """A store that loses its every zone (an emptied file initialised again, a zone rm
    too many) leaves every query REFUSED: the log says so, as a warning."""
    for line in store.run("zone", "list").stdout.splitlines()[1:]:
        store.run("zone", "rm", line.split()[0], "--with-policies")
    until(srv, make("www.dnsd.test", "A"), "udp", lambda r: r.rcode() == dns.rcode.REFUSED)
    srv.daemon.wait_log(r"warn: the store has no zone any more \(it had \d+\): every query is "
                        r"REFUSED now", timeout=5)
