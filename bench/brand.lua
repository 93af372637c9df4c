-- prepare_brand throughput (wall, interleaved in this one process):
--   bz  bizreg.prepare_brand(1 MiB PNG + 1 MiB JPEG + 1 MiB PDF as data, 1,000 chatbots)
--   tc  table.concat of the very same bytes: the JSON parts and multipart framing as short
--       strings plus the three file strings themselves (one copy of every byte: the floor)
-- usage: brand.lua <results file>
local shim = require "benchshim"
local bizreg = require "bizreg"
local C = require "common"

local put = C.results(arg[1])
local payload = C.brand_payload(1000)
local opts = C.BOUNDARY
local prepare, concat, bytes = bizreg.prepare_brand, table.concat, C.bytes
local body = bytes(assert(prepare(payload, opts)).body)
local pieces = C.brand_pieces(payload, body)

local function region(side, round, n, fn)
  collectgarbage("collect")
  local f0 = shim.faults()
  local label = string.format("w:brand:%s:%d", side, round)
  local secs = shim.region(label, n, fn)
  local f1 = shim.faults()
  put { label = label, mode = "wall", row = "brand", side = side, round = round, n = n, ops = n, secs = secs,
        bytes = #body, faults = f1 - f0 }
end

for _ = 1, 2 do bytes(prepare(payload, opts).body) concat(pieces) end
local N = 12
for r = 1, 11 do
  local a = function() region("bz", r, N, function() bytes(prepare(payload, opts).body) end) end
  local b = function() region("tc", r, N, function() concat(pieces) end) end
  if r % 2 == 1 then a() b() else b() a() end
end
