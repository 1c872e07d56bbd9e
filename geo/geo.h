/* geo/geo.h — where a client is, and what that means for a traffic decision.
 *   geo_db:  the GeoIP databases (libmaxminddb), MaxMind's Country/City layout or the
 *            flat layout of free redistributions; looked up by gtmctl explain and walked
 *            whole when a classifier is built. Never used on the query path.
 *   geo_classifier: what the geo map, the latency table and the regions' coordinates
 *            decide for every network, compiled once into one binary trie per mode and
 *            address family, adjacent networks with the same decision merged. A query
 *            walks one trie: the leaf gives the ordered region list and its depth the
 *            widest prefix with that answer (the ECS scope, RFC 7871 §7.2.1).
 *   geo_client: the client address from EDNS Client Subnet or the resolver's address.
 * Built by the snapshot compiler (loader thread, or gtmctl); read by any thread. */
#ifndef GTM_GEO_GEO_H
#define GTM_GEO_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- locations ------------------------------------------------------------------ */

struct geo_loc {
    char country[3];     /* ISO 3166-1 alpha-2 ("DE"), "" when unknown */
    char continent[3];   /* AF AN AS EU NA OC SA, "" when unknown */
    char subdivision[4]; /* ISO 3166-2 code after the country ("CA" of US-CA), or "" */
    bool has_coords;
    double lat, lon; /* degrees */
};

/* The continent code of a country code, or NULL for an unknown one. */
const char *geo_continent_of(const char *country);
/* Great-circle distance in km between two points given in degrees. */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/* ---- GeoIP databases ------------------------------------------------------------ */

#define GEO_MAX_DBS 4
struct geo_db;

/* Opens the .mmdb files (IPv4 and IPv6 data may be in separate files). Fails with a
 * message naming the file when one is missing or not a MaxMind DB. */
int geo_db_open(const char *const *paths, size_t n, struct geo_db **out, char *msg, size_t msglen);
void geo_db_close(struct geo_db *db);
/* Looks up addr (4 bytes for family 4, 16 for 6). Returns 0 with *loc and the network's
 * prefix length (*prefix, counted in the family's bits), or GTM_ENOTFOUND. */
int geo_db_lookup(const struct geo_db *db, int family, const uint8_t *addr, struct geo_loc *loc,
                  int *prefix);

/* ---- the map: geo keys and what they say ---------------------------------------- */

enum geo_key_kind {
    GEO_KEY_DEFAULT,
    GEO_KEY_CONTINENT,
    GEO_KEY_COUNTRY,
    GEO_KEY_SUBDIVISION,
    GEO_KEY_CIDR
};

/* A key of the geo map or the latency table, parsed. */
struct geo_key {
    enum geo_key_kind kind;
    char code[8];     /* "EU", "DE", "US-CA"; empty for default and CIDR */
    int family;       /* CIDR: 4 or 6 */
    uint8_t addr[16]; /* CIDR: the network, host bits zero */
    int prefix;       /* CIDR: its length */
};

/* Parses "*", "EU", "DE", "US-CA", "192.0.2.0/24", "2001:db8::/32" (the network must have
 * no host bits set). Returns 0 with *key, or GTM_EPARSE. */
int geo_key_parse(const char *text, struct geo_key *key);
/* The canonical text of key ("192.0.2.0/24", "US-CA"), for the store and the log. */
void geo_key_format(const struct geo_key *key, char *out, size_t outlen);
/* The kind's name as the store keeps it: default continent country subdivision cidr. */
const char *geo_key_kind_name(enum geo_key_kind kind);

/* ---- classifiers ------------------------------------------------------------------ */

enum geo_mode { GEO_MODE_GEO, GEO_MODE_LATENCY, GEO_MODE_PROXIMITY, GEO_MODES };

/* An ordered list of regions (indexes into the regions given to the builder). */
struct geo_rlist {
    uint16_t n;
    const uint16_t *regions;
};

