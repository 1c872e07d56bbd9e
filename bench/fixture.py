#!/usr/bin/env python3
"""bench/fixture.py world OUTDIR [options] — the geo half of the benchmark fixture.

Writes, from one seed, everything the managed-name benchmarks need, so that gtm-dnsd and
gdnsd are given the same world and asked the same questions (bench/peers.sh, bench/run.sh):

  geoip.json     networks for tests/geoip/make-mmdb.pl (MaxMind's own writer): IPv4
                 (inside an IPv6 tree, aliased as GeoLite2 is) and IPv6 networks of
                 /16 to /24 (IPv6 /32 to /48) in a few dozen countries on every
                 continent, with subdivisions and coordinates, and holes between them
  gtmctl.cmds    one gtmctl command a line: three regions, pool "web" (one IPv4
                 endpoint per region), the geo map (continents, countries, one
                 subdivision, CIDR overrides, '*'), and a geo policy on each managed name
  gdnsd.plugins  the same decision for gdnsd's geoip plugin (a map nested continent >
                 country > subdivision, "nets" for the CIDR overrides, one resource)
  gdnsd.dyna     the managed names as gdnsd DYNA records (zone file lines)
  geo.wire       dnsperf -B queries (2-byte length, then the message): A queries for the
                 managed names, each with an EDNS Client Subnet option from a client
                 subnet spread over the fixture's networks (/24 for IPv4, /56 for IPv6;
                 a few from addresses in no network)
  mix.wire       the static queries, the geo queries and 10% NXDOMAIN names, shuffled
  geo.expect, mix.expect
                 per query of the .wire file, one tab-separated line: index, name,
                 type, ECS client (or -), expected rcode and addresses (* for a static
                 name: any, compared between servers elsewhere); computed here
                 from the networks and the map written out below, independently of
                 either server
  summary.txt    counts: networks, distinct client subnets, queries per kind

Standard library only. The same arguments always give the same files.
"""
import argparse
import ipaddress
import json
import random
import struct
import sys
from pathlib import Path

# ---- the world ----------------------------------------------------------------------------

# (ISO code, continent, lat, lon, weight, subdivisions): where networks are placed.
COUNTRIES = [
    ("US", "NA", 39.8, -98.6, 30, ["CA", "NY", "TX", "WA", "VA", "HI"]),
    ("CA", "NA", 56.1, -106.3, 4, ["ON", "QC", "BC"]),
    ("MX", "NA", 23.6, -102.6, 3, ["CMX", "JAL"]),
    ("BR", "SA", -14.2, -51.9, 5, ["SP", "RJ"]),
    ("AR", "SA", -38.4, -63.6, 2, ["B", "C"]),
    ("CL", "SA", -35.7, -71.5, 1, ["RM"]),
    ("DE", "EU", 51.2, 10.5, 8, ["BE", "HE", "BY"]),
    ("GB", "EU", 55.4, -3.4, 7, ["ENG", "SCT"]),
    ("FR", "EU", 46.2, 2.2, 6, ["IDF", "ARA"]),
    ("NL", "EU", 52.1, 5.3, 4, ["NH"]),
    ("IT", "EU", 41.9, 12.6, 4, ["62", "25"]),
    ("ES", "EU", 40.5, -3.7, 3, ["MD", "CT"]),
    ("PL", "EU", 51.9, 19.1, 3, ["14"]),
    ("SE", "EU", 60.1, 18.6, 2, ["AB"]),
    ("RU", "EU", 61.5, 105.3, 5, ["MOW", "SPE"]),
    ("UA", "EU", 48.4, 31.2, 2, ["30"]),
    ("CN", "AS", 35.9, 104.2, 10, ["BJ", "SH", "GD"]),
    ("JP", "AS", 36.2, 138.3, 6, ["13", "27"]),
    ("KR", "AS", 35.9, 127.8, 4, ["11"]),
    ("IN", "AS", 20.6, 79.0, 6, ["MH", "KA", "DL"]),
    ("SG", "AS", 1.35, 103.8, 2, []),
    ("ID", "AS", -0.8, 113.9, 3, ["JK"]),
    ("VN", "AS", 14.1, 108.3, 2, ["SG"]),
    ("IL", "AS", 31.0, 34.9, 1, ["TA"]),
    ("AE", "AS", 23.4, 53.8, 1, ["DU"]),
    ("TR", "AS", 39.0, 35.2, 2, ["34"]),
    ("AU", "OC", -25.3, 133.8, 4, ["NSW", "VIC"]),
    ("NZ", "OC", -40.9, 174.9, 1, ["AUK"]),
    ("ZA", "AF", -30.6, 22.9, 2, ["GT", "WC"]),
    ("NG", "AF", 9.1, 8.7, 2, ["LA"]),
    ("EG", "AF", 26.8, 30.8, 2, ["C"]),
    ("KE", "AF", -0.02, 37.9, 1, ["110"]),
]
CONTINENT_OF = {c[0]: c[1] for c in COUNTRIES}

