-- kill -9 / --resume loops of `bizreg register images` against the sandbox (issue 16's
-- figure): each loop registers 40 images in 20 batches; every run, the first and each
-- --resume, is killed with SIGKILL once the server has counted a random number of further
-- bodies (or runs to its end); after each kill, batches held back as unknown outcome are
-- decided the way an operator would (look at what the server received: --skip or --resend).
-- At the end of each loop the sandbox must hold every image exactly once.
--   lua5.4 spec/checks/kill_resume.lua [LOOPS] [SEED]      (from the checkout, after make)
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
local lua = rawget(_G, "jit") and "luajit" or (_VERSION:gsub("^Lua ", "lua"))
package.cpath = "./build/" .. lua .. "/?.so;" .. package.cpath
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"
local socket = require "socket"

local LOOPS = tonumber(arg[1]) or 25
local SEED = tonumber(arg[2]) or os.time()
local EP = "kos.register_visitor_images"
local IMAGES, BATCH = 40, 2
math.randomseed(SEED)
cli.setup()
local sb = sandbox.start {}
local env = { BIZREG_KOS_BASE_URL = sb.url, BIZREG_KOS_API_KEY = "11111111-2222-4333-8444-555555555555" }
local json = sandbox.json

local function bodies_with(name)
  local n = 0
  for i = 1, sb:stats().requests do
    local ok, body = pcall(sb.body, sb, i)
    if ok and body:find(name, 1, true) then n = n + 1 end
  end
  return n
end

local totals = { kills = 0, runs = 0, skips = 0, resends = 0, dup = 0, lost = 0 }
local t0 = socket.gettime()
for loop = 1, LOOPS do
  sb:reset()
  local lines = {}
  for i = 1, IMAGES do
    lines[i] = json.encode { fileName = string.format("kill/%d-%03d.jpg", loop, i), visitorId = "65a1b2c3d4e5f6a7b8c9d0e1",
      source = "HOSPITAL" }
  end
  local f = cli.write(cli.dir .. "/kill" .. loop .. ".jsonl", table.concat(lines, "\n") .. "\n")
  local jpath = f .. ".journal"
  local done = false
  for attempt = 1, 40 do
    local argv = { "register", "images", f, "--batch", tostring(BATCH) }
    -- (a journal without a complete header line: its run was killed before its first request)
    if attempt > 1 and (cli.read(jpath) or ""):find("\n") then argv = { "register", "images", f, "--resume", jpath } end
    -- the operator's decisions on held-back batches, from what the server received
    local pre = cli.run(argv[4] == "--resume" and { "register", "images", f, "--resume", jpath, "--dry-run" } or { "--version" }, env)
    local skip, resend = {}, {}
    for n in pre.out:gmatch("# batch (%d+)/%d+  images %d+%-%d+: unknown outcome earlier") do
      n = tonumber(n)
      local first = (n - 1) * BATCH + 1
      if bodies_with(string.format("kill/%d-%03d.jpg", loop, first)) > 0 then skip[#skip + 1] = n else resend[#resend + 1] = n end
    end
    if #skip > 0 then argv[#argv + 1] = "--skip"; argv[#argv + 1] = table.concat(skip, ",") end
    if #resend > 0 then argv[#argv + 1] = "--resend"; argv[#argv + 1] = table.concat(resend, ",") end
    totals.skips, totals.resends = totals.skips + #skip, totals.resends + #resend
    local before = sb:stats().received[EP]
    local target = before + math.random(0, 6)
    local pid, out, err = cli.spawn(argv, env)
    totals.runs = totals.runs + 1
    local rc
    while true do
      rc = cli.exit_code(pid)
      if rc then break end
      if sb:stats().received[EP] >= target then
        cli.kill(pid, "KILL")
        totals.kills = totals.kills + 1
        while not cli.exit_code(pid) do socket.sleep(0.005) end
        rc = 137
        break
      end
      socket.sleep(0.002)
    end
    if rc == 0 then done = true break end
    assert(rc == 137 or rc == 4, "loop " .. loop .. ": exit " .. tostring(rc) .. " of " .. table.concat(argv, " ")
      .. "\n" .. (cli.read(out) or "") .. (cli.read(err) or "") .. (cli.read(jpath) or ""))
  end
  assert(done, "loop " .. loop .. " never finished")
  local st = sb:stats()
  local per = {}
  for i = 1, IMAGES do per[i] = bodies_with(string.format("kill/%d-%03d.jpg", loop, i)) end
  for i = 1, IMAGES do
    if per[i] == 0 then totals.lost = totals.lost + 1 end
    if per[i] > 1 then totals.dup = totals.dup + per[i] - 1 end
  end
  assert(st.registered.images >= IMAGES - totals.lost)
end
sb:stop()
print(string.format("kill -9/--resume: %d loops (seed %d), %d runs, %d killed with SIGKILL, %d batches decided --skip, "
  .. "%d --resend; %d images sent twice, %d lost; %.0f s", LOOPS, SEED, totals.runs, totals.kills, totals.skips,
  totals.resends, totals.dup, totals.lost, socket.gettime() - t0))
os.exit((totals.dup == 0 and totals.lost == 0) and 0 or 1)
