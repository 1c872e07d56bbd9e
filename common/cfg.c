/* common/cfg.c — table-driven options from argv and config files (see cfg.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xalloc.h"

#define CFG_LINE_MAX 4096

static void *field(void *cfg, const struct cfg_opt *o)
{
    return (char *)cfg + o->offset;
}

void cfg_list_free(struct cfg_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void list_add(struct cfg_list *l, const char *s)
{
    l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

static bool list_has(const struct cfg_list *l, const char *s)
{
    for (size_t i = 0; l && i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

/* Sets option o from text. first: the first value of a list from this source. */
static int set(const struct cfg_opt *o, void *cfg, const char *value, bool first, char *err,
               size_t errlen)
{
    switch (o->type) {
    case CFG_STR: {
        char **p = field(cfg, o);
        free(*p);
        *p = xstrdup(value);
        return 0;
    }
    case CFG_UINT: {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (!isdigit((unsigned char)*value) || *end || errno || v < o->min || v > o->max) {
            snprintf(err, errlen, "%s: '%s' is not a whole number from %u to %u", o->name, value,
                     o->min, o->max);
            return GTM_EPARSE;
        }
        *(uint32_t *)field(cfg, o) = (uint32_t)v;
        return 0;
    }
    case CFG_FLAG: {
        bool *b = field(cfg, o);
        if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
            strcmp(value, "1") == 0) {
            *b = true;
        } else if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 ||
                   strcmp(value, "0") == 0) {
            *b = false;
        } else {
            snprintf(err, errlen, "%s: '%s' is not yes or no", o->name, value);
            return GTM_EPARSE;
        }
        return 0;
    }
    case CFG_LIST: {
        struct cfg_list *l = field(cfg, o);
        if (first)
            cfg_list_free(l);
        list_add(l, value);
        return 0;
    }
    }
    return GTM_EPARSE;
}

static const struct cfg_opt *find(const struct cfg_opt *table, const char *name, size_t len)
{
    for (const struct cfg_opt *o = table; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

void cfg_defaults(const struct cfg_opt *table, void *cfg)
{
    char err[8];
    for (const struct cfg_opt *o = table; o->name; o++) {
        if (o->type == CFG_FLAG) {
            *(bool *)field(cfg, o) = o->def && strcmp(o->def, "yes") == 0;
        } else if (o->type == CFG_LIST && o->def) {
            /* a list's default holds its values separated by blanks */
            char *copy = xstrdup(o->def), *save = NULL;
            for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
                list_add(field(cfg, o), t);
            free(copy);
        } else if (o->def) {
            set(o, cfg, o->def, true, err, sizeof err);
        }
    }
}

int cfg_parse_file(const struct cfg_opt *table, void *cfg, const char *path,
                   const struct cfg_list *set_by_args, struct cfg_list *where, char *err,
                   size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[CFG_LINE_MAX], msg[256];
    struct cfg_list seen = {0};
    int lineno = 0, rc = 0;
    struct stat sb;
    if (!f) {
        rc = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return rc;
    }
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f); /* fopen() opens a directory; reading it fails as if it were empty */
        snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
        return -EISDIR;
    }
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line, *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        while (isspace((unsigned char)*p))
            p++;
        char *end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*p)
            continue;
        char *name = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t nlen = (size_t)(p - name);
        while (isspace((unsigned char)*p))
            p++;
        const struct cfg_opt *o = find(table, name, nlen);
        if (!o) {
            snprintf(err, errlen, "%s:%d: unknown option '%.*s'", path, lineno, (int)nlen, name);
            rc = GTM_EPARSE;
        } else if (!*p) {
            if (o->type == CFG_FLAG)
                snprintf(err, errlen, "%s:%d: %s needs a value (a flag is written '%s yes')", path,
                         lineno, o->name, o->name);
            else
                snprintf(err, errlen, "%s:%d: %s needs a value", path, lineno, o->name);
            rc = GTM_EPARSE;
        } else if (!list_has(set_by_args, o->name)) {
            if ((rc = set(o, cfg, p, !list_has(&seen, o->name), msg, sizeof msg)))
                snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            list_add(&seen, o->name);
            if (where) {
                char *at = xasprintf("%s %s\t%s:%d", o->name, p, path, lineno);
                list_add(where, at);
                free(at);
            }
        }
    }
    cfg_list_free(&seen);
    fclose(f);
    return rc;
}

int cfg_parse_args(const struct cfg_opt *table, void *cfg, int argc, char **argv, bool *help,
                   bool *version, bool *check, char **config_path, struct cfg_list *given,
                   char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            *version = true;
            continue;
        }
        if (strcmp(a, "--check-config") == 0) {
            *check = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return GTM_EPARSE;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        const char *value = eq ? eq + 1 : NULL;
        if (len == 6 && strncmp(a + 2, "config", 6) == 0) {
            if (!value && i + 1 >= argc) {
                snprintf(err, errlen, "--config needs a file name");
                return GTM_EPARSE;
            }
            free(*config_path);
            *config_path = xstrdup(value ? value : argv[++i]);
            continue;
        }
        const struct cfg_opt *o = find(table, a + 2, len);
        if (!o) {
            snprintf(err, errlen, "unknown option %s", a);
            return GTM_EPARSE;
        }
        if (o->type == CFG_FLAG) {
            if (value && set(o, cfg, value, true, err, errlen))
                return GTM_EPARSE;
            if (!value)
                *(bool *)field(cfg, o) = true;
        } else {
            if (!value && i + 1 >= argc) {
                snprintf(err, errlen, "--%s needs a value (%s)", o->name, o->arg ? o->arg : "");
                return GTM_EPARSE;
            }
            if (set(o, cfg, value ? value : argv[++i], !list_has(given, o->name), err, errlen))
                return GTM_EPARSE;
        }
        if (!list_has(given, o->name))
            list_add(given, o->name);
    }
    return 0;
}

