-- RCS register_chatbots offline: the chatbot form's exact bytes, and every rule (fail and
-- boundary) of prepare_chatbots: the brand form's chatbot rows, certificate rule and
-- duplicate-mdn rule, the chatbots part required here, and resubmit's brandId rule.
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"

local MiB = 1024 * 1024
local ID = "BR.0a81DDlZjz"
local CERT = { data = fx.images.pdf(), filename = "cert.pdf" }

local chatbots = fx.chatbots

-- A valid payload; override (or remove, with false) top-level keys.
local function payload(over)
  local p = { chatbots = chatbots(1), subNumCertificate = CERT }
  for k, v in pairs(over or {}) do
    if v == false then p[k] = nil else p[k] = v end
  end
  return p
end

-- "key|reason|code" for each violation ({} when it passes).
local function props(p, id)
  local req, err = bizreg.prepare_chatbots(id or ID, p)
  if req then return {} end
  assert.equal("validation", err.kind)
  assert.is_false(err.sent)
  local out = {}
  for i, v in ipairs(err.errorProperties) do out[i] = v.key .. "|" .. v.reason .. "|" .. tostring(v.code) end
  return out
end

local function passes(p, id)
  local req, err = bizreg.prepare_chatbots(id or ID, p, { boundary = "b0undary" })
  assert.is_nil(err and tostring(err))
  return req
end

