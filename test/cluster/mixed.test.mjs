// A mixed cluster: the server under test (ours, or Node's under EIO_SERVER=reference) and Node's reference server
// (always Node: @socket.io/redis-adapter 8.3) on one redis-server. Whatever one publishes, the other understands:
// broadcasts both ways (text and binary), fetchSockets, serverSideEmit with and without acks, broadcasts with acks.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startRedis, startClusterServer, startNodeServer, waitSubscribed, connect, close, closeAll, cmd, flush, assertCounts,
  multiset, assertSameArgs, bytes, waitServerSide, serverSideLines, answerAcks, serverEvent, sleep,
} from "./lib/cluster.mjs";

let redis, S, N;
before(async () => {
  redis = await startRedis();
  [S, N] = await Promise.all([startClusterServer(redis), startNodeServer(redis)]);
  await waitSubscribed(redis, 2);
});
after(async () => {
  closeAll();
  await Promise.all([S?.stop(), N?.stop()]);
  await redis?.stop();
});

const T = { timeout: 20000 };

// nS clients on S and nN on N, mixed transports, with auth {user} and query foo.
async function spread(nS, nN) {
  const opts = (side, i) => ({ auth: { user: `${side}${i}` }, query: { foo: `q${side}${i}` } });
  const ss = await Promise.all(Array.from({ length: nS }, (_, i) => connect(S, i % 2 ? "polling" : "websocket", opts("S", i))));
  const ns = await Promise.all(Array.from({ length: nN }, (_, i) => connect(N, i % 2 ? "websocket" : "polling", opts("N", i))));
  return { ss, ns, all: [...ss, ...ns] };
}
const joinAll = async (clients, room) => { for (const c of clients) await cmd(c, "__join__", room); };

for (const [from, to] of [["S", "N"], ["N", "S"]]) {
  test(`broadcasts from ${from} to ${to}: one room, several rooms with except, every socket; text and binary`, T, async () => {
    const { ss, ns, all } = await spread(2, 2);
    const [src, dst] = from === "S" ? [ss, ns] : [ns, ss];
    const tag = `m1${from}`;
    try {
      await joinAll([src[0], dst[0], dst[1]], `${tag}-R`);
      await cmd(dst[1], "__join__", `${tag}-E`);
      const args = ["text", 3.5, { deep: [bytes(40, 3), null] }, bytes(256)];
      assert.equal(await cmd(src[1], "__to__", { rooms: [`${tag}-R`], event: `${tag}-one`, args }), "ok");
      for (const c of [src[0], dst[0], dst[1]]) assertSameArgs(await c.waitEvent(`${tag}-one`), args, `one room at ${c.socket.id}`);
      assert.equal(await cmd(src[1], "__to__", { rooms: [`${tag}-R`, `${tag}-none`], except: [`${tag}-E`], event: `${tag}-two`, args: ["é"] }), "ok");
      assert.equal(await cmd(src[0], "__to__", { event: `${tag}-all`, args: [bytes(1)], from_socket: true }), "ok");
      await flush(src[1], all, `${tag}-flush`);
      await flush(src[0], all, `${tag}-flush2`);
      const idx = (c) => all.indexOf(c);
      const want = (members) => all.map((c) => (members.includes(c) ? 1 : 0));
      assertCounts(all, `${tag}-one`, want([src[0], dst[0], dst[1]]), "to(R)");
      assertCounts(all, `${tag}-two`, want([src[0], dst[0]]), "to(R, none).except(E)");
      assertCounts(all, `${tag}-all`, want(all.filter((c) => c !== src[0])), "socket.broadcast");
      assertSameArgs(all[idx(dst[0])].events.find((e) => e[0] === `${tag}-all`).slice(1), [bytes(1)], "binary broadcast");
    } finally {
      for (const c of all) close(c);
    }
  });
}

test("__fetch__ from each side sees the other's sockets with rooms, data and handshake address, query, auth", T, async () => {
  const { ss, ns, all } = await spread(2, 2);
  try {
    await joinAll([ss[0], ns[0], ns[1]], "m2-R");
    await cmd(ss[0], "__join__", "m2-S");
    assert.equal(await cmd(ss[0], "__set_data__", { from: "S", n: [1, 2] }), "ok");
    assert.equal(await cmd(ns[1], "__set_data__", "node"), "ok");
    assert.equal(await cmd(ns[0], "__set_data__", null), "ok");
    const info = (c, side, i, rooms, data) => ({
      id: c.socket.id, rooms: [c.socket.id, ...rooms], data, query_foo: `q${side}${i}`, auth: { user: `${side}${i}` },
    });
    const want = [
      info(ss[0], "S", 0, ["m2-R", "m2-S"], { from: "S", n: [1, 2] }),
      info(ns[0], "N", 0, ["m2-R"], null),
      info(ns[1], "N", 1, ["m2-R"], "node"),
    ].sort((x, y) => (x.id < y.id ? -1 : 1));
    for (const asker of [ss[1], ns[0]]) {
      const got = await cmd(asker, "__fetch__", { rooms: ["m2-R"] });
      assert.ok(Array.isArray(got), JSON.stringify(got));
      for (const s of got) assert.match(s.address, /^(::ffff:)?127\.0\.0\.1$/, "address");
      assert.deepEqual(got.map(({ address, ...rest }) => rest), want, `in(R) asked on ${asker === ss[1] ? "S" : "N"}`);
      const ex = await cmd(asker, "__fetch__", { rooms: ["m2-R"], except: ["m2-S", ns[1].socket.id] });
      assert.deepEqual(ex.map((s) => s.id), [ns[0].socket.id], "in(R).except(S, n1)");
    }
    const every = await cmd(ns[1], "__fetch__", {});
    const ids = all.map((c) => c.socket.id).sort();
    assert.deepEqual(every.map((s) => s.id).filter((id) => ids.includes(id)), ids, "every socket of both servers");
  } finally {
    for (const c of all) close(c);
  }
});

