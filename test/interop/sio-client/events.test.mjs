// socket.io-client 4.8: events with mixed JSON arguments, sent as "message" and returned unchanged as
// "message-back" (deepEqual, and the same key order: JSON.stringify of both is identical).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { connect, close, closeAll, waitUpgrade } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: ["--test-commands"] });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 30000 };

function deep(n) {
  let v = ["bottom"];
  for (let i = 0; i < n - 1; i++) v = i % 2 ? [v] : { k: v };
  return v;
}

const CASES = [
  ["unicode and emoji", ["héllo wörld", "日本語", "Ελληνικά", "עברית", "😀👍🏽🇫🇷👨‍👩‍👧", "𝄞", "\u00e9\u0301", "\ufeffBOM"]],
  ["U+2028 and U+2029", ["a\u2028b\u2029c", "\u2028", "\u2029", { "\u2028": "\u2029" }]],
  ["control characters and escapes", ["\n\r\t\b\f", '"quoted" \\ back/slash', "\x01\x1f\x7f", "\x1e record separator", "</script>"]],
  ["nested objects and arrays", [{ a: { b: { c: [1, [2, [3, { d: null }]]] } }, list: [[], {}, [[]], [{}]] }, [[[["x"]]]]]],
  ["null and booleans", [null, true, false, [null, true], { n: null, t: true, f: false }]],
  ["integers", [0, 1, -1, 42, -42, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 1e15]],
  ["floats", [0.5, -0.25, 3.141592653589793, 0.1, 0.1 + 0.2, 1e-7, 1e21, 1.5e300, 1.7976931348623157e308, 5e-324,
    2.2250738585072014e-308, 123456.789e3, -1.0000000000000002, 2 ** 64, 2 ** 53 + 2]],
  ["empty strings and containers", ["", [""], { "": "" }, [], {}]],
  ["many arguments", Array.from({ length: 100 }, (_, i) => (i % 3 ? `s${i}` : i))],
  ["unusual keys", [{ "": 1, "key with spaces": 2, "ключ": 3, "1": 5, "a.b": 6, constructor: 7, toString: 8, "😀": 9 }]],
  ["a 100 KB string", ["x".repeat(50000) + "é".repeat(25000)]],
  ["nesting 100 deep", [deep(100)]],
  ["a wide object and array", [Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])), Array.from({ length: 5000 }, (_, i) => i)]],
  ["strings that look like packets or placeholders", ["42[\"x\"]", "451-", "_placeholder", { _placeholder: "no", num: "x" }]],
];

async function roundTrip(c, args, what) {
  const tag = `rt-${Math.random()}`;
  c.socket.emit("message", tag, ...args);
  const got = await c.waitEvent("message-back", (a) => a[0] === tag);
  assert.deepEqual(got.slice(1), args, what);
  assert.equal(JSON.stringify(got.slice(1)), JSON.stringify(args), `${what}: same JSON text (key order)`);
}

for (const mode of ["polling", "websocket"]) {
  for (const [what, args] of CASES) {
    test(`message-back returns ${what} unchanged (${mode})`, T, async () => {
      const c = await connect(server, mode);
      try {
        await roundTrip(c, args, what);
        assert.equal(c.socket.connected, true);
      } finally {
        close(c);
      }
    });
  }
}

test("every case on one connection, before and after the upgrade", T, async () => {
  const c = await connect(server, "upgrade");
  try {
    for (const [what, args] of CASES.slice(0, 4)) await roundTrip(c, args, what);
    assert.equal(await waitUpgrade(c), "websocket");
    for (const [what, args] of CASES) await roundTrip(c, args, what);
  } finally {
    close(c);
  }
});

test("many events in a row come back in order", T, async () => {
  const c = await connect(server, "websocket");
  try {
    const n = 500;
    for (let i = 0; i < n; i++) c.socket.emit("message", "seq", i);
    await c.waitEvent("message-back", (a) => a[0] === "seq" && a[1] === n - 1);
    const got = c.events.filter((e) => e[0] === "message-back" && e[1] === "seq").map((e) => e[2]);
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
  } finally {
    close(c);
  }
});

// Values a JavaScript application can send that are hard for a C JSON library. Each on its own connection so a
// failure points at one input.
const EDGE = [
  ["a string with NUL characters", ["a\u0000b", "\u0000", { "k\u0000": "v\u0000w" }]],
  ["lone surrogates", ["\ud800", "x\udfffy", "\udc00\ud800"]],
  ["a __proto__ key (own property from JSON)", [JSON.parse('{"__proto__":{"polluted":true},"x":1}')]],
  ["a placeholder-like object in a non-binary event", [{ _placeholder: true, num: 0 }]],
  ["nesting 500 deep", [deep(500)]],
  ["nesting 990 deep", [deep(990)]],
];

for (const [what, args] of EDGE) {
  test(`message-back returns ${what} unchanged (websocket)`, T, async () => {
    const c = await connect(server, "websocket");
    try {
      await roundTrip(c, args, what);
      assert.equal(c.socket.connected, true);
    } finally {
      close(c);
    }
  });
}
