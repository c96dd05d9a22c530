/*
 * Private structures of the Engine.IO server, shared by its .c files and its tests only.
 *
 * Objects:
 * - eio_server: the listeners, options, the session table and every live connection.
 * - eio_conn: one TCP connection. It starts in HTTP mode (requests parsed by http-parser, one at a time,
 *   pipelining-safe because parsing pauses after each request until it is answered) and may switch to
 *   WebSocket mode after a 101 answer. A connection holds no buffer while idle: its input and output
 *   evbuffers exist only while data waits (eio_http.c), and a WebSocket message in pieces is buffered only
 *   until complete.
 * - eio_session: one Engine.IO session, on one data transport (polling, or a WebSocket connection), with an
 *   optional probe WebSocket during the upgrade.
 * - eio_request: one HTTP request being read or answered (freed after its answer).
 */
#ifndef EIO_PRIVATE_H
#define EIO_PRIVATE_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "engineio.h"
#include "eio_codec.h"
#include "eio_sm.h"

struct evbuffer;
struct evconnlistener;

typedef struct eio_conn eio_conn;

/* CLOSING: the last output is being written; LINGER: written and our side shut down, reading (and dropping)
 * what the peer still sends until it closes, so that closing with unread input (a refused upload) does not
 * reset the connection before the peer has read our answer. */
#define EIO_READ_CHUNK (64 * 1024) /* at most this much is read from a socket per readiness */
enum { EIO_CONN_HTTP = 0, EIO_CONN_WS = 1, EIO_CONN_CLOSING = 2, EIO_CONN_LINGER = 3 };

struct eio_header {
    uint32_t name;  /* offset of the NUL-terminated name in req->buf */
    uint32_t value; /* offset of the NUL-terminated value in req->buf */
};

struct eio_request {
    eio_conn *conn;            /* the connection it came on; NULL once that connection is gone */
    char *buf;                 /* URL, then header names and values, each NUL-terminated */
    size_t len;                /* bytes used in buf */
    size_t cap;                /* bytes allocated for buf (<= max_header_bytes + headers count) */
    struct eio_header *hdrs;   /* nhdrs entries, nhdrs <= max_headers */
    unsigned nhdrs;
    unsigned hdrs_cap;
    uint32_t url_len;          /* the URL is buf[0..url_len) */
    uint32_t path_len;         /* the path is the URL up to '?' */
    uint32_t path_off;         /* a NUL-terminated copy of the path is at buf + path_off */
    uint8_t last;              /* what the parser gave last: 0 nothing, 1 URL, 2 field, 3 value */
    uint8_t method;            /* enum http_method */
    uint8_t complete;          /* headers complete: pointers may be handed out */
    uint8_t upgrade;           /* a WebSocket upgrade request */
    uint8_t routed;            /* complete and handed to the router: no parsing until it is answered */
    struct evbuffer *body;     /* request body (NULL when none) */
    uint64_t content_length;   /* from the header, or UINT64_MAX when absent */
    char addr[48];             /* peer address text, filled on demand */
    char *cors;                /* CORS header lines for this request's answers ("" when none) */
};

