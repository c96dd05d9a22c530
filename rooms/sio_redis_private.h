/*
 * sio_redis_private.h: between the Redis connections (sio_redis.c) and the adapter's protocol
 * (sio_redis_adapter.c). Not installed; tests may include it.
 */
#ifndef SIO_REDIS_PRIVATE_H
#define SIO_REDIS_PRIVATE_H

#include <hiredis/async.h>
#include <stdint.h>

#include "rooms/sio_redis.h"

struct redis_ad;

/* One connection to Redis, made again after a loss. */
struct redis_conn {
    sio_redis *r;
    redisAsyncContext *ac;      /* NULL while not connected or connecting */
    int up;                     /* connected (and, for the subscriber, subscribed) */
    int subscriber;             /* this is the subscribing connection */
    struct event *retry;        /* the reconnection timer */
    unsigned backoff_ms;        /* the next retry's delay */
    int was_up;                 /* it has been up once (for the log lines) */
};

struct sio_redis {
    struct event_base *base;
    char *host;                 /* the resolved address (no DNS after sio_redis_new) */
    int port;
    char *unix_path;
    char *username, *password;
    char *prefix;               /* key prefix */
    unsigned request_timeout_ms;
    size_t max_pending_bytes;
    size_t pending_bytes;       /* publishes sent to Redis and not yet answered */
    unsigned long dropped;      /* publishes dropped since the last log line about them */
    struct redis_conn pub, sub;
    struct redis_ad *ads;       /* the adapters (one per namespace of each server using r) */
    int freeing;                /* sio_redis_free runs: no reconnection */
};

/* PUBLISH channel data, unless the publishing connection is down or too much waits (then dropped). */
void sio__redis_publish(sio_redis *r, const char *channel, const void *data, size_t len);
/* PUBSUB NUMSUB channel: cb(n, arg) exactly once, maybe before returning (1 while Redis is down). */
int sio__redis_numsub(sio_redis *r, const char *channel, void (*cb)(size_t n, void *arg), void *arg);
/* The channels of an adapter to subscribe to: a pattern and three channels (NULL-terminated lists). The
 * pattern of sio__redis_unsubscribe may be NULL. */
void sio__redis_subscribe(sio_redis *r, const char *pattern, const char *const *channels);
void sio__redis_unsubscribe(sio_redis *r, const char *pattern, const char *const *channels);

/* --- the adapter (sio_redis_adapter.c) --- */

/* The request types of the wire protocol (the reference's RequestType). */
enum {
    REQ_SOCKETS = 0,
    REQ_ALL_ROOMS = 1,
    REQ_REMOTE_JOIN = 2,
    REQ_REMOTE_LEAVE = 3,
    REQ_REMOTE_DISCONNECT = 4,
    REQ_REMOTE_FETCH = 5,
    REQ_SERVER_SIDE_EMIT = 6,
    REQ_BROADCAST = 7,
    REQ_BROADCAST_CLIENT_COUNT = 8,
    REQ_BROADCAST_ACK = 9
};

struct redis_req;

/* The adapter of one namespace of one server. */
struct redis_ad {
    sio_redis *r;
    sio_namespace *nsp;
    void *mem;                 /* the in-memory adapter: this server's rooms */
    char uid[7];               /* this server's id in messages (6 characters, as the reference's uid2(6)) */
    char *channel;             /* <prefix>#<nsp># */
    char *pattern;             /* <prefix>#<nsp>#* */
    char *req_channel;         /* <prefix>-request#<nsp># */
    char *resp_channel;        /* <prefix>-response#<nsp># */
    char *own_resp_channel;    /* <prefix>-response#<nsp>#<uid># (publishOnSpecificResponseChannel) */
    struct redis_req *reqs;    /* this server's requests waiting for answers */
    struct redis_ad *next;     /* r's list */
};

/* A request of ours waiting for the other servers' answers. */
struct redis_req {
    struct redis_req *next;    /* ad's list */
    struct redis_ad *ad;       /* the adapter that asked (outlives the request) */
    char id[7];                /* the requestId, unique among ad's requests */
    int type;                  /* REQ_REMOTE_FETCH, REQ_SERVER_SIDE_EMIT or REQ_BROADCAST */
    struct event *timer;       /* ends it */
    sio_ack_collector *col;    /* SERVER_SIDE_EMIT, BROADCAST: referenced */
    sio_fetch_cb cb;           /* REMOTE_FETCH */
    void *ud;                  /* REMOTE_FETCH: cb's user data */
    cJSON *sockets;            /* REMOTE_FETCH: [{id, handshake, rooms, data}], ours first */
    char *text;                /* the request, published once the server count is known */
    long expected;             /* answers to wait for (-1 until the server count is known) */
    long got;                  /* answers received */
};

/* sio_redis_adapter.c: a message from the subscription (channel and data borrowed for the call). */
void sio__redis_ad_message(sio_redis *r, const char *channel, size_t chlen, const char *data, size_t len);
/* The subscriber is (again) up: every adapter subscribes its channels. */
void sio__redis_ad_resubscribe(sio_redis *r);

#endif
