#!/bin/sh
# The whole suite: busted (TAP) under every interpreter, plus the C, LuaRocks, nginx
# and embedded-host checks. Prints one tally per part and, last, "N passed, N failed, N skipped".
# A part this release cannot run (an interpreter or its lua-cjson build missing, no nginx Lua
# module) is skipped with one line saying why (bin/deps skipped the package); N skipped counts parts.
set -u
cd "$(dirname "$0")/.." || exit 1
# BIZREG_LUAS, BIZREG_EXTRA: the parts to run (spec/checks/distros.sh narrows them in its roots);
# BIZREG_BUSTED_ARGS: extra busted arguments (e.g. --exclude-tags=wire).
#   sh spec/run.sh --check: make check, the specs that matter while editing: lua5.4 only, no
#   spec/slow, no test tagged #slow, no extra part; its last line is "N passed, N failed".
LUAS=${BIZREG_LUAS-"lua5.4 lua5.3 lua5.2 lua5.1 luajit"}
EXTRA=${BIZREG_EXTRA-"lint asan soak property c docs luarocks nginx embed distros"}
# The spec folders (spec/README.md): unit and e2e depend on the interpreter and run under each
# one; cli, sandbox and slow do not, and run once, under the first interpreter that can run the
# suite (lua5.4 here; the Debian 11 root's lua5.1 there). A spec file still directly in spec/
# (not yet filed in a folder) runs under every interpreter.
EVERY="spec/unit spec/e2e $(ls spec/*_spec.lua 2>/dev/null | tr '\n' ' ')"
ONCE="spec/cli spec/sandbox spec/slow"
CHECK=""
if [ "${1:-}" = --check ]; then
  CHECK=1; LUAS=lua5.4; EXTRA=""; ONCE="spec/cli spec/sandbox"
  BIZREG_BUSTED_ARGS="${BIZREG_BUSTED_ARGS:-} --exclude-tags=slow"
fi
mkdir -p build/logs
PASS=0
FAIL=0
SKIP=0
skip() {  # skip NAME WHY
  SKIP=$((SKIP + 1)); echo "$1: skipped: $2"
}
# why_not LUA: empty when LUA can run the suite, else the reason it cannot
why_not() {
  if ! command -v "$1" >/dev/null 2>&1; then echo "$1 is not installed (this release has no package for it)"
  elif ! "$1" -e 'require "cjson"' >/dev/null 2>&1; then echo "this release's lua-cjson has no $1 build"
  elif ! "$1" -e 'require "busted.runner"' >/dev/null 2>&1; then echo "this release's busted does not run on $1"
  fi
}
LUA54=$(why_not lua5.4)

# tap NAME CMD...: tally a TAP stream; a crash or a short plan counts as failures.
tap() {
  name=$1; shift
  out=build/logs/$name.tap
  "$@" >"$out" 2>build/logs/$name.err
  rc=$?
  p=$(grep -c '^ok ' "$out")
  f=$(grep -c '^not ok ' "$out")
  plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
  [ -n "$plan" ] && [ $((p + f)) -lt "$plan" ] && f=$((plan - p))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  if [ "$f" -gt 0 ]; then
    grep -A 12 '^not ok ' "$out" | head -n 80
    tail -n 20 build/logs/$name.err
  fi
  echo "$name: $p passed, $f failed"
  PASS=$((PASS + p))
  FAIL=$((FAIL + f))
}

# check NAME CMD...: one pass/fail; its output is shown (figures) and kept in build/logs.
check() {
  name=$1; shift
  if "$@" >build/logs/$name.log 2>&1; then
    PASS=$((PASS + 1)); sed 's/^/    /' build/logs/$name.log | tail -n 15; echo "$name: 1 passed, 0 failed"
  else
    FAIL=$((FAIL + 1)); sed 's/^/    /' build/logs/$name.log | tail -n 40; echo "$name: 0 passed, 1 failed"
  fi
}

once=$ONCE
for lua in $LUAS; do
  why=$(why_not "$lua")
  if [ -n "$why" ]; then skip "$lua" "$why"; continue; fi
  if ! make -s LUA="$lua" build >build/logs/build-$lua.log 2>&1; then
    cat build/logs/build-$lua.log; FAIL=$((FAIL + 1)); echo "$lua: build failed"; continue
  fi
  # shellcheck disable=SC2086
  tap "$lua" "$lua" /usr/bin/busted -o TAP ${BIZREG_BUSTED_ARGS:-} --cpath="./build/$lua/?.so" $EVERY $once
  once=""
done
if [ -n "$CHECK" ]; then
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]; exit
fi
for x in $EXTRA; do
  case $x in
    asan|soak|property|luarocks|embed)  # these run the library on lua5.4
      if [ -n "$LUA54" ]; then skip "$x" "$LUA54"; continue; fi ;;
    nginx)
      if [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || ! command -v luajit >/dev/null 2>&1; then
        skip nginx "this release has no nginx Lua module (libnginx-mod-http-lua) or no LuaJIT"; continue
      fi ;;
  esac
  case $x in
    asan)  # the lua5.4 suite again, on a core built with ASan+UBSan: any memory error fails it
      if make -s build-asan >build/logs/build-asan.log 2>&1; then
        tap asan-lua5.4 make -s asan BUSTED_ARGS="-o TAP"
      else
        cat build/logs/build-asan.log; FAIL=$((FAIL + 1)); echo "asan: build failed"
      fi ;;
    lint) check lint make -s lint ;;
    soak)  # 1,000 calls with random faults: at most once, no duplicate, no secret (issue 7's soak)
      check soak lua5.4 spec/soak.lua ;;
    property)  # 10,000 hostile payloads on the ASan+UBSan core (make build-asan ran in "asan")
      make -s build-asan >/dev/null 2>&1
      check property-asan env LD_PRELOAD="$(cc -print-file-name=libasan.so) $PWD/build/nodlclose.so" \
        ASAN_OPTIONS=detect_leaks=1 lua5.4 spec/property/hostile.lua --count 10000 --cpath './build/asan/?.so' ;;
    c) check c-media make -s test-c ;;
    docs) check docs make -s docs ;;  # the LDoc reference; fails on any LDoc warning
    luarocks) check luarocks sh spec/checks/luarocks.sh ;;
    nginx) check nginx sh spec/checks/nginx.sh
      check nginx-webhook sh spec/checks/nginx_webhook.sh
      check nginx-notify sh spec/checks/nginx_notify.sh ;;  # the sandbox delivers to it, wait_for_approval listens
    embed) check embed sh spec/checks/embed.sh ;;
    distros)  # Debian 11 (libcurl 7.74, lua5.1) and 13 (libcurl 8.14, lua5.4) roots: counted per test
      sh spec/checks/distros.sh >build/logs/distros.log 2>&1
      grep -E '^(not ok|#|[a-z]+ \(|distros:)' build/logs/distros.log | grep -v '^# *$' | tail -n 40
      p=$(sed -n 's/^distros: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' build/logs/distros.log)
      f=$(sed -n 's/^distros: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' build/logs/distros.log)
      [ -n "$p" ] || { p=0; f=1; }
      PASS=$((PASS + p)); FAIL=$((FAIL + f)) ;;
  esac
done
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
