/* tests/unit/test_zonefile.c — the master file reader: directives, $INCLUDE, entry
 * splitting (parentheses, quotes, comments, escapes) and errors naming file:line. */
#include "config.h"

#include "admin/zonefile.h"
#include "common/err.h"
#include <sys/stat.h>

#include "unit.h"

struct seen {
    int n;
    char lines[32][256];
    int at[32];
    char warnings[1024]; /* one a line */
};

static int collect(void *arg, const ldns_rr *lr, const char *file, int line, char *err,
                   size_t errlen)
{
    (void)file, (void)err, (void)errlen;
    struct seen *s = arg;
    char *text = ldns_rr2str(lr);
    if (s->n < 32) {
        snprintf(s->lines[s->n], sizeof s->lines[0], "%s", text);
        s->lines[s->n][strcspn(s->lines[s->n], "\n")] = '\0';
        s->at[s->n] = line;
    }
    s->n++;
    free(text);
    return 0;
}

static void add_warning(void *arg, const char *msg)
{
    struct seen *s = arg;
    size_t len = strlen(s->warnings);
    snprintf(s->warnings + len, sizeof s->warnings - len, "%s\n", msg);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    return n;
}

static int read_path(const char *path, struct seen *s, char *err, size_t errlen)
{
    const struct zonefile_ops ops = {.rr = collect, .warn = add_warning, .arg = s};
    memset(s, 0, sizeof *s);
    return zonefile_read(path, "example.com.", &ops, err, errlen);
}

static int read_text(const char *text, struct seen *s, char *err, size_t errlen)
{
    char *dir = unit_tmpdir();
    char *path = unit_write_file(dir, "z.zone", text);
    int rc = read_path(path, s, err, errlen);
    free(path);
    unit_tmpdir_rm(dir);
    return rc;
}

static void test_directives_and_entries(void **state)
{
    (void)state;
    struct seen s;
    char err[512] = "";
    assert_int_equal(read_text("$TTL 1h\n"
                               "@ IN SOA ns1 host ( 1 ; serial\n"
                               "   2 3 ; comment with ( paren\n"
                               "   4 5 )\n"
                               "  IN NS ns1 ; blank owner: previous owner\n"
                               "www 60 IN TXT \"semi;colon\" \"paren(\" \"quo\\\"te\"\n"
                               "$ORIGIN sub\n"
                               "host A 192.0.2.1\n"
                               "$ORIGIN example.org.\n"
                               "abs.example.com. A 192.0.2.2\n"
                               "rel AAAA ::1\n",
                               &s, err, sizeof err),
                     0);
    assert_int_equal(s.n, 6);
    assert_string_equal(
        s.lines[0], "example.com.\t3600\tIN\tSOA\tns1.example.com. host.example.com. 1 2 3 4 5");
    assert_string_equal(s.lines[1], "example.com.\t3600\tIN\tNS\tns1.example.com.");
    assert_string_equal(s.lines[2],
                        "www.example.com.\t60\tIN\tTXT\t\"semi;colon\" \"paren(\" \"quo\\\"te\"");
    assert_string_equal(s.lines[3], "host.sub.example.com.\t3600\tIN\tA\t192.0.2.1");
    assert_string_equal(s.lines[4], "abs.example.com.\t3600\tIN\tA\t192.0.2.2");
    assert_string_equal(s.lines[5], "rel.example.org.\t3600\tIN\tAAAA\t::1");
    assert_int_equal(s.at[0], 2);
    assert_int_equal(s.at[1], 5);
    assert_int_equal(s.at[3], 8);
}

/* RFC 1035 §5.1: without $TTL a record with no TTL takes the last one given. */
static void test_ttl_without_directive(void **state)
{
    (void)state;
    struct seen s;
    char err[512] = "";
    assert_int_equal(read_text("first IN A 192.0.2.1\n"
                               "a 60 IN A 192.0.2.2\n"
                               "b IN A 192.0.2.3\n"
                               "  120 IN AAAA ::1\n"
                               "c A 192.0.2.4\n"
                               "$TTL 0\n"
                               "d A 192.0.2.5\n",
                               &s, err, sizeof err),
                     0);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.lines[0], "first.example.com.\t3600\tIN\tA\t192.0.2.1");
    assert_string_equal(s.lines[2], "b.example.com.\t60\tIN\tA\t192.0.2.3");
    assert_string_equal(s.lines[3], "b.example.com.\t120\tIN\tAAAA\t::1");
    assert_string_equal(s.lines[4], "c.example.com.\t120\tIN\tA\t192.0.2.4");
    assert_string_equal(s.lines[5], "d.example.com.\t0\tIN\tA\t192.0.2.5");
    /* one warning, for the first record */
    assert_non_null(
        strstr(s.warnings, "z.zone:1: no TTL, and no $TTL or TTL before: using 3600\n"));
    assert_int_equal(count_lines(s.warnings), 1);
}

