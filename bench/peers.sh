#!/usr/bin/env bash
# bench/peers.sh [options] — gtm-dnsd beside its peers, in one run on this machine: every
# figure is a ratio taken side by side. Peers: Knot DNS and NSD (static names), gdnsd
# with its geoip plugin (static names, and managed names decided by GeoIP from the EDNS
# Client Subnet), and bench/floor, the minimal responder (answers anything with a fixed
# reply through the same batch I/O: the kernel's share of the cost).
#
# Builds a zone (bench/gen-zone.py's RECORDS records plus fixed static names such as
# www.bench.example), a gtm store with the real gtmctl, and each peer's config for the
# same zone file. With a query set other than static it also builds the geo fixture
# (bench/fixture.py, and tests/geoip/make-mmdb.pl for the .mmdb): GEO_NETWORKS networks,
# three regions, a geo map by continent, country, subdivision and CIDR, geo policies on
# the managed names geo0..geo7 (gtmctl), the same decision as a gdnsd geoip map with
# DYNA records, and query files with one ECS client subnet per query. It starts each
# server on its own 127.0.0.1 port with the same number of threads, checks they give the
# same answers (static: every query, compared between servers; geo and mix: a sample of
# GEO_CHECK queries against the answers the fixture expects, and between servers), then
# runs dnsperf with the same query file against each in alternation (A B C A B C ...)
# for ROUNDS rounds of SECONDS seconds, for every query set and mode:
#   sets   static   10 static names, 9 A and 1 AAAA (text file, no EDNS)
#          geo      GEO_QUERIES A queries for the managed names, each with its own ECS
#                   option (dnsperf -B, wire format): thousands of distinct IPv4 /24s
#                   and IPv6 /56s spread over the fixture's networks
#          mix      45% static, 45% geo with ECS, 10% NXDOMAIN (wire format)
#   modes  sat      saturation: dnsperf -c 20 -q 100, as fast as the server answers
#          qN       a fixed offered rate: the same plus -Q N (default q20000, q50000)
#          MODE+pin (--pinned) the same with dnsperf on CPU 0 and the server on CPU 1
# A peer runs only the sets it can serve (Knot, NSD: static). For each run it records
# qps, queries completed and lost, dnsperf's average and max latency (and at fixed rates
# percentiles, from dnsperf -v's line per response), and the server's CPU time per
# answered query (utime+stime of all its threads and processes from /proc, divided by
# the responses), next to dnsperf's own CPU and the rest of the machine's, and how often
# the server's threads slept and were woken (voluntary context switches). It prints
# medians per set, mode and server, the ratios of the first server to each other one,
# the issue's targets (met or not), and which process was the bottleneck; the same
# tables go to --out (bench/out/, git-ignored) for bench/RESULTS.md to quote by hand.
#
# Options (each also as an environment variable, flag wins):
#   --rounds N     ROUNDS     interleaved rounds (default 3)
#   --seconds S    SECONDS    length of one dnsperf run (default 10)
#   --threads N    THREADS    server threads: gtm --threads, Knot udp-workers, NSD
#                             server-count, gdnsd udp_threads, floor threads (default 2)
#   --quick                   1 round of 3 s, a smoke test
#   --pinned                  also run every mode pinned (dnsperf CPU 0, server CPU 1)
#   --modes LIST   MODES      default "sat q20000 q50000"
#   --sets LIST    SETS       query sets (default "static geo mix")
#   --peers LIST   PEERS      default "gtm knot nsd gdnsd floor"; also gtmhash (gtm-dnsd
#                             with --udp-steering hash), gtmxdp (gtm-dnsd --xdp lo, in a
#                             network namespace of its own: root) and floorxdp (the
#                             floor the same way); the first is the one the ratios
#                             are taken for
#   --records N    RECORDS    generated records in the zone (default 5000)
#   --out FILE     OUT        markdown results (default bench/out/peers-DATE.md)
#   --port-base P  PORT_BASE  first port to try (default 15350; never 53)
#   --quiet-wait S QUIET_WAIT before the rounds, wait up to S seconds (polling) for the
#                             1-minute load average to fall below QUIET_LOAD (1.0);
#                             default 0, no wait
# More knobs: BUILDDIR (build/release), DNSPERF_CLIENTS (20), DNSPERF_OUTSTANDING (100),
# DNSPERF_TIMEOUT (2 s), DNSPERF_OPTS (extra dnsperf arguments, e.g. -e), WARMUP (1 s
# per server and set before the first round), PERCENTILES (1: dnsperf -v at fixed
# rates), GEO_NETWORKS (4000), GEO_QUERIES (20000), GEO_CHECK (2000), TITLE (the
# report's heading), KEEP_TMP=1 keeps the temp directory. On a shared virtual machine:
# MIN_CLEAN (0: off) — after ROUNDS rounds, more rounds of the modes where a server has
# fewer than MIN_CLEAN clean runs (hypervisor steal below CLEAN_STEAL, 15% of a core),
# up to MAX_ROUNDS (6) in all; the report gives medians and ratios over clean runs too.
#
# Every process it starts is stopped by PID on exit (even on failure or Ctrl-C), every
# file it writes outside --out lives in one mktemp directory that is removed, and all
# traffic goes to 127.0.0.1. Run it on an otherwise idle machine: the "others %"
# column shows how much CPU the rest of the machine took during each run.

