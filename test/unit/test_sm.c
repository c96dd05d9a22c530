/*
 * Unit tests for engineio/eio_sm.h, the session state machine: heartbeat, packets on the data transport,
 * the polling -> WebSocket upgrade and close. Time is an argument, so nothing here sleeps: each test picks
 * its own clock values (far from zero, so that "now + x" cannot pass by accident with now == 0).
 *
 * The expected behaviour is engine.io 6's lib/socket.ts (onPacket, schedulePing/resetPingTimeout,
 * _maybeUpgrade, onClose), as summarised in /work/shared/PROTOCOL.md and BAD-INPUTS.md section 3.
 *
 * Close reasons are checked twice: against the EIO_REASON_* macro and against the literal string of the
 * reference, so that a typo in a macro is caught too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "engineio/eio_sm.h"
#include "engineio/engineio.h"

#define INTERVAL 25000u
#define TIMEOUT 20000u
#define UPGRADE_TIMEOUT 10000u
#define T0 1000000000ull /* an arbitrary start time, in ms */

/* ------------------------------------------------------------------------------------------------------ */
/* Assertions that print both sides                                                                          */

/* Writes the names of the EIO_SM_ACT_* flags in acts, joined by '|', or "0". */
static const char *acts_str(int acts, char *out, size_t cap)
{
    static const char *const names[] = {"DELIVER",    "CLOSE",       "REARM_HB",    "SEND_PING",  "PROBE_PONG",
                                        "POLL_NOOP", "UPGRADED", "ABORT_PROBE", "ARM_UPGRADE"};
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (acts & (1 << i))
            n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "|" : "", names[i]);
    int unknown = acts & ~((1 << (int)(sizeof(names) / sizeof(names[0]))) - 1);
    if (unknown)
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%#x", n ? "|" : "", (unsigned)unknown);
    if (n == 0)
        snprintf(out, cap, "0");
    return out;
}

static void check_acts(int actual, int expected, const char *expr, const char *file, int line)
{
    if (actual == expected)
        return;
    char a[160], e[160];
    print_error("%s returned %s, expected %s\n", expr, acts_str(actual, a, sizeof(a)),
                acts_str(expected, e, sizeof(e)));
    _fail(file, line);
}

static void check_u64(uint64_t actual, uint64_t expected, const char *expr, const char *file, int line)
{
    if (actual == expected)
        return;
    print_error("%s is %llu (T0%+lld), expected %llu (T0%+lld)\n", expr, (unsigned long long)actual,
                (long long)(actual - T0), (unsigned long long)expected, (long long)(expected - T0));
    _fail(file, line);
}

static void check_int(long long actual, long long expected, const char *expr, const char *file, int line)
{
    if (actual == expected)
        return;
    print_error("%s is %lld, expected %lld\n", expr, actual, expected);
    _fail(file, line);
}

/* The reason must be the macro's pointer value's text and the reference's literal text. */
static void check_reason(const char *actual, const char *macro, const char *literal, const char *file, int line)
{
    if (!actual) {
        print_error("close_reason is NULL, expected \"%s\"\n", literal);
        _fail(file, line);
        return;
    }
    if (strcmp(actual, macro) != 0 || strcmp(actual, literal) != 0) {
        print_error("close_reason is \"%s\", expected \"%s\" (the macro says \"%s\")\n", actual, literal, macro);
        _fail(file, line);
    }
}

#define ACTS(expr, expected) check_acts((expr), (expected), #expr, __FILE__, __LINE__)
#define U64(expr, expected) check_u64((uint64_t)(expr), (uint64_t)(expected), #expr, __FILE__, __LINE__)
#define INT(expr, expected) check_int((long long)(expr), (long long)(expected), #expr, __FILE__, __LINE__)
#define REASON(sm, macro, literal) check_reason((sm)->close_reason, macro, literal, __FILE__, __LINE__)

/* ------------------------------------------------------------------------------------------------------ */
/* Packets                                                                                                  */

static eio_packet pkt_text(int type, const char *data)
{
    eio_packet p;
    p.type = type;
    p.binary = 0;
    p.len = strlen(data);
    p.data = p.len ? (const uint8_t *)data : NULL;
    return p;
}

static eio_packet pkt_binary(const uint8_t *data, size_t len)
{
    eio_packet p;
    p.type = EIO_PACKET_MESSAGE;
    p.binary = 1;
    p.data = len ? data : NULL;
    p.len = len;
    return p;
}

/* The packet on the data transport / on the probe. */
static int data_pkt(eio_sm *sm, int type, const char *data, uint64_t now)
{
    eio_packet p = pkt_text(type, data);
    return eio_sm_on_packet(sm, 0, &p, now);
}

static int probe_pkt(eio_sm *sm, int type, const char *data, uint64_t now)
{
    eio_packet p = pkt_text(type, data);
    return eio_sm_on_packet(sm, 1, &p, now);
}

