// The chat example (examples/chat) in cluster mode: two chat servers on one real redis-server through the Redis
// adapter (`--redis URL`, or SIO_REDIS_URL). The users lists and counts span both servers, messages, notices and
// typing hints cross; with Redis down each server goes on with its own users, and it joins the cluster again by
// itself once Redis is back, or once Redis first appears when it started without it.
// Notices are matched by name: a "user joined" published by one server just before a client joins on the other may
// reach that client too (it was in flight when the client entered the room), as with any pub/sub cluster.
// Where a test shows that something does NOT reach a client, it sends a marker message afterwards along the same
// path (the same server, so the same publisher connection and, on the other server, the same subscriber one): once
// the marker is in, anything sent before it would have been too.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { startExample, connectClient, recordEvents } from "../interop/lib/example.mjs";
import { startRedis, waitSubscribed, until } from "./lib/cluster.mjs";

const MS = 8000;
// How long a join may take while Redis is down: its fetchSockets must answer with the server's own sockets at once,
// not after the adapter's requests timeout (5 s in the example).
const DOWN_JOIN_MS = 3000;

const record = (socket) => recordEvents(socket, MS);

// What one test starts, all stopped at its end: clients closed, then the chat servers (each must exit with status
// 0: under ASan a leak fails it), then Redis.
function setup(t) {
  const clients = [], servers = [], redises = [];
  t.after(async () => {
    for (const c of clients) c.close();
    const results = await Promise.allSettled(servers.map((s) => s.stop()));
    await Promise.allSettled(redises.map((r) => r.stop()));
    for (const r of results) if (r.status === "rejected") throw r.reason;
  });
  return {
    async redis(opts) {
      const r = await startRedis(opts);
      redises.push(r);
      return r;
    },
    async server(options) {
      const s = await startExample("chat", options);
      servers.push(s);
      return s;
    },
    async client(server) {
      const c = record(await connectClient(server.base));
      clients.push(c);
      return c;
    },
  };
}

const join = (c, name, room) => c.timeout(MS).emitWithAck("join", { name, room });
const say = (c, text) => c.timeout(MS).emitWithAck("chat message", text);
const sorted = (a) => [...a].sort();
const clusterArgs = (url) => ({ args: ["--redis", url] });
const subscribed = (redis, n) => waitSubscribed(redis, n, { nsps: ["/"], ms: 15000 });

// A join that answers ok; returns its users, sorted.
async function joined(c, name, room) {
  const ack = await join(c, name, room);
  assert.equal(ack.ok, true, `join ${name} ${room}: ${JSON.stringify(ack)}`);
  return sorted(ack.users);
}

// Sends a marker from `from` and waits until every client in `to` has it (see the top).
let markers = 0;
async function sync(from, to) {
  const text = `marker ${++markers}`;
  assert.deepEqual(await say(from, text), { ok: true });
  await Promise.all(to.map((c) => c.waitFor("chat message", (m) => m.text === text)));
}

// Sends "<prefix> <n>" from `from` every 300 ms until `to` receives one of them (up to 15 s: the servers reconnect
// to Redis with a backoff up to 5 s); resolves with the message received.
async function crossing(from, to, prefix) {
  let n = 0;
  const re = new RegExp(`^${prefix} \\d+$`);
  return until(async () => {
    assert.deepEqual(await say(from, `${prefix} ${n++}`), { ok: true });
    return to.events("chat message").find((m) => re.test(m.text));
  }, { ms: 15000, every: 300, what: `"${prefix}" from one chat server to the other` });
}

// A port of 127.0.0.1 where nothing listens (for now).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

