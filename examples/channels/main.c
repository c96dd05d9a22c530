/*
 * build/examples/channels: channels with one master and many slaves, on the namespace /channels.
 *
 *   build/examples/channels [--port 3000] [--master-timeout-ms 10000] [--max-channels 1000] [--max-slaves 100]
 *
 * A client connects with auth {role: "master" | "slave", channel, username}. A master creates its channel; slaves
 * join a channel whose master is connected. Slaves talk to the master only; the master talks to one slave or
 * broadcasts to all of them. A master that drops keeps its channel for --master-timeout-ms: it gets it back by
 * reconnecting under the same username, and past the delay every slave gets "master_gone" and is disconnected.
 * README.md has the events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/common/example.h"

enum { MAX_NAME = 64, MAX_TEXT = 2000 }; /* in characters (UTF-8 code points) */

struct channel;

/* One connected client; the socket's data from its connection handler to its disconnect handler. */
typedef struct member {
    sio_socket *sock;     /* borrowed: valid until its disconnect handler returns */
    char *username;       /* owned */
    int is_master;
    struct channel *ch;   /* NULL once its channel is gone (the slaves of a deleted channel, while disconnected) */
    struct member *next;  /* the next slave of ch, in joining order */
} member;

typedef struct channel {
    char *name;              /* owned; unique in the table */
    char *room;              /* owned; "channel:<name>", the room of its slaves (ids have no ':', so no clash) */
    char *master_name;       /* owned; the master's username, kept while it is away */
    member *master;          /* the connected master, or NULL while away (then away_timer is pending) */
    member *slaves;          /* in joining order */
    size_t nslaves;
    struct event *away_timer; /* fires --master-timeout-ms after the master left */
    struct app_state *st;
    struct channel *next;
} channel;

typedef struct app_state {
    struct event_base *base;
    sio_namespace *nsp;
    int master_timeout_ms;
    int max_channels;
    int max_slaves;
    channel *channels; /* a list: --max-channels keeps it short enough for a linear search */
    int nchannels;
} app_state;

/* --- small helpers --- */

/* Characters (UTF-8 code points) of s: the bytes that do not continue a sequence. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* v's string when it is one of 1 to max characters, else NULL. */
static const char *string_of(const cJSON *v, size_t max)
{
    if (!cJSON_IsString(v) || !v->valuestring[0] || utf8_chars(v->valuestring) > max)
        return NULL;
    return v->valuestring;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* {from, text}: the payload of "message" and "broadcast". */
static cJSON *from_text(const char *from, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "from", from);
    cJSON_AddStringToObject(o, "text", text);
    return o;
}

/* Wraps one argument (owned, may be NULL after an allocation failure) into the arguments array. */
static cJSON *args_of(cJSON *arg)
{
    cJSON *args = cJSON_CreateArray();
    if (!args || !arg) {
        cJSON_Delete(arg);
        cJSON_Delete(args);
        return NULL;
    }
    cJSON_AddItemToArray(args, arg);
    return args;
}

/* Emits event with one argument (owned) to one socket. */
static void emit_to(sio_socket *s, const char *event, cJSON *arg)
{
    cJSON *args = args_of(arg);
    if (args)
        sio_socket_emit(s, event, args, NULL, 0);
    cJSON_Delete(args);
}

/* Emits event with one argument (owned) to every slave of ch, encoded once. */
static void emit_to_slaves(channel *ch, const char *event, cJSON *arg)
{
    const char *rooms[] = {ch->room};
    cJSON *args = args_of(arg);
    if (args)
        sio_broadcast(ch->st->nsp, &(sio_bcast){.rooms = rooms, .nrooms = 1}, event, args, NULL, 0);
    cJSON_Delete(args);
}

/* Answers ack (when the client asked for one) with {ok: true} or {ok: false, error}. */
static void answer(sio_ack *ack, const char *error)
{
    if (!ack)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", error == NULL);
    if (error)
        cJSON_AddStringToObject(o, "error", error);
    cJSON *args = args_of(o);
    sio_ack_send(ack, args, NULL, 0);
    cJSON_Delete(args);
}

