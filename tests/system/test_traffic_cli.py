"""gtmctl's traffic model against a real store: regions, pools and endpoints, policies
on managed names, the geo map and the latency table. For every command: what it prints,
what a list command reads back, the audit row it writes (and the zone serial it bumps,
for policies), and that a refused change leaves the store as it was.
"""
import re

import pytest

AUDIT_HEAD_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  ", re.M)
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.M)


# ---- helpers ----------------------------------------------------------------------------

def audit_last(g, zone=None):
    """The newest audit entry (of one zone, when given), its time replaced by TIME."""
    args = ["audit", "--limit", "1"] + ([zone] if zone else [])
    return TIME_RE.sub("TIME", g.run(*args).stdout)


def audit_count(g):
    return len(AUDIT_HEAD_RE.findall(g.run("audit").stdout))


def table(g, *args):
    """A list command's rows, each split into its cells (the header row first)."""
    return [line.split() for line in g.run(*args).stdout.splitlines()]


def serial(g, zone):
    for line in g.run("zone", "list").stdout.splitlines()[1:]:
        name, ser, _ = line.split()
        if name == zone:
            return int(ser)
    raise AssertionError(f"no zone {zone}")


def cmdline(g, *args):
    """The command line the audit log shows for gtmctl --db DB ARGS (plain arguments)."""
    return " ".join(["gtmctl", "--db", str(g.db), *args])


def fails(g, args, rc, message):
    """Runs a command that must fail with exit status rc and this first line on stderr
    (a usage error adds the command's usage); returns its stderr."""
    p = g.run(*args, rc=rc)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[0] == f"gtmctl: {args[0]} {args[1]}: {message}", p.stderr
    if rc == 2:
        assert lines[1].startswith(f"usage: gtmctl {args[0]} {args[1]}")
        assert len(lines) == 3
    else:
        assert len(lines) == 1
    return p.stderr


def unchanged(g, *list_cmds):
    """A context check: the audit log and the given list outputs are the same after the
    block as before it."""
    class Check:
        def __enter__(self):
            self.before = [audit_count(g)] + [g.run(*c).stdout for c in list_cmds]

        def __exit__(self, *exc):
            if exc[0] is None:
                assert [audit_count(g)] + [g.run(*c).stdout for c in list_cmds] == self.before
    return Check()


def refused(g, usage, failures, *list_cmds):
    """Runs commands that must be refused, usage errors (exit 2) and failures (exit 1),
    each with its message, and checks that together they changed nothing."""
    with unchanged(g, *list_cmds):
        for args, message in usage:
            fails(g, args, 2, message)
        for args, message in failures:
            fails(g, args, 1, message)


@pytest.fixture
def world(gtmctl):
    """A store with a zone, three regions, a pool 'web' with an A, an AAAA and a CNAME
    endpoint, and an empty pool 'backup'."""
    g = gtmctl
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("region", "add", "eu-west", "--lat", "50.11", "--lon", "8.68")
    g.run("region", "add", "us-east", "--lat", "38.9", "--lon", "-77.03")
    g.run("region", "add", "lab")
    g.run("pool", "add", "web")
    g.run("pool", "add", "backup")
    g.run("endpoint", "add", "web", "192.0.2.1", "--region", "eu-west")
    g.run("endpoint", "add", "web", "2001:DB8:0::1", "--region", "us-east", "--weight", "50")
    g.run("endpoint", "add", "web", "LB.Example.NET", "--region", "lab", "--enabled", "no")
    return g


# ---- regions ----------------------------------------------------------------------------

def test_region_add_and_list(gtmctl):
    g = gtmctl
    p = g.run("region", "add", "eu-west", "--lat", "50.11", "--lon", "8.68")
    assert (p.stdout, p.stderr) == ("added region eu-west (50.11, 8.68)\n", "")
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, 'region', 'add', 'eu-west', '--lat', '50.11', '--lon', '8.68')}\n"
                             "    + region eu-west (50.11, 8.68)\n")
    assert g.run("region", "add", "ap-south.2", "--lat=-33.9", "--lon=151.21").stdout == \
        "added region ap-south.2 (-33.9, 151.21)\n"
    assert g.run("region", "add", "lab").stdout == "added region lab (no coordinates)\n"
    assert audit_last(g).endswith("    + region lab (no coordinates)\n")
    assert g.run("region", "list").stdout == (
        "REGION      LAT    LON\n"
        "ap-south.2  -33.9  151.21\n"
        "eu-west     50.11  8.68\n"
        "lab         -      -\n")


