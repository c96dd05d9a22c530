/*
 * The Redis adapter's protocol, as @socket.io/redis-adapter 8.x speaks it (lib/index.ts), so that our servers,
 * Node servers and redis-emitter processes share one cluster. Local work goes to an in-memory adapter owned
 * by each instance; this file adds what crosses Redis:
 *
 * - broadcasts: msgpack [uid, {type: 2, data: [event, ...args], nsp}, {rooms, except, flags}] on
 *   <prefix>#<nsp># (or <prefix>#<nsp>#<room># when exactly one room is targeted); received ones are
 *   delivered to the local sockets they select (own uid dropped);
 * - requests on <prefix>-request#<nsp># and answers on <prefix>-response#<nsp>#: JSON text, except the
 *   broadcast with acks (type 7) and its acknowledgements (type 9), which are msgpack (binary may travel).
 *
 * What the other servers send is handled in sio_redis_incoming.c.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rooms/sio_msgpack.h"
#include "rooms/sio_redis_private.h"
#include "socketio/sio_json.h"

static const sio_adapter_ops *mem_ops = &sio_memory_adapter;

static void random_id(char out[7])
{
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char raw[21];
    eio_random_id(raw);
    for (int i = 0; i < 6; i++)
        out[i] = alnum[(unsigned char)raw[i] % 62];
    out[6] = 0;
}

static char *str_printf(const char *fmt, const char *a, const char *b, const char *c)
{
    size_t n = strlen(fmt) + strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, fmt, a, b, c);
    return s;
}

/* --- JSON helpers --- */

/* {rooms: [...], except: [...]} of a selection. */
static cJSON *opts_json(const sio_bcast *o, int with_flags)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *rooms = cJSON_AddArrayToObject(j, "rooms");
    cJSON *except = cJSON_AddArrayToObject(j, "except");
    for (size_t i = 0; o && rooms && i < o->nrooms; i++)
        cJSON_AddItemToArray(rooms, cJSON_CreateString(o->rooms[i]));
    for (size_t i = 0; o && except && i < o->nexcept; i++)
        cJSON_AddItemToArray(except, cJSON_CreateString(o->except[i]));
    if (with_flags) {
        cJSON *flags = cJSON_AddObjectToObject(j, "flags");
        if (flags && o && (o->flags & SIO_BCAST_VOLATILE))
            cJSON_AddTrueToObject(flags, "volatile");
    }
    return j;
}

void sio__redis_publish_json(struct redis_ad *ad, const char *channel, const cJSON *j)
{
    size_t len;
    char *text = j ? sio_json_print(j, &len) : NULL;
    if (text)
        sio__redis_publish(ad->r, channel, text, len);
    free(text);
}

/* --- requests of ours --- */

static void req_free(struct redis_req *q)
{
    if (q->timer)
        event_free(q->timer);
    if (q->col)
        sio_ack_collector_unref(q->col);
    cJSON_Delete(q->sockets);
    free(q->text);
    free(q);
}

static void req_unlink(struct redis_req *q)
{
    for (struct redis_req **pp = &q->ad->reqs; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            return;
        }
}

struct redis_req *sio__redis_req_find(struct redis_ad *ad, const char *id)
{
    for (struct redis_req *q = ad->reqs; q; q = q->next)
        if (strcmp(q->id, id) == 0)
            return q;
    return NULL;
}

