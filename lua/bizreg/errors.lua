-- Error values: plain tables with stable fields and a one-line __tostring.
--   kind            "validation" | "http" | "transport" | "decode"
--   status          HTTP status (400 for validation, mirroring the servers)
--   message         server-style message
--   className       KOS exception name (validation: InvalidCommandException)
--   code            RCS code string, or the transport error name ("COULDNT_CONNECT")
--   errorProperties list of { key, reason, index?, code?, message? }
--   retryable       boolean: sending the same request again is safe and may succeed
--   body            http/decode: raw response body, first 4 KiB
local M = {}

local BODY_LIMIT = 4096
local SHOWN = 5

local mt = {}
mt.__index = mt

local function describe(p)
  local s = tostring(p.key) .. " " .. tostring(p.reason)
  if p.index then s = s .. " (item " .. p.index .. ")" end
  return s
end

mt.__tostring = function(e)
  local head = "bizreg " .. tostring(e.kind) .. " error"
  if e.status then head = head .. " " .. e.status end
  if e.code then head = head .. " [" .. e.code .. "]" end
  -- one line, whatever a server put into its message
  local msg = e.message and (": " .. tostring(e.message):gsub("[\r\n]+", " ")) or ""
  local props = e.errorProperties or {}
  if #props == 0 then return head .. msg end
  local parts = {}
  for i = 1, math.min(#props, SHOWN) do parts[i] = describe(props[i]) end
  if #props > SHOWN then parts[#parts + 1] = "+" .. (#props - SHOWN) .. " more" end
  return head .. msg .. " — " .. table.concat(parts, "; ")
end

function M.is_error(v) return getmetatable(v) == mt end

function M.new(fields)
  fields.errorProperties = fields.errorProperties or {}
  if fields.retryable == nil then fields.retryable = false end
  return setmetatable(fields, mt)
end

-- Replace every occurrence of each secret in s (plain text, not patterns).
local function scrub_string(s, secrets)
  if type(s) ~= "string" then return s end
  for i = 1, #secrets do
    local secret = secrets[i]
    if type(secret) == "string" and #secret >= 4 then
      local out, pos = {}, 1
      while true do
        local a, b = s:find(secret, pos, true)
        if not a then break end
        out[#out + 1] = s:sub(pos, a - 1)
        out[#out + 1] = "***"
        pos = b + 1
      end
      out[#out + 1] = s:sub(pos)
      s = table.concat(out)
    end
  end
  return s
end

-- Secrets never leave through an error, whatever the server echoed back.
function M.scrub(e, secrets)
  if not secrets or #secrets == 0 then return e end
  e.message = scrub_string(e.message, secrets)
  e.body = scrub_string(e.body, secrets)
  for _, p in ipairs(e.errorProperties or {}) do
    p.message = scrub_string(p.message, secrets)
    p.value = scrub_string(p.value, secrets)
  end
  return e
end

function M.clip(body)
  if type(body) ~= "string" then return nil end
  if #body > BODY_LIMIT then return body:sub(1, BODY_LIMIT) end
  return body
end

local RETRYABLE_STATUS = { [429] = true, [502] = true, [503] = true, [504] = true }

-- Connect-phase failures: nothing reached the server and trying again may work, so even a
-- POST may be resent. (A failed certificate check was not sent either, but will fail again.)
M.CONNECT_RETRY = {
  COULDNT_CONNECT = true, COULDNT_RESOLVE_HOST = true, COULDNT_RESOLVE_PROXY = true,
  OPERATION_TIMEDOUT = true, SEND_ERROR = true,
}

function M.transport(t)
  return M.new {
    kind = "transport",
    code = t.code or "TRANSPORT_ERROR",
    message = t.message or tostring(t.code),
    retryable = t.sent == false and M.CONNECT_RETRY[t.code] == true,
    sent = t.sent ~= false,
  }
end

function M.http(status, fields)
  fields.kind = "http"
  fields.status = status
  fields.retryable = RETRYABLE_STATUS[status] or false
  return M.new(fields)
end

function M.decode(status, message, body)
  return M.new { kind = "decode", status = status, message = message, body = M.clip(body) }
end

return M
