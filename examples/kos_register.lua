-- Register one visitor image with the KOS clinic CRM.
-- Real service:  KOS_BASE_URL=https://<kos-api-host> KOS_API_KEY=<uuid> lua5.4 examples/kos_register.lua <visitorId> <fileName> [memo]
-- Sandbox:       bin/bizreg-sandbox & lua5.4 examples/kos_register.lua 65a1b2c3d4e5f6a7b8c9d0e1 a.jpg
-- (run from the repository root after `make`, or with bizreg installed by LuaRocks)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/lua5.4/?.so;" .. package.cpath
local bizreg = require "bizreg"

local visitor, file, memo = arg[1], arg[2], arg[3]
if not (visitor and file) then
  io.stderr:write("usage: lua5.4 examples/kos_register.lua <visitorId> <fileName> [memo]\n")
  os.exit(2)
end
local kos = bizreg.kos {
  base_url = os.getenv("KOS_BASE_URL") or "http://127.0.0.1:8089",
  api_key = os.getenv("KOS_API_KEY") or "11111111-2222-4333-8444-555555555555",
}
local res, err = kos:register_visitor_images { images = { {
  fileName = file, visitorId = visitor, source = "HOSPITAL", memo = memo, shootingDateTimeUtc = os.time(),
} } }
kos:close()
if not res then
  print(tostring(err))
  os.exit(1)
end
print("registered " .. file .. " for visitor " .. visitor)
