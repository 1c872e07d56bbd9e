# shellcheck shell=bash disable=SC2034  # variables set here are read by the sourcing script
# bench/lib.sh — sourced by the bench scripts (bench/peers.sh, bench/run.sh, bench/scale.sh):
# a temp directory removed on exit, servers started in the background and stopped by
# PID in an EXIT trap (even on failure or Ctrl-C), free loopback ports, the zone and
# the gtm store, the geo fixture (bench/fixture.py), gtm-dnsd itself, waiting for a
# quiet machine, and one measured dnsperf run. Bash 4+; sets no shell
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

# NSPFX: the command prefix that runs a command in the network namespace of the server
# at hand (nsenter --net=...), for a server in a namespace of its own; empty otherwise.
NSPFX=()

# need_netns PEER: what a server in a network namespace of its own (AF_XDP) needs.
need_netns() {
    need unshare util-linux "a network namespace for $1"
    need nsenter util-linux "a network namespace for $1"
    need ip iproute2 "a network namespace for $1"
    [ "$(id -u)" = 0 ] || die "$1 needs root (a network namespace, AF_XDP)"
}

# own_netns PEER DIR: a network namespace for PEER (held by a process of ours, in
# NS_OF[PEER]) with its loopback up and accepting what AF_XDP sends; sets NSPFX.
own_netns() {
    local i
    start "$1-netns" "$2/netns.log" unshare -n sleep 1000000
    NS_OF[$1]=$STARTED_PID
    for ((i = 0; ; i++)); do
        [ "$(readlink "/proc/$STARTED_PID/ns/net")" = "$(readlink /proc/$$/ns/net)" ] || break
        [ "$i" -lt 100 ] || die "$1: unshare -n made no network namespace in 5 s"
        sleep 0.05
    done
    ns_prefix "$1"
    "${NSPFX[@]}" sh -c 'ip link set lo up &&
        echo 1 >/proc/sys/net/ipv4/conf/lo/route_localnet &&
        echo 1 >/proc/sys/net/ipv4/conf/lo/accept_local' || die "$1: cannot set up its namespace"
}

# NS_OF[PEER]: the PID of the process that holds the network namespace of a peer that
# has one of its own (gtmxdp, floorxdp). ns_prefix PEER sets NSPFX for it.
declare -A NS_OF
ns_prefix() {
    NSPFX=()
    [ -z "${NS_OF[$1]:-}" ] || NSPFX=(nsenter "--net=/proc/${NS_OF[$1]}/ns/net")
}

