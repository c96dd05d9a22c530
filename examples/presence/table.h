/*
 * table.h: the presence example's state, rooms -> persons -> sockets. It calls no Socket.IO function and arms
 * no timer (main.c does both); it only frees the persons' grace timers with them. Rooms are kept in an array sorted by name, and each room's persons in an array sorted
 * by key, so that a lookup is a binary search and the "users" list of the `online` event comes out sorted.
 *
 * Bounds: a room holds at most PR_MAX_PERSONS persons and the table PR_MAX_ROOMS rooms (pr_table_can_add says
 * whether a connection still fits); a person exists while it has a socket or its grace delay runs, and a room
 * while it holds a person, so everything a client makes us store goes away after its grace delay.
 */
#ifndef PRESENCE_TABLE_H
#define PRESENCE_TABLE_H

#include <stddef.h>

#include "socketio/socketio.h"

enum { PR_MAX_ROOMS = 10000, PR_MAX_PERSONS = 10000 };

struct event;
typedef struct pr_room pr_room;

/* One person counted in a room: a logged-in user (one user_key) or a guest (one client_id). */
typedef struct pr_person {
    char *key;            /* "alice" or "guest:<client_id>": unique in its room, the sort key (first member) */
    int guest;            /* 1 when key is "guest:<client_id>" */
    size_t sockets;       /* connected sockets counted for this person; 0 while its grace delay runs */
    struct event *grace;  /* the removal timer (main.c's), NULL until first armed; pending only when sockets == 0 */
    pr_room *room;        /* the room that holds it */
} pr_person;

/* One connected socket of the room. */
typedef struct pr_session {
    sio_socket *socket;   /* borrowed: the session is freed by the socket's disconnect handler */
    char *client_id;      /* the auth's client_id */
    int guest;            /* 1 when it connected without a user_key */
    pr_person *person;    /* who it counts for: its own person, or the user who adopted its guest entry */
    pr_room *room;
    struct pr_session *prev, *next; /* the room's list of sessions */
} pr_session;

struct pr_room {
    char *name;           /* the room as the clients name it (the first member: the sort key) */
    char *channel;        /* the Socket.IO room of its sockets: "presence:" + name */
    pr_person **persons;  /* sorted by key; n used of cap */
    size_t n, cap;
    pr_session *sessions; /* every connected socket of the room, newest first */
    struct pr_table *table; /* the table that holds it */
};

typedef struct pr_table {
    pr_room **rooms;      /* sorted by name; n used of cap */
    size_t n, cap;
    void *user_data;      /* the application's, for the timers that only have a person */
} pr_table;

/* The room named `name`, or NULL. */
pr_room *pr_table_find(const pr_table *t, const char *name);
/* Whether a socket with this room and person key can be stored without passing a bound (1) or not (0);
 * *message tells which bound. */
int pr_table_can_add(const pr_table *t, const char *room, const char *key, const char **message);
/* The room named `name` (copied), created when missing. NULL when out of memory. */
pr_room *pr_table_room(pr_table *t, const char *name);
/* Frees the room when it holds no person (and so no session). */
void pr_table_room_release(pr_table *t, pr_room *r);
/* Frees every room, person and session; the persons' grace timers are freed with event_free. */
void pr_table_cleanup(pr_table *t);

/* The person with that key in r, or NULL. */
pr_person *pr_room_find(const pr_room *r, const char *key);
/* Adds the person (key copied) with no socket, in order. NULL when out of memory. */
pr_person *pr_room_add(pr_room *r, const char *key, int guest);
/* Removes p from its room and frees it (and its timer). Sessions still pointing at it must be moved first. */
void pr_room_remove(pr_room *r, pr_person *p);
/* {"room": name, "count": n, "users": [keys in order]}, or NULL when out of memory. */
cJSON *pr_room_state(const pr_room *r);

/* A new session of socket s (client_id copied) counted for p, linked into p's room. NULL when out of memory. */
pr_session *pr_session_new(sio_socket *s, const char *client_id, int guest, pr_person *p);
/* Unlinks and frees the session (the caller has done the counting). Accepts NULL. */
void pr_session_free(pr_session *ss);

#endif
