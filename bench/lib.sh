# shellcheck shell=bash disable=SC2034  # variables set here are read by the sourcing script
# bench/lib.sh — sourced by the bench scripts (bench/peers.sh; bench/run.sh of issue 6):
# a temp directory removed on exit, servers started in the background and stopped by
# PID in an EXIT trap (even on failure or Ctrl-C), free loopback ports, the zone and
# the gtm store, gtm-dnsd itself, and one measured dnsperf run. Bash 4+; sets no shell
# options of its own (the caller runs with set -Eeuo pipefail and inherit_errexit).
# Never binds port 53, never touches a system service, never kills what it did not start.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILDDIR=${BUILDDIR:-$BENCH_TOP/build/release}
# Debian's python3 (with python3-dnspython), not one from a virtualenv on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}
BENCHTOOL=("$PYTHON" "$BENCH_TOP/bench/benchtool.py")
ZONE=bench.example
BENCH_NAME=${BENCH_NAME:-bench}

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }

# need COMMAND PACKAGE [WHY]: a clear error when a tool is missing.
need() {
    command -v "$1" >/dev/null 2>&1 ||
        die "$1 not found: apt-get install $2${3:+ ($3)}"
}

# ---- temp directory and started processes -------------------------------------------

# Every process we start: "pid starttime name" (starttime, field 22 of /proc/PID/stat,
# tells our process from a later one that reused its PID).
BENCH_PROCS=()
BENCH_TMP=

