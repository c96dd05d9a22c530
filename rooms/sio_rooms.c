/*
 * The room index (see sio_rooms.h): a hash table of rooms, each with its members in joining order, and per
 * member the list of its rooms. One membership is one node (five pointers); a room is one record holding its
 * name.
 */
#include "rooms/sio_rooms.h"

#include <stdlib.h>
#include <string.h>

struct sio_room {
    struct sio_room *hnext;              /* next in the hash bucket */
    struct sio_rooms_node *first, *last; /* members in joining order */
    size_t size;
    uint32_t hash;
    uint16_t busy;                       /* hooks running with this record: it is freed after them */
    uint8_t unlinked;                    /* deleted (out of the table), freed when busy drops to 0 */
    char name[];
};

struct sio_rooms_node {
    struct sio_room *room;
    sio_rooms_member *m;
    struct sio_rooms_node *rprev, *rnext; /* in the room */
    struct sio_rooms_node *mnext;         /* in the member's rooms */
};

struct sio_rooms {
    struct sio_room **table; /* power-of-two buckets */
    size_t table_size;
    size_t nrooms;
    sio_rooms_member *first, *last; /* members in at least one room, in order */
    uint32_t gen;                   /* selection marks */
    sio_rooms_hook hook;
    void *ud;
};

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

sio_rooms *sio_rooms_new(sio_rooms_hook hook, void *user_data)
{
    sio_rooms *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->table_size = 64;
    r->table = calloc(r->table_size, sizeof(*r->table));
    if (!r->table) {
        free(r);
        return NULL;
    }
    r->hook = hook;
    r->ud = user_data;
    return r;
}

void sio_rooms_free(sio_rooms *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->table_size; i++) {
        struct sio_room *room = r->table[i];
        while (room) {
            struct sio_room *next = room->hnext;
            for (struct sio_rooms_node *n = room->first, *nn; n; n = nn) {
                nn = n->rnext;
                free(n);
            }
            free(room);
            room = next;
        }
    }
    free(r->table);
    free(r);
}

static struct sio_room *room_find(const sio_rooms *r, const char *name, uint32_t h)
{
    for (struct sio_room *room = r->table[h & (r->table_size - 1)]; room; room = room->hnext)
        if (room->hash == h && strcmp(room->name, name) == 0)
            return room;
    return NULL;
}

static void table_grow(sio_rooms *r)
{
    size_t size = r->table_size * 2;
    struct sio_room **t = calloc(size, sizeof(*t));
    if (!t)
        return; /* stays correct, only slower */
    for (size_t i = 0; i < r->table_size; i++) {
        struct sio_room *room = r->table[i];
        while (room) {
            struct sio_room *next = room->hnext;
            room->hnext = t[room->hash & (size - 1)];
            t[room->hash & (size - 1)] = room;
            room = next;
        }
    }
    free(r->table);
    r->table = t;
    r->table_size = size;
}

static void room_unlink(sio_rooms *r, struct sio_room *room)
{
    struct sio_room **p = &r->table[room->hash & (r->table_size - 1)];
    while (*p != room)
        p = &(*p)->hnext;
    *p = room->hnext;
    r->nrooms--;
}

static void hook(sio_rooms *r, int what, const char *room, sio_rooms_member *m)
{
    if (r->hook)
        r->hook(what, room, m, r->ud);
}

int sio_rooms_has(const sio_rooms *r, const sio_rooms_member *m, const char *room)
{
    (void)r;
    for (const struct sio_rooms_node *n = m->first; n; n = n->mnext)
        if (strcmp(n->room->name, room) == 0)
            return 1;
    return 0;
}

static int member_listed(const sio_rooms *r, const sio_rooms_member *m)
{
    return m->prev != NULL || r->first == m;
}

static void room_release(struct sio_room *room)
{
    if (--room->busy == 0 && room->unlinked)
        free(room);
}

int sio_rooms_add(sio_rooms *r, sio_rooms_member *m, const char *name)
{
    if (sio_rooms_has(r, m, name))
        return 0;
    uint32_t h = hash_name(name);
    struct sio_room *room = room_find(r, name, h);
    struct sio_rooms_node *n = malloc(sizeof(*n));
    if (!n)
        return -1;
    if (!room) {
        size_t len = strlen(name);
        room = calloc(1, sizeof(*room) + len + 1);
        if (!room) {
            free(n);
            return -1;
        }
        memcpy(room->name, name, len + 1);
        room->hash = h;
        if (r->nrooms >= r->table_size)
            table_grow(r);
        room->hnext = r->table[h & (r->table_size - 1)];
        r->table[h & (r->table_size - 1)] = room;
        r->nrooms++;
        /* create-room before the member is in it, as the reference */
        room->busy++;
        hook(r, SIO_ROOMS_CREATE, room->name, NULL);
        int gone = room->unlinked;
        room_release(room);
        if (gone || sio_rooms_has(r, m, name)) { /* the hook deleted the room, or joined m itself */
            free(n);
            return gone ? sio_rooms_add(r, m, name) : 0;
        }
    }
    n->room = room;
    n->m = m;
    n->rnext = NULL;
    n->rprev = room->last;
    if (room->last)
        room->last->rnext = n;
    else
        room->first = n;
    room->last = n;
    room->size++;
    n->mnext = NULL;
    if (m->last)
        m->last->mnext = n;
    else
        m->first = n;
    m->last = n;
    m->count++;
    if (!member_listed(r, m)) { /* a new member of the index: listed until del_all, as the reference's sids */
        m->mark = 0;
        m->next = NULL;
        m->prev = r->last;
        if (r->last)
            r->last->next = m;
        else
            r->first = m;
        r->last = m;
    }
    room->busy++;
    hook(r, SIO_ROOMS_JOIN, room->name, m);
    room_release(room);
    return 1;
}