test("two chat servers on one Redis: users, notices, messages and typing span both, rooms stay apart", async (t) => {
  const { redis: newRedis, server, client } = setup(t);
  const redis = await newRedis();
  const [A, B] = await Promise.all([server(clusterArgs(redis.url)), server(clusterArgs(redis.url))]);
  await subscribed(redis, 2);
  const [alice, carol, oscar] = await Promise.all([client(A), client(A), client(A)]);
  const [bob, dave, olga] = await Promise.all([client(B), client(B), client(B)]);

  // the users of a join, and the counts of "user joined", come from both servers
  assert.deepEqual(await joined(alice, "Alice", "room1"), ["Alice"]);
  assert.deepEqual(await joined(bob, "Bob", "room1"), ["Alice", "Bob"]);
  assert.deepEqual(await alice.waitFor("user joined", (u) => u.name === "Bob"), { name: "Bob", count: 2 });
  assert.deepEqual(await joined(carol, "Carol", "room1"), ["Alice", "Bob", "Carol"]);
  assert.deepEqual(await bob.waitFor("user joined", (u) => u.name === "Carol"), { name: "Carol", count: 3 });
  assert.deepEqual(await alice.waitFor("user joined", (u) => u.name === "Carol"), { name: "Carol", count: 3 });
  assert.deepEqual(await joined(dave, "Dave", "room1"), ["Alice", "Bob", "Carol", "Dave"]);
  for (const c of [alice, bob, carol]) {
    assert.deepEqual(await c.waitFor("user joined", (u) => u.name === "Dave"), { name: "Dave", count: 4 });
  }
  // another room, on both servers too
  assert.deepEqual(await joined(olga, "Olga", "room2"), ["Olga"]);
  assert.deepEqual(await joined(oscar, "Oscar", "room2"), ["Olga", "Oscar"]);
  assert.deepEqual(await olga.waitFor("user joined", (u) => u.name === "Oscar"), { name: "Oscar", count: 2 });

  // a message from A reaches room1 on both servers, the sender included, and not room2
  const room1 = [alice, bob, carol, dave];
  assert.deepEqual(await say(alice, "hello from A"), { ok: true });
  for (const c of room1) {
    const m = await c.waitFor("chat message", (m) => m.text === "hello from A");
    assert.equal(m.name, "Alice");
    assert.equal(typeof m.time, "number");
  }
  // and from B the other way
  assert.deepEqual(await say(dave, "hello from B"), { ok: true });
  for (const c of room1) assert.equal((await c.waitFor("chat message", (m) => m.text === "hello from B")).name, "Dave");
  await sync(oscar, [olga, oscar]);
  await sync(olga, [olga, oscar]);
  const room1Names = ["Alice", "Bob", "Carol", "Dave"];
  for (const c of [olga, oscar]) {
    const messages = c.events("chat message").filter((m) => !m.text.startsWith("marker"));
    assert.deepEqual(messages, [], "room2 got room1's messages");
    assert.deepEqual(c.events("user joined").filter((u) => room1Names.includes(u.name)), [], "room2 got room1's notices");
  }

  // typing hints reach the others of the room on both servers, not the sender
  bob.emit("typing");
  for (const c of [alice, carol, dave]) assert.deepEqual(await c.waitFor("typing"), { name: "Bob" });
  bob.emit("stop typing");
  for (const c of [alice, carol, dave]) assert.deepEqual(await c.waitFor("stop typing"), { name: "Bob" });
  await sync(bob, room1);
  await sync(olga, [olga, oscar]);
  assert.deepEqual(bob.events("typing"), []);
  assert.deepEqual([...olga.events("typing"), ...oscar.events("typing")], []);

  // leaving: a disconnection on B, then a room change on A; the counts are cluster-wide
  bob.close();
  for (const c of [alice, carol, dave]) {
    assert.deepEqual(await c.waitFor("user left", (u) => u.name === "Bob"), { name: "Bob", count: 3 });
  }
  assert.deepEqual(await joined(carol, "Carol", "room2"), ["Carol", "Olga", "Oscar"]);
  for (const c of [alice, dave]) {
    assert.deepEqual(await c.waitFor("user left", (u) => u.name === "Carol"), { name: "Carol", count: 2 });
  }
  for (const c of [olga, oscar]) {
    assert.deepEqual(await c.waitFor("user joined", (u) => u.name === "Carol"), { name: "Carol", count: 3 });
  }
  assert.deepEqual(await say(carol, "in room2 now"), { ok: true });
  await olga.waitFor("chat message", (m) => m.text === "in room2 now");
  await sync(alice, [alice, dave]);
  assert.equal(alice.events("chat message").some((m) => m.text === "in room2 now"), false);
  assert.equal(dave.events("chat message").some((m) => m.text === "in room2 now"), false);
});

