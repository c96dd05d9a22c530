/*
 * build/examples/echo: the Engine.IO echo server with the reference's default options (what `make run`
 * starts until the chat example exists). Every message is sent back unchanged, text as text, binary as binary.
 *
 *   build/examples/echo [--host 127.0.0.1] [--port 3000]
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/engineio.h"

static void on_connection(eio_session *s, const eio_request *req, void *ud)
{
    (void)ud;
    printf("connected %s from %s over %s\n", eio_session_id(s), eio_request_remote_address(req),
           eio_session_transport(s));
}

static void on_message(eio_session *s, const uint8_t *data, size_t len, int binary, void *ud)
{
    (void)ud;
    if (binary)
        eio_session_send_binary(s, data, len);
    else
        eio_session_send_text(s, (const char *)data, len);
}

static void on_close(eio_session *s, const char *reason, void *ud)
{
    (void)ud;
    printf("closed %s: %s\n", eio_session_id(s), reason);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
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
            fprintf(stderr, "usage: echo [--host ADDR] [--port N]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    eio_handlers h = {.on_connection = on_connection, .on_message = on_message, .on_close = on_close};
    eio_server *srv = eio_server_new(base, NULL, &h);
    if (!srv || eio_server_listen(srv, host, port) < 0) {
        fprintf(stderr, "echo: cannot listen on %s:%d\n", host, port);
        return 1;
    }
    printf("Engine.IO echo server on http://%s:%d/engine.io/ (Ctrl-C stops it)\n", host, eio_server_port(srv));
    struct event *sig = evsignal_new(base, SIGINT, on_signal, base);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    evsignal_add(sig, NULL);
    evsignal_add(term, NULL);
    event_base_dispatch(base);
    eio_server_free(srv);
    event_free(sig);
    event_free(term);
    event_base_free(base);
    return 0;
}
