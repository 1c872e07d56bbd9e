#!/usr/bin/env bash
# bench/import.sh [BUILDDIR] — how long gtmctl takes on a large zone.
# Generates a zone of COUNT records (default 100000) with bench/gen-zone.py in a temp
# directory, then times, each as one run of the real binary:
#   init + import   gtmctl init, then gtmctl zone import of the new zone
#   re-import       gtmctl zone import of the same file into the existing zone
#   export          gtmctl zone export to a file
# and prints the seconds of each. BUILDDIR defaults to build/release. Not a test: it
# checks only that each step succeeded and that the export holds every record.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${1:-$TOP/build/release}
COUNT=${COUNT:-100000}
ZONE=bench.example
PYTHON=${PYTHON:-python3}
GTMCTL=$BUILDDIR/gtmctl

die() { printf 'import.sh: %s\n' "$*" >&2; exit 1; }
[ -x "$GTMCTL" ] || die "no gtmctl in $BUILDDIR (build first, or give the build directory)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gtm-bench-import.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM
DB=$TMP/gtm.db

now() { date +%s.%N; }
# seconds START END: the difference, to the millisecond.
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# run NAME COMMAND...: runs the command with its output in $TMP/NAME.out (shown if it
# fails), and sets ELAPSED.
run() {
    local name=$1 t0 t1
    shift
    t0=$(now)
    "$@" > "$TMP/$name.out" 2>&1 || { cat "$TMP/$name.out" >&2; die "$name failed: $*"; }
    t1=$(now)
    ELAPSED=$(seconds "$t0" "$t1")
}

"$PYTHON" "$TOP/bench/gen-zone.py" "$ZONE" "$COUNT" > "$TMP/zone"
printf 'gtmctl %s, %d records (%s bytes of zone file), in %s\n' \
    "$("$GTMCTL" --version | awk '{print $NF}')" "$COUNT" "$(wc -c < "$TMP/zone")" "$TMP"

t0=$(now)
run init "$GTMCTL" --db "$DB" init
run import "$GTMCTL" --db "$DB" zone import "$ZONE" "$TMP/zone"
t1=$(now)
printf '%-18s %8s s   (import alone %s s)\n' "init + import" "$(seconds "$t0" "$t1")" "$ELAPSED"

run reimport "$GTMCTL" --db "$DB" zone import "$ZONE" "$TMP/zone"
printf '%-18s %8s s\n' "re-import" "$ELAPSED"

# shellcheck disable=SC2016  # $1.. expand in the inner shell
run export sh -c '"$1" --db "$2" zone export "$3" > "$4"' sh "$GTMCTL" "$DB" "$ZONE" "$TMP/export"
printf '%-18s %8s s\n' "export" "$ELAPSED"

records=$(grep -vc '^;;' "$TMP/export" || true)
[ "$records" -eq "$COUNT" ] || die "the export has $records records, not $COUNT"
printf 'store %s bytes; export %s records\n' "$(du -b "$DB" | cut -f1)" "$records"
