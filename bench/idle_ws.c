/*
 * idle_ws: opens N idle Engine.IO v4 sessions against a server on 127.0.0.1 and holds them, to measure what
 * an idle session costs the server.
 *
 *   WebSocket (default): GET /engine.io/?EIO=4&transport=websocket with the Upgrade headers, reads the 101 and
 *   the open packet, then answers every server ping (text frame "2") with a masked text frame "3".
 *   --polling: the polling handshake, then one GET parked per session; a ping answered in a GET gets a
 *   POST "3" on the same connection, then the next GET is parked.
 *
 * Source addresses are spread over 127.0.0.2 .. 127.0.0.(1+sources) (bind before connect) so ephemeral ports
 * do not run out. The soft open-files limit is raised to the hard one.
 *
 * Prints progress once a second on stderr, "ramp done: ..." on stdout once every connection has succeeded or
 * failed, then holds for --hold seconds (0: until SIGINT/SIGTERM) and prints the final counts.
 *
 * Build: cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o build/bench/idle_ws bench/idle_ws.c \
 *          $(pkg-config --cflags --libs libevent)
 * Run:   build/bench/idle_ws --port PORT --connections 15000 [--rate 2000] [--hold 60] [--polling]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
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

enum {
    ST_CONNECTING = 0, /* TCP connect and handshake request sent, waiting for the answer */
    ST_WS_101,         /* WS: 101 read, waiting for the open packet */
    ST_WS_OPEN,        /* WS: open packet read; idle */
    ST_POLL_GET,       /* polling: a GET is parked */
    ST_POLL_POST,      /* polling: the POST "3" is waiting for its "ok" */
    ST_DONE            /* failed or closed */
};

struct client {
    struct bufferevent *bev;
    int idx;
    uint8_t state;
    uint8_t counted; /* counted as established */
    char sid[24];
};

static struct {
    int port;
    int n;
    int rate;
    int hold;
    int polling;
    int sources;
    int verbose;
} opt = {0, 1000, 2000, 60, 0, 8, 0};

static struct event_base *base;
static struct client *clients;
static int opened, established, alive, failed, closed, pings; /* failed: never established */
static int ramp_done;
static double t_start, t_ramp_done;
static struct event *tick_ev, *hold_ev;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Ends a connection: "failed" when it never got its session, "closed" when it had one. */
static void finish(struct client *c, int error, const char *why)
{
    if (c->state == ST_DONE)
        return;
    if (opt.verbose || (error && c->counted))
        fprintf(stderr, "conn %d: %s%s\n", c->idx, why, c->counted ? " (session lost)" : "");
    if (c->counted) {
        alive--;
        closed++;
    } else {
        failed++;
    }
    c->state = ST_DONE;
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
}

/* --- WebSocket --- */

static void ws_send_text(struct client *c, const char *s, size_t len)
{
    /* Client frames are masked (RFC 6455 5.3); a fixed mask is fine for a load tool. */
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t frame[2 + 4 + 125];
    if (len > 125)
        return;
    frame[0] = 0x81;
    frame[1] = (uint8_t)(0x80 | len);
    memcpy(frame + 2, mask, 4);
    for (size_t i = 0; i < len; i++)
        frame[6 + i] = (uint8_t)s[i] ^ mask[i & 3];
    bufferevent_write(c->bev, frame, 6 + len);
}

static void ws_send_control(struct client *c, int opcode, const uint8_t *data, size_t len)
{
    static const uint8_t mask[4] = {0x11, 0x22, 0x33, 0x44};
    uint8_t frame[2 + 4 + 125];
    if (len > 125)
        len = 125;
    frame[0] = (uint8_t)(0x80 | opcode);
    frame[1] = (uint8_t)(0x80 | len);
    memcpy(frame + 2, mask, 4);
    for (size_t i = 0; i < len; i++)
        frame[6 + i] = data[i] ^ mask[i & 3];
    bufferevent_write(c->bev, frame, 6 + len);
}

