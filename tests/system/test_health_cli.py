"""gtmctl's health commands against a real store: checks (check set|list|rm), status
with reports of several vantage points written straight into the store, drills with
expiry, drains, and the events and audit rows every change writes. For each command:
what it prints, what it writes, and that a refused change leaves the store as it was.
status must agree with gtm-dnsd (dnsd/health.c): down when most fresh reports say down,
a vantage point that has not reported within 3 check intervals ignored, unless none
reports any more (then the last reports decide), unknown without any report.
"""
import re
import sqlite3
import time

import pytest

from test_traffic_cli import audit_last, cmdline, unchanged

# Commands of two words (the others are one: status, events, drain).
TWO_WORDS = {"check set", "check list", "check rm", "drill fail", "drill restore", "drill list",
             "drain rm"}
# A time as gtmctl prints it: ISO 8601 in UTC, to the second or the millisecond, or the
# clock alone.
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z|\b\d\d:\d\d:\d\dZ")


# ---- helpers ----------------------------------------------------------------------------

def masked(text):
    """text with the digits of its times replaced by '#' (the columns keep their width)."""
    return TIME_RE.sub(lambda m: re.sub(r"\d", "#", m.group()), text)


def fails(g, args, rc, message):
    """Runs a command that must fail with exit status rc and this message (a usage error,
    exit 2, adds the usage and a hint)."""
    name = " ".join(args[:2]) if " ".join(args[:2]) in TWO_WORDS else args[0]
    p = g.run(*args, rc=rc)
    lines = p.stderr.splitlines()
    assert (p.stdout, lines[0]) == ("", f"gtmctl: {name}: {message}"), p.stderr
    if rc == 2:
        assert (lines[1] + " ").startswith(f"usage: gtmctl {name} ")
        assert lines[2:] == [f"Run 'gtmctl {name} --help' for details."]
    else:
        assert len(lines) == 1


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def sql(g, query, *params):
    """Runs one statement on the store (committed); returns its rows."""
    with sqlite3.connect(g.db) as db:
        return db.execute(query, params).fetchall()


def endpoint_id(g, pool, target):
    return sql(g, "SELECT e.id FROM endpoints e JOIN pools p ON p.id = e.pool_id "
               "WHERE p.name = ? AND e.target = ?", pool, target)[0][0]


def report(g, pool, target, vantage, state, since, reason="", rtt_us=None, checked=None):
    """Writes a vantage point's state of an endpoint, as gtm-healthd does."""
    sql(g, "INSERT INTO health VALUES (?, ?, ?, ?, ?, ?, ?)", endpoint_id(g, pool, target),
        vantage, state, since, reason, rtt_us, checked)


def seen(g, vantage, ms):
    sql(g, "INSERT OR REPLACE INTO vantages VALUES (?, ?)", vantage, ms)


def events(g):
    """The events rows: (target, vantage, old, new, reason), oldest first."""
    return sql(g, "SELECT target, vantage, old, new, reason FROM health_events ORDER BY id")


@pytest.fixture
def world(gtmctl):
    """Regions eu-west, us-east and lab; pool web with an A, an AAAA and a CNAME endpoint,
    pool api with one A endpoint."""
    g = gtmctl
    for region in ("eu-west", "us-east", "lab"):
        g.run("region", "add", region)
    g.run("pool", "add", "web")
    g.run("pool", "add", "api")
    g.run("endpoint", "add", "web", "192.0.2.1", "--region", "eu-west")
    g.run("endpoint", "add", "web", "2001:db8::1", "--region", "us-east", "--weight", "50")
    g.run("endpoint", "add", "web", "lb.example.net", "--region", "us-east")
    g.run("endpoint", "add", "api", "192.0.2.20", "--region", "eu-west", "--enabled", "no")
    return g


# ---- check set, list, rm ----------------------------------------------------------------

CHECK_HEADER = "POOL  TARGET           TYPE   PROBE             REQUEST"


