/*
 * JSON in and out as JavaScript's JSON.parse and JSON.stringify see it, with cJSON trees (see sio_json.c for why
 * not cJSON's own parser and printer).
 *
 * Strings are UTF-8 with two extensions that carry what JavaScript strings may hold and C strings cannot:
 * U+0000 is stored as the two bytes C0 80 (as Java's "modified UTF-8" does), and an unpaired surrogate
 * (\ud800..\udfff alone) as its three-byte WTF-8 form (ED A0 80..ED BF BF). The printer writes both back as
 * \u escapes, so they survive a round trip through the server unchanged.
 */
#ifndef SIO_JSON_H
#define SIO_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* A new NUL-terminated string (free() it) with the JSON of v, its length in *len (may be NULL); NULL when out of
 * memory. Numbers keep their exact value; non-finite numbers are written null, -0 as 0. */
char *sio_json_print(const cJSON *v, size_t *len);

/* Nesting depth accepted by sio_json_parse. */
#define SIO_JSON_MAX_DEPTH 1000

/* Parses exactly s[0..len) (whitespace around the value allowed) as JSON.parse would: a new tree, or NULL when
 * the text is not JSON, nests deeper than SIO_JSON_MAX_DEPTH, or memory runs out. A later duplicate key
 * replaces the earlier one. Numbers beyond the double range become infinities, as in JavaScript. */
cJSON *sio_json_parse(const char *s, size_t len);

#endif
