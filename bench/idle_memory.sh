#!/usr/bin/env bash
# Memory of the server per idle session: a fresh server per count, its VmRSS / VmHWM (and, with
# MALLOC_STATS=1, glibc's "in use" heap read through gdb) with no connection, then with N idle sessions held
# by bench/idle_ws, after the ramp and SETTLE seconds, and again after HB_WAIT more seconds (one heartbeat).
#
#   bench/idle_memory.sh [ws|polling] N [N...]         e.g. bench/idle_memory.sh ws 1000 5000 15000
#
# Environment: SERVER (build/conformance), RATE (2000), SETTLE (5), HB_WAIT (30; 0 skips the second sample),
# PING_INTERVAL (25000), PING_TIMEOUT (20000), MALLOC_STATS (0; 1 = also heap in use, via gdb + malloc_stats()).
# Prints one table row per N; X_B/s = (X_N - X_0) / N bytes per session: RSS (VmRSS), Anon (RssAnon), heap
# (malloc in use), hb (VmRSS after HB_WAIT more seconds, every session having had a ping).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-ws}
shift || true
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1000 5000 15000)
SERVER=${SERVER:-build/conformance}
RATE=${RATE:-2000}
SETTLE=${SETTLE:-5}
HB_WAIT=${HB_WAIT:-30}
PING_INTERVAL=${PING_INTERVAL:-25000}
PING_TIMEOUT=${PING_TIMEOUT:-20000}
MALLOC_STATS=${MALLOC_STATS:-0}
TOOL=build/bench/idle_ws

case "$MODE" in
ws) TOOL_FLAGS=() ;;
polling) TOOL_FLAGS=(--polling) ;;
*) echo "usage: $0 [ws|polling] N..." >&2; exit 2 ;;
esac

mkdir -p build/bench
if [ ! -x "$TOOL" ] || [ bench/idle_ws.c -nt "$TOOL" ]; then
    cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$TOOL" bench/idle_ws.c $(pkg-config --cflags --libs libevent)
fi
[ -x "$SERVER" ] || { echo "no $SERVER: run make first" >&2; exit 1; }

# Raise our own open-files limit so the server (our child) may hold every connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d)
SRV_PID=
TOOL_PID=
cleanup() {
    [ -n "$TOOL_PID" ] && kill "$TOOL_PID" 2>/dev/null || true
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

heap_in_use() { # bytes in use by malloc (glibc malloc_stats' total), or "-" without MALLOC_STATS
    if [ "$MALLOC_STATS" != 1 ]; then echo -; return; fi
    local before
    before=$(wc -l < "$TMP/srv.err")
    gdb -p "$1" -batch -nx -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || true
    sleep 0.2
    tail -n +"$((before + 1))" "$TMP/srv.err" | awk '/^Total/ { t = 1 } t && /in use bytes/ { print $NF; exit }'
}

per() { # per-session bytes from two kB (or byte) readings
    awk -v a="$1" -v b="$2" -v n="$3" -v mul="$4" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.0f", (b - a) * mul / n }'
}

# RSS per session counts everything the process touched; RssAnon leaves out the file-backed pages (library code
# touched for the first time, e.g. libcrypto's SHA-1 on the first upgrade), which are a one-time cost.
FMT='%-8s %6s %6s | %7s %7s %9s | %7s %7s %7s %10s | %7s %7s %7s | %7s\n'
printf "$FMT" mode N estab RSS0_kB HWM0_kB heap0_B RSS_kB HWM_kB Anon_kB heap_B \
    RSS_B/s Anon_B/s heap_B/s hb_B/s
for N in "${COUNTS[@]}"; do
    : > "$TMP/srv.err"
    "$SERVER" --port 0 --ping-interval "$PING_INTERVAL" --ping-timeout "$PING_TIMEOUT" > "$TMP/srv.out" 2>> "$TMP/srv.err" &
    SRV_PID=$!
    for _ in $(seq 100); do grep -q listening "$TMP/srv.out" 2>/dev/null && break; sleep 0.05; done
    PORT=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/srv.out")
    [ -n "$PORT" ] || { echo "server did not start" >&2; cat "$TMP/srv.err" >&2; exit 1; }
    sleep 1
    RSS0=$(status_kb $SRV_PID VmRSS); HWM0=$(status_kb $SRV_PID VmHWM); ANON0=$(status_kb $SRV_PID RssAnon)
    HEAP0=$(heap_in_use $SRV_PID)

    : > "$TMP/tool.out"
    "$TOOL" --port "$PORT" --connections "$N" --rate "$RATE" --hold 0 "${TOOL_FLAGS[@]}" > "$TMP/tool.out" 2> "$TMP/tool.err" &
    TOOL_PID=$!
    for _ in $(seq $((N / 100 + 600))); do grep -q 'ramp done' "$TMP/tool.out" && break; sleep 0.1; done
    ESTAB=$(sed -n 's/^ramp done: established \([0-9]*\).*/\1/p' "$TMP/tool.out")
    [ -n "$ESTAB" ] || { echo "ramp did not finish:" >&2; tail -3 "$TMP/tool.err" >&2; ESTAB=0; }
    sleep "$SETTLE"
    RSS=$(status_kb $SRV_PID VmRSS); HWM=$(status_kb $SRV_PID VmHWM); ANON=$(status_kb $SRV_PID RssAnon)
    HEAP=$(heap_in_use $SRV_PID)
    RSSHB=-
    if [ "$HB_WAIT" -gt 0 ]; then
        sleep "$HB_WAIT"
        RSSHB=$(status_kb $SRV_PID VmRSS)
    fi
    kill -TERM $TOOL_PID 2>/dev/null || true
    wait $TOOL_PID 2>/dev/null || true
    ALIVE=$(sed -n 's/^final.*(alive \([0-9]*\),.*/\1/p' "$TMP/tool.out")
    TOOL_PID=
    kill $SRV_PID 2>/dev/null || true
    wait $SRV_PID 2>/dev/null || true
    SRV_PID=

    printf "$FMT" "$MODE" "$N" "$ESTAB" "$RSS0" "$HWM0" "$HEAP0" "$RSS" "$HWM" "$ANON" "$HEAP" \
        "$(per "$RSS0" "$RSS" "$N" 1024)" "$(per "$ANON0" "$ANON" "$N" 1024)" "$(per "$HEAP0" "$HEAP" "$N" 1)" \
        "$(per "$RSS0" "$RSSHB" "$N" 1024)"
    [ "${ALIVE:-0}" = "$N" ] || echo "  (warning: $ALIVE of $N sessions alive at the end)" >&2
done
