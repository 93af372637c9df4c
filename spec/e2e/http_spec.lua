-- libcurl transport (src/easy.c, request.c, callbacks.c, response.c, multi.c) against a local lua-http server.
--   lua5.4 /usr/bin/busted --cpath=./build/lua5.4/?.so spec/e2e/http_spec.lua
-- The server (spec/helpers/echo.lua, run by lua5.1; started by spec/helpers/echo_server.lua) listens on a free 127.0.0.1 port
-- (BIZREG_ECHO_PORT fixes one) and is started/stopped here.
local core = require "bizreg.core"
local cjson = require "cjson"

-- A random free port unless BIZREG_ECHO_PORT is set, so parallel runs never collide.
local BASE
local server

-- Children must not inherit a sanitizer/valgrind preload of the test process.
local function sh(cmd)
  return os.execute("env -u LD_PRELOAD sh -c '" .. cmd .. "' 2>/dev/null")
end

local function sleep(s) sh("sleep " .. s) end

local function count_requests(h)
  local res = assert(h:request { url = BASE .. "/count" })
  return tonumber(res.body)
end

local ok_socket, socket = pcall(require, "socket")
local function now()  -- wall clock with sub-second resolution (os.clock is CPU time)
  if ok_socket then return socket.gettime() end
  local p = io.popen("env -u LD_PRELOAD date +%s.%N")
  local t = tonumber(p:read("*l"))
  p:close()
  return t
end

local function echo(res)
  assert.is_table(res)
  assert.are.equal(200, res.status)
  return cjson.decode(res.body)
end

local PATTERN
do
  local t = {}
  for i = 1, 256 do t[i] = string.char((i * 7 + 3) % 256) end  -- every byte value once
  PATTERN = table.concat(t)
end
local function bytes(n)
  return string.rep(PATTERN, math.floor(n / 256) + 1):sub(1, n)
end