struct eio_conn {
    eio_server *srv;           /* the server that owns it now (a chained one while it serves its request) */
    eio_server *home;          /* the server that accepted it: every new request is routed from there */
    int fd;                    /* the socket; closed with the connection */
    struct event ev;           /* its one event: EV_READ while reading, EV_WRITE while the kernel refuses output */
    struct evbuffer *in;       /* input not consumed yet (NULL when none: an idle connection keeps no buffer) */
    struct evbuffer *out;      /* output not written yet (NULL when none) */
    eio_conn *wprev, *wnext;   /* in home's write list: output queued in this loop iteration, written at its end */
    eio_conn *prev, *next;     /* the server's list of live connections */
    eio_request *req;          /* HTTP: the request being read or answered, else NULL */
    eio_session *sess;         /* HTTP: the session whose GET is parked or POST is being read here;
                                  WS: the session this WebSocket carries or probes (a reference) */
    struct evbuffer *frag;     /* WS: a fragmented message being reassembled (NULL when none) */
    uint64_t req_start;        /* HTTP: ms when the current request's first byte arrived (0: none yet) */
    http_parser parser;        /* HTTP: the request parser */
    uint32_t frag_count;       /* WS: fragments in frag */
    uint8_t mode;              /* EIO_CONN_* */
    uint8_t frag_opcode;       /* WS: opcode of the fragmented message */
    uint8_t parked;            /* HTTP: 1 while a GET waits for data, 2 while a POST body streams */
    uint8_t keep_alive;        /* HTTP: keep the connection after the current answer */
    uint8_t busy;              /* > 0 while the connection's own callbacks run: frees are deferred */
    uint8_t dead;              /* freed as soon as busy drops to 0 */
    uint8_t close_sent;        /* WS: our close frame is queued */
    uint8_t throttled;         /* HTTP: reading paused until the answers written so far are taken */
    uint8_t rd;                /* reading enabled */
    uint8_t wr_timeout;        /* closing or throttled: a peer that takes nothing for 10 s is dropped */
    uint8_t wblocked;          /* the last write left output the kernel did not take: EV_WRITE is armed */
    uint8_t wqueued;           /* in home's write list */
    uint8_t ev_flags;          /* what ev is added with (0: not added) */
    uint32_t read_timeout_ms;  /* while reading, no input for this long is a timeout (0: none) */
    uint32_t ev_timeout_ms;    /* the timeout ev is added with */
    size_t linger_bytes;       /* LINGER: input dropped so far */
};

struct eio_session {
    eio_server *srv;           /* NULL once the server is freed (the session is then closed) */
    char id[21];               /* 20 base64url characters + NUL */
    uint8_t connected;         /* on_connection was called: on_close is owed */
    uint8_t flush_queued;      /* in the server's flush list */
    uint8_t closing_flush;     /* graceful close: finish when the queue has been written */
    uint8_t close_deferred;    /* closing for an overflow detected inside a send: finalized by the flush event */
    int refs;                  /* the table, the application, connections and pending work each hold one */
    eio_sm sm;                 /* protocol state */
    struct event timer;        /* heartbeat (common timeouts); also the close timeout while closing */
    struct event *upgrade_timer; /* allocated during an upgrade only */
    eio_conn *ws;              /* the WebSocket carrying data (transport websocket) */
    eio_conn *probe;           /* the WebSocket being probed for an upgrade */
    eio_conn *get;             /* the parked polling GET */
    eio_conn *post;            /* the POST whose body is being read */
    struct evbuffer *pollq;    /* polling: encoded payload waiting for a GET (NULL when empty) */
    eio_session *hnext;        /* next in the session table bucket */
    eio_session *flush_next;   /* next in the server's flush list */
    void *user_data;
};

struct eio_server {
    struct event_base *base;
    eio_options opts;
    eio_handlers h;
    struct evconnlistener *listeners[8];
    int nlisteners;
    int port;
    eio_conn *conns;           /* every live connection */
    eio_session **table;       /* open sessions by id; power-of-two buckets */
    size_t table_size;
    size_t nsessions;
    const struct timeval *ct_interval; /* common timeouts: ping interval, ping timeout, close timeout */
    const struct timeval *ct_timeout;
    const struct timeval *ct_close;
    struct event *flush_ev;    /* runs the flush list once per loop iteration */
    eio_session *flush_list;
    struct event *write_ev;    /* writes the write list once per loop iteration (one sendmsg per connection) */
    char *scratch;             /* EIO_READ_CHUNK bytes: every read of the connections accepted here lands here */
    eio_conn *write_list;      /* connections accepted here with output queued in this iteration */
    eio_server *next;          /* requests outside our path go there (eio_server_chain) */
    eio_http_fallback_cb fallback;
    void *fallback_ud;
    eio_http_fallback_cb prehandler;   /* run before the path is looked at (NULL: none) */
    void *prehandler_ud;
    int freeing;               /* eio_server_free is running or deferred: no new work is started */
};

/* eio_server.c: how many of the engine's callbacks are on this thread's stack (eio_server_free called from
 * one of them is deferred to a fresh loop iteration). */
extern _Thread_local int eio__depth;

/* eio_log.c */
/* eio_static.c, the parts its tests and fuzzer reach: */
/* Decodes a request path into root-relative segments joined by '/' (a trailing '/' for a directory); 0, or -1
 * for a path that must not be served (a "." or ".." or dot-file segment, a backslash, a NUL, bad %-escapes). */
