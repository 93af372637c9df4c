-- bizreg register chatbots BRANDID FILE: sender numbers added to an existing RCS brand.
-- FILE is a package like a brand's (JSON, or Lua returning a table; file paths relative
-- to FILE's directory) holding `chatbots` and `subNumCertificate`; loading, validation,
-- --dry-run, progress and outcomes are register brand's (cli/brand.lua, M.send).
-- bizreg chatbots list|get|update|delete|cancel BRAND_ID [CHATBOT_ID [FILE]]: the numbers
-- after registration. Reads as brand status/list (cli/brands.lua: exit 1 or 3); update sends
-- a package (FILE: `chatbot`, optional `subNumCertificate`) through register brand's M.send;
-- delete and cancel have no body: --dry-run prints the request, an unknown outcome exits 4.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local json = require "bizreg.cli.json"
local fmt = require "bizreg.cli.fmt"
local brand = require "bizreg.cli.brand"
local brands = require "bizreg.cli.brands"
local env = require "bizreg.cli.env"
local dryrun = require "bizreg.cli.dryrun"
local outcome = require "bizreg.cli.outcome"
local path_ids = require "bizreg.rcs_common"  -- the path ids' rules (brandId, chatbotId)

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

-- ---- after registration ------------------------------------------------------------

local FIELDS = { "chatbotId", "brandId", "subTitle", "approvalResult", "approvalReason", "service", "display",
  "registerDate", "updateDate", "approvalDate" }

local function bot_json(b) return brands.entry_json(FIELDS, b) end
local function bot_line(b) return brands.entry_line(15, b.chatbotId, b.approvalResult, b.subTitle, b.approvalReason) end

-- An agency's X-RCS-Brandkey (BIZREG_RCS_BRAND_KEY), as the reads get it from cli/brands.lua.
local function key_opts()
  local key = os.getenv(brands.VARS.brand_key)
  if key and key ~= "" then return { brand_key = key } end
  return nil
end

function M.list(ui, brand_id, o)
  return brands.print_walk(ui, o, function(c) return c:each_chatbot(brand_id, { limit = 1000 }) end, bot_line, bot_json,
    "chatbot")
end

function M.get(ui, brand_id, chatbot_id, o)
  local c = brands.client(ui, o)
  if not c then return outcome.USAGE end
  local res, err = c:get_chatbot(brand_id, chatbot_id, key_opts())
  c:close()
  if not res then return brands.failed(ui, err) end
  ui:result(bot_line(res.chatbot), bot_json(res.chatbot), json.encode)
  return outcome.OK
end

function M.update(ui, brand_id, chatbot_id, file, o)
  local key = key_opts()
  local op = { label = "chatbot " .. chatbot_id .. " of " .. brand_id, method = "PUT",
    path = "/brand/" .. brand_id .. "/chatbot/" .. chatbot_id,
    prepare = function(payload)
      local req, err = bizreg.prepare_update_chatbot(brand_id, chatbot_id, payload)
      if req and key then req.headers["X-RCS-Brandkey"] = key.brand_key end  -- as sent: --dry-run shows it
      return req, err
    end,
    call = function(client, payload) return client:update_chatbot(brand_id, chatbot_id, payload, key) end,
    unknown = "the chatbot may have been changed. Check it with 'bizreg chatbots get' before sending the edit again." }
  function op.done(res, elapsed, f)
    local b = res.chatbot or {}
    return string.format("updated  chatbot %s on brand %s: %s  (status %s, code %s, %s)", chatbot_id, brand_id,
      tostring(b.approvalResult), tostring(res.status), tostring(res.code), fmt.seconds(elapsed)),
      json.obj("file", f, "state", "updated", "brandId", brand_id, "chatbotId", chatbot_id,
        "approvalResult", b.approvalResult, "status", res.status, "code", res.code, "elapsed", elapsed), json.encode
  end
  return brand.send(ui, file, o, op)
end

-- delete and cancel: what each sends, says, and how to check an unknown outcome.
local WRITES = {
  delete = { method = "DELETE", suffix = "", call = "delete_chatbot", done = "deleted",
    unknown = "the chatbot may have been deleted. Check with 'bizreg chatbots get' before deleting again." },
  cancel = { method = "PUT", suffix = "/cancel", call = "cancel_chatbot", done = "cancelled",
    unknown = "the review request may have been cancelled. Check with 'bizreg chatbots get' before cancelling again." },
}

function M.write(ui, what, brand_id, chatbot_id, o)
  local w = WRITES[what]
  local key = key_opts()
  local path = "/brand/" .. brand_id .. "/chatbot/" .. chatbot_id .. w.suffix
  if o["dry-run"] then
    local copts, err = env.rcs(os.getenv, { timeout = o.timeout }, true)
    if not copts then ui:err("bizreg: " .. err) return outcome.USAGE end
    -- the ids' rules, as the call judges them before sending
    local verr = path_ids.brand_id_error(brand_id) or path_ids.chatbot_id_error(chatbot_id)
    if verr then return brands.failed(ui, verr) end
    local r = dryrun.request(copts.base_url, { body = "", headers = key and { ["X-RCS-Brandkey"] = key.brand_key } },
      w.method, path)
    dryrun.print(ui, r, { what .. " chatbot " .. chatbot_id .. " of " .. brand_id, dryrun.auth_note("rcs", copts) })
    ui:result(nil, json.obj("request", dryrun.json(r)), json.encode)
    return outcome.OK
  end
  local c = brands.client(ui, o)
  if not c then return outcome.USAGE end
  local t0 = core.now()
  local res, err = c[w.call](c, brand_id, chatbot_id, key)
  local elapsed = math.floor((core.now() - t0) * 1000 + 0.5) / 1000
  c:close()
  if res then
    ui:result(string.format("%s  chatbot %s on brand %s  (status %s, code %s, %s)", w.done, chatbot_id, brand_id,
      tostring(res.status), tostring(res.code), fmt.seconds(elapsed)),
      json.obj("state", w.done, "brandId", brand_id, "chatbotId", chatbot_id, "status", res.status, "code", res.code,
        "elapsed", elapsed), json.encode)
    return outcome.OK
  end
  if outcome.interrupted(err) then error("interrupted!", 0) end
  return outcome.write_failed(ui, err, w.unknown, { elapsed = elapsed })
end

-- The words each command takes after `chatbots VERB`.
local ARGS = { list = { "BRAND_ID" }, get = { "BRAND_ID", "CHATBOT_ID" }, update = { "BRAND_ID", "CHATBOT_ID", "FILE" },
  delete = { "BRAND_ID", "CHATBOT_ID" }, cancel = { "BRAND_ID", "CHATBOT_ID" } }
M.VERBS = ARGS

-- cmd: "chatbots VERB"; usage(ui, msg) prints and returns the usage exit code.
function M.dispatch(ui, cmd, p, usage)
  local words, verb = p.words, cmd:match("^chatbots (%a+)$")
  local want = ARGS[verb]
  if #words ~= 2 + #want then return usage(ui, cmd .. " needs " .. table.concat(want, " ")) end
  local a, b, f = words[3], words[4], words[5]
  if verb == "list" then return M.list(ui, a, p.opts) end
  if verb == "get" then return M.get(ui, a, b, p.opts) end
  if verb == "update" then return M.update(ui, a, b, f, p.opts) end
  return M.write(ui, verb, a, b, p.opts)
end

return M
