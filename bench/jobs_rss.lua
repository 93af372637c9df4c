-- RSS per concurrent job: `jobs` register_visitor_images calls (10 images each) started at once
-- with client:start against a server answering after 100 ms, all in flight together; the
-- figure is the peak RSS growth (VmHWM after the batch minus VmRSS before, the peak mark reset
-- through /proc/self/clear_refs) divided by the number of jobs. A warm-up batch of 20 jobs
-- first, so libcurl's and Lua's one-time costs (code paths, the multi handle) are not counted
-- per job; each job is its own client (one connection each, as concurrent jobs need).
-- usage: jobs_rss.lua <nginx base url> [jobs]  -> prints KiB per job
local bizreg = require "bizreg"
local C = require "common"

local base, njobs = arg[1], tonumber(arg[2] or "1000")
local payload = C.kos_payload(10)
local kos = bizreg.kos { base_url = base .. "/pjr", token = "bench-token", timeout = 60 }

local function batch(n)
  local jobs = {}
  for i = 1, n do jobs[i] = kos:start("register_visitor_images", payload) end
  for _, job in ipairs(jobs) do
    local res, err = job:wait(120)
    if not res then error(tostring(err)) end
  end
end

batch(20)
collectgarbage("collect")
local reset = io.open("/proc/self/clear_refs", "w")
local before
if reset and reset:write("5") and reset:close() then before = C.status_kib("VmRSS") else before = C.status_kib("VmHWM") end
batch(njobs)
print(string.format("%.1f", (C.status_kib("VmHWM") - before) / njobs))
