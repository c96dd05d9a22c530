/*
 * engineio.h: an Engine.IO v4 server on libevent, compatible with Node's engine.io 6 and its clients.
 *
 * An eio_server serves HTTP long-polling and WebSocket sessions on an event_base that the application owns.
 * The application sees sessions: a connection callback when a client has completed its handshake, message
 * callbacks (text or binary), and one close callback with the reason. It sends text or binary messages and
 * may close a session. Everything runs on the event_base's thread; no call blocks.
 *
 * Ownership: every pointer argument is borrowed for the duration of the call unless its comment says
 * otherwise; what the library keeps, it copies.
 * Out of memory: functions that allocate return NULL or EIO_ENOMEM; the server never aborts on its own.
 * Lifetime: an eio_session is valid from its connection callback until its close callback returns. To keep
 * one longer, take a reference with eio_session_ref() and drop it with eio_session_unref(); a closed session
 * ignores sends (EIO_ECLOSED). Never free or unref a session you did not ref.
 */
#ifndef ENGINEIO_H
#define ENGINEIO_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct eio_server eio_server;
typedef struct eio_session eio_session;
typedef struct eio_request eio_request;

/* Error codes: negative, with eio_strerror(). */
enum {
    EIO_OK = 0,
    EIO_ENOMEM = -1,    /* out of memory */
    EIO_EINVAL = -2,    /* invalid argument */
    EIO_ECLOSED = -3,   /* the session is closing or closed */
    EIO_EQUEUE = -4,    /* the session's outgoing queue is over max_queued_bytes: the session was closed */
    EIO_ELISTEN = -5,   /* could not listen (see errno) */
    EIO_EDROPPED = -6   /* a volatile message was not queued: the session could not take it now */
};
const char *eio_strerror(int code);

/* Close reasons given to on_close, the strings of the reference implementation. */
#define EIO_REASON_TRANSPORT_CLOSE "transport close"       /* the client closed (or the connection ended) */
#define EIO_REASON_TRANSPORT_ERROR "transport error"       /* protocol violation, overflow, aborted request */
#define EIO_REASON_PING_TIMEOUT "ping timeout"             /* no pong within pingTimeout */
#define EIO_REASON_PARSE_ERROR "parse error"               /* an invalid packet */
#define EIO_REASON_FORCED_CLOSE "forced close"             /* eio_session_close() */
#define EIO_REASON_SERVER_SHUTDOWN "server shutting down"  /* eio_server_free() */

/* Called for every handshake once the request passed the built-in checks; return 1 to accept, 0 to refuse
 * (HTTP 403 {"code":4,"message":...} over polling, 400 over WebSocket). *message may be set to a static or
 * server-lifetime string (borrowed, not freed) to replace "Forbidden". */
typedef int (*eio_allow_request_cb)(const eio_request *req, const char **message, void *user_data);

/* Called for cross-origin requests when cors_origins is NULL and this is set: return 1 to allow `origin`. */
typedef int (*eio_cors_origin_cb)(const char *origin, void *user_data);

typedef struct eio_options {
    const char *path;                  /* where the server answers; default "/engine.io/" (a prefix match) */
    unsigned ping_interval_ms;         /* default 25000 */
    unsigned ping_timeout_ms;          /* default 20000 */
    unsigned upgrade_timeout_ms;       /* default 10000 */
    size_t max_http_buffer_size;       /* max POST body and WebSocket message, bytes; default 1e6 */
    size_t max_queued_bytes;           /* outgoing bytes a session may have waiting; past it the session is
                                          closed with "transport error"; default 16 MiB (0 = default) */
    int allow_polling;                 /* default 1 */
    int allow_websocket;               /* default 1 */
    int allow_upgrades;                /* default 1 */
    unsigned close_timeout_ms;         /* polling: how long a close waits for the next GET; default 30000 */
    unsigned headers_timeout_ms;       /* a request's headers must arrive within this; default 60000 */
    unsigned keep_alive_timeout_ms;    /* idle keep-alive HTTP connections are closed after; default 5000 */
    size_t max_header_bytes;           /* request line + headers; default 16384 (431 beyond) */
    unsigned max_headers;              /* header count; default 100 (431 beyond) */
    size_t max_sessions;               /* 0 = no limit; past it handshakes get 503 */

    /* CORS (off when neither cors_origins nor cors_origin_cb is set). cors_origins: NULL-terminated list
     * of allowed origins, or {"*", NULL} for any; borrowed for the server's lifetime. */
    const char *const *cors_origins;
    eio_cors_origin_cb cors_origin_cb;
    void *cors_user_data;
    int cors_credentials;              /* Access-Control-Allow-Credentials: true */
    const char *cors_methods;          /* default "GET,HEAD,PUT,PATCH,POST,DELETE" */
    const char *cors_allowed_headers;  /* NULL: reflect Access-Control-Request-Headers */
    const char *cors_exposed_headers;  /* NULL: none */
    int cors_max_age;                  /* seconds; < 0: not sent (default -1) */

    /* Cookie with the session id on the handshake answer; off when cookie_name is NULL (default).
     * eio_options_init() leaves it off; set cookie_name to "io" for the reference's cookie: true. */
    const char *cookie_name;
    const char *cookie_path;           /* default "/" (NULL: no Path attribute) */
    int cookie_http_only;              /* default 1 */
    const char *cookie_same_site;      /* default "Lax" (NULL: none) */

    eio_allow_request_cb allow_request;
    void *allow_request_user_data;
} eio_options;

