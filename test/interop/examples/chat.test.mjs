// The chat example (examples/chat): rooms, notices, messages, typing hints, every refusal, and the page.
// Where a test shows that something does NOT reach a client, it sends a marker message afterwards through the
// same server path: the events of one connection arrive in order, so once the marker is in, anything sent
// before it would have been too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startExample, connectClient, recordEvents } from "../lib/example.mjs";

const MS = 8000;

const record = (socket) => recordEvents(socket, MS);

// One example per test, and clients that are all closed at the end.
async function setup(t) {
  const app = await startExample("chat");
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await app.stop();
  });
  const client = async (opts) => {
    const c = record(await connectClient(app.base, "/", opts));
    clients.push(c);
    return c;
  };
  return { app, client };
}

const join = (c, name, room) => c.timeout(MS).emitWithAck("join", { name, room });
const say = (c, text) => c.timeout(MS).emitWithAck("chat message", text);

// Sends a marker from `from` and waits until every client in `to` has it (see the top).
let markers = 0;
async function sync(from, to) {
  const text = `marker ${++markers}`;
  assert.deepEqual(await say(from, text), { ok: true });
  await Promise.all(to.map((c) => c.waitFor("chat message", (m) => m.text === text)));
}

test("join answers the users of the room, the joiner included, and tells the others", async (t) => {
  const { client } = await setup(t);
  const [a, b, c, other] = await Promise.all([client(), client(), client(), client()]);
  assert.deepEqual(await join(a, "Alice", "room1"), { ok: true, users: ["Alice"] });
  assert.deepEqual(await join(other, "Olga", "room2"), { ok: true, users: ["Olga"] });

  const bAck = await join(b, "  Bob\t", "room1"); // the name is trimmed
  assert.equal(bAck.ok, true);
  assert.deepEqual([...bAck.users].sort(), ["Alice", "Bob"]);
  assert.deepEqual(await a.waitFor("user joined"), { name: "Bob", count: 2 });

  const cAck = await join(c, "Carol", "room1");
  assert.deepEqual([...cAck.users].sort(), ["Alice", "Bob", "Carol"]);
  assert.deepEqual(await a.waitFor("user joined", (u) => u.name === "Carol"), { name: "Carol", count: 3 });
  assert.deepEqual(await b.waitFor("user joined", (u) => u.name === "Carol"), { name: "Carol", count: 3 });

  await sync(a, [a, b, c]);
  assert.deepEqual(c.events("user joined"), [], "the joiner hears no notice of itself");
  assert.deepEqual(b.events("user joined"), [{ name: "Carol", count: 3 }]);
  await sync(other, [other]);
  assert.deepEqual(other.events("user joined"), [], "another room hears nothing");
});

test("user left on disconnect and when switching rooms, with the count of those who stay", async (t) => {
  const { client } = await setup(t);
  const [a, b, c, d] = await Promise.all([client(), client(), client({ transports: ["polling"] }), client()]);
  await join(a, "Alice", "r1");
  await join(b, "Bob", "r1");
  await join(c, "Carol", "r1");
  await join(d, "Dan", "r2");

  b.close(); // disconnect
  assert.deepEqual(await a.waitFor("user left"), { name: "Bob", count: 2 });
  assert.deepEqual(await c.waitFor("user left"), { name: "Bob", count: 2 });

  // Carol switches to r2: r1 hears she left, r2 that she joined; her answer lists r2's people.
  const ack = await join(c, "Carol", "r2");
  assert.equal(ack.ok, true);
  assert.deepEqual([...ack.users].sort(), ["Carol", "Dan"]);
  assert.deepEqual(await a.waitFor("user left", (u) => u.name === "Carol"), { name: "Carol", count: 1 });
  assert.deepEqual(await d.waitFor("user joined"), { name: "Carol", count: 2 });

  // She is no longer in r1: Alice's messages do not reach her, Dan's do.
  await sync(a, [a]);
  await sync(d, [c, d]);
  assert.deepEqual(c.events("chat message").map((m) => m.text).filter((x) => x.startsWith("marker")).length, 1);
  assert.deepEqual(d.events("user left"), []);

  // A switch followed by a disconnect: r2 hears Carol left once, with the right count.
  c.close();
  assert.deepEqual(await d.waitFor("user left"), { name: "Carol", count: 1 });
});

test("joining the same room again is a rename (left + joined) or, with the same name, silent", async (t) => {
  const { client } = await setup(t);
  const [a, b] = await Promise.all([client(), client()]);
  await join(a, "Alice", "r");
  await join(b, "Bob", "r");
  await a.waitFor("user joined");

  const same = await join(b, "Bob", "r");
  assert.deepEqual([...same.users].sort(), ["Alice", "Bob"]);
  await sync(b, [a]);
  assert.deepEqual(a.events("user left"), []);
  assert.equal(a.events("user joined").length, 1);

  const renamed = await join(b, "Robert", "r");
  assert.deepEqual([...renamed.users].sort(), ["Alice", "Robert"]);
  assert.deepEqual(await a.waitFor("user left"), { name: "Bob", count: 1 });
  assert.deepEqual(await a.waitFor("user joined", (u) => u.name === "Robert"), { name: "Robert", count: 2 });
  await say(b, "hi");
  assert.equal((await a.waitFor("chat message", (m) => m.text === "hi")).name, "Robert");
});

