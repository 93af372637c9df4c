#!/bin/sh
# make reliability: the standing proof of issue 7, each part with its tally:
#   the fault matrix (spec/slow/faults_spec.lua, libcurl transport, lua5.4),
#   the fault matrix against the ngx transport in a real nginx (spec/checks/nginx.sh),
#   the soak (spec/soak.lua: random faults, at-most-once invariants),
#   the hostile-payload property test (spec/property/hostile.lua, when present).
# Ends with "N passed, N failed"; exit 1 when anything failed.
#   SEED (default: now), SOAK_COUNT (1000), PROPERTY_COUNT (10000)
set -u
cd "$(dirname "$0")/.." || exit 1
mkdir -p build/logs
SEED=${SEED:-$(date +%s)}
SOAK_COUNT=${SOAK_COUNT:-1000}
PROPERTY_COUNT=${PROPERTY_COUNT:-10000}
PASS=0
FAIL=0

if ! make -s LUA=lua5.4 build >build/logs/reliability-build.log 2>&1; then
  cat build/logs/reliability-build.log
  echo "0 passed, 1 failed"
  exit 1
fi

# The matrix: one tally line per TAP stream; failing cases are listed by name.
out=build/logs/faults.tap
lua5.4 /usr/bin/busted -o TAP --cpath="./build/lua5.4/?.so" spec/slow/faults_spec.lua >"$out" 2>build/logs/faults.err
rc=$?
p=$(grep -c '^ok ' "$out")
f=$(grep -c '^not ok ' "$out")
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
grep '^not ok ' "$out" | sed 's/^/    /'
echo "fault matrix (libcurl): $p passed, $f failed"
PASS=$((PASS + p))
FAIL=$((FAIL + f))

# check NAME CMD...: one pass/fail; its own tally lines are shown.
check() {
  name=$1
  shift
  if "$@" >"build/logs/$name.log" 2>&1; then
    PASS=$((PASS + 1))
    sed 's/^/    /' "build/logs/$name.log" | tail -n 12
    echo "$name: 1 passed, 0 failed"
  else
    FAIL=$((FAIL + 1))
    sed 's/^/    /' "build/logs/$name.log" | tail -n 30
    echo "$name: 0 passed, 1 failed"
  fi
}

if command -v nginx >/dev/null 2>&1; then
  check "fault-matrix-nginx" sh spec/checks/nginx.sh
else
  echo "fault-matrix-nginx: skipped (no nginx)"
fi
check soak lua5.4 spec/soak.lua --count "$SOAK_COUNT" --seed "$SEED"
if [ -f spec/property/hostile.lua ]; then
  check property lua5.4 spec/property/hostile.lua --count "$PROPERTY_COUNT" --seed "$SEED"
else
  echo "property: skipped (spec/property/hostile.lua not present)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
