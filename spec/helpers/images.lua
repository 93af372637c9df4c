-- Test fixture generator (spec.helpers.images; test-only, installed by no rock): valid PNG,
-- structurally valid JPEG, and minimal PDF/TIFF/ZIP files, optionally padded to an exact
-- byte size. Used by the specs, bench/, fuzz/gen_media_corpus.lua and
-- examples/brand/generate.lua to exercise the RCS upload rules (type, 1 MiB / 20 MiB
-- limits, 1:1 ratio, 388..1080 px).
--
-- Runs on Lua 5.1-5.4 and LuaJIT. CRC-32 needs XOR and shifts, which 5.1 lacks:
-- LuaJIT's `bit`, 5.2's `bit32` or 5.3+ native operators are used when present,
-- else plain arithmetic (slower, same bytes).
--
-- Padding (opts.size):
--   png  : a private ancillary chunk "prVt" of zero bytes before IEND (so the
--          padded size must be the unpadded size or at least 12 bytes more);
--   jpeg : COM segments right after APP0/APP1 (before DQT); if only 1-3 bytes
--          are missing they are appended as zero bytes after EOI instead;
--   pdf  : a comment line before %%EOF;  tiff: zero bytes after the image data;
--   zip  : the stored member's content is zero bytes of the needed length.
local images = {}

local byte, char, rep, floor = string.byte, string.char, string.rep, math.floor
local concat = table.concat

---------------------------------------------------------------- 32-bit operations

-- Returns xor(a, b), low8(a) = a & 255, shr(a, n) = a >> n (logical), for one
-- of "bit" (LuaJIT), "bit32" (5.2), "native" (5.3+) or "arith" (any).
local function make_ops(kind)
  if kind == "bit" then
    local bit = require "bit"
    local bxor, band, rshift = bit.bxor, bit.band, bit.rshift
    return bxor, function(a) return band(a, 255) end, rshift
  elseif kind == "bit32" then
    local b32 = require "bit32"
    local bxor, band, rshift = b32.bxor, b32.band, b32.rshift
    return bxor, function(a) return band(a, 255) end, rshift
  elseif kind == "native" then
    local chunk = [[
      return function(a, b) return (a ~ b) & 0xFFFFFFFF end,
             function(a) return a & 255 end,
             function(a, n) return (a & 0xFFFFFFFF) >> n end]]
    return (loadstring or load)(chunk)()
  end
  -- arithmetic: xor one byte at a time through a 256x256 table built on first use
  local XOR8
  local function build()
    XOR8 = {}
    for a = 0, 255 do
      for b = 0, 255 do
        local r, bitv, x, y = 0, 1, a, b
        for _ = 1, 8 do
          if x % 2 ~= y % 2 then r = r + bitv end
          x, y, bitv = floor(x / 2), floor(y / 2), bitv * 2
        end
        XOR8[a * 256 + b + 1] = r
      end
    end
  end
  local function xor(a, b)
    if not XOR8 then build() end
    a, b = a % 4294967296, b % 4294967296
    local r, mul = 0, 1
    for _ = 1, 4 do
      r = r + XOR8[(a % 256) * 256 + b % 256 + 1] * mul
      a, b, mul = floor(a / 256), floor(b / 256), mul * 256
    end
    return r
  end
  return xor, function(a) return a % 256 end, function(a, n) return floor((a % 4294967296) / 2 ^ n) end
end

local function detect_ops()
  if jit and pcall(require, "bit") then return "bit" end
  if _VERSION ~= "Lua 5.1" and _VERSION ~= "Lua 5.2" then return "native" end
  if pcall(require, "bit32") then return "bit32" end
  return "arith"
end

local xor, low8, shr
local CRC_TABLE

