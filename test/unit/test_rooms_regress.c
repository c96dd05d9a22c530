/*
 * Regression tests from the review of issue 5 (rooms and broadcasting): each failed (or tripped ASan) on the
 * reviewed code and passes with its fix. `make test-unit` runs them plain and under ASan+UBSan; one test:
 * build/san/test/test_rooms_regress 'test_fetch*' (a cmocka filter pattern).
 *
 * Clients are raw WebSocket clients on socketpairs adopted by the server's engine (test/common/ws_client.c, as
 * test_eio_conn.c does), so each test is deterministic and runs in a few tens of milliseconds.
 */
#include <event2/event.h>
#include <signal.h>
#include <unistd.h>

#include "unit.h"

#include "rooms/sio_rooms.h"
#include "socketio/sio_private.h"
#include "test/common/ws_client.h"

/* ------------------------------------------------------------------------------------------------------ */
/* Harness: a Socket.IO server on a private event_base, raw WebSocket clients                               */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct harness {
    struct event_base *base;
    sio_server *srv;
    sio_namespace *nsp;
    sio_socket *last;  /* the last connected socket, referenced (released by harness_free) */
    sio_socket *held;  /* a socket a middleware kept a reference to */
    int refuse;        /* the middleware refuses */
    int fds[4];
    size_t nfds;
    sio_socket *socks[4]; /* referenced */
    size_t nsocks;
} harness;

static void on_connection(sio_socket *s, void *ud)
{
    harness *h = ud;
    sio_socket_ref(s);
    h->last = s;
    if (h->nsocks < 4)
        h->socks[h->nsocks++] = s;
    else
        sio_socket_unref(s);
}

static int middleware(sio_socket *s, const char **message, cJSON **data, void *ud)
{
    harness *h = ud;
    (void)data;
    if (!h->refuse)
        return 0;
    sio_socket_ref(s); /* the application keeps the socket it refused (a map of pending users, say) */
    h->held = s;
    *message = "no";
    return 1;
}

static void harness_init(harness *h, size_t max_queued)
{
    memset(h, 0, sizeof(*h));
    h->base = event_base_new();
    assert_non_null(h->base);
    sio_options o;
    sio_options_init(&o);
    o.eio.ping_interval_ms = 60000;
    o.eio.ping_timeout_ms = 60000;
    if (max_queued)
        o.eio.max_queued_bytes = max_queued;
    h->srv = sio_server_new(h->base, &o);
    assert_non_null(h->srv);
    h->nsp = sio_of(h->srv, "/");
    sio_namespace_on_connection(h->nsp, on_connection, h);
    UT_EQ(sio_namespace_use(h->nsp, middleware, h), 0);
}

/* Frees the server (when srv_freed is 0), our socket references, the clients and the base. */
static void harness_free(harness *h, int srv_freed)
{
    if (!srv_freed)
        sio_server_free(h->srv);
    for (size_t i = 0; i < h->nsocks; i++)
        sio_socket_unref(h->socks[i]);
    for (size_t i = 0; i < h->nfds; i++)
        close(h->fds[i]);
    th_run_for(h->base, 1);
    event_base_free(h->base);
}

/* A WebSocket client that sends CONNECT for "/"; returns its fd. The handshake carries mixed-case headers. */
static int client_connect(harness *h)
{
    int fd = th_ws_open(sio_server_engine(h->srv), "GET /socket.io/?EIO=4&transport=websocket&room=a%20b HTTP/1.1\r\n"
                                                   "Host: x\r\nX-Custom: yes\r\n" TH_WS_UPGRADE_HEADERS);
    assert_true(fd >= 0);
    th_run_for(h->base, 10);
    UT_TRUE(th_ws_saw(fd, "HTTP/1.1 101 "));
    UT_EQ(th_ws_send_text(fd, "40"), 0);
    th_run_for(h->base, 10);
    if (h->nfds < 4)
        h->fds[h->nfds++] = fd;
    return fd;
}

