/*
 * build/examples/chat: disposable live chat rooms (what `make run` starts).
 *
 *   build/examples/chat [--host 127.0.0.1] [--port 3000] [--public DIR] [--client-dir DIR]
 *
 * The page at / asks for a name and a room id and joins it; /?room=<id> is the link to share. A room exists
 * while someone is in it. Events (namespace "/", see README.md for the table):
 *   join {name, room}  ->  ack {ok, users} | {ok: false, error}; the others get "user joined" {name, count}
 *   chat message text  ->  "chat message" {name, text, time} to the whole room, ack {ok} when asked
 *   typing, stop typing -> the same events with {name} to the others in the room
 * Leaving (joining another room, or disconnecting) tells the others "user left" {name, count}.
 *
 * The Socket.IO room of chat room <id> is "chat:<id>": the prefix keeps a client from naming the room that
 * every socket has under its own id (20 characters of the same alphabet) and reading someone else's traffic.
 *
 * socket.data holds {"name", "room"} (sio_socket_set_json) and the users list and counts come from
 * sio_fetch_sockets, so that a cluster adapter makes them span every server without changes here. The fetch
 * answers in a later loop iteration, so a client may switch rooms or leave before its join is complete: a
 * per-socket generation number tells a stale answer apart, and "user left" is only sent for a join the others
 * were told about ("announced").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/common/example.h"

#define MAX_NAME 32     /* characters (code points), after trimming */
#define MAX_ROOM 64     /* bytes of [A-Za-z0-9_-] */
#define MAX_TEXT 2000   /* characters (code points) of a chat message */
#define ROOM_PREFIX "chat:"

typedef char room_key[sizeof(ROOM_PREFIX) + MAX_ROOM]; /* "chat:" + a validated id + NUL */

/* What the C side remembers of a socket beside socket.data (sio_socket_set_data; freed at disconnect). */
typedef struct member {
    unsigned gen;  /* bumped by every join: a join answer for an older one is stale */
    int announced; /* the others in the current room were sent "user joined" for this socket */
} member;

/* A join waiting for its sio_fetch_sockets answer. */
typedef struct join_op {
    sio_socket *s;  /* referenced until the answer */
    sio_ack *ack;   /* kept, or NULL when the client asked for none */
    unsigned gen;   /* member.gen when the join was made */
    int quiet;      /* the same name joined the same room again: nothing to tell the others */
    char *old_name; /* a rename in the same room: "user left" for it before "user joined" (or NULL) */
    room_key key;
} join_op;

/* A "user left" waiting for the size of the room it is sent to. */
typedef struct leave_op {
    sio_namespace *nsp;
    char *name;
    room_key key;
} leave_op;

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80; /* count every byte but continuation bytes */
    return n;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* A copy of s without the white space around it (malloc'd), or NULL when out of memory. */
static char *trimmed(const char *s)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

static int room_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n < 1 || n > MAX_ROOM)
        return 0;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The string field `key` of socket.data, or NULL before the first join. */
static const char *data_str(const sio_socket *s, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sio_socket_json(s), key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Answers an ack (when there is one) with [{ok: false, error}]. */
static void refuse(sio_socket *s, sio_ack *ack, const char *event, const char *error)
{
    printf("%s: %s refused: %s\n", sio_socket_id(s), event, error);
    if (!ack)
        return;
    cJSON *answer = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 0);
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddItemToArray(answer, o);
    sio_ack_send(ack, answer, NULL, 0);
    cJSON_Delete(answer);
}

/* Emits event {name, count} to the room; from a socket it is left out, else (s NULL) everyone in it gets it. */
static void tell_room(sio_namespace *nsp, sio_socket *s, const char *key, const char *event, const char *name,
                      size_t count)
{
    cJSON *args = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddNumberToObject(o, "count", (double)count);
    cJSON_AddItemToArray(args, o);
    const char *rooms[] = {key};
    sio_bcast to = {.rooms = rooms, .nrooms = 1};
    if (s)
        sio_socket_broadcast(s, &to, event, args, NULL, 0);
    else
        sio_broadcast(nsp, &to, event, args, NULL, 0);
    cJSON_Delete(args);
}

static void leave_op_free(leave_op *op)
{
    free(op->name);
    free(op);
}

static void leave_fetched_cb(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    (void)sockets;
    leave_op *op = ud;
    if (err != SIO_EDISCONNECTED) /* SIO_EDISCONNECTED: the server is going away */
        tell_room(op->nsp, NULL, op->key, "user left", op->name, n);
    leave_op_free(op);
}