describe("bizreg.core http transport", function()
  setup(function()
    server = require("spec.helpers.echo_server").start()
    BASE = server.base
  end)
  teardown(function() if server then server.stop() end end)

  describe("sync request", function()
    it("round-trips method, headers and body bytes", function()
      local h = core.http()
      local body = "a\0b\r\n" .. bytes(1000)
      local res, err = h:request {
        method = "POST", url = BASE .. "/echo?x=1",
        headers = { ["X-Test"] = "abc def", ["Content-Type"] = "application/octet-stream", ["X-Empty"] = "" },
        body = body,
      }
      assert.is_nil(err)
      local e = echo(res)
      assert.are.equal("POST", e.method)
      assert.are.equal("/echo?x=1", e.path)
      assert.are.equal(#body, e.body_length)
      assert.are.equal(body, e.body)
      assert.are.equal("abc def", e.headers["x-test"])
      assert.are.equal("", e.headers["x-empty"])
      assert.are.equal("application/octet-stream", e.headers["content-type"])
      assert.are.equal(tostring(#body), e.headers["content-length"])
      assert.is_nil(e.headers["expect"])
      assert.is_nil(e.headers["transfer-encoding"])
      -- response side
      assert.are.equal("application/json", res.headers["content-type"])
      assert.are.equal(tostring(#res.body), res.headers["content-length"])
      assert.is_number(res.total_time)
      assert.is_true(res.total_time > 0 and res.total_time < 5)
      assert.is_true(res.request_size > #body)
      h:close()
    end)

    it("sends GET, PUT and DELETE as asked (Content-Length 0 for an empty PUT)", function()
      local h = core.http()
      local e = echo(h:request { url = BASE .. "/echo" })
      assert.are.equal("GET", e.method)
      assert.are.equal(0, e.body_length)
      assert.is_nil(e.headers["content-length"])
      e = echo(h:request { method = "PUT", url = BASE .. "/echo" })
      assert.are.equal("PUT", e.method)
      assert.are.equal("0", e.headers["content-length"])
      e = echo(h:request { method = "PUT", url = BASE .. "/echo", body = "xyz" })
      assert.are.equal("PUT", e.method)
      assert.are.equal("xyz", e.body)
      e = echo(h:request { method = "DELETE", url = BASE .. "/echo" })
      assert.are.equal("DELETE", e.method)
      -- GET again after a POST on the same handle: per-request options are reset
      e = echo(h:request { method = "POST", url = BASE .. "/echo", body = "p" })
      assert.is_nil(e.headers["content-type"])  -- libcurl's form-urlencoded default is suppressed
      e = echo(h:request { method = "GET", url = BASE .. "/echo" })
      assert.are.equal("GET", e.method)
      assert.are.equal("", e.body)
      local res = assert(h:request { method = "HEAD", url = BASE .. "/big?bytes=10" })
      assert.are.equal(200, res.status)
      assert.are.equal("", res.body)
      assert.are.equal("10", res.headers["content-length"])
      res = assert(h:request { url = BASE .. "/big?bytes=10" })  -- GET after HEAD gets a body again
      assert.are.equal("xxxxxxxxxx", res.body)
      h:close()
    end)

    it("reuses one connection for 100 sequential requests", function()
      local h = core.http()
      local ids = {}
      for i = 1, 100 do
        local res = assert(h:request { url = BASE .. "/conn" })
        ids[i] = res.body
      end
      for i = 2, 100 do assert.are.equal(ids[1], ids[i]) end
      -- a second handle has its own connection
      local h2 = core.http()
      assert.are_not.equal(ids[1], assert(h2:request { url = BASE .. "/conn" }).body)
      h:close()
      h2:close()
    end)

    it("returns a 4xx/5xx status as a result, not an error", function()
      local h = core.http()
      local res, err = h:request { url = BASE .. "/status?code=500" }
      assert.is_nil(err)
      assert.are.equal(500, res.status)
      assert.are.equal("status 500", res.body)
      res = assert(h:request { url = BASE .. "/status?code=404" })
      assert.are.equal(404, res.status)
      h:close()
    end)

    it("returns only the last header block (after a 1xx response)", function()
      local h = core.http()
      local res = assert(h:request { url = BASE .. "/early" })
      assert.are.equal(200, res.status)
      assert.are.equal("final", res.body)
      assert.is_nil(res.headers["x-early"])
      assert.is_nil(res.headers["link"])
      assert.are.equal("5", res.headers["content-length"])
      assert.are.equal("text/plain", res.headers["content-type"])
      h:close()
    end)

    it("rejects a header with CR/LF/NUL before sending, without echoing the value", function()
      local h = core.http()
      local before = count_requests(h)
      local cases = {
        { { ["X-Bad"] = "secret-token\r\nX-Injected: 1" }, "X-Bad" },
        { { ["X-Bad"] = "secret-token\nmore" }, "X-Bad" },
        { { ["X-Bad"] = "secret\0token" }, "X-Bad" },
        { { ["X-Bad\r\nX"] = "v" }, "X-Bad\\r\\nX" },
        { { ["X:Bad"] = "v" }, "X:Bad" },
        { { ["X Bad"] = "v" }, "X Bad" },
      }
      for _, c in ipairs(cases) do
        local res, err = h:request { method = "POST", url = BASE .. "/echo", headers = c[1], body = "x" }
        assert.is_nil(res)
        assert.are.equal("BAD_HEADER", err.code)
        assert.are.equal("header " .. c[2] .. " contains a forbidden character", err.message)
        assert.is_false(err.sent)
        assert.is_nil(err.message:find("secret", 1, true))
      end
      local _, err = h:request { url = BASE .. "/echo", headers = { [""] = "v" } }
      assert.are.equal("BAD_HEADER", err.code)
      assert.are.equal(before, count_requests(h))  -- the server saw none of them
      h:close()
    end)

    it("reports COULDNT_CONNECT with sent=false when nothing listens", function()
      local h = core.http { connect_timeout = 2 }
      local res, err = h:request { method = "POST", url = "http://127.0.0.1:1/echo", body = "x",
        headers = { Authorization = "Bearer sekrit-123" } }
      assert.is_nil(res)
      assert.are.equal("COULDNT_CONNECT", err.code)
      assert.are.equal(7, err.curl_code)
      assert.is_false(err.sent)
      assert.is_string(err.message)
      assert.is_truthy(err.message:find("onnect to server", 1, true))  -- "Couldn't"/"Could not" by version
      assert.is_nil(err.message:find("sekrit", 1, true))
      h:close()
    end)

    it("reports OPERATION_TIMEDOUT with sent=true after the whole-request timeout", function()
      local h = core.http { timeout = 0.3 }
      local t0 = now()
      -- the server would answer after 60 s: an OPERATION_TIMEDOUT can only be the client's timeout
      local res, err = h:request { url = BASE .. "/delay?ms=60000", headers = { Authorization = "Bearer sekrit-123" } }
      local dt = now() - t0
      assert.is_nil(res)
      assert.are.equal("OPERATION_TIMEDOUT", err.code)
      assert.are.equal(28, err.curl_code)
      assert.is_true(err.sent)
      assert.is_nil(err.message:find("sekrit", 1, true))
      assert.is_true(dt >= 0.25, "elapsed " .. dt)  -- a lower bound only: load makes it longer, never shorter
      -- the handle stays usable
      assert.are.equal(200, assert(h:request { url = BASE .. "/delay?ms=10" }).status)
      h:close()
    end)

    it("maps other curl failures to CURLE names", function()
      local h = core.http()
      local _, err = h:request { url = "ftp://127.0.0.1/x" }
      assert.are.equal("UNSUPPORTED_PROTOCOL", err.code)
      assert.is_false(err.sent)
      _, err = h:request { url = "http://" }
      assert.are.equal("URL_MALFORMAT", err.code)
      _, err = h:request { url = "http://no-such-host.invalid/" }
      assert.are.equal("COULDNT_RESOLVE_HOST", err.code)
      assert.is_false(err.sent)
      h:close()
    end)

    it("aborts with RESPONSE_TOO_LARGE above max_response_bytes", function()
      local h = core.http { max_response_bytes = 1000 }
      local res = assert(h:request { url = BASE .. "/big?bytes=1000" })
      assert.are.equal(1000, #res.body)
      local _, err = h:request { url = BASE .. "/big?bytes=5000" }  -- known from Content-Length
      assert.are.equal("RESPONSE_TOO_LARGE", err.code)
      assert.is_true(err.sent)
      assert.are.equal("response body exceeds max_response_bytes (1000)", err.message)
      _, err = h:request { url = BASE .. "/big?bytes=50000&chunked=1" }  -- only seen while receiving
      assert.are.equal("RESPONSE_TOO_LARGE", err.code)
      res = assert(h:request { url = BASE .. "/big?bytes=999&chunked=1" })
      assert.are.equal(string.rep("x", 999), res.body)
      h:close()
      local h0 = core.http { max_response_bytes = 0 }
      assert.are.equal("", assert(h0:request { url = BASE .. "/big?bytes=0" }).body)
      assert.are.equal("RESPONSE_TOO_LARGE", select(2, h0:request { url = BASE .. "/big?bytes=1" }).code)
      h0:close()
    end)

    it("joins a repeated response header's values with \", \" in order, linearly", function()
      local h = core.http { timeout = 10 }
      local res = assert(h:request { url = BASE .. "/repeat?count=3" })
      assert.are.equal("1, 2, 3", res.headers["x-r"])
      -- 4,000 copies (libcurl 8.x refuses more than 5,000 header lines): one join
      res = assert(h:request { url = BASE .. "/repeat?count=4000" })
      local n = 0
      for v in res.headers["x-r"]:gmatch("[^, ]+") do n = n + 1 assert.are.equal(tostring(n), v) end
      assert.are.equal(4000, n)
      h:close()
    end)

    it("reports response headers over the limits as RESPONSE_TOO_LARGE", function()
      local h = core.http { timeout = 5 }
      for _, q in ipairs { "bytes=150000&count=1", "bytes=9000&count=40" } do
        local res, err = h:request { url = BASE .. "/hdrs?" .. q }
        assert.is_nil(res, q)
        assert.are.equal("RESPONSE_TOO_LARGE", err.code, q)
        assert.is_true(err.sent)
      end
      local res = assert(h:request { url = BASE .. "/hdrs?bytes=9000&count=10" })
      assert.are.equal(9000, #res.headers["x-big-10"])
      h:close()
    end)

    it("calls on_progress with increasing sent bytes and the final total", function()
      local h = core.http()
      local body = bytes(3 * 1024 * 1024)
      local calls = {}
      local res, err = h:request { method = "POST", url = BASE .. "/slowread", body = body,
        on_progress = function(sent, total) calls[#calls + 1] = { sent, total } end }
      assert.is_nil(err)
      local e = echo(res)
      assert.are.equal(#body, e.body_length)
      assert.is_nil(e.headers["expect"])  -- libcurl would add "Expect: 100-continue" above 1 MiB
      assert.is_true(#calls >= 2, "only " .. #calls .. " progress calls")
      for i, c in ipairs(calls) do
        assert.are.equal(#body, c[2])
        assert.is_true(c[1] > 0 and c[1] <= #body)
        if i > 1 then assert.is_true(c[1] > calls[i - 1][1]) end
      end
      assert.are.equal(#body, calls[#calls][1])
      assert.is_true(res.request_size > #body and res.request_size < #body + 500, "request_size " .. res.request_size)
      h:close()
    end)

    it("turns an error in on_progress into CALLBACK_ERROR and keeps the handle usable", function()
      local h = core.http()
      local body = bytes(2 * 1024 * 1024)
      local res, err = h:request { method = "POST", url = BASE .. "/slowread", body = body,
        on_progress = function() error("boom from progress") end }
      local _
      assert.is_nil(res)
      assert.are.equal("CALLBACK_ERROR", err.code)
      assert.are.equal(42, err.curl_code)
      assert.is_truthy(err.message:find("boom from progress", 1, true))
      assert.is_true(err.sent)
      _, err = h:request { method = "POST", url = BASE .. "/echo", body = "x",
        on_progress = function() error({ "a table" }) end }
      assert.are.equal("CALLBACK_ERROR", err.code)
      assert.is_truthy(err.message:find("table", 1, true))
      -- re-entering the busy handle or closing it from the callback is refused, not a crash
      _, err = h:request { method = "POST", url = BASE .. "/echo", body = "x",
        on_progress = function() h:request { url = BASE .. "/echo" } end }
      assert.are.equal("CALLBACK_ERROR", err.code)
      assert.is_truthy(err.message:find("busy", 1, true))
      _, err = h:request { method = "POST", url = BASE .. "/echo", body = "x",
        on_progress = function() h:close() end }
      assert.are.equal("CALLBACK_ERROR", err.code)
      assert.is_false(h:closed())
      -- without on_progress the same handle works
      assert.are.equal("x", echo(h:request { method = "POST", url = BASE .. "/echo", body = "x" }).body)
      h:close()
    end)

    it("closes idempotently and raises when used after close", function()
      local h = core.http()
      assert.are.equal("bizreg.http (open)", tostring(h))
      assert.is_false(h:closed())
      h:close()
      h:close()
      assert.is_true(h:closed())
      assert.are.equal("bizreg.http (closed)", tostring(h))
      assert.has_error(function() h:request { url = BASE .. "/echo" } end, "bizreg.http: the handle is closed")
    end)

    if _VERSION == "Lua 5.4" then
      it("closes on scope exit (<close>)", function()
        local f = load([[
          local core, url = ...
          local keep
          do
            local h <close> = core.http()
            keep = h
            assert(h:request { url = url })
          end
          return keep:closed()
        ]])
        assert.is_true(f(core, BASE .. "/echo"))
      end)
    end

    it("raises for wrong option and request types", function()
      assert.has_error(function() core.http { timeout = "5" } end)
      assert.has_error(function() core.http { timeout = 0 } end)
      assert.has_error(function() core.http { timeout = -1 } end)
      assert.has_error(function() core.http { connect_timeout = {} } end)
      assert.has_error(function() core.http { verify_tls = "no" } end)
      assert.has_error(function() core.http { ca_file = 1 } end)
      assert.has_error(function() core.http { proxy = true } end)
      assert.has_error(function() core.http { user_agent = {} } end)
      assert.has_error(function() core.http { max_response_bytes = -1 } end)
      assert.has_error(function() core.http { max_response_bytes = 1.5 } end)
      assert.has_error(function() core.http(5) end)
      local h = core.http { timeout = 2.5, connect_timeout = 1, verify_tls = false, user_agent = "bizreg-test/1",
        max_response_bytes = 100000 }
      assert.are.equal("bizreg-test/1", echo(h:request { url = BASE .. "/echo" } or error("x")).headers["user-agent"])
      assert.has_error(function() h:request() end)
      assert.has_error(function() h:request { } end)             -- no url
      assert.has_error(function() h:request { url = 1 } end)
      assert.has_error(function() h:request { url = BASE, method = "GET /x" } end)
      assert.has_error(function() h:request { url = BASE, headers = "x" } end)
      assert.has_error(function() h:request { url = BASE, headers = { X = 1 } } end)
      assert.has_error(function() h:request { url = BASE, body = 1 } end)
      assert.has_error(function() h:request { url = BASE, body = {} } end)
      assert.has_error(function() h:request { url = BASE, on_progress = 1 } end)
      assert.has_error(function() h:request { url = BASE, method = "HEAD", body = "x" } end)
      h:close()
    end)

    it("reports curl_version", function()
      assert.is_truthy(core.curl_version():find("^libcurl/%d"))
    end)
  end)

  describe("streamed body", function()
    -- A bizreg.body comes from core.encode_brand (multipart with a file segment read at send time).
    -- a complete PNG (validation wants IDAT, IEND and valid CRCs), padded to `size` bytes
    local function png(side, size) return require("spec.helpers.images").png(side, side, { size = size }) end

    local function make_body(path)
      return core.encode_brand({
        regBrand = { name = "Test", description = "streamed body test", categoryId = "c1", subCategoryId = "s1" },
        brandProfile = path,
      }, { boundary = "bizreg-test-boundary" })
    end

    it("streams a body userdata with its Content-Length and Content-Type", function()
      if not core.encode_brand then pending("core.encode_brand is not available in this build") return end
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write(png(400, 300000))
      f:close()
      local body, violations = make_body(path)
      assert(body, "encode_brand refused the test payload: " .. cjson.encode(violations or {}))
      local h = core.http()
      local calls = 0
      local res, err = h:request { method = "POST", url = BASE .. "/echo", body = body,
        on_progress = function(sent, total) calls = calls + 1 assert(total == #body) end }
      assert.is_nil(err)
      local e = echo(res)
      local expected = body:tostring()
      assert.are.equal(#expected, #body)
      assert.are.equal(#expected, e.body_length)
      assert.are.equal(expected, e.body)
      assert.are.equal(tostring(#body), e.headers["content-length"])
      assert.are.equal(body:content_type(), e.headers["content-type"])
      assert.is_nil(e.headers["transfer-encoding"])
      assert.is_true(calls >= 1)
      -- the same body can be sent again (a new reader per transfer), and an explicit Content-Type wins
      e = echo(h:request { method = "PUT", url = BASE .. "/echo", body = body, headers = { ["content-type"] = "x/y" } })
      assert.are.equal(expected, e.body)
      assert.are.equal("x/y", e.headers["content-type"])
      -- the file changes size after validation -> BODY_READ_ERROR
      f = assert(io.open(path, "ab"))
      f:write("more")
      f:close()
      local _, err2 = h:request { method = "POST", url = BASE .. "/echo", body = body }
      assert.are.equal("BODY_READ_ERROR", err2.code)
      assert.is_string(err2.message)
      assert.are_not.equal("", err2.message)
      os.remove(path)
      _, err2 = h:request { method = "POST", url = BASE .. "/echo", body = body }
      assert.are.equal("BODY_READ_ERROR", err2.code)
      -- still usable
      assert.are.equal(200, assert(h:request { url = BASE .. "/echo" }).status)
      h:close()
    end)
  end)

  -- Neither API has an idempotency key: once a byte of a request body may have left, libcurl must
  -- not send it again (its "Connection died, retrying a fresh connect" on a reused connection).
  describe("at most once", function()
    local fixtures = require "spec.helpers.fixtures"
    local function stream_body()
      local path = fixtures.file("amo-400.png", function() return fixtures.png(400, 400) end)
      return assert(core.encode_brand({
        regBrand = { name = "Test", description = "at most once", categoryId = "c1", subCategoryId = "s1" },
        brandProfile = path,
      }, { boundary = "bizreg-amo-boundary" }))
    end
    local bodies = {
      string = function() return bytes(5000) end,
      stream = stream_body,
    }
    local counter = core.http()
    teardown(function() counter:close() end)

    local function warm(h)  -- a kept-alive connection for the next request
      assert.are.equal(200, assert(h:request { url = BASE .. "/echo" }).status)
    end

    local function check_lost(err, before)
      assert.is_table(err)
      assert.are.equal("CONNECTION_DIED", err.code)
      assert.is_true(err.sent)
      assert.matches("not sent again", err.message)
      assert.are.equal(before + 1, count_requests(counter))  -- the server saw the body once
    end

    for kind, make in pairs(bodies) do
      for _, how in ipairs { "fin", "rst" } do
        it(("never resends a %s body when a reused connection dies after it (%s, blocking)"):format(kind, how), function()
          local h = core.http { timeout = 5 }
          warm(h)
          local before = count_requests(counter)
          local res, err = h:request { method = "POST", url = BASE .. "/drop?how=" .. how, body = make() }
          assert.is_nil(res)
          check_lost(err, before)
          warm(h)  -- the handle stays usable
          h:close()
        end)

        it(("never resends a %s body when a reused connection dies after it (%s, multi)"):format(kind, how), function()
          local m, h = core.multi(), core.http { timeout = 5 }
          m:add(h, { url = BASE .. "/echo" })
          local t0 = now()
          while m:count() > 0 do m:poll(0.05) assert(now() - t0 < 5) end
          local before = count_requests(counter)
          m:add(h, { method = "POST", url = BASE .. "/drop?how=" .. how, body = make() })
          local done = {}
          while m:count() > 0 do
            for _, r in ipairs(m:poll(0.05)) do done[#done + 1] = r end
            assert(now() - t0 < 10, "multi did not finish")
          end
          assert.are.equal(1, #done)
          assert.is_nil(done[1].res)
          check_lost(done[1].err, before)
          m:close()
          h:close()
        end)
      end
    end

    it("replaces a kept-alive connection the server closed while idle, before writing to it", function()
      local h = core.http { timeout = 5 }
      local probe = core.http { timeout = 5 }
      local closed = tonumber(assert(probe:request { url = BASE .. "/lateclosed" }).body)
      assert.are.equal(200, assert(h:request { url = BASE .. "/lateclose" }).status)
      for _ = 1, 1000 do  -- until the server has closed it (a condition, not a clock)
        if tonumber(assert(probe:request { url = BASE .. "/lateclosed" }).body) > closed then break end
        sleep(0.01)
      end
      probe:close()  -- the server closed before it answered: the FIN is already in the client's socket
      local before = count_requests(counter)
      local res = assert(h:request { method = "POST", url = BASE .. "/echo", body = bytes(300) })
      assert.are.equal(300, echo(res).body_length)
      assert.are.equal(before + 1, count_requests(counter))
      h:close()
    end)

    it("does not reuse a connection idle longer than max_idle", function()
      local h = core.http { max_idle = 1 }
      local a = assert(h:request { url = BASE .. "/conn" }).body
      assert.are.equal(a, assert(h:request { url = BASE .. "/conn" }).body)
      sleep(2.1)
      assert.are_not.equal(a, assert(h:request { url = BASE .. "/conn" }).body)
      assert.has_error(function() core.http { max_idle = 0 } end)
      h:close()
    end)

    it("reports a fresh connection that dies after the body as sent, once", function()
      local h = core.http { timeout = 5 }
      local before = count_requests(counter)
      local _, err = h:request { method = "POST", url = BASE .. "/drop?how=fin", body = bytes(100) }
      assert.is_true(err.sent)
      assert.are.equal("GOT_NOTHING", err.code)
      assert.are.equal(before + 1, count_requests(counter))
      h:close()
    end)
  end)

  describe("multi", function()
    local function drain(m, max_s)
      local done, t0 = {}, now()
      while m:count() > 0 do
        for _, r in ipairs(m:poll(0.05)) do done[#done + 1] = r end
        assert(now() - t0 < (max_s or 5), "multi did not finish")
      end
      return done
    end

    it("runs 5 concurrent /delay?ms=300 requests in well under 1 s", function()
      local m = core.multi()
      local hs = {}
      local t0 = now()
      for i = 1, 5 do
        hs[i] = core.http()
        assert.is_true(m:add(hs[i], { url = BASE .. "/delay?ms=300&i=" .. i }))
      end
      assert.are.equal(5, m:count())
      local done = drain(m)
      local dt = now() - t0
      assert.is_true(dt < 1.0, "took " .. dt .. " s")
      assert.are.equal(5, #done)
      assert.are.equal(0, m:count())
      local seen = {}
      for _, r in ipairs(done) do
        assert.is_nil(r.err)
        assert.are.equal(200, r.res.status)
        assert.are.equal("ok", r.res.body)
        for i = 1, 5 do if rawequal(r.handle, hs[i]) then seen[i] = true end end
      end
      for i = 1, 5 do assert.is_true(seen[i]) end
      -- handles are reusable, for sync requests and in the multi again
      for i = 1, 5 do assert.are.equal(200, assert(hs[i]:request { url = BASE .. "/echo" }).status) end
      assert.is_true(m:add(hs[1], { method = "POST", url = BASE .. "/echo", body = "again" }))
      done = drain(m)
      assert.are.equal("again", echo(done[1].res).body)
      assert.is_true(rawequal(hs[1], done[1].handle))
      m:close()
      m:close()
      assert.is_true(m:closed())
      assert.has_error(function() m:poll(0) end)
      for i = 1, 5 do hs[i]:close() end
    end)

    it("poll returns as soon as one transfer finishes", function()
      local m = core.multi()
      local fast, slow = core.http(), core.http()
      -- the slow one answers after 120 s: a poll that waited for both could not return fast alone
      m:add(slow, { url = BASE .. "/delay?ms=120000" })
      m:add(fast, { url = BASE .. "/delay?ms=100" })
      local got = m:poll(5)
      while #got == 0 do got = m:poll(5) end
      assert.are.equal(1, #got)
      assert.is_true(rawequal(fast, got[1].handle))
      assert.are.equal(1, m:count())
      local t0 = now()
      assert.are.same({}, m:poll(0))  -- 0: no waiting (waiting for the slow one would take 120 s)
      assert.is_true(now() - t0 < 30)
      m:close()
      assert.is_false(slow:closed())
      fast:close() slow:close()
    end)

    it("keeps at most 16 idle connections of handles long gone", function()
      local function fds()
        local p = io.popen("ls /proc/" .. (io.open("/proc/self/stat"):read("*l"):match("^%d+") or "self") .. "/fd | wc -l")
        local n = tonumber(p:read("*l"))
        p:close()
        return n
      end
      if not io.open("/proc/self/stat") then pending("no /proc") return end
      local m = core.multi()
      local base = fds()
      for _ = 1, 40 do m:add(core.http(), { url = BASE .. "/delay?ms=300" }) end
      local t0 = now()
      while m:count() > 0 do m:poll(0.05) assert(now() - t0 < 10) end
      collectgarbage() collectgarbage()
      assert.is_true(fds() - base <= 17, "fds still open: " .. (fds() - base))
      m:close()
    end)

    it("shares connections through the multi's connection cache", function()
      local m = core.multi()
      local a, b = core.http(), core.http()
      m:add(a, { url = BASE .. "/conn" })
      local first = drain(m)[1].res.body
      m:add(b, { url = BASE .. "/conn" })  -- another handle, same multi: the cached connection
      assert.are.equal(first, drain(m)[1].res.body)
      m:close()
      a:close() b:close()
    end)

    it("reports errors per transfer with the sync shapes", function()
      local m = core.multi()
      local a, b, c = core.http { timeout = 0.3 }, core.http(), core.http { max_response_bytes = 10 }
      m:add(a, { url = BASE .. "/delay?ms=2000" })
      m:add(b, { url = "http://127.0.0.1:1/" })
      m:add(c, { url = BASE .. "/big?bytes=100" })
      local by = {}
      for _, r in ipairs(drain(m)) do
        assert.is_nil(r.res)
        by[r.handle] = r.err
      end
      assert.are.equal("OPERATION_TIMEDOUT", by[a].code)
      assert.is_true(by[a].sent)
      assert.are.equal("COULDNT_CONNECT", by[b].code)
      assert.is_false(by[b].sent)
      assert.are.equal("RESPONSE_TOO_LARGE", by[c].code)
      m:close()
      a:close() b:close() c:close()
    end)

    it("returns BAD_HEADER from add and refuses busy or closed handles", function()
      local m = core.multi()
      local h = core.http()
      local ok, err = m:add(h, { url = BASE .. "/echo", headers = { ["X-A"] = "v\r\n" } })
      assert.is_nil(ok)
      assert.are.equal("BAD_HEADER", err.code)
      assert.are.equal(0, m:count())
      assert.is_true(m:add(h, { url = BASE .. "/delay?ms=100" }))
      assert.has_error(function() m:add(h, { url = BASE .. "/echo" }) end)
      assert.has_error(function() h:request { url = BASE .. "/echo" } end)
      local closed = core.http()
      closed:close()
      assert.has_error(function() m:add(closed, { url = BASE .. "/echo" }) end)
      assert.are.equal(1, #drain(m))
      m:close()
      h:close()
    end)

    it("runs on_progress under pcall during poll", function()
      local m = core.multi()
      local h1, h2 = core.http(), core.http()
      local body = bytes(2 * 1024 * 1024)
      local last = 0
      m:add(h1, { method = "POST", url = BASE .. "/slowread", body = body,
        on_progress = function(sent, total) assert(sent > last and total == #body) last = sent end })
      m:add(h2, { method = "POST", url = BASE .. "/slowread", body = body,
        on_progress = function() m:close() end })  -- refused inside poll -> CALLBACK_ERROR
      local by = {}
      for _, r in ipairs(drain(m)) do by[r.handle] = r end
      assert.is_nil(by[h1].err)
      assert.are.equal(#body, echo(by[h1].res).body_length)
      assert.are.equal(#body, last)
      assert.are.equal("CALLBACK_ERROR", by[h2].err.code)
      assert.is_truthy(by[h2].err.message:find("polled", 1, true))
      m:close()
      h1:close() h2:close()
    end)

    it("drops a transfer whose handle is closed while running", function()
      local m = core.multi()
      local h1, h2 = core.http(), core.http()
      m:add(h1, { url = BASE .. "/delay?ms=200" })
      m:add(h2, { url = BASE .. "/delay?ms=200" })
      m:poll(0)
      h1:close()
      assert.are.equal(1, m:count())
      local done = drain(m)
      assert.are.equal(1, #done)
      assert.is_true(rawequal(h2, done[1].handle))
      m:close()
      h2:close()
    end)

    it("releases running transfers on close and garbage collection", function()
      local m = core.multi()
      local h = core.http()
      m:add(h, { method = "POST", url = BASE .. "/delay?ms=500", body = bytes(100000) })
      m:poll(0)
      m:close()
      assert.is_false(h:closed())
      assert.are.equal(200, assert(h:request { url = BASE .. "/echo" }).status)  -- idle again
      h:close()
      for _ = 1, 3 do
        local mm = core.multi()
        for _ = 1, 3 do
          mm:add(core.http(), { method = "POST", url = BASE .. "/delay?ms=500", body = bytes(1000),
            on_progress = function() return mm end })
        end
        mm:poll(0)
      end
      collectgarbage()
      collectgarbage()
      local m2 = core.multi()
      assert.are.equal("bizreg.multi (open)", tostring(m2))
      m2:close()
      assert.are.equal("bizreg.multi (closed)", tostring(m2))
    end)
  end)
end)
