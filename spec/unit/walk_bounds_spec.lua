-- Bounded walks (issue 16, item 5): each_brand / find_brands against a server that keeps
-- returning full pages of new brandIds end with WALK_LIMIT (pages or brands cap) or
-- WALK_TIMEOUT (the walk's overall deadline), counted in pages the server answered; and
-- `bizreg brand list` exits 3 against such a server (a tiny lua-http pager).
local bizreg = require "bizreg"
local core = require "bizreg.core"
local walks = require "bizreg.rcs_walk"

-- A server that never ends: every page is full of brandIds never seen before.
-- delay: seconds each page takes (a slow server); calls.n counts the pages asked for.
local function pager(delay)
  local calls = { n = 0 }
  local function transport(req)
    calls.n = calls.n + 1
    local offset = tonumber(req.url:match("[?&]offset=(%d+)"))
    local limit = tonumber(req.url:match("[?&]limit=(%d+)"))
    if delay then core.sleep(delay) end
    local list = {}
    for i = 1, limit do
      list[i] = string.format('{"brandId":"BR.e%d","name":"n%d","status":"승인"}', offset + i, offset + i)
    end
    return { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[' ..
      table.concat(list, ",") .. '],"pagination":{"total":' .. (offset + 2 * limit) .. '}}' }
  end
  local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
    transport = transport }
  return rcs, calls
end

describe("walks over the brand list", function()
  it("have documented defaults in one table", function()
    assert.same({ max_pages = 1000, max_brands = 100000, timeout = 300 }, walks.WALK_DEFAULTS)
  end)

  it("find_brands against an endless pager ends WALK_LIMIT at its default page cap", function()
    local rcs, calls = pager()
    local res, err = rcs:find_brands { name = "nobody" }
    assert.is_nil(res)
    assert.equal("transport", err.kind)
    assert.equal("WALK_LIMIT", err.code)
    assert.is_false(err.sent)
    assert.is_false(err.retryable)
    assert.equal(1000, err.pages)
    assert.equal(100000, err.brands)
    assert.equal(1000, calls.n)
    assert.matches("max_pages", err.message)
    rcs:close()
  end)

  it("find_brands and each_brand stop at max_pages / max_brands given in the query", function()
    local rcs, calls = pager()
    local res, err = rcs:find_brands { name = "n5", max_pages = 3 }
    assert.is_nil(res)
    assert.same({ "WALK_LIMIT", 3, 300 }, { err.code, err.pages, err.brands })
    assert.equal(3, calls.n)
    calls.n = 0
    res, err = rcs:find_brands { name = "n5", max_brands = 250 }
    assert.is_nil(res)
    assert.equal("WALK_LIMIT", err.code)
    assert.matches("max_brands", err.message)
    assert.equal(3, calls.n)
    calls.n = 0
    local got, errs = 0, {}
    for brand, e in rcs:each_brand { max_brands = 250 } do
      if brand then got = got + 1 else errs[#errs + 1] = e end
    end
    assert.equal(200, got)  -- the third page would pass the cap: none of it is yielded
    assert.equal(1, #errs)
    assert.equal("WALK_LIMIT", errs[1].code)
    assert.equal(3, calls.n)
    calls.n = 0
    got, errs = 0, {}
    for brand, e in rcs:each_brand { max_pages = 2, limit = 1000 } do
      if brand then got = got + 1 else errs[#errs + 1] = e end
    end
    assert.equal(2000, got)
    assert.same({ "WALK_LIMIT", 2 }, { errs[1].code, errs[1].pages })
    assert.equal(2, calls.n)
    rcs:close()
  end)

  it("a walk that reaches its cap on the last page is not an error", function()
    local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
      transport = function(req)
        local offset = tonumber(req.url:match("offset=(%d+)"))
        local list = {}
        for i = 1, (offset == 0 and 100 or 50) do list[i] = '{"brandId":"BR.' .. (offset + i) .. '","name":"x"}' end
        return { status = 200, body = '{"code":"20000000","status":200,"result":[' .. table.concat(list, ",") .. ']}' }
      end }
    local res = assert(rcs:find_brands { name = "x", max_pages = 2, max_brands = 150 })
    assert.equal(150, #res.brands)
    assert.equal(2, res.pages)
    rcs:close()
  end)

  it("end WALK_TIMEOUT once the walk's overall deadline passed (each page within it)", function()
    local rcs, calls = pager(0.02)
    local res, err = rcs:find_brands { name = "n1", timeout = 0.1 }
    assert.is_nil(res)
    assert.equal("WALK_TIMEOUT", err.code)
    assert.is_false(err.sent)
    assert.is_true(err.retryable)
    assert.equal(calls.n, err.pages)
    local n, errs = 0, {}
    calls.n = 0
    for brand, e in rcs:each_brand { timeout = 0.1 } do
      if brand then n = n + 1 else errs[#errs + 1] = e end
    end
    assert.equal(1, #errs)
    assert.equal("WALK_TIMEOUT", errs[1].code)
    assert.equal(100 * calls.n, n)
    rcs:close()
  end)

  it("refuse wrong walk options as programmer errors", function()
    local rcs = pager()
    for _, q in ipairs { { max_pages = 0 }, { max_pages = 1.5 }, { max_brands = "9" }, { timeout = 0 },
      { timeout = 0 / 0 }, { timeout = math.huge } } do
      assert.has_error(function() rcs:each_brand(q) end)
      q.name = "x"
      assert.has_error(function() rcs:find_brands(q) end)
    end
    assert.has_error(function() rcs:list_brands { max_pages = 3 } end, "bizreg: unknown query field 'max_pages'")
    rcs:close()
  end)
end)

describe("bizreg brand list", function()
  local cli = require "spec.cli.run"
  local echo

  setup(function()
    cli.setup()
    echo = require("spec.helpers.echo_server").start()
  end)
  teardown(function() if echo then echo.stop() end end)

  it("exits 3 with WALK_LIMIT against a server that keeps paging #slow", function()
    local r = cli.run({ "brand", "list" }, { BIZREG_RCS_BASE_URL = echo.base .. "/pager?p=",
      BIZREG_RCS_TOKEN = "static-token-1", BIZREG_RCS_PERSON_ID = "acct" })
    assert.equal(3, r.code, r.err)
    local n = select(2, r.out:gsub("\n", ""))
    assert.equal(100000 + 1, n)  -- every brand within the cap, then the failure line
    assert.matches("failed  transport %[WALK_LIMIT%]", r.out)
  end)
end)
