/*
 * The conformance program's rooms, broadcasting and cluster test commands (--test-commands) and event lines
 * (--events); test/interop/README.md documents them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/conformance/conformance.h"

int cf_server_port;
unsigned cf_requests_timeout_ms = 5000;

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
void cf_print_room_events(sio_namespace *nsp)
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
        size_t n = cf_args_buffers(args, bufs);
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
    size_t n = cf_args_buffers(args, bufs);
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

/* "__server_side_emit__" {args, ack}: serverSideEmit("__sse__", ...args); with ack true, with an acknowledgement
 * (within --requests-timeout), answered {err, responses}. */
static void sio_sse_done(int err, const cJSON *responses, void *ud)
{
    cJSON *o = cJSON_CreateObject();
    if (err == SIO_ETIMEOUT)
        cJSON_AddStringToObject(o, "err", "timeout reached");
    else if (err < 0)
        cJSON_AddStringToObject(o, "err", sio_strerror(err));
    else
        cJSON_AddNullToObject(o, "err");
    cJSON_AddItemToObject(o, "responses", responses ? cJSON_Duplicate(responses, 1) : cJSON_CreateArray());
    ack_with(ud, o);
}

static void sio_cmd_server_side_emit(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    const cJSON *o = sio_args_get(args, 0);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "args");
    cJSON *none = cJSON_IsArray(a) ? NULL : cJSON_CreateArray();
    sio_namespace *nsp = sio_socket_namespace(s);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ack"))) {
        int rc = sio_server_side_emit(nsp, "__sse__", none ? none : a);
        ack_string(ack, rc < 0 ? "error" : "ok");
    } else if (ack) {
        sio_ack *kept = sio_ack_keep(ack);
        if (sio_server_side_emit_with_ack(nsp, "__sse__", none ? none : a, cf_requests_timeout_ms, sio_sse_done, kept) < 0)
            ack_string(kept, "error"); /* the callback is never called */
    }
    cJSON_Delete(none);
}

/* Server-side events "__sse__" from the other servers: one "sio-server-side" line; an acknowledgement asked for
 * is answered {port} of this server. */
static void sio_on_server_side(sio_namespace *nsp, const char *event, const cJSON *args, sio_server_ack *ack, void *ud)
{
    (void)ud;
    if (strcmp(event, "__sse__") != 0)
        return;
    if (print_events) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "event", "sio-server-side");
        cJSON_AddStringToObject(o, "nsp", sio_namespace_name(nsp));
        cJSON_AddItemToObject(o, "args", cJSON_Duplicate(args, 1));
        char *line = cJSON_PrintUnformatted(o);
        if (line)
            printf("%s\n", line);
        fflush(stdout);
        cJSON_free(line);
        cJSON_Delete(o);
    }
    if (ack) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "port", cf_server_port);
        sio_server_ack_send(ack, r);
        cJSON_Delete(r);
    }
}

void cf_listen_server_side(sio_namespace *nsp)
{
    sio_namespace_on_server_side(nsp, sio_on_server_side, NULL);
}

static const struct {
    const char *name;
    sio_event_cb cb;
} room_commands[] = {
    {"__server_side_emit__", sio_cmd_server_side_emit},
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

void cf_room_commands_on(sio_socket *s)
{
    for (size_t i = 0; i < sizeof(room_commands) / sizeof(room_commands[0]); i++)
        sio_socket_on(s, room_commands[i].name, room_commands[i].cb, NULL);
}
