# Client -> server acknowledgements with python-socketio: the server acks "message-with-ack" with the same
# arguments. call() returns the single argument, a tuple for several, None for none. MODE: default, websocket,
# polling.
import sys
import threading

sys.dont_write_bytecode = True
from sioutil import (Checks, Recorder, WAIT, connect, disconnect, expect, expected_transport, fail, log, new_client,
                     report_socket, run, show)

SINGLE = [
    ("str", "hello"),
    ("empty str", ""),
    ("unicode and emoji", "héllo € 日本語 😀"),
    ("str with NUL", "a\x00b"),
    ("int", 7),
    ("2**53-1", 2 ** 53 - 1),
    ("float", -2.75),
    ("0.1 + 0.2 (17 significant digits)", 0.1 + 0.2),
    ("largest double", 1.7976931348623157e308),
    ("true", True),
    ("false", False),
    ("dict", {"a": [1, 2, {"b": None}], "c": "d"}),
    ("list", ["x", 1, None, {"y": True}]),
    ("empty dict", {}),
    ("empty list", []),
]

MULTI = [
    ("two arguments", ("a", 1)),
    ("four arguments", ("a", 1, {"b": 2}, [3])),
    ("None among arguments", (None, None, "z")),
]


def main(url, mode):
    sio = new_client()
    connect(sio, url, mode)
    expect("sio.transport()", sio.transport(), expected_transport(mode))
    report_socket("acks", sio)

    checks = Checks()
    for label, value in SINGLE:
        checks.expect("call('message-with-ack', %s) for %s" % (show(value), label),
                      sio.call("message-with-ack", value, timeout=WAIT), value)
    for label, args in MULTI:
        got = sio.call("message-with-ack", args, timeout=WAIT)
        checks.expect("call('message-with-ack', %s) for %s (a tuple)" % (show(args), label), got, args)
        checks.expect("call('message-with-ack', %s) for %s: type of the result" % (show(args), label),
                      type(got).__name__, "tuple")
    # No argument: the ACK carries none, call() returns None.
    checks.expect("call('message-with-ack') without arguments", sio.call("message-with-ack", timeout=WAIT), None)
    # None as the only argument: the ACK carries [null].
    checks.expect("call('message-with-ack', (None,))", sio.call("message-with-ack", (None,), timeout=WAIT), None)
    log("%d acks checked with call()" % (len(SINGLE) + len(MULTI) + 2))

    # emit() with a callback: the callback gets the ack arguments as parameters.
    rec = Recorder()
    sio.emit("message-with-ack", ("cb", 2, {"three": 3}), callback=rec.handler("cb"))
    expect("emit(..., callback=) callback arguments", rec.wait("cb"), ("cb", 2, {"three": 3}))

    # Many acks in flight at once: each callback gets the arguments of its own event (ack ids are matched).
    # At most 10: see the burst in events.py (python-engineio refuses polling payloads of more than 16 packets).
    n = 10
    for i in range(n):
        sio.emit("message-with-ack", ("many", i), callback=rec.handler("many-%d" % i))
    for i in range(n):
        expect("ack #%d of %d in flight" % (i, n), rec.wait("many-%d" % i), ("many", i))
        expect("ack #%d must come once" % i, rec.count("many-%d" % i), 1)

    # Acks from several threads at once (call() blocks its thread until the ack).
    results = {}
    errors = []

    def worker(k):
        # Text events are one Engine.IO packet each, so emitting them from several threads is safe.
        try:
            r = sio.call("message-with-ack", {"thread": k}, timeout=WAIT)
            results[k] = r
        except Exception as e:  # noqa: BLE001
            errors.append("thread %d: %r" % (k, e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT + 1)
    if errors:
        fail("call() from 8 threads: %s" % "; ".join(errors))
    for k in range(8):
        expect("call() from thread %d" % k, results.get(k), {"thread": k})
    disconnect(sio)
    checks.done()


run(main)
