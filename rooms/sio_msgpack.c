/*
 * MessagePack to and from cJSON as notepack.io writes and reads it (see sio_msgpack.h for the contract).
 * msgpack-c packs (msgpack_packer writing into sio_mp_buf) and unpacks (msgpack_unpack_next); this file adds
 * what msgpack-c does not know: notepack's ext conventions, JavaScript's view of the values, attachments, and
 * a validating pre-scan that keeps hostile lengths away from msgpack-c's allocator.
 */
#include "sio_msgpack.h"

#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sio_mp_strerror(int code)
{
    switch (code) {
    case SIO_MP_OK:
        return "success";
    case SIO_MP_ENOMEM:
        return "out of memory";
    case SIO_MP_EINVAL:
        return "value not representable in msgpack";
    default:
        return "unknown error";
    }
}

/* ------------------------------------------------------------------------------------------------------------
 * Output buffer
 */

void sio_mp_buf_cleanup(sio_mp_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Makes room for n more bytes. */
static int buf_reserve(sio_mp_buf *b, size_t n)
{
    if (n <= b->cap - b->len)
        return 0;
    if (n > SIZE_MAX / 2 - b->len)
        return SIO_MP_ENOMEM;
    size_t need = b->len + n;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return SIO_MP_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* msgpack_packer's write callback: any nonzero return is passed back by the msgpack_pack_* function. */
static int buf_write_cb(void *data, const char *p, size_t n)
{
    sio_mp_buf *b = data;
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) != 0)
        return SIO_MP_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* ------------------------------------------------------------------------------------------------------------
 * Strings. Our cJSON strings keep NUL as C0 80 and unpaired surrogates as WTF-8 (sio_json.h); the wire has
 * plain UTF-8. Both directions run WHATWG's UTF-8 decoder (what Node's buffer.toString("utf8") does): a valid
 * sequence is copied, each maximal invalid subpart becomes U+FFFD. Towards the wire, C0 80 becomes 00 and a
 * WTF-8 surrogate one U+FFFD (as Buffer.from(string) writes a lone surrogate); from the wire, 00 becomes C0 80.
 * The output is at most 3 times the input (one invalid byte gives EF BF BD).
 */

static int utf8_plain(const uint8_t *s, size_t n, int to_wire)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80 || (s[i] == 0 && !to_wire))
            return 0;
    return 1;
}

/* Converts s[0..n), writing to out when it is not NULL; returns the length of the result. */
static size_t utf8_convert(const uint8_t *s, size_t n, uint8_t *out, int to_wire)
{
    static const uint8_t fffd[3] = {0xef, 0xbf, 0xbd};
    size_t o = 0, i = 0;
#define EMIT(p, k)                                                                                            \
    do {                                                                                                      \
        if (out)                                                                                              \
            memcpy(out + o, (p), (k));                                                                        \
        o += (k);                                                                                             \
    } while (0)
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c == 0 && !to_wire) {
                static const uint8_t nul[2] = {0xc0, 0x80};
                EMIT(nul, 2);
            } else {
                EMIT(&c, 1);
            }
            i++;
            continue;
        }
        if (to_wire && c == 0xc0 && i + 1 < n && s[i + 1] == 0x80) {
            static const uint8_t zero = 0;
            EMIT(&zero, 1);
            i += 2;
            continue;
        }
        if (to_wire && c == 0xed && i + 2 < n && s[i + 1] >= 0xa0 && s[i + 1] <= 0xbf && s[i + 2] >= 0x80 &&
            s[i + 2] <= 0xbf) {
            EMIT(fffd, 3);
            i += 3;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xbf; /* bounds of the first continuation byte */
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            EMIT(fffd, 3);
            i++;
            continue;
        }
        size_t j = i + 1, k = 0;
        while (k < need && j < n && s[j] >= lo && s[j] <= hi) {
            j++;
            k++;
            lo = 0x80;
            hi = 0xbf;
        }
        if (k == need)
            EMIT(s + i, j - i);
        else
            EMIT(fffd, 3); /* the byte that failed starts the next sequence */
        i = j;
    }
#undef EMIT
    return o;
}

