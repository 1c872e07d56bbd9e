/* admin/zone_import.c — gtmctl zone import ZONE FILE: all or nothing. The file (and
 * its $INCLUDEs) is read and checked completely before the store is touched; then one
 * transaction replaces the zone's records. Any error names the file and line, and
 * leaves the store as it was. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/commands.h"
#include "admin/rr.h"
#include "admin/zonefile.h"
#include "common/err.h"
#include "common/xalloc.h"

struct rr_list {
    struct rr_item *v;
    size_t n, cap;
};

struct import {
    const char *zone; /* key */
    struct rr_list rrs;
    size_t dropped[RR_DNSSEC_TYPES]; /* DNSSEC records left out, by rr_dnssec_types */
    size_t ttl_1;                    /* records with a TTL of 1 s */
    char **files; /* every file read, so records can point at their file's name */
    size_t nfiles;
};

static struct rr_item *push(struct rr_list *l)
{
    l->v = xgrow(l->v, &l->cap, l->n + 1, sizeof *l->v);
    return &l->v[l->n++];
}

static void rr_list_fini(struct rr_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        rr_item_fini(&l->v[i]);
    free(l->v);
}

static const char *intern_file(struct import *im, const char *file)
{
    if (im->nfiles && strcmp(im->files[im->nfiles - 1], file) == 0)
        return im->files[im->nfiles - 1];
    im->files = xreallocarray(im->files, im->nfiles + 1, sizeof *im->files);
    im->files[im->nfiles] = xstrdup(file);
    return im->files[im->nfiles++];
}

static int on_rr(void *arg, const ldns_rr *lr, const char *file, int line, char *err, size_t errlen)
{
    struct import *im = arg;
    struct rr_item it;
    int rc = rr_item_from_ldns(lr, &it, err, errlen);
    if (rc)
        return rc;
    if (!rr_key_in_zone(it.owner, im->zone)) {
        snprintf(err, errlen, "%s is outside the zone %s", it.owner, im->zone);
        rr_item_fini(&it);
        return GTM_EINVAL;
    }
    int dnssec = rr_dnssec_index(it.rr.type);
    if (dnssec >= 0) {
        im->dropped[dnssec]++;
        rr_item_fini(&it);
        return 0;
    }
    im->ttl_1 += it.rr.ttl_s == 1;
    it.file = intern_file(im, file);
    it.line = line;
    *push(&im->rrs) = it;
    return 0;
}

static void on_warning(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "gtmctl: zone import: warning: %s\n", msg);
}

/* A signed zone's keys, signatures and chains were dropped: say so, and what a DS at the
 * parent would do to an unsigned zone. */
static void warn_dnssec(const struct import *im)
{
    char types[128] = "";
    size_t total = 0, len = 0;
    for (size_t i = 0; i < RR_DNSSEC_TYPES; i++) {
        if (!im->dropped[i])
            continue;
        total += im->dropped[i];
        len += (size_t)snprintf(types + len, sizeof types - len, "%s%zu %s", len ? ", " : "",
                                im->dropped[i], ldns_rr_descript(rr_dnssec_types[i])->_name);
    }
    if (total)
        fprintf(stderr,
                "gtmctl: zone import: warning: %s was signed (DNSSEC): %zu records not "
                "imported (%s); gtm serves zones unsigned, so while the parent zone holds DS "
                "records for %s, validating resolvers fail every name in it: have them "
                "removed (at the registrar) before delegating to gtm\n",
                im->zone, total, types, im->zone);
}

/* ---- checks on the whole zone --------------------------------------------------- */

static int check_fail(char *err, size_t errlen, const struct rr_item *it, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int check_fail(char *err, size_t errlen, const struct rr_item *it, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(err, errlen, "%s:%d: ", it->file, it->line);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < errlen)
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return GTM_EINVAL;
}

/* RFC 2181 §5.2: the records of an RRset share one TTL. Gives every RRset the TTL of
 * its first record in the file, with a warning when they differed. */
