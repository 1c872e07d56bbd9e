/* tests/unit/test_geo.c — geo keys, ECS options, distance, GeoIP lookups in fixtures
 * built by MaxMind's writer, and classifiers: decisions, merged networks, scopes. */
#include "config.h"

#include <arpa/inet.h>
#include <math.h>

#include "common/err.h"
#include "geo/geo.h"
#include "unit.h"

static void test_keys(void **state)
{
    (void)state;
    struct geo_key k;
    char text[64];
    const char *ok[][2] = {
        {"*", "*"},
        {"eu", "EU"},
        {"DE", "DE"},
        {"us-ca", "US-CA"},
        {"GB-ENG", "GB-ENG"},
        {"192.0.2.0/24", "192.0.2.0/24"},
        {"10.0.0.0/8", "10.0.0.0/8"},
        {"2001:DB8::/32", "2001:db8::/32"},
        {"0.0.0.0/0", "0.0.0.0/0"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(geo_key_parse(ok[i][0], &k), 0);
        geo_key_format(&k, text, sizeof text);
        assert_string_equal(text, ok[i][1]);
    }
    assert_int_equal(geo_key_parse("EU", &k), 0);
    assert_int_equal(k.kind, GEO_KEY_CONTINENT);
    assert_int_equal(geo_key_parse("DE", &k), 0);
    assert_int_equal(k.kind, GEO_KEY_COUNTRY);
    const char *bad[] = {"",     "E",    "EUR", "ZZ",       "192.0.2.1/24",   "192.0.2.0/33",
                         "10/8", "x-ca", "US-", "US-CALIF", "2001:db8::/129", "::1/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (geo_key_parse(bad[i], &k) == 0)
            fail_msg("'%s' parsed as a key", bad[i]);
    assert_string_equal(geo_continent_of("DE"), "EU");
    assert_string_equal(geo_continent_of("BR"), "SA");
    assert_null(geo_continent_of("ZZ"));
}

static void test_ecs(void **state)
{
    (void)state;
    struct geo_client c;
    uint8_t out[20];
    const uint8_t v4[] = {0, 1, 24, 0, 198, 51, 100};
    assert_int_equal(geo_ecs_parse(v4, sizeof v4, &c), 0);
    assert_int_equal(c.family, 4);
    assert_int_equal(c.bits, 24);
    assert_int_equal(geo_ecs_write(&c, 16, out), sizeof v4);
    assert_memory_equal(out, "\0\1\30\20\306\63\144", 7);
    /* a /32 is used as a /24 (privacy), but echoed as sent */
    const uint8_t v4_32[] = {0, 1, 32, 0, 198, 51, 100, 7};
    assert_int_equal(geo_ecs_parse(v4_32, sizeof v4_32, &c), 0);
    assert_int_equal(c.bits, 24);
    assert_int_equal(c.addr[3], 0);
    assert_int_equal(geo_ecs_write(&c, 24, out), 8);
    assert_int_equal(out[7], 7);
    const uint8_t v6[] = {0, 2, 64, 0, 0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4};
    assert_int_equal(geo_ecs_parse(v6, sizeof v6, &c), 0);
    assert_int_equal(c.family, 6);
    assert_int_equal(c.bits, 56);
    assert_int_equal(c.addr[7], 0);
    const uint8_t zero[] = {0, 1, 0, 0};
    assert_int_equal(geo_ecs_parse(zero, sizeof zero, &c), 0);
    assert_int_equal(c.bits, 0);
    /* RFC 7871 §6: malformed */
    const uint8_t *bad[] = {
        (const uint8_t *)"\0\3\0\0",            /* family 3 */
        (const uint8_t *)"\0\1\41\0\1\2\3\4\5", /* /33 */
        (const uint8_t *)"\0\1\30\0\1\2",       /* /24 with 2 bytes */
        (const uint8_t *)"\0\1\30\0\1\2\3\4",   /* /24 with 4 bytes */
        (const uint8_t *)"\0\1\27\0\1\2\3",     /* /23 with the 24th bit set */
        (const uint8_t *)"\0\1\30\1\1\2\3",     /* scope 1 in a query */
    };
    const size_t bad_len[] = {4, 9, 6, 8, 7, 7};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (geo_ecs_parse(bad[i], bad_len[i], &c) == 0)
            fail_msg("malformed ECS option %zu was accepted", i);
    assert_int_equal(geo_ecs_parse(v4, 3, &c), GTM_EPARSE);
    uint8_t addr[16];
    inet_pton(AF_INET, "203.0.113.77", addr);
    geo_client_from_addr(&c, 4, addr);
    assert_int_equal(c.bits, 24);
    assert_int_equal(c.addr[3], 0);
    assert_false(c.from_ecs);
}

static void test_distance(void **state)
{
    (void)state;
    double d = geo_distance_km(51.5074, -0.1278, 48.8566, 2.3522); /* London - Paris */
    assert_true(d > 340 && d < 347);
    d = geo_distance_km(0, 0, 0, 180); /* half the equator */
    assert_true(fabs(d - M_PI * 6371.0088) < 0.01);
}

/* A classifier from the map entries given as "KEY=r,r,..." (regions by index). */
static struct geo_classifier *classifier(const char *const *entries, size_t n, struct geo_db *db,
                                         const struct geo_region_in *regions, size_t nregions,
                                         struct geo_inputs *in_out)
{
    static struct geo_map_in map[16];
    static uint16_t lists[16][8];
    char msg[256];
    for (size_t i = 0; i < n; i++) {
        char key[64];
        const char *eq = strchr(entries[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - entries[i]), entries[i]);
        assert_int_equal(geo_key_parse(key, &map[i].key), 0);
        map[i].nregions = 0;
        for (const char *p = eq + 1; *p; p += *p == ',') {
            lists[i][map[i].nregions++] = (uint16_t)strtoul(p, (char **)&p, 10);
        }
        map[i].regions = lists[i];
    }
    *in_out = (struct geo_inputs){
        .regions = regions, .nregions = nregions, .map = map, .nmap = n, .db = db};
    for (int m = 0; m < GEO_MODES; m++)
        in_out->modes[m] = true;
    struct geo_classifier *c = NULL;
    assert_int_equal(geo_classifier_build(in_out, &c, msg, sizeof msg), 0);
    return c;
}

/* The first region of the list mode gives addr, and the scope prefix. */
static int first_region(const struct geo_classifier *c, enum geo_mode mode, const char *addr,
                        int *prefix)
{
    uint8_t a[16] = {0};
    int family = strchr(addr, ':') ? 6 : 4;
    assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, a), 1);
    uint32_t id = geo_classify(c, mode, family, a, prefix);
    if (id == GEO_RLIST_NONE)
        return -1;
    return geo_classifier_rlist(c, id).regions[0];
}

