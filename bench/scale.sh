#!/usr/bin/env bash
# bench/scale.sh [options] — gtm-dnsd at production scale (issue 6: "Memory" and "Also
# measure"), in one run, each figure from the server's own log or /proc:
#   1. memory     resident size (VmRSS) of gtm-dnsd on an empty store and on a zone of
#                 RECORDS records (bench/gen-zone.py plus the static names): bytes per
#                 record; how long gtmctl takes to import that zone
#   2. compile    the first load ("loaded ... in N ms"), then reloads while dnsperf
#                 sends RELOAD_RATE qps of static queries for RELOAD_SECONDS: SIGHUP
#                 (forced), and edits with gtmctl (record add: timed from the command to
#                 the first answer that has the new record, under load; record rm);
#                 "compiled in N ms, swapped in M ms" for each, queries lost, peak RSS
#   3. health     the geo fixture of bench/peers.sh (regions, pool web, geo map, geo
#                 policies) added to the same store, gtm-dnsd with its .mmdb; while
#                 dnsperf sends FLIP_RATE qps of ECS queries for the managed names,
#                 FLIPS times: gtmctl drill fail eu-central, then drill restore; each
#                 timed from the command to the first changed answer (a prober asking
#                 every millisecond for a client that eu-central serves)
#   4. GeoIP      a GeoLite2-City-sized database (bench/mkcity.py: CITY_V4 + CITY_V6
#                 networks, CITY_LOCATIONS locations; a sample read back with
#                 mmdblookup, and with gtmctl explain), latency and proximity policies
#                 added beside the geo ones so all three classifier tries are built:
#                 gtm-dnsd's RSS with the big zone and the big database (and the
#                 database's own resident pages), its load time, a forced reload
#                 (classifier reused: same file, same inputs) and a reload after the
#                 file is replaced (classifier rebuilt): the difference is the
#                 classifier's build time
# Writes the figures and the exact commands to --out (bench/out/scale-DATE.md).
#
# Options (also as environment variables):
#   --records N      RECORDS         zone size (default 1000000)
#   --threads N      THREADS         gtm-dnsd --threads (default 2)
#   --city-mmdb F    CITY_MMDB       use this City-sized .mmdb instead of generating one
#   --skip-city                      leave out step 4
#   --out FILE       OUT
#   --quiet-wait S   QUIET_WAIT      wait up to S s for the load average to fall below
#                                    QUIET_LOAD (1.0) before the timed steps (default 0)
# More knobs: BUILDDIR (build/release), RELOAD_RATE (20000), RELOAD_SECONDS (60),
# FLIPS (5), FLIP_RATE (20000), CITY_V4 (2800000), CITY_V6 (700000), CITY_LOCATIONS
# (100000), PORT_BASE (15450), KEEP_TMP=1.
#
# Needs several GB of memory and disk in TMPDIR (the 1M-record store, the City-sized
# database). Every process it starts is stopped by PID on exit, every file lives in one
# mktemp directory that is removed, all traffic goes to 127.0.0.1, every dnsperf run is
# bounded (-l) and every wait has a timeout.

set -Eeuo pipefail
shopt -s inherit_errexit
BENCH_NAME=scale.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

RECORDS=${RECORDS:-1000000}
THREADS=${THREADS:-2}
CITY_MMDB=${CITY_MMDB:-}
SKIP_CITY=${SKIP_CITY:-0}
OUT=${OUT:-}
QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_LOAD=${QUIET_LOAD:-1.0}
RELOAD_RATE=${RELOAD_RATE:-20000}
RELOAD_SECONDS=${RELOAD_SECONDS:-60}
FLIPS=${FLIPS:-5}
FLIP_RATE=${FLIP_RATE:-20000}
CITY_V4=${CITY_V4:-2800000}
CITY_V6=${CITY_V6:-700000}
CITY_LOCATIONS=${CITY_LOCATIONS:-100000}
PORT_BASE=${PORT_BASE:-15450}
ARGS_GIVEN="$*"

