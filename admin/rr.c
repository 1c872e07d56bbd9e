/* admin/rr.c — conversions between ldns records and the store's form (see rr.h). */
#include "config.h"

#include <ctype.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/rr.h"
#include "common/dname.h"
#include "common/err.h"
#include "common/xalloc.h"

/* RFC 2181 §8: TTLs are unsigned 31-bit values. */
#define TTL_MAX 2147483647u

static bool is_meta_type(ldns_rr_type t)
{
    return t == 0 || t == LDNS_RR_TYPE_OPT || t == LDNS_RR_TYPE_TKEY || t == LDNS_RR_TYPE_TSIG ||
           (t >= LDNS_RR_TYPE_IXFR && t <= LDNS_RR_TYPE_ANY);
}

const uint16_t rr_dnssec_types[RR_DNSSEC_TYPES] = {
    LDNS_RR_TYPE_DNSKEY,     LDNS_RR_TYPE_RRSIG,  LDNS_RR_TYPE_NSEC, LDNS_RR_TYPE_NSEC3,
    LDNS_RR_TYPE_NSEC3PARAM, LDNS_RR_TYPE_ZONEMD, LDNS_RR_TYPE_CDS,  LDNS_RR_TYPE_CDNSKEY};

int rr_dnssec_index(uint16_t type)
{
    for (int i = 0; i < RR_DNSSEC_TYPES; i++)
        if (rr_dnssec_types[i] == type)
            return i;
    return -1;
}

/* The RDATA part of ldns's presentation of lr: what follows owner, TTL, class, type. */
static char *rdata_text(const ldns_rr *lr)
{
    char *line = ldns_rr2str_fmt(ldns_output_format_nocomments, lr);
    char *p = line, *out;
    for (int tabs = 0; p && tabs < 4; tabs++) {
        p = strchr(p, '\t');
        if (p)
            p++;
    }
    out = xstrdup(p ? p : "");
    out[strcspn(out, "\n")] = '\0';
    free(line);
    return out;
}

/* RDATA as the daemon will serve it (rd, len bytes of type) read back by ldns: it must
 * be exactly the fields of its type, names uncompressed, as "\# 0" for a CNAME or
 * "A \# 5 ..." written in RFC 3597's generic form are not. Returns the record read back,
 * the caller's to free, or NULL with err. */
