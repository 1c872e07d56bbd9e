/* admin/cmd_geo.c — gtmctl geo map|unmap|list and latency set|import|list: the tables
 * that say where clients go. The geo map gives each client key (a CIDR block, a country
 * subdivision, a country, a continent, or '*' for everyone else) its regions in order of
 * preference; the latency table holds the measured milliseconds from a key's clients
 * to a region. Both are store-wide: a change is one transaction with one audit row for
 * no zone. gtmctl only, single-threaded. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/commands.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "geo/geo.h"

/* The store's CHECK is ms < 1000000 (db/migrations/0002_traffic.sql): a thousand
 * seconds is no round trip, so the largest value we take stays below it. */
#define LATENCY_MS_MAX 999999.999
/* Longest line of a latency CSV file: a key (an IPv6 CIDR is 43 characters), a region
 * (63) and a number, with room for blanks and a comment. */
#define LATENCY_LINE_MAX 1024

#define KEY_FORMS "a CIDR block, a country (DE), a subdivision (US-CA), a continent (EU) or *"

/* ---- keys ----------------------------------------------------------------------- */

/* A key as the store keeps it: normalised text and the name of its kind. */
struct key_text {
    char text[64]; /* the longest, an IPv6 CIDR block, is 43 characters */
    const char *kind;
};

/* Parses s into k. Returns 0, or GTM_EPARSE with why (errlen bytes) saying what is
 * wrong with it. */
static int key_parse(const char *s, struct key_text *k, char *why, size_t errlen)
{
    struct geo_key key;
    int rc = geo_key_parse(s, &key);
    /* 192.0.2.1/24 is the likeliest mistake: an address, not its network */
    if (rc && strchr(s, '/'))
        snprintf(why, errlen,
                 "'%s' is not a network: an address with no host bits set and a "
                 "prefix length (192.0.2.0/24, 2001:db8::/32)",
                 s);
    else if (rc)
        snprintf(why, errlen, "'%s' is not a geo key (" KEY_FORMS ")", s);
    unsigned most = key.family == 4 ? GEO_V4_BITS_MAX : GEO_V6_BITS_MAX;
    if (rc == 0 && key.kind == GEO_KEY_CIDR && (unsigned)key.prefix > most) {
        snprintf(why, errlen,
                 "'%s': clients are placed by at most /%u of an IPv%d address (RFC 7871 "
                 "section 11.1), so no block longer than /%u can be told apart from the "
                 "rest of its /%u",
                 s, most, key.family, most, most);
        rc = GTM_EPARSE;
    }
    if (rc == 0) {
        geo_key_format(&key, k->text, sizeof k->text);
        k->kind = geo_key_kind_name(key.kind);
    }
    return rc;
}

/* key_parse() for an argument: a usage error when it is not a key. */
static int parse_key_arg(const struct cli *c, const char *s, struct key_text *k)
{
    char why[256];
    return key_parse(s, k, why, sizeof why) ? cli_usage_error(c, "KEY: %s", why) : 0;
}

/* A row of geo list or latency list, and the order they are listed in. */
struct key_row {
    struct geo_key key;
    double ms; /* latency list: lowest first within a key */
    char *cells;
};
struct key_rows {
    struct key_row *v;
    size_t n, cap;
};

static void key_rows_add(struct key_rows *r, const char *key, double ms, char *cells)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
    }
    struct key_row *row = &r->v[r->n++];
    geo_key_parse(key, &row->key); /* the store holds normalised keys */
    row->ms = ms;
    row->cells = cells;
}

/* Most specific first, as a client is matched: CIDR blocks (IPv4, then IPv6, by address,
 * a network before the blocks inside it), subdivisions, countries, continents, '*'. */
static int key_row_cmp(const void *a, const void *b)
{
    const struct key_row *x = a, *y = b;
    int d = (x->key.kind < y->key.kind) - (x->key.kind > y->key.kind);
    if (d == 0 && x->key.kind == GEO_KEY_CIDR && (d = x->key.family - y->key.family) == 0 &&
        (d = memcmp(x->key.addr, y->key.addr, sizeof x->key.addr)) == 0)
        d = x->key.prefix - y->key.prefix;
    if (d == 0)
        d = strcmp(x->key.code, y->key.code);
    if (d == 0 && x->ms != y->ms)
        d = x->ms < y->ms ? -1 : 1;
    return d ? d : strcmp(x->cells, y->cells);
}

