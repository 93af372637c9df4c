-- Writes the seed corpus for fuzz/media_fuzz.c: tiny PNG/JPEG/PDF/TIFF/ZIP files
-- built byte by byte here (nothing downloaded). Runs on Lua 5.1-5.4 and LuaJIT.
--   lua5.4 fuzz/gen_media_corpus.lua [dir]     (default dir: fuzz/corpus/media)
local dir = arg[1] or "fuzz/corpus/media"
local char, rep = string.char, string.rep

local function be16(n) return char(math.floor(n / 256) % 256, n % 256) end
local function be32(n) return be16(math.floor(n / 65536) % 65536) .. be16(n % 65536) end

local PNG_SIG = char(0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A)
-- Real CRCs: the prober checks them (a PNG is complete only with valid CRCs), so seeds
-- with zero CRCs would keep the fuzzer away from the rest of the chunk walk.
package.path = "./?.lua;" .. package.path
local crc32 = require("spec.helpers.images").crc32
local function png_chunk(t, data) return be32(#data) .. t .. data .. be32(crc32(t .. data)) end
local function png(w, h)
  return PNG_SIG .. png_chunk("IHDR", be32(w) .. be32(h) .. char(8, 6, 0, 0, 0))
    .. png_chunk("IDAT", char(0x78, 0x9C, 0x63, 0, 0, 0, 1, 0, 1)) .. png_chunk("IEND", "")
end

local function seg(marker, payload) return char(0xFF, marker) .. be16(#payload + 2) .. payload end
local function jpeg(sof, w, h, extra)
  local comps = char(1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0)
  return char(0xFF, 0xD8)
    .. seg(0xE0, "JFIF" .. char(0, 1, 1, 0, 0, 1, 0, 1, 0, 0))
    .. (extra or "")
    .. seg(0xDB, char(0) .. rep(char(1), 64))
    .. seg(sof, char(8) .. be16(h) .. be16(w) .. char(3) .. comps)
    .. seg(0xDA, char(3, 1, 0, 2, 0, 3, 0, 0, 63, 0))
    .. char(0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD9)
end

local exif = seg(0xE1, "Exif" .. char(0, 0) .. "MM" .. char(0, 42, 0, 0, 0, 8)
  .. rep(char(0xFF, 0xC0, 0, 0x11, 8, 0, 16, 0, 16), 20))
local dht_fill_rst = seg(0xC4, char(0) .. char(0, 1) .. rep(char(0), 14) .. char(5))
  .. char(0xFF, 0xD0, 0xFF, 0xFF, 0xFF)

local seeds = {
  ["png-388.png"] = png(388, 388),
  ["png-not-ihdr.png"] = PNG_SIG .. png_chunk("IDAT", "x"),
  ["jpeg-baseline.jpg"] = jpeg(0xC0, 640, 480),
  ["jpeg-progressive.jpg"] = jpeg(0xC2, 1080, 720, dht_fill_rst),
  ["jpeg-exif.jpg"] = jpeg(0xC0, 388, 500, exif),
  ["jpeg-sos-first.jpg"] = char(0xFF, 0xD8) .. seg(0xDA, char(1, 1, 0, 0, 63, 0)) .. char(0xFF, 0xD9),
  ["pdf.pdf"] = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
  ["tiff-le.tif"] = "II" .. char(42, 0, 8, 0, 0, 0, 0, 0),
  ["tiff-be.tif"] = "MM" .. char(0, 42, 0, 0, 0, 8, 0, 0),
  ["zip-local.zip"] = "PK" .. char(3, 4, 20, 0) .. rep(char(0), 26),
  ["zip-empty.zip"] = "PK" .. char(5, 6) .. rep(char(0), 18),
  ["zip-spanned.zip"] = "PK" .. char(7, 8) .. "PK" .. char(3, 4, 20, 0) .. rep(char(0), 26),
}

local names = {}
for name in pairs(seeds) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  assert(f:write(seeds[name]))
  assert(f:close())
  print(("%-24s %5d bytes"):format(name, #seeds[name]))
end
