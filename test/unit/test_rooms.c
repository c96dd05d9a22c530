/*
 * Unit tests for rooms/sio_rooms.h: the room index behind the in-memory adapter.
 *
 * The expected behaviour is the reference's (socket.io-adapter's in-memory Adapter: addAll, del/_del, delAll,
 * apply): hooks in its order (create-room then join-room; leave-room then delete-room when the room empties;
 * delAll leaves the rooms in joining order), selections in its order and without duplicates. As the reference's
 * `sids`, a member that left its last room one room at a time stays a member of the index ("every member"
 * selects it) until del_all.
 *
 * Members are `tmember`s held in an array per test, so every member pointer the index hands back (to a hook or
 * in a selection) is turned back into its array index, and the assertions print indexes on both sides. Hook
 * calls are recorded as text ("create(a) join(a,0)") and compared with the expected text. Every test ends with
 * del_all on every member and frees the index, so ASan's leak check covers the room records.
 */
#include "unit.h"

#include "rooms/sio_rooms.h"

/* ------------------------------------------------------------------------------------------------------ */
/* A growable string                                                                                        */

typedef struct sbuf {
    char *p;    /* NUL-terminated when not NULL */
    size_t len; /* strlen(p) */
    size_t cap; /* bytes allocated at p */
} sbuf;

static void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
}

static void sbuf_reset(sbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static const char *sbuf_str(const sbuf *b)
{
    return b->p ? b->p : "";
}

/* ------------------------------------------------------------------------------------------------------ */
/* Fixture: an index, its members, the hook log                                                             */

typedef struct tmember {
    int index;          /* its position in the fixture's array */
    sio_rooms_member m; /* zero-initialised before the first join, as the header asks */
} tmember;

#define FIXTURE_MAGIC 0x526f6f6du

typedef struct fixture {
    unsigned magic; /* FIXTURE_MAGIC: the hook checks that user_data is what sio_rooms_new was given */
    sio_rooms *r;
    tmember *mem; /* nmem members, mem[i].index == i */
    size_t nmem;
    sbuf log; /* the hook calls since the last EXPECT_HOOKS, formatted by format_event */
} fixture;

static sio_rooms_member *mb(fixture *f, int i)
{
    return &f->mem[i].m;
}

/* The array index of the member m points into; -1 for NULL, -2 for a pointer to none of the members. */
static int member_index(const fixture *f, const sio_rooms_member *m)
{
    if (!m)
        return -1;
    uintptr_t base = (uintptr_t)f->mem;
    uintptr_t p = (uintptr_t)m - offsetof(tmember, m);
    if (p < base || p >= base + f->nmem * sizeof(tmember) || (p - base) % sizeof(tmember) != 0)
        return -2;
    int i = (int)((p - base) / sizeof(tmember));
    return f->mem[i].index == i ? i : -2;
}

/* Appends one hook call: "create(room)", "join(room,member)", "leave(room,member)", "delete(room)". A member
 * index printed after create or delete means the hook was given a member where the header promises NULL. */
static void format_event(sbuf *b, int what, const char *room, int member)
{
    static const char *const names[] = {[SIO_ROOMS_CREATE] = "create",
                                        [SIO_ROOMS_DELETE] = "delete",
                                        [SIO_ROOMS_JOIN] = "join",
                                        [SIO_ROOMS_LEAVE] = "leave"};
    if (b->len)
        sbuf_printf(b, " ");
    if (what >= 0 && what < (int)(sizeof(names) / sizeof(names[0])))
        sbuf_printf(b, "%s(%s", names[what], room ? room : "(null)");
    else
        sbuf_printf(b, "hook%d(%s", what, room ? room : "(null)");
    if (what == SIO_ROOMS_JOIN || what == SIO_ROOMS_LEAVE || member != -1)
        sbuf_printf(b, ",%d", member);
    sbuf_printf(b, ")");
}

static void record_hook(int what, const char *room, sio_rooms_member *member, void *user_data)
{
    fixture *f = user_data;
    assert_true(f->magic == FIXTURE_MAGIC);
    format_event(&f->log, what, room, member_index(f, member));
}

static void fixture_init(fixture *f, size_t nmem, int hooked)
{
    memset(f, 0, sizeof(*f));
    f->magic = FIXTURE_MAGIC;
    f->mem = calloc(nmem, sizeof(*f->mem));
    assert_non_null(f->mem);
    for (size_t i = 0; i < nmem; i++)
        f->mem[i].index = (int)i;
    f->nmem = nmem;
    f->r = sio_rooms_new(hooked ? record_hook : NULL, f);
    assert_non_null(f->r);
}

/* Every member leaves every room; the index must then have no room left. */
static void fixture_cleanup(fixture *f)
{
    if (f->r) {
        for (size_t i = 0; i < f->nmem; i++)
            sio_rooms_del_all(f->r, &f->mem[i].m);
        UT_UEQ(sio_rooms_count(f->r), 0);
        sio_rooms_free(f->r);
    }
    free(f->mem);
    free(f->log.p);
}

static void expect_hooks_at(fixture *f, const char *want, const char *file, int line)
{
    const char *got = sbuf_str(&f->log);
    if (strcmp(got, want) != 0) {
        print_error("hook calls differ\n  actual:   \"%s\"\n  expected: \"%s\"\n", got, want);
        ut_print_where();
        _fail(file, line);
    }
    sbuf_reset(&f->log);
}

/* The hook calls since the last check are exactly `want` (space-separated format_event entries). */
#define EXPECT_HOOKS(f, want) expect_hooks_at(f, want, __FILE__, __LINE__)

/* ------------------------------------------------------------------------------------------------------ */
/* Comparing lists                                                                                          */

/* A list of names and its length, as two arguments: NAMES("a", "b"), or NONE for no name. */
#define NAMES(...)                                                                                            \
    ((const char *const[]){__VA_ARGS__}), (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
#define NONE NULL, 0
/* A list of member indexes and its length, as two arguments: IDS(0, 2), or NO_IDS. */
#define IDS(...) ((const int[]){__VA_ARGS__}), (sizeof((const int[]){__VA_ARGS__}) / sizeof(int))
#define NO_IDS NULL, 0

/* Prints up to 40 of ids[0..n), starting a little before position `from`. */
static void print_ids(const char *label, const int *ids, size_t n, size_t from)
{
    sbuf b = {0};
    size_t start = from > 5 ? from - 5 : 0;
    size_t end = n - start > 40 ? start + 40 : n;
    if (start > 0)
        sbuf_printf(&b, "... ");
    for (size_t i = start; i < end; i++)
        sbuf_printf(&b, "%s%d", i > start ? " " : "", ids[i]);
    if (end < n)
        sbuf_printf(&b, " ...");
    print_error("  %s (%zu): [%s]\n", label, n, sbuf_str(&b));
    free(b.p);
}

static void expect_ids_at(const int *got, size_t ngot, const int *want, size_t nwant, const char *what,
                          const char *file, int line)
{
    size_t i = 0;
    while (i < ngot && i < nwant && got[i] == want[i])
        i++;
    if (i == ngot && i == nwant)
        return;
    print_error("%s: %zu members, expected %zu; first difference at position %zu\n", what, ngot, nwant, i);
    print_ids("actual  ", got, ngot, i);
    print_ids("expected", want, nwant, i);
    ut_print_where();
    _fail(file, line);
}

static void describe_names(sbuf *b, const char *const *names, size_t n)
{
    sbuf_printf(b, "[");
    for (size_t i = 0; i < n; i++)
        sbuf_printf(b, "%s\"%s\"", i ? ", " : "", names[i]);
    sbuf_printf(b, "]");
}

/* Written to *out before each selection: the index must overwrite it, with NULL when nothing is selected. */
static sio_rooms_member *select_sentinel[1];

/* Runs a selection and stores the selected members' indexes in out[0..cap); returns the count. */
static long select_ids(fixture *f, const char *const *rooms, size_t nrooms, const char *const *except,
                       size_t nexcept, int *out, size_t cap, const char *file, int line)
{
    sio_rooms_member **sel = select_sentinel;
    long n = sio_rooms_select(f->r, rooms, nrooms, except, nexcept, &sel);
    ut_true(n >= 0, "sio_rooms_select's count >= 0", file, line);
    ut_true(sel != select_sentinel, "sio_rooms_select set *out", file, line);
    if (n == 0)
        ut_true(sel == NULL, "*out == NULL when nothing is selected", file, line);
    else
        ut_true(sel != NULL, "*out != NULL when members are selected", file, line);
    ut_true((size_t)n <= cap, "no more members selected than there are members", file, line);
    for (long i = 0; i < n; i++)
        out[i] = member_index(f, sel[i]);
    free(sel);
    return n;
}

static void expect_select_at(fixture *f, const char *const *rooms, size_t nrooms, const char *const *except,
                             size_t nexcept, const int *want, size_t nwant, const char *file, int line)
{
    int *got = malloc((f->nmem + 1) * sizeof(*got));
    assert_non_null(got);
    long n = select_ids(f, rooms, nrooms, except, nexcept, got, f->nmem, file, line);
    sbuf what = {0};
    sbuf_printf(&what, "select(rooms=");
    describe_names(&what, rooms, nrooms);
    sbuf_printf(&what, ", except=");
    describe_names(&what, except, nexcept);
    sbuf_printf(&what, ")");
    expect_ids_at(got, (size_t)n, want, nwant, what.p, file, line);
    free(what.p);
    free(got);
}

/* EXPECT_SELECT(&f, NAMES("a", "b") or NONE, NAMES("c") or NONE, IDS(0, 1) or NO_IDS). */
#define EXPECT_SELECT(f, rooms, except, ids) expect_select_at(f, rooms, except, ids, __FILE__, __LINE__)

/* sio_rooms_of(member i) gives exactly want[0..nwant), in that order. */
static void expect_rooms_of_at(fixture *f, int i, const char *const *want, size_t nwant, const char *file,
                               int line)
{
    const char *got[128];
    size_t n = sio_rooms_of(mb(f, i), got, 128);
    size_t k = 0;
    while (k < n && k < 128 && k < nwant && strcmp(got[k], want[k]) == 0)
        k++;
    if (k == n && k == nwant)
        return;
    sbuf a = {0}, e = {0};
    describe_names(&a, got, n < 128 ? n : 128);
    describe_names(&e, want, nwant);
    print_error("sio_rooms_of(member %d) differs at position %zu\n  actual   (%zu): %s\n  expected (%zu): %s\n", i,
                k, n, a.p, nwant, e.p);
    free(a.p);
    free(e.p);
    ut_print_where();
    _fail(file, line);
}

#define EXPECT_ROOMS_OF(f, i, names) expect_rooms_of_at(f, i, names, __FILE__, __LINE__)

/* ------------------------------------------------------------------------------------------------------ */
/* Join, leave, leave all                                                                                   */

static void test_new_index_is_empty(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 2, 1);
    UT_UEQ(sio_rooms_count(f.r), 0);
    UT_UEQ(sio_rooms_size(f.r, "a"), 0);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "a"), 0);
    EXPECT_ROOMS_OF(&f, 0, NONE);
    EXPECT_SELECT(&f, NONE, NONE, NO_IDS);
    EXPECT_SELECT(&f, NAMES("a"), NONE, NO_IDS);
    EXPECT_SELECT(&f, NONE, NAMES("a"), NO_IDS);
    EXPECT_HOOKS(&f, "");
    fixture_cleanup(&f);
}

