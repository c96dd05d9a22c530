/* Raw WebSocket clients on socketpairs (see ws_client.h). */
#include "test/common/ws_client.h"

#include <event2/event.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void th_run_for(struct event_base *base, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

int th_ws_pair(eio_server *engine)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    if (eio_server_adopt_fd(engine, sv[0]) != 0) { /* sv[0] is closed */
        close(sv[1]);
        return -1;
    }
    return sv[1];
}

int th_ws_open(eio_server *engine, const char *request)
{
    int fd = th_ws_pair(engine);
    if (fd >= 0 && th_ws_write_str(fd, request) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int th_ws_write(int fd, const void *p, size_t n)
{
    return write(fd, p, n) == (ssize_t)n ? 0 : -1; /* small writes into an empty socketpair: all or nothing */
}

int th_ws_write_str(int fd, const char *s)
{
    return th_ws_write(fd, s, strlen(s));
}

int th_ws_send_text(int fd, const char *text)
{
    size_t n = strlen(text);
    if (n > 125)
        return -1;
    unsigned char f[6 + 125];
    f[0] = 0x81;
    f[1] = (unsigned char)(0x80 | n);
    memset(f + 2, 0, 4);
    memcpy(f + 6, text, n);
    return th_ws_write(fd, f, 6 + n);
}

size_t th_ws_read(int fd, char *buf, size_t cap)
{
    size_t o = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + o, cap - 1 - o, MSG_DONTWAIT);
        if (n <= 0 || (o += (size_t)n) == cap - 1)
            break;
    }
    buf[o] = '\0';
    return o;
}

int th_ws_saw(int fd, const char *needle)
{
    static char buf[1 << 20];
    size_t n = th_ws_read(fd, buf, sizeof(buf));
    return memmem(buf, n, needle, strlen(needle)) != NULL;
}
