#!/bin/sh
# End-to-end webhook check (issue 19, "Done when"): the sandbox delivers its notifications to
# bizreg.webhook's content handler in a real nginx (2 workers, a lua_shared_dict as the
# store: spec/checks/nginx_notify.conf, handlers in nginx_notify_app.lua).
#   1. two brands waiting for review; in nginx, wait_for_approval(brand, { store = the dict })
#      starts for each (a timer: cosockets, ngx.sleep);
#   2. the sandbox is told to deliver to the handler with repeat = 2; one brand is approved,
#      the other rejected with a reason (POST /_sandbox/brand-status);
#   3. the sandbox delivered 4 copies (2 notifications x 2), each answered 200 at its first
#      attempt; the user's on_event ran exactly ONCE per notification (counted in the dict
#      across both workers);
#   4. both waits returned the verdict from the store (approved / rejected with the reason,
#      source "webhook", 0 reads), and the sandbox received no API request at all: no
#      GET /corp/{personId}/brand/{brandId}, not even a token call.
#   sh spec/checks/nginx_notify.sh   (exit 0 = pass; its last line gives the figures)
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
B=$ROOT/build/nginx/notify-$$
HOOK=/rcs-noti-3b8e61d0c2f4
ROUNDS=300  # polls of 0.1 s for each condition (a busy machine gets 30 s)
CHECK="nginx notify"
# shellcheck source=spec/checks/nginx_lib.sh
. "$ROOT/spec/checks/nginx_lib.sh"

# until_json URL FILE LUA-EXPR MESSAGE: GETs URL into FILE until EXPR holds (ROUNDS polls)
until_json() {
  i=0
  while :; do
    curl -sf -o "$2" "$1" && jtest "$2" "$3" && return 0
    i=$((i + 1))
    [ $i -lt $ROUNDS ] || fail "$4: $(head -c 400 "$2" 2>/dev/null)"
    sleep 0.1
  done
}

need_nginx

rm -rf "$B"
mkdir -p "$B/conf" "$B/logs" "$B/tmp"

# ---- the sandbox on a free port (port 0; its log says which one) ------------------
start_sandbox

# ---- nginx: its workers read the sandbox's URL and the RCS client from their environment ----
RCS_CLIENT_ID=sandbox RCS_CLIENT_SECRET=SK.sandboxsecret1 BIZREG_SANDBOX=$SB
export RCS_CLIENT_ID RCS_CLIENT_SECRET BIZREG_SANDBOX
start_nginx "$B" spec/checks/nginx_notify.conf
URL=http://127.0.0.1:$PORT

# ---- 1. two brands in review, a wait on each ----------------------------------------
curl -sf -o "$B/brands.json" -X POST --data-binary '{"count":2,"status":"승인대기"}' "$SB/_sandbox/brands" ||
  fail "could not seed the brands"
A=$(sed -n 's/.*"brandIds":\["\([^"]*\)".*/\1/p' "$B/brands.json")
R=$(sed -n 's/.*"brandIds":\["[^"]*","\([^"]*\)".*/\1/p' "$B/brands.json")
if [ -z "$A" ] || [ -z "$R" ]; then fail "no brand ids in $(cat "$B/brands.json")"; fi
for id in "$A" "$R"; do
  curl -sf -o "$B/wait-$id.json" "$URL/wait?brandId=$id" || fail "GET /wait for $id"
  jcheck "$B/wait-$id.json" 'j.started == true' "the wait on $id did not start"
  until_json "$URL/state?brandId=$id" "$B/state-$id.json" 'j.started == true' "the wait on $id never began"
done

# ---- 2. deliveries to nginx, twice each; the verdicts --------------------------------
curl -sf -o /dev/null -X POST --data-binary "{\"url\":\"$URL$HOOK\",\"repeat\":2}" "$SB/_sandbox/webhook" ||
  fail "could not name the webhook URL"
curl -sf -o /dev/null -X POST --data-binary "{\"brandId\":\"$A\",\"status\":\"승인\"}" "$SB/_sandbox/brand-status" ||
  fail "could not approve $A"
curl -sf -o /dev/null -X POST --data-binary "{\"brandId\":\"$R\",\"status\":\"반려\",\"reason\":\"로고 해상도 부족\"}" \
  "$SB/_sandbox/brand-status" || fail "could not reject $R"

# ---- 3. four copies delivered, on_event once per notification ------------------------
until_json "$SB/_sandbox/webhook" "$B/log.json" 'j.pending == 0 and #j.notifications == 4' \
  "the sandbox did not finish delivering 4 copies"
jcheck "$B/log.json" '(function() for _, n in ipairs(j.notifications) do
    if n.outcome ~= "delivered" or n.attempts ~= 1 then return false end end
  for _, d in ipairs(j.deliveries) do if d.status ~= 200 then return false end end
  return #j.deliveries == 4 end)()' "not every copy was answered 200 at its first attempt"
until_json "$URL/state?brandId=$A" "$B/state-$A.json" 'j.events.modified' "on_event never saw $A's approval"
until_json "$URL/state?brandId=$R" "$B/state-$R.json" 'j.events.rejected' "on_event never saw $R's rejection"
jcheck "$B/state-$A.json" 'j.events.modified == 1 and next(j.events, next(j.events)) == nil' \
  "$A: on_event did not see the approval exactly once (2 deliveries)"
jcheck "$B/state-$R.json" 'j.events.rejected == 1 and next(j.events, next(j.events)) == nil' \
  "$R: on_event did not see the rejection exactly once (2 deliveries)"

# ---- 4. the waits returned from the store, and nothing reached the API ---------------
until_json "$URL/state?brandId=$A" "$B/state-$A.json" 'j.wait ~= nil' "the wait on $A did not return"
until_json "$URL/state?brandId=$R" "$B/state-$R.json" 'j.wait ~= nil' "the wait on $R did not return"
jcheck "$B/state-$A.json" 'j.wait.approved == true and j.wait.brand_status == "승인" and j.wait.source == "webhook"
  and j.wait.reads == 0' "$A: wait_for_approval did not return the approval from the store"
jcheck "$B/state-$R.json" 'j.wait.approved == false and j.wait.brand_status == "반려" and j.wait.source == "webhook"
  and j.wait.reads == 0 and j.wait.reason == "로고 해상도 부족"' \
  "$R: wait_for_approval did not return the rejection and its reason from the store"
curl -sf -o "$B/stats.json" "$SB/_sandbox/stats" || fail "sandbox stats"
jcheck "$B/stats.json" 'j.by_endpoint["rcs.get_brand"] == 0 and j.requests == 0' \
  "the sandbox received API requests (GET /corp/{personId}/brand/{brandId} or others) during the waits"

if grep -E '\[(error|crit|alert|emerg)\]' "$B/logs/error.log" >/dev/null; then
  fail "nginx logged errors"
fi
passed=1
echo "nginx notify: the sandbox delivered 2 notifications twice each (repeat = 2) to bizreg.webhook in 2 nginx workers: 4 x 200, on_event once per notification; wait_for_approval on the same lua_shared_dict returned approved / rejected (with the reason) from the store with 0 GET /corp/{personId}/brand/{brandId} (0 API requests)"