/* A fetch is answered: the sockets in infos (local ones found again by id: they may have left meanwhile). */
void sio__redis_fetch_finish(struct redis_req *q, int err)
{
    req_unlink(q);
    if (err == SIO_EDISCONNECTED) { /* the server is going: no sockets, as the API says */
        q->cb(err, NULL, 0, q->ud);
        req_free(q);
        return;
    }
    size_t n = (size_t)cJSON_GetArraySize(q->sockets);
    sio_socket_info *infos = n ? calloc(n, sizeof(*infos)) : NULL;
    const char ***rooms = n ? calloc(n, sizeof(*rooms)) : NULL;
    sio_socket **locals = n ? calloc(n, sizeof(*locals)) : NULL;
    size_t k = 0;
    if (!n || (infos && rooms && locals)) {
        const cJSON *s;
        cJSON_ArrayForEach(s, q->sockets)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
            const cJSON *rs = cJSON_GetObjectItemCaseSensitive(s, "rooms");
            if (!cJSON_IsString(id))
                continue;
            size_t nr = cJSON_IsArray(rs) ? (size_t)cJSON_GetArraySize(rs) : 0;
            rooms[k] = calloc(nr ? nr : 1, sizeof(char *));
            if (!rooms[k])
                continue;
            size_t j = 0;
            const cJSON *r;
            if (nr)
                cJSON_ArrayForEach(r, rs) if (cJSON_IsString(r)) rooms[k][j++] = r->valuestring;
            infos[k].id = id->valuestring;
            infos[k].rooms = rooms[k];
            infos[k].nrooms = j;
            infos[k].handshake = cJSON_GetObjectItemCaseSensitive(s, "handshake");
            infos[k].data = cJSON_GetObjectItemCaseSensitive(s, "data");
            const char *own[1] = {id->valuestring};
            sio_bcast one = {.rooms = own, .nrooms = 1};
            sio_socket **v;
            long found = mem_ops->select(q->ad->mem, &one, &v);
            /* The room named by the id may hold other sockets too (or be any room, for an id from another
             * server): only the socket with that id is this one. */
            for (long i = 0; i < found; i++) {
                if (!locals[k] && strcmp(sio_socket_id(v[i]), id->valuestring) == 0)
                    locals[k] = v[i];
                else
                    sio_socket_unref(v[i]);
            }
            if (found >= 0)
                free(v);
            infos[k].local = locals[k];
            k++;
        }
        q->cb(err, infos, k, q->ud);
    } else {
        q->cb(SIO_ENOMEM, NULL, 0, q->ud);
    }
    for (size_t i = 0; i < n; i++) {
        if (locals && locals[i])
            sio_socket_unref(locals[i]);
        if (rooms)
            free(rooms[i]);
    }
    free(infos);
    free(rooms);
    free(locals);
    req_free(q);
}

static void req_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct redis_req *q = arg;
    (void)fd;
    (void)what;
    if (q->type == REQ_REMOTE_FETCH) {
        sio_adapter_enter(); /* the application's callback runs: a sio_server_free from it is deferred */
        sio__redis_fetch_finish(q, SIO_ETIMEOUT);
        sio_adapter_leave();
        return;
    }
    /* Broadcast with acks and serverSideEmit: the collector ends at its own timeout; stop listening. */
    req_unlink(q);
    req_free(q);
}

static struct redis_req *req_new(struct redis_ad *ad, int type, unsigned timeout_ms)
{
    struct redis_req *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->ad = ad;
    q->type = type;
    q->expected = -1;
    do
        random_id(q->id);
    while (sio__redis_req_find(ad, q->id));
    q->timer = evtimer_new(sio_namespace_base(ad->nsp), req_timer_cb, q);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (!q->timer || evtimer_add(q->timer, &tv) < 0) {
        req_free(q);
        return NULL;
    }
    q->next = ad->reqs;
    ad->reqs = q;
    return q;
}

/* The server count came for request `id` of `ad` (both may be gone by then: looked up again). */
struct numsub_token {
    sio_redis *r;
    struct redis_ad *ad;
    char id[7];
};

static int ad_alive(sio_redis *r, const struct redis_ad *ad)
{
    for (struct redis_ad *a = r->ads; a; a = a->next)
        if (a == ad)
            return 1;
    return 0;
}

static void req_numsub_cb(size_t n, void *arg)
{
    struct numsub_token *t = arg;
    struct redis_req *q = ad_alive(t->r, t->ad) ? sio__redis_req_find(t->ad, t->id) : NULL;
    free(t);
    if (!q)
        return;
    q->expected = (long)n - 1; /* the other servers */
    if (q->type == REQ_SERVER_SIDE_EMIT)
        sio_ack_collector_client_count(q->col, n > 1 ? n - 1 : 0);
    if (q->expected <= 0) {
        if (q->type == REQ_REMOTE_FETCH)
            sio__redis_fetch_finish(q, 0);
        return;
    }
    sio__redis_publish(q->ad->r, q->ad->req_channel, q->text, strlen(q->text));
    if (q->type == REQ_REMOTE_FETCH && q->got >= q->expected)
        sio__redis_fetch_finish(q, 0);
}

