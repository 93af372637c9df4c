-- The transport seam (any function(req) -> res), the retry policy and error mapping,
-- exercised without a server.
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"

local IMAGES = { images = { { fileName = "a.jpg", visitorId = "v" } } }

-- A scripted transport: answers[i] is returned for call i; calls are recorded.
local scripted = require("spec.helpers.calls").scripted

local function kos(transport, extra)
  local o = { base_url = "https://crm.example.invalid/", token = "tok-0123456789", transport = transport, retry_max_wait = 0 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return bizreg.kos(o)
end

describe("custom transport", function()
  it("receives the full request and the client's settings", function()
    local t, calls = scripted { { { status = 200, headers = {}, body = "{}" } } }
    local res, err = kos(t, { timeout = 7, connect_timeout = 2, verify_tls = false, user_agent = "ua/1" }):register_visitor_images(IMAGES)
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    local req = calls[1]
    assert.equal("POST", req.method)
    assert.equal("https://crm.example.invalid/image/open/v1/commands/register-visitor-images", req.url)
    assert.equal(bizreg.prepare_visitor_images(IMAGES).body, req.body)
    assert.equal("application/json", req.headers["Content-Type"])
    assert.equal("Bearer tok-0123456789", req.headers["Authorization"])
    assert.equal("ua/1", req.headers["User-Agent"])
    assert.equal(7, req.timeout)
    assert.equal(2, req.connect_timeout)
    assert.is_false(req.verify_tls)
  end)

  it("gets the multipart body as one string identical to prepare_brand's", function()
    local t, calls = scripted { { { status = 200, headers = { ["Content-Type"] = "application/json" },
      body = '{"code":"20000000","desc":null,"result":[{"brandId":"BR.0a81DDlZjz"}],"status":200}' } } }
    local rcs = bizreg.rcs { base_url = "https://rbc.example.invalid/api/1.1", token = "jwt-token-1", transport = t }
    local p = fx.brand { brandProfile = fx.file("p400.png", function() return fx.png(400, 400) end) }
    local res = assert(rcs:register_brand(p))
    assert.equal("BR.0a81DDlZjz", res.brandId)
    assert.is_nil(res.desc)
    local boundary = calls[1].headers["Content-Type"]:match("boundary=(.*)")
    assert.equal(bizreg.prepare_brand(p, { boundary = boundary }).body, calls[1].body)
    assert.equal("https://rbc.example.invalid/api/1.1/corp/brand", calls[1].url)
  end)

  it("gets the multipart body as chunks and body_size when it is a table with body_chunks = true", function()
    local got = {}
    local t = setmetatable({ body_chunks = true }, { __call = function(_, req)
      got.kind, got.size = type(req.body), req.body_size
      local parts = {}
      for chunk in req.body do parts[#parts + 1] = chunk end
      got.n, got.body, got.ctype = #parts, table.concat(parts), req.headers["Content-Type"]
      return { status = 200, headers = { ["Content-Type"] = "application/json" },
        body = '{"code":"20000000","desc":null,"result":[{"brandId":"BR.0a81DDlZjz"}],"status":200}' }
    end })
    local rcs = bizreg.rcs { base_url = "https://rbc.example.invalid/api/1.1", token = "jwt-token-1", transport = t }
    -- a certificate by path larger than one chunk (64 KiB): several chunks, the file read as they go
    local cert = fx.file("cert-300k.pdf", function() return fx.images.pdf(300 * 1024) end)
    local p = fx.brand { brandProfile = fx.file("p400.png", function() return fx.png(400, 400) end),
      chatbots = { { mdn = "0212345678", subTitle = "t" } }, subNumCertificate = cert }
    assert.equal("BR.0a81DDlZjz", assert(rcs:register_brand(p)).brandId)
    assert.equal("function", got.kind)
    local want = bizreg.prepare_brand(p, { boundary = got.ctype:match("boundary=(.*)") }).body
    assert.equal(#want, got.size)
    assert.is_true(got.n >= 5, "chunks: " .. tostring(got.n))
    assert.is_true(want == got.body, "the chunks differ from prepare_brand's body")
  end)

  it("turns a transport failure into a transport error", function()
    local _, err = kos(scripted { { nil, "connection reset" } }, { retries = 0 }):register_visitor_images(IMAGES)
    assert.equal("transport", err.kind)
    assert.equal("TRANSPORT_ERROR", err.code)
    assert.equal("connection reset", err.message)
    assert.is_false(err.retryable)
    local _, err2 = kos(scripted { { "not a table" } }):register_visitor_images(IMAGES)
    assert.equal("transport", err2.kind)
    assert.equal("transport returned no status", err2.message)
  end)

  it("retries connect-phase failures only, up to `retries` times", function()
    local refused = { nil, { code = "COULDNT_CONNECT", message = "refused", sent = false } }
    local t, calls = scripted { refused, refused, { { status = 200, body = "{}" } } }
    assert(kos(t, { retries = 2 }):register_visitor_images(IMAGES))
    assert.equal(3, #calls)
    t, calls = scripted { refused }
    local _, err = kos(t, { retries = 1 }):register_visitor_images(IMAGES)
    assert.equal(2, #calls)
    assert.equal("COULDNT_CONNECT", err.code)
    assert.is_true(err.retryable)
    local sent = { nil, { code = "RECV_ERROR", message = "reset after send", sent = true } }
    t, calls = scripted { sent }
    _, err = kos(t, { retries = 5 }):register_visitor_images(IMAGES)
    assert.equal(1, #calls)
    assert.is_false(err.retryable)
  end)

  it("waits Retry-After on 429 within retry_max_wait, then gives the 429 back", function()
    local t, calls = scripted { { { status = 429, headers = { ["Retry-After"] = "0" }, body = "" } } }
    local _, err = kos(t, { retries = 2 }):register_visitor_images(IMAGES)
    assert.equal(3, #calls)
    assert.equal("http", err.kind)
    assert.equal(429, err.status)
    assert.is_true(err.retryable)
  end)

  it("maps a 2xx body that is not JSON to a decode error", function()
    local _, err = kos(scripted { { { status = 200, body = "<html>ok</html>" } } }):register_visitor_images(IMAGES)
    assert.equal("decode", err.kind)
    assert.equal(200, err.status)
    assert.equal("<html>ok</html>", err.body)
    local res = kos(scripted { { { status = 200, body = "" } } }):register_visitor_images(IMAGES)
    assert.same({}, res)
  end)

  it("maps a non-JSON error body and clips bodies to 4 KiB", function()
    local big = string.rep("x", 10000)
    local _, err = kos(scripted { { { status = 502, body = big } } }, { retries = 0 }):register_visitor_images(IMAGES)
    assert.equal("http", err.kind)
    assert.equal(502, err.status)
    assert.equal("HTTP 502", err.message)
    assert.equal(4096, #err.body)
    assert.is_false(err.retryable)  -- a gateway may have passed the request on
  end)

  it("accepts both server key forms for KOS error properties", function()
    local body = '{"status":400,"message":"InvalidCommandException","className":"InvalidCommandException",' ..
      '"errorProperties":[{"key":"images[2].memo","reason":"TooLong"},{"key":"memo","reason":"TooLong"},{"key":"images[0]","reason":"Required"}]}'
    local _, err = kos(scripted { { { status = 400, body = body } } }):register_visitor_images(IMAGES)
    assert.same({ { key = "memo", reason = "TooLong", index = 3 }, { key = "memo", reason = "TooLong" },
      { key = "images", reason = "Required", index = 1 } }, err.errorProperties)
    assert.equal("bizreg http error 400: InvalidCommandException — memo TooLong (item 3); memo TooLong; images Required (item 1)", tostring(err))
  end)

  it("scrubs secrets a server echoes back", function()
    local echo = function(req) return { status = 401, body = '{"message":"bad token ' .. req.headers.Authorization .. '"}' } end
    local _, err = kos(echo):register_visitor_images(IMAGES)
    assert.equal(401, err.status)
    assert.is_nil(err.body:find("tok-0123456789", 1, true))
    assert.truthy(err.body:find("Bearer ***", 1, true))
  end)

  it("scrubs secrets echoed by the token exchange too", function()
    local echo = function(req) return { status = 401, body = '{"message":"unknown key ' .. req.body .. '"}' } end
    local k = bizreg.kos { base_url = "http://127.0.0.1:1", api_key = "key-abcdef-123456", transport = echo }
    local _, err = k:register_visitor_images(IMAGES)
    assert.equal(401, err.status)
    assert.is_nil(err.body:find("key-abcdef-123456", 1, true))
    assert.is_nil(tostring(err):find("key-abcdef-123456", 1, true))
  end)

  it("lets errors raised by a transport through (programmer error)", function()
    assert.has_error(function() kos(function() error("boom") end):register_visitor_images(IMAGES) end)
  end)

  it("refuses start() with a custom transport", function()
    assert.has_error(function() kos(scripted { {} }):start("register_visitor_images", IMAGES) end)
  end)
end)

describe("error values", function()
  it("are recognisable and print on one line", function()
    local _, err = bizreg.prepare_visitor_images {}
    assert.is_true(bizreg.errors.is_error(err))
    assert.is_false(bizreg.errors.is_error({}))
    assert.is_nil(tostring(err):find("\n"))
  end)

  it("stay on one line when a server message has line breaks", function()
    local t = function() return { status = 500, body = '{"status":500,"message":"line one\nline two\r\nthree"}' } end
    local _, err = kos(t, { retries = 0 }):register_visitor_images(IMAGES)
    assert.equal("bizreg http error 500: line one line two three", tostring(err))
  end)

  it("summarise long violation lists", function()
    local items = {}
    for i = 1, 8 do items[i] = { fileName = "", visitorId = "v" } end
    local _, err = bizreg.prepare_visitor_images { images = items }
    assert.equal(8, #err.errorProperties)
    assert.truthy(tostring(err):find("+3 more", 1, true))
  end)
end)

describe("transport option", function()
  it("accepts a callable table (a transport module)", function()
    local calls = 0
    local t = setmetatable({}, { __call = function(_, req) calls = calls + 1; return { status = 200, body = "{}" } end })
    local c = bizreg.kos { base_url = "http://127.0.0.1:1", token = "token-t1", transport = t }
    assert.same({}, c:register_visitor_images(IMAGES))
    assert.equal(1, calls)
    assert.has_error(function() bizreg.kos { base_url = "http://x", transport = {} } end, "bizreg: option 'transport' must be a function")
  end)
end)
