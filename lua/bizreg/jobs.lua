-- Non-blocking calls for hosts with a frame loop. A job runs the same flow as a
-- blocking call inside a coroutine whose ctx.send yields; bizreg.poll() drives
-- every job of this Lua state through one libcurl multi handle.
--
-- Every job finishes: each step runs protected (a raise ends that job, and job:result()
-- re-raises it, as the blocking call would have raised); a request is handed to the multi
-- only outside its poll (a job started from a callback waits for the end of the poll);
-- poll() and job:wait() refuse to run from inside poll (a callback), which fails only the
-- job whose callback tried; a yield that is not the flow's own (tagged OURS) never parks a
-- job: callbacks and stores run under M.protect, anything else ends the job; close() wakes
-- the client's sleeping jobs (M.wake) so that they end at the next poll.
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local errors = require "bizreg.errors"

--- Jobs
-- @module bizreg

--- A non-blocking call, from `client:start`. Jobs run the same flow as blocking calls
-- (tokens, renewal, retries, deadline, events) inside coroutines driven by `bizreg.poll`
-- through one libcurl multi handle per Lua state; many run at once on one thread. Every
-- job finishes: anything that raises inside a job's step ends that job (its `result()`
-- re-raises it) and `poll()` goes on; `client:close()` ends the client's sleeping jobs
-- (`wait_for_approval` intervals, back-offs) at the next `poll()` with `CLIENT_CLOSED`; a
-- callback or `token_store` method must not `coroutine.yield()` (refused, see `options`).
-- @type job
-- @usage local jobs = { kos:start("register_visitor_images", a), kos:start("register_visitor_images", b) }
-- repeat local running = bizreg.poll(0.05) until running == 0
-- for _, job in ipairs(jobs) do print(job.done, job:result()) end

local M = {}

local multi            -- created on first use; one per Lua state (module-level)
local running = {}     -- job -> true, until it finishes
local by_handle = {}   -- easy handle -> job waiting on it
local queued = {}      -- jobs whose request waits to be added to the multi, in order
local unlisted = {}    -- finished job -> sequence number, until a poll lists it or its result is taken
local finished_seq = 0
local polling = false  -- inside poll: a nested poll is refused, new requests are queued
local job_of = setmetatable({}, { __mode = "k" })  -- a job's coroutine -> the job
-- The first value of every yield of the flow (ctx.send, ctx.sleep): any other yield came
-- from code the library called (a callback, a metamethod) and is refused (step).
local OURS = {}
local unpack_ = table.unpack or unpack

local Job = {}
Job.__index = Job

--- True once the job has finished; then `job:result()` answers at once.
-- @field job.done
-- @usage while not job.done do bizreg.poll(0.05) end

--- The job's outcome: exactly what the blocking call returns.
-- @function job:result
-- @return the blocking call's answer (a table), or nil
-- @return err (`bizreg.errors`)
-- @raise while the job is still running, and re-raises what the job raised
-- @usage if job.done then local res, err = job:result() end
function Job:result()
  if not self.done then error("bizreg: job still running; call bizreg.poll() until job.done", 2) end
  unlisted[self] = nil
  if self.raised ~= nil then error(self.raised, 0) end
  return self.res, self.err
end

-- A finished job keeps only its outcome: no coroutine, no client (so it pins nothing).
local function finish(job, res, err, raised)
  job.done, job.res, job.err, job.raised = true, res, err, raised
  job.co, job.client, job.wake = nil, nil, nil
  running[job] = nil
  finished_seq = finished_seq + 1
  unlisted[job] = finished_seq
end

