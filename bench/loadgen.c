/*
 * loadgen: the C load generator of `make bench`. Speaks Engine.IO v4 / Socket.IO v5 to any server (ours or
 * Node's socket.io) over loopback, many clients per process, one thread, libevent.
 *
 *   build/bench/loadgen --port P [--host 127.0.0.1] [--path /socket.io/]
 *     --clients N            clients in this process (default 1)
 *     --connect-rate R       connections started per second, open loop (default 1000)
 *     --transport websocket|upgrade|polling   (default websocket)
 *                            upgrade: polling handshake, CONNECT over polling, then the websocket upgrade (the
 *                            default path of socket.io-client); polling: polling only (idle clients only)
 *     --src A-B              source addresses 127.0.0.A..127.0.0.B (default 2-9), so ports do not run out
 *     --id-base B            global index of this process's first client (default 0)
 *     --room NAME | --rooms K   CONNECT with auth {"room": NAME} or {"room": "r<global index % K>"}
 *     --bcast-room NAME      trigger: "bcast" names this room (io.to(NAME).emit), else io.emit
 *     --mode idle|echo|trigger|recv|chat|once
 *         idle     connect and stay (pings answered); received events counted
 *         echo     each client emits "echo" with an ack at --msg-rate per second; the ack RTT goes in `lat`
 *         trigger  each client emits "bcast" with a timestamped payload at --msg-rate per second
 *         recv     like idle; one-way latency of received events in `lat`, first/last receipt per broadcast
 *         chat     each client emits "chat" with a timestamped payload at --msg-rate per second (the server
 *                  relays it to the others of the client's room); received events' latency in `lat`
 *         once     each client connects, records connect-to-CONNECT latency in `hs`, finishes the upgrade
 *                  with --transport upgrade, then closes; --clients is the number of handshakes
 *     --msg-rate X           messages per second per client (default 0); stdin "rate X" changes it
 *     --payload N            payload bytes (default 64)
 *     --timeout-ms T         handshake timeout (default 10000), counted as a failure
 *
 * Messages are sent open loop: one 1 ms timer sends what the rate says is due, round robin over the clients.
 * Payloads are strings "<seq>.<CLOCK_MONOTONIC ns>.xxxx": receiver and sender share the machine's clock, so
 * the latency of a receipt is its time minus the stamp.
 *
 * stdin, one command per line: "rate X", "report" (one report line, then counters restart), "quit" (EOF too).
 * stdout, JSON lines:
 *   {"type":"ready","connected":C,"failed":F,"elapsed_s":x}   once every client connected or failed
 *                                                              (mode once: once every handshake is done)
 *   {"type":"report","mono_ns":..,"connected":open now,"connects":..,"connect_failed":..,"disconnects":..,
 *    "sent":..,"received":..,"acks":..,"bytes_in":..,"cpu_s":..,"lat":[[lo_us,n],..],"hs":[[lo_us,n],..],
 *    "bcast":[[seq,first_ns,last_ns,n],..]}
 *   Counters are since the previous report. Histograms: [bucket lower bound in microseconds, count], buckets
 *   1/32 of a power of two wide (about 3%). disconnects: connections lost after they had connected, other
 *   than our own closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum mode { M_IDLE, M_ECHO, M_TRIGGER, M_RECV, M_CHAT, M_ONCE };
enum transport { T_WS, T_UPGRADE, T_POLLING };

/* Client states. */
enum {
    C_NEW = 0,     /* not started */
    C_HANDSHAKE,   /* connecting, not yet CONNECTed */
    C_UPGRADING,   /* CONNECTed over polling, the websocket upgrade under way */
    C_CONNECTED,   /* CONNECTed (over websocket, or polling-only) */
    C_DONE         /* closed or failed */
};

/* One TCP connection of a client: the websocket, or the HTTP connection used for polling. */
enum { S_CONNECTING = 0, S_HTTP, S_WS_101, S_WS };
enum { P_NONE = 0, P_OPEN_GET, P_CONNECT_POST, P_GET, P_PONG_POST }; /* the polling request in flight */

struct client;
struct sock {
    int fd;
    uint8_t state;
    uint8_t is_ws;
    uint8_t req;     /* polling: P_* */
    uint8_t closing; /* polling: the server sent "1" */
    struct event *rev, *wev;
    char *left;      /* unparsed input kept between reads */
    size_t left_len;
    char *out;       /* output the kernel did not take yet */
    size_t out_len, out_cap;
    struct client *c;
};