/* STYLE.md rule 6: every destructor accepts NULL. Also an index that never had a member, with no hook. */
static void test_free_null_and_unused(void **state)
{
    (void)state;
    sio_rooms_free(NULL);
    sio_rooms *r = sio_rooms_new(NULL, NULL);
    assert_non_null(r);
    sio_rooms_free(r);
}

static void test_join_and_leave(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 2, 1);

    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 1), "a"), 0);
    UT_UEQ(sio_rooms_size(f.r, "a"), 1);
    UT_UEQ(sio_rooms_count(f.r), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("a"));
    EXPECT_ROOMS_OF(&f, 1, NONE);
    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(0));
    EXPECT_SELECT(&f, NONE, NONE, IDS(0));

    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    UT_UEQ(sio_rooms_size(f.r, "a"), 2);
    UT_UEQ(sio_rooms_count(f.r), 1);
    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(0, 1));

    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "a"), 0);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 1), "a"), 1);
    UT_UEQ(sio_rooms_size(f.r, "a"), 1);
    UT_UEQ(sio_rooms_count(f.r), 1);
    EXPECT_ROOMS_OF(&f, 0, NONE);
    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(1));

    UT_EQ(sio_rooms_del(f.r, mb(&f, 1), "a"), 1);
    UT_UEQ(sio_rooms_size(f.r, "a"), 0);
    UT_UEQ(sio_rooms_count(f.r), 0);
    EXPECT_SELECT(&f, NAMES("a"), NONE, NO_IDS);
    /* In no room, but members of the index until del_all (the reference's sids) */
    EXPECT_SELECT(&f, NONE, NONE, IDS(0, 1));
    sio_rooms_del_all(f.r, mb(&f, 0));
    sio_rooms_del_all(f.r, mb(&f, 1));
    EXPECT_SELECT(&f, NONE, NONE, NO_IDS);
    fixture_cleanup(&f);
}

