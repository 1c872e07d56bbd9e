/* dnsd/sock.h — a bound, non-blocking SO_REUSEPORT socket for a listen address: every
 * worker binds its own, and the kernel spreads packets and connections over them (UDP
 * as dnsd/steer.h says). main() only (before privileges are dropped). */
#ifndef GTM_DNSD_SOCK_H
#define GTM_DNSD_SOCK_H

#include <stdbool.h>

#include "dnsd/conf.h"

/* type: SOCK_DGRAM or SOCK_STREAM; rcvbuf: the receive buffer a UDP socket asks for
 * (bytes; the kernel doubles it for its bookkeeping). *fd_out gets the socket;
 * *wildcard_out (may be NULL) whether it is bound to the unspecified address. Returns
 * 0 or -errno. */
int sock_bind(const struct dnsd_listen *l, int type, int rcvbuf, int *fd_out, bool *wildcard_out);

/* Whether no other socket is bound to l for type yet: SO_REUSEPORT would let this
 * process's sockets join another running server's (the kernel then spreads the
 * queries over both), so each address is tried alone first. Returns 0, or -errno
 * (-EADDRINUSE: taken). */
int sock_check_free(const struct dnsd_listen *l, int type);

#endif
