-- RCS cancel_brand, delete_brand, update_brand offline: the edit form's exact bytes
-- (prepare_update_brand, the empty brandBackground part), each rule of the edit form at its
-- boundary (the brand form's rows; what differs from the POST), the path each call chooses
-- (never the other one after a refusal), the answers mapped, and argument checks raising at
-- the caller's position. Against the sandbox: spec/e2e/rcs_brand_edit_e2e_spec.lua.
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"

local THIS = debug.getinfo(1, "S").short_src
local ID = "BR.0a81DDlZjz"
local PID = "myaccount"

local function prepare(payload, opts)
  opts = opts or {}
  opts.person_id = opts.person_id or PID
  return bizreg.prepare_update_brand(ID, payload, opts)
end

-- "key|reason|code" of each violation ({} when it passes).
local function props(payload)
  local req, err = prepare(payload)
  if req then return {} end
  assert.same({ "validation", false }, { err.kind, err.sent })
  local out = {}
  for i, v in ipairs(err.errorProperties) do out[i] = v.key .. "|" .. v.reason .. "|" .. tostring(v.code) end
  return out
end

local function reg(over)
  local r = fx.brand().regBrand
  for k, v in pairs(over or {}) do r[k] = v end
  return r
end

-- The first byte where two bodies differ (binary bodies are not printed whole).
local function same_bytes(want, got)
  if want == got then return end
  local i = 1
  while want:byte(i) == got:byte(i) do i = i + 1 end
  error(string.format("bodies differ at byte %d (of %d / %d): want %q, got %q", i, #want, #got,
    want:sub(i, i + 40), got:sub(i, i + 40)), 2)
end

describe("RCS brand edit form (prepare_update_brand)", function()
  it("writes regBrand, mainMdn, brandProfile, brandBackground in the form's order, byte for byte", function()
    local png, jpg = fx.png(400, 400), fx.jpeg(500, 500)
    local r = reg()
    r.menus = nil
    local req = assert(prepare({ regBrand = r, mainMdn = "15225739",
      brandProfile = { data = png, filename = "p.png" }, brandBackground = { data = jpg, filename = "b.jpg" } },
      { boundary = "edit-0001" }))
    local b = "--edit-0001"
    local want = b .. '\r\nContent-Disposition: form-data; name="regBrand"\r\n\r\n'
      .. '{"regBrand":{"name":"테스트브랜드","description":"신규브랜드등록승인요청","tel":"09046123177",'
      .. '"categoryId":"EDU","subCategoryId":"EDU007"}}\r\n'
      .. b .. '\r\nContent-Disposition: form-data; name="mainMdn"\r\n\r\n15225739\r\n'
      .. b .. '\r\nContent-Disposition: form-data; name="brandProfile"; filename="p.png"\r\nContent-Type: image/png\r\n\r\n'
      .. png .. "\r\n"
      .. b .. '\r\nContent-Disposition: form-data; name="brandBackground"; filename="b.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
      .. jpg .. "\r\n" .. b .. "--\r\n"
    same_bytes(want, req.body)
    assert.same({ "PUT", "/corp/myaccount/brand/" .. ID, "multipart/form-data; boundary=edit-0001" },
      { req.method, req.path, req.headers["Content-Type"] })
  end)

  it("sends brandBackground = false as exactly an empty part (the yaml's removal), alone or with others", function()
    local req = assert(prepare({ brandBackground = false }, { boundary = "B" }))
    assert.equal('--B\r\nContent-Disposition: form-data; name="brandBackground"\r\n\r\n\r\n--B--\r\n', req.body)
    local png = fx.png(388, 388)
    req = assert(prepare({ brandProfile = { data = png, filename = "p.png" }, brandBackground = false }, { boundary = "B" }))
    same_bytes('--B\r\nContent-Disposition: form-data; name="brandProfile"; filename="p.png"\r\n'
      .. "Content-Type: image/png\r\n\r\n" .. png .. '\r\n--B\r\nContent-Disposition: form-data; name="brandBackground"'
      .. "\r\n\r\n\r\n--B--\r\n", req.body)
  end)

  it("needs at least one part: none is 64323 No changes before anything is sent", function()
    assert.same({ "payload|NoChanges|64323" }, props {})
    local _, err = prepare {}
    assert.equal("No changes", err.message)
    -- nil / null parts are absent
    assert.same({ "payload|NoChanges|64323" }, props { regBrand = nil, brandProfile = require("cjson").null })
    assert.same({}, props { mainMdn = "" })
  end)

  it("makes every part optional, keeps regBrand's own required fields and the brand form's rules", function()
    assert.same({}, props { regBrand = reg() })
    assert.same({}, props { brandProfile = { data = fx.png(400, 400) } })
    assert.same({ "regBrand.description|Required|64336" }, props { regBrand = reg { description = "" } })
    assert.same({}, props { regBrand = reg { name = ("가"):rep(20) } })
    assert.same({ "regBrand.name|TooLong|64304" }, props { regBrand = reg { name = ("가"):rep(21) } })
    assert.same({ "brandProfile|InvalidFileType|64332" }, props { brandProfile = { data = fx.jpeg(400, 400) } })
    assert.same({}, props { brandProfile = { data = fx.png(1080, 1080) } })
    assert.same({ "brandProfile|InvalidDimensions|64335" }, props { brandProfile = { data = fx.png(1081, 1081) } })
    assert.same({ "brandBackground|NotSquare|64394" }, props { brandBackground = { data = fx.jpeg(400, 401) } })
  end)

  it("differs from the POST: no chatbots or subNumCertificate; only false clears, and only the background", function()
    assert.same({ "chatbots|UnknownField|64397" }, props { brandBackground = false, chatbots = fx.chatbots(1) })
    assert.same({ "subNumCertificate|UnknownField|64397" },
      props { brandBackground = false, subNumCertificate = { data = fx.images.pdf(), filename = "c.pdf" } })
    assert.same({ "brandBackground|InvalidType|64333" }, props { brandBackground = true })
    assert.same({ "brandProfile|InvalidType|64332" }, props { brandProfile = false })
    -- the registration's form keeps its rules: no empty background there
    local p = fx.brand()
    p.brandBackground = false
    local _, err = bizreg.prepare_brand(p)
    assert.equal("64333", err.code)
  end)

  it("checks brandId (64316, nothing prepared) and raises for wrong arguments at the caller", function()
    local _, err = bizreg.prepare_update_brand("BR.abcdefghijk", { brandBackground = false }, { person_id = PID })
    assert.same({ "validation", "64316" }, { err.kind, err.code })
    assert.truthy(select(1, bizreg.prepare_update_brand("BR.abcdefghij", { brandBackground = false }, { person_id = PID })))
    for _, f in ipairs {
      function() bizreg.prepare_update_brand(ID, { brandBackground = false }) end,
      function() bizreg.prepare_update_brand(ID, { brandBackground = false }, { person_id = "" }) end,
      function() bizreg.prepare_update_brand(5, {}, { person_id = PID }) end,
      function() bizreg.prepare_update_brand(ID, "x", { person_id = PID }) end,
    } do
      local ok, e = pcall(f)
      assert.is_false(ok)
      assert.equal(THIS, tostring(e):match("^(.-):%d+: bizreg: "), tostring(e))
    end
  end)

  it("puts the personId in the path as one segment (%XX), dot segments escaped", function()
    assert.equal("/corp/a%2Fb/brand/" .. ID, prepare({ brandBackground = false }, { person_id = "a/b" }).path)
    assert.equal("/corp/%2E%2E/brand/" .. ID, prepare({ brandBackground = false }, { person_id = ".." }).path)
  end)
end)

describe("RCS cancel_brand / delete_brand / update_brand calls", function()
  local sent
  local answer
  local function client(extra)
    local o = { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1", person_id = PID,
      transport = function(req)
        sent[#sent + 1] = req.method .. " " .. req.url:gsub("^http://127%.0%.0%.1:9/api/1%.1", "")
        return answer
      end }
    for k, v in pairs(extra or {}) do o[k] = v end
    return bizreg.rcs(o)
  end
  local function ok_answer(result)
    return { status = 200, headers = {}, body = '{"code":"20000000","status":200,"result":[' .. result .. "]}" }
  end
  before_each(function() sent = {} answer = ok_answer('{"brandId":"' .. ID .. '"}') end)

  it("choose the path by the caller's approved option", function()
    local rcs = client()
    assert(rcs:cancel_brand(ID))
    assert(rcs:cancel_brand(ID, { approved = true }))
    assert(rcs:delete_brand(ID))
    assert(rcs:delete_brand(ID, { approved = false }))
    assert(rcs:delete_brand(ID, { approved = true }))
    answer = ok_answer('{"brandId":"' .. ID .. '","name":"n","status":"승인"}')
    assert(rcs:update_brand(ID, { brandBackground = false }))
    assert.same({
      "PUT /corp/brand/" .. ID .. "/cancel", "PUT /corp/myaccount/brand/" .. ID .. "/cancel",
      "DELETE /corp/brand/" .. ID, "DELETE /corp/brand/" .. ID, "DELETE /corp/myaccount/brand/" .. ID,
      "PUT /corp/myaccount/brand/" .. ID }, sent)
    rcs:close()
  end)

  it("never tries the other path after a refusal: one request, the code mapped with the next step", function()
    local rcs = client()
    local steps = require("bizreg.rcs_brand_edit").NEXT_STEP
    for code, call in pairs {
      ["64327"] = function() return rcs:delete_brand(ID) end,
      ["64351"] = function() return rcs:delete_brand(ID, { approved = true }) end,
      ["64321"] = function() return rcs:cancel_brand(ID) end,
      ["64328"] = function() return rcs:update_brand(ID, { brandBackground = false }) end,
    } do
      sent = {}
      answer = { status = 400, headers = {}, body = '{"error":{"code":"' .. code .. '","message":"srv"},"status":400}' }
      local res, err = call()
      assert.is_nil(res)
      assert.same({ "http", code, "srv: " .. steps[code] }, { err.kind, err.code, err.message })
      assert.equal(1, #sent, code)
    end
    -- a code without a next step keeps the server's message as it is
    answer = { status = 400, headers = {}, body = '{"error":{"code":"64323","message":"No changes"},"status":400}' }
    local _, err = rcs:update_brand(ID, { brandBackground = false })
    assert.same({ "64323", "No changes" }, { err.code, err.message })
    rcs:close()
  end)

  it("read the answer: brandId of another brand or none is an unknown outcome; the edit gives the BrandDetail", function()
    local rcs = client()
    for _, body in ipairs { '{"brandId":"BR.other"}', "", '{"brandId":5}' } do
      answer = ok_answer(body)
      local res, err = rcs:delete_brand(ID)
      assert.is_nil(res)
      assert.same({ "decode", true }, { err.kind, err.sent })
      assert.truthy(err.message:find("get_brand", 1, true))
    end
    answer = ok_answer('{"brandId":"' .. ID .. '","name":"새이름","status":"승인대기","description":"d"}')
    local res = assert(rcs:update_brand(ID, { regBrand = reg { name = "새이름" } }))
    assert.same({ ID, "승인대기", "새이름", "d" }, { res.brandId, res.brand.status, res.brand.name, res.brand.description })
    answer = ok_answer("")
    local _, err = rcs:update_brand(ID, { brandBackground = false })
    assert.same({ "decode", true }, { err.kind, err.sent })
    assert.truthy(err.message:find("the edit may have been applied", 1, true), err.message)
    rcs:close()
  end)

  it("raise at the caller for wrong arguments, options, and a missing person_id where the path needs it", function()
    local rcs = client()
    local anon = bizreg.rcs { base_url = "http://127.0.0.1:9/api/1.1", token = "static-token-1",  -- no person_id
      transport = function(req) sent[#sent + 1] = req.method .. " " .. req.url return answer end }
    for i, f in ipairs {
      function() rcs:cancel_brand(5) end,
      function() rcs:cancel_brand(ID, { approved = "yes" }) end,
      function() rcs:delete_brand(ID, { brand_key = "BK.x" }) end,
      function() rcs:delete_brand(ID, 7) end,
      function() rcs:update_brand(ID) end,
      function() rcs:update_brand(ID, {}, { approved = true }) end,
      function() rcs:start("delete_brand", ID, { nope = 1 }) end,
      function() anon:update_brand(ID, { brandBackground = false }) end,
      function() anon:delete_brand(ID, { approved = true }) end,
      function() anon:start("cancel_brand", ID, { approved = true }) end,
    } do
      local ok, e = pcall(f)
      assert.is_false(ok, "case " .. i)
      assert.equal(THIS, tostring(e):match("^(.-):%d+: bizreg: "), "case " .. i .. ": " .. tostring(e))
    end
    assert.equal(0, #sent)
    -- the never-approved paths need no account ID
    assert(anon:delete_brand(ID))
    assert(anon:cancel_brand(ID, { approved = false }))
    rcs:close()
    anon:close()
  end)
end)
