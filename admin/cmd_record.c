/* admin/cmd_record.c — gtmctl record add|rm|list: single-record edits, each one
 * transaction that bumps the zone's serial and writes the audit log. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/commands.h"
#include "admin/rr.h"
#include "common/err.h"
#include "common/xalloc.h"

/* "NAME TTL IN TYPE RDATA..." from the arguments. An RDATA argument holding blanks that
 * the shell unquoted ("hello world") is quoted again, so TXT data stays one string. */
static char *record_text(const char *name, const char *ttl, const char *type, int nrdata,
                         char **rdata)
{
    size_t cap = strlen(name) + strlen(ttl) + strlen(type) + 16;
    for (int i = 0; i < nrdata; i++)
        cap += 2 * strlen(rdata[i]) + 3;
    char *s = xmalloc(cap), *p = s;
    p += sprintf(p, "%s %s IN %s", name, ttl, type);
    for (int i = 0; i < nrdata; i++) {
        const char *a = rdata[i];
        bool quote = a[0] != '"' && (a[0] == '\0' || strpbrk(a, " \t;()") != NULL);
        *p++ = ' ';
        if (!quote) {
            p = stpcpy(p, a);
            continue;
        }
        *p++ = '"';
        for (; *a; a++) {
            if (*a == '"')
                *p++ = '\\';
            *p++ = *a;
        }
        *p++ = '"';
    }
    *p = '\0';
    return s;
}

/* Parses the record whose NAME and TYPE are args 1 and 2 and whose RDATA starts at
 * args[rdata_at]. */
static int parse_record(struct cli *c, const char *zone, const char *ttl, int rdata_at,
                        struct rr_item *it)
{
    char err[512];
    ldns_rr_type type = ldns_get_rr_type_by_name(c->args[2]);
    if (type == 0) {
        char *entry = xasprintf("%s %s", c->args[1], c->args[2]);
        const char *hint = rr_parse_hint(entry);
        free(entry);
        return cli_usage_error(c, "'%s' is not a record type%s%s", c->args[2], hint ? ": " : "",
                               hint ? hint : "");
    }
    if (rr_dnssec_index(type) >= 0)
        return cli_fail(c,
                        "%s records are not kept: gtm serves zones unsigned (a signature "
                        "would go stale at the first change of the serial)",
                        ldns_rr_descript(type)->_name);
    char *text = record_text(c->args[1], ttl, c->args[2], c->nargs - rdata_at, c->args + rdata_at);
    int once = 0;
    int rc = rr_item_from_text(text, zone, it, &once, err, sizeof err);
    free(text);
    if (rc)
        return cli_fail(c, "%s", err);
    if (!rr_key_in_zone(it->owner, zone)) {
        rc = cli_fail(c, "%s is outside the zone %s", it->owner, zone);
        rr_item_fini(it);
        return rc;
    }
    if (once)
        fprintf(stderr,
                "gtmctl: %s: warning: %d name%s written in full without the final dot, "
                "which would end in %s twice: taken as written in full\n",
                c->cmd->name, once, once > 1 ? "s" : "", zone);
    return 0;
}

/* ---- matching stored records ----------------------------------------------------- */

/* Collects the presentation lines of the stored records of one type (or one record). */
struct rm_match {
    uint16_t type;
    const struct rr_item *only; /* NULL: every record of the type */
    char *lines;                /* what is removed, one record per line */
};

static int match_rm(void *arg, const struct store_rr *rr)
{
    struct rm_match *m = arg;
    if (rr->type != m->type)
        return 0;
    if (m->only && (rr->wire_len != m->only->rr.wire_len ||
                    (rr->wire_len && memcmp(rr->wire, m->only->rr.wire, rr->wire_len) != 0)))
        return 0;
    char *line = rr_format(rr);
    char *joined = m->lines ? xasprintf("%s\n%s", m->lines, line) : xstrdup(line);
    free(line);
    free(m->lines);
    m->lines = joined;
    return 0;
}

/* ---- record add ----------------------------------------------------------------- */

/* RFC 6672 §2.4: a record may not go below a DNAME, nor a DNAME above names that have
 * records or policies. Returns 0, or the CLI failure. */