static void emit_master_status(channel *ch)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "online", ch->master != NULL);
    emit_to_slaves(ch, "master_status", o);
}

/* Tells the master (when connected) who its slaves are: "slaves" {slaves: [username, ...]}. */
static void emit_slave_list(channel *ch)
{
    if (!ch->master)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(o, "slaves");
    for (member *m = ch->slaves; m && list; m = m->next)
        cJSON_AddItemToArray(list, cJSON_CreateString(m->username));
    emit_to(ch->master->sock, "slaves", o);
}

/* --- the channels table --- */

static channel *channel_find(app_state *st, const char *name)
{
    for (channel *ch = st->channels; ch; ch = ch->next)
        if (strcmp(ch->name, name) == 0)
            return ch;
    return NULL;
}

static member *slave_find(channel *ch, const char *username)
{
    for (member *m = ch->slaves; m; m = m->next)
        if (strcmp(m->username, username) == 0)
            return m;
    return NULL;
}

static void channel_free(channel *ch)
{
    if (!ch)
        return;
    if (ch->away_timer)
        event_free(ch->away_timer);
    free(ch->name);
    free(ch->room);
    free(ch->master_name);
    free(ch);
}

/* Takes ch out of the table and frees it; its members must have been detached (m->ch = NULL). */
static void channel_delete(channel *ch)
{
    app_state *st = ch->st;
    for (channel **pp = &st->channels; *pp; pp = &(*pp)->next)
        if (*pp == ch) {
            *pp = ch->next;
            st->nchannels--;
            break;
        }
    channel_free(ch);
}

static void on_master_gone(evutil_socket_t fd, short what, void *arg);

static channel *channel_create(app_state *st, const char *name, const char *master_name)
{
    channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    ch->st = st;
    ch->name = dup_str(name);
    ch->master_name = dup_str(master_name);
    ch->room = malloc(strlen(name) + sizeof("channel:"));
    ch->away_timer = evtimer_new(st->base, on_master_gone, ch);
    if (!ch->name || !ch->master_name || !ch->room || !ch->away_timer) {
        channel_free(ch);
        return NULL;
    }
    strcpy(ch->room, "channel:");
    strcat(ch->room, name);
    ch->next = st->channels;
    st->channels = ch;
    st->nchannels++;
    return ch;
}

/*
 * The master has been away for --master-timeout-ms: every slave hears "master_gone" and is disconnected, and the
 * channel is deleted so that a new master may create it. The slaves are detached first, so that their disconnect
 * handlers (which run inside sio_socket_disconnect) touch nothing of the channel being deleted.
 */
static void on_master_gone(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    channel *ch = arg;
    printf("master %s of %s gone: channel deleted, %zu slave(s) disconnected\n", ch->master_name, ch->name,
           ch->nslaves);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "channel", ch->name);
    emit_to_slaves(ch, "master_gone", o);
    member *m = ch->slaves;
    ch->slaves = NULL;
    for (member *next; m; m = next) {
        next = m->next;
        m->ch = NULL;
        m->next = NULL;
        sio_socket_disconnect(m->sock, 0); /* frees m, in its disconnect handler */
    }
    channel_delete(ch);
}

/* --- the namespace --- */

/*
 * Every CONNECT to /channels: checks the auth and the channel's state, and refuses with a message the client
 * sees in its connect_error. The connection handler runs right after (in the same call), so what is checked here
 * still holds there.
 */
