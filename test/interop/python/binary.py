# Binary with python-socketio: bytes at top level and inside dicts and lists, in "message-back" (BINARY_EVENT) and
# in acks (BINARY_ACK, through call()). MODE: default, websocket, polling (binary attachments travel base64 encoded
# in polling payloads).
import sys

sys.dont_write_bytecode = True
from sioutil import (Checks, Recorder, WAIT, connect, disconnect, expect, expected_transport, log, new_client,
                     report_socket, run, show)

ALL_BYTES = bytes(range(256))

# Single arguments: (label, value).
SINGLE = [
    ("bytes", b"\x00\x01\x02\xff"),
    ("all 256 byte values", ALL_BYTES),
    ("empty bytes", b""),
    ("bytes that look like text", b"hello"),
    ("bytes that look like a packet", b"451-[\"x\",{\"_placeholder\":true,\"num\":0}]"),
    ("bytes in a dict", {"data": b"\xde\xad\xbe\xef", "n": 1}),
    ("bytes in a list", [b"\x01", "text", b"\x02\x03", None]),
    ("bytes deep inside", {"a": [{"b": {"c": [b"deep"]}}], "d": "e"}),
    ("dict with several bytes", {"x": b"\x00", "y": b"\x01", "z": [b"\x02", {"w": b"\x03"}]}),
    ("large bytes (200000)", bytes(i % 251 for i in range(200000))),
]

MULTI = [
    ("two bytes arguments", (b"\x01", b"\x02")),
    ("bytes mixed with other arguments", ("a", b"\xff\x00", 1, {"b": b"\x10"}, None)),
    ("ten attachments", tuple(bytes([i]) * (i + 1) for i in range(10))),
]


def main(url, mode):
    rec = Recorder()
    sio = new_client()
    sio.on("message-back", rec.handler("message-back"))
    connect(sio, url, mode)
    expect("sio.transport()", sio.transport(), expected_transport(mode))
    report_socket("binary", sio)

    checks = Checks()
    for label, value in SINGLE:
        sio.emit("message", value)
        checks.expect("message-back for %s (sent %s)" % (label, show(value)), rec.take("message-back"), (value,))
    for label, args in MULTI:
        sio.emit("message", args)
        checks.expect("message-back for %s (sent %s)" % (label, show(args)), rec.take("message-back"), args)
    log("%d binary events echoed" % (len(SINGLE) + len(MULTI)))

    for label, value in SINGLE:
        checks.expect("call('message-with-ack', %s) for %s" % (show(value), label),
                      sio.call("message-with-ack", value, timeout=WAIT), value)
    for label, args in MULTI:
        got = sio.call("message-with-ack", args, timeout=WAIT)
        checks.expect("call('message-with-ack', %s) for %s (a tuple)" % (show(args), label), got, args)
        checks.expect("call() for %s: type of the result" % label, type(got).__name__, "tuple")
    log("%d binary acks checked" % (len(SINGLE) + len(MULTI)))
    checks.done()

    # Text and binary events alternating: each comes back with its own arguments.
    for i in range(10):
        v = bytes([i]) * i if i % 2 else "text %d" % i
        sio.emit("message", (i, v))
        expect("alternating event %d" % i, rec.take("message-back"), (i, v))
    disconnect(sio)


run(main)
