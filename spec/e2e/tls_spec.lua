-- TLS is verified by default; ca_file and verify_tls = false change that, explicitly.
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"

local IMAGES = { images = { { fileName = "a.jpg", visitorId = "v" } } }

local sh = require("spec.helpers.shell").execute

describe("TLS", function()
  local dir, port, pidfile = fx.dir .. "/tls", nil, nil
  setup(function()
    sh("mkdir -p " .. dir)
    -- a self-signed certificate for 127.0.0.1, made here (nothing checked in)
    assert(sh(string.format("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 " ..
      "-addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1", dir, dir)))
    -- a port that was free a moment ago (openssl s_server cannot be told port 0), not one from
    -- math.random: its sequence is the same in every interpreter, and make test runs them at once
    local socket = require "socket"
    local probe = assert(socket.bind("127.0.0.1", 0))
    port = select(2, probe:getsockname())
    probe:close()
    pidfile = dir .. "/server.pid"
    assert(sh(string.format("cd %s && (openssl s_server -quiet -accept 127.0.0.1:%d -cert cert.pem -key key.pem -www " ..
      ">server.log 2>&1 & echo $! > server.pid)", dir, port)))
    for _ = 1, 100 do
      local c = socket.tcp()
      c:settimeout(0.1)
      if c:connect("127.0.0.1", port) then c:close() break end
      c:close()
      socket.sleep(0.05)
    end
  end)
  teardown(function()
    local f = io.open(pidfile)
    if f then sh("kill " .. f:read("*l") .. " 2>/dev/null"); f:close() end
  end)

  local function call(extra)
    local o = { base_url = "https://127.0.0.1:" .. port, token = "secret-token-77", retries = 0, timeout = 1 }
    for k, v in pairs(extra or {}) do o[k] = v end
    local kos = bizreg.kos(o)
    local res, err = kos:register_visitor_images(IMAGES)
    kos:close()
    return res, err
  end

  it("refuses a certificate it cannot verify, by default", function()
    local res, err = call()
    assert.is_nil(res)
    assert.equal("transport", err.kind)
    assert.equal("PEER_FAILED_VERIFICATION", err.code)
    assert.is_false(err.retryable)
    assert.is_nil(tostring(err):find("secret-token-77", 1, true))
  end)

  it("trusts the certificate given as ca_file", function()
    local _, err = call { ca_file = dir .. "/cert.pem" }
    -- TLS succeeded: whatever s_server answers to a POST, it is not a TLS failure
    assert.is_true(err == nil or err.kind ~= "transport" or not err.code:find("SSL") and err.code ~= "PEER_FAILED_VERIFICATION",
      err and tostring(err))
  end)

  it("skips verification only when verify_tls = false", function()
    local _, err = call { verify_tls = false }
    assert.is_true(err == nil or err.code ~= "PEER_FAILED_VERIFICATION", err and tostring(err))
  end)
end)
