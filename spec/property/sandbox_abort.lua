-- Regression check for a sandbox defect the hostile-payload test found: a client that
-- sends a request's headers and part of its body, then closes the connection (what
-- libcurl does when bizreg aborts an upload with BODY_READ_ERROR), leaves the sandbox
-- spinning in read() = 0 inside lua-http's body read; it then answers nobody.
--   lua5.4 spec/property/sandbox_abort.lua      exit 0: still answering; 1: wedged
package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
local sandbox = require "spec.helpers.sandbox"
local socket = require "socket"
local http = require "socket.http"

local sb = sandbox.start {}
local ok, err = pcall(function()
  for _, path in ipairs { "/api/1.1/corp/brand", "/image/open/v1/commands/register-visitor-images" } do
    local c = assert(socket.connect("127.0.0.1", sb.port))
    assert(c:send("POST " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sandbox-rcs-token\r\n"
      .. "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100\r\n\r\n--b\r\n"))
    socket.sleep(0.1)
    c:close()
    http.TIMEOUT = 5
    local body, code = http.request(sb.url .. "/_sandbox/stats")
    if code ~= 200 then
      error(string.format("after a body aborted at 5 of 100 bytes on %s, GET /_sandbox/stats got %s", path, tostring(code)), 0)
    end
    io.write("ok: ", path, " aborted mid-body, the sandbox still answers: ", body:sub(1, 40), "...\n")
  end
end)
sb:stop()
if not ok then
  io.write("FAIL: ", tostring(err), "\n")
  os.exit(1)
end
