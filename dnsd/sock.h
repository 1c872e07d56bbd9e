/* dnsd/sock.h — a bound, non-blocking SO_REUSEPORT socket for a listen address: every
 * worker binds its own, and the kernel spreads packets and connections over them, by a
 * hash of the client's address and port, or for UDP by the CPU that received the
 * datagram (sock_steer_by_cpu). main() only (before privileges are dropped). */
#ifndef GTM_DNSD_SOCK_H
#define GTM_DNSD_SOCK_H

#include <stdbool.h>

#include "dnsd/conf.h"

/* type: SOCK_DGRAM or SOCK_STREAM. *fd_out gets the socket; *wildcard_out (may be
 * NULL) whether it is bound to the unspecified address. Returns 0 or -errno. */
int sock_bind(const struct dnsd_listen *l, int type, int *fd_out, bool *wildcard_out);

/* Makes the SO_REUSEPORT group of the bound UDP socket fd hand each datagram to its
 * socket number (receiving CPU mod nsocks), in the order the sockets were bound. With
 * one worker per CPU, a worker gets the datagrams of one CPU: it is woken on the CPU
 * that has the data and finds fuller batches, where the hash wakes every worker for
 * every few datagrams. Sockets that join the group later are steered too. Returns 0 or
 * -errno. */
int sock_steer_by_cpu(int fd, unsigned nsocks);

#endif
