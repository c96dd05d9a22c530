/*
 * The connections of the Redis adapter: one that publishes and asks (PUBLISH, PUBSUB NUMSUB), one that
 * subscribes, both on hiredis's asynchronous API attached to the application's event_base. Each is made again
 * after a loss with a backoff, and the subscriber subscribes again; nothing here blocks (the host name is
 * resolved once, in sio_redis_new).
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rooms/sio_redis_private.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

void sio_redis_options_init(sio_redis_options *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 6379;
    o->key_prefix = "socket.io";
    o->request_timeout_ms = 5000;
    o->max_pending_bytes = 16u << 20;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies s[0..n) percent-decoded to *out (advancing it within end); NULL when it does not fit or is bad. */
static char *copy_decoded(char **out, char *end, const char *s, size_t n)
{
    char *start = *out, *p = *out;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int h = i + 2 < n ? hexval(s[i + 1]) : -1, l = h < 0 ? -1 : hexval(s[i + 2]);
            if (l < 0)
                return NULL;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || p + 1 >= end)
            return NULL;
        *p++ = (char)c;
    }
    if (p >= end)
        return NULL;
    *p++ = 0;
    *out = p;
    return start;
}

int sio_redis_options_parse_url(sio_redis_options *o, const char *url, char *buf, size_t cap)
{
    char *out = buf, *end = buf + cap;
    if (!url || !buf || cap == 0)
        return -1;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        if (*path != '/' || !(o->unix_path = copy_decoded(&out, end, path, strcspn(path, "?"))))
            return -1;
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *p = url + 8;
    const char *hostpart_end = p + strcspn(p, "/?#");
    /* The last '@' ends the user part, as in WHATWG's URL parser: a password may hold a raw '@'. An empty
     * password is none (as node-redis): AUTH "" is refused by a Redis without one. */
    const char *at = memrchr(p, '@', (size_t)(hostpart_end - p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p && !(o->username = copy_decoded(&out, end, p, (size_t)(colon - p))))
                return -1;
            if (at > colon + 1 && !(o->password = copy_decoded(&out, end, colon + 1, (size_t)(at - colon - 1))))
                return -1;
        } else if (at > p && !(o->password = copy_decoded(&out, end, p, (size_t)(at - p)))) {
            return -1; /* redis://password@host, as redis-cli reads it (node-redis 4 takes it for a username) */
        }
        p = at + 1;
    }
    const char *host = p, *host_end;
    if (*p == '[') { /* an IPv6 literal */
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(hostpart_end - host));
        if (!host_end)
            return -1;
        p = host_end + 1;
    } else {
        host_end = memchr(p, ':', (size_t)(hostpart_end - p));
        if (!host_end)
            host_end = hostpart_end;
        p = host_end;
    }
    if (host_end > host && !(o->host = copy_decoded(&out, end, host, (size_t)(host_end - host))))
        return -1;
    if (p < hostpart_end) {
        if (*p != ':')
            return -1;
        char *e;
        long port = strtol(p + 1, &e, 10);
        if (e != hostpart_end || port <= 0 || port > 65535)
            return -1;
        o->port = (int)port;
    }
    return 0;
}

/* --- connections --- */

static void conn_start(struct redis_conn *c);
static void resubscribe(sio_redis *r);
static void maybe_free_later(sio_redis *r);

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Every hiredis callback runs between these: a sio_redis_free from what it runs waits until it is over, and
 * the Socket.IO layer defers a sio_server_free the application makes from there (sio_adapter_enter). */
static void cb_enter(sio_redis *r)
{
    r->depth++;
    sio_adapter_enter();
}

static void cb_leave(sio_redis *r)
{
    sio_adapter_leave();
    if (--r->depth == 0 && r->freeing)
        maybe_free_later(r);
}

static void conn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_start(arg);
}

static const char *conn_name(const struct redis_conn *c)
{
    return c->subscriber ? "subscriber" : "publisher";
}

static const char *where(const sio_redis *r)
{
    return r->unix_path ? r->unix_path : r->host;
}

