#!/usr/bin/env bash
# bench/healthd-lag.sh [BUILDDIR] — gtm-healthd's schedule lag with many checks on one
# loop thread: COUNT TCP checks (default 1000) at a 1 s interval against LISTENERS local
# listeners (default 10, on 127.0.0.1), for DURATION seconds (default 60). The endpoints
# are in 198.18.0.0/15 (RFC 2544's benchmarking range) and are probed at 127.0.0.1
# through their checks' probe address, so traffic stays on loopback.
# Prints gtm-healthd's own lag summaries (actual start - scheduled start of every
# probe: count, p50, p99, max; ticks skipped), its CPU time, and how many endpoints it
# found up. BUILDDIR defaults to build/release; HEALTHD_ARGS adds gtm-healthd options. Bounded: the run stops after DURATION
# (plus start-up), and everything started is stopped by PID on exit.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${1:-$TOP/build/release}
COUNT=${COUNT:-1000}
LISTENERS=${LISTENERS:-10}
SECONDS_RUN=${DURATION:-60}
PYTHON=${PYTHON:-/usr/bin/python3}
GTMCTL=$BUILDDIR/gtmctl
HEALTHD=$BUILDDIR/gtm-healthd

die() { printf 'healthd-lag.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }
[ -x "$GTMCTL" ] && [ -x "$HEALTHD" ] ||
    die "no gtmctl or gtm-healthd in $BUILDDIR (build first, or give the build directory)"
[ "$COUNT" -ge 1 ] && [ "$COUNT" -le 100000 ] || die "COUNT: 1 to 100000"
[ "$SECONDS_RUN" -ge 5 ] && [ "$SECONDS_RUN" -le 3600 ] || die "DURATION: 5 to 3600 seconds"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gtm-bench-healthd.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
DB=$TMP/gtm.db

# ---- the listeners: accept and close, on LISTENERS ports ------------------------------------
say "starting $LISTENERS listeners on 127.0.0.1"
"$PYTHON" - "$LISTENERS" > "$TMP/ports" 2> "$TMP/listeners.err" <<'PY' &
import selectors, socket, sys
sel = selectors.DefaultSelector()
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks), flush=True)
sys.stdout.close()
while True:
    for key, _ in sel.select():
        while True:
            try:
                c, _ = key.fileobj.accept()
            except BlockingIOError:
                break
            c.close()
PY
PIDS+=($!)
for _ in $(seq 100); do
    [ -s "$TMP/ports" ] && break
    sleep 0.05
done
read -r -a PORTS < "$TMP/ports" || die "the listeners did not start: $(cat "$TMP/listeners.err")"

# ---- the store: COUNT endpoints, each with a TCP check -----------------------------------
say "creating a store with $COUNT endpoints and TCP checks (interval 1 s)"
"$GTMCTL" --db "$DB" init > /dev/null
"$GTMCTL" --db "$DB" region add bench > /dev/null
"$GTMCTL" --db "$DB" pool add bench > /dev/null
# Endpoints go in with SQL: gtmctl adds one per run, and 1,000 runs would time the
# audit log rather than the prober.
"$PYTHON" - "$DB" "$COUNT" "${PORTS[@]}" <<'PY'
import ipaddress, sqlite3, sys
db, count, ports = sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
con = sqlite3.connect(db)
con.execute("PRAGMA foreign_keys = ON")
pool = con.execute("SELECT id FROM pools WHERE name = 'bench'").fetchone()[0]
region = con.execute("SELECT id FROM regions WHERE name = 'bench'").fetchone()[0]
base = int(ipaddress.IPv4Address("198.18.0.1"))
for i in range(count):
    a = ipaddress.IPv4Address(base + i)
    cur = con.execute("INSERT INTO endpoints(pool_id, target, kind, address, region_id) "
                      "VALUES (?, ?, 4, ?, ?)", (pool, str(a), a.packed, region))
    con.execute("INSERT INTO checks(endpoint_id, type, port, probe_address, interval_ms, "
                "timeout_ms, rise, fall) VALUES (?, 'tcp', ?, '127.0.0.1', 1000, 500, 2, 3)",
                (cur.lastrowid, ports[i % len(ports)]))
con.commit()
PY

# ---- the run ---------------------------------------------------------------------------
say "running gtm-healthd for $SECONDS_RUN s"
LOG=$TMP/healthd.log
# shellcheck disable=SC2086  # HEALTHD_ARGS: extra options, split on blanks
"$HEALTHD" --db "$DB" --vantage bench --foreground --stats-interval 20 ${HEALTHD_ARGS:-} \
    > "$LOG" 2>&1 &
HPID=$!
PIDS+=("$HPID")
for _ in $(seq 600); do
    grep -q ' ready: ' "$LOG" && break
    kill -0 "$HPID" 2>/dev/null || { cat "$LOG" >&2; die "gtm-healthd exited"; }
    sleep 0.05
done
grep -q ' ready: ' "$LOG" || { cat "$LOG" >&2; die "gtm-healthd not ready within 30 s"; }
TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$HPID/stat"; }
# steal: time the hypervisor ran something else on our virtual CPUs (field 8 of the
# "cpu" line of /proc/stat); a VM that loses it shows it as schedule lag
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }
CPU0=$(cpu_ticks)
STEAL0=$(steal_ticks)
sleep "$SECONDS_RUN"
CPU1=$(cpu_ticks)
STEAL1=$(steal_ticks)
UP=$("$PYTHON" -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
    \"SELECT count(*) FROM health WHERE vantage = 'bench' AND state = 'up'\").fetchone()[0])" "$DB")
kill -TERM "$HPID"
RC=0
wait "$HPID" || RC=$?
[ "$RC" -eq 0 ] || { cat "$LOG" >&2; die "gtm-healthd exited $RC on SIGTERM"; }

# ---- the figures -------------------------------------------------------------------------
echo "gtm-healthd schedule lag: $COUNT TCP checks at 1 s, $LISTENERS listeners, ${SECONDS_RUN} s" \
     "($(nproc) CPUs, $(uname -r); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
grep -E 'schedule (over|since)' "$LOG" | sed -E 's/^[^ ]+ [^ ]+ info: /  /'
awk -v a="$CPU0" -v b="$CPU1" -v t="$TICKS" -v s="$SECONDS_RUN" \
    'BEGIN { printf "  CPU: %.2f s in %d s (%.1f %% of one core)\n", (b - a) / t, s, 100 * (b - a) / t / s }'
awk -v a="$STEAL0" -v b="$STEAL1" -v t="$TICKS" -v s="$SECONDS_RUN" -v n="$(nproc)" \
    'BEGIN { printf "  stolen by the hypervisor: %.1f %% of the machine'"'"'s CPU time\n", 100 * (b - a) / t / s / n }'
echo "  endpoints up: $UP of $COUNT"
[ "$UP" -eq "$COUNT" ] || die "not every endpoint is up"
