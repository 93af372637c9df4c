-- RCS Biz Center: register_brand (POST /corp/brand) and resubmit_brand (PUT /corp/brand/{id});
-- register_chatbots (POST /brand/{id}/chatbot) is in rcs_chatbots.lua, on the same helpers.
local core = require "bizreg.core"
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local auth = require "bizreg.auth"
local token_store = require "bizreg.token_store"

local M = {}

local EXTRA_OPTS = { token = "string", client_id = "string", client_secret = "string", json_content_type = "string",
  token_store = "table", brand_key = "string", person_id = "string", check_categories = "boolean",
  categories_ttl = "number" }

-- Server-style messages by RCS code (shared/api-notes.md); %s is the attribute's own
-- name, as the server prints it ("required value: [name]", "[weblink]" for
-- regBrand.menus[2].weblink); the full path is err.errorProperties[i].key.
M.MESSAGES = {
  ["64302"] = "Invalid JSON format",
  ["64303"] = "Invalid type of Attribute (%s)",
  ["64304"] = "Over specified size (%s)",
  ["64305"] = "Missing Certification document",
  ["64307"] = "Missing MDN",
  ["64308"] = "Invalid MDN format",
  ["64309"] = "Missing chatbot name",
  ["64310"] = "Invalid display format",
  ["64311"] = "Invalid rcsReply format",
  ["64202"] = "Invalid query parameter value (%s)",
  ["64316"] = "Invalid brandId",
  ["64329"] = "Missing profile image",
  ["64331"] = "brand Image File Capacity Overflow",
  ["64332"] = "brand profile file is only png",
  ["64333"] = "Not Allowed Brand Image File Extension",
  ["64335"] = "Brand Image File Image Size Error",
  ["64336"] = "required value: [%s]",
  ["64337"] = "Brand Creation Property Value Error (%s)",
  ["64338"] = "Brand Creation Property Value Error With Reason (%s): carriers no longer accept buttonType app",
  ["64341"] = "Duplicate MDN %s in chatbots",
  ["64343"] = "Brand Creation Chatbots Array Error",
  ["64354"] = "Attached File Capacity Overflow",
  ["64355"] = "Not allowed file extension",
  ["64364"] = "Invalid inputField format",
  ["64374"] = "Invalid subTitle format",
  ["64381"] = "Invalid subNum format",
  ["64394"] = "brand image must be 1:1 ratio",
  ["64397"] = "invalid body %s",
}

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

-- Per-call options (the last argument of a call): a table of known names, checked like the
-- client's options. allowed: name -> true.
function M.check_call_opts(o, allowed)
  if o == nil then return end
  if type(o) ~= "table" then raise("call options must be a table") end
  for k in pairs(o) do
    if not allowed[k] then raise("unknown call option '" .. tostring(k) .. "'") end
  end
  M.check_brand_key(o.brand_key, "call option")
  if o.check_categories ~= nil and type(o.check_categories) ~= "boolean" then
    raise("call option 'check_categories' must be a boolean")
  end
end

-- The headers of a brand-scoped call (get_brand, resubmit_brand, register_chatbots, ...):
-- `X-RCS-Brandkey` from the call's `brand_key`, else the client's; `{}` without one.
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

function M.error_code(res)
  local body = cjson.decode(res.body or "")
  if type(body) == "table" and type(body.error) == "table" then
    return body.error.code ~= nil and tostring(body.error.code) or nil, body
  end
  return nil, body
end

function M.map_error(res)
  local code, body = M.error_code(res)
  local e = { body = res.body, code = code, retry_after = client.retry_after(res) }
  if type(body) == "table" and type(body.error) == "table" and type(body.error.message) == "string" then
    e.message = body.error.message
  end
  e.message = e.message or ("HTTP " .. res.status)
  return errors.http(res.status, e)
end

local function to_int(v) return type(v) == "number" and math.floor(v) or v end

local function present(v) if v ~= cjson.null then return v end end

-- The documented success envelope of every RCS call: a JSON object whose result is a list.
-- Returns { code, status, result, desc } and the decoded body (its pagination, links), or
-- nil, err (an error answer, or not the envelope). A null code or desc is absent.
function M.envelope(res)
  if res.status < 200 or res.status > 299 then return nil, M.map_error(res) end
  local body = res.body:match("^[ \t\r\n]*{") and cjson.decode(res.body)
  if type(body) ~= "table" or type(body.result) ~= "table" then
    return nil, errors.decode(res.status, "response is not the RCS success envelope", res.body)
  end
  local out = { code = present(body.code), status = type(body.status) == "number" and to_int(body.status) or res.status,
    result = body.result, desc = present(body.desc) }
  return out, body
end

-- Success is the envelope whose result's first entry is an object with a non-empty
-- string brandId.
function M.map_response(res)
  local out, err = M.envelope(res)
  if not out then return nil, err end
  local first = out.result[1]
  out.brandId = type(first) == "table" and first.brandId or nil
  if type(out.brandId) ~= "string" or out.brandId == "" then
    return nil, errors.decode(res.status, "response carries no brandId", res.body)
  end
  return out
end

-- ---- client ----------------------------------------------------------------


