// Server-wide operations on the sockets a selection picks (socketsJoin, socketsLeave, disconnectSockets,
// fetchSockets), as the real socket.io-client 4.8 sees them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import {
  SERVER_ARGS, connect, connectMany, connectOn, manager, close, closeAll, cmd, flush, assertCounts, serverEvent,
  WAIT,
} from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: SERVER_ARGS });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 30000 };

// 4 clients in room A, 4 in room B, 2 in neither; mixed transports.
async function groups(tag) {
  const clients = await connectMany(server, 10, (i) => (i % 2 ? "polling" : "websocket"));
  const A = `${tag}-A`, B = `${tag}-B`;
  for (const c of clients.slice(0, 4)) await cmd(c, "__join__", A);
  for (const c of clients.slice(4, 8)) await cmd(c, "__join__", B);
  return { clients, A, B, a: clients.slice(0, 4), b: clients.slice(4, 8), n: clients.slice(8) };
}

test("socketsJoin then socketsLeave on room A's sockets: broadcasts to X, __rooms__ and the room size follow", T, async () => {
  const { clients, A, a } = await groups("t4");
  const ctl = clients[9];
  const X = "t4-X";
  try {
    assert.equal(await cmd(ctl, "__sockets_join__", { rooms: [A], join: [X] }), "ok");
    assert.equal(await cmd(ctl, "__room_size__", X), 4);
    for (const c of a) assert.deepEqual(await cmd(c, "__rooms__"), [c.socket.id, A, X]);
    assert.deepEqual(await cmd(clients[4], "__rooms__"), [clients[4].socket.id, "t4-B"]);
    assert.equal(await cmd(ctl, "__to__", { rooms: [X], event: "t4-x" }), "ok");
    await flush(ctl, clients, "t4-flush1");
    assertCounts(clients, "t4-x", [1, 1, 1, 1, 0, 0, 0, 0, 0, 0], "to(X) after socketsJoin");

    assert.equal(await cmd(ctl, "__sockets_leave__", { rooms: [A], except: [a[3].socket.id], leave: [X] }), "ok");
    for (const c of a.slice(0, 3)) assert.deepEqual(await cmd(c, "__rooms__"), [c.socket.id, A]);
    assert.deepEqual(await cmd(a[3], "__rooms__"), [a[3].socket.id, A, X], "the except'ed socket kept X");
    assert.equal(await cmd(ctl, "__room_size__", X), 1);
    assert.equal(await cmd(ctl, "__to__", { rooms: [X], event: "t4-x2" }), "ok");
    await flush(ctl, clients, "t4-flush2");
    assertCounts(clients, "t4-x2", [0, 0, 0, 1, 0, 0, 0, 0, 0, 0], "to(X) after socketsLeave");
  } finally {
    for (const c of clients) close(c);
  }
});

test("socketsJoin with no room and an except: every socket of the namespace but room A's joins", T, async () => {
  const { clients, A } = await groups("t4b");
  try {
    assert.equal(await cmd(clients[0], "__sockets_join__", { except: [A], join: ["t4b-Y", "t4b-Z"] }), "ok");
    const rooms = await Promise.all(clients.map((c) => cmd(c, "__rooms__")));
    rooms.forEach((r, i) => {
      const own = i < 4 ? [A] : i < 8 ? ["t4b-B"] : [];
      const extra = i < 4 ? [] : ["t4b-Y", "t4b-Z"];
      assert.deepEqual(r, [clients[i].socket.id, ...own, ...extra], `rooms of client ${i}`);
    });
  } finally {
    for (const c of clients) close(c);
  }
});

