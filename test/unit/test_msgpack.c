/*
 * The msgpack codec (rooms/sio_msgpack.h) against Node's notepack.io 3.0.1, the parser of
 * @socket.io/redis-adapter 8.x and @socket.io/redis-emitter 5.x.
 *
 * The two tables below were made with node 20 from this checkout's node_modules, by a script that, for each
 * value v, printed notepack's bytes and what socket.io-parser's deconstructPacket turns v into (the JSON with
 * placeholders, and the attachments in their order):
 *
 *   const m = require("./node_modules/notepack.io");
 *   const { deconstructPacket } = require("./node_modules/socket.io-parser/build/cjs/binary.js");
 *   const { packet, buffers } = deconstructPacket({ type: 2, nsp: "/", data: [v] });
 *   // encode_cases: v written in JavaScript, row = JSON.stringify(packet.data[0]), buffers, m.encode(v)
 *   // decode_cases: v = m.decode(Buffer.from(hex, "hex")), row = hex, JSON.stringify(packet.data[0]), buffers
 *
 * so a decode row's JSON is what a Node server receiving those bytes would send on to its clients.
 */
#include "unit.h"

#include <math.h>

#include "rooms/sio_msgpack.h"
#include "socketio/sio_json.h"
#include "socketio/sio_parser.h" /* sio_placeholder_new, sio_placeholder_index */
#include "test/common/json_same.h"

#define MAX_ROW_ATTS 4

typedef struct enc_case {
    const char *json; /* the value, binaries as placeholders */
    size_t natts;
    const char *atts[MAX_ROW_ATTS]; /* hex */
    const char *hex;                /* notepack.encode(value) */
} enc_case;

typedef struct dec_case {
    const char *hex;  /* the input */
    const char *json; /* JSON.stringify of notepack.decode(input), binaries as placeholders */
    size_t natts;
    const char *atts[MAX_ROW_ATTS];
} dec_case;

/* Values written by notepack.encode. The first is the adapter's broadcast envelope
 * ["abcdef", {type:2, data:["event", 1, "x", Buffer.from([1,2,3]), {a:[true,null,1.5]}], nsp:"/"},
 *  {rooms:["r1"], except:[], flags:{}}], the second a request
 * {uid, requestId, type:7 (BROADCAST), packet:{..., data:["ev", Buffer.from("hi"), {n:-200}], id:12}, opts}. */
static const enc_case encode_cases[] = {
    {"[\"abcdef\",{\"type\":2,\"data\":[\"event\",1,\"x\",{\"_placeholder\":true,\"num\":0},{\"a\":[true,null,1.5]}],\"nsp\":\"/\"},{\"rooms\":[\"r1\"],\"except\":[],\"flags\":{}}]", 1, {"010203"}, "93a661626364656683a47479706502a46461746195a56576656e7401a178c40301020381a16193c3c0cb3ff8000000000000a36e7370a12f83a5726f6f6d7391a27231a665786365707490a5666c61677380"},
    {"{\"uid\":\"abcdef\",\"requestId\":\"q1w2e3\",\"type\":7,\"packet\":{\"type\":2,\"data\":[\"ev\",{\"_placeholder\":true,\"num\":0},{\"n\":-200}],\"nsp\":\"/chat\",\"id\":12},\"opts\":{\"rooms\":[\"r1\",\"r2\"],\"except\":[\"e\"],\"flags\":{\"timeout\":5000}}}", 1, {"6869"}, "85a3756964a6616263646566a9726571756573744964a6713177326533a47479706507a67061636b657484a47479706502a46461746193a26576c402686981a16ed1ff38a36e7370a52f63686174a269640ca46f70747383a5726f6f6d7392a27231a27232a665786365707491a165a5666c61677381a774696d656f7574cd1388"},
    {"[0,1,127,128,255,256,65535,65536,4294967295,4294967296,9007199254740991,1152921504606847000,9223372036854776000,18446744073709550000]", 0, {}, "9e00017fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf001fffffffffffffcf1000000000000000cf8000000000000000cffffffffffffff800"},
    {"[-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,-9007199254740991,-1152921504606847000,-9223372036854776000]", 0, {}, "9cffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000001d3f000000000000000d38000000000000000"},
    {"[1.5,-0.5,0.1,-1e-300,5e-324,0.30000000000000004,123456.789]", 0, {}, "97cb3ff8000000000000cbbfe0000000000000cb3fb999999999999acb81a56e1fc2f8f359cb0000000000000001cb3fd3333333333334cb40fe240c9fbe76c9"},
    {"[\"\",\"a\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"é€😀\",\"a\\u0000b\"]", 0, {}, "96a0a161bf78787878787878787878787878787878787878787878787878787878787878d9207878787878787878787878787878787878787878787878787878787878787878a9c3a9e282acf09f9880a3610062"},
    {"[true,false,null,[],{},[[[]]],{\"\":{\"é\":1}}]", 0, {}, "97c3c2c0908091919081a081a2c3a901"},
    {"[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]", 0, {}, "dc0010000102030405060708090a0b0c0d0e0f"},
    {"{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15}", 0, {}, "de0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f"},
    {"[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1},\"\\u0000\",{\"\\u0000\":{\"_placeholder\":true,\"num\":2}}]", 3, {"", "000102", "00"}, "94c400c403000102a10081a100c40100"},
    {"{\"a\":{\"_placeholder\":true,\"num\":0},\"b\":[{\"_placeholder\":true,\"num\":1},{\"c\":{\"_placeholder\":true,\"num\":2}}]}", 3, {"78", "79", "7a"}, "82a161c40178a16292c4017981a163c4017a"},
};

/* Bytes given to notepack.decode: Buffers (bin), ArrayBuffers (ext 0), undefined (d4 00 xx), Dates in all
 * three timestamp forms and the old fixext 8 form, the limits of the Date range, integers of every width,
 * float32, NaN and the infinities, other ext types, duplicate keys, "__proto__", and invalid UTF-8. */
