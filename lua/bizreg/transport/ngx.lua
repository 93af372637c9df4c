--- A non-blocking HTTP/1.1 transport for nginx with lua-nginx-module (Debian's
-- `libnginx-mod-http-lua`, or OpenResty), built on the cosocket API (`ngx.socket.tcp`).
-- Every wait (connect, TLS handshake, send, receive) yields to nginx's event loop, so one
-- worker serves many requests at once. The blocking libcurl path must not be used inside a
-- worker: it stalls the whole worker and cannot reach servers served by that worker.
-- The client's `on_event` debug events work the same with this transport.
--
-- Request options (from the client) and how they apply here: `timeout` is the total for the
-- exchange (connect + send + receive; 0 = none); `connect_timeout` bounds the TCP connect
-- (capped by `timeout`; name resolution is bounded by nginx's `resolver_timeout` instead);
-- `verify_tls` goes to `sslhandshake()` with nginx's CA store (`lua_ssl_trusted_certificate`,
-- and `lua_ssl_verify_depth`: its default of 1 is too shallow for most public chains);
-- `ca_file` is ignored (trust cannot be chosen per request in nginx); `proxy` is refused
-- (`UNSUPPORTED_PROXY`); `max_response_bytes` limits the body (0 = none). Host names other
-- than IP literals need nginx's `resolver` directive.
--
-- Errors are `{ code, message, sent }` with libcurl's names where one fits: `URL_MALFORMAT`,
-- `UNSUPPORTED_PROTOCOL`, `UNSUPPORTED_PROXY`, `BAD_HEADER`, `COULDNT_RESOLVE_HOST`,
-- `COULDNT_CONNECT`, `OPERATION_TIMEDOUT`, `SSL_CONNECT_ERROR`, `PEER_FAILED_VERIFICATION`,
-- `SEND_ERROR`, `RECV_ERROR`, `GOT_NOTHING`, `CONNECTION_DIED`, `WEIRD_SERVER_REPLY`,
-- `PARTIAL_FILE`, `RESPONSE_TOO_LARGE`, `TRANSPORT_UNAVAILABLE`. `sent` is false only when no
-- byte of the request can have reached the server.
--
-- At most once: a request is written once and never again. When a *reused* keep-alive
-- connection dies after writing began and before any answer byte (closed, reset, broken
-- pipe), the server may have read the whole request, so the answer is `CONNECTION_DIED` with
-- `sent = true`, not a resend. A connection the server closed while idle in the pool is
-- dropped by nginx itself (its pool watches idle connections), so it is found stale before
-- anything is written; `keepalive_timeout` below the server's own timeout keeps the remaining
-- race (a close in flight) rare.
-- @module bizreg.transport.ngx
-- @usage
-- local ngx_http = require "bizreg.transport.ngx"
-- local kos = bizreg.kos { base_url = "https://crm.example", token = token, transport = ngx_http.new() }
-- -- or the defaults: transport = ngx_http.request, or the module itself (it is callable)

-- The wire format (URL, request head, response parser) is bizreg.transport.http1;
-- M._parse_url, M._build_request, M._reader and M._read_response re-export it.
local M = {}

local DEFAULTS = require("bizreg.options").DEFAULTS  -- the one place (options.lua)
local DEFAULT_KEEPALIVE = DEFAULTS.max_idle  -- idle pool lifetime, like libcurl's max_idle
local NO_TIMEOUT = 24 * 3600

local http1 = require "bizreg.transport.http1"
local fail, unsent = http1.fail, http1.unsent
M._parse_url, M._build_request = http1.parse_url, http1.build_request
M._reader, M._read_response = http1.reader, http1.read_response
local DEFAULT_MAX_HEADER, DEFAULT_READ_CHUNK = http1.DEFAULT_MAX_HEADER, http1.DEFAULT_READ_CHUNK

---------------------------------------------------------------- the transport

local function connect_error(err)
  local e = tostring(err)
  if e == "timeout" then return unsent("OPERATION_TIMEDOUT", "connect timed out") end
  if e:find("resolve", 1, true) or e:find("resolver", 1, true) then
    return unsent("COULDNT_RESOLVE_HOST", e)
  end
  return unsent("COULDNT_CONNECT", "could not connect: " .. e)
end

local function tls_error(err, verify)
  local e = tostring(err)
  if e == "timeout" then return unsent("OPERATION_TIMEDOUT", "TLS handshake timed out") end
  -- lua-nginx-module reports "<X509 code>: <reason>" and "certificate host mismatch"
  if verify and (e:find("^%d+: ") or e:find("certificate", 1, true)) then
    return unsent("PEER_FAILED_VERIFICATION", "TLS peer verification failed: " .. e)
  end
  return unsent("SSL_CONNECT_ERROR", "TLS handshake failed: " .. e)
end

local function send_error(err)
  if err == "timeout" then return fail("OPERATION_TIMEDOUT", "timed out while sending the request") end
  return fail("SEND_ERROR", "error while sending the request: " .. tostring(err))
end

