/* A fake Redis on the test's event_base (see fake_redis.h). */
#include "test/common/fake_redis.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* What hiredis never sends, or memory running out: the run stops here. */
static void check(int ok, const char *what, int line)
{
    if (ok)
        return;
    fprintf(stderr, "%s:%d: fake Redis: failed: %s\n", __FILE__, line, what);
    abort();
}

#define FR_CHECK(cond) check((cond) ? 1 : 0, #cond, __LINE__)

#define MAX_ARGS 64

/* Redis's glob, as far as the adapter's patterns need it: '*', '?' and literal bytes. */
static int glob_match(const char *p, size_t pn, const char *s, size_t sn)
{
    while (pn) {
        if (*p == '*') {
            while (pn && *p == '*') {
                p++;
                pn--;
            }
            if (!pn)
                return 1;
            for (size_t i = 0; i <= sn; i++)
                if (glob_match(p, pn, s + i, sn - i))
                    return 1;
            return 0;
        }
        if (!sn || (*p != '?' && *p != *s))
            return 0;
        p++;
        pn--;
        s++;
        sn--;
    }
    return sn == 0;
}

static void add_bulk(struct evbuffer *out, const char *s, size_t n)
{
    evbuffer_add_printf(out, "$%zu\r\n", n);
    evbuffer_add(out, s, n);
    evbuffer_add(out, "\r\n", 2);
}

static long find_name(const struct th_redis_name *v, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].n == len && memcmp(v[i].s, s, len) == 0)
            return (long)i;
    return -1;
}

/* The log entry of a name, made on first use; NULL when the log is full or the name too long. */
static struct th_redis_name_log *name_log_of(th_redis *fk, const char *s, size_t len)
{
    for (size_t i = 0; i < fk->nnames; i++)
        if (strlen(fk->names[i].name) == len && memcmp(fk->names[i].name, s, len) == 0)
            return &fk->names[i];
    if (fk->nnames == sizeof(fk->names) / sizeof(fk->names[0]) || len >= sizeof(fk->names[0].name))
        return NULL;
    struct th_redis_name_log *l = &fk->names[fk->nnames++];
    memcpy(l->name, s, len);
    l->name[len] = 0;
    return l;
}

int th_redis_unsubs(th_redis *fk, const char *name)
{
    struct th_redis_name_log *l = name_log_of(fk, name, strlen(name));
    return l ? l->unsubs : -1;
}

int th_redis_subscribed(const th_redis *fk, const char *name, int pattern)
{
    for (const struct th_redis_conn *c = fk->conns; c; c = c->next)
        if (pattern ? find_name(c->psubs, c->npsubs, name, strlen(name)) >= 0
                    : find_name(c->subs, c->nsubs, name, strlen(name)) >= 0)
            return 1;
    return 0;
}

/* PUBLISH: delivered to every subscriber, as "message" for a channel and "pmessage" for each pattern. */
long th_redis_publish(th_redis *fk, const char *ch, size_t chn, const char *msg, size_t msgn)
{
    long receivers = 0;
    for (struct th_redis_conn *c = fk->conns; c; c = c->next) {
        struct evbuffer *out = bufferevent_get_output(c->bev);
        if (find_name(c->subs, c->nsubs, ch, chn) >= 0) {
            evbuffer_add_printf(out, "*3\r\n");
            add_bulk(out, "message", 7);
            add_bulk(out, ch, chn);
            add_bulk(out, msg, msgn);
            receivers++;
        }
        for (size_t i = 0; i < c->npsubs; i++)
            if (glob_match(c->psubs[i].s, c->psubs[i].n, ch, chn)) {
                evbuffer_add_printf(out, "*4\r\n");
                add_bulk(out, "pmessage", 8);
                add_bulk(out, c->psubs[i].s, c->psubs[i].n);
                add_bulk(out, ch, chn);
                add_bulk(out, msg, msgn);
                receivers++;
            }
    }
    return receivers;
}

