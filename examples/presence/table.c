/*
 * table.c: rooms -> persons -> sessions (see table.h).
 */
#include "examples/presence/table.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

/*
 * Both arrays (rooms by name, persons by key) hold pointers to structs whose first member is their key, so one
 * binary search serves both: a pointer to a struct converts to a pointer to its first member.
 */
static const char *key_of(void *item)
{
    return *(char **)item;
}

/* The index of the first item whose key is >= key; *found says whether it is equal. */
static size_t lower_bound(void *const *items, size_t n, const char *key, int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(key_of(items[mid]), key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < n && strcmp(key_of(items[lo]), key) == 0;
    return lo;
}

/* Inserts item at index i of the array (*items, *n, *cap), growing it; -1 when out of memory. */
static int array_insert(void ***items, size_t *n, size_t *cap, size_t i, void *item)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void **grown = realloc(*items, ncap * sizeof(*grown));
        if (!grown)
            return -1;
        *items = grown;
        *cap = ncap;
    }
    memmove(*items + i + 1, *items + i, (*n - i) * sizeof(**items));
    (*items)[i] = item;
    (*n)++;
    return 0;
}

static void array_remove(void **items, size_t *n, size_t i)
{
    memmove(items + i, items + i + 1, (*n - i - 1) * sizeof(*items));
    (*n)--;
}

static char *dup_str(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (copy)
        memcpy(copy, s, len);
    return copy;
}

pr_room *pr_table_find(const pr_table *t, const char *name)
{
    int found;
    size_t i = lower_bound((void *const *)t->rooms, t->n, name, &found);
    return found ? t->rooms[i] : NULL;
}

int pr_table_can_add(const pr_table *t, const char *room, const char *key, const char **message)
{
    const pr_room *r = pr_table_find(t, room);
    if (!r && t->n >= PR_MAX_ROOMS) {
        *message = "too many rooms";
        return 0;
    }
    if (r && r->n >= PR_MAX_PERSONS && !pr_room_find(r, key)) {
        *message = "room is full";
        return 0;
    }
    return 1;
}

pr_room *pr_table_room(pr_table *t, const char *name)
{
    int found;
    size_t i = lower_bound((void *const *)t->rooms, t->n, name, &found);
    if (found)
        return t->rooms[i];
    pr_room *r = calloc(1, sizeof(*r));
    size_t len = strlen(name);
    if (r) {
        r->name = dup_str(name);
        r->channel = malloc(sizeof("presence:") + len);
    }
    if (!r || !r->name || !r->channel || array_insert((void ***)&t->rooms, &t->n, &t->cap, i, r) < 0) {
        if (r) {
            free(r->name);
            free(r->channel);
        }
        free(r);
        return NULL;
    }
    r->table = t;
    memcpy(r->channel, "presence:", sizeof("presence:") - 1);
    memcpy(r->channel + sizeof("presence:") - 1, name, len + 1);
    return r;
}

static void room_free(pr_room *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->persons[i]->grace)
            event_free(r->persons[i]->grace);
        free(r->persons[i]->key);
        free(r->persons[i]);
    }
    while (r->sessions)
        pr_session_free(r->sessions);
    free(r->persons);
    free(r->name);
    free(r->channel);
    free(r);
}

void pr_table_room_release(pr_table *t, pr_room *r)
{
    if (r->n > 0 || r->sessions)
        return;
    int found;
    size_t i = lower_bound((void *const *)t->rooms, t->n, r->name, &found);
    if (found)
        array_remove((void **)t->rooms, &t->n, i);
    room_free(r);
}

void pr_table_cleanup(pr_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        room_free(t->rooms[i]);
    free(t->rooms);
    t->rooms = NULL;
    t->n = t->cap = 0;
}

pr_person *pr_room_find(const pr_room *r, const char *key)
{
    int found;
    size_t i = lower_bound((void *const *)r->persons, r->n, key, &found);
    return found ? r->persons[i] : NULL;
}

pr_person *pr_room_add(pr_room *r, const char *key, int guest)
{
    int found;
    size_t i = lower_bound((void *const *)r->persons, r->n, key, &found);
    if (found)
        return r->persons[i];
    pr_person *p = calloc(1, sizeof(*p));
    if (p)
        p->key = dup_str(key);
    if (!p || !p->key || array_insert((void ***)&r->persons, &r->n, &r->cap, i, p) < 0) {
        if (p)
            free(p->key);
        free(p);
        return NULL;
    }
    p->guest = guest;
    p->room = r;
    return p;
}

void pr_room_remove(pr_room *r, pr_person *p)
{
    int found;
    size_t i = lower_bound((void *const *)r->persons, r->n, p->key, &found);
    if (found)
        array_remove((void **)r->persons, &r->n, i);
    if (p->grace)
        event_free(p->grace);
    free(p->key);
    free(p);
}

cJSON *pr_room_state(const pr_room *r)
{
    cJSON *state = cJSON_CreateObject();
    cJSON *users = NULL;
    if (!cJSON_AddStringToObject(state, "room", r->name) || !cJSON_AddNumberToObject(state, "count", (double)r->n) ||
        !(users = cJSON_AddArrayToObject(state, "users"))) {
        cJSON_Delete(state);
        return NULL;
    }
    for (size_t i = 0; i < r->n; i++) {
        cJSON *key = cJSON_CreateString(r->persons[i]->key);
        if (!key || !cJSON_AddItemToArray(users, key)) {
            cJSON_Delete(key);
            cJSON_Delete(state);
            return NULL;
        }
    }
    return state;
}

pr_session *pr_session_new(sio_socket *s, const char *client_id, int guest, pr_person *p)
{
    pr_session *ss = calloc(1, sizeof(*ss));
    if (ss)
        ss->client_id = dup_str(client_id);
    if (!ss || !ss->client_id) {
        free(ss);
        return NULL;
    }
    ss->socket = s;
    ss->guest = guest;
    ss->person = p;
    ss->room = p->room;
    ss->next = p->room->sessions;
    if (ss->next)
        ss->next->prev = ss;
    p->room->sessions = ss;
    return ss;
}

void pr_session_free(pr_session *ss)
{
    if (!ss)
        return;
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        ss->room->sessions = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    free(ss->client_id);
    free(ss);
}