/* A polling session at T0 with the reference's default timings. */
static void init_default(eio_sm *sm)
{
    memset(sm, 0xa5, sizeof(*sm)); /* eio_sm_init must set every field */
    eio_sm_init(sm, EIO_SM_POLLING, INTERVAL, TIMEOUT, UPGRADE_TIMEOUT, T0);
}

/* A polling session in the middle of an upgrade: PROBING, or PROBED after "2probe". */
static void init_upgrading(eio_sm *sm, int probed)
{
    init_default(sm);
    ACTS(eio_sm_on_probe_attached(sm, T0 + 10), EIO_SM_ACT_ARM_UPGRADE);
    if (probed)
        ACTS(probe_pkt(sm, EIO_PACKET_PING, "probe", T0 + 20), EIO_SM_ACT_PROBE_PONG | EIO_SM_ACT_POLL_NOOP);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Init and the reasons                                                                                     */

static void test_reason_macros(void **state)
{
    (void)state;
    /* The strings the application (and socket.io on top) sees: the reference's exact words. */
    assert_string_equal(EIO_REASON_TRANSPORT_CLOSE, "transport close");
    assert_string_equal(EIO_REASON_TRANSPORT_ERROR, "transport error");
    assert_string_equal(EIO_REASON_PING_TIMEOUT, "ping timeout");
    assert_string_equal(EIO_REASON_PARSE_ERROR, "parse error");
    assert_string_equal(EIO_REASON_FORCED_CLOSE, "forced close");
    assert_string_equal(EIO_REASON_SERVER_SHUTDOWN, "server shutting down");
}

static void test_init(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);
    INT(sm.state, EIO_SM_OPEN);
    INT(sm.transport, EIO_SM_POLLING);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
    INT(sm.client_closed, 0);
    assert_null(sm.close_reason);
    U64(sm.ping_interval, INTERVAL);
    U64(sm.ping_timeout, TIMEOUT);
    U64(sm.upgrade_timeout, UPGRADE_TIMEOUT);
    U64(sm.hb_deadline, T0 + INTERVAL);

    /* A direct WebSocket session starts the same way on the other transport. */
    memset(&sm, 0x5a, sizeof(sm));
    eio_sm_init(&sm, EIO_SM_WEBSOCKET, 300, 200, 1000, 42);
    INT(sm.state, EIO_SM_OPEN);
    INT(sm.transport, EIO_SM_WEBSOCKET);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
    INT(sm.client_closed, 0);
    assert_null(sm.close_reason);
    U64(sm.hb_deadline, 42 + 300);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Heartbeat                                                                                                */

static void test_heartbeat_ping_pong(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);

    /* The interval ends: ping, and wait pingTimeout for the pong. */
    uint64_t t = T0 + INTERVAL;
    ACTS(eio_sm_on_heartbeat_timer(&sm, t), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PONG);
    U64(sm.hb_deadline, t + TIMEOUT);
    INT(sm.state, EIO_SM_OPEN);

    /* The pong comes 1234 ms later: the next ping is pingInterval after the pong, not after the ping. */
    uint64_t pong = t + 1234;
    ACTS(data_pkt(&sm, EIO_PACKET_PONG, "", pong), EIO_SM_ACT_REARM_HB);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
    U64(sm.hb_deadline, pong + INTERVAL);
    INT(sm.state, EIO_SM_OPEN);
    assert_null(sm.close_reason);

    /* And the cycle goes on from there. */
    ACTS(eio_sm_on_heartbeat_timer(&sm, pong + INTERVAL), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
    U64(sm.hb_deadline, pong + INTERVAL + TIMEOUT);
}

static void test_heartbeat_ping_timeout(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);
    uint64_t t = T0 + INTERVAL;
    ACTS(eio_sm_on_heartbeat_timer(&sm, t), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
    /* No pong: the timer fires again while waiting for one. */
    ACTS(eio_sm_on_heartbeat_timer(&sm, t + TIMEOUT), EIO_SM_ACT_CLOSE);
    INT(sm.state, EIO_SM_CLOSING);
    REASON(&sm, EIO_REASON_PING_TIMEOUT, "ping timeout");
    INT(sm.client_closed, 0);

    /* Closed: the timer, a late pong, a message do nothing, and the reason stays. */
    ACTS(eio_sm_on_heartbeat_timer(&sm, t + TIMEOUT + 1), 0);
    ACTS(data_pkt(&sm, EIO_PACKET_PONG, "", t + TIMEOUT + 2), 0);
    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "late", t + TIMEOUT + 3), 0);
    INT(sm.state, EIO_SM_CLOSING);
    REASON(&sm, EIO_REASON_PING_TIMEOUT, "ping timeout");
}

