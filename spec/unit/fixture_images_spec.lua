-- The specs' fixture generator (spec/helpers/images.lua): exact bytes, sizes and checksums;
-- dimensions are read back with the sandbox's own image reader (an independent parser).
package.path = "./?.lua;./sandbox/lua/?.lua;" .. package.path
local images = require "spec.helpers.images"
local imageinfo = require "bizreg_sandbox.imageinfo"

local function be32(s, i)
  local a, b, c, d = s:byte(i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

describe("fixture generator (spec/helpers/images.lua)", function()
  local function chunks(png)
    local list, i = {}, 9
    while i <= #png do
      local n = be32(png, i)
      local kind = png:sub(i + 4, i + 7)
      list[#list + 1] = { kind = kind, len = n, crc = be32(png, i + 8 + n),
        computed = images.crc32(png:sub(i + 4, i + 7 + n)) }
      i = i + 12 + n
    end
    return list
  end

  it("computes the standard CRC-32 and Adler-32 check values", function()
    assert.equal(0xCBF43926, images.crc32("123456789"))
    assert.equal(0xAE426082, images.crc32("IEND"))
    assert.equal(0x11E60398, images.adler32("Wikipedia"))
    -- the O(log n) zero-run path agrees with feeding the zeros byte by byte
    assert.equal(images.crc32("prVt" .. string.rep("\0", 4099)), images.crc32("prVt", 4099))
  end)

  it("writes a valid PNG: signature, IHDR, IDAT, IEND and correct CRCs", function()
    local png = images.png(400, 400)
    assert.equal("\137PNG\r\n\26\n", png:sub(1, 8))
    -- every PNG ends with the same IEND chunk: length 0, "IEND", CRC AE426082
    assert.equal("\0\0\0\0IEND\174\66\96\130", png:sub(-12))
    local list = chunks(png)
    assert.same({ "IHDR", "IDAT", "IEND" }, { list[1].kind, list[2].kind, list[3].kind })
    for _, c in ipairs(list) do assert.equal(c.computed, c.crc) end
    assert.equal(400, be32(png, 17))
    assert.equal(400, be32(png, 21))
    -- IDAT: zlib header 78 01, stored deflate blocks, Adler-32 of the raw scanlines
    local idat = png:sub(42, 41 + list[2].len)
    assert.equal("\120\1", idat:sub(1, 2))
    local raw = idat:sub(8, -5) -- one stored block: BFINAL byte + LEN + NLEN
    assert.equal(400 * (1 + 50), #raw)
    assert.equal(images.adler32(raw), be32(idat, #idat - 3))
  end)

  it("makes 1080x1080 (about 147 KB)", function()
    -- its speed shows in the suite's time (spec/README.md), not in a bound a busy machine breaks
    local png = images.png(1080, 1080)
    assert.equal(146958, #png)
    assert.same({ 1080, 1080 }, { imageinfo.png_size(png) })
  end)

  it("pads a PNG to an exact size with a private chunk before IEND #slow", function()
    for _, size in ipairs({ 146958 + 12, 200000, 1048576, 1048577 }) do
      local png = images.png(1080, 1080, { size = size })
      assert.equal(size, #png)
      local list = chunks(png)
      assert.equal("IEND", list[#list].kind)
      for _, c in ipairs(list) do assert.equal(c.computed, c.crc) end
    end
    assert.equal("prVt", chunks(images.png(10, 10, { size = 500 }))[3].kind)
    assert.has_error(function() images.png(1080, 1080, { size = 146958 + 11 }) end)
    assert.has_error(function() images.png(1080, 1080, { size = 1000 }) end)
    assert.equal(146958, #images.png(1080, 1080, { size = 146958 }))
  end)

  it("makes JPEGs whose dimensions read back, also progressive after an APP1 pad", function()
    local j = images.jpeg(500, 400)
    assert.equal("\255\216", j:sub(1, 2))
    assert.equal("\255\217", j:sub(-2))
    assert.same({ 500, 400, 0xC0 }, { imageinfo.jpeg_size(j) })
    local p = images.jpeg(640, 480, { progressive = true, exif_pad = 60000 })
    assert.same({ 640, 480, 0xC2 }, { imageinfo.jpeg_size(p) })
    assert.truthy(p:find("\255\225\234\98Exif\0\0", 1, true)) -- APP1, length 60002
    assert.equal("jpeg", imageinfo.sniff(p))
  end)

  it("pads JPEGs to exact sizes (COM segments; 1-3 bytes after EOI)", function()
    for _, opts in ipairs({ {}, { exif_pad = 10, progressive = true } }) do
      local base = #images.jpeg(388, 388, opts)
      for _, extra in ipairs({ 1, 2, 3, 4, 5, 65537, 65538, 65541, 900000 }) do
        opts.size = base + extra
        local j = images.jpeg(388, 388, opts)
        assert.equal(base + extra, #j)
        local w, h = imageinfo.jpeg_size(j)
        assert.equal(388, w)
        assert.equal(388, h)
      end
      opts.size = nil
    end
    assert.equal(1048577, #images.jpeg(1080, 1080, { size = 1048577 }))
    assert.has_error(function() images.jpeg(10, 10, { size = 10 }) end)
  end)

  it("makes minimal PDF, TIFF and ZIP files with the right magic and exact sizes", function()
    assert.equal("%PDF-", images.pdf():sub(1, 5))
    assert.equal("II*\0", images.tiff():sub(1, 4))
    assert.equal("PK\3\4", images.zip():sub(1, 4))
    assert.equal("PK\5\6", images.empty_zip():sub(1, 4))
    for _, kind in ipairs({ "pdf", "tiff", "zip" }) do
      local small = images[kind]()
      assert.equal(kind, imageinfo.sniff(small))
      assert.equal(5000, #images[kind](5000))
      assert.equal(#small + 1, #images[kind](#small + 1))
      assert.has_error(function() images[kind](10) end)
    end
    assert.equal(20971521, #images.zip(20971521))
  end)

  it("gives the same bytes with the arithmetic fallback (Lua 5.1 without bit libraries)", function()
    local before = images.ops
    local a, z = images.png(37, 37, { size = 2000 }), images.zip(700)
    images._use_ops("arith")
    local ok, b, z2 = pcall(function() return images.png(37, 37, { size = 2000 }), images.zip(700) end)
    images._use_ops(before)
    assert.is_true(ok)
    assert.equal(a, b)
    assert.equal(z, z2)
  end)

  it("writes files", function()
    local path = os.tmpname()
    images.write(path, "abc\0def")
    local f = assert(io.open(path, "rb"))
    assert.equal("abc\0def", f:read("*a"))
    f:close()
    os.remove(path)
  end)
end)