struct client {
    uint32_t idx;
    uint8_t state;
    uint8_t probe;   /* upgrade: 1 probe sent, 2 "3probe" read and "5" sent */
    uint64_t t_start;
    uint32_t ack_id;
    struct sock *http, *ws;
    char sid[40];
};

static struct {
    const char *host;
    int port;
    const char *path;
    int clients;
    double connect_rate;
    int transport;
    int src_a, src_b;
    long id_base;
    const char *room;
    int rooms;
    const char *bcast_room;
    int mode;
    double msg_rate;
    int payload;
    int timeout_ms;
} opt = {"127.0.0.1", 0, "/socket.io/", 1, 1000, T_WS, 2, 9, 0, NULL, 0, NULL, M_IDLE, 0, 64, 10000};

static struct event_base *base;
static struct client *clients;
static int started, ever_connected, failed, done_once, open_now, ready_printed;
static uint64_t t0_ns;
static char *scratch;
#define SCRATCH_CAP (256 * 1024)
static char pad[65536];
static char host_hdr[300];

/* Counters since the last report. */
static struct {
    uint64_t connects, connect_failed, disconnects, sent, received, acks, bytes_in;
} cnt;

/* Sending: round robin over the clients, open loop. */
static uint64_t rate_t0, rate_sent;
static uint32_t send_cursor;
static uint64_t trigger_seq;

/* ---- time, histograms ---------------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define HIST_BUCKETS (64 * 32)
struct hist {
    uint64_t n[HIST_BUCKETS];
};
static struct hist lat_h, hs_h;

static unsigned hist_index(uint64_t x)
{
    if (x < 32)
        return (unsigned)x;
    unsigned e = 63u - (unsigned)__builtin_clzll(x); /* >= 5 */
    unsigned sub = (unsigned)(x >> (e - 5)) & 31u;
    unsigned i = (e - 4) * 32 + sub;
    return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

static uint64_t hist_lower(unsigned i)
{
    if (i < 32)
        return i;
    unsigned e = i / 32 + 4, sub = i % 32;
    return (uint64_t)(32 + sub) << (e - 5);
}

static void hist_add(struct hist *h, uint64_t ns) { h->n[hist_index(ns)]++; }

static void hist_print(FILE *f, const char *name, struct hist *h)
{
    fprintf(f, ",\"%s\":[", name);
    int first = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        if (!h->n[i])
            continue;
        fprintf(f, "%s[%.3f,%" PRIu64 "]", first ? "" : ",", (double)hist_lower(i) / 1000.0, h->n[i]);
        first = 0;
    }
    fputc(']', f);
    memset(h, 0, sizeof(*h));
}

/* Broadcast receipts per sequence number (mode recv). */
#define BC_RING 16384
static struct bc {
    uint64_t seq, first, last, n;
} bc_ring[BC_RING];

static void bc_note(uint64_t seq, uint64_t t)
{
    struct bc *b = &bc_ring[seq % BC_RING];
    if (b->n == 0 || b->seq != seq) {
        b->seq = seq;
        b->first = b->last = t;
        b->n = 0;
    }
    if (t < b->first)
        b->first = t;
    if (t > b->last)
        b->last = t;
    b->n++;
}

/* ---- payloads ------------------------------------------------------------------------------------------ */

/* Parses "<seq>.<ns>." at p (p points just after the opening quote). */
static int parse_stamp(const char *p, const char *end, uint64_t *seq, uint64_t *ns)
{
    uint64_t a = 0, b = 0;
    const char *q = p;
    while (q < end && *q >= '0' && *q <= '9')
        a = a * 10 + (uint64_t)(*q++ - '0');
    if (q == p || q >= end || *q != '.')
        return -1;
    const char *r = ++q;
    while (q < end && *q >= '0' && *q <= '9')
        b = b * 10 + (uint64_t)(*q++ - '0');
    if (q == r || q >= end || *q != '.')
        return -1;
    *seq = a;
    *ns = b;
    return 0;
}

/* Writes the string argument "<seq>.<ns>.xxx" (with its quotes) of opt.payload characters at dst. */
static int make_payload(char *dst, size_t cap, uint64_t seq)
{
    char stamp[48];
    int n = snprintf(stamp, sizeof(stamp), "%" PRIu64 ".%" PRIu64 ".", seq, now_ns());
    int want = opt.payload > n ? opt.payload : n;
    if ((size_t)want + 3 > cap)
        want = (int)cap - 3;
    dst[0] = '"';
    memcpy(dst + 1, stamp, (size_t)n);
    memcpy(dst + 1 + n, pad, (size_t)(want - n));
    dst[1 + want] = '"';
    return want + 2;
}

/* ---- sockets ------------------------------------------------------------------------------------------- */

