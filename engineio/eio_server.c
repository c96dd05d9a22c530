/* The server object: options, listeners, accepted connections, shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eio_private.h"

void eio_options_init(eio_options *o)
{
    memset(o, 0, sizeof(*o));
    o->path = "/engine.io/";
    o->ping_interval_ms = 25000;
    o->ping_timeout_ms = 20000;
    o->upgrade_timeout_ms = 10000;
    o->max_http_buffer_size = 1000000;
    o->max_queued_bytes = 16u << 20;
    o->allow_polling = 1;
    o->allow_websocket = 1;
    o->allow_upgrades = 1;
    o->close_timeout_ms = 30000;
    o->headers_timeout_ms = 60000;
    o->keep_alive_timeout_ms = 5000;
    o->max_header_bytes = 16384;
    o->max_headers = 100;
    o->cors_max_age = -1;
    o->cookie_path = "/";
    o->cookie_http_only = 1;
    o->cookie_same_site = "Lax";
}

_Thread_local int eio__depth;

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    eio__depth++;
    eio__server_run_flush(arg);
    eio__depth--;
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    eio__server_run_writes(arg);
}

static const struct timeval *common_timeout(struct event_base *base, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return event_base_init_common_timeout(base, &tv);
}

eio_server *eio_server_new(struct event_base *base, const eio_options *opts, const eio_handlers *handlers)
{
    if (!base)
        return NULL;
    eio_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->base = base;
    if (opts)
        srv->opts = *opts;
    else
        eio_options_init(&srv->opts);
    eio_options *o = &srv->opts;
    if (!o->path || o->path[0] != '/' || !o->ping_interval_ms || !o->ping_timeout_ms || !o->max_http_buffer_size ||
        !o->max_header_bytes || !o->max_headers || (!o->allow_polling && !o->allow_websocket)) {
        free(srv);
        return NULL;
    }
    if (!o->max_queued_bytes)
        o->max_queued_bytes = 16u << 20;
    if (!o->headers_timeout_ms)
        o->headers_timeout_ms = 60000;
    if (!o->keep_alive_timeout_ms)
        o->keep_alive_timeout_ms = 5000;
    if (!o->close_timeout_ms)
        o->close_timeout_ms = 30000;
    if (handlers)
        srv->h = *handlers;
    srv->ct_interval = common_timeout(base, o->ping_interval_ms);
    srv->ct_timeout = common_timeout(base, o->ping_timeout_ms);
    srv->ct_close = common_timeout(base, o->close_timeout_ms);
    srv->flush_ev = event_new(base, -1, 0, flush_cb, srv);
    srv->write_ev = event_new(base, -1, 0, write_cb, srv);
    srv->scratch = malloc(EIO_READ_CHUNK);
    if (!srv->ct_interval || !srv->ct_timeout || !srv->ct_close || !srv->flush_ev || !srv->write_ev ||
        !srv->scratch) {
        free(srv->scratch);
        if (srv->flush_ev)
            event_free(srv->flush_ev);
        if (srv->write_ev)
            event_free(srv->write_ev);
        free(srv);
        return NULL;
    }
    return srv;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
    (void)l;
    (void)sa;
    (void)socklen;
    eio_server_adopt_fd(arg, fd);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: log and go on; libevent retries on the next readiness. */
    eio__log(EIO_LOG_WARN, "accept failed: %s", strerror(errno));
}

int eio_server_adopt_fd(eio_server *srv, int fd)
{
    evutil_make_socket_nonblocking(fd);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!eio__conn_new(srv, fd)) {
        close(fd);
        return EIO_ENOMEM;
    }
    return 0;
}

int eio_server_listen(eio_server *srv, const char *host, int port)
{
    if (srv->nlisteners >= (int)(sizeof(srv->listeners) / sizeof(srv->listeners[0])))
        return EIO_EINVAL;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res)
        return EIO_ELISTEN;
    struct evconnlistener *l = evconnlistener_new_bind(srv->base, accept_cb, srv,
                                                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
                                                       res->ai_addr, (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (!l)
        return EIO_ELISTEN;
    evconnlistener_set_error_cb(l, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    srv->listeners[srv->nlisteners++] = l;
    return 0;
}

int eio_server_port(const eio_server *srv)
{
    return srv->port;
}

size_t eio_server_clients_count(const eio_server *srv)
{
    return srv->nsessions;
}

void eio_server_chain(eio_server *srv, eio_server *next)
{
    /* Connections that came through srv and now live further down the old chain are routed (and written)
     * from where they live from now on: srv may be freed before them. */
    for (eio_server *n = srv->next; n && n != next; n = n->next)
        for (eio_conn *c = n->conns; c; c = c->next)
            if (c->home == srv)
                eio__conn_rehome(c, n);
    srv->next = next;
}

void eio_server_set_prehandler(eio_server *srv, eio_http_fallback_cb cb, void *user_data)
{
    srv->prehandler = cb;
    srv->prehandler_ud = user_data;
}

void eio_server_set_fallback(eio_server *srv, eio_http_fallback_cb cb, void *user_data)
{
    srv->fallback = cb;
    srv->fallback_ud = user_data;
}

static void deferred_free_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    eio_server_free(arg);
}

int eio_in_callback(void)
{
    return eio__depth > 0;
}

void eio_server_free(eio_server *srv)
{
    if (!srv)
        return;
    for (int i = 0; i < srv->nlisteners; i++)
        evconnlistener_free(srv->listeners[i]);
    srv->nlisteners = 0;
    if (eio__depth > 0) {
        /* Called from one of our callbacks: the connection it runs on is still on the stack. Finish from a
         * fresh loop iteration. */
        if (!srv->freeing) {
            srv->freeing = 1;
            struct timeval zero = {0, 0};
            event_base_once(srv->base, -1, EV_TIMEOUT, deferred_free_cb, srv, &zero);
        }
        return;
    }
    srv->freeing = 1;
    eio__server_run_writes(srv); /* what is queued goes first: the write list is ours */
    /* Connections of chained servers that came through us are routed from there from now on. */
    for (eio_server *n = srv->next; n; n = n->next)
        for (eio_conn *c = n->conns; c; c = c->next)
            if (c->home == srv)
                eio__conn_rehome(c, n);
    /* Close every session (the application hears "server shutting down"), then every connection. */
    for (size_t i = 0; i < srv->table_size; i++) {
        while (srv->table && srv->table[i]) {
            eio_session *s = srv->table[i];
            eio__session_shutdown(s);
        }
    }
    eio__server_run_flush(srv);
    eio__server_run_writes(srv);
    while (srv->conns) {
        eio_conn *c = srv->conns;
        c->busy = 0;
        eio__conn_close(c);
    }
    /* Sessions the application still holds outlive the server, closed and detached from it. */
    free(srv->table);
    event_free(srv->flush_ev);
    event_free(srv->write_ev);
    free(srv->scratch);
    free(srv);
}
