/*
 * Routing of HTTP requests: path, CORS, the reference's verification order (transport, origin, sid, method,
 * allowRequest, protocol version) and its error answers, then the handshake, polling requests and upgrades.
 * Mirrors engine.io 6's lib/server.ts (handleRequest, handleUpgrade, verify, handshake).
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eio_private.h"
#include "eio_wsframe.h"

static int path_matches(const eio_server *srv, const eio_request *req)
{
    size_t n = strlen(srv->opts.path);
    return req->path_len >= n && memcmp(req->buf, srv->opts.path, n) == 0;
}

/* Which transport a query names: 0 polling, 1 websocket, -1 unknown or not allowed (exact match only). */
static int query_transport(const eio_server *srv, const eio_request *req)
{
    size_t len;
    const char *t = eio_request_query(req, "transport", &len);
    if (!t)
        return -1;
    if (len == 7 && memcmp(t, "polling", 7) == 0 && srv->opts.allow_polling)
        return EIO_SM_POLLING;
    if (len == 9 && memcmp(t, "websocket", 9) == 0 && srv->opts.allow_websocket)
        return EIO_SM_WEBSOCKET;
    return -1;
}

static int origin_allowed(const eio_server *srv, const char *origin)
{
    if (srv->opts.cors_origins) {
        for (const char *const *o = srv->opts.cors_origins; *o; o++)
            if (strcmp(*o, "*") == 0 || strcmp(*o, origin) == 0)
                return 1;
        return 0;
    }
    if (srv->opts.cors_origin_cb)
        return srv->opts.cors_origin_cb(origin, srv->opts.cors_user_data);
    return 0;
}

static int cors_enabled(const eio_server *srv)
{
    return srv->opts.cors_origins || srv->opts.cors_origin_cb;
}

/* Builds the CORS header lines of the `cors` middleware for this request into req->cors. */
static int cors_headers(eio_server *srv, eio_request *req, int preflight)
{
    const eio_options *o = &srv->opts;
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return -1;
    const char *origin = eio_request_header(req, "origin");
    const char *const *list = o->cors_origins;
    if (list && list[0] && !list[1] && strcmp(list[0], "*") == 0) {
        evbuffer_add_printf(b, "Access-Control-Allow-Origin: *\r\n");
    } else if (list && list[0] && !list[1]) {
        evbuffer_add_printf(b, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", list[0]);
    } else {
        if (origin && origin_allowed(srv, origin))
            evbuffer_add_printf(b, "Access-Control-Allow-Origin: %s\r\n", origin);
        evbuffer_add_printf(b, "Vary: Origin\r\n");
    }
    if (o->cors_credentials)
        evbuffer_add_printf(b, "Access-Control-Allow-Credentials: true\r\n");
    if (preflight) {
        evbuffer_add_printf(b, "Access-Control-Allow-Methods: %s\r\n",
                            o->cors_methods ? o->cors_methods : "GET,HEAD,PUT,PATCH,POST,DELETE");
        const char *allowed = o->cors_allowed_headers;
        if (!allowed) {
            allowed = eio_request_header(req, "access-control-request-headers");
            evbuffer_add_printf(b, "Vary: Access-Control-Request-Headers\r\n");
        }
        if (allowed && *allowed)
            evbuffer_add_printf(b, "Access-Control-Allow-Headers: %s\r\n", allowed);
        if (o->cors_max_age >= 0)
            evbuffer_add_printf(b, "Access-Control-Max-Age: %d\r\n", o->cors_max_age);
    } else if (o->cors_exposed_headers) {
        evbuffer_add_printf(b, "Access-Control-Expose-Headers: %s\r\n", o->cors_exposed_headers);
    }
    size_t n = evbuffer_get_length(b);
    req->cors = malloc(n + 1);
    if (req->cors) {
        evbuffer_remove(b, req->cors, n);
        req->cors[n] = '\0';
    }
    evbuffer_free(b);
    return req->cors ? 0 : -1;
}

/* A header value with a control character (other than tab) or DEL is invalid (Node's checkInvalidHeaderChar). */
static int header_chars_invalid(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 1;
    return 0;
}

/* A refused WebSocket upgrade: a bare 400 with the message, and the socket closed (abortUpgrade). */
static void abort_upgrade(eio_conn *c, const char *message)
{
    struct evbuffer *out = eio__conn_out(c);
    if (out)
        evbuffer_add_printf(out,
                        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\n"
                        "Content-Length: %zu\r\n\r\n%s",
                        strlen(message), message);
    eio__request_free(c->req);
    c->req = NULL;
    eio__conn_close_after_write(c);
}

static void fail(eio_conn *c, int upgrade, int code, const char *message)
{
    if (upgrade)
        abort_upgrade(c, message ? message : eio__error_message(code));
    else
        eio__http_error(c, code, message);
}

/* RFC 7230 tchar. */
static int is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* A comma-separated list of tokens with optional spaces around the commas (ws's subprotocol parser). */
static int token_list_valid(const char *v)
{
    const unsigned char *p = (const unsigned char *)v;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!is_tchar(*p))
            return 0;
        while (is_tchar(*p))
            p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return 1;
        if (*p++ != ',')
            return 0;
    }
}

