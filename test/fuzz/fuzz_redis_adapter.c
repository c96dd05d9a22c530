/*
 * libFuzzer harness for what other servers (Node ones, emitters, or anyone who can PUBLISH on the Redis) send
 * to the Redis adapter (rooms/sio_redis_adapter.c): broadcasts, requests and responses on its channels, in
 * msgpack or JSON, are untrusted input that must never crash, leak, or make anything grow.
 *
 * Each input gets a fresh sio_server on the Redis adapter, with namespaces "/" and "/custom" and three raw
 * WebSocket clients on socketpairs (A on both namespaces, B on "/", C on "/custom"; in rooms "r1" and "r2"),
 * a few requests of its own pending, then the messages, then the server is freed with whatever is still
 * pending, and the clients closed. Two sio_redis instances live for the whole run:
 * - "up": connected to a fake Redis (test/common/fake_redis.c) served on the same event_base (127.0.0.1, a free
 *   port). It answers SUBSCRIBE, PUBLISH (delivered to subscribers by channel and pattern, as Redis does, so the
 *   adapter also hears its own messages), and PUBSUB NUMSUB with a server count chosen by the input;
 * - "down": 127.0.0.1:1, where nothing listens (everything published is dropped, the server count is 1).
 *
 * Input layout:
 *   byte 0  bit 0: the "down" Redis instead of "up";
 *           bits 1, 2, 3: before the messages, start a fetchSockets, a broadcast with acks, a serverSideEmit
 *           with acks (on "/custom" when bit 4 is set, else on "/"); their callbacks must each run exactly
 *           once by the end of the input;
 *           bits 5-6: the server count the fake Redis gives (1 to 4);
 *           bit 7: messages go through the fake Redis (PUBLISH, then hiredis and the subscriber's callback)
 *           instead of a direct sio__redis_ad_message call (with "down", always direct);
 *   byte 1  bit 0: short timeouts: the requests wait 1 ms, and the loop runs 3 ms before the server is freed;
 *           bit 1: the clients acknowledge every event that asks for it (so another server's broadcast with
 *           acks gets answers relayed back);
 *           bits 2, 3: the fetchSockets, the broadcast with acks are for room "r1" instead of everyone;
 *           bit 4: a second server with "/" on the same sio_redis, freed after the first (which must not
 *           take its subscriptions away);
 *           bit 5: before the messages, this server also sends: broadcasts (to everyone with a binary
 *           argument, to "r1" except "r2", volatile), socketsJoin, socketsLeave, a serverSideEmit and a
 *           disconnectSockets that selects no one (through the fake Redis they come back, and are ignored);
 *           bit 6: with bit 1, the clients answer with a binary acknowledgement;
 *   rest    messages separated by "\xc1\xc1" (0xc1 is never used by msgpack and never valid in UTF-8): each
 *           is one channel byte and the message bytes. The channel byte modulo 11 picks the channel:
 *           0 socket.io#/#, 1 socket.io#/#r1#, 2 socket.io#/custom#, 3 socket.io-request#/#,
 *           4 socket.io-response#/#, 5 socket.io-request#/custom#, 6 socket.io-response#/custom#,
 *           7 socket.io#/custom#r1#, 8 socket.io#/#r2#, 9 socket.io-response#/#<uid of "/">#, 10 any: two
 *           length bytes (big-endian) and the channel's bytes come first. Its value / 16 picks "@SID@".
 * In a message, "@RID@" becomes the requestId of the newest pending request of the channel's namespace, and
 * "@SID@" the id of one of its sockets; a msgpack fixstr header of 5 bytes (0xa5) just before is set to the
 * new length, so the tokens work in msgpack as in JSON.
 *
 * Checked: the request callbacks (once each; fetchSockets' infos well formed, a `local` socket has the id of
 * its info), every adapter gone from the sio_redis after the server is freed, every publish answered by the
 * fake Redis (pending_bytes back to 0: no drift, no growth), and subscriptions not piling up at the fake
 * Redis across inputs. ASan/LSan check the rest; everything, the fake Redis included, is freed at exit.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rooms/sio_redis_private.h"
#include "test/common/fake_redis.h"
#include "test/common/ws_client.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                           \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                     \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

#define MSG_SEP "\xc1\xc1"
#define RID_TOKEN "@RID@"
#define SID_TOKEN "@SID@"
#define LONG_TIMEOUT_MS 600000

static struct event_base *base;
static sio_redis *r_up, *r_down;
static th_redis fake; /* the Redis of r_up */

