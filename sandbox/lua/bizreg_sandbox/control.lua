-- Sandbox state (config, counters, recorded requests, issued tokens) and the
-- /_sandbox/* control endpoints that tests use to inspect and steer it.
-- Control requests are never counted or recorded as API traffic.
local json = require "bizreg_sandbox.json"
local faults = require "bizreg_sandbox.faults"
local kos_visitors = require "bizreg_sandbox.kos_visitors"  -- GET/POST /_sandbox/visitors
local dialect = require "bizreg_sandbox.dialect"  -- GET/POST /_sandbox/dialect
local rcs_brands = require "bizreg_sandbox.rcs_brands"  -- /_sandbox/brands...
local rcs_chatbots = require "bizreg_sandbox.rcs_chatbots"  -- GET /_sandbox/brands/{id}/chatbots, POST /_sandbox/chatbot-status
local notify = require "bizreg_sandbox.notify"  -- /_sandbox/webhook
local digest = require "openssl.digest"

local control = {}

local MAX_RECORDS = 200
local unpack_ = unpack or table.unpack -- luacheck: ignore

control.ENDPOINTS = {
  "kos.exchange_token", "kos.register_visitor_images", "kos.search_visitors",
  "rcs.token", "rcs.register_brand", "rcs.resubmit_brand", "rcs.register_chatbots",
  "rcs.get_brand", "rcs.list_brands", "rcs.brand_categories",
  "rcs.cancel_brand", "rcs.cancel_brand_owner", "rcs.delete_brand", "rcs.delete_brand_owner", "rcs.update_brand",
  "rcs.list_chatbots", "rcs.get_chatbot", "rcs.update_chatbot", "rcs.delete_chatbot", "rcs.cancel_chatbot",
}
local ENDPOINT_SET = {}
for _, e in ipairs(control.ENDPOINTS) do ENDPOINT_SET[e] = true end

local function defaults()
  return {
    delay_ms = 0,
    kos_api_key = "11111111-2222-4333-8444-555555555555",
    kos_token = "sandbox-kos-token",
    kos_auth_header = "Authorization",
    kos_auth_scheme = "Bearer",
    rcs_client_id = "sandbox",
    rcs_client_secret = "SK.sandboxsecret1",
    rcs_token = "sandbox-rcs-token",
    rcs_token_ttl = 3600,
    rcs_expires_in = "absolute",
    rcs_token_envelope = false,
    rcs_chatbot_list_ignores_offset = false,
    expire_tokens = false,
    fail_next = json.null,
  }
end

-- Order in which GET/POST /_sandbox/config prints the config.
local CONFIG_KEYS = {
  "delay_ms", "kos_api_key", "kos_token", "kos_auth_header", "kos_auth_scheme",
  "rcs_client_id", "rcs_client_secret", "rcs_token", "rcs_token_ttl", "rcs_expires_in",
  "rcs_token_envelope", "rcs_chatbot_list_ignores_offset", "expire_tokens", "fail_next",
}

function control.new_state()
  local state = {}
  control.reset(state)
  return state
end

function control.reset(state)
  state.config = defaults()
  state.requests = 0
  state.connections = 0
  -- connection object -> API requests it carried; weak so closed ones can be collected
  state.seen_connections = setmetatable({}, { __mode = "k" })
  state.by_endpoint = {} -- requests whose head named the endpoint (faulted ones too)
  state.received = {}    -- bodies read completely (faulted ones too)
  state.duplicates = {}  -- bodies identical to one received before (a resend)
  state.body_hashes = {} -- endpoint -> set of SHA-256 digests of received bodies
  for _, e in ipairs(control.ENDPOINTS) do
    state.by_endpoint[e], state.received[e], state.duplicates[e], state.body_hashes[e] = 0, 0, 0, {}
  end
  state.registered = { images = 0, brands = 0, chatbots = 0 }
  state.records = {} -- list of the last MAX_RECORDS requests; record.n is the sequence number
  state.kos_tokens = {} -- token -> { expired = bool }
  state.rcs_tokens = {} -- token -> { expires_at = monotonic seconds, expired = bool }
  state.expired_static = {} -- "kos:"..token / "rcs:"..token -> true
  state.brands = {} -- brandId -> record (rcs_brands.lua)
  state.brand_seq = 0 -- records made so far (their order in brand lists)
  state.chatbots = {} -- brandId -> its sender numbers (rcs_chatbots.lua)
  state.visitors = nil -- KOS visitors: kos_visitors.lua seeds them on first use
  -- armed faults, oldest first: { mode, point, act, endpoint, remaining, params };
  -- config fail_next is the entry with slot = "fail_next" (mode "status")
  state.faults = {}
  state.dialect = dialect.defaults()
  notify.reset(state)
end

---------------------------------------------------------------- traffic accounting

-- Called for every request to a non-control path once its head is known (before
-- the body is read); returns its record.
function control.record(state, conn, method, path, headers)
  state.requests = state.requests + 1
  local seen = conn and state.seen_connections[conn]
  if conn and not seen then state.connections = state.connections + 1 end
  if conn then state.seen_connections[conn] = (seen or 0) + 1 end
  local rec = {
    n = state.requests, method = method, path = path, headers = headers,
    content_type = headers["content-type"], length = nil, body = nil, status = nil,
    reused = seen and true or nil,
  }
  local recs = state.records
  recs[#recs + 1] = rec
  if #recs > MAX_RECORDS then table.remove(recs, 1) end
  return rec
end

-- The body of rec arrived completely: counted per endpoint, and a body equal to
-- one received before for that endpoint is a duplicate (test payloads are unique,
-- so a duplicate is a resend).
function control.received(state, rec, endpoint, body)
  rec.body, rec.length = body, #body
  if not endpoint then return end
  state.received[endpoint] = state.received[endpoint] + 1
  local h = digest.new("sha256"):final(body)
  if state.body_hashes[endpoint][h] then
    rec.duplicate = true
    state.duplicates[endpoint] = state.duplicates[endpoint] + 1
  end
  state.body_hashes[endpoint][h] = true
end

local function applies(f, endpoint)
  return f.endpoint == nil or f.endpoint == "*" or f.endpoint == endpoint
end

-- Consumes one count of the oldest armed fault (or fail_next) for endpoint; returns it or nil.
function control.take_fault(state, endpoint)
  for i, f in ipairs(state.faults) do
    if applies(f, endpoint) then
      f.remaining = f.remaining - 1
      if f.remaining <= 0 then table.remove(state.faults, i) end
      if f.slot == "fail_next" then -- the config view shows how many failures are still pending
        if f.remaining <= 0 then state.config.fail_next = json.null else state.config.fail_next.count = f.remaining end
      end
      return f
    end
  end
  return nil
end

-- Half-closes (FIN) every kept-alive connection waiting for its next request, so a
-- client's next call cannot reuse one: it finds it closed before writing.
local function close_idle(state)
  local n = 0
  for conn in pairs(state.seen_connections) do
    local sock = conn.socket
    if sock and conn.req_locked == nil and conn.pipeline:length() == 0 and pcall(sock.shutdown, sock, "w") then
      n = n + 1
    end
  end
  return n
end

local function endpoint_ok(e) return e == "*" or ENDPOINT_SET[e] == true end

-- Arms a fault from a POST /_sandbox/fault document.
local function arm_fault(state, doc)
  local f, why = faults.parse(doc, endpoint_ok)
  if not f then return nil, why end
  state.faults[#state.faults + 1] = f
  return true
end

---------------------------------------------------------------- config

local function is_int(v) return type(v) == "number" and v == math.floor(v) end
local function nonempty_string(v) return type(v) == "string" and v ~= "" end

-- Each validator returns the value to store, or nil and a reason.
local validators = {
  delay_ms = function(v)
    if type(v) == "number" and v >= 0 and v <= 600000 then return v end
    return nil, "must be a number of milliseconds (0..600000)"
  end,
  kos_api_key = function(v) if nonempty_string(v) then return v end return nil, "must be a non-empty string" end,
  kos_token = function(v) if nonempty_string(v) then return v end return nil, "must be a non-empty string" end,
  kos_auth_header = function(v)
    if type(v) == "string" and v:match("^[!#$%%&'*+%-.^_`|~%w]+$") then return v end
    return nil, "must be an HTTP header name"
  end,
  kos_auth_scheme = function(v)
    if type(v) == "string" and (v == "" or v:match("^[%w!#$%%&'*+%-.^_`|~]+$")) then return v end
    return nil, "must be a scheme token or \"\" (bare token)"
  end,
  rcs_client_id = function(v) if nonempty_string(v) then return v end return nil, "must be a non-empty string" end,
  rcs_client_secret = function(v) if nonempty_string(v) then return v end return nil, "must be a non-empty string" end,
  rcs_token = function(v) if nonempty_string(v) then return v end return nil, "must be a non-empty string" end,
  rcs_token_ttl = function(v)
    if is_int(v) and v >= 0 then return v end
    return nil, "must be an integer number of seconds >= 0"
  end,
  rcs_expires_in = function(v)
    if v == "absolute" or v == "relative" or v == "past" or v == "epoch_ms" then return v end
    return nil, "must be \"absolute\", \"relative\", \"past\" or \"epoch_ms\""
  end,
  rcs_token_envelope = function(v) if type(v) == "boolean" then return v end return nil, "must be a boolean" end,
  -- a broken server: the chatbot list answers its first page whatever the offset (a walk must end)
  rcs_chatbot_list_ignores_offset = function(v) if type(v) == "boolean" then return v end return nil, "must be a boolean" end,
  expire_tokens = function(v) if type(v) == "boolean" then return v end return nil, "must be a boolean" end,
  fail_next = function(v)
    local t = json.type(v)
    if t == "null" or v == false then return json.null end
    if t ~= "object" then return nil, "must be an object or null" end
    for _, k in ipairs(json.keys(v)) do
      if k ~= "status" and k ~= "count" and k ~= "endpoint" then return nil, "unknown key fail_next." .. k end
    end
    if v.status ~= 429 and v.status ~= 500 and v.status ~= 503 then return nil, "fail_next.status must be 429, 500 or 503" end
    local count = v.count == nil and 1 or v.count
    if not is_int(count) or count < 1 then return nil, "fail_next.count must be an integer >= 1" end
    if v.endpoint ~= nil and not ENDPOINT_SET[v.endpoint] then
      return nil, "fail_next.endpoint must be one of " .. table.concat(control.ENDPOINTS, ", ")
    end
    return json.obj("status", v.status, "count", count, "endpoint", v.endpoint)
  end,
}

local function config_json(state)
  local args = {}
  for _, k in ipairs(CONFIG_KEYS) do
    args[#args + 1] = k
    args[#args + 1] = state.config[k]
  end
  return json.obj(unpack_(args))
end

-- Marks every token issued so far and the current static tokens as expired.
local function expire_all(state)
  for _, t in pairs(state.kos_tokens) do t.expired = true end
  for _, t in pairs(state.rcs_tokens) do t.expired = true end
  state.expired_static["kos:" .. state.config.kos_token] = true
  state.expired_static["rcs:" .. state.config.rcs_token] = true
end

-- Validates every key first, so a bad request changes nothing.
local function apply_config(state, doc)
  local new = {}
  for _, k in ipairs(json.keys(doc)) do
    local check = validators[k]
    if not check then return nil, "unknown config key " .. k end
    local v, why = check(doc[k])
    if v == nil then return nil, k .. ": " .. why end
    new[k] = v
  end
  for k, v in pairs(new) do state.config[k] = v end
  if new.fail_next then -- one slot: replaces an earlier fail_next still pending
    for i, f in ipairs(state.faults) do
      if f.slot == "fail_next" then table.remove(state.faults, i) break end
    end
    local f = new.fail_next
    if f ~= json.null then
      state.faults[#state.faults + 1] = { slot = "fail_next", mode = "status", point = "after_body", act = "status",
        status = f.status, remaining = f.count, endpoint = f.endpoint, params = {} }
    end
  end
  if new.expire_tokens == true then
    expire_all(state)
  elseif new.expire_tokens == false then
    -- lets a test undo the expiry of the static tokens; issued tokens stay expired
    state.expired_static = {}
  end
  return true
end

---------------------------------------------------------------- endpoints

local JSON_HEADERS = { ["content-type"] = "application/json" }

local function reply(status, value)
  return status, JSON_HEADERS, json.encode(value)
end

local function per_endpoint(counts)
  local by = json.obj()
  for _, e in ipairs(control.ENDPOINTS) do
    by[e] = counts[e]
    by[json.ORDER][#by[json.ORDER] + 1] = e
  end
  return by
end

-- by_endpoint stays the last object naming the endpoints: shell checks (embed.sh)
-- pick an endpoint's count with a greedy sed match, i.e. its last occurrence.
local function stats_json(state)
  return json.obj(
    "requests", state.requests,
    "connections", state.connections,
    "received", per_endpoint(state.received),
    "duplicates", per_endpoint(state.duplicates),
    "by_endpoint", per_endpoint(state.by_endpoint),
    "registered", json.obj("images", state.registered.images, "brands", state.registered.brands,
      "chatbots", state.registered.chatbots),
    "faults_pending", #state.faults)
end

local add_present = json.add_present

local function requests_json(state)
  local list = json.array()
  for i, r in ipairs(state.records) do
    local o = json.obj("n", r.n, "method", r.method, "path", r.path,
      "content_type", r.content_type, "length", r.length, "status", r.status)
    -- present only when they say something: a reused connection, a fault, a resend
    add_present(o, "reused", r.reused)
    add_present(o, "fault", r.fault)
    add_present(o, "duplicate", r.duplicate)
    list[i] = o
  end
  return list
end

local function faults_json(state)
  local list = json.array()
  for _, f in ipairs(state.faults) do
    list[#list + 1] = f.slot and json.obj("mode", "status", "endpoint", f.endpoint, "count", f.remaining,
      "status", f.status) or faults.describe(f)
  end
  return list
end

local function find_record(state, which)
  local recs = state.records
  if which == "last" then return recs[#recs] end
  local n = tonumber(which)
  for _, r in ipairs(recs) do
    if r.n == n then return r end
  end
  return nil
end

-- name, value, name, value ... sorted by name (for json.obj)
local function header_list(headers)
  local names, out = {}, {}
  for k in pairs(headers or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do out[#out + 1] = k; out[#out + 1] = headers[k] end
  return out
end

-- Answers a /_sandbox/* request: status, headers, body.
function control.handle(state, method, path, body)
  if path == "/_sandbox/stats" and method == "GET" then
    return reply(200, stats_json(state))
  elseif path == "/_sandbox/requests" and method == "GET" then
    return reply(200, requests_json(state))
  elseif path == "/_sandbox/reset" and method == "POST" then
    control.reset(state)
    return reply(200, json.obj())
  elseif path == "/_sandbox/config" and method == "GET" then
    return reply(200, config_json(state))
  elseif path == "/_sandbox/config" and method == "POST" then
    local doc, err = json.decode(body)
    if json.type(doc) ~= "object" then
      return reply(400, json.obj("error", "config must be a JSON object" .. (err and (": " .. err) or "")))
    end
    local ok, why = apply_config(state, doc)
    if not ok then return reply(400, json.obj("error", why)) end
    return reply(200, config_json(state))
  elseif path == "/_sandbox/fault" and method == "GET" then
    return reply(200, faults_json(state))
  elseif path == "/_sandbox/fault" and method == "POST" then
    local doc, err = json.decode(body)
    if json.type(doc) ~= "object" then
      return reply(400, json.obj("error", "fault must be a JSON object" .. (err and (": " .. err) or "")))
    end
    local ok, why = arm_fault(state, doc)
    if not ok then return reply(400, json.obj("error", why)) end
    return reply(200, faults_json(state))
  elseif path == "/_sandbox/close_idle" and method == "POST" then
    return reply(200, json.obj("closed", close_idle(state)))
  elseif path == "/_sandbox/fault" and method == "DELETE" then
    state.faults = {}
    state.config.fail_next = json.null
    return reply(200, faults_json(state))
  end
  if path == "/_sandbox/visitors" then return kos_visitors.control(state, method, body) end
  if path == "/_sandbox/dialect" and method == "GET" then return reply(200, dialect.describe(state)) end
  if path == "/_sandbox/dialect" and method == "POST" then
    local doc, err = json.decode(body)
    if json.type(doc) ~= "object" then
      return reply(400, json.obj("error", "dialect must be a JSON object" .. (err and (": " .. err) or "")))
    end
    local ok, why = dialect.set(state, doc, function(e) return ENDPOINT_SET[e] == true end)
    if not ok then return reply(400, json.obj("error", why)) end
    return reply(200, dialect.describe(state))
  end
  local bs, bh, bb = rcs_brands.control(state, method, path, body)
  if bs then return bs, bh, bb end
  local ws, wh, wb = notify.control(state, method, path, body)
  if ws then return ws, wh, wb end
  local which, part = path:match("^/_sandbox/requests/([%w]+)/(%w+)$")
  if which and method == "GET" and (part == "body" or part == "headers") then
    local rec = find_record(state, which)
    if not rec then return reply(404, json.obj("error", "no recorded request " .. which)) end
    if part == "headers" then return reply(200, json.obj(unpack_(header_list(rec.headers)))) end
    if not rec.body then return reply(404, json.obj("error", "the body of request " .. which .. " was not read")) end
    return 200, { ["content-type"] = "application/octet-stream" }, rec.body
  end
  local status, headers, out = rcs_chatbots.control(state, method, path, body)
  if status then return status, headers, out end
  return reply(404, json.obj("error", "unknown control endpoint " .. method .. " " .. path))
end

return control
