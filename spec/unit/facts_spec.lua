-- One home per fact (issue 18): each API rule's code and message live beside its row in
-- src/api_rcs.c / src/api_kos.c and reach Lua once (core.RCS_MESSAGES, core.KOS_MESSAGES,
-- core.check_field); find_brands and the CLI read them instead of restating them. Every
-- default is in bizreg.DEFAULTS (lua/bizreg/options.lua); the CLI's help and the references
-- restate numbers for readers: here they are held to DEFAULTS, so a changed default cannot
-- leave a stale number behind.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local fx = require "spec.helpers.fixtures"
local options = require "bizreg.options"

local function read(path) return assert(require("spec.cli.run").read(path)) end

-- Code only: comments dropped (they may quote an example).
local function lua_code(path) return (read(path):gsub("%-%-[^\n]*", "")) end

describe("RCS codes and messages", function()
  it("gives every code of src/api_rcs.c its message there (core.RCS_MESSAGES)", function()
    local missing = {}
    for code in read("src/api_rcs.c"):gmatch('"(6%d%d%d%d)"') do
      if type(core.RCS_MESSAGES[code]) ~= "string" then missing[#missing + 1] = code end
    end
    assert.same({}, missing)
    assert.equal(core.RCS_MESSAGES, require("bizreg.rcs").MESSAGES)
  end)

  it("keeps no message or code table in rcs.lua", function()
    assert.is_nil(lua_code("lua/bizreg/rcs.lua"):find('%["6%d%d%d%d"%]%s*='))
  end)

  it("words the duplicate-MDN violation from the row's file: code and message together", function()
    local p = fx.brand { chatbots = { { mdn = "0212345678", subTitle = "a" }, { mdn = "0212345678", subTitle = "b" } },
      subNumCertificate = { data = fx.images.pdf(), filename = "cert.pdf" } }
    local _, err = bizreg.prepare_brand(p)
    local dup
    for _, v in ipairs(err.errorProperties) do if v.reason == "Duplicate" then dup = v end end
    assert.same({ key = "chatbots[2].mdn", reason = "Duplicate", code = "64341", value = "0212345678",
      message = "Duplicate MDN 0212345678 in chatbots" }, dup)
  end)
end)

describe("core.check_field", function()
  it("checks one value by its form's row: the brand name's limit, count and codes", function()
    assert.is_nil((core.check_field("rcs_brand", "regBrand.name", string.rep("가", 20))))
    local bad, max = core.check_field("rcs_brand", "regBrand.name", string.rep("가", 21))
    assert.same({ { key = "name", reason = "TooLong", code = "64304" } }, bad)
    assert.equal(20, max)
    assert.same({ { key = "name", reason = "Required", code = "64336" } }, (core.check_field("rcs_brand", "regBrand.name", "")))
    assert.equal(150, select(2, core.check_field("kos_images", "images.memo")))
    assert.is_nil(select(2, core.check_field("kos_images", "images.fileName")))
  end)

  it("gives the same violation as the whole form does", function()
    local p = fx.brand()
    p.regBrand.name = string.rep("x", 21)
    local _, err = bizreg.prepare_brand(p)
    local one = core.check_field("rcs_brand", "regBrand.name", p.regBrand.name)[1]
    assert.equal("regBrand.name", err.errorProperties[1].key)
    assert.equal(err.errorProperties[1].reason, one.reason)
    assert.equal(err.errorProperties[1].code, one.code)
  end)

  it("raises for an unknown form or row, and for a row that needs the rest of its form", function()
    assert.is_function(core.check_field)
    assert.has_error(function() core.check_field("rcs", "regBrand.name", "x") end)
    assert.has_error(function() core.check_field("rcs_brand", "regBrand.nmae", "x") end)
    assert.has_error(function() core.check_field("rcs_brand", "regBrand.name.x") end)
    assert.has_error(function() core.check_field("rcs_brand", "chatbots.subNum", "x") end)
    assert.has_error(function() core.check_field("rcs_brand", "regBrand", {}) end)
  end)

  it("is find_brands' one check of the name: no limit, counter or code of its own", function()
    local src = lua_code("lua/bizreg/rcs_brands.lua")
    assert.is_nil(src:find('"64304"', 1, true) or src:find('"64336"', 1, true))
    assert.is_nil(src:find("\\128-\\191", 1, true))
    assert.truthy(src:find('core.check_field("rcs_brand", "regBrand.name"', 1, true))
  end)
end)

describe("KOS messages", function()
  local kos = require "bizreg.kos"

  it("states a limit as its row has it", function()
    local max = select(2, core.check_field("kos_images", "images.memo"))
    assert.equal("too long (memo: at most " .. max .. " characters)",
      kos.message { key = "memo", reason = "TooLong", index = 3 })
    assert.equal("too long", kos.message { key = "fileName", reason = "TooLong", index = 1 })
    assert.equal("required value", kos.message { key = "visitorId", reason = "Required", index = 1 })
    assert.is_nil(kos.message { key = "x", reason = "NoSuchReason" })
  end)

  it("are the CLI's: it restates no limit and keeps no table of its own", function()
    local src = lua_code("lua/bizreg/cli/batches.lua")
    assert.is_nil(src:find("150", 1, true))
    assert.is_nil(src:find("TooLong", 1, true))
  end)
end)

local D = bizreg.DEFAULTS

describe("DEFAULTS", function()
  it("is the one table: bizreg, options, the walk and the CLI read the same", function()
    assert.equal(options.DEFAULTS, D)
    assert.equal(D.walk, require("bizreg.rcs_walk").WALK_DEFAULTS)
    assert.equal(D.batch, require("bizreg.cli.images").DEFAULT_BATCH)
    assert.equal(D.token_lifetime, require("bizreg.rcs").DEFAULT_LIFETIME)
    assert.equal(D.list_limit, require("bizreg.rcs_walk").LIST_ROWS[2].default)
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
