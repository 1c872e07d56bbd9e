"""gtm-dnsd: delegations (RFC 1034 §4.2.1 and §4.3.2 step 3b, RFC 2181 §6.1, RFC 9471)
and DS at a zone cut (RFC 4035 §3.1.4.1), over UDP and TCP.

Zone tests/system/zones/dnsd.test.zone delegates sub (glue ns1.sub, an out-of-zone NS,
a DS), nods (no DS, NS in the parent) and fat (12 in-bailiwick NS); child.dnsd.test is
delegated too and also served from the same store.
"""
import dns.flags
import dns.rcode
import pytest

from dnsd_util import CHILD_SOA, SOA, ask, check, make, mixcase, norm, rr_lines, start
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

SUB_NS = ["sub.dnsd.test. 900 IN NS ns1.sub.dnsd.test.",
          "sub.dnsd.test. 900 IN NS ns.elsewhere.example."]
SUB_GLUE = ["ns1.sub.dnsd.test. 900 IN A 192.0.2.100",
            "ns1.sub.dnsd.test. 900 IN AAAA 2001:db8::100"]
SUB_DS = ("sub.dnsd.test. 900 IN DS 12345 13 2 "
          "3490A6806D47F17A34C29E2CE80E8A999FFBE4BE0123456789ABCDEF01234567")
FAT_NS = [f"fat.dnsd.test. 3600 IN NS ns{i:02d}.fat.dnsd.test." for i in range(1, 13)]
FAT_GLUE = ([f"ns{i:02d}.fat.dnsd.test. 3600 IN A 203.0.113.{i}" for i in range(1, 13)] +
            [f"ns{i:02d}.fat.dnsd.test. 3600 IN AAAA 2001:db8:fa7::{i}" for i in range(1, 13)])


@pytest.mark.parametrize("qname,qtype", [
    ("host.sub.dnsd.test", "A"),        # below the cut
    ("a.b.c.sub.dnsd.test", "AAAA"),    # deeper: no NXDOMAIN below a cut
    ("sub.dnsd.test", "A"),             # at the cut
    ("sub.dnsd.test", "NS"),            # the child's NS are the child's data (RFC 2181 §6.1)
    ("ns1.sub.dnsd.test", "A"),         # glue is not authoritative data
    ("sub.dnsd.test", "SOA"),
    ("deep.sub.dnsd.test", "DS"),       # DS below the cut belongs to the child
])
def test_referral(server, transport, qname, qtype):
    """NOERROR, AA clear, empty answer, the cut's NS in authority, in-bailiwick glue
    (and only that) in additional."""
    q = make(mixcase(qname), qtype, edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, aa=False, authority=SUB_NS, additional=SUB_GLUE)


def test_referral_with_ns_in_parent_zone(server, transport):
    """An NS of the delegation that lives in the parent zone (not below the cut) gets
    its address in additional too, as Knot gives it."""
    q = make("www.nods.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, aa=False, authority=["nods.dnsd.test. 3600 IN NS ns2.dnsd.test."],
          additional=["ns2.dnsd.test. 3600 IN A 192.0.2.54"])


def test_ds_at_the_cut_is_answered_from_the_parent(server, transport):
    """RFC 4035 §3.1.4.1: DS lives on the parent side; the parent answers it
    authoritatively (AA set, in the answer), not with a referral."""
    q = make(mixcase("sub.dnsd.test"), "DS", edns=0, do=True)
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[SUB_DS])


def test_missing_ds_at_the_cut_is_nodata_from_the_parent(server, transport):
    q = make("nods.dnsd.test", "DS")
    r, wire = ask(server, q, transport)
    check(q, wire, authority=[SOA])


def test_ds_of_a_child_zone_served_alongside_is_answered_from_the_parent(server, transport):
    """RFC 4035 §3.1.4.1: a server authoritative for both the parent and the child
    answers DS from the parent zone (the child has no DS at its apex). Knot DNS answers
    the parent's DS here."""
    q = make("child.dnsd.test", "DS")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=[
        "child.dnsd.test. 3600 IN DS 54321 13 2 "
        "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"])


