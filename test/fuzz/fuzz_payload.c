/*
 * libFuzzer harness for the Engine.IO codec (engineio/eio_codec.h).
 *
 * The input is decoded four ways, each from a heap copy of exactly its length so that ASan catches any read
 * past the end: as a polling payload (record by record, until done or an error), as one text packet, as
 * base64 (out of place and in place), and as UTF-8. Each result is compared with a small reference written
 * here from the header's contract, and the payload decoder's positions and pointers are checked to stay
 * inside the buffer and move forward.
 */
#include "engineio/eio_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                           \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                     \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (!q)
        abort();
    if (n)
        memcpy(q, p, n);
    return q;
}

static int ref_b64_value(uint8_t c)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/*
 * Reference base64 decoder from the contract: standard alphabet, no whitespace, padding optional but when
 * present (one or two '=') it ends a whole number of quanta and completes the last one; a length of 1 mod 4
 * significant characters is invalid. Leftover low bits of the last character are ignored, as in Node.
 * Returns the decoded length or -1; out needs n*3/4 bytes.
 */
static long ref_b64_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t pad = 0;
    while (pad < 2 && pad < n && in[n - 1 - pad] == '=')
        pad++;
    size_t m = n - pad;
    if (pad > 0 && (n % 4 != 0 || m % 4 + pad != 4))
        return -1;
    if (m % 4 == 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < m; i += 4) {
        uint32_t v = 0;
        size_t k = 0;
        for (; k < 4 && i + k < m; k++) {
            int d = ref_b64_value(in[i + k]);
            if (d < 0)
                return -1;
            v |= (uint32_t)d << (18 - 6 * k);
        }
        /* k characters carry k*6 bits: 4 -> 3 bytes, 3 -> 2, 2 -> 1. */
        for (size_t b = 0; b < k - 1; b++)
            out[o++] = (uint8_t)(v >> (16 - 8 * b));
    }
    return (long)o;
}

/* Reference UTF-8 check from Table 3-7 of the Unicode Standard. */
static int ref_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i], lo = 0x80, hi = 0xbf;
        size_t need;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1;
        else if (c >= 0xe0 && c <= 0xef)
            need = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            need = 3;
        else
            return 0;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        if (n - i - 1 < need || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return 0;
        i += need + 1;
    }
    return 1;
}

static void fuzz_text_packet(const uint8_t *data, size_t size)
{
    uint8_t *buf = dup_exact(data, size);
    eio_packet pkt;
    int r = eio_packet_decode_text(buf, size, &pkt);
    if (size == 0 || data[0] < '0' || data[0] > '6') {
        CHECK(r == EIO_CODEC_EPARSE);
    } else {
        CHECK(r == 0);
        CHECK(pkt.type == data[0] - '0');
        CHECK(pkt.binary == 0);
        CHECK(pkt.len == size - 1);
        CHECK(pkt.len == 0 || pkt.data == buf + 1);
    }
    free(buf);
}

/*
 * Decodes the input as a polling payload and checks it against the record structure of the original bytes:
 * each record (the bytes between separators) must give exactly one packet, or the error, in order.
 */