static void conn_schedule(struct redis_conn *c)
{
    if (c->r->freeing)
        return;
    struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
    evtimer_add(c->retry, &tv);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* The connection is gone (hiredis frees the context after this callback). */
static void conn_lost(struct redis_conn *c, const char *why)
{
    int was = c->up;
    c->ac = NULL;
    c->up = 0;
    if (!c->subscriber) {
        c->r->pub_inflight = 0;
        c->r->pending_bytes = 0; /* their callbacks ran with no reply */
    }
    if (c->r->freeing)
        return;
    if (was)
        eio_log(EIO_LOG_WARN, "redis: %s connection to %s:%d lost (%s); serving local clients only, reconnecting",
                conn_name(c), where(c->r), c->r->port, why);
    conn_schedule(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;
    if (!c)
        return;
    sio_redis *r = c->r;
    cb_enter(r);
    conn_lost(c, status == REDIS_OK ? "closed" : ac->errstr);
    cb_leave(r);
}

/* A refused AUTH is logged here (Redis may close at once, before the PING is answered); the PING that follows
 * decides. */
static void on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
    struct redis_conn *c = arg;
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR && c->ac == ac && !c->r->freeing && !c->refused_logged) {
        eio_log(EIO_LOG_ERROR, "redis: %s:%d refused the %s's AUTH: %s; retrying", where(c->r), c->r->port,
                conn_name(c), rep->str);
        c->refused_logged = 1;
    }
}

/* The answer to the PING that follows AUTH: only now is the connection usable (a refusal, such as a wrong
 * password, "LOADING" or "max number of clients", keeps the backoff growing instead of reconnecting at once). */
static void on_ready(redisAsyncContext *ac, void *reply, void *arg)
{
    struct redis_conn *c = arg;
    redisReply *rep = reply;
    if (!rep || c->ac != ac || c->r->freeing)
        return;
    sio_redis *r = c->r;
    cb_enter(r);
    if (rep->type == REDIS_REPLY_ERROR) {
        if (!c->refused_logged)
            eio_log(EIO_LOG_ERROR, "redis: %s:%d refused the %s connection: %s; retrying", where(r), r->port,
                    conn_name(c), rep->str);
        c->refused_logged = 1;
        redisAsyncDisconnect(ac);
        cb_leave(r);
        return;
    }
    c->up = 1;
    c->refused_logged = 0;
    c->backoff_ms = BACKOFF_MIN_MS;
    if (!r->unix_path)
        redisEnableKeepAlive(&ac->c); /* a silent partition is noticed (the subscriber never writes) */
    eio_log(c->was_up ? EIO_LOG_WARN : EIO_LOG_INFO, "redis: %s connected to %s:%d", conn_name(c), where(r), r->port);
    c->was_up = 1;
    if (!c->subscriber)
        r->pub_last_reply_ms = now_ms();
    else
        resubscribe(r);
    cb_leave(r);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    struct redis_conn *c = cac->data;
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    if (!c)
        return;
    sio_redis *r = c->r;
    cb_enter(r);
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback; no disconnect callback follows. */
        if (!c->was_up && c->backoff_ms == BACKOFF_MIN_MS)
            eio_log(EIO_LOG_WARN, "redis: cannot connect the %s to %s:%d (%s); serving local clients only, retrying",
                    conn_name(c), where(r), r->port, ac->errstr);
        c->ac = NULL;
        conn_schedule(c);
        cb_leave(r);
        return;
    }
    if (r->password) {
        const char *argv[3] = {"AUTH", r->username ? r->username : r->password, r->password};
        redisAsyncCommandArgv(ac, on_auth, c, r->username ? 3 : 2, argv, NULL);
    }
    const char *ping[1] = {"PING"};
    redisAsyncCommandArgv(ac, on_ready, c, 1, ping, NULL);
    cb_leave(r);
}

