/*
 * The Socket.IO server: Engine.IO sessions become clients, clients' packets are decoded and dispatched to
 * namespaces and sockets. Mirrors socket.io 4.8's lib/index.ts, client.ts and namespace.ts.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "sio_private.h"

void sio_options_init(sio_options *o)
{
    memset(o, 0, sizeof(*o));
    eio_options_init(&o->eio);
    o->eio.path = "/socket.io/";
    o->connect_timeout_ms = 45000;
    o->serve_client = 1;
}

const char *sio_strerror(int code)
{
    switch (code) {
    case SIO_OK:
        return "success";
    case SIO_ENOMEM:
        return "out of memory";
    case SIO_EINVAL:
        return "invalid argument";
    case SIO_EDISCONNECTED:
        return "socket disconnected";
    case SIO_ETIMEOUT:
        return "operation has timed out";
    case SIO_ELISTEN:
        return "cannot listen";
    default:
        return "unknown error";
    }
}

/* --- namespaces --- */

static sio_namespace *nsp_new(sio_server *srv, const char *name)
{
    sio_namespace *n = calloc(1, sizeof(*n));
    if (!n || !(n->name = strdup(name))) {
        free(n);
        return NULL;
    }
    n->srv = srv;
    return n;
}

static void nsp_free(sio_namespace *n)
{
    sio__namespace_adapter_free(n);
    while (n->mws) {
        struct sio_mw *m = n->mws;
        n->mws = m->next;
        free(m);
    }
    if (n->re) {
        regfree(n->re);
        free(n->re);
    }
    free(n->name);
    free(n);
}

