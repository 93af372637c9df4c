-- The sandbox's sender-number routes over raw HTTP (no bizreg client): which status allows
-- an edit, a delete, a cancel (every approvalResult value and (수정) state), what each does to
-- the status and the data, the list's paging and 64202, the control call's refusals, and the
-- first-violation order (auth, brand, chatbotId, body). The client's view: spec/e2e/rcs_chatbot_ops_e2e_spec.lua.
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"

local json = sandbox.json
local AUTH = { authorization = "Bearer sandbox-rcs-token" }
local B = "sbx-boundary"

describe("sandbox chatbot routes", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function call(method, path, body, headers)
    local h = {}
    for k, v in pairs(headers or AUTH) do h[k] = v end
    if body then h["content-type"] = "multipart/form-data; boundary=" .. B end
    local status, out = sb:request(method, "/api/1.1" .. path, { body = body, headers = h })
    local doc = out ~= "" and json.decode(out) or {}
    return status, doc.error and doc.error.code or doc.code, doc
  end
  local function part(name, data, filename)
    return "--" .. B .. '\r\nContent-Disposition: form-data; name="' .. name .. '"' ..
      (filename and ('; filename="' .. filename .. '"') or "") .. "\r\n\r\n" .. data .. "\r\n"
  end
  local function form(...) return table.concat({ ... }) .. "--" .. B .. "--\r\n" end
  local CERT = part("subNumCertificate", fx.images.pdf(), "c.pdf")

  -- a brand with numbers 0310000001 .. n (승인대기)
  local function brand_with(n)
    local id = sb:brands({})[1]
    local list = {}
    for i = 1, n do list[i] = { mdn = string.format("03100%05d", i), subTitle = "n" .. i } end
    local st = call("POST", "/brand/" .. id .. "/chatbot", form(part("chatbots", json.encode { chatbots = list }), CERT))
    assert.equal(200, st)
    return id
  end
  local function set_status(id, bot, status)
    return sb:request("POST", "/_sandbox/chatbot-status",
      { body = json.encode { brandId = id, chatbotId = bot, status = status, reason = "사유" } })
  end
  local function status_of(id, bot)
    local _, _, doc = call("GET", "/brand/" .. id .. "/chatbot/" .. bot)
    return doc.result[1].approvalResult, doc.result[1]
  end
  local function edit(id, bot, title)
    return call("PUT", "/brand/" .. id .. "/chatbot/" .. bot,
      form(part("chatbot", json.encode { chatbot = { mdn = bot, subTitle = title } })))
  end

  it("allows each call only in the statuses the spec names, and moves the status as it says", function()
    local BOT = "0310000001"
    -- status -> { edit (same name) code, delete code, cancel code, status after a cancel }
    local cases = {
      ["저장"] = { "20000000", "20000000", "64321" },
      ["반려"] = { "20000000", "20000000", "64321" },
      ["승인"] = { "20000000", "20000000", "64321" },
      ["승인대기"] = { "64328", "64327", "20000000", "저장" },
      ["검수시작"] = { "64328", "64327", "64321" },
      ["검수완료"] = { "64328", "64327", "64321" },
      ["검수완료(수정)"] = { "64328", "64327", "64321" },
    }
    for status, want in pairs(cases) do
      local id = brand_with(1)
      assert.equal(200, (set_status(id, BOT, status)))
      local _, code = edit(id, BOT, "n1")
      assert.equal(want[1], code, status .. " edit")
      assert.equal(status, (status_of(id, BOT)), status .. ": an edit keeping the name changes no status")
      _, code = call("PUT", "/brand/" .. id .. "/chatbot/" .. BOT .. "/cancel")
      assert.equal(want[3], code, status .. " cancel")
      if want[4] then assert.equal(want[4], (status_of(id, BOT))) end
      assert.equal(200, (set_status(id, BOT, status)))
      _, code = call("DELETE", "/brand/" .. id .. "/chatbot/" .. BOT)
      assert.equal(want[2], code, status .. " delete")
    end
  end)

  it("sends a renamed number to review and lets cancel roll back to the approved data", function()
    local id = brand_with(1)
    local BOT = "0310000001"
    set_status(id, BOT, "반려")
    assert.equal("사유", select(2, status_of(id, BOT)).approvalReason)
    edit(id, BOT, "새 이름")
    assert.equal("승인대기", (status_of(id, BOT)))
    set_status(id, BOT, "승인")
    edit(id, BOT, "두 번째")
    local st, bot = status_of(id, BOT)
    assert.same({ "승인대기(수정)", "두 번째" }, { st, bot.subTitle })
    set_status(id, BOT, "반려(수정)")  -- the reviewer refused the new name
    assert.equal("20000000", select(2, call("PUT", "/brand/" .. id .. "/chatbot/" .. BOT .. "/cancel")))
    st, bot = status_of(id, BOT)
    assert.same({ "승인", "새 이름" }, { st, bot.subTitle })
  end)

  it("pages the list with offset/limit, answers 64202 on bad values, forgets a deleted number", function()
    local id = brand_with(150)
    local _, code, doc = call("GET", "/brand/" .. id .. "/chatbot?offset=100&limit=100")
    assert.same({ "20000000", 50, 150, "0310000101" },
      { code, #doc.result, doc.pagination.total, doc.result[1].chatbotId })
    for _, q in ipairs { "limit=99", "limit=1001", "offset=-1", "offset=x" } do
      assert.equal("64202", select(2, call("GET", "/brand/" .. id .. "/chatbot?" .. q)), q)
    end
    set_status(id, "0310000101", "저장")
    call("DELETE", "/brand/" .. id .. "/chatbot/0310000101")
    _, _, doc = call("GET", "/brand/" .. id .. "/chatbot?offset=100")
    assert.same({ 49, 149, "0310000102" }, { #doc.result, doc.pagination.total, doc.result[1].chatbotId })
    local st, out = sb:request("GET", "/_sandbox/brands/" .. id .. "/chatbots")
    assert.equal(200, st)
    assert.equal(149, json.decode(out).count)
  end)

  it("answers the first violation: auth, brand, chatbotId, then the body", function()
    local id = brand_with(1)
    local other = sb:brands { owner = "another-account" }[1]
    for _, c in ipairs {
      { { call("GET", "/brand/" .. id .. "/chatbot/0310000001", nil, {}) }, 401, "61001" },
      { { call("GET", "/brand/BR.nosuch/chatbot/0310000001") }, 400, "64316" },
      { { call("GET", "/brand/" .. other .. "/chatbot/0310000001") }, 403, "63001" },
      { { call("GET", "/brand/" .. id .. "/chatbot/0123456789012345") }, 400, "64105" },
      { { call("DELETE", "/brand/" .. id .. "/chatbot/0399999999") }, 400, "64383" },
      { { call("PUT", "/brand/" .. id .. "/chatbot/0310000001", form(CERT)) }, 400, "64336" },
      { { call("PUT", "/brand/" .. id .. "/chatbot/0310000001", form(part("chatbot", "{}"))) }, 400, "64302" },
      { { call("PUT", "/brand/" .. id .. "/chatbot/0310000001",
        form(part("chatbot", json.encode { chatbot = { mdn = "0310000001" } }))) }, 400, "64309" },
      { { call("PUT", "/brand/" .. id .. "/chatbot/0310000001",
        form(part("chatbots", json.encode { chatbots = {} }))) }, 400, "64397" },
    } do
      assert.same({ c[2], c[3] }, { c[1][1], c[1][2] })
    end
  end)

  it("refuses a control call that names no held chatbot or no approvalResult value", function()
    local id = brand_with(1)
    for _, doc in ipairs {
      { brandId = id, chatbotId = "0399999999", status = "승인" },
      { brandId = "BR.nosuch", chatbotId = "0310000001", status = "승인" },
      { brandId = id, chatbotId = "0310000001", status = "approved" },
      { brandId = id, chatbotId = "0310000001", status = "승인", reason = 5 },
    } do
      local st = sb:request("POST", "/_sandbox/chatbot-status", { body = json.encode(doc) })
      assert.equal(400, st)
    end
    assert.equal("승인대기", (status_of(id, "0310000001")))
  end)
end)
