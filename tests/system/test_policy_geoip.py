"""GeoIP databases in gtm-dnsd (--geoip FILE, repeatable): MaxMind's City layout and the
flat layout of free redistributions (country_code, latitude, longitude; the continent
derived from the country), IPv4 networks inside an IPv6 tree or in a file of their
own; a file replaced at run time (rename over it) is picked up within a couple of
seconds without a restart; a missing or corrupt file, or one without locations (an ASN
database), is a log line, never a crash: at start-up the geo map's '*' entry answers
everyone, later the data loaded before stays in use (unless the file was written over
in place); a good file put back is used again.
"""
import shutil
import time

import pytest

from policy_util import (GEO, PROX, WEB_V4, WEB_V6, WORLD_NETS, Client, addr_rr, each, expect,
                         explain, log_lines, make_mmdb, net, query, replace_atomically, serve)
from dnsd_util import run_dnsd
from policy_util import world, world_geoip, world_mmdb, world_template  # noqa: F401

STAR = WEB_V4["us-east"]  # the world's '*' region


def answer_of(c, q):
    r, _ = c.ask(q)
    return [rd.to_text() for rrset in r.answer for rd in rrset]


def wait_answer(c, q, want, timeout=3.0):
    """Asks q until the answer is [want] (a file change is polled for); returns the
    seconds it took."""
    t0 = time.monotonic()
    while True:
        got = answer_of(c, q)
        if got == [want]:
            return time.monotonic() - t0
        assert time.monotonic() - t0 < timeout, f"still {got} after {timeout}s, want {want}"
        time.sleep(0.05)


FLAT_NETS = [
    net("81.2.68.0/22", "GB", lat=51.51, lon=-0.13),
    net("89.160.0.0/16", "DE", lat=52.52, lon=13.40),
    net("203.0.113.0/24", "JP", lat=35.68, lon=139.69),
    net("200.160.0.0/16", "BR", lat=-23.55, lon=-46.63),
    net("192.0.2.0/24", "US", lat=37.77, lon=-122.42),
    net("127.0.2.0/24", "DE", lat=50.11, lon=8.68),
    net("127.0.4.0/24", "JP", lat=35.68, lon=139.69),
    net("2001:db8:1::/48", "DE", lat=52.52, lon=13.40),
    net("2001:db8:6::/48", "BR", lat=-23.55, lon=-46.63),
]


@pytest.mark.parametrize("alias", [False, True], ids=["plain-v6-tree", "aliased-v6-tree"])
def test_flat_layout(world, dnsd, tmp_path, alias):
    """Continents come from the countries (JP -> AS, BR -> SA, DE -> EU, US -> NA); no
    subdivision, so US-CA does not match; coordinates drive proximity."""
    flat = make_mmdb(tmp_path / "flat.mmdb", FLAT_NETS, layout="flat", alias=alias)
    srv = serve(dnsd, world, flat)
    cases = [("81.2.69.0", 24, "eu-west", "eu-west"),          # country GB
             ("89.160.7.0", 24, "eu-central", "eu-central"),   # DE: continent EU
             ("203.0.113.0", 24, "ap-northeast", "ap-northeast"),
             ("200.160.0.0", 24, "sa-east", "sa-east"),
             ("192.0.2.0", 24, "us-east", "us-west"),          # US: NA; nearest us-west
             ("2001:db8:1::", 48, "eu-central", "eu-central"),
             ("2001:db8:6::", 48, "sa-east", "sa-east")]
    with Client(srv) as c:
        for addr, source, geo_region, prox_region in cases:
            for name, region in ((GEO, geo_region), (PROX, prox_region)):
                r, scope = expect(c, query(name, ecs=(addr, source)), scope=None,
                                  answer=[addr_rr(name, WEB_V4[region])])
                assert 0 < scope <= source
    for source, region in (("127.0.2.1", "eu-central"), ("127.0.4.1", "ap-northeast")):
        with Client(srv, source=source) as c:
            expect(c, query(GEO, edns=False), answer=[addr_rr(GEO, WEB_V4[region])])
    out = explain(world, GEO, "--client", "203.0.113.9", geoip=[flat])
    assert "location: country JP, continent AS, 35.6800 139.6900; GeoIP network " \
           "203.0.113.0/24\n" in out


