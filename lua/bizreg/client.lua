-- The machinery both API clients share: options, the transport seam, the retry
-- policy and the auth-renewal flow. One flow function serves every caller: it
-- only talks to a `ctx` ({ send = fn(req) -> res | nil, err; sleep = fn(s) }),
-- which is the blocking libcurl handle, a user transport, or a coroutine
-- yielding to bizreg.poll (jobs.lua).
local core = require "bizreg.core"
local errors = require "bizreg.errors"

local M = {}

M.VERSION = "0.1.0"

local TRANSPORT_OPTS = {
  base_url = "string", timeout = "number", connect_timeout = "number", verify_tls = "boolean",
  ca_file = "string", proxy = "string", user_agent = "string", max_response_bytes = "number",
  retries = "number", retry_max_wait = "number", transport = "function", on_progress = "function",
}
-- Values that become header bytes: CR/LF/NUL would let them forge headers.
local HEADER_OPTS = { "token", "api_key", "client_id", "client_secret", "user_agent", "auth_header", "auth_scheme" }


local function fail(msg) error("bizreg: " .. msg, 4) end

-- A function, or a table whose metatable has __call (a transport module can be both).
function M.callable(v)
  if type(v) == "function" then return true end
  local mt = type(v) == "table" and getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- Programmer errors raise; everything about content/network returns nil, err later.
function M.check_options(opts, extra)
  if type(opts) ~= "table" then fail("client options must be a table") end
  for k, v in pairs(opts) do
    local want = TRANSPORT_OPTS[k] or extra[k]
    if not want then fail("unknown option '" .. tostring(k) .. "'") end
    if type(v) ~= want and not (want == "function" and M.callable(v)) then
      fail("option '" .. k .. "' must be a " .. want)
    end
  end
  if type(opts.base_url) ~= "string" or not opts.base_url:match("^https?://[^/]") then
    fail("option 'base_url' is required (http:// or https://)")
  end
  for _, k in ipairs(HEADER_OPTS) do
    if type(opts[k]) == "string" and opts[k]:find("[\r\n%z]") then
      fail("option '" .. k .. "' contains CR, LF or NUL")
    end
  end
end

local Client = {}
Client.__index = Client
M.Client = Client

function M.new(mt, opts, auth)
  local self = setmetatable({}, mt)
  self.base_url = opts.base_url:gsub("/+$", "")
  self.http_opts = {
    timeout = opts.timeout or 30, connect_timeout = opts.connect_timeout or 10,
    verify_tls = opts.verify_tls ~= false, ca_file = opts.ca_file, proxy = opts.proxy,
    max_response_bytes = opts.max_response_bytes or 8 * 1024 * 1024,
  }
  self.user_agent = opts.user_agent or ("bizreg/" .. M.VERSION)
  self.retries = opts.retries or 2
  self.retry_max_wait = opts.retry_max_wait or 10
  self.transport = opts.transport
  self.on_progress = opts.on_progress
  self.auth = auth
  self.pool = {}
  return self
end

function Client:check_open()
  if self.closed then error("bizreg: client is closed", 3) end
end

-- The keep-alive libcurl handle for blocking calls (created on first use).
function Client:handle()
  if not self.http then self.http = core.http(self.http_opts) end
  return self.http
end

-- Extra handles for concurrent jobs; they share the multi's connection cache.
function Client:acquire()
  local h = table.remove(self.pool)
  return h or core.http(self.http_opts)
end

