/* tests/unit/unit.h — what every cmocka unit test includes: cmocka itself (which needs
 * these system headers first), a scratch directory helper, socket addresses. */
#ifndef GTM_TESTS_UNIT_H
#define GTM_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

/* An IPv4 or IPv6 address as a socket address. */
static inline struct sockaddr_storage unit_sockaddr(const char *text)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, &a6->sin6_addr), 1);
        a6->sin6_family = AF_INET6;
    }
    return ss;
}

/* A fresh directory under $TMPDIR (or /tmp), removed with unit_tmpdir_rm(). */
static inline char *unit_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path = malloc(256);
    snprintf(path, 256, "%s/gtm-unit-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(path));
    return path;
}

static inline void unit_tmpdir_rm(char *path)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
    free(path);
}

/* Writes text to dir/name; returns the path (caller frees). */
static inline char *unit_write_file(const char *dir, const char *name, const char *text)
{
    char *path = malloc(512);
    snprintf(path, 512, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

#endif
