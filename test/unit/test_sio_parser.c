/*
 * Unit tests for socketio/sio_parser.h: the Socket.IO v5 packet decoder, encoder and incremental decoder.
 *
 * Inputs are Socket.IO packets without the Engine.IO "4" prefix. Every decoder input is a heap copy of exactly
 * its length (ut_dup), freed right after the call, so a read past the end or a pointer kept into the input
 * shows up under ASan and valgrind.
 */
#include "unit.h"

#include "socketio/sio_parser.h"

/* Stands in for "not written yet": the decoder must set *out to NULL on every error. */
static sio_packet sentinel_packet;

/* Decodes s[0..len) from an exact heap copy. */
static int decode_n(const char *s, size_t len, sio_packet **out)
{
    uint8_t *buf = ut_dup(s, len);
    *out = &sentinel_packet;
    int rc = sio_packet_decode((const char *)buf, len, out);
    free(buf);
    return rc;
}

/* The unformatted JSON of j (free() it), or NULL for NULL. */
static char *json_of(const cJSON *j)
{
    if (!j)
        return NULL;
    char *s = cJSON_PrintUnformatted(j);
    assert_non_null(s);
    return s;
}

static void expect_json(const cJSON *j, const char *want)
{
    if (!want) {
        UT_TRUE(j == NULL);
        return;
    }
    char *got = json_of(j);
    UT_TRUE(got != NULL);
    UT_BYTES_EQ(got, strlen(got), want, strlen(want));
    free(got);
}

/* Encodes p and compares with want (a NUL-terminated string); the returned length is the string's. */
static void expect_encoding(const sio_packet *p, const char *want, size_t want_len)
{
    char *enc = NULL;
    long n = sio_packet_encode(p, &enc);
    UT_TRUE(enc != NULL);
    UT_EQ(n, (long)strlen(enc));
    UT_BYTES_EQ(enc, (size_t)n, want, want_len);
    free(enc);
}

#define EXPECT_ENC(p, lit) expect_encoding(p, lit, sizeof(lit) - 1)

/* Every object with "_placeholder": true at any depth, including inside another placeholder, in order. */
static size_t collect_placeholders(const cJSON *j, const cJSON **out, size_t n, size_t cap)
{
    if (cJSON_IsObject(j) && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "_placeholder")) && n < cap)
        out[n++] = j;
    if (cJSON_IsObject(j) || cJSON_IsArray(j))
        for (const cJSON *c = j->child; c; c = c->next)
            n = collect_placeholders(c, out, n, cap);
    return n;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Round trips                                                                                             */

typedef struct rt_case {
    const char *in;
    int type;
    const char *nsp;
    int64_t id;
    const char *json; /* the data as cJSON_PrintUnformatted prints it, or NULL for none */
    size_t nattachments;
    const char *out; /* the encoding, or NULL when it is `in` itself */
} rt_case;

#define MAX_ID 9007199254740991LL

static const rt_case roundtrips[] = {
    /* CONNECT */
    {"0", 0, "/", -1, NULL, 0, NULL},
    {"0{\"token\":\"x\"}", 0, "/", -1, "{\"token\":\"x\"}", 0, NULL},
    {"0{}", 0, "/", -1, "{}", 0, NULL},
    {"0/admin,", 0, "/admin", -1, NULL, 0, NULL},
    {"0/admin,{\"token\":\"x\"}", 0, "/admin", -1, "{\"token\":\"x\"}", 0, NULL},
    {"0/admin", 0, "/admin", -1, NULL, 0, "0/admin,"},
    {"0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"pid\":\"a\"}", 0, "/", -1,
     "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"pid\":\"a\"}", 0, NULL},
    /* DISCONNECT */
    {"1", 1, "/", -1, NULL, 0, NULL},
    {"1/admin,", 1, "/admin", -1, NULL, 0, NULL},
    /* EVENT, with every kind of ack id */
    {"2[\"chat\",\"hi\"]", 2, "/", -1, "[\"chat\",\"hi\"]", 0, NULL},
    {"2/admin,[\"chat\",\"hi\"]", 2, "/admin", -1, "[\"chat\",\"hi\"]", 0, NULL},
    {"2/admin,13[\"ping\"]", 2, "/admin", 13, "[\"ping\"]", 0, NULL},
    {"20[\"x\"]", 2, "/", 0, "[\"x\"]", 0, NULL},
    {"21[\"x\"]", 2, "/", 1, "[\"x\"]", 0, NULL},
    {"29007199254740991[\"x\"]", 2, "/", MAX_ID, "[\"x\"]", 0, NULL},
    {"2/admin,0[\"x\",1]", 2, "/admin", 0, "[\"x\",1]", 0, NULL},
    {"2/admin,9007199254740991[\"x\"]", 2, "/admin", MAX_ID, "[\"x\"]", 0, NULL},
    /* ACK: data none (counts as []) or an array */
    {"3[]", 3, "/", -1, "[]", 0, NULL},
    {"31[true]", 3, "/", 1, "[true]", 0, NULL},
    {"30[]", 3, "/", 0, "[]", 0, NULL},
    {"31", 3, "/", 1, NULL, 0, NULL},
    {"3/admin,0[\"a\",{\"b\":null}]", 3, "/admin", 0, "[\"a\",{\"b\":null}]", 0, NULL},
    {"39007199254740991[1,2]", 3, "/", MAX_ID, "[1,2]", 0, NULL},
    {"3/admin,9007199254740991[]", 3, "/admin", MAX_ID, "[]", 0, NULL},
    /* CONNECT_ERROR: an object or a string */
    {"4{\"message\":\"Not authorized\",\"data\":{\"a\":1}}", 4, "/", -1,
     "{\"message\":\"Not authorized\",\"data\":{\"a\":1}}", 0, NULL},
    {"4/nope,{\"message\":\"Invalid namespace\"}", 4, "/nope", -1, "{\"message\":\"Invalid namespace\"}", 0, NULL},
    {"4\"Invalid namespace\"", 4, "/", -1, "\"Invalid namespace\"", 0, NULL},
    /* BINARY_EVENT */
    {"51-[\"file\",{\"_placeholder\":true,\"num\":0}]", 5, "/", -1, "[\"file\",{\"_placeholder\":true,\"num\":0}]", 1,
     NULL},
    {"52-/admin,7[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", 5, "/admin", 7,
     "[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", 2, NULL},
    {"51-0[\"up\",{\"f\":{\"_placeholder\":true,\"num\":0}}]", 5, "/", 0,
     "[\"up\",{\"f\":{\"_placeholder\":true,\"num\":0}}]", 1, NULL},
    {"51-9007199254740991[\"x\",{\"_placeholder\":true,\"num\":0}]", 5, "/", MAX_ID,
     "[\"x\",{\"_placeholder\":true,\"num\":0}]", 1, NULL},
    {"510-[\"ten\",{\"_placeholder\":true,\"num\":9}]", 5, "/", -1, "[\"ten\",{\"_placeholder\":true,\"num\":9}]", 10,
     NULL},
    /* BINARY_ACK */
    {"61-1[{\"_placeholder\":true,\"num\":0}]", 6, "/", 1, "[{\"_placeholder\":true,\"num\":0}]", 1, NULL},
    {"61-/admin,0[{\"_placeholder\":true,\"num\":0}]", 6, "/admin", 0, "[{\"_placeholder\":true,\"num\":0}]", 1, NULL},
    {"62-/admin,9007199254740991[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]", 6, "/admin",
     MAX_ID, "[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]", 2, NULL},
};

