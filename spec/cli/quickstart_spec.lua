-- The README's sandbox quickstart, run as pasted (issue 17): the block is taken from README.md
-- so the two cannot drift; only the sandbox's port differs (the README's is make sandbox's 8089).
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"
local shell = require "spec.helpers.shell"

local function readme_blocks()
  local text = assert(cli.read("README.md"))
  local qs = assert(text:match("\n## Quickstart\n(.-)\n## "), "no Quickstart section")
  local code = assert(qs:match("```lua\n(%-%- quickstart%.lua: against the sandbox.-)```"), "no sandbox block")
  local printed = assert(qs:match("It prints.-```\n(.-)```"), "no printed output block")
  return code, printed
end

describe("README quickstart", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)

  it("runs as pasted against the sandbox and prints what it registered", function()
    local code, printed = readme_blocks()
    assert.truthy(code:find("http://127.0.0.1:8089", 1, true))
    cli.setup()
    local base = cli.dir .. "/quickstart-" .. tostring(math.random(1e9))
    cli.write(base .. ".lua", (code:gsub("http://127%.0%.0%.1:8089", sb.url)))
    -- run from this directory with the README's paths, under the interpreter of this run
    shell.execute("env -u LUA_INIT LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./build/" .. cli.lua .. "/?.so;;' "
      .. cli.lua .. " " .. cli.q(base .. ".lua") .. " >" .. base .. ".out 2>&1; echo $? >" .. base .. ".rc")
    local out = cli.read(base .. ".out")
    assert.equal("0", cli.read(base .. ".rc"):match("%d+"), out)
    local brand = out:match("RCS: registered brand (BR%.%w+) ")
    assert.truthy(brand, out)
    -- the README shows the same lines (the brand id is the server's: "BR.…" there)
    assert.equal((out:gsub(brand:gsub("%p", "%%%0"), "BR.…", 1)), printed)
    local stats = sb:stats()
    assert.equal(1, stats.registered.images)
    assert.equal(1, stats.registered.brands)
  end)
end)
