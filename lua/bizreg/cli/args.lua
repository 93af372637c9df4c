-- Command-line parsing: positional words and --options, in any order.
--   --flag, --name VALUE, --name=VALUE, -h (= --help), -- (ends options)
local M = {}

local SHORT = { h = "help", v = "verbose" }

-- allowed: { name = "flag" | "string" | "count" | "list" | "port" }
-- Returns { words = {...}, opts = {...} } or nil, message (a usage error).
function M.parse(argv, allowed)
  local words, opts = {}, {}
  local i, only_words = 1, false
  while i <= #argv do
    local a = argv[i]
    local name, value
    if only_words or a == "-" or a:sub(1, 1) ~= "-" then
      words[#words + 1] = a
    elseif a == "--" then
      only_words = true
    else
      name, value = a:match("^%-%-([%w%-]+)=(.*)$")
      if not name then name = a:match("^%-%-([%w%-]+)$") or SHORT[a:match("^%-(%a)$") or ""] end
      if not name then return nil, "unknown option " .. a end
      local kind = allowed[name]
      if not kind then return nil, "unknown option --" .. name end
      if kind == "flag" then
        if value then return nil, "--" .. name .. " takes no value" end
        opts[name] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then return nil, "--" .. name .. " needs a value" end
        end
        local v, why = M.convert(kind, value)
        if v == nil then return nil, "--" .. name .. " " .. why end
        opts[name] = v
      end
    end
    i = i + 1
  end
  return { words = words, opts = opts }
end

-- At most 15 digits (leading zeros aside): exact in every Lua. A longer number becomes a
-- float that a loop over batch numbers never steps past (1e20 + 1 == 1e20) and that
-- string.format("%d") refuses.
local function whole(s)
  local digits = s:match("^0*(%d+)$")
  return digits and #digits <= 15 and tonumber(digits)
end

function M.convert(kind, s)
  if kind == "string" then
    if s == "" then return nil, "needs a non-empty value" end
    return s
  elseif kind == "count" then
    local n = whole(s)
    if not n or n < 1 then return nil, "needs a whole number >= 1 (got '" .. s .. "')" end
    return n
  elseif kind == "seconds" then
    local n = tonumber(s)
    if not n or n <= 0 or n ~= n or n == math.huge then return nil, "needs a number of seconds > 0 (got '" .. s .. "')" end
    return n
  elseif kind == "port" then
    local n = whole(s)
    if not n or n > 65535 then return nil, "needs a port number 0..65535 (got '" .. s .. "')" end
    return n
  elseif kind == "list" then  -- "3,5-7" -> { [3]=true, [5]=true, [6]=true, [7]=true }
    local set, any = {}, false
    for item in (s .. ","):gmatch("([^,]*),") do
      local a, b = item:match("^%s*(%d+)%s*%-%s*(%d+)%s*$")
      a, b = a and whole(a), b and whole(b)
      if not a then a = whole(item:match("^%s*(.-)%s*$")); b = a end
      if not a or not b or a < 1 or b < a or b - a > 100000 then return nil, "needs batch numbers like 3,5-7 (got '" .. s .. "')" end
      for n = a, b do set[n] = true end
      any = true
    end
    if not any then return nil, "needs batch numbers like 3,5-7" end
    return set
  elseif kind == "choice:progress" then
    if s == "auto" or s == "bar" or s == "lines" or s == "off" then return s end
    return nil, "must be auto, bar, lines or off (got '" .. s .. "')"
  end
  error("bizreg.cli.args: unknown option kind " .. tostring(kind))
end

return M
