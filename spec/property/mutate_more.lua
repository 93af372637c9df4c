-- More mutations (see mutate.lua for the expectation words): metatables, number edges,
-- date-times, huge values, cross-field rules, file oddities and files that change
-- after validation. Those marked late = true run after the others.
local M = require "spec.property.mutate"
local G = require "spec.property.gen"
local F = require "spec.property.oddfiles"
local R = G.R
local pick_slot, put = M.pick_slot, M.put

-- late: runs after the others; alone: the only mutation of its payload (it rebuilds containers
-- that other mutations would have changed)
local function def(name, weight, fn, late, alone)
  M.list[#M.list + 1] = { name = name, weight = weight, fn = fn, late = late, alone = alone }
end
local function meta_free(o) return getmetatable(o) == nil end
local function where(o) return o.path == "" and "<top>" or o.path end

-- Moves every raw field of t into a new table and returns it (t is left empty).
local function hollow(t)
  local real, keys = {}, {}
  for k in next, t do keys[#keys + 1] = k end
  for _, k in ipairs(keys) do real[k] = rawget(t, k); rawset(t, k, nil) end
  return real
end

local function pick_plain(ctx)
  local c = {}
  for _, o in ipairs(ctx.objects) do if meta_free(o.tbl) then c[#c + 1] = o end end
  return #c > 0 and R.pick(c) or nil
end

def("meta_proxy", 3, function(ctx)
  local o = pick_plain(ctx)
  if not o then return end
  local real = hollow(o.tbl)
  setmetatable(o.tbl, { __index = real })
  return "any", where(o) .. " is an empty proxy with __index"
end, true)

-- Issue 7 part 1.2: a file entry produced by __index, and a GC run by a later __index,
-- before encoding finishes. Fresh strings each time, so nothing else keeps them alive.
def("meta_gc_index", 3, function(ctx)
  if ctx.api ~= "rcs" or not meta_free(ctx.payload) then return end
  local t = ctx.payload
  local real = {}
  for _, k in ipairs { "brandProfile", "brandBackground", "subNumCertificate" } do real[k] = rawget(t, k); rawset(t, k, nil) end
  local function fresh(s) return type(s) == "string" and #s > 1 and (s:sub(1, 1) .. s:sub(2)) or s end
  setmetatable(t, { __index = function(_, k)
    collectgarbage("collect")
    local v = real[k]
    if type(v) == "table" then return { data = fresh(v.data), path = fresh(v.path), filename = fresh(v.filename) } end
    return fresh(v)
  end })
  return "any", "<top> files through __index, GC in each __index"
end, true)

def("meta_raising_index", 1, function(ctx)
  local o = pick_plain(ctx)
  if not o then return end
  setmetatable(o.tbl, { __index = function(_, k) error("index boom " .. tostring(k)) end })
  return "any_raise", where(o) .. " __index raises"
end, true)

def("meta_index_chain", 1, function(ctx)
  local o = pick_plain(ctx)
  if not o then return end
  if R.chance(0.5) then
    setmetatable(o.tbl, { __index = o.tbl })  -- a loop: Lua gives up after 2000 steps
    return "any_raise", where(o) .. " __index is itself"
  end
  local depth, chain = R.pick { 10, 1999, 2001, 5000 }, {}
  for _ = 1, depth do chain = setmetatable({}, { __index = chain }) end
  setmetatable(o.tbl, { __index = chain })
  return "any_raise", where(o) .. " __index chain of " .. depth
end, true)

-- bizreg must not honour __len/__pairs/__index of arrays: the bytes sent are the raw ones.
def("meta_len_pairs", 2, function(ctx)
  local s = pick_slot(ctx, function(s)
    local v = s.spec.t == "array" and s.present and rawget(s.parent, s.key)
    return type(v) == "table" and meta_free(v)
  end)
  if not s then return end
  local raising = R.chance(0.5)
  setmetatable(rawget(s.parent, s.key), {
    __len = function() if raising then error("len boom") end return 999 end,
    __pairs = function() if raising then error("pairs boom") end return next, { junk = 1 }, nil end,
    __index = function() if raising then error("index boom") end return "junk" end,
  })
  return "inherit", s.path .. " with " .. (raising and "raising " or "") .. "__len/__pairs/__index"
end, true)

def("meta_gc_error", 2, function(ctx)
  local o = pick_plain(ctx)
  if not o then return end
  setmetatable(o.tbl, { __gc = function() error("gc boom") end })
  return "inherit", where(o) .. " __gc raises"
end, true)

def("meta_harmless", 1, function(ctx)
  local o = pick_plain(ctx)
  if not o then return end
  setmetatable(o.tbl, { __name = "evil", __metatable = "locked", __tostring = function() error("tostring boom") end,
    __newindex = function() error("read-only payload") end, __eq = function() return true end })
  return "inherit", where(o) .. " __newindex/__tostring raise, __metatable locked"
end, true)

def("meta_index_extra", 1, function(ctx)
  local o = pick_plain(ctx)
  if not o then return end
  setmetatable(o.tbl, { __index = function(_, k) return type(k) == "string" and "junk" or nil end })
  return "any", where(o) .. " __index answers every key with \"junk\""
end, true)

---------------------------------------------------------------- numbers

local NAN, INF = 0 / 0, math.huge
local EDGES = {
  int32 = { { -2147483648, "valid" }, { 2147483647, "valid" }, { 2147483647.0, "valid" }, { -2147483648.0, "valid" },
    { 2147483648, "invalid" }, { -2147483649, "invalid" }, { math.maxinteger, "invalid" }, { math.mininteger, "invalid" },
    { 2 ^ 53, "invalid" }, { 2 ^ 63, "invalid" }, { -2 ^ 63, "invalid" }, { 1.0, "valid" }, { -0.0, "valid" },
    { 0.5, "invalid" }, { 1e308, "invalid" }, { NAN, "invalid" }, { INF, "invalid" }, { -INF, "invalid" } },
  bit = { { 0, "valid" }, { 1, "valid" }, { 0.0, "valid" }, { -0.0, "valid" }, { 1.0, "valid" }, { 2, "invalid" },
    { -1, "invalid" }, { NAN, "invalid" }, { INF, "invalid" }, { 0.5, "invalid" }, { math.maxinteger, "invalid" },
    { 1 + 2 ^ -52, "invalid" }, { math.mininteger, "invalid" } },
  unix = { { 0, "valid" }, { -0.0, "valid" }, { 253402300799, "valid" }, { 253402300800, "invalid" },
    { -62135596800, "valid" }, { -62135596801, "invalid" }, { 1.5, "valid" }, { NAN, "invalid" }, { INF, "invalid" },
    { -INF, "invalid" }, { math.maxinteger, "invalid" }, { math.mininteger, "invalid" }, { 1e300, "invalid" },
    { 1700000000.9995, "valid" }, { 2 ^ 53, "invalid" } },
}
def("number_edge", 5, function(ctx)
  local s = pick_slot(ctx, function(s) return s.spec.t == "int" or s.spec.rule == "datetime" end)
  if not s then return end
  local list = s.spec.t == "int" and (s.spec.max == 1 and EDGES.bit or EDGES.int32) or EDGES.unix
  local e = R.pick(list)
  put(s, e[1])
  return e[2], string.format("%s = %s (%s)", s.path, tostring(e[1]), math.type(e[1])), s.path
end)

local DATES = {
  { "2024-02-29T00:00:00Z", "valid" }, { "2023-02-29T00:00:00Z", "invalid" }, { "2024-13-01T00:00:00Z", "invalid" },
  { "2024-01-01T24:00:00Z", "invalid" }, { "2024-01-01T00:00:60Z", "invalid" }, { "2024-01-01 00:00:00Z", "invalid" },
  { "2024-01-01T00:00:00", "invalid" }, { "2024-01-01T00:00:00+24:00", "invalid" }, { "0001-01-01T00:00:00+00:01", "invalid" },
  { "9999-12-31T23:59:59-00:01", "invalid" }, { "9999-12-31T23:59:59.999Z", "valid" }, { "0001-01-01T00:00:00Z", "valid" },
  { "2024-01-01T00:00:00.Z", "invalid" }, { "2024-01-01T00:00:00." .. string.rep("9", 40) .. "Z", "valid" },
  { "+2024-01-01T00:00:00Z", "invalid" }, { "２０２４-01-01T00:00:00Z", "invalid" }, { "2024-01-01t00:00:00z", "valid" },
  { "2024-01-01T00:00:00+09:00\0", "invalid" }, { "", "invalid" }, { "2024-1-01T00:00:00Z", "invalid" },
  { "2024-01-01T00:00:00+0900", "invalid" }, { "2024-01-01T00:00:00.000+09:00", "valid" }, { "0000-01-01T00:00:00Z", "invalid" },
  { "2024-04-31T00:00:00Z", "invalid" }, { "1900-02-29T00:00:00Z", "invalid" }, { "2000-02-29T23:59:59.999-23:59", "valid" },
}
def("datetime_string", 3, function(ctx)
  local s = pick_slot(ctx, function(s) return s.spec.rule == "datetime" end)
  if not s then return end
  local d = R.pick(DATES)
  put(s, d[1])
  return d[2], string.format("%s = %q", s.path, d[1]), s.path
end)

---------------------------------------------------------------- huge values

def("huge_value", 1, function(ctx)
  if R.chance(0.5) then
    local s = pick_slot(ctx, function(s) return M.is_free_text(s.spec) end)
    if not s then return end
    local n = R.pick { 65536, 262144, 1048576 }
    put(s, string.rep(R.pick { "a", "가", "\0" }, n))
    return s.spec.max and "invalid" or "valid", s.path .. " of " .. n .. " code points", s.path
  end
  local o = R.pick(ctx.objects)
  rawset(o.tbl, string.rep("k", 1048576), 1)
  return "invalid", "an unknown key of 1 MiB", o.path ~= "" and o.path or nil  -- gone if the object is replaced
end)

def("huge_array", 0.5, function(ctx)
  if ctx.api == "kos" then
    local list, item = {}, ctx.payload.images[1]
    for i = 1, R.pick { 2000, 20000 } do list[i] = item end  -- the same item table many times over
    rawset(ctx.payload, "images", list)
    return "valid", "images with " .. #list .. " (shared) items", "images"
  end
  local rb = rawget(ctx.payload, "regBrand")
  local menus = { { buttonType = "call" }, { buttonType = "call" }, { buttonType = "call" }, { buttonType = "call" } }
  rawset(rb, "menus", menus)
  rawset(rb, "initFeedItems", nil)
  return "invalid", "regBrand.menus with 4 items", "regBrand.menus"
end, false, true)

---------------------------------------------------------------- RCS cross-field rules

def("cross_field", 2, function(ctx)
  if ctx.api ~= "rcs" then return end
  local p, rb = ctx.payload, rawget(ctx.payload, "regBrand")
  local how = R.int(1, 6)
  if how == 1 then rawset(rb, "menus", { { buttonType = "web" } }); rawset(rb, "initFeedItems", nil)
  elseif how == 2 then rawset(rb, "menus", { { buttonType = "call" } }); rawset(rb, "initFeedItems", { "buy" })
  elseif how == 3 then rawset(p, "chatbots", { { mdn = "0212345678", subNum = "0212345679", subTitle = "t" } })
  elseif how == 4 then rawset(p, "chatbots", { { mdn = "0212345678", subTitle = "a" }, { mdn = "0212345678", subTitle = "b" } })
  elseif how == 5 then rawset(p, "chatbots", { { mdn = "0212345678", subTitle = "t" } }); rawset(p, "subNumCertificate", nil)
  else rawset(p, "chatbots", { { mdn = "01012345678", subTitle = "t" } }) end
  if how ~= 5 and rawget(p, "subNumCertificate") == nil then rawset(p, "subNumCertificate", { data = G.cert("pdf") }) end
  return "invalid", "cross-field rule " .. how
end, false, true)

---------------------------------------------------------------- files

def("file_oddity", 8, function(ctx)
  if ctx.api ~= "rcs" then return end
  local name = R.pick { "brandProfile", "brandProfile", "brandBackground", "subNumCertificate" }
  local odd = F.static(R, name)
  rawset(ctx.payload, name, odd[2])
  ctx.tags[#ctx.tags + 1] = "file." .. odd[1]
  ctx.subtag = "file." .. odd[1]
  return odd[3], name .. " is " .. odd[1], name
end)

def("file_midflight", 0.5, function(ctx)
  if ctx.api ~= "rcs" or ctx.midflight then return end
  local m = F.midflight(R, G, ctx.i)
  rawset(ctx.payload, "brandProfile", R.chance(0.5) and m.path or { path = m.path })
  ctx.midflight = m
  ctx.tags[#ctx.tags + 1] = "midflight." .. m.name
  ctx.subtag = "midflight." .. m.name
  return m.expect, "brandProfile file " .. m.name .. " after validation", "brandProfile"
end, true)

return M
