-- Retries by meaning (issue 19, item 2): bizreg.routes says per route whether repeating a
-- request can change the outcome; Client:send resends a "repeat" route after a failure where
-- bytes may have left (and after 502/503/504), never a "once" route. Over a Lua transport.
local bizreg = require "bizreg"
local routes = require "bizreg.routes"
local outcome = require "bizreg.outcome"
local helpers = require "spec.helpers.calls"

local BRAND = '{"code":"20000000","status":200,"result":[{"brandId":"BR.x","name":"n","status":"승인"}]}'
local RESET = { nil, { code = "RECV_ERROR", message = "reset after send", sent = true } }
local DIED = { nil, { code = "CONNECTION_DIED", message = "closed after send", sent = true } }
local OK_BRAND = { { status = 200, headers = {}, body = BRAND } }

local scripted, no_sleep = helpers.scripted, helpers.no_sleep

local function rcs(transport, extra)
  local o = { base_url = "https://rcs.example.invalid/api/1.1", token = "static-token-1", person_id = "acct",
    transport = transport, retry_max_wait = 0 }
  for k, v in pairs(extra or {}) do o[k] = v end
  local c = bizreg.rcs(o)
  return c
end

describe("the routes table", function()
  it("says once or repeat for every row, and once for a route without a row or no route", function()
    for route, v in pairs(routes.ROUTES) do
      assert.truthy(v == "once" or v == "repeat", route)
      assert.matches("^[A-Z]+ /[%w/{}%-%.]+$", route)
      assert.equal(v, routes.of(route))
    end
    assert.equal("once", routes.of(nil))
    assert.equal("once", routes.of("GET /no/such/route"))
    assert.equal("once", routes.of("get /corp/{personId}/brand/{brandId}"))  -- exact keys only
    assert.is_false(routes.repeatable(nil))
    assert.is_false(routes.repeatable("PATCH /corp/brand"))
  end)

  it("holds the meaning the issue gives each write", function()
    for route, v in pairs {
      ["POST /corp/brand"] = "once", ["PUT /corp/brand/{brandId}"] = "once",
      ["POST /brand/{brandId}/chatbot"] = "once", ["POST /image/open/v1/commands/register-visitor-images"] = "once",
      ["PUT /corp/{personId}/brand/{brandId}"] = "once", ["DELETE /corp/{personId}/brand/{brandId}"] = "once",
      ["PUT /brand/{brandId}/chatbot/{chatbotId}"] = "once",
      ["PUT /corp/brand/{brandId}/cancel"] = "repeat", ["DELETE /corp/brand/{brandId}"] = "repeat",
      ["GET /brand/{brandId}/chatbot"] = "repeat", ["GET /brand/{brandId}/chatbot/{chatbotId}"] = "repeat",
      ["DELETE /brand/{brandId}/chatbot/{chatbotId}"] = "repeat",
      ["PUT /brand/{brandId}/chatbot/{chatbotId}/cancel"] = "repeat",
      ["GET /corp/{personId}/brand/{brandId}"] = "repeat", ["GET /corp/{personId}/brand"] = "repeat",
      ["GET /corp/brand/categories"] = "repeat", ["POST /token"] = "repeat",
    } do
      assert.equal(v, routes.of(route), route)
    end
  end)
end)

