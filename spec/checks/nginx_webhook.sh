#!/bin/sh
# nginx webhook check: bizreg.webhook's content handler (ngx_handler) in a real nginx with
# 2 workers and a lua_shared_dict as its store (spec/checks/nginx_webhook.conf, handlers in
# nginx_webhook_app.lua). No sandbox: curl plays RCS Biz Center.
#   1. the same NotiBrand POSTed twice, then once more with its keys in another order:
#      three 200s, the user's on_event ran ONCE, and the store holds the brand's verdict;
#   2. a body nginx spooled to a file (above client_body_buffer_size): read, 200, one event;
#   3. a body that is not JSON: 400 with a WebhookErrorInfo body (64302); a NotiAgencyKey
#      without its agencyKey: 400 (64303); no event for either;
#   4. GET: 405;
#   5. an on_event that raises (with the agencyKey in its message): still 200, the error
#      logged once, the agencyKey not in the log;
#   6. 100 wait_for_approval calls in the workers, one per brand, on the same dict: each
#      returns once its brand's notification is POSTed (50 approved as `modified`, 50
#      rejected), with ZERO reads of the brand (the client's transport counts them).
#   sh spec/checks/nginx_webhook.sh   (exit 0 = pass; its last line gives the figures)
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
B=$ROOT/build/nginx/webhook-$$
HOOK=/rcs-noti-5f0c2a9e41d7
CHECK="nginx webhook"
# shellcheck source=spec/checks/nginx_lib.sh
. "$ROOT/spec/checks/nginx_lib.sh"
need_nginx

rm -rf "$B"
mkdir -p "$B/conf" "$B/logs" "$B/tmp" "$B/out"
start_nginx "$B" spec/checks/nginx_webhook.conf
URL=http://127.0.0.1:$PORT

# post NAME BODY-FILE: POSTs the file to the webhook; the answer in out/NAME.json, status in out/NAME.code
post() {
  curl -s -m 10 -o "$B/out/$1.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$2" "$URL$HOOK" >"$B/out/$1.code"
}
code() { cat "$B/out/$1.code"; }
seen() { curl -sf -o "$B/seen.json" "$URL/seen" || fail "GET /seen"; }

# ---- 1. the same notification three times ---------------------------------------
printf '{"notiType":"brand","brandId":"BR.wh1","method":"rejected","reason":"blurry logo"}' >"$B/brand.json"
printf '{"reason":"blurry logo","method":"rejected","brandId":"BR.wh1","notiType":"brand"}' >"$B/brand2.json"
post b1 "$B/brand.json"; post b2 "$B/brand.json"; post b3 "$B/brand2.json"
for n in b1 b2 b3; do [ "$(code $n)" = 200 ] || fail "delivery $n answered HTTP $(code $n)"; done
seen
jcheck "$B/seen.json" 'j["seen:brand:BR.wh1:rejected"] == 1 and j["bizreg:brand:BR.wh1"].method == "rejected"
  and j["bizreg:brand:BR.wh1"].reason == "blurry logo" and type(j["bizreg:brand:BR.wh1"].at) == "number"' \
  "the same NotiBrand 3 times: on_event not called exactly once, or no verdict in the store"

# ---- 2. a body spooled to a file ------------------------------------------------
LUA_CPATH=$CJSON_CPATH luajit -e 'io.write(require("cjson").encode { notiType = "chatbot", brandId = "BR.wh1",
  chatbotId = "0212345678", method = "rejected", reason = string.rep("사유 ", 400) })' >"$B/big.json"
size=$(stat -c %s "$B/big.json")
post big "$B/big.json"; post big2 "$B/big.json"
if [ "$(code big)" != 200 ] || [ "$(code big2)" != 200 ]; then
  fail "the $size-byte body answered HTTP $(code big), $(code big2)"
fi
seen
jcheck "$B/seen.json" 'j["seen:chatbot:BR.wh1:rejected"] == 1' "the $size-byte body (spooled to a file): not one event"

