"""Real resolvers in front of gtm-dnsd: Debian's Unbound, BIND 9 and PowerDNS Recursor,
each started on loopback with gtm-dnsd as the only server of the test zones, resolve
names for a client the way they would for a production domain's users.

They are set up to be strict with authoritative servers: QNAME minimisation (strict
where the resolver has it: an NXDOMAIN at an empty non-terminal would end the
resolution), a 1232-byte EDNS buffer (TC=1 answers are fetched again over TCP), and in
Unbound 0x20 case randomisation (a reply that does not echo the random case sends it
into a fallback of asking again, which its log shows) and harden-below-nxdomain. BIND
sends DNS cookies (RFC 7873) and logs servers it finds lame or whose EDNS it has to
give up. Unbound and PowerDNS Recursor forward the client's subnet (RFC 7871) and cache
each answer for the scope gtm-dnsd returns.

gtm-dnsd listens on 127.0.0.2 and the resolver on 127.0.0.1, both at one port: BIND
sends its queries to the port it listens on. No resolver has root hints it could use
(Unbound refuses other names, BIND's point at 127.0.0.9, PowerDNS has none), and each
sends only from 127.0.0.1, so nothing leaves the machine.
"""
import re
import signal
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from dnsd_util import shared_store, start, store  # noqa: F401 (fixtures)
from policy_util import GEO, WEB_V4, change
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)

DNSD_ADDR = "127.0.0.2"
RESOLVERS = ["unbound", "bind", "pdns"]

# What each resolver logs when an authoritative server's reply makes it work around it.
COMPLAINTS = {
    "unbound": r"Capsforid|FORMERR|lame|\berror\b",
    "bind": r"FORMERR|lame|EDNS|unexpected|cookie|SERVFAIL|\berror\b",
    "pdns": r'FORMERR|[Ll]ame|prio="Error"|timeouts="[1-9]|throttled="[1-9]',
}


def unbound_conf(tmp_path, port, zones, ecs):
    local = "".join(f'    local-zone: "{z}" transparent\n' for z in zones)
    stub = "".join(f'stub-zone:\n    name: "{z}"\n    stub-addr: {DNSD_ADDR}@{port}\n'
                   for z in zones)
    subnet = ('    module-config: "subnetcache iterator"\n'
              f"    send-client-subnet: {DNSD_ADDR}\n"
              "    max-client-subnet-ipv4: 24\n    max-client-subnet-ipv6: 56\n"
              if ecs else '    module-config: "iterator"\n')
    conf = tmp_path / "unbound.conf"
    conf.write_text(f"""server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    outgoing-interface: 127.0.0.1
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{tmp_path}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 2
    log-servfail: yes
    num-threads: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    use-caps-for-id: yes
    qname-minimisation: yes
    qname-minimisation-strict: yes
    harden-below-nxdomain: yes
    edns-buffer-size: 1232
    local-zone: "." refuse
{local}{subnet}{stub}remote-control:
    control-enable: no
""")
    return ["/usr/sbin/unbound", "-d", "-c", conf], r"start of service"


def bind_conf(tmp_path, port, zones, ecs):
    assert not ecs, "BIND 9 (open source) does not send client subnets"
    hints = tmp_path / "root.hints"
    hints.write_text(".  3600000 NS a.root.test.\na.root.test. 3600000 A 127.0.0.9\n")
    stubs = "".join(f'zone "{z}" {{ type static-stub; server-addresses {{ {DNSD_ADDR}; }}; }};\n'
                    for z in zones)
    conf = tmp_path / "named.conf"
    conf.write_text(f"""options {{
    directory "{tmp_path}";
    pid-file none;
    port {port};
    listen-on {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    query-source address 127.0.0.1;
    recursion yes;
    allow-query {{ 127.0.0.0/8; }};
    allow-recursion {{ 127.0.0.0/8; }};
    dnssec-validation no;
    qname-minimization strict;
    edns-udp-size 1232;
    max-udp-size 1232;
    max-cache-size 32m;
}};
controls {{ }};
zone "." {{ type hint; file "{hints}"; }};
{stubs}""")
    return ["/usr/sbin/named", "-g", "-n", "1", "-c", conf], r"\d running\n"


