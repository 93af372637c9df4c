-- RCS register_brand: every rule, a failing and a passing boundary case.
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"

local MiB = 1024 * 1024

local function brand(reg_over, top)
  local p = fx.brand(top)
  for k, v in pairs(reg_over or {}) do
    if v == false then p.regBrand[k] = nil else p.regBrand[k] = v end
  end
  return p
end

local props = fx.brand_props  -- "key|reason|code" for each violation

local function passes(payload)
  local req, err = bizreg.prepare_brand(payload, { boundary = "b0undary" })
  assert.is_nil(err and tostring(err))
  return req
end

local chatbots = fx.chatbots

local CERT = { data = fx.images.pdf(), filename = "cert.pdf" }

describe("RCS regBrand", function()
  it("requires name, description, categoryId and subCategoryId (64336)", function()
    for _, f in ipairs { "name", "description", "categoryId", "subCategoryId" } do
      assert.same({ "regBrand." .. f .. "|Required|64336" }, props(brand { [f] = false }))
      assert.same({ "regBrand." .. f .. "|Required|64336" }, props(brand { [f] = "" }))
    end
    assert.same({ "regBrand|Required|64336" }, props(fx.brand { regBrand = false }))
    assert.same({ "regBrand|InvalidType|64303" }, props(fx.brand { regBrand = "name" }))
    passes(brand { tel = false, menus = false })  -- tel is optional since 1.1.15
  end)

  it("uses the server's message for the first violation", function()
    local _, err = bizreg.prepare_brand(brand { name = false })
    assert.equal("64336", err.code)
    assert.equal("required value: [name]", err.message)
    assert.equal(400, err.status)
    assert.equal("bizreg validation error 400 [64336]: required value: [name] — regBrand.name Required", tostring(err))
  end)

  it("limits every string field in characters (64304)", function()
    local limits = { name = 20, description = 150, tel = 12, categoryOpt = 20, roadAddress = 200,
      detailAddress = 200, webSiteUrl = 128, bizInfoTitle = 20, bizInfoContent = 200 }
    for f, max in pairs(limits) do
      passes(brand { [f] = string.rep("가", max) })
      assert.same({ "regBrand." .. f .. "|TooLong|64304" }, props(brand { [f] = string.rep("가", max + 1) }))
    end
    for _, f in ipairs { "categoryId", "subCategoryId" } do
      passes(brand { [f] = string.rep("E", 64) })
      assert.same({ "regBrand." .. f .. "|TooLong|64304" }, props(brand { [f] = string.rep("E", 65) }))
    end
    local email30 = string.rep("a", 18) .. "@example.com"  -- 30 characters
    passes(brand { email = email30 })
    assert.same({ "regBrand.email|TooLong|64304" }, props(brand { email = "a" .. email30 }))
  end)

  it("checks enums: initTab, initFeedItem, bizInfoYn (64337)", function()
    for _, v in ipairs { "FEED", "INFO" } do passes(brand { initTab = v }) end
    assert.same({ "regBrand.initTab|InvalidEnum|64337" }, props(brand { initTab = "HOME" }))
    for _, v in ipairs { "TEL", "HOME", "SEARCH" } do passes(brand { initFeedItem = v }) end
    assert.same({ "regBrand.initFeedItem|InvalidEnum|64337" }, props(brand { initFeedItem = "tel" }))
    for _, v in ipairs { "Y", "N" } do passes(brand { bizInfoYn = v }) end
    assert.same({ "regBrand.bizInfoYn|InvalidEnum|64337" }, props(brand { bizInfoYn = "yes" }))
  end)

  it("allows at most 3 menus (64304)", function()
    local three = { { buttonType = "call" }, { buttonType = "web", weblink = "https://a.kr" }, { buttonType = "store", weblink = "http://s.kr" } }
    passes(brand { menus = three })
    three[4] = { buttonType = "buy", weblink = "https://b.kr" }
    assert.same({ "regBrand.menus|TooMany|64304" }, props(brand { menus = three }))
    passes(brand { menus = {} })
  end)

  it("checks buttonType and refuses app with the carrier reason (64338)", function()
    for _, v in ipairs { "web", "store", "order", "buy", "tickets", "moreinfo" } do
      passes(brand { menus = { { buttonType = v, weblink = "https://x.kr" } } })
    end
    assert.same({ "regBrand.menus[1].buttonType|InvalidEnum|64337" }, props(brand { menus = { { buttonType = "chat" } } }))
    assert.same({ "regBrand.menus[1].buttonType|Required|64336" }, props(brand { menus = { { weblink = "https://x.kr" } } }))
    local _, err = bizreg.prepare_brand(brand { menus = { { buttonType = "app", weblink = "https://x.kr" } } })
    assert.equal("64338", err.code)
    assert.equal("regBrand.menus[1].buttonType", err.errorProperties[1].key)
    assert.equal("NotAllowed", err.errorProperties[1].reason)
    assert.truthy(err.message:find("carriers no longer accept buttonType app", 1, true))
  end)

  it("requires an http(s) weblink for every buttonType but call", function()
    passes(brand { menus = { { buttonType = "call" } } })
    assert.same({ "regBrand.menus[2].weblink|Required|64336" },
      props(brand { menus = { { buttonType = "call" }, { buttonType = "web" } } }))
    assert.same({ "regBrand.menus[1].weblink|InvalidFormat|64337" },
      props(brand { menus = { { buttonType = "web", weblink = "www.x.kr" } } }))
    assert.same({ "regBrand.menus[1].weblink|InvalidFormat|64337" },
      props(brand { menus = { { buttonType = "web", weblink = "ftp://x.kr" } } }))
    passes(brand { menus = { { buttonType = "web", weblink = "http://x.kr" } } })
    passes(brand { menus = { { buttonType = "web", weblink = "https://" .. string.rep("a", 120) } } })  -- 128
    assert.same({ "regBrand.menus[1].weblink|TooLong|64304" },
      props(brand { menus = { { buttonType = "web", weblink = "https://" .. string.rep("a", 121) } } }))
  end)

  it("needs all three applink fields, each at most 40", function()
    local a = { packageName = string.rep("p", 40), action = "android.intent.action.VIEW", uri = "abc://gizmos/foo/bar" }
    passes(brand { menus = { { buttonType = "store", weblink = "https://x.kr", applink = a } } })
    assert.same({ "regBrand.menus[1].applink.uri|Required|64336" },
      props(brand { menus = { { buttonType = "store", weblink = "https://x.kr", applink = { packageName = "p", action = "a" } } } }))
    assert.same({ "regBrand.menus[1].applink.packageName|TooLong|64304" },
      props(brand { menus = { { buttonType = "store", weblink = "https://x.kr",
        applink = { packageName = string.rep("p", 41), action = "a", uri = "u" } } } }))
  end)

  it("limits initFeedItems to 4 known values, each (but portalsearch) among the menus", function()
    local menus = { { buttonType = "call" }, { buttonType = "web", weblink = "https://a.kr" }, { buttonType = "store", weblink = "https://s.kr" } }
    passes(brand { menus = menus, initFeedItems = { "call", "web", "store", "portalsearch" } })
    assert.same({ "regBrand.initFeedItems|TooMany|64304" },
      props(brand { menus = menus, initFeedItems = { "call", "web", "store", "portalsearch", "portalsearch" } }))
    assert.same({ "regBrand.initFeedItems[2]|NotInMenus|64337" },
      props(brand { menus = menus, initFeedItems = { "call", "buy" } }))
    assert.same({ "regBrand.initFeedItems[1]|InvalidEnum|64337" }, props(brand { initFeedItems = { "app" } }))
    assert.same({ "regBrand.initFeedItems[1]|NotInMenus|64337" }, props(brand { menus = false, initFeedItems = { "call" } }))
    passes(brand { menus = false, initFeedItems = { "portalsearch" } })
  end)

  it("checks email, zipCode and templateColor formats (64337)", function()
    passes(brand { email = "name@gmail.com" })
    for _, v in ipairs { "name", "@x.kr", "a@b", "a@@b.kr", "a b@c.kr", "a@.kr", "a@b..kr" } do
      assert.same({ "regBrand.email|InvalidFormat|64337" }, props(brand { email = v }))
    end
    passes(brand { zipCode = "03924" })
    for _, v in ipairs { "3924", "0392a", "03-92" } do
      assert.same({ "regBrand.zipCode|InvalidFormat|64337" }, props(brand { zipCode = v }))
    end
    assert.same({ "regBrand.zipCode|TooLong|64304" }, props(brand { zipCode = "039241" }))
    for _, v in ipairs { "#fff", "#A0b1C2" } do passes(brand { templateColor = v }) end
    for _, v in ipairs { "fff", "#ffff", "#GGGGGG", "red" } do
      assert.same({ "regBrand.templateColor|InvalidFormat|64337" }, props(brand { templateColor = v }))
    end
  end)

  -- format: email (OpenAPI) as RFC 5321 has it: a dot-atom local part, LDH domain labels, no
  -- quoted strings or address literals; one dot at least in the domain.
  it("takes email as RFC 5321 dot-atom @ LDH labels (64337)", function()
    for _, v in ipairs { "a@b.c1", "a.b@c.com", "a+tag@x.kr", "o'neil@x.kr", "a_b@x-y.kr", "A@X.KR", "1@2.3",
      "!#$%&'*+/=?^_`{|}~-@x.kr" } do
      passes(brand { email = v })
    end
    for _, v in ipairs { "a..b@x.kr", ".a@x.kr", "a.@x.kr", "<a>@x.kr", "a(b)@x.kr", "a,b@x.kr", "a;b@x.kr",
      "a\\b@x.kr", "a@-x.kr", "a@x-.kr", "a@x_y.kr", '"a"@x.kr', "a@[1.2.3.4]", "a:b@x.kr", "a@x.kr.", "a@.x.kr",
      "a[b]@x.kr", "a@x.k r", "\"@x.kr", "a@x..kr" } do
      assert.same({ "regBrand.email|InvalidFormat|64337" }, props(brand { email = v }), v)
    end
  end)

  it("takes weblink schemes case-insensitively (http, https)", function()
    for _, v in ipairs { "HTTPS://x.kr", "Http://x.kr", "hTtPs://x.kr/a" } do
      passes(brand { menus = { { buttonType = "web", weblink = v } }, webSiteUrl = v })
    end
    for _, v in ipairs { "HTTPS://", "HTTP:/x.kr", "httpx://x.kr", " https://x.kr" } do
      assert.same({ "regBrand.menus[1].weblink|InvalidFormat|64337" }, props(brand { menus = { { buttonType = "web", weblink = v } } }), v)
    end
  end)

  it("rejects unknown keys and wrong types", function()
    assert.same({ "regBrand.nmae|UnknownField|64397" }, props(brand { nmae = "x" }))
    assert.same({ "regBrand.menus[1].link|UnknownField|64397" }, props(brand { menus = { { buttonType = "call", link = "x" } } }))
    assert.same({ "brandProfle|UnknownField|64397" }, props(fx.brand { brandProfle = "x.png" }))
    assert.same({ "regBrand.tel|InvalidType|64303" }, props(brand { tel = 9046123177 }))
    assert.same({ "regBrand.menus|InvalidType|64303" }, props(brand { menus = { buttonType = "call" } }))
    assert.same({ "regBrand.name|InvalidUtf8|64337" }, props(brand { name = "\255" }))
  end)

  it("accepts the deprecated mainMdn (<= 40) as a plain field", function()
    local req = passes(fx.brand { mainMdn = string.rep("1", 40) })
    assert.truthy(req.body:find('name="mainMdn"\r\n\r\n' .. string.rep("1", 40) .. "\r\n", 1, true))
    assert.same({ "mainMdn|TooLong|64304" }, props(fx.brand { mainMdn = string.rep("1", 41) }))
  end)
end)

