/*
 * Connection I/O of the engine (engineio/eio_http.c) on socketpairs and a real event_base: which timeouts a
 * connection keeps armed, and what a connection may still touch once the server that accepted it is freed.
 *
 * Regression tests for the change that replaced bufferevents with one event per connection:
 * - the headers timeout must not survive on a WebSocket or a parked polling GET (event_add(ev, NULL) on a
 *   pending event keeps its old timeout; only the heartbeat bounds those connections);
 * - a connection that came through a server that is then unchained and freed must not use it for its writes
 *   (run under SANITIZE=1 to see the use after free).
 */
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#include "engineio/eio_private.h"

static eio_session *last_session;

static void on_connection(eio_session *s, const eio_request *req, void *ud)
{
    (void)req;
    (void)ud;
    last_session = s;
}

/* Runs the loop for about ms milliseconds. */
static void run_for(struct event_base *base, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* A client connected to srv through a socketpair; returns the client's end (non-blocking). */
static int client_new(eio_server *srv)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UT_EQ(eio_server_adopt_fd(srv, sv[0]), 0);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    return sv[1];
}

static void client_write(int fd, const char *s)
{
    size_t n = strlen(s);
    UT_EQ(write(fd, s, n), (long long)n);
}

/* Reads what the server sent so far (NUL-terminated, truncated to cap - 1). Returns -1 on EOF. */
static long client_read(int fd, char *buf, size_t cap)
{
    size_t o = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + o, cap - 1 - o, MSG_DONTWAIT);
        if (n == 0) {
            buf[o] = '\0';
            return -1;
        }
        if (n < 0) {
            buf[o] = '\0';
            return (long)o;
        }
        o += (size_t)n;
        if (o == cap - 1) {
            buf[o] = '\0';
            return (long)o;
        }
    }
}

static const char ws_request[] = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

static eio_server *server_new(struct event_base *base, const char *path)
{
    eio_options o;
    eio_options_init(&o);
    o.path = path;
    o.headers_timeout_ms = 100;  /* far shorter than the ping interval */
    o.ping_interval_ms = 60000;
    o.ping_timeout_ms = 60000;
    eio_handlers h = {.on_connection = on_connection};
    eio_server *srv = eio_server_new(base, &o, &h);
    assert_non_null(srv);
    return srv;
}

/* An idle WebSocket is watched by the heartbeat only: the headers timeout must not close it. */
static void test_websocket_has_no_read_timeout(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    eio_server *srv = server_new(base, "/engine.io/");
    int fd = client_new(srv);
    client_write(fd, ws_request);
    run_for(base, 20);
    char buf[1024];
    long n = client_read(fd, buf, sizeof(buf));
    UT_TRUE(n > 0 && strncmp(buf, "HTTP/1.1 101 ", 13) == 0);
    eio_conn *c = srv->conns;
    assert_non_null(c);
    UT_EQ(c->mode, EIO_CONN_WS);

    run_for(base, 400); /* four headers timeouts, no input */
    UT_TRUE(client_read(fd, buf, sizeof(buf)) >= 0); /* not closed by the server */
    UT_EQ(eio_server_clients_count(srv), 1);
    UT_TRUE(srv->conns == c);
    UT_EQ(event_pending(&c->ev, EV_TIMEOUT, NULL), 0);

    close(fd);
    eio_server_free(srv);
    event_base_free(base);
}

/* A parked polling GET is bounded by the heartbeat only: the headers timeout must not close it. */
static void test_parked_get_has_no_read_timeout(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    eio_server *srv = server_new(base, "/engine.io/");
    int fd = client_new(srv);
    last_session = NULL;
    client_write(fd, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");
    run_for(base, 20);
    char buf[1024];
    UT_TRUE(client_read(fd, buf, sizeof(buf)) > 0 && strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(last_session);
    char req[256];
    snprintf(req, sizeof(req), "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n",
             eio_session_id(last_session));
    client_write(fd, req); /* on the same keep-alive connection */
    run_for(base, 20);
    eio_conn *c = srv->conns;
    assert_non_null(c);
    UT_EQ(c->parked, 1);

    run_for(base, 400); /* four headers timeouts, no input */
    UT_TRUE(client_read(fd, buf, sizeof(buf)) == 0); /* still parked: no answer, not closed */
    UT_EQ(eio_server_clients_count(srv), 1);
    UT_TRUE(srv->conns == c);
    UT_EQ(event_pending(&c->ev, EV_TIMEOUT, NULL), 0);

    close(fd);
    eio_server_free(srv);
    event_base_free(base);
}

/*
 * front serves /front/ and chains to back (/engine.io/). A WebSocket accepted by front lives in back. The
 * application unchains front and frees it first, as eio_server_chain allows; back and its WebSocket go on,
 * and a send must reach the client without touching front.
 */
static void test_unchained_home_freed(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    eio_server *front = server_new(base, "/front/");
    eio_server *back = server_new(base, "/engine.io/");
    eio_server_chain(front, back);
    last_session = NULL;
    int fd = client_new(front);
    client_write(fd, ws_request);
    run_for(base, 20);
    char buf[1024];
    UT_TRUE(client_read(fd, buf, sizeof(buf)) > 0 && strncmp(buf, "HTTP/1.1 101 ", 13) == 0);
    assert_non_null(last_session);
    assert_non_null(back->conns);
    UT_EQ(back->conns->mode, EIO_CONN_WS);

    eio_server_chain(front, NULL);
    eio_server_free(front);

    UT_EQ(eio_session_send_text(last_session, "hello", 5), 0); /* queues on the WebSocket */
    run_for(base, 20);
    long n = client_read(fd, buf, sizeof(buf));
    UT_TRUE(n > 0 && memmem(buf, (size_t)n, "4hello", 6) != NULL);

    close(fd);
    eio_server_free(back);
    event_base_free(base);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the server writes to clients this test has closed */
    const struct CMUnitTest tests[] = {
        UT_TEST(test_websocket_has_no_read_timeout),
        UT_TEST(test_parked_get_has_no_read_timeout),
        UT_TEST(test_unchained_home_freed),
    };
    return cmocka_run_group_tests_name("eio_conn", tests, NULL, NULL);
}
