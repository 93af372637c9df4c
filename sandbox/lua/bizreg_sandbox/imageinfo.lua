-- File type sniffing by magic bytes; pixel dimensions and completeness of PNG and JPEG.
--
-- The RCS sandbox judges uploads by content, never by filename or declared
-- Content-Type, so these readers only look at bytes. "Complete" is what a decoder
-- needs (the documented server reads the image to size it):
--   PNG : IHDR first (13 bytes; size 1..2^31-1; bit depth allowed for the colour type;
--         compression and filter 0; interlace 0 or 1), PLTE (at most one, 1..256 entries,
--         before any IDAT) required for indexed colour, one run of consecutive IDAT
--         chunks, IEND (empty, after an IDAT); every chunk's CRC valid, chunk types four
--         ASCII letters, lengths below 2^31;
--   JPEG: SOI, exactly one SOFn (non-zero size) before the first SOS, at least one scan
--         (entropy-coded data walked to the marker that ends it), EOI; no second SOI and
--         no stuffed zero where a marker belongs.
-- Bytes after IEND / EOI are no part of the image and are ignored.
local crc32 = require "bizreg_sandbox.crc32"

local imageinfo = {}

local byte, sub, find = string.byte, string.sub, string.find

local PNG_SIG = "\137PNG\r\n\26\n"
local MAX_SEGMENTS = 100000 -- JPEG marker segments visited at most (crafted input)

local function be16(s, i)
  local a, b = byte(s, i, i + 1)
  return a * 256 + b
end

local function be32(s, i)
  local a, b, c, d = byte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- "png" | "jpeg" | "pdf" | "tiff" | "zip" | nil
function imageinfo.sniff(data)
  if type(data) ~= "string" then return nil end
  if sub(data, 1, 8) == PNG_SIG then return "png" end
  if sub(data, 1, 3) == "\255\216\255" then return "jpeg" end
  if sub(data, 1, 5) == "%PDF-" then return "pdf" end
  local h4 = sub(data, 1, 4)
  if h4 == "II*\0" or h4 == "MM\0*" then return "tiff" end
  -- PK\5\6: the end-of-central-directory record that alone makes an empty archive;
  -- PK\7\8: the spanning signature a split (or one-segment spanned) archive starts with
  if h4 == "PK\3\4" or h4 == "PK\5\6" or h4 == "PK\7\8" then return "zip" end
  return nil
end

-- Width and height from the IHDR chunk, which the PNG spec requires first.
function imageinfo.png_size(data)
  if sub(data, 1, 8) ~= PNG_SIG then return nil, "not a PNG" end
  if #data < 33 then return nil, "truncated IHDR" end
  if be32(data, 9) ~= 13 or sub(data, 13, 16) ~= "IHDR" then return nil, "first chunk is not IHDR" end
  local w, h = be32(data, 17), be32(data, 21)
  if w == 0 or h == 0 or w >= 2 ^ 31 or h >= 2 ^ 31 then return nil, "bad IHDR dimensions" end
  return w, h
end

-- Bit depths each colour type allows (PNG spec, table 11.1).
local DEPTHS = {
  [0] = { [1] = true, [2] = true, [4] = true, [8] = true, [16] = true },
  [2] = { [8] = true, [16] = true },
  [3] = { [1] = true, [2] = true, [4] = true, [8] = true },
  [4] = { [8] = true, [16] = true },
  [6] = { [8] = true, [16] = true },
}

local function ihdr_ok(d) -- d: the 13 data bytes
  local w, h = be32(d, 1), be32(d, 5)
  local depth, color, comp, filter, interlace = byte(d, 9, 13)
  return w >= 1 and w < 2 ^ 31 and h >= 1 and h < 2 ^ 31 and DEPTHS[color] ~= nil and
    DEPTHS[color][depth] == true and comp == 0 and filter == 0 and interlace <= 1
end