def test_check_set_and_list(world):
    g = world
    p = g.run("check", "set", "web", "192.0.2.1", "--type", "http")
    http = ("check web 192.0.2.1: http 192.0.2.1:80 GET /, interval 10s, timeout 2s, rise 2, "
            "fall 3, expect status 200-399")
    assert (p.stdout, p.stderr) == (http + "\n", "")
    assert audit_last(g) == (
        f"TIME  tester  -  {cmdline(g, 'check', 'set', 'web', '192.0.2.1', '--type', 'http')}\n"
        f"    + {http}\n")

    # set again: replaced, and the audit shows both
    args = ["check", "set", "web", "192.0.2.1", "--type", "https", "--url",
            "https://www.example.com:8443/health?full=1", "--host", "www.example.com",
            "--interval", "1s", "--timeout", "500ms", "--rise", "1", "--fall", "2",
            "--expect-status", "200", "--expect-body", "all good", "--insecure"]
    p = g.run(*args)
    https = ("check web 192.0.2.1: https 192.0.2.1:8443 GET https://www.example.com:8443/"
             "health?full=1, Host www.example.com, interval 1s, timeout 500ms, rise 1, fall 2, "
             "expect status 200, body \"all good\", no TLS verification")
    assert p.stdout == https + " (replacing the old check)\n"
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, *args[:4])} --type https --url "
                             "'https://www.example.com:8443/health?full=1' --host "
                             "www.example.com --interval 1s --timeout 500ms --rise 1 --fall 2 "
                             "--expect-status 200 --expect-body 'all good' --insecure\n"
                             f"    - {http}\n"
                             f"    + {https}\n")

    # --port wins over the URL's; IPv6 written in full finds its endpoint
    assert g.run("check", "set", "web", "2001:DB8:0::1", "--type", "tcp", "--port", "22",
                 "--interval", "1m30s", "--timeout", "1500ms").stdout == (
        "check web 2001:db8::1: tcp [2001:db8::1]:22, interval 1m30s, timeout 1500ms, rise 2, "
        "fall 3, expect connect\n")
    # a host name is probed at --probe-address; dns asks the root's SOA by default
    assert g.run("check", "set", "web", "LB.example.net", "--type", "dns", "--probe-address",
                 "2001:DB8::53").stdout == (
        "check web lb.example.net.: dns [2001:db8::53]:53 ./SOA, interval 10s, timeout 2s, "
        "rise 2, fall 3, expect NOERROR with an answer\n")
    g.run("check", "set", "api", "192.0.2.20", "--type", "dns", "--query", "Example.COM/aaaa",
          "--port", "5353", "--interval", "1d", "--timeout", "1m")
    g.run("check", "set", "web", "lb.example.net", "--type", "http", "--url",
          "http://[2001:db8::80]/", "--expect-status", "200-204")

    assert g.run("check", "list").stdout == (
        "POOL  TARGET           TYPE   PROBE               REQUEST                             "
        "                                  INTERVAL  TIMEOUT  RISE/FALL  EXPECT\n"
        "api   192.0.2.20       dns    192.0.2.20:5353     example.com./AAAA                   "
        "                                  1d        1m       2/3        NOERROR with an answer\n"
        "web   192.0.2.1        https  192.0.2.1:8443      GET https://www.example.com:8443/hea"
        "lth?full=1, Host www.example.com  1s        500ms    1/2        status 200, body "
        "\"all good\", no TLS verification\n"
        "web   2001:db8::1      tcp    [2001:db8::1]:22    -                                   "
        "                                  1m30s     1500ms   2/3        connect\n"
        "web   lb.example.net.  http   lb.example.net.:80  GET http://[2001:db8::80]/          "
        "                                  10s       2s       2/3        status 200-204\n")
    assert g.run("check", "list", "api").stdout.splitlines()[1:] == [
        "api   192.0.2.20  dns   192.0.2.20:5353  example.com./AAAA  1d        1m       2/3"
        "        NOERROR with an answer"]
    assert g.run("check", "list", "api").stdout.splitlines()[0].startswith("POOL  TARGET")
    fails(g, ["check", "list", "nopool"], 1, "no pool nopool")
    # what gtm-healthd reads
    assert sql(g, "SELECT type, url, port, host, query, probe_address, interval_ms, timeout_ms, "
               "rise, fall, status_min, status_max, expect_body, insecure FROM checks "
               "ORDER BY endpoint_id") == [
        ("https", "https://www.example.com:8443/health?full=1", 8443, "www.example.com", None,
         None, 1000, 500, 1, 2, 200, 200, "all good", 1),
        ("tcp", None, 22, None, None, None, 90000, 1500, 2, 3, 200, 399, None, 0),
        ("http", "http://[2001:db8::80]/", 80, None, None, None, 10000, 2000, 2, 3, 200, 204,
         None, 0),
        ("dns", None, 5353, None, "example.com./AAAA", None, 86400000, 60000, 2, 3, 200, 399,
         None, 0)]


