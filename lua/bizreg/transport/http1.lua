-- bizreg.transport.http1: the HTTP/1.1 wire format of the nginx transport (URL
-- parsing, the request head, a buffered reader over a cosocket-like object, and the
-- response parser: status line, headers, Content-Length and chunked bodies). It
-- uses no ngx API, so it is unit-tested under plain Lua (spec/e2e/ngx_transport_spec.lua).
-- Errors are { code, message, sent } tables, as the transports return them.
local M = {}

local MAX_INTERIM = 10 -- 1xx answers skipped before the final one
local DEFAULT_MAX_HEADER = 64 * 1024
local DEFAULT_READ_CHUNK = 16 * 1024
M.DEFAULT_MAX_HEADER, M.DEFAULT_READ_CHUNK = DEFAULT_MAX_HEADER, DEFAULT_READ_CHUNK
local TOKEN = "^[!#$%%&'*+%-.^_`|~%w]+$"

function M.fail(code, message, sent)
  return { code = code, message = message, sent = sent ~= false }
end

function M.unsent(code, message) return M.fail(code, message, false) end
local fail, unsent = M.fail, M.unsent

---------------------------------------------------------------- URL

-- http(s)://host[:port][/path][?query][#fragment] -> { scheme, host, port, path,
-- ipv6, authority (Host header value) } | nil, err
function M.parse_url(url)
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
function M.build_request(method, u, headers, body)
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
  if body then  -- the body, or its length (a body sent in chunks)
    out[#out + 1] = "Content-Length: " .. (type(body) == "number" and string.format("%d", body) or #body)
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

function M.reader(sock, opts)
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
-- The status line and headers of the final (non-1xx) response: status, minor, headers | nil, err.
local function read_head(reader, max_header)
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
    if status >= 200 then return status, minor, headers end
    if status < 100 then return nil, fail("WEIRD_SERVER_REPLY", "bad status code " .. code) end
  end
  return nil, fail("WEIRD_SERVER_REPLY", "too many interim (1xx) responses")
end

-- The body into parts, framed by chunked encoding, Content-Length, or the close:
-- framed | nil, err.
local function read_body(reader, opts, status, headers, parts, max_body, max_header)
  local te, cl = headers["transfer-encoding"], headers["content-length"]
  if opts.method == "HEAD" or status == 204 or status == 304 then return true end
  if te and te:lower():match("([^,%s]+)%s*$") == "chunked" then
    local ok, err = read_chunked(reader, max_body, max_header, parts)
    if not ok then return nil, err end
    return true
  elseif cl and not te then
    local n = content_length(cl)
    if not n then return nil, fail("WEIRD_SERVER_REPLY", "invalid Content-Length: " .. cl) end
    if max_body > 0 and n > max_body then return nil, too_large(max_body) end
    local ok, err, missing = reader:bytes(n, parts)
    if ok then return true end
    if err == "closed" then
      return nil, fail("PARTIAL_FILE", string.format("connection closed with %d of %d body bytes missing", missing, n))
    end
    return nil, recv_error(err, "response body")
  end
  local ok, err = reader:rest(max_body, parts)  -- unframed: until the server closes
  if ok then return false end
  if err == "too large" then return nil, too_large(max_body) end
  return nil, recv_error(err, "response body")
end

function M.read_response(reader, opts)
  opts = opts or {}
  local max_body = opts.max_body or 0
  local max_header = opts.max_header or DEFAULT_MAX_HEADER
  local status, minor, headers = read_head(reader, max_header)
  if not status then return nil, minor end
  local parts = {}
  local framed, err = read_body(reader, opts, status, headers, parts, max_body, max_header)
  if framed == nil then return nil, err end
  local body = table.concat(parts)
  if max_body > 0 and #body > max_body then return nil, too_large(max_body) end
  local conn = headers.connection
  local keepalive
  if minor >= 1 then keepalive = not has_token(conn, "close") else keepalive = has_token(conn, "keep-alive") end
  keepalive = keepalive and framed and reader:buffered() == 0
  return { status = status, headers = headers, body = body }, keepalive
end

return M
