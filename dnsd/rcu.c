/* dnsd/rcu.c — the publisher's side of dnsd/rcu.h. Loader thread. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xalloc.h"
#include "dnsd/rcu.h"

/* A worker holds an object for one batch of packets (microseconds); polling at this
 * period costs nothing and frees the old snapshot promptly. */
#define RCU_POLL_NS 200000

void rcu_init(struct rcu *r, size_t nreaders, void *first)
{
    /* one cache line per reader: aligned_alloc, as calloc only aligns to 16 bytes */
    size_t bytes = (nreaders ? nreaders : 1) * sizeof *r->readers;
    r->readers = aligned_alloc(_Alignof(struct rcu_reader), bytes);
    if (!r->readers)
        r->readers = xmalloc(bytes); /* never reached on glibc; xmalloc aborts on OOM */
    memset(r->readers, 0, bytes);
    r->nreaders = nreaders;
    atomic_init(&r->current, first);
    atomic_init(&r->epoch, 1);
    for (size_t i = 0; i < nreaders; i++)
        atomic_init(&r->readers[i].epoch, 0);
}

void rcu_fini(struct rcu *r)
{
    free(r->readers);
    r->readers = NULL;
}

void *rcu_publish(struct rcu *r, void *next)
{
    void *old = atomic_exchange(&r->current, next);
    uint64_t epoch = atomic_fetch_add(&r->epoch, 1) + 1;
    for (size_t i = 0; i < r->nreaders; i++) {
        for (;;) {
            uint64_t e = atomic_load(&r->readers[i].epoch);
            if (e == 0 || e >= epoch)
                break;
            nanosleep(&(struct timespec){0, RCU_POLL_NS}, NULL);
        }
    }
    return old;
}
