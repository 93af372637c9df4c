-- KOS register_visitor_images payloads for the differential check: a random valid payload,
-- and mutations that change one field at a time across the documented rules (required,
-- types, enums, int32, UTF-8, memo length, RFC 3339 date-times, unknown keys).
-- A mutation is { name, values = function(r) -> list, apply = function(payload, value) }.
local gen = require "spec.helpers.gen"

local M = {}
local REMOVE = {} -- a value that removes the field
M.REMOVE = REMOVE

local SOURCES = { "VISITOR_IMAGE_SOURCE_UNSPECIFIED", "HOSPITAL", "VISITOR", "AGREEMENT", "PEN_CHART" }
local CODE_CATEGORIES = { "CODE_CATEGORY_UNSPECIFIED", "FUNNEL", "EXPOSURE_CHANNEL", "ETCETRA_PRODUCT_CATEGORY",
  "IMAGE_EQUIPMENT", "CALL_CONSULTATION_RESULT", "IMAGE_CATEGORY", "FUNNEL_CATEGORY", "VISITOR_CATEGORY",
  "ACCOUNT_STATUS" }
local COLORS = { "CodeColor_UNSPECIFIED", "RED", "LAVA", "ORANGE", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA",
  "GRAY" }
-- Date-times the client takes (and normalises to UTC milliseconds before sending).
local GOOD_TIMES = { "2026-11-22T07:00:00.000Z", "2026-11-22T16:00:00+09:00", "2024-02-29T00:00:00Z",
  "2026-11-22t07:00:00.5z", "2026-01-01T00:00:00.123456-03:30", "2000-01-01T00:00:00+00:00" }

local function code(r)
  local c = {}
  if r:chance(0.7) then c.id = r:text(r:int(1, 12), true) end
  if r:chance(0.5) then c.category = r:pick(CODE_CATEGORIES) end
  if r:chance(0.3) then c.name = r:text(r:int(0, 20)) end
  if r:chance(0.3) then c.order = r:int(-1000, 1000) end
  if r:chance(0.3) then c.closed = r:chance(0.5) end
  if r:chance(0.3) then c.color = r:pick(COLORS) end
  if r:chance(0.3) then c["default"] = r:chance(0.5) end
  return c
end

local function item(r)
  local it = { fileName = "2026/11/" .. r:text(r:int(1, 30)) .. ".jpg",
    visitorId = "65a1b2c3d4e5f6a7b8c9d0e" .. r:int(1, 9) }
  if r:chance(0.5) then it.source = r:pick(SOURCES) end
  if r:chance(0.4) then it.equipment = code(r) end
  if r:chance(0.4) then it.scheduleId = r:text(24, true) end
  if r:chance(0.5) then it.shootingDateTimeUtc = r:pick(GOOD_TIMES) end
  if r:chance(0.5) then it.memo = r:text(r:int(0, 150)) end
  if r:chance(0.4) then it.category = code(r) end
  return it
end

function M.payload(r)
  local images = gen.array()
  for i = 1, r:int(1, 3) do images[i] = item(r) end
  return { images = images }
end

local function set(t, k, v)
  if v == REMOVE then t[k] = nil else t[k] = v end
end

-- Field k of the first image, or of its equipment/category Code (made present first).
local function field(k) return function(p, v) set(p.images[1], k, v) end end
local function code_field(which, k)
  return function(p, v)
    p.images[1][which] = p.images[1][which] or {}
    set(p.images[1][which], k, v)
  end
end

