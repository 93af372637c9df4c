-- `bizreg webhook listen`, spawned as a process: notifications POSTed with luasocket are
-- answered through bizreg.webhook.handle and printed once each (text or --json); --count ends
-- it; SIGTERM and SIGINT end it too; secrets (agencyKey) are never printed.
local cli = require "spec.cli.run"
local http = require "socket.http"
local ltn12 = require "ltn12"
local shell = require "spec.helpers.shell"
local json = require("spec.helpers.sandbox").json

-- Waits (bounded in count, not time) until the listener printed its address: the port.
local function port_of(pid, err_path)
  for _ = 1, 3000 do
    local port = (cli.read(err_path) or ""):match("listening on http://127%.0%.0%.1:(%d+)/")
    if port then return tonumber(port) end
    assert.is_true(cli.alive(pid), "the listener ended: " .. tostring(cli.read(err_path)))
    shell.execute("sleep 0.01")
  end
  error("the listener printed no address")
end

local function post(port, body, method)
  local out = {}
  local _, status, headers = http.request {
    url = "http://127.0.0.1:" .. port .. "/rcs-noti", method = method or "POST", source = ltn12.source.string(body),
    headers = { ["Content-Type"] = "application/json", ["Content-Length"] = #body }, sink = ltn12.sink.table(out),
  }
  return status, table.concat(out), headers
end

-- Waits for the spawned command's exit code (bounded in count).
local function exit_of(pid)
  for _ = 1, 3000 do
    local code = cli.exit_code(pid)
    if code then return code end
    shell.execute("sleep 0.01")
  end
  error("the listener did not end")
end

describe("bizreg webhook listen", function()
  setup(function() cli.setup() end)

  it("answers and prints each notification once, as a line; --count 2 ends it (exit 0)", function()
    local pid, out, err = cli.spawn({ "webhook", "listen", "--port", "0", "--count", "2" }, {})
    local port = port_of(pid, err)
    local brand = '{"notiType":"brand","brandId":"BR.cli1","method":"rejected","reason":"로고 불량"}'
    assert.equal(200, (post(port, brand)))
    assert.equal(200, (post(port, brand)))  -- a repeat: 200, not printed
    local status, body = post(port, "not json")
    assert.equal(400, status)
    assert.same({ status = "400", error = { code = "64302", message = "Invalid JSON format" } }, json.decode(body))
    assert.equal(405, (post(port, "", "GET")))
    assert.equal(200, (post(port, '{"notiType":"agencykey","agencyKey":"AK.clisecret99","method":"created","extra":[1]}')))
    assert.equal(0, exit_of(pid))
    assert.equal('brand brandId=BR.cli1 method=rejected reason="로고 불량"\nagencykey agencyKey=*** method=created extra=[1]\n',
      cli.read(out))
    local e = cli.read(err)
    assert.equal(1, cli.count(e, "a repeated delivery"))
    assert.equal(1, cli.count(e, "answered 400"))
    assert.equal(1, cli.count(e, "HTTP 405"))
    assert.is_false(cli.has(cli.read(out) .. e, "AK.clisecret99"))
  end)

  it("--json prints one JSON object per notification in the spec's field order, unknown notiTypes too", function()
    local pid, out, err = cli.spawn({ "webhook", "listen", "--port", "0", "--count", "2", "--json" }, {})
    local port = port_of(pid, err)
    assert.equal(200, (post(port, '{"method":"created","chatbotId":"0212345678","notiType":"chatbot","brandId":"BR.c"}')))
    assert.equal(200, (post(port, '{"notiType":"registration","value":{"brandId":"BR.c"}}')))
    assert.equal(0, exit_of(pid))
    local lines = cli.lines(cli.read(out))
    assert.equal(2, #lines)
    assert.equal('{"notiType":"chatbot","brandId":"BR.c","chatbotId":"0212345678","method":"created"}', lines[1])
    assert.same({ notiType = "registration", value = { brandId = "BR.c" } }, json.decode(lines[2]))
  end)

  it("ends on SIGTERM (143) and SIGINT (130), saying how many it printed", function()
    for _, case in ipairs { { "TERM", 143, "terminated" }, { "INT", 130, "interrupted" } } do
      local pid, _, err = cli.spawn({ "webhook", "listen", "--port", "0" }, {})
      local port = port_of(pid, err)
      assert.equal(200, (post(port, '{"notiType":"brand","brandId":"BR.sig","method":"modified"}')))
      cli.kill(pid, case[1])
      assert.equal(case[2], exit_of(pid))
      assert.is_true(cli.has(cli.read(err), "webhook listen " .. case[3] .. " after 1 notification(s)"), cli.read(err))
    end
  end)

  it("refuses extra words and wrong options with exit 2, without listening", function()
    local r = cli.run({ "webhook", "listen", "extra" })
    assert.equal(2, r.code)
    r = cli.run({ "webhook", "listen", "--count", "0" })
    assert.equal(2, r.code)
    r = cli.run({ "webhook" })
    assert.equal(2, r.code)
    assert.is_true(cli.has(r.err, "webhook needs 'listen'"), r.err)
  end)
end)
