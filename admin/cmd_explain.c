/* admin/cmd_explain.c — gtmctl explain FQDN [A|AAAA] --client IP[/PREFIX]: why a managed
 * name answers a client the way it does. It compiles the store with the same code as
 * gtm-dnsd (dnsd/snap_compile.c, dnsd/policy.c) and runs the same decision, with a
 * trace of every step: where the client is, which map entry or measurement applies,
 * each candidate kept or dropped and why, the answer, its TTL and its ECS scope. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/commands.h"
#include "common/clock.h"
#include "common/dname.h"
#include "common/err.h"
#include "common/xalloc.h"
#include "dnsd/snap.h"
#include "geo/geo.h"

#define TYPE_A 1
#define TYPE_AAAA 28
/* Lines of a --batch file are addresses, short. */
#define BATCH_LINE_MAX 256

struct explain {
    struct snap *s;
    struct geo_db *db;
    const struct pol_policy *p;
    const char *name; /* as given */
    int family;       /* of the answer: 4 for A, 6 for AAAA */
    struct pol_scratch sc;
};

/* ---- the client ------------------------------------------------------------------- */

/* "IP" or "IP/PREFIX" into c, as the server reads an ECS option of that prefix (an
 * address alone is a /32 or /128). Returns 0 or GTM_EPARSE. */
static int parse_client(const char *text, struct geo_client *c)
{
    char host[64];
    uint8_t addr[16] = {0}, ecs[4 + 16];
    const char *slash = strchr(text, '/');
    int family, prefix;
    snprintf(host, sizeof host, "%.*s", slash ? (int)(slash - text) : (int)strlen(text), text);
    if (inet_pton(AF_INET, host, addr) == 1)
        family = 4;
    else if (inet_pton(AF_INET6, host, addr) == 1)
        family = 6;
    else
        return GTM_EPARSE;
    prefix = family == 4 ? 32 : 128;
    if (slash) {
        char *end = NULL;
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > prefix)
            return GTM_EPARSE;
        prefix = (int)v;
    }
    for (int bit = prefix; bit < (family == 4 ? 32 : 128); bit++)
        addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
    ecs[0] = 0;
    ecs[1] = family == 4 ? 1 : 2;
    ecs[2] = (uint8_t)prefix;
    ecs[3] = 0;
    memcpy(ecs + 4, addr, ((size_t)prefix + 7) / 8);
    return geo_ecs_parse(ecs, 4 + ((size_t)prefix + 7) / 8, c);
}

static void format_net(int family, const uint8_t *addr, int prefix, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    uint8_t a[16] = {0};
    memcpy(a, addr, family == 4 ? 4 : 16);
    for (int bit = prefix; bit < (family == 4 ? 32 : 128); bit++)
        a[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, host, sizeof host);
    snprintf(out, outlen, "%s/%d", host, prefix);
}

/* ---- what the trace shows before the pipeline ---------------------------------------- */

static void regions_text(const struct snap *s, const uint16_t *regions, size_t n, char *out,
                         size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s", i ? ", " : "",
                 s->regions[regions[i]].name);
}

static void print_location(const struct explain *x, const struct geo_client *c, struct geo_loc *loc,
                           bool *located)
{
    int prefix = 0;
    char net[80];
    *located = false;
    memset(loc, 0, sizeof *loc);
    if (!x->db) {
        printf("location: unknown (no GeoIP database: give --geoip FILE, as gtm-dnsd has)\n");
        return;
    }
    if (geo_db_lookup(x->db, c->family, c->addr, loc, &prefix) != 0) {
        printf("location: unknown (not in the GeoIP database)\n");
        return;
    }
    *located = true;
    format_net(c->family, c->addr, prefix, net, sizeof net);
    printf("location: country %s%s%s, continent %s", loc->country[0] ? loc->country : "?",
           loc->subdivision[0] ? "-" : "", loc->subdivision,
           loc->continent[0] ? loc->continent : "?");
    if (loc->has_coords)
        printf(", %.4f %.4f", loc->lat, loc->lon);
    printf("; GeoIP network %s\n", net);
}

