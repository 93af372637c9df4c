-- KOS clinic CRM Open API: register_visitor_images, search_visitors (kos_search.lua).
local core = require "bizreg.core"
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local auth = require "bizreg.auth"
local search = require "bizreg.kos_search"
local token_store = require "bizreg.token_store"
local prepared = require "bizreg.prepared"

local M = {}

M.PATH = "/image/open/v1/commands/register-visitor-images"
local EXTRA_OPTS = { token = "string", api_key = "string", auth_header = "string", auth_scheme = "string",
  token_store = "table" }

-- KOS answers reasons without messages: bizreg's words for one violation (src/api_kos.c, beside
-- the rows), its limit read from its row: "too long (memo: at most 150 characters)".
function M.message(p)
  local fmt = core.KOS_MESSAGES[p.reason]
  if not fmt then return nil end
  local key = type(p.key) == "string" and p.key or ""
  local ok, _, max = pcall(core.check_field, "kos_images", p.index and ("images." .. key) or key)
  if not (ok and max) then fmt = fmt:gsub(" %(.*%%d.*%)$", "") end
  local name = key:match("([^%.%[%]]+)[%[%]%d]*$") or key
  return (fmt:gsub("%%([sd])", function(c) return c == "s" and name or tostring(max) end))
end

local function validation_error(props)
  return errors.validation {
    message = "InvalidCommandException", className = "InvalidCommandException", errorProperties = props,
  }
end

-- One JSON POST: encode validates the payload against its rows (src/api_kos.c).
local function prepare_json(encode, path, payload)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
  local json, props = encode(payload)
  if not json then return nil, validation_error(props) end
  return { method = "POST", path = path, headers = { ["Content-Type"] = "application/json" }, body = json }
end

-- The send half of each call: a prepared request's bytes, as they are (a copy of the
-- request table, so the caller's is not changed), through the auth and retry flow.
local send = {}
send.register_visitor_images = { run = function(self, ctx, req)
  local res, err = self:call(ctx, { method = req.method, path = req.path, headers = req.headers, body = req.body,
    progress = true, route = "POST " .. M.PATH })
  return self:finish(res, err, M.map_response)
end }
send.search_visitors = { run = function(self, ctx, req)
  local res, err = self:call(ctx, { method = req.method, path = req.path, headers = req.headers, body = req.body,
    route = "POST " .. search.PATH })
  if not res then return nil, err end
  return M.map_search(res, self)
end }

local function prepare_visitor_images(payload) return prepare_json(core.encode_visitor_images, M.PATH, payload) end
local function prepare_search(payload) return prepare_json(core.encode_search_visitors, search.PATH, payload) end

-- bizreg.prepare_*: marked, so that client:send_prepared takes them (and only them)
function M.prepare(payload)
  local req, err = prepare_visitor_images(payload)
  return req and prepared.mark(req, "bizreg.kos", send.register_visitor_images), err
end
function M.prepare_search(payload)
  local req, err = prepare_search(payload)
  return req and prepared.mark(req, "bizreg.kos", send.search_visitors), err
end

-- Server keys may be indexed ("images[0].memo", 0-based) or bare ("memo"): both
-- map to { key = "memo", index = 1-based position or nil }.
local function map_property(p)
  local key = type(p.key) == "string" and p.key or ""
  local i, rest = key:match("^images%[(%d+)%]%.?(.*)$")
  local out = { key = key, reason = p.reason }
  if i then
    out.index = tonumber(i) + 1
    out.key = rest ~= "" and rest or "images"
  end
  return out
end

