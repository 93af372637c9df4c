-- Fault modes: what the sandbox does instead of (or after) answering a request,
-- armed per endpoint with POST /_sandbox/fault (see control.lua). Each mode acts
-- at one point of the exchange:
--   before_read    the request line is in the server's buffer, nothing is parsed
--   after_headers  the request head is parsed, the body is not read
--   after_body     the whole body was read (and counted as received)
--   after_answer   the request was answered normally; then the idle kept-alive
--                  connection is closed (the client's next request meets a stale
--                  connection, the case where a resend is still allowed)
-- "Connection refused" is no mode: use a port nothing listens on.
--
-- reset = RST (SO_LINGER 0, then close), fin = orderly close (shutdown(SHUT_WR),
-- then the rest of the request is read and discarded until the client closes, so
-- unread bytes cannot turn the close into a RST).
local json = require "bizreg_sandbox.json"
local cqueues = require "cqueues"

local faults = {}

local MAX_HOLD = 60 -- seconds any fault holds a connection open at most
local ECHO_LIMIT = 64 * 1024

-- name -> { point, act, params = { name = type } }
local MODES = {
  reset_before_read = { point = "before_read", act = "rst" },
  fin_before_read = { point = "before_read", act = "fin" },
  reset_after_headers = { point = "after_headers", act = "rst" },
  fin_after_headers = { point = "after_headers", act = "fin" },
  reset_after_body = { point = "after_body", act = "rst" },
  fin_after_body = { point = "after_body", act = "fin" },
  hang = { point = "after_body", act = "hang", params = { hold_ms = "number" } },
  reset_idle = { point = "after_answer", act = "rst" },
  fin_idle = { point = "after_answer", act = "fin" },
  truncate = { point = "after_body", act = "raw" },
  overlong = { point = "after_body", act = "raw", params = { hold_ms = "number" } },
  trickle = { point = "after_body", act = "raw", params = { interval_ms = "number", hold_ms = "number" } },
  not_json = { point = "after_body", act = "answer" },
  html_500 = { point = "after_body", act = "answer" },
  empty_502 = { point = "after_body", act = "answer" },
  big_body = { point = "after_body", act = "answer", params = { bytes = "number", chunked = "boolean" } },
  huge_header = { point = "after_body", act = "raw", params = { bytes = "number" } },
  many_headers = { point = "after_body", act = "raw", params = { bytes = "number" } },
  redirect_302 = { point = "after_body", act = "answer", params = { location = "string", port = "number" } },
  redirect_307 = { point = "after_body", act = "answer", params = { location = "string", port = "number" } },
  echo = { point = "after_body", act = "answer", params = { status = "number", escape = "string" } },
}
faults.MODES = MODES

