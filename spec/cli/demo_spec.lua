-- `make demo` (examples/run-demo.sh) on a port that is taken: one clear line naming the
-- port and PORT=, exit 2 (as every program of ours on a busy port), no Lua traceback (issues 10, 17).
local socket = require "socket"
local cli = require "spec.cli.run"
local shell = require "spec.helpers.shell"

describe("make demo", function()
  it("on a busy port says which port and how to choose another, with no traceback", function()
    cli.setup()
    local holder = assert(socket.bind("127.0.0.1", 0))
    local _, port = holder:getsockname()
    local base = cli.dir .. "/demo-busy"
    -- the log of an earlier demo: the script must not read it as this sandbox's (it did when
    -- its wait looked before the new sandbox had truncated the file)
    shell.execute("mkdir -p build/demo && echo 'bizreg sandbox listening on http://127.0.0.1:1 (stale)' >build/demo/sandbox.log")
    shell.execute("sh examples/run-demo.sh " .. port .. " >" .. base .. ".out 2>&1; echo $? >" .. base .. ".rc")
    holder:close()
    local out = cli.read(base .. ".out") or ""
    assert.equal("2", (cli.read(base .. ".rc") or ""):match("%d+"))
    assert.equal("bizreg: starting the sandbox on 127.0.0.1:" .. port .. "\n"
      .. "bizreg: port " .. port .. " is in use; run `make demo PORT=…` with a free port\n", out)
  end)
end)
