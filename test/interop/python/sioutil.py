# Shared helpers for the python-socketio interop scripts (not a script itself: python.test.mjs runs the others).
#
# Every script is run as `/usr/bin/python3 SCRIPT URL [MODE]` by python.test.mjs against a server started with
# --events --test-commands. A script logs what it does, prints "OK" and exits 0 when every check passed, and exits 1
# with a "FAIL: ..." line on the first failed check (for lists of independent values: at the end, with every
# mismatch). Lines starting with "@report " carry a JSON object for the wrapper (the namespace socket ids, so that it
# checks the server's sio-connection / sio-disconnect events).
import json
import os
import sys
import threading
import time
import traceback

import socketio

# Every wait is bounded: a server that never answers fails the check instead of hanging the suite.
WAIT = 5.0

# Client transport modes: "default" = python-socketio's default (polling, then upgrade to websocket).
MODES = {
    "default": None,
    "websocket": ["websocket"],
    "polling": ["polling"],
}


class Failure(Exception):
    pass


def fail(msg):
    raise Failure(msg)


T0 = time.monotonic()


def log(msg):
    print("[%6.2f] %s" % (time.monotonic() - T0, msg), flush=True)


def report(obj):
    print("@report " + json.dumps(obj), flush=True)


def report_socket(case, sio, nsp="/", end="client-any"):
    """Tells the wrapper about a connected namespace socket, so that it checks the server's sio-connection event
    (same nsp and id) and the reason of its sio-disconnect event. end: how that socket ends,
      "client"      the script calls disconnect(sio) (python-socketio sends DISCONNECT then closes the transport):
                    the reason must be the reference's for the transport mode (see python.test.mjs)
      "client-any"  the same, but either reason of a client disconnect is accepted ("client namespace disconnect"
                    or "transport close"): disconnect.py checks the exact one, the other scripts are about
                    something else
      "server"      the server disconnects it (the "__disconnect__" command)"""
    sid = sio.get_sid(nsp)
    if not isinstance(sid, str) or not sid:
        fail("%s: no socket id for namespace %s (get_sid returned %s)" % (case, nsp, show(sid)))
    report({"case": case, "nsp": nsp, "id": sid, "end": end})


def show(v):
    """repr() that keeps long values readable in failure messages."""
    r = repr(v)
    return r if len(r) <= 300 else r[:300] + "...(%d chars)" % len(r)


def same(a, b):
    """Strict equality: same JSON-ish types (bool is not int, bytes is not str), lists and tuples alike.
    An int and a float of the same value are equal: JSON has one number type, so 1.0 may come back as 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def expect(what, actual, expected):
    if not same(actual, expected):
        fail("%s: expected %s, got %s" % (what, show(expected), show(actual)))


def expect_true(what, cond):
    if not cond:
        fail(what)


class Checks:
    """Collects the mismatches of independent value checks on a connection that stays usable, so that one run
    reports all of them; done() then fails with the list."""

    def __init__(self):
        self.errors = []

    def expect(self, what, actual, expected):
        if not same(actual, expected):
            msg = "%s: expected %s, got %s" % (what, show(expected), show(actual))
            log("MISMATCH " + msg)
            self.errors.append(msg)

    def done(self):
        if self.errors:
            fail("%d mismatch(es):\n  %s" % (len(self.errors), "\n  ".join(self.errors)))


class Recorder:
    """Records the calls of client event handlers (each call's positional arguments as a tuple) and lets the main
    thread wait for them. python-engineio runs every received message in its own thread, so all access is locked."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.calls = {}

    def handler(self, key, ret=None, delay=0):
        def h(*args):
            if delay:
                time.sleep(delay)
            with self.cond:
                self.calls.setdefault(key, []).append(args)
                self.cond.notify_all()
            return ret(*args) if callable(ret) else ret
        return h

    def wait(self, key, n=1, timeout=WAIT):
        """Returns the n-th call (1-based) of key, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.calls.get(key, [])) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    fail("no %s (call #%d) within %.1f s; calls so far: %s" %
                         (key, n, timeout, show(self.calls.get(key, []))))
                self.cond.wait(left)
            return self.calls[key][n - 1]

    def count(self, key):
        with self.lock:
            return len(self.calls.get(key, []))

    def take(self, key, timeout=WAIT):
        """Waits for the next call of key and removes it."""
        self.wait(key, 1, timeout)
        with self.lock:
            return self.calls[key].pop(0)


def new_client():
    return socketio.Client(reconnection=False, logger=False, engineio_logger=False)


def connect(sio, url, mode, wait_timeout=WAIT, **kw):
    """sio.connect() in the transport mode. wait_timeout: python-socketio waits for the CONNECT answers of the
    namespaces in steps of wait_timeout, and after a CONNECT_ERROR it still waits one full step."""
    transports = MODES[mode]
    log("connect %s transports=%s %s" % (url, transports, kw))
    sio.connect(url, transports=transports, wait_timeout=wait_timeout, **kw)


def disconnect(sio):
    """sio.disconnect(), once python-engineio's write thread is idle. python-engineio 4.3's write loop checks the
    connection state only between two sends: when disconnect() runs while the loop is still sending (e.g. awaiting
    the response to the POST of the last emit), the loop ends without sending the DISCONNECT and CLOSE packets that
    disconnect() queued, and the server learns of the disconnection only at its ping timeout. So: wait until every
    queued packet was sent (the queue counts a packet done once its POST returned or its frame was written), and a
    little more for the loop to be back waiting on its queue."""
    q = sio.eio.queue
    deadline = time.monotonic() + WAIT
    while q.unfinished_tasks > 0:
        if time.monotonic() > deadline:
            fail("python-engineio's write queue did not drain within %.1f s (%d packets left)" %
                 (WAIT, q.unfinished_tasks))
        time.sleep(0.01)
    time.sleep(0.05)
    sio.disconnect()


def expected_transport(mode):
    return "polling" if mode == "polling" else "websocket"


def run(main):
    """Runs main(url, mode) and turns the outcome into the exit status."""
    if len(sys.argv) < 2:
        print("usage: %s URL [MODE]" % sys.argv[0], file=sys.stderr)
        sys.exit(2)
    url = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else "default"
    if mode not in MODES:
        print("unknown mode %r (one of %s)" % (mode, ", ".join(MODES)), file=sys.stderr)
        sys.exit(2)
    status = 0
    try:
        main(url, mode)
    except Failure as e:
        print("FAIL: %s" % e, flush=True)
        status = 1
    except Exception:
        print("FAIL: unexpected exception", flush=True)
        traceback.print_exc(file=sys.stdout)
        status = 1
    if status == 0:
        # As a normal interpreter exit would, let python-socketio's threads finish (e.g. the write loop still
        # sending the DISCONNECT and CLOSE packets queued by disconnect()), but within a bound.
        deadline = time.monotonic() + WAIT
        for t in threading.enumerate():
            if t is not threading.current_thread() and not t.daemon:
                t.join(max(0.0, deadline - time.monotonic()))
        left = [t.name for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
        log("done%s" % (" (threads still running: %s)" % ", ".join(left) if left else ""))
        print("OK", flush=True)
    sys.stdout.flush()
    # Background threads (read loops waiting on a silent server) must not keep the script alive.
    os._exit(status)
