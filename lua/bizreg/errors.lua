--- Errors: what a call returns as `nil, err`.
--
-- Every error is a plain table of one shape (the `error` table below) with a one-line
-- `tostring(err)`, built only in this module. Secrets (tokens, API keys, client secrets and
-- the tokens fetched with them) never appear in it: every string of any value a call
-- returns, error or result, is scrubbed (`***`), raw or JSON-escaped. The guide
-- docs/errors.md ("Errors you may see") says what to do with each kind and code.
-- @module bizreg.errors
-- @usage
-- local res, err = rcs:register_brand(payload)
-- if not res then
--   print(err)                                   -- bizreg validation error 400 [64336]: required value: [name] — …
--   for _, p in ipairs(err.errorProperties) do print(p.key, p.reason, p.code) end
--   if err.kind == "transport" and err.sent then print("may have arrived: look before sending again") end
-- end

--- The fields of an error.
-- @table error
-- @field kind `"validation"` (nothing was sent), `"http"` (the server answered non-2xx),
--   `"transport"` (no complete HTTP exchange), `"decode"` (2xx, but not the documented answer)
-- @field status the HTTP status (400 for validation, as the servers say; nil for transport); RCS:
--   the status the error envelope names (its `status` field), which may differ from the HTTP one
-- @field http_status RCS http errors: the HTTP status the answer came with (an error envelope
--   may arrive inside an HTTP 200: then `status = 400, http_status = 200`, never retried)
-- @field message the server's message, libcurl's text, or what was wrong
-- @field className KOS: the exception name (`InvalidCommandException` for validation)
-- @field code RCS: the code as a decimal string (`"64336"`, `"61003"`), whether the server sent it
--   as a JSON string, an integer or a float (`61003.0`); a code of any other type is absent here and
--   kept as `raw_code` (and named in an `answer` event); transport: the error name (`COULDNT_CONNECT`,
--   `OPERATION_TIMEDOUT`, `CONNECTION_DIED`, `DEADLINE_EXCEEDED`, `CLIENT_CLOSED`, `WAIT_TIMEOUT`,
--   `WALK_LIMIT`, `WALK_TIMEOUT` (with `pages`, `brands`), …)
-- @field errorProperties **every** violation, a list of
--   `{ key, reason, index?, code?, message?, value? }` (`{}` if none), e.g.
--   `{ key = "memo", reason = "TooLong", index = 3 }` (KOS: index is the image's position),
--   `{ key = "regBrand.menus[2].weblink", reason = "Required", code = "64336" }` (RCS)
-- @field retryable true when sending the same request again is safe and may succeed:
--   `bizreg.outcome.of(err) == "not_processed"` (connect-phase failures; HTTP 429, 503 with
--   `Retry-After`), or, for a route whose repeat cannot change the outcome (`bizreg.routes`:
--   reads, cancels, deletes by ID), a broken connection after sending or a 502/503/504, which
--   `outcome.of` still calls `"maybe_processed"` (docs/reliability.md)
-- @field resent true when bizreg sent the request again after an attempt that may have been
--   processed (only a "repeat" route): this answer is the repeat's, and `outcome.of` reads
--   `"maybe_processed"` (a delete answered "not found" may be the first attempt's success)
-- @field retry_after http: the answer's `Retry-After` in seconds, if it had one
-- @field sent true when some byte of the request may have reached the server: the request
--   may have been registered (docs/reliability.md); false for an error of the token step
-- @field step `"token"` when the call failed while getting its token (the token API's answer or
--   connection): the call's own request was never sent (`sent = false`); `outcome.of` reads
--   `"not_processed"`, or `"refused"` when the token API refused the credentials
-- @field body http and decode: the raw answer, first 4 KiB, secrets masked
-- @field curl_code transport errors from libcurl: the `CURLcode` number
-- @field url http 404: the URL that was not found (the usual cause: a wrong `base_url`)
-- @usage local _, err = kos:register_visitor_images { images = { { fileName = "a.jpg" } } }
-- print(err.kind, err.status, err.sent)           --> validation  400  false
-- print(err.errorProperties[1].key, err.errorProperties[1].reason, err.errorProperties[1].index)
--                                                 --> visitorId  Required  1

-- Secrets: M.finish scrubs every string (keys and values, nested, cycles-safe) of any value
-- a call returns, error or result; see M.scrub_string for what "contains a secret" means.
local outcome = require "bizreg.outcome"

local M = {}

local BODY_LIMIT = 4096
local SHOWN = 5
local MASK = "***"

local mt = {}
mt.__index = mt

-- err -> the secrets it was scrubbed for: tostring checks its own output against them
-- (fields joined by separators could form a secret). Weak: nothing outlives the error.
local rendered_secrets = setmetatable({}, { __mode = "k" })

-- One line whatever the fields hold: C0 controls, DEL, NEL, U+2028/2029 become spaces.
local function one_line(s)
  s = tostring(s):gsub("%c+", " ")
  return (s:gsub("\194\133", " "):gsub("\226\128[\168\169]", " "))
end

local function describe(p)
  if type(p) ~= "table" then return tostring(p) end
  local s = tostring(p.key) .. " " .. tostring(p.reason)
  if p.index then s = s .. " (item " .. tostring(p.index) .. ")" end
  return s
end

mt.__tostring = function(e)
  local s = "bizreg " .. tostring(e.kind) .. " error"
  if e.status then s = s .. " " .. tostring(e.status) end
  if e.code then s = s .. " [" .. tostring(e.code) .. "]" end
  if e.message then s = s .. ": " .. tostring(e.message) end
  local props = type(e.errorProperties) == "table" and e.errorProperties or {}
  if #props > 0 then
    local parts = {}
    for i = 1, math.min(#props, SHOWN) do parts[i] = describe(props[i]) end
    if #props > SHOWN then parts[#parts + 1] = "+" .. (#props - SHOWN) .. " more" end
    s = s .. " — " .. table.concat(parts, "; ")
  end
  s = one_line(s)
  local secrets = rendered_secrets[e]
  return secrets and M.scrub_string(s, secrets) or s
end

-- Programmer errors (wrong argument types, unknown options, a closed client) raise at
-- the caller's position: the first frame outside this library's files, found by walking
-- the stack, so tail calls and the library's own nesting never hide the caller's line.
local LIB = "@" .. (debug.getinfo(1, "S").source:match("^@(.*)errors%.lua$") or "\0")
function M.raise(msg)
  local level = 2
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.what ~= "C" and info.currentline > 0 and info.source:sub(1, #LIB) ~= LIB then break end
    level = level + 1
  end
  error(msg, debug.getinfo(level, "S") and level or 0)  -- not a tail call: the levels stay as counted
end

--- Whether v is an error made by bizreg.
-- @param v any value
-- @treturn boolean
-- @usage if bizreg.errors.is_error(err) then print(err.kind, err.code) end
function M.is_error(v) return getmetatable(v) == mt end

local SENT_BY_KIND = { validation = false, http = true, decode = true }

function M.new(fields)
  fields.errorProperties = fields.errorProperties or {}
  if fields.retryable == nil then fields.retryable = false end
  if fields.sent == nil then fields.sent = SENT_BY_KIND[fields.kind] ~= false end
  return setmetatable(fields, mt)
end

-- ---- secrets -----------------------------------------------------------------
-- A string "contains" a secret when the secret occurs in it as raw bytes, or in its JSON
-- unescaped form (\" \\ \/ \b \f \n \r \t, \uXXXX in either case, surrogate pairs): that is
-- every way a JSON encoder can write the secret inside a string. M.scrub_string masks every
-- such occurrence, then checks its own output the same way and, should masking have formed
-- a new occurrence, returns MASK (or "" if even MASK contains a secret): the result provably
-- contains no secret in either form. (Other encodings a server could invent, e.g. base64
-- or %XX, are not recognised.)

local SIMPLE = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

-- s with JSON escapes decoded, as pieces: text[k] starts at decoded offset ds[k] and came
-- from raw bytes rs[k]..re[k]; run[k]: the piece is raw text (byte-for-byte).
local function unescape(s)
  local m = { text = {}, ds = {}, rs = {}, re = {}, run = {}, n = 0 }
  local d = 1
  local function add(text, r1, r2, run)
    local k = m.n + 1
    m.n, m.text[k], m.ds[k], m.rs[k], m.re[k], m.run[k] = k, text, d, r1, r2, run
    d = d + #text
  end
  local i, n = 1, #s
  while i <= n do
    local a = s:find("\\", i, true)
    if not a then add(s:sub(i), i, n, true) break end
    if a > i then add(s:sub(i, a - 1), i, a - 1, true) end
    local c = s:sub(a + 1, a + 1)
    local hex = (c == "u" or c == "U") and s:match("^%x%x%x%x", a + 2)
    if SIMPLE[c] then
      add(SIMPLE[c], a, a + 1, false)
      i = a + 2
    elseif hex then
      local cp, stop = tonumber(hex, 16), a + 5
      local lo = cp >= 0xD800 and cp <= 0xDBFF and s:match("^\\[uU](%x%x%x%x)", a + 6)
      lo = lo and tonumber(lo, 16)
      if lo and lo >= 0xDC00 and lo <= 0xDFFF then
        cp, stop = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00), a + 11
      end
      add(utf8_char(cp), a, stop, false)
      i = stop + 1
    else
      add("\\", a, a, true)
      i = a + 1
    end
  end
  m.decoded = table.concat(m.text)
  return m
end

-- Raw position of decoded byte p; last: the end of the raw unit rather than its start.
local function raw_pos(m, p, last)
  local lo, hi = 1, m.n
  while lo < hi do  -- the last piece starting at or before p
    local mid = math.floor((lo + hi + 1) / 2)
    if m.ds[mid] <= p then lo = mid else hi = mid - 1 end
  end
  if m.run[lo] then return m.rs[lo] + (p - m.ds[lo]) end
  return last and m.re[lo] or m.rs[lo]
end

-- Every occurrence (overlapping ones too) of needle in hay, as {first, last} pairs.
local function occurrences(hay, needle, out, map)
  local from = 1
  while true do
    local a, b = hay:find(needle, from, true)
    if not a then return end
    if map then out[#out + 1] = { raw_pos(map, a, false), raw_pos(map, b, true) }
    else out[#out + 1] = { a, b } end
    from = a + 1
  end
end

local function contains(s, secrets)
  local m = s:find("\\", 1, true) and unescape(s).decoded
  for i = 1, #secrets do
    if s:find(secrets[i], 1, true) or (m and m:find(secrets[i], 1, true)) then return true end
  end
  return false
end

function M.scrub_string(s, secrets)
  if type(s) ~= "string" or not contains(s, secrets) then return s end
  local spans = {}
  local map = s:find("\\", 1, true) and unescape(s)
  for i = 1, #secrets do
    occurrences(s, secrets[i], spans)
    if map then occurrences(map.decoded, secrets[i], spans, map) end
  end
  table.sort(spans, function(x, y) return x[1] < y[1] end)
  local out, pos = {}, 1
  for _, sp in ipairs(spans) do
    if sp[1] >= pos then out[#out + 1] = s:sub(pos, sp[1] - 1) .. MASK end
    if sp[2] + 1 > pos then pos = sp[2] + 1 end
  end
  out[#out + 1] = s:sub(pos)
  local r = table.concat(out)
  if not contains(r, secrets) then return r end
  return contains(MASK, secrets) and "" or MASK
end

-- Numbers: a numeric secret echoed as a JSON number.
local function scrub_number(n, secrets)
  local forms = { tostring(n), string.format("%.14g", n), string.format("%.17g", n) }
  if n == math.floor(n) and n > -2 ^ 63 and n < 2 ^ 63 then forms[4] = string.format("%.0f", n) end
  for _, f in ipairs(forms) do
    if contains(f, secrets) then return MASK end
  end
  return n
end

-- Fields of an error the library sets itself (enums, HTTP status, flags): not server text.
local OWN_FIELDS = { kind = true, status = true, http_status = true, retryable = true, sent = true, curl_code = true, retry_after = true }
local NONE = {}

-- keep: names of identifier fields (brandId, visitorId, ...) whose values stay as they are,
-- at any depth: they are data the caller acts on, never text a secret was echoed into.
local function scrub_value(v, secrets, seen, keep)
  local t = type(v)
  if t == "string" then return M.scrub_string(v, secrets) end
  if t == "number" then return scrub_number(v, secrets) end
  if t ~= "table" or seen[v] then return v end
  seen[v] = true
  local skip = M.is_error(v) and OWN_FIELDS or keep
  local keys = {}
  for k in next, v do keys[#keys + 1] = k end  -- raw traversal; no keys added while it runs
  for _, k in ipairs(keys) do
    local val = rawget(v, k)
    if not skip[k] then
      -- number keys are array positions, not server text; table keys are scrubbed in place
      local nk = type(k) == "string" and M.scrub_string(k, secrets) or k
      if type(k) == "table" then scrub_value(k, secrets, seen, keep) end
      val = scrub_value(val, secrets, seen, keep)
      if nk ~= k then rawset(v, k, nil) end
      rawset(v, nk, val)
    end
  end
  return v
end

local function usable(secrets)
  local list = {}
  for _, s in ipairs(secrets or NONE) do
    if type(s) == "string" and s ~= "" then list[#list + 1] = s end
  end
  return list
end

local function scrub_with(v, list, keep)
  if #list == 0 then return v end
  if M.is_error(v) then rendered_secrets[v] = list end
  if type(v) == "table" and next(v) == nil then return v end  -- {}: KOS's usual answer
  -- an error keeps no identifier unscrubbed: it is server text, no data to act on
  return scrub_value(v, list, {}, not M.is_error(v) and keep or NONE)
end

-- Scrubs v in place (strings, numbers, keys; nested; cycles-safe) and returns it.
function M.scrub(v, secrets) return scrub_with(v, usable(secrets), NONE) end

-- The last step of every call, for what it returns (result or error): an error's raw body
-- is masked over a window that covers any escaped secret crossing the 4 KiB cut, then cut;
-- then everything is scrubbed. list: non-empty strings (the auth providers' secrets());
-- keep (optional): a result's identifier field names -> true, left as they are.
function M.finish(v, list, keep)
  if M.is_error(v) and type(v.body) == "string" and #v.body > BODY_LIMIT then
    local longest = 0
    for _, s in ipairs(list) do longest = math.max(longest, #s) end
    -- one decoded byte is at most 6 raw bytes (\u00XX)
    v.body = M.scrub_string(v.body:sub(1, BODY_LIMIT + 6 * longest), list):sub(1, BODY_LIMIT)
  end
  return scrub_with(v, list, keep or NONE)
end


-- Connect-phase failures: nothing reached the server and trying again may work, so even a
-- POST may be resent. (A failed certificate check was not sent either, but will fail again.)
M.CONNECT_RETRY = {
  COULDNT_CONNECT = true, COULDNT_RESOLVE_HOST = true, COULDNT_RESOLVE_PROXY = true,
  OPERATION_TIMEDOUT = true, SEND_ERROR = true,
}

-- t: the raw { code, message, sent, curl_code } of a transport (C core, ngx, custom).
function M.transport(t)
  return M.new {
    kind = "transport",
    code = t.code or "TRANSPORT_ERROR",
    message = t.message or tostring(t.code),
    retryable = t.sent == false and M.CONNECT_RETRY[t.code] == true,
    sent = t.sent ~= false,
    curl_code = t.curl_code,
  }
end

-- Whether an answer of this HTTP status (and Retry-After, in seconds) may be sent again: the
-- one outcome table (bizreg.outcome) says it was not processed.
function M.retryable_status(status, retry_after)
  return outcome.of_status(status, retry_after) == outcome.NOT_PROCESSED
end

-- fields.message: the server's message, if it sent one. fields.retry_after: the answer's
-- Retry-After in seconds (a 503 with one was not processed). url: the request's URL, given on
-- a 404 (set as err.url and named in the message: the usual cause is a wrong base URL).
function M.http(status, fields, url)
  fields.kind = "http"
  fields.status = status
  if status == 404 and url then
    fields.url = url
    fields.message = fields.message and (fields.message .. " at " .. url) or ("not found at " .. url .. " (check the base URL)")
  end
  fields.message = fields.message or ("HTTP " .. status)
  fields.retryable = M.retryable_status(status, fields.retry_after)
  return M.new(fields)
end

-- The call's token step failed (fetching or renewing its token): the call's own request never
-- left, whatever the token request did (it registers nothing). sent = false for the call;
-- bizreg.outcome reads step = "token" (not processed, or refused when the token API refused).
function M.token_step(err)
  if type(err) ~= "table" then return err end
  err.step, err.sent, err.resent = "token", false, nil
  err.retryable = outcome.of(err) == outcome.NOT_PROCESSED
  return err
end

-- body: kept whole here; M.finish masks secrets and cuts it.
function M.decode(status, message, body)
  return M.new { kind = "decode", status = status, message = message, body = body }
end

function M.validation(fields)
  fields.kind = "validation"
  fields.status = 400
  return M.new(fields)
end

return M