# ---- 3. bodies that cannot be read ----------------------------------------------
printf 'not json' >"$B/garbage.json"
printf '{"notiType":"agencykey","method":"created"}' >"$B/nokey.json"
post garbage "$B/garbage.json"; post nokey "$B/nokey.json"
[ "$(code garbage)" = 400 ] || fail "a body that is not JSON answered HTTP $(code garbage)"
jcheck "$B/out/garbage.json" 'j.status == "400" and j.error.code == "64302"' "not JSON: not a WebhookErrorInfo 64302"
[ "$(code nokey)" = 400 ] || fail "NotiAgencyKey without agencyKey answered HTTP $(code nokey)"
jcheck "$B/out/nokey.json" 'j.status == "400" and j.error.code == "64303"' "no agencyKey: not a WebhookErrorInfo 64303"

# ---- 4. GET ----------------------------------------------------------------------
got=$(curl -s -o /dev/null -w '%{http_code}' "$URL$HOOK")
[ "$got" = 405 ] || fail "GET on the webhook answered HTTP $got"

# ---- 5. on_event raises ------------------------------------------------------------
printf '{"notiType":"agencykey","agencyKey":"AK.secretkey123456","method":"created","reason":"boom"}' >"$B/boom.json"
post boom "$B/boom.json"
[ "$(code boom)" = 200 ] || fail "an on_event that raised made the answer HTTP $(code boom)"
seen
jcheck "$B/seen.json" 'j["seen:agencykey:-:created"] == 1' "agencykey: not one event"
n=$(grep -c 'bizreg.webhook: on_event failed' "$B/logs/error.log")
[ "$n" = 1 ] || fail "the on_event error was logged $n times, not once"
grep -q 'AK.secretkey123456' "$B/logs/error.log" && fail "the agencyKey is in nginx's error log"
if grep -v 'on_event failed' "$B/logs/error.log" | grep -E '\[(error|crit|alert|emerg)\]' >/dev/null; then
  fail "nginx logged errors"
fi

# ---- 6. 100 waits listening on the dict ------------------------------------------------
since=$(date +%s)
W=100
seq 1 $W | xargs -P $W -I{} curl -s -m 60 -o "$B/out/w{}.json" "$URL/wait?brand=BR.w{}&since=$since" &
waits=$!
i=0  # every wait is in its loop before the first notification goes
until curl -sf -o "$B/seen.json" "$URL/seen" && J_FILE=$B/seen.json LUA_CPATH=$CJSON_CPATH luajit -e '
    local f = io.open(os.getenv("J_FILE")); local j = require("cjson").decode(f:read("*a"))
    os.exit(j.waiting == '"$W"' and 0 or 1)'; do
  i=$((i + 1)); [ $i -lt 600 ] || fail "the $W waits did not all start within 60 s"; sleep 0.1
done
n=1
while [ $n -le $W ]; do
  if [ $((n % 2)) = 0 ]; then m=modified; r=null; else m=rejected; r='"no"'; fi
  printf '{"notiType":"brand","brandId":"BR.w%d","method":"%s","reason":%s}' $n $m "$r" >"$B/w.json"
  post "wpost$n" "$B/w.json"
  [ "$(code "wpost$n")" = 200 ] || fail "notification for BR.w$n answered HTTP $(code "wpost$n")"
  n=$((n + 1))
done
wait $waits
n=1
while [ $n -le $W ]; do
  want=$([ $((n % 2)) = 0 ] && echo true || echo false)
  jcheck "$B/out/w$n.json" "j.approved == $want and j.reads == 0 and j.calls == 0 and j.source == 'webhook'" \
    "wait_for_approval on BR.w$n: not the notification's verdict with zero reads"
  n=$((n + 1))
done

passed=1
echo "nginx webhook: 100 wait_for_approval in 2 workers, on the dict: each returned on its notification with 0 reads of the brand"
echo "nginx webhook: 2 workers, one lua_shared_dict: the same NotiBrand 3 times -> 3 x 200, on_event once, verdict stored; a $size-byte body spooled to a file read; not JSON -> 400 64302; NotiAgencyKey without agencyKey -> 400 64303; GET -> 405; on_event raising -> 200, logged once without the agencyKey"
