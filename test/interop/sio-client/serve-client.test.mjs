// serveClient: the browser bundles of socket.io-client under /socket.io/, as Node's socket.io 4.8 serves them
// (ETag "<client version>", 304 on If-None-Match, gzip when accepted, HEAD, a query string allowed). Every test
// also passes against the reference (EIO_SERVER=reference), except the byte comparison with our node_modules
// copy, which is ours only (the reference serves socket.io's own client-dist).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { startServer, root, isReference } from "../lib/server.mjs";

const dist = path.join(root, "node_modules/socket.io-client/dist");
const version = JSON.parse(fs.readFileSync(path.join(dist, "../package.json"), "utf8")).version;

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

function get(p, { method = "GET", headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: srv.port, path: p, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const files = [
  "socket.io.js", "socket.io.min.js", "socket.io.esm.min.js", "socket.io.msgpack.min.js",
  "socket.io.js.map", "socket.io.min.js.map", "socket.io.esm.min.js.map", "socket.io.msgpack.min.js.map",
];

for (const f of files) {
  test(`GET /socket.io/${f}: 200, its type, the version ETag, the file's bytes`, async () => {
    const r = await get(`/socket.io/${f}`);
    assert.equal(r.status, 200);
    const map = f.endsWith(".map");
    assert.equal(r.headers["content-type"], `application/${map ? "json" : "javascript"}; charset=utf-8`);
    assert.equal(r.headers.etag, `"${version}"`);
    assert.equal(r.headers["cache-control"], "public, max-age=0");
    assert.equal(r.headers["content-encoding"], undefined);
    if (!isReference) assert.ok(r.body.equals(fs.readFileSync(path.join(dist, f))), "the bytes of dist/" + f);
    else assert.ok(r.body.length > 1000);
    if (map) assert.equal(typeof JSON.parse(r.body.toString()).mappings, "string");
    else assert.match(r.body.toString(), /io|Socket/);
  });
}

test("If-None-Match with the version (strong or weak) gets 304 and no body; another ETag gets the file", async () => {
  for (const tag of [`"${version}"`, `W/"${version}"`]) {
    const r = await get("/socket.io/socket.io.min.js", { headers: { "if-none-match": tag } });
    assert.equal(r.status, 304, tag);
    assert.equal(r.body.length, 0);
  }
  const r = await get("/socket.io/socket.io.min.js", { headers: { "if-none-match": '"0.0.1"' } });
  assert.equal(r.status, 200);
  assert.ok(r.body.length > 1000);
});

test("Accept-Encoding: gzip gets a gzip body that inflates to the file", async () => {
  const plain = await get("/socket.io/socket.io.js");
  const r = await get("/socket.io/socket.io.js", { headers: { "accept-encoding": "gzip, deflate" } });
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-encoding"], "gzip");
  assert.ok(r.body.length < plain.body.length / 2, `${r.body.length} bytes compressed of ${plain.body.length}`);
  assert.ok(zlib.gunzipSync(r.body).equals(plain.body));
  // Not accepted: plain.
  const id = await get("/socket.io/socket.io.js", { headers: { "accept-encoding": "identity" } });
  assert.equal(id.headers["content-encoding"], undefined);
  assert.ok(id.body.equals(plain.body));
});

test("HEAD gets the headers without a body; a query string is allowed", async () => {
  const h = await get("/socket.io/socket.io.min.js", { method: "HEAD" });
  assert.equal(h.status, 200);
  assert.equal(h.headers["content-type"], "application/javascript; charset=utf-8");
  assert.equal(h.body.length, 0);
  const q = await get("/socket.io/socket.io.min.js?v=" + version);
  assert.equal(q.status, 200);
  assert.ok(q.body.length > 1000);
});

test("a name that is not a bundle goes to the Engine.IO server (400 unknown transport), the server goes on", async () => {
  for (const p of ["/socket.io/socket.io.foo.js", "/socket.io/socket.io.min.js.mapx", "/socket.io/../socket.io/x.js"]) {
    const r = await get(p);
    assert.equal(r.status, 400, p);
    assert.deepEqual(JSON.parse(r.body.toString()), { code: 0, message: "Transport unknown" }, p);
  }
  assert.equal((await get("/socket.io/socket.io.js")).status, 200);
});
