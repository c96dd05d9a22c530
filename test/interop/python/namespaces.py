# Namespaces with python-socketio: "/" and "/custom" on one connection (each gets its own CONNECT answer, socket id
# and `auth` event), and an unknown namespace refused with CONNECT_ERROR "Invalid namespace", which
# python-socketio's connect() turns into socketio.exceptions.ConnectionError. MODE: default, websocket, polling.
import sys

sys.dont_write_bytecode = True
import socketio

from sioutil import (Recorder, WAIT, connect, disconnect, expect, expect_true, expected_transport, fail, log,
                     new_client, report_socket, run, show)


def main(url, mode):
    # "/" and "/custom" over one Engine.IO connection.
    rec = Recorder()
    sio = new_client()
    for nsp in ("/", "/custom"):
        sio.on("connect", rec.handler("connect " + nsp), namespace=nsp)
        sio.on("auth", rec.handler("auth " + nsp), namespace=nsp)
        sio.on("message-back", rec.handler("message-back " + nsp), namespace=nsp)
    connect(sio, url, mode, namespaces=["/", "/custom"], auth={"token": "abc"})
    expect("sio.transport()", sio.transport(), expected_transport(mode))
    expect("connected namespaces", sorted(sio.namespaces), ["/", "/custom"])
    ids = {nsp: sio.get_sid(nsp) for nsp in ("/", "/custom")}
    for nsp, i in ids.items():
        expect_true("get_sid(%r) must be a non-empty str, got %s" % (nsp, show(i)), isinstance(i, str) and i != "")
    expect_true("the socket ids of / and /custom must differ, got %s" % show(ids), ids["/"] != ids["/custom"])
    for nsp in ("/", "/custom"):
        expect("`auth` event on %s" % nsp, rec.wait("auth " + nsp), ({"token": "abc"},))
        expect("`connect` handler runs on %s" % nsp, rec.count("connect " + nsp), 1)
        report_socket("two-namespaces", sio, nsp)
    # "message" is only handled on "/": the event emitted on "/custom" gets nothing back, the one on "/" does,
    # and the answer comes on "/" only.
    sio.emit("message", "to custom", namespace="/custom")
    sio.emit("message", "to root", namespace="/")
    expect("message-back on /", rec.wait("message-back /"), ("to root",))
    # /custom has test commands: an ack round trip there proves the namespace is live (and that "message" had no
    # answer on it before).
    rec_ack = Recorder()
    sio.on("ping-custom", rec_ack.handler("ping-custom", ret=lambda *a: ("pong", "custom")), namespace="/custom")
    sio.on("__ack_result__", rec_ack.handler("result"), namespace="/custom")
    sio.emit("__emit_with_ack__", ("ping-custom", 3000, 1), namespace="/custom")
    expect("ping-custom arguments", rec_ack.wait("ping-custom"), (1,))
    expect("__ack_result__ on /custom", rec_ack.wait("result"), ({"err": None, "args": ["pong", "custom"]},))
    expect("no message-back on /custom (it has no `message` handler)", rec.count("message-back /custom"), 0)
    expect("exactly one message-back on /", rec.count("message-back /"), 1)
    disconnect(sio)
    log("two namespaces: ids %s" % ids)

    # Only "/custom": the default namespace is not needed.
    rec = Recorder()
    sio = new_client()
    sio.on("auth", rec.handler("auth"), namespace="/custom")
    connect(sio, url, mode, namespaces=["/custom"], auth={"only": "custom"})
    expect("connected namespaces", sorted(sio.namespaces), ["/custom"])
    expect("`auth` event on /custom alone", rec.wait("auth"), ({"only": "custom"},))
    report_socket("custom-only", sio, "/custom")
    disconnect(sio)

    # Unknown namespaces: CONNECT_ERROR {"message": "Invalid namespace"} and connect() raises ConnectionError.
    for namespaces in (["/nope"], ["/", "/nope"], ["/custom", "/nope/deeper"]):
        rec = Recorder()
        sio = new_client()
        for nsp in namespaces:
            sio.on("connect_error", rec.handler("connect_error " + nsp), namespace=nsp)
        try:
            # 1 s (python-socketio's default): connect() waits that long after the CONNECT_ERROR.
            connect(sio, url, mode, namespaces=namespaces, wait_timeout=1)
        except socketio.exceptions.ConnectionError as e:
            log("namespaces=%s: ConnectionError(%r) as expected" % (namespaces, str(e)))
        else:
            fail("connect(namespaces=%s) must raise socketio.exceptions.ConnectionError, it returned (connected "
                 "namespaces %s)" % (namespaces, show(sio.namespaces)))
        bad = namespaces[-1]
        expect("connect_error handler arguments on %s" % bad, rec.wait("connect_error " + bad),
               ({"message": "Invalid namespace"},))
        expect_true("after the failed connect, sio.connected must be False", not sio.connected)
        sio.disconnect()  # a no-op after the failed connect(), which already disconnected

    # The server is still fine afterwards.
    rec = Recorder()
    sio = new_client()
    sio.on("message-back", rec.handler("message-back"))
    connect(sio, url, mode)
    report_socket("after-refused", sio)
    sio.emit("message", "still there")
    expect("message-back after the refused namespaces", rec.wait("message-back", timeout=WAIT), ("still there",))
    disconnect(sio)


run(main)
