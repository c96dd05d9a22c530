// [C] The per-socket output cap (max_queued_bytes, here --max-queued 262144) with a client that stops reading: a raw
// WebSocket Socket.IO client joins room R and then reads nothing more while five socket.io-client readers in R
// receive a stream of 16 KiB broadcasts. Non-volatile: the stalled socket is cut off with "transport error" once
// the kernel's buffers are full and its queue passes the cap, while the readers get every broadcast and stay
// connected. Volatile: its broadcasts are dropped instead and it stays connected; once it reads again it works.
// The reference has no cap (its queue grows without bound, and it does not take --max-queued): ours only.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { request } from "../raw/lib.mjs";
import { SioWs, sioPath, sleep, skipOnReference, disconnectReason, describeFrame } from "../sio-raw/lib.mjs";
import { connectMany, close, closeAll, cmd, serverEvent, withTimeout } from "./helpers.mjs";

const CAP = 256 * 1024;
const BLOB = 16 * 1024; // characters (ASCII) of each broadcast's argument
// Non-volatile: broadcasts go on until the stalled socket's sio-disconnect is seen, then AFTER_CUT more (the others
// keep receiving), at most MAX_BLOBS (32 MiB: the kernel's buffers of a loopback connection take a few MiB).
const MAX_BLOBS = 2048;
const AFTER_CUT = 64;
// Volatile: a fixed count, far over what the kernel's buffers and the cap can hold (16 MiB).
const VOLATILE_BLOBS = 1024;
const WINDOW = 4; // broadcast commands in flight
const READERS = 5;
const LONG = 60000; // waits that may cover many megabytes (4 suites in parallel, ASan)

let srv;
before(async () => {
  if (skipOnReference) return; // --max-queued is ours only
  srv = await startServer({
    events: true,
    args: ["--test-commands", "--max-queued", String(CAP), "--ping-interval", "60000", "--ping-timeout", "60000"],
  });
});
after(async () => {
  closeAll();
  await srv?.stop();
});

// Broadcast i's argument: "blob NNNNNN " then x up to BLOB characters.
const blob = (i) => {
  const head = `blob ${String(i).padStart(6, "0")} `;
  return head + "x".repeat(BLOB - head.length);
};
const indexOf = (s) => Number(s.slice(5, 11));

// A raw WebSocket Socket.IO client on "/" that joined `room` and then stopped reading (its TCP socket is paused:
// once node's own small buffer is full, the kernel's receive buffer fills, then the server's send buffer).
async function stalled(room) {
  const s = await SioWs.open(srv.port);
  const id = await s.connect("/");
  s.send(`21${JSON.stringify(["__join__", room])}`);
  assert.equal(await s.nextText(), `31${JSON.stringify([[id, room]])}`);
  s.ws.socket.pause();
  return { s, id };
}

// Five socket.io-client readers (WebSocket) in `room`.
async function readers(room) {
  const rs = await connectMany(srv, READERS);
  const joined = await Promise.all(rs.map((r) => cmd(r, "__join__", room)));
  joined.forEach((rooms, k) => assert.deepEqual(rooms, [rs[k].socket.id, room], `rooms of reader ${k}`));
  return rs;
}

// Broadcasts blob 0, 1, ... to `room` from ctl (`__to__`, WINDOW commands in flight, each answered "ok") until
// stop(count sent so far) is true. Returns the count. The commands leave ctl in index order, so the broadcasts are
// made in that order.
async function broadcastBlobs(ctl, room, volatile, stop) {
  let next = 0;
  const worker = async () => {
    while (!stop(next)) {
      const i = next++;
      const arg = { rooms: [room], event: "blob", args: [blob(i)], ...(volatile ? { volatile: true } : {}) };
      assert.equal(await cmd(ctl, "__to__", arg), "ok", `__to__ of blob ${i}`);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, worker));
  return next;
}

// A non-volatile broadcast of `event` to `room`; resolves once every reader has it (so every earlier broadcast from
// ctl has reached them too: one connection delivers in order).
async function mark(ctl, rs, room, event) {
  assert.equal(await cmd(ctl, "__to__", { rooms: [room], event, args: ["done"] }), "ok");
  await withTimeout(Promise.all(rs.map((r) => r.waitEvent(event, () => true, LONG))), LONG, `"${event}" at every reader`);
}

