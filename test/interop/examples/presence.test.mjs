// examples/presence: the "users online" counter, with socket.io-client clients.
// Short delays: --grace-ms 300 --cleanup-ms 200 unless a test needs otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startExample, connectClient } from "../lib/example.mjs";

const GRACE = 300;
const CLEANUP = 200;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the example and returns { app, join, closeAll }: join(auth) connects a client whose `online` payloads
// are queued from the very first one (the listener is there before the connection), read with next(socket).
async function setup(t, args = ["--grace-ms", String(GRACE), "--cleanup-ms", String(CLEANUP)]) {
  const app = await startExample("presence", { args });
  const sockets = [];
  const closeAll = () => { for (const s of sockets) s.close(); };
  t.after(async () => { closeAll(); await app.stop(); });
  const join = (auth, opts = {}) => {
    const socket = io(app.base, { transports: ["websocket"], forceNew: true, reconnection: false, auth, ...opts });
    sockets.push(socket);
    socket.queue = [];
    socket.waiters = [];
    socket.on("online", (state) => {
      const w = socket.waiters.shift();
      if (w) w({ state, at: Date.now() });
      else socket.queue.push({ state, at: Date.now() });
    });
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", reject);
    });
  };
  return { app, join };
}

// The next `online` of socket: { state, at }; rejects after ms.
function nextAt(socket, ms = 5000) {
  if (socket.queue.length) return Promise.resolve(socket.queue.shift());
  return new Promise((resolve, reject) => {
    const w = (v) => { clearTimeout(timer); resolve(v); };
    const timer = setTimeout(() => {
      socket.waiters.splice(socket.waiters.indexOf(w), 1);
      reject(new Error(`no "online" within ${ms} ms`));
    }, ms);
    socket.waiters.push(w);
  });
}
const next = async (socket, ms) => (await nextAt(socket, ms)).state;
const state = (room, users) => ({ room, count: users.length, users });

// Closes a client and resolves once the server has seen it go (its log line).
async function leave(app, socket) {
  const id = socket.id;
  socket.close();
  await app.waitLine(new RegExp(`^disconnect .* socket=${id} `));
}

test("counts and users per room, sorted; one room's changes do not reach another", async (t) => {
  const { join } = await setup(t);
  const bob = await join({ room: "r1", client_id: "c-bob", user_key: "bob" });
  assert.deepEqual(await next(bob), state("r1", ["bob"]));
  const alice = await join({ room: "r1", client_id: "c-alice", user_key: "alice" });
  assert.deepEqual(await next(alice), state("r1", ["alice", "bob"]));
  assert.deepEqual(await next(bob), state("r1", ["alice", "bob"]));

  // carol over HTTP long-polling, as a page starts.
  const carol = await join({ room: "r2", client_id: "c-carol", user_key: "carol" }, { transports: ["polling"] });
  assert.deepEqual(await next(carol), state("r2", ["carol"]));
  const dave = await join({ room: "r1", client_id: "c-dave", user_key: "dave" });
  // Nothing of r2 came in between: the next online r1 sees is dave's arrival.
  for (const s of [alice, bob, dave]) assert.deepEqual(await next(s), state("r1", ["alice", "bob", "dave"]));
  assert.equal(carol.queue.length, 0);
});

test("two tabs of one user count once; the second tab learns the state alone", async (t) => {
  const { join } = await setup(t);
  const watcher = await join({ room: "r", client_id: "c-w", user_key: "watcher" });
  await next(watcher);
  const tab1 = await join({ room: "r", client_id: "c-a", user_key: "alice" });
  assert.deepEqual(await next(tab1), state("r", ["alice", "watcher"]));
  assert.deepEqual(await next(watcher), state("r", ["alice", "watcher"]));
  // Same user_key, another client_id (another browser): still alice, counted once.
  const tab2 = await join({ room: "r", client_id: "c-a2", user_key: "alice" });
  assert.deepEqual(await next(tab2), state("r", ["alice", "watcher"]));
  const tab3 = await join({ room: "r", client_id: "c-a", user_key: "alice" });
  assert.deepEqual(await next(tab3), state("r", ["alice", "watcher"]));
  const zoe = await join({ room: "r", client_id: "c-z", user_key: "zoe" });
  // The watcher and the first tab saw nothing for tabs 2 and 3: their next online is zoe's arrival.
  for (const s of [watcher, tab1, tab2, tab3, zoe]) assert.deepEqual(await next(s), state("r", ["alice", "watcher", "zoe"]));
});

