/*
 * Regression tests from the review of the Redis adapter (fixed in a2f8975): each failed, tripped ASan or hit its
 * guard on the reviewed code (5360524) and passes with the fixes. One test per finding:
 *
 *   1  sio_redis_free (and sio_server_free) from a server-side event handler run by a Redis message
 *   2a a remote disconnectSockets whose socket's `disconnecting` handler frees the server
 *   2b a fetchSockets callback, run by the other server's answer, that frees the server
 *   3  other servers' broadcasts with acks that reach no socket, with a one-day timeout: relays end at once
 *   4  a hung Redis: server counts in flight are capped, and the silent publisher is cut
 *   5  Redis refusing us after the connect: not up, said once, reconnections back off
 *   6  two servers sharing one sio_redis: freeing one leaves the other subscribed; both gone, nothing stays
 *   7  a broadcast with acks complete, then an extra client count in the same loop iteration: err 0
 *   8  a requestId with '"' and '\' in the client count we publish: valid JSON, the same id
 *   9  a legacy remote join {sid, room}: only the socket with that id joins
 *
 * No redis-server is needed: a small fake Redis (RESP2, test/common/fake_redis.c, as the fuzz target has) is
 * served on the test's own event_base, and can stop answering (hung) or answer every command with an error
 * (refusing).
 * Messages "from other servers" are PUBLISHed through it, so they reach the adapter as Redis would deliver
 * them (hiredis, the subscriber's callback). Clients are raw WebSocket clients on socketpairs.
 *
 * Real time only where a timeout is the point (test 5 watches reconnections for 1.2 s); the hung-Redis
 * watchdog's clock is moved by the test (its last-answer time is set back) instead of waited for.
 *
 * Built against the reviewed code (make ... CFLAGS="-O1 -g -DREDIS_REGRESS_AT_5360524"), the checks that read
 * counters added by the fixes (relays, numsub_inflight, the watchdog's fields) are left out; every test still
 * fails there on the checks that remain.
 */
#include <event2/event.h>
#include <signal.h>
#include <unistd.h>

#include "unit.h"

#include "rooms/sio_msgpack.h"
#include "rooms/sio_redis_private.h"
#include "test/common/fake_redis.h"
#include "test/common/ws_client.h"

#define REQ_CHANNEL "socket.io-request#/#"
#define RESP_CHANNEL "socket.io-response#/#"
#define PATTERN "socket.io#/#*"

/* Runs the loop until cond holds, for at most about max_ms. */
#define PUMP_UNTIL(base, cond, max_ms)                                                                        \
    do {                                                                                                      \
        for (unsigned pump_i_ = 0; pump_i_ < (unsigned)(max_ms) && !(cond); pump_i_++)                        \
            th_run_for((base), 1);                                                                            \
    } while (0)

/* The fake Redis (test/common/fake_redis.c), one per test, started by world_init (test 5: by the test). */
static th_redis fk;

/* ------------------------------------------------------------------------------------------------------ */
/* A server on the Redis adapter, connected to the fake, with raw WebSocket clients                          */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct world {
    struct event_base *base;
    sio_redis *r;        /* NULL once freed */
    sio_server *srv;     /* NULL once freed (or its free asked for) */
    sio_namespace *nsp;  /* "/" of srv */
    sio_socket *socks[4]; /* referenced, in connection order */
    size_t nsocks;
    int fds[4];
    size_t nfds;
} world;

static void on_connection(sio_socket *s, void *ud)
{
    world *w = ud;
    if (w->nsocks < 4) {
        sio_socket_ref(s);
        w->socks[w->nsocks++] = s;
    }
}

static sio_server *server_new(world *w)
{
    sio_options o;
    sio_options_init(&o);
    o.eio.ping_interval_ms = 60000;
    o.eio.ping_timeout_ms = 60000;
    o.serve_client = 0;
    sio_server *srv = sio_server_new(w->base, &o);
    assert_non_null(srv);
    UT_EQ(sio_server_set_adapter(srv, &sio_redis_adapter, w->r), 0);
    assert_non_null(sio_of(srv, "/"));
    return srv;
}

