// CORS headers (the `cors` npm package as engine.io 6 applies it: --cors-origin, --cors-credentials), preflights, the
// `io` cookie (--cookie), and [C] the Origin check on WebSocket handshakes when CORS is configured.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import {
  sleep, request, HttpConn, handshake, eioPath, poll, post, assertEioError, MESSAGES, wsOpen, wsConnect, wsRefusalBody,
  skipOnReference,
} from "./lib.mjs";

const A = "https://a.example";
const B = "https://b.example";
const EVIL = "https://evil.example";
const METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE";
const SID0 = "AAAAAAAAAAAAAAAAAAAA"; // an sid no session has

let off; // no CORS flag, no cookie
let one; // --cors-origin https://a.example
let star; // --cors-origin '*'
let two; // --cors-origin https://a.example --cors-origin https://b.example
let cred; // --cors-origin https://a.example --cors-credentials
let cookie; // --cookie

before(async () => {
  const common = ["--ping-interval", "20000", "--ping-timeout", "20000"];
  [off, one, star, two, cred, cookie] = await Promise.all([
    startServer({ args: common }),
    startServer({ args: [...common, "--cors-origin", A] }),
    startServer({ args: [...common, "--cors-origin", "*"] }),
    startServer({ args: [...common, "--cors-origin", A, "--cors-origin", B] }),
    startServer({ args: [...common, "--cors-origin", A, "--cors-credentials"] }),
    startServer({ args: [...common, "--cookie"] }),
  ]);
});
after(async () => {
  await Promise.all([off, one, star, two, cred, cookie].map((s) => s?.stop()));
});

// ---------------------------------------------------------------------------------------------------------------
// Header helpers: names case-insensitive, values exact.