static void unify_ttls(struct rr_list *l)
{
    for (size_t i = 0, end; i < l->n; i = end) {
        const struct rr_item *first = &l->v[i];
        bool mixed = false;
        for (end = i + 1; end < l->n && l->v[end].rr.type == l->v[i].rr.type &&
                          strcmp(l->v[end].owner, l->v[i].owner) == 0;
             end++) {
            mixed |= l->v[end].rr.ttl_s != l->v[i].rr.ttl_s;
            if (l->v[end].file == first->file && l->v[end].line < first->line)
                first = &l->v[end];
        }
        if (!mixed)
            continue;
        char *type = ldns_rr_type2str((ldns_rr_type)first->rr.type);
        fprintf(stderr,
                "gtmctl: zone import: warning: %s:%d: the %s records of %s have different "
                "TTLs; using %u (RFC 2181 section 5.2)\n",
                first->file, first->line, type ? type : "?", first->owner, first->rr.ttl_s);
        free(type);
        uint32_t ttl = first->rr.ttl_s;
        for (size_t j = i; j < end; j++)
            l->v[j].rr.ttl_s = ttl;
    }
}

static int item_owner_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct rr_item *const *)a)->owner,
                  (*(const struct rr_item *const *)b)->owner);
}

/* RFC 6672 §2.4, as NSD loads zones: no data below a DNAME (l sorted by owner, one
 * DNAME per owner already checked). */
static int check_below_dnames(const struct import *im, char *err, size_t errlen)
{
    const struct rr_list *l = &im->rrs;
    const struct rr_item **dnames = NULL;
    size_t n = 0;
    int rc = 0;
    size_t cap = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].rr.type == 39) {
            dnames = xgrow(dnames, &cap, n + 1, sizeof *dnames);
            dnames[n++] = &l->v[i];
        }
    size_t apex_len = strlen(im->zone);
    for (size_t i = 0; n && i < l->n && rc == 0; i++) {
        const struct rr_item *it = &l->v[i];
        /* each name above the owner, up to the apex: in a key, every '.' ends a label,
         * and the last one leaves the root, '.' */
        for (const char *dot = strcmp(it->owner, ".") ? strchr(it->owner, '.') : NULL;
             dot && rc == 0; dot = dot[1] ? strchr(dot + 1, '.') : NULL) {
            struct rr_item key = {.owner = (char *)(dot[1] ? dot + 1 : ".")};
            const struct rr_item *kp = &key, **d;
            if (strlen(key.owner) < apex_len)
                break;
            d = bsearch(&kp, dnames, n, sizeof *dnames, item_owner_cmp);
            if (d)
                rc = check_fail(err, errlen, it,
                                "%s is below the DNAME at %s (line %d): a name below a DNAME "
                                "cannot have data (RFC 6672 section 2.4)",
                                it->owner, (*d)->owner, (*d)->line);
        }
    }
    free(dnames);
    return rc;
}

/* Sorts and checks the records: one SOA at the apex, CNAMEs alone, at most one DNAME at
 * a name and nothing below it, one TTL per RRset (made so, with a warning), duplicates
 * dropped. Returns 0 or GTM_EINVAL with err. */
