/*
 * Private structures of the Socket.IO layer, for its .c files and tests only.
 *
 * - sio_client: one Engine.IO session; decodes packets, holds the handshake copy and the client's sockets
 *   (one per namespace), and the connect timer until a namespace is joined.
 * - sio_socket: one client in one namespace, with its listeners and its pending acknowledgements.
 */
#ifndef SIO_PRIVATE_H
#define SIO_PRIVATE_H

#include <regex.h>

#include "rooms/sio_adapter.h"
#include "socketio.h"
#include "sio_parser.h"

struct event;

typedef struct sio_client sio_client;

/* Listener kinds on a socket; each kind's callback type is named in socketio.h. */
enum { SIO_L_EVENT, SIO_L_ANY, SIO_L_ANY_OUT, SIO_L_USE, SIO_L_DISCONNECTING, SIO_L_DISCONNECT };

struct sio_listener {
    int kind;                  /* SIO_L_* */
    char *name;                /* SIO_L_EVENT: the event name (owned); else NULL */
    void (*fn)(void);          /* the callback, cast back to its kind's type before the call */
    void *ud;
    struct sio_listener *next; /* in registration order */
};

struct sio_mw {
    sio_middleware_cb cb;
    void *ud;
    struct sio_mw *next;
};

struct sio_namespace {
    sio_server *srv;
    char *name;                /* owned; "/..." (for a dynamic parent: its description) */
    sio_namespace *next;       /* the server's list (static namespaces and created children) */
    sio_namespace *parent;     /* a child's dynamic parent, else NULL */
    sio_nsp_match_cb match;    /* dynamic parents only */
    void *match_ud;
    regex_t *re;               /* dynamic parents made by sio_of_pattern */
    sio_connection_cb on_connection;
    void *on_connection_ud;
    struct sio_mw *mws;        /* middlewares in order (children use their parent's) */
    sio_socket *sockets;       /* connected sockets (nprev/nnext) */
    size_t nsockets;
    const sio_adapter_ops *ad_ops; /* the namespace's adapter (NULL for dynamic parents) */
    void *ad;
    int64_t next_ack_id;       /* ack ids of the namespace's emits (one counter, as the reference's nsp._ids) */
    sio_room_cb room_cb[4];    /* lifecycle callbacks, by SIO_ROOM_* */
    void *room_ud[4];
    sio_server_side_cb on_server_side; /* serverSideEmit from other servers (NULL: ignored) */
    void *on_server_side_ud;
};

struct sio_pending_ack {
    int64_t id;
    sio_ack_cb cb;
    void *ud;
    struct event *timer;       /* NULL without timeout */
    sio_socket *s;
    struct sio_pending_ack *next;
};

struct sio_ack {
    sio_socket *s;             /* holds a reference */
    int64_t id;
    uint8_t kept;              /* sio_ack_keep was called: the application frees it */
    uint8_t sent;
    uint8_t in_cb;             /* the event callbacks that got it are running: frees wait for their end */
};

struct sio_args {
    const cJSON *array;        /* the arguments (event name excluded) */
    const sio_packet *pkt;     /* for attachments; NULL when there are none */
};

struct sio_socket {
    sio_client *client;        /* NULL once disconnected */
    sio_namespace *nsp;
    char id[21];
    int refs;                  /* the namespace while connected, the application, calls in progress */
    uint8_t connected;
    uint8_t closing;           /* sio__socket_close is running: a second close returns at once */
    sio_socket *cnext;         /* the client's sockets */
    sio_socket *nprev, *nnext; /* the namespace's sockets */
    cJSON *auth;               /* owned; NULL when the CONNECT had none */
    struct sio_listener *listeners;
    struct sio_listener **listeners_tail;
    struct sio_pending_ack *acks;
    void *data;
    cJSON *json;               /* socket.data (sio_socket_set_json), owned */
    sio_rooms_member member;   /* the adapter's record of its rooms */
};

struct sio_client {
    sio_server *srv;
    eio_session *conn;         /* a reference, dropped when the client is freed */
    sio_decoder dec;
    sio_socket *sockets;       /* connected sockets of this client */
    struct event *connect_timer; /* until the first namespace is joined */
    char *hs;                  /* handshake copy: url\0 address\0 (name\0 value\0)* */
    size_t hs_len;
    size_t hs_nheaders;
    int64_t hs_time;
    uint8_t closed;            /* the connection is closing or closed: no more packets */
    uint8_t dead;              /* the engine session is gone: freed when busy drops to 0 */
    int busy;                  /* calls that use the client are on the stack (sio__client_hold) */
};

/* Work finished in a later loop iteration (a fetchSockets answer, a broadcast waiting for acks): listed in the
 * server so that sio_server_free can end it (cancel answers its callback with SIO_EDISCONNECTED). */
struct sio_pending_op {
    struct sio_pending_op *prev, *next;
    void (*cancel)(struct sio_pending_op *op);
};

