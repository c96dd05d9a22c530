// Two servers under test (ours, or Node's under EIO_SERVER=reference) on one redis-server through the Redis adapter:
// broadcasts, server-wide operations, broadcasts with acknowledgements and server-side emits cross from one server
// to the other, with the real socket.io-client 4.8 and the test commands of test/interop/README.md.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import {
  startRedis, startClusterServer, startTwoServers, waitSubscribed, connect, close, closeAll, cmd, flush, assertCounts, multiset,
  assertSameArgs, bytes, serverEvent, waitServerSide, serverSideLines, answerAcks, sleep, until,
} from "./lib/cluster.mjs";
import { isReference } from "../interop/lib/server.mjs";

const require = createRequire(import.meta.url);
const { createClient } = require("redis");
const msgpack = require("notepack.io");

const REQUESTS_TIMEOUT = 2000;
let redis, A, B, cluster;
before(async () => {
  cluster = await startTwoServers(REQUESTS_TIMEOUT);
  ({ redis, A, B } = cluster);
});
after(async () => {
  await cluster?.stop();
});

const T = { timeout: 20000 };

// clients on A (as) and on B (bs), mixed transports; the ones of `inRoom` (indices into as / bs) join `room`.
async function spread(nA, nB, opts = () => ({})) {
  const as = await Promise.all(Array.from({ length: nA }, (_, i) => connect(A, i % 2 ? "polling" : "websocket", opts("A", i))));
  const bs = await Promise.all(Array.from({ length: nB }, (_, i) => connect(B, i % 2 ? "polling" : "websocket", opts("B", i))));
  return { as, bs, all: [...as, ...bs] };
}
const joinAll = async (clients, room) => { for (const c of clients) await cmd(c, "__join__", room); };

test("a broadcast to one room from A reaches the room's clients on A and on B, once, and nobody else", T, async () => {
  const { as, bs, all } = await spread(2, 3);
  try {
    await joinAll([as[0], bs[0], bs[1]], "t1-R");
    const args = ["hello", 42, { x: [1, null, "é"] }, true];
    assert.equal(await cmd(as[1], "__to__", { rooms: ["t1-R"], event: "t1", args }), "ok");
    for (const c of [as[0], bs[0], bs[1]]) assert.deepEqual(await c.waitEvent("t1"), args);
    // a later broadcast from the same server arrives after it everywhere (one publisher connection, in order)
    await flush(as[1], all, "t1-flush");
    assertCounts(all, "t1", [1, 0, 1, 1, 0], "to(R) from A");
    // and the other way round, from B
    assert.equal(await cmd(bs[2], "__to__", { rooms: ["t1-R"], event: "t1b", args: [1] }), "ok");
    await flush(bs[2], all, "t1b-flush");
    assertCounts(all, "t1b", [1, 0, 1, 1, 0], "to(R) from B");
  } finally {
    for (const c of all) close(c);
  }
});

test("several rooms (the namespace channel), a client in two of them gets it once; to every socket; /custom stays apart", T, async () => {
  const { as, bs, all } = await spread(2, 4);
  const customA = await connect(A, "websocket", { nsp: "/custom" });
  const customB = await connect(B, "polling", { nsp: "/custom" });
  try {
    await joinAll([as[0], bs[0], bs[1]], "t2-R");
    await joinAll([bs[1], bs[2]], "t2-S");
    await joinAll([customA, customB], "t2-R");
    assert.equal(await cmd(as[1], "__to__", { rooms: ["t2-R", "t2-S"], event: "t2", args: ["rs"] }), "ok");
    await flush(as[1], all, "t2-flush");
    assertCounts(all, "t2", [1, 0, 1, 1, 1, 0], "to(R, S) from A");
    // no rooms: every socket of "/" on both servers, the sender included
    assert.equal(await cmd(bs[3], "__to__", { event: "t2-all", args: [] }), "ok");
    await flush(bs[3], all, "t2-flush2");
    assertCounts(all, "t2-all", [1, 1, 1, 1, 1, 1], "to every socket from B");
    // nothing of "/" reached "/custom" (its own channel socket.io#/custom#), and a "/custom" broadcast crosses too
    assert.equal(await cmd(customA, "__to__", { rooms: ["t2-R"], event: "t2-custom", args: ["c"] }), "ok");
    assert.deepEqual(await customB.waitEvent("t2-custom"), ["c"]);
    await flush(customA, [customA, customB], "t2-flush3");
    for (const c of [customA, customB]) {
      assert.deepEqual(c.events.filter((e) => ["t2", "t2-all"].includes(e[0])), [], "/custom got a / broadcast");
    }
    await flush(as[1], all, "t2-flush4");
    assertCounts(all, "t2-custom", [0, 0, 0, 0, 0, 0], "a /custom broadcast on /");
  } finally {
    for (const c of [...all, customA, customB]) close(c);
  }
});

