// The jwt example (examples/jwt): HS256 tokens in the CONNECT auth payload, or by the socketio-jwt
// "authenticate" event for a connection that brought none. Tokens are made here with node:crypto.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { io } from "socket.io-client";
import { startExample, connectClient, nextEvent, exampleBinary } from "../lib/example.mjs";

const SECRET = "correct horse battery staple";
const now = () => Math.floor(Date.now() / 1000);
const b64url = (s) => Buffer.from(s).toString("base64url");

// A compact JWS: header and payload are objects (JSON-encoded here) or raw strings (used as they are).
function sign(payload, { secret = SECRET, header = { alg: "HS256", typ: "JWT" }, hash = "sha256" } = {}) {
  const enc = (v) => b64url(typeof v === "string" ? v : JSON.stringify(v));
  return signRaw(`${enc(header)}.${enc(payload)}`, secret, hash);
}
// Signs "header.payload" given already encoded (to sign malformed encodings).
const signRaw = (input, secret = SECRET, hash = "sha256") =>
  `${input}.${createHmac(hash, secret).update(input).digest("base64url")}`;

// Starts the example; everything is closed and stopped after the test. Returns { ex, track(socket) }.
async function setup(t, args = ["--secret", SECRET], env = {}) {
  const ex = await startExample("jwt", { args, env });
  const sockets = [];
  t.after(async () => {
    for (const s of sockets) s.close();
    await ex.stop();
  });
  const track = (s) => (sockets.push(s), s);
  return { ex, track };
}

// A client socket that is not yet connected (listeners can be attached first).
const client = (ex, opts = {}) =>
  io(ex.base, { transports: ["websocket"], forceNew: true, reconnection: false, ...opts });

// The connect_error a token in auth gets (rejects if the client connects instead).
function refusal(ex, track, token) {
  const s = track(client(ex, { auth: { token } }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no connect_error within 8 s")), 8000);
    s.once("connect_error", (err) => { clearTimeout(timer); s.close(); resolve(err); });
    s.once("connect", () => { clearTimeout(timer); reject(new Error("connected with a bad token")); });
  });
}

const whoami = (s) => s.timeout(5000).emitWithAck("whoami");

test("a valid token in auth connects; whoami answers each client its own claims", async (t) => {
  const { ex, track } = await setup(t);
  const ca = { sub: "alice", role: "admin", iat: now(), exp: now() + 3600, nbf: now() - 10 };
  const cb = { sub: "bob", n: 1.5, tags: ["x", "y"] };
  const a = track(await connectClient(ex.base, "/", { auth: { token: sign(ca) } }));
  const b = track(await connectClient(ex.base, "/", { auth: { token: sign(cb), other: "ignored" } }));
  // Over polling too.
  const c = track(await connectClient(ex.base, "/", { auth: { token: sign({ sub: "carol" }) }, transports: ["polling"] }));
  assert.deepEqual(await whoami(a), ca);
  assert.deepEqual(await whoami(b), cb);
  assert.deepEqual(await whoami(c), { sub: "carol" });
  await ex.waitLine(/connected from .* as alice \(token in auth\)/);
  // Already authenticated: a later "authenticate" changes nothing (no answer, same identity, still connected).
  let answered = false;
  a.on("authenticated", () => (answered = true));
  a.on("unauthorized", () => (answered = true));
  a.emit("authenticate", { token: sign({ sub: "mallory" }) });
  await ex.waitLine(/authenticate ignored: already authenticated/);
  assert.deepEqual(await whoami(a), ca);
  assert.equal(answered, false);
  assert.ok(a.connected);
});

