// @socket.io/redis-emitter 5.x in this test process (new Emitter(redisClient)) drives two servers under test (ours, or
// Node's under EIO_SERVER=reference) through Redis: emit, to(room), except, of(nsp), binary, socketsJoin,
// socketsLeave, disconnectSockets, serverSideEmit; and --redis-key.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import {
  startRedis, startClusterServer, waitSubscribed, connect, close, closeAll, cmd, assertCounts, assertSameArgs, bytes,
  serverEvent, waitServerSide, withTimeout, WAIT,
} from "./lib/cluster.mjs";

const require = createRequire(import.meta.url);
const { createClient } = require("redis");
const { Emitter } = require("@socket.io/redis-emitter");

let redis, A, B, pub, emitter;
before(async () => {
  redis = await startRedis();
  [A, B] = await Promise.all([startClusterServer(redis), startClusterServer(redis)]);
  await waitSubscribed(redis, 2);
  pub = createClient({ url: redis.url });
  pub.on("error", () => {});
  await pub.connect();
  emitter = new Emitter(pub);
});
after(async () => {
  closeAll();
  await pub?.quit().catch(() => {});
  await Promise.all([A?.stop(), B?.stop()]);
  await redis?.stop();
});

const T = { timeout: 20000 };

// nA clients on A and nB on B (namespace nsp), mixed transports.
async function spread(nA, nB, nsp = "/") {
  const as = await Promise.all(Array.from({ length: nA }, (_, i) => connect(A, i % 2 ? "polling" : "websocket", { nsp })));
  const bs = await Promise.all(Array.from({ length: nB }, (_, i) => connect(B, i % 2 ? "websocket" : "polling", { nsp })));
  return { as, bs, all: [...as, ...bs] };
}
const joinAll = async (clients, room) => { for (const c of clients) await cmd(c, "__join__", room); };

// The emitter's messages reach each server in publication order: once `event` sent to every client's own room has
// arrived everywhere, so has everything published before it.
async function flush(em, clients, event) {
  em.to(clients.map((c) => c.socket.id)).emit(event);
  await withTimeout(Promise.all(clients.map((c) => c.waitEvent(event))), WAIT, `"${event}" at every client`);
}

test("emit: every socket of \"/\" on both servers, once; not \"/custom\"", T, async () => {
  const { all } = await spread(2, 2);
  const custom = await spread(1, 1, "/custom");
  try {
    emitter.emit("e1", "hello", { n: 1 }, [true, null]);
    for (const c of all) assert.deepEqual(await c.waitEvent("e1"), ["hello", { n: 1 }, [true, null]]);
    await flush(emitter, all, "e1-flush");
    await flush(emitter.of("/custom"), custom.all, "e1-flush-custom");
    assertCounts(all, "e1", [1, 1, 1, 1], "emit");
    assertCounts(custom.all, "e1", [0, 0], "emit on / at /custom");
  } finally {
    for (const c of [...all, ...custom.all]) close(c);
  }
});

test("to(room): only that room's clients; several rooms; except", T, async () => {
  const { as, bs, all } = await spread(2, 3);
  try {
    await joinAll([as[0], bs[0], bs[1]], "e2-R");
    await joinAll([bs[1], bs[2]], "e2-S");
    emitter.to("e2-R").emit("e2-one", 1);
    emitter.to(["e2-R", "e2-S"]).emit("e2-two", 2);
    emitter.to("e2-R").except("e2-S").emit("e2-ex", 3);
    emitter.except(bs[0].socket.id).emit("e2-all-but", 4);
    await flush(emitter, all, "e2-flush");
    assertCounts(all, "e2-one", [1, 0, 1, 1, 0], "to(R)");
    assertCounts(all, "e2-two", [1, 0, 1, 1, 1], "to([R, S])");
    assertCounts(all, "e2-ex", [1, 0, 1, 0, 0], "to(R).except(S)");
    assertCounts(all, "e2-all-but", [1, 1, 0, 1, 1], "except(b0)");
    assert.deepEqual(as[0].events.find((e) => e[0] === "e2-one"), ["e2-one", 1]);
  } finally {
    for (const c of all) close(c);
  }
});

test("of(\"/custom\"): only that namespace's clients, rooms included", T, async () => {
  const root = await spread(1, 1);
  const { as, bs, all } = await spread(2, 2, "/custom");
  try {
    await joinAll([as[1], bs[0]], "e3-R");
    await cmd(root.as[0], "__join__", "e3-R");
    const custom = emitter.of("custom"); // "/" is prepended
    custom.emit("e3-all", "c");
    custom.to("e3-R").emit("e3-room");
    await flush(custom, all, "e3-flush");
    await flush(emitter, root.all, "e3-flush-root");
    assertCounts(all, "e3-all", [1, 1, 1, 1], "of(/custom).emit");
    assertCounts(all, "e3-room", [0, 1, 1, 0], "of(/custom).to(R)");
    assertCounts(root.all, "e3-all", [0, 0], "/ clients");
    assertCounts(root.all, "e3-room", [0, 0], "/ clients in a room of the same name");
  } finally {
    for (const c of [...all, ...root.all]) close(c);
  }
});

