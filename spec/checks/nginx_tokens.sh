# shellcheck shell=sh
# The token_store check, sourced by spec/checks/nginx.sh (it uses nginx_lib.sh's fail,
# jcheck, start_nginx, $B, $SB, $ROOT and $CJSON_CPATH). An nginx with 4 workers
# (spec/checks/nginx_tokens.conf, handlers in nginx_tokens_app.lua), one RCS client per
# worker sharing its token through a lua_shared_dict:
#   1. 200 register_brand requests, 25 at a time, with a slow sandbox (every worker's first
#      request arrives before any token exists): all succeed, more than one worker served
#      them, and the sandbox counted exactly ONE token call;
#   2. the sandbox expires the token (61004 on its next use); 200 more requests: all
#      succeed, exactly one renewal (2 token calls in all), one brand per success;
#   3. the shared dict holds no secret (every key and value scanned);
#   4. the control: a second client per worker WITHOUT the store fetches one token per
#      worker that served it (so the check can fail);
#   5. a worker that dies holding the fetch lock: the sandbox holds the first token call
#      open, the worker whose pid the lock names is killed with SIGKILL; the requests on the
#      other workers wait for the lock to expire (timeout + connect_timeout = 9 s), one of them
#      fetches, and all of them succeed (2 token calls in all: the dead one's and one more).
TOK_DELAY_MS=150

# tok_fire FIRST LAST [QUERY]: GET /brand?n=I for I in FIRST..LAST, 25 at a time
tok_fire() {
  seq "$1" "$2" | xargs -P 25 -I{} curl -s -m 30 -o "$TB/out/{}.json" "$TURL/brand?n={}${3:-}"
}

# tok_tally FIRST LAST: fails unless every answer in FIRST..LAST succeeded; TOK_WORKERS is
# then the number of distinct workers (pids) that served them
tok_tally() {
  T_DIR=$TB/out T_FIRST=$1 T_LAST=$2 LUA_CPATH=$CJSON_CPATH luajit -e '
    local cjson = require "cjson.safe"
    local seen, n = {}, 0
    for i = tonumber(os.getenv("T_FIRST")), tonumber(os.getenv("T_LAST")) do
      local f = io.open(os.getenv("T_DIR") .. "/" .. i .. ".json")
      local j = f and cjson.decode(f:read("*a"))
      if f then f:close() end
      if not (type(j) == "table" and j.ok and j.brandId and j.pid) then
        io.stderr:write("request ", i, ": ", tostring(type(j) == "table" and j.err or "no JSON answer"), "\n")
        os.exit(1)
      end
      if not seen[j.pid] then seen[j.pid], n = true, n + 1 end
    end
    print(n)' >"$TB/workers" 2>"$TB/tally.err" || fail "token check: $(head -c 300 "$TB/tally.err")"
  TOK_WORKERS=$(cat "$TB/workers")
}

# tok_stats NAME: the sandbox's stats into $TB/NAME.json
tok_stats() { curl -sf -o "$TB/$1.json" "$SB/_sandbox/stats" || fail "sandbox stats"; }

