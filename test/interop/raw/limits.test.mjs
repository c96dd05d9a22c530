// HTTP-level limits and odd requests: header sizes, paths, malformed request lines.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, isSanitized } from "../lib/server.mjs";
import { HttpConn, request, eioPath, wsOpen, skipOnReference } from "./lib.mjs";

let srv;

before(async () => {
  srv = await startServer({ args: ["--ping-interval", "20000", "--ping-timeout", "20000"] });
});
after(async () => {
  await srv?.stop();
});

// Sends raw bytes on a new connection; returns { res (or null if the connection closed without an answer), closed }.
async function rawExchange(bytes, ms = 5000) {
  const c = await HttpConn.open(srv.port);
  try {
    c.write(bytes);
    let res = null;
    try {
      res = await c.readResponse(ms);
    } catch (e) {
      if (e.code !== "ECLOSED") throw e;
    }
    const closed = await c.waitClosed(ms);
    return { res, closed };
  } finally {
    c.destroy();
  }
}

function requestBytes(path, headerLines) {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n${headerLines.map((l) => l + "\r\n").join("")}\r\n`, "latin1");
}

test("request headers of about 8 KiB are accepted", async () => {
  const res = await request(srv.port, { path: eioPath(), headers: { "X-Big": "a".repeat(8 * 1024) } });
  assert.equal(res.status, 200);
  assert.ok(res.text.startsWith("0{"));
});

test("one request header over 16 KiB → 431 (or 400) and the connection closed", async () => {
  const { res, closed } = await rawExchange(requestBytes(eioPath(), [`X-Big: ${"a".repeat(17 * 1024)}`]));
  assert.ok(res, "an answer is expected before the close");
  assert.ok([400, 431].includes(res.status), `status ${res.status}`);
  assert.ok(closed, "the connection must be closed");
});

test("many request headers adding up to over 16 KiB → 431 (or 400) and the connection closed", async () => {
  const lines = Array.from({ length: 40 }, (_, i) => `X-H${i}: ${"b".repeat(500)}`);
  const { res, closed } = await rawExchange(requestBytes(eioPath(), lines));
  assert.ok(res, "an answer is expected before the close");
  assert.ok([400, 431].includes(res.status), `status ${res.status}`);
  assert.ok(closed);
});

test("a request target over 16 KiB → 414, 431 or 400 and the connection closed", async () => {
  const { res, closed } = await rawExchange(requestBytes(`${eioPath()}&pad=${"c".repeat(17 * 1024)}`, []));
  assert.ok(res, "an answer is expected before the close");
  assert.ok([400, 414, 431].includes(res.status), `status ${res.status}`);
  assert.ok(closed);
});

test("a WebSocket upgrade request with headers over 16 KiB → 431 (or 400), no 101, closed", async () => {
  const ws = await wsOpen(srv.port, eioPath({ transport: "websocket" }), { headers: { "X-Big": "d".repeat(17 * 1024) } });
  try {
    assert.ok([400, 431].includes(ws.status), `status line ${ws.statusLine}`);
    assert.ok(await ws.waitClosed());
  } finally {
    ws.destroy();
  }
});

test("[C] more than 100 request headers → 431 (or 400) and the connection closed", { skip: skipOnReference }, async () => {
  // Node accepts up to 2000 headers (maxHeadersCount) and answers 200 here.
  const lines = Array.from({ length: 150 }, (_, i) => `X-H${i}: v`);
  const { res, closed } = await rawExchange(requestBytes(eioPath(), lines));
  assert.ok(res, "an answer is expected before the close");
  assert.ok([400, 431].includes(res.status), `status ${res.status}`);
  assert.ok(closed);
});

test("[C] slow headers (half a request line, then nothing) → 408 and the connection closed", { skip: skipOnReference }, async () => {
  // Ours takes --headers-timeout; Node's headersTimeout is 60 s and checked every 30 s, too slow for a test.
  const slow = await startServer({ args: ["--headers-timeout", "1000"] });
  const c = await HttpConn.open(slow.port);
  try {
    c.write("GET /engine.io/?EIO=4&tra");
    assert.ok(await c.waitClosed(10000), "the connection should be closed after the headers timeout");
    assert.match(c.buf.toString("latin1"), /^HTTP\/1\.1 408 /);
  } finally {
    c.destroy();
    await slow.stop();
  }
});

test("[C] headers trickled one byte at a time past the timeout → 408 and the connection closed", { skip: skipOnReference }, async () => {
  const slow = await startServer({ args: ["--headers-timeout", "1000"] });
  const c = await HttpConn.open(slow.port);
  try {
    const line = "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n";
    let closed = false;
    const waiting = c.waitClosed(15000).then((v) => (closed = v));
    for (let i = 0; i < line.length && !closed; i++) {
      c.write(line[i]);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(await waiting, "the connection should be closed although bytes keep coming");
    assert.match(c.buf.toString("latin1"), /^HTTP\/1\.1 408 /);
  } finally {
    c.destroy();
    await slow.stop();
  }
});

test("a request to another path → 404", async () => {
  for (const path of ["/other", "/", "/engine.io2/?EIO=4&transport=polling", "/favicon.ico"]) {
    const res = await request(srv.port, { path });
    assert.equal(res.status, 404, `${path}: ${res.status}`);
  }
});

test("a POST to another path → 404", async () => {
  const res = await request(srv.port, { method: "POST", path: "/other", body: "hello" });
  assert.equal(res.status, 404);
});

test("a WebSocket upgrade on another path → no 101, the connection is closed", async () => {
  const ws = await wsOpen(srv.port, "/other?EIO=4&transport=websocket");
  try {
    assert.notEqual(ws.status, 101, ws.statusLine);
    assert.ok(await ws.waitClosed(5000), "the connection must be closed");
  } finally {
    ws.destroy();
  }
});

test("a malformed request line → 400 and the connection closed", async () => {
  const { res, closed } = await rawExchange(Buffer.from("HELLO WORLD\r\n\r\n"));
  if (res) assert.equal(res.status, 400);
  assert.ok(closed);
});

test("a header line without a colon → 400 and the connection closed", async () => {
  const { res, closed } = await rawExchange(requestBytes(eioPath(), ["NoColonHere"]));
  if (res) assert.equal(res.status, 400);
  assert.ok(closed);
});

test("an HTTP/1.0 handshake is answered and the connection closed afterwards", async () => {
  const c = await HttpConn.open(srv.port);
  try {
    c.write(`GET ${eioPath()} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
    const res = await c.readResponse();
    assert.equal(res.status, 200);
    assert.ok(res.text.startsWith('0{"sid":'));
    assert.ok(await c.waitClosed(), "no keep-alive for HTTP/1.0 without Connection: keep-alive");
  } finally {
    c.destroy();
  }
});

