-- Number formatting for people: 1,234 · 1.2 MiB · 0:07.
local M = {}

function M.int(n)
  local s = string.format("%d", math.floor(n + 0.5))
  local sign, digits = s:match("^(-?)(%d+)$")
  digits = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return sign .. digits
end

function M.bytes(n)
  if n < 1024 then return M.int(n) .. " B" end
  if n < 1024 * 1024 then return string.format("%.1f KiB", n / 1024) end
  if n < 1024 ^ 3 then return string.format("%.1f MiB", n / 1024 ^ 2) end
  return string.format("%.2f GiB", n / 1024 ^ 3)
end

-- m:ss (h:mm:ss from an hour up)
function M.duration(s)
  if s ~= s or s == math.huge then return "--:--" end
  s = math.max(0, math.floor(s + 0.5))
  local h, m, sec = math.floor(s / 3600), math.floor(s / 60) % 60, s % 60
  if h > 0 then return string.format("%d:%02d:%02d", h, m, sec) end
  return string.format("%d:%02d", m, sec)
end

function M.seconds(s) return string.format("%.3f s", s) end

return M