static void check_roundtrip(const rt_case *c)
{
    UT_WHERE("%s", c->in);
    sio_packet *p;
    UT_EQ(decode_n(c->in, strlen(c->in), &p), 0);
    UT_TRUE(p != NULL);
    UT_EQ(p->type, c->type);
    UT_TRUE(p->nsp != NULL);
    UT_BYTES_EQ(p->nsp, strlen(p->nsp), c->nsp, strlen(c->nsp));
    UT_EQ(p->id, c->id);
    expect_json(p->data, c->json);
    UT_UEQ(p->nattachments, c->nattachments);
    UT_UEQ(p->nreceived, 0);
    if (c->nattachments)
        UT_TRUE(p->attachments != NULL);
    const char *want = c->out ? c->out : c->in;
    expect_encoding(p, want, strlen(want));
    sio_packet_free(p);
}

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    int seen[7] = {0};
    for (size_t i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++) {
        check_roundtrip(&roundtrips[i]);
        seen[roundtrips[i].type]++;
    }
    for (int t = 0; t <= 6; t++) {
        UT_WHERE("packet type %d", t);
        UT_TRUE(seen[t] >= 2);
    }
}

/* Packets built by hand: the encoder's exact output. */
static void test_encode_built_by_hand(void **state)
{
    (void)state;
    char main_nsp[] = "/", admin[] = "/admin";
    sio_packet p;

    memset(&p, 0, sizeof(p));
    p.type = SIO_PACKET_CONNECT;
    p.nsp = main_nsp;
    p.id = -1;
    UT_WHERE("CONNECT /");
    EXPECT_ENC(&p, "0");
    p.nsp = admin;
    UT_WHERE("CONNECT /admin");
    EXPECT_ENC(&p, "0/admin,");
    p.data = cJSON_Parse("{\"sid\":\"abc\"}");
    assert_non_null(p.data);
    UT_WHERE("CONNECT /admin with the sid");
    EXPECT_ENC(&p, "0/admin,{\"sid\":\"abc\"}");
    cJSON_Delete(p.data);

    memset(&p, 0, sizeof(p));
    p.type = SIO_PACKET_DISCONNECT;
    p.nsp = admin;
    p.id = -1;
    UT_WHERE("DISCONNECT /admin");
    EXPECT_ENC(&p, "1/admin,");

    memset(&p, 0, sizeof(p));
    p.type = SIO_PACKET_EVENT;
    p.nsp = admin;
    p.id = 13;
    p.data = cJSON_CreateArray();
    assert_non_null(p.data);
    cJSON_AddItemToArray(p.data, cJSON_CreateString("chat"));
    cJSON_AddItemToArray(p.data, cJSON_CreateString("hi"));
    UT_WHERE("EVENT /admin id 13");
    EXPECT_ENC(&p, "2/admin,13[\"chat\",\"hi\"]");
    p.nsp = main_nsp;
    p.id = -1;
    UT_WHERE("EVENT / without id");
    EXPECT_ENC(&p, "2[\"chat\",\"hi\"]");
    p.id = 0;
    UT_WHERE("EVENT / id 0");
    EXPECT_ENC(&p, "20[\"chat\",\"hi\"]");
    p.id = MAX_ID;
    UT_WHERE("EVENT / id 2^53-1");
    EXPECT_ENC(&p, "29007199254740991[\"chat\",\"hi\"]");
    cJSON_Delete(p.data);

    memset(&p, 0, sizeof(p));
    p.type = SIO_PACKET_ACK;
    p.nsp = main_nsp;
    p.id = 1;
    p.data = cJSON_CreateArray();
    assert_non_null(p.data);
    UT_WHERE("ACK id 1 []");
    EXPECT_ENC(&p, "31[]");
    cJSON_Delete(p.data);

    memset(&p, 0, sizeof(p));
    p.type = SIO_PACKET_CONNECT_ERROR;
    p.nsp = admin;
    p.id = -1;
    p.data = cJSON_CreateObject();
    assert_non_null(p.data);
    cJSON_AddStringToObject(p.data, "message", "Invalid namespace");
    UT_WHERE("CONNECT_ERROR /admin");
    EXPECT_ENC(&p, "4/admin,{\"message\":\"Invalid namespace\"}");
    cJSON_Delete(p.data);

    /* Placeholders from sio_placeholder_new: key order _placeholder, then num. */
    memset(&p, 0, sizeof(p));
    p.type = SIO_PACKET_BINARY_EVENT;
    p.nsp = main_nsp;
    p.id = -1;
    p.nattachments = 2;
    p.data = cJSON_CreateArray();
    assert_non_null(p.data);
    cJSON_AddItemToArray(p.data, cJSON_CreateString("file"));
    cJSON *ph0 = sio_placeholder_new(0), *ph1 = sio_placeholder_new(1);
    assert_non_null(ph0);
    assert_non_null(ph1);
    cJSON_AddItemToArray(p.data, ph0);
    cJSON_AddItemToArray(p.data, ph1);
    static const char bin_event[] = "52-[\"file\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]";
    UT_WHERE("BINARY_EVENT with two attachments");
    expect_encoding(&p, bin_event, sizeof(bin_event) - 1);
    UT_EQ(sio_placeholder_index(ph0), 0);
    UT_EQ(sio_placeholder_index(ph1), 1);
    cJSON_Delete(p.data);

    memset(&p, 0, sizeof(p));
    p.type = SIO_PACKET_BINARY_ACK;
    p.nsp = admin;
    p.id = MAX_ID;
    p.nattachments = 1;
    p.data = cJSON_CreateArray();
    assert_non_null(p.data);
    cJSON_AddItemToArray(p.data, sio_placeholder_new(0));
    static const char bin_ack[] = "61-/admin,9007199254740991[{\"_placeholder\":true,\"num\":0}]";
    UT_WHERE("BINARY_ACK /admin id 2^53-1");
    expect_encoding(&p, bin_ack, sizeof(bin_ack) - 1);
    cJSON_Delete(p.data);

    for (size_t i = 0; i < SIO_MAX_ATTACHMENTS; i++) {
        UT_WHERE("sio_placeholder_new(%zu)", i);
        cJSON *ph = sio_placeholder_new(i);
        assert_non_null(ph);
        char want[64];
        snprintf(want, sizeof(want), "{\"_placeholder\":true,\"num\":%zu}", i);
        expect_json(ph, want);
        UT_EQ(sio_placeholder_index(ph), (long)i);
        cJSON_Delete(ph);
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* JSON content                                                                                            */

typedef struct json_case {
    const char *in;
    const char *out;   /* the encoding, or NULL when it is `in` itself */
    int item;          /* index of an array element to check, or -1 */
    const char *value; /* its exact string value */
} json_case;

static const json_case json_cases[] = {
    {"2[\"chat\",\"h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac\"]", NULL, 1,
     "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac"},
    /* Emoji: 4-byte UTF-8, raw and as a surrogate pair escape. */
    {"2[\"\xf0\x9f\x98\x80\",\"\xf0\x9f\x8e\x89 party\"]", NULL, 0, "\xf0\x9f\x98\x80"},
    {"2[\"x\",\"\\u00e9\\ud83d\\ude00\"]", "2[\"x\",\"\xc3\xa9\xf0\x9f\x98\x80\"]", 1, "\xc3\xa9\xf0\x9f\x98\x80"},
    /* U+2028 and U+2029: valid in JSON strings; escaped on input, raw on output (as JSON.stringify). */
    {"2[\"x\",\"\\u2028\\u2029\"]", "2[\"x\",\"\xe2\x80\xa8\xe2\x80\xa9\"]", 1, "\xe2\x80\xa8\xe2\x80\xa9"},
    {"2[\"x\",\"a\xe2\x80\xa8z\"]", NULL, 1, "a\xe2\x80\xa8z"},
    /* Escapes. */
    {"2[\"say\",\"he said \\\"hi\\\" \\\\o/\"]", NULL, 1, "he said \"hi\" \\o/"},
    {"2[\"x\",\"l1\\nl2\\tt\\r\\b\\f\"]", NULL, 1, "l1\nl2\tt\r\b\f"},
    {"2[\"x\",\"\\/\"]", "2[\"x\",\"/\"]", 1, "/"},
    {"2[\"x\",\"\\u0001\\u001f\"]", NULL, 1, "\x01\x1f"},
    {"2[\"\\\"quoted\\\"\"]", NULL, 0, "\"quoted\""},
    /* Nesting, nulls after the name, empty values. */
    {"2[\"x\",{\"a\":[1,{\"b\":[[],{}]}],\"c\":{\"d\":null,\"e\":true,\"f\":false}}]", NULL, -1, NULL},
    {"2[\"x\",null]", NULL, -1, NULL},
    {"2[\"x\",null,null,[null]]", NULL, -1, NULL},
    {"2[\"x\",\"\",{},[]]", NULL, 1, ""},
    {"0{\"cl\xc3\xa9\":\"v\xc3\xa4lue\",\"\xf0\x9f\x98\x80\":1,\"nested\":{\"a\":[1,2]}}", NULL, -1, NULL},
    /* Numbers. */
    {"2[\"n\",0,-1,42,-42,3.5,-0.25,123456789,2147483647,-2147483648,4294967296]", NULL, -1, NULL},
    {"2[\"n\",1e3,1E3,10.0,2.50]", "2[\"n\",1000,1000,10,2.5]", -1, NULL},
    {"2[\"n\",0.1,1e+21,1.5e+300,-2.5]", NULL, -1, NULL},
    /* Numeric event names. */
    {"2[1,\"x\"]", NULL, -1, NULL},
    {"2[0]", NULL, -1, NULL},
    {"2[-7,{\"a\":1}]", NULL, -1, NULL},
    {"2[2.5]", NULL, -1, NULL},
    /* Insignificant whitespace inside the JSON is dropped. */
    {"2[ \"x\" , { \"a\" : 1 } ]", "2[\"x\",{\"a\":1}]", 0, "x"},
};

static void test_json_content(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
        const json_case *c = &json_cases[i];
        UT_WHERE("%s", c->in);
        sio_packet *p;
        UT_EQ(decode_n(c->in, strlen(c->in), &p), 0);
        UT_TRUE(p->data != NULL);
        if (c->item >= 0) {
            const cJSON *it = cJSON_GetArrayItem(p->data, c->item);
            UT_TRUE(cJSON_IsString(it));
            UT_BYTES_EQ(it->valuestring, strlen(it->valuestring), c->value, strlen(c->value));
        }
        const char *want = c->out ? c->out : c->in;
        expect_encoding(p, want, strlen(want));
        sio_packet_free(p);
    }

    /* Values, not only text: integers, negatives and floats. */
    sio_packet *p;
    static const char nums[] = "2[\"n\",-42,3.5,-0.25,4294967296]";
    UT_WHERE("%s", nums);
    UT_EQ(decode_n(nums, sizeof(nums) - 1, &p), 0);
    UT_TRUE(cJSON_GetArrayItem(p->data, 1)->valuedouble == -42.0);
    UT_TRUE(cJSON_GetArrayItem(p->data, 2)->valuedouble == 3.5);
    UT_TRUE(cJSON_GetArrayItem(p->data, 3)->valuedouble == -0.25);
    UT_TRUE(cJSON_GetArrayItem(p->data, 4)->valuedouble == 4294967296.0);
    sio_packet_free(p);
}

/*
 * A number survives decode -> encode -> decode with the same value. JSON.stringify prints the shortest text
 * that reads back as the same double; a server that relays or echoes a client's numbers must not change them.
 */
static void test_json_numbers_keep_their_value(void **state)
{
    (void)state;
    static const char *const numbers[] = {
        "9007199254740991",  "-9007199254740991", "9007199254740993", "1234567890123460",
        "0.30000000000000004", "0.1",            "1.7976931348623157e+308", "5e-324",
        "2.2250738585072014e-308", "123456789012345.67", "1e+21",
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        char in[128];
        int n = snprintf(in, sizeof(in), "2[\"n\",%s]", numbers[i]);
        UT_WHERE("%s", in);
        sio_packet *p, *q;
        UT_EQ(decode_n(in, (size_t)n, &p), 0);
        char *enc = NULL;
        long elen = sio_packet_encode(p, &enc);
        UT_TRUE(elen > 0);
        UT_WHERE("%s encoded as %s", in, enc);
        UT_EQ(decode_n(enc, (size_t)elen, &q), 0);
        const cJSON *a = cJSON_GetArrayItem(p->data, 1), *b = cJSON_GetArrayItem(q->data, 1);
        UT_TRUE(cJSON_IsNumber(a) && cJSON_IsNumber(b));
        UT_TRUE(a->valuedouble == b->valuedouble);
        sio_packet_free(q);
        sio_packet_free(p);
        free(enc);
    }
}

/*
 * Whatever the decoder accepts, the encoder writes in a form the decoder accepts again, as the same packet
 * (the fuzz target's round-trip invariant, here for the inputs known to break it).
 */
static void test_accepted_packets_encode_to_accepted_packets(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "2[1e400]",
        "2[-1e400,\"x\"]",
        "2[1.7976931348623157e+308]",
        "2[\"x\",1.7976931348623157e+308]",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        UT_WHERE("%s", inputs[i]);
        sio_packet *p, *q;
        if (decode_n(inputs[i], strlen(inputs[i]), &p) != 0)
            continue; /* rejecting is fine too */
        char *e1 = NULL, *e2 = NULL;
        long n1 = sio_packet_encode(p, &e1);
        UT_TRUE(n1 > 0);
        UT_WHERE("%s encoded as %s", inputs[i], e1);
        UT_EQ(decode_n(e1, (size_t)n1, &q), 0);
        long n2 = sio_packet_encode(q, &e2);
        UT_BYTES_EQ(e2, (size_t)n2, e1, (size_t)n1);
        free(e2);
        free(e1);
        sio_packet_free(q);
        sio_packet_free(p);
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* The incremental decoder                                                                                 */

/* Attachment k of a test: a length and bytes that differ from one attachment to the next, NUL and 0xff too. */
static size_t attachment_len(size_t k, int empty)
{
    return empty ? 0 : 1 + (k * 37) % 300;
}

static void attachment_fill(uint8_t *buf, size_t len, size_t k)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(k * 31 + i * 7);
    if (len > 2) {
        buf[0] = 0x00;
        buf[len - 1] = 0xff;
    }
}

/*
 * Feeds a binary packet of type `type` with n attachments through a decoder: the text message, then one
 * binary message per attachment (each from a heap buffer freed right after the call, so the decoder must
 * copy), and checks the completed packet: header fields, attachments exact and in order, each placeholder
 * resolving to its attachment. BINARY_ACK lists the placeholders in reverse order.
 */
static void check_binary_packet(int type, size_t n, int empty)
{
    char text[1024];
    int binary_ack = type == SIO_PACKET_BINARY_ACK;
    int o = snprintf(text, sizeof(text), binary_ack ? "%d%zu-/admin,42[" : "%d%zu-[\"upload\"", type, n);
    for (size_t k = 0; k < n; k++) {
        size_t num = binary_ack ? n - 1 - k : k;
        o += snprintf(text + o, sizeof(text) - (size_t)o, "%s{\"_placeholder\":true,\"num\":%zu}",
                      (k == 0 && binary_ack) ? "" : ",", num);
    }
    o += snprintf(text + o, sizeof(text) - (size_t)o, "]");

    sio_decoder d;
    sio_decoder_init(&d);
    sio_packet *p = &sentinel_packet;
    UT_WHERE("%.100s", text);
    uint8_t *in = ut_dup(text, (size_t)o);
    UT_EQ(sio_decoder_add_text(&d, (const char *)in, (size_t)o, &p), 0);
    free(in);
    UT_TRUE(p == NULL);
    for (size_t k = 0; k < n; k++) {
        UT_WHERE("%.100s: attachment %zu of %zu", text, k + 1, n);
        size_t len = attachment_len(k, empty);
        uint8_t *bin = ut_alloc(len);
        attachment_fill(bin, len, k);
        p = &sentinel_packet;
        UT_EQ(sio_decoder_add_binary(&d, bin, len, &p), k + 1 < n ? 0 : 1);
        free(bin);
        if (k + 1 < n)
            UT_TRUE(p == NULL);
    }
    UT_WHERE("%.100s: the completed packet", text);
    UT_TRUE(p != NULL && p != &sentinel_packet);
    UT_TRUE(d.pending == NULL);
    UT_EQ(p->type, type);
    UT_BYTES_EQ(p->nsp, strlen(p->nsp), binary_ack ? "/admin" : "/", binary_ack ? 6 : 1);
    UT_EQ(p->id, binary_ack ? 42 : -1);
    UT_UEQ(p->nattachments, n);
    UT_UEQ(p->nreceived, n);
    for (size_t k = 0; k < n; k++) {
        UT_WHERE("%.100s: attachment %zu", text, k);
        size_t len = attachment_len(k, empty);
        uint8_t *want = ut_alloc(len);
        attachment_fill(want, len, k);
        UT_UEQ(p->attachments[k].len, len);
        if (len == 0)
            UT_TRUE(p->attachments[k].data == NULL);
        else
            UT_BYTES_EQ(p->attachments[k].data, p->attachments[k].len, want, len);
        free(want);
    }
    /* Each placeholder resolves to its attachment. */
    const cJSON *ph[SIO_MAX_ATTACHMENTS + 1];
    size_t nph = collect_placeholders(p->data, ph, 0, SIO_MAX_ATTACHMENTS + 1);
    UT_UEQ(nph, n);
    for (size_t k = 0; k < n; k++) {
        UT_WHERE("%.100s: placeholder %zu", text, k);
        UT_EQ(sio_placeholder_index(ph[k]), (long)(binary_ack ? n - 1 - k : k));
    }
    expect_encoding(p, text, (size_t)o);
    sio_packet_free(p);

    /* The decoder goes on with a plain packet after a completed binary one. */
    UT_WHERE("%.100s: the next packet", text);
    in = ut_dup("2[\"after\"]", 10);
    UT_EQ(sio_decoder_add_text(&d, (const char *)in, 10, &p), 1);
    free(in);
    UT_TRUE(p != NULL);
    UT_EQ(p->type, SIO_PACKET_EVENT);
    expect_json(p->data, "[\"after\"]");
    sio_packet_free(p);
    sio_decoder_cleanup(&d);
}

static void test_decoder_binary_event_1_2_10(void **state)
{
    (void)state;
    check_binary_packet(SIO_PACKET_BINARY_EVENT, 1, 0);
    check_binary_packet(SIO_PACKET_BINARY_EVENT, 2, 0);
    check_binary_packet(SIO_PACKET_BINARY_EVENT, 10, 0);
}

static void test_decoder_binary_ack(void **state)
{
    (void)state;
    check_binary_packet(SIO_PACKET_BINARY_ACK, 1, 0);
    check_binary_packet(SIO_PACKET_BINARY_ACK, 3, 0);
    check_binary_packet(SIO_PACKET_BINARY_ACK, 10, 0);
}

static void test_decoder_empty_attachments(void **state)
{
    (void)state;
    check_binary_packet(SIO_PACKET_BINARY_EVENT, 1, 1);
    check_binary_packet(SIO_PACKET_BINARY_EVENT, 10, 1);
    check_binary_packet(SIO_PACKET_BINARY_ACK, 2, 1);
}

static void test_decoder_plain_packets(void **state)
{
    (void)state;
    sio_decoder d;
    sio_decoder_init(&d);
    for (size_t i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++) {
        const rt_case *c = &roundtrips[i];
        if (c->nattachments)
            continue;
        UT_WHERE("%s", c->in);
        sio_packet *p = &sentinel_packet;
        uint8_t *in = ut_dup(c->in, strlen(c->in));
        UT_EQ(sio_decoder_add_text(&d, (const char *)in, strlen(c->in), &p), 1);
        free(in);
        UT_TRUE(p != NULL && p != &sentinel_packet);
        UT_EQ(p->type, c->type);
        UT_EQ(p->id, c->id);
        expect_json(p->data, c->json);
        sio_packet_free(p);
    }
    /* An invalid message returns the error and leaves the decoder usable. */
    sio_packet *p = &sentinel_packet;
    UT_WHERE("2[] then 2[\"ok\"]");
    UT_EQ(sio_decoder_add_text(&d, "2[]", 3, &p), SIO_PARSER_EPARSE);
    UT_TRUE(p == NULL);
    UT_EQ(sio_decoder_add_text(&d, "2[\"ok\"]", 7, &p), 1);
    sio_packet_free(p);
    sio_decoder_cleanup(&d);
}

static void test_decoder_same_placeholder_twice(void **state)
{
    (void)state;
    static const char text[] = "52-[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":0}]";
    sio_decoder d;
    sio_decoder_init(&d);
    sio_packet *p;
    UT_WHERE("%s", text);
    UT_EQ(sio_decoder_add_text(&d, text, sizeof(text) - 1, &p), 0);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"AAA", 3, &p), 0);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"BB", 2, &p), 1);
    UT_UEQ(p->nattachments, 2);
    UT_EQ(sio_placeholder_index(cJSON_GetArrayItem(p->data, 1)), 0);
    UT_EQ(sio_placeholder_index(cJSON_GetArrayItem(p->data, 2)), 0);
    UT_BYTES_LIT(p->attachments[0].data, p->attachments[0].len, "AAA");
    UT_BYTES_LIT(p->attachments[1].data, p->attachments[1].len, "BB");
    sio_packet_free(p); /* one buffer referenced twice: freed once */

    static const char one[] = "51-[\"x\",{\"_placeholder\":true,\"num\":0},[{\"_placeholder\":true,\"num\":0}]]";
    UT_WHERE("%s", one);
    UT_EQ(sio_decoder_add_text(&d, one, sizeof(one) - 1, &p), 0);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"Z", 1, &p), 1);
    UT_UEQ(p->nattachments, 1);
    UT_BYTES_LIT(p->attachments[0].data, p->attachments[0].len, "Z");
    sio_packet_free(p);
    sio_decoder_cleanup(&d);
}

