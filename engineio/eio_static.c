/*
 * Static files: the pages beside a server and Socket.IO's client bundle.
 *
 * A path is decoded, split on '/', and refused when a segment is "..", starts with '.', or holds a backslash or
 * a NUL, before the file system is touched; the file found is then resolved with realpath() and must still lie
 * below the root, so a symbolic link cannot lead out either. Files are read whole into memory when asked for
 * (they are small: pages and a 150 KB bundle); the writer shares nothing with the disk. Gzip copies are cached,
 * keyed by path, size and modification time, so a changed file is never served stale.
 */
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "engineio/eio_private.h"

#define STATIC_MAX_FILE (32u << 20)   /* larger files are not served */
#define STATIC_CACHE_BYTES (8u << 20) /* gzip copies kept, in all */
#define STATIC_MIN_GZIP 512           /* smaller bodies gain nothing from gzip */

struct gz_entry {
    struct gz_entry *next; /* most recently used first */
    char *path;            /* the resolved file name */
    off_t size;            /* of the file the copy was made from */
    struct timespec mtime; /* of the same */
    unsigned char *data;   /* the gzip body */
    size_t len;
};

struct eio_static {
    char *root;            /* realpath of the root, no trailing slash (except "/") */
    size_t root_len;
    struct gz_entry *gz;   /* the cache, at most STATIC_CACHE_BYTES of data */
    size_t gz_bytes;
};

eio_static *eio_static_new(const char *root)
{
    struct stat st;
    char *real = root ? realpath(root, NULL) : NULL;
    if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return NULL;
    }
    eio_static *s = calloc(1, sizeof(*s));
    if (!s) {
        free(real);
        return NULL;
    }
    s->root = real;
    s->root_len = strlen(real);
    if (s->root_len == 1) /* "/": every path is below it */
        s->root_len = 0;
    return s;
}

static void gz_free(struct gz_entry *e)
{
    free(e->path);
    free(e->data);
    free(e);
}

void eio_static_free(eio_static *s)
{
    if (!s)
        return;
    while (s->gz) {
        struct gz_entry *e = s->gz;
        s->gz = e->next;
        gz_free(e);
    }
    free(s->root);
    free(s);
}

const char *eio_static_root(const eio_static *s)
{
    return s->root;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Decodes url_path into out as root-relative segments joined by '/'. Returns 0, or -1 for a path that must not
 * be served. "/" and a trailing '/' leave a trailing '/' (a directory: index.html is added later).
 */
int eio__static_relative(const char *url_path, char *out, size_t cap)
{
    char dec[PATH_MAX];
    size_t n = 0;
    for (const char *p = url_path; *p && *p != '?' && *p != '#'; p++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
            if (l < 0)
                return -1;
            c = h * 16 + l;
            p += 2;
        }
        if (c == 0 || c == '\\' || n + 1 >= sizeof(dec))
            return -1;
        dec[n++] = (char)c;
    }
    dec[n] = 0;
    if (dec[0] != '/')
        return -1;
    size_t o = 0;
    char *save = NULL;
    int trailing = n > 0 && dec[n - 1] == '/';
    for (char *seg = strtok_r(dec, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (seg[0] == '.') /* "..", ".", and dot files (".git", ".env") */
            return -1;
        size_t sl = strlen(seg);
        if (o + sl + 2 >= cap)
            return -1;
        if (o)
            out[o++] = '/';
        memcpy(out + o, seg, sl);
        o += sl;
    }
    if (trailing || o == 0) {
        if (o + 2 >= cap)
            return -1;
        if (o)
            out[o++] = '/';
    }
    out[o] = 0;
    return 0;
}

static const struct {
    const char *ext;
    const char *type;
    int text; /* worth compressing */
} types[] = {
    {"html", "text/html; charset=utf-8", 1},        {"htm", "text/html; charset=utf-8", 1},
    {"js", "application/javascript; charset=utf-8", 1}, {"mjs", "application/javascript; charset=utf-8", 1},
    {"css", "text/css; charset=utf-8", 1},          {"json", "application/json; charset=utf-8", 1},
    {"map", "application/json; charset=utf-8", 1},  {"txt", "text/plain; charset=utf-8", 1},
    {"svg", "image/svg+xml", 1},                    {"xml", "application/xml", 1},
    {"png", "image/png", 0},                        {"jpg", "image/jpeg", 0},
    {"jpeg", "image/jpeg", 0},                      {"gif", "image/gif", 0},
    {"webp", "image/webp", 0},                      {"ico", "image/x-icon", 1},
    {"woff2", "font/woff2", 0},                     {"wasm", "application/wasm", 0},
};

static const char *type_of(const char *path, int *text)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    *text = 0;
    if (dot)
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0) {
                *text = types[i].text;
                return types[i].type;
            }
    return "application/octet-stream";
}

