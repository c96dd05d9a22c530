// connectTimeout (1000 ms in the Socket.IO app): an Engine.IO connection that joins no namespace in time is closed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { SioWs, SioPoll, RS, sleep, disconnectReason, sioPath } from "./lib.mjs";
import { HttpConn } from "../raw/lib.mjs";

let srv; // long heartbeat: only connectTimeout can close
let quick; // default heartbeat 300/200
before(async () => {
  [srv, quick] = await Promise.all([
    startServer({ events: true, args: ["--test-commands", "--ping-interval", "20000", "--ping-timeout", "20000"] }),
    startServer({ events: true, args: ["--test-commands"] }),
  ]);
});
after(async () => {
  await Promise.all([srv?.stop(), quick?.stop()]);
});

const T = { timeout: 20000 };
const connections = (s) => s.events.filter((e) => e.event === "sio-connection").length;

test("no CONNECT: the WebSocket connection is closed after connectTimeout", T, async () => {
  const before = connections(srv);
  const t0 = Date.now();
  const s = await SioWs.open(srv.port);
  try {
    await s.assertClosed(8000);
    assert.ok(Date.now() - t0 >= 500, `closed after ${Date.now() - t0} ms, expected about 1000`);
    assert.equal(connections(srv), before, "no sio-connection");
  } finally {
    s.destroy();
  }
});

test("no CONNECT: the polling session is closed after connectTimeout (the parked GET gets the close packet)", T, async () => {
  const t0 = Date.now();
  const p = await SioPoll.open(srv.port);
  const res = await p.get(8000);
  assert.equal(res.status, 200);
  assert.deepEqual(res.text.split(RS).filter((x) => x !== "6"), ["1"]);
  assert.ok(Date.now() - t0 >= 500, `closed after ${Date.now() - t0} ms, expected about 1000`);
  assert.equal((await p.get()).status, 400, "the session is gone");
});

test("no CONNECT, the client answering pings (heartbeat 300/200): closed by connectTimeout, not by the heartbeat", T, async () => {
  const before = connections(quick);
  const s = await SioWs.open(quick.port);
  try {
    let pongs = 0;
    const deadline = Date.now() + 8000;
    let closed = false;
    while (!closed && Date.now() < deadline) {
      const f = await s.ws.nextFrame(Math.max(1, deadline - Date.now()));
      if (f.type === "text" && f.text === "2") {
        s.sendRaw("3");
        pongs++;
      } else if (f.type === "close" || f.type === "end") {
        closed = true;
      } else {
        assert.fail(`unexpected frame ${f.type} ${f.text ?? ""}`);
      }
    }
    assert.ok(closed, "closed");
    assert.ok(pongs >= 1, `the server pinged before closing (pongs ${pongs})`);
    assert.equal(connections(quick), before, "no sio-connection");
  } finally {
    s.destroy();
  }
});

test("only a refused CONNECT (Invalid namespace): still closed after connectTimeout", T, async () => {
  const s = await SioWs.open(srv.port);
  try {
    s.send("0/nope,");
    assert.equal(await s.nextText(), '4/nope,{"message":"Invalid namespace"}');
    await s.assertClosed(8000);
  } finally {
    s.destroy();
  }
});

test("a CONNECT before connectTimeout keeps the connection beyond it", T, async () => {
  const s = await SioWs.open(srv.port);
  try {
    await sleep(400);
    const id = await s.connect("/");
    await sleep(1500);
    await s.assertAlive();
    assert.ok(!srv.events.some((e) => e.id === id && e.event === "sio-disconnect"));
  } finally {
    s.destroy();
  }
});

test("a CONNECT to /custom only also clears connectTimeout", T, async () => {
  const p = await SioPoll.open(srv.port);
  const id = await p.connect("/custom");
  await sleep(1500);
  await p.send('2/custom,["__emit_with_ack__","q",5000]');
  const q = await p.nextText();
  const m = /^2\/custom,(\d+)\["q"\]$/.exec(q);
  assert.ok(m, JSON.stringify(q));
  await p.send(`3/custom,${m[1]}[]`);
  assert.equal(await p.nextText(), '2/custom,["__ack_result__",{"err":null,"args":[]}]');
  await p.send("1/custom,");
  assert.equal(await disconnectReason(srv, id), "client namespace disconnect");
  await p.post("1");
});

test("ping timeout: a joined socket whose client stops answering pings gets \"ping timeout\"", T, async () => {
  const s = await SioWs.open(quick.port);
  try {
    const id = await s.connect("/");
    // stop reading and answering: the server closes after pingInterval + pingTimeout
    const r = await s.ws.waitClose(8000);
    assert.ok(r.closeFrame || r.ended);
    assert.equal(await disconnectReason(quick, id, 8000), "ping timeout");
  } finally {
    s.destroy();
  }
});

test("transport close: the client closes its WebSocket → \"transport close\"", T, async () => {
  const s = await SioWs.open(srv.port);
  const id = await s.connect("/");
  s.ws.close(1000);
  await s.ws.waitClose();
  assert.equal(await disconnectReason(srv, id), "transport close");
  s.destroy();
});

test("transport close: the client drops the TCP connection → \"transport close\"", T, async () => {
  const s = await SioWs.open(srv.port);
  const id = await s.connect("/");
  s.destroy();
  assert.equal(await disconnectReason(srv, id), "transport close");
});

test("Engine.IO close packet (1 over polling) → \"transport close\"", T, async () => {
  const p = await SioPoll.open(srv.port);
  const id = await p.connect("/");
  await p.post("1");
  assert.equal(await disconnectReason(srv, id), "transport close");
});

test("Engine.IO parse error (an invalid Engine.IO packet) → \"parse error\"", T, async () => {
  const p = await SioPoll.open(srv.port);
  const id = await p.connect("/");
  const res = await p.post("x");
  assert.equal(res.status, 200);
  assert.equal(await disconnectReason(srv, id), "parse error");
});

test("polling: an aborted GET → \"transport error\"", T, async () => {
  const p = await SioPoll.open(srv.port);
  const id = await p.connect("/");
  // a GET parked on its own connection, then the connection dropped
  const conn = await HttpConn.open(srv.port);
  conn.send({ path: sioPath({ sid: p.sid }) });
  await sleep(200);
  conn.destroy();
  assert.equal(await disconnectReason(srv, id), "transport error");
});
