/*
 * libFuzzer harness for the msgpack codec (rooms/sio_msgpack.h).
 *
 * The input is one message, decoded from a heap copy of exactly its length (ASan catches a read past the
 * end). When it decodes, the result is checked against the header's contract (nesting, attachments numbered
 * from atts->n in depth-first order, strings in our internal form, finite numbers), the attachment limit is
 * checked one below what was found, decoding without a sio_mp_atts must succeed exactly when there was no
 * binary, every strict prefix of a short message must be refused, and the value is written back with
 * sio_mp_json and decoded again: the same JSON (numbers compared exactly) and the same attachments, and
 * writing that gives the same bytes again.
 *
 * One ambiguity is inherent in socket.io's placeholders: a map that merely looks like one
 * ({"_placeholder":true,"num":0} sent as a map) is written back as a bin when its num is in range, as
 * socket.io-parser would take it. Such inputs (recognised as more in-range placeholders than attachments) only
 * get the checks that hold anyway: writing succeeds and the bytes decode.
 */
#include "rooms/sio_msgpack.h"
#include "test/common/json_same.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                           \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);                     \
            abort();                                                                                          \
        }                                                                                                     \
    } while (0)

#define MAX_ATTS 1000
#define PREFIX_MAX 256 /* messages up to this long are also decoded at every strict prefix */

static uint8_t *dup_exact(const void *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (!q)
        abort();
    if (n)
        memcpy(q, p, n);
    return q;
}

static cJSON *decode_exact(const uint8_t *p, size_t n, sio_mp_atts *atts, size_t max_atts)
{
    uint8_t *copy = dup_exact(p, n);
    cJSON *v = sio_mp_decode(copy, n, atts, max_atts);
    free(copy);
    return v;
}

/* s is in our internal form: UTF-8 without NUL bytes and without surrogates (a decoded string never holds
 * the WTF-8 ones: the wire's ED A0..BF is invalid UTF-8, read as U+FFFD). */
static int internal_utf8(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s;
        size_t need;
        unsigned lo = 0x80, hi = 0xbf;
        if (c < 0x80) {
            s++;
            continue;
        }
        if (c == 0xc0) { /* only as C0 80, our NUL */
            if (s[1] != 0x80)
                return 0;
            s += 2;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            need = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        } else
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if (s[k] < lo || s[k] > hi)
                return 0;
            lo = 0x80;
            hi = 0xbf;
        }
        s += need + 1;
    }
    return 1;
}

/* What sio_mp_json takes for a placeholder (the header's rule), or -1. */
static long placeholder_num(const cJSON *o, size_t nbufs)
{
    if (!cJSON_IsObject(o) || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "_placeholder")))
        return -1;
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "num");
    if (!cJSON_IsNumber(num) || !(num->valuedouble >= 0 && num->valuedouble < (double)nbufs) ||
        num->valuedouble != floor(num->valuedouble))
        return -1;
    return (long)num->valuedouble;
}

typedef struct walk {
    size_t nbufs;     /* attachments of the message */
    size_t first;     /* atts->n before the decode */
    size_t seen;      /* in-range placeholders met so far */
    int canonical;    /* the i-th of them has num first + i */
} walk;