/* Tells the room `key` that `name` left, with the number of people who stay (fetched: see the top). */
static void announce_leave(sio_namespace *nsp, const char *key, const char *name)
{
    leave_op *op = calloc(1, sizeof(*op));
    if (!op || !(op->name = strdup(name))) {
        free(op);
        return;
    }
    op->nsp = nsp;
    snprintf(op->key, sizeof(op->key), "%s", key);
    const char *rooms[] = {op->key};
    if (sio_fetch_sockets(nsp, &(sio_bcast){.rooms = rooms, .nrooms = 1}, leave_fetched_cb, op) < 0)
        leave_op_free(op);
}

static void join_op_free(join_op *op)
{
    if (op->ack)
        sio_ack_free(op->ack);
    sio_socket_unref(op->s);
    free(op->old_name);
    free(op);
}

static void join_fetched_cb(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    join_op *op = ud;
    sio_socket *s = op->s;
    member *m = sio_socket_connected(s) ? sio_socket_data(s) : NULL;
    if (err == SIO_EDISCONNECTED || !m) { /* the server is going away, or the client went first */
        join_op_free(op);
        return;
    }
    if (m->gen != op->gen) { /* another join came before this one completed */
        refuse(s, op->ack, "join", "superseded by a later join");
        op->ack = NULL;
        join_op_free(op);
        return;
    }
    const char *name = data_str(s, "name");
    cJSON *users = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(sockets[i].data, "name");
        if (cJSON_IsString(v))
            cJSON_AddItemToArray(users, cJSON_CreateString(v->valuestring));
    }
    if (op->ack) {
        cJSON *answer = cJSON_CreateArray();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", 1);
        cJSON_AddItemToObject(o, "users", users);
        cJSON_AddItemToArray(answer, o);
        sio_ack_send(op->ack, answer, NULL, 0); /* frees the kept ack */
        op->ack = NULL;
        cJSON_Delete(answer);
    } else {
        cJSON_Delete(users);
    }
    if (!op->quiet) {
        if (op->old_name)
            tell_room(NULL, s, op->key, "user left", op->old_name, n > 0 ? n - 1 : 0);
        tell_room(NULL, s, op->key, "user joined", name, n);
    }
    m->announced = 1;
    printf("%s: %s is in room %s (%zu there)\n", sio_socket_id(s), name, op->key + strlen(ROOM_PREFIX), n);
    join_op_free(op);
}

static void on_join(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ud;
    member *m = sio_socket_data(s);
    const cJSON *arg = sio_args_get(args, 0);
    const cJSON *jname = cJSON_GetObjectItemCaseSensitive(arg, "name");
    const cJSON *jroom = cJSON_GetObjectItemCaseSensitive(arg, "room");
    if (!m || !cJSON_IsObject(arg) || !cJSON_IsString(jname) || !cJSON_IsString(jroom)) {
        refuse(s, ack, event, "expected {name: string, room: string}");
        return;
    }
    if (!room_id_valid(jroom->valuestring)) {
        refuse(s, ack, event, "room id: 1 to 64 characters of A-Z a-z 0-9 _ -");
        return;
    }
    char *name = trimmed(jname->valuestring);
    if (!name || !*name || utf8_chars(name) > MAX_NAME) {
        refuse(s, ack, event, !name ? "out of memory" : *name ? "name too long (32 characters at most)" : "empty name");
        free(name);
        return;
    }
    join_op *op = calloc(1, sizeof(*op));
    if (!op) {
        free(name);
        refuse(s, ack, event, "out of memory");
        return;
    }
    snprintf(op->key, sizeof(op->key), ROOM_PREFIX "%s", jroom->valuestring);

    /* Leave the room the socket was in: the others there hear it now, or at the rename in the same room. */
    const char *old_room = data_str(s, "room");
    const char *old_name = data_str(s, "name");
    int same_room = old_room && strcmp(old_room, jroom->valuestring) == 0;
    if (m->announced && same_room) {
        op->quiet = strcmp(old_name, name) == 0;
        op->old_name = op->quiet ? NULL : strdup(old_name);
    } else if (old_room && !same_room) {
        room_key old_key;
        snprintf(old_key, sizeof(old_key), ROOM_PREFIX "%s", old_room);
        sio_socket_leave(s, old_key);
        if (m->announced)
            announce_leave(sio_socket_namespace(s), old_key, old_name);
        printf("%s: %s left room %s\n", sio_socket_id(s), old_name, old_room);
    }
    m->announced = 0;
    m->gen++;

    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "name", name);
    cJSON_AddStringToObject(data, "room", jroom->valuestring);
    free(name);
    sio_socket_set_json(s, data); /* old_room and old_name are freed here */
    sio_socket_join(s, op->key);

    sio_socket_ref(s);
    op->s = s;
    op->gen = m->gen;
    op->ack = sio_ack_keep(ack);
    const char *rooms[] = {op->key};
    if (sio_fetch_sockets(sio_socket_namespace(s), &(sio_bcast){.rooms = rooms, .nrooms = 1}, join_fetched_cb, op) <
        0) {
        refuse(s, op->ack, event, "out of memory");
        op->ack = NULL;
        join_op_free(op);
    }
}

