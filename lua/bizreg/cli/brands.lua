-- bizreg brand status ID / bizreg brand list: read-only RCS brand calls.
-- Reads never register anything, so a failed one is simply failed (exit 1) or, when the
-- network failed, a transport error (exit 3): there is no "unknown outcome" for a GET.
local bizreg = require "bizreg"
local json = require "bizreg.cli.json"
local env = require "bizreg.cli.env"
local outcome = require "bizreg.cli.outcome"

local M = {}

-- Not secrets: the account ID (needed with BIZREG_RCS_TOKEN) and an agency's brand key.
M.VARS = { person_id = "BIZREG_RCS_PERSON_ID", brand_key = "BIZREG_RCS_BRAND_KEY" }

-- person_optional: the call's path has no personId (brand cancel/delete without --approved).
function M.client(ui, o, person_optional)
  local copts, err = env.rcs(os.getenv, { timeout = o.timeout })
  if not copts then ui:err("bizreg: " .. err) return nil end
  for opt, var in pairs(M.VARS) do
    local v = os.getenv(var)
    if v and v ~= "" then copts[opt] = v end
  end
  if copts.token and not copts.person_id and not person_optional then
    ui:err("bizreg: with BIZREG_RCS_TOKEN, set " .. M.VARS.person_id .. " too (the RBC account ID)")
    return nil
  end
  if ui.verbose_on then copts.on_event = function(ev) ui:event(ev) end end
  local c, cerr = env.client(bizreg.rcs, copts, ui)
  if not c then ui:err("bizreg: " .. cerr) end
  return c
end

local FIELDS = { "brandId", "name", "status", "approvalReason", "categoryId", "subCategoryId", "registerDate",
  "updateDate", "approvalDate" }

-- The fields of one entry (names: their order) as a JSON object (cli/chatbots.lua too).
function M.entry_json(names, e)
  local args = {}
  for _, k in ipairs(names) do args[#args + 1] = k args[#args + 1] = e[k] end
  return json.obj((table.unpack or unpack)(args))
end

-- "ID  STATUS  NAME  (reason: …)": one entry's line (width: the id column's).
function M.entry_line(width, id, status, name, reason)
  local s = string.format("%-" .. width .. "s %s  %s", tostring(id), tostring(status), tostring(name))
  if reason then s = s .. "  (reason: " .. reason:gsub("[\r\n]+", " ") .. ")" end
  return s
end

local function brand_json(b) return M.entry_json(FIELDS, b) end
local function brand_line(b) return M.entry_line(14, b.brandId, b.status, b.name, b.approvalReason) end

local function failed(ui, err)
  ui:result("failed  " .. outcome.describe(err), json.obj("state", "failed", "error", outcome.error_json(err)), json.encode)
  if err.kind == "transport" then return outcome.TRANSPORT end
  return outcome.FAILED
end

function M.status(ui, id, o)
  local c = M.client(ui, o)
  if not c then return outcome.USAGE end
  local res, err = c:get_brand(id)
  c:close()
  if not res then return failed(ui, err) end
  ui:result(brand_line(res.brand), brand_json(res.brand), json.encode)
  return outcome.OK
end

-- each_brand's walk bounds (rcs_walk.WALK_DEFAULTS) end a server that keeps paging with
-- WALK_LIMIT / WALK_TIMEOUT, a transport error: exit 3, after the brands within the bounds.
-- Prints every entry a walk yields (walk(c): an each_* iterator) as line and JSON, then the
-- count of them (noun) on stderr; the walk's error ends it (cli/chatbots.lua too).
function M.print_walk(ui, o, walk, line, to_json, noun)
  local c = M.client(ui, o)
  if not c then return outcome.USAGE end
  local n = 0
  for e, err in walk(c) do
    if not e then c:close() return failed(ui, err) end
    n = n + 1
    ui:result(line(e), to_json(e), json.encode)
  end
  c:close()
  if not ui.json then ui:err(string.format("bizreg: %d %s%s", n, noun, n == 1 and "" or "s")) end
  return outcome.OK
end

function M.list(ui, o)
  return M.print_walk(ui, o, function(c) return c:each_brand { limit = 1000 } end, brand_line, brand_json, "brand")
end

-- words: brand status ID | brand list (usage(ui, msg) prints and returns the usage exit code).
function M.dispatch(ui, cmd, p, usage)
  local words = p.words
  if cmd == "brand list" then
    if #words > 2 then return usage(ui, "brand list takes no argument") end
    return M.list(ui, p.opts)
  end
  if not words[3] then return usage(ui, "brand status needs a BRAND_ID") end
  if #words > 3 then return usage(ui, "unexpected argument '" .. words[4] .. "'") end
  return M.status(ui, words[3], p.opts)
end

M.failed = failed  -- (cli/chatbots.lua: the chatbot reads and writes)

return M