local function ms(seconds) return math.max(1, math.floor(seconds * 1000)) end

-- A reused connection died after writing began, before any answer byte.
local function died(err)
  return fail("CONNECTION_DIED", "the reused connection died before any answer (the server may have "
    .. "the request; it is not sent again): " .. tostring(err))
end

-- A connected (and, for https, handshaken) socket: sock, reused | nil, err.
local function open_socket(cfg, ngx, req, u, deadline)
  local okc, sock = pcall(ngx.socket.tcp)
  if not okc or not sock then
    return nil, unsent("TRANSPORT_UNAVAILABLE", "ngx.socket.tcp is not available here: " .. tostring(sock))
  end
  local left = deadline - ngx.now()
  if left <= 0 then return nil, unsent("OPERATION_TIMEDOUT", "timed out before connecting") end
  local connect = tonumber(req.connect_timeout) or left
  if connect <= 0 or connect > left then connect = left end
  sock:settimeouts(ms(connect), ms(left), ms(left))
  local https = u.scheme == "https"
  local verify = https and req.verify_tls ~= false
  local pool = u.scheme .. "://" .. u.authority
  if https then pool = pool .. (verify and "#verify" or "#noverify") end
  -- nginx's URL parser wants IPv6 literals in brackets
  local ok, err = sock:connect(u.ipv6 and ("[" .. u.host .. "]") or u.host, u.port,
    { pool = pool, pool_size = cfg.pool_size, backlog = cfg.backlog })
  if not ok then return nil, connect_error(err) end
  local reused = (sock:getreusedtimes() or 0) > 0
  if https and not reused then
    -- false: no session object wanted back (the pooled connection is what gets reused)
    local done, herr = sock:sslhandshake(false, u.host, verify)
    if not done then
      sock:close()
      return nil, tls_error(herr, verify)
    end
  end
  return sock, reused
end

-- Back to the pool when the response allows it, else closed.
local function release(cfg, sock, keepalive)
  if keepalive and cfg.keepalive_ms and sock:setkeepalive(cfg.keepalive_ms, cfg.pool_size) then return end
  sock:close()
end

-- Writes the head, then the body's chunks as the iterator gives them (body:chunks(): one
-- buffer's worth in memory at a time, not the whole body): true | nil, send error | nil,
-- nil, body error (a file changed or vanished; the upload stops short of its end).
local function send_chunks(sock, head, next_chunk, size)
  local ok, err = sock:send(head)
  local n = 0
  while ok do
    local chunk, cerr = next_chunk()
    if chunk == nil then
      if cerr then return nil, nil, fail("BODY_READ_ERROR", tostring(cerr)) end
      break
    end
    n = n + #chunk
    if n > size then return nil, nil, fail("BODY_READ_ERROR", "request body longer than its size") end
    ok, err = sock:send(chunk)
  end
  if ok and n ~= size then
    return nil, nil, fail("BODY_READ_ERROR", string.format("request body ended after %d of %d bytes", n, size))
  end
  return ok, err
end

-- The one attempt of a request (never a second): res | nil, err.
local function attempt(cfg, ngx, req, u, head, deadline)
  local sock, reused_or_err = open_socket(cfg, ngx, req, u, deadline)
  if not sock then return nil, reused_or_err end
  local reused = reused_or_err
  local left = deadline - ngx.now()
  if left <= 0 then
    sock:close()
    return nil, unsent("OPERATION_TIMEDOUT", "timed out before sending")
  end
  sock:settimeout(ms(left))
  local sent, err, body_err
  if type(req.body) == "function" then
    sent, err, body_err = send_chunks(sock, head, req.body, req.body_size)
  else
    sent, err = sock:send(req.body and { head, req.body } or head)
  end
  if body_err then
    sock:close()  -- the server never gets the whole body: Content-Length is not reached
    return nil, body_err
  end
  if not sent then
    sock:close()
    if reused and err ~= "timeout" then return nil, died(err) end
    return nil, send_error(err)
  end
  local reader = http1.reader(sock, { deadline = deadline, clock = ngx.now, read_chunk = cfg.read_chunk })
  local res, keepalive_or_err = http1.read_response(reader, {
    method = req.method, max_body = req.max_response_bytes or 0, max_header = cfg.max_header_bytes,
  })
  if not res then
    sock:close()
    local code = keepalive_or_err.code
    if reused and reader.received == 0 and (code == "GOT_NOTHING" or code == "RECV_ERROR") then
      return nil, died(keepalive_or_err.message)
    end
    return nil, keepalive_or_err
  end
  release(cfg, sock, keepalive_or_err)
  return res
end

