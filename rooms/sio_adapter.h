/*
 * sio_adapter.h: the adapter interface. Each namespace has one adapter instance: it keeps the rooms of the
 * namespace's sockets and reaches the sockets an operation selects (sio_bcast: rooms, except, flags). The
 * Socket.IO layer (socketio/) uses rooms and broadcasts only through this table of functions, so another
 * adapter (a cluster one, say) plugs in with sio_server_set_adapter() without touching socketio/.
 *
 * The default is the in-memory adapter (sio_memory_adapter, rooms/sio_memory_adapter.c): rooms of this
 * server's sockets only, with the reference's semantics (socket.io-adapter's Adapter). A cluster adapter
 * typically delegates local work to it (call sio_memory_adapter's functions on an instance it created with
 * sio_memory_adapter.create) and adds the messages to and from the other servers.
 *
 * Rules for an adapter:
 * - every call comes from the event_base's thread; none may block;
 * - `opts` and everything it points to are borrowed for the call: copy what is kept;
 * - local delivery goes through sio_adapter_deliver(); the packet is encoded once by the caller and shared;
 * - a snapshot of the selected sockets must be taken before delivering: delivering runs the application's
 *   outgoing listeners, which may join, leave or disconnect sockets;
 * - lifecycle: report create-room, join-room, leave-room and delete-room with sio_adapter_room_event(), in
 *   the reference's order (create then join; leave then delete when the room is left empty);
 * - asynchronous results (fetch_sockets, server_count) may be given before the call returns; the Socket.IO
 *   layer defers what the application sees.
 */
#ifndef SIO_ADAPTER_H
#define SIO_ADAPTER_H

#include "rooms/sio_rooms.h"
#include "socketio/socketio.h"

/* A packet encoded once (Engine.IO messages shared by reference count), built by the Socket.IO layer. */
typedef struct sio_encoded sio_encoded;

/* What an adapter may ask of the Socket.IO layer. */

/* Sends the encoded packet to a socket of this server (volatile per flags: SIO_BCAST_VOLATILE), registering
 * the socket's expected acknowledgement when the packet asks for one, and runs the socket's outgoing
 * listeners. Returns 1 when sent, 0 when skipped (disconnected, volatile and busy), SIO_ENOMEM. */
int sio_adapter_deliver(sio_socket *s, const sio_encoded *pkt, unsigned flags);
/* The packet's event name, arguments (borrowed, the event name excluded) and attachments: what a cluster
 * adapter sends to other servers. */
const char *sio_encoded_event(const sio_encoded *pkt);
const cJSON *sio_encoded_args(const sio_encoded *pkt);
size_t sio_encoded_attachments(const sio_encoded *pkt, const sio_attachment_ref **bufs);
int64_t sio_encoded_ack_id(const sio_encoded *pkt); /* -1 when no acknowledgement is asked for */
/* A packet of another server's broadcast, encoded here to be delivered to this server's sockets: args (an
 * array, may be NULL) and bufs stay borrowed until sio_encoded_free. NULL on error (reserved event name, ...). */
sio_encoded *sio_encoded_new(sio_namespace *nsp, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                             size_t nbufs);
void sio_encoded_free(sio_encoded *pkt);

/*
 * Broadcasts with acknowledgements. The packet of sio_broadcast_with_ack carries a collector: the adapter
 * reports how many clients each server reached (this one's before broadcast_with_ack returns; the local
 * answers arrive by themselves) and hands in the answers of other servers' clients. A cluster adapter keeps a
 * reference while it waits for remote answers (at most sio_ack_collector_timeout ms); calls on a finished
 * collector are ignored.
 */
typedef struct sio_ack_collector sio_ack_collector;
sio_ack_collector *sio_encoded_collector(const sio_encoded *pkt); /* NULL when the packet asks for no ack */
void sio_ack_collector_client_count(sio_ack_collector *c, size_t n); /* once per server */
void sio_ack_collector_response(sio_ack_collector *c, const cJSON *response); /* a remote answer (copied) */
unsigned sio_ack_collector_timeout(const sio_ack_collector *c);
void sio_ack_collector_ref(sio_ack_collector *c);
void sio_ack_collector_unref(sio_ack_collector *c);

/* Another server's broadcast with acks, delivered here: the packet asks each client for an acknowledgement;
 * count(n) is called once, by the local broadcast_with_ack, with the number of clients reached; answer(args)
 * for each client's answer within timeout_ms; then end() once (the timeout passed, or the server is freed). */
typedef struct sio_relay_ops {
    void (*count)(size_t n, void *arg);
    void (*answer)(const sio_args *args, void *arg);
    void (*end)(void *arg);
} sio_relay_ops;
/* The packet to hand to the local broadcast_with_ack (whose client count goes to ops->count). args and bufs
 * borrowed until sio_encoded_free; ops and arg kept until ops->end. NULL on error (ops->end not called). */
