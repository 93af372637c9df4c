-- Token providers. Secrets live only in these closures: never in a field of the
-- client table, so printing or serialising a client cannot reveal them.
-- Each provider: { header, scheme, get(client, ctx) -> token | nil, err,
--                  renewable(client, res) -> bool, invalidate(failed_token), secrets() -> list }
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local events = require "bizreg.events"  -- called only when the client has on_event

local M = {}

local core = require "bizreg.core"

local SKEW = 60  -- renew this many seconds before the announced expiry
local POLL = 0.005  -- how often a waiter looks at another coroutine's fetch
local KEEP = 4  -- tokens remembered for scrubbing (an older one may still be echoed)
local WEAK_V = { __mode = "v" }
local unpack_ = table.unpack or unpack

-- A fetch whose coroutine is gone for good (killed by ngx.exit, never resumed) must not
-- block the client forever: waiters give up on it once it has taken longer than any real
-- fetch could (the client's timeout + connect_timeout), and fetch themselves.
local function fetch_wait(client)
  return client.http_opts.timeout + client.http_opts.connect_timeout
end

-- The running coroutine, or nil on the main thread (5.1 says nil, 5.2+ says ismain).
local function current_co()
  local co, main = coroutine.running()
  if main then return nil end
  return co
end

-- pcall can be yielded across everywhere but in PUC Lua 5.1.
local YIELDABLE_PCALL = _VERSION ~= "Lua 5.1" or rawget(_G, "jit") ~= nil

local function bad_token(t)
  return type(t) ~= "string" or t == "" or t:find("[\r\n%z]") ~= nil
end

-- secrets() lists non-empty strings (credentials are checked at construction, tokens by
-- bad_token); the list may be shared, callers must not change it.
function M.static(token, header, scheme)
  local list = { token }
  return {
    header = header, scheme = scheme,
    get = function() return token end,
    renewable = function() return false end,
    invalidate = function() end,
    secrets = function() return list end,
  }
end

-- Shared shape of the "fetch a token, cache it, renew on 401" providers.
-- fetch(client, ctx) -> token, renew_at, announced expiry | nil, err (times: epoch seconds or nil)
-- secrets: the provider's fixed secrets (api_key, client_secret).
local function cached(header, scheme, fetch, renewable, secrets)
  local token, expires_at
  local fetched_once, rejected = false, false  -- for the token event's action and reason
  local fetching  -- { co = owner (weak: nil once collected), started = core.now() }
  local list = {}  -- secrets, then the last KEEP tokens fetched
  for i = 1, #secrets do list[i] = secrets[i] end
  local p = { header = header, scheme = scheme, renewable = renewable }

  -- Another coroutine is fetching and may still finish. The main thread never waits: a job
  -- that fetches cannot progress while the main thread blocks. A dead or collected owner
  -- (its step raised under 5.1, where the fetch cannot be pcall-protected) is gone at once.
  local function in_progress(client)
    local f, me = fetching, current_co()
    if not f or not me or not f.co or f.co == me then return false end
    if coroutine.status(f.co) == "dead" then return false end
    return core.now() - f.started < fetch_wait(client)
  end

  function p.get(client, ctx)
    while in_progress(client) do
      if core.now() + POLL >= ctx.deadline then return nil, client:deadline_error(0, false) end
      ctx.sleep(POLL)
    end
    if token and (not expires_at or os.time() < expires_at) then return token end
    local mine = setmetatable({ co = current_co(), started = core.now() }, WEAK_V)
    fetching = mine
    local ok, t, e, announced
    if YIELDABLE_PCALL or not mine.co then
      ok, t, e, announced = pcall(fetch, client, ctx)  -- the marker goes, whatever happens
    else
      ok, t, e, announced = true, fetch(client, ctx)
    end
    if fetching == mine then fetching = nil end
    if not ok then error(t, 0) end  -- a raising transport is the caller's to see
    if not t then return nil, e end
    token, expires_at = t, e
    if client.on_event then
      events.token(client, fetched_once and "renewed" or "fetched",
        fetched_once and (rejected and "rejected" or "expired") or nil, announced, os.time())
    end
    fetched_once, rejected = true, false
    list = { unpack_(list) }  -- a new list: one handed out earlier stays as it was
    list[#list + 1] = t
    if #list > #secrets + KEEP then table.remove(list, #secrets + 1) end
    return token
  end
  -- failed: the token the 401 answered; a newer one (another job renewed) is kept.
  function p.invalidate(failed)
    if failed == nil or failed == token then token, expires_at, rejected = nil, nil, true end
  end
  function p.secrets() return list end
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
  return cached(header, scheme, fetch, function() return true end, { api_key })
end

-- RCS expiresIn is a string; the example value (1568694883) reads as absolute epoch
-- seconds [G]. Small values are taken as a lifetime in seconds from now.
-- Returns the time to renew at, and the expiry the server announced (nil: none given).
function M.rcs_expiry(expires_in, now)
  local n = tonumber(expires_in)
  if not n then return now + 3600 end
  if n < 1e9 then n = now + n end
  local skew = math.min(SKEW, math.max(0, (n - now) / 2))
  return n - skew, n
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
  return cached("Authorization", "Bearer", fetch, renewable, { client_secret })
end

return M
