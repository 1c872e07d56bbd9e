#!/usr/bin/env bash
# bench/run.sh [options] — gtm-dnsd's own benchmark (issue 6): gtm-dnsd beside
# bench/floor, the minimal responder, on the three query sets:
#   static   10 static names of a zone of RECORDS generated records (no EDNS)
#   geo      GEO_QUERIES A queries for 8 managed names with geo policies over 3 regions
#            (geo map by continent, country, subdivision and CIDR), each query with its
#            own EDNS Client Subnet option from one of thousands of client subnets spread
#            over a GeoIP database of GEO_NETWORKS networks (MaxMind's writer)
#   mix      45% static, 45% geo with ECS, 10% NXDOMAIN
# at saturation and at fixed rates (dnsperf -Q 20000 and 50000), and the same pinned
# (dnsperf on CPU 0, the server on CPU 1), in ROUNDS interleaved rounds (gtm floor gtm
# floor ...). It reports, per set and mode, the server's CPU µs per answered query, qps,
# latency (percentiles at fixed rates), the bottleneck, and the ratio gtm / floor (target:
# within 1.5x). The store is built with the real gtmctl; answers are checked against the
# fixture's expectations before measuring.
#
# This is bench/peers.sh with these defaults (every option of peers.sh works here too:
# --rounds, --seconds, --modes, --sets, --peers, --quick, --out ...):
#   --peers "gtm floor" --sets "static geo mix" --pinned, QUIET_WAIT=600 (wait up to ten
#   minutes for the 1-minute load average to fall below QUIET_LOAD=1.0 before the rounds),
#   MIN_CLEAN=3 MAX_ROUNDS=6 (more rounds, up to 6 in all, of the modes with fewer than 3
#   runs under 15% hypervisor steal)
# Results: bench/out/run-DATE.md (and .tsv with every run). BUILDDIR: where gtm-dnsd,
# gtmctl and bench/floor are built (default build/release; bench/floor is made there if
# missing). `./gtm.sh bench` installs the packages, builds and runs this script.
#   bench/run.sh --help     this text, then bench/peers.sh's
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-} in
-h | --help)
    sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"
    echo
    exec "$here/peers.sh" --help
    ;;
esac
pinned=(--pinned)
for a in "$@"; do [ "$a" != --quick ] || pinned=(); done
export BENCH_NAME=run.sh OUT_NAME=run TITLE="gtm-dnsd and the minimal responder"
export PEERS=${PEERS:-gtm floor} SETS=${SETS:-static geo mix} QUIET_WAIT=${QUIET_WAIT:-600}
export MIN_CLEAN=${MIN_CLEAN:-3} MAX_ROUNDS=${MAX_ROUNDS:-6}
exec "$here/peers.sh" "${pinned[@]}" "$@"
