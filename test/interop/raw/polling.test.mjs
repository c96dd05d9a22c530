// Engine.IO v4 HTTP long-polling rules, by hand.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import {
  RS, sleep, request, handshake, eioPath, poll, post, startPoll, settledWithin, assertEioError, assertSessionGone,
  MESSAGES, HttpConn, buildRequest,
} from "./lib.mjs";

let srv; // long heartbeat so that no ping gets in the way, small max payload, events
let pinger; // pingInterval 2000 for the held-GET test

before(async () => {
  [srv, pinger] = await Promise.all([
    startServer({
      args: ["--ping-interval", "20000", "--ping-timeout", "20000", "--max-payload", "1000", "--test-commands"],
      events: true,
    }),
    startServer({ args: ["--ping-interval", "2000", "--ping-timeout", "5000"], events: true }),
  ]);
});
after(async () => {
  await Promise.all([srv?.stop(), pinger?.stop()]);
});

const closeReason = (s, sid, ms = 5000) => s.waitEvent((e) => e.event === "close" && e.sid === sid, ms).then((e) => e.reason);

test("a GET is held until there is data, then answered with it", async () => {
  const { sid } = await handshake(srv.port);
  const g = await startPoll(srv.port, sid);
  try {
    assert.equal(await settledWithin(g.response, 500), "pending", "the GET must wait while there is nothing to send");
    const p = await post(srv.port, sid, "4hello");
    assert.equal(p.status, 200);
    const res = await g.response;
    assert.equal(res.status, 200, res.error?.message);
    assert.equal(res.text, "4hello");
    assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
    assert.equal(res.headers["cache-control"], "no-store");
  } finally {
    g.conn.destroy();
  }
});

test("a GET is held until the next ping, then answered with 2 (pingInterval 2000)", async () => {
  const { sid } = await handshake(pinger.port);
  const g = await startPoll(pinger.port, sid, 10000);
  try {
    assert.equal(await settledWithin(g.response, 500), "pending");
    const res = await g.response;
    assert.equal(res.status, 200, res.error?.message);
    assert.equal(res.text, "2");
    // answer it: the session stays open
    assert.equal((await post(pinger.port, sid, "3")).status, 200);
    assert.equal((await post(pinger.port, sid, "4still")).status, 200);
    assert.equal((await poll(pinger.port, sid)).text, "4still");
  } finally {
    g.conn.destroy();
  }
});

test("POST answers 200, Content-Type text/html, body ok", async () => {
  const { sid } = await handshake(srv.port);
  const res = await post(srv.port, sid, "4hello");
  assert.equal(res.status, 200);
  assert.equal(res.headers["content-type"], "text/html");
  assert.equal(res.headers["cache-control"], "no-store");
  assert.equal(res.text, "ok");
  assert.equal(res.headers["content-length"], "2");
});

test("a payload of several packets joined with \\x1e is echoed as one payload", async () => {
  const { sid } = await handshake(srv.port);
  const body = ["4test1", "4test2", "4test3"].join(RS);
  assert.equal((await post(srv.port, sid, body)).status, 200);
  const res = await poll(srv.port, sid);
  assert.equal(res.status, 200);
  assert.equal(res.text, body);
});

test("UTF-8 text is echoed byte for byte", async () => {
  const { sid } = await handshake(srv.port);
  const body = "4héllo wörld € 😀";
  assert.equal((await post(srv.port, sid, body)).status, 200);
  const res = await poll(srv.port, sid);
  assert.equal(res.text, body);
  assert.equal(Number(res.headers["content-length"]), Buffer.byteLength(body));
});

test("binary b<base64> is echoed as b<base64>, mixed with text", async () => {
  const { sid } = await handshake(srv.port);
  const body = `4hello${RS}bAQIDBA==`;
  assert.equal((await post(srv.port, sid, body)).status, 200);
  const res = await poll(srv.port, sid);
  assert.equal(res.status, 200);
  assert.equal(res.text, body);
  assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
});