/* Removes node n (whose predecessor in m's list is prev) and deletes its room when it is left empty. The
 * hooks may change the index (even empty or delete this room): the record is kept until they return. */
static void node_remove(sio_rooms *r, sio_rooms_member *m, struct sio_rooms_node *prev, struct sio_rooms_node *n)
{
    struct sio_room *room = n->room;
    if (prev)
        prev->mnext = n->mnext;
    else
        m->first = n->mnext;
    if (m->last == n)
        m->last = prev;
    if (n->rprev)
        n->rprev->rnext = n->rnext;
    else
        room->first = n->rnext;
    if (n->rnext)
        n->rnext->rprev = n->rprev;
    else
        room->last = n->rprev;
    room->size--;
    m->count--;
    free(n);
    int emptied = room->size == 0 && !room->unlinked;
    if (emptied) {
        room_unlink(r, room);
        room->unlinked = 1;
    }
    room->busy++;
    hook(r, SIO_ROOMS_LEAVE, room->name, m);
    if (emptied)
        hook(r, SIO_ROOMS_DELETE, room->name, NULL);
    room_release(room);
}

static void member_unlist(sio_rooms *r, sio_rooms_member *m)
{
    if (!member_listed(r, m))
        return;
    if (m->prev)
        m->prev->next = m->next;
    else
        r->first = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        r->last = m->prev;
    m->prev = m->next = NULL;
}

int sio_rooms_del(sio_rooms *r, sio_rooms_member *m, const char *room)
{
    struct sio_rooms_node *prev = NULL;
    for (struct sio_rooms_node *n = m->first; n; prev = n, n = n->mnext) {
        if (strcmp(n->room->name, room) == 0) {
            node_remove(r, m, prev, n);
            return 1;
        }
    }
    return 0;
}

void sio_rooms_del_all(sio_rooms *r, sio_rooms_member *m)
{
    while (m->first)
        node_remove(r, m, NULL, m->first);
    member_unlist(r, m);
}

size_t sio_rooms_of(const sio_rooms_member *m, const char **out, size_t cap)
{
    size_t i = 0;
    for (const struct sio_rooms_node *n = m->first; n; n = n->mnext, i++)
        if (i < cap)
            out[i] = n->room->name;
    return i;
}

size_t sio_rooms_size(const sio_rooms *r, const char *name)
{
    const struct sio_room *room = room_find(r, name, hash_name(name));
    return room ? room->size : 0;
}

size_t sio_rooms_count(const sio_rooms *r)
{
    return r->nrooms;
}

size_t sio_rooms_list(const sio_rooms *r, const char **out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < r->table_size; i++)
        for (const struct sio_room *room = r->table[i]; room; room = room->hnext, k++)
            if (k < cap)
                out[k] = room->name;
    return k;
}

long sio_rooms_select(sio_rooms *r, const char *const *rooms, size_t nrooms, const char *const *except,
                      size_t nexcept, sio_rooms_member ***out)
{
    *out = NULL;
    /* Marks: excluded members get gen, selected ones gen + 1 (a fresh pair for each selection). */
    r->gen += 2;
    if (r->gen < 2) { /* wrapped: marks left from 2^31 selections ago could match; clear them */
        for (sio_rooms_member *m = r->first; m; m = m->next)
            m->mark = 0;
        r->gen = 2;
    }
    uint32_t excluded = r->gen, selected = r->gen + 1;
    for (size_t i = 0; i < nexcept; i++) {
        const struct sio_room *room = room_find(r, except[i], hash_name(except[i]));
        for (const struct sio_rooms_node *n = room ? room->first : NULL; n; n = n->rnext)
            n->m->mark = excluded;
    }
    size_t cap = 0;
    if (nrooms == 0) {
        for (sio_rooms_member *m = r->first; m; m = m->next)
            cap++;
    } else {
        for (size_t i = 0; i < nrooms; i++)
            cap += sio_rooms_size(r, rooms[i]);
    }
    if (cap == 0)
        return 0;
    sio_rooms_member **v = malloc(cap * sizeof(*v));
    if (!v)
        return -1;
    size_t k = 0;
    if (nrooms == 0) {
        for (sio_rooms_member *m = r->first; m; m = m->next)
            if (m->mark != excluded)
                v[k++] = m;
    } else {
        for (size_t i = 0; i < nrooms; i++) {
            const struct sio_room *room = room_find(r, rooms[i], hash_name(rooms[i]));
            for (const struct sio_rooms_node *n = room ? room->first : NULL; n; n = n->rnext) {
                if (n->m->mark == excluded || n->m->mark == selected)
                    continue;
                n->m->mark = selected;
                v[k++] = n->m;
            }
        }
    }
    if (k == 0) {
        free(v);
        return 0;
    }
    *out = v;
    return (long)k;
}
