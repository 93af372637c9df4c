-- Webhook notifications, sent as RCS Biz Center sends them to an agency's receiving server
-- (POST /{webhookUrl} with a NotiBrand / NotiChatbot body, rcs-openapi-1.1.12.yaml ~line 5373).
--
-- A state change calls ONE function: notify.brand(state, rec, method, reason) or
-- notify.chatbot(state, bot, method, reason) (method nil: nothing to announce; a method the
-- schema does not list raises). Each returns at once: the POSTs run in their own cqueues
-- coroutine, so an API or control answer never waits for the receiver. Attaching a change:
--   a status move:              notify.brand(state, rec, notify.BRAND_METHOD[status], reason)
--                               (rcs_brands.set_status does it; chatbots: rcs_chatbots.set_status)
--   a brand edit applied at once (it stays 승인):  notify.brand(state, rec, "modified")
--   a brand edit sent back to review: the status move to 승인대기 (nothing is announced)
--   a brand deleted: nothing ([G] NotiBrand.method has no `deleted`; the spec announces
--     "브랜드 수정/반려" only)
--   a chatbot edited / deleted: notify.chatbot(state, bot, "modified" / "deleted")
-- Tests steer and read it through
--   POST   /_sandbox/webhook { url, repeat = 1, timeout_ms, backoff_ms }  (url null: off)
--   GET    /_sandbox/webhook  -> the settings, `pending`, `notifications` and `deliveries`
--   DELETE /_sandbox/webhook  -> off, log cleared (POST /_sandbox/reset does the same)
--
-- The sandbox plays the sender here, and a sender of notifications must repeat them until
-- the receiver says 200 (that is why receivers de-duplicate): a failed attempt (no
-- connection, a timeout, any status outside 2xx) is retried, at most ATTEMPTS times in all.
local cqueues = require "cqueues"
local http_request = require "http.request"
local json = require "bizreg_sandbox.json"

local notify = {}

-- The delivery policy, in one place (docs/sandbox.md quotes it):
notify.ATTEMPTS = 4        -- attempts per copy of a notification: the first and 3 retries
notify.TIMEOUT_MS = 2000   -- one attempt, connect to the end of the answer (default)
notify.BACKOFF_MS = 200    -- wait before retry k: BACKOFF_MS * 2^(k-1) = 200, 400, 800 ms (default)
notify.MAX_REPEAT = 3      -- `repeat`: copies of each notification (2 proves de-duplication)
local MAX_LOG = 500        -- notifications kept in the log, and attempts (the oldest are dropped)
local unpack_ = unpack or table.unpack -- luacheck: ignore

