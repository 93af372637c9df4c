-- Tiny HTTP/1.1 test server for spec/e2e/http_spec.lua (lua-http + cqueues, run by lua5.1).
--   lua5.1 spec/helpers/echo.lua PORT [IDLE_SECONDS]
-- The server exits by itself after IDLE_SECONDS (default 120) without a request,
-- so a test run that dies before its teardown leaves nothing behind for long.
-- Endpoints (any method):
--   /echo            JSON {method, path, headers{lower-case name = value}, body_length, body}
--   /delay?ms=N      answers "ok" after N milliseconds (other requests keep being served)
--   /big?bytes=N     N bytes of "x" (with &chunked=1: no Content-Length, chunked encoding)
--   /status?code=N   status N, body "status N"
--   /early           a 103 Early Hints header block (x-early), then 200 "final"
--   /conn            id of the TCP connection the request arrived on (keep-alive reuse is visible)
--   /slowread        reads the request body slowly (10 ms between chunks), then like /echo without the body
--   /count           number of requests seen so far (not counting /count itself)
--   /hdrs?bytes=N&count=K  K response headers x-big-i of N bytes each, then "ok"
--   /repeat?count=N  N copies of the header x-r (values 1..N), then "ok"
--   /lateclose       answers "ok", then closes the kept-alive connection 0.2 s later
--   /lateclosed      how many /lateclose connections were closed so far (not counted in /count)
--   /drop?how=fin|rst  reads the whole request body, then closes the connection without
--                    answering: orderly (FIN) or with a reset (RST, SO_LINGER 0)
--   /pager?...offset=O&limit=L  an RCS brand list page that never ends: L new brandIds
--                    (BR.e<O+1>..BR.e<O+L>), a total always past the page (walk bounds)
local http_server = require "http.server"
local http_headers = require "http.headers"
local cqueues = require "cqueues"
local cjson = require "cjson"

local port = tonumber(arg[1]) or 18301
local idle = tonumber(arg[2]) or 120
local last_request = os.time()
local seen = 0
local lateclosed = 0
local conn_ids = setmetatable({}, { __mode = "k" })
local next_conn = 0

local function query_num(path, name)
  local v = path:match("[?&]" .. name .. "=(%d+)")
  return v and tonumber(v)
end