static void conn_start(struct redis_conn *c)
{
    sio_redis *r = c->r;
    if (c->ac || r->freeing)
        return;
    redisAsyncContext *ac = r->unix_path ? redisAsyncConnectUnix(r->unix_path) : redisAsyncConnect(r->host, r->port);
    if (!ac) {
        conn_schedule(c);
        return;
    }
    if (ac->err) {
        if (!c->was_up && c->backoff_ms == BACKOFF_MIN_MS)
            eio_log(EIO_LOG_WARN, "redis: cannot connect the %s to %s:%d (%s); retrying", conn_name(c), where(r),
                    r->port, ac->errstr);
        redisAsyncFree(ac);
        conn_schedule(c);
        return;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
        ac->data = NULL;
        redisAsyncFree(ac);
        conn_schedule(c);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
}

/* A publisher with commands unanswered for long is cut, so that what waits on it (server counts, publishes)
 * is answered and freed, and it reconnects: a hung Redis (SIGSTOP, a partition) cannot grow our memory. */
static void health_cb(evutil_socket_t fd, short what, void *arg)
{
    sio_redis *r = arg;
    (void)fd;
    (void)what;
    uint64_t limit = r->request_timeout_ms > 2000 ? r->request_timeout_ms : 2000;
    if (r->pub.up && r->pub.ac && r->pub_inflight > 0 && now_ms() - r->pub_last_reply_ms > limit) {
        eio_log(EIO_LOG_WARN, "redis: %s:%d has not answered for %llu ms; reconnecting", where(r), r->port,
                (unsigned long long)(now_ms() - r->pub_last_reply_ms));
        /* redisAsyncDisconnect would wait for the pending answers, which a hung Redis never gives: the
         * context is freed instead, which runs the pending callbacks with no reply (the server counts
         * waiting are answered "this server alone"). The connection is lost first, here, so that nothing
         * run by those callbacks uses the context being freed. */
        redisAsyncContext *ac = r->pub.ac;
        ac->data = NULL;
        cb_enter(r);
        conn_lost(&r->pub, "no answer");
        redisAsyncFree(ac);
        cb_leave(r);
    }
}

static int conn_init(sio_redis *r, struct redis_conn *c, int subscriber)
{
    c->r = r;
    c->subscriber = subscriber;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->retry = evtimer_new(r->base, conn_retry_cb, c);
    return c->retry ? 0 : -1;
}

static void conn_cleanup(struct redis_conn *c)
{
    if (c->ac) {
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        ac->data = NULL; /* its disconnect callback has nothing to do */
        redisAsyncFree(ac); /* runs the pending callbacks with no reply */
    }
    if (c->retry)
        event_free(c->retry);
    c->retry = NULL;
}

/* A host name is resolved here, once: hiredis would call getaddrinfo, which blocks, at every reconnection. */
static char *resolve(const char *host)
{
    /* IPv4 first: "localhost" often resolves to ::1 first, and Redis may listen on 127.0.0.1 only. */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        hints.ai_family = AF_UNSPEC;
        res = NULL;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
            return NULL;
    }
    char text[INET6_ADDRSTRLEN] = "";
    const void *addr = res->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                                                  : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    inet_ntop(res->ai_family, addr, text, sizeof(text));
    freeaddrinfo(res);
    return text[0] ? strdup(text) : NULL;
}

