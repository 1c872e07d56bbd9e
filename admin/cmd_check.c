/* admin/cmd_check.c — gtmctl check set|list|rm: how gtm-healthd probes an endpoint
 * (HTTP, HTTPS, TCP connect or a DNS query), how often, and what counts as up. One
 * check per endpoint; a change is one transaction with one audit row for no zone.
 * gtmctl only, single-threaded. */
#include "config.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "admin/commands.h"
#include "common/err.h"
#include "common/xalloc.h"

/* Issue 5's defaults: a probe every 10 s that may take 2 s; up after 2 good probes in
 * a row, down after 3 bad ones. */
#define CHECK_INTERVAL_MS 10000
#define CHECK_TIMEOUT_MS 2000
#define CHECK_RISE 2
#define CHECK_FALL 3
/* The store's CHECKs (db/migrations/0003_health.sql): an interval from 1 s to a day, a
 * timeout from 100 ms to a minute and below the interval, rise and fall up to 100. */
#define CHECK_INTERVAL_MIN_MS 1000
#define CHECK_INTERVAL_MAX_MS 86400000
#define CHECK_TIMEOUT_MIN_MS 100
#define CHECK_TIMEOUT_MAX_MS 60000
#define CHECK_COUNT_MAX 100
/* What an operator types on one line; longer is a mistake, not a URL or a body. */
#define CHECK_TEXT_MAX 1024
/* A DNS check with no --query asks for the root's SOA: any resolver answers it. */
#define CHECK_DNS_QUERY "./SOA"

static const char *const types[] = {"http", "https", "tcp", "dns"};
static const uint32_t default_ports[] = {80, 443, 0, 53};

static bool is_http(const char *type)
{
    return strncmp(type, "http", 4) == 0;
}

/* ---- parsing -------------------------------------------------------------------- */

/* Checks --url against the type; *port_out gets its port, 0 when it names none. */
static int parse_url(const struct cli *c, const char *url, const char *type, uint32_t *port_out)
{
    char scheme[16], *port = NULL;
    snprintf(scheme, sizeof scheme, "%s://", type);
    int rc = cli_parse_text(c, "--url", url, CHECK_TEXT_MAX);
    if (rc)
        goto out;
    if (strncmp(url, scheme, strlen(scheme)) != 0 || strchr(url, ' ')) {
        rc = cli_usage_error(c, "--url: '%s' is not a URL starting with %s (--type %s)", url,
                             scheme, type);
        goto out;
    }
    /* the authority, up to the path: host, host:port, [v6] or [v6]:port */
    const char *host = url + strlen(scheme);
    const char *end = host + strcspn(host, "/?#");
    const char *close = *host == '[' ? memchr(host, ']', (size_t)(end - host)) : NULL;
    const char *after = *host == '[' ? (close ? close + 1 : host) /* past the host */
                                     : host + strcspn(host, ":/?#");
    if (after == host || (after < end && *after != ':')) {
        rc = cli_usage_error(c, "--url: '%s' names no host", url);
        goto out;
    }
    *port_out = 0;
    if (after < end) {
        port = xstrndup(after + 1, (size_t)(end - after - 1));
        rc = cli_parse_u32(c, "--url: port", port, 1, 65535, port_out);
    }
out:
    free(port);
    return rc;
}

