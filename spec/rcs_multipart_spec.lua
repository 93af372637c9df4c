-- The multipart body, parsed back by two independent parsers (busboy and the
-- sandbox's), gives exactly the parts sent; and its bytes are stable.
package.path = "./sandbox/lua/?.lua;" .. package.path
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"
local mp = require "bizreg_sandbox.multipart"
local json = require("spec.helpers.sandbox").json
local shell = require "spec.helpers.shell"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function busboy(req)
  local dir = fx.dir .. "/busboy"
  shell.execute("rm -rf " .. dir .. " && mkdir -p " .. dir)
  local body = dir .. "/body"
  local f = assert(io.open(body, "wb"))
  f:write(req.body)
  f:close()
  local p = assert(shell.popen(string.format("node spec/node/parse_multipart.js %s '%s' %s", body, req.headers["Content-Type"], dir)))
  local out = p:read("*a")
  p:close()
  local parts = assert(json.decode(out), "busboy output: " .. out)
  for _, part in ipairs(parts) do part.data = read(part.file) end
  return parts
end

local PNG = fx.png(400, 400)
local JPG = fx.jpeg(600, 600, { progressive = true })
local PDF = fx.images.pdf(3000)

local function full_payload()
  return {
    regBrand = { name = "테스트 \"브랜드\"", description = "설명 / slash \\ back", categoryId = "EDU", subCategoryId = "EDU007",
      menus = { { buttonType = "call" }, { buttonType = "web", weblink = "https://example.kr/a?b=c&d=\"e\"" } } },
    chatbots = { { mdn = "0212345678", subTitle = "대표" } },
    mainMdn = "15225739",
    brandProfile = { data = PNG, filename = "프로필 \"1\".png" },
    brandBackground = { data = JPG, filename = "bg.jpg" },
    subNumCertificate = { data = PDF, filename = "증명원.pdf" },
  }
end

local EXPECT = {
  { name = "regBrand", filename = nil, ctype = nil },
  { name = "chatbots", filename = nil, ctype = nil },
  { name = "mainMdn", filename = nil, ctype = nil, data = "15225739" },
  { name = "brandProfile", filename = "프로필 %221%22.png", ctype = "image/png", data = PNG },
  { name = "brandBackground", filename = "bg.jpg", ctype = "image/jpeg", data = JPG },
  { name = "subNumCertificate", filename = "증명원.pdf", ctype = "application/pdf", data = PDF },
}

describe("RCS multipart", function()
  local req = assert(bizreg.prepare_brand(full_payload(), { boundary = "bizreg-test-boundary-0001" }))
  local regBrand = '{"regBrand":{"name":"테스트 \\"브랜드\\"","description":"설명 / slash \\\\ back",' ..
    '"menus":[{"buttonType":"call"},{"buttonType":"web","weblink":"https://example.kr/a?b=c&d=\\"e\\""}],' ..
    '"categoryId":"EDU","subCategoryId":"EDU007"}}'
  local chatbots = '{"chatbots":[{"mdn":"0212345678","subTitle":"대표","rcsReply":"1"}]}'
  EXPECT[1].data, EXPECT[2].data = regBrand, chatbots

  it("writes the documented part layout byte for byte", function()
    local b = "--bizreg-test-boundary-0001"
    local want = b .. '\r\nContent-Disposition: form-data; name="regBrand"\r\n\r\n' .. regBrand .. "\r\n" ..
      b .. '\r\nContent-Disposition: form-data; name="chatbots"\r\n\r\n' .. chatbots .. "\r\n" ..
      b .. '\r\nContent-Disposition: form-data; name="mainMdn"\r\n\r\n15225739\r\n' ..
      b .. '\r\nContent-Disposition: form-data; name="brandProfile"; filename="프로필 %221%22.png"\r\nContent-Type: image/png\r\n\r\n' .. PNG .. "\r\n" ..
      b .. '\r\nContent-Disposition: form-data; name="brandBackground"; filename="bg.jpg"\r\nContent-Type: image/jpeg\r\n\r\n' .. JPG .. "\r\n" ..
      b .. '\r\nContent-Disposition: form-data; name="subNumCertificate"; filename="증명원.pdf"\r\nContent-Type: application/pdf\r\n\r\n' .. PDF .. "\r\n" ..
      b .. "--\r\n"
    assert.equal(#want, #req.body)
    assert.equal(want, req.body)
    assert.equal("multipart/form-data; boundary=bizreg-test-boundary-0001", req.headers["Content-Type"])
    assert.equal("POST", req.method)
    assert.equal("/corp/brand", req.path)
  end)

  it("sends JSON parts with a Content-Type only when asked (undocumented by RCS)", function()
    local r = assert(bizreg.prepare_brand(full_payload(), { boundary = "x", json_content_type = "application/json" }))
    assert.truthy(r.body:find('name="regBrand"\r\nContent-Type: application/json\r\n\r\n', 1, true))
  end)

  it("is parsed by busboy into exactly the parts sent", function()
    local parts = busboy(req)
    assert.equal(#EXPECT, #parts)
    for i, e in ipairs(EXPECT) do
      assert.equal(e.name, parts[i].name)
      assert.equal(e.data, parts[i].data)
      if e.ctype then
        assert.equal(e.ctype, parts[i].mimeType)
        assert.equal(e.filename, parts[i].filename)
      else
        assert.is_nil(parts[i].filename)
      end
    end
  end)

  it("is parsed by the sandbox's parser into exactly the parts sent", function()
    local boundary = assert(mp.boundary(req.headers["Content-Type"]))
    local parts = assert(mp.parse(req.body, boundary))
    assert.equal(#EXPECT, #parts)
    for i, e in ipairs(EXPECT) do
      assert.equal(e.name, parts[i].name)
      assert.equal(e.data, parts[i].data)
      assert.equal(e.filename, parts[i].filename)
      assert.equal(e.ctype, parts[i].content_type)
    end
  end)

  it("uses a fresh random boundary per body by default", function()
    local a = assert(bizreg.prepare_brand(fx.brand()))
    local b = assert(bizreg.prepare_brand(fx.brand()))
    local ba = a.headers["Content-Type"]:match("boundary=(.*)")
    local bb = b.headers["Content-Type"]:match("boundary=(.*)")
    assert.are_not.equal(ba, bb)
    assert.matches("^%-%-%-%-bizreg[%w]+$", ba)
    assert.equal(40, #ba)
  end)

  it("refuses an invalid fixed boundary as a programmer error", function()
    assert.has_error(function() bizreg.prepare_brand(fx.brand(), { boundary = "bad\r\nboundary" }) end)
  end)
end)