/* Writes a str of s[0..n) converted to wire UTF-8. */
static int put_str(msgpack_packer *pk, sio_mp_buf *b, const uint8_t *s, size_t n)
{
    if (utf8_plain(s, n, 1)) {
        if (n > UINT32_MAX)
            return SIO_MP_EINVAL;
        int rc = msgpack_pack_str(pk, n);
        return rc ? rc : msgpack_pack_str_body(pk, s, n);
    }
    size_t m = utf8_convert(s, n, NULL, 1);
    if (m > UINT32_MAX)
        return SIO_MP_EINVAL;
    int rc = msgpack_pack_str(pk, m);
    if (rc == 0)
        rc = buf_reserve(b, m);
    if (rc)
        return rc;
    utf8_convert(s, n, b->data + b->len, 1);
    b->len += m;
    return 0;
}

/* ------------------------------------------------------------------------------------------------------------
 * Writers. Each keeps b as it was when it fails (msgpack_pack_* may have written part of an item).
 */

#define WRITER_BEGIN                                                                                          \
    if (!b)                                                                                                   \
        return SIO_MP_EINVAL;                                                                                 \
    size_t start_len = b->len;                                                                                \
    msgpack_packer pk;                                                                                        \
    msgpack_packer_init(&pk, b, buf_write_cb);                                                                \
    int rc

#define WRITER_END                                                                                            \
    if (rc) {                                                                                                 \
        b->len = start_len;                                                                                   \
        return rc < 0 ? rc : SIO_MP_ENOMEM;                                                                   \
    }                                                                                                         \
    return 0

int sio_mp_array(sio_mp_buf *b, size_t n)
{
    WRITER_BEGIN;
    rc = n > UINT32_MAX ? SIO_MP_EINVAL : msgpack_pack_array(&pk, n);
    WRITER_END;
}

int sio_mp_map(sio_mp_buf *b, size_t n)
{
    WRITER_BEGIN;
    rc = n > UINT32_MAX ? SIO_MP_EINVAL : msgpack_pack_map(&pk, n);
    WRITER_END;
}

int sio_mp_str(sio_mp_buf *b, const char *s, size_t len)
{
    WRITER_BEGIN;
    rc = !s && len ? SIO_MP_EINVAL : put_str(&pk, b, (const uint8_t *)(s ? s : ""), len);
    WRITER_END;
}

int sio_mp_int(sio_mp_buf *b, int64_t v)
{
    WRITER_BEGIN;
    rc = msgpack_pack_int64(&pk, v);
    WRITER_END;
}

int sio_mp_bool(sio_mp_buf *b, int v)
{
    WRITER_BEGIN;
    rc = v ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    WRITER_END;
}

int sio_mp_nil(sio_mp_buf *b)
{
    WRITER_BEGIN;
    rc = msgpack_pack_nil(&pk);
    WRITER_END;
}

int sio_mp_bin(sio_mp_buf *b, const uint8_t *data, size_t len)
{
    WRITER_BEGIN;
    if (len > UINT32_MAX || (!data && len))
        rc = SIO_MP_EINVAL;
    else if ((rc = msgpack_pack_bin(&pk, len)) == 0)
        rc = msgpack_pack_bin_body(&pk, data, len);
    WRITER_END;
}

/* The attachment an object stands for, as socket.io-parser's reconstructPacket decides (_placeholder === true,
 * num a number in range; we also want an integer), or SIZE_MAX when it is a plain object. */
static size_t placeholder_num(const cJSON *o, size_t nbufs)
{
    if (nbufs == 0 || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "_placeholder")))
        return SIZE_MAX;
    const cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "num");
    if (!cJSON_IsNumber(num))
        return SIZE_MAX;
    double d = num->valuedouble;
    if (!(d >= 0 && d < (double)nbufs) || d != floor(d))
        return SIZE_MAX;
    return (size_t)d;
}

/* notepack writes an integral number as an integer in the smallest form (its uint64 and int64 branches are
 * right up to 2^64 and down to -2^63), anything else as float64. msgpack-c chooses the same forms. */
static int put_number(msgpack_packer *pk, double d)
{
    if (isfinite(d) && d == floor(d)) {
        if (d >= 0 && d < 18446744073709551616.0)
            return msgpack_pack_uint64(pk, (uint64_t)d); /* -0 too: notepack writes 00 */
        if (d < 0 && d >= -9223372036854775808.0)
            return msgpack_pack_int64(pk, (int64_t)d);
    }
    if (isnan(d))
        d = NAN; /* the bytes Buffer.writeDoubleBE writes for NaN: 7ff8000000000000 */
    return msgpack_pack_double(pk, d);
}

