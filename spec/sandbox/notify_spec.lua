-- The sandbox's webhook notifications (sandbox/lua/bizreg_sandbox/notify.lua): what it POSTs
-- on a status change, its retries and their bound, `repeat`, and that delivery never holds up
-- the sandbox. The receiver lives in this process (spec/helpers/hook_receiver.lua), so every
-- body and every connection the sandbox made is counted here.
local sandbox = require "spec.helpers.sandbox"
local receiver = require "spec.helpers.hook_receiver"
local images = require "spec.helpers.images"

local json = sandbox.json
local AUTH = { authorization = "Bearer sandbox-rcs-token" }

-- The sandbox runs under LuaJIT where it is installed, else Lua 5.1 (the Debian roots). lua-http
-- yields inside a delivery, which Lua 5.1 cannot do across pcall: a pcall around it failed every
-- delivery there ("attempt to yield across metamethod/C-call boundary"). Both run these.
local INTERPRETERS = { false }
if os.execute("command -v lua5.1 >/dev/null 2>&1") == true or os.execute("command -v lua5.1 >/dev/null 2>&1") == 0 then
  INTERPRETERS[2] = "lua5.1"
end

for _, lua in ipairs(INTERPRETERS) do
describe("sandbox webhook notifications" .. (lua and (" (sandbox under " .. lua .. ")") or ""), function()
  local sb, r
  setup(function() sb = sandbox.start { lua = lua or nil } end)
  teardown(function() sb:stop() end)
  before_each(function()
    sb:reset()
    r = receiver.new()
  end)
  after_each(function() r:close() end)

  local function post(path, doc)
    local st, body = sb:request("POST", path, { body = type(doc) == "string" and doc or json.encode(doc) })
    return st, json.decode(body)
  end

  local function webhook(doc)
    local st, d = post("/_sandbox/webhook", doc)
    assert.equal(200, st, json.encode(d))
    return d
  end

  local function log()
    local st, body = sb:request("GET", "/_sandbox/webhook")
    assert.equal(200, st)
    return json.decode(body)
  end

  local function status(id, s, reason)
    local st, d = post("/_sandbox/brand-status", { brandId = id, status = s, reason = reason })
    assert.equal(200, st, json.encode(d))
  end

  -- done(): every notification in the log has its outcome and there are n of them
  local function settled(n)
    return function()
      local l = log()
      return #l.notifications == n and l.pending == 0
    end
  end

  local function always(code) return function() return code end end

  it("a status change to 승인 POSTs one NotiBrand with the spec's fields; 반려 carries the reason", function()
    local id = sb:brands { count = 1 }[1]
    webhook { url = r.url }
    status(id, "검수시작")   -- a step of the review: not announced
    status(id, "승인")
    assert.is_true(r:serve(always(200), settled(1)))
    assert.equal(1, #r.requests)
    local req = r.requests[1]
    assert.equal("POST", req.method)
    assert.equal("/hook", req.path)
    assert.equal("application/json;charset=UTF-8", req.headers["content-type"])
    assert.equal('{"notiType":"brand","brandId":"' .. id .. '","method":"modified","reason":null}', req.body)

    status(id, "반려", "로고가 흐립니다")
    assert.is_true(r:serve(always(200), settled(2)))
    assert.equal(2, #r.requests)
    assert.same({ notiType = "brand", brandId = id, method = "rejected", reason = "로고가 흐립니다" },
      json.decode(r.requests[2].body))
    local l = log()
    assert.same({ 1, 1, 1, 200 }, { l.deliveries[1].n, l.deliveries[1].copy, l.deliveries[1].attempt, l.deliveries[1].status })
    assert.equal("delivered", l.notifications[2].outcome)
  end)

  it("a move armed with after_reads is announced when the read that applies it happens", function()
    local id = sb:brands { count = 1 }[1]
    webhook { url = r.url }
    assert.equal(200, (post("/_sandbox/brand-status", { brandId = id, status = "승인", after_reads = 1 })))
    assert.equal(0, #log().notifications)
    for _ = 1, 2 do
      assert.equal(200, (sb:request("GET", "/api/1.1/corp/sandbox/brand/" .. id, { headers = AUTH })))
    end
    assert.is_true(r:serve(always(200), settled(1)))
    assert.equal("modified", json.decode(r.requests[1].body).method)
  end)

  it("a receiver that fails twice then answers 200 gets 3 attempts, and the log says so", function()
    local id = sb:brands { count = 1 }[1]
    webhook { url = r.url }
    status(id, "승인")
    assert.is_true(r:serve(function(_, i) return i <= 2 and 500 or 200 end, settled(1)))
    assert.equal(3, #r.requests)
    assert.equal(r.requests[1].body, r.requests[3].body)
    local l = log()
    assert.equal(3, #l.deliveries)
    for i, want in ipairs { 500, 500, 200 } do
      assert.same({ 1, i, want }, { l.deliveries[i].n, l.deliveries[i].attempt, l.deliveries[i].status })
    end
    assert.same({ "delivered", 3 }, { l.notifications[1].outcome, l.notifications[1].attempts })
  end)

  -- A receiver answering every attempt with `answer` (hook_receiver: nil holds the connection,
  -- "stall" sends a 200 head without its body): exactly max_attempts attempts, each an
  -- error matching `why`, then failed.
  local function exhausts(answer, why)
    local id = sb:brands { count = 1 }[1]
    webhook { url = r.url, timeout_ms = 200, backoff_ms = 0 }
    status(id, "승인")
    assert.is_true(r:serve(function() return answer end, settled(1)))
    local l = log()
    assert.equal(4, l.max_attempts)
    assert.equal(l.max_attempts, r.connections)
    assert.equal(l.max_attempts, #l.deliveries)
    for i, d in ipairs(l.deliveries) do
      assert.same({ i, nil }, { d.attempt, d.status })
      assert.matches(why, d.error, 1, true)
    end
    assert.same({ "failed", 4 }, { l.notifications[1].outcome, l.notifications[1].attempts })
  end

  it("a receiver that never answers gets exactly max_attempts attempts, each timed out", function()
    exhausts(nil, "timed out")
  end)

  it("an answer whose body never comes counts as a failure (the timeout covers the whole answer)", function()
    exhausts("stall", "answer 200 unfinished")
  end)

  it("a receiver that refuses connections: the bounded attempts, then failed", function()
    local id = sb:brands { count = 1 }[1]
    webhook { url = "http://127.0.0.1:" .. sandbox.refused_port() .. "/hook", backoff_ms = 0 }
    status(id, "반려")
    local l
    for _ = 1, 400 do
      l = log()
      if l.pending == 0 then break end
      require("socket").sleep(0.05)
    end
    assert.same({ "failed", 4 }, { l.notifications[1].outcome, l.notifications[1].attempts })
    assert.equal(4, #l.deliveries)
    assert.matches("Connection refused", l.deliveries[4].error, 1, true)
  end)

  it("an attempt waiting for its answer holds up neither API nor control calls", function()
    local id = sb:brands { count = 1 }[1]
    webhook { url = r.url, timeout_ms = 60000 }
    status(id, "승인")
    local answered
    assert.is_true(r:serve(function()
      -- the sandbox is now inside its first attempt, waiting for this receiver
      local st = sb:request("GET", "/api/1.1/corp/sandbox/brand/" .. id, { headers = AUTH })
      answered = st
      return nil
    end, function() return #r.requests == 1 end))
    assert.equal(200, answered)
    local l = log()
    assert.same({ 1, "pending", 0 }, { l.pending, l.notifications[1].outcome, #l.deliveries })
    r:release() -- the attempt fails at once; reset stops its retries
    sb:reset()
  end)

  it("repeat = 2 delivers each notification twice, byte for byte", function()
    local id = sb:brands { count = 1 }[1]
    webhook { url = r.url, ["repeat"] = 2 }
    status(id, "승인")
    assert.is_true(r:serve(always(200), settled(2)))
    assert.equal(2, #r.requests)
    assert.equal(r.requests[1].body, r.requests[2].body)
    local l = log()
    assert.same({ 1, 1 }, { l.notifications[1].n, l.notifications[2].n })
    assert.same({ 1, 2 }, { l.notifications[1].copy, l.notifications[2].copy })
  end)

  it("no URL set: nothing is delivered; DELETE turns delivery off", function()
    local id = sb:brands { count = 1 }[1]
    status(id, "승인")       -- no URL yet: dropped at once, nothing queued
    assert.equal(0, #log().notifications)
    webhook { url = r.url }
    status(id, "반려", "r")
    assert.is_true(r:serve(always(200), settled(1)))
    assert.equal(1, #r.requests)
    assert.equal("rejected", json.decode(r.requests[1].body).method)
    local st, body = sb:request("DELETE", "/_sandbox/webhook")
    assert.equal(200, st)
    assert.is_nil(json.decode(body).url)
    status(id, "승인")
    assert.equal(0, #log().notifications)
    webhook { url = r.url }
    webhook { url = json.null }  -- the other way to turn it off
    status(id, "반려")
    assert.equal(0, #log().notifications)
  end)

  -- a sender number registered with POST /brand/{id}/chatbot (multipart, as the API takes it)
  local function add_chatbot(id, mdn)
    local b = "nt-boundary-5c1"
    local body = table.concat {
      "--", b, '\r\nContent-Disposition: form-data; name="chatbots"\r\n\r\n',
      json.encode { chatbots = { { mdn = mdn, subTitle = "알림" } } }, "\r\n",
      "--", b, '\r\nContent-Disposition: form-data; name="subNumCertificate"; filename="c.pdf"\r\n',
      "Content-Type: application/pdf\r\n\r\n", images.pdf(), "\r\n--", b, "--\r\n" }
    local st, out = sb:request("POST", "/api/1.1/brand/" .. id .. "/chatbot", { body = body, headers = {
      authorization = AUTH.authorization, ["content-type"] = "multipart/form-data; boundary=" .. b } })
    assert.equal(200, st, out)
  end

  it("a sender number approved or rejected POSTs one NotiChatbot (created / rejected with the reason)", function()
    local id = sb:brands { count = 1 }[1]
    add_chatbot(id, "0212345678")
    webhook { url = r.url }
    local function bot_status(doc)
      doc.brandId, doc.chatbotId = id, "0212345678"
      local st, d = post("/_sandbox/chatbot-status", doc)
      assert.equal(200, st, json.encode(d))
      return d
    end
    bot_status { status = "검수시작" }  -- a step of the review: not announced
    local bot = bot_status { status = "승인" }
    assert.equal("승인", bot.approvalResult)
    bot = bot_status { status = "반려", reason = "번호 인증서 불일치" }
    assert.same({ "반려", "번호 인증서 불일치" }, { bot.approvalResult, bot.approvalReason })
    assert.is_true(r:serve(always(200), settled(2)))
    assert.equal(2, #r.requests)
    -- two notifications made one after the other may arrive in either order
    table.sort(r.requests, function(a, b) return a.body < b.body end)
    assert.equal('{"notiType":"chatbot","brandId":"' .. id .. '","chatbotId":"0212345678","method":"created","reason":null}',
      r.requests[1].body)
    assert.same({ notiType = "chatbot", brandId = id, chatbotId = "0212345678", method = "rejected",
      reason = "번호 인증서 불일치" }, json.decode(r.requests[2].body))
    local st, listed = sb:request("GET", "/_sandbox/brands/" .. id .. "/chatbots")
    assert.equal(200, st)
    assert.equal("반려", json.decode(listed).chatbots[1].approvalResult)
    for _, bad in ipairs {
      { brandId = id, chatbotId = "0299999999", status = "승인" }, { brandId = id, chatbotId = "0212345678", status = "승인됨" },
      { brandId = id, chatbotId = "0212345678", status = "반려", reason = 1 },
    } do
      assert.equal(400, (post("/_sandbox/chatbot-status", bad)), json.encode(bad))
    end
  end)

  -- the hooks of the changes after registration (rcs_brands.set_status, rcs_chatbots'
  -- set_chatbot_status and delete_chatbot): an edit applied at once, a cancelled rename, a delete
  it("announces edits applied at once and cancelled renames as modified, a deleted number as deleted", function()
    local id = sb:brands { count = 1 }[1]
    add_chatbot(id, "0212345678")
    assert.equal(200, (post("/_sandbox/chatbot-status", { brandId = id, chatbotId = "0212345678", status = "승인" })))
    webhook { url = r.url }
    local function edit(title, display)
      local b = "nt-edit-7a"
      local body = table.concat { "--", b, '\r\nContent-Disposition: form-data; name="chatbot"\r\n\r\n',
        json.encode { chatbot = { mdn = "0212345678", subTitle = title, display = display } }, "\r\n--", b, "--\r\n" }
      local st, out = sb:request("PUT", "/api/1.1/brand/" .. id .. "/chatbot/0212345678", { body = body, headers = {
        authorization = AUTH.authorization, ["content-type"] = "multipart/form-data; boundary=" .. b } })
      assert.equal(200, st, out)
    end
    local function call(method, path)
      local st, out = sb:request(method, "/api/1.1/brand/" .. id .. "/chatbot/0212345678" .. path, { headers = AUTH })
      assert.equal(200, st, out)
    end
    edit("알림", "11")         -- same name: applied at once -> modified
    assert.is_true(r:serve(always(200), settled(1)))
    edit("새 이름", "11")      -- a rename goes to review (승인대기(수정)): not announced
    call("PUT", "/cancel")     -- the rename's review cancelled: back to the approved data -> modified
    assert.is_true(r:serve(always(200), settled(2)))
    call("DELETE", "")         -- -> deleted
    assert.is_true(r:serve(always(200), settled(3)))
    local methods = {}
    for i, q in ipairs(r.requests) do
      local d = json.decode(q.body)
      assert.same({ "chatbot", id, "0212345678" }, { d.notiType, d.brandId, d.chatbotId })
      methods[i] = d.method
    end
    assert.same({ "modified", "modified", "deleted" }, methods)
  end)

  it("a method outside the schema's enum is a programmer error (brand: no created/deleted)", function()
    -- in the sandbox's own interpreter (lua5.1, lua-http), outside the server
    local shell = require "spec.helpers.shell"
    local p = shell.popen([=[cd sandbox/lua && lua5.1 -e '
      local n = require "bizreg_sandbox.notify"
      local state = {}
      n.reset(state)
      for _, c in ipairs { { "brand", "created" }, { "brand", "deleted" }, { "chatbot", "approved" },
        { "brand", "modified" }, { "chatbot", "deleted" } } do
        local ok, err = pcall(n[c[1]], state, { brandId = "BR.x", chatbotId = "0212345678" }, c[2])
        io.write(c[1], " ", c[2], " ", ok and "ok" or tostring(err):match("method %S+ is not in the spec.s enum") or tostring(err), "\n")
      end' 2>&1]=])
    local out = p:read("*a")
    p:close()
    assert.equal(table.concat({
      "brand created method created is not in the spec's enum",
      "brand deleted method deleted is not in the spec's enum",
      "chatbot approved method approved is not in the spec's enum",
      "brand modified ok", "chatbot deleted ok", "" }, "\n"), out)
  end)

  it("refuses a bad webhook control call", function()
    for _, bad in ipairs {
      { url = "http://192.0.2.1/hook" }, { url = "https://127.0.0.1/hook" }, { url = 5 },
      { url = "http://127.0.0.1:1/h", ["repeat"] = 0 }, { url = "http://127.0.0.1:1/h", ["repeat"] = 4 },
      { url = "http://127.0.0.1:1/h", timeout_ms = 0 }, { url = "http://127.0.0.1:1/h", backoff_ms = -1 },
      { url = "http://127.0.0.1:1/h", secret = "x" }, "[]",
    } do
      assert.equal(400, (post("/_sandbox/webhook", bad)), type(bad) == "string" and bad or json.encode(bad))
    end
    assert.is_nil(log().url)
  end)
end)
end
