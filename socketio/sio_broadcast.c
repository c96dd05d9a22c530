/*
 * Rooms and broadcasting on the Socket.IO side: the socket's room calls and the namespace's broadcasts and
 * server-wide operations, all through the namespace's adapter (rooms/sio_adapter.h). A broadcast encodes its
 * packet once into Engine.IO messages (eio_msg) shared by every recipient.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sio_private.h"


/* --- adapters --- */

int sio__namespace_adapter_init(sio_namespace *nsp)
{
    sio_server *srv = nsp->srv;
    void *ad = srv->ad_ops->create(nsp, srv->ad_config);
    if (!ad)
        return SIO_ENOMEM;
    nsp->ad_ops = srv->ad_ops;
    nsp->ad = ad;
    return 0;
}

void sio__namespace_adapter_free(sio_namespace *nsp)
{
    if (nsp->ad_ops)
        nsp->ad_ops->destroy(nsp->ad);
    nsp->ad_ops = NULL;
    nsp->ad = NULL;
}

int sio_server_set_adapter(sio_server *srv, const sio_adapter_ops *ops, void *config)
{
    if (!ops || !ops->create)
        return SIO_EINVAL;
    srv->ad_ops = ops;
    srv->ad_config = config;
    for (sio_namespace *n = srv->nsps; n; n = n->next) {
        if (n->nsockets)
            continue;
        void *old = n->ad;
        const sio_adapter_ops *old_ops = n->ad_ops;
        if (sio__namespace_adapter_init(n) < 0) {
            n->ad = old;
            n->ad_ops = old_ops;
            return SIO_ENOMEM;
        }
        if (old_ops)
            old_ops->destroy(old);
    }
    return 0;
}

sio_rooms_member *sio_adapter_member(sio_socket *s)
{
    return &s->member;
}

sio_socket *sio_adapter_socket(sio_rooms_member *m)
{
    return (sio_socket *)(void *)((char *)m - offsetof(sio_socket, member));
}

void sio_namespace_on_room(sio_namespace *nsp, int what, sio_room_cb cb, void *user_data)
{
    if (what < SIO_ROOM_CREATE || what > SIO_ROOM_LEAVE)
        return;
    nsp->room_cb[what] = cb;
    nsp->room_ud[what] = user_data;
}

void sio_adapter_room_event(sio_namespace *nsp, int what, const char *room, sio_socket *s)
{
    if (what >= SIO_ROOM_CREATE && what <= SIO_ROOM_LEAVE && nsp->room_cb[what]) {
        sio__depth++; /* a sio_server_free from the callback waits for a fresh loop iteration */
        nsp->room_cb[what](nsp, what, room, s ? s->id : NULL, nsp->room_ud[what]);
        sio__depth--;
    }
}

/* --- a socket's rooms --- */

/* Rooms may change until the socket has left them all: in middlewares, while connected, and in its
 * `disconnecting` handlers (as the reference); not from its `disconnect` handlers or once it is gone. */
static int rooms_open(const sio_socket *s)
{
    return s->client && !(s->closing && !s->connected);
}

int sio_socket_join(sio_socket *s, const char *room)
{
    if (!room)
        return SIO_EINVAL;
    if (!rooms_open(s))
        return SIO_EDISCONNECTED;
    return s->nsp->ad_ops->add_all(s->nsp->ad, s, &room, 1);
}

int sio__socket_join_own_room(sio_socket *s)
{
    const char *room = s->id;
    return s->nsp->ad_ops->add_all(s->nsp->ad, s, &room, 1);
}

int sio_socket_leave(sio_socket *s, const char *room)
{
    if (!room)
        return SIO_EINVAL;
    if (!rooms_open(s))
        return SIO_EDISCONNECTED;
    s->nsp->ad_ops->del(s->nsp->ad, s, room);
    return 0;
}

void sio__socket_rooms_leave_all(sio_socket *s)
{
    s->nsp->ad_ops->del_all(s->nsp->ad, s);
}

