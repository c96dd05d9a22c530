/*
 * build/conformance: the configuration the official protocol test suites expect (pingInterval 300,
 * pingTimeout 200, maxPayload 1000000) with an Engine.IO echo app at /engine.io/, on 127.0.0.1.
 * Extra flags for our own tests are documented in test/interop/README.md.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/engineio.h"
#include "socketio/socketio.h"

#define MAX_ORIGINS 16

static int print_events;
static int test_commands;
static const char *deny_key, *deny_value;

static void event_line(const char *event, eio_session *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void event_line(const char *event, eio_session *s, const char *fmt, ...)
{
    if (!print_events)
        return;
    printf("{\"event\":\"%s\",\"sid\":\"%s\"", event, eio_session_id(s));
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }
    printf("}\n");
    fflush(stdout);
}

static void on_connection(eio_session *s, const eio_request *req, void *ud)
{
    (void)req;
    (void)ud;
    event_line("connection", s, ",\"transport\":\"%s\"", eio_session_transport(s));
}

static void on_message(eio_session *s, const uint8_t *data, size_t len, int binary, void *ud)
{
    (void)ud;
    event_line("message", s, ",\"binary\":%s,\"length\":%zu", binary ? "true" : "false", len);
    if (binary) {
        eio_session_send_binary(s, data, len);
        return;
    }
    if (test_commands && len >= 2 && data[0] == '_' && data[1] == '_') {
        if (len == 9 && memcmp(data, "__close__", 9) == 0) {
            eio_session_close(s);
            return;
        }
        if (len > 8 && len < 20 && memcmp(data, "__send__", 8) == 0) {
            char num[16];
            memcpy(num, data + 8, len - 8);
            num[len - 8] = '\0';
            long n = strtol(num, NULL, 10);
            for (long i = 0; i < n; i++) {
                char msg[24];
                int m = snprintf(msg, sizeof(msg), "%ld", i);
                if (eio_session_send_text(s, msg, (size_t)m) < 0)
                    break;
            }
            return;
        }
    }
    eio_session_send_text(s, (const char *)data, len);
}

static void on_upgrade(eio_session *s, void *ud)
{
    (void)ud;
    event_line("upgrade", s, ",\"transport\":\"%s\"", eio_session_transport(s));
}

static void on_close(eio_session *s, const char *reason, void *ud)
{
    (void)ud;
    event_line("close", s, ",\"reason\":\"%s\"", reason);
}

static int allow_request(const eio_request *req, const char **message, void *ud)
{
    (void)ud;
    if (!deny_key)
        return 1;
    char value[256];
    if (eio_request_query_decoded(req, deny_key, value, sizeof(value)) >= 0 && strcmp(value, deny_value) == 0) {
        *message = "denied by test";
        return 0;
    }
    return 1;
}

/* --- the Socket.IO app at /socket.io/ --- */

/* The received arguments and their attachments, passed on unchanged. */
static size_t args_buffers(const sio_args *args, sio_attachment_ref *bufs)
{
    size_t n = sio_args_attachments_count(args);
    for (size_t i = 0; i < n; i++)
        sio_args_attachment(args, i, &bufs[i].data, &bufs[i].len);
    return n;
}

static void sio_on_message(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    (void)ud;
    sio_attachment_ref bufs[10];
    size_t n = args_buffers(args, bufs);
    sio_socket_emit(s, "message-back", sio_args_json(args), bufs, n);
}

static void sio_on_message_with_ack(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)event;
    (void)ud;
    if (!ack)
        return;
    sio_attachment_ref bufs[10];
    size_t n = args_buffers(args, bufs);
    sio_ack_send(ack, sio_args_json(args), bufs, n);
}

static void sio_event_line(const char *event, sio_socket *s, const char *reason)
{
    if (!print_events)
        return;
    printf("{\"event\":\"%s\",\"nsp\":\"%s\",\"id\":\"%s\"", event, sio_namespace_name(sio_socket_namespace(s)),
           sio_socket_id(s));
    if (reason)
        printf(",\"reason\":\"%s\"", reason);
    printf("}\n");
    fflush(stdout);
}

