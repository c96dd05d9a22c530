/*
 * Unit tests for engineio/eio_codec.h: text packets, polling payloads, base64, the open packet and UTF-8.
 *
 * Every decoder input is a heap copy of exactly its length (ut_dup), so a read past the end shows up under
 * ASan and valgrind.
 */
#include "unit.h"

#include "engineio/eio_codec.h"

/* ------------------------------------------------------------------------------------------------------ */
/* Text packets                                                                                            */

static void test_packet_decode_every_type(void **state)
{
    (void)state;
    static const char *const names[] = {"open", "close", "ping", "pong", "message", "upgrade", "noop"};
    for (int t = 0; t <= 6; t++) {
        uint8_t raw[16];
        raw[0] = (uint8_t)('0' + t);
        memcpy(raw + 1, "probe", 5);

        UT_WHERE("type %d (%s) with data", t, names[t]);
        uint8_t *in = ut_dup(raw, 6);
        eio_packet pkt;
        memset(&pkt, 0xa5, sizeof(pkt));
        UT_EQ(eio_packet_decode_text(in, 6, &pkt), 0);
        UT_EQ(pkt.type, t);
        UT_EQ(pkt.binary, 0);
        UT_PTR_EQ(pkt.data, in + 1);
        UT_BYTES_LIT(pkt.data, pkt.len, "probe");
        free(in);

        UT_WHERE("type %d (%s) without data", t, names[t]);
        in = ut_dup(raw, 1);
        memset(&pkt, 0xa5, sizeof(pkt));
        UT_EQ(eio_packet_decode_text(in, 1, &pkt), 0);
        UT_EQ(pkt.type, t);
        UT_EQ(pkt.binary, 0);
        UT_UEQ(pkt.len, 0);
        free(in);
    }
}

static void test_packet_decode_data_is_exact(void **state)
{
    (void)state;
    /* Text decoding passes any bytes through (UTF-8 is checked elsewhere), including NUL and 0xff. */
    static const uint8_t raw[] = {'4', 0x00, 0xff, '\n', 0x1e, 'x'};
    uint8_t *in = ut_dup(raw, sizeof(raw));
    eio_packet pkt;
    UT_EQ(eio_packet_decode_text(in, sizeof(raw), &pkt), 0);
    UT_EQ(pkt.type, EIO_PACKET_MESSAGE);
    UT_PTR_EQ(pkt.data, in + 1);
    UT_BYTES_EQ(pkt.data, pkt.len, raw + 1, sizeof(raw) - 1);
    free(in);

    /* Only `len` bytes are looked at: the same buffer with a shorter length gives a shorter packet. */
    in = ut_dup("42[\"chat\"]", 10);
    UT_EQ(eio_packet_decode_text(in, 3, &pkt), 0);
    UT_EQ(pkt.type, EIO_PACKET_MESSAGE);
    UT_PTR_EQ(pkt.data, in + 1);
    UT_BYTES_LIT(pkt.data, pkt.len, "2[");
    free(in);

    /* A large message keeps its exact length. */
    size_t big = 1u << 20;
    in = malloc(big);
    assert_non_null(in);
    in[0] = '4';
    memset(in + 1, 'x', big - 1);
    UT_EQ(eio_packet_decode_text(in, big, &pkt), 0);
    UT_PTR_EQ(pkt.data, in + 1);
    UT_UEQ(pkt.len, big - 1);
    free(in);
}

