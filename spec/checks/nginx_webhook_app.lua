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

-- GET /wait?brand=ID&since=T: one wait_for_approval on the same dict, through a transport
-- that only counts (any read would be a failure to connect): answers the verdict and how
-- many reads were attempted. fallback_interval 3600: only the store can end it in time.
function M.wait()
  local args = ngx.req.get_uri_args()
  dict:incr("waiting", 1, 0)
  local calls = 0
  local rcs = require("bizreg").rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1",
    person_id = "acct", transport = function()
      calls = calls + 1
      return nil, { code = "COULDNT_CONNECT", sent = false, message = "no reads in this check" }
    end }
  local res, err = rcs:wait_for_approval(args.brand, { store = dict, since = tonumber(args.since),
    fallback_interval = 3600, store_interval = 0.05, timeout = 30 })
  rcs:close()
  ngx.say(cjson.encode { approved = res and res.approved, reason = res and res.reason, reads = res and res.reads,
    source = res and res.source, calls = calls, err = err and tostring(err) })
end

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