static void test_cidr_only(void **state)
{
    (void)state;
    const char *entries[] = {"*=0", "10.0.0.0/8=1", "10.1.0.0/16=2", "2001:db8::/32=1"};
    struct geo_region_in regions[3] = {{0}};
    struct geo_inputs in;
    struct geo_classifier *c = classifier(entries, 4, NULL, regions, 3, &in);
    int prefix;
    assert_int_equal(first_region(c, GEO_MODE_GEO, "10.1.2.3", &prefix), 2);
    assert_int_equal(prefix, 16);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "10.2.3.4", &prefix), 1);
    assert_int_equal(prefix, 15); /* 10.0.0.0/8 without 10.1.0.0/16: 10.2.0.0/15 */
    assert_int_equal(first_region(c, GEO_MODE_GEO, "11.0.0.1", &prefix), 0);
    assert_int_equal(prefix, 8);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "192.0.2.1", &prefix), 0);
    assert_int_equal(prefix, 1); /* the whole upper half of the IPv4 space */
    assert_int_equal(first_region(c, GEO_MODE_GEO, "2001:db8:5::1", &prefix), 1);
    assert_int_equal(prefix, 32);
    geo_classifier_free(c);

    /* no map at all: no list, and the answer depends on no address bit */
    c = classifier(entries, 0, NULL, regions, 3, &in);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "10.1.2.3", &prefix), -1);
    assert_int_equal(prefix, 0);
    geo_classifier_free(c);
}

static char *fixture(const char *dir, const char *spec_text)
{
    const char *src = getenv("GTM_SRCDIR");
    char cmd[1024];
    char *spec = unit_write_file(dir, "spec.json", spec_text);
    char *out = malloc(512);
    snprintf(out, 512, "%s/geo.mmdb", dir);
    snprintf(cmd, sizeof cmd, "perl '%s/tests/geoip/make-mmdb.pl' '%s' '%s'", src ? src : ".", spec,
             out);
    assert_int_equal(system(cmd), 0);
    free(spec);
    return out;
}

static const char spec_maxmind[] =
    "{\"ip_version\": 6, \"alias\": true, \"networks\": ["
    "{\"net\": \"81.2.69.0/24\", \"country\": \"GB\", \"continent\": \"EU\", "
    " \"subdivision\": \"ENG\", \"lat\": 51.5, \"lon\": -0.12},"
    "{\"net\": \"81.2.70.0/24\", \"country\": \"GB\", \"continent\": \"EU\", "
    " \"subdivision\": \"SCT\", \"lat\": 55.9, \"lon\": -3.2},"
    "{\"net\": \"89.160.0.0/16\", \"country\": \"DE\", \"continent\": \"EU\", "
    " \"lat\": 50.1, \"lon\": 8.7},"
    "{\"net\": \"192.0.2.0/24\", \"country\": \"US\", \"continent\": \"NA\", "
    " \"subdivision\": \"CA\", \"lat\": 37.7, \"lon\": -122.4},"
    "{\"net\": \"198.51.100.0/24\", \"country\": \"US\", \"continent\": \"NA\", "
    " \"subdivision\": \"NY\", \"lat\": 40.7, \"lon\": -74.0},"
    "{\"net\": \"2001:db8:1::/48\", \"country\": \"DE\", \"continent\": \"EU\", "
    " \"lat\": 52.5, \"lon\": 13.4}]}";

