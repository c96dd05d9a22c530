// python-socketio 5.7 (Debian's python3-socketio, run with /usr/bin/python3) against the server under test: each
// script of this directory runs in each client transport mode against its own server, must exit 0, and the server's
// --events lines must show its sockets connecting and disconnecting with the expected reasons.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { startServer, root, isReference } from "../lib/server.mjs";

// Debian's interpreter: the `python3` first on PATH may be another one (e.g. a pyenv) without python3-socketio.
const PYTHON = "/usr/bin/python3";
const dir = path.join(root, "test/interop/python");

// Client transport modes: python-socketio's default (polling, then upgrade to websocket), websocket only, polling only.
const MODES = ["default", "websocket", "polling"];

// Long heartbeat by default: nothing but the heartbeat test may depend on PING / PONG timing.
const LONG_HEARTBEAT = ["--test-commands", "--ping-interval", "25000", "--ping-timeout", "20000"];

// script -> server flags (heartbeat.py keeps the suite's 300 / 200 ms heartbeat on purpose).
const SCRIPTS = {
  connect: LONG_HEARTBEAT,
  events: LONG_HEARTBEAT,
  acks: LONG_HEARTBEAT,
  binary: LONG_HEARTBEAT,
  namespaces: LONG_HEARTBEAT,
  server_ack: LONG_HEARTBEAT,
  disconnect: LONG_HEARTBEAT,
  heartbeat: ["--test-commands"],
};

const SCRIPT_TIMEOUT = 90000;
const WAIT = 5000;
const T = { timeout: SCRIPT_TIMEOUT + 30000 };

// The server-side reasons of a socket's sio-disconnect, by how the script ends it (sioutil.report_socket).
// "client": python-socketio's disconnect() queues a DISCONNECT packet per namespace and the Engine.IO CLOSE packet
// for its write thread, then (websocket) closes the WebSocket at once from the calling thread.
//  - polling: the write thread POSTs both packets in one payload ("41\x1e1"). Node's socket.io defers the handling
//    of a decoded packet (process.nextTick in Client.ondecoded) while engine.io handles the CLOSE packet of the same
//    payload synchronously: the transport closes first, and the reference reports "transport close", always.
//    Ours handles the packets of a payload in order and reports "client namespace disconnect" (what the client
//    did, and what the reference reports when the packets come apart): a deliberate difference, accepted on ours
//    only (docs/api.md, "Disconnect reasons").
//  - websocket (and default, which ends on websocket): a race between the write thread's frames and the close
//    frame sent by disconnect(); the reference reports either reason, from run to run.
// "client-any": the same, either reason accepted (scripts about something else; disconnect.py checks the exact one).
// "server": the "__disconnect__" command.
function expectedReasons(end, mode) {
  const either = ["client namespace disconnect", "transport close"];
  if (end === "server") return ["server namespace disconnect"];
  if (end === "client") return mode === "polling" && isReference ? ["transport close"] : either;
  if (end === "client-any") return either;
  throw new Error(`unknown end ${JSON.stringify(end)} in a report`);
}

let pythonChecked = null;
// The scripts need python3-socketio (and python3-requests, python3-websocket for its transports) for /usr/bin/python3:
// a missing package fails the tests with the fix, rather than skipping them.
function checkPython() {
  if (pythonChecked === null) {
    const r = spawnSync(PYTHON, ["-c", "import socketio, engineio, requests, websocket"], { encoding: "utf8" });
    pythonChecked = r.error || r.status !== 0
      ? `run scripts/deps.sh: python3-socketio missing (${PYTHON} cannot import socketio, engineio, requests and ` +
        `websocket: ${r.error ? r.error.message : (r.stderr || "").trim().split("\n").pop()})`
      : "";
  }
  if (pythonChecked) assert.fail(pythonChecked);
}

