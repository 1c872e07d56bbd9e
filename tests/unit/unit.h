/* tests/unit/unit.h — what every cmocka unit test includes: cmocka itself (which needs
 * these system headers first) and a scratch directory helper. */
#ifndef GTM_TESTS_UNIT_H
#define GTM_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