/* Fills opts with the reference's defaults. */
void eio_options_init(eio_options *opts);

typedef struct eio_handlers {
    /* A client completed its handshake. `req` is the handshake request, valid only during this call. */
    void (*on_connection)(eio_session *s, const eio_request *req, void *user_data);
    /* A message arrived: text (binary 0, valid UTF-8 over WebSocket) or binary (binary 1). `data` is
     * borrowed for the call. */
    void (*on_message)(eio_session *s, const uint8_t *data, size_t len, int binary, void *user_data);
    /* The session moved from polling to WebSocket. */
    void (*on_upgrade)(eio_session *s, void *user_data);
    /* The session is closed; `reason` is one of EIO_REASON_* (static). Called exactly once per session
     * that had on_connection. Sends from here are ignored. */
    void (*on_close)(eio_session *s, const char *reason, void *user_data);
    void *user_data;
} eio_handlers;

/* Creates a server on `base` (borrowed; must outlive the server). opts may be NULL for defaults; strings in
 * opts are borrowed for the server's lifetime. Returns NULL on invalid options or out of memory. */
eio_server *eio_server_new(struct event_base *base, const eio_options *opts, const eio_handlers *handlers);

/* Listens on host:port (IPv4 or IPv6 literal or name resolved once, at this call). port 0 picks a free port;
 * eio_server_port() tells which. May be called more than once. Returns 0 or EIO_ELISTEN. */
int eio_server_listen(eio_server *srv, const char *host, int port);
int eio_server_port(const eio_server *srv);

/* Serves an already-connected socket (for example from the application's own listener). Takes ownership
 * of fd. Returns 0 or EIO_ENOMEM (fd closed). */
int eio_server_adopt_fd(eio_server *srv, int fd);

/* Closes every session with "server shutting down", stops listening and frees the server. Sessions the
 * application still references stay valid (closed) until their last unref. Accepts NULL. Called from one of
 * the server's callbacks, it stops listening at once and finishes in the next loop iteration (so the loop
 * must run once more before event_base_free). Free a chain's first server before the ones chained to it. */
void eio_server_free(eio_server *srv);

/* 1 while one of the engine's callbacks runs on this thread (layers above use it to defer their own frees). */
int eio_in_callback(void);

/* Number of open sessions. */
size_t eio_server_clients_count(const eio_server *srv);

/* Handlers for requests outside the Engine.IO path: return 1 when handled (the response was written with
 * eio_request_respond), 0 for the default 404. */
typedef int (*eio_http_fallback_cb)(eio_request *req, void *user_data);
void eio_server_set_fallback(eio_server *srv, eio_http_fallback_cb cb, void *user_data);
/* A handler run for every request before the Engine.IO path is looked at (Socket.IO's client bundle, served
 * under its path): return 1 when it answered, 0 to route the request as usual. NULL removes it. */
void eio_server_set_prehandler(eio_server *srv, eio_http_fallback_cb cb, void *user_data);

/* Serves requests outside srv's path with `next` (another server on the same event_base, with its own path,
 * options and handlers) before falling back: several Engine.IO apps on one port. `next` must outlive srv's
 * connections (free srv first). Pass NULL to undo. */
void eio_server_chain(eio_server *srv, eio_server *next);

/* --- sessions --- */

/* The session id: 20 base64url characters, NUL-terminated; valid as long as the session. */
const char *eio_session_id(const eio_session *s);
/* "polling" or "websocket". */
const char *eio_session_transport(const eio_session *s);
/* 4 (Engine.IO v4). */
int eio_session_protocol(const eio_session *s);
void eio_session_set_user_data(eio_session *s, void *user_data);
void *eio_session_user_data(const eio_session *s);

/* Queues a message (copied). Returns 0, EIO_ECLOSED, EIO_ENOMEM, or EIO_EQUEUE (the queue passed
 * max_queued_bytes: the session is being closed with "transport error"). */
int eio_session_send_text(eio_session *s, const char *data, size_t len);
int eio_session_send_binary(eio_session *s, const uint8_t *data, size_t len);

/*
 * A message encoded once for many sessions (a broadcast): its WebSocket frame and its polling payload piece
 * are built once; a send of a message of 1 KiB or more adds a reference to those bytes (reference counted),
 * a smaller one copies them (cheaper than a libevent chain of its own). The data is copied by eio_msg_new; the
 * message is freed when the creator's reference and every queued send are gone.
 */
typedef struct eio_msg eio_msg;
eio_msg *eio_msg_new(int binary, const void *data, size_t len); /* NULL on out of memory */
void eio_msg_unref(eio_msg *m);

enum { EIO_SEND_VOLATILE = 1 };
/* Queues m. With EIO_SEND_VOLATILE the message is dropped (returns EIO_EDROPPED) when the session cannot
 * take it now: eio_session_writable() is 0, or it would pass max_queued_bytes. Other returns as
 * eio_session_send_text. */
