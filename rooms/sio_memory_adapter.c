/*
 * The in-memory adapter: the rooms of this server's sockets in a room index (sio_rooms.h), broadcasts
 * delivered to the sockets a selection snapshot gives. Semantics of socket.io-adapter's Adapter.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "rooms/sio_adapter.h"

typedef struct mem_adapter {
    sio_namespace *nsp;
    sio_rooms *rooms;
} mem_adapter;

static void room_hook(int what, const char *room, sio_rooms_member *m, void *ud)
{
    mem_adapter *a = ud;
    static const int kinds[] = {[SIO_ROOMS_CREATE] = SIO_ROOM_CREATE, [SIO_ROOMS_DELETE] = SIO_ROOM_DELETE,
                                [SIO_ROOMS_JOIN] = SIO_ROOM_JOIN, [SIO_ROOMS_LEAVE] = SIO_ROOM_LEAVE};
    sio_adapter_room_event(a->nsp, kinds[what], room, m ? sio_adapter_socket(m) : NULL);
}

static void *mem_create(sio_namespace *nsp, void *config)
{
    (void)config;
    mem_adapter *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->nsp = nsp;
    a->rooms = sio_rooms_new(room_hook, a);
    if (!a->rooms) {
        free(a);
        return NULL;
    }
    return a;
}

static void mem_destroy(void *ad)
{
    mem_adapter *a = ad;
    if (!a)
        return;
    sio_rooms_free(a->rooms);
    free(a);
}

static int mem_add_all(void *ad, sio_socket *s, const char *const *rooms, size_t n)
{
    mem_adapter *a = ad;
    for (size_t i = 0; i < n; i++)
        if (sio_rooms_add(a->rooms, sio_adapter_member(s), rooms[i]) < 0)
            return SIO_ENOMEM;
    return 0;
}

static void mem_del(void *ad, sio_socket *s, const char *room)
{
    mem_adapter *a = ad;
    sio_rooms_del(a->rooms, sio_adapter_member(s), room);
}

static void mem_del_all(void *ad, sio_socket *s)
{
    mem_adapter *a = ad;
    sio_rooms_del_all(a->rooms, sio_adapter_member(s));
}

static int mem_has(void *ad, const sio_socket *s, const char *room)
{
    mem_adapter *a = ad;
    return sio_rooms_has(a->rooms, sio_adapter_member((sio_socket *)s), room);
}

static size_t mem_socket_rooms(void *ad, const sio_socket *s, const char **out, size_t cap)
{
    (void)ad;
    return sio_rooms_of(sio_adapter_member((sio_socket *)s), out, cap);
}

static size_t mem_room_size(void *ad, const char *room)
{
    mem_adapter *a = ad;
    return sio_rooms_size(a->rooms, room);
}

static size_t mem_rooms(void *ad, const char **out, size_t cap)
{
    mem_adapter *a = ad;
    return sio_rooms_list(a->rooms, out, cap);
}

static long mem_select(void *ad, const sio_bcast *opts, sio_socket ***out)
{
    mem_adapter *a = ad;
    sio_rooms_member **m = NULL;
    long n = sio_rooms_select(a->rooms, opts ? opts->rooms : NULL, opts ? opts->nrooms : 0,
                              opts ? opts->except : NULL, opts ? opts->nexcept : 0, &m);
    *out = NULL;
    if (n <= 0)
        return n < 0 ? SIO_ENOMEM : 0;
    /* The same array, reused for the sockets (a pointer for a pointer). */
    sio_socket **v = (sio_socket **)(void *)m;
    for (long i = 0; i < n; i++) {
        v[i] = sio_adapter_socket(m[i]);
        sio_socket_ref(v[i]);
    }
    *out = v;
    return n;
}

static void unref_all(sio_socket **v, long n)
{
    for (long i = 0; i < n; i++)
        sio_socket_unref(v[i]);
    free(v);
}

static int mem_broadcast(void *ad, const sio_encoded *pkt, const sio_bcast *opts)
{
    sio_socket **v;
    long n = mem_select(ad, opts, &v);
    if (n < 0)
        return (int)n;
    int rc = 0;
    unsigned flags = opts ? opts->flags : 0;
    for (long i = 0; i < n; i++)
        if (sio_adapter_deliver(v[i], pkt, flags) == SIO_ENOMEM)
            rc = SIO_ENOMEM;
    unref_all(v, n);
    return rc;
}

static int mem_broadcast_with_ack(void *ad, const sio_encoded *pkt, const sio_bcast *opts)
{
    sio_socket **v;
    long n = mem_select(ad, opts, &v);
    if (n < 0)
        return (int)n;
    size_t count = 0;
    int rc = 0;
    unsigned flags = opts ? opts->flags : 0;
    for (long i = 0; i < n; i++) {
        int r = sio_adapter_deliver(v[i], pkt, flags);
        if (r == 1)
            count++;
        else if (r == SIO_ENOMEM)
            rc = SIO_ENOMEM;
    }
    unref_all(v, n);
    sio_ack_collector_client_count(sio_encoded_collector(pkt), count);
    return rc;
}