static void test_packet_decode_rejects(void **state)
{
    (void)state;
    eio_packet pkt;
    uint8_t *in = ut_dup("4", 1);
    UT_WHERE("empty input");
    UT_EQ(eio_packet_decode_text(in, 0, &pkt), EIO_CODEC_EPARSE);
    free(in);

    /* '7'..'9' are not v4 types; 'b' is only meaningful inside a polling payload. */
    static const uint8_t bad[] = {'7', '8', '9', 'a', 'b', 'B', '/', ':', '-', ' ', '{', '"', 0x00, 0x1e, 0x80, 0xff};
    for (size_t i = 0; i < sizeof(bad); i++) {
        uint8_t raw[3] = {bad[i], 'h', 'i'};
        for (size_t n = 1; n <= 3; n += 2) {
            UT_WHERE("type byte 0x%02x, %zu bytes", bad[i], n);
            in = ut_dup(raw, n);
            UT_EQ(eio_packet_decode_text(in, n, &pkt), EIO_CODEC_EPARSE);
            free(in);
        }
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* Polling payloads                                                                                        */

typedef struct pkt_expect {
    int type;
    int binary;
    const char *data;
    size_t len;
} pkt_expect;

#define TXT(t, lit) {(t), 0, (lit), sizeof(lit) - 1}
#define BIN(lit) {EIO_PACKET_MESSAGE, 1, (lit), sizeof(lit) - 1}

/*
 * Decodes in[0..len) as a payload, expecting the n packets of `want` and then `final` (0 when the payload is
 * finished, EIO_CODEC_EPARSE when the record after the n-th is invalid). Records are delimited in the
 * original bytes by 0x1e, which gives the expected data pointer (one past the record's first byte) and the
 * expected position after each packet (one past the separator, or the end).
 */
static void check_payload_at(const void *raw, size_t len, const pkt_expect *want, size_t n, int final, int line)
{
    /* Keep the caller's context (a loop index) and add the calling line and the packet index to it. */
    char outer[sizeof(ut_where)];
    memcpy(outer, ut_where, sizeof(outer));
    const char *sep_ = outer[0] ? ", " : "";
    const uint8_t *orig = raw;
    uint8_t *buf = ut_dup(raw, len);
    size_t pos = 0;
    for (size_t k = 0; k < n; k++) {
        size_t start = pos;
        const uint8_t *sep = memchr(orig + start, EIO_RECORD_SEPARATOR, len - start);
        size_t next = sep ? (size_t)(sep - orig) + 1 : len;
        eio_packet pkt;
        memset(&pkt, 0xa5, sizeof(pkt));
        UT_WHERE("%.120s%spayload of line %d, packet %zu of %zu (record at offset %zu)", outer, sep_, line, k + 1, n,
                 start);
        UT_EQ(eio_payload_next(buf, len, &pos, &pkt), 1);
        UT_EQ(pkt.type, want[k].type);
        UT_EQ(pkt.binary, want[k].binary);
        UT_UEQ(pkt.len, want[k].len);
        if (pkt.len > 0)
            UT_PTR_EQ(pkt.data, buf + start + 1);
        UT_BYTES_EQ(pkt.data, pkt.len, want[k].data, want[k].len);
        UT_UEQ(pos, next);
        /* Decoding a record in place never touches the bytes of the records after it. */
        UT_BYTES_EQ(buf + pos, len - pos, orig + pos, len - pos);
    }
    eio_packet pkt;
    UT_WHERE("%.120s%spayload of line %d, after the last of %zu packets", outer, sep_, line, n);
    UT_EQ(eio_payload_next(buf, len, &pos, &pkt), final);
    free(buf);
}

#define check_payload(raw, len, want, n, final) check_payload_at(raw, len, want, n, final, __LINE__)
#define check_payload_error(raw, len) check_payload_at(raw, len, NULL, 0, EIO_CODEC_EPARSE, __LINE__)
#define CHECK_PAYLOAD(lit, want, final)                                                                       \
    check_payload_at(lit, sizeof(lit) - 1, want, sizeof(want) / sizeof(want[0]), final, __LINE__)

static void test_payload_single_packet(void **state)
{
    (void)state;
    static const pkt_expect msg[] = {TXT(EIO_PACKET_MESSAGE, "hello")};
    CHECK_PAYLOAD("4hello", msg, 0);
    static const pkt_expect ping[] = {TXT(EIO_PACKET_PING, "")};
    CHECK_PAYLOAD("2", ping, 0);
    static const pkt_expect probe[] = {TXT(EIO_PACKET_PING, "probe")};
    CHECK_PAYLOAD("2probe", probe, 0);
    static const pkt_expect close_[] = {TXT(EIO_PACKET_CLOSE, "")};
    CHECK_PAYLOAD("1", close_, 0);
    static const pkt_expect utf8[] = {TXT(EIO_PACKET_MESSAGE, "\xe2\x82\xac \xf0\x9f\x98\x80")};
    CHECK_PAYLOAD("4\xe2\x82\xac \xf0\x9f\x98\x80", utf8, 0);
}

static void test_payload_several_packets(void **state)
{
    (void)state;
    static const pkt_expect want[] = {
        TXT(EIO_PACKET_MESSAGE, "0"),
        TXT(EIO_PACKET_MESSAGE, "2[\"chat\",\"hi\"]"),
        TXT(EIO_PACKET_PONG, ""),
        TXT(EIO_PACKET_NOOP, ""),
        TXT(EIO_PACKET_UPGRADE, ""),
        TXT(EIO_PACKET_OPEN, "{}"),
        TXT(EIO_PACKET_CLOSE, ""),
    };
    CHECK_PAYLOAD("40\x1e"
                  "42[\"chat\",\"hi\"]\x1e"
                  "3\x1e"
                  "6\x1e"
                  "5\x1e"
                  "0{}\x1e"
                  "1",
                  want, 0);

    static const pkt_expect twice[] = {TXT(EIO_PACKET_MESSAGE, "a"), TXT(EIO_PACKET_MESSAGE, "b")};
    CHECK_PAYLOAD("4a\x1e"
                  "4b",
                  twice, 0);
}

static void test_payload_binary(void **state)
{
    (void)state;
    static const pkt_expect three[] = {BIN("\x01\x02\x03")};
    CHECK_PAYLOAD("bAQID", three, 0);
    static const pkt_expect four[] = {BIN("\x00\x01\x02\x03")};
    CHECK_PAYLOAD("bAAECAw==", four, 0);
    CHECK_PAYLOAD("bAAECAw", four, 0);
    static const pkt_expect five[] = {BIN("\x00\x01\x02\x03\x04")};
    CHECK_PAYLOAD("bAAECAwQ=", five, 0);
    CHECK_PAYLOAD("bAAECAwQ", five, 0);
    /* A decoded byte equal to the separator is data, not a separator. */
    static const pkt_expect rs[] = {BIN("\x1e\x1e\x1e")};
    CHECK_PAYLOAD("bHh4e", rs, 0);
    static const pkt_expect hi[] = {BIN("\xfb\xff\xbf")};
    CHECK_PAYLOAD("b+/+/", hi, 0);
}

static void test_payload_binary_empty(void **state)
{
    (void)state;
    /* "b" alone is an empty binary message. */
    static const pkt_expect one[] = {BIN("")};
    CHECK_PAYLOAD("b", one, 0);
    static const pkt_expect two[] = {BIN(""), BIN("")};
    CHECK_PAYLOAD("b\x1e"
                  "b",
                  two, 0);
    static const pkt_expect last[] = {TXT(EIO_PACKET_MESSAGE, "a"), BIN("")};
    CHECK_PAYLOAD("4a\x1e"
                  "b",
                  last, 0);
}

static void test_payload_mixed(void **state)
{
    (void)state;
    static const pkt_expect want[] = {
        TXT(EIO_PACKET_MESSAGE, "51-[\"up\",{\"_placeholder\":true,\"num\":0}]"),
        BIN("\x00\x01\x02\x03"),
        TXT(EIO_PACKET_MESSAGE, "hello"),
        BIN("\xff"),
        BIN(""),
        TXT(EIO_PACKET_PING, "probe"),
        BIN("foobar"),
    };
    CHECK_PAYLOAD("451-[\"up\",{\"_placeholder\":true,\"num\":0}]\x1e"
                  "bAAECAw==\x1e"
                  "4hello\x1e"
                  "b/w==\x1e"
                  "b\x1e"
                  "2probe\x1e"
                  "bZm9vYmFy",
                  want, 0);
}

static void test_payload_empty_rejected(void **state)
{
    (void)state;
    uint8_t *buf = ut_alloc(0);
    size_t pos = 0;
    eio_packet pkt;
    UT_EQ(eio_payload_next(buf, 0, &pos, &pkt), EIO_CODEC_EPARSE);
    free(buf);
}

static void test_payload_trailing_separator_rejected(void **state)
{
    (void)state;
    static const pkt_expect one[] = {TXT(EIO_PACKET_MESSAGE, "a")};
    CHECK_PAYLOAD("4a\x1e", one, EIO_CODEC_EPARSE);
    static const pkt_expect two[] = {TXT(EIO_PACKET_MESSAGE, "a"), TXT(EIO_PACKET_PING, "")};
    CHECK_PAYLOAD("4a\x1e"
                  "2\x1e",
                  two, EIO_CODEC_EPARSE);
    static const pkt_expect bin[] = {BIN("\x00")};
    CHECK_PAYLOAD("bAA==\x1e", bin, EIO_CODEC_EPARSE);
    static const pkt_expect bin_empty[] = {BIN("")};
    CHECK_PAYLOAD("b\x1e", bin_empty, EIO_CODEC_EPARSE);
}

static void test_payload_empty_record_rejected(void **state)
{
    (void)state;
    static const pkt_expect one[] = {TXT(EIO_PACKET_MESSAGE, "a")};
    CHECK_PAYLOAD("4a\x1e\x1e"
                  "4b",
                  one, EIO_CODEC_EPARSE);
    static const pkt_expect bin[] = {BIN("\x01\x02\x03")};
    CHECK_PAYLOAD("bAQID\x1e\x1e"
                  "4b",
                  bin, EIO_CODEC_EPARSE);
    /* A leading separator is an empty first record. */
    check_payload_error("\x1e"
                        "4a",
                        3);
}

static void test_payload_only_separators_rejected(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 8; n++) {
        uint8_t raw[8];
        memset(raw, EIO_RECORD_SEPARATOR, sizeof(raw));
        UT_WHERE("%zu separators", n);
        check_payload_error(raw, n);
    }
}

static void test_payload_unknown_type_rejected(void **state)
{
    (void)state;
    check_payload_error("7", 1);
    check_payload_error("9hello", 6);
    check_payload_error("ahello", 6);
    check_payload_error("B", 1);
    check_payload_error("\x00", 1);
    static const pkt_expect one[] = {TXT(EIO_PACKET_MESSAGE, "a")};
    CHECK_PAYLOAD("4a\x1e"
                  "7x",
                  one, EIO_CODEC_EPARSE);
    CHECK_PAYLOAD("4a\x1e"
                  "a",
                  one, EIO_CODEC_EPARSE);
    CHECK_PAYLOAD("4a\x1e"
                  "9\x1e"
                  "4b",
                  one, EIO_CODEC_EPARSE);
}

static void test_payload_bad_base64_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
    } bad[] = {
#define BAD(lit) {lit, sizeof(lit) - 1}
        BAD("b!!!!"),     /* outside the alphabet */
        BAD("bAA=A"),     /* padding before data */
        BAD("bA=AA"),     /* padding before data */
        BAD("b=AAA"),     /* padding first */
        BAD("bA==="),     /* three padding characters */
        BAD("b===="),     /* padding only */
        BAD("bAA==AA=="), /* padding in the middle */
        BAD("bA"),        /* length 1 mod 4 */
        BAD("bAAAAA"),    /* length 1 mod 4 */
        BAD("bAAAAA==="), /* length 1 mod 4 before the padding */
        BAD("bAA A"),     /* whitespace */
        BAD("bAAA\n"),    /* a newline */
        BAD("b-_-_"),     /* base64url is not the alphabet */
        BAD("bAA\x80\x80"),
        BAD("bAA\x00\x00"),
#undef BAD
    };
    static const pkt_expect one[] = {TXT(EIO_PACKET_MESSAGE, "ok")};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t raw[64];
        size_t n = bad[i].n;
        UT_WHERE("bad base64 record #%zu", i);
        check_payload_error(bad[i].s, n);
        /* The same record after a valid one: the first still decodes. */
        memcpy(raw, "4ok\x1e", 4);
        memcpy(raw + 4, bad[i].s, n);
        check_payload(raw, n + 4, one, 1, EIO_CODEC_EPARSE);
    }
}

