#!/usr/bin/env bash
# bench/failover.sh [BUILDDIR] — how fast gtm-dnsd's answers follow a failure, measured
# end to end on loopback with the real gtmctl, gtm-healthd and gtm-dnsd:
#   drill     `gtmctl drill fail eu` returns -> the first answer without eu
#   restore   `gtmctl drill restore eu` returns -> the first answer with eu again
#   stop      eu's HTTP backend process killed -> the first answer without eu
#             (check: http, interval 1 s, timeout 500 ms, fall 2)
#   restart   eu's backend started again and accepting -> the first answer with eu (rise 2)
# The store: zone bench.example, regions eu and us with one endpoint each (127.0.1.1 and
# 127.0.2.1, each probed on its own address by an HTTP backend there: python3 -m
# http.server, one process each), and www.bench.example, a geo policy whose '*' entry
# prefers eu, then us. A client asks for www every 10 ms (UDP, a reused socket) and
# times the first answer whose address differs. Before each stop and restart the script
# waits a random 0-1 s, so the event falls anywhere in the probes' 1 s cycle.
#
# REPS repetitions (default 10; 1 to 100) of the four; prints, for each, the median,
# the 90th percentile, the max and min in ms. Bounded: every wait gives up after 10 s
# (the run then fails), and the whole run after 20 s per repetition plus 60 s. Every
# process started is stopped by its PID on exit (even on failure or Ctrl-C).
# BUILDDIR defaults to build/release. Loopback only; binds no fixed port.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=$(cd "${1:-$TOP/build/release}" 2>/dev/null && pwd) ||
    { echo "failover.sh: no build directory ${1:-$TOP/build/release}" >&2; exit 1; }
REPS=${REPS:-10}
PYTHON=${PYTHON:-/usr/bin/python3}

die() { printf 'failover.sh: %s\n' "$*" >&2; exit 1; }
for b in gtmctl gtm-healthd gtm-dnsd; do
    [ -x "$BUILDDIR/$b" ] || die "no $b in $BUILDDIR (build first, or give the build directory)"
done
if ! [[ "$REPS" =~ ^[0-9]+$ ]] || [ "$REPS" -lt 1 ] || [ "$REPS" -gt 100 ]; then
    die "REPS: 1 to 100"
fi
"$PYTHON" -c 'import dns.message' 2>/dev/null || die "python3-dnspython is missing"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gtm-bench-failover.XXXXXX")
DRIVER_PID=
# The driver writes "pid starttime name" for every process it starts to $TMP/pids and
# stops them itself; this is the backstop, for a driver that was killed: each process
# still ours (same start time: not a later process that reused the PID) gets SIGTERM,
# then SIGKILL.
starttime() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    # shellcheck disable=SC2086  # the fields after the command name, split on blanks
    set -- ${s##*) }
    echo "${20}"
}
cleanup() {
    local pid start entry left=()
    if [ -n "$DRIVER_PID" ] && kill -0 "$DRIVER_PID" 2>/dev/null; then
        kill -TERM "$DRIVER_PID" 2>/dev/null || true
        wait "$DRIVER_PID" 2>/dev/null || true
    fi
    if [ -f "$TMP/pids" ]; then
        while read -r pid start _; do
            if [ "$(starttime "$pid")" = "$start" ]; then
                kill -TERM "$pid" 2>/dev/null || true
                left+=("$pid $start")
            fi
        done < "$TMP/pids"
        sleep 0.5
        for entry in "${left[@]+"${left[@]}"}"; do
            read -r pid start <<<"$entry"
            if [ "$(starttime "$pid")" = "$start" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
        done
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LIMIT=$((REPS * 20 + 60))
"$PYTHON" - "$BUILDDIR" "$TMP" "$REPS" "$LIMIT" <<'PY' &
import os, random, signal, socket, statistics, subprocess, sys, time
import dns.message, dns.rcode

BUILD, TMP, REPS, LIMIT = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
DB = os.path.join(TMP, "gtm.db")
EU, US = "127.0.1.1", "127.0.2.1"
NAME = "www.bench.example."
PERIOD = 0.010    # the client asks every 10 ms
WAIT = 10.0       # any single wait gives up after this
T_END = time.monotonic() + LIMIT
procs = []        # (Popen, name) of everything started


class Timeout(Exception):
    pass


def check_time():
    if time.monotonic() > T_END:
        raise Timeout(f"the run took longer than {LIMIT:.0f} s")


def track(p, name):
    with open(f"/proc/{p.pid}/stat") as f:
        start = f.read().rsplit(")", 1)[1].split()[19]
    with open(os.path.join(TMP, "pids"), "a") as f:
        f.write(f"{p.pid} {start} {name}\n")
    procs.append((p, name))
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def gtmctl(*args):
    r = subprocess.run([os.path.join(BUILD, "gtmctl"), "--db", DB, *map(str, args)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode:
        sys.exit(f"gtmctl {' '.join(map(str, args))}: {r.stderr.strip()}")
    return r.stdout


def free_port(addr):
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_log(path, text, p):
    deadline = time.monotonic() + 30
    while text not in open(path, errors="replace").read():
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{path}: no '{text}' (exit {p.poll()}):\n" + open(path).read()[-2000:])
        time.sleep(0.02)


def accepting(addr, port):
    with socket.socket() as s:
        return s.connect_ex((addr, port)) == 0


def start_backend(addr, port):
    """python3 -m http.server on addr:port, serving a directory with health = ok."""
    d = os.path.join(TMP, "www-" + addr)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "health"), "w").write("ok\n")
    p = track(subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", addr,
                                "--directory", d], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL), "backend-" + addr)
    deadline = time.monotonic() + WAIT
    while not accepting(addr, port):
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the backend on {addr}:{port} did not start")
        time.sleep(0.005)
    return p


