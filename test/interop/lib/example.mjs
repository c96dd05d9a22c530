// Starts one of our examples (build/examples/<name>) on a free port of 127.0.0.1 and returns a handle.
// Under `make test-interop-san` (EIO_CONFORMANCE=build/san/conformance) the ASan+UBSan build of the examples runs.
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { io } from "socket.io-client";
import { root } from "./server.mjs";

export function exampleBinary(name) {
  const conf = process.env.EIO_CONFORMANCE;
  const dir = conf ? path.join(path.dirname(conf), "examples") : path.join(root, "build/examples");
  return path.join(dir, name);
}

// Returns { port, base, proc, lines: [...stdout lines], waitLine(re, ms), stop() }.
// options: { args: [...], env: {...} }
export async function startExample(name, options = {}) {
  const bin = exampleBinary(name);
  const proc = spawn(bin, ["--port", "0", ...(options.args || [])], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...(options.env || {}) },
  });
  const lines = [];
  const waiters = [];
  let resolvePort, rejectPort;
  const portPromise = new Promise((res, rej) => { resolvePort = res; rejectPort = rej; });
  readline.createInterface({ input: proc.stdout }).on("line", (line) => {
    lines.push(line);
    const m = /^listening on http:\/\/[^ ]*:(\d+)$/.exec(line);
    if (m) resolvePort(Number(m[1]));
    for (const w of [...waiters]) {
      if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(line); }
    }
  });
  proc.on("exit", (code, signal) => rejectPort(new Error(`${name} exited early: code ${code} signal ${signal}`)));
  proc.on("error", (err) => rejectPort(new Error(`cannot start ${bin}: ${err.message}`)));
  const port = await portPromise;
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    proc,
    lines,
    // Resolves with the first stdout line (already printed or future) matching re; rejects after ms.
    waitLine(re, ms = 5000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { re, resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no line matching ${re} within ${ms} ms; output so far:\n${lines.join("\n")}`));
        }, ms);
        waiters.push(w);
      });
    },
    // SIGTERM; the example must exit with status 0 (under ASan a leak or memory error makes it non-zero).
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((res) => proc.once("exit", res));
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 10000);
        await exited;
        clearTimeout(t);
      }
      if (proc.exitCode !== 0) throw new Error(`${name} exited with code ${proc.exitCode} signal ${proc.signalCode}`);
    },
  };
}

// A connected socket.io-client socket (websocket only unless opts say otherwise); rejects on connect_error.
export function connectClient(base, nsp = "/", opts = {}) {
  const socket = io(base + nsp, { transports: ["websocket"], forceNew: true, reconnection: false, ...opts });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => { socket.close(); reject(err); });
  });
}

// The next `event` on socket (its arguments as an array); rejects after ms.
export function nextEvent(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { socket.off(event, h); reject(new Error(`no "${event}" within ${ms} ms`)); }, ms);
    const h = (...args) => { clearTimeout(t); resolve(args); };
    socket.once(event, h);
  });
}

// Records every event a client receives: socket.log, socket.events(name), and socket.waitFor(event, pred, ms),
// which finds one already received or waits for it (ms defaults to defaultMs).
export function recordEvents(socket, defaultMs = 8000) {
  const log = [];
  const waiters = [];
  socket.onAny((event, ...args) => {
    log.push({ event, args });
    for (const w of [...waiters]) {
      if (w.event === event && w.pred(...args)) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(args[0]);
      }
    }
  });
  socket.log = log;
  socket.waitFor = (event, pred = () => true, ms = defaultMs) => {
    const seen = log.find((e) => e.event === event && pred(...e.args));
    if (seen) return Promise.resolve(seen.args[0]);
    return new Promise((resolve, reject) => {
      const w = { event, pred, resolve };
      w.timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(new Error(`no "${event}" matching within ${ms} ms; got ${JSON.stringify(log)}`));
      }, ms);
      waiters.push(w);
    });
  };
  socket.events = (event) => log.filter((e) => e.event === event).map((e) => e.args[0]);
  return socket;
}
