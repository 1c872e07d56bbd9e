#!/usr/bin/env bash
# gtm.sh — the quick start: "./gtm.sh demo" and "./gtm.sh test" on Debian 12.
# Both install the Debian packages that are missing, then build with autotools.
#   demo   build, create a demo store from zones/, and run it on loopback
#   test   build twice (plain, and with ASan+UBSan), run every test against both,
#          and end with a line "N passed, M failed"
#   build  only build (into build/release)
set -euo pipefail
cd "$(dirname "$0")"
TOP=$PWD
JOBS=2

# Build tools and libraries; the test tools (pytest, dnspython, dnsperf, the peer
# servers we compare against, MaxMind's writer for GeoIP fixtures).
BUILD_PACKAGES=(build-essential autoconf automake pkg-config
    libldns-dev libuv1-dev libsqlite3-dev libmaxminddb-dev libcurl4-openssl-dev libcmocka-dev)
TEST_PACKAGES=(python3 python3-pytest python3-pytest-xdist python3-dnspython ldnsutils
    dnsperf knot nsd gdnsd libmaxmind-db-writer-perl sqlite3)
# Peer servers we install only to run them ourselves on test ports: keep their
# system services from starting (and binding port 53) when they are installed.
PEER_SERVICES=(knot nsd gdnsd)

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
            [[ " ${missing[*]} " == *" $p "* ]] && systemctl disable -q "$p" 2>/dev/null || true
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
    run_distcheck
    for f in "${FAILURES[@]+"${FAILURES[@]}"}"; do printf 'FAILED: %s\n' "$f"; done
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# ---- demo ------------------------------------------------------------------------------

DEMO_PORT=5353

# Runs a command and prints it first, as the operator would type it.
show() { printf '\n$ %s\n' "$*"; "$@"; }

cmd_demo() {
    install_packages "${BUILD_PACKAGES[@]}" ldnsutils
    build release --enable-developer CFLAGS="-O2 -g"
    local dir=$TOP/build/demo bin=$TOP/build/release
    rm -rf "$dir" && mkdir -p "$dir"
    export GTM_DB=$dir/gtm.db PATH=$bin:$PATH
    show gtmctl init
    show gtmctl zone import demo.example zones/demo.example.zone
    show gtmctl zone list

    gtm-dnsd --listen 127.0.0.1:$DEMO_PORT --listen "[::1]:$DEMO_PORT" --threads 2 \
        --foreground --identity demo.gtm >"$dir/gtm-dnsd.log" 2>&1 &
    DEMO_PIDS=($!)
    trap 'kill "${DEMO_PIDS[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
    trap 'exit 0' INT TERM
    for _ in $(seq 50); do grep -q ready "$dir/gtm-dnsd.log" && break; sleep 0.1; done
    grep -q ready "$dir/gtm-dnsd.log" || { cat "$dir/gtm-dnsd.log"; die "gtm-dnsd did not start"; }
    cat "$dir/gtm-dnsd.log"

    show drill -p $DEMO_PORT @127.0.0.1 static.demo.example A
    show gtmctl record add demo.example www A 300 127.0.0.80
    sleep 0.3 # gtm-dnsd picks the change up within its 100 ms poll
    show drill -p $DEMO_PORT @127.0.0.1 www.demo.example A
    cat <<MSG

gtm-dnsd is serving demo.example on 127.0.0.1:$DEMO_PORT and [::1]:$DEMO_PORT
(log: $dir/gtm-dnsd.log). Try, in another shell:
  export GTM_DB=$GTM_DB PATH=$bin:\$PATH
  drill -p $DEMO_PORT @127.0.0.1 docs.demo.example A          # CNAME, chased in the zone
  drill -p $DEMO_PORT @127.0.0.1 x.apps.demo.example A        # wildcard
  drill -p $DEMO_PORT @127.0.0.1 nothere.demo.example A       # NXDOMAIN with the SOA
  gtmctl record add demo.example api A 60 127.0.0.81     # served within a second
  gtmctl audit demo.example
Press Ctrl-C to stop.
MSG
    wait "${DEMO_PIDS[0]}"
}

case "${1:-}" in
demo) cmd_demo ;;
test) cmd_test ;;
build) cmd_build ;;
*) echo "usage: ./gtm.sh demo|test|build" >&2; exit 2 ;;
esac