/* A disconnected socket is in no room (its namespace may even be gone with its server). */
int sio_socket_in(const sio_socket *s, const char *room)
{
    return room && s->client && s->nsp->ad_ops->has(s->nsp->ad, s, room);
}

size_t sio_socket_rooms(const sio_socket *s, const char **out, size_t cap)
{
    return s->client ? s->nsp->ad_ops->socket_rooms(s->nsp->ad, s, out, cap) : 0;
}

size_t sio_namespace_room_size(const sio_namespace *nsp, const char *room)
{
    return room && nsp->ad_ops ? nsp->ad_ops->room_size(nsp->ad, room) : 0;
}

size_t sio_namespace_rooms(const sio_namespace *nsp, const char **out, size_t cap)
{
    return nsp->ad_ops && nsp->ad_ops->rooms ? nsp->ad_ops->rooms(nsp->ad, out, cap) : 0;
}

void sio_socket_set_json(sio_socket *s, cJSON *data)
{
    cJSON_Delete(s->json);
    s->json = data;
}

const cJSON *sio_socket_json(const sio_socket *s)
{
    return s->json;
}

/* --- encoding once --- */

void sio__encoded_release(sio_encoded *e)
{
    eio_msg_unref(e->text);
    for (size_t i = 0; i < e->natts; i++)
        eio_msg_unref(e->atts[i]);
}

/* Encodes [event, ...args] for nsp (with ack id, or -1) into Engine.IO messages. */
int sio__encode(sio_encoded *e, sio_namespace *nsp, const char *event, const cJSON *args,
                  const sio_attachment_ref *bufs, size_t nbufs, int64_t id)
{
    memset(e, 0, sizeof(*e));
    cJSON *data;
    int rc = sio__event_data(event, args, nbufs, &data);
    if (rc < 0)
        return rc;
    sio_packet p = {.type = nbufs ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT,
                    .nsp = nsp->name,
                    .id = id,
                    .data = data,
                    .nattachments = nbufs};
    char *str;
    long n = sio_packet_encode(&p, &str);
    cJSON_Delete(data);
    if (n < 0)
        return SIO_ENOMEM;
    e->text = eio_msg_new(0, str, (size_t)n);
    free(str);
    if (!e->text)
        return SIO_ENOMEM;
    e->bytes = (size_t)n + 1;
    for (size_t i = 0; i < nbufs; i++) {
        e->bytes += bufs[i].len + bufs[i].len / 3 + 4; /* base64 over polling */
        if (!(e->atts[i] = eio_msg_new(1, bufs[i].data, bufs[i].len))) {
            sio__encoded_release(e);
            return SIO_ENOMEM;
        }
        e->natts++;
    }
    e->event = event;
    e->args = args;
    e->bufs = bufs;
    e->ack_id = id;
    return 0;
}

const char *sio_encoded_event(const sio_encoded *pkt)
{
    return pkt->event;
}

const cJSON *sio_encoded_args(const sio_encoded *pkt)
{
    return pkt->args;
}

size_t sio_encoded_attachments(const sio_encoded *pkt, const sio_attachment_ref **bufs)
{
    *bufs = pkt->bufs;
    return pkt->natts;
}

int64_t sio_encoded_ack_id(const sio_encoded *pkt)
{
    return pkt->ack_id;
}