int eio_session_send_msg(eio_session *s, eio_msg *m, unsigned flags);
/* 1 when a message sent now would go out at once: over WebSocket, the kernel took everything so far; over
 * polling, a GET is waiting. */
int eio_session_writable(const eio_session *s);
/* Bytes queued for the session and not yet written. */
size_t eio_session_queued(const eio_session *s);
/* 1 when the session is writable and `bytes` more would stay within max_queued_bytes (the volatile test). */
int eio_session_can_take(const eio_session *s, size_t bytes);

/* Closes the session after what is queued has been written; on_close gets "forced close". Closing twice
 * is harmless. */
void eio_session_close(eio_session *s);

void eio_session_ref(eio_session *s);
void eio_session_unref(eio_session *s);

/* --- requests (handshake requests in on_connection / allow_request, and fallback requests) --- */

const char *eio_request_method(const eio_request *req);   /* "GET", "POST", ... */
const char *eio_request_url(const eio_request *req);      /* path and query as received */
const char *eio_request_path(const eio_request *req);     /* the path, undecoded */
/* The raw (still percent-encoded) value of a query parameter, or NULL. Decoded: eio_request_query_decoded. */
const char *eio_request_query(const eio_request *req, const char *key, size_t *len);
/* Percent-decodes the query parameter `key` into out (cap bytes with NUL). Returns its length, or -1 if absent
 * or too long. */
long eio_request_query_decoded(const eio_request *req, const char *key, char *out, size_t cap);
/* The same on any URL: percent-decodes the query parameter `key` of `url` (NUL-terminated) into out. */
long eio_url_query_decoded(const char *url, const char *key, char *out, size_t cap);
/* A request header (case-insensitive name), or NULL; value borrowed like the request. */
const char *eio_request_header(const eio_request *req, const char *name);
/* Iterates over headers: returns 1 and sets name and value while i < count, else 0. */
int eio_request_header_at(const eio_request *req, size_t i, const char **name, const char **value);
/* The peer address as text ("127.0.0.1", "::1"). */
const char *eio_request_remote_address(const eio_request *req);
/* Body of the request (fallback requests). */
const uint8_t *eio_request_body(const eio_request *req, size_t *len);

/* Answers a fallback request (only from eio_http_fallback_cb, once). `headers` is extra header lines, each
 * ending in "\r\n" (may be NULL); Content-Length is added. Copied. */
int eio_request_respond(eio_request *req, int status, const char *headers, const void *body, size_t len);

/* --- static files (web pages beside the server, Socket.IO's client bundle) --- */

/* A read-only file server for one directory. Files are read when asked for (a changed file is served
 * changed); compressed copies are cached by path, size and modification time, at most 8 MiB in all. */
typedef struct eio_static eio_static;
/* root is copied and resolved (realpath) once. Returns NULL when it is not a directory or out of memory. */
eio_static *eio_static_new(const char *root);
void eio_static_free(eio_static *st);
const char *eio_static_root(const eio_static *st); /* the resolved directory */

typedef struct eio_static_opts {
    const char *etag;          /* the ETag, quoted (e.g. "\"4.8.4\""); NULL: W/"<size>-<mtime>" in hex */
    const char *content_type;  /* NULL: from the file name's extension (application/octet-stream if unknown) */
    const char *cache_control; /* NULL: "public, max-age=0" */
    int any_method;            /* answer every method as GET (HEAD still without body), as serveClient does */
} eio_static_opts;

/*
 * Answers req with the file url_path names below the root: url_path is a request path as received (percent
 * encoded, no query; "/" and directories mean their index.html). 200 with Content-Type, ETag and
 * Cache-Control; 304 when If-None-Match matches the ETag (weak or strong); gzip (Content-Encoding, Vary) when
 * Accept-Encoding allows it and the type is text-like; HEAD answers the headers only; methods other than GET
 * and HEAD get 405
 * (unless o->any_method). A path that leaves the root (a ".." segment, encoded or not, a backslash, a NUL, an
 * absolute or symbolic link outside) or names no regular file is not answered. o may be NULL.
 * Returns 1 when req was answered, 0 when not (the caller answers, e.g. 404).
 */
int eio_static_serve(eio_static *st, eio_request *req, const char *url_path, const eio_static_opts *o);

/* Writes 20 base64url characters from the OS's CSPRNG and a NUL to out (the form of session ids). */
void eio_random_id(char out[21]);

/* --- logging --- */
enum { EIO_LOG_ERROR = 0, EIO_LOG_WARN = 1, EIO_LOG_INFO = 2, EIO_LOG_DEBUG = 3 };
typedef void (*eio_log_cb)(int level, const char *msg, void *user_data);
/* Replaces the process-wide logger (default: level WARN and worse to stderr, or DEBUG when the environment
 * variable DEBUG contains "engine"). cb NULL silences logging. */
void eio_set_logger(eio_log_cb cb, void *user_data);
/* Logs through that logger (for the layers above: Socket.IO, the adapters). */
void eio_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