test("an empty binary message b is echoed as b", async () => {
  const { sid } = await handshake(srv.port);
  assert.equal((await post(srv.port, sid, "b")).status, 200);
  assert.equal((await poll(srv.port, sid)).text, "b");
});

test("an empty text message 4 is echoed as 4", async () => {
  // own server: an empty message is the one input most likely to crash a server (undefined data in engine.io)
  const s = await startServer({ args: ["--ping-interval", "20000", "--ping-timeout", "20000"] });
  try {
    const { sid } = await handshake(s.port);
    assert.equal((await post(s.port, sid, `4${RS}4x${RS}4`)).status, 200);
    assert.equal((await poll(s.port, sid)).text, `4${RS}4x${RS}4`);
  } finally {
    await s.stop();
  }
});

test("two concurrent GETs: the second gets 400, the pending one gets 1, later requests 400 code 1", async () => {
  const { sid } = await handshake(srv.port);
  const first = await startPoll(srv.port, sid);
  try {
    await sleep(300); // let the server park the first GET
    assert.equal(await settledWithin(first.response, 1), "pending");
    const second = await poll(srv.port, sid);
    assert.equal(second.status, 400);
    const res = await first.response;
    assert.equal(res.status, 200, res.error?.message);
    assert.equal(res.text, "1");
    assert.equal(await closeReason(srv, sid), "transport error");
    assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
    assertEioError(await post(srv.port, sid, "4x"), 400, 1, MESSAGES[1]);
  } finally {
    first.conn.destroy();
  }
});

test("two concurrent POSTs: the second gets 400 and the session closes", async () => {
  const { sid } = await handshake(srv.port);
  const c = await HttpConn.open(srv.port);
  try {
    // first POST: headers and part of the body only
    c.write(buildRequest({ port: srv.port, method: "POST", path: eioPath({ sid }), headers: { "Content-Length": "10" } }));
    c.write("4ab");
    await sleep(300);
    const second = await post(srv.port, sid, "4cd");
    assert.equal(second.status, 400);
    assert.equal(await closeReason(srv, sid), "transport error");
    assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
  } finally {
    c.destroy();
  }
});

test("an aborted pending GET closes the session", async () => {
  const { sid } = await handshake(srv.port);
  const g = await startPoll(srv.port, sid);
  await sleep(300);
  g.conn.destroy();
  assert.equal(await closeReason(srv, sid), "transport error");
  assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
});

test("client close packet 1: the pending GET gets 6, the session closes (transport close)", async () => {
  const { sid } = await handshake(srv.port);
  const g = await startPoll(srv.port, sid);
  try {
    await sleep(300);
    const p = await post(srv.port, sid, "1");
    assert.equal(p.status, 200);
    assert.equal(p.text, "ok");
    const res = await g.response;
    assert.equal(res.status, 200, res.error?.message);
    assert.equal(res.text, "6");
    assert.equal(await closeReason(srv, sid), "transport close");
    assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
  } finally {
    g.conn.destroy();
  }
});

test("client close packet 1 with no pending GET closes the session", async () => {
  const { sid } = await handshake(srv.port);
  assert.equal((await post(srv.port, sid, "1")).status, 200);
  assert.equal(await closeReason(srv, sid), "transport close");
  assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
});

test("POST body over --max-payload (1000) gets 413; exactly 1000 bytes is accepted", async () => {
  const { sid } = await handshake(srv.port);
  const exact = "4" + "a".repeat(999);
  const ok = await post(srv.port, sid, exact);
  assert.equal(ok.status, 200);
  assert.equal((await poll(srv.port, sid)).text, exact);
  const big = await post(srv.port, sid, "4" + "a".repeat(1000));
  assert.equal(big.status, 413);
});

test("POST body over --max-payload is counted in UTF-8 bytes, not characters", async () => {
  const { sid } = await handshake(srv.port);
  // 500 × "é" = 1000 bytes, plus the type byte = 1001 bytes, only 501 characters
  const big = await post(srv.port, sid, "4" + "é".repeat(500));
  assert.equal(big.status, 413);
});

