/* healthd/conf.c — gtm-healthd's option table and the checks the table cannot do.
 * main() only. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "healthd/conf.h"

#define OFF(f) offsetof(struct healthd_cfg, f)

const struct cfg_opt healthd_cfg_table[] = {
    {"db", CFG_STR, OFF(db), "/var/lib/gtm/gtm.db", "PATH",
     "the store whose checks to run and where to write states ($GTM_DB when not given)", 0, 0},
    {"vantage", CFG_STR, OFF(vantage), NULL, "NAME",
     "name of this vantage point in the store (default: the host name)", 0, 0},
    {"log-level", CFG_STR, OFF(log_level), "info", "LEVEL", "debug, info, warn or error", 0, 0},
    {"syslog", CFG_FLAG, OFF(syslog), NULL, NULL, "log to syslog instead of stderr", 0, 0},
    {"foreground", CFG_FLAG, OFF(foreground), NULL, NULL,
     "stay in the foreground (else detach once probing)", 0, 0},
    {"pidfile", CFG_STR, OFF(pidfile), NULL, "PATH", "write the process id here", 0, 0},
    {"user", CFG_STR, OFF(user), NULL, "USER", "drop privileges to USER after start-up", 0, 0},
    {"poll-interval-ms", CFG_UINT, OFF(poll_interval_ms), "500", "MS",
     "how often the store is checked for changed checks (PRAGMA data_version)", 50, 60000},
    {"rtt-batch-ms", CFG_UINT, OFF(rtt_batch_ms), "5000", "MS",
     "write round-trip samples together this often (one transaction)", 100, 600000},
    {"stats-interval", CFG_UINT, OFF(stats_interval_s), "60", "SECONDS",
     "log the schedule lag this often (0: only at exit)", 0, 86400},
    {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
};

/* A vantage name: 1 to HEALTHD_VANTAGE_MAX characters from a-z A-Z 0-9 . _ -; it goes
 * into log lines and events, so nothing that could break a line or a column. */
static bool vantage_is_valid(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > HEALTHD_VANTAGE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
            return false;
    return true;
}

int healthd_cfg_finish(struct healthd_cfg *cfg, char *err, size_t errlen)
{
    int rc = GTM_EPARSE;
    if (!cfg->vantage) {
        char host[256] = "";
        if (gethostname(host, sizeof host - 1) != 0 || !host[0]) {
            snprintf(err, errlen, "cannot tell the host name: give --vantage NAME");
            goto out;
        }
        cfg->vantage = xstrdup(host);
    }
    if (!vantage_is_valid(cfg->vantage)) {
        snprintf(err, errlen,
                 "--vantage '%s': 1 to %d characters from a-z A-Z 0-9 . _ - (the host name "
                 "is the default)",
                 cfg->vantage, HEALTHD_VANTAGE_MAX);
        goto out;
    }
    rc = 0;
out:
    return rc;
}
