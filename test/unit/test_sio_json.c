/* JSON in and out as JavaScript sees it (socketio/sio_json.c): the cases where cJSON's own code differs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_json.h"

/* Parses `in` and prints it back: the result must be `want` (NULL: the parse must fail). */
static void roundtrip_at(const char *in, size_t len, const char *want, int line)
{
    cJSON *v = sio_json_parse(in, len);
    if (!want) {
        if (v)
            fail_msg("line %d: %s parsed, expected a failure", line, in);
        return;
    }
    if (!v)
        fail_msg("line %d: %s did not parse", line, in);
    char *out = sio_json_print(v, NULL);
    if (!out || strcmp(out, want) != 0)
        fail_msg("line %d: %s printed as %s, expected %s", line, in, out ? out : "(null)", want);
    free(out);
    cJSON_Delete(v);
}
#define RT(in, want) roundtrip_at(in, strlen(in), want, __LINE__)

static void test_numbers_keep_their_value(void **state)
{
    (void)state;
    RT("9007199254740991", "9007199254740991");
    RT("-9007199254740991", "-9007199254740991");
    RT("0.30000000000000004", "0.30000000000000004");
    RT("0.1", "0.1");
    RT("1.7976931348623157e308", "1.7976931348623157e+308");
    RT("5e-324", "5e-324");
    RT("123456.789", "123456.789");
    /* As JavaScript writes them (JSON.stringify in node 20 gave each right-hand side). */
    RT("1e-7", "1e-7");
    RT("18446744073709551616", "18446744073709552000"); /* 2^64: plain up to 1e21 */
    RT("1.5e20", "150000000000000000000");
    RT("1e21", "1e+21");
    RT("0.000001", "0.000001");
    RT("1.2345e-7", "1.2345e-7");
    RT("-0.5", "-0.5");
    RT("123.456", "123.456");
    RT("9007199254740993", "9007199254740992");
    RT("1e300", "1e+300");
    RT("100.5", "100.5");
    RT("-1.5e-10", "-1.5e-10");
    RT("4.35", "4.35");
    RT("-0", "0");
    RT("1e400", "null"); /* Infinity, which JSON.stringify writes null */
    RT("[1,-2,3.5,1e21]", "[1,-2,3.5,1e+21]");
    RT("01", NULL);
    RT("1.", NULL);
    RT("-", NULL);
    RT("+1", NULL);
    RT(".5", NULL);
    RT("1e", NULL);
}

static void test_strings_javascript_can_hold(void **state)
{
    (void)state;
    RT("\"a\\u0000b\"", "\"a\\u0000b\"");           /* NUL survives */
    RT("\"\\ud800\"", "\"\\ud800\"");               /* a lone high surrogate */
    RT("\"x\\udc00y\"", "\"x\\udc00y\"");           /* a lone low surrogate */
    RT("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""); /* a pair becomes UTF-8 */
    RT("\"\\ud83d\\u0041\"", "\"\\ud83dA\"");       /* a high surrogate followed by no low one */
    RT("\"\\u2028\\u2029\"", "\"\xe2\x80\xa8\xe2\x80\xa9\"");
    RT("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\"", "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\"");
    RT("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    RT("\"raw\ttab\"", NULL);  /* raw control characters are not JSON */
    RT("\"\\x41\"", NULL);
    RT("\"\\u12\"", NULL);
    RT("\"open", NULL);
    RT("\"ends with backslash\\", NULL);
}

static void test_structure(void **state)
{
    (void)state;
    RT(" { \"a\" : [ 1 , true , false , null , { } , [ ] ] } ", "{\"a\":[1,true,false,null,{},[]]}");
    RT("{\"k\":1,\"k\":2}", "{\"k\":2}"); /* the last duplicate wins */
    RT("[1,]", NULL);
    RT("[1 2]", NULL);
    RT("{\"a\"}", NULL);
    RT("{\"a\":1,}", NULL);
    RT("{a:1}", NULL);
    RT("[1] x", NULL);
    RT("", NULL);
    RT("   ", NULL);
    RT("tru", NULL);
    RT("nul", NULL);
}

static void test_depth_limit(void **state)
{
    (void)state;
    for (int depth = SIO_JSON_MAX_DEPTH; depth <= SIO_JSON_MAX_DEPTH + 1; depth++) {
        size_t n = (size_t)depth * 2;
        char *s = malloc(n + 1);
        memset(s, '[', (size_t)depth);
        memset(s + depth, ']', (size_t)depth);
        s[n] = '\0';
        cJSON *v = sio_json_parse(s, n);
        if (depth <= SIO_JSON_MAX_DEPTH)
            assert_non_null(v);
        else
            assert_null(v);
        cJSON_Delete(v);
        free(s);
    }
}

static void test_input_is_not_read_past_its_length(void **state)
{
    (void)state;
    /* "[1]" followed by bytes that are not part of the input */
    const char buf[] = "[1]]]]";
    cJSON *v = sio_json_parse(buf, 3);
    assert_non_null(v);
    cJSON_Delete(v);
    assert_null(sio_json_parse(buf, 2));
    assert_null(sio_json_parse("\"abc\"", 4));
    assert_null(sio_json_parse("123", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_keep_their_value),
        cmocka_unit_test(test_strings_javascript_can_hold),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_input_is_not_read_past_its_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
