// Shared helpers for the engine.io-client interop tests (not a test file itself: node --test only picks *.test.mjs).
import { Socket } from "engine.io-client";

// Generous default wait: tests must not depend on a fast machine.
export const WAIT = 10000;

// Client transport modes exercised by most tests.
export const MODES = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};

export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

export function once(emitter, event, ms = WAIT) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms,
    `client event "${event}"`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Normalizes a received message: strings stay strings, any binary becomes a Buffer.
// engine.io-parser decodes an empty text message (packet "4") with data undefined: that is how the client
// represents "", whatever the server, so it is normalized to "".
export function norm(data) {
  if (data === undefined) return "";
  if (typeof data === "string") return data;
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new Error(`unexpected message type ${Object.prototype.toString.call(data)}`);
}

// Every client opened by openClient, so an after() hook can close leftovers (closeAll).
const allClients = new Set();
export function closeAll() {
  for (const c of allClients) c.close();
  allClients.clear();
}

function describeCloseDescription(d) {
  if (d === undefined || d === null) return undefined;
  if (d instanceof Error) return d.description !== undefined ? `${d.message} (${d.description})` : d.message;
  if (typeof d === "object" && "description" in d) return String(d.description);
  return String(d);
}

// A client that records everything: messages (normalized), close, upgrade, errors.
// Usage: const c = await openClient(server, "upgrade"); await c.next(); c.close();
export async function openClient(server, mode, extra = {}) {
  const opts = { ...(typeof mode === "string" ? MODES[mode] : mode), ...extra };
  const socket = new Socket(server.base, { path: "/engine.io/", ...opts });
  const c = {
    socket,
    messages: [],
    closed: null, // { reason, description } once closed (description normalized to a string)
    handshake: null, // the open packet's JSON, as the client parsed it
    pings: 0,
    upgradedTo: null,
    errors: [],
    _waiters: [],
    // Resolves with the next unread message.
    next(ms = WAIT) {
      return this.take(1, ms).then((a) => a[0]);
    },
    // Resolves with the next n unread messages.
    take(n, ms = WAIT) {
      const p = new Promise((resolve, reject) => {
        const w = { n, resolve, reject };
        this._waiters.push(w);
        this._pump();
      });
      return withTimeout(p, ms, `${n} message(s) (have ${this.messages.length - this._read} unread, ` +
        `${this.messages.length} total; closed: ${JSON.stringify(this.closed)})`);
    },
    _read: 0,
    _pump() {
      while (this._waiters.length) {
        const w = this._waiters[0];
        if (this.messages.length - this._read >= w.n) {
          this._waiters.shift();
          const got = this.messages.slice(this._read, this._read + w.n);
          this._read += w.n;
          w.resolve(got);
        } else if (this.closed) {
          this._waiters.shift();
          w.reject(new Error(`client closed (${JSON.stringify(this.closed)}) while waiting for ${w.n} message(s); ` +
            `${this.messages.length - this._read} unread`));
        } else {
          break;
        }
      }
    },
    waitClose(ms = WAIT) {
      if (this.closed) return Promise.resolve(this.closed);
      return withTimeout(new Promise((resolve) => socket.once("close", () => resolve(this.closed))), ms,
        "client close event");
    },
    waitUpgrade(ms = WAIT) {
      if (this.upgradedTo) return Promise.resolve(this.upgradedTo);
      return withTimeout(new Promise((resolve, reject) => {
        socket.once("upgrade", (t) => resolve(t.name));
        socket.once("upgradeError", (e) => reject(new Error(`upgradeError: ${e && e.message}`)));
      }), ms, "client upgrade event");
    },
    close() {
      allClients.delete(this);
      if (!this.closed) socket.close();
    },
  };
  allClients.add(c);
  socket.on("handshake", (h) => { c.handshake = h; });
  socket.on("ping", () => { c.pings++; });
  socket.on("message", (data) => {
    c.messages.push(norm(data));
    c._pump();
  });
  socket.on("upgrade", (t) => { c.upgradedTo = t.name; });
  socket.on("error", (e) => { c.errors.push(e); });
  socket.on("close", (reason, description) => {
    c.closed = { reason, description: describeCloseDescription(description) };
    c._pump();
  });
  const opened = new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("close", (reason) => reject(new Error(`client closed before open: ${reason}`)));
  });
  await withTimeout(opened, WAIT, "client open event");
  c.sid = socket.id; // socket.id is reset to null on close; keep it for server event lookups
  return c;
}

// The server-side sid of an open client.
export const sidOf = (c) => c.sid;

// Server event helpers (server started with events: true).
export function serverEvent(server, c, event, ms = WAIT) {
  const sid = typeof c === "string" ? c : sidOf(c);
  return server.waitEvent((e) => e.event === event && e.sid === sid, ms);
}

// Resolves with all server events of that kind for the session once there are at least n of them.
// (Needed because the server's stdout event lines can reach the test after the client has its echo.)
export async function serverEventsN(server, c, event, n, ms = WAIT) {
  const sid = typeof c === "string" ? c : sidOf(c);
  const all = () => server.events.filter((e) => e.sid === sid && e.event === event);
  if (all().length < n) await server.waitEvent(() => all().length >= n, ms);
  return all();
}

// Deterministic binary payload: all 256 byte values repeated.
export function bytes(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i + seed) & 0xff;
  return b;
}

// Deterministic text payload of exactly nBytes UTF-8 bytes, with 2-, 3- and 4-byte characters mixed in.
export function text(nBytes) {
  const pieces = ["abcdefghij", "é", "KLMNOPQRST", "€", "0123456789", "𝄞", " .,;:!?-_ "];
  const parts = [];
  let len = 0;
  for (let i = 0; ; i++) {
    const p = pieces[i % pieces.length];
    const b = Buffer.byteLength(p);
    if (len + b > nBytes) break;
    parts.push(p);
    len += b;
  }
  parts.push("x".repeat(nBytes - len));
  return parts.join("");
}

// Describes where two values first differ (for readable assertion messages on big payloads).
export function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `first difference at index ${i}`;
  return a.length === b.length ? "identical" : `lengths differ: ${a.length} vs ${b.length}`;
}
