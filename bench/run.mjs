#!/usr/bin/env node
// bench/run.mjs: the driver of `make bench`. Runs each scenario against our server (build/bench/bench_server)
// and Node's socket.io 4.8 (bench/server.mjs) under the same C load generator (build/bench/loadgen), on the
// same machine, one after the other, and prints the figures side by side with the ratio ours/Node.
//
//   node bench/run.mjs [--full | --smoke] [--only ours|node] [--scenarios 1,2,3,4,5] [--out DIR]
//
// --smoke: a few seconds of each scenario with tiny loads (make test runs it, so that the bench cannot rot).
// --out DIR: results.json and logs/ there instead of build/bench.
//
// It orchestrates and measures; it generates no load itself. Each server runs alone on CPU 0 (taskset -c 0)
// and the load generators on CPU 1 (taskset -c 1). The server's CPU time is read from /proc/PID/stat
// (utime + stime) and its memory from /proc/PID/status (VmRSS, VmHWM); the load generators report their own
// CPU (cpu_s), so a figure limited by the load generator rather than the server shows ("loadgen saturated").
// Every run starts a fresh server. Logs of every process go to build/bench/logs/, all raw numbers to
// build/bench/results.json.
//
// Exits non-zero only when something failed to run (a server that does not start or dies, a load generator
// that crashes or hangs), never because of a figure. Every process it started is stopped (SIGTERM, then
// SIGKILL after 3 s), also on error and on Ctrl-C.
//
// Environment: BENCH_LOADGEN overrides the load generator's path (default build/bench/loadgen).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outArg = process.argv.indexOf("--out");
const OUT_DIR = outArg > 0 && process.argv[outArg + 1] ? path.resolve(process.argv[outArg + 1]) : path.join(ROOT, "build/bench");
const LOG_DIR = path.join(OUT_DIR, "logs");
const RESULTS = path.join(OUT_DIR, "results.json");
const LOADGEN = process.env.BENCH_LOADGEN || path.join(ROOT, "build/bench/loadgen");

const SERVERS = {
  ours: { label: "ours", argv: [path.join(ROOT, "build/bench/bench_server")] },
  node: { label: "Node", argv: [process.execPath, path.join(ROOT, "bench/server.mjs")] },
};
const HOST = "127.0.0.1";
const SERVER_CPU = "0";
const LOADGEN_CPU = "1";

// The contract of the load generator: at most 6,000 clients per process (each may open at most 20,000 files;
// a polling client can hold two connections).
const MAX_CLIENTS_PER_LOADGEN = 6000;
const RAMP_RATE = 1000; // connections per second when a scenario only needs its clients connected
const SETTLE_MS = 1000; // after a rate change, before measuring
const AFTER_START_MS = 1000; // after "listening", before the server's baseline memory is read
const ECHO_PAYLOAD = 64;
const CHAT_PAYLOAD = 64;
const CHAT_ROOM_SIZE = 10;
const IDLE_ROOMS = 100; // scenario 1: each client in one of 100 rooms
const BIG_ROOM = "big"; // scenario 4: the receivers' room
const BCAST_PAYLOAD = 100;
const P99_TARGET_MS = 10;
const SATURATED = 0.9; // loadgen CPU / wall time above which the loadgen, not the server, is the limit
const KILL_GRACE_MS = 3000;

const QUICK = {
  idle: { clients: 5000, rate: 2500, holdS: 30 },
  handshake: { rates: [1000, 2000], stepS: 4 },
  echo: { clients: 1000, rates: [10, 50], stepS: 5 },
  bcast: { clients: 2000, rates: [5, 20], stepS: 5 },
  chat: { clients: 5000, rates: [0.5, 1, 2], stepS: 5 },
};
const SMOKE = {
  idle: { clients: 200, rate: 1000, holdS: 1 },
  handshake: { rates: [200], stepS: 1 },
  echo: { clients: 50, rates: [10], stepS: 1 },
  bcast: { clients: 100, rates: [5], stepS: 1 },
  chat: { clients: 100, rates: [1], stepS: 1 },
};
const FULL = {
  idle: { clients: 19800, rate: 1000, holdS: 90 }, // 90 s: more than 3 heartbeat cycles of 25 s
  handshake: { rates: [1000, 2000, 4000, 8000], stepS: 10 },
  echo: { clients: 1000, rates: [10, 20, 50, 100], stepS: 15 },
  bcast: { clients: 10000, rates: [1, 5, 10, 20, 50], stepS: 15 },
  chat: { clients: 19800, rates: [0.125, 0.25, 0.5, 1, 2, 4, 8], stepS: 15 }, // 0.5/s: one message every 2 s
};

// ---------------------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const nowS = () => Number(process.hrtime.bigint()) / 1e9;
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

function usage(code) {
  process.stderr.write(
    "usage: node bench/run.mjs [--full | --smoke] [--only ours|node] [--scenarios 1,2,3,4,5] [--out DIR]\n" +
      "  1 idle capacity, 2 handshake rate, 3 ack echo, 4 big broadcast, 5 chat rooms\n",
  );
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { full: false, smoke: false, servers: ["ours", "node"], scenarios: [1, 2, 3, 4, 5] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--full") opts.full = true;
    else if (a === "--smoke") opts.smoke = true;
    else if (a === "--out" && i + 1 < argv.length) i++; // read above: OUT_DIR
    else if (a === "--only" && i + 1 < argv.length) {
      const s = argv[++i];
      if (!SERVERS[s]) usage(2);
      opts.servers = [s];
    } else if (a === "--scenarios" && i + 1 < argv.length) {
      opts.scenarios = argv[++i].split(",").map(Number);
      if (opts.scenarios.some((n) => !(n >= 1 && n <= 5))) usage(2);
    } else if (a === "--help" || a === "-h") usage(0);
    else usage(2);
  }
  return opts;
}

const CLK_TCK = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number((r.stdout || "").trim());
  return n > 0 ? n : 100;
})();

// utime + stime of a process in seconds (fields 14 and 15 of /proc/PID/stat; the command name in field 2
// may hold spaces and parentheses, so count from the last ')').
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

// VmRSS and VmHWM in kB.
function memoryKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const get = (k) => Number((status.match(new RegExp(`^${k}:\\s+(\\d+)`, "m")) || [])[1]);
  return { rssKb: get("VmRSS"), hwmKb: get("VmHWM") };
}