/* Checks the contract on every item and collects the placeholders in depth-first order. Returns the depth. */
static size_t check_tree(const cJSON *v, walk *w)
{
    CHECK(v->type == cJSON_NULL || v->type == cJSON_False || v->type == cJSON_True || v->type == cJSON_Number ||
          v->type == cJSON_String || v->type == cJSON_Array || v->type == cJSON_Object);
    if (cJSON_IsNumber(v))
        CHECK(isfinite(v->valuedouble));
    if (cJSON_IsString(v))
        CHECK(v->valuestring && internal_utf8(v->valuestring));
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return 0;
    long num = placeholder_num(v, w->first + w->nbufs);
    if (num >= 0) {
        if ((size_t)num != w->first + w->seen)
            w->canonical = 0;
        w->seen++;
    }
    size_t max = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (cJSON_IsObject(v)) {
            CHECK(c->string && internal_utf8(c->string));
            CHECK(strcmp(c->string, "__proto__") != 0);
            for (const cJSON *d = c->next; d; d = d->next) /* keys are unique */
                CHECK(strcmp(c->string, d->string) != 0);
        }
        size_t d = check_tree(c, w);
        if (d > max)
            max = d;
    }
    return max + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One attachment already there: numbering must start after it. */
    sio_mp_atts atts = SIO_MP_ATTS_INIT;
    static const uint8_t pre[] = {0xc4, 0x01, 0xee};
    cJSON *prev = sio_mp_decode(pre, sizeof(pre), &atts, 1);
    CHECK(prev && atts.n == 1);
    cJSON_Delete(prev);

    cJSON *v = decode_exact(data, size, &atts, MAX_ATTS);
    if (!v) {
        CHECK(atts.n == 1);
        /* no attachment limit makes a refused message decode, nor does leaving out sio_mp_atts */
        cJSON *w = decode_exact(data, size, NULL, 0);
        CHECK(w == NULL);
        sio_mp_atts_cleanup(&atts);
        return 0;
    }
    size_t n = atts.n - 1;
    CHECK(n <= MAX_ATTS && n <= size);
    walk w = {n, 1, 0, 1};
    size_t depth = check_tree(v, &w);
    CHECK(depth <= SIO_MP_DECODE_MAX_DEPTH + 1); /* + 1: a bin at the deepest level is a placeholder object */
    CHECK(w.seen >= n);
    int canonical = w.canonical && w.seen == n;

    /* Limits and the NULL sio_mp_atts. */
    if (n > 0) {
        cJSON *x = decode_exact(data, size, &atts, n - 1);
        CHECK(x == NULL && atts.n == n + 1);
    }
    cJSON *plain = decode_exact(data, size, NULL, 0);
    CHECK((plain != NULL) == (n == 0));
    if (plain) {
        CHECK(th_json_same(v, plain, 0));
        cJSON_Delete(plain);
    }
    if (size <= PREFIX_MAX)
        for (size_t k = 0; k < size; k++) {
            cJSON *x = decode_exact(data, k, &atts, MAX_ATTS);
            CHECK(x == NULL && atts.n == n + 1);
        }

    /* Written back and read again. The placeholders of v count from 1 (the attachment that was there). */
    sio_mp_buf b1 = SIO_MP_BUF_INIT, b2 = SIO_MP_BUF_INIT;
    CHECK(sio_mp_json(&b1, v, atts.v, atts.n) == 0);
    sio_mp_atts atts2 = SIO_MP_ATTS_INIT;
    cJSON *v2 = decode_exact(b1.data, b1.len, &atts2, MAX_ATTS * 2);
    CHECK(v2 != NULL);
    if (canonical) {
        /* v2's placeholders count from 0, v's from 1. */
        CHECK(atts2.n == n);
        for (size_t i = 0; i < n; i++) {
            CHECK(atts2.v[i].len == atts.v[1 + i].len);
            CHECK(atts2.v[i].len == 0 || memcmp(atts2.v[i].data, atts.v[1 + i].data, atts2.v[i].len) == 0);
        }
        CHECK(sio_mp_json(&b2, v2, atts2.v, atts2.n) == 0);
        CHECK(b1.len == b2.len && (b1.len == 0 || memcmp(b1.data, b2.data, b1.len) == 0));
        /* the same JSON once the numbering is the same: decode b1 after one attachment, as v was */
        sio_mp_atts atts3 = SIO_MP_ATTS_INIT;
        cJSON *p3 = sio_mp_decode(pre, sizeof(pre), &atts3, 1);
        CHECK(p3);
        cJSON_Delete(p3);
        cJSON *v3 = decode_exact(b1.data, b1.len, &atts3, MAX_ATTS);
        CHECK(v3 && th_json_same(v, v3, 0));
        CHECK(atts3.n == n + 1);
        cJSON_Delete(v3);
        sio_mp_atts_cleanup(&atts3);
    }
    cJSON_Delete(v2);
    sio_mp_atts_cleanup(&atts2);
    sio_mp_buf_cleanup(&b1);
    sio_mp_buf_cleanup(&b2);
    cJSON_Delete(v);
    sio_mp_atts_cleanup(&atts);
    return 0;
}