def test_check_set_refused(world):
    g = world
    g.run("check", "set", "web", "192.0.2.1", "--type", "http")
    base = ["check", "set", "web", "192.0.2.1"]
    http = [*base, "--type", "http"]
    usage = [
        (base, "--type is required: http, https, tcp or dns"),
        ([*base, "--type", "icmp"], "--type: 'icmp' is not http, https, tcp or dns"),
        ([*http, "--interval", "0"], "--interval: '0' is not a duration from 1s to 1d "
         "(seconds, or with units: 500ms 90s 5m 1h)"),
        ([*http, "--interval", "999ms"], "--interval: '999ms' is not a duration from 1s to 1d "
         "(seconds, or with units: 500ms 90s 5m 1h)"),
        ([*http, "--interval", "1d1s"], "--interval: '1d1s' is not a duration from 1s to 1d "
         "(seconds, or with units: 500ms 90s 5m 1h)"),
        ([*http, "--timeout", "99ms"], "--timeout: '99ms' is not a duration from 100ms to 1m "
         "(seconds, or with units: 500ms 90s 5m 1h)"),
        ([*http, "--timeout", "10s"], "--timeout 10s must be shorter than the interval (10s): "
         "a probe never overlaps the next"),
        ([*http, "--interval", "1s", "--timeout", "1s"], "--timeout 1s must be shorter than "
         "the interval (1s): a probe never overlaps the next"),
        ([*http, "--rise", "0"], "--rise: '0' is not a whole number from 1 to 100"),
        ([*http, "--fall", "101"], "--fall: '101' is not a whole number from 1 to 100"),
        ([*http, "--port", "0"], "--port: '0' is not a whole number from 1 to 65535"),
        ([*base, "--type", "tcp"], "--port is required for --type tcp: the port to connect to"),
        (["check", "set", "web", "lb.example.net", "--type", "tcp", "--port", "80"],
         "lb.example.net. is a host name: a tcp check needs --probe-address, the address to "
         "probe"),
        (["check", "set", "web", "lb.example.net", "--type", "dns"],
         "lb.example.net. is a host name: a dns check needs --probe-address, the address to "
         "probe"),
        ([*http, "--probe-address", "lb.example.net"],
         "--probe-address: 'lb.example.net' is not an IPv4 or IPv6 address"),
        ([*http, "--url", "https://x/"],
         "--url: 'https://x/' is not a URL starting with http:// (--type http)"),
        ([*http, "--url", "http:///x"], "--url: 'http:///x' names no host"),
        ([*http, "--url", "http://x:99999/"],
         "--url: port: '99999' is not a whole number from 1 to 65535"),
        ([*base, "--type", "tcp", "--port", "1", "--url", "http://x/"],
         "--url applies to --type http and https only"),
        ([*http, "--query", "example.com/A"], "--query applies to --type dns only"),
        ([*http, "--insecure"], "--insecure applies to --type https only"),
        ([*base, "--type", "dns", "--expect-body", "x"],
         "--expect-body applies to --type http and https only"),
        ([*base, "--type", "dns", "--query", "example.com"],
         "--query: 'example.com' is not NAME/TYPE (example.com/SOA)"),
        ([*base, "--type", "dns", "--query", "example.com/AXFR"],
         "--query: 'AXFR' is not a record type to ask for (A, AAAA, SOA...)"),
        ([*base, "--type", "dns", "--query", "a..b/A"], "--query: 'a..b' is not a domain name"),
        *[([*http, "--expect-status", s], f"--expect-status: '{s}' is not a status or a range "
           "of them, low to high, from 100 to 599 (200, 200-399)")
          for s in ("600", "399-200", "2xx", "200-", "99")],
        ([*http, "--expect-body", ""], "--expect-body: give 1 to 1024 characters (0 given)"),
        ([*http, "--host", "a\tb"], "--host: control characters are not allowed"),
        (["check", "set", "web", "192.0.2.300", "--type", "http"],
         "TARGET: '192.0.2.300' is not an IPv4 or IPv6 address"),
        (["check", "set", "Web", "192.0.2.1", "--type", "http"],
         "POOL: 'Web' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
         ": in lower case, 'web'"),
        (["check", "set", "web"], "missing arguments"),
    ]
    failures = [
        (["check", "set", "nopool", "192.0.2.1", "--type", "http"], "no pool nopool"),
        (["check", "set", "web", "192.0.2.99", "--type", "http"],
         "pool web has no endpoint 192.0.2.99 (gtmctl endpoint list web shows them)"),
    ]
    with unchanged(g, ("check", "list")):
        for args, message in usage:
            fails(g, args, 2, message)
        for args, message in failures:
            fails(g, args, 1, message)


