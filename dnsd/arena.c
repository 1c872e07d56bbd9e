/* dnsd/arena.c — bump allocation in large chunks (see arena.h). */
#include "config.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "dnsd/arena.h"

/* 1 MiB chunks: few enough mallocs for a million-record zone (a few hundred), small
 * enough that a tiny zone wastes little. Larger requests get a chunk of their own. */
#define ARENA_CHUNK_BYTES ((size_t)1 << 20)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    alignas(max_align_t) unsigned char data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK_BYTES ? n : ARENA_CHUNK_BYTES;
        c = xmalloc(sizeof *c + size);
        c->used = 0;
        c->size = size;
        if (a->head && n > ARENA_CHUNK_BYTES) {
            /* keep filling the current chunk; the big one goes behind it */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    a->bytes += n;
    return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    return memset(arena_alloc(a, n), 0, n);
}

void *arena_dup(struct arena *a, const void *p, size_t n)
{
    return memcpy(arena_alloc(a, n), p, n);
}

void arena_fini(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes = 0;
}