/* ------------------------------------------------------------------------------------------------------ */
/* 1. Room index: a leave-room hook that empties the room (sio_rooms.c node_remove)                          */
/* ------------------------------------------------------------------------------------------------------ */

struct hook_ctx {
    sio_rooms *r;
    sio_rooms_member *other; /* leaves "r" when the first member's leave is reported */
    int deletes;
    int leaves;
};

static void emptying_hook(int what, const char *room, sio_rooms_member *m, void *ud)
{
    struct hook_ctx *c = ud;
    if (what == SIO_ROOMS_DELETE)
        c->deletes++;
    if (what == SIO_ROOMS_LEAVE) {
        c->leaves++;
        /* "when the owner leaves, everyone leaves": the reference's adapter copes (its outer _del sees the
         * room gone and emits delete-room once); the index must not touch the room record after the hook. */
        if (strcmp(room, "r") == 0 && m != c->other && c->other)
            sio_rooms_del(c->r, c->other, "r");
    }
}

static void test_leave_hook_that_empties_the_room(void **state)
{
    (void)state;
    struct hook_ctx c = {0};
    sio_rooms_member a = SIO_ROOMS_MEMBER_INIT, b = SIO_ROOMS_MEMBER_INIT;
    c.r = sio_rooms_new(emptying_hook, &c);
    UT_EQ(sio_rooms_add(c.r, &a, "r"), 1);
    UT_EQ(sio_rooms_add(c.r, &b, "r"), 1);
    c.other = &b;
    UT_EQ(sio_rooms_del(c.r, &a, "r"), 1); /* reviewed code: heap-use-after-free of the room, then a NULL walk */
    UT_EQ(c.leaves, 2);
    UT_EQ(c.deletes, 1);
    UT_EQ(sio_rooms_size(c.r, "r"), 0);
    UT_EQ(sio_rooms_count(c.r), 0);
    sio_rooms_free(c.r);
}

/* The same through the API at a disconnection: A's leave-room callback empties the room with socketsLeave. */
static const char *leave_owner;
static int leave_deletes;
static void on_leave_empty(sio_namespace *nsp, int what, const char *room, const char *sid, void *ud)
{
    (void)ud;
    if (what == SIO_ROOM_DELETE) {
        leave_deletes++;
        return;
    }
    if (strcmp(room, "r") == 0 && sid && leave_owner && strcmp(sid, leave_owner) == 0) {
        const char *rooms[] = {"r"};
        sio_bcast to = {.rooms = rooms, .nrooms = 1};
        sio_sockets_leave(nsp, &to, rooms, 1);
    }
}

