#!/usr/bin/env python3
"""bench/mkcity.py OUT.mmdb [--v4 N] [--v6 N] [--locations N] [--seed S] [--check N]
   bench/mkcity.py --verify OUT.mmdb   (checks OUT.mmdb.check with mmdblookup)

A GeoLite2-City-sized GeoIP database for bench/scale.sh: millions of networks, IPv4 and
IPv6, in MaxMind's City layout (continent, country, registered_country, subdivisions,
city, location with coordinates, accuracy radius and time zone, postal code; names in
several languages), with a realistic number of distinct locations. MaxMind's own writer
(tests/geoip/make-mmdb.pl) takes about 0.3 ms a network, an hour and many GB for a
City-sized tree, so this writes the MaxMind DB format (spec 2.0) directly:

  search tree   an IPv6 tree, 28-bit records; IPv4 under ::/96 as GeoLite2 has it, with
                ::ffff:0:0/96 and 2002::/16 aliased to the IPv4 subtree (as MaxMind's
                writer does with alias_ipv6_to_ipv4)
  data section  one map per (location, accuracy radius); every repeated value (a
                country's map, a key, a name) written once and pointed to, as MaxMind's
                writer does
  metadata      node_count, record_size 28, ip_version 6, database_type GeoLite2-City,
                languages, description, build_epoch

Networks are disjoint, in allocation blocks (an ISP's /16, an IPv6 /32) cut into pieces
of the prefix lengths GeoLite2 has (IPv4 mostly /20 to /24 and a tail to /32, IPv6 /32
to /64) and spread over the public address space with holes between them. With --check N it writes OUT.check: N sampled addresses with the country,
subdivision, city, coordinates and network the database must return (and some in holes, which it
must not find); --verify looks each one up with mmdblookup (Debian mmdb-bin, MaxMind's
libmaxminddb) and fails on any difference.

Standard library only; the same arguments always give the same file. About 2 minutes
and 3 GB of memory for the default 3.5 million networks.
"""
import argparse
import array
import random
import struct
import subprocess
import sys
import zlib
import time
from pathlib import Path

LANGS = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"]

# continent -> (code, geoname_id, lat range, lon range, time zone prefix)
CONTINENTS = {
    "AF": (6255146, (-34, 35), (-17, 50), "Africa"),
    "AN": (6255152, (-85, -65), (-180, 180), "Antarctica"),
    "AS": (6255147, (-10, 55), (35, 145), "Asia"),
    "EU": (6255148, (36, 70), (-10, 40), "Europe"),
    "NA": (6255149, (10, 65), (-165, -55), "America"),
    "OC": (6255151, (-45, -5), (110, 180), "Australia"),
    "SA": (6255150, (-55, 12), (-80, -35), "America"),
}
CONTINENT_NAMES = {"AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
                   "NA": "North America", "OC": "Oceania", "SA": "South America"}

# Every country code with its continent (MaxMind's assignment, as geo/countries.c), and a
# weight: the big allocators get most networks, as in the real database.
COUNTRY_CONTINENT = (
    "ADEU AEAS AFAS AGNA AINA ALEU AMAS AOAF AQAN ARSA ASOC ATEU AUOC AWNA AXEU AZAS BAEU BBNA "
    "BDAS BEEU BFAF BGEU BHAS BIAF BJAF BLNA BMNA BNAS BOSA BQNA BRSA BSNA BTAS BWAF BYEU BZNA "
    "CANA CDAF CFAF CGAF CHEU CIAF CKOC CLSA CMAF CNAS COSA CRNA CUNA CVAF CWNA CYAS CZEU DEEU "
    "DJAF DKEU DMNA DONA DZAF ECSA EEEU EGAF ERAF ESEU ETAF FIEU FJOC FMOC FOEU FREU GAAF GBEU "
    "GDNA GEAS GFSA GGEU GHAF GIEU GLNA GMAF GNAF GPNA GQAF GREU GTNA GUOC GWAF GYSA HKAS HNNA "
    "HREU HTNA HUEU IDAS IEEU ILAS IMEU INAS IQAS IRAS ISEU ITEU JEEU JMNA JOAS JPAS KEAF KGAS "
    "KHAS KIOC KMAF KNNA KPAS KRAS KWAS KYNA KZAS LAAS LBAS LCNA LIEU LKAS LRAF LSAF LTEU LUEU "
    "LVEU LYAF MAAF MCEU MDEU MEEU MFNA MGAF MHOC MKEU MLAF MMAS MNAS MOAS MPOC MQNA MRAF MSNA "
    "MTEU MUAF MVAS MWAF MXNA MYAS MZAF NAAF NCOC NEAF NFOC NGAF NINA NLEU NOEU NPAS NROC NUOC "
    "NZOC OMAS PANA PESA PFOC PGOC PHAS PKAS PLEU PMNA PROC PRNA PSAS PTEU PWOC PYSA QAAS REAF "
    "ROEU RSEU RUEU RWAF SAAS SBOC SCAF SDAF SEEU SGAS SIEU SKEU SLAF SMEU SNAF SOAF SRSA SSAF "
    "STAF SVNA SXNA SYAS SZAF TCNA TDAF TGAF THAS TJAS TLAS TMAS TNAF TOOC TRAS TTNA TVOC TWAS "
    "TZAF UAEU UGAF USNA UYSA UZAS VAEU VCNA VESA VGNA VINA VNAS VUOC WSOC XKEU YEAS ZAAF ZMAF "
    "ZWAF").split()