static ldns_rr *rdata_reread(ldns_rr_type type, const uint8_t *rd, size_t len, char *err,
                             size_t errlen)
{
    /* the root as owner, type, class, TTL, RDLENGTH, then the RDATA */
    uint8_t *wire = xmalloc(11 + len);
    ldns_rr *rr = NULL;
    ldns_buffer *again = ldns_buffer_new(len + 1);
    size_t pos = 0;
    const ldns_rr_descriptor *d = ldns_rr_descript(type);
    wire[0] = 0;
    ldns_write_uint16(wire + 1, type);
    ldns_write_uint16(wire + 3, LDNS_RR_CLASS_IN);
    ldns_write_uint32(wire + 5, 0);
    ldns_write_uint16(wire + 9, (uint16_t)len);
    memcpy(wire + 11, rd, len);
    if (ldns_wire2rr(&rr, wire, 11 + len, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK ||
        pos != 11 + len || ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(d) ||
        ldns_rr_rdata2buffer_wire(again, rr) != LDNS_STATUS_OK ||
        ldns_buffer_position(again) != len || memcmp(ldns_buffer_begin(again), rd, len) != 0) {
        char *name = ldns_rr_type2str(type);
        snprintf(err, errlen, "%zu bytes of RDATA do not make a record of type %s", len,
                 name ? name : "?");
        free(name);
        ldns_rr_free(rr);
        rr = NULL;
    }
    ldns_buffer_free(again);
    free(wire);
    return rr;
}

int rr_item_from_ldns(const ldns_rr *given, struct rr_item *out, char *err, size_t errlen)
{
    char key[DNAME_KEY_MAX];
    /* RFC 4034 §6.2: names inside RDATA lower-cased, so records that differ only in the
     * case of a name are one record (RFC 4343) */
    ldns_rr *lr = ldns_rr_clone(given);
    ldns_rr2canonical(lr);
    ldns_rdf *owner = ldns_rr_owner(lr);
    ldns_rr_type type = ldns_rr_get_type(lr);
    ldns_buffer *buf = NULL;
    int rc = GTM_EINVAL;

    if (ldns_rr_get_class(lr) != LDNS_RR_CLASS_IN) {
        char *cls = ldns_rr_class2str(ldns_rr_get_class(lr));
        snprintf(err, errlen, "class %s is not served (only IN)", cls ? cls : "?");
        free(cls);
        goto out;
    }
    if (is_meta_type(type)) {
        snprintf(err, errlen, "type %u is a query or meta type, not data", (unsigned)type);
        goto out;
    }
    if (ldns_rr_ttl(lr) > TTL_MAX) {
        snprintf(err, errlen, "TTL %u is above %u (RFC 2181 section 8)", ldns_rr_ttl(lr), TTL_MAX);
        goto out;
    }
    if (dname_key_from_wire(ldns_rdf_data(owner), ldns_rdf_size(owner), key, sizeof key) != 0) {
        snprintf(err, errlen, "malformed owner name");
        goto out;
    }
    buf = ldns_buffer_new(512);
    if (ldns_rr_rdata2buffer_wire(buf, lr) != LDNS_STATUS_OK || ldns_buffer_position(buf) > 65535) {
        snprintf(err, errlen, "RDATA cannot be encoded");
        goto out;
    }
    /* from here on the record as read back: RDATA given in the generic form (RFC 3597
     * §5) of a known type is kept in the type's own form, its names lower-cased too */
    ldns_rr *back =
        rdata_reread(type, ldns_buffer_begin(buf), ldns_buffer_position(buf), err, errlen);
    if (!back)
        goto out;
    ldns_rdf_deep_free(ldns_rr_owner(back)); /* the root, as read back */
    ldns_rr_set_owner(back, ldns_rdf_clone(owner));
    ldns_rr_set_ttl(back, ldns_rr_ttl(lr));
    ldns_rr2canonical(back);
    ldns_rr_free(lr);
    lr = back;
    ldns_buffer_clear(buf);
    if (ldns_rr_rdata2buffer_wire(buf, lr) != LDNS_STATUS_OK) {
        snprintf(err, errlen, "RDATA cannot be encoded");
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->owner = xstrdup(key);
    out->rdata = rdata_text(lr);
    out->wire = xmalloc(ldns_buffer_position(buf));
    memcpy(out->wire, ldns_buffer_begin(buf), ldns_buffer_position(buf));
    out->rr = (struct store_rr){
        .owner = out->owner,
        .type = type,
        .ttl_s = ldns_rr_ttl(lr),
        .rdata = out->rdata,
        .wire = out->wire,
        .wire_len = ldns_buffer_position(buf),
    };
    rc = 0;
out:
    ldns_buffer_free(buf);
    ldns_rr_free(lr);
    return rc;
}

/* Where the second of two copies of origin (wire, with its root label) that end name
 * starts, or 0 when name does not end so. Labels compare without regard to case. */
static size_t origin_twice(const ldns_rdf *name, const ldns_rdf *origin)
{
    const uint8_t *n = ldns_rdf_data(name), *o = ldns_rdf_data(origin);
    size_t nl = ldns_rdf_size(name), body = ldns_rdf_size(origin) - 1;
    size_t first = SIZE_MAX, p = 0;
    if (body == 0 || nl < 2 * body + 1)
        return 0;
    for (; p < nl - 1 && nl - p > body + 1; p += n[p] + 1U)
        if (nl - p == 2 * body + 1)
            first = p;
    if (first == SIZE_MAX || nl - p != body + 1)
        return 0;
    for (size_t i = 0; i < body; i++)
        if (tolower(n[first + i]) != tolower(o[i]) || tolower(n[p + i]) != tolower(o[i]))
            return 0;
    return p;
}

/* name cut where origin_twice() says, ending in origin once. */
static ldns_rdf *origin_once(const ldns_rdf *name, size_t at)
{
    uint8_t wire[LDNS_MAX_DOMAINLEN + 1];
    memcpy(wire, ldns_rdf_data(name), at);
    wire[at] = 0;
    return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, at + 1, wire);
}

static bool ascii_name(const ldns_rdf *name)
{
    const uint8_t *n = ldns_rdf_data(name);
    for (size_t i = 0; i < ldns_rdf_size(name); i++)
        if (n[i] >= 0x80)
            return false;
    return true;
}

bool rr_names_ascii(const ldns_rr *lr)
{
    if (!ascii_name(ldns_rr_owner(lr)))
        return false;
    for (size_t i = 0; i < ldns_rr_rd_count(lr); i++) {
        const ldns_rdf *f = ldns_rr_rdf(lr, i);
        if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME && !ascii_name(f))
            return false;
    }
    return true;
}