/* Builds a v4 payload from packets: the type digit and the data, or 'b' and base64. Returns its length. */
static size_t encode_payload(uint8_t *out, const pkt_expect *pkts, size_t n)
{
    size_t o = 0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0)
            out[o++] = EIO_RECORD_SEPARATOR;
        if (pkts[k].binary) {
            out[o++] = 'b';
            o += eio_base64_encode((const uint8_t *)pkts[k].data, pkts[k].len, (char *)out + o);
        } else {
            out[o++] = (uint8_t)('0' + pkts[k].type);
            memcpy(out + o, pkts[k].data, pkts[k].len);
            o += pkts[k].len;
        }
    }
    return o;
}

static void test_payload_every_byte_roundtrip(void **state)
{
    (void)state;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    uint8_t rev[256];
    for (int i = 0; i < 256; i++)
        rev[i] = (uint8_t)(255 - i);

    /* One record holding every byte value, between text records; and the bytes reversed. */
    pkt_expect pkts[5] = {
        TXT(EIO_PACKET_MESSAGE, "before"),
        {EIO_PACKET_MESSAGE, 1, (const char *)all, sizeof(all)},
        TXT(EIO_PACKET_MESSAGE, "after"),
        {EIO_PACKET_MESSAGE, 1, (const char *)rev, sizeof(rev)},
        TXT(EIO_PACKET_PING, ""),
    };
    uint8_t raw[1024];
    size_t len = encode_payload(raw, pkts, 5);
    /* 256 bytes need 344 base64 characters: "b" + 344 on each binary record. */
    UT_UEQ(len, 7 + 1 + 345 + 1 + 6 + 1 + 345 + 1 + 1);
    check_payload(raw, len, pkts, 5, 0);

    /* Every byte value as its own one-byte binary message. */
    pkt_expect each[256];
    for (int i = 0; i < 256; i++)
        each[i] = (pkt_expect){EIO_PACKET_MESSAGE, 1, (const char *)all + i, 1};
    uint8_t *big = malloc(256 * 6);
    assert_non_null(big);
    len = encode_payload(big, each, 256);
    UT_UEQ(len, 256 * 6 - 1);
    check_payload(big, len, each, 256, 0);
    free(big);
}

