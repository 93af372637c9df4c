-- Credentials and base URLs come only from the environment: arguments show in `ps`.
local M = {}

M.SECRET_VARS = { "BIZREG_RCS_CLIENT_SECRET", "BIZREG_RCS_TOKEN", "BIZREG_KOS_API_KEY", "BIZREG_KOS_TOKEN" }

local function get(getenv, name)
  local v = getenv(name)
  if v == "" then return nil end
  return v
end

-- Every secret value present in the environment (the output scrubs them).
function M.secrets(getenv)
  getenv = getenv or os.getenv
  local out = {}
  for _, k in ipairs(M.SECRET_VARS) do out[#out + 1] = get(getenv, k) end
  return out
end

local function base_url(getenv, name, example)
  local url = get(getenv, name)
  if not url then
    return nil, name .. " is not set (the API's base URL, e.g. " .. example .. " for `bizreg sandbox`)"
  end
  if not url:match("^https?://[^/]") then return nil, name .. " must start with http:// or https://" end
  return url
end

local function one_of(getenv, a, b)
  local va, vb = get(getenv, a), get(getenv, b)
  if va and vb then return nil, nil, "both " .. a .. " and " .. b .. " are set: set only one" end
  if not va and not vb then return nil, nil, "neither " .. a .. " nor " .. b .. " is set" end
  return va, vb
end

-- Client options for bizreg.kos{} (opts: extra options such as timeout), or nil, message.
-- dry: a dry run only needs the URL, and takes a placeholder when even that is missing.
-- The options both APIs start from: a copy of opts and base_url from var | nil, message.
local function with_base_url(getenv, opts, dry, var, example)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  local url, err = base_url(getenv, var, example)
  if not url then
    if not dry then return nil, err end
    url = "$" .. var
  end
  o.base_url = url
  return o
end

function M.kos(getenv, opts, dry)
  getenv = getenv or os.getenv
  local o, err = with_base_url(getenv, opts, dry, "BIZREG_KOS_BASE_URL", "http://127.0.0.1:8089")
  if not o then return nil, err end
  o.api_key, o.token, err = one_of(getenv, "BIZREG_KOS_API_KEY", "BIZREG_KOS_TOKEN")
  if err and not dry then return nil, err end
  return o
end

function M.rcs(getenv, opts, dry)
  getenv = getenv or os.getenv
  local o, err = with_base_url(getenv, opts, dry, "BIZREG_RCS_BASE_URL", "http://127.0.0.1:8089/api/1.1")
  if not o then return nil, err end
  local id, secret, token = get(getenv, "BIZREG_RCS_CLIENT_ID"), get(getenv, "BIZREG_RCS_CLIENT_SECRET"), get(getenv, "BIZREG_RCS_TOKEN")
  if dry then
    o.client_id, o.client_secret, o.token = id, secret, token
    return o
  end
  if token and (id or secret) then
    return nil, "BIZREG_RCS_TOKEN and BIZREG_RCS_CLIENT_ID/BIZREG_RCS_CLIENT_SECRET are set: set only one way"
  end
  if token then o.token = token return o end
  if id and not secret then return nil, "BIZREG_RCS_CLIENT_SECRET is not set (BIZREG_RCS_CLIENT_ID is)" end
  if secret and not id then return nil, "BIZREG_RCS_CLIENT_ID is not set (BIZREG_RCS_CLIENT_SECRET is)" end
  if not id then
    return nil, "neither BIZREG_RCS_CLIENT_ID + BIZREG_RCS_CLIENT_SECRET nor BIZREG_RCS_TOKEN is set"
  end
  o.client_id, o.client_secret = id, secret
  return o
end

-- Creates the client; a value the library refuses (a CR in a token) is a usage error.
function M.client(new, o, ui)
  local ok, c = pcall(new, o)
  -- the library's message already says "bizreg: ": the caller adds it once
  if not ok then return nil, ui:scrub((tostring(c):gsub("^[^:]*:%d+: ", ""):gsub("^bizreg: ", ""))) end
  return c
end

return M
