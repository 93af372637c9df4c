-- Jobs always finish and poll() stays consistent, whatever callbacks do (issue 7, items 5 and 7).
local bizreg = require "bizreg"
local core = require "bizreg.core"
local sandbox = require "spec.helpers.sandbox"

local IMAGES = { images = { { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }
local TOKEN = "sandbox-kos-token"

-- Polls until nothing runs (bounded); returns every job poll listed as finished, in order.
local function drain(limit)
  local listed, t0 = {}, core.now()
  while true do
    local n, finished = bizreg.poll(0.02)
    for _, j in ipairs(finished) do listed[#listed + 1] = j end
    if n == 0 then return listed end
    assert(core.now() - t0 < (limit or 10), "poll() never returned 0")
  end
end

local function count(list, job)
  local n = 0
  for _, j in ipairs(list) do if j == job then n = n + 1 end end
  return n
end

describe("jobs under stress", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  it("client:start() from a job's on_progress: both jobs run and finish", function()
    local inner
    local kos
    kos = bizreg.kos { base_url = sb.url, token = TOKEN, on_progress = function()
      if not inner then inner = kos:start("register_visitor_images", IMAGES) end
    end }
    local outer = kos:start("register_visitor_images", IMAGES)
    local listed = drain()
    assert.is_table(inner)
    for _, job in ipairs { outer, inner } do
      assert.is_true(job.done)
      local res, err = job:result()
      assert.is_nil(err and tostring(err))
      assert.same({}, res)
      assert.equal(1, count(listed, job))
    end
    assert.equal(2, sb:stats().registered.images)
    kos:close()
  end)

  it("bizreg.poll() or job:wait() from on_progress is refused: only that job fails", function()
    for _, reenter in ipairs { function() bizreg.poll(0) end, function(j) j:wait(1) end } do
      sb:reset()
      local other_client = bizreg.kos { base_url = sb.url, token = TOKEN }
      local other = other_client:start("register_visitor_images", IMAGES)
      local bad
      local kos = bizreg.kos { base_url = sb.url, token = TOKEN, on_progress = function() reenter(other) end }
      bad = kos:start("register_visitor_images", IMAGES)
      local listed = drain()
      local res, err = bad:result()
      assert.is_nil(res)
      assert.equal("CALLBACK_ERROR", err.code)
      assert.matches("poll", err.message)
      assert.same({}, (other:result()))
      assert.equal(1, count(listed, bad))
      assert.equal(1, count(listed, other))
      assert.equal(0, bizreg.poll(0))
      kos:close()
      other_client:close()
    end
  end)

  it("a job whose step raises finishes; result() re-raises; poll lists it and returns 0", function()
    local jobs = require "bizreg.jobs"
    local kos = bizreg.kos { base_url = sb.url, token = TOKEN }
    local first = jobs.start(kos, function() error("boom in the first step") end)
    local later = jobs.start(kos, function(_, ctx) ctx.sleep(0) error("boom after a sleep") end)
    assert.is_true(first.done)
    assert.is_false(later.done)
    local listed = drain()
    assert.equal(1, count(listed, first))
    assert.equal(1, count(listed, later))
    assert.has_error(function() first:result() end, "boom in the first step")
    assert.has_error(function() later:result() end)
    assert.equal(0, bizreg.poll(0))
    kos:close()
  end)

  it("a payload whose metamethod raises while encoding still finishes its job", function()
    local kos = bizreg.kos { base_url = sb.url, token = TOKEN }
    local evil = setmetatable({}, { __index = function(_, k) error("payload exploded at " .. tostring(k)) end })
    local job = kos:start("register_visitor_images", { images = { evil } })
    local listed = drain()
    assert.is_true(job.done)
    assert.equal(1, count(listed, job))
    local ok, res, err = pcall(job.result, job)  -- a raise, or a validation error (raw reads)
    assert.is_true(not ok or (res == nil and err.kind == "validation"))
    assert.equal(0, sb:stats().requests)
    kos:close()
  end)

  it("jobs that fail validation at start() show up in the next poll's finished list, once", function()
    local kos = bizreg.kos { base_url = sb.url, token = TOKEN }
    local bad = kos:start("register_visitor_images", { images = {} })
    assert.is_true(bad.done)
    local n, finished = bizreg.poll(0)
    assert.equal(0, n)
    assert.equal(1, count(finished, bad))
    local _, again = bizreg.poll(0)
    assert.equal(0, count(again, bad))
    kos:close()
  end)

  it("a job whose result was taken is not listed again by poll", function()
    local kos = bizreg.kos { base_url = sb.url, token = TOKEN }
    local bad = kos:start("register_visitor_images", { images = {} })
    local _, err = bad:result()
    assert.equal("validation", err.kind)
    local _, finished = bizreg.poll(0)
    assert.equal(0, count(finished, bad))
    kos:close()
  end)

  it("close() during a job's 429 back-off: nothing more is sent, the job ends CLIENT_CLOSED", function()
    sb:config { fail_next = { status = 429, count = 5 } }
    local kos = bizreg.kos { base_url = sb.url, token = TOKEN, retries = 5 }
    local job = kos:start("register_visitor_images", IMAGES)
    local t0 = core.now()
    while not job.wake do  -- white box: the job is sleeping between attempts
      bizreg.poll(0.01)
      assert(core.now() - t0 < 5 and not job.done, "no back-off seen")
    end
    kos:close()
    drain()
    local res, err = job:result()
    assert.is_nil(res)
    assert.equal("transport", err.kind)
    assert.equal("CLIENT_CLOSED", err.code)
    assert.is_false(err.retryable)
    assert.equal(1, sb:stats().requests)
  end)

  it("blocking: close() from on_progress ends the call without a second send", function()
    sb:config { fail_next = { status = 429, count = 5 } }
    local kos
    kos = bizreg.kos { base_url = sb.url, token = TOKEN, retries = 5, on_progress = function() kos:close() end }
    local _, err = kos:register_visitor_images(IMAGES)
    assert.equal("CLIENT_CLOSED", err.code)
    assert.equal(1, sb:stats().requests)
  end)

  it("refuses a bad max_wait for poll", function()
    for _, v in ipairs { -1, 0 / 0, math.huge, "1" } do
      assert.has_error(function() bizreg.poll(v) end)
    end
  end)

  it("does not keep collected clients (or their handles) alive", function()
    local clients = setmetatable({}, { __mode = "k" })
    local function fds()
      local pid = io.open("/proc/self/stat"):read("*l"):match("^(%d+)")
      local p = io.popen("ls /proc/" .. pid .. "/fd | wc -l")
      local n = tonumber(p:read("*l"))
      p:close()
      return n
    end
    collectgarbage()
    local before = fds()
    do  -- 300 clients, their jobs running at once, then dropped
      local jobs = {}
      for i = 1, 300 do
        local c = bizreg.kos { base_url = sb.url, token = TOKEN }
        clients[c] = true
        jobs[i] = c:start("register_visitor_images", IMAGES)
      end
      drain(30)
      for i = 1, 300 do assert(jobs[i]:result()) end
    end
    for _ = 1, 3 do collectgarbage() end
    assert.is_nil(next(clients), "a collected client is still referenced")
    local after = fds()
    -- What is left open belongs to libcurl's multi connection cache (its bound is
    -- CURLMOPT_MAXCONNECTS, set in src/multi.c): closing the multi gives every fd back.
    assert.is_true(require("bizreg.jobs")._close_multi())
    local closed = fds()
    print(string.format("\n# fds: %d before, %d after 300 collected clients, %d once the multi is closed",
      before, after, closed))
    assert.is_true(closed - before <= 2, (closed - before) .. " fds left open")
  end)
end)