/* A status code: three digits from 100 to 599. */
static bool status_parse(const char *s, size_t len, uint32_t *out)
{
    if (len != 3 || strspn(s, "0123456789") < 3)
        return false;
    *out = (uint32_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    return *out >= 100 && *out <= 599;
}

/* --expect-status: "200-399" or "200" into k. */
static int parse_status(const struct cli *c, const char *s, struct store_check *k)
{
    const char *dash = strchr(s, '-');
    const char *hi = dash ? dash + 1 : s;
    size_t lo_len = dash ? (size_t)(dash - s) : strlen(s);
    if (!status_parse(s, lo_len, &k->status_min) || !status_parse(hi, strlen(hi), &k->status_max) ||
        k->status_min > k->status_max)
        return cli_usage_error(c,
                               "--expect-status: '%s' is not a status or a range of them, low "
                               "to high, from 100 to 599 (200, 200-399)",
                               s);
    return 0;
}

/* --query NAME/TYPE into its normal form ("example.com./SOA"; caller frees). */
static int parse_query(const struct cli *c, const char *s, char **out)
{
    char name[DNAME_KEY_MAX], *text = xstrdup(s), *slash = strrchr(text, '/');
    ldns_rr_type type = 0;
    int rc = CLI_EXIT_USAGE;
    if (!slash || slash == text) {
        rc = cli_usage_error(c, "--query: '%s' is not NAME/TYPE (example.com/SOA)", s);
        goto out;
    }
    *slash = '\0';
    if ((rc = cli_parse_name(c, "--query", text, name)))
        goto out;
    type = ldns_get_rr_type_by_name(slash + 1);
    /* a probe asks one question a server answers: no zone transfer or meta type */
    if (type == 0 || type == LDNS_RR_TYPE_AXFR || type == LDNS_RR_TYPE_IXFR ||
        type == LDNS_RR_TYPE_OPT || type == LDNS_RR_TYPE_TSIG || type == LDNS_RR_TYPE_MAILA ||
        type == LDNS_RR_TYPE_MAILB) {
        rc = cli_usage_error(c, "--query: '%s' is not a record type to ask for (A, AAAA, SOA...)",
                             slash + 1);
        goto out;
    }
    char *type_text = ldns_rr_type2str(type);
    *out = xasprintf("%s/%s", name, type_text);
    free(type_text);
    rc = 0;
out:
    free(text);
    return rc;
}

/* The options that apply to some types only (bits: 1 << index in types[]); each is
 * refused for the others. */
static int check_applies(const struct cli *c, size_t type)
{
    enum { HTTP = 1, HTTPS = 2, DNS = 8 };
    static const struct {
        const char *opt;
        unsigned types;
        const char *text;
    } only[] = {
        {"url", HTTP | HTTPS, "http and https"},
        {"host", HTTP | HTTPS, "http and https"},
        {"expect-status", HTTP | HTTPS, "http and https"},
        {"expect-body", HTTP | HTTPS, "http and https"},
        {"insecure", HTTPS, "https"},
        {"query", DNS, "dns"},
    };
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        if (cli_opt(c, only[i].opt) && !(only[i].types & (1u << type)))
            return cli_usage_error(c, "--%s applies to --type %s only", only[i].opt, only[i].text);
    return 0;
}

/* Reads the options into k (strings borrowed from the command line, or allocated into
 * *query and *probe for the caller to free). tgt is the endpoint's target. */
static int parse_check(const struct cli *c, const struct cli_target *tgt, struct store_check *k,
                       char **query, char **probe)
{
    const char *type = cli_opt(c, "type"), *port = cli_opt(c, "port");
    const char *interval = cli_opt(c, "interval"), *timeout = cli_opt(c, "timeout");
    const char *rise = cli_opt(c, "rise"), *fall = cli_opt(c, "fall");
    const char *status = cli_opt(c, "expect-status"), *addr = cli_opt(c, "probe-address");
    uint32_t url_port = 0;
    uint8_t buf[16];
    size_t t = 0;
    int rc = CLI_EXIT_USAGE;
    if (!type) {
        rc = cli_usage_error(c, "--type is required: http, https, tcp or dns");
        goto out;
    }
    while (t < sizeof types / sizeof types[0] && strcmp(type, types[t]) != 0)
        t++;
    if (t == sizeof types / sizeof types[0]) {
        rc = cli_usage_error(c, "--type: '%s' is not http, https, tcp or dns", type);
        goto out;
    }
    k->type = types[t];
    k->url = cli_opt(c, "url");
    k->host = cli_opt(c, "host");
    k->expect_body = cli_opt(c, "expect-body");
    k->insecure = cli_opt(c, "insecure") != NULL;
    if ((rc = check_applies(c, t)) || (k->url && (rc = parse_url(c, k->url, k->type, &url_port))) ||
        (k->host && (rc = cli_parse_text(c, "--host", k->host, 255))) ||
        (k->expect_body &&
         (rc = cli_parse_text(c, "--expect-body", k->expect_body, CHECK_TEXT_MAX))) ||
        (status && (rc = parse_status(c, status, k))) ||
        (cli_opt(c, "query") && (rc = parse_query(c, cli_opt(c, "query"), query))) ||
        (port && (rc = cli_parse_u32(c, "--port", port, 1, 65535, &k->port))) ||
        (interval && (rc = cli_parse_duration_ms(c, "--interval", interval, CHECK_INTERVAL_MIN_MS,
                                                 CHECK_INTERVAL_MAX_MS, &k->interval_ms))) ||
        (timeout && (rc = cli_parse_duration_ms(c, "--timeout", timeout, CHECK_TIMEOUT_MIN_MS,
                                                CHECK_TIMEOUT_MAX_MS, &k->timeout_ms))) ||
        (rise && (rc = cli_parse_u32(c, "--rise", rise, 1, CHECK_COUNT_MAX, &k->rise))) ||
        (fall && (rc = cli_parse_u32(c, "--fall", fall, 1, CHECK_COUNT_MAX, &k->fall))))
        goto out;
    if (k->host && strpbrk(k->host, " /")) {
        rc = cli_usage_error(c, "--host: '%s' is not a host name", k->host);
        goto out;
    }
    if (k->timeout_ms >= k->interval_ms) {
        char t_text[CLI_DURATION_MAX], i_text[CLI_DURATION_MAX];
        rc = cli_usage_error(c,
                             "--timeout %s must be shorter than the interval (%s): a probe "
                             "never overlaps the next",
                             cli_duration_text(k->timeout_ms, t_text),
                             cli_duration_text(k->interval_ms, i_text));
        goto out;
    }
    if (addr && inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1) {
        rc = cli_usage_error(c, "--probe-address: '%s' is not an IPv4 or IPv6 address", addr);
        goto out;
    }
    if (addr) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(strchr(addr, ':') ? AF_INET6 : AF_INET, buf, text, sizeof text);
        k->probe_address = *probe = xstrdup(text);
    }
    /* HTTP resolves a host name itself; a TCP connect or a DNS query needs an address */
    if (!addr && tgt->kind == STORE_EP_NAME && !is_http(k->type)) {
        rc = cli_usage_error(c,
                             "%s is a host name: a %s check needs --probe-address, the "
                             "address to probe",
                             tgt->text, k->type);
        goto out;
    }
    /* the port probed: --port, else the URL's, else the type's; TCP has no default */
    if (!k->port)
        k->port = url_port ? url_port : default_ports[t];
    if (!k->port) {
        rc = cli_usage_error(c, "--port is required for --type tcp: the port to connect to");
        goto out;
    }
    if (strcmp(k->type, "dns") == 0 && !*query)
        *query = xstrdup(CHECK_DNS_QUERY);
    k->query = *query;
    rc = 0;
out:
    return rc;
}

