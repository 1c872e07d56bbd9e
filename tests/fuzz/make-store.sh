#!/bin/sh
# tests/fuzz/make-store.sh — builds the store and GeoIP file the query fuzzer serves,
# with the real gtmctl: the system tests' zones, tests/fuzz/fuzz.test.zone, and traffic
# policies of every mode (A, AAAA and CNAME endpoints, 64-record answers, fallbacks, a
# drill and a drain so that health matters).
#   make-store.sh GTMCTL SRCDIR DIR     writes DIR/gtm.db and DIR/geo.mmdb
set -eu
GTMCTL=$1
SRC=$2
DIR=$3
export GTM_DB="$DIR/gtm.db"
g() { "$GTMCTL" "$@" >/dev/null; }

g init
Z=$SRC/tests/system/zones
g zone import dnsd.test "$Z/dnsd.test.zone"
g zone import child.dnsd.test "$Z/child.dnsd.test.zone"
g zone import diff.example "$Z/diff.example.zone"
g zone import child.diff.example "$Z/child.diff.example.zone"
g zone import fuzz.test "$SRC/tests/fuzz/fuzz.test.zone"
# bulk.test: TCP answers past 16 KiB (offsets a compression pointer cannot reach) with
# more names than a response remembers for compression, below 64 KiB
{
    printf '$ORIGIN bulk.test.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 60\n'
    printf '@ NS ns1\nns1 A 192.0.2.1\n'
    T=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    for i in $(seq 1 80); do printf 'txt TXT "%03d %s%s%s"\n' $i $T $T $T; done
    for i in $(seq 1 300); do
        printf 'mx MX %d h%d.mx\nh%d.mx A 198.51.100.%d\nh%d.mx AAAA 2001:db8::%x\n' \
            $i $i $i $((i % 250)) $i $i
    done
    printf 'ns NS h1.mx\nns NS h2.mx\n'
    for i in $(seq 1 100); do printf 'ns NS n%d.ns\nn%d.ns A 203.0.113.%d\n' $i $i $i; done
} >"$DIR/bulk.test.zone"
g zone import bulk.test "$DIR/bulk.test.zone"

# regions (one without coordinates), pools
g region add eu-west --lat 51.51 --lon -0.13
g region add eu-central --lat 50.11 --lon 8.68
g region add us-west --lat 37.77 --lon -122.42
g region add us-east --lat 39.04 --lon -77.49
g region add ap-northeast --lat 35.68 --lon 139.69
g region add lab
for p in web big names mixed backup empty; do g pool add $p; done
i=1
for r in eu-west eu-central us-west us-east ap-northeast lab; do
    g endpoint add web 10.$i.0.1 --region $r --weight $((i * 10))
    [ $r = lab ] || g endpoint add web 2001:db8:ff:$i::1 --region $r --priority $i
    g endpoint add backup 10.9.$i.1 --region $r
    g endpoint add mixed 10.8.$i.1 --region $r
    g endpoint add mixed "m$i.dnsd.test" --region $r
    i=$((i + 1))
done
# 70 + 70 endpoints: answers of 64 records do not fit 512 or 1232 bytes
for i in $(seq 1 70); do
    r=$(echo "eu-west eu-central us-west us-east ap-northeast lab" | cut -d' ' -f$((i % 6 + 1)))
    g endpoint add big 10.100.$i.1 --region $r
    g endpoint add big 2001:db8:100:$i::1 --region $r
done
# CNAME endpoints, some with names of 250 bytes or so
L63=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
g endpoint add names "www.dnsd.test" --region eu-west
g endpoint add names "$L63.$L63.$L63.elsewhere.example" --region us-east
g endpoint add names "$L63.$L63.$L63.ddddddddddddddddddddddddddddddddddddddddddddddddddd.fuzz.test" \
    --region us-west
g endpoint add names "WWW.Fuzz.Test" --region lab
g endpoint add web 10.0.0.99 --region eu-west --enabled no
g endpoint set web 10.4.0.1 --weight 0

# geo map and latencies (keys of every kind; no '*': some clients match no entry, and
# one entry lists only a region without IPv6 endpoints in web)
g geo map EU eu-central,eu-west
g geo map GB eu-west,eu-central
g geo map US-CA us-west,us-east
g geo map NA us-east,us-west
g geo map AS ap-northeast,us-west
g geo map 127.0.7.0/24 lab,eu-west
g geo map 2001:db8:5::/48 lab
g latency set DE eu-west 9
g latency set DE eu-central 25
g latency set 89.160.128.0/17 eu-central 2
g latency set JP us-west 40
g latency set US-CA us-east 15

