-- RCS Biz Center emulation: POST /brand/{brandId}/chatbot (sender numbers added to an
-- existing brand), the chatbots each brand holds, and the control endpoint tests use:
--   GET  /_sandbox/brands/{brandId}/chatbots  -> { brandId, count, chatbots = [Chatbot] }
--   POST /_sandbox/chatbot-status { brandId, chatbotId, status, reason? } -> moves approvalResult
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
    if s.by_mdn[cb.mdn] then bad("64319", "Duplicate MDN") end
  end
  local max = state.brands[brand_id].max_chatbots
  if max and #s.list + #list > max then bad("64306", "Exceed MDN registration quantity") end
  return rcs.ok_reply(M.record(state, brand_id, list))
end

function M.register(state, req, brand_id)
  return rcs.run(register, state, req, brand_id)
end

---------------------------------------------------------------- status

-- Chatbot.approvalResult (rcs-openapi-1.1.12.yaml)
M.STATUSES = rules.set_of { "승인대기", "검수시작", "승인", "반려", "검수완료", "검수완료(수정)", "저장" }

local function set_field(bot, key, value)
  if bot[key] == nil and value ~= nil then json.add_present(bot, key, value) else bot[key] = value end
end

-- A sender number's status change: moved, then announced to the webhook URL when one is set
-- (notify.lua: which statuses are announced, and how).
function M.set_status(state, bot, status, reason)
  local now = kst_now()
  set_field(bot, "approvalResult", status)
  local why = status == "반려" and reason or json.null
  if bot.approvalReason ~= nil or why ~= json.null then set_field(bot, "approvalReason", why) end
  if status == "승인" then set_field(bot, "approvalDate", now) end
  set_field(bot, "updateDate", now)
  notify.chatbot(state, bot, notify.CHATBOT_METHOD[status], reason)
end

---------------------------------------------------------------- control

local function reply(status, value)
  return status, JSON_HEADERS, json.encode(value)
end

local function find(state, brand_id, chatbot_id)
  for _, bot in ipairs((state.chatbots[brand_id] or {}).list or {}) do
    if bot.chatbotId == chatbot_id then return bot end
  end
  return nil
end

-- POST /_sandbox/chatbot-status { brandId, chatbotId, status, reason? }
local function control_status(state, body)
  local doc, err = json.decode(body or "")
  if json.type(doc) ~= "object" then
    return reply(400, json.obj("error", "body must be a JSON object" .. (err and (": " .. err) or "")))
  end
  local bot = type(doc.brandId) == "string" and type(doc.chatbotId) == "string" and find(state, doc.brandId, doc.chatbotId)
  if not bot then return reply(400, json.obj("error", "brandId and chatbotId must name a sender number the sandbox knows")) end
  if not M.STATUSES[doc.status] then return reply(400, json.obj("error", "status must be a Chatbot.approvalResult value")) end
  if doc.reason ~= nil and type(doc.reason) ~= "string" then return reply(400, json.obj("error", "reason must be a string")) end
  M.set_status(state, bot, doc.status, doc.reason)
  return reply(200, bot)
end

-- GET /_sandbox/brands/{id}/chatbots: status, headers, body; nil for another path.
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
