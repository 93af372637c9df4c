-- bizreg sandbox [--port N]: the local emulator of both APIs, in the foreground.
-- The emulator may live in this rock or in a separate one, so it is looked for in turn:
--   1. $BIZREG_SANDBOX (a command),
--   2. the bizreg.sandbox.server module on package.path, run by an interpreter with
--      lua-http ($BIZREG_SANDBOX_LUA, luajit or lua5.1),
--   3. a bizreg-sandbox script next to this command, then on PATH.
-- The process is replaced (exec), so a signal to `bizreg sandbox` reaches the server.
local core = require "bizreg.core"
local outcome = require "bizreg.cli.outcome"

local M = {}

local os_cli = core.cli and core.cli() or {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function run_ok(cmd)
  local r = os.execute(cmd .. " >/dev/null 2>&1")
  return r == true or r == 0
end

local function on_path(name) return run_ok("command -v " .. q(name)) end

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

local function lua_with_http()
  local cands = { os.getenv("BIZREG_SANDBOX_LUA"), "luajit", "lua5.1" }
  for i = 1, 3 do
    local lua = cands[i]
    if lua and lua ~= "" and on_path(lua) and run_ok(q(lua) .. " -e 'require \"http.server\"'") then return lua end
  end
  return nil
end

-- package.searchpath (Lua 5.1 has none)
local function searchpath(name, path)
  local file = name:gsub("%.", "/")
  for tmpl in path:gmatch("[^;]+") do
    local p = tmpl:gsub("%?", file)
    if is_file(p) then return p end
  end
  return nil
end

local function candidates(port, script_dir)
  local list = {}
  local cmd = os.getenv("BIZREG_SANDBOX")
  if cmd and cmd ~= "" then list[#list + 1] = { cmd, "--port", port } end
  local server = searchpath("bizreg.sandbox.server", package.path)
  if server then
    local root = server:match("^(.-)bizreg/sandbox/server%.lua$") or "./"
    local lua = lua_with_http()
    if lua then
      list[#list + 1] = { "env", "-u", "LUA_CPATH", "-u", "LUA_INIT",
        "LUA_PATH=" .. root .. "?.lua;" .. root .. "?/init.lua;;", lua, server, "--port", port }
    end
  end
  if script_dir and is_file(script_dir .. "/bizreg-sandbox") then
    list[#list + 1] = { script_dir .. "/bizreg-sandbox", "--port", port }
  end
  if on_path("bizreg-sandbox") then list[#list + 1] = { "bizreg-sandbox", "--port", port } end
  return list
end

function M.run(ui, o, script_dir)
  local port = tostring(o.port or 8089)
  local tried = {}
  for _, argv in ipairs(candidates(port, script_dir)) do
    local _, err = exec(argv)
    tried[#tried + 1] = tostring(err)
  end
  ui:err("bizreg: cannot start the sandbox" .. (#tried > 0 and (" (" .. table.concat(tried, "; ") .. ")") or "") .. ".")
  ui:err("        It needs lua-http under luajit or lua5.1 (Debian: apt-get install lua-http lua5.1),")
  ui:err("        and the bizreg.sandbox modules on package.path; BIZREG_SANDBOX may name the command.")
  return outcome.USAGE
end

return M
