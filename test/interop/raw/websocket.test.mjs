// WebSocket transport (direct WebSocket sessions), frame by frame.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { OP, sleep, wsSession, describeFrame, encodeFrame, skipOnReference } from "./lib.mjs";

let srv; // --max-payload 1000, long heartbeat
let quick; // default heartbeat 300/200 (the protocol test suite's values)

before(async () => {
  [srv, quick] = await Promise.all([
    startServer({ args: ["--ping-interval", "20000", "--ping-timeout", "20000", "--max-payload", "1000"], events: true }),
    startServer({ args: ["--ping-interval", "300", "--ping-timeout", "200"], events: true }),
  ]);
});
after(async () => {
  await Promise.all([srv?.stop(), quick?.stop()]);
});

const closeEvent = (s, sid, ms = 5000) => s.waitEvent((e) => e.event === "close" && e.sid === sid, ms);

// The server must close the connection: a close frame (with the given codes allowed, if any) or the end of the socket.
async function assertClosed(ws, codes, ms = 5000) {
  const r = await ws.waitClose(ms);
  assert.deepEqual(r.frames.map(describeFrame), [], "no data frame before the close");
  assert.ok(r.closeFrame || r.ended, "the connection must be closed");
  if (r.closeFrame && codes && r.closeFrame.code !== undefined) {
    assert.ok(codes.includes(r.closeFrame.code), `close code ${r.closeFrame.code}, expected one of ${codes}`);
  }
  assert.ok(r.ended, "the TCP connection must end after the close");
  return r;
}

test("text frames are echoed as text frames", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    for (const m of ["4hello", "4", "4héllo wörld € 😀", "4" + "x".repeat(300)]) {
      ws.sendText(m);
      const f = await ws.nextData();
      assert.equal(f.type, "text", describeFrame(f));
      assert.equal(f.fin, true);
      assert.equal(f.masked, false);
      assert.equal(f.text, m);
    }
  } finally {
    ws.destroy();
  }
});

test("binary frames are echoed as binary frames without a type byte", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    for (const b of [Buffer.from([1, 2, 3, 4]), Buffer.from([0x34, 0x68, 0x69]), Buffer.alloc(0), Buffer.alloc(500, 0xfe)]) {
      ws.sendBinary(b);
      const f = await ws.nextData();
      assert.equal(f.type, "binary", describeFrame(f));
      assert.deepEqual(f.payload, b);
    }
  } finally {
    ws.destroy();
  }
});

test("a message of exactly --max-payload (1000) bytes is accepted, text and binary", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    const t = "4" + "a".repeat(999);
    ws.sendText(t);
    assert.equal(await ws.nextText(), t);
    const b = Buffer.alloc(1000, 7);
    ws.sendBinary(b);
    const f = await ws.nextData();
    assert.deepEqual(f.payload, b);
  } finally {
    ws.destroy();
  }
});

test('a text message over --max-payload closes the connection (1009 or end), "transport error"', async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.sendText("4" + "a".repeat(1000));
    await assertClosed(ws, [1009]);
    assert.equal((await closeEvent(srv, sid)).reason, "transport error");
  } finally {
    ws.destroy();
  }
});

test("a binary message over --max-payload closes the connection", async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.sendBinary(Buffer.alloc(1001));
    await assertClosed(ws, [1009]);
    assert.equal((await closeEvent(srv, sid)).reason, "transport error");
  } finally {
    ws.destroy();
  }
});

test("a fragmented message whose total is over --max-payload closes the connection", async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, fin: false, payload: "4" + "a".repeat(599) });
    ws.sendFrame({ opcode: OP.cont, fin: true, payload: "b".repeat(600) });
    await assertClosed(ws, [1009]);
    assert.equal((await closeEvent(srv, sid)).reason, "transport error");
  } finally {
    ws.destroy();
  }
});

test("a frame header announcing a huge length (2^40) closes the connection without waiting for the data", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    const h = Buffer.alloc(14);
    h[0] = 0x82;
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(2n ** 40n, 2);
    ws.write(h);
    await assertClosed(ws, [1009, 1002]);
  } finally {
    ws.destroy();
  }
});

test("invalid UTF-8 in a text frame closes the connection (1007 or end)", async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, payload: Buffer.from([0x34, 0xff, 0xfe, 0x41]) });
    await assertClosed(ws, [1007]);
    await closeEvent(srv, sid);
  } finally {
    ws.destroy();
  }
});

test("invalid UTF-8 split over fragments (truncated sequence at the end) closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, fin: false, payload: Buffer.from([0x34, 0x41]) });
    ws.sendFrame({ opcode: OP.cont, fin: true, payload: Buffer.from([0xe2, 0x82]) });
    await assertClosed(ws, [1007]);
  } finally {
    ws.destroy();
  }
});

