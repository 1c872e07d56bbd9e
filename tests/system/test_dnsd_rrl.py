"""gtm-dnsd: response rate limiting over UDP (--rrl-rate, --rrl-slip). Past the rate,
the responses of one kind to one client network in one second are dropped, and every
slip-th is sent truncated with no records, for a real client to retry over TCP. Kinds:
the answers from one name of the zone (the names a wildcard answers for count
together), the NXDOMAINs of one zone, errors. TCP is never limited. A burst may straddle a second, so
counts allow for two seconds' worth.
"""
import collections
import signal
import socket

import dns.flags
import dns.message
import dns.rcode
import pytest

from dnsd_util import shared_store, start, tcp_connect, tcp_recv, tcp_send  # noqa: F401

RATE, SLIP = 5, 2


@pytest.fixture
def limited(shared_store, dnsd):
    return start(dnsd, shared_store.db, "--rrl-rate", str(RATE), "--rrl-slip", str(SLIP))


def burst(srv, names, src="127.0.0.1", family=socket.AF_INET, edns=None):
    """Sends one UDP query for each of names from one socket bound to src, and sorts the
    replies: "full" (with records), "tc" (a slip: TC=1, the question, no records but
    the OPT record when the query had one), "other"; those never answered are
    "dropped"."""
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(0.5)
    dest = ("::1" if family == socket.AF_INET6 else "127.0.0.1", srv.port)
    queries = {}
    for i, name in enumerate(names):
        q = dns.message.make_query(name, "A", id=i, use_edns=edns)
        queries[i] = q
        s.sendto(q.to_wire(), dest)
    got = collections.Counter()
    answered = set()
    while True:
        try:
            wire = s.recv(4096)
        except socket.timeout:
            break
        r = dns.message.from_wire(wire)
        assert r.id in queries and r.id not in answered and r.question == queries[r.id].question
        answered.add(r.id)
        if r.flags & dns.flags.TC:
            assert (r.answer, r.authority, r.additional) == ([], [], []), r
            assert r.edns == (-1 if edns is None else 0), r
            got["tc"] += 1
        elif r.answer or r.authority:
            got["full"] += 1
        else:
            got["other"] += 1
    s.close()
    got["dropped"] = len(names) - len(answered)
    return got


def check_limited(got, sent):
    """RATE to 2 x RATE answered in full; of the rest, every SLIP-th truncated."""
    assert RATE <= got["full"] <= 2 * RATE, got
    limited = sent - got["full"]
    assert abs(got["tc"] - limited / SLIP) <= 1 and got["other"] == 0, got


def test_answers_past_the_rate_are_dropped_or_truncated(limited):
    got = burst(limited, ["www.dnsd.test."] * 60)
    check_limited(got, 60)
    check_limited(burst(limited, ["ns1.dnsd.test."] * 60, edns=0), 60)
    # another name has its own limit, which the first one's traffic did not use
    check_limited(burst(limited, ["mail.dnsd.test."] * 60), 60)
    # the log counts what was held back
    mark = len(limited.log())
    limited.daemon.signal(signal.SIGUSR1)
    m = limited.daemon.wait_log(r"rate-limited (\d+) \(dropped (\d+), slipped (\d+)\)",
                                start=mark)
    held, dropped, slipped = map(int, m.groups())
    assert held == dropped + slipped >= 150 and slipped >= 75, m.group(0)


def test_names_of_one_wildcard_and_nxdomains_of_one_zone_share_a_limit(limited):
    got = burst(limited, [f"n{i}.wild.dnsd.test." for i in range(60)])
    check_limited(got, 60)
    # below four different names of the zone, one limit all the same
    got = burst(limited, [f"gone{i}.{below}dnsd.test." for i in range(15)
                          for below in ("", "ent.", "b.ent.", "mail.")])
    check_limited(got, 60)
    # the child zone's NXDOMAINs have their own limit
    check_limited(burst(limited, [f"gone{i}.child.dnsd.test." for i in range(60)]), 60)


def test_networks_have_their_own_limits(limited):
    check_limited(burst(limited, ["www.dnsd.test."] * 40), 40)
    # 127.0.1.0/24 is another network; ::1 another family
    check_limited(burst(limited, ["www.dnsd.test."] * 40, src="127.0.1.1"), 40)
    check_limited(burst(limited, ["www.dnsd.test."] * 40, src="::1", family=socket.AF_INET6), 40)


def test_tcp_is_not_limited(limited):
    check_limited(burst(limited, ["www.dnsd.test."] * 40), 40)
    s = tcp_connect(limited)
    queries = [dns.message.make_query("www.dnsd.test.", "A", id=i) for i in range(40)]
    tcp_send(s, *[q.to_wire() for q in queries])
    for q in queries:
        r = dns.message.from_wire(tcp_recv(s))
        assert r.id == q.id and r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1, r
    s.close()


def test_no_limit_unless_asked(shared_store, dnsd):
    srv = start(dnsd, shared_store.db)
    got = burst(srv, ["www.dnsd.test."] * 60)
    assert got["full"] == 60, got
