-- bizreg sandbox: one local HTTP server that emulates the KOS CRM and RCS Biz
-- Center APIs, plus /_sandbox/* control endpoints for tests.
--
-- It must run in its own process (the bizreg-sandbox launcher): the bizreg C core makes
-- blocking libcurl calls, which could never be answered by a server living in
-- the same process. lua-http gives every request stream its own cqueues
-- coroutine, so a delayed answer (cqueues.sleep) never blocks other requests,
-- and HTTP/1.1 keep-alive works as libcurl expects.
--
--   bizreg-sandbox [--port N] [--host 127.0.0.1|localhost|::1]
--   lua5.1|luajit sandbox/lua/bizreg_sandbox/server.lua ...   (LUA_PATH must reach sandbox/lua)
local http_server = require "http.server"
local http_headers = require "http.headers"
local cqueues = require "cqueues"
local json = require "bizreg_sandbox.json"
local control = require "bizreg_sandbox.control"
local kos = require "bizreg_sandbox.kos"
local kos_visitors = require "bizreg_sandbox.kos_visitors"
local rcs = require "bizreg_sandbox.rcs"
local rcs_chatbots = require "bizreg_sandbox.rcs_chatbots"
local rcs_brand_edit = require "bizreg_sandbox.rcs_brand_edit"
local faults = require "bizreg_sandbox.faults"
local dialect = require "bizreg_sandbox.dialect"

local server = {}

local DEFAULT_PORT = 8089
local READ_TIMEOUT = 120 -- seconds to receive one request (20 MiB bodies on slow CI)
local MAX_BODY = 64 * 1024 * 1024

local ALLOWED_HOSTS = { ["127.0.0.1"] = "127.0.0.1", localhost = "127.0.0.1", ["::1"] = "::1" }

-- method, path pattern, endpoint name, handler(state, req, capture)
local ROUTES = {
  { "POST", "^/open/authorization/commands/exchange%-token$", "kos.exchange_token", kos.exchange_token, kos },
  { "POST", "^/image/open/v1/commands/register%-visitor%-images$", "kos.register_visitor_images", kos.register_visitor_images, kos },
  { "POST", "^/visitor/open/v1/queries/search%-visitors$", "kos.search_visitors", kos_visitors.search, kos },
  { "POST", "^/api/1%.1/token$", "rcs.token", rcs.token, rcs },
  { "POST", "^/api/1%.1/corp/brand$", "rcs.register_brand", rcs.register_brand, rcs },
  { "PUT", "^/api/1%.1/corp/brand/([^/]+)$", "rcs.resubmit_brand", rcs.resubmit_brand, rcs },
  { "POST", "^/api/1%.1/brand/([^/]+)/chatbot$", "rcs.register_chatbots", rcs_chatbots.register, rcs },
  { "GET", "^/api/1%.1/brand/([^/]+)/chatbot$", "rcs.list_chatbots", rcs_chatbots.list, rcs },
  { "GET", "^/api/1%.1/brand/([^/]+)/chatbot/[^/]+$", "rcs.get_chatbot", rcs_chatbots.get, rcs },
  { "PUT", "^/api/1%.1/brand/([^/]+)/chatbot/[^/]+$", "rcs.update_chatbot", rcs_chatbots.update, rcs },
  { "DELETE", "^/api/1%.1/brand/([^/]+)/chatbot/[^/]+$", "rcs.delete_chatbot", rcs_chatbots.delete, rcs },
  { "PUT", "^/api/1%.1/brand/([^/]+)/chatbot/[^/]+/cancel$", "rcs.cancel_chatbot", rcs_chatbots.cancel, rcs },
  { "GET", "^/api/1%.1/corp/brand/categories$", "rcs.brand_categories", rcs.brand_categories, rcs },
  { "GET", "^/api/1%.1/corp/[^/]+/brand$", "rcs.list_brands", rcs.list_brands, rcs },
  { "GET", "^/api/1%.1/corp/[^/]+/brand/[^/]+$", "rcs.get_brand", rcs.get_brand, rcs },
  { "PUT", "^/api/1%.1/corp/brand/([^/]+)/cancel$", "rcs.cancel_brand", rcs_brand_edit.cancel, rcs },
  { "PUT", "^/api/1%.1/corp/[^/]+/brand/[^/]+/cancel$", "rcs.cancel_brand_owner", rcs_brand_edit.cancel_owner, rcs },
  { "DELETE", "^/api/1%.1/corp/brand/([^/]+)$", "rcs.delete_brand", rcs_brand_edit.delete, rcs },
  { "DELETE", "^/api/1%.1/corp/[^/]+/brand/[^/]+$", "rcs.delete_brand_owner", rcs_brand_edit.delete_owner, rcs },
  { "PUT", "^/api/1%.1/corp/[^/]+/brand/[^/]+$", "rcs.update_brand", rcs_brand_edit.update, rcs },
}

-- The route, its capture (only PUT captures an id), and else the methods the path allows.
local function route(method, path)
  local allowed = nil
  for _, r in ipairs(ROUTES) do
    local m = { path:match(r[2]) }
    if #m > 0 then
      if r[1] == method then
        -- a pattern without captures yields the whole match; the others capture an id
        return r, r[2]:find("(", 1, true) and m[1] or nil
      end
      allowed = allowed and (allowed .. ", " .. r[1]) or r[1]
    end
  end
  return nil, nil, allowed
end

local function not_found(path, status, allow)
  if path:sub(1, 9) == "/api/1.1/" then
    return status, { ["content-type"] = "application/json;charset=UTF-8", allow = allow }, json.encode(json.obj(
      "error", json.obj("code", tostring(status) .. "00", "message", status == 404 and "Not Found" or "Method Not Allowed"),
      "status", status))
  end
  local class = status == 404 and "NotFoundException" or "MethodNotAllowedException"
  return status, { ["content-type"] = "application/json", allow = allow }, json.encode(json.obj(
    "status", status, "message", class, "className", class, "errorProperties", json.array()))
end

-- The answer of the emulated API: status, headers table, body.
local function api_answer(state, r, capture, req)
  local ok, s, h, o = pcall(r[4], state, req, capture)
  if ok then return s, h, o end
  -- a sandbox bug must still produce an answer (and a log line)
  io.stderr:write("bizreg-sandbox: handler error: ", tostring(s), "\n")
  return r[5].failure(500)
end

-- Answers one API (non-control) request whose body was read: status, headers, body, chunked.
-- r = nil: no route; path_matched then lists the methods the path allows (nil: none).
local function handle_api(state, r, capture, path_matched, fault, method, path, headers, body, query)
  local delay = state.config.delay_ms
  if delay > 0 then cqueues.sleep(delay / 1000) end
  if not r then
    -- path_matched: the methods the path allows (the Allow header of a 405)
    return not_found(path, path_matched and 405 or 404, path_matched or nil)
  end
  local endpoint, module = r[3], r[5]
  local req = { method = method, path = path, headers = headers, body = body, query = query }
  if fault and fault.act == "status" then -- config fail_next
    local status, out_headers, out = module.failure(fault.status)
    if fault.status == 429 or fault.status == 503 then -- "come back later": not processed
      out_headers = { ["content-type"] = out_headers["content-type"], ["retry-after"] = "0" }
    end
    return status, out_headers, out
  end
  if fault and fault.act == "answer" then
    if fault.params.commit then api_answer(state, r, capture, req) end
    req.endpoint = endpoint
    return faults.answer(fault, req)
  end
  if endpoint:sub(1, 4) ~= "rcs." then return api_answer(state, r, capture, req) end
  -- RCS: an armed Fail answer (POST /_sandbox/dialect answer), else the emulated one; then
  -- the dialect the test asked for (numeric codes, Fail inside a 200, 204/60004, no result)
  local status, out_headers, out = dialect.take_answer(state, endpoint)
  if not status then status, out_headers, out = api_answer(state, r, capture, req) end
  return dialect.apply(state, endpoint, status, out_headers, out)
end

local function write_response(stream, status, headers, body, chunked)
  local h = http_headers.new()
  h:append(":status", tostring(status))
  for k, v in pairs(headers) do h:append(k, v) end
  -- else lua-http chunks it; a 204 has no body and must not say so (lua-http refuses it)
  if not chunked and status ~= 204 then h:append("content-length", tostring(#body)) end
  local ok, err = stream:write_headers(h, body == "")
  if ok and body ~= "" then ok, err = stream:write_chunk(body, true) end
  return ok, err
end

-- The request line, read and put back (so lua-http parses it as usual).
local function peek_request_line(stream)
  local sock = stream.connection.socket
  local line = sock and sock:xread("*L", READ_TIMEOUT)
  if not line then return nil end
  sock:unget(line)
  return line:match("^(%S+) (%S+)")
end

-- A fault acting at `point` ends the exchange here: true when it did.
local function fault_at(point, fault, stream, rec)
  if not fault or fault.point ~= point or fault.act == "status" or fault.act == "answer" then return false end
  rec.fault = fault.mode
  if fault.act == "raw" then faults.raw(stream, fault) else faults.finish(faults.takeover(stream), fault.act, fault) end
  return true
end

local function onstream(state, stream)
  -- before_read faults must know the endpoint before lua-http parses the head
  local early
  if #state.faults > 0 then
    local m, target = peek_request_line(stream)
    local r = m and route(m, (target or "/"):match("^[^?#]*"))
    early = r and control.take_fault(state, r[3])
    if early and early.point == "before_read" then
      local rec = control.record(state, stream.connection, m, target:match("^[^?#]*"), {})
      state.by_endpoint[r[3]] = state.by_endpoint[r[3]] + 1
      return fault_at("before_read", early, stream, rec)
    end
  end

  local req_headers = stream:get_headers(READ_TIMEOUT)
  if not req_headers then return end
  local method, full_path = req_headers:get(":method"), req_headers:get(":path") or "/"
  local path = full_path:match("^[^?#]*")

  -- one value per lower-cased name (lua-http already lower-cases them)
  local headers = {}
  for name, value in req_headers:each() do
    if name:sub(1, 1) ~= ":" and headers[name] == nil then headers[name] = value end
  end

  local is_api = path:sub(1, 10) ~= "/_sandbox/"
  local r, capture, path_matched, rec, fault
  if is_api then
    r, capture, path_matched = route(method, path)
    rec = control.record(state, stream.connection, method, path, headers)
    if r then
      state.by_endpoint[r[3]] = state.by_endpoint[r[3]] + 1
      fault = early or control.take_fault(state, r[3])
    end
    if fault_at("after_headers", fault, stream, rec) then return end
  end

  -- libcurl sends "Expect: 100-continue" for large uploads and waits 1 s for it
  -- (1xx answers are only allowed to HTTP/1.1 peers)
  if (headers.expect or ""):lower() == "100-continue" and (stream.peer_version or 1.1) >= 1.1 then
    stream:write_continue(READ_TIMEOUT)
  end

  local declared = tonumber(headers["content-length"] or "")
  if declared and declared > MAX_BODY then
    return write_response(stream, 413, { ["content-type"] = "text/plain", connection = "close" }, "body too large\n")
  end
  local body = stream:get_body_as_string(READ_TIMEOUT)
  if not body then return end
  -- The client closed before the whole body arrived (an aborted upload): nothing to
  -- answer. lua-http returns the partial body as if complete, and its stream shutdown
  -- then spins on the half-read stream (step() makes no progress at EOF), wedging
  -- the whole sandbox; so close the stream here.
  if stream.state == "open" and declared and #body < declared then
    if stream.connection.socket then stream.connection.socket:shutdown() end
    stream:set_state("closed")
    return
  end

  if not is_api then
    return write_response(stream, control.handle(state, method, path, body))
  end
  control.received(state, rec, r and r[3], body)
  if fault and fault.params.commit and fault.point == "after_body" and fault.act ~= "answer" then
    api_answer(state, r, capture, { method = method, path = path, headers = headers, body = body })
  end
  if fault_at("after_body", fault, stream, rec) then return end
  if fault then rec.fault = fault.mode end
  local status, out_headers, out, chunked = handle_api(state, r, capture, path_matched, fault,
    method, path, headers, body, full_path:match("%?([^#]*)"))
  rec.status = status
  write_response(stream, status, out_headers, out, chunked)
  if fault and fault.point == "after_answer" then
    -- taken before lua-http can read a next request; the answer gets 50 ms to arrive
    local sock = faults.takeover(stream)
    if sock then
      sock:flush("n", 5)
      cqueues.sleep(0.05)
      faults.finish(sock, fault.act, fault)
    end
  end
end

local function parse_args(argv)
  local opts = { port = DEFAULT_PORT, host = "127.0.0.1" }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--port" then
      opts.port = tonumber(argv[i + 1])
      if not opts.port or opts.port ~= math.floor(opts.port) or opts.port < 0 or opts.port > 65535 then
        return nil, "--port needs a number 0..65535"
      end
      i = i + 2
    elseif a == "--host" then
      opts.host = ALLOWED_HOSTS[argv[i + 1] or ""]
      if not opts.host then return nil, "--host must be 127.0.0.1, localhost or ::1 (the sandbox never listens on other interfaces)" end
      i = i + 2
    elseif a == "--help" or a == "-h" then
      return nil, nil
    else
      return nil, "unknown argument " .. tostring(a)
    end
  end
  return opts
end

local USAGE = "usage: bizreg-sandbox [--port N (default 8089, 0 = any free port)] [--host 127.0.0.1|localhost|::1]\n"

function server.main(argv)
  local opts, err = parse_args(argv or {})
  if not opts then
    io.stderr:write(err and ("bizreg-sandbox: " .. err .. "\n") or "", USAGE)
    os.exit(err and 2 or 0)
  end
  local state = control.new_state()
  local srv = assert(http_server.listen {
    host = opts.host,
    port = opts.port,
    reuseaddr = true,
    onstream = function(_, stream) onstream(state, stream) end,
    onerror = function(_, context, op, e)
      io.stderr:write(string.format("bizreg-sandbox: %s on %s: %s\n", tostring(op), tostring(context), tostring(e)))
    end,
  })
  local listening, listen_err, errno = srv:listen()
  if not listening then
    -- a busy port is an operator's everyday mistake: one line, exit 2 (like a bad argument)
    local why = (errno == 98 or tostring(listen_err):find("in use", 1, true))
      and "is already in use; choose another with --port N" or ("cannot be bound: " .. tostring(listen_err))
    io.stderr:write(string.format("bizreg-sandbox: port %d on %s %s\n", opts.port, opts.host, why))
    os.exit(2)
  end
  local _, _, port = srv:localname()
  local shown = opts.host == "::1" and "[::1]" or opts.host
  io.stdout:write(string.format("bizreg sandbox listening on http://%s:%d\n", shown, port))
  io.stdout:flush()
  -- a coroutine that raised (a connection a fault tore down under lua-http) is
  -- dropped and logged; the server goes on serving
  while true do
    local ok, loop_err = srv:loop()
    if ok then break end
    io.stderr:write("bizreg-sandbox: ", tostring(loop_err), "\n")
  end
end

-- Run as a script rather than via require (the launcher calls server.main).
local modname = ...
if modname ~= "bizreg_sandbox.server" then
  server.main({ ... })
end

return server
