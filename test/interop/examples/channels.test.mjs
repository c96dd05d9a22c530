// The channels example (examples/channels): masters create channels, slaves join them, on /channels.
// Several real socket.io-client clients per test. "Nothing arrives" is shown by order rather than by sleeping:
// the server handles a connection's packets in order, so once a later packet ("fence") arrived, an earlier one
// that was meant for this client would have arrived before it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startExample, connectClient } from "../lib/example.mjs";

const WAIT = 10000;

// Connects to /channels with auth {role, channel, username} (over WebSocket unless opts say otherwise), recording every event (and the disconnect) from the
// start. Resolves with the peer once connected; rejects with the connect_error.
function join(app, role, channel, username, clients, opts = {}) {
  const socket = io(app.base + "/channels", {
    transports: ["websocket"], forceNew: true, reconnection: false, auth: { role, channel, username }, ...opts,
  });
  clients.push(socket);
  const peer = { socket, events: [], taken: {}, waiters: new Set() };
  const push = (e) => { peer.events.push(e); for (const w of [...peer.waiters]) w(); };
  socket.onAny((event, ...args) => push([event, ...args]));
  socket.on("disconnect", (reason) => push(["disconnect", reason]));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(peer));
    socket.once("connect_error", (err) => { socket.close(); reject(err); });
  });
}

// The arguments of the next event `name` the peer received that no earlier take() returned; waits up to ms.
function take(peer, name, ms = WAIT) {
  const pick = () => {
    const n = peer.taken[name] || 0;
    const found = peer.events.filter((e) => e[0] === name)[n];
    if (found) peer.taken[name] = n + 1;
    return found && found.slice(1);
  };
  const now = pick();
  if (now) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const w = () => { const got = pick(); if (got) { done(); resolve(got); } };
    const t = setTimeout(() => { done(); reject(new Error(`no "${name}" within ${ms} ms; got ${JSON.stringify(peer.events)}`)); }, ms);
    const done = () => { clearTimeout(t); peer.waiters.delete(w); };
    peer.waiters.add(w);
  });
}

// The connect_error message for this auth (the connection must be refused).
async function refusal(app, auth, clients) {
  const err = await connectClient(app.base, "/channels", { auth }).then(
    (s) => { clients.push(s); return null; },
    (e) => e,
  );
  assert.ok(err, `connected with ${JSON.stringify(auth)}, expected a refusal`);
  return err.message;
}

async function setup(t, args = []) {
  const app = await startExample("channels", { args });
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await app.stop();
  });
  return { app, clients };
}

const names = (peer) => peer.events.map((e) => e[0]);

test("a master creates a channel, slaves join it, the master sees the list of its slaves", async (t) => {
  const { app, clients } = await setup(t);
  const m = await join(app, "master", "ops", "boss", clients);
  assert.deepEqual(await take(m, "slaves"), [{ slaves: [] }]);
  await app.waitLine(/^master boss created ops$/);
  const a = await join(app, "slave", "ops", "ann", clients);
  assert.deepEqual(await take(m, "slaves"), [{ slaves: ["ann"] }]);
  const b = await join(app, "slave", "ops", "bob", clients);
  assert.deepEqual(await take(m, "slaves"), [{ slaves: ["ann", "bob"] }]);
  assert.deepEqual(await a.socket.timeout(WAIT).emitWithAck("master_status"), { online: true });
  assert.deepEqual(await m.socket.timeout(WAIT).emitWithAck("master_status"), { online: true });
  // A slave of the same name in another channel is someone else.
  const m2 = await join(app, "master", "dev", "boss2", clients);
  await join(app, "slave", "dev", "ann", clients);
  assert.deepEqual(await take(m2, "slaves"), [{ slaves: [] }]);
  assert.deepEqual(await take(m2, "slaves"), [{ slaves: ["ann"] }]);
  a.socket.close();
  assert.deepEqual(await take(m, "slaves"), [{ slaves: ["bob"] }]);
  await app.waitLine(/^slave ann left ops \(client namespace disconnect\)$/);
  assert.deepEqual(names(b), []);
});