/* BIND: an SOA record with no TTL to take gets its MINIMUM, and so do the records after
 * it that give none. */
static void test_ttl_from_soa(void **state)
{
    (void)state;
    struct seen s;
    char err[512] = "";
    assert_int_equal(read_text("@ IN SOA ns1 host 1 2 3 4 600\n"
                               "  IN NS ns1\n"
                               "a 60 A 192.0.2.1\n",
                               &s, err, sizeof err),
                     0);
    assert_int_equal(s.n, 3);
    assert_string_equal(
        s.lines[0], "example.com.\t600\tIN\tSOA\tns1.example.com. host.example.com. 1 2 3 4 600");
    assert_string_equal(s.lines[1], "example.com.\t600\tIN\tNS\tns1.example.com.");
    assert_string_equal(s.lines[2], "a.example.com.\t60\tIN\tA\t192.0.2.1");
    assert_non_null(strstr(s.warnings, "z.zone:1: no TTL, and no $TTL before: the SOA record"));
    assert_non_null(strstr(s.warnings, "MINIMUM, 600"));
}

/* What only an export's comments say is counted, in one warning per kind naming the first
 * record: only comments count (not quoted text), and only records that were read. */
static void test_provider_comments(void **state)
{
    (void)state;
    struct seen s;
    char err[512] = "";
    assert_int_equal(read_text("a 1 IN A 192.0.2.1 ; cf_tags=cf-proxied:false\n"
                               "b 1 IN TXT \"; cf-proxied:true\"\n"
                               "c 1 IN MX ( 10 ; cf_tags=cf-proxied:true\n"
                               "  mail )\n"
                               "d 1 IN A 192.0.2.2 ; cf_tags=cf-proxied:true,env:prod\n"
                               "e 60 IN A 192.0.2.3 ; AWS routing=\"WEIGHTED\" weight=70\n",
                               &s, err, sizeof err),
                     0);
    assert_int_equal(s.n, 5);
    assert_non_null(strstr(s.warnings, "z.zone:3: Cloudflare's cf-proxied:true on 2 records: "));
    assert_non_null(strstr(s.warnings, "z.zone:6: a Route 53 routing policy (cli53's 'AWS "
                                       "routing=') on 1 record: "));
    assert_int_equal(count_lines(s.warnings), 2);

    assert_int_not_equal(read_text("a 1 IN A 192.0.2.1 ; cf_tags=cf-proxied:true\n"
                                   "b 1 IN A 192.0.2 ; cf_tags=cf-proxied:true\n",
                                   &s, err, sizeof err),
                         0);
    assert_non_null(strstr(s.warnings, "z.zone:1: Cloudflare's cf-proxied:true on 1 record: "));
}

