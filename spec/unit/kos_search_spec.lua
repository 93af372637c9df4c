-- KOS search_visitors, offline: the exact JSON bytes, and every validation rule with a
-- failing and a passing boundary case (bizreg.prepare_search_visitors; rows in src/api_kos.c).
local bizreg = require "bizreg"

-- "key|reason" for each violation, in walk order ({} when the payload passes).
local function props(payload)
  local req, err = bizreg.prepare_search_visitors(payload)
  if req then return {} end
  assert.equal("validation", err.kind)
  assert.equal(400, err.status)
  assert.equal("InvalidCommandException", err.className)
  assert.is_false(err.sent)
  local out = {}
  for i, p in ipairs(err.errorProperties) do out[i] = p.key .. "|" .. p.reason end
  return out
end

local function body(payload)
  local req, err = bizreg.prepare_search_visitors(payload)
  assert.is_nil(err and tostring(err))
  return req.body
end

local function phone(cc, pn) return { phone = { countryCode = cc, phoneNumber = pn } } end

describe("KOS search_visitors: request", function()
  it("is a JSON POST to the documented path", function()
    local req = assert(bizreg.prepare_search_visitors { chartNumber = "12345" })
    assert.equal("POST", req.method)
    assert.equal("/visitor/open/v1/queries/search-visitors", req.path)
    assert.same({ ["Content-Type"] = "application/json" }, req.headers)
  end)

  it("writes the exact bytes, every field in the schema's order", function()
    assert.equal('{"offset":40,"limit":20,"partOfVisitorName":"김민","dateOfBirth":"1990-05-01 00:00:00.000Z",'
      .. '"chartNumber":"12345","email":"minji.kim@example.com","phone":{"countryCode":"82","phoneNumber":"1012345678"}}',
      body { phone = { phoneNumber = "1012345678", countryCode = "82" }, email = "minji.kim@example.com",
        chartNumber = "12345", dateOfBirth = "1990-05-01", partOfVisitorName = "김민", limit = 20, offset = 40 })
    assert.equal("{}", body {})
    assert.equal('{"chartNumber":"a\\"b\\\\c\\u0001"}', body { chartNumber = 'a"b\\c\1' })
  end)

  it("treats nil and cjson.null as not given", function()
    local null = require("cjson").null
    assert.equal('{"chartNumber":"7"}', body { chartNumber = "7", email = null, phone = null, offset = null })
  end)

  it("rejects unknown keys at both levels, and positional entries", function()
    assert.same({ "chartNo|UnknownField" }, props { chartNo = "1" })
    assert.same({ "phone.number|UnknownField" }, props { phone = { countryCode = "82", phoneNumber = "10", number = "1" } })
    assert.same({ "[1]|UnknownField" }, props { "12345" })
  end)

  it("checks every field's type", function()
    for _, k in ipairs { "partOfVisitorName", "dateOfBirth", "chartNumber", "email" } do
      assert.same({ k .. "|InvalidType" }, props { [k] = 12345 })
      assert.same({ k .. "|InvalidType" }, props { [k] = true })
    end
    assert.same({ "phone|InvalidType" }, props { phone = "01012345678" })
    assert.same({ "phone.countryCode|InvalidType", "phone.phoneNumber|InvalidType" }, props(phone(82, 1012345678)))
    assert.same({ "offset|InvalidType" }, props { offset = "0" })
    assert.same({ "limit|InvalidType" }, props { limit = 1.5 })
    assert.same({ "limit|InvalidType" }, props { limit = 0 / 0 })
    assert.same({ "chartNumber|InvalidUtf8" }, props { chartNumber = "\255" })
  end)

  it("keeps offset and limit within int32, offset >= 0 and limit >= 1", function()
    local big, over = 2147483647, 2147483648
    assert.same({ "offset|InvalidType" }, props { offset = over })
    assert.same({ "limit|InvalidType" }, props { limit = over })
    assert.same({ "offset|InvalidType" }, props { offset = -2147483649 })
    assert.same({ "offset|NotAvailable" }, props { offset = -1 })
    assert.same({ "offset|NotAvailable" }, props { offset = -2147483648 })
    assert.same({ "limit|NotAvailable" }, props { limit = 0 })
    assert.same({ "limit|NotAvailable" }, props { limit = -1 })
    assert.equal('{"offset":0,"limit":1}', body { offset = 0, limit = 1 })
    assert.equal('{"offset":2147483647,"limit":2147483647}', body { offset = big, limit = big })
    assert.equal('{"limit":3}', body { limit = 3.0 })  -- integral floats (5.1/LuaJIT, cjson)
  end)

  it("bounds the free-text fields (characters, not bytes)", function()
    for k, max in pairs { partOfVisitorName = 100, chartNumber = 50, email = 254 } do
      assert.same({}, props { [k] = string.rep("가", max) })
      assert.same({ k .. "|TooLong" }, props { [k] = string.rep("가", max + 1) })
    end
    assert.equal('{"chartNumber":""}', body { chartNumber = "" })  -- optional: empty is sent as given
  end)

  it("needs both phone parts: digits without a leading 0, 1-3 + up to 15 digits in all", function()
    assert.same({ "phone.countryCode|Required", "phone.phoneNumber|Required" }, props { phone = {} })
    assert.same({ "phone.countryCode|Required" }, props(phone("", "1012345678")))
    assert.same({ "phone.phoneNumber|Required" }, props { phone = { countryCode = "82" } })
    assert.same({ "phone.phoneNumber|InvalidFormat" }, props(phone("82", "01012345678")))  -- the trunk 0
    assert.same({ "phone.phoneNumber|InvalidFormat" }, props(phone("82", "10-1234-5678")))
    assert.same({ "phone.countryCode|InvalidFormat" }, props(phone("+82", "1012345678")))
    assert.same({ "phone.countryCode|InvalidFormat" }, props(phone("082", "1012345678")))
    assert.same({ "phone.countryCode|TooLong" }, props(phone("8210", "12345678")))
    assert.same({ "phone.phoneNumber|TooLong" }, props(phone("1", "123456789012345")))  -- 15 > 14
    assert.same({ "phone.phoneNumber|TooLong" }, props(phone("82", "12345678901231")))  -- 2 + 14 > 15
    assert.same({ "phone.phoneNumber|TooLong" }, props(phone("358", "1234567890123")))  -- 3 + 13 > 15
    assert.same({}, props(phone("1", "12345678901234")))   -- 1 + 14 = 15
    assert.same({}, props(phone("82", "1234567890123")))   -- 2 + 13 = 15
    assert.same({}, props(phone("358", "123456789012")))   -- 3 + 12 = 15
    assert.same({}, props(phone("82", "1")))
  end)

  it("accepts a date or the documented midnight form, and sends the documented form", function()
    local function dob(s) return body { dateOfBirth = s } end
    local want = '{"dateOfBirth":"1990-05-01 00:00:00.000Z"}'
    assert.equal(want, dob "1990-05-01")
    assert.equal(want, dob "1990-05-01 00:00:00.000Z")
    assert.equal(want, dob "1990-05-01T00:00:00.000Z")
    assert.equal('{"dateOfBirth":"2000-02-29 00:00:00.000Z"}', dob "2000-02-29")
    assert.equal('{"dateOfBirth":"0001-01-01 00:00:00.000Z"}', dob "0001-01-01")
    assert.equal('{"dateOfBirth":"9999-12-31 00:00:00.000Z"}', dob "9999-12-31")
    for _, bad in ipairs { "", "1990-5-1", "19900501", "1990/05/01", "1990-13-01", "1990-00-10", "1990-04-31",
      "1900-02-29", "2023-02-29", "0000-01-01", "1990-05-01 ", " 1990-05-01", "1990-05-01T00:00:00Z",
      "1990-05-01 00:00:00.000", "1990-05-01 09:00:00.000Z", "1990-05-01T00:00:00.000+09:00",
      "1990-05-01t00:00:00.000Z", "1990-05-01 00:00:00.000z", "1990-05-01x00:00:00.000Z", "1990-05-01\0" } do
      assert.same({ "dateOfBirth|NotAvailable" }, props { dateOfBirth = bad }, bad)
    end
    assert.same({ "dateOfBirth|InvalidType" }, props { dateOfBirth = 641520000 })  -- no Unix seconds for a day
  end)

  it("judges 20,000 generated dates like a plain reference (calendar, leap years, forms) #slow", function()
    local MDAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }
    local function ref(s)
      if #s ~= 10 and #s ~= 24 then return nil end
      local y, mo, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)")
      if not y or (#s == 24 and not s:sub(11):match("^[ T]00:00:00%.000Z$")) then return nil end
      y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
      if y < 1 or mo < 1 or mo > 12 or d < 1 then return nil end
      local leap = mo == 2 and ((y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0)
      if d > MDAYS[mo] + (leap and 1 or 0) then return nil end
      return s:sub(1, 10) .. " 00:00:00.000Z"
    end
    local CHARS = "0123456789-: TZ.tz+x\0"
    local YEARS = { 0, 1, 4, 100, 400, 1900, 2000, 2023, 2024, 9999 }
    math.randomseed(20261127)
    local accepted = 0
    for _ = 1, 20000 do
      local y = math.random(2) == 1 and YEARS[math.random(#YEARS)] or math.random(0, 9999)
      local s = string.format("%04d-%02d-%02d", y, math.random(0, 13), math.random(0, 32))
      local form = math.random(3)
      if form == 2 then s = s .. " 00:00:00.000Z" elseif form == 3 then s = s .. "T00:00:00.000Z" end
      if math.random(3) == 1 then  -- one character replaced, dropped or added
        local i, k = math.random(#s), math.random(#CHARS)
        local c = CHARS:sub(k, k)
        local how = math.random(3)
        if how == 1 then s = s:sub(1, i - 1) .. c .. s:sub(i + 1)
        elseif how == 2 then s = s:sub(1, i - 1) .. s:sub(i + 1)
        else s = s:sub(1, i) .. c .. s:sub(i + 1) end
      end
      local req = bizreg.prepare_search_visitors { dateOfBirth = s }
      local want = ref(s)
      if want then
        accepted = accepted + 1
        assert.equal('{"dateOfBirth":"' .. want .. '"}', req and req.body, s)
      else
        assert.is_nil(req, s)
      end
    end
    assert.is_true(accepted > 5000 and accepted < 15000, "accepted " .. accepted)
  end)

  it("reports every violation at once", function()
    assert.same({ "offset|NotAvailable", "limit|InvalidType", "dateOfBirth|NotAvailable", "chartNumber|TooLong",
      "phone.phoneNumber|InvalidFormat", "mail|UnknownField" },
      props { offset = -1, limit = 2 ^ 31, dateOfBirth = "1990-02-30", chartNumber = string.rep("1", 51),
        phone = { countryCode = "82", phoneNumber = "010" }, mail = "a@b" })
  end)

  it("raises only for a payload that is not a table", function()
    assert.has_error(function() bizreg.prepare_search_visitors("12345") end, "bizreg: payload must be a table")
    assert.has_error(function() bizreg.prepare_search_visitors() end, "bizreg: payload must be a table")
  end)
end)