struct sio_server {
    struct event_base *base;
    struct sio_pending_op *pending; /* see struct sio_pending_op */
    sio_options opts;
    eio_server *eio;
    sio_namespace *nsps;       /* static namespaces and dynamic children */
    sio_namespace *parents;    /* dynamic parents */
    const sio_adapter_ops *ad_ops; /* what new namespaces use (sio_memory_adapter by default) */
    void *ad_config;
    int freeing;               /* sio_server_free was called: deferred until no callback of ours runs */
    int freeing_now;           /* sio_server_free is running: calls from the callbacks it runs return at once */
    eio_static *client_files;  /* serveClient: opts.client_dir, opened at the first request for it (NULL before) */
    char client_etag[64];      /* "\"<version>\"" from client_dir/../package.json, "" when unknown */
    int client_warned;         /* the missing client_dir was logged once */
};

/* sio_client_bundle.c: serveClient, the prehandler of the Engine.IO server when opts.serve_client is set. */
int sio__serve_client(eio_request *req, void *srv);

/* A packet encoded once for a broadcast (rooms/sio_adapter.h). */
struct sio_encoded {
    eio_msg *text;                     /* the packet's text part */
    eio_msg *atts[SIO_MAX_ATTACHMENTS]; /* its attachments */
    size_t natts;
    const char *event;
    const cJSON *args;                 /* borrowed: the emit's arguments */
    const sio_attachment_ref *bufs;
    int64_t ack_id;                    /* -1: none */
    sio_ack_collector *collector;      /* when ack_id >= 0 */
    size_t bytes;                      /* the whole packet, attachments included (volatile decisions) */
};

/* sio_broadcast.c */
/* Encodes [event, ...args] for nsp (with ack id, or -1) into e; args and bufs stay borrowed by e. */
int sio__encode(sio_encoded *e, sio_namespace *nsp, const char *event, const cJSON *args,
                const sio_attachment_ref *bufs, size_t nbufs, int64_t id);
void sio__encoded_release(sio_encoded *e);
/* Work finished in a later loop iteration, cancelled (answered) when the server is freed. */
struct sio_pending_op;
void sio__pending_add(sio_server *srv, struct sio_pending_op *op, void (*cancel)(struct sio_pending_op *));
void sio__pending_remove(sio_server *srv, struct sio_pending_op *op);

/* sio_collector.c */
/* s was sent the collector's packet with ack id `id`: its answer is expected. */
int sio__collector_expect(sio_ack_collector *c, sio_socket *s, int64_t id);

/* How many of the Socket.IO layer's own timer callbacks (ack timeouts, connect timeouts) run on this thread. */
extern _Thread_local int sio__depth;

/* sio_socket.c */
sio_socket *sio__socket_new(sio_client *c, sio_namespace *nsp, cJSON *auth);
void sio__socket_close(sio_socket *s, const char *reason, int send_packet);
void sio__socket_on_packet(sio_socket *s, sio_packet *p);
int sio__send_packet(sio_client *c, const sio_packet *p, const sio_attachment_ref *bufs, size_t nbufs);
/* The data of an event packet, [event, ...args] with references to args' items (*out: free with cJSON_Delete).
 * Returns 0, SIO_EINVAL (reserved or missing name, args not an array, too many attachments) or SIO_ENOMEM. */
int sio__event_data(const char *event, const cJSON *args, size_t nbufs, cJSON **out);
/* Registers an expected acknowledgement `id` on s, answered through cb (no timer). */
int sio__socket_expect_ack(sio_socket *s, int64_t id, sio_ack_cb cb, void *ud);
/* Forgets the expected acknowledgement `id` of s without calling its callback; returns 1 when there was one. */
int sio__socket_forget_ack(sio_socket *s, int64_t id);
int sio__emit_packet(sio_socket *s, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                     size_t nbufs, int64_t id);

/* sio_broadcast.c */
int sio__namespace_adapter_init(sio_namespace *nsp); /* creates nsp's adapter with the server's ops */
void sio__namespace_adapter_free(sio_namespace *nsp);
void sio__socket_rooms_leave_all(sio_socket *s);    /* the socket leaves every room (disconnection) */
void sio__server_cancel_pending(sio_server *srv);   /* sio_server_free: ends fetches and acks still waiting */
int sio__socket_join_own_room(sio_socket *s);      /* joins the room named by its id (connection) */

/* sio_server.c */
void sio__client_hold(sio_client *c);
void sio__client_release(sio_client *c);   /* frees a dead client when the last holder leaves */
void sio__client_close_sockets(sio_client *c, const char *reason, int send_packet);
void sio__client_close(sio_client *c, const char *reason);
void sio__namespace_add(sio_namespace *nsp, sio_socket *s);
void sio__namespace_remove(sio_namespace *nsp, sio_socket *s);

#endif