static void client_close(struct client *c, int failed_now);

static void sock_free(struct sock *s)
{
    if (!s)
        return;
    if (s->rev)
        event_free(s->rev);
    if (s->wev)
        event_free(s->wev);
    if (s->fd >= 0)
        close(s->fd);
    free(s->left);
    free(s->out);
    free(s);
}

static int sock_write(struct sock *s, const char *data, size_t len)
{
    if (s->out_len == 0) {
        ssize_t w = send(s->fd, data, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            w = 0;
        }
        data += w;
        len -= (size_t)w;
        if (len == 0)
            return 0;
    }
    if (s->out_len + len > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : 4096;
        while (cap < s->out_len + len)
            cap *= 2;
        char *n = realloc(s->out, cap);
        if (!n)
            return -1;
        s->out = n;
        s->out_cap = cap;
    }
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    event_add(s->wev, NULL);
    return 0;
}

/* A masked client text frame (the mask key is zero, so the payload goes as is). */
static int ws_send(struct sock *s, const char *data, size_t len)
{
    char hdr[14];
    size_t h = 0;
    hdr[h++] = (char)0x81;
    if (len < 126) {
        hdr[h++] = (char)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = (char)(0x80 | 126);
        hdr[h++] = (char)(len >> 8);
        hdr[h++] = (char)len;
    } else {
        hdr[h++] = (char)(0x80 | 127);
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (char)((uint64_t)len >> (8 * i));
    }
    memset(hdr + h, 0, 4);
    h += 4;
    if (s->out_len == 0 && len < 4096) { /* one syscall */
        char buf[4096 + 14];
        memcpy(buf, hdr, h);
        memcpy(buf + h, data, len);
        return sock_write(s, buf, h + len);
    }
    if (sock_write(s, hdr, h) < 0)
        return -1;
    return sock_write(s, data, len);
}

static int http_request(struct sock *s, const char *method, const char *query, const char *body, size_t blen)
{
    char req[1024];
    int n;
    if (body)
        n = snprintf(req, sizeof(req),
                     "%s %s?EIO=4&transport=polling%s HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n\r\n",
                     method, opt.path, query, host_hdr, blen);
    else
        n = snprintf(req, sizeof(req), "%s %s?EIO=4&transport=polling%s HTTP/1.1\r\nHost: %s\r\n\r\n", method,
                     opt.path, query, host_hdr);
    if (n < 0 || (size_t)n >= sizeof(req) || (size_t)n + blen > sizeof(req))
        return -1;
    if (body) {
        memcpy(req + n, body, blen);
        n += (int)blen;
    }
    return sock_write(s, req, (size_t)n);
}

static int ws_request(struct sock *s, const char *sid)
{
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s?EIO=4&transport=websocket%s%s HTTP/1.1\r\nHost: %s\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     opt.path, sid ? "&sid=" : "", sid ? sid : "", host_hdr);
    if (n < 0 || (size_t)n >= sizeof(req))
        return -1;
    return sock_write(s, req, (size_t)n);
}

/* The CONNECT packet, with the auth room when asked for. */
static int connect_packet(struct client *c, char *buf, size_t cap)
{
    if (opt.room)
        return snprintf(buf, cap, "40{\"room\":\"%s\"}", opt.room);
    if (opt.rooms > 0)
        return snprintf(buf, cap, "40{\"room\":\"r%ld\"}", (opt.id_base + (long)c->idx) % opt.rooms);
    return snprintf(buf, cap, "40");
}

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