/* A base, the fake Redis answering, a sio_redis connected to it, and a server with "/" subscribed. */
static void world_init(world *w, unsigned request_timeout_ms)
{
    memset(w, 0, sizeof(*w));
    w->base = event_base_new();
    assert_non_null(w->base);
    th_redis_start(&fk, w->base, TH_REDIS_ANSWER);
    sio_redis_options o;
    sio_redis_options_init(&o);
    o.port = fk.port;
    if (request_timeout_ms)
        o.request_timeout_ms = request_timeout_ms;
    w->r = sio_redis_new(w->base, &o);
    assert_non_null(w->r);
    PUMP_UNTIL(w->base, sio_redis_connected(w->r), 1000);
    UT_EQ(sio_redis_connected(w->r), 1);
    w->srv = server_new(w);
    w->nsp = sio_of(w->srv, "/");
    sio_namespace_on_connection(w->nsp, on_connection, w);
    PUMP_UNTIL(w->base, th_redis_subscribed(&fk, REQ_CHANNEL, 0) && th_redis_subscribed(&fk, RESP_CHANNEL, 0), 1000);
    UT_TRUE(th_redis_subscribed(&fk, REQ_CHANNEL, 0) && th_redis_subscribed(&fk, PATTERN, 1));
}

static void world_free(world *w)
{
    if (w->srv)
        sio_server_free(w->srv);
    for (size_t i = 0; i < w->nsocks; i++)
        sio_socket_unref(w->socks[i]);
    for (size_t i = 0; i < w->nfds; i++)
        close(w->fds[i]);
    if (w->r)
        sio_redis_free(w->r);
    th_run_for(w->base, 5); /* a deferred free finishes; the fake sees the connections close */
    th_redis_stop(&fk);
    event_base_free(w->base);
}

/* A WebSocket client connected to "/" of w->srv; returns its socket (w->socks[...]). */
static sio_socket *client_connect(world *w)
{
    assert_true(w->nfds < 4);
    int fd = th_ws_open(sio_server_engine(w->srv), TH_WS_SIO_REQUEST);
    assert_true(fd >= 0);
    w->fds[w->nfds++] = fd;
    th_run_for(w->base, 5);
    size_t before = w->nsocks;
    UT_EQ(th_ws_send_text(fd, "40"), 0);
    PUMP_UNTIL(w->base, w->nsocks > before, 500);
    UT_UEQ(w->nsocks, before + 1);
    return w->socks[before];
}

/* Waits until every server count asked so far on r's publisher is answered: Redis answers in order, so a
 * server count asked now comes back after them. */
static void count_cb(size_t n, void *arg)
{
    (void)n;
    (*(int *)arg)++;
}

static void flush_numsubs(world *w)
{
    int done = 0;
    UT_EQ(sio__redis_numsub(w->r, REQ_CHANNEL, count_cb, &done), 0);
    PUMP_UNTIL(w->base, done, 500);
    UT_EQ(done, 1);
}

/* ------------------------------------------------------------------------------------------------------ */
/* The log, the hang guard                                                                                   */
/* ------------------------------------------------------------------------------------------------------ */

static int log_not_answered, log_refused, log_connected;

static void count_log(int level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    if (strstr(msg, "has not answered"))
        log_not_answered++;
    if (strstr(msg, "refused"))
        log_refused++;
    if (strstr(msg, "connected to"))
        log_connected++;
    if (getenv("REDIS_REGRESS_LOG"))
        fprintf(stderr, "log %d: %s\n", level, msg);
}

static void on_alarm(int sig)
{
    static const char msg[] = "test_redis_regress: a test hung (the alarm guard ended it)\n";
    (void)sig;
    ssize_t n = write(2, msg, sizeof(msg) - 1);
    (void)n;
    _exit(3);
}

static int setup(void **state)
{
    log_not_answered = log_refused = log_connected = 0;
    eio_set_logger(count_log, NULL);
    signal(SIGALRM, on_alarm);
    alarm(10); /* a hang fails the run instead of blocking it */
    return ut_setup(state);
}

