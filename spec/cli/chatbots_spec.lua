-- `bizreg register chatbots BRANDID FILE`, spawned as a process against the sandbox:
-- stdout, stderr, exit codes (0 / 1 / 2 / 4), --json, --dry-run, and what the server holds.
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"

local json = sandbox.json
local RCS_SECRET = "SK.sandboxsecret1"
local EXAMPLE = "examples/brand/chatbots.json"

local function has(s, needle) return s:find(needle, 1, true) ~= nil end

describe("bizreg register chatbots", function()
  local sb, env

  setup(function()
    cli.setup()
    sb = sandbox.start {}
    env = { BIZREG_RCS_BASE_URL = sb.rcs_url, BIZREG_RCS_CLIENT_ID = "sandbox", BIZREG_RCS_CLIENT_SECRET = RCS_SECRET }
  end)
  teardown(function() if sb then sb:stop() end end)
  before_each(function() sb:reset() end)

  local function make_brand() return sb:brands()[1] end
  local function held(brand_id)
    local _, body = sb:request("GET", "/_sandbox/brands/" .. brand_id .. "/chatbots")
    return json.decode(body).count
  end

  it("adds the example's sender numbers to a brand, exit 0; --json prints one object", function()
    local id = make_brand()
    local r = cli.run({ "register", "chatbots", id, EXAMPLE }, env)
    assert.equal(0, r.code, r.err)
    assert.truthy(r.out:find("^registered  2 chatbots on brand " .. id:gsub("%p", "%%%0") ..
      "  %(status 200, code 20000000, [%d.]+ s%)\n$"), r.out)
    assert.equal(2, held(id))
    local other = make_brand()
    r = cli.run({ "register", "chatbots", other, EXAMPLE, "--json" }, env)
    assert.equal(0, r.code, r.err)
    local doc = json.decode(r.out)
    assert.same({ "registered", other, 200, "20000000", { "0212345680", "0212345681" } },
      { doc.state, doc.brandId, doc.status, doc.code, doc.chatbotIds })
    assert.equal(4, sb:stats().registered.chatbots)
    assert.is_false(has(r.out .. r.err, RCS_SECRET))
  end)

  it("the server's error is exit 1 with its status, code and message", function()
    local r = cli.run({ "register", "chatbots", "BR.unknown", EXAMPLE }, env)
    assert.equal(1, r.code)
    assert.truthy(r.out:find("^failed  http 400 %[64316%]: Invalid brandId"), r.out)
    local id = make_brand()
    assert.equal(0, cli.run({ "register", "chatbots", id, EXAMPLE }, env).code)
    r = cli.run({ "register", "chatbots", id, EXAMPLE }, env)
    assert.equal(1, r.code)
    assert.truthy(r.out:find("^failed  http 400 %[64319%]: Duplicate MDN"), r.out)
    assert.equal(2, held(id))
  end)

  it("a broken package or brandId prints every violation, exit 1, sends nothing", function()
    local f = cli.write(cli.dir .. "/bad-chatbots.json", json.encode {
      chatbots = { { mdn = "01012345678", subTitle = "t" }, { subTitle = string.rep("가", 21) } } })
    local r = cli.run({ "register", "chatbots", "BR.abc", f }, env)
    assert.equal(1, r.code)
    assert.is_true(has(r.out, "chatbots[1].mdn  InvalidFormat  64308  Invalid MDN format\n"), r.out)
    assert.is_true(has(r.out, "chatbots[2].mdn  Required  64307  Missing MDN\n"), r.out)
    assert.is_true(has(r.out, "chatbots[2].subTitle  TooLong  64374  Invalid subTitle format\n"), r.out)
    assert.is_true(has(r.out, "subNumCertificate  Required  64305  Missing Certification document\n"), r.out)
    assert.is_true(has(r.err, "4 violations; nothing was sent"), r.err)
    r = cli.run({ "register", "chatbots", "BR.abcdefghijk", EXAMPLE }, env)
    assert.equal(1, r.code)
    assert.equal("brandId  InvalidFormat  64316  Invalid brandId\n", r.out)
    assert.equal(0, sb:stats().requests)
  end)

  it("--dry-run prints the request with Authorization redacted and the certificate summarised", function()
    local r = cli.run({ "register", "chatbots", "BR.abc", EXAMPLE, "--dry-run" }, env)
    assert.equal(0, r.code, r.err)
    assert.is_true(has(r.out, "\nPOST " .. sb.rcs_url .. "/brand/BR.abc/chatbot\n"), r.out)
    assert.is_true(has(r.out, "\nAuthorization: Bearer ***\n"))
    assert.is_true(has(r.out, '--- part chatbots: '))
    assert.is_true(has(r.out, '{"chatbots":[{"mdn":"0212345680","subTitle":"바른치과 2호점","rcsReply":"1"}'), r.out)
    assert.truthy(r.out:find('%-%-%- part subNumCertificate: file "certificate%.pdf", application/pdf, [%d,]+ bytes %(pdf%)'), r.out)
    assert.equal(0, sb:stats().requests)
  end)

  it("an answer lost after sending is exit 4 with what to check, nothing resent", function()
    local id = make_brand()
    sb:fault { endpoint = "rcs.register_chatbots", mode = "reset_after_body", commit = true }
    local r = cli.run({ "register", "chatbots", id, EXAMPLE }, env)
    assert.equal(4, r.code, r.err)
    assert.truthy(r.out:find("^UNKNOWN OUTCOME  transport"), r.out)
    assert.is_true(has(r.err, "the sender numbers may have been registered"), r.err)
    assert.equal(1, sb:stats().received["rcs.register_chatbots"])
    assert.equal(2, held(id))
  end)

  it("wrong arguments exit 2; --help lists the command", function()
    for _, argv in ipairs { { "register", "chatbots", "BR.abc" }, { "register", "chatbots", "BR.abc", "f", "g" } } do
      local r = cli.run(argv, env)
      assert.equal(2, r.code)
      assert.is_true(has(r.err, "bizreg: register chatbots needs a BRANDID and a FILE"), r.err)
    end
    local r = cli.run({ "register", "logo", "x" }, env)
    assert.is_true(has(r.err, "register needs 'brand', 'images' or 'chatbots', not 'logo'"), r.err)
    r = cli.run({ "register", "chatbots", "BR.abc", "missing.json" }, env)
    assert.equal(2, r.code)
    r = cli.run { "--help" }
    assert.is_true(has(r.out, "bizreg register chatbots BRANDID FILE"))
    assert.is_true(has(r.out, "FILE (chatbots):"))
    assert.equal(0, sb:stats().requests)
  end)
end)