static struct sock *sock_open(struct client *c, int is_ws)
{
    struct sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->c = c;
    s->is_ws = (uint8_t)is_ws;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    struct sockaddr_in src = {.sin_family = AF_INET};
    int nsrc = opt.src_b - opt.src_a + 1;
    src.sin_addr.s_addr = htonl((127u << 24) | (uint32_t)(opt.src_a + (int)(c->idx % (uint32_t)nsrc)));
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    inet_pton(AF_INET, opt.host, &dst.sin_addr);
    s->rev = event_new(base, s->fd, EV_READ | EV_PERSIST, on_read, s);
    s->wev = event_new(base, s->fd, EV_WRITE, on_write, s);
    if (!s->rev || !s->wev || bind(s->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
        (connect(s->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)) {
        sock_free(s);
        return NULL;
    }
    s->state = S_CONNECTING;
    event_add(s->wev, NULL);
    return s;
}

/* ---- client life --------------------------------------------------------------------------------------- */

static void maybe_ready(void)
{
    if (ready_printed || started < opt.clients)
        return;
    int settled = opt.mode == M_ONCE ? done_once + failed : ever_connected + failed;
    if (settled < opt.clients)
        return;
    ready_printed = 1;
    printf("{\"type\":\"ready\",\"connected\":%d,\"failed\":%d,\"elapsed_s\":%.3f}\n",
           opt.mode == M_ONCE ? done_once : ever_connected, failed, (double)(now_ns() - t0_ns) / 1e9);
    fflush(stdout);
}

/* Closes both connections of c. failed_now: it never connected (a failure) or was lost (a disconnect). */
static void client_close(struct client *c, int failed_now)
{
    if (c->state == C_DONE)
        return;
    if (failed_now) {
        if (c->state == C_CONNECTED || c->state == C_UPGRADING) {
            if (opt.mode == M_ONCE) {
                failed++;
                cnt.connect_failed++;
            } else {
                cnt.disconnects++;
            }
        } else {
            failed++;
            cnt.connect_failed++;
        }
    }
    if (c->state == C_CONNECTED || c->state == C_UPGRADING)
        open_now--;
    c->state = C_DONE;
    sock_free(c->http);
    sock_free(c->ws);
    c->http = c->ws = NULL;
    maybe_ready();
}

static void client_connected(struct client *c)
{
    uint64_t t = now_ns();
    hist_add(&hs_h, t - c->t_start);
    cnt.connects++;
    open_now++;
    if (opt.mode != M_ONCE)
        ever_connected++;
    c->state = opt.transport == T_UPGRADE ? C_UPGRADING : C_CONNECTED;
    if (opt.mode == M_ONCE && opt.transport != T_UPGRADE) {
        done_once++;
        client_close(c, 0);
        return;
    }
    maybe_ready();
}

static void client_start(struct client *c)
{
    c->t_start = now_ns();
    c->state = C_HANDSHAKE;
    struct sock *s = sock_open(c, opt.transport == T_WS);
    if (!s) {
        client_close(c, 1);
        return;
    }
    if (opt.transport == T_WS)
        c->ws = s;
    else
        c->http = s;
}

/* A whole Engine.IO packet (from a websocket frame or a polling payload). Returns -1 to close c. */
static int on_packet(struct client *c, struct sock *s, const char *p, size_t len)
{
    if (len == 0)
        return -1;
    uint64_t t;
    switch (p[0]) {
    case '0': /* open */
        if (s->is_ws && c->state == C_HANDSHAKE) {
            char pkt[256];
            int n = connect_packet(c, pkt, sizeof(pkt));
            return ws_send(s, pkt, (size_t)n);
        }
        return 0;
    case '2': /* ping */
        if (len == 6 && memcmp(p, "2probe", 6) == 0)
            return -1;
        if (s->is_ws)
            return ws_send(s, "3", 1);
        /* polling: answered after this payload (see poll_done) */
        s->req = P_PONG_POST;
        return 0;
    case '3':
        if (s->is_ws && len == 6 && memcmp(p, "3probe", 6) == 0 && c->probe == 1) {
            c->probe = 2;
            if (ws_send(s, "5", 1) < 0)
                return -1;
            /* upgraded: the polling connection is no longer needed */
            sock_free(c->http);
            c->http = NULL;
            c->state = C_CONNECTED;
            if (opt.mode == M_ONCE) {
                done_once++;
                client_close(c, 0);
                return 1;
            }
        }
        return 0;
    case '1': /* close */
        return -1;
    case '6': /* noop */
        return 0;
    case '4':
        break;
    default:
        return 0;
    }
    /* Socket.IO packet */
    if (len < 2)
        return 0;
    switch (p[1]) {
    case '0': /* CONNECT answer */
        if (c->state == C_HANDSHAKE) {
            client_connected(c);
            if (c->state == C_DONE)
                return 1;
            if (opt.transport == T_UPGRADE) {
                c->ws = sock_open(c, 1);
                if (!c->ws)
                    return -1;
            }
        }
        return 0;
    case '1': /* DISCONNECT */
    case '4': /* CONNECT_ERROR */
        return -1;
    case '2': { /* EVENT: 42["name","<seq>.<ns>...."] */
        t = now_ns();
        cnt.received++;
        const char *end = p + len;
        const char *q = memchr(p, ',', len);
        uint64_t seq, ns;
        if (q && q + 2 < end && q[1] == '"' && parse_stamp(q + 2, end, &seq, &ns) == 0) {
            if (ns <= t)
                hist_add(&lat_h, t - ns);
            if (opt.mode == M_RECV)
                bc_note(seq, t);
        }
        return 0;
    }
    case '3': { /* ACK: 43<id>["<seq>.<ns>...."] */
        t = now_ns();
        cnt.acks++;
        const char *end = p + len;
        const char *q = memchr(p, '[', len);
        uint64_t seq, ns;
        if (q && q + 2 < end && q[1] == '"' && parse_stamp(q + 2, end, &seq, &ns) == 0 && ns <= t)
            hist_add(&lat_h, t - ns);
        return 0;
    }
    default:
        return 0;
    }
}

/* Parses websocket frames in buf; returns bytes consumed, or -1 to close. */
static long ws_parse(struct client *c, struct sock *s, char *buf, size_t len)
{
    size_t off = 0;
    while (len - off >= 2) {
        const uint8_t *h = (const uint8_t *)buf + off;
        uint8_t op = h[0] & 0x0f;
        uint64_t plen = h[1] & 0x7f;
        size_t hl = 2;
        if (h[1] & 0x80)
            return -1; /* servers do not mask */
        if (plen == 126) {
            if (len - off < 4)
                break;
            plen = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (plen == 127) {
            if (len - off < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | h[2 + i];
            hl = 10;
        }
        if (plen > (64u << 20))
            return -1;
        if (len - off < hl + plen)
            break;
        const char *pl = buf + off + hl;
        off += hl + (size_t)plen;
        if (!(h[0] & 0x80) || op == 0)
            return -1; /* fragmented messages: our servers do not send them */
        if (op == 1) {
            int r = on_packet(c, s, pl, (size_t)plen);
            if (r < 0)
                return -1;
            if (r > 0)
                return -2; /* c closed itself */
        } else if (op == 8) {
            return -1;
        } else if (op == 9) {
            char pong[2 + 4 + 125];
            pong[0] = (char)0x8a;
            pong[1] = (char)(0x80 | plen);
            memset(pong + 2, 0, 4);
            memcpy(pong + 6, pl, (size_t)plen);
            if (sock_write(s, pong, 6 + (size_t)plen) < 0)
                return -1;
        }
    }
    return (long)off;
}

/* Finds the end of an HTTP response head; returns its length or 0. */
static size_t head_len(const char *buf, size_t len)
{
    const char *e = memmem(buf, len, "\r\n\r\n", 4);
    return e ? (size_t)(e - buf) + 4 : 0;
}

/* The polling request that follows the answer to the previous one. */
static int poll_next(struct client *c, struct sock *s)
{
    char q[64];
    snprintf(q, sizeof(q), "&sid=%s", c->sid);
    if (s->req == P_PONG_POST)
        return http_request(s, "POST", q, "3", 1);
    if (c->state == C_UPGRADING || c->state == C_DONE)
        return 0; /* no GET during the upgrade: nothing waits for one */
    if (s->closing)
        return -1;
    s->req = P_GET;
    return http_request(s, "GET", q, NULL, 0);
}

/* Handles one complete polling answer. Returns -1 to close, 1 if c closed itself. */
static int poll_answer(struct client *c, struct sock *s, int status, const char *body, size_t blen)
{
    if (status != 200)
        return -1;
    uint8_t req = s->req;
    s->req = P_NONE;
    if (req == P_OPEN_GET) {
        /* 0{"sid":"...",...} */
        const char *k = memmem(body, blen, "\"sid\":\"", 7);
        if (!k || body[0] != '0')
            return -1;
        k += 7;
        const char *e = memchr(k, '"', blen - (size_t)(k - body));
        if (!e || (size_t)(e - k) >= sizeof(c->sid))
            return -1;
        memcpy(c->sid, k, (size_t)(e - k));
        c->sid[e - k] = 0;
        char pkt[256], q[64];
        int n = connect_packet(c, pkt, sizeof(pkt));
        snprintf(q, sizeof(q), "&sid=%s", c->sid);
        s->req = P_CONNECT_POST;
        return http_request(s, "POST", q, pkt, (size_t)n);
    }
    if (req == P_CONNECT_POST || req == P_PONG_POST) {
        if (blen != 2 || memcmp(body, "ok", 2) != 0)
            return -1;
        return poll_next(c, s);
    }
    /* a GET: packets separated by 0x1e */
    size_t i = 0;
    while (i <= blen) {
        const char *e = memchr(body + i, 0x1e, blen - i);
        size_t plen = e ? (size_t)(e - (body + i)) : blen - i;
        if (plen > 0) {
            if (plen == 1 && body[i] == '1') {
                s->closing = 1;
            } else {
                int r = on_packet(c, s, body + i, plen);
                if (r != 0)
                    return r;
            }
        }
        if (!e)
            break;
        i += plen + 1;
    }
    if (s->closing)
        return -1;
    return poll_next(c, s);
}

/* Parses HTTP answers in buf (polling) or the 101 (websocket). Returns bytes consumed, -1 close, -2 gone. */
static long http_parse(struct client *c, struct sock *s, char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t hl = head_len(buf + off, len - off);
        if (!hl)
            break;
        int status = 0;
        if (sscanf(buf + off, "HTTP/1.%*d %d", &status) != 1)
            return -1;
        if (s->state == S_WS_101) {
            if (status != 101)
                return -1;
            s->state = S_WS;
            off += hl;
            if (c->state == C_UPGRADING) {
                c->probe = 1;
                if (ws_send(s, "2probe", 6) < 0)
                    return -1;
            }
            long r = ws_parse(c, s, buf + off, len - off);
            return r < 0 ? r : (long)off + r;
        }
        const char *cl = NULL;
        for (const char *p = buf + off; p < buf + off + hl; p++) {
            if ((*p == '\n') && strncasecmp(p + 1, "content-length:", 15) == 0) {
                cl = p + 16;
                break;
            }
        }
        if (!cl)
            return -1;
        size_t blen = strtoul(cl, NULL, 10);
        if (len - off < hl + blen)
            break;
        int r = poll_answer(c, s, status, buf + off + hl, blen);
        off += hl + blen;
        if (r < 0)
            return -1;
        if (r > 0)
            return -2;
    }
    return (long)off;
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct sock *s = arg;
    struct client *c = s->c;
    if (s->state == S_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            client_close(c, 1);
            return;
        }
        event_add(s->rev, NULL);
        int r;
        if (s->is_ws) {
            s->state = S_WS_101;
            r = ws_request(s, c->state == C_UPGRADING ? c->sid : NULL);
        } else {
            s->state = S_HTTP;
            s->req = P_OPEN_GET;
            r = http_request(s, "GET", "", NULL, 0);
        }
        if (r < 0)
            client_close(c, 1);
        return;
    }
    if (s->out_len) {
        ssize_t w = send(fd, s->out, s->out_len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                event_add(s->wev, NULL);
                return;
            }
            client_close(c, 1);
            return;
        }
        memmove(s->out, s->out + w, s->out_len - (size_t)w);
        s->out_len -= (size_t)w;
        if (s->out_len)
            event_add(s->wev, NULL);
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct sock *s = arg;
    struct client *c = s->c;
    size_t have = 0;
    if (s->left_len) {
        if (s->left_len > SCRATCH_CAP / 2) { /* a big message: grow a private buffer */
            size_t cap = s->left_len + SCRATCH_CAP / 2;
            char *b = realloc(s->left, cap);
            if (!b) {
                client_close(c, 1);
                return;
            }
            s->left = b;
            ssize_t r = recv(fd, b + s->left_len, cap - s->left_len, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                client_close(c, 1);
                return;
            }
            if (r < 0)
                return;
            cnt.bytes_in += (uint64_t)r;
            s->left_len += (size_t)r;
            long used = s->is_ws && s->state == S_WS ? ws_parse(c, s, b, s->left_len) : http_parse(c, s, b, s->left_len);
            if (used == -2)
                return;
            if (used < 0) {
                client_close(c, 1);
                return;
            }
            memmove(b, b + used, s->left_len - (size_t)used);
            s->left_len -= (size_t)used;
            return;
        }
        memcpy(scratch, s->left, s->left_len);
        have = s->left_len;
        free(s->left);
        s->left = NULL;
        s->left_len = 0;
    }
    ssize_t r = recv(fd, scratch + have, SCRATCH_CAP - have, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        client_close(c, 1);
        return;
    }
    if (r < 0) {
        r = 0;
        if (!have)
            return;
    }
    cnt.bytes_in += (uint64_t)r;
    have += (size_t)r;
    long used = s->is_ws && s->state == S_WS ? ws_parse(c, s, scratch, have) : http_parse(c, s, scratch, have);
    if (used == -2)
        return;
    if (used < 0) {
        client_close(c, 1);
        return;
    }
    if ((size_t)used < have) {
        s->left_len = have - (size_t)used;
        s->left = malloc(s->left_len);
        if (!s->left) {
            client_close(c, 1);
            return;
        }
        memcpy(s->left, scratch + used, s->left_len);
    }
}

/* ---- timers -------------------------------------------------------------------------------------------- */

static void send_one(struct client *c)
{
    char buf[65536 + 128];
    int n;
    if (opt.mode == M_ECHO) {
        n = snprintf(buf, sizeof(buf), "42%" PRIu32 "[\"echo\",", ++c->ack_id);
        n += make_payload(buf + n, sizeof(buf) - (size_t)n - 2, c->ack_id);
    } else if (opt.mode == M_CHAT) {
        n = snprintf(buf, sizeof(buf), "42[\"chat\",");
        n += make_payload(buf + n, sizeof(buf) - (size_t)n - 2, ++trigger_seq);
    } else {
        n = snprintf(buf, sizeof(buf), "42[\"bcast\",");
        n += make_payload(buf + n, sizeof(buf) - (size_t)n - 300, ++trigger_seq);
        if (opt.bcast_room)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"%s\"", opt.bcast_room);
    }
    buf[n++] = ']';
    if (ws_send(c->ws, buf, (size_t)n) < 0) {
        client_close(c, 1);
        return;
    }
    cnt.sent++;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    uint64_t t = now_ns();
    /* start connections at the connect rate */
    if (started < opt.clients) {
        long due = opt.connect_rate <= 0 ? opt.clients : (long)((double)(t - t0_ns) / 1e9 * opt.connect_rate) + 1;
        if (due > opt.clients)
            due = opt.clients;
        while (started < due)
            client_start(&clients[started++]);
        maybe_ready();
    }
    /* send what the message rate says is due, round robin */
    if ((opt.mode == M_ECHO || opt.mode == M_TRIGGER || opt.mode == M_CHAT) && opt.msg_rate > 0) {
        double total = opt.msg_rate * opt.clients;
        uint64_t due = (uint64_t)((double)(t - rate_t0) / 1e9 * total);
        uint64_t budget = due > rate_sent ? due - rate_sent : 0;
        if (budget > (uint64_t)total) /* far behind (a stall): do not burst more than one second's worth */
            rate_sent = due - (uint64_t)total, budget = (uint64_t)total;
        for (uint64_t i = 0; i < budget; i++) {
            struct client *c = &clients[send_cursor++ % (uint32_t)opt.clients];
            rate_sent++;
            if (c->state == C_CONNECTED && c->ws)
                send_one(c);
        }
    }
}

static void on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    uint64_t t = now_ns(), limit = (uint64_t)opt.timeout_ms * 1000000u;
    for (int i = 0; i < started; i++) {
        struct client *c = &clients[i];
        if ((c->state == C_HANDSHAKE || c->state == C_UPGRADING) && t - c->t_start > limit)
            client_close(c, 1);
    }
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double cpu_last;

static void report(void)
{
    double cpu = cpu_seconds();
    printf("{\"type\":\"report\",\"mono_ns\":%" PRIu64 ",\"connected\":%d,\"connects\":%" PRIu64
           ",\"connect_failed\":%" PRIu64 ",\"disconnects\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"received\":%" PRIu64
           ",\"acks\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"cpu_s\":%.3f",
           now_ns(), open_now, cnt.connects, cnt.connect_failed, cnt.disconnects, cnt.sent, cnt.received, cnt.acks,
           cnt.bytes_in, cpu - cpu_last);
    cpu_last = cpu;
    memset(&cnt, 0, sizeof(cnt));
    hist_print(stdout, "lat", &lat_h);
    hist_print(stdout, "hs", &hs_h);
    fputs(",\"bcast\":[", stdout);
    int first = 1;
    for (int i = 0; i < BC_RING; i++) {
        struct bc *b = &bc_ring[i];
        if (!b->n)
            continue;
        printf("%s[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]", first ? "" : ",", b->seq, b->first, b->last,
               b->n);
        first = 0;
        b->n = 0;
    }
    fputs("]}\n", stdout);
    fflush(stdout);
}

static char line[256];
static size_t line_len;

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    ssize_t r = read(fd, line + line_len, sizeof(line) - 1 - line_len);
    if (r <= 0) {
        event_base_loopbreak(base);
        return;
    }
    line_len += (size_t)r;
    char *nl;
    while ((nl = memchr(line, '\n', line_len))) {
        *nl = 0;
        if (strncmp(line, "rate ", 5) == 0) {
            opt.msg_rate = atof(line + 5);
            rate_t0 = now_ns();
            rate_sent = 0;
        } else if (strcmp(line, "report") == 0) {
            report();
        } else if (strcmp(line, "quit") == 0) {
            event_base_loopbreak(base);
        } else if (line[0]) {
            fprintf(stderr, "loadgen: unknown command: %s\n", line);
        }
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, nl + 1, line_len - used);
        line_len -= used;
    }
    if (line_len == sizeof(line) - 1)
        line_len = 0;
}

