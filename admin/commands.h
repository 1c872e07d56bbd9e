/* admin/commands.h — every gtmctl command, one struct cli_cmd each, defined in the
 * admin/cmd_*.c file of its group and listed in admin/gtmctl.c. */
#ifndef GTM_ADMIN_COMMANDS_H
#define GTM_ADMIN_COMMANDS_H

#include "admin/cli.h"

extern const struct cli_cmd cmd_init;
extern const struct cli_cmd cmd_zone_add, cmd_zone_list, cmd_zone_rm, cmd_zone_import,
    cmd_zone_export;
extern const struct cli_cmd cmd_record_add, cmd_record_rm, cmd_record_list;
extern const struct cli_cmd cmd_audit;

#endif
