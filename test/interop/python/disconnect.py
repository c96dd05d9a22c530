# Disconnections with python-socketio, each on its own connection; the ids are reported so that python.test.mjs
# can check the reason of each server-side sio-disconnect event:
#   client       sio.disconnect() with "/" (python-socketio sends DISCONNECT per namespace, then closes the transport)
#   client-two   the same with "/" and "/custom"
#   server-nsp   "__disconnect__" on "/custom": the server disconnects that namespace only; "/" keeps working
#   server-only  "__disconnect__" on "/" when it is the only namespace: python-socketio then closes the connection
#   server-all   "__disconnect__" true on "/": the server closes the whole connection, both namespaces end
# MODE: default, websocket, polling.
import sys
import time

sys.dont_write_bytecode = True
from sioutil import Recorder, WAIT, connect, disconnect, expect, expect_true, log, new_client, report_socket, run


def client(rec, namespaces):
    sio = new_client()
    for nsp in namespaces:
        sio.on("disconnect", rec.handler("disconnect " + nsp), namespace=nsp)
        sio.on("auth", rec.handler("auth " + nsp), namespace=nsp)
        sio.on("message-back", rec.handler("message-back " + nsp), namespace=nsp)
    return sio


def wait_disconnected(sio, what):
    deadline = time.monotonic() + WAIT
    while sio.connected or sio.eio.state != "disconnected":
        if time.monotonic() > deadline:
            expect_true("%s: the client must end up disconnected (connected=%s, engine.io state=%s)" %
                        (what, sio.connected, sio.eio.state), False)
        time.sleep(0.02)


def main(url, mode):
    # client: disconnect() on "/".
    rec = Recorder()
    sio = client(rec, ["/"])
    connect(sio, url, mode)
    rec.wait("auth /")
    report_socket("client", sio, end="client")
    disconnect(sio)
    expect("client: the `disconnect` handler runs once", rec.count("disconnect /"), 1)
    expect("client: sio.connected", sio.connected, False)
    log("client: done")

    # client-two: disconnect() with "/" and "/custom".
    rec = Recorder()
    sio = client(rec, ["/", "/custom"])
    connect(sio, url, mode, namespaces=["/", "/custom"])
    rec.wait("auth /")
    rec.wait("auth /custom")
    for nsp in ("/", "/custom"):
        report_socket("client-two", sio, nsp, end="client")
    disconnect(sio)
    for nsp in ("/", "/custom"):
        expect("client-two: the `disconnect` handler of %s runs once" % nsp, rec.count("disconnect " + nsp), 1)
    log("client-two: done")

    # server-nsp: the server disconnects "/custom" only.
    rec = Recorder()
    sio = client(rec, ["/", "/custom"])
    connect(sio, url, mode, namespaces=["/", "/custom"])
    rec.wait("auth /")
    rec.wait("auth /custom")
    report_socket("server-nsp", sio, "/custom", end="server")
    report_socket("server-nsp-rest", sio, "/", end="client")
    sio.emit("__disconnect__", namespace="/custom")
    rec.wait("disconnect /custom")
    expect("server-nsp: namespaces left", sorted(sio.namespaces), ["/"])
    expect_true("server-nsp: the client stays connected", sio.connected)
    sio.emit("message", "after /custom left")
    expect("server-nsp: message-back on / after /custom was disconnected", rec.wait("message-back /"),
           ("after /custom left",))
    expect("server-nsp: / was not disconnected", rec.count("disconnect /"), 0)
    disconnect(sio)
    log("server-nsp: done")

    # server-only: the server disconnects "/", the only namespace: python-socketio closes the connection.
    rec = Recorder()
    sio = client(rec, ["/"])
    connect(sio, url, mode)
    rec.wait("auth /")
    report_socket("server-only", sio, end="server")
    sio.emit("__disconnect__")
    rec.wait("disconnect /")
    wait_disconnected(sio, "server-only")
    expect("server-only: the `disconnect` handler runs once", rec.count("disconnect /"), 1)
    log("server-only: done")

    # server-all: "__disconnect__" true closes the whole connection.
    rec = Recorder()
    sio = client(rec, ["/", "/custom"])
    connect(sio, url, mode, namespaces=["/", "/custom"])
    rec.wait("auth /")
    rec.wait("auth /custom")
    for nsp in ("/", "/custom"):
        report_socket("server-all", sio, nsp, end="server")
    sio.emit("__disconnect__", True)
    rec.wait("disconnect /")
    rec.wait("disconnect /custom")
    wait_disconnected(sio, "server-all")
    for nsp in ("/", "/custom"):
        expect("server-all: the `disconnect` handler of %s runs once" % nsp, rec.count("disconnect " + nsp), 1)
    log("server-all: done")


run(main)
