/* dnsd/internal.h — what the snapshot compiler's files share (dnsd/snap_compile.c for
 * zones, dnsd/snap_traffic.c for policies): the state of one compile. Loader thread or
 * gtmctl. */
#ifndef GTM_DNSD_INTERNAL_H
#define GTM_DNSD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/store.h"
#include "dnsd/snap.h"

/* A zone being compiled. */
struct bzone {
    int64_t id;
    struct snap_zone *zone;
};

struct snap__traffic; /* dnsd/snap_traffic.c */

struct build {
    struct snap *s;
    const struct snap_geo_source *geo;
    struct bzone *zones;
    size_t nzones;
    size_t zone_at;    /* index of the zone of the records being read */
    bool zones_sorted; /* by id, as the records come */
    bool nested;       /* some zone's apex lies inside another zone we serve */
    /* every node of the table, in the order they were added */
    struct snap_node **nodes;
    size_t nodes_cap;
    /* the nodes of the records read so far, not yet in the table (only apexes are) */
    struct pending_node {
        struct snap_node *node;
        uint32_t hash;
    } * pending;
    size_t npending, pending_cap;
    /* additional-section targets to look up once every node exists: where each goes,
     * and its lower-case name (at name_off in target_names) and hash */
    struct target_ref {
        const struct snap_node **node;
        size_t name_off;
        uint8_t len;
        uint32_t hash;
    } * targets;
    size_t ntargets, targets_cap;
    uint8_t *target_names;
    size_t target_names_len, target_names_cap;
    /* the RRsets of the node being filled */
    struct snap_node *node;
    struct snap_rrset *sets;
    size_t nsets, cap_sets;
    uint8_t *data; /* RDATA of the RRset being filled */
    size_t data_len, data_cap;
    size_t occluded;
    struct snap__traffic *traffic;
    char *msg;
    size_t msglen;
};

/* The node named name (lower-case wire), created in zone z if it does not exist. */
struct snap_node *snap__node_get(struct build *b, const uint8_t *name, size_t len,
                                 const struct snap_zone *z);
/* The zone with store id id, or NULL. */
struct snap_zone *snap__zone_by_id(struct build *b, int64_t id);

/* The traffic half of a compile: store callbacks that collect, then snap__traffic_finish()
 * which builds regions, pools, endpoints, the policies' nodes and the classifier. */
void snap__traffic_fns(struct store_snapshot_fns *fns);
int snap__traffic_finish(struct build *b);
void snap__traffic_free(struct build *b);

#endif