/* ------------------------------------------------------------------------------------------------------ */
/* Raw WebSocket clients                                                                                    */
/* ------------------------------------------------------------------------------------------------------ */

#define NCLIENTS 3

struct client {
    int fd;            /* -1 once closed */
    uint8_t *in;       /* bytes received and not yet parsed into frames */
    size_t n, cap;
    int upgraded;      /* the 101 answer came */
};

static struct client clients[NCLIENTS];
static int auto_ack; /* 0: no answers, 1: text answers, 2: binary answers */

static void client_write(struct client *c, const void *p, size_t n)
{
    if (c->fd >= 0)
        (void)th_ws_write(c->fd, p, n); /* the server may have closed its end: nothing to do */
}

/* A masked (zero key) text frame, as a client sends. */
static void client_send_text(struct client *c, const char *text)
{
    CHECK(strlen(text) <= 125);
    if (c->fd >= 0)
        (void)th_ws_send_text(c->fd, text);
}

/* An event packet asking for an acknowledgement ("42/custom,12[...]", "451-7[...]"): answers it. */
static void client_maybe_ack(struct client *c, const uint8_t *p, size_t n)
{
    if (n < 3 || p[0] != '4' || (p[1] != '2' && p[1] != '5'))
        return;
    size_t i = 2;
    if (p[1] == '5') {
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i >= n || p[i] != '-')
            return;
        i++;
    }
    char nsp[32] = "";
    if (i < n && p[i] == '/') {
        size_t s = i;
        while (i < n && p[i] != ',')
            i++;
        if (i >= n || i - s + 1 >= sizeof(nsp))
            return;
        memcpy(nsp, p + s, i - s + 1); /* with its ',' */
        nsp[i - s + 1] = 0;
        i++;
    }
    size_t s = i;
    while (i < n && p[i] >= '0' && p[i] <= '9' && i - s < 20)
        i++;
    if (i == s || i >= n || p[i] != '[')
        return;
    char ack[128];
    if (auto_ack == 2) { /* a binary answer: the header, then the attachment in a binary frame */
        snprintf(ack, sizeof(ack), "461-%s%.*s[{\"_placeholder\":true,\"num\":0},2]", nsp, (int)(i - s),
                 (const char *)p + s);
        client_send_text(c, ack);
        static const uint8_t bin[] = {0x82, 0x83, 0, 0, 0, 0, 7, 8, 9}; /* masked (zero key), 3 bytes */
        client_write(c, bin, sizeof(bin));
        return;
    }
    snprintf(ack, sizeof(ack), "43%s%.*s[\"ok\",1]", nsp, (int)(i - s), (const char *)p + s);
    client_send_text(c, ack);
}

/* Reads what the server sent; on the 101, skips the HTTP answer; then parses frames (server frames are not
 * masked) and, with auto_ack, answers the events that ask for it. */
static void client_drain(struct client *c)
{
    if (c->fd < 0)
        return;
    for (;;) {
        if (c->cap - c->n < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 131072;
            uint8_t *g = realloc(c->in, cap);
            CHECK(g);
            c->in = g;
            c->cap = cap;
        }
        ssize_t r = recv(c->fd, c->in + c->n, c->cap - c->n, MSG_DONTWAIT);
        if (r <= 0)
            break;
        c->n += (size_t)r;
    }
    size_t pos = 0;
    if (!c->upgraded) {
        const uint8_t *end = memmem(c->in, c->n, "\r\n\r\n", 4);
        if (!end)
            return;
        CHECK(c->n >= 13 && memcmp(c->in, "HTTP/1.1 101 ", 13) == 0);
        c->upgraded = 1;
        pos = (size_t)(end - c->in) + 4;
    }
    while (c->n - pos >= 2) {
        const uint8_t *f = c->in + pos;
        size_t avail = c->n - pos, hdr = 2, len = f[1] & 0x7f;
        CHECK(!(f[1] & 0x80)); /* a server never masks */
        if (len == 126) {
            if (avail < 4)
                break;
            len = (size_t)f[2] << 8 | f[3];
            hdr = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int k = 0; k < 8; k++)
                len = len << 8 | f[2 + k];
            hdr = 10;
        }
        if (avail - hdr < len)
            break;
        if (auto_ack && (f[0] & 0x0f) == 1)
            client_maybe_ack(c, f + hdr, len);
        pos += hdr + len;
    }
    memmove(c->in, c->in + pos, c->n - pos);
    c->n -= pos;
}

