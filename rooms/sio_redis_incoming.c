/*
 * What the other servers of a Redis cluster (and redis-emitter processes) send: broadcasts to deliver here,
 * requests to answer (fetchSockets, socketsJoin/Leave, disconnectSockets, serverSideEmit, broadcasts with acks
 * to relay), and the answers to our own requests. The formats are @socket.io/redis-adapter 8.x's
 * (docs/cluster.md). Everything received is untrusted: a message that does not decode or does not have the
 * expected shape is dropped (the reference's "ignoring malformed request").
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rooms/sio_msgpack.h"
#include "rooms/sio_redis_private.h"
#include "socketio/sio_json.h"
#include "socketio/sio_parser.h"

/* What a received packet may carry: what a packet of ours may (the reference's maxAttachments default). */
#define MAX_REMOTE_ATTACHMENTS SIO_MAX_ATTACHMENTS
/* Other servers' broadcasts with acks relayed at once, and for how long at most (ms). */
#define MAX_RELAYS 10000
#define MAX_RELAY_MS 60000

static const sio_adapter_ops *mem_ops = &sio_memory_adapter;

/* A selection read from a message: room names are strings (numbers, which Node rooms may be, as their text). */
struct sel {
    sio_bcast b;
    char **names;
    size_t n;
};

static int sel_names(struct sel *s, const cJSON *arr, const char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!arr)
        return 0;
    if (!cJSON_IsArray(arr))
        return -1;
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (!n)
        return 0;
    const char **v = calloc(n, sizeof(*v));
    char **grown = realloc(s->names, (s->n + n) * sizeof(*grown));
    if (!v || !grown) {
        free(v);
        if (grown)
            s->names = grown;
        return -1;
    }
    s->names = grown;
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        char *name = NULL;
        if (cJSON_IsString(it))
            name = strdup(it->valuestring);
        else if (cJSON_IsNumber(it))
            name = sio_json_print(it, NULL);
        if (!name) {
            free(v);
            return -1;
        }
        s->names[s->n++] = name;
        v[i++] = name;
    }
    *out = v;
    *count = n;
    return 0;
}

static void sel_cleanup(struct sel *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    free((void *)s->b.rooms);
    free((void *)s->b.except);
}

static int sel_parse(struct sel *s, const cJSON *opts)
{
    memset(s, 0, sizeof(*s));
    if (opts && !cJSON_IsObject(opts))
        return -1;
    const char **rooms, **except;
    if (sel_names(s, cJSON_GetObjectItemCaseSensitive(opts, "rooms"), &rooms, &s->b.nrooms) < 0)
        return -1;
    s->b.rooms = rooms;
    if (sel_names(s, cJSON_GetObjectItemCaseSensitive(opts, "except"), &except, &s->b.nexcept) < 0)
        return -1;
    s->b.except = except;
    const cJSON *flags = cJSON_GetObjectItemCaseSensitive(opts, "flags");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(flags, "volatile")))
        s->b.flags |= SIO_BCAST_VOLATILE;
    return 0;
}

/* Placeholders in v that stand for attachments 0..n-1, each once (what the decoder makes of bin values). */
static long count_placeholders(const cJSON *v, size_t n, unsigned char *seen)
{
    if (cJSON_IsObject(v)) {
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(v, "_placeholder");
        const cJSON *num = cJSON_GetObjectItemCaseSensitive(v, "num");
        if (cJSON_IsTrue(ph) && cJSON_IsNumber(num)) {
            double d = num->valuedouble;
            if (d < 0 || d >= (double)n || seen[(size_t)d])
                return -1;
            seen[(size_t)d] = 1;
            return 1;
        }
    }
    long total = 0;
    const cJSON *it;
    if (cJSON_IsArray(v) || cJSON_IsObject(v))
        cJSON_ArrayForEach(it, v)
        {
            long c = count_placeholders(it, n, seen);
            if (c < 0)
                return -1;
            total += c;
        }
    return total;
}

/* The event and arguments of a packet {type: 2 or 5, data: [event, ...args], nsp}: args detached into a new
 * array (the caller's). Returns the event name (borrowed from packet) or NULL. */