test("bad tokens in auth get CONNECT_ERROR \"invalid token\" with the reason", async (t) => {
  const { ex, track } = await setup(t);
  const good = sign({ sub: "alice" });
  const [h, p] = good.split(".");
  const noneHeader = b64url(JSON.stringify({ alg: "none", typ: "JWT" }));
  const big = sign({ sub: "alice", pad: "x".repeat(9000) });
  const cases = [
    ["wrong signature", sign({ sub: "alice" }, { secret: "not the secret" }), "invalid signature"],
    ["tampered payload", `${h}.${b64url(JSON.stringify({ sub: "admin" }))}.${good.split(".")[2]}`, "invalid signature"],
    ["truncated signature", good.slice(0, -4), "invalid signature"],
    ["empty signature", `${h}.${p}.`, "invalid signature"],
    ["expired", sign({ sub: "alice", exp: now() - 5 }), "jwt expired"],
    ["exp not a number", sign({ sub: "alice", exp: String(now() + 3600) }), "jwt expired"],
    ["nbf in the future", sign({ sub: "alice", nbf: now() + 3600 }), "jwt not active"],
    ["nbf not a number", sign({ sub: "alice", nbf: null }), "jwt not active"],
    ["alg none, empty signature", `${noneHeader}.${p}.`, "invalid algorithm"],
    ["alg none, some signature", `${noneHeader}.${p}.${good.split(".")[2]}`, "invalid algorithm"],
    ["alg none signed with the secret", sign({ sub: "alice" }, { header: { alg: "none" } }), "invalid algorithm"],
    ["alg HS512 signed with the secret", sign({ sub: "alice" }, { header: { alg: "HS512" }, hash: "sha512" }), "invalid algorithm"],
    ["alg RS256", sign({ sub: "alice" }, { header: { alg: "RS256" } }), "invalid algorithm"],
    ["alg hs256 (case)", sign({ sub: "alice" }, { header: { alg: "hs256" } }), "invalid algorithm"],
    ["no alg", sign({ sub: "alice" }, { header: { typ: "JWT" } }), "invalid algorithm"],
    ["two parts", `${h}.${p}`, "jwt malformed"],
    ["one part", h, "jwt malformed"],
    ["four parts", `${good}.${good.split(".")[2]}`, "jwt malformed"],
    // Signed correctly, so that the payload's decoding is what fails (the signature is checked before it).
    ["bad base64 character in the payload", signRaw(`${h}.${p.slice(0, -1)}*`), "jwt malformed"],
    ["payload base64 length 4n+1", signRaw(`${h}.${p}${"A".repeat((5 - (p.length % 4)) % 4)}`), "jwt malformed"],
    ["non-canonical base64 (unused bits set)", signRaw(`${h}.${b64url("{\"s\":1}").slice(0, -1)}B`), "jwt malformed"],
    ["bad base64 character in the header", `${h.slice(0, -1)}!.${p}.${good.split(".")[2]}`, "jwt malformed"],
    ["padding", sign({ sub: "alice" }, { header: "{\"alg\":\"HS256\",\"x\":12}" }).replace(".", "==."), "jwt malformed"],
    ["base64 length 4n+1", `${h}A.${p}.${good.split(".")[2]}`, "jwt malformed"],
    ["standard base64 (+ /)", `${Buffer.from(JSON.stringify({ alg: "HS256", k: "\u00fb\u00ff" })).toString("base64").replace(/=+$/, "")}.${p}.x`, "jwt malformed"],
    ["non-JSON header", sign({ sub: "alice" }, { header: "not json" }), "jwt malformed"],
    ["header not an object", sign({ sub: "alice" }, { header: "[\"HS256\"]" }), "jwt malformed"],
    ["payload not JSON", sign("{sub: alice}"), "jwt malformed"],
    ["payload not an object", sign("42"), "jwt malformed"],
    ["trailing bytes after the payload", sign("{\"sub\":\"a\"} x"), "jwt malformed"],
    ["empty string", "", "jwt malformed"],
    ["token not a string", 42, "jwt malformed"],
    ["token null", null, "jwt malformed"],
    ["longer than 8 KiB", big, "jwt too long"],
  ];
  const errs = await Promise.all(cases.map(([, token]) => refusal(ex, track, token)));
  cases.forEach(([what, , reason], i) => {
    assert.equal(errs[i].message, "invalid token", what);
    assert.deepEqual(errs[i].data, { reason }, what);
  });
  await ex.waitLine(/refused from .*: jwt expired/);
  // The well-formed cases differ from the refused ones only where intended: these connect.
  const ok = [good, sign({ sub: "alice", exp: now() + 60, nbf: now() }), sign({ sub: "a", exp: now() + 0.5 + 60 })];
  for (const token of ok) track(await connectClient(ex.base, "/", { auth: { token } }));
});

