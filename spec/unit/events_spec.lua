-- Debug events (issue 10 section 2): the client option on_event receives request,
-- response, retry, token and error events with exact fields and no secret; a raising
-- hook is reported once and switched off; without a hook no event code runs at all.
local bizreg = require "bizreg"
local cjson = require "cjson"
local fx = require "spec.helpers.fixtures"
local sandbox = require "spec.helpers.sandbox"
local calls = require "spec.helpers.calls"

local KOS_TOKEN, KOS_KEY = "tok-KOS-0123456789", "key-KOS-abcdef0123"
local RCS_SECRET, FETCHED = "SK.events-secret-1", { "AT-first-token-1", "AT-second-token-2" }
local SECRETS = { KOS_TOKEN, KOS_KEY, RCS_SECRET, FETCHED[1], FETCHED[2], calls.API_KEY, calls.CLIENT_SECRET,
  calls.STATIC.kos, calls.STATIC.rcs }
local IMAGES = { images = { { fileName = "2026/11/22/a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }
local KOS_URL = "https://crm.example.invalid"
local KOS_PATH = "/image/open/v1/commands/register-visitor-images"
local RCS_URL = "https://rcs.example.invalid/api/1.1"
local ENVELOPE = '{"code":"20000000","status":200,"result":[{"brandId":"BR.events01"}],"desc":null}'

-- A transport that answers from a script: script[i](req) for the i-th request.
local function scripted(script)
  local t = { seen = {} }
  setmetatable(t, { __call = function(self, req)
    self.seen[#self.seen + 1] = req
    local step = script[#self.seen] or script[#script]
    return step(req)
  end })
  return t
end

local function ok_json(body, headers)
  return function() return { status = 200, headers = headers or { ["Content-Type"] = "application/json" }, body = body } end
end

local function recorder()
  local list = {}
  return list, function(ev) list[#list + 1] = ev end
end

local function types(list)
  local out = {}
  for i, ev in ipairs(list) do out[i] = ev.type end
  return table.concat(out, " ")
end

-- Every event, walked recursively (keys and values): no secret anywhere.
local function assert_no_secret(list)
  local hit = calls.find_secret(list, SECRETS, "events")
  assert.is_nil(hit, "a secret in " .. tostring(hit))
end

-- elapsed is a duration: checked, then taken out so the rest compares exactly.
local function take_elapsed(ev)
  assert.equal("number", type(ev.elapsed))
  assert.is_true(ev.elapsed >= 0 and ev.elapsed < 30)
  ev.elapsed = nil
  return ev
end

local function kos_body() return bizreg.prepare_visitor_images(IMAGES).body end

describe("on_event", function()
  it("request and response: exact fields, the credential header redacted", function()
    local list, hook = recorder()
    local t = scripted { ok_json("{}", { ["Content-Type"] = "application/json", ["X-Request-Id"] = "r-1",
      ["Set-Cookie"] = "s=1", ["Retry-After"] = "3" }) }
    local c = bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN, transport = t, on_event = hook }
    local res, err = c:register_visitor_images(IMAGES)
    assert.same({}, res, tostring(err))
    assert.equal("request response", types(list))
    local body = kos_body()
    assert.same({ type = "request", method = "POST", url = KOS_URL .. KOS_PATH, attempt = 1, body_size = #body,
      headers = { ["Authorization"] = "Bearer ***", ["Content-Type"] = "application/json",
        ["Accept"] = "application/json", ["User-Agent"] = "bizreg/" .. bizreg.VERSION,
        ["Content-Length"] = tostring(#body) } }, list[1])
    assert.same({ type = "response", status = 200,
      headers = { ["content-type"] = "application/json", ["x-request-id"] = "r-1", ["retry-after"] = "3" } },
      take_elapsed(list[2]))
    assert_no_secret(list)
  end)

  it("redacts a custom credential header and a bare token (auth_scheme = \"\")", function()
    local list, hook = recorder()
    local c = bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN, auth_header = "X-Clinic-Token", auth_scheme = "",
      transport = scripted { ok_json("{}") }, on_event = hook }
    assert.same({}, (c:register_visitor_images(IMAGES)))
    assert.equal("***", list[1].headers["X-Clinic-Token"])
    assert.is_nil(list[1].headers.Authorization)
    assert_no_secret(list)
  end)

  it("token: fetched, then renewed after a 401 the server says a new token fixes; never the token", function()
    local list, hook = recorder()
    local now = os.time()
    local function token_answer(i)
      return ok_json(cjson.encode { accessToken = FETCHED[i], expiresIn = tostring(now + 3600) })
    end
    local rejected = function()
      return { status = 401, headers = { ["Content-Type"] = "application/json",
        ["WWW-Authenticate"] = "Bearer error=\"" .. FETCHED[1] .. "\"" },
        body = '{"error":{"code":"61004","message":"Token has expired ' .. FETCHED[1] .. '"}}' }
    end
    local t = scripted { token_answer(1), rejected, token_answer(2), ok_json(ENVELOPE) }
    local c = bizreg.rcs { base_url = RCS_URL, client_id = "acct", client_secret = RCS_SECRET, transport = t, on_event = hook }
    local res, err = c:register_brand(fx.brand())
    assert.equal("BR.events01", res and res.brandId, tostring(err))
    assert.equal("request response token request response request response token request response", types(list))
    assert.equal(RCS_URL .. "/token", list[1].url)
    assert.equal(#t.seen[1].body, list[1].body_size)
    assert.is_nil(list[1].headers.Authorization)  -- the token request carries the secret in its body only
    local fetched = list[3]
    assert.is_true(math.abs(fetched.expires_in - 3600) <= 2)
    fetched.expires_in = nil
    assert.same({ type = "token", action = "fetched", expires_at = now + 3600 }, fetched)
    assert.equal("Bearer ***", list[4].headers.Authorization)
    assert.same({ type = "response", status = 401,
      headers = { ["content-type"] = "application/json", ["www-authenticate"] = "Bearer error=\"***\"" } },
      take_elapsed(list[5]))
    local renewed = list[8]
    renewed.expires_in = nil
    assert.same({ type = "token", action = "renewed", reason = "rejected", expires_at = now + 3600 }, renewed)
    assert.equal("Bearer ***", list[9].headers.Authorization)
    assert.equal(200, list[10].status)
    assert_no_secret(list)
  end)

  it("token: renewed when its lifetime ran out (reason expired); KOS exchange has no expiry", function()
    local list, hook = recorder()
    -- the lifetime runs out between the two calls: os.time moves on by 200 s (an expiresIn in
    -- the past would not do: it is replaced by token_lifetime, rcs_dialect_spec.lua)
    local soon = os.time() + 100
    local t = scripted { ok_json(cjson.encode { accessToken = FETCHED[1], expiresIn = tostring(soon) }), ok_json(ENVELOPE),
      ok_json(cjson.encode { accessToken = FETCHED[2], expiresIn = tostring(soon + 300) }), ok_json(ENVELOPE) }
    local c = bizreg.rcs { base_url = RCS_URL, client_id = "acct", client_secret = RCS_SECRET, transport = t, on_event = hook }
    assert.truthy(c:register_brand(fx.brand()))
    local real_time = os.time
    os.time = function(...) if select("#", ...) > 0 then return real_time(...) end return real_time() + 200 end -- luacheck: ignore 122
    local ok, e = pcall(function() assert.truthy(c:register_brand(fx.brand())) end)
    os.time = real_time -- luacheck: ignore 122
    assert(ok, e)
    local tokens = {}
    for _, ev in ipairs(list) do if ev.type == "token" then tokens[#tokens + 1] = ev end end
    assert.equal(2, #tokens)
    assert.same({ "fetched", "renewed", "expired" }, { tokens[1].action, tokens[2].action, tokens[2].reason })
    assert.equal(soon + 300, tokens[2].expires_at)

    local klist, khook = recorder()
    local k = bizreg.kos { base_url = KOS_URL, api_key = KOS_KEY, on_event = khook,
      transport = scripted { ok_json(cjson.encode { token = FETCHED[1] }), ok_json("{}") } }
    assert.same({}, (k:register_visitor_images(IMAGES)))
    assert.equal("request response token request response", types(klist))
    assert.same({ type = "token", action = "fetched" }, klist[3])
    assert.equal(KOS_URL .. "/open/authorization/commands/exchange-token", klist[1].url)
    assert_no_secret(list)
    assert_no_secret(klist)
  end)

  it("retry: after a 429 (Retry-After) and after a connect failure, with attempt numbers", function()
    local list, hook = recorder()
    local t = scripted {
      function() return { status = 429, headers = { ["Retry-After"] = "0" }, body = "" } end,
      function() return nil, { code = "COULDNT_CONNECT", message = "refused", sent = false } end,
      ok_json("{}"),
    }
    local c = bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN, transport = t, on_event = hook, retries = 2 }
    assert.same({}, (c:register_visitor_images(IMAGES)))
    assert.equal("request response retry request retry request response", types(list))
    assert.same({ 1, 2, 3 }, { list[1].attempt, list[4].attempt, list[6].attempt })
    assert.same({ type = "retry", attempt = 2, reason = "HTTP 429", delay = 0 }, list[3])
    assert.same({ type = "retry", attempt = 3, reason = "COULDNT_CONNECT", delay = 0.4 }, list[5])
    assert.same({ ["retry-after"] = "0" }, list[2].headers)
    assert_no_secret(list)
  end)

  it("error: the very table the call returns, scrubbed (validation, http, transport)", function()
    local list, hook = recorder()
    local t = scripted {
      function() return { status = 500, headers = {}, body = '{"message":"bad token ' .. KOS_TOKEN .. '"}' } end,
      function() return nil, { code = "COULDNT_CONNECT", message = "refused " .. KOS_TOKEN, sent = false } end,
    }
    local c = bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN, transport = t, on_event = hook, retries = 0 }
    local _, verr = c:register_visitor_images { images = {} }
    assert.equal("error", types(list))
    assert.equal(verr, list[1].err)
    assert.same({ type = "error", err = verr }, list[1])

    local _, herr = c:register_visitor_images(IMAGES)
    assert.equal("error request response error", types(list))
    assert.equal(herr, list[4].err)
    assert.equal("http", herr.kind)
    assert.matches("bad token %*%*%*", herr.body)

    local _, terr = c:register_visitor_images(IMAGES)
    assert.equal("error request response error request error", types(list))
    assert.equal(terr, list[6].err)
    assert.same({ "transport", "COULDNT_CONNECT", "refused ***" }, { terr.kind, terr.code, terr.message })
    assert_no_secret(list)
  end)

  it("a raising hook is reported once on stderr, switched off, and the call succeeds", function()
    local calls_n, written = 0, {}
    local real = io.stderr
    io.stderr = { write = function(_, ...) for _, s in ipairs { ... } do written[#written + 1] = s end end } -- luacheck: ignore 122
    local c = bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN, transport = scripted { ok_json("{}") },
      on_event = function() calls_n = calls_n + 1; error("hook broke with " .. KOS_TOKEN) end }
    local ok, res, err = pcall(c.register_visitor_images, c, IMAGES)
    local res2 = ok and c:register_visitor_images(IMAGES)
    io.stderr = real -- luacheck: ignore 122
    assert.is_true(ok, tostring(res))
    assert.same({}, res, tostring(err))
    assert.same({}, res2)
    assert.equal(1, calls_n)
    local text = table.concat(written)
    assert.equal(1, select(2, text:gsub("\n", "\n")))
    assert.matches("^bizreg: the on_event hook raised; events are off for this client: .*hook broke with %*%*%*\n$", text)
    assert.is_nil(text:find(KOS_TOKEN, 1, true))
  end)

  it("a callable table is a hook too; anything else is refused at construction", function()
    local list = {}
    local hook = setmetatable({}, { __call = function(_, ev) list[#list + 1] = ev end })
    local c = bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN, transport = scripted { ok_json("{}") }, on_event = hook }
    assert.same({}, (c:register_visitor_images(IMAGES)))
    assert.equal("request response", types(list))
    assert.has_error(function() bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN, on_event = true } end,
      "bizreg: option 'on_event' must be a function")
  end)

  describe("off", function()
    -- Counts calls into lua/bizreg/events.lua while f runs.
    local function event_code_calls(f)
      local n = 0
      debug.sethook(function()
        local info = debug.getinfo(2, "S")
        if info and info.source:find("bizreg/events%.lua$") then n = n + 1 end
      end, "c")
      local ok, e = pcall(f)
      debug.sethook()
      assert(ok, e)
      return n
    end

    -- A whole flow: token fetch, 429 retry, 401 renewal, a transport error.
    local function flow(hook)
      local now = os.time()
      local t = scripted {
        ok_json(cjson.encode { accessToken = FETCHED[1], expiresIn = tostring(now + 3600) }),
        function() return { status = 429, headers = { ["Retry-After"] = "0" }, body = "" } end,
        function() return { status = 401, headers = {}, body = '{"error":{"code":"61003"}}' } end,
        ok_json(cjson.encode { accessToken = FETCHED[2], expiresIn = tostring(now + 3600) }),
        ok_json(ENVELOPE),
        function() return nil, { code = "RECV_ERROR", message = "reset", sent = true } end,
      }
      local c = bizreg.rcs { base_url = RCS_URL, client_id = "acct", client_secret = RCS_SECRET, transport = t,
        on_event = hook }
      assert.truthy(c:register_brand(fx.brand()))
      assert.is_nil(c:register_brand(fx.brand()))
      return #t.seen
    end

    it("no event code runs and no hook is kept without on_event #slow", function()
      assert.equal(0, event_code_calls(function() assert.equal(6, flow(nil)) end))
      local c = bizreg.kos { base_url = KOS_URL, token = KOS_TOKEN }
      assert.is_nil(rawget(c, "on_event"))
    end)

    it("(the same count sees the event code when a hook is set) #slow", function()
      local list, hook = recorder()
      assert.is_true(event_code_calls(function() flow(hook) end) >= 10)
      assert.equal("request response token request response retry request response request response token "
        .. "request response request error", types(list))
      assert_no_secret(list)
    end)
  end)

  describe("through libcurl and the sandbox", function()
    local sb
    setup(function() sb = sandbox.start {} end)
    teardown(function() if sb then sb:stop() end end)

    local function check_flow(list)
      assert.equal("request response token request response retry request response", types(list))
      assert.equal(sb.rcs_url .. "/token", list[1].url)
      assert.equal(200, list[2].status)
      assert.equal("fetched", list[3].action)
      assert.equal("number", type(list[3].expires_at))
      assert.same({ sb.rcs_url .. "/corp/brand", "Bearer ***", 1 }, { list[4].url, list[4].headers.Authorization, list[4].attempt })
      assert.equal(429, list[5].status)
      assert.same({ "retry", 2, "HTTP 429" }, { list[6].type, list[6].attempt, list[6].reason })
      assert.equal(2, list[7].attempt)
      assert.equal(200, list[8].status)
      assert.matches("^application/json", list[8].headers["content-type"])
      assert_no_secret(list)
    end

    for _, style in ipairs { "blocking", "job" } do
      it(style .. ": token, request, 429 retry, response", function()
        sb:reset()
        sb:config { fail_next = { status = 429, count = 1, endpoint = "rcs.register_brand" } }
        local list, hook = recorder()
        local c = calls.client(sb, "rcs", { auth = "fetch", on_event = hook, retry_max_wait = 0.05 })
        local res, err = calls.call(c, "rcs", style, calls.payload("rcs"), 20)
        c:close()
        assert.truthy(res, tostring(err))
        check_flow(list)
      end)
    end
  end)
end)
