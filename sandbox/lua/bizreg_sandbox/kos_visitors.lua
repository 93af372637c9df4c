-- KOS CRM emulation: POST /visitor/open/v1/queries/search-visitors over a seeded visitor
-- list, and the /_sandbox/visitors control endpoint that adds visitors (GET lists them).
--
-- The request rules are the same as the client's (src/api_kos.c), written again here: the
-- schema (api-notes K3) gives types only; the limits are bizreg's [G] guards (E.164 phone
-- parts without the trunk 0, 254-character email, 100/50 for name/chart number, offset >= 0,
-- limit >= 1). dateOfBirth must be the documented `yyyy-MM-dd 00:00:00.000'Z'` form (the
-- `T` form is ISO 8601 too and accepted); anything else is NotAvailable, the API's reason
-- for a bad date. Every violation is collected into one 400 InvalidCommandException.
-- Without a limit a page holds DEFAULT_LIMIT visitors [G: the real default is not documented].
local json = require "bizreg_sandbox.json"
local kos = require "bizreg_sandbox.kos"

local M = {}

local DEFAULT_LIMIT = 20
local JSON_HEADERS = { ["content-type"] = "application/json" }
local GENDERS = { GENDER_UNSPECIFIED = true, MALE = true, FEMALE = true }

-- id, chartNumber, name, countryCode, phoneNumber, dateOfBirth, gender, email
local SEED = {
  { "65a1b2c3d4e5f6a7b8c9d0e1", "12345", "김민지", "82", "1012345678", "1990-05-01", "FEMALE", "minji.kim@example.com" },
  { "65a1b2c3d4e5f6a7b8c9d0e2", "12346", "김민수", "82", "1098765432", "1985-11-30", "MALE", "minsu@example.com" },
  { "65a1b2c3d4e5f6a7b8c9d0e3", "20001", "이서연", "82", "1055550000", "1990-05-01", "FEMALE", nil },
  { "65a1b2c3d4e5f6a7b8c9d0e4", "20002", "Tanaka Yui", "81", "9012345678", "1992-02-29", "FEMALE", "yui@example.jp" },
  { "65a1b2c3d4e5f6a7b8c9d0e5", "30003", "박지훈", "82", "1011112222", nil, "GENDER_UNSPECIFIED", nil },
}

local function is_leap(y) return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0 end
local MONTH_DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- "YYYY-MM-DD", when s is that day's midnight UTC in the documented form (or with T).
local function birth_day(s)
  local y, mo, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ]00:00:00%.000Z$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if y < 1 or mo < 1 or mo > 12 or d < 1 or d > ((mo == 2 and is_leap(y)) and 29 or MONTH_DAYS[mo]) then return nil end
  return s:sub(1, 10)
end
M.birth_day = birth_day

local function digits_nz(s) return s:match("^[1-9]%d*$") ~= nil end

local function visitors(state)
  if state.visitors then return state.visitors end
  state.visitors, state.visitor_serial = {}, 0  -- seeded on first use after every reset
  for _, r in ipairs(SEED) do
    state.visitors[#state.visitors + 1] = { id = r[1], chartNumber = r[2], name = r[3], countryCode = r[4],
      phoneNumber = r[5], dateOfBirth = r[6], gender = r[7], email = r[8] }
  end
  return state.visitors
end

---------------------------------------------------------------- request rules

local function check_phone(c, v, phone)
  local t = json.type(phone)
  if t == nil or t == "null" then return end
  if t ~= "object" then return c.add("phone", "InvalidType") end
  local ok = true
  for _, k in ipairs { "countryCode", "phoneNumber" } do
    local before = #v
    c.string(phone[k], "phone." .. k, { required = true, max = k == "countryCode" and 3 or 14 })
    if #v == before and not digits_nz(phone[k]) then c.add("phone." .. k, "InvalidFormat") end
    ok = ok and #v == before
  end
  if ok and #phone.countryCode + #phone.phoneNumber > 15 then c.add("phone.phoneNumber", "TooLong") end
  c.unknown_keys(phone, { countryCode = true, phoneNumber = true }, "phone.")
end

local function check_page(c, v, value, key, min)
  local before = #v
  c.int32(value, key)
  if #v == before and json.type(value) == "number" and value < min then c.add(key, "NotAvailable") end
end

local KEYS = { offset = true, limit = true, partOfVisitorName = true, dateOfBirth = true, chartNumber = true,
  email = true, phone = true }

local function violations(doc)
  local v = {}
  local c = kos.checker(v)
  check_page(c, v, doc.offset, "offset", 0)
  check_page(c, v, doc.limit, "limit", 1)
  c.string(doc.partOfVisitorName, "partOfVisitorName", { max = 100 })
  c.string(doc.dateOfBirth, "dateOfBirth", { format = birth_day })
  c.string(doc.chartNumber, "chartNumber", { max = 50 })
  c.string(doc.email, "email", { max = 254 })
  check_phone(c, v, doc.phone)
  c.unknown_keys(doc, KEYS, "")
  return v
end

---------------------------------------------------------------- search

local function given(v) return v ~= nil and v ~= json.null end

