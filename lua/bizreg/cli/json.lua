-- JSON for the command's own output (--json, the journal): objects keep the key order
-- they are built with, so lines read the same every time and diff well.
--   json.obj("batch", 3, "state", "registered")   -> ordered object
--   json.encode(value)                            -> one line
--   json.decode(text[, "line"])                   -> value | nil, message (lua-cjson's, in words)
local cjson = require "cjson.safe"
local safe_text = require "bizreg.cli.text"

local M = {}

local ORDER = setmetatable({}, { __mode = "k" })  -- object -> its key list
local ARRAY = setmetatable({}, { __mode = "k" })  -- tables that encode as [] even when empty

function M.obj(...)
  local t, keys = {}, {}
  local n = select("#", ...)
  for i = 1, n, 2 do
    local k, v = select(i, ...)
    if v ~= nil then
      keys[#keys + 1] = k
      t[k] = v
    end
  end
  ORDER[t] = keys
  return t
end

function M.array(t)
  t = t or {}
  ARRAY[t] = true
  return t
end

local function encode_string(s)
  -- bytes that are not UTF-8 (an input key, a server's text) become the text \xNN, so the
  -- line stays JSON; C1 controls are written \u0080..\u009f (a terminal may obey them raw).
  -- cjson escapes "/" as "\/": valid JSON, but noisy in paths and URLs
  return (cjson.encode(safe_text.utf8(s)):gsub("\\/", "/"):gsub("\194([\128-\159])", function(c)
    return string.format("\\u%04x", c:byte())
  end))
end

local function encode_number(v)
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
  return string.format("%.14g", v)
end

local encode

local function encode_table(t, out)
  local keys = ORDER[t]
  if not keys and (ARRAY[t] or #t > 0) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode(t[i], out)
    end
    out[#out + 1] = "]"
    return
  end
  if not keys then  -- a plain table: sorted keys, for a stable line
    keys = {}
    for k in pairs(t) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
  end
  out[#out + 1] = "{"
  local first = true
  for _, k in ipairs(keys) do
    local v = t[k]
    if v ~= nil then
      if not first then out[#out + 1] = "," end
      first = false
      out[#out + 1] = encode_string(k)
      out[#out + 1] = ":"
      encode(v, out)
    end
  end
  out[#out + 1] = "}"
end

function encode(v, out)
  local t = type(v)
  if t == "string" then out[#out + 1] = encode_string(v)
  elseif t == "number" then out[#out + 1] = encode_number(v)
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "table" then encode_table(v, out)
  else out[#out + 1] = "null" end  -- nil, cjson.null, functions
end

function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

M.null = cjson.null

-- Decodes text; on failure the message names the line and column of the problem.
-- lua-cjson names its tokens (T_END, T_OBJ_END, ...) in messages: said in words here
local TOKENS = { T_OBJ_BEGIN = "'{'", T_OBJ_END = "'}'", T_ARR_BEGIN = "'['", T_ARR_END = "']'",
  T_STRING = "a string", T_NUMBER = "a number", T_BOOLEAN = "true or false", T_NULL = "null",
  T_COLON = "':'", T_COMMA = "','" }

-- what: "file" (default) or "line" (a JSON Lines line): the unit a cut-short text ends
function M.decode(text, what)
  -- lua-cjson stops at a NUL byte and returns what came before it: a journal line holding two
  -- records joined by a NUL lost the second, an image file its tail. No JSON text holds one.
  local nul = text:find("\0", 1, true)
  if nul then return nil, "a NUL byte at character " .. nul .. " (no JSON text holds one)" end
  local v, err = cjson.decode(text)
  if v ~= nil or err == nil then return v end
  err = tostring(err)
  if err:find("found T_END", 1, true) or err:find("found unexpected end of string", 1, true) then
    err = "unexpected end of " .. (what or "file") .. (err:match(" at character %d+") or "")
  else
    err = err:gsub("T_[%u_]+", TOKENS)
  end
  local at = tonumber(err:match("character (%d+)"))
  if at then
    local before = text:sub(1, at - 1)
    local _, lines = before:gsub("\n", "")
    local col = at - (before:match(".*\n()") or 1) + 1
    err = err:gsub(" at character %d+", "") .. string.format(" (line %d, column %d)", lines + 1, col)
  end
  return nil, err
end

return M
