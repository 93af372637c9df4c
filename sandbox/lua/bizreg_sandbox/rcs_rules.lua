-- RCS Biz Center rules the sandbox applies to a brand POST/PUT: regBrand and chatbots
-- (in the order of the api-notes.md tables), the JSON parts and the files. Every check
-- raises the FIRST violation (rcs.lua turns it into the server's answer). Paths are
-- relative to regBrand or chatbots with 1-based indexes (menus[2].weblink, chatbots[1].mdn).
-- The category catalogue (CATEGORIES) is the server's knowledge, which no client can check.
local json = require "bizreg_sandbox.json"
local imageinfo = require "bizreg_sandbox.imageinfo"

local rules = {}

local MAX_BRAND_IMAGE = 1048576 -- 1 MiB
local MAX_CERTIFICATE = 20971520 -- 20 MiB

-- Validation helpers throw the first violation; handlers catch it with pcall.
local Violation = {}
local function violation(status, code, message)
  error(setmetatable({ status = status, code = code, message = message }, Violation), 0)
end
local function bad(code, message) violation(400, code, message) end

---------------------------------------------------------------- regBrand rules

local function set_of(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end

local CATEGORIES = {
  ITE = set_of { "ITE001", "ITE002" },
  FIN = set_of { "FIN001" },
  EDU = set_of { "EDU001", "EDU002", "EDU003", "EDU004", "EDU005", "EDU006", "EDU007", "EDU008", "EDU009", "EDU010" },
  MED = set_of { "MED001", "MED002" },
}
local BUTTON_TYPES = set_of { "call", "web", "app", "store", "order", "buy", "tickets", "moreinfo" }
local FEED_ITEMS = set_of { "call", "web", "store", "order", "buy", "tickets", "moreinfo", "portalsearch" }

local function type_error(path) bad("64303", "Invalid type of Attribute (" .. path .. ")") end
local function size_error(path) bad("64304", "Over specified size (" .. path .. ")") end
local function value_error(path) bad("64337", "Brand Creation Property Value Error (" .. path .. ")") end
local function required_error(path) bad("64336", "required value: [" .. path .. "]") end

-- Code points of a decoded string; a lone \uD800-style escape makes the text
-- invalid UTF-8, which Jackson would refuse as malformed JSON.
local function chars(v)
  local n = json.utf8_length(v)
  if not n then bad("64302", "Invalid JSON format") end
  return n
end

local function absent(v)
  return v == nil or v == json.null
end

-- spec: required, max (code points), enum (set), check (predicate) -> 64337.
-- "" is "missing" for a required field, and a value error for enum/format fields.
local function check_string(v, path, spec)
  if absent(v) or (v == "" and spec.required) then
    if spec.required then required_error(path) end
    return nil
  end
  if type(v) ~= "string" then type_error(path) end
  if spec.max and chars(v) > spec.max then size_error(path) end
  if spec.enum and not spec.enum[v] then value_error(path) end
  if spec.check and not spec.check(v) then value_error(path) end
  return v
end

local function check_unknown_keys(obj, known, prefix)
  for _, k in ipairs(json.keys(obj)) do
    if not known[k] then bad("64397", "invalid body " .. prefix .. k) end
  end
end

-- format: email (OpenAPI), as RFC 5321 writes a mailbox without quoted strings or address
-- literals: a dot-atom local part (<= 64), "@", two or more LDH labels (1..63 each, a
-- letter or digit at both ends).
local function is_email(s)
  local user, domain = s:match("^([^@]+)@([^@]+)$")
  if not user or #user > 64 or #domain > 255 then return false end
  for atom in (user .. "."):gmatch("([^.]*)%.") do
    if not atom:match("^[A-Za-z0-9!#$%%&'*+/=?^_`{|}~-]+$") then return false end
  end
  local labels = 0
  for label in (domain .. "."):gmatch("([^.]*)%.") do
    if #label > 63 or not (label:match("^[A-Za-z0-9]$") or label:match("^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$")) then
      return false
    end
    labels = labels + 1
  end
  return labels >= 2
end

local function is_hex_color(s)
  return s:match("^#%x%x%x$") ~= nil or s:match("^#%x%x%x%x%x%x$") ~= nil
end

-- "URL은 http:// 또는 https:// 로 시작": schemes compare case-insensitively (RFC 3986 3.1).
local function is_weblink(s)
  return s:lower():match("^https?://.") ~= nil
end

local MENU_KEYS = set_of { "buttonType", "applink", "weblink" }
local APPLINK_KEYS = set_of { "packageName", "action", "uri" }

local function check_menus(menus)
  if absent(menus) then return {} end
  if json.type(menus) ~= "array" then type_error("menus") end
  if #menus > 3 then size_error("menus") end
  local types = {}
  for i, m in ipairs(menus) do
    local p = "menus[" .. i .. "]"
    if json.type(m) ~= "object" then type_error(p) end
    check_unknown_keys(m, MENU_KEYS, p .. ".")
    local bt = check_string(m.buttonType, p .. ".buttonType", { required = true, max = 20, enum = BUTTON_TYPES })
    if bt == "app" then
      bad("64338", "Brand Creation Property Value Error With Reason (" .. p ..
        ".buttonType): carriers no longer accept buttonType app")
    end
    types[bt] = true
    if not absent(m.applink) then
      local a = m.applink
      if json.type(a) ~= "object" then type_error(p .. ".applink") end
      check_unknown_keys(a, APPLINK_KEYS, p .. ".applink.")
      for _, k in ipairs({ "packageName", "action", "uri" }) do
        check_string(a[k], p .. ".applink." .. k, { required = true, max = 40 })
      end
    end
    check_string(m.weblink, p .. ".weblink", { required = bt ~= "call", max = 128, check = is_weblink })
  end
  return types
end

local function check_feed_items(items, menu_types)
  if absent(items) then return end
  if json.type(items) ~= "array" then type_error("initFeedItems") end
  if #items > 4 then size_error("initFeedItems") end
  for i, v in ipairs(items) do
    local p = "initFeedItems[" .. i .. "]"
    if type(v) ~= "string" then type_error(p) end
    if not FEED_ITEMS[v] then value_error(p) end
    if v ~= "portalsearch" and not menu_types[v] then value_error(p) end
  end
end

local BRAND_KEYS = set_of {
  "name", "description", "tel", "menus", "categoryId", "subCategoryId", "categoryOpt",
  "zipCode", "roadAddress", "detailAddress", "email", "webSiteUrl", "initTab",
  "initFeedItem", "initFeedItems", "templateColor", "bizInfoYn", "bizInfoTitle", "bizInfoContent",
}

local function check_reg_brand(rb)
  check_unknown_keys(rb, BRAND_KEYS, "")
  check_string(rb.name, "name", { required = true, max = 20 })
  check_string(rb.description, "description", { required = true, max = 150 })
  check_string(rb.tel, "tel", { max = 12 })
  local menu_types = check_menus(rb.menus)
  local cat = check_string(rb.categoryId, "categoryId", {
    required = true, max = 64, check = function(v) return CATEGORIES[v] ~= nil end })
  check_string(rb.subCategoryId, "subCategoryId", {
    required = true, max = 64, check = function(v) return CATEGORIES[cat][v] ~= nil end })
  check_string(rb.categoryOpt, "categoryOpt", { max = 20 })
  check_string(rb.zipCode, "zipCode", { max = 5, check = function(v) return v:match("^%d%d%d%d%d$") ~= nil end })
  check_string(rb.roadAddress, "roadAddress", { max = 200 })
  check_string(rb.detailAddress, "detailAddress", { max = 200 })
  check_string(rb.email, "email", { max = 30, check = is_email })
  check_string(rb.webSiteUrl, "webSiteUrl", { max = 128 })
  check_string(rb.initTab, "initTab", { max = 5, enum = set_of { "FEED", "INFO" } })
  check_string(rb.initFeedItem, "initFeedItem", { max = 6, enum = set_of { "TEL", "HOME", "SEARCH" } })
  check_feed_items(rb.initFeedItems, menu_types)
  check_string(rb.templateColor, "templateColor", { max = 10, check = is_hex_color })
  check_string(rb.bizInfoYn, "bizInfoYn", { enum = set_of { "Y", "N" } })
  check_string(rb.bizInfoTitle, "bizInfoTitle", { max = 20 })
  check_string(rb.bizInfoContent, "bizInfoContent", { max = 200 })
end

---------------------------------------------------------------- chatbots rules

local CHATBOT_KEYS = set_of {
  "mdn", "subNum", "subTitle", "rcsReply", "display", "inputField", "subDescr", "saftyStatusYn" }
local DISPLAYS = set_of { "11", "10", "01", "00" }
local YN = set_of { "Y", "N" }

-- A field with its own documented "bad value" code (mdn, subNum, subTitle, rcsReply, display,
-- inputField) answers it for any bad value, a wrong type included; the others answer 64303
-- for a wrong type, then 64304 / 64337.
local function check_chatbot(cb, p)
  if json.type(cb) ~= "object" then type_error(p) end
  check_unknown_keys(cb, CHATBOT_KEYS, p .. ".")
  local mdn = cb.mdn
  if absent(mdn) or mdn == "" then bad("64307", "Missing MDN") end
  -- mobile (010) numbers cannot be RCS sender numbers (carrier policy)
  if type(mdn) ~= "string" or not mdn:match("^%d+$") or #mdn > 40 or mdn:sub(1, 3) == "010" then
    bad("64308", "Invalid MDN format")
  end
  if not absent(cb.subNum) and cb.subNum ~= mdn then bad("64381", "Invalid subNum format") end
  local st = cb.subTitle
  if absent(st) or st == "" then bad("64309", "Missing chatbot name") end
  if type(st) ~= "string" or chars(st) > 20 then bad("64374", "Invalid subTitle format") end
  if not absent(cb.rcsReply) and cb.rcsReply ~= "0" and cb.rcsReply ~= "1" then
    bad("64311", "Invalid rcsReply format")
  end
  if not absent(cb.display) and not DISPLAYS[cb.display] then bad("64310", "Invalid display format") end
  if not absent(cb.inputField) and cb.inputField ~= 0 and cb.inputField ~= 1 then
    bad("64364", "Invalid inputField format")
  end
  if not absent(cb.subDescr) then
    if type(cb.subDescr) ~= "string" then type_error(p .. ".subDescr") end
    if chars(cb.subDescr) > 50 then size_error(p .. ".subDescr") end
  end
  check_string(cb.saftyStatusYn, p .. ".saftyStatusYn", { enum = YN })
  return mdn
end

local function check_chatbots(list)
  if json.type(list) ~= "array" or #list == 0 or #list > 1000 then
    bad("64343", "Brand Creation Chatbots Array Error")
  end
  local mdns = {}
  for i, cb in ipairs(list) do mdns[i] = check_chatbot(cb, "chatbots[" .. i .. "]") end
  -- duplicates are judged after every item passed its own rules
  local seen = {}
  for _, mdn in ipairs(mdns) do
    if seen[mdn] then bad("64341", "Duplicate MDN " .. mdn .. " in chatbots") end
    seen[mdn] = true
  end
end

---------------------------------------------------------------- JSON parts

-- Decodes a part that must be {"<key>": <value>} and nothing else.
local function json_part(part, key)
  local text = part.data
  if not json.utf8_length(text) then bad("64302", "Invalid JSON format") end
  local doc = json.decode(text)
  if json.type(doc) ~= "object" then bad("64302", "Invalid JSON format") end
  local keys = json.keys(doc)
  if #keys ~= 1 or keys[1] ~= key then bad("64302", "Invalid JSON format") end
  return doc[key]
end

---------------------------------------------------------------- files

-- Type (by content), size, completeness (a PNG/JPEG a decoder can read: imageinfo),
-- then ratio and dimensions; a wrong or unreadable image gets the part's type code.
local function check_brand_image(data, allow_jpeg)
  local kind, w, h, complete = imageinfo.dimensions(data)
  local wrong = allow_jpeg and function() bad("64333", "Not Allowed Brand Image File Extension") end
    or function() bad("64332", "brand profile file is only png") end
  if kind ~= "png" and not (allow_jpeg and kind == "jpeg") then wrong() end
  if #data > MAX_BRAND_IMAGE then bad("64331", "brand Image File Capacity Overflow") end
  if not complete then wrong() end
  if not w then bad("64335", "Brand Image File Image Size Error") end
  if w ~= h then bad("64394", "brand image must be 1:1 ratio") end
  if w < 388 or w > 1080 then bad("64335", "Brand Image File Image Size Error") end
end

local CERT_KINDS = set_of { "jpeg", "png", "pdf", "tiff", "zip" }

local function check_certificate(data)
  local kind, _, _, complete = imageinfo.dimensions(data)
  if not CERT_KINDS[kind] then bad("64355", "Not allowed file extension") end
  if #data > MAX_CERTIFICATE then bad("64354", "Attached File Capacity Overflow") end
  if not complete then bad("64355", "Not allowed file extension") end
end

rules.Violation, rules.violation, rules.bad, rules.set_of = Violation, violation, bad, set_of
rules.required_error, rules.size_error, rules.type_error, rules.chars = required_error, size_error, type_error, chars
rules.check_reg_brand, rules.check_chatbots, rules.json_part = check_reg_brand, check_chatbots, json_part
rules.check_chatbot = check_chatbot  -- one RegChatbotInfo (PUT /brand/{brandId}/chatbot/{chatbotId})
rules.check_brand_image, rules.check_certificate = check_brand_image, check_certificate
rules.CATEGORIES = CATEGORIES -- GET /corp/brand/categories lists it (rcs_brands.lua)

---------------------------------------------------------------- brand states

-- Which brand status allows which change (rcs-openapi-1.1.12.yaml: each call's "가능 상태"),
-- used by rcs_brand_edit.lua:
--   cancel       PUT /corp/brand/{id}/cancel and PUT /corp/{personId}/brand/{id}/cancel: 승인대기
--   delete       DELETE /corp/brand/{id}: 저장, 반려 (never approved)
--   delete_owner DELETE /corp/{personId}/brand/{id}: 승인, 반려, 저장 (and 반려(수정): an approved
--                brand whose edit was refused) [G: the (수정) variant]
--   update       PUT /corp/{personId}/brand/{id}: 승인, 반려(수정)
rules.ALLOWED_STATUS = {
  cancel = set_of { "승인대기" },
  delete = set_of { "저장", "반려" },
  delete_owner = set_of { "승인", "반려", "저장", "반려(수정)" },
  update = set_of { "승인", "반려(수정)" },
}

-- The statuses of a brand that was approved (an edit rejected is 반려(수정)): deleting it needs
-- its sender numbers gone first (has_chatbots); a never-approved one goes at once.
rules.APPROVED_STATUS = set_of { "승인", "반려(수정)" }

-- The refusal of each: code and message (api-notes' code table; 64351's %s is "chatbot").
rules.STATE_ERRORS = {
  cancel = { "64321", "Invalid approval status" },
  delete = { "64327", "Not allowed delete" },
  delete_owner = { "64327", "Not allowed delete" },
  update = { "64328", "Not allowed modification" },
  no_changes = { "64323", "No changes" },
  has_chatbots = { "64351", "chatbot exists. need to delete all chatbot before deleting the brand" },
}

-- Raises the refusal named `which` (a key of STATE_ERRORS).
function rules.refuse(which)
  local e = rules.STATE_ERRORS[which]
  bad(e[1], e[2])
end

-- Raises the refusal of `call` unless the brand's status allows it.
function rules.check_status(call, status)
  if not rules.ALLOWED_STATUS[call][status] then rules.refuse(call) end
end

return rules