-- One multipart call: encode (f.encoder: the form's binding, default the brand form), run
-- f.check(self, ctx, payload) after the local validation and before anything is sent
-- (categories, rcs_brands.lua), send through the client's one request path (at most once)
-- with f.headers (the brand-scoped ones, M.brand_headers) and map (f.mapper, default map_response).
function M.form_request(self, ctx, method, path, payload, f)
  f = f or {}
  local body, err = encode(payload, self.encode_opts, f.encoder)
  if not body then return nil, err end
  if f.check then
    local ok, cerr = f.check(self, ctx, payload)
    if not ok then body:free() return nil, cerr end
  end
  local headers = form_headers(body)
  for k, v in pairs(f.headers or {}) do headers[k] = v end
  local res, cerr = self:call(ctx, { method = method, path = path, headers = headers, body = body, progress = true })
  body:free()  -- the call is over: its buffers (and the files given as data) go now, not at the next GC
  return self:finish(res, cerr, f.mapper or M.map_response)
end
local brand_request = M.form_request

local function check_payload(payload)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
end

M.ops = {}

local REGISTER_OPTS = { check_categories = true }
M.ops.register_brand = {
  check = function(payload, o) check_payload(payload) M.check_call_opts(o, REGISTER_OPTS) end,
  run = function(self, ctx, payload, o)
    local want = self.check_categories
    if o and o.check_categories ~= nil then want = o.check_categories end
    return brand_request(self, ctx, "POST", "/corp/brand", payload, { check = want and M.check_categories or nil })
  end,
}

-- (brandId, payload [, call options]) of a brand-scoped call: wrong types raise.
local BRAND_OPTS = { brand_key = true }
function M.check_brand_args(brand_id, payload, o)
  if type(brand_id) ~= "string" then errors.raise("bizreg: brandId must be a string") end
  check_payload(payload)
  M.check_call_opts(o, BRAND_OPTS)
end

M.ops.resubmit_brand = {
  check = M.check_brand_args,
  run = function(self, ctx, brand_id, payload, o)
    local bad = M.brand_id_error(brand_id)
    if bad then return nil, bad end
    return brand_request(self, ctx, "PUT", "/corp/brand/" .. brand_id, payload, { headers = M.brand_headers(self, o) })
  end,
}

require("bizreg.rcs_chatbots").install(M)
-- get_brand, list_brands, find_brands, wait_for_approval, brand_categories (+ M.check_categories)
local brands = require "bizreg.rcs_brands"
brands.install(M)

-- ---- token -------------------------------------------------------------------

-- RCS expiresIn is a string; the example value (1568694883) reads as absolute epoch
-- seconds [G]. Small values are taken as a lifetime in seconds from now.
-- Returns the time to renew at, and the expiry the server announced (nil: none given).
function M.token_expiry(expires_in, now)
  local n = tonumber(expires_in)
  if not n then return now + 3600 end
  if n < 1e9 then n = now + n end
  local skew = math.min(auth.SKEW, math.max(0, (n - now) / 2))
  return n - skew, n
end

-- RCS: POST /token {clientId, clientSecret} -> TokenInfo (bare or enveloped, both seen [G]).
local function credentials(client_id, client_secret, shared)
  local function fetch(c, ctx)
    local res, err = c:send(ctx, {
      method = "POST", path = "/token", headers = { ["Content-Type"] = "application/json" },
      body = cjson.encode { clientId = client_id, clientSecret = client_secret },
    })
    if not res then return nil, err end
    if res.status < 200 or res.status > 299 then return nil, M.map_error(res) end
    local body = cjson.decode(res.body)
    local info = type(body) == "table" and (type(body.result) == "table" and body.result[1] or body) or nil
    local token = type(info) == "table" and info.accessToken or nil
    if auth.bad_token(token) then
      return nil, errors.decode(res.status, "token API answered without a usable accessToken")
    end
    return token, M.token_expiry(info.expiresIn, os.time())
  end
  -- 61003 Invalid token / 61004 Token has expired: a new token can fix those.
  local function renewable(_, res)
    local code = M.error_code(res)
    return code == "61003" or code == "61004"
  end
  return auth.cached("Authorization", "Bearer", fetch, renewable, { client_secret }, shared)
end

local Rcs = client.class("bizreg.rcs", M.ops)
Rcs.each_brand = brands.each_brand  -- an iterator, not one call: no job form

function M.new(opts)
  client.check_options(opts, EXTRA_OPTS)
  local provider
  if opts.client_id or opts.client_secret then
    if not (opts.client_id and opts.client_secret) then raise("client_id needs client_secret") end
    if opts.token then raise("give either token or client_id/client_secret") end
    if opts.client_id == "" or opts.client_secret == "" then raise("client_id and client_secret must not be empty") end
    provider = credentials(opts.client_id, opts.client_secret,
      token_store.from_options(opts, "rcs", opts.client_id, opts.client_secret))
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
  local c = client.new(Rcs, opts, provider)
  c.encode_opts = jct and { json_content_type = jct } or nil  -- as prepare_brand's opts
  brands.configure(c, opts)
  return c
end

return M