static void test_heartbeat_unsolicited_pong(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);
    /* A pong while no ping is out (socket.ts: pingIntervalTimer.refresh()) restarts the interval. */
    ACTS(data_pkt(&sm, EIO_PACKET_PONG, "", T0 + 100), EIO_SM_ACT_REARM_HB);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
    U64(sm.hb_deadline, T0 + 100 + INTERVAL);

    /* A flood of them costs nothing and keeps only the last one's deadline (python-engineio CVE-2026-48802). */
    for (uint64_t i = 0; i < 10000; i++)
        ACTS(data_pkt(&sm, EIO_PACKET_PONG, "", T0 + 200 + i), EIO_SM_ACT_REARM_HB);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
    U64(sm.hb_deadline, T0 + 200 + 9999 + INTERVAL);
    INT(sm.state, EIO_SM_OPEN);

    /* A pong with data ("3probe" on the data transport) is a pong like any other. */
    ACTS(data_pkt(&sm, EIO_PACKET_PONG, "probe", T0 + 20000), EIO_SM_ACT_REARM_HB);
    U64(sm.hb_deadline, T0 + 20000 + INTERVAL);
}

static void test_heartbeat_long_healthy_run(void **state)
{
    (void)state;
    eio_sm sm;
    eio_sm_init(&sm, EIO_SM_WEBSOCKET, 300, 200, 1000, T0);
    uint64_t now = T0;
    uint64_t expect = T0 + 300;
    for (int i = 0; i < 1000; i++) {
        /* The timer fires a little late sometimes, and the client answers in 0..199 ms. */
        uint64_t fire = expect + (uint64_t)(i % 3);
        U64(sm.hb_deadline, expect);
        ACTS(eio_sm_on_heartbeat_timer(&sm, fire), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
        INT(sm.heartbeat, EIO_SM_HB_WAIT_PONG);
        U64(sm.hb_deadline, fire + 200);
        /* Messages in between change nothing in the heartbeat. */
        if (i % 7 == 0)
            ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "x", fire + 1), EIO_SM_ACT_DELIVER);
        now = fire + (uint64_t)((i * 37) % 200);
        ACTS(data_pkt(&sm, EIO_PACKET_PONG, "", now), EIO_SM_ACT_REARM_HB);
        INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
        expect = now + 300;
        U64(sm.hb_deadline, expect);
        if (sm.state != EIO_SM_OPEN)
            fail_msg("cycle %d: state %d, reason %s", i, sm.state, sm.close_reason ? sm.close_reason : "(null)");
    }
    INT(sm.state, EIO_SM_OPEN);
    assert_null(sm.close_reason);
    INT(sm.transport, EIO_SM_WEBSOCKET);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Packets on the data transport                                                                             */

static void test_data_message_delivers(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);
    static const uint8_t bin[] = {0x00, 0xff, 0x1e};
    eio_packet p;

    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "hello", T0 + 1), EIO_SM_ACT_DELIVER);
    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "", T0 + 2), EIO_SM_ACT_DELIVER);
    p = pkt_binary(bin, sizeof(bin));
    ACTS(eio_sm_on_packet(&sm, 0, &p, T0 + 3), EIO_SM_ACT_DELIVER);
    p = pkt_binary(NULL, 0);
    ACTS(eio_sm_on_packet(&sm, 0, &p, T0 + 4), EIO_SM_ACT_DELIVER);

    /* Messages are not a heartbeat: the deadline does not move. */
    INT(sm.state, EIO_SM_OPEN);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
    U64(sm.hb_deadline, T0 + INTERVAL);

    /* Nor do they answer a ping. */
    ACTS(eio_sm_on_heartbeat_timer(&sm, T0 + INTERVAL), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "not a pong", T0 + INTERVAL + 5), EIO_SM_ACT_DELIVER);
    INT(sm.heartbeat, EIO_SM_HB_WAIT_PONG);
    U64(sm.hb_deadline, T0 + INTERVAL + TIMEOUT);
}

static void test_data_client_ping_is_an_error(void **state)
{
    (void)state;
    eio_sm sm;
    /* v4: only the server pings ("invalid heartbeat direction" -> onError -> "transport error"). */
    init_default(&sm);
    ACTS(data_pkt(&sm, EIO_PACKET_PING, "", T0 + 1), EIO_SM_ACT_CLOSE);
    INT(sm.state, EIO_SM_CLOSING);
    REASON(&sm, EIO_REASON_TRANSPORT_ERROR, "transport error");
    INT(sm.client_closed, 0);

    /* "2probe" on the data transport is no exception. */
    init_default(&sm);
    ACTS(data_pkt(&sm, EIO_PACKET_PING, "probe", T0 + 1), EIO_SM_ACT_CLOSE);
    REASON(&sm, EIO_REASON_TRANSPORT_ERROR, "transport error");
}

