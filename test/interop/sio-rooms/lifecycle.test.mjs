// The room lifecycle as the server reports it with --events ("sio-room" lines: the adapter's create-room,
// join-room, leave-room and delete-room), driven by the real socket.io-client 4.8.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { SERVER_ARGS, connect, connectMany, close, closeAll, cmd, serverEvent } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: SERVER_ARGS });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 30000 };

// The server lines about sockets `ids` or rooms `rooms` (sio-room lines and the socket's own sio-* lines), in
// order, from index `from` of server.events, in a compact form: "create R", "join R ID", "sio-connection ID"...
function lines(ids, rooms, from = 0) {
  return server.events.slice(from).filter((e) =>
    (e.event === "sio-room" ? ids.includes(e.socket) || rooms.includes(e.room) : ids.includes(e.id))).map((e) =>
    e.event === "sio-room" ? [e.what, e.room, ...(e.socket ? [e.socket] : [])].join(" ") : `${e.event} ${e.id}`);
}

// Waits until the server has printed the line `what room [id]`.
function roomLine(what, room, id) {
  return server.waitEvent((e) => e.event === "sio-room" && e.what === what && e.room === room && e.socket === id);
}

test("connection: the socket's own room is created and joined before the connection handler runs", T, async () => {
  const c = await connect(server, "websocket");
  const id = c.socket.id;
  try {
    await serverEvent(server, "sio-connection", id);
    assert.deepEqual(lines([id], [id]), [`create ${id}`, `join ${id} ${id}`, `sio-connection ${id}`]);
    const ev = server.events.find((e) => e.event === "sio-room" && e.what === "join" && e.socket === id);
    assert.deepEqual(ev, { event: "sio-room", what: "join", nsp: "/", room: id, socket: id });
    assert.deepEqual(Object.keys(ev), ["event", "what", "nsp", "room", "socket"], "the line's fields, in order");
    assert.deepEqual(Object.keys(server.events.find((e) => e.event === "sio-room" && e.what === "create" && e.room === id)),
      ["event", "what", "nsp", "room"]);
  } finally {
    close(c);
  }
});

test("join creates the room (create, then join); the last leave deletes it (leave, then delete)", T, async () => {
  const [c, d] = await connectMany(server, 2);
  const R = "t6-R";
  const ids = [c.socket.id, d.socket.id];
  try {
    for (const id of ids) await serverEvent(server, "sio-connection", id); // stdout may lag behind the socket
    let mark = server.events.length;
    await cmd(c, "__join__", R);
    await roomLine("join", R, ids[0]);
    await cmd(d, "__join__", [R]);
    await roomLine("join", R, ids[1]);
    await cmd(c, "__join__", R); // already in it: nothing
    await cmd(c, "__leave__", "t6-never"); // not in it: nothing
    await cmd(c, "__leave__", R);
    await roomLine("leave", R, ids[0]);
    await cmd(d, "__leave__", R);
    await server.waitEvent((e) => e.event === "sio-room" && e.what === "delete" && e.room === R);
    assert.deepEqual(lines(ids, [R, "t6-never"], mark), [
      `create ${R}`, `join ${R} ${ids[0]}`,
      `join ${R} ${ids[1]}`,
      `leave ${R} ${ids[0]}`,
      `leave ${R} ${ids[1]}`, `delete ${R}`,
    ]);
    const del = server.events.find((e) => e.event === "sio-room" && e.what === "delete" && e.room === R);
    assert.deepEqual(del, { event: "sio-room", what: "delete", nsp: "/", room: R });
    // socketsJoin / socketsLeave report the same lines
    mark = server.events.length;
    await cmd(c, "__sockets_join__", { rooms: ids, join: ["t6-S"] });
    await cmd(c, "__sockets_leave__", { rooms: [ids[1]], leave: ["t6-S"] });
    await roomLine("leave", "t6-S", ids[1]);
    const got = lines(ids, ["t6-S"], mark);
    // the selection's order is the adapter's (not part of the contract): compare the joins as a set
    assert.deepEqual(got[0], "create t6-S");
    assert.deepEqual(got.slice(1, 3).sort(), [`join t6-S ${ids[0]}`, `join t6-S ${ids[1]}`].sort());
    assert.deepEqual(got.slice(3), [`leave t6-S ${ids[1]}`]);
  } finally {
    close(c);
    close(d);
  }
});

test("disconnect leaves every room in joining order (its own first) after disconnecting, before disconnect", T, async () => {
  const c = await connect(server, "polling");
  const other = await connect(server, "websocket");
  const id = c.socket.id;
  try {
    await cmd(c, "__join__", ["t6b-A", "t6b-B"]);
    await cmd(other, "__join__", "t6b-B"); // B outlives c
    await roomLine("join", "t6b-B", other.socket.id);
    const mark = server.events.length;
    c.socket.disconnect();
    await serverEvent(server, "sio-disconnect", id);
    assert.deepEqual(lines([id], [id, "t6b-A", "t6b-B"], mark), [
      `sio-disconnecting ${id}`,
      `leave ${id} ${id}`, `delete ${id}`,
      `leave t6b-A ${id}`, `delete t6b-A`,
      `leave t6b-B ${id}`,
      `sio-disconnect ${id}`,
    ]);
    assert.equal(await cmd(other, "__room_size__", "t6b-B"), 1);
  } finally {
    close(c);
    close(other);
  }
});

test("a server-side disconnect and a closed connection leave the rooms too; lines carry the namespace", T, async () => {
  const c = await connect(server, "websocket", { nsp: "/custom" });
  const id = c.socket.id;
  try {
    await serverEvent(server, "sio-connection", id);
    await cmd(c, "__join__", "t6c-A");
    const join = await roomLine("join", "t6c-A", id);
    assert.equal(join.nsp, "/custom");
    const mark = server.events.length;
    c.socket.emit("__disconnect__", true);
    await serverEvent(server, "sio-disconnect", id);
    assert.deepEqual(lines([id], [id, "t6c-A"], mark), [
      `sio-disconnecting ${id}`,
      `leave ${id} ${id}`, `delete ${id}`,
      `leave t6c-A ${id}`, `delete t6c-A`,
      `sio-disconnect ${id}`,
    ]);
    for (const e of server.events.slice(mark).filter((x) => x.event === "sio-room")) assert.equal(e.nsp, "/custom");
  } finally {
    close(c);
  }
});
