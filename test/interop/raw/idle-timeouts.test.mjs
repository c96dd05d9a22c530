// The headers timeout bounds a request that is being read, nothing else: a WebSocket and a parked polling GET are
// watched by the heartbeat only, however long the headers timeout is shorter than the ping interval.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { handshake, startPoll, settledWithin, wsSession, sleep, skipOnReference } from "./lib.mjs";

let srv; // headers timeout 1 s, pings every 4 s

before(async () => {
  if (skipOnReference) return; // --headers-timeout is ours only
  srv = await startServer({ args: ["--headers-timeout", "1000", "--ping-interval", "4000", "--ping-timeout", "4000"], events: true });
});
after(async () => {
  await srv?.stop();
});

test("[C] an idle WebSocket outlives the headers timeout (only the heartbeat bounds it)", { skip: skipOnReference }, async () => {
  const { ws, sid } = await wsSession(srv.port);
  try {
    await sleep(2500); // 2.5 x the headers timeout, before the first ping
    assert.equal(ws.ended, false, "the WebSocket was closed by the server while idle");
    assert.equal(srv.events.find((e) => e.event === "close" && e.sid === sid), undefined, "the session was closed");
    const ping = await ws.nextText(5000);
    assert.equal(ping, "2");
  } finally {
    ws.destroy();
  }
});

test("[C] a parked polling GET outlives the headers timeout and is answered by the ping", { skip: skipOnReference }, async () => {
  const { sid } = await handshake(srv.port);
  const { conn, response } = await startPoll(srv.port, sid, 10000);
  try {
    assert.equal(await settledWithin(response, 2500), "pending", "the parked GET ended before the ping interval");
    assert.equal(conn.ended, false, "the parked GET's connection was closed");
    const res = await response;
    assert.ok(!res.error, `the parked GET failed: ${res.error}`);
    assert.equal(res.status, 200);
    assert.equal(res.text, "2");
    assert.equal(srv.events.find((e) => e.event === "close" && e.sid === sid), undefined, "the session was closed");
  } finally {
    conn.destroy();
  }
});
