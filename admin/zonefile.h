/* admin/zonefile.h — reading RFC 1035 master files ("zone files") with ldns.
 * We split the file into entries ourselves (parentheses, quotes, escapes, comments)
 * and handle $ORIGIN, $TTL, $INCLUDE and BIND's $GENERATE — ldns implements neither of
 * the last two — then let ldns parse each record. Errors name the file and line.
 * gtmctl only. */
#ifndef GTM_ADMIN_ZONEFILE_H
#define GTM_ADMIN_ZONEFILE_H

#include <ldns/ldns.h>
#include <stddef.h>

/* Nesting limit of $INCLUDE: deep enough for any real layout, and it stops a file
 * that includes itself. */
#define ZONEFILE_INCLUDE_DEPTH 16
/* Most records one $GENERATE makes (a /12 of IPv4 reverse names). */
#define ZONEFILE_GENERATE_MAX 1000000
/* Largest zone file read: well above a million records. */
#define ZONEFILE_MAX_BYTES ((size_t)1 << 30)
/* TTL of a record that gives none in a file with no $TTL and no earlier TTL (ldns's and
 * BIND's choice). */
#define ZONEFILE_DEFAULT_TTL 3600

/* Called once per record; lr is borrowed for the call. file and line say where the
 * record starts. Return 0 to go on; non-zero stops the read and is returned (the
 * callback writes its message into err). */
typedef int (*zonefile_rr_fn)(void *arg, const ldns_rr *lr, const char *file, int line, char *err,
                              size_t errlen);

/* Reads path with origin (absolute, presentation form) as the initial $ORIGIN.
 * Returns 0, or GTM_EPARSE / -errno / the callback's code with "FILE:LINE: what is
 * wrong" in err. */
int zonefile_read(const char *path, const char *origin, zonefile_rr_fn fn, void *arg, char *err,
                  size_t errlen);

#endif
