/* admin/cli.c — gtmctl's argument parser, help and shared helpers (see cli.h). */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/cli.h"
#include "common/err.h"
#include "common/xalloc.h"

const char *cli_opt(const struct cli *c, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < c->ngiven; i++)
        if (strcmp(c->given[i].name, name) == 0)
            v = c->given[i].value;
    return v;
}

int cli_opt_all(const struct cli *c, const char *name, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < c->ngiven && n < max; i++)
        if (strcmp(c->given[i].name, name) == 0)
            out[n++] = c->given[i].value;
    return n;
}

/* ---- messages ------------------------------------------------------------------- */

void cli_usage(const struct cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: gtmctl %s%s%s\n", cmd->name, *cmd->synopsis ? " " : "", cmd->synopsis);
}

static void vreport(const struct cli *c, const char *fmt, va_list ap)
{
    fprintf(stderr, "gtmctl: %s: ", c->cmd->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const struct cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    cli_usage(c->cmd, stderr);
    fprintf(stderr, "Run 'gtmctl %s --help' for details.\n", c->cmd->name);
    return CLI_EXIT_USAGE;
}

int cli_fail(const struct cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, fmt, ap);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

int cli_store_fail(const struct cli *c, int rc)
{
    const char *msg = c->st && *store_errmsg(c->st) ? store_errmsg(c->st) : gtm_strerror(rc);
    if (rc == GTM_EBUSY) {
        fprintf(stderr, "gtmctl: %s: busy: %s; nothing was changed, try again\n", c->cmd->name,
                msg);
        return CLI_EXIT_BUSY;
    }
    return cli_fail(c, "%s", msg);
}

int cli_store_open(struct cli *c, enum store_mode mode)
{
    char msg[512];
    int rc = store_open(c->db_path, mode, 0, &c->st, msg, sizeof msg);
    if (rc == 0)
        return 0;
    if (rc == GTM_EBUSY) {
        fprintf(stderr, "gtmctl: %s: busy: %s; try again\n", c->cmd->name, msg);
        return CLI_EXIT_BUSY;
    }
    return cli_fail(c, "%s", msg);
}

/* ---- values --------------------------------------------------------------------- */

int cli_parse_u32(const struct cli *c, const char *what, const char *s, uint32_t min,
                  uint32_t max, uint32_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno || v < min || v > max)
        return cli_usage_error(c, "%s: '%s' is not a whole number from %u to %u", what, s, min,
                               max);
    *out = (uint32_t)v;
    return 0;
}

int cli_parse_duration(const struct cli *c, const char *what, const char *s, uint32_t min,
                       uint32_t max, uint32_t *out_s)
{
    unsigned long long total = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        goto bad;
    while (*p) {
        char *end = NULL;
        unsigned long long v = strtoull(p, &end, 10);
        unsigned long long unit = 1;
        if (end == p)
            goto bad;
        switch (tolower((unsigned char)*end)) {
        case '\0': unit = 1; break;
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'd': unit = 86400; end++; break;
        case 'w': unit = 604800; end++; break;
        default: goto bad;
        }
        total += v * unit;
        if (v > UINT32_MAX || total > UINT32_MAX)
            goto bad;
        p = end;
    }
    if (total < min || total > max)
        goto bad;
    *out_s = (uint32_t)total;
    return 0;
bad:
    return cli_usage_error(c,
                           "%s: '%s' is not a duration from %u to %u seconds "
                           "(seconds, or with units: 90s 5m 1h 2d 1w)",
                           what, s, min, max);
}

int cli_real_parse(const char *s, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    /* isfinite() before the range test: NaN compares false with everything */
    if (end == s || *end || errno || !isfinite(v) || v < min || v > max)
        return GTM_EPARSE;
    *out = v;
    return 0;
}

int cli_parse_name(const struct cli *c, const char *what, const char *s,
                   char key[DNAME_KEY_MAX])
{
    ldns_rdf *rdf = NULL;
    int rc = CLI_EXIT_USAGE;
    if (ldns_str2rdf_dname(&rdf, s) != LDNS_STATUS_OK || !rdf) {
        rc = cli_usage_error(c, "%s: '%s' is not a domain name", what, s);
        goto out;
    }
    if (dname_key_from_wire(ldns_rdf_data(rdf), ldns_rdf_size(rdf), key, DNAME_KEY_MAX) != 0) {
        rc = cli_usage_error(c, "%s: '%s' is not a domain name", what, s);
        goto out;
    }
    rc = 0;
out:
    ldns_rdf_deep_free(rdf);
    return rc;
}