# Regions (gtm) = datacenters (gdnsd), with the address each answers. One IPv4
# endpoint per region: both servers answer the first region of the client's list.
REGIONS = {
    "eu-central": ((50.11, 8.68), "198.51.100.10"),
    "us-east": ((39.04, -77.49), "198.51.100.20"),
    "ap-southeast": ((1.35, 103.82), "198.51.100.30"),
}
EU, US, AP = "eu-central", "us-east", "ap-southeast"
# The geo map: continent, then country, then subdivision; '*' for everyone else.
GEO_MAP = {
    "*": [US, EU, AP],
    "EU": [EU, US],
    "AF": [EU, US],
    "NA": [US, EU],
    "SA": [US, EU],
    "AS": [AP, US],
    "OC": [AP, US],
    # countries whose answer differs from their continent's
    "IN": [EU, AP],
    "AE": [EU, AP],
    "IL": [EU, US],
    "TR": [EU, AP],
    "RU": [EU, AP],
    "MX": [US],
    # a subdivision: Hawaii is nearer Asia's region than Virginia is
    "US-HI": [AP, US],
}
# CIDR overrides (filled in by make_world: blocks inside the fixture's networks,
# sent to a region their location would not get).
N_OVERRIDES_V4, N_OVERRIDES_V6 = 6, 2

TTL = 30  # of the managed answers, in both servers
POOL = "web"
ECS_OPT = 8  # EDNS option code (RFC 7871)
EDNS_SIZE = 1232


def is_public_v4_16(a, b):
    """Is a.b.0.0/16 ordinary unicast space (no loopback, private, shared, test or
    multicast block in it)?"""
    if a in (0, 10, 100, 127, 169, 172, 192, 198, 203) or a >= 224:
        return False
    return True


