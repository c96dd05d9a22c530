/* Engine.IO v4 packet and payload codec: see eio_codec.h. */
#include "eio_codec.h"

#include <stdio.h>
#include <string.h>

int eio_packet_decode_text(const uint8_t *in, size_t len, eio_packet *pkt)
{
    if (len == 0 || in[0] < '0' || in[0] > '6')
        return EIO_CODEC_EPARSE;
    pkt->type = in[0] - '0';
    pkt->binary = 0;
    pkt->data = len > 1 ? in + 1 : NULL;
    pkt->len = len - 1;
    return 0;
}

int eio_payload_next(uint8_t *buf, size_t len, size_t *pos, eio_packet *pkt)
{
    size_t start = *pos;
    if (start > len)
        return EIO_CODEC_EPARSE;
    if (start == len) {
        /* An empty body is not a payload; after a separator, an empty last record is not a packet. */
        if (start == 0 || buf[start - 1] == EIO_RECORD_SEPARATOR)
            return EIO_CODEC_EPARSE;
        return 0;
    }
    const uint8_t *sep = memchr(buf + start, EIO_RECORD_SEPARATOR, len - start);
    size_t end = sep ? (size_t)(sep - buf) : len;
    uint8_t *rec = buf + start;
    size_t rlen = end - start;
    *pos = sep ? end + 1 : end;
    if (rlen > 0 && rec[0] == 'b') {
        long n = eio_base64_decode(rec + 1, rlen - 1, rec + 1);
        if (n < 0)
            return EIO_CODEC_EPARSE;
        pkt->type = EIO_PACKET_MESSAGE;
        pkt->binary = 1;
        pkt->data = n > 0 ? rec + 1 : NULL;
        pkt->len = (size_t)n;
        return 1;
    }
    if (eio_packet_decode_text(rec, rlen, pkt) < 0)
        return EIO_CODEC_EPARSE;
    return 1;
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t eio_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t eio_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    return o;
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long eio_base64_decode(const uint8_t *in, size_t n, uint8_t *out)
{
    /* Padding, when present, must complete the last quantum. */
    size_t pad = 0;
    if (n % 4 == 0 && n >= 4) {
        if (in[n - 1] == '=')
            pad++;
        if (in[n - 2] == '=')
            pad++;
    }
    size_t m = n - pad; /* significant characters */
    if (m % 4 == 1)
        return EIO_CODEC_EPARSE;
    if (pad && (m % 4) + pad != 4)
        return EIO_CODEC_EPARSE;
    /* Writing never overtakes reading: 4 characters are read before 3 bytes are written. */
    size_t o = 0, i = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; i < m; i++) {
        int v = b64_value(in[i]);
        if (v < 0)
            return EIO_CODEC_EPARSE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)o;
}

int eio_open_json(char *out, size_t cap, const char *sid, int upgrade_websocket, unsigned ping_interval,
                  unsigned ping_timeout, unsigned long max_payload)
{
    int n = snprintf(out, cap,
                     "{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%u,\"pingTimeout\":%u,\"maxPayload\":%lu}",
                     sid, upgrade_websocket ? "\"websocket\"" : "", ping_interval, ping_timeout, max_payload);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return n;
}

int eio_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            uint8_t d = s[i + k];
            if ((d & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (d & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}