/* ---- what a check says ---------------------------------------------------------- */

/* Where it probes: "192.0.2.1:80", "[2001:db8::1]:443". Caller frees. */
static char *probe_text(const struct store_check *k)
{
    const char *addr = k->probe_address ? k->probe_address : k->target;
    bool is_v6 = strchr(addr, ':') != NULL;
    return xasprintf("%s%s%s:%u", is_v6 ? "[" : "", addr, is_v6 ? "]" : "", k->port);
}

/* What it asks: "GET /health, Host www.example.com", "example.com./SOA", "" for TCP. */
static char *request_text(const struct store_check *k)
{
    if (is_http(k->type))
        return xasprintf("GET %s%s%s", k->url ? k->url : "/", k->host ? ", Host " : "",
                         k->host ? k->host : "");
    return xstrdup(k->query ? k->query : "");
}

/* What counts as up: "status 200-399, body \"ok\"", "NOERROR with an answer", "connect". */
static char *expect_text(const struct store_check *k)
{
    if (strcmp(k->type, "tcp") == 0)
        return xstrdup("connect");
    if (strcmp(k->type, "dns") == 0)
        return xstrdup("NOERROR with an answer");
    char status[16];
    if (k->status_min == k->status_max)
        snprintf(status, sizeof status, "%u", k->status_min);
    else
        snprintf(status, sizeof status, "%u-%u", k->status_min, k->status_max);
    return xasprintf("status %s%s%s%s%s", status, k->expect_body ? ", body \"" : "",
                     k->expect_body ? k->expect_body : "", k->expect_body ? "\"" : "",
                     k->insecure ? ", no TLS verification" : "");
}

/* "check web 192.0.2.1: http 192.0.2.1:80 GET /, interval 10s, timeout 2s, rise 2,
 * fall 3, expect status 200-399": what the audit row and the output say. */
