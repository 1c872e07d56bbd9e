#!/usr/bin/perl
# tests/geoip/make-mmdb.pl — builds a GeoIP fixture with MaxMind's own writer
# (Debian's libmaxmind-db-writer-perl) from a JSON description, at test time:
#   make-mmdb.pl SPEC.json OUT.mmdb
# SPEC: {"ip_version": 4|6, "layout": "maxmind"|"flat"|"asn", "alias": true|false,
#        "networks": [{"net": "81.2.69.0/24", "country": "GB", "continent": "EU",
#                      "subdivision": "ENG", "lat": 51.5, "lon": -0.12}, ...]}
# "maxmind" writes the GeoIP2/GeoLite2 City layout (country.iso_code, continent.code,
# subdivisions[0].iso_code, location.latitude/longitude); "flat" writes country_code,
# latitude and longitude only, as free redistributions do; "asn" writes GeoLite2-ASN's
# records (autonomous_system_number, "asn" in SPEC, and _organization): no location.
use strict;
use warnings;
use JSON::PP;
use MaxMind::DB::Writer::Tree;

my ($spec_path, $out) = @ARGV;
die "usage: make-mmdb.pl SPEC.json OUT.mmdb\n" unless $spec_path && $out;
open my $in, '<', $spec_path or die "$spec_path: $!\n";
my $spec = decode_json(do { local $/; <$in> });
close $in;
my $layout = $spec->{layout} // 'maxmind';
my $flat = $layout eq 'flat';
my $asn = $layout eq 'asn';

my %types = (
    country => 'map', continent => 'map', location => 'map', subdivisions => ['array', 'map'],
    iso_code => 'utf8_string', code => 'utf8_string', names => 'map', en => 'utf8_string',
    latitude => 'double', longitude => 'double', country_code => 'utf8_string',
    autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => $spec->{ip_version} // 6,
    record_size           => 28,
    database_type         => $asn ? 'GeoLite2-ASN' : $flat ? 'gtm-test-flat' : 'GeoLite2-City',
    languages             => ['en'],
    description           => { en => 'gtm test fixture' },
    alias_ipv6_to_ipv4    => ($spec->{alias} // 0) ? 1 : 0,
    remove_reserved_networks => 0,
    map_key_type_callback => sub { $types{ $_[0] } // die "no type for key $_[0]\n" },
);

for my $n (@{ $spec->{networks} }) {
    my %rec;
    if ($asn) {
        $rec{autonomous_system_number} = $n->{asn} // 64496;
        $rec{autonomous_system_organization} = 'AS' . ($n->{asn} // 64496);
    } elsif ($flat) {
        $rec{country_code} = $n->{country} if defined $n->{country};
        $rec{latitude} = $n->{lat} + 0.0 if defined $n->{lat};
        $rec{longitude} = $n->{lon} + 0.0 if defined $n->{lon};
    } else {
        $rec{country} = { iso_code => $n->{country} } if defined $n->{country};
        $rec{continent} = { code => $n->{continent} } if defined $n->{continent};
        $rec{subdivisions} = [{ iso_code => $n->{subdivision} }] if defined $n->{subdivision};
        $rec{location} = { latitude => $n->{lat} + 0.0, longitude => $n->{lon} + 0.0 }
            if defined $n->{lat};
    }
    $tree->insert_network($n->{net}, \%rec);
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
