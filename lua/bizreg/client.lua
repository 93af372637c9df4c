-- The machinery both API clients share: options, the transport seam, the retry
-- policy and the auth-renewal flow. One flow function serves every caller: it
-- only talks to a `ctx` ({ send = fn(req) -> res | nil, err; sleep = fn(s); deadline }),
-- which is the blocking libcurl handle, a user transport, or a coroutine
-- yielding to bizreg.poll (jobs.lua).
-- Options and their defaults: options.lua.

local core = require "bizreg.core"
local errors = require "bizreg.errors"
local events = require "bizreg.events"  -- called only when the client has on_event
local prepared = require "bizreg.prepared"
local routes = require "bizreg.routes"  -- which requests a repeat cannot change

local M = {}

local options = require "bizreg.options"  -- DEFAULTS and the options' checks
M.VERSION = options.VERSION
M.check_options, M.callable = options.check, options.callable
M.SECRET_OPTS, M.MIN_SECRET = options.SECRET_OPTS, options.MIN_SECRET

local Client = {}
Client.__index = Client

function M.new(mt, opts, auth)
  local self = setmetatable({}, mt)
  self.base_url = opts.base_url:gsub("/+$", "")
  local D = options.DEFAULTS
  self.timeout = opts.timeout or D.timeout
  self.http_opts = {
    timeout = self.timeout, connect_timeout = opts.connect_timeout or D.connect_timeout,
    verify_tls = opts.verify_tls ~= false, ca_file = opts.ca_file, proxy = opts.proxy,
    max_response_bytes = opts.max_response_bytes or D.max_response_bytes,
    max_idle = opts.max_idle or D.max_idle,
  }
  self.user_agent = opts.user_agent or D.user_agent
  self.retries = opts.retries or D.retries
  self.deadline = opts.deadline or self.timeout * (self.retries + 1)  -- (no fixed default)
  self.retry_max_wait = opts.retry_max_wait or D.retry_max_wait
  self.transport = opts.transport
  local progress = opts.on_progress
  -- libcurl calls plain functions only: a callable table is wrapped once here
  self.on_progress = progress and type(progress) ~= "function" and function(...) return progress(...) end or progress
  self.on_event = opts.on_event  -- nil: no event is built (events.lua)
  self.auth = auth
  self.pool = {}
  return self
end

function Client:check_open()
  if self.closed then errors.raise("bizreg: client is closed") end
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

