/*
 * Acknowledgements from many: io.timeout(ms).emit(..., cb) to the selected clients of every server, another
 * server's broadcast with acks relayed here (a cluster adapter's "relay" collector), and serverSideEmit with
 * acks. One collector per operation, referenced by each socket's pending ack, by its timer, and by a cluster
 * adapter while it waits for remote answers.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "sio_private.h"

/* Done when every server reported its client count and that many answers came, or at the timeout. */
struct sio_ack_collector {
    struct sio_pending_op op; /* first: the server's list */
    sio_server *srv;
    int refs;
    int done;
    sio_bcast_ack_cb cb;      /* collecting: the application's callback */
    void *ud;
    const sio_relay_ops *relay; /* relaying: answers go to these, one by one (cb is NULL) */
    void *relay_arg;
    struct event *timer;
    unsigned timeout_ms;
    cJSON *responses;
    long expected_servers;    /* -1 until the server count is known */
    int complete;             /* every answer came: finishing in the next loop iteration, whatever comes after */
    long relay_count;         /* relaying: the clients reached (-1 until counted), and their answers so far */
    long relay_answers;
    long servers;             /* client counts received */
    size_t expected_clients;
    int64_t id;               /* the packet's ack id */
    sio_socket **reached;     /* the sockets (referenced) whose answer is expected, forgotten when done */
    size_t nreached, reached_cap;
};

void sio_ack_collector_ref(sio_ack_collector *b)
{
    b->refs++;
}

void sio_ack_collector_unref(sio_ack_collector *b)
{
    if (--b->refs == 0) {
        if (b->timer)
            event_free(b->timer);
        cJSON_Delete(b->responses);
        for (size_t i = 0; i < b->nreached; i++)
            sio_socket_unref(b->reached[i]);
        free(b->reached);
        free(b);
    }
}

unsigned sio_ack_collector_timeout(const sio_ack_collector *b)
{
    return b->timeout_ms;
}

/* Done: the sockets that did not answer stop expecting it (the reference deletes the id from socket.acks), so
 * that clients that never answer do not pile up pending acks. */
static void collector_forget(sio_ack_collector *b)
{
    sio_socket **v = b->reached;
    size_t n = b->nreached;
    b->reached = NULL;
    b->nreached = b->reached_cap = 0;
    for (size_t i = 0; i < n; i++) {
        if (sio__socket_forget_ack(v[i], b->id))
            b->refs--; /* that pending ack's reference (another is held by the caller) */
        sio_socket_unref(v[i]);
    }
    free(v);
}

static void collector_finish(sio_ack_collector *b, int err)
{
    if (b->done)
        return;
    b->done = 1;
    sio__pending_remove(b->srv, &b->op);
    b->refs++;
    if (b->cb)
        b->cb(err, b->responses, b->ud);
    else if (b->relay && b->relay->end)
        b->relay->end(b->relay_arg);
    collector_forget(b);
    b->refs--;
}

/* The server is being freed: answer now, and drop the timer's reference (the sockets' pending acks drop
 * theirs as the sockets close; an adapter drops its own when it is destroyed). */
static void collector_cancel(struct sio_pending_op *op)
{
    sio_ack_collector *b = (sio_ack_collector *)op;
    event_del(b->timer);
    collector_finish(b, SIO_EDISCONNECTED);
    sio_ack_collector_unref(b);
}

static int collector_complete(const sio_ack_collector *b)
{
    return b->expected_servers >= 0 && b->servers == b->expected_servers &&
           (size_t)cJSON_GetArraySize(b->responses) == b->expected_clients;
}

static void collector_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    sio_ack_collector *b = arg;
    (void)fd;
    (void)what;
    sio__depth++;
    collector_finish(b, b->complete || collector_complete(b) ? 0 : SIO_ETIMEOUT);
    sio_ack_collector_unref(b); /* the timer's reference */
    sio__depth--;
}

/* Complete: finish from a fresh loop iteration (never inside the caller's call), with what is there now (a
 * count or an answer arriving meanwhile changes nothing). A relay is complete when every client it reached
 * answered (at once when it reached none). */
static void collector_check(sio_ack_collector *b)
{
    if (b->done || b->complete)
        return;
    if (b->relay ? !(b->relay_count >= 0 && b->relay_answers >= b->relay_count) : !collector_complete(b))
        return;
    b->complete = 1;
    struct timeval zero = {0, 0};
    evtimer_add(b->timer, &zero);
}

static void collector_client_ack(sio_socket *s, int err, const sio_args *args, void *ud)
{
    sio_ack_collector *b = ud;
    (void)s;
    if (err == 0 && !b->done && !b->complete) {
        if (b->relay) {
            b->relay_answers++;
            if (b->relay->answer)
                b->relay->answer(args, b->relay_arg);
            collector_check(b);
        } else {
            const cJSON *first = args ? sio_args_get(args, 0) : NULL;
            cJSON *copy = first ? cJSON_Duplicate(first, 1) : cJSON_CreateNull();
            if (copy)
                cJSON_AddItemToArray(b->responses, copy);
            collector_check(b);
        }
    }
    sio_ack_collector_unref(b);
}

