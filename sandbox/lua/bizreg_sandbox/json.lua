-- Strict JSON codec for the sandbox.
--
-- Why not lua-cjson: it cannot tell `[]` from `{}` after decoding, always escapes
-- "/", and loses key order. The sandbox must judge request bodies exactly (an
-- empty `images` array is a different error from a missing one) and answer with
-- a stable key order, so it uses this small codec instead.
--
-- Decoding (RFC 8259, strict): objects get OBJECT as metatable and keep their
-- key order in t[json.ORDER]; arrays get ARRAY; `null` is json.null. Duplicate
-- keys, trailing commas, leading zeros, control characters in strings and
-- trailing garbage are errors. Invalid UTF-8 is NOT an error here: the callers
-- report it with their own error codes (json.utf8_length). A lone \uD800-style
-- escape is kept as its 3-byte (CESU) form, which utf8_length rejects.
local json = {}

json.null = setmetatable({}, { __tostring = function() return "null" end })
json.ORDER = setmetatable({}, { __tostring = function() return "json.ORDER" end })
local OBJECT = { __jsontype = "object" }
local ARRAY = { __jsontype = "array" }
json.OBJECT, json.ARRAY = OBJECT, ARRAY

local byte, char, sub, find, concat = string.byte, string.char, string.sub, string.find, table.concat
local floor = math.floor
local MAX_DEPTH = 200

-- "object" | "array" | "string" | "number" | "boolean" | "null" | nil
function json.type(v)
  local t = type(v)
  if t == "table" then
    if v == json.null then return "null" end
    local mt = getmetatable(v)
    if mt == OBJECT then return "object" end
    if mt == ARRAY then return "array" end
    return nil
  end
  if t == "string" or t == "number" or t == "boolean" then return t end
  return nil
end