static const dec_case decode_cases[] = {
    {"c403010203", "{\"_placeholder\":true,\"num\":0}", 1, {"010203"}},
    {"c400", "{\"_placeholder\":true,\"num\":0}", 1, {""}},
    {"93c401aa91c401bb81a16bc401cc", "[{\"_placeholder\":true,\"num\":0},[{\"_placeholder\":true,\"num\":1}],{\"k\":{\"_placeholder\":true,\"num\":2}}]", 3, {"aa", "bb", "cc"}},
    {"c70300010203", "{\"_placeholder\":true,\"num\":0}", 1, {"010203"}},
    {"c8000300040506", "{\"_placeholder\":true,\"num\":0}", 1, {"040506"}},
    {"c900000002000708", "{\"_placeholder\":true,\"num\":0}", 1, {"0708"}},
    {"c70000", "{\"_placeholder\":true,\"num\":0}", 1, {""}},
    {"92d4000001", "[null,1]", 0, {}},
    {"9301d4000702", "[1,null,2]", 0, {}},
    {"82a161d40000a16201", "{\"b\":1}", 0, {}},
    {"d40000", "null", 0, {}},
    {"d6ff6b0276d0", "\"2026-11-22T05:00:00.000Z\"", 0, {}},
    {"d7ff1d5353006b0276d0", "\"2026-11-22T05:00:00.123Z\"", 0, {}},
    {"c70cff1dcd6500ffffffffff2795e4", "\"1969-07-20T20:17:40.500Z\"", 0, {}},
    {"c70cff00000000000007dba8218000", "\"+275760-09-13T00:00:00.000Z\"", 0, {}},
    {"c70cff00000000fffff82457de8000", "\"-271821-04-20T00:00:00.000Z\"", 0, {}},
    {"c70cff000000000000003afff44180", "\"+010000-01-01T00:00:00.000Z\"", 0, {}},
    {"c70cff00000000fffffff184aa5080", "\"-000001-01-01T00:00:00.000Z\"", 0, {}},
    {"d700000001a20dbc9380", "\"2026-11-24T13:26:32.064Z\"", 0, {}},
    {"d700fffffff000000000", "\"1967-10-28T15:15:23.264Z\"", 0, {}},
    {"c70cff000000007fffffffffffffff", "null", 0, {}},
    {"d6ffffffffff", "\"2106-02-07T06:28:15.000Z\"", 0, {}},
    {"d7fffffffffcffffffff", "\"2106-02-07T06:28:16.073Z\"", 0, {}},
    {"c70cff3b9ac9ffffffffffffffffff", "\"1970-01-01T00:00:00.000Z\"", 0, {}},
    {"cf0020000000000001", "9007199254740992", 0, {}},
    {"cfffffffffffffffff", "18446744073709552000", 0, {}},
    {"cf7fffffffffffffff", "9223372036854776000", 0, {}},
    {"d38000000000000000", "-9223372036854776000", 0, {}},
    {"d3ffe0000000000001", "-9007199254740991", 0, {}},
    {"d0ff", "-1", 0, {}},
    {"d080", "-128", 0, {}},
    {"d18000", "-32768", 0, {}},
    {"d1ff7f", "-129", 0, {}},
    {"d280000000", "-2147483648", 0, {}},
    {"d2ffff7fff", "-32769", 0, {}},
    {"d3ffffffff7fffffff", "-2147483649", 0, {}},
    {"e0", "-32", 0, {}},
    {"ff", "-1", 0, {}},
    {"d005", "5", 0, {}},
    {"d10005", "5", 0, {}},
    {"ccff", "255", 0, {}},
    {"cdffff", "65535", 0, {}},
    {"ceffffffff", "4294967295", 0, {}},
    {"ca3fc00000", "1.5", 0, {}},
    {"ca3dcccccd", "0.10000000149011612", 0, {}},
    {"ca7f800000", "null", 0, {}},
    {"ca7fc00000", "null", 0, {}},
    {"cb7ff8000000000000", "null", 0, {}},
    {"cbfff0000000000000", "null", 0, {}},
    {"92cb7ff000000000000001", "[null,1]", 0, {}},
    {"81a161caff800000", "{\"a\":null}", 0, {}},
    {"d405aa", "[5,{\"_placeholder\":true,\"num\":0}]", 1, {"aa"}},
    {"d57f0102", "[127,{\"_placeholder\":true,\"num\":0}]", 1, {"0102"}},
    {"d60501020304", "[5,{\"_placeholder\":true,\"num\":0}]", 1, {"01020304"}},
    {"d7050102030405060708", "[5,{\"_placeholder\":true,\"num\":0}]", 1, {"0102030405060708"}},
    {"d880000102030405060708090a0b0c0d0e0f", "[-128,{\"_placeholder\":true,\"num\":0}]", 1, {"000102030405060708090a0b0c0d0e0f"}},
    {"d5000102", "[0,{\"_placeholder\":true,\"num\":0}]", 1, {"0102"}},
    {"d60001020304", "[0,{\"_placeholder\":true,\"num\":0}]", 1, {"01020304"}},
    {"d800000102030405060708090a0b0c0d0e0f", "[0,{\"_placeholder\":true,\"num\":0}]", 1, {"000102030405060708090a0b0c0d0e0f"}},
    {"d4ff01", "[-1,{\"_placeholder\":true,\"num\":0}]", 1, {"01"}},
    {"c8000cff000000000000000000000001", "[-1,{\"_placeholder\":true,\"num\":0}]", 1, {"000000000000000000000001"}},
    {"c702050102", "[5,{\"_placeholder\":true,\"num\":0}]", 1, {"0102"}},
    {"c70005", "[5,{\"_placeholder\":true,\"num\":0}]", 1, {""}},
    {"82a16101a16102", "{\"a\":2}", 0, {}},
    {"83a16101a16202a161d40000", "{\"b\":2}", 0, {}},
    {"83a161d40000a16202a16103", "{\"a\":3,\"b\":2}", 0, {}},
    {"82a95f5f70726f746f5f5f81a178c40101a179c40102", "{\"y\":{\"_placeholder\":true,\"num\":0}}", 1, {"02"}},
    {"82a161c40101a161c40102", "{\"a\":{\"_placeholder\":true,\"num\":0}}", 1, {"02"}},
    {"a3610062", "\"a\\u0000b\"", 0, {}},
    {"a461eda080", "\"a���\"", 0, {}},
    {"a5e080f09f98", "\"���\"", 0, {}},
    {"a3ffc080", "\"���\"", 0, {}},
    {"a4f09f9880", "\"😀\"", 0, {}},
    {"a4f0908041", "\"�A\"", 0, {}},
};

/* ---------------------------------------------------------------------------------------------------------- */

static uint8_t *from_hex(const char *hex, size_t *n)
{
    size_t len = strlen(hex);
    assert_true(len % 2 == 0);
    uint8_t *p = malloc(len / 2 ? len / 2 : 1);
    assert_non_null(p);
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        p[i] = (uint8_t)v;
    }
    *n = len / 2;
    return p;
}

static void expect_json_at(const cJSON *got, const char *want, const char *file, int line)
{
    cJSON *w = sio_json_parse(want, strlen(want));
    if (!w)
        fail_msg("%s:%d: the expected JSON %s does not parse", file, line, want);
    if (!th_json_same(got, w, 0)) {
        char *g = got ? sio_json_print(got, NULL) : NULL;
        print_error("%s:%d: decoded %s\n  expected %s\n", file, line, g ? g : "(NULL)", want);
        ut_print_where();
        free(g);
        cJSON_Delete(w);
        _fail(file, line);
    }
    cJSON_Delete(w);
}
#define EXPECT_JSON(got, want) expect_json_at(got, want, __FILE__, __LINE__)

/* atts->v[first..) are exactly the attachments given in hex. */
static void expect_atts(const sio_mp_atts *a, size_t first, const char *const *hexes, size_t n)
{
    UT_UEQ(a->n, first + n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        uint8_t *want = from_hex(hexes[i], &len);
        UT_BYTES_EQ(a->v[first + i].data, a->v[first + i].len, want, len);
        if (len == 0)
            UT_TRUE(a->v[first + i].data == NULL);
        free(want);
    }
}

