/* admin/cmd_audit.c — gtmctl audit [ZONE]: who changed what, newest first. */
#include "config.h"

#include <string.h>
#include <time.h>

#include "admin/commands.h"
#include "common/err.h"

/* Prints text with each line after the first indented under its label. */
static void print_block(const char *label, const char *text)
{
    if (!*text)
        return;
    printf("    %s", label);
    for (const char *p = text; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1])
            printf("    %*s", (int)strlen(label), "");
    }
    putchar('\n');
}

static int print_audit(void *arg, const struct store_audit *a)
{
    size_t *n = arg;
    (*n)++;
    char when[32];
    time_t t = (time_t)a->ts;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("%s  %s  %s  %s\n", when, a->user, a->zone ? a->zone : "-", a->command);
    print_block("- ", a->before);
    print_block("+ ", a->after);
    return 0;
}

static int audit(struct cli *c)
{
    char zone[DNAME_KEY_MAX];
    uint32_t limit = 0;
    int rc = 0;
    if (c->nargs > 0 && (rc = cli_parse_name(c, "ZONE", c->args[0], zone)))
        return rc;
    if (cli_opt(c, "limit") &&
        (rc = cli_parse_u32(c, "--limit", cli_opt(c, "limit"), 1, 1000000, &limit)))
        return rc;
    if ((rc = cli_store_open(c, STORE_READ)))
        return rc;
    size_t n = 0;
    int64_t zone_id = 0;
    if ((rc = store_audit_foreach(c->st, c->nargs > 0 ? zone : NULL, (int)limit, print_audit, &n)))
        return cli_store_fail(c, rc);
    /* nothing about a zone that is not there either: a typo, not an empty log */
    if (c->nargs > 0 && n == 0 && (rc = store_zone_find(c->st, zone, &zone_id)))
        return rc == GTM_ENOTFOUND ? cli_fail(c,
                                              "no zone %s in the store, and no change of one "
                                              "by that name (gtmctl zone list shows them)",
                                              zone)
                                   : cli_store_fail(c, rc);
    return CLI_EXIT_OK;
}

static const struct cli_opt audit_opts[] = {
    {"limit", "N", "show only the N newest entries", false},
    {NULL},
};

const struct cli_cmd cmd_audit = {
    .name = "audit",
    .synopsis = "[ZONE] [--limit N]",
    .summary = "show who changed what, newest first",
    .help = "One entry per change: time (UTC), user ($SUDO_USER, else $USER), zone, the\n"
            "command as typed, then what it replaced (-) and what it wrote (+). A removed\n"
            "zone's entries stay; a ZONE never seen is an error.",
    .min_args = 0,
    .max_args = 1,
    .opts = audit_opts,
    .run = audit,
};
