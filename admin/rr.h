/* admin/rr.h — records between ldns and the store: converting a parsed ldns_rr into
 * the store's form (key owner, presentation RDATA, wire RDATA) and printing stored
 * records in presentation format. gtmctl only. */
#ifndef GTM_ADMIN_RR_H
#define GTM_ADMIN_RR_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdio.h>

#include "db/store.h"

/* A record in the store's form that owns its strings. */
struct rr_item {
    struct store_rr rr; /* points into owner, rdata and wire below */
    char *owner;
    char *rdata;
    uint8_t *wire;
    const char *file; /* where it was read (import), borrowed; NULL otherwise */
    int line;
};

/* Converts lr, with the names in its RDATA lower-cased (RFC 4034 §6.2). Refuses classes
 * other than IN, meta types and TTLs above 2^31-1 with GTM_EINVAL and a reason in err.
 * The caller frees the result with rr_item_fini(). */
int rr_item_from_ldns(const ldns_rr *lr, struct rr_item *out, char *err, size_t errlen);
/* Parses one record in presentation format ("www 300 IN A 192.0.2.1"), relative names
 * completed with origin (a key) and names that then end in it twice taken as ending in it
 * once (rr_origin_once(); how many in *once unless NULL), then converts it as
 * rr_item_from_ldns() does. */
int rr_item_from_text(const char *text, const char *origin, struct rr_item *out, int *once,
                      char *err, size_t errlen);
void rr_item_fini(struct rr_item *it);
/* A name written in full without its final dot ("www.example.com" where the origin is
 * example.com.) reads as relative: www.example.com.example.com., which nobody means
 * (Cloudflare's exports write their SOA's owner so). Takes the owner and the names in
 * lr's RDATA that end in origin twice as ending in it once. Returns how many it took so. */
int rr_origin_once(ldns_rr *lr, const ldns_rdf *origin);
/* Whether the owner and the names in lr's RDATA are all ASCII. A name of other bytes
 * (UTF-8 as typed) is valid DNS but never asked for: IDN-aware clients ask for its
 * punycode form. */
bool rr_names_ascii(const ldns_rr *lr);
#define RR_IDN_HINT                                                                                \
    "an internationalised name goes in its xn-- (punycode) form, which is what clients ask "       \
    "for (idn2 from GNU libidn converts it)"
/* Why ldns may have refused entry (a presentation line), when it can tell: another
 * provider's extension (ALIAS, Route 53's alias, PowerDNS LUA, Windows DNS's marks) or a
 * string over 255 bytes. The hint, or NULL. */
const char *rr_parse_hint(const char *entry);
/* A TTL as zone files write it (len bytes): seconds, or numbers with the units w, d, h,
 * m and s ("1h30m"), at most 2^31-1 seconds in all (RFC 2181 section 8). Anything else
 * ("10x", "0x10", "1e3", 4294967296) is GTM_EPARSE, where ldns would read part of it or
 * wrap it around. */
int rr_ttl_parse(const char *tok, size_t len, uint32_t *out);
/* Is the token (len bytes) a class mnemonic: IN, CH, HS, CS or CLASSn? */
bool rr_is_class(const char *tok, size_t len);
/* RFC 8659 section 4.1.1: a CAA value is a <character-string>, which needs no quotes
 * without blanks in it ("0 issue letsencrypt.org", as BIND, Knot and NSD read it), but
 * ldns reads only a quoted one, and nothing after it, blanks included (a comment leaves
 * some). Returns entry (a presentation line) of a CAA record as ldns reads it: the value
 * quoted, no blanks at the end; in fresh memory, or NULL when it needs no change. */
char *rr_caa_quoted(const char *entry);
/* What ldns reads of entry (a presentation line; one starting with a blank has no
 * owner) into lr without complaint but not as written: an odd number of hex digits in
 * the digest, fingerprint or certificate data of a DS, SSHFP, TLSA or SMIMEA record (read
 * as if a 0 followed), an SOA serial or timer past 2^32-1 (wrapped) or a serial that is
 * not a number, a LOC latitude or longitude out of range, and RDATA in the generic form
 * (RFC 3597) whose length is not what the type's fields took. 0, or GTM_EPARSE with err. */
int rr_text_check(const char *entry, const ldns_rr *lr, char *err, size_t errlen);
/* The records of a signed zone that gtm does not keep, as it serves zones unsigned: the
 * keys (DNSKEY), the signatures (RRSIG), the denial chains (NSEC, NSEC3, NSEC3PARAM),
 * the zone digest (ZONEMD), which the first change of the serial would make stale, and
 * the child's DS requests (CDS, CDNSKEY), which a parent acts on only when they validate
 * (RFC 8078 section 3): unsigned, they would ask for keys no longer served. */
#define RR_DNSSEC_TYPES 8
extern const uint16_t rr_dnssec_types[RR_DNSSEC_TYPES];
/* type's index in rr_dnssec_types, or -1 when it is not one of them. */
int rr_dnssec_index(uint16_t type);
/* qsort order: owner, type, then RDATA bytes. */
int rr_item_cmp(const void *a, const void *b);

/* Parses a name in presentation format: "@" is origin, a name ending in an unescaped
 * '.' is absolute, any other is relative to origin. *out is the caller's to free with
 * ldns_rdf_deep_free(). Returns 0 or GTM_EPARSE. */
int rr_name_parse(const char *text, const ldns_rdf *origin, ldns_rdf **out);
/* The same for a name given against a zone key; key gets the result's key. */
int rr_name_key(const char *text, const char *zone, char *key, size_t keylen);

/* True when owner (a key) is zone (a key) or below it. */
bool rr_key_in_zone(const char *owner, const char *zone);

/* "OWNER TTL IN TYPE RDATA" in fresh memory (caller frees), tab-separated like ldns. */
char *rr_format(const struct store_rr *rr);

#endif
