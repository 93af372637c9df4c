-- RCS Biz Center emulation: POST /brand/{brandId}/chatbot (sender numbers added to an
-- existing brand), the chatbots each brand holds, their reads and changes (GET .../chatbot
-- paged, GET/PUT/DELETE .../chatbot/{chatbotId}, PUT .../{chatbotId}/cancel: see "after
-- registration" below for their rules), and the control endpoints tests use:
--   GET  /_sandbox/brands/{brandId}/chatbots  -> { brandId, count, chatbots = [Chatbot] }
--   POST /_sandbox/chatbot-status { brandId, chatbotId, status, reason? } -> the Chatbot
-- (brands without a brand POST, of any account, with a max_chatbots cap: POST /_sandbox/brands,
-- rcs_brands.lua). Like rcs.lua (on the same rcs_common.lua) it answers the FIRST violation, in the order: auth, brandId
-- (rcs_brands.check_access: unknown 400 64316, wrong key 64002, another account's 403 63001),
-- body framing, part names, chatbots (the brand POST's rules,
-- rcs_rules.lua), subNumCertificate, then what only the server knows: an mdn the brand
-- already has (64319), more numbers than the brand may hold (64306).
-- [G] No per-brand quantity is documented: there is none unless a test sets max_chatbots.

local json = require "bizreg_sandbox.json"
local rules = require "bizreg_sandbox.rcs_rules"
local rcs = require "bizreg_sandbox.rcs_common"  -- auth, answers, ids, form reading (as rcs.lua)
local brands = require "bizreg_sandbox.rcs_brands"
local notify = require "bizreg_sandbox.notify"  -- the webhook notification of a status change

local M = {}

local bad = rules.bad
local PART_NAMES = rules.set_of { "chatbots", "subNumCertificate" }
local JSON_HEADERS = { ["content-type"] = "application/json" }

-- The brand's sender numbers: { list = {Chatbot...}, by_mdn = {} }.
local function store(state, brand_id)
  local s = state.chatbots[brand_id]
  if not s then
    s = { list = {}, by_mdn = {} }
    state.chatbots[brand_id] = s
  end
  return s
end

local function given(v)
  if v == nil or v == json.null then return nil end
  return v
end

-- Registration time as the spec's example writes it: 2020-03-12T06:22:55.418+09.
local function kst_now()
  return os.date("!%Y-%m-%dT%H:%M:%S", os.time() + 9 * 3600) .. ".000+09"
end

-- The Chatbot the server keeps for a RegChatbotInfo (the spec's defaults filled in).
local function chatbot(brand_id, cb, group_id, now)
  local args = { "chatbotId", cb.mdn }
  if group_id then args[#args + 1], args[#args + 2] = "groupId", group_id end
  for _, kv in ipairs {
    { "brandId", brand_id }, { "subNum", cb.mdn }, { "isMainNum", false }, { "subTitle", cb.subTitle },
    { "service", "a2p" }, { "display", given(cb.display) or "01" }, { "inputField", given(cb.inputField) or 1 },
    { "subDescr", given(cb.subDescr) }, { "saftyStatusYn", given(cb.saftyStatusYn) or "Y" },
    { "psMenuUse", false }, { "approvalResult", "승인대기" }, { "registerDate", now },
  } do
    if kv[2] ~= nil then args[#args + 1], args[#args + 2] = kv[1], kv[2] end
  end
  return json.obj((unpack or table.unpack)(args)) -- luacheck: ignore
end

-- Keeps the (valid) chatbots as the brand's; returns the Chatbot list. Several at once
-- share a groupId (the spec: "대량등록된 경우 그룹ID", at most 10 characters).
function M.record(state, brand_id, list)
  local s, now = store(state, brand_id), kst_now()
  local group_id = #list > 1 and rcs.random_alnum(10) or nil
  local out = json.array()
  for i, cb in ipairs(list) do
    out[i] = chatbot(brand_id, cb, group_id, now)
    s.list[#s.list + 1] = out[i]
    s.by_mdn[cb.mdn] = true
  end
  state.registered.chatbots = state.registered.chatbots + #list
  return out
end

local function register(state, req, brand_id)
  -- unknown 64316, a wrong X-RCS-Brandkey 64002, another account's 403 63001
  brands.check_access(state, req.headers, brand_id, rcs.check_auth(state, req.headers))

  local parts = rcs.form_parts(req, PART_NAMES)
  if not parts.chatbots then rules.required_error("chatbots") end
  local list = rules.json_part(parts.chatbots, "chatbots")
  rules.check_chatbots(list)
  if not parts.subNumCertificate then bad("64305", "Missing Certification document") end
  rules.check_certificate(parts.subNumCertificate.data)

  local s = store(state, brand_id)
  for _, cb in ipairs(list) do
    if s.by_mdn[cb.mdn] == "deleted" then bad("64344", "can not regist deleted mdn in this brand") end
    if s.by_mdn[cb.mdn] then bad("64319", "Duplicate MDN") end
  end
  local max = state.brands[brand_id].max_chatbots
  if max and #s.list + #list > max then bad("64306", "Exceed MDN registration quantity") end
  return rcs.ok_reply(M.record(state, brand_id, list))
end

function M.register(state, req, brand_id)
  return rcs.run(register, state, req, brand_id)
end

---------------------------------------------------------------- after registration

-- The rules (first violation wins: auth, brand access as register's, then):
--   chatbotId longer than 15 -> 400 64105 "Invalid chatbotId on path parameter"; one the
--     brand does not hold (or deleted) -> 400 64383 "chatbotId dose not found."
--   edit (PUT): allowed in 저장, 반려, 승인 (the spec's "수정 가능 상태"), else 64328 "Not allowed
--     modification"; parts `chatbot` ({"chatbot": RegChatbotInfo}, register's rules) and an optional
--     `subNumCertificate`; its mdn must be the chatbot's number, else 64361 "chatbotId does not
--     match subNum" [G]. A new subTitle goes to review: 승인 -> 승인대기(수정) (the approved data
--     kept for a cancel), 저장/반려 -> 승인대기; other fields apply at once.
--   delete: allowed in 저장, 반려, 승인, else 64327 "Not allowed delete"; the chatbot is gone from
--     the list and its number cannot be registered again on that brand (64344).
--   cancel: 승인대기 -> 저장; 승인대기(수정) and 반려(수정) -> the approved data and 승인; else 64321
--     "Invalid approval status".
-- Every status change goes through set_chatbot_status, every delete through delete_chatbot (the
-- places to hang notifications on).

local EDITABLE = rules.set_of { "저장", "반려", "승인" }
local DELETABLE = EDITABLE
local EDIT_PARTS = rules.set_of { "chatbot", "subNumCertificate" }
-- Chatbot.approvalResult, and the (수정) states the cancel call names.
M.STATUSES = rules.set_of { "저장", "승인대기", "검수시작", "승인", "반려", "검수완료", "검수완료(수정)",
  "승인대기(수정)", "반려(수정)" }

local function set_field(obj, key, value)
  if obj[key] == nil then json.add_present(obj, key, value) else obj[key] = value end
end

-- The one place a chatbot's status changes (edit, cancel, the control call): why names the
-- cause ("edit", "cancel", "control"); reason is the reviewer's (반려). Announced to the webhook
-- URL when one is set (notify.lua): a review's verdict (control: 승인 created, 반려 rejected);
-- a cancel that rolls a renamed number back to its approved data changed its record: modified.
function M.set_chatbot_status(state, bot, status, why, reason)
  set_field(bot, "approvalResult", status)
  set_field(bot, "updateDate", kst_now())
  if status == "승인" then set_field(bot, "approvalDate", bot.updateDate) end
  if status == "반려" or status == "반려(수정)" then set_field(bot, "approvalReason", reason or json.null)
  elseif bot.approvalReason ~= nil then bot.approvalReason = json.null end
  local method = notify.CHATBOT_METHOD[status]
  if method == "created" and why ~= "control" then method = "modified" end
  notify.chatbot(state, bot, method, reason)
end

-- The one place a chatbot is deleted: gone from its brand's list, its number not registrable
-- there again (64344). i: its index in s.list (s: the brand's store).
function M.delete_chatbot(state, s, bot, i)
  table.remove(s.list, i)
  s.by_mdn[bot.chatbotId] = "deleted"
  notify.chatbot(state, bot, "deleted")
end

local function ids_of(req)
  return req.path:match("^/api/1%.1/brand/([^/]+)/chatbot/([^/]+)")
end

-- The brand (access checked) and the chatbot asked for: its index in the brand's list.
local function find(state, req)
  local brand_id, chatbot_id = ids_of(req)
  brands.check_access(state, req.headers, brand_id, rcs.check_auth(state, req.headers))
  if #chatbot_id > 15 then bad("64105", "Invalid chatbotId on path parameter") end
  local s = store(state, brand_id)
  for i, bot in ipairs(s.list) do
    if bot.chatbotId == chatbot_id then return s, bot, i end
  end
  bad("64383", "chatbotId dose not found.")
end

local function ok_list(result, ...)
  return 200, JSON_HEADERS, json.encode(json.obj("code", "20000000", "desc", json.null,
    "result", json.array(result), "status", 200, ...))
end

function M.list(state, req, brand_id)
  return rcs.run(function()
    brands.check_access(state, req.headers, brand_id, rcs.check_auth(state, req.headers))
    local offset, limit = brands.page_query(req.query)
    if state.config.rcs_chatbot_list_ignores_offset then offset = 0 end
    local all, page = store(state, brand_id).list, {}
    for i = offset + 1, math.min(offset + limit, #all) do page[#page + 1] = all[i] end
    local base = req.path .. "?limit=" .. limit .. "&offset="
    return ok_list(page, "pagination", json.obj("total", #all, "offset", offset, "limit", limit),
      "links", json.obj("prev", offset > 0 and base .. math.max(offset - limit, 0) or json.null,
        "next", offset + limit < #all and base .. (offset + limit) or json.null))
  end)
end

-- ChatbotDetail: the Chatbot and its rcsReply (kept from the registration or the last edit).
local function detail(bot)
  local keys, args = json.keys(bot), {}
  for _, k in ipairs(keys) do args[#args + 1], args[#args + 2] = k, bot[k] end
  local out = json.obj((unpack or table.unpack)(args)) -- luacheck: ignore
  set_field(out, "rcsReply", bot._rcsReply or "1")
  return out
end

function M.get(state, req)
  return rcs.run(function()
    local _, bot = find(state, req)
    return rcs.ok_reply({ detail(bot) })
  end)
end

function M.update(state, req)
  return rcs.run(function()
    local _, bot = find(state, req)
    local parts = rcs.form_parts(req, EDIT_PARTS)
    if not parts.chatbot then rules.required_error("chatbot") end
    local cb = rules.json_part(parts.chatbot, "chatbot")
    rules.check_chatbot(cb, "chatbot")
    if parts.subNumCertificate then rules.check_certificate(parts.subNumCertificate.data) end
    if cb.mdn ~= bot.chatbotId then bad("64361", "chatbotId does not match subNum") end
    local status = bot.approvalResult
    if not EDITABLE[status] then bad("64328", "Not allowed modification") end
    local renamed = cb.subTitle ~= bot.subTitle
    if renamed and status == "승인" then bot._approved = detail(bot) end  -- what a cancel rolls back to
    bot.subTitle = cb.subTitle
    for _, k in ipairs { "display", "inputField", "subDescr", "saftyStatusYn" } do
      if given(cb[k]) ~= nil then set_field(bot, k, cb[k]) end
    end
    if given(cb.rcsReply) ~= nil then bot._rcsReply = cb.rcsReply end
    if renamed then
      M.set_chatbot_status(state, bot, status == "승인" and "승인대기(수정)" or "승인대기", "edit")
    else  -- applied at once: the record changed
      set_field(bot, "updateDate", kst_now())
      notify.chatbot(state, bot, "modified")
    end
    state.changed_chatbots = (state.changed_chatbots or 0) + 1
    return rcs.ok_reply({ detail(bot) })
  end)
end

function M.delete(state, req)
  return rcs.run(function()
    local s, bot, i = find(state, req)
    if not DELETABLE[bot.approvalResult] then bad("64327", "Not allowed delete") end
    M.delete_chatbot(state, s, bot, i)
    return rcs.ok_reply({ json.obj("chatbotId", bot.chatbotId, "releatedChatbots", json.array()) })
  end)
end

function M.cancel(state, req)
  return rcs.run(function()
    local _, bot = find(state, req)
    local status = bot.approvalResult
    if status == "승인대기" then
      M.set_chatbot_status(state, bot, "저장", "cancel")
    elseif (status == "승인대기(수정)" or status == "반려(수정)") and bot._approved then
      local old = bot._approved
      bot._approved = nil
      for _, k in ipairs { "subTitle", "display", "inputField", "subDescr", "saftyStatusYn" } do
        if old[k] ~= nil then set_field(bot, k, old[k]) end
      end
      bot._rcsReply = old.rcsReply
      M.set_chatbot_status(state, bot, "승인", "cancel")
    else
      bad("64321", "Invalid approval status")
    end
    return rcs.ok_reply({ json.obj("chatbotId", bot.chatbotId) })
  end)
end

---------------------------------------------------------------- control

local function reply(status, value)
  return status, JSON_HEADERS, json.encode(value)
end

-- POST /_sandbox/chatbot-status { brandId, chatbotId, status, reason? }
local function control_status(state, body)
  local doc = json.decode(body)
  if json.type(doc) ~= "object" then return reply(400, json.obj("error", "body must be a JSON object")) end
  local s = type(doc.brandId) == "string" and state.chatbots[doc.brandId]
  local bot
  for _, b in ipairs(s and s.list or {}) do if b.chatbotId == doc.chatbotId then bot = b end end
  if not bot then return reply(400, json.obj("error", "brandId/chatbotId must name a chatbot the sandbox holds")) end
  if not M.STATUSES[doc.status] then return reply(400, json.obj("error", "status must be a Chatbot.approvalResult value")) end
  if doc.reason ~= nil and type(doc.reason) ~= "string" then return reply(400, json.obj("error", "reason must be a string")) end
  M.set_chatbot_status(state, bot, doc.status, "control", doc.reason)
  return reply(200, bot)
end

-- GET /_sandbox/brands/{id}/chatbots, POST /_sandbox/chatbot-status: status, headers, body;
-- nil for another path.
function M.control(state, method, path, body)
  if path == "/_sandbox/chatbot-status" and method == "POST" then return control_status(state, body) end
  local id = path:match("^/_sandbox/brands/([^/]+)/chatbots$")
  if id and method == "GET" then
    if not state.brands[id] then
      return reply(404, json.obj("error", "no brand " .. id))
    end
    local list, out = store(state, id).list, json.array()
    for i, c in ipairs(list) do out[i] = c end
    return reply(200, json.obj("brandId", id, "count", #list, "chatbots", out))
  end
  return nil
end

return M
