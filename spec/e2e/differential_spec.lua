-- The differential check: the client's validator (bizreg.prepare_visitor_images /
-- prepare_brand, C rules in src/) and the sandbox's checker (sandbox/lua/bizreg_sandbox/,
-- an independent Lua implementation of the same documented rules) judge the same generated
-- payloads. Every documented rule is mutated one field at a time (spec/helpers/gen_kos.lua,
-- gen_rcs.lua), every listed value once, then BIZREG_DIFF_N random mutations of random
-- valid payloads (seed BIZREG_DIFF_SEED). A payload the client accepts is sent as the exact
-- bytes it would send; one it refuses is encoded here (spec/helpers/gen.lua) and posted
-- to the sandbox as is. They must agree:
--   KOS: both accept, or both refuse with the same set of key|reason (indexes 0-based);
--   RCS: both accept, or both refuse and the sandbox's one (first) violation is among the
--        client's: same code and, when its message names a field, that field.
-- A disagreement is a bug to fix on the wrong side, unless DIFFERENCES below lists it: a
-- rule one side applies on purpose (docs/sandbox.md has the same table).
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local gen = require "spec.helpers.gen"
local gen_kos = require "spec.helpers.gen_kos"
local gen_rcs = require "spec.helpers.gen_rcs"

local SEED = tonumber(os.getenv("BIZREG_DIFF_SEED") or "") or 20261122
local RANDOM = tonumber(os.getenv("BIZREG_DIFF_N") or "") or 400
local json = sandbox.json

local function client_reason(c, reason)
  for _, p in ipairs(c.props or {}) do if p.reason == reason then return true end end
  for key in pairs(c.set or {}) do if key:match("|" .. reason .. "$") then return true end end
  return false
end
local function both_refuse(c, s) return not c.ok and s.status == 400 end

-- Documented differences: rules only one side applies, on purpose (docs/sandbox.md's "Differential check"
-- section lists them too). match(case, client, sandbox) -> true when the disagreement is this.
local DIFFERENCES = {
  { id = "category catalogue", api = "rcs",
    why = "only the server knows its categories (GET /corp/brand/categories); the client checks the length",
    match = function(k, c, s)
      return (k.mutation == "categoryId" or k.mutation == "subCategoryId") and c.ok and s.code == "64337"
    end },
  { id = "visitor existence", api = "kos",
    why = "only the server knows its visitors (the sandbox: visitorId 000000000000000000000000 is NotFound)",
    match = function(k, c, s) return k.mutation == "visitorId" and c.ok and s.class == "NotFoundException" end },
  { id = "date-time as a Lua number", api = "kos",
    why = "the client takes a number as Unix seconds and sends RFC 3339; no number reaches the wire",
    match = function(k, c, s)
      return k.mutation == "shootingDateTimeUtc" and type(k.value) == "number" and both_refuse(c, s)
    end },
  { id = "date-time sent in UTC milliseconds", api = "kos",
    why = "the client sends YYYY-MM-DDTHH:MM:SS.mmmZ: it refuses a leap second (:60) and instants outside "
      .. "years 0001-9999 UTC, which RFC 3339 (and the sandbox) take",
    match = function(k, c, s)
      if k.mutation ~= "shootingDateTimeUtc" or type(k.value) ~= "string" or c.ok or not s.ok then return false end
      local y, md, sec, sign = k.value:match("^(%d%d%d%d)%-(%d%d%-%d%d)[Tt]%d%d:%d%d:(%d%d)[^+-]*([+-]?)")
      return sec == "60" or y == "0000" or (y == "0001" and md == "01-01" and sign == "+") or
        (y == "9999" and md == "12-31" and sign == "-")
    end },
  { id = "Lua table where an object is expected", api = "any",
    why = "the client cannot tell an empty or sequence table from an object (UnknownField [n] or its "
      .. "required fields missing); on the wire a JSON array is a wrong type",
    match = function(k, c, s) return gen.is_array(k.value) and both_refuse(c, s) end },
  { id = "invalid UTF-8 reported per field", api = "rcs",
    why = "the client names the field (InvalidUtf8, 64337); a server parsing the part sees malformed JSON (64302)",
    match = function(_, c, s) return both_refuse(c, s) and s.code == "64302" and client_reason(c, "InvalidUtf8") end },
  { id = "empty weblink", api = "rcs",
    why = "an empty weblink where one is required: the client reports its format (64337), the sandbox a "
      .. "missing value (64336), as for every required field",
    match = function(k, c, s) return k.mutation == "menus[].weblink" and k.value == "" and both_refuse(c, s) end },
}

---------------------------------------------------------------- the two judges

