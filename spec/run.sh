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
# Parts run side by side, at most BIZREG_JOBS at a time (default: cores + 2, as most parts
# spend much of their time waiting on servers and child processes). Each part writes its
# own logs (build/logs/NAME.*), its own fixtures (BIZREG_TMP=build/tmp/NAME) and its tally
# (build/logs/NAME.count); its summary is printed when it ends, the total when all have.
JOBS=${BIZREG_JOBS:-$(($(nproc 2>/dev/null || echo 1) + 2))}
# A FIFO holding JOBS tokens: a part takes one to start and gives it back when it ends, so
# the loop below blocks (without polling) while JOBS parts run.
pool=build/logs/.pool.$$
mkfifo "$pool" && exec 3<>"$pool" && rm -f "$pool" || exit 1
i=0
while [ "$i" -lt "$JOBS" ]; do echo >&3; i=$((i + 1)); done
NAMES=""
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

# A part's outcome: "P F" into build/logs/NAME.count, then its summary (shown lines, the
# tally line with the part's wall and CPU seconds) printed at once, under a lock so that
# two parts ending together do not mix their lines.
T0=$(date +%s)
finish() {  # finish NAME P F START
  echo "$2 $3" >build/logs/$1.count
  times >build/logs/$1.times  # (no subshell: its children, the part's processes, are ours)
  cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } } END { printf "%.0f", s }' build/logs/$1.times)
  echo "$1: $2 passed, $3 failed ($(($(date +%s) - $4)) s, cpu $cpu s; at $(($(date +%s) - T0)) s)" >>build/logs/$1.out
  if command -v flock >/dev/null 2>&1; then flock build/logs/.print cat build/logs/$1.out; else cat build/logs/$1.out; fi
}

# part NAME FN ARGS...: runs FN ARGS as part NAME once a slot is free.
part() {
  name=$1; shift
  read -r _ <&3
  NAMES="$NAMES $name"
  rm -f build/logs/$name.count
  (
    trap 'echo >&3' EXIT  # the slot is given back however the part ends (but kill -9)
    : >build/logs/$name.out
    BIZREG_TMP=build/tmp/$name; export BIZREG_TMP
    "$@" "$name" "$(date +%s)" 3>&-  # the part's processes do not hold the pool open
  ) &
}

# tap CMD NAME START: tally the TAP stream of CMD; a crash or a short plan counts as failures.
tap() {
  cmd=$1; shift
  name=$1; t=$2
  out=build/logs/$name.tap
  sh -c "$cmd" >"$out" 2>build/logs/$name.err
  rc=$?
  p=$(grep -c '^ok ' "$out")
  f=$(grep -c '^not ok ' "$out")
  plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
  [ -n "$plan" ] && [ $((p + f)) -lt "$plan" ] && f=$((plan - p))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  if [ "$f" -gt 0 ]; then
    { grep -A 12 '^not ok ' "$out" | head -n 80; tail -n 20 build/logs/$name.err; } >>build/logs/$name.out
  fi
  finish "$name" "$p" "$f" "$t"
}

# check CMD NAME START: one pass/fail; its output is shown (figures) and kept in build/logs.
check() {
  if sh -c "$1" >build/logs/$2.log 2>&1; then
    sed 's/^/    /' build/logs/$2.log | tail -n 15 >>build/logs/$2.out; finish "$2" 1 0 "$3"
  else
    sed 's/^/    /' build/logs/$2.log | tail -n 40 >>build/logs/$2.out; finish "$2" 0 1 "$3"
  fi
}

# distro SUITE NAME START: one Debian root (spec/checks/distros.sh), counted per test
distro() {
  BIZREG_DISTROS=$1 sh spec/checks/distros.sh >build/logs/$2.log 2>&1
  grep -E '^(not ok|#|[a-z]+ \()' build/logs/$2.log | grep -v '^# *$' | tail -n 40 >>build/logs/$2.out
  p=$(sed -n 's/^distros: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' build/logs/$2.log)
  f=$(sed -n 's/^distros: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' build/logs/$2.log)
  [ -n "$p" ] || { p=0; f=1; }
  finish "$2" "$p" "$f" "$3"
}

# The Debian roots first, the longest parts; they copy the tree without build/, and build there.
for x in $EXTRA; do
  case $x in distros) for suite in ${BIZREG_DISTROS:-bullseye trixie}; do part distro-$suite distro $suite; done ;; esac
