#!/bin/sh
# tests/fuzz/build.sh — builds the query fuzzer (tests/fuzz/fuzz_query.c) with clang's
# libFuzzer, ASan and UBSan: configures BUILDDIR (default build/fuzz) with every object
# instrumented, builds the libraries and gtmctl there, then links the harness with the
# query path's own sources: gtm-dnsd's sources in Makefile.am (query.c, answer.c, msg.c,
# loader.c, ...) but for main() and the libuv parts (udp, tcp, sock, worker, xdp).
#   tests/fuzz/build.sh [BUILDDIR]
# Then, for example (one process; seeds: make-seeds.py; see README.md in this folder):
#   BUILDDIR/fuzz_query -max_len=4096 -max_total_time=600 CORPUS_DIR SEED_DIR
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$SRC/build/fuzz}
CC=${CC:-clang}
FUZZ_CFLAGS="-g -O1 -fno-omit-frame-pointer"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"

mkdir -p "$B"
B=$(cd "$B" && pwd)
[ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi)
if [ ! -f "$B/Makefile" ]; then
    (cd "$B" && "$SRC/configure" --enable-sanitizers CC="$CC" \
        CFLAGS="$FUZZ_CFLAGS -fsanitize=fuzzer-no-link")
fi
make -C "$B" -j2 libgtmcommon.a libgtmdb.a libgtmgeo.a libgtmsnap.a gtmctl

DNSD=$(awk '/^gtm_dnsd_SOURCES/ {f = 1} f {print} f && !/\\$/ {exit}' "$SRC/Makefile.am" |
    tr -s ' \t\\' '\n' | grep '\.c$' | grep -v 'dnsd/\(main\|udp\|tcp\|sock\|worker\|xdp\)\.c' |
    sed "s|^|$SRC/|")
DEPS="ldns sqlite3 libmaxminddb libcrypto"
# shellcheck disable=SC2046
"$CC" -std=gnu11 $FUZZ_CFLAGS -fsanitize=fuzzer $SAN -Wall -Wextra -Werror \
    -I"$SRC" -I"$B" $(pkg-config --cflags $DEPS) \
    -DGTM_FUZZ_SRCDIR="\"$SRC\"" -DGTM_FUZZ_GTMCTL="\"$B/gtmctl\"" \
    -o "$B/fuzz_query" "$SRC/tests/fuzz/fuzz_query.c" $DNSD \
    "$B/libgtmsnap.a" "$B/libgtmgeo.a" "$B/libgtmdb.a" "$B/libgtmcommon.a" \
    $(pkg-config --libs $DEPS) -lm -pthread
echo "built $B/fuzz_query"
