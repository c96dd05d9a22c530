/*
 * RFC 6455 frame headers, server side. Pure functions, no I/O.
 *
 * Why not wslay's event or frame contexts: each embeds a 4 KiB input buffer (and the event context about
 * 9.4 KB in all), which would be kept for every idle connection. A frame header is at most 14 bytes, so the
 * transport parses headers straight from the connection's input buffer with this module instead.
 */
#ifndef EIO_WSFRAME_H
#define EIO_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

enum eio_ws_opcode {
    EIO_WS_CONT = 0x0,
    EIO_WS_TEXT = 0x1,
    EIO_WS_BINARY = 0x2,
    EIO_WS_CLOSE = 0x8,
    EIO_WS_PING = 0x9,
    EIO_WS_PONG = 0xa
};

/* Close codes sent back on a protocol violation. */
#define EIO_WS_CLOSE_NORMAL 1000
#define EIO_WS_CLOSE_PROTOCOL 1002
#define EIO_WS_CLOSE_INVALID_DATA 1007
#define EIO_WS_CLOSE_POLICY 1008
#define EIO_WS_CLOSE_TOO_BIG 1009

#define EIO_WS_MAX_HEADER 14

typedef struct eio_ws_frame {
    int fin;              /* 1 on the last frame of a message */
    int opcode;           /* enum eio_ws_opcode */
    uint8_t mask[4];      /* masking key (client frames are always masked) */
    uint64_t payload_len; /* bytes of payload after the header */
    size_t header_len;    /* bytes of header (2..14) */
} eio_ws_frame;

/*
 * Parses a client frame header from in[0..len). Returns the header length (> 0) when complete, 0 when more
 * bytes are needed, or the negated close code to send: -EIO_WS_CLOSE_PROTOCOL for reserved bits, an unknown
 * opcode, an unmasked frame, a fragmented or over-long (> 125) control frame, a non-minimal length or a
 * 64-bit length with its top bit set.
 */
int eio_ws_frame_parse(const uint8_t *in, size_t len, eio_ws_frame *f);

/* XORs data[0..n) with the mask, `offset` being the position of data[0] within the frame payload. */
void eio_ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset);

/* Writes an unmasked server frame header (FIN set) for a payload of n bytes to out; returns its length (2..10). */
size_t eio_ws_frame_header(uint8_t out[10], int opcode, uint64_t n);

/* Writes Sec-WebSocket-Accept for `key` (borrowed, klen bytes) to out (28 chars + NUL). Returns 0, or -1. */
int eio_ws_accept_key(const char *key, size_t klen, char out[29]);

/* 1 when key is 22 base64 characters followed by "==" (a 16-byte nonce), as ws requires. */
int eio_ws_key_valid(const char *key, size_t klen);

#endif
