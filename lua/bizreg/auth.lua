-- Token providers. Secrets live only in these closures: never in a field of the
-- client table, so printing or serialising a client cannot reveal them.
-- Each provider: { header, scheme, get(client, ctx) -> token | nil, err,
--                  renewable(client, res) -> bool, invalidate(), secrets() -> list }
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"

local M = {}

local core = require "bizreg.core"

local SKEW = 60  -- renew this many seconds before the announced expiry
-- A fetch that was abandoned (its coroutine killed by ngx.exit, a transport that raised)
-- must not block the client forever: waiters give up on it once it has taken longer than
-- any real fetch could (the client's timeout + connect_timeout), and fetch themselves.
local function fetch_wait(client)
  return (client.http_opts.timeout or 30) + (client.http_opts.connect_timeout or 10)
end

local function bad_token(t)
  return type(t) ~= "string" or t == "" or t:find("[\r\n%z]") ~= nil
end

function M.static(token, header, scheme)
  return {
    header = header, scheme = scheme,
    get = function() return token end,
    renewable = function() return false end,
    invalidate = function() end,
    secrets = function() return { token } end,
  }
end

-- Shared shape of the "fetch a token, cache it, renew on 401" providers.
-- fetch(client, ctx) -> token, expires_at | nil, err
local function cached(header, scheme, fetch, renewable, secrets)
  local token, expires_at, fetching  -- fetching: core.now() when a fetch started
  local p = { header = header, scheme = scheme, renewable = renewable }
  function p.get(client, ctx)
    -- A job already fetching: wait for it instead of asking twice.
    while fetching and core.now() - fetching < fetch_wait(client) do ctx.sleep(0.005) end
    if token and (not expires_at or os.time() < expires_at) then return token end
    fetching = core.now()
    local t, exp_or_err = fetch(client, ctx)
    fetching = nil
    if not t then return nil, exp_or_err end
    token, expires_at = t, exp_or_err
    return token
  end
  function p.invalidate() token, expires_at = nil, nil end
  function p.secrets() return secrets(token) end
  return p
end

-- KOS: POST /open/authorization/commands/exchange-token {"key": api_key} -> {"token": ...}.
-- No lifetime is documented: cache until a 401, then exchange once more.
function M.kos_exchange(api_key, header, scheme, map_error)
  local function fetch(client, ctx)
    local res, err = client:send(ctx, {
      method = "POST", path = "/open/authorization/commands/exchange-token",
      headers = { ["Content-Type"] = "application/json" }, body = cjson.encode { key = api_key },
    })
    if not res then return nil, err end
    if res.status < 200 or res.status > 299 then return nil, map_error(res) end
    local body = cjson.decode(res.body)
    local token = type(body) == "table" and body.token or nil
    if bad_token(token) then
      return nil, errors.decode(res.status, "exchange-token answered without a usable token")
    end
    return token, nil
  end
  return cached(header, scheme, fetch,
    function() return true end,
    function(token) return { api_key, token } end)
end

-- RCS expiresIn is a string; the example value (1568694883) reads as absolute epoch
-- seconds [G]. Small values are taken as a lifetime in seconds from now.
function M.rcs_expiry(expires_in, now)
  local n = tonumber(expires_in)
  if not n then return now + 3600 end
  if n < 1e9 then n = now + n end
  local skew = math.min(SKEW, math.max(0, (n - now) / 2))
  return n - skew
end

-- RCS: POST /token {clientId, clientSecret} -> TokenInfo (bare or enveloped, both seen [G]).
function M.rcs_credentials(client_id, client_secret, map_error, error_code)
  local function fetch(client, ctx)
    local res, err = client:send(ctx, {
      method = "POST", path = "/token", headers = { ["Content-Type"] = "application/json" },
      body = cjson.encode { clientId = client_id, clientSecret = client_secret },
    })
    if not res then return nil, err end
    if res.status < 200 or res.status > 299 then return nil, map_error(res) end
    local body = cjson.decode(res.body)
    local info = type(body) == "table" and (type(body.result) == "table" and body.result[1] or body) or nil
    local token = type(info) == "table" and info.accessToken or nil
    if bad_token(token) then
      return nil, errors.decode(res.status, "token API answered without a usable accessToken")
    end
    return token, M.rcs_expiry(info.expiresIn, os.time())
  end
  -- 61003 Invalid token / 61004 Token has expired: a new token can fix those.
  local function renewable(_, res)
    local code = error_code(res)
    return code == "61003" or code == "61004"
  end
  return cached("Authorization", "Bearer", fetch, renewable,
    function(token) return { client_secret, token } end)
end

return M