def pdns_conf(tmp_path, port, zones, ecs):
    (tmp_path / "recursor.conf").write_text("")
    forward = ",".join(f"{z}={DNSD_ADDR}:{port}" for z in zones)
    subnet = ["--edns-subnet-allow-list=" + ",".join(zones), "--use-incoming-edns-subnet=yes"] \
        if ecs else []
    return (["/usr/sbin/pdns_recursor", f"--config-dir={tmp_path}", f"--socket-dir={tmp_path}",
             "--daemon=no", "--write-pid=no", "--disable-syslog=yes", "--threads=1",
             "--local-address=127.0.0.1", f"--local-port={port}",
             "--query-local-address=127.0.0.1", f"--forward-zones={forward}", "--dont-query=",
             "--allow-from=127.0.0.0/8", "--dnssec=off", "--qname-minimization=yes",
             "--edns-outgoing-bufsize=1232", "--hint-file=no", "--security-poll-suffix=",
             "--loglevel=6", "--quiet=no", *subnet],
            r'msg="Enabled multiplexer"')


CONFS = {"unbound": unbound_conf, "bind": bind_conf, "pdns": pdns_conf}


@pytest.fixture
def resolver(daemons, tmp_path):
    """Factory: resolver(kind, port, zones, ecs=False) starts that resolver in the
    foreground on 127.0.0.1 at port, resolving each of zones through gtm-dnsd at
    127.0.0.2 on the same port; returns a function that sends it a query (RD set) and
    returns the response. The `daemons` fixture stops it (and checks it exits 0)."""

    started = []

    def start_resolver(kind, port, zones, ecs=False):
        args, ready = CONFS[kind](tmp_path, port, zones, ecs)
        d = daemons(kind, args, ready=ready)
        started.append((kind, d))

        def ask(name, rdtype="A", ecs=None):
            options = [dns.edns.ECSOption(*ecs)] if ecs else []
            q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232,
                                       options=options)
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5)
            if r.flags & dns.flags.TC:
                r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=5)
            return r

        def complaints():
            return [line for line in d.log().splitlines() if re.search(COMPLAINTS[kind], line)]

        ask.complaints = complaints
        return ask

    yield start_resolver
    for kind, d in started:
        if kind == "pdns":
            # PowerDNS Recursor ends on SIGTERM by the signal's default action.
            assert d.stop() in (0, -signal.SIGTERM), d.log()[-4000:]


def serve_at(dnsd, db, *extra):
    """gtm-dnsd on 127.0.0.2 only, accepting TCP."""
    return start(dnsd, db, *extra, addrs=(DNSD_ADDR,))


def answer_of(r, rdtype):
    """The records of type rdtype in the answer section, as sorted text."""
    return sorted(rd.to_text() for rrset in r.answer if rrset.rdtype == rdtype for rd in rrset)


@pytest.fixture(params=RESOLVERS)
def resolve(request, shared_store, dnsd, resolver):
    srv = serve_at(dnsd, shared_store.db)
    return resolver(request.param, srv.port, ["dnsd.test.", "child.dnsd.test."])


CASES = [
    # (query name, type, rcode, expected records of that type in the answer)
    ("www.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.80"]),
    ("WwW.DnSd.TeSt.", "AAAA", dns.rcode.NOERROR, ["2001:db8::80"]),
    ("dnsd.test.", "MX", dns.rcode.NOERROR, ["10 mail.dnsd.test.", "20 mx.elsewhere.example."]),
    # a CNAME chain in the zone, followed by the resolver
    ("chain1.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.3"]),
    ("alias.dnsd.test.", "AAAA", dns.rcode.NOERROR, ["2001:db8::80"]),
    # strict QNAME minimisation walks ent and b.ent (empty non-terminals: NODATA)
    ("a.b.ent.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.88"]),
    ("b.ent.dnsd.test.", "A", dns.rcode.NOERROR, []),
    ("www.dnsd.test.", "TXT", dns.rcode.NOERROR, []),
    ("nothere.dnsd.test.", "A", dns.rcode.NXDOMAIN, []),
    ("below.nothere.dnsd.test.", "A", dns.rcode.NXDOMAIN, []),
    # wildcards: synthesised, and blocked by the empty non-terminal ent.wild
    ("anything.wild.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.77"]),
    ("host.wild.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.78"]),
    ("x.ent.wild.dnsd.test.", "A", dns.rcode.NXDOMAIN, []),
    ("y.cw.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.80"]),
    # 40 A records fit 1232 bytes; ten 250-byte TXT records do not: TC=1, then TCP
    ("big.dnsd.test.", "A", dns.rcode.NOERROR, [f"198.51.100.{i}" for i in range(1, 41)]),
    ("mxmany.dnsd.test.", "MX", dns.rcode.NOERROR,
     [f"{i} mx{i:02}.dnsd.test." for i in range(1, 11)]),
    # a DNAME redirects what is below it (RFC 6672); the resolver follows
    ("host.moved.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.78"]),
    # the child zone, served beside its parent
    ("child.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.151"]),
    ("ns1.child.dnsd.test.", "A", dns.rcode.NOERROR, ["192.0.2.150"]),
    ("nothere.child.dnsd.test.", "A", dns.rcode.NXDOMAIN, []),
]


