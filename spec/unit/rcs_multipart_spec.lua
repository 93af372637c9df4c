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
  { name = "brandProfile", filename = "프로필 _1_.png", ctype = "image/png", data = PNG },
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
      b .. '\r\nContent-Disposition: form-data; name="brandProfile"; filename="프로필 _1_.png"\r\nContent-Type: image/png\r\n\r\n' .. PNG .. "\r\n" ..
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

  it("takes json_content_type as a client option too (bizreg.rcs{}), for register and resubmit", function()
    local bodies = {}
    local function transport(r)
      bodies[#bodies + 1] = r.body
      return { status = 200, body = '{"code":"20000000","status":200,"result":[{"brandId":"BR.x"}]}' }
    end
    local c = bizreg.rcs { base_url = "http://x", token = "tok-0123456789", transport = transport,
      json_content_type = "application/json; charset=utf-8" }
    assert.truthy(c:register_brand(full_payload()))
    assert.truthy(c:resubmit_brand("BR.x", full_payload()))
    for _, body in ipairs(bodies) do
      for _, part in ipairs { "regBrand", "chatbots" } do
        assert.truthy(body:find('name="' .. part .. '"\r\nContent-Type: application/json; charset=utf-8\r\n\r\n{', 1, true))
      end
      assert.truthy(body:find('name="mainMdn"\r\n\r\n15225739', 1, true))  -- plain text parts stay as they were
    end
    local plain = bizreg.rcs { base_url = "http://x", token = "tok-0123456789", transport = transport }
    assert.truthy(plain:register_brand(full_payload()))
    assert.truthy(bodies[3]:find('name="regBrand"\r\n\r\n{', 1, true))
    assert.has_error(function() bizreg.rcs { base_url = "http://x", token = "token-t1", json_content_type = 1 } end,
      "bizreg: option 'json_content_type' must be a string")
    for _, bad in ipairs { "", "application/json\r\nX-Evil: 1", "a\0b" } do
      local ok, msg = pcall(bizreg.rcs, { base_url = "http://x", token = "token-t1", json_content_type = bad })
      assert.is_false(ok)
      assert.matches("option 'json_content_type' must be a media type", msg)
    end
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

describe("RCS file part names", function()
  local B = "--names-0001"
  local dir = fx.dir .. "/names"
  shell.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'")
  local function file(name, data)
    local f = assert(io.open(dir .. "/" .. name, "wb"))
    f:write(data)
    f:close()
    return dir .. "/" .. name
  end
  local function head(name, filename, ctype)
    return B .. '\r\nContent-Disposition: form-data; name="' .. name .. '"; filename="' .. filename ..
      '"\r\nContent-Type: ' .. ctype .. "\r\n\r\n"
  end
  local function body(payload)
    local req = assert(bizreg.prepare_brand(payload, { boundary = B:sub(3) }))
    return req.body
  end
  local function file_parts(b) return b:sub((b:find(B .. '\r\nContent-Disposition: form-data; name="brandProfile"', 1, true))) end

  it("keep the path's stem and take the extension of the detected type (PNG named .jpg, no extension)", function()
    local p = file("logo.jpg", PNG)          -- a PNG whose name says JPEG
    local bg = file("background", JPG)      -- no extension at all
    local cert = file("certificate.tar.gz", fx.images.zip())
    local b = body(fx.brand { brandProfile = p, brandBackground = { path = bg },
      chatbots = { { mdn = "0212345678", subTitle = "대표" } }, subNumCertificate = cert })
    assert.equal(head("brandProfile", "logo.png", "image/png") .. PNG .. "\r\n" ..
      head("brandBackground", "background.jpg", "image/jpeg") .. JPG .. "\r\n" ..
      head("subNumCertificate", "certificate.tar.zip", "application/zip") .. fx.images.zip() .. "\r\n" ..
      B .. "--\r\n", file_parts(b))
  end)

  it("use .png .jpg .pdf .tif .zip for PNG, JPEG, PDF, TIFF, ZIP", function()
    local cases = { { fx.png(10, 10), "scan.PNG", "scan.png", "image/png" },
      { fx.jpeg(10, 10), "scan.jpeg", "scan.jpg", "image/jpeg" }, { PDF, "scan.pdf", "scan.pdf", "application/pdf" },
      { fx.images.tiff(), "scan.tiff", "scan.tif", "image/tiff" }, { fx.images.zip(), "scan", "scan.zip", "application/zip" } }
    for _, c in ipairs(cases) do
      local b = body(fx.brand { chatbots = { { mdn = "0212345678", subTitle = "대표" } },
        subNumCertificate = { data = c[1], filename = c[2] } })
      local want = head("subNumCertificate", c[3], c[4]) .. c[1] .. "\r\n" .. B .. "--\r\n"
      assert.equal(want, b:sub(-#want), c[2])
    end
  end)

  it("replace \", CR, LF and \\ in the stem with _ and percent-encode nothing", function()
    local p = file('we"ird\\na\rm\ne %22 100%.jpg', PNG)
    local b = body(fx.brand { brandProfile = p, brandBackground = { data = JPG, filename = 'a"b\\c\r\nd %41.png' } })
    assert.equal(head("brandProfile", "we_ird_na_m_e %22 100%.png", "image/png") .. PNG .. "\r\n" ..
      head("brandBackground", "a_b_c__d %41.jpg", "image/jpeg") .. JPG .. "\r\n" .. B .. "--\r\n", file_parts(b))
  end)

  it("drop directories from a given filename; no stem: the part name", function()
    local b = body(fx.brand { brandProfile = { data = PNG, filename = "dir/sub/프로필.v2.jpg" },
      brandBackground = { data = JPG, filename = ".png" } })
    assert.equal(head("brandProfile", "프로필.v2.png", "image/png") .. PNG .. "\r\n" ..
      head("brandBackground", "brandBackground.jpg", "image/jpeg") .. JPG .. "\r\n" .. B .. "--\r\n", file_parts(b))
    b = body(fx.brand { brandProfile = { data = PNG }, brandBackground = { data = JPG, filename = "" } })
    assert.equal(head("brandProfile", "brandProfile.png", "image/png") .. PNG .. "\r\n" ..
      head("brandBackground", "brandBackground.jpg", "image/jpeg") .. JPG .. "\r\n" .. B .. "--\r\n", file_parts(b))
  end)
end)