int eio__static_relative(const char *url_path, char *out, size_t cap);
/* 1 when the If-None-Match list `header` (NULL: none) matches etag, weakly. */
int eio__static_etag_matches(const char *header, const char *etag);
/* 1 when the Accept-Encoding value `ae` (NULL: none) allows gzip. */
int eio__static_accepts_gzip(const char *ae);

void eio__log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int eio__log_enabled(int level);
uint64_t eio__now_ms(eio_server *srv);

/* eio_http.c */
eio_conn *eio__conn_new(eio_server *srv, int fd);
void eio__conn_close(eio_conn *c);              /* free now (or when its callbacks return) */
void eio__conn_close_after_write(eio_conn *c);  /* stop reading; free once the output is written */
/* The output buffer, created when needed; whatever is added to it is written at the end of this loop
 * iteration (one writev for everything queued meanwhile). NULL when out of memory. */
struct evbuffer *eio__conn_out(eio_conn *c);
void eio__conn_set_read_timeout(eio_conn *c, unsigned ms); /* 0: none; restarts the clock */
void eio__server_run_writes(eio_server *srv);   /* writes the write list now */
void eio__conn_rehome(eio_conn *c, eio_server *home); /* new requests routed, and writes listed, from home */
void eio__http_resume(eio_conn *c);             /* the parked request was answered: read the next one */
int eio__http_write(eio_conn *c, int status, const char *extra_headers, const void *body, size_t len);
void eio__http_finish(eio_conn *c);             /* after eio__http_write: the request is done */
int eio__http_respond(eio_conn *c, int status, const char *extra_headers, const void *body, size_t len);
int eio__http_respond_buf(eio_conn *c, int status, const char *extra_headers, struct evbuffer *body);
/* The reference's Engine.IO error codes (server.ts Server.errors) and their messages. */
enum { EIO_ERR_UNKNOWN_TRANSPORT = 0, EIO_ERR_UNKNOWN_SID = 1, EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
       EIO_ERR_BAD_REQUEST = 3, EIO_ERR_FORBIDDEN = 4, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION = 5 };
const char *eio__error_message(int code);
/* Answers {"code":code,"message":message or the code's own} with 400 (403 for EIO_ERR_FORBIDDEN). */
void eio__http_error(eio_conn *c, int code, const char *message);
void eio__request_free(eio_request *req);
void eio__request_shrink(eio_request *req);     /* frees URL, headers and body; keeps what an answer needs */

/* eio_route.c */
void eio__route_request(eio_conn *c);           /* a complete request in c->req */
int eio__route_headers(eio_conn *c);            /* headers complete: early answers; returns -1 when answered */
void eio__conn_move(eio_conn *c, eio_server *to); /* into another server's list of connections */

/* eio_session.c */
eio_session *eio__session_new(eio_server *srv, int transport);
eio_session *eio__session_find(eio_server *srv, const char *id, size_t len);
void eio__session_close(eio_session *s, const char *reason);
void eio__session_shutdown(eio_session *s);      /* server free: closes now, whatever the state */
void eio__session_detach(eio_session *s, eio_conn *c); /* c no longer serves s (no close) */
void eio__session_on_packet(eio_session *s, eio_conn *from, const eio_packet *pkt);
void eio__session_poll_get(eio_session *s, eio_conn *c);
void eio__session_poll_post(eio_session *s, eio_conn *c);
void eio__session_conn_lost(eio_session *s, eio_conn *c, const char *reason); /* reason NULL: by role */
void eio__session_attach_probe(eio_session *s, eio_conn *c);
int eio__session_send(eio_session *s, int type, int binary, const uint8_t *data, size_t len);
void eio__server_run_flush(eio_server *srv);

/* eio_ws.c */
int eio__ws_accept(eio_conn *c, const char *extra_headers); /* 101 answer; switches to WS mode */
void eio__ws_start(eio_conn *c, eio_session *s);
void eio__ws_read(eio_conn *c);
int eio__ws_send(eio_conn *c, int opcode, const uint8_t *prefix, size_t plen, const uint8_t *data, size_t len);
void eio__ws_close(eio_conn *c, int code);
size_t eio__conn_queued(const eio_conn *c);

#endif