BIG = {"US": 300, "CN": 60, "JP": 40, "DE": 40, "GB": 35, "FR": 30, "KR": 25, "BR": 25,
       "CA": 20, "IT": 20, "RU": 20, "NL": 18, "IN": 18, "AU": 15, "ES": 12, "SE": 10,
       "PL": 10, "MX": 8, "TW": 8, "CH": 8, "ID": 6, "TR": 6, "UA": 6, "ZA": 5, "AR": 5}

# Networks come in allocations, as the address space is handed out: a block (an ISP's
# /16, an IPv6 /32) is cut into networks by halving it again and again, each half
# stopping with a probability that depends on its prefix length, so that the block is
# covered (a few pieces left empty) and neighbours share the tree's paths as in the real
# database. Block prefix lengths (weights):
V4_BLOCKS = [(12, 5), (13, 10), (14, 30), (15, 50), (16, 300), (17, 100), (18, 100), (20, 100),
             (22, 50), (24, 50)]
V6_BLOCKS = [(26, 2), (29, 20), (32, 70), (36, 5), (40, 5)]
HOLE = 0.03  # share of a block's pieces left without data


def stop_v4(plen):
    """Probability that an IPv4 piece of this prefix is not halved again: most networks
    end up /20 to /24, a tail down to /32 (2.8 million average ~700 addresses, about 2
    of the 3.5 billion public addresses; a fifth are longer than /24)."""
    if plen >= 32:
        return 1.0
    return {12: .02, 13: .03, 14: .04, 15: .06, 16: .08, 17: .1, 18: .12, 19: .15, 20: .2,
            21: .25, 22: .3, 23: .35, 24: .8}.get(plen, .65)


def stop_v6(plen):
    """The same for IPv6: about 10 networks a block, /32 to /48 mostly, some /56, /64."""
    if plen >= 64:
        return 1.0
    if plen < 32:
        return 0.2
    if plen < 48:
        return 0.55
    return {48: .75, 56: .7}.get(plen, .5)


RADII = [1, 5, 10, 20, 50, 100, 200, 500, 1000]

# ---- the MaxMind DB data section ----------------------------------------------------------

T_PTR, T_STR, T_DOUBLE, T_BYTES, T_U16, T_U32, T_MAP = 1, 2, 3, 4, 5, 6, 7
T_U64, T_ARRAY = 9, 11