static int put_json(msgpack_packer *pk, sio_mp_buf *b, const cJSON *v, const sio_attachment_ref *bufs,
                    size_t nbufs, int depth)
{
    int rc;
    if (cJSON_IsFalse(v))
        return msgpack_pack_false(pk);
    if (cJSON_IsTrue(v))
        return msgpack_pack_true(pk);
    if (cJSON_IsNull(v))
        return msgpack_pack_nil(pk);
    if (cJSON_IsNumber(v))
        return put_number(pk, v->valuedouble);
    if (cJSON_IsString(v))
        return v->valuestring ? put_str(pk, b, (const uint8_t *)v->valuestring, strlen(v->valuestring))
                              : SIO_MP_EINVAL;
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return SIO_MP_EINVAL; /* Raw, Invalid */
    if (depth >= SIO_MP_ENCODE_MAX_DEPTH)
        return SIO_MP_EINVAL;
    if (cJSON_IsObject(v)) {
        size_t i = placeholder_num(v, nbufs);
        if (i != SIZE_MAX) {
            if (bufs[i].len > UINT32_MAX || (!bufs[i].data && bufs[i].len))
                return SIO_MP_EINVAL;
            rc = msgpack_pack_bin(pk, bufs[i].len);
            return rc ? rc : msgpack_pack_bin_body(pk, bufs[i].data, bufs[i].len);
        }
    }
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    if (n > UINT32_MAX)
        return SIO_MP_EINVAL;
    rc = cJSON_IsArray(v) ? msgpack_pack_array(pk, n) : msgpack_pack_map(pk, n);
    for (const cJSON *c = v->child; c && rc == 0; c = c->next) {
        if (cJSON_IsObject(v)) {
            if (!c->string)
                return SIO_MP_EINVAL;
            rc = put_str(pk, b, (const uint8_t *)c->string, strlen(c->string));
            if (rc)
                break;
        }
        rc = put_json(pk, b, c, bufs, nbufs, depth + 1);
    }
    return rc;
}

int sio_mp_json(sio_mp_buf *b, const cJSON *v, const sio_attachment_ref *bufs, size_t nbufs)
{
    WRITER_BEGIN;
    if (!v || (!bufs && nbufs))
        rc = SIO_MP_EINVAL;
    else
        rc = put_json(&pk, b, v, bufs, nbufs, 0);
    WRITER_END;
}

/* ------------------------------------------------------------------------------------------------------------
 * Decoding.
 *
 * msgpack-c's unpacker allocates an array's or map's elements as soon as it reads the header, without
 * comparing the count with the bytes left: "dd 20 00 00 00" (2^29 elements) in a 6-byte input makes it ask its
 * zone for 2^29 * 24 bytes (12 GiB, which Linux's overcommit grants), and only 2^30 and above fail, with
 * MSGPACK_UNPACK_NOMEM_ERROR. So a pre-scan of our own walks the input first, allocating nothing: every length
 * must fit in the bytes left, every count too (an element takes at least one byte), nesting stays within the
 * limit, and the value ends exactly at len. msgpack-c then sees only inputs whose allocations are bounded by
 * len (at most one 24-byte msgpack_object per input byte).
 */

