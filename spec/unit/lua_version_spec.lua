-- A core built for one Lua, loaded by another: a clear message naming the version it
-- was built for and the make line that fixes it, not the dynamic loader's
-- "undefined symbol: lua_getiuservalue" (issue 10 section 4).
local cli = require "spec.cli.run"
local shell = require "spec.helpers.shell"

local VERSION = { lua5_1 = "Lua 5.1", lua5_2 = "Lua 5.2", lua5_3 = "Lua 5.3", lua5_4 = "Lua 5.4", luajit = "Lua 5.1" }
local function version_of(lua) return VERSION[lua:gsub("%.", "_")] end

-- Runs `interp -e code` with the repository's Lua files and build/<build>'s core.
local function run(interp, build, code)
  local base = cli.dir .. "/version-" .. interp .. "-" .. build
  shell.execute(string.format("env -u LUA_INIT -u LUA_INIT_5_2 -u LUA_INIT_5_3 -u LUA_INIT_5_4 "
    .. "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./build/%s/?.so;;' %s -e %s >%s.out 2>%s.err",
    build, interp, cli.q(code), base, base))
  return (cli.read(base .. ".out") or "") .. (cli.read(base .. ".err") or "")
end

local function installed(interp) return shell.execute("command -v " .. interp .. " >/dev/null 2>&1") end

describe("loading the core in a Lua it was not built for", function()
  setup(function() cli.setup() end)  -- build/<this Lua>/bizreg/core.so exists

  it("require 'bizreg' names the Lua it was built for and the make line (dynamic loader failure)", function()
    local built = version_of(cli.lua)
    local tried = 0
    for _, other in ipairs { "lua5.1", "lua5.2", "lua5.3", "lua5.4", "luajit" } do
      -- 5.1 and LuaJIT share one ABI: a core built for one loads in the other
      if version_of(other) ~= built and installed(other) then
        tried = tried + 1
        local out = run(other, cli.lua, 'require "bizreg"')
        local want = "bizreg.core was built for " .. built .. "; this is " .. version_of(other)
          .. ": rebuild with make LUA=" .. other .. " (or run it with lua" .. built:match("%d%.%d") .. ")"
        assert.truthy(out:find(want, 1, true), other .. ": " .. out)
        assert.truthy(out:find("undefined symbol", 1, true), other .. ": the loader's own message stays: " .. out)
      end
    end
    if tried == 0 then pending("no other Lua installed") end
  end)

  it("luaopen refuses when _VERSION is not the one the headers are from", function()
    local out = run(cli.lua, cli.lua, '_VERSION = "Lua 5.0"; require "bizreg.core"')
    assert.truthy(out:find("bizreg.core was built for " .. version_of(cli.lua) .. "; this is Lua 5.0: "
      .. "rebuild with make LUA=lua5.0", 1, true), out)
    out = run(cli.lua, cli.lua, 'print(type(require "bizreg.core"))')
    assert.equal("table\n", out)
  end)
end)
