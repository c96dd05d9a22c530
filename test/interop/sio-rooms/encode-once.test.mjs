// A broadcast's frames are the frames of the same emit to one socket, byte for byte (the broadcast is encoded once
// and shared; that must not change what a client receives). Raw Socket.IO over a raw WebSocket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { SioWs } from "../sio-raw/lib.mjs";
import { encodeFrame } from "../raw/lib.mjs";
import { SERVER_ARGS } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ args: SERVER_ARGS });
});
after(async () => {
  await server?.stop();
});

const PH = (n) => ({ _placeholder: true, num: n });

// Next `n` data frames (Engine.IO pings answered and skipped), as they came: fin, rsv, opcode, mask, payload.
async function frames(s, n) {
  const out = [];
  while (out.length < n) {
    const f = await s.ws.nextData();
    if (f.type === "text" && f.text === "2") {
      s.ws.sendText("3");
      continue;
    }
    out.push({ fin: f.fin, rsv: f.rsv, opcode: f.opcode, masked: f.masked, payload: f.payload.toString("hex") });
  }
  return out;
}

// The bytes of a frame as a server sends it with the shortest length form (the frame bytes must appear as such in
// what was received: no other length encoding).
const wire = (f) => encodeFrame({ fin: f.fin, rsv: f.rsv, opcode: f.opcode, payload: Buffer.from(f.payload, "hex"), mask: false });

// The per-socket emit: "__any_echo__" ...args comes back as "__any__" "__any_echo__" ...args, emitted to the socket.
// The broadcast: "__to__" a room both sockets joined (and one socket's own room), event "__any__" with args
// ["__any_echo__", ...args].
let n = 0;
for (const [name, args, bins] of [
  ["text only", ["x", 1, { y: [true, null] }], []],
  ["with a binary attachment", ["x", PH(0), { z: "é" }], [Buffer.from([0, 1, 2, 255, 254])]],
  ["with two binary attachments", [PH(0), [PH(1)]], [Buffer.alloc(300, 7), Buffer.from("bin")]],
]) {
  const room = `t8-${n++}`;
  test(`a broadcast and an emit to one socket send identical frames (${name})`, { timeout: 30000 }, async () => {
    const socks = [await SioWs.open(server.port), await SioWs.open(server.port)];
    try {
      const ids = [];
      for (const s of socks) {
        ids.push(await s.connect("/"));
        s.send(`21${JSON.stringify(["__join__", room])}`);
        assert.equal(await s.nextText(), `31${JSON.stringify([[ids.at(-1), room]])}`);
      }
      const type = bins.length ? `5${bins.length}-` : "2";
      const direct = [];
      for (const s of socks) {
        s.send(`${type}${JSON.stringify(["__any_echo__", ...args])}`);
        for (const b of bins) s.sendBinary(b);
        direct.push(await frames(s, 1 + bins.length));
        assert.equal(Buffer.from(direct.at(-1)[0].payload, "hex").toString(),
          `4${type}${JSON.stringify(["__any__", "__any_echo__", ...args])}`, "the per-socket emit");
      }
      assert.deepEqual(direct[1], direct[0]);

      const [s0, s1] = socks;
      for (const [to, acked] of [[[room], socks], [[ids[1]], [s1]]]) {
        s0.send(`${type}7${JSON.stringify(["__to__", { rooms: to, event: "__any__", args: ["__any_echo__", ...args] }])}`);
        for (const b of bins) s0.sendBinary(b);
        for (const s of acked) assert.deepEqual(await frames(s, 1 + bins.length), direct[0], `the broadcast's frames to ${to}`);
        assert.equal(await s0.nextText(), '37["ok"]', "then the command's acknowledgement");
      }
      // each frame appears in the received bytes with the shortest header: once for the emit, once per broadcast
      socks.forEach((s, i) => {
        for (const f of direct[0]) {
          const bytes = wire(f);
          let count = 0;
          for (let at = s.ws.received.indexOf(bytes); at >= 0; at = s.ws.received.indexOf(bytes, at + 1)) count++;
          assert.equal(count, i === 0 ? 2 : 3, `socket ${i}: frame ${f.payload.slice(0, 40)}… in the received bytes`);
        }
      });
    } finally {
      for (const s of socks) s.destroy();
    }
  });
}