test("a valid UTF-8 sequence split across fragments is accepted", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    const euro = Buffer.from("€"); // e2 82 ac
    ws.sendFrame({ opcode: OP.text, fin: false, payload: Buffer.concat([Buffer.from("4"), euro.subarray(0, 1)]) });
    ws.sendFrame({ opcode: OP.cont, fin: true, payload: euro.subarray(1) });
    assert.equal(await ws.nextText(), "4€");
  } finally {
    ws.destroy();
  }
});

test("an unmasked client frame closes the connection (1002 or end)", async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, payload: "4hello", mask: false });
    await assertClosed(ws, [1002]);
    await closeEvent(srv, sid);
  } finally {
    ws.destroy();
  }
});

test("RSV bits set without an extension close the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, payload: "4hello", rsv: 4 });
    await assertClosed(ws, [1002]);
  } finally {
    ws.destroy();
  }
});

test("an unknown opcode (3) closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: 3, payload: "4hello" });
    await assertClosed(ws, [1002]);
  } finally {
    ws.destroy();
  }
});

test("a continuation frame with no message started closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.cont, payload: "4hello" });
    await assertClosed(ws, [1002]);
  } finally {
    ws.destroy();
  }
});

test("a new data frame in the middle of a fragmented message closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, fin: false, payload: "4ab" });
    ws.sendFrame({ opcode: OP.text, fin: true, payload: "4cd" });
    await assertClosed(ws, [1002]);
  } finally {
    ws.destroy();
  }
});

test("a fragmented ping (control frame with FIN=0) closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.ping, fin: false, payload: "x" });
    await assertClosed(ws, [1002]);
  } finally {
    ws.destroy();
  }
});

test("a control frame with a payload over 125 bytes closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.ping, payload: Buffer.alloc(126, 1) });
    await assertClosed(ws, [1002]);
  } finally {
    ws.destroy();
  }
});

test("a fragmented message is reassembled", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, fin: false, payload: "4hel" });
    ws.sendFrame({ opcode: OP.cont, fin: false, payload: "lo wo" });
    ws.sendFrame({ opcode: OP.cont, fin: true, payload: "rld" });
    assert.equal(await ws.nextText(), "4hello world");
    ws.sendFrame({ opcode: OP.binary, fin: false, payload: Buffer.from([1, 2]) });
    ws.sendFrame({ opcode: OP.cont, fin: true, payload: Buffer.from([3]) });
    const f = await ws.nextData();
    assert.equal(f.type, "binary");
    assert.deepEqual(f.payload, Buffer.from([1, 2, 3]));
  } finally {
    ws.destroy();
  }
});

test("a ping between fragments is answered and the message is still reassembled", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, fin: false, payload: "4frag" });
    ws.sendFrame({ opcode: OP.ping, payload: "mid" });
    ws.sendFrame({ opcode: OP.cont, fin: true, payload: "ment" });
    const f1 = await ws.nextFrame();
    assert.equal(f1.type, "pong", describeFrame(f1));
    assert.equal(f1.payload.toString(), "mid");
    assert.equal(await ws.nextText(), "4fragment");
  } finally {
    ws.destroy();
  }
});

test("a message split into 1-byte fragments is reassembled", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    const m = "4" + "abcdefghij".repeat(10);
    for (let i = 0; i < m.length; i++) {
      ws.sendFrame({ opcode: i === 0 ? OP.text : OP.cont, fin: i === m.length - 1, payload: m[i] });
    }
    assert.equal(await ws.nextText(), m);
  } finally {
    ws.destroy();
  }
});

test("[C] a frame with a non-minimal length encoding (16-bit length for 6 bytes) closes the connection (1002)", { skip: skipOnReference }, async () => {
  // RFC 6455 5.2: "the minimal number of bytes MUST be used". ws (the reference) does not check it and accepts the
  // frame; wslay rejects it with 1002 (BAD-INPUTS.md). No real client sends it.
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.text, payload: "4len16", len16: true });
    await assertClosed(ws, [1002]);
  } finally {
    ws.destroy();
  }
});

test("a 64-bit frame length with the most significant bit set closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    const h = Buffer.alloc(14);
    h[0] = 0x81;
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(2n ** 63n + 5n, 2);
    ws.write(h);
    await assertClosed(ws, [1002, 1009]);
  } finally {
    ws.destroy();
  }
});

test("several frames in one TCP write are all processed, in order", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.write(Buffer.concat(["4a", "4b", "4c"].map((m) => encodeFrame({ opcode: OP.text, payload: m }))));
    assert.deepEqual([await ws.nextText(), await ws.nextText(), await ws.nextText()], ["4a", "4b", "4c"]);
  } finally {
    ws.destroy();
  }
});

