/* admin/gtmctl.c — gtmctl's entry point: global options, the command table and its
 * dispatch, --help. Each command lives in admin/cmd_*.c; every change is one
 * transaction on the store, validated before commit and written to the audit log. */
#include "config.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/cli.h"
#include "admin/commands.h"
#include "common/log.h"
#include "common/xalloc.h"

#define DEFAULT_DB "/var/lib/gtm/gtm.db"

const struct cli_cmd *const cli_commands[] = {
    &cmd_init,          &cmd_zone_add,      &cmd_zone_list,      &cmd_zone_rm,
    &cmd_zone_import,   &cmd_zone_export,   &cmd_record_add,     &cmd_record_rm,
    &cmd_record_list,   &cmd_region_add,    &cmd_region_list,    &cmd_region_rm,
    &cmd_pool_add,      &cmd_pool_list,     &cmd_pool_rm,        &cmd_endpoint_add,
    &cmd_endpoint_set,  &cmd_endpoint_list, &cmd_endpoint_rm,    &cmd_policy_set,
    &cmd_policy_list,   &cmd_policy_rm,     &cmd_geo_map,        &cmd_geo_unmap,
    &cmd_geo_list,      &cmd_latency_set,   &cmd_latency_import, &cmd_latency_list,
    &cmd_geo_lint,      &cmd_explain,       &cmd_check_set,      &cmd_check_list,
    &cmd_check_rm,      &cmd_status,        &cmd_events,         &cmd_drill_fail,
    &cmd_drill_restore, &cmd_drill_list,    &cmd_drain,          &cmd_drain_rm,
    &cmd_audit,         &cmd_backup,        &cmd_restore,        NULL,
};

static void print_main_help(FILE *f)
{
    fputs("usage: gtmctl [--db PATH] COMMAND [ARGUMENTS...]\n"
          "\n"
          "Administers a gtm store: zones and records, and the traffic management of managed\n"
          "names (regions, pools of endpoints, policies, the geo map, latencies, health\n"
          "checks, drills and drains). Every change is one SQL transaction, validated before\n"
          "it commits and written to the audit log; a change to a zone bumps its SOA serial.\n"
          "A change that fails leaves the store as it was.\n"
          "\n"
          "Commands:\n",
          f);
    for (const struct cli_cmd *const *cmd = cli_commands; *cmd; cmd++)
        fprintf(f, "  %-15s %s\n", (*cmd)->name, (*cmd)->summary);
    fputs("\n"
          "Options of every command:\n"
          "  --db PATH     the store (default: $GTM_DB, else " DEFAULT_DB ")\n"
          "  --help        explain the command and its options\n"
          "\n"
          "Exit status: 0 done; 1 failed, nothing changed; 2 wrong arguments; 75 the store\n"
          "stayed locked by another writer, nothing changed, try again.\n"
          "Run 'gtmctl COMMAND --help' for a command's arguments and options.\n",
          f);
}

static int main_usage_error(void)
{
    fputs("usage: gtmctl [--db PATH] COMMAND [ARGUMENTS...]\n"
          "Run 'gtmctl --help' for the commands.\n",
          stderr);
    return CLI_EXIT_USAGE;
}

static void print_cmd_help(const struct cli_cmd *cmd)
{
    cli_usage(cmd, stdout);
    printf("\n%s.\n", cmd->summary);
    if (cmd->help)
        printf("\n%s\n", cmd->help);
    printf("\nOptions:\n");
    for (const struct cli_opt *o = cmd->opts; o && o->name; o++) {
        char lhs[64];
        snprintf(lhs, sizeof lhs, "--%s%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
                 o->many ? " ..." : "");
        printf("  %-24s %s\n", lhs, o->help);
    }
    printf("  %-24s %s\n", "--db PATH", "the store (default: $GTM_DB, else " DEFAULT_DB ")");
    printf("  %-24s %s\n", "--help", "this text");
}

/* Which command do argv[0..] name? Sets *words to how many arguments the name used. A
 * name of two words wins over one of its first word ("drain rm eu" over "drain REGION"). */
static const struct cli_cmd *find_cmd(int argc, char **argv, int *words)
{
    const struct cli_cmd *one_word = NULL;
    for (const struct cli_cmd *const *cmd = cli_commands; *cmd; cmd++) {
        const char *name = (*cmd)->name;
        const char *space = strchr(name, ' ');
        if (!space && strcmp(argv[0], name) == 0)
            one_word = *cmd;
        if (space && argc >= 2 && strncmp(argv[0], name, (size_t)(space - name)) == 0 &&
            argv[0][space - name] == '\0' && strcmp(argv[1], space + 1) == 0) {
            *words = 2;
            return *cmd;
        }
    }
    *words = 1;
    return one_word;
}

/* Lists the commands of a group ("zone") to f; returns how many there are. */
static int print_group(const char *group, FILE *f)
{
    int n = 0;
    size_t len = strlen(group);
    for (const struct cli_cmd *const *cmd = cli_commands; *cmd; cmd++) {
        if (strncmp((*cmd)->name, group, len) == 0 && (*cmd)->name[len] == ' ') {
            if (n++ == 0)
                fprintf(f, "gtmctl %s commands:\n", group);
            fprintf(f, "  gtmctl %s%s%s\n      %s\n", (*cmd)->name, *(*cmd)->synopsis ? " " : "",
                    (*cmd)->synopsis, (*cmd)->summary);
        }
    }
    return n;
}

