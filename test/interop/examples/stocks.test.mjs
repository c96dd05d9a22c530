// The stocks example (examples/stocks): one room per symbol, a price simulator, POST /api/price with a token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startExample, connectClient, nextEvent, exampleBinary } from "../lib/example.mjs";

const TOKEN = "s3cret-token";
const QUIET_MS = 600; // how long "nothing arrives" is watched (well above a 50 ms tick)

// Starts the example and connects n clients; everything is closed and stopped after the test.
async function setup(t, args, n = 0, env = {}) {
  const ex = await startExample("stocks", { args, env });
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await ex.stop();
  });
  for (let i = 0; i < n; i++) clients.push(await connectClient(ex.base));
  return { ex, clients };
}

// Records every "price" a socket receives.
function record(socket) {
  const got = [];
  socket.on("price", (p) => got.push(p));
  return got;
}

// Resolves when cond() holds (checked every 20 ms); rejects after ms.
async function until(cond, ms = 8000, what = "condition") {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function post(base, body, headers = {}, method = "POST") {
  return fetch(base + "/api/price", {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: method === "GET" || method === "HEAD" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}
const auth = (token = TOKEN) => ({ Authorization: `Bearer ${token}` });

function checkTick(p, symbols) {
  assert.ok(symbols.includes(p.symbol), `unexpected symbol ${p.symbol}, subscribed to ${symbols}`);
  assert.equal(typeof p.price, "number");
  assert.ok(p.price > 0, `price ${p.price}`);
  assert.equal(Math.round(p.price * 100) / 100, p.price, `two decimals: ${p.price}`);
  assert.equal(typeof p.time, "number");
  assert.ok(Math.abs(p.time - Date.now()) < 60000, `time ${p.time}`);
}

test("each client receives only the ticks of the symbols it subscribed to", async (t) => {
  const { ex, clients } = await setup(t, ["--tick-ms", "50", "--token", TOKEN], 2);
  const [a, c] = clients;
  // b uses HTTP long-polling: rooms do not depend on the transport.
  const b = await connectClient(ex.base, "/", { transports: ["polling"] });
  clients.push(b);
  const gotA = record(a), gotB = record(b), gotC = record(c);
  const ackA = await a.emitWithAck("subscribe", "microsoft");
  assert.equal(ackA.ok, true);
  assert.equal(typeof ackA.price, "number");
  assert.ok(ackA.price > 0);
  assert.equal((await b.emitWithAck("subscribe", "apple")).ok, true);
  assert.equal((await b.emitWithAck("subscribe", "google")).ok, true);
  // c subscribes to nothing.
  const count = (got, s) => got.filter((p) => p.symbol === s).length;
  await until(() => count(gotA, "microsoft") >= 3 && count(gotB, "apple") >= 3 && count(gotB, "google") >= 3,
    10000, "three ticks of each symbol");
  for (const p of gotA) checkTick(p, ["microsoft"]);
  for (const p of gotB) checkTick(p, ["apple", "google"]);
  assert.equal(gotC.length, 0, "a client without subscriptions gets nothing");
  // Times do not go backwards within a symbol.
  const ms = gotA.map((p) => p.time);
  assert.deepEqual(ms, [...ms].sort((x, y) => x - y));
});

test("the subscribe ack has the current price; a second subscriber to the same room gets the same ticks", async (t) => {
  const { ex, clients: [a, b] } = await setup(t, ["--tick-ms", "0", "--token", TOKEN], 2);
  const res = await (await fetch(ex.base + "/api/symbols")).json();
  const tesla = res.find((s) => s.symbol === "tesla");
  const ack = await a.emitWithAck("subscribe", "tesla");
  assert.deepEqual(ack, { ok: true, symbol: "tesla", price: tesla.price });
  await (await post(ex.base, { symbol: "tesla", price: 321.09 }, auth())).json();
  assert.equal((await b.emitWithAck("subscribe", "tesla")).price, 321.09, "the ack reflects the latest price");
  // Subscribing twice is harmless: one room membership, one event per price.
  assert.equal((await b.emitWithAck("subscribe", "tesla")).ok, true);
  const gotB = record(b);
  const [pa] = await Promise.all([nextEvent(a, "price"), post(ex.base, { symbol: "tesla", price: 300 }, auth())]);
  assert.equal(pa[0].price, 300);
  await sleep(QUIET_MS);
  assert.equal(gotB.length, 1);
});

test("unsubscribe stops the ticks of that symbol only", async (t) => {
  const { clients: [a] } = await setup(t, ["--tick-ms", "50", "--token", TOKEN], 1);
  const got = record(a);
  await a.emitWithAck("subscribe", "amazon");
  await a.emitWithAck("subscribe", "tesla");
  await until(() => got.some((p) => p.symbol === "amazon") && got.some((p) => p.symbol === "tesla"), 8000, "ticks");
  assert.deepEqual(await a.emitWithAck("unsubscribe", "amazon"), { ok: true });
  // Ticks sent before the ack come before it on the same connection: after it, no amazon.
  const from = got.length;
  await sleep(QUIET_MS);
  const after = got.slice(from);
  assert.equal(after.filter((p) => p.symbol === "amazon").length, 0, "no amazon after unsubscribing");
  assert.ok(after.filter((p) => p.symbol === "tesla").length >= 2, "tesla still ticks");
  assert.deepEqual(await a.emitWithAck("unsubscribe", "tesla"), { ok: true });
  const from2 = got.length;
  await sleep(QUIET_MS);
  assert.equal(got.length, from2, "nothing after unsubscribing from everything");
  // Unsubscribing from a symbol one is not subscribed to is fine.
  assert.deepEqual(await a.emitWithAck("unsubscribe", "tesla"), { ok: true });
});

test("unknown symbols and wrong types are refused", async (t) => {
  const { ex, clients: [a] } = await setup(t, ["--tick-ms", "50", "--token", TOKEN], 1);
  const got = record(a);
  for (const bad of ["nvidia", "MICROSOFT", "", "microsoft_stock"]) {
    const ack = await a.emitWithAck("subscribe", bad);
    assert.equal(ack.ok, false, `subscribe ${JSON.stringify(bad)}`);
    assert.equal(ack.error, "unknown symbol");
    assert.deepEqual(await a.emitWithAck("unsubscribe", bad), { ok: false, error: "unknown symbol" });
  }
  for (const bad of [42, null, { symbol: "apple" }, ["apple"], true]) {
    const ack = await a.emitWithAck("subscribe", bad);
    assert.equal(ack.ok, false, `subscribe ${JSON.stringify(bad)}`);
    assert.equal(typeof ack.error, "string");
    assert.equal((await a.emitWithAck("unsubscribe", bad)).ok, false);
  }
  assert.equal((await a.emitWithAck("subscribe")).ok, false, "no argument");
  // Without an ack and with junk, the server stays up and the socket stays connected.
  a.emit("subscribe");
  a.emit("subscribe", 1, 2, 3);
  a.emit("unsubscribe", { x: 1 });
  a.emit("subscribe", Buffer.from("apple"));
  await sleep(QUIET_MS);
  assert.equal(got.length, 0, "refused subscriptions deliver nothing");
  assert.ok(a.connected);
  assert.equal((await a.emitWithAck("subscribe", "apple")).ok, true);
  await nextEvent(a, "price");
  assert.equal((await fetch(ex.base + "/api/symbols")).status, 200);
});

test("POST /api/price reaches only that room and answers delivered = room size", async (t) => {
  const { ex, clients: [a1, a2, m] } = await setup(t, ["--tick-ms", "0", "--token", TOKEN], 3);
  const got1 = record(a1), got2 = record(a2), gotM = record(m);
  await a1.emitWithAck("subscribe", "apple");
  await a2.emitWithAck("subscribe", "apple");
  await m.emitWithAck("subscribe", "microsoft");
  const res = await post(ex.base, { symbol: "apple", price: 123.45 }, auth());
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /application\/json/);
  assert.deepEqual(await res.json(), { ok: true, symbol: "apple", price: 123.45, delivered: 2 });
  await until(() => got1.length === 1 && got2.length === 1, 5000, "the posted price");
  for (const p of [got1[0], got2[0]]) {
    assert.equal(p.symbol, "apple");
    assert.equal(p.price, 123.45);
    assert.equal(typeof p.time, "number");
  }
  // A room nobody is in: delivered 0, and microsoft's subscriber hears nothing of either.
  const r2 = await post(ex.base, { symbol: "google", price: 99.9 }, auth());
  assert.deepEqual(await r2.json(), { ok: true, symbol: "google", price: 99.9, delivered: 0 });
  // After one apple client leaves, the room has one.
  await a2.emitWithAck("unsubscribe", "apple");
  const r3 = await post(ex.base, { symbol: "apple", price: 124 }, auth());
  assert.equal((await r3.json()).delivered, 1);
  await until(() => got1.length === 2, 5000, "the second apple price");
  assert.equal(got1[1].price, 124);
  await sleep(QUIET_MS);
  assert.equal(got2.length, 1, "the unsubscribed client gets nothing more");
  assert.equal(gotM.length, 0, "the microsoft client gets nothing of apple or google");
  // A disconnected client leaves the room.
  a1.close();
  await sleep(200);
  const r4 = await post(ex.base, { symbol: "apple", price: 125 }, auth());
  assert.equal((await r4.json()).delivered, 0);
  // The posted price is the one GET /api/symbols reports (the simulator is off).
  const list = await (await fetch(ex.base + "/api/symbols")).json();
  assert.equal(list.find((s) => s.symbol === "apple").price, 125);
  assert.equal(list.find((s) => s.symbol === "google").price, 99.9);
});

test("POST /api/price refuses missing or wrong credentials with 401", async (t) => {
  const { ex, clients: [a] } = await setup(t, ["--tick-ms", "0", "--token", TOKEN], 1);
  const got = record(a);
  await a.emitWithAck("subscribe", "apple");
  const body = { symbol: "apple", price: 1 };
  const cases = [
    {},
    auth("wrong"),
    auth(TOKEN + "x"),
    auth(TOKEN.slice(0, -1)),
    auth(""),
    { Authorization: `Basic ${Buffer.from("u:" + TOKEN).toString("base64")}` },
    { Authorization: `Token ${TOKEN}` },
    { Authorization: TOKEN },
    { Authorization: `Bearer${TOKEN}` },
  ];
  for (const headers of cases) {
    const res = await post(ex.base, body, headers);
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.headers.get("www-authenticate"), "Bearer");
    assert.deepEqual(await res.json(), { error: "unauthorized" });
  }
  // The scheme is case-insensitive.
  assert.equal((await post(ex.base, { symbol: "apple", price: 2 }, { Authorization: `bearer ${TOKEN}` })).status, 200);
  await until(() => got.length === 1, 5000, "the authorized price");
  assert.equal(got[0].price, 2);
  await sleep(QUIET_MS);
  assert.equal(got.length, 1, "refused posts deliver nothing");
});

test("POST /api/price: 400 for bad bodies, 404 for unknown symbols, 405 for other methods", async (t) => {
  const { ex, clients: [a] } = await setup(t, ["--tick-ms", "0", "--token", TOKEN], 1);
  const got = record(a);
  await a.emitWithAck("subscribe", "apple");
  const bad = [
    "not json",
    "{\"symbol\": \"apple\", \"price\": ",
    "",
    "[]",
    "\"apple\"",
    "12",
    { price: 10 },
    { symbol: 5, price: 10 },
    { symbol: "Apple!", price: 10 },
    { symbol: "x".repeat(33), price: 10 },
    { symbol: "apple" },
    { symbol: "apple", price: -5 },
    { symbol: "apple", price: 0 },
    { symbol: "apple", price: "12.5" },
    { symbol: "apple", price: null },
    { symbol: "apple", price: [1] },
    "{\"symbol\": \"apple\", \"price\": 1e999}",
  ];
  for (const body of bad) {
    const res = await post(ex.base, body, auth());
    assert.equal(res.status, 400, JSON.stringify(body));
    const json = await res.json();
    assert.equal(typeof json.error, "string", JSON.stringify(body));
  }
  const nf = await post(ex.base, { symbol: "nvidia", price: 10 }, auth());
  assert.equal(nf.status, 404);
  assert.deepEqual(await nf.json(), { error: "unknown symbol" });
  for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
    const res = await post(ex.base, { symbol: "apple", price: 10 }, auth(), method);
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.get("allow"), "POST");
  }
  await sleep(QUIET_MS);
  assert.equal(got.length, 0, "no refused post reached the room");
});

