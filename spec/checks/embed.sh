#!/bin/sh
# Embedded-host check: builds examples/embed/host.c (a C program embedding Lua 5.4
# with a 60 fps frame loop and two lua_States), runs it against a local sandbox
# whose every API reply is delayed 200 ms, and checks that all jobs ended as
# expected, that no frame's Lua work took over 15 ms (wall time if the frame waited for
# anything, else its CPU time: preemption on a busy machine is not Lua's; the host checks both),
# and that the sandbox saw exactly the expected requests.
#
#   sh spec/checks/embed.sh          (from anywhere; exit 0 = pass)
#   BIZREG_EMBED_VALGRIND=1 sh spec/checks/embed.sh   also runs the host under valgrind
#
# stdout is short and ends with the host's figures line; the host's full output
# goes to build/logs/embed-host.log.
set -u
cd "$(dirname "$0")/../.." || exit 1

DELAY_MS=200
fail() {
  echo "embed: FAIL: $*"
  exit 1
}

make -s build || fail "make build"
mkdir -p build/logs build/sandbox
# shellcheck disable=SC2046
cc -O2 -g -Wall -Wextra -Wshadow -std=c99 -D_POSIX_C_SOURCE=200809L $(pkg-config --cflags lua5.4) \
  examples/embed/host.c -o build/embed-host $(pkg-config --libs lua5.4) -lm -Wl,-E ||
  fail "compiling examples/embed/host.c"

# ---- sandbox on a free port (port 0; the log says which one) ----------------
log=build/sandbox/embed-$$.log
pid=
stop_sandbox() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=
  fi
  rm -f "$log"
}
trap stop_sandbox EXIT
trap 'exit 1' HUP INT PIPE TERM

: >"$log"  # exists before the background job opens it, for the sed below
bin/bizreg-sandbox --port 0 >"$log" 2>&1 &
pid=$!
url=
tries=0
while [ $tries -lt 100 ]; do
  url=$(sed -n 's/^bizreg sandbox listening on \(http:[^ ]*\)$/\1/p' "$log")
  if [ -n "$url" ] && curl -fsS -o /dev/null "$url/_sandbox/stats" 2>/dev/null; then break; fi
  url=
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log"
    pid=
    fail "sandbox exited during startup"
  fi
  sleep 0.1
  tries=$((tries + 1))
done
[ -n "$url" ] || { cat "$log"; fail "sandbox did not answer /_sandbox/stats within 10 s"; }

configure() {
  curl -fsS -o /dev/null -X POST "$url/_sandbox/reset" -H 'content-type: application/json' -d '{}' &&
    curl -fsS -o /dev/null -X POST "$url/_sandbox/config" -H 'content-type: application/json' \
      -d "{\"delay_ms\":$DELAY_MS}"
}

# number after "key": in the stats JSON (keys are unique there once prefixed by { or ,)
stat() {
  printf '%s' "$stats" | sed -n "s/.*[{,]\"$1\":\([0-9][0-9]*\).*/\1/p"
}

check_stats() {
  stats=$(curl -fsS "$url/_sandbox/stats") || fail "GET /_sandbox/stats"
  bad=
  # per state: 3 image jobs (1 image each), 1 RCS token + 1 brand; the invalid job sends nothing
  for want in requests=10 images=6 brands=2 kos.register_visitor_images=6 rcs.token=2 rcs.register_brand=2 \
    kos.exchange_token=0; do
    key=${want%%=*}
    got=$(stat "$key")
    [ "$got" = "${want#*=}" ] || bad="$bad $key=${got:-?} (want ${want#*=})"
  done
  [ -z "$bad" ] || { echo "sandbox stats: $stats"; fail "unexpected sandbox counts:$bad"; }
}

# ---- the run ------------------------------------------------------------------
configure || fail "configuring the sandbox"
BIZREG_SANDBOX=$url ./build/embed-host >build/logs/embed-host.log 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  cat build/logs/embed-host.log
  fail "embed-host exited $rc"
fi
check_stats
figures=$(grep '^embed: [0-9]* lua_States' build/logs/embed-host.log)
[ -n "$figures" ] || { cat build/logs/embed-host.log; fail "no figures line"; }

# Each state runs 5 requests (3 images, token, brand), each held $DELAY_MS ms by the
# sandbox: done one after another they need >= 1.0 s, so less proves they overlapped.
wall=$(printf '%s' "$figures" | sed -n 's/.* frames in \([0-9.]*\) s,.*/\1/p')
awk -v w="$wall" -v d="$DELAY_MS" 'BEGIN { exit !(w != "" && w < 5 * d / 1000) }' ||
  fail "jobs did not overlap: ${wall:-?} s wall time (sequential would be >= $((5 * DELAY_MS)) ms)"

if [ "${BIZREG_EMBED_VALGRIND:-0}" = 1 ]; then
  configure || fail "configuring the sandbox"
  # frame timing means nothing under valgrind: only memory errors and definite leaks count
  BIZREG_SANDBOX=$url valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
    ./build/embed-host --max-frame-ms 10000 >build/logs/embed-host-valgrind.log 2>&1
  vrc=$?
  if [ $vrc -ne 0 ]; then
    cat build/logs/embed-host-valgrind.log
    fail "embed-host under valgrind exited $vrc"
  fi
  check_stats
  echo "valgrind: clean (no memory errors, no definite leaks)"
fi

grep '^embed: \[' build/logs/embed-host.log
echo "sandbox: $(stat requests) API requests, $(stat images) images and $(stat brands) brands registered, as expected"
echo "$figures"
