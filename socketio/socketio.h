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
    /* serveClient: GET <path>socket.io.js, .min.js, .esm.min.js, .msgpack.min.js and their .map files from
     * client_dir, with ETag "<client version>" and 304, gzip when accepted. Default 1. */
    int serve_client;
    /* socket.io-client's dist/ directory (borrowed for the server's lifetime); NULL: $SIO_CLIENT_DIR, else
     * node_modules/socket.io-client/dist from the working directory. Its ../package.json gives the version. */
    const char *client_dir;
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

/* Emits to every socket of the namespace (sio_broadcast with no room). Same arguments as sio_socket_emit. */
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

/* socket.data: JSON the application attaches to a socket (ownership of `data` passes to the library; NULL
 * clears it). sio_fetch_sockets() reports it, on this server and, with a cluster adapter, from the others. */
void sio_socket_set_json(sio_socket *s, cJSON *data);
const cJSON *sio_socket_json(const sio_socket *s);     /* NULL when none */

/* --- rooms --- */

/* Every connected socket is in the room named by its id, and in the rooms it joins until it leaves them or
 * disconnects (after its `disconnecting` handlers, which may still join and leave). Names are copied. Returns 0,
 * SIO_EINVAL (room NULL), SIO_EDISCONNECTED (refused, or from a `disconnect` handler) or SIO_ENOMEM. Joining a
 * room twice, or leaving one it is not in, does nothing. */
int sio_socket_join(sio_socket *s, const char *room);
int sio_socket_leave(sio_socket *s, const char *room);
int sio_socket_in(const sio_socket *s, const char *room);
/* Stores up to cap room names of s (its id first, then in joining order) into out and returns how many it is
 * in. The names are valid until its rooms change. */
size_t sio_socket_rooms(const sio_socket *s, const char **out, size_t cap);
/* How many sockets of the namespace are in `room` on this server (0 when the room does not exist). */
size_t sio_namespace_room_size(const sio_namespace *nsp, const char *room);
/* The rooms of the namespace on this server (nsp.adapter.rooms.keys()), sockets' own rooms included: up to cap
 * names in out (valid until rooms change); returns how many there are. */
size_t sio_namespace_rooms(const sio_namespace *nsp, const char **out, size_t cap);

/* Room lifecycle (the adapter's create-room, delete-room, join-room, leave-room events). sid is NULL for
 * create and delete. At most one callback per kind and namespace; NULL removes it. */
enum { SIO_ROOM_CREATE, SIO_ROOM_DELETE, SIO_ROOM_JOIN, SIO_ROOM_LEAVE };
typedef void (*sio_room_cb)(sio_namespace *nsp, int what, const char *room, const char *sid, void *user_data);
void sio_namespace_on_room(sio_namespace *nsp, int what, sio_room_cb cb, void *user_data);

/* --- broadcasting: which sockets (io.to(...).except(...).volatile.local) --- */

enum {
    SIO_BCAST_VOLATILE = 1, /* a socket that cannot take the packet now (its transport is busy or, over
                               polling, no GET waits) does not get it, instead of it being queued */
    SIO_BCAST_LOCAL = 2,    /* this server only (with a cluster adapter) */
    SIO_BCAST_COMPRESS = 4  /* accepted for compatibility; nothing is compressed */
};
/*
 * The sockets of a namespace an operation is for: those in any of rooms[0..nrooms) (each once), or every
 * socket of the namespace when nrooms is 0; minus every socket in any of except[0..nexcept). A NULL
 * `sio_bcast *` means every socket. Everything is borrowed for the call.
 */
typedef struct sio_bcast {
    const char *const *rooms;
    size_t nrooms;
    const char *const *except;
    size_t nexcept;
    unsigned flags; /* SIO_BCAST_* */
} sio_bcast;

/*
 * Emits to the sockets `to` selects: the packet is encoded once and its bytes (WebSocket frame or polling
 * payload piece) are shared by every recipient. Same arguments as sio_socket_emit. Returns 0, SIO_EINVAL or
 * SIO_ENOMEM. sio_namespace_emit(nsp, ...) is sio_broadcast(nsp, NULL, ...).
 */
int sio_broadcast(sio_namespace *nsp, const sio_bcast *to, const char *event, const cJSON *args,
                  const sio_attachment_ref *bufs, size_t nbufs);
/* socket.to(...).emit / socket.broadcast.emit: the same from a socket, which is left out. */
int sio_socket_broadcast(sio_socket *s, const sio_bcast *to, const char *event, const cJSON *args,
                         const sio_attachment_ref *bufs, size_t nbufs);