test("Redis down: each chat server goes on with its own users; once Redis is back, messages cross again", async (t) => {
  const { redis: newRedis, server, client } = setup(t);
  const redis = await newRedis();
  const [A, B] = await Promise.all([server(clusterArgs(redis.url)), server(clusterArgs(redis.url))]);
  await subscribed(redis, 2);
  const [alice, carol] = await Promise.all([client(A), client(A)]);
  const [bob, dave] = await Promise.all([client(B), client(B)]);
  assert.deepEqual(await joined(alice, "Alice", "room1"), ["Alice"]);
  assert.deepEqual(await joined(bob, "Bob", "room1"), ["Alice", "Bob"]);

  await redis.stop();
  // a join answers promptly, with this server's users only
  let t0 = Date.now();
  assert.deepEqual(await joined(carol, "Carol", "room1"), ["Alice", "Carol"]);
  let took = Date.now() - t0;
  assert.ok(took < DOWN_JOIN_MS, `join on A answered after ${took} ms with Redis down`);
  assert.deepEqual(await alice.waitFor("user joined", (u) => u.name === "Carol"), { name: "Carol", count: 2 });
  t0 = Date.now();
  assert.deepEqual(await joined(dave, "Dave", "room1"), ["Bob", "Dave"]);
  took = Date.now() - t0;
  assert.ok(took < DOWN_JOIN_MS, `join on B answered after ${took} ms with Redis down`);
  assert.deepEqual(await bob.waitFor("user joined", (u) => u.name === "Dave"), { name: "Dave", count: 2 });
  // chat within one server still works
  assert.deepEqual(await say(carol, "down on A"), { ok: true });
  for (const c of [alice, carol]) await c.waitFor("chat message", (m) => m.text === "down on A");
  assert.deepEqual(await say(bob, "down on B"), { ok: true });
  for (const c of [bob, dave]) await c.waitFor("chat message", (m) => m.text === "down on B");
  carol.emit("typing");
  assert.deepEqual(await alice.waitFor("typing"), { name: "Carol" });
  assert.ok(redis.proc.exitCode !== null || redis.proc.signalCode !== null, "Redis was down all along");

  // Redis is back: both servers reconnect by themselves, and messages cross both ways again
  await redis.start();
  const ab = await crossing(alice, bob, "A to B");
  assert.equal(ab.name, "Alice");
  const ba = await crossing(dave, carol, "B to A");
  assert.equal(ba.name, "Dave");
  await subscribed(redis, 2);
  // what was published while Redis was down is lost (pub/sub is at most once), not replayed
  for (const c of [bob, dave]) assert.equal(c.events("chat message").some((m) => m.text === "down on A"), false);
  for (const c of [alice, carol]) assert.equal(c.events("chat message").some((m) => m.text === "down on B"), false);
  // and the users lists span both servers again
  const eve = await client(A);
  assert.deepEqual(await joined(eve, "Eve", "room1"), ["Alice", "Bob", "Carol", "Dave", "Eve"]);
  for (const c of [alice, bob, carol, dave]) {
    assert.deepEqual(await c.waitFor("user joined", (u) => u.name === "Eve"), { name: "Eve", count: 5 });
  }
});

test("a chat server started before Redis serves its own users, then joins the cluster once Redis is up", async (t) => {
  const { redis: newRedis, server, client } = setup(t);
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const A = await server(clusterArgs(url));
  const [alice, carol] = await Promise.all([client(A), client(A)]);
  const t0 = Date.now();
  assert.deepEqual(await joined(alice, "Alice", "room1"), ["Alice"]);
  const took = Date.now() - t0;
  assert.ok(took < DOWN_JOIN_MS, `join answered after ${took} ms without Redis`);
  assert.deepEqual(await joined(carol, "Carol", "room1"), ["Alice", "Carol"]);
  assert.deepEqual(await alice.waitFor("user joined", (u) => u.name === "Carol"), { name: "Carol", count: 2 });
  assert.deepEqual(await say(alice, "alone"), { ok: true });
  for (const c of [alice, carol]) await c.waitFor("chat message", (m) => m.text === "alone");

  const redis = await newRedis({ port });
  const B = await server(clusterArgs(url));
  await subscribed(redis, 2); // A connected by itself (its backoff is 5 s at most)
  const bob = await client(B);
  assert.deepEqual(await joined(bob, "Bob", "room1"), ["Alice", "Bob", "Carol"]);
  for (const c of [alice, carol]) {
    assert.deepEqual(await c.waitFor("user joined", (u) => u.name === "Bob"), { name: "Bob", count: 3 });
  }
  assert.equal((await crossing(alice, bob, "A to B")).name, "Alice");
  assert.equal((await crossing(bob, carol, "B to A")).name, "Bob");
});

test("SIO_REDIS_URL works like --redis", async (t) => {
  const { redis: newRedis, server, client } = setup(t);
  const redis = await newRedis();
  const env = { SIO_REDIS_URL: redis.url };
  const [A, B] = await Promise.all([server({ env }), server({ env })]);
  for (const s of [A, B]) await s.waitLine(/^cluster mode: Redis at /);
  await subscribed(redis, 2);
  const [alice, bob] = await Promise.all([client(A), client(B)]);
  assert.deepEqual(await joined(alice, "Alice", "lobby"), ["Alice"]);
  assert.deepEqual(await joined(bob, "Bob", "lobby"), ["Alice", "Bob"]);
  assert.equal((await crossing(alice, bob, "via the environment")).name, "Alice");
});

test("a chat server stops cleanly (status 0, no leak under ASan) while Redis is away or was never there", async (t) => {
  const { redis: newRedis, server, client } = setup(t);
  const redis = await newRedis();
  const A = await server(clusterArgs(redis.url));
  const B = await server(clusterArgs(`redis://127.0.0.1:${await freePort()}`)); // never there
  await subscribed(redis, 1);
  await redis.stop();
  const [alice, bob] = await Promise.all([client(A), client(B)]);
  assert.deepEqual(await joined(alice, "Alice", "room1"), ["Alice"]);
  assert.deepEqual(await joined(bob, "Bob", "room1"), ["Bob"]);
  assert.deepEqual(await say(alice, "bye"), { ok: true });
  await alice.waitFor("chat message", (m) => m.text === "bye");
  // stopped while they retry (setup's t.after checks the exit status), right after their clients closed
});