static void print_mode_basis(const struct explain *x, const struct geo_client *c,
                             const struct geo_loc *loc)
{
    const struct snap *s = x->s;
    const struct geo_inputs *in = &s->geo_in;
    char text[512], key[64];
    if (x->p->mode == POL_GEO) {
        int i = geo_map_match(in, loc, c->family, c->addr);
        if (i < 0) {
            printf("geo map: no entry matches this client, and there is no '*' entry\n");
            return;
        }
        geo_key_format(&in->map[i].key, key, sizeof key);
        regions_text(s, in->map[i].regions, in->map[i].nregions, text, sizeof text);
        printf("geo map: %s %s -> %s\n", geo_key_kind_name(in->map[i].key.kind), key, text);
    } else if (x->p->mode == POL_LATENCY) {
        int best = -1;
        const struct geo_key *k = NULL;
        for (size_t i = 0; i < in->nlatency; i++) {
            int score = geo_key_score(&in->latency[i].key, loc, c->family, c->addr);
            if (score > best) {
                best = score;
                k = &in->latency[i].key;
            }
        }
        if (!k) {
            printf("latency: no measurement for this client: by distance instead\n");
            return;
        }
        geo_key_format(k, key, sizeof key);
        printf("latency measured from %s %s:", geo_key_kind_name(k->kind), key);
        for (size_t i = 0; i < in->nlatency; i++)
            if (memcmp(&in->latency[i].key, k, sizeof *k) == 0)
                printf(" %s %.1f ms;", s->regions[in->latency[i].region].name, in->latency[i].ms);
        printf("\n");
    }
    if ((x->p->mode == POL_PROXIMITY || x->p->mode == POL_LATENCY) && loc->has_coords) {
        printf("distance from the client:");
        for (size_t r = 0; r < s->nregions; r++)
            if (s->regions[r].has_coords)
                printf(" %s %.0f km;", s->regions[r].name,
                       geo_distance_km(loc->lat, loc->lon, s->regions[r].lat, s->regions[r].lon));
        printf("\n");
    }
}

static void print_policy(const struct pol_policy *p)
{
    printf("policy %s: mode %s, pool %s, ttl %u, answers %u, fallback %s%s, region-up %u%%%s\n",
           p->name, pol_mode_name(p->mode), p->pool->name, p->ttl_s, p->answers,
           p->fallback == POL_FALLBACK_POOL   ? "pool "
           : p->fallback == POL_FALLBACK_NONE ? "none"
                                              : "fail-open",
           p->fallback == POL_FALLBACK_POOL ? p->fallback_pool->name : "", p->region_up_pct,
           p->sticky ? ", sticky" : "");
}

/* ---- answers -------------------------------------------------------------------------- */

/* The answer's records as text, comma-separated (for --batch) or one per line. */
static void answer_text(const struct pol_decision *d, bool one_line, char *out, size_t outlen)
{
    out[0] = '\0';
    if (d->answer == POL_ANSWER_NODATA) {
        snprintf(out, outlen, one_line ? "NODATA" : "no answer (NODATA, with the zone's SOA)");
        return;
    }
    for (uint16_t i = 0; i < d->n; i++) {
        const struct pol_endpoint *e = d->eps[i];
        const char *type = e->kind == POL_EP_V4 ? "A" : e->kind == POL_EP_V6 ? "AAAA" : "CNAME";
        snprintf(out + strlen(out), outlen - strlen(out), "%s%s%s%s",
                 i ? (one_line ? "," : "\n") : "", one_line ? "" : type, one_line ? "" : " ",
                 e->target);
    }
}

static void trace_line(void *arg, const char *fmt, va_list ap)
{
    (void)arg;
    vprintf(fmt, ap);
    putchar('\n');
}

static void explain_one(struct explain *x, const char *client_text, const struct geo_client *c)
{
    struct geo_loc loc;
    struct pol_decision d;
    struct pol_trace tr = {trace_line, NULL};
    char text[4096], net[80];
    bool located;
    format_net(c->family, c->addr, c->bits, net, sizeof net);
    printf("client %s: the server uses %s (at most /%d of IPv4, /%d of IPv6)\n", client_text, net,
           GEO_V4_BITS_MAX, GEO_V6_BITS_MAX);
    print_location(x, c, &loc, &located);
    print_policy(x->p);
    print_mode_basis(x, c, &loc);
    pol_decide(x->s, x->p, x->family, c, &x->sc, &tr, &d);
    answer_text(&d, false, text, sizeof text);
    if (d.answer == POL_ANSWER_NODATA) {
        printf("answer: %s\n", text);
    } else {
        printf("answer (TTL %u):\n", d.ttl_s);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
            printf("  %s %u IN %s\n", x->p->name, d.ttl_s, line);
    }
    format_net(c->family, c->addr, d.scope, net, sizeof net);
    printf("ECS scope: /%u", d.scope);
    if (d.scope)
        printf(" (resolvers may reuse this answer for %s)", net);
    printf("\n");
}

static int explain_batch(struct cli *c, struct explain *x, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[BATCH_LINE_MAX], text[4096];
    int lineno = 0;
    if (!f)
        return cli_fail(c, "%s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        struct geo_client client;
        struct pol_decision d;
        lineno++;
        line[strcspn(line, " \t\r\n#")] = '\0';
        if (!line[0])
            continue;
        if (parse_client(line, &client) != 0) {
            fclose(f);
            return cli_fail(c, "%s:%d: '%s' is not an address or address/prefix", path, lineno,
                            line);
        }
        pol_decide(x->s, x->p, x->family, &client, &x->sc, NULL, &d);
        answer_text(&d, true, text, sizeof text);
        printf("%s\t%s\t%u\n", line, text, d.scope);
    }
    fclose(f);
    return CLI_EXIT_OK;
}

