-- KOS CRM emulation: exchange-token and register-visitor-images.
--
-- Rules follow /work/shared/api-notes.md (API 2) and the seed JSON schema. The
-- register endpoint collects EVERY violation, like the real service's
-- errorProperties list; indexes in keys are 0-based (images[0].memo).
local json = require "bizreg_sandbox.json"
local rand = require "openssl.rand"

local kos = {}

local JSON_HEADERS = { ["content-type"] = "application/json" }
local NOT_FOUND_VISITOR = "000000000000000000000000"
local unpack_ = unpack or table.unpack -- luacheck: ignore

local function err_reply(status, class, props)
  return status, JSON_HEADERS, json.encode(json.obj(
    "status", status, "message", class, "className", class,
    "errorProperties", json.array(props or {})))
end

local function prop(key, reason)
  return json.obj("key", key, "reason", reason)
end

-- Body used when the test asked for an injected failure (fail_next).
local FAILURE_CLASS = {
  [429] = "TooManyRequestsException",
  [500] = "InternalServerErrorException",
  [503] = "ServiceUnavailableException",
}
function kos.failure(status)
  local st, h, body = err_reply(status, FAILURE_CLASS[status] or "ServerException")
  return st, h, body
end

-- Random UUID version 4 (RFC 9562 layout).
local function uuid4()
  local b = { rand.bytes(16):byte(1, 16) }
  b[7] = b[7] % 16 + 0x40
  b[9] = b[9] % 64 + 0x80
  local hex = string.format(string.rep("%02x", 16), unpack_(b))
  return hex:sub(1, 8) .. "-" .. hex:sub(9, 12) .. "-" .. hex:sub(13, 16) .. "-" ..
    hex:sub(17, 20) .. "-" .. hex:sub(21, 32)
end

---------------------------------------------------------------- exchange-token

function kos.exchange_token(state, req)
  local doc = json.decode(req.body)
  if json.type(doc) ~= "object" or type(doc.key) ~= "string" or doc.key == "" then
    return err_reply(400, "InvalidRequestException", { prop("key", "Required") })
  end
  if doc.key ~= state.config.kos_api_key then
    return err_reply(401, "UnauthorizedException")
  end
  local token = uuid4()
  state.kos_tokens[token] = { expired = false }
  return 200, JSON_HEADERS, json.encode(json.obj("token", token))
end

---------------------------------------------------------------- auth

local function token_from_header(cfg, headers)
  local value = headers[cfg.kos_auth_header:lower()]
  if not value then return nil end
  if cfg.kos_auth_scheme == "" then return value:match("^%s*(%S+)%s*$") end
  local scheme, token = value:match("^(%S+) +(%S+)%s*$")
  -- auth schemes are case-insensitive (RFC 9110 11.1)
  if not scheme or scheme:lower() ~= cfg.kos_auth_scheme:lower() then return nil end
  return token
end

local function authorized(state, headers)
  local token = token_from_header(state.config, headers)
  if not token then return false end
  if token == state.config.kos_token then
    return not state.expired_static["kos:" .. token]
  end
  local t = state.kos_tokens[token]
  return t ~= nil and not t.expired
end

---------------------------------------------------------------- field rules

local SOURCES = {
  VISITOR_IMAGE_SOURCE_UNSPECIFIED = true, HOSPITAL = true, VISITOR = true,
  AGREEMENT = true, PEN_CHART = true,
}
local CODE_CATEGORIES = {
  CODE_CATEGORY_UNSPECIFIED = true, FUNNEL = true, EXPOSURE_CHANNEL = true,
  ETCETRA_PRODUCT_CATEGORY = true, IMAGE_EQUIPMENT = true, CALL_CONSULTATION_RESULT = true,
  IMAGE_CATEGORY = true, FUNNEL_CATEGORY = true, VISITOR_CATEGORY = true, ACCOUNT_STATUS = true,
}
local CODE_COLORS = {
  CodeColor_UNSPECIFIED = true, RED = true, LAVA = true, ORANGE = true, GREEN = true,
  CYAN = true, BLUE = true, PURPLE = true, MAGENTA = true, GRAY = true,
}
local ITEM_KEYS = {
  "fileName", "visitorId", "source", "equipment", "scheduleId",
  "shootingDateTimeUtc", "memo", "category",
}
local CODE_KEYS = { "id", "category", "name", "order", "closed", "color", "default" }

local function set_of(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end
local ITEM_KEY_SET, CODE_KEY_SET = set_of(ITEM_KEYS), set_of(CODE_KEYS)

local function is_leap(y) return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0 end
local MONTH_DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM); seconds may be 60 (leap second).
function kos.is_rfc3339(s)
  local y, mo, d, h, mi, sec, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt](%d%d):(%d%d):(%d%d)(.*)$")
  if not y then return false end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or h > 23 or mi > 59 or sec > 60 then return false end
  local dim = (mo == 2 and is_leap(y)) and 29 or MONTH_DAYS[mo]
  if d < 1 or d > dim then return false end
  rest = rest:gsub("^%.%d+", "", 1)
  if rest == "Z" or rest == "z" then return true end
  local oh, om = rest:match("^[+-](%d%d):(%d%d)$")
  return oh ~= nil and tonumber(oh) <= 23 and tonumber(om) <= 59
