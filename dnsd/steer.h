/* dnsd/steer.h — which worker's socket a UDP datagram goes to. The workers' sockets on
 * one address form an SO_REUSEPORT group; by default the kernel picks one by a hash of
 * the client's address and port. Steering by CPU attaches a classic BPF program to the
 * group that picks socket number (receiving CPU mod sockets), in the order the sockets
 * were bound (CPUs taken as numbered 0 to N-1): with one worker per CPU, a worker gets
 * the datagrams of one CPU, is woken on the CPU that has them and finds fuller batches.
 * That needs the traffic spread over the CPUs (a multi-queue NIC, RPS); when it is not,
 * one worker's socket overflows while another's does not, and the watch (below) says
 * so, for main() to go back to the hash. main() only. */
#ifndef GTM_DNSD_STEER_H
#define GTM_DNSD_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Drops in one look that count as an overflow: a few datagrams are also dropped for a
 * bad checksum, which says nothing about the steering. */
#define STEER_MIN_DROPS 100

/* Steers the group of the bound UDP socket fd by CPU over nsocks sockets (sockets that
 * join the group later are steered too). Returns 0 or -errno. */
int steer_by_cpu(int fd, unsigned nsocks);
/* Back to the kernel's hash for the group of fd: a program whose answer is no socket,
 * which makes the kernel use its hash (any kernel with steering, no detach needed).
 * Returns 0 or -errno. */
int steer_by_hash(int fd);
/* Datagrams the socket fd dropped so far (its receive buffer full, or a bad checksum):
 * a wrapping counter; 0 when the kernel does not say. */
uint32_t steer_drops(int fd);
/* drops[i]: datagrams worker i's sockets dropped since the last look. True when a
 * worker dropped STEER_MIN_DROPS or more while another dropped none: the traffic
 * reaches the workers unevenly and the hash would spread it. When every worker drops,
 * the server is simply over capacity, and steering by CPU, the cheaper way, stays. */
bool steer_unbalanced(const uint64_t *drops, size_t n);

/* The UDP sockets of nworkers workers on naddrs addresses, steered by CPU and watched. */
struct steer_watch {
    size_t nworkers, naddrs;
    int *fds;        /* fds[w * naddrs + a]: worker w's socket on address a */
    uint32_t *last;  /* their drop counters at the last look */
    uint64_t *delta; /* each worker's drops between the last two looks */
};

/* Steers every address's group by CPU and reads the counters. Returns 0, or -errno
 * with every address back on the hash and *sw empty. */
int steer_watch_start(struct steer_watch *sw, const int *fds, size_t nworkers, size_t naddrs);
/* Reads the counters again: true when the drops since the last look are unbalanced.
 * counts gets each worker's drops (" 120 0"). */
bool steer_watch_check(struct steer_watch *sw, char *counts, size_t size);
/* Every address back on the hash. Returns 0 or the first -errno. */
int steer_watch_to_hash(const struct steer_watch *sw);
void steer_watch_free(struct steer_watch *sw);

#endif