static void test_data_close_packet(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);
    ACTS(data_pkt(&sm, EIO_PACKET_CLOSE, "", T0 + 1), EIO_SM_ACT_CLOSE);
    INT(sm.state, EIO_SM_CLOSING);
    REASON(&sm, EIO_REASON_TRANSPORT_CLOSE, "transport close");
    INT(sm.client_closed, 1); /* the parked GET gets a noop, not a close packet */

    /* Over a WebSocket too (we close at once where the reference waits for the ping timeout). */
    eio_sm_init(&sm, EIO_SM_WEBSOCKET, INTERVAL, TIMEOUT, UPGRADE_TIMEOUT, T0);
    ACTS(data_pkt(&sm, EIO_PACKET_CLOSE, "", T0 + 1), EIO_SM_ACT_CLOSE);
    REASON(&sm, EIO_REASON_TRANSPORT_CLOSE, "transport close");
    INT(sm.client_closed, 1);
}

static void test_data_undecodable(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);
    ACTS(eio_sm_on_packet(&sm, 0, NULL, T0 + 1), EIO_SM_ACT_CLOSE);
    INT(sm.state, EIO_SM_CLOSING);
    REASON(&sm, EIO_REASON_PARSE_ERROR, "parse error");
    INT(sm.client_closed, 0);
}

static void test_data_ignored_types(void **state)
{
    (void)state;
    static const int types[] = {EIO_PACKET_OPEN, EIO_PACKET_UPGRADE, EIO_PACKET_NOOP};
    static const char *const datas[] = {"", "probe", "{\"sid\":\"x\"}"};
    for (int transport = EIO_SM_POLLING; transport <= EIO_SM_WEBSOCKET; transport++) {
        eio_sm sm;
        eio_sm_init(&sm, transport, INTERVAL, TIMEOUT, UPGRADE_TIMEOUT, T0);
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
            for (size_t d = 0; d < sizeof(datas) / sizeof(datas[0]); d++) {
                if (data_pkt(&sm, types[i], datas[d], T0 + 1) != 0)
                    fail_msg("transport %d, packet %d%s: expected no action", transport, types[i], datas[d]);
            }
        }
        /* Nothing moved: still open, same transport, same heartbeat. */
        INT(sm.state, EIO_SM_OPEN);
        INT(sm.transport, transport);
        INT(sm.upgrade, EIO_SM_UPG_NONE);
        INT(sm.heartbeat, EIO_SM_HB_WAIT_PING);
        U64(sm.hb_deadline, T0 + INTERVAL);
        assert_null(sm.close_reason);
    }

    /* "5" on the polling transport while an upgrade is on is not the upgrade (it must come on the probe). */
    eio_sm sm;
    init_upgrading(&sm, 1);
    ACTS(data_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 30), 0);
    INT(sm.transport, EIO_SM_POLLING);
    INT(sm.upgrade, EIO_SM_UPG_PROBED);
}

/* Every way in, once closed, gives nothing (or ABORT_PROBE for a new probe), and the first reason stays. */
static void check_closed_is_inert(eio_sm *sm, const char *reason, uint64_t now)
{
    static const int types[] = {EIO_PACKET_OPEN,    EIO_PACKET_CLOSE,   EIO_PACKET_PING, EIO_PACKET_PONG,
                                EIO_PACKET_MESSAGE, EIO_PACKET_UPGRADE, EIO_PACKET_NOOP};
    uint8_t client_closed = sm->client_closed;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        int a = data_pkt(sm, types[i], "", now);
        if (a != 0)
            fail_msg("after \"%s\": packet %d on the data transport returned %#x", reason, types[i], (unsigned)a);
        a = probe_pkt(sm, types[i], "probe", now);
        if (a != 0)
            fail_msg("after \"%s\": packet %d on the probe returned %#x", reason, types[i], (unsigned)a);
    }
    ACTS(eio_sm_on_packet(sm, 0, NULL, now), 0);
    ACTS(eio_sm_on_packet(sm, 1, NULL, now), 0);
    ACTS(eio_sm_on_heartbeat_timer(sm, now), 0);
    ACTS(eio_sm_on_heartbeat_timer(sm, now + INTERVAL + TIMEOUT), 0);
    ACTS(eio_sm_on_probe_attached(sm, now), EIO_SM_ACT_ABORT_PROBE);
    ACTS(eio_sm_close(sm, EIO_REASON_FORCED_CLOSE), 0);
    INT(sm->state, EIO_SM_CLOSING);
    INT(sm->client_closed, client_closed);
    assert_non_null(sm->close_reason);
    assert_string_equal(sm->close_reason, reason);
}