def test_region_add_refused(gtmctl):
    g = gtmctl
    g.run("region", "add", "eu-west")
    with unchanged(g, ("region", "list")):
        fails(g, ["region", "add", "EU-West"], 2, "REGION: 'EU-West' is not a valid name "
              "(1 to 63 characters from a-z 0-9 _ . -): in lower case, 'eu-west'")
        fails(g, ["region", "add", "x" * 64], 2, f"REGION: '{'x' * 64}' is not a valid name "
              "(1 to 63 characters from a-z 0-9 _ . -)")
        fails(g, ["region", "add", "x", "--lat", "10"], 2,
              "give both --lat and --lon, or neither")
        fails(g, ["region", "add", "x", "--lat", "90.5", "--lon", "0"], 2,
              "--lat: '90.5' is not a latitude from -90 to 90 degrees")
        fails(g, ["region", "add", "x", "--lat", "0", "--lon", "nan"], 2,
              "--lon: 'nan' is not a longitude from -180 to 180 degrees")
        fails(g, ["region", "add", "eu-west"], 1, "region eu-west already exists")
    g.run("region", "add", "x" * 63)


# ---- pools and endpoints ----------------------------------------------------------------

def test_pools_and_endpoints(world):
    g = world
    assert g.run("pool", "list").stdout == "POOL    ENDPOINTS\nbackup  0\nweb     3\n"
    assert g.run("endpoint", "list").stdout == (
        "POOL  TARGET           TYPE   REGION   WEIGHT  PRIORITY  ENABLED\n"
        "web   192.0.2.1        A      eu-west  100     1         yes\n"
        "web   2001:db8::1      AAAA   us-east  50      1         yes\n"
        "web   lb.example.net.  CNAME  lab      100     1         no\n")
    p = g.run("endpoint", "add", "backup", "198.51.100.7", "--region", "us-east",
              "--weight", "0", "--priority", "2")
    summary = ("endpoint backup 198.51.100.7: A, region us-east, weight 0, priority 2, "
               "enabled yes")
    assert p.stdout == f"added {summary}\n"
    assert audit_last(g) == (
        f"TIME  tester  -  {cmdline(g, 'endpoint', 'add', 'backup', '198.51.100.7', '--region', 'us-east', '--weight', '0', '--priority', '2')}\n"
        f"    + {summary}\n")
    assert table(g, "endpoint", "list", "backup") == [
        ["POOL", "TARGET", "TYPE", "REGION", "WEIGHT", "PRIORITY", "ENABLED"],
        ["backup", "198.51.100.7", "A", "us-east", "0", "2", "yes"]]
    assert table(g, "pool", "list")[1] == ["backup", "1"]
    # the same target in another pool is another endpoint
    g.run("endpoint", "add", "backup", "192.0.2.1", "--region", "lab")
    assert g.run("pool", "add", "pool_2.x").stdout == "added pool pool_2.x\n"
    assert audit_last(g).endswith("    + pool pool_2.x\n")
    assert table(g, "endpoint", "list", "pool_2.x") == [
        ["POOL", "TARGET", "TYPE", "REGION", "WEIGHT", "PRIORITY", "ENABLED"]]


def test_endpoint_add_refused(world):
    g = world
    usage = [
        (["endpoint", "add", "web", "192.0.2.300", "--region", "lab"],
         "TARGET: '192.0.2.300' is not an IPv4 or IPv6 address"),
        (["endpoint", "add", "web", "2001:db8::g", "--region", "lab"],
         "TARGET: '2001:db8::g' is not an IPv4 or IPv6 address"),
        (["endpoint", "add", "web", "*.example.net", "--region", "lab"],
         "TARGET: '*.example.net' is not a host name"),
        (["endpoint", "add", "web", "::FFFF:192.0.2.9", "--region", "lab"],
         "TARGET: '::FFFF:192.0.2.9' is an IPv4-mapped IPv6 address: give the IPv4 address, "
         "192.0.2.9 (answered as A)"),
        (["endpoint", "add", "web", "192.0.2.9"],
         "--region is required: the region the endpoint is in"),
        (["endpoint", "add", "web", "192.0.2.9", "--region", "lab", "--weight", "-1"],
         "--weight: '-1' is not a whole number from 0 to 1000000"),
        (["endpoint", "add", "web", "192.0.2.9", "--region", "lab", "--weight", "1000001"],
         "--weight: '1000001' is not a whole number from 0 to 1000000"),
        (["endpoint", "add", "web", "192.0.2.9", "--region", "lab", "--weight", "ten"],
         "--weight: 'ten' is not a whole number from 0 to 1000000"),
        (["endpoint", "add", "web", "192.0.2.9", "--region", "lab", "--priority", "65536"],
         "--priority: '65536' is not a whole number from 0 to 65535"),
        (["endpoint", "add", "web", "192.0.2.9", "--region", "lab", "--enabled", "maybe"],
         "--enabled: 'maybe' is not yes or no"),
        (["endpoint", "add", "Web", "192.0.2.9", "--region", "lab"],
         "POOL: 'Web' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
         ": in lower case, 'web'"),
        (["pool", "add", "none"], "POOL: 'none' is reserved (a --fallback of policy set)"),
        (["pool", "add", "fail-open"],
         "POOL: 'fail-open' is reserved (a --fallback of policy set)"),
    ]
    failures = [
        (["endpoint", "add", "web", "192.0.2.9", "--region", "mars"], "no region mars"),
        (["endpoint", "add", "nopool", "192.0.2.9", "--region", "lab"], "no pool nopool"),
        (["endpoint", "add", "web", "192.0.2.1", "--region", "lab"],
         "pool web already has endpoint 192.0.2.1 (gtmctl endpoint set changes it)"),
        (["endpoint", "add", "web", "2001:db8:0:0::1", "--region", "lab"],
         "pool web already has endpoint 2001:db8::1 (gtmctl endpoint set changes it)"),
        (["endpoint", "add", "web", "lb.example.net.", "--region", "lab"],
         "pool web already has endpoint lb.example.net. (gtmctl endpoint set changes it)"),
        (["pool", "add", "web"], "pool web already exists"),
    ]
    refused(g, usage, failures, ("endpoint", "list"), ("pool", "list"))


