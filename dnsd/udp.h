/* dnsd/udp.h — UDP serving on one socket of one worker: recvmmsg(2) a batch, answer
 * each query into its own response buffer, sendmmsg(2) the batch. Sockets bound to a
 * wildcard address answer from the address the query was sent to (IP_PKTINFO /
 * IPV6_PKTINFO). Worker thread: no allocation after udp_open(), no locks. */
#ifndef GTM_DNSD_UDP_H
#define GTM_DNSD_UDP_H

#include <stddef.h>
#include <uv.h>

#include "dnsd/conf.h"

struct worker;
struct udp_sock;

/* Creates and binds an SO_REUSEPORT UDP socket for l. Returns 0 or -errno. */
int udp_open(struct udp_sock **out, struct worker *w, const struct dnsd_listen *l);
/* The socket, for steering (dnsd/steer.h) from main(). */
int udp_fd(const struct udp_sock *u);
/* Starts answering on the worker's loop. */
int udp_start(struct udp_sock *u);
/* Stops and closes; the memory goes in the close callback. */
void udp_close(struct udp_sock *u);

#endif