static void test_payload_random_roundtrip(void **state)
{
    (void)state;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    enum { MAX_PKTS = 12, MAX_LEN = 80 };
    for (int iter = 0; iter < 2000; iter++) {
        uint8_t data[MAX_PKTS][MAX_LEN];
        pkt_expect pkts[MAX_PKTS];
        size_t n = 1 + ut_rand(&rng) % MAX_PKTS;
        for (size_t k = 0; k < n; k++) {
            size_t dlen = ut_rand(&rng) % MAX_LEN;
            int binary = (int)(ut_rand(&rng) & 1);
            if (binary) {
                ut_fill_random(&rng, data[k], dlen);
                pkts[k] = (pkt_expect){EIO_PACKET_MESSAGE, 1, (const char *)data[k], dlen};
            } else {
                /* Text data may hold any byte except the separator. */
                ut_fill_random(&rng, data[k], dlen);
                for (size_t i = 0; i < dlen; i++)
                    if (data[k][i] == EIO_RECORD_SEPARATOR)
                        data[k][i] = '~';
                pkts[k] = (pkt_expect){(int)(ut_rand(&rng) % 7), 0, (const char *)data[k], dlen};
            }
        }
        uint8_t raw[MAX_PKTS * (2 + (MAX_LEN + 2) / 3 * 4)];
        size_t len = encode_payload(raw, pkts, n);
        UT_WHERE("random payload %d", iter);
        check_payload(raw, len, pkts, n, 0);
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* Base64                                                                                                  */

static const struct {
    const char *plain;
    const char *padded;
    const char *unpadded;
} rfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void test_base64_rfc4648_encode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        size_t n = strlen(rfc4648[i].plain);
        size_t want = strlen(rfc4648[i].padded);
        UT_WHERE("BASE64(\"%s\")", rfc4648[i].plain);
        UT_UEQ(eio_base64_encoded_len(n), want);
        uint8_t *in = ut_dup(rfc4648[i].plain, n);
        char *out = (char *)ut_alloc(want);
        UT_UEQ(eio_base64_encode(in, n, out), want);
        UT_BYTES_EQ(out, want, rfc4648[i].padded, want);
        free(out);
        free(in);
    }
}

