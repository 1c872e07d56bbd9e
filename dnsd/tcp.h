/* dnsd/tcp.h — DNS over TCP (RFC 7766) on one worker: two-byte length framing,
 * several queries per connection answered in order as they arrive (pipelined), an idle
 * timeout, and a cap on open connections that closes the newest ones past it.
 * Worker thread. Each connection owns its buffers; answers are built in the worker's
 * scratch buffer and queued. */
#ifndef GTM_DNSD_TCP_H
#define GTM_DNSD_TCP_H

#include <uv.h>

#include "dnsd/conf.h"

struct worker;
struct tcp_listener;
struct tcp_conn;

/* Creates, binds and listens on an SO_REUSEPORT TCP socket for l. 0 or -errno. */
int tcp_open(struct tcp_listener **out, struct worker *w, const struct dnsd_listen *l);
/* Starts accepting on the worker's loop. */
int tcp_start(struct tcp_listener *t);
/* Stops accepting and closes the listener. */
void tcp_close(struct tcp_listener *t);
/* Closes the worker's connections once they have sent what they owe. */
void tcp_close_all(struct worker *w);

#endif