int sio_adapter_deliver(sio_socket *s, const sio_encoded *e, unsigned flags)
{
    sio_client *c = s->client;
    if (!s->connected || !c || c->closed)
        return 0;
    /* volatile: one decision for the whole packet, attachments included */
    if ((flags & SIO_BCAST_VOLATILE) && !eio_session_can_take(c->conn, e->bytes))
        return 0;
    int rc = eio_session_send_msg(c->conn, e->text, 0);
    for (size_t i = 0; rc == 0 && i < e->natts; i++)
        rc = eio_session_send_msg(c->conn, e->atts[i], 0);
    if (rc == EIO_ENOMEM)
        return SIO_ENOMEM;
    if (rc < 0)
        return 0; /* dropped (volatile) or closing */
    /* Sent: its answer is expected (the client cannot answer before we return to the loop). */
    if (e->collector && sio__collector_expect(e->collector, s, e->ack_id) < 0)
        return SIO_ENOMEM;
    sio_socket_ref(s);
    sio__depth++; /* a sio_server_free from an outgoing listener waits for a fresh loop iteration */
    struct sio_args view = {.array = e->args, .pkt = NULL};
    for (struct sio_listener *l = s->listeners; l; l = l->next)
        if (l->kind == SIO_L_ANY_OUT)
            ((sio_event_cb)l->fn)(s, e->event, &view, NULL, l->ud);
    sio__depth--;
    sio_socket_unref(s);
    return 1;
}

/* --- broadcasts --- */

int sio_broadcast(sio_namespace *nsp, const sio_bcast *to, const char *event, const cJSON *args,
                  const sio_attachment_ref *bufs, size_t nbufs)
{
    if (!nsp || !nsp->ad_ops)
        return SIO_EINVAL;
    sio_encoded e;
    int rc = sio__encode(&e, nsp, event, args, bufs, nbufs, -1);
    if (rc < 0)
        return rc;
    rc = nsp->ad_ops->broadcast(nsp->ad, &e, to);
    sio__encoded_release(&e);
    return rc;
}

int sio_namespace_emit(sio_namespace *nsp, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                       size_t nbufs)
{
    return sio_broadcast(nsp, NULL, event, args, bufs, nbufs);
}

int sio_socket_broadcast(sio_socket *s, const sio_bcast *to, const char *event, const cJSON *args,
                         const sio_attachment_ref *bufs, size_t nbufs)
{
    if (!s->client)
        return SIO_EDISCONNECTED; /* its namespace may be gone with its server */
    /* socket.to(...): the sender's own room joins the except list. */
    size_t nexcept = to ? to->nexcept : 0;
    const char *few[8]; /* the usual case (a chat relay per message): no allocation */
    const char **except = nexcept < 8 ? few : malloc((nexcept + 1) * sizeof(*except));
    if (!except)
        return SIO_ENOMEM;
    for (size_t i = 0; i < nexcept; i++)
        except[i] = to->except[i];
    except[nexcept] = s->id;
    sio_bcast b = {.rooms = to ? to->rooms : NULL,
                   .nrooms = to ? to->nrooms : 0,
                   .except = except,
                   .nexcept = nexcept + 1,
                   .flags = to ? to->flags : 0};
    int rc = sio_broadcast(s->nsp, &b, event, args, bufs, nbufs);
    if (except != few)
        free(except);
    return rc;
}

/* --- work finished later, listed in the server --- */

void sio__pending_add(sio_server *srv, struct sio_pending_op *op, void (*cancel)(struct sio_pending_op *))
{
    op->cancel = cancel;
    op->prev = NULL;
    op->next = srv->pending;
    if (srv->pending)
        srv->pending->prev = op;
    srv->pending = op;
}

void sio__pending_remove(sio_server *srv, struct sio_pending_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else if (srv->pending == op)
        srv->pending = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
}

void sio__server_cancel_pending(sio_server *srv)
{
    while (srv->pending)
        srv->pending->cancel(srv->pending); /* removes itself */
}

/* --- server-wide operations --- */

/* A deep copy of a sio_bcast, for operations finished in a later loop iteration. */
struct bcast_copy {
    sio_bcast b;
    char **strs;
};

