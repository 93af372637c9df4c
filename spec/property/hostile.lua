-- Hostile-payload property test (issue 7, "the standing proof").
--
--   lua5.4 spec/property/hostile.lua [--seed S] [--count N] [--bound SECONDS] [--cpath PATTERN]
--   lua5.4 spec/property/hostile.lua --seed S --only I      (replay one payload, verbose)
--   ASan+UBSan: the core as `make asan` builds it (build/asan/bizreg/core.so, and
--   build/nodlclose.so), then
--     env LD_PRELOAD="$(gcc -print-file-name=libasan.so) $PWD/build/nodlclose.so" \
--       lua5.4 spec/property/hostile.lua --cpath './build/asan/?.so'
--   (or BIZREG_CPATH=...). Run from the repository root. The sandbox gets a free port.
--
-- Property: every generated payload (both APIs; valid ones mutated with wrong types, cycles,
-- deep nesting, metatables, invalid UTF-8, NaN/inf/-0, integer edges, NUL bytes, huge values,
-- file oddities, files changed after validation) gives either a validation error or a request
-- the sandbox accepts; nothing crashes or hangs; nothing is sent for an invalid payload (the
-- sandbox's request count equals the number of payloads bizreg sent). Payloads run in worker
-- processes watched by this one: a crash or a payload using more than --bound seconds of CPU
-- (or 8 x --bound seconds of wall-clock time: a loaded machine slows every payload, a wait
-- that never ends uses no CPU) is recorded with its index and the worker restarts after it.
-- Exit 1 on any violation.
local function arg_value(name)
  for i = 1, #arg do if arg[i] == name then return arg[i + 1] end end
end
local function has(name)
  for i = 1, #arg do if arg[i] == name then return true end end
end

local cpath = arg_value("--cpath") or os.getenv("BIZREG_CPATH") or "./build/lua5.4/?.so"
package.cpath = cpath .. ";" .. package.cpath
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path

local function die(msg) io.stderr:write("hostile: ", msg, "\n"); os.exit(2) end
local function num_arg(name, dflt)
  local v = arg_value(name)
  if v == nil then return dflt end
  return math.tointeger(tonumber(v)) or die(name .. " needs an integer")
end

local function random_seed()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(4) or tostring(os.time())
  if f then f:close() end
  return (string.unpack("<I4", b .. "\0\0\0\0")) % 2147483647
end

local seed = num_arg("--seed", nil) or random_seed()
local count = num_arg("--count", 10000)
-- --regress [FILE]: only the payloads FILE names ("seed index" lines), e.g. the findings'
local pairs_file = has("--regress") and ((arg_value("--regress") or ""):match("^[^-]") and arg_value("--regress")
  or "spec/property/regressions.txt")
if pairs_file and not has("--worker") then
  count = 0
  for line in assert(io.open(pairs_file)):lines() do if line:match("^%s*%d+%s+%d+") then count = count + 1 end end
end
local bound = num_arg("--bound", 8)

-- Worker mode (started by the parent below).
if has("--worker") then
  local W = require "spec.property.worker"
  local skip = {}
  for set in (arg_value("--skip") or ""):gmatch("[^;]+") do
    local s = {}
    for t in set:gmatch("[^,]+") do s[#s + 1] = t end
    skip[#skip + 1] = s
  end
  W.run { seed = seed, from = num_arg("--from", 1), to = num_arg("--to", count), url = arg_value("--url"),
    rcs_url = arg_value("--rcs-url"), dir = arg_value("--dir"), bound = bound, skip = skip, pairs = arg_value("--pairs"),
    progress = arg_value("--progress"), results = arg_value("--results") }
  os.exit(0)
end

local sandbox = require "spec.helpers.sandbox"
local socket = require "socket"
local R = require "spec.property.report"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function sh(cmd) return os.execute("env -u LD_PRELOAD " .. cmd) end
local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function alive(url)  -- 8 looks of 2 s: a busy sandbox answers late (as in worker.lua)
  local http = require "socket.http"
  http.TIMEOUT = 2
  for _ = 1, 8 do
    local _, code = http.request(url .. "/_sandbox/stats")
    if code == 200 then return true end
  end
  return false
end

-- CPU seconds process pid has used (utime + stime, /proc/PID/stat), or nil once it is gone.
local TICKS = 100
do
  local p = io.popen("getconf CLK_TCK 2>/dev/null")
  TICKS = p and tonumber(p:read("a")) or TICKS
  if p then p:close() end
end
local function cpu_seconds(pid)
  local fields = pid and slurp("/proc/" .. pid .. "/stat"):match("%) (.*)$")  -- after "(comm)", which may hold spaces
  if not fields then return nil end
  local f = {}
  for v in fields:gmatch("%S+") do f[#f + 1] = v end
  return (tonumber(f[12]) + tonumber(f[13])) / TICKS  -- fields 14 and 15; f[1] is field 3
end

local run_dir = string.format("build/property/run-%d-%d", seed, math.floor(socket.gettime() * 1000) % 1000000)
sh("mkdir -p " .. q(run_dir .. "/files"))
if pairs_file then
  print(string.format("hostile: the %d payloads of %s, bound %d s, core from %s", count, pairs_file, bound, cpath))
else
  print(string.format("hostile: seed %d, %d payloads, bound %d s, core from %s", seed, count, bound, cpath))
  print("hostile: replay one payload with: lua5.4 spec/property/hostile.lua --seed " .. seed .. " --only <index>")
end
io.stdout:flush()

local sb = sandbox.start {}
local ok, err = pcall(function()
  if arg_value("--only") then
    R.replay(seed, num_arg("--only"), sb, run_dir, bound, cpath)
    return
  end
  local progress, results = run_dir .. "/progress", run_dir .. "/results"
  local from, skip, crashes, wedges, since, started = 1, {}, {}, {}, 1, socket.gettime()
  while from <= count do
    local pidf, rcf, errf = run_dir .. "/worker.pid", run_dir .. "/worker.rc", run_dir .. "/worker-" .. from .. ".err"
    os.remove(rcf)
    os.remove(progress)
    local cmd = table.concat({ "lua5.4", q(arg[0]), "--worker", "--seed", seed, "--from", from, "--to", count,
      "--bound", bound, "--url", q(sb.url), "--rcs-url", q(sb.rcs_url), "--dir", q(run_dir .. "/files"),
      "--progress", q(progress), "--results", q(results), "--cpath", q(cpath),
      "--skip", q(table.concat(skip, ";") .. ";"), pairs_file and ("--pairs " .. q(pairs_file)) or "" }, " ")
    -- the worker keeps LD_PRELOAD (ASan runs); the shell's own helpers do not need it
    os.execute(string.format("(sh -c 'echo $$ > %s; exec %s' </dev/null >/dev/null 2>%s; echo $? > %s) &",
      q(pidf), cmd:gsub("'", "'\\''"), q(errf), q(rcf)))
    local last, last_tags, seen_at, hung, pf, pending = nil, nil, socket.gettime(), false, nil, ""
    local pid, cpu_at  -- the worker's pid (once its shell wrote it) and its CPU time when the payload began
    while true do
      socket.sleep(0.1)
      pf = pf or io.open(progress, "rb")
      pending = pending .. (pf and pf:read("a") or "")  -- only what was appended since last time
      for line in pending:gmatch("([^\n]*)\n") do
        local i, tags = line:match("^S (%d+) (%S+)$")
        if i then
          pid = pid or slurp(pidf):match("%d+")
          last, last_tags, seen_at, cpu_at = tonumber(i), tags, socket.gettime(), cpu_seconds(pid)
          if last % 2000 == 0 and tags ~= "build" then print(string.format("  ... %d/%d", last, count)); io.stdout:flush() end
        end
        if line == "DONE" then last = nil end
      end
      pending = pending:match("[^\n]*$")
      if slurp(rcf):match("%d") then break end
      -- a payload over its bound: CPU (a loop), or 8 x the bound of wall-clock time (a wait that
      -- never ends); or a worker that never reached its first payload
      local cpu = last and cpu_at and cpu_seconds(pid)
      if (cpu and cpu - cpu_at > bound) or socket.gettime() - seen_at > (last and 8 * bound or 60) then
        hung = true
        sh("kill -9 $(cat " .. q(pidf) .. ") 2>/dev/null")
      end
    end
    if pf then pf:close() end
    local rc = tonumber(slurp(rcf):match("%d+"))
    local done = slurp(progress):find("DONE\n", 1, true)
    if done and rc == 0 then break end
    if rc == 3 then  -- the sandbox stopped answering after payload `wedged`: a finding; go on with a new one
      local wedged = tonumber(slurp(results):match(".*\nW\t(%d+)\n"))
      wedges[#wedges + 1] = { index = wedged }
      sb:stop()
      sb = sandbox.start {}
      since, from = wedged + 1, wedged + 1
      goto continue
    end
    crashes[#crashes + 1] = { index = last, tags = last_tags, rc = rc, hung = hung, done = done,
      stderr = slurp(errf) }
    if last and not alive(sb.url) then  -- killed mid-upload: the sandbox may be wedged too
      wedges[#wedges + 1] = { index = last, tags = last_tags }
      sb:stop()
      sb = sandbox.start {}
      since = last + 1
    end
    -- failed at exit (a leak report: last is nil once DONE was read) or before any payload
    if done or not last then break end
    -- quarantine (full runs only: every listed regression is judged on its own)
    if hung and not pairs_file and last_tags ~= "-" and last_tags ~= "build" then skip[#skip + 1] = last_tags end
    from = last + 1
    ::continue::
  end
  local stats = sb:stats()
  local labels = {}  -- position -> "seed:index"
  if pairs_file then
    for line in io.lines(pairs_file) do
      local a, b = line:match("^%s*(%d+)%s+(%d+)")
      if a then labels[#labels + 1] = a .. ":" .. b end
    end
  end
  local rc = R.summary { seed = seed, count = count, results = slurp(results), crashes = crashes, stats = stats,
    wedges = wedges, since = since, pairs = pairs_file,
    label = function(pos) return labels[pos] or (seed .. ":" .. tostring(pos)) end,
    seconds = socket.gettime() - started, run_dir = run_dir }
  sb:stop()
  os.exit(rc)
end)
sb:stop()
if not ok then die(tostring(err)) end