/* Decodes from a heap copy of exactly len bytes, so that ASan catches a read past the end. */
static cJSON *decode_exact(const uint8_t *p, size_t len, sio_mp_atts *atts, size_t max_atts)
{
    uint8_t *copy = ut_dup(p, len);
    cJSON *v = sio_mp_decode(copy, len, atts, max_atts);
    free(copy);
    return v;
}

static cJSON *decode_hex(const char *hex, sio_mp_atts *atts, size_t max_atts)
{
    size_t n;
    uint8_t *p = from_hex(hex, &n);
    cJSON *v = decode_exact(p, n, atts, max_atts);
    free(p);
    return v;
}

/* Every strict prefix of p[0..n) is refused, and leaves the attachments as they were. */
static void expect_prefixes_refused(const uint8_t *p, size_t n)
{
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    cJSON *before = decode_hex("c401ee", &atts, 8); /* one attachment already there */
    assert_non_null(before);
    for (size_t k = 0; k < n; k++) {
        UT_WHERE("prefix of %zu of %zu bytes", k, n);
        cJSON *v = decode_exact(p, k, &atts, 1000);
        if (v) {
            char *s = sio_json_print(v, NULL);
            print_error("a prefix of %zu bytes decoded as %s\n", k, s ? s : "?");
            free(s);
        }
        UT_TRUE(v == NULL);
        UT_UEQ(atts.n, 1);
    }
    UT_WHERE("%s", "");
    cJSON_Delete(before);
    sio_mp_atts_cleanup(&atts);
}

static void expect_bytes_hex_at(const sio_mp_buf *b, const char *hex, const char *file, int line)
{
    size_t n;
    uint8_t *want = from_hex(hex, &n);
    ut_bytes_eq(b->data, b->len, want, n, "the encoding", file, line);
    free(want);
}
#define EXPECT_BYTES_HEX(b, hex) expect_bytes_hex_at(b, hex, __FILE__, __LINE__)

/* Encodes the JSON text (placeholders standing for bufs) with sio_mp_json into a fresh buffer. */
static void encode_json(sio_mp_buf *b, const char *json, const sio_attachment_ref *bufs, size_t nbufs)
{
    cJSON *v = sio_json_parse(json, strlen(json));
    assert_non_null(v);
    UT_EQ(sio_mp_json(b, v, bufs, nbufs), 0);
    cJSON_Delete(v);
}

/* ---------------------------------------------------------------------------------------------------------- */

static void test_encode_as_notepack(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(encode_cases) / sizeof(encode_cases[0]); i++) {
        const enc_case *c = &encode_cases[i];
        UT_WHERE("encode case %zu: %s", i, c->json);
        sio_attachment_ref bufs[MAX_ROW_ATTS];
        uint8_t *owned[MAX_ROW_ATTS];
        for (size_t k = 0; k < c->natts; k++) {
            owned[k] = from_hex(c->atts[k], &bufs[k].len);
            bufs[k].data = owned[k];
        }
        sio_mp_buf b = SIO_MP_BUF_INIT;
        encode_json(&b, c->json, bufs, c->natts);
        EXPECT_BYTES_HEX(&b, c->hex);

        /* and back */
        sio_mp_atts atts = SIO_MP_ATTS_INIT;
        cJSON *v = decode_exact(b.data, b.len, &atts, 16);
        assert_non_null(v);
        EXPECT_JSON(v, c->json);
        expect_atts(&atts, 0, c->atts, c->natts);
        cJSON_Delete(v);
        sio_mp_atts_cleanup(&atts);
        sio_mp_buf_cleanup(&b);
        for (size_t k = 0; k < c->natts; k++)
            free(owned[k]);
    }
}

/* The adapter's envelopes written item by item give notepack's bytes too (encode_cases[0] and [1]). */
static void test_envelopes_with_the_writers(void **state)
{
    (void)state;
    static const uint8_t bin[] = {1, 2, 3};
    sio_attachment_ref ref = {bin, sizeof(bin)};
    sio_mp_buf b = SIO_MP_BUF_INIT;
    const char *data = "[\"event\",1,\"x\",{\"_placeholder\":true,\"num\":0},{\"a\":[true,null,1.5]}]";
    cJSON *args = sio_json_parse(data, strlen(data));
    assert_non_null(args);
    UT_EQ(sio_mp_array(&b, 3), 0);
    UT_EQ(sio_mp_str(&b, "abcdef", 6), 0);
    UT_EQ(sio_mp_map(&b, 3), 0);
    UT_EQ(sio_mp_str(&b, "type", 4), 0);
    UT_EQ(sio_mp_int(&b, 2), 0);
    UT_EQ(sio_mp_str(&b, "data", 4), 0);
    UT_EQ(sio_mp_json(&b, args, &ref, 1), 0);
    UT_EQ(sio_mp_str(&b, "nsp", 3), 0);
    UT_EQ(sio_mp_str(&b, "/", 1), 0);
    UT_EQ(sio_mp_map(&b, 3), 0);
    UT_EQ(sio_mp_str(&b, "rooms", 5), 0);
    UT_EQ(sio_mp_array(&b, 1), 0);
    UT_EQ(sio_mp_str(&b, "r1", 2), 0);
    UT_EQ(sio_mp_str(&b, "except", 6), 0);
    UT_EQ(sio_mp_array(&b, 0), 0);
    UT_EQ(sio_mp_str(&b, "flags", 5), 0);
    UT_EQ(sio_mp_map(&b, 0), 0);
    EXPECT_BYTES_HEX(&b, encode_cases[0].hex);
    cJSON_Delete(args);
    sio_mp_buf_cleanup(&b);
    UT_TRUE(b.data == NULL && b.len == 0 && b.cap == 0);

    static const uint8_t hi[] = {'h', 'i'};
    ref.data = hi;
    ref.len = 2;
    UT_EQ(sio_mp_map(&b, 5), 0);
    UT_EQ(sio_mp_str(&b, "uid", 3), 0);
    UT_EQ(sio_mp_str(&b, "abcdef", 6), 0);
    UT_EQ(sio_mp_str(&b, "requestId", 9), 0);
    UT_EQ(sio_mp_str(&b, "q1w2e3", 6), 0);
    UT_EQ(sio_mp_str(&b, "type", 4), 0);
    UT_EQ(sio_mp_int(&b, 7), 0);
    UT_EQ(sio_mp_str(&b, "packet", 6), 0);
    UT_EQ(sio_mp_map(&b, 4), 0);
    UT_EQ(sio_mp_str(&b, "type", 4), 0);
    UT_EQ(sio_mp_int(&b, 2), 0);
    UT_EQ(sio_mp_str(&b, "data", 4), 0);
    UT_EQ(sio_mp_array(&b, 3), 0);
    UT_EQ(sio_mp_str(&b, "ev", 2), 0);
    UT_EQ(sio_mp_bin(&b, hi, 2), 0);
    UT_EQ(sio_mp_map(&b, 1), 0);
    UT_EQ(sio_mp_str(&b, "n", 1), 0);
    UT_EQ(sio_mp_int(&b, -200), 0);
    UT_EQ(sio_mp_str(&b, "nsp", 3), 0);
    UT_EQ(sio_mp_str(&b, "/chat", 5), 0);
    UT_EQ(sio_mp_str(&b, "id", 2), 0);
    UT_EQ(sio_mp_int(&b, 12), 0);
    UT_EQ(sio_mp_str(&b, "opts", 4), 0);
    const char *opts = "{\"rooms\":[\"r1\",\"r2\"],\"except\":[\"e\"],\"flags\":{\"timeout\":5000}}";
    encode_json(&b, opts, NULL, 0);
    EXPECT_BYTES_HEX(&b, encode_cases[1].hex);
    sio_mp_buf_cleanup(&b);

    /* Booleans and nil, and integers at the edges of int64. */
    UT_EQ(sio_mp_array(&b, 5), 0);
    UT_EQ(sio_mp_bool(&b, 1), 0);
    UT_EQ(sio_mp_bool(&b, 0), 0);
    UT_EQ(sio_mp_nil(&b), 0);
    UT_EQ(sio_mp_int(&b, INT64_MIN), 0);
    UT_EQ(sio_mp_int(&b, INT64_MAX), 0);
    EXPECT_BYTES_HEX(&b, "95c3c2c0d38000000000000000cf7fffffffffffffff");
    sio_mp_buf_cleanup(&b);
}

