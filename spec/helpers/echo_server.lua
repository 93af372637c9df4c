-- Starts spec/helpers/echo.lua (lua-http under lua5.1) on a free 127.0.0.1 port.
--   local echo = require("spec.helpers.echo_server").start()
--   echo.base, echo.port, echo:stop()
-- Routes are matched on the path before "?", so base_url = echo.base .. "/echo?x=" makes
-- every API path land on /echo (the whole request comes back as JSON, cjson-escaped).
local shell = require "spec.helpers.shell"
local core = require "bizreg.core"

local M = {}

local HERE = debug.getinfo(1, "S").source:match("^@(.*/)helpers/") or "spec/"

-- A random free port, or BIZREG_ECHO_PORT when set (then a busy port is an error).
local function free_port(probe, fixed)
  for _ = 1, 20 do
    local port = fixed or (20000 + math.random(0, 19999))
    local _, err = probe:request { url = "http://127.0.0.1:" .. port .. "/count" }
    if err and err.code == "COULDNT_CONNECT" then return port end
    assert(not fixed, "port " .. tostring(fixed) .. " is already in use")
  end
  error("no free port")
end

local function slurp(path)
  local f = io.open(path)
  local s = f and f:read("*a") or ""
  if f then f:close() end
  return s
end

-- One attempt on one port: the server, or nil and its output when it exited (the port was
-- taken meanwhile: its bind can fail on a port in TIME-WAIT).
local function try_start(probe, port)
  local base = "http://127.0.0.1:" .. port
  local pidfile, logfile = os.tmpname(), os.tmpname()
  shell.execute("lua5.1 " .. HERE .. "helpers/echo.lua " .. port .. " 60 >" .. logfile .. " 2>&1 & echo $! >" .. pidfile)
  local pid = tonumber(slurp(pidfile):match("%d+"))
  os.remove(pidfile)
  local self = { base = base, port = port, pid = pid }
  function self.stop() shell.execute("kill " .. pid .. " 2>/dev/null") os.remove(logfile) end
  for _ = 1, 400 do  -- polled until it answers (up to ~20 s: the machine may be busy)
    if probe:request { url = base .. "/count" } then return self end
    if not shell.execute("kill -0 " .. pid .. " 2>/dev/null") then
      local out = slurp(logfile)
      os.remove(logfile)
      return nil, out
    end
    core.sleep(0.05)
  end
  self.stop()
  error("echo server did not start")
end

function M.start()
  local probe = core.http { timeout = 1, connect_timeout = 1 }
  local fixed = tonumber(os.getenv("BIZREG_ECHO_PORT"))
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  local out
  for _ = 1, 5 do
    local server
    server, out = try_start(probe, free_port(probe, fixed))
    if server then probe:close() return server end
  end
  probe:close()
  error("echo server did not start: " .. tostring(out))
end

return M
