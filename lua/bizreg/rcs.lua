-- RCS Biz Center: register_brand (POST /corp/brand) and resubmit_brand (PUT /corp/brand/{id});
-- register_chatbots (POST /brand/{id}/chatbot) is in rcs_chatbots.lua, on the same helpers.
local core = require "bizreg.core"
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local auth = require "bizreg.auth"
local token_store = require "bizreg.token_store"
local env = require "bizreg.rcs_envelope"

local M = {}

local EXTRA_OPTS = { token = "string", client_id = "string", client_secret = "string", json_content_type = "string",
  token_store = "table", brand_key = "string", person_id = "string", check_categories = "boolean",
  categories_ttl = "number", token_lifetime = "number", unknown_fields = "string" }

-- Server-style messages by RCS code, beside the rows' codes in src/api_rcs.c (their one
-- home); %s is the attribute's own name; the full path is err.errorProperties[i].key.
M.MESSAGES = core.RCS_MESSAGES

local function message_for(p)
  local fmt = M.MESSAGES[p.code] or ("error " .. tostring(p.code) .. " (%s)")
  local arg = p.value or p.key:match("([^%.%[%]]+)[%[%]%d]*$") or p.key
  local msg = fmt:gsub("%%s", function() return arg end)
  if p.reason == "Unreadable" and p.value then msg = msg .. ": " .. p.key .. ": " .. p.value end
  return msg
end

local function validation_error(props)
  for _, p in ipairs(props) do p.message = message_for(p) end
  return errors.validation { code = props[1].code, message = props[1].message, errorProperties = props }
end
M.validation_error = validation_error

-- brandId goes into the URL path: only the documented shape (<= 13 chars) is accepted, and
-- never a dot segment ("." / ".."), which libcurl and servers resolve to another resource.
function M.brand_id_error(brand_id)
  if #brand_id == 0 or #brand_id > 13 or brand_id:find("[^%w%.%-_]") or brand_id:find("^%.%.?$") then
    return validation_error { { key = "brandId", reason = "InvalidFormat", code = "64316" } }
  end
end

local function raise(msg) errors.raise("bizreg: " .. msg) end

-- X-RCS-Brandkey (agency accounts, api-notes): 1..18 visible ASCII characters, so a header
-- value can never carry CR, LF or NUL. A bad one is the programmer's: it raises.
function M.check_brand_key(v, what)
  if v == nil then return end
  if type(v) ~= "string" then raise(what .. " 'brand_key' must be a string") end
  if v:find("[\r\n%z]") then raise(what .. " 'brand_key' contains CR, LF or NUL") end
  if #v > 18 or not v:match("^[!-~]+$") then
    raise(what .. " 'brand_key' must be 1 to 18 visible ASCII characters (e.g. BK.SD8X63r9uJaApN9)")
  end
end

-- unknown_fields: "refuse" (the default: a key no row names is a 64397 validation error) or
-- "send" (sent as given, when JSON can carry it: a field newer than the library).
function M.check_unknown_fields(v, what)
  if v ~= nil and v ~= "refuse" and v ~= "send" then
    raise(what .. " 'unknown_fields' must be \"refuse\" or \"send\"")
  end
end

-- Per-call options (the last argument of a call): a table of known names, checked like the
-- client's options. allowed: name -> true.
function M.check_call_opts(o, allowed)
  if o == nil then return end
  if type(o) ~= "table" then raise("call options must be a table") end
  for k in pairs(o) do
    if not allowed[k] then raise("unknown call option '" .. tostring(k) .. "'") end
  end
  M.check_brand_key(o.brand_key, "call option")
  M.check_unknown_fields(o.unknown_fields, "call option")
  if o.check_categories ~= nil and type(o.check_categories) ~= "boolean" then
    raise("call option 'check_categories' must be a boolean")
  end
end

-- The headers of a call the spec gives `X-RCS-Brandkey` (register_chatbots: the
-- /brand/{brandId}/... operations): the call's `brand_key`, else the client's; `{}` without one.
function M.brand_headers(self, o)
  local key = o and o.brand_key or self.brand_key
  if key == nil then return {} end
  M.check_brand_key(key, "call option")
  return { ["X-RCS-Brandkey"] = key }
