-- Starts and drives the bizreg sandbox (bin/bizreg-sandbox, the checkout launcher) from busted specs,
-- under any of lua5.1/5.2/5.3/5.4/luajit.
--
--   local sandbox = require "spec.helpers.sandbox"
--   local sb = sandbox.start{ port = 18089 }   -- port 0 or nil: any free port
--   sb.url, sb.rcs_url, sb:stats(), sb:reset(), sb:config{ delay_ms = 200 },
--   sb:requests(), sb:body(n) / sb:body(), sb:headers(n), sb:request(method, path, opts), sb:stop()
--   sb:fault{ endpoint =, mode =, count =, ... }, sb:faults(), sb:clear_faults(), sb:close_idle()
--   sb:dialect{ codes =, fail_status =, empty_list =, no_result =, answer = }
--   sandbox.refused_port()
--
-- The control client uses luasocket, not bizreg, so tests of bizreg do not
-- depend on bizreg itself. The sandbox is a separate process because bizreg's
-- blocking libcurl calls could never be served from inside the test process.
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"

-- dkjson first: it keeps integers as integers under 5.3/5.4 (cjson gives 1.0)
local json
do
  local ok, dk = pcall(require, "dkjson")
  if ok then
    json = { decode = function(s) return (dk.decode(s)) end, encode = dk.encode, null = dk.null }
  else
    local cj = require "cjson.safe"
    json = { decode = cj.decode, encode = cj.encode, null = cj.null }
  end
end

local sandbox = { json = json }

local POLL = 0.05
-- a bound, not a wait: start() returns as soon as the sandbox answers. 10 s was too short once
-- under make test on a loaded machine (load ~10: ASan parts, two busy loops, other runs)
local START_TIMEOUT = 60

-- Repository root, from this file's location (spec/helpers/sandbox.lua).
local function repo_root()
  local src = debug.getinfo(1, "S").source
  local dir = src:sub(1, 1) == "@" and src:sub(2):match("^(.*)/spec/helpers/[^/]*$")
  if dir == nil or dir == "" or dir == "." then return "." end
  return dir
end

local shell = require "spec.helpers.shell"
local sh = shell.execute

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function alive(pid)
  if not sh("kill -0 " .. pid .. " 2>/dev/null") then return false end
  -- a zombie (exited, not yet reaped) still accepts signal 0
  local p = shell.popen("ps -o stat= -p " .. pid .. " 2>/dev/null")
  local stat = p and p:read("*a") or ""
  if p then p:close() end
  return not stat:match("^%s*Z")
end

---------------------------------------------------------------- HTTP