static void on_progress(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (!ready_printed)
        fprintf(stderr, "loadgen: started %d, connected %d, failed %d, open %d\n", started,
                opt.mode == M_ONCE ? done_once : ever_connected, failed, open_now);
}

/* ---- main ---------------------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P [--host H] [--path /socket.io/] [--clients N] [--connect-rate R]\n"
                    "  [--transport websocket|upgrade|polling] [--src A-B] [--id-base B] [--room NAME | --rooms K]\n"
                    "  [--bcast-room NAME] [--mode idle|echo|trigger|recv|chat|once] [--msg-rate X] [--payload N]\n"
                    "  [--timeout-ms T]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--port"))
            opt.port = atoi(v);
        else if (!strcmp(a, "--host"))
            opt.host = v;
        else if (!strcmp(a, "--path"))
            opt.path = v;
        else if (!strcmp(a, "--clients"))
            opt.clients = atoi(v);
        else if (!strcmp(a, "--connect-rate"))
            opt.connect_rate = atof(v);
        else if (!strcmp(a, "--transport"))
            opt.transport = !strcmp(v, "websocket") ? T_WS : !strcmp(v, "upgrade") ? T_UPGRADE
                          : !strcmp(v, "polling")   ? T_POLLING
                                                    : -1;
        else if (!strcmp(a, "--src")) {
            if (sscanf(v, "%d-%d", &opt.src_a, &opt.src_b) != 2)
                usage();
        } else if (!strcmp(a, "--id-base"))
            opt.id_base = atol(v);
        else if (!strcmp(a, "--room"))
            opt.room = v;
        else if (!strcmp(a, "--rooms"))
            opt.rooms = atoi(v);
        else if (!strcmp(a, "--bcast-room"))
            opt.bcast_room = v;
        else if (!strcmp(a, "--mode"))
            opt.mode = !strcmp(v, "idle") ? M_IDLE : !strcmp(v, "echo") ? M_ECHO : !strcmp(v, "trigger") ? M_TRIGGER
                     : !strcmp(v, "recv")                                ? M_RECV
                     : !strcmp(v, "chat")                                ? M_CHAT
                     : !strcmp(v, "once")                                ? M_ONCE
                                                                         : -1;
        else if (!strcmp(a, "--msg-rate"))
            opt.msg_rate = atof(v);
        else if (!strcmp(a, "--payload"))
            opt.payload = atoi(v);
        else if (!strcmp(a, "--timeout-ms"))
            opt.timeout_ms = atoi(v);
        else
            usage();
    }
    if (opt.port <= 0 || opt.clients <= 0 || opt.transport < 0 || opt.mode < 0 || opt.src_a < 1 ||
        opt.src_b > 254 || opt.src_b < opt.src_a || opt.payload < 0 || opt.payload > 60000 ||
        (opt.room && strlen(opt.room) > 200) || (opt.bcast_room && strlen(opt.bcast_room) > 200))
        usage();
    if (opt.transport == T_POLLING && (opt.mode == M_ECHO || opt.mode == M_TRIGGER || opt.mode == M_CHAT)) {
        fprintf(stderr, "loadgen: --transport polling is for idle, recv and once clients\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(pad, 'x', sizeof(pad));
    snprintf(host_hdr, sizeof(host_hdr), "%s:%d", opt.host, opt.port);
    scratch = malloc(SCRATCH_CAP);
    clients = calloc((size_t)opt.clients, sizeof(*clients));
    if (!scratch || !clients)
        return 1;
    for (int i = 0; i < opt.clients; i++)
        clients[i].idx = (uint32_t)i;

    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    t0_ns = rate_t0 = now_ns();
    cpu_last = cpu_seconds();
    struct timeval ms1 = {0, 1000}, ms250 = {0, 250000}, s1 = {1, 0};
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    struct event *hk = event_new(base, -1, EV_PERSIST, on_housekeeping, NULL);
    struct event *prog = event_new(base, -1, EV_PERSIST, on_progress, NULL);
    struct event *in = event_new(base, 0, EV_READ | EV_PERSIST, on_stdin, NULL);
    event_add(tick, &ms1);
    event_add(hk, &ms250);
    event_add(prog, &s1);
    event_add(in, NULL);
    on_tick(-1, 0, NULL);
    event_base_dispatch(base);

    for (int i = 0; i < opt.clients; i++) {
        sock_free(clients[i].http);
        sock_free(clients[i].ws);
    }
    event_free(tick);
    event_free(hk);
    event_free(prog);
    event_free(in);
    event_base_free(base);
    free(clients);
    free(scratch);
    return 0;
}