test("except, and socket.to() (the sender left out), across servers", T, async () => {
  const { as, bs, all } = await spread(2, 3);
  try {
    await joinAll([as[0], as[1], bs[0], bs[1], bs[2]], "t3-R");
    await joinAll([as[1], bs[1]], "t3-E");
    assert.equal(await cmd(as[0], "__to__", { rooms: ["t3-R"], except: ["t3-E"], event: "t3", args: [1] }), "ok");
    await flush(as[0], all, "t3-flush");
    assertCounts(all, "t3", [1, 0, 1, 0, 1], "to(R).except(E) from A");
    // except by socket id of a socket on the other server
    assert.equal(await cmd(bs[0], "__to__", { rooms: ["t3-R"], except: [as[0].socket.id, bs[2].socket.id], event: "t3b" }), "ok");
    await flush(bs[0], all, "t3b-flush");
    assertCounts(all, "t3b", [0, 1, 1, 1, 0], "to(R).except(a0, b2) from B");
    // socket.to(R) from a member: everyone in R but the sender; socket.broadcast (no room) likewise
    assert.equal(await cmd(bs[1], "__to__", { rooms: ["t3-R"], event: "t3c", from_socket: true }), "ok");
    assert.equal(await cmd(as[1], "__to__", { event: "t3d", from_socket: true }), "ok");
    await flush(as[1], all, "t3c-flush");
    await flush(bs[1], all, "t3c-flush2");
    assertCounts(all, "t3c", [1, 1, 1, 0, 1], "socket.to(R) from b1");
    assertCounts(all, "t3d", [1, 0, 1, 1, 1], "socket.broadcast from a1");
  } finally {
    for (const c of all) close(c);
  }
});

test("binary arguments cross as binary (Buffer in, Buffer or ArrayBuffer out, nested too)", T, async () => {
  const { as, bs, all } = await spread(1, 2);
  try {
    await joinAll([as[0], bs[0], bs[1]], "t4-R");
    const args = [bytes(300), { nested: bytes(5, 7), list: [bytes(0), "text"] }, "after"];
    assert.equal(await cmd(as[0], "__to__", { rooms: ["t4-R"], event: "t4", args }), "ok");
    for (const c of all) {
      const got = await c.waitEvent("t4");
      assertSameArgs(got, args, "binary broadcast");
      assert.ok(Buffer.isBuffer(got[0]) || got[0] instanceof ArrayBuffer, "binary, not a placeholder or a JSON Buffer");
    }
    // from B, to several rooms (the other channel)
    assert.equal(await cmd(bs[1], "__to__", { rooms: ["t4-R", "t4-none"], event: "t4b", args: [bytes(3, 1)] }), "ok");
    for (const c of all) assertSameArgs(await c.waitEvent("t4b"), [bytes(3, 1)], "binary broadcast from B");
  } finally {
    for (const c of all) close(c);
  }
});

