-- RCS brand records and reads in the sandbox: GET /corp/{personId}/brand/{brandId},
-- GET /corp/{personId}/brand (offset/limit pages), GET /corp/brand/categories, and the
-- control calls that seed brands and move their status (POST /_sandbox/brands,
-- POST /_sandbox/brand-status, GET /_sandbox/brands).
--
-- The sandbox's rules (first violation wins, in this order):
--   personId must be the caller's account (the token's clientId; the static token's is
--     rcs_client_id), else 403 63002 "No Permission"                                   [G]
--   brandId unknown or longer than 13 -> 400 64316 "Invalid brandId"
--   X-RCS-Brandkey, when sent, must be the brand's brandKey -> else 400 64002 "Invalid Brand Key"
--     (not sent: accepted; the sandbox has no agency accounts)
--   a brand of another account -> 403 63001 "No Brand Permission"
--   offset: integer >= 0; limit: integer 100..1000 -> else 400 64202
--     "Invalid query parameter value (name:value)"
-- A registered brand starts at 승인대기; a resubmitted one goes back to 승인대기. Every later
-- change of a brand's status, and its deletion, goes through brands.set_status.
local json = require "bizreg_sandbox.json"
local rules = require "bizreg_sandbox.rcs_rules"
local digest = require "openssl.digest"
local notify = require "bizreg_sandbox.notify"  -- the webhook notification of a status change

local brands = {}

local JSON_HEADERS = { ["content-type"] = "application/json;charset=UTF-8" }

-- BrandInfo.status (rcs-openapi-1.1.12.yaml)
brands.STATUSES = rules.set_of { "저장", "승인대기", "검수시작", "승인", "반려", "검수완료",
  "승인대기(수정)", "검수시작(수정)", "반려(수정)", "검수완료(수정)" }

-- Names of the catalogue's ids (rcs_rules.CATEGORIES holds the ids); [G] except ITE, FIN.
local NAMES = { ITE = "IT", ITE001 = "인터넷/컴퓨터", ITE002 = "정보통신/SW", FIN = "금융", FIN001 = "은행",
  EDU = "교육", MED = "의료", MED001 = "병원", MED002 = "의원" }

-- regBrand fields a BrandDetail gives back, in the spec's order.
local DETAIL_KEYS = { "description", "tel", "menus", "categoryId", "subCategoryId", "categoryOpt", "zipCode",
  "roadAddress", "detailAddress", "email", "webSiteUrl", "initTab", "initFeedItem", "initFeedItems",
  "templateColor", "bizInfoYn", "bizInfoTitle", "bizInfoContent" }

