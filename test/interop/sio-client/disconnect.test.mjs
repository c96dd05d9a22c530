// socket.io-client 4.8: disconnections and their reasons on both sides, reconnection, connectTimeout, ping timeouts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import {
  io, connect, connectOn, manager, close, closeAll, serverEvent, once, sleep, clientOptions, WAIT,
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

// The server's sio-disconnecting and sio-disconnect lines for socket id: both present, disconnecting first, same
// reason. Returns the reason.
async function serverReason(srv, id) {
  const d = await serverEvent(srv, "sio-disconnect", id);
  const evs = srv.events.filter((e) => e.id === id);
  assert.deepEqual(evs.map((e) => e.event), ["sio-connection", "sio-disconnecting", "sio-disconnect"], `server events of ${id}`);
  assert.equal(evs[1].reason, d.reason, "disconnecting and disconnect have the same reason");
  assert.equal(evs[1].nsp, d.nsp);
  return d.reason;
}

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`client socket.disconnect() → server reason "client namespace disconnect", client "io client disconnect" (${mode})`, T, async () => {
    const c = await connect(server, mode);
    const id = c.socket.id;
    const dP = c.waitDisconnect();
    c.socket.disconnect();
    assert.equal((await dP).reason, "io client disconnect");
    assert.equal(await serverReason(server, id), "client namespace disconnect");
  });

  test(`server __disconnect__ → client "io server disconnect", server "server namespace disconnect" (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      const id = c.socket.id;
      const dP = c.waitDisconnect();
      c.socket.emit("__disconnect__");
      assert.equal((await dP).reason, "io server disconnect");
      assert.equal(await serverReason(server, id), "server namespace disconnect");
      assert.equal(c.socket.active, false, "no automatic reconnection after a server-side disconnect");
    } finally {
      close(c);
    }
  });
}

for (const mode of ["polling", "websocket"]) {
  test(`__disconnect__ false on /custom keeps "/" on the same connection (${mode})`, T, async () => {
    const m = manager(server, mode);
    const a = await connectOn(m, "/");
    const b = await connectOn(m, "/custom");
    try {
      const dP = b.waitDisconnect();
      b.socket.emit("__disconnect__", false);
      assert.equal((await dP).reason, "io server disconnect");
      assert.equal(await serverReason(server, b.socket.id ?? b.connectPackets[0].data.sid), "server namespace disconnect");
      a.socket.emit("message", "still connected");
      assert.deepEqual(await a.waitEvent("message-back"), ["still connected"]);
      assert.equal(a.socket.connected, true);
      assert.ok(!server.events.some((e) => e.id === a.socket.id && e.event === "sio-disconnect"));
    } finally {
      a.socket.disconnect();
      b.socket.disconnect();
    }
  });

  test(`__disconnect__ true closes the whole connection: both namespaces disconnected (${mode})`, T, async () => {
    const m = manager(server, mode, { reconnection: true, reconnectionDelay: 100 });
    const a = await connectOn(m, "/");
    const b = await connectOn(m, "/custom");
    const ida = a.socket.id;
    const idb = b.socket.id;
    try {
      const closeP = once(m, "close");
      const daP = a.waitDisconnect();
      const dbP = b.waitDisconnect();
      b.socket.emit("__disconnect__", true);
      const [da, db] = await Promise.all([daP, dbP]);
      // the server sends a DISCONNECT to every namespace before closing the connection
      assert.equal(da.reason, "io server disconnect");
      assert.equal(db.reason, "io server disconnect");
      assert.equal(await serverReason(server, ida), "server namespace disconnect");
      assert.equal(await serverReason(server, idb), "server namespace disconnect");
      await closeP;
      // io server disconnect: the client does not reconnect by itself
      await sleep(500);
      assert.equal(a.socket.connected, false);
      assert.equal(b.socket.connected, false);
      assert.equal(server.events.filter((e) => e.event === "sio-connection" && (e.id === ida || e.id === idb)).length, 2);
    } finally {
      a.socket.disconnect();
      b.socket.disconnect();
    }
  });
}

// Makes the client's engine drop its pongs: the server's heartbeat times out.
function dropPongs(socket) {
  const engine = socket.io.engine;
  const orig = engine._sendPacket;
  assert.equal(typeof orig, "function", "engine.io-client internals changed: _sendPacket");
  engine._sendPacket = function (type, ...rest) {
    if (type === "pong") return;
    return orig.call(this, type, ...rest);
  };
}

for (const mode of ["polling", "websocket"]) {
  test(`ping timeout on the server (the client stops answering pings): server reason "ping timeout" (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      const id = c.socket.id;
      const dP = c.waitDisconnect();
      dropPongs(c.socket);
      assert.equal(await serverReason(server, id), "ping timeout");
      const d = await dP;
      assert.equal(d.reason, "transport close", `client reason ${JSON.stringify(d)}`);
    } finally {
      close(c);
    }
  });

  test(`ping timeout on the client (it expects pings sooner than the server sends them): client "ping timeout", server "transport close" (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      const id = c.socket.id;
      const engine = c.socket.io.engine;
      assert.ok(engine._pingInterval > 0 && engine._pingTimeout > 0, "engine.io-client internals changed: _pingInterval");
      // next reset (at the next ping) arms a 20 ms timer, while the server pings every 300 ms
      engine.once("ping", () => {
        engine._pingInterval = 10;
        engine._pingTimeout = 10;
      });
      const d = await c.waitDisconnect();
      assert.equal(d.reason, "ping timeout");
      assert.equal(await serverReason(server, id), "transport close");
    } finally {
      close(c);
    }
  });
}

for (const mode of ["polling", "websocket"]) {
  test(`reconnection: after a ping timeout the client reconnects with a new socket id (${mode})`, T, async () => {
    const socket = io(server.base, clientOptions(mode, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 }));
    try {
      const auths = [];
      socket.on("auth", (a) => auths.push(a));
      await once(socket, "connect");
      const first = socket.id;
      const firstEngine = socket.io.engine.id;
      const dP = once(socket, "disconnect");
      const reconnectP = once(socket.io, "reconnect");
      dropPongs(socket);
      const [reason] = await dP;
      assert.equal(reason, "transport close");
      assert.equal(socket.active, true, "transport close: the client reconnects by itself");
      assert.equal(await serverReason(server, first), "ping timeout");
      await reconnectP;
      if (!socket.connected) await once(socket, "connect");
      assert.notEqual(socket.id, first, "new socket id");
      assert.notEqual(socket.io.engine.id, firstEngine, "new engine connection");
      await serverEvent(server, "sio-connection", socket.id);
      const answer = await socket.timeout(5000).emitWithAck("message-with-ack", "after reconnect");
      assert.equal(answer, "after reconnect");
      assert.equal(auths.length, 2, "auth event on each connection");
    } finally {
      socket.io.reconnection(false);
      socket.disconnect();
    }
  });
}

for (const mode of ["polling", "websocket"]) {
  test(`connectTimeout: an engine connection that joins no namespace is closed after about 1 s (${mode})`, T, async () => {
    const m = manager(server, mode);
    try {
      const before = server.events.filter((e) => e.event === "sio-connection").length;
      const openP = once(m, "open");
      const closeP = once(m, "close", WAIT);
      m.open();
      await openP;
      const t0 = Date.now();
      const [reason] = await closeP;
      assert.equal(reason, "transport close", "the server closed the connection");
      assert.ok(Date.now() - t0 >= 500, `closed after ${Date.now() - t0} ms, expected about 1000`);
      assert.equal(server.events.filter((e) => e.event === "sio-connection").length, before, "no sio-connection");
    } finally {
      m.engine?.close();
    }
  });
}

test("a namespace joined within connectTimeout keeps the connection beyond it", T, async () => {
  const c = await connect(server, "websocket");
  try {
    await sleep(1500);
    assert.equal(c.socket.connected, true);
    assert.equal(await c.socket.timeout(5000).emitWithAck("message-with-ack", "alive"), "alive");
  } finally {
    close(c);
  }
});

test("server shutdown: sockets get \"server shutting down\", the client \"transport close\"", T, async () => {
  const own = await startServer({ events: true, args: ["--test-commands"] });
  let c;
  try {
    c = await connect(own, "websocket");
    const id = c.socket.id;
    const dP = c.waitDisconnect();
    await own.stop();
    const d = await dP;
    assert.equal(d.reason, "transport close");
    assert.equal(await serverReason(own, id), "server shutting down");
  } finally {
    if (c) close(c);
    await own.stop();
  }
});
