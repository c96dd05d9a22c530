/* The replaceable logger, error strings and the clock. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eio_private.h"

static void default_log(int level, const char *msg, void *user_data);

static eio_log_cb log_cb = default_log;
static void *log_ud;
static int log_level = -1; /* resolved from DEBUG on first use */

static void default_log(int level, const char *msg, void *user_data)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    (void)user_data;
    fprintf(stderr, "engineio %s: %s\n", names[level & 3], msg);
}

void eio_set_logger(eio_log_cb cb, void *user_data)
{
    log_cb = cb;
    log_ud = user_data;
    log_level = EIO_LOG_DEBUG; /* a custom logger decides for itself what to keep */
}

int eio__log_enabled(int level)
{
    if (log_level < 0) {
        const char *d = getenv("DEBUG");
        log_level = (d && (strstr(d, "engine") || strcmp(d, "*") == 0)) ? EIO_LOG_DEBUG : EIO_LOG_WARN;
    }
    return log_cb && level <= log_level;
}

static void vlog(int level, const char *fmt, va_list ap)
{
    if (!eio__log_enabled(level))
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    log_cb(level, msg, log_ud);
}

void eio__log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

/* The same for the layers above (socketio/, rooms/), which use only the public header. */
void eio_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

uint64_t eio__now_ms(eio_server *srv)
{
    struct timespec ts;
    (void)srv;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *eio_strerror(int code)
{
    switch (code) {
    case EIO_OK:
        return "success";
    case EIO_ENOMEM:
        return "out of memory";
    case EIO_EINVAL:
        return "invalid argument";
    case EIO_ECLOSED:
        return "session closed";
    case EIO_EQUEUE:
        return "outgoing queue full";
    case EIO_ELISTEN:
        return "cannot listen";
    case EIO_EDROPPED:
        return "volatile message dropped";
    default:
        return "unknown error";
    }
}
