/*
 * example.h: what every example program shares, so that each examples/<name>/main.c holds only its
 * application: command-line options, the Socket.IO server with the client bundle and the example's web
 * pages, signals, and the event loop.
 *
 *   ex_app app;
 *   ex_flag flags[] = {{"--tick-ms", EX_FLAG_INT, &tick_ms, "price tick period"}};
 *   if (ex_app_init(&app, "stocks", argc, argv, flags, 1) < 0) return 1;   // parses, listens, prints the URL
 *   sio_namespace_on_connection(sio_of(app.io, "/"), on_connection, &state);
 *   ex_app_run(&app);          // until SIGINT/SIGTERM; frees the server (every socket disconnects)
 *   ... free the example's own timers and state ...
 *   ex_app_cleanup(&app);      // frees the loop
 *   return 0;
 *
 * Options every example takes:
 *   --host H         address to listen on (default 127.0.0.1; `--host 0.0.0.0` for every interface)
 *   --port N         port (default 3000; 0 picks a free one, printed on the "listening" line)
 *   --public DIR     the directory of the example's web pages (default examples/<name>/public of this checkout)
 *   --client-dir DIR the socket.io-client dist/ directory served at /socket.io/socket.io.js (default: the
 *                    checkout's node_modules/socket.io-client/dist, or $SIO_CLIENT_DIR)
 *   --redis URL      cluster mode: the Redis adapter on redis://HOST:PORT (default $SIO_REDIS_URL; none: one server)
 *   --help
 * The first line on stdout is "listening on http://HOST:PORT" once the server accepts connections (tests wait
 * for it). Logging goes to stdout, one line per event, flushed per line.
 */
#ifndef EXAMPLE_H
#define EXAMPLE_H

#include <event2/event.h>

#include "socketio/socketio.h"

enum { EX_FLAG_INT, EX_FLAG_STR };

/* One example-specific option: "--name VALUE". out is an int * (EX_FLAG_INT, decimal, >= 0) or a
 * const char ** (EX_FLAG_STR, borrowed from argv). The default is whatever *out holds before parsing. */
typedef struct ex_flag {
    const char *name;
    int type;
    void *out;
    const char *help;
} ex_flag;

/* An HTTP handler of the example's own (an API route) run before the static files: return 1 when it answered
 * req with eio_request_respond, 0 to let the static files (then 404) answer. */
typedef int (*ex_http_cb)(eio_request *req, void *user_data);

typedef struct ex_app {
    const char *name;        /* the example's name, for messages */
    struct event_base *base; /* the loop everything runs on */
    sio_server *io;          /* the Socket.IO server (path /socket.io/, client bundle served) */
    eio_static *files;       /* the example's pages (--public) */
    ex_http_cb http;         /* see ex_app_set_http */
    void *http_ud;
    struct sio_redis *redis; /* cluster mode (--redis), else NULL */
    struct event *sig[2];
    const char *host;
    int port;
} ex_app;

/*
 * Parses argv (the common options, then flags[0..nflags)), creates the loop and the server (opts: Socket.IO
 * options to start from, or NULL for the reference's defaults), serves the client bundle and the pages,
 * listens, and prints "listening on http://HOST:PORT". Returns 0 when listening; 1 after --help (usage
 * printed: exit 0); -1 on a bad option or a failure (message on stderr: exit 1).
 */
int ex_app_init(ex_app *app, const char *name, int argc, char **argv, const ex_flag *flags, size_t nflags,
                const sio_options *opts);

/* Routes HTTP requests outside /socket.io/ to cb first (e.g. POST /api/price), then to the static files. */
void ex_app_set_http(ex_app *app, ex_http_cb cb, void *user_data);

/* Runs the loop until SIGINT or SIGTERM, then frees the server (disconnect handlers run: the example's state
 * must still be there) and runs the loop once more. Returns 0. */
int ex_app_run(ex_app *app);
/* Frees the pages, the signal events and the loop: after the example freed its own events. */
void ex_app_cleanup(ex_app *app);

/* Answers req with a JSON body (cJSON printed unformatted; the value stays the caller's). */
int ex_respond_json(eio_request *req, int status, const cJSON *body);

/* Milliseconds since the epoch (for the "time" fields of the examples' events). */
double ex_now_ms(void);

#endif
