// Polling → WebSocket upgrade, by hand.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import {
  RS, sleep, handshake, eioPath, poll, post, startPoll, settledWithin, pollUntil, assertEioError, MESSAGES, wsConnect,
  describeFrame,
} from "./lib.mjs";

let srv; // default upgrade timeout (10 s)
let short; // --upgrade-timeout 500

before(async () => {
  const common = ["--ping-interval", "20000", "--ping-timeout", "20000", "--test-commands"];
  [srv, short] = await Promise.all([
    startServer({ args: common, events: true }),
    startServer({ args: [...common, "--upgrade-timeout", "500"], events: true }),
  ]);
});
after(async () => {
  await Promise.all([srv?.stop(), short?.stop()]);
});

const wsFor = (s, sid) => wsConnect(s.port, eioPath({ transport: "websocket", sid }));
const upgraded = (s, sid) => s.waitEvent((e) => e.event === "upgrade" && e.sid === sid);

test("full upgrade: probe, the parked GET gets 6, 5, then messages flow over the WebSocket only", async () => {
  const { sid, open } = await handshake(srv.port);
  assert.deepEqual(open.upgrades, ["websocket"]);
  const parked = await startPoll(srv.port, sid);
  const ws = await wsFor(srv, sid);
  try {
    await sleep(300);
    assert.equal(await settledWithin(parked.response, 1), "pending", "nothing to send yet");
    ws.sendText("2probe");
    const probe = await ws.nextFrame();
    assert.equal(probe.type, "text", describeFrame(probe));
    assert.equal(probe.text, "3probe");
    const res = await parked.response;
    assert.equal(res.status, 200, res.error?.message);
    assert.equal(res.text, "6", "the parked GET is answered with a noop");
    ws.sendText("5");
    const ev = await upgraded(srv, sid);
    assert.equal(ev.transport, "websocket");
    ws.sendText("4hello");
    assert.equal(await ws.nextText(), "4hello");
    const b = Buffer.from([0, 1, 2, 255]);
    ws.sendBinary(b);
    const f = await ws.nextData();
    assert.equal(f.type, "binary");
    assert.deepEqual(f.payload, b);
    // polling is over for this session
    assertEioError(await poll(srv.port, sid), 400, 3, MESSAGES[3]);
    assertEioError(await post(srv.port, sid, "4x"), 400, 3, MESSAGES[3]);
    // and the WebSocket still works
    ws.sendText("4again");
    assert.equal(await ws.nextText(), "4again");
  } finally {
    parked.conn.destroy();
    ws.destroy();
  }
});

test("upgrade without a parked GET", async () => {
  const { sid } = await handshake(srv.port);
  const ws = await wsFor(srv, sid);
  try {
    ws.sendText("2probe");
    assert.equal(await ws.nextText(), "3probe");
    ws.sendText("5");
    await upgraded(srv, sid);
    ws.sendText("4hello");
    assert.equal(await ws.nextText(), "4hello");
    assertEioError(await poll(srv.port, sid), 400, 3, MESSAGES[3]);
  } finally {
    ws.destroy();
  }
});

test("5 without 2probe is accepted", async () => {
  const { sid } = await handshake(srv.port);
  const ws = await wsFor(srv, sid);
  try {
    ws.sendText("5");
    await upgraded(srv, sid);
    ws.sendText("4hello");
    assert.equal(await ws.nextText(), "4hello");
    assertEioError(await poll(srv.port, sid), 400, 3, MESSAGES[3]);
  } finally {
    ws.destroy();
  }
});

for (const [name, probeFirst] of [
  ["after the probe", true],
  ["instead of the probe", false],
]) {
  test(`a message on the probe WebSocket (${name}) closes that WebSocket; polling keeps working`, async () => {
    const { sid } = await handshake(srv.port);
    const ws = await wsFor(srv, sid);
    try {
      if (probeFirst) {
        ws.sendText("2probe");
        assert.equal(await ws.nextText(), "3probe");
      }
      ws.sendText("4hello");
      const r = await ws.waitClose();
      assert.ok(r.closeFrame || r.ended, "the probe WebSocket is closed");
      assert.deepEqual(r.frames, [], `no data on it: ${r.frames.map(describeFrame)}`);
    } finally {
      ws.destroy();
    }
    assert.equal(srv.events.find((e) => e.event === "upgrade" && e.sid === sid), undefined);
    assert.equal(srv.events.find((e) => e.event === "close" && e.sid === sid), undefined, "the session is still open");
    assert.equal((await post(srv.port, sid, "4after")).status, 200);
    const packets = await pollUntil(srv.port, sid, (p) => p.includes("4after"));
    assert.deepEqual(packets, ["4after"], "the message sent on the probe WebSocket was not delivered");
  });
}

