-- Mutations of a valid payload. Each returns what the mutated payload must give:
--   "valid"   bizreg accepts it and so does the sandbox
--   "invalid" bizreg rejects it (nil, err with kind = "validation"), nothing is sent
--   "any"     either, but if bizreg accepts it the sandbox must accept it too
--   "any_raise" like "any", or a raise (a user metamethod that raises may propagate)
--   "inherit" the payload keeps the expectation it had (metamethods bizreg must ignore)
--   "body_error" / "body_error_or_valid": the file changes after validation (oddfiles.lua)
-- and a one-line description for the report. nil when the mutation does not apply.
local cjson = require "cjson.safe"
local G = require "spec.property.gen"
local R = G.R

local M = {}

local function is_free_text(spec) return spec.t == "string" and not spec.enum and not spec.rule end
local function pick_slot(ctx, pred)
  local c = {}
  for _, s in ipairs(ctx.slots) do if pred(s) then c[#c + 1] = s end end
  return #c > 0 and R.pick(c) or nil
end
local function put(s, v) rawset(s.parent, s.key, v) end

-- A value of another Lua type than spec allows (nil and cjson.null excluded: those mean "absent").
local function wrong_value(spec)
  local pool = { true, false, 1.5, "s", {}, function() end, io.stdout, coroutine.create(function() end), 0 / 0, math.huge }
  for _ = 1, 20 do
    local v = R.pick(pool)
    local t = type(v)
    if v ~= v or v == math.huge then t = "number" end
    local bad = ({
      string = t ~= "string" and not (spec.rule == "datetime" and t == "number"),
      int = t ~= "number" or (v ~= v) or v == math.huge or v ~= math.floor(v),
      bool = t ~= "boolean", object = t ~= "table", array = t ~= "table",
      file = t ~= "string" and t ~= "table", form = t ~= "string",
    })[spec.t]
    if bad then return v end
  end
  return true
end

M.list = {}
local function def(name, weight, fn) M.list[#M.list + 1] = { name = name, weight = weight, fn = fn } end

def("wrong_type", 10, function(ctx)
  local s = pick_slot(ctx, function(s) return s.spec.t ~= "array" or s.present end)
  if not s then return end
  local v = wrong_value(s.spec)
  put(s, v)
  return "invalid", s.path .. " = " .. type(v), s.path
end)

def("non_sequence", 3, function(ctx)
  local s = pick_slot(ctx, function(s) return s.spec.t == "array" and s.present end)
  if not s then return end
  local t = rawget(s.parent, s.key)
  if type(t) ~= "table" then return end  -- an earlier mutation replaced it
  local how = R.int(1, 4)
  if how == 1 then rawset(t, rawlen(t) + 2, rawget(t, 1) or 1) elseif how == 2 then rawset(t, "x", 1)
  elseif how == 3 then rawset(t, 0, 1) else rawset(t, 1.5, 1) end
  return "invalid", s.path .. " made a non-sequence (" .. how .. ")"
end)

def("remove_required", 3, function(ctx)
  local s = pick_slot(ctx, function(s) return s.required and s.present and not s.item end)
  if not s then return end
  local null = R.chance(0.3)
  put(s, null and cjson.null or nil)
  return "invalid", s.path .. (null and " = cjson.null" or " removed"), s.path
end)

def("null_optional", 2, function(ctx)
  local s = pick_slot(ctx, function(s) return not s.required and s.present end)
  if not s then return end
  put(s, cjson.null)
  return s.spec.cross and "any" or "valid", s.path .. " = cjson.null", s.path
end)

def("too_long", 4, function(ctx)
  local s = pick_slot(ctx, function(s) return (s.spec.t == "string" or s.spec.t == "form") and s.spec.max end)
  if not s then return end
  put(s, R.text(s.spec.max + R.pick { 1, 1, 2, 100 }, s.spec.t == "form" and { "1" } or nil))
  return "invalid", s.path .. " over max " .. s.spec.max, s.path
end)

def("at_max", 4, function(ctx)
  local s = pick_slot(ctx, function(s) return is_free_text(s.spec) end)
  if not s then return end
  local n = s.spec.max or R.int(150, 3000)
  put(s, R.text(n))
  return "valid", s.path .. " at " .. n .. " code points", s.path
end)

local BAD_UTF8 = { "\128", "\191x", "\192\128", "\224\128\128", "\237\160\128", "\244\144\128\128", "\248\136\128\128\128",
  "\255", "가\234", "\226\130", "\xC3" }
def("bad_utf8", 5, function(ctx)
  local s = pick_slot(ctx, function(s) return s.spec.t == "string" or s.spec.t == "form" end)
  if not s then return end
  local bad = R.pick(BAD_UTF8)
  local base = R.text(R.int(0, 3), { "a", "가" })
  put(s, R.chance(0.5) and base .. bad or bad .. base)
  return "invalid", s.path .. " with invalid UTF-8 " .. string.format("%q", bad), s.path
end)

def("nul_in_string", 4, function(ctx)
  local s = pick_slot(ctx, function(s) return s.spec.t == "string" and s.present end)
  if not s then return end
  local v = rawget(s.parent, s.key)
  if type(v) ~= "string" then return end
  local spec = s.spec
  -- an earlier mutation (bad_utf8) broke its UTF-8: what this one says of the value (valid)
  -- would hide that (seed 303527507, payload 7489: a url expected valid, rightly refused)
  local n = utf8.len(v)
  if not n then return end
  if is_free_text(spec) then
    if spec.max and n >= spec.max then v = "" end
    put(s, R.chance(0.5) and v .. "\0" or "\0" .. v)
    return "valid", s.path .. " with a NUL byte", s.path
  end
  put(s, v .. "\0")
  if spec.rule == "url" then return "valid", s.path .. " url ending in NUL", s.path end
  if spec.rule == "category" then return "any", s.path .. " category with NUL (sandbox catalogue)", s.path end
  return "invalid", s.path .. " enum/format value with a NUL byte", s.path
end)

def("enum_miss", 2, function(ctx)
  local s = pick_slot(ctx, function(s) return s.spec.enum end)
  if not s then return end
  local e = R.pick(s.spec.enum)
  local v = R.pick { e:lower() ~= e and e:lower() or e:upper(), e .. " ", " " .. e, "app", "chat", "" }
  if v == e then v = e .. "x" end
  put(s, v)
  return "invalid", s.path .. " = " .. string.format("%q", v), s.path
end)

local function odd_key()
  return R.pick { "x", "fileNmae", "Name", "regBrand\0x", "images\0", "name\0", "a\r\nb", "\255\254", string.rep("k", 70000),
    1, 2, 0, -1, 1.5, -0.0, math.maxinteger, true, false, {}, print, io.stdout }
end
def("unknown_key", 4, function(ctx)
  local o = R.pick(ctx.objects)
  local k = odd_key()
  if type(k) == "string" and o.spec.fields then
    for _, f in ipairs(o.spec.fields) do if f[1] == k then return end end
  end
  rawset(o.tbl, k, R.pick { 1, "v", true, {} })
  -- the object's path: a later mutation replacing the object takes the key away with it
  return "invalid", (o.path == "" and "<top>" or o.path) .. " gets unknown key " .. (type(k) == "string" and string.format("%q", k:sub(1, 20)) or tostring(k)),
    o.path ~= "" and o.path or nil
end)

def("nul_in_key", 3, function(ctx)
  local o = R.pick(ctx.objects)
  local f = R.pick(o.spec.fields)
  local k = f[1] .. "\0" .. R.pick { "", "x", f[1] }
  rawset(o.tbl, k, rawget(o.tbl, f[1]) or "v")
  return "invalid", (o.path == "" and "<top>" or o.path) .. " gets key " .. string.format("%q", k), o.path ~= "" and o.path or nil
end)

def("self_reference", 3, function(ctx)
  local o = R.pick(ctx.objects)
  local how = R.int(1, 3)
  if how == 1 then
    rawset(o.tbl, "self", o.tbl)
  elseif how == 2 then  -- a known object field pointing back to its parent
    local s = pick_slot(ctx, function(s) return s.spec.t == "object" end)
    if not s then return end
    put(s, s.parent)
    return "invalid", "cycle: " .. s.path .. " is its own parent", s.path
  else  -- an array holding its own container
    local s = pick_slot(ctx, function(s) return s.spec.t == "array" and s.present end)
    if not s then return end
    local t = rawget(s.parent, s.key)
    if type(t) ~= "table" then return end
    rawset(t, rawlen(t) + 1, s.parent)
  end
  return "invalid", "cycle (" .. how .. ") at " .. (o.path == "" and "<top>" or o.path)
end)

def("deep_nesting", 3, function(ctx)
  local depth = R.pick { 40, 200, 5000, 100000 }
  local v = {}
  for _ = 1, depth do v = { v } end
  local s = pick_slot(ctx, function() return true end)
  if R.chance(0.3) or not s then
    local o = R.pick(ctx.objects)
    rawset(o.tbl, "deep", v)
    -- the object's path, as unknown_key: a later mutation replacing the object (null_optional
    -- of images[2].equipment) takes the nesting away with it, and its expectation wins
    return "invalid", "nesting of depth " .. depth .. " under unknown key " .. (o.path == "" and "<top>" or o.path) .. ".deep",
      o.path ~= "" and o.path or nil
  end
  put(s, v)
  return "invalid", "nesting of depth " .. depth .. " at " .. s.path, s.path
end)

M.pick_slot, M.put, M.is_free_text = pick_slot, put, is_free_text
return M
