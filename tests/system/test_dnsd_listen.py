"""gtm-dnsd's listeners: --listen is repeatable, IPv4 and IPv6, UDP and TCP on each;
the `dnsd` fixture listens on 127.0.0.1 and [::1]."""
from dnsd_util import ask, check, free_loopback_port, make, start
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

WWW = ["www.dnsd.test. 600 IN A 192.0.2.80"]


def test_ipv6_listener_answers(server, transport):
    q = make("www.dnsd.test", "A", edns=0)
    r, wire = ask(server, q, transport, addr="::1")
    check(q, wire, answer=WWW)


def test_ipv6_and_ipv4_answer_the_same(server, transport):
    q = make("big.dnsd.test", "A")
    r4, w4 = ask(server, q, transport, addr="127.0.0.1")
    r6, w6 = ask(server, q, transport, addr="::1")
    assert w4 == w6


def test_several_listen_addresses(shared_store, dnsd, transport):
    """A second port given with --listen answers too, on both families."""
    extra = free_loopback_port()
    srv = start(dnsd, shared_store.db, "--listen", f"127.0.0.1:{extra}",
                "--listen", f"[::1]:{extra}")
    q = make("www.dnsd.test", "A")
    assert extra != srv.port
    for port in (srv.port, extra):
        for addr in ("127.0.0.1", "::1"):
            r, wire = ask(srv, q, transport, addr=addr, port=port)
            check(q, wire, answer=WWW)
