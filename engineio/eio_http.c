/*
 * HTTP/1.1 connections: reading requests with http-parser, writing answers, connection lifetime.
 *
 * One request at a time per connection: the parser pauses when a request is complete, and parsing resumes
 * only once that request has been answered (at once, or later for a parked polling GET). Pipelined requests
 * therefore wait in the input buffer, which is capped. Every limit answers with a status and closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "eio_private.h"

/* Answers waiting to be written above which a connection stops reading further pipelined requests. */
#define EIO_HTTP_OUTPUT_HIGH (256 * 1024)
/* At most this much is read from a socket per readiness (EIO_READ_CHUNK, eio_private.h: into the server's
 * scratch buffer). */
/* A peer that takes none of our output for this long, while we wait to close or to read again, is dropped. */
#define EIO_WRITE_TIMEOUT_MS 10000
/* After our last answer: how long, and how much, a peer's remaining input is read and dropped before closing. */
#define EIO_LINGER_MS 2000
#define EIO_LINGER_BYTES (1024 * 1024)

static void conn_io_cb(evutil_socket_t fd, short what, void *arg);
static void http_read(eio_conn *c);

/*
 * Connection I/O without bufferevents: one event per socket, and buffers only while data waits. An idle
 * connection holds its struct and nothing else (a bufferevent with its two evbuffers and two events is about
 * 1 KB per connection, kept for the connection's whole life).
 *
 * Reads go into the home server's scratch buffer and are appended to c->in, which is freed as soon as the parsers
 * have consumed it. Writes are queued in c->out and the connection joins its home server's write list; the
 * list is written once per loop iteration (write_ev), so every frame queued for a socket meanwhile leaves in
 * one sendmsg. EV_WRITE is armed only when the kernel did not take everything.
 */
static void conn_update_event(eio_conn *c, int force)
{
    short flags = (short)((c->rd ? EV_READ : 0) | (c->wblocked ? EV_WRITE : 0));
    uint32_t tmo = c->rd && c->read_timeout_ms ? c->read_timeout_ms
                   : c->wblocked && c->wr_timeout ? EIO_WRITE_TIMEOUT_MS
                                                  : 0;
    if (flags == c->ev_flags && tmo == c->ev_timeout_ms && !force)
        return;
    /* event_add(NULL) keeps a pending timeout: dropping one takes an event_del first. */
    if (c->ev_flags && (flags != c->ev_flags || (tmo == 0 && c->ev_timeout_ms != 0))) {
        event_del(&c->ev);
        c->ev_flags = 0;
    }
    c->ev_timeout_ms = tmo;
    if (!flags)
        return;
    if (!c->ev_flags)
        event_assign(&c->ev, c->home->base, c->fd, (short)(flags | EV_PERSIST), conn_io_cb, c);
    struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};
    event_add(&c->ev, tmo ? &tv : NULL);
    c->ev_flags = (uint8_t)flags;
}

void eio__conn_set_read_timeout(eio_conn *c, unsigned ms)
{
    c->read_timeout_ms = ms;
    conn_update_event(c, 1);
}

static void set_reading(eio_conn *c, int on)
{
    c->rd = (uint8_t)on;
    conn_update_event(c, 0);
}

static void write_list_remove(eio_conn *c)
{
    if (!c->wqueued)
        return;
    eio_server *home = c->home;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        home->write_list = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->wqueued = 0;
}

void eio__conn_rehome(eio_conn *c, eio_server *home)
{
    int queued = c->wqueued;
    write_list_remove(c);
    c->home = home;
    if (queued)
        eio__conn_out(c); /* back in a write list: the new home's */
}

struct evbuffer *eio__conn_out(eio_conn *c)
{
    if (!c->out && !(c->out = evbuffer_new()))
        return NULL;
    if (!c->wqueued && !c->wblocked) {
        eio_server *home = c->home;
        c->wqueued = 1;
        c->wprev = NULL;
        c->wnext = home->write_list;
        if (home->write_list)
            home->write_list->wprev = c;
        home->write_list = c;
        event_active(home->write_ev, EV_TIMEOUT, 0);
    }
    return c->out;
}

eio_conn *eio__conn_new(eio_server *srv, int fd)
{
    eio_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = fd;
    c->srv = srv;
    c->home = srv;
    c->mode = EIO_CONN_HTTP;
    c->keep_alive = 1;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    c->rd = 1;
    eio__conn_set_read_timeout(c, srv->opts.headers_timeout_ms);
    return c;
}