test("binary arguments from the emitter arrive as binary", T, async () => {
  const { all } = await spread(1, 1);
  try {
    const args = [bytes(1000, 9), { b: bytes(1) }, "x"];
    emitter.to(all.map((c) => c.socket.id)).emit("e4", ...args);
    emitter.to(all[1].socket.id).emit("e4-one", bytes(3));
    for (const c of all) assertSameArgs(await c.waitEvent("e4"), args, "binary from the emitter");
    assertSameArgs(await all[1].waitEvent("e4-one"), [bytes(3)], "binary to one room");
  } finally {
    for (const c of all) close(c);
  }
});

test("socketsJoin and socketsLeave from the emitter, seen by its following broadcasts and __rooms__", T, async () => {
  const { as, bs, all } = await spread(2, 2);
  try {
    await joinAll([as[0], bs[1]], "e5-R");
    emitter.in("e5-R").socketsJoin(["e5-X", "e5-Y"]);
    emitter.to("e5-X").emit("e5-x");
    await flush(emitter, all, "e5-flush");
    assertCounts(all, "e5-x", [1, 0, 0, 1], "to(X) after socketsJoin");
    assert.deepEqual(await cmd(bs[1], "__rooms__"), [bs[1].socket.id, "e5-R", "e5-X", "e5-Y"]);
    assert.deepEqual(await cmd(as[0], "__rooms__"), [as[0].socket.id, "e5-R", "e5-X", "e5-Y"]);
    // the test's sockets but b1 join Z; then every socket leaves X
    emitter.in(all.map((c) => c.socket.id)).except(bs[1].socket.id).socketsJoin("e5-Z");
    emitter.socketsLeave("e5-X");
    emitter.to("e5-X").emit("e5-x2");
    emitter.to("e5-Z").emit("e5-z");
    await flush(emitter, all, "e5-flush2");
    assertCounts(all, "e5-x2", [0, 0, 0, 0], "to(X) after socketsLeave");
    assertCounts(all, "e5-z", [1, 1, 1, 0], "to(Z)");
    assert.deepEqual(await cmd(bs[1], "__rooms__"), [bs[1].socket.id, "e5-R", "e5-Y"]);
    assert.equal(await cmd(as[1], "__room_size__", "e5-Z"), 2);
  } finally {
    for (const c of all) close(c);
  }
});

test("disconnectSockets from the emitter: the room's sockets get \"io server disconnect\"; close: true ends connections", T, async () => {
  const { as, bs, all } = await spread(2, 2);
  try {
    await joinAll([as[0], bs[0]], "e6-R");
    const ids = [as[0].socket.id, bs[0].socket.id];
    const discs = [as[0], bs[0]].map((c) => c.waitDisconnect());
    emitter.in("e6-R").disconnectSockets();
    for (const d of await Promise.all(discs)) assert.equal(d.reason, "io server disconnect");
    assert.equal((await serverEvent(A, "sio-disconnect", ids[0])).reason, "server namespace disconnect");
    assert.equal((await serverEvent(B, "sio-disconnect", ids[1])).reason, "server namespace disconnect");
    await flush(emitter, [as[1], bs[1]], "e6-flush");
    assert.equal(as[1].socket.connected && bs[1].socket.connected, true, "the others stay");
    // close: true on b1's own room
    const closed = new Promise((resolve) => bs[1].socket.io.once("close", (reason) => resolve(reason)));
    emitter.in(bs[1].socket.id).disconnectSockets(true);
    assert.equal((await bs[1].waitDisconnect()).reason, "io server disconnect");
    assert.equal(await closed, "forced close");
    assert.equal(await as[1].socket.timeout(5000).emitWithAck("message-with-ack", "alive"), "alive");
  } finally {
    for (const c of all) close(c);
  }
});

test("serverSideEmit from the emitter reaches the \"__sse__\" handler of both servers, per namespace", T, async () => {
  emitter.serverSideEmit("__sse__", "e7", { n: [1, 2] }, null);
  await waitServerSide(A, ["e7", { n: [1, 2] }, null]);
  await waitServerSide(B, ["e7", { n: [1, 2] }, null]);
  emitter.of("/custom").serverSideEmit("__sse__", "e7-custom");
  await waitServerSide(A, ["e7-custom"], "/custom");
  await waitServerSide(B, ["e7-custom"], "/custom");
  assert.equal(A.events.filter((e) => e.event === "sio-server-side" && e.args[0] === "e7").length, 1);
  assert.throws(() => emitter.serverSideEmit("__sse__", () => {}), /Acknowledgements are not supported/);
});

test("--redis-key: a server on another key prefix hears only an emitter on that prefix", T, async () => {
  const C = await startClusterServer(redis, ["--redis-key", "other-key"]);
  const other = new Emitter(pub, { key: "other-key" });
  try {
    await waitSubscribed(redis, 1, { key: "other-key" });
    const c = await connect(C, "websocket");
    const a = await connect(A, "websocket");
    emitter.emit("e8-default");
    other.emit("e8-other", 1);
    assert.deepEqual(await c.waitEvent("e8-other"), [1]);
    await flush(emitter, [a], "e8-flush");
    await flush(other, [c], "e8-flush-other");
    assertCounts([a, c], "e8-default", [1, 0], "the default prefix");
    assertCounts([a, c], "e8-other", [0, 1], "the other prefix");
    // the servers on the default prefix do not count C: serverSideEmit with ack from A waits for B only
    assert.deepEqual(await cmd(a, "__server_side_emit__", { args: ["e8"], ack: true }), { err: null, responses: [{ port: B.port }] });
    close(c);
    close(a);
  } finally {
    await C.stop();
  }
});