/* Decodes `enc` out of place into a buffer of exactly n*3/4 bytes, as the contract allows, and in place. */
static void check_base64_decode(const char *enc, size_t n, const uint8_t *want, size_t wlen)
{
    uint8_t *in = ut_dup(enc, n);
    uint8_t *out = ut_alloc(n * 3 / 4);
    UT_EQ(eio_base64_decode(in, n, out), (long)wlen);
    UT_BYTES_EQ(out, wlen, want, wlen);
    UT_EQ(eio_base64_decode(in, n, in), (long)wlen);
    UT_BYTES_EQ(in, wlen, want, wlen);
    free(out);
    free(in);
}

static void check_base64_reject(const char *enc, size_t n)
{
    uint8_t *in = ut_dup(enc, n);
    uint8_t *out = ut_alloc(n * 3 / 4);
    UT_EQ(eio_base64_decode(in, n, out), EIO_CODEC_EPARSE);
    UT_EQ(eio_base64_decode(in, n, in), EIO_CODEC_EPARSE);
    free(out);
    free(in);
}

static void test_base64_rfc4648_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
        const uint8_t *plain = (const uint8_t *)rfc4648[i].plain;
        size_t n = strlen(rfc4648[i].plain);
        UT_WHERE("padded \"%s\"", rfc4648[i].padded);
        check_base64_decode(rfc4648[i].padded, strlen(rfc4648[i].padded), plain, n);
        UT_WHERE("unpadded \"%s\"", rfc4648[i].unpadded);
        check_base64_decode(rfc4648[i].unpadded, strlen(rfc4648[i].unpadded), plain, n);
    }
}

static void test_base64_alphabet(void **state)
{
    (void)state;
    /* The 64 characters in order encode the 48 bytes 00 10 83 10 51 87 ...: check both ways. */
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t bytes[48];
    for (int i = 0; i < 16; i++) {
        uint32_t v = (uint32_t)(4 * i) << 18 | (uint32_t)(4 * i + 1) << 12 | (uint32_t)(4 * i + 2) << 6 |
                     (uint32_t)(4 * i + 3);
        bytes[3 * i] = (uint8_t)(v >> 16);
        bytes[3 * i + 1] = (uint8_t)(v >> 8);
        bytes[3 * i + 2] = (uint8_t)v;
    }
    char out[64];
    UT_UEQ(eio_base64_encode(bytes, sizeof(bytes), out), 64);
    UT_BYTES_EQ(out, 64, alphabet, 64);
    UT_WHERE("decoding the alphabet");
    check_base64_decode(alphabet, 64, bytes, sizeof(bytes));

    static const uint8_t ff[] = {0xff, 0xff, 0xff};
    UT_WHERE("\"////\"");
    check_base64_decode("////", 4, ff, 3);
    static const uint8_t fb[] = {0xfb, 0xef, 0xbe};
    UT_WHERE("\"++++\"");
    check_base64_decode("++++", 4, fb, 3);
    static const uint8_t zero[] = {0, 0, 0};
    UT_WHERE("\"AAAA\"");
    check_base64_decode("AAAA", 4, zero, 3);
}

