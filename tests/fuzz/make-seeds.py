#!/usr/bin/python3
"""tests/fuzz/make-seeds.py — writes a seed corpus for fuzz_query: a real query (dnspython)
for every owner and managed name of the fuzzer's store, with A, AAAA, ANY, DS, MX, CNAME
and the types it holds, names below wildcards, DNAMEs and delegations, and CH queries;
EDNS, NSID, ECS, cookies and DO vary from query to query, and so does the case of the names.
  make-seeds.py GTMCTL OUTDIR      (builds a store with make-store.sh in a temp dir)
Seeds are generated, not committed."""
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import dns.edns
import dns.message

HERE = Path(__file__).resolve().parent
ZONES = ["dnsd.test", "child.dnsd.test", "diff.example", "child.diff.example", "fuzz.test",
         "bulk.test"]
ECS = [("89.160.130.0", 24), ("81.2.69.0", 24), ("192.0.2.0", 24), ("203.0.113.0", 24),
       ("2001:db8:1::", 56), ("2001:db8:5::", 64), ("0.0.0.0", 0), ("10.0.0.0", 8)]


def names_of(gtmctl, db):
    """{owner or managed name: its types}."""
    names = {}
    for z in ZONES:
        out = subprocess.run([gtmctl, "--db", db, "zone", "export", z], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 4 and not line.startswith(";"):
                names.setdefault(f[0], set()).add(f[3])
    out = subprocess.run([gtmctl, "--db", db, "policy", "list"], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0].endswith("."):
            names.setdefault(f[0], set()).update(["A", "AAAA"])
    return names


def edns(q, i):
    """EDNS variations by query number."""
    mode = i % 6
    if mode == 1:
        q.use_edns(0, payload=1232)
    elif mode == 2:
        q.use_edns(0, payload=4096, options=[dns.edns.GenericOption(3, b"")])
    elif mode == 3:
        q.use_edns(0, payload=1232, options=[dns.edns.ECSOption(*ECS[i % len(ECS)])])
    elif mode == 4:
        # a client cookie alone, or with a server cookie (RFC 7873)
        cookie = bytes(range(i % 3, i % 3 + 8)) + (bytes(16) if i % 2 else b"")
        q.use_edns(0, payload=512, options=[dns.edns.GenericOption(10, cookie)])
        q.want_dnssec(True)
    elif mode == 5:
        q.use_edns(0, payload=65535, options=[dns.edns.GenericOption(3, b""),
                                              dns.edns.ECSOption(*ECS[(i // 6) % len(ECS)])])
    q.id = i * 257 % 65536
    return q.to_wire()


def main():
    gtmctl, outdir = sys.argv[1], Path(sys.argv[2])
    outdir.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["sh", str(HERE / "make-store.sh"), gtmctl, str(HERE.parent.parent), tmp],
                       check=True)
        names = names_of(gtmctl, f"{tmp}/gtm.db")
    wires = []
    for name, types in sorted(names.items()):
        qnames = ["xyz" + name[1:], "a.b" + name[1:]] if name.startswith("*.") else [name]
        if types & {"DNAME", "NS"} and len(name) < 250:
            qnames.append("x." + name)
        for qn in qnames:
            qn = "".join(c.upper() if rnd.random() < 0.3 else c for c in qn)
            for t in sorted((types - {"RRSIG"}) | {"A", "AAAA", "ANY", "DS", "MX", "CNAME"}):
                wires.append(edns(dns.message.make_query(qn, t), len(wires)))
    for qn in ["id.server", "hostname.bind", "version.bind", "version.server"]:
        for t in ["TXT", "ANY", "A"]:
            wires.append(edns(dns.message.make_query(qn, t, rdclass="CH"), len(wires)))
    for i, w in enumerate(wires):
        (outdir / f"seed{i:05d}").write_bytes(w)
    print(f"{len(wires)} seeds in {outdir}")


if __name__ == "__main__":
    main()