-- Nothing is sent after close(): a call waiting (back-off, Retry-After, a token fetch)
-- ends with CLIENT_CLOSED; a request already in flight finishes.
function Client:close()
  if self.closed then return end
  self.closed = true
  require("bizreg.jobs").wake(self)  -- its sleeping jobs wake now and end CLIENT_CLOSED
  -- close() from on_progress: the running request's handle closes when its call ends (run)
  if self.http and pcall(self.http.close, self.http) then self.http = nil end
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
  local lower = {}
  for k, v in pairs(type(res.headers) == "table" and res.headers or {}) do
    if type(k) == "string" then lower[string.lower(k)] = v end
  end
  res.headers = lower
  if type(res.body) ~= "string" then res.body = "" end
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
    -- The seam: a transport that is a table with body_chunks = true (bizreg.transport.ngx)
    -- gets a multipart body as an iterator of strings plus body_size; any other gets it as
    -- one string (files read into it).
    local chunks = type(transport) == "table" and rawget(transport, "body_chunks") == true
    return {
      send = function(req)
        local body, body_size = req.body, nil
        if type(body) == "userdata" and chunks then
          body_size = body:size()
          local it, msg = body:chunks()
          if not it then return nil, { code = "BODY_READ_ERROR", message = msg, sent = false } end
          body = it
        elseif type(body) == "userdata" then
          local s, msg = body:tostring()
          if not s then return nil, { code = "BODY_READ_ERROR", message = msg, sent = false } end
          body = s
        end
        return normalize_user_result(transport {
          method = req.method, url = req.url, route = req.route, headers = req.headers, body = body, body_size = body_size,
          timeout = req.timeout or o.timeout, connect_timeout = o.connect_timeout, verify_tls = o.verify_tls,
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

function Client:deadline_error(attempts, sent)
  return errors.transport {
    code = "DEADLINE_EXCEEDED", sent = sent,
    message = string.format("the call's deadline (%g s) passed after %d attempt(s)", self.deadline, attempts),
  }
end

function Client:closed_error(sent)
  return errors.transport { code = "CLIENT_CLOSED", message = "the client was closed during the call", sent = sent }
end

-- An answer's Retry-After in seconds; nil when absent, an HTTP-date or not a number >= 0.
function M.retry_after(res)
  local w = res and res.headers and tonumber(res.headers["retry-after"])
  if w and w >= 0 and w < math.huge then return w end  -- "1e999" is no number of seconds
  return nil
end

-- How long to wait before the next attempt: Retry-After (seconds) or the back-off, capped.
local function retry_wait(self, res, attempt)
  local w = M.retry_after(res) or backoff(attempt)
  return res and math.min(w, self.retry_max_wait) or w
end

-- One HTTP exchange with the retry policy (docs/reliability.md). Every route: connect-phase
-- failures (nothing sent) and 429. A "repeat" route (bizreg.routes: a repeat cannot change
-- the outcome) also after a failure where bytes may have left (routes.RESEND_CODES) and after
-- 502/503/504; a route not in that table is sent at most once.
-- Every attempt is bounded by the call's deadline: its timeout is min(timeout, time left),
-- and a wait that would end past the deadline is not started (DEADLINE_EXCEEDED).
-- ctx.route is the route of the call's last request (run() reads it for the call's error);
-- ctx.resent is set once an attempt that may have been processed was sent again.
-- base_url .. path, kept for the last path only (a path may carry an id: no growing table).
local function full_url(self, path)
  if self.url_path ~= path then self.url_path, self.url_full = path, self.base_url .. path end
  return self.url_full
end

function Client:send(ctx, req, token)
  -- Room for the auth header made by the constructor (no rehash while filling the table);
  -- its value is set last, so the token wins over a req.headers entry of the same name.
  local headers
  if token then
    headers = { ["User-Agent"] = self.user_agent, ["Accept"] = "application/json", [self.auth.header] = false }
  else
    headers = { ["User-Agent"] = self.user_agent, ["Accept"] = "application/json" }
  end
  if req.headers then for k, v in pairs(req.headers) do headers[k] = v end end
  -- (not cached on the client: no secret in a field of the table bizreg.kos/rcs returns)
  if token then headers[self.auth.header] = self.auth.scheme == "" and token or self.auth.scheme .. " " .. token end
  local target = full_url(self, req.path)
  local rep = routes.repeatable(req.route)
  ctx.route, ctx.resent = req.route, nil
  -- sent: the last attempt may have reached the server; maybe: an earlier one may have been
  -- processed (only a repeat route is sent again after that), so the call's error keeps sent
  local attempt, sent, maybe = 0, false, false
  while true do
    if self.closed then return nil, self:closed_error(sent or maybe) end
    local left = ctx.deadline - core.now()
    if left <= 0 then return nil, self:deadline_error(attempt, sent or maybe) end
    local out = {
      method = req.method, url = target, route = req.route, headers = headers, body = req.body,
      timeout = self.timeout < left and self.timeout or left,
      on_progress = req.progress and self.on_progress or nil,  -- uploads, not token calls
    }
    local t0 = self.on_event and core.now()
    if t0 then
      events.request(self, out, attempt + 1)
      if self.closed then return nil, self:closed_error(sent or maybe) end  -- the hook closed the client
    end
    local res, err = ctx.send(out)
    local e
    if res then
      if res.status == 404 then res.url = target end  -- a 404's message names the URL (a wrong base URL?)
      if t0 and self.on_event then events.response(self, res, core.now() - t0) end
      local again = res.status == 429 or (rep and routes.RESEND_STATUS[res.status])
      if not again or attempt >= self.retries then return res end
      sent = true
      if res.status ~= 429 then maybe = true end  -- a 429 was not taken; a 502/503/504 may have been
    else
      e = errors.transport(err)
      if maybe then e.sent = true end
      if rep and e.sent and routes.RESEND_CODES[e.code] then e.retryable = true end
      if not e.retryable or attempt >= self.retries then return nil, e end
      sent = e.sent
      if sent then maybe = true end
    end
    ctx.resent = maybe or nil
    attempt = attempt + 1
    local wait = retry_wait(self, res, attempt - 1)
    if wait >= ctx.deadline - core.now() then return nil, self:deadline_error(attempt, sent or maybe) end
    if self.on_event then events.retry(self, attempt + 1, e, wait, res and res.status) end
    ctx.sleep(wait)
  end
end

-- Authenticated call: get a token, send, and on a renewable 401 renew once and resend once.
function Client:call(ctx, req)
  local token, err = self.auth.get(self, ctx)
  if err then return nil, errors.token_step(err) end
  local res
  res, err = self:send(ctx, req, token)
  if res and res.status == 401 and self.auth.renewable(self, res) then
    self.auth.invalidate(token)
    token, err = self.auth.get(self, ctx)
    if err then return nil, errors.token_step(err) end  -- the 401 refused the first attempt
    res, err = self:send(ctx, req, token)
  end
  return res, err
end

-- Maps a finished exchange through the API's response mapper.
function Client:finish(res, err, mapper)
  if not res then return nil, err end
  return mapper(res)
end

-- What the call's error says of a repeat, from its last request (ctx, set by Client:send): a
-- 502/503/504 of a "repeat" route may be sent again (retryable); after a resend (ctx.resent)
-- an answer may be the repeat's, the first attempt perhaps processed (resent: bizreg.outcome
-- reads it as maybe processed). Transport errors were judged by Client:send; an error of the
-- token step (errors.token_step) is the call's, not the token route's.
local function judge(ctx, err)
  if type(err) ~= "table" or err.kind == "validation" or err.step == "token" then return err end
  if ctx.resent then err.resent = true end
  if err.kind == "http" and routes.repeatable(ctx.route) and routes.RESEND_STATUS[err.http_status or err.status] then
    err.retryable = true
  end
  return err
end

-- The one exit of every call, blocking or job: whatever it returns is scrubbed.
local function run(self, op, ctx, ...)
  -- A closed client never starts a sleep (close() from a callback just before it, e.g. the
  -- retry event): the flow goes on at once to its own check and ends CLIENT_CLOSED.
  local sleep = ctx.sleep
  ctx = { send = ctx.send, deadline = core.now() + self.deadline,
    sleep = function(s) if not self.closed then return sleep(s) end end }
  local res, err = op.run(self, ctx, ...)
  if res == nil then err = judge(ctx, err) end
  if self.closed and self.http and pcall(self.http.close, self.http) then self.http = nil end
  local secrets = self.auth.secrets()
  if res == nil then
    err = errors.finish(err, secrets)
    if self.on_event then events.error(self, err) end
    return nil, err
  end
  return errors.finish(res, secrets, self.identifiers)
end

-- A blocking call of an op that is no method (e.g. one page of each_brand): the same one
-- exit (run) as the methods, without their argument checks (the caller made them).
-- A request made by prepare_*, sent by its call's send half through the one exit (run).
function Client:send_prepared(req)
  self:check_open()
  return run(self, prepared.op(req, tostring(self):match("^%S+")), self:sync_ctx(), req)
end

function Client:invoke(op, ...)
  self:check_open()
  return run(self, op, self:sync_ctx(), ...)
end

-- A client class: Client's methods, cleanup on __gc/__close, a secret-free __tostring,
-- blocking methods named after the ops, and client:start(name, ...) -> job.
-- ops[name] = { check = fn(...) raising (errors.raise) for wrong argument types, run = fn(self, ctx, ...),
--   needs = optional fn(self, ...) raising when the client lacks what the call (with these
--   arguments) needs (an option) }
-- identifiers: the API's identifier field names -> true (brandId, visitorId, ...): results
-- keep them as the server sent them; scrubbing masks secrets in text fields only.
function M.class(name, ops, identifiers)
  local mt = setmetatable({}, { __index = Client })
  mt.__index = mt
  mt.identifiers = identifiers
  mt.__gc = function(self) self:close() end
  mt.__close = mt.__gc
  mt.__tostring = function(self) return name .. " (" .. self.base_url .. ")" end
  for op_name, op in pairs(ops) do
    mt[op_name] = function(self, ...)
      self:check_open()
      if op.needs then op.needs(self, ...) end  -- what the call needs of the client (an option)
      op.check(...)
      return run(self, op, self:sync_ctx(), ...)
    end
  end
  function mt:start(op_name, ...)
    self:check_open()
    local op = ops[op_name]
    if not op then errors.raise("bizreg: unknown operation '" .. tostring(op_name) .. "'") end
    if self.transport then errors.raise("bizreg: start() drives libcurl; with a custom transport call " .. op_name .. "() directly") end
    if op.needs then op.needs(self, ...) end
    op.check(...)
    return require("bizreg.jobs").start(self, function(client, ctx, ...) return run(client, op, ctx, ...) end, ...)
  end
  return mt
end

return M