class World:
    def __init__(self, seed, n_networks, v6_share):
        self.rng = random.Random(seed)
        self.nets = []  # (ipaddress network, country, subdivision or None, lat, lon)
        self.overrides = {}  # network -> region list
        self._make_v4(int(n_networks * (1 - v6_share)))
        self._make_v6(n_networks - len(self.nets))
        self.nets.sort(key=lambda n: (n[0].version, n[0].network_address))
        self._make_overrides()
        # lookup tables: prefix length -> {network int: entry}
        self.by_len = {4: {}, 6: {}}
        for n in self.nets:
            self.by_len[n[0].version].setdefault(n[0].prefixlen, {})[
                int(n[0].network_address)] = n

    def location(self):
        rng = self.rng
        c = rng.choices(COUNTRIES, [c[4] for c in COUNTRIES])[0]
        sub = rng.choice(c[5]) if c[5] and rng.random() < 0.85 else None
        return c[0], sub, round(c[2] + rng.uniform(-3, 3), 4), round(c[3] + rng.uniform(-3, 3), 4)

    def _split(self, net, minlen, maxlen, loc, out, depth=0):
        """Cuts net into a few networks (some left empty): neighbours mostly share a
        location, as an ISP's blocks do."""
        rng = self.rng
        if net.prefixlen >= maxlen or (net.prefixlen >= minlen and rng.random() < 0.45):
            r = rng.random()
            if r < 0.12:
                return  # a hole: no data
            if r < 0.40:
                loc = self.location()
            out.append((net,) + loc)
            return
        for half in net.subnets(1):
            self._split(half, minlen, maxlen, loc, out, depth + 1)

    def _make_v4(self, want):
        rng = self.rng
        used = set()
        while len(self.nets) < want:
            a, b = rng.randrange(1, 224), rng.randrange(256)
            if (a, b) in used or not is_public_v4_16(a, b):
                continue
            used.add((a, b))
            net = ipaddress.ip_network(f"{a}.{b}.0.0/16")
            if rng.random() < 0.35:
                self.nets.append((net,) + self.location())
            else:
                self._split(net, 17, 24, self.location(), self.nets)
        del self.nets[want:]

    def _make_v6(self, want):
        rng = self.rng
        used = set()
        bases = [0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00]
        out = []
        while len(out) < want:
            top = rng.choice(bases) | rng.randrange(16)
            second = rng.randrange(1 << 16)
            if (top, second) in used:
                continue
            used.add((top, second))
            net = ipaddress.ip_network(f"{top:x}:{second:x}::/32")
            self._split(net, 36, 48, self.location(), out)
        self.nets.extend(out[:want])

    def _make_overrides(self):
        """CIDR keys inside networks of the fixture, each sent to a region other than
        the one its location gets."""
        rng = self.rng
        for version, count in ((4, N_OVERRIDES_V4), (6, N_OVERRIDES_V6)):
            cands = [n for n in self.nets if n[0].version == version and
                     n[0].prefixlen <= (20 if version == 4 else 40)]
            for n in rng.sample(cands, count):
                plen = n[0].prefixlen + rng.randrange(1, 4)
                sub = rng.choice(list(n[0].subnets(new_prefix=plen)))
                first = self.regions_of(n)[0]
                other = [r for r in REGIONS if r != first]
                self.overrides[sub] = rng.sample(other, 2)

    @staticmethod
    def regions_of(entry):
        """The map's region list for a network's location (no CIDR override)."""
        _net, country, sub, _lat, _lon = entry
        for key in ((f"{country}-{sub}" if sub else None), country, CONTINENT_OF[country]):
            if key and key in GEO_MAP:
                return GEO_MAP[key]
        return GEO_MAP["*"]

    def lookup(self, net):
        """The fixture network holding client subnet net, or None."""
        a = int(net.network_address)
        bits = 32 if net.version == 4 else 128
        for plen in sorted(self.by_len[net.version], reverse=True):
            if plen > net.prefixlen:
                continue
            base = a & (((1 << plen) - 1) << (bits - plen))
            hit = self.by_len[net.version][plen].get(base)
            if hit:
                return hit
        return None

    def decide(self, net):
        """The region list for client subnet net: the longest CIDR override holding it,
        else its location's map entry, else '*'."""
        best = None
        for o, regions in self.overrides.items():
            if o.version == net.version and net.subnet_of(o) and (
                    best is None or o.prefixlen > best[0].prefixlen):
                best = (o, regions)
        if best:
            return best[1]
        hit = self.lookup(net)
        return self.regions_of(hit) if hit else GEO_MAP["*"]

    def client(self):
        """A client subnet: mostly a /24 (/56) inside a random network, some in none."""
        rng = self.rng
        if rng.random() < 0.04:
            while True:  # an address in no network of the fixture: the '*' entry
                a = rng.randrange(1, 224)
                if a in (10, 127):
                    continue
                net = ipaddress.ip_network(f"{a}.{rng.randrange(256)}.{rng.randrange(256)}.0/24")
                if not self.lookup(net):
                    return net
        entry = rng.choice(self.nets)
        n = entry[0]
        want = 24 if n.version == 4 else 56
        bits = 32 if n.version == 4 else 128
        k = want - n.prefixlen
        base = int(n.network_address) + (rng.randrange(1 << k) << (bits - want))
        return ipaddress.ip_network((base, want))


# ---- wire format ---------------------------------------------------------------------------


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


QTYPES = {"A": 1, "AAAA": 28, "MX": 15, "TXT": 16, "NS": 2, "SOA": 6, "CNAME": 5, "SRV": 33}


