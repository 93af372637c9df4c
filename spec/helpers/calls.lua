-- Shared by the fault matrix (spec/slow/faults_spec.lua), the soak (spec/soak.lua) and the
-- end-to-end and unit specs: unique payloads, clients against the sandbox, one call run
-- blocking or as a job with its wall time, a recursive search for secrets in what a call
-- returned, and a scripted Lua transport with the client's sleeps skipped.
local bizreg = require "bizreg"
local fx = require "spec.helpers.fixtures"
local socket = require "socket"

local M = {}

M.API_KEY, M.CLIENT_ID, M.CLIENT_SECRET = "11111111-2222-4333-8444-555555555555", "sandbox", "SK.sandboxsecret1"
M.STATIC = { kos = "sandbox-kos-token", rcs = "sandbox-rcs-token" }
M.SECRETS = { M.STATIC.kos, M.STATIC.rcs, M.API_KEY, M.CLIENT_SECRET }
M.ENDPOINT = { kos = "kos.register_visitor_images", rcs = "rcs.register_brand" }
M.TOKEN_ENDPOINT = { kos = "kos.exchange_token", rcs = "rcs.token" }
M.OP = { kos = "register_visitor_images", rcs = "register_brand" }

local seq = 0
local run = tostring(os.time())

-- A valid payload whose body is unique (a duplicate at the sandbox can only be a resend).
function M.payload(api)
  seq = seq + 1
  local tag = run .. "-" .. seq
  if api == "kos" then
    return { images = { { fileName = "faults/" .. tag .. ".jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1",
      memo = "fault case " .. tag } } }
  end
  return fx.brand { regBrand = { name = "테스트브랜드", description = "fault case " .. tag, tel = "09046123177",
    categoryId = "EDU", subCategoryId = "EDU007", menus = { { buttonType = "call" } } } }
end

-- opts: url (base, default the sandbox's), auth = "static" | "fetch", plus client options.
-- An RCS client that fetches its token from the sandbox, retries 0; extra adds options,
-- and `false` removes one (e.g. { client_secret = false }); auth = "static": the sandbox's
-- static token instead of the client credentials (no token call).
function M.rcs_client(sb, extra)
  local o = { base_url = sb.rcs_url, client_id = M.CLIENT_ID, client_secret = M.CLIENT_SECRET, retries = 0 }
  for k, v in pairs(extra or {}) do
    if v == false then o[k] = nil else o[k] = v end
  end
  if o.auth == "static" then o.client_id, o.client_secret, o.token = nil, nil, M.STATIC.rcs end
  o.auth = nil
  return bizreg.rcs(o)
end

function M.client(sb, api, opts)
  opts = opts or {}
  local o = {}
  for k, v in pairs(opts) do if k ~= "url" and k ~= "auth" then o[k] = v end end
  local base = opts.url or sb.url
  if api == "kos" then
    o.base_url = base
    if opts.auth == "fetch" then o.api_key = M.API_KEY else o.token = M.STATIC.kos end
    return bizreg.kos(o)
  end
  o.base_url = base .. "/api/1.1"
  if opts.auth == "fetch" then o.client_id, o.client_secret = M.CLIENT_ID, M.CLIENT_SECRET
  else o.token = M.STATIC.rcs end
  return bizreg.rcs(o)
end

-- One call, blocking or as a job driven by bizreg.poll; returns res, err, seconds.
-- A job still running after `give_up` seconds returns nil, "hung", seconds.
function M.call(c, api, style, payload, give_up)
  local t0 = socket.gettime()
  if style == "blocking" then
    local res, err = c[M.OP[api]](c, payload)
    return res, err, socket.gettime() - t0
  end
  local job = c:start(M.OP[api], payload)
  while not job.done do
    if socket.gettime() - t0 > give_up then return nil, "hung", socket.gettime() - t0 end
    bizreg.poll(0.05)
  end
  local res, err = job:result()
  return res, err, socket.gettime() - t0
end

-- Where (a path) any secret occurs in v, keys and values, recursively; nil if nowhere.
function M.find_secret(v, secrets, path, seen)
  path, seen = path or "result", seen or {}
  if type(v) == "string" then
    for _, s in ipairs(secrets) do
      if v:find(s, 1, true) then return path end
    end
  elseif type(v) == "table" and not seen[v] then
    seen[v] = true
    for k, x in pairs(v) do
      local p = path .. "." .. tostring(k)
      local hit = M.find_secret(k, secrets, p .. " (key)", seen) or M.find_secret(x, secrets, p, seen)
      if hit then return hit end
    end
  end
  return nil
end

-- The secrets a call could have seen: the fixed ones plus the bearer token of the
-- sandbox's last recorded request (a fetched token), if any.
function M.secrets(sb)
  local list = {}
  for i, s in ipairs(M.SECRETS) do list[i] = s end
  local ok, h = pcall(sb.headers, sb)
  local bearer = ok and type(h) == "table" and type(h.authorization) == "string" and h.authorization:match("^%S+ (%S+)")
  if bearer then list[#list + 1] = bearer end
  return list
end

-- A scripted Lua transport: call i gets answers[i] (the last one again after that), a pair
-- { res, err } or a function(req) that returns them. Returns the transport and the list of
-- what it recorded of each request: the request itself, or record(req).
function M.scripted(answers, record)
  local seen = {}
  return function(req)
    if record then seen[#seen + 1] = record(req) else seen[#seen + 1] = req end
    local a = answers[#seen] or answers[#answers]
    if type(a) == "function" then return a(req) end
    return a[1], a[2]
  end, seen
end

-- Runs f with the client's sleeps skipped (its ctx sleeps with ngx.sleep when ngx exists),
-- so back-offs cost no time; ngx is restored before f's error goes on. Returns f's first
-- two results.
function M.no_sleep(f)
  local saved = rawget(_G, "ngx")
  rawset(_G, "ngx", { sleep = function() end })
  local ok, a, b = pcall(f)
  rawset(_G, "ngx", saved)
  assert(ok, a)
  return a, b
end

return M
