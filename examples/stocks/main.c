/*
 * build/examples/stocks: a stock ticker with one room per symbol ("microsoft_stock", "apple_stock", ...).
 *
 *   build/examples/stocks [--port 3000] [--symbols microsoft,apple:190.5] [--tick-ms 1000] [--token SECRET]
 *
 * A client emits "subscribe" "apple" and from then on gets "price" {symbol, price, time} for apple only,
 * until it emits "unsubscribe" "apple". Prices come from a built-in random walk every --tick-ms, and from
 * other programs through POST /api/price with a bearer token. The pages are / (the list of symbols, read from
 * GET /api/symbols) and /stock.html?symbol=apple.
 */
#include <ctype.h>
#include <event2/event.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "examples/common/example.h"

#define MAX_SYMBOLS 64 /* --symbols may not make the server keep more than this */
#define MAX_NAME 32

typedef struct stock {
    char name[MAX_NAME + 1]; /* lowercase [a-z0-9_-], 1 to MAX_NAME characters */
    char room[MAX_NAME + 8]; /* name + "_stock": the room of its subscribers */
    double price;            /* always > 0 */
} stock;

typedef struct ticker {
    sio_namespace *nsp;
    stock stocks[MAX_SYMBOLS];
    size_t n;
    unsigned char token_digest[32]; /* SHA-256 of the token: compared in constant time, whatever its length */
    struct event *tick;             /* the simulator's timer, NULL when --tick-ms is 0 */
} ticker;

static const stock defaults[] = {
    {"microsoft", "", 415.50}, {"apple", "", 189.25}, {"google", "", 171.80},
    {"amazon", "", 183.40},    {"tesla", "", 248.60},
};

static int valid_name(const char *s, size_t len)
{
    if (len < 1 || len > MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

static stock *find_stock(ticker *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->stocks[i].name, name) == 0)
            return &t->stocks[i];
    return NULL;
}

/* Adds a symbol; without a price, a default symbol keeps its own and any other starts at 100. */
static int add_stock(ticker *t, const char *name, size_t len, double price)
{
    if (!valid_name(name, len) || t->n == MAX_SYMBOLS)
        return -1;
    stock *s = &t->stocks[t->n];
    memcpy(s->name, name, len);
    s->name[len] = '\0';
    if (find_stock(t, s->name))
        return -1; /* a duplicate */
    if (price <= 0) {
        price = 100.0;
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
            if (strcmp(defaults[i].name, s->name) == 0)
                price = defaults[i].price;
    }
    s->price = price;
    memcpy(s->room, name, len);
    memcpy(s->room + len, "_stock", sizeof("_stock"));
    t->n++;
    return 0;
}