test("a guest is guest:<client_id>; its tabs count once; an empty user_key is a guest", async (t) => {
  const { join } = await setup(t);
  const g1 = await join({ room: "g", client_id: "abc" });
  assert.deepEqual(await next(g1), state("g", ["guest:abc"]));
  const g2 = await join({ room: "g", client_id: "abc", user_key: "" });
  assert.deepEqual(await next(g2), state("g", ["guest:abc"]));
  const g3 = await join({ room: "g", client_id: "xyz", user_key: null });
  for (const s of [g1, g2, g3]) assert.deepEqual(await next(s), state("g", ["guest:abc", "guest:xyz"]));
  const u = await join({ room: "g", client_id: "u1", user_key: "mallory" });
  for (const s of [g1, g2, g3, u]) assert.deepEqual(await next(s), state("g", ["guest:abc", "guest:xyz", "mallory"]));
});

test("a disconnect lowers the count only after the grace delay; another tab keeps the person", async (t) => {
  const { app, join } = await setup(t);
  const watcher = await join({ room: "r", client_id: "c-w", user_key: "watcher" });
  await next(watcher);
  const alice = await join({ room: "r", client_id: "c-a", user_key: "alice" });
  const alice2 = await join({ room: "r", client_id: "c-a", user_key: "alice" });
  const guest = await join({ room: "r", client_id: "gg" });
  await next(watcher);
  assert.deepEqual(await next(watcher), state("r", ["alice", "guest:gg", "watcher"]));

  // One of alice's two tabs closes: she is still there, nothing is emitted.
  await leave(app, alice);
  let t0 = Date.now();
  await leave(app, guest);
  const { state: s1, at: at1 } = await nextAt(watcher);
  assert.deepEqual(s1, state("r", ["alice", "watcher"]));
  assert.ok(at1 - t0 >= GRACE * 0.8, `the guest left after ${at1 - t0} ms, before the grace delay (${GRACE} ms)`);

  t0 = Date.now();
  alice2.close();
  const { state: s2, at: at2 } = await nextAt(watcher);
  assert.deepEqual(s2, state("r", ["watcher"]));
  assert.ok(at2 - t0 >= GRACE * 0.8, `alice left after ${at2 - t0} ms, before the grace delay (${GRACE} ms)`);
  await app.waitLine(/^left room="r" person="alice"/);
});

test("a refresh within the grace delay emits nothing to the others and the count stays", async (t) => {
  const { app, join } = await setup(t);
  const watcher = await join({ room: "r", client_id: "c-w", user_key: "watcher" });
  await next(watcher);
  const alice = await join({ room: "r", client_id: "c-a", user_key: "alice" });
  const guest = await join({ room: "r", client_id: "gid" });
  await next(watcher);
  assert.deepEqual(await next(watcher), state("r", ["alice", "guest:gid", "watcher"]));

  // Both refresh: the old socket goes, a new one with the same identity comes back within the delay.
  await leave(app, alice);
  const alice2 = await join({ room: "r", client_id: "c-a", user_key: "alice" });
  await leave(app, guest);
  const guest2 = await join({ room: "r", client_id: "gid" });
  // The newcomers learn the state alone.
  assert.deepEqual(await next(alice2), state("r", ["alice", "guest:gid", "watcher"]));
  assert.deepEqual(await next(guest2), state("r", ["alice", "guest:gid", "watcher"]));
  await app.waitLine(/^connect room="r" person="alice" .*back within the grace delay/);

  await sleep(GRACE * 4); // well past the grace delay of the old sockets
  assert.equal(watcher.queue.length, 0, `the watcher got ${JSON.stringify(watcher.queue)}`);
  assert.equal(alice2.queue.length, 0);
  // Still counted: the next change the watcher sees is from 3 to 4.
  const zoe = await join({ room: "r", client_id: "c-z", user_key: "zoe" });
  assert.deepEqual(await next(zoe), state("r", ["alice", "guest:gid", "watcher", "zoe"]));
  assert.deepEqual(await next(watcher), state("r", ["alice", "guest:gid", "watcher", "zoe"]));
});