-- KOS: "key|reason" with the sandbox's 0-based indexed keys.
local function kos_client(payload)
  local req, err = bizreg.prepare_visitor_images(payload)
  if req then return { ok = true, body = req.body } end
  local set = {}
  for _, p in ipairs(err.errorProperties) do
    local key = p.key
    if p.index then key = "images[" .. (p.index - 1) .. "]" .. (key == "images" and "" or ("." .. key)) end
    set[key .. "|" .. p.reason] = true
  end
  return { ok = false, set = set }
end

local function kos_sandbox(sb, body)
  local status, text = sb:request("POST", "/image/open/v1/commands/register-visitor-images", { body = body,
    headers = { ["content-type"] = "application/json", authorization = "Bearer sandbox-kos-token" } })
  local doc = json.decode(text) or {}
  local set = {}
  for _, p in ipairs(type(doc.errorProperties) == "table" and doc.errorProperties or {}) do
    set[p.key .. "|" .. p.reason] = true
  end
  return { ok = status == 200, status = status, class = doc.className, set = set, text = text }
end

local function same_set(a, b)
  for k in pairs(a) do if not b[k] then return false end end
  for k in pairs(b) do if not a[k] then return false end end
  return true
end

local function kos_agree(c, s)
  if c.ok or s.ok then return c.ok == s.ok end
  return s.class == "InvalidCommandException" and same_set(c.set, s.set)
end

-- RCS: the client's codes and keys; the sandbox's code and the field its message names.
local function rcs_client(payload)
  local req, err = bizreg.prepare_brand(payload)
  if req then return { ok = true, body = req.body, content_type = req.headers["Content-Type"] } end
  return { ok = false, props = err.errorProperties }
end

local function rcs_sandbox(sb, body, content_type)
  local status, text = sb:request("POST", "/api/1.1/corp/brand", { body = body,
    headers = { ["content-type"] = content_type, authorization = "Bearer sandbox-rcs-token" } })
  local doc = json.decode(text) or {}
  local e = type(doc.error) == "table" and doc.error or {}
  local msg = e.message or ""
  local field = msg:match("^invalid body (.*)$") or msg:match("%[(.-)%]$") or msg:match("%(([^()]*)%)$")
  return { ok = status == 200, status = status, code = e.code, field = field, text = text }
end

local function rcs_agree(c, s)
  if c.ok or s.ok then return c.ok == s.ok end
  for _, p in ipairs(c.props) do
    if p.code == s.code and (s.field == nil or p.key:gsub("^regBrand%.", "") == s.field) then return true end
  end
  return false
end

---------------------------------------------------------------- wire bodies written here

local FILE_PARTS = { "brandProfile", "brandBackground", "subNumCertificate" }