static char *check_summary(const struct store_check *k)
{
    char interval[CLI_DURATION_MAX], timeout[CLI_DURATION_MAX];
    char *probe = probe_text(k), *request = request_text(k), *expect = expect_text(k);
    char *s = xasprintf("check %s %s: %s %s%s%s, interval %s, timeout %s, rise %u, fall %u, "
                        "expect %s",
                        k->pool, k->target, k->type, probe, *request ? " " : "", request,
                        cli_duration_text(k->interval_ms, interval),
                        cli_duration_text(k->timeout_ms, timeout), k->rise, k->fall, expect);
    free(expect);
    free(request);
    free(probe);
    return s;
}

/* ---- the endpoint and its check ------------------------------------------------- */

/* The check of one endpoint, if any, as the audit shows it. */
struct check_found {
    int64_t endpoint_id;
    char *summary; /* NULL: no check */
};

static int match_check(void *arg, const struct store_check *k)
{
    struct check_found *f = arg;
    if (k->endpoint_id == f->endpoint_id)
        f->summary = check_summary(k);
    return 0;
}

/* Starts a change to the check of endpoint POOL TARGET (the arguments): the transaction,
 * the endpoint's id (into found) and its check's summary, if it has one. */
static int check_begin(struct cli *c, const struct cli_target *t, struct check_found *found)
{
    struct store_endpoint e;
    int64_t pool_id = 0;
    int rc = cli_tx_begin(c);
    if (rc)
        goto out;
    if ((rc = store_pool_find(c->st, c->args[0], &pool_id)) == 0 &&
        (rc = store_endpoint_get(c->st, pool_id, t->text, &e)) == GTM_ENOTFOUND) {
        rc = cli_fail(c, "pool %s has no endpoint %s (gtmctl endpoint list %s shows them)",
                      c->args[0], t->text, c->args[0]);
        goto out;
    }
    if (rc == 0) {
        found->endpoint_id = e.id;
        rc = store_check_foreach(c->st, pool_id, match_check, found);
    }
    if (rc)
        rc = cli_store_fail(c, rc);
out:
    return rc;
}

/* ---- check set ------------------------------------------------------------------ */

static int check_set(struct cli *c)
{
    struct cli_target t;
    struct store_check k = {
        .pool = c->args[0],
        .interval_ms = CHECK_INTERVAL_MS,
        .timeout_ms = CHECK_TIMEOUT_MS,
        .rise = CHECK_RISE,
        .fall = CHECK_FALL,
        .status_min = 200,
        .status_max = 399,
    };
    struct check_found old = {0};
    char *query = NULL, *probe = NULL, *after = NULL;
    int rc = cli_parse_ident(c, "POOL", k.pool);
    if (rc || (rc = cli_parse_target(c, c->args[1], &t)) ||
        (rc = parse_check(c, &t, &k, &query, &probe)))
        goto out;
    k.target = t.text;
    after = check_summary(&k);
    if ((rc = check_begin(c, &t, &old)))
        goto out;
    k.endpoint_id = old.endpoint_id;
    if ((rc = store_check_set(c->st, &k))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, old.summary ? old.summary : "", after)) == 0)
        printf("%s%s\n", after, old.summary ? " (replacing the old check)" : "");
out:
    free(old.summary);
    free(after);
    free(probe);
    free(query);
    return rc;
}

static const struct cli_opt check_set_opts[] = {
    {"type", "TYPE", "http, https, tcp or dns (required)", false},
    {"url", "URL", "http(s): what to fetch (default: / on the endpoint)", false},
    {"port", "N", "the port probed (default: the URL's, else 80, 443, 53; tcp: required)", false},
    {"host", "HEADER", "http(s): the Host header and TLS server name", false},
    {"query", "NAME/TYPE", "dns: the question to ask (default " CHECK_DNS_QUERY ")", false},
    {"interval", "SECONDS", "time between probes, 1s to 1d (default 10s)", false},
    {"timeout", "SECONDS", "a probe fails after this, 100ms to 1m, below the interval (default 2s)",
     false},
    {"rise", "N", "up after N good probes in a row, 1 to 100 (default 2)", false},
    {"fall", "N", "down after N bad probes in a row, 1 to 100 (default 3)", false},
    {"expect-status", "RANGE", "http(s): the statuses that count as up (default 200-399)", false},
    {"expect-body", "STRING", "http(s): the body must contain STRING", false},
    {"probe-address", "ADDR",
     "probe this IP address, not the endpoint's (tcp, dns: required for a host name)", false},
    {"insecure", NULL, "https: do not verify the server's certificate", false},
    {NULL},
};