test("guest cleanup: a guest whose client_id logged in is removed, in that room only", async (t) => {
  // A long grace delay, so that what removes the guest here can only be the cleanup.
  const { app, join } = await setup(t, ["--grace-ms", "20000", "--cleanup-ms", String(CLEANUP)]);
  const watcher = await join({ room: "r", client_id: "c-w", user_key: "watcher" });
  await next(watcher);
  // The same browser (client_id "cid") as a guest in a tab that stays open, and in another room.
  const guestTab = await join({ room: "r", client_id: "cid" });
  assert.deepEqual(await next(watcher), state("r", ["guest:cid", "watcher"]));
  const elsewhere = await join({ room: "other", client_id: "cid" });
  assert.deepEqual(await next(elsewhere), state("other", ["guest:cid"]));

  // It logs in, in another tab: counted twice until the next cleanup, then once.
  const carol = await join({ room: "r", client_id: "cid", user_key: "carol" });
  assert.deepEqual(await next(watcher), state("r", ["carol", "guest:cid", "watcher"]));
  assert.deepEqual(await next(watcher, 5000), state("r", ["carol", "watcher"]));
  assert.deepEqual(await next(guestTab), state("r", ["guest:cid", "watcher"]));
  assert.deepEqual(await next(guestTab), state("r", ["carol", "guest:cid", "watcher"]));
  assert.deepEqual(await next(guestTab), state("r", ["carol", "watcher"]));
  await app.waitLine(/^cleanup room="r" person="guest:cid" removed/);

  // The guest tab now counts for carol: closing it changes nothing (carol's own tab is still there).
  await leave(app, guestTab);
  await sleep(CLEANUP * 3);
  assert.equal(watcher.queue.length, 0, `the watcher got ${JSON.stringify(watcher.queue)}`);

  // The other room has no logged-in "cid": its guest stays.
  const other2 = await join({ room: "other", client_id: "c-o", user_key: "olga" });
  assert.deepEqual(await next(other2), state("other", ["guest:cid", "olga"]));
  await sleep(CLEANUP * 3);
  assert.equal(other2.queue.length, 0);
  assert.equal(carol.connected, true);
});

test("guest cleanup after a refresh into a logged-in session (the guest's grace delay still running)", async (t) => {
  const { app, join } = await setup(t, ["--grace-ms", "20000", "--cleanup-ms", String(CLEANUP)]);
  const watcher = await join({ room: "r", client_id: "c-w", user_key: "watcher" });
  await next(watcher);
  const guest = await join({ room: "r", client_id: "cid" });
  assert.deepEqual(await next(watcher), state("r", ["guest:cid", "watcher"]));
  // "Log in": the tab reconnects with a user_key.
  await leave(app, guest);
  const dan = await join({ room: "r", client_id: "cid", user_key: "dan" });
  assert.deepEqual(await next(watcher), state("r", ["dan", "guest:cid", "watcher"]));
  assert.deepEqual(await next(dan), state("r", ["dan", "guest:cid", "watcher"]));
  // Gone long before its 20 s grace delay.
  assert.deepEqual(await next(watcher, 5000), state("r", ["dan", "watcher"]));
  assert.deepEqual(await next(dan), state("r", ["dan", "watcher"]));
});

test("refusals: CONNECT_ERROR with the reason", async (t) => {
  const { app, join } = await setup(t);
  const cases = [
    [undefined, "room and client_id are required"],
    [{}, "room and client_id are required"],
    [{ client_id: "c" }, "room and client_id are required"],
    [{ room: "r" }, "room and client_id are required"],
    [{ room: "", client_id: "c" }, "room and client_id are required"],
    [{ room: "r", client_id: "" }, "room and client_id are required"],
    [{ room: 5, client_id: "c" }, "room and client_id are required"],
    [{ room: "r", client_id: { id: 1 } }, "room and client_id are required"],
    [{ room: ["r"], client_id: "c" }, "room and client_id are required"],
    [{ room: "r", client_id: "c", user_key: 7 }, "user_key must be a string"],
    [{ room: "r", client_id: "c", user_key: { k: "x" } }, "user_key must be a string"],
    [{ room: "x".repeat(65), client_id: "c" }, "room is too long (64 bytes at most)"],
    [{ room: "r", client_id: "c".repeat(129) }, "client_id is too long (128 bytes at most)"],
    [{ room: "r", client_id: "c", user_key: "k".repeat(129) }, "user_key is too long (128 bytes at most)"],
    [{ room: "r", client_id: "c", user_key: "guest:c" }, 'user_key must not start with "guest:"'],
  ];
  for (const [auth, message] of cases) {
    await assert.rejects(connectClient(app.base, "/", auth === undefined ? {} : { auth }),
      (err) => { assert.equal(err.message, message, JSON.stringify(auth)); return true; });
  }
  // The longest accepted values, and nobody refused was counted.
  const ok = await join({ room: "r".repeat(64), client_id: "c".repeat(128), user_key: "k".repeat(128) });
  assert.deepEqual(await next(ok), state("r".repeat(64), ["k".repeat(128)]));
  const r = await join({ room: "r", client_id: "c" });
  assert.deepEqual(await next(r), state("r", ["guest:c"]));
});

test("the page and the client bundle are served", async (t) => {
  const { app } = await setup(t);
  const page = await fetch(app.base + "/");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /\/socket\.io\/socket\.io\.min\.js/);
  assert.match(html, /localStorage/);
  const bundle = await fetch(app.base + "/socket.io/socket.io.min.js");
  assert.equal(bundle.status, 200);
  await bundle.arrayBuffer();
});
