"""gtm-dnsd: responses larger than the client's UDP size (RFC 1035 §4.2.1: 512 bytes
without EDNS; RFC 6891 §6.2.3/§6.2.5: the smaller of the client's and our payload size,
never below 512) are truncated with TC=1, whole RRsets only (RFC 2181 §9), the OPT record
kept (RFC 6891 §7); over TCP (RFC 7766 §8) the same answer comes whole.

big.dnsd.test has 40 A records (682 bytes with EDNS), huge.dnsd.test 10 TXT records
of about 2.5 kB.
"""
import dns.edns
import dns.flags
import dns.rcode
import pytest

from dnsd_util import ask, check, make, norm, rr_lines
from dnsd_util import server, shared_store  # noqa: F401 (fixtures)

BIG = [f"big.dnsd.test. 3600 IN A 198.51.100.{i}" for i in range(1, 41)]
HUGE = ['huge.dnsd.test. 3600 IN TXT "' + ("record %02d " % i) * 25 + '"' for i in range(1, 11)]


@pytest.mark.parametrize("edns,payload,limit", [
    (None, None, 512),      # no EDNS: 512
    (0, 512, 512),          # EDNS, 512
    (0, 600, 600),          # EDNS, just below the answer's size
    (0, 100, 512),          # EDNS sizes below 512 count as 512 (RFC 6891 §6.2.5)
], ids=["no-edns", "edns-512", "edns-600", "edns-100"])
def test_large_rrset_truncated_over_udp(server, edns, payload, limit):
    q = make("big.dnsd.test", "A", edns=edns, payload=payload or 1232)
    r, wire = ask(server, q, "udp")
    assert len(wire) <= limit
    check(q, wire, tc=True)  # AA, the question, an empty answer, the OPT if asked


def test_large_rrset_fits_our_edns_size(server):
    q = make("big.dnsd.test", "A", edns=0, payload=4096)
    r, wire = ask(server, q, "udp")
    check(q, wire, answer=BIG)


@pytest.mark.parametrize("ecs", [(24, "192.0.2.0"), (56, "2001:db8:1:200::"), (0, "0.0.0.0")],
                         ids=["v4-24", "v6-56", "v4-0"])
def test_room_kept_for_the_client_subnet_is_what_it_takes(server, ecs):
    """A client subnet (RFC 7871) in the query comes back in the response's OPT, as long
    as it came: an answer that fits the client's size with it is sent whole, one byte
    less truncates (not a fixed worst case of 24 bytes)."""
    bits, addr = ecs
    opt = [dns.edns.ECSOption(addr, bits)]
    r, wire = ask(server, make("big.dnsd.test", "A", edns=0, payload=1232, options=opt), "udp")
    assert not r.flags & dns.flags.TC and r.options
    whole = len(wire)
    q = make("big.dnsd.test", "A", edns=0, payload=whole, options=opt)
    r, wire = ask(server, q, "udp")
    assert not r.flags & dns.flags.TC, f"TC with room for the answer ({whole} bytes)"
    assert len(wire) == whole and rr_lines(r.answer) == norm(BIG)
    q = make("big.dnsd.test", "A", edns=0, payload=whole - 1, options=opt)
    r, wire = ask(server, q, "udp")
    assert r.flags & dns.flags.TC and not r.answer and len(wire) < whole


@pytest.mark.parametrize("edns", [None, 0])
def test_large_rrset_comes_whole_over_tcp(server, edns):
    q = make("big.dnsd.test", "A", edns=edns, payload=512)
    r, wire = ask(server, q, "tcp")
    check(q, wire, answer=BIG)


def test_response_larger_than_our_edns_size_truncated_over_udp(server):
    """The client offers 4096; we send at most our 1232 (DNS flag day 2020)."""
    q = make("huge.dnsd.test", "TXT", edns=0, payload=4096)
    r, wire = ask(server, q, "udp")
    assert len(wire) <= 1232
    check(q, wire, tc=True)


def test_response_larger_than_our_edns_size_whole_over_tcp(server):
    q = make("huge.dnsd.test", "TXT", edns=0, payload=4096)
    r, wire = ask(server, q, "tcp")
    assert len(wire) > 2000
    check(q, wire, answer=HUGE)


MXMANY = [f"mxmany.dnsd.test. 3600 IN MX {i} mx{i:02d}.dnsd.test." for i in range(1, 11)]
MXMANY_ADDRS = ([f"mx{i:02d}.dnsd.test. 3600 IN A 192.0.2.{200 + i}" for i in range(1, 11)] +
                [f"mx{i:02d}.dnsd.test. 3600 IN AAAA 2001:db8::{200 + i}" for i in range(1, 11)])


def test_additional_records_that_do_not_fit_are_left_out_without_tc(server):
    """RFC 2181 §9: TC is set only when required data does not fit; the addresses of
    MX targets are optional, so with 512 bytes the answer is whole, some addresses are
    left out, and TC stays clear (Knot DNS answers the same)."""
    q = make("mxmany.dnsd.test", "MX")
    r, wire = ask(server, q, "udp")
    assert len(wire) <= 512
    assert not r.flags & dns.flags.TC, f"TC set for optional additional data:\n{r}"
    assert rr_lines(r.answer) == norm(MXMANY)
    got = rr_lines(r.additional)
    assert 0 < len(got) < len(MXMANY_ADDRS) and set(got) <= set(norm(MXMANY_ADDRS))
    r, wire = ask(server, q, "tcp")
    check(q, wire, answer=MXMANY, additional=MXMANY_ADDRS)
