-- bizreg sandbox [--port N]: the local emulator of both APIs, in the foreground.
-- The emulator is not part of this library: it ships as its own rock (bizreg-sandbox, which
-- runs on Lua 5.1/LuaJIT with lua-http), or lives in a source checkout. It is looked for in turn:
--   1. $BIZREG_SANDBOX (a command),
--   2. bizreg-sandbox next to this command (bin/ of a source checkout),
--   3. bizreg-sandbox on PATH (the sandbox rock's installed launcher).
-- The process is replaced (exec), so a signal to `bizreg sandbox` reaches the server.
local core = require "bizreg.core"
local outcome = require "bizreg.cli.outcome"

local M = {}

local os_cli = core.cli and core.cli() or {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function on_path(name)
  local r = os.execute("command -v " .. q(name) .. " >/dev/null 2>&1")
  return r == true or r == 0
end

local function is_file(p)
  local f = p and io.open(p, "rb")
  if f then f:close() return true end
  return false
end

-- exec, or (no exec binding) run and wait; returns only on failure.
local function exec(argv)
  if os_cli.exec then return os_cli.exec(argv) end
  local parts = {}
  for i, a in ipairs(argv) do parts[i] = q(a) end
  local r, _, n = os.execute(table.concat(parts, " "))
  os.exit(type(r) == "number" and r or (n or 1))
end

local function candidates(port, script_dir)
  local list = {}
  local cmd = os.getenv("BIZREG_SANDBOX")
  if cmd and cmd ~= "" then list[#list + 1] = { cmd, "--port", port } end
  if script_dir and is_file(script_dir .. "/bizreg-sandbox") then
    list[#list + 1] = { script_dir .. "/bizreg-sandbox", "--port", port }
  end
  if on_path("bizreg-sandbox") then list[#list + 1] = { "bizreg-sandbox", "--port", port } end
  return list
end

local HOW_TO_INSTALL = {
  "        It is its own rock, for Lua 5.1 or LuaJIT with lua-http, cqueues, luaossl and luasocket:",
  "          luarocks --lua-version=5.1 install bizreg-sandbox",
  "        (offline on Debian: apt-get install lua5.1 lua-http lua-cqueues lua-luaossl lua-socket, then",
  "          LUAROCKS_CONFIG=luarocks-config.lua luarocks --lua-version=5.1 make bizreg-sandbox-scm-1.rockspec",
  "        in a checkout), with the rock tree's bin directory on PATH. From a source checkout,",
  "        bin/bizreg-sandbox runs it; BIZREG_SANDBOX may name the command to run.",
}

function M.run(ui, o, script_dir)
  local port = tostring(o.port or 8089)
  local list = candidates(port, script_dir)
  if #list == 0 then
    ui:err("bizreg: the sandbox is not installed (no bizreg-sandbox on PATH).")
  else
    local tried = {}
    for _, argv in ipairs(list) do
      local _, err = exec(argv)
      tried[#tried + 1] = tostring(err)
    end
    ui:err("bizreg: cannot start the sandbox (" .. table.concat(tried, "; ") .. ").")
  end
  for _, line in ipairs(HOW_TO_INSTALL) do ui:err(line) end
  return outcome.USAGE
end

return M