-- true when the PNG is complete (see the rules at the top); false and the reason otherwise.
function imageinfo.png_complete(data)
  if sub(data, 1, 8) ~= PNG_SIG then return false, "not a PNG" end
  local n, pos, first, color, plte, idat = #data, 9, true, nil, false, 0 -- idat: 0 none, 1 in run, 2 run over
  while true do
    if pos + 7 > n then return false, "truncated" end
    local len, kind = be32(data, pos), sub(data, pos + 4, pos + 7)
    if len >= 2 ^ 31 or not find(kind, "^[A-Za-z][A-Za-z][A-Za-z][A-Za-z]$") then return false, "bad chunk header" end
    if first ~= (kind == "IHDR") or (first and len ~= 13) then return false, "IHDR is not the first chunk" end
    local last = pos + 7 + len -- last data byte
    if last + 4 > n then return false, "truncated" end
    if crc32(sub(data, pos + 4, last)) ~= be32(data, last + 1) then return false, "bad CRC in " .. kind end
    if first then
      if not ihdr_ok(sub(data, pos + 8, last)) then return false, "bad IHDR" end
      color, first = byte(data, pos + 17), false
    elseif kind == "PLTE" then
      if idat > 0 or plte or len == 0 or len % 3 ~= 0 or len > 768 then return false, "bad PLTE" end
      plte = true
    elseif kind == "IDAT" then
      if idat == 2 or (color == 3 and not plte) then return false, "bad IDAT" end
      idat = 1
    else
      if idat == 1 then idat = 2 end
      if kind == "IEND" then
        if idat == 0 or len ~= 0 then return false, "bad IEND" end
        return true
      end
    end
    pos = last + 5
  end
end

-- SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC)
-- share that marker range but are not frame headers.
local function is_sof(m)
  return m >= 0xC0 and m <= 0xCF and m ~= 0xC4 and m ~= 0xC8 and m ~= 0xCC
end

-- From pos (just past a scan header): the offset of the marker that ends the
-- entropy-coded data (an 0xFF not followed by a stuffed 0x00, an RSTn or a fill 0xFF).
local function skip_scan(data, pos)
  while true do
    local i = find(data, "\255", pos, true)
    if not i or i == #data then return nil end
    local nxt = byte(data, i + 1)
    if nxt == 0x00 or (nxt >= 0xD0 and nxt <= 0xD7) then
      pos = i + 2
    elseif nxt == 0xFF then
      pos = i + 1
    else
      return i
    end
  end
end

-- Walks the marker segments after SOI: width, height, the SOF marker byte (0xC0
-- baseline, 0xC2 progressive, ...; nil, nil, nil without a frame header) and completeness.
local function jpeg_walk(data)
  if sub(data, 1, 2) ~= "\255\216" then return nil, nil, nil, false end
  local n, pos, w, h, sof, scans = #data, 3, nil, nil, nil, 0
  for _ = 1, MAX_SEGMENTS do
    if pos + 1 > n or byte(data, pos) ~= 0xFF then break end -- the end, or not at a marker
    while pos <= n and byte(data, pos) == 0xFF do pos = pos + 1 end -- fill bytes
    if pos > n then break end
    local m = byte(data, pos)
    pos = pos + 1
    if m == 0xD9 then return w, h, sof, sof ~= nil and scans > 0 end -- EOI
    if m == 0x00 or m == 0xD8 then break end                       -- stuffed zero, second SOI
    if m ~= 0x01 and (m < 0xD0 or m > 0xD7) then                   -- TEM and RSTn have no length
      if pos + 1 > n then break end
      local len = be16(data, pos)
      if len < 2 then break end
      if is_sof(m) then
        if sof or len < 8 or pos + 6 > n then break end
        h, w = be16(data, pos + 3), be16(data, pos + 5)
        if w == 0 or h == 0 then w, h = nil, nil break end -- height 0: defined later by DNL
        sof = m
      elseif m == 0xDA then
        if not sof then break end -- a scan needs its frame header first
        pos = skip_scan(data, pos + len)
        if not pos then break end
        scans = scans + 1
        len = 0
      end
      pos = pos + len
    end
  end
  return w, h, sof, false
end

-- width, height, SOF marker byte; or nil, reason.
function imageinfo.jpeg_size(data)
  local w, h, m = jpeg_walk(data)
  if not w then return nil, "no frame header" end
  return w, h, m
end

function imageinfo.jpeg_complete(data)
  return (select(4, jpeg_walk(data)))
end

-- kind, width, height, complete (width/height nil when the kind has none or is unreadable;
-- complete is true for the kinds judged by their magic alone: PDF, TIFF, ZIP).
function imageinfo.dimensions(data)
  local kind = imageinfo.sniff(data)
  if kind == "png" then
    local w, h = imageinfo.png_size(data)
    return kind, w, h, imageinfo.png_complete(data) == true
  elseif kind == "jpeg" then
    local w, h, _, complete = jpeg_walk(data)
    return kind, w, h, complete
  end
  return kind, nil, nil, kind ~= nil
end

return imageinfo
