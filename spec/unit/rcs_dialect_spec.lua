-- The servers' own dialect (issue 15), against a scripted transport: codes as JSON strings,
-- integers or floats; the Fail envelope inside any HTTP status; a 2xx without the documented
-- result; expiresIn in every form; tolerant reading of answers (RCS and KOS).
-- The same cases against the sandbox, through blocking calls, jobs and the ngx transport:
-- spec/slow/rcs_conformance_spec.lua.
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"

local SECRET = "SK.dialectsecret1"

-- A transport answering from a script: list of { status, body, headers } (or a function of
-- the request). Records every request; a request with no scripted answer fails the test.
local function scripted(script)
  local t = { sent = {} }
  setmetatable(t, { __call = function(self, req)
    self.sent[#self.sent + 1] = req
    local a = table.remove(script, 1)
    assert(a, "unexpected request " .. req.method .. " " .. req.url)
    if type(a) == "function" then a = a(req) end
    return { status = a[1], body = a[2], headers = a[3] or { ["content-type"] = "application/json" } }
  end })
  return t
end

local function count(t, pattern)
  local n = 0
  for _, r in ipairs(t.sent) do if r.url:find(pattern) then n = n + 1 end end
  return n
end

local TOKEN_OK = '{"accessToken":"eyJ.dialect.token1","expiresIn":"%s"}'
local function token(expires) return { 200, TOKEN_OK:format(expires or tostring(os.time() + 3600)) } end

local function rcs(script, extra)
  local t = scripted(script)
  local o = { base_url = "http://rcs.test/api/1.1", client_id = "acct", client_secret = SECRET,
    person_id = "acct", retries = 2, transport = t }
  for k, v in pairs(extra or {}) do o[k] = v end
  return bizreg.rcs(o), t
end

-- The last `answer` event among events (asserted present).
local function last_answer(events)
  local seen
  for _, ev in ipairs(events) do if ev.type == "answer" then seen = ev end end
  assert.truthy(seen, "an answer event")
  return seen
end

local function fail(status, code, message)
  return string.format('{"status":%d,"error":{"code":%s,"message":"%s"}}', status, code, message)
end

-- register_brand answered 200 with body: the unknown outcome (decode, sent, never retried,
-- find_brands in the message) and one body sent.
local function unknown_after_register(body)
  local c, t = rcs { token(), { 200, body } }
  local res, err = c:register_brand(fx.brand())
  assert.is_nil(res)
  assert.same({ "decode", true, false }, { err.kind, err.sent, err.retryable })
  assert.truthy(err.message:find("find_brands", 1, true), err.message)
  assert.equal(1, count(t, "/corp/brand$"))
end

-- fx.brand() with extra keys in regBrand.
local function brand(extra)
  local p = fx.brand()
  for k, v in pairs(extra) do p.regBrand[k] = v end
  return p
end

describe("RCS dialect: error codes of every JSON type", function()
  for _, form in ipairs { '"64316"', "64316", "64316.0", "6.4316e4" } do
    it("reads error.code " .. form .. " as the string \"64316\"", function()
      local c = rcs { token(), { 400, fail(400, form, "Invalid brandId") } }
      local res, err = c:get_brand("BR.0a81DDlZjz")
      assert.is_nil(res)
      assert.equal("http", err.kind)
      assert.equal("64316", err.code)
      assert.equal(400, err.status)
      assert.equal("Invalid brandId", err.message)
      assert.is_false(err.retryable)
    end)
  end

  it("keeps a code of another type raw and names it in an event", function()
    local events = {}
    local c = rcs({ token(), { 400, fail(400, "[1,2]", "odd") } }, { on_event = function(ev) events[#events + 1] = ev end })
    local _, err = c:get_brand("BR.0a81DDlZjz")
    assert.equal("http", err.kind)
    assert.is_nil(err.code)
    assert.equal("table", type(err.raw_code))
    local seen = last_answer(events)
    assert.same({ "error.code" }, seen.fields)
  end)

  it("reads the success code 20000000 (an integer) as the string \"20000000\"", function()
    local c = rcs { token(), { 200, '{"code":20000000,"status":200,"desc":null,"result":[{"brandId":"BR.0a81DDlZjz"}]}' } }
    local res = assert(c:register_brand(fx.brand()))
    assert.equal("20000000", res.code)
    assert.equal("BR.0a81DDlZjz", res.brandId)
    assert.equal(200, res.status)
  end)

  for _, form in ipairs { "61004", '"61004"', "61003", "61004.0" } do
    it("renews the token once on a 401 whose code is " .. form, function()
      local c, t = rcs { token(), { 401, fail(401, form, "Token has expired") }, token(),
        { 200, '{"code":20000000,"status":200,"result":[{"brandId":"BR.0a81DDlZjz"}]}' } }
      local res = assert(c:register_brand(fx.brand()))
      assert.equal("BR.0a81DDlZjz", res.brandId)
      assert.equal(2, count(t, "/token$"))
      assert.equal(2, count(t, "/corp/brand$"))
    end)
  end

  it("does not renew on a 401 with another code (61005, numeric)", function()
    local c, t = rcs { token(), { 401, fail(401, "61001", "Missing Authorization header") } }
    local _, err = c:register_brand(fx.brand())
    assert.equal("61001", err.code)
    assert.equal(401, err.status)
    assert.equal(1, count(t, "/token$"))
    assert.equal(1, count(t, "/corp/brand$"))
  end)
end)

describe("RCS dialect: the Fail envelope inside a 2xx", function()
  it("is an http error with the envelope's status and code, the HTTP status kept, never retried", function()
    local c, t = rcs { token(), { 200, fail(400, "64336", "required value: [name]") } }
    local res, err = c:register_brand(fx.brand())
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(400, err.status)
    assert.equal(200, err.http_status)
    assert.equal("64336", err.code)
    assert.equal("required value: [name]", err.message)
    assert.is_false(err.retryable)
    assert.is_true(err.sent)
    assert.equal(1, count(t, "/corp/brand$"))
  end)

  it("keeps the HTTP status when the envelope has none", function()
    local c = rcs { token(), { 200, '{"error":{"code":63001,"message":"No Brand Permission"}}' } }
    local _, err = c:get_brand("BR.0a81DDlZjz")
    assert.equal("http", err.kind)
    assert.equal(200, err.status)
    assert.equal(200, err.http_status)
    assert.equal("63001", err.code)
  end)

  it("a Fail envelope answering the token call is an http error", function()
    local c, t = rcs { { 200, fail(401, "61006", "Invalid secret key") } }
    local _, err = c:register_brand(fx.brand())
    assert.equal("http", err.kind)
    assert.equal("61006", err.code)
    assert.equal(401, err.status)
    assert.equal(200, err.http_status)
    assert.equal(0, count(t, "/corp/brand$"))
  end)
end)

describe("RCS dialect: a 2xx without the documented result", function()
  for _, body in ipairs { '{"code":"20000000","status":200,"result":[]}', '{"code":20000000,"status":200}',
    '{"code":"20000000","status":200,"result":[{"brandId":null}]}' } do
    it("after register_brand is an unknown outcome, never resent: " .. body, function()
      unknown_after_register(body)
    end)
  end

  it("after resubmit_brand points at get_brand", function()
    local c = rcs { token(), { 200, '{"code":"20000000","status":200,"result":[]}' } }
    local _, err = c:resubmit_brand("BR.0a81DDlZjz", fx.brand())
    assert.equal("decode", err.kind)
    assert.is_true(err.sent)
    assert.truthy(err.message:find("get_brand", 1, true), err.message)
  end)
end)

describe("RCS dialect: lists", function()
  it("reads HTTP 204 (no body) as an empty page", function()
    local c = rcs { token(), { 204, "" } }
    local page = assert(c:list_brands())
    assert.same({}, page.brands)
    assert.equal("60004", page.code)
  end)

  for _, status in ipairs { 200, 204 } do
    it("reads the 60004 No Content envelope (numeric code) in HTTP " .. status .. " as an empty page", function()
      local c = rcs { token(), { status, fail(204, "60004", "No Content") }, { status, fail(204, "60004", "No Content") } }
      local page = assert(c:list_brands { offset = 100, limit = 100 })
      assert.same({}, page.brands)
      assert.equal("60004", page.code)
      assert.equal(204, page.status)
      assert.same({ offset = 100, limit = 100 }, page.pagination)
      local found = assert(c.find_brands and c:find_brands { name = "x" } or nil)
      assert.same({}, found.brands)
    end)
  end
end)

describe("RCS dialect: tolerant reading", function()
  it("keeps unknown fields, reads null as absent, keeps a field of another type raw and names it", function()
    local events = {}
    local c = rcs({ token(), { 200, '{"code":20000000,"status":200,"desc":null,"traceId":"t1","result":[{"brandId":"BR.0a81DDlZjz",'
      .. '"name":"바른치과","tel":null,"status":"승인","menus":"call","newField":{"a":1}}]}' } },
      { on_event = function(ev) events[#events + 1] = ev end })
    local res = assert(c:get_brand("BR.0a81DDlZjz"))
    assert.equal("20000000", res.code)
    assert.equal("바른치과", res.brand.name)
    assert.is_nil(res.brand.tel)
    assert.equal("call", res.brand.menus)  -- raw: a string where the spec says array
    assert.same({ a = 1 }, res.brand.newField)
    local seen = last_answer(events)
    assert.same({ "result[1].menus" }, seen.fields)
  end)

  it("pages with a total sent as a string", function()
    local page_body = '{"code":20000000,"status":200,"result":[{"brandId":"BR.a","name":"x"}],'
      .. '"pagination":{"total":"1","offset":"0","limit":100}}'
    local c, t = rcs { token(), { 200, page_body }, { 200, page_body } }
    local page = assert(c:list_brands())
    assert.equal(1, #page.brands)
    assert.same({ total = 1, offset = 0, limit = 100 }, page.pagination)
    local found = assert(c:find_brands { name = "x" })
    assert.equal(1, #found.brands)
    assert.equal(1, found.pages)
    assert.equal(2, count(t, "/brand%?"))
  end)
end)

describe("RCS dialect: expiresIn", function()
  local now = os.time()
  local cases = {
    { "epoch seconds in the past (the spec's example)", "1568694883", "default" },
    { "epoch seconds", tostring(now + 7200), "announced" },
    { "epoch milliseconds", string.format("%d", (now + 7200) * 1000), "announced" },
    { "seconds from now", "7200", "announced" },
    { "seconds from now, as a JSON number", 7200, "announced" },
    { "absurdly far", tostring(now + 10 * 366 * 86400), "default" },
    { "not a number", "soon", "default" },
    { "zero", "0", "default" },
  }
  for _, case in ipairs(cases) do
    it(case[1] .. ": 5 calls make 1 token call", function()
      local events = {}
      local tok = type(case[2]) == "number" and { 200, '{"accessToken":"eyJ.dialect.token1","expiresIn":' .. case[2] .. '}' }
        or token(case[2])
      local script = { tok }
      for _ = 1, 5 do script[#script + 1] = { 200, '{"code":"20000000","status":200,"result":[{"brandId":"BR.0a81DDlZjz"}]}' } end
      local c, t = rcs(script, { on_event = function(ev) events[#events + 1] = ev end })
      for _ = 1, 5 do assert(c:get_brand("BR.0a81DDlZjz")) end
      assert.equal(1, count(t, "/token$"))
      local ev
      for _, e in ipairs(events) do if e.type == "token" then ev = e end end
      assert.truthy(ev)
      if case[3] == "default" then
        assert.equal("expiresIn", ev.note and ev.note:match("^expiresIn"))
        assert.equal(3600, ev.expires_in)
      else
        assert.is_nil(ev.note)
        assert.is_true(math.abs(ev.expires_in - 7200) <= 2)
      end
    end)
  end

  it("token_lifetime sets the bounded default", function()
    local events = {}
    local c = rcs({ token("1568694883"), { 200, '{"code":"20000000","status":200,"result":[{"brandId":"BR.0a81DDlZjz"}]}' } },
      { token_lifetime = 600, on_event = function(ev) events[#events + 1] = ev end })
    assert(c:get_brand("BR.0a81DDlZjz"))
    for _, e in ipairs(events) do if e.type == "token" then assert.equal(600, e.expires_in) end end
    assert.has_error(function() bizreg.rcs { base_url = "http://x", client_id = "a", client_secret = SECRET, token_lifetime = 0 } end)
  end)
end)

describe("KOS dialect: tolerant reading", function()
  local function kos(script)
    local t = scripted(script)
    return bizreg.kos { base_url = "http://kos.test", token = "kos-token-123456", transport = t }, t
  end

  it("error bodies with errorProperties in any order, or absent", function()
    local c = kos { { 400, '{"errorProperties":[{"reason":"Required","key":"images[0].visitorId"}],"status":400,'
      .. '"className":"InvalidCommandException","message":"InvalidCommandException"}' },
      { 400, '{"message":"bad","status":400}' } }
    local p = { images = { { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }
    local _, err = c:register_visitor_images(p)
    assert.equal("http", err.kind)
    assert.same({ { key = "visitorId", reason = "Required", index = 1 } }, err.errorProperties)
    _, err = c:register_visitor_images(p)
    assert.same({}, err.errorProperties)
    assert.equal("bad", err.message)
  end)

  it("search_visitors keeps unknown fields, null absent, a field of another type raw (named in an event)", function()
    local c, t = kos { { 200, '{"data":[{"id":"v1","name":null,"chartNumber":12,"extra":true,"phoneNumber":"010"}],"total":1}' } }
    local seen = {}
    c.on_event = function(ev) if ev.type == "answer" then seen[#seen + 1] = ev end end
    local res = assert(c:search_visitors { chartNumber = "12" })
    assert.equal(1, #t.sent)
    assert.equal("010", res.visitors[1].phoneNumber)
    table.sort(seen[1].fields)
    assert.same({ "data[0].chartNumber", "data[0].phoneNumber" }, seen[1].fields)
    assert.equal("v1", res.visitors[1].id)
    assert.is_nil(res.visitors[1].name)
    assert.equal(12, res.visitors[1].chartNumber)
    assert.is_true(res.visitors[1].extra)
  end)
end)

describe("unknown_fields: a field newer than the library", function()
  local function part(body, name)
    return body:match('name="' .. name .. '"\r\n\r\n(.-)\r\n%-%-')
  end

  it("is refused by default (64397, nothing sent), per client and per call", function()
    local c, t = rcs {}
    local _, err = c:register_brand(brand { newField = "x" })
    assert.same({ "validation", "regBrand.newField", "UnknownField", "64397" },
      { err.kind, err.errorProperties[1].key, err.errorProperties[1].reason, err.errorProperties[1].code })
    assert.equal(0, #t.sent)
    local c2, t2 = rcs({}, { unknown_fields = "send" })
    _, err = c2:register_brand(brand { newField = "x" }, { unknown_fields = "refuse" })
    assert.equal("validation", err.kind)
    assert.equal(0, #t2.sent)
  end)

  it("is sent as given with unknown_fields = \"send\" (client or call), after the documented ones", function()
    local ok_answer = { 200, '{"code":"20000000","status":200,"result":[{"brandId":"BR.0a81DDlZjz"}]}' }
    local c, t = rcs { token(), ok_answer, ok_answer, ok_answer }
    local extra = { newField = "x", newList = { 1, 2.5, true }, newObj = { a = { b = "ㄱ" } } }
    assert(c:register_brand(brand(extra), { unknown_fields = "send" }))
    local rb = require("cjson").decode(part(t.sent[2].body, "regBrand")).regBrand
    assert.same({ "x", { 1, 2.5, true }, { a = { b = "ㄱ" } }, "테스트브랜드" }, { rb.newField, rb.newList, rb.newObj, rb.name })
    local bots = { chatbots = { { mdn = "0215447000", subTitle = "방", newBotField = 1 } }, subNumCertificate = { data = fx.images.pdf(), filename = "c.pdf" } }
    local c2, t2 = rcs({ token(), { 200, '{"code":"20000000","status":200,"result":[{"chatbotId":"0215447000"}]}' }, ok_answer },
      { unknown_fields = "send" })
    assert(c2:register_chatbots("BR.0a81DDlZjz", bots))
    assert.equal(1, require("cjson").decode(part(t2.sent[2].body, "chatbots")).chatbots[1].newBotField)
    assert(c2:resubmit_brand("BR.0a81DDlZjz", brand { newField = "y" }))
    assert.equal("y", require("cjson").decode(part(t2.sent[3].body, "regBrand")).regBrand.newField)
  end)

  it("still refuses what JSON cannot carry: a function, NaN, a cycle, a non-string key, bad UTF-8", function()
    local cyc = {}
    cyc.self = cyc
    for _, v in ipairs { function() end, 0 / 0, cyc, { [true] = 1 }, "\255" } do
      local _, err = bizreg.prepare_brand(brand { newField = v, fine = 1 }, { unknown_fields = "send" })
      assert.equal("validation", err.kind)
      assert.same({ "regBrand.newField", "UnknownField" }, { err.errorProperties[1].key, err.errorProperties[1].reason })
      assert.equal(1, #err.errorProperties)
    end
    local req = assert(bizreg.prepare_brand(brand { fine = 1 }, { unknown_fields = "send" }))
    assert.truthy(req.body:find('"fine":1', 1, true))
  end)

  it("raises on another value", function()
    assert.has_error(function() rcs({}, { unknown_fields = "maybe" }) end)
    local c = rcs {}
    assert.has_error(function() c:register_brand(fx.brand(), { unknown_fields = 1 }) end)
    assert.has_error(function() bizreg.prepare_brand(fx.brand(), { unknown_fields = "yes" }) end)
  end)
end)

-- Review of issue 15 (adversarial): answers that must never read as a success, and what an
-- event may carry.
describe("RCS dialect: what is not an answer", function()
  -- find_brands is the way to find out after an unknown outcome: an answer that is not a
  -- page must never read as "no such brand" (the caller would send the brand again).
  for _, body in ipairs { "{}", '{"status":500,"error":"Internal Server Error"}', '{"code":20000000,"result":"none"}' } do
    it("a 2xx list answer without a result list is a decode error, not an empty page: " .. body, function()
      local c = rcs { token(), { 200, body }, { 200, body } }
      local page, err = c:list_brands()
      assert.is_nil(page)
      assert.equal("decode", err.kind)
      local found, ferr = c:find_brands { name = "x" }
      assert.is_nil(found)
      assert.equal("decode", ferr.kind)
    end)
  end

  it("a 2xx with both the Fail envelope (a code) and a result list is not a success", function()
    local both = '{"status":400,"error":{"code":64202,"message":"Invalid query parameter value"},"result":[]}'
    local c = rcs { token(), { 200, both } }
    local page, err = c:list_brands()
    assert.is_nil(page)
    assert.equal("decode", err.kind)
    assert.equal(200, err.status)
    -- after a write: an unknown outcome (the brandId says one thing, the error another)
    unknown_after_register('{"status":400,"error":{"code":64336,"message":"required value: [name]"},'
      .. '"result":[{"brandId":"BR.0a81DDlZjz"}]}')
    -- an empty error object (or a null code) beside the result is no error
    local c3 = rcs { token(), { 200, '{"code":"20000000","error":{"code":null},"result":[{"brandId":"BR.0a81DDlZjz"}]}' } }
    assert.equal("BR.0a81DDlZjz", assert(c3:register_brand(fx.brand())).brandId)
  end)

  it("a 2xx that is not JSON after a write is an unknown outcome with the way to find out", function()
    unknown_after_register("<html>ok</html>")
  end)

  it("reads error.code -0 as \"0\"", function()
    local c = rcs { token(), { 400, fail(400, "-0", "odd") } }
    local _, err = c:get_brand("BR.0a81DDlZjz")
    assert.equal("0", err.code)
  end)

  it("scrubs a raw code that carries the token or the client secret", function()
    local events = {}
    local c = rcs({ token(), { 400, fail(400, '{"t":"eyJ.dialect.token1","s":"' .. SECRET .. '"}', "x") } },
      { on_event = function(ev) events[#events + 1] = ev end })
    local _, err = c:get_brand("BR.0a81DDlZjz")
    assert.same({ t = "***", s = "***" }, err.raw_code)
    assert.same({ "error.code" }, last_answer(events).fields)
  end)

  -- a server echoing a credential in expiresIn: the token event shows no server text
  for _, echoed in ipairs { SECRET, "eyJ.dialect.token1" } do
    it("the token event's note never carries an unreadable expiresIn as text (" .. echoed .. ")", function()
      local events = {}
      local c = rcs({ { 200, '{"accessToken":"eyJ.dialect.token1","expiresIn":"' .. echoed .. '"}' },
        { 200, '{"code":"20000000","status":200,"result":[{"brandId":"BR.0a81DDlZjz"}]}' } },
        { on_event = function(ev) events[#events + 1] = ev end })
      assert(c:get_brand("BR.0a81DDlZjz"))
      local note
      for _, e in ipairs(events) do if e.type == "token" then note = e.note end end
      assert.truthy(note)
      assert.is_nil(note:find(echoed, 1, true), note)
      assert.is_nil(note:find("dialect", 1, true), note)
    end)
  end
end)

describe("unknown_fields = \"send\": what a sent value can never do", function()
  local cjson = require "cjson"
  local function parts(req)
    local bnd = req.headers["Content-Type"]:match("boundary=(.+)$")
    local names = {}
    for name in req.body:gmatch("\r\n%-%-" .. bnd:gsub("%p", "%%%0") .. "\r\nContent%-Disposition: form%-data; name=\"([^\"]+)\"") do
      names[#names + 1] = name
    end
    return names, bnd
  end

  it("cannot add a part or a header, and writes JSON that reads back as given", function()
    local plain = assert(bizreg.prepare_brand(fx.brand()))
    local want = parts(plain)
    local _, bnd = parts(plain)
    local evil = "\r\n--" .. bnd .. "\r\nContent-Disposition: form-data; name=\"evil\"\r\n\r\nx\r\nX-Evil: 1"
    local deep = {}
    for _ = 1, 10 do deep = { d = deep } end
    local extra = { [evil] = evil, ["name\0"] = "shadow", neg0 = -0.0, big = 2 ^ 63, small = -2 ^ 63,
      frac = 0.1, deep = deep, list = { "a", { b = cjson.null }, false } }
    local req = assert(bizreg.prepare_brand(brand(extra), { unknown_fields = "send", boundary = bnd }))
    assert.same(want, (parts(req)))
    assert.is_nil(req.body:find("\r\nX-Evil", 1, true))
    local json = req.body:match('name="regBrand"\r\n\r\n(.-)\r\n%-%-' .. bnd:gsub("%p", "%%%0"))
    local rb = cjson.decode(json).regBrand
    assert.equal(evil, rb[evil])
    assert.equal("shadow", rb["name\0"])
    assert.equal("테스트브랜드", rb.name)  -- the documented field is the row's, not shadowed
    assert.same({ 0, 2 ^ 63, -2 ^ 63, 0.1 }, { rb.neg0, rb.big, rb.small, rb.frac })
    assert.same(deep, rb.deep)
    assert.equal("a", rb.list[1])
    assert.is_false(rb.list[3])
  end)

  it("refuses a value nested deeper than the writer goes (cycles end there), naming the key once", function()
    local deep = {}
    for _ = 1, 40 do deep = { d = deep } end
    local _, err = bizreg.prepare_brand(brand { tooDeep = deep }, { unknown_fields = "send" })
    assert.equal("validation", err.kind)
    assert.same({ "regBrand.tooDeep", "UnknownField" }, { err.errorProperties[1].key, err.errorProperties[1].reason })
    assert.equal(1, #err.errorProperties)
  end)
end)