@pytest.mark.parametrize("v6_first", [False, True], ids=["v4-then-v6", "v6-then-v4"])
def test_separate_ipv4_and_ipv6_files(world, dnsd, tmp_path, v6_first):
    """An IPv4 database and an IPv6 one, in either order on the command line: IPv4
    clients are placed by the one, IPv6 clients by the other. (Today IPv6 clients get
    the decisions of unrelated IPv4 networks: the classifier builder caches a decision
    per data-record offset across both files, whose offsets collide.)"""
    v4 = make_mmdb(tmp_path / "v4.mmdb", [n for n in WORLD_NETS if ":" not in n["net"]],
                   ip_version=4)
    v6 = make_mmdb(tmp_path / "v6.mmdb", [n for n in WORLD_NETS if ":" in n["net"]],
                   alias=False)
    srv = serve(dnsd, world, *((v6, v4) if v6_first else (v4, v6)))
    with Client(srv) as c:
        def one(case):
            addr, source, region, scope = case
            expect(c, query(GEO, ecs=(addr, source)), scope=scope,
                   answer=[addr_rr(GEO, WEB_V4[region])])

        each([("81.2.69.0", 24, "eu-west", 22), ("203.0.113.0", 24, "ap-northeast", 24),
              ("2001:db8:1::", 48, "eu-central", 48), ("2001:db8:2::", 48, "us-west", 48),
              ("2001:db8:6::", 48, "sa-east", 48)], one)
    with Client(srv, source="127.0.4.1") as c:
        expect(c, query(GEO, edns=False), answer=[addr_rr(GEO, WEB_V4["ap-northeast"])])


def swapped_nets():
    """The world, but 127.0.2.0/24 and 203.0.113.0/24 moved: DE -> JP, JP -> GB."""
    out = []
    for n in WORLD_NETS:
        if n["net"] == "127.0.2.0/24":
            n = net(n["net"], "JP", "AS", None, 35.68, 139.69)
        elif n["net"] == "203.0.113.0/24":
            n = net(n["net"], "GB", "EU", "ENG", 51.51, -0.13)
        out.append(n)
    return out


def test_database_replaced_at_run_time(world, world_geoip, dnsd, tmp_path):
    new = make_mmdb(tmp_path / "new.mmdb", swapped_nets())
    orig = shutil.copyfile(world_geoip, tmp_path / "orig.mmdb")
    srv = serve(dnsd, world, world_geoip)
    with Client(srv, source="127.0.2.1") as de, Client(srv) as c:
        jp = query(GEO, ecs=("203.0.113.0", 24))
        assert answer_of(de, query(GEO, edns=False)) == [WEB_V4["eu-central"]]
        assert answer_of(c, jp) == [WEB_V4["ap-northeast"]]
        opened = len(log_lines(srv, r"GeoIP: 1 database open"))
        mark = len(srv.log())
        replace_atomically(new, world_geoip)
        wait_answer(de, query(GEO, edns=False), WEB_V4["ap-northeast"])
        wait_answer(c, jp, WEB_V4["eu-west"])
        # the ECS scope follows the new data too: JP's /24 is GB's now, not merged
        expect(c, jp, answer=[addr_rr(GEO, WEB_V4["eu-west"])], scope=24)
        srv.daemon.wait_log(r"GeoIP: 1 database open \(.*geo\.mmdb\)", start=mark)
        srv.daemon.wait_log(r"reloaded generation \d+ \(forced\)", start=mark)
        assert len(log_lines(srv, r"GeoIP: 1 database open")) == opened + 1
        # and back again
        replace_atomically(orig, world_geoip)
        wait_answer(de, query(GEO, edns=False), WEB_V4["eu-central"])


