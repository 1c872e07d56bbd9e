#!/usr/bin/env bash
# gtm.sh — the quick start: "./gtm.sh demo" and "./gtm.sh test" on Debian 12.
# Both install the Debian packages that are missing, then build with autotools.
#   demo   build, create a demo store from zones/, and run it on loopback
#   test   build twice (plain, and with ASan+UBSan), run every test against both,
#          and end with a line "N passed, M failed"
#   build  only build (into build/release)
#   bench [NAME [options]]  build (with bench/floor) and run bench/NAME.sh (default run)
set -euo pipefail
cd "$(dirname "$0")"
TOP=$PWD
JOBS=2

# Build tools and libraries; the test tools (pytest, dnspython, dnsperf, the peer
# servers and resolvers we run against, MaxMind's writer for GeoIP fixtures, systemd and
# man-db for checking the installed units, clang and its libFuzzer for the query fuzzer).
BUILD_PACKAGES=(build-essential autoconf automake pkg-config
    libldns-dev libuv1-dev libsqlite3-dev libmaxminddb-dev libcurl4-openssl-dev libcmocka-dev
    libssl-dev libxdp-dev libbpf-dev)
TEST_PACKAGES=(python3 python3-pytest python3-pytest-xdist python3-dnspython ldnsutils
    dnsperf knot nsd gdnsd unbound bind9 pdns-recursor libmaxmind-db-writer-perl sqlite3
    systemd man-db clang libclang-rt-14-dev iproute2)
# Peer servers and resolvers we install only to run them ourselves on test ports: keep
# their system services from starting (and binding port 53) when they are installed
# (package, or package=service).
PEER_SERVICES=(knot nsd gdnsd unbound bind9=named pdns-recursor)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'gtm.sh: %s\n' "$*" >&2; exit 1; }

install_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]}; run as root, or: sudo apt-get install -y ${missing[*]}"
    say "installing ${missing[*]}"
    # policy-rc.d 101: Debian's maintainer scripts do not start the services now.
    local policy=/usr/sbin/policy-rc.d had_policy=no
    [ -e "$policy" ] && had_policy=yes && mv "$policy" "$policy.gtm-saved"
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
    local rc=0
    { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } ||
        rc=$?
    rm -f "$policy"
    [ "$had_policy" = yes ] && mv "$policy.gtm-saved" "$policy"
    [ $rc -eq 0 ] || die "apt-get install failed (exit $rc)"
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        for p in "${PEER_SERVICES[@]}"; do
            [[ " ${missing[*]} " == *" ${p%%=*} "* ]] && systemctl disable -q "${p#*=}" 2>/dev/null || true
        done
    fi
}

# build NAME [configure options...]: an out-of-tree build in build/NAME.
build() {
    local name=$1; shift
    if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
        say "autoreconf"
        autoreconf -fi >/dev/null
    fi
    mkdir -p "build/$name"
    local want="$*"
    if [ ! -f "build/$name/Makefile" ] || [ "$(cat "build/$name/.gtm-configure" 2>/dev/null)" != "$want" ] ||
        [ configure -nt "build/$name/Makefile" ]; then
        say "configure ($name): $want"
        (cd "build/$name" && "$TOP/configure" -q "$@") || die "configure failed (build/$name/config.log)"
        echo "$want" > "build/$name/.gtm-configure"
    fi
    say "make ($name)"
    make -s -C "build/$name" -j"$JOBS" >/dev/null || die "build failed in build/$name"
}

cmd_build() {
    install_packages "${BUILD_PACKAGES[@]}"
    build release --enable-developer CFLAGS="-O2 -g"
}

# ---- test ------------------------------------------------------------------------------

PASSED=0
FAILED=0
FAILURES=()

count() { # count PASSED FAILED LABEL
    PASSED=$((PASSED + $1))
    FAILED=$((FAILED + $2))
    [ "$2" -eq 0 ] || FAILURES+=("$3")
}

