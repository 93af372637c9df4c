-- KOS search-visitors: the answer's mapping (POST /visitor/open/v1/queries/search-visitors).
-- The request's rows are in src/api_kos.c (core.encode_search_visitors); kos.lua registers
-- the operation. A query changes nothing on the server: its route is a "repeat" one
-- (bizreg.routes), sent again after a failure after sending, within the client's retries.
local cjson = require "cjson.safe"
local errors = require "bizreg.errors"
local fields = require "bizreg.fields"
local events = require "bizreg.events"  -- called only when the client has on_event

local M = {}

M.PATH = "/visitor/open/v1/queries/search-visitors"

-- A data[] entry's documented fields (fields.lua rows); id is what register_visitor_images needs.
local VISITOR = { id = "string", chartNumber = "string", name = "string", dateOfBirth = "string",
  gender = "string", phoneNumber = "table" }
local PHONE = { countryCode = "string", phoneNumber = "string" }

local function absent(v) return v == nil or v == cjson.null end

-- A proper list (cjson decodes [] and {} alike: an empty one is fine either way).
local function is_list(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- One data[] entry -> { id, chartNumber, name, phoneNumber = { countryCode, phoneNumber },
-- dateOfBirth, gender, ... } (fields of another type kept raw, named in odd), or nil and
-- what is wrong (no id).
local function visitor(entry, i, odd)
  local name = string.format("data[%d]", i - 1)
  local v, why = fields.pick(entry, VISITOR, "id", name, odd)
  if v and type(v.phoneNumber) == "table" then
    v.phoneNumber = fields.pick(v.phoneNumber, PHONE, nil, name .. ".phoneNumber", odd)
  end
  return v, why
end

-- body: the decoded 2xx answer (kos.map_response). Returns { visitors = {...}, data = raw list }.
-- client: for the answer event naming fields of an unexpected type.
function M.map(body, res, client)
  local data = body.data
  if absent(data) then data = {} end  -- proto3 JSON may leave an empty list out
  if type(data) ~= "table" or not is_list(data) then
    return nil, errors.decode(res.status, "search-visitors answered without a data list", res.body)
  end
  local out, odd = {}, {}
  for i, entry in ipairs(data) do
    local v, why = visitor(entry, i, odd)
    if not v then
      return nil, errors.decode(res.status, string.format("search-visitors data[%d]: %s", i - 1, why), res.body)
    end
    out[i] = v
  end
  if client and client.on_event and #odd > 0 then events.answer(client, odd) end
  return { visitors = out, data = data }
end

return M
