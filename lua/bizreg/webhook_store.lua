-- What bizreg.webhook keeps in a store with ngx.shared.DICT's get/set/add (the token_store
-- contract without delete), and what rcs_wait.lua reads back:
--   bizreg:noti:<h>               1       a delivery seen (seen_ttl): repeats are dropped
--   bizreg:brand:<brandId>        JSON    the latest brand notification (verdict_ttl)
--   bizreg:chatbot:<chatbotId>    JSON    the latest chatbot notification
-- <h> is a hash of the notification's fields. Every store method is called under pcall: a
-- store that raises is reported, never raised. Pure Lua and cjson.safe.
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"

local M = {}

-- The verdicts recorded: notiType -> the field that names the object. Only these two are
-- waited on (rcs_wait.lua); the other types have no wait that reads them.
M.RECORDED = { brand = "brandId", chatbot = "chatbotId" }

local STORE_METHODS = { "get", "set", "add" }

function M.callable(v)
  if type(v) == "function" then return true end
  local mt = type(v) == "table" and getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- Raises unless store has get, set and add (webhook.check_store documents it).
function M.check(store, name)
  local ok = type(store) == "table" or type(store) == "userdata"
  for _, m in ipairs(STORE_METHODS) do
    ok = ok and M.callable(store[m])
  end
  if not ok then
    errors.raise("bizreg.webhook: option '" .. name .. "' must have get, set and add methods (e.g. an ngx.shared.DICT)")
  end
end

-- A store method, protected: true, results... | false, message (it raised).
local function call(store, method, ...)
  local r = { pcall(store[method], store, ...) }
  if r[1] then return true, r[2], r[3] end
  return false, tostring(r[2])
end

-- A canonical text of a value: object keys sorted, so two deliveries of the same
-- notification give the same text whatever order their keys came in.
local function canonical(v, out)
  if type(v) == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      out[#out + 1] = string.format("%q:", k)
      local x = v[k]
      if x == nil then x = v[tonumber(k)] end
      canonical(x, out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif type(v) == "string" then out[#out + 1] = string.format("%q", v)
  else out[#out + 1] = tostring(v) end
end

local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end

-- The hash for keys: SHA-256 of the C core when it is there, else nginx's SHA-1, else the
-- text itself (a store key as long as the notification: still exact).
local digest
local function hash(text)
  if digest == nil then
    local ok, core = pcall(require, "bizreg.core")
    local ngx = rawget(_G, "ngx")
    if ok and type(core) == "table" and core.sha256 then digest = function(s) return hex(core.sha256(s)) end
    elseif ngx and ngx.sha1_bin then digest = function(s) return hex(ngx.sha1_bin(s)) end
    else digest = false end
  end
  return digest and digest(text) or text
end

-- bizreg:noti:<hash of the event's fields, keys sorted> (webhook.delivery_key says why).
function M.delivery_key(event)
  local copy = {}
  for k, v in pairs(event) do copy[k] = v end
  copy.known, copy.schema, copy.odd = nil, nil, nil
  local out = {}
  canonical(copy, out)
  return "bizreg:noti:" .. hash(table.concat(out))
end

-- bizreg:brand:<brandId>, bizreg:chatbot:<chatbotId>
function M.verdict_key(kind, id) return "bizreg:" .. kind .. ":" .. id end

-- { notiType, method, reason, at } | nil | nil, message (webhook.verdict documents it)
function M.verdict(store, kind, id)
  local ok, v = call(store, "get", M.verdict_key(kind, id))
  if not ok then return nil, v end
  local t = type(v) == "string" and cjson.decode(v)
  if type(t) ~= "table" or type(t.method) ~= "string" or type(t.at) ~= "number" then return nil end
  if t.reason == cjson.null then t.reason = nil end
  return t
end

-- The clock of a verdict's `at` (epoch seconds): ngx.time() under OpenResty, else os.time().
-- rcs_wait.lua reads its default `since` on it too: ngx.time() is cached per event loop and
-- may lag os.time() by a second.
local function now()
  local ngx = rawget(_G, "ngx")
  return ngx and ngx.time and ngx.time() or os.time()
end
M.now = now

-- Records the delivery; true when it is the first, false for a repeat. A store that fails
-- (raises, or is full) cannot tell: the event is delivered (a repeat reaching the user beats
-- a notification lost), and the note says why.
function M.first_delivery(store, ev, ttl)
  local ok, added, err = call(store, "add", M.delivery_key(ev), 1, ttl)
  if not ok then return true, "store failed: " .. added end
  if added then return true end
  if err == "exists" then return false end
  return true, "store could not record the delivery: " .. tostring(err)
end

function M.record(store, ev, ttl)
  local field = M.RECORDED[ev.notiType]
  local id = field and ev[field]
  if not id or id == "" or not ev.method then return end
  local value = cjson.encode { notiType = ev.notiType, method = ev.method, reason = ev.reason, at = now() }
  local ok, stored, err = call(store, "set", M.verdict_key(ev.notiType, id), value, ttl)
  if not ok then return "store failed: " .. stored end
  if not stored then return "store could not record the verdict: " .. tostring(err) end
end

return M
