-- One home per default: bizreg.DEFAULTS (lua/bizreg/options.lua). The CLI's help and the
-- options' reference restate numbers for readers; here they are held to DEFAULTS, so a
-- changed default cannot leave a stale number behind.
local bizreg = require "bizreg"
local options = require "bizreg.options"
local core = require "bizreg.core"

local D = bizreg.DEFAULTS

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("DEFAULTS", function()
  it("is the one table: bizreg, options, the walk and the CLI read the same", function()
    assert.equal(options.DEFAULTS, D)
    assert.equal(D.walk, require("bizreg.rcs_walk").WALK_DEFAULTS)
    assert.equal(D.batch, require("bizreg.cli.images").DEFAULT_BATCH)
    assert.equal(D.token_lifetime, require("bizreg.rcs").DEFAULT_LIFETIME)
    assert.equal(D.list_limit, require("bizreg.rcs_brands").LIST_ROWS[2].default)
  end)

  it("takes the transport's defaults from the C transport (src/http.h)", function()
    for k, v in pairs(core.DEFAULTS) do assert.equal(v, D[k], k) end
  end)

  it("gives a client the defaults", function()
    local c = bizreg.kos { base_url = "http://127.0.0.1:1", token = "tok-12345678" }
    assert.equal(D.timeout, c.timeout)
    assert.equal(D.retries, c.retries)
    assert.equal(D.retry_max_wait, c.retry_max_wait)
    assert.equal(D.timeout * (D.retries + 1), c.deadline)
    assert.equal(D.connect_timeout, c.http_opts.connect_timeout)
    assert.equal(D.user_agent, c.user_agent)
    c:close()
  end)

  it("bounds the timeouts by core.MAX_SECONDS, said in the message as an integer", function()
    local ok, err = pcall(bizreg.kos, { base_url = "http://127.0.0.1:1", token = "tok-12345678",
      timeout = core.MAX_SECONDS + 1 })
    assert.is_false(ok)
    assert.matches("<= " .. string.format("%d", core.MAX_SECONDS) .. "$", tostring(err))
  end)
end)

describe("the CLI's help", function()
  local HELP = require("bizreg.cli").HELP

  it("reads --timeout's and --batch's defaults from DEFAULTS", function()
    local t = HELP:match("%-%-timeout S[^\n]*%(default ([%d.]+)%)")
    local b = HELP:match("%-%-batch N[^\n]*%(default ([%d.]+)%)")
    assert.equal(D.timeout, tonumber(t))
    assert.equal(D.batch, tonumber(b))
    assert.equal(D.retries + 1, tonumber(HELP:match("%-%-timeout S[^\n]*at most (%d+) attempts")))
  end)

  it("says --timeout applies per attempt, not to a whole request", function()
    local line = HELP:match("%-%-timeout S[^\n]*")
    assert.matches("per attempt", line)
    assert.is_nil(line:find("whole request", 1, true))
  end)
end)

describe("the options' reference (LDoc in options.lua)", function()
  it("states each default as DEFAULTS holds it", function()
    local src, seen = read("lua/bizreg/options.lua"), 0
    for name, text in src:gmatch("%-%- @field ([%w_]+) ([^\n]*)") do
      local n, unit = text:match("%(default ([%d.]+) ?(%a*)")
      if n and D[name] ~= nil then
        seen = seen + 1
        assert.equal(D[name], tonumber(n) * (unit == "MiB" and 1024 * 1024 or 1), name)
      end
    end
    assert.is_true(seen >= 5)
  end)

  it("states wait_for_approval's defaults as DEFAULTS.wait holds them (rcs_wait.lua)", function()
    local src = read("lua/bizreg/rcs_wait.lua")
    assert.equal(D.wait.interval, tonumber(src:match("@tparam%[opt=(%d+)%] number opts.interval")))
    assert.equal(D.wait.timeout, tonumber(src:match("@tparam%[opt=(%d+)%] number opts.timeout")))
  end)
end)
