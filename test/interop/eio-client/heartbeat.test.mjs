// engine.io-client 6: heartbeat keeps an idle session alive; a client that stops answering pings is timed out.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { openClient, closeAll, serverEvent, sleep, WAIT } from "./helpers.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

let server;
before(async () => {
  server = await startServer({ events: true });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 30000 };

async function open(mode) {
  const c = await openClient(server, mode);
  if (mode === "upgrade") {
    assert.equal(await c.waitUpgrade(WAIT), "websocket", "upgrade mode must end on websocket");
  }
  return c;
}

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`heartbeat keeps an idle session alive for 10+ ping intervals (${mode})`, T, async () => {
    const c = await open(mode);
    try {
      const idle = 10 * PING_INTERVAL + 500;
      await sleep(idle);
      assert.equal(c.closed, null, `client must still be open after ${idle} ms idle, closed: ${JSON.stringify(c.closed)}`);
      const close = server.events.find((e) => e.sid === c.sid && e.event === "close");
      assert.equal(close, undefined, `server must not close the session: ${JSON.stringify(close)}`);
      assert.ok(c.pings >= 3, `client must have received several pings in ${idle} ms, got ${c.pings}`);
      c.socket.send("still here");
      assert.equal(await c.next(), "still here", "echo after the idle period");
    } finally {
      c.close();
    }
  });

  test(`client that stops answering pings is closed with "ping timeout" (${mode})`, T, async () => {
    const c = await open(mode);
    try {
      // Drop only the pong packets: engine.io-client answers a ping with this._sendPacket("pong").
      const sendPacket = c.socket._sendPacket;
      assert.equal(typeof sendPacket, "function", "engine.io-client internals changed: no _sendPacket");
      c.socket._sendPacket = function (type, ...rest) {
        if (type === "pong") return;
        return sendPacket.call(this, type, ...rest);
      };
      const t0 = Date.now();
      const ev = await serverEvent(server, c, "close", WAIT);
      const elapsed = Date.now() - t0;
      assert.equal(ev.reason, "ping timeout", "server close reason");
      const bound = 5 * (PING_INTERVAL + PING_TIMEOUT);
      assert.ok(elapsed < bound, `ping timeout took ${elapsed} ms, expected well under ${bound} ms`);
      const closed = await c.waitClose(WAIT);
      assert.ok(closed, "client must see the session end");
    } finally {
      c.close();
    }
  });
}