-- "2026-11-27T15:20:00.000+09" (the spec's example format), in KST.
local function kst(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", (t or os.time()) + 9 * 3600) .. ".000+09"
end

local add = json.add_present  -- key = value when value is not nil

---------------------------------------------------------------- records

-- A new brand of `owner` (state.brands[id] = record; truthy, like the plain flag it replaced).
function brands.record(state, id, rb, owner, key)
  state.brand_seq = state.brand_seq + 1
  local now = kst()
  local rec = { brandId = id, brandKey = key, name = rb.name, owner = owner, status = "승인대기", reg = rb,
    seq = state.brand_seq, registerDate = now, updateDate = now, reads = 0 }
  state.brands[id] = rec
  return rec
end

-- PUT /corp/brand/{id}: the new regBrand, back to review.
function brands.resubmitted(state, rec, rb)
  rec.reg, rec.name = rb, rb.name
  brands.set_status(state, rec, "승인대기", "resubmit")
end

-- The brand's images as received (their digests: an edit compares them; nil: none).
function brands.set_images(rec, profile, background)
  rec.profile = profile and digest.new("sha256"):final(profile) or nil
  rec.background = background and digest.new("sha256"):final(background) or nil
end

local function info(rec)
  local o = json.obj("brandId", rec.brandId, "name", rec.name, "brandKey", rec.brandKey,
    "registerDate", rec.registerDate)
  add(o, "approvalDate", rec.approvalDate)
  add(o, "updateDate", rec.updateDate)
  add(o, "status", rec.status)
  return o
end

function brands.detail(rec)
  local o = info(rec)
  for _, k in ipairs(DETAIL_KEYS) do
    local v = rec.reg[k]
    if v ~= nil and v ~= json.null then add(o, k, v) end
    if k == "categoryId" then add(o, "categoryName", NAMES[v]) end
    if k == "subCategoryId" then add(o, "subCategoryName", NAMES[v] or v) end
  end
  add(o, "approvalReason", rec.approvalReason)
  return o
end

---------------------------------------------------------------- access

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function check_person(person, account)
  if unescape(person) ~= account then rules.violation(403, "63002", "No Permission") end
end
brands.check_person = check_person

-- The record of a brand-scoped call, after the sandbox's rules (see the top).
function brands.check_access(state, headers, id, account)
  local rec = #id <= 13 and state.brands[id]
  if not rec then rules.bad("64316", "Invalid brandId") end
  local key = headers["x-rcs-brandkey"]
  if key ~= nil and key ~= rec.brandKey then rules.bad("64002", "Invalid Brand Key") end
  if rec.owner ~= account then rules.violation(403, "63001", "No Brand Permission") end
  return rec
end

---------------------------------------------------------------- API handlers

local function ok(result, ...)
  return 200, JSON_HEADERS, json.encode(json.obj("code", "20000000", "desc", json.null,
    "result", json.array(result), "status", 200, ...))
end

-- A status move armed by the control call takes effect once `left` reads have seen the old one.
local function apply_pending(state, rec)
  local p = rec.pending
  if not p then return end
  if p.left > 0 then p.left = p.left - 1 return end
  rec.pending = nil
  brands.set_status(state, rec, p.status, "control", p.reason)
end

function brands.get(state, req, account)
  local person, id = req.path:match("^/api/1%.1/corp/([^/]+)/brand/([^/]+)$")
  check_person(person, account)
  local rec = brands.check_access(state, req.headers, id, account)
  rec.reads = rec.reads + 1
  apply_pending(state, rec)
  return ok({ brands.detail(rec) })
end

-- offset, limit from the query string (64202 on a bad value).
local function page_query(query)
  local q = { offset = "0", limit = "100" }
  for k, v in (query or ""):gmatch("([^&=]+)=([^&]*)") do q[unescape(k)] = unescape(v) end
  local function int(name, min, max)
    local n = q[name]:match("^%d+$") and tonumber(q[name])
    if not n or n < min or n > max then
      rules.bad("64202", "Invalid query parameter value (" .. name .. ":" .. q[name] .. ")")
    end
    return n
  end
  return int("offset", 0, 2 ^ 31 - 1), int("limit", 100, 1000)
end

brands.page_query = page_query  -- (rcs_chatbots.lua: the chatbot list's paging)

local function owned(state, account)
  local list = {}
  for _, rec in pairs(state.brands) do
    if type(rec) == "table" and rec.owner == account then list[#list + 1] = rec end
  end
  table.sort(list, function(a, b) return a.seq < b.seq end)
  return list
end

function brands.list(state, req, account)
  local person = req.path:match("^/api/1%.1/corp/([^/]+)/brand$")
  check_person(person, account)
  local offset, limit = page_query(req.query)
  local all, page = owned(state, account), {}
  for i = offset + 1, math.min(offset + limit, #all) do page[#page + 1] = info(all[i]) end
  local base = req.path .. "?limit=" .. limit .. "&offset="
  local prev = offset > 0 and base .. math.max(offset - limit, 0) or json.null
  local nxt = offset + limit < #all and base .. (offset + limit) or json.null
  return ok(page, "pagination", json.obj("total", #all, "offset", offset, "limit", limit),
    "links", json.obj("prev", prev, "next", nxt))
end

function brands.categories()
  local ids = {}
  for id in pairs(rules.CATEGORIES) do ids[#ids + 1] = id end
  table.sort(ids)
  local out = {}
  for _, id in ipairs(ids) do
    local subs = {}
    for sub in pairs(rules.CATEGORIES[id]) do subs[#subs + 1] = sub end
    table.sort(subs)
    for i, sub in ipairs(subs) do subs[i] = json.obj("subCategoryId", sub, "subCategoryName", NAMES[sub] or sub) end
    out[#out + 1] = json.obj("categoryId", id, "categoryName", NAMES[id] or id, "subCategories", json.array(subs),
      "updateDate", "2026-01-05T09:00:00.000+09")
  end
  return ok(out)
end

---------------------------------------------------------------- control

-- THE one place a brand's status changes after its registration, and where a brand goes away
-- (status false: deleted, gone from GET and lists): the hook point for notifications.
-- why: what changed it ("control", "resubmit", "update", "cancel", "delete"); reason: the
-- review's approvalReason (반려).
function brands.set_status(state, rec, status, why, reason)
  if status == false then
    state.brands[rec.brandId], state.chatbots[rec.brandId] = nil, nil
    rec.status, rec.deleted = nil, why
    return
  end
  rec.status, rec.updateDate = status, kst()
  rec.approvalReason = (status == "반려" or status == "반려(수정)") and reason or nil
  if status == "승인" then rec.approvalDate, rec.before_edit = rec.updateDate, nil end  -- an edit approved: no way back
  -- announced to the webhook URL when one is set (notify.lua: a verdict, or a running brand's
  -- record changed at once by an edit or a cancelled edit: modified; review steps: nothing; a
  -- deletion above: nothing, NotiBrand has no `deleted`)
  notify.brand(state, rec, notify.BRAND_METHOD[status], reason)
end


local function reply(status, value) return status, { ["content-type"] = "application/json" }, json.encode(value) end
local function refuse(why) return reply(400, json.obj("error", why)) end

local function is_count(v, min) return type(v) == "number" and v == math.floor(v) and v >= min end

-- POST /_sandbox/brands { count = 1, name, owner = rcs_client_id, status = "승인대기", max_chatbots }
-- (max_chatbots caps each brand's sender numbers: rcs_chatbots.lua answers 64306 beyond it)
local function seed(state, doc)
  local count = doc.count == nil and 1 or doc.count
  if not is_count(count, 1) or count > 5000 then return refuse("count must be an integer 1..5000") end
  if doc.name ~= nil and (type(doc.name) ~= "string" or doc.name == "") then return refuse("name must be a non-empty string") end
  if doc.owner ~= nil and type(doc.owner) ~= "string" then return refuse("owner must be a string") end
  local status = doc.status == nil and "승인대기" or doc.status
  if not brands.STATUSES[status] then return refuse("status must be a BrandInfo.status value") end
  if doc.max_chatbots ~= nil and not is_count(doc.max_chatbots, 0) then return refuse("max_chatbots must be an integer >= 0") end
  local ids = json.array()
  for i = 1, count do
    local n = state.brand_seq + 1
    local id = string.format("BR.sb%08d", n)
    local rec = brands.record(state, id, { name = doc.name or ("sandbox brand " .. i), description = "seeded",
      categoryId = "EDU", subCategoryId = "EDU007" }, doc.owner or state.config.rcs_client_id,
      string.format("BK.sb%013d", n))
    brands.set_status(state, rec, status, "control")
    rec.max_chatbots = doc.max_chatbots
    ids[i] = id
  end
  return reply(200, json.obj("brandIds", ids))
end

-- POST /_sandbox/brand-status { brandId, status, reason?, after_reads? }
local function status_control(state, doc)
  local rec = type(doc.brandId) == "string" and state.brands[doc.brandId]
  if type(rec) ~= "table" then return refuse("brandId must be a brand the sandbox knows") end
  if not brands.STATUSES[doc.status] then return refuse("status must be a BrandInfo.status value") end
  if doc.reason ~= nil and type(doc.reason) ~= "string" then return refuse("reason must be a string") end
  local after = doc.after_reads == nil and 0 or doc.after_reads
  if not is_count(after, 0) then return refuse("after_reads must be an integer >= 0") end
  if after > 0 then
    rec.pending = { status = doc.status, reason = doc.reason, left = after }
  else
    rec.pending = nil
    brands.set_status(state, rec, doc.status, "control", doc.reason)
  end
  return reply(200, json.obj("brandId", rec.brandId, "status", rec.status, "pending", after > 0))
end

local function list_all(state)
  local out = json.array()
  local all = {}
  for _, rec in pairs(state.brands) do if type(rec) == "table" then all[#all + 1] = rec end end
  table.sort(all, function(a, b) return a.seq < b.seq end)
  for i, rec in ipairs(all) do
    out[i] = json.obj("brandId", rec.brandId, "name", rec.name, "owner", rec.owner, "status", rec.status,
      "reads", rec.reads)
  end
  return reply(200, out)
end

-- Answers the brand control calls; nil for any other path.
function brands.control(state, method, path, body)
  if path == "/_sandbox/brands" and method == "GET" then return list_all(state) end
  local handler = (path == "/_sandbox/brands" and seed) or (path == "/_sandbox/brand-status" and status_control)
  if not handler or method ~= "POST" then return nil end
  local doc, err = json.decode(body)
  if json.type(doc) ~= "object" then return refuse("body must be a JSON object" .. (err and (": " .. err) or "")) end
  return handler(state, doc)
end

return brands
