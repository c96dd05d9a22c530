/*
 * Compact JSON output of a cJSON tree, as JavaScript's JSON.stringify writes it. Why not cJSON_Print: cJSON
 * 1.7.15 prints numbers with 15 significant digits when that is "close enough", which changes values
 * (2^53 - 1 becomes 9.00719925474099e+15) and turns the largest doubles into infinity. Here a number is
 * written with the fewest digits (15, 16 or 17) that read back as exactly the same double.
 */
#include "sio_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
    char *buf;
    size_t len;
    size_t cap;
    int failed;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *nb = realloc(o->buf, cap);
        if (!nb) {
            o->failed = 1;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_number(out *o, double d)
{
    char tmp[32];
    if (!isfinite(d)) {
        put(o, "null", 4);
        return;
    }
    if (d == 0) {
        put(o, "0", 1); /* JSON.stringify(-0) is "0" */
        return;
    }
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    put(o, tmp, (size_t)n);
}

static void put_string(out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(o, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        const char *esc = NULL;
        char u[6];
        switch (ch) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (ch < 0x20) {
                memcpy(u, "\\u00", 4);
                u[4] = hex[ch >> 4];
                u[5] = hex[ch & 15];
                put(o, run, (size_t)(p - run));
                put(o, u, 6);
                run = p + 1;
            }
            continue;
        }
        put(o, run, (size_t)(p - run));
        put(o, esc, strlen(esc));
        run = p + 1;
    }
    put(o, run, strlen(run));
    put(o, "\"", 1);
}

/* Depth is bounded by the caller's trees: decoded ones by cJSON's nesting limit, the application's by itself. */
static void put_value(out *o, const cJSON *v)
{
    if (cJSON_IsTrue(v)) {
        put(o, "true", 4);
    } else if (cJSON_IsFalse(v)) {
        put(o, "false", 5);
    } else if (cJSON_IsNumber(v)) {
        put_number(o, v->valuedouble);
    } else if (cJSON_IsString(v)) {
        put_string(o, v->valuestring ? v->valuestring : "");
    } else if (cJSON_IsRaw(v) && v->valuestring) {
        put(o, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsArray(v)) {
        put(o, "[", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            put_value(o, c);
            if (c->next)
                put(o, ",", 1);
        }
        put(o, "]", 1);
    } else if (cJSON_IsObject(v)) {
        put(o, "{", 1);
        for (const cJSON *c = v->child; c; c = c->next) {
            put_string(o, c->string ? c->string : "");
            put(o, ":", 1);
            put_value(o, c);
            if (c->next)
                put(o, ",", 1);
        }
        put(o, "}", 1);
    } else {
        put(o, "null", 4);
    }
}

char *sio_json_print(const cJSON *v, size_t *len)
{
    out o = {0};
    put_value(&o, v);
    put(&o, "", 0);
    if (o.failed || !o.buf) {
        free(o.buf);
        return NULL;
    }
    o.buf[o.len] = '\0';
    if (len)
        *len = o.len;
    return o.buf;
}