int rr_origin_once(ldns_rr *lr, const ldns_rdf *origin)
{
    int n = 0;
    size_t at = origin_twice(ldns_rr_owner(lr), origin);
    if (at) {
        ldns_rdf *was = ldns_rr_owner(lr);
        ldns_rr_set_owner(lr, origin_once(was, at));
        ldns_rdf_deep_free(was);
        n++;
    }
    for (size_t i = 0; i < ldns_rr_rd_count(lr); i++) {
        const ldns_rdf *f = ldns_rr_rdf(lr, i);
        if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME && (at = origin_twice(f, origin))) {
            ldns_rdf_deep_free(ldns_rr_set_rdf(lr, origin_once(f, at), i));
            n++;
        }
    }
    return n;
}

/* The next blank-separated field of *p: its start, and its length in *len. */
static const char *field(const char **p, size_t *len)
{
    const char *s = *p;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = 0;
    while (s[n] && !isspace((unsigned char)s[n]))
        n++;
    *p = s + n;
    *len = n;
    return s;
}

/* Where the RDATA of entry (a presentation line; one starting with a blank has no
 * owner) starts: past the owner, TTL, class and type. */
static const char *rdata_start(const char *entry)
{
    const char *p = entry, *tok;
    size_t len = 0;
    if (!isspace((unsigned char)*p))
        field(&p, &len); /* the owner */
    do                   /* TTL and class, then the type */
        tok = field(&p, &len);
    while (len && (isdigit((unsigned char)*tok) || rr_is_class(tok, len)));
    return p;
}

/* Other providers' extensions that exports carry, and what to do about them. */
#define ALIAS_HINT                                                                                 \
    "ALIAS (ANAME) is a provider's extension, no DNS record: write the A/AAAA records it "         \
    "stands for, or make the name a managed name (gtmctl policy set)"
static const struct {
    const char *word; /* in an owner, TTL, class or type position */
    const char *hint;
} extensions[] = {
    {"AWS", "a Route 53 alias (cli53's AWS ALIAS) is no DNS record: write the A/AAAA records "
            "it stands for, or make the name a managed name (gtmctl policy set)"},
    {"ALIAS", ALIAS_HINT},
    {"ANAME", ALIAS_HINT},
    {"LUA", "a PowerDNS LUA record is no DNS record: gtm's policies choose answers by health, "
            "place and weight (gtmctl policy set)"},
    {"WINS", "a Windows DNS WINS record is no DNS record: remove it"},
    {"WINSR", "a Windows DNS WINS-R record is no DNS record: remove it"},
    {"[AGE:", "a Windows DNS aging mark ([AGE:...]) is no part of a record: remove it"},
};

/* The hint for an entry that uses one of those extensions after its owner, or NULL. */
static const char *extension_hint(const char *entry)
{
    const char *p = entry;
    while (*p && !isspace((unsigned char)*p))
        p++; /* the owner, if any */
    for (int field = 0; field < 3 && *p; field++) {
        while (isspace((unsigned char)*p))
            p++;
        size_t len = 0;
        while (p[len] && !isspace((unsigned char)p[len]))
            len++;
        for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
            size_t wlen = strlen(extensions[i].word);
            if (strncasecmp(p, extensions[i].word, wlen) == 0 &&
                (len == wlen || extensions[i].word[wlen - 1] == ':'))
                return extensions[i].hint;
        }
        p += len;
    }
    return NULL;
}

/* Three decimal digits, as in an escape \DDD? */
static bool is_ddd(const char *p)
{
    return isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
           isdigit((unsigned char)p[2]);
}

/* Does the entry hold a quoted string longer than a character-string's 255 bytes? */
static bool has_long_string(const char *entry)
{
    for (const char *p = strchr(entry, '"'); p; p = *p ? strchr(p + 1, '"') : NULL) {
        size_t n = 0;
        for (p++; *p && *p != '"'; n++)
            p += p[0] != '\\' || !p[1] ? 1 : is_ddd(p + 1) ? 4 : 2; /* \X, \DDD */
        if (n > 255)
            return true;
        if (!*p)
            break;
    }
    return false;
}

