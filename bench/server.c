/*
 * build/bench/bench_server: the C side of `make bench`. The same application as bench/server.mjs (the Node
 * side), on the reference's defaults: namespace "/", path /socket.io/, pingInterval 25000, pingTimeout 20000,
 * maxHttpBufferSize 1e6.
 *
 *   build/bench/bench_server [--host 127.0.0.1] [--port 3000]
 *
 * - a CONNECT with auth {"room": name} joins that room.
 * - "echo" with an acknowledgement: the ack gets the same arguments back (socket.on("echo", (p, cb) => cb(p))).
 * - "bcast" payload [room]: io.to(room).emit("tick", payload), or io.emit when no room is given (the sender
 *   included when it is in the room).
 * - "chat" payload: socket.to(its room).emit("chat", payload), to the others of its room.
 *
 * Prints "listening <port>" once listening (bench/run.mjs waits for it) and nothing per connection: output
 * would cost CPU that the benchmark measures. SIGTERM or SIGINT stops it with exit status 0.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "socketio/socketio.h"

/* A packet carries at most 10 attachments (socketio.h); received ones are passed back unchanged. */
enum { MAX_ATTACHMENTS = 10 };

/* Collects the attachments of args into bufs (borrowed from args, valid during the callback). */
static size_t attachments_of(const sio_args *args, sio_attachment_ref *bufs)
{
    size_t n = sio_args_attachments_count(args);
    if (n > MAX_ATTACHMENTS)
        n = MAX_ATTACHMENTS;
    for (size_t i = 0; i < n; i++) {
        if (sio_args_attachment(args, i, &bufs[i].data, &bufs[i].len) != 1) {
            bufs[i].data = NULL;
            bufs[i].len = 0;
        }
    }
    return n;
}

static void on_echo(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)event;
    (void)ud;
    if (!ack)
        return;
    sio_attachment_ref bufs[MAX_ATTACHMENTS];
    size_t n = attachments_of(args, bufs);
    sio_ack_send(ack, sio_args_json(args), bufs, n);
}

static void on_bcast(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *main_nsp)
{
    (void)s;
    (void)event;
    (void)ack;
    const cJSON *payload = sio_args_get(args, 0);
    const cJSON *room = sio_args_get(args, 1);
    if (!payload)
        return;
    cJSON *out = cJSON_CreateArray();
    if (!out || !cJSON_AddItemReferenceToArray(out, (cJSON *)payload)) {
        cJSON_Delete(out);
        return;
    }
    const char *rooms[1];
    sio_bcast to = {.rooms = rooms, .nrooms = 0};
    if (cJSON_IsString(room)) {
        rooms[0] = room->valuestring;
        to.nrooms = 1;
    }
    sio_broadcast(main_nsp, &to, "tick", out, NULL, 0);
    cJSON_Delete(out);
}

static void on_chat(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    (void)ud;
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(sio_socket_auth(s), "room");
    if (!cJSON_IsString(room))
        return;
    const char *rooms[1] = {room->valuestring};
    sio_bcast to = {.rooms = rooms, .nrooms = 1};
    sio_attachment_ref bufs[MAX_ATTACHMENTS];
    size_t n = attachments_of(args, bufs);
    sio_socket_broadcast(s, &to, "chat", sio_args_json(args), bufs, n);
}

static void on_connection(sio_socket *s, void *main_nsp)
{
    const cJSON *room = cJSON_GetObjectItemCaseSensitive(sio_socket_auth(s), "room");
    if (cJSON_IsString(room))
        sio_socket_join(s, room->valuestring);
    sio_socket_on(s, "echo", on_echo, NULL);
    sio_socket_on(s, "bcast", on_bcast, main_nsp);
    sio_socket_on(s, "chat", on_chat, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *base)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(base);
}

/* The idle scenario holds up to ~20,000 connections: take every file descriptor we are allowed. */
static void raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 3000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            host = argv[++i];
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_server [--host ADDR] [--port N]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile_limit();

    struct event_base *base = event_base_new();
    if (!base) {
        fprintf(stderr, "bench_server: no event base\n");
        return 1;
    }
    sio_options opts;
    sio_options_init(&opts); /* the reference's defaults, path /socket.io/ */
    sio_server *io = sio_server_new(base, &opts);
    if (!io || sio_server_listen(io, host, port) < 0) {
        fprintf(stderr, "bench_server: cannot listen on %s:%d\n", host, port);
        return 1;
    }
    sio_namespace *main_nsp = sio_of(io, "/");
    sio_namespace_on_connection(main_nsp, on_connection, main_nsp);

    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    printf("listening %d\n", sio_server_port(io));
    event_base_dispatch(base);

    sio_server_free(io);
    event_free(sigint);
    event_free(sigterm);
    event_base_free(base);
    return 0;
}
