/* tests/unit/test_store.c — the store on a temporary file: opening and migrations,
 * the constraints and triggers that refuse nonsense, serials, audit, busy handling.
 * It includes db/internal.h to put a store into states the API never produces. */
#include "config.h"

#include <unistd.h>

#include "common/err.h"
#include "db/internal.h"
#include "db/serial.h"
#include "unit.h"

struct fixture {
    char *dir;
    char path[300];
    struct store *st;
    int64_t zone;
};

/* The SOA RDATA of "ns1.example.com. host.example.com. 7 3600 900 1209600 300". */
static const uint8_t soa_wire[] = {
    3,   'n', 's', '1', 7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0, 4, 'h',
    'o', 's', 't', 7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', 3,   'c', 'o', 'm', 0,   0, 0, 0,
    7,   0,   0,   14,  16,  0,   0,   3,   132, 0,   18,  117, 0,   0,   0,   1,   44};
static const char soa_text[] = "ns1.example.com. host.example.com. 7 3600 900 1209600 300";
static const uint8_t a_wire[] = {192, 0, 2, 1};

static struct store_rr rr(const char *owner, uint16_t type, uint32_t ttl, const char *text,
                          const uint8_t *wire, size_t len)
{
    return (struct store_rr){owner, type, ttl, text, wire, len};
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    snprintf(f->path, sizeof f->path, "%s/gtm.db", f->dir);
    assert_int_equal(store_open(f->path, STORE_CREATE, 0, &f->st, NULL, 0), 0);
    assert_int_equal(store_zone_add(f->st, "example.com.", &f->zone), 0);
    struct store_rr soa = rr("example.com.", 6, 3600, soa_text, soa_wire, sizeof soa_wire);
    assert_int_equal(store_rr_add(f->st, f->zone, &soa), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    unit_tmpdir_rm(f->dir);
    free(f);
    return 0;
}

static void test_open_modes(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[512], missing[320];
    int v = 0;
    snprintf(missing, sizeof missing, "%s/none.db", f->dir);
    assert_int_equal(store_open(missing, STORE_READ, 0, &st, msg, sizeof msg), GTM_ENOTFOUND);
    assert_non_null(strstr(msg, "gtmctl init"));
    assert_int_equal(store_open(missing, STORE_WRITE, 0, &st, msg, sizeof msg), GTM_ENOTFOUND);
    assert_int_equal(access(missing, F_OK), -1); /* nothing was created */
    assert_int_equal(store_open(f->path, STORE_READ, 0, &st, msg, sizeof msg), 0);
    assert_int_equal(store_schema_version(st, &v), 0);
    assert_int_equal(v, store_schema_latest());
    /* read-only means read-only */
    int64_t id;
    assert_int_equal(store_zone_add(st, "other.", &id), GTM_ESTORE);
    store_close(st);
}

static void test_not_a_store(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[512], path[320];
    /* an SQLite database of something else */
    snprintf(path, sizeof path, "%s/other.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(path, STORE_WRITE, 0, &st, msg, sizeof msg), GTM_ESTORE);
    assert_non_null(strstr(msg, "not a gtm store"));
    /* not a database at all */
    free(unit_write_file(f->dir, "garbage.db", "this is not a database, just text........"));
    snprintf(path, sizeof path, "%s/garbage.db", f->dir);
    assert_int_equal(store_open(path, STORE_READ, 0, &st, msg, sizeof msg), GTM_ESTORE);
}

static void test_schema_versions(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[512];
    /* newer than this binary: refused in every mode */
    assert_int_equal(sqlite3_exec(f->st->db, "PRAGMA user_version = 9999", NULL, NULL, NULL), 0);
    assert_int_equal(store_open(f->path, STORE_WRITE, 0, &st, msg, sizeof msg), GTM_ESCHEMA);
    assert_non_null(strstr(msg, "newer"));
    assert_int_equal(store_open(f->path, STORE_READ, 0, &st, msg, sizeof msg), GTM_ESCHEMA);
    /* older: refused for reading, migrated for writing */
    assert_int_equal(sqlite3_exec(f->st->db, "PRAGMA user_version = 0", NULL, NULL, NULL), 0);
    assert_int_equal(store_open(f->path, STORE_READ, 0, &st, msg, sizeof msg), GTM_ESCHEMA);
    assert_non_null(strstr(msg, "older"));
}

/* Every migration applies, in order, to a new store. */
static void test_migrations_in_order(void **state)
{
    (void)state;
    assert_true(store__migrations_len >= 1);
    assert_int_equal(store__migrations[0].version, 1);
    for (size_t i = 1; i < store__migrations_len; i++)
        assert_true(store__migrations[i].version > store__migrations[i - 1].version);
}

static void test_constraints(void **state)
{
    struct fixture *f = *state;
    struct store_rr r;
    r = rr("www.example.com.", 1, 300, "192.0.2.1", a_wire, 4);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), 0);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_EEXIST);
    r = rr("www.example.org.", 1, 300, "192.0.2.1", a_wire, 4);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    assert_non_null(strstr(store_errmsg(f->st), "outside its zone"));
    /* a suffix that is not a label boundary */
    r = rr("badexample.com.", 1, 300, "192.0.2.1", a_wire, 4);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    r = rr("www.example.com.", 5, 300, "x.example.com.", (const uint8_t *)"\1x\0", 3);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    assert_non_null(strstr(store_errmsg(f->st), "CNAME"));
    r = rr("alias.example.com.", 5, 300, "x.example.com.", (const uint8_t *)"\1x\0", 3);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), 0);
    r = rr("alias.example.com.", 1, 300, "192.0.2.1", a_wire, 4);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    r = rr("alias.example.com.", 5, 300, "y.example.com.", (const uint8_t *)"\1y\0", 3);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    r = rr("sub.example.com.", 6, 300, soa_text, soa_wire, sizeof soa_wire);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    assert_non_null(strstr(store_errmsg(f->st), "apex"));
    r = rr("www.example.com.", 1, 2147483648u, "192.0.2.1", a_wire, 4);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    r = rr("www.example.com.", 255, 300, "", a_wire, 4);
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    r = rr("WWW.example.com.", 1, 300, "192.0.2.1", a_wire, 4); /* keys are lower-case */
    assert_int_equal(store_rr_add(f->st, f->zone, &r), GTM_ECONSTRAINT);
    int64_t id;
    assert_int_equal(store_zone_add(f->st, "example.com.", &id), GTM_EEXIST);
    assert_int_equal(store_zone_add(f->st, "Upper.", &id), GTM_ECONSTRAINT);
}

