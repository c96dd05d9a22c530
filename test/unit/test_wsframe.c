/*
 * Unit tests for engineio/eio_wsframe.h: client frame headers (every prefix, every split of a stream),
 * unmasking, server headers, Sec-WebSocket-Accept and key validation.
 *
 * Expected headers are built here from RFC 6455 section 5.2 by hand (client_header), not with the encoder
 * under test. Parser inputs are heap copies of exactly their length, so an over-read shows under ASan.
 */
#include "unit.h"

#include "engineio/eio_wsframe.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#define PROTO (-EIO_WS_CLOSE_PROTOCOL)

static const uint64_t lengths[] = {
    0, 1, 125, 126, 127, 1000, 65535, 65536, 65537, 0xffffffffull, 0x100000000ull, 0x100000001ull,
    0x7fffffffffffffffull,
};

/* A masked client frame header (RFC 6455 5.2) with the minimal length encoding. Returns its length. */
static size_t client_header(uint8_t out[14], int fin, int opcode, uint64_t len, const uint8_t mask[4])
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    if (len <= 125) {
        out[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 0x80 | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(len >> shift);
    }
    memcpy(out + n, mask, 4);
    return n + 4;
}

static int parse_copy(const uint8_t *in, size_t n, eio_ws_frame *f)
{
    uint8_t *buf = ut_dup(in, n);
    int r = eio_ws_frame_parse(buf, n, f);
    free(buf);
    return r;
}

/*
 * Every proper prefix of the header asks for more (0); the whole header, alone or followed by payload bytes,
 * gives the same complete result.
 */
static void check_header_every_prefix(const uint8_t *hdr, size_t hlen, int fin, int opcode, uint64_t len,
                                      const uint8_t mask[4])
{
    uint8_t buf[14 + 3];
    memcpy(buf, hdr, hlen);
    memcpy(buf + hlen, "\x11\x22\x33", 3);
    for (size_t k = 0; k < hlen; k++) {
        eio_ws_frame f;
        UT_EQ(parse_copy(buf, k, &f), 0);
    }
    for (size_t extra = 0; extra <= 3; extra++) {
        eio_ws_frame f;
        memset(&f, 0xa5, sizeof(f));
        UT_EQ(parse_copy(buf, hlen + extra, &f), hlen);
        UT_UEQ(f.header_len, hlen);
        UT_EQ(f.fin, fin);
        UT_EQ(f.opcode, opcode);
        UT_UEQ(f.payload_len, len);
        UT_BYTES_EQ(f.mask, 4, mask, 4);
    }
}

static void test_parse_data_frames_every_prefix(void **state)
{
    (void)state;
    static const int opcodes[] = {EIO_WS_CONT, EIO_WS_TEXT, EIO_WS_BINARY};
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    for (size_t o = 0; o < 3; o++) {
        for (int fin = 0; fin <= 1; fin++) {
            for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
                UT_WHERE("opcode %d fin %d payload length %llu", opcodes[o], fin, (unsigned long long)lengths[i]);
                uint8_t hdr[14];
                size_t hlen = client_header(hdr, fin, opcodes[o], lengths[i], mask);
                UT_UEQ(hlen, lengths[i] <= 125 ? 6 : lengths[i] <= 65535 ? 8 : 14);
                check_header_every_prefix(hdr, hlen, fin, opcodes[o], lengths[i], mask);
            }
        }
    }
}

static void test_parse_control_frames_every_prefix(void **state)
{
    (void)state;
    static const int opcodes[] = {EIO_WS_CLOSE, EIO_WS_PING, EIO_WS_PONG};
    static const uint64_t lens[] = {0, 1, 2, 124, 125};
    static const uint8_t mask[4] = {0x00, 0xff, 0x80, 0x01};
    for (size_t o = 0; o < 3; o++) {
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            UT_WHERE("control opcode %#x payload length %llu", opcodes[o], (unsigned long long)lens[i]);
            uint8_t hdr[14];
            size_t hlen = client_header(hdr, 1, opcodes[o], lens[i], mask);
            check_header_every_prefix(hdr, hlen, 1, opcodes[o], lens[i], mask);
        }
    }
}