while [ $# -gt 0 ]; do
    case $1 in
    --records) RECORDS=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    --city-mmdb) CITY_MMDB=$2; shift ;;
    --skip-city) SKIP_CITY=1 ;;
    --out) OUT=$2; shift ;;
    --quiet-wait) QUIET_WAIT=$2; shift ;;
    -h | --help) usage ;;
    *) printf 'scale.sh: unknown option %s\n\n' "$1" >&2; usage 2 ;;
    esac
    shift
done
for v in RECORDS THREADS QUIET_WAIT RELOAD_RATE RELOAD_SECONDS FLIPS FLIP_RATE CITY_V4 CITY_V6 \
    CITY_LOCATIONS PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$RECORDS" -ge 1000 ] || die "RECORDS: at least 1000"
[ "$RELOAD_SECONDS" -ge 20 ] && [ "$RELOAD_SECONDS" -le 600 ] || die "RELOAD_SECONDS: 20 to 600"
[ -z "$CITY_MMDB" ] || [ -r "$CITY_MMDB" ] || die "--city-mmdb $CITY_MMDB: not readable"

[ -x "$BUILDDIR/gtm-dnsd" ] && [ -x "$BUILDDIR/gtmctl" ] ||
    die "no gtm-dnsd/gtmctl in $BUILDDIR: build first or set BUILDDIR"
need dnsperf dnsperf
need perl libmaxmind-db-writer-perl "GeoIP fixtures"
[ "$SKIP_CITY" = 1 ] || need mmdblookup mmdb-bin "checking the City-sized database"
"$PYTHON" -c 'import dns.message' 2>/dev/null ||
    die "dnspython missing for $PYTHON: apt-get install python3-dnspython"

