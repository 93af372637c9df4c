-- File arguments at validation: only regular files are opened for reading (no FIFO,
-- device or directory can block or feed the validator), and PNG/JPEG files must carry
-- the structure a decoder needs, not just a header.
local core = require "bizreg.core"
local fx = require "spec.helpers.fixtures"
local shell = require "spec.helpers.shell"

local props = fx.brand_props  -- "key|reason|code" for each violation

local dir = fx.dir .. "/file-args"
shell.execute("rm -rf '" .. dir .. "' && mkdir -p '" .. dir .. "'")

local unblocker = shell.unblocker

local function unreadable(spec, want_msg)
  local t0 = core.now()
  local got, err = props(fx.brand { brandProfile = spec })
  local elapsed = core.now() - t0
  assert.is_true(elapsed < 5, "validation blocked for " .. elapsed .. " s")
  assert.same({ "brandProfile|Unreadable|64329" }, got)
  if want_msg then assert.truthy(err.message:find(want_msg, 1, true), err.message) end
end

describe("file arguments that are not regular files", function()
  it("refuses a FIFO without a writer at once (no open() that blocks)", function()
    local fifo = dir .. "/fifo.png"
    assert.is_true(shell.execute("rm -f '" .. fifo .. "' && mkfifo '" .. fifo .. "'"))
    local pid = unblocker(fifo, 8)
    unreadable(fifo, "not a regular file")
    unreadable({ path = fifo }, "not a regular file")
    if pid then shell.execute("kill " .. pid .. " 2>/dev/null") end
    os.remove(fifo)
  end)

  it("refuses /dev/zero, a directory and a symlink loop as Unreadable", function()
    unreadable("/dev/zero", "not a regular file")
    unreadable("/dev/null", "not a regular file")
    unreadable(dir, "Is a directory")
    local loop = dir .. "/loop.png"
    assert.is_true(shell.execute("cd '" .. dir .. "' && rm -f loop.png && ln -s loop.png loop.png"))
    unreadable(loop, "symbolic links")
    local _, err = core.sniff_file("/dev/zero")
    assert.equal("not a regular file", err)
  end)

  it("follows a symlink to a regular file", function()
    local path = fx.file("profile-400.png", function() return fx.png(400, 400) end)
    local link = dir .. "/link.png"
    local target = path:sub(1, 1) == "/" and path or ("$(pwd)/" .. path)  -- BIZREG_TMP may be absolute
    assert.is_true(shell.execute("rm -f '" .. link .. "' && ln -s \"" .. target .. "\" '" .. link .. "'"))
    assert.same({}, props(fx.brand { brandProfile = link }))
  end)
end)

---------------------------------------------------------------- PNG structure

