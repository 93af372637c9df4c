-- examples/brand_lifecycle.lua, issue 19's "done when" script, run as a process against the
-- sandbox: register, review, edit without and with review, cancel that review, sender numbers
-- listed, edited and deleted, the brand deleted. Its output lines and the sandbox's count of
-- what it received (each write exactly once) are the proof.
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"
local shell = require "spec.helpers.shell"

local EXPECTED = [[
registered          BR.…, waiting for its review
review              approved (승인)
description edited  status 승인
name edited         status 승인대기
review cancelled    status 승인, name 바른치과
sender number       0212345680  승인  바른치과 2호점
sender number       0212345681  승인  바른치과 3호점
number edited       0212345680 (same name: applied at once)
numbers deleted     0 left
brand deleted       get_brand answers 64316
]]

describe("examples/brand_lifecycle.lua", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)

  it("runs the life of a brand against the sandbox, each write received once", function()
    cli.setup()
    local base = cli.dir .. "/lifecycle-" .. tostring(math.random(1e9))
    shell.execute("env -u LUA_INIT LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./build/" .. cli.lua .. "/?.so;;' "
      .. cli.lua .. " examples/brand_lifecycle.lua " .. cli.q(sb.url) .. " >" .. base .. ".out 2>&1; echo $? >" .. base .. ".rc")
    local out = cli.read(base .. ".out")
    assert.equal("0", cli.read(base .. ".rc"):match("%d+"), out)
    local id = out:match("registered +(BR%.%w+),")
    assert.truthy(id, out)
    assert.equal(EXPECTED, (out:gsub(id:gsub("%p", "%%%0"), "BR.…", 1)))
    local r = sb:stats().received
    assert.same({ 1, 2, 1, 1, 1, 2, 1 }, { r["rcs.register_brand"], r["rcs.update_brand"], r["rcs.cancel_brand_owner"],
      r["rcs.register_chatbots"], r["rcs.update_chatbot"], r["rcs.delete_chatbot"], r["rcs.delete_brand_owner"] })
  end)
end)
