/*
 * libFuzzer harness for the whole HTTP request path: bytes from a client socket through http-parser, the
 * router, polling, the WebSocket handshake and frames, to the session and back, on a real event_base.
 *
 * Input layout:
 *   byte 0   how each connection's bytes are cut into writes, so requests and frames arrive in pieces: at
 *            (low nibble)/16 and (high nibble)/16 of its length, three writes, or two when the high nibble
 *            is not above the low one;
 *   byte 1   server options (see make_options): small limits, CORS and cookie, no upgrades, fallback and
 *            allowRequest, short timers, one session at most, polling or WebSocket off; its top two bits
 *            both set mean that the server is freed while the clients are still connected;
 *   rest     the client bytes. "|CONN|" separates up to MAX_CONNS connections, whose writes are interleaved
 *            (connection 0's first write, connection 1's first write, ..., then the second writes), which
 *            lets one input park a GET on one connection and POST or upgrade on another. "@SID@" is replaced
 *            by the id of a session that the harness opens before the input is played (a polling handshake,
 *            or a WebSocket one when polling is off), so requests can reach an existing session.
 *
 * Each input gets a fresh eio_server on a shared event_base; connections are socketpairs adopted with
 * eio_server_adopt_fd(). After the writes the loop runs a fixed number of times (the server answers within
 * a few iterations; timers are long unless byte 1 asks for short ones), the client ends are closed so the
 * server sees EOF, and the server is freed, so a leak, a use after free or a stuck object shows up in this
 * input. Whatever the server writes back is read and dropped.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engineio/engineio.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONNS 3
#define CONN_SEP "|CONN|"
#define SID_TOKEN "@SID@"

static struct event_base *base;
static char setup_sid[21]; /* the id of the session the harness opened for this input ("" when none) */

/* --- the application: an echo server with the conformance program's test commands --- */

static void on_connection(eio_session *s, const eio_request *req, void *ud)
{
    (void)ud;
    /* The first session of an input is the harness's own: remember its id for "@SID@". */
    if (!setup_sid[0])
        snprintf(setup_sid, sizeof(setup_sid), "%s", eio_session_id(s));
    /* Touch the request accessors while the request is valid. */
    const char *name, *value;
    for (size_t i = 0; eio_request_header_at(req, i, &name, &value); i++)
        (void)eio_request_header(req, name);
    char buf[64];
    (void)eio_request_query_decoded(req, "foo", buf, sizeof(buf));
    (void)eio_request_remote_address(req);
    (void)eio_session_transport(s);
    /* Something queued before the first GET. */
    eio_session_send_text(s, "welcome", 7);
}

static void on_message(eio_session *s, const uint8_t *data, size_t len, int binary, void *ud)
{
    (void)ud;
    if (binary) {
        eio_session_send_binary(s, data, len);
        return;
    }
    if (len == 9 && memcmp(data, "__close__", 9) == 0) {
        eio_session_close(s);
        eio_session_send_text(s, "ignored", 7); /* a send after close is refused, not a crash */
        return;
    }
    if (len > 8 && len < 12 && memcmp(data, "__send__", 8) == 0) {
        int n = 0;
        for (size_t i = 8; i < len && data[i] >= '0' && data[i] <= '9'; i++)
            n = n * 10 + (data[i] - '0');
        for (int i = 0; i < n && i < 200; i++) {
            char msg[16];
            int m = snprintf(msg, sizeof(msg), "%d", i);
            if (eio_session_send_text(s, msg, (size_t)m) < 0)
                break;
        }
        return;
    }
    eio_session_send_text(s, (const char *)data, len);
}

static void on_upgrade(eio_session *s, void *ud)
{
    (void)ud;
    eio_session_send_text(s, "upgraded", 8);
}

static void on_close(eio_session *s, const char *reason, void *ud)
{
    (void)ud;
    (void)reason;
    /* Sends from here are ignored. */
    eio_session_send_text(s, "late", 4);
}

static int allow_request(const eio_request *req, const char **message, void *ud)
{
    (void)ud;
    char v[16];
    if (eio_request_query_decoded(req, "deny", v, sizeof(v)) >= 0) {
        *message = "denied \"by\" test";
        return 0;
    }
    return 1;
}

static int cors_origin(const char *origin, void *ud)
{
    (void)ud;
    return strstr(origin, "good") != NULL;
}

