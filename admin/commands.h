/* admin/commands.h — every gtmctl command, one struct cli_cmd each, defined in the
 * admin/cmd_*.c file of its group and listed in admin/gtmctl.c. */
#ifndef GTM_ADMIN_COMMANDS_H
#define GTM_ADMIN_COMMANDS_H

#include "admin/cli.h"

extern const struct cli_cmd cmd_init, cmd_backup, cmd_restore;
extern const struct cli_cmd cmd_zone_add, cmd_zone_list, cmd_zone_rm, cmd_zone_import,
    cmd_zone_export;
extern const struct cli_cmd cmd_record_add, cmd_record_rm, cmd_record_list;
extern const struct cli_cmd cmd_audit;
extern const struct cli_cmd cmd_region_add, cmd_region_list, cmd_region_rm;
extern const struct cli_cmd cmd_pool_add, cmd_pool_list, cmd_pool_rm, cmd_endpoint_add,
    cmd_endpoint_set, cmd_endpoint_list, cmd_endpoint_rm;
extern const struct cli_cmd cmd_policy_set, cmd_policy_list, cmd_policy_rm;
extern const struct cli_cmd cmd_geo_map, cmd_geo_unmap, cmd_geo_list, cmd_latency_set,
    cmd_latency_import, cmd_latency_list, cmd_geo_lint;
extern const struct cli_cmd cmd_explain;
extern const struct cli_cmd cmd_check_set, cmd_check_list, cmd_check_rm;
extern const struct cli_cmd cmd_status, cmd_events;
extern const struct cli_cmd cmd_drill_fail, cmd_drill_restore, cmd_drill_list, cmd_drain,
    cmd_drain_rm;

#endif