# managed names of every mode, in fuzz.test and dnsd.test
g policy set geo.fuzz.test --pool web --mode geo --answers 2
g policy set lat.fuzz.test --pool web --mode latency
g policy set prox.fuzz.test --pool web --mode proximity --fallback backup
g policy set w.fuzz.test --pool web --mode weighted --sticky --answers 3
g policy set fo.fuzz.test --pool web --mode failover --fallback none --region-up 100
g policy set lb.fuzz.test --pool big --mode all --answers 64 --ttl 5
g policy set cn.fuzz.test --pool names --mode weighted
g policy set mix.fuzz.test --pool mixed --mode all --answers 8
g policy set emp.fuzz.test --pool empty --mode all --fallback backup
g policy set down.fuzz.test --pool web --mode geo --unknown down --fallback none
g policy set lb.dnsd.test --pool big --mode weighted --answers 64 --sticky
g policy set gtm.wild.dnsd.test --pool names --mode failover
# health: one vantage point's fresh reports (checks probed once a day, so the reports
# stay fresh for the fuzzer's run) put most of web, mixed and big up and us-west down,
# one endpoint flapping; written with the sqlite3 shell, as the system tests write them
# with Python's sqlite3
for p in web mixed big; do
    for t in $("$GTMCTL" endpoint list $p | awk 'NR > 1 && $3 != "CNAME" && $2 !~ /^10\.100\.[0-9]*[05]\./ {print $2}'); do
        g check set $p "$t" --type tcp --port 80 --interval 1d --timeout 10s
    done
done
now=$(($(date +%s) * 1000))
sqlite3 "$GTM_DB" "INSERT INTO vantages VALUES ('fuzz', $now);
INSERT INTO health (endpoint_id, vantage, state, since, checked)
  SELECT e.id, 'fuzz', CASE WHEN r.name = 'us-west' THEN 'down' ELSE 'up' END,
         CASE WHEN e.target = '10.1.0.1' THEN $now ELSE $now - 3600000 END, $now
  FROM endpoints e JOIN checks c ON c.endpoint_id = e.id JOIN regions r ON r.id = e.region_id;"
# a drill takes a region down, a drain takes another's weights to zero
g drill fail eu-central --reason fuzz
g drain ap-northeast --over 0

# GeoIP: MaxMind's City layout, IPv4 aliased into IPv6
cat >"$DIR/geo.mmdb.json" <<'EOF'
{"ip_version": 6, "layout": "maxmind", "alias": true, "networks": [
 {"net": "81.2.68.0/22", "country": "GB", "continent": "EU", "subdivision": "ENG",
  "lat": 51.51, "lon": -0.13},
 {"net": "89.160.0.0/16", "country": "DE", "continent": "EU", "subdivision": "HE",
  "lat": 50.11, "lon": 8.68},
 {"net": "192.0.2.0/24", "country": "US", "continent": "NA", "subdivision": "CA",
  "lat": 37.77, "lon": -122.42},
 {"net": "203.0.113.0/24", "country": "JP", "continent": "AS", "subdivision": "13",
  "lat": 35.68, "lon": 139.69},
 {"net": "127.0.1.0/24", "country": "GB", "continent": "EU", "lat": 51.51, "lon": -0.13},
 {"net": "127.0.2.0/24", "country": "DE", "continent": "EU", "lat": 50.11, "lon": 8.68},
 {"net": "127.0.3.0/24", "country": "US", "continent": "NA", "subdivision": "CA",
  "lat": 37.77, "lon": -122.42},
 {"net": "127.0.4.0/24", "country": "JP", "continent": "AS", "lat": 35.68, "lon": 139.69},
 {"net": "2001:db8:1::/48", "country": "DE", "continent": "EU", "lat": 52.52, "lon": 13.4},
 {"net": "2001:db8:5::/64", "country": "FR", "continent": "EU", "lat": 48.86, "lon": 2.35}
]}
EOF
perl "$SRC/tests/geoip/make-mmdb.pl" "$DIR/geo.mmdb.json" "$DIR/geo.mmdb"