static int check_zone(struct import *im, const char *path, char *err, size_t errlen)
{
    struct rr_list *l = &im->rrs;
    const struct rr_item *soa = NULL;
    bool apex_ns = false;
    size_t out = 0, dups = 0;
    if (l->n)
        qsort(l->v, l->n, sizeof *l->v, rr_item_cmp);
    for (size_t i = 0; i < l->n; i++) {
        if (out > 0 && rr_item_cmp(&l->v[out - 1], &l->v[i]) == 0) {
            rr_item_fini(&l->v[i]); /* RFC 2181 §5: duplicate records are one record */
            dups++;
            continue;
        }
        l->v[out++] = l->v[i];
    }
    l->n = out;
    for (size_t i = 0; i < l->n; i++) {
        const struct rr_item *it = &l->v[i], *prev = i ? &l->v[i - 1] : NULL;
        if (it->rr.type == 6) {
            if (strcmp(it->owner, im->zone) != 0)
                return check_fail(err, errlen, it, "SOA record for %s, not at the zone apex %s",
                                  it->owner, im->zone);
            if (soa)
                return check_fail(err, errlen, it, "second SOA record (the first is at %s:%d)",
                                  soa->file, soa->line);
            soa = it;
        }
        apex_ns |= it->rr.type == 2 && strcmp(it->owner, im->zone) == 0;
        /* The records of one owner are adjacent: compare with the previous one. */
        if (!prev || strcmp(prev->owner, it->owner) != 0)
            continue;
        if (it->rr.type == 5 || prev->rr.type == 5)
            return check_fail(err, errlen, it,
                              "%s has a CNAME and other data (see line %d); a CNAME must be "
                              "alone at its name (RFC 1034 section 3.6.2)",
                              it->owner, prev->line);
        if (it->rr.type == 39 && prev->rr.type == 39)
            return check_fail(err, errlen, it,
                              "%s has a second DNAME (see line %d); a name has at most one "
                              "(RFC 6672 section 2.4)",
                              it->owner, prev->line);
    }
    int rc = check_below_dnames(im, err, errlen);
    if (rc)
        return rc;
    if (!soa) {
        snprintf(err, errlen, "%s: no SOA record for the zone apex %s", path, im->zone);
        return GTM_EINVAL;
    }
    unify_ttls(l);
    warn_dnssec(im);
    /* Cloudflare's exports name its servers in the SOA */
    if (im->ttl_1 && strstr(soa->rdata, "cloudflare.com."))
        fprintf(stderr,
                "gtmctl: zone import: warning: %zu record%s a TTL of 1 second (Cloudflare's "
                "exports write 1 for its automatic TTL, which it serves as 300); imported as "
                "written\n",
                im->ttl_1, im->ttl_1 == 1 ? " has" : "s have");
    if (dups)
        fprintf(stderr, "gtmctl: zone import: warning: %zu duplicate records ignored\n", dups);
    if (!apex_ns)
        fprintf(stderr, "gtmctl: zone import: warning: no NS records at the zone apex %s\n",
                im->zone);
    return 0;
}

/* ---- the transaction ------------------------------------------------------------ */

static int collect_old(void *arg, const struct store_rr *rr)
{
    struct rr_item *it = push(arg);
    memset(it, 0, sizeof *it);
    it->owner = xstrdup(rr->owner);
    it->wire = xmalloc(rr->wire_len ? rr->wire_len : 1);
    if (rr->wire_len)
        memcpy(it->wire, rr->wire, rr->wire_len);
    it->rr = (struct store_rr){.owner = it->owner,
                               .type = rr->type,
                               .ttl_s = rr->ttl_s,
                               .wire = it->wire,
                               .wire_len = rr->wire_len};
    return 0;
}

/* Counts records only in a (*only_a) and only in b (*only_b); both sorted. A record
 * whose TTL changed counts on both sides: it was replaced. */
static void diff(const struct rr_list *a, const struct rr_list *b, size_t *only_a, size_t *only_b)
{
    size_t i = 0, j = 0, na = 0, nb = 0;
    while (i < a->n && j < b->n) {
        int d = rr_item_cmp(&a->v[i], &b->v[j]);
        if (d < 0) {
            na++;
            i++;
        } else if (d > 0) {
            nb++;
            j++;
        } else {
            bool ttl_changed = a->v[i].rr.ttl_s != b->v[j].rr.ttl_s;
            na += ttl_changed;
            nb += ttl_changed;
            i++;
            j++;
        }
    }
    *only_a = na + (a->n - i);
    *only_b = nb + (b->n - j);
}

/* RFC 6672 §2.4 against what the file does not hold: a DNAME of the file may not hide
 * the zone's managed names (its records below were checked with the file). Returns 0,
 * or the CLI failure. */
static int check_dname_over_policies(struct cli *c, int64_t zone_id, const struct rr_item *it)
{
    bool below = false;
    if (it->rr.type != 39)
        return 0;
    int rc = store_rr_below(c->st, zone_id, it->owner, &below);
    if (rc)
        return cli_store_fail(c, rc);
    if (below)
        return cli_fail(c,
                        "%s:%d: the DNAME at %s would hide the managed names below it "
                        "(gtmctl policy list shows them; RFC 6672 section 2.4); nothing was "
                        "changed",
                        it->file, it->line, it->owner);
    return 0;
}

