"""gtm-dnsd: wildcards (RFC 4592) — synthesis at the closest encloser only, the
wildcard owner replaced by the query name, exact names and empty non-terminals
blocking synthesis, NODATA from a wildcard — over UDP and TCP. The zone
(tests/system/zones/dnsd.test.zone) has *.wild (A, TXT), host.wild, a.ent.wild (making
ent.wild an empty non-terminal) and *.cw (a CNAME); Knot DNS gives the same answers.
"""
import dns.rcode
import pytest

from dnsd_util import SOA, ask, check, make, mixcase
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)


@pytest.mark.parametrize("qname", ["foo.wild.dnsd.test", "x.y.wild.dnsd.test",
                                   "a-b.c-d.e-f.wild.dnsd.test"])
def test_wildcard_synthesises_the_query_name(server, transport, qname):
    """RFC 4592 §3.3.1: the closest encloser is wild.dnsd.test, *.wild exists: the A
    RRset is answered with the query name as owner, the wildcard's TTL, AA set. More
    than one missing label is covered too (x.y.wild)."""
    q = make(mixcase(qname), "A", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[f"{qname}. 500 IN A 192.0.2.77"])
    assert r.answer[0].name.to_text() == q.question[0].name.to_text()


def test_wildcard_other_type(server, transport):
    q = make("bar.wild.dnsd.test", "TXT")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=['bar.wild.dnsd.test. 500 IN TXT "wildcard"'])


def test_wildcard_without_the_type_is_nodata(server, transport):
    """RFC 4592 §3.3.1 / RFC 2308 §2.2: the wildcard matches but has no MX: NODATA with
    the SOA, not NXDOMAIN."""
    q = make("foo.wild.dnsd.test", "MX")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_existing_name_is_not_covered_by_the_wildcard(server, transport):
    """RFC 4592 §2.2: host.wild exists, so it answers with its own A ..."""
    q = make("host.wild.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["host.wild.dnsd.test. 3600 IN A 192.0.2.78"])


def test_existing_name_without_the_type_is_nodata_not_wildcard(server, transport):
    """... and a type it lacks is NODATA, even though *.wild has that type."""
    q = make("host.wild.dnsd.test", "TXT")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_closest_encloser_rule(server, transport):
    """RFC 4592 §3.3.1: for foo.host.wild the closest encloser is host.wild (it
    exists); *.host.wild does not, so the answer is NXDOMAIN — *.wild, higher up, does
    not apply."""
    q = make("foo.host.wild.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[SOA])


def test_empty_non_terminal_blocks_the_wildcard(server, transport):
    """RFC 4592 §2.2.2: ent.wild exists as an empty non-terminal (a.ent.wild has data),
    so x.ent.wild has closest encloser ent.wild and no source of synthesis: NXDOMAIN."""
    q = make("x.ent.wild.dnsd.test", "A", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[SOA])


def test_empty_non_terminal_itself_is_nodata_not_wildcard(server, transport):
    q = make("ent.wild.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_asterisk_label_queried_literally(server, transport):
    """A query for *.wild itself is an exact match of the wildcard's owner."""
    q = make("*.wild.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["*.wild.dnsd.test. 500 IN A 192.0.2.77"])


def test_name_below_the_wildcard_owner(server, transport):
    """RFC 4592 §2.1.3 / §3.3.1: for a.*.wild the closest encloser is *.wild itself,
    which has no '*' child: NXDOMAIN."""
    q = make("a.*.wild.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[SOA])


def test_empty_non_terminal_wildcard_gives_nodata(server, transport):
    """RFC 4592 §2.2.1 and §3.3.1: *.ewild exists only as the parent of a.*.ewild; it
    still matches foo.ewild, which then has no data: NODATA, not NXDOMAIN."""
    q = make("foo.ewild.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])