static int bcast_copy(struct bcast_copy *c, const sio_bcast *to)
{
    memset(c, 0, sizeof(*c));
    if (!to)
        return 0;
    size_t n = to->nrooms + to->nexcept;
    c->strs = calloc(n ? n : 1, sizeof(char *));
    if (!c->strs)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *src = i < to->nrooms ? to->rooms[i] : to->except[i - to->nrooms];
        if (!(c->strs[i] = strdup(src)))
            return -1;
    }
    c->b.rooms = (const char *const *)c->strs;
    c->b.nrooms = to->nrooms;
    c->b.except = (const char *const *)c->strs + to->nrooms;
    c->b.nexcept = to->nexcept;
    c->b.flags = to->flags;
    return 0;
}

static void bcast_copy_free(struct bcast_copy *c)
{
    size_t n = c->b.nrooms + c->b.nexcept;
    for (size_t i = 0; c->strs && i < n; i++)
        free(c->strs[i]);
    free(c->strs);
}

struct fetch_job {
    struct sio_pending_op op; /* first: the server's list */
    struct event *ev;
    sio_namespace *nsp;
    struct bcast_copy to;
    int has_to;
    sio_fetch_cb cb;
    void *ud;
};

static void fetch_job_free(struct fetch_job *j)
{
    sio__pending_remove(j->nsp->srv, &j->op);
    event_free(j->ev);
    bcast_copy_free(&j->to);
    free(j);
}

static void fetch_run(evutil_socket_t fd, short what, void *arg)
{
    struct fetch_job *j = arg;
    (void)fd;
    (void)what;
    sio__depth++;
    sio_namespace *nsp = j->nsp;
    sio__pending_remove(nsp->srv, &j->op); /* running: the server cannot be freed under us (sio__depth) */
    int rc = nsp->ad_ops ? nsp->ad_ops->fetch_sockets(nsp->ad, j->has_to ? &j->to.b : NULL, j->cb, j->ud)
                         : SIO_EINVAL;
    if (rc < 0)
        j->cb(rc, NULL, 0, j->ud);
    fetch_job_free(j);
    sio__depth--;
}

static void fetch_cancel(struct sio_pending_op *op)
{
    struct fetch_job *j = (struct fetch_job *)op;
    sio__pending_remove(j->nsp->srv, &j->op); /* first: the callback may call sio_server_free again */
    j->cb(SIO_EDISCONNECTED, NULL, 0, j->ud);
    fetch_job_free(j);
}

int sio_fetch_sockets(sio_namespace *nsp, const sio_bcast *to, sio_fetch_cb cb, void *user_data)
{
    if (!nsp || !nsp->ad_ops || !cb)
        return SIO_EINVAL;
    if (nsp->srv->freeing)
        return SIO_EDISCONNECTED; /* from a disconnect handler run by sio_server_free: nothing may outlive it */
    struct fetch_job *j = calloc(1, sizeof(*j));
    if (!j)
        return SIO_ENOMEM;
    j->nsp = nsp;
    j->cb = cb;
    j->ud = user_data;
    j->has_to = to != NULL;
    struct timeval zero = {0, 0};
    j->ev = evtimer_new(nsp->srv->base, fetch_run, j);
    if (!j->ev || bcast_copy(&j->to, to) < 0 || evtimer_add(j->ev, &zero) < 0) {
        if (j->ev)
            event_free(j->ev);
        bcast_copy_free(&j->to);
        free(j);
        return SIO_ENOMEM;
    }
    sio__pending_add(nsp->srv, &j->op, fetch_cancel);
    return 0;
}

int sio_sockets_join(sio_namespace *nsp, const sio_bcast *to, const char *const *rooms, size_t n)
{
    if (!nsp || !nsp->ad_ops || (n && !rooms))
        return SIO_EINVAL;
    return nsp->ad_ops->add_sockets(nsp->ad, to, rooms, n);
}

int sio_sockets_leave(sio_namespace *nsp, const sio_bcast *to, const char *const *rooms, size_t n)
{
    if (!nsp || !nsp->ad_ops || (n && !rooms))
        return SIO_EINVAL;
    return nsp->ad_ops->del_sockets(nsp->ad, to, rooms, n);
}

