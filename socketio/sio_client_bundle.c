/*
 * serveClient: socket.io-client's browser bundles under the server's path, as the reference serves its
 * client-dist: <path>socket.io[.msgpack|.esm][.min].js[.map], ETag "<client version>" (304 when the browser
 * has it), Content-Type application/javascript or application/json, gzip when the browser accepts it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socketio/sio_private.h"

/* The file name when `path` (no query) is one of the bundles under prefix (the server's path, "/socket.io/"). */
static const char *bundle_name(const char *path, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl) != 0)
        return NULL;
    const char *name = path + pl, *p = name;
    if (strncmp(p, "socket.io", 9) != 0)
        return NULL;
    p += 9;
    if (strncmp(p, ".msgpack", 8) == 0)
        p += 8;
    else if (strncmp(p, ".esm", 4) == 0)
        p += 4;
    if (strncmp(p, ".min", 4) == 0)
        p += 4;
    if (strncmp(p, ".js", 3) != 0)
        return NULL;
    p += 3;
    if (strcmp(p, ".map") == 0)
        p += 4;
    return *p ? NULL : name;
}

static void open_client_dir(sio_server *srv)
{
    const char *dir = srv->opts.client_dir ? srv->opts.client_dir : getenv("SIO_CLIENT_DIR");
    if (!dir)
        dir = "node_modules/socket.io-client/dist";
    srv->client_files = eio_static_new(dir);
    if (!srv->client_files) {
        if (!srv->client_warned)
            eio_log(EIO_LOG_WARN, "socket.io: cannot serve the client bundle: %s is not a directory "
                                  "(set client_dir or SIO_CLIENT_DIR to socket.io-client's dist/)", dir);
        srv->client_warned = 1;
        return;
    }
    /* The reference's ETag is the client's version, quoted. */
    char pkg[4096];
    snprintf(pkg, sizeof(pkg), "%s/../package.json", eio_static_root(srv->client_files));
    FILE *f = fopen(pkg, "rb");
    char text[16384];
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof(srv->client_etag) - 3 && !strpbrk(v->valuestring, "\"\r\n"))
        snprintf(srv->client_etag, sizeof(srv->client_etag), "\"%s\"", v->valuestring);
    cJSON_Delete(j);
}

int sio__serve_client(eio_request *req, void *ud)
{
    sio_server *srv = ud;
    const char *prefix = srv->opts.eio.path ? srv->opts.eio.path : "/socket.io/";
    const char *name = bundle_name(eio_request_path(req), prefix);
    if (!name)
        return 0;
    if (!srv->client_files)
        open_client_dir(srv);
    size_t nl = strlen(name);
    int map = nl > 4 && strcmp(name + nl - 4, ".map") == 0;
    eio_static_opts o = {.etag = srv->client_etag[0] ? srv->client_etag : NULL,
                         .content_type = map ? "application/json; charset=utf-8"
                                             : "application/javascript; charset=utf-8",
                         .cache_control = "public, max-age=0",
                         .any_method = 1};
    char path[128];
    snprintf(path, sizeof(path), "/%s", name);
    if (srv->client_files && eio_static_serve(srv->client_files, req, path, &o))
        return 1;
    eio_request_respond(req, 404, "Content-Type: text/plain\r\n", "Not Found", 9);
    return 1;
}
