-- bizreg visitors search: find KOS visitors (their visitorId) by chart number, phone, name,
-- date of birth or email. A query changes nothing on the server, so every transport failure
-- is exit 3 (safe to run again), even one after the request was sent.
local bizreg = require "bizreg"
local json = require "bizreg.cli.json"
local env = require "bizreg.cli.env"
local dryrun = require "bizreg.cli.dryrun"
local outcome = require "bizreg.cli.outcome"

local M = {}

-- "010-1234-5678" (Korea, +82) or "+81 90-1234-5678" (the country code set apart by a space
-- or hyphen) -> { countryCode, phoneNumber } without separators and without the trunk 0.
-- The library checks the digits' rules; this only splits what was typed.
function M.phone(s)
  local cc, rest = "82", s
  if s:sub(1, 1) == "+" then
    cc, rest = s:match("^%+(%d+)[%s%-]+(.+)$")
    if not cc then return nil, "--phone: write the country code apart, e.g. +82 10-1234-5678 (got '" .. s .. "')" end
  end
  local national = rest:gsub("[%s%-%.%(%)]", "")
  if not national:match("^%d+$") then return nil, "--phone needs digits, e.g. 010-1234-5678 (got '" .. s .. "')" end
  return { countryCode = cc, phoneNumber = (national:gsub("^0", "", 1)) }
end

-- A whole number as typed (the library judges its range), or nil.
local function whole(s) return s:match("^%-?%d+$") and tonumber(s) end

-- Options -> payload, or nil and a usage message.
function M.payload(o)
  local p = { chartNumber = o["chart-number"], partOfVisitorName = o.name, dateOfBirth = o["birth-date"],
    email = o.email }
  if o.phone then
    local phone, err = M.phone(o.phone)
    if not phone then return nil, err end
    p.phone = phone
  end
  if next(p) == nil then
    return nil, "visitors search needs a criterion: --chart-number, --phone, --name, --birth-date or --email"
  end
  for _, k in ipairs { "offset", "limit" } do
    if o[k] then
      p[k] = whole(o[k])
      if not p[k] then return nil, "--" .. k .. " needs a whole number (got '" .. o[k] .. "')" end
    end
  end
  return p
end

local function phone_text(p) return p and ("+" .. p.countryCode .. " " .. p.phoneNumber) or "-" end

-- "65a1b2c3d4e5f6a7b8c9d0e1  chart 12345  김민지  +82 1012345678  1990-05-01  FEMALE"
local function visitor_line(v)
  return table.concat({ v.id, "chart " .. (v.chartNumber or "-"), v.name or "-", phone_text(v.phoneNumber),
    v.dateOfBirth and v.dateOfBirth:sub(1, 10) or "-", v.gender or "-" }, "  ")
end

local function visitor_json(v)
  local p = v.phoneNumber
  return json.obj("id", v.id, "chartNumber", v.chartNumber, "name", v.name,
    "phoneNumber", p and json.obj("countryCode", p.countryCode, "phoneNumber", p.phoneNumber),
    "dateOfBirth", v.dateOfBirth, "gender", v.gender)
end

local function failed(ui, err)
  if err.kind == "validation" then
    local props = err.errorProperties or {}
    for _, p in ipairs(props) do ui:result(tostring(p.key) .. "  " .. tostring(p.reason)) end
    ui:result(nil, json.obj("ok", false, "error", outcome.error_json(err)), json.encode)
    ui:err(string.format("bizreg: %d violation%s; nothing was sent", #props, #props == 1 and "" or "s"))
    return outcome.FAILED
  end
  ui:result("failed  " .. outcome.describe(err), json.obj("ok", false, "error", outcome.error_json(err)), json.encode)
  if err.kind == "transport" then return outcome.TRANSPORT end  -- a query: safe to run again
  return outcome.FAILED
end

function M.search(ui, o)
  local payload, perr = M.payload(o)
  if not payload then return nil, perr end
  local req, verr = bizreg.prepare_search_visitors(payload)
  if not req then return failed(ui, verr) end
  local copts, err = env.kos(os.getenv, { timeout = o.timeout }, o["dry-run"])
  if not copts then ui:err("bizreg: " .. err) return outcome.USAGE end
  if o["dry-run"] then
    local r = dryrun.request(copts.base_url, req)
    dryrun.print(ui, r, { "visitors search", dryrun.auth_note("kos", copts) })
    ui:result(nil, json.obj("request", dryrun.json(r)), json.encode)
    return outcome.OK
  end
  if ui.verbose_on then copts.on_event = function(ev) ui:event(ev) end end
  local client, cerr = env.client(bizreg.kos, copts, ui)
  if not client then ui:err("bizreg: " .. cerr) return outcome.USAGE end
  local res, rerr = client:search_visitors(payload)
  client:close()
  if not res then
    if outcome.interrupted(rerr) then error("interrupted!", 0) end
    return failed(ui, rerr)
  end
  local list = json.array()
  for i, v in ipairs(res.visitors) do
    ui:result(visitor_line(v))
    list[i] = visitor_json(v)
  end
  local n = #res.visitors
  ui:result(string.format("%d visitor%s (offset %d)", n, n == 1 and "" or "s", payload.offset or 0),
    json.obj("ok", true, "count", n, "offset", payload.offset or 0, "visitors", list), json.encode)
  return outcome.OK
end

return M