static void test_join_twice_changes_nothing(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 2, 1);

    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    EXPECT_HOOKS(&f, "create(a) join(a,0) create(b) join(b,0) join(a,1)");

    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 0);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 0);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 0);
    EXPECT_HOOKS(&f, "");
    UT_UEQ(sio_rooms_size(f.r, "a"), 2);
    UT_UEQ(sio_rooms_size(f.r, "b"), 1);
    UT_UEQ(sio_rooms_count(f.r), 2);
    /* Joining again moves nothing: not the room in the member's list, not the member in the room's. */
    EXPECT_ROOMS_OF(&f, 0, NAMES("a", "b"));
    EXPECT_ROOMS_OF(&f, 1, NAMES("a"));
    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(0, 1));
    EXPECT_SELECT(&f, NONE, NONE, IDS(0, 1));

    /* One leave undoes the two joins. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "b"), 1);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "b"), 0);
    UT_UEQ(sio_rooms_size(f.r, "b"), 0);
    UT_UEQ(sio_rooms_count(f.r), 1);
    fixture_cleanup(&f);
}

static void test_leave_a_room_one_is_not_in(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 3, 1);

    /* A member in no room, a room that does not exist. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 0);
    UT_UEQ(sio_rooms_count(f.r), 0);

    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    EXPECT_HOOKS(&f, "create(a) join(a,1) create(b) join(b,0)");

    /* A room that exists but that the member is not in, and a room that does not exist. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 0);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "zzz"), 0);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 2), "a"), 0);
    EXPECT_HOOKS(&f, "");
    UT_UEQ(sio_rooms_size(f.r, "a"), 1);
    UT_UEQ(sio_rooms_size(f.r, "zzz"), 0);
    UT_UEQ(sio_rooms_count(f.r), 2);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 1), "a"), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("b"));
    EXPECT_SELECT(&f, NONE, NONE, IDS(1, 0));

    /* Leaving twice: the second time it is not in the room any more. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 1), "a"), 0);
    EXPECT_HOOKS(&f, "leave(a,1) delete(a)");
    fixture_cleanup(&f);
}

static void test_leave_all(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 3, 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "c"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "b"), 1);
    UT_UEQ(sio_rooms_count(f.r), 3);

    sio_rooms_del_all(f.r, mb(&f, 0));
    EXPECT_ROOMS_OF(&f, 0, NONE);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "a"), 0);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "b"), 0);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "c"), 0);
    UT_UEQ(sio_rooms_count(f.r), 1);
    UT_UEQ(sio_rooms_size(f.r, "a"), 0);
    UT_UEQ(sio_rooms_size(f.r, "b"), 1);
    UT_UEQ(sio_rooms_size(f.r, "c"), 0);
    EXPECT_SELECT(&f, NONE, NONE, IDS(1));
    EXPECT_SELECT(&f, NAMES("a", "b", "c"), NONE, IDS(1));
    sbuf_reset(&f.log);

    /* Again, and for a member that never joined: nothing happens. */
    sio_rooms_del_all(f.r, mb(&f, 0));
    sio_rooms_del_all(f.r, mb(&f, 2));
    EXPECT_HOOKS(&f, "");
    UT_UEQ(sio_rooms_count(f.r), 1);

    /* The member can join again. */
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "c"), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("c"));
    EXPECT_SELECT(&f, NONE, NONE, IDS(1, 0));
    fixture_cleanup(&f);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Queries                                                                                                  */

static void test_rooms_of_in_joining_order(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 2, 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "c"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("c", "a", "b"));

    /* Leaving and joining again puts the room last, as Set.delete then Set.add does. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("c", "b"));
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("c", "b", "a"));
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "c"), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("b", "a"));
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "c"), 1);
    EXPECT_ROOMS_OF(&f, 0, NAMES("b", "a", "c"));

    /* A smaller cap: the first cap names, the full count, nothing written past cap. */
    const char *out[4] = {"x", "x", "x", "x"};
    UT_UEQ(sio_rooms_of(mb(&f, 0), out, 2), 3);
    UT_TRUE(strcmp(out[0], "b") == 0);
    UT_TRUE(strcmp(out[1], "a") == 0);
    UT_TRUE(strcmp(out[2], "x") == 0);
    UT_UEQ(sio_rooms_of(mb(&f, 0), out + 3, 0), 3);
    UT_TRUE(strcmp(out[3], "x") == 0);
    UT_UEQ(sio_rooms_of(mb(&f, 1), out, 4), 0);
    fixture_cleanup(&f);
}

static void test_has_size_count(void **state)
{
    (void)state;
    /* in[m][k]: member m joins room k (rooms joined in the order k = 0..3, members in the order m = 0..4). */
    static const char *const rooms[4] = {"a", "b", "c", "d"};
    static const int in[5][4] = {{1, 1, 0, 0}, {1, 0, 1, 0}, {0, 0, 1, 0}, {1, 1, 1, 0}, {0, 0, 0, 0}};
    static const size_t sizes[4] = {3, 2, 3, 0};
    fixture f;
    fixture_init(&f, 5, 1);
    for (int k = 0; k < 4; k++)
        for (int m = 0; m < 5; m++)
            if (in[m][k])
                UT_EQ(sio_rooms_add(f.r, mb(&f, m), rooms[k]), 1);
    UT_UEQ(sio_rooms_count(f.r), 3);
    for (int k = 0; k < 4; k++) {
        UT_WHERE("room %s", rooms[k]);
        UT_UEQ(sio_rooms_size(f.r, rooms[k]), sizes[k]);
        for (int m = 0; m < 5; m++) {
            UT_WHERE("member %d, room %s", m, rooms[k]);
            UT_EQ(sio_rooms_has(f.r, mb(&f, m), rooms[k]), in[m][k]);
        }
    }
    UT_WHERE("%s", "");
    /* Unknown names, and names that are prefixes or extensions of existing ones. */
    UT_UEQ(sio_rooms_size(f.r, "ab"), 0);
    UT_UEQ(sio_rooms_size(f.r, ""), 0);
    UT_UEQ(sio_rooms_size(f.r, "A"), 0);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "ab"), 0);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), ""), 0);
    EXPECT_ROOMS_OF(&f, 3, NAMES("a", "b", "c"));
    EXPECT_ROOMS_OF(&f, 4, NONE);

    UT_EQ(sio_rooms_del(f.r, mb(&f, 3), "b"), 1);
    UT_UEQ(sio_rooms_size(f.r, "b"), 1);
    UT_UEQ(sio_rooms_count(f.r), 3);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "b"), 1);
    UT_UEQ(sio_rooms_size(f.r, "b"), 0);
    UT_UEQ(sio_rooms_count(f.r), 2);
    fixture_cleanup(&f);
}

