/* common/daemon.h — what gtm-dnsd and gtm-healthd do around start-up: detaching from
 * the terminal (the parent waits until the child says it is serving, so a failure
 * still reaches the operator's shell), the pid file, and dropping privileges.
 * main() only, before other threads exist. */
#ifndef GTM_COMMON_DAEMON_H
#define GTM_COMMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

/* Forks. The parent waits for daemon_notify() and exits with the status it gets; the
 * child returns 0 with *notify_fd set, in a new session with stdin and stdout on
 * /dev/null and stderr still the parent's until daemon_notify() (where start-up errors
 * can be shown, log_echo_stderr()). Returns -errno if the fork fails (still in the
 * foreground). */
int daemon_detach(int *notify_fd);
/* Tells the waiting parent the child's start-up status (0: serving), closes fd and
 * puts stderr on /dev/null. Does nothing for fd < 0. */
void daemon_notify(int fd, int status);
/* Writes the process id to path. 0 or -errno. */
int daemon_pidfile(const char *path);
/* Removes path if it holds this process's id (a clean stop). */
void daemon_pidfile_remove(const char *path);
/* setgid/initgroups/setuid to user. 0, or -errno / GTM_ENOTFOUND. */
int daemon_drop_privileges(const char *user);
/* --check-config of --user: 0 if user exists, else GTM_ENOTFOUND with msg. */
int daemon_user_check(const char *user, char *msg, size_t msglen);
/* Ignores SIGHUP and SIGUSR1 (reload, counters), whose default action would kill a
 * daemon that has no handler for them: while it starts (a store or GeoIP file can
 * take seconds to load; systemctl reload may come then), and, with stopping, also
 * SIGTERM and SIGINT once its handlers are closed for the stop's last seconds. */
void daemon_signals_ignore(bool stopping);

#endif