static void test_placeholder_index(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        long index;
    } cases[] = {
        {"{\"_placeholder\":true,\"num\":0}", 0},
        {"{\"_placeholder\":true,\"num\":3}", 3},
        {"{\"_placeholder\":true,\"num\":9}", 9},
        {"{\"num\":2,\"_placeholder\":true}", 2},
        {"{\"_placeholder\":true,\"num\":1,\"extra\":\"x\"}", 1},
        {"{\"_placeholder\":true,\"num\":4.0}", 4},
        /* Not placeholders. */
        {"\"x\"", -1},
        {"0", -1},
        {"null", -1},
        {"true", -1},
        {"[]", -1},
        {"[{\"_placeholder\":true,\"num\":0}]", -1},
        {"{}", -1},
        {"{\"num\":0}", -1},
        {"{\"_placeholder\":false,\"num\":0}", -1},
        {"{\"_placeholder\":\"true\",\"num\":0}", -1},
        {"{\"_placeholder\":1,\"num\":0}", -1},
        {"{\"_Placeholder\":true,\"num\":0}", -1},
        {"{\"_placeholder\":true}", -1},
        {"{\"_placeholder\":true,\"num\":null}", -1},
        {"{\"_placeholder\":true,\"num\":\"0\"}", -1},
        {"{\"_placeholder\":true,\"num\":\"splice\"}", -1},
        {"{\"_placeholder\":true,\"num\":-1}", -1},
        {"{\"_placeholder\":true,\"num\":0.5}", -1},
        {"{\"_placeholder\":true,\"num\":1e400}", -1},
        {"{\"_placeholder\":true,\"num\":-1e400}", -1},
        {"{\"_placeholder\":true,\"num\":4294967296}", -1},
        {"{\"_placeholder\":true,\"num\":1e300}", -1},
        {"{\"_placeholder\":true,\"NUM\":0}", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        UT_WHERE("%s", cases[i].json);
        cJSON *j = cJSON_Parse(cases[i].json);
        assert_non_null(j);
        UT_EQ(sio_placeholder_index(j), cases[i].index);
        cJSON_Delete(j);
    }
    UT_WHERE("NULL");
    UT_EQ(sio_placeholder_index(NULL), -1);
}