test("the classic flow: no token, then authenticate {token} gets authenticated, and whoami works", async (t) => {
  const { ex, track } = await setup(t);
  // No auth at all, over websocket; auth without a "token" key, over polling.
  const a = track(await connectClient(ex.base));
  const b = track(await connectClient(ex.base, "/", { auth: { user: "bob" }, transports: ["polling"] }));
  await ex.waitLine(/without a token: authenticate within 5000 ms/);
  for (const [s, sub] of [[a, "alice"], [b, "bob"]]) {
    const got = nextEvent(s, "authenticated");
    s.emit("authenticate", { token: sign({ sub, exp: now() + 60 }) });
    assert.deepEqual(await got, [], "authenticated has no arguments");
  }
  const claimsA = await whoami(a);
  assert.equal(claimsA.sub, "alice");
  assert.equal(typeof claimsA.exp, "number");
  assert.equal((await whoami(b)).sub, "bob");
  await ex.waitLine(/authenticated by "authenticate" as bob/);
  // One still waiting for its authenticate when the server stops: its deadline is freed (stop() checks the exit).
  track(await connectClient(ex.base));
});

test("a bad token in authenticate: unauthorized {message, code, type}, then io server disconnect", async (t) => {
  const { ex, track } = await setup(t);
  const attempts = [
    [{ token: sign({ sub: "x" }, { secret: "wrong" }) }, "invalid signature", {}],
    [{ token: sign({ sub: "x", exp: now() - 1 }) }, "jwt expired", { transports: ["polling"] }],
    [{ token: sign({ sub: "x" }, { header: { alg: "none" } }) }, "invalid algorithm", {}],
    [{ token: 7 }, "jwt malformed", {}],
    [{}, "jwt malformed", {}],
    ["just a string", "jwt malformed", {}],
    [undefined, "jwt malformed", {}],
  ];
  await Promise.all(attempts.map(async ([arg, message, opts]) => {
    const s = track(await connectClient(ex.base, "/", opts));
    const order = [];
    const unauthorized = nextEvent(s, "unauthorized").then((args) => (order.push("unauthorized"), args));
    const disconnected = nextEvent(s, "disconnect").then((args) => (order.push("disconnect"), args));
    if (arg === undefined) s.emit("authenticate");
    else s.emit("authenticate", arg);
    assert.deepEqual(await unauthorized, [{ message, code: "invalid_token", type: "UnauthorizedError" }]);
    assert.equal((await disconnected)[0], "io server disconnect");
    assert.deepEqual(order, ["unauthorized", "disconnect"]);
  }));
  await ex.waitLine(/unauthorized: invalid algorithm/);
});

test("without authenticate within --auth-timeout-ms the socket is disconnected; in time it stays", async (t) => {
  const { ex, track } = await setup(t, ["--secret", SECRET, "--auth-timeout-ms", "300"]);
  const started = Date.now(); // before the server can start the first deadline
  const late = track(await connectClient(ex.base));
  const lateGone = nextEvent(late, "disconnect", 8000).then(([reason]) => [reason, Date.now() - started]);
  const silent = track(await connectClient(ex.base, "/", { transports: ["polling"] }));
  const silentGone = nextEvent(silent, "disconnect", 8000);
  const punctual = track(await connectClient(ex.base));
  const got = nextEvent(punctual, "authenticated");
  punctual.emit("authenticate", { token: sign({ sub: "p" }) });
  await got;
  const [reason, after] = await lateGone;
  assert.equal(reason, "io server disconnect");
  assert.ok(after >= 290, `disconnected ${after} ms after connecting, before the 300 ms deadline`);
  assert.equal((await silentGone)[0], "io server disconnect");
  await ex.waitLine(/no authenticate in time, disconnecting/);
  // The authenticated one outlives the deadline by far.
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(punctual.connected);
  assert.deepEqual(await whoami(punctual), { sub: "p" });
});