/* Asks for the server count, then publishes q->text to the other servers (if any). */
static int req_send(struct redis_req *q)
{
    struct numsub_token *t = malloc(sizeof(*t));
    if (!t)
        return SIO_ENOMEM;
    t->r = q->ad->r;
    t->ad = q->ad;
    memcpy(t->id, q->id, sizeof(t->id));
    return sio__redis_numsub(q->ad->r, q->ad->req_channel, req_numsub_cb, t);
}

/* --- the adapter's operations --- */

static void *ad_create(sio_namespace *nsp, void *config)
{
    sio_redis *r = config;
    struct redis_ad *ad = r ? calloc(1, sizeof(*ad)) : NULL;
    if (!ad)
        return NULL;
    ad->r = r;
    ad->nsp = nsp;
    random_id(ad->uid);
    const char *name = sio_namespace_name(nsp);
    ad->mem = mem_ops->create(nsp, NULL);
    ad->channel = str_printf("%s#%s#%s", r->prefix, name, "");
    ad->pattern = str_printf("%s#%s#%s", r->prefix, name, "*");
    ad->req_channel = str_printf("%s-request#%s#%s", r->prefix, name, "");
    ad->resp_channel = str_printf("%s-response#%s#%s", r->prefix, name, "");
    ad->own_resp_channel = ad->resp_channel ? str_printf("%s%s#%s", ad->resp_channel, ad->uid, "") : NULL;
    if (!ad->mem || !ad->channel || !ad->pattern || !ad->req_channel || !ad->resp_channel || !ad->own_resp_channel) {
        if (ad->mem)
            mem_ops->destroy(ad->mem);
        free(ad->channel);
        free(ad->pattern);
        free(ad->req_channel);
        free(ad->resp_channel);
        free(ad->own_resp_channel);
        free(ad);
        return NULL;
    }
    ad->next = r->ads;
    r->ads = ad;
    const char *chans[] = {ad->req_channel, ad->resp_channel, ad->own_resp_channel, NULL};
    sio__redis_subscribe(r, ad->pattern, chans);
    return ad;
}

static void ad_destroy(void *p)
{
    struct redis_ad *ad = p;
    sio_redis *r = ad->r;
    for (struct redis_ad **pp = &r->ads; *pp; pp = &(*pp)->next)
        if (*pp == ad) {
            *pp = ad->next;
            break;
        }
    r->ads_gen++;
    /* Counted by r: another server on r with this namespace keeps the shared channels subscribed. */
    const char *chans[] = {ad->req_channel, ad->resp_channel, ad->own_resp_channel, NULL};
    sio__redis_unsubscribe(r, ad->pattern, chans);
    while (ad->reqs) {
        struct redis_req *q = ad->reqs;
        if (q->type == REQ_REMOTE_FETCH) {
            sio__redis_fetch_finish(q, SIO_EDISCONNECTED); /* exactly once, as the operation promises */
        } else {
            ad->reqs = q->next;
            req_free(q);
        }
    }
    mem_ops->destroy(ad->mem);
    free(ad->channel);
    free(ad->pattern);
    free(ad->req_channel);
    free(ad->resp_channel);
    free(ad->own_resp_channel);
    free(ad);
    if (!r->ads)
        sio__redis_unused(r); /* a sio_redis_free waiting for its servers */
}

static int ad_add_all(void *p, sio_socket *s, const char *const *rooms, size_t n)
{
    return mem_ops->add_all(((struct redis_ad *)p)->mem, s, rooms, n);
}

static void ad_del(void *p, sio_socket *s, const char *room)
{
    mem_ops->del(((struct redis_ad *)p)->mem, s, room);
}

static void ad_del_all(void *p, sio_socket *s)
{
    mem_ops->del_all(((struct redis_ad *)p)->mem, s);
}

static int ad_has(void *p, const sio_socket *s, const char *room)
{
    return mem_ops->has(((struct redis_ad *)p)->mem, s, room);
}

static size_t ad_socket_rooms(void *p, const sio_socket *s, const char **out, size_t cap)
{
    return mem_ops->socket_rooms(((struct redis_ad *)p)->mem, s, out, cap);
}