/* ---- the command ---------------------------------------------------------------------- */

static int explain(struct cli *c)
{
    char key[DNAME_KEY_MAX], msg[512];
    const char *geoip[GEO_MAX_DBS];
    uint8_t wire[DNAME_WIRE_MAX];
    size_t len;
    struct explain x = {.name = c->args[0], .family = 4, .sc.rng = 0x2545F4914F6CDD1DULL};
    struct geo_client client;
    struct snap_result res;
    int rc, ngeoip = cli_opt_all(c, "geoip", geoip, GEO_MAX_DBS);
    const char *client_text = cli_opt(c, "client"), *batch = cli_opt(c, "batch");

    if ((rc = cli_parse_name(c, "FQDN", c->args[0], key)))
        return rc;
    if (c->nargs > 1 && strcasecmp(c->args[1], "AAAA") == 0)
        x.family = 6;
    else if (c->nargs > 1 && strcasecmp(c->args[1], "A") != 0)
        return cli_usage_error(c, "'%s': explain answers for A or AAAA", c->args[1]);
    if (!client_text == !batch)
        return cli_usage_error(c, "give --client IP[/PREFIX] or --batch FILE");
    if (client_text && parse_client(client_text, &client) != 0)
        return cli_usage_error(c, "--client: '%s' is not an address or address/prefix",
                               client_text);
    if (ngeoip && geo_db_open(geoip, (size_t)ngeoip, &x.db, msg, sizeof msg) != 0)
        return cli_fail(c, "%s", msg);
    if ((rc = cli_store_open(c, STORE_READ)))
        goto out;
    struct snap_geo_source geo = {.db = x.db};
    if ((rc = snap_compile(c->st, 1, &geo, &x.s, msg, sizeof msg))) {
        rc = cli_fail(c, "%s", msg);
        goto out;
    }
    /* the health gtm-dnsd applies: vantage reports, drills, drains */
    struct snap_health health = {0};
    int64_t generation;
    if (snap_health_load(c->st, &health, &generation) == 0)
        snap_health_apply(x.s, &health, clock_wall_ms(), false);
    snap_health_fini(&health);
    dname_wire_from_key(key, wire, &len);
    snap_lookup(x.s, wire, len, x.family == 4 ? TYPE_A : TYPE_AAAA, &res);
    if ((res.match != SNAP_EXACT && res.match != SNAP_WILDCARD) || !res.node->policy) {
        rc = cli_fail(c, "%s is not a managed name (%s); only managed names have decisions", key,
                      res.match == SNAP_REFUSED      ? "it is in no zone of the store"
                      : res.match == SNAP_NXDOMAIN   ? "it does not exist"
                      : res.match == SNAP_DELEGATION ? "it is delegated"
                      : res.match == SNAP_DNAME      ? "a DNAME above it redirects it"
                                                     : "it has static records");
        goto out;
    }
    x.p = res.node->policy;
    if (batch) {
        rc = explain_batch(c, &x, batch);
        goto out;
    }
    explain_one(&x, client_text, &client);
    rc = CLI_EXIT_OK;
out:
    snap_free(x.s);
    geo_db_close(x.db);
    return rc;
}

static const struct cli_opt explain_opts[] = {
    {"client", "IP[/PREFIX]", "the client: its address, or an ECS subnet", false},
    {"geoip", "FILE", "the GeoIP database(s) gtm-dnsd uses (--geoip there too)", true},
    {"batch", "FILE", "decide for every client in FILE (one per line): CLIENT ANSWER SCOPE", false},
    {NULL},
};

const struct cli_cmd cmd_explain = {
    .name = "explain",
    .synopsis = "FQDN [A|AAAA] --client IP[/PREFIX]|--batch FILE [--geoip FILE]...",
    .summary = "show how a managed name answers a client, step by step",
    .help = "Runs gtm-dnsd's own decision code on the store: the client's location (give the\n"
            "server's --geoip files), the map entry or measurement that applies, each\n"
            "candidate kept or dropped and why (disabled, drained, unhealthy, region down),\n"
            "the answer, its TTL and its ECS scope. An address alone is taken as an ECS /32\n"
            "(/128); the server uses at most its first 24 (IPv4) or 56 (IPv6) bits.\n"
            "Weighted choices are random, as in the server: run it twice, see two draws.",
    .min_args = 1,
    .max_args = 2,
    .opts = explain_opts,
    .run = explain,
};
