"""Differential test: gtm-dnsd against Knot DNS on the same zones.

tests/system/zones/diff.example.zone (and its child zone) is imported into a gtm store
with the real `gtmctl zone import` and served by gtm-dnsd; Knot DNS serves the same
files on another loopback port. About 900 queries go to both, over UDP and a
subset over TCP, and the answers are compared field by field: rcode, opcode, header
flags, the OPT record, and every section as a set of records with their TTLs.

A difference fails the test unless an entry of KNOWN_DIFFERENCES explains it: each
names the queries it covers, the fields that may differ, why gtm's answer is right
(or acceptable) per the RFCs, and optionally a check of gtm's answer. A known
difference that no query shows any more fails too, so the list stays true.
"""
import random
import re
import shutil

import dns.name
import pytest

from conftest import SRCDIR, free_port
from knot_util import (KnownDifference, Knot, Query, ask, differing_fields, format_diff,
                       summarize)

ZONES_DIR = SRCDIR / "tests" / "system" / "zones"
ZONE = "diff.example."
CHILD = "child.diff.example."
NSID = "gtm-diff"
IDENTITY = "diff-server"
VERSION = "diff-1.0"
APEX_SOA = ("ns1.diff.example. hostmaster.diff.example. 2024070101 7200 900 1209600 3600")


def fq(name):
    """A name relative to diff.example. made absolute ('@' is the apex)."""
    if name == "@":
        return ZONE
    return name if name.endswith(".") else f"{name}.{ZONE}"


# ---- the queries ------------------------------------------------------------------------

# Names of the zone (relative), each with the types it holds.
NAMES = {
    "@": "SOA NS MX A AAAA TXT CAA HTTPS",
    "ns1": "A AAAA", "ns2": "A", "mail": "A AAAA", "mail2": "A",
    "www": "A AAAA HTTPS", "h01": "A", "h02": "A AAAA", "h17": "A", "h30": "A AAAA",
    "ptr": "PTR", "host1": "SSHFP", "_443._tcp.www": "TLSA", "sip": "A AAAA NAPTR",
    "sip2": "A", "info": "HINFO", "loc": "LOC",
    "svc": "HTTPS", "_8443._foo.svc": "SVCB", "_foo.svc": "",
    # CNAMEs
    "alias": "CNAME", "alias2": "CNAME", "alias3": "CNAME", "ext": "CNAME",
    "chain-out": "CNAME", "dangling": "CNAME", "to-wild": "CNAME", "to-deleg": "CNAME",
    "to-ent": "CNAME", "to-child": "CNAME", "to-mail": "CNAME", "loop1": "CNAME",
    "c01": "CNAME", "c05": "CNAME", "c12": "CNAME",
    # wildcards and empty non-terminals
    "*.wild": "A TXT MX", "host.wild": "A", "foo.wild": "", "a.b.wild": "",
    "foo.cwild": "", "bar.baz.cwild": "", "*.blocked": "A", "foo.blocked": "",
    "ent.blocked": "", "x.ent.blocked": "A", "y.ent.blocked": "", "deep": "",
    "c.deep": "", "b.c.deep": "", "a.b.c.deep": "A", "_tcp": "", "_sip": "",
    # delegations
    "sub": "NS DS", "ns1.sub": "A AAAA", "ns2.sub": "A", "host.sub": "", "a.b.sub": "",
    "ext-deleg": "NS", "foo.ext-deleg": "", "sib": "NS", "x.sib": "",
    # the child zone, served by both
    "child": "NS DS SOA", "www.child": "A TXT", "ns1.child": "A", "nothere.child": "",
    # services and text
    "_sip._tcp": "SRV", "_sip._udp": "SRV", "_xmpp-server._tcp": "SRV", "_imap._tcp": "SRV",
    "_dmarc": "TXT", "multi": "TXT", "big": "TXT", "huge": "TXT", "many-a": "A",
    # RFC 3597
    "private": "TYPE65280", "blob": "TYPE1234", "generic": "A", "typed": "TYPE65534 A",
    # case and escapes
    "MixedCase": "A", "UPPER.Case.Name": "A", "Case.Name": "", "Upcase-Alias": "CNAME",
    r"weird\.label": "A", r"sp\032ace": "TXT", r"bin\200ary": "A",
    # DNAME and the names it redirects
    "dname-out": "DNAME", "www.dname-out": "", "a.b.dname-out": "", "dname-in": "DNAME",
    "host.dname-in": "", "foo.dname-in": "", "x.y.dname-in": "", "dname-ent": "DNAME",
    "x.ent.dname-ent": "", "nothere.dname-ent": "", "to-dname": "CNAME",
    "dname-long": "DNAME", "short.dname-long": "",
    ("x" * 63 + "." + "y" * 63 + "." + "z" * 40 + ".dname-long"): "",
    # missing
    "nothere": "", "zzz": "", "a.b.nothere": "", "www2": "", "www.www": "",
}

