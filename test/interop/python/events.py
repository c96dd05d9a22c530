# Events with python-socketio: emit("message", ...) makes the server emit "message-back" with the same arguments
# (python-socketio passes several arguments as separate handler parameters). MODE: default, websocket, polling.
import sys

sys.dont_write_bytecode = True
from sioutil import (Checks, Recorder, connect, disconnect, expect, expected_transport, log, new_client,
                     report_socket, run, show)

# 100 levels of dicts and lists.
NESTED = "bottom"
for depth in range(100):
    NESTED = [NESTED] if depth % 2 else {"k": NESTED}

# Single arguments: (label, value).
SINGLE = [
    ("str", "hello"),
    ("empty str", ""),
    ("str with JSON and escapes", '{"a":1} "quoted" \\ back\\slash / slash'),
    ("str with newlines and tabs", "line\nbreak\r\nand\ttab"),
    ("str with control characters", "\x01\x02\x1f\x7f"),
    ("str with NUL", "nul\x00inside"),
    ("str starting like a packet", "2[\"message\"]"),
    ("unicode", "héllo wörld € 日本語"),
    ("emoji (astral, surrogate pair in JSON)", "😀 𝄞 🇫🇷"),
    ("int", 42),
    ("zero", 0),
    ("negative int", -7),
    ("2**53-1", 2 ** 53 - 1),
    ("-(2**53-1)", -(2 ** 53 - 1)),
    ("float", 3.14),
    ("negative float", -0.5),
    ("small float", 1e-7),
    ("large float", 1.5e300),
    ("float 1e21", 1e21),
    ("0.1 + 0.2 (17 significant digits)", 0.1 + 0.2),
    ("largest double", 1.7976931348623157e308),
    ("smallest subnormal double", 5e-324),
    ("1e16", 1e16),
    ("2**53 + 2", 2 ** 53 + 2),
    ("true", True),
    ("false", False),
    ("empty dict", {}),
    ("empty list", []),
    ("dict", {"a": 1, "b": "two", "c": None, "d": [1, 2, {"e": False}], "é€😀": "key in unicode"}),
    ("list", [1, "two", None, True, 2.5, {"x": []}]),
    ("nested 100 levels", NESTED),
    ("long str (100000 chars)", "x" * 100000),
]
# Several arguments: (label, tuple of arguments).
MULTI = [
    ("no argument", ()),
    ("None as the only argument", (None,)),
    ("two arguments", ("a", 1)),
    ("five mixed arguments", ("a", 1, {"b": [2, 3]}, None, True)),
    ("None between arguments", (None, "x", None)),
    ("ten arguments", tuple(range(10))),
]


def main(url, mode):
    rec = Recorder()
    sio = new_client()
    sio.on("message-back", rec.handler("message-back"))
    connect(sio, url, mode)
    expect("sio.transport()", sio.transport(), expected_transport(mode))
    report_socket("events", sio)

    # One at a time: python-engineio handles each received message in its own thread, so the order of several
    # message-back events in flight would not be deterministic on the client side.
    checks = Checks()
    for label, value in SINGLE:
        sio.emit("message", value)
        got = rec.take("message-back")
        checks.expect("message-back for %s (sent %s)" % (label, show(value)), got, (value,))
    for label, args in MULTI:
        # python-socketio: a tuple is sent as several arguments; emit(event) alone sends none.
        if args == ():
            sio.emit("message")
        else:
            sio.emit("message", args)
        got = rec.take("message-back")
        checks.expect("message-back for %s (sent %s)" % (label, show(args)), got, args)
    log("%d single-argument and %d multi-argument events echoed" % (len(SINGLE), len(MULTI)))

    # A burst: every event comes back once (in whatever order the client's threads deliver them). At most 10:
    # python-engineio 4.3's client refuses a polling payload of more than 16 packets ("Too many packets in
    # payload") and drops the connection, and the server may batch every answer in flight into one payload
    # (Node's does).
    n = 10
    for i in range(n):
        sio.emit("message", ("burst", i))
    for i in range(n):
        rec.wait("message-back", i + 1)
    got = sorted(args[1] for args in rec.calls["message-back"])
    checks.expect("burst of %d events: the indexes that came back" % n, got, list(range(n)))
    disconnect(sio)
    checks.done()


run(main)