test("PRICE_TOKEN in the environment works as --token; --token wins over it", async (t) => {
  {
    const { ex } = await setup(t, ["--tick-ms", "0"], 0, { PRICE_TOKEN: "from-env" });
    assert.equal((await post(ex.base, { symbol: "tesla", price: 5 }, auth("from-env"))).status, 200);
    assert.equal((await post(ex.base, { symbol: "tesla", price: 5 }, auth(TOKEN))).status, 401);
    assert.ok(!ex.lines.some((l) => l.includes("from-env")), "a given token is not printed");
  }
  {
    const { ex } = await setup(t, ["--tick-ms", "0", "--token", TOKEN], 0, { PRICE_TOKEN: "from-env" });
    assert.equal((await post(ex.base, { symbol: "tesla", price: 5 }, auth(TOKEN))).status, 200);
    assert.equal((await post(ex.base, { symbol: "tesla", price: 5 }, auth("from-env"))).status, 401);
  }
});

test("without a token, a random one is printed at start-up and only it is accepted", async (t) => {
  const env = { PRICE_TOKEN: "" };
  const { ex } = await setup(t, ["--tick-ms", "0"], 0, env);
  const line = await ex.waitLine(/^price token: /);
  const token = line.slice("price token: ".length);
  assert.match(token, /^[0-9a-f]{32}$/);
  assert.equal((await post(ex.base, { symbol: "apple", price: 5 }, {})).status, 401);
  assert.equal((await post(ex.base, { symbol: "apple", price: 5 }, auth(""))).status, 401);
  assert.equal((await post(ex.base, { symbol: "apple", price: 5 }, auth(token))).status, 200);
  // Another start makes another token.
  const { ex: ex2 } = await setup(t, ["--tick-ms", "0"], 0, env);
  const token2 = (await ex2.waitLine(/^price token: /)).slice("price token: ".length);
  assert.notEqual(token2, token);
  // An answer shows the loop runs (its SIGTERM handler is installed only then; see the README).
  assert.equal((await post(ex2.base, { symbol: "apple", price: 5 }, auth(token2))).status, 200);
});

