-- RCS register_brand payloads for the differential check: a random valid payload, and
-- mutations that change one field (or file) at a time across the documented rules: lengths
-- in characters, required fields, types, enums, emails, URLs, MDNs, counts, unknown keys,
-- files by content (type, size, square, 388..1080 px, complete PNG/JPEG).
-- A mutation is { name, values = function(r) -> list, apply = function(payload, value) }.
local gen = require "spec.helpers.gen"
local images = require "spec.helpers.images"

local M = {}
local REMOVE = {}
M.REMOVE = REMOVE

-- Sub-categories known to the sandbox's catalogue (the server's knowledge: see the spec).
local CATALOGUE = { EDU = { "EDU001", "EDU007", "EDU010" }, ITE = { "ITE001", "ITE002" }, FIN = { "FIN001" },
  MED = { "MED001", "MED002" } }
local BUTTONS = { "call", "web", "store", "order", "buy", "tickets", "moreinfo" }

local cache = {}
local function memo(key, make)
  if not cache[key] then cache[key] = make() end
  return cache[key]
end
local function png(w, h, size) return memo("png" .. w .. "x" .. h .. ":" .. tostring(size), function()
  return images.png(w, h, size and { size = size } or nil) end) end
local function jpeg(w, h, progressive) return memo("jpeg" .. w .. "x" .. h .. tostring(progressive), function()
  return images.jpeg(w, h, { progressive = progressive }) end) end
local function file(data, name) return { data = data, filename = name or "f.bin" } end

