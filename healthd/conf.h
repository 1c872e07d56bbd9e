/* healthd/conf.h — gtm-healthd's options: the table (defaults, help) and the parsed
 * values. Read once by main() before the store thread starts; read-only afterwards,
 * so any thread may read it. */
#ifndef GTM_HEALTHD_CONF_H
#define GTM_HEALTHD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"

/* A vantage point's name is stored in every health row and event: keep it short and
 * printable (a host name fits). */
#define HEALTHD_VANTAGE_MAX 64

struct healthd_cfg {
    /* from the option table */
    char *db;
    char *vantage; /* NULL: the host name (healthd_cfg_finish fills it in) */
    char *log_level;
    bool syslog;
    bool foreground;
    char *pidfile;
    char *user;
    uint32_t poll_interval_ms; /* how often the store thread looks for changed checks */
    uint32_t rtt_batch_ms;     /* RTT samples are written together this often */
    uint32_t stats_interval_s; /* schedule-lag summary in the log; 0: only at exit */
};

extern const struct cfg_opt healthd_cfg_table[];

/* Checks and derives what the table cannot (the vantage name). Returns 0 or
 * GTM_EPARSE with err. */
int healthd_cfg_finish(struct healthd_cfg *cfg, char *err, size_t errlen);

#endif