set -Eeuo pipefail
shopt -s inherit_errexit
BENCH_NAME=${BENCH_NAME:-peers.sh}
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
SETS=${SETS:-static geo mix}
PEERS=${PEERS:-gtm knot nsd gdnsd floor}
RECORDS=${RECORDS:-5000}
OUT=${OUT:-}
OUT_NAME=${OUT_NAME:-peers}
PORT_BASE=${PORT_BASE:-15350}
PINNED=0
QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_LOAD=${QUIET_LOAD:-1.0}
DNSPERF_CLIENTS=${DNSPERF_CLIENTS:-20}
DNSPERF_OUTSTANDING=${DNSPERF_OUTSTANDING:-100}
DNSPERF_TIMEOUT=${DNSPERF_TIMEOUT:-2}
DNSPERF_OPTS=${DNSPERF_OPTS:-}
WARMUP=${WARMUP:-1}
PERCENTILES=${PERCENTILES:-1}
MIN_CLEAN=${MIN_CLEAN:-0}
MAX_ROUNDS=${MAX_ROUNDS:-6}
export CLEAN_STEAL=${CLEAN_STEAL:-15}
EXTRA_ROUNDS=0
GEO_NETWORKS=${GEO_NETWORKS:-4000}
GEO_QUERIES=${GEO_QUERIES:-20000}
GEO_CHECK=${GEO_CHECK:-2000}
PIN_DNSPERF_CPU=${PIN_DNSPERF_CPU:-0}
PIN_SERVER_CPU=${PIN_SERVER_CPU:-1}
ARGS_GIVEN="$*"

