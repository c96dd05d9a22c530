// Smoke test of the benchmark driver (bench/run.mjs --smoke): every scenario runs against our bench server
// with tiny loads and produces its rows, so that `make bench` cannot rot. No figure is checked against a
// target (benchmarks are not tests); the counts must agree with the load that was offered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { root, isReference, isSanitized } from "../lib/server.mjs";

const skip = isReference ? "the driver runs our server itself" : isSanitized ? "runs once, with the plain build" : false;

test("bench/run.mjs --smoke runs every scenario against our server", { skip, timeout: 120000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-smoke-"));
  const proc = spawn(process.execPath, [path.join(root, "bench/run.mjs"), "--smoke", "--only", "ours", "--out", out],
    { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise((resolve) => proc.on("exit", resolve));
  assert.equal(code, 0, `driver exit status; stderr:\n${stderr}`);
  const results = JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"));
  assert.equal(results.mode, "smoke");
  for (const n of [1, 2, 3, 4, 5]) {
    const ours = results.scenarios[n].ours;
    assert.ok(ours && !ours.error && ours.rows.length > 0, `scenario ${n}: ${JSON.stringify(ours)}`);
  }
  const chat = results.scenarios[5].ours.rows[0];
  assert.ok(chat.deliveriesPerS > 0 && chat.messagesPerS > 0, `chat row: ${JSON.stringify(chat).slice(0, 300)}`);
  assert.match(stdout, /### Summary \(smoke\)/);
  const idle = results.scenarios[1].ours.rows;
  assert.ok(idle.every((r) => r.connected === 200 && r.failed === 0), `idle rows: ${JSON.stringify(idle)}`);
  fs.rmSync(out, { recursive: true, force: true });
});