test("no 5 within --upgrade-timeout (500 ms): the WebSocket is closed, polling keeps working", async () => {
  const { sid } = await handshake(short.port);
  const ws = await wsFor(short, sid);
  try {
    ws.sendText("2probe");
    assert.equal(await ws.nextText(), "3probe");
    const r = await ws.waitClose(8000);
    assert.ok(r.closeFrame || r.ended, "the WebSocket is closed");
    assert.deepEqual(r.frames, [], `no data on it: ${r.frames.map(describeFrame)}`);
  } finally {
    ws.destroy();
  }
  assert.equal(short.events.find((e) => e.event === "upgrade" && e.sid === sid), undefined);
  assert.equal((await post(short.port, sid, "4after")).status, 200);
  const packets = await pollUntil(short.port, sid, (p) => p.includes("4after"));
  assert.deepEqual(packets, ["4after"]);
  assert.equal(short.events.find((e) => e.event === "close" && e.sid === sid), undefined);
});

test("no probe at all within --upgrade-timeout: the WebSocket is closed, polling keeps working", async () => {
  const { sid } = await handshake(short.port);
  const ws = await wsFor(short, sid);
  try {
    const r = await ws.waitClose(8000);
    assert.ok(r.closeFrame || r.ended, "the WebSocket is closed");
  } finally {
    ws.destroy();
  }
  assert.equal((await post(short.port, sid, "4after")).status, 200);
  assert.deepEqual(await pollUntil(short.port, sid, (p) => p.includes("4after")), ["4after"]);
});

test("the probe WebSocket closed by the client before 5: polling keeps working", async () => {
  const { sid } = await handshake(srv.port);
  const ws = await wsFor(srv, sid);
  ws.sendText("2probe");
  assert.equal(await ws.nextText(), "3probe");
  ws.destroy();
  await sleep(300);
  assert.equal((await post(srv.port, sid, "4after")).status, 200);
  assert.deepEqual(await pollUntil(srv.port, sid, (p) => p.includes("4after")), ["4after"]);
  assert.equal(srv.events.find((e) => e.event === "close" && e.sid === sid), undefined);
});

test("messages sent by the server during the upgrade window arrive on the WebSocket after 5, in order", async () => {
  const { sid } = await handshake(srv.port);
  const ws = await wsFor(srv, sid);
  try {
    ws.sendText("2probe");
    assert.equal(await ws.nextText(), "3probe");
    // the server sends 0..9 while the upgrade is under way and no GET is parked
    assert.equal((await post(srv.port, sid, "4__send__10")).status, 200);
    await sleep(200);
    ws.sendText("5");
    const got = [];
    for (let i = 0; i < 10; i++) got.push(await ws.nextText());
    assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `4${i}`));
    ws.sendText("4end");
    assert.equal(await ws.nextText(), "4end");
  } finally {
    ws.destroy();
  }
});

test("client messages posted over polling during the upgrade window are delivered, then the WebSocket takes over", async () => {
  const { sid } = await handshake(srv.port);
  const ws = await wsFor(srv, sid);
  try {
    ws.sendText("2probe");
    assert.equal(await ws.nextText(), "3probe");
    assert.equal((await post(srv.port, sid, `4a${RS}4b`)).status, 200);
    ws.sendText("5");
    ws.sendText("4c");
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await ws.nextText());
    assert.deepEqual(got, ["4a", "4b", "4c"]);
  } finally {
    ws.destroy();
  }
});

test("after the upgrade, a close frame from the client closes the session (transport close)", async () => {
  const { sid } = await handshake(srv.port);
  const ws = await wsFor(srv, sid);
  try {
    ws.sendText("2probe");
    assert.equal(await ws.nextText(), "3probe");
    ws.sendText("5");
    await upgraded(srv, sid);
    ws.close(1000);
    const r = await ws.waitClose();
    assert.ok(r.closeFrame, "the server answers the close frame");
    const ev = await srv.waitEvent((e) => e.event === "close" && e.sid === sid);
    assert.equal(ev.reason, "transport close");
  } finally {
    ws.destroy();
  }
  assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
});

test("server-side close after the upgrade: close packet 1 or a close frame on the WebSocket", async () => {
  const { sid } = await handshake(srv.port);
  const ws = await wsFor(srv, sid);
  try {
    ws.sendText("2probe");
    assert.equal(await ws.nextText(), "3probe");
    ws.sendText("5");
    await upgraded(srv, sid);
    ws.sendText("4__close__");
    const r = await ws.waitClose();
    assert.ok(r.closeFrame || r.ended);
    // engine.io closes a WebSocket transport without sending a close packet first
    for (const f of r.frames) assert.equal(f.text, "1", `unexpected frame ${describeFrame(f)}`);
    const ev = await srv.waitEvent((e) => e.event === "close" && e.sid === sid);
    assert.equal(ev.reason, "forced close");
  } finally {
    ws.destroy();
  }
});