static void run_loop(int times)
{
    for (int i = 0; i < times; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        for (int k = 0; k < NCLIENTS; k++)
            client_drain(&clients[k]);
    }
}

static void run_for_ms(unsigned ms)
{
    th_run_for(base, ms);
    run_loop(2);
}

/* ------------------------------------------------------------------------------------------------------ */
/* The server of one input                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

#define MAX_SOCKS 8

struct nsp_state {
    sio_namespace *nsp;
    sio_socket *socks[MAX_SOCKS]; /* referenced */
    size_t nsocks;
};

static struct nsp_state main_nsp, custom_nsp;

static void on_connection(sio_socket *s, void *ud)
{
    struct nsp_state *st = ud;
    if (st->nsocks < MAX_SOCKS) {
        sio_socket_ref(s);
        st->socks[st->nsocks++] = s;
    }
}

static void on_server_side(sio_namespace *nsp, const char *event, const cJSON *args, sio_server_ack *ack,
                           void *ud)
{
    (void)nsp;
    (void)ud;
    CHECK(event);
    CHECK(cJSON_IsArray(args));
    if (ack)
        sio_server_ack_send(ack, cJSON_GetArrayItem(args, 0));
}

/* The requests of this input and how their callbacks ran. */
static int fetch_started, fetch_calls, bcast_started, bcast_calls, sse_started, sse_calls;

static void on_fetch(int err, const sio_socket_info *infos, size_t n, void *ud)
{
    (void)ud;
    fetch_calls++;
    CHECK(err == 0 || err == SIO_ETIMEOUT || err == SIO_EDISCONNECTED || err == SIO_ENOMEM);
    CHECK(n == 0 || infos);
    for (size_t i = 0; i < n; i++) {
        CHECK(infos[i].id);
        CHECK(infos[i].nrooms == 0 || infos[i].rooms);
        for (size_t k = 0; k < infos[i].nrooms; k++)
            CHECK(infos[i].rooms[k]);
        /* The socket said to be on this server is the one the info is about. */
        if (infos[i].local)
            CHECK(strcmp(sio_socket_id(infos[i].local), infos[i].id) == 0);
    }
}

static void on_bcast_acks(int err, const cJSON *responses, void *ud)
{
    (void)ud;
    bcast_calls++;
    CHECK(err == 0 || err == SIO_ETIMEOUT || err == SIO_EDISCONNECTED);
    CHECK(cJSON_IsArray(responses));
}

static void on_sse_acks(int err, const cJSON *responses, void *ud)
{
    (void)ud;
    sse_calls++;
    CHECK(err == 0 || err == SIO_ETIMEOUT || err == SIO_EDISCONNECTED);
    CHECK(cJSON_IsArray(responses));
}

static void client_open(struct client *c, sio_server *srv)
{
    memset(c, 0, sizeof(*c));
    c->fd = th_ws_open(sio_server_engine(srv), TH_WS_SIO_REQUEST);
    CHECK(c->fd >= 0);
}

static void setup_clients(sio_server *srv)
{
    for (int k = 0; k < NCLIENTS; k++)
        client_open(&clients[k], srv);
    for (int i = 0; i < 50 && !(clients[0].upgraded && clients[1].upgraded && clients[2].upgraded); i++)
        run_loop(1);
    CHECK(clients[0].upgraded && clients[1].upgraded && clients[2].upgraded);
    client_send_text(&clients[0], "40");
    client_send_text(&clients[0], "40/custom,");
    client_send_text(&clients[1], "40");
    client_send_text(&clients[2], "40/custom,");
    for (int i = 0; i < 50 && main_nsp.nsocks + custom_nsp.nsocks < 4; i++)
        run_loop(1);
    CHECK(main_nsp.nsocks == 2 && custom_nsp.nsocks == 2);
    /* "/": A in r1, B in r1 and r2; "/custom": A in r1, C in r2. */
    CHECK(sio_socket_join(main_nsp.socks[0], "r1") == 0);
    CHECK(sio_socket_join(main_nsp.socks[1], "r1") == 0);
    CHECK(sio_socket_join(main_nsp.socks[1], "r2") == 0);
    CHECK(sio_socket_join(custom_nsp.socks[0], "r1") == 0);
    CHECK(sio_socket_join(custom_nsp.socks[1], "r2") == 0);
}

