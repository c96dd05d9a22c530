// Engine.IO v4 handshake, over polling and over a direct WebSocket, by hand.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { request, handshake, eioPath, post, poll, wsConnect, wsSession, acceptFor, RS } from "./lib.mjs";

const KEYS = ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"];
const SID = /^[A-Za-z0-9_-]{20}$/;

let srv; // defaults except a long heartbeat
let noUpg; // --no-upgrades, other numbers
let pollingOnly; // --transports polling

before(async () => {
  [srv, noUpg, pollingOnly] = await Promise.all([
    startServer({ args: ["--ping-interval", "25000", "--ping-timeout", "20000"] }),
    startServer({ args: ["--no-upgrades", "--ping-interval", "4000", "--ping-timeout", "3000", "--max-payload", "54321"] }),
    startServer({ args: ["--transports", "polling", "--ping-interval", "25000", "--ping-timeout", "20000"] }),
  ]);
});
after(async () => {
  await Promise.all([srv?.stop(), noUpg?.stop(), pollingOnly?.stop()]);
});

function checkOpenPacket(text, expected) {
  assert.ok(text.startsWith("0"), `not an open packet: ${JSON.stringify(text)}`);
  const open = JSON.parse(text.slice(1));
  assert.deepEqual(Object.keys(open), KEYS, "exactly these keys, in this order");
  assert.match(open.sid, SID);
  assert.equal(Buffer.from(open.sid, "base64url").length, 15, "sid is base64url of 15 bytes");
  assert.deepEqual(open.upgrades, expected.upgrades);
  assert.equal(open.pingInterval, expected.pingInterval);
  assert.equal(open.pingTimeout, expected.pingTimeout);
  assert.equal(open.maxPayload, expected.maxPayload);
  // compact JSON, nothing after it (no trailing separator or second packet)
  assert.equal(text, "0" + JSON.stringify(open));
  return open;
}

test("polling handshake: open packet, Content-Type, Cache-Control, Content-Length", async () => {
  const res = await request(srv.port, { path: eioPath() });
  assert.equal(res.status, 200);
  assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
  assert.equal(res.headers["cache-control"], "no-store");
  assert.equal(Number(res.headers["content-length"]), res.body.length);
  checkOpenPacket(res.text, { upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
});

test("polling handshake with extra query parameters (t=, b64=) still opens a session", async () => {
  const res = await request(srv.port, { path: `${eioPath()}&t=PqR-7xy&b64=1` });
  assert.equal(res.status, 200);
  checkOpenPacket(res.text, { upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
});

test("--no-upgrades: upgrades is [] and the numbers follow the flags", async () => {
  const res = await request(noUpg.port, { path: eioPath() });
  assert.equal(res.status, 200);
  checkOpenPacket(res.text, { upgrades: [], pingInterval: 4000, pingTimeout: 3000, maxPayload: 54321 });
});

test("--transports polling: upgrades is []", async () => {
  const res = await request(pollingOnly.port, { path: eioPath() });
  assert.equal(res.status, 200);
  checkOpenPacket(res.text, { upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
});

test("Cache-Control: no-store on every polling answer (handshake, POST, GET)", async () => {
  const { sid, res: hs } = await handshake(srv.port);
  assert.equal(hs.headers["cache-control"], "no-store");
  const p = await post(srv.port, sid, "4hello");
  assert.equal(p.status, 200);
  assert.equal(p.headers["cache-control"], "no-store");
  const g = await poll(srv.port, sid);
  assert.equal(g.status, 200);
  assert.equal(g.text, "4hello");
  assert.equal(g.headers["cache-control"], "no-store");
  assert.equal(g.headers["content-type"], "text/plain; charset=UTF-8");
});

test("session ids are unique and well-formed over 300 handshakes", async () => {
  const sids = new Set();
  for (let round = 0; round < 10; round++) {
    const batch = await Promise.all(Array.from({ length: 30 }, () => handshake(srv.port)));
    for (const { sid } of batch) {
      assert.match(sid, SID);
      assert.ok(!sids.has(sid), `duplicate sid ${sid}`);
      sids.add(sid);
    }
  }
  assert.equal(sids.size, 300);
  // the handshakes opened real sessions: each can be polled (answer pending), pick one and post/poll on it
  const some = [...sids][123];
  assert.equal((await post(srv.port, some, "4x")).status, 200);
  assert.equal((await poll(srv.port, some)).text, "4x");
});

test("direct WebSocket handshake: 101, Sec-WebSocket-Accept, first frame is the open packet with upgrades []", async () => {
  const key = "dGhlIHNhbXBsZSBub25jZQ==";
  const ws = await wsConnect(srv.port, eioPath({ transport: "websocket" }), { key });
  try {
    assert.equal(ws.status, 101);
    assert.equal(ws.headers["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert.equal(acceptFor(key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert.equal(ws.headers.upgrade.toLowerCase(), "websocket");
    assert.match(ws.headers.connection, /upgrade/i);
    assert.equal(ws.headers["sec-websocket-extensions"], undefined, "no permessage-deflate unless asked");
    const f = await ws.nextFrame();
    assert.equal(f.type, "text");
    assert.equal(f.fin, true);
    assert.equal(f.masked, false, "server frames are not masked");
    assert.equal(f.rsv, 0);
    checkOpenPacket(f.text, { upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
  } finally {
    ws.destroy();
  }
});

test("direct WebSocket handshake offering permessage-deflate: not negotiated (perMessageDeflate off)", async () => {
  const ws = await wsConnect(srv.port, eioPath({ transport: "websocket" }), {
    headers: { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" },
  });
  try {
    assert.equal(ws.headers["sec-websocket-extensions"], undefined);
    const f = await ws.nextFrame();
    assert.equal(f.rsv, 0);
    checkOpenPacket(f.text, { upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
  } finally {
    ws.destroy();
  }
});

test("direct WebSocket session echoes a message", async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    assert.match(sid, SID);
    ws.sendText("4ping?");
    assert.equal(await ws.nextText(), "4ping?");
  } finally {
    ws.destroy();
  }
});

test("direct WebSocket with --no-upgrades: upgrades [] and the flag values", async () => {
  const ws = await wsConnect(noUpg.port, eioPath({ transport: "websocket" }));
  try {
    checkOpenPacket(await ws.nextText(), { upgrades: [], pingInterval: 4000, pingTimeout: 3000, maxPayload: 54321 });
  } finally {
    ws.destroy();
  }
});

test("the open packet is alone in the handshake answer (no message appended)", async () => {
  const res = await request(srv.port, { path: eioPath() });
  assert.ok(!res.text.includes(RS));
});