def test_check_rm(world):
    g = world
    g.run("check", "set", "web", "192.0.2.1", "--type", "tcp", "--port", "443")
    report(g, "web", "192.0.2.1", "ams", "down", now_ms(), "connection refused")
    p = g.run("check", "rm", "web", "192.0.2.1")
    assert p.stdout == "check web 192.0.2.1 removed: the endpoint is unknown until probed again\n"
    assert audit_last(g) == (
        f"TIME  tester  -  {cmdline(g, 'check', 'rm', 'web', '192.0.2.1')}\n"
        "    - check web 192.0.2.1: tcp 192.0.2.1:443, interval 10s, timeout 2s, rise 2, fall 3, "
        "expect connect\n")
    assert g.run("check", "list").stdout.splitlines()[1:] == []
    # what the vantage points said is forgotten with it
    assert sql(g, "SELECT count(*) FROM health") == [(0,)]
    with unchanged(g, ("check", "list")):
        fails(g, ["check", "rm", "web", "192.0.2.1"], 1, "endpoint web 192.0.2.1 has no check")
        fails(g, ["check", "rm", "web", "192.0.2.9"], 1,
              "pool web has no endpoint 192.0.2.9 (gtmctl endpoint list web shows them)")
        fails(g, ["check", "rm", "web"], 2, "missing arguments")


# ---- status: the quorum -----------------------------------------------------------------

STATUS_HEADER = ("ENDPOINT             REGION   STATE    SINCE                 RTT      "
                 "REASON              DRILL  WEIGHT  ENABLED")


def test_status_quorum(world):
    """Three vantage points: ams and nyc report, fra stopped 2 minutes ago (stale for the
    10 s default interval: 3 x 10 s). A check with a 1 s interval makes nyc, 5 s quiet,
    stale for that endpoint only."""
    g = world
    now = now_ms()
    seen(g, "ams", now - 1000)
    seen(g, "nyc", now - 5000)
    seen(g, "fra", now - 120000)
    # 192.0.2.1: two fresh downs against a stale up: down
    report(g, "web", "192.0.2.1", "ams", "down", now - 4000, "HTTP 503", 1200, now - 1000)
    report(g, "web", "192.0.2.1", "nyc", "down", now - 9000, "timeout after 2000 ms", 2500,
           now - 6000)
    report(g, "web", "192.0.2.1", "fra", "up", now - 3000, "", 800, now - 120000)
    # 2001:db8::1: one fresh down of two is no majority: up; the stale down does not count
    report(g, "web", "2001:db8::1", "ams", "down", now - 60000, "connection refused", None,
           now - 1000)
    report(g, "web", "2001:db8::1", "nyc", "up", now - 30000, "", 4000, now - 5000)
    report(g, "web", "2001:db8::1", "fra", "down", now - 150000, "timeout", None, now - 120000)
    # lb.example.net. checks every second: nyc (5 s) is stale there, ams decides alone
    g.run("check", "set", "web", "lb.example.net", "--type", "http", "--interval", "1s",
          "--timeout", "500ms")
    report(g, "web", "lb.example.net.", "ams", "up", now - 20000, "", 15678, now - 1000)
    report(g, "web", "lb.example.net.", "nyc", "down", now - 2000, "HTTP 500", None, now - 5000)
    # api 192.0.2.20: only a stale report: nobody reports now, so the last report decides
    report(g, "api", "192.0.2.20", "fra", "down", now - 200000, "timeout", None, now - 120000)

    assert g.run("status").stdout == (
        "ENDPOINT             REGION   STATE         SINCE                 RTT      "
        "REASON                 DRILL  WEIGHT  ENABLED\n"
        f"api/192.0.2.20       eu-west  down          {iso(now - 200000)}  -        "
        "timeout                -      100     no\n"
        f"  fra                         down (stale)  {iso(now - 200000)}  -        timeout\n"
        f"web/192.0.2.1        eu-west  down          {iso(now - 4000)}  1.2 ms   "
        "HTTP 503               -      100     yes\n"
        f"  ams                         down          {iso(now - 4000)}  1.2 ms   HTTP 503\n"
        f"  fra                         up (stale)    {iso(now - 3000)}  0.8 ms   -\n"
        f"  nyc                         down          {iso(now - 9000)}  2.5 ms   "
        "timeout after 2000 ms\n"
        f"web/2001:db8::1      us-east  up            {iso(now - 30000)}  4.0 ms   "
        "-                      -      50      yes\n"
        f"  ams                         down          {iso(now - 60000)}  -        "
        "connection refused\n"
        f"  fra                         down (stale)  {iso(now - 150000)}  -        timeout\n"
        f"  nyc                         up            {iso(now - 30000)}  4.0 ms   -\n"
        f"web/lb.example.net.  us-east  up            {iso(now - 20000)}  15.7 ms  "
        "-                      -      100     yes\n"
        f"  ams                         up            {iso(now - 20000)}  15.7 ms  -\n"
        f"  nyc                         down (stale)  {iso(now - 2000)}  -        HTTP 500\n"
        f"vantage point fra: silent since {iso(now - 120000)} (2m ago): its gtm-healthd is "
        "not running, or cannot write the store\n")

    # one pool; and once nyc reports again it counts for lb.example.net. too: 1 of 2 down
    seen(g, "nyc", now_ms())
    out = [line for line in g.run("status", "web").stdout.splitlines()
           if not line.startswith("vantage point ")]
    assert [line.split()[:3] for line in out if not line.startswith("  ")] == [
        ["ENDPOINT", "REGION", "STATE"], ["web/192.0.2.1", "eu-west", "down"],
        ["web/2001:db8::1", "us-east", "up"], ["web/lb.example.net.", "us-east", "up"]]
    assert out[-1].split()[:2] == ["nyc", "down"]
    # ams turns lb.example.net. down as well: 2 of 2; the newest down's reason
    since = now_ms() - 1000
    sql(g, "UPDATE health SET state = 'down', since = ?, reason = 'HTTP 502' WHERE vantage = "
        "'ams' AND endpoint_id = ?", since, endpoint_id(g, "web", "lb.example.net."))
    seen(g, "ams", now_ms())
    line = [l for l in g.run("status", "web").stdout.splitlines()
            if l.startswith("web/lb")][0]
    assert line.split()[:4] == ["web/lb.example.net.", "us-east", "down", iso(since)]
    assert "HTTP 502" in line

    fails(g, ["status", "nopool"], 1, "no pool nopool")
    fails(g, ["status", "web", "api"], 2, "unexpected argument 'api'")
    fails(g, ["status", "Web"], 2,
          "POOL: 'Web' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
          ": in lower case, 'web'")


