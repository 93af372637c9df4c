-- The fault matrix: every sandbox fault mode (sandbox/lua/bizreg_sandbox/faults.lua) against
-- both APIs (KOS register_visitor_images, RCS register_brand), blocking and as jobs,
-- on a fresh and on a reused keep-alive connection. Each case asserts the documented
-- error fields, that the call ended within its deadline + 1 s, how many request heads
-- and bodies the sandbox received (a body never twice), and that no secret is
-- anywhere in what the call returned. The expected outcomes are the table EXPECT.
local sandbox = require "spec.helpers.sandbox"
local calls = require "spec.helpers.calls"
local socket = require "socket"
local shell = require "spec.helpers.shell"

local TIMEOUT, CONNECT_TIMEOUT, RETRIES = 2, 1, 2
local SLOW_TIMEOUT = 1 -- modes that end in a timeout use this (keeps the suite fast)

-- The documented deadline of a whole call is timeout x (retries + 1); + 1 s of slack.
local function bound(timeout) return timeout * (RETRIES + 1) + 1 end

local function died(fresh_codes, bodies, reused_codes)
  return { kind = "transport", code = fresh_codes, reused_code = reused_codes or "CONNECTION_DIED", sent = true,
    retryable = false, heads = 1, bodies = bodies }
end
local function transport(code, bodies, slow)
  return { kind = "transport", code = code, sent = true, retryable = false, heads = 1, bodies = bodies, slow = slow }
end
local function http(status, retryable)
  return { kind = "http", status = status, retryable = retryable, heads = 1, bodies = 1 }
end

