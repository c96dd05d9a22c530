/*
 * Engine.IO v4 packet and payload codec. Pure functions: no I/O, no timers, no globals, no libevent.
 *
 * A packet on the wire is one type digit ('0'..'6') followed by its data. Over WebSocket a text frame holds
 * one text packet and a binary frame holds the raw bytes of one binary message (no type byte). Over HTTP
 * long-polling a payload is a list of packets joined by the record separator 0x1e, where a binary message is
 * written as 'b' followed by its base64 encoding.
 *
 * Decoders return 0 or a negative EIO_CODEC_E* code and never read past the length they are given.
 */
#ifndef EIO_CODEC_H
#define EIO_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum eio_packet_type {
    EIO_PACKET_OPEN = 0,
    EIO_PACKET_CLOSE = 1,
    EIO_PACKET_PING = 2,
    EIO_PACKET_PONG = 3,
    EIO_PACKET_MESSAGE = 4,
    EIO_PACKET_UPGRADE = 5,
    EIO_PACKET_NOOP = 6
};

#define EIO_CODEC_EPARSE (-1) /* not a valid packet or payload: the session closes with "parse error" */

#define EIO_RECORD_SEPARATOR 0x1e

typedef struct eio_packet {
    int type;            /* enum eio_packet_type */
    int binary;          /* 1 when data is a binary message (only with EIO_PACKET_MESSAGE) */
    const uint8_t *data; /* points into the decoder's input (borrowed); NULL only when len is 0 */
    size_t len;          /* bytes of data */
} eio_packet;

/*
 * Decodes one text packet (a WebSocket text frame, or one record of a polling payload that does not start
 * with 'b'). `in` is borrowed; pkt->data points into it. An empty input or an unknown type digit is
 * EIO_CODEC_EPARSE.
 */
int eio_packet_decode_text(const uint8_t *in, size_t len, eio_packet *pkt);

/*
 * Decodes the next packet of a v4 polling payload in place. `buf[*pos..len)` is what is left; on success
 * *pos moves past the packet and its separator and pkt->data points into buf. A 'b' record is base64-decoded
 * in place (its bytes in buf are overwritten), which is why buf is not const. Returns 1 when a packet was
 * decoded, 0 when the payload is finished (only after at least one packet), EIO_CODEC_EPARSE on an invalid
 * record: an empty payload, an empty record (for example a trailing separator), an unknown type or bad base64.
 */
int eio_payload_next(uint8_t *buf, size_t len, size_t *pos, eio_packet *pkt);

/* Bytes of the base64 encoding of n bytes (with padding). */
size_t eio_base64_encoded_len(size_t n);

/* Writes the padded base64 encoding of in[0..n) to out (eio_base64_encoded_len(n) bytes, no NUL).
 * Returns the number of bytes written. */
size_t eio_base64_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decodes base64 (standard alphabet, padding optional, no whitespace) from in[0..n) into out, which may be
 * the same memory as in (decoding in place is safe) and needs at most n*3/4 bytes. Returns the decoded
 * length, or EIO_CODEC_EPARSE on a character outside the alphabet, misplaced padding or a bad length.
 */
long eio_base64_decode(const uint8_t *in, size_t n, uint8_t *out);

/*
 * Writes the JSON of the open packet (without the leading '0'), with the keys in the reference's order:
 * {"sid":..,"upgrades":[..],"pingInterval":..,"pingTimeout":..,"maxPayload":..}. `sid` is borrowed and must
 * be made of base64url characters. Returns the length written (excluding the NUL it always adds when cap > 0),
 * or a negative value when cap is too small.
 */
int eio_open_json(char *out, size_t cap, const char *sid, int upgrade_websocket, unsigned ping_interval,
                  unsigned ping_timeout, unsigned long max_payload);

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF), else 0. */
int eio_utf8_valid(const uint8_t *s, size_t n);

#endif
