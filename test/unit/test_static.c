/* Static files (engineio/eio_static.c): which request paths may reach the disk, If-None-Match, Accept-Encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "engineio/eio_private.h"

/* The path must decode to `want` (NULL: refused). */
static void rel_at(const char *in, const char *want, int line)
{
    char out[256];
    int rc = eio__static_relative(in, out, sizeof(out));
    if (!want) {
        if (rc == 0)
            fail_msg("line %d: %s was accepted as \"%s\", expected a refusal", line, in, out);
        return;
    }
    if (rc != 0)
        fail_msg("line %d: %s was refused, expected \"%s\"", line, in, want);
    if (strcmp(out, want) != 0)
        fail_msg("line %d: %s decoded as \"%s\", expected \"%s\"", line, in, out, want);
}
#define REL(in, want) rel_at(in, want, __LINE__)

static void test_paths_served(void **state)
{
    (void)state;
    REL("/", "");
    REL("/index.html", "index.html");
    REL("/a/b.css", "a/b.css");
    REL("/a/", "a/");
    REL("//a//b", "a/b");              /* empty segments collapse: "//etc/passwd" stays below the root */
    REL("//etc/passwd", "etc/passwd");
    REL("/a%20b.html", "a b.html");
    REL("/%E2%82%AC.txt", "\xE2\x82\xAC.txt");
    REL("/stock.html?symbol=x", "stock.html");
    REL("/a.b..c", "a.b..c");          /* dots inside a name are fine */
}

static void test_paths_refused(void **state)
{
    (void)state;
    REL("/../etc/passwd", NULL);
    REL("/a/../../etc/passwd", NULL);
    REL("/a/..", NULL);
    REL("/%2e%2e/etc/passwd", NULL);
    REL("/%2E%2e%2fetc%2fpasswd", NULL);
    REL("/a%2f..%2f..%2fx", NULL);
    REL("/.git/config", NULL);         /* dot files */
    REL("/./index.html", NULL);
    REL("/..%5c..%5cwin.ini", NULL);   /* backslash */
    REL("/a\\b", NULL);
    REL("/a%00.html", NULL);           /* NUL */
    REL("/a%zz", NULL);                /* bad escapes */
    REL("/a%4", NULL);
    REL("/a%", NULL);
    REL("etc/passwd", NULL);           /* not a path from the root */
    REL("", NULL);
    char long_path[600];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = 0;
    REL(long_path, NULL);              /* longer than the output */
}

static void test_if_none_match(void **state)
{
    (void)state;
    assert_true(eio__static_etag_matches("\"4.8.4\"", "\"4.8.4\""));
    assert_true(eio__static_etag_matches("W/\"4.8.4\"", "\"4.8.4\""));
    assert_true(eio__static_etag_matches("\"x\", W/\"4.8.4\"", "\"4.8.4\""));
    assert_true(eio__static_etag_matches("\"c-1\"", "W/\"c-1\""));
    assert_true(eio__static_etag_matches("*", "\"a\""));
    assert_false(eio__static_etag_matches(NULL, "\"a\""));
    assert_false(eio__static_etag_matches("\"4.8.3\"", "\"4.8.4\""));
    assert_false(eio__static_etag_matches("\"4.8.4", "\"4.8.4\""));
    assert_false(eio__static_etag_matches("", "\"a\""));
}

static void test_accept_encoding(void **state)
{
    (void)state;
    assert_true(eio__static_accepts_gzip("gzip"));
    assert_true(eio__static_accepts_gzip("gzip, deflate, br"));
    assert_true(eio__static_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(eio__static_accepts_gzip("*"));
    assert_false(eio__static_accepts_gzip(NULL));
    assert_false(eio__static_accepts_gzip("identity"));
    assert_false(eio__static_accepts_gzip("gzip;q=0"));
    assert_false(eio__static_accepts_gzip("x-gzip2, br"));
    assert_false(eio__static_accepts_gzip("deflate, gzipper"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths_served),
        cmocka_unit_test(test_paths_refused),
        cmocka_unit_test(test_if_none_match),
        cmocka_unit_test(test_accept_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