static void test_parse_rfc6455_examples(void **state)
{
    (void)state;
    /* RFC 6455 5.7: a masked text "Hello" and a masked pong "Hello". */
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    const uint8_t *frames[] = {hello, pong};
    for (int k = 0; k < 2; k++) {
        UT_WHERE("RFC 6455 example %d", k);
        uint8_t *buf = ut_dup(frames[k], sizeof(hello));
        eio_ws_frame f;
        UT_EQ(eio_ws_frame_parse(buf, sizeof(hello), &f), 6);
        UT_EQ(f.fin, 1);
        UT_EQ(f.opcode, k == 0 ? EIO_WS_TEXT : EIO_WS_PONG);
        UT_UEQ(f.payload_len, 5);
        UT_BYTES_EQ(f.mask, 4, mask, 4);
        eio_ws_unmask(buf + 6, 5, f.mask, 0);
        UT_BYTES_LIT(buf + 6, 5, "Hello");
        free(buf);
    }
    /* The RFC's unmasked examples are server frames: a server must refuse them from a client. */
    static const uint8_t unmasked_text[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t unmasked_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t unmasked_frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
    static const uint8_t unmasked_256[] = {0x82, 0x7e, 0x01, 0x00};
    static const uint8_t unmasked_64k[] = {0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
    eio_ws_frame f;
    UT_EQ(parse_copy(unmasked_text, sizeof(unmasked_text), &f), PROTO);
    UT_EQ(parse_copy(unmasked_ping, sizeof(unmasked_ping), &f), PROTO);
    UT_EQ(parse_copy(unmasked_frag, sizeof(unmasked_frag), &f), PROTO);
    UT_EQ(parse_copy(unmasked_256, sizeof(unmasked_256), &f), PROTO);
    UT_EQ(parse_copy(unmasked_64k, sizeof(unmasked_64k), &f), PROTO);
}

/*
 * An invalid header: every prefix either asks for more or already gives the error, an error once given stays
 * (a longer prefix never turns it back into "more" or a success), and the whole header gives it.
 */
static void check_error(const uint8_t *hdr, size_t n, int err)
{
    int seen = 0;
    for (size_t k = 0; k <= n; k++) {
        eio_ws_frame f;
        int r = parse_copy(hdr, k, &f);
        if (k == n || seen)
            UT_EQ(r, err);
        else if (r != 0)
            UT_EQ(r, err);
        if (r == err)
            seen = 1;
    }
}

#define CHECK_ERROR(...)                                                                                      \
    do {                                                                                                      \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                                        \
        UT_WHERE("frame %s", #__VA_ARGS__);                                                                   \
        check_error(bytes_, sizeof(bytes_), PROTO);                                                           \
    } while (0)

#define M4 0x01, 0x02, 0x03, 0x04

static void test_parse_rejects_reserved_bits(void **state)
{
    (void)state;
    for (int rsv = 1; rsv <= 7; rsv++) {
        for (int op = 0; op <= 2; op++) {
            uint8_t hdr[6] = {(uint8_t)(0x80 | rsv << 4 | op), 0x85, M4};
            UT_WHERE("RSV %d%d%d opcode %d", rsv >> 2 & 1, rsv >> 1 & 1, rsv & 1, op);
            check_error(hdr, sizeof(hdr), PROTO);
            uint8_t ping[6] = {(uint8_t)(0x80 | rsv << 4 | EIO_WS_PING), 0x80, M4};
            check_error(ping, sizeof(ping), PROTO);
        }
    }
}

static void test_parse_rejects_unknown_opcodes(void **state)
{
    (void)state;
    static const int bad[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int fin = 0; fin <= 1; fin++) {
            UT_WHERE("opcode %#x fin %d", bad[i], fin);
            uint8_t small[6] = {(uint8_t)((fin ? 0x80 : 0) | bad[i]), 0x85, M4};
            check_error(small, sizeof(small), PROTO);
            uint8_t mid[8] = {(uint8_t)((fin ? 0x80 : 0) | bad[i]), 0xfe, 0x01, 0x00, M4};
            check_error(mid, sizeof(mid), PROTO);
        }
    }
}

static void test_parse_rejects_unmasked(void **state)
{
    (void)state;
    CHECK_ERROR(0x81, 0x00);
    CHECK_ERROR(0x81, 0x05, 'H', 'e', 'l', 'l', 'o');
    CHECK_ERROR(0x82, 0x7d);
    CHECK_ERROR(0x82, 0x7e, 0x00, 0x7e);
    CHECK_ERROR(0x82, 0x7e, 0xff, 0xff);
    CHECK_ERROR(0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00);
    CHECK_ERROR(0x02, 0x05, 0, 0, 0, 0, 0);
    CHECK_ERROR(0x00, 0x05, 0, 0, 0, 0, 0);
    CHECK_ERROR(0x88, 0x02, 0x03, 0xe8);
    CHECK_ERROR(0x89, 0x00);
    CHECK_ERROR(0x8a, 0x00);
}

static void test_parse_rejects_fragmented_control(void **state)
{
    (void)state;
    CHECK_ERROR(0x08, 0x80, M4);
    CHECK_ERROR(0x08, 0x82, M4, 0x03, 0xe8);
    CHECK_ERROR(0x09, 0x80, M4);
    CHECK_ERROR(0x09, 0x85, M4);
    CHECK_ERROR(0x0a, 0x80, M4);
    CHECK_ERROR(0x0a, 0xfd, M4);
}

static void test_parse_rejects_long_control(void **state)
{
    (void)state;
    /* A control payload is at most 125 bytes, so the 16- and 64-bit forms are never allowed, even when the
     * value they carry is small. */
    CHECK_ERROR(0x88, 0xfe, 0x00, 0x7e, M4);
    CHECK_ERROR(0x88, 0xfe, 0x00, 0x02, M4);
    CHECK_ERROR(0x89, 0xfe, 0x01, 0x00, M4);
    CHECK_ERROR(0x8a, 0xfe, 0xff, 0xff, M4);
    CHECK_ERROR(0x88, 0xff, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, M4);
    CHECK_ERROR(0x89, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x05, M4);
    CHECK_ERROR(0x8a, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, M4);
    CHECK_ERROR(0x09, 0xfe, 0x00, 0x7e, M4);
}

static void test_parse_rejects_non_minimal_16(void **state)
{
    (void)state;
    for (unsigned v = 0; v <= 125; v++) {
        UT_WHERE("16-bit length %u", v);
        uint8_t hdr[8] = {0x82, 0xfe, 0x00, (uint8_t)v, M4};
        check_error(hdr, sizeof(hdr), PROTO);
        hdr[0] = 0x01;
        check_error(hdr, sizeof(hdr), PROTO);
    }
}

static void test_parse_rejects_non_minimal_64(void **state)
{
    (void)state;
    static const uint64_t bad[] = {0, 1, 125, 126, 127, 256, 65534, 65535};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        UT_WHERE("64-bit length %llu", (unsigned long long)bad[i]);
        uint8_t hdr[14] = {0x82, 0xff};
        for (int k = 0; k < 8; k++)
            hdr[2 + k] = (uint8_t)(bad[i] >> (56 - 8 * k));
        memcpy(hdr + 10, "\x01\x02\x03\x04", 4);
        check_error(hdr, sizeof(hdr), PROTO);
        hdr[0] = 0x00;
        check_error(hdr, sizeof(hdr), PROTO);
    }
}

static void test_parse_rejects_64bit_top_bit(void **state)
{
    (void)state;
    CHECK_ERROR(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, M4);
    CHECK_ERROR(0x82, 0xff, 0x80, 0, 0, 0, 0, 0x01, 0x00, 0x00, M4);
    CHECK_ERROR(0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, M4);
    CHECK_ERROR(0x01, 0xff, 0xc0, 0, 0, 0, 0, 0, 0, 0x01, M4);
    /* The largest allowed length is 2^63 - 1. */
    static const uint8_t max[] = {0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, M4};
    eio_ws_frame f;
    UT_EQ(parse_copy(max, sizeof(max), &f), 14);
    UT_UEQ(f.payload_len, 0x7fffffffffffffffull);
}

/* ------------------------------------------------------------------------------------------------------ */
/* A stream of frames fed in every split                                                                   */

enum { MAX_FRAMES = 8, MAX_PAYLOAD = 70000 };

typedef struct sent_frame {
    int fin;
    int opcode;
    size_t len;
    uint8_t mask[4];
} sent_frame;

/*
 * A receiver the way the transport will be written: parse a header from what is buffered, then unmask and
 * consume whatever part of the payload has arrived, remembering the offset within the payload.
 */
typedef struct receiver {
    uint8_t *in;   /* buffered bytes not consumed yet */
    size_t have;   /* bytes in `in` */
    int in_payload; /* 1 between a header and the end of its payload */
    eio_ws_frame f;
    uint64_t done; /* payload bytes of the current frame consumed */
    size_t nframes;
    eio_ws_frame frames[MAX_FRAMES];
    uint8_t *payload[MAX_FRAMES];
} receiver;

static void consume(receiver *rx, size_t n)
{
    memmove(rx->in, rx->in + n, rx->have - n);
    rx->have -= n;
}

static void receiver_feed(receiver *rx, const uint8_t *data, size_t n)
{
    memcpy(rx->in + rx->have, data, n);
    rx->have += n;
    for (;;) {
        if (!rx->in_payload) {
            /* Parse from an exact-size copy so that a read past `have` is caught. */
            int r = parse_copy(rx->in, rx->have, &rx->f);
            if (r == 0)
                return;
            UT_TRUE(r > 0);
            UT_TRUE(rx->nframes < MAX_FRAMES);
            consume(rx, (size_t)r);
            rx->in_payload = 1;
            rx->done = 0;
            rx->frames[rx->nframes] = rx->f;
        }
        size_t take = rx->have;
        if (take > rx->f.payload_len - rx->done)
            take = (size_t)(rx->f.payload_len - rx->done);
        eio_ws_unmask(rx->in, take, rx->f.mask, rx->done);
        memcpy(rx->payload[rx->nframes] + rx->done, rx->in, take);
        consume(rx, take);
        rx->done += take;
        if (rx->done < rx->f.payload_len)
            return;
        rx->in_payload = 0;
        rx->nframes++;
        if (rx->have == 0)
            return;
    }
}

static void check_received(const receiver *rx, const sent_frame *sent, uint8_t *const *plain, size_t n)
{
    UT_UEQ(rx->nframes, n);
    UT_UEQ(rx->have, 0);
    UT_EQ(rx->in_payload, 0);
    for (size_t k = 0; k < n; k++) {
        UT_EQ(rx->frames[k].fin, sent[k].fin);
        UT_EQ(rx->frames[k].opcode, sent[k].opcode);
        UT_UEQ(rx->frames[k].payload_len, sent[k].len);
        UT_BYTES_EQ(rx->frames[k].mask, 4, sent[k].mask, 4);
        UT_BYTES_EQ(rx->payload[k], sent[k].len, plain[k], sent[k].len);
    }
}

static void test_stream_every_split(void **state)
{
    (void)state;
    /* Text "Hello" (RFC 6455 5.7), a ping, a text message in two fragments, a binary of 126 bytes (16-bit
     * length), a binary of 65536 bytes (64-bit length), an empty binary, a close 1000. */
    static const sent_frame sent[] = {
        {1, EIO_WS_TEXT, 5, {0x37, 0xfa, 0x21, 0x3d}},
        {1, EIO_WS_PING, 5, {0xde, 0xad, 0xbe, 0xef}},
        {0, EIO_WS_TEXT, 3, {0x01, 0x02, 0x03, 0x04}},
        {1, EIO_WS_CONT, 2, {0xff, 0x00, 0xff, 0x00}},
        {1, EIO_WS_BINARY, 126, {0x12, 0x34, 0x56, 0x78}},
        {1, EIO_WS_BINARY, 65536, {0x9a, 0xbc, 0xde, 0xf0}},
        {1, EIO_WS_BINARY, 0, {0x11, 0x22, 0x33, 0x44}},
        {1, EIO_WS_CLOSE, 2, {0x55, 0x66, 0x77, 0x88}},
    };
    enum { N = sizeof(sent) / sizeof(sent[0]) };
    uint64_t rng = 7;
    uint8_t *plain[N];
    size_t total = 0;
    for (size_t k = 0; k < N; k++) {
        plain[k] = ut_alloc(sent[k].len);
        ut_fill_random(&rng, plain[k], sent[k].len);
        total += 14 + sent[k].len;
    }
    memcpy(plain[0], "Hello", 5);
    memcpy(plain[1], "probe", 5);
    memcpy(plain[2], "Hel", 3);
    memcpy(plain[3], "lo", 2);
    memcpy(plain[7], "\x03\xe8", 2);

    /* The wire bytes: header, then the payload masked by XOR with mask[i % 4]. */
    uint8_t *wire = ut_alloc(total);
    size_t len = 0;
    for (size_t k = 0; k < N; k++) {
        len += client_header(wire + len, sent[k].fin, sent[k].opcode, sent[k].len, sent[k].mask);
        for (size_t i = 0; i < sent[k].len; i++)
            wire[len + i] = plain[k][i] ^ sent[k].mask[i % 4];
        len += sent[k].len;
    }
    /* RFC 6455 5.7 gives the first frame's bytes. */
    UT_BYTES_LIT(wire, 11, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");

    receiver rx;
    memset(&rx, 0, sizeof(rx));
    rx.in = ut_alloc(len);
    for (size_t k = 0; k < N; k++)
        rx.payload[k] = ut_alloc(sent[k].len);

    /* Equal chunks of every size from 1 (one byte at a time) to 300, then the whole stream at once. */
    for (size_t chunk = 1; chunk <= 301; chunk++) {
        size_t c = chunk == 301 ? len : chunk;
        UT_WHERE("chunks of %zu bytes", c);
        rx.have = 0;
        rx.in_payload = 0;
        rx.nframes = 0;
        for (size_t off = 0; off < len; off += c)
            receiver_feed(&rx, wire + off, len - off < c ? len - off : c);
        check_received(&rx, sent, plain, N);
    }
    /* Two pieces, split at every position in the first and last 300 bytes (which hold every header and the
     * edges of the big payload) and at every 997th in between. */
    for (size_t cut = 0; cut <= len; cut++) {
        if (cut > 300 && cut < len - 300 && cut % 997 != 0)
            continue;
        UT_WHERE("split at %zu of %zu", cut, len);
        rx.have = 0;
        rx.in_payload = 0;
        rx.nframes = 0;
        receiver_feed(&rx, wire, cut);
        receiver_feed(&rx, wire + cut, len - cut);
        check_received(&rx, sent, plain, N);
    }

    for (size_t k = 0; k < N; k++) {
        free(rx.payload[k]);
        free(plain[k]);
    }
    free(rx.in);
    free(wire);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Unmasking                                                                                               */

static void test_unmask_rfc_example(void **state)
{
    (void)state;
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t *data = ut_dup("\x7f\x9f\x4d\x51\x58", 5);
    eio_ws_unmask(data, 5, mask, 0);
    UT_BYTES_LIT(data, 5, "Hello");
    /* Masking is its own inverse. */
    eio_ws_unmask(data, 5, mask, 0);
    UT_BYTES_LIT(data, 5, "\x7f\x9f\x4d\x51\x58");
    /* Zero bytes: nothing is touched. */
    eio_ws_unmask(data, 0, mask, 3);
    UT_BYTES_LIT(data, 5, "\x7f\x9f\x4d\x51\x58");
    free(data);
}

static void test_unmask_offsets(void **state)
{
    (void)state;
    /* Offsets past 2^32 too: only offset mod 4 matters, and it must not be truncated to 32 bits first. */
    static const uint64_t bases[] = {0, 1, 2, 3, 4, 5, 0xfffffffdull, 0x100000001ull, 0xfffffffffffffffeull};
    uint64_t rng = 1234;
    for (size_t n = 0; n <= 64; n++) {
        uint8_t plain[64], mask[4];
        ut_fill_random(&rng, plain, n);
        ut_fill_random(&rng, mask, 4);
        for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
            uint64_t base = bases[b];
            uint8_t want[64];
            for (size_t i = 0; i < n; i++)
                want[i] = plain[i] ^ mask[(size_t)((base + i) % 4)];

            UT_WHERE("%zu bytes at offset %llu, at once", n, (unsigned long long)base);
            uint8_t *once = ut_dup(plain, n);
            eio_ws_unmask(once, n, mask, base);
            UT_BYTES_EQ(once, n, want, n);
            free(once);

            for (size_t s = 0; s <= n; s++) {
                UT_WHERE("%zu bytes at offset %llu, split at %zu", n, (unsigned long long)base, s);
                uint8_t *a = ut_dup(plain, s);
                uint8_t *c = ut_dup(plain + s, n - s);
                eio_ws_unmask(a, s, mask, base);
                eio_ws_unmask(c, n - s, mask, base + s);
                UT_BYTES_EQ(a, s, want, s);
                UT_BYTES_EQ(c, n - s, want + s, n - s);
                free(c);
                free(a);
            }
            /* One byte at a time. */
            UT_WHERE("%zu bytes at offset %llu, one at a time", n, (unsigned long long)base);
            uint8_t bytes[64];
            memcpy(bytes, plain, n);
            for (size_t i = 0; i < n; i++)
                eio_ws_unmask(bytes + i, 1, mask, base + i);
            UT_BYTES_EQ(bytes, n, want, n);
        }
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* Server frame headers                                                                                    */

static void test_frame_header_bytes(void **state)
{
    (void)state;
    static const struct {
        int opcode;
        uint64_t n;
        size_t len;
        const char *bytes;
    } cases[] = {
        {EIO_WS_TEXT, 0, 2, "\x81\x00"},
        {EIO_WS_TEXT, 5, 2, "\x81\x05"}, /* RFC 6455 5.7 "Hello" */
        {EIO_WS_BINARY, 125, 2, "\x82\x7d"},
        {EIO_WS_BINARY, 126, 4, "\x82\x7e\x00\x7e"},
        {EIO_WS_BINARY, 127, 4, "\x82\x7e\x00\x7f"},
        {EIO_WS_BINARY, 256, 4, "\x82\x7e\x01\x00"}, /* RFC 6455 5.7 */
        {EIO_WS_BINARY, 65535, 4, "\x82\x7e\xff\xff"},
        {EIO_WS_BINARY, 65536, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"}, /* RFC 6455 5.7 */
        {EIO_WS_TEXT, 0xffffffffull, 10, "\x81\x7f\x00\x00\x00\x00\xff\xff\xff\xff"},
        {EIO_WS_TEXT, 0x100000000ull, 10, "\x81\x7f\x00\x00\x00\x01\x00\x00\x00\x00"},
        {EIO_WS_BINARY, 0x0102030405060708ull, 10, "\x82\x7f\x01\x02\x03\x04\x05\x06\x07\x08"},
        {EIO_WS_BINARY, 0x7fffffffffffffffull, 10, "\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"},
        {EIO_WS_CLOSE, 2, 2, "\x88\x02"},
        {EIO_WS_PING, 0, 2, "\x89\x00"},
        {EIO_WS_PONG, 5, 2, "\x8a\x05"}, /* RFC 6455 5.7 */
        {EIO_WS_CONT, 3, 2, "\x80\x03"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        UT_WHERE("opcode %#x length %llu", cases[i].opcode, (unsigned long long)cases[i].n);
        uint8_t *out = ut_alloc(10); /* exactly the documented 10 bytes */
        size_t n = eio_ws_frame_header(out, cases[i].opcode, cases[i].n);
        UT_UEQ(n, cases[i].len);
        UT_BYTES_EQ(out, n, cases[i].bytes, cases[i].len);
        free(out);
    }
}

static void test_frame_header_roundtrip(void **state)
{
    (void)state;
    static const int opcodes[] = {EIO_WS_CONT,  EIO_WS_TEXT, EIO_WS_BINARY,
                                  EIO_WS_CLOSE, EIO_WS_PING, EIO_WS_PONG};
    static const uint8_t mask[4] = {0xa1, 0xb2, 0xc3, 0xd4};
    for (size_t o = 0; o < sizeof(opcodes) / sizeof(opcodes[0]); o++) {
        for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
            if (opcodes[o] >= EIO_WS_CLOSE && lengths[i] > 125)
                continue;
            UT_WHERE("opcode %#x length %llu", opcodes[o], (unsigned long long)lengths[i]);
            uint8_t buf[14];
            size_t n = eio_ws_frame_header(buf, opcodes[o], lengths[i]);
            UT_UEQ(n, lengths[i] <= 125 ? 2 : lengths[i] <= 65535 ? 4 : 10);
            /* Make it a client frame: set the mask bit and append the key. */
            buf[1] |= 0x80;
            memcpy(buf + n, mask, 4);
            uint8_t want[14];
            UT_UEQ(client_header(want, 1, opcodes[o], lengths[i], mask), n + 4);
            UT_BYTES_EQ(buf, n + 4, want, n + 4);
            check_header_every_prefix(buf, n + 4, 1, opcodes[o], lengths[i], mask);
        }
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* Handshake                                                                                               */

static void check_accept(const char *key, size_t klen, const char *want)
{
    char *k = (char *)ut_dup(key, klen); /* not NUL-terminated */
    UT_WHERE("accept for the %zu-byte key \"%.*s\"", klen, (int)klen, key);
    char out[29];
    memset(out, 'X', sizeof(out));
    UT_EQ(eio_ws_accept_key(k, klen, out), 0);
    UT_BYTES_EQ(out, 29, want, 29);
    free(k);
}

static void test_accept_key_known(void **state)
{
    (void)state;
    /* RFC 6455 1.3 and 4.2.2. (The value "s3pPLMBiTxaQ9kYGzzhZo+xOo/M=" sometimes quoted for this key is
     * wrong: SHA-1 of the key and the GUID encodes to the one below, as the RFC prints it.) */
    check_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    check_accept("x3JJHMbDL1EzLkh9GBhXDw==", 24, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    check_accept("wDqumtseNBJdhkihL6PW7w==", 24, "0FFP+2nmNIf/h+4BP36k9uzrYGk=");
}

static void test_accept_key_lengths(void **state)
{
    (void)state;
    /* Against OpenSSL's SHA-1 and base64 for every key length the function accepts. */
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint64_t rng = 99;
    for (size_t klen = 0; klen <= 64; klen++) {
        char key[64];
        for (size_t i = 0; i < klen; i++)
            key[i] = (char)('!' + ut_rand(&rng) % 94);
        char cat[64 + sizeof(guid)];
        memcpy(cat, key, klen);
        memcpy(cat + klen, guid, sizeof(guid) - 1);
        uint8_t digest[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)cat, klen + sizeof(guid) - 1, digest);
        char want[29 + 3];
        UT_EQ(EVP_EncodeBlock((unsigned char *)want, digest, sizeof(digest)), 28);
        check_accept(key, klen, want);
    }
    char out[29];
    char big[1000];
    memset(big, 'A', sizeof(big));
    UT_EQ(eio_ws_accept_key(big, 65, out), -1);
    UT_EQ(eio_ws_accept_key(big, sizeof(big), out), -1);
}

static void test_key_valid(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        int valid;
    } cases[] = {
        {"dGhlIHNhbXBsZSBub25jZQ==", 1},
        {"x3JJHMbDL1EzLkh9GBhXDw==", 1},
        {"AAAAAAAAAAAAAAAAAAAAAA==", 1},
        {"++++++++++++++++++++//==", 1},
        {"", 0},
        {"==", 0},
        {"dGhlIHNhbXBsZSBub25jZQ=", 0},       /* 23 */
        {"dGhlIHNhbXBsZSBub25jZQ", 0},        /* no padding */
        {"dGhlIHNhbXBsZSBub25jZQ===", 0},     /* 25 */
        {"dGhlIHNhbXBsZSBub25jZQA=", 0},      /* one '=' */
        {"dGhlIHNhbXBsZSBub25jZQAA", 0},      /* none */
        {"dGhlIHNhbXBsZSBub25jZ===", 0},      /* '=' at 21 */
        {"dGhlIHNhbX=sZSBub25jZQ==", 0},      /* '=' in the middle */
        {"dGhlIHNhbXBsZSBub25jZ-==", 0},      /* base64url */
        {"dGhlIHNhbXBsZSBub25jZ_==", 0},
        {"dGhlIHNhbXBsZSBub25jZ ==", 0},
        {" dGhlIHNhbXBsZSBub25jZQ==", 0},
        {"dGhlIHNhbXBsZSBub25jZQ== ", 0},
        {"dGhlIHNhbXBsZSBub25jZQ==dGhl", 0},
        {"dGhlIHNhbXBsZSBub25jZQ.=", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].key);
        UT_WHERE("key \"%s\"", cases[i].key);
        char *k = (char *)ut_dup(cases[i].key, n);
        UT_EQ(eio_ws_key_valid(k, n), cases[i].valid);
        free(k);
    }
    /* Only klen bytes count: a valid key followed by more bytes, and a valid key cut short. */
    UT_WHERE("length argument");
    UT_EQ(eio_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==trailing", 24), 1);
    UT_EQ(eio_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==", 23), 0);
    UT_EQ(eio_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==", 0), 0);
    /* Every byte outside the alphabet at position 0 and 21. */
    for (int c = 0; c < 256; c++) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/')
            continue;
        char key[24];
        memcpy(key, "dGhlIHNhbXBsZSBub25jZQ==", 24);
        UT_WHERE("byte 0x%02x in the key", c);
        key[0] = (char)c;
        UT_EQ(eio_ws_key_valid(key, 24), 0);
        key[0] = 'd';
        key[21] = (char)c;
        UT_EQ(eio_ws_key_valid(key, 24), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UT_TEST(test_parse_data_frames_every_prefix),
        UT_TEST(test_parse_control_frames_every_prefix),
        UT_TEST(test_parse_rfc6455_examples),
        UT_TEST(test_parse_rejects_reserved_bits),
        UT_TEST(test_parse_rejects_unknown_opcodes),
        UT_TEST(test_parse_rejects_unmasked),
        UT_TEST(test_parse_rejects_fragmented_control),
        UT_TEST(test_parse_rejects_long_control),
        UT_TEST(test_parse_rejects_non_minimal_16),
        UT_TEST(test_parse_rejects_non_minimal_64),
        UT_TEST(test_parse_rejects_64bit_top_bit),
        UT_TEST(test_stream_every_split),
        UT_TEST(test_unmask_rfc_example),
        UT_TEST(test_unmask_offsets),
        UT_TEST(test_frame_header_bytes),
        UT_TEST(test_frame_header_roundtrip),
        UT_TEST(test_accept_key_known),
        UT_TEST(test_accept_key_lengths),
        UT_TEST(test_key_valid),
    };
    return cmocka_run_group_tests_name("eio_wsframe", tests, NULL, NULL);
}
