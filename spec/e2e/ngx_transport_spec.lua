-- bizreg.transport.ngx without nginx: URL parsing, request building and response
-- parsing against a scripted fake socket, and the request flow (pooling, TLS,
-- stale keep-alive retry) against a fake `ngx` global. Runs under any interpreter;
-- spec/checks/nginx.sh runs the transport inside a real nginx.
local t = require "bizreg.transport.ngx"

-- A socket whose receiveany() hands out the scripted pieces (strings, or
-- { err = "timeout" }), then "closed".
local function fake_socket(pieces)
  local s = { pieces = {}, timeouts = {}, asked = {} }
  for i, p in ipairs(pieces or {}) do s.pieces[i] = p end
  function s:receiveany(max)
    self.asked[#self.asked + 1] = max
    local p = self.pieces[1]
    if p == nil then return nil, "closed" end
    if type(p) == "table" then
      table.remove(self.pieces, 1)
      return nil, p.err
    end
    if #p > max then
      self.pieces[1] = p:sub(max + 1)
      return p:sub(1, max)
    end
    table.remove(self.pieces, 1)
    return p
  end
  function s:settimeout(ms) self.timeouts[#self.timeouts + 1] = ms end
  return s
end

-- Every byte its own receive: parsing must not depend on how data arrives.
local function bytewise(s)
  local out = {}
  for i = 1, #s do out[i] = s:sub(i, i) end
  return out
end

local function read(pieces, opts, reader_opts)
  local sock = fake_socket(pieces)
  local r = t._reader(sock, reader_opts)
  local res, ka = t._read_response(r, opts)
  return res, ka, r, sock
end

describe("bizreg.transport.ngx", function()
  describe("_parse_url", function()
    it("splits http and https URLs with default ports", function()
      local u = assert(t._parse_url("http://api.example.com/image/open/v1/x?a=1&b=2"))
      assert.same({ scheme = "http", host = "api.example.com", port = 80, path = "/image/open/v1/x?a=1&b=2",
        ipv6 = false, authority = "api.example.com" }, u)
      u = assert(t._parse_url("HTTPS://API.Example.com"))
      assert.equal("https", u.scheme)
      assert.equal("api.example.com", u.host)
      assert.equal(443, u.port)
      assert.equal("/", u.path)
    end)

    it("keeps a non-default port in the Host authority", function()
      local u = assert(t._parse_url("http://127.0.0.1:8089/api/1.1/token"))
      assert.equal(8089, u.port)
      assert.equal("127.0.0.1:8089", u.authority)
      assert.equal("/api/1.1/token", u.path)
      u = assert(t._parse_url("https://h:443/"))
      assert.equal("h", u.authority)
    end)

    it("handles a query without a path and drops the fragment", function()
      assert.equal("/?q=1", t._parse_url("http://h?q=1").path)
      assert.equal("/p?q=1", t._parse_url("http://h/p?q=1#frag").path)
      assert.equal("/", t._parse_url("http://h#frag").path)
    end)

    it("parses IPv6 literals", function()
      local u = assert(t._parse_url("http://[::1]:8089/x"))
      assert.equal("::1", u.host)
      assert.is_true(u.ipv6)
      assert.equal(8089, u.port)
      assert.equal("[::1]:8089", u.authority)
      assert.equal("[2001:db8::1]", t._parse_url("https://[2001:DB8::1]/").authority)
    end)

    it("rejects what it cannot send", function()
      local cases = {
        { "ftp://h/x", "UNSUPPORTED_PROTOCOL" },
        { "h/x", "URL_MALFORMAT" },
        { "http:///x", "URL_MALFORMAT" },
        { "http://user:pw@h/", "URL_MALFORMAT" },
        { "http://h:0/", "URL_MALFORMAT" },
        { "http://h:70000/", "URL_MALFORMAT" },
        { "http://h:/", "URL_MALFORMAT" },
        { "http://h/a b", "URL_MALFORMAT" },
        { "http://h/a\r\nX-Evil: 1", "URL_MALFORMAT" },
        { "http://[zz]/", "URL_MALFORMAT" },
        { "http://h_o$t/", "URL_MALFORMAT" },
      }
      for _, c in ipairs(cases) do
        local u, err = t._parse_url(c[1])
        assert.is_nil(u, c[1])
        assert.equal(c[2], err.code, c[1])
        assert.is_false(err.sent)
      end
      assert.equal("URL_MALFORMAT", select(2, t._parse_url(nil)).code)
    end)
  end)

  describe("_build_request", function()
    local u = t._parse_url("http://127.0.0.1:8089/p?q=1")

    it("writes an HTTP/1.1 head with Host, sorted headers and Content-Length", function()
      local head = assert(t._build_request("POST", u,
        { ["User-Agent"] = "bizreg/0.1.0", Accept = "application/json", ["Content-Type"] = "application/json" }, "{}"))
      assert.equal("POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nAccept: application/json\r\n" ..
        "Content-Type: application/json\r\nUser-Agent: bizreg/0.1.0\r\nContent-Length: 2\r\n\r\n", head)
    end)

    it("sends Content-Length: 0 for a bodiless POST and none for GET", function()
      assert.truthy(t._build_request("POST", u, {}, nil):find("\r\nContent-Length: 0\r\n", 1, true))
      assert.falsy(t._build_request("GET", u, {}, nil):find("Content-Length", 1, true))
    end)

    it("owns the framing headers but honours a given Host", function()
      local head = t._build_request("PUT", u, { ["content-length"] = "99", ["Transfer-Encoding"] = "chunked",
        Connection = "close", Host = "api.example.com" }, "abc")
      assert.equal("PUT /p?q=1 HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 3\r\n\r\n", head)
    end)

    it("writes numbers and lists of values", function()
      local head = t._build_request("GET", u, { ["X-N"] = 5, ["X-L"] = { "a", "b" } }, nil)
      assert.truthy(head:find("\r\nX-L: a\r\nX-L: b\r\nX-N: 5\r\n", 1, true))
    end)

    it("refuses CR, LF and NUL in header names and values (BAD_HEADER)", function()
      local bad = {
        { ["X-A"] = "v\r\nX-Evil: 1" }, { ["X-A"] = "v\nw" }, { ["X-A"] = "v\0w" },
        { ["X-A\r\nX-Evil"] = "v" }, { ["X\0A"] = "v" }, { ["X A"] = "v" }, { [""] = "v" },
        { ["X-A"] = { "ok", "bad\r\n" } }, { ["X-A"] = true },
      }
      for i, headers in ipairs(bad) do
        local head, err = t._build_request("POST", u, headers, "x")
        assert.is_nil(head, "case " .. i)
        assert.equal("BAD_HEADER", err.code, "case " .. i)
        assert.is_false(err.sent)
      end
    end)

    it("refuses a method that is not a token", function()
      local head, err = t._build_request("GET /x HTTP/1.1\r\n", u, {}, nil)
      assert.is_nil(head)
      assert.equal("BAD_REQUEST", err.code)
    end)
  end)

  describe("_read_response", function()
    local CL = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"

    it("reads a Content-Length body, lower-cases names, keeps the connection", function()
      local res, ka, r = read({ CL })
      assert.same({ status = 200, headers = { ["content-type"] = "application/json", ["content-length"] = "7" },
        body = "{\"a\":1}" }, res)
      assert.is_true(ka)
      assert.equal(0, r:buffered())
    end)

    it("gives the same answer when every byte arrives alone", function()
      local res, ka = read(bytewise(CL))
      assert.equal("{\"a\":1}", res.body)
      assert.is_true(ka)
    end)

    it("never reads past the body of a framed response", function()
      local sock = fake_socket({ "HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n", string.rep("x", 40000), "NEXT" })
      local r = t._reader(sock, { read_chunk = 16384 })
      local res, ka = t._read_response(r, {})
      assert.equal(40000, #res.body)
      assert.is_true(ka)
      assert.equal("NEXT", sock.pieces[1])
      for _, n in ipairs(sock.asked) do assert.is_true(n <= 16384) end
    end)

    it("does not keep a connection with unexpected bytes after the response", function()
      local res, ka = read({ CL .. "garbage" })
      assert.equal(200, res.status)
      assert.is_false(ka)
    end)

    it("decodes chunked bodies with extensions and trailers", function()
      local raw = "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n" ..
        "5;ext=1\r\nhello\r\n6\r\n world\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
      for _, pieces in ipairs({ { raw }, bytewise(raw) }) do
        local res, ka = read(pieces)
        assert.equal(201, res.status)
        assert.equal("hello world0123456789", res.body)
        assert.is_nil(res.headers["x-trailer"])
        assert.is_true(ka)
      end
    end)

    it("rejects malformed chunked framing", function()
      local head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      for _, body in ipairs({ "zz\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n", "5x\r\nhello\r\n0\r\n\r\n" }) do
        local res, err = read({ head .. body })
        assert.is_nil(res)
        assert.equal("RECV_ERROR", err.code)
        assert.is_true(err.sent)
      end
    end)

    it("reads until close without framing, and then does not keep the connection", function()
      local res, ka = read({ "HTTP/1.1 200 OK\r\n\r\nab", "cd" })
      assert.equal("abcd", res.body)
      assert.is_false(ka)
      -- a transfer-coding other than chunked: also until close
      res, ka = read({ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz" })
      assert.equal("zz", res.body)
      assert.is_false(ka)
    end)

    it("follows Connection and the HTTP version for keep-alive", function()
      local _, ka = read({ "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n" })
      assert.is_false(ka)
      _, ka = read({ "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n" })
      assert.is_false(ka)
      _, ka = read({ "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n" })
      assert.is_false(ka)
      _, ka = read({ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n" })
      assert.is_true(ka)
    end)

    it("skips interim 1xx answers", function()
      local res = read({ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: 1\r\n\r\n" ..
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" })
      assert.equal(200, res.status)
      assert.equal("ok", res.body)
      assert.is_nil(res.headers.x)
    end)

    it("joins repeated headers, unfolds folded ones, accepts bare LF and no reason phrase", function()
      local res = read({ "HTTP/1.1 429\nX-A: 1\nx-a:  2 \nX-F: one\n  two\nRetry-After: 3\nContent-Length: 0\n\n" })
      assert.equal(429, res.status)
      assert.equal("1, 2", res.headers["x-a"])
      assert.equal("one two", res.headers["x-f"])
      assert.equal("3", res.headers["retry-after"])
    end)

    it("reads no body for HEAD, 204 and 304", function()
      local res, ka = read({ "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" }, { method = "HEAD" })
      assert.equal("", res.body)
      assert.is_true(ka)
      res = read({ "HTTP/1.1 204 No Content\r\n\r\n" })
      assert.equal("", res.body)
      res = read({ "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n" })
      assert.equal("", res.body)
    end)

    it("enforces max_body for each framing (RESPONSE_TOO_LARGE)", function()
      local big = string.rep("x", 100)
      local cases = {
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" .. big,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" .. big .. "\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n" .. big,
      }
      for _, raw in ipairs(cases) do
        local res, err = read({ raw }, { max_body = 99 })
        assert.is_nil(res)
        assert.equal("RESPONSE_TOO_LARGE", err.code)
        assert.is_true(err.sent)
        assert.equal(100, #read({ raw }, { max_body = 100 }).body)
        assert.equal(100, #read({ raw }, { max_body = 0 }).body)
      end
      -- a declared length over the limit fails before any body byte is read
      local res, err, _, sock = read({ "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", big }, { max_body = 10 })
      assert.is_nil(res)
      assert.equal("RESPONSE_TOO_LARGE", err.code)
      assert.equal(big, sock.pieces[1])
    end)

    it("limits the header block", function()
      local res, err = read({ "HTTP/1.1 200 OK\r\nX-Big: " .. string.rep("a", 300) .. "\r\n\r\n" }, { max_header = 200 })
      assert.is_nil(res)
      assert.equal("RESPONSE_TOO_LARGE", err.code)
      -- an endless line without LF stops at the limit too
      local sock = fake_socket({ "HTTP/1.1 200 OK\r\nX: " .. string.rep("a", 5000) })
      res, err = t._read_response(t._reader(sock, { read_chunk = 64 }), { max_header = 256 })
      assert.is_nil(res)
      assert.equal("RESPONSE_TOO_LARGE", err.code)
      assert.truthy(#sock.pieces[1] > 4000)
    end)

    it("names the failure", function()
      local cases = {
        { {}, "GOT_NOTHING" },
        { { "HTTP/1.1 200 OK\r\nContent-Le" }, "RECV_ERROR" },
        { { "ICY 200 OK\r\n\r\n" }, "WEIRD_SERVER_REPLY" },
        { { "HTTP/2.0 200 OK\r\n\r\n" }, "WEIRD_SERVER_REPLY" },
        { { "HTTP/1.1 200OK\r\n\r\n" }, "WEIRD_SERVER_REPLY" },
        { { "HTTP/1.1 101 Switching Protocols\r\n\r\n" }, "WEIRD_SERVER_REPLY" },
        { { "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n" }, "WEIRD_SERVER_REPLY" },
        { { "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello" }, "WEIRD_SERVER_REPLY" },
        { { "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n" }, "WEIRD_SERVER_REPLY" },
        { { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort" }, "PARTIAL_FILE" },
        { { { err = "timeout" } }, "OPERATION_TIMEDOUT" },
        { { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", { err = "timeout" } }, "OPERATION_TIMEDOUT" },
        { { "HTTP/1.1 200 OK\r\n", { err = "connection reset by peer" } }, "RECV_ERROR" },
      }
      for i, c in ipairs(cases) do
        local res, err = read(c[1])
        assert.is_nil(res, "case " .. i)
        assert.equal(c[2], err.code, "case " .. i .. ": " .. tostring(err.message))
        assert.is_true(err.sent, "case " .. i)
        assert.is_string(err.message)
      end
      -- identical repeated Content-Length values are fine
      assert.equal("hello", read({ "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello" }).body)
    end)

    it("sets the socket timeout to what is left before the deadline", function()
      local now = 100
      local clock = function() return now end
      local sock = fake_socket({ "HTTP/1.1 200 OK\r\n", "Content-Length: 0\r\n\r\n" })
      local r = t._reader(sock, { deadline = 102.5, clock = clock })
      assert.truthy(t._read_response(r, {}))
      assert.same({ 2500, 2500 }, sock.timeouts)
      now = 103
      sock = fake_socket({ "HTTP/1.1 200 OK\r\n\r\n" })
      local res, err = t._read_response(t._reader(sock, { deadline = 102.5, clock = clock }), {})
      assert.is_nil(res)
      assert.equal("OPERATION_TIMEDOUT", err.code)
      assert.same({}, sock.asked)
    end)
  end)

  describe("outside nginx", function()
    it("is callable and answers TRANSPORT_UNAVAILABLE", function()
      assert.is_nil(rawget(_G, "ngx"))
      for _, fn in ipairs({ t, t.request, t.new() }) do
        local res, err = fn { method = "GET", url = "http://127.0.0.1/" }
        assert.is_nil(res)
        assert.equal("TRANSPORT_UNAVAILABLE", err.code)
        assert.is_false(err.sent)
      end
    end)

    it("checks its options", function()
      local tr = t.new { pool_size = 10, backlog = 5, keepalive_timeout = false, max_header_bytes = 1024, read_chunk = 4096 }
      assert.is_function(getmetatable(tr).__call)
      assert.is_true(tr.body_chunks)  -- the client hands multipart bodies over as chunks
      assert.is_true(t.body_chunks)
      assert.has_error(function() t.new { pool = 1 } end, "bizreg.transport.ngx: unknown option 'pool'")
      assert.has_error(function() t.new { pool_size = "10" } end)
      assert.has_error(function() t.new { keepalive_timeout = -1 } end)
      assert.has_error(function() t.new { read_chunk = 1.5 } end)
    end)
  end)

  describe("request flow (fake ngx)", function()
    local sockets, script

    -- script: list of { pieces = {...}, reused = n, connect_err = s, send_err = s, handshake_err = s }
    local function fake_ngx()
      local n = 0
      return {
        now = function() return 1000 end,
        socket = {
          tcp = function()
            n = n + 1
            local spec = script[n] or {}
            local s = fake_socket(spec.pieces)
            s.calls = {}
            sockets[n] = s
            function s:settimeouts(c, w, r) self.calls[#self.calls + 1] = { "settimeouts", c, w, r } end
            function s:connect(host, port, opts)
              self.host, self.port, self.opts = host, port, opts
              if spec.connect_err then return nil, spec.connect_err end
              return 1
            end
            function s:getreusedtimes() return spec.reused or 0 end
            function s:sslhandshake(sess, name, verify)
              self.handshake = { sess = sess, name = name, verify = verify }
              if spec.handshake_err then return nil, spec.handshake_err end
              return true
            end
            function s:send(data)
              self.sends = (self.sends or 0) + 1
              self.sent = (self.sent or "") .. (type(data) == "table" and table.concat(data) or data)
              if spec.send_err then return nil, spec.send_err end
              return #self.sent
            end
            function s:setkeepalive(ms, size) self.kept = { ms, size }; return 1 end
            function s:close() self.closed = true; return 1 end
            return s
          end,
        },
      }
    end

    local OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    local function req(over)
      local r = { method = "POST", url = "http://127.0.0.1:8089/x", headers = { ["Content-Type"] = "application/json" },
        body = "{}", timeout = 30, connect_timeout = 10, verify_tls = true, max_response_bytes = 8388608 }
      for k, v in pairs(over or {}) do r[k] = v end
      return r
    end

    before_each(function()
      sockets, script = {}, {}
      rawset(_G, "ngx", fake_ngx())
    end)
    after_each(function() rawset(_G, "ngx", nil) end)

    it("sends the request and returns the connection to the pool", function()
      script[1] = { pieces = { OK } }
      local res = assert(t.new { keepalive_timeout = 30, pool_size = 7 }(req()))
      assert.equal(200, res.status)
      assert.equal("ok", res.body)
      local s = sockets[1]
      assert.equal("127.0.0.1", s.host)
      assert.equal(8089, s.port)
      assert.equal("http://127.0.0.1:8089", s.opts.pool)
      assert.equal(7, s.opts.pool_size)
      assert.same({ "settimeouts", 10000, 30000, 30000 }, s.calls[1])
      assert.equal("POST /x HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nContent-Type: application/json\r\n" ..
        "Content-Length: 2\r\n\r\n{}", s.sent)
      assert.same({ 30000, 7 }, s.kept)
      assert.is_nil(s.handshake)
    end)

    it("caps connect_timeout by timeout; 0 means none, like libcurl", function()
      script[1] = { pieces = { OK } }
      script[2] = { pieces = { OK } }
      assert(t.request(req { timeout = 2, connect_timeout = 5 }))
      assert.same({ "settimeouts", 2000, 2000, 2000 }, sockets[1].calls[1])
      assert(t.request(req { timeout = 0, connect_timeout = 0 }))
      assert.same({ "settimeouts", 86400000, 86400000, 86400000 }, sockets[2].calls[1])
    end)

    local function iter(list)
      local i = 0
      return function()
        i = i + 1
        local v = list[i]
        if type(v) == "table" then return nil, v.err end
        return v
      end
    end

    it("sends a body iterator chunk by chunk, body_size as its Content-Length", function()
      script[1] = { pieces = { OK } }
      local res = assert(t.request(req { body = iter { "ab", "cde", "f" }, body_size = 6 }))
      assert.equal(200, res.status)
      local s = sockets[1]
      assert.equal("POST /x HTTP/1.1\r\nHost: 127.0.0.1:8089\r\nContent-Type: application/json\r\n" ..
        "Content-Length: 6\r\n\r\nabcdef", s.sent)
      assert.equal(4, s.sends)  -- the head, then each chunk: never the whole body at once
    end)

    it("stops short when the iterator fails or disagrees with body_size: BODY_READ_ERROR, closed", function()
      script[1] = { pieces = { OK } }
      local res, err = t.request(req { body = iter { "ab", { err = "file x changed since validation" } }, body_size = 6 })
      assert.is_nil(res)
      assert.equal("BODY_READ_ERROR", err.code)
      assert.is_true(err.sent)
      assert.truthy(err.message:find("changed since validation", 1, true))
      assert.is_true(sockets[1].closed)
      assert.is_nil(sockets[1].kept)
      assert.equal("ab", sockets[1].sent:match("\r\n\r\n(.*)$"))
      for i, case in ipairs { { { "ab" }, 6 }, { { "abcdefg" }, 6 } } do
        script[i + 1] = { pieces = { OK } }
        res, err = t.request(req { body = iter(case[1]), body_size = case[2] })
        assert.is_nil(res)
        assert.equal("BODY_READ_ERROR", err.code)
        assert.is_true(sockets[i + 1].closed)
      end
    end)

    it("refuses a body iterator without body_size, and other body types, before connecting", function()
      local _, err = t.request(req { body = iter { "x" } })
      assert.equal("BAD_REQUEST", err.code)
      assert.is_false(err.sent)
      _, err = t.request(req { body = {} })
      assert.equal("BAD_REQUEST", err.code)
      assert.equal(0, #sockets)
    end)

    it("closes instead of pooling when the answer or the options say so", function()
      script[1] = { pieces = { "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n" } }
      assert(t.request(req()))
      assert.is_nil(sockets[1].kept)
      assert.is_true(sockets[1].closed)
      script[2] = { pieces = { OK } }
      assert(t.new { keepalive_timeout = false }(req()))
      assert.is_nil(sockets[2].kept)
      assert.is_true(sockets[2].closed)
    end)

    it("does TLS on new https connections only, with SNI, verify flag and a separate pool", function()
      script[1] = { pieces = { OK } }
      script[2] = { pieces = { OK }, reused = 1 }
      assert(t.request(req { url = "https://api.example.com/x" }))
      assert.same({ sess = false, name = "api.example.com", verify = true }, sockets[1].handshake)
      assert.equal("https://api.example.com#verify", sockets[1].opts.pool)
      assert.equal(443, sockets[1].port)
      assert(t.request(req { url = "https://api.example.com/x", verify_tls = false }))
      assert.is_nil(sockets[2].handshake)
      assert.equal("https://api.example.com#noverify", sockets[2].opts.pool)
    end)

    it("maps TLS failures", function()
      script[1] = { handshake_err = "20: unable to get local issuer certificate" }
      local _, err = t.request(req { url = "https://h/" })
      assert.equal("PEER_FAILED_VERIFICATION", err.code)
      assert.is_false(err.sent)
      assert.is_true(sockets[1].closed)
      script[2] = { handshake_err = "handshake failed" }
      _, err = t.request(req { url = "https://h/" })
      assert.equal("SSL_CONNECT_ERROR", err.code)
    end)

    it("maps connect failures as unsent", function()
      local cases = { { "connection refused", "COULDNT_CONNECT" }, { "timeout", "OPERATION_TIMEDOUT" },
        { "h could not be resolved (3: Host not found)", "COULDNT_RESOLVE_HOST" },
        { "no resolver defined to resolve \"h\"", "COULDNT_RESOLVE_HOST" } }
      for i, c in ipairs(cases) do
        script[i] = { connect_err = c[1] }
        local res, err = t.request(req())
        assert.is_nil(res)
        assert.equal(c[2], err.code)
        assert.is_false(err.sent)
      end
    end)

    -- At most once: the server may have read the whole request before the reused
    -- connection died, so it is never sent again (nginx's pool already drops idle
    -- connections the peer closed: a stale one is found before writing).
    it("never resends a request whose reused connection died (CONNECTION_DIED, sent)", function()
      local cases = {
        { reused = 3, pieces = {} },                                -- closed without a byte (FIN)
        { reused = 1, pieces = { { err = "connection reset by peer" } } }, -- RST while reading
        { reused = 1, send_err = "broken pipe" },                   -- died while writing
      }
      for i, c in ipairs(cases) do
        script[i] = c
        local res, err = t.request(req())
        assert.is_nil(res, i)
        assert.equal("CONNECTION_DIED", err.code, i)
        assert.is_true(err.sent, i)
        assert.equal(i, #sockets, "case " .. i .. " opened another connection")
        assert.is_true(sockets[i].closed, i)
      end
    end)

    it("does not resend after a timeout, an answer byte, or on a fresh connection", function()
      script[1] = { reused = 1, pieces = { { err = "timeout" } } }
      local _, err = t.request(req())
      assert.equal("OPERATION_TIMEDOUT", err.code)
      assert.is_true(err.sent)
      script[2] = { reused = 1, pieces = { "HTTP/1.1 2" } }
      _, err = t.request(req())
      assert.equal("RECV_ERROR", err.code)
      script[3] = { pieces = {} }
      _, err = t.request(req())
      assert.equal("GOT_NOTHING", err.code)
      assert.equal(3, #sockets)
    end)

    it("refuses a proxy and non-string bodies before connecting", function()
      local _, err = t.request(req { proxy = "http://proxy:3128" })
      assert.equal("UNSUPPORTED_PROXY", err.code)
      assert.is_false(err.sent)
      _, err = t.request(req { body = 5 })
      assert.equal("BAD_REQUEST", err.code)
      _, err = t.request(req { headers = { ["X-A"] = "a\r\nb" } })
      assert.equal("BAD_HEADER", err.code)
      assert.equal(0, #sockets)
    end)

    it("works as a bizreg client transport", function()
      local bizreg = require "bizreg"
      script[1] = { pieces = { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" } }
      local kos = bizreg.kos { base_url = "http://127.0.0.1:8089", token = "sandbox-kos-token", transport = t.request }
      local res, err = kos:register_visitor_images { images = { { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }
      kos:close()
      assert.is_nil(err and tostring(err))
      assert.same({}, res)
      local sent = sockets[1].sent
      assert.truthy(sent:find("^POST /image/open/v1/commands/register%-visitor%-images HTTP/1%.1\r\n"))
      assert.truthy(sent:find("\r\nAuthorization: Bearer sandbox-kos-token\r\n", 1, true))
    end)
  end)
end)
