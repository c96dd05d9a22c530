/*
 * The WebSocket transport: the 101 answer, frames read straight from the connection's input buffer (no
 * per-connection frame context, see eio_wsframe.h), messages handed to the session, frames written to the
 * output buffer (written at the end of the loop iteration: what it queued leaves in one writev).
 *
 * Limits: a message (all its fragments) may not pass max_http_buffer_size (close 1009), a message may not
 * have more than EIO_WS_MAX_FRAGMENTS fragments (close 1008), and the output queue is capped by the
 * session's max_queued_bytes, pongs included.
 */
#include <event2/buffer.h>
#include <string.h>

#include "eio_private.h"
#include "eio_wsframe.h"

#define EIO_WS_MAX_FRAGMENTS 1024

int eio__ws_accept(eio_conn *c, const char *extra_headers)
{
    const char *key = eio_request_header(c->req, "sec-websocket-key");
    char accept[29];
    if (!key || eio_ws_accept_key(key, strlen(key), accept) < 0)
        return -1;
    /* As ws does without handleProtocols: the first subprotocol offered is chosen (validated by the router). */
    const char *proto = eio_request_header(c->req, "sec-websocket-protocol");
    int plen = 0;
    if (proto) {
        proto += strspn(proto, " \t");
        plen = (int)strcspn(proto, ", \t");
    }
    struct evbuffer *out = eio__conn_out(c);
    if (!out || evbuffer_add_printf(out,
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: %s\r\n%s%.*s%s%s\r\n",
                            accept, plen ? "Sec-WebSocket-Protocol: " : "", plen, plen ? proto : "",
                            plen ? "\r\n" : "", extra_headers ? extra_headers : "") < 0)
        return -1;
    c->mode = EIO_CONN_WS;
    c->parked = 0;
    c->req_start = 0;
    eio__conn_set_read_timeout(c, 0); /* the heartbeat watches a WebSocket */
    return 0;
}

void eio__ws_start(eio_conn *c, eio_session *s)
{
    c->sess = s;
    eio_session_ref(s);
    if (s->sm.transport == EIO_SM_WEBSOCKET && !s->ws)
        s->ws = c;
}

int eio__ws_send(eio_conn *c, int opcode, const uint8_t *prefix, size_t plen, const uint8_t *data, size_t len)
{
    if (c->mode != EIO_CONN_WS || c->close_sent || c->dead)
        return -1;
    uint8_t hdr[10];
    size_t h = eio_ws_frame_header(hdr, opcode, plen + len);
    struct evbuffer *out = eio__conn_out(c);
    if (!out || evbuffer_add(out, hdr, h) < 0 || (plen && evbuffer_add(out, prefix, plen) < 0) ||
        (len && evbuffer_add(out, data, len) < 0))
        return -1;
    return 0;
}

void eio__ws_close(eio_conn *c, int code)
{
    if (c->mode == EIO_CONN_WS && !c->close_sent && !c->dead) {
        uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        eio__ws_send(c, EIO_WS_CLOSE, NULL, 0, payload, code ? 2 : 0);
        c->close_sent = 1;
    }
    if (c->frag) {
        evbuffer_free(c->frag);
        c->frag = NULL;
    }
    eio__conn_close_after_write(c);
}

/* A protocol violation: the session (if any) closes with "transport error", the peer gets `code`. */
static void ws_fail(eio_conn *c, int code)
{
    eio__log(EIO_LOG_DEBUG, "websocket closed with %d", code);
    if (c->sess)
        eio__session_conn_lost(c->sess, c, EIO_REASON_TRANSPORT_ERROR);
    eio__ws_close(c, code);
}

static void deliver(eio_conn *c, int opcode, const uint8_t *data, size_t len)
{
    eio_session *s = c->sess;
    if (!s)
        return;
    eio_packet pkt;
    if (opcode == EIO_WS_TEXT) {
        if (!eio_utf8_valid(data, len)) {
            ws_fail(c, EIO_WS_CLOSE_INVALID_DATA);
            return;
        }
        if (eio_packet_decode_text(data, len, &pkt) < 0) {
            eio__session_on_packet(s, c, NULL);
            return;
        }
        if (pkt.type == EIO_PACKET_CLOSE && c == s->ws) {
            /* The reference ignores a close packet over WebSocket and waits for the ping timeout; we close
             * at once, as python-engineio does. */
            eio__session_on_packet(s, c, &pkt);
            return;
        }
    } else {
        pkt.type = EIO_PACKET_MESSAGE;
        pkt.binary = 1;
        pkt.data = data;
        pkt.len = len;
    }
    eio__session_on_packet(s, c, &pkt);
}