/* Adds the rows to t in key order, and frees them. */
static void key_rows_flush(struct key_rows *r, struct cli_table *t)
{
    if (r->n) /* qsort(NULL, 0, ...) is undefined */
        qsort(r->v, r->n, sizeof *r->v, key_row_cmp);
    for (size_t i = 0; i < r->n; i++) {
        cli_table_add(t, "%s", r->v[i].cells);
        free(r->v[i].cells);
    }
    free(r->v);
}

/* ---- geo map -------------------------------------------------------------------- */

/* "eu-west,eu-central": a key's regions as geo map takes them. */
static char *regions_text(const struct store_geo *g)
{
    size_t len = 1;
    for (size_t i = 0; i < g->nregions; i++)
        len += strlen(g->regions[i]) + 1;
    char *s = xmalloc(len), *p = s;
    *p = '\0';
    for (size_t i = 0; i < g->nregions; i++)
        p = stpcpy(stpcpy(p, i ? "," : ""), g->regions[i]);
    return s;
}

/* The mapping of one key, if any, as the audit shows it. */
struct geo_found {
    const char *key;
    char *summary; /* "geo DE (country) -> eu-west,eu-central"; NULL: not mapped */
};

static int match_geo(void *arg, const struct store_geo *g)
{
    struct geo_found *f = arg;
    if (strcmp(g->key, f->key) == 0) {
        char *regions = regions_text(g);
        f->summary = xasprintf("geo %s (%s) -> %s", g->key, g->kind, regions);
        free(regions);
    }
    return 0;
}

static int geo_map(struct cli *c)
{
    struct key_text k;
    struct geo_found old = {.key = k.text};
    char *list = xstrdup(c->args[1]), *next = list, *after = NULL;
    const char *names[STORE_GEO_MAX_REGIONS];
    int64_t ids[STORE_GEO_MAX_REGIONS];
    size_t n = 0;
    int rc = parse_key_arg(c, c->args[0], &k);
    if (rc)
        goto out;
    while (next) {
        const char *name = strsep(&next, ",");
        if ((rc = cli_parse_ident(c, "REGION", name)))
            goto out;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(names[i], name) == 0) {
                rc = cli_usage_error(c, "REGION: %s is listed twice", name);
                goto out;
            }
        }
        if (n == STORE_GEO_MAX_REGIONS) {
            rc = cli_usage_error(c, "at most %d regions per key", STORE_GEO_MAX_REGIONS);
            goto out;
        }
        names[n++] = name;
    }
    /* the names are checked: the argument as given is the list in normal form */
    after = xasprintf("geo %s (%s) -> %s", k.text, k.kind, c->args[1]);
    if ((rc = cli_tx_begin(c)))
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = store_region_find(c->st, names[i], &ids[i]);
    if (rc || (rc = store_geo_foreach(c->st, match_geo, &old)) ||
        (rc = store_geo_map(c->st, k.text, k.kind, ids, n))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, old.summary ? old.summary : "", after)) == 0)
        printf("%s%s%s%s\n", after, old.summary ? " (replacing " : "",
               old.summary ? strstr(old.summary, "-> ") + 3 : "", old.summary ? ")" : "");
out:
    free(old.summary);
    free(after);
    free(list);
    return rc;
}

const struct cli_cmd cmd_geo_map = {
    .name = "geo map",
    .synopsis = "KEY REGION[,REGION...]",
    .summary = "send the clients of a key to regions, in order of preference",
    .help = "KEY is " KEY_FORMS " for everyone else.\n"
            "A client takes its most specific key: the longest CIDR block holding it, then\n"
            "its subdivision, country, continent, '*'. CIDR blocks go down to /24 in IPv4\n"
            "and /56 in IPv6, the most of a client's address gtm uses (RFC 7871 section\n"
            "11.1). The first listed region with a\n"
            "healthy endpoint answers; when none can, the policy's --fallback decides (the\n"
            "listed regions are where the key's clients may go: list a second region to\n"
            "fail over to it). An entry none of whose regions has an endpoint in a\n"
            "policy's pool counts as unmapped there ('*', else every region by name).\n"
            "Mapping a key again replaces its regions.\n"
            "Example: gtmctl geo map DE eu-central,eu-west",
    .min_args = 2,
    .max_args = 2,
    .run = geo_map,
};

/* ---- geo unmap ------------------------------------------------------------------ */

static int geo_unmap(struct cli *c)
{
    struct key_text k;
    struct geo_found old = {.key = k.text};
    int rc = parse_key_arg(c, c->args[0], &k);
    if (rc || (rc = cli_tx_begin(c)))
        goto out;
    if ((rc = store_geo_foreach(c->st, match_geo, &old))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if (!old.summary) {
        rc = cli_fail(c, "%s is not mapped (gtmctl geo list shows the map)", k.text);
        goto out;
    }
    if ((rc = store_geo_unmap(c->st, k.text))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, old.summary, "")) == 0)
        printf("unmapped %s\n", old.summary);
