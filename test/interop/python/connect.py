# Connecting with python-socketio: CONNECT with auth, the `auth` event, the socket ids and the transport in use.
# MODE: default (polling, then upgrade to websocket), websocket, polling.
import sys

sys.dont_write_bytecode = True
from sioutil import (Recorder, connect, disconnect, expect, expect_true, expected_transport, log, new_client,
                     report_socket, run, show)


def check_connected(sio, rec, mode, auth_expected, label):
    expect_true("%s: sio.connected must be True after connect()" % label, sio.connected)
    expect_true("%s: sio.sid (the Engine.IO session id) must be a non-empty str, got %s" % (label, show(sio.sid)),
                isinstance(sio.sid, str) and sio.sid != "")
    nsid = sio.get_sid("/")
    expect_true("%s: get_sid('/') (the namespace socket id from the CONNECT answer) must be a non-empty str, "
                "got %s" % (label, show(nsid)), isinstance(nsid, str) and nsid != "")
    expect_true("%s: the namespace socket id %s must differ from the Engine.IO sid %s (Socket.IO v5 CONNECT "
                "answer {sid})" % (label, show(nsid), show(sio.sid)), nsid != sio.sid)
    expect("%s: sio.transport()" % label, sio.transport(), expected_transport(mode))
    expect("%s: arguments of the `auth` event" % label, rec.wait("auth"), (auth_expected,))
    expect("%s: the client `connect` handler must run once" % label, rec.count("connect"), 1)
    # The connection carries events both ways.
    sio.emit("message", "hello")
    expect("%s: message-back after emit('message', 'hello')" % label, rec.wait("message-back"), ("hello",))
    log("%s: sid=%s nsp sid=%s transport=%s" % (label, sio.sid, nsid, sio.transport()))
    return nsid


def client(rec):
    sio = new_client()
    sio.on("connect", rec.handler("connect"))
    sio.on("disconnect", rec.handler("disconnect"))
    sio.on("auth", rec.handler("auth"))
    sio.on("message-back", rec.handler("message-back"))
    return sio


def main(url, mode):
    # With auth.
    rec = Recorder()
    sio = client(rec)
    connect(sio, url, mode, auth={"token": "abc"})
    nsid = check_connected(sio, rec, mode, {"token": "abc"}, "with auth")
    report_socket("auth", sio)

    # Without auth: python-socketio sends CONNECT with {} and the server emits `auth` with {}.
    rec2 = Recorder()
    sio2 = client(rec2)
    connect(sio2, url, mode)
    nsid2 = check_connected(sio2, rec2, mode, {}, "without auth")
    expect_true("two connections must get different socket ids", nsid2 != nsid)
    expect_true("two connections must get different Engine.IO sids", sio2.sid != sio.sid)
    report_socket("no-auth", sio2)

    # auth with a richer payload comes back as sent.
    rec3 = Recorder()
    sio3 = client(rec3)
    auth3 = {"token": "x" * 100, "n": 1.5, "list": [1, "two", None, True], "nested": {"é": "😀"}}
    connect(sio3, url, mode, auth=auth3)
    check_connected(sio3, rec3, mode, auth3, "rich auth")
    report_socket("rich-auth", sio3)

    for s, r in ((sio, rec), (sio2, rec2), (sio3, rec3)):
        disconnect(s)
        expect("after disconnect(): sio.connected", s.connected, False)
        expect("the client `disconnect` handler must run once", r.count("disconnect"), 1)


run(main)