def test_endpoint_set(world):
    g = world
    p = g.run("endpoint", "set", "web", "2001:DB8::1", "--weight", "70", "--enabled", "no")
    assert p.stdout == "endpoint web 2001:db8::1: weight 50 -> 70, enabled yes -> no\n"
    assert audit_last(g) == (
        f"TIME  tester  -  {cmdline(g, 'endpoint', 'set', 'web', '2001:DB8::1', '--weight', '70', '--enabled', 'no')}\n"
        "    - endpoint web 2001:db8::1: AAAA, region us-east, weight 50, priority 1, "
        "enabled yes\n"
        "    + endpoint web 2001:db8::1: AAAA, region us-east, weight 70, priority 1, "
        "enabled no\n")
    assert table(g, "endpoint", "list", "web")[2] == \
        ["web", "2001:db8::1", "AAAA", "us-east", "70", "1", "no"]
    p = g.run("endpoint", "set", "web", "lb.example.net", "--priority", "3", "--enabled", "yes")
    assert p.stdout == ("endpoint web lb.example.net.: priority 1 -> 3, enabled no -> yes; its "
                        "health is unknown until probed again\n")
    assert table(g, "endpoint", "list", "web")[3] == \
        ["web", "lb.example.net.", "CNAME", "lab", "100", "3", "yes"]
    with unchanged(g, ("endpoint", "list")):
        # setting what is there writes nothing
        p = g.run("endpoint", "set", "web", "192.0.2.1", "--weight", "100")
        assert p.stdout == ("endpoint web 192.0.2.1: A, region eu-west, weight 100, "
                            "priority 1, enabled yes: unchanged\n")
        fails(g, ["endpoint", "set", "web", "192.0.2.1"], 2,
              "nothing to change: give --weight, --priority or --enabled")
        fails(g, ["endpoint", "set", "web", "192.0.2.1", "--weight", "x"], 2,
              "--weight: 'x' is not a whole number from 0 to 1000000")
        fails(g, ["endpoint", "set", "web", "192.0.2.99", "--weight", "1"], 1,
              "pool web has no endpoint 192.0.2.99 (gtmctl endpoint list web shows them)")
        fails(g, ["endpoint", "set", "backup", "192.0.2.1", "--weight", "1"], 1,
              "pool backup has no endpoint 192.0.2.1 (gtmctl endpoint list backup shows them)")
        fails(g, ["endpoint", "set", "nopool", "192.0.2.1", "--weight", "1"], 1,
              "no pool nopool")


def test_endpoint_pool_and_region_rm(world):
    """Removing what was added: an endpoint; a pool no policy uses, with its endpoints;
    a region nothing uses. Each writes an audit row saying what went; what is still in
    use is refused, naming a user, and nothing changes."""
    g = world
    g.run("policy", "set", "www.example.com", "--pool", "web", "--mode", "all",
          "--fallback", "backup")
    g.run("geo", "map", "DE", "lab")
    lists = [("endpoint", "list"), ("pool", "list"), ("region", "list"), ("policy", "list")]
    refused(g, [(["endpoint", "rm", "web"], "missing arguments"),
                (["pool", "rm", "Web"],
                 "POOL: 'Web' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
                 ": in lower case, 'web'")],
            [(["endpoint", "rm", "web", "192.0.2.99"],
              "pool web has no endpoint 192.0.2.99 (gtmctl endpoint list web shows them)"),
             (["pool", "rm", "web"],
              "pool web is used by the policy of www.example.com. (gtmctl policy list shows "
              "which use it): point them at another pool or remove them first"),
             (["pool", "rm", "backup"],
              "pool backup is used by the policy of www.example.com. (gtmctl policy list "
              "shows which use it): point them at another pool or remove them first"),
             (["pool", "rm", "nopool"], "no pool nopool"),
             (["region", "rm", "eu-west"],
              "region eu-west is still in use (endpoint web/192.0.2.1, maybe more): move or "
              "remove its endpoints and take it out of the geo map and the latency table "
              "first"),
             (["region", "rm", "noregion"], "no region noregion")], *lists)
    p = g.run("endpoint", "rm", "web", "LB.example.net")
    assert p.stdout == ("removed endpoint web lb.example.net.: CNAME, region lab, weight 100, "
                        "priority 1, enabled no\n")
    assert audit_last(g) == (
        f"TIME  tester  -  {cmdline(g, 'endpoint', 'rm', 'web', 'LB.example.net')}\n"
        "    - endpoint web lb.example.net.: CNAME, region lab, weight 100, priority 1, "
        "enabled no\n")
    assert [r[1] for r in table(g, "endpoint", "list", "web")[1:]] == ["192.0.2.1",
                                                                       "2001:db8::1"]
    # lab has no endpoint now, but the geo map names it
    fails(g, ["region", "rm", "lab"], 1,
          "region lab is still in use (geo map DE, maybe more): move or remove its endpoints "
          "and take it out of the geo map and the latency table first")
    g.run("geo", "unmap", "DE")
    assert g.run("region", "rm", "lab").stdout == "removed region lab\n"
    assert [r[0] for r in table(g, "region", "list")[1:]] == ["eu-west", "us-east"]
    g.run("policy", "rm", "www.example.com")
    assert g.run("pool", "rm", "web").stdout == "removed pool web, 2 endpoints\n"
    assert audit_last(g) == f"TIME  tester  -  {cmdline(g, 'pool', 'rm', 'web')}\n" \
                            "    - pool web, 2 endpoints\n"
    assert table(g, "endpoint", "list") == [["POOL", "TARGET", "TYPE", "REGION", "WEIGHT",
                                             "PRIORITY", "ENABLED"]]
    assert g.run("region", "rm", "eu-west").stdout == "removed region eu-west\n"