static void sio_on_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    sio_event_line("sio-disconnecting", s, reason);
}

static void sio_on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    sio_event_line("sio-disconnect", s, reason);
}

static void sio_bye(sio_socket *s, const char *reason, void *ud)
{
    (void)reason;
    (void)ud;
    sio_socket_emit(s, "__bye__", NULL, NULL, 0);
}

/* --test-commands: "__disconnect__" [close] [bye] disconnects this socket (close true: the whole connection);
 * with bye true, a `disconnecting` handler first registered emits "__bye__" to the socket. */
static void sio_cmd_disconnect(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    (void)ud;
    if (cJSON_IsTrue(sio_args_get(args, 1)))
        sio_socket_on_disconnecting(s, sio_bye, NULL);
    sio_socket_disconnect(s, cJSON_IsTrue(sio_args_get(args, 0)));
}

static void sio_ack_result(sio_socket *s, int err, const sio_args *args, void *ud)
{
    (void)ud;
    if (err == SIO_EDISCONNECTED)
        return;
    cJSON *res = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "err", err ? cJSON_CreateString(sio_strerror(err)) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "args", args ? cJSON_Duplicate(sio_args_json(args), 1) : cJSON_CreateNull());
    cJSON_AddItemToArray(res, o);
    sio_attachment_ref bufs[10];
    size_t n = args ? args_buffers(args, bufs) : 0;
    sio_socket_emit(s, "__ack_result__", res, bufs, n);
    cJSON_Delete(res);
}

/* --test-commands: "__emit_with_ack__" event timeout_ms ...args: the server emits event with the remaining
 * arguments and asks for an acknowledgement; the outcome comes back as "__ack_result__" {err, args}. */
static void sio_cmd_emit_with_ack(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    (void)ud;
    const cJSON *name = sio_args_get(args, 0);
    const cJSON *timeout = sio_args_get(args, 1);
    if (!cJSON_IsString(name) || !cJSON_IsNumber(timeout))
        return;
    cJSON *rest = cJSON_Duplicate(sio_args_json(args), 1);
    cJSON_DeleteItemFromArray(rest, 0);
    cJSON_DeleteItemFromArray(rest, 0);
    sio_attachment_ref bufs[10];
    size_t n = args_buffers(args, bufs);
    sio_socket_emit_with_ack(s, name->valuestring, rest, bufs, n, (unsigned)timeout->valuedouble, sio_ack_result, NULL);
    cJSON_Delete(rest);
}

/* --test-commands: "__handshake__" with an ack answers the handshake as the application sees it. */
static void sio_cmd_handshake(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)args;
    (void)ud;
    if (!ack)
        return;
    cJSON *h = cJSON_CreateObject();
    cJSON *headers = cJSON_AddObjectToObject(h, "headers");
    const char *names[] = {"host", "user-agent", "x-test", "cookie", "origin"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = sio_socket_header(s, names[i]);
        if (v)
            cJSON_AddStringToObject(headers, names[i], v);
    }
    cJSON *query = cJSON_AddObjectToObject(h, "query");
    const char *keys[] = {"EIO", "transport", "foo"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char v[256];
        if (sio_socket_query(s, keys[i], v, sizeof(v)) >= 0)
            cJSON_AddStringToObject(query, keys[i], v);
    }
    cJSON_AddStringToObject(h, "address", sio_socket_address(s));
    cJSON_AddStringToObject(h, "url", sio_socket_url(s));
    cJSON_AddNumberToObject(h, "issued", (double)sio_socket_handshake_time(s));
    cJSON_AddBoolToObject(h, "secure", sio_socket_secure(s));
    cJSON_AddItemToObject(h, "auth", cJSON_Duplicate(sio_socket_auth(s), 1));
    cJSON_AddStringToObject(h, "transport", sio_socket_transport(s));
    cJSON *answer = cJSON_CreateArray();
    cJSON_AddItemToArray(answer, h);
    sio_ack_send(ack, answer, NULL, 0);
    cJSON_Delete(answer);
}

