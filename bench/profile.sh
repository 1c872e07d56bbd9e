#!/usr/bin/env bash
# bench/profile.sh [options] — where gtm-dnsd's time per query goes, for bench/RESULTS.md
# when a target of issue 6 is not met. Builds the same zone, store and geo fixture as
# bench/peers.sh, then:
#   1. callgrind   gtm-dnsd (and gdnsd: CG_SERVERS, empty for none) under valgrind --tool=callgrind
#                  (one worker thread), instrumented only while dnsperf sends every
#                  query of the SET's file once (-n 1, at a low bounded rate):
#                  instructions per query, and per function, from callgrind_annotate. Callgrind counts
#                  instructions in user space, independent of the machine's load; the
#                  kernel's share (sockets, loopback) is not in it.
#   2. perf        for each of SERVERS (gtm-dnsd, bench/floor, gdnsd; gtmxdp and floorxdp
#                  with AF_XDP in a network namespace of their own, as in bench/peers.sh)
#                  natively, at saturation or at --rate: perf record -e cpu-clock (a
#                  software event: no hardware counters here) on the server's threads
#                  while dnsperf runs; the share of samples in the kernel, in the server's
#                  own code and in each library, the share spent going to sleep and being
#                  woken (the scheduler) and waking dnsperf (the reply's arrival at its
#                  socket), the wake-ups per answer, and gtm-dnsd's top symbols.
# Output: bench/out/profile-SET-DATE.md.
#
# Options (also as environment variables):
#   --set SET        SET        static, geo or mix (default geo)
#   --servers LIST   SERVERS    for perf (default "gtm floor gdnsd"; also gtmxdp and
#                               floorxdp, root)
#   --rate QPS       RATE       perf at this offered rate (dnsperf -Q) instead of at
#                               saturation (default 0: saturation)
#   --seconds S      SECONDS    perf's sampling time per server (default 8)
#   --out FILE       OUT
# More: BUILDDIR (build/release), THREADS (2, for perf), RECORDS (5000), CG_RATE (2000
# qps offered under callgrind), KEEP_TMP=1. Every process is stopped by PID on exit, all
# files live in one mktemp directory, traffic stays on 127.0.0.1, every run is bounded.

set -Eeuo pipefail
shopt -s inherit_errexit
BENCH_NAME=profile.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

SET=${SET:-geo}
SERVERS=${SERVERS:-gtm floor gdnsd}
CG_SERVERS=${CG_SERVERS-gtm gdnsd}
DURATION=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^SECONDS=//p' | tail -1)
DURATION=${DURATION:-8}
OUT=${OUT:-}
THREADS=${THREADS:-2}
RECORDS=${RECORDS:-5000}
CG_RATE=${CG_RATE:-2000}
PORT_BASE=${PORT_BASE:-15550}
RATE=${RATE:-0}
ARGS_GIVEN="$*"
while [ $# -gt 0 ]; do
    case $1 in
    --set) SET=$2; shift ;;
    --servers) SERVERS=$2; shift ;;
    --seconds) DURATION=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h | --help) usage ;;
    *) printf 'profile.sh: unknown option %s\n\n' "$1" >&2; usage 2 ;;
    esac
    shift
done
[[ $SET =~ ^(static|geo|mix)$ ]] || die "--set: static, geo or mix"
[[ $RATE =~ ^[0-9]+$ ]] || die "--rate: queries a second, 0 for saturation"
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 2 ] && [ "$DURATION" -le 120 ] || die "--seconds: 2 to 120"
need valgrind valgrind
need callgrind_annotate valgrind
need perf "linux-perf"
need dnsperf dnsperf
[ -x "$BUILDDIR/gtm-dnsd" ] || die "no gtm-dnsd in $BUILDDIR"

bench_init
STAMP=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT=$BENCH_TOP/bench/out/profile-$SET-$STAMP.md
mkdir -p "$(dirname "$OUT")"
REPORT=$BENCH_TMP/report.md

