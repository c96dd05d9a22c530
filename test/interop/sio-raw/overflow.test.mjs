// [C] The per-session cap on queued output (max_queued_bytes, 16 MiB by default): a polling client that never
// polls while the server keeps answering it. The reference has no cap (its queue grows without bound), so these run
// on ours only. Regressions from review: the close used to run inside the application's send (a use-after-free
// when it happened in the CONNECT answer, an endless loop in a whole-connection disconnect).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { request, skipOnReference } from "../raw/lib.mjs";

let srv;
before(async () => {
  srv = await startServer({ events: true, args: ["--test-commands", "--ping-interval", "60000", "--ping-timeout", "60000"] });
});
after(async () => {
  await srv.stop();
});

const path = (q = "") => `/socket.io/?EIO=4&transport=polling${q}`;

// A connected Socket.IO client on polling; returns its engine sid.
async function open() {
  const res = await request(srv.port, { path: path() });
  const sid = JSON.parse(res.text.slice(1)).sid;
  await request(srv.port, { method: "POST", path: path(`&sid=${sid}`), body: "40" });
  await request(srv.port, { path: path(`&sid=${sid}`) }); // the CONNECT answer
  return sid;
}

// Fills the session's queue up to `margin` bytes under 16 MiB with message-back echoes nobody polls.
async function fill(sid, margin) {
  const cap = 16 * 1024 * 1024;
  const body = (k) => `42["message","${"A".repeat(k)}"]`;
  let total = 0;
  let first = true;
  for (;;) {
    const room = cap - margin - total - (first ? 0 : 1) - 5 - body(0).length; // 4 + "-back" grows each echo by 5
    if (room <= 0) return;
    const k = Math.min(room, 900000);
    const res = await request(srv.port, { method: "POST", path: path(`&sid=${sid}`), body: body(k) });
    assert.equal(res.status, 200);
    total += (first ? 0 : 1) + body(k).length + 5;
    first = false;
  }
}

for (const [what, last, reason] of [
  ["a CONNECT answer", "40/custom,", "transport error"],
  ["a whole-connection disconnect", '42["__disconnect__",true]', "server namespace disconnect"],
]) {
  test(`[C] the queue cap passed by ${what}: the session closes, the server goes on`, { skip: skipOnReference, timeout: 60000 }, async () => {
    const sid = await open();
    await fill(sid, 4);
    const n0 = srv.events.length;
    const res = await request(srv.port, { method: "POST", path: path(`&sid=${sid}`), body: last });
    assert.equal(res.status, 200);
    // The main namespace's socket (the one that was filling the queue) is disconnected.
    const ev = await srv.waitEvent((e) => srv.events.indexOf(e) >= n0 && e.event === "sio-disconnect" && e.nsp === "/", 10000);
    assert.equal(ev.reason, reason);
    let gone;
    for (let i = 0; i < 50; i++) {
      gone = await request(srv.port, { path: path(`&sid=${sid}`) });
      if (gone.status === 400) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(gone.status, 400, "the session is closed");
    const again = await request(srv.port, { path: path() });
    assert.equal(again.status, 200, "the server still answers handshakes");
  });
}