// Runs one script; resolves with { code, signal, output, reports } (output: stdout and stderr interleaved).
function runScript(script, base, mode) {
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8" };
  // requests and websocket-client honour proxy variables: the server is on 127.0.0.1, always reached directly.
  for (const k of ["http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]) delete env[k];
  env.NO_PROXY = env.no_proxy = "127.0.0.1,localhost";
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return new Promise((resolve) => {
    const proc = spawn(PYTHON, [path.join(dir, `${script}.py`), base, mode], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    proc.stdout.on("data", (d) => (output += d));
    proc.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[python.test.mjs: killed after ${SCRIPT_TIMEOUT} ms]\n`;
      proc.kill("SIGKILL");
    }, SCRIPT_TIMEOUT);
    proc.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, output: `cannot run ${PYTHON}: ${err.message}`, reports: [] });
    });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      const reports = output.split("\n").filter((l) => l.startsWith("@report ")).map((l) => JSON.parse(l.slice(8)));
      resolve({ code, signal, output, reports });
    });
  });
}

// Checks the server events of the sockets the script reported, then that no socket was left connected. Every
// problem is collected, so that one failure lists them all.
async function checkServerEvents(server, reports, mode) {
  const problems = [];
  for (const r of reports) {
    const what = `${r.case}: socket ${r.id} on ${r.nsp}`;
    const conn = server.events.find((e) => e.event === "sio-connection" && e.id === r.id);
    if (!conn) { problems.push(`${what}: no sio-connection event with this id`); continue; }
    if (conn.nsp !== r.nsp) problems.push(`${what}: the sio-connection event is on ${JSON.stringify(conn.nsp)}`);
    const disc = await server.waitEvent((e) => e.event === "sio-disconnect" && e.id === r.id, WAIT).catch(() => null);
    if (!disc) { problems.push(`${what}: no sio-disconnect event within ${WAIT} ms`); continue; }
    if (disc.nsp !== r.nsp) problems.push(`${what}: the sio-disconnect event is on ${JSON.stringify(disc.nsp)}`);
    const reasons = expectedReasons(r.end, mode);
    if (!reasons.includes(disc.reason)) {
      problems.push(`${what} (ended by the ${r.end}, ${mode}): sio-disconnect reason ${JSON.stringify(disc.reason)}, ` +
        `expected ${reasons.map((x) => JSON.stringify(x)).join(" or ")}`);
    }
    const ing = server.events.findIndex((e) => e.event === "sio-disconnecting" && e.id === r.id);
    if (ing < 0 || ing > server.events.indexOf(disc)) problems.push(`${what}: no sio-disconnecting before sio-disconnect`);
    else if (server.events[ing].reason !== disc.reason) {
      problems.push(`${what}: sio-disconnecting reason ${JSON.stringify(server.events[ing].reason)} differs from ` +
        `the sio-disconnect reason ${JSON.stringify(disc.reason)}`);
    }
  }
  // Every socket of the run (reported or not, e.g. "/" of a connection refused for another namespace) ends.
  for (const c of server.events.filter((e) => e.event === "sio-connection")) {
    if (!["/", "/custom"].includes(c.nsp)) problems.push(`sio-connection on an unexpected namespace ${c.nsp}`);
    const d = await server.waitEvent((e) => e.event === "sio-disconnect" && e.id === c.id, WAIT).catch(() => null);
    if (!d) problems.push(`socket ${c.id} on ${c.nsp} was left connected after the script ended`);
  }
  return problems;
}

test("every python script of this directory is run", () => {
  const scripts = readdirSync(dir).filter((f) => f.endsWith(".py") && f !== "sioutil.py").map((f) => f.slice(0, -3));
  assert.deepEqual(scripts.sort(), Object.keys(SCRIPTS).sort(), "python.test.mjs SCRIPTS must list every script");
});

for (const [script, args] of Object.entries(SCRIPTS)) {
  for (const mode of MODES) {
    test(`python-socketio ${script}.py (${mode})`, T, async () => {
      checkPython();
      const server = await startServer({ events: true, args });
      try {
        const r = await runScript(script, server.base, mode);
        assert.ok(r.code === 0,
          `${script}.py ${mode} against ${isReference ? "the reference" : "ours"} exited with ` +
          `${r.signal ? `signal ${r.signal}` : `code ${r.code}`}; its output:\n${r.output}`);
        assert.match(r.output, /^OK$/m, `${script}.py must end with OK; its output:\n${r.output}`);
        const problems = await checkServerEvents(server, r.reports, mode);
        assert.ok(problems.length === 0,
          `server events of ${script}.py ${mode} against ${isReference ? "the reference" : "ours"}:\n  ` +
          `${problems.join("\n  ")}\nserver events: ${JSON.stringify(server.events)}\nscript output:\n${r.output}`);
      } finally {
        await server.stop();
      }
    });
  }
}