/* sio_rooms_list gives every existing room once (any order), the full count past cap, nothing past cap. */
static void test_list_rooms(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 3, 1);
    const char *out[8];
    UT_UEQ(sio_rooms_list(f.r, out, 8), 0);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "b"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "c"), 1);
    for (int i = 0; i < 8; i++)
        out[i] = NULL;
    UT_UEQ(sio_rooms_list(f.r, out, 8), 3);
    int seen_a = 0, seen_b = 0, seen_c = 0;
    for (int i = 0; i < 3; i++) {
        assert_non_null(out[i]);
        seen_a += strcmp(out[i], "a") == 0;
        seen_b += strcmp(out[i], "b") == 0;
        seen_c += strcmp(out[i], "c") == 0;
    }
    UT_TRUE(seen_a == 1 && seen_b == 1 && seen_c == 1);
    UT_TRUE(out[3] == NULL);
    out[1] = NULL;
    UT_UEQ(sio_rooms_list(f.r, out, 1), 3); /* the count, with only out[0] written */
    UT_TRUE(out[1] == NULL);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 2), "c"), 1);
    UT_UEQ(sio_rooms_list(f.r, out, 8), 2);
    fixture_cleanup(&f);
}

/* Room names are copied; names that share a prefix, the empty name and long names are distinct rooms. */
static void test_room_names(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 3, 1);

    char name[16];
    strcpy(name, "room-1");
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), name), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), name), 1);
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), "room-1"), 1);
    UT_UEQ(sio_rooms_size(f.r, "room-1"), 2);
    UT_UEQ(sio_rooms_size(f.r, name), 0);
    EXPECT_ROOMS_OF(&f, 1, NAMES("room-1"));

    /* The names sio_rooms_of gives stay valid while the member stays in the room, whoever else leaves. */
    const char *of1[1];
    UT_UEQ(sio_rooms_of(mb(&f, 1), of1, 1), 1);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "room-1"), 1);
    UT_TRUE(strcmp(of1[0], "room-1") == 0);
    EXPECT_HOOKS(&f, "create(room-1) join(room-1,0) join(room-1,1) leave(room-1,0)");

    static const char *const names[] = {"a", "ab", "A", "", "a "};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
        UT_EQ(sio_rooms_add(f.r, mb(&f, 2), names[k]), 1);
    UT_UEQ(sio_rooms_count(f.r), 6);
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        UT_WHERE("room \"%s\"", names[k]);
        UT_UEQ(sio_rooms_size(f.r, names[k]), 1);
        UT_EQ(sio_rooms_has(f.r, mb(&f, 2), names[k]), 1);
    }
    UT_WHERE("%s", "");
    EXPECT_ROOMS_OF(&f, 2, NAMES("a", "ab", "A", "", "a "));
    EXPECT_SELECT(&f, NAMES(""), NONE, IDS(2));
    UT_EQ(sio_rooms_del(f.r, mb(&f, 2), ""), 1);
    EXPECT_ROOMS_OF(&f, 2, NAMES("a", "ab", "A", "a "));
    UT_UEQ(sio_rooms_size(f.r, ""), 0);

    /* Two 600-byte names that differ only in their last byte. */
    char *long1 = malloc(601), *long2 = malloc(601);
    assert_non_null(long1);
    assert_non_null(long2);
    memset(long1, 'L', 600);
    memset(long2, 'L', 600);
    long1[600] = long2[600] = '\0';
    long2[599] = 'M';
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), long1), 1);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 0), long2), 0);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), long2), 1);
    UT_UEQ(sio_rooms_size(f.r, long1), 1);
    UT_UEQ(sio_rooms_size(f.r, long2), 1);
    const char *of0[1];
    UT_UEQ(sio_rooms_of(mb(&f, 0), of0, 1), 1);
    UT_TRUE(strcmp(of0[0], long1) == 0);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), long2), 0);
    free(long1);
    free(long2);
    UT_UEQ(sio_rooms_count(f.r), 7);
    fixture_cleanup(&f);

    /* Pairs with the same 32-bit FNV-1a hash, a common choice for a room table: still distinct rooms. */
    static const char *const colliding[][2] = {
        {"costarring", "liquid"}, {"declinate", "macallums"}, {"altarage", "zinke"}, {"altarages", "zinkes"}};
    fixture_init(&f, 2, 1);
    for (size_t k = 0; k < sizeof(colliding) / sizeof(colliding[0]); k++) {
        const char *a = colliding[k][0], *b = colliding[k][1];
        UT_WHERE("\"%s\" and \"%s\"", a, b);
        UT_EQ(sio_rooms_add(f.r, mb(&f, 0), a), 1);
        UT_EQ(sio_rooms_has(f.r, mb(&f, 0), b), 0);
        UT_UEQ(sio_rooms_size(f.r, b), 0);
        UT_EQ(sio_rooms_add(f.r, mb(&f, 1), b), 1);
        char want[128];
        snprintf(want, sizeof(want), "create(%s) join(%s,0) create(%s) join(%s,1)", a, a, b, b);
        EXPECT_HOOKS(&f, want);
        UT_UEQ(sio_rooms_size(f.r, a), 1);
        UT_UEQ(sio_rooms_size(f.r, b), 1);
        UT_EQ(sio_rooms_del(f.r, mb(&f, 0), b), 0);
        const char *const ra[] = {a}, *const rb[] = {b};
        expect_select_at(&f, ra, 1, NONE, IDS(0), __FILE__, __LINE__);
        expect_select_at(&f, rb, 1, NONE, IDS(1), __FILE__, __LINE__);
        expect_select_at(&f, ra, 1, rb, 1, IDS(0), __FILE__, __LINE__);
    }
    UT_UEQ(sio_rooms_count(f.r), 8);
    fixture_cleanup(&f);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Room lifecycle and hooks                                                                                 */

