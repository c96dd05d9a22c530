// engine.io-client 6: text and binary echo in both directions, for each transport mode.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { openClient, closeAll, serverEventsN, bytes, WAIT } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 30000 };

// Opens a client in mode; for "upgrade" waits until the session is on websocket.
async function open(mode) {
  const c = await openClient(server, mode);
  if (mode === "upgrade") {
    assert.equal(await c.waitUpgrade(WAIT), "websocket", "upgrade mode must end on websocket");
  }
  return c;
}


const TEXTS = [
  "hello",
  "4 starts with a digit like a packet type",
  "b starts like a base64 marker",
  "héllo wörld € 𝄞 日本語",
  "line\nbreak\r\nand\ttab",
  '{"json":true,"n":[1,2,3]}',
  "",
];

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`text echo (${mode})`, T, async () => {
    const c = await open(mode);
    try {
      for (const [i, s] of TEXTS.entries()) {
        c.socket.send(s);
        const got = await c.next();
        assert.equal(typeof got, "string", `echo ${i} (${JSON.stringify(s)}) must come back as text`);
        assert.equal(got, s, `echo ${i} must be identical`);
      }
      const evs = await serverEventsN(server, c, "message", TEXTS.length);
      assert.equal(evs.length, TEXTS.length, "server must report one message event per message");
      for (const [i, s] of TEXTS.entries()) {
        assert.equal(evs[i].binary, false, `server event ${i} must say binary false`);
        if (/^[\x00-\x7f]*$/.test(s)) assert.equal(evs[i].length, s.length, `server event ${i} length`);
      }
    } finally {
      c.close();
    }
  });

  test(`binary echo (${mode})`, T, async () => {
    const c = await open(mode);
    try {
      const payloads = [
        ["Buffer of all 256 byte values", bytes(256)],
        ["Uint8Array", new Uint8Array([0, 1, 2, 127, 128, 254, 255])],
        ["ArrayBuffer", new Uint8Array([9, 8, 7, 0x1e, 0x3a, 0x62]).buffer],
        ["Buffer starting with text-like bytes", Buffer.from("4hello b64", "latin1")],
        ["single zero byte", Buffer.from([0])],
        ["4 KB of bytes", bytes(4096, 17)],
      ];
      for (const [what, p] of payloads) {
        c.socket.send(p);
        const got = await c.next();
        assert.ok(Buffer.isBuffer(got), `${what}: echo must come back as binary, got ${typeof got} ${JSON.stringify(got)}`);
        const want = Buffer.from(p instanceof ArrayBuffer ? new Uint8Array(p) : p);
        assert.deepEqual(got, want, `${what}: echoed bytes must be identical`);
      }
      const evs = await serverEventsN(server, c, "message", payloads.length);
      assert.equal(evs.length, payloads.length, "server must report one message event per message");
      for (const [i, [what, p]] of payloads.entries()) {
        assert.equal(evs[i].binary, true, `${what}: server event must say binary true`);
        assert.equal(evs[i].length, p.byteLength, `${what}: server event length`);
      }
    } finally {
      c.close();
    }
  });

  test(`interleaved text and binary keep their types and order (${mode})`, T, async () => {
    const c = await open(mode);
    try {
      const sent = [];
      for (let i = 0; i < 20; i++) sent.push(i % 2 ? bytes(i + 1, i) : `text ${i}`);
      for (const p of sent) c.socket.send(p);
      const got = await c.take(sent.length);
      for (const [i, p] of sent.entries()) {
        assert.deepEqual(got[i], p, `message ${i} (${typeof p === "string" ? "text" : "binary"}) echoed in order`);
      }
    } finally {
      c.close();
    }
  });
}
