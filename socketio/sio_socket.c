/*
 * Sockets: listeners, incoming events and acknowledgements, emits (with acknowledgements and timeouts),
 * disconnection. Mirrors socket.io 4.8's lib/socket.ts.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio_private.h"

/* --- lifetime --- */

sio_socket *sio__socket_new(sio_client *c, sio_namespace *nsp, cJSON *auth)
{
    sio_socket *s = calloc(1, sizeof(*s));
    if (!s) {
        cJSON_Delete(auth);
        return NULL;
    }
    s->client = c;
    s->nsp = nsp;
    s->auth = auth;
    s->refs = 1;
    s->listeners_tail = &s->listeners;
    eio_random_id(s->id);
    return s;
}

void sio_socket_ref(sio_socket *s)
{
    s->refs++;
}

void sio_socket_unref(sio_socket *s)
{
    if (!s || --s->refs > 0)
        return;
    while (s->listeners) {
        struct sio_listener *l = s->listeners;
        s->listeners = l->next;
        free(l->name);
        free(l);
    }
    cJSON_Delete(s->auth);
    cJSON_Delete(s->json);
    free(s);
}

/* --- listeners --- */

static int add_listener(sio_socket *s, int kind, const char *name, void (*fn)(void), void *ud)
{
    struct sio_listener *l = calloc(1, sizeof(*l));
    if (!l || (name && !(l->name = strdup(name)))) {
        free(l);
        return SIO_ENOMEM;
    }
    l->kind = kind;
    l->fn = fn;
    l->ud = ud;
    *s->listeners_tail = l;
    s->listeners_tail = &l->next;
    return 0;
}

int sio_socket_on(sio_socket *s, const char *name, sio_event_cb cb, void *user_data)
{
    return add_listener(s, SIO_L_EVENT, name, (void (*)(void))cb, user_data);
}

int sio_socket_on_any(sio_socket *s, sio_event_cb cb, void *user_data)
{
    return add_listener(s, SIO_L_ANY, NULL, (void (*)(void))cb, user_data);
}

int sio_socket_on_any_outgoing(sio_socket *s, sio_event_cb cb, void *user_data)
{
    return add_listener(s, SIO_L_ANY_OUT, NULL, (void (*)(void))cb, user_data);
}

int sio_socket_use(sio_socket *s, sio_packet_middleware_cb cb, void *user_data)
{
    return add_listener(s, SIO_L_USE, NULL, (void (*)(void))cb, user_data);
}

int sio_socket_on_disconnecting(sio_socket *s, sio_disconnect_cb cb, void *user_data)
{
    return add_listener(s, SIO_L_DISCONNECTING, NULL, (void (*)(void))cb, user_data);
}

int sio_socket_on_disconnect(sio_socket *s, sio_disconnect_cb cb, void *user_data)
{
    return add_listener(s, SIO_L_DISCONNECT, NULL, (void (*)(void))cb, user_data);
}

/* Inside sio__depth: a sio_server_free from a handler is deferred even when the disconnect came from the
 * application's own code (a timer of its own, main) rather than from one of our callbacks; run at once, the
 * free would find this socket closing and still listed, and loop on it. */
static void call_disconnect_listeners(sio_socket *s, int kind, const char *reason)
{
    sio__depth++;
    for (struct sio_listener *l = s->listeners; l; l = l->next)
        if (l->kind == kind)
            ((sio_disconnect_cb)l->fn)(s, reason, l->ud);
    sio__depth--;
}

/* --- sending --- */

int sio__send_packet(sio_client *c, const sio_packet *p, const sio_attachment_ref *bufs, size_t nbufs)
{
    if (!c || c->closed)
        return SIO_EDISCONNECTED;
    char *str;
    long n = sio_packet_encode(p, &str);
    if (n < 0)
        return SIO_ENOMEM;
    int rc = eio_session_send_text(c->conn, str, (size_t)n);
    free(str);
    for (size_t i = 0; rc == 0 && i < nbufs; i++)
        rc = eio_session_send_binary(c->conn, bufs[i].data, bufs[i].len);
    if (rc == EIO_ENOMEM)
        return SIO_ENOMEM;
    return rc < 0 ? SIO_EDISCONNECTED : 0;
}

/*
 * The packet's data is [event, ...args]: a new array holding the name and references to args' items, so that
 * nothing of the caller's arguments is copied before encoding.
 */