test("the published broadcast: channel <key>#<nsp># or <key>#<nsp>#<room># (one room), msgpack [uid, packet, opts]", T, async () => {
  const cap = createClient({ url: redis.url });
  cap.on("error", () => {});
  await cap.connect();
  const msgs = [];
  // a pattern subscription: it does not count in PUBSUB NUMSUB (the adapter's server count)
  await cap.pSubscribe("socket.io#*", (msg, channel) => msgs.push({ channel: channel.toString(), msg: msgpack.decode(msg) }), true);
  const { as, bs, all } = await spread(1, 1);
  try {
    await joinAll(all, "t5-R");
    assert.equal(await cmd(as[0], "__to__", { rooms: ["t5-R"], event: "t5-one", args: [bytes(2)] }), "ok");
    assert.equal(await cmd(as[0], "__to__", { rooms: ["t5-R", "t5-S"], except: ["t5-E"], event: "t5-two" }), "ok");
    assert.equal(await cmd(bs[0], "__to__", { event: "t5-all", args: [1] }), "ok");
    await flush(as[0], all, "t5-flush");
    await flush(bs[0], all, "t5-flush2");
    await until(() => msgs.some((m) => m.msg[1]?.data?.[0] === "t5-flush2"), { ms: 5000, what: "the capture of t5-flush2" });
    const by = (ev) => msgs.filter((m) => m.msg[1]?.data?.[0] === ev);
    for (const ev of ["t5-one", "t5-two", "t5-all"]) assert.equal(by(ev).length, 1, `one message for ${ev}`);
    const [one] = by("t5-one"), [two] = by("t5-two"), [allm] = by("t5-all");
    assert.equal(one.channel, "socket.io#/#t5-R#");
    assert.equal(two.channel, "socket.io#/#");
    assert.equal(allm.channel, "socket.io#/#");
    const [uidA, packet, opts] = one.msg;
    assert.match(uidA, /^[A-Za-z0-9_-]+$/);
    assert.equal(packet.type, 2);
    assert.equal(packet.nsp, "/");
    assert.equal(packet.data[0], "t5-one");
    assert.ok(Buffer.isBuffer(packet.data[1]), "binary travels as msgpack bin");
    assert.deepEqual([...packet.data[1]], [0, 1]);
    assert.deepEqual(opts.rooms, ["t5-R"]);
    assert.deepEqual(opts.except, []);
    assert.equal(typeof opts.flags, "object");
    assert.deepEqual(two.msg[2].rooms, ["t5-R", "t5-S"]);
    assert.deepEqual(two.msg[2].except, ["t5-E"]);
    assert.equal(two.msg[0], uidA, "one uid per server and namespace");
    assert.notEqual(allm.msg[0], uidA, "the servers have different uids");
    assert.deepEqual(allm.msg[2].rooms, []);
  } finally {
    for (const c of all) close(c);
    await cap.quit().catch(() => {});
  }
});

test("__fetch__ from A sees B's sockets: ids, rooms, data, handshake address, query and auth", T, async () => {
  const { as, bs, all } = await spread(2, 2, (side, i) => ({ auth: { user: `${side}${i}` }, query: { foo: `q${side}${i}` } }));
  try {
    await joinAll([as[0], bs[0], bs[1]], "t6-R");
    await cmd(bs[1], "__join__", "t6-S");
    assert.equal(await cmd(bs[0], "__set_data__", { n: 1, tags: ["b"] }), "ok");
    assert.equal(await cmd(as[0], "__set_data__", "a-data"), "ok");
    const info = (c, side, i, rooms, data) => ({
      id: c.socket.id, rooms: [c.socket.id, ...rooms], data, query_foo: `q${side}${i}`, auth: { user: `${side}${i}` },
    });
    const want = {
      a0: info(as[0], "A", 0, ["t6-R"], "a-data"),
      b0: info(bs[0], "B", 0, ["t6-R"], { n: 1, tags: ["b"] }),
      b1: info(bs[1], "B", 1, ["t6-R", "t6-S"], {}),
    };
    const check = (got, keys, what) => {
      assert.ok(Array.isArray(got), `${what}: ${JSON.stringify(got)}`);
      for (const s of got) assert.match(s.address, /^(::ffff:)?127\.0\.0\.1$/, `${what}: address`);
      assert.deepEqual(got.map(({ address, ...rest }) => rest),
        keys.map((k) => want[k]).sort((x, y) => (x.id < y.id ? -1 : 1)), what);
    };
    check(await cmd(as[1], "__fetch__", { rooms: ["t6-R"] }), ["a0", "b0", "b1"], "in(R) from A");
    check(await cmd(bs[0], "__fetch__", { rooms: ["t6-R"], except: ["t6-S"] }), ["a0", "b0"], "in(R).except(S) from B");
    check(await cmd(as[1], "__fetch__", { rooms: ["t6-S"] }), ["b1"], "in(S): only on B");
    check(await cmd(as[1], "__fetch__", { rooms: ["t6-none"] }), [], "an unknown room");
    const every = await cmd(as[0], "__fetch__", {});
    const ids = all.map((c) => c.socket.id).sort();
    assert.deepEqual(every.map((s) => s.id).filter((id) => ids.includes(id)), ids, "every socket of both servers");
  } finally {
    for (const c of all) close(c);
  }
});