ZONEFILE=$BENCH_TMP/$ZONE.zone
QUERIES=$BENCH_TMP/static.queries
make_zone "$ZONEFILE" "$RECORDS"
make_static_queries "$QUERIES"
make_geo_fixture "$BENCH_TMP/geo" "$QUERIES" 4000 20000
case $SET in
static) QFILE=$QUERIES QARGS=() NQ=$(wc -l <"$QUERIES") ;;
*) QFILE=$GEO_DIR/$SET.wire QARGS=(-B) NQ=$(wc -l <"$GEO_DIR/$SET.expect") ;;
esac
mkdir -p "$BENCH_TMP/gtm"
make_gtm_store "$BENCH_TMP/gtm/gtm.db" "$ZONEFILE"
gtm_apply_geo "$BENCH_TMP/gtm/gtm.db"

{
    echo "## Where the time goes: gtm-dnsd, $SET queries (bench/profile.sh, $STAMP)"
    echo
    echo "- command: bench/profile.sh${ARGS_GIVEN:+ $ARGS_GIVEN} (BUILDDIR=$BUILDDIR)"
    echo "- gtm: commit $(gtm_commit) when the run started; $(gtm_version) built $(gtm_built) in $BUILDDIR"
    echo "- machine: $(nproc) CPUs, Linux $(uname -r); load average at start $(loadavg)"
    echo "- queries: $NQ of the $SET set ($QFILE)"
    echo
} >"$REPORT"

# ---- 1: callgrind ------------------------------------------------------------------------------

# gdnsd_conf DIR PORT THREADS: gdnsd's config for the zone and the geo fixture in DIR/etc.
gdnsd_conf() {
    local d=$1 port=$2 threads=$3
    mkdir -p "$d/etc/zones" "$d/run" "$d/state"
    cat "$ZONEFILE" "$GEO_DIR/gdnsd.dyna" >"$d/etc/zones/$ZONE"
    printf 'options => {\n listen => [ "127.0.0.1:%s" ]\n udp_threads => %s\n tcp_threads => 1\n run_dir => "%s/run"\n state_dir => "%s/state"\n}\n' \
        "$port" "$threads" "$d" "$d" >"$d/etc/config"
    cat "$GEO_DIR/gdnsd.plugins" >>"$d/etc/config"
}

# fn_table FILE LIMIT N: the functions of a callgrind_annotate listing, with their path
# shortened to the file name, merged when listed twice (inlined code), per query.
fn_table() {
    awk -v lim="$2" -v n="$3" '
        /^-+$/ { d++; next }
        d >= 3 && NF >= 2 && $1 ~ /^[0-9,]+$/ && $0 !~ /PROGRAM TOTALS/ {
            ir = $1; gsub(",", "", ir)
            fn = $0; sub(/^ *[0-9,]+ *(\([^)]*\))? */, "", fn)
            obj = ""
            if (match(fn, / \[[^]]*\]$/)) { obj = substr(fn, RSTART + 2, RLENGTH - 3); fn = substr(fn, 1, RSTART - 1) }
            sub(/.*\//, "", obj)
            file = fn; sub(/:.*/, "", file); sub(/.*\//, "", file); sub(/^[^:]*:/, "", fn)
            if (file == "???") file = obj
            key = file ":" fn
            if (key in seen) next
            seen[key] = 1
            printf "| %.0f | `%s` (%s) |\n", ir / n, fn, file
            if (++k == lim) exit
        }' "$1"
}

