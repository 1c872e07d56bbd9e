/* admin/zonefile.c — master file reader (see zonefile.h). One entry is one logical
 * line: parentheses join physical lines, ';' starts a comment outside quotes, and a
 * backslash escapes the next character. Entries starting with '$' are directives. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "admin/rr.h"
#include "admin/zonefile.h"
#include "common/err.h"
#include "common/xalloc.h"

/* What a TTL may be, for messages. */
#define TTL_FORMS "seconds up to 2147483647, or like 1h30m"

/* What the import notes of records as other providers' exports write them: what a
 * comment after a record says that the record alone does not, and names written in full
 * without their final dot. */
enum zf_mark {
    ZF_CF_PROXIED,   /* Cloudflare: "cf_tags=cf-proxied:true" */
    ZF_AWS_ROUTING,  /* Route 53 through cli53: "AWS routing=\"WEIGHTED\" weight=70 ..." */
    ZF_ORIGIN_TWICE, /* "example.com\t3600\tIN\tSOA ..." in the zone example.com. */
    ZF_NOT_ASCII,    /* "bücher A 192.0.2.1" */
    ZF_MARKS
};

static const struct {
    const char *needle;  /* in the comment; NULL: not a comment's */
    const char *what;    /* what it says */
    const char *meaning; /* what that means for the import */
} marks[ZF_MARKS] = {
    [ZF_CF_PROXIED] = {"cf-proxied:true", "Cloudflare's cf-proxied:true",
                       "Cloudflare answered with its own addresses and passed the traffic on to "
                       "the ones written, which are now given out directly"},
    [ZF_AWS_ROUTING] = {"AWS routing=", "a Route 53 routing policy (cli53's 'AWS routing=')",
                        "imported as plain records, answered all together; for weighted, latency, "
                        "geographic or failover answers make the name a managed name (gtmctl "
                        "policy set)"},
    [ZF_ORIGIN_TWICE] = {NULL, "a name written in full without its final dot",
                         "taken as the full name, not as relative to the origin (which would end "
                         "in it twice); Cloudflare's exports write their SOA's owner so"},
    [ZF_NOT_ASCII] = {NULL, "a name that is not ASCII", "imported as those bytes: " RR_IDN_HINT},
};

struct zf_state {
    const struct zonefile_ops *ops;
    char *err; /* the errors, one a line */
    size_t errlen;
    int nerrors;
    int first_rc; /* the code of the first error */
    bool warned_no_ttl;
    /* records whose comments say how another provider served them (enum zf_mark) */
    size_t marked[ZF_MARKS];
    char first_marked[ZF_MARKS][320]; /* "FILE:LINE" of the first */
};

/* Per-file parsing context: the directives' state. RFC 1035 §5.1: an $INCLUDE's
 * $ORIGIN changes stay inside the included file. */
struct zf_file {
    const char *path;
    ldns_rdf *origin;
    ldns_rdf *prev; /* owner of the previous record, for entries with a blank owner */
    /* TTL of records that give none: $TTL when set (or the MINIMUM of an SOA record
     * that had no TTL to take), else the last TTL given (RFC 1035 §5.1, as BIND does),
     * else ZONEFILE_DEFAULT_TTL */
    uint32_t default_ttl;
    bool have_default;
    uint32_t last_ttl;
    bool have_last;
};

