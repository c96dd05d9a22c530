# Heartbeat with python-socketio: run against a server with a short pingInterval / pingTimeout (the suite's
# 300 / 200 ms), the client answers every PING and the connection outlives many heartbeat periods. The server then
# ends the connection ("__disconnect__" true), so that the reason of its sio-disconnect event shows that nothing
# ended it before ("ping timeout"): a client-side disconnect() would race with the PONGs python-engineio keeps
# sending (its write loop may then drop the DISCONNECT and CLOSE packets, or the socket may be reset with a PING
# unread, "transport error"). MODE: default, websocket, polling.
import sys
import time

sys.dont_write_bytecode = True
from sioutil import Recorder, connect, expect, expect_true, expected_transport, log, new_client, report_socket, run

SECONDS = 3.0


def main(url, mode):
    rec = Recorder()
    sio = new_client()
    sio.on("disconnect", rec.handler("disconnect"))
    sio.on("message-back", rec.handler("message-back"))
    connect(sio, url, mode)
    expect("sio.transport()", sio.transport(), expected_transport(mode))
    expect("the server's pingInterval in the handshake (s)", sio.eio.ping_interval, 0.3)
    expect("the server's pingTimeout in the handshake (s)", sio.eio.ping_timeout, 0.2)
    report_socket("heartbeat", sio, end="server")
    end = time.monotonic() + SECONDS
    i = 0
    while time.monotonic() < end:
        time.sleep(0.5)
        expect_true("the connection must survive the heartbeat (dropped after %d round trips)" % i, sio.connected)
        sio.emit("message", i)
        expect("message-back %d during the heartbeat" % i, rec.take("message-back"), (i,))
        i += 1
    expect("no disconnect during %.0f s" % SECONDS, rec.count("disconnect"), 0)
    log("%d round trips over %.0f s" % (i, SECONDS))
    sio.emit("__disconnect__", True)
    rec.wait("disconnect")
    expect("the `disconnect` handler runs once", rec.count("disconnect"), 1)


run(main)
