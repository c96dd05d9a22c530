/*
 * socketio.h: a Socket.IO v5 server in C, compatible with socket.io-client 4.x and Node's socket.io 4.8.
 *
 * Objects:
 * - sio_server: one Engine.IO server at /socket.io/ plus the namespaces. Runs on an event_base you own.
 * - sio_namespace: "/" and those made with sio_of(); each has a connection handler and middlewares.
 *   sio_of_match() makes a dynamic parent: client-requested names that it accepts become child namespaces
 *   created on demand with the parent's handlers.
 * - sio_socket: one client in one namespace. Valid from its connection handler until its disconnect
 *   handler returns; sio_socket_ref()/sio_socket_unref() keep it longer (a disconnected socket ignores emits).
 *
 * Arguments: events carry a cJSON array of arguments (the event name excluded) plus binary attachments.
 * A binary argument is a placeholder object in the JSON (sio_placeholder_new(i) stands for bufs[i] when
 * emitting; sio_args_binary() resolves one when receiving). Ownership: every pointer argument is borrowed for
 * the call unless said otherwise; what the library keeps, it copies.
 * Threads: none; every call from the event_base's thread. Out of memory: calls return SIO_ENOMEM.
 */
#ifndef SOCKETIO_H
#define SOCKETIO_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "engineio/engineio.h"

struct event_base;

typedef struct sio_server sio_server;
typedef struct sio_namespace sio_namespace;
typedef struct sio_socket sio_socket;
typedef struct sio_ack sio_ack;

/* Binary data given to an emit (borrowed for the call). */
typedef struct sio_attachment_ref {
    const uint8_t *data;
    size_t len;
} sio_attachment_ref;

enum {
    SIO_OK = 0,
    SIO_ENOMEM = -1,      /* out of memory */
    SIO_EINVAL = -2,      /* invalid argument (a reserved event name, no arguments array, ...) */
    SIO_EDISCONNECTED = -3, /* the socket is disconnected */
    SIO_ETIMEOUT = -4,    /* an acknowledgement did not come in time */
    SIO_ELISTEN = -5      /* could not listen */
};
const char *sio_strerror(int code);

/* Disconnect reasons, the reference's strings. */
#define SIO_REASON_CLIENT_NAMESPACE_DISCONNECT "client namespace disconnect"
#define SIO_REASON_SERVER_NAMESPACE_DISCONNECT "server namespace disconnect"
#define SIO_REASON_FORCED_SERVER_CLOSE "forced server close"
#define SIO_REASON_SERVER_SHUTTING_DOWN "server shutting down"
/* ... and the Engine.IO ones: "transport close", "transport error", "ping timeout", "parse error",
 * "forced close". */

typedef struct sio_options {
    eio_options eio;             /* Engine.IO options; eio.path defaults to "/socket.io/" */
    unsigned connect_timeout_ms; /* a connection that joins no namespace in time is closed; 45000 */
} sio_options;

/* Fills the reference's defaults. */
void sio_options_init(sio_options *opts);

/* Creates a server on base (borrowed; must outlive it). opts NULL: defaults. Returns NULL on failure. */
sio_server *sio_server_new(struct event_base *base, const sio_options *opts);
/* Listens on host:port (0: a free port, see sio_server_port). Returns 0 or SIO_ELISTEN. */
int sio_server_listen(sio_server *srv, const char *host, int port);
int sio_server_port(const sio_server *srv);
/* The underlying Engine.IO server (for eio_server_chain, eio_server_set_fallback). */
eio_server *sio_server_engine(sio_server *srv);
/* Disconnects every socket ("server shutting down"), closes every connection and frees the server. Called
 * from one of the server's callbacks, it finishes in the next loop iteration (run the loop once more before
 * event_base_free). */
void sio_server_free(sio_server *srv);

/* --- namespaces --- */

/* The namespace `name` ("/chat"), created on first use. sio_of(srv, "/") is the main namespace. Returns NULL
 * when name does not start with '/' or on out of memory. Valid as long as the server. */
sio_namespace *sio_of(sio_server *srv, const char *name);

/* Decides whether a client may create the namespace `name` (auth is the CONNECT payload, or NULL). */
typedef int (*sio_nsp_match_cb)(const char *name, const cJSON *auth, void *user_data);
/* A dynamic parent namespace: a CONNECT for an unknown name that `match` accepts creates a child namespace
 * with the parent's connection handler and middlewares. */
sio_namespace *sio_of_match(sio_server *srv, sio_nsp_match_cb match, void *user_data);
/* The same with a POSIX extended regular expression matched against the whole name (e.g. "^/room-[0-9]+$").
 * Returns NULL when the pattern does not compile. */
sio_namespace *sio_of_pattern(sio_server *srv, const char *pattern);

const char *sio_namespace_name(const sio_namespace *nsp);
size_t sio_namespace_sockets_count(const sio_namespace *nsp);

typedef void (*sio_connection_cb)(sio_socket *s, void *user_data);
void sio_namespace_on_connection(sio_namespace *nsp, sio_connection_cb cb, void *user_data);

/*
 * Namespace middleware, run in order for every CONNECT before the connection handler. Return 0 to go on, or
 * non-zero to refuse: the client gets CONNECT_ERROR {"message": *message, "data": *data}. *message may be set to
 * a string borrowed until the callback returns (default "not authorized"); *data may be set to a cJSON value
 * whose ownership passes to the library.
 */
typedef int (*sio_middleware_cb)(sio_socket *s, const char **message, cJSON **data, void *user_data);
int sio_namespace_use(sio_namespace *nsp, sio_middleware_cb cb, void *user_data);