ODD_TYPES = ["ANY", "TYPE65280", "NULL", "DS", "RRSIG", "CNAME", "NS", "SOA", "NSEC",
             "DNSKEY", "TYPE1234", "SRV", "PTR", "CAA"]
ODD_NAMES = ["@", "www", "alias", "foo.wild", "*.wild", "ent.blocked", "y.ent.blocked",
             "dname-in", "host.dname-in",
             "sub", "ns1.sub", "host.sub", "ext-deleg", "child", "www.child", "private",
             "big", "nothere", "deep", "MixedCase"]
EDNS_NAMES = [("www", "A"), ("big", "TXT"), ("huge", "TXT"), ("many-a", "A"), ("@", "MX"),
              ("@", "NS"), ("nothere", "A"), ("sub", "NS"), ("_sip._tcp", "SRV"),
              ("alias3", "A")]
TCP_NAMES = [("www", "A"), ("@", "SOA"), ("@", "NS"), ("@", "MX"), ("big", "TXT"),
             ("huge", "TXT"), ("many-a", "A"), ("alias3", "A"), ("foo.wild", "A"),
             ("y.ent.blocked", "A"), ("sub", "NS"), ("sub", "DS"), ("host.sub", "A"),
             ("nothere", "A"), ("ent.blocked", "A"), ("@", "ANY"), ("www.child", "A"),
             ("MixedCase", "A"), ("private", "TYPE65280"), ("dangling", "A"),
             ("x.y.dname-in", "A"), ("to-dname", "A")]


def mixed_case(name, rng):
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else
                   c.lower() if c.isalpha() else c for c in name)