static int read_whole(const char *path, char **out, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    int rc = 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (!f)
        return -errno;
    if (fstat(fileno(f), &sb) != 0) {
        rc = -errno;
        goto out;
    }
    if (S_ISDIR(sb.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    /* a regular file, or a pipe, a FIFO, /dev/stdin: read to its end */
    do {
        if (len == cap) {
            if (cap > ZONEFILE_MAX_BYTES) {
                rc = -EFBIG;
                goto out;
            }
            /* one more byte than the most we take tells a file that is too big */
            cap = S_ISREG(sb.st_mode) && len == 0 ? (size_t)sb.st_size + 1 : 2 * cap + 65536;
            if (cap > ZONEFILE_MAX_BYTES + 1)
                cap = ZONEFILE_MAX_BYTES + 1;
            buf = xrealloc(buf, cap + 1);
        }
        len += fread(buf + len, 1, cap - len, f);
    } while (!feof(f) && !ferror(f));
    if (ferror(f)) {
        rc = -EIO;
        goto out;
    }
    if (len > ZONEFILE_MAX_BYTES) {
        rc = -EFBIG;
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    *len_out = len;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Appends an error to s->err: the first always (cut to fit), later ones when whole. */
static void add_error(struct zf_state *s, const char *msg)
{
    size_t len = s->nerrors ? strlen(s->err) : 0;
    if (s->nerrors == 0)
        snprintf(s->err, s->errlen, "%s", msg);
    else if (len + 1 + strlen(msg) < s->errlen)
        snprintf(s->err + len, s->errlen - len, "\n%s", msg);
    s->nerrors++;
}

static void vformat(char *out, size_t cap, const struct zf_file *zf, int line, const char *fmt,
                    va_list ap)
{
    int n = snprintf(out, cap, "%s:%d: ", zf->path, line);
    if (n > 0 && (size_t)n < cap)
        vsnprintf(out + n, cap - (size_t)n, fmt, ap);
}

static int fail(struct zf_state *s, const struct zf_file *zf, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct zf_state *s, const struct zf_file *zf, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(msg, sizeof msg, zf, line, fmt, ap);
    va_end(ap);
    add_error(s, msg);
    return GTM_EPARSE;
}

static void warn(struct zf_state *s, const struct zf_file *zf, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warn(struct zf_state *s, const struct zf_file *zf, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!s->ops->warn)
        return;
    va_start(ap, fmt);
    vformat(msg, sizeof msg, zf, line, fmt, ap);
    va_end(ap);
    s->ops->warn(s->ops->arg, msg);
}

/* After an error in one record (or one $GENERATE): keep its code, and read on unless
 * there were too many. */
static int read_on(struct zf_state *s, const struct zf_file *zf, int line, int rc)
{
    if (rc == 0)
        return 0;
    if (!s->first_rc)
        s->first_rc = rc;
    if (s->nerrors < ZONEFILE_MAX_ERRORS)
        return 0;
    fail(s, zf, line, "stopped after %d errors", s->nerrors);
    return rc;
}

/* Next whitespace-separated token of *p (in place); NULL at the end. */
static char *token(char **p)
{
    char *s = *p;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return NULL;
    char *e = s;
    while (*e && !isspace((unsigned char)*e))
        e++;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

static int read_file(struct zf_state *s, const char *path, const ldns_rdf *origin,
                     struct zf_file *parent, int depth, int from_line);

/* The marks (1 << enum zf_mark) of one comment's text. */
static unsigned comment_marks(const char *text, size_t len)
{
    unsigned found = 0;
    for (int m = 0; m < ZF_MARKS; m++)
        if (marks[m].needle && memmem(text, len, marks[m].needle, strlen(marks[m].needle)))
            found |= 1u << m;
    return found;
}

static void count_marks(struct zf_state *s, const struct zf_file *zf, unsigned found, int line)
{
    for (int m = 0; m < ZF_MARKS; m++)
        if (found & (1u << m) && s->marked[m]++ == 0)
            snprintf(s->first_marked[m], sizeof s->first_marked[m], "%s:%d", zf->path, line);
}

static int record(struct zf_state *s, struct zf_file *zf, const char *entry, int line);

/* ---- $GENERATE (BIND's extension) ------------------------------------------------ */

/* Iterators and offsets stay within this: their sums cannot overflow. */
#define GEN_VALUE_MAX 4294967295LL

/* Appends to out (size cap, length *len) one value of a $GENERATE template: d, o, x, X
 * zero-padded to width; n, N the nibbles lowest first, dot-separated, at least width
 * characters (as in ip6.arpa owners). Returns false when it does not fit. */
static bool gen_value(char *out, size_t cap, size_t *len, long long v, unsigned width, char base)
{
    int n = 0;
    if (base == 'n' || base == 'N') {
        const char *digits = base == 'n' ? "0123456789abcdef" : "0123456789ABCDEF";
        size_t start = *len;
        do {
            if (*len + 2 >= cap)
                return false;
            if (*len > start)
                out[(*len)++] = '.';
            out[(*len)++] = digits[v & 15];
            v >>= 4;
        } while (v || *len - start < width);
        out[*len] = '\0';
        return true;
    }
    switch (base) {
    case 'o': n = snprintf(out + *len, cap - *len, "%0*llo", (int)width, v); break;
    case 'x': n = snprintf(out + *len, cap - *len, "%0*llx", (int)width, v); break;
    case 'X': n = snprintf(out + *len, cap - *len, "%0*llX", (int)width, v); break;
    default: n = snprintf(out + *len, cap - *len, "%0*lld", (int)width, v); break;
    }
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* Expands template t for iterator value i into out: '$' is i, '${offset[,width[,base]]}'
 * i + offset in that form, '\$' a '$'; other escapes stay for ldns. Returns NULL, or
 * what is wrong. */
static const char *gen_expand(const char *t, long long i, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *p = t; *p;) {
        if (p[0] == '\\' && p[1] == '$') {
            p += 2;
            if (len + 1 >= cap)
                return "the result is too long";
            out[len++] = '$';
            out[len] = '\0';
            continue;
        }
        if (p[0] != '$') {
            size_t n = p[0] == '\\' && p[1] ? 2 : 1;
            if (len + n >= cap)
                return "the result is too long";
            memcpy(out + len, p, n);
            out[len += n] = '\0';
            p += n;
            continue;
        }
        long long offset = 0;
        unsigned width = 0;
        char base = 'd';
        p++;
        if (*p == '{') {
            char *end;
            int nread = 0;
            offset = strtoll(p + 1, &end, 10);
            if (end == p + 1 || offset > GEN_VALUE_MAX || offset < -GEN_VALUE_MAX)
                return "a '${' without an offset (a number of at most 10 digits)";
            if (*end == ',') {
                if (sscanf(end + 1, "%3u%n", &width, &nread) != 1)
                    return "a '${offset,' without a width";
                end += 1 + nread;
                if (*end == ',') {
                    base = end[1];
                    if (!base || !strchr("doxXnN", base))
                        return "a base other than d, o, x, X, n or N";
                    end += 2;
                }
            }
            if (*end != '}')
                return "a '${' without its '}'";
            p = end + 1;
        }
        if (i + offset < 0)
            return "a value below 0";
        if (!gen_value(out, cap, &len, i + offset, width, base))
            return "the result is too long";
    }
    return NULL;
}

/* START-STOP or START-STOP/STEP, 0 <= START <= STOP < 2^32, 1 <= STEP < 2^32. */
static bool gen_range(const char *r, long long *start, long long *stop, long long *step)
{
    char *end;
    *step = 1;
    if (!isdigit((unsigned char)r[0]))
        return false;
    *start = strtoll(r, &end, 10);
    if (*end != '-' || !isdigit((unsigned char)end[1]))
        return false;
    *stop = strtoll(end + 1, &end, 10);
    if (*end == '/') {
        if (!isdigit((unsigned char)end[1]))
            return false;
        *step = strtoll(end + 1, &end, 10);
    }
    return !*end && *stop >= *start && *stop <= GEN_VALUE_MAX && *step >= 1 &&
           *step <= GEN_VALUE_MAX;
}

/* $GENERATE START-STOP[/STEP] LHS [TTL] [CLASS] TYPE RHS: one record per value, owner LHS
 * and data RHS expanded (the rest of the line, so data of several fields works too). */
static int generate(struct zf_state *s, struct zf_file *zf, char *args, int line)
{
    char *p = args, *range = token(&p), *lhs = token(&p), *tok, head[64] = "";
    long long start, stop, step;
    if (!range || !lhs)
        return fail(s, zf, line,
                    "$GENERATE takes a range, an owner, [TTL] [class], a type "
                    "and data");
    if (!gen_range(range, &start, &stop, &step))
        return fail(s, zf, line,
                    "$GENERATE: '%s' is not a range (START-STOP or START-STOP/STEP, "
                    "0 <= START <= STOP < 2^32)",
                    range);
    if ((stop - start) / step >= ZONEFILE_GENERATE_MAX)
        return fail(s, zf, line, "$GENERATE: %s makes more than %d records", range,
                    ZONEFILE_GENERATE_MAX);
    /* the fields before the data: TTL and class, as written, then the type */
    for (int k = 0; k < 3 && (tok = token(&p)); k++) {
        snprintf(head + strlen(head), sizeof head - strlen(head), " %s", tok);
        if (!isdigit((unsigned char)tok[0]) && strcasecmp(tok, "IN") != 0)
            break; /* the type */
    }
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return fail(s, zf, line, "$GENERATE: no data after the type");
    char owner[1100], data[4096], entry[5300];
    for (long long i = start; i <= stop; i += step) { /* no overflow: both < 2^32 */
        const char *why = gen_expand(lhs, i, owner, sizeof owner);
        if (!why)
            why = gen_expand(p, i, data, sizeof data);
        if (why)
            return fail(s, zf, line, "$GENERATE: %s", why);
        snprintf(entry, sizeof entry, "%s%s %s", owner, head, data);
        int rc = record(s, zf, entry, line);
        if (rc)
            return rc;
    }
    return 0;
}

static int directive(struct zf_state *s, struct zf_file *zf, char *entry, int line, int depth)
{
    char *p = entry;
    char *name = token(&p);
    if (strcasecmp(name, "$GENERATE") == 0)
        return read_on(s, zf, line, generate(s, zf, p, line));
    char *a1 = token(&p), *a2 = token(&p), *a3 = token(&p);
    if (strcasecmp(name, "$ORIGIN") == 0) {
        ldns_rdf *o = NULL;
        if (!a1 || a2)
            return fail(s, zf, line, "$ORIGIN takes one domain name");
        if (rr_name_parse(a1, zf->origin, &o) != 0)
            return fail(s, zf, line, "$ORIGIN: '%s' is not a domain name", a1);
        ldns_rdf_deep_free(zf->origin);
        zf->origin = o;
        return 0;
    }
    if (strcasecmp(name, "$TTL") == 0) {
        uint32_t ttl;
        if (!a1 || a2)
            return fail(s, zf, line, "$TTL takes one TTL");
        if (rr_ttl_parse(a1, strlen(a1), &ttl))
            return fail(s, zf, line, "$TTL: '%s' is not a TTL (" TTL_FORMS ")", a1);
        zf->default_ttl = ttl;
        zf->have_default = true;
        return 0;
    }
    if (strcasecmp(name, "$INCLUDE") == 0) {
        ldns_rdf *o = NULL;
        char *dir = NULL, *inc;
        int rc;
        if (!a1 || a3)
            return fail(s, zf, line, "$INCLUDE takes a file name and an optional origin");
        if (a2 && rr_name_parse(a2, zf->origin, &o) != 0)
            return fail(s, zf, line, "$INCLUDE: '%s' is not a domain name", a2);
        if (depth + 1 >= ZONEFILE_INCLUDE_DEPTH) {
            ldns_rdf_deep_free(o);
            return fail(s, zf, line, "$INCLUDE nested deeper than %d files (a loop?)",
                        ZONEFILE_INCLUDE_DEPTH);
        }
        /* RFC 1035 §5.1 leaves a relative path's meaning open; we read it relative to
         * the including file, so a tree of zone files can be moved as a whole. */
        if (a1[0] == '/') {
            inc = xstrdup(a1);
        } else {
            char *copy = xstrdup(zf->path);
            dir = xstrdup(dirname(copy));
            free(copy);
            inc = xasprintf("%s/%s", dir, a1);
        }
        rc = read_file(s, inc, o ? o : zf->origin, zf, depth + 1, line);
        ldns_rdf_deep_free(o);
        free(inc);
        free(dir);
        return rc;
    }
    return fail(s, zf, line, "unknown directive %s", name);
}

/* The TTL the entry gives, or NULL; its length in *len. Fields: [owner] [TTL] [class]
 * type ... (TTL and class in either order); an entry that starts with a blank has no
 * owner. */
static const char *ttl_field(const char *entry, size_t *len)
{
    const char *p = entry;
    if (!isspace((unsigned char)*p))
        while (*p && !isspace((unsigned char)*p))
            p++; /* the owner */
    for (int i = 0; i < 2; i++) {
        while (isspace((unsigned char)*p))
            p++;
        const char *tok = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        *len = (size_t)(p - tok);
        if (isdigit((unsigned char)*tok))
            return tok;
        if (!rr_is_class(tok, *len))
            return NULL; /* the type */
    }
    return NULL;
}

/* RFC 1035 §5.1 lets the class come before the TTL ("www IN 300 A ..."); ldns reads the
 * TTL first only. Returns a copy of entry with the two in ldns's order (free it), or
 * NULL when they already are. */
static char *ttl_first(const char *entry)
{
    const char *p = entry, *a, *b;
    size_t alen = 0, blen = 0;
    if (!isspace((unsigned char)*p))
        while (*p && !isspace((unsigned char)*p))
            p++; /* the owner */
    while (isspace((unsigned char)*p))
        p++;
    for (a = p; *p && !isspace((unsigned char)*p); p++)
        alen++;
    while (isspace((unsigned char)*p))
        p++;
    for (b = p; *p && !isspace((unsigned char)*p); p++)
        blen++;
    if (!rr_is_class(a, alen) || !isdigit((unsigned char)*b))
        return NULL;
    char *out = xmalloc(strlen(entry) + 2);
    sprintf(out, "%.*s%.*s %.*s%s", (int)(a - entry), entry, (int)blen, b, (int)alen, a, p);
    return out;
}

/* The TTL of a record that gives none (RFC 1035 §5.1, then BIND's rules). */
static void default_ttl(struct zf_state *s, struct zf_file *zf, ldns_rr *lr, int line)
{
    if (zf->have_default || zf->have_last) {
        ldns_rr_set_ttl(lr, zf->have_default ? zf->default_ttl : zf->last_ttl);
    } else if (ldns_rr_get_type(lr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(lr) == 7) {
        zf->default_ttl = ldns_rdf2native_int32(ldns_rr_rdf(lr, 6));
        zf->have_default = true;
        ldns_rr_set_ttl(lr, zf->default_ttl);
        warn(s, zf, line,
             "no TTL, and no $TTL before: the SOA record and the records after it that give "
             "none get its MINIMUM, %u, as in BIND",
             zf->default_ttl);
    } else {
        ldns_rr_set_ttl(lr, ZONEFILE_DEFAULT_TTL);
        if (!s->warned_no_ttl)
            warn(s, zf, line, "no TTL, and no $TTL or TTL before: using %d", ZONEFILE_DEFAULT_TTL);
        s->warned_no_ttl = true;
    }
}

static int record(struct zf_state *s, struct zf_file *zf, const char *entry, int line)
{
    size_t ttl_len = 0;
    const char *ttl = ttl_field(entry, &ttl_len);
    uint32_t ttl_s;
    if (ttl && rr_ttl_parse(ttl, ttl_len, &ttl_s))
        return fail(s, zf, line, "'%.*s' is not a TTL (" TTL_FORMS ")", (int)ttl_len, ttl);
    ldns_rr *lr = NULL;
    char *swapped = ttl_first(entry), *quoted = rr_caa_quoted(swapped ? swapped : entry);
    ldns_status st = ldns_rr_new_frm_str(&lr,
                                         quoted    ? quoted
                                         : swapped ? swapped
                                                   : entry,
                                         0, zf->origin, &zf->prev);
    free(quoted);
    free(swapped);
    int rc;
    if (st != LDNS_STATUS_OK) {
        char shown[96];
        const char *e = entry;
        while (isspace((unsigned char)*e))
            e++;
        snprintf(shown, sizeof shown, "%s", e);
        if (strlen(e) >= sizeof shown)
            strcpy(shown + sizeof shown - 4, "...");
        const char *hint = rr_parse_hint(entry);
        return fail(s, zf, line, "%s in '%s'%s%s", ldns_get_errorstr_by_id(st), shown,
                    hint ? ": " : "", hint ? hint : "");
    }
    unsigned found = (rr_origin_once(lr, zf->origin) ? 1u << ZF_ORIGIN_TWICE : 0) |
                     (rr_names_ascii(lr) ? 0 : 1u << ZF_NOT_ASCII);
    count_marks(s, zf, found, line);
    char err[256] = "";
    if ((rc = rr_text_check(entry, lr, err, sizeof err))) {
        ldns_rr_free(lr);
        return fail(s, zf, line, "%s", err);
    }
    if (ttl) {
        zf->last_ttl = ldns_rr_ttl(lr);
        zf->have_last = true;
    } else {
        default_ttl(s, zf, lr, line);
    }
    rc = s->ops->rr(s->ops->arg, lr, zf->path, line, err, sizeof err);
    if (rc)
        fail(s, zf, line, "%s", err);
    ldns_rr_free(lr);
    return rc;
}

/* One warning for each kind of marked record, naming the first. */
static void warn_marks(const struct zf_state *s)
{
    for (int m = 0; m < ZF_MARKS && s->ops->warn; m++) {
        if (!s->marked[m])
            continue;
        char msg[768];
        snprintf(msg, sizeof msg, "%s: %s on %zu record%s: %s", s->first_marked[m], marks[m].what,
                 s->marked[m], s->marked[m] == 1 ? "" : "s", marks[m].meaning);
        s->ops->warn(s->ops->arg, msg);
    }
}

/* Splits buf into entries and handles each. */
static int parse(struct zf_state *s, struct zf_file *zf, const char *buf, size_t len, int depth)
{
    char *entry = xmalloc(len + 1);
    size_t pos = 0;
    int line = 1, rc = 0;
    while (rc == 0 && pos < len) {
        size_t n = 0;
        int depth_paren = 0, entry_line = line, quote_line = 0;
        unsigned entry_marks = 0;
        bool quoted = false;
        while (pos < len) {
            char c = buf[pos];
            if (c == '\\' && pos + 1 < len) {
                entry[n++] = c;
                entry[n++] = buf[pos + 1];
                if (buf[pos + 1] == '\n')
                    line++;
                pos += 2;
                continue;
            }
            pos++;
            if (quoted) {
                if (c == '"')
                    quoted = false;
                else if (c == '\n')
                    line++;
                entry[n++] = c;
            } else if (c == '"') {
                quoted = true;
                quote_line = line;
                entry[n++] = c;
            } else if (c == ';') {
                size_t start = pos;
                while (pos < len && buf[pos] != '\n')
                    pos++;
                entry_marks |= comment_marks(buf + start, pos - start);
            } else if (c == '(' || c == ')') {
                depth_paren += c == '(' ? 1 : -1;
                if (depth_paren < 0) {
                    rc = fail(s, zf, line, "')' without '('");
                    goto out;
                }
                entry[n++] = ' ';
            } else if (c == '\n') {
                line++;
                if (depth_paren == 0)
                    break;
                entry[n++] = ' ';
            } else if (c != '\r') {
                entry[n++] = c;
            }
        }
        entry[n] = '\0';
        if (quoted) {
            rc = fail(s, zf, quote_line, "unterminated quoted string");
            break;
        }
        if (depth_paren > 0) {
            rc = fail(s, zf, entry_line, "'(' without ')'");
            break;
        }
        const char *first = entry;
        while (isspace((unsigned char)*first))
            first++;
        if (!*first)
            continue;
        if (*first == '$' && first == entry) {
            rc = directive(s, zf, entry, entry_line, depth);
        } else {
            rc = record(s, zf, entry, entry_line);
            if (rc == 0)
                count_marks(s, zf, entry_marks, entry_line);
            rc = read_on(s, zf, entry_line, rc);
        }
    }
out:
    free(entry);
    return rc;
}

/* Reads one file. parent: the including file (its TTL state and previous owner carry
 * over, and come back), or NULL for the top file. */
static int read_file(struct zf_state *s, const char *path, const ldns_rdf *origin,
                     struct zf_file *parent, int depth, int from_line)
{
    struct zf_file zf = {.path = path, .origin = ldns_rdf_clone(origin)};
    char *buf = NULL;
    size_t len = 0;
    if (parent) {
        zf.prev = parent->prev ? ldns_rdf_clone(parent->prev) : NULL;
        zf.default_ttl = parent->default_ttl;
        zf.have_default = parent->have_default;
        zf.last_ttl = parent->last_ttl;
        zf.have_last = parent->have_last;
    }
    int rc = read_whole(path, &buf, &len);
    if (rc) {
        const char *why = rc == -EFBIG ? "file larger than 1 GiB" : strerror(-rc);
        char msg[512];
        if (parent)
            snprintf(msg, sizeof msg, "%s:%d: $INCLUDE %s: %s", parent->path, from_line, path, why);
        else
            snprintf(msg, sizeof msg, "%s: %s", path, why);
        add_error(s, msg);
        goto out;
    }
    /* a UTF-8 byte order mark, as Windows editors write, is no part of the zone */
    size_t bom = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    rc = parse(s, &zf, buf + bom, len - bom, depth);
    if (rc == 0 && parent) {
        ldns_rdf_deep_free(parent->prev);
        parent->prev = zf.prev ? ldns_rdf_clone(zf.prev) : NULL;
        parent->last_ttl = zf.last_ttl;
        parent->have_last = zf.have_last;
    }
out:
    free(buf);
    ldns_rdf_deep_free(zf.origin);
    ldns_rdf_deep_free(zf.prev);
    return rc;
}

int zonefile_read(const char *path, const char *origin, const struct zonefile_ops *ops, char *err,
                  size_t errlen)
{
    struct zf_state s = {.ops = ops, .err = err, .errlen = errlen};
    ldns_rdf *o = NULL;
    int rc;
    if (ldns_str2rdf_dname(&o, origin) != LDNS_STATUS_OK) {
        snprintf(err, errlen, "'%s' is not a domain name", origin);
        return GTM_EPARSE;
    }
    rc = read_file(&s, path, o, NULL, 0, 0);
    ldns_rdf_deep_free(o);
    warn_marks(&s);
    return s.first_rc ? s.first_rc : rc;
}