test("__sockets_join__ / __sockets_leave__ from A move B's sockets (seen by a following broadcast)", T, async () => {
  const { as, bs, all } = await spread(2, 3);
  try {
    await joinAll([as[0], bs[0], bs[1]], "t7-R");
    assert.equal(await cmd(as[1], "__sockets_join__", { rooms: ["t7-R"], except: [bs[1].socket.id], join: ["t7-X", "t7-Y"] }), "ok");
    // Node's adapter applies a socketsJoin to its own sockets too only when its request comes back from Redis
    await until(async () => (await cmd(as[0], "__rooms__")).includes("t7-X"), { ms: 5000, what: "a0 in t7-X" });
    // the join request and the broadcast leave A in this order on one connection: B applies the join first
    assert.equal(await cmd(as[1], "__to__", { rooms: ["t7-X"], event: "t7-x" }), "ok");
    await flush(as[1], all, "t7-flush");
    assertCounts(all, "t7-x", [1, 0, 1, 0, 0], "to(X) after socketsJoin");
    assert.deepEqual(await cmd(bs[0], "__rooms__"), [bs[0].socket.id, "t7-R", "t7-X", "t7-Y"]);
    assert.deepEqual(await cmd(bs[1], "__rooms__"), [bs[1].socket.id, "t7-R"]);

    assert.equal(await cmd(bs[2], "__sockets_leave__", { rooms: ["t7-X"], leave: "t7-X" }), "ok");
    assert.equal(await cmd(bs[2], "__to__", { rooms: ["t7-X", "t7-Y"], event: "t7-xy" }), "ok");
    await flush(bs[2], all, "t7-flush2");
    assertCounts(all, "t7-xy", [1, 0, 1, 0, 0], "to(X, Y) after socketsLeave(X) from B: Y is left");
    assert.equal(await cmd(as[1], "__to__", { rooms: ["t7-X"], event: "t7-x2" }), "ok");
    await flush(as[1], all, "t7-flush3");
    assertCounts(all, "t7-x2", [0, 0, 0, 0, 0], "to(X) after socketsLeave(X)");
    assert.equal(await cmd(as[0], "__room_size__", "t7-X"), 0);
    assert.equal(await cmd(bs[0], "__room_size__", "t7-Y"), 1);
  } finally {
    for (const c of all) close(c);
  }
});

test("__disconnect_sockets__ from A disconnects B's selected sockets (\"io server disconnect\"), the others stay", T, async () => {
  const { as, bs, all } = await spread(2, 3);
  try {
    await joinAll([as[0], bs[0], bs[1]], "t8-R");
    const discs = [as[0], bs[0], bs[1]].map((c) => c.waitDisconnect());
    const ids = [as[0], bs[0], bs[1]].map((c) => c.socket.id);
    assert.equal(await cmd(as[1], "__disconnect_sockets__", { rooms: ["t8-R"], except: [] }), "ok");
    for (const d of await Promise.all(discs)) assert.equal(d.reason, "io server disconnect");
    assert.equal((await serverEvent(B, "sio-disconnect", ids[1])).reason, "server namespace disconnect");
    assert.equal((await serverEvent(B, "sio-disconnect", ids[2])).reason, "server namespace disconnect");
    assert.equal((await serverEvent(A, "sio-disconnect", ids[0])).reason, "server namespace disconnect");
    for (const c of [as[1], bs[2]]) {
      assert.equal(await c.socket.timeout(5000).emitWithAck("message-with-ack", "still"), "still");
    }
    // close: true from B on A's socket: its whole connection closes
    const m = as[1].socket.io;
    const closed = new Promise((resolve) => m.once("close", (reason) => resolve(reason)));
    const d2 = as[1].waitDisconnect();
    assert.equal(await cmd(bs[2], "__disconnect_sockets__", { rooms: [as[1].socket.id], close: true }), "ok");
    assert.equal((await d2).reason, "io server disconnect");
    assert.equal(await closed, "forced close");
    assert.equal(await bs[2].socket.timeout(5000).emitWithAck("message-with-ack", "alive"), "alive");
  } finally {
    for (const c of all) close(c);
  }
});

test("__to_with_ack__ across servers: every client of both answers; the count and the answers add up", T, async () => {
  const { as, bs, all } = await spread(2, 3);
  try {
    answerAcks(all, "t9-ask");
    await joinAll([as[0], bs[0], bs[1], bs[2]], "t9-R");
    const res = await cmd(as[1], "__to_with_ack__", { rooms: ["t9-R"], event: "t9-ask", args: ["q", bytes(2)], timeout: 5000 });
    assert.equal(res.err, null);
    assert.deepEqual(multiset(res.responses), multiset([as[0], bs[0], bs[1], bs[2]].map((c) => ({ id: c.socket.id, arg: "q" }))));
    // from B, except one of B's, to everyone
    const res2 = await cmd(bs[0], "__to_with_ack__", { except: [bs[1].socket.id], event: "t9-ask", args: [2], timeout: 5000 });
    assert.equal(res2.err, null);
    assert.deepEqual(multiset(res2.responses), multiset([as[0], as[1], bs[0], bs[2]].map((c) => ({ id: c.socket.id, arg: 2 }))));
    // a room with members only on the other server
    const res3 = await cmd(as[0], "__to_with_ack__", { rooms: [bs[2].socket.id], event: "t9-ask", args: [3], timeout: 5000 });
    assert.deepEqual(res3, { err: null, responses: [{ id: bs[2].socket.id, arg: 3 }] });
  } finally {
    for (const c of all) close(c);
  }
});