int sio_disconnect_sockets(sio_namespace *nsp, const sio_bcast *to, int close)
{
    if (!nsp || !nsp->ad_ops)
        return SIO_EINVAL;
    return nsp->ad_ops->disconnect_sockets(nsp->ad, to, close);
}

/* --- handshake as JSON (fetchSockets) --- */

/* As Node's req.headers: names in lower case, a repeated header's values joined with ", " (set-cookie: an
 * array; cookie: "; "). */
static void add_header(cJSON *headers, const char *name, const char *value)
{
    char lower[256];
    size_t n = strlen(name);
    if (!headers || n >= sizeof(lower))
        return;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    cJSON *old = cJSON_GetObjectItemCaseSensitive(headers, lower);
    if (strcmp(lower, "set-cookie") == 0) {
        if (!old)
            old = cJSON_AddArrayToObject(headers, lower);
        if (old)
            cJSON_AddItemToArray(old, cJSON_CreateString(value));
        return;
    }
    if (!old) {
        cJSON_AddStringToObject(headers, lower, value);
        return;
    }
    const char *sep = strcmp(lower, "cookie") == 0 ? "; " : ", ";
    size_t len = strlen(old->valuestring) + strlen(sep) + strlen(value) + 1;
    char *joined = malloc(len);
    if (!joined)
        return;
    snprintf(joined, len, "%s%s%s", old->valuestring, sep, value);
    cJSON_ReplaceItemInObjectCaseSensitive(headers, lower, cJSON_CreateString(joined));
    free(joined);
}

cJSON *sio_socket_handshake_json(const sio_socket *s)
{
    cJSON *h = cJSON_CreateObject();
    if (!h)
        return NULL;
    cJSON *headers = cJSON_AddObjectToObject(h, "headers");
    sio_client *c = s->client;
    const char *p = c ? c->hs : NULL;
    const char *url = p ? p : "";
    const char *addr = p ? p + strlen(p) + 1 : "";
    if (p) {
        const char *q = addr + strlen(addr) + 1;
        for (size_t i = 0; i < c->hs_nheaders; i++) {
            const char *name = q;
            const char *value = name + strlen(name) + 1;
            q = value + strlen(value) + 1;
            add_header(headers, name, value);
        }
    }
    /* time: as the reference's new Date().toString(), in UTC */
    char date[96] = "";
    time_t t = c ? (time_t)(c->hs_time / 1000) : 0;
    struct tm tm;
    if (c && gmtime_r(&t, &tm))
        strftime(date, sizeof(date), "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    cJSON_AddStringToObject(h, "time", date);
    cJSON_AddStringToObject(h, "address", addr);
    cJSON_AddBoolToObject(h, "xdomain", p && sio_socket_header(s, "origin") != NULL);
    cJSON_AddBoolToObject(h, "secure", 0);
    cJSON_AddNumberToObject(h, "issued", c ? (double)c->hs_time : 0);
    cJSON_AddStringToObject(h, "url", url);
    cJSON *query = cJSON_AddObjectToObject(h, "query");
    const char *qs = strchr(url, '?');
    while (query && qs && *qs) {
        qs++;
        const char *amp = strchr(qs, '&');
        size_t len = amp ? (size_t)(amp - qs) : strlen(qs);
        const char *eq = memchr(qs, '=', len);
        size_t klen = eq ? (size_t)(eq - qs) : len;
        char key[128];
        if (klen && klen < sizeof(key)) {
            memcpy(key, qs, klen);
            key[klen] = 0;
            char value[1024];
            if (!cJSON_GetObjectItemCaseSensitive(query, key) &&
                eio_url_query_decoded(url, key, value, sizeof(value)) >= 0)
                cJSON_AddStringToObject(query, key, value);
        }
        qs = amp;
    }
    cJSON_AddItemToObject(h, "auth", cJSON_Duplicate(sio_socket_auth(s), 1));
    return h;
}
