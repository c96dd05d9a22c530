// Raw HTTP and raw WebSocket helpers for the interop tests, on node:net only, so that the tests control every byte
// (request framing, pipelining, header sizes, WebSocket keys, masking, fragmentation, bad frames).
import net from "node:net";
import crypto from "node:crypto";
import assert from "node:assert/strict";
import { isReference } from "../lib/server.mjs";

export { isReference };

export const RS = "\x1e";
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// For tests of rules where we are deliberately stricter than the reference ("[C]" in BAD-INPUTS.md).
export const skipOnReference = isReference ? "[C] stricter than the reference: not run against it" : false;

// ---------------------------------------------------------------------------------------------------------------
// A TCP connection with an input buffer that can be read incrementally (HTTP responses, WebSocket frames).
class Conn {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.ended = false; // peer sent FIN or the socket was closed / reset
    this.error = null;
    this._wake = [];
    socket.on("data", (d) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this._notify();
    });
    const onEnd = () => {
      this.ended = true;
      this._notify();
    };
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", (e) => {
      this.error = e;
      onEnd();
    });
    this.closed = new Promise((resolve) => socket.once("close", resolve));
  }

  _notify() {
    const w = this._wake;
    this._wake = [];
    for (const f of w) f();
  }

  // Resolves when more data arrives or the connection ends; false on timeout.
  _waitChange(deadline) {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = this._wake.indexOf(f);
        if (i >= 0) this._wake.splice(i, 1);
        resolve(false);
      }, left);
      const f = () => {
        clearTimeout(t);
        resolve(true);
      };
      this._wake.push(f);
    });
  }

  write(data) {
    if (this.socket.destroyed) return;
    try {
      this.socket.write(data);
    } catch {
      // the peer may already have closed: the tests look at what was received
    }
  }

  destroy() {
    this.socket.destroy();
  }

  // Half-close (send FIN).
  end() {
    this.socket.end();
  }

  // Resolves true when the connection is closed (FIN, RST or destroyed) within ms, false otherwise.
  async waitClosed(ms = 5000) {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      if (!(await this._waitChange(deadline)) && !this.ended) return false;
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

function parseHead(text) {
  const lines = text.split("\r\n");
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers = {};
  const rawHeaders = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i <= 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    rawHeaders.push([name, value]);
    const k = name.toLowerCase();
    if (k === "set-cookie") (headers[k] ||= []).push(value);
    else headers[k] = k in headers ? `${headers[k]}, ${value}` : value;
  }
  return { httpVersion: m[1], status: Number(m[2]), statusText: m[3] ?? "", statusLine: lines[0], headers, rawHeaders };
}

// Tries to take one complete response off the front of buf. Returns { res, rest } or null if incomplete.
// When ended is true, a body delimited by the connection close is complete.
function tryParseResponse(buf, ended, method) {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) return null;
  const head = parseHead(buf.subarray(0, headEnd).toString("latin1"));
  let pos = headEnd + 4;
  const h = head.headers;
  const noBody = method === "HEAD" || (head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304;
  let body;
  if (noBody) {
    body = Buffer.alloc(0);
  } else if (/\bchunked\b/i.test(h["transfer-encoding"] || "")) {
    const parts = [];
    for (;;) {
      const le = buf.indexOf("\r\n", pos);
      if (le < 0) return null;
      const size = parseInt(buf.subarray(pos, le).toString("latin1").split(";")[0], 16);
      if (Number.isNaN(size)) throw new Error("bad chunk size");
      pos = le + 2;
      if (size === 0) {
        // trailers until an empty line
        for (;;) {
          const te = buf.indexOf("\r\n", pos);
          if (te < 0) return null;
          const empty = te === pos;
          pos = te + 2;
          if (empty) break;
        }
        break;
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (h["content-length"] !== undefined) {
    const len = Number(h["content-length"]);
    if (buf.length < pos + len) return null;
    body = buf.subarray(pos, pos + len);
    pos += len;
  } else {
    if (!ended) return null;
    body = buf.subarray(pos);
    pos = buf.length;
  }
  const res = { ...head, body, text: body.toString("utf8") };
  return { res, rest: buf.subarray(pos) };
}

export class HttpConn extends Conn {
  static open(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" });
      s.setNoDelay(true);
      s.once("connect", () => {
        s.removeListener("error", reject);
        resolve(new HttpConn(s, port));
      });
      s.once("error", reject);
    });
  }

  constructor(socket, port) {
    super(socket);
    this.port = port;
    this._methods = []; // methods of the requests sent, in order (for HEAD responses)
  }

  // Sends one request (see buildRequest).
  send(opts) {
    this._methods.push(opts.method || "GET");
    this.write(buildRequest({ port: this.port, ...opts }));
  }

  // Reads the next complete response. Rejects on timeout or if the connection ends first.
  async readResponse(ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = tryParseResponse(this.buf, this.ended, this._methods[0]);
      if (r) {
        this.buf = r.rest;
        this._methods.shift();
        return r.res;
      }
      if (this.ended) {
        const err = new Error(
          `connection closed before a complete response (received ${JSON.stringify(this.buf.toString("latin1").slice(0, 300))})`,
        );
        err.code = "ECLOSED";
        throw err;
      }
      if (!(await this._waitChange(deadline))) {
        const err = new Error(`no complete response within ${ms} ms (received ${JSON.stringify(this.buf.toString("latin1").slice(0, 300))})`);
        err.code = "ETIMEOUT";
        throw err;
      }
    }
  }
}