void eio__request_free(eio_request *req)
{
    if (!req)
        return;
    if (req->body)
        evbuffer_free(req->body);
    free(req->buf);
    free(req->hdrs);
    free(req->cors);
    free(req);
}

void eio__request_shrink(eio_request *req)
{
    if (req->body) {
        evbuffer_free(req->body);
        req->body = NULL;
    }
    free(req->buf);
    free(req->hdrs);
    req->buf = NULL;
    req->hdrs = NULL;
    req->len = req->cap = 0;
    req->nhdrs = req->hdrs_cap = 0;
    req->url_len = req->path_len = req->path_off = 0;
}

static void conn_free_now(eio_conn *c)
{
    eio_server *srv = c->srv;
    if (c->sess) {
        eio_session *s = c->sess;
        eio__session_conn_lost(s, c, NULL); /* clears c->sess and drops its reference */
    }
    if (c->prev)
        c->prev->next = c->next;
    else if (srv->conns == c)
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->req)
        c->req->conn = NULL;
    eio__request_free(c->req);
    if (c->frag)
        evbuffer_free(c->frag);
    write_list_remove(c);
    if (c->ev_flags)
        event_del(&c->ev);
    close(c->fd);
    if (c->in)
        evbuffer_free(c->in);
    if (c->out)
        evbuffer_free(c->out);
    free(c);
}

void eio__conn_close(eio_conn *c)
{
    if (c->busy) {
        c->dead = 1;
        c->rd = 0;
        c->wblocked = 0;
        write_list_remove(c);
        conn_update_event(c, 0);
        return;
    }
    conn_free_now(c);
}

void eio__conn_close_after_write(eio_conn *c)
{
    c->mode = EIO_CONN_CLOSING;
    c->wr_timeout = 1;
    set_reading(c, 0);
    if (!c->out || evbuffer_get_length(c->out) == 0) {
        eio__conn_close(c);
        return;
    }
    /* written at the end of this iteration; a peer that does not read gets 10 s to take the rest */
}

size_t eio__conn_queued(const eio_conn *c)
{
    return c->out ? evbuffer_get_length(c->out) : 0;
}

static void conn_leave(eio_conn *c)
{
    if (--c->busy == 0 && c->dead)
        conn_free_now(c);
}

/* An emptied input buffer is freed: idle connections keep none. */
static void conn_in_trim(eio_conn *c)
{
    if (!c->dead && c->in && evbuffer_get_length(c->in) == 0) {
        evbuffer_free(c->in);
        c->in = NULL;
    }
}

/* No input for the read timeout: a request that did not arrive in time gets 408, anything else closes. */
static void conn_timeout(eio_conn *c)
{
    if (c->mode == EIO_CONN_LINGER) {
        eio__conn_close(c);
        return;
    }
    if (c->rd && c->read_timeout_ms && c->mode == EIO_CONN_HTTP && c->req_start && !c->parked) {
        eio__http_respond(c, 408, NULL, NULL, 0);
        eio__conn_close_after_write(c);
        return;
    }
    eio__conn_close(c);
}

/* All output was written: a closing connection goes, a throttled one reads its next requests. */
static void conn_drained(eio_conn *c)
{
    if (c->mode == EIO_CONN_CLOSING) {
        /* Everything is written: send our FIN, and drop what the peer still sends until it closes too. */
        c->mode = EIO_CONN_LINGER;
        if (shutdown(c->fd, SHUT_WR) < 0) {
            eio__conn_close(c);
            return;
        }
        if (c->in) {
            evbuffer_free(c->in);
            c->in = NULL;
        }
        c->req_start = 0;
        c->linger_bytes = 0;
        c->rd = 1;
        eio__conn_set_read_timeout(c, EIO_LINGER_MS);
    } else if (c->throttled && c->mode == EIO_CONN_HTTP) {
        c->throttled = 0;
        c->wr_timeout = 0;
        c->rd = 1;
        eio__conn_set_read_timeout(c, c->srv->opts.keep_alive_timeout_ms);
        /* Writes never run inside this connection's own reading, so its requests can be read from here. */
        if (!c->srv->freeing && !c->home->freeing) {
            http_read(c);
            conn_in_trim(c);
        }
    }
}