test("a chat message goes to everyone in the room, the sender included, and to no other room", async (t) => {
  const { client } = await setup(t);
  const [a, b, c] = await Promise.all([client(), client(), client()]);
  await join(a, "Alice", "room-a");
  await join(b, "Bob", "room-a");
  await join(c, "Carol", "room-b");

  const before = Date.now();
  assert.deepEqual(await say(a, "hello <b>world</b> é ✓"), { ok: true });
  for (const x of [a, b]) {
    const m = await x.waitFor("chat message");
    assert.equal(m.name, "Alice");
    assert.equal(m.text, "hello <b>world</b> é ✓");
    assert.equal(typeof m.time, "number");
    assert.ok(m.time >= before - 2000 && m.time <= Date.now() + 2000, `time ${m.time} is now`);
    assert.deepEqual(Object.keys(m).sort(), ["name", "text", "time"]);
  }

  // Without an ack it is delivered too.
  b.emit("chat message", "no ack here");
  assert.equal((await a.waitFor("chat message", (m) => m.text === "no ack here")).name, "Bob");

  // Carol, in another room, gets only her own room's messages: her first one is her own marker.
  await sync(c, [c]);
  assert.deepEqual(c.events("chat message").map((m) => m.name), ["Carol"]);
  assert.ok(!a.events("chat message").some((m) => m.name === "Carol"));
});

test("typing and stop typing go to the others in the room only", async (t) => {
  const { client } = await setup(t);
  const [a, b, c] = await Promise.all([client(), client(), client()]);
  await join(a, "Alice", "t1");
  await join(b, "Bob", "t1");
  await join(c, "Carol", "t2");

  a.emit("typing");
  assert.deepEqual(await b.waitFor("typing"), { name: "Alice" });
  a.emit("stop typing");
  assert.deepEqual(await b.waitFor("stop typing"), { name: "Alice" });
  c.emit("typing");
  c.emit("typing", { junk: [1, 2] }); // arguments are ignored

  await sync(a, [a, b]);
  await sync(c, [c]);
  assert.deepEqual(a.events("typing"), [], "not to the sender");
  assert.deepEqual(a.events("stop typing"), []);
  assert.deepEqual(b.events("typing"), [{ name: "Alice" }], "not from another room");
  assert.deepEqual(c.events("typing"), []);

  // Before joining, typing is ignored (and the connection stays up).
  const d = await client();
  d.emit("typing");
  await join(d, "Dan", "t1");
  await sync(d, [a, b, d]);
  assert.deepEqual(b.events("typing"), [{ name: "Alice" }]);
});

test("joins are refused for bad names, bad room ids and wrong types", async (t) => {
  const { client } = await setup(t);
  const [a, b] = await Promise.all([client(), client()]);
  const refused = (res, re) => {
    assert.equal(res.ok, false, JSON.stringify(res));
    assert.equal(typeof res.error, "string");
    assert.match(res.error, re);
    assert.deepEqual(Object.keys(res).sort(), ["error", "ok"]);
  };
  refused(await join(a, "", "r"), /empty/);
  refused(await join(a, " \t ", "r"), /empty/);
  refused(await join(a, "x".repeat(33), "r"), /long/);
  refused(await join(a, " " + "é".repeat(33) + " ", "r"), /long/); // characters, not bytes
  refused(await join(a, "Alice", ""), /room/);
  refused(await join(a, "Alice", "a".repeat(65)), /room/);
  refused(await join(a, "Alice", "has space"), /room/);
  refused(await join(a, "Alice", "../etc"), /room/);
  refused(await join(a, "Alice", "café"), /room/);
  for (const bad of [undefined, null, "Alice", 42, [], ["Alice", "r"], { name: "Alice" }, { room: "r" },
    { name: 5, room: "r" }, { name: "Alice", room: 7 }, { name: null, room: "r" }]) {
    const res = bad === undefined ? await a.timeout(MS).emitWithAck("join") : await a.timeout(MS).emitWithAck("join", bad);
    refused(res, /expected/);
  }

  // The longest accepted: 32 characters (after trimming), a 64-character room id of every allowed kind.
  const room = ("AZaz09_-").repeat(8);
  assert.deepEqual(await join(b, "  " + "é".repeat(32) + "  ", room), { ok: true, users: ["é".repeat(32)] });
  assert.deepEqual(await join(a, "x".repeat(32), room), { ok: true, users: ["é".repeat(32), "x".repeat(32)] });

  // A refused join leaves the socket where it was.
  refused(await join(a, "", "elsewhere"), /empty/);
  await sync(a, [a, b]);
  assert.deepEqual(b.events("user left"), []);
});

