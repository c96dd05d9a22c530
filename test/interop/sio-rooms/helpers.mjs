// Shared helpers for the rooms and broadcasting suite (not a test file itself: node --test only picks *.test.mjs).
// The commands are the rooms ones of README.md ("--test-commands"): each takes its arguments as the first event
// argument and answers through the acknowledgement.
import assert from "node:assert/strict";
import { connect, withTimeout, WAIT } from "../sio-client/helpers.mjs";

export * from "../sio-client/helpers.mjs";

// Server flags for this suite: a long heartbeat, so that many clients in one test process are never timed out.
export const SERVER_ARGS = ["--test-commands", "--ping-interval", "10000", "--ping-timeout", "20000"];

// Sends command `name` with argument `arg` from recorder r and resolves with the acknowledgement's argument.
export function cmd(r, name, arg) {
  const args = arg === undefined ? [] : [arg];
  return r.socket.timeout(WAIT).emitWithAck(name, ...args);
}

// n connected clients; mode(i) gives the transport mode of client i, opts(i) its connect options.
export function connectMany(server, n, mode = () => "websocket", opts = () => ({})) {
  return Promise.all(Array.from({ length: n }, (_, i) => connect(server, mode(i), opts(i))));
}

// How many times each client received `event`.
export function counts(clients, event) {
  return clients.map((c) => c.events.filter((e) => e[0] === event).length);
}

// Emits `event` from ctl to the id rooms of every client and waits until each has received it. Every broadcast that
// ctl's earlier commands made is then delivered too (one connection delivers in order, and each command was
// acknowledged after its broadcast was queued), so receipts can be counted.
export async function flush(ctl, clients, event) {
  assert.equal(await cmd(ctl, "__to__", { rooms: clients.map((c) => c.socket.id), event }), "ok");
  await withTimeout(Promise.all(clients.map((c) => c.waitEvent(event))), WAIT, `"${event}" at every client`);
}

// Asserts that client i received `event` exactly want[i] times (want: an array of 0/1...), naming the clients
// that differ.
export function assertCounts(clients, event, want, what) {
  const got = counts(clients, event);
  const wrong = got.map((g, i) => (g === want[i] ? null : `client ${i}: got ${g}, want ${want[i]}`)).filter(Boolean);
  assert.deepEqual(wrong, [], `${what}: receipts of "${event}"`);
}

// Sorts by JSON text, to compare arrays as multisets.
export const multiset = (a) => [...a].map((x) => JSON.stringify(x)).sort();