-- A valid email from the generator: dot-atom local part, LDH labels.
local ATEXT = "abcxyz0189!#$%&'*+/=?^_`{|}~-"
local function email(r)
  local atoms = {}
  for i = 1, r:int(1, 2) do
    local a = {}
    for j = 1, r:int(1, 4) do
      local k = r:int(1, #ATEXT)
      a[j] = ATEXT:sub(k, k)
    end
    atoms[i] = table.concat(a)
  end
  local labels = { r:text(r:int(1, 5), true) .. (r:chance(0.3) and ("-" .. r:text(1, true)) or ""),
    r:pick({ "kr", "com", "c1", "co" }) }
  return table.concat(atoms, ".") .. "@" .. table.concat(labels, ".")
end
M.email = email

local function mdn(r)
  return r:pick({ "02" .. r:digits(8), "15" .. r:digits(6), "070" .. r:digits(8), "031" .. r:digits(7) })
end

local function menus(r, rb)
  local list, types = gen.array(), {}
  for i = 1, r:int(1, 3) do
    local bt = r:pick(BUTTONS)
    list[i] = { buttonType = bt }
    if bt ~= "call" or r:chance(0.3) then
      list[i].weblink = r:pick({ "https://", "http://" }) .. r:text(r:int(1, 20), true) .. ".kr"
    end
    if r:chance(0.2) then list[i].applink = { packageName = "com.a", action = "VIEW", uri = "x://y" } end
    types[#types + 1] = bt
  end
  rb.menus = list
  if r:chance(0.5) then
    local items = gen.array({ "portalsearch" })
    for i = 1, math.min(3, #types) do items[#items + 1] = types[i] end
    rb.initFeedItems = items
  end
end

local OPTIONAL = {
  categoryOpt = function(r) return r:text(r:int(0, 20)) end,
  zipCode = function(r) return r:digits(5) end,
  roadAddress = function(r) return r:text(r:int(1, 200)) end,
  detailAddress = function(r) return r:text(r:int(1, 200)) end,
  email = email,
  webSiteUrl = function(r) return r:pick({ "https://", "HTTP://", "" }) .. r:text(r:int(1, 40)) end,
  initTab = function(r) return r:pick({ "FEED", "INFO" }) end,
  initFeedItem = function(r) return r:pick({ "TEL", "HOME", "SEARCH" }) end,
  templateColor = function(r) return r:pick({ "#abc", "#A0B1C2", "#000000" }) end,
  bizInfoYn = function(r) return r:pick({ "Y", "N" }) end,
  bizInfoTitle = function(r) return r:text(r:int(1, 20)) end,
  bizInfoContent = function(r) return r:text(r:int(1, 200)) end,
  tel = function(r) return r:digits(r:int(8, 12)) end,
}
local OPTIONAL_KEYS = {}
for k in pairs(OPTIONAL) do OPTIONAL_KEYS[#OPTIONAL_KEYS + 1] = k end
table.sort(OPTIONAL_KEYS)

local function chatbots(r, p)
  local list, used = gen.array(), {}
  for i = 1, r:int(1, 3) do
    local m
    repeat m = mdn(r) until not used[m]
    used[m] = true
    local cb = { mdn = m, subTitle = r:text(r:int(1, 20)) }
    if r:chance(0.3) then cb.subNum = m end
    if r:chance(0.3) then cb.rcsReply = r:pick({ "0", "1" }) end
    if r:chance(0.3) then cb.display = r:pick({ "11", "10", "01", "00" }) end
    if r:chance(0.3) then cb.inputField = r:int(0, 1) end
    if r:chance(0.3) then cb.subDescr = r:text(r:int(0, 50)) end
    if r:chance(0.3) then cb.saftyStatusYn = r:pick({ "Y", "N" }) end
    list[i] = cb
  end
  p.chatbots = list
  p.subNumCertificate = file(r:pick({ images.pdf(), images.tiff(), images.zip(), images.empty_zip(), png(10, 10) }),
    "c.bin")
end

function M.payload(r)
  local cat = r:pick({ "EDU", "ITE", "FIN", "MED" })
  local rb = { name = r:text(r:int(1, 20)), description = r:text(r:int(1, 150)), categoryId = cat,
    subCategoryId = r:pick(CATALOGUE[cat]) }
  for _, k in ipairs(OPTIONAL_KEYS) do
    if r:chance(0.25) then rb[k] = OPTIONAL[k](r) end
  end
  local p = { regBrand = rb, brandProfile = file(png(400, 400), "p.png") }
  if r:chance(0.5) then menus(r, rb) end
  if r:chance(0.4) then chatbots(r, p) end
  if r:chance(0.3) then
    p.brandBackground = file(r:pick({ png(400, 400), jpeg(400, 400), jpeg(500, 500, true) }), "b.img")
  end
  if r:chance(0.1) then p.mainMdn = r:digits(10) end
  return p
end

---------------------------------------------------------------- mutations

local function set(t, k, v)
  if v == REMOVE then t[k] = nil else t[k] = v end
end
local function with(...)
  local out = {}
  for _, list in ipairs({ ... }) do for _, v in ipairs(list) do out[#out + 1] = v end end
  return out
end
local function fixed(list) return function() return list end end
local WRONG_TYPES = { 5, true, gen.array(), {} }
local BAD_UTF8 = { "\255", "\237\160\128", "a\234\176" }

-- Setters: regBrand field, field of a "web" menu / its applink, field of a chatbot, a part.
local function rb(k) return function(p, v) set(p.regBrand, k, v) end end
local function menu(k)
  return function(p, v)
    p.regBrand.menus = gen.array({ { buttonType = "web", weblink = "https://x.kr" } })
    p.regBrand.initFeedItems = nil
    set(p.regBrand.menus[1], k, v)
  end
end
local function applink(k)
  return function(p, v)
    local a = { packageName = "com.a", action = "VIEW", uri = "x://y" }
    p.regBrand.menus = gen.array({ { buttonType = "store", weblink = "https://x.kr", applink = a } })
    p.regBrand.initFeedItems = nil
    set(a, k, v)
  end
end
local function with_bots(p)
  if not p.chatbots then
    p.chatbots = gen.array({ { mdn = "0212345678", subTitle = "방" } })
    p.subNumCertificate = file(images.pdf(), "c.pdf")
  end
end
local function bot(k)
  return function(p, v)
    with_bots(p)
    set(p.chatbots[1], k, v)
  end
end
local function part(k, bots) return function(p, v)
  if bots then with_bots(p) end
  set(p, k, v)
end end

-- Strings limited to max characters: at the limit, one over, empty, wrong types, bad UTF-8.
local function sized(max, extra)
  return function(r)
    return with({ r:text(max), r:text(max + 1), "", gen.null }, WRONG_TYPES, { BAD_UTF8[1] }, extra or {})
  end
end

local png_full = images.png(400, 400)
local jpeg_full = images.jpeg(400, 400)
local BAD_IMAGES = { png_full:sub(1, -13), png_full:sub(1, -2), png_full:sub(1, 29) .. "\0\0\0\0" .. png_full:sub(34),
  png_full:sub(1, 33) .. png_full:sub(-12), jpeg_full:sub(1, -3), jpeg_full:sub(1, -7), "GIF89a\1\0\1\0", "" }

-- Near-valid values built at random (each call gives others).
local function near_weblink(r)
  return r:pick({ "http", "https", "HTTP", "hTTps", "ftp", "htp", "" }) ..
    r:pick({ "://", "://", ":/", "//", ":///" }) ..
    r:pick({ "", "x", "x.kr/a?b=c", " " })
end
local function near_mdn(r)
  return r:pick({ "010", "02", "15", "070", "011", "", "+82" }) .. r:digits(r:int(0, 12)) ..
    r:pick({ "", "", "-1", " " })
end
local function near_color(r)
  local out = { r:pick({ "#", "#", "" }) }
  for i = 1, r:int(2, 7) do out[i + 1] = r:pick({ "0", "9", "a", "F", "g", "G" }) end
  return table.concat(out)
end
local function some(r, make, n)
  local list = {}
  for i = 1, n do list[i] = make(r) end
  return list
end

local function files(list)
  local out = {}
  for i, d in ipairs(list) do out[i] = d == REMOVE and d or file(d) end
  return out
end

M.mutations = {
  { name = "name", apply = rb("name"), values = sized(20, { REMOVE, 'a"b\\c\n', "\0" }) },
  { name = "description", apply = rb("description"), values = sized(150, { REMOVE }) },
  { name = "tel", apply = rb("tel"), values = sized(12, { "02-1234-5678" }) },
  { name = "categoryOpt", apply = rb("categoryOpt"), values = sized(20) },
  { name = "roadAddress", apply = rb("roadAddress"), values = sized(200) },
  { name = "detailAddress", apply = rb("detailAddress"), values = sized(200) },
  { name = "webSiteUrl", apply = rb("webSiteUrl"), values = sized(128, { "HTTPS://x.kr", "www.x.kr", "ftp://x" }) },
  { name = "bizInfoTitle", apply = rb("bizInfoTitle"), values = sized(20) },
  { name = "bizInfoContent", apply = rb("bizInfoContent"), values = sized(200) },
  { name = "categoryId", apply = rb("categoryId"), values = function(r)
    return with({ REMOVE, "", "XYZ", r:text(64, true), r:text(65, true) }, WRONG_TYPES) end },
  { name = "subCategoryId", apply = rb("subCategoryId"), values = function(r)
    return with({ REMOVE, "", "ZZZ999", r:text(64, true), r:text(65, true) }, WRONG_TYPES) end },
  { name = "email", apply = rb("email"), values = function(r)
    local list = { email(r), email(r), "a@b.c1", "a..b@x.kr", ".a@x.kr", "a.@x.kr", "<a>@x.kr", "a(b)@x.kr", "a,b@x.kr",
      "a;b@x.kr", "a\\b@x.kr", "a@-x.kr", "a@x-.kr", "a@x_y.kr", '"a"@x.kr', "a@[1.2.3.4]", "a@b", "a@@b.kr",
      "a b@c.kr", "name", "@x.kr", "a@x.kr.", "A@X.KR", "é@x.kr", string.rep("a", 18) .. "@example.com",
      string.rep("a", 19) .. "@example.com", 5 }
    -- one character of an email replaced by a random printable one
    for _ = 1, 4 do
      local e, k = email(r), r:int(32, 126)
      local at = r:int(1, #e)
      list[#list + 1] = e:sub(1, at - 1) .. string.char(k) .. e:sub(at + 1)
    end
    return list
  end },
  { name = "zipCode", apply = rb("zipCode"), values = function(r)
    return with({ "03924", "3924", "0392a", "03-92", "039241", "", 3924, "０３９２４" },
      some(r, function() return r:digits(r:int(4, 6)) .. r:pick({ "", "", "a" }) end, 3)) end },
  { name = "templateColor", apply = rb("templateColor"), values = function(r)
    return with({ "#fff", "#A0b1C2", "fff", "#ffff", "#GGGGGG", "red", "#12345678901", "" }, some(r, near_color, 4))
  end },
  { name = "initTab", apply = rb("initTab"), values = fixed({ "FEED", "INFO", "HOME", "feed", "", 1 }) },
  { name = "initFeedItem", apply = rb("initFeedItem"), values = fixed({ "TEL", "HOME", "SEARCH", "WEB", "tel", "" }) },
  { name = "bizInfoYn", apply = rb("bizInfoYn"), values = fixed({ "Y", "N", "y", "YES", "", true }) },
  { name = "menus", apply = rb("menus"), values = fixed({ gen.array(), "call", gen.null,
    gen.array({ { buttonType = "call" }, { buttonType = "call" }, { buttonType = "call" }, { buttonType = "call" } }),
    gen.array({ "call" }) }) },
  { name = "menus[].buttonType", apply = menu("buttonType"),
    values = fixed({ REMOVE, "", "app", "chat", "CALL", "web ", 1, "call", "moreinfo", "tickets" }) },
  { name = "menus[].weblink", apply = menu("weblink"), values = function(r)
    return with({ REMOVE, "", "https://" .. r:text(120, true), "https://" .. r:text(121, true), "HTTPS://x.kr",
      "Http://x.kr",
      "www.x.kr", "ftp://x.kr", "https://", "https:/x.kr", " https://x.kr", "httpx://x.kr" }, WRONG_TYPES,
      some(r, near_weblink, 4)) end },
  { name = "menus[].applink", apply = menu("applink"), values = fixed({ "x", gen.array(), {} }) },
  { name = "menus[].applink.*", values = fixed({ "packageName", "action", "uri" }), apply = function(p, k)
    applink(k)(p, REMOVE)
  end },
  { name = "menus[].applink.uri", apply = applink("uri"), values = sized(40) },
  { name = "initFeedItems", apply = rb("initFeedItems"), values = fixed({ gen.array({ "portalsearch" }),
    gen.array({ "home" }), gen.array({ "web" }),
    gen.array({ "portalsearch", "portalsearch", "portalsearch", "portalsearch" }),
    gen.array({ "portalsearch", "portalsearch", "portalsearch", "portalsearch", "portalsearch" }), "portalsearch",
    gen.array({ 1 }), gen.array() }) },
  { name = "regBrand", values = fixed({ REMOVE, "name", gen.array({ "x" }), {} }), apply = part("regBrand") },
  { name = "unknown keys", values = fixed({ "regBrand", "menu", "applink", "chatbot", "part" }),
    apply = function(p, where)
    if where == "regBrand" then p.regBrand.nmae = "x"
    elseif where == "menu" then menu("colour")(p, "red")
    elseif where == "applink" then applink("x")(p, "y")
    elseif where == "chatbot" then bot("x")(p, "y")
    else p.regBrnd = { name = "x" } end
  end },
  { name = "chatbots", apply = part("chatbots", true), values = fixed({ gen.array(), "x", { mdn = "0212345678" },
    gen.array({ "0212345678" }),
    gen.array({ { mdn = "0212345678", subTitle = "a" }, { mdn = "0212345678", subTitle = "b" } }) }) },
  { name = "chatbots[].mdn", apply = bot("mdn"), values = function(r)
    return with({ REMOVE, "", "01012345678", "0101234", "02-123-4567", "+8221234567", "15885678", r:digits(40),
      r:digits(41), "0a12345678", " 0212345678", "０２１２３４５６７８" }, WRONG_TYPES, some(r, near_mdn, 4)) end },
  { name = "chatbots[].subNum", apply = bot("subNum"), values = fixed({ "0212345678", "0212345679", "", 212345678 }) },
  { name = "chatbots[].subTitle", apply = bot("subTitle"), values = sized(20, { REMOVE }) },
  { name = "chatbots[].subDescr", apply = bot("subDescr"), values = sized(50) },
  { name = "chatbots[].rcsReply", apply = bot("rcsReply"), values = fixed({ "0", "1", "2", "", 1, gen.null }) },
  { name = "chatbots[].display", apply = bot("display"), values = fixed({ "11", "00", "12", "1", "", 11 }) },
  { name = "chatbots[].inputField", apply = bot("inputField"),
    values = fixed({ 0, 1, 2, -1, 1.5, "1", true, gen.null }) },
  { name = "chatbots[].saftyStatusYn", apply = bot("saftyStatusYn"), values = fixed({ "Y", "N", "y", "", 1 }) },
  { name = "mainMdn", apply = part("mainMdn"), values = function(r)
    return { r:digits(40), r:digits(41), string.rep("가", 40), string.rep("가", 41), "" } end },
  { name = "brandProfile", apply = part("brandProfile"), values = function()
    return files(with({ REMOVE, png(388, 388), png(1080, 1080), png(387, 387), png(1081, 1081), png(400, 401),
      jpeg(400, 400), images.pdf(), png(1080, 1080, 1048576), png(1080, 1080, 1048577), png_full .. "trailing" },
      BAD_IMAGES))
  end },
  { name = "brandBackground", apply = part("brandBackground"), values = function()
    return files(with({ png(400, 400), jpeg(388, 388), jpeg(1080, 1080, true), jpeg(400, 401), jpeg(1081, 1081),
      images.pdf(), jpeg_full .. "\0\0" }, BAD_IMAGES))
  end },
  { name = "subNumCertificate", apply = part("subNumCertificate", true), values = function()
    return files(with({ REMOVE, images.pdf(), images.tiff(), images.zip(), images.empty_zip(), "PK\7\8" .. images.zip(),
      "PK00" .. images.zip(), png(10, 10), jpeg(10, 10), "MM\0*", "%PDF-" }, BAD_IMAGES))
  end },
}

return M