static void test_decode_as_notepack(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
        const dec_case *c = &decode_cases[i];
        UT_WHERE("decode case %zu: %s", i, c->hex);
        sio_mp_atts atts = SIO_MP_ATTS_INIT;
        cJSON *v = decode_hex(c->hex, &atts, 16);
        assert_non_null(v);
        EXPECT_JSON(v, c->json);
        expect_atts(&atts, 0, c->atts, c->natts);

        /* Each decoded value is written back in a form that decodes the same. */
        sio_mp_buf b = SIO_MP_BUF_INIT;
        UT_EQ(sio_mp_json(&b, v, atts.v, atts.n), 0);
        sio_mp_atts atts2 = SIO_MP_ATTS_INIT;
        cJSON *v2 = decode_exact(b.data, b.len, &atts2, 16);
        assert_non_null(v2);
        UT_TRUE(th_json_same(v, v2, 0));
        expect_atts(&atts2, 0, c->atts, c->natts);

        cJSON_Delete(v2);
        cJSON_Delete(v);
        sio_mp_atts_cleanup(&atts2);
        sio_mp_atts_cleanup(&atts);
        sio_mp_buf_cleanup(&b);
    }
}

/* Header forms at every size boundary, as notepack writes them:
 *   node -e 'const m=require("notepack.io"); console.log(m.encode("y".repeat(255)).subarray(0,3).toString("hex"))'
 * and the same for the others: str 31 bf, 32 d920, 255 d9ff, 256 da0100, 65535 daffff, 65536 db00010000;
 * bin 255 c4ff, 256 c50100, 65535 c5ffff, 65536 c600010000; array 15 9f, 16 dc0010, 65535 dcffff,
 * 65536 dd00010000; map 15 8f, 16 de0010, 65536 df00010000. Each decodes back, notepack's bytes being those. */
static void test_size_boundaries(void **state)
{
    (void)state;
    static const struct {
        char kind; /* s str, b bin, a array of zeros, m map of {"k<i>": 0} */
        size_t n;
        const char *head;
    } cases[] = {
        {'s', 31, "bf"},       {'s', 32, "d920"},       {'s', 255, "d9ff"},         {'s', 256, "da0100"},
        {'s', 65535, "daffff"}, {'s', 65536, "db00010000"}, {'b', 0, "c400"},        {'b', 255, "c4ff"},
        {'b', 256, "c50100"}, {'b', 65535, "c5ffff"},   {'b', 65536, "c600010000"}, {'a', 15, "9f"},
        {'a', 16, "dc0010"},  {'a', 65535, "dcffff"},   {'a', 65536, "dd00010000"}, {'m', 15, "8f"},
        {'m', 16, "de0010"},  {'m', 65536, "df00010000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = cases[i].n;
        UT_WHERE("%c of %zu", cases[i].kind, n);
        sio_mp_buf b = SIO_MP_BUF_INIT;
        uint8_t *bytes = ut_alloc(n);
        for (size_t k = 0; k < n; k++)
            bytes[k] = cases[i].kind == 's' ? 'y' : (uint8_t)k;
        size_t hl;
        uint8_t *head = from_hex(cases[i].head, &hl);
        cJSON *model = NULL;
        switch (cases[i].kind) {
        case 's':
            UT_EQ(sio_mp_str(&b, (const char *)bytes, n), 0);
            break;
        case 'b':
            UT_EQ(sio_mp_bin(&b, bytes, n), 0);
            break;
        case 'a':
            model = cJSON_CreateArray();
            for (size_t k = 0; k < n; k++)
                cJSON_AddItemToArray(model, cJSON_CreateNumber(0));
            UT_EQ(sio_mp_json(&b, model, NULL, 0), 0);
            break;
        default:
            model = cJSON_CreateObject();
            for (size_t k = 0; k < n; k++) {
                char key[32];
                snprintf(key, sizeof(key), "k%zu", k);
                cJSON_AddItemToObject(model, key, cJSON_CreateNumber(0));
            }
            UT_EQ(sio_mp_json(&b, model, NULL, 0), 0);
            break;
        }
        UT_BYTES_EQ(b.data, hl, head, hl);
        sio_mp_atts atts = SIO_MP_ATTS_INIT;
        cJSON *v = decode_exact(b.data, b.len, &atts, 1);
        assert_non_null(v);
        if (cases[i].kind == 's') {
            UT_TRUE(cJSON_IsString(v));
            UT_BYTES_EQ(v->valuestring, strlen(v->valuestring), bytes, n);
            UT_UEQ(b.len, hl + n);
        } else if (cases[i].kind == 'b') {
            UT_UEQ(sio_placeholder_index(v), 0);
            UT_UEQ(atts.n, 1);
            UT_BYTES_EQ(atts.v[0].data, atts.v[0].len, bytes, n);
            UT_UEQ(b.len, hl + n);
        } else {
            UT_TRUE(th_json_same(v, model, 0));
        }
        cJSON_Delete(v);
        cJSON_Delete(model);
        sio_mp_atts_cleanup(&atts);
        sio_mp_buf_cleanup(&b);
        free(bytes);
        free(head);
    }
}

/* Buffers as notepack writes them at 300 and 70000 bytes (bin 16 and bin 32), decoded. */
static void test_decode_large_buffers(void **state)
{
    (void)state;
    static const struct {
        size_t n;
        const char *head; /* m.encode(Buffer.alloc(n)).subarray(0, 5) */
    } cases[] = {{300, "c5012c"}, {70000, "c600011170"}};
    for (size_t i = 0; i < 2; i++) {
        size_t hl;
        uint8_t *head = from_hex(cases[i].head, &hl);
        size_t n = cases[i].n, len = 2 + hl + n;
        uint8_t *msg = ut_alloc(len);
        msg[0] = 0x92; /* [buffer, 7] */
        memcpy(msg + 1, head, hl);
        for (size_t k = 0; k < n; k++)
            msg[1 + hl + k] = (uint8_t)(k * 7);
        msg[len - 1] = 7;
        sio_mp_atts atts = SIO_MP_ATTS_INIT;
        cJSON *v = decode_exact(msg, len, &atts, 1);
        assert_non_null(v);
        EXPECT_JSON(v, "[{\"_placeholder\":true,\"num\":0},7]");
        UT_UEQ(atts.n, 1);
        UT_BYTES_EQ(atts.v[0].data, atts.v[0].len, msg + 1 + hl, n);
        cJSON_Delete(v);
        sio_mp_atts_cleanup(&atts);
        free(msg);
        free(head);
    }
}

/* Integer keys are their decimal text, as JavaScript's property names; anything else as a key is refused.
 * node: notepack.decode(Buffer.from("81cfffffffffffffffff01", "hex")) gives {"18446744073709552000": 1}. */
static void test_map_keys(void **state)
{
    (void)state;
    static const struct {
        const char *hex, *json;
    } ok[] = {
        {"81cfffffffffffffffff01", "{\"18446744073709552000\":1}"},
        {"81d3800000000000000001", "{\"-9223372036854776000\":1}"},
        {"81cf002000000000000101", "{\"9007199254740992\":1}"},
        {"81d3ffe0000000000000c3", "{\"-9007199254740992\":true}"},
        {"81ff01", "{\"-1\":1}"},
        {"81ce ffffffff 01", "{\"4294967295\":1}"},
        /* JavaScript lists integer-like keys first ({"1":"a","b":1} from notepack); the order is kept here. */
        {"82a162010 1a161", "{\"b\":1,\"1\":\"a\"}"},
        /* an integer key and a str key with the same text are one property */
        {"820101a13102", "{\"1\":2}"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char hex[64];
        size_t o = 0;
        for (const char *p = ok[i].hex; *p; p++)
            if (*p != ' ')
                hex[o++] = *p;
        hex[o] = '\0';
        UT_WHERE("%s", hex);
        cJSON *v = decode_hex(hex, NULL, 0);
        assert_non_null(v);
        EXPECT_JSON(v, ok[i].json);
        cJSON_Delete(v);
    }
    static const char *const bad[] = {
        "81c001", "81c201", "81c301", "81ca3f80000001", "81cb3ff000000000000001", "819001", "818001",
        "81c4016101", "81d6ff0000000001", "81d4000001",
    };
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        UT_WHERE("%s", bad[i]);
        UT_TRUE(decode_hex(bad[i], &atts, 4) == NULL);
        UT_UEQ(atts.n, 0);
    }
    sio_mp_atts_cleanup(&atts);
}

static uint8_t *nested(size_t depth, const char *open_hex, const char *inner_hex, size_t *len)
{
    size_t ol, il;
    uint8_t *open = from_hex(open_hex, &ol), *inner = from_hex(inner_hex, &il);
    *len = depth * ol + il;
    uint8_t *p = ut_alloc(*len);
    for (size_t i = 0; i < depth; i++)
        memcpy(p + i * ol, open, ol);
    memcpy(p + depth * ol, inner, il);
    free(open);
    free(inner);
    return p;
}

static size_t json_depth(const cJSON *j)
{
    size_t max = 0;
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j))
        return 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        size_t d = json_depth(c);
        if (d > max)
            max = d;
    }
    return max + 1;
}