describe("RCS chatbots", function()
  it("takes 1 to 1000 chatbots (64343)", function()
    passes(fx.brand { chatbots = chatbots(1), subNumCertificate = CERT })
    passes(fx.brand { chatbots = chatbots(1000), subNumCertificate = CERT })
    assert.same({ "chatbots|TooMany|64343" }, props(fx.brand { chatbots = chatbots(1001), subNumCertificate = CERT }))
    assert.same({ "chatbots|TooFew|64343" }, props(fx.brand { chatbots = {}, subNumCertificate = CERT }))
  end)

  it("requires mdn (64307) and subTitle (64309)", function()
    assert.same({ "chatbots[1].mdn|Required|64307", "chatbots[1].subTitle|Required|64309" },
      props(fx.brand { chatbots = { {} }, subNumCertificate = CERT }))
  end)

  it("sends rcsReply as its documented default when absent, and checks it (64311)", function()
    local req = passes(fx.brand { chatbots = chatbots(1), subNumCertificate = CERT })
    assert.truthy(req.body:find('{"chatbots":[{"mdn":"0200000001","subTitle":"방1","rcsReply":"1"}]}', 1, true))
    req = passes(fx.brand { chatbots = chatbots(1, { rcsReply = "0" }), subNumCertificate = CERT })
    assert.truthy(req.body:find('"rcsReply":"0"', 1, true))
    assert.same({ "chatbots[1].rcsReply|InvalidEnum|64311" }, props(fx.brand { chatbots = chatbots(1, { rcsReply = "2" }), subNumCertificate = CERT }))
    assert.same({ "chatbots[1].rcsReply|InvalidType|64311" }, props(fx.brand { chatbots = chatbots(1, { rcsReply = 1 }), subNumCertificate = CERT }))
  end)

  it("takes only digits for mdn, never an 010 mobile number (64308)", function()
    for _, v in ipairs { "0212345678", "15225739", "07012345678", "0801234567", string.rep("1", 40) } do
      passes(fx.brand { chatbots = { { mdn = v, subTitle = "t" } }, subNumCertificate = CERT })
    end
    for _, v in ipairs { "01012345678", "02-123-4567", "+82212345678", "" } do
      local want = v == "" and "chatbots[1].mdn|Required|64307" or "chatbots[1].mdn|InvalidFormat|64308"
      assert.same({ want }, props(fx.brand { chatbots = { { mdn = v, subTitle = "t" } }, subNumCertificate = CERT }))
    end
    assert.same({ "chatbots[1].mdn|TooLong|64308" }, props(fx.brand { chatbots = { { mdn = string.rep("1", 41), subTitle = "t" } }, subNumCertificate = CERT }))
    assert.same({ "chatbots[1].mdn|InvalidType|64308" }, props(fx.brand { chatbots = { { mdn = 212345678, subTitle = "t" } }, subNumCertificate = CERT }))
  end)

  it("requires subNum, when given, to equal mdn (64381)", function()
    passes(fx.brand { chatbots = { { mdn = "0212345678", subNum = "0212345678", subTitle = "t" } }, subNumCertificate = CERT })
    assert.same({ "chatbots[1].subNum|Mismatch|64381" },
      props(fx.brand { chatbots = { { mdn = "0212345678", subNum = "0212345679", subTitle = "t" } }, subNumCertificate = CERT }))
  end)

  it("limits subTitle to 20 (64374) and subDescr to 50 (64304)", function()
    passes(fx.brand { chatbots = chatbots(1, { subTitle = string.rep("가", 20), subDescr = string.rep("가", 50) }), subNumCertificate = CERT })
    assert.same({ "chatbots[1].subTitle|TooLong|64374" }, props(fx.brand { chatbots = chatbots(1, { subTitle = string.rep("가", 21) }), subNumCertificate = CERT }))
    assert.same({ "chatbots[1].subDescr|TooLong|64304" }, props(fx.brand { chatbots = chatbots(1, { subDescr = string.rep("가", 51) }), subNumCertificate = CERT }))
  end)

  it("checks display (64310), inputField (64364) and saftyStatusYn (64337)", function()
    for _, v in ipairs { "11", "10", "01", "00" } do passes(fx.brand { chatbots = chatbots(1, { display = v }), subNumCertificate = CERT }) end
    assert.same({ "chatbots[1].display|InvalidEnum|64310" }, props(fx.brand { chatbots = chatbots(1, { display = "1" }), subNumCertificate = CERT }))
    for _, v in ipairs { 0, 1, 1.0 } do passes(fx.brand { chatbots = chatbots(1, { inputField = v }), subNumCertificate = CERT }) end
    assert.same({ "chatbots[1].inputField|InvalidEnum|64364" }, props(fx.brand { chatbots = chatbots(1, { inputField = 2 }), subNumCertificate = CERT }))
    assert.same({ "chatbots[1].inputField|InvalidType|64364" }, props(fx.brand { chatbots = chatbots(1, { inputField = "1" }), subNumCertificate = CERT }))
    for _, v in ipairs { "Y", "N" } do passes(fx.brand { chatbots = chatbots(1, { saftyStatusYn = v }), subNumCertificate = CERT }) end
    assert.same({ "chatbots[1].saftyStatusYn|InvalidEnum|64337" }, props(fx.brand { chatbots = chatbots(1, { saftyStatusYn = "y" }), subNumCertificate = CERT }))
  end)

  it("reports a duplicate mdn with the server's message (64341)", function()
    local list = chatbots(3)
    list[3].mdn = list[1].mdn
    local _, err = bizreg.prepare_brand(fx.brand { chatbots = list, subNumCertificate = CERT })
    assert.equal("64341", err.code)
    assert.equal("Duplicate MDN 0200000001 in chatbots", err.message)
    assert.equal("chatbots[3].mdn", err.errorProperties[1].key)
  end)

  it("rejects unknown chatbot keys (64397)", function()
    assert.same({ "chatbots[1].subtitle|UnknownField|64397" },
      props(fx.brand { chatbots = { { mdn = "0212345678", subTitle = "t", subtitle = "x" } }, subNumCertificate = CERT }))
  end)
end)