for (const mode of ["websocket", "polling"]) {
  test(`disconnectSockets(false) on room B: those clients get "io server disconnect", the others stay (${mode})`, T, async () => {
    const clients = await connectMany(server, 6, () => mode);
    const B = `t4c-${mode}-B`;
    const b = clients.slice(0, 3);
    for (const c of b) await cmd(c, "__join__", B);
    try {
      const discs = b.map((c) => c.waitDisconnect());
      // from a member of B: the acknowledgement comes first, then its own disconnection
      assert.equal(await cmd(b[0], "__disconnect_sockets__", { rooms: [B] }), "ok");
      for (const d of await Promise.all(discs)) assert.equal(d.reason, "io server disconnect");
      for (const c of b) {
        const ev = await serverEvent(server, "sio-disconnect", c.socket.id ?? c.connectPackets[0].data.sid);
        assert.equal(ev.reason, "server namespace disconnect");
      }
      for (const c of clients.slice(3)) {
        assert.equal(await c.socket.timeout(WAIT).emitWithAck("message-with-ack", "still"), "still");
        assert.equal(c.socket.connected, true);
      }
      assert.equal(await cmd(clients[3], "__room_size__", B), 0, "the disconnected sockets left B");
    } finally {
      for (const c of clients) close(c);
    }
  });

  test(`disconnectSockets(true) on room A closes the whole connections (every namespace) (${mode})`, T, async () => {
    const A = `t4d-${mode}-A`;
    // two clients with "/" in A and "/custom" on the same connection; one client outside A
    const ms = [manager(server, mode), manager(server, mode)];
    const roots = [];
    const customs = [];
    for (const m of ms) {
      roots.push(await connectOn(m, "/"));
      customs.push(await connectOn(m, "/custom"));
    }
    const outside = await connect(server, mode);
    const closes = ms.map((m) => new Promise((resolve) => m.once("close", (reason) => resolve(reason))));
    try {
      for (const r of roots) await cmd(r, "__join__", A);
      const discs = [...roots, ...customs].map((c) => c.waitDisconnect());
      const ids = [...roots, ...customs].map((c) => c.socket.id);
      assert.equal(await cmd(outside, "__disconnect_sockets__", { rooms: [A], close: true }), "ok");
      const reasons = (await Promise.all(discs)).map((d) => d.reason);
      assert.deepEqual(reasons, ["io server disconnect", "io server disconnect", "io server disconnect", "io server disconnect"]);
      // the connections end ("forced close" is the client's own close once its last socket is gone)
      assert.deepEqual(await Promise.all(closes), ["forced close", "forced close"]);
      for (const id of ids) {
        const ev = await serverEvent(server, "sio-disconnect", id);
        assert.equal(ev.reason, "server namespace disconnect", `server reason of ${ev.nsp} ${id}`);
      }
      assert.equal(await outside.socket.timeout(WAIT).emitWithAck("message-with-ack", "still"), "still");
    } finally {
      for (const c of [...roots, ...customs, outside]) close(c);
    }
  });
}

test("fetchSockets with rooms and except: the ids, their rooms, data, handshake address, query and auth", T, async () => {
  const clients = await connectMany(server, 3, (i) => (i === 1 ? "polling" : "websocket"),
    (i) => ({ auth: { user: `u${i}` }, ...(i < 2 ? { query: { foo: `q${i}` } } : {}) }));
  const [c0, c1, c2] = clients;
  const A = "t5-A", B = "t5-B";
  try {
    await cmd(c0, "__join__", [A]);
    await cmd(c1, "__join__", [A, B]);
    await cmd(c2, "__join__", [B]);
    assert.equal(await cmd(c0, "__set_data__", { n: 0, tags: ["x"] }), "ok");
    assert.equal(await cmd(c1, "__set_data__", "str"), "ok");
    // c2 sets nothing: socket.data is {} (Node's default)
    const info = (c, i) => ({
      id: c.socket.id,
      rooms: [c.socket.id, ...[[A], [A, B], [B]][i]],
      data: [{ n: 0, tags: ["x"] }, "str", {}][i],
      query_foo: i < 2 ? `q${i}` : null,
      auth: { user: `u${i}` },
    });
    const check = (got, want, what) => {
      for (const s of got) assert.match(s.address, /^(::ffff:)?127\.0\.0\.1$/, `${what}: address`);
      assert.deepEqual(got.map(({ address, ...rest }) => rest),
        want.sort((x, y) => (x.id < y.id ? -1 : 1)), what);
    };
    check(await cmd(c2, "__fetch__", { rooms: [A] }), [info(c0, 0), info(c1, 1)], "in(A)");
    check(await cmd(c2, "__fetch__", { rooms: [A, B], except: [B] }), [info(c0, 0)], "in(A, B).except(B)");
    check(await cmd(c2, "__fetch__", { rooms: [B], except: [c1.socket.id] }), [info(c2, 2)], "in(B).except(c1)");
    check(await cmd(c2, "__fetch__", { rooms: ["t5-none"] }), [], "in(an unknown room)");
    const all = await cmd(c0, "__fetch__", {});
    const ids = new Set(clients.map((c) => c.socket.id));
    check(all.filter((s) => ids.has(s.id)), clients.map(info), "every socket");
    // data set to null
    assert.equal(await cmd(c0, "__set_data__", null), "ok");
    assert.equal((await cmd(c2, "__fetch__", { rooms: [c0.socket.id] }))[0].data, null);
  } finally {
    for (const c of clients) close(c);
  }
});
