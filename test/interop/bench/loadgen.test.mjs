// Smoke test of the benchmark's parts, so that `make bench` cannot rot: the C load generator
// (build/bench/loadgen) against our bench server (build/bench/bench_server), in every mode, with tiny loads.
// Figures are not checked here (benchmarks are not tests); what is checked is that each mode does what
// bench/run.mjs relies on: the counters, histograms and broadcast receipts agree with what was sent.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { root, isReference } from "../lib/server.mjs";

// make test-interop-san runs this against the ASan+UBSan build (a leak fails the exit status check).
const buildDir = process.env.EIO_CONFORMANCE ? path.dirname(path.resolve(process.env.EIO_CONFORMANCE)) : path.join(root, "build");
const skip = isReference ? "the bench server is ours (bench/server.mjs is Node's side)" : false;

async function startBenchServer() {
  const proc = spawn(path.join(buildDir, "bench/bench_server"), ["--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const rl = readline.createInterface({ input: proc.stdout });
  const port = await new Promise((resolve, reject) => {
    rl.on("line", (l) => { const m = /^listening (\d+)$/.exec(l); if (m) resolve(Number(m[1])); });
    proc.on("exit", (code) => reject(new Error(`bench_server exited early (${code})`)));
    proc.on("error", reject);
  });
  return {
    port,
    async stop() {
      const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
      proc.kill("SIGTERM");
      const { code, signal } = await exited;
      assert.equal(signal, null, "bench_server killed by a signal");
      assert.equal(code, 0, "bench_server exit status (ASan reports leaks through it)");
    },
  };
}

function startLoadgen(args) {
  const proc = spawn(path.join(root, "build/bench/loadgen"), args, { stdio: ["pipe", "pipe", "ignore"] });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: proc.stdout }).on("line", (l) => {
    const msg = JSON.parse(l);
    lines.push(msg);
    for (const w of [...waiters]) if (w.pred(msg)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(msg); }
  });
  const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  const next = (pred, ms = 20000) => {
    const seen = lines.find((m) => pred(m) && !m.taken);
    if (seen) { seen.taken = true; return Promise.resolve(seen); }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`loadgen: nothing within ${ms} ms; got ${JSON.stringify(lines)}`)), ms);
      waiters.push({ pred, resolve: (m) => { clearTimeout(timer); m.taken = true; resolve(m); } });
    });
  };
  return {
    ready: () => next((m) => m.type === "ready"),
    async report() { proc.stdin.write("report\n"); return next((m) => m.type === "report"); },
    send(cmd) { proc.stdin.write(cmd + "\n"); },
    async quit() { proc.stdin.end("quit\n"); assert.equal(await exited, 0, "loadgen exit status"); },
  };
}

const histCount = (h) => h.reduce((n, [, c]) => n + c, 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("loadgen echo over websocket: every emit is acknowledged, RTTs recorded", { skip }, async () => {
  const srv = await startBenchServer();
  const lg = startLoadgen(["--port", String(srv.port), "--clients", "20", "--mode", "echo", "--connect-rate", "200"]);
  const ready = await lg.ready();
  assert.deepEqual([ready.connected, ready.failed], [20, 0]);
  await lg.report(); // counters start now
  lg.send("rate 20");
  await sleep(1500);
  lg.send("rate 0");
  await sleep(500); // the last acks come back
  const r = await lg.report();
  assert.equal(r.connected, 20);
  assert.equal(r.disconnects, 0);
  assert.ok(r.sent >= 300, `sent ${r.sent} (20 clients x 20/s x 1.5 s = 600)`);
  assert.equal(r.acks, r.sent, "every echo acknowledged");
  assert.equal(histCount(r.lat), r.acks, "one RTT per ack");
  assert.ok(r.lat.every(([us]) => us < 5e6), "RTTs are plausible (under 5 s)");
  await lg.quit();
  await srv.stop();
});

test("loadgen handshakes (mode once) over polling+upgrade and websocket", { skip }, async () => {
  const srv = await startBenchServer();
  for (const transport of ["upgrade", "websocket", "polling"]) {
    const lg = startLoadgen(["--port", String(srv.port), "--clients", "30", "--connect-rate", "300", "--mode", "once", "--transport", transport]);
    const ready = await lg.ready();
    assert.deepEqual([ready.connected, ready.failed], [30, 0], transport);
    const r = await lg.report();
    assert.equal(r.connects, 30, transport);
    assert.equal(histCount(r.hs), 30, `${transport}: one connect-to-CONNECT latency per handshake`);
    assert.equal(r.connected, 0, `${transport}: each client closed after its handshake`);
    await lg.quit();
  }
  await srv.stop();
});

test("loadgen idle polling-only clients stay connected", { skip }, async () => {
  const srv = await startBenchServer();
  const lg = startLoadgen(["--port", String(srv.port), "--clients", "5", "--transport", "polling"]);
  const ready = await lg.ready();
  assert.deepEqual([ready.connected, ready.failed], [5, 0]);
  await sleep(300);
  const r = await lg.report();
  assert.equal(r.connected, 5);
  assert.equal(r.disconnects, 0);
  await lg.quit();
  await srv.stop();
});

test("loadgen broadcast: a trigger's bcast reaches every receiver once, receipts per sequence number", { skip }, async () => {
  const srv = await startBenchServer();
  const rx = startLoadgen(["--port", String(srv.port), "--clients", "10", "--mode", "recv"]);
  assert.equal((await rx.ready()).connected, 10);
  const tx = startLoadgen(["--port", String(srv.port), "--clients", "1", "--mode", "trigger", "--payload", "100"]);
  assert.equal((await tx.ready()).connected, 1);
  await rx.report();
  await tx.report();
  tx.send("rate 10");
  await sleep(1200);
  tx.send("rate 0");
  await sleep(500);
  const sent = (await tx.report()).sent;
  const r = await rx.report();
  assert.ok(sent >= 6, `trigger sent ${sent}`);
  assert.equal(r.received, 10 * sent, "every receiver got every broadcast");
  assert.equal(r.bcast.length, sent, "one entry per broadcast");
  for (const [seq, first, last, n] of r.bcast) {
    assert.equal(n, 10, `broadcast ${seq} reached all 10 receivers`);
    assert.ok(last >= first);
  }
  assert.equal(histCount(r.lat), r.received, "one latency per receipt");
  await rx.quit();
  await tx.quit();
  await srv.stop();
});