/* The entity tags of an If-None-Match list, compared weakly (RFC 9110 13.1.2); "*" matches any. */
int eio__static_etag_matches(const char *header, const char *etag)
{
    if (!header)
        return 0;
    if (strncmp(etag, "W/", 2) == 0)
        etag += 2;
    size_t el = strlen(etag);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - p) == el && memcmp(p, etag, el) == 0)
            return 1;
        p = end;
    }
    return 0;
}

/* 1 when Accept-Encoding names gzip (or "*") with a non-zero quality. */
int eio__static_accepts_gzip(const char *ae)
{
    if (!ae)
        return 0;
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ')
            p++;
        size_t tl = (size_t)(p - tok);
        int named = (tl == 4 && strncasecmp(tok, "gzip", 4) == 0) || (tl == 1 && *tok == '*');
        double q = 1;
        while (*p && *p != ',') {
            if (*p == ';') {
                const char *qp = p + 1;
                while (*qp == ' ')
                    qp++;
                if ((qp[0] == 'q' || qp[0] == 'Q') && qp[1] == '=')
                    q = strtod(qp + 2, NULL);
            }
            p++;
        }
        if (named && q > 0)
            return 1;
    }
    return 0;
}

static unsigned char *gzip_bytes(const unsigned char *data, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong bound = deflateBound(&z, (uLong)len);
    unsigned char *out = malloc(bound);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* The cached gzip copy of the file, made now from data if missing or stale (data NULL: only looked up); NULL when
 * there is none (then the plain body is sent). */
static const struct gz_entry *gz_get(eio_static *s, const char *path, const struct stat *st, const unsigned char *data)
{
    struct gz_entry **pp = &s->gz;
    for (struct gz_entry *e = s->gz; e; pp = &e->next, e = e->next) {
        if (strcmp(e->path, path) != 0)
            continue;
        *pp = e->next;
        if (e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec) {
            e->next = s->gz; /* to the front */
            s->gz = e;
            return e;
        }
        s->gz_bytes -= e->len;
        gz_free(e);
        break;
    }
    if (!data)
        return NULL;
    struct gz_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->path = strdup(path);
    e->data = gzip_bytes(data, (size_t)st->st_size, &e->len);
    if (!e->path || !e->data || e->len > STATIC_CACHE_BYTES) {
        gz_free(e);
        return NULL;
    }
    e->size = st->st_size;
    e->mtime = st->st_mtim;
    e->next = s->gz;
    s->gz = e;
    s->gz_bytes += e->len;
    /* Evict from the least recently used end; the entry just made stays. */
    while (s->gz_bytes > STATIC_CACHE_BYTES) {
        struct gz_entry **last = &s->gz;
        while ((*last)->next)
            last = &(*last)->next;
        struct gz_entry *old = *last;
        *last = NULL;
        s->gz_bytes -= old->len;
        gz_free(old);
    }
    return e;
}

/* Opens the regular file `path` (fd, with *st), or -1 when it is not one, is too large, or cannot be read. */
static int open_file(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (uint64_t)st->st_size > STATIC_MAX_FILE)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* size bytes from fd, or NULL. */
static unsigned char *read_all(int fd, size_t size)
{
    size_t got = 0;
    unsigned char *data = malloc(size ? size : 1);
    while (data && got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(data);
            return NULL;
        }
        got += (size_t)n;
    }
    return data;
}

