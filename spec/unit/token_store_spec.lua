-- The token_store option (issue 11, section 4): clients with the same credentials share one
-- token through a store with ngx.shared.DICT's get/set/add/delete; one fetch at a time (a
-- lock key with its own expiry), waiters read the holder's token, secrets never stored,
-- a rejected token deleted only while the store still holds it. "Workers" here are clients
-- driven as coroutines over one fake RCS/KOS server; spec/checks/nginx.sh does it in nginx.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local fx = require "spec.helpers.fixtures"

local SECRET, ID, API_KEY = "SK.store-secret-0123", "acct-store", "11111111-2222-4333-8444-999999999999"
local IMAGES = { images = { { fileName = "a.jpg", visitorId = "v" } } }
local HERE = "^spec/unit/token_store_spec%.lua:%d+: "

-- ngx.shared.DICT semantics over a table; exptime honoured unless no_expiry.
local function table_store(no_expiry)
  local data, exp = {}, {}
  local s = { data = data, adds = 0 }
  local function live(k)
    if exp[k] and exp[k] <= core.now() then data[k], exp[k] = nil, nil end
    return data[k]
  end
  function s.get(_, k) return live(k), 0 end
  function s.set(_, k, v, t)
    data[k], exp[k] = v, (not no_expiry and t and t > 0) and core.now() + t or nil
    return true
  end
  function s.add(self, k, v, t)
    self.adds = self.adds + 1
    if live(k) ~= nil then return false, "exists" end
    return self:set(k, v, t)
  end
  function s.delete(_, k) data[k], exp[k] = nil, nil end
  return s
end