# ---- the store -----------------------------------------------------------------------
ports = {a: free_port(a) for a in (EU, US)}
gtmctl("init")
gtmctl("zone", "add", "bench.example", "--ns", "ns1.bench.example")
gtmctl("region", "add", "eu")
gtmctl("region", "add", "us")
gtmctl("pool", "add", "web")
for addr, region in ((EU, "eu"), (US, "us")):
    gtmctl("endpoint", "add", "web", addr, "--region", region)
    gtmctl("check", "set", "web", addr, "--type", "http", "--port", ports[addr], "--url",
           f"http://{addr}:{ports[addr]}/health", "--expect-body", "ok", "--interval", "1s",
           "--timeout", "500ms", "--rise", "2", "--fall", "2")
gtmctl("geo", "map", "*", "eu,us")
gtmctl("policy", "set", NAME, "--pool", "web", "--mode", "geo", "--ttl", "30")

backend = {a: start_backend(a, ports[a]) for a in (EU, US)}

# ---- the daemons ---------------------------------------------------------------------
hlog = os.path.join(TMP, "healthd.log")
hd = track(subprocess.Popen([os.path.join(BUILD, "gtm-healthd"), "--db", DB, "--vantage", "bench",
                             "--foreground"], stdout=open(hlog, "w"),
                            stderr=subprocess.STDOUT), "gtm-healthd")
wait_log(hlog, " ready: ", hd)
dport = free_port("127.0.0.1")
dlog = os.path.join(TMP, "dnsd.log")
dn = track(subprocess.Popen([os.path.join(BUILD, "gtm-dnsd"), "--db", DB, "--listen",
                             f"127.0.0.1:{dport}", "--threads", "1", "--foreground"],
                            stdout=open(dlog, "w"), stderr=subprocess.STDOUT), "gtm-dnsd")
wait_log(dlog, " ready: ", dn)

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect(("127.0.0.1", dport))
sock.settimeout(1.0)
qid = [0]


def ask():
    """The addresses gtm-dnsd answers for NAME now, sorted."""
    for _ in range(5):
        qid[0] = (qid[0] + 1) % 65536
        q = dns.message.make_query(NAME, "A")
        q.id = qid[0]
        sock.send(q.to_wire())
        try:
            while True:
                r = dns.message.from_wire(sock.recv(4096))
                if r.id == q.id:
                    break
        except socket.timeout:
            continue
        if r.rcode() != dns.rcode.NOERROR:
            sys.exit(f"gtm-dnsd answered {dns.rcode.to_text(r.rcode())}")
        return tuple(sorted(rd.address for rrset in r.answer for rd in rrset))
    sys.exit("gtm-dnsd does not answer")