struct collected {
    int n;
    char owners[8][64];
    uint32_t ttls[8];
};

static int collect(void *arg, const struct store_rr *r)
{
    struct collected *c = arg;
    if (c->n < 8) {
        snprintf(c->owners[c->n], 64, "%s", r->owner);
        c->ttls[c->n] = r->ttl_s;
    }
    c->n++;
    return 0;
}

static void test_records(void **state)
{
    struct fixture *f = *state;
    const uint8_t b_wire[] = {192, 0, 2, 2};
    struct store_rr a = rr("www.example.com.", 1, 300, "192.0.2.1", a_wire, 4);
    struct store_rr b = rr("www.example.com.", 1, 300, "192.0.2.2", b_wire, 4);
    struct collected c = {0};
    int removed = -1;
    assert_int_equal(store_rr_add(f->st, f->zone, &a), 0);
    assert_int_equal(store_rr_add(f->st, f->zone, &b), 0);
    assert_int_equal(store_rrset_ttl_set(f->st, f->zone, "www.example.com.", 1, 60), 0);
    assert_int_equal(store_rr_foreach(f->st, f->zone, "www.example.com.", collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ttls[0], 60);
    assert_int_equal(c.ttls[1], 60);
    assert_int_equal(store_rr_rm(f->st, f->zone, "www.example.com.", 1, b_wire, 4, &removed), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(store_rr_rm(f->st, f->zone, "www.example.com.", 1, b_wire, 4, &removed), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(store_rr_rm(f->st, f->zone, "www.example.com.", 1, NULL, 0, &removed), 0);
    assert_int_equal(removed, 1);
    /* removing a zone removes its records */
    assert_int_equal(store_rr_add(f->st, f->zone, &a), 0);
    assert_int_equal(store_zone_rm(f->st, f->zone), 0);
    c.n = 0;
    assert_int_equal(store_rr_foreach(f->st, f->zone, NULL, collect, &c), 0);
    assert_int_equal(c.n, 0);
    int64_t id;
    assert_int_equal(store_zone_find(f->st, "example.com.", &id), GTM_ENOTFOUND);
}

static void test_serial(void **state)
{
    struct fixture *f = *state;
    uint32_t s = 0;
    const time_t now = 1795521600; /* 2026-11-24 */
    assert_int_equal(store_zone_serial_get(f->st, f->zone, &s), 0);
    assert_int_equal(s, 7);
    assert_int_equal(store_zone_serial_bump(f->st, f->zone, 7, now, &s), 0);
    assert_int_equal(s, 2026112400u);
    assert_int_equal(store_zone_serial_bump(f->st, f->zone, s, now, &s), 0);
    assert_int_equal(store_zone_serial_bump(f->st, f->zone, 2026112401u, now, &s), 0);
    assert_int_equal(s, 2026112402u);
    /* the text form follows the wire form */
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(f->st->db, "SELECT rdata FROM records WHERE type = 6", -1, &stmt, NULL),
        0);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal(sqlite3_column_text(stmt, 0),
                        "ns1.example.com. host.example.com. 2026112402 3600 900 1209600 300");
    sqlite3_finalize(stmt);
    /* a change that set a greater serial itself keeps it */
    assert_int_equal(store_zone_serial_set(f->st, f->zone, 2099010100u), 0);
    assert_int_equal(store_zone_serial_bump(f->st, f->zone, 2026112402u, now, &s), 0);
    assert_int_equal(s, 2099010100u);
}

struct audit_seen {
    int n;
    char commands[4][64];
};

static int audit_collect(void *arg, const struct store_audit *a)
{
    struct audit_seen *s = arg;
    if (s->n < 4)
        snprintf(s->commands[s->n], 64, "%s", a->command);
    s->n++;
    return 0;
}

static void test_audit(void **state)
{
    struct fixture *f = *state;
    struct store_audit a = {.ts = 1, .user = "alice", .zone = "example.com.", .command = "one"};
    struct audit_seen seen = {0};
    assert_int_equal(store_audit_add(f->st, &a), 0);
    a.command = "two";
    a.zone = NULL;
    assert_int_equal(store_audit_add(f->st, &a), 0);
    a.command = "three";
    a.zone = "example.com.";
    assert_int_equal(store_audit_add(f->st, &a), 0);
    assert_int_equal(store_audit_foreach(f->st, NULL, 0, audit_collect, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.commands[0], "three"); /* newest first */
    assert_string_equal(seen.commands[2], "one");
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_audit_foreach(f->st, "example.com.", 1, audit_collect, &seen), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.commands[0], "three");
}

/* A second writer waits for the lock, then gets GTM_EBUSY; a reader sees changes by
 * data_version and the transaction rolls back cleanly. */
static void test_busy_and_data_version(void **state)
{
    struct fixture *f = *state;
    struct store *other = NULL, *reader = NULL;
    int64_t v1 = 0, v2 = 0, id;
    assert_int_equal(store_open(f->path, STORE_WRITE, 0, &other, NULL, 0), 0);
    assert_int_equal(store_open(f->path, STORE_READ, 0, &reader, NULL, 0), 0);
    store_busy_timeout_set(other, 50);
    assert_int_equal(store_data_version(reader, &v1), 0);
    assert_int_equal(store_tx_begin(f->st), 0);
    assert_int_equal(store_zone_add(f->st, "busy.", &id), 0);
    assert_int_equal(store_tx_begin(other), GTM_EBUSY);
    assert_non_null(strstr(store_errmsg(other), "busy"));
    /* readers are not blocked by the writer (WAL) and do not see uncommitted data */
    assert_int_equal(store_zone_find(reader, "busy.", &id), GTM_ENOTFOUND);
    assert_int_equal(store_tx_end(f->st, true), 0);
    assert_int_equal(store_data_version(reader, &v2), 0);
    assert_true(v1 != v2);
    assert_int_equal(store_zone_find(reader, "busy.", &id), 0);
    /* a rolled back change leaves nothing */
    assert_int_equal(store_tx_begin(other), 0);
    assert_int_equal(store_zone_add(other, "gone.", &id), 0);
    assert_int_equal(store_tx_end(other, false), 0);
    assert_int_equal(store_zone_find(f->st, "gone.", &id), GTM_ENOTFOUND);
    assert_int_equal(store_tx_end(other, false), 0); /* no transaction: nothing to do */
    store_close(other);
    store_close(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
        cmocka_unit_test(test_migrations_in_order),
        cmocka_unit_test_setup_teardown(test_constraints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_and_data_version, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
