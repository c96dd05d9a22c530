// socket.io-client 4.8: acknowledgements both ways.
// Client → server: "message-with-ack" is acknowledged with the same arguments.
// Server → client: "__emit_with_ack__" event timeout ...args makes the server emit event with an ack and report the
// outcome as "__ack_result__" {err, args}.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { connect, close, closeAll, withTimeout, waitUpgrade, sleep, WAIT } from "./helpers.mjs";

let server;
before(async () => {
  server = await startServer({ events: true, args: ["--test-commands"] });
});
after(async () => {
  closeAll();
  await server?.stop();
});

const T = { timeout: 30000 };

const ARGS = ["text", 42, -1.5, null, true, false, "", { a: [1, { b: "é😀\u2028" }] }, [], {}];

// Emits with a callback (client-side timeout 5000) and resolves with every argument of the answer.
function emitAck(socket, event, ...args) {
  return withTimeout(new Promise((resolve, reject) => {
    socket.timeout(5000).emit(event, ...args, (err, ...answer) => (err ? reject(err) : resolve(answer)));
  }), WAIT, `ack of ${event}`);
}

// Asks the server to emit `event` with an ack (timeout ms) and returns the __ack_result__ payload.
async function serverAsk(c, event, timeout, ...args) {
  const before = c.events.filter((e) => e[0] === "__ack_result__").length;
  c.socket.emit("__emit_with_ack__", event, timeout, ...args);
  await c.waitEvent("__ack_result__", () => c.events.filter((e) => e[0] === "__ack_result__").length > before);
  const results = c.events.filter((e) => e[0] === "__ack_result__");
  assert.equal(results[before].length, 2, "__ack_result__ has one argument");
  return results[before][1];
}

for (const mode of ["polling", "websocket", "upgrade"]) {
  test(`client → server ack: emitWithAck("message-with-ack") resolves with the first argument (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      if (mode === "upgrade") await waitUpgrade(c);
      assert.equal(await c.socket.timeout(5000).emitWithAck("message-with-ack", "only"), "only");
      assert.deepEqual(await c.socket.timeout(5000).emitWithAck("message-with-ack", { x: [1, 2] }, "second"), { x: [1, 2] });
    } finally {
      close(c);
    }
  });

  test(`client → server ack carries every argument back (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      assert.deepEqual(await emitAck(c.socket, "message-with-ack", ...ARGS), ARGS);
      assert.deepEqual(await emitAck(c.socket, "message-with-ack"), [], "no arguments");
      // without the timeout flag: the callback gets the answer's arguments only
      const got = await withTimeout(new Promise((resolve) => c.socket.emit("message-with-ack", 1, "two", (...a) => resolve(a))),
        WAIT, "ack without timeout flag");
      assert.deepEqual(got, [1, "two"]);
    } finally {
      close(c);
    }
  });

  test(`server → client ack: the client's answer comes back in __ack_result__ (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      let received;
      c.socket.on("question", (...args) => {
        received = args;
        const cb = args.at(-1);
        if (typeof cb === "function") cb("answer", 1, { ok: true }, null, ["é"]);
      });
      const res = await serverAsk(c, "question", 5000, ...ARGS);
      assert.equal(typeof received.pop(), "function", "the server asked for an ack");
      assert.deepEqual(received, ARGS, "the client got the arguments after event and timeout");
      assert.deepEqual(res, { err: null, args: ["answer", 1, { ok: true }, null, ["é"]] });
    } finally {
      close(c);
    }
  });
}

test("server → client ack answered with no arguments → args []", T, async () => {
  const c = await connect(server, "websocket");
  try {
    c.socket.on("empty", (cb) => cb());
    assert.deepEqual(await serverAsk(c, "empty", 5000), { err: null, args: [] });
  } finally {
    close(c);
  }
});

for (const mode of ["polling", "websocket"]) {
  test(`server ack timeout: the client never answers → err "operation has timed out" (${mode})`, T, async () => {
    const c = await connect(server, mode);
    try {
      let got = null;
      c.socket.on("silent", (...args) => {
        got = args;
      });
      const res = await serverAsk(c, "silent", 300, "x");
      assert.deepEqual(res, { err: "operation has timed out", args: null });
      assert.equal(got.length, 2, "the client received the argument and an ack callback");
      assert.equal(typeof got[1], "function");
      // a late answer is ignored: no second __ack_result__, the connection stays up
      got[1]("too late");
      assert.equal(await c.socket.timeout(5000).emitWithAck("message-with-ack", "after"), "after");
      await sleep(100);
      assert.equal(c.events.filter((e) => e[0] === "__ack_result__").length, 1, "one __ack_result__ only");
      assert.equal(c.socket.connected, true);
    } finally {
      close(c);
    }
  });
}

test("several pending server acks answered in reverse order are matched to their emits", T, async () => {
  const c = await connect(server, "websocket");
  try {
    const pending = [];
    c.socket.on("q", (n, cb) => {
      pending.push([n, cb]);
      if (pending.length === 3) for (const [m, f] of pending.reverse()) f(`answer-${m}`);
    });
    for (const n of [1, 2, 3]) c.socket.emit("__emit_with_ack__", "q", 5000, n);
    await c.waitEvent("__ack_result__", () => c.events.filter((e) => e[0] === "__ack_result__").length === 3);
    const results = c.events.filter((e) => e[0] === "__ack_result__").map((e) => e[1]);
    assert.deepEqual(results, [3, 2, 1].map((n) => ({ err: null, args: [`answer-${n}`] })));
  } finally {
    close(c);
  }
});

test("a timed-out ack and an answered ack side by side", T, async () => {
  const c = await connect(server, "websocket");
  try {
    c.socket.on("answered", (cb) => setTimeout(() => cb("yes"), 50));
    c.socket.on("ignored", () => {});
    c.socket.emit("__emit_with_ack__", "ignored", 300);
    c.socket.emit("__emit_with_ack__", "answered", 5000);
    await c.waitEvent("__ack_result__", () => c.events.filter((e) => e[0] === "__ack_result__").length === 2);
    const results = c.events.filter((e) => e[0] === "__ack_result__").map((e) => e[1]);
    assert.deepEqual(results, [{ err: null, args: ["yes"] }, { err: "operation has timed out", args: null }]);
  } finally {
    close(c);
  }
});

test("server → client acks on /custom", T, async () => {
  const c = await connect(server, "websocket", { nsp: "/custom" });
  try {
    c.socket.on("hello", (a, b, cb) => cb(b, a));
    assert.deepEqual(await serverAsk(c, "hello", 5000, "a", { b: 1 }), { err: null, args: [{ b: 1 }, "a"] });
    c.socket.on("quiet", () => {});
    assert.deepEqual(await serverAsk(c, "quiet", 200), { err: "operation has timed out", args: null });
  } finally {
    close(c);
  }
});

test("message-with-ack without an ack callback: nothing comes back, the connection stays", T, async () => {
  const c = await connect(server, "websocket");
  try {
    c.socket.emit("message-with-ack", "no ack wanted");
    assert.equal(await c.socket.timeout(5000).emitWithAck("message-with-ack", "then one"), "then one");
    assert.ok(!c.events.some((e) => e[0] !== "auth"), `no event received: ${JSON.stringify(c.events)}`);
  } finally {
    close(c);
  }
});

test("100 client acks in flight at once are all answered with their own arguments", T, async () => {
  const c = await connect(server, "polling");
  try {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => emitAck(c.socket, "message-with-ack", i, `s${i}`)));
    assert.deepEqual(answers, Array.from({ length: 100 }, (_, i) => [i, `s${i}`]));
  } finally {
    close(c);
  }
});