static int check_auth(sio_socket *s, const char **message, cJSON **data, void *ud)
{
    (void)data;
    app_state *st = ud;
    const cJSON *auth = sio_socket_auth(s);
    const char *role = string_of(cJSON_GetObjectItemCaseSensitive(auth, "role"), 16);
    const char *name = string_of(cJSON_GetObjectItemCaseSensitive(auth, "channel"), MAX_NAME);
    const char *username = string_of(cJSON_GetObjectItemCaseSensitive(auth, "username"), MAX_NAME);
    int is_master = role && strcmp(role, "master") == 0;
    channel *ch = name ? channel_find(st, name) : NULL;

    if (!role || (!is_master && strcmp(role, "slave") != 0))
        *message = "auth.role must be \"master\" or \"slave\"";
    else if (!name)
        *message = "auth.channel must be a string of 1 to 64 characters";
    else if (!username)
        *message = "auth.username must be a string of 1 to 64 characters";
    else if (is_master && !ch && st->nchannels >= st->max_channels)
        *message = "too many channels";
    else if (is_master && ch && ch->master)
        *message = "channel already has a master";
    else if (is_master && ch && strcmp(ch->master_name, username) != 0)
        *message = "channel is kept for its master, who is away"; /* only the same username gets it back */
    else if (!is_master && !ch)
        *message = "no such channel";
    else if (!is_master && !ch->master)
        *message = "master not connected";
    else if (!is_master && slave_find(ch, username))
        *message = "username taken";
    else if (!is_master && ch->nslaves >= (size_t)st->max_slaves)
        *message = "channel full";
    else
        return 0;
    printf("refused %s: %s\n", sio_socket_id(s), *message);
    return -1;
}

/* "master_status" (ack): {online} for the channel's master. */
static void on_master_status(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)args;
    (void)ud;
    member *m = sio_socket_data(s);
    if (!ack || !m)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "online", m->ch && m->ch->master);
    cJSON *a = args_of(o);
    sio_ack_send(ack, a, NULL, 0);
    cJSON_Delete(a);
}

/* "message": a slave's text goes to its master; the master's {to, text} goes to that slave. Returns the error for
 * the acknowledgement, or NULL when delivered. */
static const char *relay_message(member *m, const cJSON *arg)
{
    if (!m || !m->ch)
        return "no channel";
    if (!m->is_master) {
        const char *text = string_of(arg, MAX_TEXT);
        if (!text)
            return "text must be a string of 1 to 2000 characters";
        if (!m->ch->master)
            return "master not connected";
        emit_to(m->ch->master->sock, "message", from_text(m->username, text));
        return NULL;
    }
    const char *to = string_of(cJSON_GetObjectItemCaseSensitive(arg, "to"), MAX_NAME);
    const char *text = string_of(cJSON_GetObjectItemCaseSensitive(arg, "text"), MAX_TEXT);
    if (!to || !text)
        return "expected {to, text}, text a string of 1 to 2000 characters";
    member *slave = slave_find(m->ch, to);
    if (!slave)
        return "no such slave";
    emit_to(slave->sock, "message", from_text(m->username, text));
    return NULL;
}

static void on_message(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    answer(ack, relay_message(sio_socket_data(s), sio_args_get(args, 0)));
}

/* "broadcast": the master's text goes to every slave of its channel. */
static const char *relay_broadcast(member *m, const cJSON *arg)
{
    if (!m || !m->ch || !m->is_master)
        return "only the master may broadcast";
    const char *text = string_of(arg, MAX_TEXT);
    if (!text)
        return "text must be a string of 1 to 2000 characters";
    emit_to_slaves(m->ch, "broadcast", from_text(m->username, text));
    return NULL;
}