test("POST with Content-Type application/octet-stream on EIO 4 gets 400 and closes the session", async () => {
  // engine.io 6.6.12 answers 400 (polling.ts onDataRequest: onError("invalid content") + 400); older versions left the
  // request unanswered.
  const { sid } = await handshake(srv.port);
  const res = await post(srv.port, sid, "4hello", { "Content-Type": "application/octet-stream" });
  assert.equal(res.status, 400);
  assert.equal(await closeReason(srv, sid), "transport error");
  assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
});

for (const [name, body] of [
  ["abc", "abc"],
  ["an empty body", ""],
  ["7 (unknown type)", "7"],
  ["9x", "9x"],
  ["a body ending in \\x1e", `4a${RS}`],
  ["an empty packet in the middle", `4a${RS}${RS}4b`],
]) {
  test(`invalid payload: ${name} → session closed with "parse error"`, async () => {
    const { sid } = await handshake(srv.port);
    let res;
    try {
      res = await post(srv.port, sid, body);
    } catch (e) {
      res = { error: e };
    }
    // The reference answers 200 "ok" (it parses after reading the whole body); the protocol test suite expects 400
    // or an aborted request. Any of the three is fine: what matters is that the session is closed.
    if (!res.error) {
      assert.ok(res.status === 200 || res.status === 400, `POST answer ${res.status} ${res.text}`);
      if (res.status === 200) assert.equal(res.text, "ok");
    } else {
      assert.equal(res.error.code, "ECLOSED", res.error.message);
    }
    assert.equal(await closeReason(srv, sid), "parse error");
    assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
  });
}

test("invalid base64 (b!!!!) is decoded leniently or closes the session, and the server survives", async () => {
  // The reference decodes leniently ("b!!!!" is echoed as "b"). Rejecting it (close) is allowed too (BAD-INPUTS.md).
  const { sid } = await handshake(srv.port);
  const p = await post(srv.port, sid, "b!!!!").catch((e) => ({ error: e }));
  const g = await poll(srv.port, sid);
  if (g.status === 200) {
    assert.match(g.text, /^b[A-Za-z0-9+/]*={0,2}$/, g.text);
    assert.equal(p.status, 200);
  } else {
    assertEioError(g, 400, 1, MESSAGES[1]);
  }
  assert.equal((await handshake(srv.port)).open.maxPayload, 1000);
});

test('client ping 2 on EIO 4 closes the session ("transport error")', async () => {
  const { sid } = await handshake(srv.port);
  await post(srv.port, sid, "2").catch(() => {});
  assert.equal(await closeReason(srv, sid), "transport error");
  assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
});

test("Content-Length together with Transfer-Encoding: chunked → 400 and the connection closed", async () => {
  const { sid } = await handshake(srv.port);
  const c = await HttpConn.open(srv.port);
  try {
    c.send({
      method: "POST",
      path: eioPath({ sid }),
      headers: { "Content-Length": "6", "Transfer-Encoding": "chunked" },
    });
    c.write("6\r\n4hello\r\n0\r\n\r\n");
    const res = await c.readResponse();
    assert.equal(res.status, 400);
    assert.ok(await c.waitClosed(5000), "connection must be closed");
  } finally {
    c.destroy();
  }
});

test("a chunked POST body (no Content-Length) is accepted", async () => {
  const { sid } = await handshake(srv.port);
  const c = await HttpConn.open(srv.port);
  try {
    c.send({ method: "POST", path: eioPath({ sid }), headers: { "Transfer-Encoding": "chunked" } });
    c.write("3\r\n4he\r\n3\r\nllo\r\n0\r\n\r\n");
    const res = await c.readResponse();
    assert.equal(res.status, 200);
    assert.equal(res.text, "ok");
  } finally {
    c.destroy();
  }
  assert.equal((await poll(srv.port, sid)).text, "4hello");
});