def test_status_when_every_vantage_point_stopped(world):
    """Nobody reports now (every gtm-healthd stopped): the last reports decide, those
    that were fresh when the newest came. Vantage points that stopped ten minutes
    before it do not come back to outvote it; their lines stay, marked stale."""
    g = world
    now = now_ms()
    seen(g, "ams", now - 60000)    # stopped a minute ago (stale at the 10 s interval)
    seen(g, "nyc", now - 660000)   # and these ten minutes before that
    seen(g, "fra", now - 660000)
    report(g, "web", "192.0.2.1", "ams", "up", now - 900000, "", 900, now - 60000)
    report(g, "web", "192.0.2.1", "nyc", "down", now - 700000, "timeout", None, now - 660000)
    report(g, "web", "192.0.2.1", "fra", "down", now - 700000, "timeout", None, now - 660000)
    out = g.run("status", "web").stdout.splitlines()
    assert out[1].split()[:4] == ["web/192.0.2.1", "eu-west", "up", iso(now - 900000)], out
    assert [line.split()[:3] for line in out[2:5]] == [
        ["ams", "up", "(stale)"], ["fra", "down", "(stale)"], ["nyc", "down", "(stale)"]]
    # and each stopped gtm-healthd is named, once
    assert [line.split(":")[0] for line in out if line.startswith("vantage point ")] == [
        "vantage point ams", "vantage point fra", "vantage point nyc"]


def test_endpoint_switched_on_again_is_unknown(world):
    """What the probes said before an endpoint was switched off (disable, fix, enable)
    no longer holds: switched on again, it is unknown until probed, so the policy's
    --unknown decides, not an old 'up'."""
    g = world
    now = now_ms()
    seen(g, "ams", now)
    report(g, "web", "192.0.2.1", "ams", "up", now - 60000, "", 900, now)
    g.run("endpoint", "set", "web", "192.0.2.1", "--enabled", "no")
    assert sql(g, "SELECT count(*) FROM health") == [(1,)]  # off: kept, not probed
    p = g.run("endpoint", "set", "web", "192.0.2.1", "--enabled", "yes")
    assert p.stdout.endswith("; its health is unknown until probed again\n")
    assert sql(g, "SELECT count(*) FROM health") == [(0,)]
    assert g.run("status", "web").stdout.splitlines()[1].split()[:3] == [
        "web/192.0.2.1", "eu-west", "unknown"]


def test_status_without_reports(world):
    g = world
    assert g.run("status", "web").stdout == (
        "ENDPOINT             REGION   STATE    SINCE  RTT  REASON  DRILL  WEIGHT  ENABLED\n"
        "web/192.0.2.1        eu-west  unknown  -      -    -       -      100     yes\n"
        "web/2001:db8::1      us-east  unknown  -      -    -       -      50      yes\n"
        "web/lb.example.net.  us-east  unknown  -      -    -       -      100     yes\n")