# ---- policies ---------------------------------------------------------------------------

POLICY_HEADER = ["NAME", "ZONE", "POOL", "MODE", "TTL", "ANSWERS", "FALLBACK", "STICKY",
                 "REGION-UP"]


def test_policy_set_list_rm(world):
    g = world
    s0 = serial(g, "example.com.")
    p = g.run("policy", "set", "www.example.com", "--pool", "web", "--mode", "geo")
    first = ("policy www.example.com.: pool web, mode geo, ttl 30, answers 1, "
             "fallback fail-open, sticky no, region-up 50%, unknown up, ttl-degraded auto")
    assert p.stdout == f"{first} (zone example.com. serial {s0 + 1})\n"
    assert serial(g, "example.com.") == s0 + 1
    assert audit_last(g, "example.com") == (
        f"TIME  tester  example.com.  "
        f"{cmdline(g, 'policy', 'set', 'www.example.com', '--pool', 'web', '--mode', 'geo')}\n"
        f"    + {first}\n"
        f"      serial {s0 + 1}\n")

    # set again: the policy is replaced, and the audit shows both
    args = ["policy", "set", "WWW.example.com.", "--pool", "web", "--mode", "weighted",
            "--sticky", "--ttl", "1m", "--answers", "2", "--fallback", "backup",
            "--region-up", "75"]
    p = g.run(*args)
    second = ("policy www.example.com.: pool web, mode weighted, ttl 60, answers 2, "
              "fallback backup, sticky yes, region-up 75%, unknown up, ttl-degraded auto")
    assert p.stdout == f"{second} (zone example.com. serial {s0 + 2}, replacing the old policy)\n"
    assert audit_last(g, "example.com") == (
        f"TIME  tester  example.com.  {cmdline(g, *args)}\n"
        f"    - {first}\n"
        f"    + {second}\n"
        f"      serial {s0 + 2}\n")

    g.run("policy", "set", "api.example.com", "--pool", "backup", "--mode", "all",
          "--fallback", "none", "--ttl", "0")
    g.run("policy", "set", "fo.example.com", "--pool", "backup", "--mode", "failover",
          "--fallback", "web", "--region-up", "0")
    assert serial(g, "example.com.") == s0 + 4
    assert table(g, "policy", "list") == [
        POLICY_HEADER,
        ["api.example.com.", "example.com.", "backup", "all", "0", "all", "none", "no", "50%"],
        ["fo.example.com.", "example.com.", "backup", "failover", "30", "1", "web", "no", "0%"],
        ["www.example.com.", "example.com.", "web", "weighted", "60", "2", "backup", "yes",
         "75%"]]
    # aligned: every column starts where its header does
    lines = g.run("policy", "list").stdout.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    for line in lines[1:]:
        assert [m.start() for m in re.finditer(r"\S+", line)] == starts

    p = g.run("policy", "rm", "api.example.com")
    assert p.stdout == f"policy api.example.com. removed (zone example.com. serial {s0 + 5})\n"
    assert audit_last(g, "example.com") == (
        f"TIME  tester  example.com.  {cmdline(g, 'policy', 'rm', 'api.example.com')}\n"
        "    - policy api.example.com.: pool backup, mode all, ttl 0, answers all, "
        "fallback none, sticky no, region-up 50%, unknown up, ttl-degraded auto\n"
        f"    + serial {s0 + 5}\n")
    assert [row[0] for row in table(g, "policy", "list")] == \
        ["NAME", "fo.example.com.", "www.example.com."]
    with unchanged(g, ("policy", "list"), ("zone", "list")):
        fails(g, ["policy", "rm", "api.example.com"], 1,
              "api.example.com. is not a managed name: it has no policy")
        fails(g, ["policy", "rm", "a..b"], 2, "FQDN: 'a..b' is not a domain name")