static sio_namespace *nsp_find(sio_server *srv, const char *name)
{
    for (sio_namespace *n = srv->nsps; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

sio_namespace *sio_of(sio_server *srv, const char *name)
{
    if (!name || name[0] != '/')
        return NULL;
    sio_namespace *n = nsp_find(srv, name);
    if (n)
        return n;
    if (!(n = nsp_new(srv, name)))
        return NULL;
    if (sio__namespace_adapter_init(n) < 0) {
        nsp_free(n);
        return NULL;
    }
    n->next = srv->nsps;
    srv->nsps = n;
    return n;
}

sio_namespace *sio_of_match(sio_server *srv, sio_nsp_match_cb match, void *user_data)
{
    if (!match)
        return NULL;
    sio_namespace *n = nsp_new(srv, "(dynamic)");
    if (!n)
        return NULL;
    n->match = match;
    n->match_ud = user_data;
    n->next = srv->parents;
    srv->parents = n;
    return n;
}

static int pattern_match(const char *name, const cJSON *auth, void *ud)
{
    sio_namespace *parent = ud;
    (void)auth;
    regmatch_t m;
    return regexec(parent->re, name, 1, &m, 0) == 0 && m.rm_so == 0 && name[m.rm_eo] == '\0';
}

sio_namespace *sio_of_pattern(sio_server *srv, const char *pattern)
{
    regex_t *re = malloc(sizeof(*re));
    if (!re || regcomp(re, pattern, REG_EXTENDED) != 0) {
        free(re);
        return NULL;
    }
    sio_namespace *n = sio_of_match(srv, pattern_match, NULL);
    if (!n) {
        regfree(re);
        free(re);
        return NULL;
    }
    n->match_ud = n;
    n->re = re;
    return n;
}

const char *sio_namespace_name(const sio_namespace *nsp)
{
    return nsp->name;
}

size_t sio_namespace_sockets_count(const sio_namespace *nsp)
{
    return nsp->nsockets;
}

void sio_namespace_on_connection(sio_namespace *nsp, sio_connection_cb cb, void *user_data)
{
    nsp->on_connection = cb;
    nsp->on_connection_ud = user_data;
}

int sio_namespace_use(sio_namespace *nsp, sio_middleware_cb cb, void *user_data)
{
    struct sio_mw *m = calloc(1, sizeof(*m));
    if (!m)
        return SIO_ENOMEM;
    m->cb = cb;
    m->ud = user_data;
    struct sio_mw **pp = &nsp->mws;
    while (*pp)
        pp = &(*pp)->next;
    *pp = m;
    return 0;
}

void sio__namespace_add(sio_namespace *nsp, sio_socket *s)
{
    s->nprev = NULL;
    s->nnext = nsp->sockets;
    if (nsp->sockets)
        nsp->sockets->nprev = s;
    nsp->sockets = s;
    nsp->nsockets++;
}

void sio__namespace_remove(sio_namespace *nsp, sio_socket *s)
{
    if (s->nprev)
        s->nprev->nnext = s->nnext;
    else if (nsp->sockets == s)
        nsp->sockets = s->nnext;
    if (s->nnext)
        s->nnext->nprev = s->nprev;
    s->nprev = s->nnext = NULL;
    nsp->nsockets--;
}

/* --- clients --- */

static sio_socket *client_socket(sio_client *c, const char *nsp)
{
    for (sio_socket *s = c->sockets; s; s = s->cnext)
        if (strcmp(s->nsp->name, nsp) == 0)
            return s;
    return NULL;
}

static void client_free(sio_client *c)
{
    sio_decoder_cleanup(&c->dec);
    if (c->connect_timer)
        event_free(c->connect_timer);
    free(c->hs);
    free(c);
}

void sio__client_hold(sio_client *c)
{
    c->busy++;
}

void sio__client_release(sio_client *c)
{
    if (--c->busy == 0 && c->dead)
        client_free(c);
}

/* Closes every socket of the client with `reason`, in join order. A socket already closing (its own handler
 * got us here) is left to finish its close. */
void sio__client_close_sockets(sio_client *c, const char *reason, int send_packet)
{
    for (;;) {
        sio_socket *s = c->sockets;
        while (s && s->closing)
            s = s->cnext;
        if (!s)
            return;
        sio__socket_close(s, reason, send_packet);
    }
}

/*
 * As the reference's Client.close(): the connection is closed first; when that completes at once (WebSocket, or
 * a parked polling GET) the sockets hear the engine's reason ("forced close") from on_eio_close, which also
 * frees the client; otherwise they hear `reason` now and the client is freed when the engine closes.
 */
void sio__client_close(sio_client *c, const char *reason)
{
    if (c->closed)
        return;
    c->closed = 1;
    if (c->connect_timer)
        event_del(c->connect_timer);
    sio__client_hold(c);
    eio_session_close(c->conn);
    if (!c->dead)
        sio__client_close_sockets(c, reason, 0);
    sio__client_release(c);
}

_Thread_local int sio__depth;

static void connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    sio_client *c = arg;
    (void)fd;
    (void)what;
    sio__depth++;
    sio__client_hold(c);
    if (!c->sockets)
        sio__client_close(c, SIO_REASON_FORCED_SERVER_CLOSE);
    sio__client_release(c);
    sio__depth--;
}

/* Copies what socket.handshake needs from the first request: the URL, the address and the headers. */
static int copy_handshake(sio_client *c, const eio_request *req)
{
    const char *url = eio_request_url(req);
    const char *addr = eio_request_remote_address(req);
    size_t need = strlen(url) + 1 + strlen(addr) + 1;
    const char *name, *value;
    size_t n = 0;
    while (eio_request_header_at(req, n, &name, &value)) {
        need += strlen(name) + 1 + strlen(value) + 1;
        n++;
    }
    char *b = malloc(need);
    if (!b)
        return -1;
    size_t o = 0;
#define PUT(str)                                                                                                   \
    do {                                                                                                           \
        size_t l_ = strlen(str) + 1;                                                                               \
        memcpy(b + o, (str), l_);                                                                                  \
        o += l_;                                                                                                   \
    } while (0)
    PUT(url);
    PUT(addr);
    for (size_t i = 0; eio_request_header_at(req, i, &name, &value); i++) {
        PUT(name);
        PUT(value);
    }
#undef PUT
    c->hs = b;
    c->hs_len = o;
    c->hs_nheaders = n;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    c->hs_time = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    return 0;
}

static void on_eio_connection(eio_session *conn, const eio_request *req, void *ud)
{
    sio_server *srv = ud;
    sio_client *c = calloc(1, sizeof(*c));
    if (!c || copy_handshake(c, req) < 0) {
        free(c);
        eio_session_close(conn);
        return;
    }
    c->srv = srv;
    c->conn = conn;
    eio_session_ref(conn);
    sio_decoder_init(&c->dec);
    eio_session_set_user_data(conn, c);
    c->connect_timer = evtimer_new(srv->base, connect_timeout_cb, c);
    if (c->connect_timer) {
        unsigned ms = srv->opts.connect_timeout_ms;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(c->connect_timer, &tv);
    }
}

static void send_connect_error(sio_client *c, const char *nsp, const char *message, cJSON *data)
{
    sio_packet p = {.type = SIO_PACKET_CONNECT_ERROR, .nsp = (char *)nsp, .id = -1};
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "message", message);
        if (data)
            cJSON_AddItemToObject(o, "data", data);
        data = NULL;
    }
    p.data = o;
    sio__send_packet(c, &p, NULL, 0);
    cJSON_Delete(o);
    cJSON_Delete(data);
}

