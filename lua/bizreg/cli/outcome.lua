-- What a failed call means for the operator, and the exit codes:
--   0 ok · 1 validation or HTTP error · 2 usage · 3 transport (nothing sent) · 4 unknown outcome
-- Which failures may have been processed is the library's one outcome table (bizreg.outcome).
local json = require "bizreg.cli.json"
local lib = require "bizreg.outcome"

local M = {}

M.OK, M.FAILED, M.USAGE, M.TRANSPORT, M.UNKNOWN = 0, 1, 2, 3, 4

-- An unknown outcome outranks everything: it needs a check before anything is re-sent.
local RANK = { [0] = 0, [1] = 1, [3] = 2, [4] = 3 }
function M.worst(a, b)
  if (RANK[b] or 0) > (RANK[a] or 0) then return b end
  return a
end

-- "unknown" when the request may have been processed (bizreg.outcome: 5xx other than a 503
-- with Retry-After, a 2xx whose body could not be read, a transport failure after the body
-- left): held back until the operator reconciles. Otherwise "failed" (not processed, or
-- refused: safe to fix and send again). Plus the exit code.
function M.classify(err)
  if lib.of(err) == lib.MAYBE then return "unknown", M.UNKNOWN end
  if err.kind == "transport" then return "failed", M.TRANSPORT end
  return "failed", M.FAILED
end

-- The report of a write that failed (brand register/resubmit/update/cancel/delete, chatbot
-- writes): its line ("UNKNOWN OUTCOME  …" when the request may have been processed, else
-- "failed  …") and JSON object (o.key = o.value first when given, then state, o.elapsed when
-- given, error); then o.lines(ui, err) when given (more lines), and for an unknown outcome
-- `unknown` on stderr: what to check before sending again. Returns the exit code.
function M.write_failed(ui, err, unknown, o)
  local state, code = M.classify(err)
  ui:result((state == "unknown" and "UNKNOWN OUTCOME  " or "failed  ") .. M.describe(err),
    json.obj(o.key, o.value, "state", state, "elapsed", o.elapsed, "error", M.error_json(err)), json.encode)
  if o.lines then o.lines(ui, err) end
  if state == "unknown" then ui:err("bizreg: " .. unknown) end
  return code
end

-- Failures that every later request would hit too: stop instead of repeating them.
function M.stops(err)
  return err.kind == "transport" or err.status == 401 or err.status == 403
end

-- Lua's SIGINT handler raises "interrupted!"; inside a libcurl callback the library
-- reports it as an error of the call instead.
function M.interrupted(err)
  return tostring(err and err.message or ""):find("interrupted!", 1, true) ~= nil
end

function M.error_json(err)
  local props = json.array()
  for _, p in ipairs(err.errorProperties or {}) do
    props[#props + 1] = json.obj("key", p.key, "reason", p.reason, "index", p.index, "code", p.code,
      "message", p.message)
  end
  return json.obj("kind", err.kind, "code", err.code, "status", err.status, "message", err.message,
    "retryable", err.retryable, "sent", err.sent, "errorProperties", props)
end

-- One line: "http 500 InternalServerErrorException" / "transport OPERATION_TIMEDOUT: …".
function M.describe(err)
  local s = tostring(err.kind)
  if err.status then s = s .. " " .. err.status end
  if err.code then s = s .. " [" .. err.code .. "]" end
  if err.message then s = s .. ": " .. tostring(err.message):gsub("[\r\n]+", " ") end
  if err.kind == "transport" then
    s = s .. (err.sent and " (the request may have reached the server)" or " (nothing was sent)")
  elseif err.kind == "http" and lib.of(err) == lib.MAYBE then
    s = s .. " (the server may have processed the request)"
  end
  return s
end

return M