test("__to_with_ack__ across servers with a client on B that never answers: \"operation has timed out\" and the other answers", T, async () => {
  const { as, bs, all } = await spread(1, 3);
  try {
    answerAcks(all, "t10-ask", [bs[1]]);
    await joinAll(all, "t10-R");
    const t0 = Date.now();
    const res = await cmd(as[0], "__to_with_ack__", { rooms: ["t10-R"], event: "t10-ask", args: ["q"], timeout: 1000 });
    const took = Date.now() - t0;
    assert.equal(res.err, "operation has timed out");
    assert.deepEqual(multiset(res.responses), multiset([as[0], bs[0], bs[2]].map((c) => ({ id: c.socket.id, arg: "q" }))));
    assert.ok(took >= 900, `answered after ${took} ms, before the timeout`);
    assert.equal(bs[1].events.filter((e) => e[0] === "t10-ask").length, 1, "the silent client was asked");
  } finally {
    for (const c of all) close(c);
  }
});

test("__server_side_emit__ from A reaches B's \"__sse__\" handler, not A's; with ack: B's answer {port}", T, async () => {
  const a = await connect(A, "websocket");
  const b = await connect(B, "polling");
  try {
    const before = serverSideLines(A).length;
    assert.equal(await cmd(a, "__server_side_emit__", { args: ["t11", 1, { x: [true, null] }] }), "ok");
    await waitServerSide(B, ["t11", 1, { x: [true, null] }]);
    // from B to A, with ack
    const res = await cmd(b, "__server_side_emit__", { args: ["t11b"], ack: true });
    assert.deepEqual(res, { err: null, responses: [{ port: A.port }] });
    await waitServerSide(A, ["t11b"]);
    const res2 = await cmd(a, "__server_side_emit__", { args: ["t11c", "z"], ack: true });
    assert.deepEqual(res2, { err: null, responses: [{ port: B.port }] });
    await waitServerSide(B, ["t11c", "z"]);
    await sleep(300); // bounded: nothing comes back to the sender itself
    assert.deepEqual(serverSideLines(A).slice(before).map((e) => e.args), [["t11b"]], "A heard only B's emit");
    assert.deepEqual(serverSideLines(B).filter((e) => e.args[0] === "t11b"), [], "B did not hear its own emit");
    // /custom: its own request channel
    const c = await connect(A, "websocket", { nsp: "/custom" });
    assert.equal(await cmd(c, "__server_side_emit__", { args: ["t11d"] }), "ok");
    await waitServerSide(B, ["t11d"], "/custom");
    close(c);
  } finally {
    close(a);
    close(b);
  }
});

test("__server_side_emit__ with ack and one subscriber that never answers: the adapter's timeout error and B's answer", T, async () => {
  // A silent third "server": subscribed to the request channel, so that PUBSUB NUMSUB (the server count) says 3.
  const silent = createClient({ url: redis.url });
  silent.on("error", () => {});
  await silent.connect();
  await silent.subscribe("socket.io-request#/#", () => {});
  const a = await connect(A, "websocket");
  try {
    const t0 = Date.now();
    const res = await cmd(a, "__server_side_emit__", { args: ["t12"], ack: true });
    const took = Date.now() - t0;
    // Node's message counts the answers; ours says the same in words the C API gives (SIO_ETIMEOUT and the
    // answers received).
    if (isReference) assert.equal(res.err, "timeout reached: only 1 responses received out of 2");
    else assert.match(res.err, /^timeout reached/);
    assert.deepEqual(res.responses, [{ port: B.port }]);
    assert.ok(took >= REQUESTS_TIMEOUT - 100, `answered after ${took} ms, before the requests timeout`);
  } finally {
    close(a);
    await silent.quit().catch(() => {});
    await waitSubscribed(redis, 2);
  }
});