static void test_base64_roundtrip_lengths(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (size_t n = 0; n <= 64; n++) {
        for (int rep = 0; rep < 8; rep++) {
            UT_WHERE("%zu random bytes, repetition %d", n, rep);
            uint8_t plain[64];
            ut_fill_random(&rng, plain, n);
            size_t elen = eio_base64_encoded_len(n);
            UT_UEQ(elen, (n + 2) / 3 * 4);
            char *enc = (char *)ut_alloc(elen);
            uint8_t *in = ut_dup(plain, n);
            UT_UEQ(eio_base64_encode(in, n, enc), elen);
            size_t pad = (3 - n % 3) % 3;
            for (size_t i = 0; i < elen; i++) {
                char c = enc[i];
                int ok = i >= elen - pad ? c == '=' : (strchr("+/", c) || (c >= 'A' && c <= 'Z') ||
                                                       (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
                UT_TRUE(ok);
            }
            check_base64_decode(enc, elen, plain, n);
            check_base64_decode(enc, elen - pad, plain, n);
            free(in);
            free(enc);
        }
    }
}

static void test_base64_decode_only_reads_n(void **state)
{
    (void)state;
    /* Only n characters are decoded: "Zm9vYmFy" with n = 2, 3, 4, 6 is "f", "fo", "foo", "foob". */
    static const struct {
        size_t n;
        const char *want;
    } cases[] = {{0, ""}, {2, "f"}, {3, "fo"}, {4, "foo"}, {6, "foob"}, {7, "fooba"}, {8, "foobar"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        UT_WHERE("first %zu characters", cases[i].n);
        check_base64_decode("Zm9vYmFy", cases[i].n, (const uint8_t *)cases[i].want, strlen(cases[i].want));
    }
}

static void test_base64_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "A", "AAAAA", "AAAAAAAAA", "Zm9vY",      /* length 1 mod 4 */
        "=", "==", "===", "====", "A===", "=AAA", /* padding alone or too much */
        "AA=A", "A=AA", "Zg=a", "Zm=v",           /* padding before data */
        "Zg==Zg==", "Zm8=Zm8=", "Zg==AAAA",       /* padding in the middle */
        "!!!!", "Zm9v!", "Zm9\"", "Zm 9v", "Zm9v\n", "Zm9v\r\n", "Zm9-", "Zm9_", "Zm9.", "Zm9:",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        UT_WHERE("\"%s\"", bad[i]);
        check_base64_reject(bad[i], strlen(bad[i]));
    }
    /* Every byte outside the alphabet, as the 4th character of a quantum and as the 1st. */
    for (int c = 0; c < 256; c++) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')
            continue;
        if (c == '=')
            continue;
        uint8_t q[4] = {'Z', 'm', '9', (uint8_t)c};
        UT_WHERE("byte 0x%02x last", c);
        check_base64_reject((const char *)q, 4);
        uint8_t r[4] = {(uint8_t)c, 'm', '9', 'v'};
        UT_WHERE("byte 0x%02x first", c);
        check_base64_reject((const char *)r, 4);
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* Open packet                                                                                             */

#define SID "AbCdEfGhIjKlMnOp-_19"

static void test_open_json_polling(void **state)
{
    (void)state;
    static const char want[] = "{\"sid\":\"" SID "\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
                               "\"pingTimeout\":20000,\"maxPayload\":1000000}";
    char out[256];
    memset(out, 'X', sizeof(out));
    int n = eio_open_json(out, sizeof(out), SID, 1, 25000, 20000, 1000000);
    UT_EQ(n, sizeof(want) - 1);
    UT_BYTES_EQ(out, sizeof(want), want, sizeof(want)); /* with the NUL */
}

static void test_open_json_websocket(void **state)
{
    (void)state;
    static const char want[] = "{\"sid\":\"" SID "\",\"upgrades\":[],\"pingInterval\":300,"
                               "\"pingTimeout\":200,\"maxPayload\":100}";
    char out[256];
    memset(out, 'X', sizeof(out));
    int n = eio_open_json(out, sizeof(out), SID, 0, 300, 200, 100);
    UT_EQ(n, sizeof(want) - 1);
    UT_BYTES_EQ(out, sizeof(want), want, sizeof(want));
}

static void test_open_json_extreme_values(void **state)
{
    (void)state;
    static const char want[] = "{\"sid\":\"" SID "\",\"upgrades\":[\"websocket\"],\"pingInterval\":4294967295,"
                               "\"pingTimeout\":0,\"maxPayload\":4294967295}";
    char out[256];
    int n = eio_open_json(out, sizeof(out), SID, 1, 4294967295u, 0, 4294967295ul);
    UT_EQ(n, sizeof(want) - 1);
    UT_BYTES_EQ(out, sizeof(want), want, sizeof(want));
}

static void test_open_json_buffer_too_small(void **state)
{
    (void)state;
    char full[256];
    int len = eio_open_json(full, sizeof(full), SID, 1, 25000, 20000, 1000000);
    assert_true(len > 0);
    /* Every capacity that cannot hold the JSON and its NUL fails; exactly enough succeeds. Each buffer is
     * allocated with the exact capacity so a write past it is caught. */
    for (size_t cap = 0; cap <= (size_t)len + 1; cap++) {
        UT_WHERE("capacity %zu for %d bytes", cap, len);
        char *out = (char *)ut_alloc(cap);
        int n = eio_open_json(out, cap, SID, 1, 25000, 20000, 1000000);
        if (cap <= (size_t)len) {
            UT_TRUE(n < 0);
            if (cap > 0)
                UT_TRUE(memchr(out, '\0', cap) != NULL);
        } else {
            UT_EQ(n, len);
            UT_BYTES_EQ(out, cap, full, (size_t)len + 1);
        }
        free(out);
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* UTF-8                                                                                                   */

static void check_utf8(const char *s, size_t n, int want)
{
    uint8_t *in = ut_dup(s, n);
    int got = eio_utf8_valid(in, n);
    if (got != want) {
        print_error("eio_utf8_valid is %d, expected %d\n", got, want);
        ut_print_escaped("input", in, n);
    }
    UT_EQ(got, want);
    free(in);
}

#define VALID(lit) check_utf8(lit, sizeof(lit) - 1, 1)
#define INVALID(lit) check_utf8(lit, sizeof(lit) - 1, 0)

static void test_utf8_valid(void **state)
{
    (void)state;
    VALID("");
    VALID("hello");
    VALID("\x00");
    VALID("\x7f");
    /* Kuhn 1: "κόσμε". */
    VALID("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");
    /* Kuhn 2.1 / 2.2: first and last sequences of each length. */
    VALID("\xc2\x80");
    VALID("\xdf\xbf");
    VALID("\xe0\xa0\x80");
    VALID("\xef\xbf\xbf");
    VALID("\xf0\x90\x80\x80");
    VALID("\xf4\x8f\xbf\xbf");
    /* Kuhn 2.3: other boundaries. */
    VALID("\xed\x9f\xbf"); /* U+D7FF */
    VALID("\xee\x80\x80"); /* U+E000 */
    VALID("\xef\xbf\xbd"); /* U+FFFD */
    /* Kuhn 5.3: noncharacters are valid UTF-8. */
    VALID("\xef\xbf\xbe");
    VALID("\xef\xb7\x90");
    VALID("\xf3\xbf\xbf\xbf");
    /* Mixed lengths, and a 4-byte sequence right at the end. */
    VALID("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z");
    VALID("\xe2\x82\xac\xf0\x9f\x98\x80");
}

static void test_utf8_overlong(void **state)
{
    (void)state;
    /* Kuhn 4.1: "/" overlong. */
    INVALID("\xc0\xaf");
    INVALID("\xe0\x80\xaf");
    INVALID("\xf0\x80\x80\xaf");
    INVALID("\xf8\x80\x80\x80\xaf");
    INVALID("\xfc\x80\x80\x80\x80\xaf");
    /* Kuhn 4.2: maximum overlongs. */
    INVALID("\xc1\xbf");
    INVALID("\xe0\x9f\xbf");
    INVALID("\xf0\x8f\xbf\xbf");
    INVALID("\xf8\x87\xbf\xbf\xbf");
    INVALID("\xfc\x83\xbf\xbf\xbf\xbf");
    /* Kuhn 4.3: overlong NUL. */
    INVALID("\xc0\x80");
    INVALID("\xe0\x80\x80");
    INVALID("\xf0\x80\x80\x80");
    INVALID("\xf8\x80\x80\x80\x80");
    INVALID("\xfc\x80\x80\x80\x80\x80");
    /* After valid text too. */
    INVALID("ok\xc0\x80");
}

static void test_utf8_surrogates(void **state)
{
    (void)state;
    /* Kuhn 5.1: single surrogates. */
    INVALID("\xed\xa0\x80");
    INVALID("\xed\xad\xbf");
    INVALID("\xed\xae\x80");
    INVALID("\xed\xaf\xbf");
    INVALID("\xed\xb0\x80");
    INVALID("\xed\xbe\x80");
    INVALID("\xed\xbf\xbf");
    /* Kuhn 5.2: paired surrogates (CESU-8). */
    INVALID("\xed\xa0\x80\xed\xb0\x80");
    INVALID("\xed\xa0\x80\xed\xbf\xbf");
    INVALID("\xed\xad\xbf\xed\xb0\x80");
    INVALID("\xed\xaf\xbf\xed\xbf\xbf");
}

static void test_utf8_above_max(void **state)
{
    (void)state;
    INVALID("\xf4\x90\x80\x80"); /* U+110000 */
    INVALID("\xf4\xbf\xbf\xbf");
    INVALID("\xf5\x80\x80\x80");
    INVALID("\xf7\xbf\xbf\xbf"); /* Kuhn 2.1: U+1FFFFF */
    INVALID("\xf8\x88\x80\x80\x80");
    INVALID("\xfb\xbf\xbf\xbf\xbf");
    INVALID("\xfc\x84\x80\x80\x80\x80");
    INVALID("\xfd\xbf\xbf\xbf\xbf\xbf");
    /* Kuhn 3.5: impossible bytes. */
    INVALID("\xfe");
    INVALID("\xff");
    INVALID("\xfe\xfe\xff\xff");
}

static void test_utf8_truncated(void **state)
{
    (void)state;
    /* Kuhn 3.3: the last continuation byte missing, at the end of the input. */
    INVALID("\xc0");
    INVALID("\xe0\x80");
    INVALID("\xf0\x80\x80");
    INVALID("\xdf");
    INVALID("\xef\xbf");
    INVALID("\xf7\xbf\xbf");
    INVALID("\xc2");
    INVALID("\xe0\xa0");
    INVALID("\xf0\x90\x80");
    INVALID("\xf4\x8f\xbf");
    INVALID("\xe2");
    INVALID("\xf0");
    INVALID("ok\xe2\x82");
    /* Followed by ASCII instead of a continuation byte. */
    INVALID("\xc2" "A");
    INVALID("\xe2\x82" "A");
    INVALID("\xf0\x9f\x98" "A");
    INVALID("\xc2 ");
    /* Kuhn 3.4: all of 3.3 concatenated. */
    INVALID("\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf"
            "\xbf\xfd\xbf\xbf\xbf\xbf");
    /* Kuhn 3.2: lonely start characters followed by a space. */
    INVALID("\xc0 \xc1 ");
    INVALID("\xe0 \xe1 ");
    INVALID("\xf0 \xf1 ");
    /* A valid sequence cut by the length argument: the byte after n is never looked at. */
    check_utf8("\xe2\x82\xac", 2, 0);
    check_utf8("\xf0\x9f\x98\x80", 3, 0);
    check_utf8("a\xc3\xa9", 2, 0);
}

static void test_utf8_continuation_bytes(void **state)
{
    (void)state;
    /* Kuhn 3.1: unexpected continuation bytes. */
    INVALID("\x80");
    INVALID("\xbf");
    INVALID("\x80\xbf");
    INVALID("\x80\xbf\x80");
    INVALID("\x80\xbf\x80\xbf");
    INVALID("A\x80" "B");
    INVALID("\xc3\xa9\xa9"); /* one too many */
    INVALID("\xe2\x82\xac\x80");
    char all[64];
    for (int i = 0; i < 64; i++)
        all[i] = (char)(0x80 + i);
    check_utf8(all, sizeof(all), 0);
    for (int i = 0; i < 64; i++) {
        UT_WHERE("lone continuation byte 0x%02x", 0x80 + i);
        check_utf8(all + i, 1, 0);
    }
}

/*
 * An independent validator written from Table 3-7 of the Unicode Standard (well-formed byte sequences),
 * for the exhaustive comparison below.
 */
static int ref_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        uint8_t lo = 0x80, hi = 0xbf;
        size_t need;
        if (c <= 0x7f) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c == 0xe0) {
            need = 2;
            lo = 0xa0;
        } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
            need = 2;
        } else if (c == 0xed) {
            need = 2;
            hi = 0x9f;
        } else if (c == 0xf0) {
            need = 3;
            lo = 0x90;
        } else if (c >= 0xf1 && c <= 0xf3) {
            need = 3;
        } else if (c == 0xf4) {
            need = 3;
            hi = 0x8f;
        } else {
            return 0;
        }
        if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return 0;
        i += need + 1;
    }
    return 1;
}

