#!/usr/bin/env node
// Reference server for the interop tests: Node's real engine.io 6 (Engine.IO echo app at /engine.io/) and socket.io
// 4.8 (the Socket.IO app at /socket.io/) on one port, with the same flags as build/conformance (see README.md in
// this directory). Run the interop tests against it with EIO_SERVER=reference.
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Server } = require("engine.io");
const { Server: SioServer } = require("socket.io");

function usage(msg) {
  process.stderr.write(`reference-server: ${msg}\n`);
  process.stderr.write(
    "usage: reference-server.mjs [--port N] [--ping-interval MS] [--ping-timeout MS] [--upgrade-timeout MS]\n" +
      "  [--max-payload BYTES] [--transports polling,websocket] [--no-upgrades] [--cors-origin ORIGIN]...\n" +
      "  [--cors-credentials] [--cookie] [--deny-query KEY=VALUE]... [--events] [--test-commands]\n" +
      "  [--redis URL] [--redis-key PREFIX] [--requests-timeout MS]\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    port: 3000,
    pingInterval: 300,
    pingTimeout: 200,
    upgradeTimeout: 10000,
    maxPayload: 1000000,
    transports: ["polling", "websocket"],
    upgrades: true,
    corsOrigins: [],
    corsCredentials: false,
    cookie: false,
    denyQuery: [],
    events: false,
    testCommands: false,
    redis: null,
    redisKey: "socket.io",
    requestsTimeout: 5000,
  };
  const num = (flag, v) => {
    if (v === undefined || !/^\d+$/.test(v)) usage(`${flag} needs a non-negative integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case "--port": o.port = num(a, val()); break;
      case "--ping-interval": o.pingInterval = num(a, val()); break;
      case "--ping-timeout": o.pingTimeout = num(a, val()); break;
      case "--upgrade-timeout": o.upgradeTimeout = num(a, val()); break;
      case "--max-payload": o.maxPayload = num(a, val()); break;
      case "--transports": {
        const t = val().split(",").map((s) => s.trim()).filter(Boolean);
        if (t.length === 0 || t.some((x) => x !== "polling" && x !== "websocket")) {
          usage(`--transports takes a comma-separated list of polling,websocket, got ${JSON.stringify(argv[i])}`);
        }
        o.transports = t;
        break;
      }
      case "--no-upgrades": o.upgrades = false; break;
      case "--cors-origin": o.corsOrigins.push(val()); break;
      case "--cors-credentials": o.corsCredentials = true; break;
      case "--cookie": o.cookie = true; break;
      case "--deny-query": {
        const kv = val();
        const eq = kv.indexOf("=");
        if (eq <= 0) usage(`--deny-query takes KEY=VALUE, got ${JSON.stringify(kv)}`);
        o.denyQuery.push([kv.slice(0, eq), kv.slice(eq + 1)]);
        break;
      }
      case "--events": o.events = true; break;
      case "--test-commands": o.testCommands = true; break;
      case "--redis": o.redis = val(); break;
      case "--redis-key": o.redisKey = val(); break;
      case "--requests-timeout": o.requestsTimeout = num(a, val()); break;
      default: usage(`unknown argument ${JSON.stringify(a)}`);
    }
  }
  // SIO_REDIS_URL when --redis is absent.
  if (o.redis === null && process.env.SIO_REDIS_URL) o.redis = process.env.SIO_REDIS_URL;
  return o;
}

const opts = parseArgs(process.argv.slice(2));

const engineOpts = {
  path: "/engine.io/",
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  upgradeTimeout: opts.upgradeTimeout,
  maxHttpBufferSize: opts.maxPayload,
  transports: opts.transports,
  allowUpgrades: opts.upgrades,
};
if (opts.corsOrigins.length > 0 || opts.corsCredentials) {
  const cors = {};
  if (opts.corsOrigins.length === 1) cors.origin = opts.corsOrigins[0];
  else if (opts.corsOrigins.length > 1) cors.origin = opts.corsOrigins.includes("*") ? "*" : opts.corsOrigins;
  if (opts.corsCredentials) cors.credentials = true;
  engineOpts.cors = cors;
}
if (opts.cookie) {
  engineOpts.cookie = { name: "io", path: "/", httpOnly: true, sameSite: "lax" };
}
if (opts.denyQuery.length > 0) {
  engineOpts.allowRequest = (req, fn) => {
    const q = new URL(req.url, "http://localhost").searchParams;
    const denied = opts.denyQuery.some(([k, v]) => q.getAll(k).includes(v));
    if (denied) fn("denied by test", false);
    else fn(null, true);
  };
}

function emitEvent(obj) {
  if (opts.events) process.stdout.write(JSON.stringify(obj) + "\n");
}

function toBuffer(data) {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

const httpServer = http.createServer((req, res) => {
  // engine.io handles its own path; anything else is not found.
  if (!res.headersSent) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found");
  }
});
const engine = new Server(engineOpts);
engine.attach(httpServer, { path: "/engine.io/" });

// The Socket.IO app at /socket.io/ (README.md, "The Socket.IO app"), on its own engine with the same engine options
// (CORS and cookie included, allowRequest excluded, as in conformance.c) and connectTimeout 1000. Its engine reports
// no --events lines of its own, as ours. destroyUpgrade off: the /engine.io/ engine above already ends upgrade
// requests for unknown paths, so that behaviour stays exactly as it was.
const sioOpts = { ...engineOpts, path: "/socket.io/", connectTimeout: 1000, serveClient: true, destroyUpgrade: false };
delete sioOpts.allowRequest;
// --redis URL: @socket.io/redis-adapter (classic pub/sub) with two `redis` v4 clients, connected before the server
// exists (so that every namespace's adapter, "/" included, is a RedisAdapter) and before listening. Their 'error'
// listeners only log: a Redis restart must not crash the server (the clients reconnect by themselves).
if (opts.redis !== null) {
  const { createClient } = require("redis");
  const { createAdapter } = require("@socket.io/redis-adapter");
  const pubClient = createClient({ url: opts.redis });
  const subClient = pubClient.duplicate();
  for (const [name, c] of [["pub", pubClient], ["sub", subClient]]) {
    // one line per outage, not one per reconnection attempt
    let quiet = false;
    c.on("error", (err) => {
      if (!quiet) process.stderr.write(`reference-server: redis ${name} client: ${err.message || err.code || err}\n`);
      quiet = true;
    });
    c.on("ready", () => { quiet = false; });
  }
  try {
    await Promise.all([pubClient.connect(), subClient.connect()]);
  } catch (err) {
    process.stderr.write(`reference-server: cannot connect to redis ${opts.redis}: ${err.message}\n`);
    process.exit(1);
  }
  sioOpts.adapter = createAdapter(pubClient, subClient, { key: opts.redisKey, requestsTimeout: opts.requestsTimeout });
}
const io = new SioServer(httpServer, sioOpts);

// The last argument of a received event is the acknowledgement callback when the client asked for one.
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") return [args.slice(0, -1), args[args.length - 1]];
  return [args, null];
}

// --events: the adapter's room lifecycle, one "sio-room" line per event (README.md); the socket id is "socket", not
// "id", so that the suites that pick a socket's lines by e.id see only its sio-* lines. Registered once per namespace:
// at start for the fixed ones, from the first connection's handler for the children of a dynamic namespace (as
// conformance.c does).
const roomEventsOn = new WeakSet();
function printRoomEvents(nsp) {
  if (!opts.events || roomEventsOn.has(nsp)) return;
  roomEventsOn.add(nsp);
  const a = nsp.adapter;
  a.on("create-room", (room) => emitEvent({ event: "sio-room", what: "create", nsp: nsp.name, room }));
  a.on("delete-room", (room) => emitEvent({ event: "sio-room", what: "delete", nsp: nsp.name, room }));
  a.on("join-room", (room, id) => emitEvent({ event: "sio-room", what: "join", nsp: nsp.name, room, socket: id }));
  a.on("leave-room", (room, id) => emitEvent({ event: "sio-room", what: "leave", nsp: nsp.name, room, socket: id }));
}

// Server-side events "__sse__" (serverSideEmit from another server of the cluster, or from the emitter): one
// "sio-server-side" line; when the last argument is a function (an acknowledgement was asked), it is called with
// {port} of this server. Registered once per namespace, like printRoomEvents.
const sseOn = new WeakSet();
function listenServerSide(nsp) {
  if (sseOn.has(nsp)) return;
  sseOn.add(nsp);
  nsp.on("__sse__", (...raw) => {
    const [args, ack] = splitAck(raw);
    emitEvent({ event: "sio-server-side", nsp: nsp.name, args });
    if (ack) ack({ port: httpServer.address().port });
  });
}

// A room name or an array of them (absent: none).
const roomList = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

// --test-commands, rooms and broadcasting (README.md): each command takes its arguments as the first event argument
// and answers through the client's acknowledgement.
function setupRoomCommands(socket) {
  const nsp = socket.nsp;
  const on = (name, fn) => socket.on(name, (...raw) => {
    const [args, ack] = splitAck(raw);
    fn(args[0], ack || (() => {}));
  });
  // The sockets an operation is for: nsp.in(rooms).except(except).
  const select = (o) => nsp.in(roomList(o?.rooms)).except(roomList(o?.except));
  on("__join__", (rooms, ack) => {
    socket.join(roomList(rooms));
    ack([...socket.rooms]);
  });
  on("__leave__", (room, ack) => {
    socket.leave(room);
    ack([...socket.rooms]);
  });
  on("__rooms__", (_, ack) => ack([...socket.rooms]));
  on("__to__", (o, ack) => {
    const rooms = roomList(o?.rooms);
    let op = o?.from_socket ? socket.to(rooms) : nsp.to(rooms);
    op = op.except(roomList(o?.except));
    if (o?.volatile) op = op.volatile;
    try {
      op.emit(o?.event, ...(o?.args || []));
    } catch {
      return ack("error"); // a reserved event name: ours refuses it with SIO_EINVAL
    }
    ack("ok");
  });
  on("__to_with_ack__", (o, ack) => {
    try {
      select(o).timeout(o?.timeout).emit(o?.event, ...(o?.args || []), (err, responses) =>
        ack({ err: err ? err.message : null, responses }));
    } catch {
      ack("error");
    }
  });
  on("__fetch__", async (o, ack) => {
    let sockets;
    try {
      sockets = await select(o).fetchSockets();
    } catch {
      return ack("error");
    }
    ack(sockets.map((s) => ({
      id: s.id,
      rooms: [...s.rooms],
      data: s.data ?? null,
      address: s.handshake.address,
      query_foo: s.handshake.query.foo ?? null,
      auth: s.handshake.auth,
    })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  });
  on("__sockets_join__", (o, ack) => {
    select(o).socketsJoin(roomList(o?.join));
    ack("ok");
  });
  on("__sockets_leave__", (o, ack) => {
    select(o).socketsLeave(roomList(o?.leave));
    ack("ok");
  });
  on("__disconnect_sockets__", (o, ack) => {
    ack("ok");
    select(o).disconnectSockets(o?.close === true);
  });
  on("__set_data__", (value, ack) => {
    socket.data = value;
    ack("ok");
  });
  on("__room_size__", (room, ack) => ack(nsp.adapter.rooms.get(room)?.size ?? 0));
  // serverSideEmit("__sse__", ...args) to the other servers of the cluster; with ack: true, with an
  // acknowledgement (socket.io 4.8 has no per-call timeout for it: the adapter waits up to its requests timeout,
  // --requests-timeout), answering {err, responses} from the callback.
  on("__server_side_emit__", (o, ack) => {
    const args = o?.args || [];
    try {
      if (o?.ack !== true) {
        nsp.serverSideEmit("__sse__", ...args);
        return ack("ok");
      }
      nsp.serverSideEmit("__sse__", ...args, (err, responses) => ack({ err: err ? err.message : null, responses }));
    } catch {
      ack("error");
    }
  });
}

function setupNamespace(nsp, main, dynamic = false) {
  if (!dynamic) {
    printRoomEvents(nsp);
    listenServerSide(nsp);
  }
  nsp.on("connection", (socket) => {
    const id = socket.id;
    printRoomEvents(socket.nsp);
    listenServerSide(socket.nsp);
    emitEvent({ event: "sio-connection", nsp: socket.nsp.name, id });
    socket.on("disconnecting", (reason) => emitEvent({ event: "sio-disconnecting", nsp: socket.nsp.name, id, reason }));
    socket.on("disconnect", (reason) => emitEvent({ event: "sio-disconnect", nsp: socket.nsp.name, id, reason }));
    if (opts.testCommands) {
      // "__disconnect__" [close] [bye]: disconnect this socket; close === true closes the whole connection; with
      // bye === true a "disconnecting" handler emits "__bye__" to the socket.
      socket.on("__disconnect__", (...raw) => {
        const [args] = splitAck(raw);
        if (args[1] === true) socket.on("disconnecting", () => socket.emit("__bye__"));
        socket.disconnect(args[0] === true);
      });
      // "__emit_with_ack__" event timeout_ms ...args: emit with an acknowledgement and that timeout; the outcome
      // comes back as "__ack_result__" {err, args}. Like conformance.c: nothing when the socket is disconnected
      // meanwhile (ours reports SIO_EDISCONNECTED to the callback and ignores emits on a disconnected socket).
      socket.on("__emit_with_ack__", (...raw) => {
        const [args] = splitAck(raw);
        const [event, timeout, ...rest] = args;
        if (typeof event !== "string" || typeof timeout !== "number") return;
        try {
          socket.timeout(timeout).emit(event, ...rest, (err, ...answer) => {
            if (!socket.connected) return;
            socket.emit("__ack_result__", { err: err ? err.message : null, args: err ? null : answer });
          });
        } catch {
          // a reserved event name: ours refuses it (SIO_EINVAL) and nothing is sent
        }
      });
    }
    if (opts.testCommands) {
      // "__handshake__" with an ack: the handshake as the application sees it.
      socket.on("__handshake__", (...raw) => {
        const [, ack] = splitAck(raw);
        const h = socket.handshake;
        if (ack) ack({ headers: h.headers, query: h.query, address: h.address, url: h.url, time: h.time,
                       issued: h.issued, secure: h.secure, auth: h.auth, transport: socket.conn.transport.name });
      });
      // Per-packet middleware: events whose name starts with "__drop" never reach a handler.
      socket.use(([event], next) => next(typeof event === "string" && event.startsWith("__drop") ? new Error("dropped") : undefined));
      socket.on("error", () => {});
      // Outgoing catch-all: "__outgoing__" (with an ack) answers how many events the server emitted, and the last.
      const outgoing = { count: 0, last: "" };
      socket.onAnyOutgoing((event) => { outgoing.count++; outgoing.last = event; });
      socket.on("__outgoing__", (...raw) => {
        const [, ack] = splitAck(raw);
        if (ack) ack({ ...outgoing });
      });
      setupRoomCommands(socket);
      // Catch-all: "__any_echo__" ...args comes back as "__any__" event ...args (binary included).
      socket.onAny((event, ...raw) => {
        if (event !== "__any_echo__") return;
        const [args] = splitAck(raw);
        socket.emit("__any__", event, ...args);
      });
    }
    socket.emit("auth", socket.handshake.auth);
    if (main) {
      socket.on("message", (...raw) => {
        const [args] = splitAck(raw);
        socket.emit("message-back", ...args);
      });
      socket.on("message-with-ack", (...raw) => {
        const [args, ack] = splitAck(raw);
        if (ack) ack(...args);
      });
    }
  });
}
setupNamespace(io.of("/"), true);
setupNamespace(io.of("/custom"), false);
if (opts.testCommands) {
  // "/private": a middleware refuses a CONNECT without auth {token: "secret"}.
  const priv = io.of("/private");
  priv.use((socket, next) => {
    if (socket.handshake.auth && socket.handshake.auth.token === "secret") return next();
    const err = new Error("invalid token");
    err.data = { hint: "use secret" };
    next(err);
  });
  setupNamespace(priv, false);
  // Dynamic namespaces /dyn-<digits>, created on first CONNECT.
  setupNamespace(io.of(/^\/dyn-\d+$/), false, true);
}

engine.on("connection", (socket) => {
  const sid = socket.id;
  emitEvent({ event: "connection", sid, transport: socket.transport.name });
  socket.on("upgrade", (transport) => {
    emitEvent({ event: "upgrade", sid, transport: transport.name });
  });
  socket.on("message", (data) => {
    // engine.io-parser decodes an empty text message ("4") as data undefined: treat it as "".
    if (data === undefined || data === null) data = "";
    const buf = toBuffer(data);
    const binary = buf !== null;
    // length: bytes for binary, UTF-8 bytes for text.
    emitEvent({ event: "message", sid, binary, length: binary ? buf.length : Buffer.byteLength(data, "utf8") });
    if (!binary && opts.testCommands && data.startsWith("__")) {
      if (data === "__close__") {
        socket.close();
        return;
      }
      const m = /^__send__(\d+)$/.exec(data);
      if (m) {
        const n = Number(m[1]);
        for (let i = 0; i < n; i++) socket.send(String(i));
        return;
      }
    }
    socket.send(binary ? buf : data);
  });
  socket.on("close", (reason) => {
    emitEvent({ event: "close", sid, reason });
  });
});

httpServer.listen(opts.port, "127.0.0.1", () => {
  const { port } = httpServer.address();
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
});
httpServer.on("error", (err) => {
  process.stderr.write(`reference-server: ${err.message}\n`);
  process.exit(1);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  // io.close() disconnects the sockets ("server shutting down"), closes its engine and the http server.
  httpServer.once("close", () => process.exit(0));
  io.close();
  engine.close();
  httpServer.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