long th_redis_publish_str(th_redis *fk, const char *ch, const char *text)
{
    return th_redis_publish(fk, ch, strlen(ch), text, strlen(text));
}

static void capture(th_redis *fk, const char *ch, size_t chn, const char *msg, size_t msgn)
{
    if (!fk->capture[0] || strlen(fk->capture) != chn || memcmp(fk->capture, ch, chn) != 0)
        return;
    if (fk->captured < TH_REDIS_CAPTURE_KEEP) {
        char *copy = malloc(msgn + 1);
        FR_CHECK(copy);
        memcpy(copy, msg, msgn);
        copy[msgn] = 0;
        fk->kept[fk->captured] = copy;
        fk->kept_len[fk->captured] = msgn;
    }
    fk->captured++;
}

static void command(struct th_redis_conn *c, size_t argc, const char **argv, const size_t *lens)
{
    th_redis *fk = c->fk;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    const char *cmd = argv[0];
    int sub = strcasecmp(cmd, "SUBSCRIBE") == 0, psub = strcasecmp(cmd, "PSUBSCRIBE") == 0;
    int unsub = strcasecmp(cmd, "UNSUBSCRIBE") == 0, punsub = strcasecmp(cmd, "PUNSUBSCRIBE") == 0;
    int numsub = strcasecmp(cmd, "PUBSUB") == 0 && argc >= 2 && strcasecmp(argv[1], "NUMSUB") == 0;
    int publish = strcasecmp(cmd, "PUBLISH") == 0 && argc == 3;
    fk->numsub_seen += numsub;
    fk->publish_seen += publish;
    if (fk->mode == TH_REDIS_HUNG)
        return; /* read, never answered */
    if (fk->mode == TH_REDIS_REFUSE) {
        evbuffer_add_printf(out, "-ERR max number of clients reached\r\n");
        return;
    }
    if (sub || psub || unsub || punsub) {
        struct th_redis_name **v = sub || unsub ? &c->subs : &c->psubs;
        size_t *n = sub || unsub ? &c->nsubs : &c->npsubs;
        for (size_t i = 1; i < argc; i++) {
            struct th_redis_name_log *l = name_log_of(fk, argv[i], lens[i]);
            if (l && (sub || psub))
                l->subs++;
            else if (l)
                l->unsubs++;
            long at = find_name(*v, *n, argv[i], lens[i]);
            if ((sub || psub) && at < 0) {
                struct th_redis_name *g = realloc(*v, (*n + 1) * sizeof(**v));
                FR_CHECK(g);
                *v = g;
                g[*n].s = malloc(lens[i] ? lens[i] : 1);
                FR_CHECK(g[*n].s);
                memcpy(g[*n].s, argv[i], lens[i]);
                g[*n].n = lens[i];
                (*n)++;
            } else if ((unsub || punsub) && at >= 0) {
                free((*v)[at].s);
                (*v)[at] = (*v)[--*n];
            }
            static const char *const kinds[] = {"subscribe", "psubscribe", "unsubscribe", "punsubscribe"};
            const char *kind = kinds[sub ? 0 : psub ? 1 : unsub ? 2 : 3];
            evbuffer_add_printf(out, "*3\r\n");
            add_bulk(out, kind, strlen(kind));
            add_bulk(out, argv[i], lens[i]);
            evbuffer_add_printf(out, ":%zu\r\n", c->nsubs + c->npsubs);
        }
    } else if (publish) {
        capture(fk, argv[1], lens[1], argv[2], lens[2]);
        evbuffer_add_printf(out, ":%ld\r\n", th_redis_publish(fk, argv[1], lens[1], argv[2], lens[2]));
    } else if (numsub) {
        evbuffer_add_printf(out, "*%zu\r\n", 2 * (argc - 2));
        for (size_t i = 2; i < argc; i++) {
            add_bulk(out, argv[i], lens[i]);
            evbuffer_add_printf(out, ":%ld\r\n", fk->numsub);
        }
    } else if (strcasecmp(cmd, "PING") == 0) {
        evbuffer_add_printf(out, "+PONG\r\n");
    } else {
        evbuffer_add_printf(out, "+OK\r\n");
    }
}