out:
    free(old.summary);
    return rc;
}

const struct cli_cmd cmd_geo_unmap = {
    .name = "geo unmap",
    .synopsis = "KEY",
    .summary = "remove a key from the geo map",
    .help = "Its clients then take their next most specific key (a country's clients\n"
            "their continent's, and so on up to '*').",
    .min_args = 1,
    .max_args = 1,
    .run = geo_unmap,
};

/* ---- geo list ------------------------------------------------------------------- */

static int row_geo(void *arg, const struct store_geo *g)
{
    char *regions = regions_text(g);
    key_rows_add(arg, g->key, 0, xasprintf("%s\t%s\t%s", g->key, g->kind, regions));
    free(regions);
    return 0;
}

static int fill_geo(struct cli *c, struct cli_table *t)
{
    struct key_rows rows = {0};
    int rc = store_geo_foreach(c->st, row_geo, &rows);
    key_rows_flush(&rows, t);
    return rc;
}

static int geo_list(struct cli *c)
{
    return cli_table_run(c, "KEY\tKIND\tREGIONS", fill_geo);
}

const struct cli_cmd cmd_geo_list = {
    .name = "geo list",
    .synopsis = "",
    .summary = "show the geo map, most specific keys first",
    .help = "One line per key, in the order a client is matched: CIDR blocks, then\n"
            "subdivisions, countries, continents and '*'; each with its regions in order\n"
            "of preference.",
    .min_args = 0,
    .max_args = 0,
    .run = geo_list,
};

/* ---- latency: one measurement --------------------------------------------------- */

/* One measurement as given on the command line or on a line of a file. */
struct measurement {
    struct key_text key;
    char *region;
    double ms;
    int64_t region_id; /* found in the store */
    size_t line;       /* of the file; 0 on the command line */
};

/* Parses the three fields of a measurement into m (m->region borrows region). Returns
 * 0, or GTM_EPARSE with why saying which field is wrong. */
static int measurement_parse(const char *key, const char *region, const char *ms,
                             struct measurement *m, char *why, size_t errlen)
{
    int rc = key_parse(key, &m->key, why, errlen);
    if (rc)
        goto out;
    if (!*region) {
        snprintf(why, errlen, "the region is missing");
        rc = GTM_EPARSE;
        goto out;
    }
    if (cli_real_parse(ms, 0, LATENCY_MS_MAX, &m->ms) != 0) {
        snprintf(why, errlen, "'%s' is not a number of milliseconds from 0 to %.10g", ms,
                 LATENCY_MS_MAX);
        rc = GTM_EPARSE;
        goto out;
    }
    m->region = (char *)region;
out:
    return rc;
}

/* "latency DE -> eu-west 12.5 ms" */
static char *latency_summary(const char *key, const char *region, double ms)
{
    return xasprintf("latency %s -> %s %.10g ms", key, region, ms);
}

/* The stored latency of one (key, region), if any. */
struct latency_found {
    const char *key, *region;
    char *summary; /* NULL: none stored */
};

static int match_latency(void *arg, const struct store_latency *l)
{
    struct latency_found *f = arg;
    if (strcmp(l->key, f->key) == 0 && strcmp(l->region, f->region) == 0)
        f->summary = latency_summary(l->key, l->region, l->ms);
    return 0;
}

static int latency_set(struct cli *c)
{
    struct measurement m = {0};
    struct latency_found old = {0};
    struct store_latency l = {0};
    char why[256], *after = NULL;
    int rc = measurement_parse(c->args[0], c->args[1], c->args[2], &m, why, sizeof why);
    if (rc) {
        rc = cli_usage_error(c, "%s", why);
        goto out;
    }
    if ((rc = cli_parse_ident(c, "REGION", m.region)))
        goto out;
    old = (struct latency_found){.key = m.key.text, .region = m.region};
    after = latency_summary(m.key.text, m.region, m.ms);
    if ((rc = cli_tx_begin(c)))
        goto out;
    l = (struct store_latency){m.key.text, m.key.kind, 0, m.region, m.ms};
    if ((rc = store_region_find(c->st, m.region, &l.region_id)) ||
        (rc = store_latency_foreach(c->st, match_latency, &old)) ||
        (rc = store_latency_set(c->st, &l))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, old.summary ? old.summary : "", after)) == 0)
        printf("%s\n", after);
out:
    free(old.summary);
    free(after);
    return rc;
}

