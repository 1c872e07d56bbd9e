/* geo/internal.h — what the files of geo/ share: the open databases and their search
 * trees, walked record by record when a classifier is built. */
#ifndef GTM_GEO_INTERNAL_H
#define GTM_GEO_INTERNAL_H

#include <maxminddb.h>

#include "geo/geo.h"

struct geo_db {
    MMDB_s mmdb[GEO_MAX_DBS];
    size_t n;
    /* per family (0: IPv4, 1: IPv6): the database that answers it, or -1 */
    int for_family[2];
    /* per database: the node where IPv4 addresses start (96 zero bits down an IPv6
     * tree; the root of an IPv4 tree) */
    uint32_t ipv4_start[GEO_MAX_DBS];
};

enum geo__rec_type { GEO_REC_NODE, GEO_REC_DATA, GEO_REC_EMPTY };

/* One branch of the search tree: another node, a data record, or nothing. */
struct geo__rec {
    enum geo__rec_type type;
    uint32_t node;      /* GEO_REC_NODE */
    MMDB_entry_s entry; /* GEO_REC_DATA; entry.offset identifies the record */
};

/* The record where family's addresses start, and how many bits the family has. Returns
 * 0, or GTM_ENOTFOUND when no database holds the family. */
int geo__root(const struct geo_db *db, int family, const MMDB_s **mmdb, struct geo__rec *root,
              int *bits);
/* The two branches of node. Returns 0 or GTM_ESTORE for a corrupt tree. */
int geo__children(const MMDB_s *mmdb, uint32_t node, struct geo__rec *left, struct geo__rec *right);
/* Reads the location of a data record, in either layout. */
void geo__loc_of(MMDB_entry_s *entry, struct geo_loc *loc);

#endif