/* Answers requests outside /engine.io/ under /fb, echoing the request's parts. */
static int fallback(eio_request *req, void *ud)
{
    (void)ud;
    const char *path = eio_request_path(req);
    if (strncmp(path, "/fb", 3) != 0)
        return 0;
    size_t blen;
    const uint8_t *body = eio_request_body(req, &blen);
    /* A request header echoed back, without anything that would break our header block. */
    const char *ua = eio_request_header(req, "user-agent");
    char uacopy[65];
    size_t n = 0;
    for (; ua && ua[n] && n < sizeof(uacopy) - 1; n++)
        uacopy[n] = (unsigned char)ua[n] < 0x20 ? ' ' : ua[n];
    uacopy[n] = '\0';
    char head[256];
    snprintf(head, sizeof(head), "X-Method: %s\r\nX-Url-Len: %zu\r\nX-UA: %s\r\n", eio_request_method(req),
             strlen(eio_request_url(req)), uacopy);
    eio_request_respond(req, 200, head, body, blen);
    return 1;
}

/* --- options --- */

static void make_options(eio_options *o, uint8_t bits)
{
    static const char *const origins_one[] = {"http://good.example", NULL};
    static const char *const origins_two[] = {"http://good.example", "https://other.example", NULL};
    static const char *const origins_any[] = {"*", NULL};
    eio_options_init(o);
    if (bits & 0x01) {
        /* Small limits, so that every cap is reachable by a short input. */
        o->max_http_buffer_size = 64;
        o->max_header_bytes = 256;
        o->max_headers = 8;
        o->max_queued_bytes = 256;
    }
    if (bits & 0x02) {
        if (bits & 0x08)
            o->cors_origin_cb = cors_origin;
        else
            o->cors_origins = (bits & 0x01) ? origins_any : (bits & 0x20) ? origins_two : origins_one;
        o->cors_credentials = 1;
        o->cors_max_age = 600;
        o->cors_exposed_headers = "X-A";
        o->cookie_name = "io";
    }
    if (bits & 0x04)
        o->allow_upgrades = 0;
    if (bits & 0x08)
        o->allow_request = allow_request;
    if (bits & 0x10) {
        /* Timers that fire within the input's short final wait. */
        o->ping_interval_ms = 1;
        o->ping_timeout_ms = 1;
        o->upgrade_timeout_ms = 1;
        o->close_timeout_ms = 1;
        o->headers_timeout_ms = 1;
        o->keep_alive_timeout_ms = 1;
    }
    if (bits & 0x20)
        o->max_sessions = 1;
    if ((bits & 0xc0) == 0x40)
        o->allow_polling = 0;
    else if ((bits & 0xc0) == 0x80)
        o->allow_websocket = 0; /* 0xc0: both allowed, and an early free (LLVMFuzzerTestOneInput) */
}

/* --- client side --- */

static void drain(int fd)
{
    char buf[65536];
    while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0) {
    }
}

static void run_loop(int times, const int *fds, int nfds)
{
    for (int i = 0; i < times; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        for (int k = 0; k < nfds; k++)
            drain(fds[k]);
    }
}

/* Writes all of p[0..n) to fd, running the loop when the socket is full. Returns -1 when the server closed. */
static int write_all(int fd, const uint8_t *p, size_t n, const int *fds, int nfds)
{
    int stalls = 0;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            stalls = 0;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && ++stalls < 100) {
            run_loop(1, fds, nfds);
            continue;
        }
        return -1; /* EPIPE: the server closed this connection */
    }
    return 0;
}

/* A connected pair: the server adopts sv[1], the client keeps the other end (non-blocking). */
static int open_conn(eio_server *srv)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (eio_server_adopt_fd(srv, sv[1]) < 0) {
        close(sv[0]);
        return -1;
    }
    return sv[0];
}

/* Replaces every SID_TOKEN in in[0..n) with sid. Returns a new buffer (freed by the caller) and its length. */
static uint8_t *substitute_sid(const uint8_t *in, size_t n, const char *sid, size_t *out_len)
{
    const size_t tlen = sizeof(SID_TOKEN) - 1, slen = strlen(sid);
    uint8_t *out = malloc(n / tlen * slen + n + 1);
    if (!out)
        abort();
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= tlen && memcmp(in + i, SID_TOKEN, tlen) == 0) {
            memcpy(out + o, sid, slen);
            o += slen;
            i += tlen;
        } else {
            out[o++] = in[i++];
        }
    }
    *out_len = o;
    return out;
}