class Data:
    """The data section: values are encoded once; a value whose bytes were written
    before becomes a pointer to them (MaxMind's writer deduplicates the same way)."""

    def __init__(self, dedup=True):
        self.buf = bytearray()
        self.seen = {}  # encoded bytes -> offset
        self.dedup = dedup  # False: plain values, no pointers (the metadata section)

    @staticmethod
    def ctrl(t, size):
        if size < 29:
            s, extra = size, b""
        elif size < 285:
            s, extra = 29, bytes([size - 29])
        elif size < 65821:
            s, extra = 30, (size - 285).to_bytes(2, "big")
        else:
            s, extra = 31, (size - 65821).to_bytes(3, "big")
        if t <= 7:
            return bytes([(t << 5) | s]) + extra
        return bytes([s, t - 7]) + extra

    @staticmethod
    def pointer(off):
        if off < 2048:
            return bytes([0x20 | (off >> 8), off & 0xFF])
        off2 = off - 2048
        if off2 < 524288:
            return bytes([0x28 | (off2 >> 16)]) + (off2 & 0xFFFF).to_bytes(2, "big")
        off3 = off - 526336
        if off3 < 134217728:
            return bytes([0x30 | (off3 >> 24)]) + (off3 & 0xFFFFFF).to_bytes(3, "big")
        return bytes([0x38]) + off.to_bytes(4, "big")

    def enc(self, v):
        """The bytes of v as it appears inside another value (maybe a pointer)."""
        if isinstance(v, str):
            b = v.encode()
            raw = self.ctrl(T_STR, len(b)) + b
        elif isinstance(v, float):
            raw = self.ctrl(T_DOUBLE, 8) + struct.pack(">d", v)
        elif isinstance(v, tuple):  # (type, int): an unsigned integer of that type
            t, n = v
            b = n.to_bytes((n.bit_length() + 7) // 8, "big")
            return self.ctrl(t, len(b)) + b
        elif isinstance(v, dict):
            raw = self.ctrl(T_MAP, len(v)) + b"".join(
                self.enc(k) + self.enc(x) for k, x in v.items())
        elif isinstance(v, list):
            raw = self.ctrl(T_ARRAY, len(v)) + b"".join(self.enc(x) for x in v)
        else:
            raise TypeError(v)
        if len(raw) <= 3 or not self.dedup:
            return raw
        off = self.seen.get(raw)
        if off is None:
            off = len(self.buf)
            self.buf += raw
            self.seen[raw] = off
        return self.pointer(off)

    def add(self, v):
        """Writes a top-level record; returns its offset (the tree points at it)."""
        b = self.enc(v)
        if b[0] >> 5 == T_PTR:  # written before: decode our own pointer
            return self._ptr_value(b)
        off = len(self.buf)
        self.buf += b
        return off

    @staticmethod
    def _ptr_value(b):
        ss = (b[0] >> 3) & 3
        vvv = b[0] & 7
        if ss == 0:
            return (vvv << 8) | b[1]
        if ss == 1:
            return ((vvv << 16) | int.from_bytes(b[1:3], "big")) + 2048
        if ss == 2:
            return ((vvv << 24) | int.from_bytes(b[1:4], "big")) + 526336
        return int.from_bytes(b[1:5], "big")


# ---- the world ----------------------------------------------------------------------------


def make_locations(rng, n):
    """n locations: (country, continent, subdivision, city, lat, lon, tz, postal, ids)."""
    countries = [(c[:2], c[2:]) for c in COUNTRY_CONTINENT]
    weights = [BIG.get(c, 1) for c, _ in countries]
    # a country's centre, inside its continent's box; subdivisions and cities near it
    centre = {}
    for c, cont in countries:
        _gid, la, lo, _tz = CONTINENTS[cont]
        centre[c] = (rng.uniform(*la), rng.uniform(*lo))
    locs = []
    for i in range(n):
        c, cont = rng.choices(countries, weights)[0]
        la, lo = centre[c]
        sub = f"{rng.randrange(1, 60):02d}" if rng.random() < 0.5 else \
            "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice([1, 2, 3])))
        lat = max(-89.9, min(89.9, round(la + rng.gauss(0, 4), 4)))
        lon = round((lo + rng.gauss(0, 6) + 180) % 360 - 180, 4)
        tz = f"{CONTINENTS[cont][3]}/Zone{rng.randrange(40)}"
        postal = f"{rng.randrange(100000):05d}" if rng.random() < 0.6 else None
        locs.append((c, cont, sub, f"City{i}", lat, lon, tz, postal, 1000000 + i))
    return locs


def record_of(loc, radius, country_ids):
    c, cont, sub, city, lat, lon, tz, postal, gid = loc
    names = lambda base: {lang: f"{base}" if lang == "en" else f"{base} ({lang})"  # noqa: E731
                          for lang in LANGS}
    country = {"geoname_id": (T_U32, country_ids[c]), "iso_code": c, "names": names(f"Country {c}")}
    rec = {
        "city": {"geoname_id": (T_U32, gid), "names": {"en": city, "de": city, "fr": city}},
        "continent": {"code": cont, "geoname_id": (T_U32, CONTINENTS[cont][0]),
                      "names": names(CONTINENT_NAMES[cont])},
        "country": country,
        "location": {"accuracy_radius": (T_U16, radius), "latitude": lat, "longitude": lon,
                     "time_zone": tz},
        "registered_country": country,
        "subdivisions": [{"geoname_id": (T_U32, 5000000 + zlib.crc32(f"{c}-{sub}".encode()) % 1000000),
                          "iso_code": sub, "names": {"en": f"Region {c}-{sub}"}}],
    }
    if postal:
        rec["postal"] = {"code": postal}
    return rec


def gen_networks(rng, count, blocks, stop, ranges, bits):
    """count disjoint (start, prefix) networks, sorted, in allocation blocks spread over
    ranges (a list of (start, end) address ranges) with holes between them. The holes
    take the space the blocks and their alignment leave; if the blocks do not fit, the
    holes shrink and it tries again."""
    cut = []  # (block prefix, [(offset, prefix), ...])
    n = 0
    while n < count:
        L = rng.choices([b for b, _ in blocks], [w for _, w in blocks])[0]
        subs, todo = [], [(0, L)]
        while todo:
            off, p = todo.pop()
            if rng.random() < stop(p):
                if rng.random() >= HOLE:
                    subs.append((off, p))
            else:
                half = 1 << (bits - p - 1)
                todo += [(off + half, p + 1), (off, p + 1)]
        subs.sort()
        subs = subs[:count - n]
        if subs:
            cut.append((L, subs))
            n += len(subs)
    total_space = sum(e - s for s, e in ranges)
    used = sum(1 << (bits - L) for L, _ in cut)
    factor = 0.8
    for _attempt in range(8):
        out = place(rng, cut, ranges, bits, max(0, (total_space - used) // len(cut)) * factor)
        if out is not None:
            return out
        factor /= 2
    raise SystemExit(f"mkcity: {count} networks in these blocks do not fit the address space")


def place(rng, cut, ranges, bits, gap_mean):
    """The blocks placed one after the other with random holes, or None if they ran
    past the last range."""
    out = []
    ri = 0
    cur = ranges[0][0]
    for L, subs in cut:
        size = 1 << (bits - L)
        cur += int(rng.expovariate(1.0 / gap_mean)) if gap_mean >= 1 else 0
        cur = (cur + size - 1) & ~(size - 1)  # aligned
        while ri < len(ranges) and cur + size > ranges[ri][1]:
            ri += 1
            if ri < len(ranges):
                cur = max(cur, ranges[ri][0])
                cur = (cur + size - 1) & ~(size - 1)
        if ri >= len(ranges):
            return None
        out.extend((cur + off, p) for off, p in subs)
        cur += size
    return out


def v4_ranges():
    """Public-looking IPv4: 1.0.0.0-223.255.255.255 less 10/8 and 127/8."""
    r, start = [], 1 << 24
    for hole in (10, 127):
        r.append((start, hole << 24))
        start = (hole + 1) << 24
    r.append((start, 224 << 24))
    return r


def v6_ranges():
    """Five regional registries' /12s (none touches 2001::/16 or 2002::/16)."""
    return [(b << 112, (b << 112) + (1 << 116)) for b in (0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00)]


# ---- the search tree ----------------------------------------------------------------------

EMPTY = -1  # a record with no data; data offsets are stored as -(offset + 2)


class Tree:
    def __init__(self):
        self.left = array.array("q")
        self.right = array.array("q")

    def node(self):
        self.left.append(EMPTY)
        self.right.append(EMPTY)
        return len(self.left) - 1

    def build(self, nets, lo, hi, depth, base):
        """The record for the span of `depth` bits at base holding nets[lo:hi] (sorted,
        disjoint (start, prefix, data) triples, 128-bit)."""
        if lo == hi:
            return EMPTY
        if hi - lo == 1 and nets[lo][1] == depth:
            return -(nets[lo][2] + 2)
        n = self.node()
        mid = base | (1 << (127 - depth))
        # first network at or after mid
        a, b = lo, hi
        while a < b:
            m = (a + b) // 2
            if nets[m][0] < mid:
                a = m + 1
            else:
                b = m
        self.left[n] = self.build(nets, lo, a, depth + 1, base)
        self.right[n] = self.build(nets, a, hi, depth + 1, mid)
        return n

    def alias(self, prefix, plen, target):
        """Points the record of prefix/plen at node target, creating the path."""
        n = 0
        for depth in range(plen):
            bit = (prefix >> (127 - depth)) & 1
            side = self.right if bit else self.left
            if depth == plen - 1:
                assert side[n] == EMPTY, "alias over existing data"
                side[n] = target
                return
            if side[n] < 0:
                assert side[n] == EMPTY, "alias path through a network"
                side[n] = self.node()
            n = side[n]

    def node_at(self, prefix, plen):
        n = 0
        for depth in range(plen):
            bit = (prefix >> (127 - depth)) & 1
            n = (self.right if bit else self.left)[n]
            assert n >= 0
        return n

    def serialize(self):
        """The tree's bytes with 28-bit records."""
        count = len(self.left)
        out = bytearray(7 * count)

        def value(v):
            if v >= 0:
                return v
            if v == EMPTY:
                return count
            return count + 16 + (-v - 2)

        pos = 0
        L, R = self.left, self.right
        for i in range(count):
            a, b = value(L[i]), value(R[i])
            assert a < (1 << 28) and b < (1 << 28), "record too large for 28 bits"
            out[pos:pos + 7] = (((a & 0xFFFFFF) << 32) | ((a >> 24) << 28) | ((b >> 24) << 24)
                                | (b & 0xFFFFFF)).to_bytes(7, "big")
            pos += 7
        return bytes(out)


def metadata(node_count, epoch):
    meta = {
        "binary_format_major_version": (T_U16, 2),
        "binary_format_minor_version": (T_U16, 0),
        "build_epoch": (T_U64, epoch),
        "database_type": "GeoLite2-City",
        "description": {"en": "gtm benchmark: a GeoLite2-City-sized synthetic database "
                              "(bench/mkcity.py)"},
        "ip_version": (T_U16, 6),
        "languages": LANGS,
        "node_count": (T_U32, node_count),
        "record_size": (T_U16, 28),
    }
    # its own section, read on its own: plain values, no pointers
    return Data(dedup=False).enc(meta)


def mmdblookup(db, ip, *path):
    p = subprocess.run(["mmdblookup", "--file", db, "--ip", ip, *path], capture_output=True,
                       text=True, timeout=30)
    if "Could not find an entry" in p.stdout + p.stderr:
        return None
    if p.returncode != 0:
        raise RuntimeError(f"mmdblookup {ip} {' '.join(path)}: {p.stderr.strip()}")
    return p.stdout


def verify(db):
    """Looks up every address of db.check with libmaxminddb's mmdblookup."""
    import re
    bad = n = holes = 0
    for line in open(db + ".check"):
        ip, c, cont, sub, city, lat, lon, _net = line.rstrip("\n").split("\t")
        n += 1
        if c == "-":
            holes += 1
            if mmdblookup(db, ip) is not None:
                print(f"{ip}: found, but it lies in no network", file=sys.stderr)
                bad += 1
            continue
        got = {}
        for key, path in (("c", ["country", "iso_code"]), ("cont", ["continent", "code"]),
                          ("sub", ["subdivisions", "0", "iso_code"]),
                          ("city", ["city", "names", "en"])):
            out = mmdblookup(db, ip, *path) or ""
            m = re.search(r'"([^"]*)"', out)
            got[key] = m.group(1) if m else None
        loc = mmdblookup(db, ip, "location") or ""
        la = re.search(r'"latitude":\s*([-\d.]+)', loc)
        lo = re.search(r'"longitude":\s*([-\d.]+)', loc)
        got["lat"] = float(la.group(1)) if la else None
        got["lon"] = float(lo.group(1)) if lo else None
        want = {"c": c, "cont": cont, "sub": sub, "city": city, "lat": float(lat), "lon": float(lon)}
        if any(got[k] != want[k] if k not in ("lat", "lon") else
               got[k] is None or abs(got[k] - want[k]) > 1e-4 for k in want):
            print(f"{ip}: got {got}, expected {want}", file=sys.stderr)
            bad += 1
    print(f"{n - bad} of {n} sampled addresses ({holes} in holes) read back as written "
          f"by libmaxminddb (mmdblookup)")
    return 1 if bad else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--verify":
        sys.exit(verify(sys.argv[2]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    ap.add_argument("out")
    ap.add_argument("--v4", type=int, default=2_800_000, help="IPv4 networks")
    ap.add_argument("--v6", type=int, default=700_000, help="IPv6 networks")
    ap.add_argument("--locations", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", type=int, default=0, help="sampled addresses to write to OUT.check")
    args = ap.parse_args()
    t0 = time.monotonic()
    rng = random.Random(args.seed)
    log = lambda m: print(f"mkcity: {time.monotonic() - t0:6.1f} s  {m}", file=sys.stderr)  # noqa: E731

    locs = make_locations(rng, args.locations)
    country_ids = {c[:2]: 2000000 + i for i, c in enumerate(COUNTRY_CONTINENT)}
    v4 = gen_networks(rng, args.v4, V4_BLOCKS, stop_v4, v4_ranges(), 32)
    v6 = gen_networks(rng, args.v6, V6_BLOCKS, stop_v6, v6_ranges(), 128)
    log(f"{len(v4)} IPv4 and {len(v6)} IPv6 networks, {len(locs)} locations")

    data = Data()
    rec_off = {}  # (location index, radius) -> offset
    nets = []  # (128-bit start, prefix, data offset)
    assigned = []  # (version, start, prefix, location index)
    # neighbouring networks mostly share a location (an ISP's blocks in one city)
    li = 0
    for version, lst in ((4, v4), (6, v6)):
        for start, p in lst:
            if rng.random() < 0.3:
                li = rng.randrange(len(locs))
            # a location has a few accuracy radii, as the real data does: distinct
            # records are a few times the locations
            key = (li, RADII[(li * 7 + rng.randrange(3)) % len(RADII)])
            off = rec_off.get(key)
            if off is None:
                off = rec_off[key] = data.add(record_of(locs[li], key[1], country_ids))
            if version == 4:
                nets.append((start, 96 + p, off))
            else:
                nets.append((start, p, off))
            assigned.append((version, start, p, li))
    log(f"data section: {len(rec_off)} distinct records, {len(data.buf)} bytes")

    nets.sort()
    tree = Tree()
    root = tree.node()
    assert root == 0
    mid = 1 << 127
    a = next((i for i, n in enumerate(nets) if n[0] >= mid), len(nets))
    sys.setrecursionlimit(10000)
    tree.left[0] = tree.build(nets, 0, a, 1, 0)
    tree.right[0] = tree.build(nets, a, len(nets), 1, mid)
    v4root = tree.node_at(0, 96)
    tree.alias(0xFFFF << 32, 96, v4root)  # ::ffff:0:0/96
    tree.alias(0x2002 << 112, 16, v4root)  # 2002::/16 (6to4)
    log(f"search tree: {len(tree.left)} nodes")

    body = tree.serialize()
    with open(args.out, "wb") as f:
        f.write(body)
        f.write(b"\0" * 16)
        f.write(data.buf)
        f.write(b"\xab\xcd\xefMaxMind.com")
        f.write(metadata(len(tree.left), int(time.time())))
    log(f"wrote {args.out}: {Path(args.out).stat().st_size} bytes")

    if args.check:
        with open(args.out + ".check", "w") as f:
            for version, start, p, li in rng.sample(assigned, args.check):
                bits = 32 if version == 4 else 128
                addr = start + rng.randrange(1 << (bits - p))
                c, cont, sub, city, lat, lon, *_ = locs[li]
                f.write(f"{ip_text(version, addr)}\t{c}\t{cont}\t{sub}\t{city}\t{lat}\t{lon}\t"
                        f"{ip_text(version, start)}/{p}\n")
            # holes: addresses in no network
            v4set = sorted((s, p) for s, p in v4)
            holes = 0
            while holes < max(1, args.check // 10):
                x = rng.randrange(1 << 24, 224 << 24)
                if (x >> 24) in (10, 127):
                    continue
                i = bisect_right(v4set, (x, 99)) - 1
                if i >= 0 and v4set[i][0] <= x < v4set[i][0] + (1 << (32 - v4set[i][1])):
                    continue
                f.write(f"{ip_text(4, x)}\t-\t-\t-\t-\t-\t-\t-\n")
                holes += 1
        log(f"wrote {args.out}.check")


def bisect_right(a, x):
    lo, hi = 0, len(a)
    while lo < hi:
        m = (lo + hi) // 2
        if x < a[m]:
            hi = m
        else:
            lo = m + 1
    return lo


def ip_text(version, n):
    import ipaddress
    return str(ipaddress.IPv4Address(n) if version == 4 else ipaddress.IPv6Address(n))


if __name__ == "__main__":
    main()