static void test_data_nothing_after_close(void **state)
{
    (void)state;
    eio_sm sm;

    init_default(&sm);
    ACTS(data_pkt(&sm, EIO_PACKET_CLOSE, "", T0 + 1), EIO_SM_ACT_CLOSE);
    check_closed_is_inert(&sm, "transport close", T0 + 2);

    init_default(&sm);
    ACTS(data_pkt(&sm, EIO_PACKET_PING, "", T0 + 1), EIO_SM_ACT_CLOSE);
    check_closed_is_inert(&sm, "transport error", T0 + 2);

    init_default(&sm);
    ACTS(eio_sm_on_packet(&sm, 0, NULL, T0 + 1), EIO_SM_ACT_CLOSE);
    check_closed_is_inert(&sm, "parse error", T0 + 2);

    init_default(&sm);
    ACTS(eio_sm_on_heartbeat_timer(&sm, T0 + INTERVAL), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
    ACTS(eio_sm_on_heartbeat_timer(&sm, T0 + INTERVAL + TIMEOUT), EIO_SM_ACT_CLOSE);
    check_closed_is_inert(&sm, "ping timeout", T0 + INTERVAL + TIMEOUT + 1);

    init_default(&sm);
    ACTS(eio_sm_close(&sm, EIO_REASON_SERVER_SHUTDOWN), EIO_SM_ACT_CLOSE);
    check_closed_is_inert(&sm, "server shutting down", T0 + 2);

    /* A message after the close packet in the same POST body is dropped (the glue stops, but the machine
     * must say so too). */
    init_default(&sm);
    ACTS(data_pkt(&sm, EIO_PACKET_CLOSE, "", T0 + 1), EIO_SM_ACT_CLOSE);
    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "after", T0 + 1), 0);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Upgrade                                                                                                  */

static void test_upgrade_full(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);

    /* The probe WebSocket arrives: arm the upgrade timer. */
    ACTS(eio_sm_on_probe_attached(&sm, T0 + 500), EIO_SM_ACT_ARM_UPGRADE);
    INT(sm.upgrade, EIO_SM_UPG_PROBING);
    U64(sm.upgrade_deadline, T0 + 500 + UPGRADE_TIMEOUT);
    INT(sm.transport, EIO_SM_POLLING);

    /* Polling goes on meanwhile. */
    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "during", T0 + 600), EIO_SM_ACT_DELIVER);
    ACTS(data_pkt(&sm, EIO_PACKET_PONG, "", T0 + 700), EIO_SM_ACT_REARM_HB);
    U64(sm.hb_deadline, T0 + 700 + INTERVAL);

    /* "2probe": answer "3probe" and release the parked GET with a noop. */
    ACTS(probe_pkt(&sm, EIO_PACKET_PING, "probe", T0 + 800), EIO_SM_ACT_PROBE_PONG | EIO_SM_ACT_POLL_NOOP);
    INT(sm.upgrade, EIO_SM_UPG_PROBED);
    INT(sm.transport, EIO_SM_POLLING);
    INT(sm.state, EIO_SM_OPEN);

    /* "5": the probe is now the transport. */
    ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 900), EIO_SM_ACT_UPGRADED);
    INT(sm.transport, EIO_SM_WEBSOCKET);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
    INT(sm.state, EIO_SM_OPEN);
    assert_null(sm.close_reason);

    /* The heartbeat is untouched by the upgrade and goes on over the WebSocket. */
    U64(sm.hb_deadline, T0 + 700 + INTERVAL);
    ACTS(eio_sm_on_heartbeat_timer(&sm, T0 + 700 + INTERVAL), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
    ACTS(data_pkt(&sm, EIO_PACKET_PONG, "", T0 + 800 + INTERVAL), EIO_SM_ACT_REARM_HB);
    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "after", T0 + 900 + INTERVAL), EIO_SM_ACT_DELIVER);

    /* The upgrade timer that was armed fires late (the glue should have stopped it): nothing to do. */
    ACTS(eio_sm_on_upgrade_timer(&sm), 0);
    INT(sm.transport, EIO_SM_WEBSOCKET);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
}

static void test_upgrade_repeated_probe_ping(void **state)
{
    (void)state;
    eio_sm sm;
    /* The reference answers every "2probe" (it only restarts its noop interval). */
    init_upgrading(&sm, 1);
    ACTS(probe_pkt(&sm, EIO_PACKET_PING, "probe", T0 + 30), EIO_SM_ACT_PROBE_PONG | EIO_SM_ACT_POLL_NOOP);
    INT(sm.upgrade, EIO_SM_UPG_PROBED);
    ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 40), EIO_SM_ACT_UPGRADED);
    INT(sm.transport, EIO_SM_WEBSOCKET);
}

