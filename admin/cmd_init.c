/* admin/cmd_init.c — gtmctl init: create the store, or migrate an existing one to
 * this version's schema. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/commands.h"
#include "common/xalloc.h"

/* mkdir -p of path's parent directory. Returns 0 or -errno. */
static int make_parent(const char *path)
{
    char *copy = xstrdup(path);
    char *dir = dirname(copy);
    int rc = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            rc = -errno;
        *p = '/';
    }
    if (rc == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST)
        rc = -errno;
    free(copy);
    return rc;
}

static int run(struct cli *c)
{
    bool existed = access(c->db_path, F_OK) == 0;
    int rc, after = 0;
    if (!existed && make_parent(c->db_path) != 0)
        return cli_fail(c, "cannot create the directory of %s: %s", c->db_path, strerror(errno));
    if ((rc = cli_store_open(c, STORE_CREATE)))
        return rc;
    if ((rc = store_schema_version(c->st, &after)))
        return cli_store_fail(c, rc);
    int before = store_migrated_from(c->st);
    if (before == after) {
        /* current already, or another gtmctl created it a moment ago */
        printf("store %s is ready (schema version %d)\n", c->db_path, after);
        return CLI_EXIT_OK;
    }
    char *what = before == 0
                     ? xasprintf("store created (schema version %d)", after)
                     : xasprintf("store migrated from schema version %d to %d", before, after);
    if ((rc = store_tx_begin(c->st)) || (rc = cli_audit(c, NULL, "", what)) ||
        (rc = store_tx_end(c->st, true))) {
        free(what);
        return cli_store_fail(c, rc);
    }
    printf("%s: %s\n", c->db_path, what);
    free(what);
    return CLI_EXIT_OK;
}

const struct cli_cmd cmd_init = {
    .name = "init",
    .synopsis = "",
    .summary = "create the store, or migrate it to this version's schema",
    .help = "Creates the store file (and its directory) with the current schema, or applies\n"
            "pending schema migrations to an existing store in one transaction. Safe to run\n"
            "again: a store that is already current is left as it is.",
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
