// socket.io-client 4.8: connecting in each transport mode, the auth payload, socket ids, namespaces (unknown
// namespace, / and /custom multiplexed on one connection).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import {
  connect, connectOn, manager, socketOf, close, closeAll, serverEvent, waitUpgrade, once, withTimeout, WAIT,
} from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: ["--test-commands"] });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 30000 };

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`connect without auth: auth event carries {}, socket.id is the CONNECT answer's sid (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      assert.deepEqual(c.auth, {});
      assert.equal(c.connectPackets.length, 1, "one CONNECT answer");
      const p = c.connectPackets[0];
      assert.equal(p.nsp, "/");
      assert.deepEqual(Object.keys(p.data), ["sid"], "the CONNECT answer carries only sid (no recovery)");
      assert.equal(typeof p.data.sid, "string");
      assert.equal(c.socket.id, p.data.sid);
      assert.notEqual(c.socket.id, c.socket.io.engine.id, "the socket id is not the engine id");
      const ev = await serverEvent(server, "sio-connection", c.socket.id);
      assert.equal(ev.nsp, "/");
      if (mode === "upgrade") assert.equal(await waitUpgrade(c), "websocket");
      assert.equal(c.socket.io.engine.transport.name, mode === "polling" ? "polling" : "websocket");
    } finally {
      close(c);
    }
  });

  test(`connect with an auth payload: the auth event carries it unchanged (${mode})`, T, async () => {
    const auth = { token: "abc", n: 42, f: -1.5, nested: { list: [1, "two", null, true], empty: {} }, u: "héllo 𝄞" };
    const c = await connect(server, mode, { auth });
    try {
      assert.deepEqual(c.auth, auth);
    } finally {
      close(c);
    }
  });

  test(`events round trip: message → message-back (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      if (mode === "upgrade") {
        // one round trip during or before the upgrade, one after it
        c.socket.emit("message", "before upgrade", 1);
        assert.deepEqual(await c.waitEvent("message-back", (a) => a[0] === "before upgrade"), ["before upgrade", 1]);
        assert.equal(await waitUpgrade(c), "websocket");
      }
      c.socket.emit("message", "hello", 2, { x: [true] });
      assert.deepEqual(await c.waitEvent("message-back", (a) => a[0] === "hello"), ["hello", 2, { x: [true] }]);
      c.socket.emit("message");
      assert.deepEqual(await c.waitEvent("message-back", (a) => a.length === 0), [], "no arguments");
    } finally {
      close(c);
    }
  });

  test(`namespace /custom: auth event, no message handler (${mode})`, T, async () => {
    const c = await connect(server, mode, { nsp: "/custom", auth: { room: "custom" } });
    try {
      assert.deepEqual(c.auth, { room: "custom" });
      assert.equal(c.connectPackets.length, 1);
      assert.equal(c.connectPackets[0].nsp, "/custom");
      assert.equal(c.socket.id, c.connectPackets[0].data.sid);
      const ev = await serverEvent(server, "sio-connection", c.socket.id);
      assert.equal(ev.nsp, "/custom");
      // /custom has no "message" handler: nothing comes back. The server handles events in order, so an
      // __ack_result__ asked for afterwards proves that no message-back was sent before it.
      c.socket.on("ping-custom", (...args) => args.pop()("pong"));
      c.socket.emit("message", "ignored");
      c.socket.emit("__emit_with_ack__", "ping-custom", 5000, "p");
      const [res] = await c.waitEvent("__ack_result__");
      assert.deepEqual(res, { err: null, args: ["pong"] });
      assert.ok(!c.events.some((e) => e[0] === "message-back"), "no message-back on /custom");
    } finally {
      close(c);
    }
  });
}

