"""gtm-dnsd: DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018,
over UDP and TCP. A client cookie gets back the client cookie and a server cookie
(version 1, reserved bytes 0, the time, an 8-byte hash); a server cookie that is good
(ours, for this client and address, at most an hour old) and under half an hour old
comes back as it was; any other gets a new one. Cookies are never required. A malformed
COOKIE option, or two, is FORMERR. With the same --cookie-secret, Knot DNS accepts
gtm-dnsd's cookies and gtm-dnsd Knot's. A good cookie exempts a query from rate limiting.
"""
import os
import shutil
import signal
import socket
import time

import dns.edns
import dns.message
import dns.rcode
import pytest

from conftest import free_port
from dnsd_util import ZONES, ask, check, make, run_dnsd, shared_store, start  # noqa: F401
from dnsd_util import server, transport  # noqa: F401 (fixtures)
from knot_util import Knot

COOKIE = 10
SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"
WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]


def with_cookie(data, qname="www.dnsd.test"):
    return make(qname, "A", edns=0, options=[dns.edns.GenericOption(COOKIE, data)])


def cookie_of(srv, data, transport="udp", qname="www.dnsd.test", answer=WWW):
    """Asks srv for qname with COOKIE data; checks the whole response and returns the
    COOKIE data it carries."""
    q = with_cookie(data, qname)
    r, wire = ask(srv, q, transport)
    got = [o.to_wire() for o in r.options if o.otype == COOKIE]
    assert len(got) == 1, r
    check(q, wire, answer=answer, edns_options=[(COOKIE, got[0])])
    return got[0]


def check_new(reply, client, sent_at):
    """reply is client's cookie and a new server cookie made at about sent_at."""
    assert len(reply) == 24 and reply[:8] == client
    assert reply[8:12] == b"\x01\x00\x00\x00", reply.hex()
    made = int.from_bytes(reply[12:16], "big")
    assert sent_at - 2 <= made <= time.time() + 2, (made, sent_at)
    return made


def test_client_cookie_gets_a_server_cookie(server, transport):
    client = os.urandom(8)
    check_new(cookie_of(server, client, transport), client, time.time())


@pytest.mark.parametrize("rcode,qname", [(dns.rcode.NXDOMAIN, "nothere.dnsd.test"),
                                         (dns.rcode.REFUSED, "www.elsewhere.example")])
def test_cookie_on_every_answer(server, rcode, qname):
    client = os.urandom(8)
    q = with_cookie(client, qname)
    r, wire = ask(server, q, "udp")
    assert r.rcode() == rcode
    got = [o.to_wire() for o in r.options if o.otype == COOKIE]
    assert len(got) == 1
    check_new(got[0], client, time.time())


def test_good_cookie_comes_back_as_it_was(server, transport):
    """A second later a new cookie would have another time: the same one is the
    received one kept."""
    client = os.urandom(8)
    first = cookie_of(server, client, transport)
    time.sleep(1.2)
    assert cookie_of(server, first, transport) == first
    # another client cookie with that server cookie, or a changed hash: a new one
    other = os.urandom(8)
    renewed = cookie_of(server, other + first[8:], transport)
    assert check_new(renewed, other, time.time()) > int.from_bytes(first[12:16], "big")
    forged = first[:-1] + bytes([first[-1] ^ 1])
    assert check_new(cookie_of(server, forged, transport), client, time.time()) > \
        int.from_bytes(first[12:16], "big")
    # a server cookie of 8 to 32 bytes from some other server: a new one of ours
    check_new(cookie_of(server, client + os.urandom(32), transport), client, time.time())


@pytest.mark.parametrize("length", [0, 1, 7, 9, 15, 41])
def test_malformed_cookie_is_formerr(server, transport, length):
    """RFC 7873 section 5.2.2: FORMERR, with our OPT record and no cookie."""
    q = with_cookie(os.urandom(length))
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.FORMERR, aa=False)


def test_two_cookies_are_formerr(server):
    q = make("www.dnsd.test", "A", edns=0,
             options=[dns.edns.GenericOption(COOKIE, os.urandom(8)),
                      dns.edns.GenericOption(COOKIE, os.urandom(8))])
    r, wire = ask(server, q, "udp")
    check(q, wire, rcode=dns.rcode.FORMERR, aa=False)