test("the pages / and /stock.html are served, and GET /api/symbols lists the symbols", async (t) => {
  const { ex } = await setup(t, ["--tick-ms", "0", "--token", TOKEN]);
  for (const page of ["/", "/index.html", "/stock.html?symbol=microsoft", "/style.css"]) {
    const res = await fetch(ex.base + page);
    assert.equal(res.status, 200, page);
    const text = await res.text();
    if (page !== "/style.css") {
      assert.match(res.headers.get("content-type"), /text\/html/);
      assert.match(text, /<html/);
    }
  }
  const stock = await (await fetch(ex.base + "/stock.html")).text();
  assert.match(stock, /\/socket\.io\/socket\.io\.min\.js/);
  assert.match(stock, /"subscribe"/);
  const index = await (await fetch(ex.base + "/")).text();
  assert.match(index, /\/api\/symbols/);
  const bundle = await fetch(ex.base + "/socket.io/socket.io.min.js");
  assert.equal(bundle.status, 200);
  await bundle.arrayBuffer();
  const res = await fetch(ex.base + "/api/symbols");
  assert.equal(res.status, 200);
  const list = await res.json();
  assert.deepEqual(list.map((s) => s.symbol), ["microsoft", "apple", "google", "amazon", "tesla"]);
  for (const s of list) assert.ok(typeof s.price === "number" && s.price > 0);
  assert.equal((await fetch(ex.base + "/api/symbols", { method: "POST" })).status, 405);
  assert.equal((await fetch(ex.base + "/nope.html")).status, 404);
});

