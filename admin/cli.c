/* admin/cli.c — gtmctl's argument parser, help and shared helpers (see cli.h). */
#include "config.h"

#include <arpa/inet.h>
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
#include "admin/rr.h"
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
    int from = rc == 0 ? store_migrated_from(c->st) : 0;
    if (rc == 0 && mode == STORE_WRITE && from != store_schema_latest())
        fprintf(stderr,
                "gtmctl: %s: the store %s was migrated from schema version %d to %d first; "
                "gtm daemons older than this gtmctl no longer open it\n",
                c->cmd->name, c->db_path, from, store_schema_latest());
    if (rc == 0)
        return 0;
    if (rc == GTM_EBUSY) {
        fprintf(stderr, "gtmctl: %s: busy: %s; try again\n", c->cmd->name, msg);
        return CLI_EXIT_BUSY;
    }
    return cli_fail(c, "%s", msg);
}

/* ---- values --------------------------------------------------------------------- */

int cli_parse_u32(const struct cli *c, const char *what, const char *s, uint32_t min, uint32_t max,
                  uint32_t *out)
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

/* The longest duration taken: UINT32_MAX seconds, as cli_parse_duration() returns. */
#define DURATION_MAX_MS ((uint64_t)UINT32_MAX * 1000)

/* Parses a duration into milliseconds: numbers each with a unit (ms s m h d w; the
 * last may have none: seconds). Returns 0, or GTM_EPARSE (also above DURATION_MAX_MS). */
static int duration_parse(const char *s, uint64_t *out_ms)
{
    uint64_t total = 0;
    const char *p = s;
    int rc = GTM_EPARSE;
    if (!*p)
        goto out;
    while (*p) {
        char *end = NULL;
        uint64_t unit_ms = 1000;
        size_t unit_len = 1;
        if (!isdigit((unsigned char)*p))
            goto out;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno)
            goto out;
        if (tolower((unsigned char)end[0]) == 'm' && tolower((unsigned char)end[1]) == 's') {
            unit_ms = 1;
            unit_len = 2;
        } else {
            switch (tolower((unsigned char)*end)) {
            case '\0': unit_len = 0; break; /* seconds */
            case 's': break;
            case 'm': unit_ms = 60 * 1000; break;
            case 'h': unit_ms = 3600 * 1000; break;
            case 'd': unit_ms = 86400 * 1000; break;
            case 'w': unit_ms = 604800 * 1000; break;
            default: goto out;
            }
        }
        if (v > DURATION_MAX_MS / unit_ms || (total += v * unit_ms) > DURATION_MAX_MS)
            goto out;
        p = end + unit_len;
    }
    *out_ms = total;
    rc = 0;
out:
    return rc;
}

int cli_parse_duration(const struct cli *c, const char *what, const char *s, uint32_t min,
                       uint32_t max, uint32_t *out_s)
{
    uint64_t ms = 0;
    if (duration_parse(s, &ms) || ms % 1000 || ms / 1000 < min || ms / 1000 > max)
        return cli_usage_error(c,
                               "%s: '%s' is not a duration from %u to %u seconds "
                               "(seconds, or with units: 90s 5m 1h 2d 1w)",
                               what, s, min, max);
    *out_s = (uint32_t)(ms / 1000);
    return 0;
}

int cli_parse_duration_ms(const struct cli *c, const char *what, const char *s, uint32_t min_ms,
                          uint32_t max_ms, uint32_t *out_ms)
{
    uint64_t ms = 0;
    char lo[CLI_DURATION_MAX], hi[CLI_DURATION_MAX];
    if (duration_parse(s, &ms) || ms < min_ms || ms > max_ms)
        return cli_usage_error(c,
                               "%s: '%s' is not a duration from %s to %s "
                               "(seconds, or with units: 500ms 90s 5m 1h)",
                               what, s, cli_duration_text(min_ms, lo),
                               cli_duration_text(max_ms, hi));
    *out_ms = (uint32_t)ms;
    return 0;
}

const char *cli_duration_text(uint64_t ms, char out[CLI_DURATION_MAX])
{
    static const struct {
        char unit;
        uint64_t ms;
    } units[] = {{'w', 604800000}, {'d', 86400000}, {'h', 3600000}, {'m', 60000}, {'s', 1000}};
    char *p = out;
    /* 1500 ms reads better as 1500ms than as 1s500ms */
    if (ms % 1000 || ms == 0) {
        snprintf(out, CLI_DURATION_MAX, "%llu%s", (unsigned long long)ms, ms ? "ms" : "s");
        return out;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms >= units[i].ms) {
            p += sprintf(p, "%llu%c", (unsigned long long)(ms / units[i].ms), units[i].unit);
            ms %= units[i].ms;
        }
    }
    return out;
}

/* ---- times ---------------------------------------------------------------------- */

const char *cli_time_text(int64_t ms, enum cli_time_form form, char out[CLI_TIME_MAX])
{
    /* floor division: a time before 1970 still has its milliseconds in 0..999 */
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (form == CLI_TIME_CLOCK)
        strftime(out, CLI_TIME_MAX, "%H:%M:%SZ", &tm);
    else if (form == CLI_TIME_MS)
        snprintf(out + strftime(out, CLI_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm), 8, ".%03dZ",
                 (int)(ms - s * 1000));
    else
        strftime(out, CLI_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
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

/* The key of domain name s (presentation form, relative names as absolute). 0 or -1. */
static int name_key(const char *s, char key[DNAME_KEY_MAX])
{
    ldns_rdf *rdf = NULL;
    int rc =
        ldns_str2rdf_dname(&rdf, s) == LDNS_STATUS_OK && rdf &&
                dname_key_from_wire(ldns_rdf_data(rdf), ldns_rdf_size(rdf), key, DNAME_KEY_MAX) == 0
            ? 0
            : -1;
    ldns_rdf_deep_free(rdf);
    return rc;
}

int cli_parse_name(const struct cli *c, const char *what, const char *s, char key[DNAME_KEY_MAX])
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p >= 0x80)
            return cli_usage_error(c, "%s: '%s' is not ASCII: " RR_IDN_HINT, what, s);
    if (name_key(s, key) != 0)
        return cli_usage_error(c, "%s: '%s' is not a domain name", what, s);
    return 0;
}