test("Connection: close is honoured", async () => {
  const c = await HttpConn.open(srv.port);
  try {
    c.send({ path: eioPath(), headers: { Connection: "close" } });
    const res = await c.readResponse();
    assert.equal(res.status, 200);
    assert.ok(await c.waitClosed());
  } finally {
    c.destroy();
  }
});

test("requests of every header size from 150 to 1100 bytes are answered (buffer growth at every point)", async () => {
  // A regression found by fuzz_http: the request buffer grew while the path was being copied into it.
  const c = await HttpConn.open(srv.port);
  try {
    for (let n = 150; n <= 1100; n++) {
      const pad = "x".repeat(n - 150);
      c.send({ path: `/engine.io/?EIO=4&transport=nope&p=${pad}`, headers: { "X-Pad": "y" } });
      const res = await c.readResponse();
      assert.equal(res.status, 400, `size ${n}: status ${res.status}`);
    }
  } finally {
    c.destroy();
  }
});

test("one keep-alive connection alternating /socket.io/ and /engine.io/ requests: each reaches its app", async () => {
  // A regression: the connection stayed with the chained server after its first request there.
  const c = await HttpConn.open(srv.port);
  try {
    for (const path of ["/socket.io/", "/engine.io/", "/socket.io/", "/engine.io/"]) {
      c.send({ path: `${path}?EIO=4&transport=polling` });
      const res = await c.readResponse();
      assert.equal(res.status, 200, `${path}: status ${res.status}`);
      assert.match(res.body.toString(), /^0\{"sid"/, `${path}: an open packet`);
    }
  } finally {
    c.destroy();
  }
});

test("pipelined requests from a peer that never reads the answers do not grow the server's memory", async () => {
  const rss = () => {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${srv.proc.pid}/status`, "utf8"));
    return Number(m[1]) * 1024;
  };
  const before = rss();
  const c = await HttpConn.open(srv.port);
  try {
    const chunk = Buffer.from("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n".repeat(2000));
    let written = 0;
    const deadline = Date.now() + 8000;
    // Write until the kernel pushes back for good (the server stopped reading) or 64 MB went out.
    while (written < 64e6 && Date.now() < deadline) {
      if (!c.socket.write(chunk)) {
        const drained = await Promise.race([
          new Promise((r) => c.socket.once("drain", () => r(true))),
          new Promise((r) => setTimeout(() => r(false), 1500)),
        ]);
        if (!drained) break;
      }
      written += chunk.length;
    }
    const grown = rss() - before;
    if (!isSanitized) // under ASan, freed memory sits in its quarantine
      assert.ok(grown < 32e6, `server RSS grew by ${grown} bytes after ${written} bytes of pipelined requests`);
    assert.ok(written < 64e6, "the server kept reading requests whose answers nobody takes");
  } finally {
    c.destroy();
  }
});
