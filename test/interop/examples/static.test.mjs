// The examples' static files (engineio/eio_static.c through examples/common): pages under --public, and no way
// out of it: "..", encoded "%2e%2e" and "%2f", backslashes, absolute paths, dot files and symbolic links that
// lead outside all get 404, while the files inside are served with their type, ETag/304 and gzip.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import zlib from "node:zlib";
import { startExample } from "../lib/example.mjs";

let app, dir, outside;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sio-static-"));
  const pub = path.join(dir, "public");
  fs.mkdirSync(path.join(pub, "sub"), { recursive: true });
  fs.mkdirSync(path.join(pub, ".git"));
  fs.writeFileSync(path.join(pub, "index.html"), "<h1>index</h1>");
  fs.writeFileSync(path.join(pub, "sub", "index.html"), "<h1>sub</h1>");
  fs.writeFileSync(path.join(pub, "app.js"), "console.log('x');\n".repeat(200));
  fs.writeFileSync(path.join(pub, "a b.css"), "body{}");
  fs.writeFileSync(path.join(pub, ".git", "config"), "secret-in-dotdir");
  fs.writeFileSync(path.join(pub, ".env"), "secret-dotfile");
  outside = path.join(dir, "secret.txt");
  fs.writeFileSync(outside, "secret-outside");
  fs.symlinkSync(outside, path.join(pub, "link.txt"));
  fs.symlinkSync(path.join(pub, "index.html"), path.join(pub, "inner-link.html"));
  app = await startExample("chat", { args: ["--public", pub] });
});
after(async () => {
  await app?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

// A raw request, so that the path reaches the server exactly as written (no client-side normalisation).
function raw(p, headers = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(app.port, "127.0.0.1");
    const chunks = [];
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", reject);
    sock.on("end", () => {
      const buf = Buffer.concat(chunks);
      const i = buf.indexOf("\r\n\r\n");
      const head = buf.subarray(0, i).toString("latin1").split("\r\n");
      const status = Number(head[0].split(" ")[1]);
      const h = {};
      for (const line of head.slice(1)) {
        const k = line.indexOf(":");
        h[line.slice(0, k).toLowerCase()] = line.slice(k + 1).trim();
      }
      resolve({ status, headers: h, body: buf.subarray(i + 4) });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    sock.write(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`);
  });
}

test("files under --public are served with their type; directories give their index.html", async () => {
  for (const [p, body, type] of [
    ["/", "<h1>index</h1>", "text/html"],
    ["/index.html", "<h1>index</h1>", "text/html"],
    ["/sub/", "<h1>sub</h1>", "text/html"],
    ["/sub", "<h1>sub</h1>", "text/html"],
    ["/a%20b.css", "body{}", "text/css"],
    ["/index.html?x=1", "<h1>index</h1>", "text/html"],
    ["/inner-link.html", "<h1>index</h1>", "text/html"],
  ]) {
    const r = await raw(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.body.toString(), body, p);
    assert.match(r.headers["content-type"], new RegExp("^" + type), p);
  }
});

test("no path leaves the document root: .., %2e%2e, %2f, backslashes, absolute paths, dot files, links out", async () => {
  const attempts = [
    "/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
    "/%2e%2e%2fsecret.txt", "/sub%2f..%2f..%2fsecret.txt", "/..%5csecret.txt", "/sub\\..\\..\\secret.txt",
    "//" + outside.slice(1), outside, "/" + encodeURIComponent(outside), "/link.txt", "/.env", "/.git/config",
    "/%2egit/config", "/index.html%00.txt", "/%", "/%zz", "/..", "/sub/..",
  ];
  for (const p of attempts) {
    const r = await raw(p);
    assert.equal(r.status, 404, `${p} answered ${r.status}: ${r.body}`);
    assert.doesNotMatch(r.body.toString(), /secret/, p);
  }
  // Absolute-form request targets too.
  const abs = await raw("http://x/../secret.txt");
  assert.notEqual(abs.status, 200);
  assert.doesNotMatch(abs.body.toString(), /secret/);
  // The server goes on serving.
  assert.equal((await raw("/")).status, 200);
});

test("ETag and If-None-Match (304), gzip when accepted, HEAD without a body", async () => {
  const first = await raw("/app.js");
  assert.equal(first.status, 200);
  assert.match(first.headers["content-type"], /^application\/javascript/);
  const etag = first.headers.etag;
  assert.ok(etag, "an ETag");
  const again = await raw("/app.js", { "If-None-Match": etag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const gz = await raw("/app.js", { "Accept-Encoding": "gzip" });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.ok(zlib.gunzipSync(gz.body).equals(first.body));
  assert.ok(gz.body.length < first.body.length / 4);
  const head = await new Promise((resolve, reject) => {
    const sock = net.connect(app.port, "127.0.0.1");
    let data = "";
    sock.on("data", (c) => (data += c));
    sock.on("error", reject);
    sock.on("end", () => resolve(data));
    sock.write("HEAD /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  });
  assert.match(head, /^HTTP\/1\.1 200/);
  assert.match(head, new RegExp(`Content-Length: ${first.body.length}\\r\\n`));
  assert.ok(head.endsWith("\r\n\r\n"), "no body after the headers");
  const post = await new Promise((resolve, reject) => {
    const sock = net.connect(app.port, "127.0.0.1");
    let data = "";
    sock.on("data", (c) => (data += c));
    sock.on("error", reject);
    sock.on("end", () => resolve(data));
    sock.write("DELETE /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  });
  assert.match(post, /^HTTP\/1\.1 405/);
});