#define IDENT_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_.-"

int cli_parse_ident(const struct cli *c, const char *what, const char *s)
{
    size_t n = strlen(s);
    if (n >= 1 && n <= 63 && strspn(s, IDENT_CHARS) == n)
        return 0;
    char lower[64] = "";
    for (size_t i = 0; n <= 63 && i < n; i++)
        lower[i] = (char)tolower((unsigned char)s[i]);
    if (n >= 1 && n <= 63 && strspn(lower, IDENT_CHARS) == n)
        return cli_usage_error(c,
                               "%s: '%s' is not a valid name (1 to 63 characters from a-z 0-9 "
                               "_ . -): in lower case, '%s'",
                               what, s, lower);
    return cli_usage_error(
        c, "%s: '%s' is not a valid name (1 to 63 characters from a-z 0-9 _ . -)", what, s);
}

int cli_parse_text(const struct cli *c, const char *what, const char *s, size_t max)
{
    size_t n = strlen(s);
    for (const char *p = s; *p; p++)
        if (iscntrl((unsigned char)*p))
            return cli_usage_error(c, "%s: control characters are not allowed", what);
    return n >= 1 && n <= max
               ? 0
               : cli_usage_error(c, "%s: give 1 to %zu characters (%zu given)", what, max, n);
}

int cli_parse_target(const struct cli *c, const char *s, struct cli_target *t)
{
    int rc = CLI_EXIT_USAGE;
    if (inet_pton(AF_INET, s, t->addr) == 1 || inet_pton(AF_INET6, s, t->addr) == 1) {
        t->kind = strchr(s, ':') ? STORE_EP_V6 : STORE_EP_V4;
        t->addr_len = t->kind == STORE_EP_V6 ? 16 : 4;
        inet_ntop(t->kind == STORE_EP_V6 ? AF_INET6 : AF_INET, t->addr, t->text, sizeof t->text);
        rc = 0;
        goto out;
    }
    /* "192.0.2.300" or "2001:db8::g" is a mistyped address, not a host name */
    if (strchr(s, ':') || (s[strspn(s, "0123456789.")] == '\0' && strpbrk(s, "0123456789"))) {
        rc = cli_usage_error(c, "TARGET: '%s' is not an IPv4 or IPv6 address", s);
        goto out;
    }
    if ((rc = cli_parse_name(c, "TARGET", s, t->text)))
        goto out;
    /* a CNAME target is one host: not the root, a wildcard or an escaped byte */
    if (strcmp(t->text, ".") == 0 || strpbrk(t->text, "*\\")) {
        rc = cli_usage_error(c, "TARGET: '%s' is not a host name", s);
        goto out;
    }
    if (dname_wire_from_key(t->text, t->addr, &t->addr_len) != 0) {
        rc = cli_usage_error(c, "TARGET: '%s' is not a host name", s);
        goto out;
    }
    t->kind = STORE_EP_NAME;
out:
    return rc;
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

void cli_table_fini(struct cli_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i]);
    free(t->rows);
    *t = (struct cli_table){0};
}

void cli_table_flush(struct cli_table *t)
{
    table_print(t);
    cli_table_fini(t);
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
    cli_table_fini(&t);
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

int cli_cname_loop(struct cli *c, int64_t pool_id, const char *pool)
{
    char name[DNAME_KEY_MAX] = "";
    int rc = store_pool_cname_loop(c->st, pool_id, name, sizeof name);
    if (rc)
        return cli_store_fail(c, rc);
    if (!name[0])
        return 0;
    return cli_fail(c,
                    "pool %s would answer %s with a CNAME to itself (its endpoint %s), a "
                    "loop no resolver can follow",
                    pool, name, name);
}

int cli_tx_commit_rm(struct cli *c, int rc, const char *what)
{
    if (rc)
        return cli_store_fail(c, rc);
    if ((rc = cli_tx_commit(c, NULL, what, "")) == 0)
        printf("removed %s\n", what);
    return rc;
}

/* A ZONE that is no zone, when the next argument is one: the arguments were swapped. */
static int zone_swapped(struct cli *c, const char *zone)
{
    char next[DNAME_KEY_MAX];
    int64_t id;
    if (c->nargs < 2 || name_key(c->args[1], next) != 0 || store_zone_find(c->st, next, &id) != 0)
        return -1;
    return cli_fail(c,
                    "no zone %s in the store, but %s is one: the zone comes first (gtmctl %s %s)",
                    zone, next, c->cmd->name, c->cmd->synopsis);
}

int cli_zone_begin(struct cli *c, const char *zone, int64_t *zone_id, uint32_t *serial_before)
{
    int rc = cli_tx_begin(c);
    if (rc)
        return rc; /* reported */
    if ((rc = store_zone_find(c->st, zone, zone_id)) == GTM_ENOTFOUND) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", store_errmsg(c->st));
        int swapped = zone_swapped(c, zone);
        return swapped >= 0 ? swapped : cli_fail(c, "%s", msg);
    }
    if (rc || (rc = store_zone_serial_get(c->st, *zone_id, serial_before)))
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
