# shellcheck shell=sh
# What the nginx checks share: spec/checks/nginx.sh, nginx_webhook.sh and nginx_notify.sh
# source this file after setting ROOT (the checkout; the current directory), B (this run's
# folder, build/nginx/<name>-<pid>) and CHECK (the name their messages start with).
# It gives them one way to stop nginx and the sandbox whatever happens (the traps below),
# to fail with the logs that say why, to check a JSON answer, to start the sandbox and to
# start an nginx from a config template on a free port. A run keeps $B after a failure and
# removes it once the script sets passed=1.
CJSON_CPATH="/usr/lib/x86_64-linux-gnu/lua/5.1/?.so;;"
passed=
sb_pid=

# stop_nginx PREFIX: stops the nginx whose pid file is PREFIX/logs/nginx.pid, if any
stop_nginx() {
  pid=$(cat "$1/logs/nginx.pid" 2>/dev/null)
  [ -n "$pid" ] || return 0
  kill -QUIT "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then # a worker stuck in a blocking call
    workers=$(ps -o pid= --ppid "$pid" 2>/dev/null)
    # shellcheck disable=SC2086
    kill -KILL "$pid" $workers 2>/dev/null
  fi
  rm -f "$1/logs/nginx.pid"
}
# every nginx started under $B (start_nginx's prefixes: $B itself or a folder in it), the sandbox
stop_all() {
  for prefix in "$B" "$B"/*; do
    [ -f "$prefix/logs/nginx.pid" ] && stop_nginx "$prefix"
  done
  if [ -n "$sb_pid" ]; then
    kill "$sb_pid" 2>/dev/null
    wait "$sb_pid" 2>/dev/null
    sb_pid=
  fi
  [ -n "$passed" ] && rm -rf "$B"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "$CHECK: FAIL: $*"
  echo "(files kept in ${B#"$ROOT"/})"
  for log in "$B/logs/error.log" "$B"/*/logs/error.log; do
    [ -s "$log" ] || continue
    echo "--- ${log#"$B"/} (last lines)"
    grep -v '^\s*$' "$log" | tail -n 12
  done
  if [ -s "$B/logs/sandbox.log" ]; then
    echo "--- sandbox.log (last lines)"
    tail -n 5 "$B/logs/sandbox.log"
  fi
  exit 1
}

# jtest FILE LUA-EXPR: true when FILE decodes as JSON into `j` and EXPR holds (else the file
# is in $B/jcheck.err).
jtest() {
  J_FILE=$1 J_EXPR=$2 LUA_CPATH=$CJSON_CPATH luajit -e '
    local f = assert(io.open(os.getenv("J_FILE"), "rb")); local s = f:read("*a"); f:close()
    local j = require("cjson.safe").decode(s)
    local ok, v = pcall(assert(loadstring("local j = ...; return " .. os.getenv("J_EXPR"))), j)
    if not (ok and v) then io.stderr:write(s, "\n"); os.exit(1) end' 2>"$B/jcheck.err"
}
# jcheck FILE LUA-EXPR MESSAGE: fails with MESSAGE unless jtest FILE LUA-EXPR
jcheck() { jtest "$1" "$2" || fail "$3: $(head -c 400 "$B/jcheck.err")"; }

# need_nginx: fails unless nginx with its Lua module, curl and LuaJIT are here; builds the
# LuaJIT core the workers load
need_nginx() {
  for cmd in nginx curl luajit; do
    command -v "$cmd" >/dev/null 2>&1 || fail "$cmd not found (apt-get install -y nginx libnginx-mod-http-lua luajit2 curl)"
  done
  [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] ||
    fail "lua-nginx-module missing (apt-get install -y libnginx-mod-http-lua)"
  make -s LUA=luajit build >/dev/null || fail "make LUA=luajit build"
}

# start_sandbox: bin/bizreg-sandbox on a free port (port 0; its log, $B/logs/sandbox.log,
# says which one); sets SB (its URL) once it answers /_sandbox/stats
start_sandbox() {
  bin/bizreg-sandbox --port 0 >"$B/logs/sandbox.log" 2>&1 &
  sb_pid=$!
  SB=
  i=0
  while [ $i -lt 100 ]; do
    SB=$(sed -n 's/^bizreg sandbox listening on \(http:[^ ]*\).*$/\1/p' "$B/logs/sandbox.log" 2>/dev/null)
    if [ -n "$SB" ] && curl -sf -o /dev/null "$SB/_sandbox/stats"; then return 0; fi
    kill -0 "$sb_pid" 2>/dev/null || fail "the sandbox exited during startup"
    SB=
    sleep 0.1
    i=$((i + 1))
  done
  fail "the sandbox did not answer /_sandbox/stats within 10 s"
}

sed_escape() { printf '%s' "$1" | sed 's/[\\|&]/\\&/g'; }
free_port() {
  LUA_CPATH=$CJSON_CPATH luajit -e 'local s = assert(require("socket").bind("127.0.0.1", 0))
    local _, port = s:getsockname(); s:close(); print(port)'
}

# start_nginx PREFIX TEMPLATE [EDIT]: renders TEMPLATE into PREFIX/conf/nginx.conf on a
# free port (__ROOT__, __PORT__, __SANDBOX__ = $SB, __USER__ = the user running the check;
# when NGINX_RUN_AS is set, the config's user line becomes that user; EDIT, a function, may
# change the rendered file), starts nginx there in this environment (the config's env lines
# pick what its workers see) and waits for its /healthz; sets PORT. Another process may take
# the free port before nginx does: then it tries again on another (3 times).
start_nginx() {
  mkdir -p "$1/conf" "$1/logs" "$1/tmp"
  started=
  for _ in 1 2 3; do
    PORT=$(free_port) || fail "no free port (luasocket for LuaJIT missing?)"
    sed -e "s|__ROOT__|$(sed_escape "$ROOT")|g" -e "s|__PORT__|$PORT|g" \
      -e "s|__SANDBOX__|$(sed_escape "${SB:-}")|g" -e "s|__USER__|$(id -un)|g" "$2" >"$1/conf/nginx.conf"
    [ -n "${NGINX_RUN_AS:-}" ] && sed -i "s|^user .*;|user $NGINX_RUN_AS;|" "$1/conf/nginx.conf"
    grep -q '__[A-Z]*__' "$1/conf/nginx.conf" && fail "unreplaced placeholder in the rendered config"
    [ -n "${3:-}" ] && "$3" "$1/conf/nginx.conf"
    : >"$1/logs/error.log"
    if nginx -p "$1/" -c conf/nginx.conf -e "$1/logs/error.log" >"$1/logs/start.log" 2>&1; then
      started=1
      break
    fi
    grep -q 'in use' "$1/logs/start.log" "$1/logs/error.log" || { cat "$1/logs/start.log"; fail "nginx did not start"; }
  done
  [ -n "$started" ] || fail "nginx did not start (ports in use)"
  i=0
  until [ -s "$1/logs/nginx.pid" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "nginx wrote no pid file within 10 s"
    sleep 0.1
  done
  i=0
  until curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "nginx did not answer /healthz within 10 s"
    sleep 0.1
  done
}
