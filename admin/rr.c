/* admin/rr.c — conversions between ldns records and the store's form (see rr.h). */
#include "config.h"

#include <ctype.h>

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

int rr_item_from_text(const char *text, const char *origin, struct rr_item *out, char *err,
                      size_t errlen)
{
    ldns_rdf *o = NULL;
    ldns_rr *lr = NULL;
    int rc = GTM_EPARSE;
    if (ldns_str2rdf_dname(&o, origin) != LDNS_STATUS_OK) {
        snprintf(err, errlen, "'%s' is not a domain name", origin);
        goto out;
    }
    ldns_status st = ldns_rr_new_frm_str(&lr, text, 0, o, NULL);
    if (st != LDNS_STATUS_OK) {
        snprintf(err, errlen, "%s in '%s'", ldns_get_errorstr_by_id(st), text);
        goto out;
    }
    if ((rc = rr_hex_check(text, ldns_rr_get_type(lr), err, errlen)) == 0)
        rc = rr_item_from_ldns(lr, out, err, errlen);
out:
    ldns_rr_free(lr);
    ldns_rdf_deep_free(o);
    return rc;
}

bool rr_is_class(const char *tok, size_t len)
{
    return (len == 2 && (strncasecmp(tok, "IN", 2) == 0 || strncasecmp(tok, "CH", 2) == 0 ||
                         strncasecmp(tok, "HS", 2) == 0 || strncasecmp(tok, "CS", 2) == 0)) ||
           (len > 5 && strncasecmp(tok, "CLASS", 5) == 0);
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

int rr_hex_check(const char *entry, uint16_t type, char *err, size_t errlen)
{
    /* the numeric fields before the hex data */
    int skip = type == LDNS_RR_TYPE_DS || type == LDNS_RR_TYPE_TLSA || type == 53 /* SMIMEA */
                   ? 3
                   : type == LDNS_RR_TYPE_SSHFP ? 2 : -1;
    const char *p = entry, *tok;
    size_t len = 0, digits = 0;
    if (skip < 0)
        return 0;
    if (!isspace((unsigned char)*p))
        field(&p, &len); /* the owner */
    do                   /* TTL and class, then the type */
        tok = field(&p, &len);
    while (len && (isdigit((unsigned char)*tok) || rr_is_class(tok, len)));
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
