// Raw Socket.IO v5 packets over a raw Engine.IO WebSocket (and polling): the exact text the server answers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { SioWs, SioPoll, RS, sleep, serverEvent, disconnectReason } from "./lib.mjs";

let srv;
before(async () => {
  srv = await startServer({ events: true, args: ["--test-commands", "--ping-interval", "20000", "--ping-timeout", "20000"] });
});
after(async () => {
  await srv?.stop();
});

const PH = (n) => `{"_placeholder":true,"num":${n}}`;

test("40 → 40{\"sid\":...} then 42[\"auth\",{}]; the sid is the socket id of sio-connection", async () => {
  const s = await SioWs.open(srv.port);
  try {
    const id = await s.connect("/");
    const ev = await serverEvent(srv, "sio-connection", id);
    assert.equal(ev.nsp, "/");
    assert.notEqual(id, s.sid, "the socket id is not the engine id");
  } finally {
    s.destroy();
  }
});

test("40{auth} → the auth event carries the CONNECT payload", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/", { token: "abc", n: [1, 2, { x: null }] });
  } finally {
    s.destroy();
  }
});

test("40/custom, and 40/custom,{auth} → 40/custom,{\"sid\":...} then 42/custom,[\"auth\",...]", async () => {
  const s = await SioWs.open(srv.port);
  const t = await SioWs.open(srv.port);
  try {
    const id = await s.connect("/custom");
    assert.equal((await serverEvent(srv, "sio-connection", id)).nsp, "/custom");
    await t.connect("/custom", { a: 1 });
  } finally {
    s.destroy();
    t.destroy();
  }
});

test("40/custom (no trailing comma) is accepted", async () => {
  const s = await SioWs.open(srv.port);
  try {
    s.send("0/custom");
    const ans = await s.nextText();
    assert.match(ans, /^0\/custom,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(await s.nextText(), '2/custom,["auth",{}]');
  } finally {
    s.destroy();
  }
});

test("40/nope, → 44/nope,{\"message\":\"Invalid namespace\"}, the connection stays and 40 still works", async () => {
  const s = await SioWs.open(srv.port);
  try {
    s.send("0/nope,");
    assert.equal(await s.nextText(), '4/nope,{"message":"Invalid namespace"}');
    s.send('0/nope,{"token":"x"}');
    assert.equal(await s.nextText(), '4/nope,{"message":"Invalid namespace"}');
    await s.connect("/");
    await s.assertAlive();
  } finally {
    s.destroy();
  }
});

test("/ and /custom on one connection; packets go to their namespace", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    await s.connect("/custom");
    s.send('2["message","to main"]');
    assert.equal(await s.nextText(), '2["message-back","to main"]');
    // /custom has no "message" handler; its test commands work
    s.send('2/custom,["message","ignored"]');
    s.send('2/custom,["__emit_with_ack__","q",5000,"x"]');
    const q = await s.nextText();
    const m = /^2\/custom,(\d+)\["q","x"\]$/.exec(q);
    assert.ok(m, `an event with an ack id on /custom: ${JSON.stringify(q)}`);
    s.send(`3/custom,${m[1]}["answer"]`);
    assert.equal(await s.nextText(), '2/custom,["__ack_result__",{"err":null,"args":["answer"]}]');
  } finally {
    s.destroy();
  }
});

test("events: 42[\"message\",...] → 42[\"message-back\",...] with the same JSON", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    for (const args of ['"a"', '1,2.5,-3,true,false,null', '{"k":[1,{"x":"é😀"}]}', '""', '[],{}']) {
      s.send(`2["message",${args}]`);
      assert.equal(await s.nextText(), `2["message-back",${args}]`);
    }
    s.send('2["message"]');
    assert.equal(await s.nextText(), '2["message-back"]');
  } finally {
    s.destroy();
  }
});

test("client acks: 42<id>[\"message-with-ack\",...] → 43<id>[...]", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    s.send('20["message-with-ack","x",1]');
    assert.equal(await s.nextText(), '30["x",1]');
    s.send('2123["message-with-ack"]');
    assert.equal(await s.nextText(), "3123[]");
    s.send('29007199254740991["message-with-ack","max"]');
    assert.equal(await s.nextText(), '39007199254740991["max"]');
  } finally {
    s.destroy();
  }
});

