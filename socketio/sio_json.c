/*
 * Compact JSON output of a cJSON tree, as JavaScript's JSON.stringify writes it. Why not cJSON_Print: cJSON
 * 1.7.15 prints numbers with 15 significant digits when that is "close enough", which changes values
 * (2^53 - 1 becomes 9.00719925474099e+15) and turns the largest doubles into infinity. Here a number is
 * written with the fewest digits that read back as exactly the same double. And cJSON's parser
 * refuses unpaired surrogate escapes ("\ud800"), which JSON.parse accepts and clients do send (a string cut in
 * the middle of an emoji), and cuts strings at "\u0000".
 */
#include "sio_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jout {
    char *buf;
    size_t len;
    size_t cap;
    int failed;
} jout;

static void put(jout *o, const char *s, size_t n)
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

/* A number as JavaScript's Number.prototype.toString writes it (ECMA-262 Number::toString): the shortest digits
 * that read back as the same double, then plain notation for 1e-6 <= |d| < 1e21 and exponent notation ("1e+21",
 * "1.5e-7") outside. */
static void put_number(jout *o, double d)
{
    char tmp[40];
    if (!isfinite(d)) {
        put(o, "null", 4);
        return;
    }
    if (d == 0) {
        put(o, "0", 1); /* JSON.stringify(-0) is "0" */
        return;
    }
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        int n = snprintf(tmp, sizeof(tmp), "%.0f", d); /* integers, the common case */
        put(o, tmp, (size_t)n);
        return;
    }
    /* The shortest digits: "%.{p-1}e" for the smallest p that reads back exactly. */
    char e[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec, d);
        if (strtod(e, NULL) == d)
            break;
    }
    char digits[20];
    size_t k = 0;
    const char *p = e;
    int neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && k < sizeof(digits) - 1)
            digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0')
        k--; /* "%.2e" of 1.5 is "1.50e+00" */
    digits[k] = 0;
    int n = atoi(p + 1) + 1; /* where the decimal point goes, counted from the first digit */
    size_t w = 0;
    if (neg)
        tmp[w++] = '-';
    if ((int)k <= n && n <= 21) {
        memcpy(tmp + w, digits, k);
        w += k;
        for (int i = (int)k; i < n; i++)
            tmp[w++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(tmp + w, digits, (size_t)n);
        w += (size_t)n;
        tmp[w++] = '.';
        memcpy(tmp + w, digits + n, k - (size_t)n);
        w += k - (size_t)n;
    } else if (-6 < n && n <= 0) {
        tmp[w++] = '0';
        tmp[w++] = '.';
        for (int i = 0; i < -n; i++)
            tmp[w++] = '0';
        memcpy(tmp + w, digits, k);
        w += k;
    } else {
        tmp[w++] = digits[0];
        if (k > 1) {
            tmp[w++] = '.';
            memcpy(tmp + w, digits + 1, k - 1);
            w += k - 1;
        }
        w += (size_t)snprintf(tmp + w, sizeof(tmp) - w, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    put(o, tmp, w);
}

static void put_string(jout *o, const char *s)
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
        default: {
            /* Control characters, and the two stored forms of what UTF-8 cannot hold (see sio_json.h):
             * C0 80 is U+0000, ED A0..BF xx an unpaired surrogate. All leave as \u escapes. */
            unsigned cp;
            size_t skip;
            const unsigned char *b = (const unsigned char *)p;
            if (ch < 0x20) {
                cp = ch;
                skip = 1;
            } else if (ch == 0xc0 && b[1] == 0x80) {
                cp = 0;
                skip = 2;
            } else if (ch == 0xed && b[1] >= 0xa0 && b[1] <= 0xbf && b[2] >= 0x80 && b[2] <= 0xbf) {
                cp = 0xd000u | (unsigned)(b[1] & 0x3f) << 6 | (unsigned)(b[2] & 0x3f);
                skip = 3;
            } else {
                continue;
            }
            memcpy(u, "\\u", 2);
            u[2] = hex[(cp >> 12) & 15];
            u[3] = hex[(cp >> 8) & 15];
            u[4] = hex[(cp >> 4) & 15];
            u[5] = hex[cp & 15];
            put(o, run, (size_t)(p - run));
            put(o, u, 6);
            p += skip - 1;
            run = p + 1;
            continue;
        }
        }
        put(o, run, (size_t)(p - run));
        put(o, esc, strlen(esc));
        run = p + 1;
    }
    put(o, run, strlen(run));
    put(o, "\"", 1);
}

/* Depth is bounded by the caller's trees: decoded ones by cJSON's nesting limit, the application's by itself. */
static void put_value(jout *o, const cJSON *v)
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
    jout o = {0};
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

/* --- parsing --- */

typedef struct jin {
    const char *p;
    const char *end;
    int depth;
} jin;