static void test_empty_room_is_deleted_and_recreated(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 2, 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "b"), 1);
    UT_UEQ(sio_rooms_count(f.r), 2);

    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 1);
    UT_UEQ(sio_rooms_count(f.r), 2);
    UT_UEQ(sio_rooms_size(f.r, "a"), 1);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 1), "a"), 1);
    UT_UEQ(sio_rooms_count(f.r), 1);
    UT_UEQ(sio_rooms_size(f.r, "a"), 0);
    UT_EQ(sio_rooms_has(f.r, mb(&f, 1), "a"), 0);
    EXPECT_SELECT(&f, NAMES("a"), NONE, NO_IDS);
    EXPECT_HOOKS(&f, "create(a) join(a,0) join(a,1) create(b) join(b,1) leave(a,0) leave(a,1) delete(a)");

    /* A later join creates it again, as a new room. */
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    EXPECT_HOOKS(&f, "create(a) join(a,1)");
    UT_UEQ(sio_rooms_count(f.r), 2);
    UT_UEQ(sio_rooms_size(f.r, "a"), 1);
    EXPECT_ROOMS_OF(&f, 1, NAMES("b", "a"));
    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(1));

    /* Emptied by del_all. */
    sio_rooms_del_all(f.r, mb(&f, 1));
    UT_UEQ(sio_rooms_count(f.r), 0);
    UT_UEQ(sio_rooms_size(f.r, "a"), 0);
    UT_UEQ(sio_rooms_size(f.r, "b"), 0);
    EXPECT_HOOKS(&f, "leave(b,1) delete(b) leave(a,1) delete(a)");
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    EXPECT_HOOKS(&f, "create(b) join(b,0)");
    fixture_cleanup(&f);
}

static void test_hooks_join_and_leave(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 3, 1);

    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    EXPECT_HOOKS(&f, "create(a) join(a,0)");
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    EXPECT_HOOKS(&f, "join(a,1)");
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 0);
    EXPECT_HOOKS(&f, "");
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    EXPECT_HOOKS(&f, "create(b) join(b,0)");

    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 1);
    EXPECT_HOOKS(&f, "leave(a,0)");
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 0);
    EXPECT_HOOKS(&f, "");
    UT_EQ(sio_rooms_del(f.r, mb(&f, 1), "a"), 1);
    EXPECT_HOOKS(&f, "leave(a,1) delete(a)");
    UT_EQ(sio_rooms_del(f.r, mb(&f, 2), "a"), 0);
    EXPECT_HOOKS(&f, "");
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "b"), 1);
    EXPECT_HOOKS(&f, "leave(b,0) delete(b)");
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    EXPECT_HOOKS(&f, "create(a) join(a,1)");
    UT_EQ(sio_rooms_del(f.r, mb(&f, 1), "a"), 1);
    EXPECT_HOOKS(&f, "leave(a,1) delete(a)");
    fixture_cleanup(&f);
}

static void test_hooks_del_all(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 3, 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "d"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "c"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "d"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "b"), 1);
    EXPECT_HOOKS(&f, "create(d) join(d,1) create(c) join(c,0) create(a) join(a,0) join(d,0) create(b) join(b,0) "
                     "join(b,1)");

    /* One leave per room in the member's joining order, each followed by delete when it emptied the room. */
    sio_rooms_del_all(f.r, mb(&f, 0));
    EXPECT_HOOKS(&f, "leave(c,0) delete(c) leave(a,0) delete(a) leave(d,0) leave(b,0)");
    sio_rooms_del_all(f.r, mb(&f, 0));
    sio_rooms_del_all(f.r, mb(&f, 2));
    EXPECT_HOOKS(&f, "");
    sio_rooms_del_all(f.r, mb(&f, 1));
    EXPECT_HOOKS(&f, "leave(d,1) delete(d) leave(b,1) delete(b)");
    UT_UEQ(sio_rooms_count(f.r), 0);
    fixture_cleanup(&f);
}

/* Everything works without a hook. */
static void test_no_hook(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 3, 0);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "b"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "b"), 0);
    UT_UEQ(sio_rooms_count(f.r), 2);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 0);
    EXPECT_SELECT(&f, NONE, NONE, IDS(0, 1));
    sio_rooms_del_all(f.r, mb(&f, 1));
    UT_UEQ(sio_rooms_count(f.r), 0);
    EXPECT_HOOKS(&f, "");
    fixture_cleanup(&f);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Selection                                                                                                */

static void test_select_union_without_duplicates(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 5, 1);
    /* A = {0, 1, 2}, B = {2, 3}; 4 in no room. */
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "A"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "A"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "A"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "B"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 3), "B"), 1);

    /* Twice each, so that whatever a selection marks does not leak into the next one. */
    for (int round = 0; round < 2; round++) {
        UT_WHERE("round %d", round);
        EXPECT_SELECT(&f, NAMES("A", "B"), NONE, IDS(0, 1, 2, 3));
        EXPECT_SELECT(&f, NAMES("B", "A"), NONE, IDS(2, 3, 0, 1));
        EXPECT_SELECT(&f, NAMES("B"), NONE, IDS(2, 3));
        EXPECT_SELECT(&f, NAMES("A", "A"), NONE, IDS(0, 1, 2));
        EXPECT_SELECT(&f, NAMES("B", "A", "B", "A"), NONE, IDS(2, 3, 0, 1));
        EXPECT_SELECT(&f, NONE, NONE, IDS(0, 1, 2, 3));
    }
    EXPECT_HOOKS(&f, "create(A) join(A,0) join(A,1) join(A,2) create(B) join(B,2) join(B,3)");
    fixture_cleanup(&f);
}

static void test_select_except(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 6, 1);
    /* A = {0, 1, 2, 4}, B = {2, 3}, C = {1, 4, 5}. */
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "A"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "A"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "A"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 4), "A"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "B"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 3), "B"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "C"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 4), "C"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 5), "C"), 1);

    for (int round = 0; round < 2; round++) {
        UT_WHERE("round %d", round);
        EXPECT_SELECT(&f, NAMES("A"), NAMES("C"), IDS(0, 2));
        EXPECT_SELECT(&f, NAMES("A", "B"), NAMES("C"), IDS(0, 2, 3));
        EXPECT_SELECT(&f, NAMES("A", "B"), NAMES("B"), IDS(0, 1, 4));
        EXPECT_SELECT(&f, NAMES("A", "B"), NAMES("B", "C"), IDS(0));
        EXPECT_SELECT(&f, NAMES("C"), NAMES("C"), NO_IDS);
        EXPECT_SELECT(&f, NAMES("A", "B", "C"), NAMES("A"), IDS(3, 5));
        /* No room: every member, minus the except rooms' members. */
        EXPECT_SELECT(&f, NONE, NAMES("C"), IDS(0, 2, 3));
        EXPECT_SELECT(&f, NONE, NAMES("B"), IDS(0, 1, 4, 5));
        EXPECT_SELECT(&f, NONE, NAMES("A", "B", "C"), NO_IDS);
        /* An except room that does not exist removes nothing. */
        EXPECT_SELECT(&f, NAMES("A"), NAMES("nope"), IDS(0, 1, 2, 4));
        EXPECT_SELECT(&f, NONE, NAMES("nope"), IDS(0, 1, 2, 4, 3, 5));
        EXPECT_SELECT(&f, NAMES("A"), NAMES("nope", "B"), IDS(0, 1, 4));
        /* A room that does not exist selects nothing. */
        EXPECT_SELECT(&f, NAMES("nope"), NONE, NO_IDS);
        EXPECT_SELECT(&f, NAMES("nope", "B"), NONE, IDS(2, 3));
        EXPECT_SELECT(&f, NAMES("B", "nope"), NAMES("nope"), IDS(2, 3));
    }
    fixture_cleanup(&f);
}

