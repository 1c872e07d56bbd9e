"""gtm-healthd's TCP connect and DNS probes against real listeners and a dnspython
responder on loopback: up, refused, timeouts, DNS rcodes, IPv4 and IPv6, the probe
address, and checks the daemon refuses to run."""
import pytest

from backends import DnsResponder, FullBacklog, TcpListener, backends, hstore  # noqa: F401


# ---- TCP --------------------------------------------------------------------------------

@pytest.mark.parametrize("addr", ["127.0.0.1", "::1"])
def test_tcp_up_then_refused(hstore, healthd, backends, addr):
    lst = backends(TcpListener, addr)
    ep = hstore.endpoint(addr)
    hstore.check(ep, "tcp", port=lst.port, rise=2, fall=2)
    hd = healthd(hstore.db)
    assert hstore.wait_state(ep, "up")["reason"] == "connected"
    assert lst.accepted >= 2
    lst.stop()
    assert hstore.wait_state(ep, "down")["reason"] == "connection refused"
    assert f"endpoint web/{addr}: up -> down after 2 failed probes (connection refused)" in \
        hd.log()
    lst.start()
    hstore.wait_state(ep, "up")
    assert [e[2:4] for e in hstore.events(ep)] == [("unknown", "up"), ("up", "down"),
                                                   ("down", "up")]


def test_tcp_timeout(hstore, healthd, backends):
    """A listener whose accept queue is full drops the SYN: the connect neither
    completes nor is refused, and the probe ends at its timeout."""
    full = backends(FullBacklog, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "tcp", port=full.port, timeout_ms=300)
    healthd(hstore.db)
    assert hstore.wait_state(ep, "down")["reason"] == "timeout after 300 ms"


def test_tcp_probe_address(hstore, healthd, backends):
    lst = backends(TcpListener, "::1")
    ep = hstore.endpoint("198.51.100.7")
    hstore.check(ep, "tcp", port=lst.port, probe_address="[::1]")
    healthd(hstore.db)
    hstore.wait_state(ep, "up")


# ---- DNS --------------------------------------------------------------------------------

def test_dns_rcodes(hstore, healthd, backends):
    ns = backends(DnsResponder, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "dns", port=ns.port, query="probe.example.test/A")
    hd = healthd(hstore.db)
    assert hstore.wait_state(ep, "up")["reason"] == "DNS NOERROR, 1 answer"
    assert "probe.example.test. IN A" in ns.queries
    ns.mode = "servfail"
    assert hstore.wait_state(ep, "down")["reason"] == "DNS SERVFAIL"
    ns.mode = "ok"
    hstore.wait_state(ep, "up")
    ns.mode = "nxdomain"
    assert hstore.wait_state(ep, "down")["reason"] == "DNS NXDOMAIN"
    ns.mode = "ok"
    hstore.wait_state(ep, "up")
    ns.mode = "nodata"
    assert hstore.wait_state(ep, "down")["reason"] == "DNS NOERROR without an answer"
    ns.mode = "ok"
    hstore.wait_state(ep, "up")
    ns.mode = "other-name"  # not an answer to the question
    assert hstore.wait_state(ep, "down")["reason"] == ("DNS NOERROR, 1 answer for other names "
                                                       "or types")
    assert "endpoint web/127.0.0.1: up -> down after 1 failed probe (DNS SERVFAIL)" in hd.log()


def test_dns_ipv6_default_query(hstore, healthd, backends):
    ns = backends(DnsResponder, "::1")
    ep = hstore.endpoint("::1")
    hstore.check(ep, "dns", port=ns.port)
    healthd(hstore.db)
    hstore.wait_state(ep, "up")
    assert set(ns.queries) == {". IN SOA"}


def test_dns_timeout_and_foreign_replies(hstore, healthd, backends):
    """A server that never answers, and one that answers with another ID: both end at
    the timeout (a reply that is not for our query is ignored, RFC 5452)."""
    silent = backends(DnsResponder, "127.0.0.1", mode="silent")
    spoof = backends(DnsResponder, "127.0.0.1", mode="wrong-id")
    a = hstore.endpoint("127.0.0.1")
    b = hstore.endpoint("127.0.0.2")
    hstore.check(a, "dns", port=silent.port, query="x.test/A", timeout_ms=300)
    hstore.check(b, "dns", port=spoof.port, query="x.test/A", timeout_ms=300,
                 probe_address="127.0.0.1")
    hd = healthd(hstore.db)
    assert hstore.wait_state(a, "down")["reason"] == "timeout after 300 ms"
    assert hstore.wait_state(b, "down")["reason"] == "timeout after 300 ms"
    assert "is not for our query" in hd.log()


def test_dns_port_unreachable(hstore, healthd, backends):
    ns = backends(DnsResponder, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "dns", port=ns.port, query="x.test/A")
    healthd(hstore.db)
    hstore.wait_state(ep, "up")
    ns.stop()
    # ICMP port unreachable on loopback: the connected socket reports it
    assert hstore.wait_state(ep, "down")["reason"] == "connection refused"


# ---- checks that cannot run ----------------------------------------------------------------

def test_unusable_checks_are_logged_not_run(hstore, healthd, backends):
    lst = backends(TcpListener, "127.0.0.1")
    name = hstore.endpoint("lb.example.test")
    noport = hstore.endpoint("192.0.2.1")
    badq = hstore.endpoint("192.0.2.2")
    good = hstore.endpoint("127.0.0.1")
    hstore.check(name, "tcp", port=80)  # a host name and no probe address
    hstore.check(noport, "tcp")  # no port
    hstore.check(badq, "dns", query="example.test/NOSUCHTYPE")
    hstore.check(good, "tcp", port=lst.port)
    hd = healthd(hstore.db)
    hstore.wait_state(good, "up")
    log = hd.log()
    assert ("endpoint web/lb.example.test.: tcp checks of a host-name endpoint need a probe "
            "address (an IP address); not probing it") in log
    assert "endpoint web/192.0.2.1: a tcp check needs a port; not probing it" in log
    assert "endpoint web/192.0.2.2: query 'example.test/NOSUCHTYPE' is not NAME/TYPE" in log
    assert "ready: probing 1 checks" in log
    for ep in (name, noport, badq):
        assert hstore.health(ep) is None