test("unknown namespace → connect_error Invalid namespace; the manager's other sockets keep working", T, async () => {
  const m = manager(server, "websocket");
  const main = await connectOn(m, "/");
  const bad = m.socket("/nope");
  try {
    const errP = once(bad, "connect_error");
    bad.connect();
    const [err] = await errP;
    assert.ok(err instanceof Error);
    assert.equal(err.message, "Invalid namespace");
    assert.equal(err.data, undefined, "no data in the CONNECT_ERROR");
    assert.equal(bad.connected, false);
    // the connection and the other socket are still fine
    assert.equal(main.socket.connected, true);
    main.socket.emit("message", "still here");
    assert.deepEqual(await main.waitEvent("message-back", (a) => a[0] === "still here"), ["still here"]);
    // a new namespace socket on the same manager still connects
    const custom = await connectOn(m, "/custom");
    assert.equal(custom.socket.io.engine.id, main.socket.io.engine.id);
    custom.socket.disconnect();
  } finally {
    bad.disconnect();
    main.socket.disconnect();
  }
});

for (const mode of ["polling", "websocket"]) {
  test(`unknown namespace alone on its connection → connect_error Invalid namespace (${mode})`, T, async () => {
    const r = socketOf(server, mode, { nsp: "/does-not-exist" });
    try {
      const errP = once(r.socket, "connect_error");
      r.socket.connect();
      const [err] = await errP;
      assert.equal(err.message, "Invalid namespace");
      assert.ok(!server.events.some((e) => e.event === "sio-connection" && e.nsp === "/does-not-exist"));
    } finally {
      r.socket.disconnect();
    }
  });
}

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`"/" and "/custom" multiplexed on one connection (${mode})`, T, async () => {
    const m = manager(server, mode);
    const a = await connectOn(m, "/", { auth: { who: "main" } });
    const b = await connectOn(m, "/custom", { auth: { who: "custom" } });
    try {
      assert.equal(a.socket.io, b.socket.io, "same manager");
      assert.ok(a.socket.io.engine.id, "engine id");
      assert.equal(a.socket.io.engine.id, b.socket.io.engine.id, "same engine connection");
      assert.notEqual(a.socket.id, b.socket.id, "different socket ids");
      assert.deepEqual(a.auth, { who: "main" });
      assert.deepEqual(b.auth, { who: "custom" });
      const ea = await serverEvent(server, "sio-connection", a.socket.id);
      const eb = await serverEvent(server, "sio-connection", b.socket.id);
      assert.equal(ea.nsp, "/");
      assert.equal(eb.nsp, "/custom");
      if (mode === "upgrade") assert.equal(await waitUpgrade(a), "websocket");
      a.socket.emit("message", "on main");
      assert.deepEqual(await a.waitEvent("message-back"), ["on main"]);
      assert.ok(!b.events.some((e) => e[0] === "message-back"), "message-back only on /");
      // an ack on /custom while / is busy
      b.socket.on("q", (x, cb) => cb(x + 1));
      b.socket.emit("__emit_with_ack__", "q", 5000, 41);
      assert.deepEqual((await b.waitEvent("__ack_result__"))[0], { err: null, args: [42] });
      // leaving one namespace keeps the other
      b.socket.disconnect();
      const ev = await serverEvent(server, "sio-disconnect", eb.id);
      assert.equal(ev.reason, "client namespace disconnect");
      a.socket.emit("message", "after /custom left");
      assert.deepEqual(await a.waitEvent("message-back", (x) => x[0] === "after /custom left"), ["after /custom left"]);
      assert.equal(a.socket.connected, true);
    } finally {
      a.socket.disconnect();
      b.socket.disconnect();
    }
  });
}

test("a namespace can be joined again on the same connection after leaving it", T, async () => {
  const m = manager(server, "websocket");
  const a = await connectOn(m, "/");
  const b = await connectOn(m, "/custom");
  try {
    const first = b.socket.id;
    b.socket.disconnect();
    await serverEvent(server, "sio-disconnect", first);
    b.socket.connect();
    await withTimeout(new Promise((r) => b.socket.once("connect", r)), WAIT, "reconnect of /custom");
    assert.notEqual(b.socket.id, first, "a new socket id");
    assert.equal(b.socket.io.engine.id, a.socket.io.engine.id, "on the same connection");
    await serverEvent(server, "sio-connection", b.socket.id);
  } finally {
    a.socket.disconnect();
    b.socket.disconnect();
  }
});
