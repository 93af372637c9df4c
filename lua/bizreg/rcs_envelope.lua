-- The one reader of every RCS answer (token, brand calls, chatbots, categories, lists):
-- exact about what matters, tolerant of the dialect the servers speak (issue 15).
--
-- * `code` / `error.code` are read as decimal strings whatever their JSON type: a string,
--   an integer, a float with a zero fraction (61004, 61004.0, "61004" -> "61004"). A code of
--   any other type is kept raw (`raw_code`) and named in an `answer` event.
-- * The Fail envelope (`{"status":400,"error":{"code":..,"message":..}}`, the spec's `default`
--   answer: an `error` object) is recognised inside ANY HTTP status, 200 included: it is an
--   `http` error with the envelope's own status and code; the HTTP status is kept as
--   `http_status`. A 2xx with both an error code and a `result` list says two things: a
--   `decode` error (never a success); an error object without a code beside a result is none.
-- * HTTP 204, or the Fail envelope with 60004 "No Content", is `no_content`: a list reads it
--   as an empty page.
-- * A null is absent; unknown fields are kept; a documented field of another type is kept
--   raw and named in an `answer` event (fields.lua).
local cjson = require "cjson.safe"
local retry_after_of = require("bizreg.client").retry_after  -- the one Retry-After reader
local errors = require "bizreg.errors"
local events = require "bizreg.events"  -- called only when the client has on_event

local M = {}

M.NO_CONTENT = "60004"
M.RENEWABLE = { ["61003"] = true, ["61004"] = true }  -- Invalid token / Token has expired

local function present(v) if v ~= cjson.null then return v end end

-- A code as a decimal string: nil when absent; nil, raw when of another type.
function M.code(v)
  v = present(v)
  if v == nil then return nil end
  if type(v) == "string" then return v end
  if type(v) == "number" and v == math.floor(v) and v >= 0 and v < 2 ^ 53 then
    return v == 0 and "0" or string.format("%.0f", v)  -- (-0 is "0", not "-0")
  end
  return nil, v
end

-- An integer status from a JSON number (or a decimal string); nil otherwise.
local function status_of(v)
  v = present(v)
  local n = type(v) == "string" and v:match("^%d+$") and tonumber(v) or v
  if type(n) == "number" and n == math.floor(n) and n >= 100 and n <= 999 then return math.floor(n) end
  return nil
end

-- The decoded JSON object of an answer, or nil (no body, not JSON, not an object).
-- cjson decodes [] and {} alike: an object is recognised by its first byte.
local function object(res)
  local body = type(res.body) == "string" and res.body:match("^[ \t\r\n]*{") and cjson.decode(res.body)
  if type(body) == "table" then return body end
  return nil
end
M.object = object

-- Reports fields of an unexpected type (list of names) through the client's on_event.
function M.report(client, names)
  if client and client.on_event and names and #names > 0 then events.answer(client, names) end
end

-- The Fail envelope of body, as error fields, or nil. odd: collects unreadable field names.
local function fail_fields(body, odd)
  if type(body) ~= "table" or type(body.error) ~= "table" then return nil end
  local e = body.error
  local code, raw = M.code(e.code)
  if raw ~= nil then odd[#odd + 1] = "error.code" end
  local message = present(e.message)
  if message ~= nil and type(message) ~= "string" then
    odd[#odd + 1] = "error.message"
    message = nil
  end
  return { code = code, raw_code = raw, message = message, status = status_of(body.status) }
end

-- The http error of a Fail envelope f (fail_fields) in answer res.
local function fail_error(res, f)
  -- a 404 names its URL (errors.http): the usual cause is a wrong base URL
  local url = res.status == 404 and res.url or nil
  local retry_after = retry_after_of(res)
  local e = errors.http(f.status or res.status, {
    body = res.body, code = f.code, raw_code = f.raw_code, retry_after = retry_after,
    message = f.message or (not url and ("HTTP " .. res.status) or nil),
  }, url)
  e.http_status = res.status
  -- retried or not by the HTTP status only (bizreg.outcome reads it too): a Fail inside a 200
  -- never is
  e.retryable = errors.retryable_status(res.status, retry_after)
  return e
end

-- The error of any answer that is not a success: the Fail envelope (whatever the HTTP
-- status), else an http error of the HTTP status (non-2xx) without a code.
function M.error(res, client)
  local odd = {}
  local f = fail_fields(object(res), odd) or { status = nil }
  M.report(client, odd)
  return fail_error(res, f)
end

-- The renewable-401 test of auth.cached: the normalised code is 61003 or 61004.
function M.renewable(res)
  local f = fail_fields(object(res), {})
  return f ~= nil and M.RENEWABLE[f.code] == true
end

-- Reads an answer. Returns one of
--   { no_content = true, code = "60004", status = 204 }     (HTTP 204, or the 60004 Fail)
--   out = { code, status, desc, result }, body               (the success envelope; result a
--                                                             table or nil when absent)
--   nil, err                                                 (a Fail envelope in any status,
--                                                             a non-2xx, a 2xx that is not JSON,
--                                                             a 2xx with a result and an error code)
-- client: for the answer event (may be nil).
function M.read(res, client)
  local body = object(res)
  local odd = {}
  local f = fail_fields(body, odd)
  M.report(client, odd)
  local ok_status = res.status >= 200 and res.status <= 299
  -- a 2xx with a result list and an error object: no error when that object has no code;
  -- with one (but the empty 60004 page) the answer says two things: never guess which
  if ok_status and f and type(body.result) == "table" then
    if f.code == nil and f.raw_code == nil then f = nil
    elseif not (f.code == M.NO_CONTENT and next(body.result) == nil) then
      return nil, errors.decode(res.status, "the answer holds both an error (code "
        .. tostring(f.code or "?") .. ") and a result", res.body)
    end
  end
  if ok_status and ((res.status == 204 and body == nil) or (f and f.code == M.NO_CONTENT)) then
    return { no_content = true, code = M.NO_CONTENT, status = 204 }
  end
  if f then return nil, fail_error(res, f) end
  if not ok_status then return nil, fail_error(res, {}) end
  if not body then return nil, errors.decode(res.status, "response is not a JSON object", res.body) end
  local code, raw = M.code(body.code)
  if raw ~= nil then M.report(client, { "code" }) end
  local result = present(body.result)
  if result ~= nil and type(result) ~= "table" then
    M.report(client, { "result" })
    result = nil
  end
  return { code = code, raw_code = raw, status = status_of(body.status) or res.status, desc = present(body.desc),
    result = result }, body
end

return M