static void test_leave_room_callback_empties_room_at_disconnect(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    client_connect(&h);
    assert_int_equal(h.nsocks, 2);
    sio_socket *a = h.socks[0], *b = h.socks[1];
    UT_EQ(sio_socket_join(a, "r"), 0);
    UT_EQ(sio_socket_join(b, "r"), 0);
    leave_owner = sio_socket_id(a);
    leave_deletes = 0;
    sio_namespace_on_room(h.nsp, SIO_ROOM_LEAVE, on_leave_empty, NULL);
    sio_namespace_on_room(h.nsp, SIO_ROOM_DELETE, on_leave_empty, NULL);
    sio_socket_disconnect(a, 0); /* reviewed code: use after free in node_remove */
    UT_EQ(sio_socket_in(b, "r"), 0);
    UT_EQ(sio_namespace_room_size(h.nsp, "r"), 0);
    UT_EQ(leave_deletes, 2); /* "r" once, and a's own room */
    leave_owner = NULL;
    harness_free(&h, 0);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 2. "Every socket" must not depend on room membership (reference: apply() walks adapter.sids)             */
/* ------------------------------------------------------------------------------------------------------ */

static void test_socket_that_left_its_own_room_still_gets_namespace_emit(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    int fd = client_connect(&h);
    sio_socket *s = h.last;
    assert_non_null(s);
    th_ws_saw(fd, ""); /* drop the handshake answers */
    /* socket.leave(socket.id) then io.emit(): the reference still delivers (sids keeps the socket until
     * delAll), and io.disconnectSockets()/fetchSockets() still see it. */
    UT_EQ(sio_socket_leave(s, sio_socket_id(s)), 0);
    UT_EQ(sio_namespace_emit(h.nsp, "hello", NULL, NULL, 0), 0);
    th_run_for(h.base, 10);
    UT_TRUE(th_ws_saw(fd, "42[\"hello\"]"));
    sio_disconnect_sockets(h.nsp, NULL, 0);
    UT_EQ(sio_socket_connected(s), 0);
    harness_free(&h, 0);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 3. Lifetimes across sio_server_free                                                                       */
/* ------------------------------------------------------------------------------------------------------ */

static int fetch_calls;
static void count_fetch(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    (void)err;
    (void)sockets;
    (void)n;
    (void)ud;
    fetch_calls++;
}

/* fetchSockets() then shutting down (e.g. on SIGTERM from the application's own signal event): the deferred
 * job must not run on the freed namespace. */
static void test_fetch_sockets_then_server_free(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    fetch_calls = 0;
    UT_EQ(sio_fetch_sockets(h.nsp, NULL, count_fetch, NULL), 0);
    sio_server_free(h.srv); /* outside any callback: frees at once */
    th_run_for(h.base, 10); /* reviewed code: fetch_run reads j->nsp->ad_ops from the freed namespace */
    UT_TRUE(fetch_calls <= 1);
    harness_free(&h, 1);
}

/* A socket the application still references after sio_server_free ("sio_socket_ref keeps it longer"). */
static void test_held_socket_after_server_free(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    sio_socket *s = h.last;
    assert_non_null(s);
    sio_server_free(h.srv);
    UT_EQ(sio_socket_connected(s), 0);
    UT_EQ(sio_socket_in(s, "x"), 0);              /* reviewed code: s->nsp->ad_ops of the freed namespace */
    UT_EQ(sio_socket_rooms(s, NULL, 0), 0);       /* same */
    UT_TRUE(sio_socket_broadcast(s, NULL, "x", NULL, NULL, 0) != 0); /* same: s->nsp->ad_ops->broadcast */
    harness_free(&h, 1);
}

/* A socket refused by a middleware that the application kept: joining must fail as after a disconnection
 * (the reference's _cleanup() makes join a no-op), or the index keeps a member that is freed later. */
/* As the reference, a `disconnecting` handler may still join and leave rooms (the socket leaves them all right
 * after); a `disconnect` handler may not (its rooms are gone: a join would leave a dangling member). */
static int joined_in_disconnecting = 99, joined_in_disconnect = 99;
static void join_when_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    (void)reason;
    (void)ud;
    joined_in_disconnecting = sio_socket_join(s, "late");
}
static void join_when_disconnected(sio_socket *s, const char *reason, void *ud)
{
    (void)reason;
    (void)ud;
    joined_in_disconnect = sio_socket_join(s, "later");
}

static void test_join_in_disconnecting_not_in_disconnect(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    assert_non_null(h.last);
    sio_socket_on_disconnecting(h.last, join_when_disconnecting, NULL);
    sio_socket_on_disconnect(h.last, join_when_disconnected, NULL);
    sio_socket_disconnect(h.last, 0);
    UT_EQ(joined_in_disconnecting, 0);
    UT_EQ(joined_in_disconnect, SIO_EDISCONNECTED);
    UT_EQ(sio_namespace_room_size(h.nsp, "late"), 0); /* left with the others */
    UT_EQ(sio_namespace_room_size(h.nsp, "later"), 0);
    harness_free(&h, 0);
}

static void test_refused_socket_cannot_join(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    h.refuse = 1;
    client_connect(&h);
    assert_non_null(h.held);
    UT_EQ(sio_socket_connected(h.held), 0);
    UT_EQ(sio_socket_join(h.held, "x"), SIO_EDISCONNECTED); /* reviewed code: 0, and it is now in "x" */
    sio_socket_unref(h.held);
    UT_EQ(sio_namespace_room_size(h.nsp, "x"), 0);
    harness_free(&h, 0);
}

/* sio_server_free from an outgoing listener while the application broadcasts from its own timer (no library
 * callback on the stack): it must be deferred like a free from any other callback of the library. */
static void free_server_listener(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)event;
    (void)args;
    (void)ack;
    harness *h = ud;
    sio_server_free(h->srv);
}

