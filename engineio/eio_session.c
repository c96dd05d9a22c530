/*
 * Sessions: the table of open sessions, the polling transport, sending, heartbeat and close.
 * The protocol decisions are eio_sm.c's; this file performs them with libevent.
 *
 * References: the table holds one while the session is open; each connection that points at the session
 * (parked GET, POST being read, WebSocket, probe) holds one; the flush list holds one; the application may
 * hold some. Code that calls out (to the application, or to a close) holds a temporary one around the call.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "eio_private.h"
#include "eio_wsframe.h"

static const char poll_headers[] = "Content-Type: text/plain; charset=UTF-8\r\nCache-Control: no-store\r\n";

static void session_finalize(eio_session *s);
static void apply(eio_session *s, int acts, const eio_packet *pkt);

/* --- the table --- */

static size_t hash_id(const char *id, size_t len)
{
    size_t h = 1469598103934665603ull & (size_t)-1;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)id[i]) * (size_t)1099511628211ull;
    return h;
}

static int table_grow(eio_server *srv)
{
    size_t n = srv->table_size ? srv->table_size * 2 : 1024;
    eio_session **t = calloc(n, sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < srv->table_size; i++) {
        eio_session *s = srv->table[i];
        while (s) {
            eio_session *next = s->hnext;
            size_t b = hash_id(s->id, 20) & (n - 1);
            s->hnext = t[b];
            t[b] = s;
            s = next;
        }
    }
    free(srv->table);
    srv->table = t;
    srv->table_size = n;
    return 0;
}

eio_session *eio__session_find(eio_server *srv, const char *id, size_t len)
{
    if (len != 20 || !srv->table_size)
        return NULL;
    for (eio_session *s = srv->table[hash_id(id, len) & (srv->table_size - 1)]; s; s = s->hnext)
        if (memcmp(s->id, id, 20) == 0)
            return s;
    return NULL;
}

static void table_remove(eio_server *srv, eio_session *s)
{
    eio_session **pp = &srv->table[hash_id(s->id, 20) & (srv->table_size - 1)];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp) {
        *pp = s->hnext;
        srv->nsessions--;
    }
}