test("refusals: bad auth, no channel, second master, duplicate slave name", async (t) => {
  const { app, clients } = await setup(t);
  const role = 'auth.role must be "master" or "slave"';
  const chan = "auth.channel must be a string of 1 to 64 characters";
  const user = "auth.username must be a string of 1 to 64 characters";
  const long = "x".repeat(65);
  const cases = [
    [undefined, role],
    [{}, role],
    [{ role: "boss", channel: "c", username: "u" }, role],
    [{ role: 1, channel: "c", username: "u" }, role],
    [{ role: "master", username: "u" }, chan],
    [{ role: "master", channel: "", username: "u" }, chan],
    [{ role: "master", channel: long, username: "u" }, chan],
    [{ role: "master", channel: ["c"], username: "u" }, chan],
    [{ role: "master", channel: "c" }, user],
    [{ role: "master", channel: "c", username: "" }, user],
    [{ role: "slave", channel: "c", username: long }, user],
    [{ role: "slave", channel: "c", username: { name: "u" } }, user],
    [{ role: "slave", channel: "nowhere", username: "u" }, "no such channel"],
  ];
  for (const [auth, message] of cases)
    assert.equal(await refusal(app, auth, clients), message, JSON.stringify(auth));

  // 64 characters (not bytes) is the limit: 64 two-byte characters are accepted.
  const wide = "é".repeat(64);
  const m = await join(app, "master", wide, wide, clients);
  await join(app, "slave", wide, "ann", clients);
  assert.equal(await refusal(app, { role: "master", channel: wide, username: wide }, clients),
    "channel already has a master");
  assert.equal(await refusal(app, { role: "master", channel: wide, username: "other" }, clients),
    "channel already has a master");
  assert.equal(await refusal(app, { role: "slave", channel: wide, username: "ann" }, clients), "username taken");
  // The refused clients changed nothing: the master still has its one slave.
  assert.deepEqual(await take(m, "slaves"), [{ slaves: [] }]);
  assert.deepEqual(await take(m, "slaves"), [{ slaves: ["ann"] }]);
  assert.deepEqual(await m.socket.timeout(WAIT).emitWithAck("master_status"), { online: true });
  assert.deepEqual(names(m), ["slaves", "slaves"]);
  await app.waitLine(/^refused \S+: username taken$/);
});

test("a slave's message reaches its master only; the master's reaches one slave; broadcast reaches every slave", async (t) => {
  const { app, clients } = await setup(t);
  const m = await join(app, "master", "ops", "boss", clients);
  const a = await join(app, "slave", "ops", "ann", clients);
  const b = await join(app, "slave", "ops", "bob", clients, { transports: ["polling"] }); // as the page starts
  const other = await join(app, "master", "dev", "eve", clients); // another channel hears nothing
  const c = await join(app, "slave", "dev", "cid", clients);

  assert.deepEqual(await a.socket.timeout(WAIT).emitWithAck("message", "hi boss"), { ok: true });
  assert.deepEqual(await take(m, "message"), [{ from: "ann", text: "hi boss" }]);
  b.socket.emit("message", "no ack asked");
  assert.deepEqual(await take(m, "message"), [{ from: "bob", text: "no ack asked" }]);

  assert.deepEqual(await m.socket.timeout(WAIT).emitWithAck("message", { to: "bob", text: "for bob" }), { ok: true });
  assert.deepEqual(await take(b, "message"), [{ from: "boss", text: "for bob" }]);
  assert.deepEqual(await m.socket.timeout(WAIT).emitWithAck("message", { to: "cid", text: "x" }),
    { ok: false, error: "no such slave" }); // cid is a slave of another channel
  assert.deepEqual(await m.socket.timeout(WAIT).emitWithAck("message", { to: "nobody", text: "x" }),
    { ok: false, error: "no such slave" });

  assert.deepEqual(await m.socket.timeout(WAIT).emitWithAck("broadcast", "to all"), { ok: true });
  assert.deepEqual(await take(a, "broadcast"), [{ from: "boss", text: "to all" }]);
  assert.deepEqual(await take(b, "broadcast"), [{ from: "boss", text: "to all" }]);

  // Fences: the other channel's master broadcasts to its slave; this channel's master asks for an ack.
  assert.deepEqual(await other.socket.timeout(WAIT).emitWithAck("broadcast", "fence"), { ok: true });
  assert.deepEqual(await take(c, "broadcast"), [{ from: "eve", text: "fence" }]);
  assert.deepEqual(await m.socket.timeout(WAIT).emitWithAck("master_status"), { online: true });

  assert.deepEqual(a.events, [["broadcast", { from: "boss", text: "to all" }]]);
  assert.deepEqual(b.events, [["message", { from: "boss", text: "for bob" }], ["broadcast", { from: "boss", text: "to all" }]]);
  assert.deepEqual(names(m), ["slaves", "slaves", "slaves", "message", "message"]);
  assert.deepEqual(names(other), ["slaves", "slaves"]);
  assert.deepEqual(c.events, [["broadcast", { from: "eve", text: "fence" }]]);
});