int sio__event_data(const char *event, const cJSON *args, size_t nbufs, cJSON **out)
{
    *out = NULL;
    if (!event || sio_event_name_reserved(event) || (args && !cJSON_IsArray(args)) || nbufs > SIO_MAX_ATTACHMENTS)
        return SIO_EINVAL;
    cJSON *data = cJSON_CreateArray();
    cJSON *name = cJSON_CreateString(event);
    if (!data || !name) {
        cJSON_Delete(data);
        cJSON_Delete(name);
        return SIO_ENOMEM;
    }
    cJSON_AddItemToArray(data, name);
    for (const cJSON *a = args ? args->child : NULL; a; a = a->next)
        if (!cJSON_AddItemReferenceToArray(data, (cJSON *)a)) {
            cJSON_Delete(data);
            return SIO_ENOMEM;
        }
    *out = data;
    return 0;
}

int sio__emit_packet(sio_socket *s, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                     size_t nbufs, int64_t id)
{
    cJSON *data;
    int rc0 = sio__event_data(event, args, nbufs, &data);
    if (rc0 == SIO_EINVAL)
        return rc0;
    if (!s->connected || !s->client) {
        cJSON_Delete(data);
        return SIO_EDISCONNECTED;
    }
    if (rc0 < 0)
        return rc0;
    sio_packet p = {.type = nbufs ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT,
                    .nsp = s->nsp->name,
                    .id = id,
                    .data = data,
                    .nattachments = nbufs};
    sio_socket_ref(s);
    int rc = sio__send_packet(s->client, &p, bufs, nbufs);
    cJSON_Delete(data);
    if (rc == 0) {
        struct sio_args view = {.array = args, .pkt = NULL};
        for (struct sio_listener *l = s->listeners; l; l = l->next)
            if (l->kind == SIO_L_ANY_OUT)
                ((sio_event_cb)l->fn)(s, event, &view, NULL, l->ud);
    }
    sio_socket_unref(s);
    return rc;
}

int sio_socket_emit(sio_socket *s, const char *event, const cJSON *args, const sio_attachment_ref *bufs, size_t nbufs)
{
    return sio__emit_packet(s, event, args, bufs, nbufs, -1);
}

static void pending_ack_free(struct sio_pending_ack *a)
{
    if (a->timer)
        event_free(a->timer);
    free(a);
}

/* Removes the pending acknowledgement `id` from s and returns it, or NULL. */
static struct sio_pending_ack *pending_ack_take(sio_socket *s, int64_t id)
{
    for (struct sio_pending_ack **pp = &s->acks; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct sio_pending_ack *a = *pp;
            *pp = a->next;
            return a;
        }
    }
    return NULL;
}

static void ack_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sio_pending_ack *a = arg;
    sio_socket *s = a->s;
    (void)fd;
    (void)what;
    sio__depth++;
    pending_ack_take(s, a->id);
    sio_socket_ref(s);
    a->cb(s, SIO_ETIMEOUT, NULL, a->ud);
    pending_ack_free(a);
    sio_socket_unref(s);
    sio__depth--;
}

int sio_socket_emit_with_ack(sio_socket *s, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                             size_t nbufs, unsigned timeout_ms, sio_ack_cb cb, void *user_data)
{
    if (!cb)
        return SIO_EINVAL;
    if (!s->connected || !s->client)
        return SIO_EDISCONNECTED;
    struct sio_pending_ack *a = calloc(1, sizeof(*a));
    if (!a)
        return SIO_ENOMEM;
    a->id = s->nsp->next_ack_id++;
    a->cb = cb;
    a->ud = user_data;
    a->s = s;
    if (timeout_ms) {
        a->timer = evtimer_new(s->client->srv->base, ack_timeout_cb, a);
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        if (!a->timer || evtimer_add(a->timer, &tv) < 0) {
            pending_ack_free(a);
            return SIO_ENOMEM;
        }
    }
    /* Pending before the emit: an outgoing listener may disconnect the socket during it, and the close then
     * answers this ack (SIO_EDISCONNECTED) like every other. */
    a->next = s->acks;
    s->acks = a;
    int rc = sio__emit_packet(s, event, args, bufs, nbufs, a->id);
    if (rc < 0 && pending_ack_take(s, a->id)) {
        pending_ack_free(a); /* not sent and not answered: the callback is never called */
        return rc;
    }
    return 0;
}

int sio__socket_expect_ack(sio_socket *s, int64_t id, sio_ack_cb cb, void *ud)
{
    struct sio_pending_ack *a = calloc(1, sizeof(*a));
    if (!a)
        return SIO_ENOMEM;
    a->id = id;
    a->cb = cb;
    a->ud = ud;
    a->s = s;
    a->next = s->acks;
    s->acks = a;
    return 0;
}

int sio__socket_forget_ack(sio_socket *s, int64_t id)
{
    struct sio_pending_ack *a = pending_ack_take(s, id);
    if (!a)
        return 0;
    pending_ack_free(a);
    return 1;
}

