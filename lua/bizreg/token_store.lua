-- The `token_store` option: one token for every client with the same credentials that
-- shares the store (nginx workers sharing an ngx.shared.DICT). auth.cached drives it; this
-- file only knows the store's layout:
--   bizreg:token:<h>  "<renew_at> <token>"  (renew_at: epoch seconds, 0 = no expiry known)
--   bizreg:lock:<h>   "<expires_at> <owner>" (the one fetcher; added with its own exptime)
-- <h> is the hex SHA-256 of the API, base URL and credentials: the secrets themselves never
-- go into the store, only the token and when to renew it.
-- Store semantics (ngx.shared.DICT's): get(key) -> value, flags; set(key, value, exptime);
-- add(key, value, exptime) -> ok | false, "exists"; delete(key). exptime 0 = no expiry.
-- A store that ignores exptime still works: both values carry their own expiry.
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local client = require "bizreg.client"
local jobs = require "bizreg.jobs"

local M = {}

local METHODS = { "get", "set", "add", "delete" }

-- Raises (at the caller of bizreg.kos/rcs) unless store has the four methods.
function M.check(store)
  local ok = type(store) == "table"
  for _, m in ipairs(METHODS) do
    ok = ok and client.callable(store[m])
  end
  if not ok then
    errors.raise("bizreg: option 'token_store' must have get, set, add and delete methods (e.g. an ngx.shared.DICT)")
  end
end

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- An owner name no other lock holder uses: nginx workers are forked from one master, so
-- addresses alone may repeat across them; the worker's pid and the clock tell them apart.
local seq = 0
local function owner_name(shared)
  seq = seq + 1
  local ngx = rawget(_G, "ngx")
  local pid = ngx and ngx.worker and ngx.worker.pid and ngx.worker.pid() or ""
  return string.format("%s:%s:%d:%.9f", pid, tostring(shared):match("0x%x+") or "", seq, core.now())
end

-- "<number> <rest>" -> number, rest (nil when the value is not of that shape)
local function split(v)
  if type(v) ~= "string" then return nil end
  local n, rest = v:match("^(%d+) (.+)$")
  n = n and tonumber(n)
  if not n or n == math.huge then return nil end  -- 400 digits: a time that never comes
  return n, rest
end

-- The handle for a client's options (nil without token_store), raising on a wrong store.
-- ...: the API's name and credentials; the base URL is added as the client normalises it.
function M.from_options(opts, api, ...)
  if opts.token_store == nil then return nil end
  M.check(opts.token_store)
  return M.new(opts.token_store, { api, (opts.base_url:gsub("/+$", "")), ... })
end

local Shared = {}
Shared.__index = Shared

-- Every store method is called protected (jobs.protect: a raise, or a yield inside a job):
-- a store that fails costs the call a TOKEN_STORE_ERROR (nothing sent), never a raise nor
-- a job parked for good. Returns true, results... | false, err.
local function call(self, method, ...)
  local store = self.store
  local r = { jobs.protect(store[method], store, ...) }
  if r[1] then return true, r[2], r[3] end
  return false, errors.transport { code = "TOKEN_STORE_ERROR", sent = false,
    message = "token_store:" .. method .. " failed: " .. tostring(r[2]) }
end

-- parts: the API's name, base URL and credentials (in a fixed order).
function M.new(store, parts)
  local h = hex(core.sha256(table.concat(parts, "\0")))
  return setmetatable({ store = store, tkey = "bizreg:token:" .. h, lkey = "bizreg:lock:" .. h }, Shared)
end

-- The stored token unless it is past its renewal time or is `rejected` (the one a 401 answered),
-- or too short to be one (client.MIN_SECRET: a value no server of ours hands out).
-- Returns token, renew_at (nil: no expiry known) | nil | nil, nil, err (the store failed).
function Shared:read(rejected)
  local ok, v = call(self, "get", self.tkey)
  if not ok then return nil, nil, v end
  local renew_at, token = split(v)
  if not token or token == rejected or #token < client.MIN_SECRET or token:find("[\r\n%z]") then return nil end
  if renew_at ~= 0 and os.time() >= renew_at then return nil end
  return token, renew_at ~= 0 and renew_at or nil
end

-- renew_at: epoch seconds or nil (no expiry known). A token already due is not stored
-- (exptime 0 would keep it forever). A full store only costs the others a fetch.
-- Returns true | nil, err (the store raised).
function Shared:write(token, renew_at)
  local at = renew_at and math.floor(renew_at) or 0
  local ttl = at - os.time()
  if renew_at and ttl <= 0 then return true end
  local ok, err = call(self, "set", self.tkey, at .. " " .. token, renew_at and ttl or 0)
  if not ok then return nil, err end
  return true
end

-- Takes the fetch lock for ttl seconds: the lock's value (give it to unlock), or nil and
-- "exists" (another holds it), the store's own error string (it cannot lock: full), or an
-- error table (the store raised). A lock past its own expiry is removed first: only a store
-- that ignores exptime keeps one (in ngx.shared.DICT it is gone and add succeeds); there two
-- waiters may, rarely, both take it over: two fetches, never none.
function Shared:lock(ttl)
  local value = math.ceil(os.time() + ttl) .. " " .. owner_name(self)
  local fine, ok, err = call(self, "add", self.lkey, value, ttl)
  if not fine then return nil, ok end
  if not ok and err == "exists" then
    local got, held = call(self, "get", self.lkey)
    if not got then return nil, held end
    local until_ = split(held)
    if not until_ or os.time() > until_ then  -- past, or no lock value bizreg writes
      fine, ok = call(self, "delete", self.lkey)
      if fine then fine, ok, err = call(self, "add", self.lkey, value, ttl) end
      if not fine then return nil, ok end
    end
  end
  if not ok then return nil, err end
  return value
end

-- Releases the lock if it is still this holder's (it may have expired and gone to another).
-- Returns true | nil, err (the store raised: the lock stays until it expires).
function Shared:unlock(mine)
  local ok, held = call(self, "get", self.lkey)
  if ok and held == mine then ok, held = call(self, "delete", self.lkey) end
  if not ok then return nil, held end
  return true
end

-- Deletes the stored token only if it is still `failed`: a fresher one that another client
-- fetched meanwhile stays. Under the lock, so no fetcher writes between the compare and the
-- delete; when another holds the lock it is fetching a new token anyway. A failing store is
-- left as it is: the client never takes `failed` from it again (auth.lua), and its next read
-- reports the failure.
function Shared:drop_if(failed, ttl)
  local mine = self:lock(ttl)
  if not mine then return end
  local ok, v = call(self, "get", self.tkey)
  local _, token = split(ok and v or nil)
  if token == failed then call(self, "delete", self.tkey) end
  self:unlock(mine)
end

return M