static char *dup_or_null(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

sio_redis *sio_redis_new(struct event_base *base, const sio_redis_options *o)
{
    sio_redis_options def;
    if (!o) {
        sio_redis_options_init(&def);
        o = &def;
    }
    if (!base || (!o->unix_path && (!o->host || o->port <= 0 || o->port > 65535)))
        return NULL;
    sio_redis *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    int fail = 0;
    r->base = base;
    r->port = o->port;
    r->unix_path = dup_or_null(o->unix_path, &fail);
    r->host = o->unix_path ? NULL : resolve(o->host);
    if (!o->unix_path && !r->host) {
        eio_log(EIO_LOG_ERROR, "redis: cannot resolve %s", o->host);
        fail = 1;
    }
    r->username = dup_or_null(o->username, &fail);
    r->password = dup_or_null(o->password, &fail);
    r->prefix = dup_or_null(o->key_prefix ? o->key_prefix : "socket.io", &fail);
    r->request_timeout_ms = o->request_timeout_ms ? o->request_timeout_ms : 5000;
    r->max_pending_bytes = o->max_pending_bytes ? o->max_pending_bytes : 16u << 20;
    r->health = event_new(base, -1, EV_PERSIST, health_cb, r);
    struct timeval second = {1, 0};
    if (fail || !r->health || event_add(r->health, &second) < 0 || conn_init(r, &r->pub, 0) < 0 ||
        conn_init(r, &r->sub, 1) < 0) {
        sio_redis_free(r);
        return NULL;
    }
    conn_start(&r->pub);
    conn_start(&r->sub);
    return r;
}

static void free_now(sio_redis *r)
{
    r->freeing = 1;
    r->depth++; /* the callbacks redisAsyncFree runs must not start another free */
    conn_cleanup(&r->sub);
    conn_cleanup(&r->pub);
    if (r->health)
        event_free(r->health);
    while (r->subs) {
        struct redis_sub *x = r->subs;
        r->subs = x->next;
        free(x);
    }
    free(r->host);
    free(r->unix_path);
    free(r->username);
    free(r->password);
    free(r->prefix);
    free(r);
}

static void free_later_cb(evutil_socket_t fd, short what, void *arg)
{
    sio_redis *r = arg;
    (void)fd;
    (void)what;
    if (r->depth == 0 && !r->ads)
        free_now(r);
    else
        r->free_scheduled = 0; /* the last callback or adapter to go schedules it again */
}

/* From a fresh loop iteration: hiredis still uses its context after a callback of ours returns. */
static void maybe_free_later(sio_redis *r)
{
    if (r->ads || r->free_scheduled)
        return;
    struct timeval zero = {0, 0};
    if (event_base_once(r->base, -1, EV_TIMEOUT, free_later_cb, r, &zero) == 0)
        r->free_scheduled = 1;
}

void sio__redis_unused(sio_redis *r)
{
    if (r->freeing)
        maybe_free_later(r);
}

void sio_redis_free(sio_redis *r)
{
    if (!r || r->freeing)
        return;
    r->freeing = 1; /* no reconnection from now on */
    if (r->pub.retry)
        event_del(r->pub.retry);
    if (r->sub.retry)
        event_del(r->sub.retry);
    if (r->depth == 0 && !r->ads)
        free_now(r);
    else
        maybe_free_later(r); /* or when the last adapter goes */
}

int sio_redis_connected(const sio_redis *r)
{
    return r && r->pub.up && r->sub.up; /* up: answered a PING (after AUTH); the subscriber then subscribes */
}

/* --- commands --- */

static void pub_answered(sio_redis *r)
{
    if (r->pub_inflight)
        r->pub_inflight--;
    r->pub_last_reply_ms = now_ms();
}

static void on_published(redisAsyncContext *ac, void *reply, void *arg)
{
    struct redis_conn *c = ac->data;
    size_t len = (size_t)(uintptr_t)arg;
    if (!c || !reply)
        return; /* freed or disconnected: conn_lost reset the counts */
    pub_answered(c->r);
    if (c->r->pending_bytes >= len)
        c->r->pending_bytes -= len;
}

void sio__redis_publish(sio_redis *r, const char *channel, const void *data, size_t len)
{
    if (!r->pub.up || !r->pub.ac || r->pending_bytes + len > r->max_pending_bytes) {
        if (r->dropped++ == 0)
            eio_log(EIO_LOG_WARN, "redis: %s: a message to the other servers was dropped",
                    r->pub.up ? "Redis is slow (too much waiting)" : "Redis is not connected");
        return;
    }
    if (r->dropped > 1)
        eio_log(EIO_LOG_WARN, "redis: %lu messages to the other servers were dropped in all", r->dropped);
    r->dropped = 0;
    const char *argv[3] = {"PUBLISH", channel, data};
    size_t lens[3] = {7, strlen(channel), len};
    if (redisAsyncCommandArgv(r->pub.ac, on_published, (void *)(uintptr_t)len, 3, argv, lens) == REDIS_OK) {
        r->pending_bytes += len;
        r->pub_inflight++;
    }
}

struct numsub_req {
    sio_redis *r;
    void (*cb)(size_t n, void *arg);
    void *arg;
};

/* Server counts waiting for Redis, at most: beyond, "this server alone" at once (Redis is hung or flooded). */
#define MAX_NUMSUB_INFLIGHT 1024

static void on_numsub(redisAsyncContext *ac, void *reply, void *arg)
{
    struct numsub_req *q = arg;
    sio_redis *r = q->r;
    redisReply *rep = reply;
    size_t n = 1;
    (void)ac;
    r->numsub_inflight--;
    if (rep) {
        pub_answered(r);
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_INTEGER &&
            rep->element[1]->integer > 0)
            n = (size_t)rep->element[1]->integer;
    }
    cb_enter(r);
    q->cb(n, q->arg); /* exactly once, also when the connection is gone (no reply) */
    cb_leave(r);
    free(q);
}

