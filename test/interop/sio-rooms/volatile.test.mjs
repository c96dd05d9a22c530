// Volatile broadcasts (io.to(...).volatile.emit): a raw polling client with no GET waiting does not get the packet,
// one with a GET waiting does; an idle WebSocket client does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { SioPoll, RS, sleep } from "../sio-raw/lib.mjs";
import { SERVER_ARGS, connect, close, closeAll, cmd } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ args: SERVER_ARGS });
});
after(async () => {
  closeAll();
  await server?.stop();
});

test("volatile over polling: dropped while no GET waits, delivered to a waiting GET; the non-volatile one is queued", { timeout: 30000 }, async () => {
  const p = await SioPoll.open(server.port);
  const pid = await p.connect("/"); // every answer read: no GET is pending now
  const ctl = await connect(server, "websocket");
  try {
    assert.equal(await cmd(ctl, "__to__", { rooms: [pid], event: "t7-v1", args: [1], volatile: true }), "ok");
    assert.equal(await cmd(ctl, "__to__", { rooms: [pid], event: "t7-n1", args: [2] }), "ok");
    // the namespace's broadcast, volatile, from a socket: the polling client is not writable either
    assert.equal(await cmd(ctl, "__to__", { from_socket: true, event: "t7-v1b", volatile: true }), "ok");
    const first = await p.get();
    assert.equal(first.status, 200);
    assert.deepEqual(first.text.split(RS), ['42["t7-n1",2]'], "only the non-volatile packet was kept");

    // a GET waits now (nothing is queued, so the server holds it): the volatile packet goes out on it
    const waiting = p.get(10000);
    await sleep(300);
    assert.equal(await cmd(ctl, "__to__", { rooms: [pid], event: "t7-v2", args: ["x"], volatile: true }), "ok");
    const second = await waiting;
    assert.equal(second.status, 200);
    assert.deepEqual(second.text.split(RS), ['42["t7-v2","x"]']);
  } finally {
    close(ctl);
  }
});

test("volatile to an idle WebSocket client is delivered", { timeout: 30000 }, async () => {
  const ctl = await connect(server, "websocket");
  const idle = await connect(server, "websocket");
  try {
    await sleep(100);
    assert.equal(await cmd(ctl, "__to__", { rooms: [idle.socket.id], event: "t7-ws", args: [3], volatile: true }), "ok");
    assert.deepEqual(await idle.waitEvent("t7-ws"), [3]);
  } finally {
    close(ctl);
    close(idle);
  }
});
