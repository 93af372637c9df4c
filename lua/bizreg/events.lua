--- Debug events: what went over the wire, without a packet capture.
--
-- Give a client `on_event = function(ev) ... end` and it is called with one table per
-- event, for blocking calls, jobs (`start`/`poll`) and custom transports alike (the
-- nginx transport included: events come from the client, not from the transport).
-- Every event has `type`; the other fields depend on it (see the tables below).
--
-- * **Off by default, free when off**: without `on_event` no event table is built and no
--   function of this module runs.
-- * **Secrets never appear**: header values that carry a credential are redacted
--   (`Authorization: Bearer ***`), every other string is scrubbed of the client's secrets,
--   bodies are never included (only their size), and `token` events never carry the token.
-- * **A raising hook never breaks the call**: the error is written once to `io.stderr` and
--   `on_event` is switched off for that client; the call goes on as if it had no hook. So
--   does a hook that calls `coroutine.yield()` inside a job (it would park the job where
--   `bizreg.poll` never resumes it); a hook may call `client:close()`: the call then
--   returns `nil, CLIENT_CLOSED`.
--
-- @module bizreg.events
-- @usage
-- local rcs = bizreg.rcs { base_url = url, client_id = id, client_secret = secret,
--   on_event = function(ev)
--     if ev.type == "request" then print("> " .. ev.method .. " " .. ev.url .. " attempt " .. ev.attempt)
--     elseif ev.type == "response" then print("< " .. ev.status .. string.format(" %.3f s", ev.elapsed))
--     elseif ev.type == "retry" then print("~ " .. ev.reason .. ", again in " .. ev.delay .. " s")
--     elseif ev.type == "token" then print("* token " .. ev.action)
--     elseif ev.type == "error" then print("! " .. tostring(ev.err)) end
--   end }
local errors = require "bizreg.errors"
local jobs = require "bizreg.jobs"

local M = {}

--- A request is about to be handed to the transport (once per attempt).
-- @table request
-- @field type `"request"`
-- @field method `"POST"`, `"PUT"`
-- @field url the full URL (`base_url` .. path)
-- @field headers name -> value, as sent (plus `Content-Length` when known); the
--   credential header is redacted to its scheme (`"Bearer ***"`, or `"***"`)
-- @field body_size bytes of the body
-- @field attempt 1 for the first attempt, 2 for the first retry, ...
-- @usage -- { type = "request", method = "POST", url = "https://…/api/1.1/corp/brand", attempt = 1,
-- --   body_size = 36822, headers = { Authorization = "Bearer ***", ["Content-Length"] = "36822",
-- --   ["Content-Type"] = "multipart/form-data; boundary=…", Accept = "application/json", … } }

--- A response arrived (any status, 429 and 401 included).
-- @table response
-- @field type `"response"`
-- @field status HTTP status
-- @field headers the selected response headers present (lower-case names):
--   `content-type`, `content-length`, `retry-after`, `location`, `www-authenticate`,
--   `x-request-id` (values scrubbed of secrets)
-- @field elapsed seconds from handing the request to the transport to the response
-- @usage -- { type = "response", status = 200, elapsed = 0.042,
-- --   headers = { ["content-type"] = "application/json", ["content-length"] = "97" } }

--- The call will try again (a connect-phase failure or HTTP 429; for a route whose repeat
-- cannot change the outcome also a failure after sending and 502/503/504: see
-- docs/reliability.md, bizreg.routes).
-- @table retry
-- @field type `"retry"`
-- @field attempt the number of the attempt about to be made (2 for the first retry)
-- @field reason `"HTTP 429"` (`"HTTP 503"`, …), or the transport error code (`"COULDNT_CONNECT"`, ...)
-- @field delay seconds the call waits first (back-off or `Retry-After`, capped by `retry_max_wait`)
-- @usage -- { type = "retry", attempt = 2, reason = "HTTP 429", delay = 1 }
-- -- { type = "retry", attempt = 3, reason = "COULDNT_CONNECT", delay = 0.4 }