static void test_depth_limit(void **state)
{
    (void)state;
    static const struct {
        const char *open, *inner;
        size_t extra;  /* containers in inner */
        size_t jextra; /* JSON depth beyond the msgpack depth */
    } forms[] = {
        {"91", "c0", 0, 0},       /* [[[...null]]] */
        {"81a161", "c0", 0, 0},   /* {"a":{"a":...null}} */
        {"91", "90", 1, 0},       /* innermost [] */
        {"81a161", "80", 1, 0},   /* innermost {} */
        {"92c0", "c4 01 05", 0, 1}, /* [null,[null,...bin]]: the bin is a placeholder object */
        {"91", "d4 05 aa", 1, 1},   /* innermost ext 5, [5, placeholder], counts as an array */
        {"91", "c8 0001 ff aa", 1, 1},
        {"91", "d7 ff 0000000000000000", 0, 0}, /* a Date is a string */
        {"91", "d4 00 00", 0, 0},               /* undefined */
        {"91", "c7 01 00 aa", 0, 1},            /* ArrayBuffer: a placeholder */
    };
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        char inner[32];
        size_t o = 0;
        for (const char *p = forms[f].inner; *p; p++)
            if (*p != ' ')
                inner[o++] = *p;
        inner[o] = '\0';
        for (size_t depth = SIO_MP_DECODE_MAX_DEPTH - 1; depth <= SIO_MP_DECODE_MAX_DEPTH + 1; depth++) {
            size_t total = depth + forms[f].extra, len;
            UT_WHERE("form %zu, depth %zu", f, total);
            uint8_t *msg = nested(depth, forms[f].open, inner, &len);
            sio_mp_atts atts = SIO_MP_ATTS_INIT;
            cJSON *v = decode_exact(msg, len, &atts, 1);
            if (total <= SIO_MP_DECODE_MAX_DEPTH) {
                assert_non_null(v);
                UT_UEQ(json_depth(v), total + forms[f].jextra);
            } else {
                UT_TRUE(v == NULL);
                UT_UEQ(atts.n, 0);
            }
            cJSON_Delete(v);
            sio_mp_atts_cleanup(&atts);
            free(msg);
        }
    }
}

static void test_attachment_limit_and_numbering(void **state)
{
    (void)state;
    const char *three = "93c401aa91c401bb81a16bc401cc"; /* [bin aa, [bin bb], {k: bin cc}] */
    static const char *const want[] = {"aa", "bb", "cc"};
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    UT_TRUE(decode_hex(three, &atts, 2) == NULL);
    UT_UEQ(atts.n, 0);
    UT_TRUE(decode_hex(three, &atts, 0) == NULL);
    UT_TRUE(decode_hex(three, NULL, 10) == NULL); /* binaries need somewhere to go */
    cJSON *v = decode_hex(three, &atts, 3);
    assert_non_null(v);
    expect_atts(&atts, 0, want, 3);
    cJSON_Delete(v);

    /* A second message continues the numbering; the limit counts only its own attachments. */
    v = decode_hex(three, &atts, 3);
    assert_non_null(v);
    EXPECT_JSON(v, "[{\"_placeholder\":true,\"num\":3},[{\"_placeholder\":true,\"num\":4}],"
                   "{\"k\":{\"_placeholder\":true,\"num\":5}}]");
    UT_UEQ(atts.n, 6);
    cJSON_Delete(v);
    /* A refused one leaves those there alone. */
    UT_TRUE(decode_hex(three, &atts, 2) == NULL);
    UT_UEQ(atts.n, 6);
    expect_atts(&atts, 3, want, 3);

    /* What a replaced duplicate key or "__proto__" held does not count. */
    sio_mp_atts_cleanup(&atts);
    UT_TRUE(atts.v == NULL && atts.n == 0 && atts.cap == 0);
    v = decode_hex("83a161c40101a95f5f70726f746f5f5fc40102a161c40103", &atts, 1);
    assert_non_null(v);
    EXPECT_JSON(v, "{\"a\":{\"_placeholder\":true,\"num\":0}}");
    static const char *const three_only[] = {"03"};
    expect_atts(&atts, 0, three_only, 1);
    cJSON_Delete(v);
    sio_mp_atts_cleanup(&atts);

    /* Without binaries, atts may be NULL; one dropped with its key does not count. */
    v = decode_hex("92c0a178", NULL, 0);
    assert_non_null(v);
    cJSON_Delete(v);
    v = decode_hex("82a161c40101a16101", NULL, 0);
    assert_non_null(v);
    EXPECT_JSON(v, "{\"a\":1}");
    cJSON_Delete(v);
    UT_TRUE(decode_hex("82a161c40101a162c40101", NULL, 0) == NULL);
    sio_mp_atts_cleanup(NULL);
}