def test_child_zone_served_alongside_answers_for_itself(server, transport):
    """Below the parent's cut, the deeper zone we also serve answers, authoritatively."""
    q = make("child.dnsd.test", "NS")
    r, wire = ask(server, q, transport)
    check(q, wire, answer=["child.dnsd.test. 600 IN NS ns1.child.dnsd.test."],
          additional=["ns1.child.dnsd.test. 600 IN A 192.0.2.150"])
    q = make("nothere.child.dnsd.test", "A")
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.NXDOMAIN, authority=[CHILD_SOA])


def test_referral_whose_glue_does_not_fit_is_truncated(server):
    """RFC 9471 §3: glue of in-bailiwick name servers must all be there; when it does
    not fit the UDP size, TC is set. Over TCP, the same referral comes whole."""
    q = make("www.fat.dnsd.test", "A")
    r, wire = ask(server, q, "udp")
    assert len(wire) <= 512
    assert r.flags & dns.flags.TC
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r, wire = ask(server, q, "tcp")
    check(q, wire, aa=False, authority=FAT_NS, additional=FAT_GLUE)


def test_referral_with_all_glue_fits_edns_size(server):
    q = make("www.fat.dnsd.test", "A", edns=0)
    r, wire = ask(server, q, "udp")
    assert len(wire) <= 1232
    check(q, wire, aa=False, authority=FAT_NS, additional=FAT_GLUE)


@pytest.mark.parametrize("qname,qtype,section,rrs", [
    # a referral whose name servers are below another delegation (sibling glue)
    ("www.sib.dnsd.test", "A", "authority",
     [f"sib.dnsd.test. 3600 IN NS ns{i:02d}.fat.dnsd.test." for i in range(1, 13)]),
    # an answer whose mail hosts are below a delegation
    ("mxfat.dnsd.test", "MX", "answer",
     [f"mxfat.dnsd.test. 3600 IN MX {i} ns{i:02d}.fat.dnsd.test." for i in range(1, 13)]),
])
def test_addresses_that_do_not_fit_are_left_out_without_truncation(server, qname, qtype,
                                                                   section, rrs):
    """RFC 2181 §9: additional data that does not fit is left out and TC stays clear;
    RFC 9471 §3 asks for TC only for the glue of name servers below the referral's own
    cut, not for these. Over TCP every address is there."""
    q = make(mixcase(qname), qtype)
    r, wire = ask(server, q, "udp")
    assert len(wire) <= 512
    assert not r.flags & dns.flags.TC
    got = rr_lines(r.additional)
    assert got and len(got) < len(FAT_GLUE) and set(got) <= set(norm(FAT_GLUE))
    r, wire = ask(server, q, "tcp")
    aa = section == "answer"
    check(q, wire, aa=aa, additional=FAT_GLUE, **{section: rrs})


@pytest.mark.parametrize("parent_first", [True, False])
def test_child_apex_next_to_the_parents_last_name(tmp_path, gtmctl, dnsd, parent_first):
    """The parent's last name (its delegation) is the child's apex, the first name of
    the next zone in the store: two nodes, the child's SOA in the child, the parent's
    NS and DS on the parent's side, whichever zone was made first."""
    (tmp_path / "a.zone").write_text("$TTL 300\n@ SOA a h 1 2 3 4 5\n@ NS a\n"
                                     "a A 192.0.2.1\nb NS ns.elsewhere.example.\n"
                                     "b DS 1 13 2 " + "00" * 32 + "\n")
    (tmp_path / "b.zone").write_text("$TTL 60\n@ SOA ns1 h 7 2 3 4 5\n@ NS ns1\n"
                                     "ns1 A 192.0.2.2\n@ TXT child\n")
    order = [("a.test", "a.zone"), ("b.a.test", "b.zone")]
    for zone, f in order if parent_first else order[::-1]:
        gtmctl.run("zone", "import", zone, tmp_path / f)
    srv = start(dnsd, gtmctl.db)
    q = make("b.a.test", "TXT")
    r, wire = ask(srv, q, "udp")
    check(q, wire, answer=['b.a.test. 60 IN TXT "child"'])
    q = make("b.a.test", "DS")
    r, wire = ask(srv, q, "udp")
    check(q, wire, answer=["b.a.test. 300 IN DS 1 13 2 " + "00" * 32])
