/* admin/cmd_backup.c — gtmctl backup and restore: the whole store to a file and back,
 * while the daemons run (see store_backup() and store_restore()). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "admin/commands.h"
#include "common/xalloc.h"

static int backup(struct cli *c)
{
    const char *to = c->args[0];
    struct stat sb;
    if (stat(to, &sb) == 0)
        return cli_fail(c, "%s exists: a backup goes to a new file", to);
    int rc = cli_store_open(c, STORE_READ);
    if (rc)
        return rc;
    if ((rc = store_backup(c->st, to)))
        return cli_store_fail(c, rc);
    if (stat(to, &sb) != 0)
        return cli_fail(c, "the backup %s went missing: %s", to, strerror(errno));
    printf("store %s backed up to %s (%.1f MiB)\n", c->db_path, to,
           (double)sb.st_size / (1024.0 * 1024.0));
    return CLI_EXIT_OK;
}

const struct cli_cmd cmd_backup = {
    .name = "backup",
    .synopsis = "FILE",
    .summary = "copy the whole store to a new file, while the daemons run",
    .help = "Writes everything in the store (zones, traffic management, health, audit log)\n"
            "to FILE, a new file, as one read transaction saw it: a consistent copy taken\n"
            "while gtm-dnsd, gtm-healthd and other gtmctl commands go on. gtmctl restore\n"
            "puts it back. Copying the store file itself (cp) is not a backup while the\n"
            "daemons run: the latest changes can be in its -wal file.",
    .min_args = 1,
    .max_args = 1,
    .run = backup,
};

static int restore(struct cli *c)
{
    const char *from = c->args[0];
    struct stat a, b;
    struct store_restore_info info;
    if (stat(from, &a) != 0)
        return cli_fail(c, "cannot read %s: %s", from, strerror(errno));
    if (stat(c->db_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return cli_fail(c, "%s is the store itself", from);
    int rc = cli_store_open(c, STORE_WRITE);
    if (rc)
        return rc;
    if ((rc = store_restore(c->st, from, time(NULL), &info)))
        return cli_store_fail(c, rc);
    char *what = xasprintf("store restored from %s: %zu zones", from, info.zones);
    /* the audit log is the backup's now: the restore is its latest entry */
    if ((rc = store_tx_begin(c->st)))
        rc = cli_store_fail(c, rc);
    else
        rc = cli_tx_commit(c, NULL, "", what);
    if (rc == 0)
        printf("%s (serials of %zu moved past the ones served; health states are probed "
               "afresh)\n",
               what, info.serials_moved);
    free(what);
    return rc;
}

const struct cli_cmd cmd_restore = {
    .name = "restore",
    .synopsis = "FILE",
    .summary = "replace the whole store with a backup, while the daemons run",
    .help = "Replaces everything in the store with the backup FILE (made by gtmctl backup,\n"
            "of this gtm's schema version: migrate an older one first with\n"
            "gtmctl --db FILE init) in one transaction: gtm-dnsd goes from the old data to\n"
            "the restored data at once, without a restart. Zones served before get SOA\n"
            "serials past the ones served; the backup's health states are left out, so\n"
            "gtm-healthd probes every endpoint afresh (until then an endpoint counts as\n"
            "its policy's --unknown says). Moving a file over the store while the\n"
            "daemons hold it open would meet their -wal file and corrupt it.",
    .min_args = 1,
    .max_args = 1,
    .run = restore,
};
