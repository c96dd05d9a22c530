// Starts the server under test on a free port of 127.0.0.1 and returns a handle.
// EIO_SERVER=reference runs Node's engine.io (reference-server.mjs) with the same flags instead of ours.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import readline from "node:readline";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../../..");
export const isReference = process.env.EIO_SERVER === "reference";
// Our ASan+UBSan build (make test-interop-san): its RSS includes ASan's quarantine, so memory figures mean nothing.
export const isSanitized = !isReference && /\/san\//.test(process.env.EIO_CONFORMANCE || "");

// options: { args: [...extra flags], events: bool, reference: bool (always Node's reference-server.mjs, whatever
// EIO_SERVER says: the cluster suite's mixed clusters) }
// Returns { port, url, base, proc, events: [], waitEvent(pred, ms), stop() }.
export async function startServer(options = {}) {
  const args = ["--port", "0", ...(options.args || [])];
  if (options.events) args.push("--events");
  // EIO_CONFORMANCE overrides our binary (make test runs the interop suites against the ASan+UBSan build).
  const ours = process.env.EIO_CONFORMANCE || path.join(root, "build/conformance");
  const reference = isReference || options.reference === true;
  const cmd = reference ? process.execPath : ours;
  const cmdArgs = reference ? [path.join(root, "test/interop/reference-server.mjs"), ...args] : args;
  const proc = spawn(cmd, cmdArgs, { stdio: ["ignore", "pipe", "inherit"] });
  const events = [];
  const waiters = [];
  let resolvePort, rejectPort;
  const portPromise = new Promise((res, rej) => { resolvePort = res; rejectPort = rej; });
  const rl = readline.createInterface({ input: proc.stdout });
  rl.on("line", (line) => {
    const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    if (m) { resolvePort(Number(m[1])); return; }
    if (line.startsWith("{")) {
      let ev;
      try { ev = JSON.parse(line); } catch { return; }
      events.push(ev);
      for (const w of [...waiters]) {
        if (w.pred(ev)) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(ev); }
      }
    }
  });
  proc.on("exit", (code, signal) => rejectPort(new Error(`server exited early: code ${code} signal ${signal}`)));
  // e.g. build/conformance missing: reject instead of crashing the test process with an unhandled 'error'.
  proc.on("error", (err) => rejectPort(new Error(`cannot start server ${cmd}: ${err.message}`)));
  const port = await portPromise;
  const handle = {
    port,
    base: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/engine.io/`,
    proc,
    events,
    // Resolves with the first event (already seen or future) matching pred; rejects after ms.
    waitEvent(pred, ms = 5000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching server event within ${ms} ms; events so far: ${JSON.stringify(events)}`));
        }, ms);
        waiters.push(w);
      });
    },
    // Stops the server; ours must exit with status 0 (under ASan a leak or memory error makes it non-zero).
    async stop() {
      const check = () => {
        if (!reference && (proc.exitCode !== 0 || proc.signalCode !== null))
          throw new Error(`server exited with code ${proc.exitCode} signal ${proc.signalCode} (see its stderr above)`);
      };
      if (proc.exitCode !== null || proc.signalCode !== null) return check();
      const exited = new Promise((res) => proc.once("exit", res));
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10000);
      await exited;
      clearTimeout(t);
      check();
    },
  };
  return handle;
}