/* --test-commands: per-packet middleware dropping events whose name starts with "__drop". */
static int sio_drop_middleware(sio_socket *s, const char *event, const sio_args *args, void *ud)
{
    (void)s;
    (void)args;
    (void)ud;
    return strncmp(event, "__drop", 6) == 0;
}

/* --test-commands: catch-all; "__any_echo__" ...args comes back as "__any__" event ...args. */
static void sio_any(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ack;
    (void)ud;
    if (strcmp(event, "__any_echo__") != 0)
        return;
    cJSON *out = cJSON_Duplicate(sio_args_json(args), 1);
    cJSON_InsertItemInArray(out, 0, cJSON_CreateString(event));
    sio_attachment_ref bufs[10];
    size_t n = args_buffers(args, bufs);
    sio_socket_emit(s, "__any__", out, bufs, n);
    cJSON_Delete(out);
}

/* --test-commands: an outgoing catch-all counts what the server emitted; "__outgoing__" (with an ack) answers
 * the count and the last event name. */
struct outgoing {
    int count;
    char last[64];
};

static void sio_any_outgoing(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)args;
    (void)ack;
    struct outgoing *o = ud;
    o->count++;
    snprintf(o->last, sizeof(o->last), "%s", event);
}

static void sio_cmd_outgoing(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)event;
    (void)args;
    struct outgoing *o = ud;
    if (!ack)
        return;
    cJSON *answer = cJSON_CreateArray();
    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "count", o->count);
    cJSON_AddStringToObject(res, "last", o->last);
    cJSON_AddItemToArray(answer, res);
    sio_ack_send(ack, answer, NULL, 0);
    cJSON_Delete(answer);
}

static void free_outgoing(sio_socket *s, const char *reason, void *ud)
{
    (void)s;
    (void)reason;
    free(ud);
}

/* --- rooms and broadcasting (--test-commands, --events); README.md, "Rooms and broadcasting" --- */

/* --events: the room lifecycle as {"event":"sio-room","what":W,"nsp":N,"room":R[,"socket":ID]} (JSON-escaped,
 * since room names come from clients). The socket id is "socket", not "id": the suites pick a socket's sio-* lines
 * by their "id". */
static void sio_on_room(sio_namespace *nsp, int what, const char *room, const char *sid, void *ud)
{
    (void)ud;
    const char *name = what == SIO_ROOM_CREATE ? "create"
                       : what == SIO_ROOM_DELETE ? "delete"
                       : what == SIO_ROOM_JOIN   ? "join"
                                                 : "leave";
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", "sio-room");
    cJSON_AddStringToObject(o, "what", name);
    cJSON_AddStringToObject(o, "nsp", sio_namespace_name(nsp));
    cJSON_AddStringToObject(o, "room", room);
    if (sid)
        cJSON_AddStringToObject(o, "socket", sid);
    char *line = cJSON_PrintUnformatted(o);
    if (line)
        printf("%s\n", line);
    fflush(stdout);
    cJSON_free(line);
    cJSON_Delete(o);
}

/* Registers the sio-room lines on nsp (again: the same callbacks replace themselves). The children of a dynamic
 * namespace get them from their first connection's handler on, as in the reference program. */
static void print_room_events(sio_namespace *nsp)
{
    if (!print_events)
        return;
    const int kinds[] = {SIO_ROOM_CREATE, SIO_ROOM_DELETE, SIO_ROOM_JOIN, SIO_ROOM_LEAVE};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        sio_namespace_on_room(nsp, kinds[i], sio_on_room, NULL);
}

/* Room names given as one string or an array of strings (anything else, or an absent value: none). The names
 * point into v. */