function M.map_error(res)
  local body = cjson.decode(res.body or "")
  local e = { body = res.body, errorProperties = {}, retry_after = client.retry_after(res) }
  if type(body) == "table" then
    e.className = type(body.className) == "string" and body.className or nil
    e.message = type(body.message) == "string" and body.message or e.className
    if type(body.errorProperties) == "table" then
      for _, p in ipairs(body.errorProperties) do
        if type(p) == "table" then e.errorProperties[#e.errorProperties + 1] = map_property(p) end
      end
    end
  end
  return errors.http(res.status, e, res.url)
end

function M.map_response(res)
  if res.status < 200 or res.status > 299 then return nil, M.map_error(res) end
  if res.body == "" or res.body == "{}" then return {} end  -- protos.Empty: no body, or {} (the usual answer)
  -- cjson decodes [] and {} alike: an object is recognised by its first byte
  local body = res.body:match("^[ \t\r\n]*{") and cjson.decode(res.body)
  if type(body) ~= "table" then return nil, errors.decode(res.status, "response is not a JSON object", res.body) end
  return body
end

function M.map_search(res, c)
  local body, err = M.map_response(res)
  if not body then return nil, err end
  return search.map(body, res, c)
end

-- ---- client ----------------------------------------------------------------


local function check_payload(payload)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
end

M.ops = {}

-- Each call: prepare (validate and encode), then its send half (as client:send_prepared).
M.ops.register_visitor_images = { check = check_payload, run = function(self, ctx, payload)
  local req, err = prepare_visitor_images(payload)
  if not req then return nil, err end
  return send.register_visitor_images.run(self, ctx, req)
end }

M.ops.search_visitors = { check = check_payload, run = function(self, ctx, payload)
  local req, err = prepare_search(payload)
  if not req then return nil, err end
  return send.search_visitors.run(self, ctx, req)
end }

-- ---- token -------------------------------------------------------------------

-- KOS: POST /open/authorization/commands/exchange-token {"key": api_key} -> {"token": ...}.
-- No lifetime is documented: cache until a 401, then exchange once more.
local function exchange_token(api_key, header, scheme, shared)
  local function fetch(c, ctx)
    local res, err = c:send(ctx, {
      method = "POST", path = "/open/authorization/commands/exchange-token",
      route = "POST /open/authorization/commands/exchange-token",
      headers = { ["Content-Type"] = "application/json" }, body = cjson.encode { key = api_key },
    })
    if not res then return nil, err end
    if res.status < 200 or res.status > 299 then return nil, M.map_error(res) end
    local body = cjson.decode(res.body)
    local token = type(body) == "table" and body.token or nil
    if auth.bad_token(token) then
      return nil, errors.decode(res.status, "exchange-token answered without a usable token")
    end
    return token, nil
  end
  return auth.cached(header, scheme, fetch, function() return true end, { api_key }, shared)
end

-- Identifiers in KOS answers (a visitor's id is the visitorId of register_visitor_images):
-- kept as sent, never scrubbed (client.class).
M.IDENTIFIERS = { id = true, visitorId = true, scheduleId = true }
local Kos = client.class("bizreg.kos", M.ops, M.IDENTIFIERS)

local HEADER_NAME = "^[!#$%%&'*+%-.^_`|~%w]+$"

function M.new(opts)
  client.check_options(opts, EXTRA_OPTS)
  local function raise(msg) errors.raise("bizreg: " .. msg) end
  if opts.token and opts.api_key then raise("give either token or api_key, not both") end
  if opts.token == nil and opts.api_key == nil then raise("a credential is required: token or api_key") end
  if opts.token == "" or opts.api_key == "" then raise("token and api_key must not be empty") end
  if opts.auth_header and not opts.auth_header:match(HEADER_NAME) then raise("option 'auth_header' must be a header name") end
  if opts.auth_scheme and opts.auth_scheme ~= "" and not opts.auth_scheme:match(HEADER_NAME) then
    raise("option 'auth_scheme' must be a token (or \"\" for none)")
  end
  local header, scheme = opts.auth_header or "Authorization", opts.auth_scheme or "Bearer"
  local provider
  if opts.api_key then
    provider = exchange_token(opts.api_key, header, scheme, token_store.from_options(opts, "kos", opts.api_key))
  else
    if opts.token_store then raise("token_store shares exchanged tokens: it needs api_key") end
    provider = auth.static(opts.token, header, scheme)
  end
  return client.new(Kos, opts, provider)
end

return M