const struct cli_cmd cmd_check_set = {
    .name = "check set",
    .synopsis = "POOL TARGET --type http|https|tcp|dns [--url URL] [--port N] [--query NAME/TYPE] "
                "[--interval SECONDS] [--timeout SECONDS] [--rise N] [--fall N] [OPTIONS...]",
    .summary = "set how gtm-healthd probes an endpoint",
    .help = "TARGET is written as for gtmctl endpoint add. Setting the check of an endpoint\n"
            "that has one replaces it. Each probe is one of:\n"
            "  http, https  fetch the URL from the endpoint (or --probe-address): up when the\n"
            "               status is in --expect-status and the body holds --expect-body;\n"
            "               HTTPS verifies the certificate unless --insecure\n"
            "  tcp          connect to --port\n"
            "  dns          ask --query: up on NOERROR with an answer\n"
            "The endpoint goes down after --fall failed probes in a row and up again after\n"
            "--rise good ones. Durations take units: 500ms, 2s, 1m.",
    .min_args = 2,
    .max_args = 2,
    .opts = check_set_opts,
    .run = check_set,
};

/* ---- check rm ------------------------------------------------------------------- */

static int check_rm(struct cli *c)
{
    struct cli_target t;
    struct check_found old = {0};
    int rc = cli_parse_ident(c, "POOL", c->args[0]);
    if (rc || (rc = cli_parse_target(c, c->args[1], &t)) || (rc = check_begin(c, &t, &old)))
        goto out;
    if (!old.summary) {
        rc = cli_fail(c, "endpoint %s %s has no check", c->args[0], t.text);
        goto out;
    }
    /* unprobed from now on: what the vantage points said no longer holds */
    if ((rc = store_check_rm(c->st, old.endpoint_id)) ||
        (rc = store_health_rm(c->st, old.endpoint_id))) {
        rc = cli_store_fail(c, rc);
        goto out;
    }
    if ((rc = cli_tx_commit(c, NULL, old.summary, "")) == 0)
        printf("check %s %s removed: the endpoint is unknown until probed again\n", c->args[0],
               t.text);
out:
    free(old.summary);
    return rc;
}

const struct cli_cmd cmd_check_rm = {
    .name = "check rm",
    .synopsis = "POOL TARGET",
    .summary = "stop probing an endpoint",
    .help = "What the vantage points reported about it is forgotten: the endpoint is then\n"
            "unknown, and the policy's --unknown decides whether it is answered.",
    .min_args = 2,
    .max_args = 2,
    .run = check_rm,
};

/* ---- check list ----------------------------------------------------------------- */

static int table_check(void *arg, const struct store_check *k)
{
    char interval[CLI_DURATION_MAX], timeout[CLI_DURATION_MAX];
    char *probe = probe_text(k), *request = request_text(k), *expect = expect_text(k);
    cli_table_add(arg, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%u/%u\t%s", k->pool, k->target, k->type, probe,
                  *request ? request : "-", cli_duration_text(k->interval_ms, interval),
                  cli_duration_text(k->timeout_ms, timeout), k->rise, k->fall, expect);
    free(expect);
    free(request);
    free(probe);
    return 0;
}

static int fill_checks(struct cli *c, struct cli_table *t)
{
    int64_t pool_id = 0; /* every pool */
    int rc = c->nargs > 0 ? store_pool_find(c->st, c->args[0], &pool_id) : 0;
    return rc ? rc : store_check_foreach(c->st, pool_id, table_check, t);
}

static int check_list(struct cli *c)
{
    int rc = c->nargs > 0 ? cli_parse_ident(c, "POOL", c->args[0]) : 0;
    return rc ? rc
              : cli_table_run(c,
                              "POOL\tTARGET\tTYPE\tPROBE\tREQUEST\tINTERVAL\tTIMEOUT\t"
                              "RISE/FALL\tEXPECT",
                              fill_checks);
}

const struct cli_cmd cmd_check_list = {
    .name = "check list",
    .synopsis = "[POOL]",
    .summary = "list the checks of every pool, or of one",
    .help = "One line per checked endpoint, by pool and target: the probe type, the address\n"
            "and port probed, what is asked, interval, timeout, rise/fall and what counts as\n"
            "up. gtmctl status shows what the probes found.",
    .min_args = 0,
    .max_args = 1,
    .run = check_list,
};
