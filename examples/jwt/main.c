/*
 * build/examples/jwt: authentication with JSON Web Tokens (HS256), two ways on the namespace "/".
 *
 *   build/examples/jwt --secret S [--auth-timeout-ms 5000] [--port 3000]      (or JWT_SECRET=S in the environment)
 *
 * 1. The modern way: the client sends its token in the CONNECT auth payload, io(url, {auth: {token}}). A
 *    namespace middleware verifies it and refuses a bad one with CONNECT_ERROR "invalid token" (the data says
 *    why: {"reason": "jwt expired"}).
 * 2. The classic socketio-jwt way, for a connection that brought no token: the client emits "authenticate"
 *    {token} within --auth-timeout-ms; the server answers "authenticated", or "unauthorized" {message, code,
 *    type} and disconnects it. Without a valid "authenticate" in time, the socket is disconnected. Until then a
 *    packet middleware drops its events, except "whoami", which answers {error: "unauthorized"}.
 * Either way the claims end up in socket.data as {"claims": {...}}, and "whoami" (with an ack) answers them.
 * The verification itself is jwt.c, a pure function.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/common/example.h"
#include "examples/jwt/jwt.h"

typedef struct jwt_app {
    const char *secret;  /* from --secret or $JWT_SECRET, never empty */
    int auth_timeout_ms; /* deadline of the classic flow; 0: none */
    struct event_base *base;
} jwt_app;

/* Verifies token (any JSON value a client sent, or NULL) now; see jwt_verify. */
static int verify(const jwt_app *app, const cJSON *token, cJSON **claims)
{
    *claims = NULL;
    if (!cJSON_IsString(token))
        return JWT_EMALFORMED;
    return jwt_verify(token->valuestring, strlen(token->valuestring), app->secret, strlen(app->secret),
                      ex_now_ms() / 1000.0, claims);
}

/* An authenticated socket is one whose socket.data holds its claims. */
static const cJSON *socket_claims(const sio_socket *s)
{
    return cJSON_GetObjectItemCaseSensitive(sio_socket_json(s), "claims");
}

/* socket.data = {claims} (claims: ownership passes). Returns 0, or -1 (out of memory: claims freed). */
static int set_claims(sio_socket *s, cJSON *claims)
{
    cJSON *data = cJSON_CreateObject();
    if (!data || !cJSON_AddItemToObject(data, "claims", claims)) {
        cJSON_Delete(data);
        cJSON_Delete(claims);
        return -1;
    }
    sio_socket_set_json(s, data);
    return 0;
}

/* For the logs: the token's subject, when it has one. */
static const char *claims_sub(const cJSON *claims)
{
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    return cJSON_IsString(sub) ? sub->valuestring : "(no sub)";
}

/* The classic flow's deadline is the socket's data pointer (sio_socket_set_data) while it runs. */
static void stop_deadline(sio_socket *s)
{
    struct event *timer = sio_socket_data(s);
    if (timer) {
        event_free(timer);
        sio_socket_set_data(s, NULL);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sio_socket *s = arg; /* valid: the disconnect handler frees this timer */
    stop_deadline(s);
    printf("%s: no authenticate in time, disconnecting\n", sio_socket_id(s));
    sio_socket_disconnect(s, 0);
}

/* Namespace middleware: the modern way. A CONNECT without a "token" key passes, for the classic flow. */
static int check_connect(sio_socket *s, const char **message, cJSON **data, void *ud)
{
    const cJSON *auth = sio_socket_auth(s);
    const cJSON *token = cJSON_IsObject(auth) ? cJSON_GetObjectItemCaseSensitive(auth, "token") : NULL;
    if (!token)
        return 0;
    cJSON *claims;
    int rc = verify(ud, token, &claims);
    if (rc == JWT_OK && set_claims(s, claims) == 0)
        return 0;
    const char *reason = rc == JWT_OK ? jwt_strerror(JWT_ENOMEM) : jwt_strerror(rc);
    printf("%s refused from %s: %s\n", sio_socket_id(s), sio_socket_address(s), reason);
    *message = "invalid token";
    *data = cJSON_CreateObject(); /* NULL on out of memory: then the refusal has no data */
    cJSON_AddStringToObject(*data, "reason", reason);
    return -1;
}

/* Packet middleware: until the socket is authenticated, only "authenticate" and "whoami" (which answers an
 * error: a client waiting for its ack learns why at once instead of timing out) reach the handlers. */
static int gate(sio_socket *s, const char *event, const sio_args *args, void *ud)
{
    (void)args;
    (void)ud;
    if (socket_claims(s) || strcmp(event, "authenticate") == 0 || strcmp(event, "whoami") == 0)
        return 0;
    char name[65]; /* the name as logged: a client's, so at most 64 bytes and no control characters */
    size_t n = 0;
    for (; event[n] && n < sizeof(name) - 1; n++)
        name[n] = (unsigned char)event[n] < 0x20 || event[n] == 0x7f ? '?' : event[n];
    name[n] = '\0';
    printf("%s: dropped \"%s\": not authenticated\n", sio_socket_id(s), name);
    return 1;
}

/* "authenticate" {token}: the classic flow. */
static void on_authenticate(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)ack;
    if (socket_claims(s)) { /* socketio-jwt ignores it too: the socket keeps its first identity */
        printf("%s: authenticate ignored: already authenticated\n", sio_socket_id(s));
        return;
    }
    const cJSON *arg = sio_args_get(args, 0);
    cJSON *claims;
    int rc = verify(ud, cJSON_IsObject(arg) ? cJSON_GetObjectItemCaseSensitive(arg, "token") : NULL, &claims);
    if (rc == JWT_OK && set_claims(s, claims) < 0)
        rc = JWT_ENOMEM;
    if (rc != JWT_OK) {
        printf("%s: unauthorized: %s\n", sio_socket_id(s), jwt_strerror(rc));
        cJSON *out = cJSON_CreateArray();
        cJSON *err = cJSON_CreateObject();
        cJSON_AddStringToObject(err, "message", jwt_strerror(rc));
        cJSON_AddStringToObject(err, "code", "invalid_token");
        cJSON_AddStringToObject(err, "type", "UnauthorizedError");
        if (!cJSON_AddItemToArray(out, err))
            cJSON_Delete(err);
        sio_socket_emit(s, "unauthorized", out, NULL, 0); /* sent before the DISCONNECT: the client sees both */
        cJSON_Delete(out);
        sio_socket_disconnect(s, 0);
        return;
    }
    stop_deadline(s);
    printf("%s authenticated by \"authenticate\" as %.64s\n", sio_socket_id(s), claims_sub(socket_claims(s)));
    sio_socket_emit(s, "authenticated", NULL, NULL, 0);
}

