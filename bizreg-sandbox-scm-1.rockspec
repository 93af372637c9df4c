rockspec_format = "3.0"
package = "bizreg-sandbox"
version = "scm-1"
source = { url = "git+https://github.com/bizreg/bizreg.git" }
description = {
  summary = "Local emulator of the KOS clinic CRM and RCS Biz Center APIs, for testing bizreg",
  detailed = [[
    One local HTTP server (lua-http) that answers KOS exchange-token and
    register-visitor-images and RCS /token, POST and PUT /corp/brand with the documented
    rules, status codes and bodies, plus /_sandbox/* control endpoints (counters, recorded
    request bytes, injected failures and connection faults) for tests. It is an independent
    implementation of the rules (its own JSON, multipart and image readers): it does not use
    the bizreg library. Start it with `bizreg-sandbox --port 8089`.
  ]],
  license = "MIT",
}
-- Lua 5.1 or LuaJIT: Debian packages lua-http (and lua-fifo under it) for 5.1 only.
-- Offline on Debian, luarocks-config.lua marks these as provided by the system packages
-- (lua5.1 lua-http lua-cqueues lua-luaossl lua-socket).
dependencies = { "lua ~> 5.1", "http >= 0.3", "cqueues", "luaossl", "luasocket >= 3.0" }
build = {
  type = "builtin",
  modules = {
    ["bizreg_sandbox.control"] = "sandbox/lua/bizreg_sandbox/control.lua",
    ["bizreg_sandbox.crc32"] = "sandbox/lua/bizreg_sandbox/crc32.lua",
    ["bizreg_sandbox.dialect"] = "sandbox/lua/bizreg_sandbox/dialect.lua",
    ["bizreg_sandbox.faults"] = "sandbox/lua/bizreg_sandbox/faults.lua",
    ["bizreg_sandbox.imageinfo"] = "sandbox/lua/bizreg_sandbox/imageinfo.lua",
    ["bizreg_sandbox.json"] = "sandbox/lua/bizreg_sandbox/json.lua",
    ["bizreg_sandbox.kos"] = "sandbox/lua/bizreg_sandbox/kos.lua",
    ["bizreg_sandbox.kos_visitors"] = "sandbox/lua/bizreg_sandbox/kos_visitors.lua",
    ["bizreg_sandbox.multipart"] = "sandbox/lua/bizreg_sandbox/multipart.lua",
    ["bizreg_sandbox.notify"] = "sandbox/lua/bizreg_sandbox/notify.lua",
    ["bizreg_sandbox.rcs"] = "sandbox/lua/bizreg_sandbox/rcs.lua",
    ["bizreg_sandbox.rcs_brands"] = "sandbox/lua/bizreg_sandbox/rcs_brands.lua",
    ["bizreg_sandbox.rcs_brand_edit"] = "sandbox/lua/bizreg_sandbox/rcs_brand_edit.lua",
    ["bizreg_sandbox.rcs_chatbots"] = "sandbox/lua/bizreg_sandbox/rcs_chatbots.lua",
    ["bizreg_sandbox.rcs_common"] = "sandbox/lua/bizreg_sandbox/rcs_common.lua",
    ["bizreg_sandbox.rcs_rules"] = "sandbox/lua/bizreg_sandbox/rcs_rules.lua",
    ["bizreg_sandbox.server"] = "sandbox/lua/bizreg_sandbox/server.lua",
  },
  install = { bin = { ["bizreg-sandbox"] = "sandbox/bin/bizreg-sandbox" } },
}
