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
    /* The same for a packet asking for acknowledgements: client_count is called once per server with the
     * number of clients the packet was sent to (this server's count before returning). */
    int (*broadcast_with_ack)(void *ad, const sio_encoded *pkt, const sio_bcast *opts,
                              void (*client_count)(size_t n, void *arg), void *arg);
    /* How many servers take part (1 without a cluster); cb may run before the call returns. */
    int (*server_count)(void *ad, void (*cb)(size_t n, void *arg), void *arg);

    /* Server-wide operations on the selected sockets. */
    int (*fetch_sockets)(void *ad, const sio_bcast *opts, sio_fetch_cb cb, void *user_data);
    int (*add_sockets)(void *ad, const sio_bcast *opts, const char *const *rooms, size_t n);
    int (*del_sockets)(void *ad, const sio_bcast *opts, const char *const *rooms, size_t n);
    int (*disconnect_sockets)(void *ad, const sio_bcast *opts, int close);
} sio_adapter_ops;

/* The in-memory adapter (the default). */
extern const sio_adapter_ops sio_memory_adapter;

/* Every namespace of srv uses ops (created with config) from now on. Namespaces that already have sockets
 * keep their adapter: call it before listening. Returns 0, SIO_EINVAL (ops without create), SIO_ENOMEM. */
int sio_server_set_adapter(sio_server *srv, const sio_adapter_ops *ops, void *config);

#endif