static uint64_t be_read(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Whether notepack gives [type, Buffer] for an ext of this format and type byte (see convert_ext). */
static int ext_is_array(uint8_t format, uint8_t type)
{
    if (type == 0x00) /* ArrayBuffer, undefined, old date, or [0, Buffer] from fixext 2, 4 and 16 */
        return format == 0xd5 || format == 0xd6 || format == 0xd8;
    if (type == 0xff) /* timestamps, or [-1, Buffer] from the other formats */
        return format != 0xd6 && format != 0xd7 && format != 0xc7;
    return 1;
}

static int prescan(const uint8_t *p, size_t len)
{
    uint64_t left[SIO_MP_DECODE_MAX_DEPTH]; /* items still due in each open container */
    size_t top = 0, pos = 0;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t c = p[pos++];
        size_t lenbytes = 0; /* size of a length field that follows */
        uint64_t body = 0;   /* payload bytes */
        int kind = 0;        /* 0: payload of `body` (or of the length read), 1 array, 2 map, 3 ext */
        if (c <= 0x7f || c >= 0xe0) {
            /* fixint */
        } else if (c <= 0x8f) {
            kind = 2;
            body = c & 0x0f;
        } else if (c <= 0x9f) {
            kind = 1;
            body = c & 0x0f;
        } else if (c <= 0xbf) {
            body = c & 0x1f;
        } else {
            switch (c) {
            case 0xc0: case 0xc2: case 0xc3: break;
            case 0xc4: case 0xd9: lenbytes = 1; break;
            case 0xc5: case 0xda: lenbytes = 2; break;
            case 0xc6: case 0xdb: lenbytes = 4; break;
            case 0xc7: lenbytes = 1; kind = 3; break;
            case 0xc8: lenbytes = 2; kind = 3; break;
            case 0xc9: lenbytes = 4; kind = 3; break;
            case 0xca: body = 4; break;
            case 0xcb: body = 8; break;
            case 0xcc: case 0xd0: body = 1; break;
            case 0xcd: case 0xd1: body = 2; break;
            case 0xce: case 0xd2: body = 4; break;
            case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 1; kind = 3; break;
            case 0xd5: body = 2; kind = 3; break;
            case 0xd6: body = 4; kind = 3; break;
            case 0xd7: body = 8; kind = 3; break;
            case 0xd8: body = 16; kind = 3; break;
            case 0xdc: lenbytes = 2; kind = 1; break;
            case 0xdd: lenbytes = 4; kind = 1; break;
            case 0xde: lenbytes = 2; kind = 2; break;
            case 0xdf: lenbytes = 4; kind = 2; break;
            default: return -1; /* 0xc1, never used */
            }
        }
        if (lenbytes) {
            if (len - pos < lenbytes)
                return -1;
            body = be_read(p + pos, lenbytes);
            pos += lenbytes;
        }
        if (kind == 0 || kind == 3) {
            if (kind == 3)
                body += 1; /* the type byte */
            if (body > len - pos)
                return -1;
            /* notepack reads 12 bytes for any ext 8 of type -1 (a 96-bit timestamp) whatever its length */
            if (c == 0xc7 && p[pos] == 0xff && body != 13)
                return -1;
            /* An ext that becomes [type, bytes] is one more level: counting it keeps what we write back
             * (an array) within the limit too. */
            if (kind == 3 && ext_is_array(c, p[pos]) && top == SIO_MP_DECODE_MAX_DEPTH)
                return -1;
            pos += (size_t)body;
        } else {
            uint64_t items = kind == 2 ? body * 2 : body;
            if (top == SIO_MP_DECODE_MAX_DEPTH || items > len - pos)
                return -1;
            if (items > 0) {
                left[top++] = items;
                continue;
            }
        }
        /* A value is complete: so may be the containers it ends. */
        for (;;) {
            if (top == 0)
                return pos == len ? 0 : -1;
            if (--left[top - 1] > 0)
                break;
            top--;
        }
    }
}

typedef struct dec {
    const uint8_t *data; /* the input, which msgpack-c's str, bin and ext objects point into */
    size_t len;
} dec;

/*
 * A binary value is first a marker item (Raw, flagged as reference so that cJSON_Delete leaves the pointer
 * alone) that points into the input; after the tree is complete (duplicate keys replaced, "__proto__" and
 * undefined left out) number_atts turns the markers that remain into placeholders, numbered in the tree's
 * order, and copies their bytes.
 */
#define MARKER_TYPE (cJSON_Raw | cJSON_IsReference)

static cJSON *marker_new(const void *p, size_t n)
{
    cJSON *m = cJSON_CreateNull();
    if (!m)
        return NULL;
    m->type = MARKER_TYPE;
    m->valuestring = (char *)(uintptr_t)p;
    m->valuedouble = (double)n;
    return m;
}

/* An item for notepack's undefined: removed from maps once they are complete, null in arrays. */
static cJSON *undefined_new(void)
{
    cJSON *u = cJSON_CreateNull();
    if (u)
        u->type = cJSON_Invalid;
    return u;
}

/* A new string (cJSON_malloc) holding the internal form of the wire bytes s[0..n). */
static char *string_dup(const uint8_t *s, size_t n)
{
    int plain = utf8_plain(s, n, 0);
    size_t m = plain ? n : utf8_convert(s, n, NULL, 0);
    char *out = cJSON_malloc(m + 1);
    if (!out)
        return NULL;
    if (!plain)
        utf8_convert(s, n, (uint8_t *)out, 0);
    else if (n) /* msgpack-c gives an empty str a NULL pointer */
        memcpy(out, s, n);
    out[m] = '\0';
    return out;
}