def test_secret_is_random_unless_given(shared_store, dnsd):
    """Two servers without --cookie-secret make different cookies; with the same one,
    each takes the other's."""
    client = os.urandom(8)
    a = start(dnsd, shared_store.db)
    b = start(dnsd, shared_store.db)
    assert cookie_of(a, client)[16:] != cookie_of(b, client)[16:]
    a2 = start(dnsd, shared_store.db, "--cookie-secret", SECRET)
    b2 = start(dnsd, shared_store.db, "--cookie-secret", SECRET.upper())
    first = cookie_of(a2, client)
    time.sleep(1.2)
    assert cookie_of(b2, first) == first


@pytest.mark.parametrize("secret", ["", "abc", SECRET[:-2], SECRET + "00", SECRET[:-1] + "g"])
def test_bad_secret_is_refused(shared_store, secret):
    p = run_dnsd("--db", shared_store.db, "--cookie-secret", secret, "--check-config")
    assert p.returncode != 0
    assert "--cookie-secret: 32 hex digits" in p.stderr, p.stderr


@pytest.fixture
def knot_with_cookies(tmp_path, request):
    k = Knot(tmp_path / "knot", free_port(), [("dnsd.test", ZONES / "dnsd.test.zone")],
             cookie_secret=SECRET)
    k.dir.mkdir(parents=True, exist_ok=True)
    request.addfinalizer(k.stop)
    return k.start()


@pytest.mark.skipif(shutil.which("knotd") is None, reason="Knot DNS (knotd) not installed")
def test_cookies_interoperate_with_knot(shared_store, dnsd, knot_with_cookies):
    """RFC 9018's point: servers of one anycast address share a key and take each
    other's cookies. Knot answers a cookie it does not take with BADCOOKIE."""
    gtm = start(dnsd, shared_store.db, "--cookie-secret", SECRET)
    client = os.urandom(8)
    ours = cookie_of(gtm, client)

    def knot_says(data):
        r = dns.message.from_wire(knot_with_cookies_ask(knot_with_cookies, with_cookie(data)))
        return dns.rcode.to_text(r.rcode()), [o.to_wire() for o in r.options if o.otype == COOKIE]

    time.sleep(1.2)
    rcode, knots = knot_says(ours)
    assert rcode == "NOERROR" and knots == [ours]  # good, and Knot kept it too
    forged = ours[:-1] + bytes([ours[-1] ^ 1])
    assert knot_says(forged)[0] == "BADCOOKIE"
    # and the other way: a cookie Knot made, a second later, kept as it was
    client2 = os.urandom(8)
    knot_made = knot_says(client2 + ours[8:])[1][0]
    time.sleep(1.2)
    assert cookie_of(gtm, knot_made) == knot_made


def knot_with_cookies_ask(k, q):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(q.to_wire(), ("127.0.0.1", k.port))
        return s.recv(4096)
    finally:
        s.close()


def test_good_cookie_is_not_rate_limited(shared_store, dnsd):
    """Past --rrl-rate, queries without a good cookie are dropped or slipped; those with
    one are answered, as their source address is proven (RFC 7873 section 5.4)."""
    srv = start(dnsd, shared_store.db, "--rrl-rate", "2", "--rrl-slip", "0")
    client = os.urandom(8)
    good = cookie_of(srv, client)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    answered = {"good": 0, "none": 0}
    for i in range(40):
        kind = "good" if i % 2 else "none"
        q = with_cookie(good) if kind == "good" else make("www.dnsd.test", "A", edns=0)
        q.id = i
        s.sendto(q.to_wire(), ("127.0.0.1", srv.port))
    while True:
        try:
            r = dns.message.from_wire(s.recv(4096))
        except socket.timeout:
            break
        answered["good" if r.id % 2 else "none"] += 1
    s.close()
    assert answered["good"] == 20, answered
    assert answered["none"] <= 6, answered  # 2 a second, the burst may straddle two
    mark = len(srv.log())
    srv.daemon.signal(signal.SIGUSR1)
    m = srv.daemon.wait_log(r"cookies (\d+) \(good (\d+)\)", start=mark)
    assert (int(m.group(1)), int(m.group(2))) == (21, 20)