static const char *packet_event(struct redis_ad *ad, cJSON *packet, size_t natts, cJSON **args)
{
    *args = NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(packet, "type");
    const cJSON *nsp = cJSON_GetObjectItemCaseSensitive(packet, "nsp");
    cJSON *data = cJSON_GetObjectItemCaseSensitive(packet, "data");
    if (!cJSON_IsNumber(type) || (type->valueint != 2 && type->valueint != 5) || !cJSON_IsArray(data))
        return NULL;
    if (nsp ? !cJSON_IsString(nsp) || strcmp(nsp->valuestring, sio_namespace_name(ad->nsp)) != 0
            : strcmp(sio_namespace_name(ad->nsp), "/") != 0)
        return NULL;
    cJSON *event = cJSON_GetArrayItem(data, 0);
    if (!cJSON_IsString(event))
        return NULL;
    unsigned char seen[MAX_REMOTE_ATTACHMENTS] = {0};
    if (count_placeholders(data, natts, seen) != (long)natts)
        return NULL; /* a binary value outside the arguments, or a placeholder of the sender's own */
    cJSON *a = cJSON_CreateArray();
    if (!a)
        return NULL;
    while (cJSON_GetArraySize(data) > 1)
        cJSON_AddItemToArray(a, cJSON_DetachItemFromArray(data, 1));
    *args = a;
    return event->valuestring;
}

/* --- what other servers send --- */

/* A broadcast from another server or an emitter, on <prefix>#<nsp># or <prefix>#<nsp>#<room>#. */
static void on_broadcast(struct redis_ad *ad, const char *channel, size_t chlen, const char *data, size_t len)
{
    size_t base = strlen(ad->channel);
    if (chlen > base) {
        /* One room: nothing to do unless this server has it (checked before decoding anything). */
        if (channel[chlen - 1] != '#')
            return;
        char room[256];
        size_t rl = chlen - base - 1;
        if (rl < sizeof(room)) { /* a longer name is left to the selection in the message */
            memcpy(room, channel + base, rl);
            room[rl] = 0;
            if (mem_ops->room_size(ad->mem, room) == 0)
                return;
        }
    }
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    cJSON *msg = sio_mp_decode((const uint8_t *)data, len, &atts, MAX_REMOTE_ATTACHMENTS);
    cJSON *uid = cJSON_GetArrayItem(msg, 0);
    cJSON *packet = cJSON_GetArrayItem(msg, 1);
    cJSON *opts = cJSON_GetArrayItem(msg, 2);
    cJSON *args = NULL;
    struct sel sel;
    memset(&sel, 0, sizeof(sel));
    const char *event = cJSON_IsArray(msg) && cJSON_GetArraySize(msg) == 3 && cJSON_IsObject(packet) &&
                                !(cJSON_IsString(uid) && strcmp(uid->valuestring, ad->uid) == 0)
                            ? packet_event(ad, packet, atts.n, &args)
                            : NULL;
    if (event && sel_parse(&sel, opts) == 0) {
        sel.b.flags &= ~SIO_BCAST_LOCAL;
        sio_encoded *pkt = sio_encoded_new(ad->nsp, event, args, atts.v, atts.n);
        if (pkt)
            mem_ops->broadcast(ad->mem, pkt, &sel.b);
        sio_encoded_free(pkt);
    }
    sel_cleanup(&sel);
    cJSON_Delete(args);
    cJSON_Delete(msg);
    sio_mp_atts_cleanup(&atts);
}

/* Another server's broadcast with acks, relayed to our sockets: counts and answers go back to it. */
struct relay {
    sio_redis *r;
    char *channel; /* where its answers go */
    char id[16];   /* its requestId */
};

static void relay_count(size_t n, void *arg)
{
    struct relay *x = arg;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return;
    cJSON_AddNumberToObject(j, "type", REQ_BROADCAST_CLIENT_COUNT);
    cJSON_AddStringToObject(j, "requestId", x->id); /* from the message: cJSON escapes it */
    cJSON_AddNumberToObject(j, "clientCount", (double)n);
    size_t len;
    char *text = sio_json_print(j, &len);
    if (text)
        sio__redis_publish(x->r, x->channel, text, len);
    free(text);
    cJSON_Delete(j);
}

