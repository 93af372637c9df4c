-- Sandbox state (config, counters, recorded requests, issued tokens) and the
-- /_sandbox/* control endpoints that tests use to inspect and steer it.
-- Control requests are never counted or recorded as API traffic.
local json = require "bizreg.sandbox.json"

local control = {}

local MAX_RECORDS = 200
local unpack_ = unpack or table.unpack -- luacheck: ignore

control.ENDPOINTS = {
  "kos.exchange_token", "kos.register_visitor_images",
  "rcs.token", "rcs.register_brand", "rcs.resubmit_brand",
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
    expire_tokens = false,
    fail_next = json.null,
  }
end

-- Order in which GET/POST /_sandbox/config prints the config.
local CONFIG_KEYS = {
  "delay_ms", "kos_api_key", "kos_token", "kos_auth_header", "kos_auth_scheme",
  "rcs_client_id", "rcs_client_secret", "rcs_token", "rcs_token_ttl", "rcs_expires_in",
  "rcs_token_envelope", "expire_tokens", "fail_next",
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
  -- connection objects seen carrying API traffic; weak so closed ones can be collected
  state.seen_connections = setmetatable({}, { __mode = "k" })
  state.by_endpoint = {}
  for _, e in ipairs(control.ENDPOINTS) do state.by_endpoint[e] = 0 end
  state.registered = { images = 0, brands = 0 }
  state.records = {} -- list of the last MAX_RECORDS requests; record.n is the sequence number
  state.kos_tokens = {} -- token -> { expired = bool }
  state.rcs_tokens = {} -- token -> { expires_at = monotonic seconds, expired = bool }
  state.expired_static = {} -- "kos:"..token / "rcs:"..token -> true
  state.brands = {} -- brandId -> true
  state.fail = nil -- { status, remaining, endpoint }
end

---------------------------------------------------------------- traffic accounting

-- Called for every request to a non-control path; returns its record.
function control.record(state, conn, method, path, content_type, body)
  state.requests = state.requests + 1
  if conn and not state.seen_connections[conn] then
    state.seen_connections[conn] = true
    state.connections = state.connections + 1
  end
  local rec = {
    n = state.requests, method = method, path = path,
    content_type = content_type, length = #body, body = body, status = nil,
  }
  local recs = state.records
  recs[#recs + 1] = rec
  if #recs > MAX_RECORDS then table.remove(recs, 1) end
  return rec
end

-- Consumes one "fail_next" slot if it applies to endpoint; returns the status or nil.
function control.take_failure(state, endpoint)
  local f = state.fail
  if not f or (f.endpoint and f.endpoint ~= endpoint) then return nil end
  f.remaining = f.remaining - 1
  if f.remaining <= 0 then
    state.fail = nil
    state.config.fail_next = json.null
  else -- the config view shows how many failures are still pending
    state.config.fail_next.count = f.remaining
  end
  return f.status
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
    if v == "absolute" or v == "relative" then return v end
    return nil, "must be \"absolute\" or \"relative\""
  end,
  rcs_token_envelope = function(v) if type(v) == "boolean" then return v end return nil, "must be a boolean" end,
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
  if new.fail_next then
    local f = new.fail_next
    state.fail = f ~= json.null and { status = f.status, remaining = f.count, endpoint = f.endpoint } or nil
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

local function stats_json(state)
  local by = json.obj()
  for _, e in ipairs(control.ENDPOINTS) do
    by[e] = state.by_endpoint[e]
    by[json.ORDER][#by[json.ORDER] + 1] = e
  end
  return json.obj(
    "requests", state.requests,
    "connections", state.connections,
    "by_endpoint", by,
    "registered", json.obj("images", state.registered.images, "brands", state.registered.brands))
end

local function requests_json(state)
  local list = json.array()
  for i, r in ipairs(state.records) do
    list[i] = json.obj("n", r.n, "method", r.method, "path", r.path,
      "content_type", r.content_type, "length", r.length, "status", r.status)
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
  end
  local which = path:match("^/_sandbox/requests/([%w]+)/body$")
  if which and method == "GET" then
    local rec = find_record(state, which)
    if not rec then return reply(404, json.obj("error", "no recorded request " .. which)) end
    return 200, { ["content-type"] = "application/octet-stream" }, rec.body
  end
  return reply(404, json.obj("error", "unknown control endpoint " .. method .. " " .. path))
end

return control
