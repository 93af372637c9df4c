-- RCS brand reads against the sandbox: get_brand, list_brands / each_brand, find_brands,
-- brand_categories (+ register_brand's check_categories), brand_key and person_id.
-- wait_for_approval: spec/unit/rcs_wait_spec.lua.
local bizreg = require "bizreg"
local sandbox = require "spec.helpers.sandbox"
local helpers = require "spec.helpers.calls"
local fx = require "spec.helpers.fixtures"

local json = sandbox.json

describe("RCS brands", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function client(extra) return helpers.rcs_client(sb, extra) end

  -- Seeds brands straight into the sandbox: returns their ids.
  local function seed(doc) return sb:brands(doc) end

  local function count(ep) return sb:stats().by_endpoint[ep] end

  local function last_request() local r = sb:requests() return r[#r] end

  describe("get_brand", function()
    it("returns the BrandDetail of a registered brand, which starts at 승인대기", function()
      local rcs = client()
      local reg = assert(rcs:register_brand(fx.brand()))
      local res, err = rcs:get_brand(reg.brandId)
      assert.is_nil(err and tostring(err))
      assert.equal("20000000", res.code)
      assert.equal(200, res.status)
      assert.equal(reg.brandId, res.brand.brandId)
      assert.equal("승인대기", res.brand.status)
      assert.equal("테스트브랜드", res.brand.name)
      assert.equal("EDU", res.brand.categoryId)
      assert.equal("EDU007", res.brand.subCategoryId)
      assert.equal("신규브랜드등록승인요청", res.brand.description)
      assert.matches("^BK%.%w+$", res.brand.brandKey)
      assert.equal(18, #res.brand.brandKey)
      local r = last_request()
      assert.equal("GET", r.method)
      assert.equal("/api/1.1/corp/sandbox/brand/" .. reg.brandId, r.path)
      assert.is_nil(sb:headers()["x-rcs-brandkey"])
      rcs:close()
    end)

    it("gives the rejection reason of a rejected brand", function()
      local id = seed { name = "반려될브랜드" }[1]
      sb:request("POST", "/_sandbox/brand-status", { body = json.encode { brandId = id, status = "반려", reason = "로고 불일치" } })
      local rcs = client()
      local res = assert(rcs:get_brand(id))
      assert.equal("반려", res.brand.status)
      assert.equal("로고 불일치", res.brand.approvalReason)
      rcs:close()
    end)

    it("accepts a 13-character brandId and refuses 14, '' and other characters before sending", function()
      local rcs = client()
      local _, err = rcs:get_brand("BR.1234567890")  -- 13: sent; the sandbox does not know it
      assert.equal("http", err.kind)
      assert.equal("64316", err.code)
      assert.equal(1, count("rcs.get_brand"))
      for _, bad in ipairs { "BR.12345678901", "", "BR.a/b", "BR.a b", "BR.a\r\n" } do
        local res, verr = rcs:get_brand(bad)
        assert.is_nil(res)
        assert.equal("validation", verr.kind)
        assert.equal("64316", verr.code)
        assert.same({ key = "brandId", reason = "InvalidFormat", code = "64316", message = "Invalid brandId" },
          verr.errorProperties[1])
        assert.is_false(verr.sent)
      end
      assert.equal(1, count("rcs.get_brand"))
      assert.has_error(function() rcs:get_brand(42) end, "bizreg: brandId must be a string")
      assert.has_error(function() rcs:get_brand("BR.1", "x") end)
      assert.has_error(function() rcs:get_brand("BR.1", { brnad_key = "x" }) end)
      rcs:close()
    end)

    it("refuses the dot segments '.' and '..' as brandId on every brand-scoped call: nothing is sent", function()
      -- libcurl removes dot segments: GET /corp/acct/brand/. would read the brand LIST and
      -- POST /brand/../chatbot would become POST /chatbot
      local urls = {}
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        transport = function(req) urls[#urls + 1] = req.url return { status = 599, headers = {}, body = "" } end }
      local bots = { chatbots = fx.chatbots(1), subNumCertificate = { data = fx.images.pdf(), filename = "c.pdf" } }
      for _, id in ipairs { ".", ".." } do
        for name, call in pairs {
          get_brand = function() return rcs:get_brand(id) end,
          wait_for_approval = function() return rcs:wait_for_approval(id, { interval = 1, timeout = 1 }) end,
          resubmit_brand = function() return rcs:resubmit_brand(id, fx.brand()) end,
          register_chatbots = function() return rcs:register_chatbots(id, bots) end,
          prepare_chatbots = function() return bizreg.prepare_chatbots(id, bots) end,
        } do
          local res, err = call()
          assert.is_nil(res, name .. " " .. id)
          assert.equal("validation", err.kind, name .. " " .. id)
          assert.equal("64316", err.code, name .. " " .. id)
          assert.is_false(err.sent)
        end
      end
      assert.same({}, urls)
      rcs:close()
    end)

    it("maps 64316 (unknown brandId) and 63001 (another account's brand)", function()
      local rcs = client()
      local _, err = rcs:get_brand("BR.nosuch")
      assert.equal("http", err.kind)
      assert.equal(400, err.status)
      assert.equal("64316", err.code)
      assert.equal("Invalid brandId", err.message)
      assert.is_false(err.retryable)
      local foreign = seed { owner = "someoneelse" }[1]
      _, err = rcs:get_brand(foreign)
      assert.equal(403, err.status)
      assert.equal("63001", err.code)
      assert.equal("No Brand Permission", err.message)
      rcs:close()
    end)

    it("retries a 429 (Retry-After) within the retry budget, and maps 429 / 500 / 503 beyond it", function()
      local id = seed {}[1]
      local rcs = client { retries = 1 }
      sb:config { fail_next = { status = 429, count = 1, endpoint = "rcs.get_brand" } }
      assert(rcs:get_brand(id))
      assert.equal(2, count("rcs.get_brand"))
      rcs:close()
      rcs = client()
      for _, case in ipairs { { 429, true }, { 503, true }, { 500, false } } do
        sb:config { fail_next = { status = case[1], count = 1, endpoint = "rcs.get_brand" } }
        local _, err = rcs:get_brand(id)
        assert.equal("http", err.kind)
        assert.equal(case[1], err.status)
        assert.equal(case[2], err.retryable)
      end
      rcs:close()
    end)

    it("reads a 200 whose result is empty as a decode error (get_brand and wait_for_approval do not raise)", function()
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        transport = function()
          return { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[]}' }
        end }
      local res, err = rcs:get_brand("BR.x")
      assert.is_nil(res)
      assert.equal("decode", err.kind)
      assert.equal(200, err.status)
      local ok, wres, werr = pcall(rcs.wait_for_approval, rcs, "BR.x", { interval = 1, timeout = 1 })
      assert.is_true(ok, tostring(wres))
      assert.is_nil(wres)
      assert.equal("decode", werr.kind)
      rcs:close()
    end)

    -- wait_for_approval must never report another brand's verdict for this one
    it("reads an answer about another brand than the one asked for as a decode error", function()
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        transport = function()
          return { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[{"brandId":"BR.other","name":"n","status":"승인"}]}' }
        end }
      local res, err = rcs:get_brand("BR.x")
      assert.is_nil(res)
      assert.equal("decode", err.kind)
      assert.matches("BR.other", err.message, 1, true)
      local wres, werr = rcs:wait_for_approval("BR.x", { interval = 1, timeout = 1 })
      assert.is_nil(wres)
      assert.equal("decode", werr.kind)
      rcs:close()
    end)

    -- every result of the RCS answers is a JSON array: an object there is not an empty list
    -- (find_brands would say "not found" and its caller register the brand again)
    it("reads a result that is an object, not a list, as a decode error (lists, walks, find_brands)", function()
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        transport = function()
          return { status = 200, headers = {}, body = '{"code":"20000000","status":200,'
            .. '"result":{"brandId":"BR.x","name":"n","status":"승인","chatbotId":"0212345678"}}' }
        end }
      local _, err = rcs:list_brands()
      assert.equal("decode", err and err.kind)
      assert.matches("result is not a list", err.message, 1, true)
      _, err = rcs:find_brands { name = "n" }
      assert.equal("decode", err and err.kind)
      _, err = rcs:list_chatbots("BR.x")
      assert.equal("decode", err and err.kind)
      local got, errs = 0, {}
      for bot, e in rcs:each_chatbot("BR.x") do if bot then got = got + 1 else errs[#errs + 1] = e end end
      assert.same({ 0, 1, "decode" }, { got, #errs, errs[1].kind })
      _, err = rcs:get_brand("BR.x")
      assert.equal("decode", err and err.kind)
      rcs:close()
    end)

    it("keeps a field of the wrong type raw and names it in an answer event (issue 15)", function()
      local seen = {}
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        on_event = function(ev) if ev.type == "answer" then seen[#seen + 1] = ev end end,
        transport = function()
          return { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[{"brandId":"BR.x","name":"n","status":7}]}' }
        end }
      local res = assert(rcs:get_brand("BR.x"))
      assert.equal(7, res.brand.status)
      assert.same({ { type = "answer", fields = { "result[1].status" } } }, seen)
    end)
  end)

  it("reads one success envelope for every call: a null code or desc is absent", function()
    local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
      transport = function(req)
        local entry = req.url:find("/chatbot$") and '{"chatbotId":"BR.x_1"}' or '{"brandId":"BR.x","name":"n"}'
        return { status = 200, headers = {}, body = '{"code":null,"desc":null,"status":200,"result":[' .. entry .. "]}" }
      end }
    local bots = { chatbots = fx.chatbots(1), subNumCertificate = { data = fx.images.pdf(), filename = "c.pdf" } }
    for name, res in pairs { register_brand = rcs:register_brand(fx.brand()), get_brand = rcs:get_brand("BR.x"),
      list_brands = rcs:list_brands(), register_chatbots = rcs:register_chatbots("BR.x", bots) } do
      assert.is_table(res, name)
      assert.is_nil(res.code, name)
      assert.is_nil(res.desc, name)
      assert.equal(200, res.status, name)
    end
    rcs:close()
  end)

  describe("brand_key", function()
    -- The OpenAPI document (rcs-openapi-1.1.12.yaml) defines the header on the /brand/{brandId}/...
    -- operations only (here: the chatbot POST), not on /corp/...: issue 15 item 5.
    it("sends the client's brand_key as X-RCS-Brandkey on the chatbot calls only (where the spec defines it)", function()
      local rcs0 = client()
      local reg = assert(rcs0:register_brand(fx.brand()))
      local key = assert(rcs0:get_brand(reg.brandId)).brand.brandKey
      rcs0:close()
      local rcs = client { brand_key = key }
      assert(rcs:get_brand(reg.brandId))
      assert.is_nil(sb:headers()["x-rcs-brandkey"])
      assert(rcs:wait_for_approval(reg.brandId, { interval = 0.01, timeout = 0.01 }) or true)
      assert.is_nil(sb:headers()["x-rcs-brandkey"])
      assert(rcs:resubmit_brand(reg.brandId, fx.brand()))
      assert.is_nil(sb:headers()["x-rcs-brandkey"])
      local bots = { chatbots = { { mdn = "0215447000", subTitle = "키 확인" } }, subNumCertificate = "examples/brand/certificate.pdf" }
      assert(rcs:register_chatbots(reg.brandId, bots))
      assert.equal(key, sb:headers()["x-rcs-brandkey"])
      bots.chatbots[1].mdn = "0215447001"
      local _, err = rcs:register_chatbots(reg.brandId, bots, { brand_key = "BK.wrongwrongwrong" })
      assert.equal("64002", err.code)  -- the call's key wins, and the server judged it
      assert.equal("BK.wrongwrongwrong", sb:headers()["x-rcs-brandkey"])
      assert(rcs:list_brands())
      assert.is_nil(sb:headers()["x-rcs-brandkey"])
      assert(rcs:register_brand(fx.brand()))
      assert.is_nil(sb:headers()["x-rcs-brandkey"])
      rcs:close()
    end)

    it("refuses brand_key as a call option of the /corp/... calls (the spec defines no header there)", function()
      local c = client()
      assert.has_error(function() c:get_brand("BR.1", { brand_key = "BK.sb0000000000001" }) end)
      assert.has_error(function() c:start("get_brand", "BR.1", { brand_key = "BK.sb0000000000001" }) end)
      assert.has_error(function() c:resubmit_brand("BR.1", fx.brand(), { brand_key = "BK.sb0000000000001" }) end)
      assert.has_error(function() c:wait_for_approval("BR.1", { brand_key = "BK.sb0000000000001" }) end)
      assert.equal(0, sb:stats().requests)
      c:close()
    end)

    it("accepts 18 characters and raises on 19, '', CR, LF, NUL and non-strings", function()
      local k18 = "BK.123456789012345"
      assert.equal(18, #k18)
      local rcs = client { brand_key = k18 }
      rcs:close()
      for _, bad in ipairs { k18 .. "6", "", "BK.a\r", "BK.a\n", "BK.a\0", "BK. a" } do
        assert.has_error(function() client { brand_key = bad } end)
        local c = client()
        assert.has_error(function() c:register_chatbots("BR.1", {}, { brand_key = bad }) end)
        assert.has_error(function() c:start("register_chatbots", "BR.1", {}, { brand_key = bad }) end)
        c:close()
      end
      assert.has_error(function() client { brand_key = 5 } end)
      assert.equal(0, sb:stats().requests)
      local ok, msg = pcall(client, { brand_key = "BK.a\r\nX-Evil: 1" })
      assert.is_false(ok)
      assert.matches("contains CR, LF or NUL", msg)
    end)

    it("exposes rcs.brand_headers for other brand-scoped calls", function()
      local rcs_mod = require "bizreg.rcs"
      local c = client { brand_key = "BK.abc" }
      assert.same({ ["X-RCS-Brandkey"] = "BK.abc" }, rcs_mod.brand_headers(c, nil))
      assert.same({ ["X-RCS-Brandkey"] = "BK.def" }, rcs_mod.brand_headers(c, { brand_key = "BK.def" }))
      assert.same({}, rcs_mod.brand_headers(client(), {}))
      assert.has_error(function() rcs_mod.brand_headers(c, { brand_key = "BK.\n" }) end)
      c:close()
    end)
  end)

  describe("person_id", function()
    it("is the client_id by default, and required with a static token", function()
      local c = bizreg.rcs { base_url = sb.rcs_url, token = "sandbox-rcs-token" }
      for _, call in ipairs {
        function() c:get_brand("BR.1") end, function() c:list_brands() end,
        function() c:find_brands { name = "x" } end, function() c:each_brand() end,
        function() c:wait_for_approval("BR.1") end, function() c:start("list_brands") end,
      } do
        local ok, msg = pcall(call)
        assert.is_false(ok)
        assert.matches("needs the RBC account ID: give the option person_id", msg)
      end
      c:close()
      assert.equal(0, sb:stats().requests)
      local id = seed {}[1]
      c = bizreg.rcs { base_url = sb.rcs_url, token = "sandbox-rcs-token", person_id = "sandbox" }
      assert(c:get_brand(id))
      c:close()
    end)

    it("is percent-encoded in the path and checked at construction", function()
      local c = bizreg.rcs { base_url = sb.rcs_url, token = "sandbox-rcs-token", person_id = "a/b c" }
      local _, err = c:list_brands()
      assert.equal(403, err.status)
      assert.equal("63002", err.code)
      assert.equal("/api/1.1/corp/a%2Fb%20c/brand", last_request().path)
      c:close()
      assert.has_error(function() bizreg.rcs { base_url = sb.rcs_url, token = "token-t1", person_id = string.rep("a", 21) } end)
      assert.has_error(function() bizreg.rcs { base_url = sb.rcs_url, token = "token-t1", person_id = "" } end)
      assert.has_error(function() bizreg.rcs { base_url = sb.rcs_url, token = "token-t1", person_id = "a\nb" } end)
      assert.has_no_error(function() bizreg.rcs { base_url = sb.rcs_url, token = "token-t1", person_id = string.rep("a", 20) } end)
    end)

    it("is never a dot segment: person_id '.' / '..' raise, a client_id of dots is sent as %2E", function()
      for _, pid in ipairs { ".", ".." } do
        assert.has_error(function() bizreg.rcs { base_url = sb.rcs_url, token = "token-t1", person_id = pid } end)
      end
      local urls = {}
      local c = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "token-t1", person_id = "acct",
        transport = function(req) urls[#urls + 1] = req.url return { status = 500, headers = {}, body = "" } end }
      c:close()
      for _, cid in ipairs { ".", ".." } do
        c = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", client_id = cid, client_secret = "secret-1", retries = 0,
          transport = function(req)
            urls[#urls + 1] = req.url
            if req.url:find("/token$") then
              return { status = 200, headers = {}, body = '{"accessToken":"token-tok-1","expiresIn":"3600"}' }
            end
            return { status = 500, headers = {}, body = "" }
          end }
        c:list_brands()
        c:get_brand("BR.1")
        c:close()
      end
      assert.same({ "http://127.0.0.1:9/api/1.1/token", "http://127.0.0.1:9/api/1.1/corp/%2E/brand?offset=0&limit=100",
        "http://127.0.0.1:9/api/1.1/corp/%2E/brand/BR.1",
        "http://127.0.0.1:9/api/1.1/token", "http://127.0.0.1:9/api/1.1/corp/%2E%2E/brand?offset=0&limit=100",
        "http://127.0.0.1:9/api/1.1/corp/%2E%2E/brand/BR.1" }, urls)
    end)
  end)

  describe("list_brands and each_brand", function()
    it("returns one page with its pagination", function()
      seed { count = 250 }
      local rcs = client()
      local res, err = rcs:list_brands { offset = 0, limit = 100 }
      assert.is_nil(err and tostring(err))
      assert.equal(100, #res.brands)
      assert.same({ total = 250, offset = 0, limit = 100 }, res.pagination)
      assert.equal("BR.sb00000001", res.brands[1].brandId)
      assert.equal("승인대기", res.brands[1].status)
      assert.truthy(res.links.next)
      assert.is_nil(res.links.prev)
      assert.equal("/api/1.1/corp/sandbox/brand", last_request().path)
      res = assert(rcs:list_brands { offset = 200, limit = 100 })
      assert.equal(50, #res.brands)
      assert.equal("BR.sb00000201", res.brands[1].brandId)
      assert.is_nil(res.links.next)
      rcs:close()
    end)

    it("walks 250 brands in 3 pages of 100, each brand once", function()
      seed { count = 250 }
      seed { count = 3, owner = "someoneelse" }
      local rcs = client()
      local seen, n = {}, 0
      for brand, err in rcs:each_brand { limit = 100 } do
        assert.is_nil(err and tostring(err))
        assert.is_nil(seen[brand.brandId])
        seen[brand.brandId] = true
        n = n + 1
      end
      assert.equal(250, n)
      assert.equal(3, count("rcs.list_brands"))
      rcs:close()
    end)

    it("checks limit 100..1000 and offset >= 0 before sending; raises on wrong types", function()
      local rcs = client()
      for _, ok in ipairs { { limit = 100 }, { limit = 1000 }, { offset = 0 }, {}, nil } do
        assert(rcs:list_brands(ok))
      end
      local sent = count("rcs.list_brands")
      for _, case in ipairs { { { limit = 99 }, "limit:99" }, { { limit = 1001 }, "limit:1001" },
        { { offset = -1 }, "offset:-1" }, { { limit = 100.5 }, "limit:100.5" } } do
        local res, err = rcs:list_brands(case[1])
        assert.is_nil(res)
        assert.equal("validation", err.kind)
        assert.equal("64202", err.code)
        assert.equal("Invalid query parameter value (" .. case[2] .. ")", err.message)
      end
      assert.equal(sent, count("rcs.list_brands"))
      assert.has_error(function() rcs:list_brands { limit = "100" } end, "bizreg: query field 'limit' must be a number")
      assert.has_error(function() rcs:list_brands { page = 1 } end, "bizreg: unknown query field 'page'")
      assert.has_error(function() rcs:list_brands "all" end)
      assert.has_error(function() rcs:each_brand { limit = "x" } end)
      rcs:close()
    end)

    -- An offline client whose brand list answers ids(offset) (numbers i: brand BR.i named ni),
    -- with the JSON `extra` after the result; calls.n counts the GETs (a 500 after 20: no hang).
    local function listing(ids, extra)
      local calls = { n = 0 }
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        transport = function(req)
          calls.n = calls.n + 1
          if calls.n > 20 then return { status = 500, headers = {}, body = "stop" } end
          local offset, list = tonumber(req.url:match("offset=(%d+)")), {}
          for _, i in ipairs(ids(offset)) do
            list[#list + 1] = string.format('{"brandId":"BR.%d","name":"n%d","status":"승인"}', i, i)
          end
          return { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[' ..
            table.concat(list, ",") .. "]" .. (extra and extra(offset) or "") .. "}" }
        end }
      return rcs, calls
    end
    local function range(from, to) local t = {} for i = from, to do t[#t + 1] = i end return t end

    it("ends a walk whose pages do not advance (a server ignoring offset) with a decode error", function()
      -- the same full page of 100 at every offset, without pagination: each_brand and
      -- find_brands must stop at the first page that lists no new brand, not walk to 2^31
      local rcs, calls = listing(function() return range(1, 100) end)
      local got, errs = 0, {}
      for brand, err in rcs:each_brand() do
        if brand then got = got + 1 else errs[#errs + 1] = err end
      end
      assert.equal(100, got)
      assert.equal(1, #errs)
      assert.equal("decode", errs[1].kind)
      assert.matches("does not advance", errs[1].message)
      assert.equal(2, calls.n)
      calls.n = 0
      local res, err = rcs:find_brands { name = "n7" }
      assert.is_nil(res)
      assert.equal("decode", err.kind)
      assert.matches("does not advance", err.message)
      assert.equal(2, calls.n)
      rcs:close()
    end)

    it("walks on while pages are full, whatever a (wrong) total says: find_brands misses no brand", function()
      -- 250 brands, but the server's total says 100: stopping at the total would make
      -- find_brands miss brand 230 and its caller register that brand a second time
      local rcs, calls = listing(function(offset) return range(offset + 1, math.min(offset + 100, 250)) end,
        function(offset) return ',"pagination":{"total":100,"offset":' .. offset .. ',"limit":100}' end)
      local found = assert(rcs:find_brands { name = "n230" })
      assert.equal(1, #found.brands)
      assert.equal("BR.230", found.brands[1].brandId)
      assert.equal(3, calls.n)
      local n = 0
      for brand in rcs:each_brand() do if brand then n = n + 1 end end
      assert.equal(250, n)
      rcs:close()
    end)

    it("each_brand yields false, err once on a failing page, then ends", function()
      seed { count = 150 }
      local rcs = client()
      local got, errs = 0, {}
      sb:fault { endpoint = "rcs.list_brands", mode = "html_500", count = 1 }
      for brand, err in rcs:each_brand() do
        if brand then got = got + 1 else errs[#errs + 1] = err end
      end
      assert.equal(0, got)
      assert.equal(1, #errs)
      assert.equal(500, errs[1].status)
      local n = 0
      for brand, err in rcs:each_brand { limit = 99 } do
        n = n + 1
        assert.is_false(brand)
        assert.equal("validation", err.kind)
      end
      assert.equal(1, n)
      rcs:close()
    end)

    it("takes 204 No Content as an empty page", function()
      local rcs = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = "acct",
        transport = function() return { status = 204, headers = {}, body = "" } end }
      local res = assert(rcs:list_brands())
      assert.same({}, res.brands)
      local n = 0
      for _ in rcs:each_brand() do n = n + 1 end
      assert.equal(0, n)
    end)
  end)

  describe("find_brands", function()
    it("finds the brand a lost answer registered, exactly once, instead of registering it again", function()
      local rcs = client()
      local payload = fx.brand()
      payload.regBrand.name = "답을잃은브랜드"
      sb:fault { endpoint = "rcs.register_brand", mode = "reset_after_body", commit = true }
      local res, err = rcs:register_brand(payload)
      assert.is_nil(res)
      assert.equal("transport", err.kind)
      assert.is_true(err.sent)
      local found = assert(rcs:find_brands { name = "답을잃은브랜드" })
      assert.equal(1, #found.brands)
      assert.equal("답을잃은브랜드", found.brands[1].name)
      assert.equal(1, sb:stats().registered.brands)
      assert.equal(1, count("rcs.register_brand"))
      rcs:close()
    end)

    it("matches names exactly, across pages, within the account", function()
      seed { count = 230 }
      seed { count = 2, name = "같은이름" }
      seed { count = 1, name = "같은이름 " }
      seed { count = 1, name = "같은이름", owner = "someoneelse" }
      local rcs = client()
      local found = assert(rcs:find_brands { name = "같은이름", limit = 100 })
      assert.equal(2, #found.brands)
      assert.equal("BR.sb00000231", found.brands[1].brandId)
      assert.equal(3, found.pages)
      assert.same({}, assert(rcs:find_brands { name = "없는이름" }).brands)
      rcs:close()
    end)

    it("checks the name: '' and 21 characters are validation errors, 20 are fine, non-strings raise", function()
      local rcs = client()
      local twenty = string.rep("가", 20)
      seed { name = twenty }
      assert.equal(1, #assert(rcs:find_brands { name = twenty }).brands)
      local _, err = rcs:find_brands { name = twenty .. "가" }
      assert.equal("validation", err.kind)
      assert.equal("TooLong", err.errorProperties[1].reason)
      assert.equal("64304", err.code)  -- the brand form's row and message (src/api_rcs.c)
      assert.equal("Over specified size (name)", err.message)
      _, err = rcs:find_brands { name = "" }
      assert.equal("Required", err.errorProperties[1].reason)
      assert.equal("required value: [name]", err.message)
      _, err = rcs:find_brands { name = "x", limit = 5 }
      assert.equal("64202", err.code)
      assert.has_error(function() rcs:find_brands { name = 5 } end, "bizreg: find_brands: name must be a string")
      assert.has_error(function() rcs:find_brands() end)
      assert.has_error(function() rcs:find_brands { name = "x", nmae = "y" } end)
      rcs:close()
    end)

    it("runs as a job", function()
      seed { count = 120, name = "잡" }
      local rcs = client()
      local job = rcs:start("find_brands", { name = "잡" })
      local res, err = job:wait(30)
      assert.is_nil(err and tostring(err))
      assert.equal(120, #res.brands)
      rcs:close()
    end)
  end)

  it("examples/rcs_reconcile.lua: a lost answer, find_brands, one brand, 10 sender numbers, approved", function()
    local cli = require "spec.cli.run"
    cli.setup()
    local out = cli.dir .. "/reconcile.out"
    local ok = require("spec.helpers.shell").execute(string.format("%s examples/rcs_reconcile.lua %s >%s 2>&1",
      cli.lua, cli.q(sb.url), out))
    local text = cli.read(out)
    assert.is_true(ok, text)
    assert.truthy(text:find("register_brand: bizreg transport error [CONNECTION_DIED]", 1, true), text)
    assert.truthy(text:find("find_brands: 1 brand(s) named 다시보기치과", 1, true), text)
    assert.truthy(text:find("register_chatbots: 10 sender numbers added to BR.", 1, true), text)
    assert.truthy(text:find("wait_for_approval: approved (승인 after 3 reads)", 1, true), text)
    assert.equal(1, sb:stats().registered.brands)
    assert.equal(10, sb:stats().registered.chatbots)
    assert.equal(1, count("rcs.register_chatbots"))
    assert.equal(1, count("rcs.register_brand"))
  end)

  describe("brand_categories and check_categories", function()
    it("lists the categories and caches them per client", function()
      local rcs = client()
      local res = assert(rcs:brand_categories())
      assert.equal("20000000", res.code)
      local edu
      for _, c in ipairs(res.categories) do if c.categoryId == "EDU" then edu = c end end
      assert.equal("교육", edu.categoryName)
      local subs = {}
      for _, s in ipairs(edu.subCategories) do subs[s.subCategoryId] = true end
      assert.is_true(subs.EDU007)
      res.categories[1] = nil  -- the caller's copy; the cache stays
      assert.equal(#assert(rcs:brand_categories()).categories, #assert(rcs:brand_categories()).categories)
      assert.truthy(assert(rcs:brand_categories()).categories[1])
      assert.equal(1, count("rcs.brand_categories"))
      rcs:close()
      rcs = client { categories_ttl = 0 }
      assert(rcs:brand_categories())
      assert(rcs:brand_categories())
      assert.equal(3, count("rcs.brand_categories"))
      rcs:close()
      assert.has_error(function() client { categories_ttl = -1 } end)
      assert.has_error(function() client { categories_ttl = "1" } end)
      assert.has_error(function() client { check_categories = "yes" } end)
    end)

    it("check_categories refuses an unknown categoryId / subCategoryId with 64337 before sending", function()
      local rcs = client { check_categories = true }
      local p = fx.brand()
      p.regBrand.categoryId = "ZZZ"
      local res, err = rcs:register_brand(p)
      assert.is_nil(res)
      assert.equal("validation", err.kind)
      assert.equal("64337", err.code)
      assert.same({ key = "regBrand.categoryId", reason = "InvalidEnum", code = "64337",
        message = "Brand Creation Property Value Error (categoryId)" }, err.errorProperties[1])
      p.regBrand.categoryId, p.regBrand.subCategoryId = "EDU", "FIN001"
      res, err = rcs:register_brand(p)
      assert.is_nil(res)
      assert.equal("regBrand.subCategoryId", err.errorProperties[1].key)
      assert.equal(0, count("rcs.register_brand"))
      assert(rcs:register_brand(fx.brand()))
      assert(rcs:register_brand(fx.brand()))
      assert.equal(2, count("rcs.register_brand"))
      assert.equal(1, count("rcs.brand_categories"))  -- fetched once
      rcs:close()
    end)

    it("is off by default, and a per-call option overrides the client's", function()
      local rcs = client()
      local p = fx.brand()
      p.regBrand.categoryId = "ZZZ"
      local _, err = rcs:register_brand(p)
      assert.equal("http", err.kind)  -- the server judged it
      assert.equal(0, count("rcs.brand_categories"))
      _, err = rcs:register_brand(p, { check_categories = true })
      assert.equal("validation", err.kind)
      assert.equal(1, count("rcs.register_brand"))
      rcs:close()
      rcs = client { check_categories = true }
      _, err = rcs:register_brand(p, { check_categories = false })
      assert.equal("http", err.kind)
      assert.has_error(function() rcs:register_brand(p, { check_categories = 1 }) end)
      assert.has_error(function() rcs:register_brand(p, { brand_key = "BK.x" }) end)
      rcs:close()
    end)

    it("a failed categories fetch fails the call with sent = false: nothing of the brand left", function()
      local rcs = client { check_categories = true }
      sb:config { fail_next = { status = 500, count = 1, endpoint = "rcs.brand_categories" } }
      local res, err = rcs:register_brand(fx.brand())
      assert.is_nil(res)
      assert.equal(500, err.status)
      assert.is_false(err.sent)
      assert.matches("the brand was not sent", err.message)
      assert.equal(0, count("rcs.register_brand"))
      assert(rcs:register_brand(fx.brand()))
      rcs:close()
    end)
  end)
end)
