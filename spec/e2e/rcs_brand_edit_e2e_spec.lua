-- RCS cancel_brand, delete_brand, update_brand against the sandbox (issue 19): the life of a
-- brand (edit without and with review, cancel, delete), each documented refusal mapped with
-- its next step, the bytes on the wire (prepare_update_brand, the empty brandBackground part),
-- the server's count of bodies (nothing sent for what the rules refuse; at most once under
-- faults), job and one-shot forms. The sandbox's own state rules: spec/sandbox/brand_edit_spec.lua.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"
local calls = require "spec.helpers.calls"

local json = sandbox.json
local CERT = { data = fx.images.pdf(2048), filename = "cert.pdf" }

describe("RCS brand changes end to end", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra) return calls.rcs_client(sb, extra) end
  local function make_brand(status, doc)
    doc = doc or {}
    doc.status = status
    return sb:brands(doc)[1]
  end
  local function status_of(rcs, id)
    local res, err = rcs:get_brand(id)
    if not res then return nil, err end
    return res.brand.status, res.brand
  end
  local function approve(id)
    local st = sb:request("POST", "/_sandbox/brand-status", { body = json.encode { brandId = id, status = "승인" } })
    assert.equal(200, st)
  end
  local function received(ep) return sb:stats().received[ep] end

  -- the issue's "done when" script, for the brand: edit without review, edit with review,
  -- cancel that review, delete the brand
  it("registers, edits the description (no review), the name (review), cancels that review, deletes", function()
    local events = {}
    local rcs = client { on_event = function(ev) events[#events + 1] = ev.type end }
    local id = assert(rcs:register_brand(fx.brand())).brandId
    approve(id)
    local reg = fx.brand().regBrand
    reg.description = "설명만 바꿈"
    local res, err = rcs:update_brand(id, { regBrand = reg })
    assert.is_nil(err and tostring(err))
    assert.same({ id, "승인", "설명만 바꿈" }, { res.brandId, res.brand.status, res.brand.description })
    reg.name = "새이름"
    res = assert(rcs:update_brand(id, { regBrand = reg }))
    assert.same({ "승인대기", "새이름" }, { res.brand.status, res.brand.name })
    res, err = rcs:cancel_brand(id, { approved = true })
    assert.is_nil(err and tostring(err))
    assert.equal(id, res.brandId)
    local st, brand = status_of(rcs, id)
    assert.same({ "승인", "테스트브랜드", "설명만 바꿈" }, { st, brand.name, brand.description })
    res = assert(rcs:delete_brand(id, { approved = true }))
    assert.equal(id, res.brandId)
    local _, gone = status_of(rcs, id)
    assert.same({ "http", "64316" }, { gone.kind, gone.code })
    assert.same({}, assert(rcs:list_brands()).brands)
    local s = sb:stats()
    assert.same({ 2, 1, 1 }, { s.received["rcs.update_brand"], s.received["rcs.cancel_brand_owner"],
      s.received["rcs.delete_brand_owner"] })
    local seen = table.concat(events, " ")
    assert.truthy(seen:find("request", 1, true), seen)
    assert.truthy(seen:find("response", 1, true), seen)
    rcs:close()
  end)

  it("cancels a new brand's review (승인대기 -> 저장); again: 64321 with what to do", function()
    local rcs = client()
    local id = assert(rcs:register_brand(fx.brand())).brandId
    local res = assert(rcs:cancel_brand(id))
    assert.same({ id, "20000000", 200 }, { res.brandId, res.code, res.status })
    assert.equal("저장", status_of(rcs, id))
    local _, err = rcs:cancel_brand(id)
    assert.same({ "http", 400, "64321", true, false }, { err.kind, err.status, err.code, err.sent, err.retryable })
    assert.equal("Invalid approval status: " .. require("bizreg.rcs_brand_edit").NEXT_STEP["64321"], err.message)
    assert.equal(2, received("rcs.cancel_brand"))
    rcs:close()
  end)

  it("deletes 저장 and 반려 brands on /corp/brand/{id}; 승인대기 and approved ones there: 64327", function()
    local rcs = client()
    for _, st in ipairs { "저장", "반려" } do
      local id = make_brand(st)
      assert.equal(id, assert(rcs:delete_brand(id)).brandId)
      local _, err = rcs:get_brand(id)
      assert.equal("64316", err.code)
    end
    for _, st in ipairs { "승인대기", "승인" } do
      local id = make_brand(st)
      local _, err = rcs:delete_brand(id)
      assert.same({ "http", 400, "64327" }, { err.kind, err.status, err.code }, st)
      assert.truthy(err.message:find("approved = true", 1, true), err.message)
      assert.equal(st, status_of(rcs, id))
    end
    assert.equal(4, received("rcs.delete_brand"))
    assert.equal(0, received("rcs.delete_brand_owner"))
    rcs:close()
  end)

  it("refuses to delete an approved brand with sender numbers: 64351, mapped with what to do", function()
    local rcs = client()
    local id = make_brand("승인")
    assert(rcs:register_chatbots(id, { chatbots = fx.chatbots(1), subNumCertificate = CERT }))
    local res, err = rcs:delete_brand(id, { approved = true })
    assert.is_nil(res)
    assert.same({ "http", 400, "64351", true, false }, { err.kind, err.status, err.code, err.sent, err.retryable })
    assert.truthy(err.message:find("^chatbot exists%. need to delete all chatbot before deleting the brand: "
      .. "delete the brand's sender numbers"), err.message)
    assert.equal("승인", status_of(rcs, id))
    assert.equal(1, received("rcs.delete_brand_owner"))  -- and never the other path after it
    assert.equal(0, received("rcs.delete_brand"))
    rcs:close()
  end)

  it("edit refusals: 64328 for a status that cannot be edited, 64323 when nothing changes", function()
    local rcs = client()
    local pending = make_brand("승인대기")
    local _, err = rcs:update_brand(pending, { brandBackground = false })
    assert.same({ "http", 400, "64328" }, { err.kind, err.status, err.code })
    local id = assert(rcs:register_brand(fx.brand())).brandId
    approve(id)
    _, err = rcs:update_brand(id, { regBrand = fx.brand().regBrand })
    assert.same({ "http", 400, "64323", "No changes" }, { err.kind, err.status, err.code, err.message })
    -- the same profile image again is no change either
    _, err = rcs:update_brand(id, { brandProfile = fx.brand().brandProfile })
    assert.equal("64323", err.code)
    assert.equal("승인", status_of(rcs, id))
    assert.equal(3, received("rcs.update_brand"))
    rcs:close()
  end)

  it("sends exactly prepare_update_brand's bytes; brandBackground = false is the empty part that removes it", function()
    local rcs = client()
    local id = assert(rcs:register_brand(fx.brand { brandBackground = { data = fx.png(500, 500), filename = "bg.png" } })).brandId
    approve(id)
    local res = assert(rcs:update_brand(id, { brandBackground = false }))
    assert.equal("승인", res.brand.status)  -- not the name or profile: no review
    local reqs = sb:requests()
    local last = reqs[#reqs]
    assert.same({ "PUT", "/api/1.1/corp/" .. calls.CLIENT_ID .. "/brand/" .. id }, { last.method, last.path })
    local boundary = last.content_type:match("boundary=(.+)$")
    local ref = assert(bizreg.prepare_update_brand(id, { brandBackground = false },
      { person_id = calls.CLIENT_ID, boundary = boundary }))
    assert.equal(ref.path, last.path:sub(#"/api/1.1" + 1))
    assert.equal("--" .. boundary .. '\r\nContent-Disposition: form-data; name="brandBackground"\r\n\r\n\r\n--'
      .. boundary .. "--\r\n", ref.body)
    assert.equal(ref.body, sb:body())
    -- removed: the same removal again changes nothing
    local _, err = rcs:update_brand(id, { brandBackground = false })
    assert.equal("64323", err.code)
    -- a new profile image goes to review
    res = assert(rcs:update_brand(id, { brandProfile = { data = fx.png(600, 600), filename = "p2.png" } }))
    assert.equal("승인대기", res.brand.status)
    rcs:close()
  end)

  it("sends nothing for what the rules refuse: no part (64323), a bad brandId (64316), a bad image", function()
    local rcs = client { auth = "static", person_id = calls.CLIENT_ID }
    local id = make_brand("승인")
    for _, case in ipairs {
      { function() return rcs:update_brand(id, {}) end, "64323" },
      { function() return rcs:update_brand(id, { brandProfile = { data = fx.png(400, 300) } }) end, "64394" },
      { function() return rcs:update_brand(id, { regBrand = { name = "x" } }) end, "64336" },
      { function() return rcs:update_brand("BR.abcdefghijk", { brandBackground = false }) end, "64316" },
      { function() return rcs:cancel_brand("..") end, "64316" },
      { function() return rcs:delete_brand("a/b", { approved = true }) end, "64316" },
    } do
      local res, err = case[1]()
      assert.is_nil(res)
      assert.same({ "validation", case[2], false }, { err.kind, err.code, err.sent })
    end
    assert.equal(0, sb:stats().requests)
    rcs:close()
  end)

  -- (the routes whose repeat can change the outcome: an edit, the delete of an approved brand;
  -- cancel and the other delete are the retry table's to decide: issue 19 item 2)
  it("is sent at most once: an edit or an approved brand's delete that arrived is never sent again", function()
    local rcs = client { retries = 2, timeout = 2, auth = "static", person_id = calls.CLIENT_ID }
    for _, case in ipairs {
      { ep = "rcs.update_brand", call = function(id) return rcs:update_brand(id, { regBrand = fx.brand().regBrand }) end },
      { ep = "rcs.delete_brand_owner", call = function(id) return rcs:delete_brand(id, { approved = true }) end },
    } do
      local id = make_brand("승인")
      sb:close_idle()
      sb:fault { endpoint = case.ep, mode = "reset_after_body", commit = true }
      local res, err = case.call(id)
      assert.is_nil(res, case.ep)
      assert.same({ "transport", "RECV_ERROR", true, false }, { err.kind, err.code, err.sent, err.retryable }, case.ep)
      local s = sb:stats()
      assert.same({ 1, 1 }, { s.by_endpoint[case.ep], s.received[case.ep] }, case.ep)
      sb:clear_faults()
    end
    rcs:close()
  end)

  it("answers a 2xx that does not name the brand as an unknown outcome (decode, sent)", function()
    local rcs = client()
    local id = make_brand("저장")
    sb:fault { endpoint = "rcs.delete_brand", mode = "echo", status = 200 }
    local res, err = rcs:delete_brand(id)
    assert.is_nil(res)
    assert.same({ "decode", true }, { err.kind, err.sent })
    assert.truthy(err.message:find("get_brand", 1, true), err.message)
    rcs:close()
  end)

  it("runs as jobs (start/poll) and as one-shots", function()
    local rcs = client()
    local a, b, c = make_brand("승인대기"), make_brand("저장"), make_brand("승인")
    local jobs = { rcs:start("cancel_brand", a), rcs:start("delete_brand", b),
      rcs:start("update_brand", c, { regBrand = fx.brand().regBrand }) }
    for _, job in ipairs(jobs) do
      for _ = 1, 2000 do if job.done then break end bizreg.poll(0.05) end
      local res, err = job:result()
      assert.is_nil(err and tostring(err))
      assert.truthy(res.brandId)
    end
    assert.equal("저장", status_of(rcs, a))
    rcs:close()
    local opts = { base_url = sb.rcs_url, client_id = calls.CLIENT_ID, client_secret = calls.CLIENT_SECRET }
    assert.equal(a, assert(bizreg.delete_brand(opts, a)).brandId)
    local d = make_brand("승인대기")
    assert.equal(d, assert(bizreg.cancel_brand(opts, d)).brandId)
    local e = make_brand("승인")
    assert.equal(e, assert(bizreg.update_brand(opts, e, { regBrand = fx.brand().regBrand })).brandId)
  end)
end)
