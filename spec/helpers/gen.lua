-- Building blocks of the differential check (spec/e2e/differential_spec.lua): a seeded random
-- generator that gives the same sequence on Lua 5.1-5.4 and LuaJIT, text of a given length
-- in characters, and the wire encodings written here, independently of both the client and
-- the sandbox: JSON (for payloads the client refuses, so has no body for) and multipart.
local cjson = require "cjson"

local M = {}

M.null = cjson.null -- absent for the client; JSON null on the wire

---------------------------------------------------------------- random

-- Park-Miller minimal standard (16807 * (2^31 - 2) < 2^53: exact in doubles and integers).
local Rng = {}
Rng.__index = Rng

function M.rng(seed)
  return setmetatable({ s = seed % 2147483646 + 1 }, Rng)
end

function Rng:next()
  self.s = self.s * 16807 % 2147483647
  return self.s
end

function Rng:int(a, b) return a + self:next() % (b - a + 1) end
function Rng:pick(list) return list[self:int(1, #list)] end
function Rng:chance(p) return self:next() < p * 2147483647 end

-- Characters of several UTF-8 lengths (ASCII, Latin-1, Hangul, emoji) and a space.
local CHARS = { "a", "b", "z", "Q", "7", " ", "-", "é", "가", "힣", "😀" }

-- A string of exactly n characters (code points); ascii = true keeps to [a-z0-9].
function Rng:text(n, ascii)
  local out = {}
  for i = 1, n do
    if ascii then
      local k = self:int(1, 36)
      out[i] = ("abcdefghijklmnopqrstuvwxyz0123456789"):sub(k, k)
    else
      out[i] = self:pick(CHARS)
    end
  end
  return table.concat(out)
end

function Rng:digits(n)
  local out = {}
  for i = 1, n do out[i] = tostring(self:int(0, 9)) end
  return table.concat(out)
end

---------------------------------------------------------------- JSON

local ARRAY = { __jsontype = "array" }

-- A list that encodes as a JSON array even when empty (the client ignores metatables).
function M.array(t) return setmetatable(t or {}, ARRAY) end
function M.is_array(v) return type(v) == "table" and getmetatable(v) == ARRAY end

-- Deep copy (keeps array marks; cjson.null is shared).
function M.copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = M.copy(x) end
  return setmetatable(t, getmetatable(v))
end

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n > 0 and n == #t
end

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- Bytes are written as they are (invalid UTF-8 included): the reader judges them.
function M.json(v)
  local t = type(v)
  if v == cjson.null then return "null" end
  if t == "string" then return encode_string(v) end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.17g", v)
  end
  assert(t == "table", "cannot encode a " .. t)
  local out = {}
  if is_array(v) then
    for i = 1, #v do out[i] = M.json(v[i]) end
    return "[" .. table.concat(out, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do
    assert(type(k) == "string", "object keys must be strings")
    keys[#keys + 1] = k
  end
  table.sort(keys)
  for i, k in ipairs(keys) do out[i] = encode_string(k) .. ":" .. M.json(v[k]) end
  return "{" .. table.concat(out, ",") .. "}"
end

---------------------------------------------------------------- multipart

-- parts: { name =, data =, filename = }; a boundary found in no part. Returns body, content type.
function M.multipart(parts)
  local boundary
  local n = 0
  repeat
    n = n + 1
    boundary = "diff-boundary-" .. n
    local clash = false
    for _, p in ipairs(parts) do clash = clash or p.data:find(boundary, 1, true) ~= nil end
  until not clash
  local out = {}
  for _, p in ipairs(parts) do
    local cd = 'Content-Disposition: form-data; name="' .. p.name .. '"'
    if p.filename then cd = cd .. '; filename="' .. p.filename .. '"' end
    out[#out + 1] = "--" .. boundary .. "\r\n" .. cd .. "\r\n"
    if p.filename then out[#out + 1] = "Content-Type: application/octet-stream\r\n" end
    out[#out + 1] = "\r\n" .. p.data .. "\r\n"
  end
  out[#out + 1] = "--" .. boundary .. "--\r\n"
  return table.concat(out), "multipart/form-data; boundary=" .. boundary
end

return M
