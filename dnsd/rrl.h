/* dnsd/rrl.h — response rate limiting for UDP, the scheme of BIND's and Knot's RRL:
 * past --rrl-rate responses a second of one kind to one client network (a /24 or /56
 * by default), the responses are dropped, and every --rrl-slip-th is sent truncated
 * instead (TC=1, no records), so a real resolver in that network retries over TCP while
 * a spoofed victim receives little. Kinds: the answers from one name of the zone (so the
 * names a wildcard or a delegation answers for count together); the NXDOMAINs of one
 * zone; errors.
 * One table for all workers, written with relaxed atomics: no lock and no allocation
 * per query; two keys that share a slot make each other's limit looser for a second. */
#ifndef GTM_DNSD_RRL_H
#define GTM_DNSD_RRL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum rrl_verdict { RRL_SEND, RRL_SLIP, RRL_DROP };

struct rrl;

/* A table for rate responses a second per key (rate > 0); slip: every slip-th limited
 * response is sent truncated (0: none, 1: all); prefixes: the client networks. */
struct rrl *rrl_new(uint32_t rate, uint32_t slip, unsigned v4_prefix, unsigned v6_prefix);
void rrl_free(struct rrl *r);

/* Counts one response with this rcode, answered from the zone's name match (for
 * NXDOMAIN: the zone; any pointer that stands for it, or NULL), for peer (IPv4 or IPv6)
 * in second now_s, and says what to do with it. Any thread. */
enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *peer, uint8_t rcode,
                           const void *match, uint32_t now_s);

#endif
