/* common/err.h — gtm's error codes, shared by every binary.
 * A function that can fail returns 0 on success, otherwise a negative errno value or
 * one of the GTM_E* codes below (all under -1000, so they never collide with errno).
 * gtm_strerror() turns either kind into text. Any thread; allocates nothing. */
#ifndef GTM_COMMON_ERR_H
#define GTM_COMMON_ERR_H

enum gtm_err {
    GTM_EPARSE = -1001,      /* input text or bytes could not be parsed */
    GTM_EBUSY = -1002,       /* the store is locked by another writer; retry later */
    GTM_ENOTFOUND = -1003,   /* no such zone, record, pool... */
    GTM_EEXIST = -1004,      /* it already exists */
    GTM_ECONSTRAINT = -1005, /* the store refused the change (a CHECK or a trigger) */
    GTM_ESTORE = -1006,      /* the store failed: I/O error, corrupt or not a gtm store */
    GTM_ESCHEMA = -1007,     /* the store's schema version does not match this binary */
    GTM_EINVAL = -1008,      /* a value outside what the operation accepts */
};

/* Text for rc (a GTM_E* code or a negative errno). Never NULL; static storage. */
const char *gtm_strerror(int rc);

#endif