/* Handles one complete frame whose (unmasked) payload is data[0..len). */
static void on_frame(eio_conn *c, const eio_ws_frame *f, const uint8_t *data, size_t len)
{
    eio_server *srv = c->srv;
    switch (f->opcode) {
    case EIO_WS_PING:
        if (eio__conn_queued(c) > srv->opts.max_queued_bytes) {
            ws_fail(c, EIO_WS_CLOSE_POLICY); /* a ping flood from a peer that does not read */
            return;
        }
        eio__ws_send(c, EIO_WS_PONG, NULL, 0, data, len);
        return;
    case EIO_WS_PONG:
        return;
    case EIO_WS_CLOSE: {
        int code = len >= 2 ? (data[0] << 8 | data[1]) : 0;
        /* The codes a peer may send (ws's isValidStatusCode), and a UTF-8 reason. */
        if (len == 1 || (len >= 2 && !((code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
                                         code != 1006) ||
                                        (code >= 3000 && code <= 4999)))) {
            ws_fail(c, EIO_WS_CLOSE_PROTOCOL);
            return;
        }
        if (len > 2 && !eio_utf8_valid(data + 2, len - 2)) {
            ws_fail(c, EIO_WS_CLOSE_INVALID_DATA);
            return;
        }
        if (c->sess)
            eio__session_conn_lost(c->sess, c, EIO_REASON_TRANSPORT_CLOSE);
        if (!c->close_sent && c->mode == EIO_CONN_WS) {
            uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};
            eio__ws_send(c, EIO_WS_CLOSE, NULL, 0, payload, code ? 2 : 0);
            c->close_sent = 1;
        }
        eio__ws_close(c, 0);
        return;
    }
    case EIO_WS_TEXT:
    case EIO_WS_BINARY:
        if (c->frag) {
            ws_fail(c, EIO_WS_CLOSE_PROTOCOL); /* a new message inside a fragmented one */
            return;
        }
        if (f->fin) {
            deliver(c, f->opcode, data, len);
            return;
        }
        if (!(c->frag = evbuffer_new()) || evbuffer_add(c->frag, data, len) < 0) {
            ws_fail(c, EIO_WS_CLOSE_POLICY);
            return;
        }
        c->frag_opcode = (uint8_t)f->opcode;
        c->frag_count = 1;
        return;
    case EIO_WS_CONT:
        if (!c->frag) {
            ws_fail(c, EIO_WS_CLOSE_PROTOCOL);
            return;
        }
        if (++c->frag_count > EIO_WS_MAX_FRAGMENTS) {
            ws_fail(c, EIO_WS_CLOSE_POLICY);
            return;
        }
        if (evbuffer_add(c->frag, data, len) < 0) {
            ws_fail(c, EIO_WS_CLOSE_POLICY);
            return;
        }
        if (f->fin) {
            struct evbuffer *m = c->frag;
            c->frag = NULL;
            size_t mlen = evbuffer_get_length(m);
            const uint8_t *p = mlen ? evbuffer_pullup(m, -1) : (const uint8_t *)"";
            deliver(c, c->frag_opcode, p, mlen);
            evbuffer_free(m);
        }
        return;
    default:
        ws_fail(c, EIO_WS_CLOSE_PROTOCOL);
        return;
    }
}

void eio__ws_read(eio_conn *c)
{
    struct evbuffer *in = c->in;
    size_t max = c->srv->opts.max_http_buffer_size;
    while (in && c->mode == EIO_CONN_WS && !c->dead) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 2)
            return;
        uint8_t hdr[EIO_WS_MAX_HEADER];
        size_t hn = avail < sizeof(hdr) ? avail : sizeof(hdr);
        evbuffer_copyout(in, hdr, hn);
        eio_ws_frame f;
        int r = eio_ws_frame_parse(hdr, hn, &f);
        if (r == 0)
            return;
        if (r < 0) {
            ws_fail(c, -r);
            return;
        }
        if (f.opcode < EIO_WS_CLOSE) {
            size_t have = c->frag ? evbuffer_get_length(c->frag) : 0;
            if (f.payload_len > max || have + f.payload_len > max) {
                ws_fail(c, EIO_WS_CLOSE_TOO_BIG);
                return;
            }
        }
        if (avail - f.header_len < f.payload_len)
            return; /* bounded: payload_len <= max was checked */
        size_t len = (size_t)f.payload_len;
        evbuffer_drain(in, f.header_len);
        uint8_t *data = len ? evbuffer_pullup(in, (ev_ssize_t)len) : (uint8_t *)hdr;
        if (!data) {
            ws_fail(c, EIO_WS_CLOSE_POLICY);
            return;
        }
        eio_ws_unmask(data, len, f.mask, 0);
        on_frame(c, &f, data, len);
        if (c->dead)
            return;
        evbuffer_drain(in, len);
    }
}
