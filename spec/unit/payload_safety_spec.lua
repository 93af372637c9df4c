-- Payload tables as the encoders read them: raw (no metamethod runs mid-encode), keys
-- compared with their length, every string the C side keeps a pointer to anchored.
-- Run under `make asan` too: the GC-pressure cases are where a dangling pointer shows.
local bizreg = require "bizreg"
local core = require "bizreg.core"
local fx = require "spec.helpers.fixtures"

local props = fx.brand_props  -- "key|reason|code" for each violation

local function kos_props(payload)
  local req, err = bizreg.prepare_visitor_images(payload)
  if req then return {} end
  local out = {}
  for i, p in ipairs(err.errorProperties) do out[i] = p.key .. "|" .. p.reason end
  return out
end

-- A copy of s in a fresh allocation (s .. "" can return s itself).
local function fresh(s) return table.concat { s:sub(1, 1), s:sub(2) } end

-- Objects whose finalizers allocate: every collection cycle runs Lua code and makes garbage.
local function finalizer_noise(n)
  for i = 1, n do
    setmetatable({}, { __gc = function() local _ = { string.rep("g", 64 + i % 7) } end })  -- garbage at once
  end
end

local KOS_ITEM = { fileName = "a.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" }

-- Runs f with the collector set to collect as often as possible: a pointer kept past its
-- anchor is freed at once. Each allocation then runs a whole cycle over the live heap, which
-- inside `make test` holds what every earlier spec file left reachable (busted keeps their
-- closures): keep the window to the calls under test, not the making of their inputs (a
-- test that built 6,000 finalizer objects inside it took 70 s there and 0.5 s alone).
local function under_pressure(f, ...)
  local pause = collectgarbage("setpause", 0)
  local stepmul = collectgarbage("setstepmul", 1000)
  local ok, a, b = pcall(f, ...)
  collectgarbage("setpause", pause)
  collectgarbage("setstepmul", stepmul)
  collectgarbage()
  if not ok then error(a, 0) end
  return a, b
end

