/*
 * sio_msgpack.h: MessagePack to and from cJSON, as Node's notepack.io 3.x writes and reads it. notepack.io is
 * the parser of @socket.io/redis-adapter 8.x and @socket.io/redis-emitter 5.x, so this is what our Redis
 * adapter speaks to Node servers. Pure: no I/O, no libevent; built on msgpack-c (libmsgpackc).
 *
 * The JSON side follows the rest of the library:
 * - a binary value is a placeholder object {"_placeholder":true,"num":i} standing for attachment i
 *   (socketio.h); on the wire it is a msgpack bin, as notepack writes a Buffer;
 * - strings are UTF-8 with U+0000 stored as C0 80 and unpaired surrogates as their WTF-8 bytes (sio_json.h).
 *   On the wire strings are plain UTF-8: NUL is written 00, and what is not valid UTF-8 (an unpaired surrogate,
 *   a stray byte) is written U+FFFD, as Node's Buffer.from(string) does. Received strings are read as Node's
 *   buffer.toString("utf8") reads them: each invalid sequence becomes U+FFFD (WHATWG's rule).
 * - what the decoder gives is what a Node server would see after JSON.stringify (which socket.io applies to
 *   everything it sends to clients): a Date becomes its ISO string, undefined becomes null in an array and
 *   leaves out the key in a map, NaN and the infinities become null.
 *
 * Errors are negative SIO_MP_E* codes (sio_mp_strerror). Out of memory: writers return SIO_MP_ENOMEM,
 * sio_mp_decode returns NULL; nothing aborts. Not thread-safe per object; no global state.
 */
#ifndef SIO_MSGPACK_H
#define SIO_MSGPACK_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "socketio/socketio.h"

enum {
    SIO_MP_OK = 0,
    SIO_MP_ENOMEM = -1, /* out of memory */
    SIO_MP_EINVAL = -2  /* a value msgpack cannot carry: a count or length over 2^32-1, a cJSON Raw or
                           Invalid item, a string or key that is NULL, nesting over SIO_MP_ENCODE_MAX_DEPTH */
};
/* A static description of a SIO_MP_* code. */
const char *sio_mp_strerror(int code);

/* --- writing --- */

/* A growable output buffer. Zero-initialise it (or use SIO_MP_BUF_INIT); data is malloc'd and holds len
 * bytes. The caller may take data away (free() it later) and reset the struct to zero, or call
 * sio_mp_buf_cleanup. */
typedef struct sio_mp_buf {
    uint8_t *data; /* NULL until the first write */
    size_t len;    /* bytes written */
    size_t cap;    /* bytes allocated at data */
} sio_mp_buf;
#define SIO_MP_BUF_INIT {NULL, 0, 0}

/* Frees b's bytes and resets it to empty; b may be NULL. */
void sio_mp_buf_cleanup(sio_mp_buf *b);

/*
 * Writers for the adapter's envelopes. Each appends one msgpack item to b in the smallest form, as notepack
 * writes it: an array or map header (the caller then writes n items, or n key-value pairs), a str (s[0..len)
 * borrowed for the call, converted as described above), an integer, true/false (v nonzero/zero), nil, a bin.
 * Return 0, SIO_MP_ENOMEM, or SIO_MP_EINVAL (n or len over 2^32-1, s NULL with len > 0). On error b is as it
 * was before the call.
 */
int sio_mp_array(sio_mp_buf *b, size_t n);
int sio_mp_map(sio_mp_buf *b, size_t n);
int sio_mp_str(sio_mp_buf *b, const char *s, size_t len);
int sio_mp_int(sio_mp_buf *b, int64_t v);
int sio_mp_bool(sio_mp_buf *b, int v);
int sio_mp_nil(sio_mp_buf *b);
int sio_mp_bin(sio_mp_buf *b, const uint8_t *data, size_t len);

/* Nesting accepted by sio_mp_json (the JSON parser's limit, sio_json.h). */
#define SIO_MP_ENCODE_MAX_DEPTH 1000