test("a frame written one byte at a time is processed", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    const f = encodeFrame({ opcode: OP.text, payload: "4slow" });
    for (const byte of f) {
      ws.write(Buffer.from([byte]));
      await sleep(5);
    }
    assert.equal(await ws.nextText(), "4slow");
  } finally {
    ws.destroy();
  }
});

test("a ping frame is answered with a pong frame with the same payload", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.ping("hello");
    const f = await ws.nextFrame();
    assert.equal(f.type, "pong", describeFrame(f));
    assert.equal(f.payload.toString(), "hello");
    ws.ping("");
    const g = await ws.nextFrame();
    assert.equal(g.type, "pong");
    assert.equal(g.payload.length, 0);
    // and the session is unaffected
    ws.sendText("4after");
    assert.equal(await ws.nextText(), "4after");
  } finally {
    ws.destroy();
  }
});

test("an unsolicited pong frame is ignored", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.pong, payload: "x" });
    ws.sendText("4after");
    assert.equal(await ws.nextText(), "4after");
  } finally {
    ws.destroy();
  }
});

test('a close frame is answered with a close frame, the server reports "transport close"', async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.close(1000, "bye");
    const f = await ws.nextData();
    assert.equal(f.type, "close", describeFrame(f));
    assert.equal(f.code, 1000);
    assert.ok(await ws.waitClosed(), "the server ends the TCP connection");
    assert.equal((await closeEvent(srv, sid)).reason, "transport close");
  } finally {
    ws.destroy();
  }
});

test("a close frame without a status code is answered with a close frame", async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.sendFrame({ opcode: OP.close });
    const f = await ws.nextData();
    assert.equal(f.type, "close", describeFrame(f));
    assert.ok(f.code === undefined || f.code === 1000, `close code ${f.code}`);
    assert.ok(await ws.waitClosed());
    assert.equal((await closeEvent(srv, sid)).reason, "transport close");
  } finally {
    ws.destroy();
  }
});

test("a close frame with an invalid status code (999) closes the connection", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.close(999);
    const r = await ws.waitClose();
    assert.ok(r.closeFrame || r.ended);
    if (r.closeFrame?.code !== undefined) assert.equal(r.closeFrame.code, 1002);
  } finally {
    ws.destroy();
  }
});

test('the TCP connection dropped without a close frame: "transport close"', async () => {
  const { ws, sid } = await wsSession(srv.port);
  ws.destroy();
  assert.equal((await closeEvent(srv, sid)).reason, "transport close");
});

test("a text frame 1 (close packet) closes the session", async () => {
  // The reference has no handler for a close packet over WebSocket: it closes only through its ping timeout
  // (300 + 200 ms here, as in the protocol test suite "forcefully closes the session (WS)").
  const { ws, sid } = await wsSession(quick.port);
  try {
    ws.sendText("1");
    const r = await ws.waitClose(8000);
    assert.ok(r.closeFrame || r.ended);
    await closeEvent(quick, sid, 8000);
  } finally {
    ws.destroy();
  }
});

test("[C] a text frame 1 (close packet) closes the session at once (no ping timeout needed)", { skip: skipOnReference }, async () => {
  const { ws, sid } = await wsSession(srv.port); // pingInterval 20000
  try {
    ws.sendText("1");
    const r = await ws.waitClose(5000);
    assert.ok(r.closeFrame || r.ended);
    const ev = await closeEvent(srv, sid, 5000);
    assert.notEqual(ev.reason, "ping timeout");
  } finally {
    ws.destroy();
  }
});

test('invalid packets over WebSocket (abc, empty, 7) close the session with "parse error"', async () => {
  for (const m of ["abc", "", "7"]) {
    const { ws, sid } = await wsSession(srv.port);
    try {
      ws.sendText(m);
      const r = await ws.waitClose();
      assert.ok(r.closeFrame || r.ended, `closed after ${JSON.stringify(m)}`);
      assert.equal((await closeEvent(srv, sid)).reason, "parse error");
    } finally {
      ws.destroy();
    }
  }
});

test('a client ping 2 over WebSocket closes the session ("transport error")', async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    ws.sendText("2");
    const r = await ws.waitClose();
    assert.ok(r.closeFrame || r.ended);
    assert.equal((await closeEvent(srv, sid)).reason, "transport error");
  } finally {
    ws.destroy();
  }
});

test("a text frame with several packets joined by \\x1e is one message (no payload splitting over WebSocket)", async () => {
  const { ws } = await wsSession(srv.port);
  try {
    ws.sendText("4a\x1e4b");
    assert.equal(await ws.nextText(), "4a\x1e4b");
  } finally {
    ws.destroy();
  }
});
