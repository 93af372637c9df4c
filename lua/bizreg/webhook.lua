--- Webhook notifications from RCS Biz Center.
--
-- RCS Biz Center POSTs a JSON notification to the webhook URL an agency registered
-- (rcs-openapi-1.1.12.yaml: `POST /{webhookUrl}`, schemas `Noti*`, told apart by `notiType`):
-- a brand rejected or modified, a chatbot (sender number) approved, modified, rejected or
-- deleted, a contract, a template, … This module reads them, for any host:
--
-- * `decode(body)`: the notification as an event, validated against its schema;
-- * `handle(body, opts)`: the event **and the answer to send** (200, or 400 with a
--   `WebhookErrorInfo` body), de-duplicating repeated deliveries in a store and recording the
--   latest verdict per brand and chatbot there, for `rcs:wait_for_approval{ store = … }`;
-- * `ngx_handler(opts)`: an OpenResty `content_by_lua` handler around `handle`
--   (docs/openresty.md, "Webhook").
--
-- Pure Lua and `cjson.safe`: it runs on every Lua the library supports and in OpenResty.
--
-- **No signature.** Neither the spec nor the API notes give a shared secret, a signature
-- header or the sender's addresses: the URL is the only secret. Use an unguessable path, TLS,
-- and restrict it in nginx to RCS Biz Center's addresses (docs/openresty.md).
-- @module bizreg.webhook
-- @usage local webhook = require "bizreg.webhook"
-- local event, answer, note = webhook.handle(body, { store = ngx.shared.bizreg_webhook })
-- -- reply answer.status (answer.body when not ""), then use event (nil: a repeat or a bad body)
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local store = require "bizreg.webhook_store"

local M = {}

