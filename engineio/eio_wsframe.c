/* RFC 6455 frame headers: see eio_wsframe.h. */
#include "eio_wsframe.h"

#include "eio_codec.h"

#include <openssl/sha.h>
#include <string.h>

int eio_ws_frame_parse(const uint8_t *in, size_t len, eio_ws_frame *f)
{
    if (len < 2)
        return 0;
    uint8_t b0 = in[0], b1 = in[1];
    if (b0 & 0x70)
        return -EIO_WS_CLOSE_PROTOCOL; /* no extension is negotiated, so RSV1-3 must be 0 */
    int opcode = b0 & 0x0f;
    int fin = (b0 & 0x80) != 0;
    switch (opcode) {
    case EIO_WS_CONT:
    case EIO_WS_TEXT:
    case EIO_WS_BINARY:
        break;
    case EIO_WS_CLOSE:
    case EIO_WS_PING:
    case EIO_WS_PONG:
        if (!fin || (b1 & 0x7f) > 125)
            return -EIO_WS_CLOSE_PROTOCOL;
        break;
    default:
        return -EIO_WS_CLOSE_PROTOCOL;
    }
    if (!(b1 & 0x80))
        return -EIO_WS_CLOSE_PROTOCOL; /* a client must mask every frame */
    uint64_t plen = b1 & 0x7f;
    size_t hlen = 2;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)in[2] << 8 | in[3];
        if (plen < 126)
            return -EIO_WS_CLOSE_PROTOCOL;
        hlen = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | in[2 + i];
        if (plen >> 63 || plen < 65536)
            return -EIO_WS_CLOSE_PROTOCOL;
        hlen = 10;
    }
    if (len < hlen + 4)
        return 0;
    memcpy(f->mask, in + hlen, 4);
    f->fin = fin;
    f->opcode = opcode;
    f->payload_len = plen;
    f->header_len = hlen + 4;
    return (int)f->header_len;
}

void eio_ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < n; i++)
        data[i] ^= mask[(offset + i) & 3];
}

size_t eio_ws_frame_header(uint8_t out[10], int opcode, uint64_t n)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (n < 126) {
        out[1] = (uint8_t)n;
        return 2;
    }
    if (n < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(n >> (56 - 8 * i));
    return 10;
}

int eio_ws_key_valid(const char *key, size_t klen)
{
    if (klen != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++) {
        char c = key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '/'))
            return 0;
    }
    return 1;
}

int eio_ws_accept_key(const char *key, size_t klen, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    if (klen > 64)
        return -1;
    char buf[64 + sizeof(guid)];
    memcpy(buf, key, klen);
    memcpy(buf + klen, guid, sizeof(guid) - 1);
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)buf, klen + sizeof(guid) - 1, digest);
    size_t n = eio_base64_encode(digest, sizeof(digest), out);
    out[n] = '\0';
    return 0;
}