# ---- drills -----------------------------------------------------------------------------

def test_drill_fail_restore_list(world):
    g = world
    now = now_ms()
    seen(g, "ams", now)
    report(g, "web", "2001:db8::1", "ams", "up", now - 60000, "", 3000, now)
    report(g, "web", "lb.example.net.", "ams", "down", now - 60000, "HTTP 503", None, now)

    before = now_ms()
    p = g.run("drill", "fail", "us-east", "--for", "1h", "--reason", "region failover test")
    after = now_ms()
    started, until = sql(g, "SELECT started, until FROM drills")[0]
    assert before <= started <= after and until == started + 3600000
    region_drill = f"drill region us-east until {iso(until)}: region failover test"
    assert p.stdout == f"{region_drill} (2 endpoints forced down)\n"
    assert audit_last(g) == (
        f"TIME  tester  -  {cmdline(g, 'drill', 'fail', 'us-east', '--for', '1h')} --reason "
        f"'region failover test'\n"
        f"    + {region_drill}\n")
    # one event per endpoint of the region, from what it was
    assert events(g) == [
        ("web/2001:db8::1", "drill", "up", "down (drill)", "region failover test"),
        ("web/lb.example.net.", "drill", "down", "down (drill)", "region failover test")]
    assert sql(g, "SELECT DISTINCT ts FROM health_events") == [(started,)]

    p = g.run("drill", "fail", "web/192.0.2.1")
    assert p.stdout == "drill web/192.0.2.1 until restored (1 endpoint forced down)\n"
    assert events(g)[-1] == ("web/192.0.2.1", "drill", "unknown", "down (drill)", "drill")
    # an endpoint of a drilled region: its own drill changes nothing answers see
    g.run("drill", "fail", "web/LB.example.net")
    assert len(events(g)) == 3

    clock = time.strftime("%H:%M:%SZ", time.gmtime(until // 1000))
    out = g.run("status", "web").stdout
    assert masked(out) == masked(
        "ENDPOINT             REGION   STATE         SINCE                 RTT     REASON       "
        "         DRILL                  WEIGHT  ENABLED\n"
        f"web/192.0.2.1        eu-west  down (drill)  {iso(started)}  -       drill         "
        "        drill                  100     yes\n"
        f"web/2001:db8::1      us-east  down (drill)  {iso(started)}  3.0 ms  region failover "
        f"test  drill until {clock}  50      yes\n"
        f"  ams                         up            {iso(now - 60000)}  3.0 ms  -\n"
        f"web/lb.example.net.  us-east  down (drill)  {iso(started)}  -       drill         "
        "        drill                  100     yes\n"
        f"  ams                         down          {iso(now - 60000)}  -       HTTP 503\n")
    assert f"drill until {clock}" in out

    assert masked(g.run("drill", "list").stdout) == masked(
        "DRILL                STATE   USER    STARTED               UNTIL                 REASON\n"
        f"region us-east       active  tester  {iso(started)}  {iso(until)}  "
        "region failover test\n"
        f"web/192.0.2.1        active  tester  {iso(started)}  -                     -\n"
        f"web/lb.example.net.  active  tester  {iso(started)}  -                     -\n")

    with unchanged(g, ("drill", "list")):
        fails(g, ["drill", "fail", "us-east"], 1, "region us-east already has a drill, since "
              f"{iso(started)} (gtmctl drill restore us-east ends it)")
        fails(g, ["drill", "fail", "mars"], 1, "no region mars")
        fails(g, ["drill", "fail", "web"], 1, "no region web, but a pool: an endpoint is named "
              "POOL/TARGET (gtmctl endpoint list web shows them)")
        fails(g, ["drill", "fail", "nopool/192.0.2.1"], 1, "no pool nopool")
        fails(g, ["drill", "fail", "web/192.0.2.9"], 1,
              "pool web has no endpoint 192.0.2.9 (gtmctl endpoint list web shows them)")
        fails(g, ["drill", "fail", "web/192.0.2.300"], 2,
              "TARGET: '192.0.2.300' is not an IPv4 or IPv6 address")
        fails(g, ["drill", "fail", "EU"], 2,
              "REGION: 'EU' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
              ": in lower case, 'eu'")
        fails(g, ["drill", "fail", "lab", "--for", "0"], 2, "--for: '0' is not a duration from "
              "1 to 31622400 seconds (seconds, or with units: 90s 5m 1h 2d 1w)")
        fails(g, ["drill", "fail", "lab", "--reason", "x" * 201], 2,
              "--reason: give 1 to 200 characters (201 given)")
        fails(g, ["drill", "restore", "lab"], 1,
              "region lab has no drill (gtmctl drill list shows them)")
        fails(g, ["drill", "restore", "web/2001:db8::1"], 1,
              "web/2001:db8::1 has no drill (gtmctl drill list shows them)")
        fails(g, ["drill", "restore"], 2, "give a REGION or POOL/TARGET, or --all")
        fails(g, ["drill", "restore", "lab", "--all"], 2,
              "give a REGION or POOL/TARGET, or --all")
        fails(g, ["drill", "list", "x"], 2, "unexpected argument 'x'")

    n = len(events(g))
    p = g.run("drill", "restore", "us-east")
    assert p.stdout == f"ended {region_drill}\n"
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, 'drill', 'restore', 'us-east')}\n"
                             f"    - {region_drill}\n")
    # lb.example.net. stays drilled by its own drill: no event for it
    assert events(g)[n:] == [("web/2001:db8::1", "drill", "down (drill)", "up", "drill restored")]

    p = g.run("drill", "restore", "--all")
    assert p.stdout == ("ended drill web/192.0.2.1 until restored\n"
                        "ended drill web/lb.example.net. until restored\n")
    assert audit_last(g).endswith("    - drill web/192.0.2.1 until restored\n"
                                  "      drill web/lb.example.net. until restored\n")
    assert events(g)[n + 1:] == [
        ("web/192.0.2.1", "drill", "down (drill)", "unknown", "drill restored"),
        ("web/lb.example.net.", "drill", "down (drill)", "down", "drill restored")]
    assert g.run("drill", "list").stdout == "DRILL  STATE  USER  STARTED  UNTIL  REASON\n"
    with unchanged(g):
        assert g.run("drill", "restore", "--all").stdout == "no drills to end\n"


