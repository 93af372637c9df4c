-- bizreg.transport.ngx: a non-blocking HTTP/1.1 transport for nginx with
-- lua-nginx-module (Debian's libnginx-mod-http-lua, or OpenResty), built on the
-- cosocket API (ngx.socket.tcp). Every wait (connect, TLS handshake, send,
-- receive) yields to nginx's event loop, so one worker serves many requests at
-- once. The blocking libcurl path of bizreg.core must not be used inside a worker:
-- it stalls the whole worker and cannot reach servers served by that worker.
--
--   local ngx_http = require "bizreg.transport.ngx"
--   local kos = bizreg.kos { base_url = ..., token = ..., transport = ngx_http.new() }
--   -- or the defaults: transport = ngx_http.request
--   -- or the module itself (a callable table): transport = ngx_http
--
-- ngx_http.new(opts) returns a plain function configured with:
--   pool_size          connections kept per pool (default: lua_socket_pool_size, 30)
--   backlog            connect() queue length once pool_size connections are busy (default: none)
--   keepalive_timeout  seconds an idle connection stays in the pool (default 4: below common
--                      server keep-alive timeouts, Apache's and Node's 5 s; false = no pooling)
--   max_header_bytes   limit on the status line plus headers (default 65536)
--   read_chunk         bytes asked of the socket per receive (default 16384)
--
-- Request options (from the client) and how they apply here:
--   timeout            total seconds for the exchange (connect + send + receive; 0 = none)
--   connect_timeout    seconds for TCP connect (capped by timeout; 0 = up to timeout).
--                      Name resolution is bounded by nginx's `resolver_timeout` instead.
--   verify_tls         passed to sslhandshake(); the CA store is nginx's
--                      `lua_ssl_trusted_certificate` (and `lua_ssl_verify_depth`:
--                      its default of 1 is too shallow for most public chains)
--   ca_file            ignored: trust cannot be chosen per request in nginx
--   proxy              refused (UNSUPPORTED_PROXY): cosockets connect directly
--   max_response_bytes limit on the body (0 = none), like the libcurl transport
-- Host names other than IP literals need nginx's `resolver` directive.
--
-- Errors are { code, message, sent } with libcurl's names where one fits:
-- URL_MALFORMAT, UNSUPPORTED_PROTOCOL, UNSUPPORTED_PROXY, BAD_HEADER, COULDNT_RESOLVE_HOST,
-- COULDNT_CONNECT, OPERATION_TIMEDOUT, SSL_CONNECT_ERROR, PEER_FAILED_VERIFICATION,
-- SEND_ERROR, RECV_ERROR, GOT_NOTHING, CONNECTION_DIED, WEIRD_SERVER_REPLY, PARTIAL_FILE,
-- RESPONSE_TOO_LARGE, TRANSPORT_UNAVAILABLE. `sent` is false only when no byte of
-- the request can have reached the server.
--
-- At most once: a request is written once and never again. When a *reused*
-- keep-alive connection dies after writing began and before any answer byte
-- (closed, reset, broken pipe), the server may have read the whole request, so the
-- answer is CONNECTION_DIED with sent = true, not a resend. A connection the server
-- closed while idle in the pool is dropped by nginx itself (its pool watches idle
-- connections), so it is found stale before anything is written; keepalive_timeout
-- below the server's own timeout keeps the remaining race (a close in flight) rare.
--
-- The helpers M._parse_url, M._build_request, M._reader and M._read_response use
-- no ngx API, so they are unit-tested under plain Lua (spec/ngx_transport_spec.lua).
local M = {}

local DEFAULT_KEEPALIVE = 4
local DEFAULT_MAX_HEADER = 64 * 1024
local DEFAULT_READ_CHUNK = 16 * 1024
local MAX_INTERIM = 10 -- 1xx answers skipped before the final one
local NO_TIMEOUT = 24 * 3600

local TOKEN = "^[!#$%%&'*+%-.^_`|~%w]+$"

local function fail(code, message, sent)
  return { code = code, message = message, sent = sent ~= false }
end

local function unsent(code, message) return fail(code, message, false) end

---------------------------------------------------------------- URL

-- http(s)://host[:port][/path][?query][#fragment] -> { scheme, host, port, path,
-- ipv6, authority (Host header value) } | nil, err
function M._parse_url(url)
  if type(url) ~= "string" then return nil, unsent("URL_MALFORMAT", "URL must be a string") end
  if url:find("[%z\1-\32\127]") then
    return nil, unsent("URL_MALFORMAT", "URL contains spaces or control characters")
  end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil, unsent("URL_MALFORMAT", "not an absolute http(s) URL: " .. url) end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    return nil, unsent("UNSUPPORTED_PROTOCOL", "unsupported URL scheme '" .. scheme .. "'")
  end
  local authority, target = rest:match("^([^/?#]*)(.*)$")
  target = target:gsub("#.*$", "")
  if target == "" then
    target = "/"
  elseif target:sub(1, 1) == "?" then
    target = "/" .. target
  end
  if authority:find("@", 1, true) then
    return nil, unsent("URL_MALFORMAT", "user info in the URL is not supported")
  end
  local host, port, ipv6
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
    if not host or not host:find(":", 1, true) then
      return nil, unsent("URL_MALFORMAT", "bad IPv6 literal in URL: " .. authority)
    end
    ipv6 = true
  else
    host, port = authority:match("^([%w.-]+):?(%d*)$")
    if not host or authority:sub(-1) == ":" and port == "" then
      return nil, unsent("URL_MALFORMAT", "bad host in URL: '" .. authority .. "'")
    end
  end
  host = host:lower()
  local default = scheme == "https" and 443 or 80
  local n = port ~= "" and tonumber(port) or default
  if n < 1 or n > 65535 then return nil, unsent("URL_MALFORMAT", "port out of range: " .. port) end
  local shown = ipv6 and ("[" .. host .. "]") or host
  return {
    scheme = scheme, host = host, port = n, path = target, ipv6 = ipv6 or false,
    authority = n == default and shown or (shown .. ":" .. n),
  }
