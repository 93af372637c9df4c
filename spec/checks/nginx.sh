#!/bin/sh
# nginx check: bizreg inside nginx + lua-nginx-module with the cosocket transport
# (lua/bizreg/transport/ngx.lua), using examples/openresty/nginx.conf as is.
#
#   sh spec/checks/nginx.sh          (from anywhere; exit 0 = pass)
#
# It builds the LuaJIT core, starts the sandbox with a 300 ms delay on every API
# reply, renders the example config into build/nginx/ (one worker), fires 20
# concurrent POST /register at nginx and checks that all 20 succeeded, that the
# sandbox saw exactly 20 register_visitor_images requests / 20 images, and that
# the whole batch took < 3000 ms (20 x 300 ms one after the other would take
# >= 6000 ms: the worker must not block). Then a 151-character memo must come
# back as a 400 TooLong without reaching the sandbox, and a follow-up request
# must reuse a pooled keep-alive connection. Last, the fault matrix for the ngx
# transport (spec/checks/nginx_faults.lua, through a test-only /fault location added
# to the rendered config): every fault class x KOS/RCS x fresh/reused pooled
# connection. Then the token_store check (spec/checks/nginx_tokens.sh): a second nginx with
# 4 workers sharing one RCS token, one token call for 200 requests, one renewal after the
# sandbox expires it, and the worker holding the fetch lock killed (kill -9) in its token
# call: the others go on once the lock expires. nginx and the sandbox are always stopped. stdout is short and ends with the figures line. Each run works in
# build/nginx/run-<pid>/ (concurrent runs do not collide); it is removed after a
# pass and kept (logs/, conf/, out/) after a failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
B=$ROOT/build/nginx/run-$$
N=20
DELAY_MS=300
LIMIT_MS=3000
CHECK=nginx
# shellcheck source=spec/checks/nginx_lib.sh
. "$ROOT/spec/checks/nginx_lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

need_nginx

rm -rf "$B"
mkdir -p "$B/conf" "$B/logs" "$B/tmp" "$B/out"

# ---- sandbox on a free port (port 0; its log says which one) ----------------
start_sandbox
curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
  --data-binary "{\"delay_ms\":$DELAY_MS}" "$SB/_sandbox/config" || fail "could not set delay_ms"