/* The outcome of a broadcast with acknowledgements: err 0 when every selected client answered in time, or
 * SIO_ETIMEOUT (SIO_EDISCONNECTED when the server is freed first); responses is an array of the first argument of each answer received (in arrival order),
 * borrowed for the call. Called exactly once (not before sio_broadcast_with_ack returns). */
typedef void (*sio_bcast_ack_cb)(int err, const cJSON *responses, void *user_data);
/* io.to(...).timeout(ms).emit(event, ...args, cb). timeout_ms must be > 0. Returns 0, SIO_EINVAL, SIO_ENOMEM, or
 * SIO_EDISCONNECTED while the server is being freed (from a disconnect handler it runs): cb is then not called. */
int sio_broadcast_with_ack(sio_namespace *nsp, const sio_bcast *to, const char *event, const cJSON *args,
                           const sio_attachment_ref *bufs, size_t nbufs, unsigned timeout_ms, sio_bcast_ack_cb cb,
                           void *user_data);

/* --- serverSideEmit: events between the servers of a cluster (not to clients) --- */

/* An acknowledgement asked by another server's sio_server_side_emit_with_ack; valid during the callback only. */
typedef struct sio_server_ack sio_server_ack;
/* An event from another server (io.serverSideEmit): args borrowed for the call; ack non-NULL when the sender
 * waits for an answer: answer it with sio_server_ack_send during the call (an unanswered one is not answered
 * at all, as with the reference: the sender's wait ends at its timeout). */
typedef void (*sio_server_side_cb)(sio_namespace *nsp, const char *event, const cJSON *args, sio_server_ack *ack,
                                   void *user_data);
/* Receives every server-side event of the namespace (one callback; NULL removes it). */
void sio_namespace_on_server_side(sio_namespace *nsp, sio_server_side_cb cb, void *user_data);
/* Answers with `response` (the first and only argument the sender gets; copied; NULL: null). Once. */
int sio_server_ack_send(sio_server_ack *ack, const cJSON *response);
/* Emits to the other servers of the cluster (never to this one; nothing happens without a cluster adapter).
 * args: a JSON array (may be NULL); binary is not carried (the reference sends JSON). Returns 0, SIO_EINVAL,
 * SIO_ENOMEM. */
int sio_server_side_emit(sio_namespace *nsp, const char *event, const cJSON *args);
/* The same, waiting timeout_ms for one answer per other server: cb gets err 0 with every answer, or
 * SIO_ETIMEOUT with those received (an empty array at once when there is no other server). */
int sio_server_side_emit_with_ack(sio_namespace *nsp, const char *event, const cJSON *args, unsigned timeout_ms,
                                  sio_bcast_ack_cb cb, void *user_data);

/* --- server-wide operations on the sockets `to` selects (every server of a cluster unless SIO_BCAST_LOCAL) --- */

/* What fetchSockets reports of one socket; borrowed for the callback. */
typedef struct sio_socket_info {
    const char *id;
    const char *const *rooms; /* in joining order (its own id room first unless a middleware joined before) */
    size_t nrooms;
    const cJSON *handshake;   /* {headers, time, address, xdomain, secure, issued, url, query, auth} */
    const cJSON *data;        /* socket.data (sio_socket_set_json), or NULL */
    sio_socket *local;        /* the socket when it is on this server, else NULL */
} sio_socket_info;
/* err is 0, or SIO_ETIMEOUT when some servers did not answer (the sockets of those that did are given), or
 * SIO_EDISCONNECTED (no sockets) when the server is freed before the answer. */
typedef void (*sio_fetch_cb)(int err, const sio_socket_info *sockets, size_t n, void *user_data);
/* fetchSockets: cb gets every selected socket (not before sio_fetch_sockets returns). The infos are copies,
 * valid during the callback, which may change the sockets freely. Returns 0, SIO_EINVAL, SIO_ENOMEM, or
 * SIO_EDISCONNECTED while the server is being freed (cb is then not called). */
int sio_fetch_sockets(sio_namespace *nsp, const sio_bcast *to, sio_fetch_cb cb, void *user_data);
/* socketsJoin / socketsLeave: the selected sockets join (leave) rooms[0..n). */
int sio_sockets_join(sio_namespace *nsp, const sio_bcast *to, const char *const *rooms, size_t n);
int sio_sockets_leave(sio_namespace *nsp, const sio_bcast *to, const char *const *rooms, size_t n);
/* disconnectSockets(close): the selected sockets are disconnected ("server namespace disconnect"); with
 * close, their whole connections are closed. */
int sio_disconnect_sockets(sio_namespace *nsp, const sio_bcast *to, int close);

#endif