end

-- Collects violations into list v; one reason per field, checked in this order:
-- type, UTF-8, required/empty, length, enum, format.
local function checker(v)
  local c = {}
  local function add(key, reason) v[#v + 1] = prop(key, reason) end
  c.add = add

  -- opts: required, max (code points), enum (set), format (predicate -> NotAvailable)
  function c.string(value, key, opts)
    local t = json.type(value)
    if t == nil or t == "null" then -- proto3 JSON: null means "not set"
      if opts.required then add(key, "Required") end
      return
    end
    if t ~= "string" then return add(key, "InvalidType") end
    local len = json.utf8_length(value)
    if not len then return add(key, "InvalidUtf8") end
    if opts.required and value == "" then return add(key, "Required") end
    if opts.max and len > opts.max then return add(key, "TooLong") end
    if opts.enum and not opts.enum[value] then return add(key, "InvalidEnum") end
    if opts.format and not opts.format(value) then return add(key, "NotAvailable") end
  end

  function c.boolean(value, key)
    local t = json.type(value)
    if t ~= nil and t ~= "null" and t ~= "boolean" then add(key, "InvalidType") end
  end

  function c.int32(value, key)
    local t = json.type(value)
    if t == nil or t == "null" then return end
    if t ~= "number" or value ~= math.floor(value) or value < -2 ^ 31 or value > 2 ^ 31 - 1 then
      add(key, "InvalidType")
    end
  end

  function c.unknown_keys(obj, known, prefix)
    for _, k in ipairs(json.keys(obj)) do
      if not known[k] then add(prefix .. k, "UnknownField") end
    end
  end

  -- protos.tenant.Code
  function c.code(value, key)
    local t = json.type(value)
    if t == nil or t == "null" then return end
    if t ~= "object" then return add(key, "InvalidType") end
    c.string(value.id, key .. ".id", {})
    c.string(value.category, key .. ".category", { enum = CODE_CATEGORIES })
    c.string(value.name, key .. ".name", {})
    c.int32(value.order, key .. ".order")
    c.boolean(value.closed, key .. ".closed")
    c.string(value.color, key .. ".color", { enum = CODE_COLORS })
    c.boolean(value["default"], key .. ".default")
    c.unknown_keys(value, CODE_KEY_SET, key .. ".")
  end

  function c.item(item, key)
    c.string(item.fileName, key .. ".fileName", { required = true })
    c.string(item.visitorId, key .. ".visitorId", { required = true })
    c.string(item.source, key .. ".source", { enum = SOURCES })
    c.code(item.equipment, key .. ".equipment")
    c.string(item.scheduleId, key .. ".scheduleId", {})
    c.string(item.shootingDateTimeUtc, key .. ".shootingDateTimeUtc", { format = kos.is_rfc3339 })
    c.string(item.memo, key .. ".memo", { max = 150 })
    c.code(item.category, key .. ".category")
    c.unknown_keys(item, ITEM_KEY_SET, key .. ".")
  end

  return c
end

---------------------------------------------------------------- register-visitor-images

function kos.register_visitor_images(state, req)
  if not authorized(state, req.headers) then
    return err_reply(401, "UnauthorizedException")
  end
  local ct = (req.headers["content-type"] or ""):lower()
  if ct:sub(1, 16) ~= "application/json" then
    return err_reply(400, "InvalidRequestException")
  end
  local doc = json.decode(req.body)
  if json.type(doc) ~= "object" then
    return err_reply(400, "InvalidRequestException")
  end

  local violations = {}
  local c = checker(violations)
  local images = doc.images
  local t = json.type(images)
  if t == nil or t == "null" or (t == "array" and #images == 0) then
    c.add("images", "Required")
  elseif t ~= "array" then
    c.add("images", "InvalidType")
  else
    for i, item in ipairs(images) do
      local key = "images[" .. (i - 1) .. "]"
      if json.type(item) ~= "object" then c.add(key, "InvalidType") else c.item(item, key) end
    end
  end
  c.unknown_keys(doc, { images = true }, "")
  if #violations > 0 then
    return err_reply(400, "InvalidCommandException", violations)
  end

  -- The server knows which visitors exist; the client cannot check this itself.
  local missing = {}
  for i, item in ipairs(images) do
    if item.visitorId == NOT_FOUND_VISITOR then
      missing[#missing + 1] = prop("images[" .. (i - 1) .. "].visitorId", "NotFound")
    end
  end
  if #missing > 0 then
    return err_reply(400, "NotFoundException", missing)
  end

  state.registered.images = state.registered.images + #images
  return 200, JSON_HEADERS, "{}"
end

-- For kos_visitors.lua (search-visitors): the same envelope, auth and field checker.
kos.err_reply, kos.authorized, kos.checker = err_reply, authorized, checker

return kos