describe("payload tables are read raw, in both APIs", function()

  it("ignores a file entry that only an __index metamethod provides (RCS)", function()
    local png = fx.png(400, 400)
    local calls = 0
    local p = fx.brand { brandProfile = false }
    setmetatable(p, { __index = function(_, k)
      calls = calls + 1
      finalizer_noise(50)
      collectgarbage()
      if k == "brandProfile" then
        -- a fresh table with fresh strings, referenced by nothing once returned
        return { data = fresh(png), filename = fresh("profile-from-index-" .. calls .. ".png") }
      end
    end })
    for _ = 1, 20 do
      assert.same({ "brandProfile|Required|64329" }, under_pressure(props, p))
    end
    assert.equal(0, calls)
  end)

  it("ignores __index on a file spec table and on regBrand (RCS)", function()
    local png = fx.png(400, 400)
    local spec = setmetatable({}, { __index = function(_, k)
      collectgarbage()
      if k == "data" then return fresh(png) end
      if k == "path" then return fresh(fx.file("profile-400.png", function() return png end)) end
      if k == "filename" then return fresh("x.png") end
    end })
    assert.same({ "brandProfile|InvalidType|64332" }, under_pressure(props, fx.brand { brandProfile = spec }))
    local p = fx.brand { regBrand = false }
    setmetatable(p, { __index = { regBrand = fx.brand().regBrand } })
    assert.same({ "regBrand|Required|64336" }, under_pressure(props, p))
    local reg = setmetatable({}, { __index = fx.brand().regBrand })
    local got = under_pressure(props, fx.brand { regBrand = reg })
    assert.is_true(#got > 0)
    for _, v in ipairs(got) do assert.matches("|Required|64336$", v) end
  end)

  it("ignores __index on a menu item when checking initFeedItems against the menus (RCS)", function()
    local item = setmetatable({}, { __index = function() error("metamethod ran mid-encode") end })
    local p = fx.brand()
    p.regBrand.menus = { item }
    p.regBrand.initFeedItems = { "web" }
    local got = under_pressure(props, p)
    assert.same({ "regBrand.menus[1].buttonType|Required|64336", "regBrand.initFeedItems[1]|NotInMenus|64337" }, got)
  end)

  it("ignores __index, __len and __pairs (KOS)", function()
    local mt = {
      __index = function() error("metamethod ran mid-encode") end,
      __len = function() error("metamethod ran mid-encode") end,
      __pairs = function() error("metamethod ran mid-encode") end,
    }
    assert.same({ "images|Required" }, under_pressure(kos_props, { images = setmetatable({}, mt) }))
    assert.same({ "fileName|Required", "visitorId|Required" }, under_pressure(kos_props, { images = { setmetatable({}, mt) } }))
    assert.same({ "images|Required" }, under_pressure(kos_props, setmetatable({}, mt)))
  end)

  it("keeps every file string alive while the body is built, under finalizer pressure #slow", function()
    local png = fx.png(400, 400)
    local path = fx.file("profile-400.png", function() return png end)
    local want = assert(bizreg.prepare_brand(fx.brand { brandProfile = { data = png, filename = "f.png" } },
      { boundary = "b0undary" })).body
    for i = 1, 30 do
      local p = fx.brand {}
      -- fresh strings reachable only through the payload while finalizers run
      p.brandProfile = (i % 2 == 0) and { path = fresh(path), filename = fresh("f.png") }
        or { data = fresh(png), filename = fresh("f.png") }
      finalizer_noise(200)  -- garbage whose finalizers run, and allocate, inside the encode below
      local req, err = under_pressure(bizreg.prepare_brand, p, { boundary = fresh("b0undary") })
      assert.is_nil(err and tostring(err))
      assert.equal(want, req.body)
    end
  end)
end)

describe("keys are compared with their length", function()
  it("rejects a top-level key with an embedded NUL (RCS)", function()
    local p = fx.brand()
    p["regBrand\0x"] = p.regBrand
    assert.same({ "regBrand\0x|UnknownField|64397" }, props(p))
    p = fx.brand()
    p["brandProfile\0"] = p.brandProfile
    assert.same({ "brandProfile\0|UnknownField|64397" }, props(p))
  end)

  it("rejects a nested key with an embedded NUL (RCS)", function()
    local p = fx.brand()
    p.regBrand["name\0x"] = "x"
    assert.same({ "regBrand.name\0x|UnknownField|64397" }, props(p))
    p = fx.brand { chatbots = { { mdn = "0212345678", subTitle = "t", ["mdn\0"] = "1" } },
      subNumCertificate = { data = fx.images.pdf() } }
    assert.same({ "chatbots[1].mdn\0|UnknownField|64397" }, props(p))
  end)

  it("rejects keys with an embedded NUL at every level (KOS)", function()
    assert.same({ "images\0x|UnknownField" }, kos_props { images = { KOS_ITEM }, ["images\0x"] = {} })
    local item = { fileName = "a.jpg", visitorId = "v", ["memo\0"] = "m" }
    assert.same({ "memo\0|UnknownField" }, kos_props { images = { item } })
    item = { fileName = "a.jpg", visitorId = "v", equipment = { ["id\0x"] = "1" } }
    assert.same({ "equipment.id\0x|UnknownField" }, kos_props { images = { item } })
  end)

  it("does not take a value with an embedded NUL for an enum or a buttonType", function()
    local p = fx.brand()
    p.regBrand.menus = { { buttonType = "call\0x" } }
    assert.same({ "regBrand.menus[1].buttonType|InvalidEnum|64337" }, props(p))
    p = fx.brand()
    p.regBrand.menus = { { buttonType = "web\0", weblink = "https://a.example" } }
    p.regBrand.initFeedItems = { "web" }
    assert.same({ "regBrand.menus[1].buttonType|InvalidEnum|64337", "regBrand.initFeedItems[1]|NotInMenus|64337" },
      props(p))
  end)
end)

describe("file paths", function()
  it("rejects a path with an embedded NUL instead of cutting it (Unreadable)", function()
    local path = fx.file("profile-400.png", function() return fx.png(400, 400) end)
    for _, spec in ipairs { path .. "\0.pdf", { path = path .. "\0" }, { path = path .. "\0x", filename = "p.png" } } do
      local _, err = bizreg.prepare_brand(fx.brand { brandProfile = spec })
      assert.truthy(err, "a path with NUL was accepted")
      assert.equal(1, #err.errorProperties)
      assert.equal("brandProfile", err.errorProperties[1].key)
      assert.equal("Unreadable", err.errorProperties[1].reason)
      assert.equal("64329", err.errorProperties[1].code)
      assert.truthy(err.message:find("NUL", 1, true), err.message)
    end
  end)

  it("rejects a filename with an embedded NUL instead of cutting it", function()
    assert.same({ "brandProfile.filename|InvalidFormat|64337" },
      props(fx.brand { brandProfile = { data = fx.png(400, 400), filename = "p.png\0.exe" } }))
  end)

  it("still encodes through the core directly (no Lua layer)", function()
    local body = assert(core.encode_brand(fx.brand(), { boundary = "b0undary" }))
    assert.truthy(body:tostring():find('filename="profile.png"', 1, true))
  end)
end)