static int teardown(void **state)
{
    (void)state;
    alarm(0);
    return 0;
}

#define REGRESS_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ------------------------------------------------------------------------------------------------------ */
/* 1. sio_redis_free from an application callback that a Redis message leads to                            */
/* ------------------------------------------------------------------------------------------------------ */

static int sse_calls;

static void free_all_on_server_side(sio_namespace *nsp, const char *event, const cJSON *args, sio_server_ack *ack,
                                    void *ud)
{
    world *w = ud;
    (void)nsp;
    (void)args;
    (void)ack;
    sse_calls++;
    UT_TRUE(strcmp(event, "shutdown") == 0);
    /* The application shuts down on an order from the cluster: its server, then its sio_redis ("after every
     * server using it": the server's free is deferred, the sio_redis' must wait for it and for hiredis). */
    sio_server_free(w->srv);
    sio_redis_free(w->r);
    w->srv = NULL;
    w->r = NULL;
}

static void test_redis_free_from_server_side_event(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    sse_calls = 0;
    sio_namespace_on_server_side(w.nsp, free_all_on_server_side, &w);
    UT_EQ(th_redis_publish_str(&fk, REQ_CHANNEL, "{\"uid\":\"other1\",\"type\":6,\"data\":[\"shutdown\"]}"), 1);
    /* reviewed code: the sio_redis was freed inside hiredis's callback, which then used its context (ASan:
     * heap-use-after-free in redisProcessCallbacks) */
    PUMP_UNTIL(w.base, sse_calls, 500);
    UT_EQ(sse_calls, 1);
    PUMP_UNTIL(w.base, !fk.conns, 500); /* everything went: both connections closed */
    assert_null(fk.conns);
    world_free(&w);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 2. sio_server_free from application code run by a remote request or a remote answer                       */
/* ------------------------------------------------------------------------------------------------------ */

static int disconnecting_calls;

static void free_server_on_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    world *w = ud;
    (void)s;
    (void)reason;
    disconnecting_calls++;
    sio_server_free(w->srv);
    w->srv = NULL;
}

static void test_remote_disconnect_frees_server_in_disconnecting(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    sio_socket *a = client_connect(&w);
    disconnecting_calls = 0;
    UT_EQ(sio_socket_on_disconnecting(a, free_server_on_disconnecting, &w), 0);
    /* Another server's io.disconnectSockets(): type 4 with opts, selecting everyone. */
    UT_EQ(th_redis_publish_str(&fk, REQ_CHANNEL,
                               "{\"uid\":\"other1\",\"type\":4,\"opts\":{\"rooms\":[],\"except\":[]},\"close\":false}"),
          1);
    /* reviewed code: the free ran at once inside the adapter's loop over the selected sockets and never
     * returned (the alarm guard ends the run) */
    PUMP_UNTIL(w.base, disconnecting_calls && !w.r->ads, 500);
    UT_EQ(disconnecting_calls, 1);
    assert_null(w.r->ads); /* the server is gone (its free was deferred to a fresh loop iteration) */
    UT_EQ(sio_socket_connected(a), 0);
    world_free(&w);
}

static int fetch_calls, fetch_err;
static size_t fetch_n;

static void free_server_on_fetch(int err, const sio_socket_info *infos, size_t n, void *ud)
{
    world *w = ud;
    fetch_calls++;
    fetch_err = err;
    fetch_n = n;
    sio_server_free(w->srv);
    w->srv = NULL;
    /* Called from one of the server's callbacks, the free finishes in the next loop iteration: until this
     * returns, the namespace and what the callback was given are still there. */
    UT_TRUE(strcmp(sio_namespace_name(w->nsp), "/") == 0); /* reviewed code: freed at once (ASan) */
    UT_UEQ(sio_namespace_sockets_count(w->nsp), 1);
    for (size_t i = 0; i < n; i++)
        UT_TRUE(infos[i].id && strlen(infos[i].id) > 0);
}