static void test_upgrade_without_probe_ping(void **state)
{
    (void)state;
    eio_sm sm;
    /* "5" straight after the WebSocket opened is accepted, as by the reference. */
    init_upgrading(&sm, 0);
    ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 30), EIO_SM_ACT_UPGRADED);
    INT(sm.transport, EIO_SM_WEBSOCKET);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
    INT(sm.state, EIO_SM_OPEN);
}

static void test_upgrade_bad_probe_packets(void **state)
{
    (void)state;
    static const uint8_t probe_bytes[] = {'p', 'r', 'o', 'b', 'e'};
    struct {
        int type;
        const char *data;
        int binary; /* a binary message with data as its bytes */
        int null;   /* an undecodable frame */
    } cases[] = {
        {EIO_PACKET_MESSAGE, "hello", 0, 0},  /* "4hello" before "5" */
        {EIO_PACKET_MESSAGE, "probe", 0, 0},  /* "4probe" */
        {EIO_PACKET_MESSAGE, "", 1, 0},       /* a binary frame */
        {EIO_PACKET_PING, "", 0, 0},          /* "2" without "probe" */
        {EIO_PACKET_PING, "probX", 0, 0},     /* "2probX" */
        {EIO_PACKET_PING, "prob", 0, 0},      /* "2prob" */
        {EIO_PACKET_PING, "probe ", 0, 0},    /* "2probe " */
        {EIO_PACKET_PING, "PROBE", 0, 0},     /* case matters */
        {EIO_PACKET_PONG, "probe", 0, 0},     /* "3probe" is the server's line */
        {EIO_PACKET_OPEN, "", 0, 0},          /* "0" */
        {EIO_PACKET_CLOSE, "", 0, 0},         /* "1" */
        {EIO_PACKET_NOOP, "", 0, 0},          /* "6" */
        {0, NULL, 0, 1},                      /* undecodable */
    };
    for (int probed = 0; probed <= 1; probed++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            eio_sm sm;
            init_upgrading(&sm, probed);
            eio_packet p;
            const eio_packet *pp = &p;
            if (cases[i].null)
                pp = NULL;
            else if (cases[i].binary)
                p = pkt_binary(probe_bytes, sizeof(probe_bytes));
            else
                p = pkt_text(cases[i].type, cases[i].data);
            int a = eio_sm_on_packet(&sm, 1, pp, T0 + 30);
            if (a != EIO_SM_ACT_ABORT_PROBE || sm.upgrade != EIO_SM_UPG_NONE || sm.transport != EIO_SM_POLLING ||
                sm.state != EIO_SM_OPEN) {
                char s[160];
                fail_msg("%s, case %zu (type %d \"%s\"%s%s): returned %s, upgrade %d, transport %d, state %d; "
                         "expected ABORT_PROBE, upgrade NONE, transport POLLING, state OPEN",
                         probed ? "PROBED" : "PROBING", i, cases[i].type, cases[i].data ? cases[i].data : "",
                         cases[i].binary ? " binary" : "", cases[i].null ? " NULL" : "", acts_str(a, s, sizeof(s)),
                         sm.upgrade, sm.transport, sm.state);
            }
            /* The session itself is fine: polling and the heartbeat go on, and a new probe may come. */
            assert_null(sm.close_reason);
            ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "still", T0 + 40), EIO_SM_ACT_DELIVER);
            ACTS(eio_sm_on_probe_attached(&sm, T0 + 50), EIO_SM_ACT_ARM_UPGRADE);
            U64(sm.upgrade_deadline, T0 + 50 + UPGRADE_TIMEOUT);
        }
    }
}

static void test_upgrade_probe_refused(void **state)
{
    (void)state;
    eio_sm sm;

    /* A second WebSocket while one is probing: refused, and the first upgrade is left alone. */
    for (int probed = 0; probed <= 1; probed++) {
        init_upgrading(&sm, probed);
        uint8_t before = sm.upgrade;
        ACTS(eio_sm_on_probe_attached(&sm, T0 + 5000), EIO_SM_ACT_ABORT_PROBE);
        INT(sm.upgrade, before);
        U64(sm.upgrade_deadline, T0 + 10 + UPGRADE_TIMEOUT);
        INT(sm.transport, EIO_SM_POLLING);
        ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 5001), EIO_SM_ACT_UPGRADED);
    }

    /* After the upgrade: refused. */
    init_upgrading(&sm, 1);
    ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 30), EIO_SM_ACT_UPGRADED);
    ACTS(eio_sm_on_probe_attached(&sm, T0 + 40), EIO_SM_ACT_ABORT_PROBE);
    INT(sm.transport, EIO_SM_WEBSOCKET);
    INT(sm.upgrade, EIO_SM_UPG_NONE);

    /* A session that started on WebSocket: refused. */
    eio_sm_init(&sm, EIO_SM_WEBSOCKET, INTERVAL, TIMEOUT, UPGRADE_TIMEOUT, T0);
    ACTS(eio_sm_on_probe_attached(&sm, T0 + 1), EIO_SM_ACT_ABORT_PROBE);
    INT(sm.upgrade, EIO_SM_UPG_NONE);

    /* A closing session: refused. */
    init_default(&sm);
    ACTS(eio_sm_close(&sm, EIO_REASON_FORCED_CLOSE), EIO_SM_ACT_CLOSE);
    ACTS(eio_sm_on_probe_attached(&sm, T0 + 1), EIO_SM_ACT_ABORT_PROBE);
    INT(sm.upgrade, EIO_SM_UPG_NONE);

    /* A packet on a probe when no upgrade is on (a late frame from an abandoned probe): abort that one. */
    init_default(&sm);
    ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 1), EIO_SM_ACT_ABORT_PROBE);
    ACTS(probe_pkt(&sm, EIO_PACKET_PING, "probe", T0 + 1), EIO_SM_ACT_ABORT_PROBE);
    INT(sm.transport, EIO_SM_POLLING);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
    INT(sm.state, EIO_SM_OPEN);
}

