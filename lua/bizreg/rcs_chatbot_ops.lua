-- RCS Biz Center: a brand's sender numbers (chatbots) after registration: list_chatbots and
-- each_chatbot (GET /brand/{brandId}/chatbot, paged: rcs_walk.lua's pages and bounded walks),
-- get_chatbot, update_chatbot (PUT multipart on register_chatbots' chatbot rows: the edit form
-- of src/api_rcs.c), delete_chatbot and cancel_chatbot (PUT .../cancel). Ops merged by rcs.lua;
-- every request names its route (the yaml's method and path template) and carries
-- X-RCS-Brandkey as register_chatbots does (the spec defines it on these /brand/{brandId}/... calls).
-- Shapes: Chatbot, ChatbotDetail (rcs-openapi-1.1.12.yaml).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local fields = require "bizreg.fields"
local C = require "bizreg.rcs_common"
local W = require "bizreg.rcs_walk"

local M = {}

--- RCS sender numbers
-- @module bizreg

--- The exact request `update_chatbot` would send, without sending it: as `prepare_brand`,
-- for the chatbot edit form (one `chatbot` part, an optional `subNumCertificate`).
-- @string brandId the brand (else `nil, err` with code 64316)
-- @string chatbotId the chatbot (1–15 letters, digits, `.`, `-`, `_`, not `.` or `..`; else `nil, err`
--   with code 64105)
-- @tparam table payload `{ chatbot = { mdn =, subTitle =, … }, subNumCertificate = … }`
-- @tparam[opt] table opts as for `prepare_brand`
-- @treturn table `{ method = "PUT", path = "/brand/{brandId}/chatbot/{chatbotId}", headers = …, body = … }`
-- @return or nil and a validation error listing every violation (with RCS codes)
-- @raise when an id is not a string, payload is not a table, or the boundary is invalid
-- @usage local req = assert(bizreg.prepare_update_chatbot("BR.abc123", "0212345678",
--   { chatbot = { mdn = "0212345678", subTitle = "새 이름" } }, { boundary = "test-0001" }))
-- @function prepare_update_chatbot

--- One-shot forms of the sender-number calls: an RCS client, one call, `close()`; the arguments
-- after `opts` and the answer are the method's (`rcs:list_chatbots`, `rcs:get_chatbot`,
-- `rcs:update_chatbot`, `rcs:delete_chatbot`, `rcs:cancel_chatbot`).
-- @function list_chatbots
-- @tparam table opts as for `rcs`
-- @param ... the method's arguments
-- @return as the method
-- @usage local res, err = bizreg.delete_chatbot({ base_url = url, token = t }, "BR.abc123", "0212345678")

--- RCS client methods (see `rcs_client`).
-- @type rcs_client

local raise = C.raise

-- ---- response rows: field -> Lua type (Chatbot; ChatbotDetail adds the rest) ------------

local CHATBOT_FIELDS = {
  groupId = "string", chatbotId = "string", brandId = "string", subNum = "string", isMainNum = "boolean",
  subTitle = "string", service = "string", display = "string", inputField = "number", subDescr = "string",
  botAgencyId = "string", saftyStatusYn = "string", psMenuUse = "boolean", approvalResult = "string",
  registerDate = "string", approvalDate = "string", updateDate = "string", registerId = "string", updateId = "string",
}
local DETAIL_FIELDS = {
  mediaUrl = "table", rcsReply = "string", approvalReason = "string", status = "string", searchWeight = "string",
  webhook = "string", botTcPage = "string", persistentMenu = "table",
}
for k, v in pairs(CHATBOT_FIELDS) do DETAIL_FIELDS[k] = v end

local function chatbots_path(brand_id) return "/brand/" .. brand_id .. "/chatbot" end
local function chatbot_path(brand_id, chatbot_id) return chatbots_path(brand_id) .. "/" .. chatbot_id end

-- The chatbot list as rcs_walk.lua reads it: a page, a walk (its cap: max_chatbots, whose
-- default is WALK_DEFAULTS.max_brands' number), the brand's key header.
M.LIST = {
  what = "chatbot", items = "chatbots", id = "chatbotId", rows = CHATBOT_FIELDS, max_key = "max_chatbots",
  path = function(_, brand_id) return chatbots_path(brand_id) end, route = "GET /brand/{brandId}/chatbot",
}
local EACH_KEYS = W.walk_keys(M.LIST)

-- ---- argument checks -----------------------------------------------------------------

local KEY_OPTS = { brand_key = true }  -- X-RCS-Brandkey (agency accounts), as register_chatbots
local EDIT_OPTS = { brand_key = true, unknown_fields = true }

local function check_brand(brand_id)
  if type(brand_id) ~= "string" then raise("brandId must be a string") end
end

local function check_ids(brand_id, chatbot_id, o, allowed)
  check_brand(brand_id)
  if type(chatbot_id) ~= "string" then raise("chatbotId must be a string") end
  C.check_call_opts(o, allowed or KEY_OPTS)
end

-- The ids' rules (rcs_common.lua's rows), strict before anything is sent: nil or a validation error.
local function ids_error(brand_id, chatbot_id)  -- (chatbot_id nil: the list's brand only)
  return C.brand_id_error(brand_id) or (chatbot_id and C.chatbot_id_error(chatbot_id))
end

-- The headers of every call here: X-RCS-Brandkey, the call's brand_key or the client's.
M.LIST.headers = function(self) return C.brand_headers(self, nil) end

-- ---- answers ---------------------------------------------------------------------------

-- The one chatbot of GET (or of PUT's answer): an answer about another one is not taken for it.
local function map_detail(res, chatbot_id, c)
  local result, out, err = C.result_list(res, c)
  if not result then return nil, err end
  local odd, why = {}
  out.chatbot, why = fields.pick(result[1], DETAIL_FIELDS, "chatbotId", "result[1]", odd)
  if not out.chatbot then return nil, errors.decode(res.status, "result[1]: " .. why, res.body) end
  if out.chatbot.chatbotId ~= chatbot_id then
    return nil, errors.decode(res.status, "answer is about chatbot " .. out.chatbot.chatbotId .. ", not " .. chatbot_id,
      res.body)
  end
  C.envelope_reader.report(c, odd)
  return out
end

-- What the caller of a write can do when the answer does not say what became of it.
local UNKNOWN = {
  update = "the chatbot may have been changed: read it with get_chatbot before sending the edit again",
  delete = "the chatbot may have been deleted: look for it with get_chatbot or list_chatbots before deleting again",
  cancel = "the review request may have been cancelled: read the chatbot with get_chatbot before cancelling again",
}

-- A write's answer: the envelope whose result[1].chatbotId is the chatbot asked for, else the
-- outcome is unknown (decode: sent = true, never retried). Its fields are kept as they came
-- (delete: `releatedChatbots`, the spec's spelling).
local function map_write(what, chatbot_id)
  return function(res, c)
    local out, first = C.write_answer(res, c, "chatbot", chatbot_id, UNKNOWN[what])
    if not out then return nil, first end
    out.chatbotId = chatbot_id
    if what == "update" then
      local odd = {}
      out.chatbot = fields.pick(first, DETAIL_FIELDS, nil, "result[1]", odd)
      C.envelope_reader.report(c, odd)
    end
    return out
  end
end

-- ---- ops -------------------------------------------------------------------------------

local ops = {}

--- RCS (`bizreg.rcs`): one page of a brand's sender numbers (`GET /brand/{brandId}/chatbot`),
-- with `X-RCS-Brandkey` as `register_chatbots`.
-- @function rcs:list_chatbots
-- @string brandId the brand (as `get_brand`: else a validation error 64316, nothing sent)
-- @tparam[opt] table query `{ offset = 0, limit = 100 }` as `list_brands` (offset ≥ 0, limit 100–1000:
--   else a validation error 64202, nothing sent), and `brand_key`
-- @treturn table `{ code, status, chatbots = { Chatbot, … }, pagination = { total, offset, limit }, links }`:
--   each `Chatbot` with the spec's fields the answer has (`chatbotId`, `brandId`, `subNum`, `subTitle`,
--   `service`, `display`, `inputField`, `approvalResult` — 승인대기, 검수시작, 승인, 반려, 검수완료,
--   검수완료(수정), 저장 —, `registerDate`, …); 204 or 60004 "No Content": `chatbots = {}`
-- @return or nil and an error (400 64316 unknown brand, 403 63001 another account's brand)
-- @raise on a wrong argument type, query field or call option, on a closed client
-- @usage local page = assert(rcs:list_chatbots("BR.0a81DDlZjz", { limit = 1000 }))
-- for _, c in ipairs(page.chatbots) do print(c.chatbotId, c.approvalResult) end
local LIST_KEYS = { brand_key = true }
ops.list_chatbots = {
  check = function(brand_id, q)
    check_brand(brand_id)
    W.check_query(q, LIST_KEYS)
    if q then C.check_brand_key(q.brand_key, "query field") end
  end,
  run = function(self, ctx, brand_id, q)
    local bad = ids_error(brand_id)
    if bad then return nil, bad end
    local offset, limit = W.query_values(q)
    if not offset then return nil, limit end
    local res, err = self:call(ctx, { method = "GET", route = M.LIST.route, headers = C.brand_headers(self, q),
      path = string.format("%s?offset=%d&limit=%d", chatbots_path(brand_id), offset, limit) })
    if not res then return nil, err end
    return W.map_page(res, offset, limit, self, M.LIST)
  end,
}

--- RCS (`bizreg.rcs`): every sender number of a brand, page after page, for a generic `for`
-- (as `each_brand`: each chatbotId once; an error yielded once as `false, err`, then the loop
-- ends; bounded by `max_pages`, `max_chatbots` and `timeout`, whose defaults are `WALK_DEFAULTS`'
-- `max_pages`, `max_brands` and `timeout`; a page listing only chatbots already seen while more
-- are said to follow is a `decode` error). `X-RCS-Brandkey` is the client's `brand_key`.
-- @function rcs:each_chatbot
-- @string brandId the brand (checked as `list_chatbots`: a bad one is yielded as the error)
-- @tparam[opt] table query `{ offset = 0, limit = 100, max_pages =, max_chatbots =, timeout = }`
-- @treturn function an iterator yielding `chatbot`, or `false, err` once
-- @raise on a wrong argument or query type, on a closed client
-- @usage for bot, err in rcs:each_chatbot("BR.0a81DDlZjz") do
--   if not bot then print(err) break end
--   print(bot.chatbotId, bot.approvalResult)
-- end
function M.each_chatbot(self, brand_id, q)
  self:check_open()
  check_brand(brand_id)
  W.check_query(q, EACH_KEYS)
  W.check_walk(q, M.LIST)
  local bad = ids_error(brand_id)
  if bad then
    local done = false
    return function()
      if done then return nil end
      done = true
      return false, bad
    end
  end
  return W.iterate(self, q, M.LIST, brand_id)
end

--- RCS (`bizreg.rcs`): one sender number's details (`GET /brand/{brandId}/chatbot/{chatbotId}`).
-- @function rcs:get_chatbot
-- @string brandId the brand (≤ 13 characters: else 64316, nothing sent)
-- @string chatbotId the chatbot (1–15 letters, digits, `.`, `-`, `_`, not `.` or `..`: else a
--   validation error 64105, nothing sent)
-- @tparam[opt] table opts `{ brand_key = }`
-- @treturn table `{ code, status, chatbot = ChatbotDetail }` (`chatbotId`, `subTitle`,
--   `approvalResult`, `approvalReason`, `rcsReply`, … as the answer has them)
-- @return or nil and an error (a `decode` error when the answer is about another chatbot)
-- @raise on a wrong argument type or call option, on a closed client
-- @usage local res = assert(rcs:get_chatbot("BR.0a81DDlZjz", "0212345678"))
-- print(res.chatbot.approvalResult)
ops.get_chatbot = {
  check = check_ids,
  run = function(self, ctx, brand_id, chatbot_id, o)
    local bad = ids_error(brand_id, chatbot_id)
    if bad then return nil, bad end
    local res, err = self:call(ctx, { method = "GET", route = "GET /brand/{brandId}/chatbot/{chatbotId}",
      path = chatbot_path(brand_id, chatbot_id), headers = C.brand_headers(self, o) })
    if not res then return nil, err end
    return map_detail(res, chatbot_id, self)
  end,
}

--- RCS (`bizreg.rcs`): edits a sender number (`PUT /brand/{brandId}/chatbot/{chatbotId}`,
-- multipart: the `chatbot` part, one RegChatbotInfo validated by `register_chatbots`' rows, and an
-- optional `subNumCertificate`). The spec allows it in 저장, 반려 and 승인; a new `subTitle`
-- goes back to review. At most once, like every write.
-- @function rcs:update_chatbot
-- @string brandId the brand (else 64316, nothing sent)
-- @string chatbotId the chatbot (else 64105, nothing sent)
-- @tparam table payload `{ chatbot = { mdn =, subTitle =, rcsReply =, display =, … }, subNumCertificate = file }`
-- @tparam[opt] table opts `{ brand_key =, unknown_fields = }`
-- @treturn table `{ code, status, chatbotId, chatbot = ChatbotDetail, result }`
-- @return or nil and an error: a validation error (nothing sent); 400 64321 "Invalid approval
--   status" / 64328 "Not allowed modification" (a status the edit is not allowed in); a `decode`
--   error with `sent = true` when the answer does not name the chatbot (read it before sending again)
-- @raise on a wrong argument type or call option, on a closed client
-- @usage assert(rcs:update_chatbot(brand_id, "0212345678",
--   { chatbot = { mdn = "0212345678", subTitle = "새 이름", rcsReply = "1" } }))
ops.update_chatbot = {
  check = function(brand_id, chatbot_id, payload, o)
    check_ids(brand_id, chatbot_id, o, EDIT_OPTS)
    C.check_payload(payload)
  end,
  run = function(self, ctx, brand_id, chatbot_id, payload, o)
    local bad = ids_error(brand_id, chatbot_id)
    if bad then return nil, bad end
    return C.form_request(self, ctx, "PUT", chatbot_path(brand_id, chatbot_id), payload,
      { encoder = core.encode_chatbot_edit, mapper = map_write("update", chatbot_id), call_opts = o,
        headers = C.brand_headers(self, o), route = "PUT /brand/{brandId}/chatbot/{chatbotId}" })
  end,
}

-- delete_chatbot and cancel_chatbot: no body, the answer names the chatbot.
local function bodyless(what, method, suffix, route)
  return {
    check = check_ids,
    run = function(self, ctx, brand_id, chatbot_id, o)
      local bad = ids_error(brand_id, chatbot_id)
      if bad then return nil, bad end
      local res, err = self:call(ctx, { method = method, route = route,
        path = chatbot_path(brand_id, chatbot_id) .. suffix, headers = C.brand_headers(self, o) })
      if not res then return nil, err end
      return map_write(what, chatbot_id)(res, self)
    end,
  }
end

--- RCS (`bizreg.rcs`): deletes a sender number (`DELETE /brand/{brandId}/chatbot/{chatbotId}`;
-- the spec allows it in 저장, 반려 and 승인; two-way chatbots using it as reply number go with it).
-- @function rcs:delete_chatbot
-- @string brandId the brand (else 64316, nothing sent)
-- @string chatbotId the chatbot (else 64105, nothing sent)
-- @tparam[opt] table opts `{ brand_key = }`
-- @treturn table `{ code, status, chatbotId, result }` (`result[1].releatedChatbots`, the spec's
--   spelling: the two-way chatbots deleted with it)
-- @return or nil and an error: 400 64327 "Not allowed delete" (a status that allows no delete),
--   64356 (a two-way chatbot's number), a `decode` error with `sent = true` (outcome unknown)
-- @raise on a wrong argument type or call option, on a closed client
-- @usage assert(rcs:delete_chatbot("BR.0a81DDlZjz", "0212345678"))
ops.delete_chatbot = bodyless("delete", "DELETE", "", "DELETE /brand/{brandId}/chatbot/{chatbotId}")

--- RCS (`bizreg.rcs`): withdraws a sender number's review request
-- (`PUT /brand/{brandId}/chatbot/{chatbotId}/cancel`): 승인대기 goes back to 저장; 승인대기(수정) and
-- 반려(수정) roll back to the last approved data; any other status is an error.
-- @function rcs:cancel_chatbot
-- @string brandId the brand (else 64316, nothing sent)
-- @string chatbotId the chatbot (else 64105, nothing sent)
-- @tparam[opt] table opts `{ brand_key = }`
-- @treturn table `{ code, status, chatbotId, result }`
-- @return or nil and an error: 400 64321 "Invalid approval status" (nothing to cancel)
-- @raise on a wrong argument type or call option, on a closed client
-- @usage assert(rcs:cancel_chatbot("BR.0a81DDlZjz", "0212345678"))
ops.cancel_chatbot = bodyless("cancel", "PUT", "/cancel", "PUT /brand/{brandId}/chatbot/{chatbotId}/cancel")

M.ops = ops

-- The exact request update_chatbot sends (bizreg.prepare_update_chatbot; opts: boundary,
-- json_content_type, unknown_fields as prepare_brand's).
function M.prepare_update_chatbot(brand_id, chatbot_id, payload, opts)
  check_ids(brand_id, chatbot_id)
  C.check_payload(payload)
  local bad = ids_error(brand_id, chatbot_id)
  if bad then return nil, bad end
  return C.prepare_form(payload, opts, core.encode_chatbot_edit, "PUT", chatbot_path(brand_id, chatbot_id))
end

return M
