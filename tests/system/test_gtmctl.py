"""gtmctl against a real store: zone import/export round trips (checked against
ldns-read-zone), zone files in the styles real providers export, all-or-nothing
imports, SOA serials, the audit log, record edits, the command line, and concurrent
writers. Every test uses its own store in its temp directory.
"""
import contextlib
import datetime
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import dns.name
import dns.rdatatype
import dns.zone
import pytest

from conftest import BUILDDIR, SRCDIR, Gtmctl, check_sanitizers

EXPORT_HEADER_RE = re.compile(
    r";; zone (\S+) serial (\d+), (\d+) records\n"
    r";; exported by gtmctl \S+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n")
AUDIT_HEAD_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  ", re.M)
MAIN_USAGE = "usage: gtmctl [--db PATH] COMMAND [ARGUMENTS...]"
# The store's schema version: db/schema.sql is 1, each migration adds one.
SCHEMA_VERSION = 1 + len(list((SRCDIR / "db" / "migrations").glob("[0-9]*.sql")))


# ---- helpers ----------------------------------------------------------------------------

def today_serial():
    """YYYYMMDD00 of today (UTC)."""
    return int(datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")) * 100


@pytest.fixture
def day():
    """Today's YYYYMMDD00; skips a test that ran across midnight UTC (its serials would
    legitimately jump to the new day)."""
    d = today_serial()
    yield d
    if today_serial() != d:
        pytest.skip("the test ran across midnight UTC")


def run_raw(args, env=None, cwd=None):
    """Runs gtmctl with exactly these arguments (no --db added)."""
    full_env = dict(os.environ, USER="tester")
    full_env.pop("SUDO_USER", None)
    full_env.pop("GTM_DB", None)
    full_env.update(env or {})
    binary = (BUILDDIR / "gtmctl").resolve()
    p = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                       env=full_env, cwd=cwd, timeout=60)
    check_sanitizers(p.stderr, "gtmctl " + " ".join(map(str, args)))
    return p


def export(g, zone):
    return g.run("zone", "export", zone).stdout


def body(text):
    """The record lines of an export (the two ';;' header lines dropped)."""
    return [line for line in text.splitlines() if not line.startswith(";;")]


def without_timestamp(text):
    """An export without its 'exported by ... at TIME' line."""
    return [line for line in text.splitlines() if not line.startswith(";; exported by")]


def audit_rows(g, *args):
    """The number of entries `gtmctl audit` prints."""
    return len(AUDIT_HEAD_RE.findall(g.run("audit", *args).stdout))


def soa_serial(g, zone):
    m = EXPORT_HEADER_RE.match(export(g, zone))
    assert m, "export header"
    return int(m.group(2))