end

---------------------------------------------------------------- request

-- Framing belongs to the transport: these given headers are dropped.
local OWNED = { ["content-length"] = true, ["transfer-encoding"] = true, connection = true,
  ["keep-alive"] = true, te = true, upgrade = true }
local BODY_METHODS = { POST = true, PUT = true, PATCH = true }

local function bad_header(message) return nil, unsent("BAD_HEADER", message) end

-- The request head (request line + headers + blank line) | nil, err
function M._build_request(method, u, headers, body)
  if type(method) ~= "string" or not method:match(TOKEN) then
    return nil, unsent("BAD_REQUEST", "bad HTTP method " .. tostring(method))
  end
  local names, values = {}, {}
  for name, value in pairs(headers or {}) do
    if type(name) ~= "string" or name:find("[\r\n%z]") then
      return bad_header("header name contains CR, LF or NUL")
    end
    if not name:match(TOKEN) then return bad_header("invalid header name '" .. name .. "'") end
    local list
    if type(value) == "string" or type(value) == "number" then
      list = { tostring(value) }
    elseif type(value) == "table" then
      list = {}
      for i, v in ipairs(value) do
        if type(v) ~= "string" and type(v) ~= "number" then
          return bad_header("header '" .. name .. "' has a non-string value")
        end
        list[i] = tostring(v)
      end
    else
      return bad_header("header '" .. name .. "' has a " .. type(value) .. " value")
    end
    for _, v in ipairs(list) do
      if v:find("[\r\n%z]") then return bad_header("header '" .. name .. "' value contains CR, LF or NUL") end
    end
    local lname = name:lower()
    if not OWNED[lname] then
      names[#names + 1] = name
      values[name] = list
    end
  end
  table.sort(names, function(a, b) return a:lower() < b:lower() end)

  local out = { method .. " " .. u.path .. " HTTP/1.1" }
  local has_host = false
  for _, name in ipairs(names) do
    if name:lower() == "host" then has_host = true end
  end
  if not has_host then out[#out + 1] = "Host: " .. u.authority end
  for _, name in ipairs(names) do
    for _, v in ipairs(values[name]) do out[#out + 1] = name .. ": " .. v end
  end
  if body then
    out[#out + 1] = "Content-Length: " .. #body
  elseif BODY_METHODS[method] then
    out[#out + 1] = "Content-Length: 0"
  end
  out[#out + 1] = "\r\n"
  return table.concat(out, "\r\n")
end

---------------------------------------------------------------- reader

-- A buffered reader over a socket's receiveany(max). opts.deadline (seconds on
-- opts.clock) bounds every wait: the socket's timeout is set to what is left.
local Reader = {}
Reader.__index = Reader

function M._reader(sock, opts)
  opts = opts or {}
  return setmetatable({
    sock = sock, buf = "", pos = 1, received = 0,
    chunk = opts.read_chunk or DEFAULT_READ_CHUNK, deadline = opts.deadline, clock = opts.clock,
  }, Reader)
end

function Reader:receive(max)
  if self.deadline then
    local left = self.deadline - self.clock()
    if left <= 0 then return nil, "timeout" end
    self.sock:settimeout(math.max(1, math.floor(left * 1000)))
  end
  local data, err = self.sock:receiveany(max)
  if not data then return nil, err or "closed" end
  self.received = self.received + #data
  return data
end

function Reader:buffered() return #self.buf - self.pos + 1 end

-- One line without its CRLF (a bare LF is accepted); nil, "too long" when it
-- would take more than max bytes, line end included.
function Reader:line(max)
  while true do
    local e = self.buf:find("\n", self.pos, true)
    if e then
      if e - self.pos + 1 > max then return nil, "too long" end
      local line = self.buf:sub(self.pos, e - 1)
      self.pos = e + 1
      if line:sub(-1) == "\r" then line = line:sub(1, -2) end
      return line
    end
    if self:buffered() > max then return nil, "too long" end
    local data, err = self:receive(self.chunk)
    if not data then return nil, err end
    self.buf = self.buf:sub(self.pos) .. data
    self.pos = 1
  end
end

-- Exactly n bytes appended to parts; nil, err, bytes still missing on a short read.
function Reader:bytes(n, parts)
  local have = self:buffered()
  if have > 0 then
    local take = math.min(have, n)
    parts[#parts + 1] = self.buf:sub(self.pos, self.pos + take - 1)
    self.pos = self.pos + take
    n = n - take
  end
  while n > 0 do
    local data, err = self:receive(math.min(n, self.chunk))
    if not data then return nil, err, n end
    parts[#parts + 1] = data
    n = n - #data
  end
  return true
end

-- Everything until the peer closes; nil, "too large" past max bytes (0 = no limit).
function Reader:rest(max, parts)
  local total = 0
  if self:buffered() > 0 then
    local s = self.buf:sub(self.pos)
    self.pos = #self.buf + 1
    parts[#parts + 1] = s
    total = #s
  end
  while true do
    if max > 0 and total > max then return nil, "too large" end
    local data, err = self:receive(self.chunk)
    if not data then
      if err == "closed" then return true end
      return nil, err
    end
    parts[#parts + 1] = data
    total = total + #data
  end
end

---------------------------------------------------------------- response

local function recv_error(err, what)
  if err == "timeout" then return fail("OPERATION_TIMEDOUT", "timed out while reading the " .. what) end
  if err == "closed" then return fail("RECV_ERROR", "connection closed while reading the " .. what) end
  return fail("RECV_ERROR", "error while reading the " .. what .. ": " .. tostring(err))
end

local function too_large(max) return fail("RESPONSE_TOO_LARGE", "response body exceeds max_response_bytes (" .. max .. ")") end

local function has_token(value, token)
  for t in (value or ""):gmatch("[^,%s]+") do
    if t:lower() == token then return true end
  end
  return false
end

-- Header block until the blank line; budget is what is left of max_header_bytes.
local function read_headers(reader, budget, max_header)
  local headers, last = {}, nil
  while true do
    local line, err = reader:line(budget)
    if not line then
      if err == "too long" then
        return nil, fail("RESPONSE_TOO_LARGE", "response headers exceed " .. max_header .. " bytes")
      end
      return nil, recv_error(err, "response headers")
    end
    budget = budget - #line - 2
    if line == "" then return headers, budget end
    if line:find("^[ \t]") and last then -- obsolete line folding
      headers[last] = headers[last] .. " " .. line:match("^%s*(.-)%s*$")
    else
      local name, value = line:match("^([^:%s]+):[ \t]*(.-)[ \t]*$")
      if not name or not name:match(TOKEN) then
        return nil, fail("WEIRD_SERVER_REPLY", "malformed response header line")
      end
      name = name:lower()
      if headers[name] then headers[name] = headers[name] .. ", " .. value else headers[name] = value end
      last = name
    end
  end
end

local function content_length(value)
  local n
  for part in value:gmatch("[^,]+") do
    local digits = part:match("^%s*(%d+)%s*$")
    if not digits or #digits > 15 or (n and tonumber(digits) ~= n) then return nil end
    n = tonumber(digits)
  end
  return n
end

local function read_chunked(reader, max, max_header, parts)
  local total = 0
  while true do
    local line, err = reader:line(1024)
    if not line then
      if err == "too long" then return nil, fail("RECV_ERROR", "chunk size line too long") end
      return nil, recv_error(err, "chunked body")
    end
    local hex = line:match("^(%x+)[ \t]*;") or line:match("^(%x+)[ \t]*$")
    if not hex or #hex > 12 then return nil, fail("RECV_ERROR", "bad chunk size line in chunked body") end
    local size = tonumber(hex, 16)
    if size == 0 then break end
    total = total + size
    if max > 0 and total > max then return nil, too_large(max) end
    local ok, rerr = reader:bytes(size, parts)
    if not ok then return nil, recv_error(rerr, "chunked body") end
    local crlf
    crlf, rerr = reader:line(2)
    if crlf ~= "" then
      if crlf == nil and rerr ~= "too long" then return nil, recv_error(rerr, "chunked body") end
      return nil, fail("RECV_ERROR", "chunk data not followed by CRLF")
    end
  end
  local trailers, err = read_headers(reader, max_header, max_header) -- discarded
  if not trailers then return nil, err end
  return true
end

-- Reads one response: res ({ status, headers, body }), keepalive | nil, err.
-- opts: method, max_body (0 = no limit), max_header.
function M._read_response(reader, opts)
  opts = opts or {}
  local max_body = opts.max_body or 0
  local max_header = opts.max_header or DEFAULT_MAX_HEADER
  local status, minor, headers
  for _ = 0, MAX_INTERIM do
    local line, err = reader:line(max_header)
    if not line then
      if err == "too long" then return nil, fail("WEIRD_SERVER_REPLY", "status line too long") end
      if err == "closed" and reader.received == 0 then
        return nil, fail("GOT_NOTHING", "server closed the connection without answering")
      end
      return nil, recv_error(err, "status line")
    end
    local major, mnr, code, tail = line:match("^HTTP/(%d)%.(%d) (%d%d%d)(.*)$")
    if not major or (tail ~= "" and not tail:find("^ ")) then
      return nil, fail("WEIRD_SERVER_REPLY", "not an HTTP/1.x status line")
    end
    if major ~= "1" then return nil, fail("WEIRD_SERVER_REPLY", "unsupported HTTP version " .. major .. "." .. mnr) end
    status, minor = tonumber(code), tonumber(mnr)
    headers, err = read_headers(reader, max_header - #line - 2, max_header)
    if not headers then return nil, err end
    if status == 101 then return nil, fail("WEIRD_SERVER_REPLY", "unexpected 101 Switching Protocols") end
    if status >= 200 then break end
    if status < 100 then return nil, fail("WEIRD_SERVER_REPLY", "bad status code " .. code) end
  end
  if status < 200 then return nil, fail("WEIRD_SERVER_REPLY", "too many interim (1xx) responses") end

  local parts, framed = {}, true
  local te, cl = headers["transfer-encoding"], headers["content-length"]
  if opts.method == "HEAD" or status == 204 or status == 304 then -- luacheck: ignore 542
    -- no body
  elseif te then
    local last = te:lower():match("([^,%s]+)%s*$")
    if last == "chunked" then
      local ok, err = read_chunked(reader, max_body, max_header, parts)
      if not ok then return nil, err end
    else
      framed = false
    end
  elseif cl then
    local n = content_length(cl)
    if not n then return nil, fail("WEIRD_SERVER_REPLY", "invalid Content-Length: " .. cl) end
    if max_body > 0 and n > max_body then return nil, too_large(max_body) end
    local ok, err, missing = reader:bytes(n, parts)
    if not ok then
      if err == "closed" then
        return nil, fail("PARTIAL_FILE", string.format("connection closed with %d of %d body bytes missing", missing, n))
      end
      return nil, recv_error(err, "response body")
    end
  else
    framed = false
  end
  if not framed then
    local ok, err = reader:rest(max_body, parts)
    if not ok then
      if err == "too large" then return nil, too_large(max_body) end
      return nil, recv_error(err, "response body")
    end
  end
  local body = table.concat(parts)
  if max_body > 0 and #body > max_body then return nil, too_large(max_body) end

  local conn = headers.connection
  local keepalive
  if minor >= 1 then keepalive = not has_token(conn, "close") else keepalive = has_token(conn, "keep-alive") end
  keepalive = keepalive and framed and reader:buffered() == 0
  return { status = status, headers = headers, body = body }, keepalive
end

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

-- The one attempt of a request: res | nil, err.
local function attempt(cfg, ngx, req, u, head, deadline)
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

  left = deadline - ngx.now()
  if left <= 0 then
    sock:close()
    return nil, unsent("OPERATION_TIMEDOUT", "timed out before sending")
  end
  sock:settimeout(ms(left))
  local sent
  sent, err = sock:send(req.body and { head, req.body } or head)
  if not sent then
    sock:close()
    if reused and err ~= "timeout" then return nil, died(err) end
    return nil, send_error(err)
  end

  local reader = M._reader(sock, { deadline = deadline, clock = ngx.now, read_chunk = cfg.read_chunk })
  local res, keepalive_or_err = M._read_response(reader, {
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
  local keepalive = keepalive_or_err
  if keepalive and cfg.keepalive_ms then
    local kept = sock:setkeepalive(cfg.keepalive_ms, cfg.pool_size)
    if not kept then sock:close() end
  else
    sock:close()
  end
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
  local body = req.body
  if body ~= nil and type(body) ~= "string" then
    return nil, unsent("BAD_REQUEST", "request body must be a string")
  end
  local u, err = M._parse_url(req.url)
  if not u then return nil, err end
  local method = req.method or (body and "POST" or "GET")
  local head
  head, err = M._build_request(method, u, req.headers, body)
  if not head then return nil, err end

  -- like libcurl, a timeout of 0 means none (a day here: cosocket timeouts are finite)
  local timeout = tonumber(req.timeout) or 30
  if timeout <= 0 then timeout = NO_TIMEOUT end
  local deadline = ngx.now() + timeout
  local call = { method = method, body = body, connect_timeout = req.connect_timeout,
    verify_tls = req.verify_tls, max_response_bytes = req.max_response_bytes }
  return attempt(cfg, ngx, call, u, head, deadline)
end

local OPTION_TYPES = { pool_size = "number", backlog = "number", keepalive_timeout = "number",
  max_header_bytes = "number", read_chunk = "number" }

-- A transport function with these options (see the top of this file).
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
  return function(req) return request(cfg, req) end
end

-- The defaults, as a plain function.
M.request = M.new()

-- `transport = require "bizreg.transport.ngx"`: the module is callable.
return setmetatable(M, { __call = function(_, req) return M.request(req) end })
