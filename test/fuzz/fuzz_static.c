/*
 * libFuzzer harness for the request-path and header parsing of static files (engineio/eio_static.c): whatever
 * the bytes, the decoded path never holds a "." or ".." segment, a backslash or a NUL, never starts with '/',
 * and the If-None-Match and Accept-Encoding parsers return without reading past the string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engineio/eio_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = 0;
    char out[512];
    if (eio__static_relative(in, out, sizeof(out)) == 0) {
        size_t n = strlen(out);
        if (n >= sizeof(out) || out[0] == '/' || memchr(out, '\\', n))
            abort();
        /* Every segment is a plain name. */
        for (char *seg = out; *seg; ) {
            if (seg[0] == '.')
                abort();
            char *slash = strchr(seg, '/');
            if (!slash)
                break;
            seg = slash + 1;
        }
    }
    (void)eio__static_etag_matches(in, "\"4.8.4\"");
    (void)eio__static_etag_matches(in, "W/\"1f-2e\"");
    (void)eio__static_accepts_gzip(in);
    free(in);
    return 0;
}
