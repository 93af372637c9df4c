-- The nginx webhook check's handlers (spec/checks/nginx_webhook.conf): bizreg.webhook's
-- content handler with ngx.shared.bizreg_webhook as its store; the user's on_event counts
-- each event it gets in the same dict (seen:<notiType>:<id>:<method>), so the check can
-- read how often it was called across both workers. An event whose reason is "boom" makes
-- on_event raise (the answer must stay 200, and the error be logged without the secret).
local webhook = require "bizreg.webhook"
local cjson = require "cjson.safe"

local M = {}

local dict = ngx.shared.bizreg_webhook

M.webhook = webhook.ngx_handler {
  store = dict,
  on_event = function(ev)
    local key = "seen:" .. ev.notiType .. ":" .. tostring(ev.brandId or ev.chatbotId or "-") .. ":"
      .. tostring(ev.method)
    dict:incr(key, 1, 0)
    if ev.reason == "boom" then error("user code failed on " .. cjson.encode(ev)) end
  end,
}

-- GET /seen: the counters and the store's verdict keys (values decoded), as JSON.
function M.seen()
  local out = {}
  for _, k in ipairs(dict:get_keys(0)) do
    local v = dict:get(k)
    out[k] = k:match("^bizreg:brand:") and cjson.decode(v) or v
  end
  ngx.say(cjson.encode(out))
end

return M
