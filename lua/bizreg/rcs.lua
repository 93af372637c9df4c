-- RCS Biz Center: register_brand (POST /corp/brand) and resubmit_brand (PUT /corp/brand/{id}).
local core = require "bizreg.core"
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local auth = require "bizreg.auth"

local M = {}

local EXTRA_OPTS = { token = "string", client_id = "string", client_secret = "string", json_content_type = "string" }

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

-- opts: boundary (fixed, for reproducible bodies), json_content_type (Content-Type of the
-- JSON parts: undocumented by RCS [G], so none by default, like the documented curl sample).
local function encode(payload, opts)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
  local body, props = core.encode_brand(payload, opts)
  if not body then return nil, validation_error(props) end
  return body
end

function M.prepare(payload, opts)
  local body, err = encode(payload, opts)
  if not body then return nil, err end
  local s, msg = body:tostring()
  body:free()  -- its buffers now, not at the next collection
  if not s then
    return nil, errors.validation { message = msg }
  end
  return { method = "POST", path = "/corp/brand", headers = { ["Content-Type"] = body:content_type() }, body = s }
end

function M.error_code(res)
  local body = cjson.decode(res.body or "")
  if type(body) == "table" and type(body.error) == "table" then
    return body.error.code ~= nil and tostring(body.error.code) or nil, body
  end
  return nil, body
end

function M.map_error(res)
  local code, body = M.error_code(res)
  local e = { body = res.body, code = code }
  if type(body) == "table" and type(body.error) == "table" and type(body.error.message) == "string" then
    e.message = body.error.message
  end
  e.message = e.message or ("HTTP " .. res.status)
  return errors.http(res.status, e)
end

local function to_int(v) return type(v) == "number" and math.floor(v) or v end

-- Success is the documented envelope only: a JSON object whose result is a list whose
-- first entry is an object with a non-empty string brandId.
function M.map_response(res)
  if res.status < 200 or res.status > 299 then return nil, M.map_error(res) end
  local body = res.body:match("^[ \t\r\n]*{") and cjson.decode(res.body)
  if type(body) ~= "table" or type(body.result) ~= "table" then
    return nil, errors.decode(res.status, "response is not the RCS success envelope", res.body)
  end
  local first = body.result[1]
  local out = { code = body.code, status = type(body.status) == "number" and to_int(body.status) or res.status,
    result = body.result, desc = body.desc }
  if body.desc == cjson.null then out.desc = nil end
  out.brandId = type(first) == "table" and first.brandId or nil
  if type(out.brandId) ~= "string" or out.brandId == "" then
    return nil, errors.decode(res.status, "response carries no brandId", res.body)
  end
  return out
end

-- ---- client ----------------------------------------------------------------


local function brand_request(self, ctx, method, path, payload)
  local body, err = encode(payload, self.encode_opts)
  if not body then return nil, err end
  local res, cerr = self:call(ctx, {
    method = method, path = path, headers = { ["Content-Type"] = body:content_type() }, body = body, progress = true,
  })
  body:free()  -- the call is over: its buffers (and the files given as data) go now, not at the next GC
  return self:finish(res, cerr, M.map_response)
end

local function check_payload(payload)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
end

M.ops = {}

M.ops.register_brand = { check = check_payload, run = function(self, ctx, payload)
  return brand_request(self, ctx, "POST", "/corp/brand", payload)
end }

-- brandId goes into the URL path: only the documented shape (<= 13 chars) is accepted.
M.ops.resubmit_brand = {
  check = function(brand_id, payload)
    if type(brand_id) ~= "string" then errors.raise("bizreg: brandId must be a string") end
    check_payload(payload)
  end,
  run = function(self, ctx, brand_id, payload)
    if #brand_id == 0 or #brand_id > 13 or brand_id:find("[^%w%.%-_]") then
      return nil, validation_error { { key = "brandId", reason = "InvalidFormat", code = "64316" } }
    end
    return brand_request(self, ctx, "PUT", "/corp/brand/" .. brand_id, payload)
  end,
}

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
local function credentials(client_id, client_secret)
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
  return auth.cached("Authorization", "Bearer", fetch, renewable, { client_secret })
end

local Rcs = client.class("bizreg.rcs", M.ops)

function M.new(opts)
  client.check_options(opts, EXTRA_OPTS)
  local function raise(msg) errors.raise("bizreg: " .. msg) end
  local provider
  if opts.client_id or opts.client_secret then
    if not (opts.client_id and opts.client_secret) then raise("client_id needs client_secret") end
    if opts.token then raise("give either token or client_id/client_secret") end
    if opts.client_id == "" or opts.client_secret == "" then raise("client_id and client_secret must not be empty") end
    provider = credentials(opts.client_id, opts.client_secret)
  else
    if opts.token == nil then raise("a credential is required: token or client_id + client_secret") end
    if opts.token == "" then raise("token must not be empty") end
    provider = auth.static(opts.token, "Authorization", "Bearer")
  end
  local jct = opts.json_content_type
  if jct and (jct == "" or jct:find("%c")) then
    raise("option 'json_content_type' must be a media type (no control characters), e.g. \"application/json\"")
  end
  local c = client.new(Rcs, opts, provider)
  c.encode_opts = jct and { json_content_type = jct } or nil  -- as prepare_brand's opts
  return c
end

return M