static int bcast_calls, bcast_err;
static char bcast_responses[256];
static void on_bcast(int err, const cJSON *responses, void *ud)
{
    (void)ud;
    bcast_calls++;
    bcast_err = err;
    char *p = cJSON_PrintUnformatted(responses);
    snprintf(bcast_responses, sizeof(bcast_responses), "%s", p ? p : "?");
    free(p);
}

static void test_server_free_from_outgoing_listener_during_broadcast(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    sio_socket *s = h.last;
    assert_non_null(s);
    UT_EQ(sio_socket_on_any_outgoing(s, free_server_listener, &h), 0);
    bcast_calls = 0;
    /* reviewed code: the listener frees the server at once; sio_broadcast_with_ack then calls
     * nsp->ad_ops->server_count on the freed namespace */
    UT_EQ(sio_broadcast_with_ack(h.nsp, NULL, "x", NULL, NULL, 0, 50, on_bcast, NULL), 0);
    th_run_for(h.base, 100); /* the deferred free, then the collector's timeout */
    UT_EQ(bcast_calls, 1);
    harness_free(&h, 1);
}

/* sio_server_free run again by a callback that the free itself runs (a disconnect handler hearing "server
 * shutting down"; since 85a9dd9 also a fetchSockets/broadcast-with-ack callback answered SIO_EDISCONNECTED by
 * the cancel): sio__depth is 0 and no engine callback is on the stack, so the inner call frees everything and
 * the outer one goes on with freed memory. Closing twice must be harmless (STYLE.md rule 10). */
static void free_again_on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)s;
    (void)reason;
    sio_server_free(((harness *)ud)->srv);
}

static void test_server_free_reentered_from_disconnect_handler(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    assert_non_null(h.last);
    UT_EQ(sio_socket_on_disconnect(h.last, free_again_on_disconnect, &h), 0);
    sio_server_free(h.srv); /* reviewed code: double free */
    harness_free(&h, 1);
}

static void free_again_on_fetch(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    (void)err;
    (void)sockets;
    (void)n;
    sio_server_free(((harness *)ud)->srv);
}

static void test_server_free_reentered_from_fetch_cancel(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    UT_EQ(sio_fetch_sockets(h.nsp, NULL, free_again_on_fetch, &h), 0);
    sio_server_free(h.srv); /* 85a9dd9: the cancel answers the fetch, whose callback frees the server again */
    harness_free(&h, 1);
}

/* A disconnect handler run by sio_server_free starts a fetch and a broadcast with acks: refused (the server is
 * going), not queued on a server about to be freed (the chat example's helper found the fetch's timer running
 * after the free: a heap use after free). */
static int late_rcs[2] = {1, 1};

static void late_ack(int err, const cJSON *responses, void *ud)
{
    (void)err;
    (void)responses;
    (void)ud;
    fail_msg("the callback of a refused broadcast with acks ran");
}

static void late_fetch(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    (void)err;
    (void)sockets;
    (void)n;
    (void)ud;
    fail_msg("the callback of a refused fetch ran");
}

static void fetch_on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    harness *h = ud;
    (void)reason;
    late_rcs[0] = sio_fetch_sockets(sio_socket_namespace(s), NULL, late_fetch, h);
    late_rcs[1] = sio_broadcast_with_ack(sio_socket_namespace(s), NULL, "x", NULL, NULL, 0, 1000, late_ack, h);
}

