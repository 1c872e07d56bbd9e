/* geo/mmdb.c — GeoIP databases through libmaxminddb: opening, looking up, and the tree
 * access the classifier builder walks. Loader thread or gtmctl; never per query. */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xalloc.h"
#include "geo/internal.h"

/* ---- reading a record's location ---------------------------------------------------- */

static bool get_string(MMDB_entry_s *e, char *out, size_t outlen, const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0 || d.data_size >= outlen)
        return false;
    memcpy(out, d.utf8_string, d.data_size);
    out[d.data_size] = '\0';
    return true;
}

static bool get_double(MMDB_entry_s *e, double *out, const char *const *path)
{
    MMDB_entry_data_s d;
    char text[32];
    if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data)
        return false;
    switch (d.type) {
    case MMDB_DATA_TYPE_DOUBLE: *out = d.double_value; return true;
    case MMDB_DATA_TYPE_FLOAT: *out = d.float_value; return true;
    case MMDB_DATA_TYPE_UTF8_STRING: /* some redistributions store numbers as text */
        if (d.data_size == 0 || d.data_size >= sizeof text)
            return false;
        memcpy(text, d.utf8_string, d.data_size);
        text[d.data_size] = '\0';
        char *end = NULL;
        *out = strtod(text, &end);
        return *end == '\0';
    default: return false;
    }
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 32);
}

void geo__loc_of(MMDB_entry_s *e, struct geo_loc *loc)
{
    /* MaxMind's GeoIP2/GeoLite2 layout first, then the flat one */
    static const char *const country[] = {"country", "iso_code", NULL};
    static const char *const registered[] = {"registered_country", "iso_code", NULL};
    static const char *const flat_country[] = {"country_code", NULL};
    static const char *const continent[] = {"continent", "code", NULL};
    static const char *const flat_continent[] = {"continent_code", NULL};
    static const char *const subdivision[] = {"subdivisions", "0", "iso_code", NULL};
    static const char *const flat_subdivision[] = {"subdivision_code", NULL};
    static const char *const lat[] = {"location", "latitude", NULL};
    static const char *const lon[] = {"location", "longitude", NULL};
    static const char *const flat_lat[] = {"latitude", NULL};
    static const char *const flat_lon[] = {"longitude", NULL};
    memset(loc, 0, sizeof *loc);
    if (!get_string(e, loc->country, sizeof loc->country, country) &&
        !get_string(e, loc->country, sizeof loc->country, flat_country))
        get_string(e, loc->country, sizeof loc->country, registered);
    upper(loc->country);
    if (!get_string(e, loc->continent, sizeof loc->continent, continent) &&
        !get_string(e, loc->continent, sizeof loc->continent, flat_continent)) {
        const char *c = geo_continent_of(loc->country);
        snprintf(loc->continent, sizeof loc->continent, "%s", c ? c : "");
    }
    upper(loc->continent);
    if (!get_string(e, loc->subdivision, sizeof loc->subdivision, subdivision))
        get_string(e, loc->subdivision, sizeof loc->subdivision, flat_subdivision);
    upper(loc->subdivision);
    loc->has_coords = (get_double(e, &loc->lat, lat) && get_double(e, &loc->lon, lon)) ||
                      (get_double(e, &loc->lat, flat_lat) && get_double(e, &loc->lon, flat_lon));
    if (loc->has_coords && (loc->lat < -90 || loc->lat > 90 || loc->lon < -180 || loc->lon > 180))
        loc->has_coords = false;
}

/* ---- the search tree ----------------------------------------------------------------- */

static void rec_of(const MMDB_s *mmdb, uint64_t value, uint8_t type, MMDB_entry_s entry,
                   struct geo__rec *r)
{
    (void)mmdb;
    memset(r, 0, sizeof *r);
    if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
        r->type = GEO_REC_NODE;
        r->node = (uint32_t)value;
    } else if (type == MMDB_RECORD_TYPE_DATA) {
        r->type = GEO_REC_DATA;
        r->entry = entry;
    } else {
        r->type = GEO_REC_EMPTY;
    }
}

