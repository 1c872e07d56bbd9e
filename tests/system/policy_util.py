"""Helpers for the traffic-policy system tests (tests/system/test_policy_*.py).

- GeoIP fixtures are built at test time with MaxMind's own writer through
  tests/geoip/make-mmdb.pl, in both layouts: "maxmind" (GeoIP2/GeoLite2 City: country,
  continent, subdivisions, location) and "flat" (country_code, latitude, longitude; the
  continent is derived from the country).
- The "world" is one store built with the real gtmctl: a zone example.com with a static
  record, seven regions with coordinates (one without), a pool of endpoints with one
  IPv4 (and for some regions one IPv6) address per region, a geo map, a latency table
  and one managed name per region mode. It is built once per pytest worker and copied
  for each test, so tests may change their copy.
- WORLD_NETS places clients: public-looking networks (ECS clients) and 127.0.x.0/24
  blocks, so that a query sent from a socket bound to 127.0.x.1 (no ECS) comes from a
  known country.
- Client sends queries over one reused UDP socket (bound to a chosen 127.0.0.0/8 source
  address), one at a time or pipelined in bulk, and parses bulk answers with a small
  wire reader (dnspython is used for single queries and whole-answer checks).

Expected decisions are computed here independently of gtm (haversine in Python, the
map written out by hand), so that a wrong decision in gtm-dnsd cannot also be the
expectation.
"""
import ipaddress
import json
import math
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import pytest

from conftest import SRCDIR, Gtmctl
from dnsd_util import EDNS_SIZE, check, start  # noqa: F401 (re-exported)

MAKE_MMDB = SRCDIR / "tests" / "geoip" / "make-mmdb.pl"
ZONE = "example.com."
ECS = 8  # EDNS option code (RFC 7871)
TYPE_A, TYPE_CNAME, TYPE_SOA, TYPE_AAAA, TYPE_OPT = 1, 5, 6, 28, 41

# ---- GeoIP fixtures ---------------------------------------------------------------------


def net(cidr, country=None, continent=None, subdivision=None, lat=None, lon=None):
    """One network of a fixture, as make-mmdb.pl reads it."""
    n = {"net": cidr}
    for k, v in (("country", country), ("continent", continent),
                 ("subdivision", subdivision), ("lat", lat), ("lon", lon)):
        if v is not None:
            n[k] = v
    return n