test("wrong or oversized arguments get an error ack (or are ignored) and deliver nothing", async (t) => {
  const { app, clients } = await setup(t);
  const m = await join(app, "master", "ops", "boss", clients);
  const a = await join(app, "slave", "ops", "ann", clients);
  const ack = (p, ...args) => p.socket.timeout(WAIT).emitWithAck(...args);
  const textError = { ok: false, error: "text must be a string of 1 to 2000 characters" };
  const toError = { ok: false, error: "expected {to, text}, text a string of 1 to 2000 characters" };

  assert.deepEqual(await ack(a, "message"), textError);
  assert.deepEqual(await ack(a, "message", 42), textError);
  assert.deepEqual(await ack(a, "message", ""), textError);
  assert.deepEqual(await ack(a, "message", { text: "hi" }), textError);
  assert.deepEqual(await ack(a, "message", "y".repeat(2001)), textError);
  assert.deepEqual(await ack(a, "broadcast", "hi"), { ok: false, error: "only the master may broadcast" });
  a.socket.emit("message", null); // no ack: ignored
  a.socket.emit("broadcast", "x");
  assert.deepEqual(await ack(a, "message", "y".repeat(2000)), { ok: true });
  assert.deepEqual(await take(m, "message"), [{ from: "ann", text: "y".repeat(2000) }]);

  assert.deepEqual(await ack(m, "message", "just text"), toError);
  assert.deepEqual(await ack(m, "message", { to: 5, text: "x" }), toError);
  assert.deepEqual(await ack(m, "message", { to: "ann" }), toError);
  assert.deepEqual(await ack(m, "message", { to: "ann", text: ["x"] }), toError);
  assert.deepEqual(await ack(m, "message", { to: "ann", text: "z".repeat(2001) }), toError);
  assert.deepEqual(await ack(m, "broadcast"), textError);
  assert.deepEqual(await ack(m, "broadcast", { text: "x" }), textError);
  assert.deepEqual(await ack(m, "broadcast", "z".repeat(2001)), textError);
  m.socket.emit("message", 7);
  m.socket.emit("master_status"); // no ack: nothing to answer
  m.socket.emit("unknown event", 1);
  assert.deepEqual(await ack(m, "message", { to: "ann", text: "fence" }), { ok: true });
  assert.deepEqual(await take(a, "message"), [{ from: "boss", text: "fence" }]);
  assert.deepEqual(a.events, [["message", { from: "boss", text: "fence" }]]);
  assert.deepEqual(names(m), ["slaves", "slaves", "message"]);
});

test("master away and back under the same name: its slaves stay and hear master_status", async (t) => {
  const { app, clients } = await setup(t, ["--master-timeout-ms", "30000"]);
  const m = await join(app, "master", "ops", "boss", clients);
  const a = await join(app, "slave", "ops", "ann", clients);
  const b = await join(app, "slave", "ops", "bob", clients);
  assert.deepEqual(await take(m, "slaves"), [{ slaves: [] }]);

  m.socket.close();
  assert.deepEqual(await take(a, "master_status"), [{ online: false }]);
  assert.deepEqual(await take(b, "master_status"), [{ online: false }]);
  await app.waitLine(/^master boss of ops away \(client namespace disconnect\): channel kept 30000 ms$/);
  assert.deepEqual(await a.socket.timeout(WAIT).emitWithAck("master_status"), { online: false });
  assert.deepEqual(await a.socket.timeout(WAIT).emitWithAck("message", "anyone?"),
    { ok: false, error: "master not connected" });
  assert.equal(await refusal(app, { role: "slave", channel: "ops", username: "cid" }, clients), "master not connected");
  assert.equal(await refusal(app, { role: "master", channel: "ops", username: "mallory" }, clients),
    "channel is kept for its master, who is away");

  const m2 = await join(app, "master", "ops", "boss", clients);
  assert.deepEqual(await take(m2, "slaves"), [{ slaves: ["ann", "bob"] }]);
  assert.deepEqual(await take(a, "master_status"), [{ online: true }]);
  assert.deepEqual(await take(b, "master_status"), [{ online: true }]);
  await app.waitLine(/^master boss back in ops$/);
  assert.deepEqual(await b.socket.timeout(WAIT).emitWithAck("master_status"), { online: true });
  assert.deepEqual(await b.socket.timeout(WAIT).emitWithAck("message", "welcome back"), { ok: true });
  assert.deepEqual(await take(m2, "message"), [{ from: "bob", text: "welcome back" }]);
  assert.deepEqual(await m2.socket.timeout(WAIT).emitWithAck("message", { to: "ann", text: "hello again" }), { ok: true });
  assert.deepEqual(await take(a, "message"), [{ from: "boss", text: "hello again" }]);
  assert.deepEqual(names(a), ["master_status", "master_status", "message"]);
  // A slave may join again now.
  await join(app, "slave", "ops", "cid", clients);
  assert.deepEqual(await take(m2, "slaves"), [{ slaves: ["ann", "bob", "cid"] }]);
});