static void test_upgrade_timer(void **state)
{
    (void)state;
    eio_sm sm;
    for (int probed = 0; probed <= 1; probed++) {
        init_upgrading(&sm, probed);
        ACTS(eio_sm_on_upgrade_timer(&sm), EIO_SM_ACT_ABORT_PROBE);
        INT(sm.upgrade, EIO_SM_UPG_NONE);
        INT(sm.transport, EIO_SM_POLLING);
        INT(sm.state, EIO_SM_OPEN);
        assert_null(sm.close_reason);
        /* A "5" that comes too late, on the abandoned probe, does not upgrade. */
        ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + UPGRADE_TIMEOUT + 20), EIO_SM_ACT_ABORT_PROBE);
        INT(sm.transport, EIO_SM_POLLING);
        /* A second firing, or one with no upgrade at all, does nothing. */
        ACTS(eio_sm_on_upgrade_timer(&sm), 0);
    }
    init_default(&sm);
    ACTS(eio_sm_on_upgrade_timer(&sm), 0);
}

static void test_upgrade_probe_closed(void **state)
{
    (void)state;
    eio_sm sm;
    for (int probed = 0; probed <= 1; probed++) {
        init_upgrading(&sm, probed);
        eio_sm_on_probe_closed(&sm);
        INT(sm.upgrade, EIO_SM_UPG_NONE);
        INT(sm.transport, EIO_SM_POLLING);
        INT(sm.state, EIO_SM_OPEN);
        ACTS(eio_sm_on_upgrade_timer(&sm), 0);
        /* A new probe may start over. */
        ACTS(eio_sm_on_probe_attached(&sm, T0 + 100), EIO_SM_ACT_ARM_UPGRADE);
        U64(sm.upgrade_deadline, T0 + 100 + UPGRADE_TIMEOUT);
        ACTS(probe_pkt(&sm, EIO_PACKET_PING, "probe", T0 + 110), EIO_SM_ACT_PROBE_PONG | EIO_SM_ACT_POLL_NOOP);
        ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 120), EIO_SM_ACT_UPGRADED);
        INT(sm.transport, EIO_SM_WEBSOCKET);
    }
    /* With no upgrade on, it is harmless. */
    init_default(&sm);
    eio_sm_on_probe_closed(&sm);
    INT(sm.upgrade, EIO_SM_UPG_NONE);
    INT(sm.state, EIO_SM_OPEN);
}

