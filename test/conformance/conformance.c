/*
 * build/conformance: the configuration the official protocol test suites expect (pingInterval 300,
 * pingTimeout 200, maxPayload 1000000) with an Engine.IO echo app at /engine.io/, on 127.0.0.1.
 * Extra flags for our own tests are documented in test/interop/README.md.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rooms/sio_redis.h"
#include "test/conformance/conformance.h"

#define MAX_ORIGINS 16

int print_events;
static int test_commands;
static const char *deny_key, *deny_value;

static void event_line(const char *event, eio_session *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void event_line(const char *event, eio_session *s, const char *fmt, ...)
{
    if (!print_events)
        return;
    printf("{\"event\":\"%s\",\"sid\":\"%s\"", event, eio_session_id(s));
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
    }
    printf("}\n");
    fflush(stdout);
}

static void on_connection(eio_session *s, const eio_request *req, void *ud)
{
    (void)req;
    (void)ud;
    event_line("connection", s, ",\"transport\":\"%s\"", eio_session_transport(s));
}

static void on_message(eio_session *s, const uint8_t *data, size_t len, int binary, void *ud)
{
    (void)ud;
    event_line("message", s, ",\"binary\":%s,\"length\":%zu", binary ? "true" : "false", len);
    if (binary) {
        eio_session_send_binary(s, data, len);
        return;
    }
    if (test_commands && len >= 2 && data[0] == '_' && data[1] == '_') {
        if (len == 9 && memcmp(data, "__close__", 9) == 0) {
            eio_session_close(s);
            return;
        }
        if (len > 8 && len < 20 && memcmp(data, "__send__", 8) == 0) {
            char num[16];
            memcpy(num, data + 8, len - 8);
            num[len - 8] = '\0';
            long n = strtol(num, NULL, 10);
            for (long i = 0; i < n; i++) {
                char msg[24];
                int m = snprintf(msg, sizeof(msg), "%ld", i);
                if (eio_session_send_text(s, msg, (size_t)m) < 0)
                    break;
            }
            return;
        }
    }
    eio_session_send_text(s, (const char *)data, len);
}

static void on_upgrade(eio_session *s, void *ud)
{
    (void)ud;
    event_line("upgrade", s, ",\"transport\":\"%s\"", eio_session_transport(s));
}

static void on_close(eio_session *s, const char *reason, void *ud)
{
    (void)ud;
    event_line("close", s, ",\"reason\":\"%s\"", reason);
}

static int allow_request(const eio_request *req, const char **message, void *ud)
{
    (void)ud;
    if (!deny_key)
        return 1;
    char value[256];
    if (eio_request_query_decoded(req, deny_key, value, sizeof(value)) >= 0 && strcmp(value, deny_value) == 0) {
        *message = "denied by test";
        return 0;
    }
    return 1;
}

/* --- the Socket.IO app at /socket.io/ --- */

/* The received arguments and their attachments, passed on unchanged. */
size_t cf_args_buffers(const sio_args *args, sio_attachment_ref *bufs)
{
    size_t n = sio_args_attachments_count(args);
    for (size_t i = 0; i < n; i++)
        sio_args_attachment(args, i, &bufs[i].data, &bufs[i].len);
    return n;
}

static void sio_on_message(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    (void)ud;
    sio_attachment_ref bufs[10];
    size_t n = cf_args_buffers(args, bufs);
    sio_socket_emit(s, "message-back", sio_args_json(args), bufs, n);
}

static void sio_on_message_with_ack(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)event;
    (void)ud;
    if (!ack)
        return;
    sio_attachment_ref bufs[10];
    size_t n = cf_args_buffers(args, bufs);
    sio_ack_send(ack, sio_args_json(args), bufs, n);
}

static void sio_event_line(const char *event, sio_socket *s, const char *reason)
{
    if (!print_events)
        return;
    printf("{\"event\":\"%s\",\"nsp\":\"%s\",\"id\":\"%s\"", event, sio_namespace_name(sio_socket_namespace(s)),
           sio_socket_id(s));
    if (reason)
        printf(",\"reason\":\"%s\"", reason);
    printf("}\n");
    fflush(stdout);
}

static void sio_on_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    sio_event_line("sio-disconnecting", s, reason);
}

static void sio_on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    sio_event_line("sio-disconnect", s, reason);
}

static void sio_bye(sio_socket *s, const char *reason, void *ud)
{
    (void)reason;
    (void)ud;
    sio_socket_emit(s, "__bye__", NULL, NULL, 0);
}

/* --test-commands: "__disconnect__" [close] [bye] disconnects this socket (close true: the whole connection);
 * with bye true, a `disconnecting` handler first registered emits "__bye__" to the socket. */
