-- Non-blocking calls for hosts with a frame loop. A job runs the same flow as a
-- blocking call inside a coroutine whose ctx.send yields; bizreg.poll() drives
-- every job of this Lua state through one libcurl multi handle.
local core = require "bizreg.core"

local M = {}

local multi            -- created on first use; one per Lua state (module-level)
local running = {}     -- job -> true
local by_handle = {}   -- easy handle -> job waiting on it

local Job = {}
Job.__index = Job

function Job:result()
  if not self.done then error("bizreg: job still running; call bizreg.poll() until job.done", 2) end
  if self.raised then error(self.raised, 0) end
  return self.res, self.err
end

-- Blocks (polling) until the job is done or `timeout` seconds passed.
function Job:wait(timeout)
  local deadline = timeout and core.now() + timeout
  while not self.done do
    local left = deadline and deadline - core.now() or 0.05
    if deadline and left <= 0 then return nil, "timeout" end
    M.poll(math.min(left, 0.05))
  end
  return self:result()
end

local function step(job, ...)
  local ok, a, b = coroutine.resume(job.co, ...)
  if not ok then
    job.done, job.raised, running[job] = true, a, nil
  elseif coroutine.status(job.co) == "dead" then
    job.done, job.res, job.err, running[job] = true, a, b, nil
  elseif a == "send" then
    local h = job.client:acquire()
    multi = multi or core.multi()
    local added, err = multi:add(h, b)
    if not added then  -- refused before sending (BAD_HEADER, OUT_OF_MEMORY): answer the job now
      job.client:release(h)
      return step(job, nil, err)
    end
    job.handle = h
    by_handle[h] = job
  else  -- "sleep"
    job.wake = core.now() + b
  end
end

function M.start(client, op, ...)
  local job = setmetatable({ done = false, client = client }, Job)
  local ctx = {
    send = function(req) return coroutine.yield("send", req) end,
    sleep = function(s) coroutine.yield("sleep", s) end,
  }
  local args, n = { ... }, select("#", ...)
  local unpack_ = table.unpack or unpack
  job.co = coroutine.create(function() return op(client, ctx, unpack_(args, 1, n)) end)
  running[job] = true
  step(job)  -- validation errors finish the job right away
  return job
end

-- Drives all jobs, waiting at most max_wait seconds (0: never blocks).
-- Returns the number of jobs still running, and the list of jobs that finished during this call.
function M.poll(max_wait)
  max_wait = max_wait or 0
  local now = core.now()
  local wait = max_wait
  local finished = {}
  local function resume(job, ...)
    step(job, ...)
    if job.done then finished[#finished + 1] = job end
  end
  for job in pairs(running) do
    if job.wake then
      if job.wake <= now then
        job.wake = nil
        resume(job)
      else
        wait = math.min(wait, job.wake - now)
      end
    end
  end
  if multi and multi:count() > 0 then
    for _, f in ipairs(multi:poll(math.max(wait, 0))) do
      local job = by_handle[f.handle]
      by_handle[f.handle] = nil
      job.handle = nil
      job.client:release(f.handle)
      resume(job, f.res, f.err)
    end
  elseif wait > 0 and next(running) then
    core.sleep(wait)
  end
  local n = 0
  for _ in pairs(running) do n = n + 1 end
  return n, finished
end

return M