--- A token was fetched from the token API (RCS `/token`, KOS `exchange-token`).
-- Never the token itself. Clients given a fixed `token` emit none.
-- @table token
-- @field type `"token"`
-- @field action `"fetched"` (the client's first) or `"renewed"` (a later one)
-- @field reason for `"renewed"`: `"expired"` (its lifetime ran out) or `"rejected"` (a 401 the
--   server says a new token fixes)
-- @field expires_at epoch seconds the server announced (RCS `expiresIn`); nil when unknown (KOS)
-- @field expires_in seconds from now to `expires_at`; nil when unknown
-- @field note set when the client did not take the server's `expiresIn` as said: it was in the
--   past, absurdly far away or not a number, so the token is kept for `token_lifetime` seconds
--   (`expires_at` is then that bounded expiry), e.g. `"expiresIn 1568694883 is in the past: kept 3600 s"`;
--   a value that is not a number is named by its type only, never its text
-- @usage -- { type = "token", action = "fetched", expires_at = 1795789730, expires_in = 3600 }
-- -- { type = "token", action = "renewed", reason = "rejected", expires_at = 1795793330, expires_in = 3600 }

--- An answer had documented fields of an unexpected type (a code that is neither a string nor
-- a whole number, `menus` that is not a list, ...). They are kept raw in the result (or as the
-- error's `raw_code`); the call goes on. Fields nobody asked about never fail a call.
-- @table answer
-- @field type `"answer"`
-- @field fields the paths of those fields, e.g. `{ "result[1].menus" }`, `{ "error.code" }`
-- @usage -- { type = "answer", fields = { "result[1].menus" } }

--- The call ends with an error.
-- @table error
-- @field type `"error"`
-- @field err the error table the call returns (already scrubbed; see `bizreg.errors`)
-- @usage on_event = function(ev)
--   if ev.type == "error" and ev.err.sent then log("unknown outcome: " .. tostring(ev.err)) end
-- end

local SELECTED = { "content-type", "content-length", "retry-after", "location", "www-authenticate", "x-request-id" }
local CREDENTIAL = { authorization = true, ["proxy-authorization"] = true, cookie = true, ["x-api-key"] = true }

-- Calls the client's hook; a raise switches it off for that client, reported once. So does
-- a yield inside a job (jobs.protect): the call goes on to its real outcome, which a hook
-- must never change (a registered brand is not to be reported as failed).
local function emit(client, ev)
  local hook = client.on_event
  if not hook then return end
  local ok, e = jobs.protect(hook, ev)
  if ok then return end
  client.on_event = nil
  local msg = errors.scrub_string(tostring(e), client.auth.secrets())
  local what = e == jobs.YIELDED and "yielded" or "raised"
  io.stderr:write("bizreg: the on_event hook ", what, "; events are off for this client: ", msg, "\n")
end

local function redact(client, name, value, secrets)
  local lname = name:lower()
  if CREDENTIAL[lname] or lname == client.auth.header:lower() then
    local scheme = tostring(value):match("^([%w!#$%%&'*+.^_`|~-]+) ")
    return scheme and (scheme .. " ***") or "***"
  end
  return errors.scrub_string(tostring(value), secrets)
end

local function body_size(body)
  if type(body) == "string" then return #body end
  if type(body) == "userdata" then return body:size() end
  return 0
end

-- req: what Client:send hands the transport ({ method, url, headers, body }).
function M.request(client, req, attempt)
  local secrets = client.auth.secrets()
  local size = body_size(req.body)
  local headers = { ["Content-Length"] = tostring(size) }
  for k, v in pairs(req.headers) do headers[k] = redact(client, k, v, secrets) end
  emit(client, { type = "request", method = req.method, url = errors.scrub_string(req.url, secrets),
    headers = headers, body_size = size, attempt = attempt })
end

function M.response(client, res, elapsed)
  local secrets, headers = client.auth.secrets(), {}
  for _, k in ipairs(SELECTED) do
    local v = res.headers[k]
    if v ~= nil then headers[k] = redact(client, k, v, secrets) end
  end
  emit(client, { type = "response", status = res.status, headers = headers, elapsed = elapsed })
end

-- why: the transport error (a table with code) or nil for a 429 answer.
function M.retry(client, attempt, why, delay, status)
  local reason = why and tostring(why.code) or ("HTTP " .. tostring(status or 429))
  emit(client, { type = "retry", attempt = attempt, reason = reason, delay = delay })
end

function M.token(client, action, reason, expires_at, now, note)
  emit(client, { type = "token", action = action, reason = reason, expires_at = expires_at,
    expires_in = expires_at and expires_at - now or nil, note = note })
end

function M.answer(client, fields)
  local copy = {}
  for i, f in ipairs(fields) do copy[i] = errors.scrub_string(f, client.auth.secrets()) end
  emit(client, { type = "answer", fields = copy })
end

function M.error(client, err)
  emit(client, { type = "error", err = err })
end

return M
