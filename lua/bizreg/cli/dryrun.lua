-- --dry-run: the HTTP request that would be sent, sending nothing. The headers are the
-- ones the client adds (User-Agent, Accept, Authorization) plus the request's own; the
-- Authorization value is always redacted, whether or not credentials are set.
local bizreg = require "bizreg"
local json = require "bizreg.cli.json"
local fmt = require "bizreg.cli.fmt"
local multipart = require "bizreg.cli.multipart"

local M = {}

-- The request as the client would send it: { method, url, headers, body, parts? }.
function M.request(base_url, req, method, path)
  local headers = {
    ["User-Agent"] = "bizreg/" .. bizreg.VERSION,
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer ***",
    ["Content-Length"] = tostring(#req.body),
  }
  for k, v in pairs(req.headers or {}) do headers[k] = v end
  return { method = method or req.method, url = base_url:gsub("/+$", "") .. (path or req.path),
    headers = headers, body = req.body }
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Multipart: JSON and text parts in full, file parts as one summary line each. A head may lack
-- a name (tostring: Lua 5.1's %s refuses nil).
local function part_lines(r)
  local lines = {}
  for _, p in ipairs(multipart.parts(r.body, r.headers["Content-Type"] or "")) do
    if p.filename then
      local dims = p.width and (" " .. p.width .. "x" .. p.height) or ""
      lines[#lines + 1] = string.format("--- part %s: file %q, %s, %s bytes (%s%s)", tostring(p.name), p.filename,
        tostring(p.content_type), fmt.int(p.size), p.detected or "unknown type", dims)
    else
      lines[#lines + 1] = string.format("--- part %s: %s bytes", tostring(p.name), fmt.int(p.size))
      lines[#lines + 1] = p.data
    end
  end
  return lines
end

-- Prints one request. notes: comment lines shown before it (batch, token flow).
function M.print(ui, r, notes)
  if ui.json then return end
  for _, n in ipairs(notes or {}) do ui:out("# " .. n) end
  ui:out(r.method .. " " .. r.url)
  for _, k in ipairs(sorted_keys(r.headers)) do ui:out(k .. ": " .. r.headers[k]) end
  ui:out("")
  if (r.headers["Content-Type"] or ""):match("^multipart/") then
    for _, l in ipairs(part_lines(r)) do ui:out(l) end
  else
    ui:out(r.body)
  end
  ui:out("")
end

-- The same request as a JSON value (file parts summarised, never their bytes).
function M.json(r)
  local headers = {}
  for k, v in pairs(r.headers) do headers[k] = v end  -- plain table: encoded with sorted keys
  local parts, body
  if (r.headers["Content-Type"] or ""):match("^multipart/") then
    parts = json.array()
    for _, p in ipairs(multipart.parts(r.body, r.headers["Content-Type"])) do
      parts[#parts + 1] = json.obj("name", p.name, "filename", p.filename, "content_type", p.content_type,
        "size", p.size, "detected", p.detected, "width", p.width, "height", p.height,
        "body", not p.filename and p.data or nil)
    end
  else
    body = r.body
  end
  return json.obj("method", r.method, "url", r.url, "headers", headers, "body", body, "parts", parts)
end

-- Where the Authorization value would come from (never the value itself).
function M.auth_note(kind, o)
  if kind == "kos" then
    if o.api_key then
      return "Authorization: a token from POST " .. o.base_url .. "/open/authorization/commands/exchange-token (BIZREG_KOS_API_KEY)"
    end
    if o.token then return "Authorization: Bearer BIZREG_KOS_TOKEN" end
    return "Authorization: BIZREG_KOS_API_KEY or BIZREG_KOS_TOKEN (neither is set)"
  end
  if o.token then return "Authorization: Bearer BIZREG_RCS_TOKEN" end
  if o.client_id then return "Authorization: a token from POST " .. o.base_url .. "/token (BIZREG_RCS_CLIENT_ID, BIZREG_RCS_CLIENT_SECRET)" end
  return "Authorization: BIZREG_RCS_CLIENT_ID + BIZREG_RCS_CLIENT_SECRET or BIZREG_RCS_TOKEN (none is set)"
end

return M
