-- Secrets (token, api_key, client_secret) never reach a returned table or tostring,
-- whatever a server echoes back and however it escapes it (issue 7, item 3).
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"

local IMAGES = { images = { { fileName = "a.jpg", visitorId = "v" } } }

-- Independent of the library: JSON string escapes decoded (\uXXXX, surrogate pairs, \/ ...).
local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end
local SIMPLE = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
-- One left-to-right pass, as a JSON reader does (unknown escapes stay as they are).
local function unescape(s)
  local out, i = {}, 1
  while i <= #s do
    local c = s:sub(i, i)
    local nx = s:sub(i + 1, i + 1)
    local hex = c == "\\" and (nx == "u" or nx == "U") and s:match("^%x%x%x%x", i + 2)
    if c == "\\" and SIMPLE[nx] then
      out[#out + 1], i = SIMPLE[nx], i + 2
    elseif hex then
      local cp, lo = tonumber(hex, 16), s:match("^\\[uU](%x%x%x%x)", i + 6)
      lo = lo and tonumber(lo, 16)
      if cp >= 0xD800 and cp <= 0xDBFF and lo and lo >= 0xDC00 and lo <= 0xDFFF then
        out[#out + 1], i = utf8_char(0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)), i + 12
      else
        out[#out + 1], i = utf8_char(cp), i + 6
      end
    else
      out[#out + 1], i = c, i + 1
    end
  end
  return table.concat(out)
end

-- Fails if any secret appears in any string (key or value, raw or JSON-unescaped), in any
-- number's decimal form, or in tostring of any table with a __tostring.
local function assert_clean(v, secrets, where, seen)
  seen = seen or {}
  where = where or "value"
  local function check(s, at)
    for _, secret in ipairs(secrets) do
      assert(not s:find(secret, 1, true) and not unescape(s):find(secret, 1, true),
        "secret " .. secret .. " in " .. at .. ": " .. s)
    end
  end
  if type(v) == "string" then return check(v, where) end
  if type(v) == "number" then return check(tostring(v), where) end
  if type(v) ~= "table" or seen[v] then return end
  seen[v] = true
  local mt = getmetatable(v)
  if mt and mt.__tostring then check(tostring(v), "tostring(" .. where .. ")") end
  for k, x in next, v do
    if type(k) == "string" then check(k, where .. " key") end
    assert_clean(x, secrets, where .. "." .. tostring(k), seen)
  end
end

-- A transport that answers `status` with `template`, where %S is the secret the request
-- carries (the token after the scheme, or the api_key / clientSecret of a token request),
-- %U the same with every byte \u00XX-escaped, %J it as cjson writes it (/ as \/).
-- Token requests answer 200 with `issued` as the token unless echo_token is set.
local function reflector(status, template, opts)
  opts = opts or {}
  local calls = {}
  return function(req)
    calls[#calls + 1] = req
    local auth = req.headers.Authorization
    local secret = auth and auth:match("^%S+ (.*)$")
    local is_token = req.url:find("exchange%-token$") or req.url:find("/token$")
    if is_token then
      secret = req.body:match('"key":"([^"]*)"') or req.body:match('"clientSecret":"([^"]*)"')
      secret = secret:gsub("\\/", "/")
      if not opts.echo_token then
        return { status = 200, body = '{"token":"' .. opts.issued .. '","accessToken":"' .. opts.issued .. '"}' }
      end
    end
    local u = secret:gsub(".", function(c) return string.format("\\u%04X", c:byte()) end)
    local j = secret:gsub("/", "\\/")
    local body = template:gsub("%%([SUJ])", function(f) return f == "S" and secret or f == "U" and u or j end)
    return { status = status, headers = {}, body = body }
  end, calls
end

local function kos(token, transport, extra)
  local o = { base_url = "https://crm.example.invalid", token = token, transport = transport, retries = 0 }
  for k, v in pairs(extra or {}) do o[k] = v end
  return bizreg.kos(o)
end

local EVERY_KOS_FIELD = '{"className":"%S","message":"x %S y","errorProperties":[{"key":"images[0].%S","reason":"%S"},' ..
  '{"key":"memo","reason":"R","%S":1}],"%S":"k"}'

describe("secrets", function()
  local TOKEN = "tok/0123+secret"

  it("are scrubbed from every field of a KOS error: className, errorProperties keys/reasons, extra keys", function()
    for _, status in ipairs { 400, 401, 500 } do
      local _, err = kos(TOKEN, (reflector(status, EVERY_KOS_FIELD))):register_visitor_images(IMAGES)
      assert.equal(status, err.status)
      assert_clean(err, { TOKEN }, "err")
      assert.equal("***", err.className)
      assert.equal("***", err.errorProperties[1].key)
    end
  end)

  it("are scrubbed from an RCS error code and message, token and client_secret alike", function()
    local t = reflector(400, '{"error":{"code":"%S","message":"bad %S"}}', { issued = "issued-jwt-000111" })
    local rcs = bizreg.rcs { base_url = "https://rbc.example.invalid/api/1.1", client_id = "id",
      client_secret = "SK.client-secret-42", transport = t, retries = 0 }
    local _, err = rcs:register_brand(fx.brand())
    assert.equal(400, err.status)
    assert.equal("***", err.code)
    assert_clean(err, { "issued-jwt-000111", "SK.client-secret-42" }, "err")
    local t2 = reflector(401, '{"error":{"code":"%S","message":"%S"}}', { echo_token = true })
    rcs = bizreg.rcs { base_url = "https://rbc.example.invalid/api/1.1", client_id = "id",
      client_secret = "SK.client-secret-42", transport = t2 }
    _, err = rcs:register_brand(fx.brand())
    assert.equal(401, err.status)
    assert_clean(err, { "SK.client-secret-42" }, "err")
  end)

  it("are scrubbed when \\u-escaped (any case) or \\/-escaped in the raw body", function()
    for _, tpl in ipairs { '{"message":"%U"}', '{"message":"%J"}', '{"m":"a%Ub"}' } do
      local _, err = kos(TOKEN, (reflector(401, tpl))):register_visitor_images(IMAGES)
      assert_clean(err, { TOKEN }, "err")
      assert.truthy(err.body:find("***", 1, true), err.body)
    end
    local lower = function() return { status = 401, body = '{"m":"' ..
      TOKEN:gsub(".", function(c) return string.format("\\u%04x", c:byte()) end) .. '"}' } end
    local _, err = kos(TOKEN, lower):register_visitor_images(IMAGES)
    assert_clean(err, { TOKEN }, "err")
    -- mixed: some characters escaped, some raw, "/" as \/ and as \u002F
    local mixed = function() return { status = 401, body = '{"m":"t\\u006Fk\\/0123\\u002bsecret tok\\u002F0123+secret"}' } end
    _, err = kos(TOKEN, mixed):register_visitor_images(IMAGES)
    assert_clean(err, { TOKEN }, "err")
  end)

  it("are scrubbed before the body is cut to 4 KiB (no part of a secret straddling the cut)", function()
    for cut = 4080, 4096 do
      local body = '{"message":"' .. string.rep("x", cut - 12) .. TOKEN .. '"}'
      local _, err = kos(TOKEN, function() return { status = 500, body = body } end):register_visitor_images(IMAGES)
      assert.is_true(#err.body <= 4096 and #err.body > 4000)
      assert.is_nil(err.body:find(TOKEN:sub(1, 4), 1, true), "at " .. cut)
    end
  end)

  it("are scrubbed from a 2xx result (KOS and RCS)", function()
    local res, err = kos(TOKEN, (reflector(200, '{"echo":"%S","%S":["%S",{"k":"%U"}]}'))):register_visitor_images(IMAGES)
    assert.is_nil(err and tostring(err))
    assert.equal("***", res.echo)
    assert_clean(res, { TOKEN }, "res")
    local rcs = bizreg.rcs { base_url = "https://rbc.example.invalid/api/1.1", token = "jwt.static.token",
      transport = (reflector(200, '{"code":"20000000","status":200,"desc":"%S","result":[{"brandId":"BR.x","note":"%S"}]}')) }
    res, err = rcs:register_brand(fx.brand())
    assert.is_nil(err and tostring(err))
    assert.equal("BR.x", res.brandId)
    assert_clean(res, { "jwt.static.token" }, "res")
  end)

  it("include tokens fetched earlier (an echo of the token a 401 just replaced)", function()
    local n = 0
    local t = function(req)
      if req.url:find("exchange%-token$") then
        n = n + 1
        return { status = 200, body = '{"token":"issued-token-' .. n .. '"}' }
      end
      if req.headers.Authorization == "Bearer issued-token-1" then return { status = 401, body = "{}" } end
      return { status = 400, body = '{"message":"was issued-token-1, now ' .. req.headers.Authorization .. '"}' }
    end
    local c = bizreg.kos { base_url = "https://crm.example.invalid", api_key = "key-0000-1111", transport = t }
    local _, err = c:register_visitor_images(IMAGES)
    assert.equal(400, err.status)
    assert.equal(2, n)
    assert_clean(err, { "issued-token-1", "issued-token-2", "key-0000-1111" }, "err")
  end)

  -- A 1-byte token would be masked inside every word and key ("status" -> "s***a***us"):
  -- credentials shorter than 8 bytes are refused; 8 bytes are scrubbed, ordinary words kept.
  it("are refused below 8 bytes at construction; 8 bytes are scrubbed and ordinary keys stay intact", function()
    for _, short in ipairs { "Z", "Zq", "Zq9", "Zq9Zq9Z" } do
      assert.has_error(function() kos(short, reflector(200, "{}")) end,
        "bizreg: option 'token' is too short for a credential (at least 8 bytes)")
      assert.has_error(function() bizreg.kos { base_url = "http://x", api_key = short } end)
      assert.has_error(function() bizreg.rcs { base_url = "http://x", client_id = "acct", client_secret = short } end)
    end
    local token = "Zq9Zq9Zq"
    local _, err = kos(token, (reflector(400, '{"className":"%S","message":"a %S b"}'))):register_visitor_images(IMAGES)
    assert_clean(err, { token }, "err")
    assert.equal(400, err.status)
    assert.equal("a *** b", err.message)
  end)

  it("are scrubbed when echoed as a JSON number", function()
    local res = kos("98765432", (reflector(200, '{"n":%S,"m":[%S]}'))):register_visitor_images(IMAGES)
    assert_clean(res, { "98765432" }, "res")
  end)

  it("are scrubbed from keys and values of self-referencing results without looping", function()
    local errors = require "bizreg.errors"
    local t = { a = "x-secret-x", ["secret"] = { "secret" } }
    t.self = t
    t.secret[2] = t
    local out = errors.scrub(t, { "secret" })
    assert.equal(t, out)
    assert_clean(t, { "secret" }, "t")
    assert.equal("x-***-x", t.a)
  end)

  it("are masked in every raw and JSON-escaped form (generated strings, seeded)", function()
    local errors = require "bizreg.errors"
    local seed = tonumber(os.getenv("BIZREG_SEED") or "") or os.time()
    math.randomseed(seed)
    local alphabet = { "a", "b", "/", "\\", "*", '"', "u", "0", "\226\130\172", "\240\159\152\128" }
    local function pick(t) return t[math.random(#t)] end
    local function escaped(secret)  -- the secret as some JSON encoder could write it
      return (secret:gsub("[%z\1-\127\194-\244][\128-\191]*", function(ch)
        local r = math.random(4)
        if r == 1 then return ch end
        if ch == "/" and r == 2 then return "\\/" end
        if ch == "\\" or ch == '"' then return "\\" .. ch end
        local b1, b2, b3, b4 = ch:byte(1, -1)
        local cp = b1 < 0x80 and b1 or b1 < 0xE0 and (b1 - 0xC0) * 64 + (b2 - 0x80) or
          b1 < 0xF0 and ((b1 - 0xE0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80) or
          (((b1 - 0xF0) * 64 + (b2 - 0x80)) * 64 + (b3 - 0x80)) * 64 + (b4 - 0x80)
        local fmt = math.random(2) == 1 and "\\u%04x" or "\\u%04X"
        if cp < 0x10000 then return string.format(fmt, cp) end
        cp = cp - 0x10000
        return string.format(fmt .. fmt, 0xD800 + math.floor(cp / 1024), 0xDC00 + cp % 1024)
      end))
    end
    for _ = 1, 3000 do
      local secret = {}
      for i = 1, math.random(1, 6) do secret[i] = pick(alphabet) end
      secret = table.concat(secret)
      local parts = {}
      for i = 1, math.random(1, 8) do
        local r = math.random(4)
        parts[i] = r == 1 and secret or r == 2 and escaped(secret) or pick(alphabet) .. pick(alphabet)
      end
      local hay = table.concat(parts)
      local out = errors.scrub_string(hay, { secret })
      local ok = not out:find(secret, 1, true) and not unescape(out):find(secret, 1, true)
      assert(ok, string.format("seed %d: secret %q survives in %q (from %q)", seed, secret, out, hay))
    end
  end)

  it("never show in tostring, even across field boundaries", function()
    local errors = require "bizreg.errors"
    local e = errors.http(400, { code = "ab", message = "cd" })
    errors.scrub(e, { "ab]: cd" })
    assert.is_nil(tostring(e):find("ab]: cd", 1, true))
  end)

  it("with libcurl (blocking and jobs): a 2xx or decode-error echo of the Authorization header is scrubbed", function()
    local echo = require("spec.helpers.echo_server").start()
    local ok, e = pcall(function()
      local c = bizreg.kos { base_url = echo.base .. "/echo?x=", token = TOKEN }
      local res, err = c:register_visitor_images(IMAGES)
      assert.is_nil(err and tostring(err))
      assert.equal("Bearer ***", res.headers.authorization)
      assert_clean(res, { TOKEN }, "res")
      res, err = c:start("register_visitor_images", IMAGES):wait(10)
      assert.is_nil(err and tostring(err))
      assert_clean(res, { TOKEN }, "job res")
      c:close()
      -- RCS: the echo is no success envelope, so a decode error carrying the raw body (\/ escaped)
      local r = bizreg.rcs { base_url = echo.base .. "/echo?x=", token = TOKEN }
      for _, run in ipairs { function() return r:register_brand(fx.brand()) end,
                             function() return r:start("register_brand", fx.brand()):wait(10) end } do
        res, err = run()
        assert.is_nil(res)
        assert.equal("decode", err.kind)
        assert_clean(err, { TOKEN }, "err")
      end
      r:close()
    end)
    echo.stop()
    assert(ok, e)
  end)
end)

describe("credentials", function()
  it("are required at construction, and may not be empty", function()
    local base = "http://127.0.0.1:1"
    local cases = {
      function() bizreg.kos { base_url = base } end,
      function() bizreg.kos { base_url = base, token = "" } end,
      function() bizreg.kos { base_url = base, api_key = "" } end,
      function() bizreg.rcs { base_url = base } end,
      function() bizreg.rcs { base_url = base, token = "" } end,
      function() bizreg.rcs { base_url = base, client_id = "", client_secret = "secret-1" } end,
      function() bizreg.rcs { base_url = base, client_id = "i", client_secret = "" } end,
      function() bizreg.register_visitor_images({ base_url = base }, IMAGES) end,
    }
    for i, f in ipairs(cases) do
      local ok, msg = pcall(f)
      assert.is_false(ok, "case " .. i .. " did not raise")
      assert.matches("^spec/unit/secrets_spec%.lua:%d+: bizreg: ", msg)
    end
  end)
end)

-- Issue 16, item 8: scrubbing never changes the data a caller acts on.
describe("tokens from a server and identifiers", function()
  -- RCS over a fake server: /token answers `token`; a brand read answers brandId `id`.
  local function rcs_with(token, id, extra)
    local calls = { token = 0, api = 0 }
    local c = bizreg.rcs { base_url = "https://rbc.example.invalid/api/1.1", client_id = "acct",
      client_secret = "SK.client-secret-42", retries = 0, token_store = extra and extra.store,
      transport = function(req)
        if req.url:find("/token$") then
          calls.token = calls.token + 1
          return { status = 200, body = '{"accessToken":"' .. token .. '","expiresIn":"3600"}' }
        end
        calls.api = calls.api + 1
        local b = '{"brandId":"' .. id .. '","name":"' .. token .. ' clinic","brandKey":"BK.' .. token .. '"}'
        return { status = 200, body = '{"code":"20000000","status":200,"result":[' .. b .. ']}' }
      end }
    return c, calls
  end

  it("a token shorter than 8 bytes is refused as a token error: no call is made with it, no brandId masked", function()
    for _, short in ipairs { "B", "R", "Zq9Zq9Z" } do
      local c, calls = rcs_with(short, "BR.abc")
      local res, err = c:get_brand("BR.abc")
      assert.is_nil(res)
      assert.equal("decode", err.kind)
      assert.matches("usable accessToken", err.message)
      assert.same({ token = 1, api = 0 }, calls)
      c:close()
    end
    local k = bizreg.kos { base_url = "https://crm.example.invalid", api_key = "key-0000-1111", transport = function(req)
      if req.url:find("exchange%-token$") then return { status = 200, body = '{"token":"B"}' } end
      return { status = 200, body = '{"id":"BR.abc"}' }
    end }
    local res, err = k:register_visitor_images(IMAGES)
    assert.is_nil(res)
    assert.matches("usable token", err.message)
    k:close()
  end)

  it("a short token found in a token_store is not used: the client fetches its own", function()
    local data = {}
    local store = { get = function(_, key) return data[key] end, set = function(_, key, v) data[key] = v return true end,
      add = function(_, key, v) if data[key] then return false, "exists" end data[key] = v return true end,
      delete = function(_, key) data[key] = nil end }
    local c, calls = rcs_with("token-long-1", "BR.abc", { store = store })
    assert(c:get_brand("BR.abc"))  -- stores its token
    for key, v in pairs(data) do data[key] = v:gsub(" .*$", " B") end  -- someone wrote "B" over it
    local res = assert(c:get_brand("BR.abc"))
    assert.equal("BR.abc", res.brand.brandId)
    assert.equal(2, calls.token)
    c:close()
  end)

  it("a secret inside a brandId, brandKey or visitor id comes back intact; text fields are masked", function()
    local c = rcs_with("SECRET12", "BR.SECRET12xy")
    local res, err = c:get_brand("BR.SECRET12xy")
    assert.is_nil(err and tostring(err))
    assert.equal("BR.SECRET12xy", res.brand.brandId)
    assert.equal("BK.SECRET12", res.brand.brandKey)
    assert.equal("*** clinic", res.brand.name)
    res = assert(c:list_brands())
    assert.equal("BR.SECRET12xy", res.brands[1].brandId)
    assert.equal("*** clinic", res.brands[1].name)
    c:close()
    -- KOS: a visitor id holding the API key; the name holding it is masked
    local k = bizreg.kos { base_url = "https://crm.example.invalid", api_key = "key-0000-1111", transport = function(req)
      if req.url:find("exchange%-token$") then return { status = 200, body = '{"token":"kos-token-0001"}' } end
      return { status = 200, body = '{"data":[{"id":"v-key-0000-1111","name":"key-0000-1111 kim"}]}' }
    end }
    res, err = k:search_visitors { chartNumber = "12345" }
    assert.is_nil(err and tostring(err))
    assert.equal("v-key-0000-1111", res.visitors[1].id)
    assert.equal("*** kim", res.visitors[1].name)
    k:close()
  end)

  it("errors are still scrubbed everywhere, identifiers included (no data is returned there)", function()
    local c = bizreg.rcs { base_url = "https://rbc.example.invalid/api/1.1", token = "SECRET12", person_id = "acct",
      transport = function() return { status = 400, body = '{"error":{"code":"64316","message":"no BR.SECRET12"},"brandId":"SECRET12"}' } end }
    local _, err = c:get_brand("BR.x")
    assert_clean(err, { "SECRET12" }, "err")
    c:close()
  end)
end)
