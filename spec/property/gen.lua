-- Valid payload generators for the hostile-payload property test, and the field
-- specs mutations consult to know whether a change must make a payload invalid.
-- Everything is drawn from math.random, seeded per payload by the runner, and never
-- iterates with pairs() (order would differ between runs and break replay).
local images = require "spec.helpers.images"

local G = {}

---------------------------------------------------------------- random helpers

local R = {}
G.R = R
function R.int(a, b) return math.random(a, b) end
function R.chance(p) return math.random() < p end
function R.pick(list) return list[math.random(1, #list)] end

-- Code points of several UTF-8 widths (1-4 bytes): lengths are counted in code points.
-- U+07FF and U+10FFFF as bytes: Lua 5.2 has no \u{} escape (spec/slow/property_tally_spec.lua loads this there).
local CHARS = { "a", "Z", "7", " ", "-", "_", ".", "가", "힣", "é", "ß", "😀", "𝄞", "ひ", "中", "\223\191", "\244\143\191\191" }
local ASCII = { "a", "b", "c", "x", "y", "z", "0", "1", "9" }

-- n code points of mixed-width text (no control characters).
function R.text(n, alphabet)
  alphabet = alphabet or CHARS
  local out = {}
  for i = 1, n do out[i] = alphabet[math.random(1, #alphabet)] end
  return table.concat(out)
end
function R.ascii(n) return R.text(n, ASCII) end
function R.digits(n)
  local out = {}
  for i = 1, n do out[i] = string.char(48 + math.random(0, 9)) end
  return table.concat(out)
end
function R.hex(n)
  local hex = "0123456789abcdef"
  local out = {}
  for i = 1, n do
    local k = math.random(1, 16)
    out[i] = hex:sub(k, k)
  end
  return table.concat(out)
end

---------------------------------------------------------------- specs

-- A spec: { t = "string"|"int"|"bool"|"object"|"array"|"file"|"form", ... }
--   string: max (code points), enum (list), rule ("datetime"|"email"|"zip"|"hex"|"url"|"mdn"|"category")
--   int: min, max; object: fields = { {name, spec, required = bool}, ... }
--   array: item, min, max; file: rule (a file rule of bizreg's schema)
local function str(o) o = o or {}; o.t = "string"; return o end
local function obj(fields) return { t = "object", fields = fields } end

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local SOURCES = { "VISITOR_IMAGE_SOURCE_UNSPECIFIED", "HOSPITAL", "VISITOR", "AGREEMENT", "PEN_CHART" }
local CODE_CATEGORIES = { "CODE_CATEGORY_UNSPECIFIED", "FUNNEL", "EXPOSURE_CHANNEL", "ETCETRA_PRODUCT_CATEGORY",
  "IMAGE_EQUIPMENT", "CALL_CONSULTATION_RESULT", "IMAGE_CATEGORY", "FUNNEL_CATEGORY", "VISITOR_CATEGORY", "ACCOUNT_STATUS" }
local COLORS = { "CodeColor_UNSPECIFIED", "RED", "LAVA", "ORANGE", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA", "GRAY" }

local CODE = obj {
  { "id", str() }, { "category", str { enum = CODE_CATEGORIES } }, { "name", str() },
  { "order", { t = "int", min = -2147483648, max = 2147483647 } }, { "closed", { t = "bool" } },
  { "color", str { enum = COLORS } }, { "default", { t = "bool" } },
}
local IMAGE = obj {
  { "fileName", str(), required = true }, { "visitorId", str(), required = true },
  { "source", str { enum = SOURCES } }, { "equipment", CODE }, { "scheduleId", str() },
  { "shootingDateTimeUtc", str { rule = "datetime" } }, { "memo", str { max = 150 } }, { "category", CODE },
}
G.KOS = obj { { "images", { t = "array", item = IMAGE, min = 1 }, required = true } }

local BUTTONS = { "call", "web", "store", "order", "buy", "tickets", "moreinfo" }  -- "app" is refused
local FEED = { "call", "web", "store", "order", "buy", "tickets", "moreinfo", "portalsearch" }
G.CATALOGUE = { ITE = { "ITE001", "ITE002" }, FIN = { "FIN001" }, MED = { "MED001", "MED002" },
  EDU = { "EDU001", "EDU002", "EDU003", "EDU004", "EDU005", "EDU006", "EDU007", "EDU008", "EDU009", "EDU010" } }
local CATEGORY_IDS = { "EDU", "FIN", "ITE", "MED" }

local APPLINK = obj { { "packageName", str { max = 40 }, required = true },
  { "action", str { max = 40 }, required = true }, { "uri", str { max = 40 }, required = true } }
-- buttonType and weblink depend on each other: "cross" marks fields whose value changes
-- can break a cross-field rule (the mutation then expects "any").
local MENU = obj { { "buttonType", str { max = 20, enum = BUTTONS, cross = true }, required = true },
  { "applink", APPLINK }, { "weblink", str { max = 128, rule = "url", cross = true } } }
local REG_BRAND = obj {
  { "name", str { max = 20 }, required = true }, { "description", str { max = 150 }, required = true },
  { "tel", str { max = 12 } }, { "menus", { t = "array", item = MENU, max = 3, cross = true } },
  { "categoryId", str { max = 64, rule = "category" }, required = true },
  { "subCategoryId", str { max = 64, rule = "category" }, required = true },
  { "categoryOpt", str { max = 20 } }, { "zipCode", str { max = 5, rule = "zip" } },
  { "roadAddress", str { max = 200 } }, { "detailAddress", str { max = 200 } },
  { "email", str { max = 30, rule = "email" } }, { "webSiteUrl", str { max = 128 } },
  { "initTab", str { max = 5, enum = { "FEED", "INFO" } } }, { "initFeedItem", str { max = 6, enum = { "TEL", "HOME", "SEARCH" } } },
  { "initFeedItems", { t = "array", item = str { enum = FEED, cross = true }, max = 4, cross = true } },
  { "templateColor", str { max = 10, rule = "hex" } }, { "bizInfoYn", str { enum = { "Y", "N" } } },
  { "bizInfoTitle", str { max = 20 } }, { "bizInfoContent", str { max = 200 } },
}
local CHATBOT = obj {
  { "mdn", str { max = 40, rule = "mdn", cross = true }, required = true },
  { "subNum", str { max = 40, rule = "mdn", cross = true } }, { "subTitle", str { max = 20 }, required = true },
  { "rcsReply", str { enum = { "0", "1" } } }, { "display", str { enum = { "11", "10", "01", "00" } } },
  { "inputField", { t = "int", min = 0, max = 1 } }, { "subDescr", str { max = 50 } },
  { "saftyStatusYn", str { enum = { "Y", "N" } } },
}
G.RCS = obj {
  { "regBrand", REG_BRAND, required = true },
  { "chatbots", { t = "array", item = CHATBOT, min = 1, max = 1000, cross = true } },
  { "mainMdn", { t = "form", max = 40 } },
  { "brandProfile", { t = "file", kinds = set { "png" }, min = 388, max = 1080, bytes = 1048576 }, required = true },
  { "brandBackground", { t = "file", kinds = set { "png", "jpeg" }, min = 388, max = 1080, bytes = 1048576 } },
  { "subNumCertificate", { t = "file", kinds = set { "jpeg", "png", "pdf", "tiff", "zip" }, bytes = 20971520, cross = true } },
}

---------------------------------------------------------------- media (cached)

local media = {}
local function cached(key, make)
  if not media[key] then media[key] = make() end
  return media[key]
end
function G.png(side) return cached("png" .. side, function() return images.png(side, side) end) end
function G.jpeg(side) return cached("jpg" .. side, function() return images.jpeg(side, side) end) end
function G.cert(kind)
  return cached("cert" .. kind, function()
    if kind == "jpeg" then return images.jpeg(100, 60) elseif kind == "png" then return images.png(30, 20) end
    return images[kind]()
  end)
end
G.PROFILE_SIDES = { 388, 400, 400, 512, 1080 }

---------------------------------------------------------------- valid values

local function datetime()
  local y, mo, d = R.int(1970, 2099), R.int(1, 12), R.int(1, 28)
  local base = string.format("%04d-%02d-%02d%s%02d:%02d:%02d", y, mo, d, R.pick { "T", "t" }, R.int(0, 23), R.int(0, 59), R.int(0, 59))
  local frac = R.pick { "", ".5", ".123", ".123456789" }
  local zone = R.pick { "Z", "z", "+09:00", "-05:30", "+00:00" }
  return base .. frac .. zone
end

local function code()
  local c = {}
  if R.chance(0.7) then c.id = R.ascii(R.int(1, 24)) end
  if R.chance(0.5) then c.category = R.pick(CODE_CATEGORIES) end
  if R.chance(0.3) then c.name = R.text(R.int(0, 30)) end
  if R.chance(0.3) then c.order = R.int(-1000, 1000) end
  if R.chance(0.2) then c.closed = R.chance(0.5) end
  if R.chance(0.2) then c.color = R.pick(COLORS) end
  if R.chance(0.2) then c.default = R.chance(0.5) end
  return c
end

local function image_item()
  local it = { fileName = R.text(R.int(1, 40)), visitorId = R.hex(24) }
  if R.chance(0.5) then it.source = R.pick(SOURCES) end
  if R.chance(0.4) then it.equipment = code() end
  if R.chance(0.3) then it.scheduleId = R.hex(24) end
  if R.chance(0.4) then it.shootingDateTimeUtc = R.chance(0.8) and datetime() or R.int(0, 4102444800) end
  if R.chance(0.4) then it.memo = R.text(R.int(0, 150)) end
  if R.chance(0.3) then it.category = code() end
  return it
end

function G.kos()
  local n = R.chance(0.9) and R.int(1, 4) or R.int(5, 60)
  local list = {}
  for i = 1, n do list[i] = image_item() end
  return { images = list }
end

local function url() return R.pick { "http://", "https://" } .. R.ascii(R.int(1, 20)) .. ".kr/" .. R.ascii(R.int(0, 10)) end
local function email() return R.ascii(R.int(1, 10)) .. "@" .. R.text(R.int(1, 8), { "a", "b", "k" }) .. R.pick { ".kr", ".com", ".net" } end
local function mdn() return R.pick { "02", "031", "15", "16", "070", "080" } .. R.digits(R.int(6, 8)) end

local function menus()
  local n, out, types = R.int(0, 3), {}, {}
  for i = 1, n do
    local bt = R.pick(BUTTONS)
    local m = { buttonType = bt }
    if bt ~= "call" or R.chance(0.2) then m.weblink = url() end
    if R.chance(0.2) then m.applink = { packageName = R.ascii(R.int(1, 40)), action = R.ascii(R.int(1, 40)), uri = R.ascii(R.int(1, 40)) } end
    out[i], types[#types + 1] = m, bt
  end
  return out, types
end

local function reg_brand()
  local cat = R.pick(CATEGORY_IDS)
  local rb = { name = R.text(R.int(1, 20)), description = R.text(R.int(1, 150)),
    categoryId = cat, subCategoryId = R.pick(G.CATALOGUE[cat]) }
  if R.chance(0.6) then rb.tel = R.digits(R.int(1, 12)) end
  local types = {}
  if R.chance(0.7) then rb.menus, types = menus() end
  if R.chance(0.3) then rb.categoryOpt = R.text(R.int(0, 20)) end
  if R.chance(0.3) then rb.zipCode = R.digits(5) end
  if R.chance(0.3) then rb.roadAddress = R.text(R.int(0, 200)) end
  if R.chance(0.2) then rb.detailAddress = R.text(R.int(0, 200)) end
  if R.chance(0.3) then rb.email = email() end
  if R.chance(0.2) then rb.webSiteUrl = url() end
  if R.chance(0.3) then rb.initTab = R.pick { "FEED", "INFO" } end
  if R.chance(0.1) then rb.initFeedItem = R.pick { "TEL", "HOME", "SEARCH" } end
  if R.chance(0.3) then
    local items = { "portalsearch" }
    for _, t in ipairs(types) do if #items < 4 then items[#items + 1] = t end end
    rb.initFeedItems = items
  end
  if R.chance(0.2) then rb.templateColor = "#" .. R.hex(R.pick { 3, 6 }) end
  if R.chance(0.2) then rb.bizInfoYn = R.pick { "Y", "N" } end
  if R.chance(0.1) then rb.bizInfoTitle = R.text(R.int(0, 20)) end
  if R.chance(0.1) then rb.bizInfoContent = R.text(R.int(0, 200)) end
  return rb
end

local function chatbots()
  local n = R.chance(0.95) and R.int(1, 3) or R.int(4, 1000)
  local list, seen = {}, {}
  while #list < n do
    local m = mdn()
    if not seen[m] then
      seen[m] = true
      local cb = { mdn = m, subTitle = R.text(R.int(1, 20)) }
      if R.chance(0.3) then cb.subNum = m end
      if R.chance(0.3) then cb.rcsReply = R.pick { "0", "1" } end
      if R.chance(0.3) then cb.display = R.pick { "11", "10", "01", "00" } end
      if R.chance(0.3) then cb.inputField = R.pick { 0, 1 } end
      if R.chance(0.2) then cb.subDescr = R.text(R.int(0, 50)) end
      if R.chance(0.2) then cb.saftyStatusYn = R.pick { "Y", "N" } end
      list[#list + 1] = cb
    end
  end
  return list
end

-- A file argument for bytes: in memory ({data=}) or, when files.path_for is given, on disk.
local function file_arg(bytes, ext, files)
  local r = R.int(1, 4)
  if r == 1 then return { data = bytes, filename = R.text(R.int(1, 12)) .. "." .. ext } end
  if r == 2 then return { data = bytes } end
  local path = files.path_for(bytes, ext)
  if r == 3 then return path end
  return { path = path }
end

-- files: { path_for(bytes, ext) -> path of a file holding bytes }.
function G.rcs(files)
  local p = { regBrand = reg_brand() }
  p.brandProfile = file_arg(G.png(R.pick(G.PROFILE_SIDES)), "png", files)
  if R.chance(0.3) then
    local side = R.pick(G.PROFILE_SIDES)
    p.brandBackground = R.chance(0.5) and file_arg(G.jpeg(side), "jpg", files) or file_arg(G.png(side), "png", files)
  end
  if R.chance(0.3) then
    p.chatbots = chatbots()
    local kind = R.pick { "jpeg", "png", "pdf", "tiff", "zip" }
    p.subNumCertificate = file_arg(G.cert(kind), kind, files)
  end
  if R.chance(0.1) then p.mainMdn = R.digits(R.int(1, 40)) end
  return p
end

---------------------------------------------------------------- slots

-- Every place a mutation can touch: { parent, key, spec, path, required, present }.
-- Absent optional fields are listed too (so a mutation can add them).
local function walk(tbl, spec, path, out)
  for _, f in ipairs(spec.fields) do
    local name, fs = f[1], f[2]
    local p = path == "" and name or (path .. "." .. name)
    local v = rawget(tbl, name)
    out[#out + 1] = { parent = tbl, key = name, spec = fs, path = p, required = f.required, present = v ~= nil }
    if type(v) == "table" and fs.t == "object" then
      walk(v, fs, p, out)
    elseif type(v) == "table" and fs.t == "array" then
      for i = 1, rawlen(v) do  -- raw: earlier mutations may have given it a raising __len/__index
        local ip = p .. "[" .. i .. "]"
        out[#out + 1] = { parent = v, key = i, spec = fs.item, path = ip, required = true, present = true, item = true }
        if type(rawget(v, i)) == "table" and fs.item.t == "object" then walk(rawget(v, i), fs.item, ip, out) end
      end
    end
  end
  return out
end

function G.slots(payload, api)
  return walk(payload, api == "kos" and G.KOS or G.RCS, "", {})
end

-- Objects inside the payload (for unknown keys, cycles, metatables): { tbl, spec, path }.
function G.objects(slots, payload, api)
  local out = { { tbl = payload, spec = api == "kos" and G.KOS or G.RCS, path = "" } }
  for _, s in ipairs(slots) do
    local v = s.present and rawget(s.parent, s.key)
    if type(v) == "table" and s.spec.t == "object" then out[#out + 1] = { tbl = v, spec = s.spec, path = s.path } end
  end
  return out
end

return G