const struct cli_cmd cmd_latency_set = {
    .name = "latency set",
    .synopsis = "KEY REGION MILLISECONDS",
    .summary = "record the latency from the clients of a key to a region",
    .help = "KEY is as for gtmctl geo map. MILLISECONDS is the measured round trip, a\n"
            "number from 0 to 999999.999 (decimals allowed). Setting it again replaces it.\n"
            "Latency policies send a client to the region with the lowest latency from its\n"
            "most specific measured key; with none, to the nearest region.",
    .min_args = 3,
    .max_args = 3,
    .dash_from = 2, /* "-1" is a wrong number, not an unknown option */
    .run = latency_set,
};

/* ---- latency import ------------------------------------------------------------- */

struct import {
    const char *path; /* as errors name it */
    struct measurement *v;
    size_t n, cap;
};

static void import_fini(struct import *im)
{
    for (size_t i = 0; i < im->n; i++)
        free(im->v[i].region);
    free(im->v);
}

/* Blanks off both ends of s, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Reads one line (number lineno) into im. Blank lines, '#' comments and a header line
 * ("key,region,ms") first in the file are skipped. Returns 0, or reports FILE:LINE. */
static int import_line(const struct cli *c, struct import *im, char *text, size_t lineno)
{
    char *fields[3], *rest = trim(text), why[256];
    struct measurement m = {.line = lineno};
    int nfields = 0, rc = 0;
    if (*rest == '\0' || *rest == '#')
        goto out;
    while (rest && nfields < 3)
        fields[nfields++] = trim(strsep(&rest, ","));
    if (rest || nfields != 3) {
        rc = cli_fail(c, "%s:%zu: expected key,region,ms (three fields)", im->path, lineno);
        goto out;
    }
    if (im->n == 0 && strcasecmp(fields[0], "key") == 0)
        goto out; /* the header */
    if (measurement_parse(fields[0], fields[1], fields[2], &m, why, sizeof why) != 0) {
        rc = cli_fail(c, "%s:%zu: %s", im->path, lineno, why);
        goto out;
    }
    m.region = xstrdup(m.region);
    if (im->n == im->cap) {
        im->cap = im->cap ? 2 * im->cap : 256;
        im->v = xreallocarray(im->v, im->cap, sizeof *im->v);
    }
    im->v[im->n++] = m;
out:
    return rc;
}

/* Orders measurements by key and region (the pair a measurement is of). */
static int pair_cmp(const void *a, const void *b)
{
    const struct measurement *x = a, *y = b;
    int d = strcmp(x->key.text, y->key.text);
    return d ? d : strcmp(x->region, y->region);
}

/* By pair, then line: a pair given twice sits next to itself, its first line first. */
static int measurement_cmp(const void *a, const void *b)
{
    const struct measurement *x = a, *y = b;
    int d = pair_cmp(a, b);
    return d ? d : (x->line > y->line) - (x->line < y->line);
}

/* Reads and checks the whole file into im: every line, before the store is opened. */
static int import_read(const struct cli *c, struct import *im)
{
    char buf[LATENCY_LINE_MAX + 2];
    size_t lineno = 0;
    FILE *f = strcmp(c->args[0], "-") == 0 ? stdin : fopen(c->args[0], "r");
    int rc = 0;
    if (!f) {
        rc = cli_fail(c, "cannot read %s: %s", im->path, strerror(errno));
        goto out;
    }
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        lineno++;
        if (!strchr(buf, '\n') && !feof(f)) {
            rc = cli_fail(c, "%s:%zu: line longer than %d characters", im->path, lineno,
                          LATENCY_LINE_MAX);
            goto out;
        }
        /* a UTF-8 byte order mark, as spreadsheets write, is no part of the first key */
        bool bom = lineno == 1 && strncmp(buf, "\xEF\xBB\xBF", 3) == 0;
        rc = import_line(c, im, buf + (bom ? 3 : 0), lineno);
    }
    if (rc)
        goto out;
    if (ferror(f)) {
        rc = cli_fail(c, "cannot read %s: %s", im->path, strerror(errno));
        goto out;
    }
    if (im->n == 0) {
        rc = cli_fail(c, "%s holds no key,region,ms lines", im->path);
        goto out;
    }
    qsort(im->v, im->n, sizeof *im->v, measurement_cmp);
    for (size_t i = 1; i < im->n; i++) {
        if (pair_cmp(&im->v[i - 1], &im->v[i]) == 0) {
            rc = cli_fail(c, "%s:%zu: %s -> %s is given again (first on line %zu)", im->path,
                          im->v[i].line, im->v[i].key.text, im->v[i].region, im->v[i - 1].line);
            goto out;
        }
    }
out:
    if (f && f != stdin)
        fclose(f);
    return rc;
}