static void ws_read(struct client *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->state == ST_CONNECTING) {
        struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (p.pos < 0) {
            if (evbuffer_get_length(in) > 8192)
                finish(c, 1, "handshake answer too long");
            return;
        }
        char status[13] = "";
        evbuffer_copyout(in, status, 12);
        if (memcmp(status, "HTTP/1.1 101", 12) != 0) {
            finish(c, 1, "no 101");
            return;
        }
        evbuffer_drain(in, (size_t)p.pos + 4);
        c->state = ST_WS_101;
    }
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 2)
            return;
        uint8_t h[10];
        size_t hn = avail < sizeof(h) ? avail : sizeof(h);
        evbuffer_copyout(in, h, hn);
        int opcode = h[0] & 0x0f;
        uint64_t len = h[1] & 0x7f;
        size_t hl = 2;
        if (h[1] & 0x80) {
            finish(c, 1, "masked server frame");
            return;
        }
        if (len == 126) {
            if (hn < 4)
                return;
            len = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (len == 127) {
            if (hn < 10)
                return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | h[2 + i];
            hl = 10;
        }
        if (len > (1u << 24)) {
            finish(c, 1, "frame too large");
            return;
        }
        if (avail < hl + len)
            return;
        evbuffer_drain(in, hl);
        const uint8_t *data = len ? evbuffer_pullup(in, (ev_ssize_t)len) : (const uint8_t *)"";
        switch (opcode) {
        case 0x1: /* text: an Engine.IO packet */
            if (len >= 1 && data[0] == '0' && c->state == ST_WS_101) {
                c->state = ST_WS_OPEN;
                c->counted = 1;
                established++;
                alive++;
            } else if (len == 1 && data[0] == '2') {
                ws_send_text(c, "3", 1);
                pings++;
            } else if (len >= 1 && data[0] == '1') {
                evbuffer_drain(in, len);
                finish(c, 0, "close packet");
                return;
            }
            break;
        case 0x8: /* close */
            evbuffer_drain(in, len);
            finish(c, 0, "close frame");
            return;
        case 0x9: /* ping */
            ws_send_control(c, 0xA, data, (size_t)len);
            break;
        default:
            break;
        }
        evbuffer_drain(in, len);
    }
}

/* --- polling --- */

static void poll_send_get(struct client *c)
{
    evbuffer_add_printf(bufferevent_get_output(c->bev),
                        "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                        "Connection: keep-alive\r\n\r\n",
                        c->sid, opt.port);
    c->state = ST_POLL_GET;
}

static void poll_send_pong(struct client *c)
{
    evbuffer_add_printf(bufferevent_get_output(c->bev),
                        "POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                        "Connection: keep-alive\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 1\r\n\r\n3",
                        c->sid, opt.port);
    c->state = ST_POLL_POST;
}

/* One complete HTTP answer in `in`: status and body copied out (body NUL-terminated, truncated to cap). Returns
 * 0 when incomplete, 1 when taken, -1 on a malformed answer. */
static int http_take(struct evbuffer *in, int *status, char *body, size_t cap, size_t *blen)
{
    struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (p.pos < 0)
        return evbuffer_get_length(in) > 16384 ? -1 : 0;
    size_t hlen = (size_t)p.pos + 4;
    char head[4096];
    if (hlen >= sizeof(head))
        return -1;
    evbuffer_copyout(in, head, hlen);
    head[hlen] = '\0';
    if (sscanf(head, "HTTP/1.1 %d", status) != 1)
        return -1;
    size_t clen = 0;
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "content-length:", 15) == 0) {
            clen = strtoul(line + 17, NULL, 10);
            break;
        }
    }
    if (evbuffer_get_length(in) < hlen + clen)
        return 0;
    evbuffer_drain(in, hlen);
    size_t take = clen < cap - 1 ? clen : cap - 1;
    evbuffer_remove(in, body, take);
    evbuffer_drain(in, clen - take);
    body[take] = '\0';
    *blen = take;
    return 1;
}

static void poll_read(struct client *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (c->state != ST_DONE) {
        int status;
        char body[2048];
        size_t blen;
        int r = http_take(in, &status, body, sizeof(body), &blen);
        if (r == 0)
            return;
        if (r < 0 || status != 200) {
            finish(c, 1, r < 0 ? "bad HTTP answer" : "HTTP status not 200");
            return;
        }
        if (c->state == ST_CONNECTING) {
            const char *s = strstr(body, "\"sid\":\"");
            if (blen < 2 || body[0] != '0' || !s) {
                finish(c, 1, "bad open packet");
                return;
            }
            s += 7;
            size_t n = strcspn(s, "\"");
            if (n >= sizeof(c->sid)) {
                finish(c, 1, "sid too long");
                return;
            }
            memcpy(c->sid, s, n);
            c->sid[n] = '\0';
            c->counted = 1;
            established++;
            alive++;
            poll_send_get(c);
        } else if (c->state == ST_POLL_GET) {
            /* Packets separated by \x1e: answer a ping, stop on a close. */
            int ping = 0, close = 0;
            for (char *pkt = body; pkt && *pkt;) {
                if (pkt[0] == '2')
                    ping = 1;
                else if (pkt[0] == '1')
                    close = 1;
                pkt = strchr(pkt, '\x1e');
                if (pkt)
                    pkt++;
            }
            if (close) {
                finish(c, 0, "close packet");
                return;
            }
            if (ping) {
                pings++;
                poll_send_pong(c);
            } else {
                poll_send_get(c);
            }
        } else if (c->state == ST_POLL_POST) {
            poll_send_get(c);
        }
    }
}

/* --- connections --- */

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct client *c = arg;
    if (opt.polling)
        poll_read(c);
    else
        ws_read(c);
}