/* 15 bytes from the OS's CSPRNG, as 20 base64url characters. */
void eio_random_id(char out[21])
{
    uint8_t raw[15];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    eio_base64_encode(raw, sizeof(raw), out); /* 15 bytes: 20 characters, no padding */
    for (int i = 0; i < 20; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[20] = '\0';
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg);

eio_session *eio__session_new(eio_server *srv, int transport)
{
    if ((srv->nsessions + 1) * 2 > srv->table_size && table_grow(srv) < 0)
        return NULL;
    eio_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->srv = srv;
    do
        eio_random_id(s->id);
    while (eio__session_find(srv, s->id, 20));
    s->refs = 2; /* the table's and the caller's */
    eio_sm_init(&s->sm, transport, srv->opts.ping_interval_ms, srv->opts.ping_timeout_ms,
                srv->opts.upgrade_timeout_ms, eio__now_ms(srv));
    evtimer_assign(&s->timer, srv->base, heartbeat_cb, s);
    evtimer_add(&s->timer, srv->ct_interval);
    size_t b = hash_id(s->id, 20) & (srv->table_size - 1);
    s->hnext = srv->table[b];
    srv->table[b] = s;
    srv->nsessions++;
    return s;
}

/* --- references --- */

void eio_session_ref(eio_session *s)
{
    s->refs++;
}

void eio_session_unref(eio_session *s)
{
    if (!s || --s->refs > 0)
        return;
    if (s->srv)
        event_del(&s->timer);
    if (s->upgrade_timer)
        event_free(s->upgrade_timer);
    if (s->pollq)
        evbuffer_free(s->pollq);
    free(s);
}

/* Detaches connection c from its session role and drops the connection's reference. */
static void detach(eio_session *s, eio_conn *c)
{
    if (s->get == c)
        s->get = NULL;
    if (s->post == c)
        s->post = NULL;
    if (s->ws == c)
        s->ws = NULL;
    if (s->probe == c)
        s->probe = NULL;
    if (c->sess == s) {
        c->sess = NULL;
        eio_session_unref(s);
    }
}

/* --- timers --- */

static void arm_heartbeat(eio_session *s)
{
    eio_server *srv = s->srv;
    evtimer_add(&s->timer, s->sm.heartbeat == EIO_SM_HB_WAIT_PING ? srv->ct_interval : srv->ct_timeout);
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    eio_session *s = arg;
    (void)fd;
    (void)what;
    eio__depth++;
    eio_session_ref(s);
    if (s->sm.state == EIO_SM_OPEN)
        apply(s, eio_sm_on_heartbeat_timer(&s->sm, eio__now_ms(s->srv)), NULL);
    else if (s->sm.state == EIO_SM_CLOSING)
        session_finalize(s); /* the close timeout: no GET came to take the close packet */
    eio_session_unref(s);
    eio__depth--;
}

static void upgrade_cb(evutil_socket_t fd, short what, void *arg)
{
    eio_session *s = arg;
    (void)fd;
    (void)what;
    eio__depth++;
    eio_session_ref(s);
    apply(s, eio_sm_on_upgrade_timer(&s->sm), NULL);
    eio_session_unref(s);
    eio__depth--;
}

static void stop_upgrade_timer(eio_session *s)
{
    if (s->upgrade_timer) {
        event_free(s->upgrade_timer);
        s->upgrade_timer = NULL;
    }
}

/* --- polling --- */

/* Answers the parked GET with everything queued (or a noop when `noop_if_empty` and nothing is). */
static void answer_get(eio_session *s, int noop_if_empty)
{
    eio_conn *c = s->get;
    if (!c)
        return;
    if (!s->pollq || evbuffer_get_length(s->pollq) == 0) {
        if (!noop_if_empty)
            return;
        if (!s->pollq && !(s->pollq = evbuffer_new()))
            return;
        evbuffer_add(s->pollq, "6", 1);
    }
    eio_session_ref(s);
    detach(s, c);
    eio__http_respond_buf(c, 200, poll_headers, s->pollq);
    evbuffer_free(s->pollq);
    s->pollq = NULL;
    eio__http_resume(c);
    eio_session_unref(s);
}

/* A graceful close on polling: once nothing else waits, the parked GET takes the close packet alone. */
static void close_on_get(eio_session *s)
{
    if (!s->get || (s->pollq && evbuffer_get_length(s->pollq)))
        return;
    eio_session_ref(s);
    eio_conn *c = s->get;
    detach(s, c);
    eio__http_respond(c, 200, poll_headers, "1", 1);
    eio__http_resume(c);
    session_finalize(s);
    eio_session_unref(s);
}

static void schedule_flush(eio_session *s)
{
    eio_server *srv = s->srv;
    if (s->flush_queued || !srv)
        return;
    s->flush_queued = 1;
    eio_session_ref(s);
    s->flush_next = srv->flush_list;
    srv->flush_list = s;
    event_active(srv->flush_ev, EV_TIMEOUT, 0);
}

/* Runs once per loop iteration after sends: what was queued for a parked GET leaves in one answer. */
void eio__server_run_flush(eio_server *srv)
{
    eio_session *list = srv->flush_list;
    srv->flush_list = NULL;
    while (list) {
        eio_session *s = list;
        list = s->flush_next;
        s->flush_queued = 0;
        if (s->close_deferred)
            session_finalize(s);
        else if (s->sm.state != EIO_SM_CLOSED)
            answer_get(s, 0);
        eio_session_unref(s);
    }
}

static int pollq_add(eio_session *s, int type, int binary, const uint8_t *data, size_t len)
{
    if (!s->pollq && !(s->pollq = evbuffer_new()))
        return EIO_ENOMEM;
    struct evbuffer *q = s->pollq;
    if (evbuffer_get_length(q) && evbuffer_add(q, "\x1e", 1) < 0)
        return EIO_ENOMEM;
    if (binary) {
        size_t n = eio_base64_encoded_len(len);
        struct evbuffer_iovec v;
        if (evbuffer_add(q, "b", 1) < 0 || evbuffer_reserve_space(q, (ev_ssize_t)n, &v, 1) < 1)
            return EIO_ENOMEM;
        v.iov_len = eio_base64_encode(data, len, v.iov_base);
        if (evbuffer_commit_space(q, &v, 1) < 0)
            return EIO_ENOMEM;
    } else {
        char t = (char)('0' + type);
        if (evbuffer_add(q, &t, 1) < 0 || (len && evbuffer_add(q, data, len) < 0))
            return EIO_ENOMEM;
    }
    return 0;
}

static int ws_add(eio_conn *c, int type, int binary, const uint8_t *data, size_t len)
{
    if (binary)
        return eio__ws_send(c, EIO_WS_BINARY, NULL, 0, data, len) < 0 ? EIO_ENOMEM : 0;
    uint8_t t = (uint8_t)('0' + type);
    return eio__ws_send(c, EIO_WS_TEXT, &t, 1, data, len) < 0 ? EIO_ENOMEM : 0;
}

/* After queueing (rc its outcome, queued the bytes now waiting): past max_queued_bytes the session closes with
 * "transport error". Closing here would run on_close inside the caller's send: the session stops taking sends
 * now and is closed from the flush event, outside any caller. */
static int after_queue(eio_session *s, int rc, size_t queued)
{
    if (rc == 0 && queued > s->srv->opts.max_queued_bytes) {
        eio__log(EIO_LOG_WARN, "session %s: %zu bytes queued, over max_queued_bytes: closing", s->id, queued);
        if (eio_sm_close(&s->sm, EIO_REASON_TRANSPORT_ERROR)) {
            s->close_deferred = 1;
            schedule_flush(s);
        }
        return EIO_EQUEUE;
    }
    return rc;
}

int eio__session_send(eio_session *s, int type, int binary, const uint8_t *data, size_t len)
{
    int rc;
    size_t queued;
    if (s->sm.transport == EIO_SM_WEBSOCKET) {
        if (!s->ws)
            return EIO_ECLOSED;
        rc = ws_add(s->ws, type, binary, data, len);
        queued = eio__conn_queued(s->ws);
    } else {
        rc = pollq_add(s, type, binary, data, len);
        queued = s->pollq ? evbuffer_get_length(s->pollq) : 0;
        if (rc == 0 && s->get)
            schedule_flush(s);
    }
    return after_queue(s, rc, queued);
}

void eio__session_poll_get(eio_session *s, eio_conn *c)
{
    if (s->get) {
        /* "overlap from client": the new GET gets 400, the session closes (the parked one gets "1"). */
        eio__http_respond(c, 400, NULL, NULL, 0);
        eio__session_close(s, EIO_REASON_TRANSPORT_ERROR);
        return;
    }
    s->get = c;
    c->sess = s;
    eio_session_ref(s);
    c->parked = 1;
    eio__conn_set_read_timeout(c, 0); /* the heartbeat bounds a parked GET */
    if (s->pollq && evbuffer_get_length(s->pollq))
        answer_get(s, 0);
    else if (s->sm.state == EIO_SM_CLOSING && s->closing_flush)
        close_on_get(s);
    else if (s->sm.upgrade == EIO_SM_UPG_PROBED)
        answer_get(s, 1); /* the client is upgrading: let it stop polling at once */
    else
        eio__request_shrink(c->req); /* parked: only its CORS lines are needed for the answer */
}

void eio__session_poll_post(eio_session *s, eio_conn *c)
{
    eio_request *req = c->req;
    eio_session_ref(s);
    if (s->post != c) {
        /* Not marked at the headers (the session changed transport meanwhile): treat as overlap. */
        eio__http_respond(c, 400, NULL, NULL, 0);
        eio__session_close(s, EIO_REASON_TRANSPORT_ERROR);
        eio_session_unref(s);
        return;
    }
    const char *ctype = eio_request_header(req, "content-type");
    if (ctype && strncasecmp(ctype, "application/octet-stream", 24) == 0) {
        /* Binary POST bodies are v3 only: 400 and the session closes, as engine.io 6.6 does. */
        detach(s, c);
        c->keep_alive = 0;
        eio__http_respond(c, 400, NULL, NULL, 0);
        eio__session_close(s, EIO_REASON_TRANSPORT_ERROR);
        eio_session_unref(s);
        return;
    }
    size_t len = req->body ? evbuffer_get_length(req->body) : 0;
    uint8_t *buf = len ? evbuffer_pullup(req->body, -1) : (uint8_t *)"";
    size_t pos = 0;
    eio_packet pkt;
    for (;;) {
        if (s->sm.state != EIO_SM_OPEN)
            break;
        int r = eio_payload_next(buf, len, &pos, &pkt);
        if (r == 0)
            break;
        eio__session_on_packet(s, NULL, r > 0 ? &pkt : NULL);
        if (r < 0)
            break;
    }
    detach(s, c);
    eio__http_respond(c, 200, "Content-Type: text/html\r\nCache-Control: no-store\r\n", "ok", 2);
    eio_session_unref(s);
}

/* --- packets and actions --- */

void eio__session_on_packet(eio_session *s, eio_conn *from, const eio_packet *pkt)
{
    eio_session_ref(s);
    int on_probe = from && from == s->probe;
    apply(s, eio_sm_on_packet(&s->sm, on_probe, pkt, eio__now_ms(s->srv)), pkt);
    eio_session_unref(s);
}

static void finish_upgrade(eio_session *s)
{
    eio_conn *ws = s->probe;
    s->probe = NULL;
    s->ws = ws;
    stop_upgrade_timer(s);
    /* A GET still parked is answered and the polling transport is discarded. */
    if (s->get) {
        eio_conn *g = s->get;
        detach(s, g);
        eio__http_respond(g, 200, poll_headers, "6", 1);
        eio__http_resume(g);
    }
    /* What waited for polling leaves on the WebSocket, in order. */
    if (s->pollq) {
        /* Copied out first: the payload is decoded in place, and its pieces may be shared messages (eio_msg). */
        size_t len = evbuffer_get_length(s->pollq);
        uint8_t *buf = len ? malloc(len) : NULL;
        if (buf && evbuffer_remove(s->pollq, buf, len) == (int)len) {
            size_t pos = 0;
            eio_packet pkt;
            while (eio_payload_next(buf, len, &pos, &pkt) > 0)
                ws_add(ws, pkt.type, pkt.binary, pkt.data, pkt.len);
        }
        free(buf);
        evbuffer_free(s->pollq);
        s->pollq = NULL;
    }
    eio__log(EIO_LOG_DEBUG, "session %s upgraded to websocket", s->id);
    if (s->srv->h.on_upgrade)
        s->srv->h.on_upgrade(s, s->srv->h.user_data);
}

static void abort_probe(eio_session *s)
{
    eio_conn *p = s->probe;
    stop_upgrade_timer(s);
    eio_sm_on_probe_closed(&s->sm);
    if (!p)
        return;
    detach(s, p);
    eio__ws_close(p, 0);
}

static void apply(eio_session *s, int acts, const eio_packet *pkt)
{
    eio_server *srv = s->srv;
    if (acts & EIO_SM_ACT_DELIVER && srv->h.on_message)
        srv->h.on_message(s, pkt->data ? pkt->data : (const uint8_t *)"", pkt->len, pkt->binary, srv->h.user_data);
    if (acts & EIO_SM_ACT_REARM_HB)
        arm_heartbeat(s);
    if (acts & EIO_SM_ACT_SEND_PING)
        eio__session_send(s, EIO_PACKET_PING, 0, NULL, 0);
    if (acts & EIO_SM_ACT_PROBE_PONG && s->probe)
        eio__ws_send(s->probe, EIO_WS_TEXT, (const uint8_t *)"3", 1, (const uint8_t *)"probe", 5);
    if (acts & EIO_SM_ACT_POLL_NOOP)
        answer_get(s, 1);
    if (acts & EIO_SM_ACT_UPGRADED)
        finish_upgrade(s);
    if (acts & EIO_SM_ACT_ABORT_PROBE)
        abort_probe(s);
    if (acts & EIO_SM_ACT_ARM_UPGRADE) {
        stop_upgrade_timer(s);
        s->upgrade_timer = evtimer_new(srv->base, upgrade_cb, s);
        if (s->upgrade_timer) {
            struct timeval tv = {srv->opts.upgrade_timeout_ms / 1000, (srv->opts.upgrade_timeout_ms % 1000) * 1000};
            evtimer_add(s->upgrade_timer, &tv);
        }
    }
    if (acts & EIO_SM_ACT_CLOSE)
        session_finalize(s);
}

void eio__session_attach_probe(eio_session *s, eio_conn *c)
{
    int acts = eio_sm_on_probe_attached(&s->sm, eio__now_ms(s->srv));
    if (acts & EIO_SM_ACT_ABORT_PROBE) {
        /* Already upgrading or upgraded: the reference completes the handshake and closes the WebSocket. */
        if (eio__ws_accept(c, "") == 0)
            eio__ws_close(c, 0);
        else
            eio__conn_close(c);
        return;
    }
    if (eio__ws_accept(c, "") < 0) {
        eio_sm_on_probe_closed(&s->sm);
        eio__conn_close(c);
        return;
    }
    eio__request_free(c->req);
    c->req = NULL;
    s->probe = c;
    eio__ws_start(c, s);
    apply(s, acts, NULL);
}

/* --- close --- */

void eio__session_conn_lost(eio_session *s, eio_conn *c, const char *reason)
{
    eio_session_ref(s);
    int role_data = (c == s->get || c == s->post || c == s->ws);
    int role_probe = (c == s->probe);
    detach(s, c);
    if (role_probe) {
        stop_upgrade_timer(s);
        eio_sm_on_probe_closed(&s->sm);
    } else if (role_data) {
        if (!reason)
            reason = c->mode == EIO_CONN_WS ? EIO_REASON_TRANSPORT_CLOSE : EIO_REASON_TRANSPORT_ERROR;
        eio__session_close(s, reason);
    }
    eio_session_unref(s);
}

void eio__session_detach(eio_session *s, eio_conn *c)
{
    detach(s, c);
}

void eio__session_shutdown(eio_session *s)
{
    eio_session_ref(s);
    if (s->sm.state == EIO_SM_OPEN)
        apply(s, eio_sm_close(&s->sm, EIO_REASON_SERVER_SHUTDOWN), NULL);
    else
        session_finalize(s); /* a graceful close still waiting for its last GET */
    eio_session_unref(s);
}

void eio__session_close(eio_session *s, const char *reason)
{
    eio_session_ref(s);
    apply(s, eio_sm_close(&s->sm, reason), NULL);
    eio_session_unref(s);
}

static void session_finalize(eio_session *s)
{
    if (s->sm.state == EIO_SM_CLOSED)
        return;
    eio_server *srv = s->srv;
    eio_session_ref(s);
    s->sm.state = EIO_SM_CLOSED;
    event_del(&s->timer);
    stop_upgrade_timer(s);
    if (s->probe) {
        eio_conn *p = s->probe;
        detach(s, p);
        eio__ws_close(p, 0);
    }
    if (s->ws) {
        eio_conn *w = s->ws;
        detach(s, w);
        eio__ws_close(w, 0);
    }
    if (s->get) {
        /* The parked GET learns of the close: a noop when the client asked for it, else a close packet. */
        eio_conn *g = s->get;
        detach(s, g);
        eio__http_respond(g, 200, poll_headers, s->sm.client_closed ? "6" : "1", 1);
        eio__http_resume(g);
    }
    if (s->pollq) {
        evbuffer_free(s->pollq);
        s->pollq = NULL;
    }
    table_remove(srv, s);
    eio__log(EIO_LOG_DEBUG, "session %s closed: %s", s->id, s->sm.close_reason);
    if (s->connected) {
        s->connected = 0;
        if (srv->h.on_close)
            srv->h.on_close(s, s->sm.close_reason, srv->h.user_data);
    }
    s->srv = NULL; /* a closed session needs nothing of the server, which may go before it */
    eio_session_unref(s); /* the table's reference */
    eio_session_unref(s);
}

void eio_session_close(eio_session *s)
{
    if (!s || s->sm.state != EIO_SM_OPEN)
        return;
    eio_session_ref(s);
    apply(s, eio_sm_close(&s->sm, EIO_REASON_FORCED_CLOSE) & ~EIO_SM_ACT_CLOSE, NULL);
    if (s->sm.transport == EIO_SM_WEBSOCKET || s->sm.state == EIO_SM_CLOSED) {
        session_finalize(s); /* the WebSocket's close frame goes after what is queued */
    } else {
        /* Polling: what is queued leaves first, then the close packet alone on the next GET, as the reference
         * does (a client handles a payload's packets after its close packet otherwise); the close timeout
         * bounds the wait. */
        s->closing_flush = 1;
        event_del(&s->timer);
        evtimer_add(&s->timer, s->srv->ct_close);
        if (s->get && s->pollq && evbuffer_get_length(s->pollq))
            answer_get(s, 0);
        else
            close_on_get(s);
    }
    eio_session_unref(s);
}

/* --- public accessors --- */

const char *eio_session_id(const eio_session *s)
{
    return s->id;
}

const char *eio_session_transport(const eio_session *s)
{
    return s->sm.transport == EIO_SM_WEBSOCKET ? "websocket" : "polling";
}

int eio_session_protocol(const eio_session *s)
{
    (void)s;
    return 4;
}

void eio_session_set_user_data(eio_session *s, void *user_data)
{
    s->user_data = user_data;
}

void *eio_session_user_data(const eio_session *s)
{
    return s->user_data;
}

/* --- messages shared by many sessions --- */

#define EIO_MSG_HDR_ROOM 10 /* the longest WebSocket frame header a server writes */
/* Below this, a queued message is copied rather than referenced: libevent gives each referenced piece a chain
 * of its own (about 1 KiB of heap), so sharing only pays for larger messages. Either way the bytes are built
 * once per message. */
#define EIO_MSG_SHARE_MIN 1024

struct eio_msg {
    int refs;
    uint8_t binary;
    uint8_t hdr_len;
    size_t len;     /* the message's data */
    char *poll;     /* "\x1e" + the polling piece ("4" + text, or "b" + base64), built by the first polling send */
    size_t poll_len; /* with the separator */
    uint8_t buf[];  /* [unused][WebSocket header]['4' when text][data]: the header ends at EIO_MSG_HDR_ROOM */
};

eio_msg *eio_msg_new(int binary, const void *data, size_t len)
{
    size_t plen = len + (binary ? 0 : 1);
    eio_msg *m = malloc(sizeof(*m) + EIO_MSG_HDR_ROOM + plen);
    if (!m)
        return NULL;
    m->refs = 1;
    m->binary = binary ? 1 : 0;
    m->len = len;
    m->poll = NULL;
    m->poll_len = 0;
    uint8_t hdr[EIO_MSG_HDR_ROOM];
    m->hdr_len = (uint8_t)eio_ws_frame_header(hdr, binary ? EIO_WS_BINARY : EIO_WS_TEXT, plen);
    memcpy(m->buf + EIO_MSG_HDR_ROOM - m->hdr_len, hdr, m->hdr_len);
    uint8_t *p = m->buf + EIO_MSG_HDR_ROOM;
    if (!binary)
        *p++ = '4';
    if (len)
        memcpy(p, data, len);
    return m;
}

void eio_msg_unref(eio_msg *m)
{
    if (m && --m->refs == 0) {
        free(m->poll);
        free(m);
    }
}

static void msg_chain_done(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    eio_msg_unref(arg);
}

/* Adds bytes of m to buf: a reference (the chain holds m until written) for large ones, a copy for small. */
static int msg_add(struct evbuffer *buf, eio_msg *m, const void *data, size_t len)
{
    if (len < EIO_MSG_SHARE_MIN)
        return evbuffer_add(buf, data, len);
    if (evbuffer_add_reference(buf, data, len, msg_chain_done, m) < 0)
        return -1;
    m->refs++;
    return 0;
}

/* The polling piece with its separator in front: "\x1e4..." or "\x1eb<base64>", built once. */
static int msg_poll_piece(eio_msg *m)
{
    if (m->poll)
        return 0;
    size_t n = m->binary ? eio_base64_encoded_len(m->len) : m->len;
    if (!(m->poll = malloc(n + 2)))
        return -1;
    m->poll[0] = 0x1e;
    if (m->binary) {
        m->poll[1] = 'b';
        m->poll_len = 2 + eio_base64_encode(m->buf + EIO_MSG_HDR_ROOM, m->len, m->poll + 2);
    } else {
        memcpy(m->poll + 1, m->buf + EIO_MSG_HDR_ROOM, m->len + 1); /* '4' + text */
        m->poll_len = m->len + 2;
    }
    return 0;
}

int eio_session_can_take(const eio_session *s, size_t bytes)
{
    return eio_session_writable(s) && eio_session_queued(s) + bytes <= s->srv->opts.max_queued_bytes;
}

int eio_session_writable(const eio_session *s)
{
    if (!s || s->sm.state != EIO_SM_OPEN || !s->srv)
        return 0;
    if (s->sm.transport == EIO_SM_WEBSOCKET)
        return s->ws && !s->ws->wblocked && !s->ws->close_sent;
    return s->get != NULL;
}

size_t eio_session_queued(const eio_session *s)
{
    if (s->sm.transport == EIO_SM_WEBSOCKET)
        return s->ws ? eio__conn_queued(s->ws) : 0;
    return s->pollq ? evbuffer_get_length(s->pollq) : 0;
}

int eio_session_send_msg(eio_session *s, eio_msg *m, unsigned flags)
{
    if (!s || s->sm.state != EIO_SM_OPEN || !s->srv)
        return EIO_ECLOSED;
    if ((flags & EIO_SEND_VOLATILE) && !eio_session_can_take(s, m->len + 16))
        return EIO_EDROPPED;
    int rc = 0;
    size_t queued;
    if (s->sm.transport == EIO_SM_WEBSOCKET) {
        eio_conn *c = s->ws;
        if (!c || c->mode != EIO_CONN_WS || c->close_sent || c->dead)
            return EIO_ECLOSED;
        struct evbuffer *out = eio__conn_out(c);
        const uint8_t *frame = m->buf + EIO_MSG_HDR_ROOM - m->hdr_len;
        if (!out || msg_add(out, m, frame, m->hdr_len + m->len + (m->binary ? 0 : 1)) < 0)
            rc = EIO_ENOMEM;
        queued = eio__conn_queued(c);
    } else {
        if (msg_poll_piece(m) < 0)
            return EIO_ENOMEM;
        if (!s->pollq && !(s->pollq = evbuffer_new()))
            return EIO_ENOMEM;
        size_t skip = evbuffer_get_length(s->pollq) ? 0 : 1; /* the separator only between packets */
        if (msg_add(s->pollq, m, m->poll + skip, m->poll_len - skip) < 0)
            rc = EIO_ENOMEM;
        queued = evbuffer_get_length(s->pollq);
        if (rc == 0 && s->get)
            schedule_flush(s);
    }
    return after_queue(s, rc, queued);
}

int eio_session_send_text(eio_session *s, const char *data, size_t len)
{
    if (!s || s->sm.state != EIO_SM_OPEN || !s->srv)
        return EIO_ECLOSED;
    return eio__session_send(s, EIO_PACKET_MESSAGE, 0, (const uint8_t *)data, len);
}

int eio_session_send_binary(eio_session *s, const uint8_t *data, size_t len)
{
    if (!s || s->sm.state != EIO_SM_OPEN || !s->srv)
        return EIO_ECLOSED;
    return eio__session_send(s, EIO_PACKET_MESSAGE, 1, data, len);
}
