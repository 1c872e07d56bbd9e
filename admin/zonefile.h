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
/* TTL of a record that gives none in a file with no $TTL and no earlier TTL, unless it
 * is the SOA record, which then gets its MINIMUM for itself and the records after it, as
 * in BIND (Knot's and NSD's choice; with a warning). */
#define ZONEFILE_DEFAULT_TTL 3600
/* Errors reported from one read before it stops: a file exported from another provider
 * can be fixed in one pass. */
#define ZONEFILE_MAX_ERRORS 20

/* Called once per record; lr is borrowed for the call. file and line say where the
 * record starts. Return 0 to go on; non-zero stops the read and is returned (the
 * callback writes its message into err). */
typedef int (*zonefile_rr_fn)(void *arg, const ldns_rr *lr, const char *file, int line, char *err,
                              size_t errlen);

struct zonefile_ops {
    zonefile_rr_fn rr;
    /* Called with each warning, "FILE:LINE: what"; may be NULL. */
    void (*warn)(void *arg, const char *msg);
    void *arg;
};

/* Reads path with origin (absolute, presentation form) as the initial $ORIGIN.
 * Returns 0, or GTM_EPARSE / -errno / the callback's code of the first error, with
 * "FILE:LINE: what is wrong" in err: a bad record does not stop the read, so err holds
 * one line per error ('\n' between them), at most ZONEFILE_MAX_ERRORS, as long as
 * errlen allows. */
int zonefile_read(const char *path, const char *origin, const struct zonefile_ops *ops, char *err,
                  size_t errlen);

#endif
