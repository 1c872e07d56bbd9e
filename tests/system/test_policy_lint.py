"""gtmctl geo lint: what an operator wants to know about the geo map before a region
fails. Errors (exit status 1): continents with no mapping and no '*' (holes), map
entries none of whose regions has an endpoint in a geo policy's pool. Warnings: an
entry naming a region without (answering) endpoints in such a pool, an entry with only
one region that answers in it (no failover target), CIDR overrides inside one another, regions
without coordinates that distance must rank. A clean map: exit 0, "0 errors, 0
warnings".
"""
import pytest

from conftest import Gtmctl
from policy_util import GEO, PROX, REGIONS, WEB_V4, copy_store


@pytest.fixture(scope="module")
def lint_template(tmp_path_factory):
    """Regions, a pool with endpoints in eu-west, eu-central and us-east only, and a
    geo policy on it; no map yet."""
    g = Gtmctl(tmp_path_factory.mktemp("lint") / "gtm.db")
    g.run("init")
    g.run("zone", "add", "example.com", "--ns", "ns1.example.net")
    for r, c in REGIONS.items():
        g.run("region", "add", r, *(["--lat", c[0], "--lon", c[1]] if c else []))
    g.run("pool", "add", "web")
    for r in ("eu-west", "eu-central", "us-east"):
        g.run("endpoint", "add", "web", WEB_V4[r], "--region", r)
    g.run("policy", "set", GEO, "--pool", "web", "--mode", "geo")
    return g


@pytest.fixture
def g(lint_template, tmp_path):
    return copy_store(lint_template, tmp_path)


def lint(g, rc):
    p = g.run("geo", "lint", rc=rc)
    assert p.stderr == ""
    return p.stdout.splitlines()


def hole(continent, countries=""):
    other = f" other than those of{countries}" if countries else ""
    return (f"error: continent {continent} has no mapping and there is no '*' entry: its "
            f"clients{other} get no region list (geo map {continent} REGION,... or geo map "
            f"'*' REGION,...)")


def single(key, region):
    return (f"warning: policy {GEO}: of the regions geo map {key} lists, only {region} has "
            f"endpoints in pool web: when it fails, its clients get the policy's fallback, not "
            f"another region (no failover target: list a second region)")


def no_endpoint(key, region):
    return (f"warning: geo map {key} lists region {region}, which has no endpoint answering in "
            f"pool web (policy {GEO})")


def dead_entry(key):
    return (f"error: policy {GEO}: none of the regions geo map {key} lists has an endpoint in "
            f"pool web; its clients are answered as if unmapped (the '*' entry, else any "
            f"region of the pool by name)")


def overlap(outer, inner):
    return f"warning: CIDR overrides overlap: {outer} contains {inner}, which wins inside it"


def test_clean_map(g):
    g.run("geo", "map", "*", "us-east,eu-west")
    g.run("geo", "map", "EU", "eu-central,eu-west")
    g.run("geo", "map", "10.0.0.0/8", "eu-west,us-east")
    assert lint(g, 0) == ["0 errors, 0 warnings"]


def test_empty_map_is_all_holes(g):
    assert lint(g, 1) == [hole(c) for c in ("AF", "AN", "AS", "EU", "NA", "OC", "SA")] + \
        ["7 errors, 0 warnings"]


def test_holes(g):
    g.run("geo", "map", "EU", "eu-west,eu-central")
    g.run("geo", "map", "NA", "us-east,eu-west")
    g.run("geo", "map", "JP", "us-east,eu-west")
    g.run("geo", "map", "KR", "us-east,eu-west")
    g.run("geo", "map", "US-CA", "us-east,eu-west")
    assert lint(g, 1) == [hole("AF"), hole("AN"), hole("AS", " JP KR"), hole("OC"), hole("SA"),
                          "5 errors, 0 warnings"]
    # '*' closes every hole
    g.run("geo", "map", "*", "us-east,eu-west")
    assert lint(g, 0) == ["0 errors, 0 warnings"]


