/*
 * Raw WebSocket clients for the tests: the client end of a socketpair whose other end the server's engine
 * adopted (as an accepted connection), so that a test needs no port and runs deterministically on its own
 * event_base. The helpers report failures by their return value, for the caller to check its own way (a cmocka
 * assertion, an abort in a fuzz target, or nothing where the server may have closed first).
 *
 * Used by test/unit/test_redis_regress.c, test/unit/test_rooms_regress.c and test/fuzz/fuzz_redis_adapter.c.
 */
#ifndef TEST_COMMON_WS_CLIENT_H
#define TEST_COMMON_WS_CLIENT_H

#include <stddef.h>

#include "engineio/engineio.h"

struct event_base;

/* The end of an upgrade request, after the request line and the other headers. */
#define TH_WS_UPGRADE_HEADERS                                                                                  \
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"            \
    "Sec-WebSocket-Version: 13\r\n\r\n"

/* A Socket.IO (EIO=4) WebSocket connection request. */
#define TH_WS_SIO_REQUEST "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n" TH_WS_UPGRADE_HEADERS

/* Runs base's loop for ms milliseconds. */
void th_run_for(struct event_base *base, unsigned ms);

/* A socketpair, one end adopted by engine; returns the other (non-blocking), or -1. */
int th_ws_pair(eio_server *engine);

/* th_ws_pair, then request written (the engine reads it when its loop runs); returns the fd, or -1. */
int th_ws_open(eio_server *engine, const char *request);

/* Writes n bytes at once; 0 when all of them went. */
int th_ws_write(int fd, const void *p, size_t n);

/* th_ws_write of a string (without its NUL). */
int th_ws_write_str(int fd, const char *s);

/* A masked (zero key) text frame of at most 125 bytes, as a client must send; 0 when it went. */
int th_ws_send_text(int fd, const char *text);

/* Everything the server sent since the last read, at most cap - 1 bytes, NUL-terminated (server frames are
 * unmasked: payloads appear verbatim); returns the length. */
size_t th_ws_read(int fd, char *buf, size_t cap);

/* th_ws_read (up to 1 MiB), then whether needle is in it. */
int th_ws_saw(int fd, const char *needle);

#endif
