-- Requests made by a prepare_* function, remembered (weakly) with how to send them, so that
-- client:send_prepared sends only what bizreg itself validated and encoded: a table built by
-- hand, or a prepared request whose body was replaced since, is refused.
local errors = require "bizreg.errors"

local M = {}

local made = setmetatable({}, { __mode = "k" })

-- req: the request prepare_* returns; api: the client class it is for ("bizreg.kos");
-- op: { run = fn(client, ctx, req) } (the send half of the call that prepares it).
function M.mark(req, api, op)
  made[req] = { api = api, op = op, body = req.body }
  return req
end

-- The send half recorded for req, for a client of class api ("bizreg.kos"); raises (at the
-- caller's position) for anything else: not made by prepare_*, its body changed since, or
-- made for the other API.
function M.op(req, api)
  local p = type(req) == "table" and made[req]
  if not (p and rawequal(p.body, req.body)) then
    errors.raise("bizreg: send_prepared: the request was not made by a bizreg prepare_* function")
  end
  if p.api ~= api then errors.raise("bizreg: send_prepared: this request is for " .. p.api .. ", not " .. api) end
  return p.op
end

return M
