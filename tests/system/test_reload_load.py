"""Reloads under load: gtm-dnsd keeps answering every query while gtmctl edits the
zone it serves (issue 3: "a change committed by gtmctl is served within 1 s ...
queries in flight during a reload are all answered").

dnsperf sends a steady, bounded query stream (a fixed rate for a fixed time) at a
gtm-dnsd serving tests/system/zones/diff.example.zone, while the test runs
`gtmctl record add` / `record rm` 50 times on that zone, waiting after each edit
until a DNS query shows it. At the end dnsperf must report 0 queries lost and only
NOERROR/NXDOMAIN answers, every edit must have become visible within 1 s, and the
dnsd log must show a reload per edit. The figures are printed.
"""
import re
import shutil
import statistics
import subprocess
import time

import dns.exception
import dns.rcode
import dns.rdatatype
import pytest

from conftest import SRCDIR

ZONE = "diff.example."
ZONE_FILE = SRCDIR / "tests" / "system" / "zones" / "diff.example.zone"
EDITS = 50
QPS = 8000             # dnsperf -Q: well below what gtm-dnsd serves on 2 CPUs, so a
                       # lost query means a dropped one, not an overloaded socket
LOAD_SECONDS = 12      # dnsperf -l: the 50 edits (about 5 s) must all happen inside it
VISIBLE_WITHIN = 1.0   # issue 3: an edit is served within 1 s

DNSPERF_RE = {
    "sent": re.compile(r"Queries sent:\s+(\d+)"),
    "completed": re.compile(r"Queries completed:\s+(\d+)"),
    "lost": re.compile(r"Queries lost:\s+(\d+)"),
    "qps": re.compile(r"Queries per second:\s+([\d.]+)"),
    "codes": re.compile(r"Response codes:\s+(.*)"),
}


def query_file(path):
    """A query mix: hosts, the apex, NXDOMAIN, a wildcard, a referral, and the names
    the test adds and removes."""
    names = ["www A", "www AAAA", "diff.example. SOA", "diff.example. MX", "mail A",
             "nothere A", "foo.wild A", "alias3 A", "host.sub A", "big TXT"]
    names += [f"h{i:02d} A" for i in range(1, 31, 3)]
    names += [f"edit{i} A" for i in range(EDITS // 2)]
    lines = []
    for n in names:
        name, qtype = n.split()
        lines.append(f"{name if name.endswith('.') else name + '.' + ZONE} {qtype}")
    path.write_text("\n".join(lines) + "\n")
    return path


def parse_dnsperf(text):
    out = {}
    for key, rx in DNSPERF_RE.items():
        m = rx.search(text)
        assert m, f"no '{key}' in dnsperf's output:\n{text}"
        out[key] = m.group(1)
    for key in ("sent", "completed", "lost"):
        out[key] = int(out[key])
    out["qps"] = float(out["qps"])
    return out


@pytest.mark.skipif(shutil.which("dnsperf") is None, reason="dnsperf not installed")
def test_reload_under_load(gtmctl, dnsd, tmp_path):
    gtmctl.run("zone", "import", ZONE, ZONE_FILE)
    d = dnsd(gtmctl.db)
    serial0 = d.query(ZONE, "SOA").answer[0][0].serial
    log_at = len(d.log())

    perf = subprocess.Popen(
        ["dnsperf", "-s", "127.0.0.1", "-p", str(d.port), "-d", str(query_file(tmp_path / "q.txt")),
         "-l", str(LOAD_SECONDS), "-Q", str(QPS), "-c", "2", "-t", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    latencies, poll_lost = [], 0
    try:
        time.sleep(0.3)  # let the stream reach its rate before the first edit
        for i in range(EDITS):
            name, addr = f"edit{i // 2}", f"192.0.2.{200 + i // 2}"
            fqdn = f"{name}.{ZONE}"
            if i % 2 == 0:
                gtmctl.run("record", "add", ZONE, name, "A", "300", addr)
            else:
                gtmctl.run("record", "rm", ZONE, name, "A")
            t0 = time.monotonic()
            while True:
                try:
                    r = d.query(fqdn, "A", timeout=1)
                except dns.exception.Timeout:
                    poll_lost += 1
                    r = None
                if r is not None:
                    got = {rd.address for rs in r.answer for rd in rs
                           if rs.rdtype == dns.rdatatype.A}
                    if (i % 2 == 0 and got == {addr}) or \
                            (i % 2 == 1 and r.rcode() == dns.rcode.NXDOMAIN):
                        break
                assert time.monotonic() - t0 < 5, \
                    f"edit {i + 1} ({'add' if i % 2 == 0 else 'rm'} {fqdn}) not served " \
                    f"after 5 s:\n{d.log()[-3000:]}"
                time.sleep(0.005)
            latencies.append(time.monotonic() - t0)
        edits_done_under_load = perf.poll() is None
        out, _ = perf.communicate(timeout=LOAD_SECONDS + 15)
    finally:
        if perf.poll() is None:
            perf.kill()
            perf.wait()

    assert perf.returncode == 0, f"dnsperf exit {perf.returncode}:\n{out}"
    figures = parse_dnsperf(out)
    log = d.log()[log_at:]
    reloads = len(re.findall(r"reloaded generation \d+", log))
    serial = d.query(ZONE, "SOA").answer[0][0].serial
    store_serial = int(re.search(rf"^{re.escape(ZONE)}\s+(\d+)",
                                 gtmctl.run("zone", "list").stdout, re.M).group(1))
    print(f"\nreload under load: dnsperf {LOAD_SECONDS} s at up to {QPS} qps while "
          f"{EDITS} gtmctl edits: queries sent {figures['sent']}, completed "
          f"{figures['completed']}, lost {figures['lost']}, {figures['qps']:.0f} qps; "
          f"response codes: {figures['codes']}")
    print(f"  reloads seen in the dnsd log: {reloads}; edit visible after median "
          f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; "
          f"poll queries lost: {poll_lost}; SOA serial {serial0} -> {serial}")

    assert edits_done_under_load, \
        f"dnsperf ended before the {EDITS} edits did: raise LOAD_SECONDS\n{out}"
    assert figures["lost"] == 0 and figures["completed"] == figures["sent"], out
    assert poll_lost == 0
    codes = set(re.findall(r"([A-Z]+) \d+", figures["codes"]))
    assert codes <= {"NOERROR", "NXDOMAIN"}, \
        f"answers other than NOERROR/NXDOMAIN during reloads: {figures['codes']}"
    assert max(latencies) < VISIBLE_WITHIN, \
        f"an edit took {max(latencies):.2f} s to be served (limit {VISIBLE_WITHIN} s)"
    assert reloads >= EDITS, f"{reloads} reloads logged for {EDITS} edits:\n{log[-3000:]}"
    assert serial == store_serial and serial != serial0