def build_queries():
    """The queries of the run, in a fixed order."""
    rng = random.Random(20240701)
    qs = []
    # 1. every name with its own types and the common ones, EDNS 1232
    for name, types in NAMES.items():
        for t in dict.fromkeys(types.split() + ["A", "AAAA", "TXT", "MX"]):
            qs.append(Query(fq(name), t, tag="name x type"))
    # 2. odd query types at a spread of names
    for name in ODD_NAMES:
        for t in ODD_TYPES:
            qs.append(Query(fq(name), t, tag="odd type"))
    # 3. 0x20 mixed-case query names
    for name in ["www", "@", "foo.wild", "alias3", "sub", "host.sub", "nothere", "x.dname-out",
                 "y.ent.blocked", "www.child", "MixedCase", "_sip._tcp", "multi"]:
        for t in ("A", "TXT", "ANY", "SRV", "NS"):
            qs.append(Query(mixed_case(fq(name), rng), t, tag="mixed case"))
    # 4. EDNS variants
    variants = [
        dict(edns=None), dict(payload=512), dict(payload=1232), dict(payload=4096),
        dict(payload=100), dict(payload=1232, do=True), dict(payload=4096, do=True),
        dict(nsid=True), dict(unknown_option=True), dict(edns=1),
        dict(edns=1, do=True, nsid=True), dict(edns=None, rd=False, cd=True),
    ]
    for name, t in EDNS_NAMES:
        for v in variants:
            qs.append(Query(fq(name), t, tag="EDNS variant", **v))
    # 5. class CH, class ANY and others
    for n in ["id.server.", "hostname.bind.", "version.bind.", "version.server.",
              "authors.bind.", "foo.bind.", ZONE]:
        for t in ("TXT", "A", "ANY"):
            qs.append(Query(n, t, qclass="CH", tag="CH"))
    for name, t in [("www", "A"), ("@", "SOA"), ("nothere", "A")]:
        for c in ("ANY", "NONE", "HS", "CLASS42"):
            qs.append(Query(fq(name), t, qclass=c, tag="other class"))
    # 6. zone transfers over UDP and TCP
    for zone in (ZONE, CHILD, "example.com."):
        for tcp in (False, True):
            qs.append(Query(zone, "AXFR", tcp=tcp, tag="transfer"))
            qs.append(Query(zone, "IXFR", tcp=tcp, soa=APEX_SOA,
                            tag="transfer"))
            qs.append(Query(zone, "IXFR", tcp=tcp, tag="transfer, no SOA"))
    # 7. other opcodes
    for op in ("NOTIFY", "STATUS", "UPDATE", "IQUERY"):
        for tcp in (False, True):
            qs.append(Query(ZONE, "SOA", opcode=op, tcp=tcp, tag="opcode"))
    qs.append(Query(ZONE, "SOA", opcode="NOTIFY", soa=APEX_SOA, tag="opcode"))
    # 8. outside every zone
    for n in ["example.com.", "example.", ".", "diff.example.com.", "xdiff.example.",
              "net."]:
        for t in ("A", "NS", "SOA"):
            qs.append(Query(n, t, tag="out of zone"))
    # 9. TCP
    for name, t in TCP_NAMES:
        qs.append(Query(fq(name), t, tcp=True, tag="TCP"))
        qs.append(Query(fq(name), t, tcp=True, edns=None, tag="TCP"))
    return qs


# ---- known differences ------------------------------------------------------------------

CNAME_OWNERS = {fq(n).lower() for n, t in NAMES.items() if t == "CNAME"}
CHAOS_CONFIGURED = {"id.server.", "hostname.bind.", "version.bind.", "version.server."}


def only_cnames_added(q, g, k):
    """gtm's answer is Knot's plus more CNAMEs of the same chain."""
    extra = g["answer"] - k["answer"]
    return k["answer"] <= g["answer"] and all(" IN CNAME " in line for line in extra)


def gtm_rcode(rcode):
    return lambda q, g, k: g.get("rcode") == rcode


def same_records_other_ttl(q, g, k):
    """The additional sections hold the same records, only their TTLs differ."""
    strip = lambda lines: {re.sub(r" \d+ IN ", " IN ", line) for line in lines}
    return strip(g["additional"]) == strip(k["additional"])