def test_policy_goes_to_the_deepest_zone(world):
    g = world
    g.run("zone", "add", "sub.example.com", "--ns", "ns1.example.net")
    s_parent, s_child = serial(g, "example.com."), serial(g, "sub.example.com.")
    p = g.run("policy", "set", "a.sub.example.com", "--pool", "web", "--mode", "proximity")
    assert p.stdout.endswith(f"(zone sub.example.com. serial {s_child + 1})\n")
    assert table(g, "policy", "list")[1][:2] == ["a.sub.example.com.", "sub.example.com."]
    assert (serial(g, "example.com."), serial(g, "sub.example.com.")) == \
        (s_parent, s_child + 1)
    assert "policy a.sub.example.com." in audit_last(g, "sub.example.com")
    g.run("policy", "rm", "a.sub.example.com")
    assert serial(g, "sub.example.com.") == s_child + 2


def test_policy_set_refused(world):
    g = world
    g.run("record", "add", "example.com", "www", "A", "300", "192.0.2.80")
    g.run("record", "add", "example.com", "dept", "NS", "300", "ns.dept.example.net.")
    g.run("policy", "set", "old.example.com", "--pool", "web", "--mode", "geo")
    base = ["--pool", "web", "--mode", "geo"]
    usage = [
        (["policy", "set", "x.example.com", "--pool", "web", "--mode", "geo", "--sticky"],
         "--sticky applies to --mode weighted only (it makes the weighted pick a hash of "
         "the client subnet)"),
        (["policy", "set", "x.example.com", *base, "--fallback", "web"],
         "--fallback: must be another pool than --pool web"),
        (["policy", "set", "x.example.com", "--pool", "web"],
         "--mode is required: geo, latency, proximity, weighted, failover or all"),
        (["policy", "set", "x.example.com", "--pool", "web", "--mode", "random"],
         "--mode: 'random' is not geo, latency, proximity, weighted, failover or all"),
        (["policy", "set", "x.example.com", "--mode", "geo"],
         "--pool is required: the pool the answers come from"),
        (["policy", "set", "x.example.com", *base, "--answers", "0"],
         "--answers: '0' is not a whole number from 1 to 64"),
        (["policy", "set", "x.example.com", *base, "--answers", "65"],
         "--answers: '65' is not a whole number from 1 to 64"),
        (["policy", "set", "x.example.com", *base, "--region-up", "101"],
         "--region-up: '101' is not a whole number from 0 to 100"),
        (["policy", "set", "x.example.com", *base, "--ttl", "soon"],
         "--ttl: 'soon' is not a duration from 0 to 2147483647 seconds "
         "(seconds, or with units: 90s 5m 1h 2d 1w)"),
        (["policy", "set", "x.example.com", *base, "--fallback", "Other"],
         "--fallback: 'Other' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
         ": in lower case, 'other'"),
        (["policy", "set", "x.example.com", *base, "--ttl", "60", "--ttl-degraded", "2m"],
         "--ttl-degraded: 120 s is longer than the TTL (60 s); it is the shorter TTL of the "
         "answers while the pool is degraded"),
        (["policy", "set", "x.example.com", *base, "--ttl-degraded", "31"],
         "--ttl-degraded: 31 s is longer than the TTL (30 s); it is the shorter TTL of the "
         "answers while the pool is degraded"),
    ]
    failures = [
        (["policy", "set", "www.example.org", *base],
         "www.example.org. is in no zone of the store (gtmctl zone list shows them)"),
        (["policy", "set", "notexample.com", *base],
         "notexample.com. is in no zone of the store (gtmctl zone list shows them)"),
        (["policy", "set", "www.example.com", *base],
         "www.example.com. has records; remove them or pick another name"),
        (["policy", "set", "example.com", *base],
         "example.com. is the apex of zone example.com.: it cannot be a managed name"),
        (["policy", "set", "a.dept.example.com", *base],
         "a.dept.example.com. is delegated away at dept.example.com. (NS records): never "
         "asked here"),
        (["policy", "set", "x.example.com", "--pool", "nopool", "--mode", "geo"],
         "no pool nopool"),
        (["policy", "set", "x.example.com", *base, "--fallback", "nopool"], "no pool nopool"),
    ]
    refused(g, usage, failures, ("policy", "list"), ("zone", "list"))


def test_record_add_on_a_managed_name_is_refused(world):
    g = world
    g.run("policy", "set", "www.example.com", "--pool", "web", "--mode", "all")
    with unchanged(g, ("zone", "list"), ("record", "list", "example.com")):
        p = g.run("record", "add", "example.com", "www", "A", "300", "192.0.2.80", rc=1)
    assert p.stdout == ""
    assert p.stderr.startswith("gtmctl: record add: cannot add www.example.com.")
    assert "the name is managed by a policy; it cannot have records" in p.stderr
    # once the policy is gone the name can hold records again
    g.run("policy", "rm", "www.example.com")
    g.run("record", "add", "example.com", "www", "A", "300", "192.0.2.80")


