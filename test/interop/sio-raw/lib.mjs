// Helpers for the raw Socket.IO tests: hand-written Socket.IO v5 packets carried by a raw Engine.IO session at
// /socket.io/ (WebSocket or polling), built on ../raw/lib.mjs.
import assert from "node:assert/strict";
import { request, wsConnect, describeFrame, sleep, RS, skipOnReference, isReference } from "../raw/lib.mjs";

export { sleep, RS, skipOnReference, isReference, describeFrame };

export function sioPath(query = {}) {
  const q = new URLSearchParams({ EIO: "4", transport: "polling", ...query });
  return `/socket.io/?${q}`;
}

// Server events for socket id (started with events: true).
export function serverEvent(srv, event, id, ms = 5000) {
  return srv.waitEvent((e) => e.event === event && e.id === id, ms);
}

// The reason given by the server for socket id, after checking that sio-disconnecting came first with it.
export async function disconnectReason(srv, id, ms = 5000) {
  const d = await serverEvent(srv, "sio-disconnect", id, ms);
  const evs = srv.events.filter((e) => e.id === id).map((e) => e.event);
  assert.deepEqual(evs, ["sio-connection", "sio-disconnecting", "sio-disconnect"], `server events of ${id}`);
  assert.equal(srv.events.find((e) => e.id === id && e.event === "sio-disconnecting").reason, d.reason);
  return d.reason;
}

const SID = /^[A-Za-z0-9_-]{20}$/;

// ---------------------------------------------------------------------------------------------------------------
// WebSocket: one Engine.IO packet per frame. Engine.IO pings are answered automatically (ws.pongs counts them).

export class SioWs {
  static async open(port) {
    const ws = await wsConnect(port, sioPath({ transport: "websocket" }));
    const first = await ws.nextText();
    assert.ok(first.startsWith("0"), `not an open packet: ${JSON.stringify(first)}`);
    const s = new SioWs(ws, JSON.parse(first.slice(1)));
    return s;
  }

  constructor(ws, open) {
    this.ws = ws;
    this.open = open;
    this.sid = open.sid;
  }

  // Sends a Socket.IO packet (text) as an Engine.IO message.
  send(packet) {
    this.ws.sendText("4" + packet);
  }

  // Sends a binary attachment (an Engine.IO binary message).
  sendBinary(buf) {
    this.ws.sendBinary(buf);
  }

  sendRaw(text) {
    this.ws.sendText(text);
  }

