-- Non-blocking jobs: client:start() + bizreg.poll(), for hosts with a frame loop.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"

local IMAGES = { images = { { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }

describe("jobs", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  it("runs several jobs at once on one thread, polling without blocking", function()
    sb:config { delay_ms = 1000 }
    local kos = bizreg.kos { base_url = sb.url, token = "sandbox-kos-token" }
    local rcs = bizreg.rcs { base_url = sb.rcs_url, client_id = "sandbox", client_secret = "SK.sandboxsecret1" }
    local jobs = {}
    for i = 1, 5 do jobs[i] = kos:start("register_visitor_images", IMAGES) end
    jobs[6] = rcs:start("register_brand", fx.brand())
    local t0 = core.now()
    local polls, most = 0, 0
    while bizreg.poll(0) > 0 do
      local dt = core.now() - t0
      assert.is_true(dt < 120, "jobs did not finish")  -- a guard against a hang, not a measure
      polls = polls + 1
      -- bodies the sandbox holds (read, not yet answered) at one moment, from its own log
      local held = 0
      for _, r in ipairs(sb:requests()) do
        if r.length and not r.status then held = held + 1 end
      end
      most = math.max(most, held)
      core.sleep(0.005)  -- the host's frame
    end
    for i = 1, 5 do
      assert.is_true(jobs[i].done)
      local res, err = jobs[i]:result()
      assert.is_nil(err and tostring(err))
      assert.same({}, res)
    end
    local res, err = jobs[6]:result()
    assert.is_nil(err and tostring(err))
    assert.matches("^BR%.", res.brandId)
    -- each answer waits 1 s at the sandbox: jobs run one at a time never have two bodies there
    -- at once (counted in the sandbox's log, not timed)
    assert.is_true(most >= 2, "jobs were serialised: at most " .. most .. " request(s) held at once")
    assert.is_true(polls > 10)
    local st = sb:stats()
    assert.equal(5, st.registered.images)
    assert.equal(1, st.registered.brands)
    assert.is_true(st.connections >= 5)
    kos:close()
    rcs:close()
  end)

  it("finishes a job with a validation error at once, sending nothing", function()
    local kos = bizreg.kos { base_url = sb.url, token = "sandbox-kos-token" }
    local job = kos:start("register_visitor_images", { images = {} })
    assert.is_true(job.done)
    local res, err = job:result()
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal(0, sb:stats().requests)
    kos:close()
  end)

  it("gives the same results as the blocking call, errors included", function()
    local kos = bizreg.kos { base_url = sb.url, token = "wrong-token", retries = 0 }
    local job = kos:start("register_visitor_images", IMAGES)
    assert.is_false(job.done)
    assert.has_error(function() job:result() end, "bizreg: job still running; call bizreg.poll() until job.done")
    local res, err = job:wait(5)
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(401, err.status)
    local _, err2 = kos:register_visitor_images(IMAGES)
    assert.same(err2.status, err.status)
    assert.same(err2.message, err.message)
    kos:close()
  end)

  it("renews an api_key token inside a job", function()
    local kos = bizreg.kos { base_url = sb.url, api_key = "11111111-2222-4333-8444-555555555555" }
    assert(kos:start("register_visitor_images", IMAGES):wait(5))
    sb:config { expire_tokens = true }
    local res, err = kos:start("register_visitor_images", IMAGES):wait(5)
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    assert.equal(2, sb:stats().by_endpoint["kos.exchange_token"])
    kos:close()
  end)

  it("reports transport errors from jobs", function()
    local kos = bizreg.kos { base_url = "http://127.0.0.1:1", token = "token-t1", retries = 1 }
    local res, err = kos:start("register_visitor_images", IMAGES):wait(5)
    assert.is_nil(res)
    assert.equal("COULDNT_CONNECT", err.code)
    kos:close()
  end)

  it("returns the jobs that finished during each poll", function()
    local kos = bizreg.kos { base_url = sb.url, token = "sandbox-kos-token" }
    local a = kos:start("register_visitor_images", IMAGES)
    local b = kos:start("register_visitor_images", IMAGES)
    local seen = {}
    for _ = 1, 500 do
      local running, finished = bizreg.poll(0.01)
      for _, job in ipairs(finished) do
        assert.is_true(job.done)
        assert.is_nil(seen[job])
        seen[job] = true
      end
      if running == 0 then break end
    end
    assert.is_true(seen[a])
    assert.is_true(seen[b])
    kos:close()
  end)

  it("finishes a job whose request libcurl refuses before sending", function()
    local kos = bizreg.kos { base_url = sb.url, token = "sandbox-kos-token" }
    local job = require("bizreg.jobs").start(kos, function(_, ctx)
      return ctx.send { method = "GET", url = sb.url .. "/x", headers = { ["X-Bad"] = "a\r\nb" } }
    end)
    assert.is_true(job.done)
    local res, err = job:result()
    assert.is_nil(res)
    assert.equal("BAD_HEADER", err.code)
    assert.equal(0, bizreg.poll(0))
    kos:close()
  end)

  it("returns 0 from poll when nothing runs, without waiting", function()
    -- white box: with no job and no transfer, drive would wait only through core.sleep
    local slept, real_sleep = {}, core.sleep
    core.sleep = function(s) slept[#slept + 1] = s end
    local ok, n = pcall(bizreg.poll, 0.5)
    core.sleep = real_sleep
    assert.is_true(ok, n)
    assert.equal(0, n)
    assert.same({}, slept)
  end)
end)