local function rcs_parts(p)
  local parts = {}
  local keys = {}
  for k in pairs(p) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = p[k]
    if type(v) == "table" and v.data then
      parts[#parts + 1] = { name = k, data = v.data, filename = v.filename }
    elseif k == "mainMdn" then
      parts[#parts + 1] = { name = k, data = v }
    else
      parts[#parts + 1] = { name = k, data = gen.json({ [k] = v }) }
    end
  end
  return gen.multipart(parts)
end
assert(#FILE_PARTS == 3)

---------------------------------------------------------------- running cases

local function quote(s) -- one line, bytes outside printable ASCII as \ddd
  return '"' .. s:gsub('[^ -~]', function(c) return "\\" .. c:byte() end):gsub('"', '\\"') .. '"'
end

local function describe_value(v)
  if v == gen_kos.REMOVE or v == gen_rcs.REMOVE then return "<removed>" end
  if type(v) == "string" then
    return #v > 40 and quote(v:sub(1, 40)) .. string.format("..(%d bytes)", #v) or quote(v)
  end
  if type(v) == "table" then
    if v.data then return "file(" .. #v.data .. " bytes, " .. quote(v.data:sub(1, 8)) .. ")" end
    if v == gen.null then return "null" end
    local ok, s = pcall(gen.json, v)
    return ok and (#s > 60 and s:sub(1, 60) .. ".." or s) or "table"
  end
  return tostring(v)
end

-- The cases: every value of every mutation on a fresh random valid payload, then random ones.
local function cases(g, r)
  local list = {}
  for _, m in ipairs(g.mutations) do
    for _, v in ipairs(m.values(r)) do list[#list + 1] = { mutation = m.name, value = v, apply = m.apply } end
  end
  for _ = 1, RANDOM do
    local m = r:pick(g.mutations)
    list[#list + 1] = { mutation = m.name, value = r:pick(m.values(r)), apply = m.apply, random = true }
  end
  local valid = { mutation = "none (valid)", apply = function() end }
  for _ = 1, 20 do list[#list + 1] = valid end
  return list
end

-- Runs one API's cases; returns the disagreements not documented, the documented ones hit, counts.
local function run(sb, api, g)
  local r = gen.rng(SEED)
  local unexplained, hit, n, crosschecks = {}, {}, { accepted = 0, refused = 0 }, 0
  for i, k in ipairs(cases(g, r)) do
    local payload = g.payload(r)
    k.apply(payload, k.value)
    local c, s
    if api == "kos" then
      c = kos_client(payload)
      s = kos_sandbox(sb, c.ok and c.body or gen.json(payload))
    else
      c = rcs_client(payload)
      if c.ok then s = rcs_sandbox(sb, c.body, c.content_type) else s = rcs_sandbox(sb, rcs_parts(payload)) end
    end
    -- now and then a body the client accepted, written here instead: same verdict (checks gen.json/multipart)
    -- (not for values that mean more in Lua than on the wire: a number as a date-time, an empty table)
    local lua_only = gen.is_array(k.value) or (k.mutation == "shootingDateTimeUtc" and type(k.value) == "number")
    if c.ok and s.ok and i % 5 == 0 and not lua_only then
      local s2 = api == "kos" and kos_sandbox(sb, gen.json(payload)) or rcs_sandbox(sb, rcs_parts(payload))
      assert(s2.ok, "a body written by the spec's encoder was refused: " .. k.mutation .. " " .. s2.text)
      crosschecks = crosschecks + 1
    end
    n[c.ok and "accepted" or "refused"] = n[c.ok and "accepted" or "refused"] + 1
    local agree = (api == "kos" and kos_agree or rcs_agree)(c, s)
    if not agree then
      local documented
      for _, d in ipairs(DIFFERENCES) do
        if (d.api == api or d.api == "any") and d.match(k, c, s) then documented = d.id end
      end
      if documented then
        hit[documented] = (hit[documented] or 0) + 1
      else
        local cdesc = c.ok and "accepts" or "refuses"
        if not c.ok and api == "rcs" then
          local codes = {}
          for _, p in ipairs(c.props) do codes[#codes + 1] = p.key .. " " .. p.code end
          cdesc = cdesc .. " (" .. table.concat(codes, ", ") .. ")"
        elseif not c.ok then
          local keys = {}
          for key in pairs(c.set) do keys[#keys + 1] = key end
          table.sort(keys)
          cdesc = cdesc .. " (" .. table.concat(keys, ", ") .. ")"
        end
        unexplained[#unexplained + 1] = string.format("#%d %s = %s: client %s; sandbox %d %s", i, k.mutation,
          describe_value(k.value), cdesc, s.status, s.text:sub(1, 200))
      end
    end
  end
  return unexplained, hit, n, crosschecks
end

local function report(api, unexplained, hit, n, crosschecks)
  local ids = {}
  for id, count in pairs(hit) do ids[#ids + 1] = id .. " x" .. count end
  table.sort(ids)
  print(string.format(
    "# differential %s (seed %d): %d accepted, %d refused by the client; %d re-encoded; documented: %s",
    api, SEED, n.accepted, n.refused, crosschecks, #ids > 0 and table.concat(ids, ", ") or "none"))
  assert(#unexplained == 0, #unexplained .. " disagreement(s) between the client and the sandbox:\n" ..
    table.concat(unexplained, "\n", 1, math.min(#unexplained, tonumber(os.getenv("BIZREG_DIFF_SHOW") or "") or 25)))
end

describe("differential check (client validator vs sandbox checker)", function()
  local sb, hits = nil, {}

  setup(function() sb = sandbox.start {} end)
  teardown(function() if sb then sb:stop() end end)

  it("can fail: a refusal against an acceptance, or another violation, is a disagreement", function()
    assert.is_false(kos_agree({ ok = true }, { ok = false, class = "InvalidCommandException", set = {} }))
    assert.is_false(kos_agree({ ok = false, set = { ["a|Required"] = true } },
      { ok = false, class = "InvalidCommandException", set = { ["a|TooLong"] = true } }))
    assert.is_false(rcs_agree({ ok = false, props = { { key = "regBrand.name", code = "64304" } } },
      { ok = false, code = "64304", field = "description" }))
    assert.is_true(rcs_agree({ ok = false, props = { { key = "regBrand.name", code = "64304" } } },
      { ok = false, code = "64304", field = "name" }))
  end)

  it("KOS: every rule mutated, then random mutations: same verdict, same errorProperties", function()
    local unexplained, hit, n, x = run(sb, "kos", gen_kos)
    for id in pairs(hit) do hits[id] = true end
    report("kos", unexplained, hit, n, x)
  end)

  it("RCS: every rule and file mutated, then random ones: same verdict, the sandbox's violation among the client's",
    function()
    local unexplained, hit, n, x = run(sb, "rcs", gen_rcs)
    for id in pairs(hit) do hits[id] = true end
    report("rcs", unexplained, hit, n, x)
  end)

  it("every documented difference still occurs (the table is not stale)", function()
    for _, d in ipairs(DIFFERENCES) do assert.is_true(hits[d.id] == true, d.id .. " never occurred") end
  end)
end)
