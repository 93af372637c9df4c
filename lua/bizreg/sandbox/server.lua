-- bizreg sandbox: one local HTTP server that emulates the KOS CRM and RCS Biz
-- Center APIs, plus /_sandbox/* control endpoints for tests.
--
-- It must run in its own process (bin/bizreg-sandbox): the bizreg C core makes
-- blocking libcurl calls, which could never be answered by a server living in
-- the same process. lua-http gives every request stream its own cqueues
-- coroutine, so a delayed answer (cqueues.sleep) never blocks other requests,
-- and HTTP/1.1 keep-alive works as libcurl expects.
--
--   lua5.1|luajit lua/bizreg/sandbox/server.lua [--port N] [--host 127.0.0.1|localhost|::1]
local http_server = require "http.server"
local http_headers = require "http.headers"
local cqueues = require "cqueues"
local json = require "bizreg.sandbox.json"
local control = require "bizreg.sandbox.control"
local kos = require "bizreg.sandbox.kos"
local rcs = require "bizreg.sandbox.rcs"

local server = {}

local DEFAULT_PORT = 8089
local READ_TIMEOUT = 120 -- seconds to receive one request (20 MiB bodies on slow CI)
local MAX_BODY = 64 * 1024 * 1024

local ALLOWED_HOSTS = { ["127.0.0.1"] = "127.0.0.1", localhost = "127.0.0.1", ["::1"] = "::1" }

-- method, path pattern, endpoint name, handler(state, req, capture)
local ROUTES = {
  { "POST", "^/open/authorization/commands/exchange%-token$", "kos.exchange_token", kos.exchange_token, kos },
  { "POST", "^/image/open/v1/commands/register%-visitor%-images$", "kos.register_visitor_images", kos.register_visitor_images, kos },
  { "POST", "^/api/1%.1/token$", "rcs.token", rcs.token, rcs },
  { "POST", "^/api/1%.1/corp/brand$", "rcs.register_brand", rcs.register_brand, rcs },
  { "PUT", "^/api/1%.1/corp/brand/([^/]+)$", "rcs.resubmit_brand", rcs.resubmit_brand, rcs },
}

local function route(method, path)
  local path_matched = false
  for _, r in ipairs(ROUTES) do
    local m = { path:match(r[2]) }
    if #m > 0 then
      path_matched = true
      if r[1] == method then
        -- a pattern without captures yields the whole match; only PUT captures an id
        return r, (r[1] == "PUT") and m[1] or nil
      end
    end
  end
  return nil, nil, path_matched
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

-- Answers one API (non-control) request: status, headers table, body.
local function handle_api(state, conn, method, path, headers, body)
  local rec = control.record(state, conn, method, path, headers["content-type"], body)
  local delay = state.config.delay_ms
  if delay > 0 then cqueues.sleep(delay / 1000) end

  local r, capture, path_matched = route(method, path)
  local status, out_headers, out
  if not r then
    local allow = nil
    if path_matched then allow = path:match("^/api/1%.1/corp/brand/") and "PUT" or "POST" end
    status, out_headers, out = not_found(path, path_matched and 405 or 404, allow)
  else
    local endpoint, handler, module = r[3], r[4], r[5]
    state.by_endpoint[endpoint] = state.by_endpoint[endpoint] + 1
    local failure = control.take_failure(state, endpoint)
    if failure then
      status, out_headers, out = module.failure(failure)
      if failure == 429 then
        out_headers = { ["content-type"] = out_headers["content-type"], ["retry-after"] = "0" }
      end
    else
      local req = { method = method, path = path, headers = headers, body = body }
      local ok, s, h, o = pcall(handler, state, req, capture)
      if ok then
        status, out_headers, out = s, h, o
      else -- a sandbox bug must still produce an answer (and a log line)
        io.stderr:write("bizreg-sandbox: handler error: ", tostring(s), "\n")
        status, out_headers, out = module.failure(500)
      end
    end
  end
  rec.status = status
  return status, out_headers, out
end

local function write_response(stream, status, headers, body)
  local h = http_headers.new()
  h:append(":status", tostring(status))
  for k, v in pairs(headers) do h:append(k, v) end
  h:append("content-length", tostring(#body))
  local ok, err = stream:write_headers(h, body == "")
  if ok and body ~= "" then ok, err = stream:write_chunk(body, true) end
  return ok, err
end

local function onstream(state, stream)
  local req_headers = stream:get_headers(READ_TIMEOUT)
  if not req_headers then return end
  local method, full_path = req_headers:get(":method"), req_headers:get(":path") or "/"
  local path = full_path:match("^[^?#]*")

  -- one value per lower-cased name (lua-http already lower-cases them)
  local headers = {}
  for name, value in req_headers:each() do
    if name:sub(1, 1) ~= ":" and headers[name] == nil then headers[name] = value end
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

  local status, out_headers, out
  if path:sub(1, 10) == "/_sandbox/" then
    status, out_headers, out = control.handle(state, method, path, body)
  else
    status, out_headers, out = handle_api(state, stream.connection, method, path, headers, body)
  end
  write_response(stream, status, out_headers, out)
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
  assert(srv:listen())
  local _, _, port = srv:localname()
  local shown = opts.host == "::1" and "[::1]" or opts.host
  io.stdout:write(string.format("bizreg sandbox listening on http://%s:%d\n", shown, port))
  io.stdout:flush()
  assert(srv:loop())
end

-- Run as a script (bin/bizreg-sandbox) rather than via require.
local modname = ...
if modname ~= "bizreg.sandbox.server" then
  server.main({ ... })
end

return server
