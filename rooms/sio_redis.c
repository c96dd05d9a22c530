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
    if (c->r->freeing)
        return;
    if (was)
        eio_log(EIO_LOG_WARN, "redis: %s connection to %s:%d lost (%s); serving local clients only, reconnecting",
                conn_name(c), c->r->unix_path ? c->r->unix_path : c->r->host, c->r->port, why);
    conn_schedule(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_conn *c = ac->data;
    if (c)
        conn_lost(c, status == REDIS_OK ? "closed" : ac->errstr);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
    struct redis_conn *c = arg;
    redisReply *rep = reply;
    if (rep && rep->type == REDIS_REPLY_ERROR && c->ac == ac) {
        eio_log(EIO_LOG_ERROR, "redis: AUTH refused on the %s connection: %s", conn_name(c), rep->str);
        redisAsyncDisconnect(ac); /* and try again later: the password may be set on the server meanwhile */
    }
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    struct redis_conn *c = cac->data;
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    if (!c)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback; no disconnect callback follows. */
        if (!c->was_up && c->backoff_ms == BACKOFF_MIN_MS)
            eio_log(EIO_LOG_WARN, "redis: cannot connect the %s to %s:%d (%s); serving local clients only, retrying",
                    conn_name(c), c->r->unix_path ? c->r->unix_path : c->r->host, c->r->port, ac->errstr);
        c->ac = NULL;
        conn_schedule(c);
        return;
    }
    sio_redis *r = c->r;
    if (r->password) {
        const char *argv[3] = {"AUTH", r->username ? r->username : r->password, r->password};
        redisAsyncCommandArgv(ac, on_auth, c, r->username ? 3 : 2, argv, NULL);
    }
    c->up = 1;
    c->backoff_ms = BACKOFF_MIN_MS;
    eio_log(c->was_up ? EIO_LOG_WARN : EIO_LOG_INFO, "redis: %s connected to %s:%d", conn_name(c),
            r->unix_path ? r->unix_path : r->host, r->port);
    c->was_up = 1;
    if (c->subscriber)
        sio__redis_ad_resubscribe(r);
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
            eio_log(EIO_LOG_WARN, "redis: cannot connect the %s to %s:%d (%s); retrying", conn_name(c),
                    r->unix_path ? r->unix_path : r->host, r->port, ac->errstr);
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
        redisAsyncFree(ac); /* runs the pending callbacks with no reply, then the disconnect callback */
    }
    if (c->retry)
        event_free(c->retry);
    c->retry = NULL;
}

/* A host name is resolved here, once: hiredis would call getaddrinfo, which blocks, at every reconnection. */
static char *resolve(const char *host)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return NULL;
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
    if (fail || conn_init(r, &r->pub, 0) < 0 || conn_init(r, &r->sub, 1) < 0) {
        sio_redis_free(r);
        return NULL;
    }
    conn_start(&r->pub);
    conn_start(&r->sub);
    return r;
}

void sio_redis_free(sio_redis *r)
{
    if (!r)
        return;
    r->freeing = 1;
    conn_cleanup(&r->sub);
    conn_cleanup(&r->pub);
    free(r->host);
    free(r->unix_path);
    free(r->username);
    free(r->password);
    free(r->prefix);
    free(r);
}

int sio_redis_connected(const sio_redis *r)
{
    return r && r->pub.up && r->sub.up;
}

/* --- commands --- */

static void on_published(redisAsyncContext *ac, void *reply, void *arg)
{
    struct redis_conn *c = ac->data;
    size_t len = (size_t)(uintptr_t)arg;
    (void)reply;
    if (c && c->r->pending_bytes >= len)
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
    if (redisAsyncCommandArgv(r->pub.ac, on_published, (void *)(uintptr_t)len, 3, argv, lens) == REDIS_OK)
        r->pending_bytes += len;
}

struct numsub_req {
    void (*cb)(size_t n, void *arg);
    void *arg;
};

static void on_numsub(redisAsyncContext *ac, void *reply, void *arg)
{
    struct numsub_req *q = arg;
    redisReply *rep = reply;
    size_t n = 1;
    (void)ac;
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_INTEGER &&
        rep->element[1]->integer > 0)
        n = (size_t)rep->element[1]->integer;
    q->cb(n, q->arg);
    free(q);
}

int sio__redis_numsub(sio_redis *r, const char *channel, void (*cb)(size_t n, void *arg), void *arg)
{
    struct numsub_req *q = r->pub.up && r->sub.up ? malloc(sizeof(*q)) : NULL;
    if (q) {
        q->cb = cb;
        q->arg = arg;
        const char *argv[3] = {"PUBSUB", "NUMSUB", channel};
        if (redisAsyncCommandArgv(r->pub.ac, on_numsub, q, 3, argv, NULL) == REDIS_OK)
            return 0;
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
    if (ch->type == REDIS_REPLY_STRING && data->type == REDIS_REPLY_STRING)
        sio__redis_ad_message(r, ch->str, ch->len, data->str, data->len);
}

static void sub_command(sio_redis *r, const char *cmd, const char *name)
{
    const char *argv[2] = {cmd, name};
    redisAsyncCommandArgv(r->sub.ac, on_sub_reply, r, 2, argv, NULL);
}

void sio__redis_subscribe(sio_redis *r, const char *pattern, const char *const *channels)
{
    if (!r->sub.up || !r->sub.ac)
        return; /* done at the next connection */
    sub_command(r, "PSUBSCRIBE", pattern);
    for (size_t i = 0; channels[i]; i++)
        sub_command(r, "SUBSCRIBE", channels[i]);
}

void sio__redis_unsubscribe(sio_redis *r, const char *pattern, const char *const *channels)
{
    if (!r->sub.up || !r->sub.ac)
        return;
    if (pattern)
        sub_command(r, "PUNSUBSCRIBE", pattern);
    for (size_t i = 0; channels[i]; i++)
        sub_command(r, "UNSUBSCRIBE", channels[i]);
}
