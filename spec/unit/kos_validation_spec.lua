-- KOS register_visitor_images: every validation rule, a failing and a passing boundary case.
local bizreg = require "bizreg"

local function ok_item(extra)
  local t = { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

-- "key|reason|index" for each violation, in walk order.
local function props(payload)
  local req, err = bizreg.prepare_visitor_images(payload)
  if req then return {} end
  assert.equal("validation", err.kind)
  local out = {}
  for i, p in ipairs(err.errorProperties) do out[i] = p.key .. "|" .. p.reason .. "|" .. tostring(p.index) end
  return out
end

local function passes(payload)
  local req, err = bizreg.prepare_visitor_images(payload)
  assert.is_nil(err and tostring(err))
  return req
end

describe("KOS validation", function()
  it("requires images to be a non-empty sequence of tables", function()
    assert.same({ "images|Required|nil" }, props {})
    assert.same({ "images|Required|nil" }, props { images = {} })
    assert.same({ "images|InvalidType|nil" }, props { images = "a.jpg" })
    assert.same({ "images|InvalidType|nil" }, props { images = { [1] = ok_item(), [3] = ok_item() } })
    assert.same({ "images|InvalidType|nil" }, props { images = { ok_item(), x = ok_item() } })
    assert.same({ "images|InvalidType|2" }, props { images = { ok_item(), "b.jpg" } })
    passes { images = { ok_item() } }
  end)

  it("rejects unknown keys (typo protection) at every level", function()
    assert.same({ "fileNmae|UnknownField|1" }, props { images = { ok_item { fileNmae = "x" } } })
    assert.same({ "equipment.colour|UnknownField|1" }, props { images = { ok_item { equipment = { colour = "RED" } } } })
    assert.same({ "imags|UnknownField|nil" }, props { images = { ok_item() }, imags = {} })
    assert.same({ "[1]|UnknownField|1" }, props { images = { ok_item { "positional" } } })
    passes { images = { ok_item {
      source = "HOSPITAL", scheduleId = "s", memo = "m", shootingDateTimeUtc = "2026-11-22T07:00:00.000Z",
      equipment = { id = "e", category = "IMAGE_EQUIPMENT", name = "n", order = 1, closed = false, color = "RED", default = true },
      category = { id = "c", category = "IMAGE_CATEGORY" } } } }
  end)

  it("requires non-empty fileName and visitorId", function()
    assert.same({ "fileName|Required|1", "visitorId|Required|1" }, props { images = { {} } })
    assert.same({ "fileName|Required|1", "visitorId|Required|1" }, props { images = { { fileName = "", visitorId = "" } } })
    passes { images = { { fileName = "x", visitorId = "y" } } }
  end)

  it("checks every field's type", function()
    assert.same({ "fileName|InvalidType|1" }, props { images = { ok_item { fileName = 5 } } })
    assert.same({ "memo|InvalidType|1" }, props { images = { ok_item { memo = true } } })
    assert.same({ "equipment|InvalidType|1" }, props { images = { ok_item { equipment = "e1" } } })
    assert.same({ "equipment.closed|InvalidType|1" }, props { images = { ok_item { equipment = { closed = "true" } } } })
    assert.same({ "category.default|InvalidType|1" }, props { images = { ok_item { category = { default = 1 } } } })
    assert.same({ "equipment.order|InvalidType|1" }, props { images = { ok_item { equipment = { order = 1.5 } } } })
    assert.same({ "equipment.order|InvalidType|1" }, props { images = { ok_item { equipment = { order = "1" } } } })
    passes { images = { ok_item { equipment = { closed = true, order = 7 }, category = { default = false } } } }
  end)

  it("keeps order within int32", function()
    assert.same({ "equipment.order|InvalidType|1" }, props { images = { ok_item { equipment = { order = 2147483648 } } } })
    assert.same({ "equipment.order|InvalidType|1" }, props { images = { ok_item { equipment = { order = -2147483649 } } } })
    local req = passes { images = { ok_item { equipment = { order = 2147483647 }, category = { order = -2147483648 } } } }
    assert.truthy(req.body:find('"order":2147483647', 1, true))
    assert.truthy(req.body:find('"order":-2147483648', 1, true))
  end)

  it("accepts an integral float for order (5.1/LuaJIT numbers, cjson-decoded tables)", function()
    local req = passes { images = { ok_item { equipment = { order = 3.0 } } } }
    assert.truthy(req.body:find('"order":3}', 1, true))
  end)

  it("accepts exactly the seed's enum values", function()
    assert.same({ "source|InvalidEnum|1" }, props { images = { ok_item { source = "hospital" } } })
    assert.same({ "equipment.category|InvalidEnum|1" }, props { images = { ok_item { equipment = { category = "IMAGE" } } } })
    assert.same({ "category.color|InvalidEnum|1" }, props { images = { ok_item { category = { color = "PINK" } } } })
    for _, v in ipairs { "VISITOR_IMAGE_SOURCE_UNSPECIFIED", "HOSPITAL", "VISITOR", "AGREEMENT", "PEN_CHART" } do
      passes { images = { ok_item { source = v } } }
    end
    for _, v in ipairs { "CodeColor_UNSPECIFIED", "RED", "LAVA", "ORANGE", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA", "GRAY" } do
      passes { images = { ok_item { equipment = { color = v } } } }
    end
    for _, v in ipairs { "CODE_CATEGORY_UNSPECIFIED", "FUNNEL", "EXPOSURE_CHANNEL", "ETCETRA_PRODUCT_CATEGORY", "IMAGE_EQUIPMENT",
      "CALL_CONSULTATION_RESULT", "IMAGE_CATEGORY", "FUNNEL_CATEGORY", "VISITOR_CATEGORY", "ACCOUNT_STATUS" } do
      passes { images = { ok_item { category = { category = v } } } }
    end
  end)

  it("limits memo to 150 code points, not bytes", function()
    passes { images = { ok_item { memo = string.rep("가", 150) } } }  -- 450 bytes
    assert.same({ "memo|TooLong|1" }, props { images = { ok_item { memo = string.rep("가", 151) } } })
    passes { images = { ok_item { memo = string.rep("😀", 150) } } }  -- 4-byte sequences
    assert.same({ "memo|TooLong|1" }, props { images = { ok_item { memo = string.rep("a", 151) } } })
  end)

  it("rejects malformed UTF-8 in any string", function()
    assert.same({ "memo|InvalidUtf8|1" }, props { images = { ok_item { memo = "\255" } } })
    assert.same({ "memo|InvalidUtf8|1" }, props { images = { ok_item { memo = "\192\128" } } })      -- overlong NUL
    assert.same({ "memo|InvalidUtf8|1" }, props { images = { ok_item { memo = "\237\160\128" } } }) -- surrogate
    assert.same({ "memo|InvalidUtf8|1" }, props { images = { ok_item { memo = "\234\176" } } })      -- truncated
    assert.same({ "equipment.name|InvalidUtf8|1" }, props { images = { ok_item { equipment = { name = "\244\144\128\128" } } } })
    passes { images = { ok_item { memo = "\244\143\191\191 한글 é" } } }  -- U+10FFFF is the last valid one
  end)

  it("requires an RFC 3339 shootingDateTimeUtc and normalises it to UTC", function()
    local function dt(v) return props { images = { ok_item { shootingDateTimeUtc = v } } } end
    local bad = { "2026-11-22 07:00:00", "2026-11-22", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
      "2026-11-22T24:00:00Z", "2026-11-22T07:00:00", "2026-11-22T07:00:00+0900", "2026-11-22T07:00:00.Z", "yesterday" }
    for _, v in ipairs(bad) do assert.same({ "shootingDateTimeUtc|NotAvailable|1" }, dt(v)) end
    local function sent(v)
      local req = passes { images = { ok_item { shootingDateTimeUtc = v } } }
      return req.body:match('"shootingDateTimeUtc":"([^"]*)"')
    end
    assert.equal("2024-02-29T00:00:00.000Z", sent "2024-02-29T00:00:00Z")
    assert.equal("2026-11-22T07:00:00.000Z", sent "2026-11-22T16:00:00+09:00")
    assert.equal("2026-11-21T22:30:00.123Z", sent "2026-11-22T07:00:00.123456+08:30")
    assert.equal("2026-11-22T07:00:00.500Z", sent "2026-11-22t07:00:00.5z")
  end)

  it("takes a number as Unix seconds", function()
    local function sent(v)
      local req = passes { images = { ok_item { shootingDateTimeUtc = v } } }
      return req.body:match('"shootingDateTimeUtc":"([^"]*)"')
    end
    assert.equal("1970-01-01T00:00:00.000Z", sent(0))
    assert.equal("2023-11-14T22:13:20.250Z", sent(1700000000.25))
    assert.same({ "shootingDateTimeUtc|NotAvailable|1" }, props { images = { ok_item { shootingDateTimeUtc = 1e15 } } })
    assert.same({ "shootingDateTimeUtc|NotAvailable|1" }, props { images = { ok_item { shootingDateTimeUtc = 0 / 0 } } })
  end)

  it("collects every violation of every item, with 1-based indexes", function()
    local p = props { images = {
      ok_item(),
      { fileName = "", visitorId = 1, memo = string.rep("x", 151) },
      ok_item { source = "?" },
    } }
    assert.same({ "fileName|Required|2", "visitorId|InvalidType|2", "memo|TooLong|2", "source|InvalidEnum|3" }, p)
  end)

  it("treats cjson.null as an absent field", function()
    local null = require("cjson").null
    local req = passes { images = { ok_item { memo = null, equipment = null } } }
    assert.equal('{"images":[{"fileName":"a.jpg","visitorId":"65a1b2c3d4e5f6a7b8c9d0e1"}]}', req.body)
    assert.same({ "fileName|Required|1" }, props { images = { ok_item { fileName = null } } })
  end)

  it("raises only for a payload that is not a table", function()
    assert.has_error(function() bizreg.prepare_visitor_images("x") end, "bizreg: payload must be a table")
    assert.has_error(function() bizreg.prepare_visitor_images() end)
  end)

  it("shapes the error like the server's and prints it on one line", function()
    local _, err = bizreg.prepare_visitor_images { images = { ok_item { memo = string.rep("가", 151) } } }
    assert.equal(400, err.status)
    assert.equal("InvalidCommandException", err.className)
    assert.equal("InvalidCommandException", err.message)
    assert.is_false(err.retryable)
    assert.same({ key = "memo", reason = "TooLong", index = 1 }, err.errorProperties[1])
    local line = tostring(err)
    assert.equal("bizreg validation error 400: InvalidCommandException — memo TooLong (item 1)", line)
  end)
end)
