/*
 * build/examples/presence: the "users online" counter of a page, which a page refresh does not move.
 *
 *   build/examples/presence [--port 3000] [--grace-ms 5000] [--cleanup-ms 10000]
 *
 * A client connects to "/" with auth {room, client_id, user_key?}. A person is one user_key, or one client_id
 * for a guest (no user_key), listed as "guest:<client_id>"; every tab of a person counts once. The socket joins
 * the Socket.IO room "presence:" + room, and the room gets `online` {room, count, users} whenever its count
 * changes; a newcomer who does not change it gets `online` alone.
 *
 * When a person's last socket in a room disconnects, the person stays counted for --grace-ms: coming back in
 * that time (a refresh) changes nothing and emits nothing. Every --cleanup-ms, a guest entry is removed from a
 * room when a socket with the same client_id and a user_key is connected in that room (the guest logged in);
 * the guest sockets still open are then counted for that user. See README.md.
 */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "examples/common/example.h"
#include "examples/presence/table.h"

enum { MAX_ROOM = 64, MAX_CLIENT_ID = 128, MAX_USER_KEY = 128 };
#define GUEST_PREFIX "guest:"

typedef struct presence {
    ex_app app;
    sio_namespace *nsp;    /* "/", valid while app.io is non-NULL */
    pr_table table;        /* every room with someone counted in it */
    int grace_ms;          /* --grace-ms */
    int cleanup_ms;        /* --cleanup-ms; 0: no cleanup */
    struct event *cleanup; /* the periodic guest cleanup, or NULL */
} presence;

/* A connection's auth, checked. */
typedef struct auth {
    const char *room, *client_id; /* borrowed from the auth JSON */
    const char *user_key;         /* borrowed; NULL for a guest */
    /* The person key: user_key, or "guest:" + client_id; both lengths are checked before it is written. */
    char key[sizeof(GUEST_PREFIX) + (MAX_CLIENT_ID > MAX_USER_KEY ? MAX_CLIENT_ID : MAX_USER_KEY)];
} auth;

/* Fills a from the CONNECT's auth; returns NULL, or why the connection is refused. */
static const char *auth_parse(const cJSON *json, auth *a)
{
    const cJSON *room = cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "room") : NULL;
    const cJSON *cid = cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "client_id") : NULL;
    const cJSON *ukey = cJSON_IsObject(json) ? cJSON_GetObjectItemCaseSensitive(json, "user_key") : NULL;
    if (!cJSON_IsString(room) || !cJSON_IsString(cid) || !room->valuestring[0] || !cid->valuestring[0])
        return "room and client_id are required";
    if (strlen(room->valuestring) > MAX_ROOM)
        return "room is too long (64 bytes at most)";
    if (strlen(cid->valuestring) > MAX_CLIENT_ID)
        return "client_id is too long (128 bytes at most)";
    /* Absent, null or "" means a guest: what a page sends before anyone logs in. */
    if (ukey && !cJSON_IsNull(ukey) && !cJSON_IsString(ukey))
        return "user_key must be a string";
    a->room = room->valuestring;
    a->client_id = cid->valuestring;
    a->user_key = cJSON_IsString(ukey) && ukey->valuestring[0] ? ukey->valuestring : NULL;
    if (a->user_key && strlen(a->user_key) > MAX_USER_KEY)
        return "user_key is too long (128 bytes at most)";
    /* A user named "guest:x" would be indistinguishable from the guest x in the users list. */
    if (a->user_key && strncmp(a->user_key, GUEST_PREFIX, strlen(GUEST_PREFIX)) == 0)
        return "user_key must not start with \"guest:\"";
    snprintf(a->key, sizeof(a->key), "%s%s", a->user_key ? "" : GUEST_PREFIX, a->user_key ? a->user_key : a->client_id);
    return NULL;
}

/* Prints s as a JSON string: a client's room or key cannot split a log line. */
static void print_quoted(const char *s)
{
    cJSON *j = cJSON_CreateStringReference(s);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    fputs(text ? text : "\"?\"", stdout);
    cJSON_free(text);
    cJSON_Delete(j);
}