static void relay_answer(const sio_args *args, void *arg)
{
    struct relay *x = arg;
    sio_attachment_ref bufs[MAX_REMOTE_ATTACHMENTS];
    size_t n = sio_args_attachments_count(args);
    if (n > MAX_REMOTE_ATTACHMENTS)
        n = MAX_REMOTE_ATTACHMENTS;
    for (size_t i = 0; i < n; i++)
        sio_args_attachment(args, i, &bufs[i].data, &bufs[i].len);
    const cJSON *first = sio_args_get(args, 0);
    sio_mp_buf b = SIO_MP_BUF_INIT;
    int rc = sio_mp_map(&b, first ? 3 : 2);
    rc = rc ? rc : sio_mp_str(&b, "type", 4);
    rc = rc ? rc : sio_mp_int(&b, REQ_BROADCAST_ACK);
    rc = rc ? rc : sio_mp_str(&b, "requestId", 9);
    rc = rc ? rc : sio_mp_str(&b, x->id, strlen(x->id));
    if (first) {
        rc = rc ? rc : sio_mp_str(&b, "packet", 6);
        rc = rc ? rc : sio_mp_json(&b, first, bufs, n);
    }
    if (rc == 0)
        sio__redis_publish(x->r, x->channel, b.data, b.len);
    sio_mp_buf_cleanup(&b);
}

static void relay_end(void *arg)
{
    struct relay *x = arg;
    x->r->relays--;
    free(x->channel);
    free(x);
}

static const sio_relay_ops relay_ops = {relay_count, relay_answer, relay_end};

static void on_remote_broadcast_with_ack(struct redis_ad *ad, cJSON *req, const sio_mp_atts *atts, const char *id)
{
    cJSON *packet = cJSON_GetObjectItemCaseSensitive(req, "packet");
    cJSON *opts = cJSON_GetObjectItemCaseSensitive(req, "opts");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(opts, "flags"), "timeout");
    /* The sender's timeout, within bounds: answers later than it are of no use to it, and a relay holds its
     * reached sockets until it ends. */
    unsigned cap = ad->r->request_timeout_ms > MAX_RELAY_MS ? ad->r->request_timeout_ms : MAX_RELAY_MS;
    unsigned ms = cJSON_IsNumber(timeout) && timeout->valuedouble >= 1 && timeout->valuedouble < (double)cap
                      ? (unsigned)timeout->valuedouble
                      : cap;
    if (ad->r->relays >= MAX_RELAYS)
        return; /* flooded: as if Redis had lost the request */
    cJSON *args = NULL;
    struct sel sel;
    memset(&sel, 0, sizeof(sel));
    const char *event = cJSON_IsObject(packet) ? packet_event(ad, packet, atts->n, &args) : NULL;
    struct relay *x = event && sel_parse(&sel, opts) == 0 && strlen(id) < sizeof(x->id) ? calloc(1, sizeof(*x)) : NULL;
    if (x) {
        /* The reference answers on the shared response channel (publishOnSpecificResponseChannel is off). */
        x->r = ad->r;
        x->r->relays++;
        snprintf(x->id, sizeof(x->id), "%s", id);
        x->channel = strdup(ad->resp_channel);
        sio_encoded *pkt = x->channel ? sio_encoded_new_relay(ad->nsp, event, args, atts->v, atts->n, ms, &relay_ops, x)
                                      : NULL;
        if (pkt) {
            sel.b.flags &= ~SIO_BCAST_LOCAL;
            mem_ops->broadcast_with_ack(ad->mem, pkt, &sel.b);
            sio_encoded_free(pkt);
        } else {
            relay_end(x);
        }
    }
    sel_cleanup(&sel);
    cJSON_Delete(args);
}

/* An answer to another server's serverSideEmit with acks. */
struct sse_reply {
    struct redis_ad *ad;
    const char *id;
};

static void sse_reply(const cJSON *response, void *arg)
{
    struct sse_reply *x = arg;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return;
    cJSON_AddNumberToObject(j, "type", REQ_SERVER_SIDE_EMIT);
    cJSON_AddStringToObject(j, "requestId", x->id);
    cJSON_AddItemToObject(j, "data", cJSON_Duplicate(response, 1));
    sio__redis_publish_json(x->ad, x->ad->resp_channel, j);
    cJSON_Delete(j);
}

static void respond(struct redis_ad *ad, const char *id, const char *key, cJSON *value)
{
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "requestId", id);
        if (key)
            cJSON_AddItemToObject(j, key, value);
        else
            cJSON_Delete(value);
        sio__redis_publish_json(ad, ad->resp_channel, j);
    } else {
        cJSON_Delete(value);
    }
    cJSON_Delete(j);
}

