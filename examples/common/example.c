/*
 * example.c: the part every example shares (see example.h).
 */
#include "examples/common/example.h"

#include "rooms/sio_redis.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#ifndef EX_SOURCE_DIR
#define EX_SOURCE_DIR "."
#endif

static void usage(const char *name, const ex_flag *flags, size_t nflags)
{
    printf("usage: %s [--host 127.0.0.1] [--port 3000] [--public DIR] [--client-dir DIR] [--redis URL]", name);
    for (size_t i = 0; i < nflags; i++)
        printf(" [%s %s]", flags[i].name, flags[i].type == EX_FLAG_INT ? "N" : "VALUE");
    printf("\n");
    for (size_t i = 0; i < nflags; i++)
        printf("  %-20s %s\n", flags[i].name, flags[i].help ? flags[i].help : "");
}

static int parse_int(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 1000000000)
        return -1;
    *out = (int)v;
    return 0;
}

/* One fallback for every request outside /socket.io/: the example's own routes, then its pages, then 404. */
static int on_http(eio_request *req, void *ud)
{
    ex_app *app = ud;
    if (app->http && app->http(req, app->http_ud))
        return 1;
    if (app->files && eio_static_serve(app->files, req, eio_request_path(req), NULL))
        return 1;
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *base)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(base);
}

int ex_app_init(ex_app *app, const char *name, int argc, char **argv, const ex_flag *flags, size_t nflags,
                const sio_options *opts)
{
    memset(app, 0, sizeof(*app));
    app->name = name;
    app->host = "127.0.0.1";
    app->port = 3000;
    static char default_public[4096];
    snprintf(default_public, sizeof(default_public), "%s/examples/%s/public", EX_SOURCE_DIR, name);
    const char *public_dir = default_public;
    static char default_client[4096];
    snprintf(default_client, sizeof(default_client), "%s/node_modules/socket.io-client/dist", EX_SOURCE_DIR);
    const char *client_dir = getenv("SIO_CLIENT_DIR") ? getenv("SIO_CLIENT_DIR") : default_client;
    const char *redis_url = getenv("SIO_REDIS_URL") && *getenv("SIO_REDIS_URL") ? getenv("SIO_REDIS_URL") : NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(name, flags, nflags);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: %s needs a value\n", name, a);
            usage(name, flags, nflags);
            return -1;
        }
        const char *v = argv[++i];
        int bad = 0, known = 1;
        if (strcmp(a, "--host") == 0)
            app->host = v;
        else if (strcmp(a, "--port") == 0)
            bad = parse_int(v, &app->port) < 0 || app->port > 65535;
        else if (strcmp(a, "--public") == 0)
            public_dir = v;
        else if (strcmp(a, "--client-dir") == 0)
            client_dir = v;
        else if (strcmp(a, "--redis") == 0)
            redis_url = v;
        else {
            known = 0;
            for (size_t k = 0; k < nflags; k++) {
                if (strcmp(a, flags[k].name) != 0)
                    continue;
                known = 1;
                if (flags[k].type == EX_FLAG_INT)
                    bad = parse_int(v, flags[k].out) < 0;
                else
                    *(const char **)flags[k].out = v;
            }
        }
        if (!known || bad) {
            fprintf(stderr, "%s: %s %s: %s\n", name, a, v, known ? "invalid value" : "unknown option");
            usage(name, flags, nflags);
            return -1;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    sio_options o;
    if (opts)
        o = *opts;
    else
        sio_options_init(&o);
    o.client_dir = client_dir;
    app->base = event_base_new();
    app->io = app->base ? sio_server_new(app->base, &o) : NULL;
    if (!app->io) {
        fprintf(stderr, "%s: cannot create the server\n", name);
        return -1;
    }
    if (redis_url) {
        /* Cluster mode: rooms, broadcasts and fetchSockets span every server on this Redis. */
        static char buf[1024];
        sio_redis_options ro;
        sio_redis_options_init(&ro);
        if (sio_redis_options_parse_url(&ro, redis_url, buf, sizeof(buf)) < 0 ||
            !(app->redis = sio_redis_new(app->base, &ro)) ||
            sio_server_set_adapter(app->io, &sio_redis_adapter, app->redis) < 0) {
            fprintf(stderr, "%s: --redis %s: not a redis://HOST:PORT URL, or out of memory\n", name, redis_url);
            sio_server_free(app->io);
            sio_redis_free(app->redis);
            event_base_free(app->base);
            return -1;
        }
        printf("cluster mode: Redis at %s\n", redis_url);
    }
    app->files = eio_static_new(public_dir);
    if (!app->files)
        fprintf(stderr, "%s: no pages: %s is not a directory (only the Socket.IO server runs)\n", name, public_dir);
    eio_server_set_fallback(sio_server_engine(app->io), on_http, app);
    if (sio_server_listen(app->io, app->host, app->port) < 0) {
        fprintf(stderr, "%s: cannot listen on %s:%d\n", name, app->host, app->port);
        sio_server_free(app->io);
        sio_redis_free(app->redis);
        eio_static_free(app->files);
        event_base_free(app->base);
        return -1;
    }
    app->port = sio_server_port(app->io);
    /* Signals are handled from now on: a SIGTERM right after the "listening" line still ends the loop cleanly. */
    app->sig[0] = evsignal_new(app->base, SIGINT, on_signal, app->base);
    app->sig[1] = evsignal_new(app->base, SIGTERM, on_signal, app->base);
    for (int i = 0; i < 2; i++)
        if (app->sig[i])
            evsignal_add(app->sig[i], NULL);
    printf("listening on http://%s:%d\n", app->host, app->port);
    return 0;
}

void ex_app_set_http(ex_app *app, ex_http_cb cb, void *user_data)
{
    app->http = cb;
    app->http_ud = user_data;
}

int ex_app_run(ex_app *app)
{
    event_base_dispatch(app->base);
    printf("%s: shutting down\n", app->name);
    sio_server_free(app->io); /* every socket hears "server shutting down" */
    app->io = NULL;
    event_base_loop(app->base, EVLOOP_NONBLOCK);
    sio_redis_free(app->redis); /* after the server, as it asks */
    app->redis = NULL;
    return 0;
}

void ex_app_cleanup(ex_app *app)
{
    for (int i = 0; i < 2; i++)
        if (app->sig[i])
            event_free(app->sig[i]);
    eio_static_free(app->files);
    event_base_free(app->base);
    app->base = NULL;
}

int ex_respond_json(eio_request *req, int status, const cJSON *body)
{
    char *text = cJSON_PrintUnformatted(body);
    if (!text)
        return eio_request_respond(req, 500, NULL, NULL, 0);
    int rc = eio_request_respond(req, status, "Content-Type: application/json; charset=utf-8\r\n", text, strlen(text));
    cJSON_free(text);
    return rc;
}

double ex_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000.0 + (double)(tv.tv_usec / 1000);
}