/* One log line: "<what> room=<room> person=<key><rest>". */
static void log_person(const char *what, const pr_room *r, const char *key, const char *rest)
{
    printf("%s room=", what);
    print_quoted(r->name);
    printf(" person=");
    print_quoted(key);
    printf("%s\n", rest);
}

/* Sends the room's state: to `only` when given, else to every socket of the room. */
static void emit_online(presence *st, pr_room *r, sio_socket *only)
{
    cJSON *args = cJSON_CreateArray();
    cJSON *state = pr_room_state(r);
    if (args && state && cJSON_AddItemToArray(args, state)) {
        state = NULL; /* now the array's */
        if (only) {
            sio_socket_emit(only, "online", args, NULL, 0);
        } else {
            const char *rooms[] = {r->channel};
            sio_bcast to = {.rooms = rooms, .nrooms = 1};
            sio_broadcast(st->nsp, &to, "online", args, NULL, 0);
            printf("online room=");
            print_quoted(r->name);
            printf(" count=%zu\n", r->n);
        }
    }
    cJSON_Delete(state);
    cJSON_Delete(args);
}

/* Removes a person who is gone for good, tells the room, and frees the room once nobody is in it. */
static void person_remove(presence *st, pr_person *p)
{
    pr_room *r = p->room;
    pr_room_remove(r, p);
    if (r->n > 0)
        emit_online(st, r, NULL);
    pr_table_room_release(&st->table, r);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pr_person *p = arg;
    presence *st = p->room->table->user_data;
    if (!st->app.io) /* the server is gone (shutting down): main frees the table */
        return;
    log_person("left", p->room, p->key, " (grace delay over)");
    person_remove(st, p); /* frees p->grace, the event running now: libevent allows it */
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    presence *st = ud;
    pr_session *ss = sio_socket_data(s);
    if (!ss)
        return;
    sio_socket_set_data(s, NULL);
    pr_person *p = ss->person;
    pr_session_free(ss);
    p->sockets--;
    char rest[160];
    snprintf(rest, sizeof(rest), " socket=%s reason=%s, %zu socket(s) left", sio_socket_id(s), reason, p->sockets);
    log_person("disconnect", p->room, p->key, rest);
    /* At shutdown nothing more is emitted: main frees whoever is left. */
    if (p->sockets > 0 || strcmp(reason, SIO_REASON_SERVER_SHUTTING_DOWN) == 0)
        return;
    /* The last tab closed: the person stays counted until the grace delay passes without them coming back. */
    if (!p->grace)
        p->grace = evtimer_new(st->app.base, on_grace, p);
    struct timeval tv = {st->grace_ms / 1000, (st->grace_ms % 1000) * 1000};
    if (!p->grace || evtimer_add(p->grace, &tv) < 0)
        person_remove(st, p); /* no timer: gone at once rather than counted forever */
}

static void on_connection(sio_socket *s, void *ud)
{
    presence *st = ud;
    auth a;
    if (auth_parse(sio_socket_auth(s), &a)) { /* the middleware checked it: cannot happen */
        sio_socket_disconnect(s, 0);
        return;
    }
    pr_room *r = pr_table_room(&st->table, a.room);
    pr_person *p = r ? pr_room_find(r, a.key) : NULL;
    int is_new = r && !p;
    if (is_new)
        p = pr_room_add(r, a.key, a.user_key == NULL);
    pr_session *ss = p ? pr_session_new(s, a.client_id, a.user_key == NULL, p) : NULL;
    if (!ss || sio_socket_join(s, r->channel) < 0) {
        printf("connect %s failed: out of memory\n", sio_socket_id(s));
        pr_session_free(ss);
        if (p && is_new)
            pr_room_remove(r, p);
        if (r)
            pr_table_room_release(&st->table, r);
        sio_socket_disconnect(s, 0);
        return;
    }
    const char *how = is_new ? "arrived" : p->sockets > 0 ? "another tab" : "back within the grace delay";
    if (p->sockets == 0 && p->grace)
        evtimer_del(p->grace); /* a refresh: the count never moved */
    p->sockets++;
    sio_socket_set_data(s, ss);
    sio_socket_on_disconnect(s, on_disconnect, st);
    char rest[128];
    snprintf(rest, sizeof(rest), " socket=%s: %s", sio_socket_id(s), how);
    log_person("connect", r, a.key, rest);
    /* A newcomer learns the state either way: with the room when the count changed, else alone. */
    emit_online(st, r, is_new ? NULL : s);
}