static void test_include(void **state)
{
    (void)state;
    struct seen s = {0};
    char err[512] = "";
    char *dir = unit_tmpdir();
    char *sub = malloc(512);
    snprintf(sub, 512, "%s/d", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    free(unit_write_file(sub, "inc.zone", "$ORIGIN inner.example.com.\na A 192.0.2.1\n"));
    free(unit_write_file(sub, "loop.zone", "$INCLUDE loop.zone\n"));
    char *main_path = unit_write_file(dir, "main.zone",
                                      "$INCLUDE d/inc.zone\n"
                                      "b A 192.0.2.2\n"
                                      "$INCLUDE d/inc.zone lab.example.com.\n");
    assert_int_equal(read_path(main_path, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.lines[0], "a.inner.example.com.\t3600\tIN\tA\t192.0.2.1");
    /* the included file's $ORIGIN does not leak back (RFC 1035 §5.1) */
    assert_string_equal(s.lines[1], "b.example.com.\t3600\tIN\tA\t192.0.2.2");
    assert_string_equal(s.lines[2], "a.inner.example.com.\t3600\tIN\tA\t192.0.2.1");

    char *loop = unit_write_file(dir, "loop-main.zone", "$INCLUDE d/loop.zone\n");
    assert_int_equal(read_path(loop, &s, err, sizeof err), GTM_EPARSE);
    assert_non_null(strstr(err, "nested deeper"));
    char *missing = unit_write_file(dir, "missing.zone", "\n\n$INCLUDE nothere.zone\n");
    assert_true(read_path(missing, &s, err, sizeof err) < 0);
    assert_non_null(strstr(err, "missing.zone:3: $INCLUDE"));
    assert_non_null(strstr(err, "No such file"));
    free(loop);
    free(missing);
    free(main_path);
    free(sub);
    unit_tmpdir_rm(dir);
}

static void expect_error(const char *text, const char *where, const char *what)
{
    struct seen s;
    char err[512] = "";
    assert_int_not_equal(read_text(text, &s, err, sizeof err), 0);
    if (!strstr(err, where) || !strstr(err, what))
        fail_msg("error '%s' lacks '%s' or '%s'", err, where, what);
}

static void test_generate(void **state)
{
    (void)state;
    struct seen s;
    char err[512] = "";
    assert_int_equal(read_text("$GENERATE 1-5/2 h${0,2,x} 60 IN A 192.0.2.${10}\n"
                               "$GENERATE 255-255 ${0,3,n}.r PTR h\\$$\n",
                               &s, err, sizeof err),
                     0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.lines[0], "h01.example.com.\t60\tIN\tA\t192.0.2.11");
    assert_string_equal(s.lines[1], "h03.example.com.\t60\tIN\tA\t192.0.2.13");
    assert_string_equal(s.lines[2], "h05.example.com.\t60\tIN\tA\t192.0.2.15");
    assert_string_equal(s.lines[3], "f.f.r.example.com.\t60\tIN\tPTR\th$255.example.com.");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("a A 192.0.2.1\nb A 192.0.2\n", "z.zone:2:", "rdata");
    expect_error("a A 192.0.2.1\n\nb TXT \"open\n\n", "z.zone:3:", "unterminated quoted");
    expect_error("a A 192.0.2.1\nb SOA ( a b 1 2 3 4 5\n", "z.zone:2:", "'(' without ')'");
    expect_error("a A 192.0.2.1 )\n", "z.zone:1:", "')' without '('");
    expect_error("$TTL forever\n", "z.zone:1:", "$TTL");
    expect_error("$TTL 1h\nb 1e3 A 192.0.2.1\n", "z.zone:2:", "'1e3' is not a TTL");
    expect_error("b IN 4294967296 A 192.0.2.1\n", "z.zone:1:", "'4294967296' is not a TTL");
    expect_error("$FOO bar\n", "z.zone:1:", "unknown directive");
    expect_error("$GENERATE 10-1 h$ A 192.0.2.$\n", "z.zone:1:", "not a range");
    expect_error("\n$GENERATE 1-2 h${1,2,q} A 192.0.2.$\n", "z.zone:2:", "a base other than");
    expect_error("$GENERATE 255-256 h$ A 192.0.2.$\n", "z.zone:1:", "h256 A 192.0.2.256");
    expect_error("; comment\n$ORIGIN a..b.\n", "z.zone:2:", "$ORIGIN");
    expect_error("x NOTATYPE 1\n", "z.zone:1:", "");
    char txt[400];
    snprintf(txt, sizeof txt, "dkim TXT \"v=DKIM1; p=%0280d\"\n", 0);
    expect_error(txt, "z.zone:1:", "a string holds at most 255 bytes");
    /* a short escape just before the closing quote: the scan for long strings stops there */
    expect_error("x A \"\\1\"\n", "z.zone:1:", "rdata");
}

/* A bad record does not stop the read: every error is listed, up to a limit. */
static void test_several_errors(void **state)
{
    (void)state;
    struct seen s;
    char err[4096] = "", text[2048] = "";
    assert_int_equal(read_text("a A 192.0.2.1\n"
                               "b A 192.0.2\n"
                               "c A 192.0.2.3\n"
                               "d ALIAS lb.example.net.\n"
                               "$GENERATE 1-2 h${1,2,q} A 192.0.2.$\n"
                               "e A 192.0.2.5\n",
                               &s, err, sizeof err),
                     GTM_EPARSE);
    assert_int_equal(s.n, 3);              /* a, c and e */
    assert_int_equal(count_lines(err), 2); /* three errors, one a line */
    assert_non_null(strstr(err, "z.zone:2: "));
    assert_non_null(strstr(err, "z.zone:4: "));
    assert_non_null(strstr(err, "ALIAS (ANAME)"));
    assert_non_null(strstr(err, "z.zone:5: $GENERATE: a base other than"));
    assert_null(strstr(err, "z.zone:6"));

    for (int i = 0; i < ZONEFILE_MAX_ERRORS + 5; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "h%d A 192.0.2\n", i);
    assert_int_equal(read_text(text, &s, err, sizeof err), GTM_EPARSE);
    assert_int_equal(count_lines(err), ZONEFILE_MAX_ERRORS);
    assert_non_null(strstr(err, "z.zone:20: stopped after 20 errors"));
    assert_null(strstr(err, "z.zone:21"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directives_and_entries),
        cmocka_unit_test(test_ttl_without_directive),
        cmocka_unit_test(test_ttl_from_soa),
        cmocka_unit_test(test_provider_comments),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_several_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