static sio_namespace *find_or_create_nsp(sio_server *srv, const char *name, const cJSON *auth)
{
    sio_namespace *n = nsp_find(srv, name);
    if (n)
        return n;
    for (sio_namespace *p = srv->parents; p; p = p->next) {
        if (!p->match(name, auth, p->match_ud))
            continue;
        n = sio_of(srv, name);
        if (n && !n->parent) {
            n->parent = p;
            n->on_connection = p->on_connection;
            n->on_connection_ud = p->on_connection_ud;
        }
        return n;
    }
    return NULL;
}

static void client_connect(sio_client *c, sio_packet *p)
{
    sio_server *srv = c->srv;
    sio_namespace *nsp = find_or_create_nsp(srv, p->nsp, p->data);
    if (!nsp) {
        send_connect_error(c, p->nsp, "Invalid namespace", NULL);
        return;
    }
    cJSON *auth = p->data; /* NULL when the CONNECT had none: sio_socket_auth() then gives a shared {} */
    p->data = NULL;
    sio_socket *s = sio__socket_new(c, nsp, auth);
    if (!s) {
        sio__client_close(c, SIO_REASON_FORCED_SERVER_CLOSE);
        return;
    }
    /* Middlewares: a child namespace runs its parent's, then its own. */
    for (int pass = 0; pass < 2; pass++) {
        sio_namespace *owner = pass == 0 ? nsp->parent : nsp;
        for (struct sio_mw *m = owner ? owner->mws : NULL; m; m = m->next) {
            const char *message = NULL;
            cJSON *data = NULL;
            if (m->cb(s, &message, &data, m->ud) != 0) {
                send_connect_error(c, nsp->name, message ? message : "not authorized", data);
                sio__socket_rooms_leave_all(s); /* rooms a middleware may have joined */
                s->client = NULL;               /* refused: a reference the application kept joins nothing */
                sio_socket_unref(s);
                return;
            }
            cJSON_Delete(data); /* given with an acceptance: ours, and unused */
            if (c->closed) {
                sio__socket_rooms_leave_all(s);
                s->client = NULL;
                sio_socket_unref(s);
                return;
            }
        }
    }
    /* Connected: in the namespace and the client, then the CONNECT answer, then the application. */
    s->connected = 1;
    sio_socket **tail = &c->sockets; /* join order, which a whole-connection disconnect follows */
    while (*tail)
        tail = &(*tail)->cnext;
    s->cnext = NULL;
    *tail = s;
    sio__namespace_add(nsp, s);
    if (sio__socket_join_own_room(s) < 0) { /* every socket is in the room named by its id */
        sio__socket_close(s, SIO_REASON_FORCED_SERVER_CLOSE, 0);
        sio__client_close(c, SIO_REASON_FORCED_SERVER_CLOSE);
        return;
    }
    if (c->connect_timer) { /* not needed any more: free its 144 bytes for the life of the connection */
        event_free(c->connect_timer);
        c->connect_timer = NULL;
    }
    cJSON *data = cJSON_CreateObject();
    if (data)
        cJSON_AddStringToObject(data, "sid", s->id);
    sio_packet ans = {.type = SIO_PACKET_CONNECT, .nsp = nsp->name, .id = -1, .data = data};
    sio__send_packet(c, &ans, NULL, 0);
    cJSON_Delete(data);
    if (nsp->on_connection)
        nsp->on_connection(s, nsp->on_connection_ud);
}

static void client_packet(sio_client *c, sio_packet *p)
{
    sio_socket *s = client_socket(c, p->nsp);
    if (!s && p->type == SIO_PACKET_CONNECT) {
        client_connect(c, p);
    } else if (s && p->type != SIO_PACKET_CONNECT && p->type != SIO_PACKET_CONNECT_ERROR) {
        sio__socket_on_packet(s, p);
    } else {
        /* "invalid state": a second CONNECT, a packet for a namespace not joined, a CONNECT_ERROR. */
        sio__client_close(c, SIO_REASON_FORCED_SERVER_CLOSE);
    }
}

static void on_eio_message(eio_session *conn, const uint8_t *data, size_t len, int binary, void *ud)
{
    sio_client *c = eio_session_user_data(conn);
    (void)ud;
    if (!c || c->closed)
        return;
    sio_packet *p = NULL;
    int rc = binary ? sio_decoder_add_binary(&c->dec, data, len, &p)
                    : sio_decoder_add_text(&c->dec, (const char *)data, len, &p);
    if (rc < 0) {
        /* The reference closes the connection; its sockets see "forced close". */
        sio__client_close(c, EIO_REASON_FORCED_CLOSE);
        return;
    }
    if (rc == 1) {
        sio__client_hold(c);
        client_packet(c, p);
        sio__client_release(c);
        sio_packet_free(p);
    }
}

