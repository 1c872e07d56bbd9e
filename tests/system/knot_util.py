"""Helpers for tests that compare gtm-dnsd with Knot DNS: a Knot instance started on a
loopback port from a generated config (everything under the test's temp directory),
raw DNS exchanges over UDP and TCP, and a section-by-section comparison of two
answers.

Knot runs as `knotd -c CONF` in the foreground; `Knot.start` waits until every zone
answers its SOA with AA (never a sleep), and `Knot.stop` sends SIGTERM. Tests should
call `stop` from a finalizer so Knot never outlives a failed test.
"""
import dataclasses
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

KNOTD = "knotd"


# ---- Knot ------------------------------------------------------------------------------

class Knot:
    """One knotd serving zone files on 127.0.0.1@port, with its config, database,
    control socket, pid file and log all in workdir."""

    def __init__(self, workdir, port, zones, nsid=None, identity=None, version=None,
                 udp_max_payload=1232, cookie_secret=None):
        self.dir = Path(workdir)
        self.port = port
        self.zones = list(zones)  # [(origin, zone file path)]
        self.nsid = nsid
        self.identity = identity
        self.version = version
        self.udp_max_payload = udp_max_payload
        self.cookie_secret = cookie_secret  # hex: DNS cookies (mod-cookies) with this key
        self.proc = None
        self.log_path = self.dir / "knotd.log"
        self.version_text = subprocess.run([KNOTD, "--version"], capture_output=True,
                                           text=True).stdout.strip().split()[-1]
        self.conf_path = self.dir / "knot.conf"

    def config(self):
        d = self.dir
        # An empty identity/version disables the CH answer (Knot 3.2 doc: "Set to an
        # empty value to disable"), which is what gtm-dnsd does when not configured.
        lines = [
            "server:",
            f'    rundir: "{d}"',
            f'    pidfile: "{d}/knot.pid"',
            f"    listen: 127.0.0.1@{self.port}",
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            f"    udp-max-payload: {self.udp_max_payload}",
            f'    identity: "{self.identity or ""}"',
            f'    version: "{self.version or ""}"',
        ]
        if self.nsid:
            lines.append(f'    nsid: "{self.nsid}"')
        if self.cookie_secret:
            lines += ["mod-cookies:", "  - id: shared", f"    secret: 0x{self.cookie_secret}"]
        lines += [
            "database:",
            f'    storage: "{d}/db"',
            "control:",
            f'    listen: "{d}/knot.sock"',
            "log:",
            "  - target: stderr",
            "    any: info",
            "template:",
            "  - id: default",
            f'    storage: "{d}/db"',
            "    semantic-checks: off",   # the zone is unsigned and has odd corners
            "    zonefile-sync: -1",      # never write the zone file back
            "    zonefile-load: whole",
            "    journal-content: none",
        ]
        if self.cookie_secret:
            lines.append("    global-module: mod-cookies/shared")
        lines.append("zone:")
        for origin, path in self.zones:
            lines += [f"  - domain: {origin}", f'    file: "{Path(path).resolve()}"']
        return "\n".join(lines) + "\n"

    def start(self, timeout=20):
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config())
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([KNOTD, "-c", str(self.conf_path)], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        pending = [origin for origin, _ in self.zones]
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError(f"knotd exited ({self.proc.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"knotd: {pending} not served within {timeout}s:\n"
                                     f"{self.log()}")
            q = dns.message.make_query(pending[0], "SOA")
            try:
                wire = udp_exchange(q.to_wire(), "127.0.0.1", self.port, timeout=0.2)
            except (TimeoutError, socket.timeout, ConnectionRefusedError):
                continue
            r = dns.message.from_wire(wire)
            if r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer:
                pending.pop(0)
            else:
                time.sleep(0.05)
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        rc = self.proc.returncode
        self.proc = None
        return rc


# ---- exchanges --------------------------------------------------------------------------

def udp_exchange(wire, addr, port, timeout=2.0):
    """Sends one datagram; returns the first reply whose ID matches (TimeoutError if
    none comes)."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((addr, port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.001, deadline - time.monotonic()))
            data = s.recv(65535)
            if len(data) >= 2 and data[:2] == wire[:2]:
                return data


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def tcp_exchange(wire, addr, port, timeout=3.0):
    """Sends one length-prefixed query on a new connection; returns the first reply."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        (n,) = struct.unpack("!H", _recv_exact(s, 2))
        return _recv_exact(s, n)


# ---- queries ----------------------------------------------------------------------------

@dataclasses.dataclass
class Query:
    """One query of a differential run. edns None sends no OPT record."""
    qname: str
    qtype: str = "A"
    qclass: str = "IN"
    tcp: bool = False
    edns: Optional[int] = 0           # EDNS version, None for none
    payload: int = 1232
    do: bool = False
    nsid: bool = False
    unknown_option: bool = False
    opcode: str = "QUERY"
    rd: bool = True
    cd: bool = False
    soa: Optional[str] = None  # SOA RDATA sent along: in authority (IXFR, RFC 1995
    #                            section 3), in answer (NOTIFY, RFC 1996 section 3.7)
    tag: str = ""                     # what the query is about (for reading the diff)

    def message(self):
        options = []
        if self.nsid:
            options.append(dns.edns.GenericOption(dns.edns.NSID, b""))
        if self.unknown_option:
            options.append(dns.edns.GenericOption(65001, b"\x01\x02\x03"))
        flags = (dns.flags.RD if self.rd else 0) | (dns.flags.CD if self.cd else 0)
        q = dns.message.make_query(self.qname, dns.rdatatype.from_text(self.qtype),
                                   dns.rdataclass.from_text(self.qclass), flags=flags)
        if self.edns is not None:
            # not through make_query, which drops an EDNS version other than 0
            q.use_edns(edns=self.edns, ednsflags=dns.flags.DO if self.do else 0,
                       payload=self.payload, options=options)
        q.set_opcode(dns.opcode.from_text(self.opcode))
        if self.soa:
            rr = dns.rrset.from_text(self.qname, 0, "IN", "SOA", self.soa)
            (q.answer if self.opcode == "NOTIFY" else q.authority).append(rr)
        return q

    def describe(self):
        parts = [f"{self.qname} {self.qclass} {self.qtype}", "TCP" if self.tcp else "UDP"]
        if self.opcode != "QUERY":
            parts.append(f"opcode {self.opcode}")
        if self.edns is None:
            parts.append("no EDNS")
        else:
            e = f"EDNS{self.edns} {self.payload}"
            e += " DO" if self.do else ""
            e += " NSID" if self.nsid else ""
            e += " +unknown-opt" if self.unknown_option else ""
            parts.append(e)
        if not self.rd:
            parts.append("RD=0")
        if self.cd:
            parts.append("CD=1")
        if self.soa:
            parts.append("SOA in " + ("answer" if self.opcode == "NOTIFY" else "authority"))
        if self.tag:
            parts.append(f"[{self.tag}]")
        return ", ".join(parts)


def ask(query, port, addr="127.0.0.1", timeout=2.0):
    """Sends query; returns (response message or None, raw wire or None, error text)."""
    msg = query.message()
    wire = msg.to_wire()
    try:
        if query.tcp:
            data = tcp_exchange(wire, addr, port, timeout=timeout)
        else:
            data = udp_exchange(wire, addr, port, timeout=timeout)
    except (TimeoutError, socket.timeout):
        return None, None, "no response (timeout)"
    except (ConnectionError, OSError) as e:
        return None, None, f"no response ({e.__class__.__name__}: {e})"
    try:
        return dns.message.from_wire(data, one_rr_per_rrset=True), data, ""
    except Exception as e:  # a reply dnspython cannot parse is itself a finding
        return None, data, f"unparsable response ({e.__class__.__name__}: {e})"


# ---- comparison -------------------------------------------------------------------------

FLAG_NAMES = ("QR", "AA", "TC", "RD", "RA", "AD", "CD")
SECTIONS = ("question", "answer", "authority", "additional")


def _rr_lines(section):
    """The records of a section as a set of lines: owner, TTL, class, type, RDATA.
    Names are compared case-insensitively (owners, and the names inside the RDATA of
    the types that hold only names and numbers); text RDATA keeps its case."""
    out = set()
    for rrset in section:
        for rd in rrset:
            text = rd.to_text()
            if rd.rdtype in (dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.PTR,
                             dns.rdatatype.MX, dns.rdatatype.SRV, dns.rdatatype.SOA):
                text = text.lower()
            out.add(f"{rrset.name.to_text().lower()} {rrset.ttl} "
                    f"{dns.rdataclass.to_text(rrset.rdclass)} "
                    f"{dns.rdatatype.to_text(rrset.rdtype)} {text}")
    return frozenset(out)


def summarize(query, resp, wire, err):
    """What we compare of one response (as `ask` returns it), as a dict of field ->
    comparable value."""
    if resp is None:
        return {"response": err}
    s = {"response": "ok"}
    s["rcode"] = dns.rcode.to_text(resp.rcode())
    s["opcode"] = dns.opcode.to_text(resp.opcode())
    s["flags"] = " ".join(f for f in FLAG_NAMES if resp.flags & getattr(dns.flags, f))
    if resp.edns < 0:
        s["edns"] = "none"
    else:
        opts = sorted(f"{int(o.otype)}:{o.to_wire().hex()}" for o in resp.options)
        s["edns"] = (f"version {resp.edns} payload {resp.payload} "
                     f"{'DO' if resp.ednsflags & dns.flags.DO else 'no-DO'}"
                     + (f" options {','.join(opts)}" if opts else ""))
    s["question"] = frozenset(f"{r.name.to_text()} {dns.rdataclass.to_text(r.rdclass)} "
                              f"{dns.rdatatype.to_text(r.rdtype)}" for r in resp.question)
    for sec in SECTIONS[1:]:
        s[sec] = _rr_lines(getattr(resp, sec))
    # The query name's case is kept (issue 3, "0x20"): in the question (compared above)
    # and in the answer's records owned by the query name.
    qn = dns.name.from_text(query.qname)
    owners = {r.name.to_text() for r in resp.answer if r.name == qn}
    s["qname case"] = "kept" if owners <= {qn.to_text()} else f"changed to {sorted(owners)}"
    return s


def differing_fields(a, b):
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def format_diff(query, gtm, knot, fields, note=""):
    """A readable diff of the given fields of two summaries."""
    lines = [f"  {query.describe()}{note}"]
    for f in fields:
        g, k = gtm.get(f), knot.get(f)
        if isinstance(g, frozenset) and isinstance(k, frozenset):
            only_g, only_k = sorted(g - k), sorted(k - g)
            lines.append(f"    {f}:")
            lines += [f"      gtm only:  {x}" for x in only_g]
            lines += [f"      knot only: {x}" for x in only_k]
        else:
            lines.append(f"    {f}:\n      gtm:  {g}\n      knot: {k}")
    return "\n".join(lines)


@dataclasses.dataclass
class KnownDifference:
    """A difference from Knot we accept: for queries matching `match`, the fields in
    `fields` may differ, provided `gtm_ok(query, gtm, knot)` (when given) holds for
    the two summaries; `why` says why gtm's answer is right or acceptable."""
    name: str
    match: Callable[[Query], bool]
    fields: frozenset
    why: str
    gtm_ok: Optional[Callable[[Query, dict, dict], bool]] = None
    seen: int = 0
