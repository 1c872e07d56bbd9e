/* admin/cli.h — gtmctl's command framework: one table entry per command (name,
 * synopsis, help, options), one parser for all of them, and the helpers every command
 * shares (opening the store, zone names, numbers, durations, the audit row).
 * gtmctl is single-threaded and short-lived: it allocates freely and exits. */
#ifndef GTM_ADMIN_CLI_H
#define GTM_ADMIN_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/dname.h"
#include "db/store.h"

/* Exit statuses, documented in gtmctl --help. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,  /* the command ran and failed: nothing was changed */
    CLI_EXIT_USAGE = 2, /* wrong arguments */
    CLI_EXIT_BUSY = 75, /* EX_TEMPFAIL: the store stayed locked; retry */
};

struct cli_opt {
    const char *name; /* long name, without "--" */
    const char *arg;  /* placeholder of its argument ("SECONDS"); NULL for a flag */
    const char *help;
    bool many; /* may be given more than once */
};

struct cli;

struct cli_cmd {
    const char *name;     /* "zone add" */
    const char *synopsis; /* arguments after the name: "ZONE [--ns HOST]..." */
    const char *summary;  /* one line for gtmctl --help */
    const char *help;     /* what it does, for gtmctl CMD --help; may be NULL */
    int min_args, max_args; /* positional arguments; max_args < 0: no limit */
    int dash_from; /* positionals from this index may start with '-' (RDATA); 0: none */
    const struct cli_opt *opts; /* terminated by {NULL}; --db and --help are implicit */
    int (*run)(struct cli *c);
};

/* Options given on the command line, in order. */
#define CLI_MAX_GIVEN 64
struct cli {
    const struct cli_cmd *cmd;
    const char *db_path;
    char *cmdline; /* the whole command line, shell-quoted, for the audit log */
    const char *user;
    int nargs;
    char **args;
    int ngiven;
    struct {
        const char *name;
        const char *value; /* "" for a flag */
    } given[CLI_MAX_GIVEN];
    struct store *st; /* open store, after cli_store_open() */
};

/* The command table (admin/gtmctl.c), terminated by {NULL}. */
extern const struct cli_cmd *const cli_commands[];

/* Last value of option name, or NULL when not given. */
const char *cli_opt(const struct cli *c, const char *name);
/* Every value of a repeatable option, in order; returns how many (at most max). */
int cli_opt_all(const struct cli *c, const char *name, const char **out, int max);

/* Prints "gtmctl: CMD: message" and the command's usage to stderr; returns
 * CLI_EXIT_USAGE for the caller to return. */
int cli_usage_error(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "gtmctl: CMD: message" to stderr; returns CLI_EXIT_FAIL. */
int cli_fail(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a store failure (rc and store_errmsg) and returns the matching exit status
 * (CLI_EXIT_BUSY for GTM_EBUSY). */
int cli_store_fail(const struct cli *c, int rc);
void cli_usage(const struct cli_cmd *cmd, FILE *f);

/* Opens c->db_path; mode as in store_open(). Returns 0 or an exit status, reported. */
int cli_store_open(struct cli *c, enum store_mode mode);

/* Parses an integer option or argument in [min, max]. Returns 0, or reports a usage
 * error and returns CLI_EXIT_USAGE. what names it in the message ("--ttl"). */
int cli_parse_u32(const struct cli *c, const char *what, const char *s, uint32_t min,
                  uint32_t max, uint32_t *out);
/* A duration: seconds, or a number with one unit s m h d w ("90", "5m", "1h30m").
 * Same return as cli_parse_u32. */
int cli_parse_duration(const struct cli *c, const char *what, const char *s, uint32_t min,
                       uint32_t max, uint32_t *out_s);
/* A domain name ("example.com", "example.com.") into its key. Same return. */
int cli_parse_name(const struct cli *c, const char *what, const char *s,
                   char key[DNAME_KEY_MAX]);

/* Writes the audit row of this command (time, user, command line) for zone. */
int cli_audit(struct cli *c, const char *zone, const char *before, const char *after);

/* Starts a change to a zone: opens the store for writing, begins the transaction,
 * finds the zone (*zone_id) and its serial (*serial_before). Returns 0 or an exit
 * status, reported. */
int cli_zone_begin(struct cli *c, const char *zone, int64_t *zone_id, uint32_t *serial_before);
/* Finishes a change begun with cli_zone_begin(): bumps the serial, writes the audit row
 * and commits. *serial_out (may be NULL) gets the new serial. 0 or an exit status. */
int cli_zone_commit(struct cli *c, int64_t zone_id, const char *zone, uint32_t serial_before,
                    const char *before, const char *after, uint32_t *serial_out);

#endif