/* An address of the other family as the RDATA of an A or AAAA record. */
static const char *family_hint(const char *entry)
{
    const char *rdata = rdata_start(entry), *type = rdata, *p = rdata;
    size_t tlen = 0, len = 0;
    while (type > entry && isspace((unsigned char)type[-1]))
        type--;
    while (type > entry && !isspace((unsigned char)type[-1]))
        type--, tlen++;
    const char *addr = field(&p, &len);
    bool v6 = memchr(addr, ':', len) != NULL;
    if (tlen == 1 && strncasecmp(type, "A", 1) == 0 && v6)
        return "an IPv6 address goes in an AAAA record";
    if (tlen == 4 && strncasecmp(type, "AAAA", 4) == 0 && !v6 && memchr(addr, '.', len))
        return "an IPv4 address goes in an A record";
    return NULL;
}

const char *rr_parse_hint(const char *entry)
{
    const char *hint = extension_hint(entry);
    if (!hint)
        hint = family_hint(entry);
    if (!hint && has_long_string(entry))
        hint = "a string holds at most 255 bytes (RFC 1035 section 3.3): write longer TXT data as "
               "several quoted strings";
    return hint;
}

int rr_item_from_text(const char *text, const char *origin, struct rr_item *out, int *once,
                      char *err, size_t errlen)
{
    ldns_rdf *o = NULL;
    ldns_rr *lr = NULL;
    int rc = GTM_EPARSE;
    if (ldns_str2rdf_dname(&o, origin) != LDNS_STATUS_OK) {
        snprintf(err, errlen, "'%s' is not a domain name", origin);
        goto out;
    }
    char *quoted = rr_caa_quoted(text);
    ldns_status st = ldns_rr_new_frm_str(&lr, quoted ? quoted : text, 0, o, NULL);
    free(quoted);
    if (st != LDNS_STATUS_OK) {
        const char *hint = rr_parse_hint(text);
        snprintf(err, errlen, "%s in '%s'%s%s", ldns_get_errorstr_by_id(st), text, hint ? ": " : "",
                 hint ? hint : "");
        goto out;
    }
    int n = rr_origin_once(lr, o);
    if (once)
        *once = n;
    if (!rr_names_ascii(lr)) {
        snprintf(err, errlen, "a name in '%s' is not ASCII: %s", text, RR_IDN_HINT);
        rc = GTM_EINVAL;
        goto out;
    }
    if ((rc = rr_text_check(text, lr, err, errlen)) == 0)
        rc = rr_item_from_ldns(lr, out, err, errlen);
out:
    ldns_rr_free(lr);
    ldns_rdf_deep_free(o);
    return rc;
}

/* A time in seconds, or in units like 1h30m (as BIND reads TTLs and SOA timers), of at
 * most max. Returns 0, or GTM_EPARSE. */
static int period_parse(const char *tok, size_t len, uint64_t max, uint32_t *out)
{
    uint64_t total = 0;
    size_t i = 0;
    if (len == 0)
        return GTM_EPARSE;
    while (i < len) {
        uint64_t v = 0, unit = 1;
        if (!isdigit((unsigned char)tok[i]))
            return GTM_EPARSE;
        for (; i < len && isdigit((unsigned char)tok[i]); i++)
            if ((v = v * 10 + (uint64_t)(tok[i] - '0')) > max)
                return GTM_EPARSE;
        if (i < len) {
            static const char units[] = "sSmMhHdDwW";
            static const uint32_t secs[] = {1, 60, 3600, 86400, 604800};
            const char *u = strchr(units, tok[i]);
            if (!u || !*u)
                return GTM_EPARSE;
            unit = secs[(u - units) / 2];
            i++;
        }
        if ((total += v * unit) > max)
            return GTM_EPARSE;
    }
    *out = (uint32_t)total;
    return 0;
}

int rr_ttl_parse(const char *tok, size_t len, uint32_t *out)
{
    return period_parse(tok, len, TTL_MAX, out);
}

bool rr_is_class(const char *tok, size_t len)
{
    return (len == 2 && (strncasecmp(tok, "IN", 2) == 0 || strncasecmp(tok, "CH", 2) == 0 ||
                         strncasecmp(tok, "HS", 2) == 0 || strncasecmp(tok, "CS", 2) == 0)) ||
           (len > 5 && strncasecmp(tok, "CLASS", 5) == 0);
}