static void on_request(struct redis_ad *ad, const char *data, size_t len)
{
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    cJSON *req = len && data[0] == '{' ? sio_json_parse(data, len)
                                       : sio_mp_decode((const uint8_t *)data, len, &atts, MAX_REMOTE_ATTACHMENTS);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(req, "type");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(req, "uid");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(req, "requestId");
    const char *id = cJSON_IsString(rid) ? rid->valuestring : NULL;
    int own = cJSON_IsString(uid) && strcmp(uid->valuestring, ad->uid) == 0;
    if (!cJSON_IsObject(req) || !cJSON_IsNumber(type) || own) {
        cJSON_Delete(req);
        sio_mp_atts_cleanup(&atts);
        return;
    }
    struct sel sel;
    memset(&sel, 0, sizeof(sel));
    cJSON *opts = cJSON_GetObjectItemCaseSensitive(req, "opts");
    switch (type->valueint) {
    case REQ_SOCKETS: /* the deprecated allSockets(): ids */
    case REQ_REMOTE_FETCH: {
        const cJSON *rooms = cJSON_GetObjectItemCaseSensitive(req, "rooms");
        cJSON *legacy = NULL;
        if (type->valueint == REQ_SOCKETS) {
            legacy = cJSON_CreateObject();
            cJSON_AddItemToObject(legacy, "rooms", cJSON_Duplicate(rooms, 1));
            opts = legacy;
        }
        if (id && sel_parse(&sel, opts) == 0) {
            cJSON *sockets = cJSON_CreateArray();
            if (sockets && mem_ops->fetch_sockets(ad->mem, &sel.b, sio__redis_fetch_local_cb, sockets) == 0) {
                if (type->valueint == REQ_SOCKETS) {
                    cJSON *ids = cJSON_CreateArray();
                    const cJSON *s;
                    cJSON_ArrayForEach(s, sockets) cJSON_AddItemToArray(
                        ids, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s, "id"), 1));
                    cJSON_Delete(sockets);
                    sockets = ids;
                }
                respond(ad, id, "sockets", sockets);
            } else {
                cJSON_Delete(sockets);
            }
        }
        cJSON_Delete(legacy);
        break;
    }
    case REQ_ALL_ROOMS:
        if (id) {
            size_t n = mem_ops->rooms(ad->mem, NULL, 0);
            const char **names = malloc((n ? n : 1) * sizeof(*names));
            cJSON *arr = cJSON_CreateArray();
            if (names && arr) {
                n = mem_ops->rooms(ad->mem, names, n);
                for (size_t i = 0; i < n; i++)
                    cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
                respond(ad, id, "rooms", arr);
                arr = NULL;
            }
            cJSON_Delete(arr);
            free(names);
        }
        break;
    case REQ_REMOTE_JOIN:
    case REQ_REMOTE_LEAVE:
    case REQ_REMOTE_DISCONNECT: {
        if (opts) {
            const char **rooms = NULL;
            size_t n = 0;
            if (sel_parse(&sel, opts) == 0 &&
                sel_names(&sel, cJSON_GetObjectItemCaseSensitive(req, "rooms"), &rooms, &n) == 0) {
                sel.b.flags = 0;
                if (type->valueint == REQ_REMOTE_JOIN)
                    mem_ops->add_sockets(ad->mem, &sel.b, rooms, n);
                else if (type->valueint == REQ_REMOTE_LEAVE)
                    mem_ops->del_sockets(ad->mem, &sel.b, rooms, n);
                else
                    mem_ops->disconnect_sockets(ad->mem, &sel.b,
                                                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "close")));
            }
            free(rooms);
            break;
        }
        /* The older form: one socket by id ({sid, room} or {sid, close}), answered. */
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(req, "sid");
        const cJSON *room = cJSON_GetObjectItemCaseSensitive(req, "room");
        if (!cJSON_IsString(sid))
            break;
        const char *own_room[1] = {sid->valuestring};
        sio_bcast one = {.rooms = own_room, .nrooms = 1};
        sio_socket **v;
        long found = mem_ops->select(ad->mem, &one, &v);
        if (found <= 0) {
            if (found == 0)
                free(v);
            break;
        }
        sio_socket *target = NULL; /* the socket with that id (its room may hold others) */
        for (long i = 0; i < found; i++)
            if (strcmp(sio_socket_id(v[i]), sid->valuestring) == 0)
                target = v[i];
        if (target && type->valueint == REQ_REMOTE_DISCONNECT)
            sio_socket_disconnect(target, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "close")));
        else if (target && cJSON_IsString(room) && type->valueint == REQ_REMOTE_JOIN)
            sio_socket_join(target, room->valuestring);
        else if (target && cJSON_IsString(room))
            sio_socket_leave(target, room->valuestring);
        for (long i = 0; i < found; i++)
            sio_socket_unref(v[i]);
        free(v);
        if (id)
            respond(ad, id, NULL, NULL);
        break;
    }
    case REQ_SERVER_SIDE_EMIT: {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(req, "data");
        cJSON *event = cJSON_GetArrayItem(d, 0);
        if (!cJSON_IsArray(d) || !cJSON_IsString(event))
            break;
        cJSON *args = cJSON_CreateArray();
        while (args && cJSON_GetArraySize(d) > 1)
            cJSON_AddItemToArray(args, cJSON_DetachItemFromArray(d, 1));
        struct sse_reply x = {ad, id};
        if (args)
            sio_adapter_server_side_event(ad->nsp, event->valuestring, args, id ? sse_reply : NULL, &x);
        cJSON_Delete(args);
        break;
    }
    case REQ_BROADCAST:
        if (id && !sio__redis_req_find(ad, id))
            on_remote_broadcast_with_ack(ad, req, &atts, id);
        break;
    default:
        break; /* unknown: ignored, as the reference */
    }
    sel_cleanup(&sel);
    cJSON_Delete(req);
    sio_mp_atts_cleanup(&atts);
}

