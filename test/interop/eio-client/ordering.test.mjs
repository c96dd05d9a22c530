// engine.io-client 6: 1000 messages in order, both directions, for each transport mode.
// In "upgrade" mode the messages are sent right after open, i.e. while the polling -> websocket upgrade is in
// progress, so ordering across the transport switch is exercised too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { openClient, closeAll, serverEvent, serverEventsN, WAIT } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: ["--test-commands"] });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 60000 };
const N = 1000;

function checkOrder(got, want, what) {
  assert.equal(got.length, want.length, `${what}: message count`);
  for (let i = 0; i < want.length; i++) {
    if (typeof want[i] === "string") {
      assert.equal(got[i], want[i], `${what}: message ${i} out of order or altered`);
    } else {
      assert.ok(Buffer.isBuffer(got[i]), `${what}: message ${i} must be binary`);
      assert.deepEqual(got[i], want[i], `${what}: binary message ${i} out of order or altered`);
    }
  }
}

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`${N} client messages echoed in order (${mode})`, T, async () => {
    const c = await openClient(server, mode);
    try {
      // Every 10th message is binary (4 bytes: the index, big-endian) to mix packet types in payloads.
      const sent = [];
      for (let i = 0; i < N; i++) {
        if (i % 10 === 9) {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(i);
          sent.push(b);
        } else {
          sent.push(`m${i}`);
        }
      }
      for (const p of sent) c.socket.send(p);
      const got = await c.take(N, 3 * WAIT);
      checkOrder(got, sent, "echo");
      if (mode === "upgrade") {
        assert.equal(await c.waitUpgrade(WAIT), "websocket", "upgrade must still happen");
      }
      const evs = await serverEventsN(server, c, "message", N);
      assert.equal(evs.length, N, "server must report one message event per message");
      evs.forEach((e, i) => assert.equal(e.binary, i % 10 === 9, `server event ${i} binary flag`));
    } finally {
      c.close();
    }
  });

  test(`__send__${N} received in order (${mode})`, T, async () => {
    const c = await openClient(server, mode);
    try {
      c.socket.send(`__send__${N}`);
      const got = await c.take(N, 3 * WAIT);
      checkOrder(got, Array.from({ length: N }, (_, i) => String(i)), `__send__${N}`);
      if (mode === "upgrade") {
        assert.equal(await c.waitUpgrade(WAIT), "websocket", "upgrade must still happen");
      }
      // Nothing beyond the N messages.
      c.socket.send("end marker");
      assert.equal(await c.next(), "end marker", "the message after the burst is the echo of the marker");
      assert.equal(c.closed, null, "client must still be open");
      const conn = await serverEvent(server, c, "connection");
      assert.ok(conn, "server reported the connection");
    } finally {
      c.close();
    }
  });
}