/* Emits to every socket of the namespace. Same arguments as sio_socket_emit. */
int sio_namespace_emit(sio_namespace *nsp, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                       size_t nbufs);

/* --- sockets --- */

/* Received arguments, valid during the callback that gives them. */
typedef struct sio_args sio_args;
/* The arguments array (event name excluded); never NULL (an empty array when there are none). */
const cJSON *sio_args_json(const sio_args *args);
size_t sio_args_count(const sio_args *args);
/* The i-th argument, or NULL. */
const cJSON *sio_args_get(const sio_args *args, size_t i);
/* When `item` is a binary argument (a placeholder of this packet), sets *data and *len and returns 1; else 0. */
int sio_args_binary(const sio_args *args, const cJSON *item, const uint8_t **data, size_t *len);

/* The binary attachments of the packet (placeholder num i stands for attachment i): count, and the i-th. Useful
 * to pass received arguments on unchanged: give the same args and these attachments, in order, to an emit. */
size_t sio_args_attachments_count(const sio_args *args);
int sio_args_attachment(const sio_args *args, size_t i, const uint8_t **data, size_t *len);

/* An incoming event. `ack` is non-NULL when the client asked for an acknowledgement: answer it with
 * sio_ack_send() during the callback, or call sio_ack_keep() to answer later. */
typedef void (*sio_event_cb)(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *user_data);

/* Handles event `name` (copied). Several handlers per name run in order. Returns 0 or SIO_ENOMEM. */
int sio_socket_on(sio_socket *s, const char *name, sio_event_cb cb, void *user_data);
/* Catch-all for incoming events (after the named handlers' lookup, before them). */
int sio_socket_on_any(sio_socket *s, sio_event_cb cb, void *user_data);
/* Catch-all for outgoing events: args borrowed for the call, ack NULL. */
int sio_socket_on_any_outgoing(sio_socket *s, sio_event_cb cb, void *user_data);

/* Per-packet middleware: runs for each incoming event before the handlers; return 0 to let it through,
 * non-zero to drop it. */
typedef int (*sio_packet_middleware_cb)(sio_socket *s, const char *event, const sio_args *args, void *user_data);
int sio_socket_use(sio_socket *s, sio_packet_middleware_cb cb, void *user_data);

typedef void (*sio_disconnect_cb)(sio_socket *s, const char *reason, void *user_data);
/* `disconnecting` runs first (the socket still in its rooms), then `disconnect`. */
int sio_socket_on_disconnecting(sio_socket *s, sio_disconnect_cb cb, void *user_data);
int sio_socket_on_disconnect(sio_socket *s, sio_disconnect_cb cb, void *user_data);

/*
 * Emits `event` with the arguments `args` (a cJSON array, may be NULL for none; borrowed: the library encodes
 * it before returning) and binary attachments bufs[0..nbufs) referenced from args by sio_placeholder_new(i).
 * Returns 0, SIO_EINVAL (reserved name, args not an array), SIO_EDISCONNECTED or SIO_ENOMEM.
 */
int sio_socket_emit(sio_socket *s, const char *event, const cJSON *args, const sio_attachment_ref *bufs, size_t nbufs);

/* The answer to an emit with acknowledgement: err is 0 with the client's arguments, or SIO_ETIMEOUT /
 * SIO_EDISCONNECTED with args NULL. Called exactly once. */
typedef void (*sio_ack_cb)(sio_socket *s, int err, const sio_args *args, void *user_data);
/* Like sio_socket_emit, asking the client for an acknowledgement within timeout_ms (0: no timeout). */
int sio_socket_emit_with_ack(sio_socket *s, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                             size_t nbufs, unsigned timeout_ms, sio_ack_cb cb, void *user_data);

/* Answers an acknowledgement (once) with args (array or NULL) and attachments, then frees `ack`. */
int sio_ack_send(sio_ack *ack, const cJSON *args, const sio_attachment_ref *bufs, size_t nbufs);
/* Keeps `ack` valid after the event callback returns: it must then be answered with sio_ack_send() or dropped
 * with sio_ack_free(). */
sio_ack *sio_ack_keep(sio_ack *ack);
void sio_ack_free(sio_ack *ack);

/* Disconnects the socket from its namespace ("server namespace disconnect"); with close_connection, the whole
 * connection (every namespace) is closed. */
void sio_socket_disconnect(sio_socket *s, int close_connection);

const char *sio_socket_id(const sio_socket *s);            /* 20 base64url characters */
sio_namespace *sio_socket_namespace(const sio_socket *s);
int sio_socket_connected(const sio_socket *s);
const char *sio_socket_transport(const sio_socket *s);     /* "polling" or "websocket" */
void sio_socket_set_data(sio_socket *s, void *data);
void *sio_socket_data(const sio_socket *s);
void sio_socket_ref(sio_socket *s);
void sio_socket_unref(sio_socket *s);

/* The handshake (socket.handshake): the first HTTP request of the connection, and the CONNECT's auth. */
const char *sio_socket_header(const sio_socket *s, const char *name); /* case-insensitive, or NULL */
/* Percent-decodes query parameter `key` of the handshake URL into out (cap bytes, NUL included); returns its
 * length, or -1 when absent or longer than cap - 1. */
long sio_socket_query(const sio_socket *s, const char *key, char *out, size_t cap);
const char *sio_socket_url(const sio_socket *s);
const char *sio_socket_address(const sio_socket *s);
int64_t sio_socket_handshake_time(const sio_socket *s); /* ms since the epoch */
int sio_socket_secure(const sio_socket *s);             /* 1 over TLS (never, for now) */
const cJSON *sio_socket_auth(const sio_socket *s);      /* the CONNECT payload, {} when none */

#endif