struct room_list {
    const char **names; /* malloc'd, or NULL when v names no room */
    size_t n;
};

static int room_list_init(struct room_list *l, const cJSON *v)
{
    l->names = NULL;
    l->n = 0;
    int count = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (count == 0)
        return 0;
    l->names = malloc((size_t)count * sizeof(*l->names));
    if (!l->names)
        return -1;
    if (cJSON_IsString(v)) {
        l->names[l->n++] = v->valuestring;
        return 0;
    }
    for (const cJSON *c = v->child; c; c = c->next)
        if (cJSON_IsString(c))
            l->names[l->n++] = c->valuestring;
    return 0;
}

static void room_list_cleanup(struct room_list *l)
{
    free(l->names);
    l->names = NULL;
    l->n = 0;
}

/* The sockets an operation is for: {"rooms": [...], "except": [...]} of the command's argument o. */
struct selection {
    struct room_list rooms, except;
    sio_bcast to;
};

static int selection_init(struct selection *sel, const cJSON *o, unsigned flags)
{
    memset(sel, 0, sizeof(*sel));
    if (room_list_init(&sel->rooms, cJSON_GetObjectItemCaseSensitive(o, "rooms")) < 0 ||
        room_list_init(&sel->except, cJSON_GetObjectItemCaseSensitive(o, "except")) < 0) {
        room_list_cleanup(&sel->rooms);
        return -1;
    }
    sel->to.rooms = sel->rooms.names;
    sel->to.nrooms = sel->rooms.n;
    sel->to.except = sel->except.names;
    sel->to.nexcept = sel->except.n;
    sel->to.flags = flags;
    return 0;
}

static void selection_cleanup(struct selection *sel)
{
    room_list_cleanup(&sel->rooms);
    room_list_cleanup(&sel->except);
}

/* Answers ack (if any) with the single argument `value`, whose ownership is taken. */
static void ack_with(sio_ack *ack, cJSON *value)
{
    cJSON *args = cJSON_CreateArray();
    if (args && value)
        cJSON_AddItemToArray(args, value);
    else
        cJSON_Delete(value);
    if (ack)
        sio_ack_send(ack, args, NULL, 0);
    cJSON_Delete(args);
}

static void ack_string(sio_ack *ack, const char *s)
{
    ack_with(ack, cJSON_CreateString(s));
}

/* [...socket.rooms]: its id first, then the rooms in joining order. */
static cJSON *socket_rooms_json(const sio_socket *s)
{
    const char *stack[16];
    const char **names = stack;
    size_t n = sio_socket_rooms(s, stack, 16);
    if (n > 16) {
        names = malloc(n * sizeof(*names));
        if (!names)
            return NULL;
        n = sio_socket_rooms(s, names, n);
    }
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
    if (names != stack)
        free(names);
    return a;
}

/* "__join__" room-or-rooms: joins them; answers the socket's rooms. */
static void sio_cmd_join(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    struct room_list l;
    if (room_list_init(&l, sio_args_get(args, 0)) == 0) {
        for (size_t i = 0; i < l.n; i++)
            sio_socket_join(s, l.names[i]);
        room_list_cleanup(&l);
    }
    ack_with(ack, socket_rooms_json(s));
}

/* "__leave__" room: leaves it; answers the socket's rooms. */
static void sio_cmd_leave(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *room = sio_args_get(args, 0);
    if (cJSON_IsString(room))
        sio_socket_leave(s, room->valuestring);
    ack_with(ack, socket_rooms_json(s));
}

/* "__rooms__": answers the socket's rooms. */
static void sio_cmd_rooms(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)args;
    (void)ud;
    ack_with(ack, socket_rooms_json(s));
}

/* The event name and arguments of a broadcast command: o.event, o.args (binary placeholders in o.args stand for
 * the command's attachments, which are passed on in order). */
