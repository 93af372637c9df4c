-- Peak RSS growth (KiB) of one register_brand carrying a large certificate.
-- usage: lua5.4 bench/upload_rss.lua <rcs base url> <certificate path> path|memory
local bizreg = require "bizreg"
local images = require "bizreg.sandbox.images"

local base, cert, mode = arg[1], arg[2], arg[3] or "path"
local function hwm_kib()
  for line in io.lines("/proc/self/status") do
    local v = line:match("^VmHWM:%s+(%d+)")
    if v then return tonumber(v) end
  end
end

local rcs = bizreg.rcs { base_url = base, client_id = "sandbox", client_secret = "SK.sandboxsecret1", timeout = 120 }
local profile = images.png(400, 400)
local function payload(c)
  return { regBrand = { name = "n", description = "d", categoryId = "EDU", subCategoryId = "EDU007" },
           chatbots = { { mdn = "0212345678", subTitle = "t" } },
           brandProfile = { data = profile, filename = "p.png" }, subNumCertificate = c }
end
-- warm up: token, connection, every code path once, with a small certificate
assert(rcs:register_brand(payload { data = images.pdf(1024), filename = "c.pdf" }))
collectgarbage("collect")
local before = hwm_kib()
local c = cert
if mode == "memory" then
  local f = assert(io.open(cert, "rb"))
  c = { data = f:read("*a"), filename = "c.pdf" }
  f:close()
end
local res, err = rcs:register_brand(payload(c))
assert(res, tostring(err))
print(hwm_kib() - before)