static int check_dname_rules(struct cli *c, int64_t zone_id, const struct rr_item *it,
                             const char *line)
{
    char above[DNAME_KEY_MAX];
    bool below = false;
    int rc = store_dname_above(c->st, zone_id, it->owner, above, sizeof above);
    if (rc == 0 && it->rr.type == 39)
        rc = store_rr_below(c->st, zone_id, it->owner, &below);
    if (rc)
        return cli_store_fail(c, rc);
    if (above[0])
        return cli_fail(c,
                        "cannot add %s: it is below the DNAME at %s, which hides it "
                        "(RFC 6672 section 2.4)",
                        line, above);
    if (below)
        return cli_fail(c,
                        "cannot add %s: names below %s have data, which a DNAME would hide "
                        "(RFC 6672 section 2.4)",
                        line, it->owner);
    return 0;
}

static int record_add(struct cli *c)
{
    char zone[DNAME_KEY_MAX], ttl_text[16];
    struct rr_item it;
    struct rm_match old = {.type = 6};
    int64_t zone_id;
    uint32_t ttl, serial_before = 0, serial = 0;
    int removed = 0;
    char *line = NULL;
    int rc = cli_parse_name(c, "ZONE", c->args[0], zone);
    if (rc || (rc = cli_parse_duration(c, "TTL", c->args[3], 0, 2147483647u, &ttl)))
        return rc;
    snprintf(ttl_text, sizeof ttl_text, "%u", ttl);
    if ((rc = parse_record(c, zone, ttl_text, 4, &it)))
        return rc;
    line = rr_format(&it.rr);
    if ((rc = cli_zone_begin(c, zone, &zone_id, &serial_before)))
        goto out;
    /* A zone has one SOA: adding one replaces it (and the audit shows the old one). */
    if (it.rr.type == 6 && ((rc = store_rr_foreach(c->st, zone_id, it.owner, match_rm, &old)) ||
                            (rc = store_rr_rm(c->st, zone_id, it.owner, 6, NULL, 0, &removed)))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    /* RFC 6672 §2.4: nothing below a DNAME (the store keeps one DNAME per name) */
    if ((rc = check_dname_rules(c, zone_id, &it, line)))
        goto out;
    /* RFC 2181 §5.2: the RRset takes the new record's TTL. */
    if ((rc = store_rrset_ttl_set(c->st, zone_id, it.owner, it.rr.type, ttl)) ||
        (rc = store_rr_add(c->st, zone_id, &it.rr))) {
        rc = rc == GTM_EEXIST ? cli_fail(c, "the record already exists: %s", line)
                              : cli_fail(c, "cannot add %s: %s", line, store_errmsg(c->st));
        goto out;
    }
    if ((rc = cli_zone_commit(c, zone_id, zone, serial_before, old.lines ? old.lines : "", line,
                              &serial)))
        goto out;
    printf("added %s (serial %u)\n", line, serial);
    rc = CLI_EXIT_OK;
out:
    free(old.lines);
    free(line);
    rr_item_fini(&it);
    return rc;
}

const struct cli_cmd cmd_record_add = {
    .name = "record add",
    .synopsis = "ZONE NAME TYPE TTL RDATA...",
    .summary = "add one record to a zone",
    .help = "NAME is relative to ZONE unless it ends with '.'; '@' is the apex. A full\n"
            "name without its final dot (www.example.com in example.com), in NAME or in\n"
            "RDATA, is taken as the full name, with a warning. TTL is in\n"
            "seconds or with units (300, 5m, 1h); the whole RRset takes it (RFC 2181 5.2).\n"
            "RDATA is in presentation format, as in a zone file; an argument holding blanks\n"
            "is one string (gtmctl record add example.com @ TXT 300 'v=spf1 -all').\n"
            "Adding an SOA replaces the zone's SOA. A CNAME beside other data, a second\n"
            "DNAME at a name, a record below a DNAME, a DNAME above names with records or\n"
            "policies, a record outside the zone and duplicates are refused.",
    .min_args = 5,
    .max_args = -1,
    .dash_from = 4,
    .run = record_add,
};

/* ---- record rm ------------------------------------------------------------------ */

static int record_rm(struct cli *c)
{
    char zone[DNAME_KEY_MAX], owner[DNAME_KEY_MAX];
    struct rr_item it = {0};
    struct rm_match m = {0};
    int64_t zone_id;
    uint32_t serial_before = 0, serial = 0;
    int removed = 0;
    int rc = cli_parse_name(c, "ZONE", c->args[0], zone);
    if (rc)
        return rc;
    m.type = (uint16_t)ldns_get_rr_type_by_name(c->args[2]);
    if (m.type == 0)
        return cli_usage_error(c, "'%s' is not a record type", c->args[2]);
    if (m.type == 6)
        return cli_fail(c, "a zone's SOA record cannot be removed (gtmctl zone rm removes the "
                           "zone; gtmctl record add replaces the SOA)");
    if (rr_name_key(c->args[1], zone, owner, sizeof owner) != 0)
        return cli_usage_error(c, "'%s' is not a domain name", c->args[1]);
    if (c->nargs > 3) {
        /* RDATA given: remove that record only. The TTL is not part of its identity. */
        if ((rc = parse_record(c, zone, "0", 3, &it)))
            return rc;
        m.only = &it;
    }
    if ((rc = cli_zone_begin(c, zone, &zone_id, &serial_before)))
        goto out;
    if ((rc = store_rr_foreach(c->st, zone_id, owner, match_rm, &m))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if (!m.lines) {
        rc = cli_fail(c, "no %s record at %s%s%s; nothing was changed", c->args[2], owner,
                      m.only ? " with RDATA " : "", m.only ? it.rdata : "");
        goto out;
    }
    if ((rc = store_rr_rm(c->st, zone_id, owner, m.type, m.only ? it.wire : NULL,
                          m.only ? it.rr.wire_len : 0, &removed))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if (m.type == 2 && strcmp(owner, zone) == 0) {
        struct rm_match left = {.type = 2};
        rc = store_rr_foreach(c->st, zone_id, owner, match_rm, &left);
        free(left.lines);
        if (rc) {
            rc = cli_store_fail(c, rc);
            goto out;
        }
        if (!left.lines) {
            rc = cli_fail(c,
                          "that would leave %s with no NS records at its apex, and resolvers "
                          "with no server to ask: add the new ones first; nothing was changed",
                          zone);
            goto out;
        }
    }
    if ((rc = cli_zone_commit(c, zone_id, zone, serial_before, m.lines, "", &serial)))
        goto out;
    printf("removed %d record%s (serial %u):\n%s\n", removed, removed == 1 ? "" : "s", serial,
           m.lines);
    rc = CLI_EXIT_OK;
out:
    free(m.lines);
    rr_item_fini(&it);
    return rc;
}

const struct cli_cmd cmd_record_rm = {
    .name = "record rm",
    .synopsis = "ZONE NAME TYPE [RDATA...]",
    .summary = "remove the records of a name and type, or one record with its RDATA",
    .help = "Without RDATA every record of TYPE at NAME goes; with it, only the record with\n"
            "that data. The SOA cannot be removed, nor the zone's last NS records at its\n"
            "apex (add the new ones first).",
    .min_args = 3,
    .max_args = -1,
    .dash_from = 3,
    .run = record_rm,
};

/* ---- record list ---------------------------------------------------------------- */

static int print_rr(void *arg, const struct store_rr *rr)
{
    (void)arg;
    char *line = rr_format(rr);
    printf("%s\n", line);
    free(line);
    return 0;
}

static int record_list(struct cli *c)
{
    char zone[DNAME_KEY_MAX], owner[DNAME_KEY_MAX];
    int64_t zone_id;
    int rc = cli_parse_name(c, "ZONE", c->args[0], zone);
    if (rc)
        return rc;
    if (c->nargs > 1 && rr_name_key(c->args[1], zone, owner, sizeof owner) != 0)
        return cli_usage_error(c, "'%s' is not a domain name", c->args[1]);
    if ((rc = cli_store_open(c, STORE_READ)))
        return rc;
    if ((rc = store_read_begin(c->st)) || (rc = store_zone_find(c->st, zone, &zone_id)) ||
        (rc = store_rr_foreach(c->st, zone_id, c->nargs > 1 ? owner : NULL, print_rr, NULL)))
        return cli_store_fail(c, rc);
    return CLI_EXIT_OK;
}

const struct cli_cmd cmd_record_list = {
    .name = "record list",
    .synopsis = "ZONE [NAME]",
    .summary = "list a zone's records, or those at one name",
    .min_args = 1,
    .max_args = 2,
    .run = record_list,
};
