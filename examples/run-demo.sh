#!/bin/sh
# Starts the sandbox, runs examples/demo.lua against it, stops the sandbox.
#   examples/run-demo.sh [PORT [LUA]]   LUA: the interpreter the core was built for (make demo passes
#   its LUA; default: $LUA, else lua5.4), the core being build/LUA/bizreg/core.so
set -eu
cd "$(dirname "$0")/.."
PORT=${1:-8089}
LUA=${2:-${LUA:-lua5.4}}
mkdir -p build/demo
echo "bizreg: starting the sandbox on 127.0.0.1:$PORT"
# emptied here, before the start: the wait below must never read an earlier demo's
# "listening" line (the new sandbox's own redirect may truncate the file only later)
: >build/demo/sandbox.log
bin/bizreg-sandbox --port "$PORT" >>build/demo/sandbox.log 2>&1 &
SB=$!
trap 'kill $SB 2>/dev/null || true' EXIT INT TERM
i=0
until grep -q "listening" build/demo/sandbox.log 2>/dev/null; do
  i=$((i + 1))
  if [ $i -gt 200 ] || ! kill -0 $SB 2>/dev/null; then
    if grep -qi "already in use" build/demo/sandbox.log; then
      echo "bizreg: port $PORT is in use; run \`make demo PORT=…\` with a free port"
      exit 2
    fi
    echo "bizreg: the sandbox did not start:"; cat build/demo/sandbox.log
    exit 1
  fi
  sleep 0.05
done
URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' build/demo/sandbox.log | head -n 1)
LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/$LUA/?.so;;" "$LUA" examples/demo.lua "$URL"
