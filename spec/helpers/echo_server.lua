-- Starts spec/servers/echo.lua (lua-http under lua5.1) on a free 127.0.0.1 port.
--   local echo = require("spec.helpers.echo_server").start()
--   echo.base, echo:stop()
-- Routes are matched on the path before "?", so base_url = echo.base .. "/echo?x=" makes
-- every API path land on /echo (the whole request comes back as JSON, cjson-escaped).
local shell = require "spec.helpers.shell"
local core = require "bizreg.core"

local M = {}

local HERE = debug.getinfo(1, "S").source:match("^@(.*/)helpers/") or "spec/"

local function free_port(probe)
  for _ = 1, 20 do
    local port = 20000 + math.random(0, 19999)
    local _, err = probe:request { url = "http://127.0.0.1:" .. port .. "/count" }
    if err and err.code == "COULDNT_CONNECT" then return port end
  end
  error("no free port")
end

-- One attempt on one port: the server, or nil when it exited (the port was taken meanwhile).
local function try_start(probe, port)
  local base = "http://127.0.0.1:" .. port
  local pidfile = os.tmpname()
  shell.execute("lua5.1 " .. HERE .. "servers/echo.lua " .. port .. " 60 >/dev/null 2>&1 & echo $! >" .. pidfile)
  local f = assert(io.open(pidfile))
  local pid = tonumber(f:read("*l"))
  f:close()
  os.remove(pidfile)
  local self = { base = base, pid = pid }
  function self.stop() shell.execute("kill " .. pid .. " 2>/dev/null") end
  for _ = 1, 200 do
    if probe:request { url = base .. "/count" } then return self end
    if not shell.execute("kill -0 " .. pid .. " 2>/dev/null") then return nil end
    core.sleep(0.05)
  end
  self.stop()
  error("echo server did not start")
end

function M.start()
  local probe = core.http { timeout = 1, connect_timeout = 1 }
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for _ = 1, 5 do
    local server = try_start(probe, free_port(probe))
    if server then probe:close() return server end
  end
  error("echo server did not start")
end

return M