static void compare_utf8(const uint8_t *s, size_t n)
{
    int got = eio_utf8_valid(s, n);
    int want = ref_utf8_valid(s, n);
    if (got != want) {
        print_error("eio_utf8_valid is %d, the Unicode table says %d\n", got, want);
        ut_print_escaped("input", s, n);
        fail();
    }
}

static void test_utf8_exhaustive(void **state)
{
    (void)state;
    uint8_t s[4];
    /* Every 1- and 2-byte string. */
    for (int a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        compare_utf8(s, 1);
        for (int b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            compare_utf8(s, 2);
        }
    }
    /* Every 3-byte string that starts with a multi-byte lead (others are decided by their first bytes). */
    for (int a = 0xc0; a < 256; a++) {
        s[0] = (uint8_t)a;
        for (int b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            for (int c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                compare_utf8(s, 3);
            }
        }
    }
    /* 4-byte strings: every lead from 0xe0 and second byte, with representative third and fourth bytes. */
    static const uint8_t rep[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xff};
    for (int a = 0xe0; a < 256; a++) {
        s[0] = (uint8_t)a;
        for (int b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            for (size_t c = 0; c < sizeof(rep); c++) {
                s[2] = rep[c];
                for (size_t d = 0; d < sizeof(rep); d++) {
                    s[3] = rep[d];
                    compare_utf8(s, 4);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UT_TEST(test_packet_decode_every_type),
        UT_TEST(test_packet_decode_data_is_exact),
        UT_TEST(test_packet_decode_rejects),
        UT_TEST(test_payload_single_packet),
        UT_TEST(test_payload_several_packets),
        UT_TEST(test_payload_binary),
        UT_TEST(test_payload_binary_empty),
        UT_TEST(test_payload_mixed),
        UT_TEST(test_payload_empty_rejected),
        UT_TEST(test_payload_trailing_separator_rejected),
        UT_TEST(test_payload_empty_record_rejected),
        UT_TEST(test_payload_only_separators_rejected),
        UT_TEST(test_payload_unknown_type_rejected),
        UT_TEST(test_payload_bad_base64_rejected),
        UT_TEST(test_payload_every_byte_roundtrip),
        UT_TEST(test_payload_random_roundtrip),
        UT_TEST(test_base64_rfc4648_encode),
        UT_TEST(test_base64_rfc4648_decode),
        UT_TEST(test_base64_alphabet),
        UT_TEST(test_base64_roundtrip_lengths),
        UT_TEST(test_base64_decode_only_reads_n),
        UT_TEST(test_base64_rejects),
        UT_TEST(test_open_json_polling),
        UT_TEST(test_open_json_websocket),
        UT_TEST(test_open_json_extreme_values),
        UT_TEST(test_open_json_buffer_too_small),
        UT_TEST(test_utf8_valid),
        UT_TEST(test_utf8_overlong),
        UT_TEST(test_utf8_surrogates),
        UT_TEST(test_utf8_above_max),
        UT_TEST(test_utf8_truncated),
        UT_TEST(test_utf8_continuation_bytes),
        UT_TEST(test_utf8_exhaustive),
    };
    return cmocka_run_group_tests_name("eio_codec", tests, NULL, NULL);
}
