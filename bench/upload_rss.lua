-- Peak RSS growth (KiB) over `calls` sequential register_brand calls carrying a large certificate,
-- with no collectgarbage() between them (what a caller's loop does).
-- usage: lua bench/upload_rss.lua <rcs base url> <certificate path> path|memory [calls]
--   path:   the certificate is given by path (streamed from disk)
--   memory: the certificate is read into a string first and given as { data = ... }
-- Growth is measured from the resident size after the warm-up call and after the certificate
-- was read, so the reading's own transient buffers are not counted (the peak is reset through
-- /proc/self/clear_refs where the kernel allows it). Runs on Lua 5.1-5.4 and LuaJIT (a spec uses it).
local bizreg = require "bizreg"
local images = require "spec.helpers.images" -- the repository root is on LUA_PATH
local common = require "bench.common"

local base, cert, mode, calls = arg[1], arg[2], arg[3] or "path", tonumber(arg[4] or "1")
local function kib(field)
  for line in io.lines("/proc/self/status") do
    local v = line:match("^" .. field .. ":%s+(%d+)")
    if v then return tonumber(v) end
  end
end

local rcs = bizreg.rcs { base_url = base, client_id = "sandbox", client_secret = "SK.sandboxsecret1", timeout = 120 }
local profile = images.png(400, 400)
local function payload(c) return common.brand_payload(profile, c) end
-- warm up: token, connection, every code path once, with a small certificate
assert(rcs:register_brand(payload { data = images.pdf(1024), filename = "c.pdf" }))
local c = cert
if mode == "memory" then
  local f = assert(io.open(cert, "rb"))
  c = { data = f:read("*a"), filename = "c.pdf" }
  f:close()
end
collectgarbage("collect")
local reset = io.open("/proc/self/clear_refs", "w")
local before
if reset and reset:write("5") and reset:close() then before = kib("VmRSS") else before = kib("VmHWM") end
for _ = 1, calls do
  local res, err = rcs:register_brand(payload(c))
  assert(res, tostring(err))
end
print(kib("VmHWM") - before)