/* Writes what c->out holds with one sendmsg (MSG_NOSIGNAL: a peer gone never raises SIGPIPE); returns the
 * bytes written or -1 with errno. */
static ssize_t out_send(eio_conn *c)
{
    struct evbuffer_iovec v[64];
    struct iovec iov[64];
    int n = evbuffer_peek(c->out, -1, NULL, v, 64);
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
    }
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    if (w > 0)
        evbuffer_drain(c->out, (size_t)w);
    return w;
}

/* Writes c->out (one sendmsg per 64 chunks); called with c busy. */
static void conn_write(eio_conn *c)
{
    if (c->dead)
        return;
    if (!c->out) {
        c->wblocked = 0;
        conn_update_event(c, 0);
        return;
    }
    while (evbuffer_get_length(c->out)) {
        ssize_t n = out_send(c);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->wblocked = 1;
                conn_update_event(c, 0);
                return;
            }
            if (errno == EINTR)
                continue;
            eio__conn_close(c);
            return;
        }
        if (n == 0)
            break;
    }
    if (evbuffer_get_length(c->out) == 0) {
        evbuffer_free(c->out);
        c->out = NULL;
        c->wblocked = 0;
        conn_update_event(c, 0);
        conn_drained(c);
        return;
    }
    c->wblocked = 1; /* the kernel took part of it: wait for EV_WRITE */
    conn_update_event(c, 0);
}

static void conn_read(eio_conn *c)
{
    char *scratch = c->home->scratch; /* one read buffer per server, not per connection */
    ssize_t n = recv(c->fd, scratch, EIO_READ_CHUNK, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        eio__conn_close(c); /* EOF or error */
        return;
    }
    if (c->mode == EIO_CONN_LINGER) {
        c->linger_bytes += (size_t)n;
        if (c->linger_bytes > EIO_LINGER_BYTES)
            eio__conn_close(c);
        return;
    }
    if ((!c->in && !(c->in = evbuffer_new())) || evbuffer_add(c->in, scratch, (size_t)n) < 0) {
        eio__conn_close(c);
        return;
    }
    if (c->mode == EIO_CONN_HTTP)
        http_read(c);
    else if (c->mode == EIO_CONN_WS)
        eio__ws_read(c);
    conn_in_trim(c);
}

static void conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
    eio_conn *c = arg;
    (void)fd;
    eio__depth++;
    c->busy++;
    if (what & EV_TIMEOUT)
        conn_timeout(c);
    if ((what & EV_WRITE) && !c->dead) {
        c->wblocked = 0;
        conn_write(c);
    }
    if ((what & EV_READ) && !c->dead && c->rd)
        conn_read(c);
    conn_leave(c);
    eio__depth--;
}

void eio__server_run_writes(eio_server *srv)
{
    eio__depth++;
    while (srv->write_list) {
        eio_conn *c = srv->write_list;
        write_list_remove(c);
        c->busy++;
        conn_write(c);
        conn_leave(c);
    }
    eio__depth--;
}

/* --- answers --- */

