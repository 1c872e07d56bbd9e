/* dnsd/rrl.c — response rate limiting (see rrl.h). Worker threads, one table for all:
 * 16 bytes a slot, 1 MiB; a check costs one hash over the network and the matched name's
 * address (a snapshot's names stay put until it is retired) and three relaxed atomic
 * operations on one cache line. */
#include "config.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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
    unsigned v4_prefix, v6_prefix;
    uint64_t seed; /* random: which keys share a slot cannot be chosen from outside */
    struct rrl_slot slots[RRL_SLOTS];
};

struct rrl *rrl_new(uint32_t rate, uint32_t slip, unsigned v4_prefix, unsigned v6_prefix)
{
    struct rrl *r = xcalloc(1, sizeof *r);
    r->rate = rate;
    r->slip = slip;
    r->v4_prefix = v4_prefix;
    r->v6_prefix = v6_prefix;
    if (getrandom(&r->seed, sizeof r->seed, GRND_NONBLOCK) != sizeof r->seed)
        r->seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL;
    return r;
}

void rrl_free(struct rrl *r)
{
    free(r);
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Folds the first bits bits of addr (len bytes) into h. */
static uint64_t fold_network(uint64_t h, const uint8_t *addr, size_t len, unsigned bits)
{
    uint8_t net[16] = {0};
    size_t whole = bits / 8;
    memcpy(net, addr, whole < len ? whole : len);
    if (whole < len && bits % 8)
        net[whole] = (uint8_t)(addr[whole] & (0xFF00u >> (bits % 8)));
    return fnv(h, net, len);
}

enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *peer, uint8_t rcode,
                           const void *match, uint32_t now_s)
{
    uint64_t h = r->seed ^ 0xcbf29ce484222325ull;
    if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
        h = fold_network(h ^ 6, a->sin6_addr.s6_addr, 16, r->v6_prefix);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        h = fold_network(h ^ 4, (const uint8_t *)&a->sin_addr.s_addr, 4, r->v4_prefix);
    }
    /* the kind: answers per name; NXDOMAIN (random names) and errors per network */
    uint8_t kind = rcode == RCODE_NOERROR ? 0 : rcode == RCODE_NXDOMAIN ? 1 : 2;
    uintptr_t name = kind == 0 ? (uintptr_t)match : 0;
    h = fnv(h, &kind, 1);
    h = fnv(h, (const uint8_t *)&name, sizeof name);
    h ^= h >> 29;
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