static void on_broadcast(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ud;
    answer(ack, relay_broadcast(sio_socket_data(s), sio_args_get(args, 0)));
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    app_state *st = ud;
    member *m = sio_socket_data(s);
    sio_socket_set_data(s, NULL);
    if (!m)
        return;
    channel *ch = m->ch;
    /* At shutdown every socket goes; main() frees the channels afterwards, with no one left to tell. */
    int stopping = strcmp(reason, SIO_REASON_SERVER_SHUTTING_DOWN) == 0;
    if (ch && m->is_master) {
        ch->master = NULL;
        if (!stopping) {
            printf("master %s of %s away (%s): channel kept %d ms\n", m->username, ch->name, reason,
                   st->master_timeout_ms);
            struct timeval tv = {st->master_timeout_ms / 1000, (st->master_timeout_ms % 1000) * 1000};
            event_add(ch->away_timer, &tv);
            emit_master_status(ch);
        }
    } else if (ch) {
        for (member **pp = &ch->slaves; *pp; pp = &(*pp)->next)
            if (*pp == m) {
                *pp = m->next;
                ch->nslaves--;
                break;
            }
        if (!stopping) {
            printf("slave %s left %s (%s)\n", m->username, ch->name, reason);
            emit_slave_list(ch);
        }
    }
    free(m->username);
    free(m);
}

static void on_connection(sio_socket *s, void *ud)
{
    app_state *st = ud;
    const cJSON *auth = sio_socket_auth(s); /* check_auth accepted it: every field is there and valid */
    const char *name = cJSON_GetObjectItemCaseSensitive(auth, "channel")->valuestring;
    const char *username = cJSON_GetObjectItemCaseSensitive(auth, "username")->valuestring;
    int is_master = strcmp(cJSON_GetObjectItemCaseSensitive(auth, "role")->valuestring, "master") == 0;
    member *m = calloc(1, sizeof(*m));
    char *uname = dup_str(username);
    channel *ch = channel_find(st, name);
    int created = !ch && m && uname; /* check_auth let only a master through without a channel */
    if (created)
        ch = channel_create(st, name, username);
    if (!ch || !m || !uname) { /* out of memory */
        free(m);
        free(uname);
        sio_socket_disconnect(s, 0);
        return;
    }
    m->sock = s;
    m->username = uname;
    m->is_master = is_master;
    m->ch = ch;
    if (is_master) {
        ch->master = m;
        printf(created ? "master %s created %s\n" : "master %s back in %s\n", username, name);
        if (!created) {
            event_del(ch->away_timer);
            emit_master_status(ch);
        }
    } else {
        member **tail = &ch->slaves;
        while (*tail)
            tail = &(*tail)->next;
        *tail = m;
        ch->nslaves++;
        sio_socket_join(s, ch->room);
        printf("slave %s joined %s\n", username, name);
    }
    sio_socket_set_data(s, m);
    sio_socket_on(s, "master_status", on_master_status, st);
    sio_socket_on(s, "message", on_message, st);
    sio_socket_on(s, "broadcast", on_broadcast, st);
    sio_socket_on_disconnect(s, on_disconnect, st);
    emit_slave_list(ch); /* to the master: the whole list, on its arrival and on each change */
}

int main(int argc, char **argv)
{
    app_state st = {.master_timeout_ms = 10000, .max_channels = 1000, .max_slaves = 100};
    ex_flag flags[] = {
        {"--master-timeout-ms", EX_FLAG_INT, &st.master_timeout_ms,
         "how long a channel waits for its master to come back (default 10000)"},
        {"--max-channels", EX_FLAG_INT, &st.max_channels, "channels at most (default 1000)"},
        {"--max-slaves", EX_FLAG_INT, &st.max_slaves, "slaves per channel at most (default 100)"},
    };
    ex_app app;
    int rc = ex_app_init(&app, "channels", argc, argv, flags, sizeof(flags) / sizeof(flags[0]), NULL);
    if (rc != 0)
        return rc < 0 ? 1 : 0;
    st.base = app.base;
    st.nsp = sio_of(app.io, "/channels");
    sio_namespace_use(st.nsp, check_auth, &st);
    sio_namespace_on_connection(st.nsp, on_connection, &st);

    ex_app_run(&app); /* every socket's disconnect handler has run when it returns */
    while (st.channels) {
        channel *ch = st.channels;
        st.channels = ch->next;
        channel_free(ch);
    }
    ex_app_cleanup(&app);
    return 0;
}
