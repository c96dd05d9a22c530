// socket.io-client 4.8: binary arguments (BINARY_EVENT / BINARY_ACK with attachments) in message-back and in acks
// both ways. Received binary values are compared as bytes (the client gives Buffers or ArrayBuffers).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { connect, close, closeAll, withTimeout, waitUpgrade, bytes, normBin, assertSameArgs, WAIT } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: ["--test-commands"] });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 60000 };

const isBinary = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);

const CASES = [
  ["a Buffer at top level", () => [bytes(256)]],
  ["Buffers nested in objects and arrays", () => [{ a: bytes(10), b: [bytes(3, 7), { c: bytes(5, 1), d: "text" }], e: null }, [[bytes(1)]]]],
  ["several Buffers mixed with JSON", () => ["first", bytes(100), 2, bytes(200, 3), { x: bytes(300, 5) }, true]],
  ["an empty Buffer", () => [Buffer.alloc(0), "after empty"]],
  ["a Uint8Array and an ArrayBuffer", () => [new Uint8Array([0, 1, 2, 253, 254, 255]), new Uint8Array([9, 8, 7, 0x1e, 0x3a]).buffer]],
  ["bytes that look like packets", () => [Buffer.from("451-[\"x\"]"), Buffer.from([0x1e, 0x62, 0x34]), Buffer.from("\x00\xff", "latin1")]],
  ["exactly 10 Buffers (the reference's limit)", () => Array.from({ length: 10 }, (_, i) => bytes(i + 1, i))],
  ["the same Buffer twice", () => { const b = bytes(16); return [b, { again: b }]; }],
];

async function messageBack(c, args, what) {
  const tag = `bin-${Math.random()}`;
  c.socket.emit("message", tag, ...args);
  const got = await c.waitEvent("message-back", (a) => a[0] === tag);
  assertSameArgs(got.slice(1), args, what);
  return got.slice(1);
}

for (const mode of ["polling", "websocket"]) {
  for (const [what, make] of CASES) {
    test(`message-back with ${what} (${mode})`, T, async () => {
      const c = await connect(server, mode);
      try {
        const args = make();
        const got = await messageBack(c, args, what);
        // every binary value sent comes back binary (not as a placeholder object)
        const walk = (s, g) => {
          if (isBinary(s)) assert.ok(isBinary(g), `${what}: expected binary, got ${JSON.stringify(g)}`);
          else if (s && typeof s === "object") for (const k of Object.keys(s)) walk(s[k], g[k]);
        };
        walk(args, got);
      } finally {
        close(c);
      }
    });
  }

  test(`message-back with a 512 KiB Buffer (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      const big = bytes(512 * 1024, 3);
      const got = await messageBack(c, [big, "tail"], "512 KiB");
      assert.equal(normBin(got[0]).length, big.length);
    } finally {
      close(c);
    }
  });

  test(`client → server ack with Buffers (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      const args = [bytes(64), { nested: [bytes(3, 9)] }, "x", Buffer.alloc(0)];
      const answer = await withTimeout(new Promise((resolve, reject) => {
        c.socket.timeout(5000).emit("message-with-ack", ...args, (err, ...a) => (err ? reject(err) : resolve(a)));
      }), WAIT, "binary ack");
      assertSameArgs(answer, args, "ack arguments");
      assert.ok(isBinary(answer[0]) && isBinary(answer[1].nested[0]) && isBinary(answer[3]));
      // emitWithAck with a single Buffer
      const one = await c.socket.timeout(5000).emitWithAck("message-with-ack", bytes(1000, 1));
      assertSameArgs(one, bytes(1000, 1), "emitWithAck");
    } finally {
      close(c);
    }
  });

  test(`server → client ack with Buffers both ways (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      let received;
      c.socket.on("bin-question", (...args) => {
        const cb = args.pop();
        received = args;
        cb(bytes(7, 1), { deep: { buf: bytes(2, 200) } }, "plain", Buffer.alloc(0));
      });
      const sent = [bytes(33), ["in array", bytes(4, 4)]];
      c.socket.emit("__emit_with_ack__", "bin-question", 5000, ...sent);
      const [res] = await c.waitEvent("__ack_result__");
      assertSameArgs(received, sent, "the client received the server's Buffers");
      assert.ok(isBinary(received[0]) && isBinary(received[1][1]));
      assert.equal(res.err, null);
      assertSameArgs(res.args, [bytes(7, 1), { deep: { buf: bytes(2, 200) } }, "plain", Buffer.alloc(0)], "__ack_result__ args");
      assert.ok(isBinary(res.args[0]) && isBinary(res.args[1].deep.buf) && isBinary(res.args[3]));
    } finally {
      close(c);
    }
  });
}

test("binary before and after the upgrade, including a 512 KiB Buffer", T, async () => {
  const c = await connect(server, "upgrade");
  try {
    await messageBack(c, [bytes(100)], "before upgrade");
    assert.equal(await waitUpgrade(c), "websocket");
    for (const [what, make] of CASES) await messageBack(c, make(), what);
    await messageBack(c, [bytes(512 * 1024, 9)], "512 KiB after upgrade");
  } finally {
    close(c);
  }
});

test("binary and text events interleaved keep their order", T, async () => {
  const c = await connect(server, "websocket");
  try {
    const n = 100;
    for (let i = 0; i < n; i++) c.socket.emit("message", "order", i, ...(i % 2 ? [bytes(i + 1, i)] : []));
    await c.waitEvent("message-back", (a) => a[0] === "order" && a[1] === n - 1);
    const got = c.events.filter((e) => e[0] === "message-back" && e[1] === "order");
    assert.deepEqual(got.map((e) => e[2]), Array.from({ length: n }, (_, i) => i));
    for (const e of got) {
      if (e[2] % 2) assert.deepEqual(normBin(e[3]), bytes(e[2] + 1, e[2]));
      else assert.equal(e.length, 3);
    }
  } finally {
    close(c);
  }
});

for (const mode of ["polling", "websocket"]) {
  test(`11 Buffers in one event (over the reference's limit of 10) → the server closes the connection (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      const id = c.socket.id;
      c.socket.emit("message", ...Array.from({ length: 11 }, (_, i) => bytes(4, i)));
      const d = await c.waitDisconnect();
      assert.equal(d.reason, "transport close");
      const ev = await server.waitEvent((e) => e.event === "sio-disconnect" && e.id === id);
      assert.equal(ev.reason, "forced close");
      assert.ok(!c.events.some((e) => e[0] === "message-back"), "no message-back");
    } finally {
      close(c);
    }
  });
}