describe("a repeat route (get_brand)", function()
  it("carries its route to the transport's request", function()
    local t, calls = scripted { OK_BRAND }
    assert(rcs(t):get_brand("BR.x"))
    assert.equal("GET /corp/{personId}/brand/{brandId}", calls[1].route)
  end)

  it("is sent again after a reset after sending, and succeeds", function()
    for _, failure in ipairs { RESET, DIED, { nil, { code = "GOT_NOTHING", message = "empty", sent = true } },
        { nil, { code = "OPERATION_TIMEDOUT", message = "no answer", sent = true } } } do
      local t, calls = scripted { failure, OK_BRAND }
      local res, err = no_sleep(function() return rcs(t, { retries = 2 }):get_brand("BR.x") end)
      assert.is_nil(err and tostring(err))
      assert.equal("BR.x", res.brand.brandId)
      assert.equal(2, #calls, failure[2].code)
    end
  end)

  it("is sent again after 502, 503 and 504 answers, not after a 500", function()
    for _, status in ipairs { 502, 503, 504 } do
      local t, calls = scripted { { { status = status, headers = {}, body = "<html>gw</html>" } }, OK_BRAND }
      assert(no_sleep(function() return rcs(t, { retries = 1 }):get_brand("BR.x") end))
      assert.equal(2, #calls, status)
    end
    local t, calls = scripted { { { status = 500, headers = {}, body = "<html>oops</html>" } }, OK_BRAND }
    local _, err = no_sleep(function() return rcs(t, { retries = 3 }):get_brand("BR.x") end)
    assert.same({ 1, 500, false }, { #calls, err.status, err.retryable })
  end)

  it("is bounded by retries: the last failure comes back retryable, sent, maybe processed", function()
    local t, calls = scripted { RESET }
    local _, err = no_sleep(function() return rcs(t, { retries = 2 }):get_brand("BR.x") end)
    assert.equal(3, #calls)
    assert.same({ "transport", "RECV_ERROR", true, true }, { err.kind, err.code, err.sent, err.retryable })
    assert.equal(outcome.MAYBE, outcome.of(err))
    t, calls = scripted { { { status = 504, headers = {}, body = "" } } }
    _, err = no_sleep(function() return rcs(t, { retries = 1 }):get_brand("BR.x") end)
    assert.same({ 2, "http", 504, true }, { #calls, err.kind, err.status, err.retryable })
    assert.equal(outcome.MAYBE, outcome.of(err))
    -- retries = 0: not sent again, but the error still says a repeat is safe
    t, calls = scripted { RESET }
    _, err = rcs(t, { retries = 0 }):get_brand("BR.x")
    assert.same({ 1, true }, { #calls, err.retryable })
  end)

  it("is bounded by the deadline", function()
    local t, calls = scripted { RESET }
    -- the real sleep: back-off 0.2 s, 0.4 s, ... never past a 0.5 s deadline
    local _, err = rcs(t, { retries = 100, deadline = 0.5 }):get_brand("BR.x")
    assert.equal("DEADLINE_EXCEEDED", err.code)
    assert.is_true(err.sent)  -- an earlier attempt may have arrived
    assert.is_true(#calls >= 1 and #calls <= 3, "calls: " .. #calls)
  end)

  it("stays sent = true after a resend that then fails before sending", function()
    local refused = { nil, { code = "COULDNT_CONNECT", message = "refused", sent = false } }
    local t, calls = scripted { RESET, refused }
    local _, err = no_sleep(function() return rcs(t, { retries = 1 }):get_brand("BR.x") end)
    assert.equal(2, #calls)
    assert.same({ "COULDNT_CONNECT", true, true }, { err.code, err.sent, err.retryable })
    assert.equal(outcome.MAYBE, outcome.of(err))  -- the first attempt may have been processed
  end)

  it("says when a refusal answers a resend (the first attempt may have been processed)", function()
    local gone = { { status = 400, headers = {},
      body = '{"error":{"code":"64316","message":"Invalid brandId"},"status":400}' } }
    local t = scripted { RESET, gone }
    local _, err = no_sleep(function() return rcs(t, { retries = 1 }):get_brand("BR.x") end)
    assert.same({ "http", "64316", true, false }, { err.kind, err.code, err.resent, err.retryable })
    assert.equal(outcome.MAYBE, outcome.of(err))
    -- without a resend the same answer is a plain refusal
    _, err = rcs(scripted { gone }):get_brand("BR.x")
    assert.is_nil(err.resent)
    assert.equal(outcome.REFUSED, outcome.of(err))
  end)

  it("emits a retry event for each resend", function()
    local seen = {}
    local t = scripted { RESET, OK_BRAND }
    assert(no_sleep(function()
      return rcs(t, { retries = 2, on_event = function(e) seen[#seen + 1] = e.type end }):get_brand("BR.x")
    end))
    local n = 0
    for _, ty in ipairs(seen) do if ty == "retry" then n = n + 1 end end
    assert.equal(1, n)
  end)
end)

describe("a once route", function()
  it("is never sent again after bytes may have left, nor after 502/503/504 (register_brand, resubmit_brand)", function()
    local fx = require "spec.helpers.fixtures"
    for _, failure in ipairs { RESET, DIED, { { status = 502, headers = {}, body = "" } },
        { { status = 504, headers = {}, body = "" } } } do
      local t, calls = scripted { failure, { { status = 200, headers = {}, body = BRAND } } }
      local c = rcs(t, { retries = 3 })
      local _, err = no_sleep(function() return c:register_brand(fx.brand()) end)
      assert.equal(1, #calls)
      assert.equal("POST /corp/brand", calls[1].route)
      assert.is_false(err.retryable)
      assert.is_true(err.sent)
      t, calls = scripted { failure }
      _, err = no_sleep(function() return rcs(t, { retries = 3 }):resubmit_brand("BR.x", fx.brand()) end)
      assert.same({ 1, "PUT /corp/brand/{brandId}", false }, { #calls, calls[1].route, err.retryable })
    end
  end)

  it("is what a request without a route, or with a route not in the table, is", function()
    local core = require "bizreg.core"
    for _, route in ipairs { false, "GET /not/in/the/table" } do
      local c = rcs(scripted { RESET })
      local ctx = { deadline = core.now() + 10, sleep = function() end }
      local calls = 0
      ctx.send = function() calls = calls + 1 return nil, RESET[2] end
      local res, err = c:send(ctx, { method = "GET", path = "/corp/acct/brand/BR.x", route = route or nil })
      assert.is_nil(res)
      assert.equal(1, calls)
      assert.is_false(err.retryable)
      assert.is_true(err.sent)
    end
  end)
end)

-- Every request the library sends today names a route of the table, whose method and path
-- template match what goes on the wire (a new op without a route would be "once": safe, but
-- this lists the ones that exist).
describe("every request names its route", function()
  local fx = require "spec.helpers.fixtures"
  local sent = {}
  local function answer(req)
    sent[#sent + 1] = req
    local path = req.url:match("^https?://[^/]+(/[^?]*)")
    if path:find("/token$") then return { status = 200, headers = {}, body = '{"accessToken":"eyJhbGciOi.abc.def","expiresIn":"3600"}' } end
    if path:find("exchange%-token$") then return { status = 200, headers = {}, body = '{"token":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}' } end
    return { status = 200, headers = {}, body = BRAND }
  end
  local function template_matches(route, req)
    local method, template = route:match("^(%u+) (.*)$")
    local pattern = "^https?://[^/]+" .. (req.url:find("/api/1%.1/") and "/api/1%.1" or "")
      .. template:gsub("[%-%.]", "%%%0"):gsub("{%w+}", "[^/?]+") .. "$"
    return method == req.method and req.url:gsub("%?.*$", ""):find(pattern) ~= nil
  end

  it("RCS and KOS, token calls included", function()
    local r = bizreg.rcs { base_url = "https://rcs.example.invalid/api/1.1", client_id = "acct",
      client_secret = "SK.secret-0123456789", person_id = "acct", transport = answer, retries = 0 }
    r:get_brand("BR.x")
    r:list_brands()
    r:find_brands { name = "n" }
    r:brand_categories()
    r:wait_for_approval("BR.x", { interval = 1, timeout = 5 })
    r:register_brand(fx.brand(), { check_categories = false })
    r:resubmit_brand("BR.x", fx.brand())
    r:register_chatbots("BR.x", { chatbots = { { mdn = "0212345678", subTitle = "t" } },
      subNumCertificate = { data = fx.images.pdf(4096), filename = "c.pdf" } })
    local k = bizreg.kos { base_url = "https://crm.example.invalid", api_key = "11111111-2222-4333-8444-555555555555",
      transport = answer, retries = 0 }
    k:register_visitor_images { images = { { fileName = "a.jpg", visitorId = "v" } } }
    k:search_visitors { chartNumber = "12345" }
    local seen = {}
    for _, req in ipairs(sent) do
      assert.is_string(req.route, req.method .. " " .. req.url)
      assert.equal("string", type(routes.ROUTES[req.route]), req.route)
      assert.is_true(template_matches(req.route, req), req.route .. " vs " .. req.method .. " " .. req.url)
      seen[req.route] = true
    end
    for _, route in ipairs { "POST /token", "GET /corp/{personId}/brand/{brandId}", "GET /corp/{personId}/brand",
        "GET /corp/brand/categories", "POST /corp/brand", "PUT /corp/brand/{brandId}", "POST /brand/{brandId}/chatbot",
        "POST /open/authorization/commands/exchange-token", "POST /image/open/v1/commands/register-visitor-images",
        "POST /visitor/open/v1/queries/search-visitors" } do
      assert.is_true(seen[route], route)
    end
  end)
end)
