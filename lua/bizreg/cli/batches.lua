-- Visitor images split into requests of at most N images, each validated and encoded
-- by the library (bizreg.prepare_visitor_images) before anything is sent.
local bizreg = require "bizreg"

local M = {}

-- What a KOS reason means, for the one-line report (the server sends no message).
M.HINTS = {
  Required = "required value",
  InvalidType = "wrong type",
  InvalidEnum = "not one of the documented values",
  InvalidFormat = "wrong format",
  InvalidUtf8 = "not valid UTF-8",
  TooLong = "too long (memo: at most 150 characters)",
  TooMany = "too many items",
  TooFew = "too few items",
  UnknownField = "unknown field (a typo?)",
  NotAvailable = "not an RFC 3339 date-time",
  InvalidJSON = "invalid JSON",
  NotFound = "not found on the server",
}

-- One violation (the library's or the server's errorProperties entry) as the report shows
-- it: key relative to the whole file (1-based image) and its line in a JSON Lines file.
-- first: the batch's first image number. The one error -> file position mapper.
function M.violation(p, first, lines)
  local v = { key = p.key, reason = p.reason, message = p.message }
  if p.index then
    local n = first + p.index - 1
    v.image = n
    v.key = "images[" .. n .. "]" .. (p.key ~= "" and ("." .. p.key) or "")
    v.line = lines and lines[n]
  end
  v.message = v.message or M.HINTS[p.reason]
  return v
end

-- items: list of image tables; size: images per request; lines: JSON Lines numbers or nil.
-- Returns batches ({ n, first, last, req }: req as prepare_visitor_images made it, which
-- client:send_prepared sends as it is) and the violations of every batch (empty when all are valid).
function M.split(items, size, lines)
  local batches, violations = {}, {}
  local count = math.ceil(#items / size)
  for n = 1, count do
    local first, last = (n - 1) * size + 1, math.min(n * size, #items)
    local slice = {}
    for i = first, last do slice[#slice + 1] = items[i] end
    local req, err = bizreg.prepare_visitor_images { images = slice }
    if req then
      batches[n] = { n = n, first = first, last = last, req = req }
    else
      for _, p in ipairs(err.errorProperties or {}) do violations[#violations + 1] = M.violation(p, first, lines) end
      if #(err.errorProperties or {}) == 0 then
        violations[#violations + 1] = { key = "images", reason = "Invalid", message = tostring(err.message) }
      end
    end
  end
  return batches, violations, count
end

-- "images[37].memo  TooLong  too long (...)  (line 37)"
function M.line(v)
  local s = v.key .. "  " .. tostring(v.reason)
  if v.message then s = s .. "  " .. v.message end
  if v.line then s = s .. "  (line " .. v.line .. ")" end
  return s
end

return M
