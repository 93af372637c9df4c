-- KOS request bodies: exact bytes, cjson round trip, and the seed's JSON Schema (ajv).
local bizreg = require "bizreg"
local cjson = require "cjson"
local shell = require "spec.helpers.shell"

local function body(payload)
  local req, err = bizreg.prepare_visitor_images(payload)
  assert.is_nil(err and tostring(err))
  return req.body
end

-- A deterministic generator of valid payloads exercising every field and escape.
local function generator(seed)
  local state = seed
  local function rnd(n)  -- small LCG: the same sequence on every Lua version
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n + 1
  end
  local pieces = { "a", "한", "é", "/", "\\", "\"", "\n", "\t", "\1", "\31", "😀", " ", "<b>", "" }
  local function str(maxn)
    local t = {}
    for i = 1, rnd(maxn) do t[i] = pieces[rnd(#pieces)] end
    return table.concat(t)
  end
  local enums = { "HOSPITAL", "VISITOR", "AGREEMENT", "PEN_CHART" }
  local colors = { "RED", "LAVA", "GRAY" }
  local function code()
    local c = { id = str(5) }
    if rnd(2) == 1 then c.order = rnd(4000000000) - 2000000000 end
    if rnd(2) == 1 then c.closed = rnd(2) == 1 end
    if rnd(2) == 1 then c.color = colors[rnd(#colors)] end
    if rnd(2) == 1 then c.default = false end
    return c
  end
  return function()
    local images = {}
    for i = 1, rnd(4) do
      local it = { fileName = "f" .. str(8), visitorId = "v" .. str(4) }
      if rnd(2) == 1 then it.source = enums[rnd(#enums)] end
      if rnd(2) == 1 then it.equipment = code() end
      if rnd(2) == 1 then it.category = code() end
      if rnd(2) == 1 then it.memo = str(30) end
      if rnd(2) == 1 then it.scheduleId = str(3) end
      if rnd(2) == 1 then it.shootingDateTimeUtc = rnd(2000000000) end
      images[i] = it
    end
    return { images = images }
  end
end

describe("KOS JSON", function()
  it("writes keys in the seed schema's order, whatever the table order", function()
    assert.equal(
      '{"images":[{"fileName":"a.jpg","visitorId":"v1","source":"HOSPITAL",' ..
      '"equipment":{"id":"e1","category":"IMAGE_EQUIPMENT","name":"CT","order":2,"closed":false,"color":"BLUE","default":true},' ..
      '"scheduleId":"s1","shootingDateTimeUtc":"2026-11-22T07:00:00.000Z","memo":"메모",' ..
      '"category":{"id":"c1","category":"IMAGE_CATEGORY"}}]}',
      body { images = { {
        category = { category = "IMAGE_CATEGORY", id = "c1" }, memo = "메모",
        shootingDateTimeUtc = "2026-11-22T07:00:00.000Z", scheduleId = "s1",
        equipment = { default = true, color = "BLUE", closed = false, order = 2, name = "CT", category = "IMAGE_EQUIPMENT", id = "e1" },
        source = "HOSPITAL", visitorId = "v1", fileName = "a.jpg",
      } } })
  end)

  it("sends raw UTF-8, leaves / alone and escapes quotes, backslashes and controls", function()
    assert.equal('{"images":[{"fileName":"x/y.jpg","visitorId":"v","memo":"한글 \\"q\\" \\\\ \\n\\r\\t\\b\\f\\u0001\\u001f 😀"}]}',
      body { images = { { fileName = "x/y.jpg", visitorId = "v", memo = "한글 \"q\" \\ \n\r\t\b\f\1\31 😀" } } })
  end)

  it("keeps empty Code objects as objects and arrays as arrays", function()
    assert.equal('{"images":[{"fileName":"a","visitorId":"b","equipment":{},"category":{}}]}',
      body { images = { { fileName = "a", visitorId = "b", equipment = {}, category = {} } } })
  end)

  it("writes several items in sequence order", function()
    assert.equal('{"images":[{"fileName":"1","visitorId":"v"},{"fileName":"2","visitorId":"v"},{"fileName":"3","visitorId":"v"}]}',
      body { images = { { fileName = "1", visitorId = "v" }, { fileName = "2", visitorId = "v" }, { fileName = "3", visitorId = "v" } } })
  end)

  it("round-trips through cjson.decode to the same values", function()
    local gen = generator(7)
    for _ = 1, 200 do
      local payload = gen()
      local decoded = cjson.decode(body(payload))
      for i, it in ipairs(payload.images) do
        local d = decoded.images[i]
        assert.equal(it.fileName, d.fileName)
        assert.equal(it.memo, d.memo)
        if it.equipment then
          assert.equal(it.equipment.id, d.equipment.id)
          assert.equal(it.equipment.order, it.equipment.order and math.floor(d.equipment.order + 0) or nil)
          assert.equal(it.equipment.closed, d.equipment.closed)
        end
        assert.equal(#payload.images, #decoded.images)
      end
    end
  end)

  it("produces bodies that pass the seed's JSON Schema (ajv)", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    local gen = generator(11)
    for _ = 1, 300 do f:write(body(gen()), "\n") end
    f:write(body { images = { { fileName = "a", visitorId = "b", equipment = { order = 2147483647 }, category = { order = -2147483648 } } } }, "\n")
    f:close()
    local p = assert(shell.popen("node spec/node/check_schema.js spec/fixtures/visitor-images.schema.json " .. path .. " 2>&1"))
    local out = p:read("*a")
    p:close()
    os.remove(path)
    assert.equal("301 valid, 0 invalid\n", out)
  end)

  it("the ajv check itself rejects a body that breaks the schema", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write('{"images":[{"fileName":"a","visitorId":"b","equipment":{"order":1.5}}]}\n', '{"images":{}}\n')
    f:close()
    local p = assert(shell.popen("node spec/node/check_schema.js spec/fixtures/visitor-images.schema.json " .. path .. " 2>/dev/null"))
    local out = p:read("*a")
    p:close()
    os.remove(path)
    assert.truthy(out:find("0 valid, 2 invalid", 1, true))
  end)
end)