static void discard_log(int level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    if (msg[0] == '\0')
        abort(); /* every log line says something */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    eio_set_logger(discard_log, NULL); /* every message is formatted (DEBUG included), then dropped */
    base = event_base_new();
    if (!base)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t split = size > 0 ? data[0] : 0;
    uint8_t optbits = size > 1 ? data[1] : 0;
    const uint8_t *in = size > 2 ? data + 2 : data + size;
    size_t inlen = size > 2 ? size - 2 : 0;

    eio_options opts;
    make_options(&opts, optbits);
    int quiet_timers = !(optbits & 0x10); /* with the default timings no timer fires during an input */
    eio_handlers h = {on_connection, on_message, on_upgrade, on_close, NULL};
    eio_server *srv = eio_server_new(base, &opts, &h);
    if (!srv)
        abort(); /* every combination make_options builds is valid */
    if (optbits & 0x08)
        eio_server_set_fallback(srv, fallback, NULL);

    int fds[MAX_CONNS + 1];
    int nfds = 0;

    /* The harness's own session, for "@SID@". */
    setup_sid[0] = '\0';
    int setup = open_conn(srv);
    if (setup >= 0) {
        static const char poll_hs[] = "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n";
        static const char ws_hs[] = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        const char *hs = opts.allow_polling ? poll_hs : ws_hs;
        fds[nfds++] = setup;
        write_all(setup, (const uint8_t *)hs, strlen(hs), fds, nfds);
        run_loop(4, fds, nfds);
    }
    size_t blen;
    uint8_t *buf = substitute_sid(in, inlen, setup_sid[0] ? setup_sid : "AAAAAAAAAAAAAAAAAAAA", &blen);

    /* Cut the input into connections, and each connection into writes. */
    const uint8_t *part[MAX_CONNS];
    size_t plen[MAX_CONNS];
    int nparts = 0;
    const size_t seplen = sizeof(CONN_SEP) - 1;
    size_t start = 0;
    while (nparts < MAX_CONNS - 1) {
        const uint8_t *sep = memmem(buf + start, blen - start, CONN_SEP, seplen);
        if (!sep)
            break;
        part[nparts] = buf + start;
        plen[nparts] = (size_t)(sep - (buf + start));
        nparts++;
        start = (size_t)(sep - buf) + seplen;
    }
    part[nparts] = buf + start;
    plen[nparts] = blen - start;
    nparts++;
    int client[MAX_CONNS];
    for (int k = 0; k < nparts; k++) {
        client[k] = open_conn(srv);
        if (client[k] >= 0)
            fds[nfds++] = client[k];
    }

    /* Up to three writes per connection: cut at lo/16 and hi/16 of its length (hi 0: two writes). */
    unsigned lo = split & 0x0f, hi = split >> 4;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < nparts; k++) {
            if (client[k] < 0)
                continue;
            size_t n = plen[k];
            size_t a = n * lo / 16, b = hi > lo ? n * hi / 16 : n;
            size_t from = round == 0 ? 0 : round == 1 ? a : b;
            size_t to = round == 0 ? a : round == 1 ? b : n;
            if (to > from)
                write_all(client[k], part[k] + from, to - from, fds, nfds);
            run_loop(2, fds, nfds);
        }
    }
    run_loop(20, fds, nfds);

    if (!quiet_timers) {
        /* Let the 1 ms timers fire: ping, ping timeout, upgrade, close and header timeouts. */
        struct timeval tv = {0, 3000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
        run_loop(5, fds, nfds);
    }

    if ((optbits & 0xc0) == 0xc0) {
        /* Shutdown with everything still connected: sessions in every state, parked GETs, WebSockets. */
        eio_server_free(srv);
        run_loop(3, fds, nfds);
        for (int k = 0; k < nfds; k++)
            close(fds[k]);
        run_loop(3, NULL, 0);
    } else {
        /* The clients hang up; the server sees EOF on every connection, then shuts down. */
        for (int k = 0; k < nfds; k++)
            close(fds[k]);
        run_loop(10, NULL, 0);
        eio_server_free(srv);
        run_loop(3, NULL, 0);
    }
    free(buf);
    return 0;
}
