// socket.io-client 4.8: many clients at once on one server, each doing acknowledged round trips.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { connect, close, closeAll, withTimeout, bytes, normBin } from "./helpers.mjs";

let server;
before(async () => {
  // a long heartbeat: 200 clients in one test process must not be timed out by a busy event loop
  server = await startServer({ events: true, args: ["--test-commands", "--ping-interval", "10000", "--ping-timeout", "20000"] });
});
after(async () => {
  closeAll();
  await server?.stop();
});

test("200 concurrent clients × 10 acked round trips, all answered with their own arguments", { timeout: 120000 }, async () => {
  const N = 200;
  const ROUNDS = 10;
  const clients = await Promise.all(Array.from({ length: N }, () => connect(server, "websocket")));
  try {
    const ids = new Set(clients.map((c) => c.socket.id));
    assert.equal(ids.size, N, "distinct socket ids");
    const engines = new Set(clients.map((c) => c.socket.io.engine.id));
    assert.equal(engines.size, N, "distinct engine ids");
    const results = await Promise.all(clients.map(async (c, i) => {
      const got = [];
      for (let r = 0; r < ROUNDS; r++) {
        const args = [i, r, `client ${i} round ${r}`, { i, r, list: [i, r] }, ...(r % 3 === 0 ? [bytes(r + 1, i)] : [])];
        const answer = await withTimeout(new Promise((resolve, reject) => {
          c.socket.timeout(30000).emit("message-with-ack", ...args, (err, ...a) => (err ? reject(err) : resolve(a)));
        }), 60000, `ack ${i}/${r}`);
        assert.deepEqual(normBin(answer), normBin(args), `client ${i} round ${r}`);
        got.push(r);
      }
      return got;
    }));
    assert.equal(results.length, N);
    for (const r of results) assert.deepEqual(r, Array.from({ length: ROUNDS }, (_, k) => k));
    for (const c of clients) assert.equal(c.socket.connected, true);
  } finally {
    for (const c of clients) close(c);
  }
  // every socket gets its disconnect on the server
  await server.waitEvent(() => server.events.filter((e) => e.event === "sio-disconnect").length >= N, 30000);
  const reasons = new Set(server.events.filter((e) => e.event === "sio-disconnect").map((e) => e.reason));
  assert.deepEqual([...reasons], ["client namespace disconnect"]);
});

test("200 concurrent clients, pipelined: 10 acks in flight per client at once", { timeout: 120000 }, async () => {
  const N = 200;
  const clients = await Promise.all(Array.from({ length: N }, () => connect(server, "websocket")));
  try {
    await Promise.all(clients.map(async (c, i) => {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, r) =>
        c.socket.timeout(30000).emitWithAck("message-with-ack", `${i}:${r}`)));
      assert.deepEqual(answers, Array.from({ length: 10 }, (_, r) => `${i}:${r}`));
    }));
  } finally {
    for (const c of clients) close(c);
  }
});
