/* dnsd/rrl.c — response rate limiting (see rrl.h). Worker threads, one table for all:
 * 16 bytes a slot, 1 MiB; a check costs a few multiplications to hash the network and
 * the matched name's address (a snapshot's names stay put until it is retired), and
 * three relaxed atomic operations on one cache line: about 50 instructions. */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/random.h"
#include "common/xalloc.h"
#include "dnsd/rrl.h"

/* Enough slots that the client networks active in one second rarely share one. */
#define RRL_SLOTS (1u << 16)

#define RCODE_NOERROR 0
#define RCODE_NXDOMAIN 3

struct rrl_slot {
    _Atomic uint64_t key; /* 0: unused */
    _Atomic uint32_t sec; /* the second the count is for */
    _Atomic uint32_t count;
};

struct rrl {
    uint32_t rate, slip;
    uint32_t v4_mask;    /* the client network's bits, host order */
    uint64_t v6_mask[2]; /* the same of the two halves of an IPv6 address */
    uint64_t seed;       /* random: which keys share a slot cannot be chosen from outside */
    struct rrl_slot slots[RRL_SLOTS];
};

/* Folds the 64-bit word v into h (a multiply-xorshift step). */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

/* The first bits bits of a 64-bit word, in network order read big-endian. */
static uint64_t prefix_mask(unsigned bits)
{
    return bits == 0 ? 0 : bits >= 64 ? ~0ull : ~0ull << (64 - bits);
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return be64toh(v);
}

struct rrl *rrl_new(uint32_t rate, uint32_t slip, unsigned v4_prefix, unsigned v6_prefix)
{
    struct rrl *r = xcalloc(1, sizeof *r);
    r->rate = rate;
    r->slip = slip;
    r->v4_mask = (uint32_t)(prefix_mask(v4_prefix) >> 32);
    r->v6_mask[0] = prefix_mask(v6_prefix);
    r->v6_mask[1] = prefix_mask(v6_prefix > 64 ? v6_prefix - 64 : 0);
    r->seed = random_u64();
    return r;
}

void rrl_free(struct rrl *r)
{
    free(r);
}

enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *peer, uint8_t rcode,
                           const void *match, uint32_t now_s)
{
    uint64_t h = r->seed;
    if (peer->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr;
        h = mix(mix(h, 6), load_be64(a) & r->v6_mask[0]);
        h = mix(h, load_be64(a + 8) & r->v6_mask[1]);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        h = mix(mix(h, 4), ntohl(a->sin_addr.s_addr) & r->v4_mask);
    }
    /* the kind: answers per name, NXDOMAIN per zone (random names), errors per network */
    uint64_t kind = rcode == RCODE_NOERROR ? 0 : rcode == RCODE_NXDOMAIN ? 1 : 2;
    h = mix(mix(h, kind), kind < 2 ? (uint64_t)(uintptr_t)match : 0);
    uint64_t key = h | 1;
    struct rrl_slot *s = &r->slots[(h >> 20) & (RRL_SLOTS - 1)];
    if (atomic_load_explicit(&s->key, memory_order_relaxed) != key ||
        atomic_load_explicit(&s->sec, memory_order_relaxed) != now_s) {
        atomic_store_explicit(&s->key, key, memory_order_relaxed);
        atomic_store_explicit(&s->sec, now_s, memory_order_relaxed);
        atomic_store_explicit(&s->count, 0, memory_order_relaxed);
    }
    uint32_t n = atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    if (n < r->rate)
        return RRL_SEND;
    if (r->slip && (n - r->rate + 1) % r->slip == 0)
        return RRL_SLIP;
    return RRL_DROP;
}