static void test_db_and_classifier(void **state)
{
    (void)state;
    char *dir = unit_tmpdir(), msg[256];
    char *path = fixture(dir, spec_maxmind);
    const char *paths[] = {path};
    struct geo_db *db = NULL;
    struct geo_loc loc;
    int prefix;
    uint8_t a[16];
    assert_int_equal(geo_db_open(paths, 1, &db, msg, sizeof msg), 0);
    inet_pton(AF_INET, "81.2.69.160", a);
    assert_int_equal(geo_db_lookup(db, 4, a, &loc, &prefix), 0);
    assert_string_equal(loc.country, "GB");
    assert_string_equal(loc.continent, "EU");
    assert_string_equal(loc.subdivision, "ENG");
    assert_true(loc.has_coords && fabs(loc.lat - 51.5) < 1e-9);
    assert_int_equal(prefix, 24);
    inet_pton(AF_INET, "203.0.113.1", a);
    assert_int_equal(geo_db_lookup(db, 4, a, &loc, &prefix), GTM_ENOTFOUND);

    /* regions: 0 london, 1 frankfurt, 2 san francisco, 3 no coordinates */
    struct geo_region_in regions[4] = {
        {true, 51.5, -0.1}, {true, 50.1, 8.7}, {true, 37.8, -122.4}, {false, 0, 0}};
    const char *entries[] = {"*=3", "EU=1,0", "GB=0,1", "US-CA=2", "NA=2,0", "81.2.70.0/25=3"};
    struct geo_inputs in;
    struct geo_classifier *c = classifier(entries, 6, db, regions, 4, &in);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "81.2.69.160", &prefix), 0);
    /* GB-ENG and GB-SCT both map by country: merged into 81.2.68.0/22 ... except the
     * CIDR key inside 81.2.70.0/24 */
    assert_int_equal(first_region(c, GEO_MODE_GEO, "81.2.70.1", &prefix), 3);
    assert_int_equal(prefix, 25);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "81.2.70.200", &prefix), 0);
    assert_int_equal(prefix, 25);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "89.160.20.1", &prefix), 1);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "192.0.2.1", &prefix), 2);
    assert_int_equal(first_region(c, GEO_MODE_GEO, "198.51.100.1", &prefix), 2); /* NA */
    assert_int_equal(first_region(c, GEO_MODE_GEO, "203.0.113.1", &prefix), 3);  /* * */
    assert_int_equal(first_region(c, GEO_MODE_GEO, "2001:db8:1::1", &prefix), 1);
    /* an IPv4 client seen through the IPv4-mapped IPv6 alias */
    assert_int_equal(first_region(c, GEO_MODE_GEO, "::ffff:81.2.69.160", &prefix), 0);
    /* proximity: nearest first */
    assert_int_equal(first_region(c, GEO_MODE_PROXIMITY, "89.160.20.1", &prefix), 1);
    assert_int_equal(first_region(c, GEO_MODE_PROXIMITY, "198.51.100.1", &prefix),
                     2); /* NY: SF is nearer than London */
    assert_int_equal(first_region(c, GEO_MODE_PROXIMITY, "81.2.69.1", &prefix), 0);
    /* no coordinates: the geo map decides */
    assert_int_equal(first_region(c, GEO_MODE_PROXIMITY, "203.0.113.1", &prefix), 3);
    /* the map entry explain reports */
    inet_pton(AF_INET, "81.2.70.1", a);
    assert_int_equal(geo_db_lookup(db, 4, a, &loc, &prefix), 0);
    assert_int_equal(geo_map_match(&in, &loc, 4, a), 5);
    geo_classifier_free(c);
    geo_db_close(db);

    /* a corrupt database is refused, with its name */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fwrite("garbage garbage garbage", 1, 23, f);
    fseek(f, -2000, SEEK_END);
    for (int i = 0; i < 2000; i++)
        fputc('x', f);
    fclose(f);
    db = NULL;
    assert_int_not_equal(geo_db_open(paths, 1, &db, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "geo.mmdb"));
    free(path);
    unit_tmpdir_rm(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_ecs),
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_cidr_only),
        cmocka_unit_test(test_db_and_classifier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
