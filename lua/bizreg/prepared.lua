-- Requests made by a prepare_* function, remembered (weakly) with how to send them, so that
-- client:send_prepared sends only what bizreg itself validated and encoded: a table built by
-- hand, or a prepared request whose body was replaced since, is refused.
local M = {}

local made = setmetatable({}, { __mode = "k" })

-- req: the request prepare_* returns; api: the client class it is for ("bizreg.kos");
-- op: { run = fn(client, ctx, req) } (the send half of the call that prepares it).
function M.mark(req, api, op)
  made[req] = { api = api, op = op, body = req.body }
  return req
end

-- What mark recorded for req, or nil (not made by prepare_*, or its body changed since).
function M.find(req)
  local p = made[req]
  if p and rawequal(p.body, req.body) then return p end
  return nil
end

return M