int geo__children(const MMDB_s *mmdb, uint32_t node, struct geo__rec *left, struct geo__rec *right)
{
    MMDB_search_node_s n;
    if (MMDB_read_node((MMDB_s *)mmdb, node, &n) != MMDB_SUCCESS ||
        n.left_record_type == MMDB_RECORD_TYPE_INVALID ||
        n.right_record_type == MMDB_RECORD_TYPE_INVALID)
        return GTM_ESTORE;
    rec_of(mmdb, n.left_record, n.left_record_type, n.left_record_entry, left);
    rec_of(mmdb, n.right_record, n.right_record_type, n.right_record_entry, right);
    return 0;
}

int geo__root(const struct geo_db *db, int family, const MMDB_s **mmdb, struct geo__rec *root,
              int *bits)
{
    int i = db ? db->for_family[family == 4 ? 0 : 1] : -1;
    if (i < 0)
        return GTM_ENOTFOUND;
    *mmdb = &db->mmdb[i];
    memset(root, 0, sizeof *root);
    root->type = GEO_REC_NODE;
    root->node = family == 4 ? db->ipv4_start[i] : 0;
    *bits = family == 4 ? 32 : 128;
    return 0;
}

/* The node 96 zero bits down an IPv6 tree, where IPv4 addresses start. */
static int find_ipv4_start(const MMDB_s *mmdb, uint32_t *out)
{
    uint32_t node = 0;
    for (int depth = 0; depth < 96; depth++) {
        struct geo__rec l, r;
        if (geo__children(mmdb, node, &l, &r) != 0)
            return GTM_ESTORE;
        if (l.type != GEO_REC_NODE)
            return GTM_ENOTFOUND; /* no IPv4 data below */
        node = l.node;
    }
    *out = node;
    return 0;
}

/* Whether the database places clients at all: of the first data records of its tree
 * (depth first, at most LOC_SAMPLE of them within LOC_NODES nodes), one has a country, a
 * continent, a subdivision or coordinates. An ASN, ISP or connection-type database (as
 * GeoLite2-ASN, shipped beside GeoLite2-City) has none; a database without records
 * passes. GTM_ESTORE for a corrupt tree. */
#define LOC_SAMPLE 64
#define LOC_NODES 4096
static int places_clients(const MMDB_s *mmdb, bool *yes)
{
    uint32_t stack[130], nodes = 0; /* a path is at most 128 nodes deep */
    int depth = 0, seen = 0;
    stack[depth++] = 0;
    *yes = true;
    while (depth > 0 && seen < LOC_SAMPLE && nodes++ < LOC_NODES) {
        struct geo__rec kids[2];
        if (geo__children(mmdb, stack[--depth], &kids[0], &kids[1]) != 0)
            return GTM_ESTORE;
        for (int k = 1; k >= 0; k--) { /* the left child is taken first */
            if (kids[k].type == GEO_REC_NODE && depth < (int)(sizeof stack / sizeof stack[0]))
                stack[depth++] = kids[k].node;
        }
        for (int k = 0; k < 2; k++) {
            if (kids[k].type != GEO_REC_DATA)
                continue;
            struct geo_loc loc;
            geo__loc_of(&kids[k].entry, &loc);
            if (loc.country[0] || loc.continent[0] || loc.subdivision[0] || loc.has_coords)
                return 0;
            seen++;
        }
    }
    *yes = seen == 0;
    return 0;
}

/* Whether every node's two records lead to a node, to the data section or nowhere.
 * libmaxminddb meets a bad record only on a lookup that crosses it; the classifier
 * crosses them all, so a file is checked whole before it replaces the data in use (one
 * pass over the nodes: a small part of the classifier's time for GeoLite2-City). */
static bool tree_ok(const MMDB_s *mmdb)
{
    for (uint32_t node = 0; node < mmdb->metadata.node_count; node++) {
        struct geo__rec l, r;
        if (geo__children(mmdb, node, &l, &r) != 0)
            return false;
    }
    return true;
}