test("chat messages are refused before join, over 2,000 characters, empty, or not a string", async (t) => {
  const { client } = await setup(t);
  const [a, b] = await Promise.all([client(), client()]);
  const refused = (res, re) => {
    assert.equal(res.ok, false, JSON.stringify(res));
    assert.match(res.error, re);
  };
  refused(await say(a, "too early"), /join/);
  await join(a, "Alice", "m");
  await join(b, "Bob", "m");

  refused(await say(a, "x".repeat(2001)), /long/);
  refused(await say(a, "é".repeat(2001)), /long/);
  refused(await say(a, ""), /empty/);
  refused(await say(a, "  \n "), /empty/);
  for (const bad of [42, null, true, { text: "hi" }, ["hi"]])
    refused(await say(a, bad), /string/);
  refused(await a.timeout(MS).emitWithAck("chat message"), /string/);
  a.emit("chat message", "x".repeat(5000)); // refused without an ack: silently

  assert.deepEqual(await say(a, "é".repeat(2000)), { ok: true }); // the longest accepted
  await b.waitFor("chat message", (m) => m.text.length === 2000);
  await sync(a, [a, b]);
  // Only the accepted message and the marker came through.
  const texts = b.events("chat message").map((m) => m.text).filter((x) => !x.startsWith("marker"));
  assert.deepEqual(texts, ["é".repeat(2000)]);
});

// A Socket.IO client by hand over HTTP long-polling, to put several packets in one POST: the server handles them
// in one go, before the answer of the first join's sio_fetch_sockets (a later loop iteration) comes.
async function rawPolling(base) {
  const url = (sid) => `${base}/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ""}`;
  const sid = JSON.parse((await (await fetch(url())).text()).slice(1)).sid;
  const post = async (body) => {
    const res = await fetch(url(sid), { method: "POST", body });
    assert.equal(res.status, 200);
    await res.text();
  };
  const packets = [];
  // Resolves with the Socket.IO packets received until `until` (a predicate on them all) holds.
  const receive = async (until) => {
    while (!until(packets)) packets.push(...(await (await fetch(url(sid))).text()).split("\x1e"));
    return packets;
  };
  await post("40");
  await receive((p) => p.some((x) => x.startsWith("40{")));
  return { sid, post, receive };
}

test("a join overtaken by another join or a disconnect is answered or dropped, never announced", async (t) => {
  const { app, client } = await setup(t);
  const watcher = await client();
  await join(watcher, "Wendy", "race");

  // Two joins in one payload: the first is superseded, the second answered; the room hears nothing.
  const a = await rawPolling(app.base);
  await a.post('420["join",{"name":"Ann","room":"race"}]\x1e421["join",{"name":"Ann","room":"other"}]');
  const got = await a.receive((p) => p.some((x) => x.startsWith("431")) && p.some((x) => x.startsWith("430")));
  assert.deepEqual(JSON.parse(got.find((x) => x.startsWith("430")).slice(3)),
    [{ ok: false, error: "superseded by a later join" }]);
  assert.deepEqual(JSON.parse(got.find((x) => x.startsWith("431")).slice(3)), [{ ok: true, users: ["Ann"] }]);

  // A join and a disconnect in one payload: no answer can go, and nobody hears of it.
  const z = await rawPolling(app.base);
  await z.post('420["join",{"name":"Zed","room":"race"}]\x1e41');
  await app.waitLine(/disconnected \(client namespace disconnect\), left room race/, MS);

  await sync(watcher, [watcher]);
  assert.deepEqual(watcher.events("user joined"), []);
  assert.deepEqual(watcher.events("user left"), []);
  const b = await client();
  const ack = await join(b, "Bea", "race");
  assert.deepEqual([...ack.users].sort(), ["Bea", "Wendy"], "Zed is not in the room");
});

test("SIGTERM with people in rooms and a join waiting for its answer shuts down cleanly", async (t) => {
  const { app, client } = await setup(t);
  const [b, c] = await Promise.all([client(), client()]);
  await join(b, "Bea", "r");
  await join(c, "Cal", "elsewhere");
  c.emit("join", { name: "Cal", room: "r" }); // its answer may still be pending at the signal
  await app.stop(); // under ASan a leak or a memory error makes the exit status non-zero
});

test("the page, a room's link and the client bundle are served", async (t) => {
  const { app } = await setup(t);
  for (const path of ["/", "/?room=abc"]) {
    const res = await fetch(app.base + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type"), /^text\/html/);
    const body = await res.text();
    assert.match(body, /<script src="\/socket\.io\/socket\.io\.min\.js"><\/script>/);
    assert.match(body, /id="join-form"/);
  }
  for (const [path, type] of [["/chat.js", /javascript/], ["/chat.css", /^text\/css/]]) {
    const res = await fetch(app.base + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get("content-type"), type);
    await res.arrayBuffer();
  }
  const bundle = await fetch(app.base + "/socket.io/socket.io.min.js");
  assert.equal(bundle.status, 200);
  assert.match(bundle.headers.get("content-type"), /javascript/);
  assert.ok((await bundle.text()).length > 10000);
  const missing = await fetch(app.base + "/nope.html");
  assert.equal(missing.status, 404);
  await missing.arrayBuffer();
});
