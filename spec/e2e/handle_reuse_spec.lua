-- One libcurl handle, many different requests (src/request.c sets every option and rebuilds
-- the header list for each request, in buffers the handle keeps and reuses; src/response.c
-- builds res.headers on first access). Every test here fails if an option or a header line
-- of an earlier request leaks into a later one, or if a result's lazy parts point at the
-- handle's reused buffers.
--   lua5.4 /usr/bin/busted --cpath="./build/lua5.4/?.so" spec/e2e/handle_reuse_spec.lua
local core = require "bizreg.core"
local cjson = require "cjson"

describe("a reused handle", function()
  local echo, BASE
  setup(function()
    echo = require("spec.helpers.echo_server").start()
    BASE = echo.base
  end)
  teardown(function() echo.stop() end)

  local function echoed(h, req)
    local res, err = h:request(req)
    assert(res, err and err.message)
    assert.are.equal(200, res.status)
    return cjson.decode(res.body)
  end

  it("takes a short req.timeout after a long one, and the handle's own after both", function()
    local h = core.http { timeout = 10 }
    assert.are.equal(200, assert(h:request { url = BASE .. "/delay?ms=1200", timeout = 5 }).status)
    local res, err = h:request { url = BASE .. "/delay?ms=1200", timeout = 0.3 }
    assert.is_nil(res)
    assert.are.equal("OPERATION_TIMEDOUT", err.code)
    -- no req.timeout: the handle's 10 s again, not the 0.3 s of the request before
    assert.are.equal(200, assert(h:request { url = BASE .. "/delay?ms=1200" }).status)
    h:close()
  end)

  it("sends each request's own method, URL and body size", function()
    local h = core.http()
    local big, small = string.rep("b", 5000), "s"
    local e = echoed(h, { method = "POST", url = BASE .. "/echo?a=1", body = big })
    assert.are.same({ "POST", "/echo?a=1", big, "5000" }, { e.method, e.path, e.body, e.headers["content-length"] })
    e = echoed(h, { url = BASE .. "/echo?a=2" })  -- same length, other URL; GET after POST
    assert.are.same({ "GET", "/echo?a=2", 0 }, { e.method, e.path, e.body_length })
    assert.is_nil(e.headers["content-length"])
    e = echoed(h, { method = "POST", url = BASE .. "/echo?a=2", body = small })
    assert.are.same({ "POST", "s", "1" }, { e.method, e.body, e.headers["content-length"] })
    e = echoed(h, { method = "PUT", url = BASE .. "/echo" })
    assert.are.same({ "PUT", "0" }, { e.method, e.headers["content-length"] })
    e = echoed(h, { method = "PATCH", url = BASE .. "/echo", body = "pp" })
    assert.are.same({ "PATCH", "pp" }, { e.method, e.body })
    local res = assert(h:request { method = "HEAD", url = BASE .. "/big?bytes=10" })
    assert.are.same({ 200, "", "10" }, { res.status, res.body, res.headers["content-length"] })
    e = echoed(h, { method = "DELETE", url = BASE .. "/echo" })
    assert.are.same({ "DELETE", 0 }, { e.method, e.body_length })
    res = assert(h:request { url = BASE .. "/big?bytes=10" })  -- GET after HEAD: a body again
    assert.are.equal("xxxxxxxxxx", res.body)
    e = echoed(h, { method = "POST", url = BASE .. "/echo", body = "" })
    assert.are.same({ "POST", "0" }, { e.method, e.headers["content-length"] })
    e = echoed(h, { method = "POST", url = BASE .. "/echo", body = big })
    assert.are.same({ "POST", big }, { e.method, e.body })
    h:close()
  end)

  it("sends exactly each request's headers, changed or not", function()
    local h = core.http()
    local function heads(headers, body)
      return echoed(h, { method = "POST", url = BASE .. "/echo", headers = headers, body = body or "x" }).headers
    end
    local e = heads { ["X-A"] = "1", ["Content-Type"] = "a/b" }
    assert.are.same({ "1", "a/b" }, { e["x-a"], e["content-type"] })
    e = heads { ["X-A"] = "1", ["Content-Type"] = "a/b" }  -- the same set, a new table
    assert.are.same({ "1", "a/b" }, { e["x-a"], e["content-type"] })
    e = heads { ["X-A"] = "2", ["Content-Type"] = "a/b" }
    assert.are.equal("2", e["x-a"])
    e = heads { ["X-B"] = "1" }
    assert.are.same({ "1" }, { e["x-b"] })
    assert.is_nil(e["x-a"])
    assert.is_nil(e["content-type"])  -- none given: none sent (not libcurl's form default)
    e = heads { ["X-A"] = "" }
    assert.are.equal("", e["x-a"])
    assert.is_nil(e["x-b"])
    e = heads(nil)
    assert.is_nil(e["x-a"])
    local many = {}
    for i = 1, 20 do many["X-H" .. i] = tostring(i) end
    e = heads(many)
    for i = 1, 20 do assert.are.equal(tostring(i), e["x-h" .. i]) end
    many["X-H7"] = nil
    e = heads(many)
    assert.is_nil(e["x-h7"])
    assert.are.equal("20", e["x-h20"])
    -- the last header of a set (in pairs order) dropped: the rest is a prefix of the list sent before
    -- (pairs order is seeded per Lua state: look for a set whose last key is not Content-Type;
    -- 10 tries were not always enough, and then the test dropped Content-Type itself. Content-Type
    -- is last in every set whose node part is no larger than 2^k when the low k bits of its hash
    -- are all set: up to 60 keys (k = 6) that failed 8 runs in 200 under lua5.2, so larger sets
    -- are tried too, up to 600 keys: k = 10)
    local set, last
    for n = 1, 600 do
      set = { ["Content-Type"] = "a/b" }
      for i = 1, n do set["X-C" .. i] = tostring(i) end
      for k in pairs(set) do last = k end
      if last ~= "Content-Type" then break end
    end
    assert.are_not.equal("Content-Type", last)
    e = heads(set)
    assert.are.equal(set[last], e[last:lower()])
    set[last] = nil
    e = heads(set)
    assert.is_nil(e[last:lower()])
    assert.are.equal("a/b", e["content-type"])
    h:close()
  end)

  it("checks every header again when the line it would make is the one sent before", function()
    local h = core.http()
    local e = echoed(h, { url = BASE .. "/echo", headers = { ["X-A"] = "x: y" } })
    assert.are.equal("x: y", e.headers["x-a"])
    -- "X-A: x" + "y" makes the very line "X-A: x: y" of the request before: still refused
    local res, err = h:request { url = BASE .. "/echo", headers = { ["X-A: x"] = "y" } }
    assert.is_nil(res)
    assert.are.equal("BAD_HEADER", err.code)
    res, err = h:request { url = BASE .. "/echo", headers = { ["X-A"] = "x: y\r\nX-Evil: 1" } }
    assert.is_nil(res)
    assert.are.equal("BAD_HEADER", err.code)
    -- after the refusals the handle sends the good set again, and nothing else
    e = echoed(h, { url = BASE .. "/echo", headers = { ["X-A"] = "x: y" } })
    assert.are.equal("x: y", e.headers["x-a"])
    assert.is_nil(e.headers["x-evil"])
    h:close()
  end)

  it("follows the body's own Content-Type between string and streamed bodies", function()
    if not core.encode_brand then pending("core.encode_brand is not available in this build") return end
    local images = require "spec.helpers.images"
    local path = os.tmpname()
    images.write(path, images.png(400, 400, { size = 40000 }))
    local body = assert(core.encode_brand({
      regBrand = { name = "Test", description = "reuse test", categoryId = "c1", subCategoryId = "s1" },
      brandProfile = path,
    }, { boundary = "bizreg-reuse-boundary" }))
    local h = core.http()
    local e = echoed(h, { method = "POST", url = BASE .. "/echo", body = "plain" })
    assert.is_nil(e.headers["content-type"])
    e = echoed(h, { method = "POST", url = BASE .. "/echo", body = body })
    assert.are.equal(body:content_type(), e.headers["content-type"])
    assert.are.equal(#body, e.body_length)
    e = echoed(h, { method = "POST", url = BASE .. "/echo", body = "plain" })
    assert.is_nil(e.headers["content-type"])
    assert.are.equal("plain", e.body)
    h:close()
    os.remove(path)
  end)

  it("calls on_progress when a request has one, after requests without", function()
    local h = core.http()
    local body = string.rep("p", 100000)
    for _ = 1, 2 do
      echoed(h, { method = "POST", url = BASE .. "/echo", body = body })
      local calls = 0
      echoed(h, { method = "POST", url = BASE .. "/echo", body = body,
                  on_progress = function() calls = calls + 1 end })
      assert.is_true(calls >= 1)
    end
    h:close()
  end)

  it("keeps max_response_bytes and gives each answer only its own bytes", function()
    local h, other = core.http { max_response_bytes = 100 }, core.http { max_response_bytes = 1000 }
    local _, err = h:request { url = BASE .. "/big?bytes=200" }
    assert.are.equal("RESPONSE_TOO_LARGE", err.code)
    assert.are.equal(500, #assert(other:request { url = BASE .. "/big?bytes=500" }).body)
    assert.are.equal(string.rep("x", 90), assert(h:request { url = BASE .. "/big?bytes=90" }).body)
    assert.are.equal("xxxxx", assert(h:request { url = BASE .. "/big?bytes=5" }).body)
    _, err = h:request { url = BASE .. "/big?bytes=101&chunked=1" }
    assert.are.equal("RESPONSE_TOO_LARGE", err.code)
    assert.are.equal(100, #assert(h:request { url = BASE .. "/big?bytes=100&chunked=1" }).body)
    h:close()
    other:close()
  end)

  it("builds res.headers from the answer it belongs to, after the handle moved on", function()
    local h = core.http()
    local first = assert(h:request { url = BASE .. "/repeat?count=3" })
    local second = assert(h:request { url = BASE .. "/big?bytes=7" })
    local third = assert(h:request { url = BASE .. "/echo" })
    assert.are.equal("1, 2, 3", first.headers["x-r"])
    assert.are.equal("7", second.headers["content-length"])
    assert.is_nil(second.headers["x-r"])
    assert.are.equal("application/json", third.headers["content-type"])
    assert.are.equal(first.headers, first.headers)  -- built once
    assert.is_number(first.total_time)
    assert.is_true(third.request_size > 0)
    for k in pairs(third.headers) do assert.are.equal(k:lower(), k) end
    assert.is_nil(third.nothing)
    h:close()
  end)

  it("keeps options right between blocking requests and jobs on one handle", function()
    local h, m = core.http(), core.multi()
    echoed(h, { method = "POST", url = BASE .. "/echo", headers = { ["X-A"] = "1" }, body = "sync" })
    assert.is_true(m:add(h, { url = BASE .. "/echo?job=1", headers = { ["X-B"] = "2" } }))
    local done = {}
    local t0 = os.time()
    while m:count() > 0 do
      for _, r in ipairs(m:poll(0.05)) do done[#done + 1] = r end
      assert(os.time() - t0 < 20, "multi did not finish")
    end
    local e = cjson.decode(assert(done[1].res).body)
    assert.are.same({ "GET", "/echo?job=1", "2" }, { e.method, e.path, e.headers["x-b"] })
    assert.is_nil(e.headers["x-a"])
    assert.are.equal("application/json", done[1].res.headers["content-type"])
    e = echoed(h, { method = "POST", url = BASE .. "/echo", headers = { ["X-A"] = "1" }, body = "again" })
    assert.are.same({ "POST", "again", "1" }, { e.method, e.body, e.headers["x-a"] })
    assert.is_nil(e.headers["x-b"])
    m:close()
    h:close()
  end)
end)
