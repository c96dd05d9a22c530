/* Compact JSON output with JSON.stringify's number and string forms (see sio_json.c for why not cJSON's). */
#ifndef SIO_JSON_H
#define SIO_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* A new NUL-terminated string (free() it) with the JSON of v, its length in *len (may be NULL); NULL when out of
 * memory. Numbers keep their exact value; non-finite numbers are written null, -0 as 0. */
char *sio_json_print(const cJSON *v, size_t *len);

#endif
