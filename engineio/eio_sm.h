/*
 * The session state machine: heartbeat, upgrade and close decisions, with time passed in. Pure: no I/O,
 * no libevent. The transport glue (eio_session.c) feeds it packets and timer expiries and performs the
 * actions it returns; the unit tests feed it the same and check the actions and deadlines.
 */
#ifndef EIO_SM_H
#define EIO_SM_H

#include <stdint.h>

#include "eio_codec.h"

enum eio_sm_state { EIO_SM_OPEN = 0, EIO_SM_CLOSING = 1, EIO_SM_CLOSED = 2 };
enum eio_sm_transport { EIO_SM_POLLING = 0, EIO_SM_WEBSOCKET = 1 };
enum eio_sm_upgrade { EIO_SM_UPG_NONE = 0, EIO_SM_UPG_PROBING = 1, EIO_SM_UPG_PROBED = 2 };
enum eio_sm_heartbeat { EIO_SM_HB_WAIT_PING = 0, EIO_SM_HB_WAIT_PONG = 1 };

/* Actions, as bit flags: what the glue must do after a call. */
enum {
    EIO_SM_ACT_DELIVER = 1 << 0,     /* hand the message packet to the application */
    EIO_SM_ACT_CLOSE = 1 << 1,       /* close the session with sm->close_reason */
    EIO_SM_ACT_REARM_HB = 1 << 2,    /* (re)arm the heartbeat timer for the current phase */
    EIO_SM_ACT_SEND_PING = 1 << 3,   /* send a ping packet on the current transport */
    EIO_SM_ACT_PROBE_PONG = 1 << 4,  /* send "3probe" on the probe WebSocket */
    EIO_SM_ACT_POLL_NOOP = 1 << 5,   /* answer the parked GET (with a noop if nothing else waits) */
    EIO_SM_ACT_UPGRADED = 1 << 6,    /* the probe WebSocket is now the transport */
    EIO_SM_ACT_ABORT_PROBE = 1 << 7, /* close the probe WebSocket; polling goes on */
    EIO_SM_ACT_ARM_UPGRADE = 1 << 8  /* arm the upgrade timer (upgrade_timeout from now) */
};

typedef struct eio_sm {
    uint8_t state;          /* enum eio_sm_state; only moves forward */
    uint8_t transport;      /* enum eio_sm_transport: the transport that carries data */
    uint8_t upgrade;        /* enum eio_sm_upgrade; NONE whenever transport is WEBSOCKET */
    uint8_t heartbeat;      /* enum eio_sm_heartbeat */
    uint8_t client_closed;  /* the close came from a client close packet (the parked GET gets a noop) */
    const char *close_reason;   /* static EIO_REASON_* once state is CLOSING or CLOSED, else NULL */
    uint32_t ping_interval;     /* ms */
    uint32_t ping_timeout;      /* ms */
    uint32_t upgrade_timeout;   /* ms */
    uint64_t hb_deadline;       /* ms: when the heartbeat timer fires next */
    uint64_t upgrade_deadline;  /* ms: when an unfinished upgrade is abandoned (valid while upgrade != NONE) */
} eio_sm;

/* Starts an open session on `transport` at time now: the first ping is due at now + ping_interval. */
void eio_sm_init(eio_sm *sm, int transport, uint32_t ping_interval, uint32_t ping_timeout,
                 uint32_t upgrade_timeout, uint64_t now);

/* A packet arrived on the data transport (on_probe 0) or on the probe WebSocket (on_probe 1). pkt NULL
 * means an undecodable packet. Returns EIO_SM_ACT_* flags. */
int eio_sm_on_packet(eio_sm *sm, int on_probe, const eio_packet *pkt, uint64_t now);

/* The heartbeat timer fired: ping due (SEND_PING | REARM_HB) or pong overdue (CLOSE "ping timeout"). */
int eio_sm_on_heartbeat_timer(eio_sm *sm, uint64_t now);

/* A WebSocket with this session's id arrived for an upgrade. Returns ARM_UPGRADE, or ABORT_PROBE when an
 * upgrade is not possible now (already upgrading, upgraded, or closing). */
int eio_sm_on_probe_attached(eio_sm *sm, uint64_t now);

/* The upgrade timer fired, or the probe WebSocket went away: the upgrade is abandoned. */
int eio_sm_on_upgrade_timer(eio_sm *sm);
void eio_sm_on_probe_closed(eio_sm *sm);

/* The session must close for `reason` (a transport failure, the application, server shutdown). Returns
 * CLOSE the first time, 0 when already closing or closed. */
int eio_sm_close(eio_sm *sm, const char *reason);

#endif
