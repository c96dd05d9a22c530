/*
 * The Redis adapter without a Redis (rooms/sio_redis.h): the URL parser, and a server whose Redis cannot be
 * reached (127.0.0.1:1, where nothing listens): it must not crash, leak or grow, and go on serving alone.
 * Messages from other servers are handed to the adapter directly (sio__redis_ad_message), as the subscriber
 * would; a raw WebSocket client on a socketpair sees what reaches it. What crosses a real Redis is tested by
 * test/cluster/; what other servers may send, by test/fuzz/fuzz_redis_adapter.c.
 */
#include <event2/event.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#include "rooms/sio_msgpack.h"
#include "rooms/sio_redis_private.h"

/* Log lines, counted by level and by the phrases the tests look for. */
static int log_count[4], log_cannot_connect, log_dropped, log_cannot_resolve;

static void count_log(int level, const char *msg, void *ud)
{
    (void)ud;
    if (level >= 0 && level < 4)
        log_count[level]++;
    if (strstr(msg, "cannot connect"))
        log_cannot_connect++;
    if (strstr(msg, "dropped"))
        log_dropped++;
    if (strstr(msg, "cannot resolve"))
        log_cannot_resolve++;
}

static int log_setup(void **state)
{
    memset(log_count, 0, sizeof(log_count));
    log_cannot_connect = log_dropped = log_cannot_resolve = 0;
    eio_set_logger(count_log, NULL);
    return ut_setup(state);
}

#define REDIS_TEST(f) cmocka_unit_test_setup(f, log_setup)