def test_zone_import_with_records_at_a_managed_name(world, tmp_path):
    """A zone file with records at a managed name: each one reported, with what to do,
    before anything is written."""
    g = world
    g.run("policy", "set", "www.example.com", "--pool", "web", "--mode", "all")
    src = tmp_path / "z"
    src.write_text(g.run("zone", "export", "example.com").stdout +
                   "www.example.com. 300 IN A 192.0.2.80\nok 300 IN A 192.0.2.81\n"
                   "WWW.example.com. 300 IN AAAA 2001:db8::80\n")
    with unchanged(g, ("zone", "list"), ("record", "list", "example.com")):
        p = g.run("zone", "import", "example.com", src, rc=1)
    n = len(src.read_text().splitlines())
    what = ("www.example.com. is a managed name: its policy answers it, it can have no "
            "records (leave the line out, or first gtmctl policy rm www.example.com.)")
    assert p.stderr == (f"gtmctl: zone import: {src}:{n - 2}: {what}\n"
                        f"gtmctl: zone import: {src}:{n}: {what}; nothing was changed\n")


def test_no_managed_name_below_a_dname(world, tmp_path):
    """RFC 6672: a DNAME redirects every name below it, so a managed name there would
    never be answered. policy set refuses one below a DNAME, and a zone import refuses
    a DNAME above a managed name (its records below were checked with the file)."""
    g = world
    g.run("record", "add", "example.com", "old", "DNAME", "300", "new.example.net.")
    g.run("policy", "set", "x.moved.example.com", "--pool", "web", "--mode", "all")
    refused(g, [], [
        (["policy", "set", "x.old.example.com", "--pool", "web", "--mode", "all"],
         "x.old.example.com. is below the DNAME at old.example.com., which redirects it "
         "(RFC 6672): never answered here"),
    ], ("policy", "list"), ("zone", "list"))
    zone = tmp_path / "example.com.zone"
    export = g.run("zone", "export", "example.com").stdout
    # the export names the managed names in comments after the records
    assert export.endswith(";; managed names: their answers come from gtm's policies, not "
                           "from records\n;; x.moved.example.com.\tmanaged: A/AAAA from pool "
                           "web, mode all, TTL 30 (gtmctl policy list)\n"), export
    zone.write_text(export + "moved.example.com. 300 IN DNAME elsewhere.example.net.\n")
    line = len(zone.read_text().splitlines())
    with unchanged(g, ("policy", "list"), ("record", "list", "example.com")):
        p = g.run("zone", "import", "example.com", zone, rc=1)
    assert p.stderr == (f"gtmctl: zone import: {zone}:{line}: the DNAME at moved.example.com. "
                        "would hide the managed names below it (gtmctl policy list shows them; "
                        "RFC 6672 section 2.4); nothing was changed\n")
    # without the managed name the same file imports
    g.run("policy", "rm", "x.moved.example.com")
    g.run("zone", "import", "example.com", zone)


# ---- the geo map ------------------------------------------------------------------------

def test_geo_map_list_unmap(world):
    g = world
    p = g.run("geo", "map", "de", "eu-west,us-east")
    assert p.stdout == "geo DE (country) -> eu-west,us-east\n"
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, 'geo', 'map', 'de', 'eu-west,us-east')}\n"
                             "    + geo DE (country) -> eu-west,us-east\n")
    p = g.run("geo", "map", "DE", "us-east")
    assert p.stdout == "geo DE (country) -> us-east (replacing eu-west,us-east)\n"
    assert audit_last(g).endswith("    - geo DE (country) -> eu-west,us-east\n"
                                  "    + geo DE (country) -> us-east\n")
    for key, regions in [("*", "us-east"), ("EU", "eu-west,us-east"), ("us-ca", "us-east,lab"),
                         ("2001:DB8::/32", "lab"), ("10.1.0.0/16", "eu-west"),
                         ("192.0.2.0/24", "lab"), ("10.0.0.0/8", "lab,us-east,eu-west")]:
        g.run("geo", "map", key, regions)
    assert g.run("geo", "list").stdout == (
        "KEY            KIND         REGIONS\n"
        "10.0.0.0/8     cidr         lab,us-east,eu-west\n"
        "10.1.0.0/16    cidr         eu-west\n"
        "192.0.2.0/24   cidr         lab\n"
        "2001:db8::/32  cidr         lab\n"
        "US-CA          subdivision  us-east,lab\n"
        "DE             country      us-east\n"
        "EU             continent    eu-west,us-east\n"
        "*              default      us-east\n")
    p = g.run("geo", "unmap", "eu")
    assert p.stdout == "unmapped geo EU (continent) -> eu-west,us-east\n"
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, 'geo', 'unmap', 'eu')}\n"
                             "    - geo EU (continent) -> eu-west,us-east\n")
    assert "EU" not in [row[0] for row in table(g, "geo", "list")]


