-- Every job finishes, and close() ends what waits (issue 16, items 6, 7 and 9):
-- close() wakes a sleeping job at once (CLIENT_CLOSED), close() inside a callback ends the
-- call with nil, CLIENT_CLOSED (no raise), a callback or token_store method that yields
-- inside a job is refused and the job ends, a raising store gives nil, err and frees its lock.
-- Nothing here waits on a clock: each test asserts on states and counts.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"

local IMAGES = { images = { { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } }
local KOS_TOKEN, API_KEY = "sandbox-kos-token", "11111111-2222-4333-8444-555555555555"

-- ngx.shared.DICT semantics over a table (no expiry: these tests never reach one);
-- fail = { get = "raise" | "yield", ... } makes that method misbehave.
local function store(fail)
  local data = {}
  local s = { data = data }
  local function bad(m)
    if fail[m] == "raise" then error("store " .. m .. " failed", 0) end
    if fail[m] == "yield" then coroutine.yield("from the store") end
  end
  function s.get(_, k) bad("get") return data[k], 0 end
  function s.set(_, k, v) bad("set") data[k] = v return true end
  function s.add(_, k, v)
    bad("add")
    if data[k] ~= nil then return false, "exists" end
    data[k] = v
    return true
  end
  function s.delete(_, k) bad("delete") data[k] = nil end
  return s
end

local function locks(s)
  local n = 0
  for k in pairs(s.data) do if k:find("^bizreg:lock:") then n = n + 1 end end
  return n
end

-- Polls (never sleeping more than 10 ms at a time) until f() is true; at most `tries` polls.
local function poll_until(f, tries)
  for _ = 1, tries or 2000 do
    if f() then return end
    bizreg.poll(0.01)
  end
  error("condition not reached")
end

-- io.stderr:write captured while f runs.
local function stderr_of(f)
  local real, out = io.stderr, {}
  io.stderr = { write = function(_, ...) for _, s in ipairs { ... } do out[#out + 1] = tostring(s) end end } -- luacheck: ignore
  local ok, e = pcall(f)
  io.stderr = real -- luacheck: ignore
  assert(ok, e)
  return table.concat(out)
end

describe("close() and jobs", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function rcs(extra)
    local o = { base_url = sb.rcs_url, token = "sandbox-rcs-token", person_id = "sandbox" }
    for k, v in pairs(extra or {}) do o[k] = v end
    return bizreg.rcs(o)
  end

  it("close() ends a sleeping 3,600 s wait_for_approval job at once: poll() returns 0, CLIENT_CLOSED", function()
    local id = sb:brands { count = 1 }[1]
    local c = rcs()
    local job = c:start("wait_for_approval", id, { interval = 3600 })
    poll_until(function() return job.wake ~= nil end)  -- white box: read once, now asleep for an hour
    assert.is_false(job.done)
    assert.equal(1, sb:stats().by_endpoint["rcs.get_brand"])
    c:close()
    local running, finished = bizreg.poll(0)
    assert.equal(0, running)
    assert.equal(job, finished[1])
    local res, err = job:result()
    assert.is_nil(res)
    assert.equal("CLIENT_CLOSED", err.code)
    assert.is_false(err.sent)
    assert.equal(1, sb:stats().by_endpoint["rcs.get_brand"])
  end)

  it("close() wakes only the closed client's jobs", function()
    local id = sb:brands { count = 1 }[1]
    local a, b = rcs(), rcs()
    local ja, jb = a:start("wait_for_approval", id, { interval = 3600 }), b:start("wait_for_approval", id, { interval = 3600 })
    poll_until(function() return ja.wake ~= nil and jb.wake ~= nil end)
    a:close()
    assert.equal(1, (bizreg.poll(0)))
    assert.is_true(ja.done)
    assert.is_false(jb.done)
    b:close()
    assert.equal(0, (bizreg.poll(0)))
    assert.equal("CLIENT_CLOSED", select(2, jb:result()).code)
  end)

  it("blocking: close() from the retry event of a 429 does not sleep the back-off", function()
    sb:config { fail_next = { status = 429, count = 5 } }
    local c
    c = bizreg.kos { base_url = sb.url, token = KOS_TOKEN, retries = 5,
      on_event = function(ev) if ev.type == "retry" then c:close() end end }
    local slept = 0
    c:sync_ctx().sleep = function() slept = slept + 1 end
    local res, err = c:register_visitor_images(IMAGES)
    assert.is_nil(res)
    assert.equal("CLIENT_CLOSED", err.code)
    assert.equal(0, slept)
    assert.equal(1, sb:stats().requests)
  end)

  it("close() from on_event before the request returns nil, CLIENT_CLOSED (blocking and job), nothing sent", function()
    local c
    c = bizreg.kos { base_url = sb.url, token = KOS_TOKEN,
      on_event = function(ev) if ev.type == "request" then c:close() end end }
    local ok, res, err = pcall(c.register_visitor_images, c, IMAGES)
    assert.is_true(ok, res)
    assert.is_nil(res)
    assert.equal("CLIENT_CLOSED", err.code)
    assert.is_false(err.sent)
    local j
    c = bizreg.kos { base_url = sb.url, token = KOS_TOKEN,
      on_event = function(ev) if ev.type == "request" then c:close() end end }
    j = c:start("register_visitor_images", IMAGES)
    poll_until(function() return j.done end)
    res, err = j:result()
    assert.is_nil(res)
    assert.equal("CLIENT_CLOSED", err.code)
    assert.equal(0, sb:stats().requests)
  end)

  it("an on_event hook that yields inside a job is refused: the job ends with its real outcome, poll() reaches 0", function()
    local c = bizreg.kos { base_url = sb.url, token = KOS_TOKEN, on_event = function() coroutine.yield("x") end }
    local job, running
    local msg = stderr_of(function()
      job = c:start("register_visitor_images", IMAGES)
      for _ = 1, 2000 do
        running = bizreg.poll(0.01)
        if running == 0 then break end
      end
    end)
    assert.equal(0, running)
    assert.is_true(job.done)
    local res, err = job:result()
    assert.is_nil(err and tostring(err))
    assert.same({}, res)
    assert.matches("on_event hook yielded", msg)
    assert.is_nil(c.on_event)  -- switched off, as for a hook that raises
    assert.equal(1, sb:stats().by_endpoint["kos.register_visitor_images"])
    c:close()
  end)

  it("any other yield inside a job (a query's metamethod) ends that job CALLBACK_ERROR; poll() never raises", function()
    local c = rcs()
    local o = setmetatable({}, { __index = function()
      local co, main = coroutine.running()
      if co and not main then coroutine.yield("not bizreg's") end  -- only inside the job
    end })
    local job = c:start("list_brands", o)  -- the job reads the query again
    local ok, e = pcall(poll_until, function() return bizreg.poll(0) == 0 end)
    assert.is_true(ok, e)
    if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then  -- PUC 5.1: such a yield raises itself
      assert.has_error(function() job:result() end)
      return c:close()
    end
    local res, err = job:result()
    assert.is_nil(res)
    assert.equal("CALLBACK_ERROR", err.code)
    assert.is_true(err.sent)  -- not known here: as any unknown outcome
    assert.equal(0, sb:stats().by_endpoint["rcs.list_brands"])
    c:close()
  end)

  for _, m in ipairs { "get", "add", "set" } do
    it("a token_store whose " .. m .. " yields inside a job: the job ends TOKEN_STORE_ERROR, lock freed, nothing sent", function()
      local s = store { [m] = "yield" }
      local c = bizreg.kos { base_url = sb.url, api_key = API_KEY, token_store = s }
      local job = c:start("register_visitor_images", IMAGES)
      local ok, e = pcall(poll_until, function() return bizreg.poll(0) == 0 end)
      assert.is_true(ok, e)
      local res, err = job:result()
      assert.is_nil(res)
      assert.equal("TOKEN_STORE_ERROR", err.code)
      assert.is_false(err.sent)
      assert.matches("yield", err.message)
      assert.equal(0, locks(s))
      assert.equal(0, sb:stats().by_endpoint["kos.register_visitor_images"])
      c:close()
    end)
  end

  for _, m in ipairs { "get", "add", "set", "delete" } do
    it("a token_store whose " .. m .. " raises: the blocking call returns nil, TOKEN_STORE_ERROR; no lock is left", function()
      local s = store { [m] = "raise" }
      local c = bizreg.kos { base_url = sb.url, api_key = API_KEY, token_store = s }
      local ok, res, err = pcall(c.register_visitor_images, c, IMAGES)
      assert.is_true(ok, res)
      assert.is_nil(res)
      assert.equal("TOKEN_STORE_ERROR", err.code)
      assert.is_false(err.sent)
      assert.matches("store " .. m .. " failed", err.message)
      if m ~= "delete" then assert.equal(0, locks(s)) end  -- a delete that raises cannot free it
      assert.equal(0, sb:stats().by_endpoint["kos.register_visitor_images"])
      c:close()
    end)
  end
end)
