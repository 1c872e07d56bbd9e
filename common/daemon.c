/* common/daemon.c — detaching, pid file, privilege drop (see daemon.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/err.h"

int daemon_detach(int *notify_fd)
{
    int p[2];
    if (pipe(p) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        close(p[0]);
        close(p[1]);
        return rc;
    }
    if (pid > 0) {
        unsigned char status = 1;
        close(p[1]);
        if (read(p[0], &status, 1) != 1)
            status = 1; /* the child died before it could say */
        _exit(status);
    }
    close(p[0]);
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    *notify_fd = p[1];
    return 0;
}

void daemon_notify(int fd, int status)
{
    if (fd < 0)
        return;
    unsigned char s = (unsigned char)status;
    ssize_t w = write(fd, &s, 1);
    (void)w; /* the parent is gone: nothing to tell */
    close(fd);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDERR_FILENO); /* the terminal is the parent's, which has exited */
        close(null);
    }
}

int daemon_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f) == 0 ? 0 : -errno;
}

void daemon_pidfile_remove(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (!f)
        return;
    bool ours = fscanf(f, "%d", &pid) == 1 && pid == (int)getpid();
    fclose(f);
    if (ours)
        unlink(path); /* may fail after dropping privileges: then systemd removes it */
}

int daemon_drop_privileges(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return GTM_ENOTFOUND;
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0)
        return -errno;
    return 0;
}

int daemon_user_check(const char *user, char *msg, size_t msglen)
{
    if (getpwnam(user))
        return 0;
    snprintf(msg, msglen, "--user %s: no such user", user);
    return GTM_ENOTFOUND;
}

void daemon_signals_ignore(bool stopping)
{
    signal(SIGHUP, SIG_IGN);
    signal(SIGUSR1, SIG_IGN);
    if (stopping) {
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
    }
}