// Builds a request. opts: { port, method, path, headers (object; a null value drops a default header),
// body (string or Buffer), raw headers appended as given: rawHeaders [[name, value]] }.
export function buildRequest({ port, method = "GET", path = "/", headers = {}, body, rawHeaders = [] }) {
  const h = { Host: `127.0.0.1:${port}` };
  const lower = Object.fromEntries(Object.keys(headers).map((k) => [k.toLowerCase(), k]));
  if (body !== undefined) {
    if (!("content-length" in lower) && !("transfer-encoding" in lower)) h["Content-Length"] = Buffer.byteLength(body);
    if (!("content-type" in lower)) h["Content-Type"] = "text/plain;charset=UTF-8";
  }
  for (const [k, v] of Object.entries(headers)) {
    for (const dk of Object.keys(h)) if (dk.toLowerCase() === k.toLowerCase()) delete h[dk];
    if (v !== null) h[k] = v;
  }
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) head += `${k}: ${v}\r\n`;
  for (const [k, v] of rawHeaders) head += `${k}: ${v}\r\n`;
  head += "\r\n";
  const parts = [Buffer.from(head, "latin1")];
  if (body !== undefined) parts.push(Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8"));
  return Buffer.concat(parts);
}

// One request on a fresh connection; the connection is destroyed afterwards. Returns the response.
export async function request(port, opts = {}, ms = 5000) {
  const c = await HttpConn.open(port);
  try {
    c.send(opts);
    return await c.readResponse(ms);
  } finally {
    c.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Engine.IO helpers

export function eioPath(query = {}) {
  const q = new URLSearchParams({ EIO: "4", transport: "polling", ...query });
  for (const [k, v] of Object.entries(query)) if (v === undefined) q.delete(k);
  return `/engine.io/?${q}`;
}

// Polling handshake. Returns { sid, open (the parsed open packet), res }.
export async function handshake(port, query = {}) {
  const res = await request(port, { path: eioPath(query) });
  assert.equal(res.status, 200, `handshake failed: ${res.status} ${res.text}`);
  assert.ok(res.text.startsWith("0"), `not an open packet: ${JSON.stringify(res.text)}`);
  const open = JSON.parse(res.text.slice(1));
  return { sid: open.sid, open, res };
}

export function poll(port, sid, ms = 5000) {
  return request(port, { path: eioPath({ sid }) }, ms);
}

export function post(port, sid, body, headers = {}, ms = 5000) {
  return request(port, { method: "POST", path: eioPath({ sid }), body, headers }, ms);
}

// Starts a GET on its own connection and returns { conn, response (promise of the response, or of the error) }.
export async function startPoll(port, sid, ms = 10000) {
  const conn = await HttpConn.open(port);
  conn.send({ path: eioPath({ sid }) });
  const response = conn.readResponse(ms).then(
    (res) => res,
    (err) => ({ error: err }),
  );
  return { conn, response };
}

// Resolves with the value of p, or with the string "pending" if p has not settled within ms.
export function settledWithin(p, ms) {
  let t;
  return Promise.race([p, new Promise((resolve) => (t = setTimeout(() => resolve("pending"), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

// Asserts an Engine.IO HTTP error answer (abortRequest in engine.io's server.ts).
export function assertEioError(res, status, code, message) {
  assert.equal(res.status, status, `status (body ${JSON.stringify(res.text)})`);
  assert.equal(res.headers["content-type"], "application/json");
  assert.equal(res.text, JSON.stringify({ code, message }));
}

export const MESSAGES = {
  0: "Transport unknown",
  1: "Session ID unknown",
  2: "Bad handshake method",
  3: "Bad request",
  4: "Forbidden",
  5: "Unsupported protocol version",
};

// Polls until the session is gone (GET answers 400 code 1). Reads and drops whatever else the GETs return.
export async function assertSessionGone(port, sid, ms = 5000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await poll(port, sid, Math.max(1000, deadline - Date.now()));
    if (last.status === 400) break;
    if (Date.now() > deadline) break;
  }
  assertEioError(last, 400, 1, MESSAGES[1]);
}

// Collects polled packets (split on \x1e) until pred(packets) is true. Drops noop packets `6` if dropNoop.
export async function pollUntil(port, sid, pred, { ms = 5000, dropNoop = true } = {}) {
  const deadline = Date.now() + ms;
  const packets = [];
  while (!pred(packets)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`pollUntil: condition not met within ${ms} ms; packets ${JSON.stringify(packets)}`);
    const res = await poll(port, sid, left + 1000);
    assert.equal(res.status, 200, `poll failed: ${res.status} ${res.text}`);
    for (const p of res.text.split(RS)) if (!(dropNoop && p === "6")) packets.push(p);
  }
  return packets;
}

// ---------------------------------------------------------------------------------------------------------------
// WebSocket (RFC 6455), client side, by hand.

export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };
const OPNAME = { 0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };

export function acceptFor(key) {
  return crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

// Encodes one client frame. opts: { fin = true, rsv = 0 (3 bits), opcode, payload (string|Buffer), mask = true,
// maskKey (4-byte Buffer), len16/len64: force an extended length encoding }.
export function encodeFrame({ fin = true, rsv = 0, opcode, payload = Buffer.alloc(0), mask = true, maskKey, len16 = false, len64 = false }) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, "utf8");
  const len = data.length;
  let header;
  if (len64 || len > 0xffff) {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  } else if (len16 || len > 125) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(2);
    header[1] = len;
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  if (!mask) return Buffer.concat([header, data]);
  header[1] |= 0x80;
  const key = maskKey || crypto.randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

// Parses one server frame off the front of buf: { frame, rest } or null if incomplete.
function tryParseFrame(buf) {
  if (buf.length < 2) return null;
  const b0 = buf[0];
  const b1 = buf[1];
  let len = b1 & 0x7f;
  let pos = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    pos = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    pos = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  let key;
  if (masked) {
    if (buf.length < pos + 4) return null;
    key = buf.subarray(pos, pos + 4);
    pos += 4;
  }
  if (buf.length < pos + len) return null;
  let payload = Buffer.from(buf.subarray(pos, pos + len));
  if (masked) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
  const opcode = b0 & 0x0f;
  const frame = { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode, type: OPNAME[opcode] ?? `op${opcode}`, masked, payload };
  if (opcode === OP.text) frame.text = payload.toString("utf8");
  if (opcode === OP.close) {
    frame.code = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
    frame.reason = payload.subarray(2).toString("utf8");
  }
  return { frame, rest: buf.subarray(pos + len) };
}

export class WsConn extends Conn {
  constructor(socket) {
    super(socket);
    this.frames = [];
    this.received = Buffer.alloc(0); // every byte after the HTTP head, as received
    this.upgraded = false;
  }

  // Called once the 101 head has been consumed: frames are parsed from then on.
  _startFrames() {
    this.upgraded = true;
    this.received = Buffer.from(this.buf);
    const pump = () => {
      for (;;) {
        let r;
        try {
          r = tryParseFrame(this.buf);
        } catch {
          r = null;
        }
        if (!r) break;
        this.frames.push(r.frame);
        this.buf = r.rest;
      }
      this._notify();
    };
    this.socket.on("data", (d) => {
      this.received = Buffer.concat([this.received, d]);
      pump();
    });
    pump();
  }

  // Next frame from the server (any opcode), or { type: "end" } once the connection has ended and every frame
  // received has been read. Rejects after ms.
  async nextFrame(ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.frames.length) return this.frames.shift();
      if (this.ended) return { type: "end" };
      if (!(await this._waitChange(deadline)) && !this.frames.length && !this.ended) {
        throw new Error(`no WebSocket frame within ${ms} ms`);
      }
    }
  }

  // Next frame that is not a WebSocket ping or pong.
  async nextData(ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (f.type !== "ping" && f.type !== "pong") return f;
    }
  }

  // Next text frame, asserting it is one; returns its text.
  async nextText(ms = 5000) {
    const f = await this.nextData(ms);
    assert.equal(f.type, "text", `expected a text frame, got ${describeFrame(f)}`);
    return f.text;
  }

  // Reads frames until a close frame or the end of the connection. Returns { closeFrame, frames (data frames before
  // it), ended (the TCP connection ended within ms) }. Rejects if neither happens within ms.
  async waitClose(ms = 5000) {
    const deadline = Date.now() + ms;
    const frames = [];
    let closeFrame = null;
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      if (f.type === "end") break;
      if (f.type === "close") {
        closeFrame = f;
        break;
      }
      frames.push(f);
    }
    if (closeFrame) {
      // answer it as a client would, then expect the server to end the TCP connection
      this.sendFrame({ opcode: OP.close, payload: closeFrame.payload.subarray(0, 2) });
    }
    const ended = await this.waitClosed(Math.max(1, deadline - Date.now()));
    return { closeFrame, frames, ended };
  }

  sendFrame(opts) {
    this.write(encodeFrame(opts));
  }
  sendText(text) {
    this.sendFrame({ opcode: OP.text, payload: text });
  }
  sendBinary(buf) {
    this.sendFrame({ opcode: OP.binary, payload: buf });
  }
  ping(payload = "") {
    this.sendFrame({ opcode: OP.ping, payload });
  }
  close(code = 1000, reason = "") {
    const p = Buffer.alloc(2 + Buffer.byteLength(reason));
    p.writeUInt16BE(code, 0);
    p.write(reason, 2);
    this.sendFrame({ opcode: OP.close, payload: p });
  }
}

export function describeFrame(f) {
  if (!f) return String(f);
  if (f.type === "end") return "end of connection";
  if (f.type === "text") return `text ${JSON.stringify(f.text)}`;
  if (f.type === "close") return `close code ${f.code} reason ${JSON.stringify(f.reason)}`;
  return `${f.type} [${f.payload.toString("hex").slice(0, 80)}]`;
}

// Opens a WebSocket by hand. opts: { key, headers (object, null drops a default), rawHeaders, method, ms }.
// Resolves with the WsConn; its fields: status, statusLine, headers, head, key, body (for a non-101 answer: the
// bytes after the head, complete once the connection ended). Frames are parsed only after a 101.
export async function wsOpen(port, path, opts = {}) {
  const key = opts.key ?? crypto.randomBytes(16).toString("base64");
  const socket = await new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.setNoDelay(true);
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
  const ws = new WsConn(socket);
  ws.key = key;
  const headers = {
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13",
    ...(opts.headers || {}),
  };
  ws.write(buildRequest({ port, method: opts.method || "GET", path, headers, rawHeaders: opts.rawHeaders || [] }));
  const deadline = Date.now() + (opts.ms ?? 5000);
  for (;;) {
    const i = ws.buf.indexOf("\r\n\r\n");
    if (i >= 0) {
      const head = parseHead(ws.buf.subarray(0, i).toString("latin1"));
      Object.assign(ws, head);
      ws.head = ws.buf.subarray(0, i).toString("latin1");
      ws.buf = ws.buf.subarray(i + 4);
      if (ws.status === 101) ws._startFrames();
      return ws;
    }
    if (ws.ended) {
      ws.status = null;
      ws.head = null;
      ws.body = ws.buf;
      return ws;
    }
    if (!(await ws._waitChange(deadline))) {
      socket.destroy();
      throw new Error(`no HTTP answer to the WebSocket handshake within ${opts.ms ?? 5000} ms`);
    }
  }
}

// Reads the rest of a non-101 answer until the connection closes; returns the body bytes after the head.
export async function wsRefusalBody(ws, ms = 5000) {
  const closed = await ws.waitClosed(ms);
  return { closed, body: ws.buf };
}

// Opens a WebSocket and checks the 101 and Sec-WebSocket-Accept.
export async function wsConnect(port, path, opts = {}) {
  const ws = await wsOpen(port, path, opts);
  assert.equal(ws.status, 101, `WebSocket handshake refused: ${ws.statusLine ?? "no answer"}`);
  assert.equal(ws.headers["sec-websocket-accept"], acceptFor(ws.key));
  return ws;
}

// Direct WebSocket session: opens it, reads the open packet. Returns { ws, sid, open }.
export async function wsSession(port, query = {}) {
  const ws = await wsConnect(port, eioPath({ transport: "websocket", ...query }));
  const first = await ws.nextText();
  assert.ok(first.startsWith("0"), `first frame is not an open packet: ${JSON.stringify(first)}`);
  const open = JSON.parse(first.slice(1));
  return { ws, sid: open.sid, open };
}