# callgrind NAME COMMAND...: runs the server COMMAND (listening on CG_PORT) under
# callgrind, instruments only while dnsperf sends the set's queries once, and appends
# its tables to the report.
callgrind() {
    local name=$1 pid out=$BENCH_TMP/$1.callgrind completed total
    shift
    say "callgrind: $name under valgrind, $NQ $SET queries at $CG_RATE qps"
    start "$name-callgrind" "$BENCH_TMP/$name.valgrind.log" valgrind --tool=callgrind \
        --instr-atstart=no --callgrind-out-file="$out" "$@"
    pid=$STARTED_PID
    if ! "${BENCHTOOL[@]}" wait-answer "$CG_PORT" "www.$ZONE" A 120 --pid "$pid"; then
        tail -20 "$BENCH_TMP/$name.valgrind.log" >&2
        die "$name under valgrind did not answer"
    fi
    callgrind_control -i on "$pid" >/dev/null 2>&1
    dnsperf -s 127.0.0.1 -p "$CG_PORT" -d "$QFILE" "${QARGS[@]+"${QARGS[@]}"}" -n 1 -l 120 \
        -Q "$CG_RATE" -c 4 -q 50 -t 5 >"$BENCH_TMP/$name.cg.dnsperf" 2>&1 ||
        die "dnsperf under callgrind failed"
    callgrind_control -i off "$pid" >/dev/null 2>&1
    kill -TERM "$pid"
    wait "$pid" || true
    completed=$("${BENCHTOOL[@]}" parse-dnsperf "$BENCH_TMP/$name.cg.dnsperf" | sed -n 's/^completed=//p')
    # one file per thread or process part when several: callgrind_annotate sums them
    callgrind_annotate --inclusive=no --threshold=99 "$out"* >"$BENCH_TMP/$name.cg.self" 2>/dev/null
    callgrind_annotate --inclusive=yes --threshold=99 "$out"* >"$BENCH_TMP/$name.cg.incl" 2>/dev/null
    total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$BENCH_TMP/$name.cg.self")
    CG_PER_QUERY[$name]=$(awk -v t="$total" -v n="$completed" 'BEGIN { printf "%.0f", t / n }')
    {
        echo "#### $name: **${CG_PER_QUERY[$name]} instructions per query**"
        echo
        echo "$completed queries answered while instrumented, $total instructions in all (user space)."
        echo
        echo "| Ir per query (self) | function (file) |"
        echo "|---:|---|"
        fn_table "$BENCH_TMP/$name.cg.self" 25 "$completed"
        echo
        echo "<details><summary>inclusive (a function and what it calls)</summary>"
        echo
        echo "| Ir per query (incl.) | function (file) |"
        echo "|---:|---|"
        fn_table "$BENCH_TMP/$name.cg.incl" 20 "$completed"
        echo
        echo "</details>"
        echo
    } >>"$REPORT"
}

[ -z "$CG_SERVERS" ] || {
    echo "### 1. Instructions per query (callgrind)"
    echo
    echo "Each server under valgrind --tool=callgrind with one worker thread, instrumented only while dnsperf sent each of the $NQ queries once (-n 1 -Q $CG_RATE -c 4 -q 50). Callgrind counts the instructions the process runs in user space (receiving and sending in batches, parsing, lookup, policy, answer); the kernel's work (sockets, loopback) is not in it, and the counts do not depend on the machine's load."
    echo
} >>"$REPORT"
declare -A CG_PER_QUERY
pick_port "$PORT_BASE"
CG_PORT=$PORT
for s in $CG_SERVERS; do
    case $s in
    gtm)
        callgrind gtm "$BUILDDIR/gtm-dnsd" --db "$BENCH_TMP/gtm/gtm.db" --listen "127.0.0.1:$CG_PORT" \
            --threads 1 --foreground --geoip "$GEO_DIR/geo.mmdb"
        ;;
    gdnsd)
        gdnsd_conf "$BENCH_TMP/gdnsd-cg" "$CG_PORT" 1
        callgrind gdnsd gdnsd -c "$BENCH_TMP/gdnsd-cg/etc" start
        ;;
    *) die "CG_SERVERS: gtm, gdnsd" ;;
    esac
done

# ---- 2: perf -----------------------------------------------------------------------------------

if [ "$RATE" = 0 ]; then
    LOAD="at saturation" RATE_ARGS=()
else
    LOAD="at $RATE queries a second (dnsperf -Q $RATE)" RATE_ARGS=(-Q "$RATE")