static void send_handshake(struct client *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (opt.polling)
        evbuffer_add_printf(out,
                            "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                            "Connection: keep-alive\r\n\r\n",
                            opt.port);
    else
        evbuffer_add_printf(out,
                            "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                            opt.port);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct client *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        send_handshake(c);
        return;
    }
    if (what & BEV_EVENT_EOF)
        finish(c, 0, "EOF");
    else if (what & BEV_EVENT_ERROR)
        finish(c, 1, strerror(EVUTIL_SOCKET_ERROR()));
    else
        finish(c, 1, "timeout");
}

static void open_one(int i)
{
    struct client *c = &clients[i];
    c->idx = i;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        c->state = ST_CONNECTING;
        finish(c, 1, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    struct sockaddr_in src = {0};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(i % opt.sources)); /* 127.0.0.2 + i % sources */
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
        close(fd);
        finish(c, 1, strerror(errno));
        return;
    }
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        close(fd);
        finish(c, 1, "bufferevent_socket_new");
        return;
    }
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    c->state = ST_CONNECTING;
    struct sockaddr_in dst = {0};
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)opt.port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
        finish(c, 1, "connect");
        return;
    }
    bufferevent_enable(c->bev, EV_READ);
}

static void print_status(const char *tag)
{
    printf("%s: established %d of %d (alive %d, failed %d, closed %d, pings answered %d) at %.1f s\n", tag,
           established, opt.n, alive, failed, closed, pings, now_s() - t_start);
}

static void hold_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopbreak(base);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    static double last_print;
    double t = now_s();
    int target = (int)((t - t_start) * opt.rate) + 1;
    if (target > opt.n)
        target = opt.n;
    while (opened < target)
        open_one(opened++);
    int settled = established + failed; /* every connection opened has an outcome */
    if (!ramp_done && opened == opt.n && settled >= opt.n) {
        ramp_done = 1;
        t_ramp_done = t;
        print_status("ramp done");
        fflush(stdout);
        if (opt.hold > 0) {
            struct timeval tv = {opt.hold, 0};
            hold_ev = evtimer_new(base, hold_cb, NULL);
            evtimer_add(hold_ev, &tv);
        }
    }
    if (t - last_print >= 1.0) {
        last_print = t;
        fprintf(stderr, "opened %d, established %d, alive %d, failed %d, closed %d, pings %d\n", opened, established,
                alive, failed, closed, pings);
    }
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopbreak(base);
}

static void usage(void)
{
    fprintf(stderr, "usage: idle_ws --port PORT [--connections N] [--rate PER_SECOND] [--hold SECONDS (0: until "
                    "a signal)] [--polling] [--sources K (127.0.0.2..)] [--verbose]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--polling") == 0) {
            opt.polling = 1;
            continue;
        }
        if (strcmp(a, "--verbose") == 0) {
            opt.verbose = 1;
            continue;
        }
        if (!v)
            usage();
        if (strcmp(a, "--port") == 0)
            opt.port = atoi(v);
        else if (strcmp(a, "--connections") == 0)
            opt.n = atoi(v);
        else if (strcmp(a, "--rate") == 0)
            opt.rate = atoi(v);
        else if (strcmp(a, "--hold") == 0)
            opt.hold = atoi(v);
        else if (strcmp(a, "--sources") == 0)
            opt.sources = atoi(v);
        else
            usage();
        i++;
    }
    if (opt.port <= 0 || opt.port > 65535 || opt.n <= 0 || opt.rate <= 0 || opt.hold < 0 || opt.sources < 1 ||
        opt.sources > 250)
        usage();

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)opt.n + 32 > rl.rlim_cur) {
        fprintf(stderr, "idle_ws: %d connections do not fit the open files limit %lu (keep N <= limit - 32)\n",
                opt.n, (unsigned long)rl.rlim_cur);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    clients = calloc((size_t)opt.n, sizeof(*clients));
    base = event_base_new();
    if (!clients || !base) {
        fprintf(stderr, "idle_ws: out of memory\n");
        return 1;
    }
    struct event *sigint = evsignal_new(base, SIGINT, signal_cb, NULL);
    struct event *sigterm = evsignal_new(base, SIGTERM, signal_cb, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    t_start = now_s();
    tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tick = {0, 5000};
    evtimer_add(tick_ev, &tick);
    printf("idle_ws: %d %s sessions to 127.0.0.1:%d at %d/s from %d source addresses\n", opt.n,
           opt.polling ? "polling" : "websocket", opt.port, opt.rate, opt.sources);
    event_base_dispatch(base);
    print_status(ramp_done ? "final" : "final (ramp not done)");
    if (ramp_done)
        printf("held %.1f s after the ramp (ramp took %.1f s)\n", now_s() - t_ramp_done, t_ramp_done - t_start);
    /* Exiting closes every socket; freeing 15k bufferevents one by one first would only take time. */
    return established == opt.n && alive == opt.n ? 0 : 1;
}
