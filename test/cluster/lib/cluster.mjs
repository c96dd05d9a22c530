// Shared helpers of the cluster suite (not a test file itself: node --test only picks *.test.mjs): Socket.IO servers
// sharing one redis-server through the Redis adapter (@socket.io/redis-adapter 8.3, classic pub/sub), real
// socket.io-client clients, the test commands of test/interop/README.md.
import { startServer, isReference } from "../../interop/lib/server.mjs";
import { sleep, WAIT, closeAll } from "../../interop/sio-client/helpers.mjs";
import { startRedis } from "./redis.mjs";

export * from "../../interop/sio-rooms/helpers.mjs";
export { startServer, isReference };
export { startRedis, redisCommand } from "./redis.mjs";

// Flags of every server of the suite: the Redis adapter on `redis`, the test commands, a long heartbeat.
export function clusterArgs(redis, extra = []) {
  return ["--redis", redis.url, "--test-commands", "--ping-interval", "10000", "--ping-timeout", "20000", ...extra];
}

// The server under test (ours, or Node's under EIO_SERVER=reference), on the cluster of `redis`.
export function startClusterServer(redis, extra = []) {
  return startServer({ args: clusterArgs(redis, extra), events: true });
}

// Always Node's reference server (test/interop/reference-server.mjs), whatever EIO_SERVER says: the other half of a
// mixed cluster.
export function startNodeServer(redis, extra = []) {
  return startServer({ args: clusterArgs(redis, extra), events: true, reference: true });
}

// Polls fn() every `every` ms until it returns a truthy value (resolved with it); rejects after ms with `what` and
// the last value or error seen.
// One redis-server and two servers under test on it (--requests-timeout ms), both subscribed. Returns
// {redis, A, B, stop()}; stop() closes every client and stops the servers, then Redis.
export async function startTwoServers(requestsTimeout) {
  const redis = await startRedis();
  const args = ["--requests-timeout", String(requestsTimeout)];
  const [A, B] = await Promise.all([startClusterServer(redis, args), startClusterServer(redis, args)]);
  await waitSubscribed(redis, 2);
  return {
    redis, A, B,
    async stop() {
      closeAll();
      await Promise.all([A.stop(), B.stop()]);
      await redis.stop();
    },
  };
}

export async function until(fn, { ms = 15000, every = 50, what = "condition" } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(every);
  }
}

// Waits until n servers are subscribed for every namespace of nsps: PUBSUB NUMSUB of the request and response
// channels (`<key>-request#<nsp>#`, `<key>-response#<nsp>#`) is exactly n (a server subscribed twice would skew
// the server count of Node's adapter: it is that NUMSUB), and the connections have n * nsps.length pattern
// subscriptions (`<key>#<nsp>#*`) in all at least (CLIENT LIST's psub=; PUBSUB NUMPAT counts distinct patterns).
export async function waitSubscribed(redis, n, { nsps = ["/", "/custom"], key = "socket.io", ms = 15000 } = {}) {
  const channels = nsps.flatMap((nsp) => [`${key}-request#${nsp}#`, `${key}-response#${nsp}#`]);
  await until(async () => {
    const r = await redis.command("PUBSUB", "NUMSUB", ...channels);
    for (let i = 1; i < r.length; i += 2) if (r[i] !== n) return false;
    const list = await redis.command("CLIENT", "LIST");
    const psubs = list.split("\n").map((l) => Number(/ psub=(\d+)/.exec(l)?.[1] ?? 0));
    return psubs.reduce((x, y) => x + y, 0) >= n * nsps.length;
  }, { ms, what: `${n} servers subscribed on ${redis.url} (${channels.join(", ")})` });
}

// The "sio-server-side" lines of server (the "__sse__" handler) so far.
export const serverSideLines = (server) => server.events.filter((e) => e.event === "sio-server-side");

// Waits for a "sio-server-side" line of server whose args deep-equal `args` (namespace nsp).
export function waitServerSide(server, args, nsp = "/", ms = WAIT) {
  const want = JSON.stringify(args);
  return server.waitEvent((e) => e.event === "sio-server-side" && e.nsp === nsp && JSON.stringify(e.args) === want, ms);
}

// Every client of `clients` answers the acknowledgement of `event` with {id, arg} (its socket id, the event's first
// argument); `silent` clients never answer.
export function answerAcks(clients, event, silent = []) {
  for (const c of clients) {
    if (silent.includes(c)) continue;
    c.socket.on(event, (...args) => {
      const cb = args.at(-1);
      if (typeof cb === "function") cb({ id: c.socket.id, arg: args[0] });
    });
  }
}