fi
{
    echo "### 2. Where the CPU time goes $LOAD (perf record -e cpu-clock)"
    echo
    echo "Each server natively with $THREADS threads, dnsperf -c 20 -q 100 ${RATE_ARGS[*]} for $((DURATION + 2)) s, perf sampling the server's threads for $DURATION s (-F 2000, software clock; with call graphs). Shares of the server's samples: by where the code lives; then, across it, inclusive of what they call, the scheduler (\`__schedule\`: going to sleep until a query comes, and being woken) and the waking of dnsperf (\`sock_def_readable\`: a reply reaching dnsperf's socket wakes its thread, in the server's system call on loopback). Wake-ups: the voluntary context switches of the server's threads (/proc) per 100 answers."
    echo
    echo "| server | samples | kernel | server's own code | libc | libuv | others | in the scheduler | waking dnsperf | wake-ups per 100 answers | qps during | µs/query (CPU from /proc) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >>"$REPORT"
GTM_TOPS=()
for s in $SERVERS; do
    pick_port "$PORT_BASE"
    port=$PORT
    mkdir -p "$BENCH_TMP/$s"
    case $s in
    gtm | gtmxdp)
        GTM_ARGS=(--geoip "$GEO_DIR/geo.mmdb")
        if [ "$s" = gtmxdp ]; then
            need_netns "$s"
            own_netns "$s" "$BENCH_TMP/$s"
            GTM_ARGS+=(--xdp lo)
        fi
        start_gtm "$BENCH_TMP/gtm" "$port" "$THREADS"
        own=gtm-dnsd
        ;;
    floor | floorxdp)
        need_floor
        XDP_ARG=()
        if [ "$s" = floorxdp ]; then
            need_netns "$s"
            own_netns "$s" "$BENCH_TMP/$s"
            XDP_ARG=(xdp:lo)
        fi
        SERVER_LOG=$BENCH_TMP/$s/floor.log
        start "$s" "$SERVER_LOG" "${NSPFX[@]+"${NSPFX[@]}"}" "$BUILDDIR/bench/floor" 127.0.0.1 \
            "$port" "$THREADS" "${XDP_ARG[@]+"${XDP_ARG[@]}"}"
        SERVER_PID=$STARTED_PID
        own=floor
        ;;
    gdnsd)
        need gdnsd gdnsd
        d=$BENCH_TMP/$s
        gdnsd_conf "$d" "$port" "$THREADS"
        SERVER_LOG=$d/gdnsd.log
        start gdnsd "$SERVER_LOG" gdnsd -c "$d/etc" start
        SERVER_PID=$STARTED_PID
        own=gdnsd
        ;;
    *) die "--servers: gtm, gtmxdp, floor, floorxdp, gdnsd" ;;
    esac
    pid=$SERVER_PID
    wait_ready "$s" "$port" "$pid" "$SERVER_LOG"
    measure_dnsperf "$pid" "$BENCH_TMP/$s-warm" 20 "${NSPFX[@]+"${NSPFX[@]}"}" dnsperf \
        -s 127.0.0.1 -p "$port" -d "$QFILE" "${QARGS[@]+"${QARGS[@]}"}" -l 1 -c 20 -q 100
    # every CPU sampled (-a), the server's samples picked out after: events of its own
    # would be switched at each of its context switches, which adds to a wake-up's cost
    start "perf-$s" "$BENCH_TMP/$s.perf.log" perf record -a -e cpu-clock -F 2000 -g \
        -o "$BENCH_TMP/$s.perf.data" -- sleep "$DURATION"
    perf_pid=$STARTED_PID
    measure_dnsperf "$pid" "$BENCH_TMP/$s-run" $((DURATION + 30)) "${NSPFX[@]+"${NSPFX[@]}"}" \
        dnsperf -s 127.0.0.1 -p "$port" -d "$QFILE" "${QARGS[@]+"${QARGS[@]}"}" \
        -l $((DURATION + 2)) -c 20 -q 100 "${RATE_ARGS[@]+"${RATE_ARGS[@]}"}"
    wait "$perf_pid" || die "perf record failed: $(tail -3 "$BENCH_TMP/$s.perf.log")"
    # The server's samples among all: perf report's own --pid/--tid filters drop the
    # kernel's samples of a -a recording, so rows are sorted by thread and picked here.
    tids=$(cd "/proc/$pid/task" && echo *)
    report() {
        perf report -i "$BENCH_TMP/$s.perf.data" --stdio -g none "$@" 2>/dev/null |
            grep -E '^ +[0-9.]+%' || true
    }
    # rows "TOTAL% ... TID:comm REST..." of the server's threads -> "SHARE% REST" (summed
    # per REST, as a share of the server's samples); $1: the column holding the share
    # (1: self with --no-children, or children with --children), total from self ($2)
    server_rows() {
        awk -v tids="$tids" -v col="$1" -v selfcol="$2" '
            BEGIN { n = split(tids, a, " "); for (i = 1; i <= n; i++) mine[a[i]] = 1 }
            { for (i = 1; i <= NF && $i !~ /^[0-9]+:/; i++) ; split($i, p, ":")
              if (!(p[1] in mine)) next
              rest = ""; for (j = i + 1; j <= NF; j++) rest = rest (j > i + 1 ? " " : "") $j
              v = $col; w = $selfcol; sub("%", "", v); sub("%", "", w)
              total += w; sum[rest] += v }
            END { for (k in sum) if (total > 0) printf "%.2f%% %s\n", 100 * sum[k] / total, k }' |
            sort -rn
    }
    report --no-children --sort pid,dso | server_rows 1 1 >"$BENCH_TMP/$s.dso"
    samples=$(perf script -i "$BENCH_TMP/$s.perf.data" -F tid 2>/dev/null |
        awk -v tids="$tids" 'BEGIN { n = split(tids, a, " "); for (i = 1; i <= n; i++) mine[a[i]] = 1 }
            $1 in mine { k++ } END { print k + 0 }')
    share() { awk -v pat="$1" '$2 ~ pat { gsub("%", "", $1); s += $1 } END { printf "%.1f%%", s }' "$BENCH_TMP/$s.dso"; }
    kernel=$(share '^[[]kernel')
    mine=$(share "^$own\$")
    libc=$(share '^libc')
    libuv=$(share '^libuv')
    others=$(awk -v own="$own" '$2 !~ /^\[kernel/ && $2 != own && $2 !~ /^libc/ && $2 !~ /^libuv/ { gsub("%", "", $1); s += $1 } END { printf "%.1f%%", s }' "$BENCH_TMP/$s.dso")
    # inclusive shares (what the function and its callees took) of two kernel functions
    report --children --sort pid,sym | server_rows 1 2 >"$BENCH_TMP/$s.incl"
    incl() { awk -v f="[k] $1" '!found && substr($0, index($0, " ") + 1) == f { print $1; found = 1 }' "$BENCH_TMP/$s.incl"; }
    sched=$(incl __schedule)
    waking=$(incl sock_def_readable)
    wakes=$(awk -v w="${RUN[server_wakeups]}" -v n="${RUN[completed]}" 'BEGIN { if (n > 0) printf "%.1f", 100 * w / n; else print "–" }')
    echo "| $s | $samples | $kernel | $mine | $libc | $libuv | $others | ${sched:-0%} | ${waking:-0%} | $wakes | $(printf '%.0f' "${RUN[qps]}") | ${RUN[us_per_query]} |" >>"$REPORT"
    if [ "$own" = gtm-dnsd ]; then
        GTM_TOPS+=("$s")
        report --no-children --sort pid,dso,sym | server_rows 1 1 | head -30 >"$BENCH_TMP/$s.top"
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    NSPFX=()
done
for s in "${GTM_TOPS[@]+"${GTM_TOPS[@]}"}"; do
    {
        echo
        echo "gtm-dnsd's top 30 symbols as $s (self, share of its samples):"
        echo
        echo '```'
        cat "$BENCH_TMP/$s.top"
        echo '```'
    } >>"$REPORT"
done
echo >>"$REPORT"
echo "- load average at the end: $(loadavg)" >>"$REPORT"
cp "$REPORT" "$OUT"
cat "$OUT"
say "results: $OUT"