static const struct cli_opt *find_opt(const struct cli_cmd *cmd, const char *name, size_t len)
{
    static const struct cli_opt db = {"db", "PATH", NULL, false};
    if (len == 2 && strncmp(name, "db", 2) == 0)
        return &db;
    for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

/* Parses the command's arguments into c. Returns -1 to go on, else an exit status. */
static int parse_args(struct cli *c, int argc, char **argv)
{
    bool only_args = false;
    c->args = xcalloc((size_t)argc + 1, sizeof *c->args);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool dash_ok = c->cmd->dash_from > 0 && c->nargs >= c->cmd->dash_from;
        if (only_args || a[0] != '-' || a[1] == '\0') {
            c->args[c->nargs++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_cmd_help(c->cmd);
            return CLI_EXIT_OK;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        const struct cli_opt *o = a[1] == '-' ? find_opt(c->cmd, a + 2, len) : NULL;
        if (!o && dash_ok) {
            c->args[c->nargs++] = argv[i];
            continue;
        }
        if (!o)
            return cli_usage_error(c, "unknown option %s", a);
        const char *value = "";
        if (o->arg) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_usage_error(c, "--%s needs a value (%s)", o->name, o->arg);
        } else if (eq) {
            return cli_usage_error(c, "--%s takes no value", o->name);
        }
        if (!o->many && cli_opt(c, o->name) && strcmp(o->name, "db") != 0)
            return cli_usage_error(c, "--%s given twice", o->name);
        if (c->ngiven == CLI_MAX_GIVEN)
            return cli_usage_error(c, "too many options");
        c->given[c->ngiven].name = o->name;
        c->given[c->ngiven++].value = value;
    }
    if (c->nargs < c->cmd->min_args)
        return cli_usage_error(c, "missing arguments");
    if (c->cmd->max_args >= 0 && c->nargs > c->cmd->max_args)
        return cli_usage_error(c, "unexpected argument '%s'", c->args[c->cmd->max_args]);
    return -1;
}

/* The command line as typed, each argument quoted for a POSIX shell when it needs it. */
static char *join_cmdline(int argc, char **argv)
{
    size_t cap = 16;
    for (int i = 0; i < argc; i++)
        cap += 4 * strlen(argv[i]) + 3;
    char *s = xmalloc(cap), *p = s;
    p += sprintf(p, "gtmctl");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool plain = *a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-_.,:/=@+%") == strlen(a);
        *p++ = ' ';
        if (plain) {
            p = stpcpy(p, a);
            continue;
        }
        *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\'')
                p = stpcpy(p, "'\\''");
            else
                *p++ = *a;
        }
        *p++ = '\'';
    }
    *p = '\0';
    return s;
}

static const char *current_user(void)
{
    const char *u = getenv("SUDO_USER");
    if (u && *u)
        return u;
    u = getenv("USER");
    if (u && *u)
        return u;
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "unknown";
}

int main(int argc, char **argv)
{
    struct cli c = {.db_path = getenv("GTM_DB")};
    int i = 1, words = 0, rc;
    log_open("gtmctl", false);
    if (!c.db_path || !*c.db_path)
        c.db_path = DEFAULT_DB;
    /* Global options before the command. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_main_help(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("gtmctl (gtm) %s\n", PACKAGE_VERSION);
            return CLI_EXIT_OK;
        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            c.db_path = argv[++i];
        } else if (strncmp(argv[i], "--db=", 5) == 0) {
            c.db_path = argv[i] + 5;
        } else if (strcmp(argv[i], "--db") == 0) {
            fprintf(stderr, "gtmctl: --db needs a value (PATH)\n");
            return CLI_EXIT_USAGE;
        } else {
            fprintf(stderr, "gtmctl: unknown option %s\n", argv[i]);
            return main_usage_error();
        }
    }
    if (i >= argc) {
        fprintf(stderr, "gtmctl: missing command\n");
        return main_usage_error();
    }
    c.cmd = find_cmd(argc - i, argv + i, &words);
    if (!c.cmd) {
        bool help = i + 1 < argc && strcmp(argv[i + 1], "--help") == 0;
        if (print_group(argv[i], help ? stdout : stderr) > 0) {
            if (help)
                return CLI_EXIT_OK;
            fprintf(stderr, "gtmctl: %s: missing or unknown subcommand%s%s\n", argv[i],
                    i + 1 < argc ? " " : "", i + 1 < argc ? argv[i + 1] : "");
            return CLI_EXIT_USAGE;
        }
        fprintf(stderr, "gtmctl: unknown command '%s'\n", argv[i]);
        return main_usage_error();
    }
    c.user = current_user();
    c.cmdline = join_cmdline(argc - 1, argv + 1);
    rc = parse_args(&c, argc - i - words, argv + i + words);
    if (rc < 0) {
        const char *db = cli_opt(&c, "db");
        if (db)
            c.db_path = db;
        rc = c.cmd->run(&c);
    }
    if (c.st) {
        store_tx_end(c.st, false); /* a command that returned early changed nothing */
        store_close(c.st);
    }
    free(c.args);
    free(c.cmdline);
    return rc;
}
