-- The end-to-end webhook check's handlers (spec/checks/nginx_notify.conf):
--   the webhook: bizreg.webhook's ngx_handler, store = ngx.shared.bizreg_webhook; the user's
--     on_event counts each event in the same dict (check:events:<brandId>:<method>), so the
--     check reads how often it ran across both workers;
--   GET /wait?brandId=ID: starts rcs:wait_for_approval(ID, { store = the same dict }) in a
--     timer (cosockets, ngx.sleep: the worker is never blocked) and answers at once; the
--     timer notes check:started:<ID> before the wait and check:wait:<ID> (its result, JSON)
--     after it;
--   GET /state?brandId=ID: { started, wait, events = { method = count } }.
local bizreg = require "bizreg"
local webhook = require "bizreg.webhook"
local cjson = require "cjson.safe"

local M = {}

local dict = ngx.shared.bizreg_webhook

-- How long the check lets a wait run (seconds); the store is looked at every STORE_INTERVAL.
local WAIT_TIMEOUT, STORE_INTERVAL = 60, 0.1

M.webhook = webhook.ngx_handler {
  store = dict,
  on_event = function(ev)
    dict:incr("check:events:" .. tostring(ev.brandId) .. ":" .. tostring(ev.method), 1, 0)
  end,
}

local function run_wait(premature, brand_id)
  if premature then return end
  local c = bizreg.rcs {
    base_url = os.getenv("BIZREG_SANDBOX") .. "/api/1.1",
    client_id = os.getenv("RCS_CLIENT_ID"), client_secret = os.getenv("RCS_CLIENT_SECRET"),
    transport = require("bizreg.transport.ngx").new(),
  }
  dict:set("check:started:" .. brand_id, true)
  -- the default fallback_interval (300 s) is far past WAIT_TIMEOUT: any GET the sandbox
  -- counts came from something else than the fallback
  local res, err = c:wait_for_approval(brand_id, { store = dict, store_interval = STORE_INTERVAL,
    timeout = WAIT_TIMEOUT })
  c:close()
  dict:set("check:wait:" .. brand_id, cjson.encode(res and {
    approved = res.approved, brand_status = res.brand_status, reason = res.reason or cjson.null,
    reads = res.reads, source = res.source } or { err = tostring(err) }))
end

function M.wait()
  local ok, err = ngx.timer.at(0, run_wait, ngx.var.arg_brandId)
  ngx.say(cjson.encode { started = ok and true or false, err = err })
end

function M.state()
  local id = ngx.var.arg_brandId
  local prefix = "check:events:" .. id .. ":"
  local events = {}
  for _, k in ipairs(dict:get_keys(0)) do
    if k:sub(1, #prefix) == prefix then events[k:sub(#prefix + 1)] = dict:get(k) end
  end
  ngx.say(cjson.encode { started = dict:get("check:started:" .. id) == true,
    wait = cjson.decode(dict:get("check:wait:" .. id) or "null"), events = events })
end

return M