test("server acks: __emit_with_ack__ → 42<id>[event,...]; 43<id>[...] → __ack_result__; a timeout → the error", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    s.send('2["__emit_with_ack__","question",5000,"a",{"b":[1]}]');
    const q = await s.nextText();
    const m = /^2(\d+)\["question","a",\{"b":\[1\]\}\]$/.exec(q);
    assert.ok(m, `an event with an ack id: ${JSON.stringify(q)}`);
    s.send(`3${m[1]}["yes",2]`);
    assert.equal(await s.nextText(), '2["__ack_result__",{"err":null,"args":["yes",2]}]');
    // an ACK for an unknown id is ignored; an ACK for an id already answered too
    s.send(`3${m[1]}["again"]`);
    s.send('3424242["unknown"]');
    s.send('2["__emit_with_ack__","ignored",200]');
    const q2 = await s.nextText();
    assert.match(q2, /^2\d+\["ignored"\]$/);
    assert.equal(await s.nextText(2000), '2["__ack_result__",{"err":"operation has timed out","args":null}]');
    await s.assertAlive();
  } finally {
    s.destroy();
  }
});

test("binary: 451-[\"message\",placeholder] + attachment → 451-[\"message-back\",placeholder] + attachment", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    s.send(`51-["message",${PH(0)}]`);
    s.sendBinary(Buffer.from([1, 2, 3]));
    assert.equal(await s.nextText(), `51-["message-back",${PH(0)}]`);
    assert.deepEqual((await s.next()).binary, Buffer.from([1, 2, 3]));
    // two attachments, nested, the empty one included
    s.send(`52-["message",{"a":${PH(0)},"b":[${PH(1)}]},"t"]`);
    s.sendBinary(Buffer.from("first"));
    s.sendBinary(Buffer.alloc(0));
    assert.equal(await s.nextText(), `52-["message-back",{"a":${PH(0)},"b":[${PH(1)}]},"t"]`);
    assert.deepEqual((await s.next()).binary, Buffer.from("first"));
    assert.deepEqual((await s.next()).binary, Buffer.alloc(0));
    // a binary ack
    s.send(`51-7["message-with-ack",${PH(0)}]`);
    s.sendBinary(Buffer.from([9]));
    assert.equal(await s.nextText(), `61-7[${PH(0)}]`);
    assert.deepEqual((await s.next()).binary, Buffer.from([9]));
  } finally {
    s.destroy();
  }
});

test("binary: placeholders given out of order are resolved by num", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    s.send(`52-["message",${PH(1)},${PH(0)}]`);
    s.sendBinary(Buffer.from("zero"));
    s.sendBinary(Buffer.from("one"));
    const head = await s.nextText();
    const m = /^52-\["message-back",(\{[^}]*\}),(\{[^}]*\})\]$/.exec(head);
    assert.ok(m, JSON.stringify(head));
    const bins = [(await s.next()).binary, (await s.next()).binary];
    const [a, b] = [JSON.parse(m[1]), JSON.parse(m[2])];
    assert.deepEqual([bins[a.num].toString(), bins[b.num].toString()], ["one", "zero"]);
  } finally {
    s.destroy();
  }
});

test("binary server → client ack: the binary answer comes back in __ack_result__", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    s.send(`51-["__emit_with_ack__","bq",5000,${PH(0)}]`);
    s.sendBinary(Buffer.from("question"));
    const q = await s.nextText();
    const m = new RegExp(`^51-(\\d+)\\["bq",${PH(0).replace(/[{}]/g, "\\$&")}\\]$`).exec(q);
    assert.ok(m, `a binary event with an ack id: ${JSON.stringify(q)}`);
    assert.deepEqual((await s.next()).binary, Buffer.from("question"));
    s.send(`61-${m[1]}[${PH(0)},"x"]`);
    s.sendBinary(Buffer.from("answer"));
    assert.equal(await s.nextText(), `51-["__ack_result__",{"err":null,"args":[${PH(0)},"x"]}]`);
    assert.deepEqual((await s.next()).binary, Buffer.from("answer"));
  } finally {
    s.destroy();
  }
});

test("42[1,\"x\"] (a numeric event name) is accepted: the connection stays", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    s.send('2[1,"x"]');
    s.send('2[0]');
    s.send('2[-1.5,"y"]');
    await s.assertAlive();
  } finally {
    s.destroy();
  }
});

test("42[\"error\",\"x\"], an unknown event, and an event with an ack id nobody answers: the connection stays", async () => {
  const s = await SioWs.open(srv.port);
  try {
    await s.connect("/");
    s.send('2["error","x"]');
    s.send('2["nobody-listens",{"a":1}]');
    s.send('25["nobody-listens"]');
    await s.assertAlive();
  } finally {
    s.destroy();
  }
});

test("41 → the socket leaves (client namespace disconnect); the connection stays for the other namespace", async () => {
  const s = await SioWs.open(srv.port);
  try {
    const main = await s.connect("/");
    const custom = await s.connect("/custom");
    s.send("1/custom,");
    assert.equal(await disconnectReason(srv, custom), "client namespace disconnect");
    await s.assertAlive();
    s.send("1");
    assert.equal(await disconnectReason(srv, main), "client namespace disconnect");
    // the namespace can be joined again
    const again = await s.connect("/");
    assert.notEqual(again, main);
    await s.assertAlive();
  } finally {
    s.destroy();
  }
});

