/*
 * libFuzzer harness for the WebSocket frame header parser (engineio/eio_wsframe.h).
 *
 * The input is read the way the server reads a connection: parse a header, unmask whatever part of its
 * payload is there, skip it, parse the next header, until the input runs out or a header is refused. Every
 * parse runs on a heap copy of exactly the bytes left, so an over-read crashes under ASan, and its result is
 * compared with a reference parser written here from RFC 6455 section 5.2 and the header's contract. The
 * first bytes of each input are also decoded as a whole Sec-WebSocket-Key check and accept computation.
 */
#include "engineio/eio_wsframe.h"

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

/*
 * Reference: the full header length implied by the first two bytes (2 + extended length + 4 for the mask,
 * even when the mask bit is clear, which only matters for deciding when the error must be reported), and
 * whether the complete header is valid for a client frame.
 */
static size_t ref_header_len(uint8_t b1)
{
    uint8_t l = b1 & 0x7f;
    return 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + 4;
}

static int ref_header_valid(const uint8_t *in, eio_ws_frame *f)
{
    int fin = in[0] >> 7, op = in[0] & 0x0f;
    if (in[0] & 0x70)
        return 0;
    if (op != 0 && op != 1 && op != 2 && op != 8 && op != 9 && op != 10)
        return 0;
    if (!(in[1] & 0x80))
        return 0;
    uint64_t len = in[1] & 0x7f;
    size_t at = 2;
    if (len == 126) {
        len = (uint64_t)in[2] << 8 | in[3];
        if (len < 126)
            return 0;
        at = 4;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | in[2 + i];
        if (len < 65536 || len > 0x7fffffffffffffffull)
            return 0;
        at = 10;
    }
    if (op >= 8 && (!fin || len > 125))
        return 0;
    f->fin = fin;
    f->opcode = op;
    f->payload_len = len;
    memcpy(f->mask, in + at, 4);
    f->header_len = at + 4;
    return 1;
}

/* Parses in[0..n) from an exact-size copy and checks the result against the reference. */
static int parse_checked(const uint8_t *in, size_t n, eio_ws_frame *f)
{
    uint8_t *buf = dup_exact(in, n);
    eio_ws_frame got;
    memset(&got, 0xa5, sizeof(got));
    int r = eio_ws_frame_parse(buf, n, &got);
    free(buf);
    CHECK(r == 0 || r == -EIO_WS_CLOSE_PROTOCOL || r > 0);
    CHECK(r <= 0 || (size_t)r <= n); /* never claims bytes it was not given */
    if (n < 2) {
        CHECK(r == 0);
        return 0;
    }
    size_t need = ref_header_len(in[1]);
    eio_ws_frame want;
    int valid = n >= need && ref_header_valid(in, &want);
    if (n < need) {
        /* Incomplete: "more" for a valid prefix, or an error already visible in the first bytes. */
        CHECK(r == 0 || r == -EIO_WS_CLOSE_PROTOCOL);
        return r;
    }
    if (!valid) {
        CHECK(r == -EIO_WS_CLOSE_PROTOCOL);
        return r;
    }
    CHECK(r == (int)need);
    CHECK(got.header_len == need);
    CHECK(got.header_len == 6 || got.header_len == 8 || got.header_len == 14);
    CHECK(got.fin == want.fin && got.opcode == want.opcode && got.payload_len == want.payload_len);
    CHECK(memcmp(got.mask, want.mask, 4) == 0);

    /* The server encoder writes the same header without the mask (and with FIN always set). */
    uint8_t enc[10];
    size_t elen = eio_ws_frame_header(enc, got.opcode, got.payload_len);
    CHECK(elen + 4 == need);
    CHECK(enc[0] == (in[0] | 0x80));
    CHECK(enc[1] == (in[1] & 0x7f));
    CHECK(memcmp(enc + 2, in + 2, elen - 2) == 0);
    *f = got;
    return r;
}

static void fuzz_frames(const uint8_t *data, size_t size)
{
    uint8_t *stream = dup_exact(data, size);
    size_t off = 0;
    while (off < size) {
        eio_ws_frame f;
        int r = parse_checked(stream + off, size - off, &f);
        if (r <= 0)
            break;
        size_t hlen = (size_t)r;
        /* Every proper prefix of a valid header asks for more. */
        for (size_t k = 0; k < hlen; k++) {
            eio_ws_frame g;
            uint8_t *prefix = dup_exact(stream + off, k);
            CHECK(eio_ws_frame_parse(prefix, k, &g) == 0);
            free(prefix);
        }
        off += hlen;
        CHECK(off <= size);

        /* Unmask what is there of the payload, in two pieces, and compare with unmasking at once. */
        size_t avail = size - off;
        size_t n = f.payload_len < avail ? (size_t)f.payload_len : avail;
        uint8_t *once = dup_exact(stream + off, n);
        eio_ws_unmask(once, n, f.mask, 0);
        size_t cut = n / 3;
        eio_ws_unmask(stream + off, cut, f.mask, 0);
        eio_ws_unmask(stream + off + cut, n - cut, f.mask, cut);
        CHECK(n == 0 || memcmp(once, stream + off, n) == 0);
        for (size_t i = 0; i < n; i++)
            CHECK(once[i] == (uint8_t)(data[off + i] ^ f.mask[i & 3]));
        free(once);
        if (n < f.payload_len)
            break;
        off += n;
    }
    free(stream);
}

static void fuzz_handshake(const uint8_t *data, size_t size)
{
    size_t klen = size < 80 ? size : 80;
    char *key = (char *)dup_exact(data, klen);
    int valid = eio_ws_key_valid(key, klen);
    int want = klen == 24 && key[22] == '=' && key[23] == '=';
    for (size_t i = 0; want && i < 22; i++)
        want = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", key[i]) && key[i];
    CHECK(valid == want);
    char out[29];
    int r = eio_ws_accept_key(key, klen, out);
    CHECK(r == (klen > 64 ? -1 : 0));
    if (r == 0) {
        CHECK(out[28] == '\0' && strlen(out) == 28 && out[27] == '=');
    }
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_frames(data, size);
    fuzz_handshake(data, size);
    return 0;
}
