-- RCS Biz Center: sender numbers (chatbots) added to an existing brand, POST
-- /brand/{brandId}/chatbot (multipart: the `chatbots` JSON part and `subNumCertificate`).
-- Nothing here is new machinery: the chatbot rows, the certificate rule, the duplicate-mdn
-- rule and the codes are the brand form's (src/api_rcs.c, bz_rcs_chatbot_form); the
-- brandId rule is resubmit_brand's; the request goes through rcs_common.lua's form_request (one
-- header builder, the client's one request path: at most once, streamed files).
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local rcs = require "bizreg.rcs_common"

local M = {}

local function path_of(brand_id) return "/brand/" .. brand_id .. "/chatbot" end

local UNKNOWN_OUTCOME = "the numbers may have been added; "
  .. "do not send them again before checking the brand's chatbots in RCS Biz Center"

-- Success is the envelope whose result lists Chatbot objects, each with a non-empty
-- string chatbotId; brandId is the brand the numbers were added to.
local function mapper(brand_id)
  return function(res, client)
    local out, err = rcs.envelope(res, client, true)
    if not out then return nil, rcs.unknown_outcome(err, UNKNOWN_OUTCOME) end
    local n = #out.result
    for i = 1, n do
      local c = out.result[i]
      if type(c) ~= "table" or type(c.chatbotId) ~= "string" or c.chatbotId == "" then n = 0 break end
    end
    if n == 0 then  -- the numbers may have been added: an unknown outcome (decode: sent = true)
      return nil, errors.decode(res.status, "the answer lists no chatbots: " .. UNKNOWN_OUTCOME, res.body)
    end
    out.brandId = brand_id
    return out
  end
end

-- register_chatbots (an op: blocking method and start(), merged by rcs.lua) and
-- prepare_chatbots (bizreg.prepare_chatbots).
M.ops = {}
M.ops.register_chatbots = {
  check = rcs.check_brand_args,
  run = function(self, ctx, brand_id, payload, o)
    local err = rcs.brand_id_error(brand_id)
    if err then return nil, err end
    return rcs.form_request(self, ctx, "POST", path_of(brand_id), payload,
      { encoder = core.encode_chatbots, mapper = mapper(brand_id), headers = rcs.brand_headers(self, o),
        call_opts = o, route = "POST /brand/{brandId}/chatbot" })
  end,
}

function M.prepare_chatbots(brand_id, payload, opts)
  rcs.check_brand_args(brand_id, payload)  -- opts here are prepare_brand's (boundary, ...)
  local err = rcs.brand_id_error(brand_id)
  if err then return nil, err end
  return rcs.prepare_form(payload, opts, core.encode_chatbots, "POST", path_of(brand_id))
end

return M
