// engine.io-client 6: handshake, upgrade and transport selection.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { openClient, closeAll, serverEvent, sleep, WAIT } from "./helpers.mjs";

let server; // default flags
let noUpgrades; // --no-upgrades

before(async () => {
  server = await startServer({ events: true });
  noUpgrades = await startServer({ events: true, args: ["--no-upgrades"] });
});
after(async () => {
  closeAll();
  await server?.stop();
  await noUpgrades?.stop();
});

const T = { timeout: 30000 };

test("handshake over polling advertises the configured parameters", T, async () => {
  const c = await openClient(server, "polling");
  try {
    assert.ok(c.handshake, "client saw no handshake (open packet)");
    assert.equal(typeof c.handshake.sid, "string", "handshake sid must be a string");
    assert.ok(c.handshake.sid.length > 0, "handshake sid must not be empty");
    assert.deepEqual(c.handshake.upgrades, ["websocket"], "polling handshake must offer the websocket upgrade");
    assert.equal(c.handshake.pingInterval, 300, "handshake pingInterval");
    assert.equal(c.handshake.pingTimeout, 200, "handshake pingTimeout");
    assert.equal(c.handshake.maxPayload, 1000000, "handshake maxPayload");
    const conn = await serverEvent(server, c, "connection");
    assert.equal(conn.transport, "polling", "server connection event transport");
  } finally {
    c.close();
  }
});

test("polling handshake then upgrade to websocket; echo still works after the upgrade", T, async () => {
  const c = await openClient(server, "upgrade");
  try {
    const conn = await serverEvent(server, c, "connection");
    assert.equal(conn.transport, "polling", "connection must start on polling");
    const to = await c.waitUpgrade(WAIT);
    assert.equal(to, "websocket", "client upgrade event must name websocket");
    assert.equal(c.socket.transport.name, "websocket", "client transport after upgrade");
    const up = await serverEvent(server, c, "upgrade");
    assert.equal(up.transport, "websocket", "server upgrade event transport");
    const evs = server.events.filter((e) => e.sid === c.sid).map((e) => e.event);
    assert.ok(evs.indexOf("connection") < evs.indexOf("upgrade"),
      `server must report connection before upgrade, got ${JSON.stringify(evs)}`);

    c.socket.send("after upgrade");
    assert.equal(await c.next(), "after upgrade", "text echo after upgrade");
    c.socket.send(Buffer.from([1, 2, 3, 250]));
    assert.deepEqual(await c.next(), Buffer.from([1, 2, 3, 250]), "binary echo after upgrade");
    assert.equal(c.closed, null, "client must still be open");
  } finally {
    c.close();
  }
});

test("websocket-only client: connection on websocket, echo works", T, async () => {
  const c = await openClient(server, "websocket");
  try {
    const conn = await serverEvent(server, c, "connection");
    assert.equal(conn.transport, "websocket", "server connection event transport");
    assert.equal(c.socket.transport.name, "websocket", "client transport");
    assert.deepEqual(c.handshake.upgrades, [], "websocket handshake must offer no upgrades");
    c.socket.send("ws only");
    assert.equal(await c.next(), "ws only", "text echo over websocket");
  } finally {
    c.close();
  }
});

test("polling-only client: echo works, no upgrade ever happens", T, async () => {
  const c = await openClient(server, "polling");
  try {
    const conn = await serverEvent(server, c, "connection");
    assert.equal(conn.transport, "polling", "server connection event transport");
    for (let i = 0; i < 5; i++) {
      c.socket.send(`poll ${i}`);
      assert.equal(await c.next(), `poll ${i}`, `text echo ${i} over polling`);
    }
    await sleep(1000); // several ping intervals: room for an (unwanted) upgrade to show up
    assert.equal(c.upgradedTo, null, "client must not upgrade");
    assert.equal(c.socket.transport.name, "polling", "client transport must stay polling");
    assert.equal(server.events.find((e) => e.sid === c.sid && e.event === "upgrade"), undefined,
      "server must not report an upgrade");
    assert.equal(c.closed, null, "client must still be open");
  } finally {
    c.close();
  }
});

test("--no-upgrades: handshake offers no upgrades and an upgrade-capable client stays on polling", T, async () => {
  const c = await openClient(noUpgrades, "upgrade");
  try {
    assert.deepEqual(c.handshake.upgrades, [], "handshake upgrades with --no-upgrades");
    c.socket.send("still polling");
    assert.equal(await c.next(), "still polling", "text echo");
    await sleep(1000);
    assert.equal(c.upgradedTo, null, "client must not upgrade");
    assert.equal(noUpgrades.events.find((e) => e.sid === c.sid && e.event === "upgrade"), undefined,
      "server must not report an upgrade");
  } finally {
    c.close();
  }
});
