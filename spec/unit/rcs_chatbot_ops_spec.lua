-- RCS sender-number operations, offline (a transport function answers): each rule at its
-- boundary (brandId 13, chatbotId 15, offset/limit), prepare_update_chatbot's exact bytes, the
-- route each request names, tolerant reading (numeric codes, 204/60004, extra fields), writes
-- whose answer does not name the chatbot (outcome unknown), walks that repeat a page or pass
-- their caps, and programmer errors. Against the sandbox: spec/e2e/rcs_chatbot_ops_e2e_spec.lua.
local bizreg = require "bizreg"

local BRAND = "BR.0a81DDlZjz"

-- An offline client: answer(req) -> status, body; seen: the requests (method, url, headers) and
-- the route of each call (client:call wrapped on the instance).
local function offline(answer, extra)
  local seen, routes = {}, {}
  local o = { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", retries = 0,
    transport = function(req)
      seen[#seen + 1] = req
      if #seen > 50 then return { status = 500, headers = {}, body = "stop" } end
      local status, body = answer(req, #seen)
      return { status = status, headers = {}, body = body }
    end }
  for k, v in pairs(extra or {}) do o[k] = v end
  local rcs = bizreg.rcs(o)
  local call = rcs.call
  rcs.call = function(self, ctx, req) routes[#routes + 1] = req.route return call(self, ctx, req) end
  return rcs, seen, routes
end

local function ok(result, extra)
  return 200, '{"code":"20000000","status":200,"result":' .. result .. (extra or "") .. "}"
end

local function bots(from, to)
  local t = {}
  for i = from, to do t[#t + 1] = string.format('{"chatbotId":"02%08d","brandId":"%s","approvalResult":"승인"}', i, BRAND) end
  return "[" .. table.concat(t, ",") .. "]"
end

describe("RCS chatbot operations (offline)", function()
  it("checks brandId and chatbotId at their boundaries before sending (64316, 64105)", function()
    local rcs, seen = offline(function() return ok('[{"chatbotId":"x"}]') end)
    local id15, id16 = string.rep("1", 15), string.rep("1", 16)
    local _, err = rcs:get_chatbot(BRAND, id16)
    assert.same({ "validation", "64105", "chatbotId", false }, { err.kind, err.code, err.errorProperties[1].key, err.sent })
    assert.equal("Invalid chatbotId on path parameter", err.message)
    _, err = rcs:get_chatbot(string.rep("B", 14), id15)
    assert.same({ "validation", "64316" }, { err.kind, err.code })
    for _, bad in ipairs { "", ".", "..", "a/b", "a%2F", "a b", "a\n" } do
      _, err = rcs:cancel_chatbot(BRAND, bad)
      assert.equal("64105", err.code, bad)
    end
    assert.equal(0, #seen)
    _, err = rcs:get_chatbot(string.rep("B", 13), id15)  -- both at their limit: sent
    assert.equal(1, #seen)
    assert.equal("http://127.0.0.1:9/api/1.1/brand/" .. string.rep("B", 13) .. "/chatbot/" .. id15, seen[1].url)
    assert.equal("decode", err.kind)  -- an answer about chatbot "x"
    assert.matches("answer is about chatbot x, not " .. id15, err.message, 1, true)
    rcs:close()
  end)

  it("checks offset and limit as list_brands does (64202 at 99 and 1001, nothing sent)", function()
    local rcs, seen = offline(function() return ok("[]") end)
    for _, q in ipairs { { limit = 99 }, { limit = 1001 }, { offset = -1 }, { offset = 1.5 } } do
      local _, err = rcs:list_chatbots(BRAND, q)
      assert.same({ "validation", "64202" }, { err.kind, err.code })
    end
    assert.equal(0, #seen)
    assert(rcs:list_chatbots(BRAND, { limit = 100 }))
    assert(rcs:list_chatbots(BRAND, { offset = 0, limit = 1000 }))
    assert.equal("http://127.0.0.1:9/api/1.1/brand/" .. BRAND .. "/chatbot?offset=0&limit=1000", seen[2].url)
    rcs:close()
  end)

  it("names the yaml's route in every request", function()
    local rcs, _, routes = offline(function(req)
      if req.method == "GET" and req.url:find("/chatbot?", 1, true) then return ok("[]") end
      return ok('[{"chatbotId":"0212345678"}]')
    end)
    assert(rcs:list_chatbots(BRAND))
    for _ in rcs:each_chatbot(BRAND) do end
    assert(rcs:get_chatbot(BRAND, "0212345678"))
    assert(rcs:update_chatbot(BRAND, "0212345678", { chatbot = { mdn = "0212345678", subTitle = "t" } }))
    assert(rcs:delete_chatbot(BRAND, "0212345678"))
    assert(rcs:cancel_chatbot(BRAND, "0212345678"))
    assert.same({ "GET /brand/{brandId}/chatbot", "GET /brand/{brandId}/chatbot",
      "GET /brand/{brandId}/chatbot/{chatbotId}", "PUT /brand/{brandId}/chatbot/{chatbotId}",
      "DELETE /brand/{brandId}/chatbot/{chatbotId}", "PUT /brand/{brandId}/chatbot/{chatbotId}/cancel" }, routes)
    rcs:close()
  end)

  it("prepare_update_chatbot gives the exact body: one chatbot part on the register rows, the certificate after it", function()
    local req = assert(bizreg.prepare_update_chatbot(BRAND, "0212345678", {
      chatbot = { mdn = "0212345678", subTitle = "새 이름", display = "11" },
      subNumCertificate = { data = "%PDF-1.4\n%%EOF\n", filename = "cert.pdf" },
    }, { boundary = "b0" }))
    assert.same({ "PUT", "/brand/" .. BRAND .. "/chatbot/0212345678", "multipart/form-data; boundary=b0" },
      { req.method, req.path, req.headers["Content-Type"] })
    assert.equal(table.concat({
      "--b0", 'Content-Disposition: form-data; name="chatbot"', "",
      '{"chatbot":{"mdn":"0212345678","subTitle":"새 이름","rcsReply":"1","display":"11"}}',
      "--b0", 'Content-Disposition: form-data; name="subNumCertificate"; filename="cert.pdf"',
      "Content-Type: application/pdf", "", "%PDF-1.4\n%%EOF\n", "--b0--", "" }, "\r\n"), req.body)
    -- without a certificate (optional in the edit): the chatbot part only
    req = assert(bizreg.prepare_update_chatbot(BRAND, "0212345678", { chatbot = { mdn = "0212345678", subTitle = "a" } },
      { boundary = "b0" }))
    assert.equal('--b0\r\nContent-Disposition: form-data; name="chatbot"\r\n\r\n'
      .. '{"chatbot":{"mdn":"0212345678","subTitle":"a","rcsReply":"1"}}\r\n--b0--\r\n', req.body)
  end)

  it("validates the edit by register_chatbots' rows, with their codes and limits", function()
    local function code(cb)
      local _, err = bizreg.prepare_update_chatbot(BRAND, "0212345678", { chatbot = cb })
      return err and err.code
    end
    assert.is_nil(code { mdn = "0212345678", subTitle = string.rep("가", 20) })
    assert.equal("64374", code { mdn = "0212345678", subTitle = string.rep("가", 21) })
    assert.equal("64309", code { mdn = "0212345678" })
    assert.equal("64307", code { subTitle = "x" })
    assert.equal("64310", code { mdn = "0212345678", subTitle = "x", display = "12" })
    assert.equal("64381", code { mdn = "0212345678", subTitle = "x", subNum = "0299999999" })
    assert.equal("64397", code { mdn = "0212345678", subTitle = "x", nope = 1 })
    local _, err = bizreg.prepare_update_chatbot(BRAND, "0212345678", {})
    assert.same({ "64336", "chatbot" }, { err.code, err.errorProperties[1].key })
    _, err = bizreg.prepare_update_chatbot(BRAND, "0212345678", { chatbots = {} })
    assert.equal("validation", err.kind)
  end)

  it("reads lists tolerantly: numeric codes, extra fields kept, 204 and 60004 as empty pages", function()
    local answers = {
      function() return 200, '{"code":20000000,"status":200,"result":' .. bots(1, 2) .. ',"extra":1}' end,
      function() return 204, "" end,
      function() return 200, '{"status":204,"error":{"code":60004,"message":"No Content"}}' end,
    }
    local i = 0
    local rcs = offline(function() i = i + 1 return answers[i]() end)
    local page = assert(rcs:list_chatbots(BRAND))
    assert.same({ "20000000", 2, "0200000001", "승인" },
      { page.code, #page.chatbots, page.chatbots[1].chatbotId, page.chatbots[2].approvalResult })
    assert.same({}, assert(rcs:list_chatbots(BRAND)).chatbots)
    assert.same({}, assert(rcs:list_chatbots(BRAND)).chatbots)
    rcs:close()
  end)

  it("ends a walk on a server that repeats a page (decode error, two GETs) and at max_chatbots", function()
    local rcs, seen = offline(function() return ok(bots(1, 100)) end)
    local got, errs = 0, {}
    for bot, err in rcs:each_chatbot(BRAND) do
      if bot then got = got + 1 else errs[#errs + 1] = err end
    end
    assert.same({ 100, 1, "decode", 2 }, { got, #errs, errs[1].kind, #seen })
    assert.matches("the chatbot list does not advance", errs[1].message, 1, true)
    rcs:close()
    rcs = offline(function(req)
      local offset = tonumber(req.url:match("offset=(%d+)"))
      return ok(bots(offset + 1, offset + 100))
    end)
    errs = {}
    for bot, err in rcs:each_chatbot(BRAND, { max_chatbots = 250 }) do if not bot then errs[#errs + 1] = err end end
    assert.same({ 1, "WALK_LIMIT", 3, 200, false }, { #errs, errs[1].code, errs[1].pages, errs[1].chatbots, errs[1].sent })
    assert.matches("max_chatbots = 250", errs[1].message, 1, true)
    errs = {}
    for bot, err in rcs:each_chatbot(BRAND, { max_pages = 2 }) do if not bot then errs[#errs + 1] = err end end
    assert.same({ "WALK_LIMIT", 2 }, { errs[1].code, errs[1].pages })
    rcs:close()
  end)

  it("walks to the short page and stops there", function()
    local rcs, seen = offline(function(req)
      local offset = tonumber(req.url:match("offset=(%d+)"))
      return ok(bots(offset + 1, math.min(offset + 100, 230)))
    end)
    local n = 0
    for bot, err in rcs:each_chatbot(BRAND) do assert(bot, err) n = n + 1 end
    assert.same({ 230, 3 }, { n, #seen })
    rcs:close()
  end)

  it("yields a bad brandId once from each_chatbot, nothing sent", function()
    local rcs, seen = offline(function() return ok("[]") end)
    local out = {}
    for bot, err in rcs:each_chatbot("..") do out[#out + 1] = { bot, err } end
    assert.same({ 1, false, "64316" }, { #out, out[1][1], out[1][2].code })
    assert.equal(0, #seen)
    rcs:close()
  end)

  it("takes a write's 2xx that does not name the chatbot as an unknown outcome (decode, sent = true)", function()
    for _, body in ipairs { '{"code":"20000000","status":200,"result":[]}', '{"code":"20000000","status":200}',
      '{"code":"20000000","status":200,"result":[{"chatbotId":"0299999999"}]}' } do
      local rcs = offline(function() return 200, body end)
      for _, c in ipairs {
        { "delete", function() return rcs:delete_chatbot(BRAND, "0212345678") end },
        { "cancel", function() return rcs:cancel_chatbot(BRAND, "0212345678") end },
        { "update", function() return rcs:update_chatbot(BRAND, "0212345678", { chatbot = { mdn = "0212345678", subTitle = "t" } }) end },
      } do
        local res, err = c[2]()
        assert.is_nil(res)
        assert.same({ "decode", true, false }, { err.kind, err.sent, err.retryable }, c[1] .. " " .. body)
        assert.matches("get_chatbot", err.message, 1, true)
      end
      rcs:close()
    end
  end)

  it("maps the server's Fail envelope (numeric code) to an http error", function()
    local rcs = offline(function() return 400, '{"error":{"code":64327,"message":"Not allowed delete"},"status":400}' end)
    local _, err = rcs:delete_chatbot(BRAND, "0212345678")
    assert.same({ "http", 400, "64327", "Not allowed delete", true }, { err.kind, err.status, err.code, err.message, err.sent })
    rcs:close()
  end)

  it("raises on wrong argument types and unknown options, at the caller", function()
    local rcs = offline(function() return ok("[]") end)
    assert.has_error(function() rcs:get_chatbot(BRAND, 5) end, "bizreg: chatbotId must be a string")
    assert.has_error(function() rcs:get_chatbot(BRAND) end, "bizreg: chatbotId must be a string")
    assert.has_error(function() rcs:delete_chatbot(nil, "1") end, "bizreg: brandId must be a string")
    assert.has_error(function() rcs:cancel_chatbot(BRAND, "1", { nope = 1 }) end, "bizreg: unknown call option 'nope'")
    assert.has_error(function() rcs:update_chatbot(BRAND, "1", "x") end, "bizreg: payload must be a table")
    assert.has_error(function() rcs:list_chatbots(BRAND, { page = 1 }) end, "bizreg: unknown query field 'page'")
    assert.has_error(function() rcs:each_chatbot(BRAND, { max_chatbots = 0 }) end)
    assert.has_error(function() rcs:each_chatbot(BRAND, { max_brands = 5 }) end)
    assert.has_error(function() rcs:get_chatbot(BRAND, "1", { brand_key = "a\r\nb" }) end)
    assert.has_error(function() bizreg.prepare_update_chatbot(BRAND, {}, {}) end)
    rcs:close()
    local live = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1" }
    assert.has_error(function() live:start("delete_chatbot", BRAND) end, "bizreg: chatbotId must be a string")
    assert.has_error(function() live:start("update_chatbot", BRAND, "1", nil) end, "bizreg: payload must be a table")
    live:close()
  end)
end)
