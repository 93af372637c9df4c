-- bizreg register chatbots BRANDID FILE: sender numbers added to an existing RCS brand.
-- FILE is a package like a brand's (JSON, or Lua returning a table; file paths relative
-- to FILE's directory) holding `chatbots` and `subNumCertificate`; loading, validation,
-- --dry-run, progress and outcomes are register brand's (cli/brand.lua, M.send).
local bizreg = require "bizreg"
local json = require "bizreg.cli.json"
local fmt = require "bizreg.cli.fmt"
local brand = require "bizreg.cli.brand"

local M = {}

function M.register(ui, brand_id, file, o)
  local op = { label = "chatbots for " .. brand_id, method = "POST", path = "/brand/" .. brand_id .. "/chatbot",
    prepare = function(payload) return bizreg.prepare_chatbots(brand_id, payload) end,
    call = function(client, payload) return client:register_chatbots(brand_id, payload) end,
    unknown = "the sender numbers may have been registered. Check the brand's chatbots in RCS Biz Center "
      .. "before registering them again." }
  function op.done(res, elapsed, f)
    local ids = json.array()
    for i, c in ipairs(res.result) do ids[i] = c.chatbotId end
    return string.format("registered  %d chatbot%s on brand %s  (status %s, code %s, %s)", #ids,
      #ids == 1 and "" or "s", brand_id, tostring(res.status), tostring(res.code), fmt.seconds(elapsed)),
      json.obj("file", f, "state", "registered", "brandId", brand_id, "chatbotIds", ids, "status", res.status,
        "code", res.code, "elapsed", elapsed), json.encode
  end
  return brand.send(ui, file, o, op)
end

return M