# starttime PID: prints the process's start time in ticks since boot, or nothing.
starttime() {
    local line rest
    read -r line 2>/dev/null < "/proc/$1/stat" || return 0
    rest=${line##*) }
    # shellcheck disable=SC2086  # word splitting of the stat fields is the point
    set -- $rest
    echo "${20}"
}

# is_ours PID START: is PID still the process we started?
is_ours() { [ -n "$2" ] && [ "$(starttime "$1")" = "$2" ]; }

# track NAME PID: remember a process to stop on exit.
track() { BENCH_PROCS+=("$2 $(starttime "$2") $1"); }

# BENCH_ROOTS: the processes we started ourselves ("pid starttime name"); on exit
# their trees are scanned again, so a child forked since (an NSD server restarted, the
# dnsperf under measure) is stopped too.
BENCH_ROOTS=()

# track_tree NAME PID: remember PID's descendants too (NSD's server children), so a
# child that outlives its parent is still stopped.
track_tree() {
    local p
    for p in $("${BENCHTOOL[@]}" tree "$2"); do
        [ "$p" = "$2" ] || track "$1-child" "$p"
    done
}

# stop_all: SIGTERM to every tracked process still ours, up to 5 s for them to exit,
# then SIGKILL.
stop_all() {
    local entry pid start name alive deadline
    for entry in "${BENCH_ROOTS[@]+"${BENCH_ROOTS[@]}"}"; do
        read -r pid start name <<<"$entry"
        if is_ours "$pid" "$start"; then track_tree "$name" "$pid"; fi
    done
    [ ${#BENCH_PROCS[@]} -gt 0 ] || return 0
    # parents first: a server's parent then shuts its children down itself rather
    # than restarting them
    for entry in "${BENCH_PROCS[@]}"; do
        read -r pid start name <<<"$entry"
        if is_ours "$pid" "$start"; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    deadline=$((SECONDS + 5))
    while :; do
        alive=()
        for entry in "${BENCH_PROCS[@]}"; do
            read -r pid start name <<<"$entry"
            # a zombie child is gone for our purposes (wait reaps it below)
            if is_ours "$pid" "$start" && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
                alive+=("$entry")
            fi
        done
        [ ${#alive[@]} -gt 0 ] || break
        if [ "$SECONDS" -ge "$deadline" ]; then
            for entry in "${alive[@]}"; do
                read -r pid start name <<<"$entry"
                warn "$name (pid $pid) ignored SIGTERM for 5 s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            done
            break
        fi
        sleep 0.1
    done
    for entry in "${BENCH_PROCS[@]}"; do
        read -r pid start name <<<"$entry"
        wait "$pid" 2>/dev/null || true
    done
    BENCH_PROCS=()
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP ERR
    stop_all
    if [ -n "$BENCH_TMP" ] && [ -d "$BENCH_TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then
            say "kept $BENCH_TMP (KEEP_TMP=1)"
        else
            rm -rf "$BENCH_TMP"
        fi
    fi
    exit "$rc"
}

# bench_init: the temp directory (BENCH_TMP) and the traps that clean up; a command
# that fails under set -e says which one before the script exits.
bench_init() {
    BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gtm-$BENCH_NAME.XXXXXX")
    trap 'printf "%s: line %s: exit %s from: %s\n" "$BENCH_NAME" "$LINENO" "$?" "$BASH_COMMAND" >&2' ERR
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# start NAME LOG COMMAND...: starts COMMAND in the background with its output in LOG,
# tracks it, and sets STARTED_PID.
start() {
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 </dev/null &
    STARTED_PID=$!
    track "$name" "$STARTED_PID"
    BENCH_ROOTS+=("${BENCH_PROCS[-1]}")
}

# ---- ports ---------------------------------------------------------------------------

# pick_port START: sets PORT to the first port >= START free on 127.0.0.1 (UDP and
# TCP) that we have not picked already.
PICKED_PORTS=()
pick_port() {
    local args=() p
    for p in "${PICKED_PORTS[@]+"${PICKED_PORTS[@]}"}"; do args+=(--not "$p"); done
    PORT=$("${BENCHTOOL[@]}" free-port "$1" "${args[@]+"${args[@]}"}") || die "no free port"
    PICKED_PORTS+=("$PORT")
}

# wait_ready NAME PORT PID LOG: waits (at most 30 s) until the server answers
# www.$ZONE A with AA, then checks that nobody else shares its port.
wait_ready() {
    local name=$1 port=$2 pid=$3 log=$4
    if ! "${BENCHTOOL[@]}" wait-answer "$port" "www.$ZONE" A 30 --pid "$pid"; then
        tail -20 "$log" >&2 || true
        die "$name did not start (log above, from $log)"
    fi
    "${BENCHTOOL[@]}" owners "$port" "$pid" || die "$name: port $port is not ours alone"
}

# ---- zone, queries and the gtm store -------------------------------------------------

# STATIC_NAMES: the names the static query file asks for; each gets fixed records in
# the zone (TEST-NET and documentation addresses), added to the generated ones.
STATIC_NAMES=(www api app cdn static img mail shop login news)

# make_zone FILE RECORDS: bench/gen-zone.py's RECORDS records plus the static names.
make_zone() {
    local file=$1 count=$2 i=0 n
    "$PYTHON" "$BENCH_TOP/bench/gen-zone.py" "$ZONE" "$count" >"$file" ||
        die "bench/gen-zone.py failed"
    {
        echo "; static names for the benchmark queries (bench/lib.sh)"
        for n in "${STATIC_NAMES[@]}"; do
            i=$((i + 1))
            echo "$n 300 IN A 192.0.2.$i"
            echo "$n 300 IN AAAA 2001:db8:ffff::$i"
        done
        echo "www 300 IN A 198.51.100.80" # one name with two addresses
    } >>"$file"
}

# make_static_queries FILE: 10 distinct existing names, 9 A queries and one AAAA.
make_static_queries() {
    local n
    {
        for n in "${STATIC_NAMES[@]}"; do
            if [ "$n" = news ]; then echo "$n.$ZONE AAAA"; else echo "$n.$ZONE A"; fi
        done
    } >"$1"
}

# make_gtm_store DB ZONEFILE: a store built with the real gtmctl.
make_gtm_store() {
    local db=$1 zonefile=$2
    if ! { "$BUILDDIR/gtmctl" --db "$db" init &&
        "$BUILDDIR/gtmctl" --db "$db" zone import "$ZONE" "$zonefile"; } >"$BENCH_TMP/gtmctl.log" 2>&1; then
        cat "$BENCH_TMP/gtmctl.log" >&2
        die "gtmctl could not build the store"
    fi
}

# start_gtm DIR PORT THREADS: gtm-dnsd on 127.0.0.1:PORT serving DIR/gtm.db; sets
# SERVER_PID and SERVER_LOG.
start_gtm() {
    local dir=$1 port=$2 threads=$3
    SERVER_LOG=$dir/gtm-dnsd.log
    start gtm "$SERVER_LOG" "$BUILDDIR/gtm-dnsd" --db "$dir/gtm.db" --listen "127.0.0.1:$port" \
        --threads "$threads" --foreground --log-level info
    SERVER_PID=$STARTED_PID
}

gtm_version() { "$BUILDDIR/gtm-dnsd" --version 2>&1 | sed -n 1p; }

# ---- measuring -------------------------------------------------------------------------

# RUN_FIELDS: the columns measure_dnsperf adds to a run's row.
RUN_FIELDS=(qps sent completed lost rcodes req_bytes resp_bytes run_s lat_avg_s lat_min_s
    lat_max_s lat_sd_s wall_s server_cpu_s server_cpu_pct server_top_thread_pct
    server_procs dnsperf_cpu_s dnsperf_cpu_pct dnsperf_top_thread_pct machine_busy_pct
    other_pct steal_pct cpu_nonidle_pct us_per_query)

# measure_dnsperf SERVER_PID OUTPREFIX HARD_LIMIT_S COMMAND...: runs COMMAND (a
# dnsperf, maybe under taskset) while reading the server tree's CPU time, and sets
# RUN (an associative array) from dnsperf's statistics and the CPU figures, including
# us_per_query: server CPU µs per response received.
declare -A RUN
measure_dnsperf() {
    local server=$1 prefix=$2 limit=$3 k v rc=0
    shift 3
    # measure runs as a background job we wait for, so a signal to this script runs
    # its trap at once; it is tracked, so the EXIT trap stops it, and its own SIGTERM
    # handler stops dnsperf
    "${BENCHTOOL[@]}" measure --server "$server" --out "$prefix.out" --stats "$prefix.stats" \
        --hard-limit "$limit" -- "$@" &
    local mpid=$!
    track measure "$mpid"
    BENCH_ROOTS+=("${BENCH_PROCS[-1]}")
    wait "$mpid" || rc=$?
    # measure has exited (it was the last process tracked)
    unset 'BENCH_PROCS[-1]' 'BENCH_ROOTS[-1]'
    [ "$rc" -eq 0 ] || { tail -20 "$prefix.out" >&2; die "dnsperf failed (exit $rc): $*"; }
    RUN=()
    while IFS='=' read -r k v; do RUN[$k]=$v; done \
        < <(cat "$prefix.stats"; "${BENCHTOOL[@]}" parse-dnsperf "$prefix.out" ||
            die "no statistics in $prefix.out")
    RUN[us_per_query]=$(awk -v c="${RUN[server_cpu_s]}" -v n="${RUN[completed]}" \
        'BEGIN { if (n > 0) printf "%.3f", c * 1e6 / n; else print "nan" }')
    [ -n "${RUN[qps]:-}" ] || die "no statistics from dnsperf in $prefix.out"
}

# loadavg: the 1, 5 and 15 minute load averages.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