static const char *status_text(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* Ends the current request: the next one may be read (by the caller's loop or eio__http_resume). */
void eio__http_finish(eio_conn *c)
{
    /* A POST marked at its headers but answered early (an error, a 413) no longer holds its session. */
    if (c->sess && c->sess->post == c)
        eio__session_detach(c->sess, c);
    eio__request_free(c->req);
    c->req = NULL;
    c->req_start = 0;
    c->parked = 0;
    if (!c->keep_alive)
        eio__conn_close_after_write(c);
    else if (c->mode == EIO_CONN_HTTP)
        eio__conn_set_read_timeout(c, c->srv->opts.keep_alive_timeout_ms);
}

static int write_head(eio_conn *c, int status, const char *extra_headers, size_t len)
{
    struct evbuffer *out = eio__conn_out(c);
    const char *cors = c->req && c->req->cors ? c->req->cors : "";
    return !out || evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: %s\r\n%s%s\r\n", status,
                               status_text(status), len, c->keep_alive ? "keep-alive" : "close", cors,
                               extra_headers ? extra_headers : "") < 0
               ? -1
               : 0;
}

int eio__http_write(eio_conn *c, int status, const char *extra_headers, const void *body, size_t len)
{
    if (c->mode != EIO_CONN_HTTP || c->dead)
        return -1;
    int rc = write_head(c, status, extra_headers, len);
    /* A HEAD answer has the GET's headers, Content-Length included, and no body. */
    if (rc == 0 && len && !(c->req && c->req->method == HTTP_HEAD))
        rc = evbuffer_add(c->out, body, len);
    return rc;
}

int eio__http_respond(eio_conn *c, int status, const char *extra_headers, const void *body, size_t len)
{
    if (c->mode != EIO_CONN_HTTP || c->dead)
        return -1;
    int rc = eio__http_write(c, status, extra_headers, body, len);
    eio__http_finish(c);
    return rc;
}

int eio__http_respond_buf(eio_conn *c, int status, const char *extra_headers, struct evbuffer *body)
{
    if (c->mode != EIO_CONN_HTTP || c->dead)
        return -1;
    int rc = write_head(c, status, extra_headers, evbuffer_get_length(body));
    if (rc == 0)
        rc = evbuffer_add_buffer(c->out, body);
    eio__http_finish(c);
    return rc;
}

const char *eio__error_message(int code)
{
    static const char *const messages[] = {
        "Transport unknown", "Session ID unknown", "Bad handshake method", "Bad request", "Forbidden",
        "Unsupported protocol version",
    };
    return code >= 0 && code <= EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION ? messages[code] : "Bad request";
}

void eio__http_error(eio_conn *c, int code, const char *message)
{
    if (!message)
        message = eio__error_message(code);
    char body[600];
    /* Messages are ours or the application's; escape the two JSON specials to stay valid. */
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"code\":%d,\"message\":\"", code);
    for (const char *p = message; *p && n < sizeof(body) - 8; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            body[n++] = '\\';
        if (ch < 0x20)
            continue;
        body[n++] = (char)ch;
    }
    n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}");
    eio__http_respond(c, code == EIO_ERR_FORBIDDEN ? 403 : 400, "Content-Type: application/json\r\n", body, n);
}

/* --- reading requests --- */

static int req_append(eio_conn *c, const char *at, size_t len)
{
    eio_request *r = c->req;
    size_t limit = c->srv->opts.max_header_bytes;
    if (r->len + len + 1 > limit + r->nhdrs * 2 + 2)
        return -1;
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + len + 1)
            cap *= 2;
        /* `at` may point into buf itself (the path copy): keep its offset across the realloc. */
        int inside = r->buf && at >= r->buf && at < r->buf + r->len;
        size_t off = inside ? (size_t)(at - r->buf) : 0;
        char *nb = realloc(r->buf, cap);
        if (!nb)
            return -1;
        r->buf = nb;
        r->cap = cap;
        if (inside)
            at = nb + off;
    }
    memcpy(r->buf + r->len, at, len);
    r->len += len;
    return 0;
}

static int req_terminate(eio_conn *c)
{
    return req_append(c, "", 1);
}

static void reject_headers(eio_conn *c, int status)
{
    c->keep_alive = 0;
    eio__http_respond(c, status, NULL, NULL, 0);
}