def shell_quote(a):
    """The quoting gtmctl uses for the command line in the audit log."""
    if a and re.fullmatch(r"[A-Za-z0-9\-_.,:/=@+%]+", a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def write(path, text):
    path.write_text(text)
    return path


def flatten_includes(path, origin):
    """The text of a zone file with its $INCLUDEs expanded in place (ldns-read-zone does
    not implement $INCLUDE). An $INCLUDE's origin argument applies to the included text
    only (RFC 1035 section 5.1)."""
    out = []
    for line in path.read_text().splitlines():
        words = line.split()
        if words and words[0].upper() == "$ORIGIN":
            origin = words[1]
        if words and words[0].upper() == "$INCLUDE":
            inc_origin = words[2] if len(words) > 2 else origin
            out.append(f"$ORIGIN {inc_origin}")
            out.append(flatten_includes(path.parent / words[1], inc_origin))
            out.append(f"$ORIGIN {origin}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def normalise_owner(line):
    """A presentation line with its owner in one spelling ('weird\\046label' and
    'weird\\.label' are the same name; owners compare case-insensitively)."""
    owner, rest = line.split("\t", 1)
    return dns.name.from_text(owner).to_text().lower() + "\t" + rest


def ldns_records(path):
    """ldns-read-zone's records of a zone file: one line each, owner normalised, the
    DNSKEY key-id comments it appends stripped, sorted."""
    p = subprocess.run(["ldns-read-zone", str(path)], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    lines = []
    for line in p.stdout.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        line = re.sub(r" ;\{id = [^}]*\}$", "", line)
        lines.append(normalise_owner(line))
    return sorted(lines)


def gtm_records(export_text):
    return sorted(normalise_owner(line) for line in body(export_text))


def check_export_format(text, zone):
    """An export is a zone file: header, SOA first, then canonical (name, type) order,
    absolute owners in lower case, and dnspython can load it."""
    m = EXPORT_HEADER_RE.match(text)
    assert m, text[:200]
    lines = body(text)
    assert m.group(1) == zone and int(m.group(3)) == len(lines)
    assert lines[0].split("\t")[3] == "SOA"
    assert lines[0].split("\t")[4].split()[2] == m.group(2)
    keys = []
    for line in lines[1:]:
        owner, ttl, cls, rtype, rdata = line.split("\t", 4)
        assert owner.endswith(".") and owner == owner.lower() and cls == "IN", line
        keys.append((dns.name.from_text(owner), dns.rdatatype.from_text(rtype)))
    assert keys == sorted(keys), "export order is not canonical"
    z = dns.zone.from_text(text, origin=zone, relativize=False)
    assert sum(1 for _ in z.iterate_rdatas()) == len(lines)


# ---- import and export ------------------------------------------------------------------

def test_example_zone_round_trip(tmp_path, zones_dir):
    a = Gtmctl(tmp_path / "a.db")
    a.run("init")
    src = zones_dir / "example.com.zone"
    p = a.run("zone", "import", "example.com", src)
    assert p.stdout == (f"zone example.com. imported from {src}: 42 records (+42 -0), "
                        "serial 2024061501\n")
    assert p.stderr == ""
    b_text = export(a, "example.com")
    check_export_format(b_text, "example.com.")
    assert b_text.startswith(";; zone example.com. serial 2024061501, 42 records\n")
    b = write(tmp_path / "B.zone", b_text)

    fresh = Gtmctl(tmp_path / "fresh.db")
    fresh.run("init")
    p = fresh.run("zone", "import", "example.com", b)
    assert p.stdout == (f"zone example.com. imported from {b}: 42 records (+42 -0), "
                        "serial 2024061501\n")
    c_text = export(fresh, "example.com")
    assert body(c_text) == body(b_text)
    assert c_text.splitlines()[0] == b_text.splitlines()[0]

    # The export read back into its own zone changes nothing, not even the serial.
    p = a.run("zone", "import", "example.com", b)
    assert re.fullmatch(rf"zone example\.com\. unchanged by {re.escape(str(b))}: 42 records, "
                        r"serial \d+\n", p.stdout)
    assert body(export(a, "example.com"))[1:] == body(b_text)[1:]


def test_example_zone_matches_ldns(tmp_path, zones_dir, gtmctl):
    """Every record of the original file, as ldns reads it, with the same owner, TTL,
    type and RDATA; and nothing else."""
    flat = write(tmp_path / "flat.zone",
                 flatten_includes(zones_dir / "example.com.zone", "example.com."))
    expected = ldns_records(flat)
    assert len(expected) == 42
    gtmctl.run("zone", "import", "example.com", zones_dir / "example.com.zone")
    assert gtm_records(export(gtmctl, "example.com")) == expected


def test_export_of_a_zone_that_is_not_there(gtmctl):
    p = gtmctl.run("zone", "export", "nosuch.test", rc=1)
    assert p.stdout == ""
    assert p.stderr == "gtmctl: zone export: no zone nosuch.test. in the store\n"


# Zones in the styles other software exports. Each is imported into a new zone, exported,
# the export imported into a fresh store and exported again.
PROVIDER_ZONES = {
    # named-compilezone -s full (BIND's default output): absolute names, TTL and class on
    # every line, ';' inside strings escaped.
    "bind-full": ("example.net", r"""example.net.				      3600 IN SOA	ns1.example.net. hostmaster.example.net. 2024052001 3600 900 604800 300
example.net.				      3600 IN NS	ns1.example.net.
example.net.				      3600 IN NS	ns2.example.org.
example.net.				      3600 IN A	192.0.2.1
example.net.				      3600 IN MX	10 mail.example.net.
example.net.				      3600 IN TXT	"v=spf1 mx -all"
_dmarc.example.net.			      3600 IN TXT	"v=DMARC1\; p=none\; rua=mailto:d@example.net"
api.example.net.			      300 IN A	192.0.2.30
api.example.net.			      300 IN A	192.0.2.31
mail.example.net.			      3600 IN A	192.0.2.25
sel._domainkey.example.net.		      3600 IN TXT	"v=DKIM1\; k=rsa\; " "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC5"
www.example.net.			      3600 IN CNAME	example.net.
"""),
    # named-compilezone -s relative: $ORIGIN ., $TTL changes, blank owners, no class
    # or TTL on most lines, the SOA spread over lines with comments.
    "bind-relative": ("example.net", r"""$ORIGIN .
$TTL 3600	; 1 hour
example.net		IN SOA	ns1.example.net. hostmaster.example.net. (
				2024052001 ; serial
				3600       ; refresh (1 hour)
				900        ; retry (15 minutes)
				604800     ; expire (1 week)
				300        ; minimum (5 minutes)
				)
			NS	ns1.example.net.
			NS	ns2.example.org.
			A	192.0.2.1
			MX	10 mail.example.net.
			TXT	"v=spf1 mx -all"
$ORIGIN example.net.
_dmarc			TXT	"v=DMARC1\; p=none\; rua=mailto:d@example.net"
$TTL 300	; 5 minutes
api			A	192.0.2.30
			A	192.0.2.31
$TTL 3600	; 1 hour
mail			A	192.0.2.25
$ORIGIN _domainkey.example.net.
sel			TXT	"v=DKIM1\; k=rsa\; " "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC5"
$ORIGIN example.net.
www			CNAME	example.net.
"""),
    # cli53 export of a Route 53 hosted zone: '@', relative names, routing policies in
    # comments; a wildcard label spelled as an RFC 1035 escape (decimal: \042 is '*').
    "route53": ("example.com", r"""$ORIGIN example.com.
$TTL 300
@	900	IN	SOA	ns-2048.awsdns-64.net. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400
@	172800	IN	NS	ns-2048.awsdns-64.net.
@	172800	IN	NS	ns-1.awsdns-00.com.
@	172800	IN	NS	ns-512.awsdns-00.co.uk.
@	300	IN	MX	10 inbound-smtp.eu-west-1.amazonaws.com.
@	300	IN	TXT	"v=spf1 include:amazonses.com ~all"
@	300	IN	CAA	0 issue "amazon.com"
_amazonses	1800	IN	TXT	"aBcDeF0123456789+/aBcDeF0123456789="
abc123._domainkey	1800	IN	CNAME	abc123.dkim.amazonses.com.
api	60	IN	A	192.0.2.10 ; AWS routing="WEIGHTED" weight=70 identifier="blue"
api	60	IN	A	192.0.2.11 ; AWS routing="WEIGHTED" weight=30 identifier="green"
eu	60	IN	A	192.0.2.20 ; AWS routing="LATENCY" region="eu-west-1" identifier="eu"
\042.dev	300	IN	A	192.0.2.40
_sip._tcp	300	IN	SRV	10 60 5060 sip.example.com.
sip	300	IN	AAAA	2001:db8::5060
www	300	IN	CNAME	example.com.
"""),
    # Cloudflare's dashboard export: ';;' banner, sections, TTL 1 ("auto"), cf_tags and
    # comments after records.
    "cloudflare": ("example.org", r""";;
;; Domain:     example.org.
;; Exported:   2024-06-15 10:11:12
;;
;; This file is intended for use for informational and archival
;; purposes ONLY and MUST be edited before use on a production
;; DNS server.  In particular, you must:
;;   -- update the SOA record with the correct authoritative name server
;;   -- update the SOA record with the contact e-mail address information
;;   -- update the NS record(s) with the authoritative name servers for this domain.
;;
;; For further information, please consult the BIND documentation
;; located on the following website:
;;
;; http://www.isc.org/
;;
;; And RFC 1035:
;;
;; http://www.ietf.org/rfc/rfc1035.txt
;;
;; Please note that we do NOT offer technical support for any use
;; of this zone data, the BIND daemon, or any other third-party
;; DNS software.
;;
;; Use at your own risk.
;; SOA Record
example.org	3600	IN	SOA	ada.ns.cloudflare.com. dns.cloudflare.com. 2047483562 10000 2400 604800 3600

;; NS Records
example.org.	86400	IN	NS	ada.ns.cloudflare.com.
example.org.	86400	IN	NS	bob.ns.cloudflare.com.

;; A Records
example.org.	1	IN	A	192.0.2.1 ; cf_tags=cf-proxied:true
www.example.org.	1	IN	A	192.0.2.1 ; web front cf_tags=cf-proxied:false,env:"prod, eu"

;; AAAA Records
www.example.org.	1	IN	AAAA	2001:db8::1 ; cf_tags=cf-proxied:false

;; CAA Records
example.org.	1	IN	CAA	0 issue "letsencrypt.org"

;; CNAME Records
shop.example.org.	1	IN	CNAME	shops.myshopify.com. ; cf_tags=cf-proxied:false

;; MX Records
example.org.	1	IN	MX	10 route1.mx.cloudflare.net.
example.org.	1	IN	MX	20 route2.mx.cloudflare.net.

;; SRV Records
_sip._tls.example.org.	1	IN	SRV	100 1 443 sipdir.online.lync.com.

;; TXT Records
example.org.	1	IN	TXT	"v=spf1 include:_spf.mx.cloudflare.net ~all"
_dmarc.example.org.	1	IN	TXT	"v=DMARC1; p=none; rua=mailto:x@example.org"
"""),
}


# What the import says of the exports' extras, which a record alone cannot carry.
PROVIDER_WARNINGS = {
    "route53": "gtmctl: zone import: warning: {src}:12: a Route 53 routing policy (cli53's "
               "'AWS routing=') on 3 records: imported as plain records, answered all together; "
               "for weighted, latency, geographic or failover answers make the name a managed "
               "name (gtmctl policy set)\n",
    # Cloudflare's 'automatic' TTL is written as 1
    "cloudflare": "gtmctl: zone import: warning: {src}:34: Cloudflare's cf-proxied:true on 1 "
                  "record: Cloudflare answered with its own addresses and passed the traffic on "
                  "to the ones written, which are now given out directly\n"
                  # the SOA's owner, written without its final dot
                  "gtmctl: zone import: warning: {src}:27: a name written in full without its "
                  "final dot on 1 record: taken as the full name, not as relative to the origin "
                  "(which would end in it twice); Cloudflare's exports write their SOA's owner "
                  "so\n"
                  "gtmctl: zone import: warning: 10 records have a TTL of 1 second (Cloudflare's "
                  "exports write 1 for its automatic TTL, which it serves as 300); imported as "
                  "written\n",
}


@pytest.mark.parametrize("style", sorted(PROVIDER_ZONES))
def test_provider_export_imports_and_round_trips(tmp_path, gtmctl, style):
    zone, text = PROVIDER_ZONES[style]
    src = write(tmp_path / f"{style}.zone", text)
    # ldns-read-zone reads a file without $ORIGIN against the root: give it the zone's,
    # and the SOA's owner as meant where the export leaves out its final dot
    meant = text.replace(f"\n{zone}\t3600\tIN\tSOA", f"\n{zone}.\t3600\tIN\tSOA")
    expected = ldns_records(src if "$ORIGIN" in text
                            else write(tmp_path / "with-origin.zone", f"$ORIGIN {zone}.\n{meant}"))
    p = gtmctl.run("zone", "import", zone, src)
    assert p.stderr == PROVIDER_WARNINGS.get(style, "").format(src=src)
    m = re.fullmatch(rf"zone {re.escape(zone)}\. imported from {re.escape(str(src))}: "
                     r"(\d+) records \(\+(\d+) -0\), serial (\d+)\n", p.stdout)
    assert m, p.stdout
    assert int(m.group(1)) == int(m.group(2)) == len(expected)
    first = export(gtmctl, zone)
    check_export_format(first, zone + ".")
    assert int(m.group(3)) == int(EXPORT_HEADER_RE.match(first).group(2))
    assert gtm_records(first) == expected

    fresh = Gtmctl(tmp_path / "fresh.db")
    fresh.run("init")
    fresh.run("zone", "import", zone, write(tmp_path / "exported.zone", first))
    second = export(fresh, zone)
    assert body(second) == body(first)
    assert second.splitlines()[0] == first.splitlines()[0]


def test_provider_specifics_survive(tmp_path, gtmctl):
    """Spot checks of what the provider styles must not lose."""
    for style in ("bind-relative", "route53", "cloudflare"):
        zone, text = PROVIDER_ZONES[style]
        gtmctl.run("zone", "import", zone, write(tmp_path / f"{style}.zone", text))
    lines = set(body(export(gtmctl, "example.net")))
    assert ("example.net.\t3600\tIN\tSOA\tns1.example.net. hostmaster.example.net. "
            "2024052001 3600 900 604800 300") in lines
    assert '_dmarc.example.net.\t3600\tIN\tTXT\t"v=DMARC1; p=none; rua=mailto:d@example.net"' \
        in lines
    assert ('sel._domainkey.example.net.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; " '
            '"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC5"') in lines
    assert "api.example.net.\t300\tIN\tA\t192.0.2.31" in lines
    assert "mail.example.net.\t3600\tIN\tA\t192.0.2.25" in lines
    lines = set(body(export(gtmctl, "example.com")))
    assert "*.dev.example.com.\t300\tIN\tA\t192.0.2.40" in lines
    assert "api.example.com.\t60\tIN\tA\t192.0.2.11" in lines
    assert "example.com.\t172800\tIN\tNS\tns-512.awsdns-00.co.uk." in lines
    lines = set(body(export(gtmctl, "example.org")))
    assert "www.example.org.\t1\tIN\tA\t192.0.2.1" in lines
    assert ("example.org.\t3600\tIN\tSOA\tada.ns.cloudflare.com. dns.cloudflare.com. "
            "2047483562 10000 2400 604800 3600") in lines


def test_import_ttl_rules(tmp_path, gtmctl):
    """$TTL with units; an RRset with mixed TTLs takes the TTL of its first record (with a
    warning naming the file and line); duplicates are dropped with a warning."""
    src = write(tmp_path / "ttl.zone", """$ORIGIN t.test.
$TTL 1h30m
@ SOA ns1 h 7 2 3 4 5
@ NS ns1
ns1 A 192.0.2.1
www 600 A 192.0.2.1
www 300 A 192.0.2.1
www 300 A 192.0.2.2
""")
    p = gtmctl.run("zone", "import", "t.test", src)
    assert p.stderr == (
        f"gtmctl: zone import: warning: {src}:6: the A records of www.t.test. have different "
        "TTLs; using 600 (RFC 2181 section 5.2)\n"
        "gtmctl: zone import: warning: 1 duplicate records ignored\n")
    assert p.stdout == f"zone t.test. imported from {src}: 5 records (+5 -0), serial 7\n"
    assert body(export(gtmctl, "t.test")) == [
        "t.test.\t5400\tIN\tSOA\tns1.t.test. h.t.test. 7 2 3 4 5",
        "t.test.\t5400\tIN\tNS\tns1.t.test.",
        "ns1.t.test.\t5400\tIN\tA\t192.0.2.1",
        "www.t.test.\t600\tIN\tA\t192.0.2.1",
        "www.t.test.\t600\tIN\tA\t192.0.2.2",
    ]


def test_import_without_ttl_directive_uses_last_explicit_ttl(tmp_path, gtmctl):
    """RFC 1035 section 5.1: without $TTL, a record with no TTL has the last TTL stated
    explicitly before it. That is what BIND and ldns-read-zone (our reference) do; old
    zone files written before $TTL (RFC 2308) depend on it."""
    src = write(tmp_path / "rfc1035.zone", """$ORIGIN old.test.
@ 600 IN SOA ns1 h 1 2 3 4 5
  IN NS ns1
ns1 IN A 192.0.2.1
ns2 1200 IN A 192.0.2.2
ns3 IN A 192.0.2.3
""")
    expected = ldns_records(src)
    assert expected == sorted([
        "old.test.\t600\tIN\tSOA\tns1.old.test. h.old.test. 1 2 3 4 5",
        "old.test.\t600\tIN\tNS\tns1.old.test.",
        "ns1.old.test.\t600\tIN\tA\t192.0.2.1",
        "ns2.old.test.\t1200\tIN\tA\t192.0.2.2",
        "ns3.old.test.\t1200\tIN\tA\t192.0.2.3",
    ])
    gtmctl.run("zone", "import", "old.test", src)
    assert gtm_records(export(gtmctl, "old.test")) == expected


def test_import_without_any_ttl(tmp_path, gtmctl):
    """No $TTL and no TTL before: an SOA record takes its MINIMUM, and the records after
    it that give none take that too (BIND's rule, with its warning); a record before any
    TTL gets 3600, with a warning. A TTL of 1 is kept (the warning about Cloudflare's
    'automatic' TTL is for zones whose SOA names Cloudflare's servers)."""
    src = write(tmp_path / "old.zone", """@ IN SOA ns1 h 1 2 3 4 600
  IN NS ns1
ns1 IN A 192.0.2.1
cf 1 IN A 192.0.2.2
""")
    p = gtmctl.run("zone", "import", "old.test", src)
    assert p.stderr == (
        f"gtmctl: zone import: warning: {src}:1: no TTL, and no $TTL before: the SOA record "
        "and the records after it that give none get its MINIMUM, 600, as in BIND\n")
    assert body(export(gtmctl, "old.test")) == [
        "old.test.\t600\tIN\tSOA\tns1.old.test. h.old.test. 1 2 3 4 600",
        "old.test.\t600\tIN\tNS\tns1.old.test.",
        "cf.old.test.\t1\tIN\tA\t192.0.2.2",
        "ns1.old.test.\t600\tIN\tA\t192.0.2.1",
    ]
    src = write(tmp_path / "nottl.zone", "www A 192.0.2.1\n@ SOA ns1 h 1 2 3 4 600\n@ NS ns1\n")
    p = gtmctl.run("zone", "import", "nottl.test", src)
    assert p.stderr == (f"gtmctl: zone import: warning: {src}:1: no TTL, and no $TTL or TTL "
                        "before: using 3600\n"
                        f"gtmctl: zone import: warning: {src}:2: no TTL, and no $TTL before: the "
                        "SOA record and the records after it that give none get its MINIMUM, "
                        "600, as in BIND\n")
    assert "www.nottl.test.\t3600\tIN\tA\t192.0.2.1" in body(export(gtmctl, "nottl.test"))


def test_import_lists_every_error(tmp_path, gtmctl):
    """A file exported from another provider is fixed in one pass: each bad line is
    reported (up to 20), then nothing is changed."""
    src = write(tmp_path / "cf.zone", GEN_HEAD + """www A 192.0.2.1
lb ALIAS lb.example.net.
dkim TXT "v=DKIM1; k=rsa; p=""" + "A" * 300 + """"
mail A 192.0.2.1
old A 192.0.2
""")
    p = gtmctl.run("zone", "import", "cf.test", src, rc=1)
    lines = p.stderr.splitlines()
    assert [line.split(": ")[2] for line in lines] == [f"{src}:5", f"{src}:6", f"{src}:8"]
    assert "ALIAS (ANAME) is a provider's extension" in lines[0]
    assert lines[1].endswith("a string holds at most 255 bytes (RFC 1035 section 3.3): write "
                             "longer TXT data as several quoted strings")
    assert lines[2].endswith("in 'old A 192.0.2'; nothing was changed")
    gtmctl.run("zone", "export", "cf.test", rc=1)

    src = write(tmp_path / "many.zone", GEN_HEAD + "".join(f"h{i} A 192.0.2\n" for i in range(30)))
    p = gtmctl.run("zone", "import", "cf.test", src, rc=1)
    lines = p.stderr.splitlines()
    assert len(lines) == 21
    assert lines[-1] == (f"gtmctl: zone import: {src}:23: stopped after 20 errors; nothing "
                         "was changed")


# ---- rejected imports change nothing ----------------------------------------------------

# (file name, text, the stderr message after "gtmctl: zone import: "; {f} is the file).
GEN_HEAD = "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"

BAD_FILES = [
    ("syntax", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.300\n",
     "{f}:5: Syntax error, could not parse the RR's rdata in 'www A 192.0.2.300'"),
    ("cname-and-data",
     "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww CNAME ns1\nwww A 192.0.2.3\n",
     "{f}:4: www.bad.test. has a CNAME and other data (see line 5); a CNAME must be alone "
     "at its name (RFC 1034 section 3.6.2)"),
    ("two-cnames",
     "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww CNAME ns1\nwww CNAME ns2\n",
     r"{f}:\d: www\.bad\.test\. has a CNAME and other data \(see line \d\); .*"),
    # the RRSIG between them is left out (gtm serves zones unsigned), not an excuse
    ("cname-rrsig-caa",
     "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww CNAME ns1\n"
     "www RRSIG CNAME 13 3 300 20300101000000 20200101000000 12345 bad.test. aGVsbG8=\n"
     "www CAA 0 issue \"ca.example\"\n",
     "{f}:6: www.bad.test. has a CNAME and other data (see line 4); a CNAME must be alone "
     "at its name (RFC 1034 section 3.6.2)"),
    ("two-dnames",
     "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nd DNAME a.example.\nd DNAME b.example.\n",
     "{f}:5: d.bad.test. has a second DNAME (see line 4); a name has at most one "
     "(RFC 6672 section 2.4)"),
    ("data-below-dname",
     "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nd DNAME a.example.\nx.y.d TXT \"hidden\"\n",
     "{f}:5: x.y.d.bad.test. is below the DNAME at d.bad.test. (line 4): a name below a "
     "DNAME cannot have data (RFC 6672 section 2.4)"),
    ("outside", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww.example.com. A 192.0.2.3\n",
     "{f}:4: www.example.com. is outside the zone bad.test."),
    ("suffix-not-below",
     "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nnotbad.test. A 192.0.2.3\n",
     "{f}:4: notbad.test. is outside the zone bad.test."),
    ("two-soas", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n@ SOA ns2 h 2 2 3 4 5\n",
     r"{f}:[24]: second SOA record \(the first is at {f}:[24]\)"),
    ("soa-below-apex", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nsub SOA ns1 h 1 2 3 4 5\n",
     "{f}:4: SOA record for sub.bad.test., not at the zone apex bad.test."),
    ("no-soa", "$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n",
     "{f}: no SOA record for the zone apex bad.test."),
    ("bad-include", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n$INCLUDE missing.zone\n",
     "{f}:4: $INCLUDE {d}/missing.zone: No such file or directory"),
    ("error-in-include", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n$INCLUDE inc.zone\n",
     "{d}/inc.zone:2: Syntax error, could not parse the RR's rdata in 'b A not-an-address'"),
    ("include-loop", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n$INCLUDE loop.zone\n",
     r"{d}/loop\.zone:1: \$INCLUDE nested deeper than 16 files \(a loop\?\)"),
    ("unterminated-quote",
     "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nt TXT \"never closed\nns1 A 192.0.2.1\n",
     "{f}:4: unterminated quoted string"),
    ("unclosed-paren", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nmx MX ( 10\n  mail\n",
     "{f}:4: '(' without ')'"),
    ("class-ch", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nversion CH TXT \"1.0\"\n",
     "{f}:4: class CH is not served (only IN)"),
    ("ttl-too-big", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nbig 2147483648 A 192.0.2.1\n",
     "{f}:4: '2147483648' is not a TTL (seconds up to 2147483647, or like 1h30m)"),
    # ldns would read 10 of "10x", 0 of "0x10" and wrap 4294967297 around to 1
    ("ttl-garbage", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nbig 10x A 192.0.2.1\n",
     "{f}:4: '10x' is not a TTL (seconds up to 2147483647, or like 1h30m)"),
    ("ttl-wraps", "$TTL 4294967297\n@ SOA ns1 h 1 2 3 4 5\n",
     "{f}:1: $TTL: '4294967297' is not a TTL (seconds up to 2147483647, or like 1h30m)"),
    ("generate-range",
     GEN_HEAD + "$GENERATE 9-1 host$ A 192.0.2.$\n",
     "{f}:4: $GENERATE: '9-1' is not a range (START-STOP or START-STOP/STEP, "
     "0 <= START <= STOP < 2^32)"),
    ("generate-step",
     GEN_HEAD + "$GENERATE 1-9/0 host$ A 192.0.2.$\n",
     "{f}:4: $GENERATE: '1-9/0' is not a range (START-STOP or START-STOP/STEP, "
     "0 <= START <= STOP < 2^32)"),
    ("generate-base",
     GEN_HEAD + "$GENERATE 1-9 host${0,2,b} A 192.0.2.$\n",
     "{f}:4: $GENERATE: a base other than d, o, x, X, n or N"),
    ("generate-brace",
     GEN_HEAD + "$GENERATE 1-9 host${0,2 A 192.0.2.$\n",
     "{f}:4: $GENERATE: a '${' without its '}'"),
    ("generate-negative",
     GEN_HEAD + "$GENERATE 1-9 host${-2} A 192.0.2.$\n",
     "{f}:4: $GENERATE: a value below 0"),
    ("generate-huge",
     GEN_HEAD + "$GENERATE 0-4294967295 host$ A 192.0.2.1\n",
     "{f}:4: $GENERATE: 0-4294967295 makes more than 1000000 records"),
    ("generate-no-data",
     GEN_HEAD + "$GENERATE 1-9 host$ 60 IN A\n",
     "{f}:4: $GENERATE: no data after the type"),
    # ldns would read "abc" as "abc0": a mistyped digest must not be served
    ("odd-hex",
     GEN_HEAD + "dept NS ns1\ndept DS 12345 13 2 ( 3490a6806d47f17a34c29e2ce80e8a99\n"
     "  9ffbe4be 3 )\n",
     "{f}:5: DS data of 41 hex digits: an odd number, a digit is missing"),
    # RDATA in the generic form (RFC 3597) must be exactly its type's fields: the server
    # would send it as it stands
    ("generic-empty-cname", GEN_HEAD + "www CNAME \\# 0\n",
     "{f}:4: 0 bytes of RDATA do not make a record of type CNAME"),
    ("generic-long-a", GEN_HEAD + "www A \\# 5 0102030405\n",
     "{f}:4: 5 bytes of RDATA do not make a record of type A (its fields take 4)"),
    # ldns wraps 32-bit fields and takes any angle: the record would be served changed
    ("soa-serial-wraps", "@ SOA ns1 h ( 4294967296 2 3 4 5 )\n",
     "{f}:1: SOA serial '4294967296': a number up to 4294967295"),
    ("soa-serial-negative", "@ SOA ns1 h -1 2 3 4 5\n",
     "{f}:1: SOA serial '-1': a number up to 4294967295"),
    ("soa-timer-wraps", "@ SOA ns1 h 1 2 3 4294967300 5\n",
     "{f}:1: SOA expire '4294967300': seconds up to 4294967295, or like 1h30m"),
    ("loc-latitude", GEN_HEAD + "here LOC 91 0 0 N 0 0 0 E 0m\n",
     "{f}:4: LOC latitude out of range (at most 90 degrees)"),
    ("loc-longitude", GEN_HEAD + "here LOC 0 0 0 N 180 0 1 W 0m\n",
     "{f}:4: LOC longitude out of range (at most 180 degrees)"),
    # other providers' extensions: what to do instead
    ("aws-alias",
     GEN_HEAD + "@ 86400 AWS ALIAS A dualstack.lb.example.net. Z35SXDOTRQ7X7K true\n",
     "{f}:4: Syntax error, could not parse the RR's rdata in '@ 86400 AWS ALIAS A "
     "dualstack.lb.example.net. Z35SXDOTRQ7X7K true': a Route 53 alias (cli53's AWS ALIAS) "
     "is no DNS record: write the A/AAAA records it stands for, or make the name a managed "
     "name (gtmctl policy set)"),
    ("pdns-lua",
     GEN_HEAD + "www IN LUA A \"ifportup(443, {'192.0.2.1'})\"\n",
     "{f}:4: Syntax error, could not parse the RR's rdata in 'www IN LUA A \"ifportup(443, "
     "{'192.0.2.1'})\"': a PowerDNS LUA record is no DNS record: gtm's policies choose "
     "answers by health, place and weight (gtmctl policy set)"),
    ("windows-age",
     GEN_HEAD + "dc2 [AGE:3652143] 1200 A 192.0.2.5\n",
     "{f}:4: Syntax error, could not parse the RR's rdata in 'dc2 [AGE:3652143] 1200 A "
     "192.0.2.5': a Windows DNS aging mark ([AGE:...]) is no part of a record: remove it"),
    # one value out of its type's range: the record as generated
    ("generate-record",
     GEN_HEAD + "\n$GENERATE 250-260 host$ A 192.0.2.$\n",
     "{f}:5: Syntax error, could not parse the RR's rdata in 'host256 A 192.0.2.256'"),
    ("bad-ttl-directive", "$TTL soon\n@ SOA ns1 h 1 2 3 4 5\n",
     "{f}:1: $TTL: 'soon' is not a TTL (seconds up to 2147483647, or like 1h30m)"),
]


def regex_of(template, f, d):
    """BAD_FILES messages are literal unless they contain a regex escape."""
    if "\\" in template:
        return template.replace("{f}", re.escape(str(f))).replace("{d}", re.escape(str(d)))
    return re.escape(template.replace("{f}", str(f)).replace("{d}", str(d)))


@pytest.mark.parametrize("name,text,message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_rejected_import_changes_nothing(tmp_path, gtmctl, name, text, message):
    gtmctl.run("zone", "import", "bad.test",
               write(tmp_path / "good.zone", "$TTL 300\n@ SOA ns1 h 5 2 3 4 5\n@ NS ns1\n"
                                             "ns1 A 192.0.2.1\nwww A 192.0.2.80\n"))
    gtmctl.run("record", "add", "bad.test", "txt", "TXT", "60", "kept")
    write(tmp_path / "inc.zone", "a A 192.0.2.1\nb A not-an-address\n")
    write(tmp_path / "loop.zone", "$INCLUDE loop.zone\n")
    before = without_timestamp(export(gtmctl, "bad.test"))
    listing = gtmctl.run("zone", "list").stdout
    rows = audit_rows(gtmctl)
    src = write(tmp_path / f"{name}.zone", text)

    p = gtmctl.run("zone", "import", "bad.test", src, rc=1)
    assert p.stdout == ""
    assert re.fullmatch("gtmctl: zone import: " + regex_of(message, src, tmp_path) +
                        "; nothing was changed\n", p.stderr), p.stderr
    assert without_timestamp(export(gtmctl, "bad.test")) == before
    assert gtmctl.run("zone", "list").stdout == listing
    assert audit_rows(gtmctl) == rows


@pytest.mark.parametrize("name", ["syntax", "cname-rrsig-caa", "no-soa"])
def test_rejected_import_does_not_create_the_zone(tmp_path, gtmctl, name):
    text = dict((b[0], b[1]) for b in BAD_FILES)[name]
    listing = gtmctl.run("zone", "list").stdout
    rows = audit_rows(gtmctl)
    p = gtmctl.run("zone", "import", "bad.test", write(tmp_path / "x.zone", text), rc=1)
    assert p.stderr.endswith("; nothing was changed\n")
    assert gtmctl.run("zone", "list").stdout == listing
    assert audit_rows(gtmctl) == rows
    gtmctl.run("zone", "export", "bad.test", rc=1)


def test_import_of_unreadable_files(tmp_path, gtmctl):
    missing = tmp_path / "missing.zone"
    p = gtmctl.run("zone", "import", "x.test", missing, rc=1)
    assert p.stderr == (f"gtmctl: zone import: {missing}: No such file or directory; "
                        "nothing was changed\n")
    p = gtmctl.run("zone", "import", "x.test", tmp_path, rc=1)
    assert p.stderr == f"gtmctl: zone import: {tmp_path}: Is a directory; nothing was changed\n"
    p = gtmctl.run("zone", "import", "x.test", "/dev/null", rc=1)
    assert p.stderr == ("gtmctl: zone import: /dev/null: no SOA record for the zone apex "
                        "x.test.; nothing was changed\n")
    assert audit_rows(gtmctl) == 1


@pytest.mark.parametrize("arg", ["-", "/dev/stdin"])
def test_import_from_standard_input(gtmctl, arg):
    """A zone piped in: '-' or /dev/stdin (a pipe, read to its end)."""
    p = gtmctl.run("zone", "import", "in.test", arg,
                   input="$TTL 300\n@ SOA ns1 h 7 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n")
    assert p.stdout == "zone in.test. imported from /dev/stdin: 3 records (+3 -0), serial 7\n"


def test_import_expands_generate(tmp_path, gtmctl):
    """BIND's $GENERATE, as its manual's examples expand (modifiers, nibbles), with a
    step, TTL and class, data of several fields, an escaped '$' and a comment."""
    src = write(tmp_path / "gen.zone", """$ORIGIN example.
$TTL 300
@ SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
$GENERATE 0-2 HOST-${0,4,d} A 1.2.3.${1,0,d}
$GENERATE 1024-1026 ${0,3,n} AAAA 2001:db8::${0,4,x}
$GENERATE 1-10/4 dhcp-$ 60 IN A 10.0.0.$ ; every fourth
$GENERATE 254-255 ${0,3,N}.r PTR h${-250,2,X}
$GENERATE 1-2 m$ MX 10 mail$
$GENERATE 7-7 p\\$$ TXT "cost \\$$ ${0,3,o}"
""")
    p = gtmctl.run("zone", "import", "example", src)
    assert (p.stdout, p.stderr) == (f"zone example. imported from {src}: 17 records (+17 -0), "
                                    "serial 1\n", "")
    assert sorted(body(export(gtmctl, "example"))[2:]) == sorted([
        "host-0000.example.\t300\tIN\tA\t1.2.3.1",
        "host-0001.example.\t300\tIN\tA\t1.2.3.2",
        "host-0002.example.\t300\tIN\tA\t1.2.3.3",
        "0.0.4.example.\t300\tIN\tAAAA\t2001:db8::400",
        "1.0.4.example.\t300\tIN\tAAAA\t2001:db8::401",
        "2.0.4.example.\t300\tIN\tAAAA\t2001:db8::402",
        "dhcp-1.example.\t60\tIN\tA\t10.0.0.1",
        "dhcp-5.example.\t60\tIN\tA\t10.0.0.5",
        "dhcp-9.example.\t60\tIN\tA\t10.0.0.9",
        "e.f.r.example.\t300\tIN\tPTR\th04.example.",
        "f.f.r.example.\t300\tIN\tPTR\th05.example.",
        "m1.example.\t300\tIN\tMX\t10 mail1.example.",
        "m2.example.\t300\tIN\tMX\t10 mail2.example.",
        "ns1.example.\t300\tIN\tA\t192.0.2.1",
        "p\\0367.example.\t300\tIN\tTXT\t\"cost $7 007\"",
    ])


def test_record_add_says_why_ldns_refused(gtmctl):
    """The hints zone import gives, for record add: a string over 255 bytes (a DKIM key
    pasted as one argument), another provider's extension as the type."""
    gtmctl.run("zone", "add", "hint.test", "--ns", "ns1.example.net")
    key = "v=DKIM1; k=rsa; p=" + "A" * 300
    p = gtmctl.run("record", "add", "hint.test", "s1._domainkey", "TXT", "300", key, rc=1)
    assert p.stderr.endswith("': a string holds at most 255 bytes (RFC 1035 section 3.3): write "
                             "longer TXT data as several quoted strings\n"), p.stderr
    gtmctl.run("record", "add", "hint.test", "s1._domainkey", "TXT", "300", key[:200], key[200:])
    p = gtmctl.run("record", "add", "hint.test", "www", "ALIAS", "300", "lb.example.net.", rc=2)
    assert p.stderr.startswith("gtmctl: record add: 'ALIAS' is not a record type: ALIAS (ANAME) "
                               "is a provider's extension, no DNS record: write the A/AAAA "
                               "records it stands for, or make the name a managed name (gtmctl "
                               "policy set)\n")


def test_record_add_refuses_odd_hex(gtmctl):
    gtmctl.run("zone", "add", "h.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "h.test", "web", "SSHFP", "300", "4", "2", "abc", rc=1)
    assert p.stderr == ("gtmctl: record add: SSHFP data of 3 hex digits: an odd number, a "
                        "digit is missing\n")
    gtmctl.run("record", "add", "h.test", "web", "SSHFP", "300", "4", "2", "abcd")
    assert body(export(gtmctl, "h.test"))[-1] == "web.h.test.\t300\tIN\tSSHFP\t4 2 abcd"


def test_record_add_generic_rdata(gtmctl):
    """RFC 3597 §5: RDATA of a known type in the generic form is kept in the type's own
    form; RDATA that is not exactly the type's fields (none for a CNAME, a compression
    pointer or a byte too few or too many in an MX) is refused: the server would send it
    as it stands."""
    gtmctl.run("zone", "add", "g.test", "--ns", "ns1.example.net")
    gtmctl.run("record", "add", "g.test", "a", "A", "300", "\\#", "4", "C0000201")
    gtmctl.run("record", "add", "g.test", "t", "TYPE65534", "300", "\\#", "0")
    for args, msg in ((["x", "CNAME", "300", "\\#", "0"],
                       "0 bytes of RDATA do not make a record of type CNAME"),
                      (["m", "MX", "300", "\\#", "6", "000a0161c00c"],
                       "Invalid compression pointer in 'm 300 IN MX \\# 6 000a0161c00c'"),
                      (["m", "MX", "300", "\\#", "2", "000a"],
                       "2 bytes of RDATA do not make a record of type MX"),
                      (["m", "MX", "300", "\\#", "6", "000a01610000"],
                       "6 bytes of RDATA do not make a record of type MX (its fields take 5)")):
        p = gtmctl.run("record", "add", "g.test", *args, rc=1)
        assert p.stderr == f"gtmctl: record add: {msg}\n"
    assert body(export(gtmctl, "g.test"))[-2:] == ["a.g.test.\t300\tIN\tA\t192.0.2.1",
                                                  "t.g.test.\t300\tIN\tTYPE65534\t\\# 0"]


def test_soa_and_loc_fields_in_range(tmp_path, gtmctl):
    """SOA timers in BIND's units and at their 32-bit limits, LOC at the poles and the
    antimeridian, are kept as written; one past the limit is refused (ldns wraps or takes
    it), by record add too."""
    src = write(tmp_path / "r.zone", "$TTL 1h\n@ SOA ns1 h 4294967295 1h 1d 1w 4294967295\n"
                                     "@ NS ns1\n"
                                     "n LOC 90 0 0 N 180 0 0 E 0m\ns LOC 90 0 0 S 180 0 0 W 0m\n")
    gtmctl.run("zone", "import", "r.test", src)
    out = body(export(gtmctl, "r.test"))
    assert out[0].startswith("r.test.\t3600\tIN\tSOA\tns1.r.test. h.r.test. ")
    assert out[0].endswith(" 3600 86400 604800 4294967295")
    assert [line.split("\t")[-1] for line in out if "\tLOC\t" in line] == [
        "90 00 0.000 N 180 00 0.000 E 0m 1m 10000m 10m",
        "90 00 0.000 S 180 00 0.000 W 0m 1m 10000m 10m"]
    p = gtmctl.run("record", "add", "r.test", "x", "LOC", "300", "0", "0", "0", "N", "181", "0",
                   "0", "E", "0m", rc=1)
    assert p.stderr == "gtmctl: record add: LOC longitude out of range (at most 180 degrees)\n"


def test_caa_values_as_bind_reads_them(tmp_path, gtmctl):
    """RFC 8659 section 4.1.1: a CAA value without blanks needs no quotes (BIND, Knot and
    NSD read it so); a quoted one may have a comment after it."""
    src = write(tmp_path / "caa.zone", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"
                                       "@ CAA 0 issue letsencrypt.org\n"
                                       "@ CAA 0 issuewild \"pki.goog\" ; wildcard certificates\n"
                                       "@ CAA ( 128 iodef\n  mailto:security@caa.test ) ; report\n")
    gtmctl.run("zone", "import", "caa.test", src)
    gtmctl.run("record", "add", "caa.test", "www", "CAA", "300", "0", "issue", "sectigo.com")
    assert [line for line in body(export(gtmctl, "caa.test")) if "CAA" in line] == [
        'caa.test.\t300\tIN\tCAA\t0 issue "letsencrypt.org"',
        'caa.test.\t300\tIN\tCAA\t0 issuewild "pki.goog"',
        'caa.test.\t300\tIN\tCAA\t128 iodef "mailto:security@caa.test"',
        'www.caa.test.\t300\tIN\tCAA\t0 issue "sectigo.com"']


IDN = ("an internationalised name goes in its xn-- (punycode) form, which is what clients "
       "ask for (idn2 from GNU libidn converts it)")


def test_names_that_are_not_ascii(tmp_path, gtmctl):
    """A name typed in UTF-8 is refused by the commands (in NAME, in RDATA, as a zone), with
    what to write instead; a zone file's are imported as written, with a warning; text
    in a TXT record is data, not a name."""
    gtmctl.run("zone", "add", "idn.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "idn.test", "bücher", "A", "300", "192.0.2.1", rc=1)
    assert p.stderr == ("gtmctl: record add: a name in 'bücher 300 IN A 192.0.2.1' is not "
                        f"ASCII: {IDN}\n")
    p = gtmctl.run("record", "add", "idn.test", "x", "CNAME", "300", "bücher", rc=1)
    assert "is not ASCII" in p.stderr
    p = gtmctl.run("zone", "add", "münchen.test", "--ns", "ns1.example.net", rc=2)
    assert p.stderr.startswith(f"gtmctl: zone add: ZONE: 'münchen.test' is not ASCII: {IDN}\n")
    gtmctl.run("record", "add", "idn.test", "xn--bcher-kva", "A", "300", "192.0.2.1")
    gtmctl.run("record", "add", "idn.test", "t", "TXT", "300", "café")
    src = write(tmp_path / "u.zone", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"
                                     "bücher A 192.0.2.1\n")
    p = gtmctl.run("zone", "import", "u.test", src)
    assert p.stderr == (f"gtmctl: zone import: warning: {src}:4: a name that is not ASCII on 1 "
                        f"record: imported as those bytes: {IDN}\n")


def test_import_class_before_ttl(tmp_path, gtmctl):
    """RFC 1035 section 5.1: the class may come before the TTL, as BIND, Knot and NSD
    read it; with a blank owner and in $GENERATE too."""
    src = write(tmp_path / "c.zone", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n"
                                     "ns1 IN 60 A 192.0.2.1\n"
                                     "    in 60 AAAA 2001:db8::1\n"
                                     "www     IN 1h  CNAME   @\n"
                                     "$GENERATE 1-2 g$ IN 30 A 192.0.2.$\n")
    p = gtmctl.run("zone", "import", "c.test", src)
    assert p.stderr == ""
    assert body(export(gtmctl, "c.test"))[2:] == [
        "g1.c.test.\t30\tIN\tA\t192.0.2.1", "g2.c.test.\t30\tIN\tA\t192.0.2.2",
        "ns1.c.test.\t60\tIN\tA\t192.0.2.1", "ns1.c.test.\t60\tIN\tAAAA\t2001:db8::1",
        "www.c.test.\t3600\tIN\tCNAME\tc.test."]


def test_import_of_a_signed_zone(tmp_path, gtmctl):
    """A zone exported signed (AXFR of a DNSSEC zone, with a byte order mark): its
    keys, signatures, NSEC chains and CDS are left out with a warning that says what a
    DS at the parent would do. gtmctl record add refuses those types."""
    src = write(tmp_path / "signed.zone", """\ufeff$TTL 300
@ SOA ns1 hostmaster 7 7200 3600 1209600 300
@ RRSIG SOA 13 2 300 20300101000000 20200101000000 12345 s.test. aGVsbG8=
@ NS ns1
@ RRSIG NS 13 2 300 20300101000000 20200101000000 12345 s.test. aGVsbG8=
@ DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==
@ NSEC3PARAM 1 0 0 -
@ CDS 0 0 0 00
ns1 A 192.0.2.1
ns1 RRSIG A 13 3 300 20300101000000 20200101000000 12345 s.test. aGVsbG8=
ns1 NSEC s.test. A RRSIG NSEC
www CNAME ns1
www RRSIG CNAME 13 3 300 20300101000000 20200101000000 12345 s.test. aGVsbG8=
""")
    p = gtmctl.run("zone", "import", "s.test", src)
    assert p.stdout == f"zone s.test. imported from {src}: 4 records (+4 -0), serial 7\n"
    assert p.stderr == (
        "gtmctl: zone import: warning: s.test. was signed (DNSSEC): 8 records not imported "
        "(1 DNSKEY, 4 RRSIG, 1 NSEC, 1 NSEC3PARAM, 1 CDS); gtm serves zones unsigned, so while the "
        "parent zone holds DS records for s.test., validating resolvers fail every name in "
        "it: have them removed (at the registrar) before delegating to gtm\n")
    assert [line.split("\t")[3] for line in body(export(gtmctl, "s.test"))] == [
        "SOA", "NS", "A", "CNAME"]
    for rdata in (["257", "3", "13", "aGVsbG8="],
                  ["A", "13", "3", "300", "20300101000000", "20200101000000", "1", "s.test.",
                   "aGVsbG8="]):
        rtype = "DNSKEY" if rdata[0] == "257" else "RRSIG"
        p = gtmctl.run("record", "add", "s.test", "x", rtype, "300", *rdata, rc=1)
        assert p.stderr == (f"gtmctl: record add: {rtype} records are not kept: gtm serves "
                            "zones unsigned (a signature would go stale at the first change "
                            "of the serial)\n")
    assert len(body(export(gtmctl, "s.test"))) == 4


# ---- serials ----------------------------------------------------------------------------

def test_zone_add_mailbox_and_name_servers(gtmctl, day):
    """--rname as an e-mail address becomes the SOA's mailbox name (RFC 1035 section 8: a
    '.' of the local part escaped); an address as --ns, or one --ns twice, is refused."""
    gtmctl.run("zone", "add", "m.test", "--ns", "ns1.example.net",
               "--rname", "john.doe@example.net")
    assert body(export(gtmctl, "m.test"))[0] == (
        f"m.test.\t3600\tIN\tSOA\tns1.example.net. john\\.doe.example.net. {day} 3600 900 "
        "1209600 300")
    p = gtmctl.run("zone", "add", "a.test", "--ns", "2001:db8::53", rc=2)
    assert p.stderr.startswith("gtmctl: zone add: --ns: '2001:db8::53' is an address; an NS "
                               "record names a host (ns1.example.net), whose address its own "
                               "A/AAAA record gives\n")
    p = gtmctl.run("zone", "add", "a.test", "--ns", "ns.example.net", "--ns",
                   "NS.example.net.", rc=2)
    assert p.stderr.startswith("gtmctl: zone add: --ns: ns.example.net. is given twice\n")
    assert gtmctl.run("zone", "list").stdout.count("\n") == 2  # the header and m.test


def test_zone_add_serial_is_today(gtmctl, day):
    p = gtmctl.run("zone", "add", "s.test")
    assert p.stdout == f"zone s.test. added (serial {day})\n"
    assert p.stderr == ("gtmctl: zone add: no --ns given: using ns1.s.test.; give it an "
                        "address with\n  gtmctl record add s.test. ns1 A ADDRESS\n")
    assert body(export(gtmctl, "s.test")) == [
        f"s.test.\t3600\tIN\tSOA\tns1.s.test. hostmaster.s.test. {day} 3600 900 1209600 300",
        "s.test.\t3600\tIN\tNS\tns1.s.test.",
    ]
    p = gtmctl.run("zone", "add", "t.test", "--ns", "a.example.net", "--ns", "b.example.net.",
                   "--ttl", "1h", "--rname", "dns.example.net")
    assert p.stderr == ""
    assert body(export(gtmctl, "t.test")) == [
        f"t.test.\t3600\tIN\tSOA\ta.example.net. dns.example.net. {day} 3600 900 1209600 300",
        "t.test.\t3600\tIN\tNS\ta.example.net.",
        "t.test.\t3600\tIN\tNS\tb.example.net.",
    ]
    assert gtmctl.run("zone", "list").stdout == (
        f"{'ZONE':<40} {'SERIAL':>10} {'RECORDS':>8}\n"
        f"{'s.test.':<40} {day:>10} {2:>8}\n"
        f"{'t.test.':<40} {day:>10} {3:>8}\n")
    p = gtmctl.run("zone", "add", "s.test", "--ns", "ns.example.net", rc=1)
    assert p.stderr == "gtmctl: zone add: zone s.test. already exists\n"


def test_each_change_bumps_the_serial_by_one(tmp_path, gtmctl, day):
    gtmctl.run("zone", "add", "s.test", "--ns", "ns1.example.net")
    steps = [
        ("record", "add", "s.test", "www", "A", "300", "192.0.2.1"),
        ("record", "add", "s.test", "www", "A", "300", "192.0.2.2"),
        ("record", "rm", "s.test", "www", "A", "192.0.2.1"),
        ("record", "add", "s.test", "@", "MX", "300", "10", "mail"),
    ]
    for i, step in enumerate(steps, 1):
        p = gtmctl.run(*step)
        assert f"(serial {day + i})" in p.stdout
        assert soa_serial(gtmctl, "s.test") == day + i
    # A failed change, and commands that only read, leave it.
    gtmctl.run("record", "add", "s.test", "www", "A", "300", "192.0.2.2", rc=1)
    gtmctl.run("record", "rm", "s.test", "nothing", "A", rc=1)
    gtmctl.run("record", "list", "s.test")
    gtmctl.run("zone", "list")
    gtmctl.run("audit")
    assert soa_serial(gtmctl, "s.test") == day + 4
    # Re-importing the zone's own export is no change.
    src = write(tmp_path / "s.zone", export(gtmctl, "s.test"))
    p = gtmctl.run("zone", "import", "s.test", src)
    assert p.stdout == f"zone s.test. unchanged by {src}: 4 records, serial {day + 4}\n"
    assert soa_serial(gtmctl, "s.test") == day + 4


def test_import_serials(tmp_path, gtmctl, day):
    def zone_file(serial, more=""):
        return write(tmp_path / f"{serial}.zone",
                     f"$TTL 300\n@ SOA ns1 h {serial} 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n{more}")

    # A new zone keeps its file's serial, even one older than today.
    p = gtmctl.run("zone", "import", "i.test", zone_file(2024061501))
    assert p.stdout.endswith(", serial 2024061501\n")
    assert soa_serial(gtmctl, "i.test") == 2024061501
    # Re-importing the same file changes nothing, not even the serial, nor the audit log.
    rows = audit_rows(gtmctl)
    src = zone_file(2024061501)
    p = gtmctl.run("zone", "import", "i.test", src)
    assert p.stdout == f"zone i.test. unchanged by {src}: 3 records, serial 2024061501\n"
    assert soa_serial(gtmctl, "i.test") == 2024061501
    assert audit_rows(gtmctl) == rows
    # A changed file with the same serial moves it on to today's.
    gtmctl.run("zone", "import", "i.test", zone_file(2024061501, "www A 192.0.2.80\n"))
    assert soa_serial(gtmctl, "i.test") == day
    # A file with a higher serial keeps it; the next change counts on from there.
    p = gtmctl.run("zone", "import", "i.test", zone_file(2099010107))
    assert p.stdout.endswith(", serial 2099010107\n")
    gtmctl.run("record", "add", "i.test", "x", "A", "60", "192.0.2.9")
    assert soa_serial(gtmctl, "i.test") == 2099010108
    # A lower serial in the file never moves the zone backwards.
    gtmctl.run("zone", "import", "i.test", zone_file(2024061501))
    assert soa_serial(gtmctl, "i.test") == 2099010109


def test_added_soa_replaces_and_serial_never_goes_back(gtmctl, day):
    gtmctl.run("zone", "add", "soa.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "soa.test", "@", "SOA", "600", "ns9.example.net.",
                   "admin.example.net.", "1", "7200", "600", "86400", "60")
    assert p.stdout == (f"added soa.test.\t600\tIN\tSOA\tns9.example.net. admin.example.net. "
                        f"1 7200 600 86400 60 (serial {day + 1})\n")
    lines = body(export(gtmctl, "soa.test"))
    assert [line for line in lines if "\tSOA\t" in line] == [
        f"soa.test.\t600\tIN\tSOA\tns9.example.net. admin.example.net. {day + 1} 7200 600 "
        "86400 60"]
    gtmctl.run("record", "add", "soa.test", "@", "SOA", "600", "ns9.example.net.",
               "admin.example.net.", "2099010100", "7200", "600", "86400", "60")
    assert soa_serial(gtmctl, "soa.test") == 2099010100
    p = gtmctl.run("record", "rm", "soa.test", "@", "SOA", rc=1)
    assert p.stderr == ("gtmctl: record rm: a zone's SOA record cannot be removed (gtmctl zone "
                        "rm removes the zone; gtmctl record add replaces the SOA)\n")
    p = gtmctl.run("record", "add", "soa.test", "sub", "SOA", "600", "ns9.example.net.",
                   "admin.example.net.", "1", "7200", "600", "86400", "60", rc=1)
    assert "an SOA record must be at the zone apex" in p.stderr
    assert soa_serial(gtmctl, "soa.test") == 2099010100


# ---- audit ------------------------------------------------------------------------------

def audit_text(g, *args):
    """gtmctl audit with each time replaced by TIME."""
    return re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", g.run("audit", *args).stdout,
                  flags=re.M)


def test_audit_log(gtmctl, day):
    db = shell_quote(str(gtmctl.db))
    gtmctl.run("zone", "add", "a.test", "--ns", "ns1.example.net", env={"USER": "alice"})
    gtmctl.run("record", "add", "a.test", "www", "TXT", "300", "hello world",
               env={"USER": "alice", "SUDO_USER": "bob"})
    gtmctl.run("zone", "add", "b.test", "--ns", "ns1.example.net", env={"SUDO_USER": ""})
    gtmctl.run("record", "rm", "a.test", "www", "TXT")
    # Failed and read-only commands write nothing.
    gtmctl.run("record", "rm", "a.test", "www", "TXT", rc=1)
    gtmctl.run("zone", "export", "a.test")
    gtmctl.run("record", "list", "a.test")

    entries = [
        f"TIME  tester  a.test.  gtmctl --db {db} record rm a.test www TXT\n"
        f"    - www.a.test.\t300\tIN\tTXT\t\"hello world\"\n"
        f"    + serial {day + 2}\n",
        f"TIME  tester  b.test.  gtmctl --db {db} zone add b.test --ns ns1.example.net\n"
        f"    + zone b.test. created: serial {day}, 1 NS\n",
        f"TIME  bob  a.test.  gtmctl --db {db} record add a.test www TXT 300 'hello world'\n"
        f"    + www.a.test.\t300\tIN\tTXT\t\"hello world\"\n"
        f"      serial {day + 1}\n",
        f"TIME  alice  a.test.  gtmctl --db {db} zone add a.test --ns ns1.example.net\n"
        f"    + zone a.test. created: serial {day}, 1 NS\n",
        f"TIME  tester  -  gtmctl --db {db} init\n"
        f"    + store created (schema version {SCHEMA_VERSION})\n",
    ]
    assert audit_text(gtmctl) == "".join(entries)
    assert audit_text(gtmctl, "a.test") == entries[0] + entries[2] + entries[3]
    assert audit_text(gtmctl, "b.test.") == entries[1]
    assert audit_text(gtmctl, "--limit", "2") == entries[0] + entries[1]
    assert audit_text(gtmctl, "a.test", "--limit=1") == entries[0]
    # Times are UTC, now, and newest first.
    stamps = re.findall(r"^(\S+)  ", gtmctl.run("audit").stdout, re.M)
    now = datetime.datetime.now(datetime.timezone.utc)
    for s in stamps:
        t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        assert abs((now - t).total_seconds()) < 120
    assert stamps == sorted(stamps, reverse=True)


def test_audit_of_import_and_zone_rm(tmp_path, gtmctl):
    src = write(tmp_path / "z.zone", "$TTL 300\n@ SOA ns1 h 3 2 3 4 5\n@ NS ns1\n"
                                     "ns1 A 192.0.2.1\n")
    gtmctl.run("zone", "import", "z.test", src)
    write(src, "$TTL 300\n@ SOA ns1 h 2099010100 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.2\n")
    gtmctl.run("zone", "import", "z.test", src)
    p = gtmctl.run("zone", "rm", "z.test")
    assert p.stdout == "zone z.test. removed (3 records, 0 policies)\n"
    db, f = shell_quote(str(gtmctl.db)), shell_quote(str(src))
    assert audit_text(gtmctl, "z.test") == (
        f"TIME  tester  z.test.  gtmctl --db {db} zone rm z.test\n"
        f"    - zone z.test.: serial 2099010100, 3 records, 0 policies\n"
        f"TIME  tester  z.test.  gtmctl --db {db} zone import z.test {f}\n"
        f"    - serial 3, 3 records\n"
        f"    + 3 records from {src} (+2 -2)\n"
        f"      serial 2099010100\n"
        f"TIME  tester  z.test.  gtmctl --db {db} zone import z.test {f}\n"
        f"    + 3 records from {src} (+3 -0)\n")
    p = gtmctl.run("zone", "rm", "z.test", rc=1)
    assert p.stderr == "gtmctl: zone rm: no zone z.test. in the store\n"
    # the removed zone's entries stay; a name never seen is a typo, not an empty log
    assert audit_rows(gtmctl, "z.test") == 3
    p = gtmctl.run("audit", "zz.test", rc=1)
    assert (p.stdout, p.stderr) == ("", "gtmctl: audit: no zone zz.test. in the store, and no "
                                        "change of one by that name (gtmctl zone list shows "
                                        "them)\n")
    gtmctl.run("zone", "add", "new.test", "--ns", "ns1.example.net")
    assert audit_rows(gtmctl, "new.test") == 1


def test_zone_rm_keeps_managed_names_unless_told(tmp_path, gtmctl):
    """A zone with managed names is not removed with their policies unless asked:
    nothing changes, and the error says how (zone import keeps policies)."""
    gtmctl.run("zone", "add", "z.test", "--ns", "ns1.example.net")
    gtmctl.run("region", "add", "eu")
    gtmctl.run("pool", "add", "web")
    gtmctl.run("endpoint", "add", "web", "192.0.2.10", "--region", "eu")
    gtmctl.run("policy", "set", "www.z.test", "--pool", "web", "--mode", "all")
    p = gtmctl.run("zone", "rm", "z.test", rc=1)
    assert p.stderr == ("gtmctl: zone rm: zone z.test. has 1 managed name (www.z.test.): "
                        "removing the zone would remove their policies too; remove them first "
                        "(gtmctl policy rm NAME), or pass --with-policies\n")
    assert "www.z.test." in gtmctl.run("policy", "list").stdout
    p = gtmctl.run("zone", "rm", "z.test", "--with-policies")
    assert p.stdout == "zone z.test. removed (2 records, 1 policy)\n"
    assert "www.z.test." not in gtmctl.run("policy", "list").stdout


def test_audit_of_soa_replacement_shows_the_old_soa(gtmctl, day):
    """gtmctl audit --help: '-' is what a change replaced. Adding an SOA replaces the
    zone's SOA, so the old one belongs under '-' (else the log cannot undo it)."""
    gtmctl.run("zone", "add", "r.test", "--ns", "ns1.example.net")
    gtmctl.run("record", "add", "r.test", "@", "SOA", "600", "ns1.example.net.",
               "admin.example.net.", "1", "7200", "600", "86400", "60")
    text = audit_text(gtmctl, "r.test", "--limit", "1")
    assert (f"    - r.test.\t3600\tIN\tSOA\tns1.example.net. hostmaster.r.test. {day} 3600 "
            "900 1209600 300\n") in text


# ---- record add, rm, list ---------------------------------------------------------------

def test_record_names(gtmctl, day):
    gtmctl.run("zone", "add", "n.test", "--ns", "ns1.example.net")
    adds = [
        (("www", "A", "300", "192.0.2.1"), "www.n.test.\t300\tIN\tA\t192.0.2.1"),
        (("WWW2.n.test.", "A", "300", "192.0.2.2"), "www2.n.test.\t300\tIN\tA\t192.0.2.2"),
        (("@", "MX", "5m", "10", "mail"), "n.test.\t300\tIN\tMX\t10 mail.n.test."),
        (("a.b", "AAAA", "1h", "2001:db8::1"), "a.b.n.test.\t3600\tIN\tAAAA\t2001:db8::1"),
        (("n.test", "A", "300", "192.0.2.3"), "n.test.\t300\tIN\tA\t192.0.2.3"),
        (("weird\\.label", "A", "300", "192.0.2.4"),
         "weird\\046label.n.test.\t300\tIN\tA\t192.0.2.4"),
        (("*.wild", "CNAME", "300", "www"), "*.wild.n.test.\t300\tIN\tCNAME\twww.n.test."),
        (("_sip._tcp", "SRV", "300", "10", "60", "5060", "sip.example.net."),
         "_sip._tcp.n.test.\t300\tIN\tSRV\t10 60 5060 sip.example.net."),
    ]
    for i, (args, line) in enumerate(adds, 1):
        p = gtmctl.run("record", "add", "n.test", *args)
        assert p.stdout == f"added {line} (serial {day + i})\n"
        # the zone's name without its final dot: taken as the zone's, and said so
        assert (p.stderr != "") == (args[0] == "n.test"), p.stderr
    p = gtmctl.run("record", "list", "n.test")
    assert sorted(p.stdout.splitlines()) == sorted(
        [line for _, line in adds] + ["n.test.\t3600\tIN\tNS\tns1.example.net.",
                                      f"n.test.\t3600\tIN\tSOA\tns1.example.net. "
                                      f"hostmaster.n.test. {day + len(adds)} 3600 900 "
                                      "1209600 300"])
    assert gtmctl.run("record", "list", "n.test", "www").stdout == \
        "www.n.test.\t300\tIN\tA\t192.0.2.1\n"
    assert gtmctl.run("record", "list", "n.test.", "www.n.test.").stdout == \
        "www.n.test.\t300\tIN\tA\t192.0.2.1\n"
    assert gtmctl.run("record", "list", "n.test", "nothing").stdout == ""
    assert "n.test.\t300\tIN\tMX\t10 mail.n.test." in \
        gtmctl.run("record", "list", "n.test", "@").stdout.splitlines()

    p = gtmctl.run("record", "add", "n.test", "www.other.test.", "A", "300", "192.0.2.9", rc=1)
    assert p.stderr == "gtmctl: record add: www.other.test. is outside the zone n.test.\n"
    p = gtmctl.run("record", "add", "nosuch.test", "www", "A", "300", "192.0.2.9", rc=1)
    assert p.stderr == "gtmctl: record add: no zone nosuch.test. in the store\n"
    p = gtmctl.run("record", "list", "nosuch.test", rc=1)
    assert p.stderr == "gtmctl: record list: no zone nosuch.test. in the store\n"
    p = gtmctl.run("record", "add", "n.test", "bad", "A", "300", "192.0.2.256", rc=1)
    assert p.stderr.startswith("gtmctl: record add: Syntax error")
    assert soa_serial(gtmctl, "n.test") == day + len(adds)


def test_txt_arguments(gtmctl):
    gtmctl.run("zone", "add", "txt.test", "--ns", "ns1.example.net")
    cases = [
        (["hello world"], '"hello world"'),
        (["v=spf1", "-all"], '"v=spf1" "-all"'),
        (["v=spf1 -all"], '"v=spf1 -all"'),
        (['say "hi"; bye'], '"say \\"hi\\"; bye"'),
        (['"already quoted"', "two"], '"already quoted" "two"'),
        (["k=v", "(x)"], '"k=v" "(x)"'),
        ([""], '""'),
    ]
    for i, (rdata, shown) in enumerate(cases):
        p = gtmctl.run("record", "add", "txt.test", f"t{i}", "TXT", "300", *rdata)
        assert p.stdout.startswith(f"added t{i}.txt.test.\t300\tIN\tTXT\t{shown} (serial ")
    # An RDATA argument after the first may begin with '-'; so may one after '--'.
    gtmctl.run("record", "add", "txt.test", "dash", "TXT", "300", "--", "-all")
    assert gtmctl.run("record", "list", "txt.test", "dash").stdout == \
        'dash.txt.test.\t300\tIN\tTXT\t"-all"\n'
    p = gtmctl.run("record", "rm", "txt.test", "t1", "TXT", "v=spf1", "-all")
    assert p.stdout.endswith('\nt1.txt.test.\t300\tIN\tTXT\t"v=spf1" "-all"\n')


def test_record_add_first_rdata_may_start_with_dash(gtmctl):
    """`record add ZONE @ TXT 300 -all` is RDATA, like `record rm ZONE @ TXT -all`: the
    help promises RDATA 'as in a zone file', where a TXT string may start with '-'."""
    gtmctl.run("zone", "add", "dash.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "dash.test", "@", "TXT", "300", "-all", rc=None)
    assert (p.returncode, p.stderr) == (0, "")
    assert gtmctl.run("record", "list", "dash.test", "@").stdout.endswith(
        'dash.test.\t300\tIN\tTXT\t"-all"\n')


def test_record_add_takes_the_zone_written_twice_as_once(gtmctl):
    """Names are relative unless they end with '.', as in a zone file; a full name written
    without the dot would end in the zone twice, which nobody means: it is taken as the
    full name (NAME and the names in RDATA), with a warning; other names get none."""
    gtmctl.run("zone", "add", "rel.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "rel.test", "www.rel.test", "A", "300", "192.0.2.1")
    assert p.stderr == ("gtmctl: record add: warning: 1 name written in full without the final "
                        "dot, which would end in rel.test. twice: taken as written in full\n")
    assert p.stdout.startswith("added www.rel.test.\t300\tIN\tA\t192.0.2.1 ")
    p = gtmctl.run("record", "add", "rel.test", "mx.rel.test", "MX", "300", "10", "mail.rel.test")
    assert "2 names written in full" in p.stderr
    assert p.stdout.startswith("added mx.rel.test.\t300\tIN\tMX\t10 mail.rel.test. ")
    for i, name in enumerate(("www", "www.rel.test.", "xrel.test", "@", "rel.test.rel")):
        p = gtmctl.run("record", "add", "rel.test", name, "A", "300", f"192.0.2.{10 + i}")
        assert p.stderr == "", name


def test_record_rm_keeps_an_apex_ns(gtmctl):
    """The zone's last NS records at its apex cannot go (resolvers would have no server
    to ask): replacing them means adding the new ones first."""
    gtmctl.run("zone", "add", "ns.test", "--ns", "ns1.example.net")
    for args in (["@", "NS"], ["@", "NS", "ns1.example.net."]):
        p = gtmctl.run("record", "rm", "ns.test", *args, rc=1)
        assert p.stderr == ("gtmctl: record rm: that would leave ns.test. with no NS records "
                            "at its apex, and resolvers with no server to ask: add the new ones "
                            "first; nothing was changed\n")
    gtmctl.run("record", "add", "ns.test", "@", "NS", "3600", "ns2.example.net.")
    gtmctl.run("record", "rm", "ns.test", "@", "NS", "ns1.example.net.")
    gtmctl.run("record", "add", "ns.test", "sub", "NS", "3600", "ns2.example.net.")
    gtmctl.run("record", "rm", "ns.test", "sub", "NS")  # a delegation may go whole
    assert [line for line in body(export(gtmctl, "ns.test")) if "\tNS\t" in line] == [
        "ns.test.\t3600\tIN\tNS\tns2.example.net."]


def test_rrset_ttl_and_duplicates(gtmctl):
    gtmctl.run("zone", "add", "ttl.test", "--ns", "ns1.example.net")
    gtmctl.run("record", "add", "ttl.test", "www", "A", "300", "192.0.2.1")
    gtmctl.run("record", "add", "ttl.test", "www", "AAAA", "300", "2001:db8::1")
    gtmctl.run("record", "add", "ttl.test", "www", "A", "600", "192.0.2.2")
    assert gtmctl.run("record", "list", "ttl.test", "www").stdout == (
        "www.ttl.test.\t600\tIN\tA\t192.0.2.1\n"
        "www.ttl.test.\t600\tIN\tA\t192.0.2.2\n"
        "www.ttl.test.\t300\tIN\tAAAA\t2001:db8::1\n")
    before = without_timestamp(export(gtmctl, "ttl.test"))
    rows = audit_rows(gtmctl)
    # A duplicate is refused, also with another TTL, and the RRset keeps its TTL.
    for ttl in ("600", "60"):
        p = gtmctl.run("record", "add", "ttl.test", "www", "A", ttl, "192.0.2.1", rc=1)
        assert p.stdout == ""
        assert p.stderr == ("gtmctl: record add: the record already exists: "
                            f"www.ttl.test.\t{ttl}\tIN\tA\t192.0.2.1\n")
    p = gtmctl.run("record", "add", "ttl.test", "www", "CNAME", "300", "other", rc=1)
    assert p.stderr == ("gtmctl: record add: cannot add www.ttl.test.\t300\tIN\tCNAME\t"
                        "other.ttl.test.: adding a record: a CNAME cannot share its name "
                        "with other data\n")
    gtmctl.run("record", "add", "ttl.test", "alias", "CNAME", "300", "www")
    p = gtmctl.run("record", "add", "ttl.test", "alias", "CNAME", "300", "www2", rc=1)
    assert "a CNAME cannot share its name with other data" in p.stderr
    p = gtmctl.run("record", "add", "ttl.test", "alias", "TXT", "300", "x", rc=1)
    assert "a CNAME cannot share its name with other data" in p.stderr
    gtmctl.run("record", "rm", "ttl.test", "alias", "CNAME")
    assert without_timestamp(export(gtmctl, "ttl.test"))[2:] == before[2:]
    assert audit_rows(gtmctl) == rows + 2


def test_dname_rules_hold_for_single_edits(tmp_path, gtmctl):
    """RFC 6672 section 2.4, kept by the store for record add as zone import checks it:
    one DNAME at a name (other data beside it is fine), nothing below it, and no DNAME
    above names that have data."""
    gtmctl.run("zone", "import", "dn.test",
               write(tmp_path / "dn.zone", "$TTL 300\n@ SOA ns1 h 5 2 3 4 5\n@ NS ns1\n"
                                           "ns1 A 192.0.2.1\nd DNAME a.example.\n"
                                           "d TXT \"beside\"\nhost.sub A 192.0.2.2\n"))
    rows = audit_rows(gtmctl)
    for args, ending in [
            (("d", "DNAME", "300", "b.example."),
             ": adding a record: a name has at most one DNAME record"),
            (("x.d", "A", "300", "192.0.2.3"),
             ": it is below the DNAME at d.dn.test., which hides it (RFC 6672 section 2.4)"),
            (("sub", "DNAME", "300", "b.example."),
             ": names below sub.dn.test. have data, which a DNAME would hide (RFC 6672 "
             "section 2.4)")]:
        p = gtmctl.run("record", "add", "dn.test", *args, rc=1)
        assert p.stderr.startswith("gtmctl: record add: cannot add ") and \
            p.stderr.endswith(ending + "\n"), p.stderr
    gtmctl.run("record", "add", "dn.test", "ns1", "DNAME", "300", "b.example.")
    assert audit_rows(gtmctl) == rows + 1
    # the root zone: every other name is below its apex
    gtmctl.run("zone", "import", ".",
               write(tmp_path / "root.zone", "$TTL 300\n@ SOA a.root. h 1 2 3 4 5\n@ NS a.root.\n"
                                             "a.root. A 192.0.2.1\n"))
    p = gtmctl.run("record", "add", ".", "@", "DNAME", "300", "example.", rc=1)
    assert p.stderr.endswith(": names below . have data, which a DNAME would hide (RFC 6672 "
                             "section 2.4)\n"), p.stderr
    p = gtmctl.run("zone", "import", ".",
                   write(tmp_path / "root2.zone", "$TTL 300\n@ SOA a.root. h 1 2 3 4 5\n"
                                                  "@ DNAME example.\na.root. A 192.0.2.1\n"),
                   rc=1)
    assert "a.root. is below the DNAME at . (line 3)" in p.stderr, p.stderr


def test_rdata_names_differing_only_in_case_are_one_record(tmp_path, gtmctl):
    """Domain names compare without regard to case (RFC 4343), in RDATA too (RFC 4034
    section 6.2 lower-cases the names of NS, CNAME, MX...): 'NS NS1.Example.NET.' is the
    record 'NS ns1.example.net.' again, not a second member of the RRset."""
    gtmctl.run("zone", "add", "case.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "case.test", "@", "NS", "3600", "NS1.Example.NET.", rc=None)
    assert p.returncode == 1, p.stdout
    assert p.stderr.startswith("gtmctl: record add: the record already exists: ")
    src = write(tmp_path / "case.zone", "$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n@ NS NS1\n"
                                        "mx MX 10 Mail\nmx MX 10 mail\n")
    p = gtmctl.run("zone", "import", "case2.test", src)
    assert "2 duplicate records ignored" in p.stderr
    lines = body(export(gtmctl, "case2.test"))
    assert len([line for line in lines if "\tNS\t" in line]) == 1, lines
    assert len([line for line in lines if "\tMX\t" in line]) == 1, lines


def test_empty_rdata_record(tmp_path, gtmctl, day):
    """A record with empty RDATA (RFC 3597 '\\# 0'): the store hands back a NULL blob for
    it, which every path must take (the sanitizer build checks)."""
    gtmctl.run("zone", "add", "e.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "e.test", "blob", "TYPE1234", "300", "\\#", "0")
    assert p.stdout == f"added blob.e.test.\t300\tIN\tTYPE1234\t\\# 0 (serial {day + 1})\n"
    src = write(tmp_path / "e.zone", export(gtmctl, "e.test"))
    p = gtmctl.run("zone", "import", "e.test", src)
    assert p.stdout == f"zone e.test. unchanged by {src}: 3 records, serial {day + 1}\n"
    p = gtmctl.run("record", "rm", "e.test", "blob", "TYPE1234", "\\#", "0")
    assert p.stdout == (f"removed 1 record (serial {day + 2}):\n"
                        "blob.e.test.\t300\tIN\tTYPE1234\t\\# 0\n")
    assert gtmctl.run("record", "list", "e.test", "blob").stdout == ""


def test_record_rm(gtmctl, day):
    gtmctl.run("zone", "add", "rm.test", "--ns", "ns1.example.net")
    for addr in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        gtmctl.run("record", "add", "rm.test", "www", "A", "300", addr)
    gtmctl.run("record", "add", "rm.test", "www", "TXT", "300", "keep me")
    before = without_timestamp(export(gtmctl, "rm.test"))
    rows = audit_rows(gtmctl)
    for args, message in [
        (("www", "A", "192.0.2.9"), "no A record at www.rm.test. with RDATA 192.0.2.9"),
        (("nothing", "A"), "no A record at nothing.rm.test."),
        (("www", "AAAA"), "no AAAA record at www.rm.test."),
    ]:
        p = gtmctl.run("record", "rm", "rm.test", *args, rc=1)
        assert p.stderr == f"gtmctl: record rm: {message}; nothing was changed\n"
    assert without_timestamp(export(gtmctl, "rm.test")) == before
    assert audit_rows(gtmctl) == rows

    p = gtmctl.run("record", "rm", "rm.test", "www.rm.test.", "A", "192.0.2.2")
    assert p.stdout == (f"removed 1 record (serial {day + 5}):\n"
                        "www.rm.test.\t300\tIN\tA\t192.0.2.2\n")
    p = gtmctl.run("record", "rm", "rm.test", "www", "A")
    assert p.stdout == (f"removed 2 records (serial {day + 6}):\n"
                        "www.rm.test.\t300\tIN\tA\t192.0.2.1\n"
                        "www.rm.test.\t300\tIN\tA\t192.0.2.3\n")
    assert gtmctl.run("record", "list", "rm.test", "www").stdout == \
        'www.rm.test.\t300\tIN\tTXT\t"keep me"\n'


# ---- the command line -------------------------------------------------------------------

def main_help():
    p = run_raw(["--help"])
    assert p.returncode == 0 and p.stderr == ""
    return p.stdout


def command_list():
    text = main_help()
    block = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    cmds = [re.split(r"\s{2,}", line.strip())[0] for line in block.splitlines()]
    assert len(cmds) >= 10
    return cmds


def test_main_help():
    text = main_help()
    assert text.startswith(MAIN_USAGE + "\n")
    assert "Exit status: 0 done; 1 failed, nothing changed; 2 wrong arguments; 75" in text
    assert run_raw(["-h"]).stdout == text
    assert run_raw(["--db", "/nonexistent/gtm.db", "--help"]).stdout == text
    assert re.fullmatch(r"gtmctl \(gtm\) \S+\n", run_raw(["--version"]).stdout)


def test_every_command_has_help(tmp_path):
    db = tmp_path / "never-created.db"
    text = main_help()
    for cmd in command_list():
        summary = re.search(rf"^  {re.escape(cmd)}\s+(.*)$", text, re.M).group(1)
        for flag in ("--help", "-h"):
            p = run_raw([*cmd.split(), flag], env={"GTM_DB": str(db)})
            assert (p.returncode, p.stderr) == (0, ""), cmd
            lines = p.stdout.splitlines()
            assert lines[0].startswith(f"usage: gtmctl {cmd}"), cmd
            assert f"{summary}." in lines, cmd
            assert "Options:" in lines and any("--db PATH" in line for line in lines), cmd
    for group in ("zone", "record"):
        p = run_raw([group, "--help"])
        assert (p.returncode, p.stderr) == (0, "")
        assert p.stdout.startswith(f"gtmctl {group} commands:\n")
        assert p.stdout.count(f"  gtmctl {group} ") == sum(
            1 for c in command_list() if c.startswith(group + " "))
    assert not db.exists()


USAGE_ERRORS = [
    ([], "gtmctl: missing command", MAIN_USAGE),
    (["frob"], "gtmctl: unknown command 'frob'", MAIN_USAGE),
    (["--bogus", "zone", "list"], "gtmctl: unknown option --bogus", MAIN_USAGE),
    (["zone", "add"], "gtmctl: zone add: missing arguments", "usage: gtmctl zone add ZONE"),
    (["zone", "add", "a.test", "b.test"], "gtmctl: zone add: unexpected argument 'b.test'",
     "usage: gtmctl zone add ZONE"),
    (["zone", "add", "a..test"], "gtmctl: zone add: ZONE: 'a..test' is not a domain name",
     "usage: gtmctl zone add ZONE"),
    (["zone", "add", "a.test", "--ns", "ns.example.net", "--ttl", "forever"],
     "gtmctl: zone add: --ttl: 'forever' is not a duration from 0 to 2147483647 seconds "
     "(seconds, or with units: 90s 5m 1h 2d 1w)", "usage: gtmctl zone add ZONE"),
    (["zone", "import", "a.test"], "gtmctl: zone import: missing arguments",
     "usage: gtmctl zone import ZONE FILE"),
    (["zone", "list", "--foo"], "gtmctl: zone list: unknown option --foo",
     "usage: gtmctl zone list"),
    (["zone", "list", "extra"], "gtmctl: zone list: unexpected argument 'extra'",
     "usage: gtmctl zone list"),
    (["zone", "export"], "gtmctl: zone export: missing arguments",
     "usage: gtmctl zone export ZONE"),
    (["record", "add", "a.test", "www", "A"], "gtmctl: record add: missing arguments",
     "usage: gtmctl record add ZONE NAME TYPE TTL RDATA..."),
    (["record", "add", "a.test", "www", "A", "300"], "gtmctl: record add: missing arguments",
     "usage: gtmctl record add ZONE NAME TYPE TTL RDATA..."),
    (["record", "add", "a.test", "www", "BOGUS", "300", "x"],
     "gtmctl: record add: 'BOGUS' is not a record type",
     "usage: gtmctl record add ZONE NAME TYPE TTL RDATA..."),
    (["record", "add", "a.test", "www", "A", "5x", "192.0.2.1"],
     "gtmctl: record add: TTL: '5x' is not a duration from 0 to 2147483647 seconds "
     "(seconds, or with units: 90s 5m 1h 2d 1w)",
     "usage: gtmctl record add ZONE NAME TYPE TTL RDATA..."),
    (["record", "add", "a.test", "www", "A", "-5", "192.0.2.1"],
     "gtmctl: record add: unknown option -5",
     "usage: gtmctl record add ZONE NAME TYPE TTL RDATA..."),
    (["record", "rm", "a.test", "www"], "gtmctl: record rm: missing arguments",
     "usage: gtmctl record rm ZONE NAME TYPE [RDATA...]"),
    (["record", "rm", "a.test", "www", "NOPE"], "gtmctl: record rm: 'NOPE' is not a record type",
     "usage: gtmctl record rm ZONE NAME TYPE [RDATA...]"),
    (["record", "list"], "gtmctl: record list: missing arguments",
     "usage: gtmctl record list ZONE [NAME]"),
    (["audit", "--limit", "0"], "gtmctl: audit: --limit: '0' is not a whole number from 1 "
     "to 1000000", "usage: gtmctl audit [ZONE] [--limit N]"),
    (["audit", "--limit"], "gtmctl: audit: --limit needs a value (N)",
     "usage: gtmctl audit [ZONE] [--limit N]"),
    (["audit", "--limit", "1", "--limit", "2"], "gtmctl: audit: --limit given twice",
     "usage: gtmctl audit [ZONE] [--limit N]"),
    (["init", "--db"], "gtmctl: init: --db needs a value (PATH)", "usage: gtmctl init"),
    (["init", "now"], "gtmctl: init: unexpected argument 'now'", "usage: gtmctl init"),
]


@pytest.mark.parametrize("args,error,usage", USAGE_ERRORS,
                         ids=[" ".join(u[0]) or "nothing" for u in USAGE_ERRORS])
def test_usage_errors(tmp_path, args, error, usage):
    db = tmp_path / "gtm.db"
    p = run_raw(args, env={"GTM_DB": str(db)})
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[0] == error
    assert lines[1].startswith(usage)
    if lines[1] != MAIN_USAGE:
        cmd = error.split(": ")[1]
        assert lines == [error, lines[1], f"Run 'gtmctl {cmd} --help' for details."]
    assert not db.exists()


@pytest.mark.parametrize("args", [["zone"], ["zone", "frob"], ["record", "edit"]])
def test_unknown_subcommand(args):
    p = run_raw(args)
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.splitlines()
    assert lines[0] == f"gtmctl {args[0]} commands:"
    suffix = f" {args[1]}" if len(args) > 1 else ""
    assert lines[-1] == f"gtmctl: {args[0]}: missing or unknown subcommand{suffix}"


def test_db_option_and_environment(tmp_path):
    main = Gtmctl(tmp_path / "main.db")
    main.run("init")
    main.run("zone", "add", "db.test", "--ns", "ns1.example.net")
    other = Gtmctl(tmp_path / "other.db")
    other.run("init")
    expected = main.run("zone", "list").stdout
    assert "db.test." in expected
    empty = other.run("zone", "list").stdout
    db = str(main.db)
    for args, env in [
        (["--db", db, "zone", "list"], None),
        (["--db=" + db, "zone", "list"], None),
        (["zone", "list", "--db", db], None),
        (["zone", "list", "--db=" + db], None),
        (["zone", "list"], {"GTM_DB": db}),
        (["zone", "list", "--db", db], {"GTM_DB": str(other.db)}),
        (["--db", str(other.db), "zone", "list", "--db", db], None),
    ]:
        p = run_raw(args, env=env)
        assert (p.returncode, p.stdout, p.stderr) == (0, expected, ""), args
    p = run_raw(["zone", "list"], env={"GTM_DB": str(other.db)})
    assert p.stdout == empty
    # A relative --db is relative to the working directory.
    p = run_raw(["record", "add", "db.test", "www", "A", "300", "192.0.2.1", "--db", "main.db"],
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert main.run("record", "list", "db.test", "www").stdout == \
        "www.db.test.\t300\tIN\tA\t192.0.2.1\n"


@pytest.mark.parametrize("args", [["zone", "list"], ["zone", "export", "a.test"],
                                  ["zone", "add", "a.test"], ["record", "list", "a.test"],
                                  ["record", "add", "a.test", "www", "A", "300", "192.0.2.1"],
                                  ["record", "rm", "a.test", "www", "A"], ["audit"],
                                  ["zone", "rm", "a.test"]])
def test_missing_store(tmp_path, args):
    db = tmp_path / "nothing" / "gtm.db"
    p = run_raw(["--db", db, *args])
    assert p.returncode == 1 and p.stdout == ""
    cmd = " ".join(args[:2]) if args[0] != "audit" else "audit"
    assert p.stderr.splitlines()[-1] == (
        f"gtmctl: {cmd}: no store at {db} (No such file or directory); create one with: "
        "gtmctl init")
    assert not db.exists() and not db.parent.exists()


def test_init_creates_directories_and_is_idempotent(tmp_path):
    g = Gtmctl(tmp_path / "a" / "b" / "gtm.db")
    p = g.run("init")
    assert p.stdout == f"{g.db}: store created (schema version {SCHEMA_VERSION})\n"
    p = g.run("init")
    assert p.stdout == f"store {g.db} is ready (schema version {SCHEMA_VERSION})\n"
    assert audit_rows(g) == 1


def test_only_init_makes_or_migrates_a_store_silently(tmp_path):
    """An empty file is no store until gtmctl init makes one (a write command would
    otherwise turn any empty file into a store); a store of an older schema is migrated
    by a write command, which says so (older daemons no longer open it)."""
    empty = write(tmp_path / "empty.db", "")
    p = run_raw(["--db", empty, "region", "add", "eu"])
    assert (p.returncode, p.stderr) == (1, f"gtmctl: region add: {empty} is empty, no gtm "
                                           "store yet: create it with gtmctl init (and if a "
                                           "store was there, gtmctl restore its backup "
                                           "then)\n")
    assert empty.read_bytes() == b""
    old = tmp_path / "v1.db"
    con = sqlite3.connect(old)
    con.executescript((SRCDIR / "db" / "schema.sql").read_text())
    con.execute("PRAGMA user_version = 1")
    con.execute(f"PRAGMA application_id = {0x67746d00}")  # db/store.c STORE_APPLICATION_ID
    con.commit()
    con.close()
    p = run_raw(["--db", old, "region", "add", "eu"])
    assert p.returncode == 0, p.stderr
    assert p.stderr == (f"gtmctl: region add: the store {old} was migrated from schema version "
                        f"1 to {SCHEMA_VERSION} first; gtm daemons older than this gtmctl no "
                        "longer open it\n")
    p = run_raw(["--db", old, "region", "add", "us"])
    assert (p.returncode, p.stderr) == (0, "")


def as_nobody(*args):
    return subprocess.run(["runuser", "-u", "nobody", "--", str((BUILDDIR / "gtmctl").resolve()),
                           *map(str, args)], capture_output=True, text=True, timeout=60)


def test_store_this_user_may_not_write(tmp_path):
    """SQLite writes beside a store in WAL mode even to read it: a user who may not write
    its directory is told so, not only 'attempt to write a readonly database'."""
    if os.geteuid() != 0 or as_nobody("--help").returncode != 0:
        pytest.skip("needs root, runuser and a build the user nobody can run")
    top = tempfile.mkdtemp(prefix="gtm-perm-")  # pytest's tmp_path is closed to others
    try:
        os.chmod(top, 0o755)
        db = Gtmctl(Path(top) / "gtm.db")
        db.run("init")
        p = as_nobody("--db", db.db, "zone", "list")
        assert p.returncode == 1
        assert p.stderr == (f"gtmctl: zone list: {db.db}: reading the store header: attempt to "
                            "write a readonly database (SQLite writes beside a store even to "
                            "read it, its -wal and -shm files, and this user may not write the "
                            "file or its directory: run as the store's owner, or give write "
                            "access)\n")
    finally:
        shutil.rmtree(top)


@contextlib.contextmanager
def tmpfs(mnt, size):
    """A tmpfs of size mounted at mnt for the block (root only: skips otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a file system")
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mnt]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", mnt], check=True)


def test_store_on_a_read_only_file_system(tmp_path):
    """The same on a file system mounted read-only: said so, not blamed on the user."""
    with tmpfs(tmp_path / "ro", "4m") as mnt:
        db = Gtmctl(mnt / "gtm.db")
        db.run("init")
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        p = db.run("zone", "list", rc=1)
        assert p.stderr.endswith("(SQLite writes beside a store even to read it, its -wal "
                                 "and -shm files, and the file system is mounted read-only)\n")


def test_store_on_a_full_file_system(tmp_path):
    """A write that finds the disk full says so, and changes nothing."""
    src = tmp_path / "big.zone"
    src.write_text("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n" +
                   "".join(f'n{i} TXT "{"x" * 200}"\n' for i in range(20000)))
    with tmpfs(tmp_path / "full", "2m") as mnt:
        db = Gtmctl(mnt / "gtm.db")
        db.run("init")
        p = db.run("zone", "import", "big.test", src, rc=1)
        assert f"the file system holding the store {db.db} is full: free space there and " \
            "try again; nothing was changed\n" in p.stderr, p.stderr
        assert db.run("zone", "list").stdout.splitlines()[1:] == []


def test_refuses_other_files(tmp_path):
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    for args in (["zone", "list"], ["init"]):
        p = run_raw(["--db", other, *args])
        assert p.returncode == 1
        assert p.stderr == (f"gtmctl: {' '.join(args)}: {other} is an SQLite database but not "
                            "a gtm store\n")
    garbage = write(tmp_path / "garbage.db", "this is not a database\n" * 100)
    p = run_raw(["--db", garbage, "zone", "list"])
    assert p.returncode == 1 and p.stderr.startswith("gtmctl: zone list: ")
    assert garbage.read_text() == "this is not a database\n" * 100


# ---- concurrent writers -----------------------------------------------------------------

def integrity_check(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()


def record_count(g, zone):
    return int(EXPORT_HEADER_RE.match(export(g, zone)).group(3))


def test_concurrent_writers(gtmctl, day):
    gtmctl.run("zone", "add", "c.test", "--ns", "ns1.example.net")
    successes, serials = 0, []
    for rnd in range(3):
        writers = [gtmctl.popen("record", "add", "c.test", f"h{rnd}-{i}", "A", "300",
                                f"192.0.2.{i + 1}") for i in range(8)]
        readers = [gtmctl.popen("zone", "export", "c.test") for _ in range(2)]
        for i, p in enumerate(writers):
            out, err = p.communicate(timeout=60)
            check_sanitizers(err, "gtmctl record add")
            assert p.returncode in (0, 75), err
            if p.returncode == 0:
                m = re.fullmatch(rf"added h{rnd}-{i}\.c\.test\.\t300\tIN\tA\t192\.0\.2\.{i + 1} "
                                 r"\(serial (\d+)\)\n", out)
                assert m, out
                serials.append(int(m.group(1)))
                successes += 1
            else:
                assert out == "" and "busy" in err and "try again" in err, err
        for p in readers:
            out, err = p.communicate(timeout=60)
            check_sanitizers(err, "gtmctl zone export")
            assert (p.returncode, err) == (0, "")
            check_export_format(out, "c.test.")
    assert successes > 0
    # One serial per successful change, none shared, none skipped.
    assert sorted(serials) == list(range(day + 1, day + successes + 1))
    assert soa_serial(gtmctl, "c.test") == day + successes
    assert record_count(gtmctl, "c.test") == 2 + successes
    assert audit_rows(gtmctl, "c.test") == 1 + successes
    assert integrity_check(gtmctl.db) == [("ok",)]


def hold_write_lock(db):
    con = sqlite3.connect(str(db), isolation_level=None, timeout=0)
    con.execute("BEGIN IMMEDIATE")
    return con


def test_held_write_lock_gives_busy(gtmctl):
    gtmctl.run("zone", "add", "l.test", "--ns", "ns1.example.net")
    before = without_timestamp(export(gtmctl, "l.test"))
    rows = audit_rows(gtmctl)
    con = hold_write_lock(gtmctl.db)
    try:
        t0 = time.monotonic()
        p = gtmctl.run("record", "add", "l.test", "www", "A", "300", "192.0.2.1", rc=75)
        waited = time.monotonic() - t0
        # Readers are not blocked by a writer (WAL).
        assert without_timestamp(export(gtmctl, "l.test")) == before
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert 4.5 <= waited < 15, waited
    assert p.stdout == ""
    assert re.fullmatch(r"gtmctl: record add: busy: .*another process holds its write lock.*"
                        r"try again\n", p.stderr), p.stderr
    assert without_timestamp(export(gtmctl, "l.test")) == before
    assert audit_rows(gtmctl) == rows
    assert integrity_check(gtmctl.db) == [("ok",)]


def test_short_write_lock_is_waited_for(gtmctl, day):
    gtmctl.run("zone", "add", "w.test", "--ns", "ns1.example.net")
    con = hold_write_lock(gtmctl.db)
    try:
        p = gtmctl.popen("record", "add", "w.test", "www", "A", "300", "192.0.2.1")
        time.sleep(1)
        assert p.poll() is None, "gtmctl did not wait for the lock"
    finally:
        con.execute("ROLLBACK")
        con.close()
    out, err = p.communicate(timeout=30)
    check_sanitizers(err, "gtmctl record add")
    assert (p.returncode, err) == (0, "")
    assert out == f"added www.w.test.\t300\tIN\tA\t192.0.2.1 (serial {day + 1})\n"


def test_cname_to_itself_refused(gtmctl):
    """A pool answering a managed name may not hold that name as a host-name endpoint:
    the answer would be a CNAME to itself. Refused whichever comes last, for the policy's
    pool and its fallback pool."""
    gtmctl.run("zone", "add", "loop.test", "--ns", "ns1.example.net")
    gtmctl.run("region", "add", "eu")
    for pool in ("p", "f"):
        gtmctl.run("pool", "add", pool)
    gtmctl.run("endpoint", "add", "p", "192.0.2.1", "--region", "eu")
    gtmctl.run("endpoint", "add", "f", "WWW.loop.test", "--region", "eu")
    gtmctl.run("policy", "set", "www.loop.test", "--pool", "p", "--mode", "failover")
    msg = ("pool {} would answer www.loop.test. with a CNAME to itself (its endpoint "
           "www.loop.test.), a loop no resolver can follow\n")
    p = gtmctl.run("endpoint", "add", "p", "www.loop.test.", "--region", "eu", rc=1)
    assert p.stderr == "gtmctl: endpoint add: " + msg.format("p")
    p = gtmctl.run("policy", "set", "www.loop.test", "--pool", "p", "--mode", "failover",
                   "--fallback", "f", rc=1)
    assert p.stderr == "gtmctl: policy set: " + msg.format("f")
    p = gtmctl.run("policy", "set", "www.loop.test", "--pool", "f", "--mode", "failover", rc=1)
    assert p.stderr == "gtmctl: policy set: " + msg.format("f")
    # nothing changed
    p = gtmctl.run("endpoint", "list", "p")
    assert "www.loop.test." not in p.stdout
    assert gtmctl.run("policy", "list").stdout.splitlines()[1].split()[:5] == [
        "www.loop.test.", "loop.test.", "p", "failover", "30"]


def test_wal_shrinks_back_after_a_large_import(tmp_path, gtmctl):
    """With the store open elsewhere (a daemon's connection keeps the WAL file), the WAL
    a large import grew is cut back to 4 MiB by the next write, not kept at its largest."""
    src = tmp_path / "big.zone"
    src.write_text("$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\n" +
                   "".join(f'n{i} TXT "{"x" * 150}"\n' for i in range(40000)))
    daemon = sqlite3.connect(gtmctl.db)
    try:
        daemon.execute("SELECT count(*) FROM sqlite_master").fetchall()
        gtmctl.run("zone", "import", "big.test", src)
        wal = Path(f"{gtmctl.db}-wal")
        assert wal.stat().st_size > 8 << 20
        gtmctl.run("record", "add", "big.test", "x", "A", "300", "192.0.2.1")
        assert wal.stat().st_size <= 4 << 20
    finally:
        daemon.close()


def test_address_of_the_other_family_hinted(gtmctl):
    gtmctl.run("zone", "add", "fam.test", "--ns", "ns1.example.net")
    for rtype, addr, hint in (("A", "2001:db8::1", "an IPv6 address goes in an AAAA record"),
                              ("AAAA", "192.0.2.1", "an IPv4 address goes in an A record")):
        p = gtmctl.run("record", "add", "fam.test", "x", rtype, "300", addr, rc=1)
        assert p.stderr == ("gtmctl: record add: Syntax error, could not parse the RR's rdata "
                            f"in 'x 300 IN {rtype} {addr}': {hint}\n")


def test_zone_and_name_swapped(gtmctl):
    gtmctl.run("zone", "add", "swap.test", "--ns", "ns1.example.net")
    p = gtmctl.run("record", "add", "www", "swap.test", "A", "300", "192.0.2.1", rc=1)
    assert p.stderr == ("gtmctl: record add: no zone www. in the store, but swap.test. is one: "
                        "the zone comes first (gtmctl record add ZONE NAME TYPE TTL RDATA...)\n")
    p = gtmctl.run("record", "add", "other.test", "www", "A", "300", "192.0.2.1", rc=1)
    assert p.stderr == "gtmctl: record add: no zone other.test. in the store\n"
