"""gtm-dnsd: class CH TXT id.server / hostname.bind (--identity) and version.bind /
version.server (--server-version) (RFC 4892), answered only when configured, else
REFUSED, like any other CH name; over UDP and TCP.
"""
import dns.rcode
import pytest

from dnsd_util import ask, check, make, mixcase, start
from dnsd_util import server, shared_store, transport  # noqa: F401 (fixtures)

IDENTITY_NAMES = ["id.server", "hostname.bind"]
VERSION_NAMES = ["version.bind", "version.server"]


@pytest.fixture
def configured(shared_store, dnsd):
    return start(dnsd, shared_store.db, "--identity", "ns1.gtm.test",
                 "--server-version", "gtm 1.2.3")


@pytest.mark.parametrize("qname", IDENTITY_NAMES)
def test_identity_answered_when_configured(configured, transport, qname):
    q = make(mixcase(qname), "TXT", rdclass="CH", edns=0)
    r, wire = ask(configured, q, transport)
    check(q, wire, answer=[f'{qname}. 0 CH TXT "ns1.gtm.test"'])


@pytest.mark.parametrize("qname", VERSION_NAMES)
def test_version_answered_when_configured(configured, transport, qname):
    q = make(mixcase(qname), "TXT", rdclass="CH")
    r, wire = ask(configured, q, transport)
    check(q, wire, answer=[f'{qname}. 0 CH TXT "gtm 1.2.3"'])


@pytest.mark.parametrize("qname", IDENTITY_NAMES + VERSION_NAMES)
def test_refused_when_not_configured(server, transport, qname):
    q = make(qname, "TXT", rdclass="CH", edns=0)
    r, wire = ask(server, q, transport)
    check(q, wire, rcode=dns.rcode.REFUSED, aa=False)


def test_identity_only(shared_store, dnsd, transport):
    srv = start(dnsd, shared_store.db, "--identity", "just-me")
    q = make("id.server", "TXT", rdclass="CH")
    r, wire = ask(srv, q, transport)
    check(q, wire, answer=['id.server. 0 CH TXT "just-me"'])
    q = make("version.bind", "TXT", rdclass="CH")
    r, wire = ask(srv, q, transport)
    check(q, wire, rcode=dns.rcode.REFUSED, aa=False)


@pytest.mark.parametrize("qname,rdclass", [("authors.bind", "CH"), ("www.dnsd.test", "CH"),
                                           ("id.server", "IN"), ("version.bind", "HS")])
def test_other_chaos_names_and_classes_refused(configured, transport, qname, rdclass):
    q = make(qname, "TXT", rdclass=rdclass)
    r, wire = ask(configured, q, transport)
    check(q, wire, rcode=dns.rcode.REFUSED, aa=False)
