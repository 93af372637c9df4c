-- RCS register_chatbots against the sandbox: sender numbers added to a registered brand
-- (the server's count), the bytes on the wire, server errors mapped, at most once under
-- faults (the server's count of bodies), jobs, the one-shot and the sandbox's own answers
-- (the command: spec/cli/chatbots_spec.lua).
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"
local calls = require "spec.helpers.calls"

local json = sandbox.json
local STATIC = "sandbox-rcs-token"
local EP = "rcs.register_chatbots"
local CERT_PATH = fx.file("chatbots-cert.pdf", function() return fx.images.pdf(4096) end)

-- n chatbots with numbers no other test uses (a body sent twice would be a duplicate).
local function chatbots(n) return fx.fresh_chatbots("031", n) end

local function payload(n) return { chatbots = chatbots(n or 1), subNumCertificate = CERT_PATH } end

describe("RCS register_chatbots end to end", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  -- token fetched (client_id + client_secret) unless extra.auth = "static"
  local function client(extra) return calls.rcs_client(sb, extra) end

  -- control: a brand without a brand POST (foreign: another account's), its chatbots
  local function make_brand(doc)
    doc = doc or {}
    if doc.foreign then doc.owner, doc.foreign = "another-account", nil end
    return sb:brands(doc)[1]
  end
  local function server_chatbots(brand_id)
    local status, body = sb:request("GET", "/_sandbox/brands/" .. brand_id .. "/chatbots")
    assert.equal(200, status, body)
    return json.decode(body)
  end

  it("adds 10 sender numbers to a registered brand: the server holds 10", function()
    local rcs = client()
    local brand_id = assert(rcs:register_brand(fx.brand())).brandId
    local list = chatbots(10)
    local res, err = rcs:register_chatbots(brand_id, { chatbots = list, subNumCertificate = CERT_PATH })
    assert.is_nil(err and tostring(err))
    assert.same({ brand_id, "20000000", 200, 10 }, { res.brandId, res.code, res.status, #res.result })
    for i, c in ipairs(res.result) do
      assert.same({ list[i].mdn, brand_id, "승인대기", "a2p" }, { c.chatbotId, c.brandId, c.approvalResult, c.service })
    end
    local held = server_chatbots(brand_id)
    assert.equal(10, held.count)
    assert.equal(list[10].mdn, held.chatbots[10].chatbotId)
    assert.equal(10, sb:stats().registered.chatbots)
    assert.equal(1, sb:stats().received[EP])
    rcs:close()
  end)

  it("sends exactly the bytes prepare_chatbots describes, the certificate streamed from disk", function()
    local rcs = client()
    local brand_id = make_brand()
    local p = payload(3)
    assert(rcs:register_chatbots(brand_id, p))
    local reqs = sb:requests()
    local last = reqs[#reqs]
    assert.same({ "POST", "/api/1.1/brand/" .. brand_id .. "/chatbot" }, { last.method, last.path })
    local boundary = last.content_type:match("boundary=(.+)$")
    local ref = assert(bizreg.prepare_chatbots(brand_id, p, { boundary = boundary }))
    assert.equal("multipart/form-data; boundary=" .. boundary, ref.headers["Content-Type"])
    local got = sb:body()
    assert.equal(#ref.body, #got)
    assert.equal(ref.body, got)
    assert.equal("Bearer", sb:headers().authorization:match("^(%S+) "))
    rcs:close()
  end)

  it("maps the server's errors: unknown brand 64316, another account's 63001, a number it has 64319, 64306", function()
    local rcs = client()
    local function fails(brand_id, p, status, code, message)
      local res, err = rcs:register_chatbots(brand_id, p)
      assert.is_nil(res)
      assert.same({ "http", status, code, message, true, false },
        { err.kind, err.status, err.code, err.message, err.sent, err.retryable })
    end
    fails("BR.unknown", payload(), 400, "64316", "Invalid brandId")
    fails(make_brand { foreign = true }, payload(), 403, "63001", "No Brand Permission")
    -- a number registered with the brand POST, then again on its own
    local first = chatbots(2)
    local brand_id = assert(rcs:register_brand(fx.brand { chatbots = first, subNumCertificate = CERT_PATH })).brandId
    assert.equal(2, server_chatbots(brand_id).count)
    fails(brand_id, { chatbots = { chatbots(1)[1], first[2] }, subNumCertificate = CERT_PATH }, 400, "64319", "Duplicate MDN")
    -- a brand that may hold 3 numbers: 3 pass, one more is over
    local capped = make_brand { max_chatbots = 3 }
    assert(rcs:register_chatbots(capped, payload(3)))
    fails(capped, payload(1), 400, "64306", "Exceed MDN registration quantity")
    assert.equal(3, server_chatbots(capped).count)
    sb:config { fail_next = { status = 500, endpoint = EP } }
    fails(capped, payload(1), 500, "50000", "Internal Server Error")
    rcs:close()
  end)

  it("sends nothing for a payload or brandId the rules refuse", function()
    local rcs = client()
    local brand_id = make_brand()
    local _, err = rcs:register_chatbots(brand_id, { chatbots = {}, subNumCertificate = CERT_PATH })
    assert.same({ "validation", "64343", false }, { err.kind, err.code, err.sent })
    _, err = rcs:register_chatbots("BR.abcdefghijk", payload())
    assert.same({ "validation", "64316", false }, { err.kind, err.code, err.sent })
    assert.equal(0, sb:stats().requests)
    rcs:close()
  end)

  it("is sent at most once: a body that arrived is never sent again, whatever the fault", function()
    local rcs = client { retries = 2, timeout = 2, auth = "static" }  -- no token call: each case on a fresh connection
    local brand_id = make_brand()
    for _, case in ipairs {
      { fault = { mode = "reset_after_body", commit = true }, code = "RECV_ERROR", registered = 2 },
      { fault = { mode = "fin_after_body" }, code = "GOT_NOTHING", registered = 0 },
      { fault = { mode = "hang" }, code = "OPERATION_TIMEDOUT", registered = 0 },
    } do
      sb:close_idle()
      case.fault.endpoint = EP
      sb:fault(case.fault)
      local before = sb:stats()
      local res, err = rcs:register_chatbots(brand_id, payload(2))
      local after = sb:stats()
      local what = case.fault.mode
      assert.is_nil(res, what)
      assert.same({ "transport", case.code, true, false }, { err.kind, err.code, err.sent, err.retryable }, what)
      assert.equal(1, after.by_endpoint[EP] - before.by_endpoint[EP], what .. ": request heads")
      assert.equal(1, after.received[EP] - before.received[EP], what .. ": bodies received")
      assert.equal(0, after.duplicates[EP], what .. ": a body arrived twice")
      assert.equal(case.registered, after.registered.chatbots - before.registered.chatbots, what)
      sb:clear_faults()
    end
    rcs:close()
  end)

  it("retries a 429 like every call (the server did not take it): one registration", function()
    local rcs = client { retries = 2 }
    local brand_id = make_brand()
    sb:config { fail_next = { status = 429, endpoint = EP } }
    local res = assert(rcs:register_chatbots(brand_id, payload(2)))
    assert.equal(2, #res.result)
    local st = sb:stats()
    -- the 429'd body and its resend: the one duplicate the policy allows
    assert.same({ 2, 2, 1, 2 }, { st.by_endpoint[EP], st.received[EP], st.duplicates[EP], st.registered.chatbots })
    rcs:close()
  end)

  it("runs as a job (start/poll) and as a one-shot", function()
    local rcs = client()
    local brand_id = make_brand()
    local job = rcs:start("register_chatbots", brand_id, payload(2))
    local t0 = os.time()
    while not job.done and os.time() - t0 < 20 do bizreg.poll(0.05) end
    local res, err = job:result()
    assert.is_nil(err and tostring(err))
    assert.equal(2, #res.result)
    rcs:close()
    res = assert(bizreg.register_chatbots({ base_url = sb.rcs_url, token = STATIC }, brand_id, payload(1)))
    assert.equal(brand_id, res.brandId)
    assert.equal(3, server_chatbots(brand_id).count)
  end)

  it("refuses a 2xx that lists no chatbots as an unknown outcome (decode, sent)", function()
    local rcs = client()
    sb:fault { endpoint = EP, mode = "echo", status = 200 }
    local res, err = rcs:register_chatbots(make_brand(), payload())
    assert.is_nil(res)
    assert.same({ "decode", true }, { err.kind, err.sent })
    rcs:close()
  end)

  -- The sandbox's own answers, to bodies no client would send (its rules: rcs_rules.lua).
  describe("sandbox endpoint", function()
    local B = "sbx-boundary"
    local function part(name, data, filename)
      return "--" .. B .. '\r\nContent-Disposition: form-data; name="' .. name .. '"' ..
        (filename and ('; filename="' .. filename .. '"') or "") .. "\r\n\r\n" .. data .. "\r\n"
    end
    local function cb_part(list) return part("chatbots", json.encode { chatbots = list }) end
    local CERT = part("subNumCertificate", fx.images.pdf(), "c.pdf")
    local function post(brand_id, body, headers)
      headers = headers or { authorization = "Bearer " .. STATIC }
      headers["content-type"] = "multipart/form-data; boundary=" .. B
      local status, out = sb:request("POST", "/api/1.1/brand/" .. brand_id .. "/chatbot",
        { body = body .. "--" .. B .. "--\r\n", headers = headers })
      local doc = json.decode(out)
      return { status, doc.error and doc.error.code or doc.code, doc.error and doc.error.message }
    end

    it("answers the first violation with the brand POST's codes and messages", function()
      local id = make_brand()
      local ok = { mdn = "0212345678", subTitle = "t" }
      local many = {}
      for i = 1, 1001 do many[i] = { mdn = string.format("02%08d", i), subTitle = "t" } end
      for _, c in ipairs {
        { post(id, cb_part { ok } .. CERT, {}), { 401, "61001", "Missing Authorization header" } },
        { post("BR.abcdefghijk", cb_part { ok } .. CERT), { 400, "64316", "Invalid brandId" } },
        { post(id, CERT), { 400, "64336", "required value: [chatbots]" } },
        { post(id, cb_part { ok } .. CERT .. part("regBrand", "{}")), { 400, "64397", "invalid body regBrand" } },
        { post(id, cb_part {}), { 400, "64343", "Brand Creation Chatbots Array Error" } },
        { post(id, cb_part(many) .. CERT), { 400, "64343", "Brand Creation Chatbots Array Error" } },
        { post(id, cb_part { { mdn = "01012345678", subTitle = "t" } } .. CERT), { 400, "64308", "Invalid MDN format" } },
        { post(id, cb_part { ok, ok } .. CERT), { 400, "64341", "Duplicate MDN 0212345678 in chatbots" } },
        { post(id, cb_part { ok }), { 400, "64305", "Missing Certification document" } },
        { post(id, cb_part { ok } .. part("subNumCertificate", "GIF89a....", "c.gif")), { 400, "64355", "Not allowed file extension" } },
      } do
        assert.same(c[2], c[1])
      end
      assert.same({ 200, "20000000" }, { post(id, cb_part { ok } .. CERT)[1], post(id, cb_part { { mdn = "0212345679", subTitle = "t" } } .. CERT)[2] })
      assert.equal(2, server_chatbots(id).count)
      local status = sb:request("DELETE", "/api/1.1/brand/" .. id .. "/chatbot")  -- (GET lists them)
      assert.equal(405, status)
      assert.equal(404, (sb:request("GET", "/_sandbox/brands/BR.none/chatbots")))
    end)
  end)
end)