static void skip_ws(jin *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int lit(jin *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return 0;
    r->p += n;
    return 1;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Appends code point cp (surrogates included, as WTF-8; U+0000 as C0 80) to buf. */
static size_t put_utf8(char *buf, unsigned cp)
{
    if (cp == 0) {
        buf[0] = (char)0xc0;
        buf[1] = (char)0x80;
        return 2;
    }
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xc0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xe0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        buf[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    buf[0] = (char)(0xf0 | (cp >> 18));
    buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    buf[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads a string token (r->p at the opening quote) into a new NUL-terminated buffer. Escapes never grow:
 * "\uXXXX" (6 bytes) gives at most 3, a surrogate pair (12) gives 4, so the raw length bounds the output. */
static char *parse_string(jin *r)
{
    const char *start = ++r->p;
    const char *q = start;
    while (q < r->end && *q != '"') {
        if ((unsigned char)*q < 0x20)
            return NULL; /* raw control characters are not JSON */
        q += (*q == '\\' && q + 1 < r->end) ? 2 : 1;
    }
    if (q >= r->end)
        return NULL;
    char *out = malloc((size_t)(q - start) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    const char *p = start;
    while (p < q) {
        if (*p != '\\') {
            out[o++] = *p++;
            continue;
        }
        char e = p[1];
        p += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            out[o++] = e;
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (q - p < 4 || !hex4(p, &cp))
                goto bad;
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && q - p >= 6 && p[0] == '\\' && p[1] == 'u' && hex4(p + 2, &lo) &&
                lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            goto bad;
        }
    }
    out[o] = '\0';
    r->p = q + 1;
    return out;
bad:
    free(out);
    return NULL;
}

static cJSON *parse_number(jin *r)
{
    const char *s = r->p, *p = s;
    if (p < r->end && *p == '-')
        p++;
    if (p >= r->end || !(*p >= '0' && *p <= '9'))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    if (p < r->end && *p == '.') {
        p++;
        if (p >= r->end || !(*p >= '0' && *p <= '9'))
            return NULL;
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < r->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= r->end || !(*p >= '0' && *p <= '9'))
            return NULL;
        while (p < r->end && *p >= '0' && *p <= '9')
            p++;
    }
    /* strtod needs a terminated copy; long digit runs are legal, so the copy is sized to the token. */
    size_t n = (size_t)(p - s);
    char small[64];
    char *tmp = n < sizeof(small) ? small : malloc(n + 1);
    if (!tmp)
        return NULL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double d = strtod(tmp, NULL);
    if (tmp != small)
        free(tmp);
    r->p = p;
    return cJSON_CreateNumber(d);
}

static cJSON *parse_value(jin *r);

static cJSON *parse_array(jin *r)
{
    cJSON *a = cJSON_CreateArray();
    if (!a)
        return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        cJSON *v = parse_value(r);
        if (!v)
            goto bad;
        cJSON_AddItemToArray(a, v);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        goto bad;
    }
bad:
    cJSON_Delete(a);
    return NULL;
}

static cJSON *parse_object(jin *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        skip_ws(r);
        if (r->p >= r->end || *r->p != '"')
            goto bad;
        char *key = parse_string(r);
        if (!key)
            goto bad;
        skip_ws(r);
        cJSON *v = NULL;
        if (r->p < r->end && *r->p == ':') {
            r->p++;
            v = parse_value(r);
        }
        if (!v) {
            free(key);
            goto bad;
        }
        /* JSON.parse keeps the last of duplicate keys. */
        if (cJSON_GetObjectItemCaseSensitive(o, key))
            cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
        else
            cJSON_AddItemToObject(o, key, v);
        free(key);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        goto bad;
    }
bad:
    cJSON_Delete(o);
    return NULL;
}

static cJSON *parse_value(jin *r)
{
    skip_ws(r);
    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{':
    case '[': {
        if (++r->depth > SIO_JSON_MAX_DEPTH)
            return NULL;
        cJSON *v = *r->p == '{' ? parse_object(r) : parse_array(r);
        r->depth--;
        return v;
    }
    case '"': {
        char *s = parse_string(r);
        if (!s)
            return NULL;
        cJSON *v = cJSON_CreateString(s);
        free(s);
        return v;
    }
    case 't':
        return lit(r, "true") ? cJSON_CreateTrue() : NULL;
    case 'f':
        return lit(r, "false") ? cJSON_CreateFalse() : NULL;
    case 'n':
        return lit(r, "null") ? cJSON_CreateNull() : NULL;
    default:
        return parse_number(r);
    }
}

cJSON *sio_json_parse(const char *s, size_t len)
{
    jin r = {s, s + len, 0};
    cJSON *v = parse_value(&r);
    if (!v)
        return NULL;
    skip_ws(&r);
    if (r.p != r.end) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}