/* --- acknowledgements to the client --- */

int sio_ack_send(sio_ack *ack, const cJSON *args, const sio_attachment_ref *bufs, size_t nbufs)
{
    if (!ack || ack->sent)
        return SIO_EINVAL;
    if ((args && !cJSON_IsArray(args)) || nbufs > SIO_MAX_ATTACHMENTS)
        return SIO_EINVAL;
    ack->sent = 1;
    sio_socket *s = ack->s;
    int rc = SIO_EDISCONNECTED;
    if (s->connected && s->client) {
        cJSON *empty = args ? NULL : cJSON_CreateArray();
        sio_packet p = {.type = nbufs ? SIO_PACKET_BINARY_ACK : SIO_PACKET_ACK,
                        .nsp = s->nsp->name,
                        .id = ack->id,
                        .data = args ? (cJSON *)args : empty,
                        .nattachments = nbufs};
        rc = p.data ? sio__send_packet(s->client, &p, bufs, nbufs) : SIO_ENOMEM;
        cJSON_Delete(empty);
    }
    if (ack->kept && !ack->in_cb)
        sio_ack_free(ack);
    return rc;
}

sio_ack *sio_ack_keep(sio_ack *ack)
{
    if (ack)
        ack->kept = 1;
    return ack;
}

void sio_ack_free(sio_ack *ack)
{
    if (!ack)
        return;
    if (ack->in_cb) {
        ack->kept = 0; /* dropped during the callback: freed when the callbacks return */
        return;
    }
    sio_socket_unref(ack->s);
    free(ack);
}

/* --- arguments --- */

const cJSON *sio_args_json(const sio_args *args)
{
    return args->array;
}

size_t sio_args_count(const sio_args *args)
{
    return args->array ? (size_t)cJSON_GetArraySize(args->array) : 0;
}

const cJSON *sio_args_get(const sio_args *args, size_t i)
{
    return args->array && i < (size_t)cJSON_GetArraySize(args->array) ? cJSON_GetArrayItem(args->array, (int)i)
                                                                         : NULL;
}

size_t sio_args_attachments_count(const sio_args *args)
{
    return args->pkt ? args->pkt->nreceived : 0;
}

int sio_args_attachment(const sio_args *args, size_t i, const uint8_t **data, size_t *len)
{
    if (!args->pkt || i >= args->pkt->nreceived)
        return 0;
    *data = args->pkt->attachments[i].data ? args->pkt->attachments[i].data : (const uint8_t *)"";
    *len = args->pkt->attachments[i].len;
    return 1;
}

int sio_args_binary(const sio_args *args, const cJSON *item, const uint8_t **data, size_t *len)
{
    long idx = sio_placeholder_index(item);
    return idx >= 0 && sio_args_attachment(args, (size_t)idx, data, len);
}

/* --- incoming packets --- */

static void on_event(sio_socket *s, sio_packet *p)
{
    if (!p->data)
        return; /* "42" with no payload: nothing to dispatch (the reference ignores it too) */
    /* data is [name, ...args]: detach the name so that data is the arguments array. */
    cJSON *name = cJSON_DetachItemFromArray(p->data, 0);
    char numbuf[32];
    const char *event;
    if (cJSON_IsString(name)) {
        event = name->valuestring;
    } else {
        snprintf(numbuf, sizeof(numbuf), "%.17g", name->valuedouble);
        event = numbuf;
    }
    struct sio_args args = {.array = p->data, .pkt = p->nattachments ? p : NULL};
    sio_ack *ack = NULL;
    if (p->id >= 0) {
        ack = calloc(1, sizeof(*ack));
        if (!ack) {
            cJSON_Delete(name);
            return;
        }
        ack->s = s;
        ack->id = p->id;
        ack->in_cb = 1;
        sio_socket_ref(s);
    }
    sio_socket_ref(s);
    int dropped = 0;
    for (struct sio_listener *l = s->listeners; l && !dropped && s->connected; l = l->next)
        if (l->kind == SIO_L_USE && ((sio_packet_middleware_cb)l->fn)(s, event, &args, l->ud) != 0)
            dropped = 1;
    if (!dropped) {
        for (struct sio_listener *l = s->listeners; l && s->connected; l = l->next)
            if (l->kind == SIO_L_ANY)
                ((sio_event_cb)l->fn)(s, event, &args, ack, l->ud);
        for (struct sio_listener *l = s->listeners; l && s->connected; l = l->next)
            if (l->kind == SIO_L_EVENT && strcmp(l->name, event) == 0)
                ((sio_event_cb)l->fn)(s, event, &args, ack, l->ud);
    }
    /* An acknowledgement not kept, or already sent, ends with the callbacks. */
    if (ack) {
        ack->in_cb = 0;
        if (!ack->kept || ack->sent)
            sio_ack_free(ack);
    }
    cJSON_Delete(name);
    sio_socket_unref(s);
}