/* ---- open and look up ---------------------------------------------------------------- */

/* Opens paths[i] as the database's i-th file and checks it: a tree that can be walked,
 * records that hold locations, an IP version we know. */
static int open_file(struct geo_db *db, size_t i, const char *path, char *msg, size_t msglen)
{
    MMDB_s *mmdb = &db->mmdb[i];
    int status = MMDB_open(path, MMDB_MODE_MMAP, mmdb);
    if (status != MMDB_SUCCESS) {
        snprintf(msg, msglen, "GeoIP database %s: %s", path, MMDB_strerror(status));
        return GTM_ESTORE;
    }
    db->n++;
    bool places;
    int r4 = GTM_ENOTFOUND;
    if (!tree_ok(mmdb) || places_clients(mmdb, &places) != 0 ||
        (mmdb->metadata.ip_version == 6 &&
         (r4 = find_ipv4_start(mmdb, &db->ipv4_start[i])) == GTM_ESTORE)) {
        snprintf(msg, msglen, "GeoIP database %s: its search tree is corrupt", path);
        return GTM_ESTORE;
    }
    if (!places) {
        snprintf(msg, msglen,
                 "GeoIP database %s (%s) holds no locations (no country, continent or "
                 "coordinates): give a City or Country database, such as GeoLite2-City",
                 path, mmdb->metadata.database_type ? mmdb->metadata.database_type : "no type");
        return GTM_EINVAL;
    }
    switch (mmdb->metadata.ip_version) {
    case 6:
        if (db->for_family[1] < 0)
            db->for_family[1] = (int)i;
        if (r4 == 0 && db->for_family[0] < 0)
            db->for_family[0] = (int)i;
        return 0;
    case 4:
        db->ipv4_start[i] = 0;
        if (db->for_family[0] < 0)
            db->for_family[0] = (int)i;
        return 0;
    default:
        snprintf(msg, msglen, "GeoIP database %s: unknown IP version %u", path,
                 mmdb->metadata.ip_version);
        return GTM_ESTORE;
    }
}

int geo_db_open(const char *const *paths, size_t n, struct geo_db **out, char *msg, size_t msglen)
{
    if (n > GEO_MAX_DBS) {
        snprintf(msg, msglen, "at most %d GeoIP databases", GEO_MAX_DBS);
        return GTM_EINVAL;
    }
    struct geo_db *db = xcalloc(1, sizeof *db);
    db->for_family[0] = db->for_family[1] = -1;
    for (size_t i = 0; i < n; i++) {
        int rc = open_file(db, i, paths[i], msg, msglen);
        if (rc) {
            geo_db_close(db);
            return rc;
        }
    }
    *out = db;
    return 0;
}

void geo_db_close(struct geo_db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->n; i++)
        MMDB_close(&db->mmdb[i]);
    free(db);
}

int geo_db_lookup(const struct geo_db *db, int family, const uint8_t *addr, struct geo_loc *loc,
                  int *prefix)
{
    const MMDB_s *mmdb;
    struct geo__rec rec;
    int bits;
    if (geo__root(db, family, &mmdb, &rec, &bits) != 0)
        return GTM_ENOTFOUND;
    /* walk the tree ourselves: the same path the classifier builder takes */
    for (int depth = 0; depth <= bits; depth++) {
        if (rec.type == GEO_REC_DATA) {
            geo__loc_of(&rec.entry, loc);
            *prefix = depth;
            return 0;
        }
        if (rec.type == GEO_REC_EMPTY || depth == bits)
            return GTM_ENOTFOUND;
        struct geo__rec l, r;
        if (geo__children(mmdb, rec.node, &l, &r) != 0)
            return GTM_ESTORE;
        rec = (addr[depth / 8] & (0x80 >> (depth % 8))) ? r : l;
    }
    return GTM_ENOTFOUND;
}