static void run_for(struct event_base *base, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* ------------------------------------------------------------------------------------------------------ */
/* sio_redis_options_parse_url                                                                              */
/* ------------------------------------------------------------------------------------------------------ */

static char url_buf[256];

/* Parses url into fresh defaults; returns the parser's answer. */
static int parse(sio_redis_options *o, const char *url)
{
    sio_redis_options_init(o);
    memset(url_buf, 0xa5, sizeof(url_buf));
    UT_WHERE("%s", url);
    return sio_redis_options_parse_url(o, url, url_buf, sizeof(url_buf));
}

static void assert_opt_str(const char *actual, const char *expected)
{
    if (!expected) {
        if (actual)
            print_error("expected NULL, got \"%s\"\n", actual);
        assert_null(actual);
    } else {
        assert_non_null(actual);
        assert_string_equal(actual, expected);
    }
}

/* host, port, username, password, unix_path after a successful parse. */
static void expect_url(const char *url, const char *host, int port, const char *user, const char *pass,
                       const char *unix_path)
{
    sio_redis_options o;
    UT_EQ(parse(&o, url), 0);
    assert_opt_str(o.host, host);
    UT_EQ(o.port, port);
    assert_opt_str(o.username, user);
    assert_opt_str(o.password, pass);
    assert_opt_str(o.unix_path, unix_path);
    assert_string_equal(o.key_prefix, "socket.io"); /* what the URL does not say keeps its default */
    UT_EQ(o.request_timeout_ms, 5000);
}

static void test_url_host_and_port(void **state)
{
    (void)state;
    expect_url("redis://cache", "cache", 6379, NULL, NULL, NULL);
    expect_url("redis://cache:6380", "cache", 6380, NULL, NULL, NULL);
    expect_url("redis://10.0.0.5:1", "10.0.0.5", 1, NULL, NULL, NULL);
    expect_url("redis://10.0.0.5:65535", "10.0.0.5", 65535, NULL, NULL, NULL);
    expect_url("redis://", "127.0.0.1", 6379, NULL, NULL, NULL);     /* nothing said: the defaults */
    expect_url("redis://:6390", "127.0.0.1", 6390, NULL, NULL, NULL); /* the port alone */
}

static void test_url_credentials(void **state)
{
    (void)state;
    expect_url("redis://:secret@cache:6380", "cache", 6380, NULL, "secret", NULL);
    expect_url("redis://alice:secret@cache", "cache", 6379, "alice", "secret", NULL);
    expect_url("redis://alice:pa:ss@cache", "cache", 6379, "alice", "pa:ss", NULL); /* the first ':' splits */
    /* No ':' in the user part: taken for a password, as redis-cli -u reads it (AUTH secret). node-redis 4
     * (@redis/client 1.6, new URL()) takes it for a username and sends AUTH with a username and no
     * password, which Redis refuses: the reading here is the only one that can work. */
    expect_url("redis://secret@cache", "cache", 6379, NULL, "secret", NULL);
    /* An empty password is no password, as node-redis (`if (password)`): AUTH "" is refused by a Redis
     * without requirepass, and a template such as redis://:${REDIS_PASSWORD}@host must still connect. */
    expect_url("redis://:@cache", "cache", 6379, NULL, NULL, NULL);
    expect_url("redis://@cache", "cache", 6379, NULL, NULL, NULL);
}

static void test_url_percent_escapes(void **state)
{
    (void)state;
    expect_url("redis://:p%40ss%3A%2f%25@cache", "cache", 6379, NULL, "p@ss:/%", NULL);
    expect_url("redis://al%3Ace:%20x@cache", "cache", 6379, "al:ce", " x", NULL);
    expect_url("redis://:%C3%A9t%C3%A9@cache", "cache", 6379, NULL, "\xc3\xa9t\xc3\xa9", NULL);
    /* A raw '@' in the password: the last '@' ends the user part, as in WHATWG's URL parser (node-redis
     * gives "p@ss" too). */
    expect_url("redis://:p@ss@cache:6380", "cache", 6380, NULL, "p@ss", NULL);
}

static void test_url_ipv6(void **state)
{
    (void)state;
    expect_url("redis://[::1]:6380", "::1", 6380, NULL, NULL, NULL);
    expect_url("redis://[::1]", "::1", 6379, NULL, NULL, NULL);
    expect_url("redis://:pw@[fe80::1%25eth0]:7000/2", "fe80::1%eth0", 7000, NULL, "pw", NULL);
}

static void test_url_unix(void **state)
{
    (void)state;
    expect_url("unix:///tmp/r.sock", "127.0.0.1", 6379, NULL, NULL, "/tmp/r.sock");
    expect_url("unix:///run/redis%20x.sock?db=2", "127.0.0.1", 6379, NULL, NULL, "/run/redis x.sock");
}

static void test_url_db_ignored(void **state)
{
    (void)state;
    /* Pub/sub spans every database: the number is read past and ignored. */
    expect_url("redis://cache:6380/3", "cache", 6380, NULL, NULL, NULL);
    expect_url("redis://cache/15", "cache", 6379, NULL, NULL, NULL);
    expect_url("redis://cache?db=1", "cache", 6379, NULL, NULL, NULL);
    expect_url("redis://cache#frag", "cache", 6379, NULL, NULL, NULL);
}

static void test_url_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "http://cache:6379",     "rediss://cache",          "REDIS://cache",      "cache:6379",
        "",                      "redis://cache:0",         "redis://cache:99999", "redis://cache:65536",
        "redis://cache:abc",     "redis://cache:80x",       "redis://cache:",      "redis://cache:-1",
        "redis://:p%zz@cache",   "redis://:p%4@cache",      "redis://:p%@cache",   "redis://:%00@cache",
        "redis://[::1",          "redis://[::1]x",          "redis://[::1]:0",     "unix://relative.sock",
        "unix://",               "unix:///a%zz",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sio_redis_options o;
        UT_EQ(parse(&o, bad[i]), -1);
    }
    sio_redis_options o;
    sio_redis_options_init(&o);
    UT_EQ(sio_redis_options_parse_url(&o, NULL, url_buf, sizeof(url_buf)), -1);
    UT_EQ(sio_redis_options_parse_url(&o, "redis://cache", NULL, 64), -1);
    UT_EQ(sio_redis_options_parse_url(&o, "redis://cache", url_buf, 0), -1);
}