/* Namespace middleware: the auth must be valid and fit in the table's bounds. */
static int check_auth(sio_socket *s, const char **message, cJSON **data, void *ud)
{
    (void)data;
    presence *st = ud;
    auth a;
    const char *why = auth_parse(sio_socket_auth(s), &a);
    if (!why && pr_table_can_add(&st->table, a.room, a.key, &why))
        return 0;
    printf("refused %s: %s\n", sio_socket_id(s), why);
    *message = why;
    return -1;
}

/*
 * The guest cleanup. Someone who was a guest and then logged in (in another tab, or in this one after a
 * refresh) would be counted twice: as "guest:<client_id>" and as their user_key. When a socket with a user_key
 * and client_id C is connected in a room, the entry "guest:C" of that room is removed: its pending grace delay
 * is cancelled, and its guest sockets still open are counted for that user from now on (they are the same
 * browser), so they do not bring the guest back when they disconnect.
 */
static void on_cleanup(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    presence *st = ud;
    if (!st->app.io)
        return;
    char key[sizeof(GUEST_PREFIX) + MAX_CLIENT_ID];
    for (size_t i = 0; i < st->table.n; i++) {
        pr_room *r = st->table.rooms[i];
        size_t before = r->n;
        for (pr_session *ss = r->sessions; ss; ss = ss->next) {
            if (ss->guest)
                continue;
            snprintf(key, sizeof(key), "%s%s", GUEST_PREFIX, ss->client_id);
            pr_person *g = pr_room_find(r, key);
            if (!g)
                continue;
            for (pr_session *o = r->sessions; o; o = o->next) {
                if (o->person == g) {
                    o->person = ss->person;
                    ss->person->sockets++;
                }
            }
            char rest[200];
            snprintf(rest, sizeof(rest), " removed: logged in as a user (%zu guest socket(s) adopted)", g->sockets);
            log_person("cleanup", r, g->key, rest);
            pr_room_remove(r, g);
        }
        /* Rooms are not freed here: the logged-in user is still in them. */
        if (r->n != before)
            emit_online(st, r, NULL);
    }
}

int main(int argc, char **argv)
{
    presence st;
    memset(&st, 0, sizeof(st));
    st.grace_ms = 5000;
    st.cleanup_ms = 10000;
    const ex_flag flags[] = {
        {"--grace-ms", EX_FLAG_INT, &st.grace_ms,
         "how long a person whose last tab closed stays counted, so a refresh changes nothing (default 5000)"},
        {"--cleanup-ms", EX_FLAG_INT, &st.cleanup_ms,
         "period of the cleanup of guests who logged in; 0 turns it off (default 10000)"},
    };
    int rc = ex_app_init(&st.app, "presence", argc, argv, flags, sizeof(flags) / sizeof(flags[0]), NULL);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    st.table.user_data = &st;
    st.nsp = sio_of(st.app.io, "/");
    sio_namespace_use(st.nsp, check_auth, &st);
    sio_namespace_on_connection(st.nsp, on_connection, &st);
    if (st.cleanup_ms > 0) {
        struct timeval tv = {st.cleanup_ms / 1000, (st.cleanup_ms % 1000) * 1000};
        st.cleanup = event_new(st.app.base, -1, EV_PERSIST, on_cleanup, &st);
        if (!st.cleanup || event_add(st.cleanup, &tv) < 0)
            fprintf(stderr, "presence: no guest cleanup (out of memory)\n");
    }
    printf("grace %d ms, guest cleanup every %d ms\n", st.grace_ms, st.cleanup_ms);

    ex_app_run(&st.app); /* until SIGINT/SIGTERM; every socket's disconnect handler has run */
    if (st.cleanup)
        event_free(st.cleanup);
    pr_table_cleanup(&st.table);
    ex_app_cleanup(&st.app);
    return 0;
}