describe("RCS chatbot form", function()
  local PDF = fx.images.pdf(3000)
  local full = {
    chatbots = {
      { mdn = "0212345678", subTitle = "대표 \"번호\"" },
      { mdn = "15225739", subNum = "15225739", subTitle = "상담", rcsReply = "0", display = "11", inputField = 0,
        subDescr = "예약 / 상담", saftyStatusYn = "N" },
    },
    subNumCertificate = { data = PDF, filename = "증명원.pdf" },
  }

  it("writes the documented part layout byte for byte", function()
    local req = assert(bizreg.prepare_chatbots(ID, full, { boundary = "bizreg-test-boundary-0001" }))
    local b = "--bizreg-test-boundary-0001"
    local json = '{"chatbots":[{"mdn":"0212345678","subTitle":"대표 \\"번호\\"","rcsReply":"1"},' ..
      '{"mdn":"15225739","subNum":"15225739","subTitle":"상담","rcsReply":"0","display":"11","inputField":0,' ..
      '"subDescr":"예약 / 상담","saftyStatusYn":"N"}]}'
    local want = b .. '\r\nContent-Disposition: form-data; name="chatbots"\r\n\r\n' .. json .. "\r\n" ..
      b .. '\r\nContent-Disposition: form-data; name="subNumCertificate"; filename="증명원.pdf"\r\n' ..
      "Content-Type: application/pdf\r\n\r\n" .. PDF .. "\r\n" .. b .. "--\r\n"
    assert.equal(#want, #req.body)
    assert.equal(want, req.body)
    assert.same({ method = "POST", path = "/brand/" .. ID .. "/chatbot",
      headers = { ["Content-Type"] = "multipart/form-data; boundary=bizreg-test-boundary-0001" } },
      { method = req.method, path = req.path, headers = req.headers })
  end)

  it("sends the brand form's chatbots and certificate parts, byte for byte (shared rows)", function()
    local bnd = "bizreg-test-boundary-0002"
    local cb = assert(bizreg.prepare_chatbots(ID, full, { boundary = bnd })).body
    local brand = fx.brand { chatbots = full.chatbots, subNumCertificate = full.subNumCertificate }
    local br = assert(bizreg.prepare_brand(brand, { boundary = bnd })).body
    local delim = "--" .. bnd .. "\r\n"
    local second = cb:find(delim, 2, true)
    local chatbots_part, cert_part = cb:sub(1, second - 1), cb:sub(second, -(#bnd + 7))  -- no closing line
    assert.truthy(chatbots_part:find('name="chatbots"', 1, true) and cert_part:find('name="subNumCertificate"', 1, true))
    assert.truthy(br:find(chatbots_part, 1, true), "the brand body holds the same chatbots part")
    assert.truthy(br:find(cert_part, 1, true), "the brand body holds the same certificate part")
  end)

  it("gives the JSON part a Content-Type line with json_content_type", function()
    local req = assert(bizreg.prepare_chatbots(ID, payload(), { boundary = "b0", json_content_type = "application/json" }))
    assert.truthy(req.body:find('name="chatbots"\r\nContent-Type: application/json\r\n\r\n{"chatbots":', 1, true))
  end)

  it("takes 1 to 1000 chatbots (64343); they are required here (64336)", function()
    passes(payload { chatbots = chatbots(1) })
    local req = passes(payload { chatbots = chatbots(1000) })
    assert.truthy(req.body:find('"mdn":"0200001000"', 1, true))
    assert.same({ "chatbots|TooMany|64343" }, props(payload { chatbots = chatbots(1001) }))
    assert.same({ "chatbots|Required|64343" }, props(payload { chatbots = {} }))
    assert.same({ "chatbots|Required|64336" }, props(payload { chatbots = false }))
    assert.same({ "chatbots|InvalidType|64343" }, props(payload { chatbots = "0212345678" }))
    assert.same({ "chatbots|Required|64336", "subNumCertificate|Required|64305" }, props({}))
  end)

  -- { chatbot fields, expected violation or nil (passes) }: every row of RegChatbotInfo
  local CASES = {
    { { mdn = false }, "chatbots[1].mdn|Required|64307" },
    { { mdn = "" }, "chatbots[1].mdn|Required|64307" },
    { { mdn = string.rep("1", 40) } },
    { { mdn = string.rep("1", 41) }, "chatbots[1].mdn|TooLong|64308" },
    { { mdn = "01012345678" }, "chatbots[1].mdn|InvalidFormat|64308" },
    { { mdn = "02-123-4567" }, "chatbots[1].mdn|InvalidFormat|64308" },
    { { mdn = 212345678 }, "chatbots[1].mdn|InvalidType|64308" },
    { { subNum = "0200000001" } },
    { { subNum = "0200000002" }, "chatbots[1].subNum|Mismatch|64381" },
    { { subTitle = false }, "chatbots[1].subTitle|Required|64309" },
    { { subTitle = string.rep("가", 20) } },
    { { subTitle = string.rep("가", 21) }, "chatbots[1].subTitle|TooLong|64374" },
    { { rcsReply = "0" } },
    { { rcsReply = "2" }, "chatbots[1].rcsReply|InvalidEnum|64311" },
    { { display = "00" } },
    { { display = "1" }, "chatbots[1].display|InvalidEnum|64310" },
    { { inputField = 1 } },
    { { inputField = 2 }, "chatbots[1].inputField|InvalidEnum|64364" },
    { { inputField = "1" }, "chatbots[1].inputField|InvalidType|64364" },
    { { subDescr = string.rep("가", 50) } },
    { { subDescr = string.rep("가", 51) }, "chatbots[1].subDescr|TooLong|64304" },
    { { saftyStatusYn = "N" } },
    { { saftyStatusYn = "y" }, "chatbots[1].saftyStatusYn|InvalidEnum|64337" },
    { { subtitle = "x" }, "chatbots[1].subtitle|UnknownField|64397" },
  }

  it("checks every chatbot field with the brand form's rows and codes", function()
    for _, c in ipairs(CASES) do
      local item = chatbots(1)[1]
      for k, v in pairs(c[1]) do item[k] = v or nil end
      local got = props(payload { chatbots = { item } })
      assert.same(c[2] and { c[2] } or {}, got, next(c[1]))
      -- and the brand form says the same of it
      assert.same(got, fx.brand_props(fx.brand { chatbots = { item }, subNumCertificate = CERT }))
    end
  end)

  it("reports a duplicate mdn with the server's message (64341)", function()
    local list = chatbots(3)
    list[3].mdn = list[1].mdn
    local _, err = bizreg.prepare_chatbots(ID, payload { chatbots = list })
    assert.equal("64341", err.code)
    assert.equal("Duplicate MDN 0200000001 in chatbots", err.message)
    assert.same({ "chatbots[3].mdn|Duplicate|64341" }, props(payload { chatbots = list }))
  end)

  it("requires the certificate (64305), of JPEG/PNG/PDF/TIFF/ZIP (64355)", function()
    assert.same({ "subNumCertificate|Required|64305" }, props(payload { subNumCertificate = false }))
    for _, data in ipairs { fx.jpeg(10, 10), fx.png(10, 10), fx.images.pdf(), fx.images.tiff(), fx.images.zip() } do
      passes(payload { subNumCertificate = { data = data } })
    end
    assert.same({ "subNumCertificate|InvalidFileType|64355" }, props(payload { subNumCertificate = { data = "GIF89a...." } }))
    assert.same({ "subNumCertificate|InvalidType|64355" }, props(payload { subNumCertificate = 42 }))
  end)

  it("allows a 20 MiB certificate, not one byte more (64354), streamed from disk", function()
    local ok20 = fx.file("cert-20mib.pdf", function() return fx.images.pdf(20 * MiB) end)
    local over = fx.file("cert-20mib+1.pdf", function() return fx.images.pdf(20 * MiB + 1) end)
    local body = assert(require("bizreg.core").encode_chatbots(payload { subNumCertificate = ok20 }))
    assert.is_true(body:size() > 20 * MiB)
    assert.same({ "subNumCertificate|TooLarge|64354" }, props(payload { subNumCertificate = over }))
  end)

  it("knows only chatbots and subNumCertificate (64397)", function()
    local got = props(payload { regBrand = fx.brand().regBrand, brandProfile = fx.brand().brandProfile, mainMdn = "15225739" })
    table.sort(got)
    assert.same({ "brandProfile|UnknownField|64397", "mainMdn|UnknownField|64397", "regBrand|UnknownField|64397" }, got)
  end)

  it("takes a brandId of the documented shape, up to 13 characters (64316)", function()
    passes(payload(), "BR.abcdefghij")            -- 13
    passes(payload(), "B")
    for _, id in ipairs { "BR.abcdefghijk", "", "BR/abc", "BR.abc?x=1", "BR abc", "BR.\0" } do
      assert.same({ "brandId|InvalidFormat|64316" }, props(payload(), id), id)
    end
    local _, err = bizreg.prepare_chatbots("BR.abcdefghijk", payload())
    assert.equal("Invalid brandId", err.message)
  end)

  it("raises for a brandId that is not a string or a payload that is not a table, at the caller", function()
    local line = debug.getinfo(1, "l").currentline
    local ok, e = pcall(bizreg.prepare_chatbots, 42, payload())
    assert.is_false(ok)
    assert.truthy(tostring(e):find("brandId must be a string", 1, true))
    ok, e = pcall(function() return bizreg.prepare_chatbots(ID, "x") end)
    assert.is_false(ok)
    assert.truthy(tostring(e):find("rcs_chatbots_spec.lua:" .. (line + 4) .. ": bizreg: payload must be a table", 1, true), e)
    local c = bizreg.rcs { base_url = "http://127.0.0.1:9", token = "token-t1" }
    assert.has_error(function() c:register_chatbots(ID) end)
    assert.has_error(function() c:start("register_chatbots", nil, payload()) end)
    c:close()
  end)
end)