def test_names_resolved(resolve):
    for name, rdtype, rcode, want in CASES:
        r = resolve(name, rdtype)
        got = answer_of(r, dns.rdatatype.from_text(rdtype))
        assert (dns.rcode.to_text(r.rcode()), got) == (dns.rcode.to_text(rcode), sorted(want)), \
            f"{name} {rdtype}"
    # no reply made the resolver work around gtm-dnsd (case not echoed, FORMERR, lame...)
    assert resolve.complaints() == []


def test_large_rrset_fetched_over_tcp_by_the_resolver(resolve):
    r = resolve("huge.dnsd.test.", "TXT")
    texts = answer_of(r, dns.rdatatype.TXT)
    assert len(texts) == 10
    assert all(t.startswith(f'"record {i:02} ') for i, t in enumerate(texts, 1))


def test_negative_answers_cached_for_the_soa_minimum(resolve):
    """RFC 2308: the resolver caches NXDOMAIN for min(SOA TTL, MINIMUM) and hands the SOA
    on with at most that TTL (300 for dnsd.test, 60 for child.dnsd.test)."""
    for name, ttl in (("gone.dnsd.test.", 300), ("gone.child.dnsd.test.", 60)):
        r = resolve(name, "A")
        assert r.rcode() == dns.rcode.NXDOMAIN
        soa = [rrset for rrset in r.authority if rrset.rdtype == dns.rdatatype.SOA]
        assert len(soa) == 1 and 0 < soa[0].ttl <= ttl, r


@pytest.mark.parametrize("kind", RESOLVERS)
def test_edits_reach_clients_after_the_ttl(kind, store, dnsd, resolver):
    """An operator's edit is what the resolver hands out once its cached copy expires:
    a record with a 1-second TTL, changed with gtmctl, is resolved to its new address
    2.2 seconds later (resolvers count TTLs in whole seconds: a record cached late in
    one second may still be served, with TTL 0, until the end of the next)."""
    store.run("record", "add", "dnsd.test", "short", "A", "1", "192.0.2.201")
    srv = serve_at(dnsd, store.db)
    resolve = resolver(kind, srv.port, ["dnsd.test."])
    r = resolve("short.dnsd.test.")
    assert answer_of(r, dns.rdatatype.A) == ["192.0.2.201"] and r.answer[0].ttl <= 1
    change(srv, store, "record", "rm", "dnsd.test", "short", "A")
    change(srv, store, "record", "add", "dnsd.test", "short", "A", "1", "192.0.2.202")
    time.sleep(2.2)
    assert answer_of(resolve("short.dnsd.test."), dns.rdatatype.A) == ["192.0.2.202"]


@pytest.mark.parametrize("kind", ["unbound", "pdns"])
def test_client_subnets_through_the_resolver(kind, world, world_mmdb, dnsd, resolver):
    """The resolver forwards each client's subnet to gtm-dnsd and caches the answer for
    the scope it returns: two /24s of one GB /22 get eu-west, a DE /24 eu-central. Once
    gtm-dnsd is stopped, a third /24 of that /22 and another /24 of DE's /16 are still
    answered, each with its own region, from the resolver's cache: the scopes were
    honoured, neither too narrow (no answer) nor too wide (one answer for both)."""
    srv = serve_at(dnsd, world.db, "--geoip", world_mmdb)
    resolve = resolver(kind, srv.port, ["example.com."], ecs=True)

    def check(addr, region, scope):
        r = resolve(GEO, "A", ecs=(addr, 24))
        assert answer_of(r, dns.rdatatype.A) == [WEB_V4[region]], (addr, r)
        opts = [o for o in r.options if isinstance(o, dns.edns.ECSOption)]
        if kind == "unbound":  # PowerDNS Recursor does not hand the option on
            assert len(opts) == 1 and opts[0].scopelen == scope, (addr, r)

    check("81.2.68.0", "eu-west", 22)
    check("81.2.69.0", "eu-west", 22)
    check("89.160.0.0", "eu-central", 16)
    srv.daemon.stop()
    check("81.2.71.0", "eu-west", 22)
    check("89.160.255.0", "eu-central", 16)