static size_t ad_room_size(void *p, const char *room)
{
    return mem_ops->room_size(((struct redis_ad *)p)->mem, room);
}

static size_t ad_rooms(void *p, const char **out, size_t cap)
{
    return mem_ops->rooms(((struct redis_ad *)p)->mem, out, cap);
}

static long ad_select(void *p, const sio_bcast *opts, sio_socket ***out)
{
    return mem_ops->select(((struct redis_ad *)p)->mem, opts, out);
}

/* {type: 2, data: [event, ...args], nsp} written as msgpack, binary arguments as bin. */
static int write_packet(sio_mp_buf *b, struct redis_ad *ad, const sio_encoded *pkt)
{
    const sio_attachment_ref *bufs;
    size_t nbufs = sio_encoded_attachments(pkt, &bufs);
    const cJSON *args = sio_encoded_args(pkt);
    size_t nargs = args ? (size_t)cJSON_GetArraySize(args) : 0;
    const char *nsp = sio_namespace_name(ad->nsp);
    const char *event = sio_encoded_event(pkt);
    int rc = sio_mp_map(b, 3);
    rc = rc ? rc : sio_mp_str(b, "type", 4);
    rc = rc ? rc : sio_mp_int(b, 2);
    rc = rc ? rc : sio_mp_str(b, "data", 4);
    rc = rc ? rc : sio_mp_array(b, nargs + 1);
    rc = rc ? rc : sio_mp_str(b, event, strlen(event));
    const cJSON *it;
    if (args)
        cJSON_ArrayForEach(it, args) rc = rc ? rc : sio_mp_json(b, it, bufs, nbufs);
    rc = rc ? rc : sio_mp_str(b, "nsp", 3);
    rc = rc ? rc : sio_mp_str(b, nsp, strlen(nsp));
    return rc ? SIO_ENOMEM : 0;
}

static int ad_broadcast(void *p, const sio_encoded *pkt, const sio_bcast *opts)
{
    struct redis_ad *ad = p;
    if (!(opts && (opts->flags & SIO_BCAST_LOCAL))) {
        sio_mp_buf b = SIO_MP_BUF_INIT;
        cJSON *o = opts_json(opts, 1);
        int rc = o ? sio_mp_array(&b, 3) : SIO_MP_ENOMEM;
        rc = rc ? rc : sio_mp_str(&b, ad->uid, strlen(ad->uid));
        rc = rc ? rc : write_packet(&b, ad, pkt);
        rc = rc ? rc : sio_mp_json(&b, o, NULL, 0);
        cJSON_Delete(o);
        if (rc == 0) {
            if (opts && opts->nrooms == 1) {
                char *ch = str_printf("%s%s%s", ad->channel, opts->rooms[0], "#");
                if (ch)
                    sio__redis_publish(ad->r, ch, b.data, b.len);
                free(ch);
            } else {
                sio__redis_publish(ad->r, ad->channel, b.data, b.len);
            }
        }
        sio_mp_buf_cleanup(&b);
    }
    return mem_ops->broadcast(ad->mem, pkt, opts);
}

static int ad_broadcast_with_ack(void *p, const sio_encoded *pkt, const sio_bcast *opts)
{
    struct redis_ad *ad = p;
    sio_ack_collector *col = sio_encoded_collector(pkt);
    if (col && !(opts && (opts->flags & SIO_BCAST_LOCAL))) {
        unsigned timeout = sio_ack_collector_timeout(col);
        struct redis_req *q = req_new(ad, REQ_BROADCAST, timeout);
        cJSON *o = opts_json(opts, 1);
        cJSON *flags = cJSON_GetObjectItemCaseSensitive(o, "flags");
        if (flags)
            cJSON_AddNumberToObject(flags, "timeout", timeout);
        sio_mp_buf b = SIO_MP_BUF_INIT;
        int rc = q && o && flags ? sio_mp_map(&b, 5) : SIO_MP_ENOMEM;
        rc = rc ? rc : sio_mp_str(&b, "uid", 3);
        rc = rc ? rc : sio_mp_str(&b, ad->uid, strlen(ad->uid));
        rc = rc ? rc : sio_mp_str(&b, "requestId", 9);
        rc = rc ? rc : sio_mp_str(&b, q->id, strlen(q->id));
        rc = rc ? rc : sio_mp_str(&b, "type", 4);
        rc = rc ? rc : sio_mp_int(&b, REQ_BROADCAST);
        rc = rc ? rc : sio_mp_str(&b, "packet", 6);
        rc = rc ? rc : write_packet(&b, ad, pkt);
        rc = rc ? rc : sio_mp_str(&b, "opts", 4);
        rc = rc ? rc : sio_mp_json(&b, o, NULL, 0);
        cJSON_Delete(o);
        if (rc == 0) {
            sio_ack_collector_ref(col);
            q->col = col;
            sio__redis_publish(ad->r, ad->req_channel, b.data, b.len);
        } else if (q) {
            req_unlink(q);
            req_free(q);
        }
        sio_mp_buf_cleanup(&b);
        if (rc)
            return SIO_ENOMEM;
    }
    return mem_ops->broadcast_with_ack(ad->mem, pkt, opts);
}

