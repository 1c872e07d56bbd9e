/* common/xalloc.h — allocation that cannot return NULL.
 * Daemons and tools call these off the query path; on out-of-memory they log one line
 * and abort(), so callers never check for NULL (STYLE §4). Any thread. */
#ifndef GTM_COMMON_XALLOC_H
#define GTM_COMMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray: p resized to count*size bytes; aborts on overflow as on OOM. */
void *xreallocarray(void *p, size_t count, size_t size);
/* xgrow: an array p of *cap elements of size bytes, grown (doubling) so that it holds
 * at least need; *cap is updated. For arrays filled one element or run at a time. */
void *xgrow(void *p, size_t *cap, size_t need, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted string in fresh memory; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
