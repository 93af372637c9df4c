-- wait_for_approval against the sandbox: approved, rejected (with the reason), timeout,
-- transient errors, Retry-After, as a blocking call and as a job (start/poll).
-- The sandbox's brand-status control call moves a brand after N more reads (after_reads),
-- so a blocking wait sees "pending" first without any timing.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local helpers = require "spec.helpers.calls"
local webhook = require "bizreg.webhook"

local json = sandbox.json

describe("RCS wait_for_approval", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra) return helpers.rcs_client(sb, extra) end

  local function new_brand(status) return sb:brands { status = status }[1] end

  local function move(id, status, reason, after)
    local st, body = sb:request("POST", "/_sandbox/brand-status",
      { body = json.encode { brandId = id, status = status, reason = reason, after_reads = after } })
    assert.equal(200, st, body)
  end

  local function reads() return sb:stats().by_endpoint["rcs.get_brand"] end

  -- Drives the jobs until cond() holds (at most 400 polls: a hang fails, no clock is read).
  local function poll_until(cond)
    for _ = 1, 400 do
      if cond() then return end
      bizreg.poll(0.05)
    end
    assert.is_true(cond(), "no hang")
  end

  it("returns approved once the brand reaches 승인, reading it every interval", function()
    local id = new_brand()
    move(id, "승인", nil, 2)  -- two reads see 승인대기, the third 승인
    local rcs = client()
    local res, err = rcs:wait_for_approval(id, { interval = 0.05, timeout = 60 })
    assert.is_nil(err and tostring(err))
    assert.is_true(res.approved)
    assert.equal("승인", res.brand_status)
    assert.equal("승인", res.brand.status)
    assert.is_nil(res.reason)
    assert.equal(3, res.reads)
    assert.equal(3, reads())
    rcs:close()
  end)

  it("returns rejected with the server's reason for 반려 and 반려(수정)", function()
    local rcs = client()
    for _, status in ipairs { "반려", "반려(수정)" } do
      local id = new_brand("검수시작")
      move(id, status, "브랜드명과 사업자명 불일치", 1)
      local res = assert(rcs:wait_for_approval(id, { interval = 0.05 }))
      assert.is_false(res.approved)
      assert.equal(status, res.brand_status)
      assert.equal("브랜드명과 사업자명 불일치", res.reason)
      assert.equal(2, res.reads)
    end
    rcs:close()
  end)

  it("treats every other status as pending and ends with WAIT_TIMEOUT, without busy-looping", function()
    for _, status in ipairs { "저장", "승인대기", "검수시작", "검수완료", "승인대기(수정)", "검수시작(수정)", "검수완료(수정)" } do
      local id = new_brand(status)
      local rcs = client()
      local before = reads()
      local res, err = rcs:wait_for_approval(id, { interval = 0.1, timeout = 0.35 })
      assert.is_nil(res)
      assert.equal("transport", err.kind)
      assert.equal("WAIT_TIMEOUT", err.code)
      assert.is_false(err.sent)
      assert.is_true(err.retryable)
      assert.equal(status, err.brand_status)
      assert.matches("still " .. status:gsub("[%(%)]", "%%%0"), err.message)
      local n = reads() - before
      assert.is_true(n >= 2 and n <= 6, "reads: " .. n)  -- about timeout / interval, never a spin
      rcs:close()
    end
  end)

  it("ends at once on an error that is not transient (64316, 63001), as get_brand returns it", function()
    local rcs = client()
    local _, err = rcs:wait_for_approval("BR.nosuch", { interval = 0.05, timeout = 30 })
    assert.equal("64316", err.code)
    assert.equal(1, reads())
    _, err = rcs:wait_for_approval(sb:brands { owner = "other" }[1], { interval = 0.05, timeout = 30 })
    assert.equal("63001", err.code)
    _, err = rcs:wait_for_approval("BR.12345678901", { interval = 0.05 })
    assert.equal("validation", err.kind)
    rcs:close()
  end)

  it("keeps waiting through 429 and 503 answers", function()
    local id = new_brand()
    move(id, "승인", nil, 1)
    sb:config { fail_next = { status = 429, count = 2, endpoint = "rcs.get_brand" } }
    local rcs = client()
    local res = assert(rcs:wait_for_approval(id, { interval = 0.05, timeout = 60 }))
    assert.is_true(res.approved)
    assert.equal(4, reads())  -- 429, 429, 승인대기, 승인
    sb:config { fail_next = { status = 503, count = 1, endpoint = "rcs.get_brand" } }
    assert.is_true(assert(rcs:wait_for_approval(id, { interval = 0.05 })).approved)
    rcs:close()
  end)

  -- A read repeated changes nothing: a 503 without Retry-After (which the outcome table calls
  -- "maybe processed" for a write) or a 502/504 does not end the wait either.
  it("keeps waiting through a 502, 503 or 504 without Retry-After (a read, not a write)", function()
    for _, status in ipairs { 502, 503, 504 } do
      local answers = {
        { status = status, headers = {}, body = "<html>gateway</html>" },
        { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[{"brandId":"BR.x","name":"n","status":"승인"}]}' },
      }
      local sent = 0
      local saved = rawget(_G, "ngx")
      rawset(_G, "ngx", { sleep = function() end })  -- the ctx's sleep (client.lua sleeper)
      local ok, res, err = pcall(function()
        local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
          retries = 0, transport = function() sent = sent + 1 return table.remove(answers, 1) end }
        return rcs:wait_for_approval("BR.x", { interval = 1, timeout = 100 })
      end)
      rawset(_G, "ngx", saved)
      assert.is_true(ok, tostring(res))
      assert.is_truthy(res, status .. ": " .. tostring(err))
      assert.is_true(res.approved)
      assert.equal(2, sent)
      assert.equal(2, res.reads)
    end
  end)

  it("sleeps max(interval, Retry-After) after a 429, through the flow's sleep", function()
    local answers = {
      { status = 429, headers = { ["Retry-After"] = "7" }, body = '{"error":{"code":"42900","message":"slow down"},"status":429}' },
      { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[{"brandId":"BR.x","name":"n","status":"승인대기"}]}' },
      { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[{"brandId":"BR.x","name":"n","status":"승인"}]}' },
    }
    local slept = {}
    local saved = rawget(_G, "ngx")
    rawset(_G, "ngx", { sleep = function(s) slept[#slept + 1] = s end })  -- the ctx's sleep (client.lua sleeper)
    local ok, res = pcall(function()
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        retries = 0, transport = function() return table.remove(answers, 1) end }
      return rcs:wait_for_approval("BR.x", { interval = 2, timeout = 100 })
    end)
    rawset(_G, "ngx", saved)
    assert.is_true(ok, tostring(res))
    assert.is_true(res.approved)
    assert.same({ 7, 2 }, slept)
  end)

  it("does not read again before Retry-After, even at the timeout: WAIT_TIMEOUT after one read", function()
    local calls = 0
    local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
      retries = 0, transport = function()
        calls = calls + 1
        return { status = 429, headers = { ["Retry-After"] = "30" }, body = '{"error":{"code":"42900","message":"slow"},"status":429}' }
      end }
    local res, err = rcs:wait_for_approval("BR.x", { interval = 0.05, timeout = 0.2 })
    assert.is_nil(res)
    assert.equal("WAIT_TIMEOUT", err.code)
    assert.is_false(err.sent)
    assert.equal(1, calls)  -- the server said 30 s: a read at 0.2 s would ignore it
    rcs:close()
  end)

  it("runs as a job through start() and bizreg.poll", function()
    local id = new_brand()
    local rcs = client()
    local job = rcs:start("wait_for_approval", id, { interval = 0.05, timeout = 60 })
    poll_until(function() return reads() >= 2 end)
    assert.is_false(job.done)
    move(id, "반려", "사유", 0)
    poll_until(function() return job.done end)
    local res, err = job:result()
    assert.is_nil(err and tostring(err))
    assert.is_false(res.approved)
    assert.equal("사유", res.reason)
    rcs:close()
  end)

  it("a job times out with WAIT_TIMEOUT too, and another job runs meanwhile", function()
    local id = new_brand()
    local rcs = client()
    local slow = rcs:start("wait_for_approval", id, { interval = 0.1, timeout = 0.3 })
    local other = rcs:start("get_brand", id)
    local res, err = slow:wait(30)
    assert.is_nil(res)
    assert.equal("WAIT_TIMEOUT", err.code)
    assert.is_true(other.done)
    assert.equal("승인대기", (other:result()).brand.status)
    rcs:close()
  end)

  -- The store bizreg.webhook.handle writes to (ngx.shared.DICT's get/set/add over a table);
  -- `on_get(n)` runs before the n-th get: a notification "arriving" during the wait.
  local function hook_store(on_get)
    local data, gets = {}, 0
    local s = {}
    function s.get(_, k) gets = gets + 1 if on_get then on_get(gets) end return data[k] end
    function s.set(_, k, v) data[k] = v return true end
    function s.add(_, k, v) if data[k] then return false, "exists" end data[k] = v return true end
    function s.gets() return gets end
    return s
  end
  local function notify(store, id, method, reason)
    local ev, answer = webhook.handle(json.encode { notiType = "brand", brandId = id, method = method, reason = reason },
      { store = store })
    assert.equal(200, answer.status)
    return ev
  end

  it("with the webhook's store, returns its verdict with no GET at all (rejected, approved)", function()
    local rcs = client()
    for _, case in ipairs { { "rejected", false, "반려" }, { "modified", true, "승인" }, { "created", true, "승인" } } do
      local id = new_brand()
      local store = hook_store()
      local t0 = os.time()
      notify(store, id, case[1], case[1] == "rejected" and "로고 불량" or nil)
      local res, err = rcs:wait_for_approval(id, { store = store, since = t0, fallback_interval = 3600, timeout = 60 })
      assert.is_nil(err and tostring(err))
      assert.equal(case[2], res.approved)
      assert.equal(case[3], res.brand_status)
      assert.equal(case[1] == "rejected" and "로고 불량" or nil, res.reason)
      assert.equal("webhook", res.source)
      assert.equal(case[1], res.notification.method)
      assert.equal(0, res.reads)
      assert.is_nil(res.brand)
    end
    assert.equal(0, reads() or 0)
    assert.equal(0, sb:stats().requests)
    rcs:close()
  end)

  it("returns when the notification arrives during the wait, looking at the store only", function()
    local id = new_brand()
    local store
    store = hook_store(function(n) if n == 4 then notify(store, id, "rejected", "사유") end end)
    local rcs = client()
    local res = assert(rcs:wait_for_approval(id, { store = store, fallback_interval = 3600, store_interval = 0.01 }))
    assert.is_false(res.approved)
    assert.equal("사유", res.reason)
    assert.equal(0, res.reads)
    assert.equal(4, store.gets())
    assert.equal(0, reads() or 0)
    rcs:close()
  end)

  it("falls back to reading the brand every fallback_interval when no notification comes", function()
    local id = new_brand()
    move(id, "승인", nil, 2)
    local rcs = client()
    local store = hook_store()
    local res = assert(rcs:wait_for_approval(id, { store = store, fallback_interval = 0.05, store_interval = 0.01 }))
    assert.is_true(res.approved)
    assert.equal("get_brand", res.source)
    assert.equal("승인", res.brand.status)
    assert.equal(3, res.reads)
    assert.equal(3, reads())
    assert.truthy(store.gets() >= 3)  -- looked before each read
    -- and it ends: no notification, a brand that stays pending
    local _, err = rcs:wait_for_approval(new_brand(), { store = hook_store(), fallback_interval = 0.1, timeout = 0.35 })
    assert.equal("WAIT_TIMEOUT", err.code)
    rcs:close()
  end)

  it("does not take a verdict received before since (an earlier review's)", function()
    local id = new_brand()
    local store = hook_store()
    notify(store, id, "rejected", "지난 심사")
    move(id, "승인", nil, 0)
    local rcs = client()
    local res = assert(rcs:wait_for_approval(id, { store = store, since = os.time() + 1, fallback_interval = 0.05,
      store_interval = 0.01 }))
    assert.is_true(res.approved)
    assert.equal("get_brand", res.source)
    assert.equal(1, reads())
    rcs:close()
  end)

  it("reads the brand at once on a notification without a verdict (deleted), or any with confirm", function()
    local rcs = client()
    local id = new_brand()
    local store = hook_store()
    local t0 = os.time()
    notify(store, id, "deleted")
    local _, err = rcs:wait_for_approval(id, { store = store, since = t0, fallback_interval = 3600, timeout = 0.3,
      store_interval = 0.05 })
    assert.equal("WAIT_TIMEOUT", err.code)
    assert.equal(1, reads())  -- the one read the notification asked for, none from the fallback
    id = new_brand()
    move(id, "반려", "서버의 사유", 0)
    store = hook_store()
    t0 = os.time()
    notify(store, id, "modified")
    local res = assert(rcs:wait_for_approval(id, { store = store, since = t0, confirm = true, fallback_interval = 3600 }))
    assert.is_false(res.approved)  -- the server's word, not the notification's
    assert.equal("서버의 사유", res.reason)
    assert.equal("get_brand", res.source)
    assert.equal(1, res.reads)
    assert.equal(2, reads())
    rcs:close()
  end)

  it("listens as a job too: no GET, the verdict once the notification is in the store", function()
    local id = new_brand()
    local store = hook_store()
    local rcs = client()
    local job = rcs:start("wait_for_approval", id, { store = store, fallback_interval = 3600, store_interval = 0.01 })
    poll_until(function() return store.gets() >= 3 end)
    assert.is_false(job.done)
    notify(store, id, "modified")
    poll_until(function() return job.done end)
    local res = assert(job:result())
    assert.is_true(res.approved)
    assert.equal(0, res.reads)
    assert.equal(0, reads() or 0)
    rcs:close()
  end)

  -- under OpenResty the handler stamps a verdict with ngx.time(), the event loop's cached
  -- clock, which lags os.time() across a second boundary: the default since must be read
  -- on that same clock, or a verdict arriving during the wait is passed over until a read
  it("takes a verdict arriving during the wait by the store's clock (ngx.time, cached behind os.time)", function()
    local id = new_brand()
    local rcs = client()
    local store
    store = hook_store(function(n) if n == 2 then notify(store, id, "rejected", "사유") end end)
    rawset(_G, "ngx", { time = function() return os.time() - 1 end })
    local ok, res, err = pcall(rcs.wait_for_approval, rcs, id,
      { store = store, fallback_interval = 3600, store_interval = 0.01, timeout = 5 })
    rawset(_G, "ngx", nil)
    assert.is_true(ok, tostring(res))
    assert.is_nil(err and tostring(err))
    assert.same({ false, "사유", "webhook", 0 }, { res.approved, res.reason, res.source, res.reads })
    assert.equal(0, reads() or 0)
    rcs:close()
  end)

  it("raises on wrong options", function()
    local rcs = client()
    for _, bad in ipairs { { interval = 0 }, { interval = -1 }, { timeout = 0 }, { interval = "60" },
      { timeout = math.huge }, { interval = 0 / 0 }, { intervall = 5 }, { brand_key = "BK.\r" },
      { store = {} }, { store = { get = 1 } }, { fallback_interval = 0 }, { store_interval = -1 }, { since = "now" },
      { since = 0 / 0 }, { confirm = "yes" } } do
      assert.has_error(function() rcs:wait_for_approval("BR.x", bad) end)
      assert.has_error(function() rcs:start("wait_for_approval", "BR.x", bad) end)
    end
    assert.has_error(function() rcs:wait_for_approval(5) end, "bizreg: brandId must be a string")
    assert.has_error(function() rcs:wait_for_approval("BR.x", 60) end)
    assert.equal(0, sb:stats().requests)
    rcs:close()
  end)
end)