test("__disconnect__ → 41 to the client (server namespace disconnect); the connection stays", async () => {
  const s = await SioWs.open(srv.port);
  try {
    const main = await s.connect("/");
    const custom = await s.connect("/custom");
    s.send('2/custom,["__disconnect__"]');
    assert.equal(await s.nextText(), "1/custom,");
    assert.equal(await disconnectReason(srv, custom), "server namespace disconnect");
    await s.assertAlive();
    s.send('2["__disconnect__",false]');
    assert.equal(await s.nextText(), "1");
    assert.equal(await disconnectReason(srv, main), "server namespace disconnect");
  } finally {
    s.destroy();
  }
});

// The reference's socket.disconnect() sends the DISCONNECT before the "disconnecting" handlers run: what they emit
// to the socket comes after it (and a real client ignores it).
test("__disconnect__ with a disconnecting handler that emits: 41 first, then its event", async () => {
  const s = await SioWs.open(srv.port);
  try {
    const main = await s.connect("/");
    s.send('2["__disconnect__",false,true]');
    assert.equal(await s.nextText(), "1");
    assert.equal(await s.nextText(), '2["__bye__"]');
    assert.equal(await disconnectReason(srv, main), "server namespace disconnect");
  } finally {
    s.destroy();
  }
});

test("__disconnect__ true → 41 to every namespace in join order, then the connection is closed (WebSocket)", async () => {
  const s = await SioWs.open(srv.port);
  try {
    const main = await s.connect("/");
    const custom = await s.connect("/custom");
    s.send('2/custom,["__disconnect__",true]');
    assert.equal(await s.nextText(), "1");
    assert.equal(await s.nextText(), "1/custom,");
    await s.assertClosed();
    assert.equal(await disconnectReason(srv, main), "server namespace disconnect");
    assert.equal(await disconnectReason(srv, custom), "server namespace disconnect");
    const order = srv.events.filter((e) => e.event === "sio-disconnect" && (e.id === main || e.id === custom)).map((e) => e.nsp);
    assert.deepEqual(order, ["/", "/custom"], "sockets disconnected in join order");
  } finally {
    s.destroy();
  }
});

test("__disconnect__ true over polling: the DISCONNECT packets come in one payload, the close packet in a later one", async () => {
  const p = await SioPoll.open(srv.port);
  await p.send("0", "0/custom,");
  const first = await p.get();
  assert.equal(first.status, 200);
  const pk = first.text.split(RS);
  assert.equal(pk.length, 4, JSON.stringify(first.text));
  await p.send('2/custom,["__disconnect__",true]');
  const res = await p.get();
  assert.equal(res.status, 200);
  // a real client handles the messages of a payload after its close packet is processed: they would be lost if
  // the close packet came in the same payload
  assert.ok(!res.text.split(RS).includes("1"), `no close packet with the DISCONNECT packets: ${JSON.stringify(res.text)}`);
  assert.deepEqual(res.text.split(RS), ["41", "41/custom,"], "the DISCONNECT packets alone, in join order");
  const next = await p.get();
  assert.equal(next.status, 200);
  // (the reference answers 6\x1e1: a noop, then the close packet)
  assert.deepEqual(next.text.split(RS).filter((x) => x !== "6"), ["1"], "then the close packet");
  assert.equal((await p.get()).status, 400);
});

test("polling: CONNECT, events and binary attachments as b<base64>", async () => {
  const p = await SioPoll.open(srv.port);
  const id = await p.connect("/", { via: "polling" });
  assert.equal((await serverEvent(srv, "sio-connection", id)).nsp, "/");
  await p.send('2["message","hello"]', '21["message-with-ack",2]');
  assert.equal(await p.nextText(), '2["message-back","hello"]');
  assert.equal(await p.nextText(), "31[2]");
  await p.post(`451-["message",${PH(0)}]`, "b" + Buffer.from([0, 1, 254, 255]).toString("base64"));
  assert.equal(await p.nextText(), `51-["message-back",${PH(0)}]`);
  assert.equal(await p.nextPacket(), "b" + Buffer.from([0, 1, 254, 255]).toString("base64"));
  await p.send("1");
  assert.equal(await disconnectReason(srv, id), "client namespace disconnect");
  await p.post("1");
});

test("a namespace joined then left: no connectTimeout afterwards, the connection stays", async () => {
  const s = await SioWs.open(srv.port);
  try {
    const id = await s.connect("/custom");
    s.send("1/custom,");
    assert.equal(await disconnectReason(srv, id), "client namespace disconnect");
    await sleep(1500);
    await s.connect("/");
    await s.assertAlive();
  } finally {
    s.destroy();
  }
});
