-- KOS search_visitors against the sandbox: filters, paging, the chain chart number ->
-- visitorId -> register_visitor_images, server errors mapped, the sandbox judging payloads
-- exactly like the client, start()/poll, and answers that are not the documented shape.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local http = require "socket.http"
local ltn12 = require "ltn12"

local TOKEN = "sandbox-kos-token"
local PATH = "/visitor/open/v1/queries/search-visitors"
local json = sandbox.json

-- A transport that forwards to the real (sandbox) server over luasocket, after rewrite(body).
local function forwarding(rewrite)
  return function(req)
    local body = rewrite(req.body)
    local headers, chunks = { ["content-length"] = tostring(#body) }, {}
    for k, v in pairs(req.headers) do headers[k:lower()] = v end
    local ok, status, h = http.request { url = req.url, method = req.method, headers = headers,
      source = ltn12.source.string(body), sink = ltn12.sink.table(chunks) }
    if not ok then return nil, status end
    return { status = status, headers = h, body = table.concat(chunks) }
  end
end

local function canned(status, body) return function() return { status = status, headers = {}, body = body } end end

local function ids(res)
  local out = {}
  for i, v in ipairs(res.visitors) do out[i] = v.id end
  return out
end

describe("KOS search_visitors end to end", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra)
    local o = { base_url = sb.url, token = TOKEN, retries = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return bizreg.kos(o)
  end

  local function add_visitors(list)
    local status, text = sb:request("POST", "/_sandbox/visitors", { body = json.encode { visitors = list },
      headers = { ["content-type"] = "application/json" } })
    assert.equal(200, status, text)
    return json.decode(text).visitors
  end

  -- The sandbox's judgement of a raw body: "key|reason" set, or {} when it answered 200.
  local function sandbox_props(body)
    local status, text = sb:request("POST", PATH, { body = body,
      headers = { ["content-type"] = "application/json", authorization = "Bearer " .. TOKEN } })
    local set = {}
    if status == 200 then return set end
    assert.equal(400, status, text)
    for _, p in ipairs(json.decode(text).errorProperties) do set[p.key .. "|" .. p.reason] = true end
    return set
  end

  it("finds a visitor by chart number, with the documented fields, sending the prepared bytes", function()
    local kos = client()
    local res, err = kos:search_visitors { chartNumber = "12345" }
    assert.is_nil(err and tostring(err))
    assert.same({ { id = "65a1b2c3d4e5f6a7b8c9d0e1", chartNumber = "12345", name = "김민지",
      phoneNumber = { countryCode = "82", phoneNumber = "1012345678" }, dateOfBirth = "1990-05-01 00:00:00.000Z",
      gender = "FEMALE" } }, res.visitors)
    assert.equal("65a1b2c3d4e5f6a7b8c9d0e1", res.data[1].id)  -- the raw entries too
    local reqs = sb:requests()
    assert.equal(1, #reqs)
    assert.equal(PATH, reqs[1].path)
    assert.equal("application/json", reqs[1].content_type)
    assert.equal('{"chartNumber":"12345"}', sb:body())
    assert.equal("Bearer " .. TOKEN, sb:headers().authorization)
    kos:close()
  end)

  it("filters by each field, and by all of them together", function()
    local kos = client()
    local function find(q) return ids(assert(kos:search_visitors(q))) end
    local E1, E2, E3, E4 = "65a1b2c3d4e5f6a7b8c9d0e1", "65a1b2c3d4e5f6a7b8c9d0e2", "65a1b2c3d4e5f6a7b8c9d0e3",
      "65a1b2c3d4e5f6a7b8c9d0e4"
    assert.same({ E2 }, find { chartNumber = "12346" })
    assert.same({}, find { chartNumber = "1234" })  -- exact, not a prefix
    assert.same({ E1, E2 }, find { partOfVisitorName = "김민" })
    assert.same({ E4 }, find { partOfVisitorName = "Yui" })
    assert.same({ E1, E3 }, find { dateOfBirth = "1990-05-01" })
    assert.same({ E4 }, find { dateOfBirth = "1992-02-29T00:00:00.000Z" })
    assert.same({ E1 }, find { email = "MINJI.KIM@example.com" })
    assert.same({ E1 }, find { phone = { countryCode = "82", phoneNumber = "1012345678" } })
    assert.same({}, find { phone = { countryCode = "81", phoneNumber = "1012345678" } })
    assert.same({ E3 }, find { dateOfBirth = "1990-05-01", partOfVisitorName = "서연" })
    assert.same({}, find { dateOfBirth = "1990-05-01", chartNumber = "12346" })
    assert.equal(5, #find {})
    kos:close()
  end)

  it("pages with offset and limit (default page: 20)", function()
    local list = {}
    for i = 1, 45 do list[i] = { name = string.format("페이지 %02d", i), chartNumber = "P" .. i } end
    local added = add_visitors(list)
    assert.equal(45, #added)
    local kos = client()
    local seen = {}
    for _, page in ipairs { { 0, 20 }, { 20, 20 }, { 40, 5 }, { 45, 0 } } do
      local res = assert(kos:search_visitors { partOfVisitorName = "페이지", offset = page[1], limit = 20 })
      assert.equal(page[2], #res.visitors)
      for i, v in ipairs(res.visitors) do
        assert.equal(added[page[1] + i].id, v.id)
        assert.is_nil(seen[v.id])
        seen[v.id] = true
      end
    end
    assert.equal(20, #assert(kos:search_visitors { partOfVisitorName = "페이지" }).visitors)
    assert.equal(1, #assert(kos:search_visitors { partOfVisitorName = "페이지", offset = 44, limit = 2147483647 }).visitors)
    kos:close()
  end)

  it("goes from a chart number to visitorId to register_visitor_images", function()
    add_visitors { { name = "최하늘", chartNumber = "777", phoneNumber = { countryCode = "82", phoneNumber = "1077770000" } } }
    local kos = client()
    local found = assert(kos:search_visitors { chartNumber = "777" })
    assert.equal(1, #found.visitors)
    local visitor_id = found.visitors[1].id
    assert.truthy(visitor_id:match("^%x+$") and #visitor_id == 24)
    local res, err = kos:register_visitor_images { images = { { fileName = "2026/11/27/a.jpg", visitorId = visitor_id } } }
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    local reqs = sb:requests()
    assert.equal(PATH, reqs[1].path)
    assert.equal("/image/open/v1/commands/register-visitor-images", reqs[2].path)
    assert.equal('{"images":[{"fileName":"2026/11/27/a.jpg","visitorId":"' .. visitor_id .. '"}]}', sb:body())
    assert.equal(1, sb:stats().registered.images)
    kos:close()
  end)

  it("judges every case like the client (the sandbox re-implements the rules)", function()
    local cases = {
      { offset = -1 }, { offset = 2 ^ 31 }, { offset = 2 ^ 31 - 1 }, { offset = 0 }, { offset = 1.5 }, { offset = "0" },
      { limit = 0 }, { limit = 1 }, { limit = -1 }, { limit = 2 ^ 31 }, { limit = 2 ^ 31 - 1 },
      { chartNumber = string.rep("가", 50) }, { chartNumber = string.rep("가", 51) }, { chartNumber = 5 },
      { partOfVisitorName = string.rep("a", 100) }, { partOfVisitorName = string.rep("a", 101) },
      { email = string.rep("e", 254) }, { email = string.rep("e", 255) }, { email = true },
      { dateOfBirth = "1990-05-01 00:00:00.000Z" }, { dateOfBirth = "1990-05-01T00:00:00.000Z" },
      { dateOfBirth = "2023-02-29 00:00:00.000Z" }, { dateOfBirth = "1990-05-01 09:00:00.000Z" },
      { dateOfBirth = "1990-05-01T00:00:00Z" }, { dateOfBirth = "" }, { dateOfBirth = 5 },
      { phone = "82" }, { phone = { countryCode = "82" } }, { phone = { phoneNumber = "10" } },
      { phone = { countryCode = "82", phoneNumber = "010" } }, { phone = { countryCode = "0", phoneNumber = "10" } },
      { phone = { countryCode = "8210", phoneNumber = "10" } }, { phone = { countryCode = "82", phoneNumber = "1-0" } },
      { phone = { countryCode = "82", phoneNumber = "12345678901231" } },
      { phone = { countryCode = "82", phoneNumber = "1234567890123" } },
      { phone = { countryCode = "1", phoneNumber = "123456789012345" } },
      { phone = { countryCode = "82", phoneNumber = "10", extension = "1" } }, { chartNo = "1" },
      { offset = -5, limit = 0, chartNumber = string.rep("1", 51), phone = { countryCode = "+82", phoneNumber = "0" } },
    }
    for _, c in ipairs(cases) do
      local req, err = bizreg.prepare_search_visitors(c)
      local mine = {}
      for _, p in ipairs(err and err.errorProperties or {}) do mine[p.key .. "|" .. p.reason] = true end
      -- what the client accepts is sent as its exact bytes; what it refuses is posted as is
      local theirs = sandbox_props(req and req.body or json.encode(c))
      assert.same(mine, theirs, json.encode(c))
    end
  end)

  it("maps the server's validation answer (a body changed after the client's checks)", function()
    local kos = client { transport = forwarding(function(b) return (b:gsub('"limit":5', '"limit":-5')) end) }
    local res, err = kos:search_visitors { limit = 5 }
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(400, err.status)
    assert.equal("InvalidCommandException", err.className)
    assert.same({ { key = "limit", reason = "NotAvailable" } }, err.errorProperties)
    assert.equal(1, sb:stats().by_endpoint["kos.search_visitors"])
  end)

  it("maps 401 and exchanges the API key once more", function()
    local _, err = client { token = "wrong-token" }:search_visitors { chartNumber = "12345" }
    assert.equal("http", err.kind)
    assert.equal(401, err.status)
    assert.equal("UnauthorizedException", err.className)
    local kos = bizreg.kos { base_url = sb.url, api_key = "11111111-2222-4333-8444-555555555555", retries = 0 }
    assert(kos:search_visitors { chartNumber = "12345" })
    sb:config { expire_tokens = true }
    local res = assert(kos:search_visitors { chartNumber = "12345" })
    assert.equal(1, #res.visitors)
    assert.equal(2, sb:stats().by_endpoint["kos.exchange_token"])
    kos:close()
  end)

  it("is a query (bizreg.routes: repeat): 429 retried, 500 not resent, a reset after the body resent", function()
    sb:config { fail_next = { status = 429, count = 1, endpoint = "kos.search_visitors" } }
    local res = assert(client { retries = 1 }:search_visitors { chartNumber = "12345" })
    assert.equal(1, #res.visitors)
    assert.equal(2, sb:stats().by_endpoint["kos.search_visitors"])
    sb:reset()
    sb:config { fail_next = { status = 500, count = 1, endpoint = "kos.search_visitors" } }
    local _, err = client { retries = 2 }:search_visitors { chartNumber = "12345" }
    assert.equal("http", err.kind)
    assert.equal(500, err.status)
    assert.equal(1, sb:stats().by_endpoint["kos.search_visitors"])
    -- a query changes nothing: a body that may have arrived is sent again (bounded by retries)
    sb:reset()
    sb:fault { endpoint = "kos.search_visitors", mode = "reset_after_body", count = 1 }
    res = assert(client { retries = 2, retry_max_wait = 0 }:search_visitors { chartNumber = "12345" })
    assert.equal(1, #res.visitors)
    assert.equal(2, sb:stats().received["kos.search_visitors"])
    sb:reset()
    sb:fault { endpoint = "kos.search_visitors", mode = "reset_after_body", count = 9 }
    _, err = client { retries = 2, retry_max_wait = 0 }:search_visitors { chartNumber = "12345" }
    assert.same({ "transport", true, true }, { err.kind, err.sent, err.retryable })
    assert.equal(3, sb:stats().received["kos.search_visitors"])
  end)

  it("reports a connection refused as a transport error, nothing sent", function()
    local kos = bizreg.kos { base_url = "http://127.0.0.1:" .. sandbox.refused_port(), token = TOKEN, retries = 0 }
    local _, err = kos:search_visitors { chartNumber = "12345" }
    assert.equal("transport", err.kind)
    assert.is_false(err.sent)
  end)

  it("refuses answers that are not the documented shape (decode errors)", function()
    sb:fault { endpoint = "kos.search_visitors", mode = "not_json" }
    local _, err = client():search_visitors { chartNumber = "12345" }
    assert.equal("decode", err.kind)
    local function answer(body) return client { transport = canned(200, body) }:search_visitors { chartNumber = "1" } end
    assert.same({ visitors = {}, data = {} }, assert(answer "{}"))  -- proto3 JSON leaves an empty list out
    assert.same({}, assert(answer '{"data":[]}').visitors)
    -- tolerant (issue 15): null absent, unknown fields kept, a field of another type kept raw
    assert.same({ { id = "x", extra = 1 } }, assert(answer '{"data":[{"id":"x","gender":null,"extra":1}]}').visitors)
    assert.same({ { id = "a", name = 5 } }, assert(answer '{"data":[{"id":"a","name":5}]}').visitors)
    assert.same({ { id = "a", phoneNumber = "010" } }, assert(answer '{"data":[{"id":"a","phoneNumber":"010"}]}').visitors)
    for body, why in pairs {
      ['{"data":{"id":"x"}}'] = "without a data list", ['{"data":"x"}'] = "without a data list",
      ['{"data":[{"name":"x"}]}'] = "data[0]: no id", ['{"data":[{"id":"a"},5]}'] = "data[1]: not an object",
      ["[]"] = "not a JSON object" } do
      local res, e = answer(body)
      assert.is_nil(res, body)
      assert.equal("decode", e.kind, body)
      assert.truthy(e.message:find(why, 1, true), e.message)
    end
  end)

  it("runs as a job: start() and poll()", function()
    local kos = client()
    local job = kos:start("search_visitors", { chartNumber = "12346" })
    local bad = kos:start("search_visitors", { limit = 0 })
    local guard = 0
    while bizreg.poll(0.05) > 0 do
      guard = guard + 1
      assert.is_true(guard < 400, "jobs did not finish")
    end
    local res, err = job:result()
    assert.is_nil(err and tostring(err))
    assert.equal("65a1b2c3d4e5f6a7b8c9d0e2", res.visitors[1].id)
    local _, verr = bad:result()
    assert.equal("validation", verr.kind)
    assert.has_error(function() kos:start("search_visitors", "12346") end, "bizreg: payload must be a table")
    assert.equal(1, sb:stats().by_endpoint["kos.search_visitors"])
    kos:close()
  end)

  it("the one-shot form", function()
    local res = assert(bizreg.search_visitors({ base_url = sb.url, token = TOKEN }, { chartNumber = "20002" }))
    assert.equal("Tanaka Yui", res.visitors[1].name)
  end)

  it("the control endpoint refuses bad visitors and adds all or none", function()
    local function post(body)
      return sb:request("POST", "/_sandbox/visitors", { body = body, headers = { ["content-type"] = "application/json" } })
    end
    assert.equal(400, (post '{"visitors":[{"name":"a","chartNumber":"1"},{"name":"b"}]}'))
    assert.equal(400, (post '{"visitors":[{"name":"a","chartNumber":"1","id":"xyz"}]}'))
    assert.equal(400, (post '{"visitors":[{"name":"a","chartNumber":"1","dateOfBirth":"1990-02-30"}]}'))
    assert.equal(400, (post '[]'))
    local status, text = sb:request("GET", "/_sandbox/visitors")
    assert.equal(200, status)
    assert.equal(5, #json.decode(text).visitors)
  end)
end)

describe("examples/kos_search.lua", function()
  local shell = require "spec.helpers.shell"
  local sb
  local lua = require("spec.cli.run").lua  -- the example runs under the Lua that runs this spec
  setup(function()
    sb = sandbox.start {}
  end)
  teardown(function() sb:stop() end)

  local function run(...)
    local out = os.tmpname()
    local cmd = "KOS_BASE_URL=" .. sb.url .. " " .. lua .. " examples/kos_search.lua"
    for _, a in ipairs { ... } do cmd = cmd .. " '" .. a .. "'" end
    local ok = shell.execute(cmd .. " >" .. out .. " 2>&1")
    local f = io.open(out, "rb")
    local text = f:read("*a")
    f:close()
    os.remove(out)
    return ok, text
  end

  it("goes from a chart number to a registered image against the sandbox", function()
    local ok, text = run("12345", "2026/11/27/before.jpg")
    assert.is_true(ok, text)
    assert.equal("chart 12345 is 김민지 (visitorId 65a1b2c3d4e5f6a7b8c9d0e1)\n"
      .. "registered 2026/11/27/before.jpg for visitor 65a1b2c3d4e5f6a7b8c9d0e1\n", text)
    assert.equal(1, sb:stats().registered.images)
    ok, text = run("99999", "a.jpg")
    assert.is_false(ok)
    assert.equal("chart 99999: 0 visitors found, expected exactly one\n", text)
  end)
end)
