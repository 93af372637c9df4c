-- CPU-bound rows of `make bench`, both sides interleaved in this one process:
--   encN  bizreg.prepare_visitor_images(payload of N images) vs cjson.encode(the same table)
--   req   one POST on a bizreg.core handle vs the plain libcurl loop in benchshim
--         (same body bytes, same headers, same keep-alive nginx)
--   call  (instr only) kos:register_visitor_images(10 images) vs cjson + luasocket socket.http
-- usage: cpu.lua instr|wall <nginx base url> <results file>
--   instr: run under callgrind (bench/run.sh): every region is dumped as its own part
--   wall : run natively; the region's wall time is the figure
local shim = require "benchshim"
local bizreg = require "bizreg"
local core = require "bizreg.core"
local cjson = require "cjson"
local C = require "common"

local mode, base, out = arg[1], arg[2], arg[3]
assert(mode == "instr" or mode == "wall", "usage: cpu.lua instr|wall <base url> <results>")
local instr = mode == "instr"
local P = instr and "i" or "w"   -- label prefix, and the first letter of the server-side tag
local put = C.results(out)

-- Each region starts from a collected heap, so each side pays the GC work of its own garbage.
local function region(row, side, round, n, ops, fn)
  collectgarbage("collect")
  local label = string.format("%s:%s:%s:%d", P, row, side, round)
  local secs = shim.region(label, n, fn)
  put { label = label, mode = mode, row = row, side = side, round = round, n = n, ops = ops, secs = secs }
end

-- Rounds alternate which side goes first (no order bias on a noisy machine).
local function rounds(r_count, a, b)
  for r = 1, r_count do
    if r % 2 == 1 then a(r) b(r) else b(r) a(r) end
  end
end

-- Calibration: the cost of the region's own loop (one Lua call per iteration), subtracted by the report.
region("cal", "-", 1, instr and 20000 or 200000, 0, function() end)

-- ---- encode --------------------------------------------------------------
local SIZES = instr and { { 1, 1000, 5 }, { 10, 150, 5 }, { 1000, 2, 5 } }
                     or { { 1, 5000, 21 }, { 10, 1000, 21 }, { 1000, 10, 21 } }
for _, s in ipairs(SIZES) do
  local k, n, r_count = s[1], s[2], s[3]
  local payload = C.kos_payload(k)
  local req = assert(bizreg.prepare_visitor_images(payload))
  assert(#req.body > 0 and cjson.encode(payload))
  local prepare, encode = bizreg.prepare_visitor_images, cjson.encode
  for _ = 1, 3 do prepare(payload) encode(payload) end  -- warm caches (interned keys, buffers)
  local row = "enc" .. k
  rounds(r_count,
    function(r) region(row, "bz", r, n, n, function() prepare(payload) end) end,
    function(r) region(row, "cj", r, n, n, function() encode(payload) end) end)
end

-- ---- one request -----------------------------------------------------------
local body = assert(bizreg.prepare_visitor_images(C.kos_payload(10))).body
local headers = { ["Content-Type"] = "application/json", Authorization = "Bearer bench-token",
                  ["User-Agent"] = "bizreg/bench", Accept = "application/json" }
-- Tags of equal length ("/ihd/" vs "/icc/"): the request lines are the same size on both sides.
local h = core.http {}
local req = { method = "POST", url = base .. "/" .. P .. "hd" .. C.KOS_PATH, headers = headers, body = body }
local plain = shim.curl(base .. "/" .. P .. "cc" .. C.KOS_PATH, body, headers)
local first = assert(h:request(req))
assert(first.status == 200 and first.body == "{}", "nginx did not answer {}")
for _ = 1, 20 do assert(h:request(req)) end  -- connection open, caches warm
plain:loop(20)
-- Wall: many short rounds, so a burst of load from other processes spoils few of them.
local N = instr and 150 or 1000
local function bz_request()
  local res = h:request(req)
  if not res or res.status ~= 200 then error("request failed") end
end
rounds(instr and 7 or 25,
  function(r) region("req", "bz", r, N, N, bz_request) end,
  function(r) region("req", "cc", r, 1, N, function() plain:loop(N) end) end)
put { row = "req", side = "bytes", body = #body }
plain:close()
h:close()
if not instr then return end

-- ---- full call -------------------------------------------------------------------
-- kos:register_visitor_images(10 images) (validate, encode, the request on the client's keep-alive
-- connection, decode the answer) vs cjson.encode + luasocket socket.http + cjson.decode, both to
-- the same nginx; the row of record for issue 20's "full call, Ir" target (calls.lua keeps the
-- wall-clock row beside it). Only the client's user-space instructions count (not the kernel's).
local kos = bizreg.kos { base_url = base .. "/ikc", token = "bench-token" }
local kpayload = C.kos_payload(10)
local bz_call = C.bizreg_call(kos, kpayload)
local ls_call = C.luasocket_call(base .. "/ils" .. C.KOS_PATH, kpayload)
for _ = 1, 10 do bz_call() ls_call() end
rounds(5,
  function(r) region("call", "bz", r, 100, 100, bz_call) end,
  function(r) region("call", "ls", r, 100, 100, ls_call) end)
kos:close()