-- Selects the 32-bit operations (tests force "arith" to check the fallback).
function images._use_ops(kind)
  kind = kind or detect_ops()
  xor, low8, shr = make_ops(kind)
  CRC_TABLE = {}
  for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
      if c % 2 == 1 then c = xor(0xEDB88320, shr(c, 1)) else c = shr(c, 1) end
    end
    CRC_TABLE[i + 1] = c
  end
  images.ops = kind
  return kind
end
images._use_ops()

---------------------------------------------------------------- checksums

-- CRC-32 register update (reflected, polynomial 0xEDB88320), no pre/post inversion.
local function crc_update(reg, s)
  local T = CRC_TABLE
  local x, lo, sh = xor, low8, shr
  for i = 1, #s do
    reg = x(T[lo(x(reg, byte(s, i))) + 1], sh(reg, 8))
  end
  return reg
end

-- Appends n zero bytes to the register in O(log n): feeding a zero byte is a
-- linear map over GF(2), stored as the images of the 32 basis vectors and
-- squared repeatedly (the idea behind zlib's crc32_combine).
local function gf2_apply(op, v)
  local r, k = 0, 1
  while v ~= 0 do
    if v % 2 == 1 then r = xor(r, op[k]) end
    v, k = shr(v, 1), k + 1
  end
  return r
end

local function crc_zeros(reg, n)
  local op = {}
  for k = 1, 32 do
    local v = 2 ^ (k - 1)
    op[k] = xor(CRC_TABLE[low8(v) + 1], shr(v, 8))
  end
  while n > 0 do
    if n % 2 == 1 then reg = gf2_apply(op, reg) end
    n = floor(n / 2)
    if n > 0 then
      local sq = {}
      for k = 1, 32 do sq[k] = gf2_apply(op, op[k]) end
      op = sq
    end
  end
  return reg
end

local function crc_finish(reg)
  return xor(reg, 0xFFFFFFFF) % 4294967296
end

-- CRC-32 of s followed by zeros zero bytes (zeros optional).
function images.crc32(s, zeros)
  local reg = crc_update(0xFFFFFFFF, s)
  if zeros and zeros > 0 then reg = crc_zeros(reg, zeros) end
  return crc_finish(reg)
end

function images.adler32(s)
  local a, b = 1, 0
  local n, i = #s, 1
  while i <= n do
    -- 5552 bytes is the longest run whose sums cannot exceed 2^53 before the modulo
    local last = i + 5551
    if last > n then last = n end
    for j = i, last do
      a = a + byte(s, j)
      b = b + a
    end
    a, b = a % 65521, b % 65521
    i = last + 1
  end
  return b * 65536 + a
end

---------------------------------------------------------------- byte packing

local function be16(n) return char(floor(n / 256) % 256, n % 256) end
local function be32(n)
  return char(floor(n / 16777216) % 256, floor(n / 65536) % 256, floor(n / 256) % 256, n % 256)
end
local function le16(n) return char(n % 256, floor(n / 256) % 256) end
local function le32(n)
  return char(n % 256, floor(n / 256) % 256, floor(n / 65536) % 256, floor(n / 16777216) % 256)
end

local function check_dims(fn, w, h, max)
  if type(w) ~= "number" or type(h) ~= "number" or w ~= floor(w) or h ~= floor(h)
    or w < 1 or h < 1 or w > max or h > max then
    error(string.format("images.%s: width and height must be integers 1..%d", fn, max), 3)
  end
end

local function check_size(fn, size)
  if size ~= nil and (type(size) ~= "number" or size ~= floor(size) or size < 0) then
    error("images." .. fn .. ": size must be a non-negative integer", 3)
  end
end

---------------------------------------------------------------- PNG

local function png_chunk(kind, data)
  return be32(#data) .. kind .. data .. be32(images.crc32(kind .. data))
end

-- zlib stream of stored (uncompressed) deflate blocks, at most 65535 bytes each.
local function zlib_stored(raw)
  local out, n, pos = { "\120\1" }, #raw, 1 -- 0x78 0x01: deflate, 32K window, (0x7801 % 31 == 0)
  repeat
    local len = math.min(65535, n - pos + 1)
    local final = (pos + len > n) and "\1" or "\0"
    out[#out + 1] = final .. le16(len) .. le16(65535 - len) .. raw:sub(pos, pos + len - 1)
    pos = pos + len
  until pos > n
  out[#out + 1] = be32(images.adler32(raw))
  return concat(out)
end

-- 1-bit grayscale checkerboard, w x h, optionally padded to exactly opts.size bytes.
function images.png(w, h, opts)
  check_dims("png", w, h, 2 ^ 31 - 1)
  opts = opts or {}
  check_size("png", opts.size)
  local row_bytes = floor((w + 7) / 8)
  local even, odd = "\0" .. rep("\170", row_bytes), "\0" .. rep("\85", row_bytes) -- filter 0 + pixels
  local raw = rep(even .. odd, floor(h / 2)) .. (h % 2 == 1 and even or "")
  local head = "\137PNG\r\n\26\n" .. png_chunk("IHDR", be32(w) .. be32(h) .. "\1\0\0\0\0")
    .. png_chunk("IDAT", zlib_stored(raw))
  local iend = png_chunk("IEND", "")
  local size = opts.size
  local base = #head + #iend
  if not size or size == base then return head .. iend end
  local pad = size - base - 12 -- a chunk costs 12 bytes besides its data
  if pad < 0 then
    error(string.format("images.png: size %d too small (unpadded %d bytes; padding needs at least %d)",
      size, base, base + 12), 2)
  end
  local crc = images.crc32("prVt", pad)
  return head .. be32(pad) .. "prVt" .. rep("\0", pad) .. be32(crc) .. iend
end

---------------------------------------------------------------- JPEG

local function segment(marker, payload)
  return "\255" .. char(marker) .. be16(#payload + 2) .. payload
end

-- Splits p >= 4 padding bytes into COM segments (4..65537 bytes each).
local function com_segments(p)
  local n = math.ceil(p / 65537)
  local base, extra = floor(p / n), p % n
  local out = {}
  for i = 1, n do
    local total = base + (i <= extra and 1 or 0)
    out[i] = segment(0xFE, rep("\0", total - 4))
  end
  return concat(out)
end

-- SOI, APP0 JFIF, [APP1 of opts.exif_pad payload bytes], [COM padding], DQT,
-- SOF0 (SOF2 with opts.progressive), DHT, SOS, a few scan bytes, EOI.
-- The pixels do not decode to anything meaningful; the structure is valid.
function images.jpeg(w, h, opts)
  check_dims("jpeg", w, h, 65535)
  opts = opts or {}
  check_size("jpeg", opts.size)
  local app0 = segment(0xE0, "JFIF\0\1\1\0\0\1\0\1\0\0")
  local app1 = ""
  if opts.exif_pad then
    local n = opts.exif_pad
    if type(n) ~= "number" or n ~= floor(n) or n < 0 or n > 65533 then
      error("images.jpeg: exif_pad must be 0..65533 payload bytes", 2)
    end
    local payload = n >= 6 and ("Exif\0\0" .. rep("\0", n - 6)) or rep("\0", n)
    app1 = segment(0xE1, payload)
  end
  local progressive = opts.progressive and true or false
  local rest = segment(0xDB, "\0" .. rep("\1", 64))                                 -- DQT table 0
    .. segment(progressive and 0xC2 or 0xC0, "\8" .. be16(h) .. be16(w) .. "\1\1\17\0") -- 1 component
    .. segment(0xC4, "\0\1" .. rep("\0", 15) .. "\0")                               -- DHT: one 1-bit code
    .. segment(0xDA, progressive and "\1\1\0\0\0\0" or "\1\1\0\0\63\0")             -- SOS
    .. "\42\42\42\42"                                                               -- scan data
    .. "\255\217"                                                                   -- EOI
  local head = "\255\216" .. app0 .. app1
  local base = #head + #rest
  local size = opts.size
  if not size or size == base then return head .. rest end
  local p = size - base
  if p < 0 then error(string.format("images.jpeg: size %d too small (unpadded %d bytes)", size, base), 2) end
  if p < 4 then return head .. rest .. rep("\0", p) end
  return head .. com_segments(p) .. rest
end

---------------------------------------------------------------- PDF, TIFF, ZIP

local function pad_to(fn, data, size, build)
  check_size(fn, size)
  if not size or size == #data then return data end
  if size < #data then
    error(string.format("images.%s: size %d too small (minimum %d)", fn, size, #data), 3)
  end
  return build(size - #data)
end

function images.pdf(size)
  local head = "%PDF-1.4\n%\226\227\207\211\n"
    .. "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    .. "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    .. "trailer\n<< /Root 1 0 R >>\n"
  local tail = "%%EOF\n"
  return pad_to("pdf", head .. tail, size, function(p)
    local comment = p == 1 and "\n" or ("%" .. rep(" ", p - 2) .. "\n")
    return head .. comment .. tail
  end)
end

-- Little-endian baseline TIFF: one 1x1 bilevel strip.
function images.tiff(size)
  local entries = {
    { 256, 3, 1 }, { 257, 3, 1 }, { 258, 3, 1 }, { 259, 3, 1 }, { 262, 3, 1 },
    { 273, 4, 0 }, { 277, 3, 1 }, { 278, 3, 1 }, { 279, 4, 1 },
  }
  local data_offset = 8 + 2 + #entries * 12 + 4
  local ifd = { le16(#entries) }
  for _, e in ipairs(entries) do
    local value = e[1] == 273 and data_offset or e[3]
    local field = e[2] == 3 and (le16(value) .. "\0\0") or le32(value)
    ifd[#ifd + 1] = le16(e[1]) .. le16(e[2]) .. le32(1) .. field
  end
  local data = "II*\0" .. le32(8) .. concat(ifd) .. le32(0) .. "\0"
  return pad_to("tiff", data, size, function(p) return data .. rep("\0", p) end)
end

local ZIP_NAME = "fixture.txt"

-- One stored member; content of `zeros` zero bytes, or a short text when nil.
local function zip_with(content, zeros)
  local len = zeros or #content
  local crc = zeros and images.crc32("", zeros) or images.crc32(content)
  local body = zeros and rep("\0", zeros) or content
  local common = le16(10) .. le16(0) .. le16(0) .. le16(0) .. le16(33) -- version, flags, stored, time, 1980-01-01
    .. le32(crc) .. le32(len) .. le32(len) .. le16(#ZIP_NAME)
  local localh = "PK\3\4" .. common .. le16(0) .. ZIP_NAME
  local central = "PK\1\2" .. le16(20) .. common .. le16(0) .. le16(0) .. le16(0) .. le16(0) .. le32(0)
    .. le32(0) .. ZIP_NAME
  local eocd = "PK\5\6" .. le16(0) .. le16(0) .. le16(1) .. le16(1) .. le32(#central)
    .. le32(#localh + len) .. le16(0)
  return localh .. body .. central .. eocd
end

local ZIP_TEXT = "bizreg sandbox fixture\n"
local ZIP_OVERHEAD = 98 + 2 * #ZIP_NAME -- local header 30, central header 46, EOCD 22, name twice

function images.zip(size)
  check_size("zip", size)
  if not size then return zip_with(ZIP_TEXT) end
  if size < ZIP_OVERHEAD then
    error(string.format("images.zip: size %d too small (minimum %d)", size, ZIP_OVERHEAD), 2)
  end
  return zip_with(nil, size - ZIP_OVERHEAD)
end

-- The 22-byte end-of-central-directory record alone: a valid empty archive.
function images.empty_zip()
  return "PK\5\6" .. rep("\0", 18)
end

function images.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  assert(f:write(bytes))
  assert(f:close())
  return path
end

return images