/* The managed names of one zone. */
struct managed {
    int64_t zone_id;
    char **names;
    size_t n;
};

static int managed_add(void *arg, const struct store_policy *p)
{
    struct managed *m = arg;
    if (p->zone_id == m->zone_id) {
        m->names = xreallocarray(m->names, m->n + 1, sizeof *m->names);
        m->names[m->n++] = xstrdup(p->name);
    }
    return 0;
}

/* A managed name has no records (its policy answers it): every record of the file at
 * one of the zone's managed names, at most ZONEFILE_MAX_ERRORS, into err (one a line).
 * Returns 0, GTM_EINVAL with err, or a store failure. */
static int check_managed(struct cli *c, int64_t zone_id, const struct rr_list *rrs, char *err,
                         size_t errlen)
{
    struct managed m = {.zone_id = zone_id};
    int rc = store_policy_foreach(c->st, managed_add, &m), found = 0;
    size_t len = 0;
    for (size_t i = 0; rc == 0 && i < rrs->n && found < ZONEFILE_MAX_ERRORS; i++) {
        const struct rr_item *it = &rrs->v[i];
        for (size_t k = 0; k < m.n; k++) {
            if (strcmp(m.names[k], it->owner) != 0)
                continue;
            int n = snprintf(err + len, errlen - len,
                             "%s%s:%d: %s is a managed name: its policy answers it, it can "
                             "have no records (leave the line out, or first gtmctl policy "
                             "rm %s)",
                             found ? "\n" : "", it->file, it->line, it->owner, it->owner);
            len += n > 0 && (size_t)n < errlen - len ? (size_t)n : 0;
            found++;
            break;
        }
    }
    for (size_t k = 0; k < m.n; k++)
        free(m.names[k]);
    free(m.names);
    return rc ? rc : found ? GTM_EINVAL : 0;
}

/* Fails with the errors of err, one a line: all but the last reported on their own. */
static int import_fail(struct cli *c, char *err)
{
    char *last = err, *nl;
    while ((nl = strchr(last, '\n'))) {
        *nl = '\0';
        fprintf(stderr, "gtmctl: %s: %s\n", c->cmd->name, last);
        last = nl + 1;
    }
    return cli_fail(c, "%s; nothing was changed", last);
}

