// Rooms and broadcasting with the real socket.io-client 4.8: which clients a broadcast reaches (to, except, a
// socket's own broadcast), counted at every client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { SERVER_ARGS, connect, connectMany, close, closeAll, cmd, flush, assertCounts } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ args: SERVER_ARGS });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const range = (a, b) => Array.from({ length: b - a }, (_, k) => a + k);
// want[i] = 1 for the clients i in `set`, 0 for the others.
const want = (n, set) => range(0, n).map((i) => (set.has(i) ? 1 : 0));

test("3 rooms × 50 clients (10 of A also in B, 10 of B also in C): to, except, to + except, an unknown room", { timeout: 120000 }, async () => {
  const N = 150;
  // mixed transports: the same broadcast reaches WebSocket and polling clients
  const clients = await connectMany(server, N, (i) => ["websocket", "polling", "upgrade"][i % 3]);
  // a socket of /custom in room t1-A: broadcasts on "/" never reach another namespace
  const other = await connect(server, "websocket", { nsp: "/custom" });
  try {
    const A = "t1-A", B = "t1-B", C = "t1-C";
    const roomsOf = (i) => [
      ...(i < 50 ? [A] : []),
      ...((i >= 50 && i < 100) || i < 10 ? [B] : []),
      ...(i >= 100 || (i >= 50 && i < 60) ? [C] : []),
    ];
    const joined = await Promise.all(clients.map((c, i) => cmd(c, "__join__", roomsOf(i))));
    joined.forEach((rooms, i) => assert.deepEqual(rooms, [clients[i].socket.id, ...roomsOf(i)], `rooms of client ${i}`));
    assert.deepEqual(await cmd(other, "__join__", A), [other.socket.id, A]);

    const ctl = clients[0];
    assert.equal(await cmd(ctl, "__room_size__", A), 50);
    assert.equal(await cmd(ctl, "__room_size__", B), 60);
    assert.equal(await cmd(ctl, "__room_size__", C), 60);
    assert.equal(await cmd(ctl, "__room_size__", "t1-none"), 0);
    assert.equal(await cmd(other, "__room_size__", A), 1, "room A of /custom");

    assert.equal(await cmd(ctl, "__to__", { rooms: [A, B], except: [C], event: "t1-ab-not-c", args: [1, "x"] }), "ok");
    assert.equal(await cmd(ctl, "__to__", { rooms: [A], event: "t1-a", args: [{ y: [2] }] }), "ok");
    assert.equal(await cmd(ctl, "__to__", { except: [C], event: "t1-not-c" }), "ok");
    assert.equal(await cmd(ctl, "__to__", { rooms: ["t1-none"], event: "t1-none" }), "ok");
    await flush(ctl, clients, "t1-flush");

    const inA = new Set(range(0, 50));
    const inC = new Set([...range(100, 150), ...range(50, 60)]);
    const abNotC = new Set(range(0, 100).filter((i) => !inC.has(i)));
    assert.equal(abNotC.size, 90);
    assertCounts(clients, "t1-ab-not-c", want(N, abNotC), "to(A).to(B).except(C)");
    assertCounts(clients, "t1-a", want(N, inA), "to(A)");
    assertCounts(clients, "t1-not-c", want(N, new Set(range(0, N).filter((i) => !inC.has(i)))), "except(C)");
    assertCounts(clients, "t1-none", want(N, new Set()), "to(an unknown room)");
    // the arguments arrive as given
    assert.deepEqual(clients[60].events.find((e) => e[0] === "t1-ab-not-c"), ["t1-ab-not-c", 1, "x"]);
    assert.deepEqual(clients[1].events.find((e) => e[0] === "t1-a"), ["t1-a", { y: [2] }]);
    assert.deepEqual(other.events.filter((e) => e[0].startsWith("t1-")), [], "the /custom socket got nothing");
  } finally {
    for (const c of clients) close(c);
    close(other);
  }
});

test("socket.broadcast reaches everyone but the sender; socket.to(A) from a member of A skips the sender", { timeout: 30000 }, async () => {
  const clients = await connectMany(server, 5, (i) => (i % 2 ? "polling" : "websocket"));
  try {
    const A = "t2-A";
    for (const c of clients.slice(0, 3)) await cmd(c, "__join__", [A]);
    const sender = clients[0];
    assert.equal(await cmd(sender, "__to__", { from_socket: true, event: "t2-broadcast", args: ["b"] }), "ok");
    assert.equal(await cmd(sender, "__to__", { from_socket: true, rooms: [A], event: "t2-to-a" }), "ok");
    // from a socket, with except: socket.to(A).except(id of client 1)
    assert.equal(await cmd(sender, "__to__", { from_socket: true, rooms: [A], except: [clients[1].socket.id], event: "t2-to-a-except" }), "ok");
    // from the namespace, the sender is not left out
    assert.equal(await cmd(sender, "__to__", { rooms: [A], event: "t2-nsp-to-a" }), "ok");
    await flush(sender, clients, "t2-flush");
    assertCounts(clients, "t2-broadcast", [0, 1, 1, 1, 1], "socket.broadcast");
    assertCounts(clients, "t2-to-a", [0, 1, 1, 0, 0], "socket.to(A)");
    assertCounts(clients, "t2-to-a-except", [0, 0, 1, 0, 0], "socket.to(A).except(client 1)");
    assertCounts(clients, "t2-nsp-to-a", [1, 1, 1, 0, 0], "nsp.to(A)");
    assert.deepEqual(clients[3].events.find((e) => e[0] === "t2-broadcast"), ["t2-broadcast", "b"]);
  } finally {
    for (const c of clients) close(c);
  }
});

test("leaving a room: later broadcasts to it skip the socket; __rooms__ and __room_size__ follow", { timeout: 30000 }, async () => {
  const clients = await connectMany(server, 3);
  try {
    const R = "t2b-R";
    for (const c of clients) await cmd(c, "__join__", R);
    assert.deepEqual(await cmd(clients[1], "__join__", [R, "t2b-S"]), [clients[1].socket.id, R, "t2b-S"], "joining twice does nothing");
    assert.equal(await cmd(clients[0], "__room_size__", R), 3);
    assert.deepEqual(await cmd(clients[1], "__leave__", R), [clients[1].socket.id, "t2b-S"]);
    assert.deepEqual(await cmd(clients[1], "__leave__", "t2b-never"), [clients[1].socket.id, "t2b-S"], "leaving a room it is not in");
    assert.deepEqual(await cmd(clients[1], "__rooms__"), [clients[1].socket.id, "t2b-S"]);
    assert.equal(await cmd(clients[0], "__room_size__", R), 2);
    assert.equal(await cmd(clients[0], "__to__", { rooms: [R], event: "t2b-r" }), "ok");
    await flush(clients[0], clients, "t2b-flush");
    assertCounts(clients, "t2b-r", [1, 0, 1], "to(R) after client 1 left");
    // the last member leaving deletes the room
    await cmd(clients[1], "__leave__", "t2b-S");
    assert.equal(await cmd(clients[0], "__room_size__", "t2b-S"), 0);
  } finally {
    for (const c of clients) close(c);
  }
});
