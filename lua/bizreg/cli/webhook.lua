-- bizreg webhook listen --port N [--count N] [--json]: a small HTTP listener on 127.0.0.1 for
-- operators testing their webhook registration. Each POST is answered through
-- bizreg.webhook.handle (200, or the 400 it says) and each notification printed once, as one
-- line (or one JSON line). Repeats are answered 200 and noted on stderr, as the library
-- de-duplicates them (a store in this process's memory).
-- It needs LuaSocket (Debian: lua-socket; LuaRocks: luasocket), loaded only by this command:
-- the rest of the CLI runs without it. One connection at a time, each with a 5 s limit: a
-- test tool, not a server (nginx + ngx_handler is the production host, docs/openresty.md).
local webhook = require "bizreg.webhook"
local json = require "bizreg.cli.json"
local outcome = require "bizreg.cli.outcome"
local core = require "bizreg.core"

local M = {}

M.DEFAULT_PORT = 8090
local IO_TIMEOUT = 5        -- seconds a connection may take to send its request
local ACCEPT_TICK = 0.5     -- seconds between looks for Ctrl-C / SIGTERM while idle
local MAX_HEADER_LINES = 100
local unpack_ = table.unpack or unpack -- luacheck: ignore

local os_cli = core.cli and core.cli() or {}

local REASONS = { [200] = "OK", [400] = "Bad Request", [405] = "Method Not Allowed", [411] = "Length Required",
  [413] = "Payload Too Large" }

local function reply(conn, status, body, headers)
  local head = { string.format("HTTP/1.1 %d %s", status, REASONS[status] or ""), "Connection: close",
    "Content-Length: " .. #body }
  for k, v in pairs(headers or {}) do head[#head + 1] = k .. ": " .. v end
  conn:send(table.concat(head, "\r\n") .. "\r\n\r\n" .. body)
end

-- One request: method, body | nil, the status to refuse it with.
local function read_request(conn, max)
  local line = conn:receive("*l")
  local method = line and line:match("^(%u+) %S+ HTTP/1%.[01]$")
  if not method then return nil, 400 end
  local length, chunked
  for _ = 1, MAX_HEADER_LINES do
    local h = conn:receive("*l")
    if not h then return nil, 400 end
    if h == "" then
      if method ~= "POST" then return nil, 405 end
      if chunked or not length then return nil, 411 end
      if length > max then return nil, 413 end
      local body = length > 0 and conn:receive(length) or ""
      if not body then return nil, 400 end
      return method, body
    end
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    name = name and name:lower()
    if name == "content-length" then length = value:match("^%d+$") and tonumber(value) or nil end
    if name == "transfer-encoding" then chunked = true end
  end
  return nil, 400
end

-- The event in the spec's field order: notiType, its schema's rows, then the other fields
-- sorted; secret fields masked (webhook.redact).
local function ordered(event)
  local ev = webhook.redact(event)
  local keys, seen = { "notiType" }, { notiType = true, known = true, schema = true, odd = true }
  for _, row in ipairs(webhook.SCHEMAS[ev.notiType] or {}) do
    keys[#keys + 1] = row[1]
    seen[row[1]] = true
  end
  local rest = {}
  for k in pairs(ev) do if not seen[k] then rest[#rest + 1] = tostring(k) end end
  table.sort(rest)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  local list = {}
  for _, k in ipairs(keys) do
    if ev[k] ~= nil then list[#list + 1] = { k, ev[k] } end
  end
  return list
end

-- "brand brandId=BR.x method=rejected reason=..." (values that are not strings as JSON)
local function line_of(event)
  local parts = {}
  for i, kv in ipairs(ordered(event)) do
    local v = type(kv[2]) == "string" and kv[2] or json.encode(kv[2])
    parts[#parts + 1] = i == 1 and v or (kv[1] .. "=" .. (v:find("[%s\"]") and json.encode(v) or v))
  end
  if not event.known then parts[#parts + 1] = "(unknown notiType)" end
  return table.concat(parts, " ")
end

local function json_of(event)
  local args = {}
  for _, kv in ipairs(ordered(event)) do
    args[#args + 1] = kv[1]
    args[#args + 1] = kv[2]
  end
  return json.encode(json.obj(unpack_(args)))
end

-- An in-memory store with ngx.shared.DICT's get/set/add: the de-duplication of one run.
local function memory_store()
  local data = {}
  return {
    get = function(_, k) return data[k] end,
    set = function(_, k, v) data[k] = v return true end,
    add = function(_, k, v) if data[k] ~= nil then return false, "exists" end data[k] = v return true end,
  }
end

local function serve(ui, server, o, state)
  local store = memory_store()
  local max = webhook.DEFAULTS.max_bytes
  while not o.count or state.printed < o.count do
    local conn = server:accept()
    if conn then
      conn:settimeout(IO_TIMEOUT)
      local method, body_or_status = read_request(conn, max)
      if not method then
        reply(conn, body_or_status, "", body_or_status == 405 and { Allow = "POST" } or nil)
        ui:err("bizreg: refused a request: HTTP " .. body_or_status)
      else
        local ev, answer, note, err = webhook.handle(body_or_status, { store = store })
        reply(conn, answer.status, answer.body, answer.headers)
        if ev then
          state.printed = state.printed + 1
          if o.json then ui:out(json_of(ev)) else ui:out(line_of(ev)) end
        elseif note == "duplicate" then
          ui:err("bizreg: a repeated delivery (answered 200, not printed again)")
        else
          ui:err("bizreg: answered " .. answer.status .. ": " .. webhook.log_text(err or note))
        end
      end
      conn:close()
    end
  end
end

function M.listen(ui, o)
  local ok, socket = pcall(require, "socket")
  if not ok then
    ui:err("bizreg: webhook listen needs LuaSocket (apt-get install lua-socket, or luarocks install luasocket)")
    return outcome.USAGE
  end
  local port = o.port or M.DEFAULT_PORT
  local server, err = socket.bind("127.0.0.1", port)
  if not server then
    ui:err("bizreg: cannot listen on 127.0.0.1:" .. port .. ": " .. tostring(err))
    return outcome.USAGE
  end
  local _, bound = server:getsockname()
  server:settimeout(ACCEPT_TICK)
  ui:err("bizreg webhook listening on http://127.0.0.1:" .. bound .. "/ (any path; Ctrl-C to stop)")
  local state = { printed = 0 }
  local fine, why = pcall(serve, ui, server, o, state)
  server:close()
  if fine then return outcome.OK end
  if not tostring(why):find("interrupted!", 1, true) then error(why, 0) end
  local term = os_cli.terminated and os_cli.terminated()
  ui:err("bizreg: webhook listen " .. (term and "terminated" or "interrupted") .. " after " .. state.printed
    .. " notification(s)")
  return term and 143 or 130
end

return M