-- One fake server for every client: tokens "tok-srv-N" (the newest N only when only_latest),
-- a token call yields while hold_token; an API call yields while hold_api (in flight).
local function server(api)
  local srv = { token_calls = 0, api_calls = 0, valid = {}, used = {}, n = 0 }
  local token_path = api == "kos" and "exchange%-token$" or "/token$"
  function srv.transport(req)
    if req.url:find(token_path) then
      srv.token_calls = srv.token_calls + 1
      while srv.hold_token do coroutine.yield() end
      if srv.crash_token then error("worker killed", 0) end
      srv.n = srv.n + 1
      local tok = "tok-srv-" .. srv.n
      if srv.only_latest then srv.valid = {} end
      srv.valid[tok] = true
      if api == "kos" then return { status = 200, body = '{"token":"' .. tok .. '"}' } end
      return { status = 200, body = '{"accessToken":"' .. tok .. '","expiresIn":"3600"}' }
    end
    srv.api_calls = srv.api_calls + 1
    local tok = req.headers.Authorization:match("^Bearer (.+)$")
    srv.used[#srv.used + 1] = tok
    while srv.hold_api do coroutine.yield() end
    if not srv.valid[tok] then
      return { status = 401, body = '{"error":{"code":"61004","message":"Token has expired"},"status":401}' }
    end
    if api == "kos" then return { status = 200, body = "{}" } end
    return { status = 200, body = '{"code":"20000000","desc":null,"result":[{"brandId":"BR.s1"}],"status":200}' }
  end
  return srv
end

local BRAND
local function brand()
  BRAND = BRAND or fx.brand()
  return BRAND
end

-- A "worker": its own client over the shared server and store; sleeps yield (like ngx.sleep).
local function rcs_worker(srv, store, extra)
  local o = { base_url = "http://rcs.example/api/1.1", client_id = ID, client_secret = SECRET,
    transport = srv.transport, token_store = store }
  for k, v in pairs(extra or {}) do o[k] = v end
  local c = bizreg.rcs(o)
  c:sync_ctx().sleep = function() coroutine.yield() end
  return c
end

local function call(c)
  if c.register_brand then return c:register_brand(brand()) end
  return c:register_visitor_images(IMAGES)
end

-- Coroutines, one per client; resume(i) runs one step; finish() runs all to the end.
local function workers(clients)
  local w = { res = {}, err = {}, co = {} }
  for i, c in ipairs(clients) do
    w.co[i] = coroutine.create(function() w.res[i], w.err[i] = call(c) end)
  end
  function w.resume(i)
    local ok, e = coroutine.resume(w.co[i])
    assert(ok, e)
  end
  function w.finish()
    for _ = 1, 500 do
      local alive = false
      for i, co in ipairs(w.co) do
        if coroutine.status(co) ~= "dead" then alive = true; w.resume(i) end
      end
      if not alive then return end
    end
    error("the workers did not finish")
  end
  return w
end

-- err says nothing was sent, and the server saw only the holder's token call.
local function unsent(srv, err, code)
  assert.equal(code, err and err.code)
  assert.is_false(err.sent)
  assert.equal(1, srv.token_calls)
  assert.equal(0, srv.api_calls)
end

local function raises_here(f, pattern)
  local ok, msg = pcall(f)
  assert.is_false(ok, "did not raise")
  assert.matches(HERE .. "bizreg: ", msg)
  assert.matches(pattern, msg)
end

describe("token_store option", function()
  it("is checked at construction: a table with callable get, set, add and delete", function()
    local base = { base_url = "http://x", client_id = ID, client_secret = SECRET }
    local function with(store)
      local o = {}
      for k, v in pairs(base) do o[k] = v end
      o.token_store = store
      return o
    end
    raises_here(function() bizreg.rcs(with("dict")) end, "option 'token_store' must be a table")
    raises_here(function() bizreg.rcs(with({})) end, "'token_store' must have get, set, add and delete")
    local s = table_store()
    s.delete = nil
    raises_here(function() bizreg.rcs(with(s)) end, "must have get, set, add and delete")
    s.delete = "delete"
    raises_here(function() bizreg.rcs(with(s)) end, "must have get, set, add and delete")
    s.delete = setmetatable({}, { __call = function() end })  -- a callable table is fine
    assert.truthy(bizreg.rcs(with(s)))
    -- methods through a metatable, as ngx.shared.DICT has them
    local dict = setmetatable({}, { __index = table_store() })
    assert.truthy(bizreg.rcs(with(dict)))
    assert.truthy(bizreg.kos { base_url = "http://x", api_key = API_KEY, token_store = table_store() })
  end)

  it("is refused with a fixed token: there is nothing to fetch or share", function()
    raises_here(function() bizreg.rcs { base_url = "http://x", token = "token-t1", token_store = table_store() } end,
      "token_store .* needs client_id %+ client_secret")
    raises_here(function() bizreg.kos { base_url = "http://x", token = "token-t1", token_store = table_store() } end,
      "token_store .* needs api_key")
  end)

  it("gives clients with the same credentials one token (one token call for 5 clients)", function()
    local srv, store = server("rcs"), table_store()
    for _ = 1, 5 do
      local c = rcs_worker(srv, store)
      for _ = 1, 2 do assert.equal("BR.s1", assert(call(c)).brandId) end
    end
    assert.equal(1, srv.token_calls)
    assert.equal(10, srv.api_calls)
    for _, t in ipairs(srv.used) do assert.equal("tok-srv-1", t) end
  end)

  it("keeps other credentials and other base URLs apart", function()
    local srv, store = server("rcs"), table_store()
    assert(call(rcs_worker(srv, store)))
    assert(call(rcs_worker(srv, store, { base_url = "http://rcs.example/api/1.1/" })))  -- same, normalised
    assert.equal(1, srv.token_calls)
    assert(call(rcs_worker(srv, store, { base_url = "http://other.example/api/1.1" })))
    assert(call(rcs_worker(srv, store, { client_secret = SECRET .. "x" })))
    assert.equal(3, srv.token_calls)
  end)

  it("never stores a secret: only hashed keys, the token and its renewal time", function()
    local srv, store = server("rcs"), table_store()
    local ksrv = server("kos")
    assert(call(rcs_worker(srv, store)))
    local k = bizreg.kos { base_url = "http://kos.example", api_key = API_KEY, transport = ksrv.transport,
      token_store = store }
    assert(call(k))
    local n = 0
    for key, value in pairs(store.data) do
      n = n + 1
      for _, s in ipairs { SECRET, ID, API_KEY } do
        assert.is_nil(key:find(s, 1, true), "key " .. key)
        assert.is_nil(tostring(value):find(s, 1, true), "value of " .. key)
      end
      assert.matches("^bizreg:token:%x+$", key)
      assert.matches("^%d+ tok%-srv%-1$", value)
    end
    assert.equal(2, n)  -- one token per API; the locks are gone
  end)

  it("lets one client fetch while the others wait, then read its token", function()
    local srv, store = server("rcs"), table_store()
    srv.hold_token = true
    local clients = {}
    for i = 1, 4 do clients[i] = rcs_worker(srv, store) end
    local w = workers(clients)
    for _ = 1, 3 do for i = 1, 4 do w.resume(i) end end  -- 1 is in its fetch; 2-4 wait
    assert.equal(1, srv.token_calls)
    assert.equal(0, srv.api_calls)
    local adds = store.adds
    for i = 2, 4 do w.resume(i) end
    assert.is_true(store.adds > adds, "the waiters look at the lock again")
    srv.hold_token = false
    w.finish()
    for i = 1, 4 do assert.equal("BR.s1", w.res[i] and w.res[i].brandId, tostring(w.err[i])) end
    assert.equal(1, srv.token_calls)
    assert.same({ "tok-srv-1", "tok-srv-1", "tok-srv-1", "tok-srv-1" }, srv.used)
  end)

  it("a holder that died leaves a lock that expires: a waiter then fetches itself", function()
    for _, no_expiry in ipairs { false, true } do
      local srv, store = server("rcs"), table_store(no_expiry)
      srv.hold_token = true
      local opts = { timeout = 0.2, connect_timeout = 0.1, deadline = 10 }
      local dead = workers { rcs_worker(srv, store, opts) }
      dead.resume(1)  -- holds the lock, inside its token call, and is never resumed again
      srv.hold_token = false
      local b = bizreg.rcs { base_url = "http://rcs.example/api/1.1", client_id = ID, client_secret = SECRET,
        transport = srv.transport, token_store = store, timeout = 0.2, connect_timeout = 0.1, deadline = 10 }
      local t0 = core.now()
      local res, err = call(b)  -- main thread: its waits really sleep until the lock expires
      assert.equal("BR.s1", res and res.brandId, tostring(err))
      assert.equal(2, srv.token_calls)
      assert.is_true(core.now() - t0 < 8, "no hang")
    end
  end)

  -- Found by the nginx dead-holder check (issue 16): two requests of one worker waited for a
  -- dead worker's lock; when it expired, one took it and fetched, and the other, seeing its
  -- own client's fetch under way, fetched a second token beside it instead of waiting.
  it("after a dead holder's lock expires, two coroutines of one client fetch once, not twice", function()
    local srv, store = server("rcs"), table_store()
    srv.hold_token = true
    workers({ rcs_worker(srv, store) }).resume(1)  -- the dead worker: holds the lock, in its token call
    local b = rcs_worker(srv, store)
    local w = workers { b, b }  -- two requests of one other worker, on its one client
    w.resume(1)
    w.resume(2)
    assert.equal(1, srv.token_calls)  -- both wait for the lock
    for k in pairs(store.data) do
      if k:find("^bizreg:lock:") then store.data[k] = nil end  -- the dead holder's lock expires
    end
    w.resume(1)  -- takes the lock, in its token call
    assert.equal(2, srv.token_calls)
    w.resume(2)  -- must wait for it
    srv.hold_token = false
    w.finish()
    for i = 1, 2 do assert.equal("BR.s1", w.res[i] and w.res[i].brandId, tostring(w.err[i])) end
    assert.equal(2, srv.token_calls)
  end)

  it("a waiter whose deadline passes first ends DEADLINE_EXCEEDED, nothing sent", function()
    local srv, store = server("rcs"), table_store()
    srv.hold_token = true
    workers({ rcs_worker(srv, store) }).resume(1)  -- a live holder, lock for 40 s
    local b = bizreg.rcs { base_url = "http://rcs.example/api/1.1", client_id = ID, client_secret = SECRET,
      transport = srv.transport, token_store = store, deadline = 0.3 }
    local res, err = call(b)
    assert.is_nil(res)
    unsent(srv, err, "DEADLINE_EXCEEDED")
  end)

  it("the main thread does not wait for its own client's fetch in a coroutine (as without a store)", function()
    local srv, store = server("rcs"), table_store()
    srv.hold_token = true
    local c = rcs_worker(srv, store, { timeout = 30, connect_timeout = 10 })
    workers({ c }).resume(1)  -- a job of c holds the lock, inside its token call
    srv.hold_token = false
    local slept = {}  -- a wait would go through the context's sleep: counted, not timed
    c:sync_ctx().sleep = function(s) slept[#slept + 1] = s end
    local res, err = call(c)
    assert.equal("BR.s1", res and res.brandId, tostring(err))
    assert.same({}, slept, "waited for its own coroutine")
    assert.equal(2, srv.token_calls)
  end)

  it("a waiting client that is closed ends CLIENT_CLOSED, nothing sent", function()
    local srv, store = server("rcs"), table_store()
    srv.hold_token = true
    local a, b = rcs_worker(srv, store), rcs_worker(srv, store)
    local w = workers { a, b }
    w.resume(1)
    w.resume(2)  -- b waits for a's token
    b:close()
    w.resume(2)
    assert.equal("dead", coroutine.status(w.co[2]))
    unsent(srv, w.err[2], "CLIENT_CLOSED")
  end)

  it("a fetch that fails releases the lock: the next client tries at once", function()
    local srv, store = server("rcs"), table_store()
    srv.crash_token = true
    assert.has_error(function() call(rcs_worker(srv, store)) end, "worker killed")
    srv.crash_token = false
    local c = bizreg.rcs { base_url = "http://rcs.example/api/1.1", client_id = ID, client_secret = SECRET,
      transport = srv.transport, token_store = store }
    local slept = {}  -- a wait would go through the context's sleep: counted, not timed
    c:sync_ctx().sleep = function(s) slept[#slept + 1] = s end
    assert(call(c))
    assert.same({}, slept, "waited for a released lock")
    assert.equal(2, srv.token_calls)
  end)

  it("a store that cannot lock (full) still gets a token", function()
    local srv, store = server("rcs"), table_store()
    store.add = function() return false, "no memory" end
    assert(call(rcs_worker(srv, store)))
    assert.equal(1, srv.token_calls)
  end)

  it("a rejected token is renewed once for all, and deleted only while the store still holds it", function()
    local srv, store = server("rcs"), table_store()
    srv.only_latest = true  -- a new token kills the older ones: renewing each other away would loop
    local a, b = rcs_worker(srv, store), rcs_worker(srv, store)
    assert(call(a))
    srv.valid = {}  -- the server expires tok-1
    srv.hold_api = true
    local wb = workers { b }
    wb.resume(1)  -- b's request with tok-1 is in flight
    srv.hold_api = false
    local res, err = call(a)  -- a: 61004, renews to tok-2
    assert.equal("BR.s1", res and res.brandId, tostring(err))
    assert.equal(2, srv.token_calls)
    wb.finish()  -- b: 61004 for tok-1; the store holds tok-2, which stays and is used
    assert.equal("BR.s1", wb.res[1] and wb.res[1].brandId, tostring(wb.err[1]))
    assert.equal(2, srv.token_calls)
    assert.same({ "tok-srv-1", "tok-srv-1", "tok-srv-1", "tok-srv-2", "tok-srv-2" }, srv.used)
    assert(call(a))
    assert(call(b))
    assert.equal(2, srv.token_calls)
    local _, v = next(store.data)
    assert.matches(" tok%-srv%-2$", v)
  end)

  it("KOS: the exchanged token is shared, and renewed once after a 401", function()
    local srv, store = server("kos"), table_store()
    local clients = {}
    for i = 1, 3 do
      clients[i] = bizreg.kos { base_url = "http://kos.example", api_key = API_KEY, transport = srv.transport,
        token_store = store }
      assert.same({}, assert(call(clients[i])))
    end
    assert.equal(1, srv.token_calls)
    srv.valid = {}
    for i = 1, 3 do assert.same({}, assert(call(clients[i]))) end
    assert.equal(2, srv.token_calls)
  end)

  it("token events: only the client that fetched reports one; no event carries the token", function()
    local srv, store = server("rcs"), table_store()
    local seen = {}
    local function hook(ev) seen[#seen + 1] = ev end
    local a = rcs_worker(srv, store, { on_event = hook })
    local b = rcs_worker(srv, store, { on_event = hook })
    assert(call(a))
    assert(call(b))
    local tokens = {}
    for _, ev in ipairs(seen) do
      if ev.type == "token" then tokens[#tokens + 1] = ev.action end
      for _, v in pairs(ev) do assert.is_nil(tostring(v):find("tok-srv-1", 1, true)) end
    end
    assert.same({ "fetched" }, tokens)
  end)
end)