/* What an import changes: each stored pair the file gives again is replaced, or
 * unchanged when its value is the same; the others of the file are new. */
struct import_diff {
    const struct import *im;
    size_t replaced, unchanged;
};

static int diff_latency(void *arg, const struct store_latency *l)
{
    struct import_diff *d = arg;
    struct measurement pair = {.region = (char *)l->region};
    snprintf(pair.key.text, sizeof pair.key.text, "%s", l->key);
    const struct measurement *m = bsearch(&pair, d->im->v, d->im->n, sizeof pair, pair_cmp);
    if (m && m->ms == l->ms)
        d->unchanged++;
    else if (m)
        d->replaced++;
    return 0;
}

/* Finds every measurement's region; reports the first line (in file order) naming a
 * region the store does not have. */
static int import_regions(struct cli *c, struct import *im)
{
    const struct measurement *bad = NULL;
    int rc = 0;
    for (size_t i = 0; i < im->n && rc == 0; i++) {
        struct measurement *m = &im->v[i];
        rc = store_region_find(c->st, m->region, &m->region_id);
        if (rc == GTM_ENOTFOUND && (!bad || m->line < bad->line))
            bad = m;
        if (rc == GTM_ENOTFOUND)
            rc = 0;
    }
    if (rc)
        rc = cli_store_fail(c, rc);
    else if (bad)
        rc = cli_fail(c, "%s:%zu: no region %s (gtmctl region list shows them)", im->path,
                      bad->line, bad->region);
    return rc;
}

static int latency_import(struct cli *c)
{
    struct import im = {.path = strcmp(c->args[0], "-") == 0 ? "stdin" : c->args[0]};
    struct import_diff d = {.im = &im};
    char *before = NULL, *after = NULL;
    int rc = import_read(c, &im);
    /* every line is checked, against the store too, before anything is written */
    if (rc || (rc = cli_tx_begin(c)) || (rc = import_regions(c, &im)))
        goto out;
    if ((rc = store_latency_foreach(c->st, diff_latency, &d))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    for (size_t i = 0; i < im.n && rc == 0; i++) {
        const struct measurement *m = &im.v[i];
        struct store_latency l = {m->key.text, m->key.kind, m->region_id, m->region, m->ms};
        rc = store_latency_set(c->st, &l);
    }
    if (rc) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    before = d.replaced ? xasprintf("%zu of the pairs had other values", d.replaced) : xstrdup("");
    after = xasprintf("%zu latenc%s from %s (+%zu new, %zu replaced, %zu unchanged)", im.n,
                      im.n == 1 ? "y" : "ies", im.path, im.n - d.replaced - d.unchanged, d.replaced,
                      d.unchanged);
    if ((rc = cli_tx_commit(c, NULL, before, after)) == 0)
        printf("%s\n", after);
out:
    free(after);
    free(before);
    import_fini(&im);
    return rc;
}

const struct cli_cmd cmd_latency_import = {
    .name = "latency import",
    .synopsis = "FILE.csv",
    .summary = "record many latencies at once from a CSV file",
    .help = "One measurement per line: key,region,ms (as for gtmctl latency set). Blank\n"
            "lines, lines starting with '#' and a first line 'key,region,ms' are skipped;\n"
            "FILE '-' is standard input. The file is all or nothing: every line is checked\n"
            "(keys, numbers, that each region exists, no pair twice) before anything is\n"
            "written, and an error names FILE:LINE. Pairs already stored and given again\n"
            "are replaced; the others stay.",
    .min_args = 1,
    .max_args = 1,
    .run = latency_import,
};

/* ---- latency list --------------------------------------------------------------- */

static int row_latency(void *arg, const struct store_latency *l)
{
    key_rows_add(arg, l->key, l->ms,
                 xasprintf("%s\t%s\t%s\t%.10g", l->key, l->kind, l->region, l->ms));
    return 0;
}

static int fill_latency(struct cli *c, struct cli_table *t)
{
    struct key_rows rows = {0};
    int rc = store_latency_foreach(c->st, row_latency, &rows);
    key_rows_flush(&rows, t);
    return rc;
}

static int latency_list(struct cli *c)
{
    return cli_table_run(c, "KEY\tKIND\tREGION\tMS", fill_latency);
}

const struct cli_cmd cmd_latency_list = {
    .name = "latency list",
    .synopsis = "",
    .summary = "show the latency table, most specific keys first",
    .help = "One line per key and region, keys in the order of gtmctl geo list, the\n"
            "regions of a key from the lowest latency up.",
    .min_args = 0,
    .max_args = 0,
    .run = latency_list,
};
