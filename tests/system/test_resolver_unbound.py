"""A real resolver in front of gtm-dnsd: Debian's Unbound, started on a loopback port
with gtm-dnsd as the stub for the test zones, resolves names for a client the way it
would for a production domain's users. It is set up to be strict with authoritative
servers: 0x20 case randomisation (use-caps-for-id: a reply that does not echo the
random case sends it into a fallback of asking again, which its log shows), strict
QNAME minimisation (an NXDOMAIN at an empty non-terminal would end the resolution),
harden-below-nxdomain, a 1232-byte EDNS buffer (TC=1 answers are fetched again over
TCP), and EDNS Client Subnet from its subnetcache module (RFC 7871: it forwards the
client's subnet and caches each answer for the scope gtm-dnsd returns). Every other
name is refused by the resolver itself, and it sends only from 127.0.0.1, so nothing
leaves the machine.
"""
import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import free_port
from dnsd_util import shared_store  # noqa: F401 (fixture)
from policy_util import GEO, WEB_V4, serve
from policy_util import world, world_mmdb, world_template  # noqa: F401 (fixtures)

UNBOUND = "/usr/sbin/unbound"


@pytest.fixture
def unbound(daemons, tmp_path):
    """Factory: unbound(stubs, ecs=False) starts Unbound in the foreground on a free
    loopback port, resolving each zone of stubs ({zone: gtm-dnsd port}) through
    gtm-dnsd only; returns a function that sends it a query (RD set) and returns the
    response. The `daemons` fixture stops it (and checks it exits 0)."""

    def start(stubs, ecs=False):
        port = free_port()
        local = "".join(f'    local-zone: "{z}" transparent\n' for z in stubs)
        stub = "".join(f'stub-zone:\n    name: "{z}"\n    stub-addr: 127.0.0.1@{p}\n'
                       for z, p in stubs.items())
        subnet = ('    module-config: "subnetcache iterator"\n'
                  "    send-client-subnet: 127.0.0.1\n"
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
        d = daemons("unbound", [UNBOUND, "-d", "-c", conf], ready=r"start of service")

        def ask(name, rdtype="A", ecs=None):
            options = [dns.edns.ECSOption(*ecs)] if ecs else []
            q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232,
                                       options=options)
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=5)
            if r.flags & dns.flags.TC:
                r = dns.query.tcp(q, "127.0.0.1", port=port, timeout=5)
            return r

        ask.log = d.log
        return ask

    return start


def answer_of(r, rdtype):
    """The records of type rdtype in the answer section, as sorted text."""
    return sorted(rd.to_text() for rrset in r.answer if rrset.rdtype == rdtype for rd in rrset)


@pytest.fixture
def resolve(shared_store, dnsd, unbound):
    srv = dnsd(shared_store.db)
    return unbound({"dnsd.test.": srv.port, "child.dnsd.test.": srv.port})


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


def test_names_resolved_through_unbound(resolve):
    for name, rdtype, rcode, want in CASES:
        r = resolve(name, rdtype)
        got = answer_of(r, dns.rdatatype.from_text(rdtype))
        assert (dns.rcode.to_text(r.rcode()), got) == (dns.rcode.to_text(rcode), sorted(want)), \
            f"{name} {rdtype}"
    # every reply echoed the resolver's random case: no fallback to asking again
    assert "Capsforid" not in resolve.log()


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


def test_client_subnets_through_the_resolver(world, world_mmdb, dnsd, unbound):
    """Unbound forwards each client's subnet to gtm-dnsd and caches the answer for the
    scope it returns: two /24s of one GB /22 get eu-west, a DE /24 eu-central. Once
    gtm-dnsd is stopped, a third /24 of that /22 and another /24 of DE's /16 are still
    answered, each with its own region, from the resolver's cache: the scopes were
    honoured, neither too narrow (no answer) nor too wide (one answer for both)."""
    srv = serve(dnsd, world, world_mmdb)
    resolve = unbound({"example.com.": srv.port}, ecs=True)

    def check(addr, region, scope):
        r = resolve(GEO, "A", ecs=(addr, 24))
        assert answer_of(r, dns.rdatatype.A) == [WEB_V4[region]], (addr, r)
        opts = [o for o in r.options if isinstance(o, dns.edns.ECSOption)]
        assert len(opts) == 1 and opts[0].scopelen == scope, (addr, r)

    check("81.2.68.0", "eu-west", 22)
    check("81.2.69.0", "eu-west", 22)
    check("89.160.0.0", "eu-central", 16)
    srv.daemon.stop()
    check("81.2.71.0", "eu-west", 22)
    check("89.160.255.0", "eu-central", 16)