-- Every criterion given must hold (names: a plain substring; email: case-insensitive).
local function matches(r, q)
  if given(q.chartNumber) and r.chartNumber ~= q.chartNumber then return false end
  if given(q.partOfVisitorName) and not r.name:find(q.partOfVisitorName, 1, true) then return false end
  if given(q.dateOfBirth) and r.dateOfBirth ~= birth_day(q.dateOfBirth) then return false end
  if given(q.email) and (r.email or ""):lower() ~= q.email:lower() then return false end
  if given(q.phone) and (r.countryCode ~= q.phone.countryCode or r.phoneNumber ~= q.phone.phoneNumber) then
    return false
  end
  return true
end

-- A data[] entry: the documented fields, dateOfBirth in the documented form.
local function entry(r)
  local o = json.obj("id", r.id, "chartNumber", r.chartNumber, "name", r.name)
  local order = o[json.ORDER]
  local function add(k, val) if val ~= nil then o[k] = val; order[#order + 1] = k end end
  if r.countryCode then add("phoneNumber", json.obj("countryCode", r.countryCode, "phoneNumber", r.phoneNumber)) end
  add("dateOfBirth", r.dateOfBirth and (r.dateOfBirth .. " 00:00:00.000Z") or nil)
  add("gender", r.gender)
  return o
end

function M.search(state, req)
  if not kos.authorized(state, req.headers) then return kos.err_reply(401, "UnauthorizedException") end
  local ct = (req.headers["content-type"] or ""):lower()
  if ct:sub(1, 16) ~= "application/json" then return kos.err_reply(400, "InvalidRequestException") end
  local doc = json.decode(req.body)
  if json.type(doc) ~= "object" then return kos.err_reply(400, "InvalidRequestException") end
  local v = violations(doc)
  if #v > 0 then return kos.err_reply(400, "InvalidCommandException", v) end
  local offset = given(doc.offset) and doc.offset or 0
  local limit = given(doc.limit) and doc.limit or DEFAULT_LIMIT
  local data, found = json.array(), 0
  for _, r in ipairs(visitors(state)) do
    if matches(r, doc) then
      found = found + 1
      if found > offset and #data < limit then data[#data + 1] = entry(r) end
    end
  end
  return 200, JSON_HEADERS, json.encode(json.obj("data", data))
end

---------------------------------------------------------------- /_sandbox/visitors

local function reply(status, value) return status, JSON_HEADERS, json.encode(value) end

local function str(v) return type(v) == "string" and v ~= "" end

-- One visitor of a POST /_sandbox/visitors document -> record, or nil, why.
local function record(state, d)
  if json.type(d) ~= "object" then return nil, "each visitor must be an object" end
  if not str(d.name) or not str(d.chartNumber) then return nil, "name and chartNumber are required strings" end
  local r = { name = d.name, chartNumber = d.chartNumber, gender = d.gender, email = d.email, id = d.id }
  if r.id == nil then
    state.visitor_serial = state.visitor_serial + 1
    r.id = string.format("66%022x", state.visitor_serial)
  elseif type(r.id) ~= "string" or not r.id:match("^%x+$") or #r.id ~= 24 then
    return nil, "id must be 24 hex digits (an ObjectId)"
  end
  if r.gender ~= nil and not GENDERS[r.gender] then return nil, "gender must be GENDER_UNSPECIFIED, MALE or FEMALE" end
  if r.email ~= nil and not str(r.email) then return nil, "email must be a non-empty string" end
  if d.dateOfBirth ~= nil then
    r.dateOfBirth = type(d.dateOfBirth) == "string" and birth_day(d.dateOfBirth .. " 00:00:00.000Z")
    if not r.dateOfBirth then return nil, "dateOfBirth must be YYYY-MM-DD" end
  end
  local p = d.phoneNumber
  if p ~= nil then
    if json.type(p) ~= "object" or not str(p.countryCode) or not str(p.phoneNumber) then
      return nil, "phoneNumber must be { countryCode, phoneNumber }"
    end
    r.countryCode, r.phoneNumber = p.countryCode, p.phoneNumber
  end
  return r
end

local function listing(list)
  local out = json.array()
  for i, r in ipairs(list) do
    local o = entry(r)
    if r.email then o.email = r.email; o[json.ORDER][#o[json.ORDER] + 1] = "email" end
    out[i] = o
  end
  return json.obj("visitors", out)
end

-- GET: every visitor; POST {"visitors": [...]}: adds them (all or none), answers the added ones.
function M.control(state, method, body)
  local list = visitors(state)
  if method == "GET" then return reply(200, listing(list)) end
  if method ~= "POST" then return reply(405, json.obj("error", "GET or POST /_sandbox/visitors")) end
  local doc = json.decode(body)
  if json.type(doc) ~= "object" or json.type(doc.visitors) ~= "array" then
    return reply(400, json.obj("error", "body must be {\"visitors\": [...]}"))
  end
  local added = {}
  for i, d in ipairs(doc.visitors) do
    local r, why = record(state, d)
    if not r then return reply(400, json.obj("error", "visitors[" .. (i - 1) .. "]: " .. why)) end
    added[i] = r
  end
  for _, r in ipairs(added) do list[#list + 1] = r end
  return reply(200, listing(added))
end

return M
