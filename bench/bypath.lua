-- register_brand with a 20 MiB certificate given by path vs the same bytes given as data:
-- client CPU per call (user + system, os.clock: this process only; nginx runs apart),
-- interleaved round by round. The data side reads the file into a string once, before the
-- rounds (a caller who has the bytes already); the path side validates (one read of the
-- file, fingerprinted with Poly1305) and streams it (a second read, fingerprinted again: the
-- bytes sent are the bytes judged). Each side posts to its own URL tag so nginx's log counts
-- its requests. Also the SHA-256 row: core.sha256 (libcrypto; token_store's keys) of
-- the certificate's bytes, CPU per MiB (callgrind cannot count it: valgrind hides the CPU's
-- SHA instructions, so libcrypto would take its slower path there).
-- usage: bypath.lua <nginx base url> <certificate path> <results file> [rounds]
local bizreg = require "bizreg"
local core = require "bizreg.core"
local images = require "spec.helpers.images"
local C = require "common"

local base, cert, out, nrounds = arg[1], arg[2], arg[3], tonumber(arg[4] or "7")
local put = C.results(out)
local f = assert(io.open(cert, "rb"))
local bytes = f:read("a")
f:close()
local profile = images.png(400, 400)
local function payload(c) return C.brand_payload(profile, c) end
local function client(tag)
  return bizreg.rcs { base_url = base .. "/" .. tag .. "/api/1.1", client_id = "sandbox",
                      client_secret = "SK.sandboxsecret1", timeout = 120 }
end
local sides = {
  path = { rcs = client("bpp"), cert = cert },
  data = { rcs = client("bpd"), cert = { data = bytes, filename = "c.pdf" } },
}
local N = 3
local function region(side, round)
  local s = sides[side]
  local p = payload(s.cert)
  collectgarbage("collect")
  local c0 = os.clock()
  for _ = 1, N do
    local res, err = s.rcs:register_brand(p)
    if not res then error(side .. ": " .. tostring(err)) end
  end
  put { label = string.format("c:bypath:%s:%d", side, round), mode = "cpu", row = "bypath", side = side,
        round = round, n = N, ops = N, secs = os.clock() - c0, bytes = #bytes }
end
for _, side in ipairs { "path", "data" } do -- warm-up: token, connection, page cache
  assert(sides[side].rcs:register_brand(payload(sides[side].cert)))
end
for r = 1, nrounds do
  if r % 2 == 1 then region("path", r) region("data", r) else region("data", r) region("path", r) end
end
core.sha256(bytes)
for r = 1, nrounds do
  local c0 = os.clock()
  for _ = 1, N do core.sha256(bytes) end
  put { label = string.format("c:sha:bz:%d", r), mode = "cpu", row = "sha", side = "bz", round = r, n = N,
        ops = N, secs = os.clock() - c0, bytes = #bytes }
end