static void test_select_order(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 5, 1);
    /* Joins in this order give a = [3, 1, 0], b = [2, 1], c = [4, 0]; first joins: 3, 1, 2, 0, 4. */
    UT_EQ(sio_rooms_add(f.r, mb(&f, 3), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "b"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "b"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 4), "c"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "c"), 1);

    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(3, 1, 0));
    EXPECT_SELECT(&f, NAMES("b", "a"), NONE, IDS(2, 1, 3, 0));
    EXPECT_SELECT(&f, NAMES("a", "b"), NONE, IDS(3, 1, 0, 2));
    EXPECT_SELECT(&f, NAMES("c", "a", "b"), NONE, IDS(4, 0, 3, 1, 2));
    EXPECT_SELECT(&f, NAMES("c", "b", "a"), NAMES("b"), IDS(4, 0, 3));
    EXPECT_SELECT(&f, NONE, NONE, IDS(3, 1, 2, 0, 4));
    EXPECT_SELECT(&f, NONE, NAMES("c"), IDS(3, 1, 2));

    /* Leaving a room and joining it again puts the member last in that room only. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(3, 0, 1));
    EXPECT_SELECT(&f, NAMES("b"), NONE, IDS(2, 1));
    EXPECT_SELECT(&f, NONE, NONE, IDS(3, 1, 2, 0, 4));
    fixture_cleanup(&f);
}

/* "Every member" is the members from their first join until del_all, in that order (the reference's sids). */
static void test_select_every_member(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 4, 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "x"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "y"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "x"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "y"), 1);
    EXPECT_SELECT(&f, NONE, NONE, IDS(2, 0, 1));

    /* Still in y: keeps its place. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 2), "x"), 1);
    EXPECT_SELECT(&f, NONE, NONE, IDS(2, 0, 1));
    /* Left its last room one room at a time: still selected, in its place, until del_all. */
    UT_EQ(sio_rooms_del(f.r, mb(&f, 2), "y"), 1);
    EXPECT_SELECT(&f, NONE, NONE, IDS(2, 0, 1));
    EXPECT_SELECT(&f, NONE, NAMES("nope"), IDS(2, 0, 1));
    /* Back in a room: keeps its place. */
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "z"), 1);
    EXPECT_SELECT(&f, NONE, NONE, IDS(2, 0, 1));
    /* Left everything with del_all: no longer selected; back: last. */
    sio_rooms_del_all(f.r, mb(&f, 0));
    EXPECT_SELECT(&f, NONE, NONE, IDS(2, 1));
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "x"), 1);
    EXPECT_SELECT(&f, NONE, NONE, IDS(2, 1, 0));
    EXPECT_SELECT(&f, NONE, NAMES("x"), IDS(2));
    /* Everyone leaves. */
    sio_rooms_del_all(f.r, mb(&f, 1));
    UT_EQ(sio_rooms_del(f.r, mb(&f, 2), "z"), 1);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "x"), 1);
    EXPECT_SELECT(&f, NONE, NONE, IDS(2, 0));
    sio_rooms_del_all(f.r, mb(&f, 2));
    sio_rooms_del_all(f.r, mb(&f, 0));
    EXPECT_SELECT(&f, NONE, NONE, NO_IDS);
    UT_UEQ(sio_rooms_count(f.r), 0);
    fixture_cleanup(&f);
}

static void test_select_member_in_many_rooms(void **state)
{
    (void)state;
    enum { NR = 50 };
    char names[NR][16];
    const char *list[NR], *reversed[NR];
    for (int k = 0; k < NR; k++) {
        snprintf(names[k], sizeof(names[k]), "r%d", k);
        list[k] = names[k];
        reversed[NR - 1 - k] = names[k];
    }
    fixture f;
    fixture_init(&f, 3, 1);
    /* 2 joins r49 first; then 0 joins every room; then 1 joins the odd ones. r49 = [2, 0, 1]. */
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "r49"), 1);
    for (int k = 0; k < NR; k++)
        UT_EQ(sio_rooms_add(f.r, mb(&f, 0), list[k]), 1);
    for (int k = 1; k < NR; k += 2)
        UT_EQ(sio_rooms_add(f.r, mb(&f, 1), list[k]), 1);
    UT_UEQ(sio_rooms_count(f.r), NR);
    UT_UEQ(sio_rooms_size(f.r, "r0"), 1);
    UT_UEQ(sio_rooms_size(f.r, "r1"), 2);
    UT_UEQ(sio_rooms_size(f.r, "r49"), 3);
    UT_UEQ(sio_rooms_of(mb(&f, 0), NULL, 0), NR);
    expect_rooms_of_at(&f, 0, list, NR, __FILE__, __LINE__);

    int got[8];
    for (int round = 0; round < 2; round++) {
        UT_WHERE("round %d", round);
        long n = select_ids(&f, list, NR, NULL, 0, got, 3, __FILE__, __LINE__);
        expect_ids_at(got, (size_t)n, IDS(0, 1, 2), "select(r0..r49)", __FILE__, __LINE__);
        n = select_ids(&f, reversed, NR, NULL, 0, got, 3, __FILE__, __LINE__);
        expect_ids_at(got, (size_t)n, IDS(2, 0, 1), "select(r49..r0)", __FILE__, __LINE__);
        n = select_ids(&f, list, NR, NAMES("r0"), got, 3, __FILE__, __LINE__);
        expect_ids_at(got, (size_t)n, IDS(1, 2), "select(r0..r49, except r0)", __FILE__, __LINE__);
        n = select_ids(&f, list, NR, NAMES("r49"), got, 3, __FILE__, __LINE__);
        expect_ids_at(got, (size_t)n, NO_IDS, "select(r0..r49, except r49)", __FILE__, __LINE__);
        n = select_ids(&f, list + 1, 1, list, NR, got, 3, __FILE__, __LINE__);
        expect_ids_at(got, (size_t)n, NO_IDS, "select(r1, except r0..r49)", __FILE__, __LINE__);
        EXPECT_SELECT(&f, NONE, NONE, IDS(2, 0, 1));
        EXPECT_SELECT(&f, NONE, NAMES("r2"), IDS(2, 1));
    }
    fixture_cleanup(&f);
}