test("master gone past --master-timeout-ms: slaves get master_gone, are disconnected, the channel is free again", async (t) => {
  const { app, clients } = await setup(t, ["--master-timeout-ms", "300"]);
  const m = await join(app, "master", "ops", "boss", clients);
  const a = await join(app, "slave", "ops", "ann", clients);
  const b = await join(app, "slave", "ops", "bob", clients);
  await take(m, "slaves");
  await take(m, "slaves");
  await take(m, "slaves");

  const left = Date.now();
  m.socket.close();
  for (const s of [a, b]) {
    assert.deepEqual(await take(s, "disconnect"), ["io server disconnect"]);
    assert.deepEqual(s.events, [
      ["master_status", { online: false }],
      ["master_gone", { channel: "ops" }],
      ["disconnect", "io server disconnect"],
    ]);
  }
  assert.ok(Date.now() - left >= 250, `the slaves were dropped after ${Date.now() - left} ms`);
  await app.waitLine(/^master boss of ops gone: channel deleted, 2 slave\(s\) disconnected$/);

  // The channel no longer exists: a slave is refused, anyone may create it.
  assert.equal(await refusal(app, { role: "slave", channel: "ops", username: "ann" }, clients), "no such channel");
  const m2 = await join(app, "master", "ops", "newboss", clients);
  const a2 = await join(app, "slave", "ops", "ann", clients);
  assert.deepEqual(await take(m2, "slaves"), [{ slaves: [] }]);
  assert.deepEqual(await take(m2, "slaves"), [{ slaves: ["ann"] }]);
  assert.deepEqual(await a2.socket.timeout(WAIT).emitWithAck("message", "hi"), { ok: true });
  assert.deepEqual(await take(m2, "message"), [{ from: "ann", text: "hi" }]);
});

test("--max-channels and --max-slaves cap what clients can make the server keep", async (t) => {
  const { app, clients } = await setup(t, ["--max-channels", "1", "--max-slaves", "2", "--master-timeout-ms", "200"]);
  const m = await join(app, "master", "ops", "boss", clients);
  assert.equal(await refusal(app, { role: "master", channel: "dev", username: "eve" }, clients), "too many channels");
  await join(app, "slave", "ops", "ann", clients);
  const b = await join(app, "slave", "ops", "bob", clients);
  assert.equal(await refusal(app, { role: "slave", channel: "ops", username: "cid" }, clients), "channel full");
  b.socket.close();
  await app.waitLine(/^slave bob left ops/);
  await join(app, "slave", "ops", "cid", clients);
  // An away master's channel still counts until it is deleted.
  m.socket.close();
  await app.waitLine(/^master boss of ops away/);
  assert.equal(await refusal(app, { role: "master", channel: "dev", username: "eve" }, clients), "too many channels");
  await app.waitLine(/^master boss of ops gone/);
  await join(app, "master", "dev", "eve", clients);
});

test("the page and the client bundle are served", async (t) => {
  const { app } = await setup(t);
  const page = await fetch(app.base + "/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /^text\/html/);
  const html = await page.text();
  assert.match(html, /<script src="\/socket.io\/socket.io.min.js"><\/script>/);
  assert.match(html, /io\("\/channels"/);
  assert.doesNotMatch(html, /innerHTML/);
  const bundle = await fetch(app.base + "/socket.io/socket.io.min.js");
  assert.equal(bundle.status, 200);
  assert.match(await bundle.text(), /io/);
  assert.equal((await fetch(app.base + "/nope.html")).status, 404);
});

test("shutdown with live channels and an away master frees everything (exit status 0)", async (t) => {
  const app = await startExample("channels", { args: ["--master-timeout-ms", "60000"] });
  const clients = [];
  t.after(() => { for (const c of clients) c.close(); });
  const m = await join(app, "master", "ops", "boss", clients);
  const a = await join(app, "slave", "ops", "ann", clients);
  await join(app, "master", "dev", "eve", clients).then((p) => p.socket.close());
  await app.waitLine(/^master eve of dev away/);
  await join(app, "master", "idle", "ida", clients);
  await take(m, "slaves");
  await app.stop(); // throws unless the exit status is 0 (ASan: no leak, no error)
  const [reason] = await take(a, "disconnect");
  assert.ok(["transport close", "io server disconnect"].includes(reason), reason);
  assert.ok(app.lines.includes("channels: shutting down"));
});