bench_init
GTM_COMMIT=$(gtm_commit)
STAMP=$(date +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT=$BENCH_TOP/bench/out/scale-$STAMP.md
mkdir -p "$(dirname "$OUT")"
GTMCTL=$BUILDDIR/gtmctl
REPORT=$BENCH_TMP/report.md
: >"$REPORT"
# fact LABEL TEXT: one line of the report (and of the output)
fact() {
    printf -- '- %s: %s\n' "$1" "$2" >>"$REPORT"
    say "$1: $2"
}
now_ms() { date +%s%3N; }
# kib PID FIELD: a /proc/PID/status figure (VmRSS, VmHWM, RssAnon, RssFile), in KiB
kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# mapped_kib PID PATH: resident KiB of PID's mappings of PATH (from smaps)
mapped_kib() {
    awk -v p="$2" '/^[0-9a-f]+-[0-9a-f]+ / { on = ($NF == p) } on && /^Rss:/ { s += $2 } END { print s + 0 }' \
        "/proc/$1/smaps"
}

# ---- gtm-dnsd ----------------------------------------------------------------------------

DNSD_PID=
DNSD_LOG=
DNSD_PORT=
# dnsd_start DIR [gtm-dnsd options]: gtm-dnsd on DIR/gtm.db; waits (at most 300 s) for
# its "ready" line and sets LOAD_MS from its "loaded ... in N ms" line.
dnsd_start() {
    local dir=$1 n=0
    shift
    pick_port "$PORT_BASE"
    DNSD_PORT=$PORT
    GTM_ARGS=("$@")
    start_gtm "$dir" "$DNSD_PORT" "$THREADS"
    DNSD_PID=$SERVER_PID DNSD_LOG=$SERVER_LOG
    while ! grep -q ' ready: ' "$DNSD_LOG"; do
        kill -0 "$DNSD_PID" 2>/dev/null || { cat "$DNSD_LOG" >&2; die "gtm-dnsd exited at start"; }
        n=$((n + 1))
        [ "$n" -lt 3000 ] || { tail "$DNSD_LOG" >&2; die "gtm-dnsd not ready after 300 s"; }
        sleep 0.1
    done
    LOAD_MS=$(sed -n 's/.* loaded .* in \([0-9]*\) ms$/\1/p' "$DNSD_LOG" | tail -1)
    LOADED_LINE=$(grep -m1 ' loaded ' "$DNSD_LOG" | sed 's/^.*info: //')
}
dnsd_stop() {
    [ -n "$DNSD_PID" ] || return 0
    kill -TERM "$DNSD_PID" 2>/dev/null || true
    wait "$DNSD_PID" 2>/dev/null || true
    DNSD_PID=
}
# wait_reload FROM_LINE [forced]: waits (at most 300 s) for a "reloaded generation"
# line after line FROM_LINE of the log; sets RELOAD_LINE, COMPILE_MS and SWAP_MS.
wait_reload() {
    local from=$1 want=${2:-} n=0 line
    while :; do
        line=$(tail -n +"$((from + 1))" "$DNSD_LOG" | grep " reloaded generation [0-9]*${want:+ (forced)}" | head -1 || true)
        [ -z "$line" ] || break
        n=$((n + 1))
        [ "$n" -lt 3000 ] || die "no reload in gtm-dnsd's log after 300 s"
        sleep 0.1
    done
    RELOAD_LINE=${line#*info: }
    COMPILE_MS=$(sed -n 's/.*compiled in \([0-9]*\) ms.*/\1/p' <<<"$line")
    SWAP_MS=$(sed -n 's/.*swapped in \([0-9]*\) ms.*/\1/p' <<<"$line")
}
log_lines() { wc -l <"$DNSD_LOG"; }
# settle_rss: a little traffic through every worker, then a moment's rest, so the
# figure is that of a serving process
settle_rss() {
    dnsperf -s 127.0.0.1 -p "$DNSD_PORT" -d "$QUERIES" -l 2 -Q 5000 >/dev/null 2>&1 || true
    sleep 1
}

# background_dnsperf NAME FILE RATE SECONDS [-B]: a bounded dnsperf in the background;
# sets BG_PID and BG_OUT.
background_dnsperf() {
    local name=$1 file=$2 rate=$3 secs=$4
    shift 4
    BG_OUT=$BENCH_TMP/$name.dnsperf
    start "dnsperf-$name" "$BG_OUT" dnsperf -s 127.0.0.1 -p "$DNSD_PORT" -d "$file" -l "$secs" \
        -c 20 -q 100 -t 2 -Q "$rate" "$@"
    BG_PID=$STARTED_PID
}
# background_wait: waits for it (its -l bounds it) and sets BG (key=value statistics).
declare -A BG
background_wait() {
    local k v
    wait "$BG_PID" || die "dnsperf failed: $(tail -3 "$BG_OUT")"
    BG=()
    while IFS='=' read -r k v; do BG[$k]=$v; done < <("${BENCHTOOL[@]}" parse-dnsperf "$BG_OUT")
}

# ---- 0: the zone and the fixture -------------------------------------------------------------

say "temp $BENCH_TMP; load average $(loadavg)"
ZONEFILE=$BENCH_TMP/$ZONE.zone
QUERIES=$BENCH_TMP/static.queries
make_static_queries "$QUERIES"
t0=$(now_ms)
make_zone "$ZONEFILE" "$((RECORDS - 2 * ${#STATIC_NAMES[@]} - 1))"
GEN_S=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
ZONE_RRS=$(grep -cE '^[^;$ ]' "$ZONEFILE" || true)
make_geo_fixture "$BENCH_TMP/geo" "$QUERIES" 4000 20000

if [ "$QUIET_WAIT" -gt 0 ]; then wait_quiet "$QUIET_WAIT" "$QUIET_LOAD" || true; fi
LOAD_BEFORE=$(loadavg)

{
    echo "## gtm-dnsd at scale (bench/scale.sh, $STAMP)"
    echo
} >>"$REPORT"
fact command "bench/scale.sh${ARGS_GIVEN:+ $ARGS_GIVEN} (RECORDS=$RECORDS THREADS=$THREADS RELOAD_RATE=$RELOAD_RATE RELOAD_SECONDS=$RELOAD_SECONDS FLIPS=$FLIPS FLIP_RATE=$FLIP_RATE BUILDDIR=$BUILDDIR)"
fact machine "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
fact gtm "commit $GTM_COMMIT when the run started; $(gtm_version) built $(gtm_built) in $BUILDDIR; --threads $THREADS"
fact "load average at start" "$LOAD_BEFORE"
fact zone "$ZONE, $ZONE_RRS records (bench/gen-zone.py, generated in $GEN_S s, plus ${#STATIC_NAMES[@]} static names), $(du -m "$ZONEFILE" | cut -f1) MB of zone file"

# ---- 1: memory ------------------------------------------------------------------------------

echo -e "\n### 1. Memory per record\n" >>"$REPORT"
mkdir -p "$BENCH_TMP/empty" "$BENCH_TMP/big"
"$GTMCTL" --db "$BENCH_TMP/empty/gtm.db" init >/dev/null
dnsd_start "$BENCH_TMP/empty"
settle_rss
RSS_EMPTY=$(kib "$DNSD_PID" VmRSS) ANON_EMPTY=$(kib "$DNSD_PID" RssAnon)
dnsd_stop
fact "empty store" "VmRSS $(mib "$RSS_EMPTY") MiB (RssAnon $(mib "$ANON_EMPTY") MiB); $LOADED_LINE"

t0=$(now_ms)
"$GTMCTL" --db "$BENCH_TMP/big/gtm.db" init >/dev/null
"$GTMCTL" --db "$BENCH_TMP/big/gtm.db" zone import "$ZONE" "$ZONEFILE" >"$BENCH_TMP/import.log" 2>&1 ||
    { cat "$BENCH_TMP/import.log" >&2; die "gtmctl zone import failed"; }
IMPORT_S=$(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
fact "import" "gtmctl init + zone import of $ZONE_RRS records: $IMPORT_S s (one transaction); store $(du -m "$BENCH_TMP/big/gtm.db" | cut -f1) MB — $(tail -1 "$BENCH_TMP/import.log")"

dnsd_start "$BENCH_TMP/big"
wait_ready gtm "$DNSD_PORT" "$DNSD_PID" "$DNSD_LOG"
LOAD_BIG_MS=$LOAD_MS
settle_rss
RSS_BIG=$(kib "$DNSD_PID" VmRSS) ANON_BIG=$(kib "$DNSD_PID" RssAnon) HWM_BIG=$(kib "$DNSD_PID" VmHWM)
BPR=$(awk -v a="$RSS_BIG" -v b="$RSS_EMPTY" -v n="$ZONE_RRS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
BPR_ANON=$(awk -v a="$ANON_BIG" -v b="$ANON_EMPTY" -v n="$ZONE_RRS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
fact "$ZONE_RRS records" "VmRSS $(mib "$RSS_BIG") MiB (RssAnon $(mib "$ANON_BIG") MiB, peak VmHWM $(mib "$HWM_BIG") MiB); $LOADED_LINE"
fact "bytes per record" "**$BPR** ((VmRSS with the zone - VmRSS empty) / records; $BPR_ANON counting anonymous memory only)"

# ---- 2: compile and reload under load ---------------------------------------------------------

echo -e "\n### 2. Compile and reload of $ZONE_RRS records under load\n" >>"$REPORT"
fact "first load" "$LOAD_BIG_MS ms (\"loaded ... in N ms\": read from SQLite and compile)"
background_dnsperf reload "$QUERIES" "$RELOAD_RATE" "$RELOAD_SECONDS"
say "reloads under $RELOAD_RATE qps for $RELOAD_SECONDS s"
sleep 3
RELOAD_T0=$SECONDS
i=0
RELOADS=()
while [ $((SECONDS - RELOAD_T0)) -lt $((RELOAD_SECONDS - 20)) ]; do
    i=$((i + 1))
    case $((i % 3)) in
    1)
        from=$(log_lines)
        kill -HUP "$DNSD_PID"
        wait_reload "$from" forced
        RELOADS+=("SIGHUP (forced): compiled in $COMPILE_MS ms, swapped in $SWAP_MS ms")
        ;;
    2)
        from=$(log_lines)
        out=$("${BENCHTOOL[@]}" flip "$DNSD_PORT" "reload-$i.$ZONE" --ecs 192.0.2.0/24 --before "" \
            --timeout 60 --interval 5 -- "$GTMCTL" --db "$BENCH_TMP/big/gtm.db" record add "$ZONE" \
            "reload-$i" A 300 192.0.2.200) || die "record add: the new record never answered"
        wait_reload "$from"
        RELOADS+=("gtmctl record add (an edit): compiled in $COMPILE_MS ms, swapped in $SWAP_MS ms; the new record answered $(sed -n 's/from_return_ms=//p' <<<"$out") ms after gtmctl returned")
        ;;
    0)
        from=$(log_lines)
        "$GTMCTL" --db "$BENCH_TMP/big/gtm.db" record rm "$ZONE" "reload-$((i - 1))" A >/dev/null
        wait_reload "$from"
        RELOADS+=("gtmctl record rm (an edit): compiled in $COMPILE_MS ms, swapped in $SWAP_MS ms")
        ;;
    esac
    say "reload $i: ${RELOADS[-1]}"
    sleep 2
done
background_wait
HWM_RELOAD=$(kib "$DNSD_PID" VmHWM)
for r in "${!RELOADS[@]}"; do fact "reload $((r + 1))" "${RELOADS[$r]}"; done
fact "queries during the reloads" "dnsperf -Q $RELOAD_RATE -l $RELOAD_SECONDS -c 20 -q 100 -t 2 (static names): sent ${BG[sent]}, completed ${BG[completed]}, **lost ${BG[lost]}**; ${BG[rcodes]}; latency avg ${BG[lat_avg_s]} s, max ${BG[lat_max_s]} s"
fact "peak RSS" "VmHWM $(mib "$HWM_RELOAD") MiB after the reloads (old and new snapshot side by side while queries drain)"

# ---- 3: health flips under load -----------------------------------------------------------------

echo -e "\n### 3. Health flip to changed answers, under load\n" >>"$REPORT"
dnsd_stop
gtm_apply_geo "$BENCH_TMP/big/gtm.db"
dnsd_start "$BENCH_TMP/big" --geoip "$GEO_DIR/geo.mmdb"
fact "store" "the $ZONE_RRS records plus bench/fixture.py's world (3 regions, pool web, $(grep -c '^geo map' "$GEO_DIR/gtmctl.cmds") geo map keys, geo policies on geo0..geo7) and its GeoIP database ($(head -1 "$GEO_DIR/summary.txt" | cut -f2)); $LOADED_LINE"
# a client eu-central serves: the first IPv4 query of the fixture it expects there
read -r FLIP_NAME FLIP_CLIENT < <(awk -F'\t' '$6 == "198.51.100.10" && $4 !~ /:/ { print $2, $4; exit }' "$GEO_DIR/geo.expect")
background_dnsperf flip "$GEO_DIR/geo.wire" "$FLIP_RATE" $((FLIPS * 4 + 10)) -B
sleep 2
FLIP_FAIL=() FLIP_RESTORE=()
for ((i = 1; i <= FLIPS; i++)); do
    out=$("${BENCHTOOL[@]}" flip "$DNSD_PORT" "$FLIP_NAME" --ecs "$FLIP_CLIENT" --before 198.51.100.10 \
        -- "$GTMCTL" --db "$BENCH_TMP/big/gtm.db" drill fail eu-central --reason bench) ||
        die "drill fail: the answer did not change"
    after=$(sed -n 's/answer_after=//p' <<<"$out")
    FLIP_FAIL+=("$(sed -n 's/from_return_ms=//p' <<<"$out")/$(sed -n 's/from_start_ms=//p' <<<"$out")")
    sleep 1
    out=$("${BENCHTOOL[@]}" flip "$DNSD_PORT" "$FLIP_NAME" --ecs "$FLIP_CLIENT" --before "$after" \
        -- "$GTMCTL" --db "$BENCH_TMP/big/gtm.db" drill restore eu-central) ||
        die "drill restore: the answer did not change back"
    FLIP_RESTORE+=("$(sed -n 's/from_return_ms=//p' <<<"$out")/$(sed -n 's/from_start_ms=//p' <<<"$out")")
    say "flip $i: down ${FLIP_FAIL[-1]} ms, up again ${FLIP_RESTORE[-1]} ms (from gtmctl's return / start)"
    sleep 1
done
background_wait
med() { tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
firsts() { for x in "$@"; do echo "${x%/*}"; done | paste -sd' '; }
fact "client" "$FLIP_NAME A with ECS $FLIP_CLIENT (eu-central; the map's next region answers while it is down); the prober asks every ~1 ms"
fact "drill fail eu-central" "answers changed $(firsts "${FLIP_FAIL[@]}") ms after gtmctl returned (median **$(firsts "${FLIP_FAIL[@]}" | med) ms**; from gtmctl's start: $(for x in "${FLIP_FAIL[@]}"; do echo "${x#*/}"; done | paste -sd' ') ms)"
fact "drill restore eu-central" "answers changed back $(firsts "${FLIP_RESTORE[@]}") ms after gtmctl returned (median **$(firsts "${FLIP_RESTORE[@]}" | med) ms**; from gtmctl's start: $(for x in "${FLIP_RESTORE[@]}"; do echo "${x#*/}"; done | paste -sd' ') ms)"
fact "load meanwhile" "dnsperf -B geo queries with ECS, -Q $FLIP_RATE: sent ${BG[sent]}, completed ${BG[completed]}, lost ${BG[lost]}"
fact "recompiles" "$(grep -c 'reloaded generation' "$DNSD_LOG" || true) snapshot recompiles during the flips (health is applied in place: 0 expected)"

# ---- 4: a GeoLite2-City-sized database ------------------------------------------------------------

if [ "$SKIP_CITY" = 0 ]; then
    echo -e "\n### 4. A GeoLite2-City-sized database with the big zone\n" >>"$REPORT"
    dnsd_stop
    if [ -z "$CITY_MMDB" ]; then
        CITY_MMDB=$BENCH_TMP/city.mmdb
        say "generating a GeoLite2-City-sized database (bench/mkcity.py, a few minutes)"
        t0=$(now_ms)
        "$PYTHON" "$BENCH_TOP/bench/mkcity.py" "$CITY_MMDB" --v4 "$CITY_V4" --v6 "$CITY_V6" \
            --locations "$CITY_LOCATIONS" --check 300 2>"$BENCH_TMP/mkcity.log" ||
            { cat "$BENCH_TMP/mkcity.log" >&2; die "bench/mkcity.py failed"; }
        fact "database" "bench/mkcity.py --v4 $CITY_V4 --v6 $CITY_V6 --locations $CITY_LOCATIONS: $(awk -v a="$t0" -v b="$(now_ms)" 'BEGIN { printf "%.0f", (b - a) / 1000 }') s; $(grep -E 'data section|search tree' "$BENCH_TMP/mkcity.log" | sed 's/^mkcity: *[0-9.]* s *//' | paste -sd';' | sed 's/;/; /g')"
    else
        cp "$CITY_MMDB" "$BENCH_TMP/city.mmdb"
        [ ! -r "$CITY_MMDB.check" ] || cp "$CITY_MMDB.check" "$BENCH_TMP/city.mmdb.check"
        CITY_MMDB=$BENCH_TMP/city.mmdb
        fact "database" "given with --city-mmdb"
    fi
    meta=$(mmdblookup --file "$CITY_MMDB" --verbose --ip 1.1.1.1 2>/dev/null |
        grep -E 'Node count|Record size|Type:' | sed 's/^ *//' | paste -sd';' | sed 's/;/; /g' || true)
    fact "database size" "$(du -m "$CITY_MMDB" | cut -f1) MB; $meta"
    if [ -r "$CITY_MMDB.check" ]; then
        if ! v=$("$PYTHON" "$BENCH_TOP/bench/mkcity.py" --verify "$CITY_MMDB" 2>"$BENCH_TMP/verify.log"); then
            cat "$BENCH_TMP/verify.log" >&2
            die "the City-sized database does not read back as written: $v"
        fi
        fact "read back (libmaxminddb)" "$v"
        ok=0 n=0
        # gtm-dnsd and explain use at most /24 of an IPv4 client and /56 of an IPv6 one
        # (as ECS from resolvers): addresses in networks no longer than that
        while IFS=$'\t' read -r ip c _cont _sub _city _lat _lon net; do
            [ "$c" != - ] || continue
            if [[ $ip == *:* ]]; then [ "${net#*/}" -le 56 ] || continue; else [ "${net#*/}" -le 24 ] || continue; fi
            n=$((n + 1))
            ex=$("$GTMCTL" --db "$BENCH_TMP/big/gtm.db" explain "geo0.$ZONE" --client "$ip" --geoip "$CITY_MMDB")
            if grep -q "^location: country $c" <<<"$ex"; then ok=$((ok + 1)); fi
            [ "$n" -lt 20 ] || break
        done <"$CITY_MMDB.check"
        fact "read back (gtm)" "gtmctl explain places $ok of $n sampled addresses (in networks of at most /24, /56) in the country written"
    fi
    # latency and proximity policies beside the geo ones: all three classifier tries
    for c in "region list" "latency set DE eu-central 12" "latency set FR eu-central 15" \
        "latency set US us-east 20" "latency set US-CA ap-southeast 60" "latency set JP ap-southeast 30" \
        "latency set IN ap-southeast 45" "latency set 8.0.0.0/8 us-east 5" \
        "policy set lat0.$ZONE --pool web --mode latency" "policy set prox0.$ZONE --pool web --mode proximity"; do
        read -ra args <<<"$c"
        "$GTMCTL" --db "$BENCH_TMP/big/gtm.db" "${args[@]}" >>"$BENCH_TMP/gtmctl.log" 2>&1 || die "gtmctl $c failed"
    done
    dnsd_start "$BENCH_TMP/big" --geoip "$CITY_MMDB"
    LOAD_CITY_MS=$LOAD_MS
    settle_rss
    RSS_CITY=$(kib "$DNSD_PID" VmRSS) ANON_CITY=$(kib "$DNSD_PID" RssAnon) FILE_CITY=$(kib "$DNSD_PID" RssFile)
    MMDB_RES=$(mapped_kib "$DNSD_PID" "$CITY_MMDB")
    fact "policies" "geo0..geo7 (geo), lat0 (latency, 7 measurements), prox0 (proximity): three classifier tries over the whole database"
    fact "resident size" "**VmRSS $(mib "$RSS_CITY") MiB** with $ZONE_RRS records and the database: RssAnon $(mib "$ANON_CITY") MiB (snapshot, classifier tries), RssFile $(mib "$FILE_CITY") MiB, of which the .mmdb's mapping $(mib "$MMDB_RES") MiB"
    fact "load" "$LOAD_CITY_MS ms ($LOADED_LINE): GeoIP open, store read, zone compiled, three tries built"
    from=$(log_lines)
    kill -HUP "$DNSD_PID"
    wait_reload "$from" forced
    CACHED_MS=$COMPILE_MS
    fact "forced reload, classifier reused" "compiled in $CACHED_MS ms, swapped in $SWAP_MS ms"
    from=$(log_lines)
    cp "$CITY_MMDB" "$CITY_MMDB.new" && mv "$CITY_MMDB.new" "$CITY_MMDB" # a new file: rebuilt
    wait_reload "$from" forced
    fact "reload after the .mmdb was replaced" "compiled in $COMPILE_MS ms, swapped in $SWAP_MS ms"
    fact "classifier build time" "**$((COMPILE_MS - CACHED_MS)) ms** for the three tries (reload with a new file - reload with the same file); at start-up $((LOAD_CITY_MS - CACHED_MS)) ms more than a cached reload (also opening the database, first reads)"
    sleep 1
    fact "after the reloads" "VmRSS $(mib "$(kib "$DNSD_PID" VmRSS)") MiB, peak VmHWM $(mib "$(kib "$DNSD_PID" VmHWM)") MiB"
fi
dnsd_stop
fact "load average at the end" "$(loadavg)"
cp "$REPORT" "$OUT"
say "results: $OUT"
cat "$OUT"