-- Keys of a decoded object in body order (or sorted, for plain tables).
function json.keys(obj)
  if obj[json.ORDER] then return obj[json.ORDER] end
  local ks = {}
  for k in pairs(obj) do
    if type(k) == "string" then ks[#ks + 1] = k end
  end
  table.sort(ks)
  return ks
end

-- Builds an object that encodes with the given key order: json.obj("a", 1, "b", 2).
function json.obj(...)
  local t, order = setmetatable({}, OBJECT), {}
  local n = select("#", ...)
  for i = 1, n, 2 do
    local k, v = select(i, ...)
    order[#order + 1] = k
    t[k] = v
  end
  t[json.ORDER] = order
  return t
end

-- Adds key = value to a json.obj only when value is not nil (keeps old listings unchanged;
-- control.lua and rcs_brands.lua build their answers with it).
function json.add_present(obj, key, value)
  if value == nil then return end
  obj[key] = value
  obj[json.ORDER][#obj[json.ORDER] + 1] = key
end

function json.array(t)
  return setmetatable(t or {}, ARRAY)
end

---------------------------------------------------------------- UTF-8

-- Number of code points in s, or nil when s is not valid UTF-8 (overlong forms,
-- surrogates and values above U+10FFFF are invalid).
function json.utf8_length(s)
  if not find(s, "[\128-\255]") then return #s end
  local i, n, len = 1, #s, 0
  while i <= n do
    local c = byte(s, i)
    if c < 0x80 then
      i = i + 1
    else
      local need, min
      if c >= 0xC2 and c <= 0xDF then need, min = 1, 0x80
      elseif c >= 0xE0 and c <= 0xEF then need, min = 2, 0x800
      elseif c >= 0xF0 and c <= 0xF4 then need, min = 3, 0x10000
      else return nil end
      if i + need > n then return nil end
      local cp = c % (2 ^ (6 - need))
      for k = 1, need do
        local cc = byte(s, i + k)
        if cc < 0x80 or cc > 0xBF then return nil end
        cp = cp * 64 + (cc - 0x80)
      end
      if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
      i = i + need + 1
    end
    len = len + 1
  end
  return len
end

local function utf8_encode(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64,
    0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

---------------------------------------------------------------- decode

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function fail(pos, msg)
  error({ json_error = string.format("%s at byte %d", msg, pos) }, 0)
end

local function skip_ws(s, pos)
  return find(s, "[^ \t\r\n]", pos) or #s + 1
end

local decode_value

local function decode_string(s, pos)
  -- pos is at the opening quote
  local buf, i = {}, pos + 1
  while true do
    local j = find(s, '[%c"\\]', i)
    if not j then fail(pos, "unterminated string") end
    local c = sub(s, j, j)
    if c == '"' then
      buf[#buf + 1] = sub(s, i, j - 1)
      return concat(buf), j + 1
    elseif c == "\\" then
      buf[#buf + 1] = sub(s, i, j - 1)
      local e = sub(s, j + 1, j + 1)
      if e == "u" then
        local hex = sub(s, j + 2, j + 5)
        if not find(hex, "^%x%x%x%x$") then fail(j, "bad \\u escape") end
        local cp = tonumber(hex, 16)
        i = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = sub(s, i, i + 5)
          if find(lo, "^\\u[dD][c-fC-F]%x%x$") then
            cp = 0x10000 + (cp - 0xD800) * 1024 + (tonumber(sub(lo, 3), 16) - 0xDC00)
            i = i + 6
          end
        end
        buf[#buf + 1] = utf8_encode(cp)
      elseif escapes[e] then
        buf[#buf + 1] = escapes[e]
        i = j + 2
      else
        fail(j, "bad escape")
      end
    elseif byte(c) == 127 then
      -- DEL matches %c but is allowed unescaped in JSON
      buf[#buf + 1] = sub(s, i, j)
      i = j + 1
    else
      fail(j, "control character in string")
    end
  end
end

local function decode_number(s, pos)
  local a, b = find(s, "^-?%d+", pos)
  if not a then fail(pos, "bad number") end
  local digits = sub(s, byte(s, a) == 45 and a + 1 or a, b)
  if #digits > 1 and byte(digits, 1) == 48 then fail(pos, "leading zero") end
  local e = b
  local fa, fb = find(s, "^%.%d+", e + 1)
  if fa then e = fb elseif sub(s, e + 1, e + 1) == "." then fail(e + 1, "bad fraction") end
  local xa, xb = find(s, "^[eE][-+]?%d+", e + 1)
  if xa then e = xb elseif find(s, "^[eE]", e + 1) then fail(e + 1, "bad exponent") end
  return tonumber(sub(s, pos, e)), e + 1
end

function decode_value(s, pos, depth)
  pos = skip_ws(s, pos)
  local c = sub(s, pos, pos)
  if c == "{" then
    if depth >= MAX_DEPTH then fail(pos, "nesting too deep") end
    local obj, order = setmetatable({}, OBJECT), {}
    obj[json.ORDER] = order
    pos = skip_ws(s, pos + 1)
    if sub(s, pos, pos) == "}" then return obj, pos + 1 end
    while true do
      if sub(s, pos, pos) ~= '"' then fail(pos, "expected string key") end
      local k
      k, pos = decode_string(s, pos)
      pos = skip_ws(s, pos)
      if sub(s, pos, pos) ~= ":" then fail(pos, "expected ':'") end
      if obj[k] ~= nil then fail(pos, "duplicate key") end
      obj[k], pos = decode_value(s, pos + 1, depth + 1)
      order[#order + 1] = k
      pos = skip_ws(s, pos)
      local d = sub(s, pos, pos)
      if d == "}" then return obj, pos + 1 end
      if d ~= "," then fail(pos, "expected ',' or '}'") end
      pos = skip_ws(s, pos + 1)
    end
  elseif c == "[" then
    if depth >= MAX_DEPTH then fail(pos, "nesting too deep") end
    local arr, n = setmetatable({}, ARRAY), 0
    pos = skip_ws(s, pos + 1)
    if sub(s, pos, pos) == "]" then return arr, pos + 1 end
    while true do
      n = n + 1
      arr[n], pos = decode_value(s, pos, depth + 1)
      pos = skip_ws(s, pos)
      local d = sub(s, pos, pos)
      if d == "]" then return arr, pos + 1 end
      if d ~= "," then fail(pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(s, pos)
  elseif c == "-" or find(c, "^%d$") then
    return decode_number(s, pos)
  elseif sub(s, pos, pos + 3) == "true" then
    return true, pos + 4
  elseif sub(s, pos, pos + 4) == "false" then
    return false, pos + 5
  elseif sub(s, pos, pos + 3) == "null" then
    return json.null, pos + 4
  end
  fail(pos, "unexpected " .. (c == "" and "end of input" or ("'" .. c .. "'")))
end

-- Returns the value, or nil and an error message.
function json.decode(s)
  if type(s) ~= "string" then return nil, "not a string" end
  local ok, v, pos = pcall(decode_value, s, 1, 0)
  if not ok then
    if type(v) == "table" and v.json_error then return nil, v.json_error end
    return nil, tostring(v)
  end
  pos = skip_ws(s, pos)
  if pos <= #s then return nil, "trailing data at byte " .. pos end
  return v
end

---------------------------------------------------------------- encode

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    if c == "\t" then return "\\t" end
    if byte(c) == 127 then return c end
    return string.format("\\u%04x", byte(c))
  end) .. '"'
end

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

local function encode_value(v, out)
  local t = type(v)
  if v == json.null or v == nil then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("cannot encode " .. tostring(v)) end
    if v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
      out[#out + 1] = string.format("%d", v)
    else
      out[#out + 1] = string.format("%.17g", v)
    end
  elseif t == "string" then
    out[#out + 1] = encode_string(v)
  elseif t == "table" then
    local mt = getmetatable(v)
    if mt == ARRAY or (mt ~= OBJECT and is_sequence(v)) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        encode_value(v[i], out)
      end
      out[#out + 1] = "]"
    else
      out[#out + 1] = "{"
      for i, k in ipairs(json.keys(v)) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(k)
        out[#out + 1] = ":"
        encode_value(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("cannot encode a " .. t)
  end
end

function json.encode(v)
  local out = {}
  encode_value(v, out)
  return concat(out)
end

return json
