"""gtm-healthd's HTTP and HTTPS probes against real servers on loopback: status range,
body match, the Host header and TLS name, certificate verification, the probe address,
IPv6, a backend that never answers, and one killed in the middle of a request.

Every check runs at a 1 s interval with a 500 ms timeout; each test reads back what
healthd wrote to the store (health, health_events, rtt_samples)."""
import re

from backends import (HttpBackend, StallingProcess, TcpListener, backends, hstore,  # noqa: F401
                      tls_cert)


def test_http_status_in_and_out_of_range(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port, status_min=200, status_max=299)
    hd = healthd(hstore.db)
    up = hstore.wait_state(ep, "up")
    assert up["reason"] == "HTTP 200"
    web.set(status=503)
    down = hstore.wait_state(ep, "down")
    assert down["reason"] == "HTTP 503, expected 200-299"
    # 3xx is outside 200-299 for this check
    web.set(status=200)
    hstore.wait_state(ep, "up")
    web.set(status=302)
    assert hstore.wait_state(ep, "down")["reason"] == "HTTP 302, expected 200-299"
    assert hstore.events(ep) == [
        ("web/127.0.0.1", "test", "unknown", "up", "HTTP 200"),
        ("web/127.0.0.1", "test", "up", "down", "HTTP 503, expected 200-299"),
        ("web/127.0.0.1", "test", "down", "up", "HTTP 200"),
        ("web/127.0.0.1", "test", "up", "down", "HTTP 302, expected 200-299"),
    ]
    log = hd.log()
    assert "endpoint web/127.0.0.1: unknown -> up after 1 successful probe (HTTP 200)" in log
    assert ("endpoint web/127.0.0.1: up -> down after 1 failed probe (HTTP 503, expected "
            "200-299)") in log
    # the default URL: the endpoint's address and the check's port
    assert set(web.hosts) == {f"127.0.0.1:{web.port}"}


def test_http_rtt_samples(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port)
    healthd(hstore.db)
    hstore.wait_state(ep, "up")
    rows = hstore.wait(lambda: len(hstore.samples(ep)) >= 2 and hstore.samples(ep))
    assert all(0 < rtt < 500_000 for _, rtt in rows)
    h = hstore.wait(lambda: (hstore.health(ep) or {}).get("rtt_us") and hstore.health(ep))
    assert h["checked"] >= h["since"]