static cJSON *string_new(const uint8_t *s, size_t n)
{
    char *str = string_dup(s, n);
    if (!str)
        return NULL;
    cJSON *it = cJSON_CreateNull();
    if (!it) {
        cJSON_free(str);
        return NULL;
    }
    it->type = cJSON_String;
    it->valuestring = str;
    return it;
}

/* Date.prototype.toJSON of new Date(t): the ISO string, or null for an invalid date. */
static cJSON *date_new(double t)
{
    if (!isfinite(t) || fabs(t) > 8.64e15) /* TimeClip */
        return cJSON_CreateNull();
    int64_t ms = (int64_t)trunc(t);
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    /* civil_from_days, from Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms" */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int day = (int)(doy - (153 * mp + 2) / 5 + 1);
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t year = yoe + era * 400 + (month <= 2);
    char buf[48];
    int y = (int)year;
    int hh = (int)(rem / 3600000), mm = (int)(rem / 60000 % 60), ss = (int)(rem / 1000 % 60),
        mss = (int)(rem % 1000);
    if (y >= 0 && y <= 9999)
        snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, month, day, hh, mm, ss, mss);
    else
        snprintf(buf, sizeof(buf), "%c%06d-%02d-%02dT%02d:%02d:%02d.%03dZ", y < 0 ? '-' : '+', y < 0 ? -y : y,
                 month, day, hh, mm, ss, mss);
    return cJSON_CreateString(buf);
}