int sio__collector_expect(sio_ack_collector *b, sio_socket *s, int64_t id)
{
    if (b->nreached == b->reached_cap) {
        size_t cap = b->reached_cap ? b->reached_cap * 2 : 16;
        sio_socket **v = realloc(b->reached, cap * sizeof(*v));
        if (!v)
            return -1;
        b->reached = v;
        b->reached_cap = cap;
    }
    if (sio__socket_expect_ack(s, id, collector_client_ack, b) < 0)
        return -1;
    b->refs++;
    sio_socket_ref(s);
    b->reached[b->nreached++] = s;
    return 0;
}

void sio_ack_collector_client_count(sio_ack_collector *b, size_t n)
{
    if (!b || b->done || b->complete)
        return;
    if (b->relay) {
        if (b->relay_count < 0) {
            b->relay_count = (long)n;
            if (b->relay->count)
                b->relay->count(n, b->relay_arg);
            collector_check(b);
        }
        return;
    }
    b->expected_clients += n;
    b->servers++;
    collector_check(b);
}

void sio_ack_collector_response(sio_ack_collector *b, const cJSON *response)
{
    if (!b || b->done || b->complete || b->relay)
        return;
    cJSON *copy = response ? cJSON_Duplicate(response, 1) : cJSON_CreateNull();
    if (copy)
        cJSON_AddItemToArray(b->responses, copy);
    collector_check(b);
}

/* The server count, maybe from a later loop iteration (a cluster asks Redis): holds a reference till then. */
static void collector_server_count(size_t n, void *arg)
{
    sio_ack_collector *b = arg;
    if (!b->done && !b->complete) {
        b->expected_servers = (long)n;
        collector_check(b);
    }
    sio_ack_collector_unref(b);
}

/* A collector with its timer running and listed in the server; one reference (the timer's). */
static sio_ack_collector *collector_new(sio_server *srv, unsigned timeout_ms)
{
    sio_ack_collector *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->refs = 1;
    b->srv = srv;
    b->timeout_ms = timeout_ms;
    b->expected_servers = -1;
    b->relay_count = -1;
    b->id = -1;
    b->responses = cJSON_CreateArray();
    b->timer = evtimer_new(srv->base, collector_timer_cb, b);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (!b->responses || !b->timer || evtimer_add(b->timer, &tv) < 0) {
        sio_ack_collector_unref(b);
        return NULL;
    }
    sio__pending_add(srv, &b->op, collector_cancel);
    return b;
}

/* The call that started the collector failed: it never reports (the caller got the error). */
static void collector_abort(sio_ack_collector *b)
{
    b->done = 1;
    sio__pending_remove(b->srv, &b->op);
    event_del(b->timer);
    b->refs--; /* the timer's (the caller still holds one) */
    collector_forget(b);
}

int sio_broadcast_with_ack(sio_namespace *nsp, const sio_bcast *to, const char *event, const cJSON *args,
                           const sio_attachment_ref *bufs, size_t nbufs, unsigned timeout_ms, sio_bcast_ack_cb cb,
                           void *user_data)
{
    if (!nsp || !nsp->ad_ops || !cb || timeout_ms == 0)
        return SIO_EINVAL;
    if (nsp->srv->freeing)
        return SIO_EDISCONNECTED; /* see sio_fetch_sockets */
    sio_encoded e;
    int rc = sio__encode(&e, nsp, event, args, bufs, nbufs, nsp->next_ack_id);
    if (rc < 0)
        return rc;
    nsp->next_ack_id++;
    sio_ack_collector *b = collector_new(nsp->srv, timeout_ms);
    if (!b) {
        sio__encoded_release(&e);
        return SIO_ENOMEM;
    }
    b->cb = cb;
    b->ud = user_data;
    e.collector = b;
    b->id = e.ack_id;
    b->refs++; /* ours, during the calls below */
    rc = nsp->ad_ops->broadcast_with_ack(nsp->ad, &e, to);
    if (rc == 0 && to && (to->flags & SIO_BCAST_LOCAL)) {
        b->expected_servers = 1; /* this server only */
        collector_check(b);
    } else if (rc == 0) {
        b->refs++; /* the server count's (a failed call does not call back) */
        rc = nsp->ad_ops->server_count(nsp->ad, collector_server_count, b);
        if (rc < 0)
            b->refs--;
    }
    sio__encoded_release(&e);
    if (rc < 0)
        collector_abort(b);
    sio_ack_collector_unref(b);
    return rc;
}

/* --- packets made by adapters --- */

