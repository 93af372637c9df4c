-- The hostile-payload property test's tally on a busy machine (issue 18 item 8): a valid body
-- the sandbox read whole, whose answer came too late (OPERATION_TIMEDOUT, sent = true), may
-- have arrived and been registered. It is counted so, not as unanswered, and it is no finding.
local sandbox = require "spec.helpers.sandbox"
local bizreg = require "bizreg"
local W = require "spec.property.worker"
local R = require "spec.property.report"

-- R.summary over one result line and the sandbox's stats: exit code, printed text.
local function summary(line, stats)
  local printed, real_print = {}, print
  _G.print = function(s) printed[#printed + 1] = s end
  local ok, rc = pcall(R.summary, { seed = 1, count = 1, results = line .. "\n", crashes = {}, stats = stats, wedges = {},
    since = 1, label = function(p) return "1:" .. p end, seconds = 0, run_dir = "-" })
  _G.print = real_print
  assert(ok, rc)
  return rc, table.concat(printed, "\n")
end

describe("hostile tally: a timeout after the body was sent", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() if sb then sb:stop() end end)

  it("counts as 'may have arrived', keeps the tally exact and is no finding", function()
    -- the sandbox reads the body, registers it (commit), then never answers
    sb:fault { endpoint = "kos.register_visitor_images", mode = "hang", commit = true }
    local ctx = { i = 1, api = "kos", mode = "blocking", expect = "valid",
      payload = { images = { { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } } }
    local c = bizreg.kos { base_url = sb.url, token = "sandbox-kos-token", timeout = 1, retries = 0 }
    local outcome, code, _, ans = W.call(ctx, { kos = c }, 8)
    c:close()
    assert.same({ "transport", "OPERATION_TIMEDOUT", "maybe" }, { outcome, code, ans })
    assert.is_nil(W.judge(ctx, outcome, code, true))
    local st = sb:stats()
    assert.equal(1, st.received["kos.register_visitor_images"])
    assert.equal(1, st.registered.images)

    -- the report over that line and the sandbox's counters (what the worker writes)
    local line = table.concat({ "R", 1, "kos", "blocking", "valid", outcome, code, "?", 1, "-", "-", "one image", "-", "1:1" }, "\t")
    local rc, out = summary(line, st)
    assert.equal(0, rc, out)
    assert.matches("bizreg sent 0 %(%+1 maybe%), it received 1 bodies, registered 1 images", out)
  end)

  it("still reports a body the sandbox received beyond what may have arrived", function()
    local st = { received = { ["kos.register_visitor_images"] = 2 }, registered = { images = 1, brands = 0 } }
    local line = table.concat({ "R", 1, "kos", "blocking", "valid", "transport", "OPERATION_TIMEDOUT", "?", 1, "-", "-", "x", "-",
      "1:1" }, "\t")
    local rc, out = summary(line, st)
    assert.equal(1, rc)
    assert.matches("whole run: bizreg sent 0 %(and 1 may have arrived%), the sandbox received 2", out)
  end)
end)