def test_geo_map_refused(world):
    g = world
    g.run("geo", "map", "DE", "eu-west")
    keys = "(a CIDR block, a country (DE), a subdivision (US-CA), a continent (EU) or *)"
    net = "an address with no host bits set and a prefix length (192.0.2.0/24, 2001:db8::/32)"
    usage = [
        (["geo", "map", "192.0.2.1/24", "lab"], f"KEY: '192.0.2.1/24' is not a network: {net}"),
        (["geo", "map", "2001:db8::1/32", "lab"],
         f"KEY: '2001:db8::1/32' is not a network: {net}"),
        (["geo", "map", "192.0.2.0/33", "lab"], f"KEY: '192.0.2.0/33' is not a network: {net}"),
        # longer than what gtm uses of a client's address: it could never be told apart
        (["geo", "map", "192.0.2.16/28", "lab"], "KEY: '192.0.2.16/28': clients are placed by "
         "at most /24 of an IPv4 address (RFC 7871 section 11.1), so no block longer than "
         "/24 can be told apart from the rest of its /24"),
        (["geo", "map", "2001:db8:0:100::/64", "lab"], "KEY: '2001:db8:0:100::/64': clients "
         "are placed by at most /56 of an IPv6 address (RFC 7871 section 11.1), so no block "
         "longer than /56 can be told apart from the rest of its /56"),
        (["geo", "map", "XX", "lab"], f"KEY: 'XX' is not a geo key {keys}"),
        (["geo", "map", "Germany", "lab"], f"KEY: 'Germany' is not a geo key {keys}"),
        (["geo", "map", "FR", "lab,eu-west,lab"], "REGION: lab is listed twice"),
        (["geo", "map", "FR", "lab,"],
         "REGION: '' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"),
        (["geo", "map", "FR", "Lab"],
         "REGION: 'Lab' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
         ": in lower case, 'lab'"),
        (["geo", "unmap", "ZZ"], f"KEY: 'ZZ' is not a geo key {keys}"),
    ]
    failures = [
        (["geo", "map", "FR", "lab,mars"], "no region mars"),
        (["geo", "unmap", "FR"], "FR is not mapped (gtmctl geo list shows the map)"),
    ]
    refused(g, usage, failures, ("geo", "list"))


# ---- latency ----------------------------------------------------------------------------

def test_latency_set_and_list(world):
    g = world
    assert g.run("latency", "set", "de", "eu-west", "12.5").stdout == \
        "latency DE -> eu-west 12.5 ms\n"
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, 'latency', 'set', 'de', 'eu-west', '12.5')}\n"
                             "    + latency DE -> eu-west 12.5 ms\n")
    g.run("latency", "set", "DE", "us-east", "95")
    g.run("latency", "set", "10.0.0.0/8", "lab", "0.25")
    g.run("latency", "set", "*", "us-east", "120")
    assert g.run("latency", "set", "DE", "eu-west", "11").stdout == \
        "latency DE -> eu-west 11 ms\n"
    assert audit_last(g).endswith("    - latency DE -> eu-west 12.5 ms\n"
                                  "    + latency DE -> eu-west 11 ms\n")
    assert g.run("latency", "list").stdout == (
        "KEY         KIND     REGION   MS\n"
        "10.0.0.0/8  cidr     lab      0.25\n"
        "DE          country  eu-west  11\n"
        "DE          country  us-east  95\n"
        "*           default  us-east  120\n")
    ms = "is not a number of milliseconds from 0 to 999999.999"
    with unchanged(g, ("latency", "list")):
        fails(g, ["latency", "set", "DE", "eu-west", "-1"], 2, f"'-1' {ms}")
        fails(g, ["latency", "set", "DE", "eu-west", "1000000"], 2, f"'1000000' {ms}")
        fails(g, ["latency", "set", "DE", "eu-west", "fast"], 2, f"'fast' {ms}")
        fails(g, ["latency", "set", "DE", "eu-west", "inf"], 2, f"'inf' {ms}")
        fails(g, ["latency", "set", "10.0.0.1/8", "lab", "1"], 2,
              "'10.0.0.1/8' is not a network: an address with no host bits set and a prefix "
              "length (192.0.2.0/24, 2001:db8::/32)")
        fails(g, ["latency", "set", "DE", "EU-West", "1"], 2,
              "REGION: 'EU-West' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
              ": in lower case, 'eu-west'")
        fails(g, ["latency", "set", "DE", "mars", "1"], 1, "no region mars")