static void sio_cmd_disconnect(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    (void)ud;
    if (cJSON_IsTrue(sio_args_get(args, 1)))
        sio_socket_on_disconnecting(s, sio_bye, NULL);
    sio_socket_disconnect(s, cJSON_IsTrue(sio_args_get(args, 0)));
}

static void sio_ack_result(sio_socket *s, int err, const sio_args *args, void *ud)
{
    (void)ud;
    if (err == SIO_EDISCONNECTED)
        return;
    cJSON *res = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "err", err ? cJSON_CreateString(sio_strerror(err)) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "args", args ? cJSON_Duplicate(sio_args_json(args), 1) : cJSON_CreateNull());
    cJSON_AddItemToArray(res, o);
    sio_attachment_ref bufs[10];
    size_t n = args ? cf_args_buffers(args, bufs) : 0;
    sio_socket_emit(s, "__ack_result__", res, bufs, n);
    cJSON_Delete(res);
}

/* --test-commands: "__emit_with_ack__" event timeout_ms ...args: the server emits event with the remaining
 * arguments and asks for an acknowledgement; the outcome comes back as "__ack_result__" {err, args}. */
static void sio_cmd_emit_with_ack(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    (void)ud;
    const cJSON *name = sio_args_get(args, 0);
    const cJSON *timeout = sio_args_get(args, 1);
    if (!cJSON_IsString(name) || !cJSON_IsNumber(timeout))
        return;
    cJSON *rest = cJSON_Duplicate(sio_args_json(args), 1);
    cJSON_DeleteItemFromArray(rest, 0);
    cJSON_DeleteItemFromArray(rest, 0);
    sio_attachment_ref bufs[10];
    size_t n = cf_args_buffers(args, bufs);
    sio_socket_emit_with_ack(s, name->valuestring, rest, bufs, n, (unsigned)timeout->valuedouble, sio_ack_result, NULL);
    cJSON_Delete(rest);
}

/* --test-commands: "__handshake__" with an ack answers the handshake as the application sees it. */
static void sio_cmd_handshake(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)args;
    (void)ud;
    if (!ack)
        return;
    cJSON *h = cJSON_CreateObject();
    cJSON *headers = cJSON_AddObjectToObject(h, "headers");
    const char *names[] = {"host", "user-agent", "x-test", "cookie", "origin"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = sio_socket_header(s, names[i]);
        if (v)
            cJSON_AddStringToObject(headers, names[i], v);
    }
    cJSON *query = cJSON_AddObjectToObject(h, "query");
    const char *keys[] = {"EIO", "transport", "foo"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char v[256];
        if (sio_socket_query(s, keys[i], v, sizeof(v)) >= 0)
            cJSON_AddStringToObject(query, keys[i], v);
    }
    cJSON_AddStringToObject(h, "address", sio_socket_address(s));
    cJSON_AddStringToObject(h, "url", sio_socket_url(s));
    cJSON_AddNumberToObject(h, "issued", (double)sio_socket_handshake_time(s));
    cJSON_AddBoolToObject(h, "secure", sio_socket_secure(s));
    cJSON_AddItemToObject(h, "auth", cJSON_Duplicate(sio_socket_auth(s), 1));
    cJSON_AddStringToObject(h, "transport", sio_socket_transport(s));
    cJSON *answer = cJSON_CreateArray();
    cJSON_AddItemToArray(answer, h);
    sio_ack_send(ack, answer, NULL, 0);
    cJSON_Delete(answer);
}

/* --test-commands: per-packet middleware dropping events whose name starts with "__drop". */
static int sio_drop_middleware(sio_socket *s, const char *event, const sio_args *args, void *ud)
{
    (void)s;
    (void)args;
    (void)ud;
    return strncmp(event, "__drop", 6) == 0;
}

/* --test-commands: catch-all; "__any_echo__" ...args comes back as "__any__" event ...args. */
static void sio_any(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)ack;
    (void)ud;
    if (strcmp(event, "__any_echo__") != 0)
        return;
    cJSON *out = cJSON_Duplicate(sio_args_json(args), 1);
    cJSON_InsertItemInArray(out, 0, cJSON_CreateString(event));
    sio_attachment_ref bufs[10];
    size_t n = cf_args_buffers(args, bufs);
    sio_socket_emit(s, "__any__", out, bufs, n);
    cJSON_Delete(out);
}

/* --test-commands: an outgoing catch-all counts what the server emitted; "__outgoing__" (with an ack) answers
 * the count and the last event name. */
struct outgoing {
    int count;
    char last[64];
};

static void sio_any_outgoing(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)args;
    (void)ack;
    struct outgoing *o = ud;
    o->count++;
    snprintf(o->last, sizeof(o->last), "%s", event);
}