function nofileLimits() {
  const line = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  const [soft, hard] = line.slice("Max open files".length).trim().split(/\s+/);
  return { soft, hard };
}

function tail(file, lines = 15) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function have(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

// ---------------------------------------------------------------------------------------------------------
// Processes. Every child is in `children` until it has exited, so that stopAll() can always clean up.

const children = new Set();
let stopping = false;

class Child {
  constructor(name, argv, { stdin, logFile, onUnexpectedExit }) {
    this.name = name;
    this.logFile = logFile;
    this.expectedExit = false;
    const logFd = fs.openSync(logFile, "w");
    // taskset execs the command: the pid we get is the program's own.
    this.proc = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: [stdin ? "pipe" : "ignore", "pipe", logFd] });
    fs.closeSync(logFd);
    this.pid = this.proc.pid;
    children.add(this);
    if (this.proc.stdin) this.proc.stdin.on("error", () => {}); // EPIPE when it died: its exit tells us
    this.exited = new Promise((resolve) => {
      const done = (code, signal) => {
        if (!children.has(this)) return;
        children.delete(this);
        this.code = code;
        this.signal = signal;
        if (!this.expectedExit && !stopping) onUnexpectedExit(this);
        resolve();
      };
      this.proc.on("close", done); // after "exit" and the end of its stdout: no line is lost
      this.proc.on("error", (err) => {
        this.spawnError = err;
        done(null, null);
      });
    });
    this.lines = readline.createInterface({ input: this.proc.stdout });
  }

  alive() {
    return children.has(this);
  }

  describeExit() {
    if (this.spawnError) return `could not start: ${this.spawnError.message}`;
    return this.signal ? `killed by ${this.signal}` : `exit status ${this.code}`;
  }

  // SIGTERM, then SIGKILL after KILL_GRACE_MS.
  async stop() {
    this.expectedExit = true;
    if (!this.alive()) return;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => {
      if (!this.alive()) return;
      log(`${this.name} still there ${KILL_GRACE_MS / 1000} s after SIGTERM: SIGKILL`);
      this.proc.kill("SIGKILL");
    }, KILL_GRACE_MS);
    await this.exited;
    clearTimeout(t);
  }
}

// One load generator process: JSON lines on stdout, commands on stdin.
class Loadgen extends Child {
  constructor(name, argv, opts) {
    super(name, argv, { ...opts, stdin: true });
    this.readyLine = null;
    this.readyWaiters = [];
    this.reportWaiters = [];
    this.lines.on("line", (line) => this.onLine(line));
    this.exited.then(() => {
      const err = new Error(`${this.name} exited (${this.describeExit()}); log ${this.logFile}`);
      for (const w of [...this.readyWaiters, ...this.reportWaiters]) w.reject(err);
      this.readyWaiters = [];
      this.reportWaiters = [];
    });
  }

  onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      log(`${this.name}: not JSON on stdout: ${line.slice(0, 200)}`);
      return;
    }
    if (msg.type === "ready") {
      this.readyLine = msg;
      for (const w of this.readyWaiters) w.resolve(msg);
      this.readyWaiters = [];
    } else if (msg.type === "report") {
      const w = this.reportWaiters.shift();
      if (w) w.resolve(msg);
    }
  }

  send(cmd) {
    if (this.alive()) this.proc.stdin.write(cmd + "\n");
  }

  ready(timeoutMs) {
    if (this.readyLine) return Promise.resolve(this.readyLine);
    if (!this.alive()) return Promise.reject(new Error(`${this.name} exited (${this.describeExit()})`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${this.name} did not report ready within ${Math.round(timeoutMs / 1000)} s`)),
        timeoutMs,
      );
      this.readyWaiters.push({
        resolve: (m) => (clearTimeout(t), resolve(m)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
    });
  }

  report() {
    if (!this.alive()) return Promise.reject(new Error(`${this.name} exited (${this.describeExit()})`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.name} did not answer "report" within 30 s`)), 30000);
      this.reportWaiters.push({
        resolve: (m) => (clearTimeout(t), resolve(m)),
        reject: (e) => (clearTimeout(t), reject(e)),
      });
      this.send("report");
    });
  }

  // "quit", then SIGTERM/SIGKILL if it does not go within 10 s. A non-zero exit after quit is a crash.
  async quit() {
    this.expectedExit = true;
    if (!this.alive()) return;
    this.send("quit");
    this.proc.stdin.end();
    const t = setTimeout(() => this.stop(), 10000);
    await this.exited;
    clearTimeout(t);
    if (this.code !== 0 && !stopping)
      throw new Error(`${this.name} ended with ${this.describeExit()} after quit; log ${this.logFile}`);
  }
}

async function stopAll() {
  stopping = true;
  await Promise.all([...children].map((c) => c.stop()));
}

// ---------------------------------------------------------------------------------------------------------
// A run: one fresh server and the load generators driving it. Any of them exiting unexpectedly fails the run
// at its next wait.

class Run {
  constructor(scenario, serverKey, tag) {
    this.scenario = scenario;
    this.serverKey = serverKey;
    this.tag = `s${scenario}-${serverKey}${tag ? "-" + tag : ""}`;
    this.loadgens = [];
    this.nextLoadgen = 0;
    this.failed = new Promise((_, reject) => (this.fail = reject));
    this.failed.catch(() => {});
  }

  onUnexpectedExit(child) {
    const logTail = tail(child.logFile);
    if (logTail && !stopping) log(`${child.name} exited; the end of ${child.logFile}:\n${logTail}`);
    this.failure ??= new Error(`${child.name} exited unexpectedly (${child.describeExit()}); log ${child.logFile}`);
    this.fail(this.failure);
  }

  race(p) {
    return Promise.race([p, this.failed]);
  }

  sleep(ms) {
    return this.race(sleep(ms));
  }

