-- encode_visitor_images keeps per-state data between calls (issue 9, "Encode"): the key
-- index (row names and enumeration values interned once) and one output buffer, taken out
-- of its upvalue while a call uses it. What must hold: every call's bytes are what a first
-- call in a fresh state gives, whatever ran before (a large body, a refused payload, a call
-- made by a finalizer in the middle of another call). Run under `make asan` too.
local core = require "bizreg.core"

local function item(i, memo)
  return { fileName = "img" .. i .. ".jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL",
    memo = memo, equipment = { id = "eq" .. i, category = "IMAGE_EQUIPMENT", color = "BLUE", order = i } }
end

local function payload(n, memo)
  local items = {}
  for i = 1, n do items[i] = item(i, memo or "시술 전후 사진") end
  return { images = items }
end

-- The body as written by hand from the schema's key order (api_kos.c), for small cases.
local function expected(n, memo)
  local parts = {}
  for i = 1, n do
    parts[i] = string.format('{"fileName":"img%d.jpg","visitorId":"65a1b2c3d4e5f6a7b8c9d0e1","source":"HOSPITAL",' ..
      '"equipment":{"id":"eq%d","category":"IMAGE_EQUIPMENT","order":%d,"color":"BLUE"},"memo":"%s"}',
      i, i, i, memo or "시술 전후 사진")
  end
  return '{"images":[' .. table.concat(parts, ",") .. ']}'
end

describe("encode_visitor_images across calls", function()
  it("writes the schema's bytes, including enumeration values matched by address", function()
    assert.are.equal(expected(3), core.encode_visitor_images(payload(3)))
  end)

  it("gives the same bytes after a body larger than the kept buffer, and after a small one", function()
    local big, small = payload(400, string.rep("가", 150)), payload(2)
    local first_big = assert(core.encode_visitor_images(big))
    assert.is_true(#first_big > 64 * 1024)
    assert.are.equal(expected(2), core.encode_visitor_images(small))
    assert.are.equal(first_big, core.encode_visitor_images(big))
    assert.are.equal(expected(400, string.rep("가", 150)), first_big)
    assert.are.equal(expected(2), core.encode_visitor_images(small))
  end)

  it("gives the same bytes after a refused payload (whose partial JSON is discarded)", function()
    local bad = payload(5)
    bad.images[3].memo = "\255"
    bad.images[4].source = "NOPE"
    local body, props = core.encode_visitor_images(bad)
    assert.is_nil(body)
    assert.are.same({ "memo|InvalidUtf8|3", "source|InvalidEnum|4" },
      { props[1].key .. "|" .. props[1].reason .. "|" .. props[1].index,
        props[2].key .. "|" .. props[2].reason .. "|" .. props[2].index })
    assert.are.equal(expected(1), core.encode_visitor_images(payload(1)))
  end)

  it("finds keys and enumeration values made at run time (same interned strings)", function()
    local k = table.concat { "vis", "itorId" }
    local p = { images = { { fileName = "img1.jpg", [k] = "65a1b2c3d4e5f6a7b8c9d0e1", source = table.concat { "HOSP", "ITAL" },
      memo = "시술 전후 사진", equipment = { id = "eq1", category = "IMAGE_" .. "EQUIPMENT", color = "BL" .. "UE", order = 1 } } } }
    assert.are.equal(expected(1), core.encode_visitor_images(p))
  end)

  it("reports a key that only looks like a row as unknown (case, length, a NUL inside)", function()
    for _, k in ipairs { "FileName", "fileNam", "fileName\0", "memo ", "" } do
      local p = payload(1)
      p.images[1][k] = "x"
      local body, props = core.encode_visitor_images(p)
      assert.is_nil(body, k)
      assert.are.equal("UnknownField", props[1].reason)
      assert.are.equal(k, props[1].key)
    end
  end)

  it("gives each call its own buffer when a finalizer encodes in the middle of another call #slow", function()
    local nested, inner, outer = 0, payload(2), false
    local want = expected(2)
    local refused = payload(300)
    for i = 1, 300 do refused.images[i].source = "NOPE" end  -- a violation table per item: GC steps run
    collectgarbage()  -- a fresh cycle: earlier specs leave the collector anywhere
    if _VERSION == "Lua 5.4" then collectgarbage("incremental") end
    local pause, stepmul
    local ok, err = pcall(function()
      -- GC timing depends on what ran before: go on until finalizers did run inside (bounded)
      for round = 1, 400 do
        if round > 20 and (nested > 0 or _VERSION == "Lua 5.1") then break end
        for _ = 1, 50 do
          setmetatable({}, { __gc = function()
            if outer then nested = nested + 1 end
            assert(core.encode_visitor_images(inner) == want, "nested call's bytes")
          end })
        end
        -- the collector runs flat out (every allocation a whole cycle over the live heap, which
        -- holds what the earlier specs left) only around the outer call: over the whole loop it
        -- took this test 70 s of CPU under lua5.3 inside make test, and 1 s alone
        pause, stepmul = collectgarbage("setpause", 0), collectgarbage("setstepmul", 1000)
        outer = true
        local body, props = core.encode_visitor_images(refused)
        outer = false
        collectgarbage("setpause", pause)
        collectgarbage("setstepmul", stepmul)
        pause = nil
        assert(body == nil and #props == 300 and props[300].index == 300, "outer call's violations")
        assert(core.encode_visitor_images(inner) == want, "the call after")
      end
    end)
    if pause then  -- an error inside the outer call
      collectgarbage("setpause", pause)
      collectgarbage("setstepmul", stepmul)
    end
    collectgarbage()
    assert(ok, err)
    -- some finalizers did run inside the outer call: Lua 5.2+ runs table finalizers at the
    -- allocation steps of the violation tables (5.1 and LuaJIT have none for tables)
    if _VERSION ~= "Lua 5.1" then assert.is_true(nested > 0) end
  end)
end)