def last_node_bad(good):
    """good with the left record of its search tree's last node pointing past the data
    section: lookups that do not cross it still work, the file's metadata too."""
    meta = good.rindex(b"\xab\xcd\xefMaxMind.com")
    at = good.index(b"node_count", meta) + len(b"node_count")
    assert good[at] >> 5 == 6, "node_count is not a uint32"  # MaxMind DB data type 6
    count = int.from_bytes(good[at + 1:at + 1 + (good[at] & 0x1f)], "big")
    b = bytearray(good)
    o = (count - 1) * 7  # 28-bit records (tests/geoip/make-mmdb.pl)
    b[o:o + 3] = b"\xff\xff\xff"
    b[o + 3] |= 0xf0
    return bytes(b)


CORRUPTIONS = {
    "garbage": lambda good: b"this is not a MaxMind database\n" * 64,
    "truncated": lambda good: good[:len(good) // 2],
    "empty": lambda good: b"",
    # a valid metadata section over a search tree of 0xff records (pointing nowhere)
    "bad-tree": lambda good: b"\xff" * 512 + good[512:],
    "bad-last-node": last_node_bad,
}


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_database_replaced_at_run_time(world, world_geoip, dnsd, tmp_path, how):
    """A bad file renamed over a good one (as a broken download would be) is logged and
    the data loaded before keeps placing clients: nothing moves until a good file
    comes."""
    good = world_geoip.read_bytes()
    shutil.copyfile(world_geoip, tmp_path / "good.mmdb")
    new = make_mmdb(tmp_path / "new.mmdb", swapped_nets())
    srv = serve(dnsd, world, world_geoip)
    with Client(srv, source="127.0.1.1") as gb, Client(srv, source="127.0.2.1") as de:
        q = query(GEO, edns=False)
        v6 = query(GEO, ecs=("2001:db8:1::", 48))
        assert answer_of(gb, q) == [WEB_V4["eu-west"]]
        before_v6 = answer_of(gb, v6)
        mark = len(srv.log())
        bad = tmp_path / "bad.mmdb"
        bad.write_bytes(CORRUPTIONS[how](good))
        replace_atomically(bad, world_geoip)
        line = srv.daemon.wait_log(r"(err|warn)[a-z]*: .*GeoIP.*", start=mark).group(0)
        assert "geo.mmdb" in line and "loaded before" in line, line
        assert answer_of(gb, q) == [WEB_V4["eu-west"]]
        assert answer_of(gb, v6) == before_v6
        assert answer_of(de, q) == [WEB_V4["eu-central"]]
        # a good file again: used at once (here one that moves 127.0.2.0/24 to JP)
        replace_atomically(new, world_geoip)
        wait_answer(de, q, WEB_V4["ap-northeast"])
        assert answer_of(gb, q) == [WEB_V4["eu-west"]]
    assert srv.daemon.proc.poll() is None


def test_corrupt_database_written_in_place(world, world_geoip, dnsd, tmp_path):
    """A file written over in place (cp, not a rename) changes under the mapping of the
    data loaded before, which cannot be kept then: '*' for everyone, and the log says
    to replace the file by renaming."""
    good = tmp_path / "good.mmdb"
    shutil.copyfile(world_geoip, good)
    srv = serve(dnsd, world, world_geoip)
    with Client(srv, source="127.0.1.1") as gb:
        q = query(GEO, edns=False)
        assert answer_of(gb, q) == [WEB_V4["eu-west"]]
        mark = len(srv.log())
        with open(world_geoip, "r+b") as f:
            f.write(b"this is not a MaxMind database\n" * 64)
            f.truncate()
        wait_answer(gb, q, STAR)
        line = srv.daemon.wait_log(r"err[a-z]*: .*geo\.mmdb.*", start=mark).group(0)
        assert "in place" in line and "'*'" in line, line
        replace_atomically(good, world_geoip)
        wait_answer(gb, q, WEB_V4["eu-west"])
    assert srv.daemon.proc.poll() is None


def test_missing_database_at_start_then_created(world, world_mmdb, dnsd, tmp_path):
    path = tmp_path / "later.mmdb"
    srv = serve(dnsd, world, path)
    errs = log_lines(srv, r"later\.mmdb")
    assert errs and "'*'" in errs[0], srv.log()
    with Client(srv, source="127.0.1.1") as gb:
        q = query(GEO, edns=False)
        assert answer_of(gb, q) == [STAR]
        # no location for anyone: IPv6 clients are all one block (scope 0); in IPv4 the
        # CIDR override 127.0.7.0/24 is still there, so the upper half is one /1
        expect(gb, query(GEO, ecs=("2001:db8:1::", 48)), answer=[addr_rr(GEO, STAR)], scope=0)
        expect(gb, query(GEO, ecs=("203.0.113.0", 24)), answer=[addr_rr(GEO, STAR)], scope=1)
        replace_atomically(world_mmdb, path)
        wait_answer(gb, q, WEB_V4["eu-west"])
        srv.daemon.wait_log(r"GeoIP: 1 database open \(.*later\.mmdb\)")
        # deleted again: logged, and the data loaded before stays in use
        mark = len(srv.log())
        path.unlink()
        srv.daemon.wait_log(r"later\.mmdb.*loaded before", start=mark)
        assert answer_of(gb, q) == [WEB_V4["eu-west"]]


@pytest.mark.parametrize("how", ["zeros", "bad-last-node"])
def test_corrupt_database_at_start(world, world_mmdb, dnsd, tmp_path, how):
    path = tmp_path / "corrupt.mmdb"
    path.write_bytes(b"\x00" * 4096 if how == "zeros" else last_node_bad(world_mmdb.read_bytes()))
    srv = serve(dnsd, world, path)
    assert log_lines(srv, r"corrupt\.mmdb"), srv.log()
    with Client(srv, source="127.0.1.1") as gb:
        expect(gb, query(GEO, edns=False), answer=[addr_rr(GEO, STAR)])
        expect(gb, query(GEO, "AAAA", ecs=("2001:db8:4::", 48)), scope=0,
               answer=[addr_rr(GEO, WEB_V6["us-east"])])
        # 64.0.0.0/3 holds no CIDR override (127.0.7.0/24 is in 96.0.0.0/3)
        expect(gb, query(GEO, "AAAA", ecs=("81.2.69.0", 24)), scope=3,
               answer=[addr_rr(GEO, WEB_V6["us-east"])])


def test_database_without_locations(world, world_mmdb, dnsd, tmp_path):
    """GeoLite2-ASN comes beside GeoLite2-City and opens like it, but places no client:
    given by mistake, the log names the file and what it is, everyone gets '*' until a
    City database is put there, and gtmctl explain refuses it with the same words."""
    path = make_mmdb(tmp_path / "asn.mmdb",
                     [dict(n, asn=64496 + i) for i, n in enumerate(WORLD_NETS)], layout="asn")
    srv = serve(dnsd, world, path)
    errs = log_lines(srv, r"asn\.mmdb \(GeoLite2-ASN\) holds no locations")
    assert errs and "GeoLite2-City" in errs[0] and "'*'" in errs[0], srv.log()
    with Client(srv, source="127.0.1.1") as gb:
        q = query(GEO, edns=False)
        assert answer_of(gb, q) == [STAR]
        replace_atomically(world_mmdb, path)
        wait_answer(gb, q, WEB_V4["eu-west"])
    asn = make_mmdb(tmp_path / "asn2.mmdb", WORLD_NETS, layout="asn")
    p = world.run("explain", GEO, "--client", "81.2.69.1", "--geoip", asn, rc=1)
    assert "asn2.mmdb (GeoLite2-ASN) holds no locations" in p.stderr, p.stderr
    assert srv.daemon.proc.poll() is None


def test_check_config_opens_the_geoip_files(world, world_mmdb, tmp_path):
    """--check-config opens the GeoIP files and compiles the store as start-up would."""
    p = run_dnsd("--check-config", "--db", world.db, "--geoip", world_mmdb)
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout.startswith(f"gtm-dnsd: configuration OK; store {world.db}: "), p.stdout
    assert p.stdout.endswith("; 1 GeoIP database\n"), p.stdout
    p = run_dnsd("--check-config", "--db", world.db, "--geoip", world_mmdb,
                 "--geoip", tmp_path / "gone.mmdb")
    assert (p.returncode, p.stdout) == (1, "")
    assert f"check failed: GeoIP database {tmp_path / 'gone.mmdb'}: " in p.stderr, p.stderr
