-- RCS register_brand / resubmit_brand against the sandbox: token flow, wire bytes, retries.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local helpers = require "spec.helpers.calls"
local fx = require "spec.helpers.fixtures"
local shell = require "spec.helpers.shell"

local ID, SECRET = "sandbox", "SK.sandboxsecret1"

local function payload(over) return fx.brand(over) end

local function chatbot_payload()
  return payload {
    chatbots = { { mdn = "0212345678", subTitle = "대표번호" }, { mdn = "15225739", subTitle = "상담", rcsReply = "0", display = "11", inputField = 0 } },
    subNumCertificate = fx.file("cert.pdf", function() return fx.images.pdf(4096) end),
    brandBackground = fx.file("bg-600.jpg", function() return fx.jpeg(600, 600, { progressive = true }) end),
  }
end

describe("RCS end to end", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra) return helpers.rcs_client(sb, extra) end

  it("registers a brand and returns the envelope's fields", function()
    local rcs = client()
    local res, err = rcs:register_brand(chatbot_payload())
    assert.is_nil(err and tostring(err))
    assert.matches("^BR%.%w%w%w%w%w%w%w%w%w%w$", res.brandId)
    assert.equal("20000000", res.code)
    assert.equal(200, res.status)
    assert.equal(res.brandId, res.result[1].brandId)
    assert.equal(1, sb:stats().registered.brands)
    rcs:close()
  end)

  it("streams files from disk to exactly the bytes prepare_brand describes", function()
    local rcs = client()
    local p = chatbot_payload()
    assert(rcs:register_brand(p))
    local reqs = sb:requests()
    local last = reqs[#reqs]
    assert.equal("/api/1.1/corp/brand", last.path)
    local boundary = last.content_type:match("boundary=(.+)$")
    assert.truthy(boundary)
    local ref = assert(bizreg.prepare_brand(p, { boundary = boundary }))
    assert.equal("multipart/form-data; boundary=" .. boundary, ref.headers["Content-Type"])
    local got = sb:body()
    assert.equal(#ref.body, #got)
    assert.equal(ref.body, got)
    rcs:close()
  end)

  it("fetches one token for ten registrations", function()
    local rcs = client()
    for _ = 1, 10 do assert(rcs:register_brand(payload())) end
    local st = sb:stats()
    assert.equal(1, st.by_endpoint["rcs.token"])
    assert.equal(10, st.by_endpoint["rcs.register_brand"])
    assert.equal(1, st.connections)
    rcs:close()
  end)

  it("renews the token once on 401 61004 and resends once", function()
    local rcs = client()
    assert(rcs:register_brand(payload()))
    sb:config { expire_tokens = true }
    local res, err = rcs:register_brand(payload())
    assert.is_nil(err and tostring(err))
    assert.truthy(res.brandId)
    local st = sb:stats()
    assert.equal(2, st.by_endpoint["rcs.token"])
    assert.equal(3, st.by_endpoint["rcs.register_brand"])
    assert.equal(2, st.registered.brands)
    rcs:close()
  end)

  it("accepts the token answer with or without the envelope, and relative expiresIn", function()
    sb:config { rcs_token_envelope = true, rcs_expires_in = "relative" }
    local rcs = client()
    assert(rcs:register_brand(payload()))
    assert(rcs:register_brand(payload()))
    assert.equal(1, sb:stats().by_endpoint["rcs.token"])
    rcs:close()
  end)

  it("renews a token before its announced expiry, without a 401", function()
    sb:config { rcs_token_ttl = 2 }
    local rcs = client()
    assert(rcs:register_brand(payload()))
    require("bizreg.core").sleep(1.2)  -- past ttl minus the renewal margin (ttl/2 for short tokens)
    assert(rcs:register_brand(payload()))
    local st = sb:stats()
    assert.equal(2, st.by_endpoint["rcs.token"])
    assert.equal(2, st.by_endpoint["rcs.register_brand"])
    rcs:close()
  end)

  it("reports bad credentials as the server's 401 and never shows the secret", function()
    local rcs = client { client_secret = "SK.wrongsecret99" }
    local res, err = rcs:register_brand(payload())
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(401, err.status)
    assert.equal("61006", err.code)
    assert.equal("Invalid secret key", err.message)
    for _, s in ipairs { tostring(err), err.body or "" } do assert.is_nil(s:find("SK.wrongsecret99", 1, true)) end
    assert.equal(0, sb:stats().by_endpoint["rcs.register_brand"])
    rcs:close()
  end)

  it("does not renew a static token, and maps 61003", function()
    local rcs = client { client_id = false, client_secret = false, token = "expired.jwt.token" }
    local res, err = rcs:register_brand(payload())
    assert.is_nil(res)
    assert.equal(401, err.status)
    assert.equal("61003", err.code)
    assert.equal("Invalid token", err.message)
    assert.equal(1, sb:stats().requests)
    rcs:close()
  end)

  it("never resends a brand POST that reached the server (500)", function()
    sb:config { fail_next = { status = 500, count = 1, endpoint = "rcs.register_brand" } }
    local rcs = client { retries = 3 }
    local res, err = rcs:register_brand(payload())
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(500, err.status)
    assert.equal(1, sb:stats().by_endpoint["rcs.register_brand"])
    rcs:close()
  end)

  it("never resends after a timeout once the body was sent", function()
    local rcs = client { retries = 3, timeout = 0.4 }
    assert(rcs:register_brand(payload()))  -- token first, without delay
    sb:config { delay_ms = 1500 }
    local res, err = rcs:register_brand(payload())
    assert.is_nil(res)
    assert.equal("OPERATION_TIMEDOUT", err.code)
    assert.equal(3, sb:stats().requests)  -- token, first brand, the timed-out one: no resend
    rcs:close()
  end)

  it("retries 429 (nothing was processed) and then registers", function()
    sb:config { fail_next = { status = 429, count = 2, endpoint = "rcs.register_brand" } }
    local rcs = client { retries = 2 }
    local res, err = rcs:register_brand(payload())
    assert.is_nil(err and tostring(err))
    assert.truthy(res.brandId)
    assert.equal(3, sb:stats().by_endpoint["rcs.register_brand"])
    assert.equal(1, sb:stats().registered.brands)
    rcs:close()
  end)

  it("maps a server-only rejection (unknown category) into the error fields", function()
    local p = payload()
    p.regBrand.categoryId, p.regBrand.subCategoryId = "ZZZ", "ZZZ001"
    local rcs = client()
    local res, err = rcs:register_brand(p)
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(400, err.status)
    assert.equal("64337", err.code)
    assert.equal("Brand Creation Property Value Error (categoryId)", err.message)
    assert.is_false(err.retryable)
    rcs:close()
  end)

  it("sends nothing for an invalid package and lists every violation", function()
    local rcs = client()
    local p = payload { chatbots = { { mdn = "01012345678", subTitle = "x" } } }
    p.regBrand.name = nil
    local res, err = rcs:register_brand(p)
    assert.is_nil(res)
    assert.equal("validation", err.kind)
    assert.equal("64336", err.code)
    assert.equal(3, #err.errorProperties)
    assert.equal(0, sb:stats().requests)
    rcs:close()
  end)

  it("resubmits a brand with PUT /corp/brand/{brandId}", function()
    local rcs = client()
    local res = assert(rcs:register_brand(payload()))
    local again, err = rcs:resubmit_brand(res.brandId, payload())
    assert.is_nil(err and tostring(err))
    assert.equal(res.brandId, again.brandId)
    local reqs = sb:requests()
    assert.equal("PUT", reqs[#reqs].method)
    assert.equal("/api/1.1/corp/brand/" .. res.brandId, reqs[#reqs].path)
    local _, err2 = rcs:resubmit_brand("BR.unknown0000", payload())
    assert.equal("validation", err2.kind)  -- 14 characters: not a brandId
    local _, err3 = rcs:resubmit_brand("BR.unknown000", payload())
    assert.equal("http", err3.kind)
    assert.equal("64316", err3.code)
    local _, err4 = rcs:resubmit_brand("../token", payload())
    assert.equal("validation", err4.kind)
    assert.equal("64316", err4.code)
    rcs:close()
  end)

  it("reports upload progress up to the total", function()
    local calls = {}
    local rcs = client { on_progress = function(sent, total) calls[#calls + 1] = { sent, total } end }
    local p = payload {
      chatbots = { { mdn = "0212345678", subTitle = "t" } },
      subNumCertificate = fx.file("cert-5mib.pdf", function() return fx.images.pdf(5 * 1024 * 1024) end),
    }
    assert(rcs:register_brand(p))
    assert.is_true(#calls >= 2)
    for _, c in ipairs(calls) do  -- only the brand upload reports progress, not the token request
      assert.is_true(c[2] > 5 * 1024 * 1024, "progress reported for a " .. c[2] .. "-byte request")
    end
    local last = calls[#calls]
    assert.is_true(last[2] > 5 * 1024 * 1024)
    assert.equal(last[2], last[1])
    for i = 2, #calls do assert.is_true(calls[i][1] >= calls[i - 1][1]) end
    rcs:close()
  end)

  it("streams a 20 MiB certificate from disk with flat memory", function()
    local cert = fx.file("cert-20mib.pdf", function() return fx.images.pdf(20 * 1024 * 1024) end)
    -- a separate process of this interpreter, so its peak RSS measures only the upload
    local lua = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    local cmd = string.format("LUA_PATH='./lua/?.lua;./lua/?/init.lua;./?.lua;;' LUA_CPATH='./build/%s/?.so;;' " ..
      "%s bench/upload_rss.lua %s %s path 2>&1", lua, lua, sb.rcs_url, cert)
    local pipe = assert(shell.popen(cmd))
    local out = pipe:read("*a")
    pipe:close()
    local growth_kib = tonumber(out:match("(%d+)%s*$"))
    assert.is_number(growth_kib, out)
    assert.is_true(growth_kib < 4 * 1024, "peak RSS grew by " .. tostring(growth_kib) .. " KiB")
    assert.is_true(sb:stats().registered.brands >= 2)
  end)

  it("has one-shot forms", function()
    local o = { base_url = sb.rcs_url, client_id = ID, client_secret = SECRET }
    local res = assert(bizreg.register_brand(o, payload()))
    local again = assert(bizreg.resubmit_brand(o, res.brandId, payload()))
    assert.equal(res.brandId, again.brandId)
  end)
end)
