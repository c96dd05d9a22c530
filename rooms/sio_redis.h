/*
 * sio_redis.h: the Redis adapter, so that several servers share rooms and broadcasts, wire-compatible with
 * Node's @socket.io/redis-adapter 8.x (classic pub/sub) and @socket.io/redis-emitter 5.x: our servers and Node
 * socket.io servers can be one cluster, and any redis-emitter process can reach our clients.
 *
 *   sio_redis_options ro;
 *   sio_redis_options_init(&ro);
 *   sio_redis_options_parse_url(&ro, "redis://127.0.0.1:6379", buf, sizeof(buf));
 *   sio_redis *r = sio_redis_new(base, &ro);       // connects in the background, never blocks
 *   sio_server_set_adapter(io, &sio_redis_adapter, r);   // before listening
 *   ...
 *   sio_server_free(io);
 *   sio_redis_free(r);                             // after every server using it
 *
 * Each server keeps two connections to Redis (one publishes and asks, one subscribes), made with hiredis's
 * asynchronous API on the application's event_base. What goes over them is in docs/cluster.md; in short:
 * broadcasts are published as msgpack [uid, packet, opts] on <prefix>#<nsp># (or <prefix>#<nsp>#<room># for one
 * room), requests between servers on <prefix>-request#<nsp>#, answers on <prefix>-response#<nsp>#.
 *
 * Faults: when Redis cannot be reached (at start-up or later), the server goes on serving its own clients:
 * broadcasts reach this server's sockets, requests (fetchSockets, serverSideEmit with acks, broadcast with acks)
 * count this server only, and what would have been published is dropped (pub/sub is at most once, as with
 * the reference). It reconnects with a backoff (100 ms doubling to 5 s), subscribes again, and logs each change
 * through eio_set_logger's logger. Publishes waiting for a slow Redis are capped (max_pending_bytes).
 */
#ifndef SIO_REDIS_H
#define SIO_REDIS_H

#include <stddef.h>

#include "rooms/sio_adapter.h"

struct event_base;

typedef struct sio_redis_options {
    const char *host;            /* default "127.0.0.1"; a name is resolved once, by sio_redis_new */
    int port;                    /* default 6379 */
    const char *unix_path;       /* a unix socket instead of host:port (NULL: none) */
    const char *username;        /* AUTH username password (Redis 6 ACL); NULL: AUTH password */
    const char *password;        /* NULL: no AUTH */
    const char *key_prefix;      /* default "socket.io" (the reference's `key`) */
    unsigned request_timeout_ms; /* requests to the other servers; default 5000 (the reference's requestsTimeout) */
    size_t max_pending_bytes;    /* publishes not yet answered by Redis; beyond, dropped; default 16 MiB */
} sio_redis_options;

/* The defaults above. */
void sio_redis_options_init(sio_redis_options *o);

/* Fills host, port, username and password from redis://[[user]:password@]host[:port][/db] or
 * unix:///path/to/socket (percent-escapes decoded; the db number is ignored: pub/sub spans every db). The
 * strings point into buf (cap bytes). Returns 0, or -1 for a URL it does not understand. */
int sio_redis_options_parse_url(sio_redis_options *o, const char *url, char *buf, size_t cap);

/* One per server: Redis counts servers by their subscriptions, so servers sharing one count as one. */
typedef struct sio_redis sio_redis;

/* Starts connecting (in the background) on base (borrowed; must outlive it). Strings in o are copied. NULL on
 * invalid options, a host name that does not resolve, or out of memory. */
sio_redis *sio_redis_new(struct event_base *base, const sio_redis_options *o);
/* Closes the connections and frees r. Free the servers using r first; when one is still there (a
 * sio_server_free called from a callback finishes in the next loop iteration) or when this is called from a
 * callback that r runs, the free finishes once they are gone (run the loop once more before event_base_free).
 * Accepts NULL. */
void sio_redis_free(sio_redis *r);
/* 1 while both connections are up (Redis answered a PING, after AUTH); the subscriber then subscribes. */
int sio_redis_connected(const sio_redis *r);

/* The adapter: sio_server_set_adapter(srv, &sio_redis_adapter, r). */
extern const sio_adapter_ops sio_redis_adapter;

#endif
