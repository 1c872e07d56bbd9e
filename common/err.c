/* common/err.c — text for gtm's error codes. Any thread; no allocation. */
#include "config.h"

#include <string.h>

#include "common/err.h"

const char *gtm_strerror(int rc)
{
    switch (rc) {
    case 0: return "success";
    case GTM_EPARSE: return "parse error";
    case GTM_EBUSY: return "the store is busy (locked by another writer)";
    case GTM_ENOTFOUND: return "not found";
    case GTM_EEXIST: return "already exists";
    case GTM_ECONSTRAINT: return "refused by the store's constraints";
    case GTM_ESTORE: return "store error";
    case GTM_ESCHEMA: return "store schema version mismatch";
    case GTM_EINVAL: return "invalid value";
    default: break;
    }
    /* strerror() of glibc returns static text for known values, and a static buffer
     * otherwise; we only pass errno values we produced, so the former holds. */
    return rc < 0 && rc > -4096 ? strerror(-rc) : "unknown error";
}