static void test_url_buffer_too_small(void **state)
{
    (void)state;
    /* "alice\0secret\0cache\0": 19 bytes. */
    const char *url = "redis://alice:secret@cache:6380";
    for (size_t cap = 1; cap <= 19; cap++) {
        UT_WHERE("cap %zu", cap);
        char *buf = (char *)ut_alloc(cap); /* exactly cap bytes: ASan sees a write past them */
        sio_redis_options o;
        sio_redis_options_init(&o);
        int rc = sio_redis_options_parse_url(&o, url, buf, cap);
        UT_EQ(rc, cap == 19 ? 0 : -1);
        if (rc == 0) {
            assert_string_equal(o.username, "alice");
            assert_string_equal(o.password, "secret");
            assert_string_equal(o.host, "cache");
            UT_EQ(o.port, 6380);
        }
        free(buf);
    }
    for (size_t cap = 1; cap <= 12; cap++) { /* "/tmp/r.sock\0" */
        UT_WHERE("unix, cap %zu", cap);
        char *buf = (char *)ut_alloc(cap);
        sio_redis_options o;
        sio_redis_options_init(&o);
        UT_EQ(sio_redis_options_parse_url(&o, "unix:///tmp/r.sock", buf, cap), cap == 12 ? 0 : -1);
        free(buf);
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* sio_redis_new / sio_redis_free                                                                           */
/* ------------------------------------------------------------------------------------------------------ */

static void test_new_refuses_bad_options(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    assert_non_null(base);
    sio_redis_options o;
    sio_redis_options_init(&o);
    assert_null(sio_redis_new(NULL, &o));
    o.port = 0;
    assert_null(sio_redis_new(base, &o));
    o.port = 65536;
    assert_null(sio_redis_new(base, &o));
    sio_redis_options_init(&o);
    o.host = NULL;
    assert_null(sio_redis_new(base, &o));
    /* A name that does not resolve: NULL at once, one error line (never a retry loop on a name). A space
     * makes the name invalid, so the resolver answers without asking a DNS server. */
    sio_redis_options_init(&o);
    o.host = "no such host.invalid";
    assert_null(sio_redis_new(base, &o));
    UT_EQ(log_cannot_resolve, 1);
    UT_EQ(log_count[EIO_LOG_ERROR], 1);
    sio_redis_free(NULL);
    event_base_free(base);
}

/* Nothing listens on 127.0.0.1:1: connections fail, are retried with a backoff, and are said once. */
static void test_unreachable_then_free(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    assert_non_null(base);
    sio_redis_options o;
    sio_redis_options_init(&o);
    o.port = 1;
    o.password = "pw";
    o.username = "user";
    o.key_prefix = "test-prefix";
    sio_redis *r = sio_redis_new(base, &o);
    assert_non_null(r);
    assert_string_equal(r->host, "127.0.0.1");
    assert_string_equal(r->prefix, "test-prefix");
    run_for(base, 300); /* attempts at about 0, 100 and 300 ms */
    UT_EQ(sio_redis_connected(r), 0);
    UT_EQ(log_cannot_connect, 2); /* once per connection, not once per attempt */
    UT_EQ(r->pub.up, 0);
    UT_EQ(r->sub.up, 0);
    UT_TRUE(r->pub.backoff_ms > 100); /* it has retried and backs off */
    UT_TRUE(r->pub.backoff_ms <= 5000);

    /* What would go to the other servers is dropped, never queued: nothing grows, one log line. */
    for (int i = 0; i < 1000; i++)
        sio__redis_publish(r, "socket.io#/#", "0123456789", 10);
    UT_UEQ(r->pending_bytes, 0);
    UT_EQ(r->dropped, 1000);
    UT_EQ(log_dropped, 1);
    sio_redis_free(r);
    run_for(base, 20); /* no timer of r may fire now */
    event_base_free(base);
}

static void count_servers(size_t n, void *arg)
{
    *(size_t *)arg = n;
}

static void test_server_count_while_down(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    sio_redis_options o;
    sio_redis_options_init(&o);
    o.port = 1;
    sio_redis *r = sio_redis_new(base, &o);
    assert_non_null(r);
    size_t n = 0;
    UT_EQ(sio__redis_numsub(r, "socket.io-request#/#", count_servers, &n), 0);
    UT_UEQ(n, 1); /* called before returning */
    sio_redis_free(r);
    event_base_free(base);
}

static void test_unix_socket_missing(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    sio_redis_options o;
    sio_redis_options_init(&o);
    o.unix_path = "/nonexistent-dir/redis.sock";
    sio_redis *r = sio_redis_new(base, &o);
    assert_non_null(r); /* connects in the background, like a TCP address */
    assert_null(r->host);
    run_for(base, 20);
    UT_EQ(sio_redis_connected(r), 0);
    sio_redis_free(r);
    event_base_free(base);
}

/* ------------------------------------------------------------------------------------------------------ */
/* A server on the adapter while Redis is down: it serves alone                                             */
/* ------------------------------------------------------------------------------------------------------ */

struct outcome {
    int calls;
    int err;
    size_t n;
};

static void on_fetch(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    struct outcome *o = ud;
    (void)sockets;
    o->calls++;
    o->err = err;
    o->n = n;
}

static void on_acks(int err, const cJSON *responses, void *ud)
{
    struct outcome *o = ud;
    o->calls++;
    o->err = err;
    o->n = cJSON_IsArray(responses) ? (size_t)cJSON_GetArraySize(responses) : 999;
}

static void test_server_alone_while_down(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    sio_redis_options ro;
    sio_redis_options_init(&ro);
    ro.port = 1;
    sio_redis *r = sio_redis_new(base, &ro);
    assert_non_null(r);
    sio_server *srv = sio_server_new(base, NULL);
    assert_non_null(srv);
    UT_EQ(sio_server_set_adapter(srv, &sio_redis_adapter, r), 0);
    sio_namespace *nsp = sio_of(srv, "/");
    assert_non_null(nsp);
    assert_non_null(sio_of(srv, "/custom"));
    assert_non_null(r->ads);
    assert_non_null(r->ads->next);

    struct outcome fetch = {0}, sse = {0}, acks = {0};
    UT_EQ(sio_fetch_sockets(nsp, NULL, on_fetch, &fetch), 0);
    UT_EQ(sio_server_side_emit_with_ack(nsp, "ping", NULL, 60000, on_acks, &sse), 0);
    UT_EQ(sio_broadcast_with_ack(nsp, NULL, "ev", NULL, NULL, 0, 60000, on_acks, &acks), 0);
    UT_EQ(sio_broadcast(nsp, NULL, "ev", NULL, NULL, 0), 0);
    UT_EQ(sio_server_side_emit(nsp, "ev", NULL), 0);
    const char *rooms[] = {"a"};
    sio_bcast to = {.rooms = rooms, .nrooms = 1};
    UT_EQ(sio_sockets_join(nsp, &to, rooms, 1), 0);
    UT_EQ(sio_disconnect_sockets(nsp, &to, 1), 0);
    run_for(base, 10);
    /* Every request is answered by this server alone, at once (the server count is 1). */
    UT_EQ(fetch.calls, 1);
    UT_EQ(fetch.err, 0);
    UT_UEQ(fetch.n, 0);
    UT_EQ(sse.calls, 1);
    UT_EQ(sse.err, 0);
    UT_UEQ(sse.n, 0);
    UT_EQ(acks.calls, 1);
    UT_EQ(acks.err, 0);
    UT_UEQ(acks.n, 0);
    UT_UEQ(r->pending_bytes, 0);
    UT_TRUE(r->dropped >= 4); /* broadcast (with and without acks), serverSideEmit, join, disconnect */

    sio_server_free(srv);
    assert_null(r->ads); /* every adapter left r's list */
    sio_redis_free(r);
    run_for(base, 1);
    event_base_free(base);
}

/* ------------------------------------------------------------------------------------------------------ */
/* What other servers send, handed in as the subscriber would (Redis down: nothing is answered)             */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct node {
    struct event_base *base;
    sio_redis *r;
    sio_server *srv;
    sio_namespace *nsp;
    sio_socket *sock; /* the one client's socket, referenced */
    int fd;           /* the client's end */
} node;

static void node_on_connection(sio_socket *s, void *ud)
{
    node *n = ud;
    sio_socket_ref(s);
    n->sock = s;
}

/* Everything the server sent since the last call (server frames are not masked: payloads appear as is). */
static int client_saw(int fd, const char *needle)
{
    static char buf[1 << 16];
    size_t o = 0;
    ssize_t k;
    while (o < sizeof(buf) - 1 && (k = recv(fd, buf + o, sizeof(buf) - 1 - o, MSG_DONTWAIT)) > 0)
        o += (size_t)k;
    buf[o] = 0;
    return memmem(buf, o, needle, strlen(needle)) != NULL;
}

/* A server on the Redis adapter (Redis unreachable) with one WebSocket client connected to "/". */
static void node_init(node *n)
{
    memset(n, 0, sizeof(*n));
    n->base = event_base_new();
    assert_non_null(n->base);
    sio_redis_options ro;
    sio_redis_options_init(&ro);
    ro.port = 1;
    n->r = sio_redis_new(n->base, &ro);
    assert_non_null(n->r);
    n->srv = sio_server_new(n->base, NULL);
    assert_non_null(n->srv);
    UT_EQ(sio_server_set_adapter(n->srv, &sio_redis_adapter, n->r), 0);
    n->nsp = sio_of(n->srv, "/");
    sio_namespace_on_connection(n->nsp, node_on_connection, n);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UT_EQ(eio_server_adopt_fd(sio_server_engine(n->srv), sv[0]), 0);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    n->fd = sv[1];
    static const char req[] = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    UT_EQ(write(n->fd, req, sizeof(req) - 1), (long long)sizeof(req) - 1);
    run_for(n->base, 10);
    UT_TRUE(client_saw(n->fd, "HTTP/1.1 101 "));
    static const uint8_t connect_frame[] = {0x81, 0x82, 0, 0, 0, 0, '4', '0'}; /* "40", masked, zero key */
    UT_EQ(write(n->fd, connect_frame, sizeof(connect_frame)), (long long)sizeof(connect_frame));
    run_for(n->base, 10);
    assert_non_null(n->sock);
    client_saw(n->fd, ""); /* drop the CONNECT answer */
}

static void node_free(node *n)
{
    sio_server_free(n->srv);
    sio_socket_unref(n->sock);
    close(n->fd);
    sio_redis_free(n->r);
    run_for(n->base, 1);
    event_base_free(n->base);
}

/* msgpack [uid, {type: 2, data: [event, arg], nsp: "/"}, {rooms: [room], except: [], flags: {}}], as a Node
 * server publishes io.to(room).emit(event, arg). */
static void remote_broadcast(node *n, const char *uid, const char *room, const char *event, const char *arg)
{
    sio_mp_buf b = SIO_MP_BUF_INIT;
    int rc = sio_mp_array(&b, 3);
    rc = rc ? rc : sio_mp_str(&b, uid, strlen(uid));
    rc = rc ? rc : sio_mp_map(&b, 3);
    rc = rc ? rc : sio_mp_str(&b, "type", 4);
    rc = rc ? rc : sio_mp_int(&b, 2);
    rc = rc ? rc : sio_mp_str(&b, "data", 4);
    rc = rc ? rc : sio_mp_array(&b, 2);
    rc = rc ? rc : sio_mp_str(&b, event, strlen(event));
    rc = rc ? rc : sio_mp_str(&b, arg, strlen(arg));
    rc = rc ? rc : sio_mp_str(&b, "nsp", 3);
    rc = rc ? rc : sio_mp_str(&b, "/", 1);
    rc = rc ? rc : sio_mp_map(&b, 3);
    rc = rc ? rc : sio_mp_str(&b, "rooms", 5);
    rc = rc ? rc : sio_mp_array(&b, 1);
    rc = rc ? rc : sio_mp_str(&b, room, strlen(room));
    rc = rc ? rc : sio_mp_str(&b, "except", 6);
    rc = rc ? rc : sio_mp_array(&b, 0);
    rc = rc ? rc : sio_mp_str(&b, "flags", 5);
    rc = rc ? rc : sio_mp_map(&b, 0);
    UT_EQ(rc, 0);
    /* The one-room channel: socket.io#/#<room># */
    size_t chlen = strlen("socket.io#/#") + strlen(room) + 1;
    char *ch = malloc(chlen + 1);
    assert_non_null(ch);
    snprintf(ch, chlen + 1, "socket.io#/#%s#", room);
    sio__redis_ad_message(n->r, ch, chlen, (const char *)b.data, b.len);
    free(ch);
    sio_mp_buf_cleanup(&b);
    run_for(n->base, 5);
}

static void test_remote_broadcast_to_a_room(void **state)
{
    (void)state;
    node n;
    node_init(&n);
    UT_EQ(sio_socket_join(n.sock, "news"), 0);
    remote_broadcast(&n, "Node01", "news", "ev", "hi");
    UT_TRUE(client_saw(n.fd, "42[\"ev\",\"hi\"]"));
    remote_broadcast(&n, "Node01", "sports", "ev", "no"); /* a room this server does not have */
    UT_TRUE(!client_saw(n.fd, "42["));
    remote_broadcast(&n, n.r->ads->uid, "news", "ev", "own"); /* its own, heard back from Redis */
    UT_TRUE(!client_saw(n.fd, "42["));
    node_free(&n);
}

/* io.to(room).emit for a room name of 256 bytes or more: it was dropped by the room pre-check. */
static void test_remote_broadcast_to_a_long_room(void **state)
{
    (void)state;
    node n;
    node_init(&n);
    char room[301];
    memset(room, 'L', 300);
    room[300] = 0;
    UT_EQ(sio_socket_join(n.sock, room), 0);
    remote_broadcast(&n, "Node01", room, "ev", "long");
    UT_TRUE(client_saw(n.fd, "42[\"ev\",\"long\"]"));
    room[299] = 'M'; /* another long room, which this server does not have */
    remote_broadcast(&n, "Node01", room, "ev", "other");
    UT_TRUE(!client_saw(n.fd, "42["));
    node_free(&n);
}

/* socketsJoin and disconnectSockets from another server (JSON requests). */
static void test_remote_join_and_disconnect(void **state)
{
    (void)state;
    node n;
    node_init(&n);
    static const char join[] = "{\"uid\":\"x\",\"type\":2,\"opts\":{\"rooms\":[],\"except\":[]},\"rooms\":[\"j\"]}";
    static const char ch[] = "socket.io-request#/#";
    sio__redis_ad_message(n.r, ch, sizeof(ch) - 1, join, sizeof(join) - 1);
    UT_EQ(sio_socket_in(n.sock, "j"), 1);
    static const char bye[] = "{\"uid\":\"x\",\"type\":4,\"opts\":{\"rooms\":[\"j\"],\"except\":[]},\"close\":false}";
    sio__redis_ad_message(n.r, ch, sizeof(ch) - 1, bye, sizeof(bye) - 1);
    run_for(n.base, 5);
    UT_EQ(sio_socket_connected(n.sock), 0);
    UT_TRUE(client_saw(n.fd, "41"));
    node_free(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        REDIS_TEST(test_url_host_and_port),
        REDIS_TEST(test_url_credentials),
        REDIS_TEST(test_url_percent_escapes),
        REDIS_TEST(test_url_ipv6),
        REDIS_TEST(test_url_unix),
        REDIS_TEST(test_url_db_ignored),
        REDIS_TEST(test_url_refused),
        REDIS_TEST(test_url_buffer_too_small),
        REDIS_TEST(test_new_refuses_bad_options),
        REDIS_TEST(test_unreachable_then_free),
        REDIS_TEST(test_server_count_while_down),
        REDIS_TEST(test_unix_socket_missing),
        REDIS_TEST(test_server_alone_while_down),
        REDIS_TEST(test_remote_broadcast_to_a_room),
        REDIS_TEST(test_remote_broadcast_to_a_long_room),
        REDIS_TEST(test_remote_join_and_disconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
