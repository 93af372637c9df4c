-- Client-level behaviour of issue 7: options checked at construction, the whole-call
-- deadline, close() during a call, response shapes, one-line errors, token-fetch markers.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local fx = require "spec.helpers.fixtures"

local IMAGES = { images = { { fileName = "a.jpg", visitorId = "v" } } }
local HERE = "^spec/unit/client_spec%.lua:%d+: "

local function kos(transport, extra)
  local o = { base_url = "https://crm.example.invalid", token = "tok-0123456789", transport = transport }
  for k, v in pairs(extra or {}) do o[k] = v end
  local c = bizreg.kos(o)  -- not a tail call: Lua 5.1 would lose the caller's position
  return c
end

-- Raises, and the message points at this file (the caller's position).
local function raises_here(f, pattern)
  local ok, msg = pcall(f)
  assert.is_false(ok, "did not raise")
  assert.matches(HERE .. "bizreg: ", msg)
  if pattern then assert.matches(pattern, msg) end
end

describe("options", function()
  local nan = 0 / 0
  local bad = {
    { timeout = 0 }, { timeout = -1 }, { timeout = nan }, { timeout = math.huge }, { timeout = 1e12 },
    { connect_timeout = -1 }, { connect_timeout = 0 }, { connect_timeout = nan },
    { deadline = 0 }, { deadline = nan }, { deadline = math.huge },
    { max_response_bytes = 1.5 }, { max_response_bytes = 0 }, { max_response_bytes = 1e300 }, { max_response_bytes = -5 }, { max_response_bytes = nan },
    { retries = -1 }, { retries = 1.5 }, { retries = math.huge }, { retries = nan },
    { retry_max_wait = -1 }, { retry_max_wait = nan }, { retry_max_wait = math.huge },
    { ca_file = "a\0b" }, { proxy = "http://p\0x" }, { base_url = "http://x\0y" }, { base_url = "http://x y" },
    { auth_header = "" }, { auth_header = "X Token" }, { auth_scheme = "Bearer x" },
  }
  for _, o in ipairs(bad) do
    local k, v = next(o)
    it("refuses " .. k .. " = " .. tostring(v):gsub("%z", "\\0") .. " at construction, at the caller's position", function()
      raises_here(function() kos(nil, o) end, "'" .. k .. "'")
      if k ~= "auth_header" and k ~= "auth_scheme" then
        local r = { base_url = "http://x", token = "tok-0123456789" }
        r[k] = v
        raises_here(function() bizreg.rcs(r) end, "'" .. k .. "'")
      end
    end)
  end

  it("accepts the documented ranges", function()
    kos(nil, { timeout = 0.001, connect_timeout = 2147483, deadline = 1e9, max_response_bytes = 1, retries = 0,
      retry_max_wait = 0, auth_scheme = "" }):close()
  end)

  it("points at the caller of the one-shot forms too", function()
    raises_here(function() bizreg.register_visitor_images({ base_url = "http://x", token = "tok-0123456789", timeout = 0 }, IMAGES) end)
    raises_here(function() bizreg.register_brand({ base_url = "http://x" }, fx.brand()) end)
  end)

  it("raises for wrong argument types at the caller's position, blocking and start()", function()
    local c = bizreg.kos { base_url = "http://127.0.0.1:1", token = "tok-0123456789" }
    raises_here(function() c:register_visitor_images("x") end, "payload must be a table")
    raises_here(function() c:start("register_visitor_images", "x") end, "payload must be a table")
    local r = bizreg.rcs { base_url = "http://127.0.0.1:1", token = "tok-0123456789" }
    raises_here(function() r:resubmit_brand(5, {}) end, "brandId must be a string")
    raises_here(function() r:resubmit_brand("BR.1", nil) end, "payload must be a table")
    c:close()
    r:close()
  end)

  it("sends no scheme when auth_scheme is empty", function()
    local seen
    local c = kos(function(req) seen = req.headers.Authorization return { status = 200, body = "{}" } end,
      { auth_scheme = "" })
    assert(c:register_visitor_images(IMAGES))
    assert.equal("tok-0123456789", seen)
  end)

  it("takes a callable table as on_progress (it reaches libcurl as a function)", function()
    local calls = 0
    local c = bizreg.kos { base_url = "http://127.0.0.1:1", token = "tok-0123456789", retries = 0,
      on_progress = setmetatable({}, { __call = function() calls = calls + 1 end }) }
    local _, err = c:register_visitor_images(IMAGES)
    assert.equal("COULDNT_CONNECT", err.code)
    c:close()
  end)
end)

describe("responses", function()
  it("a KOS 2xx whose body is a JSON array (or scalar) is a decode error", function()
    for _, body in ipairs { "[1,2,3]", " [] ", "[{}]", "1", '"x"', "null" } do
      local res, err = kos(function() return { status = 200, body = body } end):register_visitor_images(IMAGES)
      assert.is_nil(res, body)
      assert.equal("decode", err.kind)
      assert.equal(200, err.status)
      assert.is_true(err.sent)
    end
    assert.same({ a = 1 }, (kos(function() return { status = 200, body = ' \n{"a":1}' } end):register_visitor_images(IMAGES)))
  end)

  it("an RCS 2xx is success only as the documented envelope", function()
    local bodies = {
      '[{"result":[{"brandId":"BR.x"}]}]', '{"result":{"brandId":"BR.x"}}', '{"result":[["BR.x"]]}',
      '{"result":[{"brandId":""}]}', '{"result":[{"brandId":5}]}', '{"result":"BR.x"}',
    }
    for _, body in ipairs(bodies) do
      local r = bizreg.rcs { base_url = "http://x", token = "tok-0123456789", transport = function() return { status = 200, body = body } end }
      local res, err = r:register_brand(fx.brand())
      assert.is_nil(res, body)
      assert.equal("decode", err.kind)
    end
    local r = bizreg.rcs { base_url = "http://x", token = "tok-0123456789", transport = function()
      return { status = 200, body = '{"code":"20000000","status":"200","result":[{"brandId":"BR.y"}]}' } end }
    local res = assert(r:register_brand(fx.brand()))
    assert.equal(200, res.status)  -- a non-number status falls back to the HTTP status
  end)
end)

describe("error values (one shape, one line)", function()
  it("have kind, code, status, message, errorProperties, retryable and sent", function()
    local _, v = bizreg.prepare_visitor_images { images = {} }
    assert.equal("validation", v.kind)
    assert.is_false(v.sent)
    assert.is_false(v.retryable)
    local _, h = kos(function() return { status = 503, headers = { ["retry-after"] = "7" }, body = "x" } end,
      { retries = 0 }):register_visitor_images(IMAGES)
    assert.is_true(h.sent)
    assert.is_true(h.retryable)
    assert.equal(7, h.retry_after)
    assert.equal("not_processed", bizreg.outcome.of(h))
    -- without Retry-After a 503 may come from a gateway after the server took the request;
    -- 500/502/504 likewise: the one outcome table calls them "maybe processed"
    for _, status in ipairs { 503, 500, 502, 504 } do
      local _, m = kos(function() return { status = status, headers = {}, body = "x" } end,
        { retries = 0 }):register_visitor_images(IMAGES)
      assert.is_false(m.retryable, status)
      assert.equal("maybe_processed", bizreg.outcome.of(m), status)
    end
    local _, r = kos(function() return { status = 400, headers = {}, body = "{}" } end,
      { retries = 0 }):register_visitor_images(IMAGES)
    assert.equal("refused", bizreg.outcome.of(r))
    assert.equal("refused", bizreg.outcome.of(v))
    local _, t = kos(function() return nil, { code = "COULDNT_CONNECT", message = "m", sent = false } end,
      { retries = 0 }):register_visitor_images(IMAGES)
    assert.same({ "COULDNT_CONNECT", false, true, {} }, { t.code, t.sent, t.retryable, t.errorProperties })
    assert.equal("not_processed", bizreg.outcome.of(t))
  end)

  it("keep the libcurl code of a transport error", function()
    local c = bizreg.kos { base_url = "http://127.0.0.1:1", token = "tok-0123456789", retries = 0 }
    local _, err = c:register_visitor_images(IMAGES)
    assert.equal(7, err.curl_code)
    c:close()
  end)

  it("print on one line whatever control characters keys, codes and messages hold", function()
    local body = '{"className":"A\\r\\nB","message":"m\\u2028x\\u0085y","errorProperties":[{"key":"k\\r\\nX","reason":"r\\n"}]}'
    local _, err = kos(function() return { status = 400, body = body } end):register_visitor_images(IMAGES)
    local s = tostring(err)
    assert.is_nil(s:find("[%c]"), s)
    assert.is_nil(s:find("\226\128\168", 1, true))
    assert.is_nil(s:find("\194\133", 1, true))
    local r = bizreg.rcs { base_url = "http://x", token = "tok-0123456789", transport = function()
      return { status = 400, body = '{"error":{"code":"6\\r\\n1","message":"a\\nb"}}' } end }
    _, err = r:register_brand(fx.brand())
    assert.equal("bizreg http error 400 [6 1]: a b", tostring(err))
    local _, v = bizreg.prepare_visitor_images { images = { { fileName = "a", visitorId = "v", ["x\r\ny"] = 1 } } }
    assert.is_nil(tostring(v):find("[%c]"))
  end)
end)

describe("close()", function()
  it("during a 429 back-off: nothing more is sent, the call ends CLIENT_CLOSED", function()
    local calls = 0
    local c = kos(function()
      calls = calls + 1
      return { status = 429, headers = { ["Retry-After"] = "0" }, body = "" }
    end, { retries = 3 })
    -- the back-off sleep is where a host (or another coroutine) closes the client
    local ctx = c:sync_ctx()
    ctx.sleep = function() c:close() end
    local res, err = c:register_visitor_images(IMAGES)
    assert.is_nil(res)
    assert.equal(1, calls)
    assert.equal("transport", err.kind)
    assert.equal("CLIENT_CLOSED", err.code)
    assert.is_false(err.retryable)
  end)
end)

describe("deadline", function()
  it("defaults to timeout x (retries + 1)", function()
    assert.equal(4 * 3, kos(nil, { timeout = 4, retries = 2 }).deadline)
    assert.equal(30 * 3, kos(nil).deadline)
    assert.equal(7, kos(nil, { deadline = 7 }).deadline)
  end)

  it("caps Retry-After waits: a wait past the deadline ends the call at once with DEADLINE_EXCEEDED", function()
    local calls, slept = 0, 0
    local c = kos(function()
      calls = calls + 1
      return { status = 429, headers = { ["Retry-After"] = "5" }, body = "" }
    end, { retries = 5, deadline = 1, retry_max_wait = 60 })
    c:sync_ctx().sleep = function(s) slept = slept + s end
    local _, err = c:register_visitor_images(IMAGES)
    assert.equal("DEADLINE_EXCEEDED", err.code)
    assert.equal("transport", err.kind)
    assert.is_false(err.retryable)
    assert.is_true(err.sent)
    assert.equal(1, calls)
    assert.equal(0, slept)  -- "at once": no wait at all (counted, not timed)
  end)

  it("bounds connect retries and gives each attempt min(timeout, time left)", function()
    local timeouts = {}
    local c = kos(function(req)
      timeouts[#timeouts + 1] = req.timeout
      return nil, { code = "COULDNT_CONNECT", message = "refused", sent = false }
    end, { retries = 10, timeout = 5, deadline = 0.5 })
    local slept = 0  -- the back-offs really sleep; what they ask for stays within the deadline
    c:sync_ctx().sleep = function(s) slept = slept + s core.sleep(s) end
    local _, err = c:register_visitor_images(IMAGES)
    assert.equal("DEADLINE_EXCEEDED", err.code)
    assert.is_false(err.sent)
    assert.is_true(slept <= 0.5, "slept " .. slept)
    assert.is_true(#timeouts >= 2 and #timeouts < 11)
    for i = 2, #timeouts do assert.is_true(timeouts[i] < 0.5, tostring(timeouts[i])) end
  end)

  it("covers the whole call with libcurl: a server that never answers ends by the deadline", function()
    local sandbox = require "spec.helpers.sandbox"
    local sb = sandbox.start {}
    local ok, e = pcall(function()
      -- the deadline (0.6 s) against an attempt timeout of 60 s and a server that answers after
      -- 120 s: the bound of 30 s tells the two apart by 50x, whatever the machine's load
      sb:config { delay_ms = 120000 }
      local c = bizreg.kos { base_url = sb.url, api_key = "11111111-2222-4333-8444-555555555555",
        timeout = 60, deadline = 0.6 }
      local t0 = core.now()
      local _, err = c:register_visitor_images(IMAGES)
      local took = core.now() - t0
      -- the token request's attempt, cut at the deadline; a token call may be sent again
      -- (bizreg.routes), but no time is left for it. The images never left: an error of the
      -- token step (step = "token", sent = false)
      assert.same({ "DEADLINE_EXCEEDED", "token", false }, { err.code, err.step, err.sent })
      assert.is_true(took < 30, "took " .. took)
      local job = c:start("register_visitor_images", IMAGES)
      t0 = core.now()
      local _, jerr = job:wait(50)
      assert.equal("DEADLINE_EXCEEDED", jerr.code)
      assert.is_true(core.now() - t0 < 30)
      c:close()
    end)
    sb:stop()
    assert(ok, e)
  end)
end)

describe("core: req.timeout", function()
  local echo
  setup(function() echo = require("spec.helpers.echo_server").start() end)
  teardown(function() echo.stop() end)

  it("bounds one request, then the handle's own timeout applies again (sync and multi)", function()
    -- req.timeout 0.2 s against the handle's 60 s and a server that answers after 120 s: the
    -- bound of 30 s tells the two apart by 50x, whatever the machine's load
    local h = core.http { timeout = 60 }
    local t0 = core.now()
    local _, err = h:request { url = echo.base .. "/delay?ms=120000", timeout = 0.2 }
    assert.equal("OPERATION_TIMEDOUT", err.code)
    assert.is_true(core.now() - t0 < 30)
    local res = assert(h:request { url = echo.base .. "/delay?ms=400" })
    assert.equal(200, res.status)
    local m = core.multi()
    assert(m:add(h, { url = echo.base .. "/delay?ms=120000", timeout = 0.2 }))
    local done
    t0 = core.now()
    while not done and core.now() - t0 < 60 do done = m:poll(0.1)[1] end
    assert.equal("OPERATION_TIMEDOUT", done.err.code)
    assert.is_true(core.now() - t0 < 30)
    assert(m:add(h, { url = echo.base .. "/delay?ms=400" }))
    done = nil
    while not done and core.now() - t0 < 60 do done = m:poll(0.1)[1] end
    assert.equal(200, done.res.status)
    m:close()
    h:close()
  end)

  it("raises for a timeout that is not a positive finite number", function()
    local h = core.http {}
    for _, v in ipairs { 0, -1, 0 / 0, math.huge, "1" } do
      assert.has_error(function() h:request { url = echo.base .. "/count", timeout = v } end)
    end
    assert(h:request { url = echo.base .. "/count", timeout = 1e12 })  -- capped, not refused
    h:close()
  end)
end)

describe("token fetch", function()
  it("a raised fetch leaves no marker: the next call fetches at once", function()
    local n = 0
    local t = function(req)
      n = n + 1
      if n == 1 then error("transport crashed") end
      if req.url:find("exchange%-token") then return { status = 200, body = '{"token":"fresh-token"}' } end
      return { status = 200, body = "{}" }
    end
    local c = bizreg.kos { base_url = "http://127.0.0.1:1", api_key = "key-0000", transport = t,
      timeout = 5, connect_timeout = 5 }
    assert.has_error(function() c:register_visitor_images(IMAGES) end)
    local slept = {}  -- a wait for a fetch would go through the context's sleep
    c:sync_ctx().sleep = function(s) slept[#slept + 1] = s end
    assert.same({}, c:register_visitor_images(IMAGES))
    assert.same({}, slept, "waited for a dead fetch")
    assert.equal(3, n)
  end)

  it("a coroutine waits for another coroutine's live fetch, then uses its token", function()
    local fetches, release = 0, false
    local t = function(req)
      if req.url:find("exchange%-token") then
        fetches = fetches + 1
        while not release do coroutine.yield() end
        return { status = 200, body = '{"token":"shared-token"}' }
      end
      assert.equal("Bearer shared-token", req.headers.Authorization)
      return { status = 200, body = "{}" }
    end
    local c = bizreg.kos { base_url = "http://x", api_key = "key-0001", transport = t }
    c:sync_ctx().sleep = function() coroutine.yield() end
    local a = coroutine.create(function() return c:register_visitor_images(IMAGES) end)
    local b = coroutine.create(function() return c:register_visitor_images(IMAGES) end)
    assert(coroutine.resume(a))
    assert(coroutine.resume(b))
    release = true
    for _ = 1, 10 do
      if coroutine.status(a) ~= "dead" then assert(coroutine.resume(a)) end
      if coroutine.status(b) ~= "dead" then assert(coroutine.resume(b)) end
    end
    assert.equal("dead", coroutine.status(a))
    assert.equal("dead", coroutine.status(b))
    assert.equal(1, fetches)
  end)

  it("a fetch whose coroutine died is not waited for", function()
    local fetches = 0
    local t = function(req)
      if req.url:find("exchange%-token") then
        fetches = fetches + 1
        if fetches == 1 then coroutine.yield() error("killed") end  -- never resumed: abandoned
        return { status = 200, body = '{"token":"token-t2"}' }
      end
      return { status = 200, body = "{}" }
    end
    local c = bizreg.kos { base_url = "http://x", api_key = "key-0001", transport = t, timeout = 5, connect_timeout = 5 }
    local a = coroutine.create(function() return c:register_visitor_images(IMAGES) end)
    assert(coroutine.resume(a))   -- a is now suspended inside its fetch
    assert(not coroutine.resume(a)) -- ... and dies there (ngx.exit, an error in the host)
    local slept = {}  -- b must not wait for a's dead fetch: no sleep at all (counted, not timed)
    c:sync_ctx().sleep = function(s) slept[#slept + 1] = s end
    local b = coroutine.create(function() return c:register_visitor_images(IMAGES) end)
    local ok, res = coroutine.resume(b)
    assert(ok, res)
    assert.same({}, res)
    assert.same({}, slept)
  end)

  it("a fetch whose coroutine is never resumed again is waited for at most timeout + connect_timeout", function()
    local fetches = 0
    local t = function(req)
      if req.url:find("exchange%-token") then
        fetches = fetches + 1
        if fetches == 1 then coroutine.yield() end  -- abandoned here for good
        return { status = 200, body = '{"token":"token-t2"}' }
      end
      return { status = 200, body = "{}" }
    end
    local c = bizreg.kos { base_url = "http://x", api_key = "key-0001", transport = t, timeout = 0.2, connect_timeout = 0.2 }
    local a = coroutine.create(function() return c:register_visitor_images(IMAGES) end)
    assert(coroutine.resume(a))
    -- b's waits (really slept) ask for no more than timeout + connect_timeout (0.4 s) and one
    -- last step (at most 0.1 s): a sum of what was asked, which load cannot change
    local slept = 0
    c:sync_ctx().sleep = function(s) slept = slept + s core.sleep(s) end
    local b = coroutine.create(function() return c:register_visitor_images(IMAGES) end)
    local ok, res = coroutine.resume(b)
    assert(ok, res)
    assert.same({}, res)
    assert.equal(2, fetches)
    assert.is_true(slept > 0 and slept <= 0.5 + 1e-9, "slept " .. slept)
  end)
end)