// The blobs reader r received, as indexes, checking each one's content.
function received(r, k) {
  return r.events.filter((e) => e[0] === "blob").map((e, n) => {
    assert.equal(typeof e[1], "string", `reader ${k}: blob #${n} is a string`);
    const i = indexOf(e[1]);
    assert.ok(e[1] === blob(i), `reader ${k}: blob #${n} (index ${i}) has the right content`);
    return i;
  });
}

const increasing = (xs) => xs.every((x, n) => n === 0 || x > xs[n - 1]);

// The readers are still connected: no disconnect on either side, and a command round trip works.
async function assertReadersAlive(rs, room) {
  const ids = rs.map((r) => r.socket.id);
  const gone = srv.events.filter((e) => /^sio-disconnect/.test(e.event) && ids.includes(e.id));
  assert.deepEqual(gone, [], "no reader was disconnected by the server");
  rs.forEach((r, k) => {
    assert.deepEqual(r.disconnects, [], `reader ${k}: no disconnect`);
    assert.ok(r.socket.connected, `reader ${k} is connected`);
  });
  const rooms = await Promise.all(rs.map((r) => cmd(r, "__rooms__")));
  rooms.forEach((got, k) => assert.deepEqual(got, [ids[k], room], `reader ${k} answers`));
}

// Closes the clients and waits until the server has let them go (room R is empty for the next test).
async function cleanup(raw, rs) {
  const ids = [...rs.map((r) => r.socket.id), raw?.id].filter(Boolean); // a client's id is cleared on disconnect
  raw?.s.destroy();
  for (const r of rs) close(r);
  await Promise.allSettled(ids.map((id) => serverEvent(srv, "sio-disconnect", id, LONG)));
}

test("[C] a client that stops reading is cut off at the cap (transport error); the other clients of the room get every broadcast", { skip: skipOnReference, timeout: 240000 }, async (t) => {
  const room = "R";
  const raw = await stalled(room);
  let rs = [];
  try {
    rs = await readers(room);
    const ctl = rs[0];
    const isCut = () => srv.events.some((e) => e.event === "sio-disconnect" && e.id === raw.id);
    let cutAt = -1;
    const sent = await broadcastBlobs(ctl, room, false, (n) => {
      if (cutAt < 0 && isCut()) cutAt = n;
      return n >= MAX_BLOBS || (cutAt >= 0 && n >= cutAt + AFTER_CUT);
    });
    t.diagnostic(`${sent} blobs of ${BLOB} bytes sent; the stalled socket's sio-disconnect was seen after ${cutAt} (${cutAt * BLOB} bytes)`);
    assert.ok(cutAt >= 0, `the stalled socket is cut off within ${MAX_BLOBS} blobs of ${BLOB} bytes`);
    assert.equal(await disconnectReason(srv, raw.id, LONG), "transport error");

    // Every reader got every blob, in order, and is still connected.
    await mark(ctl, rs, room, "end");
    rs.forEach((r, k) => {
      const got = received(r, k);
      assert.equal(got.length, sent, `reader ${k}: every blob`);
      assert.ok(got.every((i, n) => i === n), `reader ${k}: the blobs in order`);
    });
    await assertReadersAlive(rs, room);

    // The stalled client, reading again, finds an in-order prefix of the blobs (what the kernel and its queue held
    // when it was cut off: its queue is written before the close, within the server's write timeout) and then the
    // end of its connection.
    raw.s.ws.socket.resume();
    const got = [];
    let last;
    for (;;) {
      const f = await raw.s.ws.nextFrame(LONG);
      if (f.type === "text" && f.text.startsWith("42")) {
        const [ev, arg] = JSON.parse(f.text.slice(2));
        assert.equal(ev, "blob");
        assert.ok(arg === blob(indexOf(arg)), "the stalled client's blobs have the right content");
        got.push(indexOf(arg));
        continue;
      }
      if (f.type === "ping" || f.type === "pong" || (f.type === "text" && f.text === "2")) continue;
      last = f;
      break;
    }
    t.diagnostic(`the stalled client had ${got.length} blobs (${got.length * BLOB} bytes) buffered, then: ${describeFrame(last)}`);
    assert.ok(got.every((i, n) => i === n), "the stalled client's blobs are a prefix, in order");
    assert.ok(got.length <= cutAt, "the stalled client did not get the blobs after the cut");
    assert.ok(last.type === "end" || last.type === "close", `the connection ends (got ${last.type})`);
    assert.ok(await raw.s.ws.waitClosed(LONG), "the TCP connection is closed");

    // The server still answers a new handshake.
    const res = await request(srv.port, { path: sioPath() });
    assert.equal(res.status, 200);
    assert.ok(res.text.startsWith("0{"), `an open packet: ${res.text.slice(0, 40)}`);
  } finally {
    await cleanup(raw, rs);
  }
});