done
# Then the builds, one at a time, before the parts that use them (parts share them: nginx
# loads the LuaJIT core, soak and embed the lua5.4 one, property the ASan one, so no two
# makes write one file at once).
BUSTED=""
for lua in $LUAS; do
  why=$(why_not "$lua")
  if [ -n "$why" ]; then skip "$lua" "$why"; continue; fi
  if make -s LUA="$lua" build >build/logs/build-$lua.log 2>&1; then
    BUSTED="$BUSTED $lua"
  else
    cat build/logs/build-$lua.log; FAIL=$((FAIL + 1)); echo "$lua: build failed"
  fi
done
ASAN=""
case " $EXTRA " in *" asan "*|*" property "*)
  if [ -z "$LUA54" ]; then
    if make -s build-asan >build/logs/build-asan.log 2>&1; then ASAN=1
    else cat build/logs/build-asan.log; FAIL=$((FAIL + 1)); echo "asan: build failed"; fi
  fi ;;
esac

# The other parts, longest first (ASan, the interpreters), so that the short ones fill the
# gaps at the end.
case " $EXTRA " in *" asan "*)
  if [ -n "$LUA54" ]; then skip asan "$LUA54"
  # the lua5.4 suite again, on a core built with ASan+UBSan: any memory error fails it
  # (two parts: the folders every interpreter runs, and those run once)
  elif [ -n "$ASAN" ]; then
    part asan-lua5.4 tap "make -s asan BUSTED_ARGS='-o TAP' ASAN_SPECS='$EVERY'"
    part asan-lua5.4-once tap "make -s asan BUSTED_ARGS='-o TAP' ASAN_SPECS='$ONCE'"
  fi ;;
esac
# The property test is as long (10,000 hostile payloads on the ASan+UBSan core): queued with
# the ASan parts, not last, where it alone made the tail of the run.
case " $EXTRA " in *" property "*)
  if [ -n "$LUA54" ]; then skip property "$LUA54"
  elif [ -n "$ASAN" ]; then
    part property-asan check 'env LD_PRELOAD="$(cc -print-file-name=libasan.so) $PWD/build/nodlclose.so" \
      ASAN_OPTIONS=detect_leaks=1 lua5.4 spec/property/hostile.lua --count 10000 --cpath "./build/asan/?.so"'
  fi ;;
esac
first=1
for lua in $BUSTED; do
  # shellcheck disable=SC2086
  part "$lua" tap "$lua /usr/bin/busted -o TAP ${BIZREG_BUSTED_ARGS:-} --cpath='./build/$lua/?.so' $EVERY"
  [ -n "$first" ] && part "$lua-once" tap "$lua /usr/bin/busted -o TAP ${BIZREG_BUSTED_ARGS:-} --cpath='./build/$lua/?.so' $ONCE"
  first=""
done
for x in $EXTRA; do
  case $x in
    asan|distros|property) continue ;;  # queued above
    soak|luarocks|embed)  # these run the library on lua5.4
      if [ -n "$LUA54" ]; then skip "$x" "$LUA54"; continue; fi ;;
    nginx)
      if [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] || ! command -v luajit >/dev/null 2>&1; then
        skip nginx "this release has no nginx Lua module (libnginx-mod-http-lua) or no LuaJIT"; continue
      fi ;;
  esac
  case $x in
    lint) part lint check 'make -s lint' ;;
    soak)  # 1,000 calls with random faults: at most once, no duplicate, no secret (issue 7's soak)
      part soak check 'lua5.4 spec/soak.lua' ;;
    c) part c-media check 'make -s test-c' ;;
    docs) part docs check 'make -s docs' ;;  # the LDoc reference; fails on any LDoc warning
    luarocks) part luarocks check 'sh spec/checks/luarocks.sh' ;;
    nginx) part nginx check 'sh spec/checks/nginx.sh'
      part nginx-webhook check 'sh spec/checks/nginx_webhook.sh'
      part nginx-notify check 'sh spec/checks/nginx_notify.sh' ;;  # the sandbox delivers to it, wait_for_approval listens
    embed) part embed check 'sh spec/checks/embed.sh' ;;
  esac
done
wait
PASS=0
for name in $NAMES; do
  if [ -f build/logs/$name.count ]; then
    read -r p f <build/logs/$name.count
    PASS=$((PASS + p)); FAIL=$((FAIL + f))
  else  # a part that ended without a tally (killed) is a failure
    FAIL=$((FAIL + 1)); echo "$name: no tally (killed?)"
  fi
done
if [ -n "$CHECK" ]; then
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]; exit
fi
[ -n "$NAMES" ] && echo "all parts: $(($(date +%s) - T0)) s"
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