static void on_response(struct redis_ad *ad, const char *data, size_t len)
{
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    cJSON *res = len && data[0] == '{' ? sio_json_parse(data, len)
                                       : sio_mp_decode((const uint8_t *)data, len, &atts, MAX_REMOTE_ATTACHMENTS);
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(res, "requestId");
    struct redis_req *q = cJSON_IsString(rid) ? sio__redis_req_find(ad, rid->valuestring) : NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(res, "type");
    if (q && q->type == REQ_BROADCAST && cJSON_IsNumber(type)) {
        if (type->valueint == REQ_BROADCAST_CLIENT_COUNT) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(res, "clientCount");
            if (cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble < 1e9)
                sio_ack_collector_client_count(q->col, (size_t)n->valuedouble);
        } else if (type->valueint == REQ_BROADCAST_ACK) {
            /* Binary answers keep their JSON shape; their bytes are not handed on (the collector holds JSON). */
            sio_ack_collector_response(q->col, cJSON_GetObjectItemCaseSensitive(res, "packet"));
        }
    } else if (q && q->type == REQ_SERVER_SIDE_EMIT && cJSON_IsNumber(type) && type->valueint == REQ_SERVER_SIDE_EMIT) {
        sio_ack_collector_response(q->col, cJSON_GetObjectItemCaseSensitive(res, "data"));
    } else if (q && q->type == REQ_REMOTE_FETCH) {
        cJSON *sockets = cJSON_GetObjectItemCaseSensitive(res, "sockets");
        q->got++;
        if (cJSON_IsArray(sockets))
            while (cJSON_GetArraySize(sockets) > 0) {
                cJSON *s = cJSON_DetachItemFromArray(sockets, 0);
                if (cJSON_IsObject(s) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "id")))
                    cJSON_AddItemToArray(q->sockets, s);
                else
                    cJSON_Delete(s);
            }
        if (q->expected >= 0 && q->got >= q->expected)
            sio__redis_fetch_finish(q, 0);
    }
    cJSON_Delete(res);
    sio_mp_atts_cleanup(&atts);
}

void sio__redis_ad_message(sio_redis *r, const char *channel, size_t chlen, const char *data, size_t len)
{
    unsigned long gen = r->ads_gen;
    for (struct redis_ad *ad = r->ads; ad; ad = ad->next) {
        size_t cl = strlen(ad->channel), ql = strlen(ad->req_channel), pl = strlen(ad->resp_channel);
        if (chlen >= cl && memcmp(channel, ad->channel, cl) == 0)
            on_broadcast(ad, channel, chlen, data, len);
        else if (chlen == ql && memcmp(channel, ad->req_channel, ql) == 0)
            on_request(ad, data, len);
        else if (chlen >= pl && memcmp(channel, ad->resp_channel, pl) == 0)
            on_response(ad, data, len);
        if (r->ads_gen != gen)
            break; /* an adapter was destroyed from what ran (sio_server_set_adapter): the list changed */
    }
}