int eio_static_serve(eio_static *s, eio_request *req, const char *url_path, const eio_static_opts *o)
{
    char rel[PATH_MAX], full[PATH_MAX];
    if (!s || !url_path || eio__static_relative(url_path, rel, sizeof(rel)) < 0)
        return 0;
    size_t rl = strlen(rel);
    int n = snprintf(full, sizeof(full), "%s/%s%s", s->root_len ? s->root : "", rel,
                     rl == 0 || rel[rl - 1] == '/' ? "index.html" : "");
    if (n < 0 || (size_t)n >= sizeof(full))
        return 0;
    struct stat st;
    if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) { /* "/docs" means "/docs/index.html" */
        if ((size_t)n + sizeof("/index.html") > sizeof(full))
            return 0;
        strcat(full, "/index.html");
    }
    /* The file itself, links resolved, must lie below the root. */
    char *real = realpath(full, NULL);
    if (!real)
        return 0;
    if (s->root_len && (strncmp(real, s->root, s->root_len) != 0 || real[s->root_len] != '/')) {
        free(real);
        return 0;
    }
    int fd = open_file(real, &st);
    if (fd < 0) {
        free(real);
        return 0;
    }

    int text;
    const char *type = type_of(real, &text);
    if (o && o->content_type)
        type = o->content_type;
    char etag[64];
    if (o && o->etag)
        snprintf(etag, sizeof(etag), "%s", o->etag);
    else
        snprintf(etag, sizeof(etag), "W/\"%llx-%llx\"", (unsigned long long)st.st_size,
                 (unsigned long long)st.st_mtim.tv_sec * 1000ull + (unsigned long long)st.st_mtim.tv_nsec / 1000000ull);
    const char *cache = o && o->cache_control ? o->cache_control : "public, max-age=0";
    char headers[512];
    unsigned char *data = NULL; /* read only when the answer carries the file and no cached copy will do */
    if (req->method != HTTP_GET && req->method != HTTP_HEAD && !(o && o->any_method)) {
        eio_request_respond(req, 405, "Allow: GET, HEAD\r\n", NULL, 0);
    } else if (eio__static_etag_matches(eio_request_header(req, "if-none-match"), etag)) {
        snprintf(headers, sizeof(headers), "ETag: %s\r\nCache-Control: %s\r\n", etag, cache);
        eio_request_respond(req, 304, headers, NULL, 0);
    } else {
        int compress = text && st.st_size >= STATIC_MIN_GZIP;
        int gzip = compress && eio__static_accepts_gzip(eio_request_header(req, "accept-encoding"));
        const struct gz_entry *gz = gzip ? gz_get(s, real, &st, NULL) : NULL;
        if (!gz)
            data = read_all(fd, (size_t)st.st_size);
        if (!gz && data && gzip)
            gz = gz_get(s, real, &st, data);
        snprintf(headers, sizeof(headers), "Content-Type: %s\r\nETag: %s\r\nCache-Control: %s\r\n%s%s", type, etag,
                 cache, compress ? "Vary: Accept-Encoding\r\n" : "", gz ? "Content-Encoding: gzip\r\n" : "");
        if (gz)
            eio_request_respond(req, 200, headers, gz->data, gz->len);
        else if (data)
            eio_request_respond(req, 200, headers, data, (size_t)st.st_size);
        else
            eio_request_respond(req, 500, NULL, NULL, 0);
    }
    close(fd);
    free(data);
    free(real);
    return 1;
}