/* JavaScript's String(n) for an integer n of int64 or uint64 (the double it rounds to, beyond 2^53). */
static char *int_key(const msgpack_object *o)
{
    char buf[48];
    int neg = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    if (neg ? o->via.i64 > -9007199254740992 : o->via.u64 < 9007199254740992u) {
        if (neg)
            snprintf(buf, sizeof(buf), "%" PRId64, o->via.i64);
        else
            snprintf(buf, sizeof(buf), "%" PRIu64, o->via.u64);
    } else {
        /* The shortest digits that read back as the same double, then zeros up to the units: below 1e21
         * JavaScript writes integers in full ("18446744073709552000"). */
        double d = neg ? (double)o->via.i64 : (double)o->via.u64;
        char tmp[40];
        for (int prec = 0; prec <= 16; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        char digits[24];
        size_t nd = 0;
        const char *q = tmp;
        if (*q == '-')
            q++;
        for (; *q && *q != 'e'; q++)
            if (*q >= '0' && *q <= '9' && nd < sizeof(digits))
                digits[nd++] = *q;
        long exp10 = *q == 'e' ? strtol(q + 1, NULL, 10) : 0;
        if (exp10 < 15 || exp10 > 20 || (size_t)exp10 + 1 < nd)
            return NULL; /* cannot happen for |d| in [2^53, 2^64] */
        size_t o2 = 0;
        if (neg)
            buf[o2++] = '-';
        for (size_t i = 0; i < (size_t)exp10 + 1; i++)
            buf[o2++] = i < nd ? digits[i] : '0';
        buf[o2] = '\0';
    }
    size_t n = strlen(buf);
    char *k = cJSON_malloc(n + 1);
    if (k)
        memcpy(k, buf, n + 1);
    return k;
}

static cJSON *convert(const dec *d, const msgpack_object *o);

/* notepack's ext conventions. The format that carried an ext matters (fixext 1 of type 0 is undefined, ext 8
 * of type 0 and one byte is an ArrayBuffer) but msgpack-c's object does not keep it. msgpack_unpack_next copies
 * nothing, so ptr points at the payload in our input and the header bytes just before it tell: a fixext's
 * prefix (d4..d8 for sizes 1..16) sits two bytes before the payload, where any other format has the low byte
 * of its length (the size itself, at most 16 here, so never d4..d8); ext 8 has c7 three bytes before, where
 * ext 16 and ext 32 have a byte of a length that would then be at least 0xc700. */
static cJSON *convert_ext(const dec *d, const msgpack_object_ext *e)
{
    const uint8_t *p = (const uint8_t *)e->ptr;
    if (p < d->data || p > d->data + d->len || e->size > (size_t)(d->data + d->len - p))
        return NULL;
    size_t off = (size_t)(p - d->data), n = e->size;
    static const uint8_t fix_prefix[17] = {[1] = 0xd4, [2] = 0xd5, [4] = 0xd6, [8] = 0xd7, [16] = 0xd8};
    int fixext = n <= 16 && fix_prefix[n] && off >= 2 && d->data[off - 2] == fix_prefix[n];
    int ext8 = !fixext && off >= 3 && d->data[off - 3] == 0xc7 && d->data[off - 2] == n;
    if (e->type == 0 && !fixext)
        return marker_new(p, n); /* ArrayBuffer */
    if (e->type == 0 && fixext && n == 1)
        return undefined_new();
    if (e->type == 0 && fixext && n == 8) { /* notepack's old date: milliseconds as int64 */
        double hi = (double)(int32_t)(uint32_t)be_read(p, 4) * 4294967296.0;
        double lo = (double)be_read(p + 4, 4);
        return date_new(hi + lo);
    }
    if (e->type == -1 && fixext && n == 4)
        return date_new((double)be_read(p, 4) * 1e3);
    if (e->type == -1 && fixext && n == 8) {
        uint32_t hi = (uint32_t)be_read(p, 4);
        double s = (double)(hi & 3) * 4294967296.0 + (double)be_read(p + 4, 4);
        double ms = s * 1e3;
        double frac = (double)(hi >> 2) / 1e6;
        return date_new(ms + frac);
    }
    if (e->type == -1 && ext8) {
        if (n != 12)
            return NULL; /* refused by the pre-scan already */
        double ns = (double)be_read(p, 4);
        double s = (double)(int32_t)(uint32_t)be_read(p + 4, 4) * 4294967296.0 + (double)be_read(p + 8, 4);
        double ms = s * 1e3;
        double frac = ns / 1e6;
        return date_new(ms + frac);
    }
    /* [type, Buffer] */
    cJSON *a = cJSON_CreateArray();
    cJSON *t = cJSON_CreateNumber(e->type);
    cJSON *m = marker_new(p, n);
    if (!a || !t || !m) {
        cJSON_Delete(a);
        cJSON_Delete(t);
        cJSON_Delete(m);
        return NULL;
    }
    cJSON_AddItemToArray(a, t);
    cJSON_AddItemToArray(a, m);
    return a;
}

typedef struct key_ent {
    cJSON *item;
    size_t idx; /* position in the map as read */
} key_ent;

static int key_ent_cmp(const void *pa, const void *pb)
{
    const key_ent *a = pa, *b = pb;
    int c = strcmp(a->item->string, b->item->string);
    if (c)
        return c;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* JavaScript's `obj[key] = value` for a repeated key: the value of the last one, at the place of the first.
 * Sorting keeps this O(n log n) for a map with many keys. Returns -1 when out of memory. */
static int dedup_keys(cJSON *obj, size_t n)
{
    key_ent small[16], *ents = small;
    if (n < 2)
        return 0;
    if (n > sizeof(small) / sizeof(small[0])) {
        ents = malloc(n * sizeof(*ents));
        if (!ents)
            return -1;
    }
    size_t i = 0;
    for (cJSON *c = obj->child; c; c = c->next, i++) {
        ents[i].item = c;
        ents[i].idx = i;
    }
    qsort(ents, n, sizeof(*ents), key_ent_cmp);
    for (i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(ents[j].item->string, ents[i].item->string) == 0)
            j++;
        if (j - i > 1) {
            for (size_t k = i + 1; k + 1 < j; k++)
                cJSON_Delete(cJSON_DetachItemViaPointer(obj, ents[k].item));
            cJSON *last = cJSON_DetachItemViaPointer(obj, ents[j - 1].item);
            cJSON_ReplaceItemViaPointer(obj, ents[i].item, last); /* frees the first */
        }
        i = j;
    }
    if (ents != small)
        free(ents);
    return 0;
}

static cJSON *convert_map(const dec *d, const msgpack_object_map *m)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return NULL;
    size_t n = 0;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        char *key;
        if (k->type == MSGPACK_OBJECT_STR)
            key = string_dup((const uint8_t *)k->via.str.ptr, k->via.str.size);
        else if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER || k->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            key = int_key(k);
        else
            goto bad;
        if (!key)
            goto bad;
        cJSON *v = convert(d, &m->ptr[i].val);
        if (!v) {
            cJSON_free(key);
            goto bad;
        }
        if (strcmp(key, "__proto__") == 0) {
            cJSON_free(key);
            cJSON_Delete(v);
            continue;
        }
        v->string = key;
        cJSON_AddItemToArray(obj, v);
        n++;
    }
    if (dedup_keys(obj, n) != 0)
        goto bad;
    for (cJSON *c = obj->child, *next; c; c = next) {
        next = c->next;
        if (c->type == cJSON_Invalid) /* JSON.stringify leaves out a key whose value is undefined */
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, c));
    }
    return obj;
