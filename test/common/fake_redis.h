/*
 * A fake Redis for the tests, served on the test's own event_base (127.0.0.1, a free port), so that no
 * redis-server is needed: RESP2 multibulk commands in, the answers Redis gives out. It keeps each connection's
 * subscriptions (channels and patterns), delivers PUBLISH as Redis does ("message" to the subscribers of the
 * channel, "pmessage" for each matching pattern, so a publisher also hears itself), answers PUBSUB NUMSUB with
 * the server count in `numsub`, PING with PONG and every other command with OK.
 *
 * It can also stop answering (TH_REDIS_HUNG: commands are read, never answered) or answer every command with an
 * error (TH_REDIS_REFUSE), and it records what it got: the connections accepted, the NUMSUB and PUBLISH
 * commands, the SUBSCRIBE and UNSUBSCRIBE commands per name, and the messages published on one channel.
 *
 * Used by test/unit/test_redis_regress.c and test/fuzz/fuzz_redis_adapter.c. What hiredis would never send (or
 * memory running out) aborts the run with a message.
 */
#ifndef TEST_COMMON_FAKE_REDIS_H
#define TEST_COMMON_FAKE_REDIS_H

#include <stddef.h>

struct event_base;
struct evconnlistener;
struct bufferevent;

enum { TH_REDIS_ANSWER, TH_REDIS_HUNG, TH_REDIS_REFUSE };

struct th_redis_name {
    char *s;
    size_t n;
};

struct th_redis;

/* One connection: the channels and patterns it subscribed. */
struct th_redis_conn {
    struct th_redis *fk;
    struct bufferevent *bev;
    struct th_redis_name *subs, *psubs;
    size_t nsubs, npsubs;
    struct th_redis_conn *next;
};

/* What happened to one channel or pattern name (SUBSCRIBE and UNSUBSCRIBE commands received). */
struct th_redis_name_log {
    char name[96];
    int subs, unsubs;
};

#define TH_REDIS_CAPTURE_KEEP 8

typedef struct th_redis {
    struct event_base *base;
    struct evconnlistener *listener;
    struct th_redis_conn *conns;
    int port;
    int mode;                       /* TH_REDIS_* */
    long numsub;                    /* what PUBSUB NUMSUB answers (the servers of the simulated cluster) */
    long accepted;                  /* connections accepted */
    long numsub_seen, publish_seen; /* commands received */
    struct th_redis_name_log names[32];
    size_t nnames;
    char capture[64];               /* PUBLISH on this channel are counted, the first ones kept */
    long captured;
    char *kept[TH_REDIS_CAPTURE_KEEP]; /* NUL-terminated copies */
    size_t kept_len[TH_REDIS_CAPTURE_KEEP];
} th_redis;

/* Starts listening on base (everything in *fk is reset; numsub is 1); returns the port (also fk->port). */
int th_redis_start(th_redis *fk, struct event_base *base, int mode);

/* Closes every connection and the listener, frees what was kept; *fk is reset. */
void th_redis_stop(th_redis *fk);

/* What another server (or an emitter) publishes: delivered to the subscribers. Returns the receivers. */
long th_redis_publish(th_redis *fk, const char *ch, size_t chn, const char *msg, size_t msgn);

/* The same for text on a channel, both NUL-terminated. */
long th_redis_publish_str(th_redis *fk, const char *ch, const char *text);

/* Some connection is subscribed to this channel (pattern: to this pattern). */
int th_redis_subscribed(const th_redis *fk, const char *name, int pattern);

/* UNSUBSCRIBE or PUNSUBSCRIBE commands received for that name (-1 when the log is full). */
int th_redis_unsubs(th_redis *fk, const char *name);

#endif