char *rr_caa_quoted(const char *entry)
{
    const char *rdata = rdata_start(entry), *type = rdata, *p = rdata;
    size_t len = 0, n = strlen(entry);
    while (type > entry && isspace((unsigned char)type[-1]))
        type--;
    if (type - entry < 4 || strncasecmp(type - 3, "CAA", 3) != 0 ||
        !isspace((unsigned char)type[-4]))
        return NULL;
    field(&p, &len); /* flags */
    field(&p, &len); /* tag */
    const char *value = field(&p, &len);
    while (n > 0 && isspace((unsigned char)entry[n - 1]))
        n--; /* ldns takes blanks after a quoted value for more data */
    if (len == 0)
        return NULL;
    if (*value == '"' || value + len != entry + n) /* quoted, or blanks inside */
        return n < strlen(entry) ? xasprintf("%.*s", (int)n, entry) : NULL;
    return xasprintf("%.*s\"%.*s\"", (int)(value - entry), entry, (int)len, value);
}

/* ldns reads an odd number of hex digits as if a 0 followed: refuses that in the
 * digest, fingerprint or certificate data of a DS, SSHFP, TLSA or SMIMEA record. */
static int hex_check(const char *rdata, uint16_t type, char *err, size_t errlen)
{
    /* the numeric fields before the hex data */
    int skip = type == LDNS_RR_TYPE_DS || type == LDNS_RR_TYPE_TLSA || type == 53 /* SMIMEA */
                   ? 3
                   : type == LDNS_RR_TYPE_SSHFP ? 2 : -1;
    const char *p = rdata;
    size_t len = 0, digits = 0;
    if (skip < 0)
        return 0;
    for (int i = 0; i < skip; i++)
        field(&p, &len);
    for (; *p; p++)
        digits += isxdigit((unsigned char)*p) != 0;
    if (digits % 2 == 0)
        return 0;
    snprintf(err, errlen, "%s data of %zu hex digits: an odd number, a digit is missing",
             ldns_rr_descript(type)->_name, digits);
    return GTM_EPARSE;
}

/* RDATA in RFC 3597's generic form ("\# LENGTH HEX") of a known type: ldns reads the
 * type's fields from it and drops what follows, so "A \# 5 0102030405" would be read as
 * 1.2.3.4. Refuses a length other than that of what ldns read. */
static int generic_check(const char *rdata, const ldns_rr *lr, char *err, size_t errlen)
{
    const char *p = rdata, *tok = field(&p, &(size_t){0});
    size_t have = 0;
    if (strncmp(tok, "\\#", 2) != 0 || !isspace((unsigned char)tok[2]))
        return 0;
    unsigned long said = strtoul(p, NULL, 10);
    for (size_t i = 0; i < ldns_rr_rd_count(lr); i++)
        have += ldns_rdf_size(ldns_rr_rdf(lr, i));
    if (said == have)
        return 0;
    char *name = ldns_rr_type2str(ldns_rr_get_type(lr));
    snprintf(err, errlen,
             "%lu bytes of RDATA do not make a record of type %s (its fields take %zu)", said,
             name ? name : "?", have);
    free(name);
    return GTM_EPARSE;
}

/* ldns wraps an SOA serial or timer past 32 bits (4294967296 is read as 0): refuses
 * them, and a serial that is not a number. */
static int soa_check(const char *rdata, uint16_t type, char *err, size_t errlen)
{
    static const char *const what[] = {"serial", "refresh", "retry", "expire", "minimum"};
    if (type != LDNS_RR_TYPE_SOA || strncmp(rdata, "\\#", 2) == 0)
        return 0; /* the generic form: generic_check's */
    char *text = xstrdup(rdata);
    const char *p = text, *tok;
    size_t len = 0;
    int rc = 0;
    for (char *c = text; *c; c++)
        if (*c == '(' || *c == ')')
            *c = ' ';
    field(&p, &len); /* MNAME */
    field(&p, &len); /* RNAME */
    for (int i = 0; i < 5 && rc == 0; i++) {
        uint32_t v;
        tok = field(&p, &len);
        bool digits = strspn(tok, "0123456789") >= len;
        if (len && ((i == 0 && !digits) || period_parse(tok, len, UINT32_MAX, &v))) {
            snprintf(err, errlen, "SOA %s '%.*s': %s", what[i], (int)len, tok,
                     i == 0 ? "a number up to 4294967295"
                            : "seconds up to 4294967295, or like 1h30m");
            rc = GTM_EPARSE;
        }
    }
    free(text);
    return rc;
}