/* Every strict prefix of every message of the tables, and of large ones, is refused without a leak. */
static void test_truncations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(encode_cases) / sizeof(encode_cases[0]); i++) {
        size_t n;
        uint8_t *p = from_hex(encode_cases[i].hex, &n);
        expect_prefixes_refused(p, n);
        free(p);
    }
    for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
        size_t n;
        uint8_t *p = from_hex(decode_cases[i].hex, &n);
        expect_prefixes_refused(p, n);
        free(p);
    }
    /* str 16, bin 16, array 16 and map 16 headers cut anywhere */
    sio_mp_buf b = SIO_MP_BUF_INIT;
    UT_EQ(sio_mp_array(&b, 4), 0);
    uint8_t bytes[300];
    memset(bytes, 'q', sizeof(bytes));
    UT_EQ(sio_mp_str(&b, (const char *)bytes, sizeof(bytes)), 0);
    UT_EQ(sio_mp_bin(&b, bytes, sizeof(bytes)), 0);
    encode_json(&b, "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]", NULL, 0);
    encode_json(&b, "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,"
                    "\"l\":12,\"m\":13,\"n\":14,\"o\":15,\"p\":16,\"q\":17}",
                NULL, 0);
    expect_prefixes_refused(b.data, b.len);
    sio_mp_buf_cleanup(&b);
}

/* Declared lengths far beyond the input fail at once, before msgpack-c would allocate for them (it allocates
 * 24 bytes per declared element up front: 2^29 elements ask for 12 GiB). */
static void test_huge_declared_lengths(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "ddffffffffc0",     "dd20000000c0",    "dfffffffffc0c0", "dcffffc0",         "deffffc0c0",
        "dbffffffff41",     "daffff41",        "c6ffffffff00",   "c5ffff00",         "c9ffffffff0500",
        "c8ffff0500",       "9fc0c0",          "8fc0c0",         "91ddffffffffc0",   "de0001c0",
        "dd00000002c0",     "c9000000ff00",    "d9ff",           "c4ff00",           "92dd10000000c0c0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        UT_WHERE("%s", bad[i]);
        sio_mp_atts atts = SIO_MP_ATTS_INIT;
        UT_TRUE(decode_hex(bad[i], &atts, 4) == NULL);
        UT_UEQ(atts.n, 0);
        sio_mp_atts_cleanup(&atts);
    }
    /* A declared count that the bytes do hold is fine. */
    cJSON *v = decode_hex("dd00000002c0c0", NULL, 0);
    assert_non_null(v);
    EXPECT_JSON(v, "[null,null]");
    cJSON_Delete(v);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                       /* nothing */
        "c1",                     /* never used */
        "91c1",
        "c0c0",                   /* trailing bytes */
        "0100",
        "92c0c0c0",
        "81a161",                 /* a key without a value */
        "c705ff0102030405",       /* ext 8 of type -1 that is not 12 bytes: notepack would read 12 */
        "c70dff00000000000000000000000000",
        "c700ff",
    };
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        UT_WHERE("%s", bad[i]);
        UT_TRUE(decode_hex(bad[i], &atts, 4) == NULL);
        UT_UEQ(atts.n, 0);
    }
    UT_TRUE(sio_mp_decode(NULL, 0, &atts, 4) == NULL);
    sio_mp_atts_cleanup(&atts);
}

/* Our strings keep NUL as C0 80 and lone surrogates as WTF-8 (sio_json.h): on the wire they are 00 and
 * U+FFFD (what Buffer.from(string) writes for a lone surrogate; notepack's own loop, used for strings of up
 * to 32 UTF-16 units, instead swallows the next unit: m.encode("a\ud800b") is a5 61 f0 90 81 a2).
 * Bytes that are not UTF-8 become U+FFFD. */
static void test_strings_to_the_wire(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *hex;
    } cases[] = {
        {"a\xed\xa0\x80" "b", "a561efbfbd62"},
        {"\xed\xbf\xbf", "a3efbfbd"},
        {"x\xc0\x80y", "a3780079"},
        {"\xff", "a3efbfbd"},
        {"\xe2\x82", "a3efbfbd"},
        {"\xf0\x9f\x98\x80", "a4f09f9880"},
        {"\xc3\xa9", "a2c3a9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        UT_WHERE("string case %zu", i);
        sio_mp_buf b = SIO_MP_BUF_INIT;
        UT_EQ(sio_mp_str(&b, cases[i].in, strlen(cases[i].in)), 0);
        EXPECT_BYTES_HEX(&b, cases[i].hex);
        sio_mp_buf_cleanup(&b);
        cJSON *s = cJSON_CreateString(cases[i].in);
        UT_EQ(sio_mp_json(&b, s, NULL, 0), 0);
        EXPECT_BYTES_HEX(&b, cases[i].hex);
        cJSON_Delete(s);
        sio_mp_buf_cleanup(&b);
    }
    /* in keys too */
    sio_mp_buf b = SIO_MP_BUF_INIT;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "k\xc0\x80", 1);
    UT_EQ(sio_mp_json(&b, o, NULL, 0), 0);
    EXPECT_BYTES_HEX(&b, "81a26b0001");
    cJSON *back = decode_exact(b.data, b.len, NULL, 0);
    UT_TRUE(th_json_same(o, back, 0));
    cJSON_Delete(back);
    cJSON_Delete(o);
    sio_mp_buf_cleanup(&b);
    /* sio_mp_str takes a length: a NUL inside is written as it is */
    UT_EQ(sio_mp_str(&b, "a\0b", 3), 0);
    EXPECT_BYTES_HEX(&b, "a3610062");
    sio_mp_buf_cleanup(&b);
}

/* Numbers notepack gets wrong: an integral number of 2^64 and more (or below -2^63) goes to its uint64/int64
 * branch and comes out as garbage (m.encode([1e300, 2**64, -(2**64), 1e21]) is
 * 94 cf0000000000000000 cf0000000000000000 d30000000000000000 cf35c9adc5dea00000: 0, 0, 0 and a wrong value).
 * We write those as float64, which notepack reads right. NaN and the infinities as notepack:
 * m.encode([NaN, Infinity, -Infinity, -0]) is 94 cb7ff8000000000000 cb7ff0000000000000 cbfff0000000000000 00. */
