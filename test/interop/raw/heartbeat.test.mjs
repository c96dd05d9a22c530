// Engine.IO v4 heartbeat: the server pings (2), the client answers (3), a missing answer closes the session.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { RS, handshake, poll, post, assertEioError, MESSAGES, wsSession, describeFrame } from "./lib.mjs";

let hb; // pings every second, generous pong window
let to; // short interval and timeout, for the timeout tests

before(async () => {
  [hb, to] = await Promise.all([
    startServer({ args: ["--ping-interval", "1000", "--ping-timeout", "4000"], events: true }),
    startServer({ args: ["--ping-interval", "500", "--ping-timeout", "500"], events: true }),
  ]);
});
after(async () => {
  await Promise.all([hb?.stop(), to?.stop()]);
});

// Polls until something other than pings arrives (answering the pings); returns the other packets.
async function pollData(s, sid) {
  for (;;) {
    const res = await poll(s.port, sid, 8000);
    assert.equal(res.status, 200, res.text);
    const packets = res.text.split(RS);
    const other = packets.filter((p) => p !== "2");
    if (other.length < packets.length) await post(s.port, sid, "3");
    if (other.length) return other;
  }
}

const closeEvent = (s, sid, ms = 10000) => s.waitEvent((e) => e.event === "close" && e.sid === sid, ms);

test("polling: the server sends 2 every pingInterval; answering 3 keeps the session", async () => {
  const { sid } = await handshake(hb.port);
  for (let i = 0; i < 3; i++) {
    const res = await poll(hb.port, sid, 8000);
    assert.equal(res.status, 200);
    assert.equal(res.text, "2");
    const p = await post(hb.port, sid, "3");
    assert.equal(p.status, 200);
    assert.equal(p.text, "ok");
  }
  assert.equal((await post(hb.port, sid, "4alive")).status, 200);
  assert.deepEqual(await pollData(hb, sid), ["4alive"]);
  assert.equal(hb.events.find((e) => e.event === "close" && e.sid === sid), undefined);
});

test('polling: no answer to the ping → closed with "ping timeout", later GET 400 code 1', async () => {
  const { sid } = await handshake(to.port);
  const ev = await closeEvent(to, sid);
  assert.equal(ev.reason, "ping timeout");
  assertEioError(await poll(to.port, sid), 400, 1, MESSAGES[1]);
});

test('polling: ping received by a GET but not answered → "ping timeout"', async () => {
  const { sid } = await handshake(to.port);
  const res = await poll(to.port, sid, 8000);
  assert.equal(res.text, "2");
  const ev = await closeEvent(to, sid);
  assert.equal(ev.reason, "ping timeout");
  assertEioError(await poll(to.port, sid), 400, 1, MESSAGES[1]);
});

test("websocket: the server sends 2 every pingInterval; answering 3 keeps the session", async () => {
  const { ws, sid } = await wsSession(hb.port);
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal(await ws.nextText(8000), "2");
      ws.sendText("3");
    }
    ws.sendText("4alive");
    // a ping may come first
    let t = await ws.nextText(8000);
    if (t === "2") {
      ws.sendText("3");
      t = await ws.nextText(8000);
    }
    assert.equal(t, "4alive");
    assert.equal(hb.events.find((e) => e.event === "close" && e.sid === sid), undefined);
  } finally {
    ws.destroy();
  }
});

test('websocket: no answer to the ping → the WebSocket is closed, "ping timeout"', async () => {
  const { ws, sid } = await wsSession(to.port);
  try {
    const r = await ws.waitClose(10000);
    assert.ok(r.closeFrame || r.ended, "closed");
    assert.deepEqual(r.frames.map((f) => f.text), ["2"], `frames before the close: ${r.frames.map(describeFrame)}`);
    assert.equal((await closeEvent(to, sid)).reason, "ping timeout");
  } finally {
    ws.destroy();
  }
});

test("an unsolicited 3 (pong) is harmless (polling)", async () => {
  const { sid } = await handshake(hb.port);
  const p = await post(hb.port, sid, "3");
  assert.equal(p.status, 200);
  assert.equal((await post(hb.port, sid, "4x")).status, 200);
  assert.deepEqual(await pollData(hb, sid), ["4x"]);
  // the heartbeat still runs
  assert.equal((await poll(hb.port, sid, 8000)).text, "2");
  assert.equal((await post(hb.port, sid, "3")).status, 200);
  assert.equal(hb.events.find((e) => e.event === "close" && e.sid === sid), undefined);
});

test("a flood of 5000 unsolicited pongs in one payload is harmless (polling)", async () => {
  const { sid } = await handshake(hb.port);
  const p = await post(hb.port, sid, Array(5000).fill("3").join(RS));
  assert.equal(p.status, 200);
  assert.equal((await post(hb.port, sid, "4x")).status, 200);
  assert.deepEqual(await pollData(hb, sid), ["4x"]);
  assert.equal((await poll(hb.port, sid, 8000)).text, "2");
  assert.equal((await post(hb.port, sid, "3")).status, 200);
});

test("an unsolicited 3 (pong) is harmless (websocket)", async () => {
  const { ws, sid } = await wsSession(hb.port);
  try {
    for (let i = 0; i < 100; i++) ws.sendText("3");
    ws.sendText("4x");
    let t = await ws.nextText(8000);
    if (t === "2") {
      ws.sendText("3");
      t = await ws.nextText(8000);
    }
    assert.equal(t, "4x");
    assert.equal(hb.events.find((e) => e.event === "close" && e.sid === sid), undefined);
  } finally {
    ws.destroy();
  }
});
