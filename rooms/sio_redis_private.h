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
    int refused_logged;         /* Redis refused us (AUTH, LOADING, ...) and it was logged, this outage */
};

/* A channel or pattern subscribed to, by as many adapters as refs (several servers may share one sio_redis). */
struct redis_sub {
    struct redis_sub *next;
    unsigned refs;
    int pattern;                /* PSUBSCRIBE rather than SUBSCRIBE */
    char name[];
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
    unsigned long ads_gen;      /* changes when an adapter is destroyed (message dispatch checks it) */
    struct redis_sub *subs;     /* what the subscriber is subscribed to (again at each connection) */
    unsigned numsub_inflight;   /* PUBSUB NUMSUB sent and not answered (capped: a hung Redis) */
    unsigned pub_inflight;      /* commands of the publisher not answered yet */
    uint64_t pub_last_reply_ms; /* when the publisher last answered (the hung-Redis watchdog) */
    struct event *health;       /* the watchdog's timer */
    unsigned relays;            /* other servers' broadcasts with acks being relayed (capped) */
    int depth;                  /* hiredis callbacks of r running (a free waits for them) */
    int freeing;                /* sio_redis_free was called: no reconnection; freed once unused */
    int free_scheduled;         /* the free waits for a fresh loop iteration */
};

/* PUBLISH channel data, unless the publishing connection is down or too much waits (then dropped). */
void sio__redis_publish(sio_redis *r, const char *channel, const void *data, size_t len);
/* PUBSUB NUMSUB channel: cb(n, arg) exactly once, maybe before returning (1 while Redis is down). */
int sio__redis_numsub(sio_redis *r, const char *channel, void (*cb)(size_t n, void *arg), void *arg);
/* The channels of an adapter to subscribe to: a pattern (may be NULL) and channels (a NULL-terminated list).
 * Counted: Redis is told on the first subscribe of a name and the last unsubscribe (servers sharing r). */
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

/* sio_redis_adapter.c, for sio_redis_incoming.c: */
/* Publishes j (JSON as JavaScript writes it) on channel. */
void sio__redis_publish_json(struct redis_ad *ad, const char *channel, const cJSON *j);
/* The request of ad with that requestId, or NULL. */
struct redis_req *sio__redis_req_find(struct redis_ad *ad, const char *id);
/* Ends a fetchSockets request: its callback gets the sockets gathered (err 0 or SIO_ETIMEOUT), or none. */
void sio__redis_fetch_finish(struct redis_req *q, int err);
/* A fetch_sockets callback appending the reference's {id, handshake, rooms, data} of each socket to the
 * cJSON array ud. */
void sio__redis_fetch_local_cb(int err, const sio_socket_info *infos, size_t n, void *ud);

/* sio_redis_incoming.c: a message from the subscription (channel and data borrowed for the call). */
void sio__redis_ad_message(sio_redis *r, const char *channel, size_t chlen, const char *data, size_t len);
/* sio_redis.c: the last adapter of r is gone; finishes a sio_redis_free that waited for it. */
void sio__redis_unused(sio_redis *r);

#endif