end

-- opts: boundary (fixed, for reproducible bodies), json_content_type (Content-Type of the
-- JSON parts: undocumented by RCS [G], so none by default, like the documented curl sample).
-- encoder: the form's binding (default core.encode_brand; core.encode_chatbots).
local function encode(payload, opts, encoder)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
  local body, props = (encoder or core.encode_brand)(payload, opts)
  if not body then return nil, validation_error(props) end
  return body
end

-- The request headers of every form call (prepared or sent), built in this one place.
local function form_headers(body)
  return { ["Content-Type"] = body:content_type() }
end

-- The exact request of a form call, the whole body as a string.
function M.prepare_form(payload, opts, encoder, method, path)
  local body, err = encode(payload, opts, encoder)
  if not body then return nil, err end
  local s, msg = body:tostring()
  body:free()  -- its buffers now, not at the next collection
  if not s then
    return nil, errors.validation { message = msg }
  end
  return { method = method, path = path, headers = form_headers(body), body = s }
end

function M.prepare(payload, opts) return M.prepare_form(payload, opts, core.encode_brand, "POST", "/corp/brand") end

-- Every RCS answer is read by rcs_envelope.lua (codes of any JSON type, the Fail envelope
-- inside any HTTP status, 204/60004, tolerant fields).
M.envelope_reader = env

-- The code of an error answer as a decimal string (nil: none), and the decoded body.
function M.error_code(res)
  local body = env.object(res)
  local code = body and type(body.error) == "table" and env.code(body.error.code) or nil
  return code, body
end

-- The http error of an answer that is not a success (the Fail envelope in any status).
function M.map_error(res, c) return env.error(res, c) end

-- The success envelope: { code, status, result, desc } (result: a list, {} for 204/60004)
-- and the decoded body (pagination, links), or nil, err. A 2xx without a result list is a
-- decode error (a read must never take it for an empty page: find_brands would then say
-- "no such brand"); after a write (optional_result) it is {}, and the write's mapper says
-- that the outcome is unknown.
function M.envelope(res, c, optional_result)
  local out, body = env.read(res, c)
  if not out then return nil, body end
  if out.no_content then out.no_content = nil out.result = {} return out, {} end
  if out.result == nil and not optional_result then
    return nil, errors.decode(res.status, "the answer has no result list", res.body)
  end
  out.result = out.result or {}
  return out, body
end

-- A write's error: a decode error (a 2xx that is not the answer) leaves the outcome unknown,
-- so its message says how to find out (how); any other error is returned as it is.
function M.unknown_outcome(err, how)
  if err.kind == "decode" then err.message = err.message .. ": " .. how end
  return err
end

-- What the caller of a write can do when the answer does not say what became of it.
local UNKNOWN_OUTCOME = {
  POST = "the brand may have been registered: do not send it again before looking for it with "
    .. "find_brands { name = ... } (README: Reliability: at most once)",
  PUT = "the brand may have been resubmitted: read its status with get_brand before sending it again",
}

-- The answer of a write (register_brand, resubmit_brand): success is the envelope whose
-- result's first entry has a non-empty string brandId. A 2xx without it leaves the outcome
-- unknown: a decode error, sent = true, never retried, with the way to find out.
function M.map_write(method)
  return function(res, c)
    local out, err = M.envelope(res, c, true)
    if not out then return nil, M.unknown_outcome(err, UNKNOWN_OUTCOME[method]) end
    local first = out.result[1]
    local id = type(first) == "table" and first.brandId or nil
    if type(id) ~= "string" or id == "" then
      return nil, errors.decode(res.status, "the answer carries no brandId: " .. UNKNOWN_OUTCOME[method], res.body)
    end
    out.brandId = id
    return out
  end
end
M.map_response = M.map_write("POST")

-- ---- client ----------------------------------------------------------------