static void ad_server_count(void *p, void (*cb)(size_t n, void *arg), void *arg)
{
    struct redis_ad *ad = p;
    sio__redis_numsub(ad->r, ad->req_channel, cb, arg);
}

static int ad_server_count_op(void *p, void (*cb)(size_t n, void *arg), void *arg)
{
    ad_server_count(p, cb, arg);
    return 0;
}

/* The local sockets of a fetch as the reference sends them: {id, handshake, rooms, data} ({} for no data). */
void sio__redis_fetch_local_cb(int err, const sio_socket_info *infos, size_t n, void *ud)
{
    cJSON *out = ud;
    for (size_t i = 0; err == 0 && i < n; i++) {
        cJSON *s = cJSON_CreateObject();
        if (!s)
            return;
        cJSON_AddItemToArray(out, s);
        cJSON_AddStringToObject(s, "id", infos[i].id);
        cJSON_AddItemToObject(s, "handshake", infos[i].handshake ? cJSON_Duplicate(infos[i].handshake, 1)
                                                                 : cJSON_CreateObject());
        cJSON *rooms = cJSON_AddArrayToObject(s, "rooms");
        for (size_t k = 0; rooms && k < infos[i].nrooms; k++)
            cJSON_AddItemToArray(rooms, cJSON_CreateString(infos[i].rooms[k]));
        cJSON_AddItemToObject(s, "data", infos[i].data ? cJSON_Duplicate(infos[i].data, 1) : cJSON_CreateObject());
    }
}

static int ad_fetch_sockets(void *p, const sio_bcast *opts, sio_fetch_cb cb, void *user_data)
{
    struct redis_ad *ad = p;
    if (opts && (opts->flags & SIO_BCAST_LOCAL))
        return mem_ops->fetch_sockets(ad->mem, opts, cb, user_data);
    struct redis_req *q = req_new(ad, REQ_REMOTE_FETCH, ad->r->request_timeout_ms);
    if (!q)
        return SIO_ENOMEM;
    q->cb = cb;
    q->ud = user_data;
    q->sockets = cJSON_CreateArray();
    cJSON *req = cJSON_CreateObject();
    if (q->sockets && req) {
        cJSON_AddStringToObject(req, "uid", ad->uid);
        cJSON_AddStringToObject(req, "requestId", q->id);
        cJSON_AddNumberToObject(req, "type", REQ_REMOTE_FETCH);
        cJSON_AddItemToObject(req, "opts", opts_json(opts, 0));
        q->text = sio_json_print(req, NULL);
    }
    cJSON_Delete(req);
    int rc = q->text ? mem_ops->fetch_sockets(ad->mem, opts, sio__redis_fetch_local_cb, q->sockets) : SIO_ENOMEM;
    if (rc == 0)
        rc = req_send(q);
    if (rc < 0) {
        req_unlink(q);
        req_free(q);
    }
    return rc;
}

/* socketsJoin, socketsLeave, disconnectSockets: here at once, and a request to the others (which Node servers
 * and emitters send without applying locally first; ours ignore their own request). */