bad:
    cJSON_Delete(obj);
    return NULL;
}

static cJSON *convert(const dec *d, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return cJSON_CreateNull();
    case MSGPACK_OBJECT_BOOLEAN:
        return cJSON_CreateBool(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return cJSON_CreateNumber((double)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return isfinite(o->via.f64) ? cJSON_CreateNumber(o->via.f64) : cJSON_CreateNull();
    case MSGPACK_OBJECT_STR:
        return string_new((const uint8_t *)o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return marker_new(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_EXT:
        return convert_ext(d, &o->via.ext);
    case MSGPACK_OBJECT_ARRAY: {
        cJSON *a = cJSON_CreateArray();
        if (!a)
            return NULL;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            cJSON *v = convert(d, &o->via.array.ptr[i]);
            if (!v) {
                cJSON_Delete(a);
                return NULL;
            }
            if (v->type == cJSON_Invalid)
                v->type = cJSON_NULL; /* JSON.stringify writes undefined as null in an array */
            cJSON_AddItemToArray(a, v);
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP:
        return convert_map(d, &o->via.map);
    default:
        return NULL;
    }
}

static int atts_push(sio_mp_atts *a, const uint8_t *p, size_t n)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        sio_attachment_ref *v = realloc(a->v, cap * sizeof(*v));
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    uint8_t *copy = NULL;
    if (n) {
        copy = malloc(n);
        if (!copy)
            return -1;
        memcpy(copy, p, n);
    }
    a->v[a->n].data = copy;
    a->v[a->n].len = n;
    a->n++;
    return 0;
}

static void atts_truncate(sio_mp_atts *a, size_t n)
{
    while (a->n > n) {
        a->n--;
        free((void *)(uintptr_t)a->v[a->n].data);
    }
}

void sio_mp_atts_cleanup(sio_mp_atts *a)
{
    if (!a)
        return;
    atts_truncate(a, 0);
    free(a->v);
    a->v = NULL;
    a->cap = 0;
}

/* Turns the markers into placeholders in depth-first order (see MARKER_TYPE). Without a (the caller expects no
 * binary), a marker is an error; one that was dropped with its key is not. */
static int number_atts(cJSON *v, sio_mp_atts *a, size_t first, size_t max_atts)
{
    if (v->type == MARKER_TYPE) {
        if (!a || a->n - first >= max_atts)
            return -1;
        if (atts_push(a, (const uint8_t *)v->valuestring, (size_t)v->valuedouble) != 0)
            return -1;
        v->type = cJSON_Object;
        v->valuestring = NULL;
        v->valuedouble = 0;
        v->valueint = 0;
        if (!cJSON_AddTrueToObject(v, "_placeholder") || !cJSON_AddNumberToObject(v, "num", (double)(a->n - 1)))
            return -1;
        return 0;
    }
    for (cJSON *c = v->child; c; c = c->next)
        if (number_atts(c, a, first, max_atts) != 0)
            return -1;
    return 0;
}

cJSON *sio_mp_decode(const uint8_t *data, size_t len, sio_mp_atts *atts, size_t max_atts)
{
    if (!data || len == 0 || prescan(data, len) != 0)
        return NULL;
    msgpack_unpacked r;
    msgpack_unpacked_init(&r);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&r, (const char *)data, len, &off);
    cJSON *root = NULL;
    if ((rc == MSGPACK_UNPACK_SUCCESS || rc == MSGPACK_UNPACK_EXTRA_BYTES) && off == len) {
        dec d = {data, len};
        root = convert(&d, &r.data);
    }
    msgpack_unpacked_destroy(&r);
    if (!root)
        return NULL;
    if (root->type == cJSON_Invalid)
        root->type = cJSON_NULL; /* undefined alone */
    size_t first = atts ? atts->n : 0;
    if (number_atts(root, atts, first, max_atts) != 0) {
        if (atts)
            atts_truncate(atts, first);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
