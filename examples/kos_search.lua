-- From a chart number to a visitor's images: search the KOS visitor, take its id, register an image.
-- Real service:  KOS_BASE_URL=https://<kos-api-host> KOS_API_KEY=<uuid> lua5.4 examples/kos_search.lua <chartNumber> <fileName>
-- Sandbox:       bin/bizreg-sandbox & lua5.4 examples/kos_search.lua 12345 2026/11/27/before.jpg
-- (run from the repository root after `make`, or with bizreg installed by LuaRocks; any Lua the
-- core was built for)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
local built = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
package.cpath = "./build/" .. built .. "/?.so;" .. package.cpath
local bizreg = require "bizreg"

local chart, file = arg[1], arg[2]
if not (chart and file) then
  io.stderr:write("usage: lua5.4 examples/kos_search.lua <chartNumber> <fileName>\n")
  os.exit(2)
end
local kos = bizreg.kos {
  base_url = os.getenv("KOS_BASE_URL") or "http://127.0.0.1:8089",
  api_key = os.getenv("KOS_API_KEY") or "11111111-2222-4333-8444-555555555555",
}

-- 1. chart number -> visitorId. A chart number names one visitor; anything else needs a person.
local found, err = kos:search_visitors { chartNumber = chart, limit = 2 }
if not found then
  print(tostring(err))
  os.exit(1)
end
if #found.visitors ~= 1 then
  print(string.format("chart %s: %d visitors found, expected exactly one", chart, #found.visitors))
  os.exit(1)
end
local visitor = found.visitors[1]
print(string.format("chart %s is %s (visitorId %s)", chart, visitor.name or "?", visitor.id))

-- 2. visitorId -> the image.
local res
res, err = kos:register_visitor_images { images = { {
  fileName = file, visitorId = visitor.id, source = "HOSPITAL", shootingDateTimeUtc = os.time(),
} } }
kos:close()
if not res then
  print(tostring(err))
  os.exit(1)
end
print("registered " .. file .. " for visitor " .. visitor.id)