static void test_decoder_text_while_pending(void **state)
{
    (void)state;
    static const char text[] = "52-[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]";
    sio_decoder d;
    sio_decoder_init(&d);
    sio_packet *p;
    UT_WHERE("text before any attachment");
    UT_EQ(sio_decoder_add_text(&d, text, sizeof(text) - 1, &p), 0);
    p = &sentinel_packet;
    UT_EQ(sio_decoder_add_text(&d, "2[\"x\"]", 6, &p), SIO_PARSER_EPARSE);
    UT_TRUE(p == NULL);
    sio_decoder_cleanup(&d); /* frees the pending packet */
    UT_TRUE(d.pending == NULL);
    sio_decoder_cleanup(&d); /* twice is harmless */

    /* The same after one of the two attachments: the received one is freed by the cleanup. */
    UT_WHERE("text after one attachment of two");
    sio_decoder_init(&d);
    UT_EQ(sio_decoder_add_text(&d, text, sizeof(text) - 1, &p), 0);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"first", 5, &p), 0);
    UT_EQ(sio_decoder_add_text(&d, text, sizeof(text) - 1, &p), SIO_PARSER_EPARSE);
    UT_TRUE(p == NULL);
    sio_decoder_cleanup(&d);

    /* Cleaning up with attachments pending and no error. */
    UT_WHERE("cleanup with one attachment received");
    sio_decoder_init(&d);
    UT_EQ(sio_decoder_add_text(&d, text, sizeof(text) - 1, &p), 0);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"first", 5, &p), 0);
    sio_decoder_cleanup(&d);

    UT_WHERE("cleanup of an idle decoder");
    sio_decoder_init(&d);
    sio_decoder_cleanup(&d);
}

