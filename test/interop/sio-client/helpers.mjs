// Shared helpers for the socket.io-client interop tests (not a test file itself: node --test only picks *.test.mjs).
// The server under test serves the Socket.IO app of README.md ("The Socket.IO app at /socket.io/").
import assert from "node:assert/strict";
import { io, Manager } from "socket.io-client";

export { io, Manager };

// Generous default wait: tests must not depend on a fast machine.
export const WAIT = 10000;

// Client transport modes.
export const MODES = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Resolves with the arguments of the next `event` of emitter.
export function once(emitter, event, ms = WAIT) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms,
    `client event "${event}"`);
}

// Every socket and manager made here, so that an after() hook can close leftovers (closeAll).
const sockets = new Set();
const managers = new Set();

export function closeAll() {
  for (const s of sockets) s.disconnect();
  for (const m of managers) {
    m.reconnection(false);
    m.engine?.close();
  }
  sockets.clear();
  managers.clear();
}

// Client options: forceNew and no reconnection unless asked, mode "polling" | "websocket" | "upgrade" or options.
export function clientOptions(mode, extra = {}) {
  return { forceNew: true, reconnection: false, ...(typeof mode === "string" ? MODES[mode] : mode), ...extra };
}

// A manager of its own (for several namespaces on one connection); it opens when its first socket connects.
export function manager(server, mode = "websocket", extra = {}) {
  const m = new Manager(server.base, { reconnection: false, autoConnect: false, ...MODES[mode], ...extra });
  managers.add(m);
  return m;
}

// Wraps a socket so that everything it receives is recorded before it connects:
// auth (the payload of the server's "auth" event), events [[name, ...args]] (any event), connect packets
// (the CONNECT answers seen by the manager for this namespace), disconnect {reason, description}.
function record(socket) {
  const r = {
    socket,
    auth: undefined,
    events: [],
    connectPackets: [],
    disconnects: [],
    connectErrors: [],
    _waiters: [],
    _notify() {
      for (const w of [...this._waiters]) {
        const v = w.pred();
        if (v) {
          this._waiters.splice(this._waiters.indexOf(w), 1);
          w.resolve(v);
        }
      }
    },
    // Resolves with the arguments of the first received event named `name` (already received or future) whose
    // arguments match pred. Rejects if the socket disconnects first.
    waitEvent(name, pred = () => true, ms = WAIT) {
      const find = () => this.events.find((e) => e[0] === name && pred(e.slice(1)));
      return withTimeout(new Promise((resolve, reject) => {
        const v = find();
        if (v) return resolve(v.slice(1));
        const w = { pred: () => { const e = find(); return e && e.slice(1); }, resolve, reject, name };
        this._waiters.push(w);
      }), ms, `event "${name}" (received so far: ${JSON.stringify(this.events.map((e) => e[0]))}; ` +
        `disconnects: ${JSON.stringify(this.disconnects)})`);
    },
    // Resolves with {reason, description} of the next (or last, if already disconnected) disconnect.
    waitDisconnect(ms = WAIT) {
      return withTimeout(new Promise((resolve) => {
        if (this.disconnects.length && !socket.connected) return resolve(this.disconnects.at(-1));
        socket.once("disconnect", (reason, description) => resolve({ reason, description }));
      }), ms, "client disconnect event");
    },
  };
  socket.on("auth", (a) => {
    r.auth = a;
  });
  socket.onAny((...args) => {
    r.events.push(args);
    r._notify();
  });
  socket.on("disconnect", (reason, description) => {
    r.disconnects.push({ reason, description });
    for (const w of r._waiters.splice(0)) {
      w.reject(new Error(`socket disconnected (${reason}) while waiting for event "${w.name}"`));
    }
  });
  socket.on("connect_error", (err) => {
    r.connectErrors.push(err);
  });
  socket.io.on("packet", (p) => {
    if (p.type === 0 && p.nsp === socket.nsp) r.connectPackets.push(p);
  });
  return r;
}

// A connected socket of namespace nsp on its own connection. Returns the recorder (see record()), once the socket
// is connected and the server's "auth" event has arrived.
export async function connect(server, mode = "websocket", { nsp = "/", ...extra } = {}) {
  const socket = io(server.base + nsp, clientOptions(mode, extra));
  sockets.add(socket);
  managers.add(socket.io);
  const r = record(socket);
  await waitConnected(r);
  return r;
}

// A socket of namespace nsp on manager m (connected, auth received).
export async function connectOn(m, nsp = "/", opts = {}) {
  const socket = m.socket(nsp, opts);
  sockets.add(socket);
  const r = record(socket);
  if (!socket.active) socket.connect();
  await waitConnected(r);
  return r;
}

async function waitConnected(r) {
  const { socket } = r;
  if (!socket.connected) {
    await withTimeout(new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (err) => reject(new Error(`connect_error: ${err.message}`)));
    }), WAIT, `connect of ${socket.nsp}`);
  }
  await r.waitEvent("auth");
}

// A socket that is not connected yet (for connect_error tests). Returns the recorder.
export function socketOf(server, mode = "websocket", { nsp = "/", ...extra } = {}) {
  const socket = io(server.base + nsp, clientOptions(mode, { autoConnect: false, ...extra }));
  sockets.add(socket);
  managers.add(socket.io);
  return record(socket);
}

export function close(r) {
  sockets.delete(r.socket);
  r.socket.disconnect();
}

// Waits until the server has reported event `event` (sio-connection, sio-disconnect...) for socket id.
export function serverEvent(server, event, id, ms = WAIT) {
  return server.waitEvent((e) => e.event === event && e.id === id, ms);
}

// Waits until every socket of the connection upgraded (mode "upgrade").
export async function waitUpgrade(r, ms = WAIT) {
  const engine = r.socket.io.engine;
  if (engine.transport.name === "websocket") return "websocket";
  const [t] = await withTimeout(new Promise((resolve, reject) => {
    engine.once("upgrade", (tr) => resolve([tr]));
    engine.once("upgradeError", (e) => reject(new Error(`upgradeError: ${e && e.message}`)));
  }), ms, "engine upgrade");
  return t.name;
}

// Deterministic binary payload: all 256 byte values repeated.
export function bytes(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i + seed) & 0xff;
  return b;
}

// Converts every binary value (Buffer, ArrayBuffer, typed array view) to a Buffer, recursively, so that received
// values (Buffer over WebSocket, ArrayBuffer or Buffer over polling) compare with what was sent.
export function normBin(v) {
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  if (v instanceof ArrayBuffer) return Buffer.from(new Uint8Array(v));
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(normBin);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normBin(x)]));
  return v;
}

// Asserts that every binary value sent is received as binary (not as a placeholder object) with the same bytes,
// and everything else deepEqual.
export function assertSameArgs(got, want, what) {
  assert.deepEqual(normBin(got), normBin(want), what);
}