  // Next Engine.IO message: { text } (the Socket.IO packet, without the leading "4") or { binary: Buffer }.
  // Answers Engine.IO pings; rejects on any other frame (a close, the end of the connection).
  async next(ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.ws.nextData(Math.max(1, deadline - Date.now()));
      if (f.type === "text" && f.text === "2") {
        this.ws.sendText("3");
        continue;
      }
      if (f.type === "text") {
        assert.ok(f.text.startsWith("4"), `not an Engine.IO message: ${JSON.stringify(f.text)}`);
        return { text: f.text.slice(1) };
      }
      if (f.type === "binary") return { binary: f.payload };
      throw new Error(`expected a message, got ${describeFrame(f)}`);
    }
  }

  async nextText(ms = 5000) {
    const m = await this.next(ms);
    assert.ok(m.text !== undefined, `expected a text message, got binary ${m.binary?.toString("hex")}`);
    return m.text;
  }

  // CONNECT to nsp (with an optional auth object, or a raw payload string). Checks the answer and the auth event;
  // returns the socket id.
  async connect(nsp = "/", auth) {
    const prefix = nsp === "/" ? "" : `${nsp},`;
    const payload = auth === undefined ? "" : typeof auth === "string" ? auth : JSON.stringify(auth);
    this.send(`0${prefix}${payload}`);
    const ans = await this.nextText();
    const m = new RegExp(`^0${prefix.replace(/[/]/g, "\\/")}(\\{.*\\})$`).exec(ans);
    assert.ok(m, `not a CONNECT answer for ${nsp}: ${JSON.stringify(ans)}`);
    const data = JSON.parse(m[1]);
    assert.deepEqual(Object.keys(data), ["sid"]);
    assert.match(data.sid, SID);
    const authEv = await this.nextText();
    assert.equal(authEv, `2${prefix}${JSON.stringify(["auth", auth === undefined ? {} : typeof auth === "string" ? JSON.parse(auth) : auth])}`);
    return data.sid;
  }

  // Expects the server to close: a close frame or the end of the connection, with no data message before it
  // (Engine.IO pings excepted). Returns the close result.
  async assertClosed(ms = 5000) {
    const r = await this.ws.waitClose(ms);
    const data = r.frames.filter((f) => !(f.type === "text" && f.text === "2"));
    assert.deepEqual(data.map(describeFrame), [], "no message before the close");
    assert.ok(r.closeFrame || r.ended, "the connection must be closed");
    return r;
  }

  // Asserts that the connection is still usable: a "message-with-ack" round trip on "/" (which must be joined).
  async assertAlive(tag = "alive") {
    this.send(`2999${JSON.stringify(["message-with-ack", tag])}`);
    assert.equal(await this.nextText(), `3999${JSON.stringify([tag])}`);
  }

  destroy() {
    this.ws.destroy();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Polling

export class SioPoll {
  static async open(port) {
    const res = await request(port, { path: sioPath() });
    assert.equal(res.status, 200, `handshake failed: ${res.status} ${res.text}`);
    assert.ok(res.text.startsWith("0"));
    const open = JSON.parse(res.text.slice(1));
    return new SioPoll(port, open);
  }

  constructor(port, open) {
    this.port = port;
    this.open = open;
    this.sid = open.sid;
    this.queue = []; // Engine.IO packets received and not read yet
  }

  // POSTs Engine.IO packets (strings, joined with \x1e). Returns the response.
  post(...packets) {
    return request(this.port, { method: "POST", path: sioPath({ sid: this.sid }), body: packets.join(RS) });
  }

  // POSTs Socket.IO packets (each prefixed with "4") and checks the 200 ok.
  async send(...packets) {
    const res = await this.post(...packets.map((p) => "4" + p));
    assert.equal(res.status, 200, `POST failed: ${res.status} ${res.text}`);
  }

  // One GET; returns the response (status, text).
  get(ms = 5000) {
    return request(this.port, { path: sioPath({ sid: this.sid }) }, ms);
  }

  // Next Engine.IO packet (answering pings, skipping noops), polling as needed.
  async nextPacket(ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      while (this.queue.length) {
        const p = this.queue.shift();
        if (p === "2") {
          await this.post("3");
          continue;
        }
        if (p === "6") continue;
        return p;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${ms} ms`);
      const res = await this.get(left + 1000);
      if (res.status !== 200) return { status: res.status, text: res.text };
      this.lastPayload = res.text;
      this.queue.push(...res.text.split(RS));
    }
  }

  async nextText(ms = 5000) {
    const p = await this.nextPacket(ms);
    assert.equal(typeof p, "string", `expected a packet, got ${JSON.stringify(p)}`);
    assert.ok(p.startsWith("4"), `not an Engine.IO message: ${JSON.stringify(p)}`);
    return p.slice(1);
  }

  async connect(nsp = "/", auth) {
    const prefix = nsp === "/" ? "" : `${nsp},`;
    const payload = auth === undefined ? "" : JSON.stringify(auth);
    await this.send(`0${prefix}${payload}`);
    const ans = await this.nextText();
    assert.ok(ans.startsWith(`0${prefix}{`), `not a CONNECT answer for ${nsp}: ${JSON.stringify(ans)}`);
    const data = JSON.parse(ans.slice(1 + prefix.length));
    assert.match(data.sid, SID);
    assert.equal(await this.nextText(), `2${prefix}${JSON.stringify(["auth", auth ?? {}])}`);
    return data.sid;
  }

  // Expects the session to be closed: packets up to a close packet "1" (returned, with the close), then 400 on
  // the next GET (Session ID unknown).
  async assertClosed(ms = 5000) {
    const before = [];
    for (;;) {
      const p = await this.nextPacket(ms);
      if (typeof p !== "string") {
        assert.equal(p.status, 400, `after the close: ${JSON.stringify(p)}`);
        break;
      }
      if (p === "1") {
        const after = await this.get(ms);
        assert.equal(after.status, 400, "the session is gone after the close packet");
        break;
      }
      before.push(p);
    }
    assert.deepEqual(before, [], "no message before the close");
  }
}