/* The ws library's own checks of an upgrade request (ws/lib/websocket-server.js handleUpgrade). */
static const char *ws_handshake_problem(const eio_request *req)
{
    const char *upgrade = eio_request_header(req, "upgrade");
    const char *key = eio_request_header(req, "sec-websocket-key");
    const char *version = eio_request_header(req, "sec-websocket-version");
    if (req->method != HTTP_GET)
        return "Invalid HTTP method";
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return "Invalid Upgrade header";
    if (!key || !eio_ws_key_valid(key, strlen(key)))
        return "Missing or invalid Sec-WebSocket-Key header";
    if (!version || (strcmp(version, "8") != 0 && strcmp(version, "13") != 0))
        return "Missing or invalid Sec-WebSocket-Version header";
    const char *proto = eio_request_header(req, "sec-websocket-protocol");
    if (proto && !token_list_valid(proto))
        return "Invalid Sec-WebSocket-Protocol header";
    return NULL;
}

/* Same-origin (Origin's host equals Host) or allowed by CORS. Browsers send Origin on every WebSocket. */
static int ws_origin_ok(const eio_server *srv, const eio_request *req)
{
    const char *origin = eio_request_header(req, "origin");
    if (!origin || !cors_enabled(srv))
        return 1;
    const char *host = eio_request_header(req, "host");
    const char *sep = strstr(origin, "://");
    if (host && sep && strcasecmp(sep + 3, host) == 0)
        return 1;
    return origin_allowed(srv, origin);
}

/* Moves the connection into another server's list: a chained server owns it while it serves its request. */
void eio__conn_move(eio_conn *c, eio_server *to)
{
    eio_server *srv = c->srv;
    if (srv == to)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = NULL;
    c->next = to->conns;
    if (to->conns)
        to->conns->prev = c;
    to->conns = c;
    c->srv = to;
}

int eio__route_headers(eio_conn *c)
{
    /* Every request is routed from the server that accepted the connection, along its chain; decided at the
     * headers, so that body limits and POST bookkeeping are the serving server's. */
    eio__conn_move(c, c->home);
    while (!path_matches(c->srv, c->req) && c->srv->next)
        eio__conn_move(c, c->srv->next);
    eio_server *srv = c->srv;
    eio_request *req = c->req;
    if (!path_matches(srv, req) || req->method != HTTP_POST)
        return 0;
    if (req->content_length != UINT64_MAX && req->content_length > srv->opts.max_http_buffer_size) {
        /* Refused before reading the body (the reference finds out while streaming it). */
        c->keep_alive = 0;
        eio__http_respond(c, 413, NULL, NULL, 0);
        return -1;
    }
    size_t len;
    const char *sid = eio_request_query(req, "sid", &len);
    eio_session *s = sid ? eio__session_find(srv, sid, len) : NULL;
    if (!s || s->sm.transport != EIO_SM_POLLING || query_transport(srv, req) != EIO_SM_POLLING)
        return 0;
    if (s->post) {
        /* "data request overlap from client": 400 and the session closes. */
        c->keep_alive = 0;
        eio__http_respond(c, 400, NULL, NULL, 0);
        eio__session_close(s, EIO_REASON_TRANSPORT_ERROR);
        return -1;
    }
    s->post = c;
    c->sess = s;
    eio_session_ref(s);
    c->parked = 2;
    return 0;
}

static void handshake(eio_conn *c, int transport, int upgrade)
{
    eio_server *srv = c->srv;
    eio_request *req = c->req;
    size_t vlen;
    const char *eio = eio_request_query(req, "EIO", &vlen);
    if (!eio || vlen != 1 || eio[0] != '4') {
        fail(c, upgrade, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION, NULL);
        return;
    }
    if (srv->opts.max_sessions && srv->nsessions >= srv->opts.max_sessions) {
        if (upgrade) {
            abort_upgrade(c, "Too many sessions");
        } else {
            c->keep_alive = 0;
            eio__http_respond(c, 503, NULL, NULL, 0);
        }
        return;
    }
    eio_session *s = eio__session_new(srv, transport);
    if (!s) {
        if (upgrade)
            abort_upgrade(c, "Internal error");
        else
            eio__http_respond(c, 500, NULL, NULL, 0);
        return;
    }
    char cookie[256] = "";
    if (srv->opts.cookie_name) {
        const eio_options *o = &srv->opts;
        snprintf(cookie, sizeof(cookie), "Set-Cookie: %s=%s%s%s%s%s%s\r\n", o->cookie_name, s->id,
                 o->cookie_path ? "; Path=" : "", o->cookie_path ? o->cookie_path : "",
                 o->cookie_http_only ? "; HttpOnly" : "", o->cookie_same_site ? "; SameSite=" : "",
                 o->cookie_same_site ? o->cookie_same_site : "");
    }
    char open[256];
    open[0] = '0';
    int n = eio_open_json(open + 1, sizeof(open) - 1, s->id, transport == EIO_SM_POLLING && srv->opts.allow_upgrades &&
                                                               srv->opts.allow_websocket,
                          srv->opts.ping_interval_ms, srv->opts.ping_timeout_ms,
                          (unsigned long)srv->opts.max_http_buffer_size);
    if (transport == EIO_SM_WEBSOCKET) {
        /* No cookie on a 101: the reference sets it from the polling transport's headers only. */
        if (eio__ws_accept(c, "") < 0) {
            eio__session_close(s, EIO_REASON_TRANSPORT_ERROR);
            eio_session_unref(s);
            return;
        }
        eio__ws_start(c, s);
        eio__ws_send(c, 1, NULL, 0, (const uint8_t *)open, (size_t)n + 1);
    } else {
        char headers[512];
        snprintf(headers, sizeof(headers), "Content-Type: text/plain; charset=UTF-8\r\nCache-Control: no-store\r\n%s",
                 cookie);
        eio__http_write(c, 200, headers, open, (size_t)n + 1);
    }
    /* The open packet leaves alone, as in the reference; then the application hears of the session. */
    s->connected = 1;
    eio_session_ref(s);
    if (srv->h.on_connection)
        srv->h.on_connection(s, req, srv->h.user_data);
    if (transport == EIO_SM_POLLING && c->req == req)
        eio__http_finish(c);
    else if (transport == EIO_SM_WEBSOCKET && c->req == req) {
        eio__request_free(req);
        c->req = NULL;
    }
    eio_session_unref(s);
    eio_session_unref(s); /* the creation reference; the table keeps its own */
}

