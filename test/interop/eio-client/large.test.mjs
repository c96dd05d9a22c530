// engine.io-client 6: 900 KB messages echoed intact over polling and websocket.
//
// Note: over polling a binary message travels base64-encoded ("b" + base64), so 900 000 bytes become a
// 1 200 001-byte POST body, which exceeds the default maxHttpBufferSize of 1 000 000: engine.io 6 answers that
// POST with HTTP 413 and the message is lost. The intact-echo test for binary over polling therefore runs on a
// server with --max-payload 2000000, and a separate test pins the default-limit behaviour.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { openClient, closeAll, serverEvent, bytes, text, firstDiff, WAIT } from "./helpers.mjs";

const SIZE = 900000;

let server; // defaults (max payload 1 000 000)
let bigServer; // --max-payload 2000000
before(async () => {
  server = await startServer({ events: true });
  bigServer = await startServer({ events: true, args: ["--max-payload", "2000000"] });
});
after(async () => {
  closeAll();
  await server?.stop();
  await bigServer?.stop();
});

const T = { timeout: 60000 };

async function echoText(srv, mode) {
  const c = await openClient(srv, mode);
  try {
    const s = text(SIZE);
    assert.equal(Buffer.byteLength(s), SIZE, "test payload size");
    c.socket.send(s);
    const got = await c.next(3 * WAIT);
    assert.equal(typeof got, "string", "echo must come back as text");
    assert.ok(got === s, `900 KB text echo must be identical (${firstDiff(got, s)})`);
    const ev = await serverEvent(srv, c, "message");
    assert.equal(ev.binary, false, "server event binary flag");
    assert.equal(c.closed, null, "client must still be open");
  } finally {
    c.close();
  }
}

async function echoBinary(srv, mode) {
  const c = await openClient(srv, mode);
  try {
    const b = bytes(SIZE, 5);
    c.socket.send(b);
    const got = await c.next(3 * WAIT);
    assert.ok(Buffer.isBuffer(got), `echo must come back as binary, got ${typeof got}`);
    assert.ok(got.equals(b), `900 KB binary echo must be identical (${firstDiff(got, b)})`);
    const ev = await serverEvent(srv, c, "message");
    assert.equal(ev.binary, true, "server event binary flag");
    assert.equal(ev.length, SIZE, "server event length");
    assert.equal(c.closed, null, "client must still be open");
  } finally {
    c.close();
  }
}

test("900 KB text echoed intact over polling", T, () => echoText(server, "polling"));
test("900 KB text echoed intact over websocket", T, () => echoText(server, "websocket"));
test("900 KB binary echoed intact over websocket", T, () => echoBinary(server, "websocket"));
test("900 KB binary echoed intact over polling (--max-payload 2000000: base64 body is 1.2 MB)", T,
  () => echoBinary(bigServer, "polling"));

test("900 KB binary over polling with the default 1 MB limit: POST refused with 413, session ends", T, async () => {
  const c = await openClient(server, "polling");
  try {
    c.socket.send(bytes(SIZE));
    const closed = await c.waitClose(3 * WAIT);
    assert.equal(closed.reason, "transport error", "client close reason");
    const err = c.errors.find((e) => e && e.message === "xhr post error");
    assert.ok(err, `client must see "xhr post error", errors: ${c.errors.map(String)}`);
    assert.equal(err.description, 413, "the oversized POST must be answered with HTTP 413");
    assert.equal(server.events.find((e) => e.sid === c.sid && e.event === "message"), undefined,
      "the oversized message must not be delivered");
    // On its way out engine.io-client POSTs a close packet ("1") on the still-open polling transport, so the
    // server ends the session with "transport close" (not an error of its own).
    const ev = await serverEvent(server, c, "close", 3 * WAIT);
    assert.equal(ev.reason, "transport close", "server close reason after the refused POST");
  } finally {
    c.close();
  }
});
