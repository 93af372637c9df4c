-- CRC-32 (ISO-HDLC: reflected, polynomial 0xEDB88320, as PNG chunks carry it), for the
-- sandbox's PNG reader. The sandbox runs on LuaJIT (bit) or Lua 5.1 with lua-http (which
-- depends on bit32); the readers are also loaded in-process by specs under 5.2-5.4, where
-- bit32 or the native operators serve. Plain arithmetic is the last resort (slow, exact).
local byte = string.byte

local function ops()
  if rawget(_G, "jit") then
    local bit = require "bit"
    return bit.bxor, bit.band, bit.rshift
  end
  if _VERSION ~= "Lua 5.1" and _VERSION ~= "Lua 5.2" then
    return (loadstring or load)([[return function(a, b) return a ~ b end,
      function(a, b) return a & b end, function(a, n) return a >> n end]])()
  end
  local ok, b32 = pcall(require, "bit32")
  if ok and b32 then return b32.bxor, b32.band, b32.rshift end
  local floor = math.floor
  local function xor(a, b) -- bit by bit, on values below 2^32
    local r, p = 0, 1
    a, b = a % 4294967296, b % 4294967296
    while a > 0 or b > 0 do
      local x, y = a % 2, b % 2
      if x ~= y then r = r + p end
      a, b, p = (a - x) / 2, (b - y) / 2, p * 2
    end
    return r
  end
  return xor, function(a, m) return a % (m + 1) end, function(a, n) return floor(a / 2 ^ n) end
end

local xor, band, rshift = ops()

local T = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    if band(c, 1) == 1 then c = xor(rshift(c, 1), 0xEDB88320) else c = rshift(c, 1) end
  end
  T[i] = c
end

-- CRC-32 of s (a number in 0 .. 2^32-1).
return function(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do
    c = xor(T[band(xor(c, byte(s, i)), 255)], rshift(c, 8))
  end
  return xor(c, 0xFFFFFFFF) % 4294967296
end