/* The returned array is a copy: later joins and leaves, and freeing the index, do not change it. */
static void test_select_is_a_snapshot(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f, 4, 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 1), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 2), "a"), 1);

    sio_rooms_member **sel = NULL;
    UT_EQ(sio_rooms_select(f.r, NAMES("a"), NONE, &sel), 3);
    assert_non_null(sel);
    sio_rooms_member **all = NULL;
    UT_EQ(sio_rooms_select(f.r, NONE, NONE, &all), 3);
    assert_non_null(all);

    sio_rooms_del_all(f.r, mb(&f, 1));
    UT_EQ(sio_rooms_add(f.r, mb(&f, 3), "a"), 1);
    UT_EQ(sio_rooms_del(f.r, mb(&f, 0), "a"), 1);
    UT_EQ(sio_rooms_add(f.r, mb(&f, 0), "b"), 1);
    EXPECT_SELECT(&f, NAMES("a"), NONE, IDS(2, 3));
    UT_TRUE(sel[0] == mb(&f, 0) && sel[1] == mb(&f, 1) && sel[2] == mb(&f, 2));
    UT_TRUE(all[0] == mb(&f, 0) && all[1] == mb(&f, 1) && all[2] == mb(&f, 2));

    /* Even with the index gone. */
    for (int i = 0; i < 4; i++)
        sio_rooms_del_all(f.r, mb(&f, i));
    sio_rooms_free(f.r);
    f.r = NULL;
    UT_TRUE(sel[0] == mb(&f, 0) && sel[1] == mb(&f, 1) && sel[2] == mb(&f, 2));
    UT_TRUE(all[0] == mb(&f, 0) && all[1] == mb(&f, 1) && all[2] == mb(&f, 2));
    free(sel);
    free(all);
    fixture_cleanup(&f);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Many members and rooms against a reference model                                                         */

enum {
    RM_MEMBERS = 1000,
    RM_USED = 100,  /* rooms r0..r99 are joined */
    RM_ROOMS = 110, /* r100..r109 are never joined: selections and leaves name them too */
};

/* The reference adapter's two maps, as arrays in insertion order. */
typedef struct model {
    int nof[RM_MEMBERS];
    int of[RM_MEMBERS][RM_USED]; /* the rooms of each member, in joining order */
    int size[RM_ROOMS];
    int in[RM_ROOMS][RM_MEMBERS]; /* the members of each room, in joining order */
    int norder;
    int order[RM_MEMBERS]; /* the members from their first join to del_all, in that order (the reference's sids) */
} model;

static char rm_names[RM_ROOMS][16];

static int find_int(const int *a, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (a[i] == x)
            return i;
    return -1;
}

static void remove_int(int *a, int *n, int x)
{
    int i = find_int(a, *n, x);
    assert_true(i >= 0);
    memmove(a + i, a + i + 1, (size_t)(*n - i - 1) * sizeof(*a));
    (*n)--;
}

/* Joins m to room in the model and appends the hook calls expected to `want`; returns what add returns. */
static int model_add(model *md, int m, int room, sbuf *want)
{
    if (find_int(md->of[m], md->nof[m], room) >= 0)
        return 0;
    if (md->size[room] == 0)
        format_event(want, SIO_ROOMS_CREATE, rm_names[room], -1);
    format_event(want, SIO_ROOMS_JOIN, rm_names[room], m);
    if (find_int(md->order, md->norder, m) < 0)
        md->order[md->norder++] = m;
    md->of[m][md->nof[m]++] = room;
    md->in[room][md->size[room]++] = m;
    return 1;
}

static int model_del(model *md, int m, int room, sbuf *want)
{
    if (find_int(md->of[m], md->nof[m], room) < 0)
        return 0;
    remove_int(md->of[m], &md->nof[m], room);
    remove_int(md->in[room], &md->size[room], m);
    format_event(want, SIO_ROOMS_LEAVE, rm_names[room], m);
    if (md->size[room] == 0)
        format_event(want, SIO_ROOMS_DELETE, rm_names[room], -1);
    return 1;
}

static void model_del_all(model *md, int m, sbuf *want)
{
    while (md->nof[m] > 0)
        model_del(md, m, md->of[m][0], want);
    if (find_int(md->order, md->norder, m) >= 0)
        remove_int(md->order, &md->norder, m);
}

static int model_count(const model *md)
{
    int n = 0;
    for (int k = 0; k < RM_ROOMS; k++)
        n += md->size[k] > 0;
    return n;
}

/* The reference's apply(): out gets the selected members; seen is scratch of RM_MEMBERS bytes. */
static size_t model_select(const model *md, const int *rooms, size_t nrooms, const int *except, size_t nexcept,
                           int *out, unsigned char *seen)
{
    memset(seen, 0, RM_MEMBERS);
    for (size_t e = 0; e < nexcept; e++)
        for (int i = 0; i < md->size[except[e]]; i++)
            seen[md->in[except[e]][i]] = 1;
    size_t n = 0;
    if (nrooms == 0) {
        for (int i = 0; i < md->norder; i++)
            if (!seen[md->order[i]])
                out[n++] = md->order[i];
        return n;
    }
    for (size_t k = 0; k < nrooms; k++)
        for (int i = 0; i < md->size[rooms[k]]; i++) {
            int m = md->in[rooms[k]][i];
            if (!seen[m]) {
                seen[m] = 1;
                out[n++] = m;
            }
        }
    return n;
}

/* A random selection (0 to 3 rooms, 0 to 2 except rooms, any of the RM_ROOMS names) against the model. */
static void check_random_select(fixture *f, const model *md, uint64_t *rng, int *got, int *want,
                                unsigned char *seen)
{
    int rooms[3], except[2];
    const char *rnames[3], *enames[2];
    size_t nrooms = ut_rand(rng) % 4, nexcept = ut_rand(rng) % 3;
    sbuf what = {0};
    sbuf_printf(&what, "select(rooms=[");
    for (size_t k = 0; k < nrooms; k++) {
        rooms[k] = (int)(ut_rand(rng) % RM_ROOMS);
        rnames[k] = rm_names[rooms[k]];
        sbuf_printf(&what, "%s%s", k ? " " : "", rnames[k]);
    }
    sbuf_printf(&what, "], except=[");
    for (size_t k = 0; k < nexcept; k++) {
        except[k] = (int)(ut_rand(rng) % RM_ROOMS);
        enames[k] = rm_names[except[k]];
        sbuf_printf(&what, "%s%s", k ? " " : "", enames[k]);
    }
    sbuf_printf(&what, "])");
    size_t nwant = model_select(md, rooms, nrooms, except, nexcept, want, seen);
    long n = select_ids(f, rnames, nrooms, enames, nexcept, got, RM_MEMBERS, __FILE__, __LINE__);
    expect_ids_at(got, (size_t)n, want, nwant, what.p, __FILE__, __LINE__);
    free(what.p);
}

