-- RCS Biz Center: what every RCS operation file shares (rcs.lua, rcs_brands.lua, rcs_walk.lua,
-- rcs_wait.lua, rcs_categories.lua, rcs_chatbots.lua): the messages by code, the validation
-- error, argument and option checks, brand headers, the form request, the envelope readers.
-- It requires none of those files: each of them requires this one (a tree, no installs).
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local fields = require "bizreg.fields"
local env = require "bizreg.rcs_envelope"

local M = {}

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

-- The ids that go into URL paths, one row each: only the documented shape is accepted
-- (brandId <= 13, chatbotId <= 15 characters: Chatbot.chatbotId in the yaml, api-notes), of
-- letters, digits, ".", "-", "_", and never a dot segment ("." / ".."), which libcurl and
-- servers resolve to another resource. code: the server's for that id (64316 "Invalid brandId";
-- 64105 "Invalid chatbotId on path parameter", the 64101-64109 family).
M.PATH_IDS = {
  brandId = { max = 13, code = "64316" },
  chatbotId = { max = 15, code = "64105" },
}
local function path_id_error(key, v)
  local row = M.PATH_IDS[key]
  if #v == 0 or #v > row.max or v:find("[^%w%.%-_]") or v:find("^%.%.?$") then
    return validation_error { { key = key, reason = "InvalidFormat", code = row.code } }
  end
end
function M.brand_id_error(brand_id) return path_id_error("brandId", brand_id) end
function M.chatbot_id_error(chatbot_id) return path_id_error("chatbotId", chatbot_id) end

local function raise(msg) errors.raise("bizreg: " .. msg) end
M.raise = raise

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

-- A JSON array as cjson gives it: keys are numbers only (an object's are strings).
local function is_list(t)
  for k in pairs(t) do
    if type(k) ~= "number" then return false end
  end
  return true
end

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
  -- every RCS result is an array (the yaml): an object read as a list would be an empty one,
  -- and "no brand of that name" then invites a second registration: never guessed
  if out.result ~= nil and not is_list(out.result) then
    return nil, errors.decode(res.status, "the answer's result is not a list", res.body)
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
    .. "find_brands { name = ... } (docs/reliability.md)",
  PUT = "the brand may have been resubmitted: read its status with get_brand before sending it again",
}

-- The answer of a write that names what it wrote in its result's first entry (`<what>Id`:
-- brandId, chatbotId): the envelope and that entry when the name is `id` (id nil: any non-empty
-- string). Else the outcome is unknown: an answer that is no answer, or one that names nothing
-- or something else, is a decode error (sent = true, never retried) whose message ends with
-- how to find out (how); any other error is returned as it is.
function M.write_answer(res, c, what, id, how)
  local out, err = M.envelope(res, c, true)
  if not out then return nil, M.unknown_outcome(err, how) end
  local key = what .. "Id"
  local first = out.result[1]
  local name = type(first) == "table" and first[key] or nil
  if id == nil and (type(name) ~= "string" or name == "") then
    return nil, errors.decode(res.status, "the answer carries no " .. key .. ": " .. how, res.body)
  elseif id ~= nil and name ~= id then
    return nil, errors.decode(res.status, "the answer does not name " .. what .. " " .. id .. ": " .. how, res.body)
  end
  return out, first
end

-- The answer of a write (register_brand, resubmit_brand): success is the envelope whose
-- result's first entry has a non-empty string brandId (M.write_answer).
function M.map_write(method)
  return function(res, c)
    local out, first = M.write_answer(res, c, "brand", nil, UNKNOWN_OUTCOME[method])
    if not out then return nil, first end
    out.brandId = first.brandId
    return out
  end
end

-- ---- the form request (register_brand, resubmit_brand, register_chatbots) ----------

-- One multipart call: encode (f.encoder: the form's binding, default the brand form), run
-- f.check(self, ctx, payload) after the local validation and before anything is sent
-- (check_categories, rcs_categories.lua), f.call_opts (the call's options: unknown_fields), send through the client's one request path (at most once)
-- with f.headers (the brand-scoped ones, M.brand_headers) and f.route (its bizreg.routes key;
-- none: sent at most once) and map (f.mapper(res, client), default map_write(method)).
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
  local res, cerr = self:call(ctx, { method = method, path = path, route = f.route, headers = headers, body = body,
    progress = true })
  body:free()  -- the call is over: its buffers (and the files given as data) go now, not at the next GC
  if not res then return nil, cerr end
  return (f.mapper or M.map_write(method))(res, self)
end

local function check_payload(payload)
  if type(payload) ~= "table" then errors.raise("bizreg: payload must be a table") end
end
M.check_payload = check_payload

-- (brandId, payload [, call options]) of a brand-scoped call: wrong types raise. allowed: the
-- call options (default brand_key: X-RCS-Brandkey, which the spec defines on the /brand/{brandId}/...
-- operations only, so the chatbot call; api-notes has no source for the /corp/... ones).
local BRAND_OPTS = { brand_key = true, unknown_fields = true }
function M.check_brand_args(brand_id, payload, o, allowed)
  if type(brand_id) ~= "string" then errors.raise("bizreg: brandId must be a string") end
  check_payload(payload)
  M.check_call_opts(o, allowed or BRAND_OPTS)
end

-- ---- brand reads (rcs_brands.lua, rcs_walk.lua, rcs_categories.lua) ----------------

function M.needs_person(self)
  if not self.person_id then
    raise("this call needs the RBC account ID: give the option person_id (a static token does not name its account)")
  end
end

-- RFC 3986 unreserved characters stay; everything else in a path segment is %XX, and so
-- are the dots of a dot segment ("." / ".." would be resolved to another path).
local function segment(s)
  if s:find("^%.%.?$") then return (s:gsub("%.", "%%2E")) end
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function person_path(self) return "/corp/" .. segment(self.person_id) end
M.person_path = person_path

-- The success envelope of a read: its result list, the envelope's fields (code, status, desc)
-- and the decoded body (pagination, links), or nil, nil, err.
function M.result_list(res, c)
  local out, body = M.envelope(res, c)
  if not out then return nil, nil, body end
  local list = out.result
  out.result = nil
  return list, out, body
end

-- Fields of an unexpected type (kept raw) go to the client's answer event.
local function pick_list(res, list, rows, required, odd)
  return fields.pick_list(res, list, rows, required, "result", 1, odd)
end
M.pick_list = pick_list

return M