// Every value of the header `name` (one per header line), in order.
function headerLines(res, name) {
  const n = name.toLowerCase();
  return res.rawHeaders.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

// The value of a header that must appear at most once (undefined if absent).
function single(res, name) {
  const v = headerLines(res, name);
  assert.ok(v.length <= 1, `${name} appears ${v.length} times: ${JSON.stringify(v)}`);
  return v[0];
}

// The Vary tokens of every Vary line (Node joins them into one line, we may send several lines).
function varySet(res) {
  const s = new Set();
  for (const v of headerLines(res, "vary")) for (const t of v.split(",")) if (t.trim()) s.add(t.trim());
  return s;
}

function describe(res) {
  return `${res.statusLine} ${JSON.stringify(res.rawHeaders)}`;
}

function assertNoAccessControl(res) {
  const ac = res.rawHeaders.filter(([k]) => k.toLowerCase().startsWith("access-control-"));
  assert.deepEqual(ac, [], `no Access-Control-* header expected: ${describe(res)}`);
  assert.ok(!varySet(res).has("Origin"), `no Vary: Origin expected: ${describe(res)}`);
}

function assertAllowOrigin(res, origin) {
  assert.equal(single(res, "access-control-allow-origin"), origin, describe(res));
}

function assertVaryOrigin(res, expected = true) {
  assert.equal(varySet(res).has("Origin"), expected, `Vary: Origin ${expected ? "expected" : "unexpected"}: ${describe(res)}`);
}

// Request headers with an optional Origin (undefined: no Origin header).
const withOrigin = (origin) => (origin === undefined ? {} : { Origin: origin });

const hs = (srv, origin) => request(srv.port, { path: eioPath(), headers: withOrigin(origin) });

function openOf(res) {
  assert.equal(res.status, 200, `handshake failed: ${res.status} ${res.text}`);
  assert.ok(res.text.startsWith("0"), `not an open packet: ${JSON.stringify(res.text)}`);
  return JSON.parse(res.text.slice(1));
}

// A parked GET answered by a message POSTed afterwards (the server echoes it). Returns the GET's answer.
async function parkedAnswer(srv, sid, origin) {
  const conn = await HttpConn.open(srv.port);
  try {
    conn.send({ path: eioPath({ sid }), headers: withOrigin(origin) });
    const response = conn.readResponse(10000);
    await sleep(200); // let the GET park (no assertion on it)
    const p = await post(srv.port, sid, "4hello", withOrigin(origin));
    assert.equal(p.status, 200, `POST failed: ${p.status} ${p.text}`);
    const res = await response;
    assert.equal(res.status, 200, `parked GET failed: ${res.status} ${res.text}`);
    assert.equal(res.text, "4hello");
    return res;
  } finally {
    conn.destroy();
  }
}

// A preflight: OPTIONS with Origin, Access-Control-Request-Method: POST and Access-Control-Request-Headers
// (requestHeaders null: no Access-Control-Request-Headers).
function preflight(srv, { sid, origin = A, requestHeaders = "content-type,x-custom" } = {}) {
  const headers = { ...withOrigin(origin), "Access-Control-Request-Method": "POST" };
  if (requestHeaders !== null) headers["Access-Control-Request-Headers"] = requestHeaders;
  return request(srv.port, { method: "OPTIONS", path: eioPath(sid ? { sid } : {}), headers });
}

// What every preflight answer has (the cors package, preflightContinue false).
function assertPreflight(res, { requestHeaders = "content-type,x-custom" } = {}) {
  assert.equal(res.status, 204, describe(res));
  const cl = single(res, "content-length");
  assert.ok(cl === undefined || cl === "0", `Content-Length ${cl}`);
  assert.equal(res.body.length, 0);
  assert.equal(single(res, "access-control-allow-methods"), METHODS, describe(res));
  if (requestHeaders !== null) assert.equal(single(res, "access-control-allow-headers"), requestHeaders, describe(res));
  assert.ok(varySet(res).has("Access-Control-Request-Headers"), `Vary: Access-Control-Request-Headers expected: ${describe(res)}`);
}

// ---------------------------------------------------------------------------------------------------------------
// CORS off

test("CORS off: no Access-Control-* header on the handshake, a POST, a GET, an error answer", async () => {
  for (const origin of [undefined, A, EVIL]) {
    const h = await hs(off, origin);
    assertNoAccessControl(h);
    const { sid } = openOf(h);
    const p = await post(off.port, sid, "4x", withOrigin(origin));
    assert.equal(p.status, 200);
    assertNoAccessControl(p);
    const g = await request(off.port, { path: eioPath({ sid }), headers: withOrigin(origin) });
    assert.equal(g.text, "4x");
    assertNoAccessControl(g);
    const e = await request(off.port, { path: eioPath({ sid: SID0 }), headers: withOrigin(origin) });
    assertEioError(e, 400, 1, MESSAGES[1]);
    assertNoAccessControl(e);
  }
});

test("CORS off: OPTIONS without sid (even a preflight) → 400 code 2 Bad handshake method, no Access-Control-*", async () => {
  const plain = await request(off.port, { method: "OPTIONS", path: eioPath() });
  assertEioError(plain, 400, 2, MESSAGES[2]);
  assertNoAccessControl(plain);
  const pf = await preflight(off);
  assertEioError(pf, 400, 2, MESSAGES[2]);
  assertNoAccessControl(pf);
});

test("CORS off: OPTIONS with the sid of a session → 500 (like any other method), the session is untouched", async () => {
  const { sid } = await handshake(off.port);
  const res = await preflight(off, { sid });
  assert.equal(res.status, 500, describe(res));
  assertNoAccessControl(res);
  assert.equal((await post(off.port, sid, "4x")).status, 200);
  assert.equal((await poll(off.port, sid)).text, "4x");
});

test("CORS off: a WebSocket handshake with any Origin is accepted", async () => {
  for (const origin of [EVIL, A, undefined]) {
    const ws = await wsConnect(off.port, eioPath({ transport: "websocket" }), { headers: withOrigin(origin) });
    try {
      assert.ok((await ws.nextText()).startsWith("0{"));
      assertNoAccessControl(ws);
    } finally {
      ws.destroy();
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// One origin

test("one origin: the handshake has Access-Control-Allow-Origin: that origin whatever the request's Origin, Vary: Origin", async () => {
  for (const origin of [A, B, EVIL, `http://127.0.0.1:${one.port}`, undefined]) {
    const res = await hs(one, origin);
    openOf(res);
    assertAllowOrigin(res, A);
    assertVaryOrigin(res);
    assert.equal(single(res, "access-control-allow-credentials"), undefined);
  }
});

test("one origin: a POST and a GET have Access-Control-Allow-Origin and Vary: Origin", async () => {
  const { sid } = await handshake(one.port);
  for (const origin of [A, EVIL, undefined]) {
    const p = await post(one.port, sid, "4x", withOrigin(origin));
    assert.equal(p.status, 200);
    assert.equal(p.text, "ok");
    assertAllowOrigin(p, A);
    assertVaryOrigin(p);
    const g = await request(one.port, { path: eioPath({ sid }), headers: withOrigin(origin) });
    assert.equal(g.text, "4x");
    assertAllowOrigin(g, A);
    assertVaryOrigin(g);
  }
});

test("one origin: a parked GET's answer has Access-Control-Allow-Origin and Vary: Origin", async () => {
  for (const origin of [EVIL, undefined, A]) {
    const { sid } = await handshake(one.port);
    const res = await parkedAnswer(one, sid, origin);
    assertAllowOrigin(res, A);
    assertVaryOrigin(res);
  }
});

test("one origin: JSON error answers (unknown sid, bad transport, bad EIO, POST handshake) have the CORS headers", async () => {
  for (const origin of [EVIL, undefined]) {
    const h = withOrigin(origin);
    const e1 = await request(one.port, { path: eioPath({ sid: SID0 }), headers: h });
    assertEioError(e1, 400, 1, MESSAGES[1]);
    assertAllowOrigin(e1, A);
    assertVaryOrigin(e1);
    const e2 = await request(one.port, { method: "POST", path: eioPath({ sid: SID0 }), body: "4x", headers: h });
    assertEioError(e2, 400, 1, MESSAGES[1]);
    assertAllowOrigin(e2, A);
    assertVaryOrigin(e2);
    const e3 = await request(one.port, { path: "/engine.io/?EIO=4&transport=abc", headers: h });
    assertEioError(e3, 400, 0, MESSAGES[0]);
    assertAllowOrigin(e3, A);
    assertVaryOrigin(e3);
    const e4 = await request(one.port, { path: "/engine.io/?EIO=3&transport=polling", headers: h });
    assertEioError(e4, 400, 5, MESSAGES[5]);
    assertAllowOrigin(e4, A);
    assertVaryOrigin(e4);
    const e5 = await request(one.port, { method: "POST", path: eioPath(), body: "4x", headers: h });
    assertEioError(e5, 400, 2, MESSAGES[2]);
    assertAllowOrigin(e5, A);
    assertVaryOrigin(e5);
  }
});

test("one origin: preflight without sid → 204, Allow-Methods, Allow-Headers reflecting the request's, Vary", async () => {
  const res = await preflight(one);
  assertPreflight(res);
  assertAllowOrigin(res, A);
  assertVaryOrigin(res);
});

test("one origin: preflight with another Origin → still 204 with Access-Control-Allow-Origin: the configured origin", async () => {
  const res = await preflight(one, { origin: EVIL });
  assertPreflight(res);
  assertAllowOrigin(res, A);
  assertVaryOrigin(res);
});

test("one origin: preflight with other request headers → reflected exactly", async () => {
  const res = await preflight(one, { requestHeaders: "X-Foo, content-type" });
  assertPreflight(res, { requestHeaders: "X-Foo, content-type" });
  assertAllowOrigin(res, A);
});

test("one origin: preflight without Access-Control-Request-Headers → 204, no Access-Control-Allow-Headers", async () => {
  const res = await preflight(one, { requestHeaders: null });
  assertPreflight(res, { requestHeaders: null });
  assert.equal(single(res, "access-control-allow-headers"), undefined, describe(res));
  assertAllowOrigin(res, A);
});

test("one origin: preflight with the sid of an existing session → 204, the session is untouched", async () => {
  const { sid } = await handshake(one.port);
  const res = await preflight(one, { sid });
  assertPreflight(res);
  assertAllowOrigin(res, A);
  assertVaryOrigin(res);
  assert.equal((await post(one.port, sid, "4x")).status, 200);
  assert.equal((await poll(one.port, sid)).text, "4x");
});

test("one origin: a bare OPTIONS without sid → 204 (answered by CORS, not Bad handshake method)", async () => {
  const res = await request(one.port, { method: "OPTIONS", path: eioPath() });
  assert.equal(res.status, 204, describe(res));
  assert.equal(single(res, "access-control-allow-methods"), METHODS);
  assertAllowOrigin(res, A);
});

// ---------------------------------------------------------------------------------------------------------------
// '*'

test("'*': Access-Control-Allow-Origin: * and no Vary: Origin on the handshake, a POST, a GET, an error answer", async () => {
  for (const origin of [A, EVIL, undefined]) {
    const h = await hs(star, origin);
    const { sid } = openOf(h);
    assertAllowOrigin(h, "*");
    assertVaryOrigin(h, false);
    const p = await post(star.port, sid, "4x", withOrigin(origin));
    assert.equal(p.status, 200);
    assertAllowOrigin(p, "*");
    assertVaryOrigin(p, false);
    const g = await request(star.port, { path: eioPath({ sid }), headers: withOrigin(origin) });
    assert.equal(g.text, "4x");
    assertAllowOrigin(g, "*");
    assertVaryOrigin(g, false);
    const e = await request(star.port, { path: eioPath({ sid: SID0 }), headers: withOrigin(origin) });
    assertEioError(e, 400, 1, MESSAGES[1]);
    assertAllowOrigin(e, "*");
    assertVaryOrigin(e, false);
  }
});

test("'*': a parked GET's answer has Access-Control-Allow-Origin: *", async () => {
  const { sid } = await handshake(star.port);
  const res = await parkedAnswer(star, sid, EVIL);
  assertAllowOrigin(res, "*");
  assertVaryOrigin(res, false);
});

test("'*': preflight → 204 with Access-Control-Allow-Origin: *, Vary: Access-Control-Request-Headers but not Origin", async () => {
  const res = await preflight(star, { origin: EVIL });
  assertPreflight(res);
  assertAllowOrigin(res, "*");
  assertVaryOrigin(res, false);
});

test("'*': a WebSocket handshake with any Origin is accepted", async () => {
  for (const origin of [EVIL, undefined]) {
    const ws = await wsConnect(star.port, eioPath({ transport: "websocket" }), { headers: withOrigin(origin) });
    try {
      assert.ok((await ws.nextText()).startsWith("0{"));
    } finally {
      ws.destroy();
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Several origins

test("several origins: an allowed Origin is reflected with Vary: Origin (handshake, POST, GET, error)", async () => {
  for (const origin of [A, B]) {
    const h = await hs(two, origin);
    const { sid } = openOf(h);
    assertAllowOrigin(h, origin);
    assertVaryOrigin(h);
    const p = await post(two.port, sid, "4x", withOrigin(origin));
    assert.equal(p.status, 200);
    assertAllowOrigin(p, origin);
    assertVaryOrigin(p);
    const g = await request(two.port, { path: eioPath({ sid }), headers: withOrigin(origin) });
    assert.equal(g.text, "4x");
    assertAllowOrigin(g, origin);
    assertVaryOrigin(g);
    const e = await request(two.port, { path: eioPath({ sid: SID0 }), headers: withOrigin(origin) });
    assertEioError(e, 400, 1, MESSAGES[1]);
    assertAllowOrigin(e, origin);
    assertVaryOrigin(e);
  }
});

test("several origins: a disallowed or absent Origin gets no Access-Control-Allow-Origin, but Vary: Origin", async () => {
  for (const origin of [EVIL, "https://a.example.evil", "http://a.example", `http://127.0.0.1:${two.port}`, undefined]) {
    const h = await hs(two, origin);
    const { sid } = openOf(h); // CORS does not refuse the request itself
    assertAllowOrigin(h, undefined);
    assertVaryOrigin(h);
    const p = await post(two.port, sid, "4x", withOrigin(origin));
    assert.equal(p.status, 200);
    assertAllowOrigin(p, undefined);
    assertVaryOrigin(p);
    const e = await request(two.port, { path: eioPath({ sid: SID0 }), headers: withOrigin(origin) });
    assertEioError(e, 400, 1, MESSAGES[1]);
    assertAllowOrigin(e, undefined);
    assertVaryOrigin(e);
  }
});

test("several origins: a parked GET's answer reflects an allowed Origin", async () => {
  const { sid } = await handshake(two.port);
  const res = await parkedAnswer(two, sid, B);
  assertAllowOrigin(res, B);
  assertVaryOrigin(res);
});

test("several origins: preflight from an allowed Origin → reflected; from another → 204 without Allow-Origin", async () => {
  const ok = await preflight(two, { origin: B });
  assertPreflight(ok);
  assertAllowOrigin(ok, B);
  assertVaryOrigin(ok);
  const bad = await preflight(two, { origin: EVIL });
  assertPreflight(bad);
  assertAllowOrigin(bad, undefined);
  assertVaryOrigin(bad);
});

// ---------------------------------------------------------------------------------------------------------------
// Credentials

test("--cors-credentials: Access-Control-Allow-Credentials: true on the handshake, POST, GET, error, preflight", async () => {
  const h = await hs(cred, A);
  const { sid } = openOf(h);
  assertAllowOrigin(h, A);
  assertVaryOrigin(h);
  assert.equal(single(h, "access-control-allow-credentials"), "true");
  const p = await post(cred.port, sid, "4x", withOrigin(A));
  assert.equal(single(p, "access-control-allow-credentials"), "true");
  const g = await request(cred.port, { path: eioPath({ sid }), headers: withOrigin(EVIL) });
  assert.equal(g.text, "4x");
  assertAllowOrigin(g, A);
  assert.equal(single(g, "access-control-allow-credentials"), "true");
  const e = await request(cred.port, { path: eioPath({ sid: SID0 }), headers: withOrigin(A) });
  assertEioError(e, 400, 1, MESSAGES[1]);
  assert.equal(single(e, "access-control-allow-credentials"), "true");
  const pf = await preflight(cred);
  assertPreflight(pf);
  assertAllowOrigin(pf, A);
  assert.equal(single(pf, "access-control-allow-credentials"), "true");
});

test("without --cors-credentials: no Access-Control-Allow-Credentials (one origin, '*', several origins)", async () => {
  for (const srv of [one, star, two]) {
    const h = await hs(srv, A);
    assert.equal(single(h, "access-control-allow-credentials"), undefined, describe(h));
    const pf = await preflight(srv);
    assert.equal(single(pf, "access-control-allow-credentials"), undefined, describe(pf));
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Cookie

test("--cookie: the polling handshake sets io=<sid>; Path=/; HttpOnly; SameSite=Lax, later answers set nothing", async () => {
  const h = await hs(cookie);
  const { sid } = openOf(h);
  assert.deepEqual(headerLines(h, "set-cookie"), [`io=${sid}; Path=/; HttpOnly; SameSite=Lax`]);
  const p = await post(cookie.port, sid, "4x");
  assert.equal(p.status, 200);
  assert.deepEqual(headerLines(p, "set-cookie"), []);
  const g = await poll(cookie.port, sid);
  assert.equal(g.text, "4x");
  assert.deepEqual(headerLines(g, "set-cookie"), []);
  const parked = await parkedAnswer(cookie, sid, undefined);
  assert.deepEqual(headerLines(parked, "set-cookie"), []);
  // each handshake has its own sid in its cookie
  const h2 = await hs(cookie);
  const { sid: sid2 } = openOf(h2);
  assert.notEqual(sid2, sid);
  assert.deepEqual(headerLines(h2, "set-cookie"), [`io=${sid2}; Path=/; HttpOnly; SameSite=Lax`]);
});

// The reference sets the cookie from the polling transport's "headers" event; a direct WebSocket's transport is made
// after ws has written the 101, so that 101 carries no Set-Cookie (engine.io 6.6 server.ts handshake / ws "headers").
test("--cookie: a direct WebSocket handshake's 101 has no Set-Cookie (as the reference)", async () => {
  const ws = await wsConnect(cookie.port, eioPath({ transport: "websocket" }));
  try {
    const first = await ws.nextText();
    assert.ok(first.startsWith("0{"), first);
    assert.deepEqual(headerLines(ws, "set-cookie"), [], ws.head);
  } finally {
    ws.destroy();
  }
});

test("--cookie: the 101 of an upgrade (WebSocket with the sid of a polling session) has no Set-Cookie", async () => {
  const { sid } = await handshake(cookie.port);
  const ws = await wsConnect(cookie.port, eioPath({ transport: "websocket", sid }));
  try {
    assert.deepEqual(headerLines(ws, "set-cookie"), [], ws.head);
    ws.sendText("2probe");
    assert.equal(await ws.nextText(), "3probe");
  } finally {
    ws.destroy();
  }
});

test("--cookie: error answers have no Set-Cookie", async () => {
  const e = await request(cookie.port, { path: eioPath({ sid: SID0 }) });
  assertEioError(e, 400, 1, MESSAGES[1]);
  assert.deepEqual(headerLines(e, "set-cookie"), []);
});

test("without --cookie: no Set-Cookie on the handshake, a POST, a GET, a direct WebSocket's 101", async () => {
  for (const srv of [off, one]) {
    const h = await hs(srv);
    const { sid } = openOf(h);
    assert.deepEqual(headerLines(h, "set-cookie"), []);
    const p = await post(srv.port, sid, "4x");
    assert.deepEqual(headerLines(p, "set-cookie"), []);
    const g = await poll(srv.port, sid);
    assert.deepEqual(headerLines(g, "set-cookie"), []);
  }
  const ws = await wsConnect(off.port, eioPath({ transport: "websocket" }));
  try {
    assert.deepEqual(headerLines(ws, "set-cookie"), [], ws.head);
  } finally {
    ws.destroy();
  }
});

// ---------------------------------------------------------------------------------------------------------------
// [C] Origin check on WebSocket handshakes when CORS is configured (the reference does not check it).

test("[C] one origin: a WebSocket handshake with a foreign Origin is refused (raw 400, no 101), no session", { skip: skipOnReference }, async () => {
  for (const origin of [EVIL, B, "null"]) {
    const ws = await wsOpen(one.port, eioPath({ transport: "websocket" }), { headers: { Origin: origin } });
    try {
      assert.notEqual(ws.status, 101, `origin ${origin}: ${ws.head}`);
      assert.equal(ws.statusLine, "HTTP/1.1 400 Bad Request");
      const { closed, body } = await wsRefusalBody(ws);
      assert.ok(closed, "the socket must be closed");
      assert.ok(!body.toString("latin1").includes('0{"sid"'), "no open packet");
    } finally {
      ws.destroy();
    }
  }
});

test("[C] one origin: an upgrade of a polling session with a foreign Origin is refused, the session keeps polling", { skip: skipOnReference }, async () => {
  const { sid } = await handshake(one.port);
  const ws = await wsOpen(one.port, eioPath({ transport: "websocket", sid }), { headers: { Origin: EVIL } });
  try {
    assert.equal(ws.statusLine, "HTTP/1.1 400 Bad Request");
    assert.ok((await wsRefusalBody(ws)).closed, "the socket must be closed");
  } finally {
    ws.destroy();
  }
  assert.equal((await post(one.port, sid, "4x")).status, 200);
  assert.equal((await poll(one.port, sid)).text, "4x");
});

test("[C] one origin: WebSocket handshakes with the allowed Origin, the same origin as Host, or no Origin are accepted", { skip: skipOnReference }, async () => {
  for (const origin of [A, `http://127.0.0.1:${one.port}`, undefined]) {
    const ws = await wsConnect(one.port, eioPath({ transport: "websocket" }), { headers: withOrigin(origin) });
    try {
      const first = await ws.nextText();
      assert.ok(first.startsWith("0{"), `origin ${origin}: ${first}`);
    } finally {
      ws.destroy();
    }
  }
});
