/* dnsd/arena.h — a bump allocator: everything of one compiled snapshot comes from one
 * arena and goes with one arena_fini(). Used by the snapshot compiler (loader thread,
 * or gtmctl explain); never on the query path. Allocation aborts on out-of-memory. */
#ifndef GTM_DNSD_ARENA_H
#define GTM_DNSD_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* chunk being filled; older chunks follow ->next */
    size_t bytes;             /* total bytes handed out, for memory reports */
};

/* Zero-initialise a struct arena; arena_fini() releases every allocation. */
void arena_fini(struct arena *a);
/* n bytes, aligned for any type, uninitialised. */
void *arena_alloc(struct arena *a, size_t n);
/* n zeroed bytes. */
void *arena_zalloc(struct arena *a, size_t n);
/* A copy of n bytes of p. */
void *arena_dup(struct arena *a, const void *p, size_t n);

#endif
