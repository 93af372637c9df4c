-- A call whose token step fails never sent its own request: its error says so (step =
-- "token", sent = false) and bizreg.outcome reads it as not processed (the token API
-- refused the credentials: refused), whatever happened to the token request itself — a
-- connection broken after the token request left, a 500 from the token API, a resent token
-- call. Before, such an error read "maybe_processed", and `bizreg register images` held a batch
-- that never left back as an unknown outcome. Over a Lua transport.
local bizreg = require "bizreg"
local outcome = require "bizreg.outcome"
local helpers = require "spec.helpers.calls"

local VISIT = { images = { { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }

-- answers[i] for request i (the last one after that); the paths requested are recorded.
local function scripted(answers)
  return helpers.scripted(answers, function(req) return req.url:match("^https?://[^/]+(.*)$") end)
end
local no_sleep = helpers.no_sleep

local function kos(t)
  return bizreg.kos { base_url = "https://crm.example.invalid", api_key = "11111111-2222-4333-8444-555555555555",
    transport = t, retries = 1, retry_max_wait = 0 }
end

local EXCHANGE = "/open/authorization/commands/exchange-token"

describe("an error of the token step", function()
  it("is not processed after a connection broken once the token request left (and its resend)", function()
    local t, paths = scripted { { nil, { code = "RECV_ERROR", message = "reset after send", sent = true } } }
    local c = kos(t)
    local res, err = no_sleep(function() return c:register_visitor_images(VISIT) end)
    assert.is_nil(res)
    assert.same({ EXCHANGE, EXCHANGE }, paths)  -- the token call is a repeat route: sent again, never the images
    assert.same({ "transport", "token", false, outcome.NOT_PROCESSED, true },
      { err.kind, err.step, err.sent, outcome.of(err), err.retryable })
    assert.is_nil(err.resent)
    c:close()
  end)

  it("is not processed after a 500 from the token API, refused after its 401", function()
    for _, case in ipairs { { 500, outcome.NOT_PROCESSED, true }, { 401, outcome.REFUSED, false } } do
      local t, paths = scripted { { { status = case[1], headers = {}, body = '{"message":"no"}' } } }
      local c = kos(t)
      local res, err = no_sleep(function() return c:register_visitor_images(VISIT) end)
      assert.is_nil(res)
      assert.same({ EXCHANGE }, paths)
      assert.same({ "http", case[1], "token", false, case[2], case[3] },
        { err.kind, err.status, err.step, err.sent, outcome.of(err), err.retryable })
      c:close()
    end
  end)

  it("leaves the errors of the call's own request as they were", function()
    local t, paths = scripted {
      { { status = 200, headers = {}, body = '{"token":"kos-token-abcdef0123"}' } },
      { nil, { code = "RECV_ERROR", message = "reset after send", sent = true } },
    }
    local c = kos(t)
    local _, err = no_sleep(function() return c:register_visitor_images(VISIT) end)
    assert.equal(2, #paths)
    assert.same({ "transport", true, outcome.MAYBE, false }, { err.kind, err.sent, outcome.of(err), err.retryable })
    assert.is_nil(err.step)
    c:close()
  end)
end)