void eio__route_request(eio_conn *c)
{
    eio_server *srv = c->srv;
    eio_request *req = c->req;
    int upgrade = req->upgrade;

    if (!upgrade && srv->prehandler && srv->prehandler(req, srv->prehandler_ud))
        return;
    if (!path_matches(srv, req)) {
        if (srv->fallback && srv->fallback(req, srv->fallback_ud))
            return;
        if (upgrade) {
            /* Not ours to upgrade (CVE-2022-41940: never leave such a socket hanging). */
            abort_upgrade(c, "Not Found");
            return;
        }
        eio__http_respond(c, 404, "Content-Type: text/plain\r\n", "Not Found", 9);
        return;
    }
    if (cors_enabled(srv) && cors_headers(srv, req, req->method == HTTP_OPTIONS) < 0) {
        eio__http_respond(c, 500, NULL, NULL, 0);
        return;
    }
    if (cors_enabled(srv) && req->method == HTTP_OPTIONS && !upgrade) {
        eio__http_respond(c, 204, NULL, NULL, 0);
        return;
    }

    /* verify(): transport, origin, sid, then the handshake-only checks. */
    int transport = query_transport(srv, req);
    if (transport < 0) {
        fail(c, upgrade, EIO_ERR_UNKNOWN_TRANSPORT, NULL);
        return;
    }
    const char *origin = eio_request_header(req, "origin");
    if (origin && header_chars_invalid(origin)) {
        fail(c, upgrade, EIO_ERR_BAD_REQUEST, NULL);
        return;
    }
    size_t sidlen;
    const char *sid = eio_request_query(req, "sid", &sidlen);
    eio_session *s = NULL;
    if (sid) {
        s = eio__session_find(srv, sid, sidlen);
        if (!s) {
            fail(c, upgrade, EIO_ERR_UNKNOWN_SID, NULL);
            return;
        }
        if (!upgrade && (int)s->sm.transport != transport) {
            fail(c, upgrade, EIO_ERR_BAD_REQUEST, NULL);
            return;
        }
    } else {
        if (req->method != HTTP_GET) {
            fail(c, upgrade, EIO_ERR_BAD_HANDSHAKE_METHOD, NULL);
            return;
        }
        if (transport == EIO_SM_WEBSOCKET && !upgrade) {
            fail(c, upgrade, EIO_ERR_BAD_REQUEST, NULL);
            return;
        }
        if (srv->opts.allow_request) {
            const char *message = NULL;
            if (!srv->opts.allow_request(req, &message, srv->opts.allow_request_user_data)) {
                fail(c, upgrade, EIO_ERR_FORBIDDEN, message);
                return;
            }
        }
    }

    if (upgrade) {
        const char *problem = transport == EIO_SM_WEBSOCKET ? ws_handshake_problem(req) : "Bad request";
        if (!problem && !ws_origin_ok(srv, req))
            problem = "Forbidden";
        if (problem) {
            abort_upgrade(c, problem);
            return;
        }
        if (!s) {
            handshake(c, EIO_SM_WEBSOCKET, 1);
            return;
        }
        eio__session_attach_probe(s, c);
        return;
    }
    if (!s) {
        handshake(c, EIO_SM_POLLING, 0);
        return;
    }
    if (req->method == HTTP_GET) {
        eio__session_poll_get(s, c);
    } else if (req->method == HTTP_POST) {
        eio__session_poll_post(s, c);
    } else {
        eio__http_respond(c, 500, NULL, NULL, 0);
    }
}
