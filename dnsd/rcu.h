/* dnsd/rcu.h — publishing an immutable object (the snapshot) to the workers without
 * reader locks, quiescent-state style: a worker announces the epoch it read the object
 * in (rcu_enter) and that it holds nothing (rcu_leave) around each batch of packets;
 * the publisher swaps the pointer, moves the epoch on, and waits until every worker
 * has left or re-entered in the new epoch before it frees the old object.
 * Cost per batch: two atomic loads and two stores; the wait is the publisher's. */
#ifndef GTM_DNSD_RCU_H
#define GTM_DNSD_RCU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One per worker, on its own cache line so workers never share a line. */
struct rcu_reader {
    _Alignas(64) _Atomic uint64_t epoch; /* 0: holds nothing */
};

struct rcu {
    _Atomic(void *) current;
    _Atomic uint64_t epoch; /* starts at 1 */
    struct rcu_reader *readers;
    size_t nreaders;
};

/* Sets up r for nreaders workers with first as the published object. */
void rcu_init(struct rcu *r, size_t nreaders, void *first);
void rcu_fini(struct rcu *r);

/* Worker: the current object, valid until rcu_leave(). */
static inline void *rcu_enter(struct rcu *r, struct rcu_reader *rd)
{
    atomic_store(&rd->epoch, atomic_load(&r->epoch));
    return atomic_load(&r->current);
}

static inline void rcu_leave(struct rcu_reader *rd)
{
    atomic_store_explicit(&rd->epoch, 0, memory_order_release);
}

/* Publisher thread: makes next current and returns the previous object once no worker
 * can still hold it (the caller frees it). Blocks for at most one batch per worker. */
void *rcu_publish(struct rcu *r, void *next);

/* The current object, for the publisher's own reads. */
static inline void *rcu_current(struct rcu *r)
{
    return atomic_load(&r->current);
}

#endif