test("server-wide operations both ways: socketsJoin, socketsLeave, disconnectSockets", T, async () => {
  const { ss, ns, all } = await spread(2, 2);
  try {
    await joinAll([ss[0], ns[0]], "m3-R");
    // from S: its own socket ss[0] and N's ns[0] join X
    assert.equal(await cmd(ss[1], "__sockets_join__", { rooms: ["m3-R"], join: "m3-X" }), "ok");
    assert.equal(await cmd(ss[1], "__to__", { rooms: ["m3-X"], event: "m3-x" }), "ok");
    await flush(ss[1], all, "m3-flush");
    assert.deepEqual(await cmd(ns[0], "__rooms__"), [ns[0].socket.id, "m3-R", "m3-X"]);
    assert.equal(all[2].events.filter((e) => e[0] === "m3-x").length, 1, "N's socket got to(X) from S");
    // from N: S's sockets of X leave it
    assert.equal(await cmd(ns[1], "__sockets_leave__", { rooms: ["m3-X"], except: [ns[0].socket.id], leave: ["m3-X"] }), "ok");
    assert.equal(await cmd(ns[1], "__to__", { rooms: ["m3-X"], event: "m3-x2" }), "ok");
    await flush(ns[1], all, "m3-flush2");
    assertCounts(all, "m3-x2", [0, 0, 1, 0], "to(X) after socketsLeave from N");
    assert.deepEqual(await cmd(ss[0], "__rooms__"), [ss[0].socket.id, "m3-R"]);
    // disconnectSockets from N on S's socket, and from S on N's
    const d1 = ss[0].waitDisconnect(), d2 = ns[0].waitDisconnect();
    const id1 = ss[0].socket.id, id2 = ns[0].socket.id;
    assert.equal(await cmd(ns[1], "__disconnect_sockets__", { rooms: [id1] }), "ok");
    assert.equal((await d1).reason, "io server disconnect");
    assert.equal((await serverEvent(S, "sio-disconnect", id1)).reason, "server namespace disconnect");
    assert.equal(await cmd(ss[1], "__disconnect_sockets__", { rooms: [id2] }), "ok");
    assert.equal((await d2).reason, "io server disconnect");
    assert.equal((await serverEvent(N, "sio-disconnect", id2)).reason, "server namespace disconnect");
  } finally {
    for (const c of all) close(c);
  }
});

test("serverSideEmit both ways, without and with acks", T, async () => {
  const s = await connect(S, "websocket");
  const n = await connect(N, "websocket");
  try {
    const nS = serverSideLines(S).length, nN = serverSideLines(N).length;
    assert.equal(await cmd(s, "__server_side_emit__", { args: ["m4-s", { a: [1, "x"] }] }), "ok");
    await waitServerSide(N, ["m4-s", { a: [1, "x"] }]);
    assert.equal(await cmd(n, "__server_side_emit__", { args: ["m4-n", 7] }), "ok");
    await waitServerSide(S, ["m4-n", 7]);
    assert.deepEqual(await cmd(s, "__server_side_emit__", { args: ["m4-s-ack", null], ack: true }),
      { err: null, responses: [{ port: N.port }] });
    await waitServerSide(N, ["m4-s-ack", null]);
    assert.deepEqual(await cmd(n, "__server_side_emit__", { args: ["m4-n-ack"], ack: true }),
      { err: null, responses: [{ port: S.port }] });
    await waitServerSide(S, ["m4-n-ack"]);
    await sleep(300); // bounded: neither heard its own
    assert.deepEqual(serverSideLines(S).slice(nS).map((e) => e.args[0]), ["m4-n", "m4-n-ack"]);
    assert.deepEqual(serverSideLines(N).slice(nN).map((e) => e.args[0]), ["m4-s", "m4-s-ack"]);
  } finally {
    close(s);
    close(n);
  }
});

test("broadcasts with acks counted across both servers (and the timeout with a silent client on the other)", T, async () => {
  const { ss, ns, all } = await spread(2, 3);
  try {
    answerAcks(all, "m5-ask", [ns[2]]);
    await joinAll([ss[0], ns[0], ns[1]], "m5-R");
    const ask = (c, o) => cmd(c, "__to_with_ack__", { event: "m5-ask", timeout: 5000, ...o });
    const expect = (cs, arg) => multiset(cs.map((c) => ({ id: c.socket.id, arg })));
    let res = await ask(ss[1], { rooms: ["m5-R"], args: ["s"] });
    assert.equal(res.err, null);
    assert.deepEqual(multiset(res.responses), expect([ss[0], ns[0], ns[1]], "s"));
    res = await ask(ns[0], { rooms: ["m5-R"], args: [bytes(4)] });
    assert.equal(res.err, null);
    assert.equal(res.responses.length, 3);
    res = await ask(ns[1], { rooms: [ss[1].socket.id], args: [1] });
    assert.deepEqual(res, { err: null, responses: [{ id: ss[1].socket.id, arg: 1 }] });
    // every socket, one of N's silent: the timeout, with the four others' answers
    res = await ask(ss[0], { args: ["t"], timeout: 1000 });
    assert.equal(res.err, "operation has timed out");
    assert.deepEqual(multiset(res.responses), expect([ss[0], ss[1], ns[0], ns[1]], "t"));
  } finally {
    for (const c of all) close(c);
  }
});