static void fuzz_payload(const uint8_t *data, size_t size)
{
    uint8_t *buf = dup_exact(data, size);
    uint8_t *ref = malloc(size ? size : 1);
    if (!ref)
        abort();
    size_t pos = 0;
    int packets = 0;
    for (;;) {
        size_t start = pos;
        eio_packet pkt;
        memset(&pkt, 0xa5, sizeof(pkt));
        int r = eio_payload_next(buf, size, &pos, &pkt);
        CHECK(r == 1 || r == 0 || r == EIO_CODEC_EPARSE);
        if (start == size) {
            /* Done: an error for an empty body or after a trailing separator, else the end. */
            int want = (size == 0 || data[size - 1] == EIO_RECORD_SEPARATOR) ? EIO_CODEC_EPARSE : 0;
            CHECK(r == want);
            CHECK(want != 0 || packets > 0);
            break;
        }
        const uint8_t *sep = memchr(data + start, EIO_RECORD_SEPARATOR, size - start);
        size_t end = sep ? (size_t)(sep - data) : size;
        const uint8_t *rec = data + start;
        size_t rlen = end - start;

        /* What the record must give. */
        int want_ok;
        long want_len = 0;
        if (rlen == 0) {
            want_ok = 0;
        } else if (rec[0] == 'b') {
            want_len = ref_b64_decode(rec + 1, rlen - 1, ref);
            want_ok = want_len >= 0;
        } else {
            want_ok = rec[0] >= '0' && rec[0] <= '6';
            want_len = (long)rlen - 1;
        }
        if (!want_ok) {
            CHECK(r == EIO_CODEC_EPARSE);
            break;
        }
        CHECK(r == 1);
        packets++;
        /* The position moves past the record and its separator, never beyond the end. */
        CHECK(pos > start);
        CHECK(pos <= size);
        CHECK(pos == (sep ? end + 1 : size));
        CHECK(pkt.len == (size_t)want_len);
        CHECK(pkt.len == 0 || (pkt.data == buf + start + 1 && pkt.data + pkt.len <= buf + end));
        if (rec[0] == 'b') {
            CHECK(pkt.type == EIO_PACKET_MESSAGE && pkt.binary == 1);
            CHECK(pkt.len == 0 || memcmp(pkt.data, ref, pkt.len) == 0);
        } else {
            CHECK(pkt.type == rec[0] - '0' && pkt.binary == 0);
            CHECK(pkt.len == 0 || memcmp(pkt.data, rec + 1, pkt.len) == 0);
        }
        /* Decoding in place stays within the record: later bytes are untouched. */
        CHECK(memcmp(buf + end, data + end, size - end) == 0);
    }
    free(ref);
    free(buf);
}

static void fuzz_base64(const uint8_t *data, size_t size)
{
    size_t cap = size * 3 / 4;
    uint8_t *in = dup_exact(data, size);
    uint8_t *out = malloc(cap ? cap : 1);
    uint8_t *ref = malloc(cap ? cap : 1);
    if (!out || !ref)
        abort();
    long want = ref_b64_decode(data, size, ref);
    long got = eio_base64_decode(in, size, out);
    CHECK(got == (want < 0 ? EIO_CODEC_EPARSE : want));
    CHECK(got < 0 || (size_t)got <= cap);
    CHECK(got <= 0 || memcmp(out, ref, (size_t)got) == 0);
    CHECK(memcmp(in, data, size) == 0); /* out of place leaves the input alone */
    long again = eio_base64_decode(in, size, in);
    CHECK(again == got);
    CHECK(got <= 0 || memcmp(in, ref, (size_t)got) == 0);
    free(ref);
    free(out);
    free(in);

    /* Encoding any bytes and decoding them back is the identity. */
    size_t elen = eio_base64_encoded_len(size);
    CHECK(elen == (size + 2) / 3 * 4);
    char *enc = malloc(elen ? elen : 1);
    uint8_t *back = malloc(elen ? elen : 1);
    if (!enc || !back)
        abort();
    CHECK(eio_base64_encode(data, size, enc) == elen);
    CHECK(eio_base64_decode((const uint8_t *)enc, elen, back) == (long)size);
    CHECK(size == 0 || memcmp(back, data, size) == 0);
    free(back);
    free(enc);
}

static void fuzz_utf8(const uint8_t *data, size_t size)
{
    uint8_t *buf = dup_exact(data, size);
    CHECK(eio_utf8_valid(buf, size) == ref_utf8_valid(data, size));
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_payload(data, size);
    fuzz_text_packet(data, size);
    fuzz_base64(data, size);
    fuzz_utf8(data, size);
    return 0;
}