def test_latency_import(world, tmp_path):
    g = world
    g.run("latency", "set", "DE", "eu-west", "11")
    g.run("latency", "set", "DE", "us-east", "90")
    csv = tmp_path / "rtt.csv"
    csv.write_text("key,region,ms\n"
                   "# measured 2024-06-01\n"
                   "\n"
                   "FR, eu-west , 20\n"
                   "fr,us-east,80.5\r\n"
                   "DE,eu-west,11\n"
                   "DE,us-east,85\n"
                   "2001:db8::/32,lab,3")
    p = g.run("latency", "import", csv)
    summary = f"5 latencies from {csv} (+3 new, 1 replaced, 1 unchanged)"
    assert p.stdout == summary + "\n"
    assert audit_last(g) == (f"TIME  tester  -  {cmdline(g, 'latency', 'import', str(csv))}\n"
                             "    - 1 of the pairs had other values\n"
                             f"    + {summary}\n")
    assert table(g, "latency", "list") == [
        ["KEY", "KIND", "REGION", "MS"],
        ["2001:db8::/32", "cidr", "lab", "3"],
        ["DE", "country", "eu-west", "11"],
        ["DE", "country", "us-east", "85"],
        ["FR", "country", "eu-west", "20"],
        ["FR", "country", "us-east", "80.5"]]
    # standard input
    p = g.run("latency", "import", "-", input="US,us-east,7\n")
    assert p.stdout == "1 latency from stdin (+1 new, 0 replaced, 0 unchanged)\n"
    # a spreadsheet's export, with a UTF-8 byte order mark before its header
    csv.write_bytes(b"\xef\xbb\xbfkey,region,ms\r\nJP,eu-west,240\r\n")
    p = g.run("latency", "import", csv)
    assert p.stdout == f"1 latency from {csv} (+1 new, 0 replaced, 0 unchanged)\n"


@pytest.mark.parametrize("lines,error", [
    (["DE,eu-west,1", "DE,us-east,2", "DE,mars,3", "FR,lab,4"], "3: no region mars "
     "(gtmctl region list shows them)"),
    (["DE,eu-west,1", "DE,us-east,2", "DE,lab,soon", "FR,lab,4"],
     "3: 'soon' is not a number of milliseconds from 0 to 999999.999"),
    (["DE,eu-west,1", "DE,us-east,2", "192.0.2.1/24,lab,3"],
     "3: '192.0.2.1/24' is not a network: an address with no host bits set and a prefix "
     "length (192.0.2.0/24, 2001:db8::/32)"),
    (["DE,eu-west,1", "DE,us-east,2", "DE,lab"], "3: expected key,region,ms (three fields)"),
    (["DE,eu-west,1", "DE,us-east,2", "DE,lab,3,4"],
     "3: expected key,region,ms (three fields)"),
    (["DE,eu-west,1", "DE,us-east,2", "DE,,3"], "3: the region is missing"),
    (["DE,eu-west,1", "DE,us-east,2", "de,eu-west,3"],
     "3: DE -> eu-west is given again (first on line 1)"),
    (["DE,eu-west,1", "DE,us-east,2", "DE,lab," + "1" * 1100], "3: line longer than 1024 "
     "characters"),
], ids=["region", "number", "host-bits", "too-few", "too-many", "no-region", "twice",
        "long"])
def test_latency_import_is_all_or_nothing(world, tmp_path, lines, error):
    g = world
    g.run("latency", "set", "DE", "eu-west", "50")
    csv = tmp_path / "bad.csv"
    csv.write_text("\n".join(lines) + "\n")
    with unchanged(g, ("latency", "list")):
        fails(g, ["latency", "import", str(csv)], 1, f"{csv}:{error}")


def test_latency_import_refused(world, tmp_path):
    g = world
    empty = tmp_path / "empty.csv"
    empty.write_text("key,region,ms\n# nothing yet\n")
    with unchanged(g, ("latency", "list")):
        fails(g, ["latency", "import", str(empty)], 1, f"{empty} holds no key,region,ms lines")
        fails(g, ["latency", "import", str(tmp_path / "nope.csv")], 1,
              f"cannot read {tmp_path / 'nope.csv'}: No such file or directory")


# ---- the command line -------------------------------------------------------------------

@pytest.mark.parametrize("group", ["region", "pool", "endpoint", "policy", "geo", "latency"])
def test_group_help(gtmctl, group):
    p = gtmctl.run(group, "--help")
    assert p.stdout.startswith(f"gtmctl {group} commands:\n")
    for line in p.stdout.splitlines()[1::2]:
        sub = line.split()[2]
        h = gtmctl.run(group, sub, "--help").stdout
        assert h.startswith(f"usage: gtmctl {group} {sub}")
        assert "Options:" in h


@pytest.mark.parametrize("args,message", [
    (["region", "add"], "missing arguments"),
    (["region", "list", "x"], "unexpected argument 'x'"),
    (["pool", "add", "a", "b"], "unexpected argument 'b'"),
    (["endpoint", "add", "web"], "missing arguments"),
    (["endpoint", "list", "a", "b"], "unexpected argument 'b'"),
    (["policy", "set"], "missing arguments"),
    (["policy", "set", "a.example.com", "--sticky=yes"], "--sticky takes no value"),
    (["geo", "map", "DE"], "missing arguments"),
    (["latency", "set", "DE", "eu-west"], "missing arguments"),
    (["latency", "import"], "missing arguments"),
    (["endpoint", "list", "Web"],
     "POOL: 'Web' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)"
     ": in lower case, 'web'"),
])
def test_usage_errors(gtmctl, args, message):
    fails(gtmctl, args, 2, message)