static const char *bcast_event(const cJSON *o)
{
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(o, "event");
    return cJSON_IsString(event) ? event->valuestring : NULL;
}

static const cJSON *bcast_args(const cJSON *o)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "args");
    return cJSON_IsArray(a) ? a : NULL;
}

/* "__to__" {rooms, except, event, args, volatile, from_socket}: nsp.to(rooms).except(except)[.volatile].emit,
 * or socket.to(...) (socket.broadcast without rooms) with from_socket; answers "ok" ("error" when refused). */
static void sio_cmd_to(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *o = sio_args_get(args, 0);
    const char *name = bcast_event(o);
    unsigned flags = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "volatile")) ? SIO_BCAST_VOLATILE : 0;
    struct selection sel;
    int rc = SIO_EINVAL;
    if (name && selection_init(&sel, o, flags) == 0) {
        sio_attachment_ref bufs[10];
        size_t n = args_buffers(args, bufs);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "from_socket")))
            rc = sio_socket_broadcast(s, &sel.to, name, bcast_args(o), bufs, n);
        else
            rc = sio_broadcast(sio_socket_namespace(s), &sel.to, name, bcast_args(o), bufs, n);
        selection_cleanup(&sel);
    }
    ack_string(ack, rc < 0 ? "error" : "ok");
}

/* The outcome of "__to_with_ack__": {err: null | "operation has timed out", responses}. */
static void sio_to_with_ack_done(int err, const cJSON *responses, void *ud)
{
    sio_ack *ack = ud;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "err", err == 0              ? cJSON_CreateNull()
                                    : err == SIO_ETIMEOUT ? cJSON_CreateString("operation has timed out")
                                                          : cJSON_CreateString(sio_strerror(err)));
    cJSON_AddItemToObject(o, "responses", responses ? cJSON_Duplicate(responses, 1) : cJSON_CreateArray());
    ack_with(ack, o);
}

/* "__to_with_ack__" {rooms, except, event, args, timeout}: nsp.to(rooms).except(except).timeout(timeout)
 * .emit(event, ...args, cb); the command's acknowledgement is answered from cb. */
static void sio_cmd_to_with_ack(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *o = sio_args_get(args, 0);
    const char *name = bcast_event(o);
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(o, "timeout");
    struct selection sel;
    if (!ack || !name || !cJSON_IsNumber(timeout) || timeout->valuedouble < 1 || selection_init(&sel, o, 0) < 0) {
        ack_string(ack, "error");
        return;
    }
    sio_attachment_ref bufs[10];
    size_t n = args_buffers(args, bufs);
    sio_ack *kept = sio_ack_keep(ack);
    int rc = sio_broadcast_with_ack(sio_socket_namespace(s), &sel.to, name, bcast_args(o), bufs, n,
                                    (unsigned)timeout->valuedouble, sio_to_with_ack_done, kept);
    selection_cleanup(&sel);
    if (rc < 0)
        ack_string(kept, "error"); /* the callback is never called */
}

/* One socket of "__fetch__"'s answer. */
static cJSON *socket_info_json(const sio_socket_info *info)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", info->id);
    cJSON *rooms = cJSON_AddArrayToObject(o, "rooms");
    for (size_t i = 0; i < info->nrooms; i++)
        cJSON_AddItemToArray(rooms, cJSON_CreateString(info->rooms[i]));
    /* socket.data is {} until set, in the reference */
    cJSON_AddItemToObject(o, "data", info->data ? cJSON_Duplicate(info->data, 1) : cJSON_CreateObject());
    const cJSON *address = cJSON_GetObjectItemCaseSensitive(info->handshake, "address");
    cJSON_AddItemToObject(o, "address", address ? cJSON_Duplicate(address, 1) : cJSON_CreateNull());
    const cJSON *query = cJSON_GetObjectItemCaseSensitive(info->handshake, "query");
    const cJSON *foo = cJSON_GetObjectItemCaseSensitive(query, "foo");
    cJSON_AddItemToObject(o, "query_foo", foo ? cJSON_Duplicate(foo, 1) : cJSON_CreateNull());
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(info->handshake, "auth");
    cJSON_AddItemToObject(o, "auth", auth ? cJSON_Duplicate(auth, 1) : cJSON_CreateNull());
    return o;
}

