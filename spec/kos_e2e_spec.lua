-- KOS register_visitor_images against the sandbox: success, server errors, auth, transport.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local shell = require "spec.helpers.shell"

local API_KEY = "11111111-2222-4333-8444-555555555555"
local TOKEN = "sandbox-kos-token"

local function payload(memo)
  return { images = { { fileName = "2026/11/22/a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL",
    equipment = { id = "eq1" }, category = { id = "cat1" }, memo = memo or "시술 전 사진",
    shootingDateTimeUtc = "2026-11-22T07:00:00.000Z" } } }
end

describe("KOS end to end", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra)
    local o = { base_url = sb.url, token = TOKEN, retries = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    if o.api_key then o.token = nil end
    return bizreg.kos(o)
  end

  it("registers images and sends exactly the prepared bytes", function()
    local kos = client()
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    local reqs = sb:requests()
    assert.equal(1, #reqs)
    assert.equal("POST", reqs[1].method)
    assert.equal("/image/open/v1/commands/register-visitor-images", reqs[1].path)
    assert.equal("application/json", reqs[1].content_type)
    assert.equal(bizreg.prepare_visitor_images(payload()).body, sb:body())
    assert.equal(1, sb:stats().registered.images)
    kos:close()
  end)

  it("send_prepared sends a prepared request's exact bytes through the full flow (auth, events, answer)", function()
    local kos = client { api_key = API_KEY }
    local req = assert(bizreg.prepare_visitor_images(payload()))
    local before = req.body
    local res, err = kos:send_prepared(req)
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    assert.equal(before, req.body)          -- the caller's request is left as it was
    assert.is_nil(req.progress)
    local reqs = sb:requests()
    assert.equal(2, #reqs)                  -- the token exchange, then the request
    assert.equal("/image/open/v1/commands/register-visitor-images", reqs[2].path)
    assert.equal(before, sb:body(2))
    assert.equal(1, sb:stats().registered.images)
    -- a server error maps as register_visitor_images maps it
    sb:fault { endpoint = "kos.register_visitor_images", mode = "echo", status = 400, count = 1 }
    res, err = kos:send_prepared(req)
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(400, err.status)
    kos:close()
  end)

  it("send_prepared sends once, even when the answer is lost (at most once)", function()
    local kos = client { retries = 3 }
    sb:fault { endpoint = "kos.register_visitor_images", mode = "echo", status = 504, commit = true, count = 1 }
    local res, err = kos:send_prepared(assert(bizreg.prepare_visitor_images(payload())))
    assert.is_nil(res)
    assert.equal(504, err.status)
    assert.equal(1, sb:stats().received["kos.register_visitor_images"])
    kos:close()
  end)

  it("send_prepared raises for a table no prepare_* made, or one made for the other API", function()
    local kos = client()
    assert.has_error(function() kos:send_prepared { method = "POST", path = "/image/open/v1/commands/register-visitor-images",
      body = "{}" } end, "bizreg: send_prepared: the request was not made by a bizreg prepare_* function")
    assert.has_error(function() kos:send_prepared("x") end)
    local req = assert(bizreg.prepare_visitor_images(payload()))
    assert.has_error(function() kos:send_prepared { method = req.method, path = req.path, headers = req.headers,
      body = req.body } end)               -- a copy: the same fields, not a request prepare_* made
    local rcs = bizreg.rcs { base_url = "http://127.0.0.1:1", token = "t-123456" }
    assert.has_error(function() rcs:send_prepared(assert(bizreg.prepare_visitor_images(payload()))) end,
      "bizreg: send_prepared: this request is for bizreg.kos, not bizreg.rcs")
    rcs:close()
    assert.equal(0, sb:stats().requests)
    kos:close()
  end)

  it("sends nothing when validation fails (151 Hangul syllables)", function()
    local kos = client()
    local res, err = kos:register_visitor_images(payload(string.rep("가", 151)))
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal("TooLong", err.errorProperties[1].reason)
    assert.equal(0, sb:stats().requests)
    kos:close()
  end)

  it("uses one keep-alive connection for 100 sequential calls", function()
    local kos = client()
    for _ = 1, 100 do assert(kos:register_visitor_images(payload())) end
    local st = sb:stats()
    assert.equal(100, st.requests)
    assert.equal(1, st.connections)
    kos:close()
  end)

  it("maps the server's 400 body into the error fields", function()
    local kos = client()
    local p = payload()
    p.images[2] = { fileName = "b.jpg", visitorId = "000000000000000000000000" }
    local res, err = kos:register_visitor_images(p)
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(400, err.status)
    assert.equal("NotFoundException", err.className)
    assert.equal("NotFoundException", err.message)
    assert.same({ { key = "visitorId", reason = "NotFound", index = 2 } }, err.errorProperties)
    assert.is_false(err.retryable)
    assert.truthy(err.body:find("NotFoundException", 1, true))
    kos:close()
  end)

  it("returns a 401 for a bad static token, without retrying or leaking it", function()
    local kos = client { token = "not-a-valid-token-xyz" }
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(401, err.status)
    assert.equal(1, sb:stats().requests)
    assert.is_nil(tostring(err):find("not-a-valid-token-xyz", 1, true))
    kos:close()
  end)

  it("exchanges an api_key once, caches the token, and re-exchanges once on 401", function()
    local kos = client { api_key = API_KEY }
    assert(kos:register_visitor_images(payload()))
    assert(kos:register_visitor_images(payload()))
    local st = sb:stats()
    assert.equal(1, st.by_endpoint["kos.exchange_token"])
    assert.equal(2, st.by_endpoint["kos.register_visitor_images"])
    sb:config { expire_tokens = true }
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    st = sb:stats()
    assert.equal(2, st.by_endpoint["kos.exchange_token"])
    assert.equal(4, st.by_endpoint["kos.register_visitor_images"])  -- 2 + the 401 + its one retry
    assert.equal(3, st.registered.images)
    kos:close()
  end)

  it("reports a rejected api_key as http 401 and never shows the key", function()
    local key = "99999999-2222-4333-8444-555555555555"
    local kos = client { api_key = key }
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(401, err.status)
    assert.equal(0, sb:stats().by_endpoint["kos.register_visitor_images"])
    for _, s in ipairs { tostring(err), err.message or "", err.body or "" } do
      assert.is_nil(s:find(key, 1, true))
    end
    kos:close()
  end)

  it("gives a transport error when nothing listens", function()
    local kos = bizreg.kos { base_url = "http://127.0.0.1:1", token = TOKEN, retries = 0 }
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(res)
    assert.equal("transport", err.kind)
    assert.equal("COULDNT_CONNECT", err.code)
    assert.is_true(err.retryable)
    assert.truthy(tostring(err):find("COULDNT_CONNECT", 1, true))
    kos:close()
  end)

  it("times out, and does not resend a request that may have arrived", function()
    sb:config { delay_ms = 1500 }
    local kos = client { timeout = 0.3, retries = 2 }
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(res)
    assert.equal("transport", err.kind)
    assert.equal("OPERATION_TIMEDOUT", err.code)
    assert.is_false(err.retryable)
    assert.equal(1, sb:stats().requests)
    kos:close()
  end)

  it("retries a 429 and then succeeds", function()
    sb:config { fail_next = { status = 429, count = 1, endpoint = "kos.register_visitor_images" } }
    local kos = client { retries = 1 }
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    assert.equal(2, sb:stats().requests)
    kos:close()
  end)

  it("does not resend after a 500 (the body reached the server)", function()
    sb:config { fail_next = { status = 500, count = 1, endpoint = "kos.register_visitor_images" } }
    local kos = client { retries = 2 }
    local res, err = kos:register_visitor_images(payload())
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(500, err.status)
    assert.equal(1, sb:stats().requests)
    kos:close()
  end)

  it("sends the token under a configurable header and scheme", function()
    sb:config { kos_auth_header = "X-Kos-Token" }
    local res = client { auth_header = "X-Kos-Token" }:register_visitor_images(payload())
    assert.same({}, res)
    local _, err = client {}:register_visitor_images(payload())
    assert.equal(401, err.status)
  end)

  it("sends only bodies that pass the seed's JSON Schema (ajv on what the sandbox received)", function()
    local kos = client()
    local variants = {
      payload(),
      { images = { { fileName = "a", visitorId = "b" } } },
      { images = { { fileName = "x/y.jpg", visitorId = "v", equipment = { id = "e", category = "IMAGE_EQUIPMENT", name = "CT",
        order = -5, closed = true, color = "GRAY", default = false }, category = {}, shootingDateTimeUtc = 1700000000.5,
        memo = "줄바꿈\n\"따옴표\" / 슬래시 \1" }, { fileName = "2", visitorId = "v", source = "PEN_CHART" } } },
    }
    for _, p in ipairs(variants) do assert(kos:register_visitor_images(p)) end
    kos:close()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    for i = 1, #sb:requests() do f:write(sb:body(i), "\n") end
    f:close()
    local pipe = assert(shell.popen("node spec/node/check_schema.js spec/fixtures/visitor-images.schema.json " .. path .. " 2>&1"))
    local out = pipe:read("*a")
    pipe:close()
    os.remove(path)
    assert.equal(#variants .. " valid, 0 invalid\n", out)
  end)

  it("has a one-shot form", function()
    local res, err = bizreg.register_visitor_images({ base_url = sb.url, token = TOKEN }, payload())
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
  end)
end)

describe("KOS client object", function()
  it("raises for programmer errors only", function()
    assert.has_error(function() bizreg.kos {} end, "bizreg: option 'base_url' is required (http:// or https://)")
    assert.has_error(function() bizreg.kos { base_url = "ftp://x" } end)
    assert.has_error(function() bizreg.kos { base_url = "http://x", timeout = "3" } end, "bizreg: option 'timeout' must be a number")
    assert.has_error(function() bizreg.kos { base_url = "http://x", tokn = "t" } end, "bizreg: unknown option 'tokn'")
    assert.has_error(function() bizreg.kos { base_url = "http://x", token = "a\r\nX-Evil: 1" } end,
      "bizreg: option 'token' contains CR, LF or NUL")
    assert.has_error(function() bizreg.kos { base_url = "http://x", token = "token-t1", api_key = "k" } end)
    local kos = bizreg.kos { base_url = "http://127.0.0.1:1", token = "token-t1" }
    assert.has_error(function() kos:register_visitor_images("x") end)
  end)

  it("closes idempotently and refuses calls after close", function()
    local kos = bizreg.kos { base_url = "http://127.0.0.1:1", token = "secret-token-123" }
    kos:close()
    kos:close()
    assert.has_error(function() kos:register_visitor_images(payload()) end, "bizreg: client is closed")
    assert.is_nil(tostring(kos):find("secret-token-123", 1, true))
  end)

  it("keeps secrets out of every field of the client table", function()
    local kos = bizreg.kos { base_url = "http://127.0.0.1:1", api_key = "key-0123456789" }
    local seen = {}
    local function walk(t)
      if seen[t] then return end
      seen[t] = true
      for k, v in pairs(t) do
        assert.are_not.equal("key-0123456789", v, "secret in field " .. tostring(k))
        if type(v) == "table" then walk(v) end
      end
    end
    walk(kos)
    kos:close()
  end)
end)
