/*
 * build/examples/hello: the smallest useful Socket.IO server, the one docs/api.md walks through.
 *
 *   build/examples/hello [--host 127.0.0.1] [--port 3000]
 *
 * A client that emits "hello" with a name gets "greeting" back; with an acknowledgement it also gets the
 * number of sockets connected. A client connecting to "/admin" must send auth {"token": "secret"}.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/socketio.h"

static void on_hello(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *name = sio_args_get(args, 0);
    char text[128];
    snprintf(text, sizeof(text), "hello, %s", cJSON_IsString(name) ? name->valuestring : "stranger");

    cJSON *out = cJSON_CreateArray(); /* the arguments of the emit; we keep ownership */
    cJSON_AddItemToArray(out, cJSON_CreateString(text));
    sio_socket_emit(s, "greeting", out, NULL, 0);
    cJSON_Delete(out);

    if (ack) { /* the client called emitWithAck / passed a callback */
        cJSON *answer = cJSON_CreateArray();
        cJSON_AddItemToArray(answer, cJSON_CreateNumber((double)sio_namespace_sockets_count(sio_socket_namespace(s))));
        sio_ack_send(ack, answer, NULL, 0);
        cJSON_Delete(answer);
    }
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    printf("%s left: %s\n", sio_socket_id(s), reason);
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    printf("%s joined %s from %s\n", sio_socket_id(s), sio_namespace_name(sio_socket_namespace(s)),
           sio_socket_address(s));
    sio_socket_on(s, "hello", on_hello, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
}

/* Namespace middleware: refuse /admin without the right token. */
static int check_token(sio_socket *s, const char **message, cJSON **data, void *ud)
{
    (void)data;
    (void)ud;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(sio_socket_auth(s), "token");
    if (cJSON_IsString(token) && strcmp(token->valuestring, "secret") == 0)
        return 0;
    *message = "invalid token";
    return -1;
}

static void on_signal(evutil_socket_t sig, short what, void *base)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 3000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct event_base *base = event_base_new();
    sio_options opts;
    sio_options_init(&opts); /* the reference's defaults, path /socket.io/ */
    sio_server *io = sio_server_new(base, &opts);
    if (!io || sio_server_listen(io, host, port) < 0) {
        fprintf(stderr, "hello: cannot listen on %s:%d\n", host, port);
        return 1;
    }
    sio_namespace_on_connection(sio_of(io, "/"), on_connection, NULL);
    sio_namespace *admin = sio_of(io, "/admin");
    sio_namespace_use(admin, check_token, NULL);
    sio_namespace_on_connection(admin, on_connection, NULL);

    printf("Socket.IO server on http://%s:%d\n", host, sio_server_port(io));
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    event_base_dispatch(base);

    sio_server_free(io); /* every socket hears "server shutting down" */
    event_free(sigint);
    event_free(sigterm);
    event_base_free(base);
    return 0;
}