static void test_fetch_from_disconnect_handler_during_server_free(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    assert_non_null(h.last);
    UT_EQ(sio_socket_on_disconnect(h.last, fetch_on_disconnect, &h), 0);
    sio_server_free(h.srv);
    UT_EQ(late_rcs[0], SIO_EDISCONNECTED);
    UT_EQ(late_rcs[1], SIO_EDISCONNECTED);
    event_base_loop(h.base, EVLOOP_NONBLOCK); /* reviewed code: the fetch's timer ran on the freed server here */
    harness_free(&h, 1);
}

/* The application disconnects a socket from its own code (not from one of our callbacks) and the socket's
 * `disconnecting` handler frees the server: the free is deferred, not run inside the close (it looped forever
 * on the socket being closed). */
static void free_server_on_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    (void)s;
    (void)reason;
    sio_server_free(((harness *)ud)->srv);
}

static void test_server_free_from_disconnecting_of_an_application_disconnect(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    assert_non_null(h.last);
    UT_EQ(sio_socket_on_disconnecting(h.last, free_server_on_disconnecting, &h), 0);
    alarm(10); /* reviewed code: an endless loop in sio_server_free */
    sio_socket_disconnect(h.last, 0);
    event_base_loop(h.base, EVLOOP_NONBLOCK); /* the deferred free */
    alarm(0);
    harness_free(&h, 1);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 4. Broadcast with acks                                                                                    */
/* ------------------------------------------------------------------------------------------------------ */

/* At the timeout the reference deletes the packet's ack id from every socket of the namespace
 * (broadcast-operator.js: socket.acks.delete(packetId)); here a client that never answers (it has no handler
 * for the event: socket.io-client then sends no ack) keeps one pending ack, and the collector with its
 * responses, per broadcast for the life of its connection. */
static void test_broadcast_ack_timeout_releases_pending_acks(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    int fd = client_connect(&h);
    sio_socket *s = h.last;
    assert_non_null(s);
    bcast_calls = 0;
    for (int i = 0; i < 3; i++)
        UT_EQ(sio_broadcast_with_ack(h.nsp, NULL, "q", NULL, NULL, 0, 20, on_bcast, NULL), 0);
    th_run_for(h.base, 60);
    UT_EQ(bcast_calls, 3);
    UT_EQ(bcast_err, SIO_ETIMEOUT);
    UT_TRUE(s->acks == NULL); /* reviewed code: three pending acks left on the socket */
    /* A late answer is ignored, as in the reference. */
    UT_EQ(th_ws_send_text(fd, "430[1]"), 0);
    th_run_for(h.base, 10);
    UT_EQ(bcast_calls, 3);
    harness_free(&h, 0);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 5. fetchSockets results                                                                                   */
/* ------------------------------------------------------------------------------------------------------ */

/* The callback acts on the sockets it got (the usual fetchSockets pattern) and then reads the infos: the room
 * names it was given must not be the index's own strings, freed when a room empties. */
static char fetch_rooms_seen[256];
static void fetch_leave_then_read(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    (void)err;
    (void)ud;
    fetch_rooms_seen[0] = '\0';
    for (size_t i = 0; i < n; i++)
        sio_socket_leave(sockets[i].local, "lobby");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sockets[i].nrooms; k++)
            if (strcmp(sockets[i].rooms[k], "lobby") == 0) /* reviewed code: freed room name */
                strcat(fetch_rooms_seen, "lobby;");
}

static void test_fetch_infos_survive_the_callbacks_own_changes(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    UT_EQ(sio_socket_join(h.last, "lobby"), 0);
    UT_EQ(sio_fetch_sockets(h.nsp, NULL, fetch_leave_then_read, NULL), 0);
    th_run_for(h.base, 10);
    UT_TRUE(strcmp(fetch_rooms_seen, "lobby;") == 0);
    harness_free(&h, 0);
}

/* handshake.headers as the reference gives it: Node lowercases header names (IncomingMessage.headers). A
 * cluster peer running Node socket.io would otherwise see {"Host": ...} from us and {"host": ...} from itself. */
static char fetch_headers[512];
static void fetch_headers_cb(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    (void)err;
    (void)ud;
    fetch_headers[0] = '\0';
    if (n == 1) {
        char *p = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(sockets[0].handshake, "headers"));
        snprintf(fetch_headers, sizeof(fetch_headers), "%s", p ? p : "");
        free(p);
    }
}