local function request(cfg, req)
  local ngx = rawget(_G, "ngx")
  if not ngx or not ngx.socket then
    return nil, unsent("TRANSPORT_UNAVAILABLE", "bizreg.transport.ngx needs nginx with lua-nginx-module")
  end
  if type(req) ~= "table" then return nil, unsent("BAD_REQUEST", "request must be a table") end
  if req.proxy and req.proxy ~= "" then
    return nil, unsent("UNSUPPORTED_PROXY", "bizreg.transport.ngx cannot use a proxy (option 'proxy'); "
      .. "connect directly or put the proxy in front with nginx itself")
  end
  local body, size = req.body, nil
  if type(body) == "function" then
    size = req.body_size
    if type(size) ~= "number" or size < 0 or size ~= math.floor(size) then
      return nil, unsent("BAD_REQUEST", "a request body iterator needs body_size, its length in bytes")
    end
  elseif body ~= nil and type(body) ~= "string" then
    return nil, unsent("BAD_REQUEST", "request body must be a string or an iterator of strings")
  end
  local u, err = http1.parse_url(req.url)
  if not u then return nil, err end
  local method = req.method or (body and "POST" or "GET")
  local head
  head, err = http1.build_request(method, u, req.headers, size or body)
  if not head then return nil, err end

  -- like libcurl, a timeout of 0 means none (a day here: cosocket timeouts are finite)
  local timeout = tonumber(req.timeout) or DEFAULTS.timeout
  if timeout <= 0 then timeout = NO_TIMEOUT end
  local deadline = ngx.now() + timeout
  local call = { method = method, body = body, body_size = size, connect_timeout = req.connect_timeout,
    verify_tls = req.verify_tls, max_response_bytes = req.max_response_bytes }
  return attempt(cfg, ngx, call, u, head, deadline)
end

local OPTION_TYPES = { pool_size = "number", backlog = "number", keepalive_timeout = "number",
  max_header_bytes = "number", read_chunk = "number" }

-- A transport function with these options (see the top of this file).
--- A transport function with its own settings.
-- @tparam[opt] table opts
-- @tparam[opt] number opts.pool_size connections kept per pool (default: `lua_socket_pool_size`, 30)
-- @tparam[opt] number opts.backlog `connect()` queue length once `pool_size` connections are busy
--   (default: none)
-- @tparam[opt] number|false opts.keepalive_timeout seconds an idle connection stays in the pool
--   (default 4: below common server keep-alive timeouts, Apache's and Node's 5 s; false = no pooling)
-- @tparam[opt] number opts.max_header_bytes limit on the status line plus headers (default 65536)
-- @tparam[opt] number opts.read_chunk bytes asked of the socket per receive (default 16384)
-- @treturn table a callable transport, `transport(req) -> res | nil, err`, for the client option
--   `transport`; its `body_chunks = true` asks the client for multipart bodies as chunks (see `request`)
-- @raise on an unknown option or a value that is not a whole number ≥ 0
-- @usage local transport = require("bizreg.transport.ngx").new { pool_size = 64, keepalive_timeout = 3 }
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bizreg.transport.ngx: options must be a table", 2) end
  for k, v in pairs(opts) do
    local want = OPTION_TYPES[k]
    if not want then error("bizreg.transport.ngx: unknown option '" .. tostring(k) .. "'", 2) end
    if not (k == "keepalive_timeout" and v == false) and (type(v) ~= want or v < 0 or v ~= math.floor(v)) then
      error("bizreg.transport.ngx: option '" .. k .. "' must be a whole number >= 0", 2)
    end
  end
  local ka = opts.keepalive_timeout
  if ka == nil then ka = DEFAULT_KEEPALIVE end
  local cfg = {
    pool_size = opts.pool_size ~= 0 and opts.pool_size or nil,
    backlog = opts.backlog,
    -- setkeepalive(0) would mean "never expire": 0 and false both disable pooling
    keepalive_ms = (ka and ka > 0) and ka * 1000 or nil,
    max_header_bytes = opts.max_header_bytes ~= 0 and opts.max_header_bytes or DEFAULT_MAX_HEADER,
    read_chunk = opts.read_chunk ~= 0 and opts.read_chunk or DEFAULT_READ_CHUNK,
  }
  -- body_chunks: the client hands multipart bodies over as an iterator (body:chunks()) and
  -- body_size instead of one string, so a 20 MiB file by path is never a 20 MiB string here
  return setmetatable({ body_chunks = true }, { __call = function(_, req) return request(cfg, req) end })
end

--- The transport with the default settings, as a plain function.
-- `req.body` is a string, or a function returning the body's next chunk (a string; nil at the
-- end; nil, message when it cannot be read: `BODY_READ_ERROR`, the upload stops short) with
-- `req.body_size` its total length (the Content-Length). The client sends chunks to transports
-- that are tables with `body_chunks = true` (`new()` and the module itself); as a plain
-- function, this one gets strings from the client.
-- @function request
-- @tparam table req the client's request (see the client option `transport`)
-- @return res `{ status, headers, body }`, or nil and `{ code, message, sent }`
-- @usage local kos = bizreg.kos { base_url = url, token = t, transport = require("bizreg.transport.ngx").request }
local default = M.new()
M.request = function(req) return default(req) end
M.body_chunks = true

-- `transport = require "bizreg.transport.ngx"`: the module is callable (and takes chunks).
return setmetatable(M, { __call = function(_, req) return default(req) end })
