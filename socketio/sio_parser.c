/* Socket.IO v5 packet encoder and decoder: see sio_parser.h. Rules follow socket.io-parser 4.2. */
#include "sio_parser.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio_json.h"

void sio_packet_free(sio_packet *p)
{
    if (!p)
        return;
    free(p->nsp);
    cJSON_Delete(p->data);
    for (size_t i = 0; i < p->nreceived; i++)
        free(p->attachments[i].data);
    free(p->attachments);
    free(p);
}

static const char *const reserved_events[] = {"connect",       "connect_error", "disconnect",
                                              "disconnecting", "newListener",   "removeListener"};

int sio_event_name_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof(reserved_events) / sizeof(reserved_events[0]); i++)
        if (strcmp(name, reserved_events[i]) == 0)
            return 1;
    return 0;
}

cJSON *sio_placeholder_new(size_t index)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (!cJSON_AddTrueToObject(o, "_placeholder") || !cJSON_AddNumberToObject(o, "num", (double)index)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

long sio_placeholder_index(const cJSON *item)
{
    if (!cJSON_IsObject(item))
        return -1;
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(item, "_placeholder");
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(item, "num");
    if (!cJSON_IsTrue(ph) || !cJSON_IsNumber(num))
        return -1;
    double v = num->valuedouble;
    if (!(v >= 0 && v <= SIO_MAX_ATTACHMENTS) || v != (double)(long)v)
        return -1;
    return (long)v;
}

/*
 * Checks every placeholder-like object of a binary packet: {"_placeholder":true,...} must have an integer num
 * in [0, n). Depth is bounded by cJSON's nesting limit (1000), so the recursion is too.
 */
static int placeholders_valid(const cJSON *item, size_t n)
{
    if (cJSON_IsObject(item)) {
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(item, "_placeholder");
        if (cJSON_IsTrue(ph)) {
            long idx = sio_placeholder_index(item);
            if (idx < 0 || (size_t)idx >= n)
                return 0;
            /* and whatever else it holds is checked too: nothing placeholder-like may point out of range */
        }
    }
    if (cJSON_IsObject(item) || cJSON_IsArray(item))
        for (const cJSON *c = item->child; c; c = c->next)
            if (!placeholders_valid(c, n))
                return 0;
    return 1;
}

static int payload_valid(int type, const cJSON *data)
{
    switch (type) {
    case SIO_PACKET_CONNECT:
        return !data || cJSON_IsObject(data);
    case SIO_PACKET_DISCONNECT:
        return !data;
    case SIO_PACKET_CONNECT_ERROR:
        return data && (cJSON_IsObject(data) || cJSON_IsString(data));
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT: {
        if (!data) /* socket.io-parser checks only a payload that is there; the server ignores such events.
                    * A binary event without data announces attachments for nothing: refused [C]. */
            return type == SIO_PACKET_EVENT;
        if (!cJSON_IsArray(data) || !data->child)
            return 0;
        const cJSON *name = data->child;
        return (cJSON_IsNumber(name) && isfinite(name->valuedouble)) ||
               (cJSON_IsString(name) && !sio_event_name_reserved(name->valuestring));
    }
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
        return !data || cJSON_IsArray(data);
    default:
        return 0;
    }
}


int sio_packet_decode(const char *s, size_t len, sio_packet **out)
{
    *out = NULL;
    if (len == 0 || s[0] < '0' || s[0] > '6')
        return SIO_PARSER_EPARSE;
    sio_packet *p = calloc(1, sizeof(*p));
    if (!p)
        return SIO_PARSER_ENOMEM;
    p->type = s[0] - '0';
    p->id = -1;
    size_t i = 1;
    int binary = p->type == SIO_PACKET_BINARY_EVENT || p->type == SIO_PACKET_BINARY_ACK;
    if (binary) {
        /* [1-9][0-9]? then '-', at most SIO_MAX_ATTACHMENTS. */
        size_t n = 0, digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
            if (digits == 0 && s[i] == '0')
                goto invalid;
            n = n * 10 + (size_t)(s[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || i >= len || s[i] != '-' || n > SIO_MAX_ATTACHMENTS)
            goto invalid;
        i++;
        p->nattachments = n;
    }
    size_t nsp_start = i, nsp_len = 0;
    if (i < len && s[i] == '/') {
        while (i < len && s[i] != ',')
            i++;
        nsp_len = i - nsp_start;
        if (nsp_len > SIO_MAX_NSP_LEN || memchr(s + nsp_start, '\0', nsp_len))
            goto invalid;
        if (i < len)
            i++; /* the comma */
    }
    p->nsp = nsp_len ? strndup(s + nsp_start, nsp_len) : strdup("/");
    if (!p->nsp)
        goto nomem;
    if (i < len && s[i] >= '0' && s[i] <= '9') {
        int64_t id = 0;
        size_t digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (++digits > 16)
                goto invalid;
            id = id * 10 + (s[i] - '0');
            i++;
        }
        if (id > SIO_MAX_ACK_ID)
            goto invalid;
        p->id = id;
    }
    if (i < len && !(p->data = sio_json_parse(s + i, len - i)))
        goto invalid;
    if (!payload_valid(p->type, p->data))
        goto invalid;
    if (binary && !placeholders_valid(p->data, p->nattachments))
        goto invalid;
    if (binary) {
        p->attachments = calloc(p->nattachments, sizeof(*p->attachments));
        if (!p->attachments)
            goto nomem;
    }
    *out = p;
    return 0;
invalid:
    sio_packet_free(p);
    return SIO_PARSER_EPARSE;
nomem:
    sio_packet_free(p);
    return SIO_PARSER_ENOMEM;
}

void sio_decoder_init(sio_decoder *d)
{
    d->pending = NULL;
}

void sio_decoder_cleanup(sio_decoder *d)
{
    sio_packet_free(d->pending);
    d->pending = NULL;
}

int sio_decoder_add_text(sio_decoder *d, const char *s, size_t len, sio_packet **out)
{
    *out = NULL;
    if (d->pending)
        return SIO_PARSER_EPARSE;
    sio_packet *p;
    int rc = sio_packet_decode(s, len, &p);
    if (rc < 0)
        return rc;
    if (p->nattachments) {
        d->pending = p;
        return 0;
    }
    *out = p;
    return 1;
}

int sio_decoder_add_binary(sio_decoder *d, const uint8_t *data, size_t len, sio_packet **out)
{
    *out = NULL;
    sio_packet *p = d->pending;
    if (!p)
        return SIO_PARSER_EPARSE;
    sio_attachment *a = &p->attachments[p->nreceived];
    if (len) {
        a->data = malloc(len);
        if (!a->data)
            return SIO_PARSER_ENOMEM;
        memcpy(a->data, data, len);
    }
    a->len = len;
    p->nreceived++;
    if (p->nreceived < p->nattachments)
        return 0;
    d->pending = NULL;
    *out = p;
    return 1;
}

long sio_packet_encode(const sio_packet *p, char **out)
{
    *out = NULL;
    char *json = NULL;
    if (p->data && !(json = sio_json_print(p->data, NULL)))
        return SIO_PARSER_ENOMEM;
    const char *nsp = p->nsp && strcmp(p->nsp, "/") != 0 ? p->nsp : NULL;
    char head[64];
    int h = snprintf(head, sizeof(head), "%d", p->type);
    if (p->type == SIO_PACKET_BINARY_EVENT || p->type == SIO_PACKET_BINARY_ACK)
        h += snprintf(head + h, sizeof(head) - (size_t)h, "%zu-", p->nattachments);
    char idbuf[24] = "";
    if (p->id >= 0)
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)p->id);
    size_t nlen = nsp ? strlen(nsp) : 0;
    size_t jlen = json ? strlen(json) : 0;
    size_t total = (size_t)h + (nsp ? nlen + 1 : 0) + strlen(idbuf) + jlen;
    char *s = malloc(total + 1);
    if (!s) {
        free(json);
        return SIO_PARSER_ENOMEM;
    }
    size_t o = 0;
    memcpy(s + o, head, (size_t)h);
    o += (size_t)h;
    if (nsp) {
        memcpy(s + o, nsp, nlen);
        o += nlen;
        s[o++] = ',';
    }
    memcpy(s + o, idbuf, strlen(idbuf));
    o += strlen(idbuf);
    if (json)
        memcpy(s + o, json, jlen);
    o += jlen;
    s[o] = '\0';
    free(json);
    *out = s;
    return (long)o;
}
