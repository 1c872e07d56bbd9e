/* admin/cli.c — gtmctl's argument parser, help and shared helpers (see cli.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
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

int cli_zone_begin(struct cli *c, const char *zone, int64_t *zone_id, uint32_t *serial_before)
{
    int rc = cli_store_open(c, STORE_WRITE);
    if (rc)
        return rc;
    if ((rc = store_tx_begin(c->st)) || (rc = store_zone_find(c->st, zone, zone_id)) ||
        (rc = store_zone_serial_get(c->st, *zone_id, serial_before)))
        return cli_store_fail(c, rc);
    return 0;
}

int cli_zone_commit(struct cli *c, int64_t zone_id, const char *zone, uint32_t serial_before,
                    const char *before, const char *after, uint32_t *serial_out)
{
    uint32_t serial = 0;
    int rc;
    if ((rc = store_zone_serial_bump(c->st, zone_id, serial_before, time(NULL), &serial)))
        return cli_store_fail(c, rc);
    char *after_full = xasprintf("%s%sserial %u", after, *after ? "\n" : "", serial);
    rc = cli_audit(c, zone, before, after_full);
    free(after_full);
    if (rc || (rc = store_tx_end(c->st, true)))
        return cli_store_fail(c, rc);
    if (serial_out)
        *serial_out = serial;
    return 0;
}