static void test_handshake_header_names_are_lowercase(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 0);
    client_connect(&h);
    UT_EQ(sio_fetch_sockets(h.nsp, NULL, fetch_headers_cb, NULL), 0);
    th_run_for(h.base, 10);
    UT_WHERE("headers %.200s", fetch_headers);
    UT_TRUE(strstr(fetch_headers, "\"host\":\"x\"") != NULL);
    UT_TRUE(strstr(fetch_headers, "\"x-custom\":\"yes\"") != NULL);
    UT_TRUE(strstr(fetch_headers, "\"Host\"") == NULL);
    harness_free(&h, 0);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 6. Volatile with binary attachments                                                                       */
/* ------------------------------------------------------------------------------------------------------ */

/* SIO_BCAST_VOLATILE: "does not get it, instead of it being queued"; EIO_SEND_VOLATILE drops what "would pass
 * max_queued_bytes". Only the text part is sent volatile: attachments go with flags 0, so two volatile binary
 * broadcasts in one loop iteration (a game tick) push the queue over the cap and the session is closed
 * ("transport error") instead of the second packet being dropped. */
static void test_volatile_binary_broadcast_is_dropped_not_fatal(void **state)
{
    (void)state;
    harness h;
    harness_init(&h, 64 * 1024);
    int fd = client_connect(&h);
    sio_socket *s = h.last;
    assert_non_null(s);
    th_ws_saw(fd, "");
    static uint8_t blob[40000];
    memset(blob, 'z', sizeof(blob));
    sio_attachment_ref ref = {blob, sizeof(blob)};
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, sio_placeholder_new(0));
    sio_bcast v = {.flags = SIO_BCAST_VOLATILE};
    UT_EQ(sio_broadcast(h.nsp, &v, "bin", args, &ref, 1), 0);
    UT_EQ(sio_broadcast(h.nsp, &v, "bin", args, &ref, 1), 0);
    cJSON_Delete(args);
    for (int i = 0; i < 5; i++) { /* let the client read everything */
        th_run_for(h.base, 5);
        th_ws_saw(fd, "");
    }
    UT_EQ(sio_socket_connected(s), 1); /* reviewed code: 0, closed with "transport error" */
    harness_free(&h, 0);
}

/* ------------------------------------------------------------------------------------------------------ */
/* 7. eio_msg shared bytes and the polling queue's re-split at upgrade (eio_session.c finish_upgrade)        */
/* ------------------------------------------------------------------------------------------------------ */

static eio_session *eio_sessions[4];
static int n_eio_sessions;
static void eio_on_conn(eio_session *s, const eio_request *req, void *ud)
{
    (void)req;
    (void)ud;
    if (n_eio_sessions < 4)
        eio_sessions[n_eio_sessions++] = s;
}

static int eio_client(eio_server *srv)
{
    int fd = th_ws_pair(srv);
    assert_true(fd >= 0);
    return fd;
}

/*
 * One binary eio_msg queued for two polling sessions A and B (nothing else queued). A upgrades: finish_upgrade
 * pulls its queue up and re-splits it with eio_payload_next, which base64-decodes "b..." records IN PLACE. A
 * queue of one reference chain pulls up to the chain's own bytes (libevent returns the first chain as is when it
 * holds everything), i.e. the shared m->poll: B's queued copy is overwritten with raw bytes.
 */