sio_encoded *sio_encoded_new_relay(sio_namespace *nsp, const char *event, const cJSON *args,
                                   const sio_attachment_ref *bufs, size_t nbufs, unsigned timeout_ms,
                                   const sio_relay_ops *ops, void *arg);

/* serverSideEmit received from another server: runs the namespace's sio_namespace_on_server_side callback.
 * With reply non-NULL the sender waits for an answer: reply(response, arg) is called when the application
 * answers (once, before this returns; response borrowed), and not at all when it does not (as the reference:
 * the sender then times out). */
void sio_adapter_server_side_event(sio_namespace *nsp, const char *event, const cJSON *args,
                                   void (*reply)(const cJSON *response, void *arg), void *arg);

/* Around an adapter's own entry points from the event loop (its timers, its connections' callbacks) that may
 * run application code: a sio_server_free made there is then deferred to a fresh loop iteration, as from the
 * library's own callbacks. Nest freely; always paired. */
void sio_adapter_enter(void);
void sio_adapter_leave(void);

/* The namespace's event_base (for an adapter's timers). */
struct event_base *sio_namespace_base(const sio_namespace *nsp);

/* The room member embedded in each socket, and back. */
sio_rooms_member *sio_adapter_member(sio_socket *s);
sio_socket *sio_adapter_socket(sio_rooms_member *m);
/* Reports a room lifecycle event (SIO_ROOM_*) to the namespace's sio_namespace_on_room callbacks. s is NULL
 * for create and delete. */
void sio_adapter_room_event(sio_namespace *nsp, int what, const char *room, sio_socket *s);
/* socket.handshake as JSON (a new object, the caller's): {headers, time, address, xdomain, secure, issued,
 * url, query, auth}. */
cJSON *sio_socket_handshake_json(const sio_socket *s);

/* The table. `ad` is what create returned. Functions returning int give 0 or a negative SIO_E* code. */
typedef struct sio_adapter_ops {
    const char *name;
    /* One instance per namespace; config is what sio_server_set_adapter was given. NULL on failure. */
    void *(*create)(sio_namespace *nsp, void *config);
    void (*destroy)(void *ad);

    /* Rooms of this server's sockets. */
    int (*add_all)(void *ad, sio_socket *s, const char *const *rooms, size_t n);
    void (*del)(void *ad, sio_socket *s, const char *room);
    void (*del_all)(void *ad, sio_socket *s);
    int (*has)(void *ad, const sio_socket *s, const char *room);
    size_t (*socket_rooms)(void *ad, const sio_socket *s, const char **out, size_t cap);
    size_t (*room_size)(void *ad, const char *room);
    /* The rooms of this server's sockets: up to cap names in out (valid until the rooms change), how many. */
    size_t (*rooms)(void *ad, const char **out, size_t cap);
    /* This server's sockets selected by opts (NULL: all), each once, referenced (sio_socket_ref): the caller
     * unrefs each and frees the array. Returns the count or SIO_ENOMEM. */
    long (*select)(void *ad, const sio_bcast *opts, sio_socket ***out);

    /* Broadcasts: deliver pkt to the selected sockets (and, for a cluster, have the other servers do the
     * same unless SIO_BCAST_LOCAL). */
    int (*broadcast)(void *ad, const sio_encoded *pkt, const sio_bcast *opts);
    /* The same for a packet asking for acknowledgements (sio_encoded_collector(pkt)): report this server's
     * client count with sio_ack_collector_client_count before returning, and the other servers' counts and
     * answers as they come. */
    int (*broadcast_with_ack)(void *ad, const sio_encoded *pkt, const sio_bcast *opts);
    /* How many servers take part (1 without a cluster): cb exactly once, maybe before the call returns, never
     * when it returns an error. */
    int (*server_count)(void *ad, void (*cb)(size_t n, void *arg), void *arg);

    /* Server-wide operations on the selected sockets. */
    int (*fetch_sockets)(void *ad, const sio_bcast *opts, sio_fetch_cb cb, void *user_data);
    int (*add_sockets)(void *ad, const sio_bcast *opts, const char *const *rooms, size_t n);
    int (*del_sockets)(void *ad, const sio_bcast *opts, const char *const *rooms, size_t n);
    int (*disconnect_sockets)(void *ad, const sio_bcast *opts, int close);

    /* serverSideEmit to the other servers (may be NULL: nothing to do without a cluster). With c, report
     * once with sio_ack_collector_client_count how many answers to expect (the other servers' count), then
     * each answer with sio_ack_collector_response. */
    int (*server_side_emit)(void *ad, const char *event, const cJSON *args, sio_ack_collector *c);
} sio_adapter_ops;

/* The in-memory adapter (the default). */
extern const sio_adapter_ops sio_memory_adapter;

/* Every namespace of srv uses ops (created with config) from now on. Namespaces that already have sockets
 * keep their adapter: call it before listening. Returns 0, SIO_EINVAL (ops without create), SIO_ENOMEM. */
int sio_server_set_adapter(sio_server *srv, const sio_adapter_ops *ops, void *config);

#endif
