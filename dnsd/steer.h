/* dnsd/steer.h — which worker's socket a UDP datagram goes to. The workers' sockets on
 * one address form an SO_REUSEPORT group; by default the kernel picks one by a hash of
 * the client's address and port. Steering by CPU attaches a classic BPF program to the
 * group that picks socket number (receiving CPU mod sockets), in the order the sockets
 * were bound: with one worker per CPU, a worker gets the datagrams of one CPU, is woken
 * on the CPU that has them and finds fuller batches. That needs the traffic spread over
 * the CPUs (a multi-queue NIC, RPS); when it is not, one worker's socket overflows while
 * another's does not, and main() goes back to the hash (steer_unbalanced). main() only. */
#ifndef GTM_DNSD_STEER_H
#define GTM_DNSD_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Steers the group of the bound UDP socket fd by CPU over nsocks sockets (sockets that
 * join the group later are steered too). Returns 0 or -errno. */
int steer_by_cpu(int fd, unsigned nsocks);
/* Back to the kernel's hash for the group of fd: a program whose answer is no socket,
 * which makes the kernel use its hash (any kernel with steering, no detach needed).
 * Returns 0 or -errno. */
int steer_by_hash(int fd);
/* Datagrams the socket fd dropped so far because its receive buffer was full (a
 * wrapping counter; 0 when the kernel does not say). */
uint32_t steer_drops(int fd);
/* drops[i]: datagrams worker i's sockets dropped since the last look. True when a
 * worker dropped some while another dropped none: the traffic reaches the workers
 * unevenly and the hash would spread it. When every worker drops, the server is simply
 * over capacity, and steering by CPU, the cheaper way, stays. */
bool steer_unbalanced(const uint64_t *drops, size_t n);

#endif