local NAMES = {}
for name in pairs(MODES) do NAMES[#NAMES + 1] = name end
table.sort(NAMES)
faults.NAMES = NAMES

local function is_int(v) return type(v) == "number" and v == math.floor(v) end

-- Checks a POST /_sandbox/fault document; returns the fault or nil, reason.
function faults.parse(doc, endpoint_ok)
  local mode = MODES[doc.mode]
  if not mode then return nil, "mode must be one of " .. table.concat(NAMES, ", ") end
  if not endpoint_ok(doc.endpoint) then return nil, "endpoint must be an endpoint name or \"*\"" end
  local count = doc.count == nil and 1 or doc.count
  if not is_int(count) or count < 1 then return nil, "count must be an integer >= 1" end
  local params = {}
  for _, k in ipairs(json.keys(doc)) do
    if k ~= "mode" and k ~= "endpoint" and k ~= "count" then
      local want = (k == "commit") and "boolean" or (mode.params or {})[k]
      if not want then return nil, "mode " .. doc.mode .. " takes no parameter " .. k end
      if type(doc[k]) ~= want then return nil, k .. " must be a " .. want end
      if want == "number" and (not is_int(doc[k]) or doc[k] < 0) then return nil, k .. " must be an integer >= 0" end
      params[k] = doc[k]
    end
  end
  if params.commit and mode.point ~= "after_body" then
    return nil, "commit applies only to modes acting after the body"
  end
  if mode.params and mode.params.location and not params.location and not params.port then
    return nil, "mode " .. doc.mode .. " needs location or port"
  end
  if params.escape and params.escape ~= "none" and params.escape ~= "unicode" then
    return nil, "escape must be \"none\" or \"unicode\""
  end
  if params.status and (params.status < 200 or params.status > 599) then return nil, "status must be 200..599" end
  return { mode = doc.mode, point = mode.point, act = mode.act, endpoint = doc.endpoint,
    remaining = count, params = params }
end

function faults.describe(f)
  local t = json.obj("mode", f.mode, "endpoint", f.endpoint, "count", f.remaining)
  for _, k in ipairs(json.keys(f.params)) do
    t[k] = f.params[k]
    t[json.ORDER][#t[json.ORDER] + 1] = k
  end
  return t
end

---------------------------------------------------------------- socket actions

local function hold_seconds(f)
  return math.min((f.params.hold_ms or MAX_HOLD * 1000) / 1000, MAX_HOLD)
end

-- Reads and discards until the peer closes, or `hold` seconds passed.
local function drain(sock, hold)
  local deadline = cqueues.monotime() + hold
  while true do
    local left = deadline - cqueues.monotime()
    if left <= 0 then return end
    local data = sock:xread(-65536, "b", left)
    if not data then return end -- EOF, reset or timeout
  end
end

-- RST: SO_LINGER {on, 0} makes close() abort the connection. cqueues has no
-- setsockopt for it, so a luasocket object borrows the descriptor for one call
-- and gives it back (setfd(-1)) before it could close it itself.
local function reset(sock)
  local lsocket = require "socket"
  local t = lsocket.tcp()
  t:close()
  t:setfd(sock:pollfd())
  local ok, err = t:setoption("linger", { on = true, timeout = 0 })
  t:setfd(-1)
  if not ok then io.stderr:write("bizreg-sandbox: SO_LINGER failed: ", tostring(err), "\n") end
  sock:close()
end

local function fin(sock, hold)
  sock:flush("n", 5)
  sock:shutdown("w")
  drain(sock, hold)
  sock:close()
end

local function write_raw(sock, bytes)
  local ok = sock:xwrite(bytes, "bn", 30)
  if ok then ok = sock:flush("n", 30) end
  return ok
end

-- Takes the connection away from lua-http: it sees a closed connection from here
-- on (and sends no error answer of its own); returns the socket, nil if gone.
function faults.takeover(stream)
  local conn = stream.connection
  local sock = conn.socket
  conn.socket = nil
  stream.body_write_type = stream.body_write_type or "fault"
  if stream.state ~= "closed" then stream:set_state("closed") end
  -- the client may have closed first (and lua-http closed its socket)
  if sock and not pcall(sock.pollfd, sock) then return nil end
  return sock
end

-- Ends the connection the way act says.
function faults.finish(sock, act, f)
  if not sock then return end
  if act == "rst" then
    reset(sock)
  elseif act == "fin" then
    fin(sock, hold_seconds(f))
  elseif act == "hang" then
    drain(sock, hold_seconds(f)) -- until the client gives up
    sock:close()
  else
    sock:close()
  end
end

---------------------------------------------------------------- answers

local REASONS = { [200] = "OK", [302] = "Found", [307] = "Temporary Redirect", [500] = "Internal Server Error",
  [502] = "Bad Gateway" }

local function head(status, fields)
  local out = { "HTTP/1.1 " .. status .. " " .. (REASONS[status] or "Status") }
  for _, kv in ipairs(fields) do out[#out + 1] = kv[1] .. ": " .. kv[2] end
  out[#out + 1] = "\r\n"
  return table.concat(out, "\r\n")
end

-- JSON string literal of s; with escape "unicode" every letter, digit and
-- control character is written as \uXXXX (a scrubber must work on decoded text).
local function jstr(s, escape)
  if escape ~= "unicode" then return json.encode(s) end
  return '"' .. s:gsub('[%w%c"\\]', function(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- Body echoing the Authorization header and the request body, shaped so every
-- field the client maps into its result or error carries them.
local function echo_body(endpoint, status, auth, body, escape)
  local a, b = jstr(auth, escape), jstr(body:sub(1, ECHO_LIMIT), escape)
  if endpoint:sub(1, 4) == "kos." then
    return string.format('{"status":%d,"message":%s,"className":%s,"errorProperties":[{"key":%s,"reason":%s},'
      .. '{"key":%s,"reason":%s}],"token":%s,"echo":{%s:%s}}', status, b, a, a, b, b, a, a, a, b)
  end
  -- a 2xx answer has no error object: bizreg reads an error code beside a result as an answer
  -- that says two things (a decode error), and echo 200 is the success path
  local err = status >= 300 and string.format('"error":{"code":%s,"message":%s},', a, b) or ""
  return string.format('{"code":%s,"desc":%s,"status":%d,%s'
    .. '"result":[{"brandId":"BRecho0000001","authorization":%s,"body":%s}],"echo":{%s:%s}}',
    a, b, status, err, a, b, a, b)
end

-- Header value from arbitrary bytes: CR/LF/NUL and other controls become spaces.
local function header_safe(s) return (s:sub(1, 8192):gsub("[%z\1-\31\127]", " ")) end

-- status, headers, body for modes answered through lua-http (well-formed HTTP).
function faults.answer(f, ctx)
  local p = f.params
  if f.mode == "not_json" then
    return 200, { ["content-type"] = "text/plain" }, "registered, probably\n"
  elseif f.mode == "html_500" then
    return 500, { ["content-type"] = "text/html" },
      "<html><head><title>500 Internal Server Error</title></head><body><h1>Oops</h1></body></html>\n"
  elseif f.mode == "empty_502" then
    return 502, {}, ""
  elseif f.mode == "big_body" then
    local n = p.bytes or (16 * 1024 * 1024 + 1)
    return 200, { ["content-type"] = "application/json" }, '"' .. string.rep("x", math.max(n - 2, 0)) .. '"',
      p.chunked
  elseif f.mode == "redirect_302" or f.mode == "redirect_307" then
    local loc = p.location or string.format("http://127.0.0.1:%d%s", p.port, ctx.path)
    return tonumber(f.mode:sub(-3)), { location = loc, ["content-type"] = "application/json" }, "{}"
  elseif f.mode == "echo" then
    local status = p.status or 200
    local auth = ctx.headers.authorization or ""
    return status, {
      ["content-type"] = "application/json",
      ["x-echo-authorization"] = header_safe(auth),
      ["x-echo-body"] = header_safe(ctx.body or ""),
    }, echo_body(ctx.endpoint, status, auth, ctx.body or "", p.escape)
  end
  error("no answer for mode " .. f.mode)
end

local JSON_CT = { "Content-Type", "application/json" }

-- mode -> bytes of its broken or oversized answer, and how the connection ends after them.
local RAW = {
  truncate = function() -- 100 of 200 body bytes
    return head(200, { JSON_CT, { "Content-Length", "200" } }) .. string.rep("t", 100), "fin"
  end,
  overlong = function() -- 2 of 1000 body bytes, then silence
    return head(200, { JSON_CT, { "Content-Length", "1000" } }) .. "{}", "hang"
  end,
  trickle = function()
    return head(200, { JSON_CT, { "Content-Length", "2" } }) .. "{}", "fin"
  end,
  huge_header = function(p) -- one line longer than libcurl's CURL_MAX_HTTP_HEADER (100 KiB)
    return head(200, { JSON_CT, { "X-Huge", string.rep("h", p.bytes or 150 * 1024) },
      { "Content-Length", "2" } }) .. "{}", "fin"
  end,
  many_headers = function(p) -- 1 KB lines, 1.5 MiB in all by default
    local fields, line = { JSON_CT }, string.rep("m", 990)
    for i = 1, math.ceil((p.bytes or 1536 * 1024) / 1000) do fields[#fields + 1] = { string.format("X-Many-%05d", i), line } end
    fields[#fields + 1] = { "Content-Length", "2" }
    return head(200, fields) .. "{}", "fin"
  end,
}

-- One byte per interval_ms (default 1 s) until all went, the client left or the hold ended.
local function trickle(sock, bytes, f)
  local deadline = cqueues.monotime() + hold_seconds(f)
  local interval = (f.params.interval_ms or 1000) / 1000
  for i = 1, #bytes do
    if not write_raw(sock, bytes:sub(i, i)) or cqueues.monotime() >= deadline then return end
    if i < #bytes then cqueues.sleep(interval) end
  end
end

-- Modes that write bytes lua-http would not (broken framing, oversized heads).
function faults.raw(stream, f)
  local sock = faults.takeover(stream)
  if not sock then return end
  local bytes, after = RAW[f.mode](f.params)
  if f.mode == "trickle" then
    trickle(sock, bytes, f)
  elseif not write_raw(sock, bytes) then
    after = "close" -- the client is gone
  end
  faults.finish(sock, after, f)
end

return faults