-- A yield that is not the flow's: the job cannot go on (its coroutine is parked inside
-- whatever yielded), so it ends. Callbacks and stores run under M.protect and never get
-- here; this is what is left (e.g. a payload's metamethod). Whether its request went out
-- is not known here: sent = true, as for any outcome that is not known.
local function foreign_yield()
  return errors.new { kind = "transport", code = "CALLBACK_ERROR", sent = true, message =
    "the job's coroutine yielded to something that is not bizreg.poll (coroutine.yield in code the call ran)" }
end

-- Resumes the job's coroutine once; it ends, or yields "send" (queued) or "sleep".
local function step(job, ...)
  local ok, tag, what, arg = coroutine.resume(job.co, ...)
  if not ok then return finish(job, nil, nil, tag) end
  if coroutine.status(job.co) == "dead" then return finish(job, tag, what) end
  if tag ~= OURS then return finish(job, nil, foreign_yield()) end
  if what == "send" then
    job.req = arg
    queued[#queued + 1] = job
  else
    job.wake = core.now() + arg
  end
end

local function unsent(code, message) return { code = code, message = message, sent = false } end

-- Hands one queued request to the multi; a request refused before sending answers the job now.
local function send(job)
  local req, client = job.req, job.client
  job.req = nil
  if client.closed then return step(job, nil, unsent("CLIENT_CLOSED", "the client was closed during the call")) end
  local ok, h = pcall(client.acquire, client)
  if not ok then return step(job, nil, unsent("TRANSPORT_ERROR", tostring(h))) end
  multi = multi or core.multi()
  local added, a, b = pcall(multi.add, multi, h, req)
  if not added or not a then client:release(h) end
  if not added then return finish(job, nil, nil, a) end
  if not a then return step(job, nil, b) end  -- BAD_HEADER, OUT_OF_MEMORY
  job.handle = h
  by_handle[h] = job
end

local function flush()
  while #queued > 0 do send(table.remove(queued, 1)) end
end

local function drive(max_wait)
  local now, due = core.now(), {}
  for job in pairs(running) do
    if job.wake and job.wake <= now then due[#due + 1] = job end
  end
  for _, job in ipairs(due) do
    job.wake = nil
    step(job)
  end
  flush()
  local wait = max_wait
  now = core.now()
  for job in pairs(running) do
    if job.wake then wait = math.min(wait, math.max(job.wake - now, 0)) end
  end
  if multi and multi:count() > 0 then
    for _, f in ipairs(multi:poll(wait)) do
      local job = by_handle[f.handle]
      by_handle[f.handle] = nil
      if job then
        job.handle = nil
        job.client:release(f.handle)
        step(job, f.res, f.err)
      end
    end
    flush()
  elseif wait > 0 and next(running) then
    core.sleep(wait)
  end
end

-- Runs drive with the re-entrancy guard; raises (level 3) when called from inside a poll.
local function guarded(max_wait)
  if polling then
    error("bizreg: poll() and job:wait() cannot run inside bizreg.poll (from a job's callback)", 3)
  end
  polling = true
  local ok, e = pcall(drive, max_wait)
  polling = false
  if not ok then error(e, 0) end
end

--- Blocks (driving every job, as `bizreg.poll` does) until this job is done or `timeout`
-- seconds passed.
-- @function job:wait
-- @tparam[opt] number timeout seconds (none: until done)
-- @return res, err as `result()`; or nil, `"timeout"` when the time ran out (the job goes on)
-- @raise from inside a poll (a job's callback), and as `result()`
-- @usage local res, err = rcs:start("register_brand", payload):wait(30)
function Job:wait(timeout)
  local deadline = timeout and core.now() + timeout
  while not self.done do
    local left = deadline and deadline - core.now() or 0.05
    if deadline and left <= 0 then return nil, "timeout" end
    guarded(math.min(left, 0.05))
  end
  return self:result()
end

function M.start(client, op, ...)
  local job = setmetatable({ done = false, client = client }, Job)
  local ctx = {
    send = function(req) return coroutine.yield(OURS, "send", req) end,
    sleep = function(s) coroutine.yield(OURS, "sleep", s) end,
  }
  local args, n = { ... }, select("#", ...)
  job.co = coroutine.create(function() return op(client, ctx, unpack_(args, 1, n)) end)
  job_of[job.co] = job
  running[job] = true
  step(job)  -- validation errors finish the job right away
  if not polling then flush() end
  return job
end

-- Drives all jobs, waiting at most max_wait seconds (0: never blocks).
-- Returns the number of jobs still running, and the jobs that finished since the last poll
-- (in the order they finished) whose result was not already taken.
function M.poll(max_wait)
  if max_wait == nil then max_wait = 0 end
  if type(max_wait) ~= "number" or not (max_wait >= 0 and max_wait <= 86400) then
    error("bizreg: poll(max_wait): max_wait must be a number of seconds between 0 and 86400", 2)
  end
  guarded(max_wait)
  local finished = {}
  for job in pairs(unlisted) do finished[#finished + 1] = job end
  table.sort(finished, function(a, b) return unlisted[a] < unlisted[b] end)
  unlisted = {}
  local n = 0
  for _ in pairs(running) do n = n + 1 end
  return n, finished
end

-- client:close(): the client's sleeping jobs (waits, back-offs) are due at once; the next
-- poll steps them and their flow, seeing the client closed, ends CLIENT_CLOSED.
function M.wake(client)
  for job in pairs(running) do
    if job.client == client and job.wake then job.wake = -math.huge end
  end
end

-- pcall(f, ...) for code the library calls back (on_event, a token_store's methods): inside
-- a job, f runs in a coroutine of its own, so that a coroutine.yield in it cannot park the
-- job where bizreg.poll can never resume it; such a yield is refused: false, message.
-- Outside a job it is plain pcall (a blocking call in nginx may yield through ngx.sleep).
M.YIELDED = "yielded inside a bizreg job (coroutine.yield is not allowed in a callback or token_store method)"
local function pack(...) return { n = select("#", ...), ... } end
function M.protect(f, ...)
  local co = coroutine.running()
  if not (co and job_of[co]) then return pcall(f, ...) end
  local inner = coroutine.create(function(...) return f(...) end)
  local r = pack(coroutine.resume(inner, ...))
  if r[1] and coroutine.status(inner) ~= "dead" then return false, M.YIELDED end
  return unpack_(r, 1, r.n)
end

-- Tests: closes the multi (and with it libcurl's connection cache) when no job runs.
function M._close_multi()
  if next(running) or #queued > 0 then return false end
  if multi then multi:close() end
  multi = nil
  return true
end

return M