static int mem_server_count(void *ad, void (*cb)(size_t n, void *arg), void *arg)
{
    (void)ad;
    cb(1, arg);
    return 0;
}

/* fetchSockets: copies (room names, data, handshake), so that the callback may change the sockets freely. */
static int mem_fetch_sockets(void *ad, const sio_bcast *opts, sio_fetch_cb cb, void *user_data)
{
    sio_socket **v;
    long n = mem_select(ad, opts, &v);
    if (n < 0)
        return (int)n;
    sio_socket_info *infos = n ? calloc((size_t)n, sizeof(*infos)) : NULL;
    char ***rooms = n ? calloc((size_t)n, sizeof(*rooms)) : NULL;
    if (n && (!infos || !rooms)) {
        free(infos);
        free(rooms);
        unref_all(v, n);
        return SIO_ENOMEM;
    }
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        sio_socket *s = v[i];
        size_t nr = mem_socket_rooms(ad, s, NULL, 0);
        const char **names = malloc((nr ? nr : 1) * sizeof(char *));
        rooms[i] = calloc(nr ? nr : 1, sizeof(char *));
        infos[i].handshake = sio_socket_handshake_json(s);
        const cJSON *data = sio_socket_json(s);
        infos[i].data = data ? cJSON_Duplicate(data, 1) : NULL;
        if (!names || !rooms[i] || !infos[i].handshake || (data && !infos[i].data)) {
            free(names);
            rc = SIO_ENOMEM;
            break;
        }
        mem_socket_rooms(ad, s, names, nr);
        infos[i].nrooms = nr;
        for (size_t k = 0; k < nr; k++)
            if (!(rooms[i][k] = strdup(names[k])))
                rc = SIO_ENOMEM;
        free(names);
        infos[i].rooms = (const char *const *)rooms[i];
        infos[i].id = sio_socket_id(s);
        infos[i].local = s;
    }
    if (rc == 0)
        cb(0, infos, (size_t)n, user_data);
    for (long i = 0; i < n; i++) {
        for (size_t k = 0; rooms[i] && k < infos[i].nrooms; k++)
            free(rooms[i][k]);
        free(rooms[i]);
        cJSON_Delete((cJSON *)infos[i].handshake);
        cJSON_Delete((cJSON *)infos[i].data);
    }
    free(rooms);
    free(infos);
    unref_all(v, n);
    return rc;
}

static int mem_add_sockets(void *ad, const sio_bcast *opts, const char *const *rooms, size_t nrooms)
{
    sio_socket **v;
    long n = mem_select(ad, opts, &v);
    if (n < 0)
        return (int)n;
    int rc = 0;
    for (long i = 0; i < n; i++)
        for (size_t j = 0; j < nrooms; j++)
            if (sio_socket_join(v[i], rooms[j]) == SIO_ENOMEM)
                rc = SIO_ENOMEM;
    unref_all(v, n);
    return rc;
}

static int mem_del_sockets(void *ad, const sio_bcast *opts, const char *const *rooms, size_t nrooms)
{
    sio_socket **v;
    long n = mem_select(ad, opts, &v);
    if (n < 0)
        return (int)n;
    for (long i = 0; i < n; i++)
        for (size_t j = 0; j < nrooms; j++)
            sio_socket_leave(v[i], rooms[j]);
    unref_all(v, n);
    return 0;
}

static int mem_disconnect_sockets(void *ad, const sio_bcast *opts, int close)
{
    sio_socket **v;
    long n = mem_select(ad, opts, &v);
    if (n < 0)
        return (int)n;
    for (long i = 0; i < n; i++)
        sio_socket_disconnect(v[i], close);
    unref_all(v, n);
    return 0;
}

const sio_adapter_ops sio_memory_adapter = {
    .name = "memory",
    .create = mem_create,
    .destroy = mem_destroy,
    .add_all = mem_add_all,
    .del = mem_del,
    .del_all = mem_del_all,
    .has = mem_has,
    .socket_rooms = mem_socket_rooms,
    .room_size = mem_room_size,
    .rooms = mem_rooms,
    .select = mem_select,
    .broadcast = mem_broadcast,
    .broadcast_with_ack = mem_broadcast_with_ack,
    .server_count = mem_server_count,
    .fetch_sockets = mem_fetch_sockets,
    .add_sockets = mem_add_sockets,
    .del_sockets = mem_del_sockets,
    .disconnect_sockets = mem_disconnect_sockets,
};
