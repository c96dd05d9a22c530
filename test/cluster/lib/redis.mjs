// A real redis-server (Debian's /usr/bin/redis-server) for one test file: on a free port of 127.0.0.1 (or the one of
// startRedis({port})), nothing on disk (no RDB, no AOF). startRedis() resolves once it answers PING and returns
// { port, url, stop(), start(), restart({downMs, whileDown}), command(...args) }. Call stop() from an after() hook; a process 'exit'
// handler also kills it, so that it is never left running.
import { spawn } from "node:child_process";
import net from "node:net";

const REDIS_SERVER = process.env.REDIS_SERVER || "/usr/bin/redis-server";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

// One RESP reply from buf at offset i: [value, next offset] or null when incomplete. Errors become Error values.
function parseReply(buf, i = 0) {
  const eol = buf.indexOf("\r\n", i);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[i]);
  const line = buf.toString("utf8", i + 1, eol);
  const next = eol + 2;
  switch (type) {
    case "+": return [line, next];
    case "-": return [new Error(line), next];
    case ":": return [Number(line), next];
    case "$": {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.subarray(next, next + n).toString("utf8"), next + n + 2];
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out = [];
      let at = next;
      for (let k = 0; k < n; k++) {
        const r = parseReply(buf, at);
        if (!r) return null;
        out.push(r[0]);
        at = r[1];
      }
      return [out, at];
    }
    default: throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}

// Sends one command on a fresh connection and resolves with its reply (rejects on a connection error, an error
// reply, or after ms).
export function redisCommand(port, args, ms = 2000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const done = (err, v) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    const timer = setTimeout(() => done(new Error(`redis ${args[0]}: no reply within ${ms} ms`)), ms);
    sock.on("error", (err) => done(err));
    sock.on("connect", () => {
      let req = `*${args.length}\r\n`;
      for (const a of args) {
        const s = String(a);
        req += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
      }
      sock.write(req);
    });
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parseReply(buf);
      if (!r) return;
      if (r[0] instanceof Error) done(r[0]);
      else done(null, r[0]);
    });
  });
}

async function waitPing(port, proc, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`redis-server exited early: code ${proc.exitCode} signal ${proc.signalCode}`);
    }
    try {
      if ((await redisCommand(port, ["PING"], 500)) === "PONG") return;
    } catch {
      // not accepting yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} does not answer PING within ${ms} ms`);
    await sleep(20);
  }
}

// Never left running: killed when this process exits, or is ended by a signal (then re-raised for its default action).
const running = new Set();
const killAll = () => {
  for (const p of running) p.kill("SIGKILL");
};
process.on("exit", killAll);
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig);
  });
}

function spawnRedis(port) {
  const proc = spawn(REDIS_SERVER, [
    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
    "--loglevel", "warning", "--daemonize", "no",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (d) => { output = (output + d).slice(-4000); };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  proc.output = () => output;
  running.add(proc);
  proc.once("exit", () => running.delete(proc));
  return proc;
}

async function stopProc(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((res) => proc.once("exit", res));
  proc.kill("SIGTERM");
  const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(t);
}

// options: { port } to start it on that port (no other one is tried), else a free one.
export async function startRedis({ port: wanted } = {}) {
  let proc, port;
  for (let attempt = 0; ; attempt++) {
    port = wanted ?? await freePort();
    proc = spawnRedis(port);
    try {
      await waitPing(port, proc);
      break;
    } catch (err) {
      // e.g. another process took the port meanwhile: try another one
      await stopProc(proc);
      if (wanted !== undefined || attempt >= 2) throw new Error(`${err.message}\n${proc.output()}`);
    }
  }
  const handle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get proc() { return proc; },
    // Stops redis-server (SIGTERM, waits for its exit).
    async stop() {
      await stopProc(proc);
    },
    // Stops it, waits downMs (and until whileDown(), if given, has resolved: checks to make while it is down), starts
    // it again on the same port and waits until it answers PING. whileDown's rejection rejects restart (once Redis is
    // up again).
    async restart({ downMs = 500, whileDown } = {}) {
      await stopProc(proc);
      const results = await Promise.allSettled([sleep(downMs), whileDown ? whileDown() : null]);
      proc = spawnRedis(port);
      await waitPing(port, proc);
      if (results[1].status === "rejected") throw results[1].reason;
    },
    // Starts it again after stop() (same port).
    async start() {
      if (proc.exitCode === null && proc.signalCode === null) return;
      proc = spawnRedis(port);
      await waitPing(port, proc);
    },
    // One command (array of strings) on a connection of its own; resolves with the reply.
    command(...args) {
      return redisCommand(port, args);
    },
  };
  return handle;
}
