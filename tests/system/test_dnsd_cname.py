"""gtm-dnsd: CNAME answers (RFC 1034 §3.6.2 and §4.3.2 step 3a, RFC 2181 §10.1,
RFC 6604 §3) — in-zone chasing, chains, loops, out-of-zone and dangling targets,
wildcard CNAMEs — over UDP and TCP, compared with what Knot DNS answers for the same
zone (tests/system/zones/dnsd.test.zone).
"""
import dns.rcode

from dnsd_util import SOA, ask, check, make, mixcase
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)


def test_cname_is_chased_in_zone(server, transport):
    q = make(mixcase("alias.dnsd.test"), "A", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["alias.dnsd.test. 120 IN CNAME www.dnsd.test.",
                           "www.dnsd.test. 600 IN A 192.0.2.80"])


def test_cname_chase_ends_in_nodata(server, transport):
    """The target exists without the type: NOERROR, the CNAME, the SOA (RFC 2308 §2.2)."""
    q = make("alias.dnsd.test", "MX")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["alias.dnsd.test. 120 IN CNAME www.dnsd.test."], authority=[SOA])


def test_cname_chain_is_followed_to_the_end(server, transport):
    q = make(mixcase("chain1.dnsd.test"), "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["chain1.dnsd.test. 60 IN CNAME chain2.dnsd.test.",
                           "chain2.dnsd.test. 70 IN CNAME chain3.dnsd.test.",
                           "chain3.dnsd.test. 80 IN A 192.0.2.3"])
    # ordered as the chain goes (RFC 1034 §4.3.2: each CNAME before what it leads to)
    assert [rrset.name.to_text().lower() for rrset in r.answer] == [
        "chain1.dnsd.test.", "chain2.dnsd.test.", "chain3.dnsd.test."]


def test_query_for_the_cname_itself_is_not_chased(server, transport):
    q = make("chain1.dnsd.test", "CNAME")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["chain1.dnsd.test. 60 IN CNAME chain2.dnsd.test."])


def test_cname_loop_is_answered_once_round(server, transport):
    """A loop is the zone's mistake: answer each CNAME once and stop (Knot does)."""
    q = make("loop1.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["loop1.dnsd.test. 3600 IN CNAME loop2.dnsd.test.",
                           "loop2.dnsd.test. 3600 IN CNAME loop1.dnsd.test."])


def test_cname_to_itself(server, transport):
    q = make("self.dnsd.test", "AAAA")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["self.dnsd.test. 3600 IN CNAME self.dnsd.test."])


def test_cname_out_of_zone_is_left_to_the_resolver(server, transport):
    q = make("out.dnsd.test", "A", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["out.dnsd.test. 3600 IN CNAME www.elsewhere.example."])


def test_cname_to_a_missing_name_is_nxdomain(server, transport):
    """RFC 6604 §3 / RFC 2308 §2.1: the RCODE is that of the last name of the chain,
    the CNAME stays in the answer, the SOA is in authority, AA set."""
    q = make("dangling.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN,
          answer=["dangling.dnsd.test. 3600 IN CNAME nothere.dnsd.test."], authority=[SOA])


def test_cname_to_a_wildcard_name(server, transport):
    q = make("to-wild.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["to-wild.dnsd.test. 3600 IN CNAME foo.wild.dnsd.test.",
                           "foo.wild.dnsd.test. 500 IN A 192.0.2.77"])


def test_wildcard_cname_is_synthesised_and_chased(server, transport):
    """RFC 4592 §4.4: a wildcard CNAME is synthesised at the query name, then chased."""
    q = make(mixcase("anything.cw.dnsd.test"), "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["anything.cw.dnsd.test. 3600 IN CNAME www.dnsd.test.",
                           "www.dnsd.test. 600 IN A 192.0.2.80"])


def test_cname_into_a_delegation_gives_the_referral(server, transport):
    """RFC 1034 §4.3.2: after the CNAME the algorithm restarts at step 1 with the
    target; a target below a zone cut (step 3b) adds the referral: the cut's NS in
    authority and their glue in additional. AA stays set for the CNAME, which is
    authoritative. Knot DNS answers exactly this."""
    q = make("to-deleg.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["to-deleg.dnsd.test. 3600 IN CNAME host.sub.dnsd.test."],
          authority=["sub.dnsd.test. 900 IN NS ns1.sub.dnsd.test.",
                     "sub.dnsd.test. 900 IN NS ns.elsewhere.example."],
          additional=["ns1.sub.dnsd.test. 900 IN A 192.0.2.100",
                      "ns1.sub.dnsd.test. 900 IN AAAA 2001:db8::100"])
