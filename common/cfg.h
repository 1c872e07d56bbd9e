/* common/cfg.h — the one option parser of the gtm daemons: a table of options (name,
 * type, default, help, where it goes in the daemon's config struct) read from the
 * command line (--name VALUE) and from a config file ("name value" lines, '#'
 * comments), which the command line overrides. The same table prints --help and is
 * what the sample config and the man page list. main() only, before threads start. */
#ifndef GTM_COMMON_CFG_H
#define GTM_COMMON_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_type {
    CFG_STR,  /* char *, owned by the config */
    CFG_UINT, /* uint32_t in [min, max] */
    CFG_FLAG, /* bool, no value; in a file: "name yes|no" */
    CFG_LIST, /* struct cfg_list: repeatable; a given value replaces the default, whose
               * values are separated by blanks */
};

struct cfg_list {
    char **v;
    size_t n;
};

struct cfg_opt {
    const char *name; /* long option without "--", and the config-file key */
    enum cfg_type type;
    size_t offset;   /* of the field in the config struct */
    const char *def; /* default as text, NULL for none */
    const char *arg; /* placeholder for --help ("ADDR:PORT") */
    const char *help;
    uint32_t min, max; /* CFG_UINT bounds */
};

/* Sets every option to its default. */
void cfg_defaults(const struct cfg_opt *table, void *cfg);
/* Reads path; returns 0, or GTM_EPARSE / -errno with "FILE:LINE: what" in err. Options
 * in set_by_args (names given on the command line) are skipped: the command line wins.
 * Unless NULL, where gets "NAME VALUE<tab>FILE:LINE" for each value taken, for messages
 * of later checks. */
int cfg_parse_file(const struct cfg_opt *table, void *cfg, const char *path,
                   const struct cfg_list *set_by_args, struct cfg_list *where, char *err,
                   size_t errlen);
/* Parses argv[1..]. The options --help, --version, --check-config and --config FILE
 * are not in the table: *help, *version, *check and *config_path report them. Names of
 * the options given go to *given (free with cfg_list_free). Returns 0 or GTM_EPARSE
 * with err. */
int cfg_parse_args(const struct cfg_opt *table, void *cfg, int argc, char **argv, bool *help,
                   bool *version, bool *check, char **config_path, struct cfg_list *given,
                   char *err, size_t errlen);
/* Prints the options, their defaults and help. */
void cfg_usage(const struct cfg_opt *table, FILE *f);
/* A daemon's options, as cfg_program_load() reads them. */
struct cfg_program {
    const char *name; /* "gtm-dnsd", for messages */
    const struct cfg_opt *table;
    void (*usage)(FILE *f); /* --help */
    /* derives and checks what the table cannot; 0 or GTM_EPARSE with err */
    int (*finish)(void *cfg, char *err, size_t errlen);
    /* --check-config, after the options: reads what they name (the store, GeoIP files)
     * as start-up would, without starting; 0 with a summary in msg, or not 0 with why
     * the daemon could not start */
    int (*check)(void *cfg, char *msg, size_t msglen);
    size_t db_offset;        /* of its char *db: $GTM_DB replaces the default */
    size_t log_level_offset; /* of its char *log_level: applied with log_level_set() */
};

/* Everything before a daemon starts: defaults, $GTM_DB, the command line, --config,
 * the finish step and the log level; --help, --version and --check-config are answered
 * here. Returns -1 to go on, else the exit status (0 after --help; 2 and a message on
 * stderr for a mistake; 1 when --check-config finds that the daemon could not start). */
int cfg_program_load(const struct cfg_program *p, void *cfg, int argc, char **argv);

/* Frees the strings and lists the config owns. */
void cfg_free(const struct cfg_opt *table, void *cfg);
void cfg_list_free(struct cfg_list *l);

#endif