static void test_decoder_binary_with_nothing_pending(void **state)
{
    (void)state;
    sio_decoder d;
    sio_decoder_init(&d);
    sio_packet *p = &sentinel_packet;
    UT_WHERE("binary on a new decoder");
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"abc", 3, &p), SIO_PARSER_EPARSE);
    UT_TRUE(p == NULL);
    p = &sentinel_packet;
    UT_WHERE("empty binary on a new decoder");
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"", 0, &p), SIO_PARSER_EPARSE);
    UT_TRUE(p == NULL);

    UT_WHERE("binary after a plain packet");
    UT_EQ(sio_decoder_add_text(&d, "2[\"x\"]", 6, &p), 1);
    sio_packet_free(p);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"abc", 3, &p), SIO_PARSER_EPARSE);

    UT_WHERE("binary after a completed binary packet");
    static const char text[] = "51-[\"x\",{\"_placeholder\":true,\"num\":0}]";
    UT_EQ(sio_decoder_add_text(&d, text, sizeof(text) - 1, &p), 0);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"abc", 3, &p), 1);
    sio_packet_free(p);
    p = &sentinel_packet;
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"abc", 3, &p), SIO_PARSER_EPARSE);
    UT_TRUE(p == NULL);

    UT_WHERE("binary after a rejected binary header");
    UT_EQ(sio_decoder_add_text(&d, "50-[\"x\"]", 8, &p), SIO_PARSER_EPARSE);
    UT_EQ(sio_decoder_add_binary(&d, (const uint8_t *)"abc", 3, &p), SIO_PARSER_EPARSE);
    sio_decoder_cleanup(&d);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Every prefix                                                                                            */

