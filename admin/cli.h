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
    const char *name;       /* "zone add" */
    const char *synopsis;   /* arguments after the name: "ZONE [--ns HOST]..." */
    const char *summary;    /* one line for gtmctl --help */
    const char *help;       /* what it does, for gtmctl CMD --help; may be NULL */
    int min_args, max_args; /* positional arguments; max_args < 0: no limit */
    int dash_from;          /* positionals from this index may start with '-' (RDATA); 0: none */
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
int cli_usage_error(const struct cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
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
int cli_parse_u32(const struct cli *c, const char *what, const char *s, uint32_t min, uint32_t max,
                  uint32_t *out);
/* A duration: seconds, or a number with one unit s m h d w ("90", "5m", "1h30m").
 * Same return as cli_parse_u32. */
int cli_parse_duration(const struct cli *c, const char *what, const char *s, uint32_t min,
                       uint32_t max, uint32_t *out_s);
/* A decimal number in [min, max] ("8.68", "-33.9", "12"; no NaN, infinity or trailing
 * text). Returns 0 with *out, or GTM_EPARSE; reports nothing, so that a caller can say
 * where the number came from (an argument, or a line of a file). */
int cli_real_parse(const char *s, double min, double max, double *out);
/* A domain name ("example.com", "example.com.") into its key. Same return as
 * cli_parse_u32. */
int cli_parse_name(const struct cli *c, const char *what, const char *s, char key[DNAME_KEY_MAX]);

/* A region or pool name: 1 to 63 of a-z 0-9 _ . - (the store's CHECK, said first and
 * in words). Returns 0, or reports a usage error naming what and returns CLI_EXIT_USAGE. */
int cli_parse_ident(const struct cli *c, const char *what, const char *s);

/* Free text an operator reads back on one line (a drill's reason, a body to expect):
 * 1 to max bytes, no control characters. Same return as cli_parse_u32. */
int cli_parse_text(const struct cli *c, const char *what, const char *s, size_t max);

/* An endpoint's target as the store keeps it. */
struct cli_target {
    enum store_ep_kind kind;
    char text[DNAME_KEY_MAX];     /* canonical: inet_ntop's text (RFC 5952), or a name key */
    uint8_t addr[DNAME_WIRE_MAX]; /* 4 or 16 bytes, network order; or the name, wire form */
    size_t addr_len;
};
/* Parses an endpoint's TARGET: an IPv4 address, an IPv6 address, or a host name. Same
 * return as cli_parse_u32; the message names it TARGET. */
int cli_parse_target(const struct cli *c, const char *s, struct cli_target *t);

/* A duration in milliseconds: as cli_parse_duration() takes it, with "ms" as one more
 * unit ("500ms", "1s500ms", "2"), in [min_ms, max_ms]. Same return as cli_parse_u32. */
int cli_parse_duration_ms(const struct cli *c, const char *what, const char *s, uint32_t min_ms,
                          uint32_t max_ms, uint32_t *out_ms);
/* A duration as the parsers take it back ("5m", "1h30m", "1500ms"); returns out. */
#define CLI_DURATION_MAX 48
const char *cli_duration_text(uint64_t ms, char out[CLI_DURATION_MAX]);

/* How cli_time_text() writes a time, always in UTC. */
enum cli_time_form {
    CLI_TIME_S,     /* 2025-01-02T03:04:05Z */
    CLI_TIME_MS,    /* 2025-01-02T03:04:05.123Z */
    CLI_TIME_CLOCK, /* 03:04:05Z, for times within a day of now */
};
#define CLI_TIME_MAX 32
/* Writes a time in unix milliseconds as text into out; returns out. */
const char *cli_time_text(int64_t ms, enum cli_time_form form, char out[CLI_TIME_MAX]);

/* The rows of a list command, printed as aligned columns: each column as wide as its
 * widest cell, two blanks apart. Owned by cli_table_run(). */
struct cli_table {
    char **rows; /* each one string of cells separated by '\t' */
    size_t n, cap;
};
/* Adds a row: fmt makes the cells, separated by '\t'. */
void cli_table_add(struct cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds a list command's rows to t from the open store; returns 0 or a store error. */
typedef int (*cli_table_fill_fn)(struct cli *c, struct cli_table *t);
/* Runs a list command: opens the store for reading, adds the header row (cells separated
 * by '\t'), calls fill inside one read transaction (one consistent version) and prints
 * the table to stdout. Returns an exit status, failures reported. */
int cli_table_run(struct cli *c, const char *header, cli_table_fill_fn fill);
/* For a command that prints more than a table: prints t's rows as cli_table_run() does,
 * and frees them (t is then empty). */
void cli_table_flush(struct cli_table *t);
/* Frees t's rows unprinted (t is then empty). */
void cli_table_fini(struct cli_table *t);

/* Writes the audit row of this command (time, user, command line) for zone. */
int cli_audit(struct cli *c, const char *zone, const char *before, const char *after);

/* Starts a store-wide change (regions, pools, the geo map...): opens the store for
 * writing and begins the transaction. Returns 0 or an exit status, reported. */
int cli_tx_begin(struct cli *c);
/* Finishes it: writes the audit row (zone may be NULL) and commits. 0 or an exit status. */
int cli_tx_commit(struct cli *c, const char *zone, const char *before, const char *after);
/* Finishes a store-wide removal whose store call returned rc: reports a failure, or
 * audits what went (before: what, after: nothing), commits and prints "removed WHAT".
 * 0 or an exit status. */
int cli_tx_commit_rm(struct cli *c, int rc, const char *what);

/* Inside a change to pools or policies: refuses (reported, exit status) when pool (id
 * pool_id) would answer a managed name with a CNAME to that name itself. */
int cli_cname_loop(struct cli *c, int64_t pool_id, const char *pool);

/* Starts a change to a zone: opens the store for writing, begins the transaction,
 * finds the zone (*zone_id) and its serial (*serial_before). Returns 0 or an exit
 * status, reported. */
int cli_zone_begin(struct cli *c, const char *zone, int64_t *zone_id, uint32_t *serial_before);
/* Finishes a change begun with cli_zone_begin(): bumps the serial, writes the audit row
 * and commits. *serial_out (may be NULL) gets the new serial. 0 or an exit status. */
int cli_zone_commit(struct cli *c, int64_t zone_id, const char *zone, uint32_t serial_before,
                    const char *before, const char *after, uint32_t *serial_out);

#endif