KNOWN_DIFFERENCES = [
    KnownDifference(
        "glue of a child zone both serve",
        lambda q: q.qname.lower() == fq("to-child"),
        frozenset({"additional"}),
        "A CNAME into child.diff.example, a zone gtm also serves, is answered with the "
        "parent's referral as Knot does (RFC 1034 4.3.2 step 3b). For the glue address gtm "
        "uses the child zone's authoritative A record (TTL 1800) where Knot uses the "
        "parent's copy (TTL 3600): the same address, and RFC 2181 5.4.1 ranks "
        "authoritative data above glue.",
        same_records_other_ttl),
    KnownDifference(
        "CNAME chain limit",
        lambda q: q.qname.lower() in (fq("c01"), fq("c05")),
        frozenset({"answer"}),
        "A CNAME chain of 12 in-zone hops: Knot 3.2 stops after 5 CNAMEs, gtm after 8 "
        "(CNAME_CHAIN_MAX; NSD 4.6 follows all 12). RFC 1034 4.3.2 step 3a lets the "
        "server chase aliases and sets no limit; a resolver restarts the query at the "
        "last target it got (RFC 1034 5.3.3), so any prefix of the chain is a correct "
        "answer. gtm's answer holds every CNAME Knot's does, in the same chain.",
        only_cnames_added),
    KnownDifference(
        "RRSIG/NSEC at an alias",
        lambda q: q.qtype in ("RRSIG", "NSEC") and q.qname.lower() in CNAME_OWNERS,
        frozenset({"answer"}),
        "qtype RRSIG or NSEC at a CNAME owner of this unsigned zone: gtm (like NSD 4.6) "
        "follows RFC 1034 4.3.2 step 3a and returns the CNAME, then NODATA for the "
        "target; Knot answers NODATA at the alias itself, because RRSIG and NSEC are the "
        "only types that may sit beside a CNAME (RFC 2181 10.1, RFC 4035 2.5). With no "
        "RRSIG or NSEC in the zone both answers say the same thing (no such data, SOA "
        "in authority); in a signed zone gtm finds the alias's own RRSIG first.",
        lambda q, g, k: not k["answer"] and g["answer"] and
        all(" IN CNAME " in line for line in g["answer"]) and g["authority"] == k["authority"]),
    KnownDifference(
        "CD bit copied",
        lambda q: q.cd,
        frozenset({"flags"}),
        "RFC 4035 3.1.6: a security-aware name server MUST copy the CD bit from the "
        "query into the response; gtm does, Knot 3.2 (and NSD 4.6) clear it. A resolver "
        "disregards the CD bit of a response (RFC 4035 4.6), so nothing depends on it.",
        lambda q, g, k: g["flags"].split() == sorted(k["flags"].split() + ["CD"],
                                                     key=("QR AA TC RD RA AD CD").split().index)),
    KnownDifference(
        "CH TXT answers carry AA",
        lambda q: q.qclass == "CH" and q.qname in CHAOS_CONFIGURED,
        frozenset({"flags"}),
        "CH TXT id.server / hostname.bind / version.bind / version.server (RFC 4892): gtm "
        "sets AA, Knot and NSD do not. RFC 4892 says nothing of AA; the answer is the "
        "server's own configured data, which it is the authority for (BIND also sets AA "
        "for its built-in CH zone).",
        lambda q, g, k: "AA" in g["flags"].split()),
    KnownDifference(
        "CH names: other types",
        lambda q: q.qclass == "CH" and q.qname in CHAOS_CONFIGURED and q.qtype != "TXT",
        frozenset({"rcode", "flags", "answer"}),
        "Other qtypes at a configured CH name: gtm treats the name as existing (ANY "
        "gets the TXT, RFC 8482 minimal; A gets NODATA), Knot refuses every CH query "
        "but TXT. RFC 4892 defines only TXT; either is a consistent answer.",
        lambda q, g, k: g["rcode"] == "NOERROR" and
        (q.qtype == "ANY") == bool(g["answer"])),
    KnownDifference(
        "QCLASS ANY answered without AA",
        lambda q: q.qclass == "ANY",
        frozenset({"flags"}),
        "QCLASS=* (RFC 1035 3.2.5): gtm answers from its IN data, as Knot and NSD do, but "
        "with AA clear as NSD does: RFC 1035 6.2 says a QCLASS=* answer 'should never be "
        "authoritative unless the server can guarantee that the response covers all "
        "classes'. Knot sets AA.",
        lambda q, g, k: g["flags"].split() == [f for f in k["flags"].split() if f != "AA"]),
    KnownDifference(
        "zone transfers refused",
        lambda q: q.qtype in ("AXFR", "IXFR"),
        frozenset({"rcode"}),
        "gtm-dnsd does not serve zone transfers (DESIGN.md: secondaries are fed "
        "separately) and answers REFUSED, the policy refusal of RFC 1035 4.1.1 (what "
        "NSD and BIND send when a transfer is not allowed). Knot, with no ACL allowing "
        "the transfer, answers NOTAUTH over TCP (its ACL denial) and NOTIMP over UDP "
        "(AXFR over UDP is not defined, RFC 5936 4.2); an IXFR query with its SOA in "
        "authority (RFC 1995 3) is read whole, EDNS included, and refused the same way. "
        "All of them tell the client to get the zone elsewhere.",
        gtm_rcode("REFUSED")),
    KnownDifference(
        "NOTIFY and UPDATE not implemented",
        lambda q: q.opcode in ("NOTIFY", "UPDATE"),
        frozenset({"rcode"}),
        "gtm-dnsd is no secondary and takes no dynamic updates: NOTIMP (RFC 1035 4.1.1, "
        "issue 3: opcodes other than QUERY get NOTIMP). Knot answers NOTAUTH because no "
        "ACL allows them; NSD answers REFUSED.",
        gtm_rcode("NOTIMP")),
]


