-- The progress bar of `bizreg register images` shows the batch being sent, and after each
-- batch's line the images that batch completed (issue 17: it ran one batch behind).
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"
local shell = require "spec.helpers.shell"

describe("register images --progress bar", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)

  it("is never a batch behind, also when a batch takes longer than the bar's redraw interval", function()
    -- each answer after 250 ms: more than the bar's redraw interval (0.1 s), as on a slow
    -- machine, where counting a batch's images redrew the bar before its result line
    sb:config { delay_ms = 250 }
    cli.setup()
    local base = cli.dir .. "/progress-" .. tostring(math.random(1e9))
    shell.execute(cli.command({ "register", "images", "--progress", "bar", "--batch", "1", "--journal", base .. ".journal",
      "examples/images/visitor-images.json" }, { BIZREG_KOS_BASE_URL = sb.url,
      BIZREG_KOS_API_KEY = "11111111-2222-4333-8444-555555555555", COLUMNS = "200" }) .. " >" .. base .. ".out")
    local out = assert(cli.read(base .. ".out"))
    -- the screen as a list of writes: result lines and bar redraws (between "\r" and ESC[K)
    local shown = {}
    for piece in out:gsub("\27%[K", ""):gmatch("[^\r]+") do
      for line in piece:gmatch("[^\n]+") do shown[#shown + 1] = line end
    end
    local bars, results = {}, 0
    for i, s in ipairs(shown) do
      local n = s:match("^batch (%d)/2 .* registered")
      if n then
        results = results + 1
        -- sending batch n: a bar said so before its line, with the batches before it done
        local before = bars[#bars]
        assert.truthy(before and before:find(string.format("%d/2 images  batch %s/2", n - 1, n), 1, true),
          "before batch " .. n .. ": " .. tostring(before))
        -- its line is followed by a bar counting its images
        assert.truthy(shown[i + 1]:find(string.format("%d/2 images", n), 1, true),
          "after batch " .. n .. ": " .. tostring(shown[i + 1]))
      elseif s:find("^images %[") then
        bars[#bars + 1] = s
      end
    end
    assert.equal(2, results, out)
    sb:config { delay_ms = 0 }
  end)
end)
