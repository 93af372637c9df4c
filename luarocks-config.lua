-- LuaRocks config for Debian without a LuaRocks server:
--   LUAROCKS_CONFIG=$PWD/luarocks-config.lua BIZREG_MULTIARCH=$(gcc -print-multiarch) \
--     luarocks --lua-version=5.4 make --tree ./tree bizreg-scm-1.rockspec
--   LUAROCKS_CONFIG=$PWD/luarocks-config.lua luarocks --lua-version=5.1 make --tree ./tree bizreg-sandbox-scm-1.rockspec
-- libcurl's header sits in the multiarch include dir; the Lua libraries come from Debian (not rocks).
-- LuaRocks runs this file with no io/os access beyond os_getenv, so the multiarch triplet
-- comes from BIZREG_MULTIARCH (the Makefile and checks set it); without it, Debian's
-- multiarch triplets are all searched.
local arch = os_getenv("BIZREG_MULTIARCH")
local triplets = { "x86_64-linux-gnu", "aarch64-linux-gnu", "i386-linux-gnu", "arm-linux-gnueabihf",
  "powerpc64le-linux-gnu", "s390x-linux-gnu", "riscv64-linux-gnu", "mips64el-linux-gnuabi64" }
local include, lib = { "include" }, { "lib" }
if arch and arch ~= "" then triplets = { arch } end
for i = 1, #triplets do
  include[#include + 1] = "include/" .. triplets[i]
  lib[#lib + 1] = "lib/" .. triplets[i]
end
lib[#lib + 1] = "lib64"
external_deps_subdirs = { bin = "bin", include = include, lib = lib }
-- Debian's packages, not rocks: lua-cjson for bizreg; lua-http, cqueues, luaossl and luasocket
-- (Lua 5.1) for bizreg-sandbox (luarocks --lua-version=5.1 make ... bizreg-sandbox-scm-1.rockspec).
rocks_provided = {
  ["lua-cjson"] = "2.1.0-1",
  http = "0.4-0", cqueues = "20200726.51-0", luaossl = "20220711-0", luasocket = "3.1.0-1",
}