static int on_message_begin(http_parser *p)
{
    eio_conn *c = p->data;
    eio__request_free(c->req);
    c->req = calloc(1, sizeof(*c->req));
    if (!c->req)
        return -1;
    c->req->conn = c;
    c->req->content_length = UINT64_MAX;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    eio_conn *c = p->data;
    c->req->last = 1;
    if (req_append(c, at, len) < 0) {
        reject_headers(c, 431);
        return -1;
    }
    c->req->url_len = (uint32_t)c->req->len;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    eio_conn *c = p->data;
    eio_request *r = c->req;
    if (r->last != 2) {
        if (req_terminate(c) < 0 || r->nhdrs >= c->srv->opts.max_headers) {
            reject_headers(c, 431);
            return -1;
        }
        if (r->nhdrs == r->hdrs_cap) {
            unsigned cap = r->hdrs_cap ? r->hdrs_cap * 2 : 16;
            struct eio_header *nh = realloc(r->hdrs, cap * sizeof(*nh));
            if (!nh)
                return -1;
            r->hdrs = nh;
            r->hdrs_cap = cap;
        }
        r->hdrs[r->nhdrs].name = (uint32_t)r->len;
        r->hdrs[r->nhdrs].value = UINT32_MAX;
        r->nhdrs++;
        r->last = 2;
    }
    if (req_append(c, at, len) < 0) {
        reject_headers(c, 431);
        return -1;
    }
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    eio_conn *c = p->data;
    eio_request *r = c->req;
    if (r->last != 3) {
        if (req_terminate(c) < 0) {
            reject_headers(c, 431);
            return -1;
        }
        r->hdrs[r->nhdrs - 1].value = (uint32_t)r->len;
        r->last = 3;
    }
    if (req_append(c, at, len) < 0) {
        reject_headers(c, 431);
        return -1;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    eio_conn *c = p->data;
    eio_request *r = c->req;
    if (req_terminate(c) < 0) {
        reject_headers(c, 431);
        return -1;
    }
    if (r->url_len == 0) {
        /* Keep the URL NUL-terminated even when it is empty: it is at offset 0. */
        reject_headers(c, 400);
        return -1;
    }
    /* A header whose value never came (parser quirk) gets an empty value. */
    for (unsigned i = 0; i < r->nhdrs; i++)
        if (r->hdrs[i].value == UINT32_MAX)
            r->hdrs[i].value = (uint32_t)(r->len - 1);
    /* A NUL-terminated copy of the path (the URL up to '?'). */
    const char *q = memchr(r->buf, '?', r->url_len);
    r->path_len = (uint32_t)(q ? (size_t)(q - r->buf) : r->url_len);
    r->path_off = (uint32_t)r->len;
    if (req_append(c, r->buf, r->path_len) < 0 || req_terminate(c) < 0) {
        reject_headers(c, 431);
        return -1;
    }
    r->complete = 1;
    r->method = (uint8_t)p->method;
    r->upgrade = p->upgrade;
    /* http-parser leaves content_length at ULLONG_MAX when there is none. */
    if (p->content_length != ULLONG_MAX && (p->flags & F_CONTENTLENGTH))
        r->content_length = p->content_length;
    c->keep_alive = http_should_keep_alive(p) ? 1 : 0;
    if (eio__route_headers(c) < 0)
        return -1;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    eio_conn *c = p->data;
    eio_request *r = c->req;
    size_t have = r->body ? evbuffer_get_length(r->body) : 0;
    if (have + len > c->srv->opts.max_http_buffer_size) {
        /* The reference answers 413 while the body streams; the session itself stays. */
        c->keep_alive = 0;
        eio__http_respond(c, 413, NULL, NULL, 0);
        return -1;
    }
    if (!r->body && !(r->body = evbuffer_new()))
        return -1;
    return evbuffer_add(r->body, at, len);
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/*
 * Feeds buffered input to the parser until a request is complete, then routes it. Stops when a request is
 * parked (waiting for data), when the connection switched to WebSocket or is closing.
 */
static void http_read(eio_conn *c)
{
    eio_server *srv = c->srv;
    struct evbuffer *in = c->in;
    while (in && c->mode == EIO_CONN_HTTP && !c->dead && !c->srv->freeing) {
        size_t avail = evbuffer_get_length(in);
        if (c->req && c->req->routed) {
            /* Waiting for an answer: later requests stay in the buffer, within a bound. */
            if (avail > srv->opts.max_header_bytes + srv->opts.max_http_buffer_size)
                eio__conn_close(c);
            return;
        }
        if (avail == 0)
            return;
        if (!c->req && eio__conn_queued(c) > EIO_HTTP_OUTPUT_HIGH) {
            /* Pipelined requests from a peer that does not read our answers: stop reading (TCP pushes back)
             * until the output has been written; a peer that never reads goes after 10 s. */
            c->throttled = 1;
            c->wr_timeout = 1;
            set_reading(c, 0);
            return;
        }
        if (!c->req_start) {
            c->req_start = eio__now_ms(srv);
            eio__conn_set_read_timeout(c, srv->opts.headers_timeout_ms);
        } else if (!(c->req && c->req->complete) &&
                   eio__now_ms(srv) - c->req_start > srv->opts.headers_timeout_ms) {
            c->keep_alive = 0;
            eio__http_respond(c, 408, NULL, NULL, 0);
            return;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return;
        size_t n = http_parser_execute(&c->parser, &parser_settings, v.iov_base, v.iov_len);
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
        if (c->dead || c->mode != EIO_CONN_HTTP)
            return; /* a callback answered and closed */
        evbuffer_drain(in, n);
        if (err == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            int upgrade = c->parser.upgrade;
            c->req->routed = 1;
            eio__route_request(c);
            if (upgrade && c->mode == EIO_CONN_HTTP && !c->dead) {
                /* An upgrade that was not accepted was answered; nothing can follow it. */
                eio__conn_close_after_write(c);
                return;
            }
            if (c->mode == EIO_CONN_WS && !c->dead) {
                eio__ws_read(c); /* frames that came with the handshake */
                return;
            }
            continue;
        }
        if (err != HPE_OK) {
            if (c->req && c->mode == EIO_CONN_HTTP) {
                eio__log(EIO_LOG_DEBUG, "bad request: %s", http_errno_description(err));
                c->keep_alive = 0;
                eio__http_respond(c, 400, NULL, NULL, 0);
            } else {
                struct evbuffer *out = eio__conn_out(c);
                if (out)
                    evbuffer_add_printf(out, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                eio__conn_close_after_write(c);
            }
            return;
        }
    }
}

void eio__http_resume(eio_conn *c)
{
    if (c->busy || c->mode != EIO_CONN_HTTP || c->srv->freeing)
        return; /* the connection's own loop is running and will go on; or the server is going away */
    c->busy++;
    http_read(c);
    conn_in_trim(c);
    conn_leave(c);
}

/* --- request accessors --- */

const char *eio_request_method(const eio_request *req)
{
    return http_method_str((enum http_method)req->method);
}

const char *eio_request_url(const eio_request *req)
{
    return req->buf ? req->buf : "";
}

const char *eio_request_path(const eio_request *req)
{
    return req->buf ? req->buf + req->path_off : "";
}

const char *eio_request_header(const eio_request *req, const char *name)
{
    for (unsigned i = 0; i < req->nhdrs; i++)
        if (strcasecmp(req->buf + req->hdrs[i].name, name) == 0)
            return req->buf + req->hdrs[i].value;
    return NULL;
}

int eio_request_header_at(const eio_request *req, size_t i, const char **name, const char **value)
{
    if (i >= req->nhdrs)
        return 0;
    *name = req->buf + req->hdrs[i].name;
    *value = req->buf + req->hdrs[i].value;
    return 1;
}

/* Finds `key` in the query of url[0..url_len): the raw value and its length, or NULL. */
static const char *query_find(const char *url, size_t url_len, const char *key, size_t *len)
{
    const char *q = url ? memchr(url, '?', url_len) : NULL;
    if (!q)
        return NULL;
    size_t klen = strlen(key);
    const char *end = url + url_len;
    const char *p = q + 1;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        if ((size_t)(kend - p) == klen && memcmp(p, key, klen) == 0) {
            const char *v = eq ? eq + 1 : stop;
            if (len)
                *len = (size_t)(stop - v);
            return v;
        }
        p = stop + 1;
    }
    return NULL;
}

const char *eio_request_query(const eio_request *req, const char *key, size_t *len)
{
    return query_find(req->buf, req->url_len, key, len);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static long percent_decode(const char *v, size_t len, char *out, size_t cap)
{
    if (!v || cap == 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = v[i];
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%' && i + 2 < len && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0) {
            ch = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = ch;
    }
    out[o] = '\0';
    return (long)o;
}

long eio_request_query_decoded(const eio_request *req, const char *key, char *out, size_t cap)
{
    size_t len = 0;
    const char *v = eio_request_query(req, key, &len);
    return percent_decode(v, len, out, cap);
}

long eio_url_query_decoded(const char *url, const char *key, char *out, size_t cap)
{
    size_t len = 0;
    const char *v = query_find(url, strlen(url), key, &len);
    return percent_decode(v, len, out, cap);
}

const char *eio_request_remote_address(const eio_request *req)
{
    eio_request *r = (eio_request *)req;
    if (r->addr[0] || !r->conn)
        return r->addr;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(r->conn->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, r->addr, sizeof(r->addr));
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, r->addr, sizeof(r->addr));
    }
    return r->addr;
}

const uint8_t *eio_request_body(const eio_request *req, size_t *len)
{
    if (!req->body) {
        *len = 0;
        return NULL;
    }
    *len = evbuffer_get_length(req->body);
    return evbuffer_pullup(req->body, -1);
}

int eio_request_respond(eio_request *req, int status, const char *headers, const void *body, size_t len)
{
    if (!req->conn)
        return EIO_ECLOSED;
    return eio__http_respond(req->conn, status, headers, body, len) < 0 ? EIO_ENOMEM : 0;
}