function Client:release(h)
  if self.closed then h:close() else self.pool[#self.pool + 1] = h end
end

function Client:close()
  if self.closed then return end
  self.closed = true
  if self.http then self.http:close() end
  for _, h in ipairs(self.pool) do h:close() end
  self.pool = {}
end

-- ---- transport contexts --------------------------------------------------

local function normalize_user_result(res, err)
  if res == nil then
    if type(err) == "table" then
      return nil, { code = err.code or "TRANSPORT_ERROR", message = tostring(err.message or err.code), sent = err.sent }
    end
    return nil, { code = "TRANSPORT_ERROR", message = tostring(err or "transport failed") }
  end
  if type(res) ~= "table" or type(res.status) ~= "number" then
    return nil, { code = "TRANSPORT_ERROR", message = "transport returned no status" }
  end
  res.headers = res.headers or {}
  local lower = {}
  for k, v in pairs(res.headers) do lower[string.lower(k)] = v end
  res.headers = lower
  res.body = res.body or ""
  return res
end

local function sleeper()
  local ngx = rawget(_G, "ngx")
  if ngx and ngx.sleep then return ngx.sleep end
  return core.sleep
end

-- Built once per client: the handle and the transport never change.
function Client:sync_ctx()
  if not self.ctx then self.ctx = self:make_ctx() end
  return self.ctx
end

function Client:make_ctx()
  if self.transport then
    local transport, o = self.transport, self.http_opts
    return {
      send = function(req)
        local body = req.body
        if type(body) == "userdata" then
          local s, msg = body:tostring()  -- custom transports take the whole body as a string
          if not s then return nil, { code = "BODY_READ_ERROR", message = msg, sent = false } end
          body = s
        end
        return normalize_user_result(transport {
          method = req.method, url = req.url, headers = req.headers, body = body,
          timeout = o.timeout, connect_timeout = o.connect_timeout, verify_tls = o.verify_tls,
          ca_file = o.ca_file, proxy = o.proxy, max_response_bytes = o.max_response_bytes,
        })
      end,
      sleep = sleeper(),
    }
  end
  local h = self:handle()
  return { send = function(req) return h:request(req) end, sleep = core.sleep }
end

-- ---- the flow --------------------------------------------------------------

local function backoff(attempt) return 0.2 * 2 ^ attempt end

-- One HTTP exchange with the retry policy: connect-phase failures and 429 only
-- (neither API has an idempotency key, so a request that may have arrived is never resent).
function Client:send(ctx, req, token)
  local headers = { ["User-Agent"] = self.user_agent, ["Accept"] = "application/json" }
  for k, v in pairs(req.headers or {}) do headers[k] = v end
  if token then headers[self.auth.header] = self.auth.scheme .. " " .. token end
  local attempt = 0
  while true do
    local res, err = ctx.send {
      method = req.method, url = self.base_url .. req.path, headers = headers,
      body = req.body, on_progress = req.progress and self.on_progress or nil,  -- uploads, not token calls
    }
    if res then
      if res.status ~= 429 or attempt >= self.retries then return res end
      local wait = tonumber(res.headers["retry-after"]) or backoff(attempt)
      ctx.sleep(math.min(math.max(wait, 0), self.retry_max_wait))
    else
      local e = errors.transport(err)
      if not e.retryable or attempt >= self.retries then return nil, e end
      ctx.sleep(backoff(attempt))
    end
    attempt = attempt + 1
  end
end

-- Authenticated call: get a token, send, and on a renewable 401 renew once and resend once.
-- The one exit of every authenticated exchange, token fetches included: errors are scrubbed here.
function Client:call(ctx, req)
  local token, err = self.auth.get(self, ctx)
  local res
  if not err then
    res, err = self:send(ctx, req, token)
    if res and res.status == 401 and self.auth.renewable(self, res) then
      self.auth.invalidate()
      token, err = self.auth.get(self, ctx)
      if not err then res, err = self:send(ctx, req, token) end
    end
  end
  if err then return nil, errors.scrub(err, self.auth.secrets()) end
  return res
end

-- A client class: Client's methods, cleanup on __gc/__close, a secret-free __tostring,
-- blocking methods named after the ops, and client:start(name, ...) -> job.
function M.class(name, ops)
  local mt = setmetatable({}, { __index = Client })
  mt.__index = mt
  mt.__gc = function(self) self:close() end
  mt.__close = mt.__gc
  mt.__tostring = function(self) return name .. " (" .. self.base_url .. ")" end
  for op_name, op in pairs(ops) do
    mt[op_name] = function(self, ...)
      self:check_open()
      return op(self, self:sync_ctx(), ...)
    end
  end
  function mt:start(op_name, ...)
    self:check_open()
    local op = ops[op_name]
    if not op then error("bizreg: unknown operation '" .. tostring(op_name) .. "'", 2) end
    if self.transport then error("bizreg: start() drives libcurl; with a custom transport call " .. op_name .. "() directly", 2) end
    return require("bizreg.jobs").start(self, op, ...)
  end
  return mt
end

-- Maps a finished exchange through the API's response mapper, scrubbing secrets.
function Client:finish(res, err, mapper)
  if not res then return nil, err end
  local out, merr = mapper(res)
  if merr then return nil, errors.scrub(merr, self.auth.secrets()) end
  return out
end

return M