local function be32(n)
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end
local function chunk(kind, data, bad_crc)
  local crc = fx.images.crc32(kind .. data)
  if bad_crc then crc = (crc + 1) % 4294967296 end
  return be32(#data) .. kind .. data .. be32(crc)
end
local SIG = "\137PNG\r\n\26\n"
local IHDR400 = chunk("IHDR", be32(400) .. be32(400) .. "\1\0\0\0\0")

-- Splits a valid generated PNG into its chunks: { {kind=, raw=} ... }
local function chunks_of(png)
  local out, i = {}, 9
  while i <= #png do
    local len = ((png:byte(i) * 256 + png:byte(i + 1)) * 256 + png:byte(i + 2)) * 256 + png:byte(i + 3)
    out[#out + 1] = { kind = png:sub(i + 4, i + 7), raw = png:sub(i, i + 11 + len) }
    i = i + 12 + len
  end
  return out
end

describe("PNG files must be complete (IHDR first, IDAT, IEND last, valid CRCs)", function()
  local png = fx.png(400, 400)
  local c = chunks_of(png)
  local IDAT, IEND = c[2].raw, c[3].raw

  local function bad(data)
    assert.same({ "brandProfile|InvalidFileType|64332" }, props(fx.brand { brandProfile = { data = data } }))
    local path = dir .. "/bad.png"
    fx.images.write(path, data)
    assert.same({ "brandProfile|InvalidFileType|64332" }, props(fx.brand { brandProfile = path }))
    assert.same({ "brandBackground|InvalidFileType|64333" }, props(fx.brand { brandBackground = { data = data } }))
    assert.same({ "subNumCertificate|InvalidFileType|64355" },
      props(fx.brand { chatbots = { { mdn = "0212345678", subTitle = "t" } }, subNumCertificate = { data = data } }))
  end

  it("takes the generated PNGs (sanity)", function()
    assert.equal("IHDR", c[1].kind)
    assert.equal("IDAT", c[2].kind)
    assert.equal("IEND", c[3].kind)
    assert.same({}, props(fx.brand { brandProfile = { data = png } }))
    assert.same({}, props(fx.brand { brandProfile = { data = SIG .. IHDR400 .. chunk("tEXt", "a\0b") .. IDAT .. IDAT .. IEND } }))
    -- bytes after IEND are not chunks; decoders ignore them
    assert.same({}, props(fx.brand { brandProfile = { data = png .. "\0\0\0" } }))
  end)

  it("refuses signature + IHDR alone (the 30-byte image)", function()
    bad(SIG .. IHDR400)
    bad(SIG .. IHDR400:sub(1, 25))
  end)

  it("refuses a PNG without IDAT or without IEND", function()
    bad(SIG .. IHDR400 .. IEND)
    bad(SIG .. IHDR400 .. IDAT)
    bad(SIG .. IHDR400 .. IDAT .. IEND:sub(1, 11))
  end)

  it("refuses a chunk with a wrong CRC", function()
    bad(SIG .. chunk("IHDR", be32(400) .. be32(400) .. "\1\0\0\0\0", true) .. IDAT .. IEND)
    local d = IDAT:sub(9, -5)
    bad(SIG .. IHDR400 .. chunk("IDAT", d, true) .. IEND)
    bad(SIG .. IHDR400 .. IDAT .. chunk("IEND", "", true))
    -- one flipped pixel byte in the middle of IDAT
    local mid = math.floor(#IDAT / 2)
    bad(SIG .. IHDR400 .. IDAT:sub(1, mid) .. string.char((IDAT:byte(mid + 1) + 1) % 256) .. IDAT:sub(mid + 2) .. IEND)
  end)

  it("refuses IHDR not first, IDAT after IEND, and a chunk length out of range", function()
    bad(SIG .. IDAT .. IHDR400 .. IEND)
    bad(SIG .. IHDR400 .. IEND .. IDAT)
    bad(SIG .. IHDR400 .. IHDR400 .. IDAT .. IEND)
    bad(SIG .. IHDR400 .. "\128\0\0\0IDAT" .. IEND)
    bad(SIG .. IHDR400 .. "\0\0\16\0IDAT" .. IEND)  -- longer than the file
  end)

  it("refuses IHDR fields a decoder refuses (certificates have no size rule to catch them)", function()
    local function ihdr(w, h, rest) return chunk("IHDR", be32(w) .. be32(h) .. rest) end
    bad(SIG .. ihdr(0, 400, "\1\0\0\0\0") .. IDAT .. IEND)
    bad(SIG .. ihdr(400, 2 ^ 31, "\1\0\0\0\0") .. IDAT .. IEND)
    bad(SIG .. ihdr(400, 400, "\3\0\0\0\0") .. IDAT .. IEND)  -- bit depth 3
    bad(SIG .. ihdr(400, 400, "\8\3\0\0\0") .. IDAT .. IEND)  -- indexed colour without PLTE
    bad(SIG .. ihdr(400, 400, "\1\0\1\0\0") .. IDAT .. IEND)  -- unknown compression method
    assert.same({}, props(fx.brand { brandProfile = { data = SIG .. ihdr(400, 400, "\8\3\0\0\0")
      .. chunk("PLTE", "\0\0\0\255\255\255") .. IDAT .. IEND } }))
  end)
end)

---------------------------------------------------------------- JPEG structure

describe("JPEG files must be complete (SOI, frame header, scan, EOI)", function()
  local jpeg = fx.jpeg(500, 500)
  local sos = jpeg:find("\255\218", 1, true)
  local eoi = #jpeg - 1

  local function bad(data)
    assert.same({ "brandBackground|InvalidFileType|64333" }, props(fx.brand { brandBackground = { data = data } }))
    local path = dir .. "/bad.jpg"
    fx.images.write(path, data)
    assert.same({ "brandBackground|InvalidFileType|64333" }, props(fx.brand { brandBackground = path }))
  end

  it("takes the generated JPEGs, with padding after EOI (sanity)", function()
    assert.equal("\255\217", jpeg:sub(eoi))
    for _, data in ipairs { jpeg, fx.jpeg(500, 500, { progressive = true }), fx.jpeg(500, 500, { exif_pad = 70 }),
      fx.jpeg(500, 500, { size = #jpeg + 2 }), fx.jpeg(500, 500, { size = 100000 }) } do
      assert.same({}, props(fx.brand { brandBackground = { data = data } }))
    end
  end)

  it("refuses a JPEG that ends at its frame header, before the scan or inside it", function()
    local sof = jpeg:find("\255\192", 1, true)
    bad(jpeg:sub(1, sof + 10))   -- SOI .. SOF: all a size reader needs
    bad(jpeg:sub(1, sos - 1))   -- no scan
    bad(jpeg:sub(1, eoi - 1))   -- scan without EOI
    bad(jpeg:sub(1, eoi - 1) .. "\255")
  end)

  it("refuses a scan before the frame header", function()
    local sof = jpeg:find("\255\192", 1, true)
    local seg_len = jpeg:byte(sof + 2) * 256 + jpeg:byte(sof + 3)
    local sof_seg = jpeg:sub(sof, sof + 1 + seg_len)
    local without = jpeg:sub(1, sof - 1) .. jpeg:sub(sof + 2 + seg_len)
    local s2 = without:find("\255\218", 1, true)
    local e2 = without:find("\255\217", s2, true)
    bad(without:sub(1, e2 + 1) .. sof_seg)
  end)
end)