# wait_ready NAME PORT PID LOG: waits (at most 30 s) until the server answers
# www.$ZONE A with AA, then checks that nobody else shares its port (in NSPFX's
# namespace).
wait_ready() {
    local name=$1 port=$2 pid=$3 log=$4
    if ! "${NSPFX[@]+"${NSPFX[@]}"}" "${BENCHTOOL[@]}" wait-answer "$port" "www.$ZONE" A 30 --pid "$pid"; then
        tail -20 "$log" >&2 || true
        die "$name did not start (log above, from $log)"
    fi
    "${NSPFX[@]+"${NSPFX[@]}"}" "${BENCHTOOL[@]}" owners "$port" "$pid" ||
        die "$name: port $port is not ours alone"
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

# GTM_ARGS: more gtm-dnsd options (--geoip FILE when a geo fixture is in use).
GTM_ARGS=()

# start_gtm DIR PORT THREADS: gtm-dnsd on 127.0.0.1:PORT (of NSPFX's namespace) serving
# DIR/gtm.db; sets SERVER_PID and SERVER_LOG.
start_gtm() {
    local dir=$1 port=$2 threads=$3
    SERVER_LOG=$dir/gtm-dnsd.log
    start gtm "$SERVER_LOG" "${NSPFX[@]+"${NSPFX[@]}"}" "$BUILDDIR/gtm-dnsd" --db "$dir/gtm.db" \
        --listen "127.0.0.1:$port" \
        --threads "$threads" --foreground --log-level info "${GTM_ARGS[@]+"${GTM_ARGS[@]}"}"
    SERVER_PID=$STARTED_PID
}

# ---- the geo fixture (managed names, GeoIP, ECS queries) -------------------------------

MAKE_MMDB=$BENCH_TOP/tests/geoip/make-mmdb.pl
FIXTURE=("$PYTHON" "$BENCH_TOP/bench/fixture.py")
GEO_DIR=

# make_geo_fixture DIR STATIC_QUERIES NETWORKS QUERIES: bench/fixture.py's world in DIR
# (networks, geo map, policies, gdnsd's config, ECS query files with their expected
# answers) and its GeoIP database, DIR/geo.mmdb, written by MaxMind's own writer
# (tests/geoip/make-mmdb.pl, Debian libmaxmind-db-writer-perl). Sets GEO_DIR, and
# GEO_SUMMARY (what the fixture holds, one fact a line).
make_geo_fixture() {
    local dir=$1 static=$2 networks=$3 queries=$4
    mkdir -p "$dir"
    "${FIXTURE[@]}" world "$dir" --zone "$ZONE" --mmdb "$dir/geo.mmdb" --static-queries "$static" \
        --networks "$networks" --queries "$queries" >"$dir/fixture.log" 2>&1 ||
        { cat "$dir/fixture.log" >&2; die "bench/fixture.py failed"; }
    perl "$MAKE_MMDB" "$dir/geoip.json" "$dir/geo.mmdb" >"$dir/mmdb.log" 2>&1 ||
        { cat "$dir/mmdb.log" >&2; die "tests/geoip/make-mmdb.pl failed"; }
    GEO_DIR=$dir
    GEO_SUMMARY=$(cat "$dir/summary.txt")
}

# gtm_apply_geo DB: the fixture's regions, pool, geo map and policies, one gtmctl
# command (one transaction) each.
gtm_apply_geo() {
    local db=$1 line args
    while read -r line; do
        [ -n "$line" ] || continue
        read -ra args <<<"$line"
        "$BUILDDIR/gtmctl" --db "$db" "${args[@]}" >>"$BENCH_TMP/gtmctl.log" 2>&1 ||
            { tail -5 "$BENCH_TMP/gtmctl.log" >&2; die "gtmctl $line: failed"; }
    done <"$GEO_DIR/gtmctl.cmds"
}

# ---- the machine --------------------------------------------------------------------------

# wait_quiet MAX_S BELOW: waits (at most MAX_S seconds, polling every 10 s) until the
# 1-minute load average is below BELOW, so runs start on a quiet machine when there is
# one; returns 1 (and warns) if it never got there. Other engineers' tests share the
# machine: every run records what the rest of the machine used anyway.
wait_quiet() {
    local max=$1 below=$2 deadline=$((SECONDS + $1)) load
    while :; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        awk -v l="$load" -v b="$below" 'BEGIN { exit !(l < b) }' && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            warn "load average still $load after waiting ${max} s for < $below: running anyway"
            return 1
        fi
        say "load average $load >= $below: waiting for a quieter moment (up to $((deadline - SECONDS)) s more)"
        sleep 10
    done
}

# GTM_SOURCES: what a build is made of (git diff over these says whether the binaries
# measured may differ from the commit named in the results).
GTM_SOURCES="common db dnsd geo healthd admin configure.ac Makefile.am"

# gtm_commit: the commit checked out now, and whether the sources differ from it. Taken
# when a run starts (other engineers may commit while it runs); the binaries measured are
# what BUILDDIR holds, built when gtm_built says.
gtm_commit() {
    local c
    c=$(cd "$BENCH_TOP" && git rev-parse --short HEAD 2>/dev/null) || { echo "?"; return 0; }
    # shellcheck disable=SC2086  # a list of paths
    (cd "$BENCH_TOP" && git diff --quiet HEAD -- $GTM_SOURCES 2>/dev/null) ||
        c+=" (the work tree has changes in the sources)"
    echo "$c"
}
gtm_built() { date -r "$BUILDDIR/gtm-dnsd" '+%Y-%m-%d %H:%M:%S %Z' 2>/dev/null || echo "?"; }

gtm_version() { "$BUILDDIR/gtm-dnsd" --version 2>&1 | sed -n 1p; }

# need_floor: bench/floor in BUILDDIR, built there (or brought up to date) with make.
need_floor() {
    [ -f "$BUILDDIR/Makefile" ] || [ -x "$BUILDDIR/bench/floor" ] ||
        die "no bench/floor in $BUILDDIR and no Makefile to build it: ./gtm.sh build, or set BUILDDIR"
    [ ! -f "$BUILDDIR/Makefile" ] || make -s -C "$BUILDDIR" bench/floor >/dev/null ||
        die "make bench/floor failed in $BUILDDIR"
}

# ---- measuring -------------------------------------------------------------------------

# RUN_FIELDS: the columns measure_dnsperf adds to a run's row.
RUN_FIELDS=(qps sent completed lost rcodes req_bytes resp_bytes run_s lat_avg_s lat_min_s
    lat_max_s lat_sd_s lat_p50_s lat_p90_s lat_p99_s lat_p999_s wall_s server_cpu_s server_cpu_pct server_top_thread_pct
    server_procs server_wakeups dnsperf_cpu_s dnsperf_cpu_pct dnsperf_top_thread_pct machine_busy_pct
    other_pct steal_pct cpu_nonidle_pct load1 us_per_query)

# measure_dnsperf SERVER_PID OUTPREFIX HARD_LIMIT_S COMMAND...: runs COMMAND (a
# dnsperf, maybe under taskset) while reading the server tree's CPU time, and sets
# RUN (an associative array) from dnsperf's statistics and the CPU figures, including
# us_per_query: server CPU µs per response received.
declare -A RUN
measure_dnsperf() {
    local server=$1 prefix=$2 limit=$3 k v rc=0 load1
    shift 3
    load1=$(cut -d' ' -f1 /proc/loadavg)
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
    RUN[load1]=$load1
    # dnsperf -v's line per response has been read (percentiles): drop it, it is large
    sed -i '/^> /d' "$prefix.out"
    RUN[us_per_query]=$(awk -v c="${RUN[server_cpu_s]}" -v n="${RUN[completed]}" \
        'BEGIN { if (n > 0) printf "%.3f", c * 1e6 / n; else print "nan" }')
    [ -n "${RUN[qps]:-}" ] || die "no statistics from dnsperf in $prefix.out"
}

# loadavg: the 1, 5 and 15 minute load averages.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
