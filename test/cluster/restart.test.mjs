// Redis goes away and comes back under two running servers under test (ours, or Node's under EIO_SERVER=reference):
// while it is down each server still serves its own clients (local broadcasts, new connections) and a fetchSockets
// answers rather than hanging; once it is back the cluster works again without restarting the servers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startRedis, startClusterServer, startTwoServers, waitSubscribed, connect, close, closeAll, cmd, isReference, until,
} from "./lib/cluster.mjs";

const REQUESTS_TIMEOUT = 1000;
let redis, A, B, cluster;
before(async () => {
  cluster = await startTwoServers(REQUESTS_TIMEOUT);
  ({ redis, A, B } = cluster);
});
after(async () => {
  await cluster?.stop();
});

const T = { timeout: 30000 };

// Retries a broadcast to `room` from `from` every 200 ms (a new event argument each time) until `to` receives one,
// up to 15 s (the servers reconnect to Redis with a backoff).
async function crossBroadcast(from, to, room, event) {
  let n = 0;
  await until(async () => {
    assert.equal(await cmd(from, "__to__", { rooms: [room], event, args: [n++] }), "ok");
    return to.events.some((e) => e[0] === event);
  }, { ms: 15000, every: 200, what: `"${event}" across servers after the Redis restart` });
}

test("Redis restarted: local service goes on while it is down, the cluster works again once it is back", T, async () => {
  const a1 = await connect(A, "websocket"), a2 = await connect(A, "polling");
  const b1 = await connect(B, "polling"), b2 = await connect(B, "websocket");
  const late = [];
  let fetchWhileDown;
  try {
    for (const c of [a1, b1]) await cmd(c, "__join__", "r1-R");
    assert.equal(await cmd(a2, "__to__", { rooms: ["r1-R"], event: "r1-before" }), "ok");
    await b1.waitEvent("r1-before");

    let downAt;
    await redis.restart({
      downMs: 500,
      whileDown: async () => {
        downAt = Date.now();
        // a fetchSockets while Redis is down: not awaited here (Node's client queues its PUBSUB NUMSUB until Redis
        // is back)
        const t0 = Date.now();
        fetchWhileDown = cmd(a2, "__fetch__", { rooms: ["r1-R"] }).then((v) => ({ v, at: Date.now(), took: Date.now() - t0 }));
        fetchWhileDown.catch(() => {});
        // local room broadcasts still reach the local members
        assert.equal(await cmd(a2, "__to__", { rooms: ["r1-R"], event: "r1-down-a", args: ["a"] }), "ok");
        assert.equal(await cmd(b2, "__to__", { rooms: ["r1-R"], event: "r1-down-b", args: ["b"] }), "ok");
        assert.deepEqual(await a1.waitEvent("r1-down-a"), ["a"]);
        assert.deepEqual(await b1.waitEvent("r1-down-b"), ["b"]);
        // new clients connect, join rooms and get local broadcasts
        for (const [srv, mode] of [[A, "websocket"], [B, "polling"]]) {
          const c = await connect(srv, mode);
          late.push(c);
          assert.equal(await c.socket.timeout(5000).emitWithAck("message-with-ack", "down"), "down");
          assert.deepEqual(await cmd(c, "__join__", "r1-L"), [c.socket.id, "r1-L"]);
          assert.equal(await cmd(c, "__to__", { rooms: ["r1-L"], event: "r1-local", args: [1] }), "ok");
          assert.deepEqual(await c.waitEvent("r1-local"), [1]);
        }
        assert.ok(redis.proc.exitCode !== null || redis.proc.signalCode !== null, "Redis was down all along");
      },
    });
    const upAt = Date.now();

    // the fetchSockets made while Redis was down answered (at the latest one requests timeout after Redis came back)
    // with this server's members of the room at least (B's only if B answered a request after the restart)
    const f = await fetchWhileDown;
    assert.ok(Array.isArray(f.v), `__fetch__ while down answered ${JSON.stringify(f.v)}`);
    const ids = f.v.map((s) => s.id);
    assert.ok(ids.includes(a1.socket.id), `A's own member in ${JSON.stringify(ids)}`);
    assert.deepEqual(ids.filter((id) => id !== a1.socket.id && id !== b1.socket.id), [], "only the room's members");
    assert.ok(f.at - Math.max(upAt, downAt) < REQUESTS_TIMEOUT + 3000, `__fetch__ answered ${f.at - upAt} ms after Redis was back`);

    // both servers subscribe again by themselves, and the cluster works again both ways
    await waitSubscribed(redis, 2, { ms: 15000 });
    await crossBroadcast(a2, b1, "r1-R", "r1-after-ab");
    await crossBroadcast(b2, a1, "r1-R", "r1-after-ba");
    await until(async () => {
      const got = await cmd(a2, "__fetch__", { rooms: ["r1-R"] });
      return Array.isArray(got) && got.map((s) => s.id).sort().join() === [a1.socket.id, b1.socket.id].sort().join();
    }, { ms: 10000, every: 200, what: "__fetch__ from A seeing B's member again" });
    assert.deepEqual(await cmd(b2, "__server_side_emit__", { args: ["r1"], ack: true }), { err: null, responses: [{ port: A.port }] });
    // the clients that connected while Redis was down are part of the cluster too
    assert.equal(await cmd(late[0], "__to__", { rooms: ["r1-L"], event: "r1-late" }), "ok");
    assert.deepEqual(await late[1].waitEvent("r1-late"), []);
  } finally {
    for (const c of [a1, a2, b1, b2, ...late]) close(c);
  }
});

// Ours only: Node's redis client queues commands while it is disconnected, so the reference's fetchSockets (its
// PUBSUB NUMSUB) waits for Redis to come back however long that takes.
test("__fetch__ while Redis stays down answers within the requests timeout with the server's own sockets (ours only)",
  { ...T, skip: isReference && "Node's redis client queues PUBSUB NUMSUB until Redis is back" }, async () => {
    const a1 = await connect(A, "websocket"), b1 = await connect(B, "websocket");
    try {
      for (const c of [a1, b1]) await cmd(c, "__join__", "r2-R");
      await redis.stop();
      const t0 = Date.now();
      const got = await cmd(a1, "__fetch__", { rooms: ["r2-R"] });
      const took = Date.now() - t0;
      assert.deepEqual(got.map((s) => s.id), [a1.socket.id]);
      assert.ok(took < REQUESTS_TIMEOUT + 1500, `answered after ${took} ms`);
      // and a local broadcast still works
      assert.equal(await cmd(a1, "__to__", { rooms: ["r2-R"], event: "r2-local" }), "ok");
      await a1.waitEvent("r2-local");
    } finally {
      await redis.start();
      await waitSubscribed(redis, 2, { ms: 15000 });
      close(a1);
      close(b1);
    }
  });
