/* dnsd/xdp.h — UDP queries taken from a network interface before the kernel's IP
 * stack (AF_XDP), for gtm-dnsd --xdp IFACE and bench/floor: an eBPF filter on the
 * interface sends the UDP datagrams addressed to a listen address to an AF_XDP socket
 * per receive queue, whose owner reads and answers them in batches through rings shared
 * with the kernel (no socket buffer, no routing, no socket lookup, one system call per
 * batch sent). Everything else — TCP, IP fragments, IPv4 options, IPv6 extension
 * headers, VLAN tags, other addresses — passes to the kernel and its sockets; so does
 * everything once the process has exited (the filter is a link tied to the process,
 * and a queue without a socket passes).
 * xdp_filter_* and xdp_sock_open run in main() before privileges are dropped; the rest
 * on the loop of the socket's thread: no allocation, no locks. */
#ifndef GTM_DNSD_XDP_H
#define GTM_DNSD_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "dnsd/conf.h"

struct xdp_filter;
struct xdp_sock;

/* What a socket's owner does with its datagrams. */
struct xdp_ops {
    /* Called before (begin) and after each batch of up to 64 queries. */
    void (*batch)(void *arg, bool begin);
    /* Answers the DNS message query (len bytes) from peer, writing at most cap bytes
     * (what the frame and the interface's MTU carry) into out. Returns the reply's
     * length, 0 for none. */
    size_t (*answer)(void *arg, const uint8_t *query, size_t len, const struct sockaddr *peer,
                     uint8_t *out, size_t cap);
    void *arg;
};

/* Loads the filter for the naddrs listen addresses (a wildcard takes its port on every
 * address) and attaches it to ifname: in the driver when it can run XDP, else in the
 * kernel's generic hook; refused when the interface has an XDP program already. Needs
 * CAP_BPF and CAP_NET_ADMIN (root). Returns 0, or an error with msg. */
int xdp_filter_new(struct xdp_filter **out, const char *ifname, const struct dnsd_listen *addrs,
                   size_t naddrs, char *msg, size_t msglen);
/* The interface's receive queues: each may get its own socket. */
unsigned xdp_filter_queues(const struct xdp_filter *f);
/* "driver" or "generic": where the filter runs. */
const char *xdp_filter_mode(const struct xdp_filter *f);
/* Detaches the filter (accepts NULL). */
void xdp_filter_free(struct xdp_filter *f);

/* Opens the AF_XDP socket of queue (4 MiB of frames) and registers it with the filter;
 * its datagrams go to ops. Returns 0, or an error with msg. */
int xdp_sock_open(struct xdp_sock **out, struct xdp_filter *f, unsigned queue,
                  const struct xdp_ops *ops, char *msg, size_t msglen);
/* Starts answering on loop. Returns 0 or a libuv error. */
int xdp_sock_start(struct xdp_sock *x, uv_loop_t *loop);
/* Frames that were no UDP datagram (the filter lets none through; counted all the same). */
uint64_t xdp_sock_dropped(const struct xdp_sock *x);
/* Stops and closes; the memory goes in the close callback (at once when not started). */
void xdp_sock_close(struct xdp_sock *x);

#endif