/* What a classifier is built from. Regions are indexed 0..nregions-1. */
struct geo_region_in {
    bool has_coords;
    double lat, lon;
};
struct geo_map_in {
    struct geo_key key;
    size_t nregions;
    const uint16_t *regions; /* in order of preference */
};
struct geo_latency_in {
    struct geo_key key;
    uint16_t region;
    double ms;
};
struct geo_inputs {
    const struct geo_region_in *regions;
    size_t nregions;
    const struct geo_map_in *map;
    size_t nmap;
    const struct geo_latency_in *latency;
    size_t nlatency;
    const struct geo_db *db; /* may be NULL: every client is then at an unknown place */
    bool modes[GEO_MODES];   /* build only the tries some policy needs */
};

struct geo_classifier;

/* No region list: the client matched no map entry (and no '*'). */
#define GEO_RLIST_NONE UINT32_MAX

/* Builds a classifier. Blocking: seconds for a full GeoLite2-City. Returns 0, or an
 * error with msg (a corrupt database). The caller frees it with geo_classifier_free(). */
int geo_classifier_build(const struct geo_inputs *in, struct geo_classifier **out, char *msg,
                         size_t msglen);
void geo_classifier_free(struct geo_classifier *c);
/* Bytes it holds, and trie nodes per mode, for reports. */
size_t geo_classifier_bytes(const struct geo_classifier *c);

/* Per query: the region list id for addr (family 4 or 6, addr truncated by the caller)
 * under mode, and in *prefix the depth of the trie leaf: the widest prefix around addr
 * with the same decision. No allocation; one table read for the first 16 bits, then
 * one read per further bit of the leaf's depth. */
uint32_t geo_classify(const struct geo_classifier *c, enum geo_mode mode, int family,
                      const uint8_t *addr, int *prefix);
/* The list of an id from geo_classify() (not GEO_RLIST_NONE). */
struct geo_rlist geo_classifier_rlist(const struct geo_classifier *c, uint32_t id);

/* How specifically key matches a client at loc with address addr (loc and addr may be
 * NULL): -1 for no match; higher is more specific: CIDR (longer first), subdivision,
 * country, continent, '*'. */
int geo_key_score(const struct geo_key *key, const struct geo_loc *loc, int family,
                  const uint8_t *addr);
/* For explain: the map entry (index into in->map) that decides for a client at loc with
 * address addr, most specific first (CIDR by longest prefix, subdivision, country,
 * continent, '*'); -1 when none. */
int geo_map_match(const struct geo_inputs *in, const struct geo_loc *loc, int family,
                  const uint8_t *addr);

/* ---- the client -------------------------------------------------------------------- */

/* At most this much of a client address is used (RFC 7871 §11.1: privacy, and the
 * size of a resolver's cache). */
#define GEO_V4_BITS_MAX 24
#define GEO_V6_BITS_MAX 56

struct geo_client {
    int family;       /* 4 or 6 */
    uint8_t addr[16]; /* bits past 'bits' are zero */
    uint8_t bits;     /* how many bits of addr are known and used */
    bool from_ecs;
    uint8_t source_prefix; /* ECS: the query's SOURCE PREFIX-LENGTH */
    uint8_t addr_sent[16]; /* ECS: the address as the query sent it, echoed back */
};

/* Reads an ECS option payload (RFC 7871 §6). Returns 0 with *c, or GTM_EPARSE for a
 * malformed option (unknown family, too long a prefix, wrong address length, bits set
 * past the prefix, a non-zero scope), which the caller answers with FORMERR. */
int geo_ecs_parse(const uint8_t *data, size_t len, struct geo_client *c);
/* The client from the resolver's own address (family 4 or 6, 4 or 16 bytes). */
void geo_client_from_addr(struct geo_client *c, int family, const uint8_t *addr);
/* Writes the ECS option payload of a response with scope (RFC 7871 §7.2.1: family,
 * source prefix and address as in the query). Returns its length (<= 20). */
size_t geo_ecs_write(const struct geo_client *c, uint8_t scope, uint8_t *out);

#endif