/* What this server sends to the others on its own (opts bit 5). */
static void send_outgoing(sio_namespace *nsp)
{
    static const uint8_t bin[] = {4, 5, 6};
    sio_attachment_ref att = {bin, sizeof(bin)};
    cJSON *args = cJSON_CreateArray();
    CHECK(args);
    cJSON *ph = cJSON_CreateObject();
    cJSON_AddTrueToObject(ph, "_placeholder");
    cJSON_AddNumberToObject(ph, "num", 0);
    cJSON_AddItemToArray(args, ph);
    cJSON_AddItemToArray(args, cJSON_CreateString("x"));
    CHECK(sio_broadcast(nsp, NULL, "out", args, &att, 1) == 0);
    const char *r1[] = {"r1"}, *r2[] = {"r2"}, *j[] = {"j"}, *nobody[] = {"nobody"};
    sio_bcast to = {.rooms = r1, .nrooms = 1, .except = r2, .nexcept = 1, .flags = SIO_BCAST_VOLATILE};
    CHECK(sio_broadcast(nsp, &to, "out", NULL, NULL, 0) == 0);
    CHECK(sio_sockets_join(nsp, &to, j, 1) == 0);
    CHECK(sio_sockets_leave(nsp, &to, r1, 1) == 0);
    CHECK(sio_server_side_emit(nsp, "sse", args) == 0);
    sio_bcast none = {.rooms = nobody, .nrooms = 1};
    CHECK(sio_disconnect_sockets(nsp, &none, 1) == 0);
    cJSON_Delete(args);
}

static struct redis_ad *adapter_of(sio_redis *r, const sio_namespace *nsp)
{
    for (struct redis_ad *ad = r->ads; ad; ad = ad->next)
        if (ad->nsp == nsp)
            return ad;
    return NULL;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Messages                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

/* The channel a message goes to, from its first byte (see the top of the file); sets *st to the namespace
 * whose tokens apply. *body and *blen are advanced past what the choice consumed. */
static size_t channel_for(uint8_t sel, const uint8_t **body, size_t *blen, char *out, size_t cap,
                          struct nsp_state **st, const struct redis_ad *main_ad)
{
    static const char *const fixed[] = {
        "socket.io#/#",           "socket.io#/#r1#",         "socket.io#/custom#",
        "socket.io-request#/#",   "socket.io-response#/#",   "socket.io-request#/custom#",
        "socket.io-response#/custom#", "socket.io#/custom#r1#", "socket.io#/#r2#",
    };
    const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    unsigned k = sel % (nfixed + 2);
    *st = &main_nsp;
    if (k < nfixed) {
        if (strstr(fixed[k], "/custom"))
            *st = &custom_nsp;
        return (size_t)snprintf(out, cap, "%s", fixed[k]);
    }
    if (k == nfixed) /* the response channel of this server alone (publishOnSpecificResponseChannel) */
        return (size_t)snprintf(out, cap, "socket.io-response#/#%s#", main_ad ? main_ad->uid : "xxxxxx");
    /* Any channel: two length bytes (big-endian), then its bytes (NUL included). */
    size_t n = 0;
    for (int i = 0; i < 2 && *blen; i++) {
        n = n << 8 | (*body)[0];
        (*body)++;
        (*blen)--;
    }
    if (n > *blen)
        n = *blen;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, *body, n);
    out[n] = 0;
    *body += n;
    *blen -= n;
    return n;
}

/* Replaces the tokens (see the top of the file). Returns a new buffer and its length. */
static uint8_t *substitute(const uint8_t *in, size_t n, const char *rid, const char *sid, size_t *out_len)
{
    size_t rl = strlen(rid), sl = strlen(sid);
    CHECK(rl < 32 && sl < 32); /* fixstr lengths */
    uint8_t *out = malloc(n / 5 * 32 + n + 1);
    CHECK(out);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const char *with = NULL;
        size_t wl = 0;
        if (n - i >= 5 && memcmp(in + i, RID_TOKEN, 5) == 0)
            with = rid, wl = rl;
        else if (n - i >= 5 && memcmp(in + i, SID_TOKEN, 5) == 0)
            with = sid, wl = sl;
        if (with) {
            if (o > 0 && out[o - 1] == 0xa5)
                out[o - 1] = (uint8_t)(0xa0 | wl);
            memcpy(out + o, with, wl);
            o += wl;
            i += 5;
        } else {
            out[o++] = in[i++];
        }
    }
    *out_len = o;
    return out;
}

