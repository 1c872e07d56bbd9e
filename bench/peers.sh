#!/usr/bin/env bash
# bench/peers.sh [options] — gtm-dnsd beside Knot DNS and NSD (and optionally gdnsd) on
# static names, in one run on this machine: every figure is a ratio taken side by side.
#
# Builds a zone (bench/gen-zone.py's RECORDS records plus fixed static names such as
# www.bench.example), a gtm store with the real gtmctl, and Knot/NSD/gdnsd configs for the
# same zone file; starts each server on its own 127.0.0.1 port with the same number of
# threads; checks they give the same answers; then runs dnsperf with one query file
# (10 static names, 9 A and 1 AAAA) against each in alternation (A B C A B C ...) for
# ROUNDS rounds of SECONDS seconds, in each mode:
#   sat       saturation: dnsperf -c 20 -q 100, as fast as the server answers
#   qN        a fixed offered rate: the same plus -Q N (default modes q20000, q50000)
#   MODE+pin  (--pinned) the same with dnsperf on CPU 0 and the server on CPU 1
# For each run it records qps, queries completed and lost, dnsperf's average and max
# latency, and the server's CPU time per answered query (utime+stime of all its threads
# and processes from /proc, divided by the responses), next to dnsperf's own CPU and
# the rest of the machine's. It prints medians per mode and server, the ratios of gtm
# to each peer, and which process was the bottleneck; the same tables go to --out
# (bench/out/, git-ignored) for bench/RESULTS.md to quote by hand.
#
# Options (each also as an environment variable, flag wins):
#   --rounds N     ROUNDS     interleaved rounds (default 3)
#   --seconds S    SECONDS    length of one dnsperf run (default 10)
#   --threads N    THREADS    server threads: gtm --threads, Knot udp-workers, NSD
#                             server-count, gdnsd udp_threads (default 2)
#   --quick                   1 round of 3 s, a smoke test
#   --pinned                  also run every mode pinned (dnsperf CPU 0, server CPU 1)
#   --modes LIST   MODES      default "sat q20000 q50000"
#   --peers LIST   PEERS      default "gtm knot nsd"; gdnsd can be added; the first is
#                             the one the ratios are taken for
#   --records N    RECORDS    generated records in the zone (default 5000)
#   --out FILE     OUT        markdown results (default bench/out/peers-DATE.md)
#   --port-base P  PORT_BASE  first port to try (default 15350; never 53)
# More knobs: BUILDDIR (build/release), DNSPERF_CLIENTS (20), DNSPERF_OUTSTANDING (100),
# DNSPERF_TIMEOUT (2 s), DNSPERF_OPTS (extra dnsperf arguments, e.g. -e), WARMUP (1 s
# per server before the first round), KEEP_TMP=1 keeps the temp directory.
#
# Every process it starts is stopped by PID on exit (even on failure or Ctrl-C), every
# file it writes outside --out lives in one mktemp directory that is removed, and all
# traffic goes to 127.0.0.1. Run it on an otherwise idle machine: the "others %"
# column shows how much CPU the rest of the machine took during each run.

set -Eeuo pipefail
shopt -s inherit_errexit
BENCH_NAME=peers.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

ROUNDS=${ROUNDS:-3}
# SECONDS is bash's own timer, which takes the environment's value as arithmetic (so
# SECONDS=abc reads as 0): take the text the environment gave instead.
DURATION=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^SECONDS=//p' | tail -1)
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
MODES=${MODES:-sat q20000 q50000}
PEERS=${PEERS:-gtm knot nsd}
RECORDS=${RECORDS:-5000}
OUT=${OUT:-}
PORT_BASE=${PORT_BASE:-15350}
PINNED=0
DNSPERF_CLIENTS=${DNSPERF_CLIENTS:-20}
DNSPERF_OUTSTANDING=${DNSPERF_OUTSTANDING:-100}
DNSPERF_TIMEOUT=${DNSPERF_TIMEOUT:-2}
DNSPERF_OPTS=${DNSPERF_OPTS:-}
WARMUP=${WARMUP:-1}
PIN_DNSPERF_CPU=${PIN_DNSPERF_CPU:-0}
PIN_SERVER_CPU=${PIN_SERVER_CPU:-1}

