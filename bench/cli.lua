-- The CLI rows (issue 20): `bizreg register images` of 10,000 images, --batch 100, against
-- the bench nginx, vs a minimal Lua loop of kos:register_visitor_images with the same batches.
-- Each side runs as its own process (startup, reading and parsing the file included on both),
-- measured as that process's CPU (user + system, /usr/bin/time, the mean of 3 runs); rounds
-- interleaved. Then one
-- more CLI run under `strace -c -f -e trace=fsync,fdatasync`: fsyncs per batch.
--   usage: cli.lua <nginx base url> <results file> <scratch dir> [rounds]
-- Also the loop itself: cli.lua --loop <url> <file> <batch>
local C = require "common"

if arg[1] == "--loop" then  -- the baseline: what a user writes without the CLI
  local bizreg = require "bizreg"
  local cjson = require "cjson"
  local url, file, size = arg[2], arg[3], tonumber(arg[4])
  local items = {}
  for line in io.lines(file) do items[#items + 1] = cjson.decode(line) end
  local kos = bizreg.kos { base_url = url, token = "bench-token" }
  for first = 1, #items, size do
    local batch = {}
    for i = first, math.min(first + size - 1, #items) do batch[#batch + 1] = items[i] end
    assert(kos:register_visitor_images { images = batch })
  end
  kos:close()
  return
end

local base, out, scratch = arg[1], arg[2], arg[3]
local ROUNDS = tonumber(arg[4] or "") or 5
local N, BATCH = 10000, 100
local put = C.results(out)
local cjson = require "cjson"

local file = scratch .. "/cli-images.jsonl"
do
  local f = assert(io.open(file, "wb"))
  for _, img in ipairs(C.kos_payload(N).images) do f:write(cjson.encode(img), "\n") end
  f:close()
end

local function sh(cmd)
  local ok = os.execute(cmd)
  if ok ~= true and ok ~= 0 then error("bench/cli.lua: failed: " .. cmd) end
end
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local journal = scratch .. "/cli-images.journal"
local env = "BIZREG_KOS_BASE_URL=" .. q(base .. "/fcl") .. " BIZREG_KOS_TOKEN=bench-token "
local cli_cmd = env .. "lua5.4 bin/bizreg register images " .. q(file) .. " --batch " .. BATCH
  .. " --journal " .. q(journal) .. " >/dev/null 2>&1"
local loop_cmd = "lua5.4 bench/cli.lua --loop " .. q(base .. "/flp") .. " " .. q(file) .. " " .. BATCH

-- CPU seconds (user + system) of one run of cmd: the mean of RUNS runs timed together
-- (time(1) has 10 ms steps; each side starts from no journal).
local RUNS = 3
local function cpu(cmd)
  local tf = scratch .. "/cli-time.txt"
  local one = "rm -f " .. q(journal) .. "; " .. cmd .. " || exit 1; "
  sh("/usr/bin/time -f '%U %S' -o " .. q(tf) .. " sh -c " .. q(one:rep(RUNS)))
  local f = assert(io.open(tf))
  local u, s = f:read("*a"):match("([%d.]+) ([%d.]+)")
  f:close()
  return (tonumber(u) + tonumber(s)) / RUNS
end

local sides = {
  cli = function() return cpu(cli_cmd) end,
  loop = function() return cpu(loop_cmd) end,
}
cpu(cli_cmd) cpu(loop_cmd)  -- warm the page cache and nginx
for r = 1, ROUNDS do
  for _, side in ipairs(r % 2 == 1 and { "cli", "loop" } or { "loop", "cli" }) do
    put { label = string.format("c:cli:%s:%d", side, r), mode = "cpu", row = "cli", side = side, round = r,
          n = 1, ops = 1, secs = sides[side]() }
  end
end

-- fsyncs per batch: strace counts the calls of the whole run (all threads).
os.remove(journal)
local st = scratch .. "/cli-strace.txt"
sh("strace -c -f -e trace=fsync,fdatasync -o " .. q(st) .. " sh -c " .. q(cli_cmd))
local calls = 0
for line in io.lines(st) do
  -- "% time     seconds  usecs/call     calls    errors syscall"
  local n, name = line:match("^%s*[%d.]+%s+[%d.]+%s+%d+%s+(%d+)%s+%d*%s*(%a+)%s*$")
  if n and (name == "fsync" or name == "fdatasync") then calls = calls + tonumber(n) end
end
put { row = "clifsync", fsyncs = calls, batches = N / BATCH }
os.remove(journal)