-- Status -> NotiBrand.method. The spec announces "브랜드 수정/반려" and its NotiBrand.method
-- enum holds only rejected and modified: [G] a verdict of approval is announced as
-- `modified` (the brand's record changed to 승인), a rejection as `rejected` with the reason;
-- the review's steps in between (승인대기, 검수시작, 검수완료, …) are not announced.
notify.BRAND_METHOD = { ["승인"] = "modified", ["반려"] = "rejected", ["반려(수정)"] = "rejected" }

-- approvalResult -> NotiChatbot.method: the spec's `created` is "승인 또는 신규등록"
-- (approval or a new registration); [G] a changed name that passed review (검수완료(수정)
-- and then 승인 again) is an approval too.
notify.CHATBOT_METHOD = { ["승인"] = "created", ["반려"] = "rejected" }

-- The methods each schema allows (NotiBrand.method, NotiChatbot.method enums).
notify.METHODS = {
  brand = { rejected = true, modified = true },
  chatbot = { rejected = true, created = true, modified = true, deleted = true },
}

-- [G] The spec gives no text for a rejection without a reason; the control call may omit one.
local DEFAULT_REASON = "sandbox: rejected"

function notify.reset(state)
  -- a delivery still running from before belongs to an older generation and stops
  state.webhook_gen = (state.webhook_gen or 0) + 1
  state.webhook = nil          -- { url, copies, timeout_ms, backoff_ms } while on
  state.webhook_seq = 0        -- notifications made so far
  state.webhook_log = {}       -- notifications: { n, copy, body, outcome, attempts }
  state.webhook_attempts = {}  -- every attempt: { n, copy, attempt, status | error }
end

---------------------------------------------------------------- one POST

-- POSTs body to url within timeout seconds: the answer's status, or nil and why.
local function post(url, body, timeout)
  local deadline = cqueues.monotime() + timeout
  local req = http_request.new_from_uri(url)
  req.follow_redirects = false
  req.headers:upsert(":method", "POST")
  req.headers:upsert("content-type", "application/json;charset=UTF-8")
  req:set_body(body)
  local headers, stream, errno = req:go(timeout)
  if not headers then return nil, tostring(stream) .. (errno and (" (errno " .. errno .. ")") or "") end
  local status = tonumber(headers:get(":status"))
  -- the answer's body is read (bounded by the same deadline) so the exchange ends cleanly
  local rest = math.max(deadline - cqueues.monotime(), 0)
  local _, read_err = stream:get_body_as_string(rest)
  local conn = stream.connection
  stream:shutdown()
  -- one connection per attempt; a receiver that answered "close" has closed it already (then
  -- close raises "bad self": caught). Only this pcall: under Lua 5.1 (the sandbox's interpreter
  -- where LuaJIT is absent, e.g. the Debian roots) a coroutine cannot yield across pcall, and
  -- the exchange above yields; a close that would yield just fails here, harmlessly
  if conn then pcall(conn.close, conn) end
  if read_err then return nil, "answer " .. tostring(status) .. " unfinished: " .. tostring(read_err) end
  return status
end

-- Delivers one copy of a notification: up to ATTEMPTS attempts, back-off between them.
local function deliver(state, gen, cfg, entry)
  for attempt = 1, notify.ATTEMPTS do
    if state.webhook_gen ~= gen then return end -- reset meanwhile: the test that wanted it is gone
    -- post answers nil, why for every failure it can meet (lua-http returns them); it runs
    -- unprotected because Lua 5.1 cannot yield across pcall (see post's close)
    local status, why = post(cfg.url, entry.body, cfg.timeout_ms / 1000)
    if state.webhook_gen ~= gen then return end
    entry.attempts = attempt
    local a = json.obj("n", entry.n, "copy", entry.copy, "attempt", attempt)
    json.add_present(a, "status", status)
    json.add_present(a, "error", status == nil and why or nil)
    local tries = state.webhook_attempts
    tries[#tries + 1] = a
    if #tries > MAX_LOG then table.remove(tries, 1) end
    if status and status >= 200 and status < 300 then
      entry.outcome = "delivered"
      return
    end
    if attempt < notify.ATTEMPTS then cqueues.sleep(cfg.backoff_ms / 1000 * 2 ^ (attempt - 1)) end
  end
  entry.outcome = "failed"
end

-- Queues body (a Noti* object) for delivery, `repeat` times; returns at once.
local function send(state, body)
  local cfg = state.webhook
  if not cfg then return end -- no URL: nothing is delivered (nor logged)
  local cq = assert(cqueues.running(), "notify: not inside the server's cqueues loop")
  local text = json.encode(body)
  state.webhook_seq = state.webhook_seq + 1
  for copy = 1, cfg.copies do
    local entry = { n = state.webhook_seq, copy = copy, body = text, outcome = "pending", attempts = 0 }
    local log = state.webhook_log
    log[#log + 1] = entry
    if #log > MAX_LOG then table.remove(log, 1) end
    local gen = state.webhook_gen
    cq:wrap(function() deliver(state, gen, cfg, entry) end)
  end
end

---------------------------------------------------------------- the entry points

local function check_method(kind, method)
  if not notify.METHODS[kind][method] then
    error("notify." .. kind .. ": method " .. tostring(method) .. " is not in the spec's enum", 3)
  end
end

-- A brand changed: NotiBrand { notiType = "brand", brandId, method, reason } (the schema's
-- order; `reason` null unless rejected, as the spec's example writes it). method nil: nothing.

function notify.brand(state, rec, method, reason)
  if not method then return end
  check_method("brand", method)
  send(state, json.obj("notiType", "brand", "brandId", rec.brandId, "method", method,
    "reason", method == "rejected" and (reason or DEFAULT_REASON) or json.null))
end

-- A chatbot (sender number) changed: NotiChatbot { notiType = "chatbot", brandId, chatbotId,
-- method, reason }. method nil: nothing.
function notify.chatbot(state, bot, method, reason)
  if not method then return end
  check_method("chatbot", method)
  send(state, json.obj("notiType", "chatbot", "brandId", bot.brandId, "chatbotId", bot.chatbotId,
    "method", method, "reason", method == "rejected" and (reason or DEFAULT_REASON) or json.null))
end

---------------------------------------------------------------- control

local function reply(status, value) return status, { ["content-type"] = "application/json" }, json.encode(value) end
local function refuse(why) return reply(400, json.obj("error", why)) end

local function describe(state)
  local cfg = state.webhook
  local notes, pending = json.array(), 0
  for i, e in ipairs(state.webhook_log) do
    notes[i] = json.obj("n", e.n, "copy", e.copy, "body", e.body, "outcome", e.outcome, "attempts", e.attempts)
    if e.outcome == "pending" then pending = pending + 1 end
  end
  return json.obj("url", cfg and cfg.url or json.null, "repeat", cfg and cfg.copies or json.null,
    "timeout_ms", cfg and cfg.timeout_ms or notify.TIMEOUT_MS, "backoff_ms", cfg and cfg.backoff_ms or notify.BACKOFF_MS,
    "max_attempts", notify.ATTEMPTS, "pending", pending, "notifications", notes,
    "deliveries", json.array({ unpack_(state.webhook_attempts) }))
end

local function int_in(v, min, max) return type(v) == "number" and v == math.floor(v) and v >= min and v <= max end

-- Only the loopback: the sandbox is a local emulator and never talks to another host.
local function loopback_url(v)
  if type(v) ~= "string" then return false end
  local host = v:match("^http://([^/:]+)") or v:match("^http://(%[::1%])")
  return host == "127.0.0.1" or host == "localhost" or host == "[::1]"
end

local function configure(state, doc)
  for _, k in ipairs(json.keys(doc)) do
    if k ~= "url" and k ~= "repeat" and k ~= "timeout_ms" and k ~= "backoff_ms" then
      return refuse("unknown key " .. k)
    end
  end
  if doc.url == nil or doc.url == json.null then
    state.webhook = nil
    return reply(200, describe(state))
  end
  if not loopback_url(doc.url) then return refuse("url must be http://127.0.0.1, localhost or [::1] (any port, path)") end
  local copies = doc["repeat"] == nil and 1 or doc["repeat"]
  if not int_in(copies, 1, notify.MAX_REPEAT) then return refuse("repeat must be an integer 1.." .. notify.MAX_REPEAT) end
  local timeout = doc.timeout_ms == nil and notify.TIMEOUT_MS or doc.timeout_ms
  if not int_in(timeout, 1, 60000) then return refuse("timeout_ms must be an integer 1..60000") end
  local backoff = doc.backoff_ms == nil and notify.BACKOFF_MS or doc.backoff_ms
  if not int_in(backoff, 0, 60000) then return refuse("backoff_ms must be an integer 0..60000") end
  state.webhook = { url = doc.url, copies = copies, timeout_ms = timeout, backoff_ms = backoff }
  return reply(200, describe(state))
end

-- Answers /_sandbox/webhook; nil for any other path.
function notify.control(state, method, path, body)
  if path ~= "/_sandbox/webhook" then return nil end
  if method == "GET" then return reply(200, describe(state)) end
  if method == "DELETE" then
    notify.reset(state)
    return reply(200, describe(state))
  end
  if method ~= "POST" then return refuse("GET, POST or DELETE") end
  local doc, err = json.decode(body)
  if json.type(doc) ~= "object" then return refuse("body must be a JSON object" .. (err and (": " .. err) or "")) end
  return configure(state, doc)
end

return notify