static void on_eio_close(eio_session *conn, const char *reason, void *ud)
{
    sio_client *c = eio_session_user_data(conn);
    (void)ud;
    if (!c)
        return;
    eio_session_set_user_data(conn, NULL);
    c->closed = 1;
    sio__client_hold(c);
    sio__client_close_sockets(c, reason, 0);
    eio_session_unref(c->conn);
    c->dead = 1;
    sio__client_release(c); /* frees it, unless a call that uses it is still on the stack */
}

/* --- the server --- */

sio_server *sio_server_new(struct event_base *base, const sio_options *opts)
{
    sio_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->base = base;
    srv->ad_ops = &sio_memory_adapter;
    if (opts)
        srv->opts = *opts;
    else
        sio_options_init(&srv->opts);
    if (!srv->opts.connect_timeout_ms)
        srv->opts.connect_timeout_ms = 45000;
    eio_handlers h = {.on_connection = on_eio_connection,
                      .on_message = on_eio_message,
                      .on_close = on_eio_close,
                      .user_data = srv};
    srv->eio = eio_server_new(base, &srv->opts.eio, &h);
    if (!srv->eio || !sio_of(srv, "/")) {
        eio_server_free(srv->eio);
        free(srv);
        return NULL;
    }
    if (srv->opts.serve_client)
        eio_server_set_prehandler(srv->eio, sio__serve_client, srv);
    return srv;
}

int sio_server_listen(sio_server *srv, const char *host, int port)
{
    return eio_server_listen(srv->eio, host, port) < 0 ? SIO_ELISTEN : 0;
}

int sio_server_port(const sio_server *srv)
{
    return eio_server_port(srv->eio);
}

eio_server *sio_server_engine(sio_server *srv)
{
    return srv->eio;
}

static void deferred_free_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sio_server_free(arg);
}

void sio_server_free(sio_server *srv)
{
    if (!srv || srv->freeing_now)
        return; /* called again from a callback the free itself runs (a disconnect handler, a cancelled fetch) */
    if (eio_in_callback() || sio__depth > 0) {
        /* From one of our callbacks (an event handler, a disconnect handler, an ack callback): the objects it
         * runs on are on the stack. Finish from a fresh loop iteration. */
        if (!srv->freeing) {
            srv->freeing = 1;
            struct timeval zero = {0, 0};
            event_base_once(srv->base, -1, EV_TIMEOUT, deferred_free_cb, srv, &zero);
        }
        return;
    }
    srv->freeing = 1;
    srv->freeing_now = 1;
    sio__server_cancel_pending(srv);
    /* Sockets first, with the reference's reason, then the connections. */
    for (sio_namespace *n = srv->nsps; n; n = n->next)
        while (n->sockets) {
            sio_socket *s = n->sockets;
            sio_client *c = s->client;
            sio__socket_close(s, SIO_REASON_SERVER_SHUTTING_DOWN, 0);
            if (c && !c->sockets)
                c->closed = 1;
        }
    eio_server_free(srv->eio); /* on_close frees each client */
    eio_static_free(srv->client_files);
    while (srv->nsps) {
        sio_namespace *n = srv->nsps;
        srv->nsps = n->next;
        nsp_free(n);
    }
    while (srv->parents) {
        sio_namespace *n = srv->parents;
        srv->parents = n->next;
        nsp_free(n);
    }
    free(srv);
}

/* --- handshake accessors --- */

static const char *hs_at(const sio_client *c, size_t index)
{
    const char *p = c->hs;
    for (size_t i = 0; i < index; i++)
        p += strlen(p) + 1;
    return p;
}

const char *sio_socket_url(const sio_socket *s)
{
    return s->client ? hs_at(s->client, 0) : "";
}

const char *sio_socket_address(const sio_socket *s)
{
    return s->client ? hs_at(s->client, 1) : "";
}

const char *sio_socket_header(const sio_socket *s, const char *name)
{
    if (!s->client)
        return NULL;
    const char *p = hs_at(s->client, 2);
    for (size_t i = 0; i < s->client->hs_nheaders; i++) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

int64_t sio_socket_handshake_time(const sio_socket *s)
{
    return s->client ? s->client->hs_time : 0;
}

int sio_socket_secure(const sio_socket *s)
{
    (void)s;
    return 0;
}
