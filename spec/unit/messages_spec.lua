-- What a newcomer reads when something is wrong (issue 17): a 404 names the URL, a truncated
-- JSON line says "unexpected end of line" (not lua-cjson's token names), libcurl's text is not
-- said twice, and -v is an option of every subcommand.
local bizreg = require "bizreg"
local kos = require "bizreg.kos"
local rcs = require "bizreg.rcs"
local sandbox = require "spec.helpers.sandbox"
local cli = require "spec.cli.run"
local shell = require "spec.helpers.shell"

local API_KEY = "11111111-2222-4333-8444-555555555555"
local IMAGE = { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" }

-- runs bin/bizreg ARGV; returns stdout, stderr, exit code
local function run(argv, env)
  cli.setup()
  local base = cli.dir .. "/msg-" .. tostring(math.random(1e9))
  shell.execute(cli.command(argv, env) .. " >" .. base .. ".out 2>" .. base .. ".err; echo $? >" .. base .. ".rc")
  return cli.read(base .. ".out") or "", cli.read(base .. ".err") or "", tonumber((cli.read(base .. ".rc") or ""):match("%d+"))
end

describe("messages", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)

  it("a 404 names the URL it came from (a wrong base URL)", function()
    local c = bizreg.kos { base_url = sb.url .. "/wrong", api_key = API_KEY }
    local res, err = c:register_visitor_images { images = { IMAGE } }
    c:close()
    assert.is_nil(res)
    assert.equal("http", err.kind)
    assert.equal(404, err.status)
    local url = sb.url .. "/wrong/open/authorization/commands/exchange-token"
    assert.equal(url, err.url)
    assert.equal("NotFoundException at " .. url, err.message)
  end)

  it("a 404 without an API error body says 'not found at URL' (not 'HTTP 404')", function()
    for _, api in ipairs({ kos, rcs }) do
      local err = api.map_error { status = 404, body = "<html>nginx</html>", headers = {}, url = "https://h.example/x/y" }
      assert.equal("not found at https://h.example/x/y (check the base URL)", err.message)
      assert.equal("https://h.example/x/y", err.url)
      local other = api.map_error { status = 500, body = "", headers = {}, url = "https://h.example/x/y" }
      assert.equal("HTTP 500", other.message)
      assert.is_nil(other.url)
    end
  end)

  it("a refused connection says libcurl's reason once", function()
    local c = bizreg.kos { base_url = "http://127.0.0.1:" .. sandbox.refused_port(), token = "t0ken-for-tests" }
    local _, err = c:register_visitor_images { images = { IMAGE } }
    c:close()
    assert.equal("COULDNT_CONNECT", err.code)
    -- libcurl's wording varies ("Couldn't connect to server" before 8.x, "Could not ..." after):
    -- whatever it is, no part of the message comes twice
    local seen = {}
    for part in (err.message .. ": "):gmatch("(.-): ") do
      assert.is_nil(seen[part], err.message)
      seen[part] = true
    end
    assert.truthy(err.message:lower():find("connect", 1, true), err.message)
  end)

  it("the CLI shows a 404's URL", function()
    local out = run({ "register", "images", "--progress", "off", "--journal", cli.dir .. "/404.journal",
      "examples/images/visitor-images.json" }, { BIZREG_KOS_BASE_URL = sb.url .. "/wrong", BIZREG_KOS_API_KEY = API_KEY })
    assert.truthy(out:find("http 404: NotFoundException at " .. sb.url .. "/wrong/open/", 1, true), out)
  end)

  it("a truncated JSON line says 'unexpected end of line'", function()
    cli.setup()
    local path = cli.write(cli.dir .. "/cut.jsonl", '{"fileName":"a.jpg","visitorId":"65a1b2c3d4e5f6a7b8c9d0e1"}\n'
      .. '{"fileName":"b.jpg","visitorId":\n' .. '{"fileName":"c.jpg","visitorId":"65a1b2c3\n')
    local out, _, rc = run({ "check", "images", path })
    assert.equal(1, rc)
    assert.equal("line 2  InvalidJSON  unexpected end of line (column 33)\n"
      .. "line 3  InvalidJSON  unexpected end of line (column 42)\n", out)
  end)

  it("a truncated JSON file says 'unexpected end of file'", function()
    cli.setup()
    local path = cli.write(cli.dir .. "/cut.json", '{"images": [{"fileName": "a.jpg",')
    local _, err, rc = run({ "check", "images", path })
    assert.equal(2, rc)
    assert.equal("bizreg: " .. path .. ": invalid JSON: unexpected end of file (line 1, column 34)\n", err)
  end)

  for _, cmd in ipairs({ "check brand", "check images", "register brand", "register images", "register chatbots",
      "visitors search", "brand status", "brand list", "sandbox" }) do
    it("-v is an option of `bizreg " .. cmd .. "`", function()
      local argv = {}
      for w in cmd:gmatch("%S+") do argv[#argv + 1] = w end
      argv[#argv + 1] = "-v"
      argv[#argv + 1] = "--help"
      local _, err, rc = run(argv)
      assert.equal("", err)
      assert.equal(0, rc)
    end)
  end

  it("make test says which part it skipped and why, and goes on", function()
    cli.setup()
    local base = cli.dir .. "/run-skip"
    -- an interpreter this machine lacks stands for one a release has no package for
    shell.execute("BIZREG_LUAS='lua9.9' BIZREG_EXTRA='' sh spec/run.sh >" .. base .. ".out 2>&1; echo $? >" .. base .. ".rc")
    assert.equal("lua9.9: skipped: lua9.9 is not installed (this release has no package for it)\n"
      .. "0 passed, 0 failed, 1 skipped\n", cli.read(base .. ".out"))
    assert.equal("0", cli.read(base .. ".rc"):match("%d+"))
  end)

  it("check images -v checks the file as without it", function()
    local out, err, rc = run({ "check", "images", "-v", "examples/images/visitor-images.json" })
    local out2, err2, rc2 = run({ "check", "images", "examples/images/visitor-images.json" })
    assert.equal(0, rc)
    assert.same({ out2, err2, rc2 }, { out, err, rc })
  end)
end)
