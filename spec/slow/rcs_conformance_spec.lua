-- RCS conformance (issue 15): every documented error code of every RCS call, read from the
-- OpenAPI document itself (spec/fixtures/rcs-openapi-1.1.12.yaml, the public document as
-- published: a fresh clone and the Debian roots have no ../shared; codes copied by hand would drift),
-- answered by the sandbox in the server's dialect (POST /_sandbox/dialect): codes as JSON strings
-- and as integers, the Fail envelope in its own status and inside an HTTP 200, through blocking
-- calls, jobs and the ngx transport. Each case asserts the mapped error (or result) field by
-- field and the sandbox's count of bodies received: one per call, never a second write (a
-- renewal after 61003/61004 sends once more, as the token was refused).
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"
local calls = require "spec.helpers.calls"
local socket = require "socket"

-- ---- the codes the document lists for its Fail answer (oneOf 204/401/403/400 ErrorInfo) ----

local function spec_path()
  for _, p in ipairs { "spec/fixtures/rcs-openapi-1.1.12.yaml" } do
    local f = io.open(p, "rb")
    if f then f:close() return p end
  end
end

-- code -> { status, message } from the ErrorInfo schemas' descriptions, in document order.
local function documented_codes(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  local list = {}
  for status in ("204 401 403 400"):gmatch("%d+") do
    local a = assert(text:find("\n    " .. status .. "ErrorInfo:\n", 1, true), status .. "ErrorInfo")
    local b = text:find("\n    %S", a + 10) or #text  -- the next schema
    local block = text:sub(a, b)
    local n = 0
    for line in block:gmatch("[^\n]+") do
      local code, msg = line:match("^%s+%-?%s*(6%d%d%d%d)%s+\"([^\"]*)\"")
      if not code then code, msg = line:match("^%s+(6%d%d%d%d)%s+(%S.-)%s*$") end  -- 60004  No Content
      if code and not list[code] then
        list[#list + 1] = code
        list[code] = { status = tonumber(status), message = (msg:gsub("%s+$", "")) }
        n = n + 1
      end
    end
    assert(n > 0, "no codes read from " .. status .. "ErrorInfo")
  end
  return list
end

local SPEC = spec_path()
local CODES = SPEC and documented_codes(SPEC) or {}

-- Every code under Lua 5.4 (the suite's first interpreter); under the others (5.1-5.3, LuaJIT:
-- their number handling is what differs) the codes of each status, the renewing ones and
-- the first and last of the 400 list, so that make test stays short.
local CODES_USED = CODES
if _VERSION ~= "Lua 5.4" or rawget(_G, "jit") then
  CODES_USED = {}
  for _, code in ipairs(CODES) do
    if ({ ["60004"] = 1, ["61001"] = 1, ["61003"] = 1, ["61004"] = 1, ["61007"] = 1, ["63001"] = 1, ["63002"] = 1,
      ["64001"] = 1, ["64316"] = 1, ["64336"] = 1 })[code] or code == CODES[#CODES] then
      CODES_USED[#CODES_USED + 1] = code
    end
  end
end

-- ---- the ngx transport over luasocket (cosocket API subset it uses) ---------------------

local function fake_ngx()
  local function tcp()
    local s = { sock = socket.tcp(), read_timeout = 5 }
    function s:settimeouts(c, _, r)
      self.sock:settimeout(c / 1000)
      self.read_timeout = r / 1000
    end
    function s:settimeout(ms) self.read_timeout = ms / 1000 end
    function s:connect(host, port) local ok, err = self.sock:connect(host, port) if not ok then return nil, err end return 1 end
    function s:getreusedtimes() return 0 end
    function s:sslhandshake() return nil, "no TLS here" end
    function s:send(data)
      if type(data) == "table" then data = table.concat(data) end
      self.sock:settimeout(self.read_timeout)
      local n, err = self.sock:send(data)
      if not n then return nil, err end
      return n
    end
    -- what has arrived, up to max bytes (at least one byte, or an error)
    function s:receiveany(max)
      self.sock:settimeout(self.read_timeout)
      local first, err = self.sock:receive(1)
      if not first then return nil, err end
      if max <= 1 then return first end
      self.sock:settimeout(0)
      local rest, _, partial = self.sock:receive(max - 1)
      return first .. (rest or partial or "")
    end
    function s:setkeepalive() self.sock:close() return 1 end  -- no pool here: each call connects
    function s:close() self.sock:close() return 1 end
    return s
  end
  return { socket = { tcp = tcp }, now = socket.gettime, sleep = socket.sleep }
end

-- ---- the calls -----------------------------------------------------------------------

local CERT = fx.file("conformance-cert.pdf", function() return fx.images.pdf(2048) end)
local seq = 0
local function unique()
  seq = seq + 1
  return string.format("%d%04d", os.time() % 100000, seq)
end
-- A valid brand whose body is unique (the sandbox counts a repeated body as a resend); one
-- profile image for all (making one per call would cost more than the call).
local PNG = fx.png(400, 400)
local function brand_payload()
  return fx.brand { regBrand = { name = "테스트브랜드", description = "conformance " .. unique(), tel = "09046123177",
    categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } } },
    brandProfile = { data = PNG, filename = "profile.png" } }
end
local function chatbot_payload()
  local n = unique()
  return { chatbots = { { mdn = "031" .. n:sub(-7), subTitle = "방" .. n:sub(-4) } }, subNumCertificate = CERT }
end

-- name -> { endpoint, args(sb) -> op arguments, ok(res) asserts a success, no_content = what a
-- 60004 answer gives: "empty" (an empty list) or "decode" (no answer to the call's question) }
local OPS = {
  register_brand = { endpoint = "rcs.register_brand", write = true, no_content = "decode",
    args = function() return { brand_payload() } end,
    ok = function(res) assert.matches("^BR%.", res.brandId) end },
  resubmit_brand = { endpoint = "rcs.resubmit_brand", write = true, no_content = "decode",
    args = function(sb) return { sb:brands({ status = "반려" })[1], brand_payload() } end,
    ok = function(res) assert.matches("^BR%.", res.brandId) end },
  register_chatbots = { endpoint = "rcs.register_chatbots", write = true, no_content = "decode",
    args = function(sb) return { sb:brands()[1], chatbot_payload() } end,
    ok = function(res) assert.equal(1, #res.result) end },
  get_brand = { endpoint = "rcs.get_brand", no_content = "decode",
    args = function(sb) return { sb:brands()[1] } end,
    ok = function(res) assert.matches("^BR%.", res.brand.brandId) end },
  list_brands = { endpoint = "rcs.list_brands", no_content = "empty", list = "brands",
    args = function() return {} end,
    ok = function(res) assert.is_table(res.brands) end },
  brand_categories = { endpoint = "rcs.brand_categories", no_content = "empty", list = "categories",
    args = function() return {} end,
    ok = function(res) assert.is_true(#res.categories > 0) end },
}
local OP_NAMES = {}
for name in pairs(OPS) do OP_NAMES[#OP_NAMES + 1] = name end
table.sort(OP_NAMES)

local unpack_ = table.unpack or unpack

-- Runs fn with the fake `ngx` global in place for the "ngx" path, and removes it whatever happens.
local function on_path(path, fn)
  if path == "ngx" then rawset(_G, "ngx", fake_ngx()) end
  local ok, e = pcall(fn)
  rawset(_G, "ngx", nil)
  assert(ok, e)
end

-- One call by path: "blocking" (libcurl), "job" (start + poll), "ngx" (the ngx transport).
local function run(c, path, name, args)
  if path == "job" then
    local job = c:start(name, unpack_(args))
    while not job.done do bizreg.poll(0.05) end
    return job:result()
  end
  return c[name](c, unpack_(args))
end

describe("RCS conformance: every documented code of every call", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)

  it("reads the codes from the OpenAPI document", function()
    assert.truthy(SPEC, "rcs-openapi-1.1.12.yaml not found")
    assert.same({ status = 204, message = "No Content" }, CODES["60004"])
    assert.same({ status = 401, message = "Token has expired" }, CODES["61004"])
    assert.same({ status = 403, message = "No Brand Permission" }, CODES["63001"])
    assert.same({ status = 400, message = "Invalid brandId" }, CODES["64316"])
    assert.is_true(#CODES >= 100, #CODES .. " codes")
  end)

  local function client(path, extra)
    local o = { person_id = calls.CLIENT_ID, categories_ttl = 0, retries = 0 }
    if path == "ngx" then o.transport = require "bizreg.transport.ngx" end
    for k, v in pairs(extra or {}) do o[k] = v end
    return calls.rcs_client(sb, o)
  end

  -- Expected error fields of code in the form (codes, in200). sent: false for the token
  -- step's errors (the call's own request never left), else true.
  local function expect_error(err, code, doc, in200, label, sent)
    local http_status = (in200 or doc.status == 204) and 200 or doc.status
    assert.same({ kind = "http", code = code, status = doc.status, http_status = http_status, message = doc.message,
      retryable = false, sent = sent ~= false },
      { kind = err.kind, code = err.code, status = err.status, http_status = err.http_status, message = err.message,
        retryable = err.retryable, sent = err.sent }, label)
  end

  -- One op through every code: the non-renewing codes armed at once (in order), then each
  -- renewing one on its own (a real answer follows it). Counts checked after every call.
  local function op_cases(c, path, name, form, label)
    local op = OPS[name]
    local args = op.args(sb)  -- an armed answer does not depend on the brand's state
    local plain, renewing = {}, {}
    for _, code in ipairs(CODES_USED) do
      -- a 401 61003/61004 renews the token once and sends the request once more (the token was
      -- refused: nothing was processed); inside a 200 it is an error like any other
      local renew = (code == "61003" or code == "61004") and not form[2]
      if renew then renewing[#renewing + 1] = code
      else plain[#plain + 1] = { endpoint = op.endpoint, code = code, message = CODES[code].message } end
    end
    sb:dialect { answer = plain }
    -- blocking: the counts after every call; jobs and ngx: after all the codes of the op (the
    -- same totals, at a third of the control calls)
    local exact = path == "blocking"
    local prev = sb:stats()
    local want = { bodies = 0, dups = 0, tokens = 0 }
    local function counts(case)
      local now = sb:stats()
      local e = op.endpoint
      assert.equal(prev.received["rcs.token"] + want.tokens, now.received["rcs.token"], case .. ": token calls")
      assert.equal(prev.received[e] + want.bodies, now.received[e], case .. ": bodies received")
      if op.write then  -- (GETs have no body) the renewal's resend is the one allowed second body
        assert.equal(prev.duplicates[e] + want.dups, now.duplicates[e], case .. ": bodies sent twice")
      end
      prev, want = now, { bodies = 0, dups = 0, tokens = 0 }
    end
    local function one(code, renew)
      local doc, case = CODES[code], name .. " " .. code .. " (" .. label .. ")"
      local res, err = run(c, path, name, args)
      want.bodies, want.dups = want.bodies + (renew and 2 or 1), want.dups + (renew and 1 or 0)
      want.tokens = want.tokens + (renew and 1 or 0)
      if renew then
        assert(res, case .. ": " .. tostring(err))
        op.ok(res)
      elseif code == "60004" and op.no_content == "empty" then
        assert(res, case .. ": " .. tostring(err))
        assert.same({ {}, "60004", 204 }, { res[op.list], res.code, res.status }, case)
      elseif code == "60004" then
        assert.is_nil(res, case)
        assert.same({ "decode", true, false }, { err.kind, err.sent, err.retryable }, case)
        if op.write then assert.truthy(err.message:find(name == "register_brand" and "find_brands" or
          name == "resubmit_brand" and "get_brand" or "RCS Biz Center", 1, true), case .. ": " .. err.message) end
      else
        assert.is_nil(res, case)
        expect_error(err, code, doc, form[2] ~= nil, case)
      end
      if exact then counts(case) end
    end
    for _, a in ipairs(plain) do one(a.code, false) end
    for _, code in ipairs(renewing) do
      args = op.args(sb)  -- a real answer follows: a fresh brand, new numbers
      sb:dialect { answer = { endpoint = op.endpoint, code = code, message = CODES[code].message } }
      one(code, true)
    end
    counts(name .. " (" .. label .. ")")
    assert.same({}, sb:dialect().answers, "every armed answer was used")
    return #plain + #renewing
  end

  for _, path in ipairs { "blocking", "job", "ngx" } do
    for _, form in ipairs { { "string" }, { "integer" }, { "integer", 200 } } do
      local label = path .. ", codes as " .. form[1] .. (form[2] and ", Fail inside HTTP 200" or "")
      it(label, function()
        on_path(path, function()
          sb:reset()
          sb:dialect { codes = form[1], fail_status = form[2] }
          local c = client(path)
          assert(run(c, path, "list_brands", {}))  -- the client's first token: not one the cases count
          local cases = 0
          for _, name in ipairs(OP_NAMES) do cases = cases + op_cases(c, path, name, form, label) end
          assert.equal(#OP_NAMES * #CODES_USED, cases)
          c:close()
        end)
      end)
    end

    it("token call: every documented code (" .. path .. "), nothing of the call sent", function()
      on_path(path, function()
        sb:reset()
        local c = client(path)  -- a failed token call leaves no token: each call fetches again
        for _, form in ipairs { "string", "integer" } do
          local armed = {}
          for i, code in ipairs(CODES_USED) do
            armed[i] = { endpoint = "rcs.token", code = code, message = CODES[code].message }
          end
          sb:dialect { codes = form, answer = armed }
          local prev = sb:stats()
          for _, code in ipairs(CODES_USED) do
            local doc, case = CODES[code], "token " .. code .. " (" .. path .. ", " .. form .. ")"
            local res, err = run(c, path, "list_brands", {})
            local now = sb:stats()
            assert.is_nil(res, case)
            if code == "60004" then
              assert.same({ "decode", 200 }, { err.kind, err.status }, case)
            else
              -- 61003/61004 of the token call itself: no renewal
              expect_error(err, code, doc, false, case, false)
              assert.equal("token", err.step, case)
            end
            assert.equal(prev.received["rcs.token"] + 1, now.received["rcs.token"], case .. ": one token call")
            assert.equal(0, now.received["rcs.list_brands"], case .. ": the call was not sent")
            prev = now
          end
        end
        c:close()
      end)
    end)
  end
end)

describe("RCS conformance: the spec's examples and the dialect's answers", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra)
    local o = { person_id = calls.CLIENT_ID, categories_ttl = 0, retries = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return calls.rcs_client(sb, o)
  end

  for _, form in ipairs { "string", "integer", "float" } do
    it("gives the same results whatever the code type (" .. form .. ")", function()
      sb:dialect { codes = form }
      local c = client()
      local id = sb:brands({ name = "바른치과" })[1]
      local reg = assert(c:register_brand(brand_payload()))
      assert.same({ "20000000", 200 }, { reg.code, reg.status })
      assert.matches("^BR%.", reg.brandId)
      local got = assert(c:get_brand(id))
      assert.same({ "20000000", 200, id, "바른치과" }, { got.code, got.status, got.brand.brandId, got.brand.name })
      local page = assert(c:list_brands())
      assert.same({ "20000000", 2 }, { page.code, #page.brands })
      local cats = assert(c:brand_categories())
      assert.equal("20000000", cats.code)
      local found = assert(c:find_brands { name = "바른치과" })
      assert.same({ id }, { found.brands[1].brandId })
      assert.equal(1, sb:stats().received["rcs.token"])
      c:close()
    end)
  end

  for _, how in ipairs { "204", "60004" } do
    it("reads an empty brand list answered " .. how .. " as an empty page, in list_brands, find_brands and each_brand", function()
      sb:dialect { codes = "integer", empty_list = how }
      local c = client()
      local page = assert(c:list_brands())
      assert.same({ {}, "60004", 204 }, { page.brands, page.code, page.status })
      assert.same({ brands = {}, pages = 1 }, assert(c:find_brands { name = "없음" }))
      local n = 0
      for b, err in c:each_brand() do assert(b, tostring(err)) n = n + 1 end
      assert.equal(0, n)
      c:close()
    end)
  end

  for _, form in ipairs { "absolute", "relative", "past", "epoch_ms" } do
    it("expiresIn " .. form .. ": 5 calls within a token's life make 1 token call", function()
      sb:config { rcs_expires_in = form }
      local c = client()
      local id = sb:brands()[1]
      for _ = 1, 5 do assert(c:get_brand(id)) end
      assert.equal(1, sb:stats().received["rcs.token"])
      assert.equal(5, sb:stats().received["rcs.get_brand"])
      c:close()
    end)
  end

  it("the spec's token example (expiresIn 1568694883, integer codes) keeps the token token_lifetime s, with a token event", function()
    sb:config { rcs_expires_in = "past" }
    sb:dialect { codes = "integer" }
    local evs = {}
    local c = client { token_lifetime = 900, on_event = function(ev) if ev.type == "token" then evs[#evs + 1] = ev end end }
    assert(c:list_brands())
    assert.equal(1, #evs, require("cjson").encode(evs))
    assert.same({ "fetched", 900 }, { evs[1].action, evs[1].expires_in })
    assert.equal("expiresIn 1568694883 is in the past: kept 900 s", evs[1].note)
    c:close()
  end)

  for _, shape in ipairs { "empty", "absent" } do
    for _, w in ipairs {
      { "register_brand", "rcs.register_brand", function() return { brand_payload() } end, "find_brands" },
      { "resubmit_brand", "rcs.resubmit_brand", function(s) return { s:brands({ status = "반려" })[1], brand_payload() } end, "get_brand" },
      { "register_chatbots", "rcs.register_chatbots", function(s) return { s:brands()[1], chatbot_payload() } end, "RCS Biz Center" },
    } do
      for _, path in ipairs { "blocking", "job" } do
        it(w[1] .. ": a 2xx without result (" .. shape .. ", " .. path .. ") is an unknown outcome, sent once", function()
          sb:dialect { codes = "integer", no_result = { endpoint = w[2], shape = shape } }
          local c = client { retries = 2 }
          local args = w[3](sb)
          local res, err = run(c, path, w[1], args)
          assert.is_nil(res)
          assert.same({ "decode", true, false, 200 }, { err.kind, err.sent, err.retryable, err.status })
          assert.truthy(err.message:find(w[4], 1, true), err.message)
          assert.same({ 1, 0 }, { sb:stats().received[w[2]], sb:stats().duplicates[w[2]] })
          c:close()
        end)
      end
    end
  end

  it("a Fail envelope inside a 200 is never retried, even with retries and a 429 status in it", function()
    sb:dialect { codes = "integer", fail_status = 200, answer = { endpoint = "rcs.register_brand", code = "64336",
      message = "required value: [name]" } }
    local c = client { retries = 3 }
    local _, err = c:register_brand(brand_payload())
    assert.same({ "http", "64336", 400, 200, false, true },
      { err.kind, err.code, err.status, err.http_status, err.retryable, err.sent })
    sb:dialect { answer = { endpoint = "rcs.register_brand", code = "64000", status = 429, message = "slow down" } }
    local _, err2 = c:register_brand(brand_payload())
    assert.same({ "http", "64000", 429, 200, false }, { err2.kind, err2.code, err2.status, err2.http_status, err2.retryable })
    assert.equal(2, sb:stats().received["rcs.register_brand"])
    c:close()
  end)

  it("the sandbox's dialect control refuses what it does not know, and lists what is armed", function()
    assert.equal(400, (sb:request("POST", "/_sandbox/dialect", { body = '{"codes":"hex"}' })))
    assert.equal(400, (sb:request("POST", "/_sandbox/dialect", { body = '{"answer":{"endpoint":"rcs.nope","code":"1"}}' })))
    assert.equal(400, (sb:request("POST", "/_sandbox/dialect", { body = '{"bogus":1}' })))
    local d = sb:dialect { codes = "float", answer = { endpoint = "rcs.get_brand", code = "63001", count = 2 } }
    assert.same({ "float", 1, "63001", 403, 2 }, { d.codes, #d.answers, d.answers[1].code, d.answers[1].status, d.answers[1].count })
  end)
end)