--- The module's numbers (their one home; `bizreg.DEFAULTS.webhook` is this table).
-- @table DEFAULTS
-- @field max_bytes longest body read (64 KiB; the spec's notifications are a few hundred bytes)
-- @field max_depth deepest JSON nesting read (the spec's notifications are flat: depth 1)
-- @field seen_ttl seconds a delivery is remembered for de-duplication (1 hour)
-- @field verdict_ttl seconds the latest verdict per brand / chatbot is kept (7 days)
M.DEFAULTS = { max_bytes = 65536, max_depth = 16, seen_ttl = 3600, verdict_ttl = 7 * 86400 }

local function set(...)
  local t = {}
  for _, v in ipairs { ... } do t[v] = true end
  return t
end
local CRMD = set("rejected", "created", "modified", "deleted")

--- The schemas, one row per field (rcs-openapi-1.1.12.yaml, components `Noti*`). Every
-- field of every schema is a string in the spec; `required` names the ones it requires
-- beside `notiType`, `enum` the values `method` may take, `secret` a value never printed
-- (the CLI and the handler's log mask it). `schema` is the spec's name for the row set.
-- @table SCHEMAS
M.SCHEMAS = {
  contract = { schema = "NotiContract", { "corpId" }, { "corpRegNum" }, { "brandId" },
    { "method", enum = CRMD }, { "reason" } },
  chatbot = { schema = "NotiChatbot", { "brandId" }, { "chatbotId" }, { "method", enum = CRMD }, { "reason" } },
  messagebaseform = { schema = "NotiMessagebaseForm", { "messagebaseformId" }, { "method", enum = CRMD },
    { "reason" } },
  template = { schema = "NotiTemplate", { "brandId" }, { "messagebaseformId" }, { "messagebaseId" },
    { "method", enum = CRMD }, { "reason" } },
  format = { schema = "NotiFormat", { "messagebaseformId" }, { "messagebaseId" }, { "method", enum = CRMD },
    { "reason" } },
  brand = { schema = "NotiBrand", { "brandId" }, { "method", enum = set("rejected", "modified") }, { "reason" } },
  autoreplymsg = { schema = "NotiAutoReplyMsg", { "brandId" }, { "autoReplyMsgId" },
    { "method", enum = set("created", "modified", "deleted") }, { "reason" } },
  agencykey = { schema = "NotiAgencyKey", { "agencyKey", required = true, secret = true },
    { "method", enum = set("created") }, { "date" }, { "userName" } },
  formatbr = { schema = "NotiFormatBr", { "brandId" }, { "messagebaseId" }, { "method", enum = CRMD }, { "reason" } },
  logo = { schema = "NotiLogo", { "brandId" }, { "fileId" }, { "method", enum = CRMD }, { "reason" } },
}

-- The answers. The spec names one 400: a `contract` notification for a corporation whose
-- subscription the agency has not processed yet (WebhookErrorInfo, 69999 "No Subscription").
-- A body we cannot read also gets a 400 (with the RCS API's own codes for a bad body, 64302
-- and 64303 [G]): the same bytes will never read better, and a 4xx tells a sender that
-- repeats on failure that repeating cannot help, where a 5xx invites it to repeat them for
-- ever, and a 200 would say we took a notification we did not.
local function error_answer(code, message)
  return { status = 400, headers = { ["Content-Type"] = "application/json" },
    body = cjson.encode { status = "400", error = { code = code, message = message } } }
end
M.NO_SUBSCRIPTION = { code = "69999", message = "No Subscription" }
local BAD_JSON = { code = "64302", message = "Invalid JSON format" }
local BAD_FIELD = { code = "64303", message = "Invalid type of Attribute" }
local TOO_LARGE = { code = "64304", message = "Over specified size" }

-- A fresh table each time: callers may add headers to theirs.
local function ok_answer() return { status = 200, headers = {}, body = "" } end

local function raise(msg) errors.raise("bizreg.webhook: " .. msg) end

-- ---- decode ------------------------------------------------------------------

-- Its own cjson instance: the depth limit is not set on the caller's.
local safe_decode
do
  local s = cjson.new()
  s.decode_max_depth(M.DEFAULTS.max_depth)
  safe_decode = s.decode
end

-- A finite number as the decimal string the spec's string field means (codes, registration
-- numbers sent as JSON numbers: 1148196221, which cjson may read as 1148196221.0).
local function number_text(v)
  if v ~= v or v == math.huge or v == -math.huge then return nil end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%.0f", v) end
  return string.format("%.17g", v)
end

-- A field's value as the event keeps it: a string, nil (absent or null), or false and why.
local function read_string(v)
  if v == nil or v == cjson.null then return nil end
  if type(v) == "string" then return v end
  if type(v) == "number" then
    local s = number_text(v)
    if s then return s end
    return false, "NotFinite"
  end
  return false, "NotAString"
end

-- error -> the 400 body's code and message (handle's answer), without a field in the error
local ANSWER_OF = setmetatable({}, { __mode = "k" })
local function invalid(message, props, answer)
  local err = errors.validation { code = "INVALID_NOTIFICATION", message = message, errorProperties = props or {},
    sent = false }
  ANSWER_OF[err] = answer
  return nil, err
end

local callable = store.callable

-- The keys decode adds to an event (delivery_key leaves them out).
local OWN_KEYS = { known = true, schema = true, odd = true }

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then raise("options must be a table") end
  return opts
end

--- Reads a notification body.
-- Exact but tolerant: JSON `null` is an absent field; a field sent as a number (a code, a
-- registration number) is kept as its decimal string; fields the schema does not name are
-- kept as they came; a `method` outside the schema's `enum` is kept and its name listed in
-- `event.odd` (a new value is news, not an error: nothing is guessed from it). An unknown
-- `notiType` is kept whole with `known = false`.
-- @string body the request body
-- @tparam[opt] table opts `max_bytes` (default `DEFAULTS.max_bytes`)
-- @treturn table the event: the notification's fields under the spec's names (`notiType`,
--   `brandId`, `chatbotId`, `method`, `reason`, …), `known` (its `notiType` has a schema
--   here), `schema` (e.g. `"NotiBrand"`), `odd` (a list of field names, only when some
--   value is outside its row, or the body has a field named `known`, `schema` or `odd`:
--   the event's own keys, so such a field is not kept)
-- @return or nil and an error (`kind = "validation"`, `code = "INVALID_NOTIFICATION"`,
--   `errorProperties` `{ key, reason }`: `Required`, `NotAString`, `NotFinite`) for a body that
--   is not JSON, too large or too deep, not an object, without a string `notiType`, without
--   a required field or with a field that is not a string
-- @raise when body is not a string
function M.decode(body, opts)
  if type(body) ~= "string" then raise("body must be a string") end
  opts = check_opts(opts)
  local max = opts.max_bytes or M.DEFAULTS.max_bytes
  if #body > max then
    return invalid(string.format("body of %d bytes, more than %d", #body, max),
      { { key = "(body)", reason = "TooLong" } }, TOO_LARGE)
  end
  local obj = safe_decode(body)
  if type(obj) ~= "table" or (next(obj) == nil and body:match("^%s*%[")) or obj[1] ~= nil then
    return invalid("not a JSON object", { { key = "(body)", reason = "NotAnObject" } }, BAD_JSON)
  end
  local ev, props, own = {}, {}, {}
  for k, v in pairs(obj) do
    -- known, schema, odd are the event's own keys: a body field of that name is not kept
    -- (it would pass for this module's judgement, or break the odd list), only named in odd
    if OWN_KEYS[k] then own[#own + 1] = k
    elseif v ~= cjson.null then ev[k] = v end
  end
  if #own > 0 then
    table.sort(own)
    ev.odd = own
  end
  local noti_type, why = read_string(obj.notiType)
  if not noti_type then
    props[1] = { key = "notiType", reason = why or "Required" }
    return invalid("no notiType", props, BAD_FIELD)
  end
  ev.notiType = noti_type
  local rows = M.SCHEMAS[noti_type]
  ev.known = rows ~= nil
  if not rows then return ev end
  ev.schema = rows.schema
  for _, row in ipairs(rows) do
    local name = row[1]
    local v, bad = read_string(obj[name])
    if v == false then props[#props + 1] = { key = name, reason = bad }
    elseif v == nil and row.required then props[#props + 1] = { key = name, reason = "Required" }
    else
      ev[name] = v
      if v ~= nil and row.enum and not row.enum[v] then
        ev.odd = ev.odd or {}
        ev.odd[#ev.odd + 1] = name
      end
    end
  end
  if #props > 0 then return invalid(rows.schema .. " does not match its schema", props, BAD_FIELD) end
  return ev
end

-- ---- store (webhook_store.lua) ----------------------------------------------

--- Raises unless store has the methods of an `ngx.shared.DICT` that this module uses:
-- `get(key)`, `set(key, value, exptime)` and `add(key, value, exptime)` (→ `true`, or
-- `false, "exists"`): the `token_store` contract without `delete`.
-- @function check_store
-- @param store the store
-- @string name the option's name, for the message
M.check_store = store.check

--- The store key a delivery is remembered under: `bizreg:noti:<hash>` of every field of the
-- notification (the event without `known`, `schema`, `odd`), keys sorted. The spec gives a
-- notification no ID, so a repeat is a body with the same fields: two distinct notifications
-- with identical fields within `seen_ttl` count as one. That loses nothing: a notification
-- carries a state (this brand: rejected, with this reason), not a delta, and the same state
-- twice says nothing new.
-- @function delivery_key
-- @tparam table event a decoded event
-- @treturn string
M.delivery_key = store.delivery_key

--- The latest notification recorded for a brand or chatbot (under `bizreg:brand:<brandId>`,
-- `bizreg:chatbot:<chatbotId>`), or nil.
-- @function verdict
-- @param store the store `handle` writes to
-- @string kind `"brand"` or `"chatbot"`
-- @string id the brandId or chatbotId
-- @treturn table `{ notiType, method, reason, at }` (`at`: epoch seconds it was received)
-- @return or nil (none), or nil and a message (the store raised)
M.verdict = store.verdict
M.RECORDED = store.RECORDED

-- ---- handle ------------------------------------------------------------------

local HANDLE_OPTS = { store = true, max_bytes = true, seen_ttl = true, verdict_ttl = true, accept_contract = true,
  on_event = true }

local function check_handle_opts(opts)
  opts = check_opts(opts)
  for k in pairs(opts) do
    if not HANDLE_OPTS[k] then raise("unknown option '" .. tostring(k) .. "'") end
  end
  if opts.store ~= nil then store.check(opts.store, "store") end
  for _, k in ipairs { "max_bytes", "seen_ttl", "verdict_ttl" } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or not (v >= 1 and v < math.huge)) then
      raise("option '" .. k .. "' must be a number >= 1")
    end
  end
  for _, k in ipairs { "accept_contract", "on_event" } do
    if opts[k] ~= nil and not callable(opts[k]) then raise("option '" .. k .. "' must be a function") end
  end
  return opts
end

--- Reads a notification and says what to answer, for any host (an HTTP server of your own,
-- `bizreg webhook listen`, `ngx_handler`).
--
-- * A notification that decodes: `event, { status = 200 }`.
-- * A body that does not (see `decode`): `nil, { status = 400, body = WebhookErrorInfo }`
--   (`error.code` 64302 for a body that is not a JSON object, 64303 for a field that does
--   not match, 64304 too large), `"invalid"`, and the decode error.
-- * A `contract` notification that `opts.accept_contract(event)` does not accept (returns
--   false or raises): the spec's 400 `{"status":"400","error":{"code":"69999","message":"No Subscription"}}`,
--   `"no_subscription"`; it is not remembered, so the redelivery after the subscription
--   is processed is taken.
-- * With `opts.store`, a delivery seen within `seen_ttl`: `nil, { status = 200 }, "duplicate"`
--   (the sender needs its 200 again; the user has the event already). The first delivery of
--   a `brand` or `chatbot` notification also records `{ notiType, method, reason, at }` under
--   `bizreg:brand:<brandId>` / `bizreg:chatbot:<chatbotId>` for `verdict_ttl`
--   (`rcs:wait_for_approval{ store = … }` reads it). A store that raises or is full cannot
--   tell a repeat: the event is returned (a repeat beats a loss) with a third value saying so.
-- @string body the request body
-- @tparam[opt] table opts
-- @param opts.store an `ngx.shared.DICT` or a table with its `get`, `set`, `add`
-- @tparam[opt] function opts.accept_contract `function(event) -> boolean`: whether the
--   corporation of a `contract` notification has its subscription processed (default: all are)
-- @tparam[opt=65536] number opts.max_bytes
-- @tparam[opt=3600] number opts.seen_ttl
-- @tparam[opt=604800] number opts.verdict_ttl
-- @treturn table|nil the event (see `decode`)
-- @treturn table the answer: `{ status = 200 or 400, headers = {…}, body }` (`body`: the
--   `WebhookErrorInfo` JSON of a 400, the empty string for 200)
-- @treturn[opt] string a note: `"duplicate"`, `"invalid"`, `"no_subscription"`, or why the store failed
-- @return[opt] the decode error (`"invalid"`) or the message `accept_contract` raised
-- @raise on a wrong argument type or option
function M.handle(body, opts)
  if type(body) ~= "string" then raise("body must be a string") end
  opts = check_handle_opts(opts)
  local ev, err = M.decode(body, opts)
  if not ev then
    local a = ANSWER_OF[err]
    return nil, error_answer(a.code, a.message), "invalid", err
  end
  if ev.notiType == "contract" and opts.accept_contract then
    local ok, yes = pcall(opts.accept_contract, ev)
    if not ok or not yes then
      return nil, error_answer(M.NO_SUBSCRIPTION.code, M.NO_SUBSCRIPTION.message), "no_subscription",
        not ok and tostring(yes) or nil
    end
  end
  local note
  if opts.store then
    local first
    first, note = store.first_delivery(opts.store, ev, opts.seen_ttl or M.DEFAULTS.seen_ttl)
    if not first then return nil, ok_answer(), "duplicate" end
    note = store.record(opts.store, ev, opts.verdict_ttl or M.DEFAULTS.verdict_ttl) or note
  end
  return ev, ok_answer(), note
end

--- An event for printing or logging: a copy whose `secret` fields (`agencyKey`) are `***`.
-- @tparam table event
-- @treturn table
function M.redact(event)
  local out = {}
  for k, v in pairs(event) do out[k] = v end
  for _, row in ipairs(M.SCHEMAS[event.notiType] or {}) do
    if row.secret and out[row[1]] ~= nil then out[row[1]] = "***" end
  end
  return out
end

-- A message on one line, at most 300 bytes, with the event's secret values masked.
local function log_text(msg, event)
  local s = tostring(msg)
  for _, row in ipairs(event and M.SCHEMAS[event.notiType] or {}) do
    local v = row.secret and event[row[1]]
    if type(v) == "string" and v ~= "" then
      local parts, pos = {}, 1
      while true do
        local a, b = s:find(v, pos, true)
        if not a then break end
        parts[#parts + 1] = s:sub(pos, a - 1) .. "***"
        pos = b + 1
      end
      parts[#parts + 1] = s:sub(pos)
      s = table.concat(parts)
    end
  end
  return (s:gsub("%c+", " "):sub(1, 300))
end
M.log_text = log_text

-- ---- OpenResty ---------------------------------------------------------------

-- The body nginx kept in memory, or spooled to a file (a body larger than
-- client_body_buffer_size): read from there, at most max + 1 bytes (enough to tell it is too long).
local function read_body(ngx, max)
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local path = ngx.req.get_body_file()
  if not path then return "" end
  local f = io.open(path, "rb")
  if not f then return "" end
  body = f:read(max + 1) or ""
  f:close()
  return body
end

--- An OpenResty content handler: `content_by_lua_block { handler() }`.
-- It takes POSTs only (405 otherwise), reads the body (also when nginx spooled it to a file),
-- answers as `handle` says, and then calls `opts.on_event(event)` under `pcall`, after the
-- answer has gone (`ngx.eof`): a slow `on_event` never makes the sender time out and repeat.
-- An error in `on_event` is logged (`ngx.ERR`, one line, secret fields masked) and the
-- answer stays 200: the notification was received and remembered, and a non-200 would only
-- bring the same body back, to a repeat the store drops or to the same failing code.
-- Nothing in it sleeps or blocks: `on_event` may use cosockets and `ngx.sleep`.
-- @tparam table opts `handle`'s options, plus `on_event`
-- @tparam[opt] function opts.on_event `function(event)`, once per delivery (with a store)
-- @treturn function the handler
-- @raise on a wrong option
-- @usage -- nginx.conf: lua_shared_dict bizreg_webhook 1m;
-- -- location = /rcs-noti-6f1c0e7d2b { content_by_lua_block { require("myapp").webhook() } }
-- M.webhook = require("bizreg.webhook").ngx_handler {
--   store = ngx.shared.bizreg_webhook,
--   on_event = function(ev) ngx.log(ngx.NOTICE, ev.notiType, " ", ev.brandId, " ", ev.method) end }
function M.ngx_handler(opts)
  opts = check_handle_opts(opts)
  local on_event = opts.on_event
  local hopts = {}
  for k, v in pairs(opts) do if k ~= "on_event" then hopts[k] = v end end
  local max = opts.max_bytes or M.DEFAULTS.max_bytes
  return function()
    local ngx = rawget(_G, "ngx")
    if ngx.req.get_method() ~= "POST" then
      ngx.header["Allow"] = "POST"
      return ngx.exit(405)
    end
    local ev, answer, note, detail = M.handle(read_body(ngx, max), hopts)
    if note and note ~= "duplicate" then
      ngx.log(note == "invalid" and ngx.INFO or ngx.WARN, "bizreg.webhook: ", note,
        detail and (": " .. log_text(detail, ev)) or "")
    end
    ngx.status = answer.status
    for k, v in pairs(answer.headers) do ngx.header[k] = v end
    if answer.body ~= "" then ngx.print(answer.body) end
    ngx.eof()
    if ev and on_event then
      local ok, e = pcall(on_event, ev)
      if not ok then ngx.log(ngx.ERR, "bizreg.webhook: on_event failed: ", log_text(e, ev)) end
    end
  end
end

return M
