/*
 * sio_rooms.h: the room index of the in-memory adapter: room -> members and member -> rooms, with the
 * reference adapter's semantics (socket.io-adapter's in-memory Adapter):
 * - a room exists while it has members: the first join creates it, the last leave deletes it;
 * - lifecycle hooks in the reference's order: create-room then join-room on a join, leave-room then
 *   delete-room on a leave;
 * - selection: the members in any of the given rooms, each once, minus the members of the except rooms;
 *   every member when no room is given. Order: rooms in the order given, members of a room in joining order;
 *   for "every member", in the order members first joined a room. A member stays in "every member" until
 *   sio_rooms_del_all, even when it left its rooms one by one (the reference's sids map).
 * - hooks may change the index (join, leave, even delete the room being reported): the room's record and name
 *   stay valid until the hook returns.
 *
 * A member is a `sio_rooms_member` the caller embeds in its own object (a socket embeds one): the index keeps
 * no per-member table, so one membership costs one small node plus the room's own record when it is new.
 * Not thread-safe; no callback runs inside a selection (selections are snapshots).
 */
#ifndef SIO_ROOMS_H
#define SIO_ROOMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct sio_rooms sio_rooms;
struct sio_rooms_node;

/* Embedded in the caller's object; zero-initialise it (or use SIO_ROOMS_MEMBER_INIT) before the first join. */
typedef struct sio_rooms_member {
    struct sio_rooms_node *first, *last;   /* the member's rooms in joining order */
    struct sio_rooms_member *prev, *next;  /* the index's members (from a first join to del_all), in order */
    uint32_t count;                        /* rooms it is in */
    uint32_t mark;                         /* used during a selection */
} sio_rooms_member;
#define SIO_ROOMS_MEMBER_INIT {NULL, NULL, NULL, NULL, 0, 0}

enum { SIO_ROOMS_CREATE, SIO_ROOMS_DELETE, SIO_ROOMS_JOIN, SIO_ROOMS_LEAVE };
/* member is NULL for SIO_ROOMS_CREATE and SIO_ROOMS_DELETE. room is valid during the call. */
typedef void (*sio_rooms_hook)(int what, const char *room, sio_rooms_member *member, void *user_data);

sio_rooms *sio_rooms_new(sio_rooms_hook hook, void *user_data); /* hook may be NULL; NULL on out of memory */
/* Frees the index. Members still in rooms are left with dangling nodes: remove them first (sio_rooms_del_all). */
void sio_rooms_free(sio_rooms *r);

/* m joins room (copied). Returns 1 when it joined, 0 when it was already in the room, -1 on out of memory
 * (nothing changed). */
int sio_rooms_add(sio_rooms *r, sio_rooms_member *m, const char *room);
/* m leaves room. Returns 1 when it left, 0 when it was not in it. */
int sio_rooms_del(sio_rooms *r, sio_rooms_member *m, const char *room);
/* m leaves every room, in joining order, and is no longer a member of the index. */
void sio_rooms_del_all(sio_rooms *r, sio_rooms_member *m);

int sio_rooms_has(const sio_rooms *r, const sio_rooms_member *m, const char *room);
/* Stores up to cap of m's room names (joining order) in out; returns how many rooms m is in. The names stay
 * valid until m leaves those rooms. */
size_t sio_rooms_of(const sio_rooms_member *m, const char **out, size_t cap);
size_t sio_rooms_size(const sio_rooms *r, const char *room); /* members of room; 0 when it does not exist */
size_t sio_rooms_count(const sio_rooms *r);                   /* rooms that exist */
/* Stores up to cap room names (in no particular order) in out; returns how many rooms exist. The names stay
 * valid until those rooms are deleted. */
size_t sio_rooms_list(const sio_rooms *r, const char **out, size_t cap);

/*
 * The members selected by rooms[0..nrooms) (every member when nrooms is 0) minus those in any of
 * except[0..nexcept), each once, in the order described above. *out gets a malloc'd array (free() it; NULL
 * when the count is 0). Returns the count, or -1 on out of memory.
 */
long sio_rooms_select(sio_rooms *r, const char *const *rooms, size_t nrooms, const char *const *except,
                      size_t nexcept, sio_rooms_member ***out);

#endif