/*
 * Messages arrive whole, so instead of every split: every strict prefix of a valid packet either decodes to
 * a packet whose encoding decodes again to the same encoding, or is rejected; and once the prefix ends inside
 * the JSON (an array, object or string, of which no strict prefix is valid JSON), it is rejected.
 */
static void check_prefixes(const char *s)
{
    size_t n = strlen(s);
    size_t json_start = strcspn(s, "[{\"");
    for (size_t len = 0; len < n; len++) {
        UT_WHERE("the first %zu bytes of %s", len, s);
        sio_packet *p;
        int rc = decode_n(s, len, &p);
        UT_TRUE(rc == 0 || rc == SIO_PARSER_EPARSE);
        if (len > json_start)
            UT_EQ(rc, SIO_PARSER_EPARSE);
        if (rc != 0) {
            UT_TRUE(p == NULL);
            continue;
        }
        char *e1, *e2;
        long n1 = sio_packet_encode(p, &e1);
        sio_packet *q;
        UT_EQ(decode_n(e1, (size_t)n1, &q), 0);
        long n2 = sio_packet_encode(q, &e2);
        UT_BYTES_EQ(e2, (size_t)n2, e1, (size_t)n1);
        free(e1);
        free(e2);
        sio_packet_free(q);
        sio_packet_free(p);
    }
}

static void test_every_prefix(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(roundtrips) / sizeof(roundtrips[0]); i++)
        check_prefixes(roundtrips[i].in);
    for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++)
        check_prefixes(json_cases[i].in);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Bad inputs: every one is SIO_PARSER_EPARSE, alone and through a decoder                                  */

static void reject_at(const char *s, size_t len, int line)
{
    UT_WHERE("input of line %d (%zu bytes): %.80s", line, len, s);
    sio_packet *p;
    UT_EQ(decode_n(s, len, &p), SIO_PARSER_EPARSE);
    UT_TRUE(p == NULL);

    sio_decoder d;
    sio_decoder_init(&d);
    uint8_t *in = ut_dup(s, len);
    p = &sentinel_packet;
    UT_EQ(sio_decoder_add_text(&d, (const char *)in, len, &p), SIO_PARSER_EPARSE);
    free(in);
    UT_TRUE(p == NULL);
    UT_TRUE(d.pending == NULL);
    sio_decoder_cleanup(&d);
}

#define REJECT(lit) reject_at(lit, sizeof(lit) - 1, __LINE__)
#define REJECT_N(s, n) reject_at(s, n, __LINE__)

static void accept_at(const char *s, size_t len, int line)
{
    UT_WHERE("input of line %d (%zu bytes): %.80s", line, len, s);
    sio_packet *p;
    UT_EQ(decode_n(s, len, &p), 0);
    sio_packet_free(p);
}

#define ACCEPT_N(s, n) accept_at(s, n, __LINE__)

static void test_reject_empty_and_unknown_types(void **state)
{
    (void)state;
    REJECT("");
    REJECT("7");
    REJECT("9");
    REJECT("a");
    REJECT("7[\"x\"]");
    REJECT("8");
    REJECT("9[\"x\"]");
    REJECT("abc");
    REJECT("999");
    REJECT("/");
    REJECT("-1");
    REJECT(" 2[\"x\"]");
    REJECT("[\"x\"]");
    REJECT("\0002[\"x\"]");
}

static void test_reject_event_payloads(void **state)
{
    (void)state;
    /* "2" with no payload at all is accepted, as socket.io-parser does (the server then ignores it). */
    ACCEPT_N("2", 1);
    REJECT("2[]");
    REJECT("2{}");
    REJECT("2\"x\"");
    REJECT("2[{\"toString\":\"foo\"}]");
    REJECT("2[true,\"foo\"]");
    REJECT("2[null,\"bar\"]");
    REJECT("2[false]");
    REJECT("2[[\"x\"]]");
    REJECT("2null");
    /* No payload at all is accepted (and ignored by the server), whatever comes before it. */
    ACCEPT_N("21", 2);
    ACCEPT_N("2/admin,", 8);
    ACCEPT_N("2/admin,5", 9);
    ACCEPT_N("2/admin", 7);
    ACCEPT_N("2/admin[\"x\"]", 12); /* no comma: the whole rest is the namespace, and there is no data */
    REJECT("51-[{\"_placeholder\":true,\"num\":0}]");
    REJECT("51-[true,{\"_placeholder\":true,\"num\":0}]");
    REJECT("51-");
}

static void test_reject_reserved_event_names(void **state)
{
    (void)state;
    REJECT("2[\"connect\"]");
    REJECT("2[\"connect_error\"]");
    REJECT("2[\"disconnect\"]");
    REJECT("2[\"disconnecting\"]");
    REJECT("2[\"newListener\"]");
    REJECT("2[\"removeListener\"]");
    REJECT("2[\"disconnect\",\"x\",1]");
    REJECT("2/admin,3[\"connect\",{}]");
    REJECT("51-[\"disconnecting\",{\"_placeholder\":true,\"num\":0}]");

    static const char *const reserved[] = {"connect",       "connect_error", "disconnect",
                                           "disconnecting", "newListener",   "removeListener"};
    for (size_t i = 0; i < 6; i++) {
        UT_WHERE("%s", reserved[i]);
        UT_EQ(sio_event_name_reserved(reserved[i]), 1);
    }
    static const char *const allowed[] = {"error", "message", "", "Connect", "connect ", "connectx", "disconnected",
                                          "newlistener", "removeListeners", "conn"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        UT_WHERE("\"%s\"", allowed[i]);
        UT_EQ(sio_event_name_reserved(allowed[i]), 0);
    }
}

static void test_reject_ack_ids(void **state)
{
    (void)state;
    REJECT("2abc[\"x\"]");
    REJECT("2/admin,abc[\"x\"]");
    REJECT("21a[\"x\"]");
    REJECT("21-[\"x\"]");
    REJECT("2-1[\"x\"]");
    REJECT("2+1[\"x\"]");
    REJECT("21.5[\"x\"]");
    /* 17 digits and more, whatever their value. */
    REJECT("210000000000000000[\"x\"]");
    REJECT("200000000000000001[\"x\"]");
    REJECT("299999999999999999[\"x\"]");
    REJECT("21234567890123456789012345[\"x\"]");
    REJECT("3/admin,12345678901234567[]");
    /* 2^53 exactly, and just above. */
    REJECT("29007199254740992[\"x\"]");
    REJECT("2/admin,9007199254740992[\"x\"]");
    REJECT("39007199254740992[]");
    REJECT("39007199254740993");
    REJECT("29999999999999999[\"x\"]");

    /* A very long run of digits is rejected without scanning it into anything. */
    size_t n = 100000;
    char *s = malloc(n + 6);
    assert_non_null(s);
    s[0] = '2';
    memset(s + 1, '7', n);
    memcpy(s + 1 + n, "[\"x\"]", 5);
    REJECT_N(s, n + 6);
    free(s);
}