static void test_upgrade_resplit_keeps_shared_binary_msg_intact(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    eio_options o;
    eio_options_init(&o);
    o.path = "/engine.io/";
    o.ping_interval_ms = 60000;
    o.ping_timeout_ms = 60000;
    eio_handlers hd = {.on_connection = eio_on_conn};
    eio_server *srv = eio_server_new(base, &o, &hd);
    assert_non_null(srv);
    n_eio_sessions = 0;
    int fa = eio_client(srv), fb = eio_client(srv);
    UT_EQ(th_ws_write_str(fa, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    UT_EQ(th_ws_write_str(fb, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    th_run_for(base, 10);
    UT_TRUE(th_ws_saw(fa, "HTTP/1.1 200 "));
    UT_TRUE(th_ws_saw(fb, "HTTP/1.1 200 "));
    assert_int_equal(n_eio_sessions, 2);
    eio_session *a = eio_sessions[0], *b = eio_sessions[1];

    eio_msg *m = eio_msg_new(1, "\x01\x02\x03", 3); /* base64 "AQID" */
    assert_non_null(m);
    UT_EQ(eio_session_send_msg(a, m, 0), 0);
    UT_EQ(eio_session_send_msg(b, m, 0), 0);
    eio_msg_unref(m);

    int fw = eio_client(srv);
    char req[512];
    snprintf(req, sizeof(req),
             "GET /engine.io/?EIO=4&transport=websocket&sid=%s HTTP/1.1\r\nHost: x\r\n" TH_WS_UPGRADE_HEADERS,
             eio_session_id(a));
    UT_EQ(th_ws_write_str(fw, req), 0);
    th_run_for(base, 10);
    UT_TRUE(th_ws_saw(fw, "HTTP/1.1 101 "));
    UT_EQ(th_ws_send_text(fw, "2probe"), 0);
    th_run_for(base, 10);
    UT_TRUE(th_ws_saw(fw, "3probe"));
    UT_EQ(th_ws_send_text(fw, "5"), 0); /* upgraded: A's queue is re-split onto the WebSocket */
    th_run_for(base, 10);
    UT_TRUE(th_ws_saw(fw, "\x82\x03\x01\x02\x03")); /* A: one binary frame 01 02 03 */

    snprintf(req, sizeof(req), "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\n\r\n",
             eio_session_id(b));
    UT_EQ(th_ws_write_str(fb, req), 0);
    th_run_for(base, 10);
    UT_TRUE(th_ws_saw(fb, "\r\n\r\nbAQID")); /* reviewed code: "b\x01\x02\x03ID" */

    close(fa);
    close(fb);
    close(fw);
    eio_server_free(srv);
    event_base_free(base);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        UT_TEST(test_leave_hook_that_empties_the_room),
        UT_TEST(test_leave_room_callback_empties_room_at_disconnect),
        UT_TEST(test_socket_that_left_its_own_room_still_gets_namespace_emit),
        UT_TEST(test_fetch_sockets_then_server_free),
        UT_TEST(test_held_socket_after_server_free),
        UT_TEST(test_refused_socket_cannot_join),
        UT_TEST(test_join_in_disconnecting_not_in_disconnect),
        UT_TEST(test_server_free_from_outgoing_listener_during_broadcast),
        UT_TEST(test_server_free_reentered_from_disconnect_handler),
        UT_TEST(test_server_free_reentered_from_fetch_cancel),
        UT_TEST(test_fetch_from_disconnect_handler_during_server_free),
        UT_TEST(test_server_free_from_disconnecting_of_an_application_disconnect),
        UT_TEST(test_broadcast_ack_timeout_releases_pending_acks),
        UT_TEST(test_fetch_infos_survive_the_callbacks_own_changes),
        UT_TEST(test_handshake_header_names_are_lowercase),
        UT_TEST(test_volatile_binary_broadcast_is_dropped_not_fatal),
        UT_TEST(test_upgrade_resplit_keeps_shared_binary_msg_intact),
    };
    return cmocka_run_group_tests_name("rooms_review", tests, NULL, NULL);
}
