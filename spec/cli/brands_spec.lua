-- bizreg brand status / bizreg brand list, spawned as processes against the sandbox:
-- stdout, stderr, exit codes, --json, and no secret in any output.
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"

local json = sandbox.json
local RCS_SECRET = cli.RCS_SECRET

local function has(s, needle) return s:find(needle, 1, true) ~= nil end

describe("bizreg brand", function()
  local sb, env

  setup(function() sb, env = cli.rcs_sandbox() end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  local function seed(doc) return sb:brands(doc) end

  it("status prints the brand's status, and the rejection reason; --json one object; exit 0", function()
    local id = seed { count = 1, name = "치과" }[1]
    local r = cli.run({ "brand", "status", id }, env)
    assert.equal(0, r.code, r.err)
    assert.equal(id .. "  승인대기  치과\n", r.out)
    sb:request("POST", "/_sandbox/brand-status", { body = json.encode { brandId = id, status = "반려", reason = "서류\n미비" } })
    r = cli.run({ "brand", "status", id, "--json" }, env)
    assert.equal(0, r.code, r.err)
    local doc = json.decode(r.out)
    assert.same({ id, "치과", "반려", "서류\n미비" }, { doc.brandId, doc.name, doc.status, doc.approvalReason })
    r = cli.run({ "brand", "status", id }, env)
    assert.is_true(has(r.out, "(reason: 서류 미비)"), r.out)
    assert.is_false(has(r.out .. r.err, RCS_SECRET))
  end)

  it("status of an unknown or foreign brand is exit 1 with the server's code; a bad ID sends nothing", function()
    local r = cli.run({ "brand", "status", "BR.nosuch" }, env)
    assert.equal(1, r.code)
    assert.is_true(has(r.out, "failed  http 400 [64316]: Invalid brandId"), r.out)
    local foreign = seed { count = 1, owner = "other" }[1]
    r = cli.run({ "brand", "status", foreign, "--json" }, env)
    assert.equal(1, r.code)
    assert.equal("63001", json.decode(r.out).error.code)
    local before = sb:stats().by_endpoint["rcs.get_brand"]
    r = cli.run({ "brand", "status", "BR.123456789012" }, env)
    assert.equal(1, r.code)
    assert.is_true(has(r.out, "validation 400 [64316]"), r.out)
    assert.equal(before, sb:stats().by_endpoint["rcs.get_brand"])
  end)

  it("list prints every brand of the account once, the count on stderr; --json one object per brand", function()
    seed { count = 1200 }
    seed { count = 2, owner = "other" }
    local r = cli.run({ "brand", "list" }, env)
    assert.equal(0, r.code, r.err)
    local n = select(2, r.out:gsub("\n", ""))
    assert.equal(1200, n)
    assert.truthy(r.out:find("^BR%.sb00000001  승인대기  sandbox brand 1\n"), r.out:sub(1, 80))
    assert.equal("bizreg: 1200 brands\n", r.err)
    assert.equal(2, sb:stats().by_endpoint["rcs.list_brands"])  -- pages of 1000
    r = cli.run({ "brand", "list", "--json" }, env)
    local first = json.decode(r.out:match("^[^\n]+"))
    assert.equal("BR.sb00000001", first.brandId)
    assert.equal("", r.err)
  end)

  it("usage errors exit 2; a static token needs BIZREG_RCS_PERSON_ID; a network failure is exit 3", function()
    cli.assert_usage({
      { { "brand", "status" }, "brand status needs a BRAND_ID" },
      { { "brand", "list", "x" }, "brand list takes no argument" },
      { { "brand", "frob" }, "brand needs 'status', 'list', 'cancel', 'delete' or 'update', not 'frob'" },
      { { "brand", "list", "--dry-run" }, "unknown option --dry-run" },
    }, env)
    local tenv = { BIZREG_RCS_BASE_URL = sb.rcs_url, BIZREG_RCS_TOKEN = "sandbox-rcs-token" }
    local r = cli.run({ "brand", "list" }, tenv)
    assert.equal(2, r.code)
    assert.is_true(has(r.err, "BIZREG_RCS_PERSON_ID"))
    tenv.BIZREG_RCS_PERSON_ID = "sandbox"
    seed { count = 1 }
    r = cli.run({ "brand", "list" }, tenv)
    assert.equal(0, r.code, r.err)
    assert.is_false(has(r.out .. r.err, "sandbox-rcs-token"))
    r = cli.run({ "brand", "list" }, cli.rcs_env("http://127.0.0.1:" .. sandbox.refused_port() .. "/api/1.1"))
    assert.equal(3, r.code)
    assert.is_true(has(r.out, "failed  transport"), r.out)
  end)

  -- The OpenAPI document defines X-RCS-Brandkey on the /brand/{brandId}/... operations only
  -- (register_chatbots), not on GET /corp/{personId}/brand/{brandId} (issue 15).
  it("takes BIZREG_RCS_BRAND_KEY but sends no X-RCS-Brandkey on brand status (the spec defines none there)", function()
    local id = seed { count = 1 }[1]
    local kenv = {}
    for k, v in pairs(env) do kenv[k] = v end
    kenv.BIZREG_RCS_BRAND_KEY = "BK.sb0000000000001"
    local r = cli.run({ "brand", "status", id }, kenv)
    assert.equal(0, r.code, r.err)
    assert.is_nil(sb:headers()["x-rcs-brandkey"])
  end)
end)