/* Reads a "<c><number>\r\n" line at d[*pos..n); 1 when complete, 0 when more bytes are needed. */
static int read_line_num(const char *d, size_t n, size_t *pos, char c, long *out)
{
    const char *eol = memmem(d + *pos, n - *pos, "\r\n", 2);
    if (!eol)
        return 0;
    FR_CHECK(d[*pos] == c); /* hiredis sends nothing else */
    *out = strtol(d + *pos + 1, NULL, 10);
    *pos = (size_t)(eol - d) + 2;
    return 1;
}

static void free_conn(struct th_redis_conn *c)
{
    for (struct th_redis_conn **pp = &c->fk->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    bufferevent_free(c->bev);
    for (size_t i = 0; i < c->nsubs; i++)
        free(c->subs[i].s);
    for (size_t i = 0; i < c->npsubs; i++)
        free(c->psubs[i].s);
    free(c->subs);
    free(c->psubs);
    free(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct th_redis_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t n = evbuffer_get_length(in);
        if (!n)
            return;
        const char *d = (const char *)evbuffer_pullup(in, -1);
        size_t pos = 0;
        long argc;
        if (!read_line_num(d, n, &pos, '*', &argc))
            return;
        FR_CHECK(argc > 0 && argc < MAX_ARGS);
        const char *argv[MAX_ARGS];
        size_t lens[MAX_ARGS];
        char *copies[MAX_ARGS];
        for (long i = 0; i < argc; i++) {
            long len;
            if (!read_line_num(d, n, &pos, '$', &len))
                return;
            FR_CHECK(len >= 0);
            if (n - pos < (size_t)len + 2)
                return;
            argv[i] = d + pos;
            lens[i] = (size_t)len;
            pos += (size_t)len + 2;
        }
        for (long i = 0; i < argc; i++) { /* NUL-terminated, so that commands compare as strings */
            copies[i] = malloc(lens[i] + 1);
            FR_CHECK(copies[i]);
            memcpy(copies[i], argv[i], lens[i]);
            copies[i][lens[i]] = 0;
            argv[i] = copies[i];
        }
        evbuffer_drain(in, pos);
        command(c, (size_t)argc, argv, lens);
        for (long i = 0; i < argc; i++)
            free(copies[i]);
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        free_conn(arg);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    th_redis *fk = arg;
    (void)l;
    (void)sa;
    (void)salen;
    struct th_redis_conn *c = calloc(1, sizeof(*c));
    FR_CHECK(c);
    c->fk = fk;
    int one = 1; /* as Redis does: without it, Nagle holds small answers back for tens of milliseconds */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->bev = bufferevent_socket_new(fk->base, fd, BEV_OPT_CLOSE_ON_FREE);
    FR_CHECK(c->bev);
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = fk->conns;
    fk->conns = c;
    fk->accepted++;
}

int th_redis_start(th_redis *fk, struct event_base *base, int mode)
{
    memset(fk, 0, sizeof(*fk));
    fk->base = base;
    fk->mode = mode;
    fk->numsub = 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fk->listener = evconnlistener_new_bind(base, accept_cb, fk, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                           (struct sockaddr *)&sin, sizeof(sin));
    FR_CHECK(fk->listener);
    socklen_t len = sizeof(sin);
    FR_CHECK(getsockname(evconnlistener_get_fd(fk->listener), (struct sockaddr *)&sin, &len) == 0);
    fk->port = ntohs(sin.sin_port);
    return fk->port;
}

void th_redis_stop(th_redis *fk)
{
    while (fk->conns)
        free_conn(fk->conns);
    if (fk->listener)
        evconnlistener_free(fk->listener);
    for (long i = 0; i < fk->captured && i < TH_REDIS_CAPTURE_KEEP; i++)
        free(fk->kept[i]);
    memset(fk, 0, sizeof(*fk));
}