test("[C] volatile broadcasts to a client that stops reading are dropped: it stays connected and works once it reads again", { skip: skipOnReference, timeout: 240000 }, async (t) => {
  const room = "R";
  const raw = await stalled(room);
  let rs = [];
  try {
    rs = await readers(room);
    const ctl = rs[0];
    const sent = await broadcastBlobs(ctl, room, true, (n) => n >= VOLATILE_BLOBS);
    assert.equal(sent, VOLATILE_BLOBS);
    await mark(ctl, rs, room, "end");
    // A couple of seconds after the last broadcast, the stalled socket is still connected.
    await sleep(2000);
    const evs = srv.events.filter((e) => e.id === raw.id).map((e) => e.event);
    assert.deepEqual(evs, ["sio-connection"], "no disconnect of the stalled socket");

    // The readers got some of the blobs (volatile: one may miss those sent while its own socket was blocked), in
    // order, and are still connected.
    rs.forEach((r, k) => {
      const got = received(r, k);
      assert.ok(got.length >= 1 && got.length <= sent, `reader ${k}: ${got.length} blobs, between 1 and ${sent}`);
      assert.ok(increasing(got), `reader ${k}: the blobs in order, none twice`);
    });
    t.diagnostic(`readers received ${rs.map((r, k) => received(r, k).length).join(", ")} of ${sent} volatile blobs`);
    await assertReadersAlive(rs, room);

    // The stalled client reads again: what the kernel had taken (blobs in order, far fewer than were sent), then a
    // later non-volatile broadcast, and its connection works both ways.
    raw.s.ws.socket.resume();
    assert.equal(await cmd(ctl, "__to__", { rooms: [room], event: "after", args: ["done"] }), "ok");
    const got = [];
    let ends = 0;
    for (;;) {
      const p = await raw.s.nextText(LONG);
      const m = /^2(\[.*\])$/s.exec(p);
      assert.ok(m, `an event packet: ${p.slice(0, 40)}`);
      const [ev, arg] = JSON.parse(m[1]);
      if (ev === "after") {
        assert.equal(arg, "done");
        break;
      }
      if (ev === "end") { // the non-volatile mark, queued for it after the blobs
        ends++;
        continue;
      }
      assert.equal(ends, 0, "no blob after the end mark");
      assert.equal(ev, "blob");
      assert.ok(arg === blob(indexOf(arg)), "the stalled client's blobs have the right content");
      got.push(indexOf(arg));
    }
    t.diagnostic(`the stalled client got ${got.length} of ${sent} volatile blobs (${got.length * BLOB} bytes)`);
    assert.ok(increasing(got), "the stalled client's blobs in order, none twice");
    assert.equal(ends, 1, "the end mark, once, before the later broadcast");
    assert.ok(got.length < sent, "volatile blobs were dropped for the stalled client");
    await raw.s.assertAlive("slow-reader");
    await withTimeout(Promise.all(rs.map((r) => r.waitEvent("after", () => true, LONG))), LONG, '"after" at every reader');
    await assertReadersAlive(rs, room);
    assert.deepEqual(srv.events.filter((e) => e.id === raw.id).map((e) => e.event), ["sio-connection"]);
  } finally {
    await cleanup(raw, rs);
  }
});