static void test_fetch_callback_from_remote_answer_frees_server(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    client_connect(&w);
    fk.numsub = 2; /* one other server: the fetch waits for its answer */
    fetch_calls = 0;
    UT_EQ(sio_fetch_sockets(w.nsp, NULL, free_server_on_fetch, &w), 0);
    flush_numsubs(&w); /* the fetch knows the server count and has published its request */
    assert_non_null(w.r->ads);
    struct redis_req *q = w.r->ads->reqs;
    assert_non_null(q);
    UT_EQ(q->type, REQ_REMOTE_FETCH);
    UT_EQ(fetch_calls, 0);
    char msg[256];
    snprintf(msg, sizeof(msg), "{\"requestId\":\"%s\",\"sockets\":[{\"id\":\"remote1\",\"handshake\":{},"
                               "\"rooms\":[\"remote1\"],\"data\":{}}]}", q->id);
    UT_EQ(th_redis_publish_str(&fk, RESP_CHANNEL, msg), 1);
    /* reviewed code: the server was freed at once inside the callback (ASan: heap-use-after-free of the
     * namespace the callback goes on using) */
    PUMP_UNTIL(w.base, fetch_calls && !w.r->ads, 500);
    UT_EQ(fetch_calls, 1);
    UT_EQ(fetch_err, 0);
    UT_UEQ(fetch_n, 2); /* ours and the other server's */
    assert_null(w.r->ads);
    world_free(&w);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 3. Relays of other servers' broadcasts with acks that reach nobody                                        */
/* ------------------------------------------------------------------------------------------------------ */

/* A type-7 request as @socket.io/redis-adapter sends it (msgpack): io.to(room).timeout(ms).emit("ev", cb). */
static void type7_request(sio_mp_buf *b, const char *rid, const char *room, double timeout_ms)
{
    cJSON *packet = cJSON_CreateObject();
    cJSON_AddNumberToObject(packet, "type", 2);
    cJSON *data = cJSON_AddArrayToObject(packet, "data");
    cJSON_AddItemToArray(data, cJSON_CreateString("ev"));
    cJSON_AddStringToObject(packet, "nsp", "/");
    cJSON *opts = cJSON_CreateObject();
    cJSON *rooms = cJSON_AddArrayToObject(opts, "rooms");
    cJSON_AddItemToArray(rooms, cJSON_CreateString(room));
    cJSON_AddArrayToObject(opts, "except");
    cJSON *flags = cJSON_AddObjectToObject(opts, "flags");
    cJSON_AddNumberToObject(flags, "timeout", timeout_ms);
    int rc = sio_mp_map(b, 5);
    rc = rc ? rc : sio_mp_str(b, "uid", 3);
    rc = rc ? rc : sio_mp_str(b, "other1", 6);
    rc = rc ? rc : sio_mp_str(b, "requestId", 9);
    rc = rc ? rc : sio_mp_str(b, rid, strlen(rid));
    rc = rc ? rc : sio_mp_str(b, "type", 4);
    rc = rc ? rc : sio_mp_int(b, REQ_BROADCAST);
    rc = rc ? rc : sio_mp_str(b, "packet", 6);
    rc = rc ? rc : sio_mp_json(b, packet, NULL, 0);
    rc = rc ? rc : sio_mp_str(b, "opts", 4);
    rc = rc ? rc : sio_mp_json(b, opts, NULL, 0);
    UT_EQ(rc, 0);
    cJSON_Delete(packet);
    cJSON_Delete(opts);
}

#define FLOOD 2000

static void test_relay_flood_to_nobody_ends_at_once(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    client_connect(&w); /* in no room "nobody-here" */
    snprintf(fk.capture, sizeof(fk.capture), "%s", RESP_CHANNEL);
    th_run_for(w.base, 5);
    int before = event_base_get_num_events(w.base, EVENT_BASE_COUNT_ADDED);
    for (int i = 0; i < FLOOD; i++) {
        char rid[24];
        snprintf(rid, sizeof(rid), "flood%d", i);
        sio_mp_buf b = SIO_MP_BUF_INIT;
        type7_request(&b, rid, "nobody-here", 86399999); /* a day, less a millisecond */
        UT_EQ(th_redis_publish(&fk, REQ_CHANNEL, strlen(REQ_CHANNEL), (const char *)b.data, b.len), 1);
        sio_mp_buf_cleanup(&b);
    }
    /* Each relay answers its client count (0) at once ... */
    PUMP_UNTIL(w.base, fk.captured >= FLOOD, 3000);
    UT_EQ(fk.captured, FLOOD);
    /* ... and ends in the next loop iteration: nothing stays (timers, collectors, relays). */
    th_run_for(w.base, 5);
    int after = event_base_get_num_events(w.base, EVENT_BASE_COUNT_ADDED);
    UT_WHERE("events added: %d before the flood, %d after", before, after);
    UT_TRUE(after <= before + 2); /* reviewed code: one timer per relay, for a day (+2000) */
#ifndef REDIS_REGRESS_AT_5360524
    UT_UEQ(w.r->relays, 0);
#endif
    UT_UEQ(w.r->pending_bytes, 0);
    world_free(&w);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 4. A hung Redis                                                                                           */
/* ------------------------------------------------------------------------------------------------------ */

#define HUNG_BCASTS 2000
#define MAX_NUMSUB_INFLIGHT_EXPECTED 1024
#define OWN_NUMSUBS 10

static int hung_acks;

static void hung_acked(int err, const cJSON *responses, void *ud)
{
    (void)err;
    (void)responses;
    (void)ud;
    hung_acks++;
}

static void test_hung_redis_caps_and_cuts_the_publisher(void **state)
{
    (void)state;
    world w;
    world_init(&w, 300);
    fk.mode = TH_REDIS_HUNG; /* Redis stops answering (SIGSTOP, a partition): commands are read, never answered */
    fk.numsub_seen = fk.publish_seen = 0;
    int own_answers = 0;
    for (int i = 0; i < OWN_NUMSUBS; i++)
        UT_EQ(sio__redis_numsub(w.r, REQ_CHANNEL, count_cb, &own_answers), 0);
    UT_EQ(own_answers, 0); /* in flight */
    hung_acks = 0;
    unsigned max_inflight = 0;
    for (int i = 0; i < HUNG_BCASTS; i++) {
        UT_EQ(sio_broadcast_with_ack(w.nsp, NULL, "x", NULL, NULL, 0, 50, hung_acked, NULL), 0);
#ifndef REDIS_REGRESS_AT_5360524
        if (w.r->numsub_inflight > max_inflight)
            max_inflight = w.r->numsub_inflight;
#endif
    }
    /* Every command written reaches the fake (the last broadcast's PUBLISH comes after every NUMSUB but its
     * own, if any). */
    PUMP_UNTIL(w.base, fk.publish_seen >= HUNG_BCASTS, 2000);
    th_run_for(w.base, 5);
    UT_EQ(fk.publish_seen, HUNG_BCASTS);
    UT_WHERE("PUBSUB NUMSUB sent to the hung Redis: %ld", fk.numsub_seen);
    UT_TRUE(fk.numsub_seen <= MAX_NUMSUB_INFLIGHT_EXPECTED); /* reviewed code: 2010, without bound */
    UT_TRUE(max_inflight <= MAX_NUMSUB_INFLIGHT_EXPECTED);
    /* The broadcasts' callbacks all run (at their 50 ms timeout, or at once for those counted alone). */
    PUMP_UNTIL(w.base, hung_acks == HUNG_BCASTS, 1000);
    UT_EQ(hung_acks, HUNG_BCASTS);
    UT_EQ(sio_redis_connected(w.r), 1); /* nothing noticed yet */
#ifndef REDIS_REGRESS_AT_5360524
    /* The watchdog's clock: the publisher's last answer was longer ago than the limit (max(request timeout,
     * 2 s)); its next tick (each second) is run now instead of waited for. */
    w.r->pub_last_reply_ms -= 5000;
    event_active(w.r->health, EV_TIMEOUT, 1);
    PUMP_UNTIL(w.base, log_not_answered && !w.r->pub.up, 200);
    UT_EQ(log_not_answered, 1);
    UT_EQ(w.r->pub.up, 0); /* a2f8975 as committed: 1 (redisAsyncDisconnect waits for the answers first) */
    /* Cut: every server count waiting on it is answered ("this server alone"), nothing is left counted. */
    PUMP_UNTIL(w.base, own_answers == OWN_NUMSUBS, 200);
    UT_EQ(own_answers, OWN_NUMSUBS);
    UT_UEQ(w.r->numsub_inflight, 0);
    UT_UEQ(w.r->pub_inflight, 0);
    UT_UEQ(w.r->pending_bytes, 0);
#endif
    world_free(&w);
    UT_EQ(own_answers, OWN_NUMSUBS); /* at the latest when the sio_redis is freed */
}

/* ------------------------------------------------------------------------------------------------------ */
/* 5. Redis refusing us after the connect                                                                    */
/* ------------------------------------------------------------------------------------------------------ */

static int ever_up;

static void watch_up_cb(evutil_socket_t fd, short what, void *arg)
{
    sio_redis *r = arg;
    (void)fd;
    (void)what;
    if (r->pub.up || r->sub.up || sio_redis_connected(r))
        ever_up = 1;
}

static void test_refusing_redis_is_not_up_and_backs_off(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    assert_non_null(base);
    /* Every command, AUTH and PING included: -ERR max number of clients reached. */
    th_redis_start(&fk, base, TH_REDIS_REFUSE);
    sio_redis_options o;
    sio_redis_options_init(&o);
    o.port = fk.port;
    o.password = "pw";
    o.request_timeout_ms = 300;
    sio_redis *r = sio_redis_new(base, &o);
    assert_non_null(r);
    ever_up = 0;
    struct event *watch = event_new(base, -1, EV_PERSIST, watch_up_cb, r);
    struct timeval ms1 = {0, 1000};
    event_add(watch, &ms1);
    th_run_for(base, 1200);
    event_free(watch);
    UT_EQ(ever_up, 0);       /* reviewed code: up at the TCP connect, before any answer */
    UT_EQ(log_connected, 0); /* reviewed code: "publisher connected to ..." at each attempt */
    UT_WHERE("log lines with \"refused\": %d", log_refused);
    UT_TRUE(log_refused >= 1 && log_refused <= 2); /* once per connection; reviewed code: once per attempt */
    /* Attempts at about 0, 100, 300 and 700 ms for each of the two connections. */
    UT_WHERE("connections in 1.2 s: %ld", fk.accepted);
    UT_TRUE(fk.accepted >= 4);
    UT_TRUE(fk.accepted <= 10); /* reviewed code: one every 100 ms for each (about 24) */
    UT_TRUE(r->pub.backoff_ms >= 800);
    sio_redis_free(r);
    th_run_for(base, 5);
    th_redis_stop(&fk);
    event_base_free(base);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 6. Two servers sharing one sio_redis                                                                      */
/* ------------------------------------------------------------------------------------------------------ */

static int shared_sse_calls;

static void count_server_side(sio_namespace *nsp, const char *event, const cJSON *args, sio_server_ack *ack,
                              void *ud)
{
    (void)nsp;
    (void)event;
    (void)args;
    (void)ack;
    (void)ud;
    shared_sse_calls++;
}

static struct redis_ad *adapter_of(sio_redis *r, const sio_namespace *nsp)
{
    for (struct redis_ad *ad = r->ads; ad; ad = ad->next)
        if (ad->nsp == nsp)
            return ad;
    return NULL;
}

static void test_shared_redis_subscriptions(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    sio_server *other = server_new(&w);
    sio_namespace *other_nsp = sio_of(other, "/");
    char own[96], other_own[96];
    snprintf(own, sizeof(own), "%s", adapter_of(w.r, w.nsp)->own_resp_channel);
    snprintf(other_own, sizeof(other_own), "%s", adapter_of(w.r, other_nsp)->own_resp_channel);
    PUMP_UNTIL(w.base, th_redis_subscribed(&fk, own, 0) && th_redis_subscribed(&fk, other_own, 0), 500);
    UT_TRUE(th_redis_subscribed(&fk, own, 0) && th_redis_subscribed(&fk, other_own, 0));

    sio_server_free(other);
    th_run_for(w.base, 10);
    /* The channels of "/" are the first server's too: still subscribed, never unsubscribed. */
    UT_TRUE(th_redis_subscribed(&fk, REQ_CHANNEL, 0));
    UT_TRUE(th_redis_subscribed(&fk, RESP_CHANNEL, 0));
    UT_TRUE(th_redis_subscribed(&fk, PATTERN, 1));
    UT_TRUE(th_redis_subscribed(&fk, own, 0));
    UT_EQ(th_redis_unsubs(&fk, REQ_CHANNEL), 0);
    UT_EQ(th_redis_unsubs(&fk, RESP_CHANNEL), 0);
    UT_EQ(th_redis_unsubs(&fk, PATTERN), 0);
    UT_TRUE(!th_redis_subscribed(&fk, other_own, 0)); /* the freed server's own channel went */
    /* And the first server hears the cluster. */
    shared_sse_calls = 0;
    sio_namespace_on_server_side(w.nsp, count_server_side, NULL);
    UT_EQ(th_redis_publish_str(&fk, REQ_CHANNEL, "{\"uid\":\"other1\",\"type\":6,\"data\":[\"hello\"]}"), 1);
    PUMP_UNTIL(w.base, shared_sse_calls, 500);
    UT_EQ(shared_sse_calls, 1);

    /* Both servers gone, the sio_redis kept (a server restarted later, say): nothing of "/" stays
     * subscribed, or other servers would count this one and wait for answers that never come. */
    sio_server_free(w.srv);
    w.srv = NULL;
    th_run_for(w.base, 10);
    UT_TRUE(!th_redis_subscribed(&fk, REQ_CHANNEL, 0)); /* reviewed code: still subscribed */
    UT_TRUE(!th_redis_subscribed(&fk, RESP_CHANNEL, 0));
    UT_TRUE(!th_redis_subscribed(&fk, PATTERN, 1));
    UT_TRUE(!th_redis_subscribed(&fk, own, 0));
    UT_TRUE(!th_redis_subscribed(&fk, other_own, 0));
    world_free(&w);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 7. The collector's completion is latched                                                                   */
/* ------------------------------------------------------------------------------------------------------ */

static int latch_calls, latch_err;

static void latch_acked(int err, const cJSON *responses, void *ud)
{
    (void)responses;
    (void)ud;
    latch_calls++;
    latch_err = err;
}

static void test_complete_broadcast_ignores_a_late_count(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    fk.numsub = 2; /* this server and one other */
    latch_calls = 0;
    UT_EQ(sio_broadcast_with_ack(w.nsp, NULL, "q", NULL, NULL, 0, 2000, latch_acked, NULL), 0);
    flush_numsubs(&w); /* the server count (2) is in */
    assert_non_null(w.r->ads->reqs);
    char count[128];
    snprintf(count, sizeof(count), "{\"type\":8,\"requestId\":\"%s\",\"clientCount\":0}", w.r->ads->reqs->id);
    /* The other server's count completes the broadcast (no client anywhere); a second count (a duplicate, or
     * a server that just joined) comes in the same read, so in the same loop iteration. */
    UT_EQ(th_redis_publish_str(&fk, RESP_CHANNEL, count), 1);
    UT_EQ(th_redis_publish_str(&fk, RESP_CHANNEL, count), 1);
    PUMP_UNTIL(w.base, latch_calls, 500);
    UT_EQ(latch_calls, 1);
    UT_EQ(latch_err, 0); /* reviewed code: SIO_ETIMEOUT, at once */
    world_free(&w);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 8. The requestId in the client count we publish                                                          */
/* ------------------------------------------------------------------------------------------------------ */

static void test_client_count_escapes_request_id(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    snprintf(fk.capture, sizeof(fk.capture), "%s", RESP_CHANNEL);
    static const char rid[] = "a\"b\\c";
    sio_mp_buf b = SIO_MP_BUF_INIT;
    type7_request(&b, rid, "nobody-here", 1000);
    UT_EQ(th_redis_publish(&fk, REQ_CHANNEL, strlen(REQ_CHANNEL), (const char *)b.data, b.len), 1);
    sio_mp_buf_cleanup(&b);
    PUMP_UNTIL(w.base, fk.captured, 500);
    UT_EQ(fk.captured, 1);
    UT_WHERE("published: %s", fk.kept[0]);
    cJSON *j = cJSON_ParseWithLength(fk.kept[0], fk.kept_len[0]);
    UT_TRUE(cJSON_IsObject(j)); /* reviewed code: {"type":8,"requestId":"a"b\c",...}, not JSON */
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "requestId");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "clientCount");
    UT_TRUE(cJSON_IsNumber(type) && type->valueint == REQ_BROADCAST_CLIENT_COUNT);
    UT_TRUE(cJSON_IsString(id) && strcmp(id->valuestring, rid) == 0);
    UT_TRUE(cJSON_IsNumber(n) && n->valueint == 0);
    cJSON_Delete(j);
    world_free(&w);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 9. A legacy remote join {sid, room}                                                                       */
/* ------------------------------------------------------------------------------------------------------ */

static void test_legacy_join_matches_the_socket_id(void **state)
{
    (void)state;
    world w;
    world_init(&w, 0);
    sio_socket *a = client_connect(&w);
    sio_socket *b = client_connect(&w);
    /* B is in a room named after A's id, and in "ghost", which names no socket. */
    UT_EQ(sio_socket_join(b, sio_socket_id(a)), 0);
    UT_EQ(sio_socket_join(b, "ghost"), 0);
    char msg[256];
    snprintf(msg, sizeof(msg), "{\"uid\":\"other1\",\"type\":2,\"sid\":\"%s\",\"room\":\"x\"}", sio_socket_id(a));
    UT_EQ(th_redis_publish_str(&fk, REQ_CHANNEL, msg), 1);
    UT_EQ(th_redis_publish_str(&fk, REQ_CHANNEL, "{\"uid\":\"other1\",\"type\":2,\"sid\":\"ghost\",\"room\":\"y\"}"),
          1);
    /* A marker after both: once it is heard, both requests were handled. */
    shared_sse_calls = 0;
    sio_namespace_on_server_side(w.nsp, count_server_side, NULL);
    UT_EQ(th_redis_publish_str(&fk, REQ_CHANNEL, "{\"uid\":\"other1\",\"type\":6,\"data\":[\"marker\"]}"), 1);
    PUMP_UNTIL(w.base, shared_sse_calls, 500);
    UT_EQ(shared_sse_calls, 1);
    UT_EQ(sio_socket_in(a, "x"), 1);
    UT_EQ(sio_socket_in(b, "x"), 0); /* reviewed code: 1 (every socket of the room named by the id) */
    UT_EQ(sio_socket_in(a, "y"), 0);
    UT_EQ(sio_socket_in(b, "y"), 0); /* reviewed code: 1 */
    world_free(&w);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        REGRESS_TEST(test_redis_free_from_server_side_event),
        REGRESS_TEST(test_remote_disconnect_frees_server_in_disconnecting),
        REGRESS_TEST(test_fetch_callback_from_remote_answer_frees_server),
        REGRESS_TEST(test_relay_flood_to_nobody_ends_at_once),
        REGRESS_TEST(test_hung_redis_caps_and_cuts_the_publisher),
        REGRESS_TEST(test_refusing_redis_is_not_up_and_backs_off),
        REGRESS_TEST(test_shared_redis_subscriptions),
        REGRESS_TEST(test_complete_broadcast_ignores_a_late_count),
        REGRESS_TEST(test_client_count_escapes_request_id),
        REGRESS_TEST(test_legacy_join_matches_the_socket_id),
    };
    return cmocka_run_group_tests_name("redis_review", tests, NULL, NULL);
}
