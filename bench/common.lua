-- Shared by the bench scripts: the payloads every row uses, and the results file.
-- Depends only on bizreg's public API and the specs' fixture generator (spec/helpers/images.lua;
-- bench/run.sh puts the repository root on LUA_PATH).
local images = require "spec.helpers.images"

local M = {}

-- A KOS image as a clinic would send it: every field set, a 66-character Hangul memo.
function M.kos_payload(n)
  local items = {}
  for i = 1, n do
    items[i] = {
      fileName = "2026/11/22/img" .. i .. ".jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL",
      equipment = { id = "eq1", category = "IMAGE_EQUIPMENT", name = "카메라", order = i, closed = false, color = "BLUE" },
      category = { id = "cat1", category = "IMAGE_CATEGORY", default = true },
      scheduleId = "65a1b2c3d4e5f6a7b8c9d0e2", shootingDateTimeUtc = "2026-11-22T07:00:00.000Z",
      memo = string.rep("시술 전후 사진 메모 ", 6),
    }
  end
  return { images = items }
end

M.KOS_PATH = "/image/open/v1/commands/register-visitor-images"
M.MiB = 1024 * 1024

-- RCS brand: 1 MiB PNG profile, 1 MiB JPEG background, 1 MiB PDF certificate, all as data,
-- and `nbots` chatbots.
function M.brand_payload(nbots)
  local bots = {}
  for i = 1, nbots do
    bots[i] = { mdn = string.format("02%08d", i), subTitle = "상담 " .. i, display = "01", inputField = 1 }
  end
  return {
    regBrand = { name = "바른치과", description = string.rep("설명", 40), tel = "0212345678", categoryId = "MED",
      subCategoryId = "MED001", menus = { { buttonType = "call" }, { buttonType = "web", weblink = "https://example.kr" } },
      initFeedItems = { "call", "web" } },
    chatbots = bots,
    brandProfile = { data = images.png(1080, 1080, { size = M.MiB }), filename = "p.png" },
    brandBackground = { data = images.jpeg(1080, 1080, { size = M.MiB }), filename = "b.jpg" },
    subNumCertificate = { data = images.pdf(M.MiB), filename = "c.pdf" },
  }
end

-- The body's bytes as a string; should prepare_brand ever return a body object, its
-- :tostring() is part of what a caller wanting the bytes pays.
function M.bytes(b)
  if type(b) == "string" then return b end
  return assert(b:tostring())
end

-- The table.concat baseline of a prepared brand body: its multipart framing and JSON parts as
-- short strings, and the payload's three file strings themselves, in body order.
function M.brand_pieces(payload, body)
  local files = { payload.brandProfile.data, payload.brandBackground.data, payload.subNumCertificate.data }
  local at = {}
  for _, d in ipairs(files) do
    local s = assert(body:find(d, 1, true), "file bytes not found in the body")
    at[#at + 1] = { s = s, e = s + #d - 1, d = d }
  end
  table.sort(at, function(a, b) return a.s < b.s end)
  local pieces, pos = {}, 1
  for _, f in ipairs(at) do
    pieces[#pieces + 1] = body:sub(pos, f.s - 1)
    pieces[#pieces + 1] = f.d
    pos = f.e + 1
  end
  pieces[#pieces + 1] = body:sub(pos)
  assert(table.concat(pieces) == body, "pieces do not rebuild the body")
  return pieces
end

M.BOUNDARY = { boundary = "bizreg-bench-boundary-0123456789" }

-- Results: one `R{...}` line per measurement, appended to the file the runner names.
function M.results(path)
  local f = assert(io.open(path, "a"))
  return function(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
      local v = t[k]
      parts[#parts + 1] = k .. "=" .. (type(v) == "string" and string.format("%q", v) or string.format("%.17g", v))
    end
    f:write("R{", table.concat(parts, ", "), "}\n")
    f:flush()
  end
end

function M.read_results(path)
  local out = {}
  local chunk = assert(loadfile(path, "t", { R = function(t) out[#out + 1] = t end }))
  chunk()
  return out
end

function M.median(xs)
  local s = {}
  for i, v in ipairs(xs) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  if n % 2 == 1 then return s[(n + 1) / 2] end
  return (s[n / 2] + s[n / 2 + 1]) / 2
end

function M.range(xs)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(xs) do lo, hi = math.min(lo, v), math.max(hi, v) end
  return lo, hi
end

-- The KiB values of /proc/self/status lines (VmRSS, VmHWM).
function M.status_kib(field)
  for line in io.lines("/proc/self/status") do
    local v = line:match("^" .. field .. ":%s+(%d+)")
    if v then return tonumber(v) end
  end
end

return M