void cfg_usage(const struct cfg_opt *table, FILE *f)
{
    for (const struct cfg_opt *o = table; o->name; o++) {
        char lhs[64];
        snprintf(lhs, sizeof lhs, "--%s%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
                 o->type == CFG_LIST ? " ..." : "");
        fprintf(f, "  %-28s %s", lhs, o->help);
        if (o->def && o->type != CFG_FLAG)
            fprintf(f, " (default: %s)", o->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-28s %s\n", "--config FILE", "read options from FILE (\"name value\" lines)");
    fprintf(f, "  %-28s %s\n", "--check-config",
            "check the options, the config file and the files they name, then exit");
    fprintf(f, "  %-28s %s\n", "--help, --version", "this text; the version");
}

void cfg_free(const struct cfg_opt *table, void *cfg)
{
    for (const struct cfg_opt *o = table; o->name; o++) {
        if (o->type == CFG_STR) {
            char **p = field(cfg, o);
            free(*p);
            *p = NULL;
        } else if (o->type == CFG_LIST) {
            cfg_list_free(field(cfg, o));
        }
    }
}

/* A message about an option ("--NAME..."), checked after reading, whose value came from
 * the config file: "FILE:LINE: NAME..." instead, at the line of the value the message
 * quotes (a list's), else of the option's last line. */
static void at_file_line(const struct cfg_list *where, char *err, size_t errlen)
{
    size_t n = strncmp(err, "--", 2) == 0 ? strcspn(err + 2, " :'") : 0;
    const char *at = NULL;
    for (size_t i = 0; n && i < where->n; i++) {
        const char *e = where->v[i], *tab = strchr(e, '\t');
        if (strncmp(e, err + 2, n) != 0 || e[n] != ' ')
            continue;
        char *value = xasprintf("'%.*s'", (int)(tab - e - n - 1), e + n + 1);
        if (!at || strstr(err, value))
            at = tab + 1;
        free(value);
    }
    if (!at)
        return;
    char *moved = xasprintf("%s: %s", at, err + 2);
    snprintf(err, errlen, "%s", moved);
    free(moved);
}

int cfg_program_load(const struct cfg_program *p, void *cfg, int argc, char **argv)
{
    bool help = false, version = false, check = false;
    char *config_path = NULL, err[512] = "";
    struct cfg_list given = {0}, where = {0};
    enum log_level level;
    int rc = 2;
    const char *env_db = getenv("GTM_DB");
    char **db = (char **)((char *)cfg + p->db_offset);
    char **log_level = (char **)((char *)cfg + p->log_level_offset);
    cfg_defaults(p->table, cfg);
    if (env_db && *env_db) {
        free(*db);
        *db = xstrdup(env_db);
    }
    if (cfg_parse_args(p->table, cfg, argc, argv, &help, &version, &check, &config_path, &given,
                       err, sizeof err) != 0)
        goto bad;
    if (help || version) {
        if (help)
            p->usage(stdout);
        else
            printf("%s (gtm) %s\n", p->name, PACKAGE_VERSION);
        rc = 0;
        goto out;
    }
    if (config_path &&
        cfg_parse_file(p->table, cfg, config_path, &given, &where, err, sizeof err) != 0)
        goto bad;
    if (p->finish(cfg, err, sizeof err) != 0) {
        at_file_line(&where, err, sizeof err);
        goto bad;
    }
    if (log_level_parse(*log_level, &level) != 0) {
        snprintf(err, sizeof err, "--log-level: '%s' is not debug, info, warn or error",
                 *log_level);
        at_file_line(&where, err, sizeof err);
        goto bad;
    }
    log_level_set(level);
    if (check) {
        /* the info lines of loading would repeat the summary; warnings stay */
        if (level == LOG_LEVEL_INFO)
            log_level_set(LOG_LEVEL_WARN);
        if (p->check && p->check(cfg, err, sizeof err) != 0) {
            fprintf(stderr, "%s: check failed: %s\n", p->name, err);
            rc = 1;
            goto out;
        }
        printf("%s: configuration OK%s%s%s%s\n", p->name, config_path ? " in " : "",
               config_path ? config_path : "", *err ? "; " : "", err);
        rc = 0;
        goto out;
    }
    rc = -1; /* go on */
    goto out;
bad:
    fprintf(stderr, "%s: %s\nRun '%s --help' for the options.\n", p->name, err, p->name);
out:
    free(config_path);
    cfg_list_free(&given);
    cfg_list_free(&where);
    return rc;
}