static void test_upgrade_close_during(void **state)
{
    (void)state;
    eio_sm sm;
    for (int probed = 0; probed <= 1; probed++) {
        /* Closed by the application. */
        init_upgrading(&sm, probed);
        ACTS(eio_sm_close(&sm, EIO_REASON_FORCED_CLOSE), EIO_SM_ACT_CLOSE | EIO_SM_ACT_ABORT_PROBE);
        INT(sm.state, EIO_SM_CLOSING);
        REASON(&sm, EIO_REASON_FORCED_CLOSE, "forced close");
        INT(sm.transport, EIO_SM_POLLING);
        /* A "5" on the probe after that does not upgrade a closing session. */
        ACTS(probe_pkt(&sm, EIO_PACKET_UPGRADE, "", T0 + 30), 0);
        INT(sm.transport, EIO_SM_POLLING);

        /* By a close packet on polling. */
        init_upgrading(&sm, probed);
        ACTS(data_pkt(&sm, EIO_PACKET_CLOSE, "", T0 + 30), EIO_SM_ACT_CLOSE | EIO_SM_ACT_ABORT_PROBE);
        REASON(&sm, EIO_REASON_TRANSPORT_CLOSE, "transport close");
        INT(sm.client_closed, 1);

        /* By a parse error on polling. */
        init_upgrading(&sm, probed);
        ACTS(eio_sm_on_packet(&sm, 0, NULL, T0 + 30), EIO_SM_ACT_CLOSE | EIO_SM_ACT_ABORT_PROBE);
        REASON(&sm, EIO_REASON_PARSE_ERROR, "parse error");

        /* By the ping timeout. */
        init_upgrading(&sm, probed);
        ACTS(eio_sm_on_heartbeat_timer(&sm, T0 + INTERVAL), EIO_SM_ACT_SEND_PING | EIO_SM_ACT_REARM_HB);
        ACTS(eio_sm_on_heartbeat_timer(&sm, T0 + INTERVAL + TIMEOUT), EIO_SM_ACT_CLOSE | EIO_SM_ACT_ABORT_PROBE);
        REASON(&sm, EIO_REASON_PING_TIMEOUT, "ping timeout");
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* Close                                                                                                    */

static void test_close_twice(void **state)
{
    (void)state;
    eio_sm sm;
    init_default(&sm);
    ACTS(eio_sm_close(&sm, EIO_REASON_FORCED_CLOSE), EIO_SM_ACT_CLOSE);
    INT(sm.state, EIO_SM_CLOSING);
    REASON(&sm, EIO_REASON_FORCED_CLOSE, "forced close");
    INT(sm.client_closed, 0);

    ACTS(eio_sm_close(&sm, EIO_REASON_SERVER_SHUTDOWN), 0);
    INT(sm.state, EIO_SM_CLOSING);
    REASON(&sm, EIO_REASON_FORCED_CLOSE, "forced close");

    ACTS(eio_sm_close(&sm, EIO_REASON_FORCED_CLOSE), 0);
    REASON(&sm, EIO_REASON_FORCED_CLOSE, "forced close");

    /* A client close packet after a server close does not turn client_closed on. */
    ACTS(data_pkt(&sm, EIO_PACKET_CLOSE, "", T0 + 1), 0);
    INT(sm.client_closed, 0);
    REASON(&sm, EIO_REASON_FORCED_CLOSE, "forced close");

    /* And the other way round: the protocol's reason survives a later close by the application. */
    init_default(&sm);
    ACTS(data_pkt(&sm, EIO_PACKET_CLOSE, "", T0 + 1), EIO_SM_ACT_CLOSE);
    ACTS(eio_sm_close(&sm, EIO_REASON_SERVER_SHUTDOWN), 0);
    REASON(&sm, EIO_REASON_TRANSPORT_CLOSE, "transport close");
    INT(sm.client_closed, 1);
}

static void test_close_closed_state(void **state)
{
    (void)state;
    eio_sm sm;
    /* The glue moves a finished session to CLOSED; the machine treats it like CLOSING. */
    init_default(&sm);
    ACTS(eio_sm_close(&sm, EIO_REASON_TRANSPORT_ERROR), EIO_SM_ACT_CLOSE);
    sm.state = EIO_SM_CLOSED;
    ACTS(eio_sm_close(&sm, EIO_REASON_FORCED_CLOSE), 0);
    ACTS(data_pkt(&sm, EIO_PACKET_MESSAGE, "x", T0 + 1), 0);
    ACTS(eio_sm_on_heartbeat_timer(&sm, T0 + INTERVAL), 0);
    ACTS(eio_sm_on_probe_attached(&sm, T0 + 1), EIO_SM_ACT_ABORT_PROBE);
    INT(sm.state, EIO_SM_CLOSED);
    REASON(&sm, EIO_REASON_TRANSPORT_ERROR, "transport error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_macros),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_heartbeat_ping_pong),
        cmocka_unit_test(test_heartbeat_ping_timeout),
        cmocka_unit_test(test_heartbeat_unsolicited_pong),
        cmocka_unit_test(test_heartbeat_long_healthy_run),
        cmocka_unit_test(test_data_message_delivers),
        cmocka_unit_test(test_data_client_ping_is_an_error),
        cmocka_unit_test(test_data_close_packet),
        cmocka_unit_test(test_data_undecodable),
        cmocka_unit_test(test_data_ignored_types),
        cmocka_unit_test(test_data_nothing_after_close),
        cmocka_unit_test(test_upgrade_full),
        cmocka_unit_test(test_upgrade_repeated_probe_ping),
        cmocka_unit_test(test_upgrade_without_probe_ping),
        cmocka_unit_test(test_upgrade_bad_probe_packets),
        cmocka_unit_test(test_upgrade_probe_refused),
        cmocka_unit_test(test_upgrade_timer),
        cmocka_unit_test(test_upgrade_probe_closed),
        cmocka_unit_test(test_upgrade_close_during),
        cmocka_unit_test(test_close_twice),
        cmocka_unit_test(test_close_closed_state),
    };
    return cmocka_run_group_tests_name("eio_sm", tests, NULL, NULL);
}
