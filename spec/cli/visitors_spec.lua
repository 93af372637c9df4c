-- bizreg visitors search, spawned as a process against the sandbox: output, --json, exit
-- codes, the phone forms it accepts, and no API key in any output.
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"

local json = sandbox.json
local API_KEY = "11111111-2222-4333-8444-555555555555"

local function has(s, needle) return s:find(needle, 1, true) ~= nil end

describe("bizreg visitors search", function()
  local sb, env

  setup(function()
    cli.setup()
    sb = sandbox.start {}
    env = { BIZREG_KOS_BASE_URL = sb.url, BIZREG_KOS_API_KEY = API_KEY }
  end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  local function search(args, e)
    local argv = { "visitors", "search" }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    return cli.run(argv, e or env)
  end

  it("prints one line per visitor and a count, exit 0", function()
    local r = search { "--chart-number", "12345", "--verbose" }
    assert.equal(0, r.code, r.err)
    assert.equal("65a1b2c3d4e5f6a7b8c9d0e1  chart 12345  김민지  +82 1012345678  1990-05-01  FEMALE\n"
      .. "1 visitor (offset 0)\n", r.out)
    assert.is_false(has(r.out .. r.err, API_KEY))
    assert.is_true(has(r.err, "> POST " .. sb.url .. "/visitor/open/v1/queries/search-visitors"))
    assert.equal('{"chartNumber":"12345"}', sb:body())
  end)

  it("--json: one object with the visitors' documented fields", function()
    local r = search { "--birth-date", "1990-05-01", "--limit", "1", "--offset", "1", "--json" }
    assert.equal(0, r.code, r.err)
    assert.equal('{"ok":true,"count":1,"offset":1,"visitors":[{"id":"65a1b2c3d4e5f6a7b8c9d0e3","chartNumber":"20001",'
      .. '"name":"이서연","phoneNumber":{"countryCode":"82","phoneNumber":"1055550000"},'
      .. '"dateOfBirth":"1990-05-01 00:00:00.000Z","gender":"FEMALE"}]}\n', r.out)
    assert.equal('{"offset":1,"limit":1,"dateOfBirth":"1990-05-01 00:00:00.000Z"}', sb:body())
  end)

  it("takes Korean and international phone forms, sent without separators and the trunk 0", function()
    for _, p in ipairs { "010-1234-5678", "01012345678", "010 1234 5678", "+82 10-1234-5678", "+82-010-1234-5678" } do
      local r = search { "--phone", p, "--json" }
      assert.equal(0, r.code, p .. ": " .. r.err)
      assert.equal("65a1b2c3d4e5f6a7b8c9d0e1", json.decode(r.out).visitors[1].id, p)
      assert.equal('{"phone":{"countryCode":"82","phoneNumber":"1012345678"}}', sb:body())
    end
    local r = search { "--phone", "+81 090-1234-5678", "--name", "Tanaka" }
    assert.equal(0, r.code, r.err)
    assert.is_true(has(r.out, "65a1b2c3d4e5f6a7b8c9d0e4"))
  end)

  it("finds nobody: exit 0 and a zero count", function()
    local r = search { "--chart-number", "99999" }
    assert.equal(0, r.code)
    assert.equal("0 visitors (offset 0)\n", r.out)
  end)

  it("wrong arguments: exit 2, nothing sent", function()
    for _, c in ipairs {
      { {}, "visitors search needs a criterion" },
      { { "--phone", "+821012345678" }, "--phone: write the country code apart" },
      { { "--phone", "010-12ab" }, "--phone needs digits" },
      { { "--chart-number", "1", "--limit", "ten" }, "--limit needs a whole number" },
      { { "--chart-number", "1", "extra" }, "unexpected argument 'extra'" },
      { { "--chart-number", "1", "--batch", "3" }, "unknown option --batch" },
    } do
      local r = search(c[1])
      assert.equal(2, r.code, c[2])
      assert.is_true(has(r.err, "bizreg: " .. c[2]), r.err)
    end
    local r = cli.run({ "visitors" }, env)
    assert.equal(2, r.code)
    assert.is_true(has(r.err, "visitors needs 'search'"))
    assert.equal(0, sb:stats().requests)
  end)

  it("violations: exit 1, each listed, nothing sent", function()
    local r = search { "--phone", "010-1234-5678", "--birth-date", "1990-02-30", "--limit", "0" }
    assert.equal(1, r.code)
    assert.equal("limit  NotAvailable\ndateOfBirth  NotAvailable\n", r.out)
    assert.is_true(has(r.err, "2 violations; nothing was sent"))
    r = search { "--chart-number", string.rep("1", 51), "--json" }
    assert.equal(1, r.code)
    local out = json.decode(r.out)
    assert.equal("validation", out.error.kind)
    assert.equal("chartNumber", out.error.errorProperties[1].key)
    assert.equal(0, sb:stats().requests)
  end)

  it("server and transport failures: exit 1 and 3 (a query is safe to run again)", function()
    local r = search({ "--chart-number", "1" }, { BIZREG_KOS_BASE_URL = sb.url, BIZREG_KOS_TOKEN = "wrong-token" })
    assert.equal(1, r.code)
    assert.is_true(has(r.out, "failed  http 401"))
    assert.is_false(has(r.out .. r.err, "wrong-token"))
    -- a query is a "repeat" route (bizreg.routes): one reset is retried away; every attempt reset
    -- ends exit 3 after retries + 1 (the default 2 + 1) attempts, the error saying a rerun is safe
    sb:fault { endpoint = "kos.search_visitors", mode = "reset_after_body", count = 99 }
    local before = sb:stats().received["kos.search_visitors"]
    r = search { "--chart-number", "1", "--json" }
    assert.equal(3, r.code)
    local out = json.decode(r.out)
    assert.equal("transport", out.error.kind)
    assert.is_true(out.error.sent)
    assert.is_true(out.error.retryable)
    assert.equal(3, sb:stats().received["kos.search_visitors"] - before)
    sb:clear_faults()
    r = search({ "--chart-number", "1" }, { BIZREG_KOS_BASE_URL = "http://127.0.0.1:" .. sandbox.refused_port(),
      BIZREG_KOS_API_KEY = API_KEY })
    assert.equal(3, r.code)
    assert.is_false(has(r.out .. r.err, API_KEY))
  end)

  it("--dry-run prints the request, the key redacted, and sends nothing", function()
    local r = search { "--chart-number", "12345", "--dry-run" }
    assert.equal(0, r.code, r.err)
    assert.is_true(has(r.out, "POST " .. sb.url .. "/visitor/open/v1/queries/search-visitors"))
    assert.is_true(has(r.out, "Authorization: Bearer ***"))
    assert.is_true(has(r.out, '{"chartNumber":"12345"}'))
    assert.is_false(has(r.out .. r.err, API_KEY))
    assert.equal(0, sb:stats().requests)
  end)

  it("is in --help", function()
    local r = cli.run { "--help" }
    assert.is_true(has(r.out, "bizreg visitors search [--chart-number N]"))
  end)
end)
