// Namespace middleware, dynamic namespaces, the handshake data, per-packet middleware and catch-all listeners
// (the --test-commands features of README.md), with the real socket.io-client, against ours and the reference.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { connect, socketOf, once, closeAll, assertSameArgs, bytes, withTimeout, WAIT } from "./helpers.mjs";

let srv;
before(async () => {
  srv = await startServer({ events: true, args: ["--test-commands", "--ping-interval", "20000", "--ping-timeout", "20000"] });
});
after(async () => {
  closeAll();
  await srv.stop();
});

for (const mode of ["websocket", "polling"]) {
  test(`namespace middleware refuses a CONNECT with its message and data (${mode})`, async () => {
    const r = socketOf(srv, mode, { nsp: "/private", auth: { token: "wrong" } });
    r.socket.connect();
    const [err] = await once(r.socket, "connect_error");
    assert.equal(err.message, "invalid token");
    assert.deepEqual(err.data, { hint: "use secret" });
    assert.equal(r.socket.connected, false);
  });

  test(`namespace middleware lets the right token through (${mode})`, async () => {
    const r = await connect(srv, mode, { nsp: "/private", auth: { token: "secret" } });
    assert.deepEqual(r.auth, { token: "secret" });
    const ev = await srv.waitEvent((e) => e.event === "sio-connection" && e.id === r.socket.id);
    assert.equal(ev.nsp, "/private");
  });

  test(`dynamic namespaces /dyn-<digits> are created on demand and reused (${mode})`, async () => {
    const a = await connect(srv, mode, { nsp: "/dyn-42", auth: { n: 1 } });
    const b = await connect(srv, mode, { nsp: "/dyn-42", auth: { n: 2 } });
    const c = await connect(srv, mode, { nsp: "/dyn-7" });
    assert.deepEqual([a.auth, b.auth, c.auth], [{ n: 1 }, { n: 2 }, {}]);
    const ev = await srv.waitEvent((e) => e.event === "sio-connection" && e.id === a.socket.id);
    assert.equal(ev.nsp, "/dyn-42");
    const bad = socketOf(srv, mode, { nsp: "/dyn-x" });
    bad.socket.connect();
    const [err] = await once(bad.socket, "connect_error");
    assert.equal(err.message, "Invalid namespace");
  });

  test(`the handshake: headers, query, address, url, time, secure, auth (${mode})`, async () => {
    const before = Date.now();
    const r = await connect(srv, mode, { auth: { user: "ada" }, query: { foo: "bar baz/é" }, extraHeaders: { "X-Test": "yes" } });
    const h = await r.socket.timeout(WAIT).emitWithAck("__handshake__");
    assert.equal(h.headers["x-test"], "yes");
    assert.equal(h.headers.host, `127.0.0.1:${srv.port}`);
    assert.equal(h.query.foo, "bar baz/é");
    assert.equal(h.query.EIO, "4");
    assert.equal(h.query.transport, mode === "websocket" ? "websocket" : "polling");
    assert.match(h.address, /^(::ffff:)?127\.0\.0\.1$/);
    assert.match(h.url, /^\/socket\.io\/\?/);
    assert.ok(h.issued >= before - 1000 && h.issued <= Date.now() + 1000, `issued ${h.issued}`);
    assert.equal(h.secure, false);
    assert.deepEqual(h.auth, { user: "ada" });
    assert.equal(h.transport, mode);
  });

  test(`per-packet middleware drops an event, later events go through (${mode})`, async () => {
    const r = await connect(srv, mode);
    await assert.rejects(r.socket.timeout(500).emitWithAck("__drop_me", 1), /operation has timed out/);
    assert.deepEqual(await r.socket.timeout(WAIT).emitWithAck("message-with-ack", "still here"), "still here");
  });

  test(`a catch-all listener sees incoming events, binary included (${mode})`, async () => {
    const r = await connect(srv, mode);
    const got = once(r.socket, "__any__");
    r.socket.emit("__any_echo__", 1, { b: bytes(10) }, "x");
    assertSameArgs(await got, ["__any_echo__", 1, { b: bytes(10) }, "x"], "__any__ arguments");
  });
}

test("an outgoing catch-all sees every event the server emits (acks excluded)", async () => {
  const r = await connect(srv, "websocket"); // the server emitted "auth" on connection
  const back = once(r.socket, "message-back");
  r.socket.emit("message", "a");
  await back;
  const first = await r.socket.timeout(WAIT).emitWithAck("__outgoing__");
  assert.deepEqual(first, { count: 2, last: "message-back" });
  const anyBack = once(r.socket, "__any__");
  r.socket.emit("__any_echo__", 1);
  await anyBack;
  assert.deepEqual(await r.socket.timeout(WAIT).emitWithAck("__outgoing__"), { count: 3, last: "__any__" });
});

test("the middleware refusal keeps the connection usable for other namespaces", async () => {
  const ok = await connect(srv, "websocket");
  const m = ok.socket.io;
  const bad = m.socket("/private", { auth: {} });
  bad.connect();
  await withTimeout(new Promise((res) => bad.once("connect_error", res)), WAIT, "connect_error");
  assert.equal(await ok.socket.timeout(WAIT).emitWithAck("message-with-ack", "y"), "y");
  bad.disconnect();
});