  async startServer() {
    const spec = SERVERS[this.serverKey];
    const name = `${spec.label} server`;
    const logFile = path.join(LOG_DIR, `${this.tag}-server.log`);
    const argv = ["taskset", "-c", SERVER_CPU, ...spec.argv, "--host", HOST, "--port", "0"];
    this.server = new Child(name, argv, { logFile, onUnexpectedExit: (c) => this.onUnexpectedExit(c) });
    raiseNofile(this.server.pid);
    const port = await this.race(
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${name} did not print "listening" within 15 s; log ${logFile}`)),
          15000);
        this.server.lines.on("line", (line) => {
          const m = /^listening (\d+)/.exec(line);
          if (m) {
            clearTimeout(t);
            resolve(Number(m[1]));
          }
        });
      }),
    );
    this.port = port;
    this.pid = this.server.pid;
    return port;
  }

  // Starts load generators: specs is a list of {clients, rate, transport, mode, msgRate, payload}; id bases
  // follow each other. Returns the new Loadgen objects.
  startLoadgens(specs, idBase = 0) {
    const started = [];
    for (const s of specs) {
      const i = this.nextLoadgen++;
      const argv = ["taskset", "-c", LOADGEN_CPU, LOADGEN, "--port", String(this.port), "--host", HOST,
        "--clients", String(s.clients), "--connect-rate", fmtArg(s.rate), "--transport", s.transport,
        "--id-base", String(idBase), "--mode", s.mode];
      if (s.msgRate !== undefined) argv.push("--msg-rate", fmtArg(s.msgRate));
      if (s.payload !== undefined) argv.push("--payload", String(s.payload));
      if (s.rooms !== undefined) argv.push("--rooms", String(s.rooms));
      if (s.room !== undefined) argv.push("--room", s.room);
      if (s.bcastRoom !== undefined) argv.push("--bcast-room", s.bcastRoom);
      idBase += s.clients;
      const lg = new Loadgen(`loadgen ${i} (${s.mode}, ${s.transport}, ${s.clients} clients)`, argv, {
        logFile: path.join(LOG_DIR, `${this.tag}-loadgen${i}.log`),
        onUnexpectedExit: (c) => this.onUnexpectedExit(c),
      });
      lg.argv = argv.slice(3).map((a) => a.replace(ROOT + "/", ""));
      commandLines.add(lg.argv.join(" ").replace(/--port \d+/, "--port P"));
      started.push(lg);
      this.loadgens.push(lg);
    }
    return started;
  }

  ready(loadgens, timeoutMs) {
    return this.race(Promise.all(loadgens.map((l) => l.ready(timeoutMs))));
  }

  reports(loadgens) {
    return this.race(Promise.all(loadgens.map((l) => l.report())));
  }

  async quitLoadgens(loadgens) {
    await Promise.all(loadgens.map((l) => l.quit()));
    this.loadgens = this.loadgens.filter((l) => !loadgens.includes(l));
  }

  // Stops everything of the run. Throws the run's first failure (a process that exited unexpectedly, which
  // the scenario may not have noticed yet), else the first error while stopping.
  async close() {
    const errors = [];
    const quits = await Promise.allSettled(this.loadgens.map((l) => l.quit()));
    for (const q of quits) if (q.status === "rejected") errors.push(q.reason);
    this.loadgens = [];
    if (this.server) await this.server.stop();
    if (this.failure) throw this.failure;
    if (errors.length) throw errors[0];
  }
}

const commandLines = new Set(); // for the record: every loadgen command line used (results.json)

function fmtArg(x) {
  return String(Math.round(x * 1000) / 1000);
}

// The Node server cannot raise its own open-files limit: give it the hard limit from outside.
const havePrlimit = have("prlimit");
function raiseNofile(pid) {
  const { soft, hard } = nofileLimits();
  if (soft !== hard && havePrlimit) spawnSync("prlimit", ["--pid", String(pid), `--nofile=${hard}:${hard}`]);
}

// Splits `clients` over ceil(clients / MAX_CLIENTS_PER_LOADGEN) processes, the total connect rate divided
// between them so that it holds.
function split(clients, totalRate, common) {
  if (clients <= 0) return [];
  const n = Math.ceil(clients / MAX_CLIENTS_PER_LOADGEN);
  const specs = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(clients / n) + (i < clients % n ? 1 : 0);
    specs.push({ ...common, clients: c, rate: totalRate / n });
  }
  return specs;
}

// ---------------------------------------------------------------------------------------------------------
// Measuring

// One measured step: reset the loadgens' counters, sample the server's CPU, wait, collect the reports and
// sample again.
async function measure(run, loadgens, ms) {
  const startReports = await run.reports(loadgens);
  const cpu0 = cpuSeconds(run.pid);
  const t0 = nowS();
  await run.sleep(ms);
  const reports = await run.reports(loadgens);
  const cpu1 = cpuSeconds(run.pid);
  const t1 = nowS();
  return { durationS: t1 - t0, serverCpuS: cpu1 - cpu0, mem: memoryKb(run.pid), startReports, reports };
}

const COUNTERS = ["connected", "connects", "connect_failed", "disconnects", "sent", "received", "acks",
  "bytes_in", "cpu_s"];

// Sums the counters, merges the histograms by bucket and the broadcast entries by seq.
function merge(reports) {
  const m = { processes: reports.length };
  for (const k of COUNTERS) m[k] = reports.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  for (const h of ["lat", "hs"]) {
    const buckets = new Map();
    for (const r of reports) for (const [lo, n] of r[h] || []) buckets.set(lo, (buckets.get(lo) || 0) + n);
    m[h] = [...buckets].sort((a, b) => a[0] - b[0]);
  }
  const seqs = new Map();
  for (const r of reports) {
    for (const [seq, first, last, count] of r.bcast || []) {
      const e = seqs.get(seq);
      if (!e) seqs.set(seq, [seq, first, last, count]);
      else {
        e[1] = Math.min(e[1], first);
        e[2] = Math.max(e[2], last);
        e[3] += count;
      }
    }
  }
  m.bcast = [...seqs.values()].sort((a, b) => a[0] - b[0]);
  return m;
}

// The smallest bucket lower bound whose cumulative count reaches the fraction, in milliseconds.
function percentileMs(hist, fraction) {
  const total = hist.reduce((a, [, n]) => a + n, 0);
  if (!total) return null;
  let cum = 0;
  for (const [lo, n] of hist) {
    cum += n;
    if (cum >= fraction * total) return lo / 1000;
  }
  return hist[hist.length - 1][0] / 1000;
}

// Nearest-rank percentile of a list of numbers.
function percentile(values, fraction) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(fraction * s.length) - 1)];
}

// The figures every rate step reports: latency percentiles, the server's and the load generators' CPU, memory.
function stepFigures(m, merged) {
  return {
    p50Ms: percentileMs(merged.lat, 0.5),
    p99Ms: percentileMs(merged.lat, 0.99),
    serverCpuS: m.serverCpuS,
    serverCpuPct: (100 * m.serverCpuS) / m.durationS,
    loadgenCpuPct: (100 * merged.cpu_s) / m.durationS,
    rssKb: m.mem.rssKb,
    durationS: m.durationS,
  };
}

function loadgenNote(cpuS, durationS) {
  return durationS > 0 && cpuS / durationS > SATURATED ? "loadgen saturated" : "";
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios. Each returns {rows: [...]} for one server; a row is {step, ...numbers, note}.

// 1. Idle capacity: ramp, hold, memory per connection, idle CPU. Then the same with 5% polling-only clients.
async function scenarioIdle(serverKey, cfg) {
  const rows = [];
  for (const variant of [{ step: "websocket", polling: 0 }, { step: "5% polling", polling: 0.05 }]) {
    const run = new Run(1, serverKey, variant.polling ? "polling" : "ws");
    try {
      await run.startServer();
      await run.sleep(AFTER_START_MS);
      const base = memoryKb(run.pid);
      const nPoll = Math.round(cfg.clients * variant.polling);
      const nWs = cfg.clients - nPoll;
      const common = { mode: "idle", rooms: IDLE_ROOMS };
      const specs = [
        ...split(nWs, (cfg.rate * nWs) / cfg.clients, { ...common, transport: "websocket" }),
        ...split(nPoll, (cfg.rate * nPoll) / cfg.clients, { ...common, transport: "polling" }),
      ];
      log(`scenario 1, ${SERVERS[serverKey].label}, ${variant.step}: ${cfg.clients} clients at ${cfg.rate}/s ` +
        `(${nPoll} polling), hold ${cfg.holdS} s`);
      const cpuStart = cpuSeconds(run.pid);
      const t0 = nowS();
      const lgs = run.startLoadgens(specs);
      const readies = await run.ready(lgs, (cfg.clients / cfg.rate + 60) * 1000);
      const rampS = nowS() - t0;
      const rampCpuS = cpuSeconds(run.pid) - cpuStart;
      const m = await measure(run, lgs, cfg.holdS * 1000);
      const ramp = merge(m.startReports);
      const hold = merge(m.reports);
      const connected = hold.connected;
      const rampFailed = readies.reduce((a, r) => a + r.failed, 0);
      const per = (kbNow, kb0) => (connected ? (kbNow - kb0) / connected : null); // KiB per connection
      rows.push({
        step: variant.step,
        clients: cfg.clients,
        pollingClients: nPoll,
        connectedAfterRamp: readies.reduce((a, r) => a + r.connected, 0),
        connected,
        failed: rampFailed + hold.connect_failed,
        disconnects: hold.disconnects,
        rampS,
        rampCpuS,
        rampLoadgenCpuS: ramp.cpu_s,
        rssBaseKb: base.rssKb,
        hwmBaseKb: base.hwmKb,
        rssKb: m.mem.rssKb,
        hwmKb: m.mem.hwmKb,
        rssPerConnKib: per(m.mem.rssKb, base.rssKb),
        hwmPerConnKib: per(m.mem.hwmKb, base.hwmKb),
        holdS: m.durationS,
        idleCpuPct: (100 * m.serverCpuS) / m.durationS,
        holdLoadgenCpuPct: (100 * hold.cpu_s) / m.durationS,
        note: loadgenNote(ramp.cpu_s, rampS) ? "loadgen saturated (ramp)" : "",
        raw: { readies, ramp, hold, reports: m.reports },
      });
    } finally {
      await run.close();
    }
  }
  return rows;
}

// 2. Handshake rate: open-loop connect/CONNECT/close at fixed rates, over websocket and over the default
// polling-then-upgrade path.
async function scenarioHandshake(serverKey, cfg) {
  const rows = [];
  const run = new Run(2, serverKey);
  try {
    await run.startServer();
    await run.sleep(AFTER_START_MS);
    for (const transport of ["websocket", "upgrade"]) {
      for (const rate of cfg.rates) {
        const total = rate * cfg.stepS;
        log(`scenario 2, ${SERVERS[serverKey].label}: ${transport}, ${rate}/s for ${cfg.stepS} s (${total} handshakes)`);
        const cpu0 = cpuSeconds(run.pid);
        const lgs = run.startLoadgens(split(total, rate, { mode: "once", transport }));
        const readies = await run.ready(lgs, (cfg.stepS + 60) * 1000);
        const reports = await run.reports(lgs);
        const merged = merge(reports);
        await run.quitLoadgens(lgs);
        await run.sleep(500); // the server finishes the last closes: part of a handshake's cost
        const cpuS = cpuSeconds(run.pid) - cpu0;
        const elapsedS = Math.max(...readies.map((r) => r.elapsed_s));
        // Handshakes finished (with --transport upgrade: the upgrade too); merged.connects counts CONNECT answers,
        // some of which may belong to clients whose upgrade then failed.
        const completed = readies.reduce((a, r) => a + r.connected, 0);
        rows.push({
          step: `${transport} ${rate}/s`,
          transport,
          offeredPerS: rate,
          handshakes: total,
          completed,
          failed: merged.connect_failed || readies.reduce((a, r) => a + r.failed, 0),
          elapsedS,
          perS: elapsedS > 0 ? completed / elapsedS : null,
          hsP50Ms: percentileMs(merged.hs, 0.5),
          hsP99Ms: percentileMs(merged.hs, 0.99),
          serverCpuS: cpuS,
          serverCpuPct: elapsedS > 0 ? (100 * cpuS) / elapsedS : null,
          cpuPer1kHs: completed ? (cpuS / completed) * 1000 : null,
          loadgenCpuPct: elapsedS > 0 ? (100 * merged.cpu_s) / elapsedS : null,
          note: loadgenNote(merged.cpu_s, elapsedS),
          raw: { readies, merged, reports },
        });
        await run.sleep(1000);
      }
    }
  } finally {
    await run.close();
  }
  return rows;
}

// 3. Ack echo: 1,000 websocket clients, each emitting "echo" with an ack at a per-client rate.
async function scenarioEcho(serverKey, cfg) {
  const rows = [];
  const run = new Run(3, serverKey);
  try {
    await run.startServer();
    await run.sleep(AFTER_START_MS);
    const lgs = run.startLoadgens(split(cfg.clients, RAMP_RATE, {
      mode: "echo", transport: "websocket", msgRate: 0, payload: ECHO_PAYLOAD }));
    const readies = await run.ready(lgs, (cfg.clients / RAMP_RATE + 60) * 1000);
    for (const rate of cfg.rates) {
      log(`scenario 3, ${SERVERS[serverKey].label}: ${cfg.clients} clients x ${rate}/s for ${cfg.stepS} s`);
      for (const l of lgs) l.send(`rate ${rate}`);
      await run.sleep(SETTLE_MS);
      const m = await measure(run, lgs, cfg.stepS * 1000);
      const merged = merge(m.reports);
      const offered = cfg.clients * rate;
      const acksPerS = merged.acks / m.durationS;
      const notes = [loadgenNote(merged.cpu_s, m.durationS)];
      if (acksPerS < 0.9 * offered) notes.push("below offered rate");
      rows.push({
        step: `${rate}/s per client`,
        rate,
        clients: merged.connected,
        offeredPerS: offered,
        acksPerS,
        sentPerS: merged.sent / m.durationS,
        ...stepFigures(m, merged),
        p999Ms: percentileMs(merged.lat, 0.999),
        cpuPer1MAcks: merged.acks ? (m.serverCpuS / merged.acks) * 1e6 : null,
        note: notes.filter(Boolean).join("; "),
        raw: { readies, merged, reports: m.reports },
      });
    }
  } finally {
    await run.close();
  }
  return rows;
}

// 4. Big broadcast: N receiving clients in one room, one trigger client (not in it) emitting "bcast" to that room
// (io.to(room).emit) at a rate.
async function scenarioBcast(serverKey, cfg) {
  const rows = [];
  const run = new Run(4, serverKey);
  try {
    await run.startServer();
    await run.sleep(AFTER_START_MS);
    const recv = run.startLoadgens(split(cfg.clients, RAMP_RATE, { mode: "recv", transport: "websocket",
      room: BIG_ROOM }));
    const readies = await run.ready(recv, (cfg.clients / RAMP_RATE + 60) * 1000);
    const [trigger] = run.startLoadgens([{ mode: "trigger", transport: "websocket", clients: 1, rate: RAMP_RATE,
      msgRate: 0, payload: BCAST_PAYLOAD, bcastRoom: BIG_ROOM }], cfg.clients);
    await run.ready([trigger], 60000);
    for (const rate of cfg.rates) {
      log(`scenario 4, ${SERVERS[serverKey].label}: ${cfg.clients} receivers, ${rate} broadcasts/s for ${cfg.stepS} s`);
      trigger.send(`rate ${rate}`);
      await run.sleep(SETTLE_MS);
      const m = await measure(run, [...recv, trigger], cfg.stepS * 1000);
      const merged = merge(m.reports.slice(0, recv.length));
      const trig = m.reports[recv.length];
      // A broadcast's first-to-last spread is only known when all its receipts fell inside the step.
      const receivers = merged.connected;
      const complete = merged.bcast.filter((e) => e[3] >= receivers);
      const spreadsMs = complete.map((e) => (e[2] - e[1]) / 1e6);
      const deliveries = merged.received;
      const lgCpu = merged.cpu_s + (Number(trig.cpu_s) || 0);
      const notes = [loadgenNote(lgCpu, m.durationS)];
      if (trig.sent && deliveries < 0.9 * trig.sent * receivers) notes.push("deliveries behind");
      if (merged.bcast.length && complete.length < merged.bcast.length / 2)
        notes.push(`only ${complete.length}/${merged.bcast.length} broadcasts complete in the step`);
      rows.push({
        step: `${rate} bcast/s`,
        rate,
        receivers,
        broadcasts: Number(trig.sent) || 0,
        deliveries,
        deliveriesPerS: deliveries / m.durationS,
        f2lP50Ms: percentile(spreadsMs, 0.5),
        f2lP99Ms: percentile(spreadsMs, 0.99),
        completeBroadcasts: complete.length,
        latP50Ms: percentileMs(merged.lat, 0.5),
        latP99Ms: percentileMs(merged.lat, 0.99),
        serverCpuS: m.serverCpuS,
        serverCpuPct: (100 * m.serverCpuS) / m.durationS,
        cpuPer1MDeliveries: deliveries ? (m.serverCpuS / deliveries) * 1e6 : null,
        deliveriesPerCpuS: m.serverCpuS > 0 ? deliveries / m.serverCpuS : null,
        loadgenCpuPct: (100 * lgCpu) / m.durationS,
        rssKb: m.mem.rssKb,
        durationS: m.durationS,
        note: notes.filter(Boolean).join("; "),
        raw: { readies, merged, trigger: trig, reports: m.reports },
      });
    }
  } finally {
    await run.close();
  }
  return rows;
}

// 5. Chat rooms: clients in rooms of 10, each emitting "chat" (64 bytes) at a per-client rate, which the server
// relays to the 9 others of its room (socket.to(room).emit).
async function scenarioChat(serverKey, cfg) {
  const rows = [];
  const run = new Run(5, serverKey);
  try {
    await run.startServer();
    await run.sleep(AFTER_START_MS);
    const rooms = Math.max(1, Math.round(cfg.clients / CHAT_ROOM_SIZE));
    const lgs = run.startLoadgens(split(cfg.clients, RAMP_RATE, {
      mode: "chat", transport: "websocket", msgRate: 0, payload: CHAT_PAYLOAD, rooms }));
    const readies = await run.ready(lgs, (cfg.clients / RAMP_RATE + 60) * 1000);
    for (const rate of cfg.rates) {
      log(`scenario 5, ${SERVERS[serverKey].label}: ${cfg.clients} clients in ${rooms} rooms, ${rate}/s each, ${cfg.stepS} s`);
      for (const l of lgs) l.send(`rate ${rate}`);
      await run.sleep(SETTLE_MS);
      const m = await measure(run, lgs, cfg.stepS * 1000);
      const merged = merge(m.reports);
      const expected = merged.sent * (CHAT_ROOM_SIZE - 1);
      const notes = [loadgenNote(merged.cpu_s, m.durationS)];
      if (merged.sent && merged.received < 0.9 * expected) notes.push("deliveries behind");
      rows.push({
        step: `${rate}/s per client`,
        rate,
        clients: merged.connected,
        messagesPerS: merged.sent / m.durationS,
        deliveriesPerS: merged.received / m.durationS,
        ...stepFigures(m, merged),
        cpuPer1MDeliveries: merged.received ? (m.serverCpuS / merged.received) * 1e6 : null,
        note: notes.filter(Boolean).join("; "),
        raw: { readies, merged, reports: m.reports },
      });
    }
  } finally {
    await run.close();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------
// Printing: one markdown table per scenario, a row per step per server, then the ratio ours/Node.

const f0 = (x) => (x == null || !Number.isFinite(x) ? "—" : Math.round(x).toLocaleString("en-US"));
const fd = (d) => (x) => (x == null || !Number.isFinite(x) ? "—" : x.toFixed(d));
const f1 = fd(1);
const f2 = fd(2);
const fms = (x) => (x == null ? "—" : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toString());
const fmib = (kb) => (kb == null ? "—" : (kb / 1024).toFixed(1));

function ratioText(ours, node) {
  if (ours == null || node == null || !Number.isFinite(ours) || !Number.isFinite(node) || node === 0) return "—";
  const r = ours / node;
  if (r === 0) return "0";
  if (Math.abs(r - 1) < 0.005) return "1.00 (same)";
  const factor = (x) => (x < 1.995 ? x.toFixed(2) : x.toFixed(1));
  return r < 1 ? `${r.toFixed(2)} (${factor(1 / r)}x less)` : `${r.toFixed(2)} (${factor(r)}x more)`;
}

// columns: {h: header, v: row => value, f: format, ratio: bool}
const TABLES = {
  1: {
    title: "Scenario 1: idle capacity",
    columns: [
      { h: "clients", v: (r) => r.clients, f: f0 },
      { h: "connected", v: (r) => r.connected, f: f0 },
      { h: "failed", v: (r) => r.failed, f: f0 },
      { h: "disconnects (hold)", v: (r) => r.disconnects, f: f0 },
      { h: "ramp s", v: (r) => r.rampS, f: f1 },
      { h: "srv CPU s (ramp)", v: (r) => r.rampCpuS, f: f2, ratio: true },
      { h: "srv RSS MiB (start → hold)", v: (r) => r, f: (r) => `${fmib(r.rssBaseKb)} → ${fmib(r.rssKb)}` },
      { h: "RSS/conn KiB", v: (r) => r.rssPerConnKib, f: f1, ratio: true },
      { h: "HWM/conn KiB", v: (r) => r.hwmPerConnKib, f: f1, ratio: true },
      { h: "srv CPU % (idle hold)", v: (r) => r.idleCpuPct, f: f2, ratio: true },
      { h: "lg CPU % (hold)", v: (r) => r.holdLoadgenCpuPct, f: f1 },
    ],
    legend: "RSS/HWM per connection = (value after the hold - value 1 s after start, before any client) / connected. " +
      "srv CPU = the server process on CPU 0; lg = the load generators on CPU 1.",
  },
  2: {
    title: "Scenario 2: handshake rate",
    columns: [
      { h: "offered/s", v: (r) => r.offeredPerS, f: f0 },
      { h: "completed", v: (r) => r.completed, f: f0 },
      { h: "failed", v: (r) => r.failed, f: f0 },
      { h: "handshakes/s", v: (r) => r.perS, f: f0, ratio: true },
      { h: "CONNECT p50 ms", v: (r) => r.hsP50Ms, f: fms, ratio: true },
      { h: "CONNECT p99 ms", v: (r) => r.hsP99Ms, f: fms, ratio: true },
      { h: "srv CPU %", v: (r) => r.serverCpuPct, f: f0 },
      { h: "srv CPU s / 1k hs", v: (r) => r.cpuPer1kHs, f: fd(3), ratio: true },
      { h: "lg CPU %", v: (r) => r.loadgenCpuPct, f: f0 },
    ],
    legend: "Open loop, mode once (connect, CONNECT, close; upgrade = polling handshake, CONNECT over polling, then " +
      "the websocket upgrade). handshakes/s = completed / time until the last one finished. Latency: TCP connect " +
      "to the CONNECT answer. srv CPU includes the closes.",
  },
  3: {
    title: "Scenario 3: ack echo",
    columns: [
      { h: "clients", v: (r) => r.clients, f: f0 },
      { h: "offered/s", v: (r) => r.offeredPerS, f: f0 },
      { h: "acks/s", v: (r) => r.acksPerS, f: f0, ratio: true },
      { h: "RTT p50 ms", v: (r) => r.p50Ms, f: fms, ratio: true },
      { h: "RTT p99 ms", v: (r) => r.p99Ms, f: fms, ratio: true },
      { h: "RTT p99.9 ms", v: (r) => r.p999Ms, f: fms, ratio: true },
      { h: "srv CPU %", v: (r) => r.serverCpuPct, f: f0 },
      { h: "srv CPU s / 1M acks", v: (r) => r.cpuPer1MAcks, f: f2, ratio: true },
      { h: "lg CPU %", v: (r) => r.loadgenCpuPct, f: f0 },
    ],
    legend: `Payload ${ECHO_PAYLOAD} bytes, websocket, open loop; each step measured after ${SETTLE_MS / 1000} s ` +
      "at the new rate. srv CPU = the server on CPU 0; lg = the load generators on CPU 1.",
  },
  4: {
    title: "Scenario 4: big broadcast",
    columns: [
      { h: "receivers", v: (r) => r.receivers, f: f0 },
      { h: "broadcasts", v: (r) => r.broadcasts, f: f0 },
      { h: "deliveries/s", v: (r) => r.deliveriesPerS, f: f0, ratio: true },
      { h: "first→last p50 ms", v: (r) => r.f2lP50Ms, f: fms, ratio: true },
      { h: "first→last p99 ms", v: (r) => r.f2lP99Ms, f: fms, ratio: true },
      { h: "latency p50 ms", v: (r) => r.latP50Ms, f: fms, ratio: true },
      { h: "latency p99 ms", v: (r) => r.latP99Ms, f: fms, ratio: true },
      { h: "srv CPU %", v: (r) => r.serverCpuPct, f: f0 },
      { h: "srv CPU s / 1M deliveries", v: (r) => r.cpuPer1MDeliveries, f: f2, ratio: true },
      { h: "deliveries / srv CPU s", v: (r) => r.deliveriesPerCpuS, f: f0, ratio: true },
      { h: "lg CPU %", v: (r) => r.loadgenCpuPct, f: f0 },
    ],
    legend: `io.to("${BIG_ROOM}").emit("tick", ~${BCAST_PAYLOAD}-byte payload), every receiver in that room. first→last: per broadcast, last receipt ` +
      "- first receipt over all receivers (broadcasts received completely within the step). latency: trigger's " +
      "send to each receipt. srv CPU = the server on CPU 0; lg = the load generators on CPU 1.",
  },
  5: {
    title: "Scenario 5: chat rooms",
    columns: [
      { h: "clients", v: (r) => r.clients, f: f0 },
      { h: "messages/s", v: (r) => r.messagesPerS, f: f0 },
      { h: "deliveries/s", v: (r) => r.deliveriesPerS, f: f0, ratio: true },
      { h: "latency p50 ms", v: (r) => r.p50Ms, f: fms, ratio: true },
      { h: "latency p99 ms", v: (r) => r.p99Ms, f: fms, ratio: true },
      { h: "srv CPU %", v: (r) => r.serverCpuPct, f: f0 },
      { h: "srv CPU s / 1M deliveries", v: (r) => r.cpuPer1MDeliveries, f: f2, ratio: true },
      { h: "lg CPU %", v: (r) => r.loadgenCpuPct, f: f0 },
    ],
    legend: `Rooms of ${CHAT_ROOM_SIZE}; each client emits "chat" (${CHAT_PAYLOAD} bytes) at the rate, the server relays ` +
      "it to the others of its room (socket.to(room).emit): 9 deliveries per message. latency: send to each " +
      "receipt. srv CPU = the server on CPU 0; lg = the load generators on CPU 1.",
  },
};

// Scenario 5: the lowest rate whose p99 passes 100 ms, and the highest whose p99 stays under it.
const CHAT_P99_LIMIT_MS = 100;
function chatLimits(rows) {
  const passes = rows.find((r) => r.p99Ms != null && r.p99Ms > CHAT_P99_LIMIT_MS);
  const ok = rows.filter((r) => r.p99Ms != null && r.p99Ms <= CHAT_P99_LIMIT_MS && !/behind/.test(r.note)).at(-1);
  return { passes: passes ? passes.rate : null, sustained: ok ? ok.rate : null };
}

function mdTable(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => "| " + cells.map((c, i) => String(c).padEnd(widths[i])).join(" | ") + " |";
  return [line(headers), "| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |", ...rows.map(line)].join("\n");
}

function printScenario(n, byServer) {
  const t = TABLES[n];
  const headers = ["server", "step", ...t.columns.map((c) => c.h), "note"];
  const steps = [];
  for (const key of Object.keys(byServer))
    for (const r of byServer[key].rows || []) if (!steps.includes(r.step)) steps.push(r.step);
  const rows = [];
  for (const step of steps) {
    const found = {};
    for (const key of Object.keys(byServer)) {
      const r = (byServer[key].rows || []).find((x) => x.step === step);
      if (!r) continue;
      found[key] = r;
      rows.push([SERVERS[key].label, step, ...t.columns.map((c) => c.f(c.v(r))), r.note || ""]);
    }
    if (found.ours && found.node)
      rows.push(["ours/Node", step, ...t.columns.map((c) => (c.ratio ? ratioText(c.v(found.ours), c.v(found.node)) : "")), ""]);
  }
  const out = [`\n### ${t.title}\n`];
  if (rows.length) out.push(mdTable(headers, rows));
  for (const key of Object.keys(byServer))
    if (byServer[key].error) out.push(`\n${SERVERS[key].label}: FAILED: ${byServer[key].error}`);
  out.push(`\n${t.legend}`);
  if (n === 3) {
    for (const key of Object.keys(byServer)) {
      if (!byServer[key].rows) continue;
      const best = bestEchoRate(byServer[key].rows);
      out.push(`${SERVERS[key].label}: highest rate with RTT p99 <= ${P99_TARGET_MS} ms (and >= 90% of the offered ` +
        `rate delivered): ${best ? `${best.rate}/s per client (${f0(best.acksPerS)} acks/s)` : "none of the rates"}`);
    }
  }
  if (n === 5) {
    for (const key of Object.keys(byServer)) {
      if (!byServer[key].rows) continue;
      const l = chatLimits(byServer[key].rows);
      out.push(`${SERVERS[key].label}: p99 first over ${CHAT_P99_LIMIT_MS} ms at ` +
        `${l.passes != null ? `${l.passes}/s per client` : "none of the rates"}; highest rate with p99 <= ` +
        `${CHAT_P99_LIMIT_MS} ms: ${l.sustained != null ? `${l.sustained}/s per client` : "none"}`);
    }
  }
  process.stdout.write(out.join("\n") + "\n");
}

function bestEchoRate(rows) {
  let best = null;
  for (const r of rows)
    if (r.p99Ms != null && r.p99Ms <= P99_TARGET_MS && r.acksPerS >= 0.9 * r.offeredPerS && (!best || r.rate > best.rate))
      best = r;
  return best;
}

// The headline figures: the first scenario-1 variant, and the highest-rate step of the others.
function summary(results) {
  const lines = [];
  const get = (n, key) => results.scenarios[n]?.[key]?.rows || [];
  const add = (label, n, pick, value, f) => {
    const o = pick(get(n, "ours"));
    const nd = pick(get(n, "node"));
    const vo = o ? value(o) : null;
    const vn = nd ? value(nd) : null;
    if (vo == null && vn == null) return;
    lines.push({ label, ours: vo, node: vn, f });
  };
  const step = (s) => (rows) => rows.find((r) => r.step === s);
  const last = (pred) => (rows) => rows.filter(pred).at(-1);
  add("1 idle websocket: RSS per connection, KiB", 1, step("websocket"), (r) => r.rssPerConnKib, f1);
  add("1 idle websocket: VmHWM per connection, KiB", 1, step("websocket"), (r) => r.hwmPerConnKib, f1);
  add("1 idle websocket: server CPU % while idle", 1, step("websocket"), (r) => r.idleCpuPct, f2);
  add("1 idle 5% polling: RSS per connection, KiB", 1, step("5% polling"), (r) => r.rssPerConnKib, f1);
  for (const tr of ["websocket", "upgrade"]) {
    const pick = last((r) => r.transport === tr);
    add(`2 handshakes (${tr}, highest rate): server CPU s per 1k`, 2, pick, (r) => r.cpuPer1kHs, fd(3));
    add(`2 handshakes (${tr}, highest rate): per second`, 2, pick, (r) => r.perS, f0);
    add(`2 handshakes (${tr}, highest rate): CONNECT p99 ms`, 2, pick, (r) => r.hsP99Ms, fms);
  }
  add("3 echo (highest rate): server CPU s per 1M acks", 3, last(() => true), (r) => r.cpuPer1MAcks, f2);
  add("3 echo (highest rate): acks/s", 3, last(() => true), (r) => r.acksPerS, f0);
  add("3 echo (highest rate): RTT p99 ms", 3, last(() => true), (r) => r.p99Ms, fms);
  add(`3 echo: highest per-client rate with p99 <= ${P99_TARGET_MS} ms`, 3, (rows) => ({ rows }),
    (x) => bestEchoRate(x.rows)?.rate ?? null, f0);
  add("4 broadcast (highest rate): server CPU s per 1M deliveries", 4, last(() => true), (r) => r.cpuPer1MDeliveries, f2);
  add("4 broadcast (highest rate): deliveries/s", 4, last(() => true), (r) => r.deliveriesPerS, f0);
  add("4 broadcast (highest rate): first→last p99 ms", 4, last(() => true), (r) => r.f2lP99Ms, fms);
  add("5 chat rooms (highest rate): server CPU s per 1M deliveries", 5, last(() => true), (r) => r.cpuPer1MDeliveries, f2);
  add("5 chat rooms (highest rate): deliveries/s", 5, last(() => true), (r) => r.deliveriesPerS, f0);
  add("5 chat rooms (highest rate): latency p99 ms", 5, last(() => true), (r) => r.p99Ms, fms);
  add(`5 chat rooms: highest per-client rate with p99 <= ${CHAT_P99_LIMIT_MS} ms`, 5, (rows) => ({ rows }),
    (x) => chatLimits(x.rows).sustained, f1);
  if (!lines.length) return;
  const rows = lines.map((l) => [l.label, l.f(l.ours), l.f(l.node), ratioText(l.ours, l.node)]);
  process.stdout.write(`\n### Summary (${results.mode})\n\n` + mdTable(["metric", "ours", "Node", "ours/Node"], rows) + "\n");
}

// ---------------------------------------------------------------------------------------------------------

function versionOf(pkg) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, "bench/node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

function machine() {
  const git = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" });
  let debian = null;
  try {
    debian = fs.readFileSync("/etc/debian_version", "utf8").trim();
  } catch {}
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    kernel: os.release(),
    debian,
    node: process.version,
    socketio: versionOf("socket.io"),
    ws: versionOf("ws"),
    bufferutil: versionOf("bufferutil"),
    commit: (git.stdout || "").trim() || null,
    clkTck: CLK_TCK,
    nofile: nofileLimits(),
  };
}

function preflight(opts) {
  const problems = [];
  if (!have("taskset")) problems.push("taskset not found (util-linux)");
  if (os.cpus().length < 2) problems.push("needs 2 CPUs: the server on CPU 0, the load generators on CPU 1");
  if (!fs.existsSync(LOADGEN)) problems.push(`${LOADGEN} missing: make build/bench/loadgen`);
  if (opts.servers.includes("ours") && !fs.existsSync(SERVERS.ours.argv[0]))
    problems.push(`${SERVERS.ours.argv[0]} missing: make build/bench/bench_server`);
  if (opts.servers.includes("node") && !versionOf("socket.io"))
    problems.push("bench/node_modules missing: scripts/deps.sh --bench");
  if (problems.length) {
    for (const p of problems) log(p);
    process.exit(1);
  }
}

const SCENARIOS = { 1: ["idle", scenarioIdle], 2: ["handshake", scenarioHandshake], 3: ["echo", scenarioEcho],
  4: ["bcast", scenarioBcast], 5: ["chat", scenarioChat] };

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  preflight(opts);
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const cfg = opts.full ? FULL : opts.smoke ? SMOKE : QUICK;
  const results = { mode: opts.full ? "full" : opts.smoke ? "smoke" : "quick", started: new Date().toISOString(), machine: machine(),
    config: cfg, scenarios: {} };
  const started = nowS();
  let failures = 0;
  process.stdout.write(`## make bench (${results.mode}): ours vs Node socket.io ${results.machine.socketio} ` +
    `(ws ${results.machine.ws}, bufferutil ${results.machine.bufferutil}), node ${process.version}, ` +
    `server on CPU ${SERVER_CPU}, load generators on CPU ${LOADGEN_CPU}\n`);
  for (const n of opts.scenarios) {
    const [name, fn] = SCENARIOS[n];
    results.scenarios[n] = {};
    for (const key of opts.servers) {
      try {
        results.scenarios[n][key] = { rows: await fn(key, cfg[name]) };
      } catch (err) {
        if (stopping) throw err;
        failures++;
        log(`scenario ${n}, ${SERVERS[key].label}: ${err.message}`);
        results.scenarios[n][key] = { error: err.message };
      }
      fs.writeFileSync(RESULTS, JSON.stringify(results, null, 1));
    }
    printScenario(n, results.scenarios[n]);
  }
  results.finished = new Date().toISOString();
  results.commandLines = [...commandLines];
  fs.writeFileSync(RESULTS, JSON.stringify(results, null, 1));
  summary(results);
  process.stdout.write(`\nraw numbers: ${path.relative(ROOT, RESULTS)}; logs: ${path.relative(ROOT, LOG_DIR)}/; ` +
    `${Math.round(nowS() - started)} s\n`);
  return failures ? 1 : 0;
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (stopping) return;
    log(`${sig}: stopping every process started`);
    stopAll().finally(() => process.exit(130));
  });
}
// Last resort: a child still there when we exit (it should not be) gets SIGKILL.
process.on("exit", () => {
  for (const c of children) c.proc.kill("SIGKILL");
});

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err) => {
    log(`error: ${err.stack || err.message}`);
    await stopAll();
    process.exit(1);
  },
);