describe("RCS files, judged by content", function()
  local function png(side, size) return { data = fx.png(side, side, size), filename = "p.png" } end

  it("requires brandProfile (64329)", function()
    assert.same({ "brandProfile|Required|64329" }, props(fx.brand { brandProfile = false }))
  end)

  it("takes only PNG for brandProfile (64332), whatever the name says", function()
    assert.same({ "brandProfile|InvalidFileType|64332" },
      props(fx.brand { brandProfile = { data = fx.jpeg(400, 400), filename = "profile.png" } }))
    local req = passes(fx.brand { brandProfile = { data = fx.png(400, 400), filename = "profile.jpg" } })
    assert.truthy(req.body:find('name="brandProfile"; filename="profile.png"\r\nContent-Type: image/png\r\n', 1, true))
  end)

  it("needs 388..1080 px per side (64335) and a square (64394)", function()
    passes(fx.brand { brandProfile = png(388) })
    passes(fx.brand { brandProfile = png(1080) })
    assert.same({ "brandProfile|InvalidDimensions|64335" }, props(fx.brand { brandProfile = png(387) }))
    assert.same({ "brandProfile|InvalidDimensions|64335" }, props(fx.brand { brandProfile = png(1081) }))
    assert.same({ "brandProfile|NotSquare|64394" }, props(fx.brand { brandProfile = { data = fx.png(400, 401) } }))
    assert.same({ "brandBackground|NotSquare|64394", "brandBackground|InvalidDimensions|64335" },
      props(fx.brand { brandBackground = { data = fx.jpeg(1200, 400) } }))
  end)

  it("allows 1 MiB per image, not one byte more (64331)", function()
    passes(fx.brand { brandProfile = png(1080, MiB) })
    assert.same({ "brandProfile|TooLarge|64331" }, props(fx.brand { brandProfile = png(1080, MiB + 1) }))
  end)

  it("takes PNG or JPEG (baseline and progressive) for brandBackground (64333)", function()
    passes(fx.brand { brandBackground = { data = fx.jpeg(500, 500) } })
    passes(fx.brand { brandBackground = { data = fx.jpeg(500, 500, { progressive = true }) } })
    passes(fx.brand { brandBackground = { data = fx.png(500, 500) } })
    assert.same({ "brandBackground|InvalidFileType|64333" }, props(fx.brand { brandBackground = { data = fx.images.pdf() } }))
  end)

  it("requires subNumCertificate with chatbots (64305), of JPEG/PNG/PDF/TIFF/ZIP (64355)", function()
    assert.same({ "subNumCertificate|Required|64305" }, props(fx.brand { chatbots = chatbots(1) }))
    passes(fx.brand { subNumCertificate = false })  -- no chatbots, no certificate needed
    for _, data in ipairs { fx.jpeg(10, 10), fx.png(10, 10), fx.images.pdf(), fx.images.tiff(), fx.images.zip() } do
      passes(fx.brand { chatbots = chatbots(1), subNumCertificate = { data = data } })
    end
    assert.same({ "subNumCertificate|InvalidFileType|64355" },
      props(fx.brand { chatbots = chatbots(1), subNumCertificate = { data = "GIF89a...." } }))
  end)

  it("allows a 20 MiB certificate, not one byte more (64354), read from disk", function()
    local ok20 = fx.file("cert-20mib.pdf", function() return fx.images.pdf(20 * MiB) end)
    local over = fx.file("cert-20mib+1.pdf", function() return fx.images.pdf(20 * MiB + 1) end)
    local body = assert(require("bizreg.core").encode_brand(fx.brand { chatbots = chatbots(1), subNumCertificate = ok20 }))
    assert.is_true(body:size() > 20 * MiB)
    assert.same({ "subNumCertificate|TooLarge|64354" }, props(fx.brand { chatbots = chatbots(1), subNumCertificate = over }))
  end)

  it("takes a path, {path=} or {data=, filename=}", function()
    local path = fx.file("profile-400.png", function() return fx.png(400, 400) end)
    local a = passes(fx.brand { brandProfile = path })
    local b = passes(fx.brand { brandProfile = { path = path } })
    local c = passes(fx.brand { brandProfile = { data = fx.png(400, 400), filename = "profile-400.png" } })
    assert.equal(a.body, b.body)
    assert.equal(a.body, c.body)
    assert.same({ "brandProfile|InvalidType|64332" }, props(fx.brand { brandProfile = { filename = "x.png" } }))
    assert.same({ "brandProfile|InvalidType|64332" }, props(fx.brand { brandProfile = 42 }))
  end)

  it("reports a file that cannot be read", function()
    local _, err = bizreg.prepare_brand(fx.brand { brandProfile = "/nonexistent/p.png" })
    assert.equal("brandProfile", err.errorProperties[1].key)
    assert.equal("Unreadable", err.errorProperties[1].reason)
    assert.truthy(err.message:find("No such file or directory", 1, true))
  end)
end)
