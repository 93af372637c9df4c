-- Every default of bizreg, in one table (DEFAULTS), and the checks of the clients' options
-- (client.lua applies them). The transport's defaults come from src/http.h (core.DEFAULTS),
-- the C transport's own home; everything else is defined here. The CLI's help reads its
-- numbers from DEFAULTS (spec/unit/facts_spec.lua holds both, and this reference, to it).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).

--- Client options
-- @module bizreg

--- Options
-- @section options

--- Options of both clients (`bizreg.kos`, `bizreg.rcs`), each checked at construction
-- (type **and** range): a wrong one raises there, at the caller's line. So do header
-- values (tokens, keys, `user_agent`) containing CR, LF or NUL, and credentials (`token`,
-- `api_key`, `client_secret`) shorter than 8 bytes. The API-specific options
-- (credentials, `auth_header`, `auth_scheme`, `json_content_type`) are listed with `kos` and `rcs`.
-- @table options
-- @field base_url the API's base URL, `http://` or `https://` (required)
-- @field timeout seconds per attempt, > 0 (default 30); an attempt gets
--   `min(timeout, time left before the deadline)` (a custom transport's `req.timeout`; an attempt
--   cut short that way ends `OPERATION_TIMEDOUT`)
-- @field connect_timeout seconds to connect, > 0 (default 10)
-- @field deadline seconds for the **whole call**: token fetch, every attempt, back-off and
--   `Retry-After` waits (default `timeout × (retries + 1)`); a wait that would end past it is not
--   started: the call returns `DEADLINE_EXCEEDED`
-- @field verify_tls check the server's certificate and name (default **true**)
-- @field ca_file a CA bundle file for TLS (default: the system's)
-- @field proxy a proxy URL for libcurl (refused by the nginx transport)
-- @field user_agent the `User-Agent` header (default `bizreg/0.1.0`)
-- @field max_response_bytes an integer ≥ 1 (default 8 MiB); a longer answer is `RESPONSE_TOO_LARGE`
-- @field retries an integer ≥ 0 (default 2): how often connect-phase failures and HTTP 429 are
--   retried; nothing that may have reached the server is ever resent
-- @field retry_max_wait cap in seconds on a `Retry-After` wait (default 10)
-- @field max_idle seconds an idle kept-alive connection may be reused (default 4)
-- @field on_progress `function(sent, total)`: upload progress, called from inside libcurl
--   (errors in it end the call with `CALLBACK_ERROR`)
-- @field on_event `function(ev)`: debug events (`request`, `response`, `retry`, `token`,
--   `error`; see `bizreg.events`). Off by default and free when off; secrets redacted; a hook
--   that raises, or yields inside a job, is reported once on `io.stderr` and switched off for
--   that client (the call goes on to its real outcome)
-- @field transport `function(req) -> res | nil, err` replacing libcurl
--   (e.g. `require "bizreg.transport.ngx"`). It gets
--   `req = { method, url, headers, body, timeout, connect_timeout, verify_tls, ca_file, proxy, max_response_bytes }`
--   (`body` a string; a table transport with `body_chunks = true` and `__call`, like
--   `bizreg.transport.ngx.new()`, gets a multipart body as a function returning its next chunk,
--   nil at the end or nil, message, and `req.body_size`)
--   and returns `{ status, headers, body }`, or `nil, message`,
--   or `nil, { code, message, sent = false }` when nothing reached the server (only then may the call retry)
-- @field token_store a store that clients fetching tokens (RCS `client_id` + `client_secret`,
--   KOS `api_key`; refused with a fixed `token`) share, so that clients with the same base URL and
--   credentials use **one** token, e.g. the nginx workers: an `ngx.shared.DICT`, or any table with
--   its methods `get(key)`, `set(key, value, exptime)`, `add(key, value, exptime)` (`true`, or
--   `false, "exists"`) and `delete(key)`. One client fetches at a time (a lock key taken with
--   `add`, expiring after `timeout + connect_timeout`, which also bounds its token call); the
--   others wait in steps of 5 to 100 ms (`ngx.sleep` in nginx) and read its token; when a lock
--   expires (its holder died) a waiter takes it. A wait past the `deadline` ends `DEADLINE_EXCEEDED`
--   (`sent = false`). After a 401 that a new token fixes, the stored token is deleted only if it
--   is still the one that failed. Stored: the token and its renewal time under
--   `bizreg:token:<SHA-256 of API, base URL, credentials>`, never a secret. Only the client
--   that fetched emits the `token` event. A method that raises (or yields inside a job) gives
--   the call `TOKEN_STORE_ERROR` (`sent = false`) after the lock is released
-- @usage local rcs = bizreg.rcs { base_url = "https://api.rcsbizcenter.com/api/1.1",
--   client_id = "acct", client_secret = secret, timeout = 20, deadline = 60, retries = 1,
--   on_progress = function(sent, total) io.write(sent, "/", total, "\r") end }
local core = require "bizreg.core"
local errors = require "bizreg.errors"

local M = {}

M.VERSION = "0.1.0"

local C = core.DEFAULTS  -- the C transport's (src/http.h)

--- Every default, in one place (`bizreg.DEFAULTS`; read-only by convention).
-- @table DEFAULTS
-- @field timeout seconds per attempt (the C transport's, src/http.h)
-- @field connect_timeout seconds to connect (src/http.h)
-- @field max_response_bytes longest answer read (src/http.h)
-- @field max_idle seconds a kept-alive connection may be reused (src/http.h)
-- @field retries retries of failures where nothing reached the server, and of 429
-- @field retry_max_wait cap in seconds on a `Retry-After` wait
-- @field user_agent the `User-Agent` header
-- @field token_lifetime seconds an RCS token is kept when its `expiresIn` is unusable
-- @field categories_ttl seconds the RCS category list is cached
-- @field walk the bounds of `each_brand` / `find_brands` walks (`WALK_DEFAULTS`)
-- @field list_limit the page size of `list_brands`, `each_brand` and `find_brands`
-- @field wait `wait_for_approval`'s `interval` and `timeout`, and with a webhook store its
--   `fallback_interval` (reads) and `store_interval` (looks at the store), in seconds
-- @field webhook `bizreg.webhook`'s `max_bytes`, `max_depth`, `seen_ttl`, `verdict_ttl` (its `DEFAULTS`)
-- @field batch images per request of `bizreg register images` (the CLI)
-- (`deadline` has no fixed default: `timeout × (retries + 1)`.)
M.DEFAULTS = {
  timeout = C.timeout, connect_timeout = C.connect_timeout, max_response_bytes = C.max_response_bytes,
  max_idle = C.max_idle,
  retries = 2, retry_max_wait = 10, user_agent = "bizreg/" .. M.VERSION,
  token_lifetime = 3600, categories_ttl = 3600,
  walk = { max_pages = 1000, max_brands = 100000, timeout = 300 },
  list_limit = 100, wait = { interval = 60, timeout = 86400, fallback_interval = 300, store_interval = 1 },
  webhook = require("bizreg.webhook").DEFAULTS,  -- its own home: webhook.lua runs without the C core
  batch = 100,
}

local MAX_SECONDS = core.MAX_SECONDS  -- libcurl's millisecond timeouts must fit a 32-bit long (src/http.h)

local function finite(v) return v == v and v > -math.huge and v < math.huge end
local function seconds(v) return finite(v) and v > 0 and v <= MAX_SECONDS, "a number of seconds > 0 and <= " .. MAX_SECONDS end
local function positive(v) return finite(v) and v > 0, "a finite number > 0" end
local function non_negative(v) return finite(v) and v >= 0, "a finite number >= 0" end
local function count(v) return finite(v) and v >= 0 and v == math.floor(v), "an integer >= 0" end
local function size(v) return finite(v) and v >= 1 and v <= 2 ^ 53 and v == math.floor(v), "an integer >= 1" end
local function no_nul(v) return not v:find("%z"), "a string without NUL" end
local function url(v) return v:match("^https?://[^/]") and not v:find("[%c%s]"), "an http:// or https:// URL without spaces or control characters" end

-- name -> { type, range check }
local TRANSPORT_OPTS = {
  base_url = { "string", url }, timeout = { "number", seconds }, connect_timeout = { "number", seconds },
  deadline = { "number", positive }, verify_tls = { "boolean" }, ca_file = { "string", no_nul },
  proxy = { "string", no_nul }, user_agent = { "string" }, max_response_bytes = { "number", size },
  retries = { "number", count }, retry_max_wait = { "number", non_negative }, max_idle = { "number", seconds },
  transport = { "function" }, on_progress = { "function" }, on_event = { "function" },
}
-- Values that become header bytes: CR/LF/NUL would let them forge headers.
M.SECRET_OPTS, M.MIN_SECRET = { "token", "api_key", "client_secret" }, 8
local HEADER_OPTS = { "token", "api_key", "client_id", "client_secret", "user_agent", "auth_header", "auth_scheme" }

local function fail(msg) errors.raise("bizreg: " .. msg) end

-- A function, or a table whose metatable has __call (a transport module can be both).
function M.callable(v)
  if type(v) == "function" then return true end
  local mt = type(v) == "table" and getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- Programmer errors raise (at the caller of bizreg.kos/rcs); everything about content or
-- the network returns nil, err later. extra: the API's own options, name -> type.
function M.check(opts, extra)
  if type(opts) ~= "table" then fail("client options must be a table") end
  for k, v in pairs(opts) do
    local spec = TRANSPORT_OPTS[k] or (extra[k] and { extra[k] })
    if not spec then fail("unknown option '" .. tostring(k) .. "'") end
    local want, check = spec[1], spec[2]
    if type(v) ~= want and not (want == "function" and M.callable(v)) then
      fail("option '" .. k .. "' must be a " .. want)
    end
    local ok, what = true, nil
    if check then ok, what = check(v) end
    if not ok then fail("option '" .. k .. "' must be " .. what) end
  end
  if opts.base_url == nil then fail("option 'base_url' is required (http:// or https://)") end
  for _, k in ipairs(HEADER_OPTS) do
    if type(opts[k]) == "string" and opts[k]:find("[\r\n%z]") then
      fail("option '" .. k .. "' contains CR, LF or NUL")
    end
  end
  -- Every returned string is scrubbed of the credentials: a very short one would be masked
  -- inside ordinary words and keys ("status" -> "s***a***us" for token "t"). None is that short.
  for _, k in ipairs(M.SECRET_OPTS) do
    local v = opts[k]
    if type(v) == "string" and v ~= "" and #v < M.MIN_SECRET then
      fail("option '" .. k .. "' is too short for a credential (at least " .. M.MIN_SECRET .. " bytes)")
    end
  end
end

return M