def make_mmdb(path, networks, ip_version=6, layout="maxmind", alias=True):
    """Writes a .mmdb at path from networks (dicts from net()) with MaxMind's writer."""
    path = Path(path)
    spec = path.with_suffix(path.suffix + ".json")
    spec.write_text(json.dumps({"ip_version": ip_version, "layout": layout, "alias": alias,
                                "networks": networks}))
    p = subprocess.run(["perl", str(MAKE_MMDB), str(spec), str(path)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, f"make-mmdb.pl failed:\n{p.stderr}"
    return path


def replace_atomically(src, dst):
    """Puts src in place of dst with rename(2): readers see the old or the new file."""
    tmp = Path(dst).with_name(Path(dst).name + ".new")
    shutil.copyfile(src, tmp)
    tmp.rename(dst)


# Places (lat, lon) used by the fixtures and the regions.
LONDON, EDINBURGH = (51.51, -0.13), (55.95, -3.19)
BERLIN, FRANKFURT, PARIS = (52.52, 13.40), (50.11, 8.68), (48.86, 2.35)
SAN_FRANCISCO, NEW_YORK, ASHBURN = (37.77, -122.42), (40.71, -74.01), (39.04, -77.49)
TOKYO, SAO_PAULO = (35.68, 139.69), (-23.55, -46.63)
JOHANNESBURG, SYDNEY = (-26.20, 28.05), (-33.87, 151.21)


def _n(cidr, country, continent, subdivision, place):
    return net(cidr, country, continent, subdivision, place[0], place[1])


# The world fixture (an IPv6 tree with IPv4 aliased into it, MaxMind's City layout).
WORLD_NETS = [
    # GB: four adjacent /24s in two subdivisions; mapped by country they merge into
    # 81.2.68.0/22 (its neighbours are empty, which '*' answers differently)
    _n("81.2.68.0/24", "GB", "EU", "ENG", LONDON),
    _n("81.2.69.0/24", "GB", "EU", "ENG", LONDON),
    _n("81.2.70.0/24", "GB", "EU", "SCT", EDINBURGH),
    _n("81.2.71.0/24", "GB", "EU", "SCT", EDINBURGH),
    # DE: two /17s (Berlin, Hesse): one /16 for a decision by country
    _n("89.160.0.0/17", "DE", "EU", "BE", BERLIN),
    _n("89.160.128.0/17", "DE", "EU", "HE", FRANKFURT),
    _n("2.16.0.0/16", "FR", "EU", "IDF", PARIS),
    _n("192.0.2.0/24", "US", "NA", "CA", SAN_FRANCISCO),
    _n("198.51.100.0/24", "US", "NA", "NY", NEW_YORK),
    # a network longer than /24 (the server uses at most 24 bits)
    _n("198.51.101.0/26", "US", "NA", "CA", SAN_FRANCISCO),
    _n("198.51.101.64/26", "US", "NA", "NY", NEW_YORK),
    _n("203.0.113.0/24", "JP", "AS", "13", TOKYO),
    _n("200.160.0.0/16", "BR", "SA", "SP", SAO_PAULO),
    _n("41.0.0.0/16", "ZA", "AF", "GT", JOHANNESBURG),
    _n("1.128.0.0/16", "AU", "OC", "NSW", SYDNEY),
    # source-address clients: a query from 127.0.x.1 comes from these
    _n("127.0.1.0/24", "GB", "EU", "ENG", LONDON),
    _n("127.0.2.0/24", "DE", "EU", "HE", FRANKFURT),
    _n("127.0.3.0/24", "US", "NA", "CA", SAN_FRANCISCO),
    _n("127.0.4.0/24", "JP", "AS", "13", TOKYO),
    _n("127.0.5.0/24", "BR", "SA", "SP", SAO_PAULO),
    _n("127.0.6.0/24", "US", "NA", "NY", NEW_YORK),
    _n("127.0.7.0/24", "FR", "EU", "IDF", PARIS),  # the map overrides it by CIDR
    _n("127.0.8.0/24", "ZA", "AF", "GT", JOHANNESBURG),
    # IPv6
    _n("2001:db8:1::/48", "DE", "EU", "BE", BERLIN),
    _n("2001:db8:2::/48", "US", "NA", "CA", SAN_FRANCISCO),
    _n("2001:db8:3::/48", "JP", "AS", "13", TOKYO),
    _n("2001:db8:4::/48", "GB", "EU", "ENG", LONDON),
    _n("2001:db8:4:100::/56", "GB", "EU", "SCT", EDINBURGH),
    _n("2001:db8:5::/64", "FR", "EU", "IDF", PARIS),  # longer than /56
    _n("2001:db8:6::/48", "BR", "SA", "SP", SAO_PAULO),
]

# Regions: name -> (lat, lon) or None; added in this order.
REGIONS = {
    "eu-west": LONDON,
    "eu-central": FRANKFURT,
    "us-west": SAN_FRANCISCO,
    "us-east": ASHBURN,
    "ap-northeast": TOKYO,
    "sa-east": SAO_PAULO,
    "lab": None,
}
# Pool web: one IPv4 endpoint per region, IPv6 for some (ap-northeast, sa-east and lab
# have none: they are skipped for AAAA).
WEB_V4 = {"eu-west": "10.1.0.1", "eu-central": "10.2.0.1", "us-west": "10.3.0.1",
          "us-east": "10.4.0.1", "ap-northeast": "10.5.0.1", "sa-east": "10.6.0.1",
          "lab": "10.7.0.1"}
WEB_V6 = {"eu-west": "2001:db8:ff:1::1", "eu-central": "2001:db8:ff:2::1",
          "us-west": "2001:db8:ff:3::1", "us-east": "2001:db8:ff:4::1"}
REGION_OF = {**{a: r for r, a in WEB_V4.items()}, **{a: r for r, a in WEB_V6.items()}}
# The geo map: key -> regions in order of preference. AF and OC are left to '*'.
GEO_MAP = {
    "*": ["us-east"],
    "EU": ["eu-central", "eu-west"],
    "GB": ["eu-west", "eu-central"],
    "US-CA": ["us-west", "us-east"],
    "NA": ["us-east", "us-west"],
    "AS": ["ap-northeast", "us-west"],
    "SA": ["sa-east", "us-east"],
    "127.0.7.0/24": ["lab", "eu-west"],
}
# Latency measurements (set one by one) and an imported CSV.
LATENCY_SET = [("DE", "eu-west", "9"), ("DE", "eu-central", "25"),
               ("89.160.128.0/17", "eu-central", "2"), ("JP", "us-west", "40"),
               ("JP", "ap-northeast", "90")]
LATENCY_CSV = "key,region,ms\nUS-CA,us-east,15\nUS-CA,us-west,30.5\n"
# Managed names of the world, by mode.
GEO, LAT, PROX = "geo.example.com.", "lat.example.com.", "prox.example.com."
STATIC = "static.example.com."
STATIC_A = "192.0.2.99"


def haversine_km(a, b):
    """Great-circle distance between two (lat, lon) in degrees (mean Earth radius)."""
    (la1, lo1), (la2, lo2) = a, b
    p1, p2 = math.radians(la1), math.radians(la2)
    dp, dl = p2 - p1, math.radians(lo2 - lo1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def nearest_regions(place, regions=REGIONS):
    """Region names with coordinates, nearest to place first."""
    return sorted((r for r, c in regions.items() if c),
                  key=lambda r: haversine_km(place, regions[r]))


def build_world(g, geo_map=GEO_MAP):
    """Builds the world store with gtmctl g (an initialised store)."""
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    g.run("record", "add", "example.com", "static", "A", "300", STATIC_A)
    for r, c in REGIONS.items():
        g.run("region", "add", r, *(["--lat", c[0], "--lon", c[1]] if c else []))
    g.run("pool", "add", "web")
    for r, a in WEB_V4.items():
        g.run("endpoint", "add", "web", a, "--region", r)
    for r, a in WEB_V6.items():
        g.run("endpoint", "add", "web", a, "--region", r)
    for key, regions in geo_map.items():
        g.run("geo", "map", key, ",".join(regions))
    for key, region, ms in LATENCY_SET:
        g.run("latency", "set", key, region, ms)
    csv = g.db.parent / "latency.csv"
    csv.write_text(LATENCY_CSV)
    g.run("latency", "import", csv)
    g.run("policy", "set", GEO, "--pool", "web", "--mode", "geo")
    g.run("policy", "set", LAT, "--pool", "web", "--mode", "latency")
    g.run("policy", "set", PROX, "--pool", "web", "--mode", "proximity")
    return g


def copy_store(g, dest_dir):
    """A Gtmctl on a copy of g's store (gtmctl leaves no WAL behind when it exits)."""
    dest = Path(dest_dir) / "gtm.db"
    shutil.copyfile(g.db, dest)
    return Gtmctl(dest)


# Test modules import these fixtures, which makes each module's copy a fixture of its
# own: the cache keeps them built once per pytest worker all the same.
_built = {}


def once(key, build):
    if key not in _built:
        _built[key] = build()
    return _built[key]


@pytest.fixture(scope="session")
def world_mmdb(tmp_path_factory):
    """The world's GeoIP database (MaxMind layout, IPv4 inside an IPv6 tree)."""
    return once("world_mmdb", lambda: make_mmdb(tmp_path_factory.mktemp("geoip") /
                                                "world.mmdb", WORLD_NETS))


def _build_world_template(tmp_path_factory):
    g = Gtmctl(tmp_path_factory.mktemp("world") / "gtm.db")
    g.run("init")
    return build_world(g)


@pytest.fixture(scope="session")
def world_template(tmp_path_factory):
    return once("world_template", lambda: _build_world_template(tmp_path_factory))


@pytest.fixture
def world(world_template, tmp_path):
    """The test's own copy of the world store."""
    return copy_store(world_template, tmp_path)


@pytest.fixture
def world_geoip(world_mmdb, tmp_path):
    """The test's own copy of the world's .mmdb (for tests that replace it)."""
    dst = tmp_path / "geo.mmdb"
    shutil.copyfile(world_mmdb, dst)
    return dst


def serve(dnsd, g, *geoip, extra=()):
    """Starts gtm-dnsd on g's store with these GeoIP files."""
    args = [a for f in geoip for a in ("--geoip", f)]
    return start(dnsd, g.db, *args, *extra)


def settle(srv):
    """Makes gtm-dnsd compile the store as it is now: SIGHUP, then its "(forced)"
    reload line (a reload the poller started before the last change could otherwise
    be taken for the one that includes it)."""
    mark = len(srv.log())
    srv.daemon.signal(signal.SIGHUP)
    srv.daemon.wait_log(r"SIGHUP: reloading the store[^\0]*reloaded generation \d+ \(forced\)",
                        timeout=10, start=mark)


def change(srv, g, *args, rc=0):
    """Runs a gtmctl command that changes the store, and waits until gtm-dnsd answers
    from a snapshot that includes it (and every change before it)."""
    p = g.run(*args, rc=rc)
    settle(srv)
    return p


# ---- the store's SOA ----------------------------------------------------------------------


def negative_soa(g, zone="example.com"):
    """The SOA line a negative answer of zone carries now (TTL: min(TTL, MINIMUM))."""
    for line in g.run("zone", "export", zone).stdout.splitlines():
        f = line.split()
        if len(f) >= 11 and f[3] == "SOA":
            return f"{f[0]} {min(int(f[1]), int(f[10]))} IN SOA {' '.join(f[4:])}"
    raise AssertionError(f"no SOA in zone {zone}")


# ---- queries ------------------------------------------------------------------------------


def ecs_bytes(addr, source, scope=0):
    """An ECS option's payload: family, SOURCE, SCOPE, the address cut to SOURCE bits."""
    ip = ipaddress.ip_address(addr)
    bits = 32 if ip.version == 4 else 128
    masked = int(ip) & (((1 << source) - 1) << (bits - source)) if source else 0
    raw = masked.to_bytes(bits // 8, "big")[:(source + 7) // 8]
    return struct.pack("!HBB", 1 if ip.version == 4 else 2, source, scope) + raw


def query(name, qtype="A", ecs=None, edns=True, options=None):
    """A query; ecs (ADDR, SOURCE) adds a client subnet option (EDNS implied)."""
    q = dns.message.make_query(name, qtype)
    opts = list(options or [])
    if ecs is not None:
        opts.append(dns.edns.GenericOption(ECS, ecs_bytes(*ecs)))
    if edns or opts:
        q.use_edns(edns=0, payload=EDNS_SIZE, options=opts)
    return q


def rr(name, rtype, rdata, ttl=30):
    return f"{name} {ttl} IN {rtype} {rdata}"


def addr_rr(name, addr, ttl=30):
    return rr(name, "AAAA" if ":" in addr else "A", addr, ttl)


class Client:
    """A UDP socket bound to a loopback source address, reused for many queries."""

    def __init__(self, srv, source="127.0.0.1", timeout=2.0):
        self.srv = srv
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", srv.port))
        self.timeout = timeout
        self.next_id = 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def exchange(self, wire):
        """Sends one query's bytes; returns the response with its ID."""
        self.sock.settimeout(self.timeout)
        for _ in range(3):
            self.sock.send(wire)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                try:
                    data = self.sock.recv(65535)
                except socket.timeout:
                    break
                if data[:2] == wire[:2]:
                    return data
        raise AssertionError(f"no answer from gtm-dnsd on port {self.srv.port}")

    def ask(self, q):
        """Sends query q (a dnspython message); returns (response, response bytes)."""
        q.id = self.next_id
        self.next_id = self.next_id % 65535 + 1
        wire = self.exchange(q.to_wire())
        return dns.message.from_wire(wire), wire

    def bulk(self, wires, window=48):
        """Sends many queries (bytes; their IDs are rewritten), at most window in
        flight; returns the responses' bytes in the order of wires."""
        out = [None] * len(wires)
        pending = {}  # id -> (index, wire, sent at)
        nxt = 0
        ids = iter(range(1 << 62))
        self.sock.settimeout(0.5)
        retries = 0
        while nxt < len(wires) or pending:
            while nxt < len(wires) and len(pending) < window:
                qid = next(ids) % 65536
                while qid in pending:
                    qid = next(ids) % 65536
                w = struct.pack("!H", qid) + wires[nxt][2:]
                pending[qid] = (nxt, w)
                self.sock.send(w)
                nxt += 1
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                retries += 1
                assert retries < 20, f"{len(pending)} queries unanswered"
                for qid, (_, w) in pending.items():
                    self.sock.send(w)
                continue
            qid = struct.unpack("!H", data[:2])[0]
            if qid in pending and out[pending[qid][0]] is None:
                out[pending.pop(qid)[0]] = data
        return out


# ---- a small reader for bulk answers ------------------------------------------------------


def _skip_name(w, pos):
    while True:
        n = w[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += n + 1


class Fast:
    """What a bulk test needs from a response: rcode, AA, answer records as
    (type, ttl, text), and the ECS option (family, source, scope, address bytes)."""
    __slots__ = ("rcode", "aa", "answer", "ecs", "nauth")

    def __init__(self, w):
        flags, qd, an, ns, ar = struct.unpack("!HHHHH", w[2:12])
        self.aa = bool(flags & 0x0400)
        rcode = flags & 0xF
        pos = 12
        for _ in range(qd):
            pos = _skip_name(w, pos) + 4
        self.answer = []
        self.ecs = None
        self.nauth = ns
        for i in range(an + ns + ar):
            pos = _skip_name(w, pos)
            rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", w[pos:pos + 10])
            pos += 10
            rdata = w[pos:pos + rdlen]
            if i < an:
                if rtype == TYPE_A:
                    text = socket.inet_ntop(socket.AF_INET, rdata)
                elif rtype == TYPE_AAAA:
                    text = socket.inet_ntop(socket.AF_INET6, rdata)
                elif rtype == TYPE_CNAME:
                    text = dns.name.from_wire(w, pos)[0].to_text()
                else:
                    text = rdata.hex()
                self.answer.append((rtype, ttl, text))
            elif i >= an + ns and rtype == TYPE_OPT:
                rcode |= (ttl >> 24) << 4
                o = 0
                while o + 4 <= rdlen:
                    code, olen = struct.unpack("!HH", rdata[o:o + 4])
                    if code == ECS:
                        fam, src, scope = struct.unpack("!HBB", rdata[o + 4:o + 8])
                        self.ecs = (fam, src, scope, bytes(rdata[o + 8:o + 4 + olen]))
                    o += 4 + olen
            pos += rdlen
        self.rcode = rcode

    @property
    def addrs(self):
        return [t for (ty, _, t) in self.answer if ty in (TYPE_A, TYPE_AAAA)]

    @property
    def scope(self):
        return self.ecs[2] if self.ecs else None


def bulk_ask(client, queries, window=48):
    """Sends dnspython queries in bulk; returns a Fast for each response."""
    return [Fast(w) for w in client.bulk([q.to_wire() for q in queries], window=window)]



# ---- checking whole answers ---------------------------------------------------------------


def expect(client, q, answer=(), authority=(), rcode=dns.rcode.NOERROR, aa=True, scope=None,
           ecs_echo=True):
    """Sends q through client and asserts the whole response (dnsd_util.check): rcode,
    flags, the records with their TTLs, and the OPT record. When q carries an ECS
    option the response must echo it with family, SOURCE and address as sent and the
    given SCOPE (scope=None: any scope, which is returned)."""
    r, wire = client.ask(q)
    opts = []
    sent = [o for o in q.options if o.otype == ECS]
    got_scope = None
    if sent and ecs_echo:
        got = [o for o in r.options if o.otype == ECS]
        assert len(got) == 1, f"ECS option not echoed exactly once:\n{r}"
        got_wire = got[0].to_wire()
        got_scope = got_wire[3]
        want = sent[0].to_wire()
        assert got_wire[:3] + got_wire[4:] == want[:3] + want[4:], \
            f"ECS option not echoed as sent: {got_wire.hex()} for {want.hex()}\n{r}"
        assert scope is None or got_scope == scope, \
            f"ECS scope /{got_scope}, expected /{scope}\n{r}"
        want = want[:3] + bytes([got_scope if scope is None else scope]) + want[4:]
        opts = [(ECS, want)]
    check(q, wire, rcode=rcode, aa=aa, answer=answer, authority=authority, edns_options=opts)
    return r, got_scope


def each(cases, fn):
    """Runs fn(case) for every case and fails with every case that failed (not only
    the first), so that one server can be asked many questions in one test."""
    failures = []
    for case in cases:
        try:
            fn(case)
        except AssertionError as e:
            failures.append(f"--- {case}:\n{e}")
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + \
        "\n".join(failures)


# ---- gtmctl explain -----------------------------------------------------------------------


def explain(g, name, *args, geoip=()):
    """gtmctl explain NAME ARGS... with the GeoIP files; returns its stdout."""
    extra = [a for f in geoip for a in ("--geoip", f)]
    return g.run("explain", name, *args, *extra).stdout


def explain_batch(g, name, clients, path, qtype="A", geoip=()):
    """gtmctl explain NAME TYPE --batch FILE: {client: (answers list, scope)}."""
    Path(path).write_text("".join(c + "\n" for c in clients))
    out = explain(g, name, qtype, "--batch", path, geoip=geoip)
    res = {}
    for line in out.splitlines():
        client, answer, scope = line.split("\t")
        res[client] = ([] if answer == "NODATA" else answer.split(","), int(scope))
    return res


def log_lines(srv, pattern):
    return [line for line in srv.log().splitlines() if re.search(pattern, line)]