def test_drill_expires(world):
    g = world
    g.run("drill", "fail", "web/192.0.2.1", "--for", "1s", "--reason", "short")
    assert "down (drill)" in g.run("status", "web").stdout
    time.sleep(1.5)
    lines = g.run("drill", "list").stdout.splitlines()
    assert lines[1].split()[:3] == ["web/192.0.2.1", "expired", "tester"]
    assert g.run("status", "web").stdout.splitlines()[1].split() == \
        ["web/192.0.2.1", "eu-west", "unknown", "-", "-", "-", "-", "100", "yes"]
    # a new drill replaces the expired one; the audit shows it going
    p = g.run("drill", "fail", "web/192.0.2.1")
    assert p.stdout == "drill web/192.0.2.1 until restored (1 endpoint forced down)\n"
    assert masked(audit_last(g)) == masked(
        f"TIME  tester  -  {cmdline(g, 'drill', 'fail', 'web/192.0.2.1')}\n"
        "    - drill web/192.0.2.1 until 2000-01-01T00:00:00Z: short\n"
        "    + drill web/192.0.2.1 until restored\n")
    assert [row[2:] for row in events(g)] == [
        ("unknown", "down (drill)", "short"), ("unknown", "down (drill)", "drill")]
    assert g.run("drill", "list").stdout.splitlines()[1].split()[:2] == \
        ["web/192.0.2.1", "active"]


# ---- drains -----------------------------------------------------------------------------

