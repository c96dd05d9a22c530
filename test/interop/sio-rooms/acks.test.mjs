// Broadcasts with acknowledgements (io.to(room).timeout(ms).emit(..., cb)) with the real socket.io-client 4.8: the
// callback gets every answer, or the timeout error with the answers received so far.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { SERVER_ARGS, connect, connectMany, close, closeAll, cmd, multiset, sleep } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ args: SERVER_ARGS });
});
after(async () => {
  closeAll();
  await server?.stop();
});

// Five clients in room R, each answering `event` with {i, got}; client `late` (if any) answers after lateMs.
async function roomOfFive(R, event, late = -1, lateMs = 0) {
  const clients = await connectMany(server, 5, (i) => (i % 2 ? "polling" : "websocket"));
  const answered = [];
  clients.forEach((c, i) => {
    c.socket.on(event, (got, cb) => {
      const answer = () => {
        answered.push(i);
        cb({ i, got });
      };
      if (i === late) setTimeout(answer, lateMs);
      else answer();
    });
  });
  for (const c of clients) await cmd(c, "__join__", R);
  return { clients, answered };
}

test("a room broadcast with acks, one client answers after the timeout: the timeout error and the 4 answers so far", { timeout: 30000 }, async () => {
  const { clients, answered } = await roomOfFive("t3-R", "t3-ask", 2, 1500);
  const ctl = await connect(server, "websocket"); // not in the room
  try {
    const t0 = Date.now();
    const res = await cmd(ctl, "__to_with_ack__", { rooms: ["t3-R"], event: "t3-ask", args: ["q"], timeout: 500 });
    const took = Date.now() - t0;
    assert.equal(res.err, "operation has timed out");
    assert.deepEqual(multiset(res.responses), multiset([0, 1, 3, 4].map((i) => ({ i, got: "q" }))));
    assert.ok(took >= 400, `the callback came after ${took} ms, before the 500 ms timeout`);
    // the late answer arrives afterwards and is ignored; the server goes on
    while (!answered.includes(2)) await sleep(50);
    await sleep(100);
    assert.deepEqual(await ctl.socket.timeout(5000).emitWithAck("message-with-ack", "after"), "after");
    assert.equal(await cmd(ctl, "__room_size__", "t3-R"), 5);
  } finally {
    for (const c of [...clients, ctl]) close(c);
  }
});

test("a room broadcast with acks, every client answers in time: err null and the 5 answers", { timeout: 30000 }, async () => {
  const { clients } = await roomOfFive("t3b-R", "t3b-ask");
  const outsider = await connect(server, "websocket");
  outsider.socket.on("t3b-ask", (got, cb) => cb({ i: "outsider", got }));
  try {
    // from a member of the room: the namespace's broadcast includes it
    const res = await cmd(clients[0], "__to_with_ack__", { rooms: ["t3b-R"], event: "t3b-ask", args: [{ n: 1 }], timeout: 5000 });
    assert.equal(res.err, null);
    assert.deepEqual(multiset(res.responses), multiset([0, 1, 2, 3, 4].map((i) => ({ i, got: { n: 1 } }))));
    // except: the selection minus the except rooms
    const res2 = await cmd(clients[0], "__to_with_ack__", { rooms: ["t3b-R"], except: [clients[4].socket.id], event: "t3b-ask", args: [2], timeout: 5000 });
    assert.equal(res2.err, null);
    assert.deepEqual(multiset(res2.responses), multiset([0, 1, 2, 3].map((i) => ({ i, got: 2 }))));
    assert.equal(outsider.events.filter((e) => e[0] === "t3b-ask").length, 0, "the client outside the room was not asked");
  } finally {
    for (const c of [...clients, outsider]) close(c);
  }
});

test("a broadcast with acks to a room nobody is in: err null and no answers, at once", { timeout: 30000 }, async () => {
  const ctl = await connect(server, "websocket");
  try {
    const t0 = Date.now();
    const res = await cmd(ctl, "__to_with_ack__", { rooms: ["t3c-empty"], event: "t3c-ask", timeout: 3000 });
    assert.deepEqual(res, { err: null, responses: [] });
    assert.ok(Date.now() - t0 < 2000, "the callback did not wait for the timeout");
  } finally {
    close(ctl);
  }
});

// The server is stopped while a broadcast still waits for answers that never come (and a fetchSockets may be in
// flight): it exits cleanly (status 0; under ASan a leaked or freed-too-early collector fails the exit status).
test("the server stops while a broadcast waits for acks: it exits cleanly", { timeout: 30000 }, async () => {
  const own = await startServer({ args: SERVER_ARGS });
  const clients = await connectMany(own, 3, () => "websocket");
  try {
    for (const c of clients) {
      c.socket.on("t3s-ask", () => {}); // never answers
      await cmd(c, "__join__", "t3s-R");
    }
    // No ack comes back: the command's own answer would only come at the 20 s timeout.
    clients[0].socket.emit("__to_with_ack__", { rooms: ["t3s-R"], event: "t3s-ask", args: [], timeout: 20000 }, () => {});
    clients[1].socket.emit("__fetch__", { rooms: ["t3s-R"] }, () => {});
    await sleep(200);
  } finally {
    await own.stop(); // asserts exit status 0 for ours
    for (const c of clients) close(c);
  }
});