static int compare_info_ids(const void *a, const void *b)
{
    const sio_socket_info *x = *(const sio_socket_info *const *)a;
    const sio_socket_info *y = *(const sio_socket_info *const *)b;
    return strcmp(x->id, y->id);
}

static void sio_fetch_done(int err, const sio_socket_info *sockets, size_t n, void *ud)
{
    sio_ack *ack = ud;
    const sio_socket_info **sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
    if (err < 0 || (n && !sorted)) {
        free(sorted);
        ack_string(ack, "error");
        return;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = &sockets[i];
    if (n)
        qsort(sorted, n, sizeof(*sorted), compare_info_ids);
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < n; i++)
        cJSON_AddItemToArray(list, socket_info_json(sorted[i]));
    free(sorted);
    ack_with(ack, list);
}

/* "__fetch__" {rooms, except}: answers fetchSockets() as [{id, rooms, data, address, query_foo, auth}], by id. */
static void sio_cmd_fetch(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    struct selection sel;
    if (!ack || selection_init(&sel, sio_args_get(args, 0), 0) < 0) {
        ack_string(ack, "error");
        return;
    }
    sio_ack *kept = sio_ack_keep(ack);
    int rc = sio_fetch_sockets(sio_socket_namespace(s), &sel.to, sio_fetch_done, kept);
    selection_cleanup(&sel);
    if (rc < 0)
        ack_string(kept, "error"); /* the callback is never called */
}

/* "__sockets_join__" {rooms, except, join} and "__sockets_leave__" {rooms, except, leave}; answer "ok". */
static void sockets_join_leave(sio_socket *s, const sio_args *args, sio_ack *ack, int join)
{
    const cJSON *o = sio_args_get(args, 0);
    struct selection sel;
    struct room_list l;
    int rc = SIO_ENOMEM;
    if (selection_init(&sel, o, 0) == 0) {
        if (room_list_init(&l, cJSON_GetObjectItemCaseSensitive(o, join ? "join" : "leave")) == 0) {
            sio_namespace *nsp = sio_socket_namespace(s);
            rc = join ? sio_sockets_join(nsp, &sel.to, l.names, l.n) : sio_sockets_leave(nsp, &sel.to, l.names, l.n);
            room_list_cleanup(&l);
        }
        selection_cleanup(&sel);
    }
    ack_string(ack, rc < 0 ? "error" : "ok");
}

static void sio_cmd_sockets_join(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    sockets_join_leave(s, args, ack, 1);
}

static void sio_cmd_sockets_leave(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    sockets_join_leave(s, args, ack, 0);
}

/* "__disconnect_sockets__" {rooms, except, close}: answers "ok" first (the socket may be among those selected),
 * then disconnectSockets(close). */
static void sio_cmd_disconnect_sockets(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack,
                                       void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *o = sio_args_get(args, 0);
    struct selection sel;
    if (selection_init(&sel, o, 0) < 0) {
        ack_string(ack, "error");
        return;
    }
    ack_string(ack, "ok");
    sio_disconnect_sockets(sio_socket_namespace(s), &sel.to, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "close")));
    selection_cleanup(&sel);
}