def explain(query, gtm, knot, fields):
    """The known differences that account for some of the differing fields, and the
    fields none of them accounts for."""
    used, left = [], set(fields)
    for kd in KNOWN_DIFFERENCES:
        covers = left & kd.fields
        if covers and kd.match(query) and (kd.gtm_ok is None or kd.gtm_ok(query, gtm, knot)):
            used.append(kd)
            left -= covers
    return used, sorted(left)


# ---- the test ---------------------------------------------------------------------------

@pytest.fixture
def knot(tmp_path, request):
    k = Knot(tmp_path / "knot", free_port(),
             [(ZONE, ZONES_DIR / "diff.example.zone"),
              (CHILD, ZONES_DIR / "child.diff.example.zone")],
             nsid=NSID, identity=IDENTITY, version=VERSION)
    k.dir.mkdir(parents=True, exist_ok=True)

    def stop():
        k.stop()
        request.node.add_report_section("teardown", "log of knotd", k.log()[-20000:])

    request.addfinalizer(stop)
    return k.start()


@pytest.fixture
def gtm(gtmctl, dnsd):
    gtmctl.run("zone", "import", ZONE, ZONES_DIR / "diff.example.zone")
    gtmctl.run("zone", "import", CHILD, ZONES_DIR / "child.diff.example.zone")
    return dnsd(gtmctl.db, "--nsid", NSID, "--identity", IDENTITY, "--server-version",
                VERSION)


@pytest.mark.skipif(shutil.which("knotd") is None, reason="Knot DNS (knotd) not installed")
def test_differential_against_knot(gtm, knot):
    """Every query of build_queries() to both servers; fails on a difference no entry
    of KNOWN_DIFFERENCES explains, and on an entry no query needs any more."""
    queries = build_queries()
    for kd in KNOWN_DIFFERENCES:
        kd.seen = 0
    unexplained = []
    stats = {}  # tag -> [queries, differing, explained]
    for q in queries:
        tag = q.tag.split(",")[0]
        st = stats.setdefault(tag, [0, 0, 0])
        st[0] += 1
        g = summarize(q, *ask(q, gtm.port))
        k = summarize(q, *ask(q, knot.port))
        fields = differing_fields(g, k)
        if not fields:
            continue
        st[1] += 1
        used, left = explain(q, g, k, fields)
        for kd in used:
            kd.seen += 1
        if left:
            note = f" (also, explained: {', '.join(kd.name for kd in used)})" if used else ""
            unexplained.append(format_diff(q, g, k, left, note))
        else:
            st[2] += 1
    udp = sum(1 for q in queries if not q.tcp)
    ndiff = sum(st[1] for st in stats.values())
    nexpl = sum(st[2] for st in stats.values())
    print(f"\ndifferential gtm-dnsd vs Knot DNS {knot.version_text}: {len(queries)} queries "
          f"compared ({udp} UDP, {len(queries) - udp} TCP); {ndiff} differ: {nexpl} fully "
          f"explained by KNOWN_DIFFERENCES, {ndiff - nexpl} not")
    print(f"  {'queries':<14}{'sent':>6}{'differ':>8}{'explained':>11}{'unexplained':>13}")
    for tag, (n, d, e) in stats.items():
        print(f"  {tag:<14}{n:>6}{d:>8}{e:>11}{d - e:>13}")
    for kd in KNOWN_DIFFERENCES:
        print(f"  known difference '{kd.name}': {kd.seen} queries")
    stale = [kd.name for kd in KNOWN_DIFFERENCES if kd.seen == 0]
    report = ""
    if unexplained:
        report += (f"{len(unexplained)} queries with unexplained differences (gtm vs knot):\n"
                   + "\n".join(unexplained))
    if stale:
        report += "\nknown differences no query showed (remove them): " + ", ".join(stale)
    print(report)
    assert not unexplained and not stale, report