-- Expected outcome per case (after issue 7's fixes). Any failure once request bytes
-- may have left is kind "transport", sent = true, retryable = false; only a refused
-- connect is sent = false and retryable (and is retried: still no head arrives).
--   code         one name, or the names the wire leaves open (a RST meets the client
--                while it writes: SEND_ERROR, or once it reads: RECV_ERROR)
--   reused_code  the code when the request went out on a reused keep-alive connection
--                (libcurl must not resend it on a fresh one: the server had it)
--   heads        requests for the endpoint the sandbox saw (1: nothing was resent)
--   bodies       bodies it read completely; registered: registrations (default 0)
--   ok           the call succeeds (echo 200: the result must still hold no secret)
local EXPECT = {
  refuse = { kind = "transport", code = "COULDNT_CONNECT", sent = false, retryable = true, heads = 0, bodies = 0 },
  reset_before_read = died({ "RECV_ERROR", "SEND_ERROR" }, 0, { "CONNECTION_DIED", "SEND_ERROR" }),
  reset_after_headers = died({ "RECV_ERROR", "SEND_ERROR" }, 0, { "CONNECTION_DIED", "SEND_ERROR" }),
  reset_after_body = died("RECV_ERROR", 1),
  fin_before_read = died("GOT_NOTHING", 0),
  fin_after_headers = died("GOT_NOTHING", 0),
  fin_after_body = died("GOT_NOTHING", 1),
  -- the server registered, then reset: a sent = true failure that did arrive
  reset_after_body_commit = (function() local e = died("RECV_ERROR", 1); e.registered = 1; return e end)(),
  hang = transport("OPERATION_TIMEDOUT", 1, true),
  overlong = transport("OPERATION_TIMEDOUT", 1, true), -- Content-Length 1000, 2 bytes sent, then silence
  trickle = transport("OPERATION_TIMEDOUT", 1, true),  -- the answer at 1 byte/s
  truncate = transport("PARTIAL_FILE", 1),             -- Content-Length 200, 100 bytes sent, then FIN
  big_body = transport("RESPONSE_TOO_LARGE", 1),       -- 4096 bytes > max_response_bytes 1024
  big_body_chunked = transport("RESPONSE_TOO_LARGE", 1), -- the same without Content-Length
  huge_header = transport("RESPONSE_TOO_LARGE", 1),    -- one 150 KiB header line (libcurl's limit: 100 KiB)
  many_headers = transport("RESPONSE_TOO_LARGE", 1),   -- 1.5 MiB of 1 KB header lines
  not_json = { kind = "decode", status = 200, retryable = false, heads = 1, bodies = 1 },
  html_500 = http(500, false),
  empty_502 = http(502, false), -- a gateway may have passed the request on: not known to be safe to resend
  redirect_302 = http(302, false), -- not followed (Location is a refused port)
  redirect_307 = http(307, false),
  echo_400 = http(400, false),
  echo_400_unicode = http(400, false), -- the echo \u-escaped: scrubbing must see decoded text
  echo_200 = { ok = true, heads = 1, bodies = 1 },
}

-- The sandbox fault for a case (its endpoint is added per API); refuse has none.
local function fault_doc(mode, refused)
  local docs = {
    reset_after_body_commit = { mode = "reset_after_body", commit = true },
    big_body = { mode = "big_body", bytes = 4096 },
    big_body_chunked = { mode = "big_body", bytes = 4096, chunked = true },
    redirect_302 = { mode = "redirect_302", port = refused },
    redirect_307 = { mode = "redirect_307", port = refused },
    echo_400 = { mode = "echo", status = 400 },
    echo_400_unicode = { mode = "echo", status = 400, escape = "unicode" },
    echo_200 = { mode = "echo", status = 200 },
  }
  return docs[mode] or { mode = mode }
end

local function in_list(v, list)
  if type(list) ~= "table" then return v == list end
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

local function delta(before, after, field, ep) return after[field][ep] - before[field][ep] end

-- libcurl < 7.80 has no CURLOPT_PREREQFUNCTION: when a reused connection dies after the
-- request head but before any body byte, it sends the head again on a fresh connection
-- (never the body twice). The server then sees two heads and one body, and the call succeeds.
local major, minor = require("bizreg.core").curl_version():match("libcurl/(%d+)%.(%d+)")
local HEAD_RESEND = tonumber(major) * 100 + tonumber(minor) < 780
local function head_resent(mode, conn, heads)
  return HEAD_RESEND and conn == "reused" and heads == 2 and
    (mode:find("_before_read$") or mode:find("_after_headers$")) ~= nil
end

local MODES = {}
for m in pairs(EXPECT) do MODES[#MODES + 1] = m end
table.sort(MODES)

describe("fault matrix", function()
  local sb, refused
  setup(function()
    sb = sandbox.start {}
    refused = sandbox.refused_port()
  end)
  teardown(function() sb:stop() end)
  before_each(function() sb:clear_faults() end)

  -- Runs one case and checks everything EXPECT says about it.
  local function run_case(mode, api, style, conn)
    local e = EXPECT[mode]
    local name = table.concat({ mode, api, style, conn }, " / ")
    local timeout = e.slow and SLOW_TIMEOUT or TIMEOUT
    local c = calls.client(sb, api, { url = mode == "refuse" and ("http://127.0.0.1:" .. refused) or nil,
      timeout = timeout, connect_timeout = CONNECT_TIMEOUT, retries = RETRIES,
      max_response_bytes = mode:find("^big_body") and 1024 or nil })
    local ep = calls.ENDPOINT[api]
    if conn == "reused" then -- a call that succeeds leaves its connection in the pool
      local res, err = calls.call(c, api, style, calls.payload(api), 10)
      assert(res, name .. ": warm-up call failed: " .. tostring(err))
    else
      sb:close_idle() -- a pooled connection from an earlier case is found closed before writing
    end
    if mode ~= "refuse" then
      local doc = fault_doc(mode, refused)
      doc.endpoint = ep
      sb:fault(doc)
    end
    local before = sb:stats()
    local res, err, secs = calls.call(c, api, style, calls.payload(api), bound(timeout) + 5)
    c:close()
    local after = sb:stats()

    assert.is_true(secs <= bound(timeout), string.format("%s: took %.2f s (bound %d s)", name, secs, bound(timeout)))
    assert.are_not.equal("hung", err, name .. ": job never finished")
    local resent = head_resent(mode, conn, delta(before, after, "by_endpoint", ep))
    if resent then e = { ok = true, heads = 2, bodies = 1, registered = 1 } end
    assert.equal(e.heads, delta(before, after, "by_endpoint", ep), name .. ": request heads the sandbox saw")
    assert.equal(e.bodies, delta(before, after, "received", ep), name .. ": bodies the sandbox read")
    assert.equal(0, delta(before, after, "duplicates", ep), name .. ": a body arrived twice")
    local reg = after.registered.images + after.registered.brands - before.registered.images - before.registered.brands
    assert.equal(e.registered or 0, reg, name .. ": registrations")
    if e.heads > 0 and not resent then
      local recs = sb:requests()
      assert.equal(conn == "reused" or nil, recs[#recs].reused, name .. ": the faulted request's connection")
    end

    local secrets = calls.secrets(sb)
    assert.is_nil(calls.find_secret(res, secrets, "res"), name .. ": secret in the result")
    assert.is_nil(calls.find_secret(err, secrets, "err"), name .. ": secret in the error")
    assert.is_nil(calls.find_secret(err and tostring(err), secrets, "tostring(err)"), name .. ": secret in tostring(err)")

    if e.ok then
      assert.is_nil(err and tostring(err), name)
      assert.is_table(res, name)
      return
    end
    assert.is_nil(res, name)
    assert.is_table(err, name .. ": " .. tostring(err))
    assert.equal(e.kind, err.kind, name .. ": kind (" .. tostring(err) .. ")")
    local code = conn == "reused" and e.reused_code or e.code
    if code then assert.is_true(in_list(err.code, code), name .. ": code " .. tostring(err.code) .. " (" .. tostring(err) .. ")") end
    if e.status then assert.equal(e.status, err.status, name .. ": status") end
    assert.equal(e.retryable, err.retryable, name .. ": retryable")
    if e.kind == "transport" then
      assert.equal(e.sent, err.sent, name .. ": sent")
    else -- an answer came back: the request certainly was sent
      assert.are_not.equal(false, err.sent, name .. ": sent")
    end
    assert.is_nil(tostring(err):find("[\r\n]"), name .. ": tostring(err) spans lines")
  end

  for _, mode in ipairs(MODES) do
    for _, api in ipairs { "kos", "rcs" } do
      for _, style in ipairs { "blocking", "job" } do
        for _, conn in ipairs { "fresh", "reused" } do
          -- a timeout does not depend on the connection: one variant per style keeps the suite fast
          local skip = (mode == "refuse" and conn == "reused") or
            (EXPECT[mode].slow and conn ~= (style == "blocking" and "fresh" or "reused"))
          if not skip then
            it(table.concat({ mode, api, style, conn }, " / "), function() run_case(mode, api, style, conn) end)
          end
        end
      end
    end
  end

  -- reset_idle / fin_idle: the answer goes out, then the idle connection is closed. The
  -- next call finds it closed before writing: a fresh connect is allowed and succeeds.
  for _, mode in ipairs { "reset_idle", "fin_idle" } do
    for _, api in ipairs { "kos", "rcs" } do
      for _, style in ipairs { "blocking", "job" } do
        it(table.concat({ mode, api, style }, " / ") .. ": a stale pooled connection is replaced before writing", function()
          local c = calls.client(sb, api, { timeout = TIMEOUT, connect_timeout = CONNECT_TIMEOUT, retries = RETRIES })
          local ep = calls.ENDPOINT[api]
          sb:fault { endpoint = ep, mode = mode }
          local before = sb:stats()
          assert(calls.call(c, api, style, calls.payload(api), 10))
          socket.sleep(0.2) -- the close reaches the client's pool
          local res, err, secs = calls.call(c, api, style, calls.payload(api), 10)
          c:close()
          assert.is_nil(err and tostring(err))
          assert.is_table(res)
          assert.is_true(secs <= bound(TIMEOUT))
          local after = sb:stats()
          assert.equal(2, delta(before, after, "by_endpoint", ep))
          assert.equal(2, delta(before, after, "received", ep))
          assert.equal(0, delta(before, after, "duplicates", ep))
          local recs = sb:requests()
          assert.is_nil(recs[#recs].reused, "the second call went out on the closed connection")
        end)
      end
    end
  end

  -- The token calls carry api_key / client_secret in their bodies: an error answer
  -- echoing that body (and any header) must not bring them back.
  for _, api in ipairs { "kos", "rcs" } do
    for _, style in ipairs { "blocking", "job" } do
      for _, escape in ipairs { "none", "unicode" } do
        it(table.concat({ "echo 401 on the token call", api, style, escape }, " / "), function()
          local c = calls.client(sb, api, { auth = "fetch", timeout = TIMEOUT, connect_timeout = CONNECT_TIMEOUT,
            retries = RETRIES })
          sb:fault { endpoint = calls.TOKEN_ENDPOINT[api], mode = "echo", status = 401, escape = escape }
          local res, err = calls.call(c, api, style, calls.payload(api), 10)
          c:close()
          assert.is_nil(res)
          assert.equal("http", err.kind)
          assert.equal(401, err.status)
          assert.is_nil(calls.find_secret(err, calls.SECRETS, "err"))
          assert.is_nil(calls.find_secret(tostring(err), calls.SECRETS, "tostring(err)"))
        end)
      end
    end
  end

  -- A fetched token echoed by the register call (headers and body, 200 and 400).
  for _, api in ipairs { "kos", "rcs" } do
    for _, status in ipairs { 200, 400 } do
      it(table.concat({ "echo of a fetched token", api, status }, " / "), function()
        local c = calls.client(sb, api, { auth = "fetch", timeout = TIMEOUT, retries = RETRIES })
        sb:fault { endpoint = calls.ENDPOINT[api], mode = "echo", status = status }
        local res, err = calls.call(c, api, "blocking", calls.payload(api), 10)
        c:close()
        local secrets = calls.secrets(sb)
        assert.equal(#calls.SECRETS + 1, #secrets, "the sandbox recorded no bearer token")
        assert.is_nil(calls.find_secret(res, secrets, "res"))
        assert.is_nil(calls.find_secret(err, secrets, "err"))
        assert.is_nil(calls.find_secret(err and tostring(err), secrets, "tostring(err)"))
        if status == 200 then assert.is_table(res) else assert.equal(400, err.status) end
      end)
    end
  end
end)

-- #wire: checks of the sandbox itself (its RST/FIN/hang on the wire), with this machine's
-- lua-http; the Debian 11 root's older lua-http/cqueues are not the sandbox's target.
describe("the fault sandbox on the wire #wire", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)

  -- The curl command line, no bizreg: what a client sees for each way of closing.
  -- (luasocket cannot tell: it reports a reset as "closed" too.)
  local function curl_exchange()
    local p = shell.popen(string.format("curl -sS -m 5 -o /dev/null -H 'Content-Type: application/json' " ..
      "--data-binary '{\"images\":[]}' %s/image/open/v1/commands/register-visitor-images 2>&1; echo rc=$?", sb.url))
    local out = p:read("*a")
    p:close()
    return out
  end

  it("resets (RST) and closes (FIN) distinguishably", function()
    for _, point in ipairs { "before_read", "after_headers", "after_body" } do
      sb:fault { endpoint = "kos.register_visitor_images", mode = "reset_" .. point }
      local out = curl_exchange()
      assert.truthy(out:find("Connection reset by peer", 1, true) and out:find("rc=56", 1, true), "reset_" .. point .. ": " .. out)
      sb:fault { endpoint = "kos.register_visitor_images", mode = "fin_" .. point }
      out = curl_exchange()
      assert.truthy(out:find("Empty reply from server", 1, true) and out:find("rc=52", 1, true), "fin_" .. point .. ": " .. out)
    end
  end)

  it("gives libcurl's two messages for them", function()
    local c = calls.client(sb, "kos", { timeout = TIMEOUT, retries = 0 })
    sb:fault { endpoint = "kos.register_visitor_images", mode = "reset_after_body" }
    local _, err = c:register_visitor_images(calls.payload("kos"))
    assert.truthy(tostring(err.message):find("Connection reset by peer", 1, true), tostring(err))
    c:close()
    c = calls.client(sb, "kos", { timeout = TIMEOUT, retries = 0 })
    sb:fault { endpoint = "kos.register_visitor_images", mode = "fin_after_body" }
    _, err = c:register_visitor_images(calls.payload("kos"))
    assert.truthy(tostring(err.message):find("Empty reply from server", 1, true), tostring(err))
    c:close()
  end)

  it("holds a never-answered connection until the client gives up", function()
    sb:fault { endpoint = "kos.register_visitor_images", mode = "hang" }
    local before = sb:stats().received["kos.register_visitor_images"]
    local s = assert(socket.connect("127.0.0.1", sb.port))
    s:settimeout(0.5)
    local body = '{"images":[]}'
    assert(s:send("POST /image/open/v1/commands/register-visitor-images HTTP/1.1\r\nHost: x\r\n" ..
      "Content-Length: " .. #body .. "\r\n\r\n" .. body))
    local _, err = s:receive("*l")
    assert.equal("timeout", err)
    s:close()
    assert.equal(before + 1, sb:stats().received["kos.register_visitor_images"])
  end)
end)
