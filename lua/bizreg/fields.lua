-- An answer's fields, read by rows (field -> Lua type) that each API file states for its
-- own answers (rcs_brands.lua, rcs_categories.lua, kos_search.lua). Exact but tolerant:
-- null (cjson.null) is absent, fields the rows do not name are kept as they came, and a
-- named field of another type is kept raw and its path added to `odd` (the caller reports
-- it in an `answer` event). Only the entry's id (required) is needed for an answer.
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"

local M = {}

-- A number field sent as a decimal string ("12"): read as the number.
local function as_number(v)
  if type(v) == "string" and v:match("^%-?%d+$") then return tonumber(v) end
  return nil
end

-- The fields of obj, or nil and what is wrong (not an object, no id). required: the one
-- field that must be a non-empty string (the entry's id). path: the entry's name in odd.
function M.pick(obj, rows, required, path, odd)
  if type(obj) ~= "table" then return nil, "not an object" end
  local out = {}
  for k, v in pairs(obj) do
    if v ~= cjson.null then
      local want = rows[k]
      -- cjson reads NaN, Infinity and 1e999: no value the API means, nor one JSON could carry
      -- on (the CLI's --json): named in odd and dropped, whatever the row's type
      if type(v) == "number" and not (v == v and v > -math.huge and v < math.huge) then
        if odd then odd[#odd + 1] = (path and path .. "." or "") .. tostring(k) end
        v = nil
      elseif want == "number" and type(v) == "number" then v = math.floor(v)
      elseif want and type(v) ~= want then
        v = want == "number" and as_number(v) or v
        if odd then odd[#odd + 1] = (path and path .. "." or "") .. tostring(k) end
      end
      out[k] = v
    end
  end
  if required and (type(out[required]) ~= "string" or out[required] == "") then
    return nil, "no " .. required
  end
  return out
end

-- Every entry of list picked, or nil and a decode error naming the first entry without its
-- id as label[i] (first: the index the API's documents give the first entry, 0 or 1).
function M.pick_list(res, list, rows, required, label, first, odd)
  local out = {}
  for i, e in ipairs(list) do
    local name = string.format("%s[%d]", label, i - 1 + first)
    local v, why = M.pick(e, rows, required, name, odd)
    if not v then
      return nil, errors.decode(res.status, name .. ": " .. why, res.body)
    end
    out[i] = v
  end
  return out
end

return M
