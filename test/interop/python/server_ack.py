# Server -> client acknowledgements with python-socketio: the command "__emit_with_ack__" [event, timeout_ms,
# ...args] makes the server emit `event` with args and an ack id; python-socketio sends back as ACK what the
# client handler returns (a tuple as several arguments, None as no argument), and the server reports the outcome
# as "__ack_result__" {"err", "args"}. MODE: default, websocket, polling.
import sys

sys.dont_write_bytecode = True
from sioutil import (Checks, Recorder, connect, disconnect, expect, expected_transport, log, new_client,
                     report_socket, run)

CASES = [
    # (label, command arguments after event and timeout, what the handler returns, expected ack args)
    ("the example of the brief", ("a", 1), ("pong", 2), ["pong", 2]),
    ("a single return value", ("x",), "single", ["single"]),
    ("a dict return value", ({"k": [1, 2]},), {"got": {"k": [1, 2]}}, [{"got": {"k": [1, 2]}}]),
    ("no return value", (), None, []),
    ("unicode", ("é",), ("😀 €",), ["😀 €"]),
    ("no arguments to the handler", (), ("no-args",), ["no-args"]),
]


def main(url, mode):
    rec = Recorder()
    sio = new_client()
    sio.on("__ack_result__", rec.handler("result"))
    connect(sio, url, mode)
    expect("sio.transport()", sio.transport(), expected_transport(mode))
    report_socket("server-ack", sio)

    checks = Checks()
    for i, (label, args, ret, expected) in enumerate(CASES):
        event = "ping-me-%d" % i
        sio.on(event, rec.handler(event, ret=ret))
        sio.emit("__emit_with_ack__", (event, 3000) + args)
        checks.expect("%s: arguments of %s on the client" % (label, event), rec.wait(event), args)
        checks.expect("%s: __ack_result__" % label, rec.take("result"), ({"err": None, "args": expected},))
    log("%d server -> client acks checked" % len(CASES))

    # Binary both ways: the server emits bytes, the handler answers with bytes (BINARY_ACK); __ack_result__
    # carries them back as attachments.
    sio.on("ping-bin", rec.handler("ping-bin", ret=lambda b, d: (b[::-1], {"len": len(b), "d": d["inner"]})))
    sio.emit("__emit_with_ack__", ("ping-bin", 3000, b"\x01\x02\x03\xff", {"inner": b"\x00"}))
    expect("ping-bin arguments on the client", rec.wait("ping-bin"), (b"\x01\x02\x03\xff", {"inner": b"\x00"}))
    expect("__ack_result__ for the binary ack", rec.take("result"),
           ({"err": None, "args": [b"\xff\x03\x02\x01", {"len": 4, "d": b"\x00"}]},))

    # A handler slower than the timeout: the server reports the timeout; the late ACK is then ignored (no second
    # __ack_result__, the connection keeps working).
    sio.on("slow", rec.handler("slow", ret="too late", delay=1.5))
    sio.emit("__emit_with_ack__", ("slow", 300, "s"))
    expect("__ack_result__ for a handler slower than the 300 ms timeout", rec.take("result"),
           ({"err": "operation has timed out", "args": None},))
    rec.wait("slow", timeout=5)
    sio.on("after-slow", rec.handler("after-slow", ret="ok"))
    sio.emit("__emit_with_ack__", ("after-slow", 3000))
    expect("__ack_result__ after the late ACK", rec.take("result"), ({"err": None, "args": ["ok"]},))
    expect("no extra __ack_result__ for the late ACK", rec.count("result"), 0)

    # Several server acks in flight at once, answered in whatever order the client threads run.
    n = 10
    for i in range(n):
        sio.on("many-%d" % i, rec.handler("many-%d" % i, ret=lambda k: ("answer", k)))
        sio.emit("__emit_with_ack__", ("many-%d" % i, 3000, i))
    results = [rec.take("result")[0] for _ in range(n)]
    for r in results:
        expect("err of a server ack in flight", r.get("err"), None)
    expect("answers of %d server acks in flight" % n, sorted(r["args"][1] for r in results), list(range(n)))
    disconnect(sio)
    checks.done()


run(main)