static void on_chat_message(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ud;
    const char *room = data_str(s, "room");
    const cJSON *text = sio_args_get(args, 0);
    if (!room) {
        refuse(s, ack, event, "join a room first");
        return;
    }
    if (!cJSON_IsString(text)) {
        refuse(s, ack, event, "expected a string");
        return;
    }
    const char *p = text->valuestring;
    while (is_space(*p))
        p++;
    if (!*p) {
        refuse(s, ack, event, "empty message");
        return;
    }
    if (utf8_chars(text->valuestring) > MAX_TEXT) {
        refuse(s, ack, event, "message too long (2000 characters at most)");
        return;
    }
    cJSON *out = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", data_str(s, "name"));
    cJSON_AddStringToObject(o, "text", text->valuestring);
    cJSON_AddNumberToObject(o, "time", ex_now_ms());
    cJSON_AddItemToArray(out, o);
    room_key key;
    snprintf(key, sizeof(key), ROOM_PREFIX "%s", room);
    const char *rooms[] = {key};
    sio_broadcast(sio_socket_namespace(s), &(sio_bcast){.rooms = rooms, .nrooms = 1}, event, out, NULL, 0);
    cJSON_Delete(out);
    printf("%s: message from %s in room %s (%zu characters)\n", sio_socket_id(s), data_str(s, "name"), room,
           utf8_chars(text->valuestring));
    if (ack) {
        cJSON *answer = cJSON_CreateArray();
        cJSON *ok = cJSON_CreateObject();
        cJSON_AddBoolToObject(ok, "ok", 1);
        cJSON_AddItemToArray(answer, ok);
        sio_ack_send(ack, answer, NULL, 0);
        cJSON_Delete(answer);
    }
}

/* "typing" and "stop typing": passed on as {name} to the others in the room; ignored before a join. */
static void on_typing(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)args;
    (void)ack; /* nothing to answer: a typing hint is best effort */
    (void)ud;
    const char *room = data_str(s, "room");
    if (!room)
        return;
    cJSON *out = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", data_str(s, "name"));
    cJSON_AddItemToArray(out, o);
    room_key key;
    snprintf(key, sizeof(key), ROOM_PREFIX "%s", room);
    const char *rooms[] = {key};
    sio_socket_broadcast(s, &(sio_bcast){.rooms = rooms, .nrooms = 1}, event, out, NULL, 0);
    cJSON_Delete(out);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    member *m = sio_socket_data(s);
    const char *room = data_str(s, "room");
    /* At shutdown nobody is left to tell (and the server takes no new fetches while it is being freed). */
    if (m && m->announced && room && strcmp(reason, SIO_REASON_SERVER_SHUTTING_DOWN) != 0) {
        room_key key;
        snprintf(key, sizeof(key), ROOM_PREFIX "%s", room);
        announce_leave(sio_socket_namespace(s), key, data_str(s, "name"));
    }
    printf("%s: disconnected (%s)%s%s\n", sio_socket_id(s), reason, room ? ", left room " : "", room ? room : "");
    sio_socket_set_data(s, NULL); /* a join still waiting for its fetch sees NULL and drops its answer */
    free(m);
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    member *m = calloc(1, sizeof(*m));
    if (!m) {
        sio_socket_disconnect(s, 1);
        return;
    }
    sio_socket_set_data(s, m);
    sio_socket_on(s, "join", on_join, NULL);
    sio_socket_on(s, "chat message", on_chat_message, NULL);
    sio_socket_on(s, "typing", on_typing, NULL);
    sio_socket_on(s, "stop typing", on_typing, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
    printf("%s: connected from %s\n", sio_socket_id(s), sio_socket_address(s));
}

int main(int argc, char **argv)
{
    ex_app app;
    int rc = ex_app_init(&app, "chat", argc, argv, NULL, 0, NULL);
    if (rc != 0)
        return rc > 0 ? 0 : 1;
    sio_namespace_on_connection(sio_of(app.io, "/"), on_connection, NULL);
    ex_app_run(&app); /* every socket's disconnect handler runs before it returns: members are freed */
    ex_app_cleanup(&app);
    return 0;
}