/* Counts, sizes, every membership, every member's rooms and "every member" against the model. */
static void check_everything(fixture *f, const model *md, int *got)
{
    UT_UEQ(sio_rooms_count(f->r), model_count(md));
    for (int k = 0; k < RM_ROOMS; k++) {
        UT_UEQ(sio_rooms_size(f->r, rm_names[k]), md->size[k]);
    }
    for (int m = 0; m < RM_MEMBERS; m++) {
        const char *of[RM_USED + 1];
        size_t n = sio_rooms_of(mb(f, m), of, RM_USED + 1);
        UT_UEQ(n, md->nof[m]);
        for (size_t i = 0; i < n; i++)
            UT_TRUE(strcmp(of[i], rm_names[md->of[m][i]]) == 0);
        for (int k = 0; k < RM_ROOMS; k++)
            UT_EQ(sio_rooms_has(f->r, mb(f, m), rm_names[k]), find_int(md->of[m], md->nof[m], k) >= 0);
    }
    long n = select_ids(f, NULL, 0, NULL, 0, got, RM_MEMBERS, __FILE__, __LINE__);
    expect_ids_at(got, (size_t)n, md->order, (size_t)md->norder, "select(every member)", __FILE__, __LINE__);
}

static void test_many_members_against_a_model(void **state)
{
    (void)state;
    for (int k = 0; k < RM_ROOMS; k++)
        snprintf(rm_names[k], sizeof(rm_names[k]), "r%d", k);
    model *md = calloc(1, sizeof(*md));
    int *got = malloc(RM_MEMBERS * sizeof(*got));
    int *want_ids = malloc(RM_MEMBERS * sizeof(*want_ids));
    unsigned char *seen = malloc(RM_MEMBERS);
    assert_non_null(md);
    assert_non_null(got);
    assert_non_null(want_ids);
    assert_non_null(seen);
    fixture f;
    fixture_init(&f, RM_MEMBERS, 1);
    sbuf want = {0};
    uint64_t rng = 0x5eed2024c0ffee01ull;

    /* 10 rooms per member on average (a few joins land in a room the member is already in). */
    for (int i = 0; i < RM_MEMBERS * 10; i++) {
        int m = (int)(ut_rand(&rng) % RM_MEMBERS), room = (int)(ut_rand(&rng) % RM_USED);
        UT_WHERE("fill %d: add(%d, %s)", i, m, rm_names[room]);
        sbuf_reset(&want);
        UT_EQ(sio_rooms_add(f.r, mb(&f, m), rm_names[room]), model_add(md, m, room, &want));
        expect_hooks_at(&f, sbuf_str(&want), __FILE__, __LINE__);
    }
    UT_WHERE("after the fill");
    check_everything(&f, md, got);

    /* Random joins, leaves (of a room the member is in, or of any room) and leaves of every room. */
    for (int op = 0; op < 40000; op++) {
        int m = (int)(ut_rand(&rng) % RM_MEMBERS);
        unsigned kind = (unsigned)(ut_rand(&rng) % 100);
        sbuf_reset(&want);
        if (kind < 45) {
            int room = (int)(ut_rand(&rng) % RM_USED);
            UT_WHERE("op %d: add(%d, %s)", op, m, rm_names[room]);
            UT_EQ(sio_rooms_add(f.r, mb(&f, m), rm_names[room]), model_add(md, m, room, &want));
            UT_UEQ(sio_rooms_size(f.r, rm_names[room]), md->size[room]);
        } else if (kind < 93) {
            int room = (kind < 70 && md->nof[m] > 0) ? md->of[m][ut_rand(&rng) % (uint64_t)md->nof[m]]
                                                      : (int)(ut_rand(&rng) % RM_ROOMS);
            UT_WHERE("op %d: del(%d, %s)", op, m, rm_names[room]);
            UT_EQ(sio_rooms_del(f.r, mb(&f, m), rm_names[room]), model_del(md, m, room, &want));
            UT_UEQ(sio_rooms_size(f.r, rm_names[room]), md->size[room]);
            UT_EQ(sio_rooms_has(f.r, mb(&f, m), rm_names[room]), 0);
        } else if (kind < 95) {
            UT_WHERE("op %d: del_all(%d)", op, m);
            sio_rooms_del_all(f.r, mb(&f, m));
            model_del_all(md, m, &want);
            UT_UEQ(sio_rooms_of(mb(&f, m), NULL, 0), 0);
        } else {
            UT_WHERE("op %d: a random selection", op);
            check_random_select(&f, md, &rng, got, want_ids, seen);
        }
        expect_hooks_at(&f, sbuf_str(&want), __FILE__, __LINE__);
        UT_UEQ(sio_rooms_count(f.r), model_count(md));
        if (op % 5000 == 4999) {
            UT_WHERE("after op %d", op);
            check_everything(&f, md, got);
        }
    }

    /* Everyone leaves, with the hooks the model predicts. */
    for (int m = 0; m < RM_MEMBERS; m++) {
        UT_WHERE("final del_all(%d)", m);
        sbuf_reset(&want);
        sio_rooms_del_all(f.r, mb(&f, m));
        model_del_all(md, m, &want);
        expect_hooks_at(&f, sbuf_str(&want), __FILE__, __LINE__);
    }
    UT_WHERE("at the end");
    check_everything(&f, md, got);
    UT_UEQ(sio_rooms_count(f.r), 0);

    free(want.p);
    fixture_cleanup(&f);
    free(md);
    free(got);
    free(want_ids);
    free(seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UT_TEST(test_new_index_is_empty),
        UT_TEST(test_free_null_and_unused),
        UT_TEST(test_join_and_leave),
        UT_TEST(test_join_twice_changes_nothing),
        UT_TEST(test_leave_a_room_one_is_not_in),
        UT_TEST(test_leave_all),
        UT_TEST(test_rooms_of_in_joining_order),
        UT_TEST(test_has_size_count),
        UT_TEST(test_list_rooms),
        UT_TEST(test_room_names),
        UT_TEST(test_empty_room_is_deleted_and_recreated),
        UT_TEST(test_hooks_join_and_leave),
        UT_TEST(test_hooks_del_all),
        UT_TEST(test_no_hook),
        UT_TEST(test_select_union_without_duplicates),
        UT_TEST(test_select_except),
        UT_TEST(test_select_order),
        UT_TEST(test_select_every_member),
        UT_TEST(test_select_member_in_many_rooms),
        UT_TEST(test_select_is_a_snapshot),
        UT_TEST(test_many_members_against_a_model),
    };
    return cmocka_run_group_tests_name("sio_rooms", tests, NULL, NULL);
}
