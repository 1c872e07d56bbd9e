/* dnsd/xdp.h — UDP queries taken from a network interface before the kernel's IP
 * stack (AF_XDP), for --xdp IFACE: an eBPF filter on the interface sends the UDP
 * datagrams addressed to a --listen address to an AF_XDP socket per receive queue,
 * which a worker reads and answers in batches through shared rings (no copy to a
 * socket buffer, no routing, no socket lookup, one system call per batch sent).
 * Everything else — TCP, IP fragments, IPv4 options, IPv6 extension headers, VLAN
 * tags, other addresses — passes to the kernel, where the UDP and TCP sockets answer
 * as without --xdp; so does everything once gtm-dnsd has exited (the filter is tied to
 * the process, and a queue without a socket passes).
 * xdp_filter_* run in main() before privileges are dropped; xdp_sock_* as udp.h says. */
#ifndef GTM_DNSD_XDP_H
#define GTM_DNSD_XDP_H

#include <stddef.h>

#include "dnsd/conf.h"

struct worker;
struct xdp_filter;
struct xdp_sock;

/* Loads the filter for cfg's listen addresses and attaches it to cfg->xdp: in the
 * driver when it can run XDP, else in the kernel's generic hook. Needs CAP_BPF and
 * CAP_NET_ADMIN (root). Returns 0, or an error with msg. */
int xdp_filter_new(struct xdp_filter **out, const struct dnsd_cfg *cfg, char *msg, size_t msglen);
/* The interface's receive queues: each gets its own socket. */
unsigned xdp_filter_queues(const struct xdp_filter *f);
/* "driver" or "generic": where the filter runs. */
const char *xdp_filter_mode(const struct xdp_filter *f);
/* Detaches the filter (accepts NULL). */
void xdp_filter_free(struct xdp_filter *f);

/* Opens the AF_XDP socket of queue for worker w and registers it with the filter.
 * Returns 0, or an error with msg. */
int xdp_sock_open(struct xdp_sock **out, struct worker *w, struct xdp_filter *f, unsigned queue,
                  char *msg, size_t msglen);
/* Starts answering on the worker's loop. Returns 0 or a libuv error. */
int xdp_sock_start(struct xdp_sock *x);
/* Stops and closes; the memory goes in the close callback. */
void xdp_sock_close(struct xdp_sock *x);

#endif
