-- The sandbox's brand endpoints and control calls, spoken to directly (luasocket), so the
-- emulator's own rules are pinned independently of the client.
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"

local json = sandbox.json
local AUTH = { authorization = "Bearer sandbox-rcs-token" }

describe("sandbox brands", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function get(path, headers)
    local h = { authorization = AUTH.authorization }
    for k, v in pairs(headers or {}) do h[k] = v end
    local st, body, rh = sb:request("GET", "/api/1.1" .. path, { headers = h })
    return st, json.decode(body), rh
  end

  local function post(path, doc)
    local st, body = sb:request("POST", path, { body = type(doc) == "string" and doc or json.encode(doc) })
    return st, json.decode(body)
  end

  local function code(doc) return doc.error and doc.error.code end

  it("seeds brands, lists them, and moves their status with the documented values only", function()
    local st, doc = post("/_sandbox/brands", { count = 2, name = "둘", status = "검수시작" })
    assert.equal(200, st)
    assert.same({ "BR.sb00000001", "BR.sb00000002" }, doc.brandIds)
    st, doc = sb:request("GET", "/_sandbox/brands")
    assert.equal(200, st)
    doc = json.decode(doc)
    assert.equal(2, #doc)
    assert.same({ "BR.sb00000001", "둘", "sandbox", "검수시작", 0 },
      { doc[1].brandId, doc[1].name, doc[1].owner, doc[1].status, doc[1].reads })
    for _, bad in ipairs {
      { "/_sandbox/brands", { count = 0 } }, { "/_sandbox/brands", { count = 1, status = "approved" } },
      { "/_sandbox/brands", { count = 1, name = "" } }, { "/_sandbox/brands", "[]" },
      { "/_sandbox/brand-status", { brandId = "BR.none", status = "승인" } },
      { "/_sandbox/brand-status", { brandId = "BR.sb00000001", status = "승인됨" } },
      { "/_sandbox/brand-status", { brandId = "BR.sb00000001", status = "승인", after_reads = -1 } },
    } do
      assert.equal(400, (post(bad[1], bad[2])), bad[1] .. " " .. json.encode(bad[2]))
    end
    for _, status in ipairs { "저장", "승인대기", "검수시작", "승인", "반려", "검수완료",
      "승인대기(수정)", "검수시작(수정)", "반려(수정)", "검수완료(수정)" } do
      st = post("/_sandbox/brand-status", { brandId = "BR.sb00000001", status = status, reason = "r" })
      assert.equal(200, st)
      local _, d = get("/corp/sandbox/brand/BR.sb00000001")
      assert.equal(status, d.result[1].status)
      assert.equal((status == "반려" or status == "반려(수정)") and "r" or nil, d.result[1].approvalReason)
      if status == "승인" then assert.equal(d.result[1].updateDate, d.result[1].approvalDate) end
    end
  end)

  it("after_reads: the move waits for that many reads", function()
    post("/_sandbox/brands", { count = 1 })
    post("/_sandbox/brand-status", { brandId = "BR.sb00000001", status = "승인", after_reads = 2 })
    local seen = {}
    for i = 1, 4 do seen[i] = select(2, get("/corp/sandbox/brand/BR.sb00000001")).result[1].status end
    assert.same({ "승인대기", "승인대기", "승인", "승인" }, seen)
  end)

  it("answers 64316, 63002, 63001, 64002 and 401 in that order of checks", function()
    post("/_sandbox/brands", { count = 1 })
    post("/_sandbox/brands", { count = 1, owner = "other" })
    local st, doc = get("/corp/sandbox/brand/BR.nosuch")
    assert.same({ 400, "64316", "Invalid brandId" }, { st, code(doc), doc.error.message })
    st, doc = get("/corp/sandbox/brand/BR.12345678901")  -- 14 characters
    assert.same({ 400, "64316" }, { st, code(doc) })
    st, doc = get("/corp/other/brand/BR.sb00000002")
    assert.same({ 403, "63002", "No Permission" }, { st, code(doc), doc.error.message })
    st, doc = get("/corp/sandbox/brand/BR.sb00000002")
    assert.same({ 403, "63001", "No Brand Permission" }, { st, code(doc), doc.error.message })
    st, doc = get("/corp/sandbox/brand/BR.sb00000001", { ["x-rcs-brandkey"] = "BK.sb0000000000002" })
    assert.same({ 400, "64002", "Invalid Brand Key" }, { st, code(doc), doc.error.message })
    st = get("/corp/sandbox/brand/BR.sb00000001", { ["x-rcs-brandkey"] = "BK.sb0000000000001" })
    assert.equal(200, st)
    st, doc = get("/corp/sandbox/brand/BR.sb00000001", { authorization = "Bearer nope" })
    assert.same({ 401, "61003" }, { st, code(doc) })
  end)

  it("pages the account's brands in registration order, with pagination and links; 64202 on bad values", function()
    post("/_sandbox/brands", { count = 150 })
    post("/_sandbox/brands", { count = 5, owner = "other" })
    local st, doc = get("/corp/sandbox/brand?offset=100&limit=100")
    assert.equal(200, st)
    assert.equal(50, #doc.result)
    assert.equal("BR.sb00000101", doc.result[1].brandId)
    assert.same({ total = 150, offset = 100, limit = 100 }, doc.pagination)
    assert.equal("/api/1.1/corp/sandbox/brand?limit=100&offset=0", doc.links.prev)
    assert.is_nil(doc.links.next)  -- null
    st, doc = get("/corp/sandbox/brand")
    assert.equal(200, st)
    assert.equal(100, #doc.result)
    for _, q in ipairs { "limit=99", "limit=1001", "limit=abc", "offset=-1", "offset=1.5" } do
      st, doc = get("/corp/sandbox/brand?" .. q)
      assert.same({ 400, "64202" }, { st, code(doc) }, q)
      assert.truthy(doc.error.message:find(q:gsub("=", ":"), 1, true), doc.error.message)
    end
  end)

  it("lists the category catalogue the brand rules use", function()
    local st, doc = get("/corp/brand/categories")
    assert.equal(200, st)
    local ids = {}
    for _, c in ipairs(doc.result) do
      for _, s in ipairs(c.subCategories) do ids[#ids + 1] = c.categoryId .. "/" .. s.subCategoryId end
    end
    assert.truthy(table.concat(ids, " "):find("EDU/EDU007", 1, true))
    assert.truthy(table.concat(ids, " "):find("ITE/ITE001", 1, true))
    assert.equal(1, sb:stats().by_endpoint["rcs.brand_categories"])
  end)

  it("a resubmitted brand goes back to 승인대기 without its old reason; 405 names the allowed methods", function()
    local bizreg = require "bizreg"
    local rcs = bizreg.rcs { base_url = sb.rcs_url, token = "sandbox-rcs-token", person_id = "sandbox", retries = 0 }
    local id = assert(rcs:register_brand(fx.brand())).brandId
    post("/_sandbox/brand-status", { brandId = id, status = "반려", reason = "사유" })
    assert(rcs:resubmit_brand(id, fx.brand()))
    local res = assert(rcs:get_brand(id))
    assert.equal("승인대기", res.brand.status)
    assert.is_nil(res.brand.approvalReason)
    rcs:close()
    local st, _, headers = sb:request("POST", "/api/1.1/corp/sandbox/brand", { body = "" })
    assert.equal(405, st)
    assert.equal("GET", headers.allow)
  end)
end)