static void test_reject_connect_and_disconnect_data(void **state)
{
    (void)state;
    REJECT("0[]");
    REJECT("0\"x\"");
    REJECT("0null");
    REJECT("0true");
    REJECT("0/admin,[]");
    REJECT("0/admin,\"x\"");
    REJECT("1{}");
    REJECT("1/admin,{}");
    REJECT("1[]");
    REJECT("1\"x\"");
    REJECT("1null");
    /* CONNECT_ERROR needs an object or a string; ACK an array. */
    REJECT("4");
    REJECT("4/admin,");
    REJECT("4[]");
    REJECT("4null");
    REJECT("4true");
    REJECT("3{}");
    REJECT("3\"x\"");
    REJECT("3null");
    REJECT("31{}");
    REJECT("61-{}");
    REJECT("61-null");
}

static void test_reject_attachment_headers(void **state)
{
    (void)state;
    REJECT("5");
    REJECT("51");
    REJECT("5a-");
    REJECT("51.23-");
    REJECT("5-1-");
    REJECT("5-[\"x\"]");
    REJECT("51[\"x\",{\"_placeholder\":true,\"num\":0}]");
    REJECT("50-[\"x\"]");
    REJECT("511-[\"x\",{\"_placeholder\":true,\"num\":0}]");
    REJECT("5100-");
    REJECT("5100-[\"x\",{\"_placeholder\":true,\"num\":0}]");
    REJECT("51000-[\"x\"]");
    REJECT("501-[\"x\",{\"_placeholder\":true,\"num\":0}]");
    /* JS quirks that we do not copy. */
    REJECT("50x1-[\"x\",{\"_placeholder\":true,\"num\":0}]");
    REJECT("5 1-[\"x\",{\"_placeholder\":true,\"num\":0}]");
    REJECT("6");
    REJECT("61");
    REJECT("60-[]");
    REJECT("611-[]");
    REJECT("699-[]");
}

static void test_reject_placeholders(void **state)
{
    (void)state;
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":\"splice\"}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":-1}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":1}]");
    REJECT("52-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":2}]");
    REJECT("510-[\"a\",{\"_placeholder\":true,\"num\":10}]");
    REJECT("51-[\"a\",{\"_placeholder\":true}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"nom\":0}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":null}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":1e400}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":[0]}]");
    /* Deep inside the data, and in a BINARY_ACK. */
    REJECT("51-[\"a\",{\"x\":[1,{\"y\":{\"_placeholder\":true,\"num\":1}}]}]");
    REJECT("51-[\"a\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":-1}]");
    REJECT("61-[{\"_placeholder\":true,\"num\":1}]");
    REJECT("61-/admin,3[{\"_placeholder\":true}]");
}

static void test_reject_trailing_garbage(void **state)
{
    (void)state;
    REJECT("2[\"x\"] x");
    REJECT("2[\"x\"]]");
    REJECT("2[\"x\"][\"y\"]");
    REJECT("2[\"x\"],");
    REJECT("0{}{}");
    REJECT("4\"a\"b");
    REJECT("31[true]1");
    REJECT("2[\"x\"]\0");
    REJECT("2[\"x\"] \0");
    REJECT("2[\"x\"\"y\"]");
    REJECT("2[\"x\",]");
    REJECT("2[\"x\"");
    REJECT("2[\"x");
    REJECT("0{\"a\":1");
}

/* Builds `head` + depth x `open` + `middle` + depth x `close` + `tail` in a heap buffer of exactly *len bytes. */
static char *nested(const char *head, size_t depth, const char *open, const char *middle, const char *close,
                    const char *tail, size_t *len)
{
    size_t hl = strlen(head), ol = strlen(open), ml = strlen(middle), cl = strlen(close), tl = strlen(tail);
    size_t n = hl + depth * (ol + cl) + ml + tl;
    char *s = malloc(n + 1);
    assert_non_null(s);
    size_t o = 0;
    memcpy(s + o, head, hl);
    o += hl;
    for (size_t i = 0; i < depth; i++, o += ol)
        memcpy(s + o, open, ol);
    memcpy(s + o, middle, ml);
    o += ml;
    for (size_t i = 0; i < depth; i++, o += cl)
        memcpy(s + o, close, cl);
    memcpy(s + o, tail, tl);
    o += tl;
    s[o] = '\0';
    *len = o;
    return s;
}

/* The event array counts as one level: depth d of inner arrays is a nesting of d + 1. */
static void test_json_nesting_limit(void **state)
{
    (void)state;
    static const size_t accepted[] = {899, 999};
    static const size_t rejected[] = {1000, 1001, 100000};
    size_t len;
    for (size_t i = 0; i < 2; i++) {
        char *s = nested("2[\"x\",", accepted[i], "[", "", "]", "]", &len);
        ACCEPT_N(s, len);
        sio_packet *p;
        UT_EQ(decode_n(s, len, &p), 0);
        expect_encoding(p, s, len);
        sio_packet_free(p);
        free(s);

        s = nested("0", accepted[i] + 1, "{\"a\":", "1", "}", "", &len);
        ACCEPT_N(s, len);
        free(s);

        /* Binary packets walk the data for placeholders: a deep one inside the limit resolves. */
        s = nested("51-[\"x\",", accepted[i] - 1, "[", "{\"_placeholder\":true,\"num\":0}", "]", "]", &len);
        ACCEPT_N(s, len);
        free(s);
    }
    for (size_t i = 0; i < 3; i++) {
        char *s = nested("2[\"x\",", rejected[i], "[", "", "]", "]", &len);
        REJECT_N(s, len);
        free(s);
        s = nested("0", rejected[i] + 1, "{\"a\":", "1", "}", "", &len);
        REJECT_N(s, len);
        free(s);
        s = nested("51-[\"x\",", rejected[i], "[", "{\"_placeholder\":true,\"num\":0}", "]", "]", &len);
        REJECT_N(s, len);
        free(s);
    }
}

static void test_namespace_limits(void **state)
{
    (void)state;
    /* SIO_MAX_NSP_LEN bytes, '/' included, are accepted; one more is not. */
    size_t len;
    char *s = nested("2/", SIO_MAX_NSP_LEN - 1, "a", "", "", ",[\"x\"]", &len);
    sio_packet *p;
    UT_WHERE("a namespace of %d bytes", SIO_MAX_NSP_LEN);
    UT_EQ(decode_n(s, len, &p), 0);
    UT_UEQ(strlen(p->nsp), SIO_MAX_NSP_LEN);
    UT_BYTES_EQ(p->nsp, strlen(p->nsp), s + 1, (size_t)SIO_MAX_NSP_LEN);
    expect_encoding(p, s, len);
    sio_packet_free(p);
    free(s);

    s = nested("2/", SIO_MAX_NSP_LEN, "a", "", "", ",[\"x\"]", &len);
    REJECT_N(s, len);
    free(s);
    s = nested("0/", SIO_MAX_NSP_LEN, "a", "", "", "", &len); /* no comma */
    REJECT_N(s, len);
    free(s);
    s = nested("0/", SIO_MAX_NSP_LEN - 1, "a", "", "", "", &len);
    ACCEPT_N(s, len);
    free(s);
    s = nested("2/", 100000, "a", "", "", ",[\"x\"]", &len);
    REJECT_N(s, len);
    free(s);

    /* A NUL byte inside the namespace, with and without the comma. */
    REJECT("2/ad\0min,[\"x\"]");
    REJECT("0/admin\0");
    REJECT("0/\0,");
    REJECT("51-/a\0,[\"x\",{\"_placeholder\":true,\"num\":0}]");
}