while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --seconds) DURATION=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --quick) ROUNDS=1; DURATION=3 ;;
    --pinned) PINNED=1 ;;
    --modes) MODES=$2; shift ;;
    --sets) SETS=$2; shift ;;
    --peers) PEERS=$2; shift ;;
    --records) RECORDS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --port-base) PORT_BASE=$2; shift ;;
    --quiet-wait) QUIET_WAIT=$2; shift ;;
    -h | --help) usage ;;
    *) printf '%s: unknown option %s\n\n' "$BENCH_NAME" "$1" >&2; usage 2 ;;
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
int QUIET_WAIT "$QUIET_WAIT" 0
int GEO_NETWORKS "$GEO_NETWORKS" 100
int GEO_QUERIES "$GEO_QUERIES" 100
int GEO_CHECK "$GEO_CHECK" 1
int MIN_CLEAN "$MIN_CLEAN" 0
int MAX_ROUNDS "$MAX_ROUNDS" 1
read -ra PEER_LIST <<<"$PEERS"
read -ra RATE_LIST <<<"$MODES"
read -ra SET_LIST <<<"$SETS"
[ ${#PEER_LIST[@]} -gt 0 ] || die "no peers"
[ ${#SET_LIST[@]} -gt 0 ] || die "no query sets"
for m in "${RATE_LIST[@]}"; do
    [[ $m =~ ^(sat|q[0-9]+)$ ]] || die "mode '$m': sat or qN (a rate, e.g. q20000)"
done
NEEDS_GEO=0
for q in "${SET_LIST[@]}"; do
    [[ $q =~ ^(static|geo|mix)$ ]] || die "query set '$q': static, geo or mix"
    [ "$q" = static ] || NEEDS_GEO=1
done
if [ "$PINNED" = 1 ]; then
    for m in "${RATE_LIST[@]}"; do RATE_LIST+=("$m+pin"); done
    [ "$(nproc)" -ge 2 ] || die "--pinned needs 2 CPUs"
fi
# MODE_LIST: every run's mode, SET/RATE (static/sat, geo/q20000+pin, ...)
MODE_LIST=()
for q in "${SET_LIST[@]}"; do
    for m in "${RATE_LIST[@]}"; do MODE_LIST+=("$q/$m"); done
done

# ---- the peers ---------------------------------------------------------------------
# Each peer has peer_NAME_sets (the query sets it can serve), peer_NAME_check (its
# binaries, a clear error if missing), peer_NAME_version, and peer_NAME_start DIR PORT
# THREADS ZONEFILE, which writes its config under DIR, starts it in the foreground of a
# background job, and sets SERVER_PID and SERVER_LOG.

peer_gtm_sets="static geo mix"
peer_gtmhash_sets="static geo mix"
peer_gtmxdp_sets="static geo mix"
peer_knot_sets="static"
peer_nsd_sets="static"
peer_gdnsd_sets="static geo mix"
peer_floor_sets="static geo mix"
peer_floorxdp_sets="static geo mix"

# serves PEER SET: can PEER answer the queries of SET?
serves() {
    local v="peer_${1}_sets"
    [[ " ${!v} " == *" $2 "* ]]
}

peer_gtm_check() {
    if [ ! -x "$BUILDDIR/gtm-dnsd" ] || [ ! -x "$BUILDDIR/gtmctl" ]; then
        die "no gtm-dnsd/gtmctl in $BUILDDIR: build first (./gtm.sh build) or set BUILDDIR"
    fi
}
peer_gtm_version() { gtm_version; }
# gtm_peer_start DIR PORT THREADS ZONEFILE [GTM-DNSD OPTION...]
gtm_peer_start() {
    local dir=$1 port=$2 threads=$3 zonefile=$4
    shift 4
    make_gtm_store "$dir/gtm.db" "$zonefile"
    GTM_ARGS=("$@")
    if [ -n "$GEO_DIR" ]; then
        gtm_apply_geo "$dir/gtm.db"
        GTM_ARGS+=(--geoip "$GEO_DIR/geo.mmdb")
    fi
    start_gtm "$dir" "$port" "$threads"
}
peer_gtm_start() { gtm_peer_start "$@"; }
# gtmhash: gtm-dnsd with UDP spread over its workers by the kernel's hash instead of by
# CPU (--udp-steering hash), to show what the steering is worth in the same run
peer_gtmhash_check() { peer_gtm_check; }
peer_gtmhash_version() { gtm_version; }
peer_gtmhash_start() { gtm_peer_start "$@" --udp-steering hash; }
# gtmxdp: gtm-dnsd with --xdp lo, taking its UDP queries by AF_XDP. Its filter would sit
# in front of every server on the loopback it is attached to (in the generic hook, which
# copies each datagram it sees), so it gets a network namespace and a loopback of its
# own, where dnsperf and the answer checks run too. There the loopback must accept
# packets that come from 127.0.0.1 without a route attached (route_localnet,
# accept_local), as AF_XDP replies do.
peer_gtmxdp_check() {
    peer_gtm_check
    need_netns gtmxdp
}
peer_gtmxdp_version() { echo "$(gtm_version), --xdp lo"; }
peer_gtmxdp_start() {
    own_netns gtmxdp "$1"
    gtm_peer_start "$@" --xdp lo
    NSPFX=()
}

peer_knot_check() { need knotd knot "Knot DNS, a peer"; }
peer_knot_version() { echo "Knot DNS $(knotd --version | awk '{print $NF}')"; }
peer_knot_start() {
    local dir=$1 port=$2 threads=$3 zonefile=$4
    mkdir -p "$dir/db"
    # like tests/system/knot_util.py, with udp-workers = THREADS (Knot's default is one
    # per CPU); one TCP and one background worker, idle here
    cat >"$dir/knot.conf" <<KNOT_CONF
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
KNOT_CONF
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
    cat >"$dir/nsd.conf" <<NSD_CONF
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
NSD_CONF
}

peer_gdnsd_check() { need gdnsd gdnsd "gdnsd, a peer"; }
peer_gdnsd_version() { { gdnsd -h 2>&1 || true; } | sed -n 's/.*\(gdnsd version [^ ]*\).*/\1/p'; }
peer_gdnsd_start() {
    local dir=$1 port=$2 threads=$3 zonefile=$4
    mkdir -p "$dir/etc/zones" "$dir/run" "$dir/state"
    cp "$zonefile" "$dir/etc/zones/$ZONE"
    cat >"$dir/etc/config" <<GDNSD_CONF
options => {
    listen => [ "127.0.0.1:$port" ]
    udp_threads => $threads
    tcp_threads => 1
    run_dir => "$dir/run"
    state_dir => "$dir/state"
}
GDNSD_CONF
    # the managed names: DYNA records the geoip plugin answers from the same .mmdb with
    # the same map (ECS is on by default: edns_client_subnet => true)
    if [ -n "$GEO_DIR" ]; then
        cat "$GEO_DIR/gdnsd.dyna" >>"$dir/etc/zones/$ZONE"
        cat "$GEO_DIR/gdnsd.plugins" >>"$dir/etc/config"
    fi
    gdnsd -c "$dir/etc" checkconf >"$dir/checkconf.log" 2>&1 ||
        { cat "$dir/checkconf.log" >&2; die "gdnsd checkconf failed"; }
    SERVER_LOG=$dir/gdnsd.log
    start gdnsd "$SERVER_LOG" gdnsd -c "$dir/etc" start
    SERVER_PID=$STARTED_PID
}

# bench/floor, built in the build directory (`make bench/floor`) when it is missing.
peer_floor_check() { need_floor; }
peer_floor_version() { echo "bench/floor (fixed reply, recvmmsg/sendmmsg batches of 32)"; }
peer_floor_start() {
    local dir=$1 port=$2 threads=$3
    SERVER_LOG=$dir/floor.log
    start floor "$SERVER_LOG" "$BUILDDIR/bench/floor" 127.0.0.1 "$port" "$threads"
    SERVER_PID=$STARTED_PID
}
# floorxdp: the floor taking its queries by AF_XDP as gtmxdp does, in a namespace of its own
peer_floorxdp_check() {
    need_floor
    need_netns floorxdp
}
peer_floorxdp_version() { echo "bench/floor xdp:lo (fixed reply, AF_XDP batches of 64)"; }
peer_floorxdp_start() {
    local dir=$1 port=$2 threads=$3
    own_netns floorxdp "$dir"
    SERVER_LOG=$dir/floor.log
    start floorxdp "$SERVER_LOG" "${NSPFX[@]}" "$BUILDDIR/bench/floor" 127.0.0.1 "$port" \
        "$threads" xdp:lo
    SERVER_PID=$STARTED_PID
    NSPFX=()
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
    declare -F "peer_${p}_start" >/dev/null || die "unknown peer '$p' (gtm, gtmhash, gtmxdp, knot, nsd, gdnsd, floor, floorxdp)"
    [ -z "${SEEN[$p]:-}" ] || die "peer '$p' given twice"
    SEEN[$p]=1
    "peer_${p}_check"
done
for q in "${SET_LIST[@]}"; do
    serves "${PEER_LIST[0]}" "$q" || die "${PEER_LIST[0]}, the first peer, cannot serve the $q set"
done
[ "$NEEDS_GEO" = 0 ] || need perl libmaxmind-db-writer-perl "GeoIP fixtures"

bench_init
GTM_COMMIT=$(gtm_commit)
PIN_TEXT=
[ "$PINNED" = 0 ] || PIN_TEXT=", pinned too"
CMDLINE="${CMDLINE:-bench/$BENCH_NAME${ARGS_GIVEN:+ $ARGS_GIVEN}} (rounds $ROUNDS, seconds $DURATION, threads $THREADS, modes '$MODES', sets '$SETS', peers '$PEERS'$PIN_TEXT; BUILDDIR=$BUILDDIR)"
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
ALL_CPUS=$(taskset -p $$ | awk '{print $NF}') # our affinity mask, restored after pinning
STAMP=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT=$BENCH_TOP/bench/out/$OUT_NAME-$STAMP.md
mkdir -p "$(dirname "$OUT")"
RUNS_TSV=${OUT%.md}.tsv
[ "$RUNS_TSV" != "$OUT" ] || RUNS_TSV=$OUT.tsv
per_round=0
for mode in "${MODE_LIST[@]}"; do
    for p in "${PEER_LIST[@]}"; do
        if serves "$p" "${mode%%/*}"; then per_round=$((per_round + 1)); fi
    done
done
nruns=$((ROUNDS * per_round))
say "$nruns runs of ${DURATION} s ($ROUNDS rounds x $per_round set/mode/server runs)," \
    "about $(((nruns * (DURATION + 2) + 60) / 60 + 1)) min; load average $(loadavg); temp $BENCH_TMP"

# ---- zone, fixture and servers ----------------------------------------------------------

ZONEFILE=$BENCH_TMP/$ZONE.zone
QUERIES=$BENCH_TMP/static.queries
make_zone "$ZONEFILE" "$RECORDS"
make_static_queries "$QUERIES"
ZONE_RRS=$(grep -cE '^[^;$ ]' "$ZONEFILE" || true)
declare -A QFILE QFORMAT
QFILE[static]=$QUERIES QFORMAT[static]=text
if [ "$NEEDS_GEO" = 1 ]; then
    say "geo fixture: $GEO_NETWORKS networks, $GEO_QUERIES queries a file (bench/fixture.py, make-mmdb.pl)"
    make_geo_fixture "$BENCH_TMP/geo" "$QUERIES" "$GEO_NETWORKS" "$GEO_QUERIES"
    QFILE[geo]=$GEO_DIR/geo.wire QFORMAT[geo]=wire
    QFILE[mix]=$GEO_DIR/mix.wire QFORMAT[mix]=wire
fi

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
    ns_prefix "$p"
    wait_ready "$p" "${PORT_OF[$p]}" "${PID_OF[$p]}" "${LOG_OF[$p]}"
    track_tree "$p" "${PID_OF[$p]}"
    say "$p (${VERSION_OF[$p]}) answers on 127.0.0.1:${PORT_OF[$p]}, pid ${PID_OF[$p]}" \
        "($("${BENCHTOOL[@]}" tree "${PID_OF[$p]}" | wc -l) processes)"
done

# Same query, same answer: otherwise the comparison is not like for like. The floor
# answers everything with one fixed record: it is left out.
BASE=${PEER_LIST[0]}
declare -A ANSWERS_NOTE
if [[ " ${SET_LIST[*]} " == *" static "* ]]; then
    ANSWERS_NOTE[static]="identical for all $(wc -l <"$QUERIES") queries"
    for p in "${PEER_LIST[@]}"; do
        [ "${p#floor}" = "$p" ] || continue
        ns_prefix "$p"
        "${NSPFX[@]+"${NSPFX[@]}"}" "${BENCHTOOL[@]}" answers "${PORT_OF[$p]}" "$QUERIES" \
            >"$BENCH_TMP/$p.answers"
    done
    for p in "${PEER_LIST[@]:1}"; do
        [ "${p#floor}" = "$p" ] || continue
        if ! diff -u "$BENCH_TMP/$BASE.answers" "$BENCH_TMP/$p.answers" >"$BENCH_TMP/$p.diff"; then
            warn "$p answers differently from $BASE:"
            cat "$BENCH_TMP/$p.diff" >&2
            ANSWERS_NOTE[static]="DIFFERENT between $BASE and $p (see the script's output)"
        fi
    done
    say "static answers: ${ANSWERS_NOTE[static]}; $BASE: $(head -1 "$BENCH_TMP/$BASE.answers")"
fi
# Managed names: a sample of the queries, each against the answer the fixture expects
# (computed by bench/fixture.py, by neither server), then the servers against each other.
for q in geo mix; do
    [[ " ${SET_LIST[*]} " == *" $q "* ]] || continue
    ANSWERS_NOTE[$q]=""
    for p in "${PEER_LIST[@]}"; do
        { [ "${p#floor}" = "$p" ] && serves "$p" "$q"; } || continue
        ns_prefix "$p"
        if ok=$("${NSPFX[@]+"${NSPFX[@]}"}" "${BENCHTOOL[@]}" answers-wire "${PORT_OF[$p]}" "${QFILE[$q]}" \
            "$GEO_DIR/$q.expect" --sample "$GEO_CHECK" --out "$BENCH_TMP/$p.$q.answers" \
            2>"$BENCH_TMP/$p.$q.check"); then
            ANSWERS_NOTE[$q]+="${ANSWERS_NOTE[$q]:+; }$p: $ok"
        else
            warn "$p: wrong answers to $q queries: $ok"
            cat "$BENCH_TMP/$p.$q.check" >&2
            ANSWERS_NOTE[$q]+="${ANSWERS_NOTE[$q]:+; }$p: WRONG ANSWERS: $ok"
        fi
        if [ "$p" != "$BASE" ]; then
            if cmp -s "$BENCH_TMP/$BASE.$q.answers" "$BENCH_TMP/$p.$q.answers"; then
                ANSWERS_NOTE[$q]+=" (rcodes and addresses identical to $BASE's)"
            else
                warn "$p answers $q queries differently from $BASE"
                ANSWERS_NOTE[$q]+=" (DIFFERENT from $BASE's)"
            fi
        fi
    done
    say "$q answers: ${ANSWERS_NOTE[$q]}"
done

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

# dnsperf_cmd PEER MODE SECONDS: sets CMD to the dnsperf command line of a mode
# (SET/RATE[+pin]).
dnsperf_cmd() {
    local peer=$1 secs=$3 set=${2%%/*} rate=${2#*/} base
    base=${rate%+pin}
    CMD=()
    [ "$rate" = "$base" ] || CMD=(taskset -c "$PIN_DNSPERF_CPU")
    ns_prefix "$peer"
    CMD+=("${NSPFX[@]+"${NSPFX[@]}"}" dnsperf -s 127.0.0.1 -p "${PORT_OF[$peer]}" -d "${QFILE[$set]}" -l "$secs"
        -c "$DNSPERF_CLIENTS" -q "$DNSPERF_OUTSTANDING" -t "$DNSPERF_TIMEOUT")
    [ "${QFORMAT[$set]}" = text ] || CMD+=(-B)
    [ "$base" = sat ] || CMD+=(-Q "${base#q}")
    # a line per response for latency percentiles; not at saturation, where writing
    # them would take dnsperf's CPU from sending
    [ "$PERCENTILES" != 1 ] || [ "$base" = sat ] || CMD+=(-v)
    # shellcheck disable=SC2206  # DNSPERF_OPTS is a list of words by design
    [ -z "$DNSPERF_OPTS" ] || CMD+=($DNSPERF_OPTS)
}

COLUMNS_TSV=(round mode set server pinned rate "${RUN_FIELDS[@]}")
(IFS=$'\t'; echo "${COLUMNS_TSV[*]}") >"$RUNS_TSV"

# run_one ROUND MODE PEER SECONDS [record]: one measured dnsperf run.
run_one() {
    local round=$1 mode=$2 peer=$3 secs=$4 record=${5:-} pinned=no rate=nan row=() f
    local set=${2%%/*} r=${2#*/}
    [ "${r%+pin}" = "$r" ] || pinned=yes
    [ "${r%+pin}" = sat ] || { rate=${r%+pin}; rate=${rate#q}; }
    dnsperf_cmd "$peer" "$mode" "$secs"
    [ "$pinned" = no ] || pin_server "$peer" "$PIN_SERVER_CPU"
    measure_dnsperf "${PID_OF[$peer]}" "$BENCH_TMP/run-$round-${mode//\//-}-$peer" \
        $((secs + 2 * DNSPERF_TIMEOUT + 15)) "${CMD[@]}"
    [ "$pinned" = no ] || unpin_server "$peer"
    [ -n "$record" ] || return 0
    row=("$round" "$mode" "$set" "$peer" "$pinned" "$rate")
    for f in "${RUN_FIELDS[@]}"; do row+=("${RUN[$f]:-nan}"); done
    (IFS=$'\t'; echo "${row[*]}") >>"$RUNS_TSV"
    printf '%-3s %-17s %-6s %9.0f qps %7s us/q  lost %-5s srv %6s%%  dnsperf %6s%% (top thread %s%%)  others %s%%  steal %s%%  load %s\n' \
        "$round" "$mode" "$peer" "${RUN[qps]}" "${RUN[us_per_query]}" "${RUN[lost]}" \
        "${RUN[server_cpu_pct]}" "${RUN[dnsperf_cpu_pct]}" "${RUN[dnsperf_top_thread_pct]}" \
        "${RUN[other_pct]}" "${RUN[steal_pct]}" "${RUN[load1]}" >&2
}

if [ "$WARMUP" -gt 0 ]; then
    say "warm-up: ${WARMUP} s of saturation per server and query set (not recorded)"
    for q in "${SET_LIST[@]}"; do
        for p in "${PEER_LIST[@]}"; do
            if serves "$p" "$q"; then run_one 0 "$q/sat" "$p" "$WARMUP"; fi
        done
    done
fi
QUIET_NOTE="no wait for a quiet machine asked"
if [ "$QUIET_WAIT" -gt 0 ]; then
    if wait_quiet "$QUIET_WAIT" "$QUIET_LOAD"; then
        QUIET_NOTE="the rounds started once the 1-minute load average was below $QUIET_LOAD"
    else
        QUIET_NOTE="the load average stayed >= $QUIET_LOAD for ${QUIET_WAIT} s: started anyway"
    fi
fi
LOAD_BEFORE=$(loadavg)
for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round of $ROUNDS"
    for mode in "${MODE_LIST[@]}"; do
        for p in "${PEER_LIST[@]}"; do
            if serves "$p" "${mode%%/*}"; then run_one "$round" "$mode" "$p" "$DURATION" record; fi
        done
    done
done
# More rounds, only of the modes that lack clean runs (less than CLEAN_STEAL% steal: the
# hypervisor took the CPU from under the others), up to MAX_ROUNDS in all.
while [ "$MIN_CLEAN" -gt 0 ] && [ "$round" -le "$MAX_ROUNDS" ]; do
    mapfile -t lacking < <("${BENCHTOOL[@]}" lacking "$RUNS_TSV" --min "$MIN_CLEAN")
    [ ${#lacking[@]} -gt 0 ] || break
    say "round $round of at most $MAX_ROUNDS: ${#lacking[@]} modes with fewer than $MIN_CLEAN clean runs (steal < ${CLEAN_STEAL}%)"
    EXTRA_ROUNDS=$((EXTRA_ROUNDS + 1))
    for mode in "${lacking[@]}"; do
        for p in "${PEER_LIST[@]}"; do
            if serves "$p" "${mode%%/*}"; then run_one "$round" "$mode" "$p" "$DURATION" record; fi
        done
    done
    round=$((round + 1))
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
    *) echo "$t -Q ${b#q}$([ "$PERCENTILES" = 1 ] && echo ' -v (percentiles from its line per response)')" ;;
    esac
}
{
    printf 'title\t%s (bench/%s, %s)\n' "${TITLE:-gtm-dnsd and peers}" "$BENCH_NAME" "$STAMP"
    printf 'rounds\t%s\nseconds\t%s\nthreads\t%s\nservers\t%s\n' "$ROUNDS$([ "$EXTRA_ROUNDS" = 0 ] || echo " (+$EXTRA_ROUNDS for modes short of clean runs)")" "$DURATION" "$THREADS" "${PEER_LIST[*]}"
    printf 'pin_dnsperf_cpu\t%s\npin_server_cpu\t%s\n' "$PIN_DNSPERF_CPU" "$PIN_SERVER_CPU"
    # issue 6's targets: the first server's µs/query over the peer's (a|b: the lower of
    # the two), at most the given ratio, for the given query sets
    printf 'target\tfloor|floorxdp\tstatic geo mix\t1.5\twithin 1.5x of the minimal responder\n'
    printf 'target\tknot|nsd\tstatic\t1.0\tstatic names: no more than the best of Knot and NSD\n'
    printf 'target\tgdnsd\tgeo\t0.667\tmanaged geo names with ECS: at most 2/3 of gdnsd\n'
    fact() { printf 'fact\t%s\t%s\n' "$1" "$2"; }
    fact command "$CMDLINE"
    fact machine "$NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), Linux $(uname -r), CLK_TCK $CLK_TCK$(cpu_accounting)"
    fact "load average" "before the rounds $LOAD_BEFORE, after $LOAD_AFTER ($QUIET_NOTE)"
    [ "$MIN_CLEAN" = 0 ] || fact "extra rounds" "$EXTRA_ROUNDS (of the modes with fewer than $MIN_CLEAN runs under ${CLEAN_STEAL}% steal; at most $MAX_ROUNDS rounds in all)"
    GTM_COMMIT_END=$(gtm_commit)
    fact gtm "commit $GTM_COMMIT when the run started$([ "$GTM_COMMIT_END" = "$GTM_COMMIT" ] || echo " ($GTM_COMMIT_END when it ended)"); binaries in $BUILDDIR, gtm-dnsd built $(gtm_built)"
    for p in "${PEER_LIST[@]}"; do
        case $p in
        gtm) fact "$p" "${VERSION_OF[$p]}: --threads $THREADS (UDP steered by CPU, the default)${GEO_DIR:+, --geoip with the fixture .mmdb}" ;;
        gtmhash) fact "$p" "${VERSION_OF[$p]}: --threads $THREADS --udp-steering hash${GEO_DIR:+, --geoip with the fixture .mmdb}" ;;
        knot) fact "$p" "${VERSION_OF[$p]}: udp-workers $THREADS, tcp-workers 1, background-workers 1" ;;
        nsd) fact "$p" "${VERSION_OF[$p]}: server-count $THREADS, reuseport yes, minimal-responses yes, rate limiting $NSD_RRL" ;;
        gdnsd) fact "$p" "${VERSION_OF[$p]}: udp_threads $THREADS, tcp_threads 1${GEO_DIR:+, geoip plugin on the fixture .mmdb and map, ECS on (its default)}" ;;
        gtmxdp) fact "$p" "${VERSION_OF[$p]}: --threads $THREADS --xdp lo, in a network namespace of its own with dnsperf (lo: route_localnet and accept_local on)${GEO_DIR:+, --geoip with the fixture .mmdb}" ;;
        floor) fact "$p" "${VERSION_OF[$p]}: $THREADS threads, UDP steered by CPU as gtm-dnsd's default" ;;
        floorxdp) fact "$p" "${VERSION_OF[$p]}: $THREADS threads, in a network namespace of its own as gtmxdp" ;;
        esac
    done
    fact dnsperf "$(dnsperf -h 2>&1 | sed -n 's/^Version /dnsperf /p'), one sender and one receiver thread (no -T); -t $DNSPERF_TIMEOUT${DNSPERF_OPTS:+, plus $DNSPERF_OPTS}"
    for m in "${RATE_LIST[@]}"; do
        if [ "${m%+pin}" = "$m" ]; then
            fact "mode $m" "$(mode_text "$m")"
        else
            fact "mode $m" "$(mode_text "$m"), dnsperf under taskset -c $PIN_DNSPERF_CPU, every server thread on CPU $PIN_SERVER_CPU"
        fi
    done
    fact zone "$ZONE, $ZONE_RRS records (bench/gen-zone.py $RECORDS plus ${#STATIC_NAMES[@]} static names)"
    fact "static queries" "$(awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}' "$QUERIES") — UDP, no EDNS unless DNSPERF_OPTS says so"
    if [ -n "$GEO_DIR" ]; then
        while IFS=$'\t' read -r k v; do fact "geo fixture: $k" "$v"; done <<<"$GEO_SUMMARY"
        fact "geo fixture: GeoIP" "$(du -k "$GEO_DIR/geo.mmdb" | cut -f1) KiB .mmdb written by tests/geoip/make-mmdb.pl (MaxMind::DB::Writer): City layout, IPv4 inside IPv6 with aliases"
        fact "geo and mix queries" "dnsperf -B (wire format, each query with its own EDNS Client Subnet option: IPv4 /24, IPv6 /56); the mix's static and NXDOMAIN queries carry no EDNS"
    fi
    for q in "${SET_LIST[@]}"; do
        fact "answers ($q)" "${ANSWERS_NOTE[$q]:-not compared}"
    done
    fact "all runs" "$RUNS_TSV"
} >"$META"
"${BENCHTOOL[@]}" report "$RUNS_TSV" --meta "$META" --out "$OUT"
say "results: $OUT (runs: $RUNS_TSV); load average before $LOAD_BEFORE, after $LOAD_AFTER"