def test_http_body_match_and_mismatch(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1", body=b"status: all ok\n")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port, expect_body="all ok")
    healthd(hstore.db)
    hstore.wait_state(ep, "up")
    web.set(body=b"status: degraded\n")
    assert hstore.wait_state(ep, "down")["reason"] == "body lacks 'all ok'"
    # found past the first bytes, still within the 64 KiB read
    web.set(body=b"x" * 60000 + b"all ok")
    hstore.wait_state(ep, "up")
    # beyond 64 KiB it is not read
    web.set(body=b"x" * 70000 + b"all ok")
    assert hstore.wait_state(ep, "down")["reason"] == "body lacks 'all ok'"


def test_http_host_header(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=web.port, host="www.example.test")
    healthd(hstore.db)
    hstore.wait_state(ep, "up")
    assert set(web.hosts) == {f"www.example.test:{web.port}"}


def test_http_url_path_and_host(hstore, healthd, backends):
    web = backends(HttpBackend, "127.0.0.1", status=204)
    ep = hstore.endpoint("127.0.0.1")
    # the URL names another host: the check's host replaces it (Host and TLS name), and
    # the connection still goes to the endpoint
    hstore.check(ep, "http", url=f"http://svc.example.test:{web.port}/healthz",
                 host="api.example.test")
    healthd(hstore.db)
    assert hstore.wait_state(ep, "up")["reason"] == "HTTP 204"
    assert set(web.hosts) == {f"api.example.test:{web.port}"}


def test_http_ipv6(hstore, healthd, backends):
    web = backends(HttpBackend, "::1")
    ep = hstore.endpoint("::1")
    hstore.check(ep, "http", port=web.port)
    healthd(hstore.db)
    hstore.wait_state(ep, "up")
    assert set(web.hosts) == {f"[::1]:{web.port}"}
    web.stop()
    assert hstore.wait_state(ep, "down")["reason"] == "connection refused"


def test_http_probe_address_differs(hstore, healthd, backends):
    """The answered address (TEST-NET-1, unreachable here) is not the probed one: the
    probe goes to the probe address and keeps the endpoint's address in the URL."""
    web = backends(HttpBackend, "127.0.0.1")
    web6 = backends(HttpBackend, "::1")
    ep = hstore.endpoint("192.0.2.10")
    ep6 = hstore.endpoint("2001:db8::10")
    hstore.check(ep, "http", port=web.port, probe_address="127.0.0.1")
    hstore.check(ep6, "http", port=web6.port, probe_address="::1")
    healthd(hstore.db)
    hstore.wait_state(ep, "up")
    hstore.wait_state(ep6, "up")
    assert set(web.hosts) == {f"192.0.2.10:{web.port}"}
    assert set(web6.hosts) == {f"[2001:db8::10]:{web6.port}"}


def test_https_verification(hstore, healthd, backends, tls_cert):
    web = backends(HttpBackend, "127.0.0.1", tls=tls_cert)
    strict = hstore.endpoint("127.0.0.1")
    lax = hstore.endpoint("127.0.0.2")
    # the certificate names gtm.test but nobody trusts it
    hstore.check(strict, "https", port=web.port, host="gtm.test")
    hstore.check(lax, "https", port=web.port, host="gtm.test", probe_address="127.0.0.1",
                 insecure=1)
    hd = healthd(hstore.db)
    down = hstore.wait_state(strict, "down")
    assert down["reason"].startswith("TLS: "), down
    assert re.search(r"certificate", down["reason"]), down
    assert hstore.wait_state(lax, "up")["reason"] == "HTTP 200"
    assert "endpoint web/127.0.0.1: unknown -> down after 1 failed probe (TLS: " in hd.log()
    # only the insecure check got as far as a request, with the check's host
    assert web.hosts and set(web.hosts) == {f"gtm.test:{web.port}"}


def test_http_timeout(hstore, healthd, backends):
    """A server that accepts and never answers: the probe ends at its timeout."""
    hang = backends(TcpListener, "127.0.0.1", hang=True)
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=hang.port, timeout_ms=400)
    hd = healthd(hstore.db)
    down = hstore.wait_state(ep, "down")
    assert down["reason"] == "timeout after 400 ms"
    assert hang.accepted >= 1
    assert "(timeout after 400 ms)" in hd.log()


def test_http_connection_reset(hstore, healthd, backends):
    """A server that accepts and resets at once: the reason says it was reset, not curl's
    'select/poll returned error'."""
    rst = backends(TcpListener, "127.0.0.1", reset=True)
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=rst.port)
    healthd(hstore.db)
    # reset after the connection (read) or while curl still connects
    assert hstore.wait_state(ep, "down")["reason"] in (
        "connection reset", "cannot connect: Connection reset by peer")


def test_http_backend_killed_mid_probe(hstore, healthd, backends):
    """The backend dies while healthd waits for its answer: that probe fails at once
    (not at its timeout), the next ones are refused, and healthd goes on."""
    stall = backends(StallingProcess, "127.0.0.1")
    ep = hstore.endpoint("127.0.0.1")
    hstore.check(ep, "http", port=stall.port, timeout_ms=900, fall=2)
    hd = healthd(hstore.db)
    stall.wait_request()
    stall.kill()
    down = hstore.wait_state(ep, "down")
    assert down["reason"] == "connection refused"
    log = hd.log()
    assert re.search(r"endpoint web/127\.0\.0\.1: probe failed \(connection closed without a "
                     r"reply\), 1 of 2 before down", log), log
    assert "unknown -> down after 2 failed probes (connection refused)" in log
    # still probing, and the store still written
    web = backends(HttpBackend, "127.0.0.1", port=stall.port)
    assert web.port == stall.port
    hstore.wait_state(ep, "up")
