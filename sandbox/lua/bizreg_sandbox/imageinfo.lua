-- File type sniffing by magic bytes, and pixel dimensions of PNG and JPEG.
--
-- The RCS sandbox judges uploads by content, never by filename or declared
-- Content-Type, so these readers only look at bytes.
local imageinfo = {}

local byte, sub = string.byte, string.sub

local PNG_SIG = "\137PNG\r\n\26\n"

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
  -- PK\5\6 is the end-of-central-directory record that alone makes an empty zip
  if h4 == "PK\3\4" or h4 == "PK\5\6" then return "zip" end
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

-- SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC)
-- share that marker range but are not frame headers.
local function is_sof(m)
  return m >= 0xC0 and m <= 0xCF and m ~= 0xC4 and m ~= 0xC8 and m ~= 0xCC
end

-- Walks the marker segments after SOI until a SOF header; returns width,
-- height and the SOF marker byte (0xC0 baseline, 0xC2 progressive, ...).
function imageinfo.jpeg_size(data)
  if sub(data, 1, 2) ~= "\255\216" then return nil, "not a JPEG" end
  local n, i = #data, 3
  while i <= n do
    if byte(data, i) ~= 0xFF then return nil, "expected a marker at byte " .. i end
    while i <= n and byte(data, i) == 0xFF do i = i + 1 end -- fill bytes
    if i > n then break end
    local m = byte(data, i)
    i = i + 1
    if m == 0x01 or (m >= 0xD0 and m <= 0xD7) then
      -- TEM and RSTn stand alone (no length)
    elseif m == 0xD9 or m == 0xDA then
      return nil, "no frame header before scan data"
    elseif m == 0x00 or m == 0xD8 then
      return nil, "unexpected marker"
    else
      if i + 1 > n then break end
      local len = be16(data, i)
      if len < 2 then return nil, "bad segment length" end
      if is_sof(m) then
        if len < 8 or i + 6 > n then break end
        return be16(data, i + 5), be16(data, i + 3), m
      end
      i = i + len
    end
  end
  return nil, "truncated JPEG"
end

-- kind, width, height (width/height nil when the kind has none or is unreadable).
function imageinfo.dimensions(data)
  local kind = imageinfo.sniff(data)
  local w, h
  if kind == "png" then w, h = imageinfo.png_size(data) end
  if kind == "jpeg" then w, h = imageinfo.jpeg_size(data) end
  if w then return kind, w, h end
  return kind
end

return imageinfo