int cli_parse_ident(const struct cli *c, const char *what, const char *s)
{
    size_t n = strlen(s);
    bool is_ident =
        n >= 1 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
    return is_ident ? 0
                    : cli_usage_error(c, "%s: '%s' is not a valid name (1 to 63 characters "
                                         "from a-z 0-9 _ . -)", what, s);
}

/* ---- tables --------------------------------------------------------------------- */

/* Columns a table may have: the widest list (policy list) has 9. */
#define TABLE_MAX_COLS 16

void cli_table_add(struct cli_table *t, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *row = xmalloc((size_t)len + 1);
    vsnprintf(row, (size_t)len + 1, fmt, again);
    va_end(again);
    va_end(ap);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->rows = xreallocarray(t->rows, t->cap, sizeof *t->rows);
    }
    t->rows[t->n++] = row;
}

static void table_print(const struct cli_table *t)
{
    size_t width[TABLE_MAX_COLS] = {0};
    for (size_t i = 0; i < t->n; i++) {
        const char *p = t->rows[i];
        for (size_t col = 0;; col++, p++) {
            size_t len = strcspn(p, "\t");
            assert(col < TABLE_MAX_COLS);
            width[col] = len > width[col] ? len : width[col];
            if (!*(p += len))
                break;
        }
    }
    /* two blanks between columns; the last one is not padded */
    for (size_t i = 0; i < t->n; i++) {
        const char *p = t->rows[i];
        for (size_t col = 0; p[strcspn(p, "\t")]; col++) {
            int len = (int)strcspn(p, "\t");
            printf("%.*s%*s", len, p, (int)width[col] - len + 2, "");
            p += len + 1;
        }
        printf("%s\n", p);
    }
}

static void table_fini(struct cli_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i]);
    free(t->rows);
    *t = (struct cli_table){0};
}

int cli_table_run(struct cli *c, const char *header, cli_table_fill_fn fill)
{
    struct cli_table t = {0};
    int rc = cli_store_open(c, STORE_READ);
    if (rc)
        goto out;
    cli_table_add(&t, "%s", header);
    if ((rc = store_read_begin(c->st)) || (rc = fill(c, &t))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    table_print(&t);
    rc = CLI_EXIT_OK;
out:
    table_fini(&t);
    return rc;
}

/* ---- changes -------------------------------------------------------------------- */

int cli_audit(struct cli *c, const char *zone, const char *before, const char *after)
{
    struct store_audit a = {
        .ts = (int64_t)time(NULL),
        .user = c->user,
        .zone = zone,
        .command = c->cmdline,
        .before = before,
        .after = after,
    };
    return store_audit_add(c->st, &a);
}

int cli_tx_begin(struct cli *c)
{
    int rc = cli_store_open(c, STORE_WRITE);
    if (rc == 0 && (rc = store_tx_begin(c->st)))
        rc = cli_store_fail(c, rc);
    return rc;
}

int cli_tx_commit(struct cli *c, const char *zone, const char *before, const char *after)
{
    int rc = cli_audit(c, zone, before, after);
    if (rc || (rc = store_tx_end(c->st, true)))
        rc = cli_store_fail(c, rc);
    return rc;
}

int cli_zone_begin(struct cli *c, const char *zone, int64_t *zone_id, uint32_t *serial_before)
{
    int rc = cli_tx_begin(c);
    if (rc == 0 && ((rc = store_zone_find(c->st, zone, zone_id)) ||
                    (rc = store_zone_serial_get(c->st, *zone_id, serial_before))))
        rc = cli_store_fail(c, rc);
    return rc;
}

int cli_zone_commit(struct cli *c, int64_t zone_id, const char *zone, uint32_t serial_before,
                    const char *before, const char *after, uint32_t *serial_out)
{
    uint32_t serial = 0;
    int rc;
    if ((rc = store_zone_serial_bump(c->st, zone_id, serial_before, time(NULL), &serial)))
        return cli_store_fail(c, rc);
    char *after_full = xasprintf("%s%sserial %u", after, *after ? "\n" : "", serial);
    rc = cli_tx_commit(c, zone, before, after_full);
    free(after_full);
    if (rc)
        return rc;
    if (serial_out)
        *serial_out = serial;
    return 0;
}