/* ------------------------------------------------------------------------------------------------------ */
/* Accepted oddities                                                                                       */

static void test_accepted_oddities(void **state)
{
    (void)state;
    sio_packet *p;

    /* Numeric event names (socket.io-parser >= 4.0.4), as in 42[1,"x"]. */
    UT_WHERE("2[1,\"x\"]");
    UT_EQ(decode_n("2[1,\"x\"]", 8, &p), 0);
    UT_TRUE(cJSON_IsNumber(p->data->child) && p->data->child->valuedouble == 1.0);
    EXPECT_ENC(p, "2[1,\"x\"]");
    sio_packet_free(p);

    /* "error" is an ordinary event (CVE-2024-38355 was about crashing on it). */
    UT_WHERE("2[\"error\",\"x\"]");
    UT_EQ(decode_n("2[\"error\",\"x\"]", 14, &p), 0);
    sio_packet_free(p);

    /* Trailing JSON whitespace is accepted and not re-encoded. */
    static const char ws[] = "2/admin,4[\"x\"] \t\r\n  ";
    UT_WHERE("trailing whitespace");
    UT_EQ(decode_n(ws, sizeof(ws) - 1, &p), 0);
    UT_EQ(p->id, 4);
    EXPECT_ENC(p, "2/admin,4[\"x\"]");
    sio_packet_free(p);
    UT_EQ(decode_n("0{} ", 4, &p), 0);
    EXPECT_ENC(p, "0{}");
    sio_packet_free(p);

    /* A placeholder in a non-binary EVENT is plain JSON, whatever its num. */
    static const char plain[] = "2[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":99}]";
    UT_WHERE("%s", plain);
    UT_EQ(decode_n(plain, sizeof(plain) - 1, &p), 0);
    UT_EQ(p->type, SIO_PACKET_EVENT);
    UT_UEQ(p->nattachments, 0);
    UT_UEQ(p->nreceived, 0);
    expect_encoding(p, plain, sizeof(plain) - 1);
    sio_packet_free(p);
    sio_decoder d;
    sio_decoder_init(&d);
    UT_EQ(sio_decoder_add_text(&d, plain, sizeof(plain) - 1, &p), 1);
    sio_packet_free(p);
    sio_decoder_cleanup(&d);

    /* A binary packet need not use every attachment, nor have data (BINARY_ACK). */
    static const char unused[] = "52-[\"x\",{\"_placeholder\":true,\"num\":1}]";
    UT_WHERE("%s", unused);
    UT_EQ(decode_n(unused, sizeof(unused) - 1, &p), 0);
    UT_UEQ(p->nattachments, 2);
    sio_packet_free(p);
    UT_WHERE("61-");
    UT_EQ(decode_n("61-", 3, &p), 0);
    UT_TRUE(p->data == NULL);
    EXPECT_ENC(p, "61-");
    sio_packet_free(p);

    /* Leading zeros in the ack id read as JavaScript's Number() does. */
    UT_WHERE("2007[\"x\"]");
    UT_EQ(decode_n("2007[\"x\"]", 9, &p), 0);
    UT_EQ(p->id, 7);
    EXPECT_ENC(p, "27[\"x\"]");
    sio_packet_free(p);

    /* "/" spelled out is the main namespace. */
    UT_WHERE("2/,[\"x\"]");
    UT_EQ(decode_n("2/,[\"x\"]", 8, &p), 0);
    UT_BYTES_LIT(p->nsp, strlen(p->nsp), "/");
    EXPECT_ENC(p, "2[\"x\"]");
    sio_packet_free(p);

    /* Only len bytes are read: the same buffer with a shorter length is a shorter packet. */
    UT_WHERE("2[\"x\"]2[\"y\"] with len 6");
    UT_EQ(decode_n("2[\"x\"]2[\"y\"]", 6, &p), 0);
    expect_json(p->data, "[\"x\"]");
    sio_packet_free(p);
}

/*
 * The header: "The decoder has checked every placeholder of a binary packet (an integer num in [0,
 * attachments)), so resolving one never fails for a decoded binary packet." So every placeholder object in a
 * decoded binary packet, wherever it is, resolves to an attachment, or the packet is rejected.
 */
static void test_every_placeholder_of_a_binary_packet_resolves(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "51-[\"x\",{\"_placeholder\":true,\"num\":0}]",
        "51-[\"x\",{\"_placeholder\":true,\"num\":0,\"data\":{\"_placeholder\":true,\"num\":5}}]",
        "51-[\"x\",{\"_placeholder\":true,\"num\":0,\"a\":[{\"_placeholder\":true,\"num\":-1}]}]",
        "61-[{\"num\":0,\"_placeholder\":true,\"x\":{\"_placeholder\":true,\"num\":\"splice\"}}]",
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        sio_packet *p;
        UT_WHERE("%s", inputs[i]);
        if (decode_n(inputs[i], strlen(inputs[i]), &p) != 0)
            continue;
        const cJSON *ph[16];
        size_t n = collect_placeholders(p->data, ph, 0, 16);
        for (size_t k = 0; k < n; k++) {
            long idx = sio_placeholder_index(ph[k]);
            UT_WHERE("%s: placeholder %zu resolves to index %ld of %zu attachments", inputs[i], k, idx,
                     p->nattachments);
            UT_TRUE(idx >= 0 && (size_t)idx < p->nattachments);
        }
        sio_packet_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UT_TEST(test_roundtrip_every_type),
        UT_TEST(test_encode_built_by_hand),
        UT_TEST(test_json_content),
        UT_TEST(test_json_numbers_keep_their_value),
        UT_TEST(test_accepted_packets_encode_to_accepted_packets),
        UT_TEST(test_decoder_binary_event_1_2_10),
        UT_TEST(test_decoder_binary_ack),
        UT_TEST(test_decoder_empty_attachments),
        UT_TEST(test_decoder_plain_packets),
        UT_TEST(test_decoder_same_placeholder_twice),
        UT_TEST(test_placeholder_index),
        UT_TEST(test_decoder_text_while_pending),
        UT_TEST(test_decoder_binary_with_nothing_pending),
        UT_TEST(test_every_prefix),
        UT_TEST(test_reject_empty_and_unknown_types),
        UT_TEST(test_reject_event_payloads),
        UT_TEST(test_reject_reserved_event_names),
        UT_TEST(test_reject_ack_ids),
        UT_TEST(test_reject_connect_and_disconnect_data),
        UT_TEST(test_reject_attachment_headers),
        UT_TEST(test_reject_placeholders),
        UT_TEST(test_reject_trailing_garbage),
        UT_TEST(test_json_nesting_limit),
        UT_TEST(test_namespace_limits),
        UT_TEST(test_accepted_oddities),
        UT_TEST(test_every_placeholder_of_a_binary_packet_resolves),
    };
    return cmocka_run_group_tests_name("sio_parser", tests, NULL, NULL);
}
