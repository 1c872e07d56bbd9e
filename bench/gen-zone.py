#!/usr/bin/env python3
"""bench/gen-zone.py ZONE COUNT [--seed N] > FILE

Writes a zone file of exactly COUNT records (SOA and apex NS included) with the mix
of a large production zone: hosts with A and AAAA records, CNAME aliases, MX and TXT
(SPF, DMARC, verification tokens, DKIM keys split into strings) on mail domains, SRV
services. Relative names, $ORIGIN and $TTL, a few multi-line records. The same
arguments always give the same file (random.Random(seed)); every record is valid and
unique, and CNAMEs stand alone, so gtmctl zone import accepts the whole file.
"""
import argparse
import random
import sys

# Share of each kind of entry (not of records: a host entry writes 1-3 records).
MIX = [("a", 38), ("aaaa", 14), ("cname", 14), ("mx", 6), ("txt", 14), ("srv", 10),
       ("dkim", 4)]
REGIONS = ["eu-west", "eu-central", "us-east", "us-west", "ap-south", "ap-northeast",
           "sa-east"]
ROLES = ["web", "api", "app", "db", "cache", "queue", "edge", "auth", "search", "mail",
         "vpn", "build", "metrics", "log", "cdn", "media", "static", "admin"]
SERVICES = [("_sip", "_tcp", 5060), ("_sip", "_udp", 5060), ("_sips", "_tcp", 5061),
            ("_xmpp-server", "_tcp", 5269), ("_xmpp-client", "_tcp", 5222),
            ("_ldap", "_tcp", 389), ("_kerberos", "_udp", 88), ("_imaps", "_tcp", 993),
            ("_submission", "_tcp", 587), ("_minecraft", "_tcp", 25565)]
TTLS = [60, 300, 300, 300, 600, 3600, 3600, 86400]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class Zone:
    def __init__(self, count, rng):
        self.left = count
        self.rng = rng
        self.lines = []
        self.addr = 0  # next IPv4/IPv6 host number: every address is unique
        self.n = {}    # per-kind counters: every owner name is unique to its kind

    def emit(self, line):
        if self.left > 0:
            self.lines.append(line)
            self.left -= 1

    def next(self, kind):
        self.n[kind] = self.n.get(kind, 0) + 1
        return self.n[kind]

    def host(self, kind):
        i = self.next(kind)
        return f"{self.rng.choice(ROLES)}-{i:05d}.{self.rng.choice(REGIONS)}"

    def ipv4(self):
        self.addr += 1
        a = self.addr
        return f"10.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"

    def ipv6(self):
        self.addr += 1
        return f"2001:db8:{self.addr >> 16:x}:{self.addr & 0xffff:x}::1"

    def token(self, n):
        return "".join(self.rng.choice(B64) for _ in range(n))


def generate(zone, count, seed):
    rng = random.Random(seed)
    z = Zone(count, rng)
    z.emit(f"@ 3600 IN SOA ns1 hostmaster ( {2024010100 + seed % 100} 3600 900 1209600 300 )")
    z.emit("@ 86400 IN NS ns1")
    z.emit("@ 86400 IN NS ns2.example.net.")
    z.emit(f"ns1 86400 IN A {z.ipv4()}")
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    hosts = []  # owners with addresses, for CNAME, MX and SRV targets
    while z.left > 0:
        kind = rng.choices(kinds, weights)[0]
        ttl = rng.choice(TTLS)
        if kind in ("a", "aaaa"):
            name = z.host("host")
            hosts.append(name)
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                z.emit(f"{name} {ttl} IN A {z.ipv4()}")
            if kind == "aaaa":
                for _ in range(rng.choice([1, 1, 2])):
                    z.emit(f"{name} {ttl} IN AAAA {z.ipv6()}")
        elif kind == "cname" and hosts:
            i = z.next("cname")
            alias = rng.choice(["www", "shop", "blog", "status", "docs", "portal", "go"])
            target = rng.choice(hosts) if rng.random() < 0.8 else f"lb-{i}.cdn.example.net."
            z.emit(f"{alias}-{i:05d} {ttl} IN CNAME {target}")
        elif kind == "mx" and hosts:
            dom = f"dept-{z.next('mx'):05d}"
            for pref in (10, 20)[:rng.choice([1, 2])]:
                z.emit(f"{dom} {ttl} IN MX {pref} {rng.choice(hosts)}")
            z.emit(f'{dom} {ttl} IN TXT "v=spf1 mx include:_spf.example.net -all"')
            z.emit(f'_dmarc.{dom} {ttl} IN TXT "v=DMARC1; p=quarantine; '
                   f'rua=mailto:dmarc@{dom}.{zone}"')
        elif kind == "txt":
            i = z.next("txt")
            what = rng.choice(["_acme-challenge", "verify", "_github-challenge", "site"])
            z.emit(f'{what}-{i:05d} {ttl} IN TXT "{z.token(43)}"')
        elif kind == "dkim":
            i = z.next("dkim")
            key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + z.token(300)
            parts = " ".join(f'"{key[j:j + 255]}"' for j in range(0, len(key), 255))
            z.emit(f"s{i}._domainkey {ttl} IN TXT (\n    \"v=DKIM1; k=rsa; p=\"\n"
                   f"    {parts} )")
        elif kind == "srv" and hosts:
            svc, proto, port = rng.choice(SERVICES)
            site = f"site-{z.next('srv'):05d}"
            for prio in range(rng.choice([1, 2, 2, 3])):
                z.emit(f"{svc}.{proto}.{site} {ttl} IN SRV {10 * (prio + 1)} "
                       f"{rng.choice([0, 10, 50, 100])} {port} {rng.choice(hosts)}")
    out = [f"; {zone} — {count} records generated by bench/gen-zone.py (seed {seed})",
           f"$ORIGIN {zone}", "$TTL 3600"]
    return "\n".join(out + z.lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    ap.add_argument("zone")
    ap.add_argument("count", type=int)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.count < 4:
        ap.error("COUNT must be at least 4 (SOA, two NS and a glue address)")
    zone = args.zone if args.zone.endswith(".") else args.zone + "."
    sys.stdout.write(generate(zone, args.count, args.seed))


if __name__ == "__main__":
    main()