static int zone_import(struct cli *c)
{
    char zone[DNAME_KEY_MAX], err[8192] = "";
    const char *path = strcmp(c->args[1], "-") == 0 ? "/dev/stdin" : c->args[1];
    struct import im = {.zone = zone};
    const struct zonefile_ops ops = {.rr = on_rr, .warn = on_warning, .arg = &im};
    struct rr_list old = {0};
    int64_t zone_id = 0;
    uint32_t serial_before = 0, serial = 0;
    bool existed = true;
    size_t removed = 0, added = 0;
    char *before = NULL, *after = NULL;
    int rc = cli_parse_name(c, "ZONE", c->args[0], zone);
    if (rc)
        return rc;
    if (zonefile_read(path, zone, &ops, err, sizeof err) != 0 ||
        check_zone(&im, path, err, sizeof err) != 0) {
        rc = import_fail(c, err);
        goto out;
    }

    if ((rc = cli_store_open(c, STORE_WRITE)))
        goto out;
    if ((rc = store_tx_begin(c->st))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    rc = store_zone_find(c->st, zone, &zone_id);
    if (rc == GTM_ENOTFOUND) {
        existed = false;
        rc = store_zone_add(c->st, zone, &zone_id);
    } else if (rc == 0) {
        if ((rc = check_managed(c, zone_id, &im.rrs, err, sizeof err)) == GTM_EINVAL) {
            rc = import_fail(c, err);
            goto out;
        }
        if (rc == 0 && (rc = store_zone_serial_get(c->st, zone_id, &serial_before)) == 0 &&
            (rc = store_rr_foreach(c->st, zone_id, NULL, collect_old, &old)) == 0)
            rc = store_zone_clear(c->st, zone_id);
    }
    if (rc) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    for (size_t i = 0; i < im.rrs.n; i++) {
        const struct rr_item *it = &im.rrs.v[i];
        if ((rc = store_rr_add(c->st, zone_id, &it->rr))) {
            rc = cli_fail(c, "%s:%d: %s; nothing was changed", it->file, it->line,
                          store_errmsg(c->st));
            goto out;
        }
        if ((rc = check_dname_over_policies(c, zone_id, it)))
            goto out;
    }
    if (old.n)
        qsort(old.v, old.n, sizeof *old.v, rr_item_cmp);
    diff(&old, &im.rrs, &removed, &added);
    if (existed && added == 0 && removed == 0) {
        /* the same records: nothing to change, not even the serial */
        if ((rc = store_tx_end(c->st, false))) {
            rc = cli_store_fail(c, rc);
            goto out;
        }
        printf("zone %s unchanged by %s: %zu records, serial %u\n", zone, path, im.rrs.n,
               serial_before);
        rc = CLI_EXIT_OK;
        goto out;
    }
    before = existed ? xasprintf("serial %u, %zu records", serial_before, old.n) : xstrdup("");
    after = xasprintf("%zu records from %s (+%zu -%zu)", im.rrs.n, path, added, removed);
    if (existed) {
        if ((rc = cli_zone_commit(c, zone_id, zone, serial_before, before, after, &serial)))
            goto out;
    } else {
        /* A new zone keeps the serial of its file: secondaries and the old provider
         * agree on it. */
        if ((rc = store_zone_serial_get(c->st, zone_id, &serial)) ||
            (rc = cli_audit(c, zone, before, after)) || (rc = store_tx_end(c->st, true))) {
            rc = cli_store_fail(c, rc);
            goto out;
        }
    }
    printf("zone %s imported from %s: %zu records (+%zu -%zu), serial %u\n", zone, path, im.rrs.n,
           added, removed, serial);
    rc = CLI_EXIT_OK;
out:
    free(before);
    free(after);
    rr_list_fini(&old);
    rr_list_fini(&im.rrs);
    for (size_t i = 0; i < im.nfiles; i++)
        free(im.files[i]);
    free(im.files);
    return rc;
}

const struct cli_cmd cmd_zone_import = {
    .name = "zone import",
    .synopsis = "ZONE FILE",
    .summary = "replace a zone's records with those of a zone file (all or nothing)",
    .help = "FILE is in RFC 1035 presentation format: $ORIGIN, $TTL and $INCLUDE (relative\n"
            "to the including file), BIND's $GENERATE (with its ${offset,width,base}\n"
            "modifiers), relative names, escapes, multi-line records, every common type\n"
            "and unknown types in RFC 3597 form (TYPE65280 \\# 2 abcd). FILE '-' (or a\n"
            "pipe) is standard input.\n"
            "The zone is created if it does not exist (keeping the file's SOA serial);\n"
            "an existing zone's serial moves on as after any change (a file with the\n"
            "zone's records changes nothing). The whole file is checked first: one SOA at\n"
            "the apex, owners inside ZONE, a CNAME alone at its name, at most one DNAME at\n"
            "a name and no data below it (RFC 6672), nor the zone's managed names. Errors\n"
            "name the file and line (up to 20 are listed), and nothing is changed.\n"
            "Duplicate records are dropped and an RRset with mixed TTLs gets its first\n"
            "TTL, with a warning. Without $TTL, a record with no TTL takes the last TTL\n"
            "given, or else an SOA record's MINIMUM, or else 3600 (with a warning).\n"
            "gtm serves zones unsigned: a signed zone's DNSKEY, RRSIG, NSEC, NSEC3,\n"
            "NSEC3PARAM, ZONEMD, CDS and CDNSKEY records are left out, with a warning.\n"
            "Other providers' exports are read as they come (Route 53 through cli53,\n"
            "Cloudflare, BIND); what only their comments say is named in a warning:\n"
            "Cloudflare's proxied records (served with the origin addresses written) and\n"
            "Route 53 routing policies (served as plain records), and Cloudflare's TTL 1.\n"
            "A name written in full without its final dot (Cloudflare's SOA owner), which\n"
            "as a relative name would end in the origin twice, is taken as the full name,\n"
            "with a warning.",
    .min_args = 2,
    .max_args = 2,
    .run = zone_import,
};
