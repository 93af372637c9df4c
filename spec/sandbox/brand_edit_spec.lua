-- The sandbox's brand changes spoken to directly (luasocket): which status allows which call
-- (rcs_rules.ALLOWED_STATUS), each refusal's code, what each call leaves behind (저장 after a
-- cancel, the brand as before after an edit's cancel, gone after a delete), the edit's review
-- rule and the empty brandBackground part. The client's side: spec/e2e/rcs_brand_edit_e2e_spec.lua.
local sandbox = require "spec.helpers.sandbox"
local fx = require "spec.helpers.fixtures"

local json = sandbox.json
local AUTH = "Bearer sandbox-rcs-token"
local B = "sbx-edit"
local STATUSES = { "저장", "승인대기", "검수시작", "승인", "반려", "검수완료",
  "승인대기(수정)", "검수시작(수정)", "반려(수정)", "검수완료(수정)" }

describe("sandbox brand changes", function()
  local sb
  setup(function() sb = sandbox.start {} end)
  teardown(function() sb:stop() end)
  before_each(function() sb:reset() end)

  local function api(method, path, body, ctype)
    local headers = { authorization = AUTH }
    if ctype then headers["content-type"] = ctype end
    local st, out = sb:request(method, "/api/1.1" .. path, { headers = headers, body = body })
    return st, json.decode(out)
  end
  local function code(doc) return doc.error and doc.error.code end
  local function seed(status, doc)
    doc = doc or {}
    doc.status = status
    return sb:brands(doc)[1]
  end
  local function status_of(id)
    local st, doc = api("GET", "/corp/sandbox/brand/" .. id)
    if st ~= 200 then return nil, code(doc) end
    return doc.result[1].status, doc.result[1]
  end
  local function part(name, data, filename, ctype)
    return "--" .. B .. '\r\nContent-Disposition: form-data; name="' .. name .. '"'
      .. (filename and ('; filename="' .. filename .. '"') or "") .. "\r\n"
      .. (ctype and ("Content-Type: " .. ctype .. "\r\n") or "") .. "\r\n" .. data .. "\r\n"
  end
  local function edit(id, parts)
    return api("PUT", "/corp/sandbox/brand/" .. id, table.concat(parts) .. "--" .. B .. "--\r\n",
      "multipart/form-data; boundary=" .. B)
  end
  local function reg_part(over)
    local r = { name = "seeded name", description = "seeded", categoryId = "EDU", subCategoryId = "EDU007" }
    for k, v in pairs(over or {}) do r[k] = v end
    return part("regBrand", json.encode { regBrand = r })
  end

  -- each call x each status: allowed ones succeed, the others get the documented code
  it("allows each call in the statuses the yaml names, refuses the others with its code", function()
    local calls = {
      { "PUT", "/corp/brand/%s/cancel", { ["승인대기"] = true }, "64321" },
      { "PUT", "/corp/sandbox/brand/%s/cancel", { ["승인대기"] = true }, "64321" },
      { "DELETE", "/corp/brand/%s", { ["저장"] = true, ["반려"] = true }, "64327" },
      { "DELETE", "/corp/sandbox/brand/%s", { ["승인"] = true, ["반려"] = true, ["저장"] = true, ["반려(수정)"] = true }, "64327" },
    }
    for _, c in ipairs(calls) do
      for _, status in ipairs(STATUSES) do
        local id = seed(status)
        local st, doc = api(c[1], c[2]:format(id))
        local what = c[1] .. " " .. c[2] .. " " .. status
        if c[3][status] then
          assert.equal(200, st, what)
          assert.same({ { brandId = id } }, doc.result, what)
        else
          assert.same({ 400, c[4] }, { st, code(doc) }, what)
          assert.equal(status, status_of(id), what)
        end
      end
    end
    for _, status in ipairs(STATUSES) do
      local id = seed(status)
      local st, doc = edit(id, { reg_part { description = "new" } })
      local allowed = status == "승인" or status == "반려(수정)"
      assert.same(allowed and { 200, nil } or { 400, "64328" }, { st, code(doc) }, status)
    end
  end)

  it("cancel: a new brand becomes 저장; an edit's cancel restores the brand; /corp/brand/{id} refuses an edit's", function()
    local id = seed("승인대기")
    assert.equal(200, (api("PUT", "/corp/brand/" .. id .. "/cancel")))
    assert.equal("저장", status_of(id))
    local running = seed("승인", { name = "seeded name" })
    local st, doc = edit(running, { reg_part { name = "renamed" } })
    assert.same({ 200, "승인대기", "renamed" }, { st, doc.result[1].status, doc.result[1].name })
    st, doc = api("PUT", "/corp/brand/" .. running .. "/cancel")
    assert.same({ 400, "64321" }, { st, code(doc) })
    assert.equal(200, (api("PUT", "/corp/sandbox/brand/" .. running .. "/cancel")))
    local status, brand = status_of(running)
    assert.same({ "승인", "seeded name" }, { status, brand.name })
  end)

  it("delete: the brand is gone from GET (64316), the list, and every later call", function()
    local keep, gone = seed("저장"), seed("반려")
    assert.equal(200, (api("DELETE", "/corp/brand/" .. gone)))
    assert.same({ nil, "64316" }, { status_of(gone) })
    local _, list = api("GET", "/corp/sandbox/brand")
    assert.same({ keep }, { list.result[1].brandId, list.result[2] and list.result[2].brandId })
    assert.equal(1, list.pagination.total)
    for _, c in ipairs { { "DELETE", "/corp/brand/" }, { "PUT", "/corp/brand/", "/cancel" }, { "DELETE", "/corp/sandbox/brand/" } } do
      local st, doc = api(c[1], c[2] .. gone .. (c[3] or ""))
      assert.same({ 400, "64316" }, { st, code(doc) }, c[1] .. c[2])
    end
  end)

  it("delete of an approved brand: 64351 while it has chatbots, then allowed", function()
    local id = seed("승인")
    local body = part("chatbots", json.encode { chatbots = { { mdn = "0212345678", subTitle = "대표" } } })
      .. part("subNumCertificate", fx.images.pdf(), "c.pdf") .. "--" .. B .. "--\r\n"
    assert.equal(200, (api("POST", "/brand/" .. id .. "/chatbot", body, "multipart/form-data; boundary=" .. B)))
    local st, doc = api("DELETE", "/corp/sandbox/brand/" .. id)
    assert.same({ 400, "64351", "chatbot exists. need to delete all chatbot before deleting the brand" },
      { st, code(doc), doc.error.message })
    assert.equal("승인", status_of(id))
    assert.equal(200, (api("DELETE", "/corp/sandbox/brand/" .. seed("승인"))))
  end)

  -- the yaml: "승인을 받지 않은 '반려', '저장' 상태의 브랜드는 즉시 삭제 가능합니다"; only an approved
  -- brand must lose its sender numbers first
  it("delete of a never-approved brand (반려, 저장) with chatbots: at once, on both paths, the numbers with it", function()
    local body = part("chatbots", json.encode { chatbots = { { mdn = "0212345678", subTitle = "대표" } } })
      .. part("subNumCertificate", fx.images.pdf(), "c.pdf") .. "--" .. B .. "--\r\n"
    for _, c in ipairs { { "반려", "/corp/brand/" }, { "저장", "/corp/brand/" }, { "반려", "/corp/sandbox/brand/" } } do
      local id = seed(c[1])
      assert.equal(200, (api("POST", "/brand/" .. id .. "/chatbot", body, "multipart/form-data; boundary=" .. B)))
      local st, doc = api("DELETE", c[2] .. id)
      assert.same({ 200, id }, { st, doc.result and doc.result[1].brandId }, c[1] .. " " .. c[2] .. ": " .. tostring(code(doc)))
      assert.same({ nil, "64316" }, { status_of(id) })
      st, doc = api("GET", "/brand/" .. id .. "/chatbot")
      assert.same({ 400, "64316" }, { st, code(doc) })
    end
    -- an approved brand whose edit was rejected (반려(수정)) is approved: numbers first
    local id = seed("승인")
    assert.equal(200, (api("POST", "/brand/" .. id .. "/chatbot", body, "multipart/form-data; boundary=" .. B)))
    local st, doc = api("PUT", "/corp/sandbox/brand/" .. id, reg_part { name = "renamed" } .. "--" .. B .. "--\r\n",
      "multipart/form-data; boundary=" .. B)
    assert.equal(200, st, tostring(code(doc)))
    assert.equal(200, (sb:request("POST", "/_sandbox/brand-status",
      { body = json.encode { brandId = id, status = "반려(수정)", reason = "r" } })))
    st, doc = api("DELETE", "/corp/sandbox/brand/" .. id)
    assert.same({ 400, "64351" }, { st, code(doc) })
  end)

  it("edit: name or profile image -> 승인대기; other fields, background at once; nothing new -> 64323", function()
    local id = seed("승인", { name = "seeded name" })
    local st, doc = edit(id, { reg_part { description = "new text" } })
    assert.same({ 200, "승인", "new text" }, { st, doc.result[1].status, doc.result[1].description })
    st, doc = edit(id, { reg_part { description = "new text" } })
    assert.same({ 400, "64323", "No changes" }, { st, code(doc), doc.error.message })
    local bg = fx.png(400, 400)
    st, doc = edit(id, { part("brandBackground", bg, "bg.png", "image/png") })
    assert.same({ 200, "승인" }, { st, doc.result[1].status })
    st, doc = edit(id, { part("brandBackground", "") })  -- the form key alone removes it
    assert.same({ 200, "승인" }, { st, doc.result[1].status })
    st, doc = edit(id, { part("brandBackground", "") })  -- nothing left to remove
    assert.same({ 400, "64323" }, { st, code(doc) })
    st, doc = edit(id, { part("brandProfile", fx.png(500, 500), "p.png", "image/png") })
    assert.same({ 200, "승인대기" }, { st, doc.result[1].status })
    -- the brand form's rules still apply; parts the edit does not have are refused
    id = seed("승인")
    for _, c in ipairs {
      { { reg_part { name = "" } }, "64336" },
      { { part("brandProfile", fx.jpeg(400, 400), "p.jpg", "image/jpeg") }, "64332" },
      { { part("chatbots", "{}") }, "64397" },
      { { part("subNumCertificate", fx.images.pdf(), "c.pdf") }, "64397" },
    } do
      st, doc = edit(id, c[1])
      assert.same({ 400, c[2] }, { st, code(doc) })
    end
    assert.equal("승인", status_of(id))
  end)

  it("checks the personId (63002) and the brand's owner (63001) before the status", function()
    local id = seed("승인")
    local st, doc = api("DELETE", "/corp/someone/brand/" .. id)
    assert.same({ 403, "63002" }, { st, code(doc) })
    local foreign = seed("저장", { owner = "another-account" })
    st, doc = api("DELETE", "/corp/brand/" .. foreign)
    assert.same({ 403, "63001" }, { st, code(doc) })
    assert.equal(2, #json.decode(select(2, sb:request("GET", "/_sandbox/brands"))))
  end)
end)