# Unit tests: make check, counting TAP results from the .trs files.
run_unit() {
    local name=$1 dir=build/$1 p f
    make -s -C "$dir" -j"$JOBS" check >/dev/null 2>&1 || true
    p=$(cat "$dir"/tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
    f=$(cat "$dir"/tests/unit/*.trs 2>/dev/null | grep -Ec '^:test-result: (FAIL|ERROR|XPASS)' || true)
    [ -n "$(ls "$dir"/tests/unit/*.trs 2>/dev/null)" ] || f=1
    say "unit tests ($name): $p passed, $f failed"
    [ "$f" -eq 0 ] || grep -h -B2 -A20 -E '^(not ok|# )' "$dir"/tests/unit/*.log | head -60 >&2 || true
    count "$p" "$f" "unit tests ($name): see $dir/test-suite.log"
}

# System tests: pytest against the daemons and tools of one build.
run_system() {
    local name=$1 dir=$TOP/build/$1 xml=$TOP/build/$1/pytest.xml p f
    rm -f "$xml"
    GTM_BUILDDIR=$dir GTM_SRCDIR=$TOP /usr/bin/python3 -m pytest -q -n "$JOBS" -p no:cacheprovider \
        --junitxml="$xml" tests/system >&2 || true
    read -r p f < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skip = sum(int(s.get("skipped", 0)) for s in suites)
print(t - bad - skip, bad)
PY
)
    say "system tests ($name): $p passed, $f failed"
    count "$p" "$f" "system tests ($name): see $xml"
}

# The query fuzzer (tests/fuzz): a bounded run from real queries; a crash, a sanitizer
# report or a malformed answer fails it (the input is kept in build/fuzz/run/).
FUZZ_SECONDS=60
run_fuzz() {
    local dir=$TOP/build/fuzz out=$TOP/build/fuzz/run
    say "query fuzzer ($FUZZ_SECONDS s)"
    rm -rf "$out" && mkdir -p "$out/corpus"
    if tests/fuzz/build.sh "$dir" >"$out/log" 2>&1 &&
        /usr/bin/python3 tests/fuzz/make-seeds.py "$dir/gtmctl" "$out/seeds" >>"$out/log" 2>&1 &&
        "$dir/fuzz_query" -max_len=4096 -max_total_time="$FUZZ_SECONDS" -dict=tests/fuzz/dns.dict \
            -artifact_prefix="$out/" "$out/corpus" "$out/seeds" >>"$out/log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units)' "$out/log" | tail -1 >&2 || true
        count 1 0 ""
    else
        tail -40 "$out/log" >&2
        count 0 1 "query fuzzer: see $out/log"
    fi
}

run_distcheck() {
    say "make distcheck"
    if make -s -C build/release -j"$JOBS" distcheck >build/release/distcheck.log 2>&1; then
        count 1 0 ""
    else
        tail -30 build/release/distcheck.log >&2
        count 0 1 "make distcheck: see build/release/distcheck.log"
    fi
}

cmd_test() {
    install_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build release --enable-developer CFLAGS="-O2 -g"
    build asan --enable-developer --enable-sanitizers CFLAGS="-O1 -g"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    for v in release asan; do
        run_unit "$v"
        run_system "$v"
    done
    run_fuzz
    run_distcheck
    for f in "${FAILURES[@]+"${FAILURES[@]}"}"; do printf 'FAILED: %s\n' "$f"; done
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# ---- bench -----------------------------------------------------------------------------

# The benchmarks' tools: the load generator, the peers, MaxMind's writer for the GeoIP
# fixtures, mmdblookup (bench/scale.sh), valgrind and perf (bench/profile.sh).
BENCH_PACKAGES=(dnsperf knot nsd gdnsd python3 python3-dnspython libmaxmind-db-writer-perl mmdb-bin
    valgrind linux-perf)

cmd_bench() {
    local name=${1:-run} all
    [ $# -eq 0 ] || shift
    all=$(cd bench && ls -- *.sh | sed -n '/^lib\.sh$/d;s/\.sh$//p' | tr '\n' ' ')
    [[ "$name" =~ ^[a-z-]+$ && -f "bench/$name.sh" && "$name" != lib ]] ||
        die "no benchmark '$name'; the benchmarks: ${all% }"
    install_packages "${BUILD_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"
    build release --enable-developer CFLAGS="-O2 -g"
    make -s -C build/release bench/floor >/dev/null || die "build of bench/floor failed in build/release"
    say "bench/$name.sh $*"
    exec "bench/$name.sh" "$@"
}

# ---- demo ------------------------------------------------------------------------------

# Ports: DNS on 5353 and HTTP backends on 8080, or the next ones free when another
# program holds them (an mDNS responder, a web server).
DEMO_PORT=5353
DEMO_HTTP_PORT=8080
DEMO_ADDRS=() # where gtm-dnsd listens
DEMO_PACKAGES=(ldnsutils python3 libmaxmind-db-writer-perl)
# Three regions, each with one backend: an HTTP server on its own loopback address.
DEMO_REGIONS=("eu-central 50.11 8.68 127.0.1.10" "us-east 38.95 -77.45 127.0.2.10"
    "ap-northeast 35.68 139.69 127.0.3.10")
DEMO_PIDS=()

# Runs a command and prints it first, as the operator would type it.
show() { printf '\n$ %s\n' "$*"; "$@"; }
# A query from a client at SOURCE (the demo GeoIP data places 127.1.x in Germany, 127.2.x
# in the USA, 127.3.x in Japan): prints the answer's records.
ask() { drill -p "$DEMO_PORT" -I "$1" @127.0.0.1 "$2" A | awk '/^;; ANSWER/{a=1;next} /^;;/{a=0} a&&NF'; }

demo_backend() { # demo_backend REGION ADDRESS: an HTTP server answering /health with ok
    local dir=$DEMO_DIR/www-$1
    mkdir -p "$dir" && echo ok > "$dir/health"
    python3 -m http.server "$DEMO_HTTP_PORT" --bind "$2" --directory "$dir" >"$DEMO_DIR/backend-$1.log" 2>&1 &
    DEMO_PIDS+=($!)
    eval "DEMO_BACKEND_${1//-/_}=$!"
}

demo_wait_log() { # demo_wait_log FILE PATTERN
    for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    cat "$1" >&2; die "no '$2' in $1"
}

# free_port FIRST ADDRESS...: the first port from FIRST that every ADDRESS can bind for
# UDP and TCP.
free_port() {
    python3 - "$@" <<'PY'
import socket, sys
first, addrs = int(sys.argv[1]), sys.argv[2:]
for port in range(first, first + 100):
    try:
        for a in addrs:
            family = socket.AF_INET6 if ":" in a else socket.AF_INET
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(family, kind) as s:
                    s.bind((a, port))
    except OSError:
        continue
    print(port)
    sys.exit(0)
sys.exit(1)
PY
}

demo_stop() {
    [ ${#DEMO_PIDS[@]} -gt 0 ] && kill "${DEMO_PIDS[@]}" 2>/dev/null
    wait 2>/dev/null
}

cmd_demo() {
    install_packages "${BUILD_PACKAGES[@]}" "${DEMO_PACKAGES[@]}"
    build release --enable-developer CFLAGS="-O2 -g"
    local bin=$TOP/build/release
    DEMO_DIR=$TOP/build/demo
    rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
    export GTM_DB=$DEMO_DIR/gtm.db PATH=$bin:$PATH
    trap demo_stop EXIT
    trap 'exit 0' INT TERM
    local v6=("::1")
    free_port 0 ::1 >/dev/null 2>&1 || v6=() # a machine without IPv6 on loopback
    DEMO_PORT=$(free_port "$DEMO_PORT" 127.0.0.1 "${v6[@]}") || die "no free port from $DEMO_PORT on for the demo's DNS"
    DEMO_ADDRS=("127.0.0.1:$DEMO_PORT")
    [ ${#v6[@]} -eq 0 ] || DEMO_ADDRS+=("[::1]:$DEMO_PORT")
    local backends=("${DEMO_REGIONS[@]##* }") listen=() a
    DEMO_HTTP_PORT=$(free_port "$DEMO_HTTP_PORT" "${backends[@]}") ||
        die "no free port from $DEMO_HTTP_PORT on for the demo's backends"
    for a in "${DEMO_ADDRS[@]}"; do listen+=(--listen "$a"); done

    say "the demo store: a zone, three regions with a backend each, a geo policy"
    show gtmctl init
    show gtmctl zone import demo.example zones/demo.example.zone
    local r name lat lon addr
    for r in "${DEMO_REGIONS[@]}"; do
        read -r name lat lon addr <<<"$r"
        gtmctl region add "$name" --lat "$lat" --lon "$lon" >/dev/null
    done
    gtmctl pool add web >/dev/null
    for r in "${DEMO_REGIONS[@]}"; do
        read -r name lat lon addr <<<"$r"
        gtmctl endpoint add web "$addr" --region "$name" >/dev/null
        gtmctl check set web "$addr" --type http --port "$DEMO_HTTP_PORT" --url "http://$addr:$DEMO_HTTP_PORT/health" \
            --interval 1s --timeout 500ms --rise 2 --fall 2 --expect-body ok >/dev/null
        demo_backend "$name" "$addr"
    done
    gtmctl geo map EU eu-central,us-east >/dev/null
    gtmctl geo map NA us-east,eu-central >/dev/null
    gtmctl geo map AS ap-northeast,us-east >/dev/null
    gtmctl geo map '*' us-east,eu-central,ap-northeast >/dev/null
    show gtmctl policy set www.demo.example --pool web --mode geo --ttl 10
    show gtmctl policy set near.demo.example --pool web --mode proximity --ttl 10
    show gtmctl endpoint list
    show gtmctl geo list
    perl tests/geoip/make-mmdb.pl zones/demo-geoip.json "$DEMO_DIR/geo.mmdb"

    gtm-healthd --db "$GTM_DB" --vantage demo --foreground >"$DEMO_DIR/gtm-healthd.log" 2>&1 &
    DEMO_PIDS+=($!)
    gtm-dnsd --db "$GTM_DB" "${listen[@]}" --threads 2 \
        --foreground --identity demo.gtm --geoip "$DEMO_DIR/geo.mmdb" >"$DEMO_DIR/gtm-dnsd.log" 2>&1 &
    DEMO_PIDS+=($!)
    demo_wait_log "$DEMO_DIR/gtm-dnsd.log" ready
    demo_wait_log "$DEMO_DIR/gtm-healthd.log" ready
    sleep 3 # two probes a second apart: every backend up
    show gtmctl status

    say "clients in Germany (127.1.x), the USA (127.2.x) and Japan (127.3.x) ask for www"
    show ask 127.1.0.1 www.demo.example
    show ask 127.2.0.1 www.demo.example
    show ask 127.3.0.1 www.demo.example
    show gtmctl explain www.demo.example A --client 127.1.0.1 --geoip "$DEMO_DIR/geo.mmdb"

    say "a drill: eu-central fails; German clients move to us-east at once"
    show gtmctl drill fail eu-central --for 1m --reason "demo drill"
    sleep 0.3
    show ask 127.1.0.1 www.demo.example
    show gtmctl drill restore eu-central
    sleep 0.3
    show ask 127.1.0.1 www.demo.example

    say "a real failure: the ap-northeast backend stops; within 3 s Japan moves to us-east"
    kill "$DEMO_BACKEND_ap_northeast"
    sleep 3
    show ask 127.3.0.1 www.demo.example
    show gtmctl events --since 1m
    demo_backend ap-northeast 127.0.3.10
    cat <<MSG

gtm-dnsd answers on ${DEMO_ADDRS[*]}; gtm-healthd probes the
three backends every second (logs in $DEMO_DIR). Try, in another shell:
  export GTM_DB=$GTM_DB PATH=$bin:\$PATH
  drill -p $DEMO_PORT -I 127.3.0.1 @127.0.0.1 www.demo.example    # back to ap-northeast
  drill -p $DEMO_PORT -I 127.4.0.1 @127.0.0.1 near.demo.example   # Brazil: nearest region
  gtmctl status
  gtmctl drill fail us-east --for 30s
  gtmctl drain eu-central --over 1m
  gtmctl explain www.demo.example A --client 127.2.0.1 --geoip $DEMO_DIR/geo.mmdb
  gtmctl audit
Press Ctrl-C to stop (everything the demo started stops with it).
MSG
    wait
}

case "${1:-}" in
demo) cmd_demo ;;
test) cmd_test ;;
build) cmd_build ;;
bench) shift; cmd_bench "$@" ;;
*) echo "usage: ./gtm.sh demo|test|build|bench [NAME [options]]" >&2; exit 2 ;;
esac