-- One multipart call: encode (f.encoder: the form's binding, default the brand form), run
-- f.check(self, ctx, payload) after the local validation and before anything is sent
-- (categories, rcs_brands.lua), f.call_opts (the call's options: unknown_fields), send through the client's one request path (at most once)
-- with f.headers (the brand-scoped ones, M.brand_headers) and map (f.mapper(res, client), default
-- map_write(method)).
function M.form_request(self, ctx, method, path, payload, f)
  f = f or {}
  local opts = self.encode_opts
  local uf = f.call_opts and f.call_opts.unknown_fields
  if uf and uf ~= (opts and opts.unknown_fields or "refuse") then
    opts = { json_content_type = opts and opts.json_content_type, unknown_fields = uf }
  end
  local body, err = encode(payload, opts, f.encoder)
  if not body then return nil, err end
  if f.check then
    local ok, cerr = f.check(self, ctx, payload)
    if not ok then body:free() return nil, cerr end
  end
  local headers = form_headers(body)
  for k, v in pairs(f.headers or {}) do headers[k] = v end
  local res, cerr = self:call(ctx, { method = method, path = path, headers = headers, body = body, progress = true })
  body:free()  -- the call is over: its buffers (and the files given as data) go now, not at the next GC
  if not res then return nil, cerr end
  return (f.mapper or M.map_write(method))(res, self)
end
local brand_request = M.form_request

local function check_payload(payload)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
end

M.ops = {}

local REGISTER_OPTS = { check_categories = true, unknown_fields = true }
M.ops.register_brand = {
  check = function(payload, o) check_payload(payload) M.check_call_opts(o, REGISTER_OPTS) end,
  run = function(self, ctx, payload, o)
    local want = self.check_categories
    if o and o.check_categories ~= nil then want = o.check_categories end
    return brand_request(self, ctx, "POST", "/corp/brand", payload,
      { check = want and M.check_categories or nil, call_opts = o })
  end,
}

-- (brandId, payload [, call options]) of a brand-scoped call: wrong types raise. allowed: the
-- call options (default brand_key: X-RCS-Brandkey, which the spec defines on the /brand/{brandId}/...
-- operations only, so the chatbot call; api-notes has no source for the /corp/... ones).
local BRAND_OPTS = { brand_key = true, unknown_fields = true }
function M.check_brand_args(brand_id, payload, o, allowed)
  if type(brand_id) ~= "string" then errors.raise("bizreg: brandId must be a string") end
  check_payload(payload)
  M.check_call_opts(o, allowed or BRAND_OPTS)
end

local RESUBMIT_OPTS = { unknown_fields = true }
M.ops.resubmit_brand = {
  check = function(brand_id, payload, o) M.check_brand_args(brand_id, payload, o, RESUBMIT_OPTS) end,
  run = function(self, ctx, brand_id, payload, o)
    local bad = M.brand_id_error(brand_id)
    if bad then return nil, bad end
    return brand_request(self, ctx, "PUT", "/corp/brand/" .. brand_id, payload, { call_opts = o })
  end,
}

require("bizreg.rcs_chatbots").install(M)
-- get_brand, list_brands, find_brands, wait_for_approval, brand_categories (+ M.check_categories)
local brands = require "bizreg.rcs_brands"
brands.install(M)

-- ---- token -------------------------------------------------------------------

-- RCS expiresIn is a string (S3) that servers send as a number too; its example
-- (1568694883) is an absolute epoch in the past. Read by magnitude: below 10^9 seconds from
-- now, below 10^11 epoch seconds, below 10^14 epoch milliseconds. An expiry in the past,
-- more than MAX_LIFETIME away or unreadable is replaced by now + lifetime (the client's
-- token_lifetime): never a token fetch per call, and a 401 61003/61004 still renews.
-- Returns the time to renew at, the expiry used, and a note when it is not the server's.
M.DEFAULT_LIFETIME, M.MAX_LIFETIME = require("bizreg.options").DEFAULTS.token_lifetime, 366 * 86400
function M.token_expiry(expires_in, now, lifetime)
  lifetime = lifetime or M.DEFAULT_LIFETIME
  local n = tonumber(expires_in)
  local at, why
  if not n or n ~= n then why = "is not a number"
  elseif n < 1e9 then at = now + n
  elseif n < 1e11 then at = n
  elseif n < 1e14 then at = n / 1000
  else why = "is too far away" end
  if at and at <= now then at, why = nil, "is in the past" end
  if at and at - now > M.MAX_LIFETIME then at, why = nil, "is too far away" end
  local note
  if not at then
    at = now + lifetime
    -- the number only (1568694883, not 1568694883.0), never the server's text: a server
    -- echoing a credential there must not put it in an event
    local shown = n and n == n and (env.code(n) or string.format("%g", n)) or ("(a " .. type(expires_in) .. ")")
    note = string.format("expiresIn %s %s: kept %g s", shown:sub(1, 40), why, lifetime)
  end
  at = math.floor(at)
  local skew = math.min(auth.SKEW, math.max(0, (at - now) / 2))
  return at - skew, at, note
end

-- RCS: POST /token {clientId, clientSecret} -> TokenInfo (bare or enveloped, both seen [G]).
local function credentials(client_id, client_secret, shared, lifetime)
  local function fetch(c, ctx)
    local res, err = c:send(ctx, {
      method = "POST", path = "/token", headers = { ["Content-Type"] = "application/json" },
      body = cjson.encode { clientId = client_id, clientSecret = client_secret },
    })
    if not res then return nil, err end
    local out, body = env.read(res, c)
    if not out then return nil, body end  -- a Fail envelope (any status) or a non-2xx
    local info = type(out.result) == "table" and out.result[1] or body
    local token = type(info) == "table" and info.accessToken or nil
    if auth.bad_token(token) then
      return nil, errors.decode(res.status, "token API answered without a usable accessToken")
    end
    return token, M.token_expiry(info.expiresIn, os.time(), lifetime)
  end
  -- 61003 Invalid token / 61004 Token has expired: a new token can fix those.
  local function renewable(_, res) return env.renewable(res) end
  return auth.cached("Authorization", "Bearer", fetch, renewable, { client_secret }, shared)
end

-- Identifiers in RCS answers: kept as sent, never scrubbed (client.class).
M.IDENTIFIERS = { brandId = true, brandKey = true, chatbotId = true, categoryId = true, subCategoryId = true }
local Rcs = client.class("bizreg.rcs", M.ops, M.IDENTIFIERS)
Rcs.each_brand = brands.each_brand  -- an iterator, not one call: no job form

function M.new(opts)
  client.check_options(opts, EXTRA_OPTS)
  local provider
  if opts.client_id or opts.client_secret then
    if not (opts.client_id and opts.client_secret) then raise("client_id needs client_secret") end
    if opts.token then raise("give either token or client_id/client_secret") end
    if opts.client_id == "" or opts.client_secret == "" then raise("client_id and client_secret must not be empty") end
    provider = credentials(opts.client_id, opts.client_secret,
      token_store.from_options(opts, "rcs", opts.client_id, opts.client_secret), opts.token_lifetime)
  else
    if opts.token == nil then raise("a credential is required: token or client_id + client_secret") end
    if opts.token == "" then raise("token must not be empty") end
    if opts.token_store then raise("token_store shares fetched tokens: it needs client_id + client_secret") end
    provider = auth.static(opts.token, "Authorization", "Bearer")
  end
  local jct = opts.json_content_type
  if jct and (jct == "" or jct:find("%c")) then
    raise("option 'json_content_type' must be a media type (no control characters), e.g. \"application/json\"")
  end
  M.check_brand_key(opts.brand_key, "option")
  local life = opts.token_lifetime
  if life ~= nil and not (life >= 1 and life <= M.MAX_LIFETIME) then
    raise("option 'token_lifetime' must be a number of seconds from 1 to " .. M.MAX_LIFETIME)
  end
  M.check_unknown_fields(opts.unknown_fields, "option")
  local c = client.new(Rcs, opts, provider)
  if jct or opts.unknown_fields then  -- as prepare_brand's opts
    c.encode_opts = { json_content_type = jct, unknown_fields = opts.unknown_fields }
  end
  brands.configure(c, opts)
  return c
end

return M