test("keep-alive: handshake, POST and GET on one TCP connection", async () => {
  const c = await HttpConn.open(srv.port);
  try {
    c.send({ path: eioPath() });
    const hs = await c.readResponse();
    assert.equal(hs.status, 200);
    const sid = JSON.parse(hs.text.slice(1)).sid;
    for (let i = 0; i < 3; i++) {
      c.send({ method: "POST", path: eioPath({ sid }), body: `4msg${i}` });
      const p = await c.readResponse();
      assert.equal(p.status, 200);
      assert.equal(p.text, "ok");
      c.send({ path: eioPath({ sid }) });
      const g = await c.readResponse();
      assert.equal(g.status, 200);
      assert.equal(g.text, `4msg${i}`);
    }
    assert.equal(c.ended, false, "the connection stays open");
  } finally {
    c.destroy();
  }
});

test("pipelining: a POST and a GET written at once are both answered, in order", async () => {
  const { sid } = await handshake(srv.port);
  const c = await HttpConn.open(srv.port);
  try {
    c._methods.push("POST", "GET");
    c.write(
      Buffer.concat([
        buildRequest({ port: srv.port, method: "POST", path: eioPath({ sid }), body: "4pipe" }),
        buildRequest({ port: srv.port, path: eioPath({ sid }) }),
      ]),
    );
    const first = await c.readResponse();
    assert.equal(first.status, 200);
    assert.equal(first.text, "ok");
    const second = await c.readResponse();
    assert.equal(second.status, 200);
    assert.equal(second.text, "4pipe");
  } finally {
    c.destroy();
  }
});

test("pipelining: two handshakes written at once give two sessions, in order", async () => {
  const c = await HttpConn.open(srv.port);
  try {
    c._methods.push("GET", "GET");
    c.write(Buffer.concat([buildRequest({ port: srv.port, path: eioPath() }), buildRequest({ port: srv.port, path: eioPath() })]));
    const a = await c.readResponse();
    const b = await c.readResponse();
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const sa = JSON.parse(a.text.slice(1)).sid;
    const sb = JSON.parse(b.text.slice(1)).sid;
    assert.notEqual(sa, sb);
  } finally {
    c.destroy();
  }
});

test("PUT on an existing sid gets 500 and leaves the session open", async () => {
  const { sid } = await handshake(srv.port);
  const res = await request(srv.port, { method: "PUT", path: eioPath({ sid }), body: "4x" });
  assert.equal(res.status, 500);
  assert.equal((await post(srv.port, sid, "4after")).status, 200);
  assert.equal((await poll(srv.port, sid)).text, "4after");
});

test("server messages queued while no GET is parked are sent together, in order", async () => {
  const { sid } = await handshake(srv.port);
  assert.equal((await post(srv.port, sid, "4__send__5")).status, 200);
  const res = await poll(srv.port, sid);
  assert.equal(res.text, ["40", "41", "42", "43", "44"].join(RS));
});

test("server-side close with a parked GET: the GET gets 1, later requests 400 code 1", async () => {
  const { sid } = await handshake(srv.port);
  const g = await startPoll(srv.port, sid);
  try {
    await sleep(300);
    assert.equal((await post(srv.port, sid, "4__close__")).status, 200);
    const res = await g.response;
    assert.equal(res.status, 200, res.error?.message);
    assert.equal(res.text, "1");
    assert.equal(await closeReason(srv, sid), "forced close");
    assertEioError(await poll(srv.port, sid), 400, 1, MESSAGES[1]);
  } finally {
    g.conn.destroy();
  }
});

test("a session that is closed by the client gives 400 code 1 for POST too", async () => {
  const { sid } = await handshake(srv.port);
  assert.equal((await post(srv.port, sid, "1")).status, 200);
  await closeReason(srv, sid);
  await assertSessionGone(srv.port, sid);
  assertEioError(await post(srv.port, sid, "4x"), 400, 1, MESSAGES[1]);
});