sio_encoded *sio_encoded_new(sio_namespace *nsp, const char *event, const cJSON *args, const sio_attachment_ref *bufs,
                             size_t nbufs)
{
    sio_encoded *e = malloc(sizeof(*e));
    if (e && sio__encode(e, nsp, event, args, bufs, nbufs, -1) < 0) {
        free(e);
        e = NULL;
    }
    return e;
}

sio_encoded *sio_encoded_new_relay(sio_namespace *nsp, const char *event, const cJSON *args,
                                   const sio_attachment_ref *bufs, size_t nbufs, unsigned timeout_ms,
                                   const sio_relay_ops *ops, void *arg)
{
    if (!ops || timeout_ms == 0)
        return NULL;
    sio_encoded *e = malloc(sizeof(*e));
    if (!e)
        return NULL;
    if (sio__encode(e, nsp, event, args, bufs, nbufs, nsp->next_ack_id) < 0) {
        free(e);
        return NULL;
    }
    nsp->next_ack_id++;
    sio_ack_collector *b = collector_new(nsp->srv, timeout_ms);
    if (!b) {
        sio__encoded_release(e);
        free(e);
        return NULL;
    }
    b->relay = ops;
    b->relay_arg = arg;
    b->id = e->ack_id;
    b->refs++; /* the packet's */
    e->collector = b;
    return e;
}

void sio_encoded_free(sio_encoded *e)
{
    if (!e)
        return;
    sio__encoded_release(e);
    if (e->collector)
        sio_ack_collector_unref(e->collector);
    free(e);
}

sio_ack_collector *sio_encoded_collector(const sio_encoded *pkt)
{
    return pkt->collector;
}

void sio_adapter_enter(void)
{
    sio__depth++;
}

void sio_adapter_leave(void)
{
    sio__depth--;
}

struct event_base *sio_namespace_base(const sio_namespace *nsp)
{
    return nsp->srv->base;
}

/* --- serverSideEmit --- */

struct sio_server_ack {
    void (*reply)(const cJSON *response, void *arg);
    void *arg;
    int answered;
};

void sio_namespace_on_server_side(sio_namespace *nsp, sio_server_side_cb cb, void *user_data)
{
    nsp->on_server_side = cb;
    nsp->on_server_side_ud = user_data;
}

int sio_server_ack_send(sio_server_ack *ack, const cJSON *response)
{
    if (!ack || ack->answered)
        return SIO_EINVAL;
    ack->answered = 1;
    cJSON *null = response ? NULL : cJSON_CreateNull();
    ack->reply(response ? response : null, ack->arg);
    cJSON_Delete(null);
    return 0;
}

void sio_adapter_server_side_event(sio_namespace *nsp, const char *event, const cJSON *args,
                                   void (*reply)(const cJSON *response, void *arg), void *arg)
{
    sio_server_ack ack = {.reply = reply, .arg = arg};
    if (nsp->on_server_side && event) {
        cJSON *empty = NULL;
        if (!cJSON_IsArray(args))
            args = empty = cJSON_CreateArray();
        sio__depth++; /* a sio_server_free from the callback waits for a fresh loop iteration */
        if (args)
            nsp->on_server_side(nsp, event, args, reply ? &ack : NULL, nsp->on_server_side_ud);
        sio__depth--;
        cJSON_Delete(empty);
    }
}

static int sse_check(sio_namespace *nsp, const char *event, const cJSON *args)
{
    cJSON *data;
    if (!nsp || !nsp->ad_ops)
        return SIO_EINVAL;
    int rc = sio__event_data(event, args, 0, &data); /* the reserved names and the arguments' shape */
    cJSON_Delete(data);
    return rc;
}

int sio_server_side_emit(sio_namespace *nsp, const char *event, const cJSON *args)
{
    int rc = sse_check(nsp, event, args);
    if (rc < 0 || !nsp->ad_ops->server_side_emit)
        return rc;
    return nsp->ad_ops->server_side_emit(nsp->ad, event, args, NULL);
}

int sio_server_side_emit_with_ack(sio_namespace *nsp, const char *event, const cJSON *args, unsigned timeout_ms,
                                  sio_bcast_ack_cb cb, void *user_data)
{
    int rc = sse_check(nsp, event, args);
    if (rc < 0)
        return rc;
    if (!cb || timeout_ms == 0)
        return SIO_EINVAL;
    if (nsp->srv->freeing)
        return SIO_EDISCONNECTED;
    sio_ack_collector *b = collector_new(nsp->srv, timeout_ms);
    if (!b)
        return SIO_ENOMEM;
    b->cb = cb;
    b->ud = user_data;
    b->expected_servers = 1; /* one count: how many other servers answer */
    b->refs++;
    if (nsp->ad_ops->server_side_emit)
        rc = nsp->ad_ops->server_side_emit(nsp->ad, event, args, b);
    else
        sio_ack_collector_client_count(b, 0); /* no cluster: no answer to wait for */
    if (rc < 0)
        collector_abort(b);
    sio_ack_collector_unref(b);
    return rc;
}