def until(pred, t0, what):
    """Asks every PERIOD until pred(answer); returns the seconds since t0."""
    deadline = time.monotonic() + WAIT
    while True:
        a = ask()
        now = time.monotonic()
        if pred(a):
            return now - t0
        if now > deadline:
            raise Timeout(f"{what}: answer still {a} after {WAIT:.0f} s")
        check_time()
        time.sleep(PERIOD)


def states():
    import sqlite3
    con = sqlite3.connect(DB, timeout=5)
    try:
        return dict(con.execute("SELECT e.target, h.state FROM health h JOIN endpoints e "
                                "ON e.id = h.endpoint_id"))
    finally:
        con.close()


def wait_states(want):
    deadline = time.monotonic() + WAIT
    while states() != want:
        if time.monotonic() > deadline:
            raise Timeout(f"states {states()}, not {want}")
        time.sleep(0.02)


results = {k: [] for k in ("drill", "restore", "stop", "restart")}
rc = 0
try:
    wait_states({EU: "up", US: "up"})
    until(lambda a: a == (EU,), time.monotonic(), "start")
    for rep in range(REPS):
        check_time()
        # (1) a drill, and its restore
        gtmctl("drill", "fail", "eu", "--reason", "bench")
        t0 = time.monotonic()
        results["drill"].append(until(lambda a: a != (EU,), t0, "drill"))
        gtmctl("drill", "restore", "eu")
        t0 = time.monotonic()
        results["restore"].append(until(lambda a: a == (EU,), t0, "restore"))
        # (2) the backend's process dies: connections refused from now on
        time.sleep(random.uniform(0, 1))
        stop(backend[EU])
        t0 = time.monotonic()
        results["stop"].append(until(lambda a: a != (EU,), t0, "backend stopped"))
        # (3) started again: timed from when it accepts connections
        time.sleep(random.uniform(0, 1))
        backend[EU] = start_backend(EU, ports[EU])
        t0 = time.monotonic()
        results["restart"].append(until(lambda a: a == (EU,), t0, "backend restarted"))
        wait_states({EU: "up", US: "up"})
        print(f"  repetition {rep + 1}/{REPS}: " + ", ".join(
            f"{k} {v[-1] * 1000:.0f} ms" for k, v in results.items()), file=sys.stderr,
            flush=True)
except Timeout as e:
    print(f"failover.sh: {e}\n--- gtm-healthd:\n{open(hlog).read()[-2000:]}\n--- gtm-dnsd:\n"
          f"{open(dlog).read()[-2000:]}", file=sys.stderr)
    rc = 1
finally:
    for p, name in reversed(procs):
        stop(p)
    for p, name in procs:
        if name.startswith("gtm-") and p.returncode != 0:
            print(f"failover.sh: {name} exited {p.returncode} on SIGTERM", file=sys.stderr)
            rc = 1

if rc == 0:
    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
    print(f"gtm failover, {REPS} repetitions on loopback ({os.cpu_count()} CPUs, "
          f"{os.uname().release}; load average {open('/proc/loadavg').read().split()[0]}); "
          f"check http every 1 s, timeout 500 ms, fall 2, rise 2; answers read every "
          f"{PERIOD * 1000:.0f} ms")
    print(f"  {'from':<48} {'median':>8} {'p90':>8} {'max':>8} {'min':>8}")
    what = {"drill": "gtmctl drill fail returns -> answer changed",
            "restore": "gtmctl drill restore returns -> answer back",
            "stop": "backend killed -> answer changed",
            "restart": "backend accepting again -> answer back"}
    for k, v in results.items():
        print(f"  {what[k]:<48} " + " ".join(
            f"{x * 1000:>5.0f} ms" for x in (statistics.median(v), pct(v, 0.9), max(v), min(v))))
sys.exit(rc)
PY
DRIVER_PID=$!
wait "$DRIVER_PID"
