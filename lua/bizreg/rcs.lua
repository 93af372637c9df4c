-- RCS Biz Center: the client class. register_brand (POST /corp/brand) and resubmit_brand
-- (PUT /corp/brand/{id}) are here; the other operations come from their own files, each of
-- which returns its ops (rcs_brands, rcs_walk, rcs_wait, rcs_categories, rcs_chatbots,
-- rcs_brand_edit) on the
-- shared pieces of rcs_common.lua; this file merges them into one class. No file installs
-- into another (spec/unit/layering_spec.lua).
local core = require "bizreg.core"
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local auth = require "bizreg.auth"
local token_store = require "bizreg.token_store"
local env = require "bizreg.rcs_envelope"
local C = require "bizreg.rcs_common"
local brands = require "bizreg.rcs_brands"
local walk = require "bizreg.rcs_walk"
local categories = require "bizreg.rcs_categories"
local chatbots = require "bizreg.rcs_chatbots"
local chatbot_ops = require "bizreg.rcs_chatbot_ops"
local wait = require "bizreg.rcs_wait"
local edit = require "bizreg.rcs_brand_edit"

local M = {}

local EXTRA_OPTS = { token = "string", client_id = "string", client_secret = "string", json_content_type = "string",
  token_store = "table", brand_key = "string", person_id = "string", check_categories = "boolean",
  categories_ttl = "number", token_lifetime = "number", unknown_fields = "string" }

-- The shared pieces stay fields of bizreg.rcs, as before they had their own file.
for _, k in ipairs { "MESSAGES", "validation_error", "brand_id_error", "check_brand_key", "check_unknown_fields",
  "check_call_opts", "brand_headers", "prepare_form", "envelope_reader", "error_code", "map_error", "envelope",
  "unknown_outcome", "map_write", "form_request", "check_brand_args" } do
  M[k] = C[k]
end
local raise = C.raise

function M.prepare(payload, opts) return M.prepare_form(payload, opts, core.encode_brand, "POST", "/corp/brand") end
M.map_response = M.map_write("POST")

local brand_request = C.form_request

M.ops = {}

local REGISTER_OPTS = { check_categories = true, unknown_fields = true }
M.ops.register_brand = {
  check = function(payload, o) C.check_payload(payload) M.check_call_opts(o, REGISTER_OPTS) end,
  run = function(self, ctx, payload, o)
    local want = self.check_categories
    if o and o.check_categories ~= nil then want = o.check_categories end
    return brand_request(self, ctx, "POST", "/corp/brand", payload,
      { check = want and categories.check_categories or nil, call_opts = o, route = "POST /corp/brand" })
  end,
}

local RESUBMIT_OPTS = { unknown_fields = true }
M.ops.resubmit_brand = {
  check = function(brand_id, payload, o) M.check_brand_args(brand_id, payload, o, RESUBMIT_OPTS) end,
  run = function(self, ctx, brand_id, payload, o)
    local bad = M.brand_id_error(brand_id)
    if bad then return nil, bad end
    return brand_request(self, ctx, "PUT", "/corp/brand/" .. brand_id, payload,
      { call_opts = o, route = "PUT /corp/brand/{brandId}" })
  end,
}

-- The other operations, each file's own: get_brand, list_brands, find_brands, wait_for_approval,
-- brand_categories, register_chatbots, cancel_brand, delete_brand, update_brand; list_chatbots,
-- get_chatbot, update_chatbot, delete_chatbot, cancel_chatbot.
for _, mod in ipairs { brands, wait, categories, chatbots, edit, chatbot_ops } do
  for name, op in pairs(mod.ops) do M.ops[name] = op end
end
M.prepare_chatbots = chatbots.prepare_chatbots
M.prepare_update_brand = edit.prepare_update_brand
M.prepare_update_chatbot = chatbot_ops.prepare_update_chatbot

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
      method = "POST", path = "/token", route = "POST /token", headers = { ["Content-Type"] = "application/json" },
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
Rcs.each_brand = walk.each_brand  -- an iterator, not one call: no job form
Rcs.each_chatbot = chatbot_ops.each_chatbot

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