test("--auth-timeout-ms 0: no deadline", async (t) => {
  const { ex, track } = await setup(t, ["--secret", SECRET, "--auth-timeout-ms", "0"]);
  const s = track(await connectClient(ex.base));
  await ex.waitLine(/without a token: waiting for authenticate/);
  await new Promise((r) => setTimeout(r, 800));
  assert.ok(s.connected);
  const got = nextEvent(s, "authenticated");
  s.emit("authenticate", { token: sign({ sub: "z" }) });
  await got;
  assert.deepEqual(await whoami(s), { sub: "z" });
});

test("before authentication events are dropped and whoami answers {error: \"unauthorized\"}", async (t) => {
  const { ex, track } = await setup(t);
  const s = track(await connectClient(ex.base));
  assert.deepEqual(await whoami(s), { error: "unauthorized" });
  s.emit("something", { x: 1 });
  await ex.waitLine(/dropped "something": not authenticated/);
  s.emit("two\nlines", 1); // logged on one line
  await ex.waitLine(/dropped "two\?lines": not authenticated/);
  const got = nextEvent(s, "authenticated");
  s.emit("authenticate", { token: sign({ sub: "late" }) });
  await got;
  assert.deepEqual(await whoami(s), { sub: "late" });
  // After authentication nothing is dropped by the gate (an unknown event is simply unhandled).
  s.emit("something", 1);
  assert.deepEqual(await whoami(s), { sub: "late" });
  assert.equal(ex.lines.filter((l) => /dropped "something"/.test(l)).length, 1);
});

test("JWT_SECRET works as --secret, and --secret wins over it", async (t) => {
  const env = { JWT_SECRET: "from-the-environment" };
  const { ex, track } = await setup(t, [], env);
  const s = track(await connectClient(ex.base, "/", { auth: { token: sign({ sub: "e" }, { secret: env.JWT_SECRET }) } }));
  assert.deepEqual(await whoami(s), { sub: "e" });
  assert.equal((await refusal(ex, track, sign({ sub: "e" }))).data.reason, "invalid signature");

  const { ex: ex2, track: track2 } = await setup(t, ["--secret", SECRET], env);
  track2(await connectClient(ex2.base, "/", { auth: { token: sign({ sub: "f" }) } }));
  const err = await refusal(ex2, track2, sign({ sub: "f" }, { secret: env.JWT_SECRET }));
  assert.equal(err.data.reason, "invalid signature");
});

test("the page and the client bundle are served", async (t) => {
  const { ex } = await setup(t);
  const page = await fetch(ex.base + "/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script src="\/socket.io\/socket.io.min.js"><\/script>/);
  const bundle = await fetch(ex.base + "/socket.io/socket.io.min.js");
  assert.equal(bundle.status, 200);
  await bundle.arrayBuffer();
});

test("the program refuses to start without a secret (message on stderr, non-zero exit)", async () => {
  for (const args of [["--port", "0"], ["--port", "0", "--secret", ""]]) {
    const env = { ...process.env };
    delete env.JWT_SECRET;
    const proc = spawn(exampleBinary("jwt"), args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (err += d));
    const code = await new Promise((res) => proc.on("exit", res));
    assert.notEqual(code, 0);
    assert.match(err, /secret/);
    assert.doesNotMatch(out, /listening/);
  }
});
