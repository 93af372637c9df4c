-- RCS Biz Center emulation: /token, POST /corp/brand, PUT /corp/brand/{brandId}
-- (POST /brand/{brandId}/chatbot: rcs_chatbots.lua; what both share: rcs_common.lua).
--
-- Unlike KOS, RCS answers only the FIRST violation. The order is: auth, brandId
-- (PUT), body framing, part names, regBrand (unknown keys, then fields in the
-- order of the api-notes.md table), chatbots, mainMdn, then files
-- brandProfile -> brandBackground -> subNumCertificate (the rules: rcs_rules.lua).
-- Within one field the checks run: required, type, size, value.
local json = require "bizreg_sandbox.json"
local rules = require "bizreg_sandbox.rcs_rules"
local rand = require "openssl.rand"
local cqueues = require "cqueues"
local brands = require "bizreg_sandbox.rcs_brands"
local rcs_chatbots = require "bizreg_sandbox.rcs_chatbots"  -- a brand POST's first sender numbers
local common = require "bizreg_sandbox.rcs_common"

local rcs = {}

local JSON_HEADERS, ok_reply, err_reply, run = common.JSON_HEADERS, common.ok_reply, common.err_reply, common.run
local random_alnum, check_auth, form_parts = common.random_alnum, common.check_auth, common.form_parts
local violation, bad = rules.violation, rules.bad

-- Injected failures (fail_next) have no documented RCS code; use status.."00".
local FAILURE_MESSAGE = { [429] = "Too Many Requests", [500] = "Internal Server Error", [503] = "Service Unavailable" }
function rcs.failure(status)
  return err_reply(status, tostring(status) .. "00", FAILURE_MESSAGE[status] or "Server Error")
end

local B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local function b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for k = 1, chars do
      local idx = math.floor(n / 2 ^ (18 - 6 * (k - 1))) % 64 + 1
      out[#out + 1] = B64URL:sub(idx, idx)
    end
  end
  return table.concat(out)
end

---------------------------------------------------------------- /token

-- The forms of TokenInfo.expiresIn (config rcs_expires_in); "past" is the spec's example.
local EXPIRES_IN = {
  absolute = function(now, ttl) return tostring(now + ttl) end,
  relative = function(_, ttl) return tostring(ttl) end,
  past = function() return "1568694883" end,
  epoch_ms = function(now, ttl) return string.format("%d", (now + ttl) * 1000) end,
}

function rcs.token(state, req)
  return run(function()
    local cfg = state.config
    if req.body == "" then bad("64301", "Missing Body data") end
    local doc = json.decode(req.body)
    if json.type(doc) ~= "object" then bad("64302", "Invalid JSON format") end
    if doc.clientId ~= cfg.rcs_client_id then violation(401, "61005", "Invalid client id") end
    if doc.clientSecret ~= cfg.rcs_client_secret then violation(401, "61006", "Invalid secret key") end
    local now = os.time()
    local ttl = cfg.rcs_token_ttl
    local token = table.concat({
      b64url('{"alg":"HS256","typ":"JWT"}'),
      b64url(json.encode(json.obj("sub", doc.clientId, "iat", now, "exp", now + ttl, "jti", random_alnum(16)))),
      b64url(rand.bytes(32)),
    }, ".")
    state.rcs_tokens[token] = { expires_at = cqueues.monotime() + ttl, expired = false, account = doc.clientId }
    local info = json.obj(
      "accessToken", token,
      "expiresIn", EXPIRES_IN[cfg.rcs_expires_in](now, ttl),
      "userId", doc.clientId,
      "allowedIp", json.array({ "127.0.0.1" }))
    if cfg.rcs_token_envelope then return ok_reply({ info }) end
    return 200, JSON_HEADERS, json.encode(info)
  end)
end

---------------------------------------------------------------- brand POST / PUT

local PART_NAMES = rules.set_of {
  "regBrand", "chatbots", "brandProfile", "brandBackground", "subNumCertificate", "mainMdn" }


local function brand(state, req, brand_id)
  local account = check_auth(state, req.headers)
  if brand_id then brands.check_access(state, req.headers, brand_id, account) end

  local parts = form_parts(req, PART_NAMES)

  if not parts.regBrand then rules.required_error("regBrand") end
  local rb = rules.json_part(parts.regBrand, "regBrand")
  if json.type(rb) ~= "object" then rules.type_error("regBrand") end
  rules.check_reg_brand(rb)

  local chatbots = parts.chatbots and rules.json_part(parts.chatbots, "chatbots")
  if chatbots then rules.check_chatbots(chatbots) end
  -- mainMdn is deprecated and ignored, but still limited to 40 characters
  if parts.mainMdn and rules.chars(parts.mainMdn.data) > 40 then rules.size_error("mainMdn") end

  if not parts.brandProfile then bad("64329", "Missing profile image") end
  rules.check_brand_image(parts.brandProfile.data, false)
  if parts.brandBackground then rules.check_brand_image(parts.brandBackground.data, true) end
  if parts.chatbots and not parts.subNumCertificate then bad("64305", "Missing Certification document") end
  if parts.subNumCertificate then rules.check_certificate(parts.subNumCertificate.data) end

  if not brand_id then
    repeat brand_id = "BR." .. random_alnum(10) until not state.brands[brand_id]
    local rec = brands.record(state, brand_id, rb, account, "BK." .. random_alnum(15))
    brands.set_images(rec, parts.brandProfile.data, parts.brandBackground and parts.brandBackground.data)
    state.registered.brands = state.registered.brands + 1
    -- the brand's first sender numbers: a later POST .../chatbot of one of them is a duplicate
    if chatbots then rcs_chatbots.record(state, brand_id, chatbots) end
  else
    local rec = state.brands[brand_id]
    brands.resubmitted(state, rec, rb)
    brands.set_images(rec, parts.brandProfile.data, parts.brandBackground and parts.brandBackground.data)
  end
  return ok_reply({ json.obj("brandId", brand_id) })
end

function rcs.register_brand(state, req)
  return run(brand, state, req, nil)
end

function rcs.resubmit_brand(state, req, brand_id)
  return run(brand, state, req, brand_id)
end

-- Brand reads (rcs_brands.lua): the same auth and first-violation answers.
for name, fn in pairs { get_brand = brands.get, list_brands = brands.list, brand_categories = brands.categories } do
  rcs[name] = function(state, req)
    return run(function() return fn(state, req, check_auth(state, req.headers)) end)
  end
end

return rcs