static void sio_cmd_outgoing(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)s;
    (void)event;
    (void)args;
    struct outgoing *o = ud;
    if (!ack)
        return;
    cJSON *answer = cJSON_CreateArray();
    cJSON *res = cJSON_CreateObject();
    cJSON_AddNumberToObject(res, "count", o->count);
    cJSON_AddStringToObject(res, "last", o->last);
    cJSON_AddItemToArray(answer, res);
    sio_ack_send(ack, answer, NULL, 0);
    cJSON_Delete(answer);
}

static void free_outgoing(sio_socket *s, const char *reason, void *ud)
{
    (void)s;
    (void)reason;
    free(ud);
}

/* "/private": refuses a CONNECT without auth {"token": "secret"}. */
static int sio_private_middleware(sio_socket *s, const char **message, cJSON **data, void *ud)
{
    (void)ud;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(sio_socket_auth(s), "token");
    if (cJSON_IsString(token) && strcmp(token->valuestring, "secret") == 0)
        return 0;
    *message = "invalid token";
    *data = cJSON_CreateObject();
    cJSON_AddStringToObject(*data, "hint", "use secret");
    return -1;
}

static void sio_on_connection(sio_socket *s, void *ud)
{
    int main_nsp = ud != NULL;
    cf_print_room_events(sio_socket_namespace(s));
    sio_event_line("sio-connection", s, NULL);
    sio_socket_on_disconnecting(s, sio_on_disconnecting, NULL);
    sio_socket_on_disconnect(s, sio_on_disconnect, NULL);
    if (test_commands) {
        sio_socket_on(s, "__disconnect__", sio_cmd_disconnect, NULL);
        sio_socket_on(s, "__emit_with_ack__", sio_cmd_emit_with_ack, NULL);
        sio_socket_on(s, "__handshake__", sio_cmd_handshake, NULL);
        sio_socket_use(s, sio_drop_middleware, NULL);
        sio_socket_on_any(s, sio_any, NULL);
        struct outgoing *o = calloc(1, sizeof(*o));
        if (o) {
            sio_socket_on_any_outgoing(s, sio_any_outgoing, o);
            sio_socket_on(s, "__outgoing__", sio_cmd_outgoing, o);
            sio_socket_on_disconnect(s, free_outgoing, o);
        }
        cf_room_commands_on(s);
    }
    cJSON *args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_Duplicate(sio_socket_auth(s), 1));
    sio_socket_emit(s, "auth", args, NULL, 0);
    cJSON_Delete(args);
    if (main_nsp) {
        sio_socket_on(s, "message", sio_on_message, NULL);
        sio_socket_on(s, "message-with-ack", sio_on_message_with_ack, NULL);
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static void usage(void)
{
    fprintf(stderr, "usage: conformance [--port N] [--ping-interval MS] [--ping-timeout MS] [--upgrade-timeout MS]\n"
                    "  [--max-payload BYTES] [--transports polling,websocket] [--no-upgrades] [--cors-origin O]...\n"
                    "  [--cors-credentials] [--cookie] [--deny-query K=V] [--events] [--test-commands]\n"
                    "  [--headers-timeout MS] [--max-queued BYTES] [--redis URL] [--redis-key PREFIX]\n"
                    "  [--requests-timeout MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int port = 3000;
    const char *origins[MAX_ORIGINS + 1] = {0};
    int norigins = 0;
    const char *redis_url = NULL, *redis_key = "socket.io";
    eio_options opts;
    eio_options_init(&opts);
    opts.ping_interval_ms = 300;
    opts.ping_timeout_ms = 200;
    opts.max_http_buffer_size = 1000000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                               \
    do {                                                                                                           \
        if (!v)                                                                                                    \
            usage();                                                                                               \
        i++;                                                                                                       \
    } while (0)
        if (strcmp(a, "--port") == 0) {
            NEED_VALUE();
            port = atoi(v);
        } else if (strcmp(a, "--ping-interval") == 0) {
            NEED_VALUE();
            opts.ping_interval_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--ping-timeout") == 0) {
            NEED_VALUE();
            opts.ping_timeout_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--upgrade-timeout") == 0) {
            NEED_VALUE();
            opts.upgrade_timeout_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--headers-timeout") == 0) {
            NEED_VALUE();
            opts.headers_timeout_ms = (unsigned)atoi(v);
        } else if (strcmp(a, "--max-payload") == 0) {
            NEED_VALUE();
            opts.max_http_buffer_size = (size_t)strtoull(v, NULL, 10);
        } else if (strcmp(a, "--max-queued") == 0) {
            NEED_VALUE();
            opts.max_queued_bytes = (size_t)strtoull(v, NULL, 10);
        } else if (strcmp(a, "--transports") == 0) {
            NEED_VALUE();
            opts.allow_polling = strstr(v, "polling") != NULL;
            opts.allow_websocket = strstr(v, "websocket") != NULL;
        } else if (strcmp(a, "--no-upgrades") == 0) {
            opts.allow_upgrades = 0;
        } else if (strcmp(a, "--cors-origin") == 0) {
            NEED_VALUE();
            if (norigins == MAX_ORIGINS)
                usage();
            origins[norigins++] = v;
            opts.cors_origins = origins;
        } else if (strcmp(a, "--cors-credentials") == 0) {
            opts.cors_credentials = 1;
        } else if (strcmp(a, "--cookie") == 0) {
            opts.cookie_name = "io";
        } else if (strcmp(a, "--deny-query") == 0) {
            NEED_VALUE();
            static char kv[256];
            snprintf(kv, sizeof(kv), "%s", v);
            char *eq = strchr(kv, '=');
            if (!eq)
                usage();
            *eq = '\0';
            deny_key = kv;
            deny_value = eq + 1;
        } else if (strcmp(a, "--events") == 0) {
            print_events = 1;
        } else if (strcmp(a, "--test-commands") == 0) {
            test_commands = 1;
        } else if (strcmp(a, "--redis") == 0) {
            NEED_VALUE();
            redis_url = v;
        } else if (strcmp(a, "--redis-key") == 0) {
            NEED_VALUE();
            redis_key = v;
        } else if (strcmp(a, "--requests-timeout") == 0) {
            NEED_VALUE();
            cf_requests_timeout_ms = (unsigned)atoi(v);
        } else {
            usage();
        }
    }
    opts.allow_request = allow_request;

    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    eio_handlers h = {on_connection, on_message, on_upgrade, on_close, NULL};
    eio_server *srv = eio_server_new(base, &opts, &h);

    /* Socket.IO at /socket.io/ with the same engine options (the test suites' pingInterval 300 and
     * pingTimeout 200) and connectTimeout 1000; requests for /engine.io/ go on to the echo app. */
    sio_options sopts;
    sio_options_init(&sopts);
    sopts.eio = opts;
    sopts.eio.path = "/socket.io/";
    sopts.eio.allow_request = NULL;
    sopts.connect_timeout_ms = 1000;
    sio_server *sio = sio_server_new(base, &sopts);
    /* --redis URL (or SIO_REDIS_URL): the Redis adapter, for the cluster suites (test/cluster/). */
    if (!redis_url)
        redis_url = getenv("SIO_REDIS_URL");
    sio_redis *redis = NULL;
    if (redis_url && sio) {
        static char buf[1024];
        sio_redis_options ro;
        sio_redis_options_init(&ro);
        ro.key_prefix = redis_key;
        ro.request_timeout_ms = cf_requests_timeout_ms;
        if (sio_redis_options_parse_url(&ro, redis_url, buf, sizeof(buf)) < 0 || !(redis = sio_redis_new(base, &ro)) ||
            sio_server_set_adapter(sio, &sio_redis_adapter, redis) < 0) {
            fprintf(stderr, "conformance: bad --redis %s\n", redis_url);
            return 1;
        }
    }
    if (!srv || !sio || sio_server_listen(sio, "127.0.0.1", port) < 0) {
        fprintf(stderr, "conformance: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    eio_server_chain(sio_server_engine(sio), srv);
    sio_namespace_on_connection(sio_of(sio, "/"), sio_on_connection, (void *)1);
    sio_namespace_on_connection(sio_of(sio, "/custom"), sio_on_connection, NULL);
    cf_print_room_events(sio_of(sio, "/"));
    cf_print_room_events(sio_of(sio, "/custom"));
    cf_listen_server_side(sio_of(sio, "/"));
    cf_listen_server_side(sio_of(sio, "/custom"));
    if (test_commands) {
        sio_namespace *priv = sio_of(sio, "/private");
        cf_print_room_events(priv);
        cf_listen_server_side(priv);
        sio_namespace_use(priv, sio_private_middleware, NULL);
        sio_namespace_on_connection(priv, sio_on_connection, NULL);
        sio_namespace_on_connection(sio_of_pattern(sio, "^/dyn-[0-9]+$"), sio_on_connection, NULL);
    }
    cf_server_port = sio_server_port(sio);
    printf("listening on 127.0.0.1:%d\n", cf_server_port);
    fflush(stdout);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    event_base_dispatch(base);
    sio_server_free(sio);
    sio_redis_free(redis);
    eio_server_free(srv);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    return 0;
}
