// engine.io-client 6: server-side close (__close__) and client-side close (socket.close()).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { openClient, closeAll, serverEvent, sleep, WAIT } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: ["--test-commands"] });
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

function closeEvents(sid) {
  return server.events.filter((e) => e.sid === sid && e.event === "close");
}

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`server-side close (__close__) closes the client; server reason "forced close" (${mode})`, T, async () => {
    const c = await open(mode);
    try {
      c.socket.send("before close");
      assert.equal(await c.next(), "before close", "echo before the close");
      c.socket.send("__close__");
      const closed = await c.waitClose(WAIT);
      assert.equal(closed.reason, "transport close", "client close reason (the server ended the transport)");
      const ev = await serverEvent(server, c, "close", WAIT);
      assert.equal(ev.reason, "forced close", "server close reason");
      await sleep(200);
      assert.equal(closeEvents(c.sid).length, 1, "exactly one server close event per session");
      assert.equal(c.messages.length, 1, `no message after the close command, got ${JSON.stringify(c.messages)}`);
    } finally {
      c.close();
    }
  });

  test(`client-side close (socket.close()); server reason "transport close" (${mode})`, T, async () => {
    const c = await open(mode);
    try {
      c.socket.send("before close");
      assert.equal(await c.next(), "before close", "echo before the close");
      c.socket.close();
      const closed = await c.waitClose(WAIT);
      assert.equal(closed.reason, "forced close", "client close reason (engine.io-client's own)");
      const ev = await serverEvent(server, c, "close", WAIT);
      assert.equal(ev.reason, "transport close", "server close reason");
      await sleep(200);
      assert.equal(closeEvents(c.sid).length, 1, "exactly one server close event per session");
    } finally {
      c.close();
    }
  });
}

test("a closed session's sid is not reusable: a new client gets a new sid", T, async () => {
  const a = await open("polling");
  a.socket.close();
  await serverEvent(server, a, "close", WAIT);
  const b = await open("polling");
  try {
    assert.notEqual(b.sid, a.sid, "new session must get a new sid");
    b.socket.send("fresh");
    assert.equal(await b.next(), "fresh", "echo on the new session");
  } finally {
    b.close();
  }
});