static void on_ack(sio_socket *s, sio_packet *p)
{
    struct sio_pending_ack *a = pending_ack_take(s, p->id);
    if (!a)
        return; /* unknown or expired id: ignored, as the reference does */
    struct sio_args args = {.array = p->data, .pkt = p->nattachments ? p : NULL};
    cJSON *empty = NULL;
    if (!args.array)
        args.array = empty = cJSON_CreateArray();
    sio_socket_ref(s);
    a->cb(s, 0, &args, a->ud);
    pending_ack_free(a);
    cJSON_Delete(empty);
    sio_socket_unref(s);
}

void sio__socket_on_packet(sio_socket *s, sio_packet *p)
{
    switch (p->type) {
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
        on_event(s, p);
        break;
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
        on_ack(s, p);
        break;
    case SIO_PACKET_DISCONNECT:
        sio__socket_close(s, SIO_REASON_CLIENT_NAMESPACE_DISCONNECT, 0);
        break;
    default:
        break;
    }
}

/* --- disconnection --- */

void sio__socket_close(sio_socket *s, const char *reason, int send_packet)
{
    if (!s->connected || s->closing)
        return; /* a disconnecting listener that closes the connection lands here for this socket */
    s->closing = 1;
    sio_socket_ref(s);
    sio_client *c = s->client;
    if (c)
        sio__client_hold(c); /* a listener may close the whole connection meanwhile */
    /* A server-side disconnect tells the client first, as the reference's disconnect(): what the `disconnecting`
     * handlers send afterwards (to its rooms, say) comes after the DISCONNECT, and the client ignores it. */
    if (send_packet && c && !c->closed) {
        sio_packet p = {.type = SIO_PACKET_DISCONNECT, .nsp = s->nsp->name, .id = -1};
        sio__send_packet(c, &p, NULL, 0);
    }
    call_disconnect_listeners(s, SIO_L_DISCONNECTING, reason);
    sio__socket_rooms_leave_all(s); /* after `disconnecting`, as the reference's leaveAll() */
    s->connected = 0;
    /* Out of the client and the namespace before anything is sent, so nothing finds it half-closed. */
    if (c) {
        for (sio_socket **pp = &c->sockets; *pp; pp = &(*pp)->cnext)
            if (*pp == s) {
                *pp = s->cnext;
                break;
            }
    }
    sio__namespace_remove(s->nsp, s);
    /* Emits waiting for an acknowledgement learn that none will come. */
    while (s->acks) {
        struct sio_pending_ack *a = s->acks;
        s->acks = a->next;
        a->cb(s, SIO_EDISCONNECTED, NULL, a->ud);
        pending_ack_free(a);
    }
    call_disconnect_listeners(s, SIO_L_DISCONNECT, reason);
    s->client = NULL;
    if (c)
        sio__client_release(c);
    sio_socket_unref(s); /* the namespace's reference */
    sio_socket_unref(s);
}

void sio_socket_disconnect(sio_socket *s, int close_connection)
{
    if (!s || !s->connected)
        return;
    sio_client *c = s->client;
    if (!close_connection || !c) {
        sio__socket_close(s, SIO_REASON_SERVER_NAMESPACE_DISCONNECT, 1);
        return;
    }
    /* The whole connection: every socket in join order gets its DISCONNECT, then the connection closes. */
    sio__client_close_sockets(c, SIO_REASON_SERVER_NAMESPACE_DISCONNECT, 1);
    sio__client_close(c, SIO_REASON_FORCED_SERVER_CLOSE);
}

/* --- accessors --- */

const char *sio_socket_id(const sio_socket *s)
{
    return s->id;
}

sio_namespace *sio_socket_namespace(const sio_socket *s)
{
    return s->nsp;
}

int sio_socket_connected(const sio_socket *s)
{
    return s->connected;
}

const char *sio_socket_transport(const sio_socket *s)
{
    return s->client ? eio_session_transport(s->client->conn) : "";
}

void sio_socket_set_data(sio_socket *s, void *data)
{
    s->data = data;
}

void *sio_socket_data(const sio_socket *s)
{
    return s->data;
}

const cJSON *sio_socket_auth(const sio_socket *s)
{
    static const cJSON empty = {.type = cJSON_Object}; /* {}: most CONNECTs carry no auth */
    return s->auth ? s->auth : &empty;
}

long sio_socket_query(const sio_socket *s, const char *key, char *out, size_t cap)
{
    return eio_url_query_decoded(sio_socket_url(s), key, out, cap);
}
