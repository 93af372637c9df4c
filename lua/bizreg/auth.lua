-- Token providers, generic: a static token, and M.cached (fetch, cache, renew on a
-- renewable 401, one fetch at a time) that each API file (kos.lua, rcs.lua) gives its
-- own token call. Secrets live only in these closures: never in a field of the
-- client table, so printing or serialising a client cannot reveal them.
-- Each provider: { header, scheme, get(client, ctx) -> token | nil, err,
--                  renewable(client, res) -> bool, invalidate(failed_token), secrets() -> list }
local events = require "bizreg.events"  -- called only when the client has on_event

local M = {}

local core = require "bizreg.core"
local MIN_SECRET = require("bizreg.client").MIN_SECRET  -- credentials and tokens alike

M.SKEW = 60  -- renew this many seconds before the announced expiry
local POLL = 0.005  -- how often a waiter looks at another coroutine's fetch
local STORE_STEP = 0.1  -- the longest step between two looks at a token_store's lock
local DROP_LOCK = 2  -- seconds the lock is held to compare and delete a rejected token
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

-- A token from a server is refused (a token error) unless it is a string of at least
-- MIN_SECRET bytes without CR, LF or NUL: every returned string is scrubbed of the
-- tokens, and a short one would be masked inside ordinary values ("BR.abc" -> "***R.abc"
-- for token "B"), changing the data a caller acts on.
function M.bad_token(t)
  return type(t) ~= "string" or #t < MIN_SECRET or t:find("[\r\n%z]") ~= nil
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
-- fetch(client, ctx) -> token, renew_at, announced expiry, note | nil, err (times: epoch seconds
-- or nil; note: why the expiry is not the server's, for the token event)
-- secrets: the provider's fixed secrets (api_key, client_secret).
-- shared: a token_store.lua handle (option token_store) or nil: then the token lives in the
-- store, and one fetch at a time runs across every client sharing it (see shared_get).
function M.cached(header, scheme, fetch, renewable, secrets, shared)
  local token, expires_at
  local fetched_once, rejected = false, false  -- for the token event's action and reason
  local refused  -- the token the last renewable 401 answered: never taken from the store again
  local fetching  -- { co = owner (weak: nil once collected), started = core.now() }
  local list = {}  -- secrets, then the last KEEP tokens seen
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

  local function remember(t)
    if list[#list] == t then return end
    list = { unpack_(list) }  -- a new list: one handed out earlier stays as it was
    list[#list + 1] = t
    if #list > #secrets + KEEP then table.remove(list, #secrets + 1) end
  end

  -- One token call. Returns true, token | true, nil, err | false, what the fetch raised
  -- (the caller re-raises it once it has released what it holds).
  local function fetch_now(client, ctx)
    local mine = setmetatable({ co = current_co(), started = core.now() }, WEAK_V)
    fetching = mine
    local ok, t, e, announced, note
    if YIELDABLE_PCALL or not mine.co then
      ok, t, e, announced, note = pcall(fetch, client, ctx)  -- the marker goes, whatever happens
    else
      ok, t, e, announced, note = true, fetch(client, ctx)
    end
    if fetching == mine then fetching = nil end
    if not ok or not t then return ok, t, e end
    token, expires_at = t, e
    if client.on_event then
      events.token(client, fetched_once and "renewed" or "fetched",
        fetched_once and (rejected and "rejected" or "expired") or nil, announced, os.time(), note)
    end
    fetched_once, rejected = true, false
    remember(t)
    return true, t
  end

  local function finish(ok, t, e)
    if not ok then error(t, 0) end  -- a raising transport is the caller's to see
    if not t then return nil, e end
    return t
  end

  local function use(t, at)
    token, expires_at = t, at
    remember(t)
    return t
  end

  -- This client fetches for the store. Under the lock (mine) it reads once more (the last
  -- holder may have written just before it let go) and ends its fetch before the lock does.
  -- Whatever happens (a store or a fetch that fails or raises) the lock is released first.
  local function fetch_shared(client, ctx, mine, ttl)
    local ok, t, e
    if mine then
      local at
      t, at, e = shared:read(refused)
      if t or e then
        local _, uerr = shared:unlock(mine)
        if e or uerr then return nil, e or uerr end
        return use(t, at)
      end
      ctx = { send = ctx.send, sleep = ctx.sleep, deadline = math.min(ctx.deadline, core.now() + ttl) }
    end
    ok, t, e = fetch_now(client, ctx)
    local werr, uerr, _
    if ok and t then _, werr = shared:write(t, expires_at) end
    if mine then _, uerr = shared:unlock(mine) end
    if ok and t and (werr or uerr) then return nil, werr or uerr end
    return finish(ok, t, e)
  end

  -- The store's token; or this client takes the store's lock and fetches one; or it waits
  -- (small growing steps through ctx.sleep: ngx.sleep in nginx) for the holder to write
  -- it. A holder that died leaves a lock that expires after fetch_wait: then a waiter
  -- takes it. A call whose deadline passes while waiting ends DEADLINE_EXCEEDED (sent=false).
  local function shared_get(client, ctx)
    local step = POLL
    while true do
      local t, at, err = shared:read(refused)
      if t then return use(t, at) end
      if err then return nil, err end
      local ttl = fetch_wait(client)
      local mine, why = shared:lock(ttl)
      if type(why) == "table" then return nil, why end  -- the store raised
      -- a store that cannot lock, or this client's own fetch seen from the main thread
      -- (which must not wait for a coroutine), does not make this one wait; another live
      -- coroutine's fetch (in_progress) does: it holds the lock and will store its token
      if mine or why ~= "exists" or (fetching and not in_progress(client)) then
        return fetch_shared(client, ctx, mine, ttl)
      end
      if client.closed then return nil, client:closed_error(false) end
      if core.now() + step >= ctx.deadline then return nil, client:deadline_error(0, false) end
      ctx.sleep(step)
      step = math.min(step * 2, STORE_STEP)
    end
  end

  function p.get(client, ctx)
    while in_progress(client) do
      if client.closed then return nil, client:closed_error(false) end
      if core.now() + POLL >= ctx.deadline then return nil, client:deadline_error(0, false) end
      ctx.sleep(POLL)
    end
    if shared then return shared_get(client, ctx) end
    if token and (not expires_at or os.time() < expires_at) then return token end
    return finish(fetch_now(client, ctx))
  end
  -- failed: the token the 401 answered; a newer one (another job renewed) is kept. In the
  -- store too: it is deleted only while it still holds the failed token.
  function p.invalidate(failed)
    if failed == nil or failed == token then token, expires_at, rejected = nil, nil, true end
    if shared and failed then
      refused = failed
      shared:drop_if(failed, DROP_LOCK)
    end
  end
  function p.secrets() return list end
  return p
end

return M