# ---- nginx from the example config ------------------------------------------
# Test-only: one bizreg call per POST /fault ({api, base, timeout, retries, max,
# payload, events}) through the ngx transport; answers {res, err, str, elapsed, events}
# (events: the client's debug events, when the request asks for them).
cat >"$B/conf/faults.conf" <<'EOF'
location = /fault {
    default_type application/json;
    lua_socket_log_errors off;  # resets and timeouts are the point here
    content_by_lua_block {
        local bizreg = require "bizreg"
        local cjson = require "cjson.safe"
        ngx.req.read_body()
        local q = cjson.decode(ngx.req.get_body_data() or "")
        local o = { transport = require("bizreg.transport.ngx").new(), timeout = q.timeout,
            connect_timeout = 1, retries = q.retries, max_response_bytes = q.max }
        local events = q.events and {} or nil
        if events then o.on_event = function(ev) events[#events + 1] = ev end end
        local op = "register_brand"
        if q.api == "kos" then
            o.base_url, o.token, op = q.base, "sandbox-kos-token", "register_visitor_images"
        else
            o.base_url, o.token = q.base .. "/api/1.1", "sandbox-rcs-token"
        end
        local c = bizreg[q.api](o)
        ngx.update_time()
        local t0 = ngx.now()
        local res, err = c[op](c, q.payload)
        ngx.update_time()
        c:close()
        local e
        if err then e = {}; for k, v in pairs(err) do e[k] = v end end
        ngx.say(cjson.encode { res = res, err = e, str = err and tostring(err), elapsed = ngx.now() - t0,
                events = events }
            or cjson.encode { str = "result not encodable", elapsed = 0 })
    }
}
EOF
# Test-only: POST /upload?profile=PATH&cert=PATH -> one register_brand through the ngx transport
# with both files by path, against /fakercs/ in this same worker, which reads each upload into a
# temp file (16 KiB buffer) and answers like RCS: the worker's memory is the transport's.
cat >>"$B/conf/faults.conf" <<'EOF'
location = /upload {
    content_by_lua_block {
        local bizreg = require "bizreg"
        local a = ngx.req.get_uri_args()
        local c = bizreg.rcs { base_url = "http://127.0.0.1:" .. ngx.var.server_port .. "/fakercs/api/1.1",
            token = "upload-token", transport = require("bizreg.transport.ngx").new(), timeout = 120, retries = 0 }
        local res, err = c:register_brand { regBrand = { name = "n", description = "d", categoryId = "EDU",
            subCategoryId = "EDU007" }, chatbots = { { mdn = "0212345678", subTitle = "t" } },
            brandProfile = a.profile, subNumCertificate = a.cert }
        c:close()
        ngx.print(res and res.brandId or tostring(err))
    }
}
location = /fakercs/api/1.1/corp/brand {
    client_max_body_size 64m;
    client_body_buffer_size 16k;
    content_by_lua_block {
        ngx.req.read_body()
        ngx.print('{"code":"20000000","status":200,"result":[{"brandId":"BR.up' .. ngx.var.content_length .. '"}]}')
    }
}
EOF
# The example's user line (nobody nogroup) is kept as written when nobody can read the
# checkout; else (a checkout under /root, mode 0700; or not root) the workers run as we do.
if [ "$(id -u)" = 0 ] && su -s /bin/sh nobody -c "test -r '$ROOT/lua/bizreg/init.lua' && test -x '$ROOT/build'" 2>/dev/null; then
  NGINX_RUN_AS=
else
  NGINX_RUN_AS=$(id -un)
  echo "nginx: nobody cannot read $ROOT: the workers run as $NGINX_RUN_AS (the example says nobody nogroup)"
fi
# the example's workers read the KOS token from their environment (its env KOS_TOKEN line)
KOS_TOKEN=sandbox-kos-token
export KOS_TOKEN

# the fault matrix's /fault location goes into the example's server block
add_faults() {
  grep -q '^ *location = /healthz {' "$1" || fail "no 'location = /healthz' in the example config"
  sed -i "s|^\( *\)location = /healthz {|\1include $(sed_escape "$B")/conf/faults.conf;\n&|" "$1"
}
start_nginx "$B" examples/openresty/nginx.conf add_faults
URL=http://127.0.0.1:$PORT

# ---- 20 concurrent registrations ---------------------------------------------
payload() {
  printf '{"images":[{"fileName":"2026/11/22/a.jpg","visitorId":"65a1b2c3d4e5f6a7b8c9d0e1","source":"HOSPITAL","memo":"%s","shootingDateTimeUtc":"2026-11-22T07:00:00.000Z"}]}' "$1"
}
payload "before treatment" >"$B/ok.json"
payload "$(printf '%151s' '' | tr ' ' 'a')" >"$B/toolong.json"

post() { # post PAYLOAD-FILE OUT-NAME
  curl -s -m 20 -o "$B/out/$2.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$1" "$URL/register" >"$B/out/$2.code"
}

# at_once N CMD ARG: runs `CMD ARG i` for i = 1..N all at the same time, and waits for them.
at_once() {
  pids=
  n=1
  while [ $n -le "$1" ]; do
    "$2" "$3" "$n" &
    pids="$pids $!"
    n=$((n + 1))
  done
  # shellcheck disable=SC2086
  wait $pids
}
t0=$(now_ms)
at_once $N post "$B/ok.json"
t1=$(now_ms)
elapsed=$((t1 - t0))

n=1
while [ $n -le $N ]; do
  code=$(cat "$B/out/$n.code" 2>/dev/null)
  [ "$code" = 200 ] || fail "request $n answered HTTP '$code': $(head -c 300 "$B/out/$n.json" 2>/dev/null)"
  jcheck "$B/out/$n.json" 'j.ok == true and type(j.result) == "table" and next(j.result) == nil' \
    "request $n: not the success JSON"
  n=$((n + 1))
done
curl -sf -o "$B/stats1.json" "$SB/_sandbox/stats" || fail "sandbox stats"
jcheck "$B/stats1.json" "j.by_endpoint['kos.register_visitor_images'] == $N and j.registered.images == $N and j.requests == $N" \
  "the sandbox did not count $N register_visitor_images requests and $N images"
[ "$elapsed" -lt "$LIMIT_MS" ] ||
  fail "$N concurrent requests took $elapsed ms (limit $LIMIT_MS ms): the worker blocked?"

# ---- a validation error goes back as JSON and sends nothing ------------------
post "$B/toolong.json" toolong
code=$(cat "$B/out/toolong.code")
[ "$code" = 400 ] || fail "151-character memo answered HTTP '$code': $(head -c 300 "$B/out/toolong.json")"
jcheck "$B/out/toolong.json" 'j.ok == false and j.error.kind == "validation" and j.error.errorProperties[1].reason == "TooLong" and j.error.errorProperties[1].key == "memo"' \
  "151-character memo: not a TooLong validation error"
curl -sf -o "$B/stats2.json" "$SB/_sandbox/stats" || fail "sandbox stats"
jcheck "$B/stats2.json" "j.requests == $N" "the invalid payload reached the sandbox"
echo "nginx: 151-character memo -> 400 {kind=validation, memo TooLong}, nothing sent upstream"

# ---- keep-alive: one more call reuses a pooled upstream connection ------------
curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary '{"delay_ms":0}' "$SB/_sandbox/config" ||
  fail "could not reset delay_ms"
post "$B/ok.json" again
[ "$(cat "$B/out/again.code")" = 200 ] || fail "follow-up request answered HTTP '$(cat "$B/out/again.code")'"
curl -sf -o "$B/stats3.json" "$SB/_sandbox/stats" || fail "sandbox stats"
jcheck "$B/stats3.json" "j.requests == $N + 1 and j.connections <= $N" \
  "the follow-up request opened a new upstream connection (setkeepalive pool not used)"
conns=$(J_FILE=$B/stats3.json LUA_CPATH=$CJSON_CPATH luajit -e '
  local f = io.open(os.getenv("J_FILE")); print(require("cjson").decode(f:read("*a")).connections)')
echo "nginx: keep-alive pool: $((N + 1)) upstream requests over $conns connections"

# ---- debug events: the client's on_event sees the cosocket transport's exchanges --
curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
  --data-binary '{"fail_next":{"status":429,"count":1,"endpoint":"kos.register_visitor_images"}}' "$SB/_sandbox/config" ||
  fail "could not arm a 429"
printf '{"api":"kos","base":"%s","timeout":5,"retries":1,"events":true,"payload":%s}' "$SB" "$(cat "$B/ok.json")" \
  >"$B/events.json"
curl -s -m 20 -o "$B/out/events.json" -H 'Content-Type: application/json' --data-binary @"$B/events.json" "$URL/fault"
jcheck "$B/out/events.json" 'j.res and #j.events == 5 and j.events[1].type == "request" and j.events[1].attempt == 1
  and j.events[1].headers.Authorization == "Bearer ***" and j.events[1].url:find("/register%-visitor%-images$")
  and j.events[2].type == "response" and j.events[2].status == 429
  and j.events[3].type == "retry" and j.events[3].attempt == 2 and j.events[3].reason == "HTTP 429"
  and j.events[4].type == "request" and j.events[4].attempt == 2
  and j.events[5].type == "response" and j.events[5].status == 200' \
  "on_event through the ngx transport: not request, 429, retry, request, 200"
grep -q sandbox-kos-token "$B/out/events.json" && fail "the token appears in the debug events"
echo "nginx: on_event through the cosocket transport: request, response 429, retry, request, response 200"

if grep -E '\[(error|crit|alert|emerg)\]' "$B/logs/error.log" >/dev/null; then
  fail "nginx logged errors"
fi

# ---- the fault matrix through the ngx transport -------------------------------
LUA_CPATH="$ROOT/build/luajit/?.so;$CJSON_CPATH" luajit spec/checks/nginx_faults.lua "$URL" "$SB" "$ROOT" \
  >"$B/faults.log" 2>&1
frc=$?
grep '^not ok' "$B/faults.log" | head -n 40
tail -n 1 "$B/faults.log" | grep -q 'passed' || tail -n 20 "$B/faults.log"
[ "$frc" -eq 0 ] || fail "fault matrix: $(tail -n 1 "$B/faults.log")"
echo "$(tail -n 1 "$B/faults.log")"

# ---- 10 concurrent register_brand, 20 MiB certificate by path: the body streams ----
# The multipart body goes out in 64 KiB chunks (body:chunks()), never as one string: the
# worker's peak RSS may grow by at most 8 MiB for all 10 uploads together (one string each
# would be 200 MiB).
UPN=10
UP_LIMIT_KIB=$((8 * 1024))
LUA_PATH="$ROOT/?.lua;;" luajit -e "local i = require 'spec.helpers.images'
  i.write('$B/up-profile.png', i.png(400, 400)); i.write('$B/up-small.pdf', i.pdf(1024))
  i.write('$B/up-cert.pdf', i.pdf(20 * 1024 * 1024))" || fail "could not write the upload files"
upload() { # upload CERT N: out/upN.txt, out/upN.code
  curl -s -m 120 -o "$B/out/up$2.txt" -w '%{http_code}' -X POST \
    "$URL/upload?profile=$B/up-profile.png&cert=$1" >"$B/out/up$2.code"
}
upload "$B/up-small.pdf" -warm  # code paths, the connection pool
grep -q '^BR\.up' "$B/out/up-warm.txt" || fail "upload warm-up: $(head -c 300 "$B/out/up-warm.txt")"
wpid=$(ps -o pid= --ppid "$(cat "$B/logs/nginx.pid")" | head -n 1 | tr -d ' ')
[ -n "$wpid" ] || fail "no nginx worker"
kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB$/\1/p" "/proc/$wpid/status"; }
if echo 5 2>/dev/null >"/proc/$wpid/clear_refs"; then rss0=$(kib VmRSS); else rss0=$(kib VmHWM); fi
at_once $UPN upload "$B/up-cert.pdf"
growth=$(($(kib VmHWM) - rss0))
size=$(stat -c %s "$B/up-cert.pdf")
n=1
while [ $n -le $UPN ]; do
  [ "$(cat "$B/out/up$n.code")" = 200 ] || fail "upload $n answered HTTP $(cat "$B/out/up$n.code")"
  got=$(cat "$B/out/up$n.txt")
  case "$got" in BR.up*) ;; *) fail "upload $n: $got" ;; esac
  [ "${got#BR.up}" -gt "$size" ] || fail "upload $n: the server got ${got#BR.up} bytes, less than the certificate"
  n=$((n + 1))
done
echo "nginx: $UPN concurrent register_brand, 20 MiB certificate by path, streamed in chunks: worker peak RSS grew $growth KiB (limit $UP_LIMIT_KIB)"
[ "$growth" -le "$UP_LIMIT_KIB" ] || fail "the worker's peak RSS grew $growth KiB for $UPN uploads (limit $UP_LIMIT_KIB KiB)"

# ---- token_store: one token for 4 workers (spec/checks/nginx_tokens.sh) -------
# shellcheck source=spec/checks/nginx_tokens.sh
. "$ROOT/spec/checks/nginx_tokens.sh"
token_check

passed=1
echo "nginx: $N concurrent register_visitor_images, $DELAY_MS ms upstream delay each, all done in $elapsed ms in one worker (serial would take >= $((N * DELAY_MS)) ms)"
