-- RCS sender numbers after registration, against the sandbox: list_chatbots / each_chatbot
-- (pages), get_chatbot, update_chatbot (the bytes prepare_update_chatbot describes, review on a
-- new name), delete_chatbot, cancel_chatbot; the sandbox's state rules and documented errors;
-- the server's count of bodies (at most once); job and one-shot forms.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"
local calls = require "spec.helpers.calls"

local json = sandbox.json
local CERT_PATH = fx.file("chatbot-ops-cert.pdf", function() return fx.images.pdf(2048) end)

local function chatbots(n) return fx.fresh_chatbots("032", n) end

describe("RCS chatbot operations end to end", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra) return calls.rcs_client(sb, extra) end

  local function set_status(brand_id, chatbot_id, status)
    local st, body = sb:request("POST", "/_sandbox/chatbot-status",
      { body = json.encode { brandId = brand_id, chatbotId = chatbot_id, status = status } })
    assert.equal(200, st, body)
  end
  -- a seeded brand holding n new chatbots (registered through the API, 승인대기, or moved to
  -- status by the control call): brandId, list
  local function brand_with(rcs, n, status)
    local brand_id = sb:brands({})[1]
    local list = chatbots(n)
    assert(rcs:register_chatbots(brand_id, { chatbots = list, subNumCertificate = CERT_PATH }))
    if status then for _, c in ipairs(list) do set_status(brand_id, c.mdn, status) end end
    return brand_id, list
  end
  local function received(ep) return sb:stats().received["rcs." .. ep] end
  local function count(ep) return sb:stats().by_endpoint["rcs." .. ep] end

  it("lists a brand's chatbots over several pages, each once, and ends on the short page", function()
    local rcs = client()
    local brand_id, list = brand_with(rcs, 250)
    local page = assert(rcs:list_chatbots(brand_id, { offset = 200, limit = 100 }))
    assert.same({ 50, 250, 200, 100 }, { #page.chatbots, page.pagination.total, page.pagination.offset,
      page.pagination.limit })
    assert.same({ list[201].mdn, brand_id, "승인대기" },
      { page.chatbots[1].chatbotId, page.chatbots[1].brandId, page.chatbots[1].approvalResult })
    local seen, n = {}, 0
    for bot, err in rcs:each_chatbot(brand_id, { limit = 100 }) do
      assert.is_nil(err and tostring(err))
      assert.is_nil(seen[bot.chatbotId])
      seen[bot.chatbotId], n = true, n + 1
    end
    assert.equal(250, n)
    assert.equal(1 + 3, count("list_chatbots"))
    local last = sb:requests()[#sb:requests()]
    assert.same({ "GET", "/api/1.1/brand/" .. brand_id .. "/chatbot" }, { last.method, last.path })
    rcs:close()
  end)

  it("ends a walk over a server that repeats its first page: each number once, a decode error, two GETs", function()
    local rcs = client()
    local brand_id = brand_with(rcs, 150)
    sb:config { rcs_chatbot_list_ignores_offset = true }
    local before, n, errs = count("list_chatbots"), 0, {}
    for bot, err in rcs:each_chatbot(brand_id, { limit = 100 }) do
      if bot then n = n + 1 else errs[#errs + 1] = err end
    end
    assert.same({ 100, 1, "decode", 2 }, { n, #errs, errs[1].kind, count("list_chatbots") - before })
    assert.matches("does not advance", errs[1].message, 1, true)
    rcs:close()
  end)

  it("reads an empty list (204 / 60004) as an empty page", function()
    local rcs = client()
    local brand_id = sb:brands({})[1]
    local page = assert(rcs:list_chatbots(brand_id))
    assert.same({}, page.chatbots)
    for _, how in ipairs { "204", "60004" } do
      sb:dialect { empty_list = how }
      page = assert(rcs:list_chatbots(brand_id))
      assert.same({}, page.chatbots, how)
      local n = 0
      for bot, err in rcs:each_chatbot(brand_id) do n = n + 1 assert(bot, err) end
      assert.equal(0, n, how)
    end
    rcs:close()
  end)

  it("gets one chatbot's details; unknown ids and brands answer the documented codes", function()
    local rcs = client()
    local brand_id, list = brand_with(rcs, 2)
    local res = assert(rcs:get_chatbot(brand_id, list[2].mdn))
    assert.same({ list[2].mdn, list[2].subTitle, "승인대기", "1" },
      { res.chatbot.chatbotId, res.chatbot.subTitle, res.chatbot.approvalResult, res.chatbot.rcsReply })
    local _, err = rcs:get_chatbot(brand_id, "0299999999")
    assert.same({ "http", 400, "64383" }, { err.kind, err.status, err.code })
    _, err = rcs:get_chatbot("BR.nosuch", list[1].mdn)
    assert.same({ 400, "64316" }, { err.status, err.code })
    local other = sb:brands { owner = "another-account" }[1]
    _, err = rcs:get_chatbot(other, list[1].mdn)
    assert.same({ 403, "63001" }, { err.status, err.code })
    rcs:close()
  end)

  it("refuses a bad chatbotId before sending anything (64105)", function()
    local rcs = client()
    local brand_id = sb:brands({})[1]
    local before = #sb:requests()
    for _, id in ipairs { "", "..", "0123456789012345", "02/12", "a b" } do
      local _, err = rcs:get_chatbot(brand_id, id)
      assert.same({ "validation", "64105" }, { err.kind, err.code })
      _, err = rcs:delete_chatbot(brand_id, id)
      assert.same({ "validation", "64105" }, { err.kind, err.code })
    end
    assert.equal(before, #sb:requests())
    rcs:close()
  end)

  it("sends X-RCS-Brandkey on every chatbot call as register_chatbots does (the call's key wins)", function()
    local rcs0 = client()
    local brand_id, list = brand_with(rcs0, 2, "반려")
    local key = assert(rcs0:get_brand(brand_id)).brand.brandKey
    rcs0:close()
    local rcs = client { brand_key = key }
    local id = list[1].mdn
    local p = { chatbot = { mdn = id, subTitle = "키" } }
    for _, call in ipairs {
      function(o) return rcs:list_chatbots(brand_id, o) end,
      function(o) return rcs:get_chatbot(brand_id, id, o) end,
      function(o) return rcs:update_chatbot(brand_id, id, p, o) end,
      function(o) return rcs:cancel_chatbot(brand_id, id, o) end,
      function(o) return rcs:delete_chatbot(brand_id, list[2].mdn, o) end,
    } do
      local _, err = call { brand_key = "BK.wrongwrongwrong" }
      assert.equal("64002", err.code)
      assert.equal("BK.wrongwrongwrong", sb:headers()["x-rcs-brandkey"])
      assert(call())
      assert.equal(key, sb:headers()["x-rcs-brandkey"])
    end
    for bot in rcs:each_chatbot(brand_id) do assert(bot) end
    assert.equal(key, sb:headers()["x-rcs-brandkey"])
    rcs:close()
  end)

  it("edits a chatbot with exactly the bytes prepare_update_chatbot describes; a new name goes to review", function()
    local rcs = client()
    local brand_id, list = brand_with(rcs, 1)
    local id = list[1].mdn
    set_status(brand_id, id, "승인")
    local p = { chatbot = { mdn = id, subTitle = list[1].subTitle, rcsReply = "0", display = "11" } }
    local res = assert(rcs:update_chatbot(brand_id, id, p))
    assert.same({ id, "승인", "11" }, { res.chatbotId, res.chatbot.approvalResult, res.chatbot.display })
    local last = sb:requests()[#sb:requests()]
    assert.same({ "PUT", "/api/1.1/brand/" .. brand_id .. "/chatbot/" .. id }, { last.method, last.path })
    local boundary = last.content_type:match("boundary=(.+)$")
    local ref = assert(bizreg.prepare_update_chatbot(brand_id, id, p, { boundary = boundary }))
    assert.equal(ref.body, sb:body())
    -- a new name: back to review, the approved data kept; cancel rolls back to it
    res = assert(rcs:update_chatbot(brand_id, id, { chatbot = { mdn = id, subTitle = "새 이름" } }))
    assert.equal("승인대기(수정)", res.chatbot.approvalResult)
    assert.equal("새 이름", assert(rcs:get_chatbot(brand_id, id)).chatbot.subTitle)
    res = assert(rcs:cancel_chatbot(brand_id, id))
    assert.equal(id, res.chatbotId)
    local now = assert(rcs:get_chatbot(brand_id, id)).chatbot
    assert.same({ "승인", list[1].subTitle, "0" }, { now.approvalResult, now.subTitle, now.rcsReply })
    assert.equal(2, received("update_chatbot"))
    rcs:close()
  end)

  it("answers the documented state errors: edit 64328, delete 64327, cancel 64321, a changed number 64361", function()
    local rcs = client()
    local brand_id, list = brand_with(rcs, 1)
    local id = list[1].mdn
    set_status(brand_id, id, "검수시작")
    local _, err = rcs:update_chatbot(brand_id, id, { chatbot = { mdn = id, subTitle = "x" } })
    assert.same({ "http", 400, "64328", true }, { err.kind, err.status, err.code, err.sent })
    _, err = rcs:delete_chatbot(brand_id, id)
    assert.same({ 400, "64327" }, { err.status, err.code })
    _, err = rcs:cancel_chatbot(brand_id, id)
    assert.same({ 400, "64321" }, { err.status, err.code })
    set_status(brand_id, id, "반려")
    _, err = rcs:update_chatbot(brand_id, id, { chatbot = { mdn = "0311111111", subTitle = "x" } })
    assert.same({ 400, "64361" }, { err.status, err.code })
    -- 승인대기 -> cancel -> 저장
    local res = assert(rcs:update_chatbot(brand_id, id, { chatbot = { mdn = id, subTitle = "다시" } }))
    assert.equal("승인대기", res.chatbot.approvalResult)
    assert(rcs:cancel_chatbot(brand_id, id))
    assert.equal("저장", assert(rcs:get_chatbot(brand_id, id)).chatbot.approvalResult)
    rcs:close()
  end)

  it("refuses a bad edit payload by the register rows before sending (the same codes)", function()
    local rcs = client()
    local brand_id = sb:brands({})[1]
    local before = #sb:requests()
    local _, err = rcs:update_chatbot(brand_id, "0212345678", { chatbot = { mdn = "0212345678" } })
    assert.same({ "validation", "64309" }, { err.kind, err.code })
    _, err = rcs:update_chatbot(brand_id, "0212345678", { chatbots = { { mdn = "0212345678", subTitle = "x" } } })
    assert.equal("validation", err.kind)
    _, err = rcs:update_chatbot(brand_id, "0212345678",
      { chatbot = { mdn = "0212345678", subTitle = "x", display = "99" } })
    assert.same({ "validation", "64310" }, { err.kind, err.code })
    assert.equal(before, #sb:requests())
    rcs:close()
  end)

  it("deletes a chatbot: gone from the list, its number not registrable again (64344)", function()
    local rcs = client()
    local brand_id, list = brand_with(rcs, 3, "저장")
    local res = assert(rcs:delete_chatbot(brand_id, list[2].mdn))
    assert.equal(list[2].mdn, res.chatbotId)
    local page = assert(rcs:list_chatbots(brand_id))
    assert.same({ list[1].mdn, list[3].mdn }, { page.chatbots[1].chatbotId, page.chatbots[2].chatbotId })
    assert.equal(2, #page.chatbots)
    local _, err = rcs:get_chatbot(brand_id, list[2].mdn)
    assert.equal("64383", err.code)
    _, err = rcs:delete_chatbot(brand_id, list[2].mdn)
    assert.equal("64383", err.code)
    _, err = rcs:register_chatbots(brand_id, { chatbots = { list[2] }, subNumCertificate = CERT_PATH })
    assert.equal("64344", err.code)
    assert.equal(2, count("delete_chatbot"))
    rcs:close()
  end)

  -- bizreg.routes: the edit is "once" (a new name goes to review); a delete or cancel of the same
  -- ID is "repeat": sent again after the reset, and the resend's refusal (the first one did the
  -- work) says resent = true, which outcome.of reads as maybe_processed, never "refused".
  it("sends an edit at most once, and a delete or a cancel again after a connection reset after the body", function()
    local outcome = require "bizreg.outcome"
    local rcs = client { retries = 3, auth = "static" }
    local brand_id, list = brand_with(rcs, 3)
    for i, case in ipairs {
      { ep = "update_chatbot", sent = 1, call = function(id) return rcs:update_chatbot(brand_id, id, { chatbot = { mdn = id, subTitle = "한 번만" } }) end },
      { ep = "delete_chatbot", sent = 2, code = "64327", call = function(id) return rcs:delete_chatbot(brand_id, id) end },
      { ep = "cancel_chatbot", sent = 2, code = "64321", call = function(id) return rcs:cancel_chatbot(brand_id, id) end },
    } do
      sb:close_idle()
      sb:fault { endpoint = "rcs." .. case.ep, mode = "reset_after_body", commit = true }
      local before = sb:stats().by_endpoint["rcs." .. case.ep]
      local res, err = case.call(list[i].mdn)
      assert.is_nil(res, case.ep)
      if case.sent == 1 then
        assert.same({ "transport", true, false }, { err.kind, err.sent, err.retryable }, case.ep)
      else
        assert.same({ "http", case.code, true, true }, { err.kind, err.code, err.sent, err.resent }, case.ep)
      end
      assert.equal(outcome.MAYBE, outcome.of(err), case.ep)
      assert.equal(case.sent, count(case.ep) - before, case.ep)
      sb:clear_faults()
    end
    assert.equal(1, received("update_chatbot"))
    rcs:close()
  end)

  it("runs as jobs and as one-shots", function()
    local rcs = client()
    local brand_id, list = brand_with(rcs, 2)
    set_status(brand_id, list[1].mdn, "승인")
    local job = rcs:start("list_chatbots", brand_id)
    local job2 = rcs:start("delete_chatbot", brand_id, list[1].mdn)
    while not (job.done and job2.done) do bizreg.poll(0.05) end
    assert.equal(2, #assert(job:result()).chatbots)
    assert.equal(list[1].mdn, assert(job2:result()).chatbotId)
    rcs:close()
    local opts = { base_url = sb.rcs_url, token = "sandbox-rcs-token" }
    local res = assert(bizreg.get_chatbot(opts, brand_id, list[2].mdn))
    assert.equal(list[2].mdn, res.chatbot.chatbotId)
    assert(bizreg.cancel_chatbot(opts, brand_id, list[2].mdn))
    assert.equal(1, #assert(bizreg.list_chatbots(opts, brand_id)).chatbots)
  end)
end)
