-- Text that is safe to print: what a server answers and what an input file holds may carry
-- terminal control sequences (ESC ]0;… BEL sets a window title, ESC [2J clears the screen,
-- hiding an UNKNOWN OUTCOME line) or bytes that are not UTF-8 (which make --json lines
-- invalid JSON). Such bytes are shown as \xNN, never passed through.
local M = {}

-- Length of the valid UTF-8 sequence at i (1..4), or nil: no overlongs, no surrogates,
-- nothing above U+10FFFF.
local function seq_len(s, i)
  local c = s:byte(i)
  if c < 0x80 then return 1 end
  local n, min
  if c >= 0xC2 and c <= 0xDF then n, min = 2, 0x80
  elseif c >= 0xE0 and c <= 0xEF then n, min = 3, 0x800
  elseif c >= 0xF0 and c <= 0xF4 then n, min = 4, 0x10000
  else return nil end
  local cp = c % (2 ^ (7 - n))
  for k = 1, n - 1 do
    local d = s:byte(i + k)
    if not d or d < 0x80 or d > 0xBF then return nil end
    cp = cp * 64 + d % 64
  end
  if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil end
  return n
end

local function hex(c) return string.format("\\x%02X", c) end

-- Walks s: valid characters through keep(ch) (returns the text to emit), invalid bytes as \xNN.
local function walk(s, keep)
  local out, i, n = {}, 1, #s
  while i <= n do
    local len = seq_len(s, i)
    if len then
      out[#out + 1] = keep(s:sub(i, i + len - 1))
      i = i + len
    else
      out[#out + 1] = hex(s:byte(i))
      i = i + 1
    end
  end
  return table.concat(out)
end

-- C0 controls other than newline and tab, DEL, and the C1 controls (U+0080..U+009F, which
-- some terminals obey as ESC sequences) are escaped.
local function terminal_char(ch)
  local b = ch:byte(1)
  if #ch == 1 then
    if (b < 32 and ch ~= "\n" and ch ~= "\t") or b == 127 then return hex(b) end
    return ch
  end
  if b == 0xC2 and ch:byte(2) <= 0x9F then return "\\u00" .. string.format("%02X", ch:byte(2)) end
  return ch
end

local UNSAFE = "[%z\1-\8\11-\31\127-\255]"

-- s as it may be written to a terminal (one or more lines).
function M.terminal(s)
  s = tostring(s)
  if not s:find(UNSAFE) then return s end
  return walk(s, terminal_char)
end

local function same(ch) return ch end

-- s with every byte that is not part of valid UTF-8 written as the text \xNN: a string any
-- JSON encoder can then write as valid JSON.
function M.utf8(s)
  if not s:find("[\128-\255]") then return s end
  return walk(s, same)
end

return M