def wire_query(name, qtype, ecs=None, edns=False):
    """A query as dnsperf's text mode sends it (RD set, ID rewritten by dnsperf), with an
    OPT record carrying an ECS option for ecs (an ipaddress network)."""
    msg = struct.pack("!HHHHHH", 0, 0x0100, 1, 0, 0, 1 if (ecs or edns) else 0)
    msg += wire_name(name) + struct.pack("!HH", QTYPES[qtype], 1)
    if ecs or edns:
        rdata = b""
        if ecs:
            family = 1 if ecs.version == 4 else 2
            raw = ecs.network_address.packed[:(ecs.prefixlen + 7) // 8]
            opt = struct.pack("!HBB", family, ecs.prefixlen, 0) + raw
            rdata = struct.pack("!HH", ECS_OPT, len(opt)) + opt
        msg += b"\0" + struct.pack("!HHIH", 41, EDNS_SIZE, 0, len(rdata)) + rdata
    return struct.pack("!H", len(msg)) + msg


# ---- output --------------------------------------------------------------------------------


def gdnsd_map_text(world, mmdb):
    """The geoip plugin stanza: GEO_MAP nested by continent > country > subdivision."""
    tree = {}
    for key, regions in GEO_MAP.items():
        if key == "*":
            continue
        if len(key) == 2 and key in CONTINENT_OF:  # a country
            tree.setdefault(CONTINENT_OF[key], {}).setdefault(key, {})["default"] = regions
        elif "-" in key:
            country, sub = key.split("-", 1)
            tree.setdefault(CONTINENT_OF[country], {}).setdefault(country, {})[sub] = regions
        else:  # a continent
            tree.setdefault(key, {})["default"] = regions

    def emit(node, indent):
        lines = []
        for k, v in node.items():
            if isinstance(v, dict):
                lines.append(f"{indent}{k} => {{")
                lines.extend(emit(v, indent + "  "))
                lines.append(f"{indent}}}")
            else:
                lines.append(f"{indent}{k} => [ {', '.join(v)} ]")
        return lines

    dcs = ", ".join(REGIONS)
    nets = "\n".join(f"          {n} => [ {', '.join(r)} ]"
                     for n, r in sorted(world.overrides.items(), key=str))
    body = "\n".join(emit(tree, "          "))
    dcmap = "\n".join(f"          {r} => {a}" for r, (_c, a) in REGIONS.items())
    return f"""plugins => {{
  geoip => {{
    maps => {{
      m => {{
        geoip2_db => "{mmdb}"
        datacenters => [ {dcs} ]
        nets => {{
{nets}
        }}
        map => {{
          default => [ {', '.join(GEO_MAP['*'])} ]
{body}
        }}
      }}
    }}
    resources => {{
      {POOL} => {{
        map => m
        dcmap => {{
{dcmap}
        }}
      }}
    }}
  }}
}}
"""


def cmd_world(args):
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    zone = args.zone.rstrip(".")
    world = World(args.seed, args.networks, args.v6_share)
    rng = random.Random(args.seed + 1)

    spec = {"ip_version": 6, "layout": "maxmind", "alias": True, "networks": [
        {"net": str(n), "country": c, "continent": CONTINENT_OF[c], **({"subdivision": s} if s else {}),
         "lat": lat, "lon": lon} for n, c, s, lat, lon in world.nets]}
    (out / "geoip.json").write_text(json.dumps(spec))

    names = [f"geo{i}.{zone}" for i in range(args.names)]
    cmds = []
    for r, ((lat, lon), _a) in REGIONS.items():
        cmds.append(f"region add {r} --lat {lat} --lon {lon}")
    cmds.append(f"pool add {POOL}")
    for r, (_c, a) in REGIONS.items():
        cmds.append(f"endpoint add {POOL} {a} --region {r}")
    for key, regions in list(GEO_MAP.items()) + [(str(n), r) for n, r in world.overrides.items()]:
        cmds.append(f"geo map {key} {','.join(regions)}")
    for n in names:
        cmds.append(f"policy set {n} --pool {POOL} --mode geo --ttl {TTL}")
    (out / "gtmctl.cmds").write_text("\n".join(cmds) + "\n")

    (out / "gdnsd.plugins").write_text(gdnsd_map_text(world, Path(args.mmdb).resolve()))
    (out / "gdnsd.dyna").write_text(
        "; managed names (bench/fixture.py)\n" +
        "".join(f"{n.split('.')[0]} {TTL} DYNA geoip!{POOL}\n" for n in names))

    address = {r: a for r, (_c, a) in REGIONS.items()}

    def geo_query():
        name = rng.choice(names)
        net = world.client()
        return (name, "A", net, "NOERROR", address[world.decide(net)[0]])

    geo = [geo_query() for _ in range(args.queries)]
    static = []
    for line in Path(args.static_queries).read_text().splitlines():
        if line.strip():
            qname, qtype = line.split()
            static.append((qname, qtype))
    mix = []
    for _ in range(args.queries):
        r = rng.random()
        if r < 0.10:
            mix.append((f"nx-{rng.randrange(1 << 32):08x}.{zone}", "A", None, "NXDOMAIN", ""))
        elif r < 0.55:
            qname, qtype = rng.choice(static)
            # "*": any answer (bench/peers.sh compares static answers between servers)
            mix.append((qname, qtype, None, "NOERROR", "*"))
        else:
            mix.append(geo_query())
    for fname, queries in (("geo", geo), ("mix", mix)):
        with open(out / f"{fname}.wire", "wb") as w, open(out / f"{fname}.expect", "w") as e:
            for i, (qname, qtype, net, rcode, addrs) in enumerate(queries):
                w.write(wire_query(qname, qtype, net))
                e.write(f"{i}\t{qname}\t{qtype}\t{net or '-'}\t{rcode}\t{addrs}\n")

    v4 = sum(1 for n in world.nets if n[0].version == 4)
    subnets = {q[2] for q in geo}
    firsts = {}
    for q in geo:
        firsts[q[4]] = firsts.get(q[4], 0) + 1
    summary = [
        f"networks\t{len(world.nets)} ({v4} IPv4 /16-/24, {len(world.nets) - v4} IPv6 /32-/48)",
        f"countries\t{len({n[1] for n in world.nets})} on {len({CONTINENT_OF[n[1]] for n in world.nets})} continents",
        f"geo map\t{len(GEO_MAP)} keys + {len(world.overrides)} CIDR overrides",
        f"managed names\t{len(names)} ({names[0]} ...), geo policy over {len(REGIONS)} regions, TTL {TTL}",
        f"geo queries\t{len(geo)} with ECS from {len(subnets)} distinct client subnets "
        f"({sum(1 for s in subnets if s.version == 4)} IPv4 /24, "
        f"{sum(1 for s in subnets if s.version == 6)} IPv6 /56); expected answers: " +
        ", ".join(f"{a} {c}" for a, c in sorted(firsts.items())),
        f"mix queries\t{len(mix)}: {sum(1 for q in mix if q[2])} geo with ECS, "
        f"{sum(1 for q in mix if q[3] == 'NXDOMAIN')} NXDOMAIN, "
        f"{sum(1 for q in mix if not q[2] and q[3] == 'NOERROR')} static",
    ]
    (out / "summary.txt").write_text("\n".join(summary) + "\n")
    print("\n".join(summary))


def main():
    ap = argparse.ArgumentParser(prog="fixture.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("world", help="the geo fixture (see the module's docstring)")
    p.add_argument("outdir")
    p.add_argument("--zone", default="bench.example")
    p.add_argument("--mmdb", required=True, help="where the .mmdb will be (for gdnsd's config)")
    p.add_argument("--static-queries", required=True, help="dnsperf text file of static names")
    p.add_argument("--networks", type=int, default=4000)
    p.add_argument("--v6-share", type=float, default=0.15)
    p.add_argument("--queries", type=int, default=20000)
    p.add_argument("--names", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(fn=cmd_world)
    args = ap.parse_args()
    if args.cmd == "world" and not (100 <= args.networks <= 1000000):
        ap.error("--networks: 100 to 1000000")
    args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