def test_drain(world):
    g = world
    before = now_ms()
    p = g.run("drain", "us-east")
    started, until = sql(g, "SELECT started, until FROM drains")[0]
    assert before <= started and until == started + 300000
    summary = f"drain us-east over 5m, to weight 0 at {iso(until)}"
    assert p.stdout == f"{summary} (2 endpoints)\n"
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, 'drain', 'us-east')}\n"
                             f"    + {summary}\n")
    # the first of 10 steps at once
    assert events(g) == [
        ("web/2001:db8::1", "drain", "weight 50", "weight 45 (drain)", "drain over 5m"),
        ("web/lb.example.net.", "drain", "weight 100", "weight 90 (drain)", "drain over 5m")]
    out = g.run("status", "web").stdout.splitlines()
    assert [re.split(r"\s{2,}", line)[7] for line in out[1:4]] == [
        "100", "50 -> 45 (draining us-east, 1/10 steps)",
        "100 -> 90 (draining us-east, 1/10 steps)"]
    assert out[4:] == [f"drain us-east: 1/10 steps, weights at 90%, started {iso(started)}, "
                       f"reaching 0 at {iso(until)}"]

    # drained again, over 10 minutes of which 6.5 have passed: step 7, weights at 30%
    p = g.run("drain", "us-east", "--over", "10m")
    assert p.stdout.endswith(" (2 endpoints, replacing the running drain)\n")
    assert audit_last(g).splitlines()[1] == f"    - {summary}"
    assert events(g)[2:] == [
        ("web/2001:db8::1", "drain", "weight 45 (drain)", "weight 45 (drain)", "drain over 10m"),
        ("web/lb.example.net.", "drain", "weight 90 (drain)", "weight 90 (drain)",
         "drain over 10m")]
    now = now_ms()
    sql(g, "UPDATE drains SET started = ?, until = ?", now - 390000, now + 210000)
    out = g.run("status", "web").stdout.splitlines()
    assert [re.split(r"\s{2,}", line)[7] for line in out[1:4]] == [
        "100", "50 -> 15 (draining us-east, 7/10 steps)",
        "100 -> 30 (draining us-east, 7/10 steps)"]
    assert out[4].startswith("drain us-east: 7/10 steps, weights at 30%, started ")

    # a drain over 0 is done at once
    g.run("drain", "eu-west", "--over", "0")
    assert events(g)[-2:] == [
        ("api/192.0.2.20", "drain", "weight 100", "weight 0 (drain)", "drain over 0s"),
        ("web/192.0.2.1", "drain", "weight 100", "weight 0 (drain)", "drain over 0s")]
    out = g.run("status").stdout.splitlines()
    assert re.split(r"\s{2,}", out[1])[7] == "100 -> 0 (drained eu-west)"
    assert out[-2].startswith("drain eu-west: done at ")
    assert out[-2].endswith(", weights at 0% (gtmctl drain rm eu-west gives them back)")

    n = len(events(g))
    p = g.run("drain", "rm", "us-east")
    assert p.stdout == "drain us-east stopped: its endpoints have their weights back\n"
    assert audit_last(g).splitlines()[1].startswith("    - drain us-east over 10m, to weight 0 at ")
    assert [row[2:] for row in events(g)[n:]] == [
        ("weight 15 (drain)", "weight 50", "drain stopped"),
        ("weight 30 (drain)", "weight 100", "drain stopped")]
    assert sql(g, "SELECT r.name FROM drains JOIN regions r ON r.id = region_id") == \
        [("eu-west",)]

    with unchanged(g):
        fails(g, ["drain", "rm", "us-east"], 1, "region us-east is not draining")
        fails(g, ["drain", "mars"], 1, "no region mars")
        fails(g, ["drain", "rm", "mars"], 1, "no region mars")
        fails(g, ["drain", "us-east", "--over", "soon"], 2, "--over: 'soon' is not a duration "
              "from 0 to 31622400 seconds (seconds, or with units: 90s 5m 1h 2d 1w)")
        fails(g, ["drain", "web/192.0.2.1"], 2, "REGION: 'web/192.0.2.1' is not a valid name "
              "(1 to 63 characters from a-z 0-9 _ . -)")
        fails(g, ["drain"], 2, "missing arguments")


# ---- events -----------------------------------------------------------------------------

def test_events(world):
    g = world
    now = now_ms()
    ep = endpoint_id(g, "web", "192.0.2.1")
    for ts, old, new, reason in [(now - 2 * 3600000, "up", "down", "HTTP 503"),
                                 (now - 1800000 + 7, "down", "up", ""),
                                 (now - 600000, "up", "down", "timeout after 2000 ms")]:
        sql(g, "INSERT INTO health_events(ts, endpoint_id, target, vantage, old, new, reason) "
            "VALUES (?, ?, 'web/192.0.2.1', 'ams', ?, ?, ?)", ts, ep, old, new, reason)

    def stamp(ms):
        return f"{iso(ms)[:-1]}.{ms % 1000:03d}Z"
    assert g.run("events").stdout == (
        "TIME                      TARGET         VANTAGE  CHANGE      REASON\n"
        f"{stamp(now - 1800000 + 7)}  web/192.0.2.1  ams      down -> up  -\n"
        f"{stamp(now - 600000)}  web/192.0.2.1  ams      up -> down  timeout after 2000 ms\n")
    assert len(g.run("events", "--since", "3h").stdout.splitlines()) == 4
    assert len(g.run("events", "--since", "15m").stdout.splitlines()) == 2
    g.run("drill", "fail", "web/192.0.2.1", "--reason", "game day")
    last = g.run("events", "--since", "1m").stdout.splitlines()[-1]
    assert re.split(r"\s{2,}", last)[1:] == ["web/192.0.2.1", "drill",
                                             "unknown -> down (drill)", "game day"]
    fails(g, ["events", "--since", "yesterday"], 2, "--since: 'yesterday' is not a duration "
          "from 0 to 4294967295 seconds (seconds, or with units: 90s 5m 1h 2d 1w)")
    fails(g, ["events", "x"], 2, "unexpected argument 'x'")