/* ldns takes a LOC latitude or longitude out of range (91 0 0 N): refuses it. */
static int loc_check(const ldns_rr *lr, char *err, size_t errlen)
{
    if (ldns_rr_get_type(lr) != LDNS_RR_TYPE_LOC || ldns_rr_rd_count(lr) != 1 ||
        ldns_rdf_size(ldns_rr_rdf(lr, 0)) < 16)
        return 0;
    const uint8_t *d = ldns_rdf_data(ldns_rr_rdf(lr, 0));
    if (d[0] != 0)
        return 0; /* another version of LOC: no fields known */
    /* RFC 1876: thousandths of an arc second, offset by 2^31 */
    int64_t lat = (int64_t)ldns_read_uint32(d + 4) - 2147483648LL;
    int64_t lon = (int64_t)ldns_read_uint32(d + 8) - 2147483648LL;
    if (llabs(lat) <= 90LL * 3600000 && llabs(lon) <= 180LL * 3600000)
        return 0;
    snprintf(err, errlen, "LOC %s out of range (%s)",
             llabs(lat) > 90LL * 3600000 ? "latitude" : "longitude",
             llabs(lat) > 90LL * 3600000 ? "at most 90 degrees" : "at most 180 degrees");
    return GTM_EPARSE;
}

int rr_text_check(const char *entry, const ldns_rr *lr, char *err, size_t errlen)
{
    const char *rdata = rdata_start(entry);
    uint16_t type = ldns_rr_get_type(lr);
    int rc = hex_check(rdata, type, err, errlen);
    if (rc == 0)
        rc = soa_check(rdata, type, err, errlen);
    if (rc == 0)
        rc = loc_check(lr, err, errlen);
    return rc ? rc : generic_check(rdata, lr, err, errlen);
}

void rr_item_fini(struct rr_item *it)
{
    if (!it)
        return;
    free(it->owner);
    free(it->rdata);
    free(it->wire);
}

int rr_item_cmp(const void *a, const void *b)
{
    const struct store_rr *x = &((const struct rr_item *)a)->rr;
    const struct store_rr *y = &((const struct rr_item *)b)->rr;
    int d = strcmp(x->owner, y->owner);
    if (d)
        return d;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    size_t n = x->wire_len < y->wire_len ? x->wire_len : y->wire_len;
    d = memcmp(x->wire, y->wire, n);
    if (d)
        return d;
    return x->wire_len < y->wire_len ? -1 : x->wire_len > y->wire_len;
}

int rr_name_parse(const char *text, const ldns_rdf *origin, ldns_rdf **out)
{
    ldns_rdf *name = NULL;
    size_t len = strlen(text);
    bool absolute = len > 0 && text[len - 1] == '.' && (len < 2 || text[len - 2] != '\\');
    if (strcmp(text, "@") == 0 && origin) {
        *out = ldns_rdf_clone(origin);
        return 0;
    }
    if (ldns_str2rdf_dname(&name, text) != LDNS_STATUS_OK || !name)
        return GTM_EPARSE;
    if (!absolute && origin) {
        /* ldns made "a.b" absolute ("a.b."); cat_clone drops that root label. */
        ldns_rdf *full = ldns_dname_cat_clone(name, origin);
        ldns_rdf_deep_free(name);
        if (!full)
            return GTM_EPARSE;
        name = full;
    }
    *out = name;
    return 0;
}

int rr_name_key(const char *text, const char *zone, char *key, size_t keylen)
{
    ldns_rdf *origin = NULL, *name = NULL;
    int rc = GTM_EPARSE;
    if (ldns_str2rdf_dname(&origin, zone) == LDNS_STATUS_OK &&
        rr_name_parse(text, origin, &name) == 0)
        rc = dname_key_from_wire(ldns_rdf_data(name), ldns_rdf_size(name), key, keylen);
    ldns_rdf_deep_free(origin);
    ldns_rdf_deep_free(name);
    return rc;
}

bool rr_key_in_zone(const char *owner, const char *zone)
{
    size_t lo = strlen(owner), lz = strlen(zone);
    if (strcmp(zone, ".") == 0 || strcmp(owner, zone) == 0)
        return true;
    return lo > lz && owner[lo - lz - 1] == '.' && strcmp(owner + lo - lz, zone) == 0;
}

char *rr_format(const struct store_rr *rr)
{
    char *type = ldns_rr_type2str((ldns_rr_type)rr->type);
    char *s = xasprintf("%s\t%u\tIN\t%s\t%s", rr->owner, rr->ttl_s, type ? type : "?", rr->rdata);
    free(type);
    return s;
}