token_check() {
  TB=$B/tokens
  mkdir -p "$TB/out"
  png=$(cd "$ROOT" && LUA_CPATH=$CJSON_CPATH luajit -e 'package.path = "./?.lua;" .. package.path
    local fx = require "spec.helpers.fixtures"
    print(fx.file("nginx-tokens-profile.png", function() return fx.png(400, 400) end))') ||
    fail "could not write the brand image"
  case $png in /*) ;; *) png=$ROOT/$png ;; esac
  curl -sf -o /dev/null -X POST "$SB/_sandbox/reset" || fail "sandbox reset"
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"delay_ms\":$TOK_DELAY_MS}" "$SB/_sandbox/config" || fail "could not set delay_ms"
  RCS_CLIENT_ID=sandbox RCS_CLIENT_SECRET=SK.sandboxsecret1 BIZREG_SANDBOX=$SB BIZREG_PNG=$png
  export RCS_CLIENT_ID RCS_CLIENT_SECRET BIZREG_SANDBOX BIZREG_PNG
  start_nginx "$TB" spec/checks/nginx_tokens.conf
  TURL=http://127.0.0.1:$PORT

  tok_fire 1 200
  tok_tally 1 200
  w1=$TOK_WORKERS
  [ "$w1" -ge 2 ] || fail "token check: all 200 requests were served by one worker"
  tok_stats tok1
  jcheck "$TB/tok1.json" "j.by_endpoint['rcs.token'] == 1 and j.registered.brands == 200" \
    "token check: 4 workers, 200 requests: not exactly one token call (or not 200 brands)"

  curl -sf -o "$TB/store.json" "$TURL/store" || fail "token check: GET /store"
  grep -q 'SK.sandboxsecret1' "$TB/store.json" && fail "token check: the client secret is in the shared dict"
  jcheck "$TB/store.json" '(function() local n = 0
      for k, v in pairs(j) do n = n + 1
        if not (k:match("^bizreg:token:%x+$") and v:match("^%d+ %S+$")) or k:find("sandbox") then return false end
      end return n == 1 end)()' \
    "token check: the shared dict holds more than the one token under a hashed key"

  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary '{"expire_tokens":true}' \
    "$SB/_sandbox/config" || fail "could not expire the tokens"
  tok_fire 201 400
  tok_tally 201 400
  w2=$TOK_WORKERS
  tok_stats tok2
  jcheck "$TB/tok2.json" "j.by_endpoint['rcs.token'] == 2 and j.registered.brands == 400" \
    "token check: after the token expired, not exactly one renewal (or not 400 brands)"
  renewed401=$(J_FILE=$TB/tok2.json LUA_CPATH=$CJSON_CPATH luajit -e '
    local f = io.open(os.getenv("J_FILE")); local j = require("cjson").decode(f:read("*a"))
    print(j.by_endpoint["rcs.register_brand"] - 400)')

  tok_fire 401 500 "&store=0"
  tok_tally 401 500
  w3=$TOK_WORKERS
  tok_stats tok3
  jcheck "$TB/tok3.json" "j.by_endpoint['rcs.token'] == 2 + $w3" \
    "token check (control): without token_store, not one token call per worker ($w3 workers)"

  if grep -E '\[(error|crit|alert|emerg)\]' "$TB/logs/error.log" >/dev/null; then
    fail "token check: nginx logged errors"
  fi
  echo "nginx: token_store, 4 workers: 200 requests on $w1 workers -> 1 token call; token expired, 200 more on $w2 workers ($renewed401 answered 61004 and were resent) -> 1 renewal; without the store, 100 requests on $w3 workers -> $w3 token calls"
  tok_dead_holder
}

# 5. The lock holder dies (kill -9) in the middle of its token call.
tok_dead_holder() {
  curl -sf -o /dev/null -X POST "$SB/_sandbox/reset" || fail "sandbox reset"
  curl -sf -o /dev/null "$TURL/store?flush=1" || fail "dead-holder check: could not empty the dict"
  curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary '{"endpoint":"rcs.token","mode":"hang","count":1,"hold_ms":30000}' "$SB/_sandbox/fault" ||
    fail "dead-holder check: could not arm the hang"
  rm -f "$TB/out/"*.json
  seq 1001 1016 | xargs -P 16 -I{} curl -s -m 60 -o "$TB/out/{}.json" "$TURL/brand?n={}&dead=1" &
  fire=$!
  holder=
  i=0
  while [ -z "$holder" ]; do  # the lock's value names its holder: "<expiry> <pid>:..."
    i=$((i + 1))
    [ $i -lt 200 ] || fail "dead-holder check: no worker took the fetch lock within 20 s"
    sleep 0.1
    holder=$(curl -sf "$TURL/store" | sed -n 's/.*"bizreg:lock:[0-9a-f]*":"[0-9]* \([0-9][0-9]*\):.*/\1/p')
  done
  kill -9 "$holder" || fail "dead-holder check: could not kill worker $holder"
  wait "$fire"
  T_DIR=$TB/out T_DEAD=$holder LUA_CPATH=$CJSON_CPATH luajit -e '
    local cjson = require "cjson.safe"
    local ok, lost, took = 0, 0, 0
    for i = 1001, 1016 do
      local f = io.open(os.getenv("T_DIR") .. "/" .. i .. ".json")
      local j = f and cjson.decode(f:read("*a"))
      if f then f:close() end
      if type(j) ~= "table" then
        lost = lost + 1  -- its connection died with the killed worker
      elseif not j.ok or tostring(j.pid) == os.getenv("T_DEAD") then
        io.stderr:write("request ", i, ": ", tostring(j.err), "\n")
        os.exit(1)
      else
        ok, took = ok + 1, math.max(took, j.took)
      end
    end
    if ok == 0 then io.stderr:write("no request succeeded\n") os.exit(1) end
    print(ok, lost, string.format("%.1f", took))' >"$TB/dead" 2>"$TB/dead.err" ||
    fail "dead-holder check: $(head -c 300 "$TB/dead.err")"
  read -r dead_ok dead_lost dead_took <"$TB/dead"
  tok_stats tok5
  jcheck "$TB/tok5.json" "j.by_endpoint['rcs.token'] == 2 and j.registered.brands == $dead_ok" \
    "dead-holder check: not exactly 2 token calls (the dead holder's, one more), or not one brand per success"
  if grep -E '\[(error|crit|emerg)\]' "$TB/logs/error.log" >/dev/null; then
    fail "dead-holder check: nginx logged errors"
  fi
  echo "nginx: token_store lock holder killed (kill -9 of worker $holder in its token call): $dead_ok requests on the other workers went on after at most $dead_took s (lock expiry 9 s) with 1 more token call; $dead_lost died with the worker"
}