/* "__set_data__" value: socket.data = value (no value: null, as the reference's undefined reads back). */
static void sio_cmd_set_data(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *v = sio_args_get(args, 0);
    sio_socket_set_json(s, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    ack_string(ack, "ok");
}

/* "__room_size__" room: how many sockets of the namespace are in it. */
static void sio_cmd_room_size(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *room = sio_args_get(args, 0);
    size_t n = cJSON_IsString(room) ? sio_namespace_room_size(sio_socket_namespace(s), room->valuestring) : 0;
    ack_with(ack, cJSON_CreateNumber((double)n));
}

static const struct {
    const char *name;
    sio_event_cb cb;
} room_commands[] = {
    {"__join__", sio_cmd_join},
    {"__leave__", sio_cmd_leave},
    {"__rooms__", sio_cmd_rooms},
    {"__to__", sio_cmd_to},
    {"__to_with_ack__", sio_cmd_to_with_ack},
    {"__fetch__", sio_cmd_fetch},
    {"__sockets_join__", sio_cmd_sockets_join},
    {"__sockets_leave__", sio_cmd_sockets_leave},
    {"__disconnect_sockets__", sio_cmd_disconnect_sockets},
    {"__set_data__", sio_cmd_set_data},
    {"__room_size__", sio_cmd_room_size},
};

/* "/private": refuses a CONNECT without auth {"token": "secret"}. */
static int sio_private_middleware(sio_socket *s, const char **message, cJSON **data, void *ud)
{
    (void)ud;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(sio_socket_auth(s), "token");
    if (cJSON_IsString(token) && strcmp(token->valuestring, "secret") == 0)
        return 0;
    *message = "invalid token";
    *data = cJSON_CreateObject();
    cJSON_AddStringToObject(*data, "hint", "use secret");
    return -1;
}

static void sio_on_connection(sio_socket *s, void *ud)
{
    int main_nsp = ud != NULL;
    print_room_events(sio_socket_namespace(s));
    sio_event_line("sio-connection", s, NULL);
    sio_socket_on_disconnecting(s, sio_on_disconnecting, NULL);
    sio_socket_on_disconnect(s, sio_on_disconnect, NULL);
    if (test_commands) {
        sio_socket_on(s, "__disconnect__", sio_cmd_disconnect, NULL);
        sio_socket_on(s, "__emit_with_ack__", sio_cmd_emit_with_ack, NULL);
        sio_socket_on(s, "__handshake__", sio_cmd_handshake, NULL);
        sio_socket_use(s, sio_drop_middleware, NULL);
        sio_socket_on_any(s, sio_any, NULL);
        struct outgoing *o = calloc(1, sizeof(*o));
        if (o) {
            sio_socket_on_any_outgoing(s, sio_any_outgoing, o);
            sio_socket_on(s, "__outgoing__", sio_cmd_outgoing, o);
            sio_socket_on_disconnect(s, free_outgoing, o);
        }
        for (size_t i = 0; i < sizeof(room_commands) / sizeof(room_commands[0]); i++)
            sio_socket_on(s, room_commands[i].name, room_commands[i].cb, NULL);
    }
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_Duplicate(sio_socket_auth(s), 1));
    sio_socket_emit(s, "auth", args, NULL, 0);
    cJSON_Delete(args);
    if (main_nsp) {
        sio_socket_on(s, "message", sio_on_message, NULL);
        sio_socket_on(s, "message-with-ack", sio_on_message_with_ack, NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static void usage(void)
{
    fprintf(stderr, "usage: conformance [--port N] [--ping-interval MS] [--ping-timeout MS] [--upgrade-timeout MS]\n"
                    "  [--max-payload BYTES] [--transports polling,websocket] [--no-upgrades] [--cors-origin O]...\n"
                    "  [--cors-credentials] [--cookie] [--deny-query K=V] [--events] [--test-commands]\n"
                    "  [--headers-timeout MS] [--max-queued BYTES]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int port = 3000;
    const char *origins[MAX_ORIGINS + 1] = {0};
    int norigins = 0;
    eio_options opts;
    eio_options_init(&opts);
    opts.ping_interval_ms = 300;
    opts.ping_timeout_ms = 200;
    opts.max_http_buffer_size = 1000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                               \
    do {                                                                                                           \
        if (!v)                                                                                                    \
            usage();                                                                                               \
        i++;                                                                                                       \
    } while (0)
        if (strcmp(a, "--port") == 0) {
            NEED_VALUE();
            port = atoi(v);
        } else if (strcmp(a, "--ping-interval") == 0) {
            NEED_VALUE();
            opts.ping_interval_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--ping-timeout") == 0) {
            NEED_VALUE();
            opts.ping_timeout_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--upgrade-timeout") == 0) {
            NEED_VALUE();
            opts.upgrade_timeout_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--headers-timeout") == 0) {
            NEED_VALUE();
            opts.headers_timeout_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--max-payload") == 0) {
            NEED_VALUE();
            opts.max_http_buffer_size = (size_t)strtoull(v, NULL, 10);
        } else if (strcmp(a, "--max-queued") == 0) {
            NEED_VALUE();
            opts.max_queued_bytes = (size_t)strtoull(v, NULL, 10);
        } else if (strcmp(a, "--transports") == 0) {
            NEED_VALUE();
            opts.allow_polling = strstr(v, "polling") != NULL;
            opts.allow_websocket = strstr(v, "websocket") != NULL;
        } else if (strcmp(a, "--no-upgrades") == 0) {
            opts.allow_upgrades = 0;
        } else if (strcmp(a, "--cors-origin") == 0) {
            NEED_VALUE();
            if (norigins == MAX_ORIGINS)
                usage();
            origins[norigins++] = v;
            opts.cors_origins = origins;
        } else if (strcmp(a, "--cors-credentials") == 0) {
            opts.cors_credentials = 1;
        } else if (strcmp(a, "--cookie") == 0) {
            opts.cookie_name = "io";
        } else if (strcmp(a, "--deny-query") == 0) {
            NEED_VALUE();
            static char kv[256];
            snprintf(kv, sizeof(kv), "%s", v);
            char *eq = strchr(kv, '=');
            if (!eq)
                usage();
            *eq = '\0';
            deny_key = kv;
            deny_value = eq + 1;
        } else if (strcmp(a, "--events") == 0) {
            print_events = 1;
        } else if (strcmp(a, "--test-commands") == 0) {
            test_commands = 1;
        } else {
            usage();
        }
    }
    opts.allow_request = allow_request;

    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    eio_handlers h = {on_connection, on_message, on_upgrade, on_close, NULL};
    eio_server *srv = eio_server_new(base, &opts, &h);

    /* Socket.IO at /socket.io/ with the same engine options (the test suites' pingInterval 300 and
     * pingTimeout 200) and connectTimeout 1000; requests for /engine.io/ go on to the echo app. */
    sio_options sopts;
    sio_options_init(&sopts);
    sopts.eio = opts;
    sopts.eio.path = "/socket.io/";
    sopts.eio.allow_request = NULL;
    sopts.connect_timeout_ms = 1000;
    sio_server *sio = sio_server_new(base, &sopts);
    if (!srv || !sio || sio_server_listen(sio, "127.0.0.1", port) < 0) {
        fprintf(stderr, "conformance: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    eio_server_chain(sio_server_engine(sio), srv);
    sio_namespace_on_connection(sio_of(sio, "/"), sio_on_connection, (void *)1);
    sio_namespace_on_connection(sio_of(sio, "/custom"), sio_on_connection, NULL);
    print_room_events(sio_of(sio, "/"));
    print_room_events(sio_of(sio, "/custom"));
    if (test_commands) {
        sio_namespace *priv = sio_of(sio, "/private");
        print_room_events(priv);
        sio_namespace_use(priv, sio_private_middleware, NULL);
        sio_namespace_on_connection(priv, sio_on_connection, NULL);
        sio_namespace_on_connection(sio_of_pattern(sio, "^/dyn-[0-9]+$"), sio_on_connection, NULL);
    }
    printf("listening on 127.0.0.1:%d\n", sio_server_port(sio));
    fflush(stdout);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(base);
    sio_server_free(sio);
    eio_server_free(srv);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    return 0;
}