/* "whoami" with an ack: the claims, or {error: "unauthorized"} before authentication. */
static void on_whoami(sio_socket *s, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    (void)args;
    (void)ud;
    if (!ack)
        return;
    cJSON *out = cJSON_CreateArray();
    const cJSON *claims = socket_claims(s);
    cJSON *answer = claims ? cJSON_CreateObjectReference(claims->child) : cJSON_CreateObject();
    if (!claims)
        cJSON_AddStringToObject(answer, "error", "unauthorized");
    if (!cJSON_AddItemToArray(out, answer))
        cJSON_Delete(answer);
    sio_ack_send(ack, out, NULL, 0);
    cJSON_Delete(out);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    stop_deadline(s);
    printf("%s left: %s\n", sio_socket_id(s), reason);
}

static void on_connection(sio_socket *s, void *ud)
{
    jwt_app *app = ud;
    const cJSON *claims = socket_claims(s);
    if (claims) {
        printf("%s connected from %s as %.64s (token in auth)\n", sio_socket_id(s), sio_socket_address(s),
               claims_sub(claims));
    } else if (app->auth_timeout_ms > 0) {
        struct event *timer = evtimer_new(app->base, on_deadline, s);
        struct timeval tv = {app->auth_timeout_ms / 1000, (app->auth_timeout_ms % 1000) * 1000};
        if (!timer || evtimer_add(timer, &tv) < 0) { /* the deadline cannot be kept: do not let it in */
            if (timer)
                event_free(timer);
            sio_socket_disconnect(s, 0);
            return;
        }
        sio_socket_set_data(s, timer);
        printf("%s connected from %s without a token: authenticate within %d ms\n", sio_socket_id(s),
               sio_socket_address(s), app->auth_timeout_ms);
    } else {
        printf("%s connected from %s without a token: waiting for authenticate\n", sio_socket_id(s),
               sio_socket_address(s));
    }
    /* Should a registration fail (out of memory), nothing opens: the handlers check socket_claims themselves. */
    sio_socket_use(s, gate, app);
    sio_socket_on(s, "authenticate", on_authenticate, app);
    sio_socket_on(s, "whoami", on_whoami, app);
    sio_socket_on_disconnect(s, on_disconnect, app);
}

/*
 * The secret (--secret, else $JWT_SECRET), looked for before ex_app_init so that the program refuses to start
 * without one before it listens. Scans argv in pairs as ex_app_init does; *help is set for --help/-h, which
 * needs no secret.
 */
static const char *find_secret(int argc, char **argv, int *help)
{
    const char *secret = getenv("JWT_SECRET");
    *help = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            *help = 1;
        else if (i + 1 < argc && strcmp(argv[i], "--secret") == 0)
            secret = argv[++i];
        else
            i++;
    }
    return secret;
}

int main(int argc, char **argv)
{
    jwt_app app = {.auth_timeout_ms = 5000};
    int help;
    app.secret = find_secret(argc, argv, &help);
    if (!help && (!app.secret || !*app.secret)) {
        fprintf(stderr, "jwt: no secret: give --secret S or set JWT_SECRET (tokens are HS256 with it)\n");
        return 1;
    }
    ex_flag flags[] = {
        {"--secret", EX_FLAG_STR, &app.secret, "the HS256 secret (default: $JWT_SECRET; one is required)"},
        {"--auth-timeout-ms", EX_FLAG_INT, &app.auth_timeout_ms,
         "without a token in auth: time to emit \"authenticate\" (default 5000; 0: no limit)"},
    };
    ex_app ex;
    int rc = ex_app_init(&ex, "jwt", argc, argv, flags, sizeof(flags) / sizeof(flags[0]), NULL);
    if (rc != 0)
        return rc < 0 ? 1 : 0;
    app.base = ex.base;

    sio_namespace *nsp = sio_of(ex.io, "/");
    sio_namespace_use(nsp, check_connect, &app);
    sio_namespace_on_connection(nsp, on_connection, &app);
    printf("jwt: HS256 tokens in auth {token} or by \"authenticate\" within %d ms\n", app.auth_timeout_ms);

    ex_app_run(&ex); /* every socket disconnects: their deadlines are freed by on_disconnect */
    ex_app_cleanup(&ex);
    return 0;
}
