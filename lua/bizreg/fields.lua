-- An answer's documented fields, picked by rows (field -> Lua type) that each API file
-- states for its own answers (rcs_brands.lua, rcs_categories.lua, kos_search.lua).
-- null (cjson.null) is absent; a field of another type makes the whole entry unreadable.
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"

local M = {}

-- The documented fields of obj, or nil and what is wrong. required: the one field that
-- must be a non-empty string (the entry's id).
function M.pick(obj, fields, required)
  if type(obj) ~= "table" then return nil, "not an object" end
  local out = {}
  for k, want in pairs(fields) do
    local v = obj[k]
    if v ~= nil and v ~= cjson.null then
      if type(v) ~= want then return nil, k .. " is not a " .. want end
      -- cjson reads NaN, Infinity and 1e999: no count or offset the API means
      if want == "number" and not (v == v and v > -math.huge and v < math.huge) then return nil, k .. " is not finite" end
      out[k] = want == "number" and math.floor(v) or v
    end
  end
  if required and (type(out[required]) ~= "string" or out[required] == "") then
    return nil, "no " .. required
  end
  return out
end

-- Every entry of list picked, or nil and a decode error naming the first bad one as
-- label[i] (first: the index the API's documents give the first entry, 0 or 1).
function M.pick_list(res, list, fields, required, label, first)
  local out = {}
  for i, e in ipairs(list) do
    local v, why = M.pick(e, fields, required)
    if not v then
      return nil, errors.decode(res.status, string.format("%s[%d]: %s", label, i - 1 + first, why), res.body)
    end
    out[i] = v
  end
  return out
end

return M