static void test_numbers_notepack_gets_wrong(void **state)
{
    (void)state;
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(1e300));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(18446744073709551616.0));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-18446744073709551616.0));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(1e21));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-9223372036854777856.0)); /* the double below -2^63 */
    sio_mp_buf b = SIO_MP_BUF_INIT;
    UT_EQ(sio_mp_json(&b, a, NULL, 0), 0);
    EXPECT_BYTES_HEX(&b, "95cb7e37e43c8800759ccb43f0000000000000cbc3f0000000000000cb444b1ae4d6e2ef50cbc3e0000000000001");
    cJSON *back = decode_exact(b.data, b.len, NULL, 0);
    UT_TRUE(th_json_same(a, back, 0));
    cJSON_Delete(back);
    cJSON_Delete(a);
    sio_mp_buf_cleanup(&b);

    a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(NAN));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-NAN));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(INFINITY));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-INFINITY));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-0.0));
    UT_EQ(sio_mp_json(&b, a, NULL, 0), 0);
    EXPECT_BYTES_HEX(&b, "95cb7ff8000000000000cb7ff8000000000000cb7ff0000000000000cbfff000000000000000");
    back = decode_exact(b.data, b.len, NULL, 0);
    EXPECT_JSON(back, "[null,null,null,null,0]");
    cJSON_Delete(back);
    cJSON_Delete(a);
    sio_mp_buf_cleanup(&b);
}

/* What socket.io-parser takes for a placeholder (_placeholder === true, num in range) is written as a bin;
 * anything else that looks like one is a plain map. */
static void test_placeholder_lookalikes(void **state)
{
    (void)state;
    static const uint8_t x[] = {0x78};
    sio_attachment_ref ref = {x, 1};
    static const struct {
        const char *json;
        size_t nbufs;
        const char *hex;
    } cases[] = {
        {"{\"_placeholder\":true,\"num\":0}", 1, "c40178"},
        {"{\"num\":0,\"_placeholder\":true,\"extra\":[1]}", 1, "c40178"},
        {"{\"_placeholder\":true,\"num\":0}", 0, "82ac5f706c616365686f6c646572c3a36e756d00"},
        {"{\"_placeholder\":true,\"num\":1}", 1, "82ac5f706c616365686f6c646572c3a36e756d01"},
        {"{\"_placeholder\":true,\"num\":-1}", 1, "82ac5f706c616365686f6c646572c3a36e756dff"},
        {"{\"_placeholder\":true,\"num\":0.5}", 1, "82ac5f706c616365686f6c646572c3a36e756dcb3fe0000000000000"},
        {"{\"_placeholder\":true,\"num\":\"0\"}", 1, "82ac5f706c616365686f6c646572c3a36e756da130"},
        {"{\"_placeholder\":1,\"num\":0}", 1, "82ac5f706c616365686f6c64657201a36e756d00"},
        {"{\"num\":0}", 1, "81a36e756d00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        UT_WHERE("%s with %zu buffers", cases[i].json, cases[i].nbufs);
        sio_mp_buf b = SIO_MP_BUF_INIT;
        encode_json(&b, cases[i].json, &ref, cases[i].nbufs);
        EXPECT_BYTES_HEX(&b, cases[i].hex);
        sio_mp_buf_cleanup(&b);
    }
}

static void test_encode_errors(void **state)
{
    (void)state;
    sio_mp_buf b = SIO_MP_BUF_INIT;
    UT_EQ(sio_mp_array(&b, 1), 0);
    size_t before = b.len;

    cJSON *raw = cJSON_CreateRaw("1");
    UT_EQ(sio_mp_json(&b, raw, NULL, 0), SIO_MP_EINVAL);
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(arr, raw); /* after something was written: rolled back */
    UT_EQ(sio_mp_json(&b, arr, NULL, 0), SIO_MP_EINVAL);
    UT_UEQ(b.len, before);
    cJSON_Delete(arr);

    cJSON *s = cJSON_CreateString("x");
    cJSON_free(s->valuestring);
    s->valuestring = NULL;
    UT_EQ(sio_mp_json(&b, s, NULL, 0), SIO_MP_EINVAL);
    cJSON_Delete(s);

    UT_EQ(sio_mp_json(&b, NULL, NULL, 0), SIO_MP_EINVAL);
    cJSON *one = cJSON_CreateNumber(1);
    UT_EQ(sio_mp_json(&b, one, NULL, 2), SIO_MP_EINVAL); /* nbufs without bufs */
    UT_EQ(sio_mp_json(NULL, one, NULL, 0), SIO_MP_EINVAL);
    cJSON_Delete(one);
    UT_EQ(sio_mp_str(&b, NULL, 1), SIO_MP_EINVAL);
    UT_EQ(sio_mp_bin(&b, NULL, 1), SIO_MP_EINVAL);
#if SIZE_MAX > UINT32_MAX
    UT_EQ(sio_mp_array(&b, (size_t)UINT32_MAX + 1), SIO_MP_EINVAL);
    UT_EQ(sio_mp_map(&b, (size_t)UINT32_MAX + 1), SIO_MP_EINVAL);
#endif
    UT_UEQ(b.len, before);
    UT_EQ(sio_mp_str(&b, NULL, 0), 0);
    UT_EQ(sio_mp_bin(&b, NULL, 0), 0);
    UT_EQ(sio_mp_array(&b, UINT32_MAX), 0);
    EXPECT_BYTES_HEX(&b, "91a0c400ddffffffff");

    /* Nesting: SIO_MP_ENCODE_MAX_DEPTH containers, not one more. */
    cJSON *deep = cJSON_CreateArray(), *in = deep;
    for (int i = 1; i < SIO_MP_ENCODE_MAX_DEPTH; i++) {
        cJSON *c = cJSON_CreateArray();
        cJSON_AddItemToArray(in, c);
        in = c;
    }
    sio_mp_buf_cleanup(&b);
    UT_EQ(sio_mp_json(&b, deep, NULL, 0), 0);
    UT_UEQ(b.len, SIO_MP_ENCODE_MAX_DEPTH);
    cJSON_AddItemToArray(in, cJSON_CreateArray());
    UT_EQ(sio_mp_json(&b, deep, NULL, 0), SIO_MP_EINVAL);
    UT_UEQ(b.len, SIO_MP_ENCODE_MAX_DEPTH);
    cJSON_Delete(deep);
    sio_mp_buf_cleanup(&b);
    sio_mp_buf_cleanup(NULL);

    UT_TRUE(strcmp(sio_mp_strerror(SIO_MP_ENOMEM), "out of memory") == 0);
    UT_TRUE(sio_mp_strerror(SIO_MP_EINVAL) != NULL && sio_mp_strerror(-99) != NULL);
}

/* cJSON's allocator failing at each allocation in turn: every failure gives NULL, leaves the attachments
 * alone and leaks nothing (the sanitizer build checks the last part). */
static long fail_countdown = -1;
static void *failing_malloc(size_t n)
{
    if (fail_countdown == 0)
        return NULL;
    if (fail_countdown > 0)
        fail_countdown--;
    return malloc(n);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    cJSON_Hooks hooks = {failing_malloc, free};
    /* {a: bin 01, b: undefined, d: [bin 010203, Date, {c: 12}], e: {a: [5, bin aa]}, f: "\ufffd\u0000A"} */
    const char *hex = "85a161c40101a162d40000a16493c403010203d6ff6b0276d081a1630ca16581a161c70105aa"
                      "a166a3ff0041";
    size_t n;
    uint8_t *msg = from_hex(hex, &n);
    cJSON_InitHooks(&hooks);
    int succeeded = 0;
    for (long k = 0; k < 200 && !succeeded; k++) {
        UT_WHERE("allocation %ld fails", k);
        sio_mp_atts atts = SIO_MP_ATTS_INIT;
        cJSON *pre = decode_hex("c401ee", &atts, 1);
        if (!pre)
            continue;
        fail_countdown = k;
        cJSON *v = sio_mp_decode(msg, n, &atts, 8);
        fail_countdown = -1;
        if (v) {
            succeeded = 1;
            UT_TRUE(k > 20); /* so many allocations failed on the way */
            EXPECT_JSON(v, "{\"a\":{\"_placeholder\":true,\"num\":1},\"d\":[{\"_placeholder\":true,\"num\":2},"
                           "\"2026-11-22T05:00:00.000Z\",{\"c\":12}],\"e\":{\"a\":[5,{\"_placeholder\":true,"
                           "\"num\":3}]},\"f\":\"\ufffd\\u0000A\"}");
            UT_UEQ(atts.n, 4);
        } else {
            UT_UEQ(atts.n, 1);
        }
        cJSON_Delete(v);
        cJSON_Delete(pre);
        sio_mp_atts_cleanup(&atts);
    }
    cJSON_InitHooks(NULL);
    UT_TRUE(succeeded);
    free(msg);
}

/* Random trees with placeholders: encode, decode, the same tree and the same attachments. */
typedef struct gen {
    uint64_t rng;
    size_t nbufs;
    sio_attachment_ref bufs[64];
    uint8_t pool[64][40];
} gen;

static const char *const alphabet[] = {"a", "Z", "0", " ", "\"", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                       "\xc0\x80", "\\", "\n", "_placeholder"};

static char *random_string(gen *g)
{
    size_t n = ut_rand(&g->rng) % 6, len = 0;
    char *s = malloc(6 * 12 + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        const char *piece = alphabet[ut_rand(&g->rng) % (sizeof(alphabet) / sizeof(alphabet[0]))];
        memcpy(s + len, piece, strlen(piece));
        len += strlen(piece);
    }
    s[len] = '\0';
    return s;
}

static cJSON *random_value(gen *g, int depth)
{
    static const double numbers[] = {0, 1, -1, 127, 128, -32, -33, 255, 65536, -2147483649.0, 4294967296.0,
                                     9007199254740993.0, 1.5, -0.25, 1e-300, 1e300, 18446744073709549568.0,
                                     -9223372036854775808.0, 3.14159};
    unsigned kind = (unsigned)(ut_rand(&g->rng) % (depth >= 6 ? 5 : 8));
    switch (kind) {
    case 0:
        return cJSON_CreateNull();
    case 1:
        return cJSON_CreateBool(ut_rand(&g->rng) & 1);
    case 2:
        return cJSON_CreateNumber(numbers[ut_rand(&g->rng) % (sizeof(numbers) / sizeof(numbers[0]))]);
    case 3: {
        char *s = random_string(g);
        cJSON *v = cJSON_CreateString(s);
        free(s);
        return v;
    }
    case 4:
        if (g->nbufs < 64) {
            size_t len = ut_rand(&g->rng) % 40;
            ut_fill_random(&g->rng, g->pool[g->nbufs], len);
            g->bufs[g->nbufs].data = g->pool[g->nbufs];
            g->bufs[g->nbufs].len = len;
            return sio_placeholder_new(g->nbufs++);
        }
        return cJSON_CreateNull();
    case 5:
    case 6: {
        cJSON *a = cJSON_CreateArray();
        size_t n = ut_rand(&g->rng) % 5;
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, random_value(g, depth + 1));
        return a;
    }
    default: {
        cJSON *o = cJSON_CreateObject();
        size_t n = ut_rand(&g->rng) % 5;
        for (size_t i = 0; i < n; i++) {
            char *k = random_string(g);
            if (!cJSON_GetObjectItemCaseSensitive(o, k) && strcmp(k, "_placeholder") != 0)
                cJSON_AddItemToObject(o, k, random_value(g, depth + 1));
            free(k);
        }
        return o;
    }
    }
}