while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) DURATION=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --quick) ROUNDS=1; DURATION=3 ;;
    --pinned) PINNED=1 ;;
    --modes) MODES=$2; shift ;;
    --peers) PEERS=$2; shift ;;
    --records) RECORDS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --port-base) PORT_BASE=$2; shift ;;
    -h | --help) usage ;;
    *) printf 'peers.sh: unknown option %s\n\n' "$1" >&2; usage 2 ;;
    esac
    shift
done

int() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ]; then
        die "$1 must be a whole number >= $3, not '$2'"
    fi
}
int ROUNDS "$ROUNDS" 1
int SECONDS "$DURATION" 1
int THREADS "$THREADS" 1
int RECORDS "$RECORDS" 4
int PORT_BASE "$PORT_BASE" 1024
read -ra PEER_LIST <<<"$PEERS"
read -ra MODE_LIST <<<"$MODES"
[ ${#PEER_LIST[@]} -gt 0 ] || die "no peers"
for m in "${MODE_LIST[@]}"; do
    [[ $m =~ ^(sat|q[0-9]+)$ ]] || die "mode '$m': sat or qN (a rate, e.g. q20000)"
done
if [ "$PINNED" = 1 ]; then
    for m in "${MODE_LIST[@]}"; do MODE_LIST+=("$m+pin"); done
    [ "$(nproc)" -ge 2 ] || die "--pinned needs 2 CPUs"
fi

# ---- the peers ---------------------------------------------------------------------
# Each peer has peer_NAME_check (its binaries, a clear error if missing),
# peer_NAME_version, and peer_NAME_start DIR PORT THREADS ZONEFILE, which writes its
# config under DIR, starts it in the foreground of a background job, and sets
# SERVER_PID and SERVER_LOG. A new peer (issue 6: gdnsd with geoip, ECS) adds the three.

peer_gtm_check() {
    if [ ! -x "$BUILDDIR/gtm-dnsd" ] || [ ! -x "$BUILDDIR/gtmctl" ]; then
        die "no gtm-dnsd/gtmctl in $BUILDDIR: build first (./gtm.sh build) or set BUILDDIR"
    fi
}
peer_gtm_version() { gtm_version; }
peer_gtm_start() {
    local dir=$1 port=$2 threads=$3 zonefile=$4
    make_gtm_store "$dir/gtm.db" "$zonefile"
    start_gtm "$dir" "$port" "$threads"
}

peer_knot_check() { need knotd knot "Knot DNS, a peer"; }
peer_knot_version() { echo "Knot DNS $(knotd --version | awk '{print $NF}')"; }
peer_knot_start() {
    local dir=$1 port=$2 threads=$3 zonefile=$4
    mkdir -p "$dir/db"
    # like tests/system/knot_util.py, with udp-workers = THREADS (Knot's default is one
    # per CPU); one TCP and one background worker, idle here
    cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: 127.0.0.1@$port
    udp-workers: $threads
    tcp-workers: 1
    background-workers: 1
    identity: ""
    version: ""
database:
    storage: "$dir/db"
control:
    listen: "$dir/knot.sock"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$dir/db"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: $ZONE
    file: "$zonefile"
EOF
    SERVER_LOG=$dir/knotd.log
    start knot "$SERVER_LOG" knotd -c "$dir/knot.conf"
    SERVER_PID=$STARTED_PID
}

peer_nsd_check() {
    need nsd nsd "NSD, a peer"
    need nsd-checkconf nsd "NSD, a peer"
}
peer_nsd_version() { nsd -v 2>&1 | sed -n 1p; }
peer_nsd_start() {
    local dir=$1 port=$2 threads=$3 zonefile=$4 rrl
    # Rate limiting off: rrl-ratelimit exists only when NSD was built with
    # --enable-ratelimit (Debian's is, and limits to 200 qps per source by default,
    # which would cap dnsperf from one address).
    rrl="    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0"
    write_nsd_conf "$dir" "$port" "$threads" "$zonefile" "$rrl"
    if ! nsd-checkconf "$dir/nsd.conf" >"$dir/checkconf.log" 2>&1; then
        grep -qi rrl "$dir/checkconf.log" || { cat "$dir/checkconf.log" >&2; die "nsd-checkconf failed"; }
        warn "this NSD has no rrl-* options (built without rate limiting): none to turn off"
        NSD_RRL="not built in"
        write_nsd_conf "$dir" "$port" "$threads" "$zonefile" ""
        nsd-checkconf "$dir/nsd.conf" >&2 || die "nsd-checkconf failed"
    else
        NSD_RRL="off (rrl-ratelimit: $(nsd-checkconf -o rrl-ratelimit "$dir/nsd.conf"))"
    fi
    SERVER_LOG=$dir/nsd.log
    # -d: stay in the foreground; NSD still forks its server-count server processes
    # and xfrd, which CPU accounting sums with the parent
    start nsd "$dir/nsd.stderr" nsd -d -c "$dir/nsd.conf"
    SERVER_PID=$STARTED_PID
}
# minimal-responses: like gtm-dnsd and Knot, no NS RRset in authority (and its glue)
# on positive answers, so every server sends the same bytes. reuseport: one socket per
# server process, as gtm-dnsd and Knot have one per worker.
write_nsd_conf() {
    local dir=$1 port=$2 threads=$3 zonefile=$4 rrl=$5
    cat >"$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    do-ip6: no
    server-count: $threads
    reuseport: yes
    minimal-responses: yes
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    verbosity: 1
    hide-version: yes
    hide-identity: yes
$rrl
remote-control:
    control-enable: no
zone:
    name: $ZONE
    zonefile: "$zonefile"
EOF
}

peer_gdnsd_check() { need gdnsd gdnsd "gdnsd, a peer"; }
peer_gdnsd_version() { { gdnsd -h 2>&1 || true; } | sed -n 's/.*\(gdnsd version [^ ]*\).*/\1/p'; }
peer_gdnsd_start() {
    local dir=$1 port=$2 threads=$3 zonefile=$4
    mkdir -p "$dir/etc/zones" "$dir/run" "$dir/state"
    cp "$zonefile" "$dir/etc/zones/$ZONE"
    cat >"$dir/etc/config" <<EOF
options => {
    listen => [ "127.0.0.1:$port" ]
    udp_threads => $threads
    tcp_threads => 1
    run_dir => "$dir/run"
    state_dir => "$dir/state"
}
EOF
    SERVER_LOG=$dir/gdnsd.log
    start gdnsd "$SERVER_LOG" gdnsd -c "$dir/etc" start
    SERVER_PID=$STARTED_PID
}

# ---- checks --------------------------------------------------------------------------

need dnsperf dnsperf
need taskset util-linux
need awk gawk
[ -x "$PYTHON" ] || die "$PYTHON not found: apt-get install python3 python3-dnspython"
"$PYTHON" -c 'import dns.message' 2>/dev/null ||
    die "dnspython missing for $PYTHON: apt-get install python3-dnspython"
declare -A SEEN
for p in "${PEER_LIST[@]}"; do
    declare -F "peer_${p}_start" >/dev/null || die "unknown peer '$p' (gtm, knot, nsd, gdnsd)"
    [ -z "${SEEN[$p]:-}" ] || die "peer '$p' given twice"
    SEEN[$p]=1
    "peer_${p}_check"
done

bench_init
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
ALL_CPUS=$(taskset -p $$ | awk '{print $NF}') # our affinity mask, restored after pinning
STAMP=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT=$BENCH_TOP/bench/out/peers-$STAMP.md
mkdir -p "$(dirname "$OUT")"
RUNS_TSV=${OUT%.md}.tsv
[ "$RUNS_TSV" != "$OUT" ] || RUNS_TSV=$OUT.tsv
LOAD_BEFORE=$(loadavg)
nruns=$((ROUNDS * ${#MODE_LIST[@]} * ${#PEER_LIST[@]}))
say "$nruns runs of ${DURATION} s (${ROUNDS} rounds x ${#MODE_LIST[@]} modes x ${#PEER_LIST[@]} servers)," \
    "about $(((nruns * (DURATION + 2) + 30) / 60 + 1)) min; load average $LOAD_BEFORE; temp $BENCH_TMP"

# ---- zone and servers ------------------------------------------------------------------

ZONEFILE=$BENCH_TMP/$ZONE.zone
QUERIES=$BENCH_TMP/static.queries
make_zone "$ZONEFILE" "$RECORDS"
make_static_queries "$QUERIES"
ZONE_RRS=$(grep -cE '^[^;$ ]' "$ZONEFILE" || true)

declare -A PORT_OF PID_OF LOG_OF VERSION_OF
NSD_RRL=n/a
for p in "${PEER_LIST[@]}"; do
    pick_port "$PORT_BASE"
    mkdir -p "$BENCH_TMP/$p"
    "peer_${p}_start" "$BENCH_TMP/$p" "$PORT" "$THREADS" "$ZONEFILE"
    PORT_OF[$p]=$PORT PID_OF[$p]=$SERVER_PID LOG_OF[$p]=$SERVER_LOG
    VERSION_OF[$p]=$("peer_${p}_version")
done
for p in "${PEER_LIST[@]}"; do
    wait_ready "$p" "${PORT_OF[$p]}" "${PID_OF[$p]}" "${LOG_OF[$p]}"
    track_tree "$p" "${PID_OF[$p]}"
    say "$p (${VERSION_OF[$p]}) answers on 127.0.0.1:${PORT_OF[$p]}, pid ${PID_OF[$p]}" \
        "($("${BENCHTOOL[@]}" tree "${PID_OF[$p]}" | wc -l) processes)"
done

# Same query, same answer: otherwise the comparison is not like for like.
BASE=${PEER_LIST[0]}
ANSWERS_NOTE="identical for all $(wc -l <"$QUERIES") queries"
for p in "${PEER_LIST[@]}"; do
    "${BENCHTOOL[@]}" answers "${PORT_OF[$p]}" "$QUERIES" >"$BENCH_TMP/$p.answers"
done
for p in "${PEER_LIST[@]:1}"; do
    if ! diff -u "$BENCH_TMP/$BASE.answers" "$BENCH_TMP/$p.answers" >"$BENCH_TMP/$p.diff"; then
        warn "$p answers differently from $BASE:"
        cat "$BENCH_TMP/$p.diff" >&2
        ANSWERS_NOTE="DIFFERENT between $BASE and $p (see the script's output)"
    fi
done
say "answers: $ANSWERS_NOTE; $BASE: $(head -1 "$BENCH_TMP/$BASE.answers")"

# ---- runs ------------------------------------------------------------------------------

# pin_server PEER CPU / unpin_server PEER: the affinity of every thread of every
# process of the server (unpin restores the mask this script started with).
pin_server() {
    local pid
    for pid in $("${BENCHTOOL[@]}" tree "${PID_OF[$1]}"); do
        taskset -a -p -c "$2" "$pid" >/dev/null || die "taskset -a -p -c $2 $pid failed"
    done
}
unpin_server() {
    local pid
    for pid in $("${BENCHTOOL[@]}" tree "${PID_OF[$1]}"); do
        taskset -a -p "$ALL_CPUS" "$pid" >/dev/null || die "taskset -a -p $ALL_CPUS $pid failed"
    done
}

# dnsperf_cmd PEER MODE SECONDS: sets CMD to the dnsperf command line of a mode.
dnsperf_cmd() {
    local peer=$1 mode=$2 secs=$3 base=${2%+pin}
    CMD=()
    [ "$mode" = "$base" ] || CMD=(taskset -c "$PIN_DNSPERF_CPU")
    CMD+=(dnsperf -s 127.0.0.1 -p "${PORT_OF[$peer]}" -d "$QUERIES" -l "$secs"
        -c "$DNSPERF_CLIENTS" -q "$DNSPERF_OUTSTANDING" -t "$DNSPERF_TIMEOUT")
    [ "$base" = sat ] || CMD+=(-Q "${base#q}")
    # shellcheck disable=SC2206  # DNSPERF_OPTS is a list of words by design
    [ -z "$DNSPERF_OPTS" ] || CMD+=($DNSPERF_OPTS)
}

COLUMNS_TSV=(round mode server pinned rate "${RUN_FIELDS[@]}")
(IFS=$'\t'; echo "${COLUMNS_TSV[*]}") >"$RUNS_TSV"

# run_one ROUND MODE PEER SECONDS [record]: one measured dnsperf run.
run_one() {
    local round=$1 mode=$2 peer=$3 secs=$4 record=${5:-} pinned=no rate=nan row=() f
    [ "${mode%+pin}" = "$mode" ] || pinned=yes
    [ "${mode%+pin}" = sat ] || rate=${mode%+pin} rate=${rate#q}
    dnsperf_cmd "$peer" "$mode" "$secs"
    [ "$pinned" = no ] || pin_server "$peer" "$PIN_SERVER_CPU"
    measure_dnsperf "${PID_OF[$peer]}" "$BENCH_TMP/run-$round-$mode-$peer" \
        $((secs + 2 * DNSPERF_TIMEOUT + 15)) "${CMD[@]}"
    [ "$pinned" = no ] || unpin_server "$peer"
    [ -n "$record" ] || return 0
    row=("$round" "$mode" "$peer" "$pinned" "$rate")
    for f in "${RUN_FIELDS[@]}"; do row+=("${RUN[$f]:-nan}"); done
    (IFS=$'\t'; echo "${row[*]}") >>"$RUNS_TSV"
    printf '%-3s %-12s %-6s %9.0f qps %7s us/q  lost %-6s srv %6s%%  dnsperf %6s%% (top thread %s%%)  others %s%%  cpus %s%%\n' \
        "$round" "$mode" "$peer" "${RUN[qps]}" "${RUN[us_per_query]}" "${RUN[lost]}" \
        "${RUN[server_cpu_pct]}" "${RUN[dnsperf_cpu_pct]}" "${RUN[dnsperf_top_thread_pct]}" \
        "${RUN[other_pct]}" "${RUN[cpu_nonidle_pct]}" >&2
}

if [ "$WARMUP" -gt 0 ]; then
    say "warm-up: ${WARMUP} s of saturation per server (not recorded)"
    for p in "${PEER_LIST[@]}"; do run_one 0 sat "$p" "$WARMUP"; done
fi
for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round of $ROUNDS"
    for mode in "${MODE_LIST[@]}"; do
        for p in "${PEER_LIST[@]}"; do run_one "$round" "$mode" "$p" "$DURATION" record; done
    done
done
LOAD_AFTER=$(loadavg)

# Still up and serving? A server that died mid-run would make its figures meaningless.
for p in "${PEER_LIST[@]}"; do
    kill -0 "${PID_OF[$p]}" 2>/dev/null || die "$p (pid ${PID_OF[$p]}) died during the runs: ${LOG_OF[$p]}"
done

# ---- report ------------------------------------------------------------------------------

META=$BENCH_TMP/meta
# How the kernel measures the CPU times we read: with tick accounting it charges whole
# ticks to whoever runs at each tick (statistical, fine over thousands of ticks), and
# without IRQ time accounting softirq work (loopback delivery) goes to the task it
# interrupted.
cpu_accounting() {
    local c
    c=$(zcat /proc/config.gz 2>/dev/null |
        grep -E '^CONFIG_(HZ|TICK_CPU_ACCOUNTING|VIRT_CPU_ACCOUNTING_GEN|IRQ_TIME_ACCOUNTING)=' |
        sed 's/^CONFIG_//' | paste -sd, -) || true
    [ -z "$c" ] || echo ", kernel $c"
}
mode_text() {
    local b=${1%+pin} t="dnsperf -c $DNSPERF_CLIENTS -q $DNSPERF_OUTSTANDING"
    case $b in
    sat) echo "$t (saturation)" ;;
    *) echo "$t -Q ${b#q}" ;;
    esac
}
{
    printf 'title\tgtm-dnsd and peers, static names (bench/peers.sh, %s)\n' "$STAMP"
    printf 'rounds\t%s\nseconds\t%s\nthreads\t%s\nservers\t%s\n' "$ROUNDS" "$DURATION" "$THREADS" "${PEER_LIST[*]}"
    printf 'pin_dnsperf_cpu\t%s\npin_server_cpu\t%s\n' "$PIN_DNSPERF_CPU" "$PIN_SERVER_CPU"
    fact() { printf 'fact\t%s\t%s\n' "$1" "$2"; }
    fact command "bench/peers.sh --rounds $ROUNDS --seconds $DURATION --threads $THREADS --modes '$MODES' --peers '$PEERS'$([ "$PINNED" = 1 ] && echo ' --pinned')"
    fact machine "$NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), Linux $(uname -r), CLK_TCK $CLK_TCK$(cpu_accounting)"
    fact "load average" "before $LOAD_BEFORE, after $LOAD_AFTER"
    fact gtm "$(cd "$BENCH_TOP" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$BENCH_TOP" && git diff --quiet HEAD -- 2>/dev/null || echo ' (work tree has changes)'), $BUILDDIR"
    for p in "${PEER_LIST[@]}"; do
        case $p in
        gtm) fact "$p" "${VERSION_OF[$p]}: --threads $THREADS" ;;
        knot) fact "$p" "${VERSION_OF[$p]}: udp-workers $THREADS, tcp-workers 1, background-workers 1" ;;
        nsd) fact "$p" "${VERSION_OF[$p]}: server-count $THREADS, reuseport yes, minimal-responses yes, rate limiting $NSD_RRL" ;;
        gdnsd) fact "$p" "${VERSION_OF[$p]}: udp_threads $THREADS, tcp_threads 1" ;;
        esac
    done
    fact dnsperf "$(dnsperf -h 2>&1 | sed -n 's/^Version /dnsperf /p'), one sender and one receiver thread (no -T); -t $DNSPERF_TIMEOUT${DNSPERF_OPTS:+, plus $DNSPERF_OPTS}"
    for m in "${MODE_LIST[@]}"; do
        if [ "${m%+pin}" = "$m" ]; then
            fact "mode $m" "$(mode_text "$m")"
        else
            fact "mode $m" "$(mode_text "$m"), dnsperf under taskset -c $PIN_DNSPERF_CPU, every server thread on CPU $PIN_SERVER_CPU"
        fi
    done
    fact zone "$ZONE, $ZONE_RRS records (bench/gen-zone.py $RECORDS plus ${#STATIC_NAMES[@]} static names)"
    fact queries "$(awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}' "$QUERIES") — UDP, no EDNS unless DNSPERF_OPTS says so"
    fact answers "$ANSWERS_NOTE"
    fact "all runs" "$RUNS_TSV"
} >"$META"
"${BENCHTOOL[@]}" report "$RUNS_TSV" --meta "$META" --out "$OUT"
say "results: $OUT (runs: $RUNS_TSV); load average before $LOAD_BEFORE, after $LOAD_AFTER"