int sio__redis_numsub(sio_redis *r, const char *channel, void (*cb)(size_t n, void *arg), void *arg)
{
    struct numsub_req *q = r->pub.up && r->sub.up && r->numsub_inflight < MAX_NUMSUB_INFLIGHT ? malloc(sizeof(*q))
                                                                                             : NULL;
    if (q) {
        q->r = r;
        q->cb = cb;
        q->arg = arg;
        const char *argv[3] = {"PUBSUB", "NUMSUB", channel};
        if (redisAsyncCommandArgv(r->pub.ac, on_numsub, q, 3, argv, NULL) == REDIS_OK) {
            r->numsub_inflight++;
            r->pub_inflight++;
            return 0;
        }
        free(q);
    }
    cb(1, arg); /* Redis down: this server alone */
    return 0;
}

/* Every message of every subscription comes here: ["message", channel, data] or ["pmessage", pattern,
 * channel, data]; the confirmations of (un)subscriptions are ignored. */
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *arg)
{
    sio_redis *r = arg;
    redisReply *rep = reply;
    (void)ac;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 || r->freeing)
        return;
    redisReply *kind = rep->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    redisReply *ch, *data;
    if (rep->elements == 3 && strcmp(kind->str, "message") == 0) {
        ch = rep->element[1];
        data = rep->element[2];
    } else if (rep->elements == 4 && strcmp(kind->str, "pmessage") == 0) {
        ch = rep->element[2];
        data = rep->element[3];
    } else {
        return;
    }
    if (ch->type == REDIS_REPLY_STRING && data->type == REDIS_REPLY_STRING) {
        cb_enter(r);
        sio__redis_ad_message(r, ch->str, ch->len, data->str, data->len);
        cb_leave(r);
    }
}

static void sub_command(sio_redis *r, const struct redis_sub *x, int on)
{
    if (!r->sub.up || !r->sub.ac)
        return; /* done at the next connection */
    const char *argv[2] = {x->pattern ? (on ? "PSUBSCRIBE" : "PUNSUBSCRIBE") : (on ? "SUBSCRIBE" : "UNSUBSCRIBE"),
                           x->name};
    redisAsyncCommandArgv(r->sub.ac, on_sub_reply, r, 2, argv, NULL);
}

static void resubscribe(sio_redis *r)
{
    for (struct redis_sub *x = r->subs; x; x = x->next)
        sub_command(r, x, 1);
}

static struct redis_sub **sub_find(sio_redis *r, const char *name, int pattern)
{
    struct redis_sub **pp = &r->subs;
    while (*pp && !((*pp)->pattern == pattern && strcmp((*pp)->name, name) == 0))
        pp = &(*pp)->next;
    return pp;
}

static void sub_add(sio_redis *r, const char *name, int pattern)
{
    struct redis_sub **pp = sub_find(r, name, pattern);
    if (*pp) {
        (*pp)->refs++;
        return;
    }
    size_t n = strlen(name) + 1;
    struct redis_sub *x = malloc(sizeof(*x) + n);
    if (!x)
        return;
    x->refs = 1;
    x->pattern = pattern;
    memcpy(x->name, name, n);
    x->next = r->subs;
    r->subs = x;
    sub_command(r, x, 1);
}

static void sub_del(sio_redis *r, const char *name, int pattern)
{
    struct redis_sub **pp = sub_find(r, name, pattern);
    struct redis_sub *x = *pp;
    if (!x || --x->refs > 0)
        return;
    *pp = x->next;
    sub_command(r, x, 0);
    free(x);
}

void sio__redis_subscribe(sio_redis *r, const char *pattern, const char *const *channels)
{
    if (pattern)
        sub_add(r, pattern, 1);
    for (size_t i = 0; channels[i]; i++)
        sub_add(r, channels[i], 0);
}

void sio__redis_unsubscribe(sio_redis *r, const char *pattern, const char *const *channels)
{
    if (pattern)
        sub_del(r, pattern, 1);
    for (size_t i = 0; channels[i]; i++)
        sub_del(r, channels[i], 0);
}