static void test_random_round_trips(void **state)
{
    (void)state;
    gen *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    g->rng = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 2000; round++) {
        UT_WHERE("round %d", round);
        g->nbufs = 0;
        cJSON *v = random_value(g, 0);
        sio_mp_buf b = SIO_MP_BUF_INIT;
        UT_EQ(sio_mp_json(&b, v, g->bufs, g->nbufs), 0);
        sio_mp_atts atts = SIO_MP_ATTS_INIT;
        cJSON *back = decode_exact(b.data, b.len, &atts, 64);
        assert_non_null(back);
        if (!th_json_same(v, back, 0)) {
            char *s1 = sio_json_print(v, NULL), *s2 = sio_json_print(back, NULL);
            print_error("wrote %s\nread  %s\n", s1, s2);
            free(s1);
            free(s2);
            fail();
        }
        UT_UEQ(atts.n, g->nbufs);
        for (size_t i = 0; i < g->nbufs; i++)
            UT_BYTES_EQ(atts.v[i].data, atts.v[i].len, g->bufs[i].data, g->bufs[i].len);
        if (round % 50 == 0)
            expect_prefixes_refused(b.data, b.len);
        cJSON_Delete(back);
        cJSON_Delete(v);
        sio_mp_atts_cleanup(&atts);
        sio_mp_buf_cleanup(&b);
    }
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UT_TEST(test_encode_as_notepack),
        UT_TEST(test_envelopes_with_the_writers),
        UT_TEST(test_decode_as_notepack),
        UT_TEST(test_size_boundaries),
        UT_TEST(test_decode_large_buffers),
        UT_TEST(test_map_keys),
        UT_TEST(test_depth_limit),
        UT_TEST(test_attachment_limit_and_numbering),
        UT_TEST(test_truncations),
        UT_TEST(test_huge_declared_lengths),
        UT_TEST(test_malformed),
        UT_TEST(test_strings_to_the_wire),
        UT_TEST(test_numbers_notepack_gets_wrong),
        UT_TEST(test_placeholder_lookalikes),
        UT_TEST(test_encode_errors),
        UT_TEST(test_out_of_memory),
        UT_TEST(test_random_round_trips),
    };
    return cmocka_run_group_tests_name("sio_msgpack", tests, NULL, NULL);
}