-- Plain request; returns status (number), body (string), headers (lower-cased names).
local function request(base, method, path, opts)
  opts = opts or {}
  local chunks = {}
  local headers = {}
  for k, v in pairs(opts.headers or {}) do headers[k:lower()] = v end
  local body = opts.body
  if body then headers["content-length"] = tostring(#body) end
  local ok, status, resp_headers = http.request {
    url = base .. path,
    method = method,
    headers = headers,
    source = body and ltn12.source.string(body) or nil,
    sink = ltn12.sink.table(chunks),
    redirect = false,
  }
  if not ok then error("sandbox request " .. method .. " " .. path .. " failed: " .. tostring(status), 2) end
  return status, table.concat(chunks), resp_headers or {}
end

local Sandbox = {}
Sandbox.__index = Sandbox

function Sandbox:request(method, path, opts)
  return request(self.url, method, path, opts)
end

local function control_json(self, method, path, body)
  local status, text = request(self.url, method, path, body and {
    body = body, headers = { ["content-type"] = "application/json" } } or nil)
  local value = json.decode(text)
  if status ~= 200 then
    error(string.format("sandbox %s %s -> %d %s", method, path, status, text), 3)
  end
  return value
end

function Sandbox:stats() return control_json(self, "GET", "/_sandbox/stats") end
function Sandbox:requests() return control_json(self, "GET", "/_sandbox/requests") end
function Sandbox:reset() return control_json(self, "POST", "/_sandbox/reset", "{}") end

-- Seeds RCS brands without a brand POST (POST /_sandbox/brands; doc: count = 1, name, owner,
-- status, max_chatbots); returns their ids.
function Sandbox:brands(doc)
  doc = doc or {}
  doc.count = doc.count or 1  -- (an empty table would encode as [])
  return control_json(self, "POST", "/_sandbox/brands", json.encode(doc)).brandIds
end

-- Merges tbl into the sandbox config (errors on unknown keys); returns the new config.
function Sandbox:config(tbl)
  return control_json(self, "POST", "/_sandbox/config", json.encode(tbl or {}))
end

-- Sets the RCS dialect (sandbox/lua/bizreg_sandbox/dialect.lua): codes, fail_status,
-- empty_list, no_result = {endpoint, count, shape}, answer = {endpoint, code, message, status, count}
-- (or a list of them); returns the dialect now in force (sb:dialect(): only that).
function Sandbox:dialect(tbl)
  if tbl == nil then return control_json(self, "GET", "/_sandbox/dialect") end
  return control_json(self, "POST", "/_sandbox/dialect", json.encode(tbl))
end

-- Arms a fault (sandbox/lua/bizreg_sandbox/faults.lua): sb:fault{ endpoint = ..., mode = ..., count = ..., params... }.
-- Returns the list of pending faults.
function Sandbox:fault(tbl)
  return control_json(self, "POST", "/_sandbox/fault", json.encode(tbl))
end
function Sandbox:faults() return control_json(self, "GET", "/_sandbox/fault") end
function Sandbox:clear_faults() return control_json(self, "DELETE", "/_sandbox/fault") end

-- FIN on every idle kept-alive connection: a client's next call starts on a fresh one.
function Sandbox:close_idle()
  local n = control_json(self, "POST", "/_sandbox/close_idle", "{}").closed
  socket.sleep(0.02) -- let the FINs arrive before the client looks at its pool
  return n
end

-- Request headers (lower-cased names) of recorded API request n; the last one when n is nil.
function Sandbox:headers(n)
  return control_json(self, "GET", "/_sandbox/requests/" .. (n and tostring(n) or "last") .. "/headers")
end

-- Raw bytes of recorded API request n (1-based); the last one when n is nil.
function Sandbox:body(n)
  local status, bytes = request(self.url, "GET", "/_sandbox/requests/" .. (n and tostring(n) or "last") .. "/body")
  if status ~= 200 then error("no recorded request " .. tostring(n or "last"), 2) end
  return bytes
end

function Sandbox:stop()
  local pid = self.pid
  if not pid then return end
  self.pid = nil
  sh("kill " .. pid .. " 2>/dev/null")
  for _ = 1, 40 do
    if not alive(pid) then return end
    socket.sleep(POLL)
  end
  sh("kill -9 " .. pid .. " 2>/dev/null")
end

---------------------------------------------------------------- start

-- A port nothing listens on (bound, then released): connecting is refused. The
-- sandbox has no "refuse" mode: a refused connection never reaches any server.
function sandbox.refused_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- A handle on a sandbox someone else started (stop() leaves it running).
function sandbox.attach(url)
  url = url:gsub("/+$", "")
  return setmetatable({ url = url, port = tonumber(url:match(":(%d+)$")), rcs_url = url .. "/api/1.1" }, Sandbox)
end

-- opts.port (nil/0 = any free port), opts.bin (default <root>/bin/bizreg-sandbox),
-- opts.log (default build/sandbox/sandbox-<port>-<unique>.log), opts.lua (the interpreter the
-- launcher runs it under, $BIZREG_SANDBOX_LUA; default: LuaJIT, else lua5.1).
function sandbox.start(opts)
  opts = opts or {}
  local root = repo_root()
  local port = opts.port or 0
  sh("mkdir -p '" .. root .. "/build/sandbox'")
  local pidfile = os.tmpname()
  local log = opts.log or string.format("%s/build/sandbox/sandbox-%d-%s.log", root, port, pidfile:match("[^/]*$"))
  local bin = opts.bin or (root .. "/bin/bizreg-sandbox")
  local env = opts.lua and string.format("BIZREG_SANDBOX_LUA='%s' ", opts.lua) or ""
  sh(string.format("%s'%s' --port %d >'%s' 2>&1 & echo $! >'%s'", env, bin, port, log, pidfile))
  local pid = tonumber((read_file(pidfile) or ""):match("%d+"))
  os.remove(pidfile)
  if not pid then error("could not start " .. bin) end

  local self = setmetatable({ pid = pid, log = log }, Sandbox)
  local deadline = socket.gettime() + START_TIMEOUT
  while socket.gettime() < deadline do
    -- the line is printed only after listen() succeeded, so a stale server on
    -- the same port is never mistaken for ours
    local url = (read_file(log) or ""):match("bizreg sandbox listening on (http://%S+)")
    if url then
      self.url = url
      self.port = tonumber(url:match(":(%d+)$"))
      self.rcs_url = url .. "/api/1.1"
      local ok, status = pcall(request, url, "GET", "/_sandbox/stats")
      if ok and status == 200 then return self end
    elseif not alive(pid) then
      error("sandbox exited during startup:\n" .. (read_file(log) or ""), 2)
    end
    socket.sleep(POLL)
  end
  self:stop()
  error("sandbox did not answer within " .. START_TIMEOUT .. " s:\n" .. (read_file(log) or ""), 2)
end

return sandbox
