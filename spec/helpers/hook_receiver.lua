-- A webhook receiver inside the test process (luasocket, any interpreter): it accepts the
-- sandbox's notification POSTs one connection at a time and answers each as the test says.
--
--   local receiver = require "spec.helpers.hook_receiver"
--   local r = receiver.new()        -- a free 127.0.0.1 port; r.url = "http://127.0.0.1:N/hook"
--   r:serve(answer, done)           -- answer(req, i) -> status, or nil to hold the connection
--                                   -- open and never answer, or "stall": a 200 head, no body;
--                                   -- done() -> true ends the serving
--   r.requests[i] = { method, path, headers (lower-case names), body }, r.connections, r:close()
local socket = require "socket"

local M = {}
local Receiver = {}
Receiver.__index = Receiver

local ACCEPT_WAIT = 0.05  -- one round of waiting for a connection
local ROUNDS = 1200       -- rounds before serve gives up (about a minute when nothing comes)

function M.new()
  local srv = assert(socket.bind("127.0.0.1", 0))
  srv:settimeout(ACCEPT_WAIT)
  local _, port = srv:getsockname()
  return setmetatable({ srv = srv, port = tonumber(port), url = "http://127.0.0.1:" .. port .. "/hook",
    requests = {}, connections = 0, held = {} }, Receiver)
end

-- One HTTP/1.1 request from c (Content-Length framing, as lua-http sends a string body), or nil.
local function read_request(c)
  c:settimeout(10)
  local line = c:receive("*l")
  if not line then return nil end
  local method, path = line:match("^(%S+) (%S+)")
  local headers = {}
  while true do
    local h = c:receive("*l")
    if not h then return nil end
    if h == "" then break end
    local k, v = h:match("^([^:]+):%s*(.-)%s*$")
    if k then headers[k:lower()] = v end
  end
  local n = tonumber(headers["content-length"] or "0") or 0
  local body = n > 0 and c:receive(n) or ""
  if not body then return nil end
  return { method = method, path = path, headers = headers, body = body }
end

local function take(self, c)
  self.connections = self.connections + 1
  local req = read_request(c)
  if not req then c:close() return end
  self.requests[#self.requests + 1] = req
  local status = self.answer(req, #self.requests)
  if status == "stall" then  -- a 200 head promising a body that never comes
    c:send("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
    self.held[#self.held + 1] = c
  elseif status then
    c:send(string.format("HTTP/1.1 %d X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", status))
    c:close()
  else
    self.held[#self.held + 1] = c
  end
end

-- Serves until done() says true (asked between connections); false when ROUNDS waits passed.
-- Connections that reached the listen queue before done() turned true are taken too.
function Receiver:serve(answer, done)
  self.answer = answer
  for _ = 1, ROUNDS do
    local c = self.srv:accept()
    if c then take(self, c) end
    if not c and done() then
      self.srv:settimeout(0)
      for _ = 1, 100 do
        local late = self.srv:accept()
        if not late then break end
        take(self, late)
      end
      self.srv:settimeout(ACCEPT_WAIT)
      return true
    end
  end
  return false
end

-- Closes the held connections (their attempts fail at once) and the listening socket.
function Receiver:release()
  for _, c in ipairs(self.held) do c:close() end
  self.held = {}
end

function Receiver:close()
  self:release()
  self.srv:close()
end

return M
