/*
 * Sizes of the per-connection objects, and what libevent 2.1 allocates for one socket bufferevent, measured with
 * glibc's mallinfo2() over 1000 socketpairs (heap bytes in use, chunk headers and rounding included).
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -I. -O2 -o build/bench/struct_sizes bench/struct_sizes.c \
 *          $(pkg-config --cflags --libs libevent)
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engineio/eio_private.h"

#define N 1000

static size_t in_use(void)
{
    return mallinfo2().uordblks;
}

/* glibc: a chunk is the request + 8 bytes of header, rounded up to 16, at least 32. */
static size_t chunk(size_t n)
{
    size_t c = (n + 8 + 15) & ~(size_t)15;
    return c < 32 ? 32 : c;
}

static void row(const char *name, size_t size)
{
    printf("  %-28s %5zu bytes (malloc chunk %zu)\n", name, size, chunk(size));
}

/* libevent's allocations, logged while `logging` is set (event_set_mem_functions). */
static int logging;
static void *log_malloc(size_t n)
{
    if (logging)
        printf(" %zu", n);
    return malloc(n);
}
static void *log_realloc(void *p, size_t n)
{
    if (logging)
        printf(" realloc:%zu", n);
    return realloc(p, n);
}

static void noop_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)arg;
}

int main(void)
{
    printf("structs (sizeof):\n");
    row("struct eio_conn", sizeof(struct eio_conn));
    row("  of which http_parser", sizeof(http_parser));
    row("struct eio_session", sizeof(struct eio_session));
    row("  of which struct event", sizeof(struct event));
    row("  of which eio_sm", sizeof(eio_sm));
    row("struct eio_request", sizeof(struct eio_request));
    row("struct eio_server", sizeof(struct eio_server));

    event_set_mem_functions(log_malloc, log_realloc, free);
    static int fds[N][2];
    static struct bufferevent *bevs[N];
    for (int i = 0; i < N; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds[i]) < 0) {
            perror("socketpair");
            return 1;
        }
    struct event_base *base = event_base_new();
    /* Let the fd-indexed map grow past our fds first, so only per-socket costs are counted below. */
    struct event *warm = event_new(base, fds[N - 1][1], EV_READ, NULL, NULL);
    event_add(warm, NULL);
    event_del(warm);
    event_free(warm);

    printf("\nlibevent allocations for one socket bufferevent (bytes requested):\n  bufferevent_socket_new:");
    logging = 1;
    struct bufferevent *one = bufferevent_socket_new(base, fds[0][1], 0);
    printf("\n  enable(EV_READ):");
    bufferevent_enable(one, EV_READ);
    logging = 0;
    printf("\n");
    bufferevent_free(one);

    size_t m0 = in_use();
    for (int i = 0; i < N; i++)
        bevs[i] = bufferevent_socket_new(base, fds[i][0], BEV_OPT_CLOSE_ON_FREE);
    size_t m1 = in_use();
    for (int i = 0; i < N; i++) {
        bufferevent_setcb(bevs[i], noop_cb, NULL, NULL, NULL);
        bufferevent_enable(bevs[i], EV_READ);
    }
    size_t m2 = in_use();
    struct timeval tv = {60, 0};
    for (int i = 0; i < N; i++)
        bufferevent_set_timeouts(bevs[i], &tv, NULL);
    size_t m3 = in_use();
    for (int i = 0; i < N; i++)
        bufferevent_set_timeouts(bevs[i], NULL, NULL);
    /* One message in and out, drained: do chains stay behind? */
    for (int i = 0; i < N; i++) {
        if (write(fds[i][1], "hello", 5) != 5)
            return 1;
        bufferevent_write(bevs[i], "world", 5);
    }
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_loop(base, EVLOOP_NONBLOCK);
    size_t m4 = in_use();
    for (int i = 0; i < N; i++)
        evbuffer_drain(bufferevent_get_input(bevs[i]), 5);
    size_t m5 = in_use();

    printf("\nlibevent %s, per socket bufferevent (mallinfo2 delta over %d):\n", event_get_version(), N);
    printf("  bufferevent_socket_new         %5zu bytes\n", (m1 - m0) / N);
    printf("  + enable(EV_READ) (evmap_io)   %5zu bytes\n", (m2 - m1) / N);
    printf("  + a read timeout               %5zu bytes\n", (m3 - m2) / N);
    printf("  input holding 5 bytes          %5zu bytes (chain while data waits)\n", (m4 - m2) / N);
    printf("  idle after drain               %5zu bytes total per bufferevent\n", (m5 - m0) / N);
    for (int i = 0; i < N; i++) {
        bufferevent_free(bevs[i]);
        close(fds[i][1]);
    }
    event_base_free(base);
    return 0;
}
