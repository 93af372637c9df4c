-- Shared by the bench scripts: the payloads every row uses, and the results file.
-- Depends only on bizreg's public API.

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

-- An RCS brand as the by-path rows send it: one chatbot, `profile` (PNG bytes) as data, and
-- the certificate `cert` (a path, or { data =, filename = }).
function M.brand_payload(profile, cert)
  return { regBrand = { name = "n", description = "d", categoryId = "EDU", subCategoryId = "EDU007" },
           chatbots = { { mdn = "0212345678", subTitle = "t" } },
           brandProfile = { data = profile, filename = "p.png" }, subNumCertificate = cert }
end

M.KOS_PATH = "/image/open/v1/commands/register-visitor-images"

-- The full-call baseline, as a user writes it with Debian's best blocking peer:
-- cjson.encode + luasocket's socket.http (a new connection per request) + cjson.decode, no
-- validation. Returns a function doing one call of `payload` to `url` (raises on failure).
function M.luasocket_call(url, payload)
  local cjson = require "cjson"
  local http = require "socket.http"
  local ltn12 = require "ltn12"
  return function()
    local body = cjson.encode(payload)
    local chunks = {}
    local ok, code = http.request {
      url = url, method = "POST", source = ltn12.source.string(body), sink = ltn12.sink.table(chunks),
      headers = { ["Content-Type"] = "application/json", ["Content-Length"] = tostring(#body),
                  Authorization = "Bearer bench-token", Accept = "application/json" },
    }
    if not ok or code ~= 200 then error("socket.http: " .. tostring(code)) end
    local res = cjson.decode(table.concat(chunks))
    if type(res) ~= "table" then error("socket.http: not JSON") end
  end
end

-- bizreg's side of the full-call rows: one kos:register_visitor_images(payload) (raises on failure).
function M.bizreg_call(kos, payload)
  return function()
    local res, err = kos:register_visitor_images(payload)
    if not res then error(tostring(err)) end
  end
end
M.MiB = 1024 * 1024

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