static void deliver(sio_redis *r, int via_redis, uint8_t sel, const uint8_t *body, size_t blen)
{
    char channel[1024];
    struct nsp_state *st;
    size_t chlen = channel_for(sel, &body, &blen, channel, sizeof(channel), &st, adapter_of(r, main_nsp.nsp));
    const struct redis_ad *ad = adapter_of(r, st->nsp);
    const char *rid = ad && ad->reqs ? ad->reqs->id : "NOPEND";
    const char *sid = st->nsocks ? sio_socket_id(st->socks[sel / 16 % st->nsocks]) : "NOSOCK";
    size_t len;
    uint8_t *msg = substitute(body, blen, rid, sid, &len);
    /* Exactly len bytes on the heap, and a channel of exactly chlen: ASan sees any read past them. */
    char *exact = malloc(len ? len : 1);
    char *ch = malloc(chlen ? chlen : 1);
    CHECK(exact && ch);
    memcpy(exact, msg, len);
    memcpy(ch, channel, chlen);
    free(msg);
    if (via_redis)
        th_redis_publish(&fake, ch, chlen, exact, len);
    else
        sio__redis_ad_message(r, ch, chlen, exact, len);
    free(exact);
    free(ch);
    run_loop(via_redis ? 4 : 2);
}

/* ------------------------------------------------------------------------------------------------------ */
/* libFuzzer                                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

static void discard_log(int level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    CHECK(msg[0] != '\0');
}

static void cleanup(void)
{
    sio_redis_free(r_up);
    sio_redis_free(r_down);
    r_up = r_down = NULL;
    for (int i = 0; i < 10; i++)
        event_base_loop(base, EVLOOP_NONBLOCK); /* the fake Redis sees the connections close */
    th_redis_stop(&fake);
    event_base_free(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    eio_set_logger(discard_log, NULL);
    base = event_base_new();
    CHECK(base);
    int port = th_redis_start(&fake, base, TH_REDIS_ANSWER);
    sio_redis_options o;
    sio_redis_options_init(&o);
    o.port = port;
    r_up = sio_redis_new(base, &o);
    o.port = 1;
    r_down = sio_redis_new(base, &o);
    CHECK(r_up && r_down);
    for (int i = 0; i < 10000 && !sio_redis_connected(r_up); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    CHECK(sio_redis_connected(r_up));
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t setup = size > 0 ? data[0] : 0, opts = size > 1 ? data[1] : 0;
    const uint8_t *in = size > 2 ? data + 2 : data + size;
    size_t inlen = size > 2 ? size - 2 : 0;
    sio_redis *r = setup & 1 ? r_down : r_up;
    int via_redis = (setup & 0x80) && r == r_up;
    int short_timeouts = opts & 1;
    unsigned timeout = short_timeouts ? 1 : LONG_TIMEOUT_MS;
    auto_ack = opts & 2 ? (opts & 0x40 ? 2 : 1) : 0;
    fake.numsub = 1 + ((setup >> 5) & 3);
    r->request_timeout_ms = timeout; /* fetchSockets' wait (the adapter reads it at each request) */

    sio_options so;
    sio_options_init(&so);
    so.eio.ping_interval_ms = LONG_TIMEOUT_MS;
    so.eio.ping_timeout_ms = LONG_TIMEOUT_MS;
    so.serve_client = 0;
    sio_server *srv = sio_server_new(base, &so);
    CHECK(srv);
    CHECK(sio_server_set_adapter(srv, &sio_redis_adapter, r) == 0);
    memset(&main_nsp, 0, sizeof(main_nsp));
    memset(&custom_nsp, 0, sizeof(custom_nsp));
    main_nsp.nsp = sio_of(srv, "/");
    custom_nsp.nsp = sio_of(srv, "/custom");
    CHECK(main_nsp.nsp && custom_nsp.nsp);
    sio_namespace_on_connection(main_nsp.nsp, on_connection, &main_nsp);
    sio_namespace_on_connection(custom_nsp.nsp, on_connection, &custom_nsp);
    sio_namespace_on_server_side(main_nsp.nsp, on_server_side, NULL);
    sio_namespace_on_server_side(custom_nsp.nsp, on_server_side, NULL);
    setup_clients(srv);
    /* Another server on the same sio_redis, with "/" too (its adapter hears everything "/" gets). */
    sio_server *other = NULL;
    if (opts & 0x10) {
        other = sio_server_new(base, &so);
        CHECK(other);
        CHECK(sio_server_set_adapter(other, &sio_redis_adapter, r) == 0);
        CHECK(sio_of(other, "/"));
    }

    /* Requests of ours, pending while the messages come. */
    fetch_started = fetch_calls = bcast_started = bcast_calls = sse_started = sse_calls = 0;
    sio_namespace *req_nsp = setup & 0x10 ? custom_nsp.nsp : main_nsp.nsp;
    const char *r1[] = {"r1"};
    sio_bcast to_r1 = {.rooms = r1, .nrooms = 1};
    if (setup & 0x02) {
        CHECK(sio_fetch_sockets(req_nsp, opts & 4 ? &to_r1 : NULL, on_fetch, NULL) == 0);
        fetch_started = 1;
    }
    if (setup & 0x04) {
        cJSON *args = cJSON_CreateArray();
        CHECK(args);
        cJSON_AddItemToArray(args, cJSON_CreateString("q"));
        cJSON *ph = cJSON_CreateObject();
        cJSON_AddTrueToObject(ph, "_placeholder");
        cJSON_AddNumberToObject(ph, "num", 0);
        cJSON_AddItemToArray(args, ph);
        static const uint8_t bin[] = {1, 2, 3};
        sio_attachment_ref att = {bin, sizeof(bin)};
        CHECK(sio_broadcast_with_ack(req_nsp, opts & 8 ? &to_r1 : NULL, "ask", args, &att, 1, timeout,
                                     on_bcast_acks, NULL) == 0);
        cJSON_Delete(args);
        bcast_started = 1;
    }
    if (setup & 0x08) {
        cJSON *args = cJSON_CreateArray();
        CHECK(args);
        cJSON_AddItemToArray(args, cJSON_CreateString("y"));
        CHECK(sio_server_side_emit_with_ack(req_nsp, "__sse__", args, timeout, on_sse_acks, NULL) == 0);
        cJSON_Delete(args);
        sse_started = 1;
    }
    if (opts & 0x20)
        send_outgoing(req_nsp);
    run_loop(3); /* the deferred fetch starts; the fake Redis answers NUMSUB */

    /* The messages. */
    size_t start = 0;
    while (start < inlen) {
        const uint8_t *sep = memmem(in + start, inlen - start, MSG_SEP, 2);
        size_t end = sep ? (size_t)(sep - in) : inlen;
        if (end > start)
            deliver(r, via_redis, in[start], in + start + 1, end - start - 1);
        start = end + 2;
    }
    run_loop(3);
    if (short_timeouts)
        run_for_ms(3);

    /* The end: the server goes with whatever is pending; every callback must have run exactly once. */
    sio_server_free(srv);
    run_loop(3);
    if (other) {
        /* The other server still hears "/": freeing the first left its subscriptions alone. */
        if (r == r_up)
            CHECK(th_redis_subscribed(&fake, "socket.io-request#/#", 0) &&
                  th_redis_subscribed(&fake, "socket.io-response#/#", 0));
        sio_server_free(other);
        run_loop(3);
    }
    CHECK(r->ads == NULL);
    CHECK(fetch_calls == fetch_started);
    CHECK(bcast_calls == bcast_started);
    CHECK(sse_calls == sse_started);
    for (size_t i = 0; i < main_nsp.nsocks; i++)
        sio_socket_unref(main_nsp.socks[i]);
    for (size_t i = 0; i < custom_nsp.nsocks; i++)
        sio_socket_unref(custom_nsp.socks[i]);
    for (int k = 0; k < NCLIENTS; k++) {
        close(clients[k].fd);
        clients[k].fd = -1;
        free(clients[k].in);
        clients[k].in = NULL;
    }
    /* Every publish is answered by the fake Redis: what waits goes back to 0. */
    for (int i = 0; i < 100 && r->pending_bytes; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    CHECK(r->pending_bytes == 0);
    /* Subscriptions do not pile up: what stays is the two namespaces' pattern, request and response
     * channels (each adapter's own response channel goes with it). */
    run_loop(3);
    for (const struct th_redis_conn *c = fake.conns; c; c = c->next)
        CHECK(c->nsubs + c->npsubs <= 6);
    return 0;
}