static int ad_remote_op(struct redis_ad *ad, int type, const sio_bcast *opts, const char *const *rooms, size_t n,
                        int close)
{
    if (opts && (opts->flags & SIO_BCAST_LOCAL))
        return 0;
    cJSON *req = cJSON_CreateObject();
    if (!req)
        return SIO_ENOMEM;
    cJSON_AddStringToObject(req, "uid", ad->uid);
    cJSON_AddNumberToObject(req, "type", type);
    cJSON_AddItemToObject(req, "opts", opts_json(opts, 0));
    if (type == REQ_REMOTE_DISCONNECT) {
        cJSON_AddBoolToObject(req, "close", close);
    } else {
        cJSON *arr = cJSON_AddArrayToObject(req, "rooms");
        for (size_t i = 0; arr && i < n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(rooms[i]));
    }
    sio__redis_publish_json(ad, ad->req_channel, req);
    cJSON_Delete(req);
    return 0;
}

static int ad_add_sockets(void *p, const sio_bcast *opts, const char *const *rooms, size_t n)
{
    struct redis_ad *ad = p;
    int rc = ad_remote_op(ad, REQ_REMOTE_JOIN, opts, rooms, n, 0);
    return rc ? rc : mem_ops->add_sockets(ad->mem, opts, rooms, n);
}

static int ad_del_sockets(void *p, const sio_bcast *opts, const char *const *rooms, size_t n)
{
    struct redis_ad *ad = p;
    int rc = ad_remote_op(ad, REQ_REMOTE_LEAVE, opts, rooms, n, 0);
    return rc ? rc : mem_ops->del_sockets(ad->mem, opts, rooms, n);
}

static int ad_disconnect_sockets(void *p, const sio_bcast *opts, int close)
{
    struct redis_ad *ad = p;
    int rc = ad_remote_op(ad, REQ_REMOTE_DISCONNECT, opts, NULL, 0, close);
    return rc ? rc : mem_ops->disconnect_sockets(ad->mem, opts, close);
}

static int ad_server_side_emit(void *p, const char *event, const cJSON *args, sio_ack_collector *col)
{
    struct redis_ad *ad = p;
    cJSON *req = cJSON_CreateObject();
    cJSON *data = cJSON_CreateArray();
    if (!req || !data) {
        cJSON_Delete(req);
        cJSON_Delete(data);
        return SIO_ENOMEM;
    }
    cJSON_AddStringToObject(req, "uid", ad->uid);
    cJSON_AddItemToArray(data, cJSON_CreateString(event));
    const cJSON *it;
    if (args)
        cJSON_ArrayForEach(it, args) cJSON_AddItemToArray(data, cJSON_Duplicate(it, 1));
    if (!col) {
        cJSON_AddNumberToObject(req, "type", REQ_SERVER_SIDE_EMIT);
        cJSON_AddItemToObject(req, "data", data);
        sio__redis_publish_json(ad, ad->req_channel, req);
        cJSON_Delete(req);
        return 0;
    }
    struct redis_req *q = req_new(ad, REQ_SERVER_SIDE_EMIT, sio_ack_collector_timeout(col));
    if (q) {
        cJSON_AddStringToObject(req, "requestId", q->id);
        cJSON_AddNumberToObject(req, "type", REQ_SERVER_SIDE_EMIT);
        cJSON_AddItemToObject(req, "data", data);
        q->text = sio_json_print(req, NULL);
    } else {
        cJSON_Delete(data);
    }
    cJSON_Delete(req);
    if (!q || !q->text) {
        if (q) {
            req_unlink(q);
            req_free(q);
        }
        return SIO_ENOMEM;
    }
    sio_ack_collector_ref(col);
    q->col = col;
    return req_send(q);
}

const sio_adapter_ops sio_redis_adapter = {
    .name = "redis",
    .create = ad_create,
    .destroy = ad_destroy,
    .add_all = ad_add_all,
    .del = ad_del,
    .del_all = ad_del_all,
    .has = ad_has,
    .socket_rooms = ad_socket_rooms,
    .room_size = ad_room_size,
    .rooms = ad_rooms,
    .select = ad_select,
    .broadcast = ad_broadcast,
    .broadcast_with_ack = ad_broadcast_with_ack,
    .server_count = ad_server_count_op,
    .fetch_sockets = ad_fetch_sockets,
    .add_sockets = ad_add_sockets,
    .del_sockets = ad_del_sockets,
    .disconnect_sockets = ad_disconnect_sockets,
    .server_side_emit = ad_server_side_emit,
};