local WRONG_TYPES = { 5, true, gen.null, gen.array(), {} }
local function with(list, extra)
  local out = {}
  for _, v in ipairs(list) do out[#out + 1] = v end
  for _, v in ipairs(extra) do out[#out + 1] = v end
  return out
end
local function fixed(list) return function() return list end end

local BAD_UTF8 = { "\255", "\192\128", "\237\160\128", "\234\176", "a\244\144\128\128" }

-- A date-time near the edges of every part: years, months, days (29 February), hours,
-- minutes, leap seconds, fractions, offsets, separators.
local function near_time(r)
  local function two(list) return string.format("%02d", r:pick(list)) end
  return string.format("%04d-%s-%s%s%s:%s:%s%s%s", r:pick({ 0, 1, 1970, 2023, 2024, 2100, 9999 }),
    two({ 0, 1, 2, 12, 13 }), two({ 0, 1, 28, 29, 30, 31, 32 }), r:pick({ "T", "T", "t", " " }),
    two({ 0, 23, 24 }), two({ 0, 59, 60 }), two({ 0, 59, 60, 61 }), r:pick({ "", "", ".5", ".123456789", "." }),
    r:pick({ "Z", "z", "+09:00", "-00:00", "+23:59", "-12:30", "+24:00", "+09:60", "", "+0900" }))
end

M.mutations = {
  { name = "fileName", apply = field("fileName"), values = function(r)
    return with(WRONG_TYPES, { REMOVE, "", r:text(1), r:text(300), BAD_UTF8[1] }) end },
  { name = "visitorId", apply = field("visitorId"), values = function(r)
    return with(WRONG_TYPES, { REMOVE, "", r:text(24, true), "000000000000000000000000" }) end },
  { name = "source", apply = field("source"),
    values = fixed(with(SOURCES, { "hospital", "", "HOSPITAL ", 1, gen.null })) },
  { name = "scheduleId", apply = field("scheduleId"), values = fixed({ 5, "", "x", gen.null, BAD_UTF8[2] }) },
  { name = "memo", apply = field("memo"), values = function(r)
    return with(BAD_UTF8, { r:text(150), r:text(151), string.rep("가", 150), string.rep("😀", 151), "", true, 7 }) end },
  { name = "shootingDateTimeUtc", apply = field("shootingDateTimeUtc"), values = fixed(with(GOOD_TIMES, {
    "2026-11-22 07:00:00", "2026-11-22", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-22T24:00:00Z",
    "2026-11-22T07:00:00", "2026-11-22T07:00:00+0900", "2026-11-22T07:00:00.Z", "yesterday", "",
    "2016-12-31T23:59:60Z", "0000-01-01T00:00:00Z", "2026-11-22T07:00:00+24:00", "2026-11-22T07:60:00Z",
    "2026-11-22T07:00:00.000Zjunk", " 2026-11-22T07:00:00Z", 1700000000, 1e15, true })) },
  { name = "shootingDateTimeUtc", apply = field("shootingDateTimeUtc"), values = function(r)
    local list = {}
    for i = 1, 6 do list[i] = near_time(r) end
    return list
  end },
  { name = "equipment", apply = field("equipment"), values = fixed({ "e1", 5, gen.array(), {}, gen.null }) },
  { name = "category", apply = field("category"), values = fixed({ "c1", gen.array({ 1 }), {} }) },
  { name = "equipment.id", apply = code_field("equipment", "id"), values = fixed({ 5, "", "x", BAD_UTF8[3] }) },
  { name = "equipment.category", apply = code_field("equipment", "category"),
    values = fixed(with(CODE_CATEGORIES, { "IMAGE", "", "image_equipment", 3 })) },
  { name = "category.color", apply = code_field("category", "color"),
    values = fixed(with(COLORS, { "PINK", "red", "" })) },
  { name = "category.name", apply = code_field("category", "name"), values = function(r)
    return { r:text(200), true, BAD_UTF8[4] } end },
  { name = "equipment.order", apply = code_field("equipment", "order"),
    values = fixed({ 0, 2147483647, 2147483648, -2147483648, -2147483649, 1.5, "1", true, gen.null }) },
  { name = "equipment.closed", apply = code_field("equipment", "closed"),
    values = fixed({ true, false, "true", 1, gen.null }) },
  { name = "category.default", apply = code_field("category", "default"), values = fixed({ false, 0, "false" }) },
  { name = "unknown keys", values = fixed({ "item", "code", "root" }), apply = function(p, where)
    if where == "item" then p.images[1].fileNmae = "x"
    elseif where == "code" then p.images[1].equipment = { colour = "RED" }
    else p.imags = gen.array() end
  end },
  { name = "images", values = fixed({ REMOVE, gen.array(), "a.jpg", gen.null, "not an item" }), apply = function(p, v)
    if v == "not an item" then p.images[#p.images + 1] = "b.jpg" else set(p, "images", v) end
  end },
}

return M