/* --symbols "a,b:12.5,c": comma-separated names, each with an optional ":starting price". */
static int parse_symbols(ticker *t, const char *list)
{
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        size_t name_len = strcspn(p, ",:");
        double price = 0;
        if (name_len < len) {
            char *end;
            price = strtod(p + name_len + 1, &end);
            if (end != p + len || !isfinite(price) || price <= 0)
                return -1;
        }
        if (add_stock(t, p, name_len, price) < 0)
            return -1;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static int set_token(ticker *t, const char *token)
{
    return EVP_Digest(token, strlen(token), t->token_digest, NULL, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

/* The "price" event of one symbol, to its room only. */
static void emit_price(ticker *t, const stock *s)
{
    cJSON *args = cJSON_CreateArray();
    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToArray(args, p);
    cJSON_AddStringToObject(p, "symbol", s->name);
    cJSON_AddNumberToObject(p, "price", s->price);
    cJSON_AddNumberToObject(p, "time", ex_now_ms());
    const char *rooms[] = {s->room};
    sio_broadcast(t->nsp, &(sio_bcast){.rooms = rooms, .nrooms = 1}, "price", args, NULL, 0);
    cJSON_Delete(args);
}

/* Every tick moves every price by up to 0.5% (at least a cent), rounded to cents and never below one cent;
 * only the rooms with members hear about it, so symbols nobody watches cost no encoding. */
static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    ticker *t = ud;
    for (size_t i = 0; i < t->n; i++) {
        stock *s = &t->stocks[i];
        double step = fmax(s->price * 0.005, 0.02) * (2 * drand48() - 1);
        s->price = fmax(round((s->price + step) * 100) / 100, 0.01);
        if (sio_namespace_room_size(t->nsp, s->room) > 0)
            emit_price(t, s);
    }
}

/* Answers an acknowledgement, when the client asked for one, with {ok: false, error}. */
static void ack_error(sio_ack *ack, const char *error)
{
    if (!ack)
        return;
    cJSON *args = cJSON_CreateArray();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToArray(args, o);
    cJSON_AddFalseToObject(o, "ok");
    cJSON_AddStringToObject(o, "error", error);
    sio_ack_send(ack, args, NULL, 0);
    cJSON_Delete(args);
}

/* The symbol named by the first argument, or NULL after answering the error. */
static stock *symbol_arg(ticker *t, const sio_args *args, sio_ack *ack)
{
    const cJSON *name = sio_args_get(args, 0);
    if (!cJSON_IsString(name)) {
        ack_error(ack, "the symbol must be a string");
        return NULL;
    }
    stock *s = find_stock(t, name->valuestring);
    if (!s)
        ack_error(ack, "unknown symbol");
    return s;
}

/* "subscribe" "apple": join the symbol's room; the ack gives the current price so the page shows it at once. */
static void on_subscribe(sio_socket *so, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    stock *s = symbol_arg(ud, args, ack);
    if (!s)
        return;
    if (sio_socket_join(so, s->room) < 0) {
        ack_error(ack, "cannot subscribe");
        return;
    }
    printf("%s subscribed to %s\n", sio_socket_id(so), s->name);
    if (ack) {
        cJSON *out = cJSON_CreateArray();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(out, o);
        cJSON_AddTrueToObject(o, "ok");
        cJSON_AddStringToObject(o, "symbol", s->name);
        cJSON_AddNumberToObject(o, "price", s->price);
        sio_ack_send(ack, out, NULL, 0);
        cJSON_Delete(out);
    }
}

static void on_unsubscribe(sio_socket *so, const char *event, const sio_args *args, sio_ack *ack, void *ud)
{
    (void)event;
    stock *s = symbol_arg(ud, args, ack);
    if (!s)
        return;
    sio_socket_leave(so, s->room);
    printf("%s unsubscribed from %s\n", sio_socket_id(so), s->name);
    if (ack) {
        cJSON *out = cJSON_CreateArray();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(out, o);
        cJSON_AddTrueToObject(o, "ok");
        sio_ack_send(ack, out, NULL, 0);
        cJSON_Delete(out);
    }
}

static void on_disconnect(sio_socket *so, const char *reason, void *ud)
{
    (void)ud;
    printf("%s left: %s\n", sio_socket_id(so), reason);
}

static void on_connection(sio_socket *so, void *ud)
{
    printf("%s connected from %s\n", sio_socket_id(so), sio_socket_address(so));
    sio_socket_on(so, "subscribe", on_subscribe, ud);
    sio_socket_on(so, "unsubscribe", on_unsubscribe, ud);
    sio_socket_on_disconnect(so, on_disconnect, NULL);
}

/* {"error": message} with extra header lines (each ending in "\r\n", or NULL). */
static int reply_error(eio_request *req, int status, const char *headers, const char *message)
{
    char head[256];
    snprintf(head, sizeof(head), "Content-Type: application/json; charset=utf-8\r\n%s", headers ? headers : "");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", message);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int rc = eio_request_respond(req, status, head, text, text ? strlen(text) : 0);
    cJSON_free(text);
    return rc;
}

/* "Authorization: Bearer <token>" with the right token. The scheme is case-insensitive (RFC 7235); the tokens
 * are compared as SHA-256 digests with CRYPTO_memcmp, so the time taken tells nothing about the token. */
static int authorized(const ticker *t, eio_request *req)
{
    const char *h = eio_request_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    unsigned char digest[32];
    if (EVP_Digest(h, strlen(h), digest, NULL, EVP_sha256(), NULL) != 1)
        return 0;
    return CRYPTO_memcmp(digest, t->token_digest, sizeof(digest)) == 0;
}

/* POST /api/price {"symbol": "apple", "price": 191.2}: another program sets a price; its room hears it. */
static void post_price(ticker *t, eio_request *req)
{
    if (strcmp(eio_request_method(req), "POST") != 0) {
        reply_error(req, 405, "Allow: POST\r\n", "method not allowed");
        return;
    }
    if (!authorized(t, req)) {
        printf("POST /api/price from %s refused: unauthorized\n", eio_request_remote_address(req));
        reply_error(req, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized");
        return;
    }
    size_t len;
    const uint8_t *body = eio_request_body(req, &len);
    cJSON *in = body ? cJSON_ParseWithLength((const char *)body, len) : NULL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "symbol");
    const cJSON *price = cJSON_GetObjectItemCaseSensitive(in, "price");
    const char *error = NULL;
    if (!cJSON_IsObject(in))
        error = "the body must be a JSON object";
    else if (!cJSON_IsString(name) || !valid_name(name->valuestring, strlen(name->valuestring)))
        error = "symbol must be a string of 1-32 characters a-z 0-9 _ -";
    else if (!cJSON_IsNumber(price) || !isfinite(price->valuedouble) || price->valuedouble <= 0)
        error = "price must be a positive number";
    int status = error ? 400 : 200;
    stock *s = error ? NULL : find_stock(t, name->valuestring);
    if (!error && !s) {
        status = 404;
        error = "unknown symbol";
    }
    if (error) {
        printf("POST /api/price from %s refused: %s\n", eio_request_remote_address(req), error);
        reply_error(req, status, NULL, error);
        cJSON_Delete(in);
        return;
    }
    s->price = price->valuedouble;
    size_t delivered = sio_namespace_room_size(t->nsp, s->room);
    emit_price(t, s);
    cJSON_Delete(in);
    printf("POST /api/price from %s: %s %.2f, delivered to %zu\n", eio_request_remote_address(req), s->name,
           s->price, delivered);

    cJSON *out = cJSON_CreateObject();
    cJSON_AddTrueToObject(out, "ok");
    cJSON_AddStringToObject(out, "symbol", s->name);
    cJSON_AddNumberToObject(out, "price", s->price);
    cJSON_AddNumberToObject(out, "delivered", (double)delivered);
    ex_respond_json(req, 200, out);
    cJSON_Delete(out);
}

/* GET /api/symbols: [{"symbol", "price"}, ...] in --symbols order, for the index page. */
static void get_symbols(ticker *t, eio_request *req)
{
    if (strcmp(eio_request_method(req), "GET") != 0) {
        reply_error(req, 405, "Allow: GET\r\n", "method not allowed");
        return;
    }
    cJSON *out = cJSON_CreateArray();
    for (size_t i = 0; i < t->n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(out, o);
        cJSON_AddStringToObject(o, "symbol", t->stocks[i].name);
        cJSON_AddNumberToObject(o, "price", t->stocks[i].price);
    }
    ex_respond_json(req, 200, out);
    cJSON_Delete(out);
}

static int on_http(eio_request *req, void *ud)
{
    const char *path = eio_request_path(req);
    if (strcmp(path, "/api/price") == 0)
        post_price(ud, req);
    else if (strcmp(path, "/api/symbols") == 0)
        get_symbols(ud, req);
    else
        return 0; /* the pages */
    return 1;
}

int main(int argc, char **argv)
{
    static ticker t; /* static: a few KiB, and zeroed */
    const char *symbols = NULL;
    const char *token = NULL;
    int tick_ms = 1000;
    ex_flag flags[] = {
        {"--symbols", EX_FLAG_STR, &symbols,
         "comma-separated symbols, each [a-z0-9_-]{1,32} with an optional :price "
         "(default microsoft,apple,google,amazon,tesla)"},
        {"--tick-ms", EX_FLAG_INT, &tick_ms, "simulator period in ms, 0 turns it off (default 1000)"},
        {"--token", EX_FLAG_STR, &token,
         "bearer token for POST /api/price (default $PRICE_TOKEN, else a random one printed at start-up)"},
    };
    ex_app app;
    int rc = ex_app_init(&app, "stocks", argc, argv, flags, sizeof(flags) / sizeof(flags[0]), NULL);
    if (rc != 0)
        return rc > 0 ? 0 : 1;

    if (symbols && parse_symbols(&t, symbols) < 0) {
        fprintf(stderr, "stocks: --symbols %s: expected names [a-z0-9_-]{1,32}, each once, at most %d, "
                        "each with an optional :price > 0\n", symbols, MAX_SYMBOLS);
        goto fail;
    }
    for (size_t i = 0; !symbols && i < sizeof(defaults) / sizeof(defaults[0]); i++)
        add_stock(&t, defaults[i].name, strlen(defaults[i].name), defaults[i].price);

    /* The route is never open: without a token given, one is made up and shown to whoever started us. */
    if (!token || !*token)
        token = getenv("PRICE_TOKEN");
    char made[33];
    if (!token || !*token) {
        unsigned char raw[16];
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            fprintf(stderr, "stocks: no random bytes for a token\n");
            goto fail;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(made + 2 * i, 3, "%02x", raw[i]);
        token = made;
        printf("price token: %s\n", token);
    }
    if (set_token(&t, token) < 0)
        goto fail;

    t.nsp = sio_of(app.io, "/");
    sio_namespace_on_connection(t.nsp, on_connection, &t);
    ex_app_set_http(&app, on_http, &t);
    srand48((long)time(NULL) ^ (long)getpid());
    if (tick_ms > 0) {
        t.tick = event_new(app.base, -1, EV_PERSIST, on_tick, &t);
        struct timeval period = {tick_ms / 1000, (tick_ms % 1000) * 1000};
        if (!t.tick || event_add(t.tick, &period) < 0)
            goto fail;
    }
    printf("stocks: %zu symbols, tick every %d ms%s\n", t.n, tick_ms, tick_ms ? "" : " (simulator off)");

    ex_app_run(&app);
    if (t.tick)
        event_free(t.tick);
    ex_app_cleanup(&app);
    return 0;

fail:
    if (t.tick)
        event_free(t.tick);
    sio_server_free(app.io);
    event_base_loop(app.base, EVLOOP_NONBLOCK); /* the server finishes freeing itself */
    ex_app_cleanup(&app);
    return 1;
}