-- A write to a client that went away fails; the stream is then just dropped.
local function reply(st, status, body, ctype, chunked)
  local h = http_headers.new()
  h:append(":status", tostring(status))
  h:append("content-type", ctype or "text/plain")
  if not chunked then h:append("content-length", tostring(#body)) end
  -- HEAD: headers only. A body here would stay on the keep-alive connection and be read
  -- as the start of the next response ("HTTP/0.9"), depending on timing.
  if st.bizreg_head then
    if not st:write_headers(h, true) then return st:shutdown() end
    return
  end
  if not st:write_headers(h, false) then return st:shutdown() end
  if chunked then
    for i = 1, #body, 4096 do
      if not st:write_chunk(body:sub(i, i + 4095), false) then return st:shutdown() end
    end
    if not st:write_chunk("", true) then return st:shutdown() end
  elseif not st:write_chunk(body, true) then
    return st:shutdown()
  end
end

local function headers_of(req)
  local t = {}
  for name, value in req:each() do
    if name:sub(1, 1) ~= ":" then
      t[name] = t[name] and (t[name] .. ", " .. value) or value
    end
  end
  return t
end

-- lua-http 0.4 spins forever in stream:shutdown() when a client disconnects in
-- the middle of a request body (state stays "open", step(0) keeps succeeding).
-- Dropping the socket makes step() fail with EPIPE, so the stream gets closed.
local function abort_connection(st)
  local c = st.connection
  local sock = c and c.socket
  if sock then
    c.socket = nil
    sock:close()
  end
end

-- Closes with a reset: SO_LINGER 0 set through luasocket on cqueues' descriptor.
local function reset_connection(st)
  local sock = st.connection and st.connection.socket
  local ok, socket = pcall(require, "socket")
  if sock and ok then
    local s = socket.tcp()
    s:setfd(sock:pollfd())
    s:setoption("linger", { on = true, timeout = 0 })
    s:setfd(-1)  -- cqueues still owns the descriptor
  end
  abort_connection(st)
end

-- Reads the whole request body (slowly: pause seconds after each chunk).
-- Returns its length and the body (nil when slow), or nil when the client went away.
local function read_body(st, req, pause)
  local want = tonumber(req:get("content-length") or "0") or 0
  local parts, n = {}, 0
  while true do
    local chunk, err = st:get_next_chunk()
    if not chunk then
      if err or n < want then abort_connection(st) return nil end
      break
    end
    n = n + #chunk
    if pause then cqueues.sleep(pause) else parts[#parts + 1] = chunk end
  end
  return n, not pause and table.concat(parts) or nil
end

local function onstream(_, st)
  local req = assert(st:get_headers())
  local method, path = req:get(":method"), req:get(":path")
  st.bizreg_head = method == "HEAD"
  last_request = os.time()
  local route = path:match("^[^?]*")
  if route == "/count" then
    if not read_body(st, req) then return end
    return reply(st, 200, tostring(seen))
  elseif route == "/lateclosed" then
    if not read_body(st, req) then return end
    return reply(st, 200, tostring(lateclosed))
  end
  seen = seen + 1
  if route == "/slowread" then
    local n = read_body(st, req, 0.01)
    if not n then return end
    return reply(st, 200, cjson.encode({ method = method, path = path, headers = headers_of(req), body_length = n }),
      "application/json")
  end
  local _, body = read_body(st, req)
  if not body then return end
  if route == "/echo" then
    return reply(st, 200, cjson.encode({ method = method, path = path, headers = headers_of(req),
      body_length = #body, body = body }), "application/json")
  elseif route == "/delay" then
    cqueues.sleep((query_num(path, "ms") or 0) / 1000)
    return reply(st, 200, "ok")
  elseif route == "/big" then
    return reply(st, 200, string.rep("x", query_num(path, "bytes") or 0), nil, query_num(path, "chunked") == 1)
  elseif route == "/status" then
    local code = query_num(path, "code") or 200
    return reply(st, code, "status " .. code)
  elseif route == "/early" then
    local early = http_headers.new()
    early:append(":status", "103")
    early:append("link", "</x.css>; rel=preload")
    early:append("x-early", "1")
    if not st:write_headers(early, false) then return st:shutdown() end
    return reply(st, 200, "final")
  elseif route == "/hdrs" then
    local h = http_headers.new()
    h:append(":status", "200")
    local v = string.rep("v", query_num(path, "bytes") or 10)
    for i = 1, query_num(path, "count") or 1 do h:append("x-big-" .. i, v) end
    h:append("content-length", "2")
    if not st:write_headers(h, false) or not st:write_chunk("ok", true) then return abort_connection(st) end
    return
  elseif route == "/repeat" then  -- count copies of the header x-r: 1, 2, ...
    local h = http_headers.new()
    h:append(":status", "200")
    for i = 1, query_num(path, "count") or 1 do h:append("x-r", tostring(i)) end
    h:append("content-length", "2")
    if not st:write_headers(h, false) or not st:write_chunk("ok", true) then return abort_connection(st) end
    return
  elseif route == "/lateclose" then
    reply(st, 200, "ok")
    cqueues.sleep(0.2)
    abort_connection(st)
    lateclosed = lateclosed + 1
    return
  elseif route == "/drop" then
    if path:match("how=rst") then return reset_connection(st) end
    return abort_connection(st)
  elseif route == "/pager" then
    local offset, limit = query_num(path, "offset") or 0, query_num(path, "limit") or 100
    local list = {}
    for i = 1, limit do
      list[i] = string.format('{"brandId":"BR.e%d","name":"n%d","status":"승인"}', offset + i, offset + i)
    end
    return reply(st, 200, '{"code":"20000000","status":200,"result":[' .. table.concat(list, ",") ..
      '],"pagination":{"total":' .. (offset + 2 * limit) .. '}}', "application/json")
  elseif route == "/conn" then
    local c = st.connection
    if not conn_ids[c] then
      next_conn = next_conn + 1
      conn_ids[c] = next_conn
    end
    return reply(st, 200, tostring(conn_ids[c]))
  end
  return reply(st, 404, "not found")
end

local s = assert(http_server.listen {
  host = "127.0.0.1", port = port, reuseaddr = true,
  onstream = onstream,
  onerror = function(_, ctx, op, err)
    io.stderr:write("echo.lua: ", tostring(op), " ", tostring(err), "\n")
  end,
})
local listening, listen_err = s:listen()
if not listening then  -- one line and exit 2, as the project's other servers on a busy port
  io.stderr:write("echo.lua: port ", port, " on 127.0.0.1 ", tostring(listen_err):find("in use", 1, true)
    and "is already in use; choose another PORT" or ("cannot be bound: " .. tostring(listen_err)), "\n")
  os.exit(2)
end
io.stdout:write("listening ", port, "\n")
io.stdout:flush()
while os.time() - last_request < idle do
  local ok, err = s:step(1)
  if not ok then io.stderr:write("echo.lua: ", tostring(err), "\n") end
end
s:close()