test("--symbols replaces the default list", async (t) => {
  const { ex, clients: [a] } = await setup(t, ["--tick-ms", "50", "--token", TOKEN, "--symbols", "acme,b-2_x:12.5,tesla"], 1);
  const list = await (await fetch(ex.base + "/api/symbols")).json();
  assert.deepEqual(list.map((s) => s.symbol), ["acme", "b-2_x", "tesla"]);
  assert.equal(list[1].price, 12.5);
  assert.deepEqual(await a.emitWithAck("subscribe", "microsoft"), { ok: false, error: "unknown symbol" });
  const ack = await a.emitWithAck("subscribe", "b-2_x");
  assert.equal(ack.ok, true);
  assert.ok(Math.abs(ack.price - 12.5) < 1, `near its starting price: ${ack.price}`);
  const [p] = await nextEvent(a, "price", 5000);
  checkTick(p, ["b-2_x"]);
  assert.equal((await post(ex.base, { symbol: "microsoft", price: 1 }, auth())).status, 404);
  assert.equal((await post(ex.base, { symbol: "acme", price: 1 }, auth())).status, 200);
});

test("bad --symbols lists are refused at start-up with exit status 1", async () => {
  const bad = ["", "Apple", "a,,b", "a,a", "a:0", "a:-1", "a:x", "x".repeat(33), "a b", "a,"];
  for (const symbols of bad) {
    const proc = spawn(exampleBinary("stocks"), ["--port", "0", "--symbols", symbols], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d) => { err += d; });
    const code = await new Promise((res) => proc.on("exit", (c) => res(c)));
    assert.equal(code, 1, `--symbols ${JSON.stringify(symbols)}`);
    assert.match(err, /--symbols/);
  }
});