def test_regions_without_endpoints(g):
    g.run("geo", "map", "*", "us-east,eu-west")
    g.run("geo", "map", "GB", "eu-west,lab")            # lab: no endpoint in web
    g.run("geo", "map", "FR", "sa-east")                # nothing that can answer: error
    g.run("geo", "map", "DE", "eu-central,us-east")
    g.run("endpoint", "set", "web", WEB_V4["eu-central"], "--weight", "0")  # drained
    out = lint(g, 1)
    assert out[-1] == "1 error, 5 warnings"
    assert set(out[:-1]) == {no_endpoint("GB", "lab"), no_endpoint("FR", "sa-east"),
                             dead_entry("FR"), no_endpoint("DE", "eu-central"),
                             single("GB", "eu-west"), single("DE", "us-east")}


def test_single_region_entries(g):
    """Each entry where one region alone answers for a geo policy: when it fails, its
    clients get the fallback (fail-open: that region's endpoints, down or not)."""
    g.run("geo", "map", "*", "us-east")
    g.run("geo", "map", "EU", "eu-west,eu-central")
    g.run("geo", "map", "JP", "us-east,lab")  # lab: no endpoint in the pool
    g.run("geo", "map", "10.0.0.0/8", "eu-central")
    out = lint(g, 0)
    assert out[-1] == "0 errors, 4 warnings"
    assert set(out[:-1]) == {single("*", "us-east"), single("JP", "us-east"),
                             no_endpoint("JP", "lab"), single("10.0.0.0/8", "eu-central")}
    g.run("geo", "map", "*", "us-east,eu-west")
    g.run("geo", "map", "JP", "us-east,eu-central")
    g.run("geo", "map", "10.0.0.0/8", "eu-central,eu-west")
    assert lint(g, 0) == ["0 errors, 0 warnings"]


def test_overlapping_cidrs(g):
    g.run("geo", "map", "*", "us-east,eu-west")
    g.run("geo", "map", "10.0.0.0/8", "eu-west,us-east")
    g.run("geo", "map", "10.1.0.0/16", "eu-central,us-east")
    g.run("geo", "map", "10.1.2.0/24", "us-east,eu-west")
    g.run("geo", "map", "11.0.0.0/8", "us-east,eu-west")    # next to 10/8, not inside
    g.run("geo", "map", "2001:db8::/32", "eu-west,us-east")
    g.run("geo", "map", "2001:db8:1::/48", "us-east,eu-west")
    out = lint(g, 0)
    assert out[-1] == "0 errors, 4 warnings"
    assert set(out[:-1]) == {overlap("10.0.0.0/8", "10.1.0.0/16"),
                             overlap("10.0.0.0/8", "10.1.2.0/24"),
                             overlap("10.1.0.0/16", "10.1.2.0/24"),
                             overlap("2001:db8::/32", "2001:db8:1::/48")}


def test_everything_at_once(g):
    """Holes, a dead entry, a region without endpoints, one region per entry and
    overlapping CIDRs together: every line, exit status 1."""
    g.run("geo", "map", "EU", "eu-west")
    g.run("geo", "map", "NA", "lab")
    g.run("geo", "map", "10.0.0.0/8", "us-east")
    g.run("geo", "map", "10.9.0.0/16", "eu-central")
    g.run("policy", "set", PROX, "--pool", "web", "--mode", "proximity")
    g.run("endpoint", "add", "web", WEB_V4["lab"], "--region", "lab", "--enabled", "no")
    out = lint(g, 1)
    assert out[-1] == "6 errors, 6 warnings"
    assert len(out) == 13
    assert set(out[:-1]) == {hole("AF"), hole("AN"), hole("AS"), hole("OC"), hole("SA"),
                             single("EU", "eu-west"), single("10.0.0.0/8", "us-east"),
                             single("10.9.0.0/16", "eu-central"),
                             overlap("10.0.0.0/8", "10.9.0.0/16"),
                             no_endpoint("NA", "lab"), dead_entry("NA"),
                             "warning: region lab has no coordinates, but a latency or "
                             "proximity policy uses it: distance cannot rank it (region add "
                             "... --lat --lon)"}
