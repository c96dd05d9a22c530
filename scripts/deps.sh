#!/usr/bin/env bash
# Installs what building and running socketio-c needs and is missing on this Debian machine: the C libraries
# and tools (apt-get, or sudo apt-get when not root) and the npm packages (npm ci from the committed
# package-lock.json: socket.io-client, whose browser bundle the examples serve, and the test-only packages).
# Safe to run again: it does nothing when all is there.
# `scripts/deps.sh --test` also installs what only the tests need (clang and its sanitizer runtime, cmocka,
# python-socketio, Chromium, redis-server); `--bench` the benchmark's Node server packages (bench/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(build-essential pkg-config libevent-dev libwslay-dev libcjson-dev libhttp-parser-dev libssl-dev zlib1g-dev
      libhiredis-dev libmsgpack-dev nodejs npm)
if [ "${1:-}" = "--test" ]; then
  debs+=(clang libclang-rt-14-dev libcmocka-dev chromium python3-socketio python3-requests python3-websocket
         redis-server)
fi
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# node and npm may come from elsewhere than Debian's packages: accept them when they run.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  filtered=()
  for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ci only when node_modules was not installed from this very lock file.
npm_ci() { # directory
  local stamp="$1/node_modules/.socketio-c-lock.sha256" want
  want=$(sha256sum "$1/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "deps: npm ci in $1"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
}
npm_ci .
if [ "${1:-}" = "--bench" ]; then
  npm_ci bench
fi