/*
 * Appends v (borrowed for the call) as notepack writes the same JavaScript value:
 * - an object with "_placeholder" true and an integer "num" i with 0 <= i < nbufs (what socket.io-parser
 *   takes for a placeholder) is written as a bin of bufs[i] (borrowed for the call); any other object is a
 *   map with str keys, in cJSON's order;
 * - a number that is an integer in [-2^63, 2^64) as the smallest msgpack integer (notepack's rule; they all
 *   read back as the same JavaScript number), any other (fractions, NaN, infinities) as float64;
 * - strings as str, arrays as arrays, true/false/null as themselves.
 * Returns 0, SIO_MP_ENOMEM or SIO_MP_EINVAL (see the codes); on error b is as it was before the call.
 */
int sio_mp_json(sio_mp_buf *b, const cJSON *v, const sio_attachment_ref *bufs, size_t nbufs);

/* --- reading --- */

/* The attachments a decode collected. Zero-initialise it (or SIO_MP_ATTS_INIT). v[i].data is a copy owned by
 * the struct (NULL when v[i].len is 0), valid until sio_mp_atts_cleanup. */
typedef struct sio_mp_atts {
    sio_attachment_ref *v; /* v[0..n) */
    size_t n;              /* attachments held */
    size_t cap;            /* entries allocated at v */
} sio_mp_atts;
#define SIO_MP_ATTS_INIT {NULL, 0, 0}

/* Frees the copies and the array and resets a to empty; a may be NULL. */
void sio_mp_atts_cleanup(sio_mp_atts *a);

/* Nesting accepted by sio_mp_decode: 32 arrays or maps one inside the other (a scalar alone is depth 0), an
 * ext that becomes [type, placeholder] counting as an array. This is also msgpack-c's own limit
 * (MSGPACK_EMBED_STACK_SIZE), and what sio_mp_decode accepts, written back with sio_mp_json, decodes again. */
#define SIO_MP_DECODE_MAX_DEPTH 32

/*
 * Decodes exactly one msgpack value from data[0..len) (borrowed for the call; trailing bytes are an error)
 * into a new cJSON tree (the caller's: cJSON_Delete it). What notepack.io's decode gives, as JSON.stringify
 * would then write it:
 * - bin, and ext type 0 of the ext 8/16/32 formats (notepack's ArrayBuffer), become placeholder objects
 *   {"_placeholder":true,"num":k}, the bytes copied into atts; k counts from atts->n (as it was on entry) in
 *   depth-first order of the returned tree, the order socket.io-parser numbers attachments;
 * - any other ext becomes [type, placeholder of its bytes], as notepack gives [type, Buffer], except:
 *   fixext 1 of type 0 (notepack's undefined, d4 00 xx): null in an array, the key left out in a map;
 *   timestamps (ext -1 as fixext 4, fixext 8 or ext 8 of 12 bytes) and notepack's old date (fixext 8 of type
 *   0): the ISO string Date.prototype.toJSON gives ("2026-11-22T05:00:00.000Z"), null for an invalid date;
 *   ext 8 of type -1 with other than 12 bytes is an error (notepack misreads it);
 * - nil is null; integers (every width) and floats are numbers (int64/uint64 rounded to the nearest double,
 *   as JavaScript), NaN and the infinities are null;
 * - str is a string; map keys must be str or integers (an integer key is its decimal text, as JavaScript
 *   writes the number); a later duplicate key replaces the value of the earlier one, which keeps its place;
 *   a "__proto__" key is left out (notepack's assignment sets the prototype instead: no own property).
 * Integer-like keys keep their place (JavaScript would list them first, in ascending order: a client's
 * JSON.parse gives the same object either way).
 *
 * Limits: nesting up to SIO_MP_DECODE_MAX_DEPTH; at most max_atts attachments added by this call (those
 * already in atts do not count, nor binaries dropped with a replaced key). Every declared length and count is
 * checked against the bytes left before anything is allocated, so memory stays proportional to len: at worst
 * (a message of one-byte items) about 100 bytes per input byte while decoding (a 24-byte msgpack_object and a
 * cJSON item each), strings at most 3 times their size (each invalid byte becomes U+FFFD).
 *
 * Returns NULL on malformed input, over the limits, or out of memory, and atts then holds no new entries.
 * atts may be NULL when no attachment is expected: a binary value in the result is then an error.
 */
cJSON *sio_mp_decode(const uint8_t *data, size_t len, sio_mp_atts *atts, size_t max_atts);

#endif
