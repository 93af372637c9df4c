-- Requests made by a prepare_* function, marked with how to send them, so that
-- client:send_prepared sends only what bizreg itself validated and encoded: a table built by
-- hand (or a copy of a prepared one) is refused.
local errors = require "bizreg.errors"

local M = {}

-- The mark: a metatable per send half, made once, holding this module's private key, which
-- nothing outside can forge. Nothing is allocated per request: a table per request, or a weak
-- registry of them, cost prepare_visitor_images 10-14 % more instructions (make bench's encode
-- rows). The request is sent as it is: its body is the one prepare_* wrote unless the caller
-- replaced it, which is then the caller's own request.
local MADE = {}
local mark_of = {}      -- op -> its metatable

-- req: the request prepare_* returns; api: the client class it is for ("bizreg.kos");
-- op: { run = fn(client, ctx, req) } (the send half of the call that prepares it).
function M.mark(req, api, op)
  local mt = mark_of[op]
  if not mt then mt = { [MADE] = op, api = api } mark_of[op] = mt end
  return setmetatable(req, mt)
end

-- The send half recorded for req, for a client of class api ("bizreg.kos"); raises (at the
-- caller's position) for anything else: not made by prepare_* (a copy of one is not), or made
-- for the other API.
function M.op(req, api)
  local mt = type(req) == "table" and getmetatable(req)
  local op = type(mt) == "table" and rawget(mt, MADE)
  if not op or type(req.body) ~= "string" then
    errors.raise("bizreg: send_prepared: the request was not made by a bizreg prepare_* function")
  end
  if mt.api ~= api then errors.raise("bizreg: send_prepared: this request is for " .. mt.api .. ", not " .. api) end
  return op
end

return M
