/* The session state machine: see eio_sm.h. The rules follow engine.io 6's lib/socket.ts. */
#include "eio_sm.h"

#include <string.h>

#include "engineio.h"

void eio_sm_init(eio_sm *sm, int transport, uint32_t ping_interval, uint32_t ping_timeout,
                 uint32_t upgrade_timeout, uint64_t now)
{
    memset(sm, 0, sizeof(*sm));
    sm->state = EIO_SM_OPEN;
    sm->transport = (uint8_t)transport;
    sm->upgrade = EIO_SM_UPG_NONE;
    sm->heartbeat = EIO_SM_HB_WAIT_PING;
    sm->ping_interval = ping_interval;
    sm->ping_timeout = ping_timeout;
    sm->upgrade_timeout = upgrade_timeout;
    sm->hb_deadline = now + ping_interval;
}

int eio_sm_close(eio_sm *sm, const char *reason)
{
    if (sm->state != EIO_SM_OPEN)
        return 0;
    sm->state = EIO_SM_CLOSING;
    sm->close_reason = reason;
    return EIO_SM_ACT_CLOSE | (sm->upgrade != EIO_SM_UPG_NONE ? EIO_SM_ACT_ABORT_PROBE : 0);
}

static int probe_packet(eio_sm *sm, const eio_packet *pkt)
{
    /* On the probe WebSocket only "2probe" and then "5" are valid; anything else abandons the upgrade. */
    if (pkt && pkt->type == EIO_PACKET_PING && pkt->len == 5 && memcmp(pkt->data, "probe", 5) == 0) {
        sm->upgrade = EIO_SM_UPG_PROBED;
        return EIO_SM_ACT_PROBE_PONG | EIO_SM_ACT_POLL_NOOP;
    }
    if (pkt && pkt->type == EIO_PACKET_UPGRADE) {
        /* The reference accepts "5" without a probe first. */
        sm->upgrade = EIO_SM_UPG_NONE;
        sm->transport = EIO_SM_WEBSOCKET;
        return EIO_SM_ACT_UPGRADED;
    }
    sm->upgrade = EIO_SM_UPG_NONE;
    return EIO_SM_ACT_ABORT_PROBE;
}

int eio_sm_on_packet(eio_sm *sm, int on_probe, const eio_packet *pkt, uint64_t now)
{
    if (sm->state != EIO_SM_OPEN)
        return 0;
    if (on_probe)
        return sm->upgrade != EIO_SM_UPG_NONE ? probe_packet(sm, pkt) : EIO_SM_ACT_ABORT_PROBE;
    if (!pkt)
        return eio_sm_close(sm, EIO_REASON_PARSE_ERROR);
    switch (pkt->type) {
    case EIO_PACKET_MESSAGE:
        return EIO_SM_ACT_DELIVER;
    case EIO_PACKET_PONG:
        /* A pong (solicited or not) restarts the interval: the next ping is ping_interval from now. */
        sm->heartbeat = EIO_SM_HB_WAIT_PING;
        sm->hb_deadline = now + sm->ping_interval;
        return EIO_SM_ACT_REARM_HB;
    case EIO_PACKET_PING:
        /* v4: only the server pings ("invalid heartbeat direction"). */
        return eio_sm_close(sm, EIO_REASON_TRANSPORT_ERROR);
    case EIO_PACKET_CLOSE:
        sm->client_closed = 1;
        return eio_sm_close(sm, EIO_REASON_TRANSPORT_CLOSE);
    default:
        /* open, upgrade and noop from the client carry nothing for the data transport. */
        return 0;
    }
}

int eio_sm_on_heartbeat_timer(eio_sm *sm, uint64_t now)
{
    if (sm->state != EIO_SM_OPEN)
        return 0;
    if (sm->heartbeat == EIO_SM_HB_WAIT_PING) {
        sm->heartbeat = EIO_SM_HB_WAIT_PONG;
        sm->hb_deadline = now + sm->ping_timeout;
        return EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB;
    }
    return eio_sm_close(sm, EIO_REASON_PING_TIMEOUT);
}

int eio_sm_on_probe_attached(eio_sm *sm, uint64_t now)
{
    if (sm->state != EIO_SM_OPEN || sm->transport != EIO_SM_POLLING || sm->upgrade != EIO_SM_UPG_NONE)
        return EIO_SM_ACT_ABORT_PROBE;
    sm->upgrade = EIO_SM_UPG_PROBING;
    sm->upgrade_deadline = now + sm->upgrade_timeout;
    return EIO_SM_ACT_ARM_UPGRADE;
}

int eio_sm_on_upgrade_timer(eio_sm *sm)
{
    if (sm->upgrade == EIO_SM_UPG_NONE)
        return 0;
    sm->upgrade = EIO_SM_UPG_NONE;
    return EIO_SM_ACT_ABORT_PROBE;
}

void eio_sm_on_probe_closed(eio_sm *sm)
{
    sm->upgrade = EIO_SM_UPG_NONE;
}
